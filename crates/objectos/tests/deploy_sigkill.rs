#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design
//! Crash injection as a real process (issue #4): SIGKILL `objectos serve` while a deployment is
//! inside its transaction, after the rebuild of a 100,000-row table and before the commit (held
//! there by the `deploy_before_commit=delay(..)` failpoint). After a restart the schema, the
//! ledger head and a checksum of every row are exactly as before; then the same deploy succeeds.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;

use common::{free_port, wait_ready, ServeProcess};

const ROWS: i64 = 100_000;

fn bundle(points: Value) -> Value {
    json!({
        "manifest": {"version": "1.0.0", "objects": ["task"], "views": [], "flows": [], "permissions": []},
        "objects": [{"name": "task", "fields": {
            "title": {"type": "text", "required": true},
            "points": points,
            "notes": {"type": "textarea"}
        }, "indexes": [{"fields": ["points"]}]}],
        "views": [], "flows": [], "permissions": [], "seedData": []
    })
}

/// `points` whole numbers (INTEGER).
fn bundle_a() -> Value {
    bundle(json!({"type": "number", "scale": 0}))
}

/// `points` any number (REAL): a widening that rebuilds the table.
fn bundle_b() -> Value {
    bundle(json!({"type": "number"}))
}

async fn deploy(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    tenant: &str,
    bundle: &Value,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{base}/api/v1/tenants/{tenant}/deployments"))
        .bearer_auth(token)
        .json(bundle)
        .send()
        .await
}

/// What must survive the crash unchanged.
#[derive(Debug, PartialEq)]
struct Snapshot {
    /// Every row of `sqlite_master` (tables, indexes and their SQL), and `task`'s columns.
    schema: Vec<String>,
    /// Ledger row count, head seq and hash.
    ledger_head: (i64, i64, String),
    /// Row count and a hash of every row of `task` in id order (with each value's type).
    rows: (i64, u64),
}

fn snapshot(db: &Path) -> Snapshot {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut schema = Vec::new();
    let mut stmt = conn
        .prepare(
            "SELECT type, name, tbl_name, COALESCE(sql, '') FROM sqlite_master ORDER BY type, name",
        )
        .unwrap();
    let master = stmt
        .query_map([], |r| {
            Ok(format!(
                "{}|{}|{}|{}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?
            ))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    schema.extend(master);
    let mut stmt = conn
        .prepare("SELECT name, type, \"notnull\", COALESCE(dflt_value, ''), pk FROM pragma_table_info('task')")
        .unwrap();
    let columns = stmt
        .query_map([], |r| {
            Ok(format!(
                "{}|{}|{}|{}|{}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?
            ))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    schema.extend(columns);
    let ledger_head = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM _objectos_deployments), seq, hash \
             FROM _objectos_deployments ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let mut hasher = DefaultHasher::new();
    let mut count = 0_i64;
    let mut stmt = conn
        .prepare(
            "SELECT id, created_at, updated_at, title, points, typeof(points), notes \
             FROM task ORDER BY id",
        )
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    while let Some(row) = rows.next().unwrap() {
        count += 1;
        for i in 0..7 {
            format!("{:?}", row.get_ref(i).unwrap()).hash(&mut hasher);
        }
    }
    Snapshot {
        schema,
        ledger_head,
        rows: (count, hasher.finish()),
    }
}

fn insert_rows(db: &Path) {
    let mut conn = rusqlite::Connection::open(db).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO task (id, created_at, updated_at, title, points, notes) \
                 VALUES (?1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', ?2, ?3, ?4)",
            )
            .unwrap();
        for i in 0..ROWS {
            let notes = (i % 4 != 0).then(|| format!("note {i}"));
            insert
                .execute(rusqlite::params![
                    format!("t{i:06}"),
                    format!("Task {i}"),
                    i % 1000,
                    notes
                ])
                .unwrap();
        }
    }
    tx.commit().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_large_rebuild_leaves_everything_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    // A tenant with `task` deployed.
    let server = ServeProcess::start(data_dir, port, &[]);
    wait_ready(&client, &base).await;
    let token = std::fs::read_to_string(data_dir.join("admin-token"))
        .unwrap()
        .trim()
        .to_owned();
    let response = client
        .post(format!("{base}/api/v1/tenants"))
        .bearer_auth(&token)
        .json(&json!({"orgId": "bigco"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let tenants: Value = client
        .get(format!("{base}/api/v1/tenants"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenant = tenants["data"][0]["id"].as_str().unwrap().to_owned();
    let response = deploy(&client, &base, &token, &tenant, &bundle_a())
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    server.kill();

    // 100,000 rows, written directly while the server is down.
    let db: PathBuf = data_dir.join("tenants").join(format!("{tenant}.db"));
    assert!(db.exists(), "{db:?}");
    insert_rows(&db);
    let before = snapshot(&db);
    assert_eq!(before.rows.0, ROWS);
    assert_eq!(before.ledger_head.0, 1);

    // The rebuild runs, then the deployment waits before its commit: SIGKILL lands in there.
    let server = ServeProcess::start(
        data_dir,
        port,
        &["--failpoints", "deploy_before_commit=delay(5000)"],
    );
    wait_ready(&client, &base).await;
    let started = Instant::now();
    let request = tokio::spawn({
        let (client, base, token, tenant) =
            (client.clone(), base.clone(), token.clone(), tenant.clone());
        async move { deploy(&client, &base, &token, &tenant, &bundle_b()).await }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !request.is_finished(),
        "the deployment must still be in its transaction when the server is killed"
    );
    server.kill();
    assert!(started.elapsed() < Duration::from_millis(5000));
    let outcome = request.await.unwrap();
    assert!(
        outcome.is_err(),
        "the deployment never answered: {outcome:?}"
    );

    // Restarted without failpoints: exactly as before.
    let server = ServeProcess::start(data_dir, port, &[]);
    wait_ready(&client, &base).await;
    let after = snapshot(&db);
    assert_eq!(after.schema, before.schema, "schema");
    assert_eq!(after.ledger_head, before.ledger_head, "ledger head");
    assert_eq!(after.rows, before.rows, "rows");
    let listed: Value = client
        .get(format!("{base}/api/v1/tenants/{tenant}/deployments"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1), "{listed}");

    // The same deploy now succeeds, rebuilding the table.
    let response = deploy(&client, &base, &token, &tenant, &bundle_b())
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let record = &body["data"];
    assert_eq!(record["status"], "ready", "{record}");
    assert_eq!(record["seq"], 2, "{record}");
    let statements: Vec<&str> = record["plan"]["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sql"].as_str().unwrap())
        .collect();
    assert!(
        statements.iter().any(|s| s.starts_with("INSERT INTO")),
        "a rebuild: {statements:#?}"
    );
    server.kill();
    let done = snapshot(&db);
    assert_eq!(done.ledger_head.0, 2);
    assert_eq!(done.rows.0, ROWS);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (points, kind): (f64, String) = conn
        .query_row(
            "SELECT points, typeof(points) FROM task WHERE id = 't012345'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((points, kind.as_str()), (345.0, "real"));
}
