//! Tests of list queries: parsing both filter forms, GET parameters and the QueryAST, then running the
//! compiled SQL against a real table created from the model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use objectos_schema::TableDef;
use rusqlite::{params_from_iter, Connection};
use serde_json::{json, Value};

use objectos_spec::{Issue, IssueCode, JsonPath, ObjectDefinition};
use objectos_sql::{Dialect, SqlValue};

use super::compile::prefix_upper_bound;
use super::*;

fn deal() -> ObjectDefinition {
    objectos_spec::parse(&json!({
        "name": "deal",
        "fields": {
            "name": {"type": "text"},
            "amount": {"type": "number", "scale": 0},
            "score": {"type": "number"},
            "active": {"type": "boolean"},
            "close_date": {"type": "date"},
            "closed_at": {"type": "datetime"},
            "stage": {"type": "select", "options": [
                {"label": "Open", "value": "open"},
                {"label": "Won", "value": "won"},
                {"label": "Lost", "value": "lost"}
            ]},
            "labels": {"type": "multiselect", "options": [
                {"label": "A", "value": "aa"},
                {"label": "B", "value": "bb"},
                {"label": "C", "value": "cc"}
            ]},
            "secret": {"type": "password"},
            "total": {"type": "formula", "expression": "amount * 2"}
        },
        "indexes": [
            {"fields": ["name"]},
            {"fields": ["amount"]},
            {"fields": ["closed_at"]}
        ]
    }))
    .expect("deal object")
}

/// The `deal` table with five rows, `d1`…`d5`.
fn db() -> (ObjectDefinition, Connection) {
    let object = deal();
    let conn = Connection::open_in_memory().unwrap();
    for statement in TableDef::from_object(&object).unwrap().statements() {
        conn.execute_batch(&statement).unwrap();
    }
    type Row<'a> = (
        &'a str,
        Option<&'a str>,
        Option<i64>,
        Option<f64>,
        Option<i64>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    );
    let rows: [Row; 5] = [
        (
            "d1",
            Some("Alpha"),
            Some(10),
            Some(1.5),
            Some(1),
            Some("2026-01-01"),
            Some("2026-01-02T03:04:05.000Z"),
            Some("open"),
            Some(r#"["aa","bb"]"#),
            Some("$argon2id$h1"),
        ),
        (
            "d2",
            Some("alpha beta"),
            Some(20),
            Some(2.5),
            Some(0),
            Some("2026-02-01"),
            Some("2026-02-01T00:00:00.000Z"),
            Some("won"),
            Some(r#"["bb"]"#),
            Some("$argon2id$h2"),
        ),
        (
            "d3",
            Some("Beta"),
            Some(30),
            None,
            Some(1),
            Some("2026-03-01"),
            Some("2026-03-01T12:00:00.000Z"),
            Some("lost"),
            Some(r#"["cc"]"#),
            Some("$argon2id$h3"),
        ),
        (
            "d4",
            Some("Gamma 100%"),
            None,
            Some(4.0),
            None,
            None,
            None,
            None,
            None,
            None,
        ),
        (
            "d5",
            Some("gamma_x*"),
            Some(50),
            Some(5.5),
            Some(0),
            Some("2026-05-01"),
            Some("2026-05-01T00:00:00.000Z"),
            Some("open"),
            Some("[]"),
            None,
        ),
    ];
    for (n, row) in rows.iter().enumerate() {
        let created = format!("2026-01-0{}T00:00:00.000Z", n + 1);
        conn.execute(
            "INSERT INTO \"deal\" (\"id\", \"created_at\", \"updated_at\", \"name\", \"amount\", \"score\", \"active\", \"close_date\", \"closed_at\", \"stage\", \"labels\", \"secret\") VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            rusqlite::params![row.0, created, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9],
        )
        .unwrap();
    }
    (object, conn)
}

/// The ids the compiled query returns, in order.
fn run(conn: &Connection, compiled: &CompiledQuery) -> Vec<String> {
    let mut stmt = conn.prepare(&compiled.sql).unwrap();
    stmt.query_map(params_from_iter(compiled.params.iter()), |r| {
        r.get::<_, String>(0)
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn count(conn: &Connection, compiled: &CompiledQuery) -> i64 {
    conn.query_row(
        compiled.count_sql.as_deref().unwrap(),
        params_from_iter(compiled.count_params.iter()),
        |r| r.get(0),
    )
    .unwrap()
}

fn ids_of(conn: &Connection, object: &ObjectDefinition, query: &Query) -> Vec<String> {
    let compiled =
        compile(Dialect::Sqlite, object, query).unwrap_or_else(|e| panic!("{query:?}: {e:?}"));
    run(conn, &compiled)
}

/// The ids matching `filter` (either form), in id order.
fn filtered(conn: &Connection, object: &ObjectDefinition, filter: &Value) -> Vec<String> {
    let filter = parse_filter(filter, &JsonPath::root().key("filter"))
        .unwrap_or_else(|e| panic!("{filter}: {e:?}"));
    let query = Query {
        filter: Some(filter),
        limit: MAX_LIMIT,
        ..Query::default()
    };
    let compiled =
        compile(Dialect::Sqlite, object, &query).unwrap_or_else(|e| panic!("{query:?}: {e:?}"));
    let rows = run(conn, &compiled);
    assert_eq!(
        count(conn, &compiled),
        rows.len() as i64,
        "{}",
        compiled.sql
    );
    rows
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn get(conn: &Connection, object: &ObjectDefinition, pairs: &[(&str, &str)]) -> Vec<String> {
    let query = from_params(&params(pairs)).unwrap_or_else(|e| panic!("{pairs:?}: {e:?}"));
    ids_of(conn, object, &query)
}

/// Issues as `(path, code)`.
fn paths(issues: &[Issue]) -> Vec<(String, IssueCode)> {
    issues
        .iter()
        .map(|i| (i.path.to_string(), i.code))
        .collect()
}

/// The issues of compiling the GET query `pairs` (parse issues included).
fn get_issues(pairs: &[(&str, &str)]) -> Vec<Issue> {
    match from_params(&params(pairs)) {
        Err(issues) => issues,
        Ok(query) => compile(Dialect::Sqlite, &deal(), &query).expect_err("expected issues"),
    }
}

fn ast_issues(body: Value) -> Vec<Issue> {
    match from_ast(&body) {
        Err(issues) => issues,
        Ok(query) => compile(Dialect::Sqlite, &deal(), &query).expect_err("expected issues"),
    }
}

#[track_caller]
fn check_cases(cases: &[(Value, &[&str])]) {
    let (object, conn) = db();
    for (filter, expected) in cases {
        assert_eq!(
            filtered(&conn, &object, filter),
            *expected,
            "filter {filter}"
        );
    }
}

#[test]
fn every_array_operator() {
    check_cases(&[
        (json!(["name", "=", "Alpha"]), &["d1"]),
        (json!(["name", "==", "Alpha"]), &["d1"]),
        (json!(["amount", "!=", 10]), &["d2", "d3", "d4", "d5"]),
        (json!(["amount", "<>", 10]), &["d2", "d3", "d4", "d5"]),
        (json!(["amount", ">", 20]), &["d3", "d5"]),
        (json!(["amount", ">=", 20]), &["d2", "d3", "d5"]),
        (json!(["amount", "<", 20]), &["d1"]),
        (json!(["amount", "<=", 20]), &["d1", "d2"]),
        (json!(["amount", "in", [10, 30]]), &["d1", "d3"]),
        (json!(["amount", "IN", []]), &[]),
        (json!(["amount", "nin", [10, 30]]), &["d2", "d4", "d5"]),
        (json!(["amount", "not_in", [10]]), &["d2", "d3", "d4", "d5"]),
        (json!(["name", "contains", "eta"]), &["d2", "d3"]),
        (json!(["name", "contains", "beta"]), &["d2"]),
        (json!(["name", "contains", "100%"]), &["d4"]),
        (json!(["name", "contains", "x*"]), &["d5"]),
        (json!(["name", "contains", "*"]), &["d5"]),
        // notcontains: the complement of contains, same case rules; NULL does not contain.
        (json!(["name", "notcontains", "eta"]), &["d1", "d4", "d5"]),
        (
            json!(["name", "notcontains", "beta"]),
            &["d1", "d3", "d4", "d5"],
        ),
        (
            json!(["name", "NOT_CONTAINS", "*"]),
            &["d1", "d2", "d3", "d4"],
        ),
        (json!(["stage", "notcontains", "pe"]), &["d2", "d3", "d4"]),
        (json!(["stage", "not_contains", ""]), &["d4"]),
        (json!(["name", "like", "%BETA%"]), &["d2", "d3"]),
        (json!(["name", "like", "gamma\\_%"]), &["d5"]),
        (json!(["name", "like", "%\\%"]), &["d4"]),
        (json!(["name", "startswith", "al"]), &["d2"]),
        (json!(["name", "starts_with", "Al"]), &["d1"]),
        (
            json!(["name", "StartsWith", ""]),
            &["d1", "d2", "d3", "d4", "d5"],
        ),
        (json!(["name", "endswith", "ta"]), &["d2", "d3"]),
        (json!(["name", "ends_with", "%"]), &["d4"]),
        (json!(["amount", "between", [15, 30]]), &["d2", "d3"]),
        (json!(["score", "is_null"]), &["d3"]),
        (json!(["score", "is_null", true]), &["d3"]),
        (json!(["score", "is_not_null"]), &["d1", "d2", "d4", "d5"]),
        (json!(["score", ">", 2]), &["d2", "d4", "d5"]),
        (json!(["score", "<=", 1.5]), &["d1"]),
        (json!(["amount", ">", 10.5]), &["d2", "d3", "d5"]),
        (json!(["active", "=", true]), &["d1", "d3"]),
        (json!(["active", "=", false]), &["d2", "d5"]),
        (json!(["active", "!=", true]), &["d2", "d4", "d5"]),
        (json!(["active", "in", [true]]), &["d1", "d3"]),
        (json!(["amount", "=", null]), &["d4"]),
        (json!(["amount", "!=", null]), &["d1", "d2", "d3", "d5"]),
        (json!(["stage", "in", ["open", "won"]]), &["d1", "d2", "d5"]),
        (json!(["stage", "nin", ["open"]]), &["d2", "d3", "d4"]),
        (json!(["id", "=", "d3"]), &["d3"]),
        (json!(["id", "in", ["d3", "d1"]]), &["d1", "d3"]),
    ]);
}

#[test]
fn dates_compare_in_their_stored_form() {
    check_cases(&[
        (json!(["closed_at", "=", "2026-01-02T03:04:05Z"]), &["d1"]),
        (
            json!(["closed_at", "=", "2026-01-02T04:04:05+01:00"]),
            &["d1"],
        ),
        (
            json!(["closed_at", ">=", "2026-02-01"]),
            &["d2", "d3", "d5"],
        ),
        (
            json!([
                "closed_at",
                "between",
                ["2026-02-01T00:00:00Z", "2026-03-01T12:00:00Z"]
            ]),
            &["d2", "d3"],
        ),
        (json!(["close_date", "<", "2026-03-01"]), &["d1", "d2"]),
        (json!(["close_date", "=", "2026-05-01"]), &["d5"]),
        (
            json!(["created_at", ">", "2026-01-03T00:00:00Z"]),
            &["d4", "d5"],
        ),
    ]);
}

#[test]
fn json_array_fields_match_elements() {
    check_cases(&[
        (json!(["labels", "contains", "bb"]), &["d1", "d2"]),
        (json!(["labels", "=", "aa"]), &["d1"]),
        (json!(["labels", "in", ["aa", "cc"]]), &["d1", "d3"]),
        (json!(["labels", "nin", ["bb"]]), &["d3", "d4", "d5"]),
        (json!(["labels", "!=", "bb"]), &["d3", "d4", "d5"]),
        (json!(["labels", "is_null"]), &["d4"]),
        (json!({"labels": {"$contains": "cc"}}), &["d3"]),
        (json!(["labels", "notcontains", "bb"]), &["d3", "d4", "d5"]),
        (
            json!({"labels": {"$notContains": "cc"}}),
            &["d1", "d2", "d4", "d5"],
        ),
        (json!({"labels": "bb"}), &["d1", "d2"]),
    ]);
}

#[test]
fn every_object_operator() {
    check_cases(&[
        (json!({"name": "Alpha"}), &["d1"]),
        (json!({"amount": null}), &["d4"]),
        (json!({"amount": {"$eq": 10}}), &["d1"]),
        (json!({"amount": {"$ne": 10}}), &["d2", "d3", "d4", "d5"]),
        (json!({"amount": {"$gt": 20}}), &["d3", "d5"]),
        (json!({"amount": {"$gte": 20}}), &["d2", "d3", "d5"]),
        (json!({"amount": {"$lt": 20}}), &["d1"]),
        (json!({"amount": {"$lte": 20}}), &["d1", "d2"]),
        (json!({"amount": {"$in": [10, 50]}}), &["d1", "d5"]),
        (json!({"amount": {"$nin": [10, 50]}}), &["d2", "d3", "d4"]),
        (json!({"amount": {"$between": [20, 30]}}), &["d2", "d3"]),
        (json!({"name": {"$contains": "amm"}}), &["d4", "d5"]),
        (
            json!({"name": {"$notContains": "amm"}}),
            &["d1", "d2", "d3"],
        ),
        (json!({"stage": {"$notcontains": "o"}}), &["d4"]),
        (json!({"name": {"$startsWith": "Be"}}), &["d3"]),
        (json!({"name": {"$endsWith": "beta"}}), &["d2"]),
        (json!({"name": {"$like": "a%"}}), &["d1", "d2"]),
        (json!({"score": {"$null": true}}), &["d3"]),
        (
            json!({"score": {"$null": false}}),
            &["d1", "d2", "d4", "d5"],
        ),
        (
            json!({"score": {"$exists": true}}),
            &["d1", "d2", "d4", "d5"],
        ),
        (json!({"score": {"$exists": false}}), &["d3"]),
        (json!({"amount": {"$gt": 10, "$lt": 50}}), &["d2", "d3"]),
        (json!({"stage": "open", "active": false}), &["d5"]),
        (json!({"active": "true"}), &["d1", "d3"]),
        (json!({}), &["d1", "d2", "d3", "d4", "d5"]),
    ]);
}

#[test]
fn and_or_not_nest_in_both_forms() {
    check_cases(&[
        (
            json!([
                "or",
                ["and", ["amount", ">", 10], ["active", "=", true]],
                ["name", "=", "Alpha"]
            ]),
            &["d1", "d3"],
        ),
        (
            json!(["not", ["or", ["stage", "=", "open"], ["stage", "=", "won"]]]),
            &["d3", "d4"],
        ),
        (json!(["not", ["amount", ">", 20]]), &["d1", "d2", "d4"]),
        (json!(["AND"]), &["d1", "d2", "d3", "d4", "d5"]),
        (
            json!([["amount", ">", 10], ["amount", "<", 50]]),
            &["d2", "d3"],
        ),
        (
            json!([["name", "=", "Alpha"], "or", ["name", "=", "Beta"]]),
            &["d1", "d3"],
        ),
        (
            json!({"$or": [{"name": "Alpha"}, {"amount": {"$gte": 50}}]}),
            &["d1", "d5"],
        ),
        (
            json!({"$and": [{"active": true}, {"$or": [{"stage": "lost"}, {"amount": 10}]}]}),
            &["d1", "d3"],
        ),
        (json!({"$not": {"stage": "open"}}), &["d2", "d3", "d4"]),
        (
            json!({"$or": [["amount", "=", 10], {"name": {"$startsWith": "gam"}}]}),
            &["d1", "d5"],
        ),
    ]);
}

#[test]
fn sorts_by_several_fields_in_every_syntax() {
    let (object, conn) = db();
    let expected = ["d4", "d3", "d5", "d1", "d2"];
    for sort in [
        "stage,-amount",
        "stage asc, amount desc",
        "+stage,amount DESC",
        r#"[{"field":"stage","order":"asc"},{"field":"amount","order":"desc"}]"#,
        r#"["stage","-amount"]"#,
    ] {
        assert_eq!(get(&conn, &object, &[("sort", sort)]), expected, "{sort}");
        assert_eq!(
            get(&conn, &object, &[("orderBy", sort)]),
            expected,
            "{sort}"
        );
    }
    assert_eq!(
        get(&conn, &object, &[("sort", "-amount")]),
        ["d5", "d3", "d2", "d1", "d4"]
    );
    assert_eq!(
        get(&conn, &object, &[("sort", "name desc")]),
        ["d5", "d2", "d4", "d3", "d1"]
    );
    // `id` is the final tie-breaker: equal actives come back in id order.
    assert_eq!(
        get(&conn, &object, &[("sort", "-active")]),
        ["d1", "d3", "d2", "d5", "d4"]
    );
    let sql = compile(
        Dialect::Sqlite,
        &object,
        &from_params(&params(&[("sort", "-amount,name")])).unwrap(),
    )
    .unwrap()
    .sql;
    assert!(
        sql.contains(r#"ORDER BY "amount" DESC, "name" ASC, "id" ASC LIMIT"#),
        "{sql}"
    );
    let sql = compile(
        Dialect::Sqlite,
        &object,
        &from_params(&params(&[("sort", "-id")])).unwrap(),
    )
    .unwrap()
    .sql;
    assert!(sql.contains(r#"ORDER BY "id" DESC LIMIT"#), "{sql}");
}

#[test]
fn select_picks_columns_after_the_system_ones() {
    let (object, conn) = db();
    let all = compile(Dialect::Sqlite, &object, &Query::default()).unwrap();
    assert_eq!(
        all.fields,
        [
            "name",
            "amount",
            "score",
            "active",
            "close_date",
            "closed_at",
            "stage",
            "labels"
        ]
    );
    assert!(all
        .sql
        .starts_with(r#"SELECT "id", "created_at", "updated_at", "name", "amount", "score", "active", "close_date", "closed_at", "stage", "labels" FROM "deal" ORDER BY "id" ASC LIMIT $1 OFFSET $2"#));
    assert!(!all.sql.contains("secret"));

    let query = from_params(&params(&[
        ("select", "amount, name,id,created_at,name"),
        ("id", "d2"),
    ]))
    .unwrap();
    let compiled = compile(Dialect::Sqlite, &object, &query).unwrap();
    assert_eq!(compiled.fields, ["amount", "name"]);
    let row: (String, String, String, i64, String) = conn
        .query_row(
            &compiled.sql,
            params_from_iter(compiled.params.iter()),
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        row,
        (
            "d2".to_owned(),
            "2026-01-02T00:00:00.000Z".to_owned(),
            "2026-01-02T00:00:00.000Z".to_owned(),
            20,
            "alpha beta".to_owned()
        )
    );

    let ast = from_ast(&json!({"fields": ["stage", "labels"]})).unwrap();
    assert_eq!(
        compile(Dialect::Sqlite, &object, &ast).unwrap().fields,
        ["stage", "labels"]
    );
}

#[test]
fn pages_fetch_one_extra_row_and_count_the_total() {
    let (object, conn) = db();
    let query = from_params(&params(&[("top", "2"), ("skip", "1"), ("amount", "!=10")]));
    // `!=10` is not a number: plain parameters are equalities, never operators.
    assert!(compile(Dialect::Sqlite, &object, &query.unwrap()).is_err());

    let query = from_params(&params(&[("top", "2"), ("skip", "1")])).unwrap();
    assert_eq!((query.limit, query.offset), (2, 1));
    let compiled = compile(Dialect::Sqlite, &object, &query).unwrap();
    assert_eq!(run(&conn, &compiled), ["d2", "d3", "d4"]);
    assert_eq!(
        compiled.params,
        [SqlValue::Integer(3), SqlValue::Integer(1)]
    );
    assert_eq!(
        compiled.count_sql.as_deref(),
        Some(r#"SELECT COUNT(*) FROM "deal""#)
    );
    assert_eq!(count(&conn, &compiled), 5);

    let query = from_params(&params(&[
        ("limit", "1"),
        ("offset", "1"),
        ("filter", r#"["amount",">",10]"#),
    ]))
    .unwrap();
    let compiled = compile(Dialect::Sqlite, &object, &query).unwrap();
    assert_eq!(run(&conn, &compiled), ["d3", "d5"]);
    assert_eq!(count(&conn, &compiled), 3);
    assert_eq!(
        compiled.count_sql.as_deref(),
        Some(r#"SELECT COUNT(*) FROM "deal" WHERE "amount" > $1"#)
    );
    assert_eq!(compiled.count_params, [SqlValue::Integer(10)]);

    let query = from_params(&params(&[("top", "0"), ("count", "false")])).unwrap();
    let compiled = compile(Dialect::Sqlite, &object, &query).unwrap();
    assert_eq!(run(&conn, &compiled), ["d1"]);
    assert_eq!(compiled.count_sql, None);
    assert!(compiled.count_params.is_empty());

    assert_eq!(Query::default().limit, DEFAULT_LIMIT);
    assert!(Query::default().with_total);
}

#[test]
fn plain_params_are_typed_equalities() {
    let (object, conn) = db();
    assert_eq!(get(&conn, &object, &[("active", "true")]), ["d1", "d3"]);
    assert_eq!(get(&conn, &object, &[("active", "0")]), ["d2", "d5"]);
    assert_eq!(get(&conn, &object, &[("amount", "20")]), ["d2"]);
    assert_eq!(get(&conn, &object, &[("score", "5.5")]), ["d5"]);
    assert_eq!(
        get(&conn, &object, &[("stage", "open"), ("name", "Alpha")]),
        ["d1"]
    );
    assert_eq!(get(&conn, &object, &[("labels", "bb")]), ["d1", "d2"]);
    assert_eq!(
        get(&conn, &object, &[("closed_at", "2026-05-01T00:00:00Z")]),
        ["d5"]
    );
    // Plain parameters and `filter` combine with and; `filters` is the legacy alias.
    assert_eq!(
        get(
            &conn,
            &object,
            &[("stage", "open"), ("filters", r#"{"amount":{"$gt":10}}"#)]
        ),
        ["d5"]
    );
    let issues = get_issues(&[("amount", "abc")]);
    assert_eq!(
        paths(&issues),
        [("amount".to_owned(), IssueCode::InvalidType)]
    );
    let issues = get_issues(&[("active", "yes")]);
    assert_eq!(
        paths(&issues),
        [("active".to_owned(), IssueCode::InvalidType)]
    );
}

/// `find({where: {name: {$startsWith: 'A'}}})` in @objectstack/client 4.0.1 sends
/// `name=[object Object]`: on a text field that would be a silent equality matching nothing.
#[test]
fn a_javascript_object_turned_into_text_is_refused_at_its_parameter() {
    for field in ["name", "amount", "nope"] {
        let issues = get_issues(&[("stage", "open"), (field, "[object Object]")]);
        assert_eq!(
            paths(&issues),
            [(field.to_owned(), IssueCode::InvalidType)],
            "{issues:?}"
        );
        assert!(issues[0].message.contains("filter="), "{issues:?}");
    }
    // Only the exact text: a value that merely contains it is an ordinary value.
    let (object, conn) = db();
    assert!(get(&conn, &object, &[("name", "[object Object] x")]).is_empty());
}

#[test]
fn query_ast_bodies() {
    let (object, conn) = db();
    let query = from_ast(&json!({
        "object": "deal",
        "where": ["amount", ">", 10],
        "fields": ["name"],
        "orderBy": [{"field": "amount", "order": "desc"}],
        "limit": 2,
        "offset": 0,
        "count": true
    }))
    .unwrap();
    let compiled = compile(Dialect::Sqlite, &object, &query).unwrap();
    assert_eq!(run(&conn, &compiled), ["d5", "d3", "d2"]);
    assert_eq!(count(&conn, &compiled), 3);
    assert_eq!(compiled.fields, ["name"]);

    let query = from_ast(&json!({
        "filter": {"stage": {"$in": ["open", "won"]}},
        "orderBy": ["-amount"],
        "top": 10,
        "skip": 1,
        "withTotal": false
    }))
    .unwrap();
    let compiled = compile(Dialect::Sqlite, &object, &query).unwrap();
    assert_eq!(run(&conn, &compiled), ["d2", "d1"]);
    assert!(compiled.count_sql.is_none());
    assert_eq!(from_ast(&json!({})).unwrap(), Query::default());

    assert_eq!(
        paths(&ast_issues(
            json!({"where": [], "bogus": 1, "having": ["x"]})
        )),
        [
            ("having".to_owned(), IssueCode::Custom),
            (String::new(), IssueCode::UnrecognizedKeys)
        ]
    );
    assert_eq!(
        paths(&ast_issues(json!({"limit": 1e20}))),
        [("limit".to_owned(), IssueCode::TooBig)]
    );
    let issues = ast_issues(json!({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7}));
    assert_eq!(
        paths(&issues),
        [(String::new(), IssueCode::UnrecognizedKeys)]
    );
    assert!(issues[0].message.contains("'e' and 2 more"), "{issues:?}");
    // A hand-built `= null` compiles to IS NULL too.
    let hand = Query {
        filter: Some(Filter::Cmp {
            field: "amount".to_owned(),
            op: Op::Eq,
            value: Value::Null,
            at: JsonPath::root(),
        }),
        ..Query::default()
    };
    assert_eq!(ids_of(&conn, &object, &hand), ["d4"]);
    assert_eq!(
        paths(&ast_issues(json!({"limit": 5000}))),
        [("limit".to_owned(), IssueCode::TooBig)]
    );
    assert_eq!(
        paths(&ast_issues(json!({"limit": -1, "offset": "3"}))),
        [
            ("limit".to_owned(), IssueCode::TooSmall),
            ("offset".to_owned(), IssueCode::InvalidType)
        ]
    );
    assert_eq!(
        paths(&ast_issues(json!({"fields": ["name", "amount", "nope"]}))),
        [("fields[2]".to_owned(), IssueCode::Custom)]
    );
    assert_eq!(
        paths(&ast_issues(json!({"orderBy": [{"field": "nope"}]}))),
        [("orderBy[0].field".to_owned(), IssueCode::Custom)]
    );
    assert_eq!(
        paths(&ast_issues(
            json!({"orderBy": [{"field": "name", "order": "up"}]})
        )),
        [("orderBy[0].order".to_owned(), IssueCode::InvalidEnumValue)]
    );
    assert_eq!(
        paths(&ast_issues(json!({"where": {"amount": {"$gt": "x"}}}))),
        [("where.amount.$gt".to_owned(), IssueCode::InvalidType)]
    );
    assert_eq!(
        paths(&ast_issues(json!(["name"]))),
        [(String::new(), IssueCode::InvalidType)]
    );
}

/// The `detail` column of `EXPLAIN QUERY PLAN` for the query.
fn plan(conn: &Connection, sql: &str, params: &[SqlValue]) -> Vec<String> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    stmt.query_map(params_from_iter(params.iter()), |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn indexed_filters_use_the_index() {
    let (object, conn) = db();
    for (filter, index) in [
        (json!(["name", "=", "Alpha"]), "idx_deal_name"),
        (json!({"name": {"$startsWith": "Al"}}), "idx_deal_name"),
        (json!(["amount", ">=", 20]), "idx_deal_amount"),
        (json!(["amount", "between", [15, 30]]), "idx_deal_amount"),
        (json!(["amount", "in", [10, 30]]), "idx_deal_amount"),
        (json!(["amount", "is_null"]), "idx_deal_amount"),
        (
            json!(["closed_at", "=", "2026-01-02T03:04:05Z"]),
            "idx_deal_closed_at",
        ),
    ] {
        let query = Query {
            filter: Some(parse_filter(&filter, &JsonPath::root()).unwrap()),
            ..Query::default()
        };
        let compiled = compile(Dialect::Sqlite, &object, &query).unwrap();
        for (sql, params) in [
            (compiled.sql.as_str(), compiled.params.as_slice()),
            (
                compiled.count_sql.as_deref().unwrap(),
                compiled.count_params.as_slice(),
            ),
        ] {
            let details = plan(&conn, sql, params);
            assert!(
                details
                    .iter()
                    .any(|d| d.contains(&format!("USING INDEX {index}"))
                        || d.contains(&format!("USING COVERING INDEX {index}"))),
                "{filter}: {sql}: {details:?}"
            );
            assert!(
                !details.iter().any(|d| d.starts_with("SCAN")),
                "{filter}: {sql}: {details:?}"
            );
        }
    }
    // Sorting by an indexed column walks the index instead of sorting the whole table.
    let query = from_params(&params(&[("sort", "name")])).unwrap();
    let compiled = compile(Dialect::Sqlite, &object, &query).unwrap();
    let details = plan(&conn, &compiled.sql, &compiled.params);
    assert!(
        details.iter().any(|d| d.contains("idx_deal_name")),
        "{details:?}"
    );
    assert!(
        !details.iter().any(|d| d == "USE TEMP B-TREE FOR ORDER BY"),
        "{details:?}"
    );
}

#[test]
fn compiled_sql_binds_every_value() {
    let object = deal();
    let hostile = "x' OR 1=1; DROP TABLE deal; --";
    let query = from_params(&params(&[
        ("name", hostile),
        (
            "filter",
            &json!(["stage", "in", [hostile, "open"]]).to_string(),
        ),
    ]))
    .unwrap();
    let compiled = compile(Dialect::Sqlite, &object, &query).unwrap();
    assert!(!compiled.sql.contains(hostile), "{}", compiled.sql);
    assert_eq!(
        compiled.sql,
        r#"SELECT "id", "created_at", "updated_at", "name", "amount", "score", "active", "close_date", "closed_at", "stage", "labels" FROM "deal" WHERE ("name" = $1 AND "stage" IN ($2, $3)) ORDER BY +"id" ASC LIMIT $4 OFFSET $5"#
    );
    assert_eq!(compiled.params[0], SqlValue::Text(hostile.to_owned()));
}

#[test]
fn compile_filter_numbers_after_the_callers_params() {
    let object = deal();
    let filter = parse_filter(
        &json!({"amount": {"$between": [1, 2]}, "name": {"$startsWith": "ab"}}),
        &JsonPath::root(),
    )
    .unwrap();
    let mut params = vec![SqlValue::Text("now".to_owned())];
    let sql = compile_filter(Dialect::Sqlite, &object, &filter, &mut params).unwrap();
    assert_eq!(
        sql,
        r#"(("amount" >= $2 AND "amount" <= $3) AND ("name" >= $4 AND "name" < $5))"#
    );
    assert_eq!(
        params,
        [
            SqlValue::Text("now".to_owned()),
            SqlValue::Integer(1),
            SqlValue::Integer(2),
            SqlValue::Text("ab".to_owned()),
            SqlValue::Text("ac".to_owned()),
        ]
    );
    // On error the caller's params are left alone.
    let bad = parse_filter(&json!(["nope", "=", 1]), &JsonPath::root()).unwrap();
    assert!(compile_filter(Dialect::Sqlite, &object, &bad, &mut params).is_err());
    assert_eq!(params.len(), 5);
}

#[test]
fn prefix_upper_bounds() {
    assert_eq!(prefix_upper_bound("ab").as_deref(), Some("ac"));
    assert_eq!(
        prefix_upper_bound("a\u{D7FF}").as_deref(),
        Some("a\u{E000}")
    );
    assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
    assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
}

#[test]
fn unknown_fields_and_sql_fragments_are_refused_at_their_path() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("bogus", "1")], "bogus"),
        (&[("name; DROP TABLE x", "1")], r#"["name; DROP TABLE x"]"#),
        (&[("\"name\"", "1")], r#"["\"name\""]"#),
        (&[("name--", "1")], r#"["name--"]"#),
        (
            &[("filter", r#"["and", ["name","=","a"], ["bogus","=",1]]"#)],
            "filter[2]",
        ),
        (
            &[("filter", r#"{"name--": {"$eq": 1}}"#)],
            r#"filter["name--"].$eq"#,
        ),
        (
            &[("filter", r#"{"name; DROP TABLE x": 1}"#)],
            r#"filter["name; DROP TABLE x"]"#,
        ),
        (&[("sort", "name,name--")], "sort[1]"),
        (&[("sort", "\"name\" desc")], "sort[0]"),
        (&[("select", "name,amount,name; DROP TABLE x")], "select[2]"),
        (&[("orderBy", r#"[{"field":"nope"}]"#)], "orderBy[0].field"),
    ];
    for (pairs, path) in cases {
        let issues = get_issues(pairs);
        assert_eq!(
            paths(&issues),
            [((*path).to_owned(), IssueCode::Custom)],
            "{pairs:?}"
        );
        assert!(
            issues[0].message.starts_with("Unknown field '"),
            "{issues:?}"
        );
        assert!(
            issues[0].message.ends_with("of object 'deal'"),
            "{issues:?}"
        );
    }
    let long = "x".repeat(100);
    let issues = get_issues(&[(long.as_str(), "1")]);
    assert!(issues[0].message.contains('…'), "{issues:?}");
    assert!(!issues[0].message.contains(&long), "{issues:?}");
}

#[test]
fn unknown_operators_are_refused() {
    let issues = get_issues(&[("filter", r#"["name", "~=", "a"]"#)]);
    assert_eq!(
        paths(&issues),
        [("filter[1]".to_owned(), IssueCode::InvalidEnumValue)]
    );
    assert!(issues[0].message.contains("starts_with"), "{issues:?}");
    let issues = get_issues(&[(
        "filter",
        r#"["or", ["name", "=", "a"], ["amount", "regex", 1]]"#,
    )]);
    assert_eq!(
        paths(&issues),
        [("filter[2][1]".to_owned(), IssueCode::InvalidEnumValue)]
    );
    let issues = get_issues(&[("filter", r#"{"status": {"$regex": "a"}}"#)]);
    assert_eq!(
        paths(&issues),
        [(
            "filter.status.$regex".to_owned(),
            IssueCode::InvalidEnumValue
        )]
    );
    assert!(issues[0].message.contains("$startsWith"), "{issues:?}");
    let issues = get_issues(&[("filter", r#"{"$nor": []}"#)]);
    assert_eq!(
        paths(&issues),
        [("filter.$nor".to_owned(), IssueCode::InvalidEnumValue)]
    );
    let issues = get_issues(&[("filter", r#"["xor", ["name","=","a"]]"#)]);
    assert_eq!(
        paths(&issues),
        [("filter[0]".to_owned(), IssueCode::InvalidEnumValue)]
    );
}

#[test]
fn password_and_computed_fields_are_refused() {
    for (pairs, path) in [
        (&[("secret", "x")][..], "secret"),
        (&[("filter", r#"["secret","is_null"]"#)][..], "filter"),
        (
            &[("filter", r#"{"secret":{"$eq":"x"}}"#)][..],
            "filter.secret.$eq",
        ),
        (&[("sort", "name,-secret")][..], "sort[1]"),
        (&[("select", "name,secret")][..], "select[1]"),
    ] {
        let issues = get_issues(pairs);
        assert_eq!(
            paths(&issues),
            [(path.to_owned(), IssueCode::Custom)],
            "{pairs:?}"
        );
        assert!(issues[0].message.contains("write-only"), "{issues:?}");
    }
    for (pairs, path) in [
        (&[("filter", r#"["total",">",1]"#)][..], "filter"),
        (&[("sort", "total")][..], "sort[0]"),
        (&[("select", "total")][..], "select[0]"),
    ] {
        let issues = get_issues(pairs);
        assert_eq!(
            paths(&issues),
            [(path.to_owned(), IssueCode::Custom)],
            "{pairs:?}"
        );
        assert!(issues[0].message.contains("computed"), "{issues:?}");
    }
    let issues = get_issues(&[("sort", "labels")]);
    assert_eq!(paths(&issues), [("sort[0]".to_owned(), IssueCode::Custom)]);
}

#[test]
fn operators_must_fit_the_column() {
    for (filter, code) in [
        (r#"["labels", ">", "a"]"#, IssueCode::Custom),
        (r#"["amount", "contains", "1"]"#, IssueCode::Custom),
        (r#"["active", ">", true]"#, IssueCode::Custom),
        (r#"["amount", "=", "ten"]"#, IssueCode::InvalidType),
        (r#"["active", "=", 2]"#, IssueCode::InvalidType),
        (r#"["name", "=", true]"#, IssueCode::InvalidType),
    ] {
        let issues = get_issues(&[("filter", filter)]);
        assert_eq!(paths(&issues), [("filter".to_owned(), code)], "{filter}");
    }
}

#[test]
fn bad_paging_values() {
    for (value, code) in [
        ("-1", IssueCode::TooSmall),
        ("abc", IssueCode::InvalidType),
        ("5000", IssueCode::TooBig),
        ("1.5", IssueCode::InvalidType),
        ("", IssueCode::InvalidType),
    ] {
        let issues = get_issues(&[("top", value)]);
        assert_eq!(paths(&issues), [("top".to_owned(), code)], "{value}");
        let issues = get_issues(&[("limit", value)]);
        assert_eq!(paths(&issues), [("limit".to_owned(), code)], "{value}");
    }
    assert_eq!(
        from_params(&params(&[("top", "1000")])).unwrap().limit,
        1000
    );
    let issues = get_issues(&[("skip", "-5")]);
    assert_eq!(paths(&issues), [("skip".to_owned(), IssueCode::TooSmall)]);
    let issues = get_issues(&[("top", "5"), ("limit", "6")]);
    assert_eq!(paths(&issues), [("limit".to_owned(), IssueCode::Custom)]);
    let issues = get_issues(&[("count", "maybe")]);
    assert_eq!(
        paths(&issues),
        [("count".to_owned(), IssueCode::InvalidType)]
    );
}

#[test]
fn unsupported_params_are_refused() {
    for name in ["search", "expand"] {
        let issues = get_issues(&[(name, "x")]);
        assert_eq!(paths(&issues), [(name.to_owned(), IssueCode::Custom)]);
        assert!(issues[0].message.contains("not supported"), "{issues:?}");
    }
    let issues = get_issues(&[("filter", "not json")]);
    assert_eq!(
        paths(&issues),
        [("filter".to_owned(), IssueCode::InvalidType)]
    );
    let issues = get_issues(&[("sort", "name sideways")]);
    assert_eq!(
        paths(&issues),
        [("sort[0]".to_owned(), IssueCode::InvalidString)]
    );
    let issues = get_issues(&[("select", "name,,amount")]);
    assert_eq!(
        paths(&issues),
        [("select[1]".to_owned(), IssueCode::InvalidType)]
    );
}

#[test]
fn size_limits() {
    let nested = |levels: usize| {
        let mut node = json!(["name", "=", "a"]);
        for _ in 0..levels {
            node = json!(["not", node]);
        }
        node
    };
    // 15 `not`s and the condition: 16 levels.
    assert!(parse_filter(&nested(15), &JsonPath::root()).is_ok());
    let issues = parse_filter(&nested(16), &JsonPath::root().key("filter")).unwrap_err();
    let path = format!("filter{}", "[1]".repeat(16));
    assert_eq!(paths(&issues), [(path, IssueCode::TooBig)]);

    let mut objects = json!({"name": "a"});
    for _ in 0..20 {
        objects = json!({"$not": objects});
    }
    let issues = parse_filter(&objects, &JsonPath::root()).unwrap_err();
    assert_eq!(issues[0].code, IssueCode::TooBig);

    let many: Vec<Value> = (0..201).map(|i| json!(["amount", "=", i])).collect();
    let mut node = vec![json!("or")];
    node.extend(many);
    let issues = parse_filter(&Value::Array(node), &JsonPath::root().key("filter")).unwrap_err();
    assert_eq!(
        paths(&issues),
        [("filter[201]".to_owned(), IssueCode::TooBig)]
    );

    let list: Vec<i64> = (0..1001).collect();
    let issues = parse_filter(
        &json!(["amount", "in", list]),
        &JsonPath::root().key("filter"),
    )
    .unwrap_err();
    assert_eq!(
        paths(&issues),
        [("filter[2]".to_owned(), IssueCode::TooBig)]
    );
    let list: Vec<i64> = (0..1000).collect();
    assert!(parse_filter(&json!(["amount", "in", list]), &JsonPath::root()).is_ok());

    let long = "x".repeat(MAX_VALUE_CHARS + 1);
    let issues = parse_filter(
        &json!({"name": {"$eq": long}}),
        &JsonPath::root().key("where"),
    )
    .unwrap_err();
    assert_eq!(
        paths(&issues),
        [("where.name.$eq".to_owned(), IssueCode::TooBig)]
    );
    let issues = get_issues(&[("name", long.as_str())]);
    assert_eq!(paths(&issues), [("name".to_owned(), IssueCode::TooBig)]);

    for (filter, path, code) in [
        (
            json!(["amount", "between", [1, 2, 3]]),
            "filter[2]",
            IssueCode::TooBig,
        ),
        (
            json!(["amount", "between", 1]),
            "filter[2]",
            IssueCode::InvalidType,
        ),
        (
            json!(["amount", "in", "1,2"]),
            "filter[2]",
            IssueCode::InvalidType,
        ),
        (
            json!(["amount", "in", [1, [2]]]),
            "filter[2][1]",
            IssueCode::InvalidType,
        ),
        (json!(["amount", ">"]), "filter", IssueCode::TooSmall),
        (json!(["amount", ">", 1, 2]), "filter", IssueCode::TooBig),
        (
            json!(["amount", ">", null]),
            "filter[2]",
            IssueCode::InvalidType,
        ),
        (
            json!({"amount": [1, 2]}),
            "filter.amount",
            IssueCode::InvalidType,
        ),
        (
            json!({"amount": {"x": 1}}),
            "filter.amount",
            IssueCode::InvalidType,
        ),
        (
            json!({"amount": {"$null": "yes"}}),
            "filter.amount.$null",
            IssueCode::InvalidType,
        ),
        (
            json!({"$or": {"a": 1}}),
            "filter.$or",
            IssueCode::InvalidType,
        ),
        (json!(42), "filter", IssueCode::InvalidType),
        (
            json!([["a", "=", 1], "or", ["b", "=", 2], "and", ["c", "=", 3]]),
            "filter[3]",
            IssueCode::Custom,
        ),
    ] {
        let issues = parse_filter(&filter, &JsonPath::root().key("filter")).unwrap_err();
        assert_eq!(paths(&issues), [(path.to_owned(), code)], "{filter}");
    }
}

/// 2,000 sort keys used to reach the database ("too many terms in ORDER BY", a 500).
#[test]
fn sort_keys_and_selected_fields_are_bounded() {
    let (object, conn) = db();
    let keys = |n: usize| vec!["name"; n].join(",");
    // At the limit: accepted and run.
    assert_eq!(
        get(
            &conn,
            &object,
            &[("sort", &keys(MAX_SORT_KEYS)), ("top", "1")]
        ),
        ["d1", "d3"]
    );
    for name in ["sort", "orderBy"] {
        let issues = get_issues(&[(name, &keys(2000))]);
        assert_eq!(paths(&issues), [(name.to_owned(), IssueCode::TooBig)]);
    }
    let json_keys: Vec<Value> = (0..=MAX_SORT_KEYS)
        .map(|_| json!({"field": "name", "order": "desc"}))
        .collect();
    let issues = get_issues(&[("sort", &Value::Array(json_keys.clone()).to_string())]);
    assert_eq!(paths(&issues), [("sort".to_owned(), IssueCode::TooBig)]);
    let issues = ast_issues(json!({"orderBy": json_keys}));
    assert_eq!(paths(&issues), [("orderBy".to_owned(), IssueCode::TooBig)]);

    let fields = |n: usize| vec!["name"; n].join(",");
    assert_eq!(
        get(
            &conn,
            &object,
            &[("select", &fields(MAX_SELECT_FIELDS)), ("top", "1")]
        ),
        ["d1", "d2"]
    );
    let issues = get_issues(&[("select", &fields(MAX_SELECT_FIELDS + 1))]);
    assert_eq!(paths(&issues), [("select".to_owned(), IssueCode::TooBig)]);
    let many: Vec<&str> = vec!["name"; MAX_SELECT_FIELDS + 1];
    let issues = ast_issues(json!({"fields": many}));
    assert_eq!(paths(&issues), [("fields".to_owned(), IssueCode::TooBig)]);

    // A Query built by hand is refused at the first key over the limit.
    let query = Query {
        sort: (0..=MAX_SORT_KEYS)
            .map(|i| Sort {
                field: "name".to_owned(),
                descending: false,
                at: JsonPath::root().key("sort").index(i),
            })
            .collect(),
        ..Query::default()
    };
    let issues = compile(Dialect::Sqlite, &object, &query).unwrap_err();
    assert_eq!(
        paths(&issues),
        [(format!("sort[{MAX_SORT_KEYS}]"), IssueCode::TooBig)]
    );
}

#[test]
fn parse_filter_builds_the_tree() {
    let at = JsonPath::root().key("filter");
    assert_eq!(
        parse_filter(&json!(["or", ["a", "=", 1], ["b", "IS_NULL"]]), &at).unwrap(),
        Filter::Or(vec![
            Filter::Cmp {
                field: "a".to_owned(),
                op: Op::Eq,
                value: json!(1),
                at: at.index(1),
            },
            Filter::Cmp {
                field: "b".to_owned(),
                op: Op::IsNull,
                value: Value::Null,
                at: at.index(2),
            },
        ])
    );
    assert_eq!(
        parse_filter(&json!({"a": {"$gte": 1, "$lt": 5}}), &at).unwrap(),
        Filter::And(vec![
            Filter::Cmp {
                field: "a".to_owned(),
                op: Op::Gte,
                value: json!(1),
                at: at.key("a").key("$gte"),
            },
            Filter::Cmp {
                field: "a".to_owned(),
                op: Op::Lt,
                value: json!(5),
                at: at.key("a").key("$lt"),
            },
        ])
    );
}

#[test]
fn nul_characters_are_refused_in_values() {
    assert_eq!(
        paths(&get_issues(&[("name", "a\u{0}b")])),
        [("name".to_owned(), IssueCode::InvalidString)]
    );
    assert_eq!(
        paths(&ast_issues(
            json!({"where": ["stage", "in", ["open", "\u{0}"]]})
        )),
        [("where[2][1]".to_owned(), IssueCode::InvalidString)]
    );
}
