//! `aggregations` and `groupBy` of a list query, as the ObjectStack QueryAST defines them:
//! `aggregations: [{function, field?, alias, distinct?}]` and `groupBy: [field, ...]` (in a GET
//! query string: `aggregations=<JSON array>` and `groupBy=a,b`, as @objectstack/client sends them).
//!
//! Parsing only; the SQL is built by [`super::compile`]. An aggregated query answers one record per
//! group, holding the group keys and one value per aggregation alias.

use std::collections::HashSet;

use objectos_spec::{json_type_name, Issue, IssueCode, JsonPath};
use serde_json::{Map, Value};

use super::parse::{show, show_value, too_many};

/// The most `groupBy` keys one query may name.
pub const MAX_GROUP_KEYS: usize = 8;
/// The most aggregations one query may ask for.
pub const MAX_AGGREGATIONS: usize = 16;
/// The longest aggregation alias, in characters.
pub const MAX_ALIAS_CHARS: usize = 64;

/// An aggregation function objectos computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunction {
    /// Rows (`COUNT(*)`), or values of a field that are not NULL.
    Count,
    /// Distinct values of a field that are not NULL.
    CountDistinct,
    /// The sum of a number field's values (NULL when there are none).
    Sum,
    /// The mean of a number field's values, as a double (NULL when there are none).
    Avg,
    /// The smallest value (numbers, text in byte order, dates, instants).
    Min,
    /// The largest value.
    Max,
}

impl AggFunction {
    /// The protocol's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::CountDistinct => "count_distinct",
            Self::Sum => "sum",
            Self::Avg => "avg",
            Self::Min => "min",
            Self::Max => "max",
        }
    }
}

/// One aggregation of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregation {
    /// The function.
    pub function: AggFunction,
    /// The field aggregated and where it was written (`None`: `count` of rows).
    pub field: Option<(String, JsonPath)>,
    /// The key of the value in each result record.
    pub alias: String,
    /// Where the alias was written.
    pub alias_at: JsonPath,
    /// Aggregate distinct values only.
    pub distinct: bool,
}

const FUNCTIONS: &str = "count, count_distinct, sum, avg, min, max";

/// Whether an alias is a plain identifier: a letter or `_`, then letters, digits or `_`.
fn is_alias(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= MAX_ALIAS_CHARS
}

/// `aggregations`: an array of AggregationNode.
pub(super) fn parse_aggregations(
    value: &Value,
    at: &JsonPath,
    issues: &mut Vec<Issue>,
) -> Vec<Aggregation> {
    let Value::Array(items) = value else {
        issues.push(Issue::new(
            at.clone(),
            IssueCode::InvalidType,
            format!(
                "Expected an array of aggregations ({{\"function\", \"field\", \"alias\"}}), received {}",
                json_type_name(value)
            ),
        ));
        return Vec::new();
    };
    if too_many(items.len(), MAX_AGGREGATIONS, "aggregations", at, issues) {
        return Vec::new();
    }
    let mut aliases = HashSet::new();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_at = at.index(i);
        let Value::Object(node) = item else {
            issues.push(Issue::new(
                item_at,
                IssueCode::InvalidType,
                format!(
                    "Expected an aggregation {{\"function\", \"field\", \"alias\"}}, received {}",
                    json_type_name(item)
                ),
            ));
            continue;
        };
        if let Some(aggregation) = parse_node(node, &item_at, issues) {
            if !aliases.insert(aggregation.alias.clone()) {
                issues.push(Issue::new(
                    aggregation.alias_at.clone(),
                    IssueCode::Custom,
                    format!("The alias '{}' is given twice", aggregation.alias),
                ));
                continue;
            }
            out.push(aggregation);
        }
    }
    out
}

fn parse_node(
    node: &Map<String, Value>,
    at: &JsonPath,
    issues: &mut Vec<Issue>,
) -> Option<Aggregation> {
    let before = issues.len();
    let unknown: Vec<String> = node
        .keys()
        .filter(|k| {
            !matches!(
                k.as_str(),
                "function" | "field" | "alias" | "distinct" | "filter"
            )
        })
        .map(|k| format!("'{}'", show(k)))
        .collect();
    if !unknown.is_empty() {
        issues.push(Issue::new(
            at.clone(),
            IssueCode::UnrecognizedKeys,
            format!(
                "Unrecognized key(s) in aggregation: {}; expected function, field, alias, distinct",
                unknown.join(", ")
            ),
        ));
    }
    if node.contains_key("filter") {
        issues.push(Issue::new(
            at.key("filter"),
            IssueCode::Custom,
            "An aggregation 'filter' is not supported by objectos; filter the query with 'where'",
        ));
    }
    let function_at = at.key("function");
    let function = match node.get("function") {
        Some(Value::String(name)) => match name.to_ascii_lowercase().as_str() {
            "count" => Some(AggFunction::Count),
            "count_distinct" => Some(AggFunction::CountDistinct),
            "sum" => Some(AggFunction::Sum),
            "avg" => Some(AggFunction::Avg),
            "min" => Some(AggFunction::Min),
            "max" => Some(AggFunction::Max),
            "array_agg" | "string_agg" => {
                issues.push(Issue::new(
                    function_at,
                    IssueCode::Custom,
                    format!("'{name}' is not supported by objectos; use one of {FUNCTIONS}"),
                ));
                None
            }
            _ => {
                issues.push(Issue::new(
                    function_at,
                    IssueCode::InvalidEnumValue,
                    format!(
                        "Unknown aggregation function '{}'; expected one of {FUNCTIONS}",
                        show(name)
                    ),
                ));
                None
            }
        },
        Some(other) => {
            issues.push(Issue::new(
                function_at,
                IssueCode::InvalidType,
                format!(
                    "Expected a function name ({FUNCTIONS}), received {}",
                    json_type_name(other)
                ),
            ));
            None
        }
        None => {
            issues.push(Issue::new(function_at, IssueCode::InvalidType, "Required"));
            None
        }
    };
    let field_at = at.key("field");
    let field = match node.get("field") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some((s.clone(), field_at.clone())),
        Some(other) => {
            issues.push(Issue::new(
                field_at.clone(),
                IssueCode::InvalidType,
                format!("Expected a field name, received {}", show_value(other)),
            ));
            None
        }
    };
    if let Some(f) = function {
        let absent = matches!(node.get("field"), None | Some(Value::Null));
        if f != AggFunction::Count && absent {
            issues.push(Issue::new(
                field_at,
                IssueCode::InvalidType,
                format!("Required: '{}' aggregates a field", f.as_str()),
            ));
        }
    }
    let alias_at = at.key("alias");
    let alias = match node.get("alias") {
        Some(Value::String(s)) if is_alias(s) => Some(s.clone()),
        Some(Value::String(s)) => {
            issues.push(Issue::new(
                alias_at.clone(),
                IssueCode::InvalidString,
                format!(
                    "An alias is 1 to {MAX_ALIAS_CHARS} characters of [A-Za-z0-9_], not starting with a digit; received '{}'",
                    show(s)
                ),
            ));
            None
        }
        Some(other) => {
            issues.push(Issue::new(
                alias_at.clone(),
                IssueCode::InvalidType,
                format!("Expected string, received {}", json_type_name(other)),
            ));
            None
        }
        None => {
            issues.push(Issue::new(
                alias_at.clone(),
                IssueCode::InvalidType,
                "Required",
            ));
            None
        }
    };
    let distinct = match node.get("distinct") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            issues.push(Issue::new(
                at.key("distinct"),
                IssueCode::InvalidType,
                format!("Expected boolean, received {}", json_type_name(other)),
            ));
            false
        }
    };
    if issues.len() != before {
        return None;
    }
    Some(Aggregation {
        function: function?,
        field,
        alias: alias?,
        alias_at,
        distinct,
    })
}

/// `groupBy` as JSON: an array of field names (a comma list in a string is accepted too).
pub(super) fn parse_group_by_json(
    value: &Value,
    at: &JsonPath,
    issues: &mut Vec<Issue>,
) -> Vec<(String, JsonPath)> {
    match value {
        Value::String(text) => parse_group_by_text(text, at, issues),
        Value::Array(items) => {
            if too_many(items.len(), MAX_GROUP_KEYS, "groupBy keys", at, issues) {
                return Vec::new();
            }
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item {
                    Value::String(s) if !s.is_empty() => Some((s.clone(), at.index(i))),
                    other => {
                        issues.push(Issue::new(
                            at.index(i),
                            IssueCode::InvalidType,
                            format!("Expected a field name, received {}", show_value(other)),
                        ));
                        None
                    }
                })
                .collect()
        }
        other => {
            issues.push(Issue::new(
                at.clone(),
                IssueCode::InvalidType,
                format!(
                    "Expected an array of field names, received {}",
                    json_type_name(other)
                ),
            ));
            Vec::new()
        }
    }
}

/// `groupBy=a,b` (or a JSON array) in a query string.
pub(super) fn parse_group_by_text(
    text: &str,
    at: &JsonPath,
    issues: &mut Vec<Issue>,
) -> Vec<(String, JsonPath)> {
    if text.trim_start().starts_with('[') {
        return match serde_json::from_str::<Value>(text) {
            Ok(json @ Value::Array(_)) => parse_group_by_json(&json, at, issues),
            _ => {
                issues.push(Issue::new(
                    at.clone(),
                    IssueCode::InvalidType,
                    "Expected a comma list of field names or a JSON array of them",
                ));
                Vec::new()
            }
        };
    }
    if text.trim().is_empty() {
        return Vec::new();
    }
    if too_many(
        text.split(',').count(),
        MAX_GROUP_KEYS,
        "groupBy keys",
        at,
        issues,
    ) {
        return Vec::new();
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
    out
}
