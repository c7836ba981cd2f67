//! A payment link from creation to a paid row, in the built app's real window: the
//! link is made in the form, paid on the embedded sandbox's checkout page over HTTP
//! as a customer's browser would, and the signed webhook the sandbox then delivers to
//! the app's listener turns the row paid without a reload; then its detail and the
//! CSV export. Run with `sh scripts/e2e.sh`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use fantoccini::{Client, Locator};
use ito_desk_e2e::{FirstStart, Result, find, screenshot, testid, until};

/// Typed as a merchant would; JPY has no minor unit, so the field keeps the digits.
const AMOUNT_TYPED: &str = "1,500";
const AMOUNT: &str = "1500";
/// The sandbox's JPY fee is 3.6 %.
const CHARGE: &str = "54";
const NET: &str = "1446";
/// No ASCII comma or quote, so a CSV line splits on commas.
const DETAILS: &str = "抹茶セット（宇治）×2 と 和菓子";
const EMAIL: &str = "hanako.yamada@example.jp";
const SUCCESS_URL: &str = "https://shop.example.jp/thanks";
const CANCEL_URL: &str = "https://shop.example.jp/cart";
const CSV_HEADER: &str = "payment_id,status,amount,currency,charge,net,custom,customer_email,\
                          details,transaction,created_at,paid_at,checkout_url";

#[tokio::test]
#[ignore = "needs the built app, tauri-driver and a display: run scripts/e2e.sh"]
async fn payment_link_paid_at_checkout_turns_paid_live() -> Result<()> {
    let app = FirstStart::new().await?;
    let outcome = scenario(&app.client, app.home(), app.webhook_port()).await;
    app.finish("payments", outcome).await
}

async fn scenario(c: &Client, home: &Path, listener_port: u16) -> Result<()> {
    // The embedded sandbox answers once the first Overview has its data.
    find(c, "overview-balances", 60).await?;
    // The texts checked below are the English ones, whatever the OS's language.
    find(c, "language-switch", 5)
        .await?
        .select_by_value("en")
        .await?;
    until(c, "English", "document.documentElement.lang === 'en'", 10).await?;

    // 1. A payment link, from the form.
    find(c, "nav-payments", 5).await?.click().await?;
    find(c, "payment-create", 30).await?.click().await?;
    until(
        c,
        "the pre-filled order reference",
        &format!(
            "document.querySelector('{}')?.value.length > 0",
            testid("payment-custom")
        ),
        30,
    )
    .await?;
    let custom = find(c, "payment-custom", 5)
        .await?
        .prop("value")
        .await?
        .ok_or("no order reference")?;
    let webhook = find(c, "payment-webhook-url", 5)
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    assert!(
        webhook.starts_with(&format!("http://127.0.0.1:{listener_port}/")),
        "the link's webhook does not go to the app's listener: {webhook}"
    );
    find(c, "payment-currency", 5)
        .await?
        .select_by_value("JPY")
        .await?;
    let amount = find(c, "payment-amount", 5).await?;
    amount.send_keys(AMOUNT_TYPED).await?;
    assert_eq!(amount.prop("value").await?.as_deref(), Some(AMOUNT));
    let details = find(c, "payment-details", 5).await?;
    details.send_keys(DETAILS).await?;
    assert_eq!(details.prop("value").await?.as_deref(), Some(DETAILS));
    find(c, "payment-email", 5).await?.send_keys(EMAIL).await?;
    // A first start has no default redirects.
    for (id, url) in [
        ("payment-success-url", SUCCESS_URL),
        ("payment-cancel-url", CANCEL_URL),
    ] {
        let input = find(c, id, 5).await?;
        input.clear().await?;
        input.send_keys(url).await?;
    }
    find(c, "payment-submit", 5).await?.click().await?;
    until(
        c,
        "the link or a refusal",
        &format!(
            "document.querySelector('{}, {}, [aria-invalid=true]')",
            testid("payment-created"),
            testid("payment-form-error")
        ),
        60,
    )
    .await?;
    let refused: String = c
        .execute(
            "return [...document.querySelectorAll('.error')]\
             .map(e => e.textContent.trim()).join(' | ');",
            vec![],
        )
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if !refused.is_empty() {
        return Err(format!("the form refused the link: {refused}").into());
    }
    find(c, "payment-created", 5).await?;
    let checkout_url = find(c, "payment-checkout-url", 5)
        .await?
        .prop("value")
        .await?
        .ok_or("no checkout URL")?;
    let checkout = reqwest::Url::parse(&checkout_url)?;
    let payment_id = checkout
        .query_pairs()
        .find(|(k, _)| k == "payment_id")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| format!("no payment_id in {checkout}"))?;

    // 2. The list has it, pending.
    find(c, "nav-payments", 5).await?.click().await?;
    let row = format!(
        "{}[data-payment-id=\"{payment_id}\"]",
        testid("payment-row")
    );
    let status = format!("document.querySelector('{row}')?.dataset.status");
    until(c, "the pending row", &format!("{status} === 'pending'"), 30).await?;
    // A reload or a navigation would drop this mark.
    c.execute("window.__e2eSameDocument = true;", vec![])
        .await?;

    // 3. The customer pays on the checkout page.
    pay_at_checkout(&checkout).await?;

    // 4. The webhook turns the same row paid, live.
    until(
        c,
        "the row to turn paid",
        &format!("{status} === 'paid'"),
        90,
    )
    .await?;
    let same: bool = c
        .execute(
            "return window.__e2eSameDocument === true && location.hash === '#/payments';",
            vec![],
        )
        .await?
        .as_bool()
        .unwrap_or(false);
    assert!(same, "the window reloaded or navigated");
    let cells: Vec<String> = serde_json::from_value(
        c.execute(
            &format!(
                "return [...document.querySelectorAll('{row} [role=cell]')]\
                 .map(e => e.textContent.trim());"
            ),
            vec![],
        )
        .await?,
    )?;
    // Status, amount, charge, net, customer, order reference, created, paid.
    assert_eq!(cells.len(), 8, "row cells: {cells:?}");
    assert_eq!(cells[0], "Paid");
    assert_eq!(digits(&cells[1]), AMOUNT, "amount: {cells:?}");
    assert_eq!(digits(&cells[2]), CHARGE, "charge: {cells:?}");
    assert_eq!(digits(&cells[3]), NET, "net: {cells:?}");
    assert_eq!(cells[4], EMAIL);
    assert_eq!(cells[5], custom);
    assert!(
        cells[7].chars().any(|ch| ch.is_ascii_digit()),
        "no paid time: {cells:?}"
    );
    screenshot(c, "payments-01-paid-live").await?;

    // 5. Its detail: paid, with the verified webhook on the timeline.
    c.find(Locator::Css(&format!("{row} [role=cell]")))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(&format!(
            "{}[data-status=\"paid\"]",
            testid("payment-detail")
        )))
        .await?;
    until(
        c,
        "the webhook on the timeline",
        &format!(
            "[...document.querySelectorAll('{} li[data-kind=webhook]')]\
             .some(li => li.textContent.includes('Paid:')\
                   && li.querySelector('a[href*=\"webhooks\"]'))",
            testid("payment-timeline")
        ),
        30,
    )
    .await?;
    let deliveries = find(c, "payment-webhooks", 10).await?.text().await?;
    assert!(
        deliveries.contains("Verified"),
        "no verified delivery: {deliveries}"
    );
    screenshot(c, "payments-02-detail").await?;

    // 6. CSV export straight into Downloads.
    find(c, "nav-payments", 5).await?.click().await?;
    until(c, "the paid row", &format!("{status} === 'paid'"), 30).await?;
    let export = testid("payments-export");
    until(
        c,
        "the export button",
        &format!("document.querySelector('{export}')?.disabled === false"),
        30,
    )
    .await?;
    find(c, "payments-export", 5).await?.click().await?;
    let result = find(c, "payments-export-result", 30).await?;
    until(
        c,
        "the export's outcome",
        &format!(
            "['ok', 'error'].includes(document.querySelector('{}')?.dataset.state)",
            testid("payments-export-result")
        ),
        30,
    )
    .await?;
    let state = result.attr("data-state").await?;
    assert_eq!(
        state.as_deref(),
        Some("ok"),
        "export failed: {}",
        result.text().await?
    );
    find(c, "payments-export-reveal", 5).await?;
    let path = result.attr("data-path").await?.ok_or("no data-path")?;
    let path = Path::new(&path);
    assert_eq!(path.parent(), Some(home.join("Downloads").as_path()));
    screenshot(c, "payments-03-exported").await?;
    check_csv(
        &std::fs::read(path)?,
        &[
            &payment_id,
            "paid",
            AMOUNT,
            "JPY",
            CHARGE,
            NET,
            &custom,
            EMAIL,
            DETAILS,
        ],
        &checkout_url,
    );
    Ok(())
}

/// What a browser does on the checkout page: load it, then submit its Pay form.
async fn pay_at_checkout(checkout: &reqwest::Url) -> Result<()> {
    // The Pay answer redirects to the merchant's success page, which is not ours to load.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let page = http.get(checkout.clone()).send().await?;
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let html = page.text().await?;
    assert!(html.contains("¥1,500"), "the amount is not on the page");
    assert!(html.contains(DETAILS), "the details are not on the page");
    let (action, fields) = pay_form(&html).ok_or("no Pay form on the checkout page")?;
    let paid = http
        .post(checkout.join(&action)?)
        .form(&fields)
        .send()
        .await?;
    assert!(
        paid.status().is_redirection(),
        "paying answered {}",
        paid.status()
    );
    Ok(())
}

/// The action and fields of the page's POST form whose action ends in `/pay`. The
/// sandbox writes plain, attribute-quoted HTML, so finding the tags is enough.
fn pay_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    html.split("<form").skip(1).find_map(|form| {
        let form = form.split("</form>").next()?;
        let tag = form.split('>').next()?;
        let action = attr(tag, "action")?;
        if !attr(tag, "method")?.eq_ignore_ascii_case("post") || !action.ends_with("/pay") {
            return None;
        }
        let fields = form
            .split("<input")
            .skip(1)
            .filter_map(|input| {
                let tag = input.split('>').next()?;
                Some((attr(tag, "name")?, attr(tag, "value").unwrap_or_default()))
            })
            .collect();
        Some((action, fields))
    })
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(tag[start..start + len].to_owned())
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// The export as a spreadsheet reads it: a BOM, CRLF lines, the header, and one line
/// for the payment starting with `expected` and ending with its checkout URL.
fn check_csv(bytes: &[u8], expected: &[&str], checkout_url: &str) {
    let text = std::str::from_utf8(bytes).expect("the export is UTF-8");
    let text = text.strip_prefix('\u{feff}').expect("a UTF-8 BOM");
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "a line does not end in CRLF"
    );
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(lines.first().copied(), Some(CSV_HEADER));
    assert_eq!(lines.len(), 2, "one payment in the export: {lines:?}");
    let fields: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(fields.len(), 13, "{}", lines[1]);
    assert_eq!(fields[..expected.len()], *expected);
    assert!(!fields[9].is_empty(), "no transaction: {}", lines[1]);
    assert!(!fields[11].is_empty(), "no paid_at: {}", lines[1]);
    assert_eq!(fields[12], checkout_url);
}
