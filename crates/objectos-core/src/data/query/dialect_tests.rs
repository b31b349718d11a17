//! The same queries compiled for SQLite and PostgreSQL and run against a real database of each, with
//! the same table and rows: the same ids in the same order, the same totals, the same selected values,
//! the same issues.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use objectos_schema::TableDef;
use objectos_spec::{Issue, JsonPath, ObjectDefinition};
use objectos_sql::testing::TestDatabase;
use objectos_sql::{Dialect, PgSession, Session, SessionExt, SqlValue, SqliteSession};
use serde_json::{json, Value};

use super::*;

fn item() -> ObjectDefinition {
    objectos_spec::parse(&json!({
        "name": "item",
        "fields": {
            "name": {"type": "text"},
            "note": {"type": "text"},
            "amount": {"type": "number", "scale": 0},
            "score": {"type": "number"},
            "active": {"type": "boolean"},
            "day": {"type": "date"},
            "at": {"type": "datetime"},
            "clock": {"type": "time"},
            "stage": {"type": "select", "options": [
                {"label": "Open", "value": "open"},
                {"label": "Won", "value": "won"},
                {"label": "Lost", "value": "lost"}
            ]},
            "labels": {"type": "tags"},
            "vec": {"type": "vector"},
            "meta": {"type": "json"},
            "secret": {"type": "password"},
            "total": {"type": "formula", "expression": "amount * 2"}
        },
        "indexes": [{"fields": ["name"]}, {"fields": ["amount"]}, {"fields": ["at"]}]
    }))
    .expect("item object")
}

const INSERT: &str = r#"INSERT INTO "item" ("id", "created_at", "updated_at", "name", "note", "amount", "score", "active", "day", "at", "clock", "stage", "labels", "vec", "meta", "secret") VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"#;

fn t(s: &str) -> SqlValue {
    SqlValue::Text(s.to_owned())
}
fn i(n: i64) -> SqlValue {
    SqlValue::Integer(n)
}
fn r(f: f64) -> SqlValue {
    SqlValue::Real(f)
}
fn b(v: bool) -> SqlValue {
    SqlValue::Bool(v)
}
fn d(s: &str) -> SqlValue {
    SqlValue::Date(s.to_owned())
}
fn ts(s: &str) -> SqlValue {
    SqlValue::Timestamp(s.to_owned())
}
fn j(v: Value) -> SqlValue {
    SqlValue::Json(v.to_string())
}
const N: SqlValue = SqlValue::Null;

/// The rows: `[id, name, note, amount, score, active, day, at, clock, stage, labels, vec, meta]`.
fn rows() -> Vec<[SqlValue; 13]> {
    vec![
        [
            t("i01"),
            t("Alpha"),
            t("n1"),
            i(10),
            r(1.5),
            b(true),
            d("2026-01-01"),
            ts("2026-01-02T03:04:05.000Z"),
            t("09:30:00"),
            t("open"),
            j(json!(["aa", "bb"])),
            j(json!([1, 2.5])),
            j(json!({"a": 1})),
        ],
        [
            t("i02"),
            t("alpha beta"),
            N,
            i(20),
            r(2.5),
            b(false),
            d("2026-02-01"),
            ts("2026-02-01T00:00:00.000Z"),
            t("10:00:00"),
            t("won"),
            j(json!(["bb"])),
            j(json!([1.0])),
            N,
        ],
        [
            t("i03"),
            t("Beta"),
            t("n1"),
            i(30),
            N,
            b(true),
            d("2026-03-01"),
            ts("2026-03-01T12:00:00.000Z"),
            N,
            t("lost"),
            j(json!(["cc", "%"])),
            j(json!([0])),
            N,
        ],
        [
            t("i04"),
            t("Gamma 100%"),
            N,
            N,
            r(4.0),
            N,
            N,
            N,
            t("23:59:59.999"),
            N,
            N,
            N,
            N,
        ],
        [
            t("i05"),
            t("gamma_x*"),
            t("n2"),
            i(50),
            r(5.5),
            b(false),
            d("2026-05-01"),
            ts("2026-05-01T00:00:00.000Z"),
            t("00:00:00"),
            t("open"),
            j(json!([])),
            j(json!([])),
            j(json!([1, 2])),
        ],
        [
            t("i06"),
            t("ÉCOLE"),
            t("n2"),
            i(20),
            r(-3.0),
            b(true),
            d("2025-12-31"),
            ts("2025-12-31T23:59:59.999Z"),
            N,
            t("won"),
            j(json!(["a_b", "1"])),
            j(json!([7, 1])),
            N,
        ],
        [
            t("i07"),
            t("école"),
            N,
            i(-5),
            r(0.0),
            N,
            d("2026-02-01"),
            ts("2026-02-01T00:00:00.001Z"),
            t("12:00:00"),
            N,
            j(json!(["É", "é"])),
            N,
            j(json!("x")),
        ],
        [
            t("i08"),
            t("a?b[c]"),
            t("n3"),
            i(10),
            r(1.5),
            b(false),
            N,
            ts("2026-01-02T03:04:05.000Z"),
            N,
            t("open"),
            j(json!(["*", "?", "["])),
            N,
            N,
        ],
        [
            t("i09"),
            t("back\\slash"),
            N,
            N,
            N,
            b(true),
            d("2026-01-15"),
            N,
            N,
            t("lost"),
            N,
            N,
            N,
        ],
        [
            t("i10"),
            N,
            t("n3"),
            i(30),
            r(2.0),
            b(false),
            d("2026-03-01"),
            ts("2026-03-01T12:00:00.000Z"),
            t("09:30:00"),
            t("won"),
            j(json!(["bb", "aa"])),
            j(json!([2.5])),
            N,
        ],
        [
            t("i11"),
            t("Zed 日本 😀"),
            t(""),
            i(40),
            r(10.0),
            b(true),
            d("2026-04-30"),
            ts("2026-04-30T08:00:00.000Z"),
            t("08:00:00"),
            t("open"),
            j(json!(["日本"])),
            j(json!([3])),
            N,
        ],
        [
            t("i12"),
            t(""),
            t("n1"),
            i(0),
            r(1e-3),
            b(false),
            d("2026-01-01"),
            ts("2026-01-01T00:00:00.000Z"),
            t("01:02:03"),
            t("open"),
            j(json!(["gamma_x*", "back\\slash"])),
            j(json!([0.5])),
            N,
        ],
    ]
}

/// Fills `session`'s `item` table (already created) with [`rows`].
fn fill(session: &dyn Session) {
    for (n, row) in rows().into_iter().enumerate() {
        let [id, rest @ ..] = row;
        let mut params = vec![id, ts(&format!("2026-01-{:02}T00:00:00.000Z", 20 - n))];
        params.extend(rest);
        params.push(t("$argon2id$secret"));
        session.execute(INSERT, &params).unwrap();
    }
}

/// The table and indexes the PostgreSQL provider deploys for `object`.
fn pg_statements(object: &ObjectDefinition) -> Vec<String> {
    objectos_schema::pg::statements(&TableDef::from_object(object).unwrap()).unwrap()
}

/// Where a query comes from.
enum Src {
    /// A filter in either form.
    Filter(Value),
    /// GET parameters.
    Get(Vec<(&'static str, &'static str)>),
    /// A QueryAST body.
    Ast(Value),
}

fn parse(src: &Src) -> Result<Query, Vec<Issue>> {
    match src {
        Src::Filter(filter) => Ok(Query {
            filter: Some(parse_filter(filter, &JsonPath::root().key("filter"))?),
            limit: MAX_LIMIT,
            ..Query::default()
        }),
        Src::Get(pairs) => from_params(
            &pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>(),
        ),
        Src::Ast(body) => from_ast(body),
    }
}

/// A value as both databases can be compared on: booleans as 0/1, dates and instants as their text,
/// JSON as parsed (SQLite reads JSON columns as text).
fn neutral(v: SqlValue, json: bool) -> Value {
    match v {
        SqlValue::Null => Value::Null,
        SqlValue::Bool(x) => json!(i64::from(x)),
        SqlValue::Integer(x) => json!(x),
        SqlValue::Real(x) => json!(x),
        SqlValue::Text(s) | SqlValue::Json(s) if json => serde_json::from_str(&s).unwrap(),
        SqlValue::Text(s) | SqlValue::Json(s) | SqlValue::Date(s) | SqlValue::Timestamp(s) => {
            json!(s)
        }
        SqlValue::Blob(x) => json!(x),
    }
}

/// What a query gives on one database: the rows (neutral values) and the total.
type Outcome = Result<(Vec<Vec<Value>>, Option<u64>), Vec<Issue>>;

fn run(
    session: &dyn Session,
    object: &ObjectDefinition,
    query: &Result<Query, Vec<Issue>>,
    what: &str,
) -> Outcome {
    let query = query.clone()?;
    let compiled = compile(session.dialect(), object, &query)?;
    // Aggregated rows hold no JSON column (JSON fields cannot be grouped by or min/maxed).
    let grouped = compiled.output.as_ref().map(|o| vec![false; o.len()]);
    let json_columns: Vec<bool> = grouped.unwrap_or_else(|| {
        ["id", "created_at", "updated_at"]
            .iter()
            .map(|_| false)
            .chain(
                compiled
                    .fields
                    .iter()
                    .map(|f| matches!(f.as_str(), "labels" | "vec" | "meta")),
            )
            .collect()
    });
    // Integer sums are read as the service reads them (PostgreSQL gives the exact decimal as text).
    let sums: Vec<bool> = compiled
        .output
        .as_ref()
        .map_or_else(Vec::new, |o| o.iter().map(|c| c.integer_sum).collect());
    let rows = session
        .query(&compiled.sql, &compiled.params)
        .unwrap_or_else(|e| panic!("{what}: {:?}: {}: {e}", session.dialect(), compiled.sql))
        .into_iter()
        .map(|row| {
            row.into_iter()
                .zip(&json_columns)
                .enumerate()
                .map(|(n, (v, json))| match sums.get(n) {
                    Some(true) => crate::data::codec::integer_total(v),
                    _ => neutral(v, *json),
                })
                .collect()
        })
        .collect();
    let total = compiled.count_sql.as_ref().map(|sql| {
        session
            .query_count(sql, &compiled.count_params)
            .unwrap_or_else(|e| panic!("{what}: {:?}: {sql}: {e}", session.dialect()))
    });
    Ok((rows, total))
}

fn ids(outcome: &Outcome) -> Vec<String> {
    match outcome {
        Ok((rows, _)) => rows
            .iter()
            .map(|r| r[0].as_str().unwrap_or_default().to_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn f(v: Value) -> (Src, Option<&'static [&'static str]>) {
    (Src::Filter(v), None)
}
fn fx(v: Value, expected: &'static [&'static str]) -> (Src, Option<&'static [&'static str]>) {
    (Src::Filter(v), Some(expected))
}
fn get(pairs: &[(&'static str, &'static str)]) -> (Src, Option<&'static [&'static str]>) {
    (Src::Get(pairs.to_vec()), None)
}
fn getx(
    pairs: &[(&'static str, &'static str)],
    expected: &'static [&'static str],
) -> (Src, Option<&'static [&'static str]>) {
    (Src::Get(pairs.to_vec()), Some(expected))
}
fn ast(v: Value) -> (Src, Option<&'static [&'static str]>) {
    (Src::Ast(v), None)
}
/// A QueryAST whose rows' first columns must be `expected` (`""` for NULL or a non-text value).
fn astx(v: Value, expected: &'static [&'static str]) -> (Src, Option<&'static [&'static str]>) {
    (Src::Ast(v), Some(expected))
}

/// The queries, some with the ids they must give (in order) on both databases.
fn cases() -> Vec<(Src, Option<&'static [&'static str]>)> {
    vec![
        // Text equality and ranges: byte order (uppercase before lowercase, non-ASCII last).
        fx(json!(["name", "=", "Alpha"]), &["i01"]),
        f(json!(["name", "!=", "Alpha"])),
        f(json!(["name", ">", "Beta"])),
        f(json!(["name", "<=", "alpha"])),
        f(json!(["name", ">=", "a"])),
        f(json!(["name", "<", "Z"])),
        f(json!(["name", "in", ["Alpha", "école", ""]])),
        f(json!(["name", "nin", ["Alpha", "Beta"]])),
        f(json!(["name", "between", ["B", "a"]])),
        f(json!(["name", "=", ""])),
        // contains / startswith / endswith: case-sensitive, wildcards literal.
        fx(json!(["name", "contains", "eta"]), &["i02", "i03"]),
        fx(json!(["name", "contains", "%"]), &["i04"]),
        fx(json!(["name", "contains", "_"]), &["i05"]),
        fx(json!(["name", "contains", "*"]), &["i05"]),
        fx(json!(["name", "contains", "?"]), &["i08"]),
        fx(json!(["name", "contains", "["]), &["i08"]),
        fx(json!(["name", "contains", "\\"]), &["i09"]),
        f(json!(["name", "contains", ""])),
        fx(json!(["name", "contains", "É"]), &["i06"]),
        fx(json!(["name", "contains", "日本"]), &["i11"]),
        fx(json!(["name", "contains", 100]), &["i04"]),
        // notcontains: the complement of contains, NULL (i10) included; wildcards literal.
        fx(
            json!(["name", "notcontains", "a"]),
            &["i06", "i07", "i10", "i11", "i12"],
        ),
        f(json!(["name", "not_contains", "%"])),
        f(json!(["name", "notcontains", "_"])),
        f(json!(["name", "notcontains", "*"])),
        f(json!(["name", "notcontains", "É"])),
        f(json!(["name", "notcontains", ""])),
        f(json!({"name": {"$notContains": "eta"}})),
        f(json!(["at", "notcontains", "T12"])),
        f(json!(["labels", "notcontains", "bb"])),
        f(json!(["vec", "notcontains", 1])),
        fx(json!(["name", "startswith", "a"]), &["i02", "i08"]),
        fx(json!(["name", "startswith", "É"]), &["i06"]),
        f(json!(["name", "startswith", ""])),
        fx(json!(["name", "startswith", "gamma_"]), &["i05"]),
        fx(json!(["name", "startswith", "Zed 日"]), &["i11"]),
        fx(json!(["name", "endswith", "%"]), &["i04"]),
        fx(json!(["name", "endswith", "a"]), &["i01", "i02", "i03"]),
        fx(json!(["name", "endswith", "*"]), &["i05"]),
        fx(json!(["name", "endswith", "😀"]), &["i11"]),
        // like: ASCII case-insensitive, the user's wildcards and escapes.
        fx(json!(["name", "like", "%BETA%"]), &["i02", "i03"]),
        fx(json!(["name", "like", "gamma\\_%"]), &["i05"]),
        fx(json!(["name", "like", "%\\%"]), &["i04"]),
        fx(json!(["name", "like", "é%"]), &["i07"]),
        fx(json!(["name", "like", "É%"]), &["i06"]),
        fx(json!(["name", "like", "%COLE"]), &["i06", "i07"]),
        f(json!(["name", "like", "_"])),
        f(json!(["name", "like", "%"])),
        f(json!(["name", "like", "a\\"])),
        f(json!(["name", "like", "%\\"])),
        fx(json!(["name", "like", "back\\\\%"]), &["i09"]),
        fx(json!(["name", "like", "a?b[c]"]), &["i08"]),
        // NULLs.
        fx(json!(["name", "is_null"]), &["i10"]),
        f(json!(["name", "is_not_null"])),
        f(json!({"note": null})),
        f(json!({"note": {"$ne": "n1"}})),
        // Numbers.
        fx(json!(["amount", "=", 10]), &["i01", "i08"]),
        f(json!(["amount", "!=", 10])),
        f(json!(["amount", ">", 10.5])),
        f(json!(["amount", "<", 0])),
        f(json!(["amount", "in", [10, 20.0, 30]])),
        f(json!(["amount", "in", []])),
        f(json!(["amount", "nin", [10, 30]])),
        f(json!(["amount", "nin", []])),
        f(json!(["amount", "between", [5, 30]])),
        f(json!({"amount": "20"})),
        f(json!(["amount", "is_null"])),
        f(json!(["score", ">=", 2])),
        fx(json!(["score", "=", 4]), &["i04"]),
        f(json!(["score", "<", -1])),
        f(json!(["score", "between", [0, "2.5"]])),
        // Booleans.
        f(json!(["active", "=", true])),
        f(json!(["active", "=", false])),
        f(json!(["active", "!=", true])),
        f(json!(["active", "in", [true, false]])),
        f(json!(["active", "nin", [true]])),
        f(json!({"active": "1"})),
        f(json!({"active": 0})),
        // Dates: native when the value is a date, else compared as text.
        fx(json!(["day", "=", "2026-02-01"]), &["i02", "i07"]),
        f(json!(["day", "!=", "2026-02-01"])),
        f(json!(["day", "<", "2026-03-01"])),
        f(json!(["day", ">=", "2026-02"])),
        f(json!(["day", ">", "2026-02"])),
        f(json!(["day", "<=", "2026-02"])),
        f(json!(["day", "=", "2026-02"])),
        f(json!(["day", "!=", "2026-02"])),
        f(json!(["day", "startswith", "2026-0"])),
        f(json!(["day", "contains", "-01-"])),
        f(json!(["day", "endswith", "01"])),
        f(json!(["day", "like", "2026-__-01"])),
        f(json!(["day", "between", ["2026-01-15", "2026-03-15"]])),
        f(json!(["day", "between", ["2026-01", "2026-03"]])),
        f(json!(["day", "in", ["2026-02-01", "bogus"]])),
        f(json!(["day", "nin", ["2026-02-01", "2026-01-01"]])),
        f(json!(["day", "=", 2026])),
        // Instants: normalised, native; other text compared with the stored text form.
        fx(json!(["at", "=", "2026-01-02T03:04:05Z"]), &["i01", "i08"]),
        fx(
            json!(["at", "=", "2026-01-02T04:04:05+01:00"]),
            &["i01", "i08"],
        ),
        f(json!(["at", "!=", "2026-01-02T03:04:05Z"])),
        f(json!(["at", ">=", "2026-02-01"])),
        f(json!(["at", ">", "2026-02-01"])),
        f(json!(["at", "<=", "2026-02-01"])),
        f(json!(["at", "<", "2026-02-01T00:00:00.001Z"])),
        f(json!(["at", "=", "2026-02-01"])),
        f(json!(["at", "!=", "2026-02-01"])),
        f(json!(["at", "startswith", "2026-02"])),
        f(json!(["at", "contains", "T12"])),
        f(json!(["at", "endswith", ".999Z"])),
        f(json!(["at", "like", "%t00:00%"])),
        f(json!([
            "at",
            "in",
            ["2026-03-01T12:00:00Z", "2026-05-01T00:00:00.000Z"]
        ])),
        f(json!(["at", "in", ["2026-03-01T12:00:00Z", "2026-05"]])),
        f(json!(["at", "nin", ["2026-03-01T12:00:00Z"]])),
        f(json!([
            "at",
            "between",
            ["2026-02-01T00:00:00Z", "2026-03-01T12:00:00Z"]
        ])),
        f(json!(["at", "between", ["2026-01", "2026-03"]])),
        f(json!(["created_at", ">", "2026-01-15T00:00:00Z"])),
        f(json!(["updated_at", "<", "2026-01-15"])),
        f(json!(["created_at", "startswith", "2026-01-1"])),
        // Times (text on both).
        f(json!(["clock", "=", "09:30"])),
        f(json!(["clock", ">", "10:00:00"])),
        f(json!(["clock", "<", "1"])),
        // JSON arrays.
        fx(json!(["labels", "contains", "bb"]), &["i01", "i02", "i10"]),
        fx(json!(["labels", "=", "%"]), &["i03"]),
        f(json!(["labels", "in", ["a_b", "zz", "*"]])),
        f(json!(["labels", "nin", ["bb"]])),
        f(json!(["labels", "nin", []])),
        f(json!(["labels", "in", []])),
        f(json!(["labels", "!=", "bb"])),
        fx(json!(["labels", "contains", "1"]), &["i06"]),
        f(json!(["labels", "contains", 1])),
        f(json!(["labels", "contains", "é"])),
        f(json!(["labels", "contains", "back\\slash"])),
        f(json!(["labels", "is_null"])),
        fx(json!(["vec", "contains", 1]), &["i01", "i02", "i06"]),
        f(json!(["vec", "contains", 2.5])),
        f(json!(["vec", "=", 1.0])),
        f(json!(["vec", "in", [0, 7]])),
        f(json!(["vec", "contains", true])),
        f(json!(["vec", "contains", false])),
        f(json!(["vec", "nin", [1]])),
        f(json!(["vec", "contains", "1"])),
        f(json!(["meta", "is_null"])),
        f(json!(["meta", "is_not_null"])),
        // and / or / not, with NULLs inside not.
        f(json!([
            "or",
            ["and", ["amount", ">", 10], ["active", "=", true]],
            ["name", "=", "Alpha"]
        ])),
        f(json!(["not", ["amount", ">", 20]])),
        f(json!(["not", ["labels", "contains", "bb"]])),
        f(json!(["not", ["name", "like", "%a%"]])),
        f(json!(["not", ["at", ">", "2026-02"]])),
        f(json!([
            "not",
            ["or", ["stage", "=", "open"], ["stage", "=", "won"]]
        ])),
        f(json!(["not", ["and"]])),
        f(json!(["AND"])),
        f(json!(["or"])),
        f(json!({})),
        f(json!({"$or": []})),
        f(json!({"$not": {"$or": []}})),
        f(json!({"$and": [{"active": true}, {"$or": [{"stage": "lost"}, {"amount": 10}]}]})),
        f(json!([
            ["amount", ">", 10],
            "or",
            ["name", "startswith", "é"]
        ])),
        // Sorting: NULLs first ascending, last descending; id breaks ties.
        getx(
            &[("sort", "name")],
            &[
                "i10", "i12", "i01", "i03", "i04", "i11", "i08", "i02", "i09", "i05", "i06", "i07",
            ],
        ),
        getx(
            &[("sort", "-name")],
            &[
                "i07", "i06", "i05", "i09", "i02", "i08", "i11", "i04", "i03", "i01", "i12", "i10",
            ],
        ),
        get(&[("sort", "note,-amount")]),
        get(&[("sort", "-note,amount")]),
        get(&[("sort", "-active,day")]),
        get(&[("sort", "active,-day")]),
        get(&[("sort", "at")]),
        get(&[("sort", "-at,-score")]),
        get(&[("sort", "score")]),
        get(&[("sort", "stage,-amount")]),
        get(&[("sort", "clock desc")]),
        get(&[("sort", "-id")]),
        get(&[("sort", "created_at")]),
        get(&[("sort", "-updated_at")]),
        get(&[("sort", "amount"), ("filter", r#"["amount",">",0]"#)]),
        // Select, paging and count.
        get(&[(
            "select",
            "name,amount,score,active,day,at,clock,stage,labels,vec,meta",
        )]),
        get(&[]),
        getx(
            &[("top", "3"), ("skip", "2")],
            &["i03", "i04", "i05", "i06"],
        ),
        get(&[
            ("top", "2"),
            ("skip", "1"),
            ("sort", "-amount"),
            ("filter", r#"["amount",">",0]"#),
        ]),
        get(&[("top", "0"), ("count", "false")]),
        get(&[("top", "5"), ("skip", "100")]),
        get(&[("stage", "open"), ("active", "false")]),
        get(&[("at", "2026-05-01T00:00:00Z")]),
        get(&[("day", "2026-01-01"), ("select", "day,at")]),
        ast(json!({
            "where": {"$or": [{"stage": {"$in": ["open", "won"]}}, {"day": {"$lt": "2026-02"}}]},
            "fields": ["name", "labels"],
            "orderBy": [{"field": "day", "order": "desc"}, {"field": "name"}],
            "limit": 4,
            "offset": 1
        })),
        ast(json!({"where": ["vec", "in", [2.5, 3]], "orderBy": ["-score"], "count": false})),
        // Invalid queries: the same issues.
        f(json!(["nope", "=", 1])),
        f(json!(["secret", "=", "x"])),
        f(json!(["total", ">", 1])),
        f(json!(["labels", ">", "a"])),
        f(json!(["active", "contains", "t"])),
        f(json!(["meta", "=", 1])),
        f(json!(["amount", "=", "abc"])),
        f(json!(["active", "=", "yes"])),
        f(json!(["name", "=", "a\u{0}b"])),
        f(json!(["labels", "in", ["a", {"x": 1}]])),
        f(json!({"amount": {"$between": [1]}})),
        get(&[("sort", "labels")]),
        get(&[("select", "name,secret,total")]),
        get(&[("limit", "5000")]),
        // Aggregations: the same groups, values and totals (score sums are exact: i12's 0.001 left
        // out, as float sums may round in another order).
        astx(
            json!({
                "groupBy": ["stage"],
                "where": ["id", "!=", "i12"],
                "aggregations": [
                    {"function": "count", "alias": "n"},
                    {"function": "count", "field": "note", "alias": "notes"},
                    {"function": "count", "field": "labels", "alias": "labelled"},
                    {"function": "count_distinct", "field": "amount", "alias": "amounts"},
                    {"function": "sum", "field": "amount", "alias": "total"},
                    {"function": "sum", "field": "amount", "alias": "distinct_total", "distinct": true},
                    {"function": "avg", "field": "amount", "alias": "mean"},
                    {"function": "sum", "field": "score", "alias": "score_total"},
                    {"function": "avg", "field": "score", "alias": "score_mean"},
                    {"function": "min", "field": "name", "alias": "first_name"},
                    {"function": "max", "field": "name", "alias": "last_name"},
                    {"function": "min", "field": "day", "alias": "first_day"},
                    {"function": "max", "field": "at", "alias": "last_at"},
                    {"function": "min", "field": "clock", "alias": "early"},
                    {"function": "max", "field": "score", "alias": "best"},
                    {"function": "min", "field": "created_at", "alias": "born"}
                ]
            }),
            &["", "lost", "open", "won"],
        ),
        ast(json!({
            "groupBy": ["active", "stage"],
            "aggregations": [{"function": "count", "alias": "n"}, {"function": "max", "field": "amount", "alias": "top"}],
            "orderBy": [{"field": "n", "order": "desc"}, {"field": "top", "order": "asc"}]
        })),
        astx(
            json!({"groupBy": ["day"], "orderBy": ["-day"], "limit": 3, "offset": 1}),
            &["2026-04-30", "2026-03-01", "2026-02-01", "2026-01-15"],
        ),
        ast(
            json!({"groupBy": ["name"], "aggregations": [{"function": "count", "alias": "n"}], "orderBy": ["name"]}),
        ),
        ast(
            json!({"groupBy": ["at"], "aggregations": [{"function": "avg", "field": "amount", "alias": "a"}]}),
        ),
        ast(
            json!({"aggregations": [{"function": "count", "alias": "n"}, {"function": "max", "field": "amount", "alias": "m"}], "where": ["amount", ">", 10]}),
        ),
        ast(
            json!({"aggregations": [{"function": "count", "alias": "n"}, {"function": "sum", "field": "amount", "alias": "s"}, {"function": "min", "field": "at", "alias": "m"}], "where": ["amount", ">", 1000]}),
        ),
        // distinct: the distinct combinations of the selected fields.
        astx(
            json!({"distinct": true, "fields": ["stage"], "orderBy": ["stage"]}),
            &["", "lost", "open", "won"],
        ),
        getx(
            &[
                ("distinct", "true"),
                ("select", "stage,active,stage"),
                ("sort", "-stage"),
                ("top", "3"),
            ],
            &["won", "won", "open", "open"],
        ),
        ast(
            json!({"distinct": true, "fields": ["day", "clock"], "where": ["amount", ">", 5], "count": true}),
        ),
        ast(json!({"distinct": true})),
        ast(json!({"distinct": true, "fields": ["id"], "groupBy": ["stage"]})),
        get(&[
            ("groupBy", "stage,active"),
            (
                "aggregations",
                r#"[{"function":"sum","field":"amount","alias":"total"}]"#,
            ),
            ("sort", "-total"),
            ("top", "2"),
            ("skip", "1"),
        ]),
        ast(
            json!({"groupBy": ["labels"], "aggregations": [{"function": "sum", "field": "name", "alias": "x"}, {"function": "min", "field": "active", "alias": "y"}, {"function": "count_distinct", "field": "meta", "alias": "z"}], "orderBy": ["amount"]}),
        ),
        ast(json!({"where": ["name", "bogus", 1], "orderBy": [{"field": "meta"}]})),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_give_the_same_answers() {
    let db = TestDatabase::create().await;
    let pool = db.pool().await;
    let conn = pool.acquire().await.unwrap();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let object = item();
        let pg = PgSession::open(handle, conn, None).unwrap();
        for statement in pg_statements(&object) {
            pg.execute_batch(&statement).unwrap();
        }
        fill(&pg);
        let lite_conn = rusqlite::Connection::open_in_memory().unwrap();
        let lite = SqliteSession::new(&lite_conn);
        for statement in TableDef::from_object(&object).unwrap().statements() {
            lite.execute_batch(&statement).unwrap();
        }
        fill(&lite);

        let mut answered = 0;
        let mut failures = Vec::new();
        for (n, (src, expected)) in cases().into_iter().enumerate() {
            let query = parse(&src);
            let what = match &src {
                Src::Filter(v) | Src::Ast(v) => v.to_string(),
                Src::Get(pairs) => format!("{pairs:?}"),
            };
            let on_sqlite = run(&lite, &object, &query, &what);
            let on_postgres = run(&pg, &object, &query, &what);
            if on_sqlite != on_postgres {
                failures.push(format!(
                    "case {n}: {what}\n  sqlite:   {on_sqlite:?}\n  postgres: {on_postgres:?}"
                ));
            }
            if let Some(expected) = expected {
                if ids(&on_sqlite) != *expected {
                    failures.push(format!(
                        "case {n}: {what}: expected {expected:?}, got {:?}",
                        ids(&on_sqlite)
                    ));
                }
            }
            if let Ok((rows, total)) = &on_sqlite {
                answered += 1;
                if let (Src::Filter(_), Some(total)) = (&src, total) {
                    assert_eq!(*total, rows.len() as u64, "case {n}: {what}");
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));

        // Values bound with their meaning keep PostgreSQL's indexes usable (the table is too small
        // for the planner to want them, so sequential scans are switched off).
        pg.execute_batch("SET enable_seqscan = off").unwrap();
        for (filter, index) in [
            (json!(["name", "=", "Alpha"]), "idx_item_name"),
            (json!(["name", "startswith", "Al"]), "idx_item_name"),
            (json!(["amount", "between", [5, 30]]), "idx_item_amount"),
            (json!(["amount", "in", [10, 30]]), "idx_item_amount"),
            (json!(["at", ">=", "2026-02-01T00:00:00Z"]), "idx_item_at"),
            (
                json!(["at", "=", "2026-01-02T04:04:05+01:00"]),
                "idx_item_at",
            ),
        ] {
            let query = parse(&Src::Filter(filter.clone())).unwrap();
            let compiled = compile(Dialect::Postgres, &object, &query).unwrap();
            let count_sql = compiled.count_sql.unwrap();
            let plan: Vec<String> = pg
                .query(&format!("EXPLAIN {count_sql}"), &compiled.count_params)
                .unwrap()
                .into_iter()
                .filter_map(|row| row.into_iter().next().and_then(SqlValue::into_string))
                .collect();
            assert!(
                plan.iter().any(|line| line.contains(index)),
                "{filter}: {count_sql}: {plan:#?}"
            );
        }
        assert!(answered > 150, "{answered} cases answered");
    })
    .await
    .unwrap();
    pool.close().await;
}

/// The ids of `sort`'s records walked `page` at a time with each page's cursor (built from the
/// last row as the service does), on one database.
fn walk_with_cursor(
    session: &dyn Session,
    object: &ObjectDefinition,
    sort: &'static str,
    page: u64,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<(serde_json::Map<String, Value>, JsonPath)> = None;
    for _ in 0..50 {
        let mut query = from_params(&[("sort".to_owned(), sort.to_owned())]).unwrap();
        query.limit = page;
        query.cursor = cursor.clone();
        let compiled = compile(session.dialect(), object, &query).unwrap();
        let rows = session.query(&compiled.sql, &compiled.params).unwrap();
        let limit = usize::try_from(page).unwrap();
        for row in rows.iter().take(limit) {
            out.push(row[0].clone().into_string().unwrap());
        }
        if rows.len() <= limit {
            return out;
        }
        let last = &rows[limit - 1];
        let map = compiled
            .cursor_keys
            .iter()
            .map(|(name, at)| (name.clone(), neutral(last[*at].clone(), false)))
            .collect();
        cursor = Some((map, JsonPath::root().key("cursor")));
    }
    panic!("{sort}: no last page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_pages_give_the_full_listing_on_both_databases() {
    let db = TestDatabase::create().await;
    let pool = db.pool().await;
    let conn = pool.acquire().await.unwrap();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let object = item();
        let pg = PgSession::open(handle, conn, None).unwrap();
        for statement in pg_statements(&object) {
            pg.execute_batch(&statement).unwrap();
        }
        fill(&pg);
        let lite_conn = rusqlite::Connection::open_in_memory().unwrap();
        let lite = SqliteSession::new(&lite_conn);
        for statement in TableDef::from_object(&object).unwrap().statements() {
            lite.execute_batch(&statement).unwrap();
        }
        fill(&lite);
        for sort in [
            "id",
            "name",
            "-name",
            "stage,-amount",
            "-score",
            "active,day",
            "-at",
            "clock",
            "-note,name",
            "-active,-day,-id",
        ] {
            let full = ids(&run(
                &lite,
                &object,
                &from_params(&[
                    ("sort".to_owned(), sort.to_owned()),
                    ("top".to_owned(), "100".to_owned()),
                ]),
                sort,
            ));
            let full: Vec<String> = full.into_iter().take(12).collect();
            for page in [1, 3, 5] {
                assert_eq!(
                    walk_with_cursor(&lite, &object, sort, page),
                    full,
                    "sqlite {sort} by {page}"
                );
                assert_eq!(
                    walk_with_cursor(&pg, &object, sort, page),
                    full,
                    "postgres {sort} by {page}"
                );
            }
        }
    })
    .await
    .unwrap();
    pool.close().await;
}

/// The operators of a PostgreSQL plan (`EXPLAIN (FORMAT JSON)`), outermost first.
fn plan_nodes(session: &dyn Session, sql: &str, params: &[SqlValue]) -> Vec<String> {
    fn walk(node: &Value, out: &mut Vec<String>) {
        let mut name = node["Node Type"].as_str().unwrap_or("?").to_owned();
        if let Some(direction) = node["Scan Direction"].as_str() {
            name = format!("{name} {direction}");
        }
        out.push(name);
        for child in node["Plans"].as_array().into_iter().flatten() {
            walk(child, out);
        }
    }
    let explained = session
        .query_value(&format!("EXPLAIN (FORMAT JSON) {sql}"), params)
        .unwrap();
    let plan: Value = match explained {
        SqlValue::Json(text) | SqlValue::Text(text) => serde_json::from_str(&text).unwrap(),
        other => panic!("EXPLAIN answered {other:?}"),
    };
    let mut out = Vec::new();
    walk(&plan[0]["Plan"], &mut out);
    out
}

/// A page sorted by an indexed column is read from the index in either direction, as on SQLite:
/// the `ORDER BY` asks for SQLite's NULL order and the provider's indexes are built in it, so the
/// matching rows are never all sorted to keep twenty (which made such a page ~100× slower).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_pages_sorted_by_an_indexed_column_come_from_the_index() {
    let db = TestDatabase::create().await;
    let pool = db.pool().await;
    let conn = pool.acquire().await.unwrap();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let object = objectos_spec::parse(&json!({
            "name": "task",
            "fields": {
                "status": {"type": "text"},
                "score": {"type": "number", "scale": 0},
                "title": {"type": "text", "required": true}
            },
            "indexes": [{"fields": ["status", "score"]}, {"fields": ["title"]}]
        }))
        .unwrap();
        let pg = PgSession::open(handle, conn, None).unwrap();
        for statement in pg_statements(&object) {
            pg.execute_batch(&statement).unwrap();
        }
        pg.execute_batch(
            "INSERT INTO task (id, created_at, updated_at, status, score, title) \
             SELECT 'r' || n, now(), now(), CASE n % 3 WHEN 0 THEN 'open' ELSE 'closed' END, \
                    CASE WHEN n % 50 = 0 THEN NULL ELSE n % 1000 END, 'title ' || n \
             FROM generate_series(1, 20000) AS n; ANALYZE task",
        )
        .unwrap();
        let cases: [(&[(&str, &str)], &str); 5] = [
            (
                &[
                    ("filter", r#"{"status": "open", "score": {"$gte": 300}}"#),
                    ("sort", "-score"),
                ],
                "Index Scan Backward",
            ),
            (
                &[
                    ("filter", r#"{"status": "open", "score": {"$gte": 300}}"#),
                    ("sort", "score"),
                ],
                "Index Scan Forward",
            ),
            (
                &[("filter", r#"{"status": "open"}"#), ("sort", "-score")],
                "Index Scan Backward",
            ),
            (&[("sort", "title")], "Index Scan Forward"),
            (&[("sort", "-title")], "Index Scan Backward"),
        ];
        for (pairs, scan) in cases {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .chain([("top".to_owned(), "20".to_owned())])
                .collect();
            let compiled =
                compile(Dialect::Postgres, &object, &from_params(&pairs).unwrap()).unwrap();
            let nodes = plan_nodes(&pg, &compiled.sql, &compiled.params);
            assert!(
                nodes.iter().any(|n| n == scan) && !nodes.iter().any(|n| n == "Sort"),
                "{pairs:?}: expected an {scan} and no full sort, planned {nodes:?}\n{}",
                compiled.sql
            );
        }
    })
    .await
    .unwrap();
}

#[test]
fn postgres_sql_shapes() {
    let object = item();
    let compiled = |pairs: &[(&str, &str)]| {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        compile(Dialect::Postgres, &object, &from_params(&pairs).unwrap()).unwrap()
    };
    let page = compiled(&[
        ("sort", "-name,created_at"),
        ("filter", r#"["active","!=",true]"#),
        ("top", "5"),
        ("skip", "10"),
    ]);
    assert_eq!(
        page.sql,
        r#"SELECT "id", "created_at", "updated_at", "name", "note", "amount", "score", "active", "day", "at", "clock", "stage", "labels", "vec", "meta" FROM "item" WHERE "active" IS DISTINCT FROM $1 ORDER BY "name" DESC NULLS LAST, "created_at" ASC NULLS FIRST, "id" ASC LIMIT $2 OFFSET $3"#
    );
    assert_eq!(page.params, [SqlValue::Bool(true), i(6), i(10)]);
    assert_eq!(
        page.count_sql.as_deref(),
        Some(r#"SELECT COUNT(*) FROM "item" WHERE "active" IS DISTINCT FROM $1"#)
    );
    assert_eq!(page.count_params, [SqlValue::Bool(true)]);

    let filter = |v: Value| {
        let filter = parse_filter(&v, &JsonPath::root()).unwrap();
        let mut params = vec![t("caller")];
        let sql = compile_filter(Dialect::Postgres, &object, &filter, &mut params).unwrap();
        (sql, params)
    };
    assert_eq!(
        filter(json!(["name", "contains", "5%_\\"])),
        (
            r#""name" LIKE $2 ESCAPE '\'"#.to_owned(),
            vec![t("caller"), t("%5\\%\\_\\\\%")]
        )
    );
    assert_eq!(
        filter(json!(["name", "like", "%A%"])).0,
        r#""name" ILIKE $2 ESCAPE '\'"#
    );
    assert_eq!(filter(json!(["name", "like", "a\\"])).0, "FALSE");
    assert_eq!(
        filter(json!(["name", "startswith", "ab"])),
        (
            r#"("name" >= $2 AND "name" < $3)"#.to_owned(),
            vec![t("caller"), t("ab"), t("ac")]
        )
    );
    assert_eq!(
        filter(json!({"labels": {"$nin": ["a", "b"]}})).0,
        r#"NOT COALESCE(("labels" @> jsonb_build_array($2::text) OR "labels" @> jsonb_build_array($3::text)), FALSE)"#
    );
    assert_eq!(
        filter(json!(["not", ["day", "=", "2026-02-01"]])),
        (
            r#"NOT COALESCE("day" = $2, FALSE)"#.to_owned(),
            vec![t("caller"), d("2026-02-01")]
        )
    );
    assert_eq!(
        filter(json!(["at", ">=", "2026-02"])),
        (
            r#"(to_char("at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') COLLATE "C") >= $2"#
                .to_owned(),
            vec![t("caller"), t("2026-02")]
        )
    );
    assert_eq!(
        filter(json!(["at", "in", ["2026-01-02T04:04:05+01:00"]])),
        (
            r#""at" IN ($2)"#.to_owned(),
            vec![t("caller"), ts("2026-01-02T03:04:05.000Z")]
        )
    );
    assert_eq!(filter(json!(["or"])).0, "FALSE");
    assert_eq!(filter(json!(["and"])).0, "TRUE");
}

#[test]
fn values_say_what_they_mean_and_bind_as_before_on_sqlite() {
    let object = item();
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let filter = parse_filter(
            &json!({"active": "true", "day": "2026-01-31", "at": "2026-01-31T10:00:00+01:00",
                    "clock": "9:05", "amount": "7", "score": 1.5, "name": 5}),
            &JsonPath::root(),
        )
        .unwrap();
        let mut params = Vec::new();
        compile_filter(dialect, &object, &filter, &mut params).unwrap();
        assert_eq!(
            params,
            [
                b(true),
                d("2026-01-31"),
                ts("2026-01-31T09:00:00.000Z"),
                t("9:05"),
                i(7),
                r(1.5),
                t("5"),
            ],
            "{dialect:?}"
        );
    }
}

#[test]
fn issues_are_the_same_on_both_dialects() {
    let object = item();
    for body in [
        json!({"where": ["nope", "=", 1]}),
        json!({"where": {"amount": {"$gt": "x"}, "labels": {"$gte": 1}}}),
        json!({"fields": ["secret"], "orderBy": [{"field": "vec"}], "limit": 1001}),
        json!({"where": ["day", "=", true]}),
        json!({"where": {"name": {"$in": ["ok", "nul\u{0}"]}}}),
    ] {
        let query = from_ast(&body);
        let issues = |dialect| match &query {
            Err(issues) => issues.clone(),
            Ok(query) => compile(dialect, &object, query).unwrap_err(),
        };
        let sqlite = issues(Dialect::Sqlite);
        assert!(!sqlite.is_empty(), "{body}");
        assert_eq!(sqlite, issues(Dialect::Postgres), "{body}");
    }
}

/// Integer sums beyond 64 bits (issue #14: SQLite's "integer overflow" and PostgreSQL's "bigint
/// out of range" were 500s): exact while the total fits 64 bits, the nearest double beyond, the
/// same JSON and the same order on both databases; a distinct sum beyond 64 bits is an overflow
/// error on both (answered 422 by the service); averages of huge values are answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integer_sums_beyond_64_bits_agree_on_both_databases() {
    let db = TestDatabase::create().await;
    let pool = db.pool().await;
    let conn = pool.acquire().await.unwrap();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let object: ObjectDefinition = objectos_spec::parse(&json!({
            "name": "big",
            "fields": {"grp": {"type": "text"}, "amount": {"type": "number", "scale": 0}}
        }))
        .unwrap();
        let pg = PgSession::open(handle, conn, None).unwrap();
        for statement in pg_statements(&object) {
            pg.execute_batch(&statement).unwrap();
        }
        let lite_conn = rusqlite::Connection::open_in_memory().unwrap();
        let lite = SqliteSession::new(&lite_conn);
        for statement in TableDef::from_object(&object).unwrap().statements() {
            lite.execute_batch(&statement).unwrap();
        }
        let rows: [(&str, i64); 9] = [
            // 2^64 - 7: beyond 64 bits.
            ("a", i64::MAX),
            ("a", i64::MAX),
            ("a", -5),
            // 2^62 - 1: fits, exact although the partial values are large.
            ("b", 1 << 62),
            ("b", (1 << 62) - 1),
            ("b", -(1 << 62)),
            // -2^64: below 64 bits.
            ("c", i64::MIN),
            ("c", i64::MIN),
            // i64::MIN itself fits.
            ("d", i64::MIN),
        ];
        for session in [&lite as &dyn Session, &pg] {
            for (n, (grp, amount)) in rows.iter().enumerate() {
                session
                    .execute(
                        r#"INSERT INTO "big" ("id", "created_at", "updated_at", "grp", "amount") VALUES ($1, $2, $2, $3, $4)"#,
                        &[t(&format!("r{n}")), ts("2026-01-01T00:00:00.000Z"), t(grp), i(*amount)],
                    )
                    .unwrap();
            }
        }
        let query = from_ast(&json!({
            "groupBy": ["grp"],
            "aggregations": [
                {"function": "sum", "field": "amount", "alias": "total"},
                {"function": "count", "alias": "n"}
            ],
            "orderBy": [{"field": "total", "order": "desc"}]
        }));
        let on_sqlite = run(&lite, &object, &query, "sums");
        let on_postgres = run(&pg, &object, &query, "sums");
        assert_eq!(on_sqlite, on_postgres);
        let (records, _) = on_sqlite.unwrap();
        assert_eq!(
            records,
            vec![
                vec![json!("a"), json!(18_446_744_073_709_551_609_f64), json!(3)],
                vec![json!("b"), json!(4_611_686_018_427_387_903_i64), json!(3)],
                vec![json!("d"), json!(i64::MIN), json!(1)],
                vec![json!("c"), json!(-18_446_744_073_709_551_616_f64), json!(2)],
            ]
        );
        assert!(records[0][1].is_f64() && records[1][1].is_i64() && records[2][1].is_i64());

        // Over no rows: null on both.
        let none = from_ast(&json!({
            "where": ["grp", "=", "nobody"],
            "aggregations": [{"function": "sum", "field": "amount", "alias": "total"}]
        }));
        let on_sqlite = run(&lite, &object, &none, "no rows");
        assert_eq!(on_sqlite, run(&pg, &object, &none, "no rows"));
        assert_eq!(on_sqlite.unwrap().0, vec![vec![Value::Null]]);

        // Averages of huge values are answered (as doubles, within rounding of each other).
        let avg = from_ast(&json!({
            "groupBy": ["grp"],
            "aggregations": [{"function": "avg", "field": "amount", "alias": "mean"}]
        }));
        let (lite_avg, _) = run(&lite, &object, &avg, "avg").unwrap();
        let (pg_avg, _) = run(&pg, &object, &avg, "avg").unwrap();
        for (l, p) in lite_avg.iter().zip(&pg_avg) {
            let (l, p) = (l[1].as_f64().unwrap(), p[1].as_f64().unwrap());
            assert!((l - p).abs() <= p.abs() * 1e-12, "{l} vs {p}");
        }

        // A distinct sum beyond 64 bits: an overflow on both databases.
        for session in [&lite as &dyn Session, &pg] {
            for (n, amount) in [i64::MAX, i64::MAX - 1].into_iter().enumerate() {
                session
                    .execute(
                        r#"INSERT INTO "big" ("id", "created_at", "updated_at", "grp", "amount") VALUES ($1, $2, $2, $3, $4)"#,
                        &[t(&format!("e{n}")), ts("2026-01-01T00:00:00.000Z"), t("e"), i(amount)],
                    )
                    .unwrap();
            }
        }
        let distinct = from_ast(&json!({
            "where": ["grp", "=", "e"],
            "aggregations": [{"function": "sum", "field": "amount", "alias": "d", "distinct": true}]
        }))
        .unwrap();
        for session in [&lite as &dyn Session, &pg] {
            let compiled = compile(session.dialect(), &object, &distinct).unwrap();
            let error = session
                .query(&compiled.sql, &compiled.params)
                .expect_err("a distinct sum of i64::MAX and -5 overflows");
            assert!(error.is_overflow(), "{:?}: {error:?}", session.dialect());
        }
    })
    .await
    .unwrap();
    pool.close().await;
}
