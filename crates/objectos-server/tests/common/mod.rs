//! Shared harness of the control-plane integration tests: a real server on `127.0.0.1:0` over a
//! fresh data dir (real SQLite files), driven over HTTP with `reqwest`.
//!
//! The tenant databases come from the provider named by `OBJECTOS_TEST_TENANT_PROVIDER`:
//! `sqlite` (default), `memory`, or `postgres` (each server gets a throw-away database on the
//! PostgreSQL of `OBJECTOS_TEST_PG_URL`). `scripts/test` runs the provider-neutral suites once per
//! provider: the same test bodies, so the same answers are required of every database.
//!
//! The control store is the embedded `control.db` unless `OBJECTOS_TEST_CONTROL=postgres`: then
//! each server gets a throw-away PostgreSQL database for it (kept for restarts and reopens of
//! the same data dir); tests about the `control.db` file itself pin the embedded store with
//! [`TestApp::embedded_control`].
//!
//! ```ignore
//! let app = TestApp::new().with(|opts| opts.settings.body_limit = 1024).start().await;
//! let created = app.provision("acme", "pro").await;
//! let res = app.get_with_key("/api/v1/tenants/acme", key).await;
//! res.assert_error(403, "tenant_suspended");
//! ```

// A test harness: a failed expectation is a test failure, reported by panicking. Each test binary
// uses a different subset of the helpers.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use std::sync::Arc;

use objectos_core::failpoints::Failpoints;
use objectos_server::app::{AppOptions, RunningApp};
use objectos_sql::testing::TestDatabase;
use objectos_sql::Row;
use objectos_tenantdb::TenantDatabases;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;

/// How long any single HTTP exchange may take before the test fails (never a hang).
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The tenant database provider the suites run on (`OBJECTOS_TEST_TENANT_PROVIDER`).
pub fn provider() -> String {
    match std::env::var("OBJECTOS_TEST_TENANT_PROVIDER") {
        Ok(name) if !name.is_empty() => name,
        _ => "sqlite".to_owned(),
    }
}

/// The control store the suites run on (`OBJECTOS_TEST_CONTROL`: `sqlite` or `postgres`).
pub fn control_backend() -> String {
    match std::env::var("OBJECTOS_TEST_CONTROL") {
        Ok(name) if !name.is_empty() => name,
        _ => "sqlite".to_owned(),
    }
}

/// The PostgreSQL control store databases made for data dirs, by data dir: a restart or a
/// reopen of the same data dir finds its control store again. Kept until the process ends (the
/// next test run drops what a finished process left, see `objectos_sql::testing`).
fn control_databases() -> &'static std::sync::Mutex<BTreeMap<PathBuf, Arc<TestDatabase>>> {
    static DBS: OnceLock<std::sync::Mutex<BTreeMap<PathBuf, Arc<TestDatabase>>>> = OnceLock::new();
    DBS.get_or_init(Default::default)
}

/// The control store URL recorded for a data dir, if it has a PostgreSQL one.
pub fn control_url_of(data_dir: &Path) -> Option<String> {
    control_databases()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(data_dir)
        .map(|db| db.url.clone())
}

/// Builder of a test server.
pub struct TestApp {
    dir: TempDir,
    options: AppOptions,
    control: String,
}

impl Default for TestApp {
    fn default() -> Self {
        Self::new()
    }
}

impl TestApp {
    /// Defaults over a fresh temporary data dir, listening on `127.0.0.1:0`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut options = AppOptions::new(dir.path().join("data"));
        options.listen = "127.0.0.1:0".parse().unwrap();
        options.shutdown_grace = Duration::from_millis(200);
        options.tenant_databases.provider = provider();
        Self {
            dir,
            options,
            control: control_backend(),
        }
    }

    /// A PostgreSQL control store, whatever `OBJECTOS_TEST_CONTROL` says: for tests of several
    /// nodes.
    pub fn postgres_control(mut self) -> Self {
        self.control = "postgres".to_owned();
        self
    }

    /// Pins the embedded control store (`control.db`), whatever `OBJECTOS_TEST_CONTROL` says:
    /// for tests about that file.
    pub fn embedded_control(mut self) -> Self {
        self.control = "sqlite".to_owned();
        self
    }

    /// Adjusts the options (plans, lifecycle, timeouts, body limit...).
    pub fn with(mut self, adjust: impl FnOnce(&mut AppOptions)) -> Self {
        adjust(&mut self.options);
        self
    }

    /// Starts another node beside `first`: its own data dir, the same control store and tenant
    /// databases (PostgreSQL both), the same admin token.
    pub async fn another_node(first: &TestServer) -> TestServer {
        assert!(
            first.options.control.url.is_some(),
            "several nodes need a PostgreSQL control store"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let mut options = first.options.clone();
        options.data_dir = dir.path().join("data");
        options.admin_token = Some(first.admin_token.clone());
        let running = RunningApp::start(options.clone())
            .await
            .expect("another node starts");
        let mut server = TestServer::new(dir, options, running, first.admin_token.clone());
        server.pg = first.pg.clone();
        server
    }

    /// Starts a server again over the data dir of a stopped one (defaults, fixed admin token).
    pub async fn reopen(dir: TempDir) -> TestServer {
        let mut options = AppOptions::new(dir.path().join("data"));
        options.listen = "127.0.0.1:0".parse().unwrap();
        options.shutdown_grace = Duration::from_millis(200);
        let token = "osa_reopened-test-token".to_owned();
        options.admin_token = Some(token.clone());
        options.control.url = control_url_of(&options.data_dir);
        let running = RunningApp::start(options.clone())
            .await
            .expect("server restarts");
        TestServer::new(dir, options, running, token)
    }

    /// Starts the server; the admin token is the one created on this first start.
    pub async fn start(mut self) -> TestServer {
        let pg = match self.options.tenant_databases.provider.as_str() {
            "postgres" => {
                let db = TestDatabase::create().await;
                self.options.tenant_databases.postgres.url = db.url.clone();
                self.options.tenant_databases.postgres.max_connections = 8;
                Some(Arc::new(db))
            }
            _ => None,
        };
        if self.control == "postgres" && self.options.control.url.is_none() {
            let db = TestDatabase::create().await;
            self.options.control.url = Some(db.url.clone());
            self.options.control.max_connections = 8;
            control_databases()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(self.options.data_dir.clone(), Arc::new(db));
        }
        let running = RunningApp::start(self.options.clone())
            .await
            .expect("server starts");
        let asked = if self.options.control.url.is_some() {
            "postgres"
        } else {
            "sqlite"
        };
        assert_eq!(
            running.platform.store().backend(),
            asked,
            "the control store asked for (OBJECTOS_TEST_CONTROL={})",
            self.control
        );
        let admin_token = running
            .new_admin_token
            .clone()
            .expect("a fresh data dir creates an admin token");
        let mut server = TestServer::new(self.dir, self.options, running, admin_token);
        server.pg = pg;
        server
    }
}

/// A running server plus a client.
pub struct TestServer {
    /// Keeps the data dir alive for the test's duration.
    dir: TempDir,
    /// The options it was started with (for restarts).
    pub options: AppOptions,
    /// The server itself.
    app: Option<RunningApp>,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The admin token.
    pub admin_token: String,
    /// One client for every request (connection pool shared, as a real client would).
    pub client: reqwest::Client,
    /// The PostgreSQL database of the `postgres` provider (dropped after the server).
    pg: Option<Arc<TestDatabase>>,
}

/// An HTTP response, read completely.
#[derive(Debug, Clone)]
pub struct Res {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Raw body text.
    pub text: String,
    /// Body as JSON (`Null` when it is not JSON).
    pub body: Value,
}

impl TestServer {
    fn new(dir: TempDir, options: AppOptions, running: RunningApp, admin_token: String) -> Self {
        let base = format!("http://{}", running.addr);
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .pool_max_idle_per_host(128)
            .build()
            .unwrap();
        Self {
            dir,
            options,
            app: Some(running),
            base,
            admin_token,
            client,
            pg: None,
        }
    }

    /// The control store of this server (`sqlite` or `postgres`).
    pub fn control(&self) -> &'static str {
        if self.options.control.url.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// The tenant database provider of this server (`sqlite`, `memory`, `postgres`).
    pub fn provider(&self) -> &str {
        &self.options.tenant_databases.provider
    }

    /// Runs `sql` on a tenant's database through its provider (any dialect) and returns the rows.
    pub async fn sql(&self, tenant: &str, sql: &str) -> Vec<Row> {
        let sql = sql.to_owned();
        let tenant_id = tenant.to_owned();
        self.app()
            .platform
            .dbs()
            .with_session(tenant, move |s| {
                Ok(s.query(&sql, &[])
                    .unwrap_or_else(|e| panic!("{tenant_id}: {sql}: {e}")))
            })
            .await
            .unwrap()
    }

    /// `SELECT COUNT(*)` of a tenant's table.
    pub async fn count_rows(&self, tenant: &str, table: &str) -> u64 {
        self.sql(tenant, &format!("SELECT COUNT(*) FROM \"{table}\""))
            .await[0][0]
            .as_count()
    }

    /// The first value of the first row of `sql` as text.
    pub async fn sql_text(&self, tenant: &str, sql: &str) -> String {
        self.sql(tenant, sql).await[0][0]
            .as_str()
            .unwrap_or_else(|| panic!("{sql}: not text"))
            .to_owned()
    }

    /// A tenant table's column names, sorted (introspected in the provider's dialect).
    pub async fn columns(&self, tenant: &str, table: &str) -> Vec<String> {
        let table = table.to_owned();
        let mut names: Vec<String> = self
            .app()
            .platform
            .dbs()
            .with_session(tenant, move |s| {
                Ok(objectos_schema::introspect_table(s, &table)
                    .unwrap_or_else(|e| panic!("{table}: {e}")))
            })
            .await
            .unwrap()
            .columns
            .into_iter()
            .map(|c| c.name)
            .collect();
        names.sort();
        names
    }

    /// Whether the tenant's database exists (asked of the provider).
    pub async fn db_exists(&self, tenant: &str) -> bool {
        self.app().platform.dbs().exists(tenant).await.unwrap()
    }

    /// Asserts the tenant's database holds objectos' system tables, recording its tenant id
    /// (read through the provider, in any dialect).
    pub async fn assert_system_schema_of(&self, tenant: &str) {
        let rows = self
            .sql(
                tenant,
                "SELECT value FROM _objectos_meta WHERE key = 'tenant_id'",
            )
            .await;
        assert_eq!(rows.len(), 1, "{tenant}: _objectos_meta");
        assert_eq!(rows[0][0].as_str(), Some(tenant));
        for table in ["_objectos_deployments", "_objectos_metadata"] {
            let _ = self.count_rows(tenant, table).await;
        }
    }

    /// Asserts the tenant has no database left (nor, on `sqlite`, any file of it).
    pub async fn assert_no_database(&self, tenant: &str) {
        assert!(
            !self.db_exists(tenant).await,
            "{tenant} still has a database"
        );
        assert!(!self.tenant_databases().await.contains(tenant));
        if self.provider() == "sqlite" {
            let files: Vec<String> = self
                .tenant_files()
                .into_iter()
                .filter(|f| f.starts_with(&format!("{tenant}.")))
                .collect();
            assert!(files.is_empty(), "{files:?}");
        }
    }

    /// Asserts `path` is a backup of the tenant: a portable archive (`objectos-archive/1`, the
    /// same on every provider) of this tenant whose content hash, recomputed here, matches, written
    /// readable by its owner only; returns the archive.
    pub fn assert_backup(&self, path: &Path, tenant: &str) -> Value {
        assert!(path.exists(), "{}", path.display());
        assert!(
            path.to_string_lossy().ends_with(".archive.json"),
            "{}",
            path.display()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}: mode {mode:o}", path.display());
        }
        let archive: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        assert_archive(&archive, tenant);
        archive
    }

    /// The tables of a tenant's database, from its own catalog.
    pub async fn tables(&self, tenant: &str) -> BTreeSet<String> {
        let catalog = match self.provider() {
            "postgres" => {
                "SELECT c.relname::text FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            }
            _ => "SELECT name FROM sqlite_master WHERE type = 'table'",
        };
        self.sql(tenant, catalog)
            .await
            .into_iter()
            .map(|row| row[0].as_str().unwrap().to_owned())
            .collect()
    }

    /// The tenant databases the provider has.
    pub async fn tenant_databases(&self) -> BTreeSet<String> {
        self.app()
            .platform
            .dbs()
            .list()
            .await
            .unwrap()
            .into_iter()
            .collect()
    }

    /// The running app (platform, address...).
    pub fn app(&self) -> &RunningApp {
        self.app.as_ref().expect("server running")
    }

    /// The failpoints of the running server.
    pub fn failpoints(&self) -> &Failpoints {
        self.app().platform.failpoints()
    }

    /// The data dir.
    pub fn data_dir(&self) -> &Path {
        &self.options.data_dir
    }

    /// `<data_dir>/tenants`.
    pub fn tenants_dir(&self) -> PathBuf {
        self.data_dir().join("tenants")
    }

    /// `<data_dir>/backups`.
    pub fn backups_dir(&self) -> PathBuf {
        self.data_dir().join("backups")
    }

    /// Every file name in `<data_dir>/tenants` (databases and their WAL/SHM companions).
    pub fn tenant_files(&self) -> BTreeSet<String> {
        // The pool of spare databases is objectos' own, not any tenant's.
        let mut files = list_dir(&self.tenants_dir());
        files.remove(objectos_tenantdb::SPARE_DIR);
        files
    }

    /// The `.db` files in `<data_dir>/tenants`.
    pub fn tenant_db_files(&self) -> BTreeSet<String> {
        self.tenant_files()
            .into_iter()
            .filter(|n| n.ends_with(".db"))
            .collect()
    }

    /// Every file name in `<data_dir>/backups` (empty when the dir does not exist).
    pub fn backup_files(&self) -> BTreeSet<String> {
        list_dir(&self.backups_dir())
    }

    /// Whether the tenant's database file exists.
    pub fn db_file_exists(&self, tenant_id: &str) -> bool {
        self.tenants_dir().join(format!("{tenant_id}.db")).exists()
    }

    /// Stops the server gracefully.
    pub async fn stop(mut self) -> TempDir {
        if let Some(app) = self.app.take() {
            app.shutdown().await.expect("graceful shutdown");
        }
        self.dir
    }

    /// Stops and starts again over the same data dir (same admin token, now stored).
    pub async fn restart(mut self) -> Self {
        if let Some(app) = self.app.take() {
            app.shutdown().await.expect("graceful shutdown");
        }
        let running = RunningApp::start(self.options.clone())
            .await
            .expect("server restarts");
        assert!(
            running.new_admin_token.is_none(),
            "a restart must keep the stored admin token, not mint a new one"
        );
        let admin_token = self.admin_token.clone();
        let options = self.options.clone();
        let pg = self.pg.take();
        let mut server = Self::new(self.dir, options, running, admin_token);
        server.pg = pg;
        server
    }

    // -----------------------------------------------------------------------------------------
    // Requests

    /// A request to `path` (relative to the server) with no credentials.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// A request with the admin token.
    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(&self.admin_token)
    }

    /// A request with a tenant key (or any bearer token).
    pub fn keyed(&self, method: Method, path: &str, key: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(key)
    }

    /// Sends and reads the whole response.
    pub async fn send(&self, request: RequestBuilder) -> Res {
        let response = request.send().await.expect("request sent");
        Res::read(response).await
    }

    /// `POST path` with a JSON body and the admin token.
    pub async fn admin_post(&self, path: &str, body: Value) -> Res {
        self.send(self.admin(Method::POST, path).json(&body)).await
    }

    /// `POST path` with no body and the admin token (retry, suspend, resume).
    pub async fn admin_post_empty(&self, path: &str) -> Res {
        self.send(self.admin(Method::POST, path)).await
    }

    /// `GET path` with the admin token.
    pub async fn admin_get(&self, path: &str) -> Res {
        self.send(self.admin(Method::GET, path)).await
    }

    /// `DELETE path` with the admin token.
    pub async fn admin_delete(&self, path: &str) -> Res {
        self.send(self.admin(Method::DELETE, path)).await
    }

    /// `GET path` with a tenant key.
    pub async fn get_with_key(&self, path: &str, key: &str) -> Res {
        self.send(self.keyed(Method::GET, path, key)).await
    }

    /// `POST path` with a JSON body and a tenant key.
    pub async fn post_with_key(&self, path: &str, key: &str, body: Value) -> Res {
        self.send(self.keyed(Method::POST, path, key).json(&body))
            .await
    }

    /// `POST path` with no body and a tenant key.
    pub async fn post_empty_with_key(&self, path: &str, key: &str) -> Res {
        self.send(self.keyed(Method::POST, path, key)).await
    }

    /// `DELETE path` with a tenant key.
    pub async fn delete_with_key(&self, path: &str, key: &str) -> Res {
        self.send(self.keyed(Method::DELETE, path, key)).await
    }

    // -----------------------------------------------------------------------------------------
    // Tenants

    /// Provisions `org` on `plan` (region `us-east`), expecting 201; returns the whole body.
    pub async fn provision(&self, org: &str, plan: &str) -> Value {
        let res = self
            .admin_post("/api/v1/tenants", provisioning_request(org, plan))
            .await;
        res.assert_status(201);
        res.body
    }

    /// Provisions and returns `(tenant id, full-access API key)`, asserting it became active.
    pub async fn active_tenant(&self, org: &str, plan: &str) -> (String, String) {
        let body = self.provision(org, plan).await;
        assert_eq!(body["data"]["status"], "active", "{body:#}");
        (
            body["data"]["tenantId"].as_str().unwrap().to_owned(),
            body["credentials"]["apiKey"].as_str().unwrap().to_owned(),
        )
    }

    /// `GET /api/v1/tenants/{id}/provisioning` (200 expected), its `data`.
    pub async fn provisioning(&self, tenant_id: &str) -> Value {
        let res = self
            .admin_get(&format!("/api/v1/tenants/{tenant_id}/provisioning"))
            .await;
        res.assert_status(200);
        res.body["data"].clone()
    }

    /// The provisioning steps by name.
    pub async fn steps(&self, tenant_id: &str) -> BTreeMap<String, Value> {
        self.provisioning(tenant_id).await["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["name"].as_str().unwrap().to_owned(), s.clone()))
            .collect()
    }

    /// The tenant's status from `GET /api/v1/tenants/{id}`.
    pub async fn status(&self, tenant_id: &str) -> String {
        let res = self
            .admin_get(&format!("/api/v1/tenants/{tenant_id}"))
            .await;
        res.assert_status(200);
        res.body["data"]["provisioningStatus"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Polls `/provisioning` until the tenant reaches `status` (fails after 10 s).
    pub async fn wait_for_status(&self, tenant_id: &str, status: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let data = self.provisioning(tenant_id).await;
            if data["status"] == status {
                return data;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "tenant {tenant_id} never reached {status}: {data:#}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `GET /api/v1/tenants` total.
    pub async fn tenant_total(&self) -> u64 {
        let res = self.admin_get("/api/v1/tenants?limit=1000").await;
        res.assert_status(200);
        res.body["meta"]["total"].as_u64().unwrap()
    }

    /// What a refused request must leave untouched: the tenants as listed (and their total), each
    /// one's keys, steps and event history, every file in the tenants and backups dirs. Only for
    /// settled tenants (the event stream of a provisioning tenant stays open).
    pub async fn snapshot(&self) -> Snapshot {
        let res = self.admin_get("/api/v1/tenants?limit=1000").await;
        res.assert_status(200);
        let mut listed = Vec::new();
        for tenant in res.body["data"].as_array().unwrap() {
            let id = tenant["id"].as_str().unwrap();
            let keys = self.admin_get(&format!("/api/v1/tenants/{id}/keys")).await;
            keys.assert_status(200);
            let steps = self.provisioning(id).await;
            let events: Vec<Value> = self
                .events(id, None)
                .await
                .into_iter()
                .map(|e| json!({"kind": e.kind, "id": e.id, "data": e.data}))
                .collect();
            listed.push(json!({
                "tenant": tenant,
                "keys": keys.body["data"],
                "steps": steps,
                "events": events,
            }));
        }
        Snapshot {
            total: res.body["meta"]["total"].as_u64().unwrap(),
            tenants: listed,
            // WAL and shared-memory files come and go with open connections; they are not state.
            tenant_files: self
                .tenant_files()
                .into_iter()
                .filter(|f| !f.ends_with("-wal") && !f.ends_with("-shm"))
                .collect(),
            backup_files: self.backup_files(),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Server-sent events

    /// Opens `/events` (with `Last-Event-ID` when given) and reads the stream to its end.
    pub async fn events(&self, tenant_id: &str, last_event_id: Option<i64>) -> Vec<SseEvent> {
        let response = self.open_events(tenant_id, last_event_id).await;
        read_sse(response).await
    }

    /// Opens `/events`; returns once the response headers have arrived.
    pub async fn open_events(
        &self,
        tenant_id: &str,
        last_event_id: Option<i64>,
    ) -> reqwest::Response {
        let mut request = self
            .admin(Method::GET, &format!("/api/v1/tenants/{tenant_id}/events"))
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.expect("events request sent");
        assert_eq!(response.status(), 200, "events stream refused");
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/event-stream"),
            "content type {content_type}"
        );
        response
    }
}

/// Reads a whole SSE stream (it must end within 5 s) and parses its events (comments skipped).
pub async fn read_sse(response: reqwest::Response) -> Vec<SseEvent> {
    let text = tokio::time::timeout(Duration::from_secs(5), response.text())
        .await
        .expect("the event stream ends by itself")
        .expect("event stream read");
    parse_sse(&text)
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// `event:` (`status` or `step`).
    pub kind: String,
    /// `id:`.
    pub id: i64,
    /// `data:`, parsed.
    pub data: Value,
}

/// Parses an SSE body.
pub fn parse_sse(text: &str) -> Vec<SseEvent> {
    let mut events = Vec::new();
    for block in text.split("\n\n") {
        let mut kind = None;
        let mut id = None;
        let mut data = String::new();
        for line in block.lines() {
            if line.starts_with(':') {
                continue;
            }
            if let Some(v) = line.strip_prefix("event:") {
                kind = Some(v.trim().to_owned());
            } else if let Some(v) = line.strip_prefix("id:") {
                id = Some(v.trim().parse::<i64>().expect("numeric event id"));
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        if kind.is_none() && id.is_none() && data.is_empty() {
            continue;
        }
        events.push(SseEvent {
            kind: kind.expect("every event names its kind"),
            id: id.expect("every event has an id"),
            data: serde_json::from_str(&data).expect("event data is JSON"),
        });
    }
    events
}

/// The state a refused request must not change.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// `meta.total` of the tenant list.
    pub total: u64,
    /// Each tenant with its keys, steps and event history.
    pub tenants: Vec<Value>,
    /// Files in `<data_dir>/tenants` (without WAL/SHM companions).
    pub tenant_files: BTreeSet<String>,
    /// Files in `<data_dir>/backups`.
    pub backup_files: BTreeSet<String>,
}

fn list_dir(dir: &Path) -> BTreeSet<String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeSet::new(),
        Err(e) => panic!("cannot list {}: {e}", dir.display()),
    }
}

/// A provisioning request body.
pub fn provisioning_request(org: &str, plan: &str) -> Value {
    json!({"orgId": org, "plan": plan, "region": "us-east"})
}

impl Res {
    async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            text,
            body,
        }
    }

    /// Asserts the status code (showing the body when it differs).
    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a success envelope with this status: `success: true`, `data`, `meta.timestamp`,
    /// `meta.requestId`.
    #[track_caller]
    pub fn assert_success(&self, expected: u16) -> &Value {
        self.assert_status(expected);
        assert_eq!(self.body["success"], true, "{}", self.text);
        assert!(self.body.get("data").is_some(), "no data: {}", self.text);
        assert!(
            self.body["meta"]["timestamp"].is_string(),
            "no meta.timestamp: {}",
            self.text
        );
        assert!(
            self.body["meta"]["requestId"].is_string(),
            "no meta.requestId: {}",
            self.text
        );
        &self.body["data"]
    }

    /// Asserts an error envelope with this status and code; returns the `error` object.
    #[track_caller]
    pub fn assert_error(&self, expected_status: u16, expected_code: &str) -> &Value {
        self.assert_status(expected_status);
        assert_eq!(self.body["success"], false, "{}", self.text);
        let error = &self.body["error"];
        assert_eq!(error["code"], expected_code, "{}", self.text);
        for field in ["message", "category", "requestId"] {
            assert!(
                error[field].is_string(),
                "error.{field} missing: {}",
                self.text
            );
        }
        assert!(
            error.get("details").is_some(),
            "error.details missing: {}",
            self.text
        );
        let header = self
            .headers
            .get("x-request-id")
            .map(|v| v.to_str().unwrap());
        assert_eq!(
            header,
            error["requestId"].as_str(),
            "the error's requestId is the X-Request-Id"
        );
        error
    }

    /// The issue paths of a `validation_error`, sorted (duplicates kept).
    pub fn issue_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self.body["error"]["details"]["issues"]
            .as_array()
            .unwrap_or_else(|| panic!("no details.issues: {}", self.text))
            .iter()
            .map(|i| {
                assert!(i["code"].is_string(), "issue without code: {i}");
                assert!(i["message"].is_string(), "issue without message: {i}");
                i["path"].as_str().expect("issue path").to_owned()
            })
            .collect();
        paths.sort();
        paths
    }

    /// Asserts a `validation_error` with this status listing exactly these issue paths.
    #[track_caller]
    pub fn assert_invalid(&self, expected_status: u16, expected_paths: &[&str]) {
        self.assert_error(expected_status, "validation_error");
        assert_eq!(
            self.body["error"]["category"], "validation",
            "{}",
            self.text
        );
        let mut expected: Vec<String> = expected_paths.iter().map(|p| (*p).to_owned()).collect();
        expected.sort();
        assert_eq!(self.issue_paths(), expected, "{}", self.text);
    }
}

/// What a tenant database file holds, read directly with SQLite: its table names and the
/// `tenant_id` recorded in `_objectos_meta` (if any).
pub fn inspect_database(path: &Path) -> (BTreeSet<String>, Option<String>) {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap();
    let tables: BTreeSet<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let tenant_id = if tables.contains("_objectos_meta") {
        conn.query_row(
            "SELECT value FROM _objectos_meta WHERE key = 'tenant_id'",
            [],
            |r| r.get(0),
        )
        .ok()
    } else {
        None
    };
    (tables, tenant_id)
}

/// SHA-256 (hex) of the canonical JSON of an archive's `{ledger, metadata, objects}`, recomputed
/// from the document (not with objectos' own function).
pub fn archive_content_hash(archive: &Value) -> String {
    use sha2::Digest;
    let content = json!({
        "ledger": archive["ledger"],
        "metadata": archive["metadata"],
        "objects": archive["objects"],
    });
    let canonical = objectos_spec::canonical::canonical_json(&content);
    hex::encode(sha2::Sha256::digest(canonical.as_bytes()))
}

/// Asserts `archive` is a portable archive of `tenant` whose content hash and counts hold.
#[track_caller]
pub fn assert_archive(archive: &Value, tenant: &str) {
    assert_eq!(archive["format"], "objectos-archive/1");
    assert_eq!(archive["tenant"]["id"], tenant);
    assert_eq!(
        archive["contentHash"].as_str().unwrap(),
        archive_content_hash(archive),
        "the content hash is recomputed from the document"
    );
    for (name, rows) in archive["objects"].as_object().unwrap() {
        assert_eq!(
            archive["counts"][name].as_u64(),
            Some(rows.as_array().unwrap().len() as u64)
        );
    }
    assert!(archive["ledger"].is_array() && archive["metadata"].is_array());
    let text = archive.to_string();
    assert!(!text.contains("osk_"), "an archive never holds API keys");
}

/// The system tables `sync_schema` creates in every tenant database.
pub const SYSTEM_TABLES: [&str; 3] = [
    "_objectos_meta",
    "_objectos_deployments",
    "_objectos_metadata",
];

/// Asserts that a database file holds the system tables of `tenant_id`.
#[track_caller]
pub fn assert_system_schema(path: &Path, tenant_id: &str) {
    let (tables, recorded) = inspect_database(path);
    for table in SYSTEM_TABLES {
        assert!(
            tables.contains(table),
            "{} lacks {table}: {tables:?}",
            path.display()
        );
    }
    assert_eq!(recorded.as_deref(), Some(tenant_id), "{}", path.display());
}

// ---------------------------------------------------------------------------------------------
// JSON Schema conformance

fn spec_system_dir() -> PathBuf {
    let shared = PathBuf::from("/work/shared/objectstack-spec-4.0.1/json-schema/system");
    if shared.is_dir() {
        return shared;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../objectos-spec/schemas/system")
}

fn schema(name: &str) -> &'static jsonschema::Validator {
    static CACHE: OnceLock<std::sync::Mutex<BTreeMap<String, &'static jsonschema::Validator>>> =
        OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(v) = cache.get(name) {
        return v;
    }
    let path = spec_system_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let document: Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&document)
        .unwrap_or_else(|e| panic!("schema {name}: {e}"));
    let leaked: &'static jsonschema::Validator = Box::leak(Box::new(validator));
    cache.insert(name.to_owned(), leaked);
    leaked
}

/// Asserts that `value` validates against `system/<name>.json` of the published spec.
#[track_caller]
pub fn assert_conforms(name: &str, value: &Value) {
    let errors: Vec<String> = schema(name)
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not a valid {name}:\n  {}\ndocument: {value:#}",
        errors.join("\n  ")
    );
}
