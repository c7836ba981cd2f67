//! Browser sign-in for native apps (RFC 8252): a one-shot HTTP listener on
//! `127.0.0.1:0` receives the authorization redirect.

use std::net::Ipv4Addr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use super::{Redirect, UserSession};
use crate::client::Client;
use crate::error::{Error, Result};

/// Largest request head read from the browser.
const MAX_HEAD: usize = 16 * 1024;
/// One connection may not stall the sign-in for longer than this.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
const CALLBACK_PATH: &str = "/callback";

const DONE_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Signed in</title></head>\
<body style=\"font-family:system-ui,sans-serif;text-align:center;margin-top:15vh\">\
<h1>You are signed in</h1><p>You can close this window and return to the app.</p></body></html>";

const FAILED_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head>\
<body style=\"font-family:system-ui,sans-serif;text-align:center;margin-top:15vh\">\
<h1>Sign-in did not complete</h1><p>You can close this window and try again from the app.</p></body></html>";

fn network(e: std::io::Error) -> Error {
    Error::Network(format!("loopback listener: {e}"))
}

impl Client {
    /// Signs a user in through their browser.
    ///
    /// Binds a listener on `127.0.0.1:0`, builds the authorize URL (S256 challenge,
    /// random state, redirect to that listener) and hands it to `open`, which should
    /// open the system browser. Waits up to `timeout` for the redirect, checks its
    /// state, answers the browser with a "you can close this window" page and
    /// exchanges the code.
    pub async fn sign_in_with_browser(
        &self,
        open: impl FnOnce(&Url) -> std::io::Result<()>,
        timeout: Duration,
    ) -> Result<UserSession> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(network)?;
        let port = listener.local_addr().map_err(network)?.port();
        let redirect_uri = format!("http://127.0.0.1:{port}{CALLBACK_PATH}");
        let request = self.authorization_request(&redirect_uri, "")?;
        open(request.url())
            .map_err(|e| Error::Authorization(format!("could not open the browser: {e}")))?;
        let redirect = tokio::time::timeout(timeout, receive(&listener))
            .await
            .map_err(|_| {
                Error::Timeout(format!(
                    "no sign-in redirect arrived within {} s",
                    timeout.as_secs()
                ))
            })??;
        self.finish_sign_in(request, &redirect).await
    }
}

/// Accepts connections until one is a request for the callback path; answers it.
async fn receive(listener: &TcpListener) -> Result<Redirect> {
    loop {
        let (mut stream, _) = listener.accept().await.map_err(network)?;
        let Ok(Ok(target)) = tokio::time::timeout(READ_TIMEOUT, request_target(&mut stream)).await
        else {
            continue;
        };
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        if path != CALLBACK_PATH {
            // Browsers also ask for /favicon.ico and the like.
            respond(&mut stream, "404 Not Found", "").await;
            continue;
        }
        let redirect = Redirect::from_query(query);
        let page = if redirect.code.is_some() && redirect.error.is_none() {
            DONE_PAGE
        } else {
            FAILED_PAGE
        };
        respond(&mut stream, "200 OK", page).await;
        return Ok(redirect);
    }
}

/// Reads the request head and returns the target of `GET <target> HTTP/1.x`.
async fn request_target(stream: &mut TcpStream) -> std::io::Result<String> {
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
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => Ok(target.to_owned()),
        _ => Err(std::io::ErrorKind::InvalidData.into()),
    }
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // The browser may already be gone; the sign-in does not depend on this page.
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_the_callback_and_skips_other_paths() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let browser = tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            assert!(out.starts_with("HTTP/1.1 404"));
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /callback?code=abc&state=xyz%3D HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        });
        let r = receive(&listener).await.unwrap();
        assert_eq!(r.code.as_deref(), Some("abc"));
        assert_eq!(r.state.as_deref(), Some("xyz="));
        assert!(browser.await.unwrap().contains("You can close this window"));
    }
}
