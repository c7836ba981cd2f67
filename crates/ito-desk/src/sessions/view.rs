//! The user's own view: what a signed-in user sees of themselves through
//! `/api/oauth/user/*`, in the shapes the merchant-side screens already draw.

use std::sync::Arc;

use ito_api::users::User;
use serde::Serialize;
use specta::Type;

use super::{Sessions, UserSessionInfo, index};
use crate::error::{Error, Result};
use crate::overview::CurrencyBalance;
use crate::profiles::Mode;
use crate::users::UserCard;
use crate::users::directory::KycState;
use crate::users::transactions::{self, TransactionFilter, TransactionPage, TransactionTotals};

/// The user as they see themselves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ViewedUser {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub country: Option<String>,
    pub kyc_status: KycState,
    pub created_at: String,
}

impl From<User> for ViewedUser {
    fn from(u: User) -> Self {
        Self {
            user_id: u.id.as_str().to_owned(),
            name: u.name,
            email: u.email,
            phone: u.phone,
            country: u.country,
            kyc_status: u.kyc_status.into(),
            created_at: u
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

/// Everything the "Viewing as" screen opens with, read through the user's session.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub user: ViewedUser,
    pub balances: Vec<CurrencyBalance>,
    pub cards: Vec<UserCard>,
    pub session: UserSessionInfo,
    /// The profile's mode: issuing a card in active mode asks for confirmation.
    pub mode: Mode,
}

impl Sessions {
    /// The signed-in user's profile, balances and cards, read at once.
    pub async fn view(self: &Arc<Self>, user_id: &str) -> Result<UserView> {
        let profile = self.desk.active_profile().await?;
        let user = self.user_client(user_id).await?;
        let (me, balances, cards) = tokio::join!(user.me(), user.balance(), user.cards());
        let (pid, uid) = (
            user.profile_id().to_owned(),
            user.user_id().as_str().to_owned(),
        );
        let session = self
            .store()
            .read(move |c| index::get(c, &pid, &uid))
            .await?
            .map(|row| UserSessionInfo::from(&row))
            .ok_or_else(|| Error::Internal("a session in use is not listed".into()))?;
        Ok(UserView {
            user: me?.into(),
            balances: balances?
                .balances
                .iter()
                .map(CurrencyBalance::from)
                .collect(),
            cards: cards?.iter().map(UserCard::from).collect(),
            session,
            mode: profile.mode,
        })
    }

    /// One page of the user's own transactions, filtered as on the merchant side.
    pub async fn view_transactions(
        self: &Arc<Self>,
        user_id: &str,
        filter: TransactionFilter,
        cursor: Option<String>,
        limit: Option<u32>,
        loaded: Vec<TransactionTotals>,
    ) -> Result<TransactionPage> {
        let user = self.user_client(user_id).await?;
        transactions::page_with(&filter, cursor.as_deref(), limit, &loaded, |query| {
            let user = user.clone();
            async move { user.transactions(&query).await }
        })
        .await
    }
}
