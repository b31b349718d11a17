//! `objectos bench provision` end to end in a tiny configuration, objectos only (no PocketBase),
//! on SQLite and with `--provider postgres`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

mod common;

use common::{assert_ok, run_cli};

fn pg_url() -> String {
    std::env::var("OBJECTOS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

#[test]
fn bench_provision_runs_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_cli(
        &["bench", "provision", "--no-peer", "--tenants", "3"],
        &[("TMPDIR", dir.path().to_str().unwrap())],
        Some(dir.path()),
    );
    let stdout = assert_ok(&out);
    assert!(stdout.contains("seq phase"), "{stdout}");
    assert!(stdout.contains("con phase"), "{stdout}");
    assert!(
        stdout.contains("targets: full provisioning p99"),
        "{stdout}"
    );
    assert!(!stdout.contains("objectos-postgres"), "{stdout}");
}

#[test]
fn bench_provision_measures_sqlite_and_postgres_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let url = pg_url();
    let out = run_cli(
        &[
            "bench",
            "provision",
            "--no-peer",
            "--tenants",
            "3",
            "--concurrency",
            "2",
            "--provider",
            "postgres",
            "--pg-url",
            &url,
        ],
        &[("TMPDIR", dir.path().to_str().unwrap())],
        Some(dir.path()),
    );
    let stdout = assert_ok(&out);
    assert!(stdout.contains("=== objectos-sqlite ==="), "{stdout}");
    assert!(stdout.contains("=== objectos-postgres"), "{stdout}");
    let row = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("p99 (one at a time)"))
        .unwrap_or_else(|| panic!("no table in:\n{stdout}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert!(cells[5].parse::<f64>().unwrap() > 0.0, "{row}");
    assert!(cells[6].parse::<f64>().unwrap() > 0.0, "{row}");
    assert!(
        stdout.contains("goal (objectos-postgres): full provisioning p99 ≤ 40 ms"),
        "{stdout}"
    );
    // The scratch database is gone.
    let name = stdout
        .split("scratch database ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_owned();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let left: i64 = rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::postgres::PgConnection::connect(&url).await.unwrap();
        sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM pg_database WHERE datname = $1) \
             + (SELECT count(*) FROM pg_roles WHERE starts_with(rolname, $2))",
        )
        .bind(&name)
        .bind(objectos_sql::role_prefix(&name))
        .fetch_one(&mut conn)
        .await
        .unwrap()
    });
    assert_eq!(left, 0, "{name} left behind");
    assert!(
        started.elapsed().as_secs() < 30,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn bench_provision_reports_an_unreachable_server() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_cli(
        &[
            "bench",
            "provision",
            "--no-peer",
            "--tenants",
            "1",
            "--provider",
            "postgres",
            "--pg-url",
            "postgres://postgres@127.0.0.1:1/postgres",
        ],
        &[("TMPDIR", dir.path().to_str().unwrap())],
        Some(dir.path()),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--pg-url"), "{stderr}");
}
