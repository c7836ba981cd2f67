//! Know-your-customer: the form schema, per-field validators and the state machine
//! `not_started → draft → submitted → approved | rejected (→ draft …)`.
//!
//! A submitted or approved form is locked; a rejected one carries a reason and can be
//! edited and submitted again. Reviews come from the control API or, when
//! configured, from the auto-review worker.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use crate::error::{Error, FieldErrors, Result};
use crate::fields::{self, Fields};
use crate::ids;
use crate::server::AppState;
use crate::users::Subject;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sandbox/users/{user}/kyc/approve", post(approve_route))
        .route("/sandbox/users/{user}/kyc/reject", post(reject_route))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    NotStarted,
    Draft,
    Submitted,
    Approved,
    Rejected,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::NotStarted,
        Status::Draft,
        Status::Submitted,
        Status::Approved,
        Status::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::Internal(format!("unknown KYC status {s:?}")))
    }

    /// Why the form cannot be changed, when it cannot.
    fn lock_reason(self) -> Option<&'static str> {
        match self {
            Self::Submitted => Some(
                "The KYC form has been submitted and is locked while it is reviewed; it cannot be changed or submitted again.",
            ),
            Self::Approved => Some("The KYC form has been approved and is locked."),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Date,
    Tel,
    /// ISO 3166-1 alpha-2.
    Country,
    Select(&'static [(&'static str, &'static str)]),
}

#[derive(Debug)]
struct FieldDef {
    id: &'static str,
    label: &'static str,
    kind: Kind,
    required: bool,
    max_length: Option<usize>,
    pattern: Option<&'static str>,
}

const fn field(id: &'static str, label: &'static str, kind: Kind, max: usize) -> FieldDef {
    FieldDef {
        id,
        label,
        kind,
        required: true,
        max_length: Some(max),
        pattern: None,
    }
}

const ID_DOCUMENTS: &[(&str, &str)] = &[
    ("passport", "パスポート / Passport"),
    ("drivers_license", "運転免許証 / Driver's licence"),
    ("my_number_card", "マイナンバーカード / My Number card"),
    ("residence_card", "在留カード / Residence card"),
];

const PURPOSES: &[(&str, &str)] = &[
    ("shopping", "ショッピング / Shopping"),
    ("bill_payment", "公共料金・請求書の支払い / Bill payments"),
    ("remittance", "送金 / Remittance"),
    ("business", "事業用 / Business"),
    ("travel", "旅行 / Travel"),
    ("other", "その他 / Other"),
];

const PREFECTURES: &[(&str, &str)] = &[
    ("hokkaido", "北海道 / Hokkaido"),
    ("aomori", "青森県 / Aomori"),
    ("iwate", "岩手県 / Iwate"),
    ("miyagi", "宮城県 / Miyagi"),
    ("akita", "秋田県 / Akita"),
    ("yamagata", "山形県 / Yamagata"),
    ("fukushima", "福島県 / Fukushima"),
    ("ibaraki", "茨城県 / Ibaraki"),
    ("tochigi", "栃木県 / Tochigi"),
    ("gunma", "群馬県 / Gunma"),
    ("saitama", "埼玉県 / Saitama"),
    ("chiba", "千葉県 / Chiba"),
    ("tokyo", "東京都 / Tokyo"),
    ("kanagawa", "神奈川県 / Kanagawa"),
    ("niigata", "新潟県 / Niigata"),
    ("toyama", "富山県 / Toyama"),
    ("ishikawa", "石川県 / Ishikawa"),
    ("fukui", "福井県 / Fukui"),
    ("yamanashi", "山梨県 / Yamanashi"),
    ("nagano", "長野県 / Nagano"),
    ("gifu", "岐阜県 / Gifu"),
    ("shizuoka", "静岡県 / Shizuoka"),
    ("aichi", "愛知県 / Aichi"),
    ("mie", "三重県 / Mie"),
    ("shiga", "滋賀県 / Shiga"),
    ("kyoto", "京都府 / Kyoto"),
    ("osaka", "大阪府 / Osaka"),
    ("hyogo", "兵庫県 / Hyogo"),
    ("nara", "奈良県 / Nara"),
    ("wakayama", "和歌山県 / Wakayama"),
    ("tottori", "鳥取県 / Tottori"),
    ("shimane", "島根県 / Shimane"),
    ("okayama", "岡山県 / Okayama"),
    ("hiroshima", "広島県 / Hiroshima"),
    ("yamaguchi", "山口県 / Yamaguchi"),
    ("tokushima", "徳島県 / Tokushima"),
    ("kagawa", "香川県 / Kagawa"),
    ("ehime", "愛媛県 / Ehime"),
    ("kochi", "高知県 / Kochi"),
    ("fukuoka", "福岡県 / Fukuoka"),
    ("saga", "佐賀県 / Saga"),
    ("nagasaki", "長崎県 / Nagasaki"),
    ("kumamoto", "熊本県 / Kumamoto"),
    ("oita", "大分県 / Oita"),
    ("miyazaki", "宮崎県 / Miyazaki"),
    ("kagoshima", "鹿児島県 / Kagoshima"),
    ("okinawa", "沖縄県 / Okinawa"),
];

/// Every ISO 3166-1 alpha-2 code.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL \
BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM \
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC \
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE \
NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD \
SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA \
UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split(' ').any(|c| c == code)
}

/// E.164: a plus sign and 8 to 15 digits, the first not zero.
pub fn valid_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

struct Section {
    id: &'static str,
    title: &'static str,
    fields: &'static [FieldDef],
}

const SECTIONS: &[Section] = &[
    Section {
        id: "identity",
        title: "本人情報 / Personal details",
        fields: &[
            field("legal_name", "氏名 / Legal name", Kind::Text, 100),
            FieldDef {
                pattern: Some("^[\\u30A0-\\u30FF\\u3000 ]+$"),
                ..field(
                    "legal_name_kana",
                    "氏名（カタカナ） / Legal name in katakana",
                    Kind::Text,
                    100,
                )
            },
            FieldDef {
                pattern: Some("^\\d{4}-\\d{2}-\\d{2}$"),
                ..field("date_of_birth", "生年月日 / Date of birth", Kind::Date, 10)
            },
            FieldDef {
                pattern: Some("^[A-Z]{2}$"),
                ..field("nationality", "国籍 / Nationality", Kind::Country, 2)
            },
            field("occupation", "職業 / Occupation", Kind::Text, 100),
            FieldDef {
                max_length: None,
                ..field(
                    "purpose_of_use",
                    "利用目的 / Purpose of use",
                    Kind::Select(PURPOSES),
                    0,
                )
            },
        ],
    },
    Section {
        id: "address",
        title: "住所 / Address in Japan",
        fields: &[
            FieldDef {
                pattern: Some("^\\d{3}-\\d{4}$"),
                ..field("postal_code", "郵便番号 / Postal code", Kind::Text, 8)
            },
            FieldDef {
                max_length: None,
                ..field(
                    "prefecture",
                    "都道府県 / Prefecture",
                    Kind::Select(PREFECTURES),
                    0,
                )
            },
            field("city", "市区町村 / City, ward or town", Kind::Text, 100),
            field("address_line1", "番地 / Street address", Kind::Text, 200),
            FieldDef {
                required: false,
                ..field(
                    "address_line2",
                    "建物名・部屋番号 / Building and room",
                    Kind::Text,
                    200,
                )
            },
        ],
    },
    Section {
        id: "contact",
        title: "連絡先 / Contact",
        fields: &[FieldDef {
            pattern: Some("^\\+[1-9]\\d{7,14}$"),
            ..field("phone", "電話番号 / Phone number (E.164)", Kind::Tel, 16)
        }],
    },
    Section {
        id: "document",
        title: "本人確認書類 / Identity document",
        fields: &[
            FieldDef {
                max_length: None,
                ..field(
                    "id_document_type",
                    "書類の種類 / Document type",
                    Kind::Select(ID_DOCUMENTS),
                    0,
                )
            },
            FieldDef {
                pattern: Some("^[A-Za-z0-9]{6,20}$"),
                ..field(
                    "id_document_number",
                    "書類番号 / Document number",
                    Kind::Text,
                    20,
                )
            },
        ],
    },
];

fn defs() -> impl Iterator<Item = &'static FieldDef> {
    SECTIONS.iter().flat_map(|s| s.fields.iter())
}

fn def(id: &str) -> Option<&'static FieldDef> {
    defs().find(|d| d.id == id)
}

/// The schema as served, built once.
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let sections: Vec<Value> = SECTIONS
            .iter()
            .map(|s| {
                let fields: Vec<Value> = s
                    .fields
                    .iter()
                    .map(|d| {
                        let kind = match d.kind {
                            Kind::Text => "text",
                            Kind::Date => "date",
                            Kind::Tel => "tel",
                            Kind::Country => "country",
                            Kind::Select(_) => "select",
                        };
                        let mut f = json!({"id": d.id, "label": d.label, "type": kind, "required": d.required});
                        if let Some(m) = d.max_length {
                            f["max_length"] = json!(m);
                        }
                        if let Some(p) = d.pattern {
                            f["pattern"] = json!(p);
                        }
                        if let Kind::Select(options) = d.kind {
                            f["options"] = options
                                .iter()
                                .map(|(value, label)| json!({"value": value, "label": label}))
                                .collect();
                        }
                        f
                    })
                    .collect();
                json!({"id": s.id, "title": s.title, "fields": fields})
            })
            .collect();
        json!({ "sections": sections })
    })
}

// ---------------------------------------------------------------------------
// Validators
// ---------------------------------------------------------------------------

fn is_katakana_name(s: &str) -> bool {
    s.chars().any(|c| ('\u{30A1}'..='\u{30FA}').contains(&c))
        && s.chars()
            .all(|c| ('\u{30A0}'..='\u{30FF}').contains(&c) || c == ' ' || c == '\u{3000}')
}

/// Today in Japan, where the gateway operates and ages are counted.
fn today_jst() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(9)).date_naive()
}

fn check_birth_date(s: &str, today: chrono::NaiveDate) -> std::result::Result<(), String> {
    use chrono::Datelike;
    let shape_ok = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let date = shape_ok
        .then(|| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| "The date of birth must be a real date written YYYY-MM-DD.".to_owned())?;
    if date.year() < 1900 || date > today {
        return Err("The date of birth is out of range.".into());
    }
    let mut age = today.year() - date.year();
    if (today.month(), today.day()) < (date.month(), date.day()) {
        age -= 1;
    }
    if age < 18 {
        return Err("The applicant must be 18 or older.".into());
    }
    Ok(())
}

/// Validates one value for field `id`, returning it normalised.
pub fn check(id: &str, value: &str) -> std::result::Result<String, String> {
    let d = def(id).ok_or_else(|| "This is not a KYC field.".to_owned())?;
    let v = value.trim();
    if v.is_empty() {
        return Err("This field may not be blank.".into());
    }
    if v.chars().any(char::is_control) {
        return Err("This field may not contain control characters.".into());
    }
    if let Some(max) = d.max_length.filter(|m| v.chars().count() > *m) {
        return Err(format!("At most {max} characters."));
    }
    let ok = |v: &str| Ok(v.to_owned());
    match (id, d.kind) {
        ("legal_name_kana", _) if !is_katakana_name(v) => {
            Err("Write the name in full-width katakana (spaces, ー and ・ allowed).".into())
        }
        ("date_of_birth", _) => check_birth_date(v, today_jst()).and_then(|()| ok(v)),
        ("postal_code", _) => {
            let b = v.as_bytes();
            if b.len() == 8
                && b[3] == b'-'
                && b.iter()
                    .enumerate()
                    .all(|(i, c)| i == 3 || c.is_ascii_digit())
            {
                ok(v)
            } else {
                Err("A Japanese postal code is written NNN-NNNN, such as 100-0001.".into())
            }
        }
        ("id_document_number", _) => {
            if (6..=20).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric()) {
                ok(v)
            } else {
                Err("The document number is 6 to 20 letters and digits.".into())
            }
        }
        (_, Kind::Country) => {
            let code = v.to_ascii_uppercase();
            if is_country_code(&code) {
                Ok(code)
            } else {
                Err("Use an ISO 3166-1 alpha-2 country code, such as JP.".into())
            }
        }
        (_, Kind::Tel) if !valid_e164(v) => {
            Err("Write the phone number in E.164 form, such as +81312345678.".into())
        }
        (_, Kind::Select(options)) if !options.iter().any(|(o, _)| *o == v) => Err(format!(
            "Choose one of: {}.",
            options
                .iter()
                .map(|(o, _)| *o)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => ok(v),
    }
}

pub type Values = BTreeMap<String, String>;

fn missing(values: &Values) -> Vec<&'static str> {
    defs()
        .filter(|d| d.required && !values.contains_key(d.id))
        .map(|d| d.id)
        .collect()
}

/// Reads `{"values": {...}}`. In a draft (`partial`) a null or empty value clears
/// the field; in a full replacement it counts as absent.
pub(crate) fn parse_values(body: &[u8], partial: bool) -> Result<(Values, Vec<String>)> {
    let doc: Map<String, Value> = serde_json::from_slice(body)
        .map_err(|e| Error::BadRequest(format!("The body must be a JSON object: {e}.")))?;
    let Some(Value::Object(given)) = doc.get("values") else {
        return Err(Error::field(
            "values",
            "values must be an object mapping KYC field ids to strings.",
        ));
    };
    let mut errors = FieldErrors::new();
    let mut values = Values::new();
    let mut cleared = Vec::new();
    for (id, v) in given {
        if def(id).is_none() {
            fields::push(&mut errors, id, "This is not a KYC field.");
            continue;
        }
        match v {
            Value::String(s) if s.trim().is_empty() => cleared.push(id.clone()),
            Value::Null => cleared.push(id.clone()),
            Value::String(s) => match check(id, s) {
                Ok(v) => {
                    values.insert(id.clone(), v);
                }
                Err(m) => fields::push(&mut errors, id, m),
            },
            _ => fields::push(&mut errors, id, "The value must be a string."),
        }
    }
    if !partial {
        for id in missing(&values) {
            fields::push(&mut errors, id, "This field is required.");
        }
    }
    if errors.is_empty() {
        Ok((values, cleared))
    } else {
        Err(Error::Validation(errors))
    }
}

// ---------------------------------------------------------------------------
// Storage and transitions
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Kyc {
    pub status: Status,
    pub values: Values,
    pub rejection_reason: Option<String>,
    pub submitted_at: Option<i64>,
    pub reviewed_at: Option<i64>,
    pub updated_at: Option<i64>,
}

pub fn load(conn: &Connection, user_id: &str) -> Result<Kyc> {
    let row = conn
        .prepare_cached(
            "SELECT status, field_values, rejection_reason, submitted_at, reviewed_at, updated_at
             FROM kyc WHERE user_id = ?1",
        )?
        .query_row([user_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                Kyc {
                    status: Status::NotStarted,
                    values: Values::new(),
                    rejection_reason: r.get(2)?,
                    submitted_at: r.get(3)?,
                    reviewed_at: r.get(4)?,
                    updated_at: Some(r.get(5)?),
                },
            ))
        })
        .optional()?;
    let Some((status, values, mut k)) = row else {
        return Ok(Kyc {
            status: Status::NotStarted,
            values: Values::new(),
            rejection_reason: None,
            submitted_at: None,
            reviewed_at: None,
            updated_at: None,
        });
    };
    k.status = Status::parse(&status)?;
    k.values = serde_json::from_str(&values)
        .map_err(|e| Error::Internal(format!("stored KYC values: {e}")))?;
    Ok(k)
}

pub fn store(conn: &Connection, user_id: &str, k: &Kyc) -> Result<()> {
    let values = serde_json::to_string(&k.values).map_err(|e| Error::Internal(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO kyc (user_id, status, field_values, rejection_reason, submitted_at,
            reviewed_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (user_id) DO UPDATE SET status = excluded.status,
            field_values = excluded.field_values, rejection_reason = excluded.rejection_reason,
            submitted_at = excluded.submitted_at, reviewed_at = excluded.reviewed_at,
            updated_at = excluded.updated_at",
    )?
    .execute(params![
        user_id,
        k.status.as_str(),
        values,
        k.rejection_reason,
        k.submitted_at,
        k.reviewed_at,
        k.updated_at.unwrap_or_else(ids::now_ms)
    ])?;
    Ok(())
}

fn ensure_unlocked(k: &Kyc) -> Result<()> {
    match k.status.lock_reason() {
        Some(reason) => Err(Error::conflict(reason)),
        None => Ok(()),
    }
}

/// Back to an editable draft after a change.
fn edited(k: &mut Kyc, now: i64) {
    k.status = Status::Draft;
    k.rejection_reason = None;
    k.submitted_at = None;
    k.reviewed_at = None;
    k.updated_at = Some(now);
}

pub fn view(k: &Kyc) -> Value {
    json!({
        "status": k.status.as_str(),
        "schema": schema(),
        "values": k.values,
        "missing": missing(&k.values),
        "updated_at": k.updated_at.map(ids::rfc3339),
        "submitted_at": k.submitted_at.map(ids::rfc3339),
        "reviewed_at": k.reviewed_at.map(ids::rfc3339),
        "rejection_reason": k.rejection_reason,
    })
}

pub fn submit(conn: &Connection, user_id: &str, now: i64) -> Result<Kyc> {
    let mut k = load(conn, user_id)?;
    ensure_unlocked(&k)?;
    let missing = missing(&k.values);
    if !missing.is_empty() {
        let mut errors = FieldErrors::new();
        for id in missing {
            fields::push(&mut errors, id, "This field is required.");
        }
        return Err(Error::Validation(errors));
    }
    k.status = Status::Submitted;
    k.submitted_at = Some(now);
    k.reviewed_at = None;
    k.rejection_reason = None;
    k.updated_at = Some(now);
    store(conn, user_id, &k)?;
    Ok(k)
}

/// Approves or (with a reason) rejects a submitted form.
pub fn review(
    conn: &Connection,
    user_id: &str,
    rejection: Option<String>,
    now: i64,
) -> Result<Kyc> {
    let mut k = load(conn, user_id)?;
    if k.status != Status::Submitted {
        return Err(Error::conflict(format!(
            "Only a submitted KYC form can be reviewed; this one is {}.",
            k.status.as_str()
        )));
    }
    k.status = if rejection.is_some() {
        Status::Rejected
    } else {
        Status::Approved
    };
    k.rejection_reason = rejection;
    k.reviewed_at = Some(now);
    k.updated_at = Some(now);
    store(conn, user_id, &k)?;
    Ok(k)
}

// ---------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------

pub async fn show_route(State(state): State<AppState>, s: Subject) -> Result<Json<Value>> {
    let k = state.db.read(move |c| load(c, &s.user.id)).await?;
    Ok(Json(view(&k)))
}

/// PATCH: merges a partial draft; only the given fields are validated.
pub async fn patch_route(
    State(state): State<AppState>,
    s: Subject,
    body: Bytes,
) -> Result<Json<Value>> {
    let (values, cleared) = parse_values(&body, true)?;
    let k = state
        .db
        .write(move |tx| {
            let mut k = load(tx, &s.user.id)?;
            ensure_unlocked(&k)?;
            for id in cleared {
                k.values.remove(&id);
            }
            k.values.extend(values);
            edited(&mut k, ids::now_ms());
            store(tx, &s.user.id, &k)?;
            Ok(k)
        })
        .await?;
    Ok(Json(view(&k)))
}

/// PUT: replaces the whole form; an incomplete one changes nothing.
pub async fn put_route(
    State(state): State<AppState>,
    s: Subject,
    body: Bytes,
) -> Result<Json<Value>> {
    // A locked form answers 409 before its new values are judged.
    let id = s.user.id.clone();
    ensure_unlocked(&state.db.read(move |c| load(c, &id)).await?)?;
    let (values, _) = parse_values(&body, false)?;
    let k = state
        .db
        .write(move |tx| {
            let mut k = load(tx, &s.user.id)?;
            ensure_unlocked(&k)?;
            k.values = values;
            edited(&mut k, ids::now_ms());
            store(tx, &s.user.id, &k)?;
            Ok(k)
        })
        .await?;
    Ok(Json(view(&k)))
}

pub async fn submit_route(State(state): State<AppState>, s: Subject) -> Result<Json<Value>> {
    let k = state
        .db
        .write(move |tx| submit(tx, &s.user.id, ids::now_ms()))
        .await?;
    state.kyc_review_wake.notify_one();
    Ok(Json(view(&k)))
}

async fn approve_route(State(state): State<AppState>, s: Subject) -> Result<Json<Value>> {
    let k = state
        .db
        .write(move |tx| review(tx, &s.user.id, None, ids::now_ms()))
        .await?;
    Ok(Json(json!({"code": 200, "status": "ok", "kyc": view(&k)})))
}

const MAX_REASON_CHARS: usize = 500;

async fn reject_route(
    State(state): State<AppState>,
    s: Subject,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let f = Fields::from_body(&headers, body).await?;
    let mut errors = FieldErrors::new();
    let reason = f
        .required("reason", &mut errors)
        .map(|r| r.trim().to_owned());
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
    {
        fields::push(
            &mut errors,
            "reason",
            format!("The reason may not exceed {MAX_REASON_CHARS} characters."),
        );
    }
    let reason = match reason {
        Some(r) if errors.is_empty() => r,
        _ => return Err(Error::Validation(errors)),
    };
    let k = state
        .db
        .write(move |tx| review(tx, &s.user.id, Some(reason), ids::now_ms()))
        .await?;
    Ok(Json(json!({"code": 200, "status": "ok", "kyc": view(&k)})))
}

// ---------------------------------------------------------------------------
// Auto-review
// ---------------------------------------------------------------------------

/// Approves every form submitted at least `delay` ago, sleeping until the next one
/// falls due or a new submission wakes it.
pub async fn run_auto_review(state: AppState, delay: Duration, mut stopped: watch::Receiver<bool>) {
    let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
    loop {
        let now = ids::now_ms();
        let due = state
            .db
            .write(move |tx| {
                let ids: Vec<String> = tx
                    .prepare_cached(
                        "SELECT user_id FROM kyc WHERE status = 'submitted' AND submitted_at <= ?1",
                    )?
                    .query_map([now - delay_ms], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                for id in &ids {
                    review(tx, id, None, now)?;
                }
                let next: Option<i64> = tx.query_row(
                    "SELECT MIN(submitted_at) FROM kyc WHERE status = 'submitted'",
                    [],
                    |r| r.get(0),
                )?;
                Ok(next)
            })
            .await;
        let wait = match due {
            Ok(Some(submitted)) => Duration::from_millis(
                u64::try_from(submitted + delay_ms - now)
                    .unwrap_or(0)
                    .max(1),
            ),
            Ok(None) => Duration::from_secs(3600),
            Err(e) => {
                tracing::error!(error = %e, "KYC auto-review failed");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.kyc_review_wake.notified() => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn complete() -> Values {
        [
            ("legal_name", "山田 太郎"),
            ("legal_name_kana", "ヤマダ タロウ"),
            ("date_of_birth", "1990-04-01"),
            ("nationality", "JP"),
            ("postal_code", "100-0001"),
            ("prefecture", "tokyo"),
            ("city", "千代田区"),
            ("address_line1", "千代田1-1"),
            ("phone", "+81312345678"),
            ("occupation", "会社員"),
            ("purpose_of_use", "shopping"),
            ("id_document_type", "passport"),
            ("id_document_number", "TK1234567"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn the_required_fields_are_exactly_the_contract() {
        let required: Vec<_> = defs().filter(|d| d.required).map(|d| d.id).collect();
        assert_eq!(required.len(), 13);
        assert!(missing(&complete()).is_empty());
        for (id, v) in complete() {
            assert_eq!(check(&id, &v).as_deref(), Ok(v.as_str()), "{id}");
        }
        assert_eq!(COUNTRIES.split(' ').count(), 249);
    }

    #[test]
    fn validators_refuse_what_they_should() {
        assert!(check("legal_name_kana", "ヤマダ・タロウー").is_ok());
        assert!(check("legal_name_kana", "やまだ").is_err());
        assert!(check("legal_name_kana", "・ー").is_err());
        assert!(check("postal_code", "1000001").is_err());
        assert!(check("postal_code", "１００-０００１").is_err());
        assert!(check("phone", "0312345678").is_err());
        assert!(check("nationality", "jp").as_deref() == Ok("JP"));
        assert!(check("nationality", "ZZ").is_err());
        assert!(check("id_document_type", "library_card").is_err());
        assert!(check("id_document_number", "AB-12345").is_err());
        assert!(check("date_of_birth", "1990-02-30").is_err());
        assert!(check("date_of_birth", "1990-2-3").is_err());
        assert!(check("no_such_field", "x").is_err());
    }

    #[test]
    fn adulthood_is_counted_to_the_day() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
        assert!(check_birth_date("2008-04-01", today).is_ok());
        assert!(check_birth_date("2008-04-02", today).is_err());
        assert!(check_birth_date("2030-01-01", today).is_err());
        assert!(check_birth_date("1899-12-31", today).is_err());
    }

    proptest! {
        #[test]
        fn validators_never_panic(id in "[a-z_]{0,20}", v in "\\PC{0,40}") {
            for d in defs() {
                let _ = check(d.id, &v);
            }
            let _ = check(&id, &v);
        }

        #[test]
        fn any_body_parses_or_fails_cleanly(body in "\\PC{0,200}") {
            let _ = parse_values(body.as_bytes(), true);
            let _ = parse_values(body.as_bytes(), false);
        }
    }
}
