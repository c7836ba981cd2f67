//! Browser sign-in for native apps (RFC 8252): a one-shot HTTP listener on
//! `127.0.0.1:0` receives the authorization redirect.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use url::Url;

use super::{Redirect, UserSession};
use crate::client::Client;
use crate::error::{Error, Result};

/// Largest request head read from the browser.
const MAX_HEAD: usize = 16 * 1024;
/// One connection may not stall the sign-in for longer than this.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections read at once; browsers open a few speculative ones, nothing needs more.
const MAX_CONNECTIONS: usize = 16;
const CALLBACK_PATH: &str = "/callback";

const DONE_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Signed in · サインインしました</title></head>\
<body style=\"font-family:system-ui,'Noto Sans CJK JP',sans-serif;text-align:center;margin-top:15vh\">\
<h1>Signed in — you can close this tab</h1>\
<h1 lang=\"ja\">サインインしました — このタブは閉じてかまいません</h1></body></html>";

const FAILED_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Sign-in failed · サインインできませんでした</title></head>\
<body style=\"font-family:system-ui,'Noto Sans CJK JP',sans-serif;text-align:center;margin-top:15vh\">\
<h1>Sign-in did not complete — you can close this tab</h1><p>The app says why.</p>\
<h1 lang=\"ja\">サインインできませんでした — このタブは閉じてかまいません</h1>\
<p lang=\"ja\">理由はアプリに表示されます。</p></body></html>";

fn network(e: std::io::Error) -> Error {
    Error::Network(format!("loopback listener: {e}"))
}

/// The app's end of a browser sign-in: a listener on `127.0.0.1` on a port the OS
/// chooses, for exactly one request on the callback path. Dropping it closes the port.
#[derive(Debug)]
pub struct Loopback {
    listener: TcpListener,
    redirect_uri: String,
}

impl Loopback {
    pub async fn bind() -> Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(network)?;
        let port = listener.local_addr().map_err(network)?.port();
        Ok(Self {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}{CALLBACK_PATH}"),
        })
    }

    /// `http://127.0.0.1:<port>/callback`, for [`Client::authorization_request`].
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for the one `GET` of the callback path, answering every other request
    /// with a 404, and closes the listener. The browser waits for its page until the
    /// returned [`BrowserReply`] is used, so that it shows the sign-in's real outcome.
    /// Connections are read concurrently: an idle one (a browser's speculative
    /// connection) does not hold up the redirect.
    pub async fn receive(self) -> Result<(Redirect, BrowserReply)> {
        let mut reading = JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, _) = accepted.map_err(network)?;
                    // Beyond the limit a connection is closed unread.
                    if reading.len() < MAX_CONNECTIONS {
                        reading.spawn(read_callback(stream));
                    }
                }
                Some(read) = reading.join_next() => {
                    if let Ok(Some(found)) = read {
                        // Dropping the set aborts the other connections' reads.
                        return Ok(found);
                    }
                }
            }
        }
    }
}

/// The browser's connection, kept open until the app knows the outcome.
pub struct BrowserReply {
    stream: TcpStream,
}

impl fmt::Debug for BrowserReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserReply").finish_non_exhaustive()
    }
}

impl BrowserReply {
    /// "Signed in — you can close this tab", in English and Japanese.
    pub async fn signed_in(mut self) {
        respond(&mut self.stream, "200 OK", DONE_PAGE).await;
    }

    /// "Sign-in did not complete", in English and Japanese; the app shows why.
    pub async fn failed(mut self) {
        respond(&mut self.stream, "200 OK", FAILED_PAGE).await;
    }
}

impl Client {
    /// Signs a user in through their browser.
    ///
    /// Binds a [`Loopback`] listener, builds the authorize URL (S256 challenge,
    /// random state, redirect to that listener) and hands it to `open`, which should
    /// open the system browser. Waits up to `timeout` for the redirect, checks its
    /// state, exchanges the code and answers the browser with the outcome's page.
    pub async fn sign_in_with_browser(
        &self,
        open: impl FnOnce(&Url) -> std::io::Result<()>,
        timeout: Duration,
    ) -> Result<UserSession> {
        let loopback = Loopback::bind().await?;
        let request = self.authorization_request(loopback.redirect_uri(), "")?;
        open(request.url())
            .map_err(|e| Error::Authorization(format!("could not open the browser: {e}")))?;
        let (redirect, reply) = tokio::time::timeout(timeout, loopback.receive())
            .await
            .map_err(|_| {
                Error::Timeout(format!(
                    "no sign-in redirect arrived within {} s",
                    timeout.as_secs()
                ))
            })??;
        let session = self.finish_sign_in(request, &redirect).await;
        match &session {
            Ok(_) => reply.signed_in().await,
            Err(_) => reply.failed().await,
        }
        session
    }
}

/// Reads one request. The callback is returned unanswered; anything else gets a 404.
async fn read_callback(mut stream: TcpStream) -> Option<(Redirect, BrowserReply)> {
    let (method, target) = tokio::time::timeout(READ_TIMEOUT, request_line(&mut stream))
        .await
        .ok()?
        .ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    if method == "GET" && path == CALLBACK_PATH {
        return Some((Redirect::from_query(query), BrowserReply { stream }));
    }
    // Browsers also ask for /favicon.ico and the like.
    respond(&mut stream, "404 Not Found", "").await;
    None
}

/// Reads the request head and returns the method and target of its request line.
async fn request_line(stream: &mut TcpStream) -> std::io::Result<(String, String)> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    Ok((
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
    ))
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    // The browser may already be gone; the sign-in does not depend on this page.
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    async fn send(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    fn addr(loopback: &Loopback) -> SocketAddr {
        let uri = Url::parse(loopback.redirect_uri()).unwrap();
        assert_eq!(uri.host_str(), Some("127.0.0.1"));
        assert_eq!(uri.path(), CALLBACK_PATH);
        SocketAddr::from((Ipv4Addr::LOCALHOST, uri.port().unwrap()))
    }

    #[tokio::test]
    async fn only_a_get_of_the_callback_path_is_taken() {
        let loopback = Loopback::bind().await.unwrap();
        let addr = addr(&loopback);
        let browser = tokio::spawn(async move {
            // An idle speculative connection must not hold up the others.
            let _idle = TcpStream::connect(addr).await.unwrap();
            for request in [
                "GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET /callback/extra?code=abc&state=xyz HTTP/1.1\r\nHost: x\r\n\r\n",
                "POST /callback?code=abc&state=xyz HTTP/1.1\r\nHost: x\r\n\r\n",
                "nonsense\r\n\r\n",
            ] {
                let out = send(addr, request).await;
                assert!(out.starts_with("HTTP/1.1 404"), "{request}: {out}");
            }
            send(
                addr,
                "GET /callback?code=abc&state=xyz%3D HTTP/1.1\r\nHost: x\r\n\r\n",
            )
            .await
        });
        let (redirect, reply) = tokio::time::timeout(Duration::from_secs(5), loopback.receive())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(redirect.code.as_deref(), Some("abc"));
        assert_eq!(redirect.state.as_deref(), Some("xyz="));
        // The browser waits for the outcome, and the port is closed already.
        assert!(!browser.is_finished());
        assert!(TcpStream::connect(addr).await.is_err());
        reply.signed_in().await;
        let page = browser.await.unwrap();
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(
            page.contains("Signed in — you can close this tab"),
            "{page}"
        );
        assert!(page.contains("サインインしました — このタブは閉じてかまいません"));
    }

    #[tokio::test]
    async fn a_failure_page_says_so_in_both_languages() {
        let loopback = Loopback::bind().await.unwrap();
        let addr = addr(&loopback);
        let browser = tokio::spawn(async move {
            send(
                addr,
                "GET /callback?error=access_denied&state=s HTTP/1.1\r\n\r\n",
            )
            .await
        });
        let (redirect, reply) = loopback.receive().await.unwrap();
        assert_eq!(redirect.error.as_deref(), Some("access_denied"));
        reply.failed().await;
        let page = browser.await.unwrap();
        assert!(page.contains("Sign-in did not complete"), "{page}");
        assert!(page.contains("サインインできませんでした"), "{page}");
        assert!(!page.contains("Signed in —"), "{page}");
    }
}
