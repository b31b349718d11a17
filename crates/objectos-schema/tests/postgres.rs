//! The PostgreSQL dialect against the real server of this machine (a throw-away database per test,
//! sessions pinned to a tenant schema): create, introspect, deploy sequences with data, failures,
//! dry runs and probes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use objectos_schema::{
    apply, apply_in, apply_in_with, diff, dry_run, expected_schema, introspect_table, plan, probe,
    ApplyError, DataCheck, ModelDiff, Plan, Rename, Repr, SchemaError, TableSchema,
};
use objectos_spec::types::field::FieldType;
use objectos_spec::ObjectDefinition;
use objectos_sql::testing::TestDatabase;
use objectos_sql::{
    Dialect, ErrorKind, PgSession, PgTarget, Session, SessionExt, SqlValue, SqliteSession,
};
use serde_json::{json, Value};

mod common;

const TENANT: &str = "tenant_a";

/// Runs `f` on a blocking thread with a session pinned to schema `tenant_a` of a fresh database
/// (which also has a `public` schema, to check that nothing looks outside the tenant's).
fn with_pg(f: impl FnOnce(&PgSession) + Send + 'static) {
    with_pg_cache(true, f);
}

/// [`with_pg`]; `cache: false` turns sqlx's prepared statement cache off. The property test needs
/// it: it re-creates tables of the same names with other column types, and a statement prepared
/// for the old types (same SQL text) would be reused with the old parameter and result types (see
/// the report on `PgSession`'s statement cache).
fn with_pg_cache(cache: bool, f: impl FnOnce(&PgSession) + Send + 'static) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let db = TestDatabase::create().await;
        let pool = if cache {
            db.pool().await
        } else {
            let options: sqlx::postgres::PgConnectOptions = db.url.parse().unwrap();
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(4)
                .connect_with(options.statement_cache_capacity(0))
                .await
                .unwrap()
        };
        let setup = pool.acquire().await.unwrap();
        let conn = pool.acquire().await.unwrap();
        let handle = tokio::runtime::Handle::current();
        let done = tokio::task::spawn_blocking(move || {
            {
                let admin = PgSession::open(handle.clone(), setup, None).unwrap();
                admin
                    .execute_batch(&format!("CREATE SCHEMA {TENANT}"))
                    .unwrap();
            }
            let target = PgTarget {
                schema: TENANT.to_owned(),
                ..PgTarget::default()
            };
            let s = PgSession::open(handle, conn, Some(&target)).unwrap();
            f(&s);
        })
        .await;
        pool.close().await;
        drop(db);
        if let Err(e) = done {
            std::panic::resume_unwind(e.into_panic());
        }
    });
}

fn object(name: &str, fields: Value) -> ObjectDefinition {
    object_with(name, fields, json!([]))
}

fn object_with(name: &str, fields: Value, indexes: Value) -> ObjectDefinition {
    objectos_spec::parse(&json!({"name": name, "fields": fields, "indexes": indexes}))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn make_plan(
    prev: &[ObjectDefinition],
    next: &[ObjectDefinition],
    renames: &[Rename],
) -> (ModelDiff, Plan) {
    let d = diff(prev, next, renames).unwrap();
    let p = plan(Dialect::Postgres, &d, next).unwrap();
    let mp = p.to_migration_plan();
    assert_eq!(mp.dialect, "postgresql");
    let value = serde_json::to_value(&mp).unwrap();
    let validated = objectos_spec::kind("MigrationPlan")
        .unwrap()
        .validate(&value);
    assert!(validated.issues.is_empty(), "{:?}", validated.issues);
    assert!(!p.has_rebuild(), "{p:#?}");
    (d, p)
}

/// Plans and applies `prev` → `next` in one transaction, then checks the live schema.
fn deploy(
    s: &dyn Session,
    prev: &[ObjectDefinition],
    next: &[ObjectDefinition],
    renames: &[Rename],
) -> Plan {
    let (_, p) = make_plan(prev, next, renames);
    apply(s, &p).unwrap_or_else(|e| panic!("{e}\n{p:#?}"));
    assert_schema(s, next);
    p
}

fn by_name(mut s: TableSchema) -> TableSchema {
    s.columns.sort_by(|a, b| a.name.cmp(&b.name));
    s
}

fn tables(s: &dyn Session) -> Vec<String> {
    let mut names: Vec<String> = s
        .query(
            "SELECT tablename::text FROM pg_catalog.pg_tables WHERE schemaname = current_schema()",
            &[],
        )
        .unwrap()
        .into_iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// Every table of the model is as the model expects (columns by name), and no other table exists.
fn assert_schema(s: &dyn Session, model: &[ObjectDefinition]) {
    let mut names: Vec<String> = model.iter().map(|o| o.name.clone()).collect();
    names.sort();
    assert_eq!(tables(s), names);
    for object in model {
        let live = introspect_table(s, &object.name).unwrap();
        let want = expected_schema(Dialect::Postgres, object).unwrap();
        let diffs = by_name(live).differences(&by_name(want));
        assert!(diffs.is_empty(), "{}: {diffs:#?}", object.name);
    }
}

/// Inserts one row; `values` are (column, value).
fn insert(s: &dyn Session, table: &str, id: &str, values: &[(&str, SqlValue)]) {
    try_insert(s, table, id, values).unwrap_or_else(|e| panic!("{table} {id}: {e}"));
}

fn try_insert(
    s: &dyn Session,
    table: &str,
    id: &str,
    values: &[(&str, SqlValue)],
) -> Result<u64, objectos_sql::SqlError> {
    let mut cols = vec!["id", "created_at", "updated_at"];
    let mut vals = vec![
        SqlValue::from(id),
        SqlValue::Timestamp("2026-01-01T00:00:00.000Z".into()),
        SqlValue::Timestamp("2026-01-01T00:00:00.000Z".into()),
    ];
    for (c, v) in values {
        cols.push(c);
        vals.push(v.clone());
    }
    let quoted: Vec<String> = cols.iter().map(|c| format!("\"{c}\"")).collect();
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
    s.execute(
        &format!(
            "INSERT INTO \"{table}\" ({}) VALUES ({})",
            quoted.join(", "),
            marks.join(", ")
        ),
        &vals,
    )
}

/// The values of `column` of `table` by id.
fn column(s: &dyn Session, table: &str, column: &str) -> BTreeMap<String, SqlValue> {
    s.query(&format!("SELECT id, \"{column}\" FROM \"{table}\""), &[])
        .unwrap()
        .into_iter()
        .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].clone()))
        .collect()
}

fn values(pairs: &[(&str, SqlValue)]) -> BTreeMap<String, SqlValue> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.into())
}

fn jsonv(v: Value) -> SqlValue {
    SqlValue::Json(v.to_string())
}

/// A field of type `ty` with what its type requires, plus `extra`.
fn field(ty: FieldType, extra: Value) -> Value {
    let mut f = json!({"type": ty.as_str()});
    let needs = match ty {
        FieldType::Select | FieldType::Multiselect | FieldType::Radio | FieldType::Checkboxes => {
            json!({"options": [{"label": "Open", "value": "open"}, {"label": "Won", "value": "won"}]})
        }
        FieldType::Lookup | FieldType::MasterDetail => json!({"reference": "account"}),
        FieldType::Formula => json!({"expression": "1 + 1"}),
        FieldType::Summary => {
            json!({"summaryOperations": {"object": "line", "field": "amount", "function": "sum"}})
        }
        _ => json!({}),
    };
    for source in [needs, extra] {
        for (k, v) in source.as_object().unwrap() {
            f[k] = v.clone();
        }
    }
    f
}

/// A default for the types that take one (`None`: none).
fn default_for(ty: FieldType) -> Option<Value> {
    use FieldType as T;
    Some(match ty {
        T::Text | T::Textarea | T::Markdown => json!("it's a \"default\" — ünïcode"),
        T::Number | T::Currency | T::Percent | T::Slider | T::Progress => json!(-1.5),
        T::Rating => json!(3),
        T::Boolean => json!(true),
        T::Toggle => json!(false),
        T::Date => json!("2026-01-31"),
        T::Datetime => json!("2026-01-31T11:30:00+01:00"),
        T::Time => json!("10:30:00"),
        T::Select | T::Radio => json!("open"),
        T::Multiselect | T::Checkboxes => json!("open"),
        T::Tags => json!(["x", "y"]),
        T::Location => json!({"lng": 2.35, "lat": 48.85}),
        T::Json => json!({"b": [1, 2.5, null], "a": "x"}),
        T::Vector => json!([0.25, -1]),
        _ => return None,
    })
}

/// One object with every field type (with and without defaults, required, unique, and the options
/// that change storage).
fn every_type_object() -> ObjectDefinition {
    let mut fields = serde_json::Map::new();
    for &ty in FieldType::ALL {
        fields.insert(ty.as_str().to_owned(), field(ty, json!({})));
        if let Some(default) = default_for(ty) {
            fields.insert(
                format!("{}_dflt", ty.as_str()),
                field(ty, json!({"defaultValue": default, "required": true})),
            );
        }
    }
    for (key, ty, extra) in [
        ("select_multi", FieldType::Select, json!({"multiple": true})),
        ("file_multi", FieldType::File, json!({"multiple": true})),
        ("lookup_multi", FieldType::Lookup, json!({"multiple": true})),
        (
            "whole",
            FieldType::Number,
            json!({"scale": 0, "defaultValue": -7}),
        ),
        (
            "whole_uniq",
            FieldType::Currency,
            json!({"scale": 0, "unique": true}),
        ),
        (
            "half",
            FieldType::Rating,
            json!({"allowHalf": true, "defaultValue": 2.5}),
        ),
        (
            "code_uniq",
            FieldType::Text,
            json!({"unique": true, "required": true}),
        ),
        ("flag_uniq", FieldType::Boolean, json!({"unique": true})),
        ("day_index", FieldType::Date, json!({"index": true})),
    ] {
        fields.insert(key.to_owned(), field(ty, extra));
    }
    object_with(
        "every",
        Value::Object(fields),
        json!([{"fields": ["text", "number"], "unique": true}, {"name": "by_when", "fields": ["datetime", "date"]}]),
    )
}

#[test]
fn every_field_type_creates_and_introspects_as_expected() {
    with_pg(|s| {
        let object = every_type_object();
        let p = deploy(s, &[], std::slice::from_ref(&object), &[]);
        // Created tables are also in the model's exact column order.
        let live = introspect_table(s, "every").unwrap();
        let want = expected_schema(Dialect::Postgres, &object).unwrap();
        assert_eq!(live, want);
        let types: BTreeMap<&str, &str> = live
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.sql_type.as_str()))
            .collect();
        for (column, ty) in [
            ("id", "TEXT"),
            ("created_at", "TIMESTAMPTZ"),
            ("text", "TEXT"),
            ("number", "DOUBLE PRECISION"),
            ("whole", "BIGINT"),
            ("autonumber", "BIGINT"),
            ("boolean", "BOOLEAN"),
            ("toggle", "BOOLEAN"),
            ("date", "DATE"),
            ("datetime", "TIMESTAMPTZ"),
            ("time", "TEXT"),
            ("tags", "JSONB"),
            ("json", "JSONB"),
            ("location", "JSONB"),
            ("select", "TEXT"),
            ("select_multi", "JSONB"),
            ("half", "DOUBLE PRECISION"),
            ("rating", "BIGINT"),
        ] {
            assert_eq!(types.get(column), Some(&ty), "{column}");
        }
        assert!(!types.contains_key("formula") && !types.contains_key("summary"));
        assert!(live
            .columns
            .iter()
            .any(|c| c.name == "id" && c.pk && c.sql_type == "TEXT"));
        for system in ["created_at", "updated_at"] {
            assert_eq!(types.get(system), Some(&"TIMESTAMPTZ"), "{system}");
        }
        // Text columns compare and sort by code point, like SQLite's BINARY collation.
        let collations = s
            .query(
                "SELECT a.attname::text, co.collname::text FROM pg_attribute a \
                 JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                 JOIN pg_collation co ON co.oid = a.attcollation \
                 WHERE n.nspname = current_schema() AND c.relname = 'every' AND a.attnum > 0 \
                 AND format_type(a.atttypid, a.atttypmod) = 'text'",
                &[],
            )
            .unwrap();
        assert!(!collations.is_empty());
        for row in collations {
            assert_eq!(row[1], SqlValue::Text("C".into()), "{:?}", row[0]);
        }
        assert!(!live.strict);
        assert!(p.statements.iter().all(|st| !st.sql.contains("STRICT")));

        // Defaults fill a row written with nothing but the system columns, with their meaning.
        insert(s, "every", "r1", &[("code_uniq", text("a"))]);
        let row = s
            .query_opt(
                "SELECT text_dflt, number_dflt, whole, boolean_dflt, toggle_dflt, date_dflt, \
                 datetime_dflt, multiselect_dflt, json_dflt, location_dflt, half, time_dflt \
                 FROM every WHERE id = $1",
                &[text("r1")],
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            row,
            vec![
                text("it's a \"default\" — ünïcode"),
                SqlValue::Real(-1.5),
                SqlValue::Integer(-7),
                SqlValue::Bool(true),
                SqlValue::Bool(false),
                SqlValue::Date("2026-01-31".into()),
                SqlValue::Timestamp("2026-01-31T10:30:00.000Z".into()),
                jsonv(json!(["open"])),
                jsonv(json!({"a": "x", "b": [1, 2.5, null]})),
                jsonv(json!({"lat": 48.85, "lng": 2.35})),
                SqlValue::Real(2.5),
                text("10:30:00"),
            ]
        );

        // The JSON shape is checked, values of every native type are stored.
        let err = try_insert(
            s,
            "every",
            "r2",
            &[("code_uniq", text("b")), ("tags", jsonv(json!({"a": 1})))],
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Check, "{err}");
        let err = try_insert(
            s,
            "every",
            "r2",
            &[("code_uniq", text("b")), ("location", jsonv(json!([1])))],
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Check, "{err}");
        insert(
            s,
            "every",
            "r2",
            &[
                ("code_uniq", text("b")),
                ("json", jsonv(json!("just a string"))),
                ("tags", jsonv(json!(["a"]))),
                (
                    "datetime",
                    SqlValue::Timestamp("2026-02-01T00:00:00.001Z".into()),
                ),
                ("flag_uniq", SqlValue::Bool(true)),
            ],
        );
        // Unique indexes hold.
        let err = try_insert(s, "every", "r3", &[("code_uniq", text("b"))]).unwrap_err();
        assert!(err.is_unique(), "{err}");
        let err = try_insert(
            s,
            "every",
            "r3",
            &[
                ("code_uniq", text("c")),
                ("flag_uniq", SqlValue::Bool(true)),
            ],
        )
        .unwrap_err();
        assert!(err.is_unique(), "{err}");

        // Defaults are normalised whatever the session's time zone (PostgreSQL prints instants in it).
        s.execute_batch("SET TimeZone = 'Asia/Kolkata'").unwrap();
        assert_eq!(introspect_table(s, "every").unwrap(), want);
        s.execute_batch("RESET TimeZone").unwrap();

        // Introspection looks in the tenant's schema only.
        s.execute_batch("CREATE TABLE public.every (x BIGINT, y TEXT)")
            .unwrap();
        s.execute_batch("CREATE TABLE public.elsewhere (x BIGINT)")
            .unwrap();
        assert_eq!(introspect_table(s, "every").unwrap(), want);
        assert!(matches!(
            introspect_table(s, "elsewhere"),
            Err(SchemaError::TableNotFound { .. })
        ));
    });
}

#[test]
fn a_sequence_of_deployments_keeps_schema_and_values() {
    with_pg(|s| {
        // A.
        let a = vec![
            object(
                "task",
                json!({
                    "title": {"type": "text", "required": true},
                    "n": {"type": "number", "scale": 0},
                    "score": {"type": "number"},
                    "done": {"type": "boolean"},
                    "tags": {"type": "tags"},
                    "labels": {"type": "tags"},
                    "code": {"type": "text", "unique": true},
                    "due": {"type": "date"},
                    "at": {"type": "datetime"},
                    "note": {"type": "textarea"},
                    "kind": {"type": "select", "options": [{"label": "A", "value": "aa"}]},
                    "when_text": {"type": "text"},
                    "stars": {"type": "rating", "defaultValue": 1},
                    "extra": {"type": "json"},
                }),
            ),
            object("project", json!({"name": {"type": "text", "index": true}})),
            object("left_t", json!({"l": {"type": "text"}})),
            object("right_t", json!({"r": {"type": "text"}})),
        ];
        deploy(s, &[], &a, &[]);
        let rows: [(&str, Vec<(&str, SqlValue)>); 3] = [
            (
                "t1",
                vec![
                    ("title", text("one")),
                    ("n", SqlValue::Integer(3)),
                    ("score", SqlValue::Real(2.0)),
                    ("done", SqlValue::Bool(true)),
                    ("tags", jsonv(json!(["a", "b"]))),
                    ("labels", jsonv(json!(["l1"]))),
                    ("code", text("c1")),
                    ("due", SqlValue::Date("2026-03-01".into())),
                    ("at", SqlValue::Timestamp("2026-03-01T00:00:00.000Z".into())),
                    ("note", text("gone soon")),
                    ("kind", text("aa")),
                    ("when_text", text("2026-05-01T12:00:00.000Z")),
                    ("extra", jsonv(json!([1, 2]))),
                ],
            ),
            (
                "t2",
                vec![
                    ("title", text("two")),
                    ("n", SqlValue::Integer(-4)),
                    ("score", SqlValue::Real(-7.0)),
                    ("done", SqlValue::Bool(false)),
                    ("tags", SqlValue::Null),
                    ("labels", jsonv(json!([]))),
                    ("code", SqlValue::Null),
                    ("at", SqlValue::Timestamp("2026-03-02T10:00:00.000Z".into())),
                    ("when_text", text("2026-05-02")),
                    ("extra", jsonv(json!({"k": "v"}))),
                ],
            ),
            ("t3", vec![("title", text("three")), ("code", text("c3"))]),
        ];
        for (id, vals) in &rows {
            insert(s, "task", id, vals);
        }
        insert(s, "project", "p1", &[("name", text("alpha"))]);
        insert(s, "left_t", "l1", &[("l", text("left"))]);
        insert(s, "right_t", "r1", &[("r", text("right"))]);

        // B: add (required with default), drop, rename fields and tables, swap two checked
        // columns and two tables, widen, narrow (exact), make required with a default, move
        // unique and index, options that change storage, text → datetime.
        let b = vec![
            object_with(
                "task",
                json!({
                    "name": {"type": "text", "required": true},
                    "n": {"type": "number"},
                    "score": {"type": "number", "scale": 0},
                    "done": {"type": "number"},
                    "tags": {"type": "tags"},
                    "labels": {"type": "tags"},
                    "code": {"type": "text", "required": true, "defaultValue": "none"},
                    "due": {"type": "date", "index": true},
                    "at": {"type": "datetime"},
                    "kind": {"type": "select", "multiple": true, "options": [{"label": "A", "value": "aa"}]},
                    "when_text": {"type": "datetime"},
                    "stars": {"type": "rating", "defaultValue": 2},
                    "extra": {"type": "json"},
                    "priority": {"type": "number", "scale": 0, "required": true, "defaultValue": 1},
                }),
                json!([{"fields": ["name"], "unique": true}]),
            ),
            object("proj", json!({"name": {"type": "text", "index": true}})),
            object("left_t", json!({"r": {"type": "text"}})),
            object("right_t", json!({"l": {"type": "text"}})),
        ];
        let renames = [
            Rename::Field {
                object: "task".into(),
                from: "title".into(),
                to: "name".into(),
            },
            Rename::Field {
                object: "task".into(),
                from: "tags".into(),
                to: "labels".into(),
            },
            Rename::Field {
                object: "task".into(),
                from: "labels".into(),
                to: "tags".into(),
            },
            Rename::Object {
                from: "project".into(),
                to: "proj".into(),
            },
            Rename::Object {
                from: "left_t".into(),
                to: "right_t".into(),
            },
            Rename::Object {
                from: "right_t".into(),
                to: "left_t".into(),
            },
        ];
        let p = deploy(s, &a, &b, &renames);
        assert!(p
            .statements
            .iter()
            .any(|st| st.sql.contains("RENAME CONSTRAINT")));

        assert_eq!(
            column(s, "task", "name"),
            values(&[
                ("t1", text("one")),
                ("t2", text("two")),
                ("t3", text("three"))
            ])
        );
        assert_eq!(
            column(s, "task", "n"),
            values(&[
                ("t1", SqlValue::Real(3.0)),
                ("t2", SqlValue::Real(-4.0)),
                ("t3", SqlValue::Null)
            ])
        );
        assert_eq!(
            column(s, "task", "score"),
            values(&[
                ("t1", SqlValue::Integer(2)),
                ("t2", SqlValue::Integer(-7)),
                ("t3", SqlValue::Null)
            ])
        );
        assert_eq!(
            column(s, "task", "done"),
            values(&[
                ("t1", SqlValue::Real(1.0)),
                ("t2", SqlValue::Real(0.0)),
                ("t3", SqlValue::Null)
            ])
        );
        // Swapped: the values moved with their names, and each CHECK with its column.
        assert_eq!(
            column(s, "task", "labels"),
            values(&[
                ("t1", jsonv(json!(["a", "b"]))),
                ("t2", SqlValue::Null),
                ("t3", SqlValue::Null)
            ])
        );
        assert_eq!(
            column(s, "task", "tags"),
            values(&[
                ("t1", jsonv(json!(["l1"]))),
                ("t2", jsonv(json!([]))),
                ("t3", SqlValue::Null)
            ])
        );
        assert_eq!(
            column(s, "task", "code"),
            values(&[("t1", text("c1")), ("t2", text("none")), ("t3", text("c3"))])
        );
        assert_eq!(
            column(s, "task", "kind"),
            values(&[
                ("t1", jsonv(json!(["aa"]))),
                ("t2", SqlValue::Null),
                ("t3", SqlValue::Null)
            ])
        );
        assert_eq!(
            column(s, "task", "when_text"),
            values(&[
                ("t1", SqlValue::Timestamp("2026-05-01T12:00:00.000Z".into())),
                ("t2", SqlValue::Timestamp("2026-05-02T00:00:00.000Z".into())),
                ("t3", SqlValue::Null)
            ])
        );
        assert_eq!(
            column(s, "task", "priority"),
            values(&[
                ("t1", SqlValue::Integer(1)),
                ("t2", SqlValue::Integer(1)),
                ("t3", SqlValue::Integer(1))
            ])
        );
        assert_eq!(
            column(s, "task", "at"),
            values(&[
                ("t1", SqlValue::Timestamp("2026-03-01T00:00:00.000Z".into())),
                ("t2", SqlValue::Timestamp("2026-03-02T10:00:00.000Z".into())),
                ("t3", SqlValue::Null)
            ])
        );
        assert_eq!(column(s, "proj", "name"), values(&[("p1", text("alpha"))]));
        // Swapped tables: each took the other's name, with its rows.
        assert_eq!(column(s, "right_t", "l"), values(&[("l1", text("left"))]));
        assert_eq!(column(s, "left_t", "r"), values(&[("r1", text("right"))]));
        // The CHECKs follow the swapped columns.
        let err = try_insert(
            s,
            "task",
            "t9",
            &[
                ("name", text("x")),
                ("labels", jsonv(json!({"not": "a list"}))),
            ],
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Check, "{err}");
        // A table may now be created under an old name: its primary key name is free.
        let b2 = {
            let mut b2 = b.clone();
            b2.push(object("project", json!({"x": {"type": "text"}})));
            b2
        };
        deploy(s, &b, &b2, &[]);

        // C: narrow back (exactly), datetime → date at midnight, drop the unique, multiple off
        // (lossy, acknowledged by the caller: values dropped), required → optional, json → tags.
        let c = vec![
            object(
                "task",
                json!({
                    "name": {"type": "text"},
                    "n": {"type": "number", "scale": 0},
                    "score": {"type": "text"},
                    "done": {"type": "boolean"},
                    "tags": {"type": "tags"},
                    "labels": {"type": "tags"},
                    "code": {"type": "text"},
                    "due": {"type": "date"},
                    "at": {"type": "date"},
                    "kind": {"type": "select", "options": [{"label": "A", "value": "aa"}]},
                    "when_text": {"type": "text"},
                    "stars": {"type": "rating"},
                    "extra": {"type": "json"},
                    "priority": {"type": "number", "scale": 0, "required": true, "defaultValue": 1},
                }),
            ),
            object("proj", json!({"name": {"type": "text", "index": true}})),
            object("left_t", json!({"r": {"type": "text"}})),
            object("right_t", json!({"l": {"type": "text"}})),
            object("project", json!({"x": {"type": "text"}})),
        ];
        // t2's datetime is not at midnight: the exact narrowing refuses it, and nothing changes.
        let before = introspect_table(s, "task").unwrap();
        let (_, p) = make_plan(&b2, &c, &[]);
        let err = apply(s, &p).unwrap_err();
        assert!(matches!(err, ApplyError::Statement { .. }), "{err}");
        assert_eq!(introspect_table(s, "task").unwrap(), before);
        s.execute(
            "UPDATE task SET at = $1 WHERE id = $2",
            &[
                SqlValue::Timestamp("2026-03-02T00:00:00.000Z".into()),
                text("t2"),
            ],
        )
        .unwrap();
        deploy(s, &b2, &c, &[]);
        assert_eq!(
            column(s, "task", "at"),
            values(&[
                ("t1", SqlValue::Date("2026-03-01".into())),
                ("t2", SqlValue::Date("2026-03-02".into())),
                ("t3", SqlValue::Null)
            ])
        );
        assert_eq!(
            column(s, "task", "n"),
            values(&[
                ("t1", SqlValue::Integer(3)),
                ("t2", SqlValue::Integer(-4)),
                ("t3", SqlValue::Null)
            ])
        );
        // Numbers become the text SQLite would hold.
        assert_eq!(
            column(s, "task", "score"),
            values(&[
                ("t1", text("2")),
                ("t2", text("-7")),
                ("t3", SqlValue::Null)
            ])
        );
        assert_eq!(
            column(s, "task", "done"),
            values(&[
                ("t1", SqlValue::Bool(true)),
                ("t2", SqlValue::Bool(false)),
                ("t3", SqlValue::Null)
            ])
        );
        assert_eq!(
            column(s, "task", "kind"),
            values(&[
                ("t1", SqlValue::Null),
                ("t2", SqlValue::Null),
                ("t3", SqlValue::Null)
            ])
        );
        assert_eq!(
            column(s, "task", "when_text"),
            values(&[
                ("t1", text("2026-05-01T12:00:00.000Z")),
                ("t2", text("2026-05-02T00:00:00.000Z")),
                ("t3", SqlValue::Null)
            ])
        );
        // Duplicate names are allowed again, NULL names too.
        insert(s, "task", "t4", &[("name", text("one"))]);
        insert(s, "task", "t5", &[]);
    });
}

#[test]
fn reversible_plans_roll_back_to_the_previous_schema() {
    with_pg(|s| {
        let a = vec![object(
            "task",
            json!({"title": {"type": "text"}, "tags": {"type": "tags"}, "n": {"type": "number", "defaultValue": 1.5}}),
        )];
        deploy(s, &[], &a, &[]);
        insert(
            s,
            "task",
            "t1",
            &[("title", text("x")), ("tags", jsonv(json!(["a"])))],
        );
        let b = vec![object_with(
            "todo",
            json!({"name": {"type": "text"}, "tags": {"type": "tags"}, "n": {"type": "number", "defaultValue": 2.5}, "extra": {"type": "json"}}),
            json!([{"fields": ["name"]}]),
        )];
        let renames = [
            Rename::Object {
                from: "task".into(),
                to: "todo".into(),
            },
            Rename::Field {
                object: "todo".into(),
                from: "title".into(),
                to: "name".into(),
            },
        ];
        let p = deploy(s, &a, &b, &renames);
        assert!(p.reversible(), "{p:#?}");
        let back = p.rollback_statements().unwrap();
        s.transaction(|| {
            for sql in &back {
                s.execute_batch(sql)?;
            }
            Ok::<_, objectos_sql::SqlError>(())
        })
        .unwrap();
        assert_schema(s, &a);
        assert_eq!(column(s, "task", "title"), values(&[("t1", text("x"))]));
        // The primary key got its old name back: the table can be renamed again.
        deploy(s, &a, &b, &renames);
    });
}

#[test]
fn a_failing_statement_leaves_schema_and_rows_unchanged() {
    with_pg(|s| {
        let a = vec![object(
            "task",
            json!({"title": {"type": "text", "index": true}, "points": {"type": "number"}}),
        )];
        deploy(s, &[], &a, &[]);
        insert(
            s,
            "task",
            "t1",
            &[("title", text("same")), ("points", SqlValue::Real(1.5))],
        );
        insert(
            s,
            "task",
            "t2",
            &[("title", text("same")), ("points", SqlValue::Real(2.0))],
        );
        // Many statements, the last of which (the unique index) fails.
        let b = vec![
            object(
                "todo",
                json!({
                    "name": {"type": "text", "unique": true},
                    "points": {"type": "text", "required": true, "defaultValue": "0"},
                    "added": {"type": "tags", "required": true, "defaultValue": []},
                }),
            ),
            object("other", json!({"x": {"type": "text"}})),
        ];
        let renames = [
            Rename::Object {
                from: "task".into(),
                to: "todo".into(),
            },
            Rename::Field {
                object: "todo".into(),
                from: "title".into(),
                to: "name".into(),
            },
        ];
        let (d, p) = make_plan(&a, &b, &renames);
        let schema = introspect_table(s, "task").unwrap();
        let rows_before = s.query("SELECT * FROM task ORDER BY id", &[]).unwrap();
        let err = apply(s, &p).unwrap_err();
        match &err {
            ApplyError::Statement {
                order,
                code,
                source,
                ..
            } => {
                assert_eq!(*order as usize, p.statements.len() - 1, "{p:#?}");
                assert_eq!(code.as_deref(), Some("23505"));
                assert_eq!(source.code, *code);
                assert!(source.is_unique());
            }
            other => panic!("{other}"),
        }
        assert!(!s.in_transaction());
        assert_eq!(tables(s), vec!["task".to_owned()]);
        assert_eq!(introspect_table(s, "task").unwrap(), schema);
        assert_eq!(
            s.query("SELECT * FROM task ORDER BY id", &[]).unwrap(),
            rows_before
        );

        // The probe foresaw it, with the live names.
        let found = probe(s, &d.data_checks().into_iter().cloned().collect::<Vec<_>>()).unwrap();
        let dup = found
            .iter()
            .find(|r| matches!(r.check, DataCheck::DuplicatesIn { .. }))
            .unwrap();
        assert!(dup.failed);
        assert_eq!((dup.rows, dup.groups), (2, Some(1)));

        // Inside the caller's transaction: the caller's writes and the DDL go together, or not.
        s.begin().unwrap();
        insert(s, "task", "t3", &[("title", text("mine"))]);
        assert!(apply_in(s, &p).is_err());
        s.rollback().unwrap();
        assert_eq!(s.query_count("SELECT COUNT(*) FROM task", &[]).unwrap(), 2);

        // Interrupted after any statement: nothing changes.
        s.execute(
            "UPDATE task SET title = $1 WHERE id = $2",
            &[text("other"), text("t2")],
        )
        .unwrap();
        for stop in 0..p.statements.len() {
            s.begin().unwrap();
            let err = apply_in_with(s, &p, &mut |i| {
                if i == stop {
                    Err("stop".to_owned())
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
            assert!(matches!(err, ApplyError::Interrupted { .. }));
            s.rollback().unwrap();
            assert_eq!(tables(s), vec!["task".to_owned()]);
            assert_eq!(introspect_table(s, "task").unwrap(), schema);
        }
        // And with the data fixed, it applies.
        deploy(s, &a, &b, &renames);
        assert_eq!(
            column(s, "todo", "points"),
            values(&[("t1", text("1.5")), ("t2", text("2.0"))])
        );
        assert_eq!(
            column(s, "todo", "added"),
            values(&[("t1", jsonv(json!([]))), ("t2", jsonv(json!([])))])
        );
    });
}

#[test]
fn dry_run_leaves_everything_unchanged() {
    with_pg(|s| {
        let a = vec![object(
            "task",
            json!({"title": {"type": "text"}, "n": {"type": "number"}}),
        )];
        deploy(s, &[], &a, &[]);
        insert(
            s,
            "task",
            "t1",
            &[("title", text("a")), ("n", SqlValue::Real(1.5))],
        );
        insert(
            s,
            "task",
            "t2",
            &[("title", text("a")), ("n", SqlValue::Real(2.0))],
        );
        let schema = introspect_table(s, "task").unwrap();
        let rows = s.query("SELECT * FROM task ORDER BY id", &[]).unwrap();

        // A plan that would succeed.
        let ok = vec![object(
            "todo",
            json!({"title": {"type": "text", "required": true, "defaultValue": "x"}, "n": {"type": "text"}, "m": {"type": "tags"}}),
        )];
        let (_, p) = make_plan(
            &a,
            &ok,
            &[Rename::Object {
                from: "task".into(),
                to: "todo".into(),
            }],
        );
        let report = dry_run(s, &p).unwrap();
        assert!(report.ok(), "{report:?}");
        assert_eq!(report.executed, p.statements.len());
        // A plan that fails: narrowing 1.5 to an integer.
        let bad = vec![object(
            "task",
            json!({"title": {"type": "text", "unique": true}, "n": {"type": "number", "scale": 0}}),
        )];
        let (d, p) = make_plan(&a, &bad, &[]);
        let report = dry_run(s, &p).unwrap();
        let failure = report.failure.unwrap();
        assert_eq!(failure.code.as_deref(), Some("22P02"), "{failure:?}");
        assert!(failure.sql.contains("TYPE BIGINT"), "{failure:?}");
        let found = probe(s, &d.data_checks().into_iter().cloned().collect::<Vec<_>>()).unwrap();
        let narrowing = found
            .iter()
            .find(|r| matches!(r.check, DataCheck::NotCastable { .. }))
            .unwrap();
        assert_eq!(narrowing.rows, 1);

        assert!(!s.in_transaction());
        assert_eq!(tables(s), vec!["task".to_owned()]);
        assert_eq!(introspect_table(s, "task").unwrap(), schema);
        assert_eq!(
            s.query("SELECT * FROM task ORDER BY id", &[]).unwrap(),
            rows
        );

        // Inside the caller's transaction: its writes survive a failed dry run, and it goes on.
        s.begin().unwrap();
        insert(s, "task", "t3", &[("title", text("mine"))]);
        let report = dry_run(s, &p).unwrap();
        assert!(!report.ok());
        assert!(s.in_transaction());
        insert(s, "task", "t4", &[("title", text("after"))]);
        s.commit().unwrap();
        assert_eq!(s.query_count("SELECT COUNT(*) FROM task", &[]).unwrap(), 4);
        assert_eq!(introspect_table(s, "task").unwrap(), schema);
    });
}

/// The probe data: one table, the same rows on both dialects (booleans and JSON as each stores them).
fn probe_rows(pg: bool) -> Vec<(&'static str, Vec<(&'static str, SqlValue)>)> {
    let b = |v: bool| {
        if pg {
            SqlValue::Bool(v)
        } else {
            SqlValue::Integer(i64::from(v))
        }
    };
    let j = |v: Value| if pg { jsonv(v) } else { text(&v.to_string()) };
    let texts = [
        "12",
        "-1.5",
        "2e3",
        "abc",
        "",
        "1.0",
        "0",
        " 7 ",
        "+5",
        "1e400",
        "99999999999999999999",
    ];
    let mut out = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        let id: &'static str = Box::leak(format!("r{i:02}").into_boxed_str());
        let mut vals = vec![("t", text(t))];
        vals.push(("r", SqlValue::Real([1.0, 1.5, -3.0, 0.0, 1e300][i % 5])));
        vals.push(("i", SqlValue::Integer([0, 1, 2, -1][i % 4])));
        vals.push(("flag", b(i % 2 == 0)));
        vals.push(("dup", text(["x", "y", "x", "z", "y", "x"][i % 6])));
        vals.push((
            "j",
            j([json!([1]), json!({"a": 1}), json!("s"), json!(null)][i % 4].clone()),
        ));
        if i % 3 == 0 {
            vals.push(("maybe", text("here")));
        }
        out.push((id, vals));
    }
    out
}

#[test]
fn probes_count_the_same_rows_as_on_sqlite() {
    let model = vec![object(
        "p",
        json!({
            "t": {"type": "text"}, "r": {"type": "number"}, "i": {"type": "number", "scale": 0},
            "flag": {"type": "boolean"}, "dup": {"type": "text"}, "j": {"type": "json"},
            "maybe": {"type": "text"},
        }),
    )];
    let not_castable = |column: &str, from: Repr, to: Repr| DataCheck::NotCastable {
        table: "p".into(),
        column: column.into(),
        from,
        to,
    };
    use objectos_schema::JsonShape;
    let checks = vec![
        DataCheck::NullsIn {
            table: "p".into(),
            column: "maybe".into(),
        },
        DataCheck::DuplicatesIn {
            table: "p".into(),
            columns: vec!["dup".into()],
        },
        DataCheck::DuplicatesIn {
            table: "p".into(),
            columns: vec!["dup".into(), "flag".into()],
        },
        not_castable("r", Repr::Real, Repr::Integer),
        not_castable("t", Repr::Text, Repr::Integer),
        not_castable("t", Repr::Text, Repr::Real),
        not_castable("t", Repr::Text, Repr::Boolean),
        not_castable("i", Repr::Integer, Repr::Boolean),
        not_castable("r", Repr::Real, Repr::Boolean),
        not_castable(
            "j",
            Repr::Json(JsonShape::Any),
            Repr::Json(JsonShape::Array),
        ),
        not_castable(
            "j",
            Repr::Json(JsonShape::Any),
            Repr::Json(JsonShape::Object),
        ),
        not_castable("i", Repr::Integer, Repr::Real),
        DataCheck::NonEmptyTable { table: "p".into() },
        DataCheck::MultipleRows { table: "p".into() },
    ];
    let summary = |found: Vec<objectos_schema::ProbeResult>| -> Vec<(bool, u64, Option<u64>)> {
        found
            .into_iter()
            .map(|r| (r.failed, r.rows, r.groups))
            .collect()
    };

    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let sqlite = SqliteSession::new(&conn);
    let d = diff(&[], &model, &[]).unwrap();
    apply(&sqlite, &plan(Dialect::Sqlite, &d, &model).unwrap()).unwrap();
    for (id, vals) in probe_rows(false) {
        insert(&sqlite, "p", id, &vals);
    }
    let on_sqlite = summary(probe(&sqlite, &checks).unwrap());
    // What the data says, independently of either database (see `probe_rows`).
    let want: Vec<(bool, u64, Option<u64>)> = vec![
        (true, 7, None),     // maybe: set on rows 0, 3, 6, 9 only
        (true, 11, Some(3)), // dup: x ×5, y ×4, z ×2
        (true, 10, Some(4)), // (dup, flag): (x, t) ×4, (y, f) ×2, (y, t) ×2, (z, f) ×2
        (true, 4, None),     // r → integer: 1.5 ×2, 1e300 ×2
        (true, 6, None),     // t → integer: -1.5, abc, "", +5, 1e400, 99999999999999999999
        (true, 3, None),     // t → real: abc, "", +5
        (true, 9, None),     // t → boolean: all but 1.0 and 0
        (true, 5, None),     // i → boolean: 2 and -1
        (true, 6, None),     // r → boolean: 1.5, -3, 1e300
        (true, 8, None),     // j → array: objects, strings, JSON nulls
        (true, 8, None),     // j → object
        (false, 0, None),    // integer → real always converts
        (true, 11, None),
        (true, 11, None),
    ];
    assert_eq!(on_sqlite, want);

    with_pg(move |s| {
        let d = diff(&[], &model, &[]).unwrap();
        apply(s, &plan(Dialect::Postgres, &d, &model).unwrap()).unwrap();
        for (id, vals) in probe_rows(true) {
            insert(s, "p", id, &vals);
        }
        let on_pg = summary(probe(s, &checks).unwrap());
        for ((check, pg), sq) in checks.iter().zip(&on_pg).zip(&on_sqlite) {
            assert_eq!(pg, sq, "{check:?}");
        }
    });
}

type Rows = BTreeMap<String, BTreeMap<String, SqlValue>>;

/// Every row of `table`, keyed by id, every column by name.
fn rows(s: &dyn Session, table: &str) -> Rows {
    let schema = introspect_table(s, table).unwrap();
    let names: Vec<String> = schema.columns.iter().map(|c| c.name.clone()).collect();
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    s.query(
        &format!("SELECT {} FROM \"{table}\"", quoted.join(", ")),
        &[],
    )
    .unwrap()
    .into_iter()
    .map(|row| {
        let m: BTreeMap<String, SqlValue> = names.iter().cloned().zip(row).collect();
        (m["id"].as_str().unwrap().to_owned(), m)
    })
    .collect()
}

/// Every table's schema and rows.
fn dump(s: &dyn Session) -> Vec<String> {
    let mut out = Vec::new();
    for table in tables(s) {
        out.push(format!("{:?}", introspect_table(s, &table).unwrap()));
        for (id, row) in rows(s, &table) {
            out.push(format!("{table} {id} {row:?}"));
        }
    }
    out
}

/// The SQLite property test, smaller, on PostgreSQL: random models A, random edits to B (renames,
/// widenings, relaxed NOT NULL, indexes toggled, drops, uniques over possible duplicates, added
/// fields and objects), with rows; probes and the dry run agree, a refused plan changes nothing, a
/// plan applied gives the expected schema and the widened values, and B → A restores every value.
#[test]
fn random_model_changes_preserve_schema_and_values_on_postgres() {
    use common::{arb_case, build_a, build_b, widened};
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    with_pg_cache(false, |s| {
        let mut runner = TestRunner::new(Config {
            cases: 24,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&arb_case(true), |(m, e, data)| {
            s.execute_batch(&format!(
                "DROP SCHEMA {TENANT} CASCADE; CREATE SCHEMA {TENANT}"
            ))
            .unwrap();
            let a = build_a(&m);
            deploy(s, &[], &a, &[]);
            for (oi, (name, fields)) in m.objects.iter().enumerate() {
                for (ri, row) in data[oi].iter().enumerate() {
                    let values: Vec<(String, SqlValue)> = (0..fields.len())
                        .map(|fi| (format!("f{fi}"), row[fi].clone()))
                        .collect();
                    let refs: Vec<(&str, SqlValue)> = values
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.clone()))
                        .collect();
                    insert(s, name, &format!("r{ri}"), &refs);
                }
            }
            let before: BTreeMap<String, Rows> = m
                .objects
                .iter()
                .map(|(name, _)| (name.clone(), rows(s, name)))
                .collect();
            let (b, renames, survivors) = build_b(&m, &e);
            let (d, p) = make_plan(&a, &b, &renames);
            let checks: Vec<DataCheck> = d.data_checks().into_iter().cloned().collect();
            let refused = probe(s, &checks).unwrap().iter().any(|r| r.failed);
            let report = dry_run(s, &p).unwrap();
            if refused == report.ok() {
                return Err(TestCaseError::fail(format!("probes {refused}, {report:?}")));
            }
            if refused {
                let whole = dump(s);
                if apply(s, &p).is_ok() || dump(s) != whole {
                    return Err(TestCaseError::fail("a refused plan changed something"));
                }
                return Ok(());
            }
            apply(s, &p).unwrap_or_else(|err| panic!("{err}\n{p:#?}"));
            assert_schema(s, &b);
            let after: BTreeMap<String, Rows> = b
                .iter()
                .map(|o| (o.name.clone(), rows(s, &o.name)))
                .collect();
            for (old_obj, old_key, new_obj, new_key, kind) in &survivors {
                let oi = m.objects.iter().position(|(n, _)| n == old_obj).unwrap();
                let fi: usize = old_key[1..].parse().unwrap();
                let from = m.objects[oi].1[fi].kind;
                assert_eq!(before[old_obj].len(), after[new_obj].len());
                for (id, row) in &before[old_obj] {
                    let want = widened(&row[old_key], from, *kind);
                    let got = &after[new_obj][id][new_key];
                    // Booleans read back as booleans on PostgreSQL.
                    let got = match got {
                        SqlValue::Bool(v) => SqlValue::Integer(i64::from(*v)),
                        other => other.clone(),
                    };
                    let want = match want {
                        SqlValue::Bool(v) => SqlValue::Integer(i64::from(v)),
                        other => other,
                    };
                    assert_eq!(got, want, "{new_obj}.{new_key} row {id}");
                }
            }
            // B → A with the inverse renames restores every surviving value exactly.
            let (back, back_plan) = make_plan(&b, &a, d.inverse_renames());
            let checks: Vec<DataCheck> = back.data_checks().into_iter().cloned().collect();
            let failed: Vec<_> = probe(s, &checks)
                .unwrap()
                .into_iter()
                .filter(|r| r.failed)
                .collect();
            assert!(failed.is_empty(), "{failed:?}");
            apply(s, &back_plan).unwrap_or_else(|err| panic!("{err}\n{back_plan:#?}"));
            assert_schema(s, &a);
            let survived: Vec<(&str, &str)> = survivors
                .iter()
                .map(|s| (s.0.as_str(), s.1.as_str()))
                .collect();
            for (name, _) in &m.objects {
                let restored = rows(s, name);
                assert_eq!(restored.len(), before[name].len());
                for (id, row) in &before[name] {
                    for (col, value) in row {
                        let kept = !col.starts_with('f')
                            || survived.contains(&(name.as_str(), col.as_str()));
                        let want = if kept { value.clone() } else { SqlValue::Null };
                        assert_eq!(restored[id][col], want, "{name}.{col} row {id}");
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    });
}

#[test]
fn storage_changes_that_drop_or_create_values() {
    with_pg(|s| {
        let a = vec![
            object(
                "t",
                json!({
                    "f": {"type": "formula", "expression": "1 + 1"},
                    "g": {"type": "text"},
                    "tags": {"type": "tags"},
                    "loc": {"type": "location"},
                }),
            ),
            object("empty", json!({"x": {"type": "text"}})),
        ];
        deploy(s, &[], &a, &[]);
        insert(
            s,
            "t",
            "r1",
            &[
                ("g", text("kept?")),
                ("tags", jsonv(json!(["a"]))),
                ("loc", jsonv(json!({"lat": 1}))),
            ],
        );
        // Formula → stored with a default (materialised), text → formula (dematerialised), a list
        // → text with a default and an object → a list (lossy, acknowledged), and a required
        // field without a default on an empty table (PostgreSQL adds it in place).
        let b = vec![
            object(
                "t",
                json!({
                    "f": {"type": "text", "required": true, "defaultValue": "made"},
                    "g": {"type": "formula", "expression": "2"},
                    "tags": {"type": "text", "defaultValue": "none"},
                    "loc": {"type": "tags"},
                }),
            ),
            object(
                "empty",
                json!({"x": {"type": "text"}, "must": {"type": "number", "required": true}}),
            ),
        ];
        let (d, p) = make_plan(&a, &b, &[]);
        assert_eq!(
            d.requires_ack(),
            vec![
                "field:t.g".to_owned(),
                "field:t.tags".to_owned(),
                "field:t.loc".to_owned()
            ]
        );
        let checks: Vec<DataCheck> = d.data_checks().into_iter().cloned().collect();
        assert!(probe(s, &checks).unwrap().iter().all(|r| !r.failed));
        apply(s, &p).unwrap_or_else(|e| panic!("{e}\n{p:#?}"));
        assert_schema(s, &b);
        assert_eq!(column(s, "t", "f"), values(&[("r1", text("made"))]));
        assert_eq!(column(s, "t", "tags"), values(&[("r1", text("none"))]));
        assert_eq!(column(s, "t", "loc"), values(&[("r1", SqlValue::Null)]));
        assert!(introspect_table(s, "t")
            .unwrap()
            .columns
            .iter()
            .all(|c| c.name != "g"));
        // The new CHECK holds on the converted column.
        let err = try_insert(s, "t", "r2", &[("loc", jsonv(json!({"lat": 1})))]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Check, "{err}");

        // The same required field on a table with rows: probed, and refused by the database.
        let c = vec![
            b[0].clone(),
            object(
                "empty",
                json!({
                    "x": {"type": "text"},
                    "must": {"type": "number", "required": true},
                    "also": {"type": "text", "required": true},
                }),
            ),
        ];
        insert(s, "empty", "e1", &[("must", SqlValue::Real(1.0))]);
        let (d, p) = make_plan(&b, &c, &[]);
        let checks: Vec<DataCheck> = d.data_checks().into_iter().cloned().collect();
        let found = probe(s, &checks).unwrap();
        assert!(matches!(found[0].check, DataCheck::NonEmptyTable { .. }));
        assert!(found[0].failed && found[0].rows == 1);
        let err = apply(s, &p).unwrap_err();
        let ApplyError::Statement { code, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(code.as_deref(), Some("23502"));
        assert_schema(s, &b);
    });
}

/// Narrowings from text that the probes pass convert to the same values as SQLite's rebuild, and
/// narrowings they refuse fail on both.
#[test]
fn narrowings_from_text_convert_like_sqlite() {
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "to_int",
            json!({"type": "number", "scale": 0}),
            vec!["12", "2e3", "1.0", "0", " 7 ", "-5", "-0"],
        ),
        (
            "to_real",
            json!({"type": "number"}),
            vec!["12", "-1.5", "2e3", "0.125", " 7 ", "1e-3"],
        ),
        (
            "to_bool",
            json!({"type": "boolean"}),
            vec!["0", "1", "1.0", "0e0"],
        ),
        (
            "refused",
            json!({"type": "number", "scale": 0}),
            vec!["1", "1.5"],
        ),
    ];
    let run = move |s: &dyn Session, pg: bool| -> Vec<(String, Result<Vec<SqlValue>, String>)> {
        let mut out = Vec::new();
        for (name, target, texts) in &cases {
            let a = vec![object(name, json!({"t": {"type": "text"}}))];
            let b = vec![object(name, json!({"t": target}))];
            let d = diff(&[], &a, &[]).unwrap();
            let dialect = if pg {
                Dialect::Postgres
            } else {
                Dialect::Sqlite
            };
            apply(s, &plan(dialect, &d, &a).unwrap()).unwrap();
            for (i, t) in texts.iter().enumerate() {
                insert(s, name, &format!("r{i}"), &[("t", text(t))]);
            }
            let d = diff(&a, &b, &[]).unwrap();
            let checks: Vec<DataCheck> = d.data_checks().into_iter().cloned().collect();
            let refused = probe(s, &checks).unwrap().iter().any(|r| r.failed);
            let applied = apply(s, &plan(dialect, &d, &b).unwrap());
            assert_eq!(refused, applied.is_err(), "{name}: {applied:?}");
            let result = applied.map_err(|e| e.to_string()).map(|_| {
                s.query(&format!("SELECT t FROM \"{name}\" ORDER BY id"), &[])
                    .unwrap()
                    .into_iter()
                    .map(|r| match &r[0] {
                        // Booleans as SQLite holds them.
                        SqlValue::Bool(b) => SqlValue::Integer(i64::from(*b)),
                        v => v.clone(),
                    })
                    .collect()
            });
            out.push(((*name).to_owned(), result));
        }
        out
    };
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let on_sqlite = run(&SqliteSession::new(&conn), false);
    assert!(
        on_sqlite[..3].iter().all(|(_, r)| r.is_ok()),
        "{on_sqlite:?}"
    );
    assert!(on_sqlite[3].1.is_err());
    with_pg(move |s| {
        let on_pg = run(s, true);
        for ((name, pg), (_, sq)) in on_pg.iter().zip(&on_sqlite) {
            match (pg, sq) {
                (Ok(pg), Ok(sq)) => assert_eq!(pg, sq, "{name}"),
                (Err(_), Err(_)) => {}
                other => panic!("{name}: {other:?}"),
            }
        }
    });
}
