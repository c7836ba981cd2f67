//! Payment links: the form's rules (the gateway's own, checked before anything is
//! sent), order references, per-profile defaults, and creation that survives
//! double clicks, network blips and restarts without ever creating two payments.

use ito_api::{Client, Money, NewPayment, PaymentCreated};
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use specta::Type;
use url::Url;

use crate::error::{Error, FieldErrors, Result};
use crate::overview::Currency;
use crate::payments::ledger::{self, LedgerPayment, LedgerStatus};
use crate::store::{Store, now_ms};

/// The gateway's limit on `custom` and `details`.
pub const MAX_TEXT_CHARS: usize = 255;
/// The gateway's largest amount.
const MAX_AMOUNT: u64 = 1_000_000_000;

/// What the payment-link form sends. Absent URLs take the profile's defaults.
#[derive(Clone, Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PaymentLinkInput {
    /// Decimal text at most at the currency's scale (`"1200"`, `"280.00"`).
    pub amount: String,
    pub currency: Currency,
    pub details: Option<String>,
    pub customer_email: String,
    /// The order reference; prefilled from [`PaymentLinkDefaults::custom`].
    pub custom: String,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub webhook_url: Option<String>,
    /// The person confirmed moving real money (required for active-mode profiles).
    pub confirm_active: bool,
}

/// A link the gateway accepted.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PaymentLinkCreated {
    pub payment: LedgerPayment,
    pub checkout_url: String,
    /// The gateway answered from its idempotency store: this was a retry of a payment
    /// it had already created.
    pub replayed: bool,
}

/// The form's starting values for the active profile.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PaymentLinkDefaults {
    /// A fresh, unused order reference.
    pub custom: String,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    /// The webhook URL payments get: the profile's own setting, else the app's listener.
    pub webhook_url: Option<String>,
    /// The app's listener URL for this profile, when it runs.
    pub listener_url: Option<String>,
    /// The embedded sandbox's stand-in return pages, which fill in for success and
    /// cancel URLs not set on its profile (so a first link needs none typed).
    pub stand_in_success_url: Option<String>,
    pub stand_in_cancel_url: Option<String>,
}

/// The per-profile defaults, as Settings edits them. Empty strings clear a value.
#[derive(Clone, Debug, Default, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDefaults {
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    /// Overrides the app's listener, e.g. with a tunnel's public URL.
    pub webhook_url: Option<String>,
}

/// Gateway field names to the form's, so 422 messages land on the right field.
fn form_field(wire: &str) -> &str {
    match wire {
        "currency_code" => "currency",
        "customer_email" => "customerEmail",
        "web_hook" => "webhookUrl",
        "cancel_url" => "cancelUrl",
        "success_url" => "successUrl",
        other => other,
    }
}

fn push(fields: &mut FieldErrors, field: &str, msg: impl Into<String>) {
    fields.entry(field.to_owned()).or_default().push(msg.into());
}

/// An absolute http(s) URL, as the gateway demands for all three URLs.
pub fn absolute_url(text: &str) -> Option<Url> {
    Url::parse(text.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

fn optional_url(fields: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    match absolute_url(v) {
        Some(u) => Some(u.to_string()),
        None => {
            push(fields, field, "Enter an absolute http:// or https:// URL.");
            None
        }
    }
}

/// Checks the per-profile defaults.
pub fn check_defaults(input: &PaymentDefaults) -> Result<PaymentDefaults> {
    let mut fields = FieldErrors::new();
    let checked = PaymentDefaults {
        success_url: optional_url(&mut fields, "successUrl", input.success_url.as_deref()),
        cancel_url: optional_url(&mut fields, "cancelUrl", input.cancel_url.as_deref()),
        webhook_url: optional_url(&mut fields, "webhookUrl", input.webhook_url.as_deref()),
    };
    if fields.is_empty() {
        Ok(checked)
    } else {
        Err(Error::Validation {
            message: "Some fields need attention.".into(),
            fields,
        })
    }
}

/// Validates the form against the gateway's rules, filling absent URLs from
/// `defaults` (with `webhook_fallback`, the app's listener, last).
pub fn check(
    input: &PaymentLinkInput,
    defaults: &PaymentDefaults,
    webhook_fallback: Option<&str>,
    active_mode: bool,
) -> Result<NewPayment> {
    let mut fields = FieldErrors::new();
    let currency = ledger::api_currency(input.currency);
    let amount = match Money::parse(input.amount.trim(), currency) {
        Ok(m) if !m.is_positive() => {
            push(&mut fields, "amount", "The amount must be greater than 0.");
            None
        }
        Ok(m) if m.amount() > rust_decimal::Decimal::from(MAX_AMOUNT) => {
            push(
                &mut fields,
                "amount",
                format!("The amount may not be greater than {MAX_AMOUNT}."),
            );
            None
        }
        Ok(m) => Some(m),
        Err(ito_api::MoneyError::Scale { .. }) => {
            push(
                &mut fields,
                "amount",
                match currency.scale() {
                    0 => format!("{currency} amounts are whole numbers."),
                    n => format!("{currency} amounts have at most {n} decimal places."),
                },
            );
            None
        }
        Err(_) => {
            push(
                &mut fields,
                "amount",
                "Enter the amount as a number, like 1200 or 280.00.",
            );
            None
        }
    };
    let custom = input.custom.trim().to_owned();
    if custom.is_empty() || custom.chars().count() > MAX_TEXT_CHARS {
        push(
            &mut fields,
            "custom",
            format!("The order reference must be 1 to {MAX_TEXT_CHARS} characters."),
        );
    }
    let details = input
        .details
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned);
    if details
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_TEXT_CHARS)
    {
        push(
            &mut fields,
            "details",
            format!("The details may not be longer than {MAX_TEXT_CHARS} characters."),
        );
    }
    let email = input.customer_email.trim().to_owned();
    if !ito_api::is_valid_email(&email) {
        push(&mut fields, "customerEmail", "Enter a valid email address.");
    }
    let mut url = |field: &str, given: Option<&str>, fallbacks: [Option<&str>; 2]| {
        let chosen = given
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .or(fallbacks[0])
            .or(fallbacks[1]);
        match chosen {
            None => {
                push(
                    &mut fields,
                    field,
                    "Required (or set a default in Settings).",
                );
                None
            }
            Some(v) => match absolute_url(v) {
                Some(u) => Some(u),
                None => {
                    push(
                        &mut fields,
                        field,
                        "Enter an absolute http:// or https:// URL.",
                    );
                    None
                }
            },
        }
    };
    let success_url = url(
        "successUrl",
        input.success_url.as_deref(),
        [defaults.success_url.as_deref(), None],
    );
    let cancel_url = url(
        "cancelUrl",
        input.cancel_url.as_deref(),
        [defaults.cancel_url.as_deref(), None],
    );
    let web_hook = url(
        "webhookUrl",
        input.webhook_url.as_deref(),
        [defaults.webhook_url.as_deref(), webhook_fallback],
    );
    if active_mode && !input.confirm_active {
        push(
            &mut fields,
            "confirmActive",
            "This profile is in active mode: confirm that this link charges real money.",
        );
    }
    match (amount, success_url, cancel_url, web_hook) {
        (Some(amount), Some(success_url), Some(cancel_url), Some(web_hook))
            if fields.is_empty() =>
        {
            Ok(NewPayment {
                custom,
                amount,
                details,
                web_hook,
                cancel_url,
                success_url,
                customer_email: email,
            })
        }
        _ => Err(Error::Validation {
            message: "Some fields need attention.".into(),
            fields,
        }),
    }
}

/// A new order reference: `ORD-YYYYMMDD-XXXXXX`, random enough never to repeat in
/// practice and checked against the ledger anyway.
pub async fn order_reference(store: &Store, profile_id: &str) -> Result<String> {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    loop {
        let random = uuid::Uuid::new_v4();
        let tail: String = random.as_bytes()[..6]
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        let candidate = format!("ORD-{}-{tail}", chrono::Utc::now().format("%Y%m%d"));
        let (pid, c) = (profile_id.to_owned(), candidate.clone());
        let taken = store
            .read(move |conn| Ok(ledger::draft_by_custom(conn, &pid, &c)?.is_some()))
            .await?;
        if !taken {
            return Ok(candidate);
        }
    }
}

pub async fn defaults(store: &Store, profile_id: &str) -> Result<PaymentDefaults> {
    let pid = profile_id.to_owned();
    store
        .read(move |c| {
            Ok(c.query_row(
                "SELECT success_url, cancel_url, webhook_url FROM payment_defaults WHERE profile_id = ?1",
                [pid],
                |r| {
                    Ok(PaymentDefaults {
                        success_url: r.get(0)?,
                        cancel_url: r.get(1)?,
                        webhook_url: r.get(2)?,
                    })
                },
            )
            .optional()?
            .unwrap_or_default())
        })
        .await
}

pub async fn set_defaults(
    store: &Store,
    profile_id: &str,
    input: &PaymentDefaults,
) -> Result<PaymentDefaults> {
    let checked = check_defaults(input)?;
    let (pid, row) = (profile_id.to_owned(), checked.clone());
    store
        .write(move |tx| {
            tx.execute(
                "INSERT INTO payment_defaults (profile_id, success_url, cancel_url, webhook_url)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (profile_id) DO UPDATE SET success_url = excluded.success_url,
                   cancel_url = excluded.cancel_url, webhook_url = excluded.webhook_url",
                (pid, row.success_url, row.cancel_url, row.webhook_url),
            )?;
            Ok(())
        })
        .await?;
    Ok(checked)
}

/// Stores the payment with a new idempotency key before anything is sent, or finds
/// the one stored by an earlier submit of the same order. The same order reference
/// with a different request is refused: it would be a second payment for one order.
pub async fn stage(store: &Store, profile_id: &str, request: NewPayment) -> Result<ledger::Draft> {
    let pid = profile_id.to_owned();
    store
        .write(move |tx| {
            if let Some(found) = ledger::draft_by_custom(tx, &pid, &request.custom)? {
                if found.request == request {
                    return Ok(found);
                }
                return Err(Error::field(
                    "custom",
                    "This order reference was already used for another payment.",
                ));
            }
            let key = format!("desk_{}", uuid::Uuid::new_v4().simple());
            let id = ledger::insert_unconfirmed(tx, &pid, &key, &request, now_ms())?;
            Ok(ledger::Draft {
                id,
                idempotency_key: key,
                request,
                status: LedgerStatus::Unconfirmed,
            })
        })
        .await
}

/// Sends a staged payment with its stored key and records the outcome. Transient
/// failures leave it unconfirmed for a retry; a 422 discards it (nothing was created)
/// and its field messages come back under the form's field names.
pub async fn send(
    store: &Store,
    client: &Client,
    profile_id: &str,
    draft: ledger::Draft,
) -> Result<PaymentLinkCreated> {
    let id = draft.id;
    match client
        .create_payment_with_key(&draft.request, draft.idempotency_key.clone())
        .await
    {
        Ok(created) => confirm(store, profile_id, id, created).await,
        Err(ito_api::Error::Validation { failure, fields }) => {
            if draft.status == LedgerStatus::Unconfirmed {
                store
                    .write(move |tx| ledger::discard_unconfirmed(tx, id))
                    .await?;
            }
            let mut mapped = FieldErrors::new();
            for (wire, messages) in fields {
                mapped
                    .entry(form_field(&wire).to_owned())
                    .or_default()
                    .extend(messages);
            }
            Err(Error::Validation {
                message: failure.message,
                fields: mapped,
            })
        }
        Err(e) => {
            let text = e.message();
            store
                .write(move |tx| ledger::record_failure(tx, id, &text, now_ms()))
                .await?;
            Err(e.into())
        }
    }
}

async fn confirm(
    store: &Store,
    profile_id: &str,
    id: i64,
    created: PaymentCreated,
) -> Result<PaymentLinkCreated> {
    let pid = profile_id.to_owned();
    let url = created.checkout_url.to_string();
    let (payment_id, replayed, u) = (
        created.payment_id.to_string(),
        created.replayed,
        url.clone(),
    );
    let payment = store
        .write(move |tx| {
            ledger::confirm(tx, id, &payment_id, &u, replayed, now_ms())?;
            ledger::get(tx, &pid, id)
        })
        .await?;
    Ok(PaymentLinkCreated {
        payment,
        checkout_url: url,
        replayed: created.replayed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PaymentLinkInput {
        PaymentLinkInput {
            amount: "1200".into(),
            currency: Currency::Jpy,
            details: Some("抹茶セット".into()),
            customer_email: "buyer@example.com".into(),
            custom: "ORD-1".into(),
            success_url: None,
            cancel_url: Some("https://shop.example/cancel".into()),
            webhook_url: None,
            confirm_active: false,
        }
    }

    fn defaults() -> PaymentDefaults {
        PaymentDefaults {
            success_url: Some("https://shop.example/thanks".into()),
            ..PaymentDefaults::default()
        }
    }

    fn fields_of(r: Result<NewPayment>) -> FieldErrors {
        match r {
            Err(Error::Validation { fields, .. }) => fields,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_the_listener_fill_absent_urls() {
        let p = check(
            &input(),
            &defaults(),
            Some("http://127.0.0.1:4/webhooks/p"),
            false,
        )
        .unwrap();
        assert_eq!(p.success_url.as_str(), "https://shop.example/thanks");
        assert_eq!(p.web_hook.as_str(), "http://127.0.0.1:4/webhooks/p");
        assert_eq!(p.amount.to_decimal_string(), "1200");
    }

    #[test]
    fn every_rule_of_the_gateway_is_checked_at_once() {
        let bad = PaymentLinkInput {
            amount: "1200.5".into(),
            details: Some("x".repeat(256)),
            customer_email: "not-an-address".into(),
            custom: " ".into(),
            cancel_url: Some("ftp://shop.example/".into()),
            webhook_url: Some("/relative".into()),
            ..input()
        };
        let f = fields_of(check(&bad, &PaymentDefaults::default(), None, true));
        for field in [
            "amount",
            "details",
            "customerEmail",
            "custom",
            "cancelUrl",
            "successUrl",
            "webhookUrl",
            "confirmActive",
        ] {
            assert!(f.contains_key(field), "{field} missing from {f:?}");
        }
        let usd = PaymentLinkInput {
            amount: "280.001".into(),
            currency: Currency::Usd,
            ..input()
        };
        let f = fields_of(check(&usd, &defaults(), Some("http://127.0.0.1:1/"), false));
        assert_eq!(f["amount"], ["USD amounts have at most 2 decimal places."]);
        let zero = PaymentLinkInput {
            amount: "0".into(),
            ..input()
        };
        assert!(
            fields_of(check(
                &zero,
                &defaults(),
                Some("http://127.0.0.1:1/"),
                false
            ))
            .contains_key("amount")
        );
    }

    #[test]
    fn wire_fields_map_to_form_fields() {
        assert_eq!(form_field("customer_email"), "customerEmail");
        assert_eq!(form_field("web_hook"), "webhookUrl");
        assert_eq!(form_field("amount"), "amount");
    }
}
