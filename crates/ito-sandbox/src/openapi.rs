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
    use crate::faults;

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
            "/oauth/token",
            "/oauth/authorize",
            "/api/oauth/merchant/users",
            "/api/oauth/merchant/users/{user}/profile",
            "/api/oauth/merchant/users/{user}/balance",
            "/api/oauth/merchant/users/{user}/transactions",
            "/api/oauth/merchant/users/{user}/cards",
            "/api/oauth/merchant/users/{user}/kyc",
            "/api/oauth/merchant/users/{user}/kyc/submit",
            "/api/oauth/user/me",
            "/api/oauth/user/balance",
            "/api/oauth/user/transactions",
            "/api/oauth/user/cards",
            "/api/oauth/user/cards/issue",
            "/api/oauth/user/cards/sensitive",
            "/api/oauth/user/kyc",
            "/api/oauth/user/kyc/submit",
            "/sandbox/users",
            "/sandbox/users/{user}/kyc/approve",
            "/sandbox/users/{user}/kyc/reject",
            "/sandbox/users/{user}/transactions",
            "/sandbox/users/{user}/card-reveals",
            "/sandbox/oauth/redirect-uris",
            "/sandbox/faults",
            crate::RETURN_PAID,
            crate::RETURN_CANCELLED,
        ] {
            assert!(paths.contains_key(route), "{route} is not documented");
        }
        // Every answer the sandbox's machinery can give is documented where it applies:
        // a wrong credential and an injected fault on authenticated routes, an unreadable
        // or over-sized body on routes that take one.
        for (path, ops) in paths {
            for (method, op) in ops.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                let has = |code: &str| responses.contains_key(code);
                if op.get("security").is_some() {
                    assert!(has("401"), "{method} {path}: 401");
                    assert_eq!(has("503"), path != faults::PATH, "{method} {path}: 503");
                }
                if op.get("requestBody").is_some() {
                    assert!(has("413"), "{method} {path}: 413");
                    assert!(has("400"), "{method} {path}: 400");
                }
                for (code, answer) in responses {
                    let documented = answer.get("content").is_some()
                        || answer.get("$ref").is_some()
                        || answer.get("headers").is_some();
                    assert!(documented, "{method} {path} {code} has no body or headers");
                }
            }
        }
        // Every route outside the gateway's documentation says it is an extension.
        for (path, ops) in paths {
            let documented = path.starts_with("/payment/")
                || (path.starts_with("/process-checkout")
                    && !path.starts_with("/process-checkout/returned/"))
                || path.starts_with("/oauth/")
                || path.starts_with("/api/oauth/");
            for (method, op) in ops.as_object().unwrap() {
                assert_eq!(
                    op.get("x-sandbox-extension").is_some(),
                    !documented,
                    "{method} {path}"
                );
            }
        }
    }
}
