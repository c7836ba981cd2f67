//! Bad input into the desk: oversized and malformed webhook bodies, slow clients on the
//! listener, malformed base URLs, and a gateway that answers HTML or far too much.
//! Each ends in a clear error, and nothing the desk held is lost.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ito_api::{PaymentId, Secret};
use ito_desk::desk::{DB_FILE, Desk};
use ito_desk::error::{CommandError, Error, ErrorKind};
use ito_desk::overview::Currency;
use ito_desk::payments::ledger::{LedgerFilter, LedgerStatus, TimelineKind};
use ito_desk::payments::links::PaymentLinkInput;
use ito_desk::payments::{Payments, Simulation};
use ito_desk::profiles::{Mode, ProfileInput};
use ito_desk::webhooks::events::{MAX_BODY_BYTES, Verification, WebhookEventFilter};
use ito_desk::webhooks::listener::{BODY_READ_TIMEOUT, HEADER_READ_TIMEOUT};
use ito_sandbox::{MerchantCredentials, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support;

/// The sandbox and the desk in this process, the listener on a free port.
struct Env {
    _dir: tempfile::TempDir,
    keyring: Arc<keyring_core::CredentialStore>,
    sandbox: Server,
    merchant: MerchantCredentials,
    desk: Arc<Desk>,
    payments: Arc<Payments>,
    profile_id: String,
    listener: SocketAddr,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = support::sandbox(&dir.path().join("sandbox.db")).await;
    let merchant = sandbox.db().create_merchant("Bad input shop").unwrap();
    let keyring = support::keyring();
    let (desk, payments) = support::open_desk(&dir.path().join("desk"), &keyring, 0).await;
    let profile_id = support::add_profile(&desk, &sandbox.url(), &merchant).await;
    let base = payments.listener_status().await.base_url.unwrap();
    let listener = base.trim_start_matches("http://").parse().unwrap();
    Env {
        _dir: dir,
        keyring,
        sandbox,
        merchant,
        desk,
        payments,
        profile_id,
        listener,
    }
}

impl Env {
    fn path(&self) -> String {
        format!("/webhooks/{}", self.profile_id)
    }

    /// A link, paid through the control API: its webhook comes to the listener.
    async fn paid_link(&self, custom: &str) -> i64 {
        let created = self.payments.create_link(link(custom)).await.unwrap();
        let id = PaymentId::new(created.payment.payment_id.unwrap());
        support::client(&self.sandbox.url(), &self.merchant)
            .sandbox()
            .complete(&id)
            .await
            .unwrap();
        created.payment.id
    }

    async fn is_paid(&self, id: i64) -> bool {
        self.payments.detail(id).await.unwrap().payment.status == LedgerStatus::Paid
    }

    async fn shutdown(self) {
        support::close_desk(self.desk, self.payments).await;
        self.sandbox.shutdown().await;
    }
}

fn link(custom: &str) -> PaymentLinkInput {
    PaymentLinkInput {
        amount: "2400".into(),
        currency: Currency::Jpy,
        details: None,
        customer_email: "saburo@example.jp".into(),
        custom: custom.into(),
        success_url: Some("https://shop.example/thanks".into()),
        cancel_url: Some("https://shop.example/cancel".into()),
        webhook_url: None,
        confirm_active: false,
    }
}

/// Sends raw bytes and reads the answer until the server closes: status and body.
async fn raw(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // Writing may fail once the server has answered and closed: the answer is what counts.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn post(path: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    [request.as_bytes(), body].concat()
}

fn signed(secret: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let ts = chrono::Utc::now().timestamp();
    vec![
        ("content-type", "application/json".to_owned()),
        ("x-timestamp", ts.to_string()),
        (
            "x-signature",
            ito_api::webhook::signature_header(&Secret::new(secret), ts, body),
        ),
    ]
}

fn error_of(body: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not a JSON answer ({e}): {body:?}"));
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {body}"))
        .to_owned()
}

pub async fn webhook_bodies() {
    let env = env().await;
    let secret = env.merchant.secret_key.clone();
    let path = env.path();
    let too_big = vec![b'x'; MAX_BODY_BYTES + 1];
    let event = br#"{"code":200,"status":"ok","payment_id":"p","transaction":"t","amount":"abc","charge":0,"currency":"JPY","custom":"c","date":"01-01-2025"}"#;
    let invalid_utf8 = [0xff_u8, 0xfe, b'{', 0x80];
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "announced too large",
            post(&path, &signed(&secret, &too_big), &too_big),
            413,
            "65536 bytes",
        ),
        (
            "unsigned junk",
            post(&path, &[], b"hello"),
            400,
            "x-timestamp",
        ),
        (
            "signed, not JSON",
            post(&path, &signed(&secret, b"<xml/>"), b"<xml/>"),
            400,
            "unexpected body",
        ),
        (
            "signed, wrong types",
            post(&path, &signed(&secret, event), event),
            400,
            "amount",
        ),
        (
            "signed, not UTF-8",
            post(&path, &signed(&secret, &invalid_utf8), &invalid_utf8),
            400,
            "unexpected body",
        ),
        (
            "signed, empty",
            post(&path, &signed(&secret, b""), b""),
            400,
            "unexpected body",
        ),
        (
            "another secret",
            post(&path, &signed("sk_wrong", b"{}"), b"{}"),
            403,
            "signature",
        ),
        (
            "unknown profile",
            post("/webhooks/prf_nobody", &signed(&secret, b"{}"), b"{}"),
            404,
            "no profile",
        ),
        (
            "unknown route",
            post("/hooks", &[], b"{}"),
            404,
            "POST /webhooks/",
        ),
        (
            "wrong method",
            format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").into_bytes(),
            405,
            "POSTed",
        ),
    ];
    for (what, request, status, says) in &cases {
        let (got, body) = raw(env.listener, request).await;
        assert_eq!(got, *status, "{what}: {body}");
        let error = error_of(&body);
        assert!(
            error.contains(says),
            "{what}: {error:?} does not say {says:?}"
        );
    }
    // Broken HTTP itself: hyper refuses it before any route (431, 400), and moves on.
    let huge_header = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\nx-pad: {}\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    assert_eq!(raw(env.listener, huge_header.as_bytes()).await.0, 431);
    assert_eq!(raw(env.listener, b"NOT HTTP AT ALL\r\n\r\n").await.0, 400);
    // A chunked body past the limit is cut off where it passes it: 413, or a reset
    // when the server closes with the rest of it unread.
    let mut chunked =
        format!("POST {path} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n")
            .into_bytes();
    for _ in 0..=MAX_BODY_BYTES / 4096 {
        chunked.extend_from_slice(format!("1000\r\n{}\r\n", "y".repeat(4096)).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (got, _) = raw(env.listener, &chunked).await;
    assert!(matches!(got, 413 | 0), "chunked too large: {got}");

    // The bad ones are in the event log with their reasons (the oversized ones, never
    // read, are not), and a genuine delivery still lands.
    let id = env.paid_link("ORD-AFTER-JUNK").await;
    support::eventually("the genuine webhook", Duration::from_secs(15), || {
        env.is_paid(id)
    })
    .await;
    let log = || async {
        env.payments
            .webhook_events(WebhookEventFilter::default())
            .await
            .unwrap()
    };
    // The same notification again, without the sandbox's delivery id (the gateway's
    // documented headers have none), then as a new delivery through the sandbox's
    // redelivery: both answered 2xx, neither applied a second time.
    let genuine = log().await[0].body.clone();
    let again = post(
        &path,
        &signed(&secret, genuine.as_bytes()),
        genuine.as_bytes(),
    );
    assert_eq!(raw(env.listener, &again).await.0, 200);
    env.payments
        .simulate(id, Simulation::RedeliverWebhook)
        .await
        .unwrap();
    support::eventually("the redelivery", Duration::from_secs(15), || async {
        log()
            .await
            .iter()
            .filter(|e| e.verification == Verification::Duplicate)
            .count()
            == 2
    })
    .await;
    let timeline = env.payments.detail(id).await.unwrap().timeline;
    assert_eq!(
        timeline
            .iter()
            .filter(|t| t.kind == TimelineKind::Webhook)
            .count(),
        1
    );
    let log = log().await;
    let count = |v: Verification| log.iter().filter(|e| e.verification == v).count();
    assert_eq!(count(Verification::Verified), 1);
    assert_eq!(count(Verification::Malformed), 5);
    assert_eq!(count(Verification::BadSignature), 1);
    assert!(log.iter().all(|e| e.body.len() <= MAX_BODY_BYTES));
    env.shutdown().await;
}

/// A client that sends `request` one byte every 100 ms and reports when the server
/// closed on it (or answered), measured from its start.
async fn trickle(
    addr: SocketAddr,
    request: Vec<u8>,
    answered: Arc<AtomicUsize>,
) -> (Duration, String) {
    let started = Instant::now();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        for byte in request {
            if write.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Holds the connection open with nothing more to send.
        std::future::pending::<()>().await;
    });
    let mut answer = Vec::new();
    let _ = read.read_to_end(&mut answer).await;
    writer.abort();
    answered.fetch_add(1, Ordering::SeqCst);
    (
        started.elapsed(),
        String::from_utf8_lossy(&answer).into_owned(),
    )
}

pub async fn slow_clients() {
    const SLOW_HEADERS: usize = 100;
    const SLOW_BODIES: usize = 5;
    let env = env().await;
    let closed = Arc::new(AtomicUsize::new(0));
    let mut slow = tokio::task::JoinSet::new();
    // Headers that take far longer to trickle in than the timeout allows.
    let headers = format!(
        "POST {} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-padding: {}\r\n\r\n",
        env.path(),
        "z".repeat(200)
    );
    for _ in 0..SLOW_HEADERS {
        slow.spawn(trickle(
            env.listener,
            headers.clone().into_bytes(),
            Arc::clone(&closed),
        ));
    }
    for _ in 0..SLOW_BODIES {
        let connection = TcpStream::connect(env.listener).await.unwrap();
        let closed = Arc::clone(&closed);
        let path = env.path();
        slow.spawn(async move {
            let started = Instant::now();
            let mut connection = connection;
            let head = format!("POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n");
            connection.write_all(head.as_bytes()).await.unwrap();
            let (mut read, mut write) = connection.into_split();
            let writer = tokio::spawn(async move {
                loop {
                    if write.write_all(b"{").await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
            let mut answer = Vec::new();
            let _ = read.read_to_end(&mut answer).await;
            writer.abort();
            closed.fetch_add(1, Ordering::SeqCst);
            (
                started.elapsed(),
                String::from_utf8_lossy(&answer).into_owned(),
            )
        });
    }
    // While they hold their connections, genuine deliveries land: the first one while
    // every slow client is still connected.
    let started = Instant::now();
    let first = env.paid_link("ORD-SLOW-0").await;
    support::eventually(
        "a webhook beside the slow clients",
        Duration::from_secs(15),
        || env.is_paid(first),
    )
    .await;
    assert_eq!(
        closed.load(Ordering::SeqCst),
        0,
        "the first webhook waited for the slow clients"
    );
    let mut ids = Vec::new();
    for n in 1..10 {
        ids.push(env.paid_link(&format!("ORD-SLOW-{n}")).await);
    }
    for id in &ids {
        support::eventually(
            "a webhook beside the slow clients",
            Duration::from_secs(15),
            || env.is_paid(*id),
        )
        .await;
    }
    let served_in = started.elapsed();
    let limit = HEADER_READ_TIMEOUT.max(BODY_READ_TIMEOUT) + Duration::from_secs(5);
    let mut body_timeouts = 0;
    while let Some(done) = tokio::time::timeout(limit, slow.join_next())
        .await
        .expect("a slow client was never cut off")
    {
        let (after, answer) = done.unwrap();
        assert!(
            after >= HEADER_READ_TIMEOUT.min(BODY_READ_TIMEOUT),
            "cut off after {after:?}"
        );
        if answer.contains(" 408 ") && answer.contains("did not arrive within") {
            body_timeouts += 1;
        }
    }
    assert_eq!(
        body_timeouts, SLOW_BODIES,
        "each slow body gets a 408 that says why"
    );
    // None of them reached the log; the listener still serves.
    let id = env.paid_link("ORD-SLOW-AFTER").await;
    support::eventually(
        "a webhook after the slow clients",
        Duration::from_secs(15),
        || env.is_paid(id),
    )
    .await;
    let log = env
        .payments
        .webhook_events(WebhookEventFilter::default())
        .await
        .unwrap();
    assert_eq!(log.len(), 11);
    println!(
        "figures slowloris: {SLOW_HEADERS} connections trickling headers and {SLOW_BODIES} trickling bodies, \
         one byte per 100 ms; 10 payments paid and their webhooks stored in {:.1} s beside them; every slow \
         connection closed after {} s (headers) or answered 408 after {} s (bodies)",
        served_in.as_secs_f64(),
        HEADER_READ_TIMEOUT.as_secs(),
        BODY_READ_TIMEOUT.as_secs()
    );
    env.shutdown().await;
}

fn field_error(e: Error) -> Vec<String> {
    match e {
        Error::Validation { fields, .. } => fields.get("baseUrl").cloned().unwrap_or_default(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

pub async fn base_urls() {
    let env = env().await;
    let input = |mode: Mode, base_url: String| ProfileInput {
        name: "Typo".into(),
        mode,
        base_url,
        access_key: Some("ak_x".into()),
        secret_key: Some("sk_x".into()),
        client_id: "cid".into(),
        client_secret: Some("cs_x".into()),
        public_client_id: String::new(),
    };
    let bad = [
        ("", "not a valid URL"),
        ("not a url", "not a valid URL"),
        ("gateway.example", "not a valid URL"),
        ("//gateway.example", "not a valid URL"),
        ("ftp://gateway.example", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("http://", "not a valid URL"),
        ("http://exa mple.com", "not a valid URL"),
        ("https://gateway.example:99999", "not a valid URL"),
        ("https://gateway.example/?mode=test", "query or a fragment"),
        ("https://gateway.example/#top", "query or a fragment"),
        (
            "https://merchant:hunter2@gateway.example",
            "user name or password",
        ),
        ("https://merchant@gateway.example", "user name or password"),
    ];
    let long = format!("https://{}.example", "a".repeat(3000));
    for (url, says) in bad.iter().copied().chain([(long.as_str(), "longer than")]) {
        let messages = field_error(
            env.desk
                .add_profile(input(Mode::Test, url.to_owned()))
                .await
                .unwrap_err(),
        );
        assert!(
            messages.iter().any(|m| m.contains(says)),
            "{url:?}: {messages:?}"
        );
    }
    let messages = field_error(
        env.desk
            .add_profile(input(Mode::Active, "http://gateway.example".into()))
            .await
            .unwrap_err(),
    );
    assert!(messages[0].contains("https://"), "{messages:?}");
    assert_eq!(
        env.desk.state().await.unwrap().profiles.len(),
        1,
        "nothing was added"
    );

    // A malformed URL already in the database (an older version, a hand edit) is a
    // clear error when used, and the rest of the desk carries on.
    let db = env.desk.data_dir().join(DB_FILE);
    let dir = env.desk.data_dir().to_owned();
    let keyring = Arc::clone(&env.keyring);
    let pid = env.profile_id.clone();
    let (desk, payments, sandbox) = (env.desk, env.payments, env.sandbox);
    support::close_desk(desk, payments).await;
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE profiles SET base_url = 'htp:/broken url' WHERE id = ?1",
            [&pid],
        )
        .unwrap();
    let (desk, payments) = support::open_desk(&dir, &keyring, 0).await;
    let e = desk.test_connection(&pid).await.unwrap_err();
    let shown = CommandError::from(e);
    assert!(shown.message.contains("URL"), "{shown:?}");
    assert!(desk.state().await.is_ok());
    assert!(
        payments
            .list(LedgerFilter::default(), None, None)
            .await
            .is_ok()
    );
    support::close_desk(desk, payments).await;
    sandbox.shutdown().await;
}

/// What the broken gateway answers to every request.
#[derive(Clone, Copy, Debug)]
enum Broken {
    /// 200 with an HTML maintenance page.
    Html,
    /// 502 from a proxy, as HTML.
    BadGatewayHtml,
    /// 200 announcing a 10 MB JSON body, and sending it.
    Announced10Mb,
    /// 200 JSON in chunks that never end.
    Endless,
}

/// A tiny server on 127.0.0.1:0 that answers every request as `mode` says; counts
/// the body bytes it managed to send.
async fn broken_gateway(mode: Broken, sent: Arc<AtomicUsize>) -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let sent = Arc::clone(&sent);
            tokio::spawn(async move {
                // Reads the request head and body before answering.
                let mut request = Vec::new();
                let mut buf = [0u8; 8192];
                loop {
                    let Ok(n @ 1..) = stream.read(&mut buf).await else {
                        return;
                    };
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_lowercase();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if body.len() >= length {
                            break;
                        }
                    }
                }
                let html = "<html><body><h1>Scheduled maintenance</h1></body></html>";
                let _ = match mode {
                    Broken::Html => {
                        stream
                            .write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}", html.len()).as_bytes())
                            .await
                    }
                    Broken::BadGatewayHtml => {
                        stream
                            .write_all(format!("HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}", html.len()).as_bytes())
                            .await
                    }
                    Broken::Announced10Mb => {
                        let size = 10 * 1024 * 1024;
                        let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {size}\r\nconnection: close\r\n\r\n[");
                        if stream.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let chunk = "1,".repeat(32 * 1024);
                        while sent.load(Ordering::SeqCst) < size {
                            if stream.write_all(chunk.as_bytes()).await.is_err() {
                                return;
                            }
                            sent.fetch_add(chunk.len(), Ordering::SeqCst);
                        }
                        Ok(())
                    }
                    Broken::Endless => {
                        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
                        if stream.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let piece = "1,".repeat(32 * 1024);
                        let chunk = format!("{:x}\r\n{piece}\r\n", piece.len());
                        loop {
                            if stream.write_all(chunk.as_bytes()).await.is_err() {
                                return;
                            }
                            sent.fetch_add(piece.len(), Ordering::SeqCst);
                        }
                    }
                };
            });
        }
    });
    addr
}

pub async fn broken_gateways() {
    let env = env().await;
    let mut figures = Vec::new();
    for (mode, kind, says) in [
        (Broken::Html, ErrorKind::Decode, "text/html, not JSON"),
        (Broken::BadGatewayHtml, ErrorKind::Server, "Bad Gateway"),
        (
            Broken::Announced10Mb,
            ErrorKind::Decode,
            "larger than 4194304 bytes",
        ),
        (
            Broken::Endless,
            ErrorKind::Decode,
            "larger than 4194304 bytes",
        ),
    ] {
        let sent = Arc::new(AtomicUsize::new(0));
        let gateway = broken_gateway(mode, Arc::clone(&sent)).await;
        let profile = env
            .desk
            .add_profile(ProfileInput {
                name: format!("{mode:?}"),
                mode: Mode::Test,
                base_url: format!("http://{gateway}"),
                access_key: Some("ak_broken".into()),
                secret_key: Some("sk_broken".into()),
                client_id: "cid".into(),
                client_secret: Some("cs_broken".into()),
                public_client_id: String::new(),
            })
            .await
            .unwrap();
        env.desk.switch_profile(&profile.id).await.unwrap();
        let started = Instant::now();
        let e = CommandError::from(
            env.payments
                .create_link(link(&format!("ORD-{mode:?}")))
                .await
                .unwrap_err(),
        );
        let took = started.elapsed();
        assert_eq!(e.kind, kind, "{mode:?}: {e:?}");
        assert!(e.message.contains(says), "{mode:?}: {:?}", e.message);
        // Well before the desk's 20 s timeout: the client stopped reading, it did not
        // wait for (or hold) the rest.
        assert!(took < Duration::from_secs(10), "{mode:?} took {took:?}");
        // Nothing lost: the order stays, unconfirmed, with the error, for a retry.
        let rows = env
            .payments
            .list(LedgerFilter::default(), None, None)
            .await
            .unwrap()
            .rows;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status, LedgerStatus::Unconfirmed);
        assert!(
            rows[0]
                .last_error
                .as_deref()
                .is_some_and(|m| m.contains(says)),
            "{:?}",
            rows[0].last_error
        );
        figures.push(format!(
            "{mode:?}: {:?} in {} ms, {} body bytes sent",
            e.kind,
            took.as_millis(),
            sent.load(Ordering::SeqCst)
        ));
    }
    println!("figures broken gateway: {}", figures.join("; "));
    env.shutdown().await;
}
