//! What a deployment does with each key of an object definition (docs/objects.md, decision 0014):
//! a key is (a) enforced, (b) stored and served back only, reported as a warning, or (c) refused
//! with an `unsupported` issue at its path until objectos implements its meaning. Never accepted
//! and silently ignored.

use objectos_spec::types::field::{Field, FieldType};
use objectos_spec::{Issue, IssueCode, JsonPath, ObjectDefinition, DEFAULT_DATASOURCE};
use serde_json::Value;

/// Validation rule kinds objectos enforces on writes.
pub const ENFORCED_RULE_KINDS: &[&str] = &["unique", "format", "state_machine"];

/// Validation rule kinds stored and reported as not enforced (they call out to code objectos does
/// not host).
pub const STORED_RULE_KINDS: &[&str] = &["async", "custom"];

fn unsupported(path: JsonPath, message: impl Into<String>) -> Issue {
    Issue::new(path, IssueCode::Unsupported, message)
}

fn stored(path: JsonPath, message: impl Into<String>) -> Issue {
    Issue::new(path, IssueCode::Custom, message)
}

fn enabled(config: Option<&Value>) -> bool {
    config
        .and_then(|c| c.get("enabled"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The refusals (`errors`) and the stored-only notes (`warnings`) of one object at `at`
/// (`objects[i]`).
pub fn check_object_keys(
    object: &ObjectDefinition,
    at: &JsonPath,
    errors: &mut Vec<Issue>,
    warnings: &mut Vec<Issue>,
) {
    // (c) Semantics not implemented yet.
    if enabled(object.soft_delete.as_ref()) {
        errors.push(unsupported(
            at.key("softDelete").key("enabled"),
            "softDelete is not supported yet: deletes are permanent in objectos; deploy with \
             softDelete.enabled false (or without softDelete)",
        ));
    }
    if enabled(object.versioning.as_ref()) {
        errors.push(unsupported(
            at.key("versioning").key("enabled"),
            "versioning is not supported yet: objectos keeps no record history; deploy with \
             versioning.enabled false (or without versioning)",
        ));
    }
    if let Some((format, _)) = object.record_name_autonumber() {
        let key = object.record_name_field();
        if let Some(field) = object.fields.get(key) {
            if field.r#type != FieldType::Autonumber {
                errors.push(unsupported(
                    at.key("recordName").key("type"),
                    format!(
                        "an autonumber record name is kept in the record-name field '{key}' \
                         (displayNameField, else 'name'), which is a {} field; make it an \
                         autonumber field or leave it out (objectos then adds it)",
                        field.r#type.as_str()
                    ),
                ));
            }
        }
        if let Some(format) = format {
            if !number_only_format(format) {
                errors.push(unsupported(
                    at.key("recordName").key("displayFormat"),
                    format!(
                        "only one number placeholder such as {{0000}} is supported in \
                         displayFormat (no date tokens), received '{format}'"
                    ),
                ));
            }
        }
    }
    for (k, rule) in object.validations.iter().flatten().enumerate() {
        let rat = at.key("validations").index(k);
        check_rule(object, rule, &rat, errors, warnings);
    }

    // (b) Stored and served back, with no data-backend meaning in objectos.
    let notes: [(&str, bool, &str); 10] = [
        (
            "datasource",
            object.datasource != DEFAULT_DATASOURCE,
            "stored only: objectos has one datasource per tenant, the tenant database, which holds this object's rows",
        ),
        (
            "tenancy",
            object.tenancy.is_some(),
            "stored only: every objectos tenant has a database of its own; no row-level tenant field is added or filtered",
        ),
        (
            "partitioning",
            enabled(object.partitioning.as_ref()),
            "stored only: the table is not partitioned",
        ),
        (
            "cdc",
            enabled(object.cdc.as_ref()),
            "stored only: changes are not streamed to the destination (objectos' own change events are at /api/v1/events)",
        ),
        (
            "stateMachines",
            object.state_machines.as_ref().is_some_and(|m| !m.is_empty()),
            "stored only: served to UIs and automation; to restrict a field's transitions on writes, use a state_machine validation",
        ),
        (
            "search",
            object.search.is_some(),
            "stored only: objectos has no full-text search yet",
        ),
        (
            "sharingModel",
            object.sharing_model.is_some(),
            "stored only: objectos has no record-level sharing; a tenant's keys see every record",
        ),
        (
            "keyPrefix",
            object.key_prefix.is_some(),
            "stored only: record ids are not prefixed",
        ),
        (
            "recordTypes",
            object.record_types.as_ref().is_some_and(|t| !t.is_empty()),
            "stored only: UI metadata",
        ),
        (
            "actions",
            object.actions.as_ref().is_some_and(|a| !a.is_empty()),
            "stored only: UI metadata; objectos runs no actions",
        ),
    ];
    for (key, present, message) in notes {
        if present {
            warnings.push(stored(at.key(key), message));
        }
    }
}

fn check_rule(
    object: &ObjectDefinition,
    rule: &Value,
    at: &JsonPath,
    errors: &mut Vec<Issue>,
    warnings: &mut Vec<Issue>,
) {
    let kind = rule.get("type").and_then(Value::as_str).unwrap_or_default();
    let active = rule.get("active").and_then(Value::as_bool).unwrap_or(true);
    if !active {
        warnings.push(stored(
            at.key("active"),
            "stored only: an inactive rule is not applied",
        ));
        return;
    }
    if STORED_RULE_KINDS.contains(&kind) {
        warnings.push(stored(
            at.key("type"),
            format!(
                "stored only: {kind} validations call code objectos does not host; not enforced"
            ),
        ));
        return;
    }
    if ENFORCED_RULE_KINDS.contains(&kind) {
        check_enforced_rule(object, kind, rule, at, errors);
    } else {
        errors.push(unsupported(
            at.key("type"),
            format!(
                "{kind} validations are not enforced by objectos yet; remove the rule or mark it \
                 active: false (enforced kinds: {})",
                if ENFORCED_RULE_KINDS.is_empty() {
                    "none yet".to_owned()
                } else {
                    ENFORCED_RULE_KINDS.join(", ")
                }
            ),
        ));
    }
}

/// The options of an enforced rule kind that objectos does not honour yet.
fn check_enforced_rule(
    object: &ObjectDefinition,
    kind: &str,
    rule: &Value,
    at: &JsonPath,
    errors: &mut Vec<Issue>,
) {
    let severity = rule
        .get("severity")
        .and_then(Value::as_str)
        .unwrap_or("error");
    if severity != "error" {
        errors.push(unsupported(
            at.key("severity"),
            format!(
                "only rules of severity error are enforced (a write either passes or is refused); \
                 received '{severity}'"
            ),
        ));
    }
    if matches!(kind, "format" | "state_machine") {
        if let Some(field) = rule.get("field").and_then(Value::as_str) {
            if !object.fields.contains_key(field) {
                errors.push(Issue::new(
                    at.key("field"),
                    IssueCode::Custom,
                    format!("Unknown field '{field}' of object '{}'", object.name),
                ));
            }
        }
    }
    if kind == "format" {
        let regex = rule.get("regex").and_then(Value::as_str);
        if regex.is_none() && rule.get("format").is_none() {
            errors.push(unsupported(
                at.clone(),
                "a format rule without regex or format checks nothing; give one of them",
            ));
        }
        if let Some(source) = regex {
            if let Err(e) = objectos_spec::model::compile_rule_regex(source) {
                errors.push(Issue::new(
                    at.key("regex"),
                    IssueCode::Custom,
                    format!("Invalid regex: {e}"),
                ));
            }
        }
    }
    if kind == "unique" {
        if rule.get("caseSensitive").and_then(Value::as_bool) == Some(false) {
            errors.push(unsupported(
                at.key("caseSensitive"),
                "case-insensitive unique rules are not supported yet; a unique index compares values exactly",
            ));
        }
        if rule.get("scope").is_some() {
            errors.push(unsupported(
                at.key("scope"),
                "scoped unique rules are not supported yet (the scope is a formula)",
            ));
        }
        let events: Vec<&str> = rule
            .get("events")
            .and_then(Value::as_array)
            .map(|e| e.iter().filter_map(Value::as_str).collect())
            .unwrap_or_else(|| vec!["insert", "update"]);
        if !(events.contains(&"insert") && events.contains(&"update")) {
            errors.push(unsupported(
                at.key("events"),
                "a unique rule is enforced by a unique index, on inserts and updates alike: its \
                 events must include both",
            ));
        }
    }
}

/// A display format with at most one placeholder, made of zeros (`CASE-{0000}`, `T-`).
fn number_only_format(format: &str) -> bool {
    let opens = format.matches('{').count();
    let closes = format.matches('}').count();
    match (opens, closes) {
        (0, 0) => true,
        (1, 1) => match (format.find('{'), format.find('}')) {
            (Some(open), Some(close)) if open < close => {
                let inner = &format[open + 1..close];
                !inner.is_empty() && inner.chars().all(|c| c == '0')
            }
            _ => false,
        },
        _ => false,
    }
}

/// Gives an object with an autonumber `recordName` its record-name field: the field (named by
/// `displayNameField`, else `name`) is added as a read-only autonumber field when absent, and
/// takes `displayFormat` when it has no format of its own. The deployed model holds the field, so
/// `meta` shows it and the table has its column.
pub fn materialise_record_name(object: &mut ObjectDefinition) {
    let Some((format, _)) = object.record_name_autonumber() else {
        return;
    };
    let format = format.map(str::to_owned);
    let key = object.record_name_field().to_owned();
    match object.fields.get_mut(&key) {
        Some(field) if field.r#type == FieldType::Autonumber => {
            if field.autonumber_format.is_none() {
                field.autonumber_format = format;
            }
        }
        Some(_) => {} // refused by check_object_keys
        None => {
            let mut spec = serde_json::json!({
                "type": "autonumber", "label": "Record Name", "readonly": true
            });
            if let Some(format) = format {
                spec["autonumberFormat"] = Value::String(format);
            }
            // The literal above is a valid Field; a failure would be a defect of the spec types.
            if let Ok(field) = objectos_spec::parse::<Field>(&spec) {
                object.fields.insert(key, field);
            }
        }
    }
}
