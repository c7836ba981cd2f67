//! KYC: the form's schema, its values, and its review status. The same shapes are
//! used by the merchant (for its users) and by a signed-in user.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Field id → value, as the form holds it (`legal_name`, `postal_code`, …).
pub type KycValues = BTreeMap<String, String>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KycStatus {
    NotStarted,
    Draft,
    /// Locked while under review.
    Submitted,
    /// Locked for good.
    Approved,
    /// Carries a reason; the form is editable again.
    Rejected,
}

impl KycStatus {
    /// Every status, in the order a user goes through them.
    pub const ALL: [KycStatus; 5] = [
        Self::NotStarted,
        Self::Draft,
        Self::Submitted,
        Self::Approved,
        Self::Rejected,
    ];

    /// Whether drafts and replacements are refused in this status.
    pub fn is_locked(self) -> bool {
        matches!(self, Self::Submitted | Self::Approved)
    }
}

/// A title or label, either one text or one per language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Label {
    Plain(String),
    Localized { en: String, ja: String },
}

impl Label {
    /// The text for a language tag (`"ja"`; anything else gets English). A plain
    /// label in the gateway's bilingual form `日本語 / English` is split at the slash.
    pub fn text(&self, lang: &str) -> &str {
        match self {
            Self::Plain(s) => match s.split_once(" / ") {
                Some((ja, _)) if lang.starts_with("ja") => ja,
                Some((_, en)) => en,
                None => s,
            },
            Self::Localized { ja, .. } if lang.starts_with("ja") => ja,
            Self::Localized { en, .. } => en,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KycOption {
    pub value: String,
    pub label: Label,
}

/// One input of the form, with what the gateway checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KycField {
    pub id: String,
    pub label: Label,
    /// `text`, `date`, `select`, `tel`, ….
    #[serde(rename = "type")]
    pub kind: String,
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<KycOption>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KycSection {
    pub id: String,
    pub title: Label,
    pub fields: Vec<KycField>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KycSchema {
    pub sections: Vec<KycSection>,
}

/// The KYC state: schema, current values, what is still missing, and the status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kyc {
    pub status: KycStatus,
    pub schema: KycSchema,
    pub values: KycValues,
    /// Required field ids still empty.
    pub missing: Vec<String>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// When it was last submitted for review.
    #[serde(default)]
    pub submitted_at: Option<DateTime<Utc>>,
    /// When a review last approved or rejected it.
    #[serde(default)]
    pub reviewed_at: Option<DateTime<Utc>>,
    /// Why a review rejected it.
    #[serde(default)]
    pub rejection_reason: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct ValuesBody<'a> {
    pub values: &'a KycValues,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_in_either_language() {
        let plain: Label = serde_json::from_str(r#""氏名 / Legal name""#).unwrap();
        assert_eq!(plain.text("ja-JP"), "氏名");
        assert_eq!(plain.text("en"), "Legal name");
        let one = Label::Plain("Name".into());
        assert_eq!(one.text("ja"), "Name");
        let both: Label = serde_json::from_str(r#"{"en":"Name","ja":"氏名"}"#).unwrap();
        assert_eq!(both.text("ja"), "氏名");
        assert!(KycStatus::Submitted.is_locked() && !KycStatus::Rejected.is_locked());
    }
}
