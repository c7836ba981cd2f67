//! The control API (`/sandbox/*`), a sandbox extension for tests and the dashboard's
//! simulate buttons. Authenticated with the merchant's access key and scoped to it.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::auth::Merchant;
use crate::error::{Error, Result};
use crate::pagination::{self, PageQuery};
use crate::payments::{self, PaymentStatus, Transition};
use crate::server::AppState;
use crate::{ids, webhooks};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sandbox/payments", get(list))
        .route("/sandbox/payments/{payment_id}", get(show))
        .route("/sandbox/payments/{payment_id}/complete", post(complete))
        .route("/sandbox/payments/{payment_id}/cancel", post(cancel))
        .route("/sandbox/payments/{payment_id}/expire", post(expire))
        .route("/sandbox/payments/{payment_id}/redeliver", post(redeliver))
}

const KIND: &str = "payments";

fn not_found() -> Error {
    Error::NotFound("Payment not found.".into())
}

async fn list(
    State(state): State<AppState>,
    Merchant(m): Merchant,
    Query(q): Query<PageQuery>,
) -> Result<Json<serde_json::Value>> {
    let (before, limit) = q.parse(KIND)?;
    let mut rows = state
        .db
        .read(move |c| payments::list(c, &m.merchant_id, before, limit + 1))
        .await?;
    let next_cursor = pagination::next_cursor(KIND, &mut rows, limit, |p| p.seq);
    let now = ids::now_ms();
    for p in &mut rows {
        p.status = p.effective_status(now);
    }
    Ok(Json(
        json!({"code": 200, "status": "ok", "data": rows, "next_cursor": next_cursor}),
    ))
}

async fn show(
    State(state): State<AppState>,
    Merchant(m): Merchant,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>> {
    let (mut p, attempts) = state
        .db
        .read(move |c| {
            let p = payments::find(c, &id)?
                .filter(|p| p.merchant_id == m.merchant_id)
                .ok_or_else(not_found)?;
            let attempts = webhooks::attempts(c, &p.id)?;
            Ok((p, attempts))
        })
        .await?;
    p.status = p.effective_status(ids::now_ms());
    let mut payment = serde_json::to_value(&p).map_err(|e| Error::Internal(e.to_string()))?;
    payment["net"] = json!(p.net().map(|n| n.to_string()));
    payment["webhook_attempts"] = json!(attempts);
    Ok(Json(
        json!({"code": 200, "status": "ok", "payment": payment}),
    ))
}

async fn act(
    state: AppState,
    merchant_id: String,
    id: String,
    transition: Transition,
) -> Result<Json<serde_json::Value>> {
    let p = state
        .db
        .write(move |tx| payments::transition(tx, &id, Some(&merchant_id), transition))
        .await?;
    state.webhook_wake.notify_one();
    Ok(Json(json!({"code": 200, "status": "ok", "payment": p})))
}

async fn complete(
    State(state): State<AppState>,
    Merchant(m): Merchant,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>> {
    act(state, m.merchant_id, id, Transition::Pay).await
}

async fn cancel(
    State(state): State<AppState>,
    Merchant(m): Merchant,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>> {
    act(state, m.merchant_id, id, Transition::Cancel).await
}

async fn expire(
    State(state): State<AppState>,
    Merchant(m): Merchant,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>> {
    act(state, m.merchant_id, id, Transition::Expire).await
}

/// Queues a fresh delivery of a paid payment's webhook.
async fn redeliver(
    State(state): State<AppState>,
    Merchant(m): Merchant,
    Path(id): Path<String>,
) -> Result<Response> {
    let delivery_id = state
        .db
        .write(move |tx| {
            let p = payments::find(tx, &id)?
                .filter(|p| p.merchant_id == m.merchant_id)
                .ok_or_else(not_found)?;
            let status = p.effective_status(ids::now_ms());
            if status != PaymentStatus::Paid {
                return Err(Error::Conflict {
                    message: "Only a paid payment has a webhook to redeliver.".into(),
                    payment_status: Some(status.as_str()),
                });
            }
            webhooks::enqueue(tx, &p, ids::now_ms())
        })
        .await?;
    state.webhook_wake.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"code": 202, "status": "ok", "message": "Webhook delivery queued.", "delivery_id": delivery_id})),
    )
        .into_response())
}
