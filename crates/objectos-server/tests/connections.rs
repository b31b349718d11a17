//! Bounds on client connections (issue #14, slowloris): a header-read timeout that also closes
//! idle kept-alive connections, and a cap on connections served at once. Raw TCP clients against
//! a real server on 127.0.0.1:0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection (EOF or reset); returns what it sent and when
/// it closed, or fails the test when it is still open after `patience`.
async fn read_until_closed(stream: &mut TcpStream, patience: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(patience, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (received, started.elapsed()),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "the connection is still open after {patience:?}; received so far: {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
}

fn short_timeout() -> TestApp {
    TestApp::new().with(|o| {
        o.settings.connections.header_read_timeout = Duration::from_millis(500);
    })
}

#[tokio::test]
async fn a_half_sent_request_head_is_closed_after_the_header_read_timeout() {
    let app = short_timeout().start().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    // A head that never ends (slowloris): no blank line, then one more header, slowly.
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = stream.write_all(b"X-Slow: 1\r\n").await;
    let (received, after) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    // No request was answered: at most hyper's own error status line, never a 200.
    let text = String::from_utf8_lossy(&received);
    assert!(!text.contains(" 200 "), "{text}");
    assert!(after < Duration::from_secs(3), "closed after {after:?}");
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_header_read_timeout() {
    let app = short_timeout().start().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let (received, after) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(!String::from_utf8_lossy(&received).contains(" 200 "));
    assert!(after < Duration::from_secs(3), "closed after {after:?}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_its_response() {
    let app = short_timeout().start().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    // The request is answered and the connection kept alive (HTTP/1.1), then closed when idle.
    let (received, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        !text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_serves_several_requests_within_the_timeout() {
    let app = TestApp::new()
        .with(|o| o.settings.connections.header_read_timeout = Duration::from_secs(2))
        .start()
        .await;
    // reqwest reuses one pooled connection; requests closer together than the timeout work.
    for _ in 0..3 {
        let res = app
            .client
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let app = TestApp::new()
        .with(|o| {
            o.settings.connections.max_connections = 2;
            o.settings.connections.header_read_timeout = Duration::from_secs(30);
        })
        .start()
        .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let first = TcpStream::connect(&addr).await.unwrap();
    let second = TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A third client is not served while two connections are open...
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!("{}/healthz", app.base);
    let pending = tokio::spawn(async move { client.get(url).send().await.map(|r| r.status()) });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!pending.is_finished(), "served beyond max_connections");

    // ...and is served as soon as one of them closes.
    drop(first);
    let status = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("served once a connection closed")
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    drop(second);
}

fn short_body_timeout() -> TestApp {
    TestApp::new().with(|o| {
        o.settings.connections.body_read_timeout = Duration::from_secs(1);
        o.settings.connections.header_read_timeout = Duration::from_secs(10);
    })
}

/// The head of `POST /api/v1/tenants` announcing a body of `length` bytes.
fn create_head(app: &common::TestServer, length: usize) -> String {
    format!(
        "POST /api/v1/tenants HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
        app.admin_token
    )
}

#[tokio::test]
async fn a_trickled_body_is_answered_408_and_the_connection_closed() {
    let app = short_body_timeout().start().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(&addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    write
        .write_all(create_head(&app, 1000).as_bytes())
        .await
        .unwrap();
    // One byte every 200 ms: each arrives well within the timeout, the whole body never does
    // (a per-chunk idle timeout would not stop this client).
    let trickle = tokio::spawn(async move {
        for _ in 0..50 {
            if write.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), read.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "still open after 5 s; received: {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
    let after = started.elapsed();
    trickle.abort();
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    let body = text.split("\r\n\r\n").nth(1).expect("a body");
    let envelope: serde_json::Value = serde_json::from_str(body).expect("a JSON envelope");
    assert_eq!(envelope["success"], false);
    assert_eq!(envelope["error"]["code"], "request_timeout");
    assert_eq!(envelope["error"]["category"], "payload");
    assert_eq!(envelope["error"]["details"]["timeoutMs"], 1000);
    assert!(envelope["error"]["requestId"].is_string(), "{envelope}");
    assert!(after < Duration::from_secs(4), "closed after {after:?}");
    // Nothing was created from the half body.
    let tenants = app
        .admin(reqwest::Method::GET, "/api/v1/tenants")
        .send()
        .await
        .unwrap();
    let tenants: serde_json::Value = tenants.json().await.unwrap();
    assert_eq!(tenants["data"], serde_json::json!([]), "{tenants}");
}

#[tokio::test]
async fn a_body_sent_in_pieces_within_the_timeout_is_served() {
    let app = short_body_timeout().start().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let body = br#"{"orgId": "slowpoke"}"#;
    stream
        .write_all(create_head(&app, body.len()).as_bytes())
        .await
        .unwrap();
    stream.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(&body[5..]).await.unwrap();
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 201"), "{text}");
}
