#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Property test of the deploy service (issue #4, "Property tests"): a random model A is deployed
//! to a fresh tenant through `Platform::deploy`, random rows are written straight into the tenant
//! database, then a model B derived from A (adds, acknowledged drops, explicit renames, widenings,
//! relaxed `required`, index and unique changes) is deployed, and finally B is rolled back.
//!
//! After B: the record is `ready`, every B table's introspected schema equals its expected schema
//! (columns by name: tables altered in place append columns), and every surviving field holds its
//! values (renames mapped, widened values compared numerically or as text). After the rollback:
//! every A table's schema is A's again and every field of A that B did not drop holds exactly the
//! values written at the start.
//!
//! Cases: 24 by default (one provisioned tenant in a temp dir each); `PROPTEST_CASES` overrides.

use std::collections::{BTreeMap, BTreeSet};

use objectos_core::deploy::{DeployOptions, DeploymentRecord, Rename};
use objectos_core::Platform;
use objectos_core::PlatformConfig;
use objectos_schema::{expected_schema, introspect_table, TableSchema};
use objectos_spec::types::deploy::DeployStatus;
use objectos_spec::types::provisioning::TenantProvisioningRequest;
use objectos_spec::ObjectDefinition;
use objectos_store::SqliteControlStore;
use objectos_tenantdb::LocalSqlite;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection};
use serde_json::{json, Value};

type P = Platform<SqliteControlStore, LocalSqlite>;

// ----- the model generators -----------------------------------------------------------------------

/// A field kind of the small, safe type set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    /// `number` with `scale: 0` (INTEGER).
    Int,
    /// `number` (REAL).
    Real,
    Bool,
    Date,
    Select,
    Email,
}

impl Kind {
    fn json(self) -> Value {
        match self {
            Kind::Text => json!({"type": "text"}),
            Kind::Int => json!({"type": "number", "scale": 0}),
            Kind::Real => json!({"type": "number"}),
            Kind::Bool => json!({"type": "boolean"}),
            Kind::Date => json!({"type": "date"}),
            Kind::Select => json!({"type": "select", "options": [
                {"label": "A", "value": "aa"}, {"label": "B", "value": "bb"}, {"label": "C", "value": "cc"}]}),
            Kind::Email => json!({"type": "email"}),
        }
    }

    /// Kinds that may carry `unique` here.
    fn can_be_unique(self) -> bool {
        matches!(self, Kind::Text | Kind::Int | Kind::Email | Kind::Date)
    }

    /// The widening picked by `to_text` (anything → text) or not (integer → real; others stay).
    fn widen(self, to_text: bool) -> Kind {
        match (self, to_text) {
            (_, true) => Kind::Text,
            (Kind::Int, false) => Kind::Real,
            (k, false) => k,
        }
    }
}

fn arb_kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Text),
        Just(Kind::Int),
        Just(Kind::Real),
        Just(Kind::Bool),
        Just(Kind::Date),
        Just(Kind::Select),
        Just(Kind::Email),
    ]
}

#[derive(Debug, Clone)]
struct FieldA {
    kind: Kind,
    required: bool,
    index: bool,
    unique: bool,
}

#[derive(Debug, Clone)]
struct ObjectA {
    /// Fields `f0..`.
    fields: Vec<FieldA>,
    /// A composite (non-unique) index on `f0, f1` when there are two fields.
    composite: bool,
}

/// Model A: objects `obj0..`.
#[derive(Debug, Clone)]
struct ModelA {
    objects: Vec<ObjectA>,
}

fn arb_model_a() -> impl Strategy<Value = ModelA> {
    let field = (
        arb_kind(),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(kind, required, index, unique)| FieldA {
            kind,
            required,
            index,
            unique: unique && kind.can_be_unique(),
        });
    let object = (prop::collection::vec(field, 1..=5), any::<bool>())
        .prop_map(|(fields, composite)| ObjectA { fields, composite });
    prop::collection::vec(object, 1..=3).prop_map(|objects| ModelA { objects })
}

fn obj_name(oi: usize) -> String {
    format!("obj{oi}")
}

/// What B does to one field of A.
#[derive(Debug, Clone)]
struct FieldEdit {
    rename: bool,
    /// `Some(to_text)`: widen (see [`Kind::widen`]).
    widen: Option<bool>,
    relax: bool,
    toggle_index: bool,
    /// Dropped (acknowledged) when the field is optional in A (a rollback cannot re-add a required
    /// column without a default to a populated table).
    drop: bool,
    /// Flip `unique` (turned on only over a column without duplicates).
    toggle_unique: bool,
}

/// What B does to one object of A.
#[derive(Debug, Clone)]
struct ObjectEdit {
    rename: bool,
    /// Dropped (acknowledged); never `obj0`, so that B keeps a table of A.
    drop: bool,
    toggle_composite: bool,
    /// A new optional field `added`, indexed or not.
    add_field: Option<(Kind, bool)>,
    fields: Vec<FieldEdit>,
}

#[derive(Debug, Clone)]
struct Edits {
    objects: Vec<ObjectEdit>,
    add_object: bool,
}

fn arb_edits() -> impl Strategy<Value = Edits> {
    let field = (
        prop::bool::weighted(0.25),
        prop::option::weighted(0.3, any::<bool>()),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(rename, widen, relax, toggle_index, drop, toggle_unique)| FieldEdit {
                rename,
                widen,
                relax,
                toggle_index,
                drop,
                toggle_unique,
            },
        );
    let object = (
        prop::bool::weighted(0.25),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.3),
        prop::option::weighted(0.3, (arb_kind(), any::<bool>())),
        prop::collection::vec(field, 5),
    )
        .prop_map(
            |(rename, drop, toggle_composite, add_field, fields)| ObjectEdit {
                rename,
                drop,
                toggle_composite,
                add_field,
                fields,
            },
        );
    (prop::collection::vec(object, 3), prop::bool::weighted(0.3)).prop_map(
        |(objects, add_object)| Edits {
            objects,
            add_object,
        },
    )
}

// ----- rows ---------------------------------------------------------------------------------------

/// One row of one object: its id and a value per field of A.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    values: Vec<Sql>,
}

fn arb_value(kind: Kind, required: bool) -> BoxedStrategy<Sql> {
    let v: BoxedStrategy<Sql> = match kind {
        Kind::Text => "[a-z' ]{0,8}".prop_map(Sql::Text).boxed(),
        Kind::Int => (-1000i64..1000).prop_map(Sql::Integer).boxed(),
        Kind::Real => (-1000i32..1000)
            .prop_map(|n| Sql::Real(f64::from(n) / 8.0))
            .boxed(),
        Kind::Bool => (0i64..2).prop_map(Sql::Integer).boxed(),
        Kind::Date => (2000u32..2030, 1u32..13, 1u32..29)
            .prop_map(|(y, m, d)| Sql::Text(format!("{y:04}-{m:02}-{d:02}")))
            .boxed(),
        Kind::Select => prop_oneof![Just("aa"), Just("bb"), Just("cc")]
            .prop_map(|s| Sql::Text(s.to_owned()))
            .boxed(),
        Kind::Email => "[a-z]{1,6}@example\\.com".prop_map(Sql::Text).boxed(),
    };
    if required {
        v
    } else {
        prop_oneof![1 => Just(Sql::Null), 3 => v].boxed()
    }
}

/// A value no generator produces, distinct per row (to keep unique columns of A unique).
fn distinct_value(kind: Kind, ri: usize) -> Sql {
    match kind {
        Kind::Int => Sql::Integer(10_000 + ri as i64),
        Kind::Email => Sql::Text(format!("u{ri}@uniq.io")),
        Kind::Date => Sql::Text(format!("19{ri:02}-01-01")),
        _ => Sql::Text(format!("u{ri}")),
    }
}

fn arb_rows(object: &ObjectA) -> impl Strategy<Value = Vec<Row>> {
    let fields = object.fields.clone();
    let row: Vec<BoxedStrategy<Sql>> = fields
        .iter()
        .map(|f| arb_value(f.kind, f.required))
        .collect();
    prop::collection::vec(("[0-9a-f]{16}", row), 0..6).prop_map(move |rows| {
        let mut out: Vec<Row> = rows
            .into_iter()
            .enumerate()
            .map(|(ri, (hex, values))| Row {
                // The suffix keeps ids distinct.
                id: format!("{hex}{ri:02x}"),
                values,
            })
            .collect();
        for (fi, f) in fields.iter().enumerate() {
            if !f.unique {
                continue;
            }
            let mut seen = BTreeSet::new();
            for (ri, row) in out.iter_mut().enumerate() {
                if row.values[fi] != Sql::Null && !seen.insert(format!("{:?}", row.values[fi])) {
                    row.values[fi] = distinct_value(f.kind, ri);
                }
            }
        }
        out
    })
}

type Case = (ModelA, Edits, Vec<Vec<Row>>);

fn arb_case() -> impl Strategy<Value = Case> {
    (arb_model_a(), arb_edits()).prop_flat_map(|(m, e)| {
        let rows: Vec<_> = m.objects.iter().map(arb_rows).collect();
        (Just(m), Just(e), rows)
    })
}

// ----- bundles --------------------------------------------------------------------------------------

fn field_json(kind: Kind, required: bool, index: bool, unique: bool) -> Value {
    let mut f = kind.json();
    f["required"] = json!(required);
    if index {
        f["index"] = json!(true);
    }
    if unique {
        f["unique"] = json!(true);
    }
    f
}

fn object_json(name: &str, fields: serde_json::Map<String, Value>, indexes: Vec<Value>) -> Value {
    json!({"name": name, "label": name, "fields": fields, "indexes": indexes})
}

fn bundle(objects: &[Value]) -> Value {
    let names: Vec<Value> = objects.iter().map(|o| o["name"].clone()).collect();
    json!({
        "manifest": {"version": "1.0.0", "objects": names, "views": [], "flows": [], "permissions": []},
        "objects": objects,
        "views": [],
        "flows": [],
        "permissions": [],
        "seedData": [],
    })
}

fn build_a(m: &ModelA) -> Vec<Value> {
    m.objects
        .iter()
        .enumerate()
        .map(|(oi, o)| {
            let mut fields = serde_json::Map::new();
            for (fi, f) in o.fields.iter().enumerate() {
                fields.insert(
                    format!("f{fi}"),
                    field_json(f.kind, f.required, f.index, f.unique),
                );
            }
            let indexes = if o.composite && o.fields.len() >= 2 {
                vec![json!({"fields": ["f0", "f1"]})]
            } else {
                vec![]
            };
            object_json(&obj_name(oi), fields, indexes)
        })
        .collect()
}

/// A field of A that survives in B.
#[derive(Debug, Clone)]
struct Survivor {
    oi: usize,
    fi: usize,
    new_object: String,
    new_key: String,
    from: Kind,
    to: Kind,
}

/// Model B as JSON, with its renames, acknowledgements and surviving fields, plus what the rollback
/// must acknowledge (what B added) and the A objects B dropped.
struct ModelB {
    objects: Vec<Value>,
    renames: Vec<Rename>,
    acknowledge: Vec<String>,
    survivors: Vec<Survivor>,
    rollback_acknowledge: Vec<String>,
    dropped_objects: Vec<usize>,
}

fn no_duplicates(rows: &[Row], fi: usize) -> bool {
    let mut seen = BTreeSet::new();
    rows.iter()
        .filter(|r| r.values[fi] != Sql::Null)
        .all(|r| seen.insert(format!("{:?}", r.values[fi])))
}

fn build_b(m: &ModelA, e: &Edits, data: &[Vec<Row>]) -> ModelB {
    let mut b = ModelB {
        objects: Vec::new(),
        renames: Vec::new(),
        acknowledge: Vec::new(),
        survivors: Vec::new(),
        rollback_acknowledge: Vec::new(),
        dropped_objects: Vec::new(),
    };
    for (oi, o) in m.objects.iter().enumerate() {
        let edit = &e.objects[oi];
        let name = obj_name(oi);
        if edit.drop && oi > 0 {
            b.acknowledge.push(format!("object:{name}"));
            b.dropped_objects.push(oi);
            continue;
        }
        let new_name = if edit.rename {
            let to = format!("{name}_r");
            b.renames.push(Rename::Object {
                from: name.clone(),
                to: to.clone(),
            });
            to
        } else {
            name.clone()
        };
        let mut fields = serde_json::Map::new();
        let mut new_keys: Vec<Option<String>> = Vec::new();
        for (fi, f) in o.fields.iter().enumerate() {
            let fe = &edit.fields[fi];
            let key = format!("f{fi}");
            if fe.drop && !f.required {
                b.acknowledge.push(format!("field:{new_name}.{key}"));
                new_keys.push(None);
                continue;
            }
            let new_key = if fe.rename {
                let to = format!("g{fi}");
                b.renames.push(Rename::Field {
                    object: new_name.clone(),
                    from: key.clone(),
                    to: to.clone(),
                });
                to
            } else {
                key.clone()
            };
            let kind = fe.widen.map_or(f.kind, |t| f.kind.widen(t));
            let required = f.required && !fe.relax;
            let index = f.index != fe.toggle_index;
            let mut unique = f.unique;
            if fe.toggle_unique && (f.unique || no_duplicates(&data[oi], fi)) {
                unique = !unique;
            }
            let unique = unique && kind.can_be_unique();
            fields.insert(new_key.clone(), field_json(kind, required, index, unique));
            b.survivors.push(Survivor {
                oi,
                fi,
                new_object: new_name.clone(),
                new_key: new_key.clone(),
                from: f.kind,
                to: kind,
            });
            new_keys.push(Some(new_key));
        }
        if let Some((kind, index)) = edit.add_field {
            fields.insert("added".into(), field_json(kind, false, index, false));
            b.rollback_acknowledge.push(format!("field:{name}.added"));
        }
        let composite = o.composite != edit.toggle_composite;
        let indexes = match (composite, new_keys.first(), new_keys.get(1)) {
            (true, Some(Some(k0)), Some(Some(k1))) => vec![json!({"fields": [k0, k1]})],
            _ => vec![],
        };
        b.objects.push(object_json(&new_name, fields, indexes));
    }
    if e.add_object {
        let mut fields = serde_json::Map::new();
        fields.insert("x".into(), field_json(Kind::Text, false, true, false));
        fields.insert("y".into(), field_json(Kind::Int, true, false, true));
        b.objects.push(object_json("fresh", fields, vec![]));
        b.rollback_acknowledge.push("object:fresh".into());
    }
    b
}

// ----- the platform and the database ------------------------------------------------------------------

struct Env {
    _dir: tempfile::TempDir,
    platform: P,
    tenant: String,
}

async fn setup() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteControlStore::open(&dir.path().join("control.db")).unwrap();
    let dbs = LocalSqlite::with_options(dir.path().join("tenants"), 16, 0).unwrap();
    let platform = Platform::new(store, dbs, PlatformConfig::new(dir.path()));
    let request: TenantProvisioningRequest =
        objectos_spec::parse(&json!({"orgId": "acme"})).unwrap();
    let provisioned = platform.provision(request, true).await.unwrap();
    Env {
        _dir: dir,
        platform,
        tenant: provisioned.tenant.id,
    }
}

/// A connection of its own to the tenant database file.
fn open(env: &Env) -> Connection {
    let path = env.platform.dbs().path_of(&env.tenant).unwrap();
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    conn
}

fn insert(conn: &Connection, table: &str, row: &Row) {
    let mut cols = vec![
        "id".to_owned(),
        "created_at".to_owned(),
        "updated_at".to_owned(),
    ];
    let mut vals = vec![
        Sql::Text(row.id.clone()),
        Sql::Text("2026-01-02T03:04:05.000Z".into()),
        Sql::Text("2026-01-02T03:04:05.000Z".into()),
    ];
    for (fi, v) in row.values.iter().enumerate() {
        cols.push(format!("f{fi}"));
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
    .unwrap_or_else(|e| panic!("insert into {table} {row:?}: {e}"));
}

type Rows = BTreeMap<String, BTreeMap<String, Sql>>;

/// Every row of `table` by id, every column by name.
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
        let Some(Sql::Text(id)) = m.get("id").cloned() else {
            panic!("{table}: row without a text id: {m:?}");
        };
        out.insert(id, m);
    }
    out
}

fn table_exists(conn: &Connection, table: &str) -> bool {
    conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .unwrap()
        == 1
}

fn by_name(mut s: TableSchema) -> TableSchema {
    s.columns.sort_by(|a, b| a.name.cmp(&b.name));
    s
}

/// Every object's table equals its expected schema, columns compared by name.
fn schema_mismatches(conn: &Connection, objects: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for object in objects {
        let def: ObjectDefinition = objectos_spec::parse(object).unwrap();
        let want = by_name(expected_schema(objectos_sql::Dialect::Sqlite, &def).unwrap());
        match introspect_table(&objectos_sql::SqliteSession::new(conn), &def.name) {
            Ok(live) => {
                let live = by_name(live);
                if live != want {
                    out.push(format!(
                        "{}: {:?}\n  live: {live:?}\n  want: {want:?}",
                        def.name,
                        live.differences(&want)
                    ));
                }
            }
            Err(e) => out.push(format!("{}: {e}", def.name)),
        }
    }
    out
}

/// Whether `after` is what a widening from `from` to `to` makes of `before`.
fn same_value(before: &Sql, after: &Sql, from: Kind, to: Kind) -> bool {
    if from == to {
        return before == after;
    }
    match (before, after, to) {
        (Sql::Null, a, _) => *a == Sql::Null,
        (Sql::Integer(n), Sql::Real(r), Kind::Real) => (*n as f64) == *r,
        (Sql::Integer(n), Sql::Text(t), Kind::Text) => t.parse::<i64>().ok() == Some(*n),
        (Sql::Real(r), Sql::Text(t), Kind::Text) => t.parse::<f64>().ok() == Some(*r),
        (Sql::Text(s), Sql::Text(t), Kind::Text) => s == t,
        _ => false,
    }
}

fn ready(what: &str, record: &DeploymentRecord) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        &record.status,
        &DeployStatus::Ready,
        "{} failed: {:?}\nplan: {:#?}",
        what,
        record.error,
        record.plan
    );
    prop_assert!(!record.no_changes, "{} did nothing", what);
    Ok(())
}

// ----- the property ---------------------------------------------------------------------------------

fn run_case(m: &ModelA, e: &Edits, data: &[Vec<Row>]) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let env = setup().await;
        let a = build_a(m);

        // Deploy A to the fresh tenant.
        let first = env
            .platform
            .deploy(&env.tenant, bundle(&a), DeployOptions::default())
            .await
            .map_err(|err| TestCaseError::fail(format!("deploy A: {err:?}")))?;
        ready("A", &first)?;

        // Rows written straight into the tenant database.
        {
            let conn = open(&env);
            for (oi, table_rows) in data.iter().enumerate() {
                for row in table_rows {
                    insert(&conn, &obj_name(oi), row);
                }
            }
        }
        let before: Vec<Rows> = {
            let conn = open(&env);
            (0..m.objects.len())
                .map(|oi| rows(&conn, &obj_name(oi)))
                .collect()
        };

        // Deploy B.
        let b = build_b(m, e, data);
        let options = DeployOptions {
            dry_run: false,
            acknowledge: b.acknowledge.clone(),
            renames: b.renames.clone(),
        };
        let second = env
            .platform
            .deploy(&env.tenant, bundle(&b.objects), options.clone())
            .await
            .map_err(|err| TestCaseError::fail(format!("deploy B {options:?}: {err:?}")))?;
        prop_assert_eq!(
            &second.status,
            &DeployStatus::Ready,
            "B failed: {:?}",
            second.error
        );
        if second.no_changes {
            // B is A again (no edit changed anything): nothing to roll back.
            prop_assert_eq!(&second.id, &first.id);
            let conn = open(&env);
            let mismatches = schema_mismatches(&conn, &a);
            prop_assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
            return Ok(());
        }
        {
            let conn = open(&env);
            let mismatches = schema_mismatches(&conn, &b.objects);
            prop_assert!(mismatches.is_empty(), "after B:\n{}", mismatches.join("\n"));
            for &oi in &b.dropped_objects {
                prop_assert!(
                    !table_exists(&conn, &obj_name(oi)),
                    "{} still exists",
                    obj_name(oi)
                );
            }
            let mut after: BTreeMap<String, Rows> = BTreeMap::new();
            for object in &b.objects {
                let name = object["name"].as_str().unwrap().to_owned();
                after.insert(name.clone(), rows(&conn, &name));
            }
            for s in &b.survivors {
                let now = &after[&s.new_object];
                let was = &before[s.oi];
                prop_assert_eq!(
                    now.keys().collect::<Vec<_>>(),
                    was.keys().collect::<Vec<_>>(),
                    "ids of {}",
                    s.new_object
                );
                let old_key = format!("f{}", s.fi);
                for (id, row) in was {
                    let got = now[id].get(&s.new_key).cloned().unwrap_or(Sql::Null);
                    prop_assert!(
                        same_value(&row[&old_key], &got, s.from, s.to),
                        "{}.{} (was obj{}.{}, {:?} -> {:?}) row {}: {:?} became {:?}",
                        s.new_object,
                        s.new_key,
                        s.oi,
                        old_key,
                        s.from,
                        s.to,
                        id,
                        row[&old_key],
                        got
                    );
                }
            }
            // System columns are kept too.
            for s in &b.survivors {
                for (id, row) in &before[s.oi] {
                    for col in ["created_at", "updated_at"] {
                        prop_assert_eq!(&after[&s.new_object][id][col], &row[col]);
                    }
                }
            }
        }

        // Roll B back to A, acknowledging what B added.
        let back = env
            .platform
            .rollback(
                &env.tenant,
                &second.id,
                DeployOptions {
                    acknowledge: b.rollback_acknowledge.clone(),
                    ..DeployOptions::default()
                },
            )
            .await
            .map_err(|err| {
                TestCaseError::fail(format!(
                    "rollback (ack {:?}): {err:?}",
                    b.rollback_acknowledge
                ))
            })?;
        ready("rollback", &back)?;
        let conn = open(&env);
        let mismatches = schema_mismatches(&conn, &a);
        prop_assert!(
            mismatches.is_empty(),
            "after the rollback:\n{}",
            mismatches.join("\n")
        );
        for object in &b.objects {
            let name = object["name"].as_str().unwrap();
            if !a.iter().any(|o| o["name"] == name) {
                prop_assert!(!table_exists(&conn, name), "{} still exists", name);
            }
        }
        for (oi, was) in before.iter().enumerate() {
            let name = obj_name(oi);
            let restored = rows(&conn, &name);
            if b.dropped_objects.contains(&oi) {
                // Dropped by B: it comes back empty.
                prop_assert!(restored.is_empty(), "{} has rows after the rollback", name);
                continue;
            }
            prop_assert_eq!(
                restored.keys().collect::<Vec<_>>(),
                was.keys().collect::<Vec<_>>(),
                "ids of {}",
                name
            );
            for (id, row) in was {
                for (col, value) in row {
                    let survived = match col.strip_prefix('f') {
                        Some(fi) => {
                            let fi: usize = fi.parse().unwrap();
                            b.survivors.iter().any(|s| s.oi == oi && s.fi == fi)
                        }
                        None => true,
                    };
                    let want = if survived { value.clone() } else { Sql::Null };
                    prop_assert_eq!(
                        &restored[id][col],
                        &want,
                        "{}.{} row {} after the rollback",
                        name,
                        col,
                        id
                    );
                }
            }
        }
        Ok(())
    })
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    ProptestConfig {
        cases,
        // No regression file is written next to the test; a failure prints its minimal case.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn deploy_then_rollback_keeps_schema_and_values((m, e, data) in arb_case()) {
        run_case(&m, &e, &data)?;
    }
}
