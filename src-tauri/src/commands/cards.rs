//! A signed-in user's cards: issuing one, and the guarded reveal and copy of its
//! full number and CVV.

use ito_desk::cards::access::CardAccess;
use ito_desk::cards::{CardCopied, CardField, CardIssue, RevealedCard};
use ito_desk::users::UserCard;
use tauri::State;

use super::{Ready, Result, cards};

/// Issues the user a card through their session: approved KYC only, and in
/// active mode only with `liveConfirmed`.
#[tauri::command]
#[specta::specta]
pub async fn issue_card(
    ready: State<'_, Ready>,
    user_id: String,
    issue: CardIssue,
) -> Result<UserCard> {
    Ok(cards(&ready).await?.issue(&user_id, issue).await?)
}

/// The card's full number and CVV for the reveal component, recorded, for 30 s at
/// most. `confirmed` is staff's explicit yes.
#[tauri::command]
#[specta::specta]
pub async fn reveal_card(
    ready: State<'_, Ready>,
    user_id: String,
    card_id: String,
    confirmed: bool,
) -> Result<RevealedCard> {
    Ok(cards(&ready)
        .await?
        .reveal(&user_id, &card_id, confirmed)
        .await?)
}

/// The window hid a reveal: the app forgets its data now.
#[tauri::command]
#[specta::specta]
pub async fn hide_card(ready: State<'_, Ready>, reveal_id: String) -> Result<()> {
    cards(&ready).await?.hide(&reveal_id);
    Ok(())
}

/// Copies the number or the CVV of an open reveal; the clipboard clears itself
/// after 30 s if it still holds it.
#[tauri::command]
#[specta::specta]
pub async fn copy_card_field(
    ready: State<'_, Ready>,
    reveal_id: String,
    field: CardField,
) -> Result<CardCopied> {
    Ok(cards(&ready).await?.copy(&reveal_id, field).await?)
}

/// The card's latest reveals and copies on this computer.
#[tauri::command]
#[specta::specta]
pub async fn card_access(ready: State<'_, Ready>, card_id: String) -> Result<Vec<CardAccess>> {
    Ok(cards(&ready).await?.access(&card_id).await?)
}
