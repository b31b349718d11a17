//! `objectos bench data` end to end in a tiny configuration, objectos only (no PocketBase).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

mod common;

use common::{assert_ok, run_cli};

#[test]
fn bench_data_runs_end_to_end_without_the_peer() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = run_cli(
        &[
            "bench",
            "data",
            "--no-peer",
            "--rows",
            "200",
            "--duration-secs",
            "1",
            "--warmup-ms",
            "200",
        ],
        &[("TMPDIR", dir.path().to_str().unwrap())],
        Some(dir.path()),
    );
    let stdout = assert_ok(&out);
    for phase in [
        "create",
        "get by id",
        "list 20 + total",
        "list 20, no total",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(phase))
            .unwrap_or_else(|| panic!("no {phase} line in:\n{stdout}"));
        assert!(line.contains("n/a (one side not measured)"), "{line}");
    }
    // The Hrana round trip is measured beside the data API's get by id.
    let hrana = stdout
        .lines()
        .find(|l| l.starts_with("objectos: hrana execute"))
        .unwrap_or_else(|| panic!("no Hrana line in:\n{stdout}"));
    let rate: f64 = hrana
        .split_whitespace()
        .nth(3)
        .and_then(|r| r.strip_suffix("/s"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(rate > 0.0, "{hrana}");
    assert!(!stdout.contains("ERRORS"), "{stdout}");
    assert!(stdout.contains("journal_mode=wal"), "{stdout}");
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
}

/// The PostgreSQL server of the suite (as every PostgreSQL test: `OBJECTOS_TEST_PG_URL`).
fn pg_url() -> String {
    std::env::var("OBJECTOS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The scratch database a run named (`... scratch database <name> on --pg-url ...`).
fn scratch_name(stdout: &str) -> String {
    let rest = stdout
        .split("scratch database ")
        .nth(1)
        .unwrap_or_else(|| panic!("no scratch database named in:\n{stdout}"));
    rest.split_whitespace().next().unwrap().to_owned()
}

/// Whether a database of that name, or a role made for it, is left on the server.
fn scratch_left(name: &str) -> bool {
    use sqlx::Connection;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conn = sqlx::postgres::PgConnection::connect(&pg_url())
            .await
            .unwrap();
        let (n,): (i64,) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM pg_database WHERE datname = $1) \
             + (SELECT count(*) FROM pg_roles WHERE starts_with(rolname, $2))",
        )
        .bind(name)
        .bind(objectos_sql::role_prefix(name))
        .fetch_one(&mut conn)
        .await
        .unwrap();
        n > 0
    })
}

#[test]
fn bench_data_measures_sqlite_and_postgres_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let url = pg_url();
    let out = run_cli(
        &[
            "bench",
            "data",
            "--no-peer",
            "--provider",
            "postgres",
            "--pg-url",
            &url,
            "--rows",
            "200",
            "--duration-secs",
            "1",
            "--warmup-ms",
            "100",
            "--connections",
            "4",
        ],
        &[("TMPDIR", dir.path().to_str().unwrap())],
        Some(dir.path()),
    );
    let stdout = assert_ok(&out);
    for phase in [
        "create",
        "get by id",
        "list 20 + total",
        "list 20, no total",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(phase))
            .unwrap_or_else(|| panic!("no {phase} line in:\n{stdout}"));
        assert!(line.contains("n/a (one side not measured)"), "{line}");
        // sqlite and postgres req/s are both there (numbers, not "-").
        let cells: Vec<&str> = line[phase.len()..].split_whitespace().collect();
        assert!(cells[0].parse::<f64>().unwrap() > 0.0, "{line}");
        assert!(cells[1].parse::<f64>().unwrap() > 0.0, "{line}");
    }
    for label in ["objectos-sqlite create", "objectos-postgres create"] {
        assert!(stdout.contains(label), "no {label} in:\n{stdout}");
    }
    assert!(
        stdout.contains("goal (objectos-postgres): create ≥ 1.5× PocketBase: n/a"),
        "{stdout}"
    );
    assert!(!stdout.contains("ERRORS"), "{stdout}");
    assert!(stdout.contains("journal_mode=wal"), "{stdout}");
    assert!(stdout.contains("(status, score)"), "{stdout}");
    assert!(!scratch_left(&scratch_name(&stdout)), "{stdout}");
    assert!(
        started.elapsed().as_secs() < 30,
        "took {:?}",
        started.elapsed()
    );
}
