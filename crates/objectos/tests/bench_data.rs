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
    assert!(!stdout.contains("ERRORS"), "{stdout}");
    assert!(stdout.contains("journal_mode=wal"), "{stdout}");
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
}
