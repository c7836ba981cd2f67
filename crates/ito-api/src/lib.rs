//! Typed client for the ITO-Japan payment gateway.
//!
//! This crate is the one place that knows the wire: signed payment creation with
//! idempotent retries, check-validity, webhook verification, OAuth (client
//! credentials; authorization code with PKCE through a loopback redirect), the
//! merchant and user endpoints, and the sandbox's control API.
//!
//! ```no_run
//! # async fn demo() -> ito_api::Result<()> {
//! use ito_api::{Client, Credentials, Currency, Environment, Mode, Money, NewPayment};
//!
//! let client = Client::new(
//!     Environment::gateway(Mode::Test),
//!     Credentials::new("access-key", "secret-key"),
//! )?;
//! let created = client
//!     .create_payment(&NewPayment {
//!         custom: "ORDER-1001".into(),
//!         amount: Money::parse("280.00", Currency::Usd)?,
//!         details: Some("Digital Product".into()),
//!         web_hook: "https://shop.example/hook".parse()?,
//!         cancel_url: "https://shop.example/cancel".parse()?,
//!         success_url: "https://shop.example/thanks".parse()?,
//!         customer_email: "buyer@example.com".into(),
//!     })
//!     .await?;
//! println!("send the customer to {}", created.checkout_url);
//! # Ok(()) }
//! ```

mod client;
mod error;
mod ids;
pub mod kyc;
mod merchant;
mod money;
pub mod oauth;
mod observer;
mod pages;
mod payments;
pub mod sandbox;
mod scope;
mod secret;
pub mod signing;
mod transport;
mod user;
pub mod users;
pub mod webhook;

pub use client::{Client, ClientBuilder, Credentials, Environment, Mode, RetryPolicy};
pub use error::{Error, ErrorKind, Failure, FieldErrors, Result};
pub use ids::{CardId, DeliveryId, LedgerEntryId, PaymentId, TransactionId, UserId};
pub use merchant::MerchantApi;
pub use money::{Currency, Money, MoneyError};
pub use oauth::{AuthorizationRequest, Redirect, TokenSet, UserSession};
pub use observer::{AuthKind, Observer, RequestRecord};
pub use pages::{Cursor, Page};
pub use payments::{NewPayment, PaymentCreated, PaymentStatus, Validity};
pub use sandbox::SandboxApi;
pub use secret::Secret;
pub use user::UserApi;
pub use webhook::WebhookEvent;
