//! The Hrana (libSQL) endpoint over HTTP, driven with raw JSON: the wire format of values,
//! results and errors; execute, batch conditions, sequence, describe, stored SQL, autocommit,
//! cursor; baton streams holding transactions across requests, their timeouts and bounds;
//! authentication, read-only keys, refused DDL and system-table writes; request bounds; and the
//! documented refusal on the `postgres` provider. Real clients are driven in
//! `crates/objectos/tests/interop.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Res, TestApp, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

fn bundle(objects: Vec<Value>) -> Value {
    let names: Vec<Value> = objects.iter().map(|o| o["name"].clone()).collect();
    json!({"manifest": {"version": "1.0.0", "objects": names}, "objects": objects, "seedData": []})
}

fn note() -> Value {
    json!({"name": "note", "fields": {
        "title": {"type": "text", "required": true, "unique": true},
        "n": {"type": "number"}
    }})
}

/// An active tenant with `note` deployed: (tenant id, full-access key).
async fn tenant(app: &TestServer, org: &str) -> (String, String) {
    let (id, key) = app.active_tenant(org, "pro").await;
    app.admin_post(
        &format!("/api/v1/tenants/{id}/deployments"),
        json!({"bundle": bundle(vec![note()])}),
    )
    .await
    .assert_success(201);
    (id, key)
}

async fn post(app: &TestServer, path: &str, key: &str, body: Value) -> Res {
    app.send(app.keyed(Method::POST, path, key).json(&body))
        .await
}

async fn pipe(app: &TestServer, key: &str, version: &str, body: Value) -> Res {
    post(app, &format!("/{version}/pipeline"), key, body).await
}

fn exec(sql: &str) -> Value {
    json!({"type": "execute", "stmt": {"sql": sql}})
}

fn exec_args(sql: &str, args: Value) -> Value {
    json!({"type": "execute", "stmt": {"sql": sql, "args": args}})
}

fn insert_note(title: &str) -> Value {
    exec_args(
        "INSERT INTO note (id, created_at, updated_at, title, n) VALUES (?, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', ?, ?)",
        json!([{"type": "text", "value": format!("id-{title}")}, {"type": "text", "value": title}, {"type": "float", "value": 1}]),
    )
}

/// The `i`th result, which must be ok: its `response`.
fn ok(res: &Res, i: usize) -> &Value {
    let r = &res.body["results"][i];
    assert_eq!(r["type"], "ok", "result {i}: {:#}", res.body);
    &r["response"]
}

/// The `i`th result, which must be an error: its code.
fn err_code(res: &Res, i: usize) -> String {
    let r = &res.body["results"][i];
    assert_eq!(r["type"], "error", "result {i}: {:#}", res.body);
    assert!(r["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    r["error"]["code"].as_str().unwrap().to_owned()
}

/// The tenant id of org `globex`.
const GLOBEX: &str = "globex";

fn sqlite_only() -> bool {
    common::provider() != "postgres"
}

#[tokio::test]
async fn values_results_and_errors_have_the_wire_format() {
    if !sqlite_only() {
        return;
    }
    let app = TestApp::new().start().await;
    let (_, key) = tenant(&app, "acme").await;
    for version in ["v2", "v3"] {
        let res = pipe(&app, &key, version, json!({"baton": null, "requests": [
            exec_args("SELECT NULL AS a, ? AS b, 1.5 AS c, 'é' AS d, X'0001FF' AS e, ? AS f",
                json!([{"type": "integer", "value": "-9007199254740993"}, {"type": "blob", "base64": "AAEC/w=="}])),
            {"type": "close"}
        ]})).await;
        res.assert_status(200);
        assert!(res.body["baton"].is_null(), "closed: {:#}", res.body);
        assert!(res.body["base_url"].is_null());
        let result = &ok(&res, 0)["result"];
        assert_eq!(ok(&res, 0)["type"], "execute");
        assert_eq!(
            result["rows"],
            json!([[{"type": "null"}, {"type": "integer", "value": "-9007199254740993"},
                    {"type": "float", "value": 1.5}, {"type": "text", "value": "é"},
                    {"type": "blob", "base64": "AAH/"}, {"type": "blob", "base64": "AAEC/w"}]])
        );
        assert_eq!(result["cols"][0], json!({"name": "a", "decltype": null}));
        assert_eq!(result["affected_row_count"], 0);
        assert!(result["last_insert_rowid"].is_string());
        assert_eq!(result["rows_read"], 1);
        assert!(result["query_duration_ms"].is_number());
        assert_eq!(ok(&res, 1), &json!({"type": "close"}));
    }

    // Inserts, named arguments with and without prefix, declared types, errors with codes.
    let res = pipe(&app, &key, "v2", json!({"requests": [
        insert_note("one"),
        insert_note("one"),
        exec("SELEC 1"),
        exec("SELECT 1; SELECT 2"),
        exec("  -- nothing\n"),
        exec_args("SELECT ?", json!([{"type": "null"}, {"type": "null"}])),
        {"type": "execute", "stmt": {"sql": "SELECT title, n FROM note WHERE title = :t AND n = @n",
            "named_args": [{"name": "t", "value": {"type": "text", "value": "one"}},
                           {"name": "@n", "value": {"type": "float", "value": 1.0}}]}},
        {"type": "execute", "stmt": {"sql": "SELECT :x", "named_args": [{"name": "y", "value": {"type": "null"}}]}},
        exec("SELECT * FROM nope"),
        {"type": "execute", "stmt": {"sql": "SELECT 1", "sql_id": 3}},
        {"type": "execute", "stmt": {"sql_id": 99}},
        {"type": "execute", "stmt": {"sql": "UPDATE note SET n = 2", "want_rows": false}},
        {"type": "close"}
    ]})).await;
    res.assert_status(200);
    let inserted = &ok(&res, 0)["result"];
    assert_eq!(inserted["affected_row_count"], 1);
    assert_eq!(inserted["rows_written"], 1);
    assert_eq!(err_code(&res, 1), "SQLITE_CONSTRAINT_UNIQUE");
    assert_eq!(err_code(&res, 2), "SQL_PARSE_ERROR");
    assert_eq!(err_code(&res, 3), "SQL_MANY_STATEMENTS");
    assert_eq!(err_code(&res, 4), "SQL_NO_STATEMENT");
    assert_eq!(err_code(&res, 5), "ARGS_INVALID");
    let named = &ok(&res, 6)["result"];
    assert_eq!(
        named["rows"],
        json!([[{"type": "text", "value": "one"}, {"type": "float", "value": 1.0}]])
    );
    assert_eq!(named["cols"][0]["decltype"], "TEXT");
    assert_eq!(err_code(&res, 7), "ARGS_INVALID");
    assert_eq!(err_code(&res, 8), "SQLITE_ERROR");
    assert_eq!(err_code(&res, 9), "PROTOCOL_ERROR");
    assert_eq!(err_code(&res, 10), "SQL_NOT_FOUND");
    assert_eq!(ok(&res, 11)["result"]["affected_row_count"], 1);
    assert_eq!(ok(&res, 11)["result"]["rows"], json!([]));

    // The data API sees the row written through Hrana.
    let listed = app.get_with_key("/api/v1/data/note", &key).await;
    let rows = listed.assert_success(200).clone();
    assert_eq!(
        rows["records"].as_array().map(Vec::len),
        Some(1),
        "{rows:#}"
    );
    assert_eq!(rows["records"][0]["title"], "one");
    assert_eq!(rows["records"][0]["n"].as_f64(), Some(2.0));
}

#[tokio::test]
async fn batches_sequences_describe_stored_sql_and_autocommit() {
    if !sqlite_only() {
        return;
    }
    let app = TestApp::new().start().await;
    let (_, key) = tenant(&app, "acme").await;
    let step = |sql: &str, cond: Value| json!({"condition": cond, "stmt": {"sql": sql}});
    let res = pipe(&app, &key, "v3", json!({"requests": [
        {"type": "store_sql", "sql_id": 1, "sql": "INSERT INTO note (id, created_at, updated_at, title) VALUES ('b1', 'x', 'x', 'b1')"},
        {"type": "batch", "batch": {"steps": [
            step("BEGIN", Value::Null),
            {"condition": {"type": "ok", "step": 0}, "stmt": {"sql_id": 1}},
            step("INSERT INTO note (id, created_at, updated_at, title) VALUES ('b1', 'x', 'x', 'b1')", json!({"type": "ok", "step": 1})),
            step("COMMIT", json!({"type": "ok", "step": 2})),
            step("ROLLBACK", json!({"type": "not", "cond": {"type": "ok", "step": 3}})),
            step("SELECT 'and'", json!({"type": "and", "conds": [{"type": "error", "step": 2}, {"type": "ok", "step": 4}]})),
            step("SELECT 'or'", json!({"type": "or", "conds": [{"type": "ok", "step": 3}, {"type": "is_autocommit"}]})),
            step("SELECT 'skipped'", json!({"type": "ok", "step": 3})),
        ]}},
        {"type": "get_autocommit"},
        {"type": "sequence", "sql": "BEGIN; INSERT INTO note (id, created_at, updated_at, title) VALUES ('s1', 'x', 'x', 's1'); SELECT 1;"},
        {"type": "get_autocommit"},
        {"type": "sequence", "sql": "COMMIT"},
        {"type": "describe", "sql": "SELECT title, n FROM note WHERE id = :id AND n > ?2"},
        {"type": "describe", "sql": "DELETE FROM note"},
        {"type": "close_sql", "sql_id": 1},
        {"type": "execute", "stmt": {"sql_id": 1}},
        {"type": "batch", "batch": {"steps": [step("SELECT 1", json!({"type": "ok", "step": 0}))]}},
        {"type": "sequence", "sql": "INSERT INTO note (id, created_at, updated_at, title) VALUES ('s2', 'x', 'x', 's1'); SELECT 'not reached'"},
    ]})).await;
    res.assert_status(200);
    assert!(res.body["baton"].is_string(), "left open: {:#}", res.body);
    assert_eq!(ok(&res, 0), &json!({"type": "store_sql"}));
    let batch = &ok(&res, 1)["result"];
    let results = batch["step_results"].as_array().unwrap();
    let errors = batch["step_errors"].as_array().unwrap();
    assert_eq!((results.len(), errors.len()), (8, 8));
    assert!(results[0].is_object() && results[1].is_object());
    assert!(results[2].is_null());
    assert_eq!(errors[2]["code"], "SQLITE_CONSTRAINT_UNIQUE");
    assert!(
        results[3].is_null() && errors[3].is_null(),
        "COMMIT skipped"
    );
    assert!(results[4].is_object(), "ROLLBACK ran");
    assert!(
        results[5].is_object(),
        "and: step 2 failed and step 4 succeeded"
    );
    assert!(results[6].is_object(), "or: autocommit after the rollback");
    assert!(results[7].is_null() && errors[7].is_null());
    assert_eq!(
        ok(&res, 2),
        &json!({"type": "get_autocommit", "is_autocommit": true})
    );
    assert_eq!(ok(&res, 3), &json!({"type": "sequence"}));
    assert_eq!(
        ok(&res, 4),
        &json!({"type": "get_autocommit", "is_autocommit": false})
    );
    assert_eq!(ok(&res, 5), &json!({"type": "sequence"}));
    let described = &ok(&res, 6)["result"];
    assert_eq!(
        described["params"],
        json!([{"name": ":id"}, {"name": "?2"}])
    );
    assert_eq!(
        described["cols"],
        json!([{"name": "title", "decltype": "TEXT"}, {"name": "n", "decltype": "REAL"}])
    );
    assert_eq!(described["is_explain"], false);
    assert_eq!(described["is_readonly"], true);
    assert_eq!(ok(&res, 7)["result"]["is_readonly"], false);
    assert_eq!(ok(&res, 8), &json!({"type": "close_sql"}));
    assert_eq!(err_code(&res, 9), "SQL_NOT_FOUND");
    assert_eq!(
        err_code(&res, 10),
        "PROTOCOL_ERROR",
        "a condition on itself"
    );
    assert_eq!(err_code(&res, 11), "SQLITE_CONSTRAINT_UNIQUE");
    // The rolled-back batch left nothing; the sequence's transaction committed s1 only.
    assert_eq!(app.count_rows("acme", "note").await, 1);

    // v2 has no get_autocommit and no is_autocommit condition.
    let res = pipe(&app, &key, "v2", json!({"requests": [
        {"type": "get_autocommit"},
        {"type": "batch", "batch": {"steps": [step("SELECT 1", json!({"type": "is_autocommit"}))]}},
        {"type": "close"}
    ]})).await;
    assert_eq!(err_code(&res, 0), "PROTOCOL_ERROR");
    assert_eq!(err_code(&res, 1), "PROTOCOL_ERROR");
}

#[tokio::test]
async fn the_cursor_streams_steps_as_json_lines() {
    if !sqlite_only() {
        return;
    }
    let app = TestApp::new().start().await;
    let (_, key) = tenant(&app, "acme").await;
    let res = post(
        &app,
        "/v3/cursor",
        &key,
        json!({"baton": null, "batch": {"steps": [
            {"stmt": {"sql": "SELECT 1 AS x UNION ALL SELECT 2"}},
            {"stmt": {"sql": "SELEC"}},
            {"condition": {"type": "ok", "step": 1}, "stmt": {"sql": "SELECT 3"}},
        ]}}),
    )
    .await;
    res.assert_status(200);
    assert!(res.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let lines: Vec<Value> = res
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let baton = lines[0]["baton"].as_str().unwrap().to_owned();
    assert!(lines[0]["base_url"].is_null());
    assert_eq!(
        lines[1],
        json!({"type": "step_begin", "step": 0, "cols": [{"name": "x", "decltype": null}]})
    );
    assert_eq!(
        lines[2],
        json!({"type": "row", "row": [{"type": "integer", "value": "1"}]})
    );
    assert_eq!(
        lines[3],
        json!({"type": "row", "row": [{"type": "integer", "value": "2"}]})
    );
    assert_eq!(lines[4]["type"], "step_end");
    assert_eq!(lines[4]["affected_row_count"], 0);
    assert_eq!(lines[5]["type"], "step_error");
    assert_eq!(lines[5]["step"], 1);
    assert_eq!(lines[5]["error"]["code"], "SQL_PARSE_ERROR");
    assert_eq!(lines.len(), 6);
    // The cursor's stream goes on with its baton; then closes.
    let res = pipe(
        &app,
        &key,
        "v3",
        json!({"baton": baton, "requests": [exec("SELECT 1"), {"type": "close"}]}),
    )
    .await;
    ok(&res, 1);
    assert!(res.body["baton"].is_null());
}

#[tokio::test]
async fn batons_hold_a_transaction_across_requests_and_are_single_use() {
    if !sqlite_only() {
        return;
    }
    let app = TestApp::new().start().await;
    let (_, key) = tenant(&app, "acme").await;
    let (_, other_key) = tenant(&app, "globex").await;
    let res = pipe(&app, &key, "v3", json!({"requests": [exec("BEGIN IMMEDIATE"), insert_note("tx"), {"type": "get_autocommit"}]})).await;
    assert_eq!(ok(&res, 2)["is_autocommit"], false);
    let baton = res.body["baton"].as_str().unwrap().to_owned();

    if common::provider() == "sqlite" {
        // Another stream does not see the uncommitted row (its own connection, WAL snapshot).
        let other = pipe(
            &app,
            &key,
            "v3",
            json!({"requests": [exec("SELECT COUNT(*) FROM note"), {"type": "close"}]}),
        )
        .await;
        assert_eq!(ok(&other, 0)["result"]["rows"][0][0]["value"], "0");
    }
    // Another tenant's key cannot use the baton; neither can garbage.
    let stolen = pipe(
        &app,
        &other_key,
        "v3",
        json!({"baton": baton, "requests": [exec("SELECT 1")]}),
    )
    .await;
    assert_eq!(stolen.status, 400);
    assert_eq!(stolen.body["code"], "BATON_INVALID");
    for garbage in ["nope", "1.00000000000000000000000000000000", ""] {
        let res = pipe(&app, &key, "v3", json!({"baton": garbage, "requests": []})).await;
        assert_eq!(res.status, 400, "{garbage}");
        assert_eq!(res.body["code"], "BATON_INVALID");
    }

    let res = pipe(&app, &key, "v3", json!({"baton": baton, "requests": [exec("SELECT COUNT(*) FROM note"), exec("COMMIT"), {"type": "get_autocommit"}]})).await;
    assert_eq!(ok(&res, 0)["result"]["rows"][0][0]["value"], "1");
    assert_eq!(ok(&res, 2)["is_autocommit"], true);
    let next = res.body["baton"].as_str().unwrap().to_owned();
    assert_ne!(next, baton);
    // The old baton was good for one request only.
    let reused = pipe(
        &app,
        &key,
        "v3",
        json!({"baton": baton, "requests": [exec("SELECT 1")]}),
    )
    .await;
    assert_eq!(reused.status, 400);
    assert_eq!(reused.body["code"], "BATON_INVALID");
    assert!(reused.body["message"]
        .as_str()
        .unwrap()
        .contains("already been used"));
    let closed = pipe(
        &app,
        &key,
        "v3",
        json!({"baton": next, "requests": [{"type": "close"}, exec("SELECT 1")]}),
    )
    .await;
    assert!(closed.body["baton"].is_null());
    assert_eq!(err_code(&closed, 1), "STREAM_CLOSED");
    assert_eq!(app.count_rows("acme", "note").await, 1);
}

#[tokio::test]
async fn a_held_transaction_times_out_and_never_blocks_the_data_api() {
    if !sqlite_only() {
        return;
    }
    let app = TestApp::new()
        .with(|o| {
            o.settings.hrana.limits.transaction_timeout = Duration::from_millis(500);
            o.settings.hrana.limits.idle_timeout = Duration::from_millis(1500);
        })
        .start()
        .await;
    let (_, key) = tenant(&app, "acme").await;
    let res = pipe(
        &app,
        &key,
        "v3",
        json!({"requests": [exec("BEGIN IMMEDIATE"), insert_note("held")]}),
    )
    .await;
    ok(&res, 1);
    let baton = res.body["baton"].as_str().unwrap().to_owned();
    // The data API's write waits for the lock, which the timeout releases (rolling back).
    let started = Instant::now();
    let created = app
        .post_with_key("/api/v1/data/note", &key, json!({"title": "via-api"}))
        .await;
    created.assert_success(201);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let expired = pipe(
        &app,
        &key,
        "v3",
        json!({"baton": baton, "requests": [exec("COMMIT")]}),
    )
    .await;
    assert_eq!(expired.status, 400);
    assert_eq!(expired.body["code"], "STREAM_EXPIRED");
    let listed = app.get_with_key("/api/v1/data/note", &key).await;
    let titles: Vec<&str> = listed.body["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["via-api"], "the held insert was rolled back");

    // An idle stream outside a transaction expires after the idle timeout.
    let res = pipe(&app, &key, "v3", json!({"requests": [exec("SELECT 1")]})).await;
    let baton = res.body["baton"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let alive = pipe(
        &app,
        &key,
        "v3",
        json!({"baton": baton, "requests": [exec("SELECT 1")]}),
    )
    .await;
    let baton = alive.body["baton"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let expired = pipe(
        &app,
        &key,
        "v3",
        json!({"baton": baton, "requests": [exec("SELECT 1")]}),
    )
    .await;
    assert_eq!(expired.status, 400);
    assert_eq!(expired.body["code"], "STREAM_EXPIRED");
}

#[tokio::test]
async fn open_streams_are_bounded_per_tenant_and_in_all() {
    if !sqlite_only() {
        return;
    }
    let app = TestApp::new()
        .with(|o| {
            o.settings.hrana.limits.max_streams_per_tenant = 2;
            o.settings.hrana.limits.max_streams = 3;
        })
        .start()
        .await;
    let (_, a) = tenant(&app, "acme").await;
    let (_, b) = tenant(&app, "globex").await;
    let open = |key: String| {
        let app = &app;
        async move { pipe(app, &key, "v3", json!({"requests": [exec("SELECT 1")]})).await }
    };
    let first = open(a.clone()).await;
    open(a.clone()).await.assert_status(200);
    let refused = open(a.clone()).await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.body["code"], "STREAMS_EXHAUSTED");
    assert!(refused.body["message"].as_str().unwrap().contains("tenant"));
    assert_eq!(refused.headers["retry-after"], "1");
    open(b.clone()).await.assert_status(200);
    let refused = open(b.clone()).await;
    assert_eq!(refused.status, 503);
    assert!(refused.body["message"].as_str().unwrap().contains("server"));
    // Closing one frees a place; a one-shot request (ending with close) needs a place only
    // while it runs.
    let baton = first.body["baton"].as_str().unwrap();
    pipe(
        &app,
        &a,
        "v3",
        json!({"baton": baton, "requests": [{"type": "close"}]}),
    )
    .await
    .assert_status(200);
    let one_shot = pipe(
        &app,
        &b,
        "v3",
        json!({"requests": [exec("SELECT 1"), {"type": "close"}]}),
    )
    .await;
    one_shot.assert_status(200);
    open(b).await.assert_status(200);
}

#[tokio::test]
async fn keys_scopes_ddl_and_system_tables() {
    if !sqlite_only() {
        return;
    }
    let app = TestApp::new()
        .with(|o| {
            o.settings.hrana.ddl_tenants.insert(GLOBEX.to_owned());
        })
        .start()
        .await;
    let (id, key) = tenant(&app, "acme").await;
    let (globex, globex_key) = tenant(&app, "globex").await;
    assert_eq!(globex, GLOBEX);
    let body = json!({"requests": [exec("SELECT 1"), {"type": "close"}]});

    let anonymous = app
        .send(app.request(Method::POST, "/v2/pipeline").json(&body))
        .await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.body["code"], "UNAUTHORIZED");
    assert!(anonymous.body["message"].is_string());
    let wrong = pipe(&app, "osk_nope", "v2", body.clone()).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body["code"], "UNAUTHORIZED");

    // The path-prefixed form reaches the key's own tenant only.
    let prefixed = post(&app, &format!("/t/{id}/v2/pipeline"), &key, body.clone()).await;
    ok(&prefixed, 0);
    let other = post(
        &app,
        &format!("/t/{globex}/v2/pipeline"),
        &key,
        body.clone(),
    )
    .await;
    assert_eq!(other.status, 403);
    assert_eq!(other.body["code"], "FORBIDDEN");

    // Writes, DDL and objectos' own tables.
    let res = pipe(
        &app,
        &key,
        "v2",
        json!({"requests": [
            exec("CREATE TABLE t (a)"),
            exec("DROP TABLE note"),
            exec("ALTER TABLE note ADD COLUMN x"),
            exec("CREATE INDEX i ON note (n)"),
            exec("INSERT INTO _objectos_meta (key, value) VALUES ('x', 'y')"),
            exec("UPDATE _objectos_deployments SET status = 'x'"),
            exec("DELETE FROM _objectos_metadata"),
            exec("ATTACH DATABASE '/tmp/objectos-hrana-attach.db' AS a"),
            exec("PRAGMA foreign_keys = OFF"),
            exec("VACUUM"),
            exec("SELECT COUNT(*) FROM _objectos_deployments"),
            {"type": "close"}
        ]}),
    )
    .await;
    for i in 0..10 {
        assert_eq!(err_code(&res, i), "SQLITE_AUTH", "request {i}");
    }
    assert_eq!(ok(&res, 10)["result"]["rows"][0][0]["value"], "1");
    assert!(!std::path::Path::new("/tmp/objectos-hrana-attach.db").exists());

    // A tenant allowed DDL creates its own tables, never touches the system tables.
    let res = pipe(
        &app,
        &globex_key,
        "v2",
        json!({"requests": [
            exec("CREATE TABLE scratch (a INTEGER)"),
            exec("INSERT INTO scratch VALUES (1)"),
            exec("DROP TABLE _objectos_meta"),
            exec("CREATE TRIGGER tr AFTER INSERT ON scratch BEGIN SELECT 1; END"),
            exec("DROP TABLE scratch"),
            {"type": "close"}
        ]}),
    )
    .await;
    ok(&res, 0);
    ok(&res, 1);
    assert_eq!(err_code(&res, 2), "SQLITE_AUTH");
    assert_eq!(err_code(&res, 3), "SQLITE_AUTH");
    ok(&res, 4);

    // A read-only key reads and cannot write, even by switching query_only off.
    let created = app
        .admin_post(
            &format!("/api/v1/tenants/{id}/keys"),
            json!({"scope": "read-only"}),
        )
        .await;
    let ro = created.assert_success(201)["apiKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = pipe(
        &app,
        &ro,
        "v3",
        json!({"requests": [
            exec("SELECT COUNT(*) FROM note"),
            insert_note("ro"),
            exec("PRAGMA query_only = 0"),
            insert_note("ro"),
            exec("BEGIN"),
            exec("DELETE FROM note"),
            exec("ROLLBACK"),
            {"type": "close"}
        ]}),
    )
    .await;
    ok(&res, 0);
    assert_eq!(err_code(&res, 1), "SQLITE_AUTH");
    assert_eq!(err_code(&res, 2), "SQLITE_AUTH");
    assert_eq!(err_code(&res, 3), "SQLITE_AUTH");
    ok(&res, 4);
    assert_eq!(err_code(&res, 5), "SQLITE_AUTH");
    ok(&res, 6);

    // A suspended tenant is refused as by the data API.
    app.admin_post_empty(&format!("/api/v1/tenants/{id}/suspend"))
        .await
        .assert_status(200);
    let api = app.get_with_key("/api/v1/data/note", &key).await;
    let res = pipe(
        &app,
        &key,
        "v2",
        json!({"requests": [exec("SELECT 1"), {"type": "close"}]}),
    )
    .await;
    assert_eq!(res.status, api.status);
    assert_eq!(res.status, 403);
    assert_eq!(res.body["code"], "TENANT_SUSPENDED");
}

#[tokio::test]
async fn probes_protobuf_and_request_bounds() {
    let app = TestApp::new()
        .with(|o| {
            o.settings.hrana.body_limit = 2048;
            o.settings.hrana.limits.max_requests = 3;
            o.settings.hrana.limits.max_rows = 5;
        })
        .start()
        .await;
    for (path, version) in [("/v2", "v2"), ("/v3", "v3"), ("/t/acme/v3", "v3")] {
        let res = app.send(app.request(Method::GET, path)).await;
        res.assert_status(200);
        assert!(
            res.text.contains(&format!("HTTP API {version}")),
            "{}",
            res.text
        );
    }
    // Protobuf is not served: its probe is a 404, so clients fall back to JSON.
    for (method, path) in [
        (Method::GET, "/v3-protobuf"),
        (Method::POST, "/v3-protobuf/pipeline"),
        (Method::GET, "/t/acme/v3-protobuf"),
    ] {
        let res = app.send(app.request(method, path)).await;
        assert_eq!(res.status, 404, "{path}");
    }
    let (_, key) = tenant(&app, "acme").await;
    if !sqlite_only() {
        // PostgreSQL tenant databases cannot serve SQLite SQL: a documented refusal.
        let res = pipe(&app, &key, "v2", json!({"requests": [exec("SELECT 1")]})).await;
        assert_eq!(res.status, 501);
        assert_eq!(res.body["code"], "HRANA_NOT_SUPPORTED");
        assert!(res.body["message"].as_str().unwrap().contains("postgres"));
        return;
    }
    let big = "x".repeat(4096);
    let res = pipe(
        &app,
        &key,
        "v2",
        json!({"requests": [exec(&format!("SELECT '{big}'"))]}),
    )
    .await;
    assert_eq!(res.status, 413);
    assert_eq!(res.body["code"], "PAYLOAD_TOO_LARGE");
    let res = pipe(&app, &key, "v2", json!({"requests": [exec("SELECT 1"), exec("SELECT 1"), exec("SELECT 1"), exec("SELECT 1")]})).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.body["code"], "LIMIT_EXCEEDED");
    for bad in [
        json!({"requests": [{"type": "bogus"}]}),
        json!({"requests": 1}),
        json!([1]),
    ] {
        let res = pipe(&app, &key, "v2", bad.clone()).await;
        assert_eq!(res.status, 400, "{bad}");
        assert_eq!(res.body["code"], "PROTOCOL_ERROR");
    }
    let res = app
        .send(
            app.keyed(Method::POST, "/v2/pipeline", &key)
                .body("{not json"),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.body["code"], "PROTOCOL_ERROR");
    let res = pipe(&app, &key, "v2", json!({"requests": [
        exec("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10) SELECT i FROM c"),
        exec("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10) SELECT i FROM c"),
        {"type": "close"}
    ]})).await;
    assert_eq!(err_code(&res, 0), "RESPONSE_TOO_LARGE");
    assert_eq!(err_code(&res, 1), "RESPONSE_TOO_LARGE");
}

#[tokio::test]
async fn a_runaway_statement_is_interrupted_and_the_stream_goes_on() {
    if !sqlite_only() {
        return;
    }
    let app = TestApp::new()
        .with(|o| o.settings.hrana.limits.request_timeout = Duration::from_millis(300))
        .start()
        .await;
    let (_, key) = tenant(&app, "acme").await;
    let started = Instant::now();
    let res = pipe(&app, &key, "v3", json!({"requests": [
        exec("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT COUNT(*) FROM c"),
    ]})).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err_code(&res, 0), "SQLITE_INTERRUPT");
    let baton = res.body["baton"].as_str().unwrap().to_owned();
    let res = pipe(
        &app,
        &key,
        "v3",
        json!({"baton": baton, "requests": [exec("SELECT 1"), {"type": "close"}]}),
    )
    .await;
    ok(&res, 0);
    // The data API is unaffected (on memory, the tenant's connection was handed back).
    app.get_with_key("/api/v1/data/note", &key)
        .await
        .assert_success(200);
}
