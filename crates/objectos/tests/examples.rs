//! The example bundles in `examples/` deploy with the real deploy service: a provisioned tenant on
//! SQLite files in a temporary directory, every table and the seed rows there, and a re-deploy is
//! "no changes".
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

use std::path::PathBuf;

use objectos_core::deploy::{DeployOptions, DeploymentRecord};
use objectos_core::{Platform, PlatformConfig};
use objectos_spec::types::deploy::DeployStatus;
use objectos_spec::types::provisioning::TenantProvisioningRequest;
use objectos_store::SqliteControlStore;
use objectos_tenantdb::{LocalSqlite, SessionExt, TenantDatabases};
use serde_json::{json, Value};

type P = Platform<SqliteControlStore, LocalSqlite>;

struct Env {
    _dir: tempfile::TempDir,
    platform: P,
    tenant: String,
}

async fn setup() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteControlStore::open(&dir.path().join("control.db")).unwrap();
    let dbs = LocalSqlite::with_options(dir.path().join("tenants"), 16, 0).unwrap();
    let platform = Platform::new(store, dbs, PlatformConfig::new(dir.path()));
    // The default (free) plan: the examples fit in its quotas.
    let request: TenantProvisioningRequest =
        objectos_spec::parse(&json!({"orgId": "example-org"})).unwrap();
    let provisioned = platform.provision(request, true).await.unwrap();
    Env {
        _dir: dir,
        platform,
        tenant: provisioned.tenant.id,
    }
}

fn example(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

async fn deploy(env: &Env, bundle: &Value) -> DeploymentRecord {
    env.platform
        .deploy(&env.tenant, bundle.clone(), DeployOptions::default())
        .await
        .unwrap_or_else(|e| panic!("deploy refused: {e:?}"))
}

/// `SELECT COUNT(*) FROM <table>` on the tenant's database.
async fn count(env: &Env, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
    env.platform
        .dbs()
        .with_session(&env.tenant, move |conn| {
            Ok(conn.query_count(&sql, &[]).map(|n| n as i64))
        })
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{table}: {e}"))
}

/// Deploys `file` on a fresh tenant and checks: ready, recorded, every object's table holds the
/// expected seed rows, and the same bundle again is "no changes".
async fn deploys(file: &str, expected_rows: &[(&str, i64)]) {
    let env = setup().await;
    let bundle = example(file);
    let record = deploy(&env, &bundle).await;
    assert_eq!(
        record.status,
        DeployStatus::Ready,
        "{file}: {:?}",
        record.error
    );
    assert!(!record.no_changes && !record.dry_run, "{file}");
    assert!(record.seq.is_some(), "{file}: recorded in the ledger");
    assert!(!record.plan.statements.is_empty(), "{file}: DDL planned");
    let objects = bundle["objects"].as_array().unwrap();
    assert_eq!(record.diff.summary.added as usize, objects.len(), "{file}");
    for (table, rows) in expected_rows {
        assert_eq!(count(&env, table).await, *rows, "{file}: rows of {table}");
    }
    let again = deploy(&env, &bundle).await;
    assert_eq!(again.status, DeployStatus::Ready, "{file}");
    assert!(again.no_changes, "{file}: a re-deploy is no changes");
    assert_eq!(again.id, record.id, "{file}: no-op names the head");
    for (table, rows) in expected_rows {
        assert_eq!(
            count(&env, table).await,
            *rows,
            "{file}: rows of {table} after the no-op"
        );
    }
    let listed = env.platform.list_deployments(&env.tenant).await.unwrap();
    assert_eq!(listed.len(), 1, "{file}: one ledger entry");
}

#[tokio::test]
async fn todo_example_deploys_with_its_seed_data() {
    deploys("todo.bundle.json", &[("project", 2), ("task", 4)]).await;
}

#[tokio::test]
async fn crm_example_deploys_with_its_seed_data() {
    deploys(
        "crm.bundle.json",
        &[
            ("account", 3),
            ("contact", 3),
            ("lead", 2),
            ("product", 3),
            ("opportunity", 2),
            ("opportunity_line", 3),
            ("activity", 2),
        ],
    )
    .await;
}
