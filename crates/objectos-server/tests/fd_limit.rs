//! File descriptors (issue #14: under `ulimit -n` 1024, reads got 500 and provisioning failed).
//! The server sizes its tenant cache and connection cap from the open-file limit, and when the
//! process runs out of descriptors anyway it answers 503 `resources_exhausted` with
//! `Retry-After`, not 500.
//!
//! This binary lowers its own open-file limit (hard and soft, for good) and then uses up every
//! descriptor: it holds this one test only, so no other test shares the process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs::File;

use common::TestApp;
use objectos_server::fds;
use objectos_tenantdb::TenantDatabases;
use serde_json::json;

const LIMIT: u64 = 512;

#[tokio::test]
async fn the_cache_fits_the_open_file_limit_and_exhaustion_is_a_503() {
    rlimit::setrlimit(rlimit::Resource::NOFILE, LIMIT, LIMIT).unwrap();
    let app = TestApp::new()
        .with(|o| o.platform.router.max_cached_connections = 10_000)
        .start()
        .await;

    // Sized from the limit: 512 - 64 reserved = 448; 224 connections; 224 / 6 = 37 tenants.
    let plan = app.app().fd_plan.expect("the open-file limit is readable");
    assert_eq!(plan, fds::plan(LIMIT, 1024, 10_000));
    assert_eq!((plan.max_connections, plan.cached_tenants), (224, 37));

    let (tenant, key) = app.active_tenant("acme", "pro").await;
    let bundle = json!({
        "manifest": {"version": "1.0.0", "objects": ["note"]},
        "objects": [{"name": "note", "fields": {"title": {"type": "text"}}}],
    });
    app.admin_post(&format!("/api/v1/tenants/{tenant}/deployments"), bundle)
        .await
        .assert_status(201);
    app.get_with_key("/api/v1/data/note", &key)
        .await
        .assert_success(200);

    // The tenant's connections are closed, so the next read must open its database; then every
    // descriptor left is taken (the client's kept-alive connection stays open).
    app.app().platform.dbs().invalidate(&tenant).await;
    // Closing happens on a background thread, as does refilling the spare databases: let both
    // settle so no descriptor is freed while the limit is reached.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut held = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(file) => held.push(file),
            Err(e) => {
                assert!(fds::is_exhaustion(&e), "{e}");
                break;
            }
        }
    }
    assert!(fds::exhausted_now());
    let res = app.get_with_key("/api/v1/data/note", &key).await;
    // Released before asserting, so a failure is reported with descriptors to spare.
    drop(held);
    let error = res.assert_error(503, "resources_exhausted");
    assert_eq!(error["category"], "unavailable");
    assert_eq!(res.headers["retry-after"], "1");

    // With descriptors free again, the same read succeeds.
    app.get_with_key("/api/v1/data/note", &key)
        .await
        .assert_success(200);
}
