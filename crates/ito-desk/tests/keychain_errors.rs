//! What the app does when the keychain fails, with keyring-core's mock store
//! injecting the platform's errors. The sandbox and SQLite are real.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use ito_desk::desk::{Desk, Options};
use ito_desk::error::{CommandError, ErrorKind};
use ito_desk::profiles::{Mode, ProfileInput, SecretsIn};
use ito_desk::vault::{Field, KeychainProblem, KeychainStatus, SERVICE, Vault};
use keyring_core::mock;
use keyring_core::{CredentialStore, Error as KeyringError};

/// A mock store whose every entry fails once with `error` (the probe's first call).
fn failing_store(error: fn() -> KeyringError) -> Arc<CredentialStore> {
    struct Failing {
        inner: Arc<mock::Store>,
        error: fn() -> KeyringError,
    }
    impl keyring_core::api::CredentialStoreApi for Failing {
        fn vendor(&self) -> String {
            "failing mock".into()
        }
        fn id(&self) -> String {
            "failing".into()
        }
        fn build(
            &self,
            service: &str,
            user: &str,
            modifiers: Option<&std::collections::HashMap<&str, &str>>,
        ) -> keyring_core::Result<keyring_core::Entry> {
            let entry = self.inner.build(service, user, modifiers)?;
            let cred: &mock::Cred = entry.as_any().downcast_ref().unwrap();
            cred.set_error((self.error)());
            Ok(entry)
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }
    Arc::new(Failing {
        inner: mock::Store::new().unwrap(),
        error,
    })
}

fn locked() -> KeyringError {
    KeyringError::NoStorageAccess("Collection is locked".into())
}

fn no_service() -> KeyringError {
    KeyringError::PlatformFailure(
        "org.freedesktop.secrets was not provided by any .service files".into(),
    )
}

#[test]
fn the_probe_names_the_problem() {
    let v = Vault::with_store(failing_store(locked));
    assert!(!v.is_available());
    assert!(matches!(
        v.status(),
        KeychainStatus::Unavailable { problem: KeychainProblem::Locked, detail } if detail.contains("locked")
    ));
    let v = Vault::with_store(failing_store(no_service));
    assert!(matches!(
        v.status(),
        KeychainStatus::Unavailable {
            problem: KeychainProblem::NotAvailable,
            ..
        }
    ));
    let e = CommandError::from(v.get("prf_x", Field::AccessKey).unwrap_err());
    assert_eq!(e.kind, ErrorKind::KeychainUnavailable);
}

#[test]
fn a_working_store_round_trips_and_a_missing_secret_is_explained() {
    let store: Arc<CredentialStore> = mock::Store::new().unwrap();
    let v = Vault::with_store(Arc::clone(&store));
    assert!(v.is_available());
    v.put("prf_a", Field::SecretKey, &"sk_value".into())
        .unwrap();
    assert_eq!(
        v.get("prf_a", Field::SecretKey).unwrap().expose(),
        "sk_value"
    );
    let e = CommandError::from(v.get("prf_a", Field::AccessKey).unwrap_err());
    assert_eq!(e.kind, ErrorKind::Keychain);
    assert!(e.message.contains("access key"), "{}", e.message);
    // A denied write is the keychain's refusal, not a silent success.
    let entry = store.build(SERVICE, "prf_a/client_secret", None).unwrap();
    let cred: &mock::Cred = entry.as_any().downcast_ref().unwrap();
    cred.set_error(locked());
    let e = CommandError::from(
        v.put("prf_a", Field::ClientSecret, &"cs".into())
            .unwrap_err(),
    );
    assert_eq!(e.kind, ErrorKind::KeychainUnavailable);
    v.delete_profile("prf_a").unwrap();
    assert!(v.get("prf_a", Field::SecretKey).is_err());
}

#[tokio::test]
async fn without_a_keychain_the_embedded_sandbox_runs_on_secrets_in_memory_only() {
    let dir = tempfile::tempdir().unwrap();
    let options = || Options {
        data_dir: dir.path().to_owned(),
        embedded_sandbox: true,
    };
    let vault = Vault::with_store(failing_store(locked));
    let desk = Desk::open(options(), vault, Arc::new(|_| {}))
        .await
        .unwrap();
    let state = desk.state().await.unwrap();
    assert!(matches!(state.keychain, KeychainStatus::Unavailable { .. }));
    let p = &state.profiles[0];
    assert_eq!(p.secrets_in, SecretsIn::Memory);
    desk.test_connection(&p.id).await.unwrap();
    desk.overview().await.unwrap();

    // No other profile can be saved: there is no plaintext fallback.
    let e = CommandError::from(
        desk.add_profile(ProfileInput {
            name: "Live shop".into(),
            mode: Mode::Active,
            base_url: "https://payment.ito-japan.jp".into(),
            access_key: Some("51a4bd18-5bc1-4eaa-97b0-c09323398883".into()),
            secret_key: Some("sk_live_0123456789".into()),
            client_id: "mc_1".into(),
            client_secret: Some("cs_0123456789".into()),
            public_client_id: String::new(),
        })
        .await
        .unwrap_err(),
    );
    assert_eq!(e.kind, ErrorKind::KeychainUnavailable);
    assert_eq!(desk.state().await.unwrap().profiles.len(), 1);
    desk.shutdown().await;
    drop(desk);

    // Next start, still no keychain: the secrets come again from the sandbox's own database.
    let desk = Desk::open(
        options(),
        Vault::with_store(failing_store(no_service)),
        Arc::new(|_| {}),
    )
    .await
    .unwrap();
    let again = desk.state().await.unwrap();
    assert_eq!(again.profiles[0].id, p.id);
    desk.test_connection(&p.id).await.unwrap();

    // The keychain works again: the secrets move into it.
    let store: Arc<CredentialStore> = mock::Store::new().unwrap();
    let status = desk
        .recheck_keychain(Vault::with_store(Arc::clone(&store)))
        .await
        .unwrap();
    assert!(matches!(status, KeychainStatus::Available { .. }));
    let moved = desk.state().await.unwrap();
    assert_eq!(moved.profiles[0].secrets_in, SecretsIn::Keychain);
    desk.test_connection(&p.id).await.unwrap();
    desk.shutdown().await;
}
