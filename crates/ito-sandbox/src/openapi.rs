//! `GET /openapi.json`: every route, the gateway's documented ones and the sandbox's
//! extensions (marked `x-sandbox-extension`).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::server::AppState;

const DOCUMENT: &str = include_str!("openapi.json");

pub async fn document(State(state): State<AppState>) -> Response {
    // The document names the server it is served by, so tools can call it directly.
    let body = DOCUMENT.replace("{{public_url}}", &state.public_url);
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_is_valid_json_with_every_route() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for route in [
            "/payment/process",
            "/payment/check-validity",
            "/process-checkout",
            "/process-checkout/pay",
            "/process-checkout/cancel",
            "/sandbox/payments",
            "/sandbox/payments/{payment_id}",
            "/sandbox/payments/{payment_id}/complete",
            "/sandbox/payments/{payment_id}/cancel",
            "/sandbox/payments/{payment_id}/expire",
            "/sandbox/payments/{payment_id}/redeliver",
            "/healthz",
            "/openapi.json",
        ] {
            assert!(paths.contains_key(route), "{route} is not documented");
        }
    }
}
