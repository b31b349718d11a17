//! Document kinds: every schema a user can validate, typed parsing, and inference from shape.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::engine::{self, type_name};
use crate::issue::{Issue, IssueCode, Issues, JsonPath, PathSegment, ValidationError};
use crate::model::{field_rule_issues, ObjectDefinition};
use crate::types::field::Field;

/// Rules beyond the JSON shape, run on the normalised document (which they may refine).
type Rules = fn(&mut Value, &mut Issues);

/// A kind of document: a name users type (`--as DeployBundle`) and the schema behind it.
#[derive(Debug)]
pub struct Kind {
    /// The schema's name, as in the protocol (`TenantProvisioningRequest`).
    pub name: &'static str,
    /// The embedded schema document (`system/TenantProvisioningRequest`).
    pub schema: &'static str,
    rules: Option<Rules>,
}

macro_rules! kinds {
    ($( $name:literal => $schema:literal $(, $rules:expr)? ;)*) => {
        /// Every kind, in the order inference prefers on a tie.
        pub const KINDS: &[Kind] = &[
            $( Kind { name: $name, schema: $schema, rules: kinds!(@rules $($rules)?) }, )*
        ];
    };
    (@rules) => { None };
    (@rules $rules:expr) => { Some($rules) };
}

kinds! {
    "DeployBundle" => "system/DeployBundle", bundle_rules;
    "DeployManifest" => "system/DeployManifest";
    "ObjectDefinition" => "objectos/ObjectDefinition", object_rules;
    "Field" => "data/Field";
    "Dataset" => "data/Dataset";
    "Index" => "data/Index";
    "SelectOption" => "data/SelectOption";
    "AppManifest" => "system/AppManifest", app_manifest_rules;
    "AppInstallRequest" => "system/AppInstallRequest";
    "AppInstallResult" => "system/AppInstallResult";
    "AppCompatibilityCheck" => "system/AppCompatibilityCheck";
    "TenantProvisioningRequest" => "system/TenantProvisioningRequest";
    "TenantProvisioningResult" => "system/TenantProvisioningResult";
    "ProvisioningStep" => "system/ProvisioningStep";
    "Tenant" => "system/Tenant";
    "TenantConnectionConfig" => "system/TenantConnectionConfig";
    "TenantIsolationConfig" => "system/TenantIsolationConfig";
    "TenantSecurityPolicy" => "system/TenantSecurityPolicy";
    "TenantQuota" => "system/TenantQuota";
    "TenantUsage" => "system/TenantUsage";
    "QuotaEnforcementResult" => "system/QuotaEnforcementResult";
    "DeployDiff" => "system/DeployDiff";
    "DeployValidationIssue" => "system/DeployValidationIssue";
    "DeployValidationResult" => "system/DeployValidationResult";
    "MigrationPlan" => "system/MigrationPlan";
    "TursoMultiTenantConfig" => "data/TursoMultiTenantConfig";
    "TursoGroup" => "data/TursoGroup";
    "TenantDatabaseLifecycle" => "data/TenantDatabaseLifecycle";
    "KernelContext" => "kernel/KernelContext";
    "TenantRuntimeContext" => "kernel/TenantRuntimeContext";
    "DataTypeMapping" => "data/DataTypeMapping";
    "TenantPlan" => "system/TenantPlan";
    "TenantRegion" => "system/TenantRegion";
    "TenantProvisioningStatusEnum" => "system/TenantProvisioningStatusEnum";
    "TenantIsolationLevel" => "system/TenantIsolationLevel";
    "DeployStatusEnum" => "system/DeployStatusEnum";
    "TenantResolverStrategy" => "data/TenantResolverStrategy";
    "FieldType" => "data/FieldType";
    "DatasetMode" => "data/DatasetMode";
    "SQLDialect" => "data/SQLDialect";
}

/// The kind with this name (exact, then ASCII case-insensitive).
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS
        .iter()
        .find(|k| k.name == name)
        .or_else(|| KINDS.iter().find(|k| k.name.eq_ignore_ascii_case(name)))
}

/// A document after validation: normalised (defaults filled) and every issue found.
#[derive(Debug, Clone)]
pub struct Validated {
    /// The document with defaults filled; meaningful only when `issues` is empty.
    pub value: Value,
    /// The first issues found (at most [`crate::MAX_ISSUES`]), in document order; empty when the
    /// document is valid.
    pub issues: Vec<Issue>,
    /// How many issues were found: more than `issues.len()` when the list was cut.
    pub total: usize,
}

impl Validated {
    /// True when no issue was found.
    pub fn is_valid(&self) -> bool {
        self.issues.is_empty()
    }
}

impl Kind {
    /// Validates a document of this kind.
    pub fn validate(&self, value: &Value) -> Validated {
        let schemas = match engine::schemas() {
            Ok(s) => s,
            Err(e) => {
                let issue = Issue::new(
                    JsonPath::root(),
                    IssueCode::Custom,
                    format!("internal: {e}"),
                );
                return Validated {
                    value: value.clone(),
                    issues: vec![issue],
                    total: 1,
                };
            }
        };
        let (mut value, mut issues) = schemas.check(self.schema, value);
        if let Some(rules) = self.rules {
            rules(&mut value, &mut issues);
        }
        let (issues, total) = issues.into_parts();
        Validated {
            value,
            issues,
            total,
        }
    }
}

/// A protocol type that can be parsed from untrusted JSON through its kind's validation.
pub trait SpecType: Serialize + DeserializeOwned {
    /// The kind's name in [`KINDS`].
    const KIND: &'static str;
}

/// Parses untrusted JSON into `T`, reporting every issue with its path.
pub fn parse<T: SpecType>(value: &Value) -> Result<T, ValidationError> {
    let Some(kind) = kind(T::KIND) else {
        let issue = Issue::new(
            JsonPath::root(),
            IssueCode::Custom,
            format!("internal: unknown kind {}", T::KIND),
        );
        return Err(ValidationError::new(vec![issue]));
    };
    let validated = kind.validate(value);
    if !validated.is_valid() {
        return Err(ValidationError::with_total(
            validated.issues,
            validated.total,
        ));
    }
    serde_json::from_value(validated.value).map_err(|e| {
        // The schema accepted what the Rust type refuses: a defect of ours, reported, never a panic.
        let issue = Issue::new(
            JsonPath::root(),
            IssueCode::Custom,
            format!("internal: {e}"),
        );
        ValidationError::new(vec![issue])
    })
}

/// Parses JSON text into `T`; text that is not JSON is reported as one issue at the root.
pub fn parse_str<T: SpecType>(text: &str) -> Result<T, ValidationError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let issue = Issue::new(
            JsonPath::root(),
            IssueCode::InvalidType,
            format!("Expected JSON, {e}"),
        );
        ValidationError::new(vec![issue])
    })?;
    parse(&value)
}

/// What [`infer`] concluded about a document's kind.
#[derive(Debug, Clone, Copy)]
pub struct Inference {
    /// The kind chosen.
    pub kind: &'static Kind,
    /// True when the document is valid as that kind; false when it is only the closest shape.
    pub valid: bool,
}

/// Infers a document's kind from its shape: among the kinds it is valid as, the one whose
/// properties it uses most; when it is valid as none, the closest shape (most keys known,
/// fewest unknown, fewest required keys missing).
pub fn infer(value: &Value) -> Option<Inference> {
    let map = value.as_object()?;
    let schemas = engine::schemas().ok()?;
    let mut best: Option<(bool, i64, usize)> = None;
    for (i, kind) in KINDS.iter().enumerate() {
        let Some((props, required)) = schemas.top_level(kind.schema) else {
            continue;
        };
        let known = map.keys().filter(|k| props.contains(&k.as_str())).count() as i64;
        let unknown = map.len() as i64 - known;
        let missing = required.iter().filter(|r| !map.contains_key(**r)).count() as i64;
        if known == 0 {
            continue;
        }
        let valid = unknown == 0 && missing == 0 && kind.validate(value).is_valid();
        let score = known * 4 - unknown * 4 - missing * 3 - props.len() as i64 / 8;
        let candidate = (valid, score, usize::MAX - i);
        if best.is_none_or(|b| candidate > b) {
            best = Some(candidate);
        }
    }
    best.map(|(valid, _, rev)| Inference {
        kind: &KINDS[usize::MAX - rev],
        valid,
    })
}

/// Zod's transform of an action: a deprecated `execute` without `target` becomes the `target`.
fn migrate_action_execute(value: &mut Value) {
    let Some(actions) = value.get_mut("actions").and_then(Value::as_array_mut) else {
        return;
    };
    for action in actions.iter_mut().filter_map(Value::as_object_mut) {
        let no_target = match action.get("target") {
            None => true,
            Some(Value::String(t)) => t.is_empty(),
            Some(_) => false,
        };
        if no_target {
            let execute = action
                .get("execute")
                .filter(|e| e.as_str().is_some_and(|s| !s.is_empty()))
                .cloned();
            if let Some(execute) = execute {
                action.insert("target".to_owned(), execute);
            }
        }
    }
}

fn object_rules(value: &mut Value, issues: &mut Issues) {
    migrate_action_execute(value);
    if issues.is_empty() {
        match serde_json::from_value::<ObjectDefinition>(value.clone()) {
            Ok(object) => issues.extend(object.check_rules()),
            Err(e) => issues.push(Issue::new(
                JsonPath::root(),
                IssueCode::Custom,
                format!("internal: {e}"),
            )),
        }
        return;
    }
    // Unrecognized keys must not hide what else is wrong (a lookup whose `refrence` is misspelt
    // also lacks its required `reference`): when they are the only issues, the rules still run on
    // the object without them.
    let all_kept = issues.as_slice().len() == issues.total();
    if all_kept
        && issues
            .as_slice()
            .iter()
            .all(|i| i.code == IssueCode::UnrecognizedKeys)
    {
        if let Some(object) = without_unknown_keys(value)
            .and_then(|v| serde_json::from_value::<ObjectDefinition>(v).ok())
        {
            issues.extend(object.check_rules());
            return;
        }
    }
    // The object as a whole is malformed; still check each field whose only problem (if any) is
    // unrecognized keys of its own, so every issue is reported in one pass.
    let Some(fields) = value.get("fields").and_then(Value::as_object) else {
        return;
    };
    let field_keys = known_keys("data/Field");
    let mut extra = Vec::new();
    for (key, field) in fields {
        let prefix = [
            PathSegment::Key("fields".to_owned()),
            PathSegment::Key(key.clone()),
        ];
        let own = issues
            .as_slice()
            .iter()
            .filter(|i| i.path.segments().starts_with(&prefix));
        let mut clean = true;
        let mut only_unknown_keys = true;
        for issue in own {
            clean = false;
            only_unknown_keys &=
                issue.code == IssueCode::UnrecognizedKeys && issue.path.segments() == prefix;
        }
        let field = match (clean, only_unknown_keys, &field_keys) {
            (true, _, _) => field.clone(),
            (false, true, Some(keys)) => retain_keys(field, keys),
            _ => continue,
        };
        if let Ok(field) = serde_json::from_value::<Field>(field) {
            extra.extend(field_rule_issues(key, &field));
        }
    }
    issues.extend(extra);
}

/// The property names of a schema, if it is an object schema.
fn known_keys(schema: &str) -> Option<Vec<String>> {
    let schemas = engine::schemas().ok()?;
    let (props, _) = schemas.top_level(schema)?;
    Some(props.into_iter().map(str::to_owned).collect())
}

/// A copy of `value` (an object) with only the members named in `keys`.
fn retain_keys(value: &Value, keys: &[String]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| keys.iter().any(|known| known == *k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// An object definition without the keys its schema and its fields' schema do not know.
fn without_unknown_keys(value: &Value) -> Option<Value> {
    let object_keys = known_keys("objectos/ObjectDefinition")?;
    let field_keys = known_keys("data/Field")?;
    let mut out = retain_keys(value, &object_keys);
    if let Some(Value::Object(fields)) = out.get_mut("fields") {
        for field in fields.values_mut() {
            *field = retain_keys(field, &field_keys);
        }
    }
    Some(out)
}

/// Each entry of a bundle's `objects[]` is an [`ObjectDefinition`], with paths into the bundle.
fn bundle_rules(value: &mut Value, issues: &mut Issues) {
    let Some(objects) = value.get_mut("objects").and_then(Value::as_array_mut) else {
        return;
    };
    let Some(object_kind) = kind("ObjectDefinition") else {
        return;
    };
    for (i, object) in objects.iter_mut().enumerate() {
        if !object.is_object() {
            continue; // the bundle schema has already reported the wrong type
        }
        let prefix = JsonPath::root().key("objects").index(i);
        // Once the list is full the bundle is refused whatever follows: the objects are still
        // checked to count their issues, but their normalised copies are not kept.
        let keep_value = !issues.is_full();
        let validated = object_kind.validate(object);
        issues.count_dropped(validated.total - validated.issues.len());
        issues.extend(validated.issues.into_iter().map(|mut issue| {
            issue.path = issue.path.prefixed(&prefix);
            issue
        }));
        if keep_value {
            *object = validated.value;
        }
    }
}

/// `version` and `minKernelVersion` are semantic versions (the spec describes them so; upgrades compare them).
fn app_manifest_rules(value: &mut Value, issues: &mut Issues) {
    for key in ["version", "minKernelVersion"] {
        if let Some(Value::String(text)) = value.get(key) {
            if let Err(e) = semver::Version::parse(text) {
                issues.push(Issue::new(
                    JsonPath::root().key(key),
                    IssueCode::InvalidString,
                    format!("Invalid semver: expected MAJOR.MINOR.PATCH such as 1.4.0, received '{text}' ({e})"),
                ));
            }
        }
    }
}

/// The JSON type name of a value, as used in messages (`received number`).
pub fn json_type_name(value: &Value) -> &'static str {
    type_name(value)
}
