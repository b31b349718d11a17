//! `objectos validate` run as a real process: output formats, inference and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

fn objectos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_objectos"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run objectos")
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write fixture");
    path
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

const BAD_REQUEST: &str =
    r#"{"orgId": "", "plan": "gold", "region": "mars", "adminEmail": "a@b", "colour": "red"}"#;

#[test]
fn valid_document_exits_zero_and_says_the_inferred_kind() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "req.json", r#"{"orgId": "acme", "plan": "pro"}"#);
    let out = objectos(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("kind inferred from the document's shape: TenantProvisioningRequest"),
        "{text}"
    );
    assert!(text.contains("valid TenantProvisioningRequest"), "{text}");
}

#[test]
fn invalid_document_lists_every_issue_as_path_message_code() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "req.json", BAD_REQUEST);
    let out = objectos(&[
        "validate",
        file.to_str().unwrap(),
        "--as",
        "TenantProvisioningRequest",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(!text.contains("inferred"), "{text}");
    for line in [
        "orgId: String must contain at least 1 character(s), received 0 (too_small)",
        "plan: Invalid enum value. Expected 'free' | 'pro' | 'enterprise', received 'gold' (invalid_enum_value)",
        "region: Invalid enum value.",
        "adminEmail: Invalid email, received 'a@b' (invalid_string)",
        "(root): Unrecognized key(s) in object: 'colour'",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(text.contains("5 issue(s)"), "{text}");
}

#[test]
fn json_output_has_valid_kind_and_issues() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "req.json", BAD_REQUEST);
    let out = objectos(&["validate", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_report(&out);
    assert_eq!(report["valid"], json!(false));
    assert_eq!(report["kind"], json!("TenantProvisioningRequest"));
    let pairs: Vec<(String, String)> = report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert!(i["message"].as_str().is_some_and(|m| !m.is_empty()));
            (
                i["path"].as_str().unwrap().to_owned(),
                i["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("orgId", "too_small"),
        ("plan", "invalid_enum_value"),
        ("region", "invalid_enum_value"),
        ("adminEmail", "invalid_string"),
        ("", "unrecognized_keys"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect();
    assert_eq!(pairs, expected);
    // The inference note goes to stderr so stdout stays one JSON document.
    assert!(String::from_utf8_lossy(&out.stderr).contains("inferred"));
}

#[test]
fn json_output_for_a_valid_document() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "plan.json", r#""enterprise""#);
    let out = objectos(&[
        "validate",
        file.to_str().unwrap(),
        "--as",
        "TenantPlan",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        json_report(&out),
        json!({"valid": true, "kind": "TenantPlan", "issues": []})
    );
}

#[test]
fn bundle_object_issues_point_into_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = json!({
        "manifest": {"version": "1.0.0", "objects": ["task"]},
        "objects": [{
            "name": "task",
            "fields": {
                "title": {"type": "text", "required": true},
                "due_date": {"type": "dat"},
                "owner": {"type": "lookup"}
            }
        }]
    });
    let file = write(&dir, "todo.bundle.json", &bundle.to_string());
    let out = objectos(&["validate", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_report(&out);
    assert_eq!(report["kind"], json!("DeployBundle"));
    let issues = report["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert_eq!(issues[0]["path"], json!("objects[0].fields.due_date.type"));
    assert_eq!(issues[0]["code"], json!("invalid_enum_value"));
    assert_eq!(
        issues[1]["path"],
        json!("objects[0].fields.owner.reference")
    );
    assert_eq!(issues[1]["code"], json!("custom"));
}

#[test]
fn yaml_documents_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "turso.yaml", "organizationSlug: acme\nurlTemplate: 'libsql://{tenant_id}-acme.turso.io'\ngroupAuthToken: t\n");
    let out = objectos(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("valid TursoMultiTenantConfig"));
}

#[test]
fn unreadable_or_unparsable_files_exit_two_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let broken_json = write(&dir, "broken.json", r#"{"orgId": "#);
    let broken_yaml = write(&dir, "broken.yaml", "a: [1, 2\n");
    for (file, needle) in [
        (missing, "cannot read"),
        (broken_json, "not valid JSON"),
        (broken_yaml, "not valid YAML"),
    ] {
        let out = objectos(&["validate", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", file.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn unknown_kind_exits_two_and_lists_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "x.json", "{}");
    let out = objectos(&["validate", file.to_str().unwrap(), "--as", "Nope"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown kind 'Nope'") && err.contains("DeployBundle"),
        "{err}"
    );
}

#[test]
fn a_document_with_no_recognisable_shape_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "x.json", "[1, 2]");
    let out = objectos(&["validate", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_report(&out);
    assert_eq!(report["kind"], Value::Null);
    assert_eq!(report["issues"][0]["path"], json!(""));
    assert_eq!(report["issues"][0]["code"], json!("invalid_type"));
}

#[test]
fn kind_names_are_case_insensitive() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "x.json", r#"{"orgId": "acme"}"#);
    let out = objectos(&[
        "validate",
        file.to_str().unwrap(),
        "--as",
        "tenantprovisioningrequest",
    ]);
    assert_eq!(out.status.code(), Some(0));
}

fn bundle(fields: Value) -> String {
    json!({
        "manifest": {"version": "1.0.0", "objects": ["task"]},
        "objects": [{"name": "task", "fields": fields}]
    })
    .to_string()
}

/// `validate` runs deploy's own bundle validation: what deploy refuses (a lookup to an object that
/// is not in the bundle), validate refuses too, at the same path with the same code.
#[test]
fn a_bundle_is_checked_as_deploy_checks_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "b.json",
        &bundle(json!({"owner": {"type": "lookup", "reference": "person"}})),
    );
    let out = objectos(&["validate", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report = json_report(&out);
    assert_eq!(report["valid"], json!(false));
    assert_eq!(report["kind"], json!("DeployBundle"));
    let issues = report["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 1, "{report:#}");
    assert_eq!(issues[0]["path"], "objects[0].fields.owner.reference");
    assert_eq!(issues[0]["code"], "custom");
    assert!(
        issues[0]["message"]
            .as_str()
            .unwrap()
            .contains("Unknown object 'person'"),
        "{report:#}"
    );

    // The same for the seed bundle of a provisioning request, under metadata.seed.
    let request = json!({"orgId": "acme", "metadata": {"seed": serde_json::from_str::<Value>(
        &bundle(json!({"owner": {"type": "lookup", "reference": "person"}}))).unwrap()}});
    let file = write(&dir, "req.json", &request.to_string());
    let out = objectos(&[
        "validate",
        file.to_str().unwrap(),
        "--as",
        "TenantProvisioningRequest",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report = json_report(&out);
    assert_eq!(
        report["issues"][0]["path"], "metadata.seed.objects[0].fields.owner.reference",
        "{report:#}"
    );

    // And a bundle deploy accepts stays valid.
    let file = write(
        &dir,
        "ok.json",
        &bundle(json!({"parent": {"type": "lookup", "reference": "task"}})),
    );
    let out = objectos(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// A mistyped field type: the allowed values once, and the closest one suggested.
#[test]
fn a_typo_gets_the_allowed_values_once_and_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "b.json", &bundle(json!({"title": {"type": "txt"}})));
    let out = objectos(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_eq!(text.matches("'textarea'").count(), 1, "{text}");
    assert!(
        text.contains(
            "objects[0].fields.title.type: Invalid enum value. Expected 'text' | 'textarea'"
        ) && text.contains("received 'txt'; did you mean 'text'? (invalid_enum_value)"),
        "{text}"
    );

    // A mistyped key: its suggestion, and the required key it was meant to be is reported too.
    let file = write(&dir, "k.json", &bundle(json!({"title": {"typ": "text"}})));
    let out = objectos(&["validate", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_report(&out);
    let issues = report["issues"].as_array().unwrap();
    assert!(
        issues
            .iter()
            .any(|i| i["path"] == "objects[0].fields.title.type"
                && i["code"] == "invalid_type"
                && i["message"] == "Required"),
        "{report:#}"
    );
    assert!(
        issues.iter().any(|i| i["path"] == "objects[0].fields.title"
            && i["code"] == "unrecognized_keys"
            && i["message"].as_str().unwrap().starts_with(
                "Unrecognized key(s) in object: 'typ' (did you mean 'type'?); allowed keys: "
            )),
        "{report:#}"
    );
}

/// An unrecognized key does not hide what else is wrong with the same field or object: a lookup
/// whose `reference` is misspelt reports the unknown key and the missing reference.
#[test]
fn an_unrecognized_key_does_not_hide_a_missing_required_one() {
    let dir = tempfile::tempdir().unwrap();
    for (fields, missing) in [
        (
            json!({"owner": {"type": "lookup", "refrence": "task"}}),
            (
                "objects[0].fields.owner",
                "reference",
                "objects[0].fields.owner.reference",
            ),
        ),
        (
            json!({"state": {"type": "select", "optons": [{"label": "A", "value": "a"}]}}),
            (
                "objects[0].fields.state",
                "options",
                "objects[0].fields.state.options",
            ),
        ),
    ] {
        let file = write(&dir, "b.json", &bundle(fields));
        let out = objectos(&["validate", file.to_str().unwrap(), "--json"]);
        assert_eq!(out.status.code(), Some(1));
        let report = json_report(&out);
        let issues = report["issues"].as_array().unwrap();
        let (at, key, required_at) = missing;
        assert!(
            issues.iter().any(|i| i["path"] == at
                && i["code"] == "unrecognized_keys"
                && i["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("(did you mean '{key}'?)"))),
            "{report:#}"
        );
        assert!(
            issues
                .iter()
                .any(|i| i["path"] == required_at && i["code"] == "custom"),
            "the missing {key} is reported too: {report:#}"
        );
    }

    // At the object level too: an unknown key next to a displayNameField naming no field.
    let document = json!({
        "manifest": {"version": "1.0.0", "objects": ["task"]},
        "objects": [{"name": "task", "colour": "red", "displayNameField": "nope",
                     "fields": {"title": {"type": "text"}}}]
    });
    let file = write(&dir, "o.json", &document.to_string());
    let out = objectos(&["validate", file.to_str().unwrap(), "--json"]);
    let report = json_report(&out);
    let paths: Vec<&str> = report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"objects[0]"), "{report:#}");
    assert!(paths.contains(&"objects[0].displayNameField"), "{report:#}");
}

#[test]
fn a_document_with_thousands_of_issues_lists_the_first_hundred_and_counts_all() {
    let dir = tempfile::tempdir().unwrap();
    let fields: serde_json::Map<String, Value> = (0..20_000)
        .map(|i| (format!("f{i:05}"), json!({"type": "strng"})))
        .collect();
    let bundle = json!({
        "manifest": {"version": "1.0.0", "objects": ["thing"]},
        "objects": [{"name": "thing", "fields": fields}],
    });
    let file = write(&dir, "big.json", &bundle.to_string());

    let out = objectos(&["validate", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_report(&out);
    assert_eq!(report["issues"].as_array().unwrap().len(), 100);
    assert_eq!(report["truncated"], json!(true));
    assert_eq!(report["total"], json!(20_000));
    assert_eq!(
        report["issues"][0]["path"],
        json!("objects[0].fields.f00000.type")
    );
    assert!(out.stdout.len() < 64 * 1024, "{} bytes", out.stdout.len());

    let out = objectos(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("invalid DeployBundle, 20000 issue(s), the first 100 listed:"),
        "{}",
        &text[..300.min(text.len())]
    );
    assert_eq!(text.lines().count(), 102, "a header line, then 100 issues");
}
