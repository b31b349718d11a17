//! Crash recovery, as a real process: start the server, begin provisioning many tenants, SIGKILL
//! it mid-way, restart it. Every tenant must end up active (or failed with a retryable error that
//! a retry fixes), with no orphan database files and no duplicate tenants.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;

use common::{free_port, wait_ready, ServeProcess};

async fn list_tenants(client: &reqwest::Client, base: &str, token: &str) -> Vec<Value> {
    let body: Value = client
        .get(format!("{base}/api/v1/tenants?limit=1000"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"].as_array().unwrap().clone()
}

fn db_files(data_dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(data_dir.join("tenants"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != objectos_tenantdb::SPARE_DIR)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_provisioning_then_restart_converges() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    // Slow steps so the kill lands while many tenants are part-way through.
    let server = ServeProcess::start(
        data_dir,
        port,
        &[
            "--step-lease-secs",
            "1",
            "--failpoints",
            "sync_schema=delay(150),generate_api_keys=delay(100)",
        ],
    );
    wait_ready(&client, &base).await;
    let token = std::fs::read_to_string(data_dir.join("admin-token"))
        .unwrap()
        .trim()
        .to_owned();

    let orgs: Vec<String> = (0..40).map(|i| format!("crash-org-{i}")).collect();
    let mut accepted = BTreeSet::new();
    for org in &orgs {
        let response = client
            .post(format!("{base}/api/v1/tenants?wait=false"))
            .bearer_auth(&token)
            .json(&json!({"orgId": org, "plan": "pro"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202, "{org}");
        accepted.insert(org.clone());
    }
    // Kill only once some step is observably running (holding a lease), whatever the load.
    let deadline = Instant::now() + Duration::from_secs(20);
    'wait: loop {
        for org in &orgs {
            let body: Value = client
                .get(format!("{base}/api/v1/tenants/{org}/provisioning"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let steps = body["data"]["steps"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if steps.iter().any(|s| s["status"] == "running") {
                break 'wait;
            }
        }
        assert!(Instant::now() < deadline, "no step was ever seen running");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = list_tenants(&client, &base, &token).await;
    let unfinished = before
        .iter()
        .filter(|t| t["provisioningStatus"] == "provisioning")
        .count();
    assert!(unfinished > 0, "the kill must land mid-provisioning");

    // SIGKILL: no graceful anything.
    server.kill();

    let _server = ServeProcess::start(data_dir, port, &["--step-lease-secs", "1"]);
    wait_ready(&client, &base).await;

    // Leases are 1 s: everything must settle shortly after.
    let deadline = Instant::now() + Duration::from_secs(30);
    let tenants = loop {
        let tenants = list_tenants(&client, &base, &token).await;
        if tenants
            .iter()
            .all(|t| t["provisioningStatus"] != "provisioning")
        {
            break tenants;
        }
        assert!(
            Instant::now() < deadline,
            "tenants still provisioning: {tenants:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // A failed tenant must be retryable into active.
    for tenant in tenants
        .iter()
        .filter(|t| t["provisioningStatus"] == "failed")
    {
        let id = tenant["id"].as_str().unwrap();
        let retried: Value = client
            .post(format!("{base}/api/v1/tenants/{id}/retry"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(retried["data"]["status"], "active", "{retried}");
    }

    let tenants = list_tenants(&client, &base, &token).await;
    let ids: Vec<&str> = tenants.iter().map(|t| t["id"].as_str().unwrap()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "duplicate tenants: {ids:?}");
    assert_eq!(
        unique.len(),
        accepted.len(),
        "every accepted request has exactly one tenant"
    );
    assert!(
        tenants.iter().all(|t| t["provisioningStatus"] == "active"),
        "{tenants:?}"
    );

    // No orphan or missing database files, and no half-made ones.
    let files = db_files(data_dir);
    let expected: BTreeSet<String> = unique.iter().map(|id| format!("{id}.db")).collect();
    let leftovers: Vec<&String> = files.iter().filter(|f| !f.ends_with(".db")).collect();
    let dbs: BTreeSet<String> = files
        .iter()
        .filter(|f| f.ends_with(".db"))
        .cloned()
        .collect();
    assert_eq!(dbs, expected);
    assert!(
        leftovers
            .iter()
            .all(|f| f.ends_with("-wal") || f.ends_with("-shm")),
        "half-made files: {leftovers:?}"
    );

    // Every step of every tenant is completed or skipped; crashed steps show their retries.
    let mut retried_steps = 0;
    for id in &unique {
        let body: Value = client
            .get(format!("{base}/api/v1/tenants/{id}/provisioning"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for step in body["data"]["steps"].as_array().unwrap() {
            assert!(
                step["status"] == "completed" || step["status"] == "skipped",
                "{id}: {step}"
            );
            retried_steps += step["retryCount"].as_i64().unwrap();
        }
    }
    assert!(
        retried_steps > 0,
        "some step must have been taken over after its lease expired"
    );
}
