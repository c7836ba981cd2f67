//! A user's profile fields: the create form's rules (the gateway's own, checked
//! before anything is sent), partial edits with a preview of what will change, and
//! the gateway's refusals mapped onto the form's fields.

use ito_api::users::{NewUser, ProfileUpdate};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use specta::Type;

use crate::error::{Error, FieldErrors, Result};
use crate::users::directory::DirectoryUser;

/// The gateway's limit on a name.
pub const MAX_NAME_CHARS: usize = 100;

/// What the Create user form sends.
#[derive(Clone, Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct NewUserInput {
    pub name: String,
    pub email: String,
    /// E.164 (`+81312345678`); spaces, hyphens and brackets are ignored.
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-2, any case.
    pub country: Option<String>,
}

/// A user the gateway created (or had created for an earlier submit of the same form).
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct UserCreated {
    pub user: DirectoryUser,
    /// This submit repeated one the desk had already completed: no second user.
    pub replayed: bool,
}

/// The fields an edit changes. Absent: unchanged; an empty phone or country clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct UserProfileChanges {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub country: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum UserField {
    Name,
    Email,
    Phone,
    Country,
}

/// One field that will change (or did), old and new value; absent is empty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct UserFieldChange {
    pub field: UserField,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What saving an edit will change, against the gateway's current profile.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct UserProfilePreview {
    /// The user as the gateway has it now.
    pub user: DirectoryUser,
    /// Empty when the edit changes nothing.
    pub changes: Vec<UserFieldChange>,
}

/// An edit saved.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct UserProfileSaved {
    pub user: DirectoryUser,
    /// What was sent and changed; empty when nothing needed sending.
    pub changes: Vec<UserFieldChange>,
}

fn push(fields: &mut FieldErrors, field: &str, msg: impl Into<String>) {
    fields.entry(field.to_owned()).or_default().push(msg.into());
}

fn refused(fields: FieldErrors) -> Error {
    Error::Validation {
        message: "Some fields need attention.".into(),
        fields,
    }
}

fn name(fields: &mut FieldErrors, raw: &str) -> String {
    let name = raw.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        push(
            fields,
            "name",
            format!("The name must be 1 to {MAX_NAME_CHARS} characters."),
        );
    } else if name.chars().any(char::is_control) {
        push(
            fields,
            "name",
            "The name may not contain control characters.",
        );
    }
    name
}

/// Trimmed and in lower case, as the gateway compares and stores emails.
pub fn normal_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

fn email(fields: &mut FieldErrors, raw: &str) -> String {
    let email = normal_email(raw);
    if !ito_api::is_valid_email(&email) {
        push(fields, "email", "Enter a valid email address.");
    }
    email
}

/// E.164 with the separators people type removed: `+81 90-1234-5678` is `+819012345678`.
fn phone(fields: &mut FieldErrors, raw: &str) -> String {
    let phone: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && !"-().".contains(*c))
        .collect();
    let valid = phone.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    });
    if !valid {
        push(
            fields,
            "phone",
            "Enter the number in international form, such as +81312345678.",
        );
    }
    phone
}

fn country(fields: &mut FieldErrors, raw: &str) -> String {
    let country = raw.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        push(
            fields,
            "country",
            "Enter a two-letter country code (ISO 3166-1), such as JP.",
        );
    }
    country
}

fn blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// Checks the create form; the request to send, normalised.
pub fn check_new(input: &NewUserInput) -> Result<NewUser> {
    let mut fields = FieldErrors::new();
    let user = NewUser {
        name: name(&mut fields, &input.name),
        email: email(&mut fields, &input.email),
        phone: blank(input.phone.as_deref()).map(|p| phone(&mut fields, p)),
        country: blank(input.country.as_deref()).map(|c| country(&mut fields, c)),
        password: None,
    };
    if fields.is_empty() {
        Ok(user)
    } else {
        Err(refused(fields))
    }
}

/// The changes that differ from `current`, checked and normalised, in form order.
pub fn diff(current: &DirectoryUser, changes: &UserProfileChanges) -> Result<Vec<UserFieldChange>> {
    let mut fields = FieldErrors::new();
    let mut out = Vec::new();
    let mut change = |field, old: Option<&str>, new: Option<String>| {
        if old != new.as_deref() {
            out.push(UserFieldChange {
                field,
                old: old.map(str::to_owned),
                new,
            });
        }
    };
    if let Some(n) = &changes.name {
        let n = name(&mut fields, n);
        change(UserField::Name, Some(&current.name), Some(n));
    }
    if let Some(e) = &changes.email {
        let e = email(&mut fields, e);
        change(UserField::Email, Some(&current.email), Some(e));
    }
    if let Some(p) = &changes.phone {
        let p = blank(Some(p)).map(|p| phone(&mut fields, p));
        change(UserField::Phone, current.phone.as_deref(), p);
    }
    if let Some(c) = &changes.country {
        let c = blank(Some(c)).map(|c| country(&mut fields, c));
        change(UserField::Country, current.country.as_deref(), c);
    }
    if fields.is_empty() {
        Ok(out)
    } else {
        Err(refused(fields))
    }
}

/// The PATCH body for `changes`: only the changed fields, an empty string clearing one.
pub fn update(changes: &[UserFieldChange]) -> ProfileUpdate {
    let mut u = ProfileUpdate::default();
    for c in changes {
        let value = Some(c.new.clone().unwrap_or_default());
        match c.field {
            UserField::Name => u.name = value,
            UserField::Email => u.email = value,
            UserField::Phone => u.phone = value,
            UserField::Country => u.country = value,
        }
    }
    u
}

/// A gateway refusal as the form shows it: a duplicate email (409) on the email field.
pub fn on_fields(e: ito_api::Error) -> Error {
    match e {
        ito_api::Error::Conflict(f) => Error::field("email", f.message),
        other => other.into(),
    }
}

/// What an earlier submit of the same email left behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Staged {
    /// Its request got no answer (or the app stopped while it was out): the user
    /// may exist.
    Uncertain,
    /// The gateway created this user.
    Created(String),
}

pub fn staged(conn: &Connection, profile_id: &str, email: &str) -> Result<Option<Staged>> {
    let row: Option<(String, Option<String>)> = conn
        .prepare_cached(
            "SELECT state, user_id FROM user_creates WHERE profile_id = ?1 AND email = ?2",
        )?
        .query_row(params![profile_id, email], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.map(|(state, user_id)| match (state.as_str(), user_id) {
        ("created", Some(id)) => Staged::Created(id),
        _ => Staged::Uncertain,
    }))
}

/// Records the intent before the request goes out.
pub fn stage(tx: &Transaction<'_>, profile_id: &str, email: &str, now: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO user_creates (profile_id, email, state, created_at, updated_at)
         VALUES (?1, ?2, 'sending', ?3, ?3)
         ON CONFLICT (profile_id, email) DO UPDATE SET state = 'sending', user_id = NULL,
            updated_at = ?3",
    )?
    .execute(params![profile_id, email, now])?;
    Ok(())
}

pub fn confirm(
    tx: &Transaction<'_>,
    profile_id: &str,
    email: &str,
    user_id: &str,
    now: i64,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE user_creates SET state = 'created', user_id = ?3, last_error = NULL, updated_at = ?4
         WHERE profile_id = ?1 AND email = ?2",
    )?
    .execute(params![profile_id, email, user_id, now])?;
    Ok(())
}

/// The request failed without an answer: it may have created the user.
pub fn uncertain(
    tx: &Transaction<'_>,
    profile_id: &str,
    email: &str,
    error: &str,
    now: i64,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE user_creates SET state = 'uncertain', last_error = ?3, updated_at = ?4
         WHERE profile_id = ?1 AND email = ?2",
    )?
    .execute(params![profile_id, email, error, now])?;
    Ok(())
}

/// The gateway refused for good: nothing was created.
pub fn unstage(tx: &Transaction<'_>, profile_id: &str, email: &str) -> Result<()> {
    tx.prepare_cached("DELETE FROM user_creates WHERE profile_id = ?1 AND email = ?2")?
        .execute(params![profile_id, email])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::directory::KycState;

    fn user() -> DirectoryUser {
        DirectoryUser {
            user_id: "usr_1".into(),
            name: "佐藤 陽翔".into(),
            email: "sato@example.jp".into(),
            phone: Some("+819012345678".into()),
            country: Some("JP".into()),
            kyc_status: KycState::Draft,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            balances: Vec::new(),
            balances_fetched_at: None,
            gone: false,
        }
    }

    #[test]
    fn the_create_form_is_checked_and_normalised() {
        let ok = check_new(&NewUserInput {
            name: "  山田 太郎 ".into(),
            email: " Taro@Example.JP".into(),
            phone: Some("+81 90-1234-5678".into()),
            country: Some("jp".into()),
        })
        .unwrap();
        assert_eq!(ok.name, "山田 太郎");
        assert_eq!(ok.email, "taro@example.jp");
        assert_eq!(ok.phone.as_deref(), Some("+819012345678"));
        assert_eq!(ok.country.as_deref(), Some("JP"));
        let bad = check_new(&NewUserInput {
            name: " ".into(),
            email: "taro@".into(),
            phone: Some("090-1234-5678".into()),
            country: Some("Japan".into()),
        })
        .unwrap_err();
        match bad {
            Error::Validation { fields, .. } => {
                let names: Vec<&str> = fields.keys().map(String::as_str).collect();
                assert_eq!(names, ["country", "email", "name", "phone"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_edit_keeps_only_what_changes() {
        let changes = UserProfileChanges {
            name: Some("佐藤 陽翔".into()),
            email: Some("SATO@example.jp".into()),
            phone: Some("+81 80 0000 1111".into()),
            country: Some(String::new()),
        };
        let diff = diff(&user(), &changes).unwrap();
        assert_eq!(
            diff,
            [
                UserFieldChange {
                    field: UserField::Phone,
                    old: Some("+819012345678".into()),
                    new: Some("+818000001111".into()),
                },
                UserFieldChange {
                    field: UserField::Country,
                    old: Some("JP".into()),
                    new: None,
                },
            ]
        );
        let body = serde_json::to_value(update(&diff)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"phone": "+818000001111", "country": ""})
        );
        assert!(
            super::diff(&user(), &UserProfileChanges::default())
                .unwrap()
                .is_empty()
        );
    }
}
