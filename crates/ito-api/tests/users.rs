//! OAuth, merchant user management, KYC, cards and the user's own routes, against
//! the real sandbox over HTTP.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Sandbox, sandbox, sandbox_with};
use futures_util::TryStreamExt;
use ito_api::kyc::{KycStatus, KycValues};
use ito_api::sandbox::NewTransaction;
use ito_api::users::{NewUser, ProfileUpdate, Reveal, TransactionQuery, TransactionType};
use ito_api::{
    Client, Credentials, Currency, Environment, ErrorKind, Money, Secret, TokenSet, UserId,
    UserSession,
};
use url::Url;

fn new_user(email: &str, password: &str) -> NewUser {
    NewUser {
        email: email.into(),
        name: "山田 太郎".into(),
        phone: Some("+819012345678".into()),
        country: Some("JP".into()),
        password: Some(Secret::new(password)),
    }
}

fn full_kyc() -> KycValues {
    [
        ("legal_name", "山田 太郎"),
        ("legal_name_kana", "ヤマダ タロウ"),
        ("date_of_birth", "1990-04-01"),
        ("nationality", "JP"),
        ("occupation", "エンジニア"),
        ("purpose_of_use", "shopping"),
        ("postal_code", "150-0001"),
        ("prefecture", "tokyo"),
        ("city", "渋谷区"),
        ("address_line1", "神宮前1-2-3"),
        ("phone", "+819012345678"),
        ("id_document_type", "passport"),
        ("id_document_number", "TK1234567"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Plays the browser: opens the authorize page, posts its form with `decision`,
/// and follows the redirect to the app's loopback listener.
fn browser(
    email: &str,
    password: &str,
    decision: &'static str,
) -> impl FnOnce(&Url) -> std::io::Result<()> {
    let (email, password) = (email.to_owned(), password.to_owned());
    move |url: &Url| {
        let url = url.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let page = http.get(url.clone()).send().await.unwrap();
            assert_eq!(page.status(), 200);
            assert!(page.text().await.unwrap().contains("decision"));
            let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
            form.push(("email".into(), email));
            form.push(("password".into(), password));
            form.push(("decision".into(), decision.into()));
            let action = format!("{}://{}/oauth/authorize", url.scheme(), url.authority());
            let res = http.post(action).form(&form).send().await.unwrap();
            assert_eq!(res.status(), 302);
            let to = res.headers()["location"].to_str().unwrap().to_owned();
            let done = http.get(to).send().await.unwrap().text().await.unwrap();
            assert!(done.contains("you can close this tab"), "{done}");
        });
        Ok(())
    }
}

async fn sign_in(client: &Client, email: &str, password: &str) -> UserSession {
    client
        .sign_in_with_browser(browser(email, password, "approve"), Duration::from_secs(10))
        .await
        .unwrap()
}

#[tokio::test]
async fn user_kyc_card_flow() {
    let sb = sandbox().await;
    let (client, log) = sb.client_for(&sb.merchant);
    let m = client.merchant();

    let created = m
        .create_user(&new_user("taro@example.jp", "pa55word!"))
        .await
        .unwrap();
    let user = created.user;
    assert_eq!(user.kyc_status, KycStatus::NotStarted);
    assert!(created.sandbox_password.is_none());

    // A duplicate email is a conflict; bad fields are a validation error per field.
    let dup = m
        .create_user(&new_user("taro@example.jp", "another-pass"))
        .await
        .unwrap_err();
    assert_eq!(dup.kind(), ErrorKind::Conflict);
    let mut bad = new_user("not-an-email", "pa55word!");
    bad.phone = Some("12".into());
    let err = m.create_user(&bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert!(err.fields().unwrap().contains_key("email"), "{err:?}");

    let updated = m
        .update_profile(
            &user.id,
            &ProfileUpdate {
                name: Some("Taro Yamada".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "Taro Yamada");
    assert_eq!(updated.email, "taro@example.jp");

    // KYC: draft, refused incomplete replacement, full replacement, submit, locked.
    let draft: KycValues = [("legal_name".to_owned(), "山田 太郎".to_owned())].into();
    let kyc = m.save_kyc_draft(&user.id, &draft).await.unwrap();
    assert_eq!(kyc.status, KycStatus::Draft);
    assert!(kyc.missing.contains(&"postal_code".to_owned()));
    assert!(
        kyc.schema
            .sections
            .iter()
            .any(|s| s.fields.iter().any(|f| f.id == "legal_name_kana"))
    );
    let incomplete = m.replace_kyc(&user.id, &draft).await.unwrap_err();
    assert_eq!(incomplete.kind(), ErrorKind::Validation);
    assert!(
        incomplete
            .fields()
            .unwrap()
            .contains_key("id_document_number")
    );
    let full = m.replace_kyc(&user.id, &full_kyc()).await.unwrap();
    assert!(full.missing.is_empty());
    assert_eq!(
        m.submit_kyc(&user.id).await.unwrap().status,
        KycStatus::Submitted
    );
    let locked = m.save_kyc_draft(&user.id, &draft).await.unwrap_err();
    assert_eq!(locked.kind(), ErrorKind::Conflict);
    assert_eq!(m.kyc(&user.id).await.unwrap().status, KycStatus::Submitted);

    // The user signs in through the browser (PKCE, loopback redirect).
    let session = sign_in(&client, "taro@example.jp", "pa55word!").await;
    let me = client.user(&session);
    assert_eq!(me.me().await.unwrap().id, user.id);
    // No card before approval.
    assert_eq!(
        me.issue_card(Currency::Jpy).await.unwrap_err().kind(),
        ErrorKind::Forbidden
    );

    // A reviewer rejects, the user fixes and resubmits, a reviewer approves.
    let rejected = client
        .sandbox()
        .reject_kyc(&user.id, "Document unreadable")
        .await
        .unwrap();
    assert_eq!(rejected.status, KycStatus::Rejected);
    assert_eq!(
        rejected.rejection_reason.as_deref(),
        Some("Document unreadable")
    );
    let mut fixed = KycValues::new();
    fixed.insert("id_document_number".into(), "TK7654321".into());
    me.save_kyc_draft(&fixed).await.unwrap();
    assert_eq!(me.submit_kyc().await.unwrap().status, KycStatus::Submitted);
    assert_eq!(
        client.sandbox().approve_kyc(&user.id).await.unwrap().status,
        KycStatus::Approved
    );
    assert_eq!(me.kyc().await.unwrap().status, KycStatus::Approved);

    let card = me.issue_card(Currency::Jpy).await.unwrap();
    assert_eq!(card.last4.len(), 4);
    assert_eq!(me.cards().await.unwrap(), vec![card.clone()]);
    assert_eq!(m.cards(&user.id).await.unwrap()[0].id, card.id);
    let plain = me.card_sensitive(&card.id, &[]).await.unwrap();
    assert!(plain.pan.is_none() && plain.cvv.is_none());
    let full = me
        .card_sensitive(&card.id, &[Reveal::Pan, Reveal::Cvv])
        .await
        .unwrap();
    let pan = full.pan.unwrap();
    assert!(pan.expose().ends_with(&card.last4));
    assert!(luhn(pan.expose()), "not Luhn-valid");
    assert_eq!(format!("{pan:?}"), "Secret(***)");
    let reveals = client.sandbox().card_reveals(&user.id).await.unwrap();
    assert_eq!(reveals.len(), 1);
    assert_eq!(reveals[0].fields, [Reveal::Pan, Reveal::Cvv]);

    // One client-credentials token served every merchant call.
    let tokens = log
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .count();
    assert_eq!(tokens, 2, "one merchant token, one code exchange");
    // The request log never holds a token or secret.
    let logged = serde_json::to_string(&*log.lock().unwrap()).unwrap();
    let t = session.tokens().await;
    assert!(!logged.contains(t.access_token.expose()));
    assert!(!logged.contains(&sb.merchant.client_secret));
    sb.server.shutdown().await;
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

async fn user_with_history(sb: &Sandbox, client: &Client, n: usize) -> UserId {
    let user = client
        .merchant()
        .create_user(&new_user("hana@example.jp", "hana-pass-1"))
        .await
        .unwrap()
        .user;
    // Fees are paid from a USD balance.
    let funds = NewTransaction {
        kind: TransactionType::TopUp,
        amount: Money::from_minor(100_000, Currency::Usd),
        description: "funds".into(),
    };
    client
        .sandbox()
        .add_transaction(&user.id, &funds)
        .await
        .unwrap();
    for i in 0..n {
        let (kind, currency) = if i % 3 == 0 {
            (TransactionType::Fee, Currency::Usd)
        } else {
            (TransactionType::TopUp, Currency::Jpy)
        };
        let amount = Money::from_minor(100 + i as i64, currency);
        client
            .sandbox()
            .add_transaction(
                &user.id,
                &NewTransaction {
                    kind,
                    amount,
                    description: format!("entry {i}"),
                },
            )
            .await
            .unwrap();
    }
    let _ = sb;
    user.id
}

#[tokio::test]
async fn balances_and_paginated_transactions() {
    let sb = sandbox().await;
    let client = sb.client();
    let id = user_with_history(&sb, &client, 45).await;

    let balances = client.merchant().balance(&id).await.unwrap();
    let jpy = balances
        .balances
        .iter()
        .find(|b| b.currency == Currency::Jpy)
        .unwrap();
    // 30 top-ups: 101 + 102 + 104 + … (i % 3 != 0 for i in 0..45).
    let expected: i64 = (0..45).filter(|i| i % 3 != 0).map(|i| 100 + i).sum();
    assert_eq!(jpy.available, Money::from_minor(expected, Currency::Jpy));

    let first = client
        .merchant()
        .transactions(
            &id,
            &TransactionQuery {
                limit: Some(20),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.data.len(), 20);
    assert_eq!(first.data[0].description, "entry 44");
    assert!(first.next_cursor.is_some());

    // The stream walks every page; filters are applied by the gateway.
    let all: Vec<_> = client
        .merchant()
        .all_transactions(
            id.clone(),
            TransactionQuery {
                limit: Some(20),
                ..Default::default()
            },
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 46);
    assert_eq!(all[45].description, "funds");
    let mut seen: Vec<_> = all.iter().map(|t| t.id.clone()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 46, "no duplicates");
    let fees: Vec<_> = client
        .merchant()
        .all_transactions(
            id.clone(),
            TransactionQuery {
                kind: Some(TransactionType::Fee),
                limit: Some(7),
                ..Default::default()
            },
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(fees.len(), 15);
    assert!(
        fees.iter()
            .all(|t| t.kind == TransactionType::Fee && t.amount.currency() == Currency::Usd)
    );

    // The sandbox lists the merchant's users.
    let users: Vec<_> = client.sandbox().all_users().try_collect().await.unwrap();
    assert_eq!(users.iter().map(|u| &u.id).collect::<Vec<_>>(), [&id]);

    // The user sees the same history through their own token.
    let session = sign_in(&client, "hana@example.jp", "hana-pass-1").await;
    let mine: Vec<_> = client
        .user(&session)
        .all_transactions(TransactionQuery::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(mine.len(), 46);
    assert_eq!(client.user(&session).balance().await.unwrap(), balances);
    sb.server.shutdown().await;
}

#[tokio::test]
async fn oauth_refusals_and_ownership() {
    let sb = sandbox().await;
    let client = sb.client();
    let env = Environment::sandbox(&sb.server.url()).unwrap();
    let m = &sb.merchant;
    let id = client
        .merchant()
        .create_user(&new_user("ken@example.jp", "ken-pass-1"))
        .await
        .unwrap()
        .user
        .id;

    // A wrong client secret: unauthorized, with the OAuth error code.
    let wrong = Client::new(
        env.clone(),
        Credentials::new(m.access_key.as_str(), m.secret_key.as_str())
            .with_oauth(m.client_id.as_str(), "wrong"),
    )
    .unwrap();
    let err = wrong.merchant().balance(&id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(
        err.failure().unwrap().code.as_deref(),
        Some("invalid_client")
    );
    let err = wrong.fetch_merchant_token().await.unwrap_err();
    assert_eq!(
        err.failure().unwrap().code.as_deref(),
        Some("invalid_client")
    );
    client.fetch_merchant_token().await.unwrap();

    // Another merchant's user is as absent as an unknown one.
    let other = sb.other_merchant("Other").await;
    let (theirs, _) = sb.client_for(&other);
    for probe in [id.clone(), UserId::new("nope")] {
        assert_eq!(
            theirs.merchant().balance(&probe).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            theirs.merchant().kyc(&probe).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    // Denied consent and a wrong password end the sign-in with typed errors.
    let denied = client
        .sign_in_with_browser(
            browser("ken@example.jp", "ken-pass-1", "deny"),
            Duration::from_secs(10),
        )
        .await
        .unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::Authorization);
    let timeout = client
        .sign_in_with_browser(|_| Ok(()), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(timeout.kind(), ErrorKind::Timeout);

    // Refresh tokens rotate; reusing a rotated one revokes the family.
    let session = sign_in(&client, "ken@example.jp", "ken-pass-1").await;
    let old = session.tokens().await;
    let new = session.refresh(&client).await.unwrap();
    assert_ne!(new.refresh_token, old.refresh_token);
    assert_eq!(client.user(&session).me().await.unwrap().id, id);
    let reuse = client
        .refresh_user_tokens(old.refresh_token.as_ref().unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        reuse.failure().unwrap().code.as_deref(),
        Some("invalid_grant")
    );
    let revoked = client.user(&session).me().await.unwrap_err();
    assert_eq!(revoked.kind(), ErrorKind::Unauthorized);

    // A user token is no merchant token.
    let session = sign_in(&client, "ken@example.jp", "ken-pass-1").await;
    let t = session.tokens().await;
    let http = reqwest::Client::new();
    let res = http
        .get(format!(
            "{}/api/oauth/merchant/users/{id}/balance",
            sb.server.url()
        ))
        .bearer_auth(t.access_token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    sb.server.shutdown().await;
}

#[tokio::test]
async fn tokens_are_renewed_before_expiry_and_after_a_401() {
    let sb = sandbox_with(|c| c.oauth_access_ttl = Duration::from_secs(2)).await;
    let (client, log) = sb.client_for(&sb.merchant);
    let id = client
        .merchant()
        .create_user(&new_user("aki@example.jp", "aki-pass-1"))
        .await
        .unwrap()
        .user
        .id;
    client.merchant().balance(&id).await.unwrap();
    let count = || {
        log.lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == "/oauth/token")
            .count()
    };
    assert_eq!(count(), 1);
    // Past four fifths of its life the token is replaced before use, not after a 401.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    client.merchant().balance(&id).await.unwrap();
    assert_eq!(count(), 2);
    assert!(log.lock().unwrap().iter().all(|r| r.status != Some(401)));

    // A user session holding a dead access token refreshes once and goes on.
    let session = sign_in(&client, "aki@example.jp", "aki-pass-1").await;
    let t = session.tokens().await;
    let t_refresh = t.refresh_token.clone();
    let stale = UserSession::new(TokenSet {
        access_token: Secret::new("revoked-or-unknown"),
        // Looks fresh, so only the 401 reveals it is dead.
        expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        ..t
    });
    // The app persists rotated tokens through the refresh hook.
    let persisted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = persisted.clone();
    let stale = stale.on_refresh(move |t: &TokenSet| sink.lock().unwrap().push(t.clone()));
    assert_eq!(client.user(&stale).me().await.unwrap().id, id);
    let saved = persisted.lock().unwrap().clone();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].access_token, stale.tokens().await.access_token);
    assert_ne!(saved[0].refresh_token, t_refresh);
    let records = log.lock().unwrap().clone();
    let me: Vec<_> = records
        .iter()
        .filter(|r| r.path == "/api/oauth/user/me")
        .map(|r| r.status)
        .collect();
    assert_eq!(me, [Some(401), Some(200)]);
    sb.server.shutdown().await;
}

#[tokio::test]
async fn remaining_routes_and_refusals() {
    let sb = sandbox().await;
    let client = sb.client();
    let id = client
        .merchant()
        .create_user(&NewUser {
            password: None,
            ..new_user("mei@example.jp", "")
        })
        .await
        .unwrap();
    // Without a chosen password the sandbox generates one and shows it once.
    let password = id.sandbox_password.unwrap();
    let id = id.user.id;

    let page = client.sandbox().users(Some(1), None).await.unwrap();
    assert_eq!(page.data[0].id, id);
    assert!(page.next_cursor.is_none());

    let uris = vec!["https://app.example/callback".to_owned()];
    assert_eq!(
        client.sandbox().set_redirect_uris(&uris).await.unwrap(),
        uris
    );
    assert_eq!(client.sandbox().redirect_uris().await.unwrap(), uris);

    // A tampered cursor is a bad request, not a crash.
    let bad = TransactionQuery {
        cursor: Some(ito_api::Cursor::new("not-a-cursor")),
        ..Default::default()
    };
    let err = client.merchant().transactions(&id, &bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);

    // Step-by-step sign-in: a redirect whose state differs is refused before any exchange.
    let request = client
        .authorization_request("http://127.0.0.1:9/callback", "")
        .unwrap();
    let q: std::collections::HashMap<_, _> = request.url().query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(q["state"], request.state());
    let forged = ito_api::Redirect::from_query("code=abc&state=forged");
    let err = client.finish_sign_in(request, &forged).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authorization);

    // The user replaces their whole KYC form at once.
    let session = sign_in(&client, "mei@example.jp", password.expose()).await;
    let kyc = client
        .user(&session)
        .replace_kyc(&full_kyc())
        .await
        .unwrap();
    assert_eq!(kyc.status, KycStatus::Draft);
    assert!(kyc.missing.is_empty());

    // A refused webhook converts into the crate's error with the signature kind.
    let e: ito_api::Error = ito_api::webhook::Rejection::BadSignature.into();
    assert_eq!(e.kind(), ErrorKind::Signature);
    sb.server.shutdown().await;
}
