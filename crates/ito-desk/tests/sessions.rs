//! Signing in as a user against the real parts: the sandbox in-process on 127.0.0.1:0
//! (its authorize page, token endpoint and user routes), SQLite on disk, and the OS
//! keychain (the Secret Service of the private D-Bus session the tests run in), read
//! directly to see what it holds. The
//! browser is played by an HTTP client that opens the authorize page, posts its form
//! as the user and follows the redirect to the app's listener.
#![allow(clippy::unwrap_used)]

mod support;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ito_api::users::{NewUser, TransactionQuery};
use ito_api::{Client, Credentials, Environment, Secret, UserId};
use ito_desk::cards::access::CardAction;
use ito_desk::cards::{CardField, CardIssue, Cards};
use ito_desk::clipboard::SecretClipboard;
use ito_desk::desk::{Desk, Options};
use ito_desk::error::{Error, ErrorKind, SignInFailure};
use ito_desk::overview::Currency;
use ito_desk::profiles::{Mode, ProfileInput};
use ito_desk::request_log::RequestLogFilter;
use ito_desk::sessions::{SessionEndReason, SessionEvent, Sessions, UserSessionInfo};
use ito_desk::vault::{Vault, user_tokens_account};
use ito_sandbox::{Config, MerchantCredentials, Server};
use keyring_core::CredentialStore;
use tokio::task::JoinHandle;
use url::Url;

type Seen = Arc<Mutex<Vec<SessionEvent>>>;

struct Env {
    dir: tempfile::TempDir,
    sandbox: Server,
    merchant: MerchantCredentials,
    keyring: Arc<CredentialStore>,
    desk: Arc<Desk>,
    sessions: Arc<Sessions>,
    seen: Seen,
    profile_id: String,
}

async fn sandbox(dir: &Path, tune: impl FnOnce(&mut Config)) -> Server {
    let mut config = Config::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        dir.join("sandbox.db"),
    );
    config.write_demo_file = false;
    config.demo_data = false;
    tune(&mut config);
    Server::start(config).await.unwrap()
}

async fn open_desk(dir: &Path, keyring: &Arc<CredentialStore>) -> Arc<Desk> {
    let store = Arc::clone(keyring);
    Desk::open(
        Options {
            data_dir: dir.to_owned(),
            embedded_sandbox: false,
        },
        Vault::with_store(store),
        Arc::new(|_| {}),
    )
    .await
    .unwrap()
}

fn sessions_for(desk: &Arc<Desk>, seen: &Seen, timeout: Duration) -> Arc<Sessions> {
    let sink = Arc::clone(seen);
    Sessions::with_timeout(
        Arc::clone(desk),
        Arc::new(move |e| sink.lock().unwrap().push(e)),
        timeout,
    )
}

/// A sandbox merchant, and a desk with a test-mode profile for it.
async fn env_with(tune: impl FnOnce(&mut Config)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), tune).await;
    let merchant = sandbox.db().create_merchant("京都の茶屋").unwrap();
    let keyring: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new().unwrap();
    let desk = open_desk(dir.path(), &keyring).await;
    let profile = desk
        .add_profile(ProfileInput {
            name: "Tea shop".into(),
            mode: Mode::Test,
            base_url: sandbox.url(),
            access_key: Some(merchant.access_key.clone()),
            secret_key: Some(merchant.secret_key.clone()),
            client_id: merchant.client_id.clone(),
            client_secret: Some(merchant.client_secret.clone()),
            public_client_id: merchant.public_client_id.clone(),
        })
        .await
        .unwrap();
    desk.switch_profile(&profile.id).await.unwrap();
    let seen: Seen = Arc::default();
    let sessions = sessions_for(&desk, &seen, Duration::from_secs(30));
    Env {
        dir,
        sandbox,
        merchant,
        keyring,
        desk,
        sessions,
        seen,
        profile_id: profile.id,
    }
}

async fn env() -> Env {
    env_with(|_| {}).await
}

impl Env {
    /// The test's own client for the merchant, straight to the sandbox.
    fn client(&self) -> Client {
        let m = &self.merchant;
        Client::new(
            Environment::sandbox(&self.sandbox.url()).unwrap(),
            Credentials::new(m.access_key.clone(), m.secret_key.clone())
                .with_oauth(m.client_id.clone(), m.client_secret.clone())
                .with_public_client(m.public_client_id.clone()),
        )
        .unwrap()
    }

    /// A user of the merchant who signs in with `password`.
    async fn user(&self, email: &str, password: &str) -> UserId {
        self.client()
            .merchant()
            .create_user(&NewUser {
                email: email.into(),
                name: format!("User {email}"),
                phone: None,
                country: Some("JP".into()),
                password: Some(Secret::new(password)),
            })
            .await
            .unwrap()
            .user
            .id
    }

    /// This profile's keychain entries: account and secret. Other tests' profiles
    /// share the keychain, so only accounts under this profile's id are listed.
    fn keychain(&self) -> Vec<(String, Option<String>)> {
        let spec = std::collections::HashMap::from([("service", ito_desk::vault::SERVICE)]);
        self.keyring
            .search(&spec)
            .unwrap()
            .into_iter()
            .filter_map(|entry| {
                let account = entry.get_attributes().unwrap().remove("username")?;
                account
                    .starts_with(&format!("{}/", self.profile_id))
                    .then(|| {
                        let secret = entry
                            .get_secret()
                            .ok()
                            .map(|s| String::from_utf8(s).unwrap());
                        (account, secret)
                    })
            })
            .collect()
    }

    fn tokens_of(&self, user: &UserId) -> Option<serde_json::Value> {
        let account = user_tokens_account(&self.profile_id, user.as_str());
        self.keychain()
            .into_iter()
            .find(|(a, _)| *a == account)
            .and_then(|(_, secret)| secret)
            .map(|json| serde_json::from_str(&json).unwrap())
    }

    /// Keychain entries of user sign-ins that still hold a secret.
    fn stored_sign_ins(&self) -> Vec<String> {
        self.keychain()
            .into_iter()
            .filter(|(a, s)| a.contains("/user/") && s.is_some())
            .map(|(a, _)| a)
            .collect()
    }

    fn events(&self) -> Vec<SessionEvent> {
        self.seen.lock().unwrap().clone()
    }

    async fn sign_in(
        &self,
        user: &UserId,
        act: Act,
    ) -> (ito_desk::error::Result<UserSessionInfo>, Tab) {
        sign_in_with(&self.sessions, user, act).await
    }

    async fn shutdown(self) {
        self.desk.shutdown().await;
        self.sandbox.shutdown().await;
    }
}

/// What the played browser went through.
#[derive(Debug, Default)]
struct Saw {
    /// Where the authorize form redirected to (the app's listener, with code and state).
    location: Option<String>,
    /// The app listener's answer to a request on another path.
    other_path: Option<u16>,
    /// The page the app's listener answered the redirect with.
    page: String,
}

type Tab = Arc<Mutex<Option<JoinHandle<Saw>>>>;
type Act = Box<dyn FnOnce(Url) -> std::pin::Pin<Box<dyn Future<Output = Saw> + Send>> + Send>;

fn act<F, Fut>(f: F) -> Act
where
    F: FnOnce(Url) -> Fut + Send + 'static,
    Fut: Future<Output = Saw> + Send + 'static,
{
    Box::new(move |url| Box::pin(f(url)))
}

/// The opener the app gets: it starts the played browser on the authorize URL.
fn opener(tab: &Tab, act: Act) -> impl FnOnce(&Url) -> ito_desk::error::Result<()> + Send + use<> {
    let tab = Arc::clone(tab);
    move |url: &Url| {
        *tab.lock().unwrap() = Some(tokio::spawn(act(url.clone())));
        Ok(())
    }
}

async fn sign_in_with(
    sessions: &Sessions,
    user: &UserId,
    act: Act,
) -> (ito_desk::error::Result<UserSessionInfo>, Tab) {
    let tab: Tab = Arc::default();
    let result = sessions.sign_in(user.as_str(), opener(&tab, act)).await;
    (result, tab)
}

async fn saw(tab: &Tab) -> Saw {
    let handle = tab.lock().unwrap().take().unwrap();
    handle.await.unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn param(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

/// Opens the authorize page and posts its form; the redirect's target.
async fn post_form(url: &Url, email: &str, password: &str, decision: &str) -> String {
    let http = http();
    let page = http.get(url.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("decision"));
    let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    form.push(("email".into(), email.into()));
    form.push(("password".into(), password.into()));
    form.push(("decision".into(), decision.into()));
    let action = format!("{}://{}/oauth/authorize", url.scheme(), url.authority());
    let res = http.post(action).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 302);
    res.headers()["location"].to_str().unwrap().to_owned()
}

async fn visit(to: &str) -> String {
    http().get(to).send().await.unwrap().text().await.unwrap()
}

/// Signs in as `email` on the consent page. Before following the redirect it asks
/// the app's listener for `/favicon.ico`, as browsers do.
fn approve(email: &str, password: &str) -> Act {
    let (email, password) = (email.to_owned(), password.to_owned());
    act(move |url| async move {
        let location = post_form(&url, &email, &password, "approve").await;
        let listener = Url::parse(&param(&url, "redirect_uri")).unwrap();
        let favicon = listener.join("/favicon.ico").unwrap();
        let other_path = http().get(favicon).send().await.unwrap().status().as_u16();
        Saw {
            page: visit(&location).await,
            location: Some(location),
            other_path: Some(other_path),
        }
    })
}

fn deny() -> Act {
    act(|url| async move {
        let location = post_form(&url, "", "", "deny").await;
        Saw {
            page: visit(&location).await,
            location: Some(location),
            other_path: None,
        }
    })
}

/// Goes straight to the app's listener with `query(state)` instead of signing in.
fn redirect_with(query: impl FnOnce(&str) -> String + Send + 'static) -> Act {
    act(move |url| async move {
        let mut to = Url::parse(&param(&url, "redirect_uri")).unwrap();
        to.set_query(Some(&query(&param(&url, "state"))));
        Saw {
            page: visit(to.as_str()).await,
            location: Some(to.into()),
            other_path: None,
        }
    })
}

/// Opens nothing: the browser never comes back.
fn stay_away() -> Act {
    act(|_| async { Saw::default() })
}

fn failure(result: ito_desk::error::Result<UserSessionInfo>) -> (SignInFailure, String) {
    match result {
        Err(Error::SignIn { failure, message }) => (failure, message),
        other => panic!("expected a failed sign-in, got {other:?}"),
    }
}

const DONE_EN: &str = "Signed in — you can close this tab";
const DONE_JA: &str = "サインインしました — このタブは閉じてかまいません";
const FAILED_EN: &str = "Sign-in did not complete";

/// Polls `check` every 50 ms for up to 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn signs_in_several_users_who_see_their_own_data() {
    let env = env().await;
    let taro = env.user("taro@example.jp", "taro-pass-1").await;
    let hana = env.user("hana@example.jp", "hana-pass-1").await;

    let (info, tab) = env
        .sign_in(&taro, approve("taro@example.jp", "taro-pass-1"))
        .await;
    let info = info.unwrap();
    let browser = saw(&tab).await;
    // Another path on the listener was a 404, and the redirect still completed.
    assert_eq!(browser.other_path, Some(404));
    assert!(browser.page.contains(DONE_EN), "{}", browser.page);
    assert!(browser.page.contains(DONE_JA), "{}", browser.page);
    assert_eq!(info.user_id, taro.as_str());
    assert_eq!(info.profile_id, env.profile_id);
    assert_eq!(info.scope, None);
    let expires = chrono::DateTime::parse_from_rfc3339(&info.expires_at).unwrap();
    let left = expires.signed_duration_since(chrono::Utc::now());
    assert!(left > chrono::Duration::minutes(55), "{left}");

    // The tokens are in the keychain under (profile, user), whole.
    let stored = env.tokens_of(&taro).unwrap();
    let taro_access = stored["access_token"].as_str().unwrap().to_owned();
    let taro_refresh = stored["refresh_token"].as_str().unwrap().to_owned();
    assert!(taro_access.starts_with("uat_") && taro_refresh.starts_with("urt_"));

    let (hana_info, tab) = env
        .sign_in(&hana, approve("hana@example.jp", "hana-pass-1"))
        .await;
    hana_info.unwrap();
    assert!(saw(&tab).await.page.contains(DONE_EN));
    let listed = env.sessions.sessions().await.unwrap();
    let mut users: Vec<&str> = listed.iter().map(|s| s.user_id.as_str()).collect();
    users.sort_unstable();
    let mut both = vec![taro.as_str(), hana.as_str()];
    both.sort_unstable();
    assert_eq!(users, both);
    assert!(listed.iter().all(|s| !s.expires_at.is_empty()));

    // Each sees their own view through /api/oauth/user/*.
    for (user, email) in [(&taro, "taro@example.jp"), (&hana, "hana@example.jp")] {
        let view = env.sessions.user_client(user.as_str()).await.unwrap();
        let me = view.me().await.unwrap();
        assert_eq!((&me.id, me.email.as_str()), (user, email));
        view.balance().await.unwrap();
        assert!(
            view.transactions(&TransactionQuery::default())
                .await
                .unwrap()
                .data
                .is_empty()
        );
        assert!(view.cards().await.unwrap().is_empty());
        view.kyc().await.unwrap();
    }
    let signed_in = env
        .events()
        .iter()
        .filter(|e| matches!(e, SessionEvent::SignedIn(_)))
        .count();
    assert_eq!(signed_in, 2);

    // No token, code or verifier reaches the database (WAL included) or the request log.
    let hana_stored = env.tokens_of(&hana).unwrap();
    let secrets = [
        taro_access.clone(),
        taro_refresh.clone(),
        hana_stored["access_token"].as_str().unwrap().to_owned(),
        hana_stored["refresh_token"].as_str().unwrap().to_owned(),
        param(
            &Url::parse(browser.location.as_ref().unwrap()).unwrap(),
            "code",
        ),
    ];
    eventually("the user calls in the request log", || async {
        let log = env
            .desk
            .request_log(RequestLogFilter::default())
            .await
            .unwrap();
        log.iter().any(|r| r.path == "/api/oauth/user/me")
    })
    .await;
    let log = env
        .desk
        .request_log(RequestLogFilter::default())
        .await
        .unwrap();
    let log = serde_json::to_string(&log).unwrap();
    assert!(log.contains("/oauth/token"));
    let mut files = 0;
    for file in std::fs::read_dir(env.dir.path()).unwrap() {
        let path = file.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("desk.db") {
            continue;
        }
        files += 1;
        let bytes = std::fs::read(&path).unwrap();
        for secret in &secrets {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "a secret is in {name}");
        }
    }
    assert!(files >= 2, "the database and its WAL");
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret is in the request log"
        );
    }

    // Sign-out deletes the user's keychain entry, and only theirs.
    env.sessions.sign_out(taro.as_str()).await.unwrap();
    assert!(env.tokens_of(&taro).is_none());
    assert!(env.tokens_of(&hana).is_some());
    assert!(
        !env.keychain()
            .iter()
            .any(|(_, s)| s.as_deref().is_some_and(|s| s.contains(&taro_refresh)))
    );
    let gone = env.sessions.user_client(taro.as_str()).await.unwrap_err();
    assert!(matches!(gone, Error::SessionEnded { .. }), "{gone:?}");
    assert!(env.events().iter().any(|e| matches!(
        e,
        SessionEvent::Ended { reason: SessionEndReason::SignedOut, user_id, .. } if user_id == taro.as_str()
    )));
    let listed = env.sessions.sessions().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].user_id, hana.as_str());

    // A restarted app finds hana's session in the keychain and uses it.
    let Env {
        dir,
        sandbox,
        merchant,
        keyring,
        desk,
        sessions,
        seen,
        profile_id,
    } = env;
    desk.shutdown().await;
    drop((sessions, seen, desk));
    let desk = open_desk(dir.path(), &keyring).await;
    let seen: Seen = Arc::default();
    let sessions = sessions_for(&desk, &seen, Duration::from_secs(30));
    let env = Env {
        dir,
        sandbox,
        merchant,
        keyring,
        desk,
        sessions,
        seen,
        profile_id,
    };
    assert_eq!(env.sessions.sessions().await.unwrap().len(), 1);
    let view = env.sessions.user_client(hana.as_str()).await.unwrap();
    assert_eq!(view.me().await.unwrap().id, hana);

    // Removing the profile takes its users' sign-ins out of the keychain.
    env.desk.remove_profile(&env.profile_id).await.unwrap();
    assert!(
        env.stored_sign_ins().is_empty(),
        "{:?}",
        env.stored_sign_ins()
    );
    env.shutdown().await;
}

#[tokio::test]
async fn failed_sign_ins_end_clearly_and_store_nothing() {
    let env = env().await;
    let taro = env.user("taro@example.jp", "taro-pass-1").await;
    env.user("hana@example.jp", "hana-pass-1").await;

    // Denied on the consent page.
    let (result, tab) = env.sign_in(&taro, deny()).await;
    let (why, message) = failure(result);
    assert_eq!(why, SignInFailure::Denied);
    assert!(message.contains("denied"), "{message}");
    let page = saw(&tab).await.page;
    assert!(
        page.contains(FAILED_EN) && !page.contains(DONE_EN),
        "{page}"
    );

    // A redirect whose state is not this sign-in's, code or not.
    let (result, tab) = env
        .sign_in(&taro, redirect_with(|_| "code=abc&state=forged".into()))
        .await;
    let (why, message) = failure(result);
    assert_eq!(why, SignInFailure::StateMismatch);
    assert!(message.contains("state"), "{message}");
    assert!(saw(&tab).await.page.contains(FAILED_EN));

    // The gateway's own error redirect: it refuses a plain PKCE challenge.
    let tampered = act(|mut url: Url| async move {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .into_owned()
            .map(|(k, v)| match k.as_str() {
                "code_challenge_method" => (k, "plain".to_owned()),
                _ => (k, v),
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        let res = http().get(url).send().await.unwrap();
        assert_eq!(res.status(), 302);
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.contains("error=invalid_request"), "{location}");
        Saw {
            page: visit(&location).await,
            location: Some(location),
            other_path: None,
        }
    });
    let (result, tab) = env.sign_in(&taro, tampered).await;
    let (why, message) = failure(result);
    assert_eq!(why, SignInFailure::ErrorRedirect);
    assert!(
        message.contains("invalid_request") && message.contains("S256"),
        "{message}"
    );
    assert!(saw(&tab).await.page.contains(FAILED_EN));

    // An error redirect with this sign-in's state, made up by the browser's side.
    let (result, _) = env
        .sign_in(
            &taro,
            redirect_with(|state| format!("error=server_error&state={state}")),
        )
        .await;
    let (why, message) = failure(result);
    assert_eq!(why, SignInFailure::ErrorRedirect);
    assert!(message.contains("server_error"), "{message}");

    // Someone signs in on the consent page with another user's account.
    let (result, tab) = env
        .sign_in(&taro, approve("hana@example.jp", "hana-pass-1"))
        .await;
    let (why, message) = failure(result);
    assert_eq!(why, SignInFailure::WrongUser);
    assert!(message.contains("hana@example.jp"), "{message}");
    assert!(saw(&tab).await.page.contains(FAILED_EN));

    // Cancelled while waiting for the browser.
    assert!(!env.sessions.cancel_sign_in(taro.as_str()).await.unwrap());
    let tab: Tab = Arc::default();
    let waiting = {
        let (sessions, user, open) = (
            Arc::clone(&env.sessions),
            taro.clone(),
            opener(&tab, stay_away()),
        );
        tokio::spawn(async move { sessions.sign_in(user.as_str(), open).await })
    };
    eventually("the browser to open", || async {
        tab.lock().unwrap().is_some()
    })
    .await;
    assert!(env.sessions.cancel_sign_in(taro.as_str()).await.unwrap());
    let (why, message) = failure(waiting.await.unwrap());
    assert_eq!(why, SignInFailure::Cancelled);
    assert!(message.contains("cancelled"), "{message}");

    // No answer within the (shortened) timeout.
    let impatient = sessions_for(&env.desk, &env.seen, Duration::from_millis(300));
    let (result, _) = sign_in_with(&impatient, &taro, stay_away()).await;
    let (why, message) = failure(result);
    assert_eq!(why, SignInFailure::TimedOut);
    assert!(message.contains("300 ms"), "{message}");
    assert_eq!(
        Error::SignIn {
            failure: why,
            message
        }
        .kind(),
        ErrorKind::Timeout
    );

    // None of them stored anything.
    assert!(
        env.stored_sign_ins().is_empty(),
        "{:?}",
        env.stored_sign_ins()
    );
    assert!(env.sessions.sessions().await.unwrap().is_empty());
    assert!(
        !env.events()
            .iter()
            .any(|e| matches!(e, SessionEvent::SignedIn(_)))
    );
    let none = env.sessions.user_client(taro.as_str()).await.unwrap_err();
    assert!(matches!(none, Error::SessionEnded { .. }), "{none:?}");
    env.shutdown().await;
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_its_sign_in() {
    let env = env().await;
    let taro = env.user("taro@example.jp", "taro-pass-1").await;
    let (first, tab) = env
        .sign_in(&taro, approve("taro@example.jp", "taro-pass-1"))
        .await;
    first.unwrap();
    let location = Url::parse(&saw(&tab).await.location.unwrap()).unwrap();
    let used_code = param(&location, "code");
    let kept = env.tokens_of(&taro).unwrap();

    // The next sign-in's listener gets the first one's code, with its own state.
    let (result, tab) = env
        .sign_in(
            &taro,
            redirect_with(move |state| format!("code={used_code}&state={state}")),
        )
        .await;
    let (why, message) = failure(result);
    assert_eq!(why, SignInFailure::CodeRefused);
    assert!(message.contains("already used"), "{message}");
    assert!(saw(&tab).await.page.contains(FAILED_EN));
    assert_eq!(
        env.tokens_of(&taro).unwrap(),
        kept,
        "nothing new was stored"
    );

    // The gateway revoked what the code gave, so the first session ends at its next use.
    let view = env.sessions.user_client(taro.as_str()).await.unwrap();
    let ended = view.me().await.unwrap_err();
    assert!(matches!(ended, Error::SessionEnded { .. }), "{ended:?}");
    assert!(env.stored_sign_ins().is_empty());
    assert!(env.sessions.sessions().await.unwrap().is_empty());
    env.shutdown().await;
}

#[tokio::test]
async fn refreshes_replace_the_keychain_entry() {
    let env = env_with(|c| c.oauth_access_ttl = Duration::from_secs(3)).await;
    let taro = env.user("taro@example.jp", "taro-pass-1").await;
    let (info, _) = env
        .sign_in(&taro, approve("taro@example.jp", "taro-pass-1"))
        .await;
    let info = info.unwrap();
    let before = env.tokens_of(&taro).unwrap();
    let old_refresh = before["refresh_token"].as_str().unwrap().to_owned();
    let view = env.sessions.user_client(taro.as_str()).await.unwrap();
    view.me().await.unwrap();
    assert_eq!(env.tokens_of(&taro).unwrap(), before, "no refresh yet");

    // Past four fifths of its three seconds the token is renewed before use.
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert_eq!(view.me().await.unwrap().id, taro);
    let after = env.tokens_of(&taro).unwrap();
    let new_refresh = after["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, old_refresh);
    assert_ne!(after["access_token"], before["access_token"]);
    // The spent refresh token is nowhere in the keychain.
    assert!(
        !env.keychain()
            .iter()
            .any(|(_, s)| s.as_deref().is_some_and(|s| s.contains(&old_refresh)))
    );
    let refreshed: Vec<UserSessionInfo> = env
        .events()
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Refreshed(i) => Some(i),
            _ => None,
        })
        .collect();
    assert_eq!(refreshed.len(), 1);
    assert!(refreshed[0].expires_at > info.expires_at, "{refreshed:?}");
    assert_eq!(env.sessions.sessions().await.unwrap(), refreshed);

    // A restart resumes from the new tokens, not the spent ones.
    drop(view);
    let again = sessions_for(&env.desk, &env.seen, Duration::from_secs(30));
    let view = again.user_client(taro.as_str()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert_eq!(view.me().await.unwrap().id, taro);
    let third = env.tokens_of(&taro).unwrap();
    assert_ne!(third["refresh_token"], after["refresh_token"]);
    assert_eq!(env.stored_sign_ins().len(), 1);
    env.shutdown().await;
}

#[tokio::test]
async fn a_revoked_sign_in_signs_that_user_out() {
    let env = env().await;
    let taro = env.user("taro@example.jp", "taro-pass-1").await;
    let hana = env.user("hana@example.jp", "hana-pass-1").await;
    for (user, email, password) in [
        (&taro, "taro@example.jp", "taro-pass-1"),
        (&hana, "hana@example.jp", "hana-pass-1"),
    ] {
        let (info, _) = env.sign_in(user, approve(email, password)).await;
        info.unwrap();
    }
    let view = env.sessions.user_client(taro.as_str()).await.unwrap();
    view.me().await.unwrap();

    // Taro's refresh token is presented twice elsewhere: the gateway revokes the family.
    let stolen = Secret::new(
        env.tokens_of(&taro).unwrap()["refresh_token"]
            .as_str()
            .unwrap(),
    );
    let thief = env.client();
    thief.refresh_user_tokens(&stolen).await.unwrap();
    let reuse = thief.refresh_user_tokens(&stolen).await.unwrap_err();
    assert_eq!(
        reuse.failure().unwrap().code.as_deref(),
        Some("invalid_grant")
    );

    let ended = view.me().await.unwrap_err();
    let Error::SessionEnded { user_id, message } = &ended else {
        panic!("{ended:?}");
    };
    assert_eq!(user_id, taro.as_str());
    assert!(message.contains("signed out"), "{message}");
    assert_eq!(ended.kind(), ErrorKind::SessionEnded);
    let ends: Vec<(String, SessionEndReason)> = env
        .events()
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Ended {
                user_id, reason, ..
            } => Some((user_id, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        ends,
        [(taro.as_str().to_owned(), SessionEndReason::Revoked)]
    );
    assert!(env.tokens_of(&taro).is_none());
    let listed = env.sessions.sessions().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].user_id, hana.as_str());

    // Hana's session is untouched.
    let view = env.sessions.user_client(hana.as_str()).await.unwrap();
    assert_eq!(view.me().await.unwrap().id, hana);
    env.shutdown().await;
}

/// The user's KYC filled and submitted through the merchant, then approved.
async fn approve_kyc(env: &Env, user: &UserId) {
    let merchant = env.client();
    let values = support::complete_kyc()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    merchant
        .merchant()
        .replace_kyc(user, &values)
        .await
        .unwrap();
    merchant.merchant().submit_kyc(user).await.unwrap();
    merchant.sandbox().approve_kyc(user).await.unwrap();
}

/// Every file of the desk's data directory, read whole; not the sandbox's database
/// beside them, which holds the gateway's side.
fn desk_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("sandbox")
        })
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

#[tokio::test]
async fn a_card_is_issued_after_kyc_approval_and_revealed_under_guard() {
    let env = env().await;
    let taro = env.user("taro@example.jp", "taro-pass-1").await;
    let (info, _tab) = env
        .sign_in(&taro, approve("taro@example.jp", "taro-pass-1"))
        .await;
    info.unwrap();
    let clipboard = SecretClipboard::with_clear_after(Duration::from_millis(400));
    let mut expiries = clipboard.expiries();
    let cards = Cards::with_shown_for(
        Arc::clone(&env.desk),
        Arc::clone(&env.sessions),
        Arc::clone(&clipboard),
        Duration::from_millis(600),
    );
    let jpy = CardIssue {
        currency: Currency::Jpy,
        live_confirmed: false,
    };

    // Before approval: refused with the reason, and the gateway agrees.
    let refused = cards.issue(taro.as_str(), jpy.clone()).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Validation);
    assert!(refused.to_string().contains("not started"), "{refused}");
    let user = env.sessions.user_client(taro.as_str()).await.unwrap();
    let gateway = user
        .api()
        .issue_card(ito_api::Currency::Jpy)
        .await
        .unwrap_err();
    assert_eq!(gateway.kind(), ito_api::ErrorKind::Forbidden);
    assert!(user.cards().await.unwrap().is_empty());

    // After approval: issued, in the chosen currency, and seen in the user's view.
    approve_kyc(&env, &taro).await;
    let card = cards.issue(taro.as_str(), jpy).await.unwrap();
    assert_eq!(card.currency, Some(Currency::Jpy));
    let view = env.sessions.view(taro.as_str()).await.unwrap();
    assert_eq!(view.cards, vec![card.clone()]);
    assert_eq!(view.user.user_id, taro.as_str());

    // A reveal needs staff's confirmation; without it nothing is fetched.
    let unconfirmed = cards
        .reveal(taro.as_str(), &card.card_id, false)
        .await
        .unwrap_err();
    assert_eq!(unconfirmed.kind(), ErrorKind::Validation);
    assert!(
        env.client()
            .sandbox()
            .card_reveals(&taro)
            .await
            .unwrap()
            .is_empty()
    );

    let shown = cards
        .reveal(taro.as_str(), &card.card_id, true)
        .await
        .unwrap();
    assert_eq!(shown.number.len(), 16);
    assert!(ito_sandbox::luhn_valid(&shown.number), "{}", shown.last4);
    assert!(shown.number.ends_with(&card.last4));
    assert_eq!(shown.cvv.len(), 3);
    assert!(!format!("{shown:?}").contains(&shown.number));
    assert_eq!(
        shown.access.iter().map(|a| a.action).collect::<Vec<_>>(),
        [CardAction::Revealed]
    );
    assert_eq!(
        env.client()
            .sandbox()
            .card_reveals(&taro)
            .await
            .unwrap()
            .len(),
        1
    );

    // Copied through the system clipboard, recorded, and cleared after its time.
    let copied = cards
        .copy(&shown.reveal_id, CardField::Number)
        .await
        .unwrap();
    assert_eq!(
        copied.access.iter().map(|a| a.action).collect::<Vec<_>>(),
        [CardAction::CopiedNumber, CardAction::Revealed]
    );
    assert_eq!(
        arboard::Clipboard::new().unwrap().get_text().unwrap(),
        shown.number
    );
    assert!(expiries.wait_for(|e| e.copy > 0).await.unwrap().cleared);

    // Once hidden, the data is gone from the app: nothing left to copy.
    cards.hide(&shown.reveal_id);
    let ended = cards
        .copy(&shown.reveal_id, CardField::Cvv)
        .await
        .unwrap_err();
    assert!(ended.to_string().contains("hidden again"), "{ended}");
    let again = cards
        .reveal(taro.as_str(), &card.card_id, true)
        .await
        .unwrap();
    assert!(cards.is_shown(&again.reveal_id));
    eventually("the reveal to end on its own", || {
        let shown = cards.is_shown(&again.reveal_id);
        async move { !shown }
    })
    .await;
    assert_eq!(cards.access(&card.card_id).await.unwrap().len(), 3);

    // Neither the number nor the CVV is in any file the desk wrote.
    let files = desk_files(env.dir.path());
    assert!(
        files.iter().any(|(p, _)| p.ends_with("-wal")),
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (path, bytes) in files {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&shown.number), "the number is in {path}");
        assert!(
            !text.contains(&format!("\"{}\"", shown.cvv)),
            "the CVV is in {path}"
        );
    }
    env.shutdown().await;
}

#[tokio::test]
async fn an_active_mode_card_needs_staff_confirmation_first() {
    let env = env().await;
    let live = env
        .desk
        .add_profile(ProfileInput {
            name: "Tea shop (live)".into(),
            mode: Mode::Active,
            // Never reached: the refusal comes before any call.
            base_url: "https://127.0.0.1:9".into(),
            access_key: Some(env.merchant.access_key.clone()),
            secret_key: Some(env.merchant.secret_key.clone()),
            client_id: env.merchant.client_id.clone(),
            client_secret: Some(env.merchant.client_secret.clone()),
            public_client_id: env.merchant.public_client_id.clone(),
        })
        .await
        .unwrap();
    env.desk.switch_profile(&live.id).await.unwrap();
    let cards = Cards::new(
        Arc::clone(&env.desk),
        Arc::clone(&env.sessions),
        SecretClipboard::new(),
    );
    let issue = |live_confirmed| CardIssue {
        currency: Currency::Usd,
        live_confirmed,
    };
    let refused = cards.issue("u_1", issue(false)).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Validation);
    assert!(refused.to_string().contains("active mode"), "{refused}");
    // Confirmed, it goes on, and stops at the missing sign-in.
    let next = cards.issue("u_1", issue(true)).await.unwrap_err();
    assert_eq!(next.kind(), ErrorKind::SessionEnded, "{next}");
    env.shutdown().await;
}
