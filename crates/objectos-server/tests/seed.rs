//! Seed data at provisioning: `metadata.seed` is a deploy bundle applied by `apply_seed_data`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use serde_json::{json, Value};

fn seeded_request(org: &str) -> Value {
    json!({
        "orgId": org,
        "plan": "pro",
        "metadata": {"seed": {
            "manifest": {"version": "1.0.0", "objects": ["contact"]},
            "objects": [{
                "name": "contact",
                "fields": {
                    "name": {"type": "text", "required": true, "unique": true},
                    "email": {"type": "email"},
                    "stage": {"type": "select", "options": [
                        {"label": "Lead", "value": "lead"}, {"label": "Customer", "value": "customer"}
                    ]}
                }
            }],
            "seedData": [{
                "object": "contact",
                "externalId": "name",
                "records": [
                    {"name": "Ada", "email": "ada@example.com", "stage": "customer"},
                    {"name": "Grace", "email": "grace@example.com", "stage": "lead"}
                ]
            }]
        }}
    })
}

/// A count read through the tenant's provider.
async fn count(app: &common::TestServer, tenant: &str, sql: &str) -> i64 {
    app.sql(tenant, sql).await[0][0].as_count() as i64
}

#[tokio::test]
async fn a_seed_bundle_is_deployed_during_provisioning() {
    let app = TestApp::new().start().await;
    let res = app
        .admin_post("/api/v1/tenants", seeded_request("seeded"))
        .await;
    let data = res.assert_success(201);
    assert_eq!(data["status"], "active", "{}", res.text);
    let steps = app.steps("seeded").await;
    assert_eq!(
        steps["apply_seed_data"]["status"], "completed",
        "{:?}",
        steps["apply_seed_data"]
    );
    assert_eq!(
        count(&app, "seeded", "SELECT COUNT(*) FROM contact").await,
        2
    );
    assert_eq!(
        count(
            &app,
            "seeded",
            "SELECT COUNT(*) FROM contact WHERE stage = 'customer' AND name = 'Ada'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&app, "seeded", "SELECT COUNT(*) FROM _objectos_deployments").await,
        1
    );
    assert_eq!(
        count(
            &app,
            "seeded",
            "SELECT COUNT(*) FROM _objectos_metadata WHERE type = 'object'"
        )
        .await,
        1
    );
    // Usage sees the seeded object and records.
    let usage = app.admin_get("/api/v1/tenants/seeded/usage").await;
    let usage = usage.assert_success(200);
    assert_eq!(usage["currentObjectCount"], 1);
    assert_eq!(usage["currentRecordCount"], 2);
}

#[tokio::test]
async fn a_failed_seed_step_is_retried_without_duplicating_anything() {
    let app = TestApp::new().start().await;
    app.failpoints()
        .configure("apply_seed_data=fail(boom)")
        .unwrap();
    let res = app
        .admin_post("/api/v1/tenants", seeded_request("again"))
        .await;
    assert_eq!(res.assert_success(201)["status"], "failed");
    app.failpoints().clear();
    let retried = app.admin_post_empty("/api/v1/tenants/again/retry").await;
    assert_eq!(
        retried.assert_success(200)["status"],
        "active",
        "{}",
        retried.text
    );
    assert_eq!(
        count(&app, "again", "SELECT COUNT(*) FROM contact").await,
        2
    );
    assert_eq!(
        count(&app, "again", "SELECT COUNT(*) FROM _objectos_deployments").await,
        1
    );
    let steps = app.steps("again").await;
    assert_eq!(steps["apply_seed_data"]["retryCount"], 1);
}

#[tokio::test]
async fn a_seed_over_the_plan_quota_fails_the_step_with_the_reason() {
    let app = TestApp::new()
        .with(|opts| opts.platform.plans.free.max_objects = Some(1))
        .start()
        .await;
    let mut request = seeded_request("big");
    request["plan"] = json!("free");
    let seed = &mut request["metadata"]["seed"];
    seed["manifest"]["objects"] = json!(["contact", "note"]);
    seed["objects"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "note", "fields": {"body": {"type": "textarea"}}}));
    let res = app.admin_post("/api/v1/tenants", request).await;
    let data = res.assert_success(201);
    assert_eq!(data["status"], "failed", "{}", res.text);
    let error = data["error"].as_str().unwrap();
    assert!(error.starts_with("apply_seed_data:"), "{error}");
    assert!(
        error.contains("quota exceeded") && error.contains("allows 1"),
        "{error}"
    );
    // Nothing of the seed was applied.
    assert_eq!(
        count(&app, "big", "SELECT COUNT(*) FROM _objectos_deployments").await,
        0
    );
}
