//! KYC in the built app's real window, against the embedded sandbox of a first start
//! (its demo users hold every KYC status): half a form filled, the app killed with
//! SIGKILL and started again, the form finished and submitted; a completeness error
//! from the gateway fixed through the summary's link, the form submitted and approved in
//! test mode, and the status seen in the form and the queue; pictures of the form and
//! the queue in Japanese and in English. Run with `sh scripts/e2e.sh`.
#![allow(clippy::unwrap_used)]

use fantoccini::Client;
use ito_desk_e2e::{
    COMPLETE_KYC as COMPLETE, FirstStart, Result, demo_user_with_kyc, find, language, screenshot,
    testid, until,
};

#[tokio::test]
#[ignore = "needs the built app, tauri-driver and a display: run scripts/e2e.sh"]
async fn a_half_filled_form_survives_sigkill_and_is_finished_and_submitted() -> Result<()> {
    let mut app = FirstStart::new().await?;
    let outcome = half_then_crash(&mut app).await;
    app.finish("kyc-crash", outcome).await
}

#[tokio::test]
#[ignore = "needs the built app, tauri-driver and a display: run scripts/e2e.sh"]
async fn a_completeness_error_is_fixed_then_the_form_is_submitted_and_approved() -> Result<()> {
    let app = FirstStart::new().await?;
    let outcome = fix_submit_approve(&app.client).await;
    app.finish("kyc-review", outcome).await
}

#[tokio::test]
#[ignore = "needs the built app, tauri-driver and a display: run scripts/e2e.sh"]
async fn the_kyc_form_and_queue_in_japanese_and_english() -> Result<()> {
    let app = FirstStart::new().await?;
    let outcome = pictures(&app.client).await;
    app.finish("kyc-screens", outcome).await
}

/// Waits for the first Overview: the embedded sandbox answers.
async fn started(c: &Client) -> Result<()> {
    find(c, "overview-balances", 60).await?;
    Ok(())
}

/// Opens the user's KYC tab and waits for the form.
async fn open_form(c: &Client, user: &str) -> Result<()> {
    c.execute(
        "location.hash = '#/users/' + encodeURIComponent(arguments[0]) + '/kyc';",
        vec![serde_json::json!(user)],
    )
    .await?;
    find(c, "kyc-form", 30).await?;
    Ok(())
}

/// Enters a value as staff would: typed into a field (a day in ISO form, which the
/// date field reads in either language), chosen in a menu.
async fn fill(c: &Client, field: &str, value: &str) -> Result<()> {
    let id = format!("kyc-field-{field}");
    let el = find(c, &id, 10).await?;
    if el.tag_name().await?.eq_ignore_ascii_case("select") {
        el.select_by_value(value).await?;
    } else {
        set_value(c, &id, "").await?;
        el.send_keys(value).await?;
    }
    Ok(())
}

/// Sets an input's value and fires its input event, as a paste does.
async fn set_value(c: &Client, id: &str, value: &str) -> Result<()> {
    c.execute(
        &format!(
            "const e = document.querySelector('{}'); e.value = arguments[0]; \
             e.dispatchEvent(new Event('input', {{ bubbles: true }}));",
            testid(id)
        ),
        vec![serde_json::json!(value)],
    )
    .await?;
    Ok(())
}

async fn value_of(c: &Client, field: &str) -> Result<String> {
    Ok(c.execute(
        &format!(
            "return document.querySelector('{}').value;",
            testid(&format!("kyc-field-{field}"))
        ),
        vec![],
    )
    .await?
    .as_str()
    .unwrap_or_default()
    .to_owned())
}

/// Waits until the desk has acknowledged every edit (committed on this computer)
/// and the save state is one of `states`.
async fn acknowledged(c: &Client, states: &[&str], secs: u64) -> Result<()> {
    let states = serde_json::to_string(states)?;
    until(
        c,
        &format!("the save state to be one of {states}"),
        &format!(
            "(() => {{ const s = document.querySelector('{}'); \
             return s && s.dataset.inFlight === '0' && {states}.includes(s.dataset.state); }})()",
            testid("kyc-save-state")
        ),
        secs,
    )
    .await
}

async fn status_is(c: &Client, status: &str) -> Result<()> {
    until(
        c,
        &format!("the form to be {status}"),
        &format!(
            "document.querySelector('{}')?.dataset.status === '{status}'",
            testid("kyc-status")
        ),
        30,
    )
    .await
}

async fn submit(c: &Client) -> Result<()> {
    until(
        c,
        "Submit to be enabled",
        &format!(
            "!document.querySelector('{}').disabled",
            testid("kyc-submit")
        ),
        30,
    )
    .await?;
    find(c, "kyc-submit", 5).await?.click().await?;
    find(c, "confirm-accept", 10).await?.click().await?;
    status_is(c, "submitted").await
}

async fn save_complete(c: &Client) -> Result<()> {
    find(c, "kyc-save-complete", 5).await?.click().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------
// 1. Half a form, SIGKILL, the rest.

async fn half_then_crash(app: &mut FirstStart) -> Result<()> {
    started(&app.client).await?;
    let user = demo_user_with_kyc(&app.client, "not_started").await?;
    open_form(&app.client, &user).await?;
    let (half, rest) = COMPLETE.split_at(6);
    for (field, value) in half {
        fill(&app.client, field, value).await?;
    }
    // Killed as soon as the edits are on this computer, before they can be sent.
    acknowledged(&app.client, &["pending", "saved"], 30).await?;
    app.crash_and_restart().await?;

    let c = &app.client;
    started(c).await?;
    open_form(c, &user).await?;
    for (field, value) in half {
        let shown = value_of(c, field).await?;
        assert_eq!(shown, *value, "{field} after the restart");
    }
    // The draft reaches the gateway after the restart, once.
    acknowledged(c, &["saved"], 60).await?;
    for (field, value) in rest {
        fill(c, field, value).await?;
    }
    acknowledged(c, &["saved"], 30).await?;
    save_complete(c).await?;
    acknowledged(c, &["saved"], 30).await?;
    submit(c).await?;
    until(
        c,
        "the read-only values",
        &format!(
            "document.querySelector('{}')?.textContent.includes('山田 花子')",
            testid("kyc-value-legal_name")
        ),
        10,
    )
    .await
}

// ---------------------------------------------------------------------------------
// 2. A completeness error fixed, submit, approve.

async fn fix_submit_approve(c: &Client) -> Result<()> {
    started(c).await?;
    let user = demo_user_with_kyc(c, "not_started").await?;
    open_form(c, &user).await?;
    language(c, "en").await?;
    for (field, value) in COMPLETE {
        match field {
            "phone" => {}
            "postal_code" => fill(c, field, "1000001").await?,
            _ => fill(c, field, value).await?,
        }
    }
    acknowledged(c, &["saved", "invalid"], 30).await?;
    save_complete(c).await?;
    let summary = find(c, "kyc-error-summary", 30).await?;
    let text = summary.text().await?;
    assert!(
        text.contains("Postal code") && text.contains("Phone number"),
        "the summary names both fields: {text}"
    );
    screenshot(c, "kyc-completeness-error-en").await?;

    // The summary's link takes staff to the field.
    c.execute(
        &format!(
            "document.querySelector('{} a[href=\"#kyc-input-postal_code\"]').click();",
            testid("kyc-error-summary")
        ),
        vec![],
    )
    .await?;
    until(
        c,
        "the postal code field to have focus",
        "document.activeElement?.id === 'kyc-input-postal_code'",
        5,
    )
    .await?;
    fill(c, "postal_code", "100-0001").await?;
    fill(c, "phone", "+81312345678").await?;
    acknowledged(c, &["saved"], 30).await?;
    save_complete(c).await?;
    until(
        c,
        "the summary to go",
        &format!("!document.querySelector('{}')", testid("kyc-error-summary")),
        30,
    )
    .await?;
    submit(c).await?;

    find(c, "kyc-approve", 10).await?.click().await?;
    status_is(c, "approved").await?;
    find(c, "nav-kyc", 5).await?.click().await?;
    until(
        c,
        "the user in the queue's Approved group",
        &format!(
            "document.querySelector('{} {}[data-user-id=\"{user}\"]')",
            testid("kyc-queue-group-approved"),
            testid("kyc-queue-user")
        ),
        30,
    )
    .await
}

// ---------------------------------------------------------------------------------
// 3. Pictures.

async fn pictures(c: &Client) -> Result<()> {
    started(c).await?;
    let fresh = demo_user_with_kyc(c, "not_started").await?;
    let waiting = demo_user_with_kyc(c, "submitted").await?;
    for lang in ["ja", "en"] {
        language(c, lang).await?;
        find(c, "nav-kyc", 5).await?.click().await?;
        find(c, "kyc-queue-user", 30).await?;
        screenshot(c, &format!("kyc-queue-{lang}")).await?;
    }

    open_form(c, &fresh).await?;
    for (field, value) in &COMPLETE[..8] {
        fill(c, field, value).await?;
    }
    acknowledged(c, &["saved"], 30).await?;
    for lang in ["ja", "en"] {
        language(c, lang).await?;
        screenshot(c, &format!("kyc-form-{lang}")).await?;
    }

    open_form(c, &waiting).await?;
    status_is(c, "submitted").await?;
    find(c, "kyc-reject-reason", 10)
        .await?
        .send_keys("The passport photo is blurred.")
        .await?;
    find(c, "kyc-reject", 5).await?.click().await?;
    status_is(c, "rejected").await?;
    find(c, "kyc-rejection-reason", 10).await?;
    // The reject button is at the foot of a long form: show its head, with the reason.
    c.execute(
        &format!(
            "document.querySelector('{}').scrollIntoView({{ block: 'start' }});",
            testid("kyc-form")
        ),
        vec![],
    )
    .await?;
    for lang in ["ja", "en"] {
        language(c, lang).await?;
        screenshot(c, &format!("kyc-rejected-{lang}")).await?;
    }
    Ok(())
}
