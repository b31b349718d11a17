#![cfg(feature = "failpoints")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Crash injection between the statements of a deploy (issue #4, "Crash injection between
//! statements"): a failpoint after every statement of a multi-statement plan in turn, and one just
//! before the commit. Each time the deployment fails and the schema, the ledger head and every row
//! of every table are exactly as before; with no failpoint the same deploy then applies.
//!
//! Needs the `failpoints` feature of objectos-core, which `cargo test --workspace` (and any test
//! build of `objectos` or `objectos-server`) turns on through their dev-dependencies.

use objectos_core::deploy::{DeployOptions, Rename};
use objectos_core::{Platform, PlatformConfig};
use objectos_spec::types::deploy::DeployStatus;
use objectos_spec::types::provisioning::TenantProvisioningRequest;
use objectos_store::SqliteControlStore;
use objectos_tenantdb::LocalSqlite;
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
    let request: TenantProvisioningRequest =
        objectos_spec::parse(&json!({"orgId": "crash"})).unwrap();
    let provisioned = platform.provision(request, true).await.unwrap();
    Env {
        _dir: dir,
        platform,
        tenant: provisioned.tenant.id,
    }
}

fn bundle(objects: Vec<Value>, seed_data: Vec<Value>) -> Value {
    let names: Vec<Value> = objects.iter().map(|o| o["name"].clone()).collect();
    json!({
        "manifest": {"version": "1.0.0", "objects": names, "views": [], "flows": [], "permissions": []},
        "objects": objects,
        "views": [],
        "flows": [],
        "permissions": [],
        "seedData": seed_data,
    })
}

/// Model A: `project` and `task` (whole-number points), with seed rows.
fn model_a() -> Value {
    let projects: Vec<Value> = (0..5)
        .map(|i| json!({"id": format!("p{i}"), "name": format!("Project {i}")}))
        .collect();
    let tasks: Vec<Value> = (0..200)
        .map(|i| {
            json!({
                "id": format!("t{i:03}"),
                "title": format!("Task {i}"),
                "points": i % 13,
                "notes": if i % 3 == 0 { Value::Null } else { json!(format!("note {i}")) },
                "project": format!("p{}", i % 5),
            })
        })
        .collect();
    bundle(
        vec![
            json!({"name": "project", "fields": {
                "name": {"type": "text", "required": true, "unique": true}
            }}),
            json!({"name": "task", "fields": {
                "title": {"type": "text", "required": true},
                "points": {"type": "number", "scale": 0},
                "notes": {"type": "textarea"},
                "project": {"type": "lookup", "reference": "project"}
            }, "indexes": [{"fields": ["points"]}]}),
        ],
        vec![
            json!({"object": "project", "externalId": "id", "records": projects}),
            json!({"object": "task", "externalId": "id", "records": tasks}),
        ],
    )
}

/// Model B: `project` renamed to `board`, `task.title` renamed to `subject`, a new `done` field,
/// and `points` widened from INTEGER to REAL (a rebuild of `task`).
fn model_b() -> Value {
    bundle(
        vec![
            json!({"name": "board", "fields": {
                "name": {"type": "text", "required": true, "unique": true}
            }}),
            json!({"name": "task", "fields": {
                "subject": {"type": "text", "required": true},
                "points": {"type": "number"},
                "notes": {"type": "textarea"},
                "project": {"type": "lookup", "reference": "board"},
                "done": {"type": "boolean", "defaultValue": false}
            }, "indexes": [{"fields": ["points"]}, {"fields": ["subject"]}]}),
        ],
        vec![],
    )
}

fn options_b() -> DeployOptions {
    DeployOptions {
        renames: vec![
            Rename::Object {
                from: "project".to_owned(),
                to: "board".to_owned(),
            },
            Rename::Field {
                object: "task".to_owned(),
                from: "title".to_owned(),
                to: "subject".to_owned(),
            },
        ],
        ..DeployOptions::default()
    }
}

fn with_db<T>(env: &Env, f: impl FnOnce(&rusqlite::Connection) -> T) -> T {
    let shared = env.platform.dbs().connection(&env.tenant).unwrap();
    let conn = shared.lock().unwrap();
    f(&conn)
}

fn rows(conn: &rusqlite::Connection, sql: &str) -> Vec<Vec<Value>> {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        Ok((0..n)
            .map(|i| match r.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(x) => json!(x),
                rusqlite::types::ValueRef::Real(x) => json!(x),
                rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                rusqlite::types::ValueRef::Blob(b) => json!(hex::encode(b)),
            })
            .collect())
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Everything the issue says must be unchanged by an interrupted deploy.
#[derive(Debug, PartialEq)]
struct Snapshot {
    /// `sqlite_master` (every table, index, its SQL) and each table's introspected schema.
    schema: Vec<String>,
    /// Ledger row count and the head's seq and hash.
    ledger_head: (i64, Vec<Vec<Value>>),
    /// Every row of every table (the ledger and metadata tables included), ordered.
    rows: Vec<(String, Vec<Vec<Value>>)>,
}

fn snapshot(env: &Env) -> Snapshot {
    with_db(env, |conn| {
        let master = rows(
            conn,
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name",
        );
        let mut schema: Vec<String> = master.iter().map(|r| format!("{r:?}")).collect();
        let tables: Vec<String> = master
            .iter()
            .filter(|r| r[0] == "table")
            .map(|r| r[1].as_str().unwrap().to_owned())
            .collect();
        for table in &tables {
            if let Ok(t) =
                objectos_schema::introspect_table(&objectos_sql::SqliteSession::new(conn), table)
            {
                schema.push(format!("{t:?}"));
            }
        }
        let count = rows(conn, "SELECT COUNT(*) FROM _objectos_deployments")[0][0]
            .as_i64()
            .unwrap();
        let head = rows(
            conn,
            "SELECT seq, hash FROM _objectos_deployments ORDER BY seq DESC LIMIT 1",
        );
        let all_rows = tables
            .iter()
            .filter(|t| !t.starts_with("sqlite_"))
            .map(|t| {
                (
                    t.clone(),
                    rows(conn, &format!("SELECT * FROM \"{t}\" ORDER BY 1")),
                )
            })
            .collect();
        Snapshot {
            schema,
            ledger_head: (count, head),
            rows: all_rows,
        }
    })
}

#[tokio::test]
async fn a_failpoint_after_any_statement_or_before_the_commit_changes_nothing() {
    let env = setup().await;
    let fp = env.platform.failpoints().clone();
    let first = env
        .platform
        .deploy(&env.tenant, model_a(), DeployOptions::default())
        .await
        .unwrap();
    assert_eq!(first.status, DeployStatus::Ready, "{:?}", first.error);

    // The plan B would run, without running it.
    let dry = env
        .platform
        .deploy(
            &env.tenant,
            model_b(),
            DeployOptions {
                dry_run: true,
                ..options_b()
            },
        )
        .await
        .unwrap();
    assert_eq!(dry.status, DeployStatus::Ready, "{:?}", dry.error);
    let statements: Vec<&str> = dry.plan.statements.iter().map(|s| s.sql.as_str()).collect();
    let n = statements.len();
    assert!(n >= 5, "a multi-statement plan: {statements:#?}");
    assert!(
        statements.iter().any(|s| s.contains("RENAME TO")),
        "{statements:#?}"
    );
    assert!(
        statements.iter().any(|s| s.starts_with("INSERT INTO")),
        "a rebuild copies the rows: {statements:#?}"
    );

    let before = snapshot(&env);
    assert_eq!(before.ledger_head.0, 1);
    assert!(before
        .rows
        .iter()
        .any(|(t, r)| t == "task" && r.len() == 200));

    let mut points: Vec<String> = (0..n)
        .map(objectos_core::failpoints::deploy_statement)
        .collect();
    points.push(objectos_core::failpoints::DEPLOY_BEFORE_COMMIT.to_owned());
    for point in &points {
        fp.clear();
        fp.configure(&format!("{point}=fail(injected at {point})"))
            .unwrap();
        let record = env
            .platform
            .deploy(&env.tenant, model_b(), options_b())
            .await
            .unwrap();
        assert_eq!(record.status, DeployStatus::Failed, "{point}");
        assert_eq!(record.seq, None, "{point}");
        let error = record.error.unwrap_or_default();
        assert!(error.contains(&format!("injected at {point}")), "{error}");
        let after = snapshot(&env);
        assert_eq!(after.schema, before.schema, "schema after {point}");
        assert_eq!(
            after.ledger_head, before.ledger_head,
            "ledger head after {point}"
        );
        assert_eq!(after.rows, before.rows, "rows after {point}");
        assert!(after == before, "{point}");
    }

    // A statement index past the end of the plan is never reached: the deploy applies.
    fp.clear();
    fp.configure(&format!(
        "{}=fail",
        objectos_core::failpoints::deploy_statement(n)
    ))
    .unwrap();
    let applied = env
        .platform
        .deploy(&env.tenant, model_b(), options_b())
        .await
        .unwrap();
    assert_eq!(applied.status, DeployStatus::Ready, "{:?}", applied.error);
    assert_eq!(applied.seq, Some(2));
    assert_eq!(applied.plan.statements.len(), n);
    fp.clear();

    let after = snapshot(&env);
    assert_eq!(after.ledger_head.0, 2);
    assert_ne!(after.ledger_head.1, before.ledger_head.1);
    with_db(&env, |conn| {
        assert!(objectos_schema::introspect_table(
            &objectos_sql::SqliteSession::new(conn),
            "project"
        )
        .is_err());
        let tasks = rows(
            conn,
            "SELECT id, subject, points, typeof(points), done, project FROM task ORDER BY id",
        );
        assert_eq!(tasks.len(), 200);
        assert_eq!(tasks[7][1], json!("Task 7"));
        assert_eq!(tasks[7][2], json!(7.0));
        assert_eq!(tasks[7][3], json!("real"));
        assert_eq!(tasks[7][4], json!(0));
        assert_eq!(tasks[7][5], json!("p2"));
        let boards = rows(conn, "SELECT id, name FROM board ORDER BY id");
        assert_eq!(boards.len(), 5);
    });
}
