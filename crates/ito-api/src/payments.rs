//! Payments: `POST /payment/process` (signed) and `POST /payment/check-validity`.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use url::Url;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::ids::{PaymentId, TransactionId};
use crate::money::Money;
use crate::transport::{Auth, Call};

/// A payment's state at the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    Pending,
    Paid,
    Cancelled,
    Expired,
}

/// A payment to initiate. `custom` is your own reference (an order number): make it
/// unique, since two identical requests signed in the same second look like a replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPayment {
    pub custom: String,
    /// Amount and currency; the currency is sent as `currency_code`.
    pub amount: Money,
    /// Purchase details, at most 255 characters.
    pub details: Option<String>,
    /// Where the gateway posts the signed payment notification.
    pub web_hook: Url,
    pub cancel_url: Url,
    pub success_url: Url,
    pub customer_email: String,
}

/// The JSON the gateway documents, in its order, with the amount as a JSON number
/// written at the currency's scale (`280.00`).
#[derive(Serialize)]
struct Wire<'a> {
    custom: &'a str,
    currency_code: &'static str,
    amount: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a str>,
    web_hook: &'a str,
    cancel_url: &'a str,
    success_url: &'a str,
    customer_email: &'a str,
}

impl NewPayment {
    /// The exact bytes sent and signed.
    pub fn to_body(&self) -> Result<Vec<u8>> {
        let amount = RawValue::from_string(self.amount.to_decimal_string())
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        serde_json::to_vec(&Wire {
            custom: &self.custom,
            currency_code: self.amount.currency().code(),
            amount: &amount,
            details: self.details.as_deref(),
            web_hook: self.web_hook.as_str(),
            cancel_url: self.cancel_url.as_str(),
            success_url: self.success_url.as_str(),
            customer_email: &self.customer_email,
        })
        .map_err(|e| Error::InvalidInput(e.to_string()))
    }
}

/// A payment the gateway accepted: send the customer to `checkout_url`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentCreated {
    pub payment_id: PaymentId,
    pub checkout_url: Url,
    pub message: String,
    /// The key that identifies this creation; retries reuse it.
    pub idempotency_key: String,
    /// The gateway answered from its idempotency store: this payment existed already.
    pub replayed: bool,
}

#[derive(Deserialize)]
struct CreatedWire {
    payment_id: PaymentId,
    url: Url,
    #[serde(default)]
    message: String,
}

/// The answer of check-validity for a payment of this merchant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "validity", rename_all = "snake_case")]
pub enum Validity {
    /// Paid: the transaction is valid.
    Valid {
        payment_id: PaymentId,
        transaction: Option<TransactionId>,
    },
    /// Exists but is not paid (pending, cancelled or expired).
    NotPaid { payment_status: PaymentStatus },
}

#[derive(Deserialize)]
struct ValidWire {
    payment_id: Option<PaymentId>,
    transaction: Option<TransactionId>,
}

impl Client {
    /// Initiates a payment with a fresh idempotency key; retries reuse the key and
    /// sign again, so the payment is created once however often the call is retried.
    pub async fn create_payment(&self, payment: &NewPayment) -> Result<PaymentCreated> {
        let key = format!("idem_{}", uuid::Uuid::new_v4().simple());
        self.create_payment_with_key(payment, key).await
    }

    /// Like [`Client::create_payment`], with your own idempotency key: store it with
    /// the order and the payment is created once even across restarts of your app.
    pub async fn create_payment_with_key(
        &self,
        payment: &NewPayment,
        idempotency_key: String,
    ) -> Result<PaymentCreated> {
        let call = Call::new(self, Method::POST, &["payment", "process"], Auth::Signed)
            .json_bytes(payment.to_body()?)
            .idempotency_key(idempotency_key.clone());
        let answer = self.execute(call).await?;
        let replayed = answer
            .headers
            .get("idempotent-replayed")
            .is_some_and(|v| v.as_bytes() == b"true");
        let w: CreatedWire = answer.json()?;
        Ok(PaymentCreated {
            payment_id: w.payment_id,
            checkout_url: w.url,
            message: w.message,
            idempotency_key,
            replayed,
        })
    }

    /// Asks whether a payment is paid. An unknown id (or another merchant's) is
    /// [`Error::NotFound`].
    pub async fn check_validity(&self, payment_id: &PaymentId) -> Result<Validity> {
        let call = Call::new(
            self,
            Method::POST,
            &["payment", "check-validity"],
            Auth::AccessKey,
        )
        .json(&serde_json::json!({ "payment_id": payment_id }))?
        // A read, however it is spelled: safe to repeat.
        .repeatable();
        match self.fetch::<ValidWire>(call).await {
            Ok(w) => Ok(Validity::Valid {
                payment_id: w.payment_id.unwrap_or_else(|| payment_id.clone()),
                transaction: w.transaction,
            }),
            Err(Error::Conflict(f)) => match f.payment_status {
                Some(payment_status) => Ok(Validity::NotPaid { payment_status }),
                None => Err(Error::Conflict(f)),
            },
            Err(e) => Err(e),
        }
    }
}

/// The gateway's check of `customer_email`, for validating a form before sending: one `@`, a sane local part, a dotted domain.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok && email.len() <= 254
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::secret::Secret;
    use crate::signing;

    #[test]
    fn emails_as_the_gateway_checks_them() {
        for ok in ["buyer@example.com", "first.last+tag@example.co.jp"] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "", "a@b", "@b.co", "a@.co", "a b@c.co", "a@-b.co", ".a@b.co",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    /// The seed's PHP example, sent by this client.
    fn seed_example() -> NewPayment {
        NewPayment {
            custom: "DFU80XZIKS".into(),
            amount: Money::parse("280.00", Currency::Usd).unwrap(),
            details: Some("Digital Product".into()),
            web_hook: "https://yoursite.com/web_hook.php".parse().unwrap(),
            cancel_url: "https://yoursite.com/cancel_url.php".parse().unwrap(),
            success_url: "https://yoursite.com/success_url.php".parse().unwrap(),
            customer_email: "customer@yoursite.com".into(),
        }
    }

    #[test]
    fn seed_example_bytes_and_signature_are_pinned() {
        let body = seed_example().to_body().unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"custom":"DFU80XZIKS","currency_code":"USD","amount":280.00,"details":"Digital Product","web_hook":"https://yoursite.com/web_hook.php","cancel_url":"https://yoursite.com/cancel_url.php","success_url":"https://yoursite.com/success_url.php","customer_email":"customer@yoursite.com"}"#
        );
        // The seed's own example secret. Computed independently with
        // printf '%s' "1653177600.$BODY" | openssl dgst -sha256 -hmac 'merchant側で事前共有したシークレット'
        let secret = Secret::new("merchant側で事前共有したシークレット");
        assert_eq!(
            signing::sign(&secret, 1_653_177_600, &body),
            "8d393569feb0d604f20c84c1f0ad0a517cde378ca57ab6eb55884b30929a7621"
        );
    }

    #[test]
    fn seed_webhook_signature_is_pinned() {
        // The seed's webhook body; the same openssl command gives this value.
        let body = br#"{"code":200,"status":"ok","payment_id":"AIYmQIOAz0GlmsjfhgiOeu304","transaction":"AIYmQIOAz0G","amount":100.00,"charge":5.00,"currency":"USD","custom":"BVSUZ545XCS","date":"22-05-2022"}"#;
        let secret = Secret::new("merchant側で事前共有したシークレット");
        assert!(signing::verify(
            &secret,
            1_653_177_600,
            body,
            "sha256=80cbf2d745c5e8a0513fe8f520cdab6e2f19a8e5c591b24e354d936460d0d819"
        ));
    }

    #[test]
    fn details_are_left_out_when_absent() {
        let mut p = seed_example();
        p.details = None;
        p.amount = Money::parse("1200", Currency::Jpy).unwrap();
        let body = String::from_utf8(p.to_body().unwrap()).unwrap();
        assert!(
            body.contains(r#""currency_code":"JPY","amount":1200,"web_hook""#),
            "{body}"
        );
    }
}
