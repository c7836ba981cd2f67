//! The Users screens in the built app's real window, against the embedded sandbox of a
//! first start (which imports the demo merchant's users): the list, a user created in
//! the form and its phone edited with the preview of what changes, a user's
//! transactions scrolled past the first page and exported as CSV, and pictures of
//! every Users screen in Japanese and in English. Run with `sh scripts/e2e.sh`.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fantoccini::Client;
use fantoccini::key::Key;
use ito_desk_e2e::{FirstStart, Result, binary, find, language, screenshot, testid, until};

/// What `ito-sandbox` gives the demo merchant (`SeedOptions::DEMO`): ten users, their
/// KYC in each of the five states twice over, 30 transactions each.
const DEMO_USERS: usize = 10;
const KYC_STATES: [&str; 5] = ["not_started", "draft", "submitted", "approved", "rejected"];
const KYC_LABELS_EN: [&str; 5] = [
    "Not started",
    "Draft",
    "Waiting for review",
    "Approved",
    "Rejected",
];
/// The app asks the gateway for this many transactions a page.
const PAGE: usize = 100;
/// Added through the sandbox's control API, so that the list has a second page.
const SEEDED: usize = 120;
const CSV_HEADER: &str = "transaction_id,created_at,type,status,amount,currency,description";

const NEW_NAME: &str = "山田 花子";
const NEW_EMAIL: &str = "hanako.yamada.e2e@example.jp";
/// Typed with separators; the form sends (and the gateway keeps) E.164.
const NEW_PHONE_TYPED: &str = "+81 90-1234-5678";
const NEW_PHONE: &str = "+819012345678";
const EDITED_PHONE_TYPED: &str = "+81 80 9876 5432";
const EDITED_PHONE: &str = "+818098765432";

#[tokio::test]
#[ignore = "needs the built app, tauri-driver and a display: run scripts/e2e.sh"]
async fn first_start_lists_the_demo_users_with_kyc_and_balances() -> Result<()> {
    let app = FirstStart::new().await?;
    let outcome = demo_users_listed(&app.client).await;
    app.finish("users-list", outcome).await
}

#[tokio::test]
#[ignore = "needs the built app, tauri-driver and a display: run scripts/e2e.sh"]
async fn a_user_created_in_the_form_gets_its_phone_edited_after_a_preview() -> Result<()> {
    let app = FirstStart::new().await?;
    let outcome = create_then_edit_phone(&app.client).await;
    app.finish("users-create-edit", outcome).await
}

#[tokio::test]
#[ignore = "needs the built app, tauri-driver and a display: run scripts/e2e.sh"]
async fn transactions_load_past_the_first_page_and_export_as_csv() -> Result<()> {
    let app = FirstStart::new().await?;
    let outcome = transactions_scrolled_and_exported(&app.client, app.home()).await;
    app.finish("users-transactions", outcome).await
}

#[tokio::test]
#[ignore = "needs the built app, tauri-driver and a display: run scripts/e2e.sh"]
async fn every_users_screen_in_japanese_and_english() -> Result<()> {
    let app = FirstStart::new().await?;
    let outcome = pictures(&app.client).await;
    app.finish("users-screens", outcome).await
}

/// Waits for the first Overview (the embedded sandbox answers), then shows the window
/// in `lang`.
async fn started_in(c: &Client, lang: &str) -> Result<()> {
    find(c, "overview-balances", 60).await?;
    language(c, lang).await
}

/// Opens the Users list and waits for the demo users, each with its balances fetched
/// from the gateway in the background.
async fn users_list(c: &Client) -> Result<()> {
    find(c, "nav-users", 5).await?.click().await?;
    find(c, "users-list", 30).await?;
    let shown = until(
        c,
        "the demo users with their balances",
        &format!(
            "(() => {{ const cells = [...document.querySelectorAll('{}')]; \
             return cells.length >= {DEMO_USERS} && cells.every(e => /[0-9]/.test(e.textContent)); }})()",
            testid("user-row-balances")
        ),
        90,
    )
    .await;
    if shown.is_err() {
        let cells = texts(c, "user-row-balances").await.unwrap_or_default();
        return Err(format!("the demo users' balances did not all show: {cells:?}").into());
    }
    Ok(())
}

/// The trimmed text of every element with the test id `id`, in document order.
async fn texts(c: &Client, id: &str) -> Result<Vec<String>> {
    Ok(serde_json::from_value(
        c.execute(
            &format!(
                "return [...document.querySelectorAll('{}')].map(e => e.textContent.trim());",
                testid(id)
            ),
            vec![],
        )
        .await?,
    )?)
}

/// An attribute of every element with the test id `id`, in document order.
async fn attrs(c: &Client, id: &str, attr: &str) -> Result<Vec<String>> {
    Ok(serde_json::from_value(
        c.execute(
            &format!(
                "return [...document.querySelectorAll('{}')].map(e => e.getAttribute('{attr}') ?? '');",
                testid(id)
            ),
            vec![],
        )
        .await?,
    )?)
}

/// The number an element's text starts with ("1,234 users", "151 件…").
fn leading_count(text: &str) -> Option<usize> {
    let digits: String = text
        .trim()
        .chars()
        .take_while(|ch| ch.is_ascii_digit() || *ch == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Every number in a text, separators removed, as one string of digits.
fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

// ---------------------------------------------------------------------------------
// 1. The demo users in the list.

async fn demo_users_listed(c: &Client) -> Result<()> {
    started_in(c, "en").await?;
    users_list(c).await?;

    let ids = attrs(c, "user-row", "data-user-id").await?;
    let names = texts(c, "user-row-name").await?;
    let kyc = texts(c, "user-row-kyc").await?;
    let kyc_states = attrs(c, "user-row", "data-kyc-status").await?;
    let balances = texts(c, "user-row-balances").await?;
    assert_eq!(ids.len(), DEMO_USERS, "rows: {names:?}");
    assert_eq!(names.len(), DEMO_USERS);
    assert_eq!(kyc.len(), DEMO_USERS);
    assert_eq!(balances.len(), DEMO_USERS);
    assert!(
        names.iter().all(|n| !n.is_empty()),
        "a user without a name: {names:?}"
    );
    // The demo has Japanese names (and English ones), shown as they are.
    assert!(
        names
            .iter()
            .any(|n| n.chars().any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch))),
        "no Japanese name: {names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.chars().all(|ch| ch.is_ascii_alphabetic() || ch == ' ')),
        "no English name: {names:?}"
    );
    // Every KYC badge says its row's state in words, and the demo has all five.
    for (state, label) in kyc_states.iter().zip(&kyc) {
        let i = KYC_STATES
            .iter()
            .position(|s| s == state)
            .ok_or_else(|| format!("unknown KYC state {state}"))?;
        assert_eq!(label, KYC_LABELS_EN[i], "the badge of a {state} user");
    }
    for state in KYC_STATES {
        assert!(
            kyc_states.iter().any(|s| s == state),
            "no {state} user: {kyc_states:?}"
        );
    }
    // Balances as money: a currency sign and digits, one per currency.
    for b in &balances {
        assert!(
            b.contains(['¥', '$']) && b.chars().any(|ch| ch.is_ascii_digit()),
            "not a balance: {b}"
        );
    }
    let count = find(c, "users-count", 5).await?.text().await?;
    assert_eq!(count, format!("{DEMO_USERS} users"));
    let all = find(c, "users-tab-all", 5).await?.text().await?;
    assert_eq!(digits(&all), DEMO_USERS.to_string(), "the All tab: {all}");
    Ok(())
}

// ---------------------------------------------------------------------------------
// 2. Create a user, then edit its phone.

async fn create_then_edit_phone(c: &Client) -> Result<()> {
    started_in(c, "en").await?;
    users_list(c).await?;
    find(c, "user-create", 5).await?.click().await?;
    find(c, "user-form", 10).await?;
    for (id, value) in [
        ("user-name", NEW_NAME),
        ("user-email", NEW_EMAIL),
        ("user-phone", NEW_PHONE_TYPED),
    ] {
        let input = find(c, id, 5).await?;
        input.send_keys(value).await?;
        assert_eq!(input.prop("value").await?.as_deref(), Some(value), "{id}");
    }
    find(c, "user-country", 5)
        .await?
        .select_by_value("JP")
        .await?;
    find(c, "user-submit", 5).await?.click().await?;
    // The form opens the new user's page, or says what it refused.
    until(
        c,
        "the new user's page or a refusal",
        &format!(
            "document.querySelector('{}, {}, [aria-invalid=true]')",
            testid("user-detail"),
            testid("user-form-error")
        ),
        60,
    )
    .await?;
    let refused = texts(c, "user-form-error").await?;
    assert!(refused.is_empty(), "the form refused the user: {refused:?}");
    let detail = find(c, "user-detail", 5).await?;
    let user_id = detail
        .attr("data-user-id")
        .await?
        .ok_or("no data-user-id")?;
    let hash: String = c
        .execute("return location.hash;", vec![])
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(hash, format!("#/users/{user_id}"));
    assert_eq!(
        c.find(fantoccini::Locator::Css("h1")).await?.text().await?,
        NEW_NAME
    );
    assert_eq!(profile_field(c, "phone").await?, NEW_PHONE);
    assert_eq!(profile_field(c, "email").await?, NEW_EMAIL);
    assert_eq!(profile_field(c, "country").await?, "Japan (JP)");

    // Edit: the preview says what will change before anything is sent.
    find(c, "user-edit", 5).await?.click().await?;
    find(c, "user-edit-form", 5).await?;
    let changes = find(c, "user-changes", 5).await?.text().await?;
    assert_eq!(changes, "Nothing changed yet.", "before any edit");
    let phone = find(c, "user-phone-input", 5).await?;
    assert_eq!(phone.prop("value").await?.as_deref(), Some(NEW_PHONE));
    phone.clear().await?;
    phone.send_keys(EDITED_PHONE_TYPED).await?;
    let preview = format!("{} tr[data-field]", testid("user-changes"));
    until(
        c,
        "the phone's change in the preview",
        &format!(
            "(() => {{ const rows = document.querySelectorAll('{preview}'); \
             return rows.length === 1 && rows[0].dataset.field === 'phone'; }})()"
        ),
        10,
    )
    .await?;
    let row: Vec<String> = serde_json::from_value(
        c.execute(
            &format!(
                "return [...document.querySelectorAll('{preview} th, {preview} td')]\
                 .map(e => e.textContent.trim());"
            ),
            vec![],
        )
        .await?,
    )?;
    assert_eq!(row, ["Phone", NEW_PHONE, "→", EDITED_PHONE]);
    let save = find(c, "user-save", 5).await?;
    assert_eq!(save.text().await?, "Save 1 change");
    save.click().await?;
    find(c, "user-saved", 30).await?;
    until(
        c,
        "the new phone on the profile",
        &format!(
            "document.querySelector('{} dd[data-field=phone]')?.textContent.trim() === '{EDITED_PHONE}'",
            testid("user-profile")
        ),
        10,
    )
    .await?;
    assert_eq!(
        find(c, "user-saved", 5).await?.text().await?,
        "Profile saved."
    );

    // The list has the new user, and its page read afresh from the gateway has the new phone.
    find(c, "nav-users", 5).await?.click().await?;
    let row = format!("{}[data-user-id=\"{user_id}\"]", testid("user-row"));
    until(
        c,
        "the new user in the list",
        &format!("document.querySelector('{row}')"),
        30,
    )
    .await?;
    let count = find(c, "users-count", 5).await?.text().await?;
    assert_eq!(count, format!("{} users", DEMO_USERS + 1));
    c.find(fantoccini::Locator::Css(&format!(
        "{row} {}",
        testid("user-row-name")
    )))
    .await?
    .click()
    .await?;
    until(
        c,
        "the user's page again",
        &format!(
            "document.querySelector('{}')?.dataset.userId === '{user_id}' && \
             document.querySelector('{} dd[data-field=phone]')?.textContent.trim() === '{EDITED_PHONE}'",
            testid("user-detail"),
            testid("user-profile")
        ),
        30,
    )
    .await?;
    Ok(())
}

/// A field of the Profile tab as shown.
async fn profile_field(c: &Client, field: &str) -> Result<String> {
    let css = format!("{} dd[data-field={field}]", testid("user-profile"));
    Ok(c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(fantoccini::Locator::Css(&css))
        .await?
        .text()
        .await?)
}

// ---------------------------------------------------------------------------------
// 3 and 4. A user's transactions past the first page, then their CSV export.

async fn transactions_scrolled_and_exported(c: &Client, home: &Path) -> Result<()> {
    started_in(c, "en").await?;
    // The embedded sandbox's address, as Settings shows it.
    find(c, "nav-settings", 5).await?.click().await?;
    let url = find(c, "profile-url", 10).await?.text().await?;
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "the embedded sandbox's URL: {url}"
    );
    users_list(c).await?;
    let user_id = attrs(c, "user-row", "data-user-id")
        .await?
        .into_iter()
        .next()
        .ok_or("no user")?;
    c.find(fantoccini::Locator::Css(&format!(
        "{}[data-user-id=\"{user_id}\"] {}",
        testid("user-row"),
        testid("user-row-name")
    )))
    .await?
    .click()
    .await?;
    find(c, "user-detail", 30).await?;
    find(c, "user-tab-transactions", 5).await?.click().await?;
    let before = all_loaded(c).await?;
    assert!(
        before > 0 && before < PAGE,
        "the demo user has {before} transactions"
    );

    // One more through the window's own test-mode simulation.
    find(c, "user-add-transaction", 5).await?.click().await?;
    find(c, "user-simulate", 5).await?;
    find(c, "user-simulate-type", 5)
        .await?
        .select_by_value("top_up")
        .await?;
    find(c, "user-simulate-amount", 5)
        .await?
        .send_keys("1,234")
        .await?;
    find(c, "user-simulate-description", 5)
        .await?
        .send_keys("E2E チャージ（画面から）")
        .await?;
    find(c, "user-simulate-submit", 5).await?.click().await?;
    until(
        c,
        "the simulated transaction in the list",
        &format!(
            "(() => {{ const l = document.querySelector('{}'); \
             return l?.dataset.done === 'true' && Number(l.dataset.loaded) === {}; }})()",
            testid("user-transactions"),
            before + 1
        ),
        30,
    )
    .await?;
    // The count can be there a frame before the rows the virtual list draws.
    until(
        c,
        "the simulated transaction's row on top",
        &format!(
            "document.querySelector('{}')?.textContent.includes('E2E チャージ（画面から）')",
            testid("transaction-row")
        ),
        30,
    )
    .await?;
    let first = texts(c, "transaction-row").await?;
    assert!(
        first
            .first()
            .is_some_and(|r| r.contains("E2E チャージ（画面から）") && r.contains("¥1,234")),
        "the newest row is not the simulated one: {:?}",
        first.first()
    );

    // Many more through the sandbox's control API, with the demo merchant's key.
    let seeded = seed_transactions(home, &url, &user_id).await?;
    let total = before + 1 + SEEDED;

    // Opening the tab again reads the first page afresh: a page, and more to come.
    find(c, "user-tab-profile", 5).await?.click().await?;
    find(c, "user-profile", 10).await?;
    find(c, "user-tab-transactions", 5).await?.click().await?;
    let list = testid("user-transactions");
    until(
        c,
        "the first page",
        &format!(
            "(() => {{ const l = document.querySelector('{list}'); \
             return l?.dataset.pages === '1' && l.dataset.loaded === '{PAGE}' && l.dataset.done === 'false'; }})()"
        ),
        30,
    )
    .await?;
    let count = find(c, "transactions-count", 5).await?.text().await?;
    assert_eq!(
        count,
        format!("Totals of the {PAGE} transactions loaded so far")
    );
    // Only the rows in view are in the document; the rest wait for the scroll.
    until(
        c,
        "the first rows drawn",
        &format!("document.querySelector('{}')", testid("transaction-row")),
        30,
    )
    .await?;
    let rendered = texts(c, "transaction-row").await?.len();
    assert!(
        rendered > 0 && rendered < PAGE,
        "{rendered} rows rendered at once"
    );

    // End, in the list (as a drag of its scroll bar to the bottom): past the loaded
    // rows, the next page comes, and the view stays at the end of the list even though
    // the last page is shorter than the placeholders that stood for it.
    let viewport = testid("transactions-viewport");
    find(c, "transactions-viewport", 5)
        .await?
        .send_keys(&Key::End.to_string())
        .await?;
    until(
        c,
        "more rows than the first page",
        &format!("Number(document.querySelector('{list}')?.dataset.loaded) > {PAGE}"),
        30,
    )
    .await?;
    until(
        c,
        "every page, in view at the end",
        &format!(
            "(() => {{ const l = document.querySelector('{list}'); \
             const v = document.querySelector('{viewport}'); \
             return l?.dataset.done === 'true' && Number(l.dataset.loaded) === {total} \
             && v.scrollTop > 0 && v.scrollTop + v.clientHeight >= v.scrollHeight - 1; }})()"
        ),
        30,
    )
    .await?;
    let pages: usize = find(c, "user-transactions", 5)
        .await?
        .attr("data-pages")
        .await?
        .unwrap_or_default()
        .parse()?;
    assert_eq!(pages, total.div_ceil(PAGE));
    // The rows in view are past the first page: the demo's oldest ones.
    let ids = attrs(c, "transaction-row", "data-transaction-id").await?;
    assert!(
        !ids.is_empty() && ids.iter().all(|id| !seeded.contains(id)),
        "the end of the list shows rows of the first page: {ids:?}"
    );
    let count = find(c, "transactions-count", 5).await?.text().await?;
    assert_eq!(count, format!("Totals of all {total} transactions"));

    // Export: every page of the same filter, into Downloads.
    find(c, "transactions-export", 5).await?.click().await?;
    let result = testid("transactions-export-result");
    until(
        c,
        "the export's outcome",
        &format!("['ok', 'error', 'cancelled'].includes(document.querySelector('{result}')?.dataset.state)"),
        60,
    )
    .await?;
    let banner = find(c, "transactions-export-result", 5).await?;
    let said = banner.text().await?;
    assert_eq!(
        banner.attr("data-state").await?.as_deref(),
        Some("ok"),
        "export failed: {said}"
    );
    let path = PathBuf::from(banner.attr("data-path").await?.ok_or("no data-path")?);
    assert_eq!(path.parent(), Some(home.join("Downloads").as_path()));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    assert!(
        name.starts_with(&format!("transactions-{user_id}-")) && name.ends_with(".csv"),
        "file name {name}"
    );
    assert!(
        said.starts_with(&format!(
            "{total} transactions written to {}",
            path.display()
        )),
        "the export's message: {said}"
    );
    find(c, "transactions-export-reveal", 5).await?;
    let rows = read_csv(&std::fs::read(&path)?);
    assert_eq!(Some(rows.len()), leading_count(&said));
    assert_eq!(rows.len(), total, "CSV rows against the list's count");
    check_rows(&rows, &seeded);
    Ok(())
}

/// Waits for the transactions tab to load every page while fewer than one page
/// exist, and returns how many.
async fn all_loaded(c: &Client) -> Result<usize> {
    let list = testid("user-transactions");
    until(
        c,
        "the user's transactions",
        &format!("document.querySelector('{list}')?.dataset.done === 'true'"),
        30,
    )
    .await?;
    Ok(find(c, "user-transactions", 5)
        .await?
        .attr("data-loaded")
        .await?
        .unwrap_or_default()
        .parse()?)
}

/// The descriptions the seeded transactions get: one in quotes with a comma and one
/// that a spreadsheet would read as a formula, so the export's quoting shows.
fn seeded_description(i: usize) -> String {
    match i {
        0 => "E2E \"quoted\", with a comma".to_owned(),
        1 => "=SUM(1,2)".to_owned(),
        _ => format!("E2E top-up {i:03} 振込"),
    }
}

/// The seeded amounts: yen, and every fifth in dollars with cents.
fn seeded_amount(i: usize) -> (&'static str, String) {
    if i % 5 == 4 {
        ("USD", format!("{}.{:02}", 10 + i, i % 100))
    } else {
        ("JPY", format!("{}", 1000 + i * 10))
    }
}

/// Adds [`SEEDED`] completed top-ups to `user_id` through the sandbox's control API,
/// with the demo merchant's access key read by `ito-sandbox merchant list` from the
/// app's sandbox database. Returns their ids.
async fn seed_transactions(home: &Path, url: &str, user_id: &str) -> Result<Vec<String>> {
    let db = home
        .join(".local/share/jp.ito-japan.merchant-desk")
        .join(ito_desk::sandbox::DB_FILE);
    let out = Command::new(binary("ITO_SANDBOX_BIN", "ito-sandbox")?)
        .args(["merchant", "list", "--db"])
        .arg(&db)
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "merchant list failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let merchants: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)?;
    let [merchant] = merchants.as_slice() else {
        return Err(format!("not one merchant in the embedded sandbox: {merchants:?}").into());
    };
    let key = merchant["access_key"].as_str().ok_or("no access key")?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let endpoint = format!("{url}/sandbox/users/{user_id}/transactions");
    let mut ids = Vec::with_capacity(SEEDED);
    for i in 0..SEEDED {
        let (currency, amount) = seeded_amount(i);
        let answer = http
            .post(&endpoint)
            .bearer_auth(key)
            .json(&serde_json::json!({
                "type": "top_up",
                "amount": amount,
                "currency": currency,
                "description": seeded_description(i),
            }))
            .send()
            .await?;
        let status = answer.status();
        let body: serde_json::Value = answer.json().await?;
        if status != reqwest::StatusCode::CREATED {
            return Err(format!("seeding answered {status}: {body}").into());
        }
        ids.push(
            body["transaction"]["id"]
                .as_str()
                .ok_or("no transaction id")?
                .to_owned(),
        );
    }
    Ok(ids)
}

/// The export as a spreadsheet reads it: a BOM, CRLF lines, the header, then one record
/// of seven fields a transaction.
fn read_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes).expect("the export is UTF-8");
    let text = text.strip_prefix('\u{feff}').expect("a UTF-8 BOM");
    let records = parse_csv(text);
    let (header, rows) = records.split_first().expect("a header row");
    assert_eq!(header.join(","), CSV_HEADER);
    for row in rows {
        assert_eq!(row.len(), 7, "{row:?}");
    }
    rows.to_vec()
}

/// RFC 4180 records with CRLF line ends (a bare LF outside quotes is refused).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, _) => field.push(ch),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "a CR without LF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, '\n') => panic!("a line that does not end in CRLF"),
            (false, _) => field.push(ch),
        }
    }
    assert!(!quoted, "an unterminated quote");
    assert!(
        field.is_empty() && record.is_empty(),
        "the last line does not end in CRLF"
    );
    records
}

/// Every row is a transaction with its amount as a plain decimal string in its
/// currency's scale; the seeded ones are there as sent.
fn check_rows(rows: &[Vec<String>], seeded: &[String]) {
    let kinds = ["top_up", "card_spend", "refund", "fee"];
    let mut ids = std::collections::HashSet::new();
    for row in rows {
        assert!(ids.insert(row[0].clone()), "a transaction twice: {row:?}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(&row[1]).is_ok(),
            "created_at {row:?}"
        );
        assert!(kinds.contains(&row[2].as_str()), "type {row:?}");
        assert!(
            ["completed", "pending"].contains(&row[3].as_str()),
            "status {row:?}"
        );
        let amount = &row[4];
        let (int, frac) = amount.split_once('.').unwrap_or((amount.as_str(), ""));
        let scale = if row[5] == "JPY" { 0 } else { 2 };
        assert!(
            !int.is_empty()
                && int.chars().all(|ch| ch.is_ascii_digit())
                && frac.len() == scale
                && frac.chars().all(|ch| ch.is_ascii_digit()),
            "amount {amount} in {}: {row:?}",
            row[5]
        );
        assert!(
            ["JPY", "USD", "SGP-USD"].contains(&row[5].as_str()),
            "currency {row:?}"
        );
    }
    for (i, id) in seeded.iter().enumerate() {
        let row = rows
            .iter()
            .find(|r| &r[0] == id)
            .unwrap_or_else(|| panic!("seeded transaction {id} is not in the export"));
        let (currency, amount) = seeded_amount(i);
        let description = match seeded_description(i) {
            // A spreadsheet would run it: the export keeps it as text.
            d if d.starts_with('=') => format!("'{d}"),
            d => d,
        };
        assert_eq!(
            row[2..],
            [
                "top_up",
                "completed",
                amount.as_str(),
                currency,
                description.as_str()
            ],
            "seeded transaction {i}"
        );
    }
    let simulated = rows
        .iter()
        .find(|r| r[6] == "E2E チャージ（画面から）")
        .expect("the simulated transaction in the export");
    assert_eq!(simulated[2..6], ["top_up", "completed", "1234", "JPY"]);
}

// ---------------------------------------------------------------------------------
// 5. Pictures of every Users screen, in Japanese and in English.

/// The user's page's tabs, with what each shows once loaded.
const TABS: [(&str, &str); 5] = [
    ("profile", "user-profile"),
    ("balances", "user-balances"),
    ("transactions", "user-transactions"),
    ("cards", "user-cards"),
    ("kyc", "user-kyc"),
];

async fn pictures(c: &Client) -> Result<()> {
    find(c, "overview-balances", 60).await?;
    for lang in ["ja", "en"] {
        language(c, lang).await?;
        users_list(c).await?;
        let title = c.find(fantoccini::Locator::Css("h1")).await?.text().await?;
        assert_eq!(
            title,
            if lang == "ja" {
                "ユーザー"
            } else {
                "Users"
            }
        );
        screenshot(c, &format!("users-01-{lang}-list")).await?;

        // An approved user: it has cards.
        let approved = format!("{}[data-kyc-status=\"approved\"]", testid("user-row"));
        c.find(fantoccini::Locator::Css(&format!(
            "{approved} {}",
            testid("user-row-name")
        )))
        .await?
        .click()
        .await?;
        find(c, "user-detail", 30).await?;
        for (i, (tab, content)) in TABS.iter().enumerate() {
            find(c, &format!("user-tab-{tab}"), 5)
                .await?
                .click()
                .await?;
            find(c, content, 30).await?;
            until(c, tab, tab_ready(tab), 30).await?;
            screenshot(c, &format!("users-{:02}-{lang}-{tab}", i + 2)).await?;
        }
        let profile = find(c, "user-tab-profile", 5).await?.text().await?;
        assert_eq!(
            profile,
            if lang == "ja" {
                "プロフィール"
            } else {
                "Profile"
            }
        );

        // The edit's preview, not saved.
        find(c, "user-tab-profile", 5).await?.click().await?;
        find(c, "user-edit", 10).await?.click().await?;
        let phone = find(c, "user-phone-input", 5).await?;
        phone.clear().await?;
        phone.send_keys(EDITED_PHONE_TYPED).await?;
        until(
            c,
            "the preview",
            &format!(
                "document.querySelector('{} tr[data-field=phone]')",
                testid("user-changes")
            ),
            10,
        )
        .await?;
        screenshot(c, &format!("users-07-{lang}-edit-preview")).await?;

        // The create form, filled in, not sent.
        find(c, "nav-users", 5).await?.click().await?;
        find(c, "user-create", 10).await?.click().await?;
        find(c, "user-form", 10).await?;
        for (id, value) in [
            ("user-name", NEW_NAME),
            ("user-email", NEW_EMAIL),
            ("user-phone", NEW_PHONE_TYPED),
        ] {
            find(c, id, 5).await?.send_keys(value).await?;
        }
        find(c, "user-country", 5)
            .await?
            .select_by_value("JP")
            .await?;
        screenshot(c, &format!("users-08-{lang}-create-form")).await?;
        find(c, "nav-users", 5).await?.click().await?;
    }
    Ok(())
}

/// When a tab of the user's page has its data (a JS expression).
fn tab_ready(tab: &str) -> &'static str {
    match tab {
        "profile" => {
            "document.querySelector('[data-testid=\"user-profile\"] dd[data-field=name]')?.textContent.trim()"
        }
        "balances" => {
            "document.querySelector('[data-testid=\"user-balance\"]') && \
             document.querySelector('[data-testid=\"balance-chart\"] canvas')"
        }
        "transactions" => {
            "document.querySelector('[data-testid=\"user-transactions\"]')?.dataset.pages >= 1 && \
             document.querySelector('[data-testid=\"transaction-row\"]')"
        }
        "cards" => "document.querySelector('[data-testid=\"card-row\"]')",
        _ => {
            "document.querySelector('[data-testid=\"user-kyc\"]')?.dataset.kycStatus === 'approved'"
        }
    }
}
