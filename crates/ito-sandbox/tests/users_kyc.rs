//! Merchant and user endpoints over HTTP: users, profiles, ownership, the KYC state
//! machine on both sides, balances and paginated transactions.
#![allow(clippy::unwrap_used)]

mod common;
mod support;

use std::collections::HashSet;
use std::time::Duration;

use common::Sandbox;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn users_are_created_validated_and_unique_per_merchant() {
    let sb = Sandbox::start().await;
    let mt = merchant_token(&sb).await;
    let email = unique_email("Hanako");
    let r = call(
        &sb,
        Method::POST,
        "/api/oauth/merchant/users",
        &mt,
        Some(
            json!({"email": email, "name": "佐藤 花子", "phone": "+819012345678", "country": "jp"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    let u = &r.json;
    assert!(u["id"].as_str().unwrap().starts_with("usr_"));
    assert_eq!(u["email"], email.to_lowercase());
    assert_eq!(u["name"], "佐藤 花子");
    assert_eq!(u["phone"], "+819012345678");
    assert_eq!(u["country"], "JP");
    assert_eq!(u["kyc_status"], "not_started");
    assert!(u["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(u.get("password_hash").is_none());
    // No password chosen: one is generated, shown once, and signs in.
    let generated = u["sandbox_password"].as_str().unwrap();
    let p = pkce();
    let code = code_for(&sb, &email, generated, &p).await;
    assert_eq!(
        exchange(&sb, &code, &p.verifier, REDIRECT).await.status,
        StatusCode::OK
    );

    let dup = call(
        &sb,
        Method::POST,
        "/api/oauth/merchant/users",
        &mt,
        Some(json!({"email": email.to_uppercase(), "name": "Again"})),
    )
    .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.json["status"], "error");

    let bad = call(
        &sb,
        Method::POST,
        "/api/oauth/merchant/users",
        &mt,
        Some(json!({"email": "nope", "name": "", "phone": "090-1234", "country": "ZZ", "password": "short"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json["code"], 422);
    for f in ["email", "name", "phone", "country", "password"] {
        assert!(bad.json["errors"][f].is_array(), "{f}: {}", bad.json);
    }

    // Another merchant may use the same email for its own user.
    let other = sb.server.db().create_merchant("Other Shop").unwrap();
    let ot = token_request(
        &sb,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &other.client_id),
            ("client_secret", &other.client_secret),
        ],
    )
    .await;
    let ot = ot.json["access_token"].as_str().unwrap();
    create_user(&sb, ot, &email, "s3cret-pass").await;
}

#[tokio::test]
async fn profile_updates_are_partial_and_validated_per_field() {
    let sb = Sandbox::start().await;
    let mt = merchant_token(&sb).await;
    let user = create_user(&sb, &mt, &unique_email("p"), "s3cret-pass").await;
    let path = format!(
        "/api/oauth/merchant/users/{}/profile",
        user["id"].as_str().unwrap()
    );

    let r = call(
        &sb,
        Method::PATCH,
        &path,
        &mt,
        Some(json!({"phone": "+81312345678"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["phone"], "+81312345678");
    assert_eq!(r.json["name"], user["name"], "untouched fields stay");

    let r = call(
        &sb,
        Method::PATCH,
        &path,
        &mt,
        Some(json!({"name": "Taro Yamada", "country": ""})),
    )
    .await;
    assert_eq!(r.json["name"], "Taro Yamada");
    assert_eq!(r.json["country"], Value::Null);
    assert_eq!(r.json["phone"], "+81312345678");

    let bad = call(
        &sb,
        Method::PATCH,
        &path,
        &mt,
        Some(json!({"name": "", "email": "x@", "phone": "12"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for f in ["name", "email", "phone"] {
        assert!(bad.json["errors"][f].is_array(), "{f}");
    }
    let unchanged = call(&sb, Method::PATCH, &path, &mt, Some(json!({}))).await;
    assert_eq!(
        unchanged.json["name"], "Taro Yamada",
        "a refused update changes nothing"
    );

    let other = create_user(&sb, &mt, &unique_email("taken"), "s3cret-pass").await;
    let taken = call(
        &sb,
        Method::PATCH,
        &path,
        &mt,
        Some(json!({"email": other["email"]})),
    )
    .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn another_merchants_user_is_exactly_as_absent_as_an_unknown_one() {
    let sb = Sandbox::start().await;
    let mt = merchant_token(&sb).await;
    let user = create_user(&sb, &mt, &unique_email("mine"), "s3cret-pass").await;
    let id = user["id"].as_str().unwrap();

    let other = sb.server.db().create_merchant("Other Shop").unwrap();
    let ot = token_request(
        &sb,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &other.client_id),
            ("client_secret", &other.client_secret),
        ],
    )
    .await;
    let ot = ot.json["access_token"].as_str().unwrap().to_owned();

    for (method, suffix, body) in [
        (Method::PATCH, "profile", Some(json!({"name": "x"}))),
        (Method::GET, "balance", None),
        (Method::GET, "transactions", None),
        (Method::GET, "cards", None),
        (Method::GET, "kyc", None),
        (Method::PATCH, "kyc", Some(json!({"values": {}}))),
        (Method::PUT, "kyc", Some(json!({"values": complete_kyc()}))),
        (Method::POST, "kyc/submit", None),
    ] {
        let foreign = call(
            &sb,
            method.clone(),
            &format!("/api/oauth/merchant/users/{id}/{suffix}"),
            &ot,
            body.clone(),
        )
        .await;
        let unknown = call(
            &sb,
            method.clone(),
            &format!("/api/oauth/merchant/users/usr_doesnotexist/{suffix}"),
            &ot,
            body.clone(),
        )
        .await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{suffix}");
        assert_eq!(foreign.json, unknown.json, "{suffix}");
        let mine = call(
            &sb,
            method,
            &format!("/api/oauth/merchant/users/{id}/{suffix}"),
            &mt,
            body,
        )
        .await;
        assert!(mine.status.is_success(), "{suffix}: {}", mine.json);
    }
    // The control API checks ownership too.
    let sandbox_foreign = call(
        &sb,
        Method::POST,
        &format!("/sandbox/users/{id}/kyc/approve"),
        &other.access_key,
        None,
    )
    .await;
    assert_eq!(sandbox_foreign.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn kyc_state_machine_on_the_merchant_side() {
    let sb = Sandbox::start().await;
    let mt = merchant_token(&sb).await;
    let user = create_user(&sb, &mt, &unique_email("kyc"), "s3cret-pass").await;
    let id = user["id"].as_str().unwrap();
    let kyc = format!("/api/oauth/merchant/users/{id}/kyc");

    let r = call(&sb, Method::GET, &kyc, &mt, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["status"], "not_started");
    assert_eq!(r.json["values"], json!({}));
    assert_eq!(r.json["updated_at"], Value::Null);
    let missing: HashSet<&str> = r.json["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(missing, REQUIRED_KYC.into_iter().collect());
    let fields: Vec<&Value> = r.json["schema"]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["fields"].as_array().unwrap())
        .collect();
    let required: HashSet<&str> = fields
        .iter()
        .filter(|f| f["required"] == true)
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(required, REQUIRED_KYC.into_iter().collect());
    let doc_type = fields
        .iter()
        .find(|f| f["id"] == "id_document_type")
        .unwrap();
    assert_eq!(doc_type["type"], "select");
    assert_eq!(doc_type["options"].as_array().unwrap().len(), 4);
    assert!(
        doc_type["options"][0]["label"]
            .as_str()
            .unwrap()
            .contains('/')
    );
    assert!(
        fields
            .iter()
            .any(|f| f["id"] == "address_line2" && f["required"] == false)
    );

    // PATCH merges and validates only what it is given.
    let r = call(
        &sb,
        Method::PATCH,
        &kyc,
        &mt,
        Some(json!({"values": {"legal_name": "山田 太郎", "legal_name_kana": "ヤマダ タロウ"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["status"], "draft");
    assert_eq!(r.json["missing"].as_array().unwrap().len(), 11);
    let bad = call(
        &sb,
        Method::PATCH,
        &kyc,
        &mt,
        Some(json!({"values": {"legal_name_kana": "やまだ", "postal_code": "1000001", "date_of_birth": "2015-01-01", "bogus": "x"}})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for f in ["legal_name_kana", "postal_code", "date_of_birth", "bogus"] {
        assert!(bad.json["errors"][f].is_array(), "{f}: {}", bad.json);
    }

    // PUT of an incomplete form names every missing field and changes nothing.
    let before = call(&sb, Method::GET, &kyc, &mt, None).await.json;
    let put = call(
        &sb,
        Method::PUT,
        &kyc,
        &mt,
        Some(json!({"values": {"city": "千代田区"}})),
    )
    .await;
    assert_eq!(put.status, StatusCode::UNPROCESSABLE_ENTITY);
    let named: HashSet<&str> = put.json["errors"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let expected: HashSet<&str> = REQUIRED_KYC.into_iter().filter(|f| *f != "city").collect();
    assert_eq!(named, expected);
    assert_eq!(call(&sb, Method::GET, &kyc, &mt, None).await.json, before);

    let submit = format!("{kyc}/submit");
    let early = call(&sb, Method::POST, &submit, &mt, None).await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an incomplete form cannot be submitted"
    );

    let put = call(
        &sb,
        Method::PUT,
        &kyc,
        &mt,
        Some(json!({"values": complete_kyc()})),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.json);
    assert_eq!(put.json["missing"], json!([]));
    let sent = call(&sb, Method::POST, &submit, &mt, None).await;
    assert_eq!(sent.status, StatusCode::OK);
    assert_eq!(sent.json["status"], "submitted");

    // Locked while submitted.
    for (m, p, b) in [
        (
            Method::PATCH,
            &kyc,
            Some(json!({"values": {"city": "港区"}})),
        ),
        (Method::PUT, &kyc, Some(json!({"values": complete_kyc()}))),
        (Method::POST, &submit, None),
    ] {
        let r = call(&sb, m, p, &mt, b).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
        assert!(r.json["message"].as_str().unwrap().contains("locked"));
    }

    // Rejected: carries the reason and unlocks.
    let ak = sb.merchant.access_key.clone();
    let no_reason = call(
        &sb,
        Method::POST,
        &format!("/sandbox/users/{id}/kyc/reject"),
        &ak,
        Some(json!({})),
    )
    .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let rej = call(
        &sb,
        Method::POST,
        &format!("/sandbox/users/{id}/kyc/reject"),
        &ak,
        Some(json!({"reason": "Blurry photo"})),
    )
    .await;
    assert_eq!(rej.status, StatusCode::OK, "{}", rej.json);
    let r = call(&sb, Method::GET, &kyc, &mt, None).await;
    assert_eq!(r.json["status"], "rejected");
    assert_eq!(r.json["rejection_reason"], "Blurry photo");
    let again = call(
        &sb,
        Method::POST,
        &format!("/sandbox/users/{id}/kyc/approve"),
        &ak,
        None,
    )
    .await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "only a submitted form is reviewed"
    );
    let edit = call(
        &sb,
        Method::PATCH,
        &kyc,
        &mt,
        Some(json!({"values": {"address_line2": "ITOビル 3F"}})),
    )
    .await;
    assert_eq!(edit.json["status"], "draft");
    assert_eq!(edit.json["rejection_reason"], Value::Null);

    assert_eq!(
        call(&sb, Method::POST, &submit, &mt, None).await.status,
        StatusCode::OK
    );
    let ok = call(
        &sb,
        Method::POST,
        &format!("/sandbox/users/{id}/kyc/approve"),
        &ak,
        None,
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json["kyc"]["status"], "approved");
    let locked = call(
        &sb,
        Method::PATCH,
        &kyc,
        &mt,
        Some(json!({"values": {"city": "港区"}})),
    )
    .await;
    assert_eq!(locked.status, StatusCode::CONFLICT);
    let profile = call(
        &sb,
        Method::PATCH,
        &format!("/api/oauth/merchant/users/{id}/profile"),
        &mt,
        Some(json!({})),
    )
    .await;
    assert_eq!(profile.json["kyc_status"], "approved");
}

#[tokio::test]
async fn kyc_on_the_user_side_and_automatic_review() {
    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox::start_with(dir, |c| {
        c.kyc_auto_review = Some(Duration::from_millis(200))
    })
    .await;
    let (_, ut, _) = signed_in_user(&sb).await;
    let r = call(&sb, Method::GET, "/api/oauth/user/kyc", &ut, None).await;
    assert_eq!(r.json["status"], "not_started");
    let r = call(
        &sb,
        Method::PATCH,
        "/api/oauth/user/kyc",
        &ut,
        Some(json!({"values": {"nationality": "us"}})),
    )
    .await;
    assert_eq!(r.json["values"]["nationality"], "US");
    let r = call(
        &sb,
        Method::PUT,
        "/api/oauth/user/kyc",
        &ut,
        Some(json!({"values": complete_kyc()})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json["values"]["nationality"], "JP",
        "PUT replaces the whole form"
    );
    let r = call(&sb, Method::POST, "/api/oauth/user/kyc/submit", &ut, None).await;
    assert_eq!(r.json["status"], "submitted");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = call(&sb, Method::GET, "/api/oauth/user/kyc", &ut, None).await;
        if r.json["status"] == "approved" {
            assert!(r.json["reviewed_at"].is_string());
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not approved automatically"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post_tx(sb: &Sandbox, user: &str, body: Value) -> support::Reply {
    call(
        sb,
        Method::POST,
        &format!("/sandbox/users/{user}/transactions"),
        &sb.merchant.access_key,
        Some(body),
    )
    .await
}

#[tokio::test]
async fn transactions_move_balances_at_the_currency_scale() {
    let sb = Sandbox::start().await;
    let mt = merchant_token(&sb).await;
    let user = create_user(&sb, &mt, &unique_email("bal"), "s3cret-pass").await;
    let id = user["id"].as_str().unwrap();

    let r = post_tx(
        &sb,
        id,
        json!({"type": "top_up", "amount": "10000", "currency": "JPY", "description": "Bank"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    assert_eq!(r.json["transaction"]["amount"], "10000");
    assert_eq!(r.json["transaction"]["status"], "completed");
    post_tx(
        &sb,
        id,
        json!({"type": "card_spend", "amount": 1200, "currency": "JPY", "description": "Lawson"}),
    )
    .await;
    post_tx(
        &sb,
        id,
        json!({"type": "top_up", "amount": 25.5, "currency": "USD"}),
    )
    .await;
    post_tx(
        &sb,
        id,
        json!({"type": "fee", "amount": "0.50", "currency": "USD"}),
    )
    .await;
    post_tx(
        &sb,
        id,
        json!({"type": "refund", "amount": "200", "currency": "JPY"}),
    )
    .await;

    let over = post_tx(
        &sb,
        id,
        json!({"type": "card_spend", "amount": "100", "currency": "USD"}),
    )
    .await;
    assert_eq!(over.status, StatusCode::CONFLICT, "no overdraft");
    let bad = post_tx(
        &sb,
        id,
        json!({"type": "gift", "amount": "1.005", "currency": "USD"}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.json["errors"]["type"].is_array() && bad.json["errors"]["amount"].is_array());
    let bad = post_tx(
        &sb,
        id,
        json!({"type": "top_up", "amount": "12.5", "currency": "JPY"}),
    )
    .await;
    assert!(bad.json["errors"]["amount"].is_array());
    let bad = post_tx(
        &sb,
        id,
        json!({"type": "top_up", "amount": "-5", "currency": "EUR"}),
    )
    .await;
    assert!(bad.json["errors"]["currency"].is_array());

    let b = call(
        &sb,
        Method::GET,
        &format!("/api/oauth/merchant/users/{id}/balance"),
        &mt,
        None,
    )
    .await;
    assert_eq!(b.status, StatusCode::OK);
    assert_eq!(b.json["user_id"], id);
    assert_eq!(
        b.json["balances"],
        json!([
            {"currency": "USD", "available": "25.00", "pending": "0.00"},
            {"currency": "JPY", "available": "9000", "pending": "0"},
            {"currency": "SGP-USD", "available": "0.00", "pending": "0.00"},
        ])
    );
}

#[tokio::test]
async fn pagination_neither_skips_nor_repeats_while_rows_are_added() {
    let sb = Sandbox::start().await;
    let mt = merchant_token(&sb).await;
    let user = create_user(&sb, &mt, &unique_email("page"), "s3cret-pass").await;
    let id = user["id"].as_str().unwrap();
    for i in 0..25 {
        post_tx(
            &sb,
            id,
            json!({"type": "top_up", "amount": format!("{}", 100 + i), "currency": "JPY"}),
        )
        .await;
    }
    let base = format!("/api/oauth/merchant/users/{id}/transactions");
    let page = |q: String| {
        let sb = &sb;
        let mt = mt.clone();
        let base = base.clone();
        async move { call(sb, Method::GET, &format!("{base}?{q}"), &mt, None).await }
    };
    let first = page("limit=10".into()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.json);
    let mut seen: Vec<String> = first.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(first.json["data"][0]["amount"], "124", "newest first");
    let mut cursor = first.json["next_cursor"].as_str().unwrap().to_owned();
    // New rows arrive between pages.
    for _ in 0..5 {
        post_tx(
            &sb,
            id,
            json!({"type": "fee", "amount": "1", "currency": "JPY"}),
        )
        .await;
    }
    loop {
        let r = page(format!("limit=10&cursor={cursor}")).await;
        seen.extend(
            r.json["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_owned()),
        );
        match r.json["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 25);

    let t = page("limit=100".into()).await;
    let item = &t.json["data"][0];
    for k in [
        "id",
        "type",
        "amount",
        "currency",
        "status",
        "description",
        "created_at",
    ] {
        assert!(item.get(k).is_some(), "{k}");
    }
    assert_eq!(t.json["data"].as_array().unwrap().len(), 30);
    assert_eq!(
        page("type=fee".into()).await.json["data"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(page("currency=USD".into()).await.json["data"], json!([]));
    assert_eq!(
        page("from=2000-01-01&to=2999-12-31&limit=100".into())
            .await
            .json["data"]
            .as_array()
            .unwrap()
            .len(),
        30
    );
    assert_eq!(page("to=2000-01-01".into()).await.json["data"], json!([]));

    for bad in ["cursor=abc", "cursor=dXNlcnM6NQ", "cursor=%00%ff"] {
        let r = page(bad.into()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(r.json["status"], "error");
    }
    for bad in [
        "limit=0",
        "limit=101",
        "limit=x",
        "type=gift",
        "currency=EUR",
        "from=yesterday",
    ] {
        assert_eq!(
            page(bad.into()).await.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }

    // The signed-in user reads the same history.
    let p = pkce();
    let code = code_for(&sb, user["email"].as_str().unwrap(), "s3cret-pass", &p).await;
    let ut = exchange(&sb, &code, &p.verifier, REDIRECT).await.json["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mine = call(
        &sb,
        Method::GET,
        "/api/oauth/user/transactions?limit=100",
        &ut,
        None,
    )
    .await;
    assert_eq!(mine.json["data"].as_array().unwrap().len(), 30);
    let bal = call(&sb, Method::GET, "/api/oauth/user/balance", &ut, None).await;
    assert_eq!(bal.json["balances"][1]["available"], "2795");
}

#[tokio::test]
async fn sandbox_user_listing_and_demo_data() {
    let sb = Sandbox::start_with(tempfile::tempdir().unwrap(), |c| c.demo_data = true).await;
    let ak = sb.merchant.access_key.clone();
    let r = call(&sb, Method::GET, "/sandbox/users?limit=100", &ak, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["code"], 200);
    assert_eq!(r.json["status"], "ok");
    let demo = r.json["data"].as_array().unwrap().clone();
    assert_eq!(demo.len(), 10, "the demo merchant starts with demo users");
    let states: HashSet<&str> = demo
        .iter()
        .map(|u| u["kyc_status"].as_str().unwrap())
        .collect();
    assert_eq!(states.len(), 5, "KYC in every state: {states:?}");

    let mt = merchant_token(&sb).await;
    let newest = create_user(&sb, &mt, &unique_email("newest"), "s3cret-pass").await;
    let first = call(&sb, Method::GET, "/sandbox/users?limit=4", &ak, None).await;
    assert_eq!(first.json["data"][0]["id"], newest["id"]);
    let mut ids: Vec<String> = Vec::new();
    let mut next = Some(String::new());
    while let Some(cursor) = next {
        let r = call(
            &sb,
            Method::GET,
            &format!("/sandbox/users?limit=4&cursor={cursor}"),
            &ak,
            None,
        )
        .await;
        ids.extend(
            r.json["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_owned()),
        );
        next = r.json["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(ids.len(), 11);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 11);

    // A demo user has a history and can sign in with the documented password.
    let approved = demo.iter().find(|u| u["kyc_status"] == "approved").unwrap();
    let id = approved["id"].as_str().unwrap();
    let txs = call(
        &sb,
        Method::GET,
        &format!("/api/oauth/merchant/users/{id}/transactions"),
        &mt,
        None,
    )
    .await;
    assert_eq!(txs.json["data"].as_array().unwrap().len(), 20);
    let cards = call(
        &sb,
        Method::GET,
        &format!("/api/oauth/merchant/users/{id}/cards"),
        &mt,
        None,
    )
    .await;
    assert!(!cards.json["data"].as_array().unwrap().is_empty());
    let p = pkce();
    let code = code_for(
        &sb,
        approved["email"].as_str().unwrap(),
        ito_sandbox::SEED_PASSWORD,
        &p,
    )
    .await;
    assert_eq!(
        exchange(&sb, &code, &p.verifier, REDIRECT).await.status,
        StatusCode::OK
    );

    let none = call(&sb, Method::GET, "/sandbox/users", "wrong-key", None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
}
