//! The KYC service against the real parts: the sandbox in-process on 127.0.0.1:0
//! behind a recording proxy (which sees every request the desk sends and can cut the
//! gateway off), SQLite on disk, and the desk harness process for SIGKILL. Forms
//! filled through a user's own session sign the user in as `tests/sessions.rs` does:
//! an HTTP client posts the sandbox's authorize form in place of a browser.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use ito_api::kyc::KycValues;
use ito_api::users::NewUser;
use ito_api::{Client, Credentials, Environment, Secret, UserId};
use ito_desk::desk::{Desk, Options};
use ito_desk::error::{Error, ErrorKind};
use ito_desk::kyc::drafts::{Draft, SaveState};
use ito_desk::kyc::{Keep, KycEvent, KycForms, KycReview, Resolution, Via};
use ito_desk::profiles::{Mode, ProfileInput};
use ito_desk::sessions::Sessions;
use ito_desk::users::Users;
use ito_desk::users::directory::KycState;
use ito_desk::vault::Vault;
use ito_sandbox::{Config, MerchantCredentials, Server};
use keyring_core::CredentialStore;
use url::Url;

/// A request the desk sent, as the proxy saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    body: String,
    authorization: Option<String>,
    /// `None` when the gateway was cut off.
    status: Option<u16>,
}

/// An HTTP proxy on 127.0.0.1:0 that records each request and passes it to the
/// gateway, or answers 502 while the gateway is cut off.
#[derive(Clone)]
struct Recorder {
    upstream: Arc<Mutex<Option<String>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    http: reqwest::Client,
}

impl Recorder {
    async fn start(upstream: String) -> (Self, String) {
        let recorder = Self {
            upstream: Arc::new(Mutex::new(Some(upstream))),
            seen: Arc::default(),
            http: reqwest::Client::new(),
        };
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(Self::pass)
            .with_state(recorder.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (recorder, url)
    }

    async fn pass(State(r): State<Self>, req: Request) -> Response {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let path = parts.uri.path().to_owned();
        let upstream = r.upstream.lock().unwrap().clone();
        let mut seen = Seen {
            method: parts.method.to_string(),
            path: path.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
            authorization: parts
                .headers
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            status: None,
        };
        let answer = match upstream {
            None => Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::from("the gateway is cut off"))
                .unwrap(),
            Some(up) => {
                let target = format!(
                    "{up}{}",
                    parts.uri.path_and_query().map_or("/", |p| p.as_str())
                );
                let mut headers = parts.headers.clone();
                headers.remove(axum::http::header::HOST);
                let got = r
                    .http
                    .request(parts.method.clone(), target)
                    .headers(headers)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let mut answer = Response::builder().status(got.status());
                for (k, v) in got.headers() {
                    answer = answer.header(k, v);
                }
                answer.body(Body::from(got.bytes().await.unwrap())).unwrap()
            }
        };
        seen.status = upstream_status(&answer);
        r.seen.lock().unwrap().push(seen);
        answer
    }

    fn cut_off(&self) {
        *self.upstream.lock().unwrap() = None;
    }

    fn reconnect(&self, upstream: String) {
        *self.upstream.lock().unwrap() = Some(upstream);
    }

    /// The KYC requests the gateway answered 2xx.
    fn answered(&self, method: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.method == method && s.path.contains("/kyc"))
            .filter(|s| s.status.is_some_and(|c| (200..300).contains(&c)))
            .cloned()
            .collect()
    }

    /// The merchant-side KYC `PATCH`es the gateway answered 2xx, with the user and the
    /// values each carried.
    fn patches(&self) -> Vec<(String, KycValues)> {
        self.answered("PATCH")
            .iter()
            .filter(|s| s.path.ends_with("/kyc") && !s.path.starts_with(USER_KYC))
            .map(|s| {
                let body: serde_json::Value = serde_json::from_str(&s.body).unwrap();
                let user = s.path.split('/').rev().nth(1).unwrap().to_owned();
                (
                    user,
                    serde_json::from_value(body["values"].clone()).unwrap(),
                )
            })
            .collect()
    }

    /// The user-side KYC `PATCH`es the gateway answered 2xx, with the bearer token and
    /// the values each carried.
    fn user_patches(&self) -> Vec<(String, KycValues)> {
        self.answered("PATCH")
            .iter()
            .filter(|s| s.path == USER_KYC)
            .map(|s| {
                let body: serde_json::Value = serde_json::from_str(&s.body).unwrap();
                (
                    s.authorization.clone().unwrap_or_default(),
                    serde_json::from_value(body["values"].clone()).unwrap(),
                )
            })
            .collect()
    }

    /// Every KYC request that reached the gateway, as `METHOD path`.
    fn kyc_requests(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path.contains("/kyc") && s.status.is_some())
            .map(|s| format!("{} {}", s.method, s.path))
            .collect()
    }
}

/// The user's own KYC route.
const USER_KYC: &str = "/api/oauth/user/kyc";

fn upstream_status(answer: &Response) -> Option<u16> {
    (answer.status() != StatusCode::BAD_GATEWAY).then(|| answer.status().as_u16())
}

type Events = Arc<Mutex<Vec<KycEvent>>>;

struct Env {
    dir: tempfile::TempDir,
    sandbox: Option<Server>,
    merchant: MerchantCredentials,
    recorder: Recorder,
    profile_id: String,
    keyring: Arc<CredentialStore>,
    desk: Arc<Desk>,
    sessions: Arc<Sessions>,
    kyc: Arc<KycForms>,
    users: Arc<Users>,
    events: Events,
}

async fn sandbox(db: &Path) -> Server {
    let mut config = Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), db.to_owned());
    config.write_demo_file = false;
    config.demo_data = false;
    Server::start(config).await.unwrap()
}

async fn open(
    dir: &Path,
    keyring: &Arc<CredentialStore>,
    events: &Events,
) -> (Arc<Desk>, Arc<Sessions>, Arc<KycForms>) {
    let desk = Desk::open(
        Options {
            data_dir: dir.to_owned(),
            embedded_sandbox: false,
        },
        Vault::with_store(Arc::clone(keyring)),
        Arc::new(|_| {}),
    )
    .await
    .unwrap();
    let sessions = Sessions::new(Arc::clone(&desk), Arc::new(|_| {}));
    let sink = Arc::clone(events);
    let kyc = KycForms::start(
        Arc::clone(&desk),
        Arc::clone(&sessions),
        Arc::new(move |e| sink.lock().unwrap().push(e)),
    );
    (desk, sessions, kyc)
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(&dir.path().join("sandbox.db")).await;
    let merchant = sandbox.db().create_merchant("京都の茶屋").unwrap();
    let (recorder, proxy_url) = Recorder::start(sandbox.url()).await;
    let keyring: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new().unwrap();
    let events: Events = Arc::default();
    let (desk, sessions, kyc) = open(dir.path(), &keyring, &events).await;
    let profile = desk
        .add_profile(ProfileInput {
            name: "Tea shop".into(),
            mode: Mode::Test,
            base_url: proxy_url.clone(),
            access_key: Some(merchant.access_key.clone()),
            secret_key: Some(merchant.secret_key.clone()),
            client_id: merchant.client_id.clone(),
            client_secret: Some(merchant.client_secret.clone()),
            public_client_id: merchant.public_client_id.clone(),
        })
        .await
        .unwrap();
    desk.switch_profile(&profile.id).await.unwrap();
    let users = Users::new(Arc::clone(&desk), Arc::new(|_| {}));
    Env {
        dir,
        sandbox: Some(sandbox),
        merchant,
        recorder,
        profile_id: profile.id,
        keyring,
        desk,
        sessions,
        kyc,
        users,
        events,
    }
}

impl Env {
    /// The test's own client for the merchant, straight to the sandbox.
    fn client(&self) -> Client {
        Client::new(
            Environment::sandbox(&self.sandbox.as_ref().unwrap().url()).unwrap(),
            Credentials::new(
                self.merchant.access_key.clone(),
                self.merchant.secret_key.clone(),
            )
            .with_oauth(
                self.merchant.client_id.clone(),
                self.merchant.client_secret.clone(),
            ),
        )
        .unwrap()
    }

    /// A new user of the merchant, added to the desk's directory.
    async fn user(&self, email: &str) -> String {
        let created = self
            .client()
            .merchant()
            .create_user(&NewUser {
                email: email.into(),
                name: "山田 太郎".into(),
                ..NewUser::default()
            })
            .await
            .unwrap();
        self.users
            .add_by_id(created.user.id.as_str())
            .await
            .unwrap();
        created.user.id.as_str().to_owned()
    }

    async fn gateway_values(&self, user: &str) -> KycValues {
        self.client()
            .merchant()
            .kyc(&UserId::new(user))
            .await
            .unwrap()
            .values
    }

    /// The copy of `user`'s form on this computer.
    async fn draft(&self, user: &str) -> Option<Draft> {
        draft_in(&self.desk, &self.profile_id, user).await
    }

    /// The save state of the copy of `user`'s form on this computer.
    async fn state(&self, user: &str) -> Option<SaveState> {
        self.draft(user).await.map(|d| d.state)
    }

    async fn reaches(&self, user: &str, state: SaveState) {
        eventually(&format!("{user} to be {state:?}"), || async {
            self.state(user).await == Some(state)
        })
        .await;
    }

    async fn edit_all(&self, user: &str, values: &[(&str, &str)]) {
        for (f, v) in values {
            self.kyc
                .edit(&Via::Merchant, user, f, (*v).to_owned())
                .await
                .unwrap();
        }
    }

    async fn stop_sandbox(&mut self) {
        self.recorder.cut_off();
        self.sandbox.take().unwrap().shutdown().await;
    }

    async fn start_sandbox(&mut self) {
        let sandbox = sandbox(&self.dir.path().join("sandbox.db")).await;
        self.recorder.reconnect(sandbox.url());
        self.sandbox = Some(sandbox);
    }

    async fn local_forms(&self) -> i64 {
        self.desk
            .store()
            .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM kyc_forms", [], |r| r.get(0))?))
            .await
            .unwrap()
    }
}

/// The copy of `user`'s form in `desk`'s database.
async fn draft_in(desk: &Desk, profile_id: &str, user: &str) -> Option<Draft> {
    let (pid, user) = (profile_id.to_owned(), user.to_owned());
    desk.store()
        .read(move |c| ito_desk::kyc::drafts::get(c, &pid, &user))
        .await
        .unwrap()
}

/// Waits for the clock's next whole second: the gateway's times have no finer grain.
async fn next_second() {
    let now = chrono::Utc::now().timestamp();
    eventually("the next second", || async {
        chrono::Utc::now().timestamp() > now
    })
    .await;
}

/// Polls `check` every 20 ms for up to 30 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn values(pairs: &[(&str, &str)]) -> KycValues {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_draft_sends_only_the_changed_fields_once_per_pause() {
    let env = env().await;
    let user = env.user("hanako@example.jp").await;
    let form = env.kyc.form(&Via::Merchant, &user).await.unwrap();
    assert_eq!(form.status, KycState::NotStarted);
    assert!(
        form.sections
            .iter()
            .any(|s| s.fields.iter().any(|f| f.id == "legal_name"))
    );
    assert_eq!(form.missing.len(), support::complete_kyc().len());

    env.edit_all(
        &user,
        &[
            ("legal_name", "山"),
            ("legal_name", "山田"),
            ("city", "千代田区"),
        ],
    )
    .await;
    env.reaches(&user, SaveState::Saved).await;
    assert_eq!(
        env.recorder.patches(),
        [(
            user.clone(),
            values(&[("legal_name", "山田"), ("city", "千代田区")])
        )],
        "one PATCH after the pause, with the last value of each edited field"
    );

    env.edit_all(&user, &[("city", ""), ("nationality", "jp")])
        .await;
    eventually("the second PATCH", || async {
        env.recorder.patches().len() == 2
    })
    .await;
    env.reaches(&user, SaveState::Saved).await;
    assert_eq!(
        env.recorder.patches()[1].1,
        values(&[("city", ""), ("nationality", "jp")]),
        "only the changed fields; an emptied one clears"
    );
    let form = env.kyc.form(&Via::Merchant, &user).await.unwrap();
    assert_eq!(
        form.values,
        values(&[("legal_name", "山田"), ("nationality", "JP")])
    );
    assert_eq!(env.gateway_values(&user).await, form.values);
    assert_eq!(form.status, KycState::Draft);

    // No KYC value reaches the request log.
    let log = env.desk.request_log(Default::default()).await.unwrap();
    let text = serde_json::to_string(&log).unwrap();
    assert!(!log.is_empty() && !text.contains("山田") && !text.contains("JP\""));
    env.kyc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complete_save_with_missing_fields_names_all_of_them() {
    let env = env().await;
    let user = env.user("taro@example.jp").await;
    env.kyc.form(&Via::Merchant, &user).await.unwrap();
    env.edit_all(
        &user,
        &[("legal_name", "山田 太郎"), ("postal_code", "1000001")],
    )
    .await;
    let Err(Error::Api(e)) = env.kyc.save_complete(&Via::Merchant, &user).await else {
        panic!("an incomplete form was accepted");
    };
    let fields = e.fields().unwrap();
    for (f, _) in support::complete_kyc()
        .iter()
        .filter(|(f, _)| *f != "legal_name")
    {
        assert!(fields.contains_key(*f), "{f} is not named in {fields:?}");
    }
    assert!(!fields.contains_key("legal_name"));
    // The gateway changed nothing, and the edits are still here.
    let form = env.kyc.form(&Via::Merchant, &user).await.unwrap();
    assert_eq!(form.values["postal_code"], "1000001");

    env.edit_all(&user, &support::complete_kyc()).await;
    let saved = env.kyc.save_complete(&Via::Merchant, &user).await.unwrap();
    assert!(saved.missing.is_empty());
    assert_eq!(saved.draft.state, SaveState::Saved);
    assert_eq!(
        env.gateway_values(&user).await.len(),
        support::complete_kyc().len()
    );
    env.kyc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_locks_the_form_and_a_rejected_one_reopens() {
    let env = env().await;
    let user = env.user("jiro@example.jp").await;
    env.kyc.form(&Via::Merchant, &user).await.unwrap();
    env.edit_all(&user, &support::complete_kyc()[1..]).await;
    let Err(e) = env.kyc.submit(&Via::Merchant, &user).await else {
        panic!("an incomplete form was submitted");
    };
    assert_eq!(e.kind(), ErrorKind::Validation);
    env.edit_all(&user, &support::complete_kyc()[..1]).await;

    // Submit sends what is unsent first, without waiting for the pause.
    let submitted = env.kyc.submit(&Via::Merchant, &user).await.unwrap();
    assert_eq!(submitted.status, KycState::Submitted);
    assert!(submitted.locked && submitted.submitted_at.is_some());
    assert_eq!(
        env.local_forms().await,
        0,
        "the local copy goes once the gateway holds it"
    );
    let told = env.events.lock().unwrap().iter().any(|e| {
        matches!(e, KycEvent::UserChanged { user: u, .. }
            if u.user_id == user && u.kyc_status == KycState::Submitted)
    });
    assert!(told, "the directory row changes with the status");
    let form = env.kyc.form(&Via::Merchant, &user).await.unwrap();
    assert!(form.locked);
    let refused = env
        .kyc
        .edit(&Via::Merchant, &user, "city", "港区".into())
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("locked for review"),
        "{refused}"
    );

    let reason = "The document photo is blurred.";
    let rejected = env
        .kyc
        .review(
            &user,
            KycReview::Reject {
                reason: reason.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(rejected.status, KycState::Rejected);
    assert_eq!(rejected.rejection_reason.as_deref(), Some(reason));
    assert!(!rejected.locked);
    env.kyc
        .edit(
            &Via::Merchant,
            &user,
            "id_document_number",
            "TK7654321".into(),
        )
        .await
        .unwrap();
    env.reaches(&user, SaveState::Saved).await;
    let reopened = env.kyc.form(&Via::Merchant, &user).await.unwrap();
    assert_eq!(reopened.status, KycState::Draft);

    env.kyc.submit(&Via::Merchant, &user).await.unwrap();
    let approved = env.kyc.review(&user, KycReview::Approve).await.unwrap();
    assert_eq!(approved.status, KycState::Approved);
    assert!(approved.locked);
    env.kyc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_groups_orders_and_counts_users() {
    let env = env().await;
    let fresh = env.user("a@example.jp").await;
    let draft = env.user("b@example.jp").await;
    let first = env.user("c@example.jp").await;
    let second = env.user("d@example.jp").await;
    let approved = env.user("e@example.jp").await;
    let rejected = env.user("f@example.jp").await;
    let client = env.client();
    let m = client.merchant();
    let all = values(&support::complete_kyc());
    m.save_kyc_draft(&UserId::new(draft.clone()), &values(&[("city", "港区")]))
        .await
        .unwrap();
    for u in [&first, &second, &approved, &rejected] {
        let id = UserId::new(u.clone());
        m.replace_kyc(&id, &all).await.unwrap();
        m.submit_kyc(&id).await.unwrap();
        next_second().await;
    }
    client
        .sandbox()
        .approve_kyc(&UserId::new(approved.clone()))
        .await
        .unwrap();
    client
        .sandbox()
        .reject_kyc(&UserId::new(rejected.clone()), "Expired passport")
        .await
        .unwrap();
    // The desk learns the statuses from the gateway (as an import does).
    env.users.import_from_sandbox().await.unwrap();

    let q = env.kyc.queue().await.unwrap();
    let ids = |g: &ito_desk::kyc::queue::QueueGroup| {
        g.users
            .iter()
            .map(|u| u.user.user_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&q.needs_action),
        [rejected.clone(), draft.clone(), fresh.clone()]
    );
    assert_eq!(
        ids(&q.waiting),
        [first.clone(), second.clone()],
        "oldest first"
    );
    assert!(q.waiting.users.iter().all(|u| u.submitted_at.is_some()));
    assert_eq!(ids(&q.approved), std::slice::from_ref(&approved));
    assert_eq!(
        (q.needs_action.total, q.waiting.total, q.approved.total),
        (3, 2, 1)
    );
    let count = |s: KycState| q.counts.iter().find(|c| c.status == s).unwrap().count;
    assert_eq!(
        [
            KycState::NotStarted,
            KycState::Draft,
            KycState::Submitted,
            KycState::Approved,
            KycState::Rejected
        ]
        .map(count),
        [1, 1, 2, 1, 1]
    );

    // A review moves the user between groups.
    env.kyc.review(&second, KycReview::Approve).await.unwrap();
    let q = env.kyc.queue().await.unwrap();
    assert_eq!(ids(&q.waiting), [first]);
    assert_eq!(q.approved.total, 2);
    env.kyc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_made_while_the_sandbox_is_down_sync_once_in_order() {
    let mut env = env().await;
    let older = env.user("older@example.jp").await;
    let newer = env.user("newer@example.jp").await;
    env.kyc.form(&Via::Merchant, &older).await.unwrap();
    env.kyc.form(&Via::Merchant, &newer).await.unwrap();

    env.stop_sandbox().await;
    env.edit_all(&older, &[("legal_name", "古川"), ("city", "京都市")])
        .await;
    env.reaches(&older, SaveState::Offline).await;
    env.edit_all(&newer, &[("legal_name", "新井")]).await;
    env.edit_all(&older, &[("city", "京都市東山区")]).await;
    env.reaches(&newer, SaveState::Offline).await;
    // Offline, the copy on this computer is what the form shows.
    let shown = env.kyc.form(&Via::Merchant, &older).await.unwrap();
    assert!(shown.offline && shown.values["city"] == "京都市東山区");

    env.start_sandbox().await;
    env.reaches(&older, SaveState::Saved).await;
    env.reaches(&newer, SaveState::Saved).await;
    let patches = env.recorder.patches();
    assert_eq!(
        patches,
        [
            (
                older.clone(),
                values(&[("legal_name", "古川"), ("city", "京都市東山区")])
            ),
            (newer.clone(), values(&[("legal_name", "新井")])),
        ],
        "each form once, the earliest edited first: {patches:?}"
    );
    env.kyc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_the_gateway_meanwhile_is_a_conflict_and_nothing_is_overwritten() {
    let env = env().await;
    let user = env.user("conflict@example.jp").await;
    env.kyc.form(&Via::Merchant, &user).await.unwrap();
    env.edit_all(&user, &[("legal_name", "山田 太郎"), ("city", "千代田区")])
        .await;
    env.reaches(&user, SaveState::Saved).await;

    // Staff edit while cut off; meanwhile the user changes the form themselves.
    env.recorder.cut_off();
    env.edit_all(
        &user,
        &[("legal_name", "山田 花子"), ("occupation", "教師")],
    )
    .await;
    env.reaches(&user, SaveState::Offline).await;
    env.client()
        .merchant()
        .save_kyc_draft(
            &UserId::new(user.clone()),
            &values(&[("legal_name", "山田 次郎"), ("city", "港区")]),
        )
        .await
        .unwrap();
    env.recorder.reconnect(env.sandbox.as_ref().unwrap().url());
    env.reaches(&user, SaveState::Conflict).await;

    let told = env.events.lock().unwrap().iter().any(|e| {
        matches!(e, KycEvent::FormChanged { user_id, draft, .. }
            if *user_id == user && draft.state == SaveState::Conflict && draft.conflicts.len() == 1)
    });
    assert!(told, "the window is told of the conflict");
    let form = env.kyc.form(&Via::Merchant, &user).await.unwrap();
    assert_eq!(form.draft.conflicts.len(), 1);
    let c = &form.draft.conflicts[0];
    assert_eq!(
        (c.field.as_str(), c.yours.as_deref(), c.theirs.as_deref()),
        ("legal_name", Some("山田 花子"), Some("山田 次郎"))
    );
    assert_eq!(
        form.values["city"], "港区",
        "a field only they changed is taken"
    );
    let gateway = env.gateway_values(&user).await;
    assert_eq!(
        gateway["legal_name"], "山田 次郎",
        "not overwritten silently"
    );
    assert!(
        !gateway.contains_key("occupation"),
        "nothing sent during a conflict"
    );

    let incomplete = env
        .kyc
        .resolve(&Via::Merchant, &user, vec![])
        .await
        .unwrap_err();
    assert_eq!(incomplete.kind(), ErrorKind::Validation);
    env.kyc
        .resolve(
            &Via::Merchant,
            &user,
            vec![Resolution {
                field: "legal_name".into(),
                keep: Keep::Yours,
            }],
        )
        .await
        .unwrap();
    env.reaches(&user, SaveState::Saved).await;
    let gateway = env.gateway_values(&user).await;
    assert_eq!(
        (
            gateway["legal_name"].as_str(),
            gateway["city"].as_str(),
            gateway["occupation"].as_str()
        ),
        ("山田 花子", "港区", "教師")
    );
    env.kyc.shutdown().await;
}

/// Reads `kyc <n>` lines from the harness until `n` edits were acknowledged.
fn acknowledged(lines: &mut impl BufRead, n: u64) -> u64 {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            lines.read_line(&mut line).unwrap() > 0,
            "the harness stopped"
        );
        if let Some(k) = line.trim().strip_prefix("kyc ") {
            let k: u64 = k.parse().unwrap();
            if k >= n {
                return k;
            }
        }
    }
}

fn harness(dir: &Path, secrets: &str, extra: &[&str]) -> std::process::Child {
    let port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_desk-harness"))
        .arg("--data-dir")
        .arg(dir)
        .args(["--port", &port.to_string()])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    writeln!(child.stdin.as_mut().unwrap(), "{secrets}").unwrap();
    child
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_survives_sigkill_mid_edit_and_syncs_once() {
    let env = env().await;
    let user = env.user("killed@example.jp").await;
    env.kyc.form(&Via::Merchant, &user).await.unwrap();
    let data_dir: PathBuf = env.dir.path().to_owned();
    // The harness gets its own copy of the profile's secrets; this desk closes first.
    let secrets = serde_json::json!({
        "profile_id": env.profile_id,
        "access_key": env.merchant.access_key,
        "secret_key": env.merchant.secret_key,
        "client_secret": env.merchant.client_secret,
    })
    .to_string();
    env.kyc.shutdown().await;
    env.desk.shutdown().await;

    env.recorder.cut_off();
    let mut editing = harness(
        &data_dir,
        &secrets,
        &["--kyc", &format!("{user}:legal_name")],
    );
    let mut out = BufReader::new(editing.stdout.take().unwrap());
    let acked = tokio::task::spawn_blocking(move || {
        let n = acknowledged(&mut out, 25);
        (n, out)
    })
    .await
    .unwrap();
    editing.kill().unwrap();
    editing.wait().unwrap();
    let (acked, _) = acked;

    env.recorder.reconnect(env.sandbox.as_ref().unwrap().url());
    let mut resumed = harness(&data_dir, &secrets, &[]);
    eventually("the draft to reach the gateway", || async {
        env.gateway_values(&user)
            .await
            .get("legal_name")
            .and_then(|v| v.strip_prefix("Edit "))
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n >= acked)
    })
    .await;
    // A moment for any second send to show (none may come: the form is settled).
    eventually("the form to settle", || async {
        let store = ito_desk::store::Store::open(&data_dir.join("desk.db")).unwrap();
        store
            .read(
                |c| Ok(c.query_row("SELECT state FROM kyc_forms", [], |r| r.get::<_, String>(0))?),
            )
            .await
            .unwrap()
            == "saved"
    })
    .await;
    drop(resumed.stdin.take());
    resumed.wait().unwrap();
    assert_eq!(
        env.recorder.patches().len(),
        1,
        "{:?}",
        env.recorder.patches()
    );
}

impl Env {
    /// A user of the merchant who can sign in, added to the desk's directory.
    async fn user_with_password(&self, email: &str, password: &str) -> String {
        let created = self
            .client()
            .merchant()
            .create_user(&NewUser {
                email: email.into(),
                name: "山田 花子".into(),
                phone: None,
                country: Some("JP".into()),
                password: Some(Secret::new(password)),
            })
            .await
            .unwrap();
        let id = created.user.id.as_str().to_owned();
        self.users.add_by_id(&id).await.unwrap();
        id
    }

    /// Signs staff in as `user`. The played browser talks to the sandbox itself: the
    /// proxy would follow the authorize form's redirect on its own.
    /// A user who edited their form's legal name through their session while the
    /// gateway was cut off, then was signed out: the edit waits for their sign-in.
    async fn waiting_for_sign_in(&self, email: &str, password: &str, name: &str) -> String {
        let user = self.user_with_password(email, password).await;
        self.sign_in(&user, email, password).await;
        let via = self.as_user(&user).await;
        self.kyc.form(&via, &user).await.unwrap();
        self.recorder.cut_off();
        self.kyc
            .edit(&via, &user, "legal_name", name.into())
            .await
            .unwrap();
        self.reaches(&user, SaveState::Offline).await;
        self.sessions.sign_out(&user).await.unwrap();
        self.recorder
            .reconnect(self.sandbox.as_ref().unwrap().url());
        // The next try finds no session: the edits stay here, unsent, and say why.
        eventually("the form to wait for the user's sign-in", || async {
            self.draft(&user)
                .await
                .is_some_and(|d| d.waits_for_sign_in())
        })
        .await;
        user
    }

    async fn sign_in(&self, user: &str, email: &str, password: &str) {
        let sandbox = Url::parse(&self.sandbox.as_ref().unwrap().url()).unwrap();
        let (email, password) = (email.to_owned(), password.to_owned());
        self.sessions
            .sign_in(user, move |url: &Url| {
                let mut url = url.clone();
                url.set_host(sandbox.host_str()).unwrap();
                url.set_port(sandbox.port()).unwrap();
                tokio::spawn(approve(url, email, password));
                Ok(())
            })
            .await
            .unwrap();
    }

    /// The way to `user`'s form through their own session.
    async fn as_user(&self, user: &str) -> Via {
        Via::User(self.sessions.user_client(user).await.unwrap())
    }

    /// The `Authorization` header of `user`'s session, from the keychain.
    fn bearer_of(&self, user: &str) -> String {
        let tokens = Vault::with_store(Arc::clone(&self.keyring))
            .user_tokens(&self.profile_id, user)
            .unwrap()
            .unwrap();
        format!("Bearer {}", tokens.access_token.expose())
    }
}

/// The browser: opens the authorize page, posts its form as the user, and follows
/// the redirect to the app's listener.
async fn approve(url: Url, email: String, password: String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(http.get(url.clone()).send().await.unwrap().status(), 200);
    let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    form.extend([
        ("email".into(), email),
        ("password".into(), password),
        ("decision".into(), "approve".into()),
    ]);
    let res = http
        .post(url.join("/oauth/authorize").unwrap())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    http.get(location).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_side_form_goes_through_the_users_own_session() {
    let env = env().await;
    let user = env
        .user_with_password("hanako@example.jp", "hanako-pass-1")
        .await;
    let other = env.user("other@example.jp").await;
    env.sign_in(&user, "hanako@example.jp", "hanako-pass-1")
        .await;
    let via = env.as_user(&user).await;

    let form = env.kyc.form(&via, &user).await.unwrap();
    assert_eq!(form.status, KycState::NotStarted);
    assert_eq!(form.missing.len(), support::complete_kyc().len());
    let refused = env
        .kyc
        .edit(&via, &other, "city", "港区".into())
        .await
        .unwrap_err();
    assert_eq!(
        refused.kind(),
        ErrorKind::Validation,
        "a session edits its own user's form only: {refused}"
    );

    for (f, v) in [
        ("legal_name", "山"),
        ("legal_name", "山田 花子"),
        ("city", "千代田区"),
    ] {
        env.kyc.edit(&via, &user, f, v.into()).await.unwrap();
    }
    env.reaches(&user, SaveState::Saved).await;
    let bearer = env.bearer_of(&user);
    assert_eq!(
        env.recorder.user_patches(),
        [(
            bearer.clone(),
            values(&[("legal_name", "山田 花子"), ("city", "千代田区")])
        )],
        "one PATCH to the user's route with the user's token, after the pause"
    );
    env.kyc
        .edit(&via, &user, "city", String::new())
        .await
        .unwrap();
    env.kyc
        .edit(&via, &user, "nationality", "jp".into())
        .await
        .unwrap();
    eventually("the second PATCH", || async {
        env.recorder.user_patches().len() == 2
    })
    .await;
    assert_eq!(
        env.recorder.user_patches()[1],
        (bearer, values(&[("city", ""), ("nationality", "jp")])),
        "only the changed fields"
    );

    for (f, v) in support::complete_kyc() {
        env.kyc.edit(&via, &user, f, v.into()).await.unwrap();
    }
    let saved = env.kyc.save_complete(&via, &user).await.unwrap();
    assert!(saved.missing.is_empty());
    let submitted = env.kyc.submit(&via, &user).await.unwrap();
    assert_eq!(submitted.status, KycState::Submitted);
    assert!(submitted.locked);
    let requests = env.recorder.kyc_requests();
    assert!(
        requests.iter().all(|r| r.contains(" /api/oauth/user/kyc")),
        "every call through the user's own routes: {requests:?}"
    );
    for call in ["GET", "PATCH", "PUT", "POST"] {
        assert!(
            requests.iter().any(|r| r.starts_with(call)),
            "no {call} in {requests:?}"
        );
    }
    assert!(env.recorder.patches().is_empty());
    let merchant_view = env.kyc.form(&Via::Merchant, &user).await.unwrap();
    assert_eq!(merchant_view.status, KycState::Submitted);
    assert_eq!(
        env.gateway_values(&user).await.len(),
        support::complete_kyc().len()
    );
    env.kyc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_user_side_draft_is_sent_through_the_session_after_a_restart() {
    let env = env().await;
    let user = env.user_with_password("ren@example.jp", "ren-pass-1").await;
    env.sign_in(&user, "ren@example.jp", "ren-pass-1").await;
    let via = env.as_user(&user).await;
    env.kyc.form(&via, &user).await.unwrap();

    env.recorder.cut_off();
    for (f, v) in [("legal_name", "山田 蓮"), ("city", "京都市")] {
        env.kyc.edit(&via, &user, f, v.into()).await.unwrap();
    }
    env.reaches(&user, SaveState::Offline).await;
    env.kyc.shutdown().await;
    env.desk.shutdown().await;

    env.recorder.reconnect(env.sandbox.as_ref().unwrap().url());
    let events = Events::default();
    let (desk, _sessions, kyc) = open(env.dir.path(), &env.keyring, &events).await;
    eventually("the draft to be sent", || async {
        draft_in(&desk, &env.profile_id, &user)
            .await
            .is_some_and(|d| d.state == SaveState::Saved)
    })
    .await;
    assert_eq!(
        env.recorder.user_patches(),
        [(
            env.bearer_of(&user),
            values(&[("legal_name", "山田 蓮"), ("city", "京都市")])
        )],
        "sent once, through the user's session restored from the keychain"
    );
    assert!(env.recorder.patches().is_empty());
    kyc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_out_users_draft_waits_and_a_merchant_side_edit_sends_it() {
    let env = env().await;
    let user = env
        .waiting_for_sign_in("sora@example.jp", "sora-pass-1", "山田 空")
        .await;
    let waiting = env.draft(&user).await.unwrap();
    assert_eq!(waiting.unsent(), ["legal_name"]);
    assert!(waiting.next_attempt_at.is_none(), "not tried again");
    let form = env.kyc.form(&Via::Merchant, &user).await.unwrap();
    assert_eq!(form.draft.state, SaveState::Offline);
    let message = form.draft.message.unwrap_or_default();
    assert!(message.contains("no longer signed in"), "{message}");
    assert_eq!(form.values["legal_name"], "山田 空");
    assert!(env.recorder.user_patches().is_empty() && env.recorder.patches().is_empty());
    assert!(env.gateway_values(&user).await.is_empty());
    let gone = env.sessions.user_client(&user).await.unwrap_err();
    assert!(matches!(gone, Error::SessionEnded { .. }), "{gone:?}");

    // Staff edit it as the merchant: the form changes sides and goes, all of it.
    env.kyc
        .edit(&Via::Merchant, &user, "city", "港区".into())
        .await
        .unwrap();
    env.reaches(&user, SaveState::Saved).await;
    assert_eq!(
        env.recorder.patches(),
        [(
            user.clone(),
            values(&[("legal_name", "山田 空"), ("city", "港区")])
        )]
    );
    assert!(env.recorder.user_patches().is_empty());
    assert_eq!(
        env.kyc
            .form(&Via::Merchant, &user)
            .await
            .unwrap()
            .draft
            .message,
        None
    );
    env.kyc.shutdown().await;
}

#[tokio::test]
async fn a_signed_out_users_draft_goes_once_they_sign_in_again() {
    let env = env().await;
    let user = env
        .waiting_for_sign_in("riku@example.jp", "riku-pass-1", "山田 陸")
        .await;
    assert!(env.recorder.user_patches().is_empty());

    // Signed in again, nothing else done: the form goes through the new session.
    env.sign_in(&user, "riku@example.jp", "riku-pass-1").await;
    env.reaches(&user, SaveState::Saved).await;
    assert_eq!(env.recorder.user_patches().len(), 1);
    assert!(env.recorder.patches().is_empty());
    assert_eq!(env.gateway_values(&user).await["legal_name"], "山田 陸");
    env.kyc.shutdown().await;
}
