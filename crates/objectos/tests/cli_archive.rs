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

    // A closed stdout: the work is done, nothing panics.
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
    assert_eq!(out.status.code(), Some(0));
}
