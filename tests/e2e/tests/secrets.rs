//! No secret on disk: after a session in the real window that used every credential a
//! profile holds (the access and secret keys for a payment link and its signed
//! webhook, the OAuth client secret and its access token for the users), signed in as
//! a user (their access and refresh tokens) and revealed and copied that user's card
//! number and CVV, every file
//! the app wrote under its home — its database and WAL, the exported CSV, WebKit's
//! storage and caches, the embedded sandbox's database, whatever else — is read byte by byte, while the app runs and
//! after it stops, for each secret in UTF-8 and in UTF-16 (WebKit's local storage).
//! Run with `sh scripts/e2e.sh`.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use ito_api::kyc::KycStatus;
use ito_api::{Credentials, Environment, PaymentId, UserId};
use ito_desk_e2e::{
    COMPLETE_KYC, FirstStart, Result, add_profile, binary, find, separate_sandbox, switch_profile,
    testid, until,
};

/// The prefixes of the gateway's OAuth tokens (merchant access, user access, user
/// refresh); each is followed by at least 40 letters and digits.
const TOKEN_PREFIXES: [&str; 3] = ["mat_", "uat_", "urt_"];
const TOKEN_MIN_LEN: usize = 40;

#[tokio::test]
#[ignore = "needs the built app, tauri-driver and a display: run scripts/e2e.sh"]
async fn no_secret_in_any_file_the_app_writes() -> Result<()> {
    let outside = tempfile::tempdir()?;
    let (_sandbox, url, merchant) = separate_sandbox(outside.path())?;
    seed(outside.path(), &merchant)?;
    let app = FirstStart::new().await?;
    let outcome = session(&app, &url, &merchant).await;
    let running = outcome.as_ref().map_or(Vec::new(), |_| walk(app.home()));
    let (outcome, outcome_card) = match outcome {
        Ok(card) => (Ok(()), Ok(card)),
        Err(e) => (Err(e), Err("no card revealed".to_owned())),
    };
    let home = app.stop("secrets", outcome).await?;
    let stopped = walk(home.path());

    let card = outcome_card?;
    let mut secrets: Vec<(&str, String)> = ["access_key", "secret_key", "client_secret"]
        .into_iter()
        .map(|k| (k, merchant[k].as_str().unwrap().to_owned()))
        .collect();
    // The number as shown (grouped by four) and bare; a bare three-digit CVV would
    // match any file by chance, so it is looked for as a value of a field.
    secrets.push(("card number", card.number.clone()));
    secrets.push(("grouped card number", grouped(&card.number)));
    for form in [r#""cvv":"{}""#, r#""cvv": "{}""#, "cvv={}", r#""cvv":{}"#] {
        secrets.push(("CVV", form.replace("{}", &card.cvv)));
    }
    for (when, files) in [("while it ran", &running), ("after it stopped", &stopped)] {
        let names: Vec<String> = files
            .iter()
            .map(|(f, _)| f.strip_prefix(home.path()).unwrap().display().to_string())
            .collect();
        // What the issue names must be among the files read, or the walk proves nothing.
        let has = |what: &str, test: &dyn Fn(&str) -> bool| {
            assert!(
                names.iter().any(|n| test(n)),
                "{what} not found {when}: {names:#?}"
            );
        };
        has("the desk's database", &|n| {
            n.ends_with(ito_desk::desk::DB_FILE)
        });
        has("the exported CSV", &|n| {
            n.starts_with("Downloads/") && n.ends_with(".csv")
        });
        has("WebKit's storage", &|n| n.contains("/storage/"));
        has("WebKit's cache", &|n| n.contains("/WebKitCache/"));
        if when == "while it ran" {
            has("the database's WAL", &|n| n.ends_with("-wal"));
        }
        for (file, bytes) in files {
            for (name, value) in &secrets {
                for encoded in [value.as_bytes().to_vec(), utf16(value)] {
                    assert!(
                        find_bytes(bytes, &encoded).is_none(),
                        "the {name} is in {} ({when})",
                        file.display()
                    );
                }
            }
            if let Some(token) = token_in(bytes) {
                panic!("a token ({token}…) is in {} ({when})", file.display());
            }
        }
        println!("{} files read {when}, no secret in any", files.len());
    }
    assert!(
        merchant_tokens_issued(&outside.path().join("separate-sandbox.db"))? > 0,
        "the session never used the client secret"
    );
    Ok(())
}

/// A few users with transactions for the merchant, as staff would find them.
fn seed(dir: &Path, merchant: &serde_json::Value) -> Result<()> {
    let out = std::process::Command::new(binary("ITO_SANDBOX_BIN", "ito-sandbox")?)
        .args(["seed", "--users", "3", "--transactions-per-user", "5"])
        .arg("--merchant")
        .arg(merchant["merchant_id"].as_str().ok_or("no merchant id")?)
        .arg("--db")
        .arg(dir.join("separate-sandbox.db"))
        .output()?;
    if !out.status.success() {
        return Err(format!("seed failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}

/// Uses every credential of a profile on `url`: a payment link (access key, signed with
/// the secret key), paid so that the signed webhook lands (verified with the secret
/// key), the users imported and one opened (the OAuth client secret and its token),
/// and the payments exported.
async fn session(app: &FirstStart, url: &str, merchant: &serde_json::Value) -> Result<Card> {
    let c = &app.client;
    find(c, "overview-balances", 60).await?;
    let profile = add_profile(c, "Secrets Shop", url, merchant).await?;
    switch_profile(c, &profile).await?;

    find(c, "nav-payments", 5).await?.click().await?;
    find(c, "payment-create", 30).await?.click().await?;
    find(c, "payment-currency", 10)
        .await?
        .select_by_value("JPY")
        .await?;
    find(c, "payment-amount", 5)
        .await?
        .send_keys("2400")
        .await?;
    find(c, "payment-details", 5)
        .await?
        .send_keys("抹茶")
        .await?;
    find(c, "payment-email", 5)
        .await?
        .send_keys("hanako.yamada@example.jp")
        .await?;
    for (id, url) in [
        ("payment-success-url", "https://shop.example.jp/thanks"),
        ("payment-cancel-url", "https://shop.example.jp/cart"),
    ] {
        let input = find(c, id, 5).await?;
        input.clear().await?;
        input.send_keys(url).await?;
    }
    find(c, "payment-submit", 5).await?.click().await?;
    let checkout = find(c, "payment-checkout-url", 60)
        .await?
        .prop("value")
        .await?
        .ok_or("no checkout URL")?;
    let payment_id = reqwest::Url::parse(&checkout)?
        .query_pairs()
        .find(|(k, _)| k == "payment_id")
        .map(|(_, v)| v.into_owned())
        .ok_or("no payment id in the checkout URL")?;
    let field = |k: &str| -> Result<String> {
        Ok(merchant[k].as_str().ok_or(format!("no {k}"))?.to_owned())
    };
    let gateway = ito_api::Client::new(
        Environment::sandbox(url)?,
        Credentials::new(field("access_key")?, field("secret_key")?)
            .with_oauth(field("client_id")?, field("client_secret")?),
    )?;
    gateway
        .sandbox()
        .complete(&PaymentId::new(payment_id.clone()))
        .await?;
    find(c, "nav-payments", 5).await?.click().await?;
    until(
        c,
        "the payment paid by its webhook",
        &format!(
            "document.querySelector('{}[data-payment-id=\"{payment_id}\"]')?.dataset.status === 'paid'",
            testid("payment-row")
        ),
        90,
    )
    .await?;
    let export = testid("payments-export");
    until(
        c,
        "the export button",
        &format!("document.querySelector('{export}')?.disabled === false"),
        30,
    )
    .await?;
    find(c, "payments-export", 5).await?.click().await?;
    find(c, "payments-export-reveal", 30).await?;

    find(c, "nav-users", 5).await?.click().await?;
    find(c, "users-import", 30).await?.click().await?;
    until(
        c,
        "the imported users",
        &format!(
            "document.querySelectorAll('{}').length === 3",
            testid("user-row")
        ),
        60,
    )
    .await?;
    find(c, "user-row", 5).await?.click().await?;
    let detail = find(c, "user-detail", 60).await?;
    let user = UserId::new(
        detail
            .attr("data-user-id")
            .await?
            .ok_or("the user's page has no id")?,
    );
    reveal_a_card(app, &gateway, &user).await
}

/// A card's data as the reveal showed it.
struct Card {
    number: String,
    cvv: String,
}

/// Signs in as the user (their KYC approved at the gateway first), issues them a card
/// in the user's view, reveals it, copies its number and hides it.
async fn reveal_a_card(app: &FirstStart, gateway: &ito_api::Client, user: &UserId) -> Result<Card> {
    let c = &app.client;
    let me = gateway
        .sandbox()
        .users(Some(100), None)
        .await?
        .data
        .into_iter()
        .find(|u| &u.id == user)
        .ok_or("the opened user is not the merchant's")?;
    // Seeded users come in every KYC status: take each as far as approved.
    let status = gateway.merchant().kyc(user).await?.status;
    if matches!(
        status,
        KycStatus::NotStarted | KycStatus::Draft | KycStatus::Rejected
    ) {
        let values = COMPLETE_KYC
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        gateway.merchant().replace_kyc(user, &values).await?;
        gateway.merchant().submit_kyc(user).await?;
    }
    if status != KycStatus::Approved {
        gateway.sandbox().approve_kyc(user).await?;
    }

    find(c, "sign-in-as-user", 30).await?.click().await?;
    let page = app
        .browser_sign_in(&me.email, ito_sandbox::SEED_PASSWORD, "approve")
        .await?;
    if !page.contains("Signed in") {
        return Err(format!("the sign-in tab says: {page}").into());
    }
    find(c, "open-user-view", 30).await?.click().await?;
    find(c, "user-view", 30).await?;
    find(c, "tab-cards", 10).await?.click().await?;
    find(c, "issue-card", 10).await?.click().await?;
    find(c, "issue-card-currency", 10)
        .await?
        .select_by_value("USD")
        .await?;
    find(c, "issue-card-submit", 5).await?.click().await?;
    find(c, "card-row", 30).await?;
    find(c, "card-reveal", 10).await?.click().await?;
    find(c, "confirm-accept", 10).await?.click().await?;
    let digits = |s: String| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let number = digits(find(c, "card-number", 30).await?.text().await?);
    let cvv = digits(find(c, "card-cvv", 5).await?.text().await?);
    if number.len() != 16 || cvv.len() != 3 {
        return Err(format!(
            "revealed {} digits and a {}-digit CVV",
            number.len(),
            cvv.len()
        )
        .into());
    }
    find(c, "copy-card-number", 5).await?.click().await?;
    find(c, "card-copied", 10).await?;
    find(c, "card-hide", 5).await?.click().await?;
    until(
        c,
        "the number hidden",
        &format!("!document.querySelector('{}')", testid("card-number")),
        5,
    )
    .await?;
    Ok(Card { number, cvv })
}

fn grouped(number: &str) -> String {
    number
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every regular file under `dir`, at any depth, with its bytes as read when it was
/// found (one the running app removed in the meantime is gone from disk too).
fn walk(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => todo.push(entry.path()),
                Ok(t) if t.is_file() => {
                    if let Ok(bytes) = std::fs::read(entry.path()) {
                        files.push((entry.path(), bytes));
                    }
                }
                _ => {}
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The start of the first token-shaped string in `bytes`, UTF-8 or UTF-16.
fn token_in(bytes: &[u8]) -> Option<String> {
    for prefix in TOKEN_PREFIXES {
        for (encoded, step) in [(prefix.as_bytes().to_vec(), 1), (utf16(prefix), 2)] {
            let mut from = 0;
            while let Some(at) = find_bytes(&bytes[from..], &encoded) {
                let start = from + at + encoded.len();
                let run = bytes[start..]
                    .chunks(step)
                    .take_while(|ch| {
                        ch[0].is_ascii_alphanumeric() && ch[1..].iter().all(|&b| b == 0)
                    })
                    .count();
                if run >= TOKEN_MIN_LEN {
                    return Some(format!("{prefix}{}", "•".repeat(4)));
                }
                from = start;
            }
        }
    }
    None
}

fn merchant_tokens_issued(db: &Path) -> Result<i64> {
    let conn = rusqlite::Connection::open(db)?;
    Ok(conn.query_row(
        "SELECT count(*) FROM oauth_access_tokens WHERE kind = 'merchant'",
        [],
        |r| r.get(0),
    )?)
}
