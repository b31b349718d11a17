//! Walks a document against a compiled schema the way Zod parses input: every issue is collected,
//! defaults fill missing keys, unknown keys are rejected, and a normalised copy is produced.

use serde_json::{Map, Number, Value};

use super::compile::{Additional, Arena, Format, Node, NodeId, Ty};
use crate::issue::{Issue, IssueCode, Issues, JsonPath};

/// Longest excerpt of a given value quoted in a message.
const QUOTE_MAX: usize = 60;

/// Unknown keys of one object named in its `unrecognized_keys` message.
const UNKNOWN_KEYS_LISTED: usize = 20;

/// The walk's state: the arena, where we are, and what has gone wrong so far.
pub(crate) struct Checker<'a> {
    arena: &'a Arena,
    path: JsonPath,
    /// The first [`crate::MAX_ISSUES`] issues, and the count of all.
    pub(crate) issues: Issues,
    /// A trial (one variant of a union) only asks whether there is any issue: it stops at the
    /// first one instead of walking the rest of the value.
    stop_at_first: bool,
    /// Defaults are not filled in: the document already has more issues than are kept, so its
    /// normalised value will not be used, and filling every missing default of a large invalid
    /// document multiplied its size many times.
    skip_defaults: bool,
    /// No normalised value is wanted: a union trial of a checker that already only counts.
    discard: bool,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(arena: &'a Arena) -> Self {
        Self {
            arena,
            path: JsonPath::root(),
            issues: Issues::new(),
            stop_at_first: false,
            skip_defaults: false,
            discard: false,
        }
    }

    /// Whether the walk only counts issues: once the list is full the document is refused
    /// whatever follows, and its normalised copy is not used (the callers stop at a full list),
    /// so none is built. A 1 MiB invalid bundle made three copies of itself as `Value` trees,
    /// ~60 MB per request (issue #14); counting walks the input without copying it.
    fn counting(&self) -> bool {
        self.discard || (self.issues.is_full() && !self.stop_at_first)
    }

    /// `value` as the result of a check: a copy, or nothing while [`Self::counting`].
    fn keep(&self, value: &Value) -> Value {
        if self.counting() {
            Value::Null
        } else {
            value.clone()
        }
    }

    /// What the next check of a chain reads: the value normalised so far, or the input itself
    /// while counting (nothing normalised is kept then).
    fn current<'v>(&self, out: &'v Option<Value>, value: &'v Value) -> &'v Value {
        match out {
            Some(v) if !self.counting() => v,
            _ => value,
        }
    }

    fn issue(&mut self, code: IssueCode, message: String) {
        if self.issues.is_full() {
            // Counted, not kept (nor its path copied).
            self.issues.count_dropped(1);
            return;
        }
        self.issues
            .push(Issue::new(self.path.clone(), code, message));
    }

    /// Checks `value` against node `id`, returning the normalised value.
    pub(crate) fn check(&mut self, id: NodeId, value: &Value) -> Value {
        if self.stop_at_first && !self.issues.is_empty() {
            return self.keep(value);
        }
        let node = self.arena.node(id);

        if let Some(expected) = &node.const_value {
            if value != expected {
                self.issue(
                    IssueCode::InvalidLiteral,
                    format!(
                        "Invalid literal value, expected {expected}, received {}",
                        quote(value)
                    ),
                );
                return self.keep(value);
            }
        }
        if let Some(options) = &node.enum_values {
            if !self.check_enum(options, value) {
                return self.keep(value);
            }
        }
        // The value so far: `None` while it is still the input itself, so that a node that only
        // forwards to others (`$ref`, `allOf`, unions) does not copy the input first.
        let mut out: Option<Value> = match node.ty {
            Some(ty) => match self.check_type(node, ty, value) {
                Some(v) => Some(v),
                None => return self.keep(value),
            },
            // Nodes without a type still constrain the values of the types they name rules for.
            None => self.check_untyped_rules(node, value),
        };
        if let Some(target) = node.reference {
            out = Some(self.check(target, self.current(&out, value)));
        }
        for &branch in &node.all_of {
            out = Some(self.check(branch, self.current(&out, value)));
        }
        if !node.any_of.is_empty() {
            out = Some(self.check_union(&node.any_of, self.current(&out, value), false));
        }
        if !node.one_of.is_empty() {
            out = Some(self.check_union(&node.one_of, self.current(&out, value), true));
        }
        // Even with issues the partly normalised value is returned: rules use its well-formed parts.
        match out {
            Some(_) if self.counting() => Value::Null,
            Some(v) => v,
            None => self.keep(value),
        }
    }

    fn check_enum(&mut self, options: &[Value], value: &Value) -> bool {
        if options.contains(value) {
            return true;
        }
        if self.issues.is_full() {
            // Only counted: spare listing every allowed value.
            self.issues.count_dropped(1);
            return false;
        }
        let expected = options.iter().map(quote).collect::<Vec<_>>().join(" | ");
        let all_strings = options.iter().all(Value::is_string);
        if all_strings && !value.is_string() {
            self.issue(
                IssueCode::InvalidType,
                format!("Expected {expected}, received {}", type_name(value)),
            );
        } else {
            let suggestion = value
                .as_str()
                .and_then(|given| {
                    crate::did_you_mean(given, options.iter().filter_map(Value::as_str))
                })
                .map_or_else(String::new, |s| format!("; did you mean '{s}'?"));
            self.issue(
                IssueCode::InvalidEnumValue,
                format!(
                    "Invalid enum value. Expected {expected}, received {}{suggestion}",
                    quote(value)
                ),
            );
        }
        false
    }

    /// Checks the JSON type and the rules of that type; `None` when the type is wrong.
    fn check_type(&mut self, node: &Node, ty: Ty, value: &Value) -> Option<Value> {
        match (ty, value) {
            (Ty::String, Value::String(s)) => {
                self.check_string(node, s);
                Some(value.clone())
            }
            (Ty::Number, Value::Number(n)) => {
                self.check_number(node, n);
                Some(value.clone())
            }
            (Ty::Integer, Value::Number(n)) => match integral(n) {
                Some(int) => {
                    self.check_number(node, n);
                    Some(Value::Number(int))
                }
                None => {
                    self.issue(
                        IssueCode::InvalidType,
                        "Expected integer, received float".to_owned(),
                    );
                    None
                }
            },
            (Ty::Boolean, Value::Bool(_)) | (Ty::Null, Value::Null) => Some(value.clone()),
            (Ty::Object, Value::Object(map)) => Some(Value::Object(self.check_object(node, map))),
            (Ty::Array, Value::Array(items)) => Some(Value::Array(self.check_array(node, items))),
            _ => {
                let message = if value.is_null() && ty != Ty::Null {
                    format!("Expected {}, received null", ty_name(ty))
                } else {
                    format!("Expected {}, received {}", ty_name(ty), type_name(value))
                };
                self.issue(IssueCode::InvalidType, message);
                None
            }
        }
    }

    /// The rules of an untyped node; `Some` with the normalised value when it makes one (objects
    /// and arrays with a schema), `None` when the value stays the input.
    fn check_untyped_rules(&mut self, node: &Node, value: &Value) -> Option<Value> {
        match value {
            Value::String(s) => self.check_string(node, s),
            Value::Number(n) => self.check_number(node, n),
            Value::Object(map) if !node.properties.is_empty() || node.additional.is_some() => {
                return Some(Value::Object(self.check_object(node, map)))
            }
            Value::Array(items) if node.items.is_some() => {
                return Some(Value::Array(self.check_array(node, items)))
            }
            _ => {}
        }
        None
    }

    fn check_string(&mut self, node: &Node, s: &str) {
        let len = s.chars().count() as u64;
        if let Some(min) = node.min_length {
            if len < min {
                self.issue(
                    IssueCode::TooSmall,
                    format!("String must contain at least {min} character(s), received {len}"),
                );
            }
        }
        if let Some(max) = node.max_length {
            if len > max {
                self.issue(
                    IssueCode::TooBig,
                    format!("String must contain at most {max} character(s), received {len}"),
                );
            }
        }
        if let Some(pattern) = &node.pattern {
            // A regex that gives up (backtrack limit) counts as no match: the input is refused, not accepted.
            if !pattern.regex.is_match(s).unwrap_or(false) {
                let given = quote(&Value::String(s.to_owned()));
                let message = match node.format {
                    Some(Format::Email) => format!("Invalid email, received {given}"),
                    Some(Format::DateTime) => format!(
                        "Invalid datetime: expected an ISO-8601 UTC timestamp such as 2026-01-31T09:30:00Z, received {given}"
                    ),
                    Some(Format::Uuid) => format!("Invalid uuid, received {given}"),
                    _ => format!("Invalid string: must match /{}/, received {given}", pattern.source),
                };
                self.issue(IssueCode::InvalidString, message);
            }
        }
    }

    fn check_number(&mut self, node: &Node, n: &Number) {
        let Some(x) = n.as_f64() else { return };
        if let Some(min) = node.minimum {
            if x < min {
                self.issue(
                    IssueCode::TooSmall,
                    format!("Number must be greater than or equal to {min}, received {n}"),
                );
            }
        }
        if let Some(min) = node.exclusive_minimum {
            if x <= min {
                self.issue(
                    IssueCode::TooSmall,
                    format!("Number must be greater than {min}, received {n}"),
                );
            }
        }
        if let Some(max) = node.maximum {
            if x > max {
                self.issue(
                    IssueCode::TooBig,
                    format!("Number must be less than or equal to {max}, received {n}"),
                );
            }
        }
        if let Some(max) = node.exclusive_maximum {
            if x >= max {
                self.issue(
                    IssueCode::TooBig,
                    format!("Number must be less than {max}, received {n}"),
                );
            }
        }
    }

    fn check_object(&mut self, node: &Node, map: &Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::new();
        for (name, prop) in &node.properties {
            self.path.push_key(name);
            match map.get(name) {
                Some(v) => {
                    let checked = self.check(*prop, v);
                    if !self.counting() {
                        out.insert(name.clone(), checked);
                    }
                }
                None => {
                    if let Some(default) = self.default_of(*prop) {
                        if !(self.skip_defaults || self.issues.is_full()) {
                            // Run through their schema so nested defaults are filled too.
                            let mut scratch = Checker::new(self.arena);
                            let filled = scratch.check(*prop, &default);
                            out.insert(name.clone(), filled);
                        }
                    } else if node.required.iter().any(|r| r == name) {
                        self.issue(IssueCode::InvalidType, "Required".to_owned());
                    }
                }
            }
            self.path.pop();
        }
        let mut unknown = Vec::new();
        for (key, v) in map {
            if let Some(names) = node.property_names {
                self.path.push_key(key);
                self.check(names, &Value::String(key.clone()));
                self.path.pop();
            }
            if node.properties.iter().any(|(name, _)| name == key) {
                continue;
            }
            match node.additional.unwrap_or(Additional::Any) {
                Additional::Any => {
                    if !self.counting() {
                        out.insert(key.clone(), v.clone());
                    }
                }
                Additional::Deny => unknown.push(key.as_str()),
                Additional::Schema(id) => {
                    self.path.push_key(key);
                    let checked = self.check(id, v);
                    self.path.pop();
                    if !self.counting() {
                        out.insert(key.clone(), checked);
                    }
                }
            }
        }
        if !unknown.is_empty() {
            // The keys are the input's: name a bounded number of them.
            let mut listed = unknown
                .iter()
                .take(UNKNOWN_KEYS_LISTED)
                .map(|k| {
                    crate::quoted_with_suggestion(
                        k,
                        node.properties
                            .iter()
                            .map(|(name, _)| name.as_str())
                            .filter(|name| !map.contains_key(*name)),
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            if unknown.len() > UNKNOWN_KEYS_LISTED {
                listed.push_str(&format!(
                    " and {} more",
                    unknown.len() - UNKNOWN_KEYS_LISTED
                ));
            }
            let known = node
                .properties
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            self.issue(
                IssueCode::UnrecognizedKeys,
                format!("Unrecognized key(s) in object: {listed}; allowed keys: {known}"),
            );
        }
        out
    }

    /// The default of a node, looking through `$ref`.
    fn default_of(&self, id: NodeId) -> Option<Value> {
        let node = self.arena.node(id);
        node.default
            .clone()
            .or_else(|| node.reference.and_then(|r| self.default_of(r)))
    }

    fn check_array(&mut self, node: &Node, items: &[Value]) -> Vec<Value> {
        let len = items.len() as u64;
        if let Some(min) = node.min_items {
            if len < min {
                self.issue(
                    IssueCode::TooSmall,
                    format!("Array must contain at least {min} element(s), received {len}"),
                );
            }
        }
        if let Some(max) = node.max_items {
            if len > max {
                self.issue(
                    IssueCode::TooBig,
                    format!("Array must contain at most {max} element(s), received {len}"),
                );
            }
        }
        let Some(item) = node.items else {
            return if self.counting() {
                Vec::new()
            } else {
                items.to_vec()
            };
        };
        let mut out = Vec::new();
        for (i, v) in items.iter().enumerate() {
            self.path.push_index(i);
            let checked = self.check(item, v);
            self.path.pop();
            if !self.counting() {
                out.push(checked);
            }
        }
        out
    }

    /// `anyOf` / `oneOf`. A union of objects told apart by a constant property is checked as a
    /// discriminated union (issues come from the chosen variant); otherwise variants are tried in order.
    fn check_union(&mut self, branches: &[NodeId], value: &Value, exactly_one: bool) -> Value {
        if let Some(key) = self.discriminator(branches) {
            let tag = value.get(&key);
            let chosen = branches
                .iter()
                .copied()
                .find(|&b| self.const_of(b, &key).as_ref() == tag);
            return match (chosen, value.is_object()) {
                (Some(branch), _) => self.check(branch, value),
                (None, false) => {
                    self.issue(
                        IssueCode::InvalidType,
                        format!("Expected object, received {}", type_name(value)),
                    );
                    self.keep(value)
                }
                (None, true) => {
                    let expected = branches
                        .iter()
                        .filter_map(|&b| self.const_of(b, &key))
                        .map(|v| quote(&v))
                        .collect::<Vec<_>>()
                        .join(" | ");
                    self.path.push_key(&key);
                    self.issue(
                        IssueCode::InvalidUnionDiscriminator,
                        format!(
                            "Invalid discriminator value. Expected {expected}, received {}",
                            tag.map_or_else(|| "undefined".to_owned(), quote)
                        ),
                    );
                    self.path.pop();
                    self.keep(value)
                }
            };
        }
        let mut matched: Option<Value> = None;
        let mut matches = 0;
        for &branch in branches {
            let mut trial = Checker {
                arena: self.arena,
                path: self.path.clone(),
                issues: Issues::new(),
                stop_at_first: true,
                skip_defaults: self.skip_defaults || self.issues.is_full(),
                discard: self.counting(),
            };
            let out = trial.check(branch, value);
            if trial.issues.is_empty() {
                matches += 1;
                matched.get_or_insert(out);
            }
        }
        match matched {
            Some(out) if !(exactly_one && matches > 1) => out,
            Some(_) => {
                self.issue(
                    IssueCode::InvalidUnion,
                    format!("Invalid input: matches {matches} variants of a union that needs exactly one"),
                );
                self.keep(value)
            }
            None => {
                self.issue(
                    IssueCode::InvalidUnion,
                    format!(
                        "Invalid input: {} matches none of the {} allowed forms",
                        type_name(value),
                        branches.len()
                    ),
                );
                self.keep(value)
            }
        }
    }

    fn resolved(&self, mut id: NodeId) -> &Node {
        // Follow `$ref`-only nodes; a cycle of pure references cannot come from a compiled schema
        // that also validates anything, but the bound keeps this total.
        for _ in 0..32 {
            let node = self.arena.node(id);
            match node.reference {
                Some(next) if node.ty.is_none() && node.properties.is_empty() => id = next,
                _ => return node,
            }
        }
        self.arena.node(id)
    }

    fn const_of(&self, branch: NodeId, key: &str) -> Option<Value> {
        let node = self.resolved(branch);
        let (_, prop) = node.properties.iter().find(|(name, _)| name == key)?;
        self.resolved(*prop).const_value.clone()
    }

    fn discriminator(&self, branches: &[NodeId]) -> Option<String> {
        let first = self.resolved(*branches.first()?);
        first
            .properties
            .iter()
            .map(|(name, _)| name)
            .find(|name| branches.iter().all(|&b| self.const_of(b, name).is_some()))
            .cloned()
    }
}

/// An integral JSON number as an integer `Number` (`3.0` becomes `3`), or `None` for a fraction.
fn integral(n: &Number) -> Option<Number> {
    if n.is_i64() || n.is_u64() {
        return Some(n.clone());
    }
    let x = n.as_f64()?;
    if x.fract() != 0.0 || !x.is_finite() {
        return None;
    }
    // Within ±2^63 the cast is exact for integral values; beyond it the bounds check reports the value.
    if x.abs() < 9.2e18 {
        Some(Number::from(x as i64))
    } else {
        Some(n.clone())
    }
}

fn ty_name(ty: Ty) -> &'static str {
    match ty {
        Ty::String => "string",
        Ty::Number => "number",
        Ty::Integer => "integer",
        Ty::Boolean => "boolean",
        Ty::Object => "object",
        Ty::Array => "array",
        Ty::Null => "null",
    }
}

/// The Zod name of a value's type, as used in `received ...`.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value quoted for a message, strings in single quotes, long ones shortened.
pub(crate) fn quote(value: &Value) -> String {
    let text = match value {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    };
    if text.chars().count() > QUOTE_MAX {
        let cut: String = text.chars().take(QUOTE_MAX).collect();
        format!("{cut}…")
    } else {
        text
    }
}
