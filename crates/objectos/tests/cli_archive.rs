//! `objectos tenant export` and `objectos tenant restore` run as real processes against a real
//! `objectos serve`: the archive file (mode 0600), the printed counts and hash, the one-time key of
//! the restored tenant, one-line refusals, and a closed stdout.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

use std::process::{Command, Stdio};

use serde_json::Value;

mod common;

use common::*;

fn crm_path() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/crm.bundle.json"
    )
    .to_owned()
}

#[test]
fn export_then_restore_under_another_org() {
    let server = Server::start(&[]);
    assert_ok(&server.cli(&["tenant", "create", "--org", "acme", "--plan", "pro"]));
    assert_ok(&server.cli(&["deploy", &crm_path(), "--tenant", "acme"]));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme.archive.json");
    let file_arg = file.to_str().unwrap();

    // export: the file (private), the counts and the hash.
    let text = assert_ok(&server.cli(&["tenant", "export", "acme", file_arg]));
    let archive: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(archive["format"], "objectos-archive/1");
    let hash = archive["contentHash"].as_str().unwrap();
    assert!(text.contains("Exported tenant acme"), "{text}");
    assert!(text.contains(hash), "{text}");
    assert!(text.contains("account"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // restore under another org: the new tenant, its key once, the verified hash.
    let text = assert_ok(&server.cli(&["tenant", "restore", file_arg, "--org", "acme-copy"]));
    assert!(text.contains("Restored tenant acme-copy"), "{text}");
    assert!(text.contains("osk_acme-copy_"), "{text}");
    assert!(text.contains(hash) && text.contains("verified"), "{text}");
    assert!(text.contains("shown ONCE"), "{text}");
    let json = assert_ok(&server.cli(&["tenant", "export", "acme-copy", file_arg, "--json"]));
    let summary: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(summary["contentHash"], hash);

    // Refusals are one line (plus one per issue), exit 1.
    let out = server.cli(&["tenant", "restore", file_arg, "--org", "acme"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("[tenant_exists]"), "{}", stderr(&out));
    let mut tampered: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    tampered["objects"]["account"][0]["name"] = "changed".into();
    std::fs::write(&file, tampered.to_string()).unwrap();
    let out = server.cli(&["tenant", "restore", file_arg, "--org", "acme-3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("archive.contentHash"),
        "{}",
        stderr(&out)
    );
    let out = server.cli(&["tenant", "restore", "/nonexistent/archive.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // A closed stdout: the work is done, nothing panics; exit 3 says the output was lost.
    let mut all = vec!["tenant", "export", "acme", file_arg];
    all.extend(["--server", &server.url, "--data-dir"]);
    all.push(server.data_dir.to_str().unwrap());
    let mut child = Command::new(BIN)
        .args(&all)
        .env_remove("OBJECTOS_URL")
        .env_remove("OBJECTOS_ADMIN_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(file.exists());
}

/// `tenant move` from a server on the SQLite default to a server on PostgreSQL: the tenant is
/// served there with a new key and the same content, and is gone from the source (whose destroy
/// backup is kept). A move to a server that cannot take it leaves the source serving.
#[test]
fn move_from_a_sqlite_server_to_a_postgres_server() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = runtime.block_on(objectos_sql::testing::TestDatabase::create());
    let source = Server::start(&[]);
    let target = Server::start(&["--tenant-provider", "postgres", "--tenant-db-url", &db.url]);
    assert_ok(&source.cli(&["tenant", "create", "--org", "acme", "--plan", "pro"]));
    assert_ok(&source.cli(&["deploy", &crm_path(), "--tenant", "acme"]));
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before.json");
    let summary: Value = serde_json::from_str(&assert_ok(&source.cli(&[
        "tenant",
        "export",
        "acme",
        before.to_str().unwrap(),
        "--json",
    ])))
    .unwrap();
    let hash = summary["contentHash"].as_str().unwrap().to_owned();

    // A target that refuses (no such server): the source is resumed and keeps serving.
    let out = source.cli(&[
        "tenant",
        "move",
        "acme",
        "--to",
        "http://127.0.0.1:9",
        "--to-admin-token",
        &"x".repeat(40),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot reach"), "{}", stderr(&out));
    let shown: Value = serde_json::from_str(&assert_ok(
        &source.cli(&["tenant", "show", "acme", "--json"]),
    ))
    .unwrap();
    assert_eq!(shown["provisioningStatus"], "active", "{shown}");

    // The move.
    let text = assert_ok(&source.cli(&[
        "tenant",
        "move",
        "acme",
        "--to",
        &target.url,
        "--to-data-dir",
        target.data_dir.to_str().unwrap(),
    ]));
    assert!(text.contains("Moved tenant acme"), "{text}");
    assert!(text.contains(&hash), "{text}");
    assert!(text.contains("postgres://"), "{text}");
    let key = text
        .split_whitespace()
        .find(|w| w.starts_with("osk_acme_"))
        .expect("the new key")
        .to_owned();
    // Gone from the source, with a backup archive.
    let out = source.cli(&["tenant", "show", "acme"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let backups: Vec<_> = std::fs::read_dir(source.data_dir.join("backups"))
        .unwrap()
        .collect();
    assert_eq!(backups.len(), 1);
    // Served by the target with the new key, the same content.
    let after = dir.path().join("after.json");
    let summary: Value = serde_json::from_str(&assert_ok(&target.cli(&[
        "tenant",
        "export",
        "acme",
        after.to_str().unwrap(),
        "--json",
    ])))
    .unwrap();
    assert_eq!(summary["contentHash"], hash.as_str());
    assert_eq!(summary["source"]["provider"], "postgres");
    let response = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!(
                "{}/api/v1/data/account?sort=name&top=1",
                target.url
            ))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    assert_eq!(
        response["data"]["records"][0]["name"], "Acme Corporation",
        "{response}"
    );
    drop((source, target));
    drop(db);
}
