#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The tenant router's cache against real files: resolved tenants are loaded once for concurrent
//! misses, capped LRU, expire after the TTL, and are dropped when the tenant changes.

use std::sync::Arc;
use std::time::Duration;

use objectos_core::data::RouterSettings;
use objectos_core::deploy::DeployOptions;
use objectos_core::{CoreError, Platform, PlatformConfig};
use objectos_spec::types::provisioning::TenantProvisioningRequest;
use objectos_store::SqliteControlStore;
use objectos_tenantdb::LocalSqlite;
use serde_json::json;

type P = Platform<SqliteControlStore, LocalSqlite>;

async fn platform(dir: &std::path::Path, router: RouterSettings) -> P {
    let store = SqliteControlStore::open(&dir.join("control.db")).unwrap();
    let dbs = LocalSqlite::with_options(dir.join("tenants"), 16, 0).unwrap();
    let mut cfg = PlatformConfig::new(dir);
    cfg.router = router;
    Platform::new(store, dbs, cfg)
}

async fn tenant(p: &P, org: &str) -> String {
    let request: TenantProvisioningRequest = objectos_spec::parse(&json!({"orgId": org})).unwrap();
    p.provision(request, true).await.unwrap().tenant.id
}

fn bundle(fields: serde_json::Value) -> serde_json::Value {
    json!({
        "manifest": {"version": "1.0.0", "objects": ["note"]},
        "objects": [{"name": "note", "fields": fields}]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_load_a_tenant_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path(), RouterSettings::default()).await;
    let id = tenant(&p, "acme").await;
    let before = p.tenant_loads();
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let p = p.clone();
            let id = id.clone();
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                p.resolve_tenant(&id).await.unwrap()
            })
        })
        .collect();
    let handles: Vec<_> = futures_join(tasks).await;
    assert_eq!(
        p.tenant_loads() - before,
        1,
        "16 concurrent misses, one load"
    );
    assert!(handles.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
}

async fn futures_join<T: Send + 'static>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_cache_is_capped_and_expires() {
    let dir = tempfile::tempdir().unwrap();
    let p = platform(
        dir.path(),
        RouterSettings {
            max_cached_connections: 2,
            connection_cache_ttl_secs: 1,
        },
    )
    .await;
    let ids = [
        tenant(&p, "a").await,
        tenant(&p, "b").await,
        tenant(&p, "c").await,
    ];
    let start = p.tenant_loads();
    for id in &ids {
        p.resolve_tenant(id).await.unwrap();
    }
    assert_eq!(p.tenant_loads() - start, 3);
    // Within the TTL the last one is served from the cache.
    p.resolve_tenant(&ids[2]).await.unwrap();
    assert_eq!(p.tenant_loads() - start, 3, "cached");
    // The cap is 2: resolving all three again must load at least one again (LRU eviction;
    // moka applies evictions asynchronously, so run its maintenance first).
    p.run_router_maintenance().await;
    assert!(
        p.cached_tenants() <= 2,
        "capped at 2, holds {}",
        p.cached_tenants()
    );
    // After the TTL (1 s) everything is loaded again.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let before = p.tenant_loads();
    p.resolve_tenant(&ids[2]).await.unwrap();
    assert_eq!(p.tenant_loads() - before, 1, "expired after the TTL");
}

#[tokio::test]
async fn suspend_and_deploy_invalidate_the_cached_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path(), RouterSettings::default()).await;
    let id = tenant(&p, "acme").await;
    p.deploy(
        &id,
        bundle(json!({"title": {"type": "text"}})),
        DeployOptions::default(),
    )
    .await
    .unwrap();
    let first = p.resolve_tenant(&id).await.unwrap();
    assert!(first
        .model
        .object("note")
        .unwrap()
        .fields
        .contains_key("title"));
    assert!(!first
        .model
        .object("note")
        .unwrap()
        .fields
        .contains_key("body"));

    p.deploy(
        &id,
        bundle(json!({"title": {"type": "text"}, "body": {"type": "textarea"}})),
        DeployOptions::default(),
    )
    .await
    .unwrap();
    let second = p.resolve_tenant(&id).await.unwrap();
    assert!(
        second
            .model
            .object("note")
            .unwrap()
            .fields
            .contains_key("body"),
        "the deployment is served at once"
    );

    p.suspend(&id).await.unwrap();
    match p.resolve_tenant(&id).await {
        Err(CoreError::Forbidden { code, .. }) => assert_eq!(code, "tenant_suspended"),
        other => panic!("expected tenant_suspended, got {other:?}"),
    }
    p.resume(&id).await.unwrap();
    assert!(
        p.resolve_tenant(&id).await.is_ok(),
        "served again after resume"
    );
}
