//! Bundle validation: everything a deploy checks before looking at the database, all issues at once.
//!
//! What is checked, with the paths reported (from the bundle root):
//! - the spec shape (`DeployBundle`), each `objects[i]` as an `ObjectDefinition`;
//! - duplicate object names (`objects[j].name`);
//! - the manifest lists against the contents: a name listed but absent (`manifest.objects[i]`,
//!   `manifest.views[i]`, ...), an entry not listed (`objects[j].name`, `views[j].name`, ...);
//! - `manifest.checksum`, when given: [`objectos_spec::canonical::bundle_checksum`] of the bundle as
//!   sent (RFC 8785 canonical JSON without `manifest.checksum`, SHA-256, lowercase hex);
//! - `reference` of lookup / master_detail / tree fields names an object of the bundle
//!   (`objects[i].fields.<key>.reference`); a bundle is the whole model (objects it leaves out are
//!   dropped), so an object that is only deployed is reported as about to be dropped;
//! - `seedData[i]` as a spec `Dataset` (`seedData[i]...`); its `object` in the bundle
//!   (`seedData[i].object`); its `externalId` a field or `id` of that object (`seedData[i].externalId`);
//!   every record through `check_record` (`seedData[i].records[j].<field>`), with a value for the
//!   external id, no repeated key, and no password field (those need hashing, through the data API);
//! - views, flows and permissions: each has a string `name` (`views[j].name`), names are unique, and
//!   the object they name in `object` (string) or `objects` (array of strings or an object keyed by
//!   object name) is in the bundle (`views[j].object`, `permissions[j].objects[k]`). Nothing else of
//!   their content is interpreted; they are stored as metadata.

use std::collections::{BTreeMap, HashSet};

use objectos_spec::canonical::bundle_checksum;
use objectos_spec::model::{
    check_record, write_rule_issues, CheckedRecord, RuleEvent, WriteMode, RELATION_TYPES,
};
use objectos_spec::types::deploy::{
    DeployBundle, DeployValidationIssue, DeployValidationResult, IssueSeverity,
};
use objectos_spec::types::field::{Dataset, FieldType};
use objectos_spec::{Issue, IssueCode, JsonPath, ObjectDefinition, ValidationError, MAX_ISSUES};
use serde_json::{Map, Value};

/// A bundle that passed validation, with what the deploy needs from it.
#[derive(Debug, Clone)]
pub struct ValidatedBundle {
    /// The typed bundle (defaults filled).
    pub bundle: DeployBundle,
    /// The bundle as sent (what is stored in the ledger and what the checksum covers).
    pub raw: Value,
    /// [`bundle_checksum`] of the bundle as sent.
    pub checksum: String,
    /// `seedData`, typed, in order.
    pub datasets: Vec<Dataset>,
    /// Per dataset, its records checked and normalised.
    pub records: Vec<Vec<CheckedRecord>>,
    /// Keys stored and served back without effect in objectos (docs/objects.md), by path.
    pub warnings: Vec<Issue>,
}

impl ValidatedBundle {
    /// The datasets that apply to this deployment (those whose `env` includes `prod`), by position.
    pub fn applicable_datasets(&self) -> impl Iterator<Item = (usize, &Dataset)> {
        self.datasets.iter().enumerate().filter(|(_, d)| {
            d.env
                .contains(&objectos_spec::types::field::DatasetEnv::Prod)
        })
    }
}

fn custom(path: JsonPath, message: impl Into<String>) -> Issue {
    Issue::new(path, IssueCode::Custom, message)
}

/// Validates a bundle against the spec and the rules in the module documentation; `deployed` is the
/// deployed model (used to explain references to objects the bundle would drop).
pub fn validate_bundle(
    bundle_json: &Value,
    deployed: &[ObjectDefinition],
) -> Result<ValidatedBundle, Vec<Issue>> {
    validate_bundle_counted(bundle_json, deployed).map_err(|e| e.issues)
}

/// [`validate_bundle`], its refusal carrying the count of every issue found beside the first
/// [`MAX_ISSUES`]. A bundle whose shape alone has that many issues is not checked further.
pub fn validate_bundle_counted(
    bundle_json: &Value,
    deployed: &[ObjectDefinition],
) -> Result<ValidatedBundle, ValidationError> {
    let root = JsonPath::root();
    let kind = objectos_spec::kind("DeployBundle").ok_or_else(|| {
        ValidationError::new(vec![custom(
            root.clone(),
            "internal: the DeployBundle kind is missing",
        )])
    })?;
    let validated = kind.validate(bundle_json);
    if validated.total >= MAX_ISSUES {
        // The list is full: the checks below could only add issues nobody will see.
        return Err(ValidationError::with_total(
            validated.issues,
            validated.total,
        ));
    }
    let mut issues = validated.issues;
    // The issues of the spec shape (each object's rules included) come first.
    let shape_issues = issues.len();
    let value = validated.value;

    // Objects, typed where they are well formed.
    let raw_objects: Vec<Value> = value
        .get("objects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let objects: Vec<(Option<String>, Option<ObjectDefinition>)> = raw_objects
        .iter()
        .map(|o| {
            let name = o.get("name").and_then(Value::as_str).map(str::to_owned);
            (name, serde_json::from_value(o.clone()).ok())
        })
        .collect();
    let bundle_names: HashSet<&str> = objects.iter().filter_map(|(n, _)| n.as_deref()).collect();
    let deployed_names: HashSet<&str> = deployed.iter().map(|o| o.name.as_str()).collect();

    check_unique_names(&objects, "objects", &mut issues);
    check_unique_tables(&objects, &mut issues);
    check_manifest(&value, &objects, &mut issues);

    // Checksum.
    if let Some(given) = value
        .get("manifest")
        .and_then(|m| m.get("checksum"))
        .and_then(Value::as_str)
    {
        let expected = bundle_checksum(bundle_json);
        if !given.eq_ignore_ascii_case(&expected) {
            issues.push(custom(
                root.key("manifest").key("checksum"),
                format!(
                    "Checksum mismatch: expected {expected} (SHA-256 of the RFC 8785 canonical bundle \
                     without manifest.checksum), given {given}"
                ),
            ));
        }
    }

    // What the SQLite mapping refuses (defaults that do not fit, unique JSON columns, ...).
    for (i, (_, object)) in objects.iter().enumerate() {
        let Some(object) = object else { continue };
        for error in objectos_schema::check_object(object) {
            let at = root.key("objects").index(i);
            let path = error.path().map_or(at.clone(), |p| relative_path(&at, p));
            // The spec's rules may have said it already (a table name that is no identifier).
            if !issues.iter().any(|i| i.path == path) {
                issues.push(custom(path, error.to_string()));
            }
        }
    }

    // What objectos does with each key: refusals of what it does not implement, notes on what it
    // only stores (docs/objects.md).
    // Only for objects whose shape is right: a malformed one is refused for that already.
    let mut warnings = Vec::new();
    let mut findings = Vec::new();
    for (i, (_, object)) in objects.iter().enumerate() {
        let Some(object) = object else { continue };
        let at = root.key("objects").index(i);
        let malformed = issues[..shape_issues]
            .iter()
            .any(|issue| issue.path.segments().starts_with(at.segments()));
        if !malformed {
            super::objects::check_object_keys(object, &at, &mut findings, &mut warnings);
        }
    }
    issues.extend(findings);

    // References.
    let resolve = |target: &str| -> Option<String> {
        if bundle_names.contains(target) {
            None
        } else if deployed_names.contains(target) {
            Some(format!(
                "Object '{target}' is deployed but not in this bundle, which would drop it; a bundle \
                 is the whole model, include '{target}' in it"
            ))
        } else {
            Some(format!(
                "Unknown object '{target}': not in this bundle nor deployed"
            ))
        }
    };
    for (i, (_, object)) in objects.iter().enumerate() {
        let Some(object) = object else { continue };
        for (key, field) in &object.fields {
            let relation =
                RELATION_TYPES.contains(&field.r#type) || field.r#type == FieldType::Tree;
            if let (true, Some(target)) = (relation, field.reference.as_deref()) {
                let abstract_target = objects.iter().any(|(name, o)| {
                    name.as_deref() == Some(target) && o.as_ref().is_some_and(|o| o.r#abstract)
                });
                let problem = if abstract_target {
                    Some(format!(
                        "Object '{target}' is abstract: it has no table, so no records to reference"
                    ))
                } else {
                    resolve(target)
                };
                if let Some(message) = problem {
                    issues.push(custom(
                        root.key("objects")
                            .index(i)
                            .key("fields")
                            .key(key)
                            .key("reference"),
                        message,
                    ));
                }
            }
        }
    }

    // Views, flows, permissions.
    for list in ["views", "flows", "permissions"] {
        let entries: Vec<Value> = value
            .get(list)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (j, entry) in entries.iter().enumerate() {
            let at = root.key(list).index(j);
            let Some(map) = entry.as_object() else {
                continue;
            };
            if !map.get("name").is_some_and(Value::is_string) {
                issues.push(Issue::new(
                    at.key("name"),
                    IssueCode::InvalidType,
                    "Required: a string name",
                ));
            }
            if let Some(target) = map.get("object") {
                match target.as_str() {
                    Some(t) => {
                        if let Some(message) = resolve(t) {
                            issues.push(custom(at.key("object"), message));
                        }
                    }
                    None => issues.push(Issue::new(
                        at.key("object"),
                        IssueCode::InvalidType,
                        "Expected an object name (string)",
                    )),
                }
            }
            match map.get("objects") {
                Some(Value::Array(items)) => {
                    for (k, item) in items.iter().enumerate() {
                        match item.as_str() {
                            Some(t) => {
                                if let Some(message) = resolve(t) {
                                    issues.push(custom(at.key("objects").index(k), message));
                                }
                            }
                            None => issues.push(Issue::new(
                                at.key("objects").index(k),
                                IssueCode::InvalidType,
                                "Expected an object name (string)",
                            )),
                        }
                    }
                }
                Some(Value::Object(members)) => {
                    for t in members.keys() {
                        if let Some(message) = resolve(t) {
                            issues.push(custom(at.key("objects").key(t), message));
                        }
                    }
                }
                Some(_) => issues.push(Issue::new(
                    at.key("objects"),
                    IssueCode::InvalidType,
                    "Expected an array of object names or an object keyed by object name",
                )),
                None => {}
            }
        }
        let named: Vec<(Option<String>, Option<ObjectDefinition>)> = entries
            .iter()
            .map(|e| {
                (
                    e.get("name").and_then(Value::as_str).map(str::to_owned),
                    None,
                )
            })
            .collect();
        check_unique_names(&named, list, &mut issues);
    }

    // Seed data.
    let (datasets, records) = check_seed(&value, &objects, &mut issues);

    if !issues.is_empty() {
        return Err(ValidationError::new(issues));
    }
    let mut bundle: DeployBundle = serde_json::from_value(value)
        .map_err(|e| ValidationError::new(vec![custom(root.clone(), format!("internal: {e}"))]))?;
    for object in &mut bundle.objects {
        super::objects::materialise_record_name(object);
    }
    Ok(ValidatedBundle {
        bundle,
        raw: bundle_json.clone(),
        checksum: bundle_checksum(bundle_json),
        datasets,
        records,
        warnings,
    })
}

/// `base` extended by a dotted path such as `fields.title.defaultValue` or `indexes[2].type`.
fn relative_path(base: &JsonPath, path: &str) -> JsonPath {
    let mut out = base.clone();
    for part in path.split('.') {
        let mut pieces = part.split('[');
        if let Some(name) = pieces.next().filter(|n| !n.is_empty()) {
            out = out.key(name);
        }
        for index in pieces {
            match index.trim_end_matches(']').parse::<usize>() {
                Ok(n) => out = out.index(n),
                Err(_) => out = out.key(index),
            }
        }
    }
    out
}

fn check_unique_names(
    entries: &[(Option<String>, Option<ObjectDefinition>)],
    list: &str,
    issues: &mut Vec<Issue>,
) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (j, (name, _)) in entries.iter().enumerate() {
        let Some(name) = name.as_deref() else {
            continue;
        };
        if let Some(first) = seen.get(name) {
            issues.push(custom(
                JsonPath::root().key(list).index(j).key("name"),
                format!("Duplicate name '{name}' (first at {list}[{first}])"),
            ));
        } else {
            seen.insert(name, j);
        }
    }
}

/// Two objects may not share a physical table (`tableName`, `{namespace}_{name}` or the name);
/// abstract objects have none.
fn check_unique_tables(
    objects: &[(Option<String>, Option<ObjectDefinition>)],
    issues: &mut Vec<Issue>,
) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (j, (_, object)) in objects.iter().enumerate() {
        let Some(object) = object.as_ref().filter(|o| !o.r#abstract) else {
            continue;
        };
        let table = object.table();
        match seen.get(&table) {
            // Same names are reported as duplicate names already.
            Some(&first) if objects[first].0.as_deref() != Some(object.name.as_str()) => {
                let key = if object.table_name.is_some() {
                    "tableName"
                } else if object.namespace.is_some() {
                    "namespace"
                } else {
                    "name"
                };
                issues.push(custom(
                    JsonPath::root().key("objects").index(j).key(key),
                    format!("Table '{table}' is already the table of objects[{first}]"),
                ));
            }
            Some(_) => {}
            None => {
                seen.insert(table, j);
            }
        }
    }
}

fn check_manifest(
    value: &Value,
    objects: &[(Option<String>, Option<ObjectDefinition>)],
    issues: &mut Vec<Issue>,
) {
    let root = JsonPath::root();
    let Some(manifest) = value.get("manifest").and_then(Value::as_object) else {
        return;
    };
    for list in ["objects", "views", "flows", "permissions"] {
        let Some(listed) = manifest.get(list).and_then(Value::as_array) else {
            continue;
        };
        let contents: Vec<Option<String>> = if list == "objects" {
            objects.iter().map(|(n, _)| n.clone()).collect()
        } else {
            value
                .get(list)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|e| e.get("name").and_then(Value::as_str).map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let present: HashSet<&str> = contents.iter().filter_map(|n| n.as_deref()).collect();
        let mut listed_names: HashSet<&str> = HashSet::new();
        for (i, name) in listed.iter().enumerate() {
            let Some(name) = name.as_str() else { continue };
            let at = root.key("manifest").key(list).index(i);
            if !listed_names.insert(name) {
                issues.push(custom(at, format!("'{name}' is listed twice")));
            } else if !present.contains(name) {
                issues.push(custom(
                    at,
                    format!("'{name}' is listed in the manifest but the bundle's {list} have no entry with that name"),
                ));
            }
        }
        for (j, name) in contents.iter().enumerate() {
            let Some(name) = name.as_deref() else {
                continue;
            };
            if !listed_names.contains(name) {
                issues.push(custom(
                    root.key(list).index(j).key("name"),
                    format!("'{name}' is not listed in manifest.{list}"),
                ));
            }
        }
    }
}

type Seed = (Vec<Dataset>, Vec<Vec<CheckedRecord>>);

fn check_seed(
    value: &Value,
    objects: &[(Option<String>, Option<ObjectDefinition>)],
    issues: &mut Vec<Issue>,
) -> Seed {
    let root = JsonPath::root();
    let mut datasets = Vec::new();
    let mut all_records = Vec::new();
    let Some(kind) = objectos_spec::kind("Dataset") else {
        return (datasets, all_records);
    };
    let entries = value
        .get("seedData")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, entry) in entries.iter().enumerate() {
        let at = root.key("seedData").index(i);
        let validated = kind.validate(entry);
        if !validated.is_valid() {
            issues.extend(validated.issues.into_iter().map(|mut issue| {
                issue.path = issue.path.prefixed(&at);
                issue
            }));
            continue;
        }
        let dataset: Dataset = match serde_json::from_value(validated.value) {
            Ok(d) => d,
            Err(e) => {
                issues.push(custom(at, format!("internal: {e}")));
                continue;
            }
        };
        let object = objects
            .iter()
            .find(|(n, _)| n.as_deref() == Some(dataset.object.as_str()));
        let object = match object {
            None => {
                issues.push(custom(
                    at.key("object"),
                    format!(
                        "Unknown object '{}': seed data must target an object of this bundle",
                        dataset.object
                    ),
                ));
                continue;
            }
            // The object itself is invalid and already reported.
            Some((_, None)) => continue,
            Some((_, Some(object))) if object.r#abstract => {
                issues.push(custom(
                    at.key("object"),
                    format!(
                        "Object '{}' is abstract: it has no table to seed",
                        dataset.object
                    ),
                ));
                continue;
            }
            Some((_, Some(object))) => object,
        };
        let key = dataset.external_id.as_str();
        let key_ok = key == "id"
            || object
                .fields
                .get(key)
                .is_some_and(|f| !matches!(f.r#type, FieldType::Formula | FieldType::Summary));
        if !key_ok {
            issues.push(custom(
                at.key("externalId"),
                format!(
                    "Unknown field '{key}' of object '{}': externalId must name a stored field or 'id'",
                    object.name
                ),
            ));
        }
        let mut checked_records = Vec::new();
        let mut keys_seen: BTreeMap<String, usize> = BTreeMap::new();
        for (j, record) in dataset.records.iter().enumerate() {
            let rat = at.key("records").index(j);
            match check_record(object, record, WriteMode::Create) {
                Err(found) => issues.extend(found.into_iter().map(|mut issue| {
                    issue.path = issue.path.prefixed(&rat);
                    issue
                })),
                Ok(checked) => {
                    let broken =
                        write_rule_issues(object, &checked.values, None, RuleEvent::Insert);
                    issues.extend(broken.into_iter().map(|mut issue| {
                        issue.path = issue.path.prefixed(&rat);
                        issue
                    }));
                    for password in &checked.passwords {
                        issues.push(custom(
                            rat.key(password),
                            "Seed data cannot set password fields: they are stored hashed; set them through the data API",
                        ));
                    }
                    if key_ok {
                        match external_key(&checked, record, key) {
                            None => issues.push(Issue::new(
                                rat.key(key),
                                IssueCode::InvalidType,
                                format!(
                                    "Required: the externalId field '{key}' identifies the record"
                                ),
                            )),
                            Some(k) => {
                                let text = k.to_string();
                                if let Some(first) = keys_seen.get(&text) {
                                    issues.push(custom(
                                        rat.key(key),
                                        format!("Duplicate externalId value {text} (first at records[{first}])"),
                                    ));
                                } else {
                                    keys_seen.insert(text, j);
                                }
                            }
                        }
                    }
                    checked_records.push(checked);
                }
            }
        }
        datasets.push(dataset);
        all_records.push(checked_records);
    }
    (datasets, all_records)
}

/// The external key value of a checked record (`id` or a field value); `None` when absent or null.
pub(crate) fn external_key(
    checked: &CheckedRecord,
    record: &Map<String, Value>,
    key: &str,
) -> Option<Value> {
    if key == "id" {
        return checked
            .id
            .clone()
            .map(Value::String)
            .or_else(|| record.get("id").cloned());
    }
    checked.values.get(key).filter(|v| !v.is_null()).cloned()
}

/// The protocol's `DeployValidationResult` of a list of issues (all errors).
pub fn validation_result(issues: &[Issue]) -> DeployValidationResult {
    validation_result_with_warnings(issues, &[])
}

/// The protocol's `DeployValidationResult` of errors and warnings (warnings do not make it invalid).
pub fn validation_result_with_warnings(
    errors: &[Issue],
    warnings: &[Issue],
) -> DeployValidationResult {
    let entry = |severity: IssueSeverity| {
        move |i: &Issue| DeployValidationIssue {
            severity,
            path: i.path.to_string(),
            message: i.message.clone(),
            code: Some(i.code.as_str().to_owned()),
        }
    };
    DeployValidationResult {
        valid: errors.is_empty(),
        issues: errors
            .iter()
            .map(entry(IssueSeverity::Error))
            .chain(warnings.iter().map(entry(IssueSeverity::Warning)))
            .collect(),
        error_count: errors.len() as u64,
        warning_count: warnings.len() as u64,
    }
}
