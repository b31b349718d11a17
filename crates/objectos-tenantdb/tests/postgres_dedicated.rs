//! The dedicated tier of the `postgres` provider (a database per tenant) against the real
//! PostgreSQL of this machine; the tenants' databases and roles go with each test's database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use objectos_sql::testing::TestDatabase;
use objectos_sql::{ErrorKind, SqlError};
use objectos_tenantdb::{
    PgIsolation, PgSettings, PostgresTenants, SessionExt, SqlValue, TenantDatabases, TenantDbError,
};

async fn dedicated(db: &TestDatabase, max_connections: u32) -> PostgresTenants {
    PostgresTenants::connect(&PgSettings {
        url: db.url.clone(),
        max_connections,
        isolation: PgIsolation::Database,
        ..PgSettings::default()
    })
    .await
    .unwrap()
}

fn se(e: SqlError) -> TenantDbError {
    TenantDbError::Sql {
        tenant_id: "test".into(),
        source: e,
    }
}

async fn exec(dbs: &PostgresTenants, tenant: &str, sql: &str) {
    let sql = sql.to_owned();
    dbs.with_session(tenant, move |s| s.execute_batch(&sql).map_err(se))
        .await
        .unwrap();
}

async fn databases(db: &TestDatabase) -> Vec<String> {
    let pool = db.pool().await;
    let names = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1",
    )
    .bind(objectos_sql::role_prefix(&db.name))
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_per_tenant_from_the_template_created_and_dropped_idempotently() {
    let db = TestDatabase::create().await;
    let dbs = dedicated(&db, 6).await;
    assert_eq!(dbs.isolation(), PgIsolation::Database);
    dbs.create("acme").await.unwrap();
    dbs.create("acme").await.unwrap();
    let creates: Vec<_> = (0..3)
        .map(|_| {
            let dbs = dbs.clone();
            tokio::spawn(async move {
                dbs.create("beta").await?;
                dbs.sync_system_schema("beta").await
            })
        })
        .collect();
    for c in creates {
        c.await.unwrap().unwrap();
    }
    dbs.sync_system_schema("acme").await.unwrap();
    dbs.sync_system_schema("acme").await.unwrap();
    assert!(dbs.exists("acme").await.unwrap());
    assert_eq!(dbs.list().await.unwrap(), ["acme", "beta"]);
    let acme_db = dbs.database_name("acme");
    assert!(dbs
        .connection_url("acme")
        .ends_with(&format!("/{acme_db}?schema=t_acme")));
    let prefix = objectos_sql::role_prefix(&db.name);
    assert_eq!(
        databases(&db).await,
        [
            acme_db.clone(),
            dbs.database_name("beta"),
            format!("{prefix}template_v1")
        ]
    );

    // The tenant's schema came from the template, its tables belong to the tenant's role.
    let facts = dbs
        .with_read_session("acme", |s| {
            s.query(
                "SELECT current_database()::text, current_schema()::text, \
                 (SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() \
                  AND tableowner::text = current_user::text), \
                 (SELECT value FROM _objectos_meta WHERE key = 'tenant_id')",
                &[],
            )
            .map_err(se)
        })
        .await
        .unwrap();
    assert_eq!(
        facts,
        vec![vec![
            SqlValue::Text(acme_db.clone()),
            SqlValue::Text("t_acme".into()),
            SqlValue::Integer(3),
            SqlValue::Text("acme".into())
        ]]
    );

    // Data, usage, size and backup work as in the schema tier.
    exec(
        &dbs,
        "acme",
        "CREATE TABLE contact (id BIGINT PRIMARY KEY, name TEXT); \
         INSERT INTO contact SELECT g, 'c' FROM generate_series(1, 7) g; \
         INSERT INTO _objectos_metadata (type, name, definition, updated_at) \
           VALUES ('object', 'contact', '{}', 'now')",
    )
    .await;
    let usage = dbs.usage("acme", "2026-12-04").await.unwrap();
    assert_eq!((usage.objects, usage.records), (1, 7));
    assert!(usage.storage_bytes > 1_000_000, "the whole database");
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("acme.json");
    dbs.backup("acme", &dest).await.unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dest).unwrap()).unwrap();
    assert_eq!(doc["schema"], "t_acme");
    assert_eq!(doc["tables"].as_array().unwrap().len(), 4);

    // Another tenant's tables are not even there.
    exec(&dbs, "beta", "CREATE TABLE secret (v TEXT)").await;
    let e = dbs
        .with_session("acme", |s| Ok(s.query("SELECT * FROM t_beta.secret", &[])))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Missing, "{e}");

    // Delete: gone at once (even with a session open on it), dropped in the background.
    let busy = {
        let dbs = dbs.clone();
        tokio::spawn(async move {
            dbs.with_session("acme", |s| {
                std::thread::sleep(Duration::from_millis(400));
                Ok(s.query_count("SELECT 1", &[]))
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    dbs.delete("acme").await.unwrap();
    assert!(
        busy.await.unwrap().unwrap().is_err(),
        "its session was ended"
    );
    dbs.delete("acme").await.unwrap();
    assert!(!dbs.exists("acme").await.unwrap());
    assert_eq!(dbs.list().await.unwrap(), ["beta"]);
    assert!(matches!(
        dbs.with_session("acme", |_| Ok(())).await,
        Err(TenantDbError::Missing(_))
    ));
    assert!(matches!(
        dbs.size_bytes("acme").await,
        Err(TenantDbError::Missing(_))
    ));
    dbs.purge_deleted().await.unwrap();
    assert_eq!(
        databases(&db).await,
        [dbs.database_name("beta"), format!("{prefix}template_v1")]
    );
    let pool = db.pool().await;
    let role: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(dbs.role_name("acme"))
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(!role, "the role went with the database");
    pool.close().await;

    // Created again, it starts from the template: empty.
    dbs.create("acme").await.unwrap();
    dbs.sync_system_schema("acme").await.unwrap();
    assert_eq!(dbs.usage("acme", "2026-12-04").await.unwrap().objects, 0);

    // A second provider on the same database (another server process) sees the same tenants
    // and finds the template ready.
    let other = dedicated(&db, 2).await;
    assert_eq!(other.list().await.unwrap(), ["acme", "beta"]);
    other.create("gamma").await.unwrap();
    assert!(dbs.exists("gamma").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedicated_sessions_are_bounded_serialized_and_missing_when_unknown() {
    let db = TestDatabase::create().await;
    let dbs = dedicated(&db, 2).await;
    assert!(matches!(
        dbs.with_session("ghost", |_| Ok(())).await,
        Err(TenantDbError::Missing(_))
    ));
    for t in ["a", "b", "c"] {
        dbs.create(t).await.unwrap();
        dbs.sync_system_schema(t).await.unwrap();
    }
    // Sessions across tenants never exceed max_connections at once.
    let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let sessions: Vec<_> = ["a", "b", "c", "a", "b", "c"]
        .into_iter()
        .map(|t| {
            let (dbs, now, peak) = (dbs.clone(), Arc::clone(&now), Arc::clone(&peak));
            tokio::spawn(async move {
                dbs.with_session(t, move |s| {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(100));
                    now.fetch_sub(1, Ordering::SeqCst);
                    s.query_count("SELECT 1", &[]).map_err(se)
                })
                .await
            })
        })
        .collect();
    for s in sessions {
        assert_eq!(s.await.unwrap().unwrap(), 1);
    }
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    // Two write transactions of one tenant run one after the other.
    let first = {
        let dbs = dbs.clone();
        tokio::spawn(async move {
            dbs.with_session("a", |s| {
                s.begin().map_err(se)?;
                std::thread::sleep(Duration::from_millis(500));
                s.commit().map_err(se)
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let waited = dbs
        .with_session("a", |s| {
            let asked = Instant::now();
            s.begin().map_err(se)?;
            let waited = asked.elapsed();
            s.commit().map_err(se)?;
            Ok(waited)
        })
        .await
        .unwrap();
    assert!(waited > Duration::from_millis(200), "waited {waited:?}");
    first.await.unwrap().unwrap();
    dbs.invalidate("a").await;
    assert_eq!(
        dbs.with_read_session("a", |s| s.query_count("SELECT 1", &[]).map_err(se))
            .await
            .unwrap(),
        1,
        "a let-go pool is opened again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedicated_create_latency() {
    let db = TestDatabase::create().await;
    let dbs = dedicated(&db, 4).await;
    dbs.create("warm-up").await.unwrap(); // prepares the template
    let mut times = Vec::new();
    for i in 0..10 {
        let id = format!("tenant-{i}");
        let t = Instant::now();
        dbs.create(&id).await.unwrap();
        dbs.sync_system_schema(&id).await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    eprintln!(
        "dedicated tier, create+sync_system_schema of 10 tenants: p50 {:?}, max {:?}",
        times[times.len() / 2],
        times[times.len() - 1]
    );
    let t = Instant::now();
    for i in 0..10 {
        dbs.delete(&format!("tenant-{i}")).await.unwrap();
    }
    eprintln!("dedicated tier, 10 deletes (renames): {:?}", t.elapsed());
    dbs.purge_deleted().await.unwrap();
    assert_eq!(dbs.list().await.unwrap(), ["warm-up"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_creates_and_purges_are_finished() {
    let db = TestDatabase::create().await;
    let dbs = dedicated(&db, 4).await;
    dbs.create("first").await.unwrap(); // prepares the template
    let prefix = objectos_sql::role_prefix(&db.name);
    let pool = db.pool().await;
    // A create interrupted after CREATE DATABASE: cloned, not yet the tenant's nor marked.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE \"{}\" TEMPLATE \"{prefix}template_v1\"",
        dbs.database_name("half")
    )))
    .execute(&pool)
    .await
    .unwrap();
    assert!(!dbs.exists("half").await.unwrap());
    assert!(!dbs.list().await.unwrap().contains(&"half".to_owned()));
    dbs.create("half").await.unwrap();
    dbs.sync_system_schema("half").await.unwrap();
    assert_eq!(dbs.list().await.unwrap(), ["first", "half"]);
    let schema = dbs
        .with_read_session("half", |s| {
            s.query_value("SELECT current_schema()::text", &[])
                .map_err(se)
        })
        .await
        .unwrap();
    assert_eq!(schema, SqlValue::Text("t_half".into()));

    // A delete interrupted before its purge: the next provider to connect finishes it.
    let trash = format!("{prefix}x_0123456789abcdef");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE \"{trash}\"; "
    )))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "COMMENT ON DATABASE \"{trash}\" IS 'objectos deleted tenant gone'"
    )))
    .execute(&pool)
    .await
    .unwrap();
    let _restarted = dedicated(&db, 2).await;
    let started = Instant::now();
    while databases(&db).await.contains(&trash) {
        assert!(started.elapsed() < Duration::from_secs(20), "not purged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    pool.close().await;
}
