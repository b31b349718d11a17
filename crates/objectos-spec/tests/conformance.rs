//! JSON-Schema-driven conformance suite.
//!
//! Every kind in [`objectos_spec::KINDS`] has a corpus file `tests/corpus/<Kind>.json`:
//!
//! ```json
//! { "valid":    [ {"name": "...", "doc": ...} ],
//!   "invalid":  [ {"name": "...", "doc": ..., "expect": [{"path": "plan", "code": "invalid_enum_value"}]} ],
//!   "stricter": [ same shape as invalid ] }
//! ```
//!
//! Each document is checked twice, independently: by objectos' Zod-style validator and by the
//! `jsonschema` crate against the published JSON Schema (draft 2020-12) of the kind.
//!
//! * `valid`: the JSON Schema accepts; objectos reports no issue; objectos' normalised document
//!   equals the document completed with the schema's defaults; and the document parsed into its
//!   Rust type and serialised again conforms to the JSON Schema, is accepted by objectos, and
//!   equals the normalised document (nothing lost or changed; the quota alias `maxStorage` comes
//!   out as `maxStorageBytes`).
//! * `invalid`: the JSON Schema rejects; objectos rejects with exactly the `expect`ed issues.
//! * `stricter`: documents the JSON Schema accepts but objectos deliberately rejects (semver
//!   versions in an app manifest, typed `objects[]` in a bundle, the object rules beyond the shape
//!   of `ObjectDefinition`); objectos must report exactly the `expect`ed issues.
//!
//! For rejected documents every issue's path must also fit the document: `Required` points at a
//! missing key of an existing object, other shape issues at values the document has.
//!
//! `expect` lists every issue as `(path, code)`; paths use objectos' rendering
//! (`objects[0].fields.due_date.type`, `""` for the root). They are compared as multisets.
//!
//! Two notes on the JSON Schema side:
//!
//! * The published schemas are generated from Zod *output* types: a key with a `default` is listed
//!   in `required`, so a document that omits it — which Zod's `parse` (and objectos) accept and
//!   complete — fails the raw schema. The oracle therefore applies the schema's defaults first,
//!   the way Zod does (see [`fill_defaults`], written independently of objectos' engine), and
//!   validates the completed document.
//! * Format validation stays off: in draft 2020-12 `format` is an annotation, and every `format`
//!   in these schemas (`email`, `date-time`, `uuid`) is accompanied by the `pattern` Zod checks,
//!   which is the constraint the protocol means. Turning formats on would add RFC 3339 / RFC 5322
//!   checks the protocol does not make (e.g. offsets such as `+01:00`, which Zod's pattern refuses
//!   and RFC 3339 allows).

// A test harness: a broken corpus or schema file is a test failure, reported by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jsonschema::{Draft, Registry, Validator};
use objectos_spec::{IssueCode, Kind, PathSegment, SpecType, KINDS};
use serde::Deserialize;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Locations

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Names the folder of the spec (`.../objectstack-spec-4.0.1`) when it is not at its usual place.
const SPEC_DIR_ENV: &str = "OBJECTOS_SPEC_DIR";

/// The reference copy of the spec's JSON Schemas: `$OBJECTOS_SPEC_DIR/json-schema` when that is set,
/// else `../shared/objectstack-spec-4.0.1/json-schema` next to the repo when present. A clone
/// without it skips the comparisons that need it, except in CI (`CI=true`), where a missing
/// reference copy fails the suite: a check that silently does nothing there would pass on any
/// clone. Panics (fails the test) when the copy is required and missing.
fn reference_dir() -> Option<PathBuf> {
    let default = crate_dir().join("../../../shared/objectstack-spec-4.0.1");
    locate_reference(
        std::env::var_os(SPEC_DIR_ENV).map(PathBuf::from),
        std::env::var("CI").ok().as_deref(),
        &default,
    )
    .unwrap_or_else(|message| panic!("{message}"))
}

/// The decision behind [`reference_dir`], apart from the process environment (for its tests).
fn locate_reference(
    override_dir: Option<PathBuf>,
    ci: Option<&str>,
    default: &Path,
) -> Result<Option<PathBuf>, String> {
    let explicit = override_dir
        .as_ref()
        .is_some_and(|d| !d.as_os_str().is_empty());
    let spec = match override_dir {
        Some(dir) if explicit => dir,
        _ => default.to_owned(),
    };
    let schemas = spec.join("json-schema");
    if schemas.is_dir() {
        return Ok(Some(schemas));
    }
    let in_ci = ci.is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"));
    if explicit || in_ci {
        return Err(format!(
            "the reference copy of the spec is missing: {} is not a folder{}. Put \
             objectstack-spec-4.0.1 next to the repo (../shared), or set {SPEC_DIR_ENV} to its path.",
            schemas.display(),
            if explicit {
                format!(" ({SPEC_DIR_ENV} is set)")
            } else {
                " (CI is set, so the conformance checks may not be skipped)".to_owned()
            }
        ));
    }
    Ok(None)
}

#[test]
fn a_missing_reference_copy_is_skipped_locally_and_fails_in_ci_or_when_named() {
    let missing = Path::new("/nonexistent/objectstack-spec-4.0.1");
    assert_eq!(locate_reference(None, None, missing), Ok(None));
    for off in ["", "0", "false"] {
        assert_eq!(
            locate_reference(None, Some(off), missing),
            Ok(None),
            "{off}"
        );
    }
    for on in ["true", "1", "TRUE"] {
        let err = locate_reference(None, Some(on), missing).unwrap_err();
        assert!(
            err.contains("CI is set") && err.contains(SPEC_DIR_ENV),
            "{err}"
        );
    }
    let err = locate_reference(Some(missing.to_owned()), None, missing).unwrap_err();
    assert!(err.contains("is set"), "{err}");
    // An override that exists is used, CI or not.
    let dir = std::env::temp_dir().join(format!("objectos-spec-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("json-schema")).unwrap();
    assert_eq!(
        locate_reference(Some(dir.clone()), Some("true"), missing),
        Ok(Some(dir.join("json-schema")))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Where the JSON Schema of `schema` (`system/Tenant`) is read from: the reference copy of the
/// spec when present, else the crate's embedded copy; objectos' own schemas always from the crate.
fn schema_file(schema: &str) -> PathBuf {
    match reference_dir() {
        Some(dir) if !schema.starts_with("objectos/") => dir.join(format!("{schema}.json")),
        _ => crate_dir().join("schemas").join(format!("{schema}.json")),
    }
}

fn corpus_file(kind: &str) -> PathBuf {
    crate_dir()
        .join("tests/corpus")
        .join(format!("{kind}.json"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Corpus

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Corpus {
    #[serde(default)]
    valid: Vec<ValidCase>,
    #[serde(default)]
    invalid: Vec<RejectedCase>,
    #[serde(default)]
    stricter: Vec<RejectedCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidCase {
    name: String,
    doc: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectedCase {
    name: String,
    doc: Value,
    expect: Vec<Expected>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    path: String,
    code: String,
}

fn load_corpus(kind: &str) -> Corpus {
    let path = corpus_file(kind);
    serde_json::from_value(read_json(&path))
        .unwrap_or_else(|e| panic!("{} is not a corpus file: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Parse → serialise, per Rust type

type RoundTrip = fn(&Value) -> Result<Value, String>;

fn round_trip<T: SpecType>(doc: &Value) -> Result<Value, String> {
    let parsed: T = objectos_spec::parse(doc).map_err(|e| format!("parse failed: {e}"))?;
    serde_json::to_value(&parsed).map_err(|e| format!("serialise failed: {e}"))
}

macro_rules! round_trips {
    ($($kind:literal => $ty:ty),* $(,)?) => {
        /// The parse → serialise function of a kind's Rust type.
        fn round_trip_of(kind: &str) -> Option<RoundTrip> {
            match kind {
                $($kind => Some(round_trip::<$ty> as RoundTrip),)*
                _ => None,
            }
        }
    };
}

mod ty {
    pub use objectos_spec::types::{
        app::*, context::*, deploy::*, driver::*, field::*, provisioning::*, tenant::*, turso::*,
    };
    pub use objectos_spec::ObjectDefinition;
}

round_trips! {
    "DeployBundle" => ty::DeployBundle,
    "DeployManifest" => ty::DeployManifest,
    "ObjectDefinition" => ty::ObjectDefinition,
    "Field" => ty::Field,
    "Dataset" => ty::Dataset,
    "Index" => ty::Index,
    "SelectOption" => ty::SelectOption,
    "AppManifest" => ty::AppManifest,
    "AppInstallRequest" => ty::AppInstallRequest,
    "AppInstallResult" => ty::AppInstallResult,
    "AppCompatibilityCheck" => ty::AppCompatibilityCheck,
    "TenantProvisioningRequest" => ty::TenantProvisioningRequest,
    "TenantProvisioningResult" => ty::TenantProvisioningResult,
    "ProvisioningStep" => ty::ProvisioningStep,
    "Tenant" => ty::Tenant,
    "TenantConnectionConfig" => ty::TenantConnectionConfig,
    "TenantIsolationConfig" => ty::TenantIsolationConfig,
    "TenantSecurityPolicy" => ty::TenantSecurityPolicy,
    "TenantQuota" => ty::TenantQuota,
    "TenantUsage" => ty::TenantUsage,
    "QuotaEnforcementResult" => ty::QuotaEnforcementResult,
    "DeployDiff" => ty::DeployDiff,
    "DeployValidationIssue" => ty::DeployValidationIssue,
    "DeployValidationResult" => ty::DeployValidationResult,
    "MigrationPlan" => ty::MigrationPlan,
    "TursoMultiTenantConfig" => ty::TursoMultiTenantConfig,
    "TursoGroup" => ty::TursoGroup,
    "TenantDatabaseLifecycle" => ty::TenantDatabaseLifecycle,
    "KernelContext" => ty::KernelContext,
    "TenantRuntimeContext" => ty::TenantRuntimeContext,
    "DataTypeMapping" => ty::DataTypeMapping,
    "TenantPlan" => ty::TenantPlan,
    "TenantRegion" => ty::TenantRegion,
    "TenantProvisioningStatusEnum" => ty::TenantProvisioningStatus,
    "TenantIsolationLevel" => ty::TenantIsolationLevel,
    "DeployStatusEnum" => ty::DeployStatus,
    "TenantResolverStrategy" => ty::TenantResolverStrategy,
    "FieldType" => ty::FieldType,
    "DatasetMode" => ty::DatasetMode,
    "SQLDialect" => ty::SqlDialect,
}

// ---------------------------------------------------------------------------------------------
// The JSON Schema oracle

/// Every schema document by `$id`, and a `jsonschema` registry holding them all.
struct Oracle {
    documents: HashMap<String, Value>,
    registry: Registry<'static>,
}

impl Oracle {
    fn load() -> Self {
        let mut documents = HashMap::new();
        let spec_root = reference_dir().unwrap_or_else(|| crate_dir().join("schemas"));
        let roots = [
            spec_root.join("system"),
            spec_root.join("data"),
            spec_root.join("kernel"),
            crate_dir().join("schemas/objectos"),
        ];
        for dir in roots {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
                .map(|entry| entry.expect("directory entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            files.sort();
            for file in files {
                let mut schema = read_json(&file);
                // A file generated from the Zod oracle (data/Object.json) carries no `$id`: it
                // gets the one the package's own files follow, `…/v4.0.1/<folder>/<Name>.json`.
                let id = match schema["$id"].as_str() {
                    Some(id) => id.to_owned(),
                    None => {
                        let folder = dir
                            .file_name()
                            .and_then(|f| f.to_str())
                            .unwrap_or_else(|| panic!("{} has no $id", file.display()));
                        let name = file
                            .file_name()
                            .and_then(|f| f.to_str())
                            .unwrap_or_default();
                        let id = format!("https://schema.objectstack.io/v4.0.1/{folder}/{name}");
                        schema["$id"] = serde_json::Value::String(id.clone());
                        id
                    }
                };
                documents.insert(id, schema);
            }
        }
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .extend(documents.iter().map(|(id, doc)| (id.clone(), doc.clone())))
            .expect("schema ids are URIs")
            .prepare()
            .expect("schema registry");
        Self {
            documents,
            registry,
        }
    }

    fn validator(&self, schema: &Value) -> Result<Validator, String> {
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(false)
            .with_registry(&self.registry)
            .build(schema)
            .map_err(|e| e.to_string())
    }
}

/// Applies the schema's defaults the way Zod's `.default()` does: a missing key with a default
/// gets the default, itself completed by its schema. Unions are followed into the branch whose
/// `const` properties match the value (a discriminated union); anything else is left as given.
fn fill_defaults(
    documents: &HashMap<String, Value>,
    root: &Value,
    schema: &Value,
    value: &Value,
) -> Value {
    let Some(node) = schema.as_object() else {
        return value.clone();
    };
    let mut out = value.clone();
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let (doc, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let target_root = if doc.is_empty() {
            root
        } else {
            &documents[doc]
        };
        let target = target_root
            .pointer(pointer)
            .unwrap_or_else(|| panic!("unresolved $ref {reference}"));
        out = fill_defaults(documents, target_root, target, &out);
    }
    for branch in node
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out = fill_defaults(documents, root, branch, &out);
    }
    for key in ["anyOf", "oneOf"] {
        let branches = node.get(key).and_then(Value::as_array);
        let chosen = branches.into_iter().flatten().find(|branch| {
            let props = branch.get("properties").and_then(Value::as_object);
            let consts: Vec<(&String, &Value)> = props
                .into_iter()
                .flatten()
                .filter_map(|(k, s)| s.get("const").map(|c| (k, c)))
                .collect();
            !consts.is_empty() && consts.iter().all(|(k, c)| out.get(k) == Some(*c))
        });
        if let Some(branch) = chosen {
            out = fill_defaults(documents, root, branch, &out);
        }
    }
    match &mut out {
        Value::Object(map) => {
            let props = node.get("properties").and_then(Value::as_object);
            for (name, prop) in props.into_iter().flatten() {
                match map.get(name) {
                    Some(v) => {
                        let filled = fill_defaults(documents, root, prop, v);
                        map.insert(name.clone(), filled);
                    }
                    None => {
                        if let Some(default) = default_of(documents, root, prop) {
                            let filled = fill_defaults(documents, root, prop, &default);
                            map.insert(name.clone(), filled);
                        }
                    }
                }
            }
            if let Some(additional) = node.get("additionalProperties").filter(|a| a.is_object()) {
                let listed = |k: &str| props.is_some_and(|p| p.contains_key(k));
                let keys: Vec<String> = map.keys().filter(|k| !listed(k)).cloned().collect();
                for key in keys {
                    let filled = fill_defaults(documents, root, additional, &map[&key]);
                    map.insert(key, filled);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = node.get("items") {
                for v in items.iter_mut() {
                    *v = fill_defaults(documents, root, item, v);
                }
            }
        }
        _ => {}
    }
    out
}

fn default_of(documents: &HashMap<String, Value>, root: &Value, schema: &Value) -> Option<Value> {
    if let Some(d) = schema.get("default") {
        return Some(d.clone());
    }
    let reference = schema.get("$ref")?.as_str()?;
    let (doc, pointer) = reference.split_once('#').unwrap_or((reference, ""));
    let target_root = if doc.is_empty() {
        root
    } else {
        &documents[doc]
    };
    default_of(documents, target_root, target_root.pointer(pointer)?)
}

/// The JSON Schema's verdict on a document after defaults: `Ok` or every error, rendered.
struct SchemaCheck<'a> {
    oracle: &'a Oracle,
    schema: &'a Value,
    validator: Validator,
}

impl SchemaCheck<'_> {
    /// The document completed with its defaults; a bundle's `objects[]` (untyped in the spec) are
    /// completed as objectos' `ObjectDefinition`s, which is what objectos does with them.
    fn complete(&self, kind: &Kind, doc: &Value) -> Value {
        let documents = &self.oracle.documents;
        let mut filled = fill_defaults(documents, self.schema, self.schema, doc);
        if kind.name == "DeployBundle" {
            let object_schema = &documents[OBJECT_DEFINITION_ID];
            if let Some(objects) = filled.get_mut("objects").and_then(Value::as_array_mut) {
                for object in objects {
                    *object = fill_defaults(documents, object_schema, object_schema, object);
                }
            }
        }
        filled
    }

    fn check(&self, doc: &Value) -> Result<(), String> {
        let filled = fill_defaults(&self.oracle.documents, self.schema, self.schema, doc);
        let errors: Vec<String> = self
            .validator
            .iter_errors(&filled)
            .map(|e| format!("      {} at '{}'", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running the corpus

const OBJECT_DEFINITION_ID: &str = "https://schema.objectos.dev/v1/objectos/ObjectDefinition.json";

/// What the Rust types are expected to serialise a normalised document as: the same document,
/// with the quota alias `maxStorage` folded into `maxStorageBytes` (which wins when both are given).
fn canonical_output(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                if k == "maxStorage" {
                    if !map.contains_key("maxStorageBytes") {
                        out.insert("maxStorageBytes".to_owned(), canonical_output(v));
                    }
                } else {
                    out.insert(k.clone(), canonical_output(v));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical_output).collect()),
        other => other.clone(),
    }
}

/// JSON equality with numbers compared by value (`1.0` equals `1`).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fn render_issues(issues: &[objectos_spec::Issue]) -> String {
    if issues.is_empty() {
        return "      (none)".to_owned();
    }
    issues
        .iter()
        .map(|i| {
            format!(
                "      {{\"path\": {:?}, \"code\": {:?}}}  {}",
                i.path.to_string(),
                i.code.as_str(),
                i.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn render_expected(expected: &[Expected]) -> String {
    expected
        .iter()
        .map(|e| format!("      {{\"path\": {:?}, \"code\": {:?}}}", e.path, e.code))
        .collect::<Vec<_>>()
        .join("\n")
}

fn actual_pairs(issues: &[objectos_spec::Issue]) -> Vec<Expected> {
    let mut pairs: Vec<Expected> = issues
        .iter()
        .map(|i| Expected {
            path: i.path.to_string(),
            code: i.code.as_str().to_owned(),
        })
        .collect();
    pairs.sort();
    pairs
}

/// The value a path (as segments) points at in the document, if any.
fn lookup<'v>(doc: &'v Value, segments: &[PathSegment]) -> Option<&'v Value> {
    segments
        .iter()
        .try_fold(doc, |value, segment| match segment {
            PathSegment::Key(key) => value.as_object()?.get(key),
            PathSegment::Index(i) => value.as_array()?.get(*i),
        })
}

/// Issues whose path disagrees with the document: a `Required` issue must point at a key the
/// document lacks (inside an object it has), an `unrecognized_keys` issue at an object, a union
/// discriminator issue at the discriminator's key (present or not), and any other shape issue at a
/// value the document has. `custom` rules may name a missing key (a
/// `reference` a lookup needs), so they are not checked here.
fn path_problems(doc: &Value, issues: &[objectos_spec::Issue]) -> Vec<String> {
    let mut problems = Vec::new();
    for issue in issues {
        let segments = issue.path.segments();
        let found = lookup(doc, segments);
        let required = issue.code == IssueCode::InvalidType && issue.message == "Required";
        let parent_is_object = segments.split_last().is_some_and(|(last, parent)| {
            matches!(last, PathSegment::Key(_)) && lookup(doc, parent).is_some_and(Value::is_object)
        });
        let ok = match issue.code {
            IssueCode::Custom => true,
            _ if required => found.is_none() && parent_is_object,
            IssueCode::UnrecognizedKeys => found.is_some_and(Value::is_object),
            // Zod reports a missing discriminator at the discriminator's key.
            IssueCode::InvalidUnionDiscriminator => found.is_some() || parent_is_object,
            _ => found.is_some(),
        };
        if !ok {
            problems.push(format!(
                "issue path `{}` ({}: {}) does not fit the document",
                issue.path,
                issue.code.as_str(),
                issue.message
            ));
        }
    }
    problems
}

/// Counts per kind, for the summary.
#[derive(Default)]
struct Counts {
    valid: usize,
    invalid: usize,
    stricter: usize,
}

/// The problems with a document of the `valid` section; empty when it passes.
fn check_valid(
    kind: &Kind,
    json_schema: &SchemaCheck<'_>,
    round_trip: Option<RoundTrip>,
    doc: &Value,
) -> String {
    let mut problems = String::new();
    if let Err(errors) = json_schema.check(doc) {
        let _ = writeln!(problems, "    JSON Schema rejects it:\n{errors}");
    }
    let validated = kind.validate(doc);
    if !validated.issues.is_empty() {
        let _ = writeln!(
            problems,
            "    objectos rejects it:\n{}",
            render_issues(&validated.issues)
        );
        return problems;
    }
    let completed = json_schema.complete(kind, doc);
    if !same_json(&validated.value, &completed) {
        let _ = writeln!(
            problems,
            "    objectos' normalised document differs from the document completed with the schema's defaults:\n      objectos: {}\n      schema:   {completed}",
            validated.value
        );
    }
    let Some(round_trip) = round_trip else {
        return problems;
    };
    match round_trip(doc) {
        Err(e) => {
            let _ = writeln!(problems, "    {e}");
        }
        Ok(output) => {
            if let Err(errors) = json_schema.check(&output) {
                let _ = writeln!(
                    problems,
                    "    the serialised Rust value does not conform to the JSON Schema:\n      {output}\n{errors}"
                );
            }
            let expected = canonical_output(&validated.value);
            if !same_json(&output, &expected) {
                let _ = writeln!(
                    problems,
                    "    the serialised Rust value differs from the normalised document (data lost or changed):\n      serialised: {output}\n      normalised: {expected}"
                );
            }
            let again = kind.validate(&output);
            if !again.issues.is_empty() {
                let _ = writeln!(
                    problems,
                    "    objectos rejects the serialised Rust value {output}:\n{}",
                    render_issues(&again.issues)
                );
            }
        }
    }
    problems
}

fn run_kind(oracle: &Oracle, kind: &Kind, failures: &mut Vec<String>) -> Counts {
    let corpus = load_corpus(kind.name);
    let counts = Counts {
        valid: corpus.valid.len(),
        invalid: corpus.invalid.len(),
        stricter: corpus.stricter.len(),
    };
    let schema = read_json(&schema_file(kind.schema));
    let validator = match oracle.validator(&schema) {
        Ok(v) => v,
        Err(e) => {
            failures.push(format!(
                "{}: the JSON Schema does not compile: {e}",
                kind.name
            ));
            return counts;
        }
    };
    let json_schema = SchemaCheck {
        oracle,
        schema: &schema,
        validator,
    };
    let round_trip = round_trip_of(kind.name);
    if round_trip.is_none() {
        failures.push(format!(
            "{}: no Rust type in the round-trip table",
            kind.name
        ));
    }

    let mut seen = BTreeSet::new();
    let all_names = corpus
        .valid
        .iter()
        .map(|c| ("valid", &c.name))
        .chain(corpus.invalid.iter().map(|c| ("invalid", &c.name)))
        .chain(corpus.stricter.iter().map(|c| ("stricter", &c.name)));
    for (section, name) in all_names {
        if !seen.insert(name.clone()) {
            failures.push(format!(
                "{}/{section}/{name}: duplicate case name",
                kind.name
            ));
        }
    }

    for case in &corpus.valid {
        let problems = check_valid(kind, &json_schema, round_trip, &case.doc);
        if !problems.is_empty() {
            failures.push(format!(
                "{}/valid/{}: {}\n{problems}",
                kind.name, case.name, case.doc
            ));
        }
    }

    for (section, cases, schema_accepts) in [
        ("invalid", &corpus.invalid, false),
        ("stricter", &corpus.stricter, true),
    ] {
        for case in cases {
            let mut problems = String::new();
            match (json_schema.check(&case.doc), schema_accepts) {
                (Ok(()), false) => {
                    let _ = writeln!(
                        problems,
                        "    JSON Schema accepts it (expected a rejection)"
                    );
                }
                (Err(errors), true) => {
                    let _ = writeln!(
                        problems,
                        "    JSON Schema rejects it (a `stricter` case must be schema-valid):\n{errors}"
                    );
                }
                _ => {}
            }
            let validated = kind.validate(&case.doc);
            let mut expected = case.expect.clone();
            expected.sort();
            if expected.is_empty() {
                let _ = writeln!(problems, "    `expect` is empty");
            }
            for problem in path_problems(&case.doc, &validated.issues) {
                let _ = writeln!(problems, "    {problem}");
            }
            if actual_pairs(&validated.issues) != expected {
                let _ = writeln!(
                    problems,
                    "    expected issues:\n{}\n    objectos reported:\n{}",
                    render_expected(&case.expect),
                    render_issues(&validated.issues)
                );
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{}/{section}/{}: {}\n{problems}",
                    kind.name, case.name, case.doc
                ));
            }
        }
    }
    counts
}

#[test]
fn corpus_conforms_to_the_json_schemas() {
    let oracle = Oracle::load();
    let mut failures = Vec::new();
    let mut summary = String::new();
    for kind in KINDS {
        if !corpus_file(kind.name).exists() {
            continue; // reported by `every_kind_has_a_corpus`
        }
        let counts = run_kind(&oracle, kind, &mut failures);
        let _ = writeln!(
            summary,
            "  {:<30} valid {:>3}  invalid {:>3}  stricter {:>3}",
            kind.name, counts.valid, counts.invalid, counts.stricter
        );
    }
    println!("conformance corpus:\n{summary}");
    assert!(
        failures.is_empty(),
        "{} corpus case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Coverage of the corpus itself

/// The main kinds: at least 10 valid and 10 invalid documents each.
const MAIN_KINDS: &[&str] = &[
    "TenantProvisioningRequest",
    "TenantProvisioningResult",
    "ProvisioningStep",
    "Tenant",
    "TenantQuota",
    "TenantUsage",
    "QuotaEnforcementResult",
    "DeployBundle",
    "DeployManifest",
    "DeployDiff",
    "DeployValidationResult",
    "MigrationPlan",
    "AppManifest",
    "AppInstallRequest",
    "AppInstallResult",
    "AppCompatibilityCheck",
    "TursoMultiTenantConfig",
    "TenantDatabaseLifecycle",
    "KernelContext",
    "TenantRuntimeContext",
    "Field",
    "ObjectDefinition",
];

#[test]
fn every_kind_has_a_corpus() {
    let mut problems = Vec::new();
    for kind in KINDS {
        if !corpus_file(kind.name).exists() {
            problems.push(format!(
                "{}: no corpus file {}",
                kind.name,
                corpus_file(kind.name).display()
            ));
            continue;
        }
        let corpus = load_corpus(kind.name);
        let minimum = if MAIN_KINDS.contains(&kind.name) {
            10
        } else {
            3
        };
        if corpus.valid.len() < minimum || corpus.invalid.len() < minimum {
            problems.push(format!(
                "{}: {} valid / {} invalid documents, expected at least {minimum} of each",
                kind.name,
                corpus.valid.len(),
                corpus.invalid.len()
            ));
        }
        if round_trip_of(kind.name).is_none() {
            problems.push(format!(
                "{}: no Rust type in the round-trip table",
                kind.name
            ));
        }
    }
    // No corpus file for a kind that does not exist.
    let dir = crate_dir().join("tests/corpus");
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("directory entry").path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if !KINDS.iter().any(|k| k.name == stem) {
            problems.push(format!("{}: names no kind", path.display()));
        }
    }
    for kind in MAIN_KINDS {
        if !KINDS.iter().any(|k| k.name == *kind) {
            problems.push(format!("{kind}: listed as a main kind but not in KINDS"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Records `(schema location, value)` for every enum the document uses, following the schema.
fn enum_hits(
    documents: &HashMap<String, Value>,
    location: (&str, String),
    schema: &Value,
    value: &Value,
    hits: &mut BTreeSet<(String, String, String)>,
) {
    let (doc_id, pointer) = location;
    let Some(node) = schema.as_object() else {
        return;
    };
    if let Some(options) = node.get("enum").and_then(Value::as_array) {
        if options.contains(value) {
            hits.insert((doc_id.to_owned(), pointer.clone(), value.to_string()));
        }
    }
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let (doc, target) = reference.split_once('#').unwrap_or((reference, ""));
        let doc = if doc.is_empty() { doc_id } else { doc };
        if let Some(target_schema) = documents[doc].pointer(target) {
            enum_hits(
                documents,
                (doc, target.to_owned()),
                target_schema,
                value,
                hits,
            );
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for (i, branch) in node
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            enum_hits(
                documents,
                (doc_id, format!("{pointer}/{key}/{i}")),
                branch,
                value,
                hits,
            );
        }
    }
    match value {
        Value::Object(map) => {
            let props = node.get("properties").and_then(Value::as_object);
            for (k, v) in map {
                match props.and_then(|p| p.get(k)) {
                    Some(prop) => enum_hits(
                        documents,
                        (doc_id, format!("{pointer}/properties/{k}")),
                        prop,
                        v,
                        hits,
                    ),
                    None => {
                        if let Some(additional) = node.get("additionalProperties") {
                            enum_hits(
                                documents,
                                (doc_id, format!("{pointer}/additionalProperties")),
                                additional,
                                v,
                                hits,
                            );
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = node.get("items") {
                for v in items {
                    enum_hits(
                        documents,
                        (doc_id, format!("{pointer}/items")),
                        item,
                        v,
                        hits,
                    );
                }
            }
        }
        _ => {}
    }
}

/// Every enum reachable from a schema: `(document, pointer) → values`.
fn enums_of(
    documents: &HashMap<String, Value>,
    doc_id: &str,
    pointer: String,
    schema: &Value,
    out: &mut BTreeMap<(String, String), Vec<Value>>,
) {
    let Some(node) = schema.as_object() else {
        return;
    };
    let key = (doc_id.to_owned(), pointer.clone());
    if out.contains_key(&key) {
        return;
    }
    if let Some(options) = node.get("enum").and_then(Value::as_array) {
        out.insert(key, options.clone());
    }
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let (doc, target) = reference.split_once('#').unwrap_or((reference, ""));
        let doc = if doc.is_empty() { doc_id } else { doc };
        // Recursive schemas (validation rules, state nodes) reference themselves: follow each
        // reference once, marking it with an entry that holds no values.
        let seen = (doc.to_owned(), format!("$ref:{target}"));
        if let std::collections::btree_map::Entry::Vacant(slot) = out.entry(seen) {
            slot.insert(Vec::new());
            if let Some(target_schema) = documents[doc].pointer(target) {
                enums_of(documents, doc, target.to_owned(), target_schema, out);
            }
        }
    }
    for (name, child) in node {
        match (name.as_str(), child) {
            ("properties", Value::Object(props)) => {
                for (k, prop) in props {
                    enums_of(
                        documents,
                        doc_id,
                        format!("{pointer}/properties/{k}"),
                        prop,
                        out,
                    );
                }
            }
            ("additionalProperties" | "items", sub) => {
                enums_of(documents, doc_id, format!("{pointer}/{name}"), sub, out);
            }
            ("allOf" | "anyOf" | "oneOf", Value::Array(branches)) => {
                for (i, branch) in branches.iter().enumerate() {
                    enums_of(
                        documents,
                        doc_id,
                        format!("{pointer}/{name}/{i}"),
                        branch,
                        out,
                    );
                }
            }
            _ => {}
        }
    }
}

/// Every value of every enum reachable from a main kind's schema (and of every enum kind) is used
/// by at least one valid document somewhere in the corpus.
#[test]
fn valid_documents_use_every_enum_value() {
    let oracle = Oracle::load();
    let mut hits = BTreeSet::new();
    for kind in KINDS {
        if !corpus_file(kind.name).exists() {
            continue;
        }
        let schema = read_json(&schema_file(kind.schema));
        let id = schema["$id"].as_str().unwrap_or_default().to_owned();
        for case in load_corpus(kind.name).valid {
            enum_hits(
                &oracle.documents,
                (&id, String::new()),
                &schema,
                &case.doc,
                &mut hits,
            );
        }
    }
    let mut missing = Vec::new();
    for kind in KINDS {
        let schema = read_json(&schema_file(kind.schema));
        let is_enum_kind = schema.get("enum").is_some();
        if !MAIN_KINDS.contains(&kind.name) && !is_enum_kind {
            continue;
        }
        let id = schema["$id"].as_str().unwrap_or_default().to_owned();
        let mut enums = BTreeMap::new();
        enums_of(&oracle.documents, &id, String::new(), &schema, &mut enums);
        for ((doc, pointer), values) in enums {
            for value in values {
                if !hits.contains(&(doc.clone(), pointer.clone(), value.to_string())) {
                    missing.push(format!("{}: {doc}#{pointer} = {value}", kind.name));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "enum values no valid corpus document uses:\n{}",
        missing.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Embedded schemas and specific behaviours

/// The embedded copies under `schemas/{system,data,kernel}` equal the reference copy of the spec.
#[test]
fn embedded_schemas_equal_the_reference_copy() {
    let Some(reference) = reference_dir() else {
        eprintln!(
            "reference copy of the spec not present; skipping (CI=true makes this a failure; \
             {SPEC_DIR_ENV} names another copy)"
        );
        return;
    };
    let mut problems = Vec::new();
    for folder in ["system", "data", "kernel"] {
        let embedded_dir = crate_dir().join("schemas").join(folder);
        let mut names: BTreeSet<String> = BTreeSet::new();
        for entry in std::fs::read_dir(&embedded_dir).expect("embedded schema folder") {
            let path = entry.expect("directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            names.insert(name.clone());
            let theirs = reference.join(folder).join(&name);
            match (std::fs::read(&path), std::fs::read(&theirs)) {
                (Ok(a), Ok(b)) if a == b => {}
                (Ok(_), Ok(_)) => {
                    problems.push(format!("{folder}/{name} differs from {}", theirs.display()))
                }
                (_, Err(e)) => problems.push(format!(
                    "{folder}/{name}: no reference copy at {} ({e})",
                    theirs.display()
                )),
                (Err(e), _) => problems.push(format!("{folder}/{name}: unreadable ({e})")),
            }
        }
        assert!(
            !names.is_empty(),
            "no embedded schemas in {}",
            embedded_dir.display()
        );
    }
    // Every kind's schema is embedded (objectos' own ones are not in the reference copy).
    for kind in KINDS {
        let embedded = crate_dir()
            .join("schemas")
            .join(format!("{}.json", kind.schema));
        if !embedded.is_file() {
            problems.push(format!(
                "{}: no embedded schema {}",
                kind.name,
                embedded.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `maxStorage` is accepted as an input alias of `maxStorageBytes`; output uses `maxStorageBytes`.
#[test]
fn tenant_quota_max_storage_alias() {
    use objectos_spec::types::tenant::TenantQuota;

    let quota: TenantQuota = objectos_spec::parse(&json!({"maxStorage": 10})).expect("valid quota");
    assert_eq!(quota.max_storage_bytes, Some(10));
    assert_eq!(
        serde_json::to_value(&quota).expect("serialise"),
        json!({"maxStorageBytes": 10})
    );

    let both: TenantQuota = objectos_spec::parse(&json!({"maxStorage": 5, "maxStorageBytes": 10}))
        .expect("valid quota");
    assert_eq!(both.max_storage_bytes, Some(10));
    assert_eq!(
        serde_json::to_value(&both).expect("serialise"),
        json!({"maxStorageBytes": 10})
    );

    let only_bytes: TenantQuota =
        objectos_spec::parse(&json!({"maxStorageBytes": 7})).expect("valid quota");
    assert_eq!(
        serde_json::to_value(&only_bytes).expect("serialise"),
        json!({"maxStorageBytes": 7})
    );

    let empty: TenantQuota = objectos_spec::parse(&json!({})).expect("valid quota");
    assert_eq!(serde_json::to_value(&empty).expect("serialise"), json!({}));
}

/// The oracle's default filling follows Zod: nested defaults are completed too.
#[test]
fn oracle_fills_defaults_like_zod() {
    let oracle = Oracle::load();
    let schema = read_json(&schema_file("objectos/ObjectDefinition"));
    let filled = fill_defaults(
        &oracle.documents,
        &schema,
        &schema,
        &json!({"name": "task", "fields": {"title": {"type": "text"}}}),
    );
    assert_eq!(filled["active"], json!(true));
    assert_eq!(filled["indexes"], json!([]));
    assert_eq!(filled["enable"]["trackHistory"], json!(false));
    assert_eq!(
        filled["fields"]["title"]["deleteBehavior"],
        json!("set_null")
    );
}
