//! PgSession against the real PostgreSQL of this machine (a database of its own per test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use objectos_sql::testing::TestDatabase;
use objectos_sql::{
    ErrorKind, PgSession, PgTarget, SchemaGeneration, Session, SessionExt, SqlError, SqlValue,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_round_trip_with_their_meaning_and_errors_are_classified() {
    let db = TestDatabase::create().await;
    let pool = db.pool().await;
    let conn = pool.acquire().await.unwrap();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let s = PgSession::open(handle, conn, None).unwrap();
        s.execute_batch(
            "CREATE SCHEMA t1; CREATE TABLE t1.v (id TEXT PRIMARY KEY, b BOOLEAN, i BIGINT, \
             r DOUBLE PRECISION, j JSONB, d DATE, ts TIMESTAMPTZ, n BIGINT NOT NULL DEFAULT 0, \
             u TEXT UNIQUE)",
        )
        .unwrap();
        s.execute(
            "INSERT INTO t1.v (id, b, i, r, j, d, ts, u) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                "a".into(),
                SqlValue::Bool(true),
                SqlValue::Integer(42),
                SqlValue::Real(1.5),
                SqlValue::Json(r#"["x",1]"#.into()),
                SqlValue::Date("2026-01-31".into()),
                SqlValue::Timestamp("2026-01-31T09:30:00.120Z".into()),
                SqlValue::Null,
            ],
        )
        .unwrap();
        // A NULL goes into any column type (its type is left for the server to infer).
        s.execute(
            "INSERT INTO t1.v (id, b, i, r, j, d, ts) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                "b".into(),
                SqlValue::Null,
                SqlValue::Null,
                SqlValue::Null,
                SqlValue::Null,
                SqlValue::Null,
                SqlValue::Null,
            ],
        )
        .unwrap();
        let rows = s
            .query(
                "SELECT b, i, r, j, d, ts FROM t1.v WHERE id = $1",
                &["a".into()],
            )
            .unwrap();
        assert_eq!(
            rows,
            vec![vec![
                SqlValue::Bool(true),
                SqlValue::Integer(42),
                SqlValue::Real(1.5),
                SqlValue::Json(r#"["x",1]"#.into()),
                SqlValue::Date("2026-01-31".into()),
                SqlValue::Timestamp("2026-01-31T09:30:00.120Z".into()),
            ]]
        );
        assert_eq!(s.query_count("SELECT COUNT(*) FROM t1.v", &[]).unwrap(), 2);

        s.execute(
            "UPDATE t1.v SET u = $1 WHERE id = $2",
            &["x".into(), "a".into()],
        )
        .unwrap();
        let e = s
            .execute(
                "UPDATE t1.v SET u = $1 WHERE id = $2",
                &["x".into(), "b".into()],
            )
            .unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::Unique {
                columns: vec!["u".into()]
            }
        );
        assert_eq!(e.code.as_deref(), Some("23505"));
        let e = s
            .execute("UPDATE t1.v SET n = NULL WHERE id = $1", &["a".into()])
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotNull);
        assert_eq!(
            s.query("SELECT * FROM t1.nope", &[]).unwrap_err().kind,
            ErrorKind::Missing
        );
        assert_eq!(s.query("SELEC 1", &[]).unwrap_err().kind, ErrorKind::Syntax);

        // A failing statement inside a savepoint undoes only itself.
        let r: Result<(), SqlError> = s.transaction(|| {
            s.execute("INSERT INTO t1.v (id) VALUES ($1)", &["c".into()])?;
            let inner: Result<u64, SqlError> = s.savepoint("sp", || {
                s.execute("INSERT INTO t1.v (id) VALUES ($1)", &["a".into()])
            });
            assert!(inner.unwrap_err().is_unique());
            s.execute("INSERT INTO t1.v (id) VALUES ($1)", &["d".into()])?;
            Ok(())
        });
        r.unwrap();
        assert!(!s.in_transaction());
        assert_eq!(s.query_count("SELECT COUNT(*) FROM t1.v", &[]).unwrap(), 4);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_session_sees_its_schema_only_and_is_reset_on_drop() {
    let db = TestDatabase::create().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.url)
        .await
        .unwrap();
    let prefix = objectos_sql::testing::role_prefix(&db.name);
    let (ra, rb) = (format!("{prefix}a"), format!("{prefix}b"));
    let handle = tokio::runtime::Handle::current();
    let p = pool.clone();
    tokio::task::spawn_blocking(move || {
        let conn = handle.block_on(p.acquire()).unwrap();
        let admin = PgSession::open(handle.clone(), conn, None).unwrap();
        for (schema, role) in [("ta", &ra), ("tb", &rb)] {
            admin
                .execute_batch(&format!(
                    "CREATE ROLE \"{role}\" NOLOGIN; GRANT \"{role}\" TO CURRENT_USER; \
                     CREATE SCHEMA {schema} AUTHORIZATION \"{role}\"; \
                     CREATE TABLE {schema}.secret (v TEXT); ALTER TABLE {schema}.secret OWNER TO \"{role}\"; \
                     INSERT INTO {schema}.secret VALUES ('{schema}')"
                ))
                .unwrap();
        }
        drop(admin);
        let conn = handle.block_on(p.acquire()).unwrap();
        let a = PgSession::open(
            handle.clone(),
            conn,
            Some(&PgTarget::new("ta", Some(ra.clone()))),
        )
        .unwrap();
        assert_eq!(
            a.query("SELECT v FROM secret", &[]).unwrap(),
            vec![vec![SqlValue::Text("ta".into())]]
        );
        // Naming the other tenant's schema outright is refused by its role's privileges.
        let e = a.query("SELECT v FROM tb.secret", &[]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ReadOnly, "{e}");
        drop(a);
        // The same (only) pooled connection, back to the login role and default path.
        let conn = handle.block_on(p.acquire()).unwrap();
        let admin = PgSession::open(handle, conn, None).unwrap();
        assert_eq!(
            admin.query("SELECT current_user::text = session_user::text", &[]).unwrap(),
            vec![vec![SqlValue::Bool(true)]]
        );
        assert_eq!(admin.query("SELECT v FROM secret", &[]).unwrap_err().kind, ErrorKind::Missing);
    })
    .await
    .unwrap();
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_text_on_one_connection_serves_tables_of_other_types() {
    // One pooled connection, two tenants whose `t.x` differ in type: a statement cached by its
    // text would be run with the first tenant's row types ("insufficient data left in message").
    let db = TestDatabase::create().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.url)
        .await
        .unwrap();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let admin = PgSession::open(
            handle.clone(),
            handle.block_on(pool.acquire()).unwrap(),
            None,
        )
        .unwrap();
        admin
            .execute_batch(
                "CREATE SCHEMA a; CREATE TABLE a.t (x DOUBLE PRECISION); \
                 CREATE SCHEMA b; CREATE TABLE b.t (x BOOLEAN)",
            )
            .unwrap();
        drop(admin);
        for (schema, value) in [("a", SqlValue::Real(1.5)), ("b", SqlValue::Bool(true))] {
            for _ in 0..2 {
                let s = PgSession::open(
                    handle.clone(),
                    handle.block_on(pool.acquire()).unwrap(),
                    Some(&PgTarget {
                        schema: schema.into(),
                        ..PgTarget::default()
                    }),
                )
                .unwrap();
                s.execute(
                    "INSERT INTO t (x) VALUES ($1)",
                    std::slice::from_ref(&value),
                )
                .unwrap();
                assert_eq!(
                    s.query("SELECT x FROM t LIMIT 1", &[]).unwrap(),
                    vec![vec![value.clone()]]
                );
            }
        }
    })
    .await
    .unwrap();
}

/// A session on `pool`'s one connection, pinned to `schema`, keeping its statements prepared under
/// `generation`.
fn cached_session(
    handle: &tokio::runtime::Handle,
    pool: &sqlx::PgPool,
    schema: &str,
    generation: &SchemaGeneration,
) -> PgSession {
    PgSession::open(
        handle.clone(),
        handle.block_on(pool.acquire()).unwrap(),
        Some(&PgTarget {
            schema: schema.into(),
            ..PgTarget::default()
        }),
    )
    .unwrap()
    .cache_statements(schema, generation.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_are_kept_apart_by_schema_parameter_types_and_generation() {
    let db = TestDatabase::create().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.url)
        .await
        .unwrap();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let admin = PgSession::open(
            handle.clone(),
            handle.block_on(pool.acquire()).unwrap(),
            None,
        )
        .unwrap();
        admin
            .execute_batch(
                "CREATE SCHEMA a; CREATE TABLE a.t (x DOUBLE PRECISION); \
                 CREATE SCHEMA b; CREATE TABLE b.t (x BOOLEAN)",
            )
            .unwrap();
        drop(admin);
        let (gen_a, gen_b) = (SchemaGeneration::new(), SchemaGeneration::new());

        // Two tenants, one text, one connection: each schema its own statement.
        for (schema, generation, value) in [
            ("a", &gen_a, SqlValue::Real(1.5)),
            ("b", &gen_b, SqlValue::Bool(true)),
        ] {
            for _ in 0..2 {
                let s = cached_session(&handle, &pool, schema, generation);
                s.execute(
                    "INSERT INTO t (x) VALUES ($1)",
                    std::slice::from_ref(&value),
                )
                .unwrap();
                assert_eq!(
                    s.query("SELECT x FROM t LIMIT 1", &[]).unwrap(),
                    vec![vec![value.clone()]]
                );
            }
        }

        // One text bound with an integer, then a real: prepared for each type (binary values
        // read as the first statement's type would be garbage).
        let s = cached_session(&handle, &pool, "a", &gen_a);
        s.execute("DELETE FROM t", &[]).unwrap();
        for value in [
            SqlValue::Integer(2),
            SqlValue::Real(0.25),
            SqlValue::Integer(-7),
        ] {
            s.execute("INSERT INTO t (x) VALUES ($1)", &[value])
                .unwrap();
        }
        assert_eq!(
            s.query("SELECT x FROM t ORDER BY x", &[]).unwrap(),
            vec![
                vec![SqlValue::Real(-7.0)],
                vec![SqlValue::Real(0.25)],
                vec![SqlValue::Real(2.0)]
            ]
        );

        // DDL through a session moves the tenant to a new generation, at once and again when
        // its transaction ends; the statements prepared before serve the new row type.
        let before = gen_a.get();
        s.begin().unwrap();
        s.execute_batch("ALTER TABLE t ALTER COLUMN x TYPE TEXT")
            .unwrap();
        let during = gen_a.get();
        assert_ne!(during, before);
        s.commit().unwrap();
        assert_ne!(gen_a.get(), during);
        assert_eq!(
            s.query("SELECT x FROM t ORDER BY x LIMIT 1", &[]).unwrap(),
            vec![vec![SqlValue::Text("-7".into())]]
        );
        drop(s);

        // DDL by someone else (no generation bumped): PostgreSQL refuses the prepared statement
        // whose result type changed; outside a transaction it is prepared anew and run again,
        // inside one it fails as retryable.
        let outsider = |sql: &str| {
            let admin = PgSession::open(
                handle.clone(),
                handle.block_on(pool.acquire()).unwrap(),
                None,
            )
            .unwrap();
            admin.execute_batch(sql).unwrap();
        };
        for (ddl, expected) in [
            (
                "ALTER TABLE a.t ALTER COLUMN x TYPE DOUBLE PRECISION USING x::float8",
                SqlValue::Real(-7.0),
            ),
            (
                "ALTER TABLE a.t ALTER COLUMN x TYPE TEXT",
                SqlValue::Text("-7".into()),
            ),
        ] {
            outsider(ddl);
            let s = cached_session(&handle, &pool, "a", &gen_a);
            assert_eq!(
                s.query("SELECT x FROM t ORDER BY x LIMIT 1", &[]).unwrap(),
                vec![vec![expected]]
            );
        }
        outsider("ALTER TABLE a.t ALTER COLUMN x TYPE DOUBLE PRECISION USING x::float8");
        let s = cached_session(&handle, &pool, "a", &gen_a);
        s.begin().unwrap();
        let err = s
            .query("SELECT x FROM t ORDER BY x LIMIT 1", &[])
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Busy, "{err:?}");
        s.rollback().unwrap();
        assert_eq!(
            s.query("SELECT x FROM t ORDER BY x LIMIT 1", &[]).unwrap(),
            vec![vec![SqlValue::Real(-7.0)]]
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_targets_refuse_writes_lock_keys_serialize_and_missing_roles_are_missing() {
    let db = TestDatabase::create().await;
    let pool = db.pool().await;
    // A single connection, to see that a read-only session's setting does not outlive it.
    let single = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.url)
        .await
        .unwrap();
    let role = format!("{}a", objectos_sql::role_prefix(&db.name));
    let handle = tokio::runtime::Handle::current();
    let p = pool.clone();
    let one = single.clone();
    tokio::task::spawn_blocking(move || {
        let open = |target: &PgTarget| {
            let conn = handle.block_on(p.acquire()).unwrap();
            PgSession::open(handle.clone(), conn, Some(target))
        };
        let conn = handle.block_on(p.acquire()).unwrap();
        let admin = PgSession::open(handle.clone(), conn, None).unwrap();
        admin
            .execute_batch(&format!(
                "CREATE ROLE \"{role}\" NOLOGIN; GRANT \"{role}\" TO CURRENT_USER; \
                 CREATE SCHEMA ta AUTHORIZATION \"{role}\"; SET ROLE \"{role}\"; \
                 CREATE TABLE ta.n (v BIGINT); RESET ROLE"
            ))
            .unwrap();
        drop(admin);

        let e = open(&PgTarget::new("tz", Some("no_such_role".into()))).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Missing, "{e}");

        let conn = handle.block_on(one.acquire()).unwrap();
        let reader = PgSession::open(
            handle.clone(),
            conn,
            Some(&PgTarget {
                read_only: true,
                ..PgTarget::new("ta", Some(role.clone()))
            }),
        )
        .unwrap();
        reader.execute_batch("SET work_mem = '7MB'").unwrap();
        let e = reader.execute("INSERT INTO n VALUES (1)", &[]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ReadOnly, "{e}");
        drop(reader);

        let writer = PgTarget {
            lock_key: Some(42),
            ..PgTarget::new("ta", Some(role.clone()))
        };
        let first = open(&writer).unwrap();
        first.begin().unwrap();
        first.execute("INSERT INTO n VALUES (1)", &[]).unwrap();
        // The lock is held: another session's begin() waits (here: gives up at once).
        let second = open(&writer).unwrap();
        second.execute_batch("SET lock_timeout = '100ms'").unwrap();
        let e = second.begin().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Busy, "{e}");
        assert!(!second.in_transaction());
        first.commit().unwrap();
        second.begin().unwrap();
        second.execute("INSERT INTO n VALUES (2)", &[]).unwrap();
        second.commit().unwrap();
        second.execute_batch("RESET lock_timeout").unwrap();
        assert_eq!(
            second.query_count("SELECT COUNT(*) FROM n", &[]).unwrap(),
            2
        );
        drop((first, second));
        // The read-only setting was reset with the session (the same, only connection).
        let conn = handle.block_on(one.acquire()).unwrap();
        let admin = PgSession::open(handle.clone(), conn, None).unwrap();
        admin.execute("INSERT INTO ta.n VALUES (3)", &[]).unwrap();
        // So was every other setting it changed.
        assert_eq!(
            admin
                .query_value("SELECT current_setting('work_mem')", &[])
                .unwrap(),
            SqlValue::Text("4MB".into())
        );
    })
    .await
    .unwrap();
    single.close().await;
    pool.close().await;
}
