//! Every command on a standard output nobody reads (issue #14): a pipe whose reader is gone
//! (`| head -c0`), a full device (`> /dev/full`), a closed descriptor (`>&-`). No panic (exit
//! 101, "failed printing to stdout"), the documented exit code 3 when the work was done but its
//! output was lost, and a one-time API key written to stderr instead of being lost.
//! Real processes against a real `objectos serve` on a free local port.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::*;

/// Exit code of a command whose work was done but whose output could not be written.
const EXIT_OUTPUT: i32 = 3;

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// Where the command's stdout goes.
enum Sink {
    /// A pipe whose reading end is closed before the command starts: every write is EPIPE.
    ClosedPipe,
    /// `/dev/full`: every write is ENOSPC.
    Full,
}

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("OBJECTOS_URL")
        .env_remove("OBJECTOS_ADMIN_TOKEN")
        .env_remove("OBJECTOS_DATA_DIR")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Runs the CLI with `args` (the server's flags added unless `local`) and stdout into `sink`.
fn run(server: &Server, args: &[&str], sink: Sink) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    let data_dir = server.data_dir.to_str().unwrap();
    if args[0] != "validate" {
        all.extend(["--server", &server.url, "--data-dir", data_dir]);
    }
    let mut command = command(&all);
    match sink {
        Sink::ClosedPipe => {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            command.stdout(writer);
        }
        Sink::Full => {
            command.stdout(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            );
        }
    }
    command.output().expect("run objectos")
}

/// No panic: not exit 101, no panic message or backtrace on stderr.
fn assert_no_panic(args: &[&str], out: &Output) {
    let err = stderr(out);
    assert_ne!(out.status.code(), Some(101), "{args:?} panicked: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert!(!err.contains("failed printing"), "{args:?}: {err}");
}

/// The API key written to stderr for `what` ("the API key of tenant acme").
fn rescued_key(args: &[&str], out: &Output, what: &str) -> String {
    let err = stderr(out);
    let prefix =
        format!("objectos: standard output could not be written; {what}, shown once, is: ");
    let line = err
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{args:?}: no key for '{what}' on stderr: {err}"));
    let key = line[prefix.len()..].trim().to_owned();
    assert!(key.starts_with("osk_"), "{args:?}: {line}");
    key
}

/// `GET /api/v1/meta` with a tenant key: its HTTP status.
fn meta_status(server: &Server, key: &str) -> u16 {
    let addr = server.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /api/v1/meta HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn json_of(out: &Output) -> Value {
    serde_json::from_str(&assert_ok(out)).unwrap()
}

#[test]
fn every_command_survives_a_closed_stdout_and_keeps_one_time_keys() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("closed-a.archive.json");
    let archive = archive.to_str().unwrap();

    // The commands whose secrets are rescued, each checked below.
    let create = ["tenant", "create", "--org", "closed-a"];
    let out = run(&server, &create, Sink::ClosedPipe);
    assert_no_panic(&create, &out);
    assert_eq!(out.status.code(), Some(EXIT_OUTPUT), "{}", stderr(&out));
    let key = rescued_key(&create, &out, "the API key of tenant closed-a");
    assert_eq!(meta_status(&server, &key), 200, "the rescued key works");

    let create_json = ["tenant", "create", "--org", "closed-b", "--json"];
    let out = run(&server, &create_json, Sink::ClosedPipe);
    assert_no_panic(&create_json, &out);
    assert_eq!(out.status.code(), Some(EXIT_OUTPUT), "{}", stderr(&out));
    let key = rescued_key(&create_json, &out, "the API key of tenant closed-b");
    assert_eq!(meta_status(&server, &key), 200);

    let key_create = ["key", "create", "--tenant", "closed-a"];
    let out = run(&server, &key_create, Sink::ClosedPipe);
    assert_no_panic(&key_create, &out);
    assert_eq!(out.status.code(), Some(EXIT_OUTPUT), "{}", stderr(&out));
    let err = stderr(&out);
    let key_id = err
        .split("the API key ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("a key id")
        .to_owned();
    let what = format!("the API key {key_id} of tenant closed-a");
    let key = rescued_key(&key_create, &out, &what);
    assert_eq!(meta_status(&server, &key), 200);

    // Ids the commands below need, read with a working stdout.
    let deploy_args = [
        "deploy",
        &example("todo.bundle.json"),
        "--tenant",
        "closed-a",
        "--yes",
    ];
    assert_ok(&server.cli(&deploy_args));
    // A second deployment, so that the newest has a parent to roll back to.
    let crm = example("crm.bundle.json");
    assert_ok(&server.cli(&["deploy", &crm, "--tenant", "closed-a", "--yes"]));
    let deployments =
        json_of(&server.cli(&["deployments", "list", "--tenant", "closed-a", "--json"]));
    let deployment = deployments[0]["id"]
        .as_str()
        .expect("a deployment id")
        .to_owned();

    // Every other command that prints: the work is done, exit 3, no panic.
    let todo = example("todo.bundle.json");
    let commands: Vec<Vec<&str>> = vec![
        vec!["validate", &todo],
        vec!["validate", &todo, "--json", "--as", "DeployBundle"],
        vec!["tenant", "list"],
        vec!["tenant", "list", "--json"],
        vec!["tenant", "show", "closed-a"],
        vec!["tenant", "suspend", "closed-b"],
        vec!["tenant", "resume", "closed-b"],
        vec!["tenant", "plan", "closed-b", "pro"],
        vec!["key", "list", "--tenant", "closed-a"],
        vec!["key", "revoke", "--tenant", "closed-a", &key_id],
        vec!["deploy", &todo, "--tenant", "closed-a", "--dry-run"],
        vec!["deploy", &todo, "--tenant", "closed-b", "--yes"],
        vec!["deployments", "list", "--tenant", "closed-a"],
        vec!["deployments", "show", "--tenant", "closed-a", &deployment],
        vec![
            "deployments",
            "rollback",
            "--tenant",
            "closed-a",
            &deployment,
            "--dry-run",
        ],
        vec!["tenant", "export", "closed-a", archive],
    ];
    for args in &commands {
        let out = run(&server, args, Sink::ClosedPipe);
        assert_no_panic(args, &out);
        assert_eq!(
            out.status.code(),
            Some(EXIT_OUTPUT),
            "{args:?}: {}",
            stderr(&out)
        );
        // A closed pipe is what `| head` does on purpose: nothing said about it.
        assert!(stderr(&out).is_empty(), "{args:?}: {}", stderr(&out));
    }
    assert!(PathBuf::from(archive).exists(), "export wrote its file");

    // restore: a new tenant and its one-time key, rescued.
    let restore = ["tenant", "restore", archive, "--org", "closed-c"];
    let out = run(&server, &restore, Sink::ClosedPipe);
    assert_no_panic(&restore, &out);
    assert_eq!(out.status.code(), Some(EXIT_OUTPUT), "{}", stderr(&out));
    let key = rescued_key(&restore, &out, "the API key of restored tenant closed-c");
    assert_eq!(meta_status(&server, &key), 200);

    // move: to a second server; the new key is rescued.
    let target = Server::start(&[]);
    let move_args = [
        "tenant",
        "move",
        "closed-c",
        "--to",
        &target.url,
        "--to-data-dir",
        target.data_dir.to_str().unwrap(),
    ];
    let out = run(&server, &move_args, Sink::ClosedPipe);
    assert_no_panic(&move_args, &out);
    assert_eq!(out.status.code(), Some(EXIT_OUTPUT), "{}", stderr(&out));
    let key = rescued_key(&move_args, &out, "the API key of moved tenant closed-c");
    assert_eq!(meta_status(&target, &key), 200);

    // destroy, last.
    let destroy = ["tenant", "destroy", "closed-b", "--immediate", "--yes"];
    let out = run(&server, &destroy, Sink::ClosedPipe);
    assert_no_panic(&destroy, &out);
    assert_eq!(out.status.code(), Some(EXIT_OUTPUT), "{}", stderr(&out));

    // A command that fails keeps its own exit code (1: the tenant is active, not failed).
    let retry = ["tenant", "retry", "closed-a"];
    let out = run(&server, &retry, Sink::ClosedPipe);
    assert_no_panic(&retry, &out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // A full device: the same exit code, and the reason in one line.
    let list = ["tenant", "list"];
    let out = run(&server, &list, Sink::Full);
    assert_no_panic(&list, &out);
    assert_eq!(out.status.code(), Some(EXIT_OUTPUT));
    assert_eq!(
        stderr(&out).trim_end(),
        "objectos: cannot write to standard output: No space left on device (os error 28)"
    );
    let key_create = ["key", "create", "--tenant", "closed-a", "--json"];
    let out = run(&server, &key_create, Sink::Full);
    assert_no_panic(&key_create, &out);
    assert_eq!(out.status.code(), Some(EXIT_OUTPUT));
    assert!(
        stderr(&out).contains("shown once, is: osk_closed-a_"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_closed_stdout_descriptor_is_not_a_panic() {
    // `>&-`: the process starts with descriptor 1 closed; Rust's runtime puts /dev/null there,
    // so the output goes nowhere and the command succeeds.
    let todo = example("todo.bundle.json");
    let out = Command::new("sh")
        .args(["-c", "exec \"$0\" validate \"$1\" >&-", BIN, &todo])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_no_panic(&["validate"], &out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn serve_keeps_serving_when_nobody_reads_its_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = command(&[
        "serve",
        "--data-dir",
        dir.path().join("data").to_str().unwrap(),
        "--listen",
        &format!("127.0.0.1:{port}"),
    ])
    .env_remove("OBJECTOS_CONFIG")
    .env("OBJECTOS_LOG", "warn")
    .stdout(writer)
    .spawn()
    .unwrap();
    let server = Pid(child.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !healthy(port) {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("objectos serve exited with {status}: {err}");
        }
        assert!(
            Instant::now() < deadline,
            "objectos serve did not become healthy"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Still serving a moment later (the failed "listening" line did not stop it).
    std::thread::sleep(Duration::from_millis(200));
    assert!(healthy(port));
    server.terminate();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("created the admin token"),
        "the admin token still reaches stderr: {err}"
    );
}

/// A process id, sent SIGTERM when asked (and SIGKILL when dropped, so a failing test does not
/// leave a server behind).
struct Pid(u32);

impl Pid {
    fn terminate(self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        std::mem::forget(self);
    }
}

impl Drop for Pid {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.0.to_string()])
            .status();
    }
}
