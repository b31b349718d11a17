//! The harness of the CLI process tests: a real `objectos serve` on a free port, killed when
//! dropped, and helpers to run the CLI against it.
#![allow(dead_code)] // each test file uses a subset

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_objectos");

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A running `objectos serve`, killed when dropped (also when a test panics).
pub struct Server {
    pub child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    pub _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200")
}

impl Server {
    pub fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("objectos-data");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new(BIN)
            .arg("serve")
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .env_remove("OBJECTOS_CONFIG")
            .env("OBJECTOS_LOG", "warn")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start objectos serve");
        let mut server = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            data_dir,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !healthy(port) {
            if let Some(status) = server.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(server._dir.path().join("server.log"));
                panic!("objectos serve exited with {status}: {log:?}");
            }
            assert!(
                Instant::now() < deadline,
                "objectos serve did not become healthy"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Runs the CLI against this server; the admin token comes from `--data-dir`.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--server", &self.url]);
        all.push("--data-dir");
        all.push(self.data_dir.to_str().unwrap());
        run_cli(&all, &[], None)
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("admin-token"))
            .unwrap()
            .trim()
            .to_owned()
    }
}

/// Runs the CLI with a clean environment (plus `env`), stdin closed, stdout piped (not a TTY).
pub fn run_cli(args: &[&str], env: &[(&str, &str)], cwd: Option<&Path>) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("OBJECTOS_URL")
        .env_remove("OBJECTOS_ADMIN_TOKEN")
        .env_remove("OBJECTOS_DATA_DIR")
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    command.output().expect("run objectos")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn assert_ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

/// Exit code `code` and exactly one line on stderr, which is returned.
pub fn assert_one_line_error(out: &Output, code: i32) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line expected: {err:?}");
    assert!(err.starts_with("objectos: "), "{err}");
    err.trim_end().to_owned()
}

/// An `objectos serve` process, killed (SIGKILL) when dropped, also when a test panics.
pub struct ServeProcess(pub Child);

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl ServeProcess {
    /// Starts `objectos serve` over `data_dir` on `port`, with `extra` flags; quiet logs.
    pub fn start(data_dir: &Path, port: u16, extra: &[&str]) -> Self {
        let child = Command::new(BIN)
            .args(["serve", "--data-dir", data_dir.to_str().unwrap()])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .env_remove("OBJECTOS_CONFIG")
            .env_remove("OBJECTOS_FAILPOINTS")
            .env("OBJECTOS_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start objectos serve");
        Self(child)
    }

    /// SIGKILL, then reap.
    pub fn kill(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

/// Waits until `/readyz` answers 200 (at most 20 s).
pub async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "server did not become ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
