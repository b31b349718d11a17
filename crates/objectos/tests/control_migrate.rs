//! `objectos control migrate` end to end: tenants provisioned on an embedded server, the server
//! stopped, the control store copied to PostgreSQL by the real binary, the server started on the
//! PostgreSQL control store: the tenants, their keys and domains work. And its refusals: a running
//! server, a non-empty target, a second migration, a bad URL; a server started on the moved
//! control.db refuses.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use objectos_server::app::{AppOptions, RunningApp, StartError};
use objectos_sql::testing::TestDatabase;
use serde_json::{json, Value};

const TOKEN: &str = "osa_control-migrate-test-token-0123456789";

fn options(data_dir: &Path, control_url: Option<&str>) -> AppOptions {
    let mut options = AppOptions::new(data_dir);
    options.listen = "127.0.0.1:0".parse().unwrap();
    options.shutdown_grace = Duration::from_millis(200);
    options.admin_token = Some(TOKEN.to_owned());
    options.tenant_databases.provider = "sqlite".to_owned();
    options.control.url = control_url.map(str::to_owned);
    options
}

async fn call(
    app: &RunningApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("http://{}{path}", app.addr))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn migrate(data_dir: &Path, to: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_objectos"))
        .args(["control", "migrate", "--to", to, "--data-dir"])
        .arg(data_dir)
        .env_remove("OBJECTOS_DATA_DIR")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn control_rows(db: &TestDatabase) -> i64 {
    let pool = db.pool().await;
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'objectos_control')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    if !exists {
        return 0;
    }
    sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM objectos_control.tenants) + (SELECT COUNT(*) FROM objectos_control.settings)")
        .fetch_one(&pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_control_store_moves_to_postgres_and_everything_works() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let target = TestDatabase::create().await;

    // 1. An embedded server with two tenants, a second key and a domain.
    let app = RunningApp::start(options(&data, None)).await.unwrap();
    let mut keys = Vec::new();
    for org in ["acme", "initech"] {
        let (status, body) = call(
            &app,
            reqwest::Method::POST,
            "/api/v1/tenants",
            TOKEN,
            Some(json!({"orgId": org, "plan": "pro", "region": "us-east"})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        keys.push(body["credentials"]["apiKey"].as_str().unwrap().to_owned());
    }
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/tenants/acme/keys",
        TOKEN,
        Some(json!({"scope": "read-only"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/domains",
        TOKEN,
        Some(json!({"domain": "shop.example.com", "tenantId": "acme"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let installation = std::fs::read_to_string(data.join("installation-id")).unwrap();
    let (_, before_events) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/tenants/acme/provisioning",
        TOKEN,
        None,
    )
    .await;

    // 2. Refused while the server runs: nothing is copied.
    let out = migrate(&data, &target.url);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("in use by a running objectos server; stop it first"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(control_rows(&target).await, 0);
    app.shutdown().await.unwrap();

    // 3. Offline: copied and verified.
    let out = migrate(&data, &target.url);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}{stdout}", text(&out.stderr));
    for needle in [
        "tenants          2 rows",
        "steps           10 rows",
        "api_keys         3 rows",
        "domains          1 rows",
        "(verified)",
        "objectos serve --data-dir",
        "--control-url",
    ] {
        assert!(stdout.contains(needle), "{needle:?} in {stdout}");
    }
    assert!(
        !stdout.contains(&target.url),
        "the URL given (credentials) is not echoed"
    );

    // 4. A second run is refused (control.db is marked as moved), and so is a copy of another
    //    store into the non-empty target.
    let out = migrate(&data, &target.url);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("already moved to postgres://"),
        "{}",
        text(&out.stderr)
    );
    let other = tempfile::tempdir().unwrap();
    let other_app = RunningApp::start(options(other.path(), None))
        .await
        .unwrap();
    other_app.shutdown().await.unwrap();
    let out = migrate(other.path(), &target.url);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("the control store is not empty"),
        "{}",
        text(&out.stderr)
    );

    // 5. The moved control.db is not served again by mistake.
    match RunningApp::start(options(&data, None)).await {
        Ok(_) => panic!("started on the moved control.db"),
        Err(e) => {
            assert!(matches!(e, StartError::ControlStoreMoved { .. }), "{e}");
            assert!(e.to_string().contains("--control-url"), "{e}");
        }
    }

    // 6. On the PostgreSQL control store: the same tenants, keys, domains and history.
    let app = RunningApp::start(options(&data, Some(&target.url)))
        .await
        .unwrap();
    let (status, list) = call(&app, reqwest::Method::GET, "/api/v1/tenants", TOKEN, None).await;
    assert_eq!(status, 200);
    assert_eq!(list["meta"]["total"], 2, "{list}");
    for (tenant, key) in ["acme", "initech"].iter().zip(&keys) {
        let (status, body) = call(
            &app,
            reqwest::Method::GET,
            &format!("/api/v1/tenants/{tenant}"),
            key,
            None,
        )
        .await;
        assert_eq!(status, 200, "{tenant}: {body}");
        assert!(body.to_string().contains("\"active\""), "{body}");
    }
    let (status, _) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/tenants/acme",
        &keys[1],
        None,
    )
    .await;
    assert_eq!(status, 403, "initech's key still does not open acme");
    let (_, domains) = call(&app, reqwest::Method::GET, "/api/v1/domains", TOKEN, None).await;
    assert_eq!(
        domains["data"][0]["domain"], "shop.example.com",
        "{domains}"
    );
    let (_, after_events) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/tenants/acme/provisioning",
        TOKEN,
        None,
    )
    .await;
    assert_eq!(after_events["data"], before_events["data"]);
    assert_eq!(
        std::fs::read_to_string(data.join("installation-id")).unwrap(),
        installation,
        "same installation"
    );
    // New work is recorded in PostgreSQL.
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/tenants",
        TOKEN,
        Some(json!({"orgId": "globex", "plan": "free", "region": "us-east"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    app.shutdown().await.unwrap();
    let pool = target.pool().await;
    let tenants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM objectos_control.tenants")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tenants, 3);
}

#[test]
fn bad_arguments_are_refused_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = migrate(dir.path(), "mysql://h/db");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--to must be a postgres:// URL"));
    let out = migrate(dir.path(), "postgres://postgres@127.0.0.1:5432/postgres");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no embedded control store here"),
        "{}",
        text(&out.stderr)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_objectos"))
        .args(["control", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(text(&out.stderr).contains("--to"), "{}", text(&out.stderr));
}
