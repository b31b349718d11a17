//! `objectos serve` as a real process: JSON logs, and SIGTERM shutting down gracefully (exit 0,
//! databases closed with their WAL checkpointed).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn sigterm_stops_gracefully_and_logs_are_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_objectos"))
        .args([
            "serve",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--log-format", "json"])
        .env("OBJECTOS_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Provision a tenant over plain HTTP so the server has open databases to close.
    let deadline = Instant::now() + Duration::from_secs(20);
    let token = loop {
        if let Ok(token) = std::fs::read_to_string(dir.path().join("admin-token")) {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break token.trim().to_owned();
            }
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    let body = r#"{"orgId":"acme"}"#;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /api/v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");

    // SIGTERM (through kill(1): no unsafe code needed).
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "server did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "exit status {exit:?}");

    // Every log line is a JSON object (the one-time admin token notice is not a log line).
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let logs: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        logs.iter()
            .any(|l| l["fields"]["message"] == "objectos listening"),
        "{stderr}"
    );
    assert!(
        logs.iter()
            .any(|l| l["fields"]["message"] == "shutting down"),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .all(|l| l.starts_with('{') || !l.contains("INFO")),
        "{stderr}"
    );

    // The control store was checkpointed at shutdown: its WAL is empty.
    let wal = dir.path().join("control.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "control.db-wal still holds {wal_len} bytes");
}

/// One HTTP/1.1 request over a fresh connection; the whole answer as text.
fn http(port: u16, method: &str, path: &str, token: &str, body: Option<&str>) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// Text logs written to a pipe (as under systemd or docker, or `2>server.log`) are plain text:
/// no terminal colour codes, and optional values written as values, not as Rust's `Some(..)`.
#[test]
fn text_logs_to_a_pipe_are_plain_without_colour_codes_or_debug_options() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_objectos"))
        .args([
            "serve",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--log-format", "text"])
        .env("OBJECTOS_LOG", "info")
        // Colours must be off because stderr is a pipe, not because of NO_COLOR.
        .env_remove("NO_COLOR")
        .env_remove("OBJECTOS_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let token = loop {
        if let Ok(token) = std::fs::read_to_string(dir.path().join("admin-token")) {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break token.trim().to_owned();
            }
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    for org in ["acme", "initech"] {
        let body = format!(r#"{{"orgId":"{org}"}}"#);
        let answer = http(port, "POST", "/api/v1/tenants", &token, Some(&body));
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    }
    // One destruction with a backup, one without: both log their backup.
    let answer = http(
        port,
        "DELETE",
        "/api/v1/tenants/acme?immediate=true",
        &token,
        None,
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answer = http(
        port,
        "DELETE",
        "/api/v1/tenants/initech?immediate=true&createBackup=false",
        &token,
        None,
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(child.wait().unwrap().success(), "{stderr}");

    assert!(stderr.contains("objectos listening"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in logs written to a pipe:\n{stderr:?}"
    );
    assert!(
        !stderr.contains("Some("),
        "a debug-printed Option:\n{stderr}"
    );
    let destroyed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("tenant destroyed"))
        .collect();
    assert_eq!(destroyed.len(), 2, "{stderr}");
    let backup = dir.path().join("backups");
    assert!(
        destroyed.iter().any(|l| l.contains("tenant=acme")
            && l.contains(&format!("backup={}", backup.display()))
            && l.contains(".archive.json")),
        "{destroyed:?}"
    );
    assert!(
        destroyed
            .iter()
            .any(|l| l.contains("tenant=initech") && l.contains("backup=none")),
        "{destroyed:?}"
    );
}

/// A start that cannot listen (the port is taken) fails at once with a message saying so and
/// leaves nothing behind: no data dir, so no admin token that was never shown. The next start,
/// on a free port, creates the data dir and shows its token.
#[test]
fn a_taken_port_fails_cleanly_before_the_data_dir_and_token_are_made() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("objectos-data");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = Command::new(env!("CARGO_BIN_EXE_objectos"))
        .args(["serve", "--data-dir", data_dir.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("OBJECTOS_LOG", "warn")
        .env_remove("OBJECTOS_CONFIG")
        .env_remove("OBJECTOS_ADMIN_TOKEN")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}"))
            && stderr.contains("--listen"),
        "{stderr}"
    );
    assert!(
        !data_dir.exists(),
        "a failed start left {}",
        data_dir.display()
    );
    drop(taken);

    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_objectos"))
        .args(["serve", "--data-dir", data_dir.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("OBJECTOS_LOG", "warn")
        .env_remove("OBJECTOS_CONFIG")
        .env_remove("OBJECTOS_ADMIN_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // "objectos listening" comes on stdout once the start is complete, after the token notice.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert!(line.starts_with("objectos listening"), "{line:?}");
    child.kill().unwrap();
    child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let token = std::fs::read_to_string(data_dir.join("admin-token")).unwrap();
    let token = token.trim();
    assert!(token.len() >= 32, "{token}");
    assert!(
        stderr.contains("created the admin token") && stderr.contains(token),
        "the first successful start shows the token:\n{stderr}"
    );
    assert!(
        !data_dir.join("admin-token.tmp").exists(),
        "the token file is written through a temporary file renamed into place"
    );
}
