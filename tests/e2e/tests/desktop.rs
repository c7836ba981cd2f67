//! The built app in a real window (Xvfb), driven through tauri-driver and
//! WebKitWebDriver. Run with `sh scripts/e2e.sh`, which builds what is needed and
//! provides the display, a private D-Bus session and an unlocked keyring.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fantoccini::Locator;
use ito_desk_e2e::{
    FirstStart, Result, add_profile, find, language, screenshot, separate_sandbox, switch_profile,
    testid, until,
};

const SCREENS: [&str; 7] = [
    "overview",
    "payments",
    "users",
    "kyc",
    "webhooks",
    "request-log",
    "settings",
];

#[tokio::test]
#[ignore = "needs the built app, tauri-driver and a display: run scripts/e2e.sh"]
async fn first_start_second_profile_and_language() -> Result<()> {
    let app = FirstStart::new().await?;
    let outcome = scenario(&app.client, app.home()).await;
    app.finish("desktop", outcome).await
}

/// A second launch does not start a second app (whose listener would find its port
/// taken): it hands over to the running window and exits.
#[tokio::test]
#[ignore = "needs the built app, tauri-driver and a display: run scripts/e2e.sh"]
async fn a_second_launch_hands_over_to_the_running_window() -> Result<()> {
    let app = FirstStart::new().await?;
    let outcome = async {
        find(&app.client, "overview-balances", 60).await?;
        let status = app.launch_again(Duration::from_secs(30)).await?;
        assert!(status.success(), "the second launch ended with {status}");
        // The first copy is untouched and still answers.
        // Its Payments screen opens: the header's button is there whether or not a
        // payment is (an empty list shows no table).
        find(&app.client, "nav-payments", 5).await?.click().await?;
        find(&app.client, "payment-create", 30).await?;
        Ok(())
    }
    .await;
    app.finish("single-instance", outcome).await
}

async fn scenario(c: &fantoccini::Client, home: &std::path::Path) -> Result<()> {
    // First start: the embedded sandbox's demo Overview, in test mode.
    find(c, "overview-balances", 60).await?;
    find(c, "overview-payment-counts", 5).await?;
    // The demo merchant's data is there: its users and their balances.
    until(
        c,
        "demo balances",
        &format!(
            "document.querySelector('{}')?.textContent.match(/[0-9]/)",
            testid("overview-balances")
        ),
        30,
    )
    .await?;
    let banner = find(c, "mode-banner", 5).await?;
    assert_eq!(banner.attr("data-mode").await?.as_deref(), Some("test"));
    let rows = c
        .find_all(Locator::Css(
            &testid("profile-switcher").replace(']', "] option"),
        ))
        .await?;
    assert_eq!(rows.len(), 1, "one profile on first start");
    screenshot(c, "01-first-start-overview").await?;

    // A second profile on a separately started `ito-sandbox serve`.
    let (_sandbox, url, merchant) = separate_sandbox(home)?;
    let new_id = add_profile(c, "E2E Shop", &url, &merchant).await?;
    // Only masks reach the window.
    let page = c.source().await?;
    for secret in ["access_key", "secret_key", "client_secret"] {
        let value = merchant[secret].as_str().ok_or(secret)?;
        assert!(!page.contains(value), "{secret} reached the page");
    }

    // Switch to it: the Overview reloads for that profile.
    switch_profile(c, &new_id).await?;
    screenshot(c, "02-second-profile-overview").await?;

    // Test its connection from its form.
    find(c, "nav-settings", 5).await?.click().await?;
    let row = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&format!("[data-profile-id=\"{new_id}\"]")))
        .await?;
    row.find(Locator::Css(&testid("profile-edit")))
        .await?
        .click()
        .await?;
    find(c, "profile-test", 10).await?.click().await?;
    until(
        c,
        "a successful connection test",
        &format!(
            "document.querySelector('{}')?.dataset.state === 'ok'",
            testid("profile-test-result")
        ),
        30,
    )
    .await?;
    screenshot(c, "03-connection-test").await?;

    // Every screen in English, then in Japanese.
    for lang in ["en", "ja"] {
        language(c, lang).await?;
        for (i, screen) in SCREENS.iter().enumerate() {
            find(c, &format!("nav-{screen}"), 5).await?.click().await?;
            until(
                c,
                screen,
                &format!(
                    "document.querySelector('{}')?.getAttribute('aria-current') === 'page'",
                    testid(&format!("nav-{screen}"))
                ),
                10,
            )
            .await?;
            // Let the screen's data arrive before the picture.
            tokio::time::sleep(Duration::from_millis(700)).await;
            screenshot(c, &format!("{lang}-{}-{screen}", i + 1)).await?;
        }
    }
    let settings = find(c, "nav-settings", 5).await?.text().await?;
    assert!(
        !settings.is_ascii(),
        "the Settings link is not in Japanese: {settings}"
    );
    Ok(())
}
