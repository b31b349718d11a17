//! `objectos tenant ...` and `objectos key ...` run as real processes against a real
//! `objectos serve` on a free local port: outputs, one-line errors and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

use serde_json::Value;

mod common;

use common::*;

const STEPS: [&str; 5] = [
    "create_database",
    "sync_schema",
    "apply_seed_data",
    "generate_api_keys",
    "activate",
];

#[test]
fn tenant_and_key_commands_against_a_running_server() {
    let server = Server::start(&[]);

    // create: plain lines (stdout is a pipe), every step, the one-time key.
    let out = server.cli(&[
        "tenant",
        "create",
        "--org",
        "acme",
        "--plan",
        "pro",
        "--region",
        "eu-west",
        "--display-name",
        "Acme Inc",
    ]);
    let text = assert_ok(&out);
    assert!(
        !text.contains('\u{1b}'),
        "no escape codes when piped: {text:?}"
    );
    for step in STEPS {
        assert!(text.contains(step), "{step} missing: {text}");
    }
    assert!(text.contains("✓ create_database"), "{text}");
    assert!(text.contains("– apply_seed_data"), "{text}");
    assert!(text.contains("Tenant acme is active"), "{text}");
    assert!(text.contains("file:"), "connection URL: {text}");
    let key_line = text
        .lines()
        .find(|l| l.contains("osk_"))
        .expect("an API key line");
    assert!(key_line.contains("osk_acme_"), "{key_line}");
    assert!(text.contains("shown ONCE"), "{text}");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));

    // The same request again: it exists, no key.
    let out = server.cli(&[
        "tenant",
        "create",
        "--org",
        "acme",
        "--plan",
        "pro",
        "--region",
        "eu-west",
        "--display-name",
        "Acme Inc",
    ]);
    let text = assert_ok(&out);
    assert!(text.contains("already exists"), "{text}");
    assert!(text.contains("status active"), "{text}");
    assert!(!text.contains("osk_"), "no key on a repeat: {text}");

    // Same org, different plan: 409 naming the field, one line.
    let out = server.cli(&["tenant", "create", "--org", "acme", "--plan", "free"]);
    let err = assert_one_line_error(&out, 1);
    assert!(
        err.contains("plan") && err.contains("[org_conflict]"),
        "{err}"
    );

    // list: a table with the tenant, and JSON.
    let text = assert_ok(&server.cli(&["tenant", "list"]));
    let header = text.lines().next().unwrap();
    for column in ["ID", "NAME", "STATUS", "PLAN", "PROVIDER"] {
        assert!(header.contains(column), "{header}");
    }
    let row = text.lines().find(|l| l.starts_with("acme ")).expect("row");
    assert!(
        row.contains("Acme Inc") && row.contains("active") && row.contains("pro"),
        "{row}"
    );
    assert!(
        text.contains("of 1 tenant(s)") && text.contains("hasMore: false"),
        "{text}"
    );
    let json: Value =
        serde_json::from_str(&assert_ok(&server.cli(&["tenant", "list", "--json"]))).unwrap();
    assert_eq!(json[0]["id"], "acme");
    let text = assert_ok(&server.cli(&["tenant", "list", "--status", "suspended"]));
    assert!(text.contains("no tenants"), "{text}");

    // show
    let text = assert_ok(&server.cli(&["tenant", "show", "acme"]));
    assert!(text.contains("Tenant acme"), "{text}");
    assert!(
        text.contains("eu-west") && text.contains("active"),
        "{text}"
    );
    assert!(text.contains("✓ activate"), "{text}");

    // suspend / resume, and a refused transition: exit 1, one line naming the status.
    let text = assert_ok(&server.cli(&["tenant", "suspend", "acme"]));
    assert!(text.contains("suspended"), "{text}");
    let text = assert_ok(&server.cli(&["tenant", "resume", "acme"]));
    assert!(text.contains("status active"), "{text}");
    let err = assert_one_line_error(&server.cli(&["tenant", "resume", "acme"]), 1);
    assert!(
        err.starts_with("objectos: tenant acme: cannot resume tenant acme"),
        "{err}"
    );
    assert!(err.contains("its status is 'active'"), "{err}");
    assert!(err.ends_with("[invalid_transition]"), "{err}");

    // plan
    let text = assert_ok(&server.cli(&["tenant", "plan", "acme", "enterprise"]));
    assert!(text.contains("plan enterprise"), "{text}");
    let json: Value = serde_json::from_str(&assert_ok(
        &server.cli(&["tenant", "show", "acme", "--json"]),
    ))
    .unwrap();
    assert_eq!(json["plan"], "enterprise");

    // keys: create (shown once), list, revoke; a bad duration lists the issue.
    let text = assert_ok(&server.cli(&[
        "key",
        "create",
        "--tenant",
        "acme",
        "--scope",
        "read-only",
        "--expires-in",
        "30d",
    ]));
    assert!(
        text.contains("osk_acme_") && text.contains("shown ONCE"),
        "{text}"
    );
    assert!(text.contains("read-only"), "{text}");
    let key_id = text
        .split_whitespace()
        .nth(2)
        .expect("Created key <id> ...")
        .to_owned();
    let text = assert_ok(&server.cli(&["key", "list", "--tenant", "acme"]));
    assert!(text.lines().next().unwrap().contains("KEY ID"), "{text}");
    assert!(
        text.contains(&key_id) && text.contains("2 key(s)"),
        "{text}"
    );
    assert!(
        !text.contains("osk_"),
        "listing never shows secrets: {text}"
    );
    let text = assert_ok(&server.cli(&["key", "revoke", "--tenant", "acme", &key_id]));
    assert!(text.contains("revoked"), "{text}");
    let keys: Value = serde_json::from_str(&assert_ok(
        &server.cli(&["key", "list", "--tenant", "acme", "--json"]),
    ))
    .unwrap();
    let revoked = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["keyId"] == key_id.as_str())
        .unwrap();
    assert_eq!(revoked["status"], "revoked");
    let err = assert_one_line_error(
        &server.cli(&["key", "revoke", "--tenant", "acme", "nosuchkey"]),
        1,
    );
    assert!(err.contains("[key_not_found]"), "{err}");
    let out = server.cli(&["key", "create", "--tenant", "acme", "--expires-in", "5y"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let mut lines = err.lines();
    assert!(
        lines.next().unwrap().ends_with("[validation_error]"),
        "{err}"
    );
    assert!(
        lines.next().is_some_and(
            |l| l.trim_start().starts_with("expiresIn: ") && l.ends_with("(invalid_string)")
        ),
        "{err}"
    );

    // A bad request body: every issue as `path: message (code)` after the line.
    let out = server.cli(&["tenant", "create", "--org", ""]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("[validation_error]"), "{err}");
    assert!(
        err.contains("  orgId: ") && err.contains("(too_small)"),
        "{err}"
    );

    // destroy: refused without a terminal or --yes (nothing sent), then done.
    let err = assert_one_line_error(&server.cli(&["tenant", "destroy", "acme"]), 2);
    assert!(err.contains("--yes"), "{err}");
    assert_ok(&server.cli(&["tenant", "show", "acme"]));
    let text = assert_ok(&server.cli(&["tenant", "destroy", "acme", "--immediate", "--yes"]));
    assert!(text.contains("Tenant acme destroyed"), "{text}");
    let err = assert_one_line_error(&server.cli(&["tenant", "show", "acme"]), 1);
    assert!(err.contains("[tenant_not_found]"), "{err}");

    // The token from OBJECTOS_ADMIN_TOKEN and the server from OBJECTOS_URL work too; a wrong
    // token is one line naming where it came from.
    let token = server.token();
    let out = run_cli(
        &["tenant", "list"],
        &[
            ("OBJECTOS_URL", &server.url),
            ("OBJECTOS_ADMIN_TOKEN", &token),
        ],
        None,
    );
    assert!(assert_ok(&out).contains("no tenants"));
    let out = run_cli(
        &["tenant", "list"],
        &[
            ("OBJECTOS_URL", &server.url),
            ("OBJECTOS_ADMIN_TOKEN", "osa_wrong"),
        ],
        None,
    );
    let err = assert_one_line_error(&out, 1);
    assert!(
        err.contains("OBJECTOS_ADMIN_TOKEN") && err.contains("[unauthorized]"),
        "{err}"
    );
}

#[test]
fn a_failed_step_is_reported_and_refuses_transitions() {
    let server = Server::start(&["--failpoints", "sync_schema=fail(disk on fire)"]);
    let out = server.cli(&["tenant", "create", "--org", "broken"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("✓ create_database"), "{text}");
    assert!(
        text.contains("✗ sync_schema") && text.contains("disk on fire"),
        "{text}"
    );
    assert!(
        !text.contains("generate_api_keys"),
        "steps after the failure did not run: {text}"
    );
    // The key is still shown: it is the tenant's key once a retry succeeds.
    assert!(text.contains("osk_broken_"), "{text}");
    let err = assert_one_line_error(&out, 1);
    assert!(
        err.contains("provisioning failed at step sync_schema: disk on fire"),
        "{err}"
    );
    assert!(err.contains("objectos tenant retry broken"), "{err}");

    // The example of the brief: suspending a failed tenant.
    let err = assert_one_line_error(&server.cli(&["tenant", "suspend", "broken"]), 1);
    assert_eq!(
        err,
        "objectos: tenant broken: cannot suspend tenant broken: its status is 'failed' (allowed from: active) [invalid_transition]"
    );

    // retry shows the steps afterwards; it fails again (the failpoint is still armed).
    let out = server.cli(&["tenant", "retry", "broken"]);
    let text = stdout(&out);
    assert!(text.contains("✓ create_database"), "{text}");
    assert!(
        text.contains("✗ sync_schema") && text.contains("(retry 1)"),
        "{text}"
    );
    assert!(text.contains("· activate"), "{text}");
    let err = assert_one_line_error(&out, 1);
    assert!(err.contains("disk on fire"), "{err}");
}

#[test]
fn configuration_errors_are_one_line() {
    // Nothing listens on a freshly freed port.
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = run_cli(
        &["tenant", "list", "--server", &url],
        &[("OBJECTOS_ADMIN_TOKEN", "osa_x")],
        None,
    );
    let err = assert_one_line_error(&out, 1);
    assert_eq!(
        err,
        format!("objectos: cannot reach {url}: connection refused — is objectos serve running?")
    );

    // No token anywhere: exit 2.
    let empty = tempfile::tempdir().unwrap();
    let out = run_cli(
        &["tenant", "list", "--server", &url],
        &[],
        Some(empty.path()),
    );
    let err = assert_one_line_error(&out, 2);
    assert_eq!(
        err,
        "objectos: no admin token: set OBJECTOS_ADMIN_TOKEN or run from the directory holding objectos-data/admin-token"
    );
    let out = run_cli(
        &[
            "key",
            "list",
            "--tenant",
            "t",
            "--data-dir",
            "/nonexistent/dir",
        ],
        &[],
        Some(empty.path()),
    );
    let err = assert_one_line_error(&out, 2);
    assert!(err.contains("/nonexistent/dir/admin-token"), "{err}");

    // The token file in ./objectos-data is found from the current directory.
    std::fs::create_dir(empty.path().join("objectos-data")).unwrap();
    std::fs::write(empty.path().join("objectos-data/admin-token"), "osa_x\n").unwrap();
    let out = run_cli(
        &["tenant", "list", "--server", &url],
        &[],
        Some(empty.path()),
    );
    assert!(assert_one_line_error(&out, 1).contains("cannot reach"));

    // Bad flags: exit 2, one line.
    let out = run_cli(
        &["tenant", "create", "--org", "a", "--plan", "gold"],
        &[("OBJECTOS_ADMIN_TOKEN", "osa_x")],
        None,
    );
    let err = assert_one_line_error(&out, 2);
    assert!(
        err.contains("'gold'") && err.contains("free, pro, enterprise"),
        "{err}"
    );
    let out = run_cli(&["tenant", "create"], &[], None);
    let err = assert_one_line_error(&out, 2);
    assert!(err.contains("--org"), "{err}");
    let out = run_cli(
        &["tenant", "list", "--server", "ftp://example.com"],
        &[("OBJECTOS_ADMIN_TOKEN", "osa_x")],
        None,
    );
    assert!(assert_one_line_error(&out, 2).contains("invalid server URL"));
}

/// `tenant create --org acme` again, without the flags the tenant was created with, finds the
/// tenant (as a user expects of an idempotent create) instead of an `org_conflict` over flags
/// they never typed; a flag they did type that differs is refused with what the tenant has and
/// how to change it.
#[test]
fn create_again_without_flags_finds_the_tenant_and_a_differing_flag_says_what_to_do() {
    let server = Server::start(&[]);
    let out = server.cli(&[
        "tenant",
        "create",
        "--org",
        "acme",
        "--plan",
        "pro",
        "--region",
        "eu-west",
        "--display-name",
        "Acme Inc",
    ]);
    assert!(assert_ok(&out).contains("osk_"));

    // No flags: the existing tenant, its settings shown, no new key.
    let text = assert_ok(&server.cli(&["tenant", "create", "--org", "acme"]));
    assert!(text.contains("already exists"), "{text}");
    assert!(
        text.contains("status active")
            && text.contains("plan pro")
            && text.contains("region eu-west"),
        "{text}"
    );
    assert!(!text.contains("osk_"), "no key on a repeat: {text}");

    // Some flags, all matching: the same.
    let text = assert_ok(&server.cli(&["tenant", "create", "--org", "acme", "--plan", "pro"]));
    assert!(text.contains("already exists"), "{text}");

    // --json too: not created, no credentials, the tenant's values.
    let json: Value = serde_json::from_str(&assert_ok(
        &server.cli(&["tenant", "create", "--org", "acme", "--json"]),
    ))
    .unwrap();
    assert_eq!(json["created"], false, "{json}");
    assert_eq!(json["credentials"], Value::Null, "{json}");
    assert_eq!(json["result"]["tenantId"], "acme", "{json}");

    // A differing flag the user typed: one line, what the tenant has, how to change it.
    let out = server.cli(&["tenant", "create", "--org", "acme", "--plan", "free"]);
    let err = assert_one_line_error(&out, 1);
    assert!(
        err.contains("plan is pro (you asked for free")
            && err.contains("objectos tenant plan acme free")
            && err.contains("[org_conflict]"),
        "{err}"
    );
    assert!(
        !err.contains("region"),
        "only the typed flag is named: {err}"
    );
    let out = server.cli(&["tenant", "create", "--org", "acme", "--region", "us-west"]);
    let err = assert_one_line_error(&out, 1);
    assert!(
        err.contains("region is eu-west (you asked for us-west") && err.contains("cannot change"),
        "{err}"
    );

    // Nothing changed on the server.
    let text = assert_ok(&server.cli(&["tenant", "show", "acme"]));
    assert!(text.contains("eu-west") && text.contains("pro"), "{text}");
}
