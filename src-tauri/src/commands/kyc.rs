//! A user's KYC form (drafts saved on every edit, complete save, submit, test-mode
//! review) and the KYC queue, as the merchant's staff fill it in; and the same form
//! through the user's own session, for staff signed in as the user (`user_kyc_*`).

use ito_desk::kyc::queue::KycQueue;
use ito_desk::kyc::{DraftStatus, KycForm, KycReview, Resolution, Via};
use tauri::State;

use super::{Ready, Result, kyc, sessions};

/// The user's form as the gateway holds it, with any unsent edits; when the gateway
/// cannot be reached, the copy on this computer (`offline`).
#[tauri::command]
#[specta::specta]
pub async fn kyc_form(ready: State<'_, Ready>, user_id: String) -> Result<KycForm> {
    Ok(kyc(&ready).await?.form(&Via::Merchant, &user_id).await?)
}

/// One edit, committed on this computer before the answer; it is sent after a short
/// pause. An empty value clears the field.
#[tauri::command]
#[specta::specta]
pub async fn kyc_edit(
    ready: State<'_, Ready>,
    user_id: String,
    field: String,
    value: String,
) -> Result<DraftStatus> {
    Ok(kyc(&ready)
        .await?
        .edit(&Via::Merchant, &user_id, &field, value)
        .await?)
}

/// Staff's choice (yours or the gateway's) for every conflicting field.
#[tauri::command]
#[specta::specta]
pub async fn kyc_resolve(
    ready: State<'_, Ready>,
    user_id: String,
    choices: Vec<Resolution>,
) -> Result<KycForm> {
    Ok(kyc(&ready)
        .await?
        .resolve(&Via::Merchant, &user_id, choices)
        .await?)
}

/// Drops the unsent edits and shows the gateway's form.
#[tauri::command]
#[specta::specta]
pub async fn kyc_discard(ready: State<'_, Ready>, user_id: String) -> Result<KycForm> {
    Ok(kyc(&ready).await?.discard(&Via::Merchant, &user_id).await?)
}

/// Saves the whole form (`PUT`); an incomplete one is refused with every missing field.
#[tauri::command]
#[specta::specta]
pub async fn kyc_save_complete(ready: State<'_, Ready>, user_id: String) -> Result<KycForm> {
    Ok(kyc(&ready)
        .await?
        .save_complete(&Via::Merchant, &user_id)
        .await?)
}

/// Submits the form for review; it locks until the review ends.
#[tauri::command]
#[specta::specta]
pub async fn kyc_submit(ready: State<'_, Ready>, user_id: String) -> Result<KycForm> {
    Ok(kyc(&ready).await?.submit(&Via::Merchant, &user_id).await?)
}

/// Test mode only: approves or rejects a submitted form through the sandbox.
#[tauri::command]
#[specta::specta]
pub async fn kyc_review(
    ready: State<'_, Ready>,
    user_id: String,
    review: KycReview,
) -> Result<KycForm> {
    Ok(kyc(&ready).await?.review(&user_id, review).await?)
}

/// The profile's users by KYC status, with counts.
#[tauri::command]
#[specta::specta]
pub async fn kyc_queue(ready: State<'_, Ready>) -> Result<KycQueue> {
    Ok(kyc(&ready).await?.queue().await?)
}

/// The user's own session on the active profile; refused when staff are not signed
/// in as the user.
async fn as_user(ready: &State<'_, Ready>, user_id: &str) -> Result<Via> {
    Ok(Via::User(
        sessions(ready).await?.user_client(user_id).await?,
    ))
}

/// [`kyc_form`] through the user's own session.
#[tauri::command]
#[specta::specta]
pub async fn user_kyc_form(ready: State<'_, Ready>, user_id: String) -> Result<KycForm> {
    let via = as_user(&ready, &user_id).await?;
    Ok(kyc(&ready).await?.form(&via, &user_id).await?)
}

/// [`kyc_edit`] through the user's own session: later sends of the form use it.
#[tauri::command]
#[specta::specta]
pub async fn user_kyc_edit(
    ready: State<'_, Ready>,
    user_id: String,
    field: String,
    value: String,
) -> Result<DraftStatus> {
    let via = as_user(&ready, &user_id).await?;
    Ok(kyc(&ready)
        .await?
        .edit(&via, &user_id, &field, value)
        .await?)
}

/// [`kyc_resolve`] through the user's own session.
#[tauri::command]
#[specta::specta]
pub async fn user_kyc_resolve(
    ready: State<'_, Ready>,
    user_id: String,
    choices: Vec<Resolution>,
) -> Result<KycForm> {
    let via = as_user(&ready, &user_id).await?;
    Ok(kyc(&ready).await?.resolve(&via, &user_id, choices).await?)
}

/// [`kyc_discard`] through the user's own session.
#[tauri::command]
#[specta::specta]
pub async fn user_kyc_discard(ready: State<'_, Ready>, user_id: String) -> Result<KycForm> {
    let via = as_user(&ready, &user_id).await?;
    Ok(kyc(&ready).await?.discard(&via, &user_id).await?)
}

/// [`kyc_save_complete`] through the user's own session.
#[tauri::command]
#[specta::specta]
pub async fn user_kyc_save_complete(ready: State<'_, Ready>, user_id: String) -> Result<KycForm> {
    let via = as_user(&ready, &user_id).await?;
    Ok(kyc(&ready).await?.save_complete(&via, &user_id).await?)
}

/// [`kyc_submit`] through the user's own session.
#[tauri::command]
#[specta::specta]
pub async fn user_kyc_submit(ready: State<'_, Ready>, user_id: String) -> Result<KycForm> {
    let via = as_user(&ready, &user_id).await?;
    Ok(kyc(&ready).await?.submit(&via, &user_id).await?)
}
