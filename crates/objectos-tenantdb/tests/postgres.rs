//! The `postgres` provider against the real PostgreSQL of this machine (a database of its own per
//! test, dropped with its roles at the end).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use objectos_sql::testing::TestDatabase;
use objectos_sql::{ErrorKind, Row, SqlError, SqlResult};
use objectos_tenantdb::{
    PgSettings, PostgresTenants, SessionExt, SqlValue, SynchronousCommit, TenantDatabases,
    TenantDbError, TenantDbResult,
};

async fn provider(db: &TestDatabase, max_connections: u32) -> PostgresTenants {
    PostgresTenants::connect(&PgSettings {
        url: db.url.clone(),
        max_connections,
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

/// Runs one statement in a (write) session of `tenant` and hands back its outcome.
async fn try_exec(dbs: &PostgresTenants, tenant: &str, sql: &str) -> SqlResult<u64> {
    let sql = sql.to_owned();
    dbs.with_session(tenant, move |s| Ok(s.execute(&sql, &[])))
        .await
        .unwrap()
}

async fn try_query(dbs: &PostgresTenants, tenant: &str, sql: &str) -> SqlResult<Vec<Row>> {
    let sql = sql.to_owned();
    dbs.with_session(tenant, move |s| Ok(s.query(&sql, &[])))
        .await
        .unwrap()
}

async fn exec(dbs: &PostgresTenants, tenant: &str, sql: &str) {
    let sql = sql.to_owned();
    dbs.with_session(tenant, move |s| s.execute_batch(&sql).map_err(se))
        .await
        .unwrap();
}

async fn count(dbs: &PostgresTenants, tenant: &str, sql: &str) -> u64 {
    let sql = sql.to_owned();
    dbs.with_read_session(tenant, move |s| s.query_count(&sql, &[]).map_err(se))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_sync_and_delete_are_idempotent_even_concurrently() {
    let db = TestDatabase::create().await;
    let dbs = provider(&db, 8).await;
    assert_eq!(dbs.provider(), "postgres");
    assert_eq!(dbs.dialect(), objectos_tenantdb::Dialect::Postgres);
    assert!(!dbs.exists("acme").await.unwrap());
    dbs.create("acme").await.unwrap();
    dbs.create("acme").await.unwrap();
    // Concurrent creates and syncs of one tenant all succeed and converge.
    let creates: Vec<_> = (0..4)
        .map(|_| {
            let dbs = dbs.clone();
            tokio::spawn(async move {
                dbs.create("acme").await?;
                dbs.sync_system_schema("acme").await
            })
        })
        .collect();
    for c in creates {
        c.await.unwrap().unwrap();
    }
    dbs.sync_system_schema("acme").await.unwrap();
    assert!(dbs.exists("acme").await.unwrap());
    let meta = dbs
        .with_read_session("acme", |s| {
            s.query("SELECT key, value FROM _objectos_meta ORDER BY key", &[])
                .map_err(se)
        })
        .await
        .unwrap();
    assert_eq!(
        meta,
        vec![
            vec!["schema_version".into(), "1".into()],
            vec!["tenant_id".into(), "acme".into()]
        ]
    );
    // The system tables belong to the tenant's role, `seq` is a BIGINT.
    let owners = try_query(
        &dbs,
        "acme",
        "SELECT DISTINCT tableowner::text = current_user::text FROM pg_tables \
         WHERE schemaname = current_schema()",
    )
    .await
    .unwrap();
    assert_eq!(owners, vec![vec![SqlValue::Bool(true)]]);
    assert_eq!(
        try_query(
            &dbs,
            "acme",
            "SELECT data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '_objectos_deployments' \
             AND column_name = 'seq'"
        )
        .await
        .unwrap(),
        vec![vec![SqlValue::Text("bigint".into())]]
    );
    assert!(dbs
        .connection_url("acme")
        .ends_with(&format!("/{}?schema=t_acme", db.name)));
    assert!(!dbs.connection_url("acme").contains('@'), "no credentials");

    // Other schemas, even one whose comment imitates ours, are neither listed nor touched.
    dbs.create("beta").await.unwrap();
    let pool = db.pool().await;
    sqlx::raw_sql(
        "CREATE SCHEMA other; CREATE SCHEMA forged; \
         COMMENT ON SCHEMA forged IS 'objectos tenant acme'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(dbs.list().await.unwrap(), ["acme", "beta"]);
    // A schema of a tenant's name that objectos did not make is neither adopted nor dropped.
    sqlx::raw_sql("CREATE SCHEMA t_intruder; CREATE TABLE t_intruder.keep (v TEXT)")
        .execute(&pool)
        .await
        .unwrap();
    assert!(!dbs.exists("intruder").await.unwrap());
    assert!(matches!(
        dbs.create("intruder").await,
        Err(TenantDbError::Config(_))
    ));
    assert!(matches!(
        dbs.delete("intruder").await,
        Err(TenantDbError::Config(_))
    ));
    assert!(matches!(
        dbs.size_bytes("intruder").await,
        Err(TenantDbError::Missing(_))
    ));
    sqlx::query("SELECT COUNT(*) FROM t_intruder.keep")
        .execute(&pool)
        .await
        .unwrap();

    dbs.delete("acme").await.unwrap();
    dbs.delete("acme").await.unwrap();
    let deletes: Vec<_> = (0..3)
        .map(|_| {
            let dbs = dbs.clone();
            tokio::spawn(async move { dbs.delete("beta").await })
        })
        .collect();
    for d in deletes {
        d.await.unwrap().unwrap();
    }
    assert!(!dbs.exists("acme").await.unwrap());
    assert!(dbs.list().await.unwrap().is_empty());
    assert!(matches!(
        dbs.size_bytes("acme").await,
        Err(TenantDbError::Missing(_))
    ));
    let roles: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pg_roles WHERE starts_with(rolname, $1)")
            .bind(objectos_sql::role_prefix(&db.name))
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(roles, 0, "the tenants' roles are gone with them");
    let others: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_namespace WHERE nspname IN ('other', 'forged')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(others, 2);
    // A deleted tenant can be created again.
    dbs.create("acme").await.unwrap();
    dbs.sync_system_schema("acme").await.unwrap();
    assert_eq!(dbs.list().await.unwrap(), ["acme"]);
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_longest_ids_get_names_that_fit() {
    let db = TestDatabase::create().await;
    let dbs = provider(&db, 4).await;
    let long_a = format!("{}a", "x-".repeat(31)) + "a"; // 64 characters
    let long_b = format!("{}a", "x-".repeat(31)) + "b";
    assert_eq!(long_a.len(), 64);
    for id in [&long_a, &long_b] {
        dbs.create(id).await.unwrap();
        dbs.sync_system_schema(id).await.unwrap();
        assert!(PostgresTenants::schema_name(id).len() <= 63);
        assert!(dbs.role_name(id).len() <= 63);
    }
    assert_ne!(
        PostgresTenants::schema_name(&long_a),
        PostgresTenants::schema_name(&long_b)
    );
    let mut expected = vec![long_a.clone(), long_b.clone()];
    expected.sort();
    assert_eq!(dbs.list().await.unwrap(), expected);
    assert_eq!(
        count(&dbs, &long_b, "SELECT COUNT(*) FROM _objectos_meta").await,
        2
    );
    dbs.delete(&long_a).await.unwrap();
    assert_eq!(dbs.list().await.unwrap(), [long_b]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_counts_objects_records_and_deployments_and_storage_grows() {
    let db = TestDatabase::create().await;
    let dbs = provider(&db, 4).await;
    dbs.create("acme").await.unwrap();
    let empty = dbs.usage("acme", "2026-12-04").await.unwrap();
    assert_eq!(empty.objects, 0, "no system tables yet: nothing counted");
    dbs.sync_system_schema("acme").await.unwrap();
    exec(
        &dbs,
        "acme",
        "CREATE TABLE contact (id BIGINT PRIMARY KEY, name TEXT); \
         CREATE TABLE deal (id BIGINT PRIMARY KEY, amount DOUBLE PRECISION); \
         INSERT INTO _objectos_metadata (type, name, definition, updated_at) VALUES \
           ('object', 'contact', '{}', 'now'), ('object', 'deal', '{}', 'now'), \
           ('view', 'all', '{}', 'now'); \
         INSERT INTO contact SELECT g, 'c' || g FROM generate_series(1, 3) g; \
         INSERT INTO deal VALUES (1, 10.5); \
         INSERT INTO _objectos_deployments \
           (id, seq, status, checksum, hash, bundle, model, record, created_at) VALUES \
           ('d1', 1, 'applied', 'c', 'h1', '{}', '{}', '{}', '2026-12-03T10:00:00Z'), \
           ('d2', 2, 'applied', 'c', 'h2', '{}', '{}', '{}', '2026-12-04T10:00:00Z'), \
           ('d3', 3, 'applied', 'c', 'h3', '{}', '{}', '{}', '2026-12-04T11:00:00Z')",
    )
    .await;
    let usage = dbs.usage("acme", "2026-12-04").await.unwrap();
    assert_eq!(usage.objects, 2);
    assert_eq!(usage.records, 4);
    assert_eq!(usage.largest_object_records, 3);
    assert_eq!(usage.deployments_today, 2);
    assert!(usage.storage_bytes > 0);
    assert_eq!(usage.storage_bytes, dbs.size_bytes("acme").await.unwrap());
    exec(
        &dbs,
        "acme",
        "INSERT INTO contact SELECT g, repeat('x', 200) FROM generate_series(4, 5003) g",
    )
    .await;
    let grown = dbs.usage("acme", "2026-12-04").await.unwrap();
    assert_eq!(grown.records, 5004);
    assert_eq!(grown.largest_object_records, 5003);
    assert!(
        grown.storage_bytes > usage.storage_bytes + 500_000,
        "{} then {}",
        usage.storage_bytes,
        grown.storage_bytes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_writes_every_table_as_json() {
    let db = TestDatabase::create().await;
    let dbs = provider(&db, 4).await;
    dbs.create("acme").await.unwrap();
    dbs.sync_system_schema("acme").await.unwrap();
    exec(
        &dbs,
        "acme",
        "CREATE TABLE thing (id BIGINT PRIMARY KEY, ok BOOLEAN, doc JSONB, raw BYTEA, \
           note TEXT, at TIMESTAMPTZ); \
         INSERT INTO thing VALUES (1, true, '{\"a\": [1, 2]}', '\\x0102', 'it''s', \
           '2026-01-31T09:30:00Z'), (2, NULL, NULL, NULL, NULL, NULL); \
         CREATE TABLE big (n BIGINT); INSERT INTO big SELECT generate_series(1, 1234); \
         ALTER TABLE thing ADD COLUMN gone TEXT; ALTER TABLE thing DROP COLUMN gone",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("backups/acme.json");
    dbs.backup("acme", &dest).await.unwrap();
    dbs.backup("acme", &dest).await.unwrap(); // replaces the previous one
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dest).unwrap()).unwrap();
    assert_eq!(doc["format"], "objectos-pg-backup/1");
    assert_eq!(doc["tenantId"], "acme");
    assert_eq!(doc["schema"], "t_acme");
    let names: Vec<&str> = doc["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "_objectos_deployments",
            "_objectos_meta",
            "_objectos_metadata",
            "big",
            "thing"
        ]
    );
    let table = |name: &str| {
        doc["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()
            .clone()
    };
    let thing = table("thing");
    assert_eq!(
        thing["columns"],
        serde_json::json!(["id", "ok", "doc", "raw", "note", "at"])
    );
    assert_eq!(
        thing["rows"],
        serde_json::json!([
            [1, true, {"a": [1, 2]}, "\\x0102", "it's", "2026-01-31T09:30:00+00:00"],
            [2, null, null, null, null, null]
        ])
    );
    assert_eq!(table("big")["rows"].as_array().unwrap().len(), 1234);
    assert_eq!(
        table("_objectos_meta")["rows"],
        serde_json::json!([["schema_version", "1"], ["tenant_id", "acme"]])
    );
    let leftovers: Vec<_> = std::fs::read_dir(dest.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no partial file is left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tenants_are_missing_and_bad_ids_refused() {
    let db = TestDatabase::create().await;
    let dbs = provider(&db, 2).await;
    let missing =
        |r: TenantDbResult<()>| matches!(r, Err(TenantDbError::Missing(id)) if id == "ghost");
    assert!(missing(dbs.with_session("ghost", |_| Ok(())).await));
    assert!(missing(dbs.with_read_session("ghost", |_| Ok(())).await));
    assert!(missing(dbs.sync_system_schema("ghost").await));
    assert!(missing(dbs.size_bytes("ghost").await.map(|_| ())));
    assert!(missing(dbs.usage("ghost", "2026-12-04").await.map(|_| ())));
    let dir = tempfile::tempdir().unwrap();
    assert!(missing(
        dbs.backup("ghost", &dir.path().join("g.json")).await
    ));
    assert!(!dbs.exists("ghost").await.unwrap());
    dbs.delete("ghost").await.unwrap();
    for bad in ["", "A", "a_b", "a;drop", &"a".repeat(65)] {
        assert!(
            matches!(dbs.create(bad).await, Err(TenantDbError::InvalidId(_))),
            "{bad}"
        );
        assert!(matches!(
            dbs.with_session(bad, |_| Ok(())).await,
            Err(TenantDbError::InvalidId(_))
        ));
    }
    // The pool's connections came back clean after the failed `SET ROLE`s.
    dbs.create("real").await.unwrap();
    assert_eq!(
        try_query(&dbs, "real", "SELECT current_schema()::text")
            .await
            .unwrap(),
        vec![vec![SqlValue::Text("t_real".into())]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_cannot_reach_another_tenants_data() {
    let db = TestDatabase::create().await;
    let dbs = provider(&db, 4).await;
    for t in ["alpha", "beta"] {
        dbs.create(t).await.unwrap();
        dbs.sync_system_schema(t).await.unwrap();
        exec(
            &dbs,
            t,
            &format!(
                "CREATE TABLE secret (v TEXT); INSERT INTO secret SELECT '{t}-' || g \
                 FROM generate_series(1, 50) g; ANALYZE secret"
            ),
        )
        .await;
    }
    let denied = |r: SqlResult<Vec<Row>>| {
        let e = r.unwrap_err();
        assert_eq!(e.kind, ErrorKind::ReadOnly, "{e}");
    };
    // Schema-qualified reads and writes of the other tenant are refused by privileges.
    denied(try_query(&dbs, "alpha", "SELECT v FROM t_beta.secret").await);
    denied(
        try_query(
            &dbs,
            "alpha",
            "SELECT key, value FROM t_beta._objectos_meta",
        )
        .await,
    );
    for stmt in [
        "INSERT INTO t_beta.secret VALUES ('x')",
        "UPDATE t_beta.secret SET v = 'x'",
        "DELETE FROM t_beta.secret",
        "DROP TABLE t_beta.secret",
        "CREATE TABLE t_beta.planted (v TEXT)",
        "ALTER TABLE t_beta.secret ADD COLUMN w TEXT",
        "TRUNCATE t_beta.secret",
        "GRANT USAGE ON SCHEMA t_beta TO PUBLIC",
        "CREATE TABLE public.planted (v TEXT)",
    ] {
        let e = try_exec(&dbs, "alpha", stmt).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::ReadOnly, "{stmt}: {e}");
    }
    // The catalogs can be read, but they hold no data of the other tenant: statistics (whose
    // most common values are data) are shown only for tables the role may read.
    assert!(
        count(&dbs, "alpha", "SELECT COUNT(*) FROM pg_class").await > 0,
        "catalog reads are fine"
    );
    assert_eq!(
        count(
            &dbs,
            "alpha",
            "SELECT COUNT(*) FROM pg_stats WHERE schemaname = 't_beta'"
        )
        .await,
        0
    );
    assert!(
        count(
            &dbs,
            "alpha",
            "SELECT COUNT(*) FROM pg_stats WHERE schemaname = 't_alpha'"
        )
        .await
            > 0
    );
    // Nor through other sessions' statements: beta's last statement, with data in it, is seen
    // by the login role but not by alpha.
    let beta = {
        let dbs = dbs.clone();
        tokio::spawn(async move {
            dbs.with_session("beta", |s| {
                let n = s
                    .query_count("SELECT COUNT(*) FROM secret WHERE v = 'beta-7'", &[])
                    .map_err(se);
                std::thread::sleep(Duration::from_millis(800));
                n
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let watch = "SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE '%beta' || '-7%'";
    let pool = db.pool().await;
    let seen_by_login: i64 = sqlx::query_scalar(watch).fetch_one(&pool).await.unwrap();
    assert_eq!(seen_by_login, 1);
    assert_eq!(count(&dbs, "alpha", watch).await, 0);
    assert_eq!(beta.await.unwrap().unwrap(), 1);
    pool.close().await;
    // Nor through functions that read files, or with the rights of a superuser or role maker.
    for stmt in [
        "SELECT pg_read_file('base/1/1')",
        "SELECT count(*)::bigint FROM pg_ls_dir('.')",
        "SELECT lo_import('/etc/hostname')::bigint",
    ] {
        let e = try_query(&dbs, "alpha", stmt).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::ReadOnly, "{stmt}: {e}");
    }
    assert_eq!(
        try_query(
            &dbs,
            "alpha",
            "SELECT rolsuper, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = current_user"
        )
        .await
        .unwrap(),
        vec![vec![
            SqlValue::Bool(false),
            SqlValue::Bool(false),
            SqlValue::Bool(false)
        ]]
    );
    // The other tenant's rows are intact, and each still reads only its own.
    assert_eq!(count(&dbs, "beta", "SELECT COUNT(*) FROM secret").await, 50);
    assert_eq!(
        try_query(
            &dbs,
            "alpha",
            "SELECT DISTINCT split_part(v, '-', 1) FROM secret"
        )
        .await
        .unwrap(),
        vec![vec![SqlValue::Text("alpha".into())]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_sessions_refuse_writes_and_run_beside_the_writer() {
    let db = TestDatabase::create().await;
    let dbs = provider(&db, 4).await;
    dbs.create("acme").await.unwrap();
    dbs.sync_system_schema("acme").await.unwrap();
    for stmt in [
        "INSERT INTO _objectos_meta VALUES ('k', 'v')",
        "DELETE FROM _objectos_meta",
        "CREATE TABLE t (v TEXT)",
    ] {
        let sql = stmt.to_owned();
        let e = dbs
            .with_read_session("acme", move |s| Ok(s.execute(&sql, &[])))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::ReadOnly, "{stmt}: {e}");
    }
    // Inside an explicit transaction too.
    let e = dbs
        .with_read_session("acme", |s| {
            s.begin().map_err(se)?;
            Ok(s.execute("INSERT INTO _objectos_meta VALUES ('k', 'v')", &[]))
        })
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::ReadOnly);
    // A writer holding its transaction open does not hold readers up; they see the last commit.
    let writer = {
        let dbs = dbs.clone();
        tokio::spawn(async move {
            dbs.with_session("acme", |s| {
                s.transaction(|| {
                    s.execute("INSERT INTO _objectos_meta VALUES ('k', 'v')", &[])?;
                    std::thread::sleep(Duration::from_millis(600));
                    Ok::<_, SqlError>(())
                })
                .map_err(se)
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let started = Instant::now();
    assert_eq!(
        count(&dbs, "acme", "SELECT COUNT(*) FROM _objectos_meta").await,
        2
    );
    assert!(started.elapsed() < Duration::from_millis(300));
    writer.await.unwrap().unwrap();
    assert_eq!(
        count(&dbs, "acme", "SELECT COUNT(*) FROM _objectos_meta").await,
        3
    );
    // The read-only setting does not outlive the session on the pooled connection.
    try_exec(&dbs, "acme", "DELETE FROM _objectos_meta WHERE key = 'k'")
        .await
        .unwrap();
}

/// Runs a write transaction on `tenant` that holds the writer lock for `hold`; returns how long
/// `begin()` waited.
async fn hold_writer(dbs: &PostgresTenants, tenant: &str, hold: Duration) -> Duration {
    dbs.with_session(tenant, move |s| {
        let asked = Instant::now();
        s.begin().map_err(se)?;
        let waited = asked.elapsed();
        std::thread::sleep(hold);
        s.commit().map_err(se)?;
        Ok(waited)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_of_one_tenant_are_serialized_other_tenants_are_not() {
    let db = TestDatabase::create().await;
    let dbs = provider(&db, 6).await;
    for t in ["acme", "beta"] {
        dbs.create(t).await.unwrap();
        dbs.sync_system_schema(t).await.unwrap();
    }
    let first = {
        let dbs = dbs.clone();
        tokio::spawn(async move { hold_writer(&dbs, "acme", Duration::from_millis(700)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let other = hold_writer(&dbs, "beta", Duration::ZERO).await;
    assert!(other < Duration::from_millis(200), "beta waited {other:?}");
    let second = hold_writer(&dbs, "acme", Duration::ZERO).await;
    assert!(
        second > Duration::from_millis(300),
        "the second writer of acme waited only {second:?}"
    );
    assert!(first.await.unwrap() < Duration::from_millis(200));

    // The engine's autonumbers (`MAX + 1` in a write transaction) never collide.
    exec(
        &dbs,
        "acme",
        "CREATE TABLE numbered (n BIGINT PRIMARY KEY, who TEXT)",
    )
    .await;
    let writers: Vec<_> = (0..12)
        .map(|i| {
            let dbs = dbs.clone();
            tokio::spawn(async move {
                dbs.with_session("acme", move |s| {
                    s.transaction(|| {
                        let next =
                            s.query_count("SELECT COALESCE(MAX(n), 0) + 1 FROM numbered", &[])?;
                        std::thread::sleep(Duration::from_millis(5));
                        s.execute(
                            "INSERT INTO numbered VALUES ($1, $2)",
                            &[SqlValue::Integer(next as i64), format!("w{i}").into()],
                        )
                    })
                    .map_err(se)
                })
                .await
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap().unwrap();
    }
    assert_eq!(
        count(&dbs, "acme", "SELECT COUNT(DISTINCT n) FROM numbered").await,
        12
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_is_bounded_and_waiting_for_it_times_out() {
    let db = TestDatabase::create().await;
    let dbs = provider(&db, 2).await;
    dbs.create("acme").await.unwrap();
    let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let started = Instant::now();
    let sessions: Vec<_> = (0..6)
        .map(|_| {
            let (dbs, now, peak) = (dbs.clone(), Arc::clone(&now), Arc::clone(&peak));
            tokio::spawn(async move {
                dbs.with_session("acme", move |s| {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(n, Ordering::SeqCst);
                    let one = s.query_count("SELECT 1", &[]).map_err(se);
                    std::thread::sleep(Duration::from_millis(150));
                    now.fetch_sub(1, Ordering::SeqCst);
                    one
                })
                .await
            })
        })
        .collect();
    for s in sessions {
        assert_eq!(s.await.unwrap().unwrap(), 1);
    }
    assert_eq!(peak.load(Ordering::SeqCst), 2, "never more than the pool");
    assert!(started.elapsed() >= Duration::from_millis(450));
    assert!(dbs.cached_connections() <= 2);
    dbs.invalidate("acme").await;

    // Waiting for a connection is bounded: past the acquire timeout it is an error.
    let tight = PostgresTenants::connect(&PgSettings {
        url: db.url.clone(),
        max_connections: 1,
        acquire_timeout: Duration::from_millis(300),
        ..PgSettings::default()
    })
    .await
    .unwrap();
    let holder = {
        let tight = tight.clone();
        tokio::spawn(async move {
            tight
                .with_session("acme", |_| {
                    std::thread::sleep(Duration::from_millis(1500));
                    Ok(())
                })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let asked = Instant::now();
    let refused = tight.with_session("acme", |_| Ok(())).await;
    let waited = asked.elapsed();
    match refused {
        Err(TenantDbError::Sql { source, .. }) => assert_eq!(source.kind, ErrorKind::Connection),
        other => panic!("expected a pool timeout, got {other:?}"),
    }
    assert!(waited < Duration::from_millis(1000), "waited {waited:?}");
    holder.await.unwrap().unwrap();
    tight.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_and_lock_waits_are_bounded() {
    let db = TestDatabase::create().await;
    let dbs = PostgresTenants::connect(&PgSettings {
        url: db.url.clone(),
        max_connections: 4,
        statement_timeout: Some(Duration::from_millis(300)),
        lock_timeout: Some(Duration::from_millis(200)),
        ..PgSettings::default()
    })
    .await
    .unwrap();
    dbs.create("acme").await.unwrap();
    let e = try_query(&dbs, "acme", "SELECT pg_sleep(2)::text")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Busy, "{e}");
    // A writer waiting for the tenant's writer lock gives up after the lock timeout, as busy.
    let holder = {
        let dbs = dbs.clone();
        tokio::spawn(async move { hold_writer(&dbs, "acme", Duration::from_millis(800)).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let e = dbs
        .with_session("acme", |s| Ok(s.begin()))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Busy, "{e}");
    holder.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_take_another_connection_when_the_server_closed_theirs() {
    let db = TestDatabase::create().await;
    let dbs = provider(&db, 4).await;
    dbs.create("acme").await.unwrap();
    // Fill the pool: four sessions at once.
    let busy: Vec<_> = (0..4)
        .map(|_| {
            let dbs = dbs.clone();
            tokio::spawn(
                async move { try_query(&dbs, "acme", "SELECT pg_sleep(0.05)::text").await },
            )
        })
        .collect();
    for task in busy {
        task.await.unwrap().unwrap();
    }
    // The server ends every connection of the pool (as a restart or an idle kill would) while
    // they sit idle for less than the ping threshold: they are handed out untested.
    let admin = db.pool().await;
    let ended: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND backend_type = 'client backend') t",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    assert!(ended >= 4, "ended {ended} connections");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Every session still runs: each broken connection fails its first statement and is
    // replaced.
    for _ in 0..6 {
        assert_eq!(
            try_query(&dbs, "acme", "SELECT 'up'").await.unwrap(),
            vec![vec![SqlValue::Text("up".into())]]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_commit_with_the_configured_synchronous_commit() {
    let db = TestDatabase::create().await;
    let setting = |dbs: PostgresTenants| async move {
        let rows = try_query(&dbs, "acme", "SELECT current_setting('synchronous_commit')")
            .await
            .unwrap();
        dbs.close().await;
        rows
    };
    let level = |text: &str| vec![vec![SqlValue::Text(text.to_owned())]];
    // Unset: the server's own setting (on, in this machine's PostgreSQL).
    let server = provider(&db, 2).await;
    server.create("acme").await.unwrap();
    assert_eq!(setting(server).await, level("on"));
    for (configured, expected) in [
        (SynchronousCommit::Off, "off"),
        (SynchronousCommit::RemoteWrite, "remote_write"),
    ] {
        let dbs = PostgresTenants::connect(&PgSettings {
            url: db.url.clone(),
            max_connections: 2,
            synchronous_commit: Some(configured),
            ..PgSettings::default()
        })
        .await
        .unwrap();
        assert_eq!(setting(dbs).await, level(expected), "{configured:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_latency() {
    let db = TestDatabase::create().await;
    let dbs = provider(&db, 4).await;
    let mut times = Vec::new();
    for i in 0..40 {
        let id = format!("tenant-{i}");
        let t = Instant::now();
        dbs.create(&id).await.unwrap();
        dbs.sync_system_schema(&id).await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    eprintln!(
        "create+sync_system_schema of 40 tenants: p50 {:?}, p99 {:?}",
        times[times.len() / 2],
        times[times.len() * 99 / 100]
    );
    assert_eq!(dbs.list().await.unwrap().len(), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installations_sharing_a_database_never_touch_each_others_tenants() {
    let db = TestDatabase::create().await;
    let owned = |owner: &str| PgSettings {
        url: db.url.clone(),
        max_connections: 2,
        owner: Some(owner.to_owned()),
        ..PgSettings::default()
    };
    let a = PostgresTenants::connect(&owned("install-a")).await.unwrap();
    let b = PostgresTenants::connect(&owned("install-b")).await.unwrap();
    a.create("acme").await.unwrap();
    a.sync_system_schema("acme").await.unwrap();
    assert_eq!(a.list().await.unwrap(), vec!["acme".to_owned()]);
    // B does not list A's tenant (its orphan sweep would delete what it lists), cannot adopt it
    // by creating the same id, and cannot delete it.
    assert!(b.list().await.unwrap().is_empty());
    assert!(!b.exists("acme").await.unwrap());
    assert!(matches!(
        b.create("acme").await,
        Err(TenantDbError::Config(_))
    ));
    assert!(matches!(
        b.delete("acme").await,
        Err(TenantDbError::Config(_))
    ));
    assert!(a.exists("acme").await.unwrap());
    assert_eq!(
        count(&a, "acme", "SELECT COUNT(*) FROM _objectos_meta").await,
        2
    );
    // An owner that could not be written into a comment is refused up front.
    let bad = PostgresTenants::connect(&owned("it's")).await;
    assert!(matches!(bad, Err(TenantDbError::Config(_))), "{bad:?}");
}
