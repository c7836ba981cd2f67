//! ito-sandbox: a stateful, persistent emulator of the ITO-Japan payment gateway.
//!
//! Start it in-process with [`Server::start`] (the desktop app and the tests do),
//! or run the `ito-sandbox serve` binary.

mod auth;
mod cards;
mod checkout;
mod control;
mod db;
mod error;
mod faults;
mod fields;
#[cfg(test)]
mod fuzz;
mod ids;
mod kyc;
mod merchants;
mod money;
mod oauth;
mod openapi;
mod pagination;
mod payments;
mod seed;
mod server;
mod signing;
mod transactions;
mod users;
mod webhooks;

pub use cards::luhn_valid;
pub use checkout::{RETURN_CANCELLED, RETURN_PAID};
pub use db::{Db, Durability};
pub use error::{Error, Result};
pub use faults::{FaultConfig, FaultSetting};
pub use merchants::MerchantCredentials;
pub use seed::{SEED_PASSWORD, SeedOptions, SeedReport};
pub use server::{Config, MAX_BODY_BYTES, Server};
pub use signing::sign;
