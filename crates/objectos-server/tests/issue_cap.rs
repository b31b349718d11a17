//! A document with thousands of problems (issue #14: 8 concurrent 1 MiB invalid bundles took the
//! server from 37 MiB to 1.9 GiB, answers of 3.9 MB): the answer lists the first 100 issues, in
//! document order, says it was cut and counts them all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use serde_json::{json, Map, Value};

/// A bundle whose one object has `n` fields of an unknown type: `n` issues.
fn bundle_with_bad_fields(n: usize) -> Value {
    let mut fields = Map::new();
    for i in 0..n {
        fields.insert(format!("f{i:05}"), json!({"type": "strng"}));
    }
    json!({
        "manifest": {"version": "1.0.0", "objects": ["thing"]},
        "objects": [{"name": "thing", "fields": fields}],
    })
}

#[tokio::test]
async fn a_plan_with_thousands_of_issues_lists_the_first_hundred_and_counts_all() {
    let app = TestApp::new().start().await;
    let (tenant, _key) = app.active_tenant("acme", "pro").await;
    let path = format!("/api/v1/tenants/{tenant}/deployments/plan");

    let res = app.admin_post(&path, bundle_with_bad_fields(5000)).await;
    let error = res.assert_error(422, "validation_error");
    let details = &error["details"];
    let issues = details["issues"].as_array().unwrap();
    assert_eq!(
        issues.len(),
        100,
        "{}",
        &res.text[..500.min(res.text.len())]
    );
    assert_eq!(details["truncated"], true);
    assert_eq!(details["total"], 5000);
    assert_eq!(issues[0]["path"], "objects[0].fields.f00000.type");
    assert_eq!(issues[0]["code"], "invalid_enum_value");
    assert_eq!(issues[99]["path"], "objects[0].fields.f00099.type");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("5000 validation issue(s)"),
        "{}",
        error["message"]
    );
    // The answer stays small whatever the document's size.
    assert!(res.text.len() < 64 * 1024, "{} bytes", res.text.len());

    // The wrapped form reports the same, under `bundle`.
    let wrapped = json!({"bundle": bundle_with_bad_fields(300), "options": {}});
    let res = app.admin_post(&path, wrapped).await;
    let error = res.assert_error(422, "validation_error");
    assert_eq!(error["details"]["issues"].as_array().unwrap().len(), 100);
    assert_eq!(error["details"]["total"], 300);
    assert_eq!(
        error["details"]["issues"][0]["path"],
        "bundle.objects[0].fields.f00000.type"
    );
}

#[tokio::test]
async fn a_document_with_few_issues_is_listed_whole_without_truncation_marks() {
    let app = TestApp::new().start().await;
    let (tenant, _key) = app.active_tenant("acme", "pro").await;
    let path = format!("/api/v1/tenants/{tenant}/deployments/plan");
    let res = app.admin_post(&path, bundle_with_bad_fields(100)).await;
    let error = res.assert_error(422, "validation_error");
    assert_eq!(error["details"]["issues"].as_array().unwrap().len(), 100);
    assert!(error["details"].get("truncated").is_none(), "{}", res.text);
    assert!(error["details"].get("total").is_none(), "{}", res.text);
}

#[tokio::test]
async fn unknown_keys_are_named_up_to_twenty_per_object() {
    let app = TestApp::new().start().await;
    let mut request = Map::new();
    request.insert("orgId".to_owned(), json!("acme"));
    for i in 0..500 {
        request.insert(format!("extra{i}"), json!(1));
    }
    let res = app
        .admin_post("/api/v1/tenants", Value::Object(request))
        .await;
    let error = res.assert_error(422, "validation_error");
    let issue = &error["details"]["issues"][0];
    assert_eq!(issue["path"], "");
    assert_eq!(issue["code"], "unrecognized_keys");
    let message = issue["message"].as_str().unwrap();
    assert!(message.contains("'extra19' and 480 more"), "{message}");
    assert!(!message.contains("'extra20'"), "{message}");
}
