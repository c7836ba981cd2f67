//! One logical call: authentication, signing, timeouts, retries, error mapping and
//! the observer. Every route goes through [`Client::execute`].

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::client::Client;
use crate::error::{Error, Failure, FieldErrors, Result};
use crate::oauth::UserSession;
use crate::observer::{AuthKind, RequestRecord};
use crate::payments::PaymentStatus;
use crate::secret::Secret;

/// How a call proves who it is.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    None,
    AccessKey,
    /// Access key, and an HMAC signature of the body, fresh for every attempt.
    Signed,
    MerchantToken,
    User(&'a UserSession),
}

pub(crate) enum Body {
    Empty,
    Json(Vec<u8>),
    Form(Vec<u8>),
}

pub(crate) struct Call<'a> {
    method: Method,
    url: Url,
    body: Body,
    auth: Auth<'a>,
    idempotency_key: Option<String>,
    repeatable: bool,
}

/// What one attempt came to.
struct Attempt {
    credential: Secret,
    result: Result<Answer>,
    /// No connection was made, so nothing reached the gateway.
    unsent: bool,
}

/// An answer with a 2xx status.
pub(crate) struct Answer {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The route that answered, to say where an unreadable answer came from.
    pub path: String,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            // A proxy's or a maintenance page's HTML says more by its type than by
            // where the JSON parser gave up.
            match header_str(&self.headers, "content-type").filter(|t| !t.contains("json")) {
                Some(other) => {
                    Error::Decode(format!("{}: the answer is {other}, not JSON", self.path))
                }
                None => Error::Decode(format!("{}: {e}", self.path)),
            }
        })
    }
}

/// The largest answer read. The gateway's largest is a page of 100 rows, well under
/// 1 MiB; a bigger one is a broken or hostile server, and reading it whole would hold
/// its size in memory.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

fn too_large(path: &str) -> Error {
    Error::Decode(format!(
        "{path}: the answer is larger than {MAX_ANSWER_BYTES} bytes, more than any the gateway sends"
    ))
}

/// Reads a body up to [`MAX_ANSWER_BYTES`], refusing a longer one without reading it
/// when its length is announced, and as soon as it goes past the limit otherwise.
async fn read_limited(res: &mut reqwest::Response, path: &str) -> Result<Vec<u8>> {
    let announced = res.content_length().unwrap_or(0);
    if announced > MAX_ANSWER_BYTES as u64 {
        return Err(too_large(path));
    }
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = res.chunk().await.map_err(|e| error_from_reqwest(&e))? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_large(path));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl<'a> Call<'a> {
    pub fn new(client: &Client, method: Method, segments: &[&str], auth: Auth<'a>) -> Self {
        let mut url = client.inner.env.base_url().clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        Self {
            method,
            url,
            body: Body::Empty,
            auth,
            idempotency_key: None,
            repeatable: false,
        }
    }

    pub fn query(mut self, name: &str, value: Option<impl AsRef<str>>) -> Self {
        if let Some(v) = value {
            self.url.query_pairs_mut().append_pair(name, v.as_ref());
        }
        self
    }

    pub fn json(mut self, body: &impl serde::Serialize) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::InvalidInput(format!("cannot encode the request: {e}")))?;
        self.body = Body::Json(bytes);
        Ok(self)
    }

    pub fn json_bytes(mut self, bytes: Vec<u8>) -> Self {
        self.body = Body::Json(bytes);
        self
    }

    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.extend_pairs(pairs);
        self.body = Body::Form(s.finish().into_bytes());
        self
    }

    pub fn idempotency_key(mut self, key: String) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// Marks a POST whose repetition has no further effect (a client-credentials
    /// token request).
    pub fn repeatable(mut self) -> Self {
        self.repeatable = true;
        self
    }

    /// Repeating this call cannot do anything twice.
    fn retry_safe(&self) -> bool {
        self.repeatable
            || matches!(self.method, Method::GET | Method::PUT | Method::DELETE)
            || self.idempotency_key.is_some()
    }

    fn auth_kind(&self) -> AuthKind {
        match self.auth {
            Auth::None => AuthKind::None,
            Auth::AccessKey => AuthKind::AccessKey,
            Auth::Signed => AuthKind::Signed,
            Auth::MerchantToken => AuthKind::MerchantToken,
            Auth::User(_) => AuthKind::UserToken,
        }
    }
}

/// The gateway's error envelope, or an RFC 6749 error.
#[derive(Deserialize, Default)]
struct ErrorBody {
    message: Option<String>,
    errors: Option<FieldErrors>,
    payment_status: Option<PaymentStatus>,
    error: Option<String>,
    error_description: Option<String>,
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the gateway).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_str(headers, "retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn error_from_answer(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
) -> Error {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let message = parsed
        .message
        .or(parsed.error_description)
        .or_else(|| parsed.error.clone())
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("Unexpected answer")
                .to_owned()
        });
    let failure = Failure {
        status: status.as_u16(),
        message,
        code: parsed.error,
        request_id: Some(request_id.to_owned()),
        payment_status: parsed.payment_status,
    };
    Error::from_answer(
        status.as_u16(),
        failure,
        parsed.errors.unwrap_or_default(),
        retry_after(headers),
    )
}

fn error_from_reqwest(e: &reqwest::Error) -> Error {
    // The chain names the actual cause (refused, reset, closed), which is what helps.
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if e.is_timeout() {
        Error::Timeout(text)
    } else {
        Error::Network(text)
    }
}

impl Client {
    /// Sends `call`, retrying where safe, and returns a 2xx answer or the mapped error.
    pub(crate) async fn execute(&self, call: Call<'_>) -> Result<Answer> {
        let policy = self.inner.retry;
        let retry_safe = call.retry_safe();
        let mut attempt = 0u32;
        let mut reauthorized = false;
        loop {
            attempt += 1;
            let Attempt {
                credential,
                result,
                unsent,
            } = self.attempt(&call, attempt).await?;
            let err = match result {
                Ok(answer) => return Ok(answer),
                Err(e) => e,
            };
            // An expired or revoked token: get a new one and try once more.
            if matches!(err, Error::Unauthorized(_)) && !reauthorized {
                let renewed = match call.auth {
                    Auth::MerchantToken => {
                        self.inner.merchant_token.invalidate(&credential).await;
                        true
                    }
                    Auth::User(session) => {
                        session.refresh_after_rejection(self, &credential).await?
                    }
                    // The gateway refused before doing anything. The usual cause is a
                    // (timestamp, signature) pair an earlier run of the app used for the
                    // same body in this second; the next attempt signs with a later one.
                    Auth::Signed => true,
                    _ => false,
                };
                if renewed {
                    reauthorized = true;
                    attempt -= 1;
                    continue;
                }
            }
            // A connection that was never made sent nothing, so even a
            // non-idempotent call may go again.
            let may_retry =
                (retry_safe || unsent) && err.is_transient() && attempt < policy.max_attempts;
            if !may_retry {
                return Err(err);
            }
            let wait = match &err {
                Error::RateLimited {
                    retry_after: Some(d),
                    ..
                } => {
                    if *d > policy.max_retry_after {
                        return Err(err);
                    }
                    *d
                }
                _ => policy.backoff(attempt),
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends `call` and decodes a 2xx JSON answer.
    pub(crate) async fn fetch<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T> {
        self.execute(call).await?.json()
    }

    /// One attempt. The outer `Result` is for failures that end the call at once
    /// (no token could be had); the inner one is the attempt's outcome.
    async fn attempt(&self, call: &Call<'_>, attempt: u32) -> Result<Attempt> {
        let creds = &self.inner.credentials;
        let credential = match call.auth {
            Auth::None => Secret::default(),
            Auth::AccessKey | Auth::Signed => creds.access_key.clone(),
            Auth::MerchantToken => self.merchant_token().await?,
            Auth::User(session) => session.access_token(self).await?,
        };
        let request_id = format!("req_{}", uuid::Uuid::new_v4().simple());
        let mut req = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone())
            .header(header::ACCEPT, "application/json")
            .header("x-request-id", &request_id);
        if !credential.is_empty() {
            req = req.bearer_auth(credential.expose());
        }
        if let Some(key) = &call.idempotency_key {
            req = req.header("idempotency-key", key);
        }
        let body: &[u8] = match &call.body {
            Body::Empty => &[],
            Body::Json(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                b
            }
            Body::Form(b) => {
                req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                b
            }
        };
        if let Auth::Signed = call.auth {
            // Signed afresh for every attempt, over the exact bytes sent.
            let (timestamp, signature) =
                self.inner
                    .signatures
                    .sign_fresh(&creds.secret_key, Utc::now().timestamp(), body);
            req = req.header("x-timestamp", timestamp).header(
                "x-signature",
                HeaderValue::from_str(&signature)
                    .map_err(|e| Error::InvalidInput(e.to_string()))?,
            );
        }
        if !body.is_empty() {
            req = req.body(body.to_vec());
        }
        let started_at = Utc::now();
        let started = Instant::now();
        let mut unsent = false;
        let path = call.url.path();
        let outcome = match req.send().await {
            Ok(mut res) => {
                let status = res.status();
                let headers = res.headers().clone();
                let body = read_limited(&mut res, path).await;
                Ok((status, headers, body))
            }
            Err(e) => {
                unsent = e.is_connect();
                Err(error_from_reqwest(&e))
            }
        };
        let latency = started.elapsed();
        let (status, answer_id, replayed, result) = match outcome {
            Ok((status, headers, body)) => {
                let answer_id = header_str(&headers, "x-request-id")
                    .unwrap_or(&request_id)
                    .to_owned();
                let replayed = header_str(&headers, "idempotent-replayed") == Some("true");
                let result = match body {
                    Ok(body) if status.is_success() => Ok(Answer {
                        headers,
                        body,
                        path: path.to_owned(),
                    }),
                    Ok(body) => Err(error_from_answer(status, &headers, &body, &answer_id)),
                    Err(e) => Err(e),
                };
                (Some(status.as_u16()), answer_id, replayed, result)
            }
            Err(e) => (None, request_id, false, Err(e)),
        };
        if let Some(observer) = &self.inner.observer {
            observer.observe(&RequestRecord {
                started_at,
                method: call.method.to_string(),
                path: path.to_owned(),
                status,
                latency,
                request_id: answer_id,
                attempt,
                auth: call.auth_kind(),
                credential: (!credential.is_empty()).then(|| credential.masked()),
                idempotency_key: call.idempotency_key.clone(),
                replayed,
                error: result.as_ref().err().map(Error::kind),
            });
        }
        Ok(Attempt {
            credential,
            result,
            unsent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_answers_are_decode_errors() {
        let answer = Answer {
            headers: HeaderMap::new(),
            body: b"<html>maintenance</html>".to_vec(),
            path: "/payment/process".into(),
        };
        let err = answer.json::<serde_json::Value>().unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Decode);
        assert!(err.to_string().contains("/payment/process"), "{err}");
    }

    #[test]
    fn maps_envelopes_and_oauth_errors() {
        let h = HeaderMap::new();
        let e = error_from_answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            &h,
            br#"{"code":422,"status":"error","message":"The given data was invalid.","errors":{"amount":["The amount must be greater than 0."]}}"#,
            "req_1",
        );
        assert_eq!(e.kind(), crate::ErrorKind::Validation);
        assert_eq!(
            e.fields().unwrap()["amount"],
            ["The amount must be greater than 0."]
        );
        assert_eq!(e.request_id(), Some("req_1"));
        let e = error_from_answer(
            StatusCode::BAD_REQUEST,
            &h,
            br#"{"error":"invalid_grant","error_description":"The code was already used."}"#,
            "req_2",
        );
        assert_eq!(e.kind(), crate::ErrorKind::BadRequest);
        assert_eq!(e.failure().unwrap().code.as_deref(), Some("invalid_grant"));
        assert_eq!(e.message(), "The code was already used.");
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        let e = error_from_answer(StatusCode::TOO_MANY_REQUESTS, &h, b"<html>", "req_3");
        assert!(
            matches!(e, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(2))
        );
        assert_eq!(e.message(), "Too Many Requests");
        let e = error_from_answer(
            StatusCode::CONFLICT,
            &HeaderMap::new(),
            br#"{"message":"no","payment_status":"expired"}"#,
            "r",
        );
        assert_eq!(
            e.failure().unwrap().payment_status,
            Some(PaymentStatus::Expired)
        );
    }
}
