//! Request bodies as flat field maps, whatever their encoding: JSON objects,
//! `application/x-www-form-urlencoded` and `multipart/form-data`.
//!
//! JSON numbers keep their source text so amounts never pass through a float.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, header};
use serde_json::value::RawValue;

use crate::error::{Error, FieldErrors, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    /// A JSON number, as written.
    Number(String),
    /// A JSON value of another type (bool, array, object).
    Other(&'static str),
}

#[derive(Debug, Default)]
pub struct Fields {
    map: BTreeMap<String, Value>,
    /// Fields given more than once in a form body.
    repeated: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Form,
    Multipart,
}

/// The body's encoding from `Content-Type`; JSON when absent, as the gateway's examples send.
pub fn encoding(headers: &HeaderMap) -> Result<Encoding> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_ascii_lowercase();
    let mime = ct.split(';').next().unwrap_or("").trim();
    match mime {
        "application/json" | "" => Ok(Encoding::Json),
        "application/x-www-form-urlencoded" => Ok(Encoding::Form),
        "multipart/form-data" => Ok(Encoding::Multipart),
        other => Err(Error::BadRequest(format!(
            "Unsupported Content-Type {other:?}: send application/json or application/x-www-form-urlencoded."
        ))),
    }
}

impl Fields {
    pub fn from_json(body: &[u8]) -> Result<Self> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let raw: BTreeMap<String, &RawValue> = serde_json::from_slice(body)
            .map_err(|e| Error::BadRequest(format!("The body must be a JSON object: {e}.")))?;
        let mut map = BTreeMap::new();
        for (k, v) in raw {
            let text = v.get();
            let value = match text.as_bytes().first() {
                Some(b'"') => Value::Text(
                    serde_json::from_str(text)
                        .map_err(|e| Error::BadRequest(format!("{k}: {e}")))?,
                ),
                Some(b'-' | b'0'..=b'9') => Value::Number(text.to_owned()),
                Some(b'n') => continue,
                Some(b't' | b'f') => Value::Other("boolean"),
                Some(b'[') => Value::Other("array"),
                _ => Value::Other("object"),
            };
            map.insert(k, value);
        }
        Ok(Self {
            map,
            repeated: Vec::new(),
        })
    }

    pub fn from_form(body: &[u8]) -> Self {
        Self::from_pairs(
            form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())),
        )
    }

    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            if f.map.insert(k.clone(), Value::Text(v)).is_some() && !f.repeated.contains(&k) {
                f.repeated.push(k);
            }
        }
        f
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    /// A string field: absent (or blank) is `None`; a non-string is an error.
    pub fn text(&self, name: &str, errors: &mut FieldErrors) -> Option<String> {
        if self.repeated.iter().any(|r| r == name) {
            push(
                errors,
                name,
                format!("The {name} field was given more than once."),
            );
            return None;
        }
        match self.map.get(name)? {
            Value::Text(s) if s.trim().is_empty() => None,
            Value::Text(s) => Some(s.clone()),
            Value::Number(n) => Some(n.clone()),
            Value::Other(kind) => {
                push(
                    errors,
                    name,
                    format!("The {name} field must be a string, not a {kind}."),
                );
                None
            }
        }
    }

    /// Like [`Fields::text`], recording "required" when absent.
    pub fn required(&self, name: &str, errors: &mut FieldErrors) -> Option<String> {
        let had_error = errors.contains_key(name);
        let v = self.text(name, errors);
        if v.is_none() && !had_error && !errors.contains_key(name) {
            push(errors, name, format!("The {name} field is required."));
        }
        v
    }
}

pub fn push(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors
        .entry(field.to_owned())
        .or_default()
        .push(message.into());
}

impl Fields {
    /// Parses `body` by its declared encoding.
    pub async fn from_body(headers: &HeaderMap, body: axum::body::Bytes) -> Result<Self> {
        match encoding(headers)? {
            Encoding::Json => Self::from_json(&body),
            Encoding::Form => Ok(Self::from_form(&body)),
            Encoding::Multipart => Self::from_multipart(headers, body).await,
        }
    }

    async fn from_multipart(headers: &HeaderMap, body: axum::body::Bytes) -> Result<Self> {
        use axum::extract::{FromRequest, Multipart};
        let bad = |e: &dyn std::fmt::Display| {
            Error::BadRequest(format!("Malformed multipart body: {e}."))
        };
        let mut req = axum::http::Request::new(axum::body::Body::from(body));
        if let Some(ct) = headers.get(header::CONTENT_TYPE) {
            req.headers_mut().insert(header::CONTENT_TYPE, ct.clone());
        }
        let mut multipart = Multipart::from_request(req, &())
            .await
            .map_err(|e| bad(&e))?;
        let mut pairs = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(|e| bad(&e))? {
            let name = field.name().unwrap_or_default().to_owned();
            let text = field.text().await.map_err(|e| bad(&e))?;
            pairs.push((name, text));
        }
        Ok(Self::from_pairs(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn json_numbers_keep_their_text() {
        let f = Fields::from_json(br#"{"amount": 280.00, "custom": "A", "x": null, "b": true}"#)
            .unwrap();
        assert_eq!(f.get("amount"), Some(&Value::Number("280.00".into())));
        assert_eq!(f.get("custom"), Some(&Value::Text("A".into())));
        assert_eq!(f.get("x"), None);
        let mut errors = FieldErrors::new();
        assert_eq!(f.text("b", &mut errors), None);
        assert!(errors.contains_key("b"));
    }

    #[test]
    fn repeated_form_fields_are_refused() {
        let f = Fields::from_form(b"a=1&a=2&b=3");
        let mut errors = FieldErrors::new();
        assert_eq!(f.required("a", &mut errors), None);
        assert_eq!(
            errors["a"],
            vec!["The a field was given more than once.".to_owned()]
        );
        assert_eq!(f.required("b", &mut errors).as_deref(), Some("3"));
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_cleanly(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Fields::from_json(&body);
            let _ = Fields::from_form(&body);
        }
    }
}
