//! ITO Merchant Desk's services: everything the desktop app does, without a window.
//!
//! [`desk::Desk`] is the handle the app holds: profiles and their [`vault`] secrets,
//! the local [`store`], the [`request_log`], the [`overview`] figures and the embedded
//! [`sandbox`]. [`payments::Payments`] runs the ledger, payment links and, through
//! [`webhooks`], the app's listener. [`users::Users`] keeps the users directory and
//! [`kyc::KycForms`] their KYC forms, with drafts that survive anything.
//! [`sessions::Sessions`] signs staff in as a user (authorization code with PKCE) and
//! keeps those sessions in the keychain; [`cards::Cards`] issues a signed-in user's
//! cards and reveals their numbers, copied through the [`clipboard`] that clears itself. Nothing here depends on Tauri: the app's commands
//! are thin wrappers over these services, and the tests drive them directly.

pub mod cards;
pub mod clipboard;
pub mod desk;
pub mod error;
pub mod exports;
pub mod kyc;
pub mod overview;
pub mod payments;
pub mod profiles;
pub mod request_log;
pub mod sandbox;
pub mod sessions;
pub mod store;
pub mod users;
pub mod vault;
pub mod webhooks;
