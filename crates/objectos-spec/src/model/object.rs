//! The object (table) definition and the rules its JSON shape cannot express.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::issue::{Issue, IssueCode, JsonPath};
use crate::types::field::{Field, FieldType, Index};

/// System columns every object table has; field keys may not reuse them.
pub const SYSTEM_COLUMNS: &[&str] = &["id", "created_at", "updated_at"];

/// Object-name prefixes reserved for objectos' and SQLite's own tables.
pub const RESERVED_OBJECT_PREFIXES: &[&str] = &["_objectos", "sqlite_"];

/// The API methods an object may enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiMethod {
    /// Read one record.
    Get,
    /// List records.
    List,
    /// Create a record.
    Create,
    /// Update a record.
    Update,
    /// Delete a record.
    Delete,
    /// Insert or update by key.
    Upsert,
    /// Batch operations.
    Bulk,
    /// Aggregations.
    Aggregate,
    /// Field history.
    History,
    /// Full-text search.
    Search,
    /// Restore from trash.
    Restore,
    /// Purge from trash.
    Purge,
    /// Bulk import.
    Import,
    /// Bulk export.
    Export,
}

/// Capabilities of an object (`enable`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectCapabilities {
    /// Keep field history.
    pub track_history: bool,
    /// Include in search.
    pub searchable: bool,
    /// Serve through the data API.
    pub api_enabled: bool,
    /// Allow attachments.
    pub files: bool,
    /// Allow feeds.
    pub feeds: bool,
    /// Allow activities.
    pub activities: bool,
    /// Soft delete to a trash.
    pub trash: bool,
    /// Track recently used records.
    pub mru: bool,
    /// Allow record cloning.
    pub clone: bool,
    /// The API methods served; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_methods: Option<Vec<ApiMethod>>,
}

/// An object definition: a table, its fields and indexes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectDefinition {
    /// Machine name (snake_case); also the table name.
    pub name: String,
    /// Human readable singular label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Human readable plural label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plural_label: Option<String>,
    /// What the object holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Icon name for UIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Free tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Logical domain namespace; the table is `{namespace}_{name}` unless `tableName` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Whether the object is in use.
    pub active: bool,
    /// A system object: protected from deletion.
    #[serde(default)]
    pub is_system: bool,
    /// An abstract base object (cannot be instantiated).
    #[serde(default)]
    pub r#abstract: bool,
    /// Target datasource id (`default`: the tenant database).
    #[serde(default = "default_datasource")]
    pub datasource: String,
    /// Physical table name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    /// Fields by key, in declaration order (the column order).
    pub fields: IndexMap<String, Field>,
    /// Secondary indexes.
    pub indexes: Vec<Index>,
    /// Multi-tenancy configuration, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenancy: Option<Value>,
    /// Soft delete configuration, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_delete: Option<Value>,
    /// Versioning configuration, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versioning: Option<Value>,
    /// Partitioning configuration, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitioning: Option<Value>,
    /// Change data capture configuration, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdc: Option<Value>,
    /// Object-level validation rules, as given (see [`ObjectDefinition::validation_rules`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validations: Option<Vec<Value>>,
    /// Named state machines, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_machines: Option<Map<String, Value>>,
    /// Capabilities.
    pub enable: ObjectCapabilities,
    /// Field used as the record's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name_field: Option<String>,
    /// Record title template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_format: Option<String>,
    /// Record name generation, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_name: Option<Value>,
    /// Fields shown in compact views.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compact_layout: Option<Vec<String>>,
    /// Search configuration, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<Value>,
    /// Record type names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_types: Option<Vec<String>>,
    /// Default sharing model (`private`, `read`, `read_write`, `full`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_model: Option<String>,
    /// Short prefix for record ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
    /// Actions of the object, as given (with `execute` copied to `target`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<Value>>,
}

/// A `unique` validation rule, enforced by a unique index over its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueRule<'a> {
    /// Its position in `validations`.
    pub index: usize,
    /// The rule's name.
    pub name: &'a str,
    /// The message shown when a write breaks it.
    pub message: &'a str,
    /// The field keys that must be unique together.
    pub fields: Vec<&'a str>,
}

/// The datasource of objects that name none.
pub const DEFAULT_DATASOURCE: &str = "default";

fn default_datasource() -> String {
    DEFAULT_DATASOURCE.to_owned()
}

impl ObjectDefinition {
    /// The physical column of a field: its `columnName`, or its key.
    pub fn column_of<'a>(key: &'a str, field: &'a Field) -> &'a str {
        field.column_name.as_deref().unwrap_or(key)
    }

    /// The physical table: `tableName`, else `{namespace}_{name}` when a namespace is given, else
    /// the object's name. The data API always addresses the object by `name`.
    pub fn table(&self) -> String {
        match (&self.table_name, &self.namespace) {
            (Some(table), _) => table.clone(),
            (None, Some(namespace)) => format!("{namespace}_{}", self.name),
            (None, None) => self.name.clone(),
        }
    }

    /// The validation rules that apply to writes: active, of severity `error`, with their position.
    pub fn applied_rules(&self) -> impl Iterator<Item = (usize, &Value)> {
        self.validations
            .iter()
            .flatten()
            .enumerate()
            .filter(|(_, rule)| {
                rule.get("active").and_then(Value::as_bool).unwrap_or(true)
                    && rule
                        .get("severity")
                        .and_then(Value::as_str)
                        .unwrap_or("error")
                        == "error"
            })
    }

    /// The applied `unique` rules (case-sensitive, without `scope`: the ones an index enforces).
    pub fn unique_rules(&self) -> Vec<UniqueRule<'_>> {
        self.applied_rules()
            .filter(|(_, rule)| {
                rule.get("type").and_then(Value::as_str) == Some("unique")
                    && rule
                        .get("caseSensitive")
                        .and_then(Value::as_bool)
                        .unwrap_or(true)
                    && rule.get("scope").is_none()
            })
            .map(|(index, rule)| UniqueRule {
                index,
                name: rule.get("name").and_then(Value::as_str).unwrap_or_default(),
                message: rule
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                fields: rule
                    .get("fields")
                    .and_then(Value::as_array)
                    .map(|f| f.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// The field that holds the record's name: `displayNameField`, else `name`.
    pub fn record_name_field(&self) -> &str {
        self.display_name_field.as_deref().unwrap_or("name")
    }

    /// `recordName` of type `autonumber`: its `displayFormat` and first number (`startNumber`,
    /// default 1); `None` for text record names.
    pub fn record_name_autonumber(&self) -> Option<(Option<&str>, i64)> {
        let config = self.record_name.as_ref()?;
        if config.get("type").and_then(Value::as_str) != Some("autonumber") {
            return None;
        }
        let format = config.get("displayFormat").and_then(Value::as_str);
        let start = config
            .get("startNumber")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        Some((format, start))
    }

    /// True when `name` is a field key or a system column.
    pub fn has_column_key(&self, name: &str) -> bool {
        SYSTEM_COLUMNS.contains(&name) || self.fields.contains_key(name)
    }

    /// Checks the rules beyond the JSON shape; issues carry paths relative to the object.
    pub fn check_rules(&self) -> Vec<Issue> {
        let mut issues = Vec::new();
        let root = JsonPath::root();
        let mut push = |path: JsonPath, message: String| {
            issues.push(Issue::new(path, IssueCode::Custom, message))
        };

        if let Some(prefix) = RESERVED_OBJECT_PREFIXES
            .iter()
            .find(|p| self.name.starts_with(**p))
        {
            push(
                root.key("name"),
                format!(
                    "Object names starting with '{prefix}' are reserved, received '{}'",
                    self.name
                ),
            );
        }

        self.check_table_rules(&mut push);
        self.check_refinements(&mut push);

        let mut columns: IndexMap<&str, &str> = IndexMap::new();
        for (key, field) in &self.fields {
            let at = root.key("fields").key(key);
            check_field(key, field, &at, &mut push);
            if SYSTEM_COLUMNS.contains(&key.as_str()) {
                push(
                    at.clone(),
                    format!("'{key}' is a system column maintained by objectos; choose another field key"),
                );
            }
            let column = Self::column_of(key, field);
            // Point at what the document says: the columnName when given, else the field itself.
            let column_at = if field.column_name.is_some() {
                at.key("columnName")
            } else {
                at.clone()
            };
            if field.column_name.is_some() && SYSTEM_COLUMNS.contains(&column) {
                push(
                    column_at,
                    format!("'{column}' is a system column maintained by objectos; choose another columnName"),
                );
            } else if let Some(other) = columns.insert(column, key) {
                push(
                    column_at,
                    format!("Column '{column}' is already used by field '{other}'"),
                );
            }
        }

        let mut index_names: IndexMap<&str, usize> = IndexMap::new();
        for (i, index) in self.indexes.iter().enumerate() {
            let at = root.key("indexes").index(i);
            if index.fields.is_empty() {
                push(
                    at.key("fields"),
                    "An index needs at least one field".to_owned(),
                );
            }
            for (j, name) in index.fields.iter().enumerate() {
                if !self.has_column_key(name) {
                    push(
                        at.key("fields").index(j),
                        format!(
                            "Unknown field '{name}'; expected one of {}",
                            self.field_list()
                        ),
                    );
                }
            }
            if let Some(name) = &index.name {
                if let Some(first) = index_names.insert(name, i) {
                    push(
                        at.key("name"),
                        format!("Index name '{name}' is already used by indexes[{first}]"),
                    );
                }
            }
        }

        if let Some(name) = &self.display_name_field {
            if !self.has_column_key(name) {
                push(
                    root.key("displayNameField"),
                    format!(
                        "Unknown field '{name}'; expected one of {}",
                        self.field_list()
                    ),
                );
            }
        }
        for (i, name) in self.compact_layout.iter().flatten().enumerate() {
            if !self.has_column_key(name) {
                push(
                    root.key("compactLayout").index(i),
                    format!(
                        "Unknown field '{name}'; expected one of {}",
                        self.field_list()
                    ),
                );
            }
        }
        issues
    }

    /// The physical table name must be a usable identifier (objectos is stricter than the spec,
    /// which allows any string: the name becomes SQL).
    fn check_table_rules(&self, push: &mut impl FnMut(JsonPath, String)) {
        let root = JsonPath::root();
        let (at, table) = match (&self.table_name, &self.namespace) {
            (Some(table), _) => (root.key("tableName"), table.clone()),
            (None, Some(_)) => (root.key("namespace"), self.table()),
            (None, None) => return,
        };
        if !is_identifier(&table) {
            push(
                at,
                format!("Invalid table name '{table}': expected snake_case matching ^[a-z_][a-z0-9_]*$, 1 to 63 characters"),
            );
        } else if let Some(prefix) = RESERVED_OBJECT_PREFIXES
            .iter()
            .find(|p| table.starts_with(**p))
        {
            push(
                at,
                format!("Table names starting with '{prefix}' are reserved, received '{table}'"),
            );
        }
    }

    /// The refinements of the protocol's Zod schema that its JSON Schema export cannot express.
    fn check_refinements(&self, push: &mut impl FnMut(JsonPath, String)) {
        let root = JsonPath::root();
        if let Some(partitioning) = &self.partitioning {
            let range = partitioning.get("strategy").and_then(Value::as_str) == Some("range");
            let interval = partitioning
                .get("interval")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
            if range && !interval {
                push(
                    root.key("partitioning"),
                    "interval is required when strategy is \"range\"".to_owned(),
                );
            }
        }
        for (i, action) in self.actions.iter().flatten().enumerate() {
            let kind = action
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("script");
            let target = action
                .get("target")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
            if kind != "script" && !target {
                push(
                    root.key("actions").index(i).key("target"),
                    "Action 'target' is required when type is 'url', 'flow', 'modal', or 'api'."
                        .to_owned(),
                );
            }
        }
    }

    fn field_list(&self) -> String {
        let keys: Vec<String> = SYSTEM_COLUMNS
            .iter()
            .map(|s| (*s).to_owned())
            .chain(self.fields.keys().cloned())
            .map(|k| format!("'{k}'"))
            .collect();
        keys.join(", ")
    }
}

/// The rules of one field, with paths `fields.<key>...` relative to its object.
pub fn field_rule_issues(key: &str, field: &Field) -> Vec<Issue> {
    let mut issues = Vec::new();
    let at = JsonPath::root().key("fields").key(key);
    check_field(key, field, &at, &mut |path, message| {
        issues.push(Issue::new(path, IssueCode::Custom, message))
    });
    issues
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 63
}

/// Field types whose values come from `options`.
pub const OPTION_TYPES: &[FieldType] = &[
    FieldType::Select,
    FieldType::Multiselect,
    FieldType::Radio,
    FieldType::Checkboxes,
];

/// Field types that point at another object.
pub const RELATION_TYPES: &[FieldType] = &[FieldType::Lookup, FieldType::MasterDetail];

fn check_field(key: &str, field: &Field, at: &JsonPath, push: &mut impl FnMut(JsonPath, String)) {
    if let Some(name) = &field.name {
        if name != key {
            push(
                at.key("name"),
                format!(
                    "Field name '{name}' differs from its key '{key}'; omit it or make them equal"
                ),
            );
        }
    }
    if let Some(column) = &field.column_name {
        if !is_identifier(column) {
            push(
                at.key("columnName"),
                format!("Invalid column name '{column}': expected snake_case matching ^[a-z_][a-z0-9_]*$, at most 63 characters"),
            );
        }
    }
    let ty = field.r#type;
    if RELATION_TYPES.contains(&ty) {
        match &field.reference {
            None => push(
                at.key("reference"),
                format!("Required for {} fields: the name of the object referenced", ty.as_str()),
            ),
            Some(target) if !is_identifier(target) => push(
                at.key("reference"),
                format!("Invalid object name '{target}': expected snake_case matching ^[a-z_][a-z0-9_]*$"),
            ),
            Some(_) => {}
        }
    }
    if OPTION_TYPES.contains(&ty) {
        match &field.options {
            None => push(
                at.key("options"),
                format!("Required for {} fields: the allowed values", ty.as_str()),
            ),
            Some(options) if options.is_empty() => push(
                at.key("options"),
                format!("A {} field needs at least one option", ty.as_str()),
            ),
            Some(options) => {
                let mut seen: IndexMap<&str, usize> = IndexMap::new();
                for (i, option) in options.iter().enumerate() {
                    if let Some(first) = seen.insert(option.value.as_str(), i) {
                        push(
                            at.key("options").index(i).key("value"),
                            format!(
                                "Duplicate option value '{}' (first at options[{first}])",
                                option.value
                            ),
                        );
                    }
                }
                check_option_default(field, options, at, push);
            }
        }
    }
    if ty == FieldType::Formula && field.expression.as_deref().is_none_or(str::is_empty) {
        push(
            at.key("expression"),
            "Required for formula fields".to_owned(),
        );
    }
    if ty == FieldType::Summary && field.summary_operations.is_none() {
        push(
            at.key("summaryOperations"),
            "Required for summary fields".to_owned(),
        );
    }
    if let (Some(min), Some(max)) = (field.min_length, field.max_length) {
        if min > max {
            push(
                at.key("minLength"),
                format!("minLength {min} is greater than maxLength {max}"),
            );
        }
    }
    for (name, value) in [
        ("minLength", field.min_length),
        ("maxLength", field.max_length),
    ] {
        if value.is_some_and(|v| v < 0.0 || v.fract() != 0.0) {
            push(
                at.key(name),
                format!(
                    "Expected a whole number of characters ≥ 0, received {}",
                    value.unwrap_or_default()
                ),
            );
        }
    }
    if let (Some(min), Some(max)) = (field.min, field.max) {
        if min > max {
            push(
                at.key("min"),
                format!("min {min} is greater than max {max}"),
            );
        }
    }
}

fn check_option_default(
    field: &Field,
    options: &[crate::types::field::SelectOption],
    at: &JsonPath,
    push: &mut impl FnMut(JsonPath, String),
) {
    let Some(default) = &field.default_value else {
        return;
    };
    let allowed = |v: &serde_json::Value| {
        v.as_str()
            .is_some_and(|s| options.iter().any(|o| o.value == s))
    };
    let ok = match default {
        serde_json::Value::Array(items) => items.iter().all(allowed),
        other => allowed(other),
    };
    if !ok {
        let values: Vec<String> = options.iter().map(|o| format!("'{}'", o.value)).collect();
        push(
            at.key("defaultValue"),
            format!(
                "Default {} is not among the options {}",
                crate::engine::quote(default),
                values.join(" | ")
            ),
        );
    }
}
