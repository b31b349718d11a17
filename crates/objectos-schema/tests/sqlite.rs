//! Every field type against a real SQLite file: create, introspect, compare, write, read back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use objectos_schema::{
    check_object, column_for, create_table_sql, mapping_table, IdentKind, SchemaError, Storage,
    TableDef, TableSchema, MULTIPLE_TYPES,
};
use objectos_spec::types::field::FieldType;
use objectos_spec::ObjectDefinition;
use objectos_sql::{Dialect, SqliteSession};
use rusqlite::types::Value as Sql;
use rusqlite::{params, Connection};
use serde_json::{json, Value};

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

fn db() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join("tenant.db")).unwrap();
    // As tenant databases are opened.
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    (dir, conn)
}

fn apply(conn: &Connection, object: &ObjectDefinition) {
    for statement in create_table_sql(object).unwrap() {
        conn.execute_batch(&statement)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

fn assert_matches_model(conn: &Connection, object: &ObjectDefinition) {
    let live = introspect_table(conn, &object.name).unwrap();
    let expected = expected_schema(object).unwrap();
    assert!(
        live == expected,
        "{}: {:#?}",
        object.name,
        live.differences(&expected)
    );
}

fn insert(
    conn: &Connection,
    table: &str,
    id: &str,
    column: Option<(&str, Sql)>,
) -> rusqlite::Result<usize> {
    let now = "2024-01-01T00:00:00.000Z";
    match column {
        None => conn.execute(
            &format!("INSERT INTO \"{table}\" (id, created_at, updated_at) VALUES (?1, ?2, ?2)"),
            params![id, now],
        ),
        Some((name, value)) => conn.execute(
            &format!(
                "INSERT INTO \"{table}\" (id, created_at, updated_at, \"{name}\") VALUES (?1, ?2, ?2, ?3)"
            ),
            params![id, now, value],
        ),
    }
}

fn read(conn: &Connection, table: &str, column: &str, id: &str) -> Sql {
    conn.query_row(
        &format!("SELECT \"{column}\" FROM \"{table}\" WHERE id = ?1"),
        params![id],
        |row| row.get(0),
    )
    .unwrap()
}

/// A representative value of a field type (with options), as JSON.
fn sample(ty: FieldType, extra: &Value) -> Value {
    use FieldType as T;
    let multiple = extra["multiple"] == json!(true);
    if multiple && MULTIPLE_TYPES.contains(&ty) {
        return match ty {
            T::Select => json!(["open", "won"]),
            T::Lookup => json!(["rec_1", "rec_2"]),
            _ => json!(["files/a.png", "files/b.png"]),
        };
    }
    match ty {
        T::Text | T::Textarea => json!("hello, it's \"quoted\" — ünïcode"),
        T::Email => json!("ada@example.com"),
        T::Url => json!("https://example.com/a?b=c"),
        T::Phone => json!("+33123456789"),
        T::Password => json!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
        T::Markdown => json!("# Title\n\n*text*"),
        T::Html | T::Richtext => json!("<p>hi</p>"),
        T::Number | T::Currency | T::Percent if extra["scale"] == json!(0) => json!(42),
        T::Number | T::Currency | T::Percent => json!(12.5),
        T::Date => json!("2024-02-29"),
        T::Datetime => json!("2024-02-29T12:34:56.789Z"),
        T::Time => json!("12:34:56"),
        T::Boolean | T::Toggle => json!(true),
        T::Select | T::Radio => json!("open"),
        T::Multiselect | T::Checkboxes => json!(["open", "won"]),
        T::Lookup | T::MasterDetail | T::Tree => json!("rec_1"),
        T::Image | T::File | T::Avatar | T::Video | T::Audio => json!("files/a.png"),
        T::Formula | T::Summary => Value::Null,
        T::Autonumber => json!(7),
        T::Location => json!({"lat": 48.85, "lng": 2.35}),
        T::Address => json!({"street": "1 rue X", "city": "Paris", "country": "FR"}),
        T::Code => json!("fn main() {}"),
        T::Json => json!({"a": [1, {"b": null}], "c": "d"}),
        T::Color => json!("#ff8800"),
        T::Rating if extra["allowHalf"] == json!(true) => json!(3.5),
        T::Rating => json!(4),
        T::Slider => json!(12.5),
        T::Signature => json!("data:image/png;base64,AAAA"),
        T::Qrcode => json!("https://example.com"),
        T::Progress => json!(50.0),
        T::Tags => json!(["x", "y"]),
        T::Vector => json!([0.25, -1.5, 3.0]),
    }
}

/// JSON → what the data engine binds for this storage.
fn to_sql(value: &Value, storage: Storage) -> Sql {
    match (storage, value) {
        (Storage::Json(_), v) => Sql::Text(v.to_string()),
        (_, Value::Bool(b)) => Sql::Integer(i64::from(*b)),
        (_, Value::Number(n)) if n.is_i64() => Sql::Integer(n.as_i64().unwrap()),
        (_, Value::Number(n)) => Sql::Real(n.as_f64().unwrap()),
        (_, Value::String(s)) => Sql::Text(s.clone()),
        (_, other) => panic!("no scalar for {other}"),
    }
}

/// The variants of a type worth creating: optional, required, unique, and storage-changing options.
fn variants(ty: FieldType) -> Vec<(&'static str, Value)> {
    let row = mapping_table()
        .into_iter()
        .find(|r| r.field_type == ty)
        .unwrap();
    let mut out = vec![("opt", json!({})), ("req", json!({"required": true}))];
    if row.unique {
        out.push(("uniq", json!({"unique": true})));
        out.push(("requniq", json!({"unique": true, "required": true})));
    }
    if MULTIPLE_TYPES.contains(&ty) {
        out.push(("multi", json!({"multiple": true})));
        out.push(("multireq", json!({"multiple": true, "required": true})));
    }
    if matches!(
        ty,
        FieldType::Number | FieldType::Currency | FieldType::Percent
    ) {
        out.push(("whole", json!({"scale": 0})));
        out.push(("wholeuniq", json!({"scale": 0, "unique": true})));
    }
    if ty == FieldType::Rating {
        out.push(("half", json!({"allowHalf": true})));
    }
    out
}

#[test]
fn every_field_type_creates_introspects_and_round_trips() {
    let (_dir, conn) = db();
    let mut tables = 0;
    for &ty in FieldType::ALL {
        for (variant, extra) in variants(ty) {
            let table = format!("t_{}_{variant}", ty.as_str());
            let def = field(ty, extra.clone());
            let object = object(&table, json!({ "f": def, "other": {"type": "text"} }));
            apply(&conn, &object);
            assert_matches_model(&conn, &object);
            tables += 1;

            let parsed = &object.fields["f"];
            let spec = column_for("f", parsed).unwrap();
            let Some(spec) = spec else {
                // Computed: no column at all.
                assert!(matches!(ty, FieldType::Formula | FieldType::Summary));
                let live = introspect_table(&conn, &table).unwrap();
                assert!(live.columns.iter().all(|c| c.name != "f"), "{table}");
                continue;
            };

            // A representative value comes back with its storage class (JSON as JSON text).
            let value = sample(ty, &extra);
            insert(
                &conn,
                &table,
                "r1",
                Some(("f", to_sql(&value, spec.storage))),
            )
            .unwrap();
            let back = read(&conn, &table, "f", "r1");
            match spec.storage {
                Storage::Json(_) => {
                    let Sql::Text(text) = back else {
                        panic!("{table}: JSON came back as {back:?}")
                    };
                    assert_eq!(
                        serde_json::from_str::<Value>(&text).unwrap(),
                        value,
                        "{table}"
                    );
                }
                storage => assert_eq!(back, to_sql(&value, storage), "{table}"),
            }

            // Required: a missing value is refused.
            let missing = insert(&conn, &table, "r2", None);
            if parsed.required {
                let err = missing.unwrap_err().to_string();
                assert!(err.contains("NOT NULL"), "{table}: {err}");
            } else {
                missing.unwrap();
                assert_eq!(read(&conn, &table, "f", "r2"), Sql::Null, "{table}");
            }

            // Unique: a duplicate is refused.
            let duplicate = insert(
                &conn,
                &table,
                "r3",
                Some(("f", to_sql(&value, spec.storage))),
            );
            if parsed.unique || ty == FieldType::Autonumber {
                let err = duplicate.unwrap_err().to_string();
                assert!(err.contains("UNIQUE"), "{table}: {err}");
            } else {
                duplicate.unwrap();
            }
        }
    }
    assert!(tables > 44 * 2, "{tables}");
}

#[test]
fn strict_types_and_checks_refuse_wrong_values() {
    let (_dir, conn) = db();
    let object = object(
        "t",
        json!({
            "flag": field(FieldType::Boolean, json!({})),
            "amount": field(FieldType::Number, json!({})),
            "count": field(FieldType::Number, json!({"scale": 0})),
            "labels": field(FieldType::Multiselect, json!({})),
            "place": field(FieldType::Location, json!({})),
            "data": field(FieldType::Json, json!({})),
        }),
    );
    apply(&conn, &object);
    let refused = |column: &str, value: Sql, expect: &str| {
        let err = insert(&conn, "t", "x", Some((column, value.clone())))
            .expect_err(&format!("{column} accepted {value:?}"))
            .to_string();
        assert!(err.contains(expect), "{column} {value:?}: {err}");
    };
    refused("flag", Sql::Integer(2), "CHECK");
    refused("flag", Sql::Text("true".into()), "cannot store TEXT");
    refused("amount", Sql::Text("12,5".into()), "cannot store TEXT");
    refused("count", Sql::Real(1.5), "cannot store REAL");
    refused("labels", Sql::Text("not json".into()), "CHECK");
    refused("labels", Sql::Text(r#"{"a": 1}"#.into()), "CHECK");
    refused("labels", Sql::Text("\"a\"".into()), "CHECK");
    refused("place", Sql::Text("[1, 2]".into()), "CHECK");
    refused("place", Sql::Text("{".into()), "CHECK");
    refused("data", Sql::Text("{nope".into()), "CHECK");
    // Any JSON value is fine for `json`, scalars included; whole reals fit INTEGER losslessly.
    insert(
        &conn,
        "t",
        "a",
        Some(("data", Sql::Text("\"text\"".into()))),
    )
    .unwrap();
    insert(&conn, "t", "b", Some(("count", Sql::Real(3.0)))).unwrap();
    assert_eq!(read(&conn, "t", "count", "b"), Sql::Integer(3));
    insert(&conn, "t", "c", Some(("amount", Sql::Integer(3)))).unwrap();
    assert_eq!(read(&conn, "t", "amount", "c"), Sql::Real(3.0));
}

#[test]
fn defaults_are_escaped_literals_of_the_column_type() {
    let (_dir, conn) = db();
    let evil = "x'); DROP TABLE t; --";
    let object = object(
        "t",
        json!({
            "note": field(FieldType::Text, json!({"defaultValue": evil, "required": true})),
            "quote": field(FieldType::Text, json!({"defaultValue": "it's \"fine\""})),
            "flag": field(FieldType::Boolean, json!({"defaultValue": true, "required": true})),
            "off": field(FieldType::Toggle, json!({"defaultValue": false})),
            "amount": field(FieldType::Currency, json!({"defaultValue": 10})),
            "count": field(FieldType::Number, json!({"scale": 0, "defaultValue": -3})),
            "stage": field(FieldType::Select, json!({"defaultValue": "won"})),
            "labels": field(FieldType::Multiselect, json!({"defaultValue": "open"})),
            "tags": field(FieldType::Tags, json!({"defaultValue": ["x", "y'z"]})),
            "data": field(FieldType::Json, json!({"defaultValue": {"k": "v'); --"}})),
            "nothing": field(FieldType::Text, json!({"defaultValue": null})),
        }),
    );
    let def = TableDef::from_object(&object).unwrap();
    let default = |name: &str| def.column(name).unwrap().default_sql.clone();
    assert_eq!(default("note").as_deref(), Some("'x''); DROP TABLE t; --'"));
    assert_eq!(default("flag").as_deref(), Some("1"));
    assert_eq!(default("off").as_deref(), Some("0"));
    assert_eq!(default("amount").as_deref(), Some("10.0"));
    assert_eq!(default("count").as_deref(), Some("-3"));
    assert_eq!(default("labels").as_deref(), Some(r#"'["open"]'"#));
    assert_eq!(default("nothing"), None);

    apply(&conn, &object);
    assert_matches_model(&conn, &object);
    insert(&conn, "t", "r", None).unwrap();
    assert_eq!(read(&conn, "t", "note", "r"), Sql::Text(evil.into()));
    assert_eq!(
        read(&conn, "t", "quote", "r"),
        Sql::Text("it's \"fine\"".into())
    );
    assert_eq!(read(&conn, "t", "flag", "r"), Sql::Integer(1));
    assert_eq!(read(&conn, "t", "off", "r"), Sql::Integer(0));
    assert_eq!(read(&conn, "t", "amount", "r"), Sql::Real(10.0));
    assert_eq!(read(&conn, "t", "count", "r"), Sql::Integer(-3));
    assert_eq!(read(&conn, "t", "stage", "r"), Sql::Text("won".into()));
    assert_eq!(
        read(&conn, "t", "labels", "r"),
        Sql::Text(r#"["open"]"#.into())
    );
    assert_eq!(
        read(&conn, "t", "tags", "r"),
        Sql::Text(r#"["x","y'z"]"#.into())
    );
    assert_eq!(
        read(&conn, "t", "data", "r"),
        Sql::Text(r#"{"k":"v'); --"}"#.into())
    );
    assert_eq!(read(&conn, "t", "nothing", "r"), Sql::Null);
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1);
}

#[test]
fn defaults_that_do_not_fit_are_refused_with_their_path() {
    for (ty, extra) in [
        (FieldType::Text, json!({"defaultValue": 5})),
        (FieldType::Text, json!({"defaultValue": "nul\u{0}byte"})),
        (FieldType::Boolean, json!({"defaultValue": "yes"})),
        (FieldType::Number, json!({"scale": 0, "defaultValue": 1.5})),
        (FieldType::Number, json!({"defaultValue": "1"})),
        (FieldType::Location, json!({"defaultValue": [1, 2]})),
        (FieldType::Tags, json!({"defaultValue": {"a": 1}})),
        (FieldType::Password, json!({"defaultValue": "secret"})),
        (FieldType::Autonumber, json!({"defaultValue": 1})),
    ] {
        let object = object("t", json!({ "f": field(ty, extra.clone()) }));
        let err = create_table_sql(&object).unwrap_err();
        assert!(
            matches!(&err, SchemaError::InvalidDefault { path, .. } if path == "fields.f.defaultValue"),
            "{ty} {extra}: {err}"
        );
    }
}

#[test]
fn invalid_identifiers_are_refused_not_quoted() {
    let good = object("t", json!({ "f": field(FieldType::Text, json!({})) }));
    for bad in [
        "T",
        "x\"; DROP TABLE y; --",
        "a b",
        "sqlite_master",
        "",
        &"a".repeat(64),
    ] {
        let mut object = good.clone();
        object.name = bad.to_owned();
        let err = create_table_sql(&object).unwrap_err();
        assert!(
            matches!(&err, SchemaError::InvalidIdentifier { kind: IdentKind::Table, path, name, .. } if path == "name" && name == bad),
            "{bad:?}: {err}"
        );

        let mut object = good.clone();
        object.fields["f"].column_name = Some(bad.to_owned());
        let err = create_table_sql(&object).unwrap_err();
        assert!(
            matches!(&err, SchemaError::InvalidIdentifier { kind: IdentKind::Column, path, .. } if path == "fields.f.columnName"),
            "{bad:?}: {err}"
        );

        let mut object = good.clone();
        let key = bad.to_owned();
        let field = object.fields.shift_remove("f").unwrap();
        object.fields.insert(key, field);
        let err = create_table_sql(&object).unwrap_err();
        assert!(
            matches!(
                &err,
                SchemaError::InvalidIdentifier {
                    kind: IdentKind::Column,
                    ..
                }
            ),
            "{bad:?}: {err}"
        );
    }
    // A refused column is reported once, not again by the index that names it.
    let mut object = object_with(
        "t",
        json!({ "f": field(FieldType::Text, json!({"unique": true})) }),
        json!([{"fields": ["f"]}]),
    );
    object.fields["f"].column_name = Some("F".to_owned());
    let errors = check_object(&object);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].path(), Some("fields.f.columnName"));

    let object = object_with(
        "t",
        json!({ "f": field(FieldType::Text, json!({})) }),
        json!([{"name": "Bad Name", "fields": ["f"]}]),
    );
    let err = create_table_sql(&object).unwrap_err();
    assert!(
        matches!(&err, SchemaError::InvalidIdentifier { kind: IdentKind::Index, path, .. } if path == "indexes[0].name"),
        "{err}"
    );
}

#[test]
fn create_table_sql_shape() {
    let object = object_with(
        "task",
        json!({
            "title": field(FieldType::Text, json!({"required": true})),
            "code": field(FieldType::Text, json!({"unique": true, "columnName": "task_code"})),
            "done": field(FieldType::Boolean, json!({})),
            "total": field(FieldType::Formula, json!({})),
        }),
        json!([{"fields": ["title", "created_at"]}]),
    );
    let sql = create_table_sql(&object).unwrap();
    assert_eq!(
        sql,
        vec![
            "CREATE TABLE \"task\" (\n  \"id\" TEXT PRIMARY KEY NOT NULL,\n  \"created_at\" TEXT NOT NULL,\n  \"updated_at\" TEXT NOT NULL,\n  \"title\" TEXT NOT NULL,\n  \"task_code\" TEXT,\n  \"done\" INTEGER CHECK (\"done\" IN (0, 1))\n) STRICT".to_owned(),
            "CREATE INDEX \"idx_task_title_created_at\" ON \"task\" (\"title\", \"created_at\")".to_owned(),
            "CREATE UNIQUE INDEX \"uq_task_task_code\" ON \"task\" (\"task_code\")".to_owned(),
        ]
    );
}

#[test]
fn indexes_names_types_and_implied_ones() {
    let (_dir, conn) = db();
    let long = "a_field_with_a_rather_long_name_for_an_index";
    let object = object_with(
        "deal",
        json!({
            "account": field(FieldType::Lookup, json!({})),
            "owner": field(FieldType::Lookup, json!({})),
            "watchers": field(FieldType::Lookup, json!({"multiple": true})),
            "parent": field(FieldType::MasterDetail, json!({})),
            "stage": field(FieldType::Select, json!({"index": true})),
            "ext": field(FieldType::Text, json!({"externalId": true, "unique": true})),
            "number": field(FieldType::Autonumber, json!({})),
            long: field(FieldType::Text, json!({})),
            "other_long_field_name_here": field(FieldType::Text, json!({})),
        }),
        json!([
            {"fields": ["owner", "stage"], "type": "hash"},
            {"name": "deal_by_stage", "fields": ["stage"], "unique": false},
            {"fields": [long, "other_long_field_name_here"], "unique": true},
        ]),
    );
    let def = TableDef::from_object(&object).unwrap();
    let names: Vec<(&str, bool)> = def
        .indexes
        .iter()
        .map(|i| (i.name.as_str(), i.unique))
        .collect();
    let hashed = names[2].0;
    assert_eq!(hashed.len(), 63, "{hashed}");
    assert!(hashed.starts_with("uq_deal_a_field_with_a_rather_long_name_for_an_index_o_"));
    assert_eq!(
        names,
        vec![
            // `hash` is built as a b-tree; owner's implied index is served by this one.
            ("idx_deal_owner_stage", false),
            // Named as declared; stage's own `index: true` is then redundant.
            ("deal_by_stage", false),
            (hashed, true),
            ("uq_deal_ext", true),
            // Autonumber is always unique.
            ("uq_deal_number", true),
            // Single-valued references are indexed; multiple lookups (JSON) are not.
            ("idx_deal_account", false),
            ("idx_deal_parent", false),
        ]
    );
    apply(&conn, &object);
    assert_matches_model(&conn, &object);
}

#[test]
fn unsupported_indexes_are_refused_and_all_problems_reported() {
    let mut object = object(
        "t",
        json!({
            "tags": field(FieldType::Tags, json!({"unique": true})),
            "total": field(FieldType::Formula, json!({"index": true})),
            "secret": field(FieldType::Password, json!({"unique": true})),
            "name": field(FieldType::Text, json!({})),
        }),
    );
    // Some of these the spec's own rules refuse too; this layer must not rely on that.
    for index in [
        json!({"fields": ["name"], "type": "fulltext", "unique": false}),
        json!({"fields": ["name"], "type": "btree", "unique": false, "partial": "name IS NOT NULL; DROP TABLE t"}),
        json!({"fields": ["nope"], "type": "btree", "unique": false}),
        json!({"fields": ["total"], "type": "btree", "unique": false}),
        json!({"fields": ["name", "tags"], "type": "btree", "unique": true}),
        json!({"name": "same", "fields": ["name"], "type": "btree", "unique": false}),
        json!({"name": "same", "fields": ["id"], "type": "btree", "unique": false}),
    ] {
        object.indexes.push(serde_json::from_value(index).unwrap());
    }
    let errors = check_object(&object);
    let paths: Vec<&str> = errors.iter().filter_map(SchemaError::path).collect();
    assert_eq!(
        paths,
        vec![
            "fields.total.index",
            "indexes[0].type",
            "indexes[1].partial",
            "indexes[2].fields[0]",
            "indexes[3].fields[0]",
            "indexes[4].fields[1]",
            "indexes[6].name",
            "fields.tags.unique",
            "fields.secret.unique",
        ],
        "{errors:#?}"
    );
    assert!(matches!(
        errors[1],
        SchemaError::UnsupportedIndexType { .. }
    ));
    assert!(matches!(errors[2], SchemaError::PartialIndex { .. }));
    assert!(matches!(errors[3], SchemaError::UnknownIndexField { .. }));
    assert!(matches!(
        errors[4],
        SchemaError::ComputedNotIndexable { .. }
    ));
    assert!(matches!(errors[5], SchemaError::UniqueNotSupported { .. }));
    assert!(matches!(errors[6], SchemaError::DuplicateIndexName { .. }));
    // The first problem is what `create_table_sql` refuses with.
    assert!(matches!(
        create_table_sql(&object),
        Err(SchemaError::ComputedNotIndexable { .. })
    ));
}

#[test]
fn drift_is_visible() {
    let (_dir, conn) = db();
    let object = object(
        "t",
        json!({ "f": field(FieldType::Text, json!({"unique": true})) }),
    );
    apply(&conn, &object);
    conn.execute_batch(
        "ALTER TABLE t ADD COLUMN extra TEXT; DROP INDEX uq_t_f; CREATE INDEX side ON t (f, extra)",
    )
    .unwrap();
    let live = introspect_table(&conn, "t").unwrap();
    let diff = live.differences(&expected_schema(&object).unwrap());
    assert_eq!(diff.len(), 3, "{diff:#?}");
    assert!(diff.iter().any(|d| d.contains("column extra")));
    assert!(diff.iter().any(|d| d.contains("index side")));
    assert!(diff.iter().any(|d| d.contains("index uq_t_f")));
    assert_eq!(live.indexes[0].columns, vec!["f", "extra"]);

    conn.execute_batch("CREATE TABLE loose (id TEXT PRIMARY KEY, n int)")
        .unwrap();
    let loose = introspect_table(&conn, "loose").unwrap();
    assert!(!loose.strict);
    assert_eq!(loose.columns[1].sql_type, "INT");
    assert!(
        loose.indexes.is_empty(),
        "the primary key's autoindex is left out"
    );
    assert!(matches!(
        introspect_table(&conn, "missing"),
        Err(SchemaError::TableNotFound { .. })
    ));
}
