//! `objectos deploy ...` and `objectos deployments ...` run as real processes against a real
//! `objectos serve` on a free local port, with the example bundles: the diff and the DDL, "no
//! changes", the refusal of unconfirmed destructive changes without a terminal, dry runs, the
//! ledger, rollbacks and validation issues as `path: message (code)`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

use std::path::PathBuf;

use serde_json::{json, Value};

mod common;

use common::*;

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn todo() -> Value {
    serde_json::from_str(&std::fs::read_to_string(example("todo.bundle.json")).unwrap()).unwrap()
}

/// Writes `bundle` next to the server's data and returns its path.
fn write_bundle(server: &Server, name: &str, bundle: &Value) -> String {
    let path = server.data_dir.parent().unwrap().join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(bundle).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

fn create_tenant(server: &Server, org: &str) {
    assert_ok(&server.cli(&["tenant", "create", "--org", org]));
}

fn deployment_ids(server: &Server, tenant: &str) -> Vec<String> {
    let out = server.cli(&["deployments", "list", "--tenant", tenant, "--json"]);
    let list: Value = serde_json::from_str(&assert_ok(&out)).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn deploy_todo_then_destructive_changes_dry_runs_and_rollback() {
    let server = Server::start(&[]);
    create_tenant(&server, "acme");
    let todo_path = example("todo.bundle.json");
    let todo_path = todo_path.to_str().unwrap();

    // First deploy: the diff, the DDL and the ledger entry, no escape codes on a pipe.
    let out = server.cli(&["deploy", todo_path, "--tenant", "acme"]);
    let text = assert_ok(&out);
    assert!(!text.contains('\u{1b}'), "plain when piped: {text:?}");
    assert!(text.contains("+ object  project"), "{text}");
    assert!(text.contains("+ object  task"), "{text}");
    assert!(text.contains("CREATE TABLE \"task\""), "{text}");
    assert!(text.contains("CREATE TABLE \"project\""), "{text}");
    assert!(text.contains("status ready"), "{text}");
    assert!(text.contains("ledger seq  1"), "{text}");
    assert!(text.contains("timings"), "{text}");
    assert_eq!(deployment_ids(&server, "acme").len(), 1);

    // The same bundle again: no changes.
    let text = assert_ok(&server.cli(&["deploy", todo_path, "--tenant", "acme"]));
    assert!(text.contains("No changes"), "{text}");
    assert_eq!(deployment_ids(&server, "acme").len(), 1);

    // Dropping task.notes (the seed data has a note): destructive.
    let mut v2 = todo();
    v2["objects"][1]["fields"]
        .as_object_mut()
        .unwrap()
        .remove("notes");
    for record in v2["seedData"][1]["records"].as_array_mut().unwrap() {
        record.as_object_mut().unwrap().remove("notes");
    }
    let v2_path = write_bundle(&server, "v2.json", &v2);

    // --dry-run shows the plan and the destructive change, changes nothing.
    let out = server.cli(&["deploy", &v2_path, "--tenant", "acme", "--dry-run"]);
    let text = assert_ok(&out);
    assert!(text.contains("- field   task.notes"), "{text}");
    assert!(text.contains("DROP COLUMN \"notes\""), "{text}");
    assert!(text.contains("field:task.notes"), "{text}");
    assert!(text.contains("Dry run: nothing was changed"), "{text}");
    assert_eq!(deployment_ids(&server, "acme").len(), 1);
    let text = assert_ok(&server.cli(&["deploy", todo_path, "--tenant", "acme"]));
    assert!(
        text.contains("No changes"),
        "the model is unchanged: {text}"
    );

    // Without --yes and without a terminal: refused, exit 1, nothing changed.
    let out = server.cli(&["deploy", &v2_path, "--tenant", "acme"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("refusing to apply destructive changes"),
        "{err}"
    );
    assert!(err.contains("--ack field:task.notes"), "{err}");
    assert!(
        stdout(&out).contains("drops column task.notes and its 1 non-null values"),
        "{}",
        stdout(&out)
    );
    assert_eq!(deployment_ids(&server, "acme").len(), 1);

    // Malformed flags are usage errors (exit 2).
    let out = server.cli(&["deploy", &v2_path, "--tenant", "acme", "--ack", "notes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = server.cli(&[
        "deploy", &v2_path, "--tenant", "acme", "--rename", "title=x",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // With --yes --ack: applied.
    let out = server.cli(&[
        "deploy",
        &v2_path,
        "--tenant",
        "acme",
        "--yes",
        "--ack",
        "field:task.notes",
    ]);
    let text = assert_ok(&out);
    assert!(text.contains("status ready"), "{text}");
    assert!(text.contains("ledger seq  2"), "{text}");
    let ids = deployment_ids(&server, "acme");
    assert_eq!(ids.len(), 2);

    // list: newest first; show: diff, SQL and timings.
    let text = assert_ok(&server.cli(&["deployments", "list", "--tenant", "acme"]));
    assert!(text.contains(&ids[0]) && text.contains(&ids[1]), "{text}");
    assert!(
        text.find(&ids[0]).unwrap() < text.find(&ids[1]).unwrap(),
        "{text}"
    );
    assert!(text.contains("2 deployment(s)"), "{text}");
    let text = assert_ok(&server.cli(&["deployments", "show", "--tenant", "acme", &ids[0]]));
    assert!(text.contains("- field   task.notes"), "{text}");
    assert!(text.contains("DROP COLUMN \"notes\""), "{text}");
    assert!(text.contains("timings"), "{text}");
    assert!(text.contains("field:task.notes"), "acknowledged: {text}");

    // An unknown deployment: exit 1, one line.
    let out = server.cli(&["deployments", "show", "--tenant", "acme", "dep_nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    // Rollback to the first model (adds the column back: nothing destructive).
    let out = server.cli(&["deployments", "rollback", "--tenant", "acme", &ids[0]]);
    let text = assert_ok(&out);
    assert!(text.contains("+ field   task.notes"), "{text}");
    assert!(text.contains("Rolled back tenant acme"), "{text}");
    assert!(text.contains(&format!("rolls back  {}", ids[0])), "{text}");
    assert_eq!(deployment_ids(&server, "acme").len(), 3);
    let text = assert_ok(&server.cli(&["deploy", todo_path, "--tenant", "acme"]));
    assert!(
        text.contains("No changes"),
        "back on the first model: {text}"
    );
}

#[test]
fn deploy_crm_and_invalid_bundles() {
    let server = Server::start(&[]);
    create_tenant(&server, "globex");
    let crm = example("crm.bundle.json");
    let text = assert_ok(&server.cli(&["deploy", crm.to_str().unwrap(), "--tenant", "globex"]));
    for table in [
        "account",
        "contact",
        "lead",
        "product",
        "opportunity",
        "opportunity_line",
        "activity",
    ] {
        assert!(
            text.contains(&format!("CREATE TABLE \"{table}\"")),
            "{table}: {text}"
        );
    }

    // An invalid bundle: exit 1, every issue as `path: message (code)` at its path in the file.
    let mut bad = todo();
    bad["objects"][1]["fields"]["bogus"] = json!({"type": "nope"});
    bad["manifest"]["objects"]
        .as_array_mut()
        .unwrap()
        .push(json!("ghost"));
    let bad_path = write_bundle(&server, "bad.json", &bad);
    let out = server.cli(&["deploy", &bad_path, "--tenant", "globex"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("objectos: deploy to tenant globex: "),
        "{err}"
    );
    assert!(err.contains("[validation_error]"), "{err}");
    // The 44 field types are listed once, in the issue: the head line only counts the issues.
    assert_eq!(
        err.matches("'textarea'").count(),
        1,
        "the allowed values once: {err}"
    );
    assert!(
        err.lines()
            .next()
            .unwrap()
            .ends_with("2 validation issue(s) [validation_error]"),
        "{err}"
    );
    let issues: Vec<&str> = err.lines().skip(1).collect();
    assert_eq!(issues.len(), 2, "{err}");
    assert!(
        issues
            .iter()
            .any(|l| l.starts_with("  objects[1].fields.bogus.type: ")
                && l.ends_with("(invalid_enum_value)")),
        "{err}"
    );
    assert!(
        issues
            .iter()
            .any(|l| l.starts_with("  manifest.objects[2]: ") && l.contains("ghost")),
        "{err}"
    );
    // Nothing was deployed by the refusal.
    assert_eq!(deployment_ids(&server, "globex").len(), 1);

    // Explicit renames: an object and a field of the (renamed) task object; the data stays.
    create_tenant(&server, "initech");
    let todo_path = example("todo.bundle.json");
    assert_ok(&server.cli(&["deploy", todo_path.to_str().unwrap(), "--tenant", "initech"]));
    let renamed_text = serde_json::to_string(&todo())
        .unwrap()
        .replace("\"title\"", "\"subject\"")
        .replace("\"project\"", "\"workspace\"");
    let renamed: Value = serde_json::from_str(&renamed_text).unwrap();
    let renamed_path = write_bundle(&server, "renamed.json", &renamed);
    let out = server.cli(&[
        "deploy",
        &renamed_path,
        "--tenant",
        "initech",
        "--rename-object",
        "project=workspace",
        "--rename",
        "task.title=subject",
        "--rename",
        "task.project=workspace",
    ]);
    let text = assert_ok(&out);
    assert!(text.contains("~ object  workspace"), "{text}");
    assert!(text.contains("~ field   task.subject"), "{text}");
    assert!(text.contains("RENAME"), "{text}");
    assert!(text.contains("status ready"), "{text}");
    // Without the renames it is a drop plus an add: once the drops are acknowledged, the new
    // required field cannot fill the existing rows, a data check refused with its counts.
    create_tenant(&server, "hooli");
    assert_ok(&server.cli(&["deploy", todo_path.to_str().unwrap(), "--tenant", "hooli"]));
    let out = server.cli(&["deploy", &renamed_path, "--tenant", "hooli", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("[data_check_failed]"), "{err}");
    assert!(err.lines().nth(1).unwrap().contains("task"), "{err}");
    assert!(err.contains("[4 row(s)]"), "{err}");
    assert_eq!(deployment_ids(&server, "hooli").len(), 1);

    // An unreadable file is a usage error (exit 2); an unknown tenant is a refusal (exit 1).
    let out = server.cli(&["deploy", "/nonexistent/bundle.json", "--tenant", "globex"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = server.cli(&["deploy", crm.to_str().unwrap(), "--tenant", "nobody"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}
