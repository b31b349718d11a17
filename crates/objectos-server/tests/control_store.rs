//! The control store on PostgreSQL at start-up: a lost (emptied) store never makes tenant
//! databases look like orphans, a bad or unreachable URL is a clear start error, and the data dir
//! stays locked to one server. (The suites run on a PostgreSQL control store as a whole with
//! `OBJECTOS_TEST_CONTROL=postgres`.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

mod common;

use std::time::Duration;

use common::*;
use objectos_server::app::{AppOptions, RunningApp, StartError};
use objectos_sql::testing::TestDatabase;
use serde_json::Value;

/// Options over `dir/data` with the control store in `control` and an admin token.
fn options(dir: &tempfile::TempDir, control: &TestDatabase) -> AppOptions {
    let mut options = AppOptions::new(dir.path().join("data"));
    options.listen = "127.0.0.1:0".parse().unwrap();
    options.shutdown_grace = Duration::from_millis(200);
    options.admin_token = Some("osa_control-store-test-token-0123456789".to_owned());
    options.control.url = Some(control.url.clone());
    options.control.max_connections = 4;
    options
}

/// Provisions `org` over HTTP; returns the response body.
async fn provision(app: &RunningApp, org: &str) -> Value {
    let res = reqwest::Client::new()
        .post(format!("http://{}/api/v1/tenants", app.addr))
        .bearer_auth("osa_control-store-test-token-0123456789")
        .json(&provisioning_request(org, "pro"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn drop_control_schema(control: &TestDatabase) {
    let pool = control.pool().await;
    sqlx::query("DROP SCHEMA objectos_control CASCADE")
        .execute(&pool)
        .await
        .unwrap();
}

async fn refused(options: AppOptions) -> StartError {
    match RunningApp::start(options).await {
        Ok(_) => panic!("the server started"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn an_emptied_postgres_control_store_with_tenant_files_refuses_to_start() {
    let control = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&dir, &control);
    opts.tenant_databases.provider = "sqlite".to_owned();
    let app = RunningApp::start(opts.clone()).await.unwrap();
    provision(&app, "acme").await;
    provision(&app, "initech").await;
    app.shutdown().await.unwrap();

    drop_control_schema(&control).await;
    let error = refused(opts.clone()).await;
    assert!(
        matches!(error, StartError::ControlStoreLost { .. }),
        "{error}"
    );
    let message = error.to_string();
    for needle in [
        &format!("postgres://127.0.0.1:5432/{}", control.name),
        "acme.db",
        "initech.db",
        "Refusing to start",
        "restore the control store (schema objectos_control",
    ] {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }
    let tenants = dir.path().join("data/tenants");
    for name in ["acme.db", "initech.db"] {
        assert!(tenants.join(name).is_file(), "{name} kept");
    }
    assert!(!tenants.join("quarantine").exists());
}

#[tokio::test]
async fn an_emptied_postgres_control_store_with_postgres_tenants_refuses_to_start() {
    // The tenants' schemas are marked with the installation id, which was in the lost store: the
    // data dir's copy of it is what still finds them.
    let control = TestDatabase::create().await;
    let tenants = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&dir, &control);
    opts.tenant_databases.provider = "postgres".to_owned();
    opts.tenant_databases.postgres.url = tenants.url.clone();
    opts.tenant_databases.postgres.max_connections = 4;
    let app = RunningApp::start(opts.clone()).await.unwrap();
    provision(&app, "acme").await;
    app.shutdown().await.unwrap();
    let id = std::fs::read_to_string(dir.path().join("data/installation-id")).unwrap();
    assert!(id.trim().starts_with("os-"), "{id}");

    drop_control_schema(&control).await;
    let error = refused(opts.clone()).await;
    assert!(
        matches!(error, StartError::ControlStoreLost { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("Refusing to start"), "{error}");
    let pool = tenants.pool().await;
    let schemas: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_namespace WHERE obj_description(oid, 'pg_namespace') LIKE 'objectos tenant acme%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(schemas, 1, "the tenant's schema is untouched");
}

#[tokio::test]
async fn a_bad_or_unreachable_control_url_is_a_clear_start_error() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (url, needles) in [
        (
            format!("postgres://objectos:s3cret@127.0.0.1:{port}/control"),
            vec![
                "cannot open the control store".to_owned(),
                format!("postgres://127.0.0.1:{port}/control"),
                "is the PostgreSQL server running".to_owned(),
            ],
        ),
        (
            "postgres://objectos:s3cret@127.0.0.1:notaport/control".to_owned(),
            vec!["cannot open the control store".to_owned()],
        ),
    ] {
        let mut opts = AppOptions::new(dir.path().join("data"));
        opts.listen = "127.0.0.1:0".parse().unwrap();
        opts.control.url = Some(url.clone());
        opts.control.acquire_timeout = Duration::from_millis(500);
        let error = refused(opts).await;
        assert!(matches!(error, StartError::ControlStore { .. }), "{error}");
        let message = error.to_string();
        for needle in needles {
            assert!(message.contains(&needle), "{url}: {needle:?} in {message}");
        }
        assert!(!message.contains("s3cret"), "{message}");
    }
    assert!(
        !dir.path().join("data/admin-token").exists(),
        "nothing is written before the control store opens"
    );
}

#[tokio::test]
async fn one_server_per_data_dir_with_a_postgres_control_store_too() {
    let control = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&dir, &control);
    let app = RunningApp::start(opts.clone()).await.unwrap();
    let error = refused(opts.clone()).await;
    assert!(matches!(error, StartError::InUse(_)), "{error}");
    app.shutdown().await.unwrap();
    let again = RunningApp::start(opts).await.unwrap();
    again.shutdown().await.unwrap();
}

#[tokio::test]
async fn tenants_and_keys_survive_a_restart_on_a_postgres_control_store() {
    let control = TestDatabase::create().await;
    let app = TestApp::new()
        .with(|o| o.control.url = Some(control.url.clone()))
        .start()
        .await;
    assert_eq!(app.control(), "postgres");
    let (id, key) = app.active_tenant("acme", "pro").await;
    let app = app.restart().await;
    assert_eq!(app.status(&id).await, "active");
    app.get_with_key(&format!("/api/v1/tenants/{id}"), &key)
        .await
        .assert_success(200);
    assert!(
        !app.data_dir().join("control.db").exists(),
        "no embedded store is made beside a PostgreSQL one"
    );
}
