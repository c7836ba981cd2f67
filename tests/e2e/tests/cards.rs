//! Signing in as a user and the guarded card reveal, in the built app's real window
//! against the embedded sandbox of a first start. The browser step is played by
//! posting the gateway's authorize form (the app opens sign-in pages with the played
//! browser the harness installs). A demo user waiting for KYC review is approved in
//! test mode, signed in as, given a card; its last four digits shown, its full number
//! revealed after a confirmation and seen to hide again by itself. A denied sign-in
//! ends with its message and no session. Pictures in English and Japanese. Run with
//! `sh scripts/e2e.sh`.
#![allow(clippy::unwrap_used)]

use fantoccini::Client;
use ito_desk_e2e::{
    FirstStart, Result, demo_user_with_kyc, find, language, screenshot, testid, until,
};

#[tokio::test]
#[ignore = "needs the built app, tauri-driver and a display: run scripts/e2e.sh"]
async fn signed_in_as_a_user_staff_issue_a_card_and_reveal_it_under_guard() -> Result<()> {
    let app = FirstStart::new().await?;
    let outcome = issue_and_reveal(&app).await;
    app.finish("user-cards", outcome).await
}

#[tokio::test]
#[ignore = "needs the built app, tauri-driver and a display: run scripts/e2e.sh"]
async fn a_denied_sign_in_ends_with_its_message_and_no_session() -> Result<()> {
    let app = FirstStart::new().await?;
    let outcome = denied(&app).await;
    app.finish("user-sign-in-denied", outcome).await
}

/// The id and email of a demo user whose KYC is `status`, its page open.
async fn demo_user(c: &Client, status: &str) -> Result<(String, String)> {
    find(c, "overview-balances", 60).await?;
    let user = demo_user_with_kyc(c, status).await?;
    c.execute(
        "location.hash = '#/users/' + encodeURIComponent(arguments[0]);",
        vec![serde_json::json!(user)],
    )
    .await?;
    let email = find(c, "user-detail", 30)
        .await?
        .attr("data-email")
        .await?
        .ok_or("the user's page has no email")?;
    Ok((user, email))
}

/// Starts "Sign in as user" and plays the browser with `decision`.
async fn sign_in(app: &FirstStart, email: &str, decision: &str) -> Result<String> {
    let c = &app.client;
    find(c, "sign-in-as-user", 30).await?.click().await?;
    find(c, "sign-in-waiting", 10).await?;
    app.browser_sign_in(email, ito_sandbox::SEED_PASSWORD, decision)
        .await
}

async fn issue_and_reveal(app: &FirstStart) -> Result<()> {
    let c = &app.client;
    language(c, "en").await?;
    let (user, email) = demo_user(c, "submitted").await?;

    // Approved in test mode, from the user's KYC tab.
    c.execute(
        "location.hash = '#/users/' + encodeURIComponent(arguments[0]) + '/kyc';",
        vec![serde_json::json!(user)],
    )
    .await?;
    find(c, "kyc-approve", 30).await?.click().await?;
    until(
        c,
        "the approved status",
        &format!(
            "document.querySelector('{}')?.dataset.kycStatus === 'approved'",
            testid("user-detail")
        ),
        30,
    )
    .await?;
    c.execute(
        "location.hash = '#/users/' + encodeURIComponent(arguments[0]);",
        vec![serde_json::json!(user)],
    )
    .await?;

    let page = sign_in(app, &email, "approve").await?;
    assert!(page.contains("Signed in"), "the tab says: {page}");
    let session = find(c, "user-session", 30).await?;
    assert!(
        session
            .attr("data-expires-at")
            .await?
            .is_some_and(|e| !e.is_empty())
    );
    find(c, "open-user-view", 5).await?.click().await?;
    let view = find(c, "user-view", 30).await?;
    assert_eq!(
        view.attr("data-user-id").await?.as_deref(),
        Some(user.as_str())
    );
    let banner = find(c, "viewing-as", 5).await?.text().await?;
    assert!(banner.contains("Viewing as"), "{banner}");

    // A card in JPY, shown by its last four digits only.
    open_cards(c).await?;
    find(c, "issue-card", 10).await?.click().await?;
    find(c, "issue-card-currency", 10)
        .await?
        .select_by_value("JPY")
        .await?;
    find(c, "issue-card-submit", 5).await?.click().await?;
    let row = find(c, "card-row", 30).await?;
    let card_id = row
        .attr("data-card-id")
        .await?
        .ok_or("the card row has no id")?;
    let shown = row.text().await?;
    screenshot(c, "user-view-card-en").await?;

    // Revealed only after the confirmation, with a countdown; hidden by itself.
    reveal(c).await?;
    let number: String = find(c, "card-number", 5)
        .await?
        .text()
        .await?
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert_eq!(number.len(), 16, "{number}");
    assert!(shown.contains(&number[12..]), "the row shows {shown}");
    assert!(!shown.contains(&number[..12]), "the row shows {shown}");
    let cvv = find(c, "card-cvv", 5).await?.text().await?;
    assert_eq!(cvv.trim().len(), 3, "{cvv}");
    let first: u32 = find(c, "card-countdown", 5)
        .await?
        .attr("data-seconds")
        .await?
        .ok_or("no seconds")?
        .parse()?;
    assert!((1..=30).contains(&first), "{first}");
    screenshot(c, "user-view-card-revealed-en").await?;
    until(
        c,
        "the countdown to run",
        &format!(
            "Number(document.querySelector('{}')?.dataset.seconds) < {first}",
            testid("card-countdown")
        ),
        10,
    )
    .await?;
    until(
        c,
        "the number to hide by itself",
        &format!("!document.querySelector('{}')", testid("card-number")),
        40,
    )
    .await?;
    let record = c
        .execute(
            &format!(
                "return document.querySelectorAll('{}').length;",
                testid("card-access-row")
            ),
            vec![],
        )
        .await?;
    assert!(
        record.as_u64().unwrap_or(0) >= 1,
        "the reveal is not recorded on the card: {record}"
    );

    // In Japanese: the view, and a reveal hidden by hand.
    language(c, "ja").await?;
    screenshot(c, "user-view-card-ja").await?;
    reveal(c).await?;
    screenshot(c, "user-view-card-revealed-ja").await?;
    find(c, "card-hide", 5).await?.click().await?;
    until(
        c,
        "the number hidden",
        &format!("!document.querySelector('{}')", testid("card-number")),
        5,
    )
    .await?;
    assert!(
        !c.source().await?.contains(&number),
        "the number stayed in the page"
    );
    println!("card {card_id} revealed twice and hidden");
    Ok(())
}

async fn open_cards(c: &Client) -> Result<()> {
    find(c, "tab-cards", 10).await?.click().await?;
    Ok(())
}

/// Reveal, confirmed.
async fn reveal(c: &Client) -> Result<()> {
    find(c, "card-reveal", 10).await?.click().await?;
    if let Ok(accept) = find(c, "confirm-accept", 5).await {
        accept.click().await?;
    }
    find(c, "card-number", 30).await?;
    Ok(())
}

async fn denied(app: &FirstStart) -> Result<()> {
    let c = &app.client;
    language(c, "en").await?;
    let (_user, email) = demo_user(c, "approved").await?;
    let page = sign_in(app, &email, "deny").await?;
    assert!(!page.contains("Signed in"), "{page}");
    let error = find(c, "sign-in-error", 30).await?.text().await?;
    assert!(error.contains("denied"), "{error}");
    assert!(
        c.find(fantoccini::Locator::Css(&testid("user-session")))
            .await
            .is_err()
    );
    screenshot(c, "user-sign-in-denied-en").await?;
    Ok(())
}
