//! Several nodes on one PostgreSQL control store and one PostgreSQL tenant database: what one
//! node changes, the others apply at once (decision 0016), not when their caches expire (60 s for
//! keys, `connectionCacheTTL` for tenants).

mod common;

use std::time::Duration;

use common::{TestApp, TestServer};
use serde_json::{json, Value};

/// How long another node may take to apply a change (the bound).
const WITHIN: Duration = Duration::from_secs(1);

async fn two_nodes() -> (TestServer, TestServer) {
    let a = TestApp::new()
        .postgres_control()
        .with(|o| o.tenant_databases.provider = "postgres".to_owned())
        .start()
        .await;
    let b = TestApp::another_node(&a).await;
    (a, b)
}

/// Polls `probe` until it returns true, failing after [`WITHIN`]; returns how long it took.
async fn within_a_second(what: &str, mut probe: impl AsyncFnMut() -> bool) -> Duration {
    let started = tokio::time::Instant::now();
    loop {
        if probe().await {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < WITHIN,
            "{what}: not seen on the other node within {WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn bundle(fields: Value) -> Value {
    json!({
        "manifest": {"version": "1.0.0", "objects": ["note"]},
        "objects": [{"name": "note", "fields": fields}]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_node_takes_effect_on_the_other_within_a_second() {
    let (a, b) = two_nodes().await;
    let (id, key) = a.active_tenant("acme", "pro").await;
    a.admin_post(
        &format!("/api/v1/tenants/{id}/deployments"),
        bundle(json!({"title": {"type": "text"}})),
    )
    .await
    .assert_success(201);

    // B serves the tenant (and caches its key, status and model).
    b.post_with_key("/api/v1/data/note", &key, json!({"title": "from b"}))
        .await
        .assert_success(201);
    b.get_with_key("/api/v1/data/note", &key)
        .await
        .assert_success(200);

    // A deploy on A: B serves the new field on its next requests.
    a.admin_post(
        &format!("/api/v1/tenants/{id}/deployments"),
        bundle(json!({"title": {"type": "text"}, "body": {"type": "textarea"}})),
    )
    .await
    .assert_success(201);
    within_a_second("a deployed field", async || {
        b.post_with_key(
            "/api/v1/data/note",
            &key,
            json!({"title": "t", "body": "new field"}),
        )
        .await
        .status
            == 201
    })
    .await;

    // A second key, revoked on A: refused on B.
    let made = a
        .admin_post(
            &format!("/api/v1/tenants/{id}/keys"),
            json!({"scope": "read-only"}),
        )
        .await;
    let made = made.assert_success(201);
    let (other_key, other_id) = (
        made["apiKey"].as_str().unwrap().to_owned(),
        made["keyId"].as_str().unwrap().to_owned(),
    );
    b.get_with_key("/api/v1/data/note", &other_key)
        .await
        .assert_success(200);
    a.admin_delete(&format!("/api/v1/tenants/{id}/keys/{other_id}"))
        .await
        .assert_status(200);
    within_a_second("a revoked key", async || {
        b.get_with_key("/api/v1/data/note", &other_key).await.status == 401
    })
    .await;
    b.get_with_key("/api/v1/data/note", &other_key)
        .await
        .assert_error(401, "key_revoked");

    // A suspension on A: B refuses the tenant's writes.
    a.admin_post_empty(&format!("/api/v1/tenants/{id}/suspend"))
        .await
        .assert_success(200);
    within_a_second("a suspension", async || {
        b.post_with_key("/api/v1/data/note", &key, json!({"title": "x"}))
            .await
            .status
            != 201
    })
    .await;
    // And the resumption.
    a.admin_post_empty(&format!("/api/v1/tenants/{id}/resume"))
        .await
        .assert_success(200);
    within_a_second("a resumption", async || {
        b.post_with_key("/api/v1/data/note", &key, json!({"title": "y"}))
            .await
            .status
            == 201
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_one_node_follows_provisioning_run_by_the_other() {
    let (a, b) = two_nodes().await;
    // Slow steps on A, so B's stream opens while the tenant is still provisioning.
    a.failpoints()
        .configure("generate_api_keys=delay(600)")
        .unwrap();
    a.admin_post(
        "/api/v1/tenants?wait=false",
        common::provisioning_request("acme", "pro"),
    )
    .await
    .assert_success(202);
    // B's stream replays the history, then follows live events that only A writes; it ends
    // when the tenant settles. Without word from A it would wait forever (`read_sse` gives up
    // after 5 s).
    let response = b.open_events("acme", None).await;
    let events = common::read_sse(response).await;
    let last = events.last().expect("events");
    assert_eq!(
        (last.kind.as_str(), &last.data["status"]),
        ("status", &json!("active")),
        "{events:#?}"
    );
}
