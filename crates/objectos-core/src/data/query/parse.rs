//! Parsing list requests into a [`Query`]: GET parameters, the QueryAST body and both filter forms.
//! Nothing here knows SQL; see the module documentation of [`super`] for the semantics.

use std::collections::HashSet;

use objectos_spec::{json_type_name, Issue, IssueCode, JsonPath};
use serde_json::{Map, Value};

use super::aggregate::{parse_aggregations, parse_group_by_json, parse_group_by_text, Aggregation};

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

/// The most sort keys one query may name (`id` is appended to them).
pub const MAX_SORT_KEYS: usize = 32;
/// The most fields one `select`/`fields` may name.
pub const MAX_SELECT_FIELDS: usize = 1000;

/// Input echoed in messages is cut to this many characters.
const ECHO_MAX: usize = 64;

/// What JavaScript's `String({...})` makes of an object: a `field=value` parameter with this value
/// is a client's operator object lost in serialisation, never a value meant for comparison.
const JS_OBJECT_TEXT: &str = "[object Object]";

/// Query-string parameters that ObjectStack defines but objectos does not serve yet.
const UNSUPPORTED_PARAMS: &[&str] = &["search", "expand"];

/// QueryAST keys that ObjectStack defines but objectos does not serve yet.
const UNSUPPORTED_AST_KEYS: &[&str] = &["search", "expand", "having", "joins", "windowFunctions"];

/// The operator names of the array AST, as listed in issue messages.
const AST_OPERATORS: &str = "=, ==, !=, <>, >, >=, <, <=, in, nin, not_in, contains, notcontains, not_contains, like, startswith, starts_with, endswith, ends_with, between, is_null, is_not_null";

/// The operators of the object form, as listed in issue messages.
const DOLLAR_OPERATORS: &str = "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $between, $contains, $notContains, $startsWith, $endsWith, $like, $null, $exists";

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
    /// The negation of [`Op::Contains`], NULL-safe: a record without a value does not contain.
    NotContains,
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
            Self::NotContains => "notcontains",
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
            "notcontains" | "not_contains" => Self::NotContains,
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
            "$notcontains" => Self::NotContains,
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
    /// `groupBy` keys with where each was written (at most [`super::MAX_GROUP_KEYS`]).
    pub group_by: Vec<(String, JsonPath)>,
    /// `aggregations` (at most [`super::MAX_AGGREGATIONS`]); with `group_by`, the query answers one
    /// record per group instead of the matching records.
    pub aggregations: Vec<Aggregation>,
    /// `distinct: true`, with where it was written: the distinct combinations of the selected
    /// fields (without the system columns) instead of the records.
    pub distinct: Option<JsonPath>,
    /// Keyset paging: the sort-key values (and `id`) of the last record of the previous page,
    /// with where the cursor was written; the page starts after that record.
    pub cursor: Option<(Map<String, Value>, JsonPath)>,
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
            group_by: Vec::new(),
            aggregations: Vec::new(),
            distinct: None,
            cursor: None,
        }
    }
}

/// Input cut to [`ECHO_MAX`] characters for a message.
pub(super) fn show(s: &str) -> String {
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
pub(super) fn show_value(v: &Value) -> String {
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
            Op::Contains | Op::NotContains | Op::StartsWith | Op::EndsWith | Op::Like => {
                // `contains` of a number is meaningful for JSON arrays of numbers (vectors).
                let strings_only = !matches!(op, Op::Contains | Op::NotContains);
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
            // PostgreSQL text cannot hold NUL, so no stored value has one: refused on every database.
            Value::String(s) if s.contains('\0') => {
                self.issue(
                    at.clone(),
                    IssueCode::InvalidString,
                    "A filter value may not contain the NUL character (U+0000)",
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

/// Refuses a list longer than `max` with one `too_big` issue at the list (not one per item);
/// true when refused.
pub(super) fn too_many(
    len: usize,
    max: usize,
    what: &str,
    at: &JsonPath,
    issues: &mut Vec<Issue>,
) -> bool {
    if len <= max {
        return false;
    }
    issues.push(Issue::new(
        at.clone(),
        IssueCode::TooBig,
        format!("At most {max} {what} may be given, received {len}"),
    ));
    true
}

/// A comma list of sort keys.
fn parse_sort_list(text: &str, at: &JsonPath, issues: &mut Vec<Issue>) -> Vec<Sort> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    if too_many(
        text.split(',').count(),
        MAX_SORT_KEYS,
        "sort keys",
        at,
        issues,
    ) {
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
        Value::Array(items) if too_many(items.len(), MAX_SORT_KEYS, "sort keys", at, issues) => {
            Vec::new()
        }
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
    if too_many(
        text.split(',').count(),
        MAX_SELECT_FIELDS,
        "fields",
        at,
        issues,
    ) {
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

/// The opaque text of a keyset cursor: the hex digits of its JSON object.
pub fn encode_cursor(cursor: &Map<String, Value>) -> String {
    hex::encode(Value::Object(cursor.clone()).to_string())
}

/// A `cursor`: an object of sort-key values (`{"name": "Beta", "id": "p2"}`), or the text a
/// previous page gave as `nextCursor`; `None` for null or an empty text.
fn parse_cursor(value: &Value, at: &JsonPath) -> Result<Option<Map<String, Value>>, Issue> {
    let invalid = || {
        Issue::new(
            at.clone(),
            IssueCode::InvalidString,
            "Expected a cursor: the nextCursor of a previous page, or an object of the sort keys' values and id",
        )
    };
    match value {
        Value::Null => Ok(None),
        Value::String(text) if text.is_empty() => Ok(None),
        Value::String(text) => {
            let bytes = hex::decode(text).map_err(|_| invalid())?;
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => Ok(Some(map)),
                _ => Err(invalid()),
            }
        }
        Value::Object(map) => Ok(Some(map.clone())),
        other => Err(Issue::new(
            at.clone(),
            IssueCode::InvalidType,
            format!(
                "Expected a cursor (string or object), received {}",
                json_type_name(other)
            ),
        )),
    }
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
            "aggregations" => Some("aggregations"),
            "groupBy" => Some("groupBy"),
            "distinct" => Some("distinct"),
            "cursor" => Some("cursor"),
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
            "cursor" => match parse_cursor(&Value::String(value.clone()), &at) {
                Ok(cursor) => query.cursor = cursor.map(|c| (c, at)),
                Err(issue) => issues.push(issue),
            },
            "distinct" => match value.to_ascii_lowercase().as_str() {
                "true" | "1" => query.distinct = Some(at),
                "false" | "0" => query.distinct = None,
                _ => issues.push(Issue::new(
                    at,
                    IssueCode::InvalidType,
                    format!("Expected true or false, received '{}'", show(value)),
                )),
            },
            "aggregations" => match serde_json::from_str::<Value>(value) {
                Ok(json) => query.aggregations = parse_aggregations(&json, &at, &mut issues),
                Err(e) => issues.push(Issue::new(
                    at,
                    IssueCode::InvalidType,
                    format!("'{name}' must be a JSON array of aggregations: {e}"),
                )),
            },
            "groupBy" => query.group_by = parse_group_by_text(value, &at, &mut issues),
            n if UNSUPPORTED_PARAMS.contains(&n) => issues.push(Issue::new(
                at,
                IssueCode::Custom,
                format!("'{name}' is not supported by objectos; remove it"),
            )),
            field if value == JS_OBJECT_TEXT => issues.push(Issue::new(
                at,
                IssueCode::InvalidType,
                format!(
                    "'{}={JS_OBJECT_TEXT}' is a JavaScript object turned into text (as @objectstack/client's \
                     find() sends {{where: {{field: {{$op: value}}}}}}), not a value to compare with; send \
                     operators as filter=<JSON> or in the body of POST .../query",
                    show(field)
                ),
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
                Value::Array(items)
                    if too_many(items.len(), MAX_SELECT_FIELDS, "fields", &at, &mut issues) => {}
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
            "cursor" => match parse_cursor(value, &at) {
                Ok(cursor) => query.cursor = cursor.map(|c| (c, at)),
                Err(issue) => issues.push(issue),
            },
            "distinct" => match value {
                Value::Null | Value::Bool(false) => {}
                Value::Bool(true) => query.distinct = Some(at),
                other => issues.push(Issue::new(
                    at,
                    IssueCode::InvalidType,
                    format!("Expected boolean, received {}", json_type_name(other)),
                )),
            },
            "aggregations" => {
                if !value.is_null() {
                    query.aggregations = parse_aggregations(value, &at, &mut issues);
                }
            }
            "groupBy" => {
                if !value.is_null() {
                    query.group_by = parse_group_by_json(value, &at, &mut issues);
                }
            }
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
                "Unrecognized key(s) in object: {}; expected where, fields, orderBy, limit, offset, count, aggregations, groupBy, distinct, cursor, object",
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
