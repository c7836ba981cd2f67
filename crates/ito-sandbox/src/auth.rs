//! Merchant authentication by the API access key sent as a bearer token.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use crate::error::{Error, Result};
use crate::faults;
use crate::merchants::MerchantCredentials;
use crate::server::AppState;

const INVALID: &str = "Invalid API credentials.";

/// The merchant whose access key authenticated the request.
#[derive(Debug, Clone)]
pub struct Merchant(pub MerchantCredentials);

/// The token of an `Authorization: Bearer …` header, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Merchant {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let key = bearer(&parts.headers)
            .ok_or_else(|| Error::Unauthorized(INVALID.into()))?
            .to_owned();
        let merchant = state
            .db
            .merchant_by_access_key(&key)
            .await?
            .ok_or_else(|| Error::Unauthorized(INVALID.into()))?;
        // The fault routes stay reachable so a test can always switch faults off.
        if !parts.uri.path().starts_with(faults::PATH) {
            state.faults.apply(&merchant.merchant_id).await?;
        }
        Ok(Merchant(merchant))
    }
}
