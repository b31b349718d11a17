//! Compiling a parsed [`Query`] for one [`Dialect`]. Field resolution, value conversion and every
//! issue are shared, so both dialects accept and refuse exactly the same queries; only the SQL
//! fragments of [`super::sql`] differ.

use objectos_schema::{column_for, Ident, IdentKind, JsonShape, SqlType, Storage};
use objectos_spec::model::{normalise_datetime, normalise_time, SYSTEM_COLUMNS};
use objectos_spec::types::field::FieldType;
use objectos_spec::{json_type_name, Issue, IssueCode, JsonPath, ObjectDefinition};
use objectos_sql::{Dialect, SqlValue};
use serde_json::Value;

use super::aggregate::{AggFunction, Aggregation};
use super::parse::{
    show, show_value, Filter, Op, Query, MAX_LIMIT, MAX_SELECT_FIELDS, MAX_SORT_KEYS,
};
use super::sql;

/// A query compiled for one dialect.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledQuery {
    /// `SELECT "id", "created_at", "updated_at", <fields> FROM … ORDER BY …, "id" LIMIT $n OFFSET $m`,
    /// fetching `limit + 1` rows so the caller can tell whether there are more.
    pub sql: String,
    /// The bound values of `sql`, in `$N` order.
    pub params: Vec<SqlValue>,
    /// `SELECT COUNT(*) FROM … [WHERE …]` when the total is wanted.
    pub count_sql: Option<String>,
    /// The bound values of `count_sql`.
    pub count_params: Vec<SqlValue>,
    /// The field keys of the selected columns after the three system columns, in column order
    /// (empty for an aggregated query).
    pub fields: Vec<String>,
    /// For a query with `groupBy`/`aggregations`: every column of its rows, in order (no system
    /// columns); `None` for a query of records.
    pub output: Option<Vec<OutputColumn>>,
    /// The sort keys (`id` last) and their positions in a row: the next page's cursor is these
    /// values of the page's last row. Empty for an aggregated query.
    pub cursor_keys: Vec<(String, usize)>,
}

/// A column of an aggregated query's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputColumn {
    /// Its key in each result record: a `groupBy` key or an aggregation alias.
    pub name: String,
    /// The field whose values it holds, decoded as that field's (group keys, `min`, `max`);
    /// `None`: the value as the database gives it (counts, sums, averages).
    pub field: Option<String>,
    /// A sum of whole numbers, computed without overflow: the database gives an integer, a double
    /// (SQLite, beyond 64 bits) or the exact decimal as text (PostgreSQL); it is answered as an
    /// integer when it fits 64 bits, else as the nearest double (see `decode_grouped`).
    pub integer_sum: bool,
}

/// What a column holds, as far as comparisons are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Text (SQLite `TEXT`; PostgreSQL `TEXT COLLATE "C"`, or `DATE`/`TIMESTAMPTZ` for dates and
    /// instants); the [`TextKind`] says how comparison values are normalised.
    Text(TextKind),
    /// Whole numbers.
    Integer,
    /// Doubles.
    Real,
    /// Booleans (SQLite: 0/1).
    Bool,
    /// A JSON array (multiselect, tags, `multiple` fields…).
    JsonArray,
    /// Another JSON value (json, location, address).
    Json,
}

/// How a text column's comparison values are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextKind {
    /// Compared as given.
    Plain,
    /// A `date` field: `YYYY-MM-DD`.
    Date,
    /// A `datetime` field or `created_at`/`updated_at`: normalised RFC 3339.
    Datetime,
    /// A `time` field: normalised `HH:MM:SS[.sss]`.
    Time,
}

/// A resolved column.
struct Col {
    sql: String,
    kind: Kind,
    /// How the field is described in messages: `'name', a text field`.
    describe: String,
}

/// Why a column is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Filter,
    Sort,
    Select,
    Group,
    Aggregate,
}

impl Purpose {
    fn verb(self) -> &'static str {
        match self {
            Self::Filter => "filtered on",
            Self::Sort => "sorted by",
            Self::Select => "selected",
            Self::Group => "grouped by",
            Self::Aggregate => "aggregated",
        }
    }
}

fn quoted(kind: IdentKind, name: &str, at: &JsonPath) -> Result<String, Issue> {
    Ident::new(kind, name)
        .map(|i| i.quoted())
        .map_err(|e| Issue::new(at.clone(), IssueCode::Custom, e.to_string()))
}

/// The column of a field key or system column, refusing what may not be used for `purpose`.
fn resolve(
    object: &ObjectDefinition,
    name: &str,
    at: &JsonPath,
    purpose: Purpose,
) -> Result<Col, Issue> {
    if SYSTEM_COLUMNS.contains(&name) {
        return Ok(Col {
            sql: quoted(IdentKind::Column, name, at)?,
            kind: Kind::Text(if name == "id" {
                TextKind::Plain
            } else {
                TextKind::Datetime
            }),
            describe: format!("'{name}', a system column"),
        });
    }
    let Some(field) = object.fields.get(name) else {
        return Err(Issue::new(
            at.clone(),
            IssueCode::Custom,
            format!("Unknown field '{}' of object '{}'", show(name), object.name),
        ));
    };
    let ty = field.r#type;
    if ty == FieldType::Password {
        return Err(Issue::new(
            at.clone(),
            IssueCode::Custom,
            format!(
                "'{name}' is a password field: it is write-only and cannot be {}",
                purpose.verb()
            ),
        ));
    }
    let spec = column_for(name, field)
        .map_err(|e| Issue::new(at.clone(), IssueCode::Custom, e.to_string()))?;
    let Some(spec) = spec else {
        return Err(Issue::new(
            at.clone(),
            IssueCode::Custom,
            format!(
                "'{name}' is a {ty} field, computed when read: it has no column and cannot be {}",
                purpose.verb()
            ),
        ));
    };
    let kind = match spec.storage {
        Storage::Json(JsonShape::Array) => Kind::JsonArray,
        Storage::Json(_) => Kind::Json,
        Storage::Column(SqlType::Integer)
            if matches!(ty, FieldType::Boolean | FieldType::Toggle) =>
        {
            Kind::Bool
        }
        Storage::Column(SqlType::Integer) => Kind::Integer,
        Storage::Column(SqlType::Real) => Kind::Real,
        Storage::Column(SqlType::Text) => Kind::Text(match ty {
            FieldType::Date => TextKind::Date,
            FieldType::Datetime => TextKind::Datetime,
            FieldType::Time => TextKind::Time,
            _ => TextKind::Plain,
        }),
        Storage::Computed => Kind::Json,
    };
    Ok(Col {
        sql: spec.name.quoted(),
        kind,
        describe: format!("'{name}', a {ty} field"),
    })
}

/// The operators a kind of column accepts.
fn allowed_ops(kind: Kind) -> &'static [Op] {
    use Op::*;
    match kind {
        Kind::Text(_) => &[
            Eq,
            Ne,
            Gt,
            Gte,
            Lt,
            Lte,
            In,
            Nin,
            Contains,
            NotContains,
            StartsWith,
            EndsWith,
            Between,
            IsNull,
            IsNotNull,
            Like,
        ],
        Kind::Integer | Kind::Real => &[
            Eq, Ne, Gt, Gte, Lt, Lte, In, Nin, Between, IsNull, IsNotNull,
        ],
        Kind::Bool => &[Eq, Ne, In, Nin, IsNull, IsNotNull],
        Kind::JsonArray => &[Eq, Ne, Contains, NotContains, In, Nin, IsNull, IsNotNull],
        Kind::Json => &[IsNull, IsNotNull],
    }
}

/// Builds WHERE fragments and their parameters, collecting issues.
struct FilterCompiler<'a> {
    dialect: Dialect,
    object: &'a ObjectDefinition,
    params: &'a mut Vec<SqlValue>,
    issues: Vec<Issue>,
}

impl FilterCompiler<'_> {
    fn bind(&mut self, value: SqlValue) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }

    /// The keyset condition "after the cursor's record" for the sort `keys` (ascending NULLs
    /// first, descending NULLs last, `id` last and unique): for some key, the keys before it equal
    /// the cursor's and it comes after the cursor's value. `None` after an issue.
    fn after(
        &mut self,
        keys: &[(String, Col, bool)],
        cursor: &serde_json::Map<String, Value>,
        at: &JsonPath,
    ) -> Option<String> {
        let names: Vec<&str> = keys.iter().map(|(name, _, _)| name.as_str()).collect();
        let fits = cursor.len() == keys.len() && names.iter().all(|n| cursor.contains_key(*n));
        if !fits {
            self.issues.push(Issue::new(
                at.clone(),
                IssueCode::Custom,
                format!(
                    "The cursor does not fit this query's sort: it must hold the values of {} (the nextCursor of a page of the same query)",
                    names.join(", ")
                ),
            ));
            return None;
        }
        let d = self.dialect;
        let mut bound: Vec<(String, Option<String>, bool)> = Vec::new();
        for (name, col, descending) in keys {
            let value = &cursor[name.as_str()];
            if value.is_null() {
                bound.push((col.sql.clone(), None, *descending));
                continue;
            }
            let converted = self.convert(col, value, &at.key(name))?;
            let (c, mut values) = self.operand_column(col, vec![converted]);
            let p = self.bind(values.remove(0));
            bound.push((c, Some(p), *descending));
        }
        let mut branches = Vec::new();
        for (i, (c, p, descending)) in bound.iter().enumerate() {
            let beyond = match (p, descending) {
                (None, false) => format!("{c} IS NOT NULL"),
                (None, true) => continue,
                (Some(p), false) => format!("{c} > {p}"),
                (Some(p), true) => format!("({c} < {p} OR {c} IS NULL)"),
            };
            let mut parts: Vec<String> = bound[..i]
                .iter()
                .map(|(c, p, _)| match p {
                    None => format!("{c} IS NULL"),
                    Some(p) => format!("{c} = {p}"),
                })
                .collect();
            parts.push(beyond);
            branches.push(format!("({})", parts.join(" AND ")));
        }
        Some(if branches.is_empty() {
            sql::truth(d, false).to_owned()
        } else {
            branches.join(" OR ")
        })
    }

    fn never(&self) -> String {
        sql::truth(self.dialect, false).to_owned()
    }

    fn filter(&mut self, filter: &Filter) -> String {
        match filter {
            Filter::And(children) if children.is_empty() => {
                sql::truth(self.dialect, true).to_owned()
            }
            Filter::Or(children) if children.is_empty() => self.never(),
            Filter::And(children) | Filter::Or(children) if children.len() == 1 => {
                self.filter(&children[0])
            }
            Filter::And(children) => self.join(children, " AND "),
            Filter::Or(children) => self.join(children, " OR "),
            Filter::Not(child) => {
                let inner = self.filter(child);
                sql::not(self.dialect, &inner)
            }
            Filter::Cmp {
                field,
                op,
                value,
                at,
            } => self.cmp(field, *op, value, at),
        }
    }

    fn join(&mut self, children: &[Filter], separator: &str) -> String {
        let parts: Vec<String> = children.iter().map(|c| self.filter(c)).collect();
        format!("({})", parts.join(separator))
    }

    fn cmp(&mut self, field: &str, op: Op, value: &Value, at: &JsonPath) -> String {
        let col = match resolve(self.object, field, at, Purpose::Filter) {
            Ok(col) => col,
            Err(issue) => {
                self.issues.push(issue);
                return self.never();
            }
        };
        if !allowed_ops(col.kind).contains(&op) {
            let valid: Vec<&str> = allowed_ops(col.kind).iter().map(|o| o.as_str()).collect();
            self.issues.push(Issue::new(
                at.clone(),
                IssueCode::Custom,
                format!(
                    "Operator '{}' does not apply to {}; use one of {}",
                    op.as_str(),
                    col.describe,
                    valid.join(", ")
                ),
            ));
            return self.never();
        }
        let d = self.dialect;
        let c = col.sql.as_str();
        match (col.kind, op) {
            (_, Op::IsNull) => format!("{c} IS NULL"),
            (_, Op::IsNotNull) => format!("{c} IS NOT NULL"),
            // The parser already turns these into is_null/is_not_null; a hand-built Query may not.
            (_, Op::Eq) if value.is_null() => format!("{c} IS NULL"),
            (_, Op::Ne) if value.is_null() => format!("{c} IS NOT NULL"),
            (
                Kind::JsonArray,
                Op::Eq | Op::Contains | Op::NotContains | Op::Ne | Op::In | Op::Nin,
            ) => {
                let values = if matches!(op, Op::In | Op::Nin) {
                    self.list(&col, value, at, true)
                } else {
                    self.element(&col, value, at).map(|v| vec![v])
                };
                let Some(values) = values else {
                    return self.never();
                };
                let marks: Vec<String> = values
                    .into_iter()
                    .map(|v| {
                        let cast = sql::element_cast(d, &v);
                        format!("{}{cast}", self.bind(v))
                    })
                    .collect();
                sql::json_array_has(
                    d,
                    c,
                    &marks,
                    matches!(op, Op::In | Op::Nin),
                    matches!(op, Op::Ne | Op::Nin | Op::NotContains),
                )
            }
            (_, Op::Eq | Op::Ne | Op::Gt | Op::Gte | Op::Lt | Op::Lte) => {
                let Some(v) = self.convert(&col, value, at) else {
                    return self.never();
                };
                let (c, mut values) = self.operand_column(&col, vec![v]);
                let p = self.bind(values.remove(0));
                let sql_op = match op {
                    Op::Eq => "=",
                    Op::Ne => sql::is_distinct(d),
                    Op::Gt => ">",
                    Op::Gte => ">=",
                    Op::Lt => "<",
                    _ => "<=",
                };
                format!("{c} {sql_op} {p}")
            }
            (_, Op::In | Op::Nin | Op::Between) => {
                let Some(values) = self.list(&col, value, at, false) else {
                    return self.never();
                };
                let (c, values) = self.operand_column(&col, values);
                let marks: Vec<String> = values.into_iter().map(|v| self.bind(v)).collect();
                match (op, marks.as_slice()) {
                    (Op::In, []) => self.never(),
                    (Op::In, _) => format!("{c} IN ({})", marks.join(", ")),
                    (Op::Nin, []) => sql::truth(d, true).to_owned(),
                    (Op::Nin, _) => format!("({c} IS NULL OR {c} NOT IN ({}))", marks.join(", ")),
                    (_, [low, high]) => format!("({c} >= {low} AND {c} <= {high})"),
                    _ => {
                        self.issues.push(Issue::new(
                            at.clone(),
                            IssueCode::InvalidType,
                            "'between' needs exactly 2 values [low, high]",
                        ));
                        self.never()
                    }
                }
            }
            (_, Op::StartsWith) => {
                let Some(prefix) = self.text(value, at, op) else {
                    return self.never();
                };
                if prefix.is_empty() {
                    return format!("{c} IS NOT NULL");
                }
                let c = self.text_column(&col);
                let upper = prefix_upper_bound(&prefix);
                let low = self.bind(SqlValue::Text(prefix));
                match upper {
                    Some(upper) => {
                        let high = self.bind(SqlValue::Text(upper));
                        format!("({c} >= {low} AND {c} < {high})")
                    }
                    None => format!("{c} >= {low}"),
                }
            }
            (_, Op::Contains | Op::EndsWith) => {
                let Some(needle) = self.text(value, at, op) else {
                    return self.never();
                };
                let c = self.text_column(&col);
                let p = self.bind(SqlValue::Text(sql::match_pattern(
                    d,
                    &needle,
                    op == Op::Contains,
                )));
                sql::match_op(d, &c, &p)
            }
            // NULL-safe: a record without a value does not contain the text.
            (_, Op::NotContains) => {
                let Some(needle) = self.text(value, at, op) else {
                    return self.never();
                };
                let c = self.text_column(&col);
                let p = self.bind(SqlValue::Text(sql::match_pattern(d, &needle, true)));
                sql::not(d, &sql::match_op(d, &c, &p))
            }
            (_, Op::Like) => {
                let Some(pattern) = self.text(value, at, op) else {
                    return self.never();
                };
                if !sql::like_pattern_can_match(d, &pattern) {
                    return self.never();
                }
                let c = self.text_column(&col);
                let p = self.bind(SqlValue::Text(pattern));
                sql::like(d, &c, &p)
            }
        }
    }

    /// The column expression compared with `values`, and the values as bound. Dates and instants
    /// are compared natively when every value is one; a value that is not (a bare `2026-02` bound,
    /// say) is compared as text with the column's stored text form, as SQLite does.
    fn operand_column(&self, col: &Col, values: Vec<SqlValue>) -> (String, Vec<SqlValue>) {
        let temporal = matches!(col.kind, Kind::Text(TextKind::Date | TextKind::Datetime));
        if !temporal || !values.iter().any(|v| matches!(v, SqlValue::Text(_))) {
            return (col.sql.clone(), values);
        }
        let values = values
            .into_iter()
            .map(|v| match v {
                SqlValue::Date(s) | SqlValue::Timestamp(s) => SqlValue::Text(s),
                other => other,
            })
            .collect();
        (self.text_column(col), values)
    }

    /// The column as text, for text operators and text comparisons.
    fn text_column(&self, col: &Col) -> String {
        match col.kind {
            Kind::Text(kind) => sql::as_text(self.dialect, kind, &col.sql),
            _ => col.sql.clone(),
        }
    }

    /// The text operand of a text operator (numbers are taken as their JSON text).
    fn text(&mut self, value: &Value, at: &JsonPath, op: Op) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            other => {
                self.issues.push(Issue::new(
                    at.clone(),
                    IssueCode::InvalidType,
                    format!(
                        "'{}' needs a string, received {}",
                        op.as_str(),
                        json_type_name(other)
                    ),
                ));
                None
            }
        }
    }

    /// Converts each item of an `in`/`nin`/`between` list; `None` after an issue.
    fn list(
        &mut self,
        col: &Col,
        value: &Value,
        at: &JsonPath,
        elements: bool,
    ) -> Option<Vec<SqlValue>> {
        let Value::Array(items) = value else {
            self.issues.push(Issue::new(
                at.clone(),
                IssueCode::InvalidType,
                format!("Expected an array, received {}", json_type_name(value)),
            ));
            return None;
        };
        let mut converted = Vec::with_capacity(items.len());
        for item in items {
            let v = if elements {
                self.element(col, item, at)
            } else {
                self.convert(col, item, at)
            };
            converted.push(v?);
        }
        Some(converted)
    }

    /// A JSON array element to look for: strings as text, numbers as numbers, booleans as 1/0 (as
    /// SQLite's JSON functions read `true`/`false`; stored arrays hold strings or numbers only).
    fn element(&mut self, col: &Col, value: &Value, at: &JsonPath) -> Option<SqlValue> {
        match value {
            Value::String(s) => Some(SqlValue::Text(s.clone())),
            Value::Bool(b) => Some(SqlValue::Integer(i64::from(*b))),
            Value::Number(n) => Some(number(n.as_i64(), n.as_f64())),
            other => {
                self.issues.push(Issue::new(
                    at.clone(),
                    IssueCode::InvalidType,
                    format!(
                        "Expected one element of {}, received {}",
                        col.describe,
                        json_type_name(other)
                    ),
                ));
                None
            }
        }
    }

    /// A comparison value with its meaning (boolean, number, text, date, instant); `None` after an
    /// issue.
    fn convert(&mut self, col: &Col, value: &Value, at: &JsonPath) -> Option<SqlValue> {
        let converted = match (col.kind, value) {
            (Kind::Bool, Value::Bool(b)) => Some(SqlValue::Bool(*b)),
            (Kind::Bool, Value::Number(n)) => match n.as_i64() {
                Some(i @ (0 | 1)) => Some(SqlValue::Bool(i == 1)),
                _ => None,
            },
            (Kind::Bool, Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" => Some(SqlValue::Bool(true)),
                "false" | "0" => Some(SqlValue::Bool(false)),
                _ => None,
            },
            (Kind::Integer | Kind::Real, Value::Number(n)) => Some(number(n.as_i64(), n.as_f64())),
            (Kind::Integer | Kind::Real, Value::String(s)) => {
                let t = s.trim();
                match (t.parse::<i64>().ok(), t.parse::<f64>().ok()) {
                    (i @ Some(_), f) => Some(number(i, f)),
                    (None, Some(f)) if f.is_finite() => Some(SqlValue::Real(f)),
                    _ => None,
                }
            }
            (Kind::Text(text), Value::String(s)) => Some(match text {
                TextKind::Plain => SqlValue::Text(s.clone()),
                TextKind::Date if is_date(s) => SqlValue::Date(s.clone()),
                TextKind::Datetime => match normalise_datetime(s) {
                    Some(at) => SqlValue::Timestamp(at),
                    None => SqlValue::Text(s.clone()),
                },
                TextKind::Time => SqlValue::Text(normalise_time(s).unwrap_or_else(|| s.clone())),
                TextKind::Date => SqlValue::Text(s.clone()),
            }),
            (Kind::Text(_), Value::Number(n)) => Some(SqlValue::Text(n.to_string())),
            _ => None,
        };
        if converted.is_none() {
            let expected = match col.kind {
                Kind::Bool => "true or false",
                Kind::Integer | Kind::Real => "a number",
                Kind::Text(_) => "a string",
                Kind::JsonArray | Kind::Json => "a JSON value",
            };
            self.issues.push(Issue::new(
                at.clone(),
                IssueCode::InvalidType,
                format!(
                    "Expected {expected} for {}, received {}",
                    col.describe,
                    show_value(value)
                ),
            ));
        }
        converted
    }
}

/// An integer when the number is whole and fits, else a double.
fn number(int: Option<i64>, float: Option<f64>) -> SqlValue {
    match (int, float) {
        (Some(i), _) => SqlValue::Integer(i),
        (None, Some(f)) => SqlValue::Real(f),
        (None, None) => SqlValue::Null,
    }
}

/// Whether `s` is a calendar date in the stored form `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// The smallest string greater than every string starting with `prefix` (in code point order, which is
/// SQLite's BINARY order and PostgreSQL's `"C"` order for UTF-8): the prefix with its last character
/// incremented. `None` when every character is `char::MAX`.
pub(super) fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Issues without repeats, in first-seen order (one bad field in several conditions is one issue per
/// path).
fn dedupe(issues: Vec<Issue>) -> Vec<Issue> {
    let mut out: Vec<Issue> = Vec::with_capacity(issues.len());
    for issue in issues {
        if !out.contains(&issue) {
            out.push(issue);
        }
    }
    out
}

/// WHERE fragment only (no "WHERE"), appending bound values to `params`; used by
/// updateMany/deleteMany-by-filter and reference checks.
///
/// Placeholders are numbered (`$N`, N = the value's position in `params`), so `params` may already
/// hold the caller's values; on SQLite, where `$N` are bound in order of first appearance, the
/// caller's own placeholders must appear before the fragment. On error `params` is left as it was.
pub fn compile_filter(
    dialect: Dialect,
    object: &ObjectDefinition,
    filter: &Filter,
    params: &mut Vec<SqlValue>,
) -> Result<String, Vec<Issue>> {
    let start = params.len();
    let mut compiler = FilterCompiler {
        dialect,
        object,
        params,
        issues: Vec::new(),
    };
    let sql = compiler.filter(filter);
    let issues = compiler.issues;
    if issues.is_empty() {
        Ok(sql)
    } else {
        params.truncate(start);
        Err(dedupe(issues))
    }
}

/// Compiles `query` against `object`: the page query (fetching `limit + 1` rows) and the count query.
pub fn compile(
    dialect: Dialect,
    object: &ObjectDefinition,
    query: &Query,
) -> Result<CompiledQuery, Vec<Issue>> {
    let mut issues = Vec::new();
    if query.limit > MAX_LIMIT {
        issues.push(Issue::new(
            JsonPath::root().key("limit"),
            IssueCode::TooBig,
            format!("Expected at most {MAX_LIMIT}, received {}", query.limit),
        ));
    }
    // The parsers refuse longer lists at the list; a Query built by hand is refused at the first
    // key over the limit.
    if let Some(extra) = query.sort.get(MAX_SORT_KEYS) {
        issues.push(Issue::new(
            extra.at.clone(),
            IssueCode::TooBig,
            format!("At most {MAX_SORT_KEYS} sort keys may be given"),
        ));
    }
    if let Some((_, at)) = query.fields.as_ref().and_then(|f| f.get(MAX_SELECT_FIELDS)) {
        issues.push(Issue::new(
            at.clone(),
            IssueCode::TooBig,
            format!("At most {MAX_SELECT_FIELDS} fields may be given"),
        ));
    }
    let table = match quoted(IdentKind::Table, &object.table(), &JsonPath::root()) {
        Ok(table) => table,
        Err(issue) => return Err(vec![issue]),
    };

    let mut params = Vec::new();
    let where_sql = match &query.filter {
        None => None,
        Some(filter) => match compile_filter(dialect, object, filter, &mut params) {
            Ok(sql) => Some(sql),
            Err(found) => {
                issues.extend(found);
                None
            }
        },
    };

    if let Some(at) = &query.distinct {
        return compile_distinct(
            dialect, object, query, at, &table, where_sql, params, issues,
        );
    }
    if !query.group_by.is_empty() || !query.aggregations.is_empty() {
        return compile_grouped(dialect, object, query, &table, where_sql, params, issues);
    }

    let mut fields: Vec<String> = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    match &query.fields {
        None => {
            for (key, field) in &object.fields {
                if field.r#type == FieldType::Password {
                    continue;
                }
                match column_for(key, field) {
                    Ok(Some(spec)) => {
                        fields.push(key.clone());
                        columns.push(spec.name.quoted());
                    }
                    Ok(None) => {}
                    Err(e) => issues.push(Issue::new(
                        JsonPath::root(),
                        IssueCode::Custom,
                        e.to_string(),
                    )),
                }
            }
        }
        Some(selected) => {
            for (name, at) in selected {
                if SYSTEM_COLUMNS.contains(&name.as_str()) || fields.contains(name) {
                    continue;
                }
                match resolve(object, name, at, Purpose::Select) {
                    Ok(col) => {
                        fields.push(name.clone());
                        columns.push(col.sql);
                    }
                    Err(issue) => issues.push(issue),
                }
            }
        }
    }

    let mut order = Vec::new();
    let mut has_id = false;
    // The sort keys with their columns, for keyset paging.
    let mut keys: Vec<(String, Col, bool)> = Vec::new();
    for sort in &query.sort {
        match resolve(object, &sort.field, &sort.at, Purpose::Sort) {
            Ok(col) if matches!(col.kind, Kind::Json | Kind::JsonArray) => issues.push(Issue::new(
                sort.at.clone(),
                IssueCode::Custom,
                format!("{} holds JSON and cannot be sorted by", col.describe),
            )),
            Ok(col) => {
                let is_id = sort.field == "id";
                has_id |= is_id;
                order.push(sql::order_key(dialect, &col.sql, sort.descending, is_id));
                if !keys.iter().any(|(name, _, _)| *name == sort.field) {
                    keys.push((sort.field.clone(), col, sort.descending));
                }
            }
            Err(issue) => issues.push(issue),
        }
    }
    if !has_id {
        order.push(sql::id_tiebreak(dialect, where_sql.is_some()).to_owned());
        match resolve(object, "id", &JsonPath::root(), Purpose::Sort) {
            Ok(col) => keys.push(("id".to_owned(), col, false)),
            Err(issue) => issues.push(issue),
        }
    }

    // The count ignores the cursor: `total` counts every matching record.
    let count_where = where_sql.clone();
    let count_params = if query.with_total {
        params.clone()
    } else {
        Vec::new()
    };
    let where_sql = match &query.cursor {
        None => where_sql,
        Some((cursor, at)) => {
            if query.offset > 0 {
                issues.push(Issue::new(
                    at.clone(),
                    IssueCode::Custom,
                    "A cursor and an offset cannot be combined: the cursor says where the page starts",
                ));
            }
            let mut compiler = FilterCompiler {
                dialect,
                object,
                params: &mut params,
                issues: Vec::new(),
            };
            let after = compiler.after(&keys, cursor, at);
            issues.extend(compiler.issues);
            match (where_sql, after) {
                (Some(w), Some(a)) => Some(format!("({w}) AND ({a})")),
                (w, a) => w.or(a),
            }
        }
    };

    if !issues.is_empty() {
        return Err(dedupe(issues));
    }

    let mut select = vec![
        "\"id\"".to_owned(),
        "\"created_at\"".to_owned(),
        "\"updated_at\"".to_owned(),
    ];
    select.extend(columns);
    // The sort keys' columns, for the next page's cursor: selected ones where they are, the others
    // added after the fields (decode_row reads no further).
    let mut cursor_keys = Vec::new();
    for (name, col, _) in &keys {
        let at = match ["id", "created_at", "updated_at"]
            .iter()
            .position(|c| c == name)
        {
            Some(i) => i,
            None => match fields.iter().position(|f| f == name) {
                Some(i) => i + 3,
                None => {
                    select.push(col.sql.clone());
                    select.len() - 1
                }
            },
        };
        cursor_keys.push((name.clone(), at));
    }
    let where_clause = where_sql.map(|w| format!(" WHERE {w}")).unwrap_or_default();
    let count_where = count_where
        .map(|w| format!(" WHERE {w}"))
        .unwrap_or_default();
    let count_sql = query
        .with_total
        .then(|| format!("SELECT COUNT(*) FROM {table}{count_where}"));
    // Both fit in i64: limit ≤ MAX_LIMIT + 1 and offset ≤ MAX_OFFSET (checked by the parsers; a Query
    // built by hand is clamped rather than wrapped).
    let fetch = i64::try_from(query.limit.saturating_add(1)).unwrap_or(i64::MAX);
    let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
    params.push(SqlValue::Integer(fetch));
    let limit_mark = params.len();
    params.push(SqlValue::Integer(offset));
    let offset_mark = params.len();
    let sql = format!(
        "SELECT {} FROM {table}{where_clause} ORDER BY {} LIMIT ${limit_mark} OFFSET ${offset_mark}",
        select.join(", "),
        order.join(", ")
    );
    Ok(CompiledQuery {
        sql,
        params,
        count_sql,
        count_params,
        fields,
        output: None,
        cursor_keys,
    })
}

/// Compiles `distinct: true`: the distinct combinations of the selected fields, as a grouping by
/// them (records hold only those fields: the system columns would make every row distinct).
#[allow(clippy::too_many_arguments)] // the state of compile() handed on, as for compile_grouped
fn compile_distinct(
    dialect: Dialect,
    object: &ObjectDefinition,
    query: &Query,
    at: &JsonPath,
    table: &str,
    where_sql: Option<String>,
    params: Vec<SqlValue>,
    mut issues: Vec<Issue>,
) -> Result<CompiledQuery, Vec<Issue>> {
    if !query.group_by.is_empty() || !query.aggregations.is_empty() {
        issues.push(Issue::new(
            at.clone(),
            IssueCode::Custom,
            "distinct cannot be combined with groupBy or aggregations (groups are distinct already)",
        ));
        return Err(dedupe(issues));
    }
    let fields: Vec<(String, JsonPath)> = query
        .fields
        .iter()
        .flatten()
        .filter(|(name, _)| !SYSTEM_COLUMNS.contains(&name.as_str()))
        .cloned()
        .collect();
    if fields.is_empty() {
        issues.push(Issue::new(
            at.clone(),
            IssueCode::Custom,
            "distinct needs the fields to compare (fields/select, not only system columns): every record is distinct by its id",
        ));
        return Err(dedupe(issues));
    }
    let mut seen = std::collections::HashSet::new();
    let grouped = Query {
        fields: None,
        group_by: fields
            .into_iter()
            .filter(|(name, _)| seen.insert(name.clone()))
            .collect(),
        distinct: None,
        ..query.clone()
    };
    compile_grouped(dialect, object, &grouped, table, where_sql, params, issues)
}

/// The SQL of one aggregation.
struct AggSql {
    /// The selected expression.
    select: String,
    /// What to sort by when it is not the selected column itself (a PostgreSQL sum selected as
    /// text is sorted as the number).
    order: Option<String>,
    /// A sum of whole numbers ([`OutputColumn::integer_sum`]).
    integer_sum: bool,
}

impl AggSql {
    fn plain(select: String) -> Self {
        Self {
            select,
            order: None,
            integer_sum: false,
        }
    }
}

/// `2^32`: integer sums add the high and the low 32 bits of each value apart, so neither partial
/// sum can overflow (below 2^31 rows).
const HALF: &str = "4294967296";

/// The sum of an integer column that never overflows (issue #14: SQLite raised "integer
/// overflow", PostgreSQL "bigint out of range", both a 500).
///
/// - SQLite: `SUM(c >> 32)` and `SUM(c & 0xFFFFFFFF)` cannot overflow; they are recombined as
///   `(hi + lo / 2^32) * 2^32 + lo % 2^32`, exact whenever the total fits 64 bits. Beyond, SQLite
///   turns the integer overflow of that product into floating point: the nearest double.
/// - PostgreSQL: `SUM(bigint)` is an exact NUMERIC, read as text (sorted as the number).
///
/// `DISTINCT` cannot be split that way: a distinct sum beyond 64 bits fails on both databases
/// and is answered 422 `aggregate_overflow`.
fn integer_sum(dialect: Dialect, c: &str, distinct: bool) -> AggSql {
    match (dialect, distinct) {
        (Dialect::Sqlite, false) => {
            let lo = format!("SUM({c} & 4294967295)");
            AggSql {
                select: format!("(SUM({c} >> 32) + {lo} / {HALF}) * {HALF} + {lo} % {HALF}"),
                order: None,
                integer_sum: true,
            }
        }
        (Dialect::Sqlite, true) => AggSql::plain(format!("SUM(DISTINCT {c})")),
        (Dialect::Postgres, false) => AggSql {
            select: format!("CAST(SUM({c}) AS TEXT)"),
            order: Some(format!("SUM({c})")),
            integer_sum: true,
        },
        (Dialect::Postgres, true) => AggSql::plain(format!("CAST(SUM(DISTINCT {c}) AS BIGINT)")),
    }
}

/// The SQL of one aggregation of a resolved column, or why it does not apply to the column.
fn aggregate_sql(dialect: Dialect, aggregation: &Aggregation, col: &Col) -> Result<AggSql, String> {
    let c = col.sql.as_str();
    let distinct = if aggregation.distinct {
        "DISTINCT "
    } else {
        ""
    };
    let name = aggregation.function.as_str();
    let json = matches!(col.kind, Kind::Json | Kind::JsonArray);
    let refused = |needs: &str| {
        Err(format!(
            "'{name}' needs {needs}; {} is not one",
            col.describe
        ))
    };
    match aggregation.function {
        // JSON values compare as text on SQLite and as jsonb on PostgreSQL: no distinct counts.
        AggFunction::Count | AggFunction::CountDistinct
            if json
                && (aggregation.distinct || aggregation.function == AggFunction::CountDistinct) =>
        {
            refused("a field that does not hold JSON")
        }
        AggFunction::Count => Ok(AggSql::plain(format!("COUNT({distinct}{c})"))),
        AggFunction::CountDistinct => Ok(AggSql::plain(format!("COUNT(DISTINCT {c})"))),
        AggFunction::Sum | AggFunction::Avg => {
            let function = if aggregation.function == AggFunction::Sum {
                "SUM"
            } else {
                "AVG"
            };
            let expr = format!("{function}({distinct}{c})");
            match (col.kind, dialect, aggregation.function) {
                (Kind::Integer, _, AggFunction::Sum) => {
                    Ok(integer_sum(dialect, c, aggregation.distinct))
                }
                (Kind::Integer | Kind::Real, Dialect::Sqlite, _) => Ok(AggSql::plain(expr)),
                (Kind::Real, Dialect::Postgres, AggFunction::Sum) => Ok(AggSql::plain(expr)),
                // PostgreSQL averages anything as NUMERIC: cast back, so both databases answer
                // a double average.
                (Kind::Integer | Kind::Real, Dialect::Postgres, _) => {
                    Ok(AggSql::plain(format!("CAST({expr} AS DOUBLE PRECISION)")))
                }
                _ => refused("a number field"),
            }
        }
        AggFunction::Min | AggFunction::Max => match col.kind {
            Kind::Text(_) | Kind::Integer | Kind::Real => Ok(AggSql::plain(format!(
                "{}({c})",
                if aggregation.function == AggFunction::Min {
                    "MIN"
                } else {
                    "MAX"
                }
            ))),
            _ => refused("a number, text, date or time field"),
        },
    }
}

/// Compiles a query with `groupBy`/`aggregations`: one row per group (one row in all without
/// `groupBy`) holding the group keys, then one value per aggregation. Rows are ordered by the sort
/// keys (group keys or aliases), then by every group key, so pages are stable; NULL keys sort as
/// in record queries. `total` counts the groups.
fn compile_grouped(
    dialect: Dialect,
    object: &ObjectDefinition,
    query: &Query,
    table: &str,
    where_sql: Option<String>,
    mut params: Vec<SqlValue>,
    mut issues: Vec<Issue>,
) -> Result<CompiledQuery, Vec<Issue>> {
    if let Some((_, at)) = &query.cursor {
        issues.push(Issue::new(
            at.clone(),
            IssueCode::Custom,
            "A cursor pages records: it cannot be combined with groupBy, aggregations or distinct (use limit and offset)",
        ));
    }
    if let Some((_, at)) = query.fields.as_ref().and_then(|f| f.first()) {
        issues.push(Issue::new(
            at.clone(),
            IssueCode::Custom,
            "Fields cannot be selected together with groupBy or aggregations: each record holds the groupBy keys and the aggregation aliases",
        ));
    }
    let mut select: Vec<String> = Vec::new();
    let mut group_cols: Vec<String> = Vec::new();
    let mut output: Vec<OutputColumn> = Vec::new();
    // Per output column, what to sort it by when not its position.
    let mut order_by: Vec<Option<String>> = Vec::new();
    for (name, at) in &query.group_by {
        if output.iter().any(|o| &o.name == name) {
            issues.push(Issue::new(
                at.clone(),
                IssueCode::Custom,
                format!("'{}' is given twice in groupBy", show(name)),
            ));
            continue;
        }
        match resolve(object, name, at, Purpose::Group) {
            Ok(col) if matches!(col.kind, Kind::Json | Kind::JsonArray) => issues.push(Issue::new(
                at.clone(),
                IssueCode::Custom,
                format!("{} holds JSON and cannot be grouped by", col.describe),
            )),
            Ok(col) => {
                select.push(col.sql.clone());
                group_cols.push(col.sql);
                output.push(OutputColumn {
                    name: name.clone(),
                    field: Some(name.clone()),
                    integer_sum: false,
                });
                order_by.push(None);
            }
            Err(issue) => issues.push(issue),
        }
    }
    for aggregation in &query.aggregations {
        if query
            .group_by
            .iter()
            .any(|(key, _)| *key == aggregation.alias)
        {
            issues.push(Issue::new(
                aggregation.alias_at.clone(),
                IssueCode::Custom,
                format!(
                    "The alias '{}' is also a groupBy key; records would hold both under one key",
                    aggregation.alias
                ),
            ));
            continue;
        }
        let expr = match &aggregation.field {
            None => AggSql::plain("COUNT(*)".to_owned()),
            Some((name, at)) => match resolve(object, name, at, Purpose::Aggregate) {
                Ok(col) => match aggregate_sql(dialect, aggregation, &col) {
                    Ok(expr) => expr,
                    Err(message) => {
                        issues.push(Issue::new(at.clone(), IssueCode::Custom, message));
                        continue;
                    }
                },
                Err(issue) => {
                    issues.push(issue);
                    continue;
                }
            },
        };
        select.push(expr.select);
        order_by.push(expr.order);
        let decoded_as_field = matches!(aggregation.function, AggFunction::Min | AggFunction::Max);
        output.push(OutputColumn {
            name: aggregation.alias.clone(),
            field: aggregation
                .field
                .as_ref()
                .filter(|_| decoded_as_field)
                .map(|(name, _)| name.clone()),
            integer_sum: expr.integer_sum,
        });
    }

    // Columns are ordered by position: the group keys come first, in `group_cols` order.
    let mut order = Vec::new();
    let mut ordered = std::collections::HashSet::new();
    for sort in &query.sort {
        match output.iter().position(|o| o.name == sort.field) {
            Some(i) => {
                if ordered.insert(i) {
                    let key = order_by[i].clone().unwrap_or_else(|| (i + 1).to_string());
                    order.push(sql::order_key(dialect, &key, sort.descending, false));
                }
            }
            None => issues.push(Issue::new(
                sort.at.clone(),
                IssueCode::Custom,
                format!(
                    "With groupBy or aggregations, sort by a groupBy key or an aggregation alias; '{}' is neither",
                    show(&sort.field)
                ),
            )),
        }
    }
    for i in 0..group_cols.len() {
        if ordered.insert(i) {
            order.push(sql::order_key(dialect, &(i + 1).to_string(), false, false));
        }
    }
    if !issues.is_empty() {
        return Err(dedupe(issues));
    }

    let where_clause = where_sql.map(|w| format!(" WHERE {w}")).unwrap_or_default();
    let group_clause = if group_cols.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {}", group_cols.join(", "))
    };
    let order_clause = if order.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {}", order.join(", "))
    };
    let grouped = if group_cols.is_empty() {
        "COUNT(*)".to_owned()
    } else {
        group_cols.join(", ")
    };
    let count_sql = query.with_total.then(|| {
        format!(
            "SELECT COUNT(*) FROM (SELECT {grouped} FROM {table}{where_clause}{group_clause}) AS g"
        )
    });
    let count_params = if query.with_total {
        params.clone()
    } else {
        Vec::new()
    };
    let fetch = i64::try_from(query.limit.saturating_add(1)).unwrap_or(i64::MAX);
    let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
    params.push(SqlValue::Integer(fetch));
    let limit_mark = params.len();
    params.push(SqlValue::Integer(offset));
    let offset_mark = params.len();
    let sql = format!(
        "SELECT {} FROM {table}{where_clause}{group_clause}{order_clause} LIMIT ${limit_mark} OFFSET ${offset_mark}",
        select.join(", ")
    );
    Ok(CompiledQuery {
        sql,
        params,
        count_sql,
        count_params,
        fields: Vec::new(),
        output: Some(output),
        cursor_keys: Vec::new(),
    })
}
