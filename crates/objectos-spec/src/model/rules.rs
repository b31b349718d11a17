//! The object-level validation rules objectos applies to record values on writes: `format` (a
//! regular expression or a named format) and `state_machine` (allowed transitions on update).
//! `unique` rules are unique indexes (objectos-schema). Which kinds and options are enforced, and
//! which are refused at deploy time, is in docs/objects.md.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::object::ObjectDefinition;
use super::values::{is_email, is_http_url, is_phone};
use crate::issue::{Issue, IssueCode, JsonPath};

/// Longest `regex` of a format rule, in characters.
pub const MAX_RULE_REGEX_LEN: usize = 1_000;

/// Largest compiled form of a rule's `regex`, in bytes (the `regex` crate's size limit).
pub const MAX_RULE_REGEX_SIZE: usize = 1 << 20;

/// Compiled rule regexes kept for reuse (cleared when it grows past this).
const REGEX_CACHE_MAX: usize = 256;

/// The write a rule is checked for (`events` of the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleEvent {
    /// A create.
    Insert,
    /// An update.
    Update,
}

impl RuleEvent {
    fn as_str(self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Update => "update",
        }
    }
}

/// Compiles a format rule's `regex` within the bounds ([`MAX_RULE_REGEX_LEN`],
/// [`MAX_RULE_REGEX_SIZE`]). The syntax is the `regex` crate's: no look-around or back-references,
/// and matching takes time linear in the input, whatever the pattern.
pub fn compile_rule_regex(source: &str) -> Result<Arc<regex::Regex>, String> {
    let length = source.chars().count();
    if length > MAX_RULE_REGEX_LEN {
        return Err(format!(
            "the regex has {length} characters; at most {MAX_RULE_REGEX_LEN} are allowed"
        ));
    }
    static CACHE: Mutex<Option<HashMap<String, Arc<regex::Regex>>>> = Mutex::new(None);
    // A poisoned cache only loses reuse: compile afresh.
    let mut cache = CACHE.lock().ok();
    if let Some(Some(found)) = cache
        .as_mut()
        .map(|c| c.as_ref().and_then(|m| m.get(source)))
    {
        return Ok(Arc::clone(found));
    }
    let compiled = regex::RegexBuilder::new(source)
        .size_limit(MAX_RULE_REGEX_SIZE)
        .dfa_size_limit(MAX_RULE_REGEX_SIZE)
        .build()
        .map(Arc::new)
        .map_err(|e| e.to_string())?;
    if let Some(guard) = cache.as_mut() {
        let map = guard.get_or_insert_with(HashMap::new);
        if map.len() >= REGEX_CACHE_MAX {
            map.clear();
        }
        map.insert(source.to_owned(), Arc::clone(&compiled));
    }
    Ok(compiled)
}

/// A rule value as text for matching: strings as they are, other values as JSON.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn str_of<'a>(rule: &'a Value, key: &str) -> Option<&'a str> {
    rule.get(key).and_then(Value::as_str)
}

fn applies_to(rule: &Value, event: RuleEvent) -> bool {
    match rule.get("events").and_then(Value::as_array) {
        Some(events) => events.iter().any(|e| e.as_str() == Some(event.as_str())),
        None => true, // the default: insert and update
    }
}

fn failure(field: &str, rule: &Value, detail: String) -> Issue {
    let message = str_of(rule, "message").unwrap_or_default();
    let name = str_of(rule, "name").unwrap_or_default();
    Issue::new(
        JsonPath::root().key(field),
        IssueCode::Custom,
        format!("{message} (validation '{name}': {detail})"),
    )
}

/// The issues of the applied `format` and `state_machine` rules for a write of `values` (the fields
/// the write sets, normalised); `stored` is the record before an update. Paths are the field keys.
pub fn write_rule_issues(
    object: &ObjectDefinition,
    values: &IndexMap<String, Value>,
    stored: Option<&Map<String, Value>>,
    event: RuleEvent,
) -> Vec<Issue> {
    let mut issues = Vec::new();
    for (_, rule) in object.applied_rules() {
        if !applies_to(rule, event) {
            continue;
        }
        let Some(field) = str_of(rule, "field") else {
            continue;
        };
        let Some(text) = values.get(field).and_then(text_of) else {
            continue;
        };
        match str_of(rule, "type") {
            Some("format") => {
                if let Some(source) = str_of(rule, "regex") {
                    match compile_rule_regex(source) {
                        Ok(re) if re.is_match(&text) => {}
                        Ok(_) => {
                            issues.push(failure(field, rule, format!("does not match /{source}/")))
                        }
                        // Refused at deploy time; reaching here means the model is not what deploy checked.
                        Err(e) => issues.push(failure(field, rule, format!("bad regex: {e}"))),
                    }
                }
                if let Some(format) = str_of(rule, "format") {
                    let ok = match format {
                        "email" => is_email(&text),
                        "url" => is_http_url(&text),
                        "phone" => is_phone(&text),
                        "json" => serde_json::from_str::<Value>(&text).is_ok(),
                        _ => true,
                    };
                    if !ok {
                        issues.push(failure(field, rule, format!("not a valid {format}")));
                    }
                }
            }
            Some("state_machine") if event == RuleEvent::Update => {
                let Some(before) = stored.and_then(|s| s.get(field)).and_then(text_of) else {
                    continue; // from no state, any state may be set
                };
                if before == text {
                    continue;
                }
                let allowed: Vec<&str> = rule
                    .get("transitions")
                    .and_then(|t| t.get(&before))
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if !allowed.contains(&text.as_str()) {
                    let listed = if allowed.is_empty() {
                        "none".to_owned()
                    } else {
                        allowed
                            .iter()
                            .map(|s| format!("'{s}'"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    issues.push(failure(
                        field,
                        rule,
                        format!(
                            "'{before}' may not become '{text}'; allowed from '{before}': {listed}"
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    issues
}

/// The fields whose stored value an update needs (the fields of applied `state_machine` rules it
/// sets).
pub fn state_fields_of_update(
    object: &ObjectDefinition,
    values: &IndexMap<String, Value>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, rule) in object.applied_rules() {
        if str_of(rule, "type") != Some("state_machine") || !applies_to(rule, RuleEvent::Update) {
            continue;
        }
        if let Some(field) = str_of(rule, "field") {
            if values.contains_key(field) && !out.iter().any(|f| f == field) {
                out.push(field.to_owned());
            }
        }
    }
    out
}
