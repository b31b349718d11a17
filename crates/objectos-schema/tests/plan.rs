//! Plans, probes, apply and dry run against real SQLite files, one test per action kind.
//!
//! Schema comparison: `ALTER TABLE … ADD COLUMN` appends, so a table changed in place can have its
//! columns in another order than the model declares. Columns are compared **by name** (both sides
//! sorted); tables that are created or rebuilt are additionally checked in the model's exact order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use objectos_schema::{
    diff, ApplyError, ApplyReport, DataCheck, DryRunReport, ModelDiff, Phase, Plan, ProbeResult,
    Rename, SchemaError, TableSchema, TableStrategy,
};
use objectos_spec::ObjectDefinition;
use objectos_sql::{Dialect, SqlValue, SqliteSession};
use proptest::prelude::*;
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection};
use serde_json::{json, Value};

mod common;
use common::{arb_case, build_a, build_b, field_rename, object_rename, widened};

// The crate's functions take a session; these run them on a rusqlite connection (or transaction).

fn plan(d: &ModelDiff, next: &[ObjectDefinition]) -> Result<Plan, SchemaError> {
    objectos_schema::plan(Dialect::Sqlite, d, next)
}

fn apply(conn: &Connection, p: &Plan) -> Result<ApplyReport, ApplyError> {
    objectos_schema::apply(&SqliteSession::new(conn), p)
}

fn apply_in(conn: &Connection, p: &Plan) -> Result<ApplyReport, ApplyError> {
    objectos_schema::apply_in(&SqliteSession::new(conn), p)
}

fn dry_run(conn: &Connection, p: &Plan) -> Result<DryRunReport, ApplyError> {
    objectos_schema::dry_run(&SqliteSession::new(conn), p)
}

fn probe(conn: &Connection, checks: &[DataCheck]) -> Result<Vec<ProbeResult>, SchemaError> {
    objectos_schema::probe(&SqliteSession::new(conn), checks)
}

fn introspect_table(conn: &Connection, table: &str) -> Result<TableSchema, SchemaError> {
    objectos_schema::introspect_table(&SqliteSession::new(conn), table)
}

fn expected_schema(object: &ObjectDefinition) -> Result<TableSchema, SchemaError> {
    objectos_schema::expected_schema(Dialect::Sqlite, object)
}

fn object(name: &str, fields: Value) -> ObjectDefinition {
    object_with(name, fields, json!([]))
}

fn object_with(name: &str, fields: Value, indexes: Value) -> ObjectDefinition {
    objectos_spec::parse(&json!({"name": name, "fields": fields, "indexes": indexes}))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn db() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join("tenant.db")).unwrap();
    // As tenant databases are opened (objectos creates no foreign keys, so this changes nothing).
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    (dir, conn)
}

/// Diff and plan, checking the MigrationPlan against the published JSON Schema.
fn make_plan(
    prev: &[ObjectDefinition],
    next: &[ObjectDefinition],
    renames: &[Rename],
) -> (ModelDiff, Plan) {
    let d = diff(prev, next, renames).unwrap();
    let p = plan(&d, next).unwrap();
    let mp = p.to_migration_plan();
    let value = serde_json::to_value(&mp).unwrap();
    let validated = objectos_spec::kind("MigrationPlan")
        .unwrap()
        .validate(&value);
    assert!(
        validated.issues.is_empty(),
        "{:?}\n{value:#}",
        validated.issues
    );
    assert_eq!(mp.dialect, "sqlite");
    for (i, s) in mp.statements.iter().enumerate() {
        assert_eq!(s.order, i as u64);
    }
    assert_eq!(mp.reversible, mp.statements.iter().all(|s| s.reversible));
    // Phases never go backwards.
    for w in p.statements.windows(2) {
        let rank = |ph: Phase| match ph {
            Phase::Alter | Phase::Rebuild => 3,
            Phase::DropIndexes => 0,
            Phase::DropTables => 1,
            Phase::RenameTables => 2,
            Phase::CreateTables => 4,
            Phase::CreateIndexes => 5,
        };
        assert!(rank(w[0].phase) <= rank(w[1].phase), "{p:#?}");
    }
    (d, p)
}

/// Plans and applies `prev` → `next`, then checks the live schema against `next`.
fn deploy(
    conn: &Connection,
    prev: &[ObjectDefinition],
    next: &[ObjectDefinition],
    renames: &[Rename],
) -> (ModelDiff, Plan) {
    let (d, p) = make_plan(prev, next, renames);
    apply(conn, &p).unwrap_or_else(|e| panic!("{e}\n{p:#?}"));
    assert_schema(conn, next, &d);
    (d, p)
}

fn by_name(mut s: TableSchema) -> TableSchema {
    s.columns.sort_by(|a, b| a.name.cmp(&b.name));
    s
}

fn tables(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every table of the model is as expected (columns by name; exact order when created/rebuilt), and
/// no other table exists.
fn assert_schema(conn: &Connection, model: &[ObjectDefinition], d: &ModelDiff) {
    let mut names: Vec<String> = model.iter().map(|o| o.name.clone()).collect();
    names.sort();
    assert_eq!(tables(conn), names);
    for object in model {
        let live = introspect_table(conn, &object.name).unwrap();
        let want = expected_schema(object).unwrap();
        let diffs = by_name(live.clone()).differences(&by_name(want.clone()));
        assert!(diffs.is_empty(), "{}: {diffs:#?}", object.name);
        let rebuilt = d.per_table_actions().tables.iter().any(|a| {
            a.next.as_ref().map(|n| n.as_str()) == Some(object.name.as_str())
                && matches!(
                    a.strategy,
                    TableStrategy::Create(_) | TableStrategy::Rebuild { .. }
                )
        });
        if rebuilt {
            assert_eq!(live, want, "{} in model order", object.name);
        }
    }
}

type Rows = BTreeMap<String, BTreeMap<String, Sql>>;

/// Every row of `table`, keyed by id, every column by name.
fn rows(conn: &Connection, table: &str) -> Rows {
    let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut out = BTreeMap::new();
    let mut q = stmt.query([]).unwrap();
    while let Some(row) = q.next().unwrap() {
        let mut m = BTreeMap::new();
        for (i, n) in names.iter().enumerate() {
            m.insert(n.clone(), row.get::<_, Sql>(i).unwrap());
        }
        let id = match m.get("id") {
            Some(Sql::Text(t)) => t.clone(),
            other => panic!("{other:?}"),
        };
        out.insert(id, m);
    }
    out
}

/// Inserts one row; `values` are (column, value).
fn insert(conn: &Connection, table: &str, id: &str, values: &[(&str, Sql)]) {
    let mut cols = vec!["id", "created_at", "updated_at"];
    let mut vals = vec![
        Sql::Text(id.into()),
        Sql::Text("2026-01-01T00:00:00Z".into()),
        Sql::Text("2026-01-01T00:00:00Z".into()),
    ];
    for (c, v) in values {
        cols.push(c);
        vals.push(v.clone());
    }
    let quoted: Vec<String> = cols.iter().map(|c| format!("\"{c}\"")).collect();
    let marks: Vec<&str> = cols.iter().map(|_| "?").collect();
    conn.execute(
        &format!(
            "INSERT INTO \"{table}\" ({}) VALUES ({})",
            quoted.join(", "),
            marks.join(", ")
        ),
        params_from_iter(vals),
    )
    .unwrap();
}

fn text(s: &str) -> Sql {
    Sql::Text(s.into())
}

/// A logical dump: every schema row and every table's rows.
fn dump(conn: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    let mut stmt = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        .unwrap();
    let schema: Vec<(String, String, String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (ty, name, table, sql) in &schema {
        out.push(format!("{ty} {name} {table} {sql:?}"));
    }
    for table in tables(conn) {
        for (id, row) in rows(conn, &table) {
            out.push(format!("{table} {id} {row:?}"));
        }
    }
    out
}

/// The database file's length and a hash of its bytes (SHA-256 is not a dependency; FNV-1a 64 is
/// enough to detect a change).
fn file_bytes(dir: &tempfile::TempDir) -> (usize, u64) {
    let bytes = std::fs::read(dir.path().join("tenant.db")).unwrap();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in &bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (bytes.len(), hash)
}

fn statement<'a>(p: &'a Plan, prefix: &str) -> &'a objectos_schema::PlannedStatement {
    p.statements
        .iter()
        .find(|s| s.sql.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix}: {p:#?}"))
}

fn task(fields: Value) -> ObjectDefinition {
    object("task", fields)
}

/// `task` with title/points and three rows.
fn seeded() -> (tempfile::TempDir, Connection, Vec<ObjectDefinition>) {
    let (dir, conn) = db();
    let a = vec![task(
        json!({"title": {"type": "text", "index": true}, "points": {"type": "number"}}),
    )];
    deploy(&conn, &[], &a, &[]);
    insert(
        &conn,
        "task",
        "t1",
        &[("title", text("one")), ("points", Sql::Real(1.5))],
    );
    insert(
        &conn,
        "task",
        "t2",
        &[("title", text("two")), ("points", Sql::Real(2.0))],
    );
    insert(
        &conn,
        "task",
        "t3",
        &[("title", Sql::Null), ("points", Sql::Null)],
    );
    (dir, conn, a)
}

/// The values of `column` by id.
fn column(r: &Rows, column: &str) -> BTreeMap<String, Sql> {
    r.iter()
        .map(|(id, row)| (id.clone(), row.get(column).cloned().unwrap_or(Sql::Null)))
        .collect()
}

// ----- one test per action kind -----------------------------------------------------------------

#[test]
fn create_table_is_reversible() {
    let (_dir, conn) = db();
    let next = vec![object_with(
        "task",
        json!({"title": {"type": "text", "unique": true}, "done": {"type": "boolean", "required": true, "defaultValue": false}}),
        json!([{"fields": ["done", "title"]}]),
    )];
    let (_, p) = deploy(&conn, &[], &next, &[]);
    assert!(p.reversible());
    let create = statement(&p, "CREATE TABLE");
    assert_eq!(create.rollback_sql.as_deref(), Some("DROP TABLE \"task\""));
    let index = statement(&p, "CREATE UNIQUE INDEX");
    assert!(index
        .rollback_sql
        .as_deref()
        .unwrap()
        .starts_with("DROP INDEX"));
    // The reverse statements undo it.
    for sql in p.rollback_statements().unwrap() {
        conn.execute_batch(&sql).unwrap();
    }
    assert!(tables(&conn).is_empty());
}

#[test]
fn add_optional_column_alters_and_reverses() {
    let (_dir, conn, a) = seeded();
    let before = rows(&conn, "task");
    let b = vec![task(
        json!({"title": {"type": "text", "index": true}, "points": {"type": "number"}, "notes": {"type": "textarea"}}),
    )];
    let (_, p) = deploy(&conn, &a, &b, &[]);
    assert_eq!(p.statements.len(), 1);
    let add = &p.statements[0];
    assert_eq!(add.phase, Phase::Alter);
    assert_eq!(add.sql, "ALTER TABLE \"task\" ADD COLUMN \"notes\" TEXT");
    assert_eq!(
        add.rollback_sql.as_deref(),
        Some("ALTER TABLE \"task\" DROP COLUMN \"notes\"")
    );
    let after = rows(&conn, "task");
    for (id, row) in &before {
        for (c, v) in row {
            assert_eq!(&after[id][c], v);
        }
        assert_eq!(after[id]["notes"], Sql::Null);
    }
}

#[test]
fn add_required_column_with_default_to_populated_table() {
    let (_dir, conn, a) = seeded();
    let b = vec![task(
        json!({"title": {"type": "text", "index": true}, "points": {"type": "number"}, "status": {"type": "text", "required": true, "defaultValue": "open"}, "done": {"type": "boolean", "required": true, "defaultValue": true}}),
    )];
    let (_, p) = deploy(&conn, &a, &b, &[]);
    assert!(!p.has_rebuild(), "{p:#?}");
    let after = rows(&conn, "task");
    assert_eq!(after.len(), 3);
    for row in after.values() {
        assert_eq!(row["status"], text("open"));
        assert_eq!(row["done"], Sql::Integer(1));
    }
}

#[test]
fn rename_column_keeps_values_and_reverses() {
    let (_dir, conn, a) = seeded();
    let before = rows(&conn, "task");
    let b = vec![task(
        json!({"subject": {"type": "text", "index": true}, "points": {"type": "number"}}),
    )];
    let (_, p) = deploy(&conn, &a, &b, &[field_rename("task", "title", "subject")]);
    assert!(!p.has_rebuild());
    let rename = statement(&p, "ALTER TABLE \"task\" RENAME COLUMN");
    assert_eq!(
        rename.rollback_sql.as_deref(),
        Some("ALTER TABLE \"task\" RENAME COLUMN \"subject\" TO \"title\"")
    );
    assert_eq!(
        column(&rows(&conn, "task"), "subject"),
        column(&before, "title")
    );
}

#[test]
fn swap_two_columns() {
    let (_dir, conn) = db();
    let a = vec![task(json!({"a": {"type": "text"}, "b": {"type": "text"}}))];
    deploy(&conn, &[], &a, &[]);
    insert(&conn, "task", "x", &[("a", text("A")), ("b", text("B"))]);
    let b = vec![task(json!({"b": {"type": "text"}, "a": {"type": "text"}}))];
    let (_, p) = deploy(
        &conn,
        &a,
        &b,
        &[
            field_rename("task", "a", "b"),
            field_rename("task", "b", "a"),
        ],
    );
    assert!(p.reversible());
    let r = rows(&conn, "task");
    assert_eq!(r["x"]["a"], text("B"));
    assert_eq!(r["x"]["b"], text("A"));
}

#[test]
fn rename_table_keeps_rows() {
    let (_dir, conn, a) = seeded();
    let before = rows(&conn, "task");
    let b = vec![object(
        "todo",
        json!({"title": {"type": "text", "index": true}, "points": {"type": "number"}}),
    )];
    let (_, p) = deploy(&conn, &a, &b, &[object_rename("task", "todo")]);
    let rename = statement(&p, "ALTER TABLE \"task\" RENAME TO \"todo\"");
    assert_eq!(
        rename.rollback_sql.as_deref(),
        Some("ALTER TABLE \"todo\" RENAME TO \"task\"")
    );
    assert_eq!(rows(&conn, "todo"), before);
}

#[test]
fn swap_two_tables() {
    let (_dir, conn) = db();
    let a = vec![
        object("a", json!({"x": {"type": "text", "unique": true}})),
        object("b", json!({"y": {"type": "number"}})),
    ];
    deploy(&conn, &[], &a, &[]);
    insert(&conn, "a", "a1", &[("x", text("hello"))]);
    insert(&conn, "b", "b1", &[("y", Sql::Real(4.5))]);
    let (ra, rb) = (rows(&conn, "a"), rows(&conn, "b"));
    let b = vec![
        object("a", json!({"y": {"type": "number"}})),
        object("b", json!({"x": {"type": "text", "unique": true}})),
    ];
    let (_, p) = deploy(
        &conn,
        &a,
        &b,
        &[object_rename("a", "b"), object_rename("b", "a")],
    );
    assert!(p
        .statements
        .iter()
        .any(|s| s.sql.contains("_objectos_tmp_")));
    assert_eq!(rows(&conn, "b"), ra);
    assert_eq!(rows(&conn, "a"), rb);
}

#[test]
fn drop_column_indexed_and_not() {
    let (_dir, conn, a) = seeded();
    let before = rows(&conn, "task");
    // `title` is indexed: its index goes first, then the column.
    let b = vec![task(json!({"points": {"type": "number"}}))];
    let (_, p) = deploy(&conn, &a, &b, &[]);
    assert!(!p.has_rebuild(), "{p:#?}");
    assert_eq!(p.statements[0].sql, "DROP INDEX \"idx_task_title\"");
    assert!(p.statements[0].reversible);
    let drop = statement(&p, "ALTER TABLE \"task\" DROP COLUMN \"title\"");
    assert!(!drop.reversible);
    assert!(!p.reversible());
    assert_eq!(
        column(&rows(&conn, "task"), "points"),
        column(&before, "points")
    );
    // Not indexed.
    let c = vec![task(json!({}))];
    let (_, p) = deploy(&conn, &b, &c, &[]);
    assert_eq!(p.statements.len(), 1);
    assert_eq!(rows(&conn, "task").len(), 3);
}

#[test]
fn drop_table_is_not_reversible() {
    let (_dir, conn, a) = seeded();
    let keep = object("note", json!({"body": {"type": "text"}}));
    let mut with_note = a.clone();
    with_note.push(keep.clone());
    deploy(&conn, &a, &with_note, &[]);
    let (_, p) = deploy(&conn, &with_note, &[keep], &[]);
    assert_eq!(p.statements.len(), 1);
    assert_eq!(p.statements[0].sql, "DROP TABLE \"task\"");
    assert!(!p.reversible());
    assert!(!p.to_migration_plan().reversible);
}

#[test]
fn widening_integer_to_real_and_anything_to_text() {
    let (_dir, conn) = db();
    let a = vec![task(json!({
        "n": {"type": "number", "scale": 0},
        "r": {"type": "number"},
        "b": {"type": "boolean"},
        "i": {"type": "number", "scale": 0, "index": true}
    }))];
    deploy(&conn, &[], &a, &[]);
    insert(
        &conn,
        "task",
        "x",
        &[
            ("n", Sql::Integer(7)),
            ("r", Sql::Real(1.25)),
            ("b", Sql::Integer(1)),
            ("i", Sql::Integer(-3)),
        ],
    );
    insert(
        &conn,
        "task",
        "y",
        &[
            ("n", Sql::Null),
            ("r", Sql::Real(2.0)),
            ("b", Sql::Integer(0)),
        ],
    );
    let b = vec![task(json!({
        "n": {"type": "number"},
        "r": {"type": "text"},
        "b": {"type": "text"},
        "i": {"type": "text", "index": true}
    }))];
    let (d, p) = deploy(&conn, &a, &b, &[]);
    assert!(!d.has_breaking_changes());
    assert!(p.has_rebuild());
    assert!(!p.reversible());
    // One rebuild: one CREATE of the temporary table, one copy.
    assert_eq!(
        p.statements
            .iter()
            .filter(|s| s.sql.starts_with("INSERT INTO"))
            .count(),
        1
    );
    let r = rows(&conn, "task");
    assert_eq!(r["x"]["n"], Sql::Real(7.0));
    assert_eq!(r["y"]["n"], Sql::Null);
    assert_eq!(r["x"]["r"], text("1.25"));
    assert_eq!(r["y"]["r"], text("2.0"));
    assert_eq!(r["x"]["b"], text("1"));
    assert_eq!(r["x"]["i"], text("-3"));
    assert_eq!(r["y"]["i"], Sql::Null);
}

#[test]
fn narrowing_real_to_integer_is_probed() {
    let a = vec![task(json!({"points": {"type": "number"}}))];
    let b = vec![task(json!({"points": {"type": "number", "scale": 0}}))];

    // Fractional values: the probe counts them, the dry run fails on the STRICT copy.
    let (dir, conn) = db();
    deploy(&conn, &[], &a, &[]);
    insert(&conn, "task", "a", &[("points", Sql::Real(1.5))]);
    insert(&conn, "task", "b", &[("points", Sql::Real(2.0))]);
    insert(&conn, "task", "c", &[("points", Sql::Real(-0.25))]);
    insert(&conn, "task", "d", &[("points", Sql::Null)]);
    let (d, p) = make_plan(&a, &b, &[]);
    let checks: Vec<DataCheck> = d.data_checks().into_iter().cloned().collect();
    assert_eq!(checks.len(), 1);
    let found = probe(&conn, &checks).unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0].failed);
    assert_eq!(found[0].rows, 2, "{}", found[0].message);
    let bytes = file_bytes(&dir);
    let report = dry_run(&conn, &p).unwrap();
    let failure = report.failure.unwrap();
    assert!(failure.sql.starts_with("INSERT INTO"), "{failure:?}");
    assert_eq!(failure.code.as_deref(), Some("SQLITE_CONSTRAINT_DATATYPE"));
    assert_eq!(file_bytes(&dir), bytes);

    // Whole values: the probe passes and the data converts.
    let (_dir, conn) = db();
    deploy(&conn, &[], &a, &[]);
    insert(&conn, "task", "a", &[("points", Sql::Real(3.0))]);
    insert(&conn, "task", "b", &[("points", Sql::Null)]);
    let found = probe(&conn, &checks).unwrap();
    assert!(!found[0].failed);
    assert_eq!(found[0].rows, 0);
    assert!(dry_run(&conn, &p).unwrap().ok());
    deploy(&conn, &a, &b, &[]);
    let r = rows(&conn, "task");
    assert_eq!(r["a"]["points"], Sql::Integer(3));
    assert_eq!(r["b"]["points"], Sql::Null);
}

#[test]
fn narrowing_text_to_number_probe_counts_non_numeric() {
    let (_dir, conn) = db();
    let a = vec![task(json!({"code": {"type": "text"}}))];
    deploy(&conn, &[], &a, &[]);
    for (id, v) in [
        ("a", "12"),
        ("b", "1.5"),
        ("c", "abc"),
        ("d", "2.0"),
        ("e", ""),
    ] {
        insert(&conn, "task", id, &[("code", text(v))]);
    }
    let to_int = vec![task(json!({"code": {"type": "number", "scale": 0}}))];
    let to_real = vec![task(json!({"code": {"type": "number"}}))];
    let count = |next: &[ObjectDefinition]| {
        let (d, _) = make_plan(&a, next, &[]);
        let checks: Vec<DataCheck> = d.data_checks().into_iter().cloned().collect();
        probe(&conn, &checks).unwrap()[0].rows
    };
    // 1.5, abc and '' do not fit an INTEGER; abc and '' do not fit a REAL.
    assert_eq!(count(&to_int), 3);
    assert_eq!(count(&to_real), 2);
}

#[test]
fn required_toggle_with_and_without_nulls() {
    let (dir, conn, a) = seeded();
    let b = vec![task(
        json!({"title": {"type": "text", "index": true, "required": true}, "points": {"type": "number"}}),
    )];
    let (d, p) = make_plan(&a, &b, &[]);
    let checks: Vec<DataCheck> = d.data_checks().into_iter().cloned().collect();
    assert!(matches!(&checks[..], [DataCheck::NullsIn { column, .. }] if column == "title"));
    let found = probe(&conn, &checks).unwrap();
    assert!(found[0].failed);
    assert_eq!(found[0].rows, 1);
    let bytes = file_bytes(&dir);
    let report = dry_run(&conn, &p).unwrap();
    let failure = report.failure.expect("NOT NULL over a null");
    assert_eq!(failure.code.as_deref(), Some("SQLITE_CONSTRAINT_NOTNULL"));
    assert!(failure.message.contains("title"), "{failure:?}");
    assert_eq!(file_bytes(&dir), bytes);
    let err = apply(&conn, &p).unwrap_err();
    assert!(matches!(err, ApplyError::Statement { .. }), "{err}");

    // Without nulls it applies; relaxing it again is safe.
    conn.execute("UPDATE task SET title = 'three' WHERE id = 't3'", [])
        .unwrap();
    assert!(!probe(&conn, &checks).unwrap()[0].failed);
    let before = rows(&conn, "task");
    deploy(&conn, &a, &b, &[]);
    assert_eq!(rows(&conn, "task"), before);
    let (d, _) = deploy(&conn, &b, &a, &[]);
    assert!(!d.has_breaking_changes());
    assert_eq!(rows(&conn, "task"), before);
}

#[test]
fn required_with_default_fills_nulls() {
    let (_dir, conn, a) = seeded();
    let b = vec![task(
        json!({"title": {"type": "text", "index": true, "required": true, "defaultValue": "untitled"}, "points": {"type": "number"}}),
    )];
    let (d, p) = deploy(&conn, &a, &b, &[]);
    assert!(d.data_checks().is_empty());
    assert!(statement(&p, "INSERT INTO")
        .sql
        .contains("COALESCE(\"title\", 'untitled')"));
    let r = rows(&conn, "task");
    assert_eq!(r["t3"]["title"], text("untitled"));
    assert_eq!(r["t1"]["title"], text("one"));
}

#[test]
fn unique_over_duplicates_is_probed_and_dry_run_names_the_statement() {
    let (dir, conn, a) = seeded();
    insert(&conn, "task", "t4", &[("title", text("one"))]);
    insert(&conn, "task", "t5", &[("title", text("one"))]);
    insert(&conn, "task", "t6", &[("title", text("two"))]);
    insert(&conn, "task", "t7", &[("title", Sql::Null)]);
    let b = vec![task(
        json!({"title": {"type": "text", "unique": true}, "points": {"type": "number"}}),
    )];
    let (d, p) = make_plan(&a, &b, &[]);
    let checks: Vec<DataCheck> = d.data_checks().into_iter().cloned().collect();
    let found = probe(&conn, &checks).unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0].failed);
    assert_eq!(found[0].groups, Some(2), "{}", found[0].message);
    assert_eq!(found[0].rows, 5);

    let bytes = file_bytes(&dir);
    let before = dump(&conn);
    let report = dry_run(&conn, &p).unwrap();
    let failure = report.failure.clone().expect("duplicates");
    assert_eq!(
        failure.sql,
        "CREATE UNIQUE INDEX \"uq_task_title\" ON \"task\" (\"title\")"
    );
    assert_eq!(failure.code.as_deref(), Some("SQLITE_CONSTRAINT_UNIQUE"));
    assert_eq!(report.executed as u64, failure.order);
    assert_eq!(file_bytes(&dir), bytes, "dry run changed the file");
    assert_eq!(dump(&conn), before);
}

#[test]
fn dry_run_success_changes_nothing() {
    let (dir, conn, a) = seeded();
    let b = vec![object(
        "todo",
        json!({"subject": {"type": "text"}, "points": {"type": "number", "scale": 0}, "extra": {"type": "text"}}),
    )];
    let renames = [
        object_rename("task", "todo"),
        field_rename("todo", "title", "subject"),
    ];
    let (_, p) = make_plan(&a, &b, &renames);
    conn.execute("UPDATE task SET points = 2.0 WHERE id = 't1'", [])
        .unwrap();
    let (bytes, before) = (file_bytes(&dir), dump(&conn));
    let report = dry_run(&conn, &p).unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.executed, p.statements.len());
    assert_eq!(file_bytes(&dir), bytes);
    assert_eq!(dump(&conn), before);
}

#[test]
fn multi_change_rebuild_of_ten_thousand_rows() {
    let (_dir, mut conn) = db();
    let a = vec![object_with(
        "deal",
        json!({
            "name": {"type": "text", "index": true},
            "amount": {"type": "number", "scale": 0},
            "stage": {"type": "text"},
            "note": {"type": "textarea"},
            "flag": {"type": "boolean"},
            "gone": {"type": "text", "index": true}
        }),
        json!([{"fields": ["stage", "amount"]}]),
    )];
    deploy(&conn, &[], &a, &[]);
    {
        let tx = conn.transaction().unwrap();
        for i in 0..10_000i64 {
            insert(
                &tx,
                "deal",
                &format!("d{i:05}"),
                &[
                    ("name", text(&format!("deal {i}"))),
                    ("amount", Sql::Integer(i * 3)),
                    (
                        "stage",
                        if i % 7 == 0 {
                            Sql::Null
                        } else {
                            text(["open", "won", "lost"][(i % 3) as usize])
                        },
                    ),
                    ("note", text(&format!("it's note {i}"))),
                    ("flag", Sql::Integer(i % 2)),
                    ("gone", text("x")),
                ],
            );
        }
        tx.commit().unwrap();
    }
    let before = rows(&conn, "deal");
    let b = vec![object_with(
        "opportunity",
        json!({
            "title": {"type": "text", "index": true},
            "amount": {"type": "number"},
            "stage": {"type": "text", "required": true, "defaultValue": "open"},
            "note": {"type": "textarea"},
            "flag": {"type": "text"},
            "added": {"type": "text", "defaultValue": "new"}
        }),
        json!([{"fields": ["stage", "amount"]}]),
    )];
    let renames = [
        object_rename("deal", "opportunity"),
        field_rename("opportunity", "name", "title"),
    ];
    let (d, p) = make_plan(&a, &b, &renames);
    assert_eq!(d.requires_ack(), vec!["field:opportunity.gone".to_owned()]);
    assert_eq!(
        p.statements
            .iter()
            .filter(|s| s.phase == Phase::Rebuild)
            .count(),
        4
    );
    apply(&conn, &p).unwrap();
    assert_schema(&conn, &b, &d);
    let after = rows(&conn, "opportunity");
    assert_eq!(after.len(), 10_000);
    for (id, old) in &before {
        let new = &after[id];
        assert_eq!(new["title"], old["name"]);
        assert_eq!(new["created_at"], old["created_at"]);
        assert_eq!(new["note"], old["note"]);
        match old["amount"] {
            Sql::Integer(n) => assert_eq!(new["amount"], Sql::Real(n as f64)),
            ref other => panic!("{other:?}"),
        }
        match &old["stage"] {
            Sql::Null => assert_eq!(new["stage"], text("open")),
            s => assert_eq!(&new["stage"], s),
        }
        match old["flag"] {
            Sql::Integer(n) => assert_eq!(new["flag"], text(&n.to_string())),
            ref other => panic!("{other:?}"),
        }
        assert_eq!(new["added"], text("new"));
        assert!(!new.contains_key("gone"));
    }
}

#[test]
fn failure_late_in_the_plan_changes_nothing() {
    let (dir, conn, a) = seeded();
    insert(&conn, "task", "t4", &[("title", text("one"))]);
    // Renames, an add, a rebuild and a new table run first; the unique index over duplicates is
    // created last and fails.
    let b = vec![
        object(
            "todo",
            json!({"subject": {"type": "text", "unique": true}, "points": {"type": "number", "scale": 0}, "extra": {"type": "text"}}),
        ),
        object("other", json!({"x": {"type": "text"}})),
    ];
    let renames = [
        object_rename("task", "todo"),
        field_rename("todo", "title", "subject"),
    ];
    conn.execute("UPDATE task SET points = 2.0 WHERE id = 't1'", [])
        .unwrap();
    let (_, p) = make_plan(&a, &b, &renames);
    let last = p.statements.last().unwrap();
    assert!(last.sql.starts_with("CREATE UNIQUE INDEX"), "{p:#?}");
    let before = dump(&conn);
    let schema = introspect_table(&conn, "task").unwrap();
    let err = apply(&conn, &p).unwrap_err();
    match &err {
        ApplyError::Statement { order, code, .. } => {
            assert_eq!(*order as usize, p.statements.len() - 1);
            assert_eq!(code.as_deref(), Some("SQLITE_CONSTRAINT_UNIQUE"));
        }
        other => panic!("{other}"),
    }
    assert_eq!(dump(&conn), before);
    assert_eq!(introspect_table(&conn, "task").unwrap(), schema);
    drop(conn);
    // Reopened from disk: still as before.
    let conn = Connection::open(dir.path().join("tenant.db")).unwrap();
    assert_eq!(dump(&conn), before);
}

#[test]
fn apply_in_shares_the_callers_transaction() {
    let (_dir, mut conn, a) = seeded();
    let b = vec![task(
        json!({"title": {"type": "text", "index": true}, "points": {"type": "number"}, "notes": {"type": "text"}}),
    )];
    let (_, p) = make_plan(&a, &b, &[]);
    let before = dump(&conn);
    {
        let tx = conn.transaction().unwrap();
        apply_in(&tx, &p).unwrap();
        tx.execute_batch("CREATE TABLE ledger (x TEXT)").unwrap();
        // Dropped without commit: the DDL and the ledger write go together.
    }
    assert_eq!(dump(&conn), before);
    let tx = conn.transaction().unwrap();
    let report = apply_in(&tx, &p).unwrap();
    assert_eq!(report.statements, 1);
    tx.execute_batch("CREATE TABLE ledger (x TEXT)").unwrap();
    tx.commit().unwrap();
    assert!(tables(&conn).contains(&"ledger".to_owned()));
    assert!(introspect_table(&conn, "task")
        .unwrap()
        .columns
        .iter()
        .any(|c| c.name == "notes"));
}

#[test]
fn probe_refuses_bad_identifiers() {
    let (_dir, conn, _) = seeded();
    let bad = DataCheck::NullsIn {
        table: "task\"; DROP TABLE task; --".into(),
        column: "title".into(),
    };
    assert!(probe(&conn, &[bad]).is_err());
    let all = DataCheck::All(vec![
        DataCheck::NonEmptyTable {
            table: "task".into(),
        },
        DataCheck::MultipleRows {
            table: "task".into(),
        },
    ]);
    let found = probe(&conn, &[all]).unwrap();
    assert_eq!(found.len(), 2);
    assert!(found.iter().all(|f| f.failed && f.rows == 3));
}

// ----- property test ----------------------------------------------------------------------------

fn to_sql(v: &SqlValue) -> Sql {
    match v {
        SqlValue::Null => Sql::Null,
        SqlValue::Integer(i) => Sql::Integer(*i),
        SqlValue::Real(r) => Sql::Real(*r),
        SqlValue::Text(t) => Sql::Text(t.clone()),
        other => panic!("not a SQLite value: {other:?}"),
    }
}

fn from_sql(v: &Sql) -> SqlValue {
    match v {
        Sql::Null => SqlValue::Null,
        Sql::Integer(i) => SqlValue::Integer(*i),
        Sql::Real(r) => SqlValue::Real(*r),
        Sql::Text(t) => SqlValue::Text(t.clone()),
        Sql::Blob(_) => panic!("blob"),
    }
}

fn back_renames(d: &ModelDiff) -> &[Rename] {
    d.inverse_renames()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn random_model_changes_preserve_schema_and_values((m, e, data) in arb_case(false)) {
        let (_dir, conn) = db();
        let a = build_a(&m);
        deploy(&conn, &[], &a, &[]);
        for (oi, (name, fields)) in m.objects.iter().enumerate() {
            for (ri, row) in data[oi].iter().enumerate() {
                let values: Vec<(String, Sql)> = fields
                    .iter()
                    .enumerate()
                    .map(|(fi, _)| (format!("f{fi}"), to_sql(&row[fi])))
                    .collect();
                let refs: Vec<(&str, Sql)> = values.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                insert(&conn, name, &format!("r{ri}"), &refs);
            }
        }
        let before: BTreeMap<String, Rows> = m
            .objects
            .iter()
            .map(|(name, _)| (name.clone(), rows(&conn, name)))
            .collect();
        let (b, renames, survivors) = build_b(&m, &e);
        let (d, p) = make_plan(&a, &b, &renames);
        // Only the dropped optional fields need an acknowledgement.
        for token in d.requires_ack() {
            prop_assert!(token.starts_with("field:"), "{}", token);
        }
        let checks: Vec<DataCheck> = d.data_checks().into_iter().cloned().collect();
        let refused = probe(&conn, &checks).unwrap().iter().any(|r| r.failed);
        // The probes and the dry run agree; a refused plan fails as a whole and changes nothing.
        let report = dry_run(&conn, &p).unwrap();
        prop_assert_eq!(refused, !report.ok(), "{:?}", report);
        if refused {
            let whole = dump(&conn);
            prop_assert!(apply(&conn, &p).is_err());
            prop_assert_eq!(dump(&conn), whole);
            return Ok(());
        }
        apply(&conn, &p).unwrap_or_else(|err| panic!("{err}\n{p:#?}"));
        assert_schema(&conn, &b, &d);
        let after: BTreeMap<String, Rows> = b.iter().map(|o| (o.name.clone(), rows(&conn, &o.name))).collect();
        for (old_obj, old_key, new_obj, new_key, kind) in &survivors {
            let (oi, _) = m.objects.iter().enumerate().find(|(_, (n, _))| n == old_obj).unwrap();
            let fi: usize = old_key[1..].parse().unwrap();
            let from = m.objects[oi].1[fi].kind;
            prop_assert_eq!(before[old_obj].len(), after[new_obj].len());
            for (id, row) in &before[old_obj] {
                let want = to_sql(&widened(&from_sql(&row[old_key]), from, *kind));
                prop_assert_eq!(&after[new_obj][id][new_key], &want, "{}.{} row {}", new_obj, new_key, id);
            }
        }

        // Roll back: a new deployment B → A with the inverse renames. Its narrowings only meet
        // values that came from A, so every probe passes, and every surviving value comes back
        // exactly; dropped (optional) fields come back empty.
        let (back, back_plan) = make_plan(&b, &a, back_renames(&d));
        let checks: Vec<DataCheck> = back.data_checks().into_iter().cloned().collect();
        let failed: Vec<_> = probe(&conn, &checks).unwrap().into_iter().filter(|r| r.failed).collect();
        prop_assert!(failed.is_empty(), "{:?}", failed);
        apply(&conn, &back_plan).unwrap_or_else(|err| panic!("{err}\n{back_plan:#?}"));
        assert_schema(&conn, &a, &back);
        let survived: Vec<(&str, &str)> = survivors.iter().map(|s| (s.0.as_str(), s.1.as_str())).collect();
        for (name, _) in &m.objects {
            let restored = rows(&conn, name);
            prop_assert_eq!(restored.len(), before[name].len());
            for (id, row) in &before[name] {
                for (col, value) in row {
                    let kept = !col.starts_with('f') || survived.contains(&(name.as_str(), col.as_str()));
                    let want = if kept { value.clone() } else { Sql::Null };
                    prop_assert_eq!(&restored[id][col], &want, "{}.{} row {}", name, col, id);
                }
            }
        }
    }
}

#[test]
fn dry_run_inside_a_callers_transaction_keeps_the_callers_writes() {
    let (_dir, mut conn, a) = seeded();
    let b = vec![task(
        json!({"title": {"type": "text", "unique": true}, "points": {"type": "number", "scale": 0}}),
    )];
    let (_, p) = make_plan(&a, &b, &[]);
    let tx = conn.transaction().unwrap();
    tx.execute("UPDATE task SET points = 9.0 WHERE id = 't1'", [])
        .unwrap();
    let before = dump(&tx);
    let report = dry_run(&tx, &p).unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(dump(&tx), before);
    tx.commit().unwrap();
    assert_eq!(rows(&conn, "task")["t1"]["points"], Sql::Real(9.0));
    assert!(introspect_table(&conn, "task")
        .unwrap()
        .indexes
        .iter()
        .all(|i| !i.unique));
}

#[test]
fn dry_run_in_wal_mode_leaves_the_file_unchanged() {
    let (dir, conn, a) = seeded();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    let b = vec![object(
        "todo",
        json!({"title": {"type": "text", "required": true}, "points": {"type": "text"}}),
    )];
    let (_, p) = make_plan(&a, &b, &[object_rename("task", "todo")]);
    let (bytes, before) = (file_bytes(&dir), dump(&conn));
    let report = dry_run(&conn, &p).unwrap();
    assert_eq!(
        report.failure.unwrap().code.as_deref(),
        Some("SQLITE_CONSTRAINT_NOTNULL")
    );
    assert_eq!(dump(&conn), before);
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    assert_eq!(file_bytes(&dir), bytes);
}

#[test]
fn interrupted_after_any_statement_nothing_changes() {
    // A failpoint between every pair of statements: after a prefix of the plan has run inside the
    // transaction, the database file and its journal are copied as they are on disk (the image a
    // SIGKILL would leave), and the copy is opened: SQLite rolls the hot journal back.
    let (dir, mut conn, a) = seeded();
    let b = vec![
        object(
            "todo",
            json!({"subject": {"type": "text", "unique": true}, "points": {"type": "text"}, "extra": {"type": "text"}}),
        ),
        object("other", json!({"x": {"type": "text", "index": true}})),
    ];
    let renames = [
        object_rename("task", "todo"),
        field_rename("todo", "title", "subject"),
    ];
    let (_, p) = make_plan(&a, &b, &renames);
    assert!(p.has_rebuild() && p.statements.len() > 8, "{p:#?}");
    // A tiny page cache so that uncommitted pages spill to the file mid-transaction.
    conn.pragma_update(None, "cache_size", 1).unwrap();
    let before = dump(&conn);
    for k in 0..=p.statements.len() {
        let prefix = Plan {
            dialect: Dialect::Sqlite,
            statements: p.statements[..k].to_vec(),
        };
        let tx = conn.transaction().unwrap();
        apply_in(&tx, &prefix).unwrap();
        let crash = tempfile::tempdir().unwrap();
        for file in ["tenant.db", "tenant.db-journal"] {
            let from = dir.path().join(file);
            if from.exists() {
                std::fs::copy(&from, crash.path().join(file)).unwrap();
            }
        }
        drop(tx);
        let image = Connection::open(crash.path().join("tenant.db")).unwrap();
        assert_eq!(dump(&image), before, "crash image after {k} statements");
        assert_eq!(dump(&conn), before, "rolled back after {k} statements");
    }
}

#[test]
fn reversible_plan_reverses_exactly() {
    let (_dir, mut conn, a) = seeded();
    let mut a2 = a.clone();
    a2.push(object_with(
        "note",
        json!({"body": {"type": "text"}, "tag": {"type": "text"}}),
        json!([{"fields": ["tag", "body"]}]),
    ));
    deploy(&conn, &a, &a2, &[]);
    insert(
        &conn,
        "note",
        "n1",
        &[("body", text("b")), ("tag", text("t"))],
    );
    let before = dump(&conn);
    // Rename a table and a column, add an indexed column, add and drop indexes, create a table.
    let b = vec![
        object(
            "todo",
            json!({"subject": {"type": "text"}, "points": {"type": "number", "index": true}, "due": {"type": "date", "index": true}}),
        ),
        object_with(
            "note",
            json!({"body": {"type": "text", "index": true}, "tag": {"type": "text"}}),
            json!([]),
        ),
        object("fresh", json!({"x": {"type": "text", "unique": true}})),
    ];
    let renames = [
        object_rename("task", "todo"),
        field_rename("todo", "title", "subject"),
    ];
    let (_, p) = deploy(&conn, &a2, &b, &renames);
    assert!(p.reversible(), "{p:#?}");
    assert!(!p.has_rebuild());
    let tx = conn.transaction().unwrap();
    for sql in p.rollback_statements().unwrap() {
        tx.execute_batch(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    tx.commit().unwrap();
    assert_eq!(dump(&conn), before);
}
