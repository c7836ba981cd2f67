//! The gateway's KYC schema as the form draws it: every label in both languages and
//! a closed set of input kinds. Nothing about the fields themselves is known here, so
//! a field the gateway adds appears in the form without a change to the app.

use ito_api::kyc::{KycField, KycSchema, Label};
use serde::Serialize;
use specta::Type;

/// A text in both of the app's languages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
pub struct LocalizedText {
    pub en: String,
    pub ja: String,
}

impl From<&Label> for LocalizedText {
    fn from(l: &Label) -> Self {
        Self {
            en: l.text("en").to_owned(),
            ja: l.text("ja").to_owned(),
        }
    }
}

/// How a field is entered. A kind the app does not know is entered as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Email,
    /// ISO 8601 `yyyy-mm-dd`.
    Date,
    /// One of `options`.
    Select,
    /// ISO 3166-1 alpha-2.
    Country,
    /// E.164.
    Phone,
}

impl FieldKind {
    fn parse(kind: &str) -> Self {
        match kind {
            "email" => Self::Email,
            "date" => Self::Date,
            "select" => Self::Select,
            "country" => Self::Country,
            "tel" | "phone" => Self::Phone,
            _ => Self::Text,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
pub struct FieldOption {
    pub value: String,
    pub label: LocalizedText,
}

/// One input, with the checks the gateway publishes for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct FormField {
    pub id: String,
    pub label: LocalizedText,
    pub kind: FieldKind,
    pub required: bool,
    /// In characters.
    pub max_length: Option<u32>,
    /// A regular expression the whole value must match (ECMAScript syntax).
    pub pattern: Option<String>,
    /// For `select`; empty otherwise.
    pub options: Vec<FieldOption>,
}

impl From<&KycField> for FormField {
    fn from(f: &KycField) -> Self {
        Self {
            id: f.id.clone(),
            label: (&f.label).into(),
            kind: FieldKind::parse(&f.kind),
            required: f.required,
            max_length: f.max_length,
            pattern: f.pattern.clone(),
            options: f
                .options
                .iter()
                .flatten()
                .map(|o| FieldOption {
                    value: o.value.clone(),
                    label: (&o.label).into(),
                })
                .collect(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
pub struct FormSection {
    pub id: String,
    pub title: LocalizedText,
    pub fields: Vec<FormField>,
}

pub fn sections(schema: &KycSchema) -> Vec<FormSection> {
    schema
        .sections
        .iter()
        .map(|s| FormSection {
            id: s.id.clone(),
            title: (&s.title).into(),
            fields: s.fields.iter().map(FormField::from).collect(),
        })
        .collect()
}

pub fn has_field(schema: &KycSchema, id: &str) -> bool {
    schema
        .sections
        .iter()
        .any(|s| s.fields.iter().any(|f| f.id == id))
}

/// Required fields without a value, in the schema's order.
pub fn missing(schema: &KycSchema, values: &ito_api::kyc::KycValues) -> Vec<String> {
    schema
        .sections
        .iter()
        .flat_map(|s| &s.fields)
        .filter(|f| f.required && values.get(&f.id).is_none_or(|v| v.trim().is_empty()))
        .map(|f| f.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_split_and_unknown_kinds_become_text() {
        let schema: KycSchema = serde_json::from_str(
            r#"{"sections":[{"id":"a","title":"本人情報 / Personal details","fields":[
                {"id":"legal_name","label":"氏名 / Legal name","type":"text","required":true,"max_length":100},
                {"id":"pet","label":{"en":"Pet","ja":"ペット"},"type":"hologram","required":false},
                {"id":"phone","label":"電話 / Phone","type":"tel","required":true}
            ]}]}"#,
        )
        .unwrap();
        let s = sections(&schema);
        assert_eq!(s[0].title.ja, "本人情報");
        assert_eq!(s[0].title.en, "Personal details");
        assert_eq!(s[0].fields[1].kind, FieldKind::Text);
        assert_eq!(s[0].fields[1].label.ja, "ペット");
        assert_eq!(s[0].fields[2].kind, FieldKind::Phone);
        let values = [("legal_name".to_owned(), "  ".to_owned())].into();
        assert_eq!(missing(&schema, &values), ["legal_name", "phone"]);
        assert!(has_field(&schema, "pet") && !has_field(&schema, "cat"));
    }
}
