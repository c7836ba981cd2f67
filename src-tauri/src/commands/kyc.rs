//! A user's KYC form (drafts saved on every edit, complete save, submit, test-mode
//! review) and the KYC queue.

use ito_desk::kyc::queue::KycQueue;
use ito_desk::kyc::{DraftStatus, KycForm, KycReview, Resolution};
use tauri::State;

use super::{Ready, Result, kyc};

/// The user's form as the gateway holds it, with any unsent edits; when the gateway
/// cannot be reached, the copy on this computer (`offline`).
#[tauri::command]
#[specta::specta]
pub async fn kyc_form(ready: State<'_, Ready>, user_id: String) -> Result<KycForm> {
    Ok(kyc(&ready).await?.form(&user_id).await?)
}

/// One edit, committed on this computer before the answer; it is sent after a short
/// pause. An empty value clears the field.
#[tauri::command]
#[specta::specta]
pub async fn kyc_edit(
    ready: State<'_, Ready>,
    user_id: String,
    field: String,
    value: String,
) -> Result<DraftStatus> {
    Ok(kyc(&ready).await?.edit(&user_id, &field, value).await?)
}

/// Staff's choice (yours or the gateway's) for every conflicting field.
#[tauri::command]
#[specta::specta]
pub async fn kyc_resolve(
    ready: State<'_, Ready>,
    user_id: String,
    choices: Vec<Resolution>,
) -> Result<KycForm> {
    Ok(kyc(&ready).await?.resolve(&user_id, choices).await?)
}

/// Drops the unsent edits and shows the gateway's form.
#[tauri::command]
#[specta::specta]
pub async fn kyc_discard(ready: State<'_, Ready>, user_id: String) -> Result<KycForm> {
    Ok(kyc(&ready).await?.discard(&user_id).await?)
}

/// Saves the whole form (`PUT`); an incomplete one is refused with every missing field.
#[tauri::command]
#[specta::specta]
pub async fn kyc_save_complete(ready: State<'_, Ready>, user_id: String) -> Result<KycForm> {
    Ok(kyc(&ready).await?.save_complete(&user_id).await?)
}

/// Submits the form for review; it locks until the review ends.
#[tauri::command]
#[specta::specta]
pub async fn kyc_submit(ready: State<'_, Ready>, user_id: String) -> Result<KycForm> {
    Ok(kyc(&ready).await?.submit(&user_id).await?)
}

/// Test mode only: approves or rejects a submitted form through the sandbox.
#[tauri::command]
#[specta::specta]
pub async fn kyc_review(
    ready: State<'_, Ready>,
    user_id: String,
    review: KycReview,
) -> Result<KycForm> {
    Ok(kyc(&ready).await?.review(&user_id, review).await?)
}

/// The profile's users by KYC status, with counts.
#[tauri::command]
#[specta::specta]
pub async fn kyc_queue(ready: State<'_, Ready>) -> Result<KycQueue> {
    Ok(kyc(&ready).await?.queue().await?)
}
