//! The hosted checkout page a payment link opens: plain HTML forms, no JavaScript.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::error::{Error, FieldErrors};
use crate::fields::{self, Encoding, Fields};
use crate::ids;
use crate::merchants;
use crate::payments::{self, PaymentStatus, Transition};
use crate::server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/process-checkout", get(page))
        .route("/process-checkout/pay", post(pay))
        .route("/process-checkout/cancel", post(cancel))
        .route("/process-checkout/returned/{outcome}", get(returned))
}

/// Stand-ins for a shop's own success and cancel pages, for payment links made before
/// the merchant has pages of their own (the desktop app's first start uses them).
pub const RETURN_PAID: &str = "/process-checkout/returned/paid";
pub const RETURN_CANCELLED: &str = "/process-checkout/returned/cancelled";

async fn returned(axum::extract::Path(outcome): axum::extract::Path<String>) -> Response {
    let (title, page) = match outcome.as_str() {
        "paid" => ("Payment complete", "success"),
        "cancelled" => ("Payment cancelled", "cancel"),
        _ => return notice(StatusCode::NOT_FOUND, "Page not found", "No such page."),
    };
    notice(
        StatusCode::OK,
        title,
        &format!(
            "The sandbox stands in for the shop's own {page} page here. \
             Set your shop's page as the link's {page} URL to send customers back to it."
        ),
    )
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK JP',sans-serif;background:#f4f5f7;color:#1a1f36;margin:0}\
main{max-width:420px;margin:64px auto;background:#fff;border-radius:12px;padding:32px;box-shadow:0 2px 12px #0001}\
.badge{display:inline-block;background:#ffd86b;color:#5b3b00;font-size:12px;font-weight:600;padding:2px 8px;border-radius:4px}\
h1{font-size:18px;margin:12px 0 4px}.amount{font-size:36px;font-weight:700;margin:16px 0}\
.muted{color:#697386;font-size:14px}form{display:inline}\
button{font-size:16px;padding:10px 20px;border-radius:6px;border:1px solid #c1c9d2;background:#fff;cursor:pointer;margin-right:8px}\
button.pay{background:#635bff;color:#fff;border-color:#635bff}";

fn shell(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · ITO-Japan sandbox checkout</title><style>{STYLE}</style></head>\
         <body><main><span class=\"badge\">TEST MODE · sandbox</span>{body}</main></body></html>",
        escape(title)
    );
    (status, Html(html)).into_response()
}

fn notice(status: StatusCode, title: &str, text: &str) -> Response {
    shell(
        status,
        title,
        &format!(
            "<h1>{}</h1><p class=\"muted\">{}</p>",
            escape(title),
            escape(text)
        ),
    )
}

/// The page for a payment that can no longer be paid or cancelled.
fn closed(status: PaymentStatus) -> Response {
    let text = match status {
        PaymentStatus::Paid => "This payment has already been paid. Nothing more to do.",
        PaymentStatus::Cancelled => "This payment was cancelled and can no longer be paid.",
        PaymentStatus::Expired | PaymentStatus::Pending => {
            "This payment link has expired. Ask the merchant for a new one."
        }
    };
    notice(StatusCode::CONFLICT, "Payment unavailable", text)
}

fn not_found() -> Response {
    notice(
        StatusCode::NOT_FOUND,
        "Payment not found",
        "No payment has this id. Check the link you followed.",
    )
}

async fn page(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let id = match payment_id_in(query.unwrap_or_default().as_bytes()) {
        Ok(id) => id.trim().to_owned(),
        Err(refusal) => return refusal.into_response(),
    };
    let found = state
        .db
        .read(move |c| {
            let Some(p) = payments::find(c, &id)? else {
                return Ok(None);
            };
            let merchant = merchants::by_id(c, &p.merchant_id)?
                .map(|m| m.name)
                .unwrap_or_default();
            Ok(Some((p, merchant)))
        })
        .await;
    let (p, merchant) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(e) => return e.into_response(),
    };
    let status = p.effective_status(ids::now_ms());
    if status != PaymentStatus::Pending {
        return closed(status);
    }
    let id = escape(&p.id);
    let details = p
        .details
        .as_deref()
        .map(|d| format!("<p>{}</p>", escape(d)))
        .unwrap_or_default();
    shell(
        StatusCode::OK,
        &format!("Pay {}", merchant),
        &format!(
            "<h1>{merchant}</h1><div class=\"amount\" data-testid=\"amount\">{amount}</div>{details}\
             <p class=\"muted\">{email} · {currency}</p>\
             <form method=\"post\" action=\"/process-checkout/pay\"><input type=\"hidden\" name=\"payment_id\" value=\"{id}\">\
             <button class=\"pay\" type=\"submit\" id=\"pay\">Pay {amount}</button></form>\
             <form method=\"post\" action=\"/process-checkout/cancel\"><input type=\"hidden\" name=\"payment_id\" value=\"{id}\">\
             <button type=\"submit\" id=\"cancel\">Cancel</button></form>",
            merchant = escape(&merchant),
            amount = escape(&p.currency.format(p.amount)),
            email = escape(&p.customer_email),
            currency = p.currency.code(),
        ),
    )
}

async fn decide(state: AppState, id: String, transition: Transition) -> Response {
    let id = id.trim().to_owned();
    let result = state
        .db
        .write(move |tx| payments::transition(tx, &id, None, transition))
        .await;
    match result {
        Ok(p) => {
            state.webhook_wake.notify_one();
            let target = if transition == Transition::Pay {
                &p.success_url
            } else {
                &p.cancel_url
            };
            Redirect::to(target).into_response()
        }
        Err(Error::NotFound(_)) => not_found(),
        Err(Error::Conflict { payment_status, .. }) => closed(
            payment_status
                .and_then(PaymentStatus::from_code)
                .unwrap_or(PaymentStatus::Expired),
        ),
        Err(e) => e.into_response(),
    }
}

/// A checkout request that names no payment: the status, and the page's title and text.
struct Refusal(StatusCode, &'static str, &'static str);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        notice(self.0, self.1, self.2)
    }
}

/// The payment id a checkout button posts, or the page that says why there is none.
/// Read by hand rather than with axum's `Form`, whose refusals are plain text: a
/// customer's browser gets a page for every outcome.
fn posted_payment_id(headers: &HeaderMap, body: &[u8]) -> Result<String, Refusal> {
    if fields::encoding(headers).ok() != Some(Encoding::Form) {
        return Err(Refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported form",
            "Send the checkout form as application/x-www-form-urlencoded, as a browser does.",
        ));
    }
    payment_id_in(body)
}

/// `payment_id` from form-encoded pairs (a query string or a form body).
fn payment_id_in(pairs: &[u8]) -> Result<String, Refusal> {
    let mut errors = FieldErrors::new();
    let id = Fields::from_form(pairs).text("payment_id", &mut errors);
    if !errors.is_empty() {
        return Err(Refusal(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The link names more than one payment.",
        ));
    }
    Ok(id.unwrap_or_default())
}

async fn pay(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match posted_payment_id(&headers, &body) {
        Ok(id) => decide(state, id, Transition::Pay).await,
        Err(refusal) => refusal.into_response(),
    }
}

async fn cancel(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match posted_payment_id(&headers, &body) {
        Ok(id) => decide(state, id, Transition::Cancel).await,
        Err(refusal) => refusal.into_response(),
    }
}
