//! List queries: ObjectStack list/query requests parsed into a typed [`Query`], compiled to SQLite SQL
//! with bound parameters for one object of a tenant's deployed model.
//!
//! Inputs:
//! - `GET /api/v1/data/{object}?…` through [`from_params`]: `top`/`limit`, `skip`/`offset`,
//!   `sort`/`orderBy`, `select`, `filter`/`filters` (JSON), `count`, and `field=value` equalities;
//! - `POST /api/v1/data/{object}/query` through [`from_ast`]: a QueryAST object (`where`, `fields`,
//!   `orderBy`, `limit`, `offset`, `count`);
//! - filters in both ObjectStack forms ([`parse_filter`]): the array AST (`[field, op, value]`,
//!   `["and"|"or", …]`, `["not", node]`, legacy `[[cond], [cond]]`) and the `$`-object form.
//!
//! Nothing is silently ignored: unsupported parameters (`search`, `expand`, `distinct`, `aggregations`,
//! `groupBy`) and unknown keys, operators or fields are issues with the path of what was written.
//! Compile-time issues of a condition (unknown field, password field, a value that does not fit the
//! column, an operator that does not apply) are reported at the condition's `at` ([`Filter::Cmp`]): the
//! condition array (`filter[0]`) in the array form, the operator key (`filter.status.$gt`) or the field
//! key (`filter.status`) in the object form, the parameter name (`status`) for `status=open`.
//!
//! Semantic choices:
//! - **Case sensitivity.** `=`, ranges, `contains`, `startswith`, `endswith` and sorting compare text
//!   byte-for-byte (SQLite's BINARY collation, i.e. case-sensitive and Unicode-correct). This keeps
//!   every text operator consistent and lets `startswith` use an index: it compiles to the prefix range
//!   `"col" >= ? AND "col" < ?` (the upper bound is the prefix with its last character incremented).
//!   `contains`/`endswith` compile to `GLOB` with the wildcards of the value escaped. `like` is the
//!   escape hatch for case-insensitive matching: SQLite `LIKE` with the user's pattern bound as given
//!   (`%`, `_`, escape character `\`), which folds ASCII letters only. (ObjectStack's Knex driver
//!   compiles `contains` to `LIKE`, so it is ASCII case-insensitive on SQLite and case-sensitive on
//!   PostgreSQL; objectos picks one behaviour for every text operator instead.) NULLs sort first in
//!   ascending order and last in descending order, as SQLite does.
//! - **Dates.** Values for `datetime` fields (and `created_at`/`updated_at`) are normalised with
//!   [`normalise_datetime`] when they parse as RFC 3339, so `2026-01-02T03:04:05Z` equals the stored
//!   `2026-01-02T03:04:05.000Z`; other strings (a bare `2026-01-02` bound of a range) are compared as
//!   text, which orders correctly because the stored form is fixed-width ISO-8601 UTC. `time` values are
//!   normalised with [`normalise_time`]; `date` values are stored as given (`YYYY-MM-DD`).
//! - **NULL.** `= null` is `IS NULL`, `!= null` is `IS NOT NULL`; `!=` and `nin` are NULL-safe (a row
//!   whose value is NULL is "not equal" and "not in"), and so is `not` (`NOT COALESCE(…, 0)`).
//! - **JSON arrays** (multiselect, checkboxes, tags, `multiple` select/lookup/file…): `=`/`contains` of a
//!   scalar mean "has this element", `in` "has any of these", `!=`/`nin` their negations; ranges and text
//!   operators are refused. Other JSON columns (json, location, address) accept only `is_null`/
//!   `is_not_null`.
//! - **Values** are always bound parameters (`?N`, numbered, so a caller may append its own). Booleans
//!   bind as `0`/`1`; numeric columns accept numbers or numeric strings (GET parameters are strings).
//! - **Paging.** The main query fetches `limit + 1` rows so the caller can tell `hasMore`; `id` is always
//!   the last sort key, so pages are stable. `limit` above [`MAX_LIMIT`] is refused, not clamped.
//! - **Indexes.** Equality, ranges, `in`, `between`, `is_null` and `startswith` on a plain column compile
//!   to bare comparisons of the column (no function or CAST around it), so an index on it applies.
//!   When there is a filter, the `id` tie-breaker is written `+"id"`: otherwise, lacking ANALYZE
//!   statistics, SQLite often prefers walking the primary-key index in id order and testing every row
//!   against a range filter, hoping to fill the page early. Sorting by an indexed column walks its index
//!   (the `id` tie-breaker is then sorted among equal values only).

use std::collections::HashSet;

use objectos_schema::{column_for, Ident, IdentKind, JsonShape, SqlType, Storage};
use objectos_spec::model::{normalise_datetime, normalise_time, SYSTEM_COLUMNS};
use objectos_spec::types::field::FieldType;
use objectos_spec::{json_type_name, Issue, IssueCode, JsonPath, ObjectDefinition};
use objectos_sql::{Dialect, SqlValue};
use serde_json::{Map, Value};

/// Rows returned when the request names no limit.
pub const DEFAULT_LIMIT: u64 = 20;
/// The largest `top`/`limit` accepted; a larger one is a 400 issue, not clamped.
pub const MAX_LIMIT: u64 = 1000;
/// The deepest nesting of logical groups (`and`/`or`/`not`) in a filter.
pub const MAX_DEPTH: usize = 16;
/// The most conditions one query may hold.
pub const MAX_CONDITIONS: usize = 200;
/// The most items of one `in`/`nin` list.
pub const MAX_IN_ITEMS: usize = 1000;
/// The longest string value accepted in a condition, in characters.
pub const MAX_VALUE_CHARS: usize = 10_000;
/// The largest `skip`/`offset` accepted (it is bound as a signed 64-bit integer).
pub const MAX_OFFSET: u64 = i64::MAX as u64 - 1;

/// Input echoed in messages is cut to this many characters.
const ECHO_MAX: usize = 64;

/// Query-string parameters that ObjectStack defines but objectos does not serve yet.
const UNSUPPORTED_PARAMS: &[&str] = &["search", "expand", "distinct", "aggregations", "groupBy"];

/// QueryAST keys that ObjectStack defines but objectos does not serve yet.
const UNSUPPORTED_AST_KEYS: &[&str] = &[
    "search",
    "expand",
    "distinct",
    "aggregations",
    "groupBy",
    "having",
    "joins",
    "windowFunctions",
    "cursor",
];

/// The operator names of the array AST, as listed in issue messages.
const AST_OPERATORS: &str = "=, ==, !=, <>, >, >=, <, <=, in, nin, not_in, contains, like, startswith, starts_with, endswith, ends_with, between, is_null, is_not_null";

/// The operators of the object form, as listed in issue messages.
const DOLLAR_OPERATORS: &str = "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $between, $contains, $startsWith, $endsWith, $like, $null, $exists";

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Equal (`=`, `$eq`); with `null`, `IS NULL`.
    Eq,
    /// Not equal, NULL-safe (`!=`, `$ne`); with `null`, `IS NOT NULL`.
    Ne,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// One of a list.
    In,
    /// None of a list, NULL-safe.
    Nin,
    /// Text contains (case-sensitive); a JSON array has the element.
    Contains,
    /// Text starts with (case-sensitive, uses an index).
    StartsWith,
    /// Text ends with (case-sensitive).
    EndsWith,
    /// Inclusive range `[low, high]`.
    Between,
    /// Has no value.
    IsNull,
    /// Has a value.
    IsNotNull,
    /// SQL `LIKE` pattern (`%`, `_`, escape `\`; ASCII case-insensitive).
    Like,
}

impl Op {
    /// The canonical array-AST spelling, used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Gt => ">",
            Self::Gte => ">=",
            Self::Lt => "<",
            Self::Lte => "<=",
            Self::In => "in",
            Self::Nin => "nin",
            Self::Contains => "contains",
            Self::StartsWith => "startswith",
            Self::EndsWith => "endswith",
            Self::Between => "between",
            Self::IsNull => "is_null",
            Self::IsNotNull => "is_not_null",
            Self::Like => "like",
        }
    }

    /// The operator of an array-AST name (case-insensitive), if it is one.
    pub fn from_ast_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "=" | "==" => Self::Eq,
            "!=" | "<>" => Self::Ne,
            ">" => Self::Gt,
            ">=" => Self::Gte,
            "<" => Self::Lt,
            "<=" => Self::Lte,
            "in" => Self::In,
            "nin" | "not_in" => Self::Nin,
            "contains" => Self::Contains,
            "like" => Self::Like,
            "startswith" | "starts_with" => Self::StartsWith,
            "endswith" | "ends_with" => Self::EndsWith,
            "between" => Self::Between,
            "is_null" => Self::IsNull,
            "is_not_null" => Self::IsNotNull,
            _ => return None,
        })
    }

    /// The operator of an object-form key such as `$gte` (case-insensitive); `$null`/`$exists` are
    /// handled by the parser since their meaning depends on the value.
    fn from_dollar(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "$eq" => Self::Eq,
            "$ne" => Self::Ne,
            "$gt" => Self::Gt,
            "$gte" => Self::Gte,
            "$lt" => Self::Lt,
            "$lte" => Self::Lte,
            "$in" => Self::In,
            "$nin" => Self::Nin,
            "$between" => Self::Between,
            "$contains" => Self::Contains,
            "$startswith" => Self::StartsWith,
            "$endswith" => Self::EndsWith,
            "$like" => Self::Like,
            _ => return None,
        })
    }
}

/// A filter tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every child holds (an empty list holds).
    And(Vec<Filter>),
    /// Some child holds (an empty list never holds).
    Or(Vec<Filter>),
    /// The child does not hold (a NULL comparison counts as not holding).
    Not(Box<Filter>),
    /// One comparison.
    Cmp {
        /// The field key or system column.
        field: String,
        /// The operator.
        op: Op,
        /// The operand: a scalar, an array for `in`/`nin`/`between`, `null` for `is_null`/`is_not_null`.
        value: Value,
        /// Where the condition was written; compile-time issues of the condition are reported here.
        at: JsonPath,
    },
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// The field key or system column.
    pub field: String,
    /// Descending order.
    pub descending: bool,
    /// Where the key was written.
    pub at: JsonPath,
}

/// A parsed list query, independent of the object it runs against.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The filter, if any.
    pub filter: Option<Filter>,
    /// Sort keys, most significant first (`id` is appended when compiled).
    pub sort: Vec<Sort>,
    /// The selected fields with where each was written; `None` selects every readable field.
    pub fields: Option<Vec<(String, JsonPath)>>,
    /// Rows per page (0..=[`MAX_LIMIT`]).
    pub limit: u64,
    /// Rows skipped.
    pub offset: u64,
    /// Whether the total count is wanted.
    pub with_total: bool,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            filter: None,
            sort: Vec::new(),
            fields: None,
            limit: DEFAULT_LIMIT,
            offset: 0,
            with_total: true,
        }
    }
}

/// Input cut to [`ECHO_MAX`] characters for a message.
fn show(s: &str) -> String {
    if s.chars().count() > ECHO_MAX {
        let cut: String = s.chars().take(ECHO_MAX).collect();
        format!("{cut}…")
    } else {
        s.to_owned()
    }
}

/// Unrecognized keys for a message: the first five, then how many more.
fn key_list(keys: &[String]) -> String {
    let mut out = keys.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if keys.len() > 5 {
        out.push_str(&format!(" and {} more", keys.len() - 5));
    }
    out
}

/// A JSON value cut for a message.
fn show_value(v: &Value) -> String {
    show(&v.to_string())
}

/// The filter state shared by one parse: counts conditions, collects issues.
struct Parser {
    conditions: usize,
    too_many_reported: bool,
    issues: Vec<Issue>,
}

impl Parser {
    fn new(conditions: usize) -> Self {
        Self {
            conditions,
            too_many_reported: false,
            issues: Vec::new(),
        }
    }

    fn issue(&mut self, at: JsonPath, code: IssueCode, message: impl Into<String>) {
        self.issues.push(Issue::new(at, code, message));
    }

    fn node(&mut self, value: &Value, at: &JsonPath, depth: usize) -> Option<Filter> {
        if depth > MAX_DEPTH {
            self.issue(
                at.clone(),
                IssueCode::TooBig,
                format!("Filter nesting is deeper than {MAX_DEPTH} levels"),
            );
            return None;
        }
        match value {
            Value::Array(items) => self.array(items, at, depth),
            Value::Object(map) => self.object(map, at, depth),
            other => {
                self.issue(
                    at.clone(),
                    IssueCode::InvalidType,
                    format!(
                        "Expected a filter: an array ([field, operator, value] or [\"and\", …]) or an object ({{field: value}}), received {}",
                        json_type_name(other)
                    ),
                );
                None
            }
        }
    }

    fn children(
        &mut self,
        items: &[Value],
        at: &JsonPath,
        first_index: usize,
        depth: usize,
    ) -> Vec<Filter> {
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.node(item, &at.index(i + first_index), depth + 1))
            .collect()
    }

    fn array(&mut self, items: &[Value], at: &JsonPath, depth: usize) -> Option<Filter> {
        let Some(head) = items.first() else {
            return Some(Filter::And(Vec::new()));
        };
        let rest_are_nodes = items[1..]
            .iter()
            .all(|v| matches!(v, Value::Array(_) | Value::Object(_)));
        match head {
            Value::String(word)
                if rest_are_nodes
                    && (items.len() > 1
                        || matches!(word.to_ascii_lowercase().as_str(), "and" | "or" | "not")) =>
            {
                match word.to_ascii_lowercase().as_str() {
                    "and" => Some(Filter::And(self.children(&items[1..], at, 1, depth))),
                    "or" => Some(Filter::Or(self.children(&items[1..], at, 1, depth))),
                    "not" if items.len() == 2 => self
                        .node(&items[1], &at.index(1), depth + 1)
                        .map(|f| Filter::Not(Box::new(f))),
                    "not" => {
                        self.issue(
                            at.clone(),
                            IssueCode::Custom,
                            "\"not\" takes exactly one condition: [\"not\", node]",
                        );
                        None
                    }
                    _ => {
                        self.issue(
                            at.index(0),
                            IssueCode::InvalidEnumValue,
                            format!(
                                "Unknown logical operator '{}'; expected \"and\", \"or\" or \"not\"",
                                show(word)
                            ),
                        );
                        None
                    }
                }
            }
            Value::String(_) => self.condition(items, at),
            Value::Array(_) | Value::Object(_) => self.legacy(items, at, depth),
            other => {
                self.issue(
                    at.index(0),
                    IssueCode::InvalidType,
                    format!(
                        "Expected a field name, \"and\", \"or\" or \"not\", received {}",
                        json_type_name(other)
                    ),
                );
                None
            }
        }
    }

    /// `[[cond], [cond]]` (implicit and), also with `"and"`/`"or"` connectors between the conditions.
    fn legacy(&mut self, items: &[Value], at: &JsonPath, depth: usize) -> Option<Filter> {
        let mut nodes = Vec::new();
        let mut connector: Option<String> = None;
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(word)
                    if i % 2 == 1 && matches!(word.to_ascii_lowercase().as_str(), "and" | "or") =>
                {
                    let word = word.to_ascii_lowercase();
                    match &connector {
                        Some(previous) if *previous != word => {
                            self.issue(
                                at.index(i),
                                IssueCode::Custom,
                                "Mixing \"and\" and \"or\" in one list is ambiguous; group the conditions: [\"or\", [\"and\", …], …]",
                            );
                            return None;
                        }
                        _ => connector = Some(word),
                    }
                }
                Value::Array(_) | Value::Object(_) => {
                    if let Some(node) = self.node(item, &at.index(i), depth + 1) {
                        nodes.push(node);
                    }
                }
                other => {
                    self.issue(
                        at.index(i),
                        IssueCode::InvalidType,
                        format!(
                            "Expected a condition array in a list of conditions, received {}",
                            show_value(other)
                        ),
                    );
                }
            }
        }
        Some(match connector.as_deref() {
            Some("or") => Filter::Or(nodes),
            _ => Filter::And(nodes),
        })
    }

    /// `[field, op, value]` or `[field, "is_null"]`.
    fn condition(&mut self, items: &[Value], at: &JsonPath) -> Option<Filter> {
        let field = items.first().and_then(Value::as_str).unwrap_or_default();
        let Some(op_value) = items.get(1) else {
            self.issue(
                at.clone(),
                IssueCode::TooSmall,
                "A condition is [field, operator, value]; the operator is missing",
            );
            return None;
        };
        let Some(op_name) = op_value.as_str() else {
            self.issue(
                at.index(1),
                IssueCode::InvalidType,
                format!(
                    "Expected an operator string ({AST_OPERATORS}), received {}",
                    json_type_name(op_value)
                ),
            );
            return None;
        };
        let Some(op) = Op::from_ast_name(op_name) else {
            self.issue(
                at.index(1),
                IssueCode::InvalidEnumValue,
                format!(
                    "Unknown operator '{}'; expected one of {AST_OPERATORS}",
                    show(op_name)
                ),
            );
            return None;
        };
        if items.len() > 3 {
            self.issue(
                at.clone(),
                IssueCode::TooBig,
                format!(
                    "A condition is [field, operator, value]; received {} elements",
                    items.len()
                ),
            );
            return None;
        }
        let null_op = matches!(op, Op::IsNull | Op::IsNotNull);
        if items.len() == 2 && !null_op {
            self.issue(
                at.clone(),
                IssueCode::TooSmall,
                format!(
                    "Operator '{}' needs a value: [field, operator, value]",
                    op.as_str()
                ),
            );
            return None;
        }
        let value = items.get(2).unwrap_or(&Value::Null);
        self.operand(field, &at.index(0), op, value, &at.index(2), at)
    }

    /// Checks a condition's field name and operand, and builds it.
    fn operand(
        &mut self,
        field: &str,
        field_at: &JsonPath,
        op: Op,
        value: &Value,
        value_at: &JsonPath,
        at: &JsonPath,
    ) -> Option<Filter> {
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            if !self.too_many_reported {
                self.too_many_reported = true;
                self.issue(
                    at.clone(),
                    IssueCode::TooBig,
                    format!("A query may hold at most {MAX_CONDITIONS} conditions"),
                );
            }
            return None;
        }
        if field.is_empty() {
            self.issue(
                field_at.clone(),
                IssueCode::InvalidType,
                "Expected a field name (a non-empty string)",
            );
            return None;
        }
        let cmp = |op: Op, value: Value| Filter::Cmp {
            field: field.to_owned(),
            op,
            value,
            at: at.clone(),
        };
        match op {
            Op::IsNull | Op::IsNotNull => match value {
                Value::Null | Value::Bool(true) => Some(cmp(op, Value::Null)),
                Value::Bool(false) => Some(cmp(
                    if op == Op::IsNull {
                        Op::IsNotNull
                    } else {
                        Op::IsNull
                    },
                    Value::Null,
                )),
                other => {
                    self.issue(
                        value_at.clone(),
                        IssueCode::InvalidType,
                        format!(
                            "'{}' takes no value (or true), received {}",
                            op.as_str(),
                            show_value(other)
                        ),
                    );
                    None
                }
            },
            Op::Eq | Op::Ne if value.is_null() => Some(cmp(
                if op == Op::Eq {
                    Op::IsNull
                } else {
                    Op::IsNotNull
                },
                Value::Null,
            )),
            Op::In | Op::Nin | Op::Between => {
                let Value::Array(list) = value else {
                    self.issue(
                        value_at.clone(),
                        IssueCode::InvalidType,
                        format!(
                            "'{}' needs an array{}, received {}",
                            op.as_str(),
                            if op == Op::Between {
                                " [low, high]"
                            } else {
                                ""
                            },
                            json_type_name(value)
                        ),
                    );
                    return None;
                };
                if op == Op::Between && list.len() != 2 {
                    self.issue(
                        value_at.clone(),
                        if list.len() < 2 {
                            IssueCode::TooSmall
                        } else {
                            IssueCode::TooBig
                        },
                        format!(
                            "'between' needs exactly 2 values [low, high], received {}",
                            list.len()
                        ),
                    );
                    return None;
                }
                if list.len() > MAX_IN_ITEMS {
                    self.issue(
                        value_at.clone(),
                        IssueCode::TooBig,
                        format!(
                            "'{}' takes at most {MAX_IN_ITEMS} values, received {}",
                            op.as_str(),
                            list.len()
                        ),
                    );
                    return None;
                }
                let before = self.issues.len();
                for (i, item) in list.iter().enumerate() {
                    self.scalar(item, &value_at.index(i), op, false);
                }
                (self.issues.len() == before).then(|| cmp(op, value.clone()))
            }
            Op::Contains | Op::StartsWith | Op::EndsWith | Op::Like => {
                // `contains` of a number is meaningful for JSON arrays of numbers (vectors).
                let strings_only = op != Op::Contains;
                if strings_only && !value.is_string() {
                    self.issue(
                        value_at.clone(),
                        IssueCode::InvalidType,
                        format!(
                            "'{}' needs a string, received {}",
                            op.as_str(),
                            json_type_name(value)
                        ),
                    );
                    return None;
                }
                self.scalar(value, value_at, op, false)
                    .then(|| cmp(op, value.clone()))
            }
            Op::Eq | Op::Ne | Op::Gt | Op::Gte | Op::Lt | Op::Lte => self
                .scalar(value, value_at, op, false)
                .then(|| cmp(op, value.clone())),
        }
    }

    /// Checks one operand value is a non-null scalar of acceptable size; true when it is.
    fn scalar(&mut self, value: &Value, at: &JsonPath, op: Op, null_ok: bool) -> bool {
        match value {
            Value::Null if null_ok => true,
            Value::String(s) if s.chars().count() > MAX_VALUE_CHARS => {
                self.issue(
                    at.clone(),
                    IssueCode::TooBig,
                    format!(
                        "A filter value may be at most {MAX_VALUE_CHARS} characters, received {}",
                        s.chars().count()
                    ),
                );
                false
            }
            Value::String(_) | Value::Number(_) | Value::Bool(_) => true,
            other => {
                self.issue(
                    at.clone(),
                    IssueCode::InvalidType,
                    format!(
                        "'{}' needs a string, number or boolean here, received {}",
                        op.as_str(),
                        json_type_name(other)
                    ),
                );
                false
            }
        }
    }

    fn object(&mut self, map: &Map<String, Value>, at: &JsonPath, depth: usize) -> Option<Filter> {
        let mut parts = Vec::new();
        for (key, value) in map {
            let key_at = at.key(key);
            match key.to_ascii_lowercase().as_str() {
                "$and" | "$or" => {
                    let Value::Array(items) = value else {
                        self.issue(
                            key_at,
                            IssueCode::InvalidType,
                            format!(
                                "'{key}' needs an array of filters, received {}",
                                json_type_name(value)
                            ),
                        );
                        continue;
                    };
                    let children = self.children(items, &key_at, 0, depth);
                    parts.push(if key.eq_ignore_ascii_case("$and") {
                        Filter::And(children)
                    } else {
                        Filter::Or(children)
                    });
                }
                "$not" => {
                    if let Some(child) = self.node(value, &key_at, depth + 1) {
                        parts.push(Filter::Not(Box::new(child)));
                    }
                }
                k if k.starts_with('$') => self.issue(
                    key_at,
                    IssueCode::InvalidEnumValue,
                    format!(
                        "Unknown logical operator '{}'; expected $and, $or, $not or a field name",
                        show(key)
                    ),
                ),
                _ => self.field_ops(key, value, &key_at, &mut parts),
            }
        }
        if parts.len() == 1 {
            parts.pop()
        } else {
            Some(Filter::And(parts))
        }
    }

    /// `{field: value}` or `{field: {$op: value, …}}`.
    fn field_ops(&mut self, field: &str, value: &Value, at: &JsonPath, parts: &mut Vec<Filter>) {
        match value {
            Value::Object(ops) if !ops.is_empty() && ops.keys().all(|k| k.starts_with('$')) => {
                for (name, operand) in ops {
                    let op_at = at.key(name);
                    let lower = name.to_ascii_lowercase();
                    let built = match lower.as_str() {
                        "$null" | "$exists" => match operand {
                            Value::Bool(b) => {
                                // `$null: true` and `$exists: false` both mean "has no value".
                                let is_null = *b == (lower == "$null");
                                let op = if is_null { Op::IsNull } else { Op::IsNotNull };
                                self.operand(field, at, op, &Value::Null, &op_at, &op_at)
                            }
                            other => {
                                self.issue(
                                    op_at,
                                    IssueCode::InvalidType,
                                    format!(
                                        "'{name}' needs true or false, received {}",
                                        json_type_name(other)
                                    ),
                                );
                                None
                            }
                        },
                        _ => match Op::from_dollar(name) {
                            Some(op) => self.operand(field, at, op, operand, &op_at, &op_at),
                            None => {
                                self.issue(
                                    op_at,
                                    IssueCode::InvalidEnumValue,
                                    format!(
                                        "Unknown operator '{}'; expected one of {DOLLAR_OPERATORS}",
                                        show(name)
                                    ),
                                );
                                None
                            }
                        },
                    };
                    parts.extend(built);
                }
            }
            Value::Object(_) => self.issue(
                at.clone(),
                IssueCode::InvalidType,
                format!("Expected a value or an object of operators ({DOLLAR_OPERATORS}) for '{}', received an object without operators", show(field)),
            ),
            Value::Array(_) => self.issue(
                at.clone(),
                IssueCode::InvalidType,
                format!(
                    "Expected a value for '{}', received an array; use {{\"$in\": [...]}} to match any of several values",
                    show(field)
                ),
            ),
            scalar => {
                let built = self.operand(field, at, Op::Eq, scalar, at, at);
                parts.extend(built);
            }
        }
    }
}

/// Parses a filter in either ObjectStack form; issue paths extend `at`.
pub fn parse_filter(value: &Value, at: &JsonPath) -> Result<Filter, Vec<Issue>> {
    let mut parser = Parser::new(0);
    let filter = parser.node(value, at, 1);
    match filter {
        Some(filter) if parser.issues.is_empty() => Ok(filter),
        _ => Err(parser.issues),
    }
}

/// The number of comparisons in a filter.
fn condition_count(filter: &Filter) -> usize {
    match filter {
        Filter::And(children) | Filter::Or(children) => children.iter().map(condition_count).sum(),
        Filter::Not(child) => condition_count(child),
        Filter::Cmp { .. } => 1,
    }
}

/// Several filters joined by and; `None` when there are none.
fn all_of(mut parts: Vec<Filter>) -> Option<Filter> {
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(Filter::And(parts)),
    }
}

/// A `top`/`skip` value given as text.
fn parse_count_text(text: &str, at: &JsonPath, max: u64) -> Result<u64, Issue> {
    let is_negative_integer = text
        .strip_prefix('-')
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    if is_negative_integer {
        return Err(Issue::new(
            at.clone(),
            IssueCode::TooSmall,
            format!("Expected a non-negative integer, received {}", show(text)),
        ));
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Issue::new(
            at.clone(),
            IssueCode::InvalidType,
            format!("Expected a non-negative integer, received '{}'", show(text)),
        ));
    }
    match text.parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(Issue::new(
            at.clone(),
            IssueCode::TooBig,
            format!("Expected at most {max}, received {}", show(text)),
        )),
    }
}

/// A `limit`/`offset` value given as JSON.
fn parse_count_json(value: &Value, at: &JsonPath, max: u64) -> Result<u64, Issue> {
    let whole = value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9.0e15)
            // Whole, non-negative and in range, so the conversion is exact.
            .map(|f| f as u64)
    });
    match whole {
        Some(n) if n <= max => Ok(n),
        Some(_) => Err(Issue::new(
            at.clone(),
            IssueCode::TooBig,
            format!("Expected at most {max}, received {}", show_value(value)),
        )),
        None if value.as_f64().is_some_and(|f| f.fract() == 0.0 && f > 0.0) => Err(Issue::new(
            at.clone(),
            IssueCode::TooBig,
            format!("Expected at most {max}, received {}", show_value(value)),
        )),
        None if value.as_f64().is_some_and(|f| f < 0.0) => Err(Issue::new(
            at.clone(),
            IssueCode::TooSmall,
            format!(
                "Expected a non-negative integer, received {}",
                show_value(value)
            ),
        )),
        None => Err(Issue::new(
            at.clone(),
            IssueCode::InvalidType,
            format!(
                "Expected a non-negative integer, received {}",
                show_value(value)
            ),
        )),
    }
}

/// One text sort key: `name`, `-name`, `+name`, `name desc`, `name asc`.
fn parse_sort_item(text: &str, at: &JsonPath) -> Result<Sort, Issue> {
    let item = text.trim();
    let invalid = || {
        Issue::new(
            at.clone(),
            IssueCode::InvalidString,
            format!(
                "Expected a sort key like 'name', '-name' or 'name desc', received '{}'",
                show(item)
            ),
        )
    };
    let (field, descending) = if let Some(rest) = item.strip_prefix('-') {
        (rest.trim(), true)
    } else if let Some(rest) = item.strip_prefix('+') {
        (rest.trim(), false)
    } else {
        let mut words = item.split_whitespace();
        let field = words.next().unwrap_or_default();
        let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(invalid()),
        };
        if words.next().is_some() {
            return Err(invalid());
        }
        (field, descending)
    };
    if field.is_empty() || field.contains(char::is_whitespace) {
        return Err(invalid());
    }
    Ok(Sort {
        field: field.to_owned(),
        descending,
        at: at.clone(),
    })
}

/// A comma list of sort keys.
fn parse_sort_list(text: &str, at: &JsonPath, issues: &mut Vec<Issue>) -> Vec<Sort> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    text.split(',')
        .enumerate()
        .filter_map(|(i, item)| {
            parse_sort_item(item, &at.index(i))
                .map_err(|issue| issues.push(issue))
                .ok()
        })
        .collect()
}

/// A JSON sort: an array of SortNode `{field, order}` or of text keys, a single node, or a text list.
fn parse_sort_json(value: &Value, at: &JsonPath, issues: &mut Vec<Issue>) -> Vec<Sort> {
    match value {
        Value::String(text) => parse_sort_list(text, at, issues),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let item_at = at.index(i);
                match item {
                    Value::String(text) => parse_sort_item(text, &item_at)
                        .map_err(|issue| issues.push(issue))
                        .ok(),
                    Value::Object(node) => parse_sort_node(node, &item_at, issues),
                    other => {
                        issues.push(Issue::new(
                            item_at,
                            IssueCode::InvalidType,
                            format!(
                                "Expected a sort key ('-name') or {{\"field\": …, \"order\": \"asc\"|\"desc\"}}, received {}",
                                json_type_name(other)
                            ),
                        ));
                        None
                    }
                }
            })
            .collect(),
        Value::Object(node) => parse_sort_node(node, at, issues).into_iter().collect(),
        other => {
            issues.push(Issue::new(
                at.clone(),
                IssueCode::InvalidType,
                format!(
                    "Expected an array of sort keys, received {}",
                    json_type_name(other)
                ),
            ));
            Vec::new()
        }
    }
}

/// `{field, order}` (also `direction`).
fn parse_sort_node(
    node: &Map<String, Value>,
    at: &JsonPath,
    issues: &mut Vec<Issue>,
) -> Option<Sort> {
    let before = issues.len();
    let unknown: Vec<String> = node
        .keys()
        .filter(|k| !matches!(k.as_str(), "field" | "order" | "direction"))
        .map(|k| format!("'{}'", show(k)))
        .collect();
    if !unknown.is_empty() {
        issues.push(Issue::new(
            at.clone(),
            IssueCode::UnrecognizedKeys,
            format!(
                "Unrecognized key(s) in sort node: {}; expected 'field' and 'order'",
                key_list(&unknown)
            ),
        ));
    }
    let field_at = at.key("field");
    let field = match node.get("field") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(other) => {
            issues.push(Issue::new(
                field_at.clone(),
                IssueCode::InvalidType,
                format!("Expected a field name, received {}", show_value(other)),
            ));
            None
        }
        None => {
            issues.push(Issue::new(
                field_at.clone(),
                IssueCode::InvalidType,
                "Required",
            ));
            None
        }
    };
    let order_key = if node.contains_key("order") {
        "order"
    } else {
        "direction"
    };
    let descending = match node.get(order_key) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("asc") => false,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("desc") => true,
        Some(other) => {
            issues.push(Issue::new(
                at.key(order_key),
                IssueCode::InvalidEnumValue,
                format!(
                    "Invalid enum value. Expected 'asc' | 'desc', received {}",
                    show_value(other)
                ),
            ));
            false
        }
    };
    if issues.len() != before {
        return None;
    }
    field.map(|field| Sort {
        field,
        descending,
        at: field_at,
    })
}

/// A comma list of selected fields.
fn parse_select_list(
    text: &str,
    at: &JsonPath,
    issues: &mut Vec<Issue>,
) -> Option<Vec<(String, JsonPath)>> {
    if text.trim().is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for (i, item) in text.split(',').enumerate() {
        let name = item.trim();
        if name.is_empty() {
            issues.push(Issue::new(
                at.index(i),
                IssueCode::InvalidType,
                "Expected a field name, received an empty item",
            ));
        } else {
            out.push((name.to_owned(), at.index(i)));
        }
    }
    Some(out)
}

/// Parses the query string of `GET /api/v1/data/{object}`; issue paths start at the parameter name.
pub fn from_params(params: &[(String, String)]) -> Result<Query, Vec<Issue>> {
    let mut query = Query::default();
    let mut issues = Vec::new();
    let mut seen: HashSet<&'static str> = HashSet::new();
    let mut parts = Vec::new();
    let root = JsonPath::root();
    for (name, value) in params {
        let at = root.key(name);
        let canonical = match name.as_str() {
            "top" | "limit" => Some("top"),
            "skip" | "offset" => Some("skip"),
            "sort" | "orderBy" => Some("sort"),
            "select" => Some("select"),
            "filter" | "filters" => Some("filter"),
            "count" => Some("count"),
            _ => None,
        };
        if let Some(canonical) = canonical {
            if !seen.insert(canonical) {
                issues.push(Issue::new(
                    at,
                    IssueCode::Custom,
                    format!("'{name}' is given more than once (or together with its alias)"),
                ));
                continue;
            }
        }
        match name.as_str() {
            "top" | "limit" => match parse_count_text(value, &at, MAX_LIMIT) {
                Ok(n) => query.limit = n,
                Err(issue) => issues.push(issue),
            },
            "skip" | "offset" => match parse_count_text(value, &at, MAX_OFFSET) {
                Ok(n) => query.offset = n,
                Err(issue) => issues.push(issue),
            },
            "sort" | "orderBy" => {
                let trimmed = value.trim_start();
                query.sort = if trimmed.starts_with('[') || trimmed.starts_with('{') {
                    match serde_json::from_str::<Value>(value) {
                        Ok(json) => parse_sort_json(&json, &at, &mut issues),
                        Err(e) => {
                            issues.push(Issue::new(
                                at,
                                IssueCode::InvalidType,
                                format!("'{name}' is not valid JSON: {e}"),
                            ));
                            Vec::new()
                        }
                    }
                } else {
                    parse_sort_list(value, &at, &mut issues)
                };
            }
            "select" => query.fields = parse_select_list(value, &at, &mut issues),
            "filter" | "filters" => match serde_json::from_str::<Value>(value) {
                Ok(json) => match parse_filter(&json, &at) {
                    Ok(filter) => parts.push(filter),
                    Err(found) => issues.extend(found),
                },
                Err(e) => issues.push(Issue::new(
                    at,
                    IssueCode::InvalidType,
                    format!("'{name}' must be a JSON filter (array or object): {e}"),
                )),
            },
            "count" => match value.to_ascii_lowercase().as_str() {
                "true" | "1" => query.with_total = true,
                "false" | "0" => query.with_total = false,
                _ => issues.push(Issue::new(
                    at,
                    IssueCode::InvalidType,
                    format!("Expected true or false, received '{}'", show(value)),
                )),
            },
            n if UNSUPPORTED_PARAMS.contains(&n) => issues.push(Issue::new(
                at,
                IssueCode::Custom,
                format!("'{name}' is not supported by objectos; remove it"),
            )),
            field => {
                let mut parser = Parser::new(0);
                let value = Value::String(value.clone());
                if let Some(filter) = parser.operand(field, &at, Op::Eq, &value, &at, &at) {
                    parts.push(filter);
                }
                issues.extend(parser.issues);
            }
        }
    }
    finish_filter(&mut query, parts, &root, &mut issues);
    if issues.is_empty() {
        Ok(query)
    } else {
        Err(issues)
    }
}

/// Joins the filter parts and checks the total number of conditions.
fn finish_filter(query: &mut Query, parts: Vec<Filter>, at: &JsonPath, issues: &mut Vec<Issue>) {
    let total: usize = parts.iter().map(condition_count).sum();
    // Parts over the limit on their own were refused by their parser and are not counted here.
    if total > MAX_CONDITIONS {
        issues.push(Issue::new(
            at.clone(),
            IssueCode::TooBig,
            format!("A query may hold at most {MAX_CONDITIONS} conditions, received {total}"),
        ));
    }
    query.filter = all_of(parts);
}

/// Parses the QueryAST body of `POST /api/v1/data/{object}/query`; issue paths start at the body.
pub fn from_ast(body: &Value) -> Result<Query, Vec<Issue>> {
    let root = JsonPath::root();
    let Value::Object(map) = body else {
        return Err(vec![Issue::new(
            root,
            IssueCode::InvalidType,
            format!("Expected object, received {}", json_type_name(body)),
        )]);
    };
    let mut query = Query::default();
    let mut issues = Vec::new();
    let mut parts = Vec::new();
    let mut unknown = Vec::new();
    let mut seen: HashSet<&'static str> = HashSet::new();
    for (key, value) in map {
        let at = root.key(key);
        let canonical = match key.as_str() {
            "where" | "filter" => Some("where"),
            "orderBy" | "sort" => Some("orderBy"),
            "limit" | "top" => Some("limit"),
            "offset" | "skip" => Some("offset"),
            "count" | "withTotal" => Some("count"),
            _ => None,
        };
        if let Some(canonical) = canonical {
            if !seen.insert(canonical) {
                issues.push(Issue::new(
                    at,
                    IssueCode::Custom,
                    format!("'{key}' is given together with its alias"),
                ));
                continue;
            }
        }
        match key.as_str() {
            "object" => {
                if !value.is_string() {
                    issues.push(Issue::new(
                        at,
                        IssueCode::InvalidType,
                        format!("Expected string, received {}", json_type_name(value)),
                    ));
                }
            }
            "where" | "filter" => {
                if !value.is_null() {
                    match parse_filter(value, &at) {
                        Ok(filter) => parts.push(filter),
                        Err(found) => issues.extend(found),
                    }
                }
            }
            "fields" | "select" => match value {
                Value::Null => {}
                Value::Array(items) => {
                    let mut fields = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        match item {
                            Value::String(s) if !s.is_empty() => {
                                fields.push((s.clone(), at.index(i)));
                            }
                            other => issues.push(Issue::new(
                                at.index(i),
                                IssueCode::InvalidType,
                                format!("Expected a field name, received {}", show_value(other)),
                            )),
                        }
                    }
                    query.fields = Some(fields);
                }
                Value::String(text) => query.fields = parse_select_list(text, &at, &mut issues),
                other => issues.push(Issue::new(
                    at,
                    IssueCode::InvalidType,
                    format!(
                        "Expected an array of field names, received {}",
                        json_type_name(other)
                    ),
                )),
            },
            "orderBy" | "sort" => {
                if !value.is_null() {
                    query.sort = parse_sort_json(value, &at, &mut issues);
                }
            }
            "limit" | "top" => match parse_count_json(value, &at, MAX_LIMIT) {
                Ok(n) => query.limit = n,
                Err(issue) => issues.push(issue),
            },
            "offset" | "skip" => match parse_count_json(value, &at, MAX_OFFSET) {
                Ok(n) => query.offset = n,
                Err(issue) => issues.push(issue),
            },
            "count" | "withTotal" => match value {
                Value::Bool(b) => query.with_total = *b,
                other => issues.push(Issue::new(
                    at,
                    IssueCode::InvalidType,
                    format!("Expected boolean, received {}", json_type_name(other)),
                )),
            },
            k if UNSUPPORTED_AST_KEYS.contains(&k) => issues.push(Issue::new(
                at,
                IssueCode::Custom,
                format!("'{key}' is not supported by objectos; remove it"),
            )),
            _ => unknown.push(format!("'{}'", show(key))),
        }
    }
    if !unknown.is_empty() {
        issues.push(Issue::new(
            root.clone(),
            IssueCode::UnrecognizedKeys,
            format!(
                "Unrecognized key(s) in object: {}; expected where, fields, orderBy, limit, offset, count, object",
                key_list(&unknown)
            ),
        ));
    }
    finish_filter(&mut query, parts, &root, &mut issues);
    if issues.is_empty() {
        Ok(query)
    } else {
        Err(issues)
    }
}

/// A query compiled for SQLite.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledQuery {
    /// `SELECT "id", "created_at", "updated_at", <fields> FROM … ORDER BY …, "id" LIMIT ? OFFSET ?`,
    /// fetching `limit + 1` rows so the caller can tell whether there are more.
    pub sql: String,
    /// The bound values of `sql`, in `?N` order.
    pub params: Vec<SqlValue>,
    /// `SELECT COUNT(*) FROM … [WHERE …]` when the total is wanted.
    pub count_sql: Option<String>,
    /// The bound values of `count_sql`.
    pub count_params: Vec<SqlValue>,
    /// The field keys of the selected columns after the three system columns, in column order.
    pub fields: Vec<String>,
}

/// What a column holds, as far as comparisons are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text; `normalise` says how comparison values are normalised.
    Text(TextKind),
    /// Whole numbers.
    Integer,
    /// Doubles.
    Real,
    /// Booleans stored as 0/1.
    Bool,
    /// A JSON array (multiselect, tags, `multiple` fields…).
    JsonArray,
    /// Another JSON value (json, location, address).
    Json,
}

/// How a text column's comparison values are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextKind {
    Plain,
    Datetime,
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
}

impl Purpose {
    fn verb(self) -> &'static str {
        match self {
            Self::Filter => "filtered on",
            Self::Sort => "sorted by",
            Self::Select => "selected",
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
            Eq, Ne, Gt, Gte, Lt, Lte, In, Nin, Contains, StartsWith, EndsWith, Between, IsNull,
            IsNotNull, Like,
        ],
        Kind::Integer | Kind::Real => &[
            Eq, Ne, Gt, Gte, Lt, Lte, In, Nin, Between, IsNull, IsNotNull,
        ],
        Kind::Bool => &[Eq, Ne, In, Nin, IsNull, IsNotNull],
        Kind::JsonArray => &[Eq, Ne, Contains, In, Nin, IsNull, IsNotNull],
        Kind::Json => &[IsNull, IsNotNull],
    }
}

/// Builds WHERE fragments and their parameters, collecting issues.
struct FilterCompiler<'a> {
    object: &'a ObjectDefinition,
    params: &'a mut Vec<SqlValue>,
    issues: Vec<Issue>,
}

impl FilterCompiler<'_> {
    fn bind(&mut self, value: SqlValue) -> String {
        self.params.push(value);
        format!("?{}", self.params.len())
    }

    fn filter(&mut self, filter: &Filter) -> String {
        match filter {
            Filter::And(children) if children.is_empty() => "1".to_owned(),
            Filter::Or(children) if children.is_empty() => "0".to_owned(),
            Filter::And(children) | Filter::Or(children) if children.len() == 1 => {
                self.filter(&children[0])
            }
            Filter::And(children) => self.join(children, " AND "),
            Filter::Or(children) => self.join(children, " OR "),
            Filter::Not(child) => format!("NOT COALESCE({}, 0)", self.filter(child)),
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
                return "0".to_owned();
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
            return "0".to_owned();
        }
        let c = &col.sql;
        match (col.kind, op) {
            (_, Op::IsNull) => format!("{c} IS NULL"),
            (_, Op::IsNotNull) => format!("{c} IS NOT NULL"),
            // The parser already turns these into is_null/is_not_null; a hand-built Query may not.
            (_, Op::Eq) if value.is_null() => format!("{c} IS NULL"),
            (_, Op::Ne) if value.is_null() => format!("{c} IS NOT NULL"),
            (Kind::JsonArray, Op::Eq | Op::Contains | Op::Ne) => {
                let Some(v) = self.element(&col, value, at) else {
                    return "0".to_owned();
                };
                let p = self.bind(v);
                let exists =
                    format!("EXISTS (SELECT 1 FROM json_each({c}) WHERE json_each.value = {p})");
                if op == Op::Ne {
                    format!("NOT {exists}")
                } else {
                    exists
                }
            }
            (Kind::JsonArray, Op::In | Op::Nin) => {
                let Some(list) = self.list(&col, value, at, true) else {
                    return "0".to_owned();
                };
                let exists = if list.is_empty() {
                    "0".to_owned()
                } else {
                    format!(
                        "EXISTS (SELECT 1 FROM json_each({c}) WHERE json_each.value IN ({}))",
                        list.join(", ")
                    )
                };
                if op == Op::Nin {
                    format!("NOT {exists}")
                } else {
                    exists
                }
            }
            (_, Op::Eq | Op::Ne | Op::Gt | Op::Gte | Op::Lt | Op::Lte) => {
                let Some(v) = self.convert(&col, value, at) else {
                    return "0".to_owned();
                };
                let p = self.bind(v);
                let sql_op = match op {
                    Op::Eq => "=",
                    Op::Ne => "IS NOT",
                    Op::Gt => ">",
                    Op::Gte => ">=",
                    Op::Lt => "<",
                    _ => "<=",
                };
                format!("{c} {sql_op} {p}")
            }
            (_, Op::In) => match self.list(&col, value, at, false) {
                Some(list) if list.is_empty() => "0".to_owned(),
                Some(list) => format!("{c} IN ({})", list.join(", ")),
                None => "0".to_owned(),
            },
            (_, Op::Nin) => match self.list(&col, value, at, false) {
                Some(list) if list.is_empty() => "1".to_owned(),
                Some(list) => format!("({c} IS NULL OR {c} NOT IN ({}))", list.join(", ")),
                None => "0".to_owned(),
            },
            (_, Op::Between) => match self.list(&col, value, at, false).as_deref() {
                Some([low, high]) => format!("({c} >= {low} AND {c} <= {high})"),
                Some(_) => {
                    self.issues.push(Issue::new(
                        at.clone(),
                        IssueCode::InvalidType,
                        "'between' needs exactly 2 values [low, high]",
                    ));
                    "0".to_owned()
                }
                None => "0".to_owned(),
            },
            (_, Op::StartsWith) => {
                let Some(prefix) = self.text(value, at, op) else {
                    return "0".to_owned();
                };
                if prefix.is_empty() {
                    return format!("{c} IS NOT NULL");
                }
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
                    return "0".to_owned();
                };
                let escaped = glob_escape(&needle);
                let pattern = if op == Op::Contains {
                    format!("*{escaped}*")
                } else {
                    format!("*{escaped}")
                };
                let p = self.bind(SqlValue::Text(pattern));
                format!("{c} GLOB {p}")
            }
            (_, Op::Like) => {
                let Some(pattern) = self.text(value, at, op) else {
                    return "0".to_owned();
                };
                let p = self.bind(SqlValue::Text(pattern));
                format!("{c} LIKE {p} ESCAPE '\\'")
            }
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

    /// Binds each item of an `in`/`nin`/`between` list; `None` after an issue.
    fn list(
        &mut self,
        col: &Col,
        value: &Value,
        at: &JsonPath,
        elements: bool,
    ) -> Option<Vec<String>> {
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
        Some(converted.into_iter().map(|v| self.bind(v)).collect())
    }

    /// A JSON array element to compare with `json_each.value` (strings as TEXT, numbers, booleans 0/1).
    fn element(&mut self, col: &Col, value: &Value, at: &JsonPath) -> Option<SqlValue> {
        match value {
            Value::String(s) => Some(SqlValue::Text(s.clone())),
            Value::Bool(b) => Some(SqlValue::Integer(i64::from(*b))),
            Value::Number(n) => Some(match n.as_i64() {
                Some(i) => SqlValue::Integer(i),
                None => SqlValue::Real(n.as_f64().unwrap_or_default()),
            }),
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

    /// A comparison value in the column's storage form; `None` after an issue.
    fn convert(&mut self, col: &Col, value: &Value, at: &JsonPath) -> Option<SqlValue> {
        let converted = match (col.kind, value) {
            (Kind::Bool, Value::Bool(b)) => Some(SqlValue::Integer(i64::from(*b))),
            (Kind::Bool, Value::Number(n)) => match n.as_i64() {
                Some(i @ (0 | 1)) => Some(SqlValue::Integer(i)),
                _ => None,
            },
            (Kind::Bool, Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" => Some(SqlValue::Integer(1)),
                "false" | "0" => Some(SqlValue::Integer(0)),
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
            (Kind::Text(text), Value::String(s)) => Some(SqlValue::Text(match text {
                TextKind::Plain => s.clone(),
                TextKind::Datetime => normalise_datetime(s).unwrap_or_else(|| s.clone()),
                TextKind::Time => normalise_time(s).unwrap_or_else(|| s.clone()),
            })),
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

/// An INTEGER when the number is whole and fits, else a REAL.
fn number(int: Option<i64>, float: Option<f64>) -> SqlValue {
    match (int, float) {
        (Some(i), _) => SqlValue::Integer(i),
        (None, Some(f)) => SqlValue::Real(f),
        (None, None) => SqlValue::Null,
    }
}

/// `GLOB` wildcards (`*`, `?`, `[`) made literal.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            other => out.push(other),
        }
    }
    out
}

/// The smallest string greater than every string starting with `prefix` (in code point order, which is
/// SQLite's BINARY order for UTF-8): the prefix with its last character incremented. `None` when every
/// character is `char::MAX`.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
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

/// WHERE fragment only (no "WHERE"), appending bound values to `params`; used by updateMany/deleteMany-by-filter and reference checks.
///
/// Placeholders are numbered (`?N`, N = the value's position in `params`), so `params` may already hold
/// the caller's values. On error `params` is left as it was.
pub fn compile_filter(
    object: &ObjectDefinition,
    filter: &Filter,
    params: &mut Vec<SqlValue>,
) -> Result<String, Vec<Issue>> {
    let start = params.len();
    let mut compiler = FilterCompiler {
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
    _dialect: Dialect,
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
    let table = match quoted(IdentKind::Table, &object.name, &JsonPath::root()) {
        Ok(table) => table,
        Err(issue) => return Err(vec![issue]),
    };

    let mut params = Vec::new();
    let where_sql = match &query.filter {
        None => None,
        Some(filter) => match compile_filter(object, filter, &mut params) {
            Ok(sql) => Some(sql),
            Err(found) => {
                issues.extend(found);
                None
            }
        },
    };

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
    for sort in &query.sort {
        match resolve(object, &sort.field, &sort.at, Purpose::Sort) {
            Ok(col) if matches!(col.kind, Kind::Json | Kind::JsonArray) => issues.push(Issue::new(
                sort.at.clone(),
                IssueCode::Custom,
                format!("{} holds JSON and cannot be sorted by", col.describe),
            )),
            Ok(col) => {
                has_id |= sort.field == "id";
                order.push(format!(
                    "{} {}",
                    col.sql,
                    if sort.descending { "DESC" } else { "ASC" }
                ));
            }
            Err(issue) => issues.push(issue),
        }
    }
    if !has_id {
        // With a filter, `+"id"` keeps the planner from walking the primary-key index in id order
        // (hoping to meet LIMIT matches early, which it guesses for any range without ANALYZE
        // statistics) instead of using the filter's index; without one, `"id"` lets a page stop early.
        order.push(if where_sql.is_some() {
            "+\"id\" ASC".to_owned()
        } else {
            "\"id\" ASC".to_owned()
        });
    }

    if !issues.is_empty() {
        return Err(dedupe(issues));
    }

    let mut select = vec![
        "\"id\"".to_owned(),
        "\"created_at\"".to_owned(),
        "\"updated_at\"".to_owned(),
    ];
    select.extend(columns);
    let where_clause = where_sql.map(|w| format!(" WHERE {w}")).unwrap_or_default();
    let count_sql = query
        .with_total
        .then(|| format!("SELECT COUNT(*) FROM {table}{where_clause}"));
    let count_params = if query.with_total {
        params.clone()
    } else {
        Vec::new()
    };
    // Both fit in i64: limit ≤ MAX_LIMIT + 1 and offset ≤ MAX_OFFSET (checked by the parsers; a Query
    // built by hand is clamped rather than wrapped).
    let fetch = i64::try_from(query.limit.saturating_add(1)).unwrap_or(i64::MAX);
    let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
    params.push(SqlValue::Integer(fetch));
    let limit_mark = params.len();
    params.push(SqlValue::Integer(offset));
    let offset_mark = params.len();
    let sql = format!(
        "SELECT {} FROM {table}{where_clause} ORDER BY {} LIMIT ?{limit_mark} OFFSET ?{offset_mark}",
        select.join(", "),
        order.join(", ")
    );
    Ok(CompiledQuery {
        sql,
        params,
        count_sql,
        count_params,
        fields,
    })
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
