//! `objectos bench deploy`: measures the deploy service (issue #4, "Benchmark") in process, with no
//! HTTP in between, on a `Platform` over the embedded stores (`SqliteControlStore` +
//! `TenantDbs` over `LocalSqlite`, as `objectos serve` builds it) in a temporary data directory.
//!
//! What is measured:
//! - **fresh crm deploy**: N tenants (`--fresh`, default 100) are provisioned first (not timed);
//!   then the crm bundle is deployed once on each, one after another. The latency is the wall time
//!   of the `Platform::deploy` call (tenant lookup, per-tenant lock, the blocking-pool hop, the
//!   pipeline and the commit); the service's own phase timings (`DeploymentRecord::timings`, which
//!   stop before the commit) are shown beneath it. The bundle is `examples/crm.bundle.json` when
//!   found (`--bundle`, else the current directory, else the source tree), otherwise a built-in
//!   6-object CRM bundle.
//! - **additive redeploy**: 2 × `--tenants` (default 1,000) tenants get the crm bundle (not timed);
//!   then a bundle with one new optional text field on the bundle's first object is deployed on
//!   one set of `--tenants` tenants one after another, and on the other set by `--concurrency`
//!   (default 8) tokio tasks pulling tenants from a shared counter. Two sets, so that neither phase
//!   redeploys a tenant the other already changed (that would be "no changes"). Wall time and
//!   tenants/s per phase. With more tenants than cached connections (256), most redeploys open the
//!   tenant's database, as a server would.
//! - **table rebuild**: one tenant gets a `bench_item` table by a deploy, then `--rows` (default
//!   100,000) rows are inserted straight through rusqlite in one transaction with a prepared
//!   statement; a deploy then widens `qty` from INTEGER to REAL (`number` with `scale: 0` →
//!   `number`), which SQLite can only do by rebuilding the table (create, copy, drop, rename,
//!   indexes). Rows/s is rows ÷ the deployment's `migrating` phase (running the plan); the whole
//!   deploy call (including the data probes and the commit) is printed too.
//!
//! Targets (issue #4): fresh crm deploy p99 ≤ 30 ms; 1,000-tenant additive redeploy ≤ 5 s with
//! concurrency; rebuild ≥ 500,000 rows/s. Build with `--release`: a debug build prints a warning.
//!
//! With `--provider postgres` everything is measured twice in the same run: on the SQLite default,
//! then on a platform over `TenantDbs::open` with the `postgres` provider (schema per tenant) on a
//! scratch database the bench creates on `--pg-url` and drops at the end. There the rows are
//! inserted by one `INSERT … SELECT … FROM generate_series` through a tenant session, and widening
//! `qty` is `ALTER COLUMN qty TYPE DOUBLE PRECISION` (PostgreSQL rewrites the table; no rebuild
//! by copy). One table then shows both providers side by side (there is no peer for deploys).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::StreamExt;
use objectos_core::deploy::{DeployOptions, DeploymentRecord, Timings};
use objectos_core::{Platform, PlatformConfig};
use objectos_spec::types::deploy::DeployStatus;
use objectos_spec::types::provisioning::TenantProvisioningRequest;
use objectos_store::SqliteControlStore;
use objectos_tenantdb::{
    PgSettings, SqlValue, TenantDatabases, TenantDbConfig, TenantDbError, TenantDbs,
};
use serde_json::{json, Value};

use super::bench::{with_scratch, ProviderArgs, ScratchPg};

type P = Platform<SqliteControlStore, TenantDbs>;

/// The field the additive change adds to the bundle's first object.
const ADDED_FIELD: &str = "bench_note";
/// The object of the rebuild measurement.
const REBUILD_OBJECT: &str = "bench_item";

/// `objectos bench deploy`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeployArgs {
    /// Fresh tenants the crm bundle is deployed on (one deploy each).
    #[arg(long, default_value_t = 100)]
    pub fresh: usize,
    /// Tenants per additive-redeploy phase (one sequential phase, one concurrent phase).
    #[arg(long, default_value_t = 1000)]
    pub tenants: usize,
    /// Tokio tasks deploying at once in the concurrent phase.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Rows of the rebuilt table.
    #[arg(long, default_value_t = 100_000)]
    pub rows: usize,
    /// The crm bundle; else examples/crm.bundle.json (current directory, then the source tree),
    /// else a built-in 6-object CRM bundle.
    #[arg(long, value_name = "PATH")]
    pub bundle: Option<PathBuf>,
    /// Keep the data directory (printed) instead of removing it.
    #[arg(long)]
    pub keep: bool,
    /// `--provider` and `--pg-url`.
    #[command(flatten)]
    pub provider: ProviderArgs,
}

impl Default for DeployArgs {
    fn default() -> Self {
        Self {
            fresh: 100,
            tenants: 1000,
            concurrency: 8,
            rows: 100_000,
            bundle: None,
            keep: false,
            provider: ProviderArgs::default(),
        }
    }
}

/// Runs the benchmark.
pub fn run(args: &DeployArgs) -> ExitCode {
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
    let data_dir =
        std::env::temp_dir().join(format!("objectos-bench-deploy-{}", std::process::id()));
    let pg_dir =
        std::env::temp_dir().join(format!("objectos-bench-deploy-{}-pg", std::process::id()));
    let (dir, dir_pg) = (&data_dir, &pg_dir);
    let result = runtime.block_on(with_scratch(&args.provider, |pg| async move {
        match pg {
            None => Ok((bench(args, dir, None).await?, None)),
            Some(pg) => {
                let both = bench_both(args, dir, dir_pg, &pg).await?;
                Ok((both.0, Some(both.1)))
            }
        }
    }));
    if args.keep {
        outln!("data kept in {}", data_dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&data_dir);
        let _ = std::fs::remove_dir_all(&pg_dir);
    }
    match result {
        Ok((f, on_pg)) => {
            let line = |label: &str, f: &DeployFigures| {
                outln!(
                    "summary{label}: fresh_p99_ms={:.2} additive_sequential_s={:.3} additive_concurrent_s={:.3} rebuilt_rows={} rebuild_rows_per_s={:.0}",
                    f.fresh_p99_ms,
                    f.additive_sequential.as_secs_f64(),
                    f.additive_concurrent.as_secs_f64(),
                    f.rebuilt_rows,
                    f.rebuild_rows_per_s
                );
            };
            match &on_pg {
                None => line("", &f),
                Some(g) => {
                    line(" objectos-sqlite", &f);
                    line(" objectos-postgres", g);
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("objectos bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The headline figures of a run (also what the test checks).
#[derive(Debug, Clone)]
pub struct DeployFigures {
    /// p99 of the fresh crm deploy call, ms.
    pub fresh_p99_ms: f64,
    /// Wall time of the sequential additive phase.
    pub additive_sequential: Duration,
    /// Wall time of the concurrent additive phase.
    pub additive_concurrent: Duration,
    /// Rows in the rebuilt table after the rebuild.
    pub rebuilt_rows: usize,
    /// Rows per second of the rebuild (rows ÷ migrating time).
    pub rebuild_rows_per_s: f64,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn print_row(label: &str, values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let (p50, p95, p99) = (
        percentile(values, 50.0),
        percentile(values, 95.0),
        percentile(values, 99.0),
    );
    outln!("  {label:<26} {p50:>9.3} {p95:>9.3} {p99:>9.3}");
    (p50, p95, p99)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// The platform over a fresh data directory, as `objectos serve` builds it: tenants on SQLite
/// files, or on PostgreSQL in `pg` (schema per tenant).
async fn open_platform(data_dir: &Path, pg: Option<&ScratchPg>) -> anyhow::Result<P> {
    if data_dir.exists() {
        std::fs::remove_dir_all(data_dir)?;
    }
    std::fs::create_dir_all(data_dir)?;
    let store = SqliteControlStore::open(&data_dir.join("control.db"))?;
    let config = match pg {
        None => TenantDbConfig {
            sqlite_dir: data_dir.join("tenants"),
            ..TenantDbConfig::default()
        },
        Some(pg) => TenantDbConfig {
            provider: "postgres".to_owned(),
            sqlite_dir: data_dir.join("tenants"),
            postgres: PgSettings {
                url: pg.url.clone(),
                synchronous_commit: pg.synchronous_commit,
                // As `objectos serve` does (its installation id); an unowned provider is not
                // what a server runs.
                owner: Some(format!("bench-{}", std::process::id())),
                ..PgSettings::default()
            },
            ..TenantDbConfig::default()
        },
    };
    let dbs = TenantDbs::open(&config)
        .await
        .with_context(|| format!("opening the {} tenant databases", config.provider))?;
    Ok(Platform::new(store, dbs, PlatformConfig::new(data_dir)))
}

async fn provision_one(platform: &P, org: String) -> anyhow::Result<String> {
    let request: TenantProvisioningRequest =
        objectos_spec::parse(&json!({"orgId": org, "plan": "pro"}))
            .map_err(|e| anyhow::anyhow!("provisioning request {org}: {e:?}"))?;
    let provisioned = platform
        .provision(request, true)
        .await
        .with_context(|| format!("provisioning {org}"))?;
    Ok(provisioned.tenant.id)
}

/// Provisions `count` tenants (8 at a time; not measured).
async fn provision_many(platform: &P, prefix: &str, count: usize) -> anyhow::Result<Vec<String>> {
    let results: Vec<anyhow::Result<String>> = futures::stream::iter(0..count)
        .map(|i| provision_one(platform, format!("{prefix}-{i}")))
        .buffered(8)
        .collect()
        .await;
    results.into_iter().collect()
}

/// One deploy that must end `ready` with changes.
async fn deploy_ready(
    platform: &P,
    tenant: &str,
    bundle: &Value,
    options: DeployOptions,
) -> anyhow::Result<DeploymentRecord> {
    let record = platform
        .deploy(tenant, bundle.clone(), options)
        .await
        .with_context(|| format!("deploying to {tenant}"))?;
    if record.status != DeployStatus::Ready {
        bail!(
            "deploying to {tenant}: {:?}: {}",
            record.status,
            record.error.as_deref().unwrap_or("no error given")
        );
    }
    if record.no_changes {
        bail!("deploying to {tenant}: no changes (the benchmark expects a change)");
    }
    Ok(record)
}

/// Deploys `bundle` on every tenant (8 at a time; not measured).
async fn deploy_many(platform: &P, tenants: &[String], bundle: &Value) -> anyhow::Result<()> {
    let results: Vec<anyhow::Result<DeploymentRecord>> = futures::stream::iter(tenants)
        .map(|t| deploy_ready(platform, t, bundle, DeployOptions::default()))
        .buffer_unordered(8)
        .collect()
        .await;
    for r in results {
        r?;
    }
    Ok(())
}

/// The crm bundle and where it came from.
fn crm_bundle(explicit: Option<&Path>) -> anyhow::Result<(Value, String)> {
    let candidates: Vec<PathBuf> = match explicit {
        Some(path) => vec![path.to_owned()],
        None => vec![
            PathBuf::from("examples/crm.bundle.json"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/crm.bundle.json"),
        ],
    };
    for path in &candidates {
        if path.is_file() {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let value: Value = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            return Ok((value, path.display().to_string()));
        }
    }
    if let Some(path) = explicit {
        bail!("{} does not exist", path.display());
    }
    Ok((
        builtin_crm(),
        "built-in 6-object CRM bundle (examples/crm.bundle.json not found)".to_owned(),
    ))
}

/// A bundle with these objects and seed data, manifest included.
fn bundle_of(objects: Vec<Value>, seed: Vec<Value>) -> Value {
    let names: Vec<Value> = objects.iter().map(|o| o["name"].clone()).collect();
    json!({
        "manifest": {"version": "1.0.0", "objects": names, "views": [], "flows": [], "permissions": []},
        "objects": objects,
        "views": [],
        "flows": [],
        "permissions": [],
        "seedData": seed,
    })
}

fn options(values: &[&str]) -> Value {
    Value::Array(
        values
            .iter()
            .map(|v| {
                let mut label = v.replace('_', " ");
                if let Some(first) = label.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                json!({"label": label, "value": v})
            })
            .collect(),
    )
}

/// A realistic CRM: accounts, contacts, leads, opportunities, activities and cases, with
/// relations, unique fields, indexes, defaults and a little seed data.
fn builtin_crm() -> Value {
    let account = json!({
        "name": "account",
        "label": "Account",
        "fields": {
            "name": {"type": "text", "required": true, "unique": true},
            "website": {"type": "url"},
            "phone": {"type": "phone"},
            "industry": {"type": "select", "options": options(&["technology", "retail", "finance", "healthcare", "manufacturing"])},
            "employees": {"type": "number", "scale": 0},
            "annual_revenue": {"type": "currency"},
            "billing_address": {"type": "address"},
            "rating": {"type": "rating"},
            "active": {"type": "boolean", "defaultValue": true},
            "description": {"type": "textarea"}
        },
        "indexes": [{"fields": ["industry"]}]
    });
    let contact = json!({
        "name": "contact",
        "label": "Contact",
        "fields": {
            "first_name": {"type": "text"},
            "last_name": {"type": "text", "required": true},
            "email": {"type": "email", "unique": true},
            "phone": {"type": "phone"},
            "title": {"type": "text"},
            "account": {"type": "lookup", "reference": "account"},
            "birthdate": {"type": "date"},
            "status": {"type": "select", "defaultValue": "active", "options": options(&["active", "inactive"])},
            "tags": {"type": "tags"}
        },
        "indexes": [{"fields": ["last_name", "first_name"]}]
    });
    let lead = json!({
        "name": "lead",
        "label": "Lead",
        "fields": {
            "first_name": {"type": "text"},
            "last_name": {"type": "text", "required": true},
            "company": {"type": "text", "required": true},
            "email": {"type": "email"},
            "phone": {"type": "phone"},
            "source": {"type": "select", "options": options(&["web", "referral", "event", "partner"])},
            "status": {"type": "select", "required": true, "defaultValue": "new", "options": options(&["new", "working", "qualified", "disqualified"])},
            "score": {"type": "number", "scale": 0},
            "converted_contact": {"type": "lookup", "reference": "contact"}
        },
        "indexes": [{"fields": ["status"]}, {"fields": ["email"]}]
    });
    let opportunity = json!({
        "name": "opportunity",
        "label": "Opportunity",
        "fields": {
            "name": {"type": "text", "required": true},
            "account": {"type": "master_detail", "reference": "account"},
            "primary_contact": {"type": "lookup", "reference": "contact"},
            "amount": {"type": "currency"},
            "probability": {"type": "percent"},
            "close_date": {"type": "date"},
            "stage": {"type": "select", "required": true, "defaultValue": "prospecting", "options": options(&["prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"])},
            "next_step": {"type": "text"}
        },
        "indexes": [{"fields": ["stage", "close_date"]}]
    });
    let activity = json!({
        "name": "activity",
        "label": "Activity",
        "fields": {
            "subject": {"type": "text", "required": true},
            "kind": {"type": "select", "required": true, "defaultValue": "task", "options": options(&["task", "call", "email", "meeting"])},
            "due_at": {"type": "datetime"},
            "done": {"type": "boolean", "defaultValue": false},
            "contact": {"type": "lookup", "reference": "contact"},
            "opportunity": {"type": "lookup", "reference": "opportunity"},
            "notes": {"type": "markdown"}
        },
        "indexes": [{"fields": ["done", "due_at"]}]
    });
    let case = json!({
        "name": "case",
        "label": "Case",
        "fields": {
            "subject": {"type": "text", "required": true},
            "account": {"type": "lookup", "reference": "account"},
            "contact": {"type": "lookup", "reference": "contact"},
            "priority": {"type": "select", "required": true, "defaultValue": "medium", "options": options(&["low", "medium", "high", "urgent"])},
            "status": {"type": "select", "required": true, "defaultValue": "open", "options": options(&["open", "pending", "closed"])},
            "description": {"type": "textarea"},
            "closed_at": {"type": "datetime"}
        },
        "indexes": [{"fields": ["status", "priority"]}]
    });
    let seed = vec![
        json!({"object": "account", "externalId": "name", "mode": "upsert", "records": [
            {"id": "acc_acme", "name": "Acme", "industry": "technology", "employees": 120},
            {"id": "acc_globex", "name": "Globex", "industry": "retail", "employees": 45}
        ]}),
        json!({"object": "contact", "externalId": "email", "mode": "upsert", "records": [
            {"first_name": "Ann", "last_name": "Lee", "email": "ann@acme.io", "account": "acc_acme"},
            {"first_name": "Bob", "last_name": "Ray", "email": "bob@globex.io", "account": "acc_globex"}
        ]}),
    ];
    bundle_of(
        vec![account, contact, lead, opportunity, activity, case],
        seed,
    )
}

/// The crm bundle with one new optional text field on its first object (no checksum: the bundle
/// changed).
fn additive_change(crm: &Value) -> anyhow::Result<Value> {
    let mut next = crm.clone();
    if let Some(manifest) = next.get_mut("manifest").and_then(Value::as_object_mut) {
        manifest.remove("checksum");
    }
    let fields = next
        .pointer_mut("/objects/0/fields")
        .and_then(Value::as_object_mut)
        .context("the crm bundle has no objects[0].fields")?;
    if fields.contains_key(ADDED_FIELD) {
        bail!("the crm bundle's first object already has a {ADDED_FIELD} field");
    }
    fields.insert(
        ADDED_FIELD.to_owned(),
        json!({"type": "text", "label": "Bench note"}),
    );
    Ok(next)
}

/// The rebuild table's bundle: `qty` whole (INTEGER) or not (REAL).
fn rebuild_bundle(whole_qty: bool) -> Value {
    let qty = if whole_qty {
        json!({"type": "number", "scale": 0})
    } else {
        json!({"type": "number"})
    };
    bundle_of(
        vec![json!({
            "name": REBUILD_OBJECT,
            "fields": {
                "name": {"type": "text", "required": true},
                "sku": {"type": "text", "unique": true},
                "qty": qty,
                "price": {"type": "currency"},
                "status": {"type": "select", "required": true, "defaultValue": "open", "options": options(&["open", "closed"])},
                "in_stock": {"type": "boolean"},
                "note": {"type": "textarea"}
            },
            "indexes": [{"fields": ["status"]}]
        })],
        Vec::new(),
    )
}

/// Inserts `rows` rows into the rebuild table in one transaction: a prepared statement on
/// SQLite, one `INSERT … SELECT … FROM generate_series` on PostgreSQL.
async fn bulk_insert(platform: &P, tenant: &str, rows: usize) -> anyhow::Result<Duration> {
    let local = match platform.dbs() {
        TenantDbs::Sqlite(local) => local,
        dbs => {
            let started = Instant::now();
            let n = i64::try_from(rows)?;
            dbs.with_session(tenant, move |session| {
                let sql = |source: objectos_tenantdb::SqlError| TenantDbError::Sql {
                    tenant_id: "bench".to_owned(),
                    source,
                };
                session.begin().map_err(sql)?;
                session
                    .execute(
                        &format!(
                            "INSERT INTO {REBUILD_OBJECT} (id, created_at, updated_at, name, sku, qty, price, status, in_stock, note) \
                             SELECT 'itm_' || lpad(i::text, 12, '0'), $1::timestamptz, $1::timestamptz, 'Item ' || i, \
                             'SKU-' || lpad(i::text, 8, '0'), i % 1000, (i % 10000) / 100.0, \
                             CASE WHEN i % 3 = 0 THEN 'closed' ELSE 'open' END, i % 2 = 1, \
                             CASE WHEN i % 10 = 0 THEN 'restock soon' END \
                             FROM generate_series(0, $2 - 1) AS i"
                        ),
                        &[
                            SqlValue::Text("2026-01-01T00:00:00.000Z".to_owned()),
                            SqlValue::Integer(n),
                        ],
                    )
                    .map_err(sql)?;
                session.commit().map_err(sql)
            })
            .await?;
            return Ok(started.elapsed());
        }
    };
    let shared = local.connection(tenant)?;
    let mut conn = shared
        .lock()
        .map_err(|_| anyhow::anyhow!("the connection of {tenant} is poisoned"))?;
    let started = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare(&format!(
            "INSERT INTO {REBUILD_OBJECT} (id, created_at, updated_at, name, sku, qty, price, status, in_stock, note) \
             VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ))?;
        let now = "2026-01-01T00:00:00.000Z";
        for i in 0..rows {
            stmt.execute(rusqlite::params![
                format!("itm_{i:012}"),
                now,
                format!("Item {i}"),
                format!("SKU-{i:08}"),
                (i % 1000) as i64,
                (i % 10_000) as f64 / 100.0,
                if i % 3 == 0 { "closed" } else { "open" },
                (i % 2) as i64,
                if i % 10 == 0 {
                    Some("restock soon")
                } else {
                    None
                },
            ])?;
        }
    }
    tx.commit()?;
    Ok(started.elapsed())
}

/// The rows of the rebuilt table, checking that every `qty` is now a real.
async fn count_rows(platform: &P, tenant: &str) -> anyhow::Result<usize> {
    let local = match platform.dbs() {
        TenantDbs::Sqlite(local) => local,
        dbs => {
            let (n, real) = dbs
                .with_read_session(tenant, |session| {
                    let sql = |source: objectos_tenantdb::SqlError| TenantDbError::Sql {
                        tenant_id: "bench".to_owned(),
                        source,
                    };
                    let rows = session
                        .query(
                            &format!(
                                "SELECT count(*), (SELECT data_type::text FROM information_schema.columns \
                                 WHERE table_schema = current_schema() AND table_name = '{REBUILD_OBJECT}' \
                                 AND column_name = 'qty') FROM {REBUILD_OBJECT}"
                            ),
                            &[],
                        )
                        .map_err(sql)?;
                    let row = rows.into_iter().next().unwrap_or_default();
                    let n = match row.first() {
                        Some(SqlValue::Integer(n)) => *n,
                        _ => -1,
                    };
                    let real = matches!(row.get(1), Some(SqlValue::Text(t)) if t == "double precision");
                    Ok((n, real))
                })
                .await?;
            if !real {
                bail!("after the widening {REBUILD_OBJECT}.qty is not double precision");
            }
            return Ok(usize::try_from(n)?);
        }
    };
    let shared = local.connection(tenant)?;
    let conn = shared
        .lock()
        .map_err(|_| anyhow::anyhow!("the connection of {tenant} is poisoned"))?;
    let (n, reals): (i64, i64) = conn.query_row(
        &format!("SELECT count(*), sum(typeof(qty) = 'real') FROM {REBUILD_OBJECT}"),
        [],
        |r| Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0))),
    )?;
    if n != reals {
        bail!("after the rebuild {reals} of {n} qty values are REAL");
    }
    Ok(usize::try_from(n)?)
}

/// One redeploy phase: its wall time, each call's wall time (ms) and the service's timings.
struct PhaseRun {
    wall: Duration,
    calls_ms: Vec<f64>,
    timings: Vec<Timings>,
}

/// Redeploys `bundle` on `tenants` with `concurrency` tokio tasks.
async fn redeploy_phase(
    platform: &P,
    tenants: Arc<Vec<String>>,
    bundle: Arc<Value>,
    concurrency: usize,
) -> anyhow::Result<PhaseRun> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (platform, tenants, bundle, next) = (
            platform.clone(),
            tenants.clone(),
            bundle.clone(),
            next.clone(),
        );
        tasks.spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(tenant) = tenants.get(i) else {
                    return anyhow::Ok(done);
                };
                let call = Instant::now();
                let record =
                    deploy_ready(&platform, tenant, &bundle, DeployOptions::default()).await?;
                done.push((call.elapsed().as_secs_f64() * 1000.0, record.timings));
            }
        });
    }
    let mut run = PhaseRun {
        wall: Duration::ZERO,
        calls_ms: Vec::with_capacity(tenants.len()),
        timings: Vec::with_capacity(tenants.len()),
    };
    while let Some(result) = tasks.join_next().await {
        for (ms, timings) in result?? {
            run.calls_ms.push(ms);
            run.timings.push(timings);
        }
    }
    run.wall = started.elapsed();
    Ok(run)
}

fn timing_rows(timings: &[Timings]) {
    let column = |f: fn(&Timings) -> f64| -> Vec<f64> { timings.iter().map(f).collect() };
    print_row("  validating", &mut column(|t| t.validating_ms));
    print_row("  diffing", &mut column(|t| t.diffing_ms));
    print_row("  migrating", &mut column(|t| t.migrating_ms));
    print_row("  registering", &mut column(|t| t.registering_ms));
    print_row("  total (before commit)", &mut column(|t| t.total_ms));
}

/// `--provider postgres`: the whole bench on SQLite, then on PostgreSQL, then the two side by side.
async fn bench_both(
    args: &DeployArgs,
    data_dir: &Path,
    pg_dir: &Path,
    pg: &ScratchPg,
) -> anyhow::Result<(DeployFigures, DeployFigures)> {
    outln!(
        "providers: objectos-sqlite, then objectos-postgres (TenantDbs postgres, schema per tenant, scratch database {} on --pg-url)",
        pg.name
    );
    outln!("\n=== objectos-sqlite ===");
    let ours = bench(args, data_dir, None).await?;
    outln!("\n=== objectos-postgres ===");
    let on_pg = bench(args, pg_dir, Some(pg)).await?;
    outln!(
        "\ndeploy                                  {:>15} {:>17} {:>9}",
        "objectos-sqlite",
        "objectos-postgres",
        "pg÷sqlite"
    );
    let rows = [
        (
            format!("fresh crm deploy p99 ms ({})", args.fresh),
            ours.fresh_p99_ms,
            on_pg.fresh_p99_ms,
        ),
        (
            format!("additive, {} tenants, one by one, s", args.tenants),
            ours.additive_sequential.as_secs_f64(),
            on_pg.additive_sequential.as_secs_f64(),
        ),
        (
            format!(
                "additive, {} tenants, concurrency {}, s",
                args.tenants, args.concurrency
            ),
            ours.additive_concurrent.as_secs_f64(),
            on_pg.additive_concurrent.as_secs_f64(),
        ),
        (
            format!("widen qty, {} rows, rows/s", args.rows),
            ours.rebuild_rows_per_s,
            on_pg.rebuild_rows_per_s,
        ),
    ];
    for (label, a, b) in rows {
        outln!("  {label:<38} {a:>15.2} {b:>17.2} {:>9.2}", b / a);
    }
    outln!("  (no peer: PocketBase has no deploys; the targets above are per provider)");
    Ok((ours, on_pg))
}

/// Runs every measurement in `data_dir` (created, emptied first) and prints the report; tenants
/// on PostgreSQL in `pg` when given.
pub async fn bench(
    args: &DeployArgs,
    data_dir: &Path,
    pg: Option<&ScratchPg>,
) -> anyhow::Result<DeployFigures> {
    if args.fresh == 0 || args.tenants == 0 || args.rows == 0 {
        bail!("--fresh, --tenants and --rows must be at least 1");
    }
    let platform = open_platform(data_dir, pg).await?;
    let (crm, source) = crm_bundle(args.bundle.as_deref())?;
    let objects = crm["objects"].as_array().map_or(0, Vec::len);
    let build = if cfg!(debug_assertions) {
        "DEBUG build: figures are not representative; use --release"
    } else {
        "release build"
    };
    outln!(
        "objectos bench deploy: in process, no HTTP ({build}, {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    outln!("crm bundle: {source} ({objects} objects)");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        outln!("load average at start: {}", load.join(" "));
    }

    // 1. The crm bundle on fresh tenants.
    let fresh = provision_many(&platform, "bench-fresh", args.fresh).await?;
    let mut walls = Vec::with_capacity(fresh.len());
    let mut timings = Vec::with_capacity(fresh.len());
    for tenant in &fresh {
        let started = Instant::now();
        let record = deploy_ready(&platform, tenant, &crm, DeployOptions::default()).await?;
        walls.push(started.elapsed().as_secs_f64() * 1000.0);
        timings.push(record.timings);
    }
    outln!(
        "\nfresh crm deploy, {} tenants one after another — ms      p50       p95       p99",
        fresh.len()
    );
    let (_, _, fresh_p99) = print_row("deploy call (wall)", &mut walls);
    timing_rows(&timings);

    // 2. The additive change on two sets of tenants.
    let additive = Arc::new(additive_change(&crm)?);
    let crm_objects: Vec<&str> = crm["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["name"].as_str())
        .collect();
    let setup = Instant::now();
    let seq_tenants = provision_many(&platform, "bench-seq", args.tenants).await?;
    let con_tenants = provision_many(&platform, "bench-con", args.tenants).await?;
    deploy_many(&platform, &seq_tenants, &crm).await?;
    deploy_many(&platform, &con_tenants, &crm).await?;
    let setup = setup.elapsed();
    let sequential = redeploy_phase(&platform, Arc::new(seq_tenants), additive.clone(), 1).await?;
    let concurrent = redeploy_phase(
        &platform,
        Arc::new(con_tenants),
        additive.clone(),
        args.concurrency,
    )
    .await?;
    outln!(
        "\nadditive redeploy (new optional field {}.{ADDED_FIELD}), {} tenants per phase (setup: {} tenants provisioned + crm deployed in {:.1} s, not counted)",
        crm_objects.first().copied().unwrap_or("?"),
        args.tenants,
        2 * args.tenants,
        setup.as_secs_f64()
    );
    let tps = |d: Duration| args.tenants as f64 / d.as_secs_f64();
    outln!(
        "  one after another:   {:>8.3} s  {:>8.0} tenants/s",
        sequential.wall.as_secs_f64(),
        tps(sequential.wall)
    );
    outln!(
        "  concurrency {:<3}      {:>8.3} s  {:>8.0} tenants/s",
        args.concurrency,
        concurrent.wall.as_secs_f64(),
        tps(concurrent.wall)
    );
    for (name, phase) in [
        ("one after another", &sequential),
        ("concurrent", &concurrent),
    ] {
        outln!("  {name} — ms                 p50       p95       p99");
        print_row("deploy call (wall)", &mut phase.calls_ms.clone());
        timing_rows(&phase.timings);
    }
    let (sequential, concurrent) = (sequential.wall, concurrent.wall);

    // 3. A table rebuild.
    let tenant = provision_one(&platform, "bench-rebuild".to_owned()).await?;
    deploy_ready(
        &platform,
        &tenant,
        &rebuild_bundle(true),
        DeployOptions::default(),
    )
    .await?;
    let insert = bulk_insert(&platform, &tenant, args.rows).await?;
    let started = Instant::now();
    let record = deploy_ready(
        &platform,
        &tenant,
        &rebuild_bundle(false),
        DeployOptions::default(),
    )
    .await?;
    let wall = started.elapsed();
    let rebuilt = |s: &str| match pg {
        None => s.contains("_objectos_new_"),
        Some(_) => s.contains("ALTER COLUMN") && s.contains("TYPE"),
    };
    if !record.plan.statements.iter().any(|s| rebuilt(&s.sql)) {
        bail!("the widening deploy did not rebuild {REBUILD_OBJECT}");
    }
    let rebuilt_rows = count_rows(&platform, &tenant).await?;
    if rebuilt_rows != args.rows {
        bail!(
            "{REBUILD_OBJECT} has {rebuilt_rows} rows after the rebuild, not {}",
            args.rows
        );
    }
    let t = &record.timings;
    let rows_per_s = args.rows as f64 / (t.migrating_ms / 1000.0);
    let (how, insert_how) = match pg {
        None => ("INTEGER → REAL", "one transaction, prepared statement"),
        Some(_) => (
            "BIGINT → DOUBLE PRECISION (ALTER COLUMN … TYPE: PostgreSQL rewrites the table)",
            "one INSERT … SELECT FROM generate_series",
        ),
    };
    outln!(
        "\ntable rebuild: {REBUILD_OBJECT} ({} rows, 10 columns, a unique and a plain index), qty {how}",
        args.rows
    );
    outln!(
        "  bulk insert ({insert_how}): {:.1} ms ({:.0} rows/s)",
        insert.as_secs_f64() * 1000.0,
        args.rows as f64 / insert.as_secs_f64()
    );
    outln!(
        "  deploy: validating {:.2} ms, diffing + probes {:.2} ms, migrating {:.2} ms, registering {:.2} ms; call {:.2} ms with the commit",
        t.validating_ms,
        t.diffing_ms,
        t.migrating_ms,
        t.registering_ms,
        wall.as_secs_f64() * 1000.0
    );
    outln!(
        "  rebuild: {rows_per_s:.0} rows/s (rows ÷ migrating); {:.0} rows/s over the whole call",
        args.rows as f64 / wall.as_secs_f64()
    );

    let concurrent_s = concurrent.as_secs_f64();
    outln!(
        "\ntargets: fresh crm deploy p99 ≤ 30 ms: {} ({fresh_p99:.2} ms)",
        verdict(fresh_p99 <= 30.0)
    );
    let scaled = if args.tenants == 1000 {
        String::new()
    } else {
        format!(
            "; {} tenants measured, {:.2} s scaled to 1,000",
            args.tenants,
            concurrent_s * 1000.0 / args.tenants as f64
        )
    };
    outln!(
        "         1,000-tenant additive redeploy ≤ 5 s with concurrency: {} ({concurrent_s:.2} s at concurrency {}{scaled}; {:.2} s one after another)",
        verdict(concurrent_s * 1000.0 / args.tenants as f64 <= 5.0),
        args.concurrency,
        sequential.as_secs_f64()
    );
    outln!(
        "         rebuild ≥ 500,000 rows/s: {} ({rows_per_s:.0} rows/s over {} rows)",
        verdict(rows_per_s >= 500_000.0),
        args.rows
    );
    if args.rows < 100_000 || args.tenants < 1000 || args.fresh < 100 {
        outln!("         (sizes below the issue's: 100 fresh, 1,000 tenants, 100,000 rows)");
    }
    Ok(DeployFigures {
        fresh_p99_ms: fresh_p99,
        additive_sequential: sequential,
        additive_concurrent: concurrent,
        rebuilt_rows,
        rebuild_rows_per_s: rows_per_s,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_end_to_end_with_tiny_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let args = DeployArgs {
            fresh: 2,
            tenants: 2,
            concurrency: 2,
            rows: 100,
            ..DeployArgs::default()
        };
        let figures = bench(&args, &dir.path().join("data"), None).await.unwrap();
        assert!(figures.fresh_p99_ms > 0.0);
        assert!(figures.additive_sequential > Duration::ZERO);
        assert!(figures.additive_concurrent > Duration::ZERO);
        assert_eq!(figures.rebuilt_rows, 100);
        assert!(figures.rebuild_rows_per_s.is_finite() && figures.rebuild_rows_per_s > 0.0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_builtin_crm_deploys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.bundle.json");
        std::fs::write(&path, builtin_crm().to_string()).unwrap();
        let args = DeployArgs {
            fresh: 1,
            tenants: 1,
            concurrency: 1,
            rows: 10,
            bundle: Some(path),
            ..DeployArgs::default()
        };
        let figures = bench(&args, &dir.path().join("data"), None).await.unwrap();
        assert_eq!(figures.rebuilt_rows, 10);
    }

    #[test]
    fn the_builtin_crm_has_six_objects_and_the_change_is_additive() {
        let crm = builtin_crm();
        assert_eq!(crm["objects"].as_array().unwrap().len(), 6);
        let next = additive_change(&crm).unwrap();
        assert_eq!(next["objects"][0]["fields"][ADDED_FIELD]["type"], "text");
        assert!(next["objects"][0]["fields"][ADDED_FIELD]
            .get("required")
            .is_none());
    }
}
