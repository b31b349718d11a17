//! The real Rust libSQL client (`libsql` 0.10, remote mode: Hrana 3 over HTTP with `/v3/pipeline`
//! and `/v3/cursor`) against the Hrana endpoint: execute, query (describe + cursor), values of
//! every type, batches, transactions committed and rolled back, and error codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestApp, TestServer};
use libsql::{params, Builder, Connection, TransactionBehavior, Value};
use serde_json::{json, Value as Json};

async fn tenant(app: &TestServer) -> String {
    let (id, key) = app.active_tenant("acme", "pro").await;
    let item = json!({"name": "item", "fields": {
        "name": {"type": "text", "required": true, "unique": true},
        "qty": {"type": "number"}
    }});
    app.admin_post(
        &format!("/api/v1/tenants/{id}/deployments"),
        json!({"bundle": {"manifest": {"version": "1.0.0", "objects": ["item"]}, "objects": [item], "seedData": []}}),
    )
    .await
    .assert_success(201);
    key
}

async fn connect(app: &TestServer, key: &str) -> Connection {
    let mut http = hyper014::client::HttpConnector::new();
    http.enforce_http(true);
    let db = Builder::new_remote(app.base.clone(), key.to_owned())
        .connector(http)
        .build()
        .await
        .unwrap();
    db.connect().unwrap()
}

const INSERT: &str =
    "INSERT INTO item (id, created_at, updated_at, name, qty) VALUES (?1, 'x', 'x', ?2, ?3)";

async fn count(conn: &Connection, name: &str) -> i64 {
    let mut rows = conn
        .query("SELECT COUNT(*) FROM item WHERE name = ?1", params![name])
        .await
        .unwrap();
    rows.next().await.unwrap().unwrap().get::<i64>(0).unwrap()
}

fn code(e: &libsql::Error) -> String {
    e.to_string()
}

#[tokio::test]
async fn the_libsql_crate_speaks_hrana_3_with_objectos() {
    if common::provider() == "postgres" {
        return;
    }
    let app = TestApp::new().start().await;
    let key = tenant(&app).await;
    let conn = connect(&app, &key).await;

    // execute (a pipeline) and query (describe, then a cursor), every value type.
    let n = conn.execute(INSERT, params!["a", "a", 1.5]).await.unwrap();
    assert_eq!(n, 1);
    let mut rows = conn
        .query(
            "SELECT NULL, ?1, 2.5, 'é', X'00FF', name, qty FROM item WHERE name = ?2",
            params![-9_007_199_254_740_993_i64, "a"],
        )
        .await
        .unwrap();
    let row = rows.next().await.unwrap().unwrap();
    assert_eq!(row.get_value(0).unwrap(), Value::Null);
    assert_eq!(
        row.get_value(1).unwrap(),
        Value::Integer(-9_007_199_254_740_993)
    );
    assert_eq!(row.get_value(2).unwrap(), Value::Real(2.5));
    assert_eq!(row.get_value(3).unwrap(), Value::Text("é".into()));
    assert_eq!(row.get_value(4).unwrap(), Value::Blob(vec![0, 255]));
    assert_eq!(row.get::<String>(5).unwrap(), "a");
    assert_eq!(row.get::<f64>(6).unwrap(), 1.5);
    assert!(rows.next().await.unwrap().is_none());
    assert_eq!(rows.column_name(5), Some("name"));

    // Transactions held across requests: commit, rollback.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .await
        .unwrap();
    tx.execute(INSERT, params!["t1", "t1", 1.0]).await.unwrap();
    assert_eq!(count(&tx, "t1").await, 1);
    tx.commit().await.unwrap();
    assert_eq!(count(&conn, "t1").await, 1);
    let tx = conn.transaction().await.unwrap();
    tx.execute(INSERT, params!["t2", "t2", 1.0]).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(count(&conn, "t2").await, 0);
    assert!(conn.is_autocommit());

    // A transactional batch: one failing statement undoes the others.
    let failed = conn
        .execute_transactional_batch(
            "INSERT INTO item (id, created_at, updated_at, name) VALUES ('b1', 'x', 'x', 'b1');
             INSERT INTO item (id, created_at, updated_at, name) VALUES ('b2', 'x', 'x', 'a');",
        )
        .await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(count(&conn, "b1").await, 0);
    conn.execute_batch(
        "INSERT INTO item (id, created_at, updated_at, name) VALUES ('b3', 'x', 'x', 'b3');
         INSERT INTO item (id, created_at, updated_at, name) VALUES ('b4', 'x', 'x', 'b4');",
    )
    .await
    .unwrap();
    assert_eq!(count(&conn, "b4").await, 1);

    // Errors carry the codes.
    let e = conn
        .execute(INSERT, params!["a", "a", 1.0])
        .await
        .unwrap_err();
    assert!(code(&e).contains("SQLITE_CONSTRAINT_UNIQUE"), "{e}");
    // The crate parses SQL itself: a syntax error never reaches the server.
    let e = conn.execute("SELEC 1", ()).await.unwrap_err();
    assert!(code(&e).contains("syntax error"), "{e}");
    // A statement that parses but fails to prepare does.
    let e = conn
        .execute("SELECT * FROM no_such_table", ())
        .await
        .unwrap_err();
    assert!(code(&e).contains("SQLITE_ERROR"), "{e}");
    let e = conn.execute("DROP TABLE item", ()).await.unwrap_err();
    assert!(code(&e).contains("SQLITE_AUTH"), "{e}");

    // A wrong key is refused.
    let stranger = connect(&app, "osk_nope").await;
    let e = stranger.execute("SELECT 1", ()).await.unwrap_err();
    assert!(code(&e).contains("401"), "{e}");

    // The client really used Hrana 3: pipelines and cursors.
    let metrics = app.admin_get("/metrics").await.text;
    for route in ["/v3/pipeline", "/v3/cursor"] {
        assert!(
            metrics.contains(&format!("route=\"{route}\",status=\"200\"")),
            "{route} not served:\n{metrics}"
        );
    }

    // The data API sees what the client wrote.
    let listed = app.get_with_key("/api/v1/data/item", &key).await;
    let names: Vec<Json> = listed.assert_success(200)["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
}
