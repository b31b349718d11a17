//! `objectos bench deploy --provider postgres` end to end in a tiny configuration.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

mod common;

use common::{assert_ok, run_cli};

#[test]
fn bench_deploy_measures_sqlite_and_postgres_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let url = std::env::var("OBJECTOS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let out = run_cli(
        &[
            "bench",
            "deploy",
            "--fresh",
            "2",
            "--tenants",
            "2",
            "--concurrency",
            "2",
            "--rows",
            "100",
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
    assert!(stdout.contains("=== objectos-postgres ==="), "{stdout}");
    assert!(stdout.contains("ALTER COLUMN"), "{stdout}");
    for label in ["summary objectos-sqlite:", "summary objectos-postgres:"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in:\n{stdout}"));
        assert!(line.contains("rebuilt_rows=100"), "{line}");
    }
    assert!(
        started.elapsed().as_secs() < 30,
        "took {:?}",
        started.elapsed()
    );
}
