#![doc = include_str!("../README.md")]

mod client;
mod error;
#[cfg(test)]
mod fuzz;
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
pub use oauth::{
    AuthorizationRequest, BrowserReply, Loopback, Redirect, RedirectProblem, TokenSet, UserSession,
};
pub use observer::{AuthKind, Observer, RequestRecord};
pub use pages::{Cursor, Page};
pub use payments::{NewPayment, PaymentCreated, PaymentStatus, Validity, is_valid_email};
pub use sandbox::SandboxApi;
pub use secret::Secret;
pub use transport::MAX_ANSWER_BYTES;
pub use user::UserApi;
pub use webhook::WebhookEvent;
