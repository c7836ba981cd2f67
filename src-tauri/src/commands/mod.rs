//! The IPC surface, one module per domain: each command waits for the services to
//! start, calls one of their methods and maps the error.

pub mod kyc;
pub mod overview;
pub mod payments;
pub mod profiles;
pub mod request_log;
pub mod settings;
pub mod users;
pub mod webhooks;

use std::sync::Arc;

use ito_desk::desk::Desk;
use ito_desk::error::CommandError;
use ito_desk::kyc::KycForms;
use ito_desk::payments::Payments;
use ito_desk::sessions::Sessions;
use ito_desk::users::Users;
use tauri::State;

type Result<T> = std::result::Result<T, CommandError>;

/// The services once started. The payments service fails apart from the desk, so
/// that profiles and settings stay usable when it cannot start.
#[derive(Clone, Debug)]
pub struct Services {
    pub desk: Arc<Desk>,
    pub payments: Result<Arc<Payments>>,
    pub users: Arc<Users>,
    pub kyc: Arc<KycForms>,
    pub sessions: Arc<Sessions>,
}

/// Filled once the services started (or failed to); commands sent earlier wait for it.
pub type Ready = tokio::sync::watch::Receiver<Option<Result<Services>>>;

async fn services(ready: &State<'_, Ready>) -> Result<Services> {
    let mut rx = ready.inner().clone();
    let started = rx
        .wait_for(Option::is_some)
        .await
        .map_err(|_| CommandError::internal("the app stopped while starting"))?;
    match started.as_ref() {
        Some(started) => started.clone(),
        None => Err(CommandError::internal("the app did not start")),
    }
}

async fn desk(ready: &State<'_, Ready>) -> Result<Arc<Desk>> {
    Ok(services(ready).await?.desk)
}

async fn payments(ready: &State<'_, Ready>) -> Result<Arc<Payments>> {
    services(ready).await?.payments
}

async fn users(ready: &State<'_, Ready>) -> Result<Arc<Users>> {
    Ok(services(ready).await?.users)
}

async fn kyc(ready: &State<'_, Ready>) -> Result<Arc<KycForms>> {
    Ok(services(ready).await?.kyc)
}

async fn sessions(ready: &State<'_, Ready>) -> Result<Arc<Sessions>> {
    Ok(services(ready).await?.sessions)
}
