//! Interop with the real npm client: `tests/interop/client.test.mjs` drives the official
//! `@objectstack/client@4.0.1` (discovery, metadata with ETags, CRUD, filters, sort, select,
//! paging, QueryAST, createMany, batch, atomic batch failure, updateMany, deleteMany) against a
//! real `objectos serve` with a `pro` tenant that has examples/crm.bundle.json deployed.
//! Needs Node 20+ and `npm ci --prefix tests/interop` (scripts/test runs it); without them the
//! test fails, it never skips.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

mod common;

use common::*;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

#[test]
fn objectstack_client_4_0_1_against_objectos() {
    interop(&[]);
}

/// The same client session against a server whose tenants live in PostgreSQL.
#[test]
fn objectstack_client_4_0_1_against_objectos_on_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = runtime.block_on(objectos_sql::testing::TestDatabase::create());
    interop(&["--tenant-provider", "postgres", "--tenant-db-url", &db.url]);
    drop(db);
}

/// A server with tenant `hrana`, an `item` object deployed (name: unique text, qty: number), and
/// its full-access and read-only keys.
fn hrana_server() -> (Server, String, String) {
    let server = Server::start(&[]);
    let out = server.cli(&[
        "tenant", "create", "--org", "hrana", "--plan", "pro", "--json",
    ]);
    let created: Value = serde_json::from_str(&assert_ok(&out)).unwrap();
    let key = created["credentials"]["apiKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let bundle = server._dir.path().join("item.bundle.json");
    std::fs::write(
        &bundle,
        serde_json::json!({
            "manifest": {"version": "1.0.0", "objects": ["item"]},
            "objects": [{"name": "item", "fields": {
                "name": {"type": "text", "required": true, "unique": true},
                "qty": {"type": "number"}
            }}],
            "seedData": []
        })
        .to_string(),
    )
    .unwrap();
    let out = server.cli(&[
        "deploy",
        bundle.to_str().unwrap(),
        "--tenant",
        "hrana",
        "--json",
    ]);
    assert_ok(&out);
    let out = server.cli(&[
        "key",
        "create",
        "--tenant",
        "hrana",
        "--scope",
        "read-only",
        "--json",
    ]);
    let ro: Value = serde_json::from_str(&assert_ok(&out)).unwrap();
    let ro_key = ro["apiKey"]
        .as_str()
        .unwrap_or_else(|| panic!("a read-only key: {ro}"))
        .to_owned();
    (server, key, ro_key)
}

/// The real npm libSQL client, `@libsql/client` (Hrana 2 over HTTP), against the Hrana endpoint:
/// `tests/interop/libsql.test.mjs` runs execute, batch (stored SQL, conditions, rollback on a
/// failed step), executeMultiple (sequence), interactive transactions across requests (commit,
/// rollback), error codes, a read-only key and the path-prefixed URL.
#[test]
fn libsql_client_against_objectos_hrana() {
    let root = repo_root();
    assert!(
        root.join("tests/interop/node_modules/@libsql/client/package.json")
            .is_file(),
        "run `npm ci --prefix tests/interop` first (scripts/test does it)"
    );
    let (server, key, ro_key) = hrana_server();
    let out = Command::new("node")
        .args(["--test", "tests/interop/libsql.test.mjs"])
        .current_dir(&root)
        .env("OBJECTOS_URL", &server.url)
        .env("OBJECTOS_KEY", &key)
        .env("OBJECTOS_RO_KEY", &ro_key)
        .env("OBJECTOS_TENANT", "hrana")
        .env_remove("NODE_OPTIONS")
        .output()
        .expect("run `node` (Node 20+ must be on PATH)");
    let report = stdout(&out);
    assert!(
        out.status.success(),
        "node --test tests/interop/libsql.test.mjs failed ({})\n--- stdout\n{report}\n--- stderr\n{}",
        out.status,
        stderr(&out)
    );
    assert!(report.contains("# fail 0"), "{report}");
    assert!(report.contains("# pass 7"), "{report}");
}

/// The real PyPI libSQL client (`libsql` 0.1.11, a binding of the Rust crate; scripts/test installs
/// it) against the Hrana endpoint: `tests/interop/libsql_test.py` runs execute, transactions
/// committed and rolled back, a batch, error codes and a read-only key.
#[test]
fn python_libsql_against_objectos_hrana() {
    let root = repo_root();
    let (server, key, ro_key) = hrana_server();
    let out = Command::new("python3")
        .arg("tests/interop/libsql_test.py")
        .current_dir(&root)
        .env("OBJECTOS_URL", &server.url)
        .env("OBJECTOS_KEY", &key)
        .env("OBJECTOS_RO_KEY", &ro_key)
        .output()
        .expect("run `python3` (with `pip install libsql==0.1.11`; scripts/test does it)");
    let report = stdout(&out);
    assert!(
        out.status.success(),
        "python3 tests/interop/libsql_test.py failed ({})\n--- stdout\n{report}\n--- stderr\n{}",
        out.status,
        stderr(&out)
    );
    assert!(report.contains("passed 9"), "{report}");
}

fn interop(serve_args: &[&str]) {
    let root = repo_root();
    let interop = root.join("tests/interop");
    assert!(
        interop
            .join("node_modules/@objectstack/client/package.json")
            .is_file(),
        "{} is missing the npm client: run `npm ci --prefix tests/interop` first \
         (scripts/test does it)",
        interop.join("node_modules").display()
    );

    let server = Server::start(serve_args);
    let out = server.cli(&[
        "tenant", "create", "--org", "interop", "--plan", "pro", "--json",
    ]);
    let created: Value = serde_json::from_str(&assert_ok(&out)).unwrap();
    assert_eq!(created["result"]["status"], "active", "{created}");
    assert_eq!(created["result"]["plan"], "pro", "{created}");
    let key = created["credentials"]["apiKey"]
        .as_str()
        .expect("the tenant's one-time API key")
        .to_owned();

    let bundle = root.join("examples/crm.bundle.json");
    let out = server.cli(&[
        "deploy",
        bundle.to_str().unwrap(),
        "--tenant",
        "interop",
        "--json",
    ]);
    let deployed: Value = serde_json::from_str(&assert_ok(&out)).unwrap();
    assert_eq!(deployed["status"], "ready", "{deployed}");

    let out = Command::new("node")
        .args(["--test", "tests/interop/client.test.mjs"])
        .current_dir(&root)
        .env("OBJECTOS_URL", &server.url)
        .env("OBJECTOS_KEY", &key)
        .env_remove("NODE_OPTIONS")
        .output()
        .expect("run `node` (Node 20+ must be on PATH)");
    assert!(
        out.status.success(),
        "node --test tests/interop/client.test.mjs failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    // The run really executed the client's tests.
    let report = stdout(&out);
    assert!(report.contains("# fail 0"), "{report}");
    assert!(!report.contains("# pass 0\n"), "{report}");
}
