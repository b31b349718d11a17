//! No input may panic: property tests over arbitrary JSON and over mutated valid documents.
//!
//! Run with `cargo test -p objectos-spec --test no_panic`; raise the number of cases with
//! `PROPTEST_CASES=100000 cargo test -p objectos-spec --test no_panic --release` for a longer run.
//! The cargo-fuzz targets in `fuzz/` cover the same parsers from raw bytes (see `docs/fuzzing.md`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::Path;
use std::sync::LazyLock;

use objectos_spec::types::{
    app::*, context::*, deploy::*, driver::*, field::*, provisioning::*, tenant::*, turso::*,
};
use objectos_spec::{
    infer, kind, parse, parse_str, Issue, IssueCode, ObjectDefinition, SpecType, ValidationError,
    KINDS,
};
use proptest::prelude::*;
use proptest::sample::Index as Pick;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Map, Number, Value};

// ---------------------------------------------------------------------------------------------
// Vocabulary harvested from the embedded schemas, so generated documents reach deep code paths.
// ---------------------------------------------------------------------------------------------

struct Vocab {
    /// Every property name of every schema (`orgId`, `manifest`, `fields`, `maxStorageBytes`...).
    keys: Vec<String>,
    /// Every string enum member, `const` and string default (`free`, `us-east`, `lookup`...).
    strings: Vec<String>,
}

fn harvest(schema: &Value, keys: &mut BTreeSet<String>, strings: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                keys.extend(props.keys().cloned());
            }
            if let Some(Value::Array(required)) = map.get("required") {
                keys.extend(required.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            if let Some(Value::Array(options)) = map.get("enum") {
                strings.extend(options.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            for key in ["const", "default"] {
                if let Some(Value::String(s)) = map.get(key) {
                    strings.insert(s.clone());
                }
            }
            for v in map.values() {
                harvest(v, keys, strings);
            }
        }
        Value::Array(items) => {
            for v in items {
                harvest(v, keys, strings);
            }
        }
        _ => {}
    }
}

fn schema_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("schemas directory")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            schema_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

static VOCAB: LazyLock<Vocab> = LazyLock::new(|| {
    let mut keys = BTreeSet::new();
    let mut strings = BTreeSet::new();
    let mut files = Vec::new();
    schema_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas"),
        &mut files,
    );
    for file in files {
        let text = std::fs::read_to_string(&file).expect("schema file");
        let schema: Value = serde_json::from_str(&text).expect("schema JSON");
        harvest(&schema, &mut keys, &mut strings);
    }
    // Names the rules care about: system columns, reserved prefixes, field keys used by seeds.
    for extra in [
        "id",
        "created_at",
        "updated_at",
        "title",
        "due_date",
        "status",
        "owner",
        "_objectos_meta",
        "sqlite_master",
    ] {
        keys.insert(extra.to_owned());
        strings.insert(extra.to_owned());
    }
    assert!(keys.len() > 100, "harvested only {} keys", keys.len());
    Vocab {
        keys: keys.into_iter().collect(),
        strings: strings.into_iter().collect(),
    }
});

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-5i64..70).prop_map(Value::from),
        prop::sample::select(vec![
            0i64,
            1,
            -1,
            60,
            604_800,
            604_801,
            10_000,
            10_001,
            i64::MIN,
            i64::MAX,
            9_007_199_254_740_991,
            9_007_199_254_740_992,
            -9_007_199_254_740_991,
            -9_007_199_254_740_992,
        ])
        .prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        prop::sample::select(vec![
            1.0f64,
            -0.0,
            0.0,
            0.5,
            -1.5,
            2.0,
            1e308,
            -1e308,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            5e-324,
            1e19,
            -1e19,
            9.2e18,
            9.3e18,
            -9.3e18,
            1.8446744073709552e19,
            9_007_199_254_740_992.0,
        ])
        .prop_map(|f| Value::Number(Number::from_f64(f).expect("finite"))),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
    ]
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(VOCAB.strings.clone()),
        2 => prop::sample::select(VOCAB.keys.clone()),
        2 => prop::sample::select(vec![
            String::new(),
            " ".to_owned(),
            "a".to_owned(),
            "ab".to_owned(),
            "A".to_owned(),
            "1.0.0".to_owned(),
            "1.0".to_owned(),
            "v1.2.3-beta.1+build.5".to_owned(),
            "admin@example.com".to_owned(),
            ".a@b.co".to_owned(),
            "a..b@example.com".to_owned(),
            "2026-02-29T10:00:00Z".to_owned(),
            "2024-02-29T10:00:00.123Z".to_owned(),
            "2026-01-31T09:30:00+01:00".to_owned(),
            "550e8400-e29b-41d4-a716-446655440000".to_owned(),
            "日本語".to_owned(),
            "é".to_owned(),
            "e\u{301}".to_owned(),
            "🦀🦀".to_owned(),
            "\u{0}".to_owned(),
            "\u{feff}".to_owned(),
            "\u{202e}rtl".to_owned(),
            "a\nb\"c\\d".to_owned(),
            "x".repeat(63),
            "x".repeat(64),
            "é".repeat(61),
            "a".repeat(5000),
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!".to_owned(),
            format!("{}@{}", "a".repeat(200), "b.".repeat(200)),
        ]),
        2 => "[a-z_][a-z0-9_]{0,12}",
        1 => "\\PC{0,24}",
        1 => ".{0,8}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(VOCAB.keys.clone()),
        1 => "[a-z_][a-z0-9_]{0,10}",
        1 => string(),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => number(),
        4 => string().prop_map(Value::String),
    ]
}

/// Arbitrary JSON, objects keyed mostly by the schemas' own property names.
fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            1 => prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            3 => prop::collection::vec((key(), inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Arbitrary JSON whose root is usually an object (documents are objects, enums are strings).
fn document() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::collection::vec((key(), json_value()), 0..10)
            .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        1 => json_value(),
    ]
}

/// Valid documents the mutations start from.
fn seeds() -> Vec<Value> {
    let request = json!({
        "orgId": "acme",
        "plan": "enterprise",
        "region": "eu-central",
        "displayName": "Acme Corp",
        "adminEmail": "admin@acme.example",
        "metadata": {"source": "signup", "tier": 3, "tags": ["a", "b"], "nested": {"x": null}}
    });
    let task = json!({
        "name": "task",
        "label": "Task",
        "pluralLabel": "Tasks",
        "description": "Things to do",
        "icon": "check",
        "tags": ["work"],
        "fields": {
            "title": {"type": "text", "label": "Title", "required": true, "maxLength": 200, "minLength": 1},
            "status": {
                "type": "select",
                "options": [{"label": "Open", "value": "open"}, {"label": "Done", "value": "done", "color": "#0f0", "default": true}],
                "defaultValue": "open"
            },
            "tags": {
                "type": "multiselect",
                "options": [{"label": "Red", "value": "red"}, {"label": "Blue", "value": "blue"}],
                "defaultValue": ["red"]
            },
            "project": {"type": "lookup", "reference": "project", "deleteBehavior": "cascade"},
            "estimate": {"type": "number", "min": 0, "max": 1000, "precision": 10, "scale": 2},
            "score": {"type": "formula", "expression": "estimate * 2"},
            "due_date": {"type": "date", "columnName": "due_on"},
            "rating": {"type": "rating", "maxRating": 5}
        },
        "indexes": [{"name": "task_status", "fields": ["status", "due_date"]}, {"fields": ["id"], "unique": true}],
        "enable": {"trackHistory": true, "apiMethods": ["get", "list", "create"]},
        "displayNameField": "title",
        "titleFormat": "{title}",
        "compactLayout": ["title", "status"]
    });
    let project = json!({
        "name": "project",
        "fields": {
            "name": {"type": "text"},
            "total": {"type": "summary", "summaryOperations": {"object": "task", "field": "estimate", "function": "sum"}}
        }
    });
    let bundle = json!({
        "manifest": {
            "version": "1.2.0",
            "checksum": "abc123",
            "objects": ["task", "project"],
            "views": ["task_list"],
            "flows": [],
            "permissions": [],
            "createdAt": "2026-01-31T09:30:00Z"
        },
        "objects": [task.clone(), project],
        "views": [{"name": "task_list", "object": "task"}],
        "flows": [],
        "permissions": [{"name": "admin", "allow": ["*"]}],
        "seedData": [{"object": "task", "records": [{"title": "First"}]}]
    });
    let tenant = json!({
        "id": "t1",
        "name": "Acme",
        "isolationLevel": "shared_schema",
        "quotas": {"maxUsers": 10, "maxStorage": 1024, "maxStorageBytes": 2048}
    });
    vec![
        request,
        json!({"orgId": "x"}),
        bundle,
        json!({"manifest": {"version": "1"}}),
        task,
        json!({"type": "text"}),
        json!({"maxUsers": 1, "maxStorage": 5}),
        tenant,
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the value at the chosen node.
    Replace(Value),
    /// Delete the chosen node from its parent.
    Delete,
    /// Insert a member (objects) or element (arrays) into the chosen node.
    Insert(String, Value),
    /// Copy the chosen node over another node.
    Copy(Pick),
}

fn mutation() -> impl Strategy<Value = (Pick, Mutation)> {
    let op = prop_oneof![
        3 => json_value().prop_map(Mutation::Replace),
        2 => Just(Mutation::Delete),
        2 => (key(), json_value()).prop_map(|(k, v)| Mutation::Insert(k, v)),
        1 => any::<Pick>().prop_map(Mutation::Copy),
    ];
    (any::<Pick>(), op)
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    At(usize),
}

/// Paths of every node (root included), in document order.
fn node_paths(value: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(prefix.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                prefix.push(Step::Key(k.clone()));
                node_paths(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                prefix.push(Step::At(i));
                node_paths(v, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn node_mut<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |v, step| match step {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::At(i) => v.get_mut(*i),
    })
}

fn node<'a>(value: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, step| match step {
        Step::Key(k) => v.get(k.as_str()),
        Step::At(i) => v.get(*i),
    })
}

fn mutate(mut doc: Value, mutations: &[(Pick, Mutation)]) -> Value {
    for (at, mutation) in mutations {
        let mut paths = Vec::new();
        node_paths(&doc, &mut Vec::new(), &mut paths);
        let path = at.get(&paths).clone();
        match mutation {
            Mutation::Replace(v) => {
                if let Some(target) = node_mut(&mut doc, &path) {
                    *target = v.clone();
                }
            }
            Mutation::Delete => {
                let Some((last, parent)) = path.split_last() else {
                    doc = Value::Null;
                    continue;
                };
                match (node_mut(&mut doc, parent), last) {
                    (Some(Value::Object(map)), Step::Key(k)) => {
                        map.shift_remove(k);
                    }
                    (Some(Value::Array(items)), Step::At(i)) if *i < items.len() => {
                        items.remove(*i);
                    }
                    _ => {}
                }
            }
            Mutation::Insert(k, v) => match node_mut(&mut doc, &path) {
                Some(Value::Object(map)) => {
                    map.insert(k.clone(), v.clone());
                }
                Some(Value::Array(items)) => {
                    let i = k.len() % (items.len() + 1);
                    items.insert(i, v.clone());
                }
                Some(other) => *other = v.clone(),
                None => {}
            },
            Mutation::Copy(to) => {
                let Some(source) = node(&doc, &path).cloned() else {
                    continue;
                };
                let to = to.get(&paths).clone();
                if let Some(target) = node_mut(&mut doc, &to) {
                    *target = source;
                }
            }
        }
    }
    doc
}

fn mutated_document() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(seeds()),
        prop::collection::vec(mutation(), 0..5),
    )
        .prop_map(|(seed, mutations)| mutate(seed, &mutations))
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const KNOWN_CODES: &[&str] = &[
    "invalid_type",
    "invalid_literal",
    "invalid_enum_value",
    "unrecognized_keys",
    "invalid_string",
    "too_small",
    "too_big",
    "invalid_union",
    "invalid_union_discriminator",
    "custom",
    "unsupported",
];

fn check_issues(kind: &str, doc: &Value, issues: &[Issue]) -> Result<(), TestCaseError> {
    for issue in issues {
        let code = issue.code.as_str();
        prop_assert!(
            KNOWN_CODES.contains(&code),
            "{kind}: unknown code {code} in {issue}"
        );
        let serialised = serde_json::to_value(issue).expect("issue serialises");
        prop_assert_eq!(&serialised["code"], &json!(code));
        prop_assert!(
            !issue.message.trim().is_empty(),
            "{kind}: empty message in {issue:?} for {doc}"
        );
        prop_assert!(
            !(issue.code == IssueCode::Custom && issue.message.starts_with("internal:")),
            "{kind}: internal defect reported for {doc}: {issue}"
        );
        // Rendering must not panic either.
        let _ = issue.to_string();
        let _ = issue.path.to_string();
    }
    Ok(())
}

/// Parses `input` as `T`; when the kind's validation accepts it, parsing must succeed and the
/// serialised result must validate again and parse back to the same value.
fn typed_round_trip<T: SpecType + PartialEq + Debug>(
    input: &Value,
    valid: bool,
) -> Result<(), String> {
    match parse::<T>(input) {
        Ok(parsed) => {
            if !valid {
                return Err("parse succeeded although validate reported issues".to_owned());
            }
            let output = serde_json::to_value(&parsed).map_err(|e| format!("serialise: {e}"))?;
            let kind = kind(T::KIND).ok_or("no kind")?;
            let again = kind.validate(&output);
            if !again.is_valid() {
                return Err(format!(
                    "serialised output {output} does not validate: {}",
                    ValidationError::new(again.issues)
                ));
            }
            let reparsed: T = parse(&output).map_err(|e| format!("reparse of {output}: {e}"))?;
            if reparsed != parsed {
                return Err(format!(
                    "round trip changed the value: {parsed:?} became {reparsed:?}"
                ));
            }
            let text = serde_json::to_string(&parsed).map_err(|e| format!("to_string: {e}"))?;
            let from_text: T = parse_str(&text).map_err(|e| format!("parse_str of {text}: {e}"))?;
            if from_text != parsed {
                return Err(format!("text round trip changed {text}"));
            }
            Ok(())
        }
        Err(e) => {
            if valid {
                return Err(format!("validate accepted but parse failed: {e}"));
            }
            if e.issues.is_empty() {
                return Err("ValidationError without issues".to_owned());
            }
            let _ = e.to_string();
            Ok(())
        }
    }
}

type RoundTrip = fn(&Value, bool) -> Result<(), String>;

macro_rules! typed {
    ($($ty:ty),* $(,)?) => {
        &[$((<$ty as SpecType>::KIND, typed_round_trip::<$ty> as RoundTrip)),*]
    };
}

/// Every kind's Rust type.
const TYPED: &[(&str, RoundTrip)] = typed![
    DeployBundle,
    DeployManifest,
    ObjectDefinition,
    Field,
    Dataset,
    Index,
    SelectOption,
    AppManifest,
    AppInstallRequest,
    AppInstallResult,
    AppCompatibilityCheck,
    TenantProvisioningRequest,
    TenantProvisioningResult,
    ProvisioningStep,
    Tenant,
    TenantConnectionConfig,
    TenantIsolationConfig,
    TenantSecurityPolicy,
    TenantQuota,
    TenantUsage,
    QuotaEnforcementResult,
    DeployDiff,
    DeployValidationIssue,
    DeployValidationResult,
    MigrationPlan,
    TursoMultiTenantConfig,
    TursoGroup,
    TenantDatabaseLifecycle,
    KernelContext,
    TenantRuntimeContext,
    DataTypeMapping,
    TenantPlan,
    TenantRegion,
    TenantProvisioningStatus,
    TenantIsolationLevel,
    DeployStatus,
    TenantResolverStrategy,
    FieldType,
    DatasetMode,
    SqlDialect,
];

/// All properties for one document.
fn check_document(doc: &Value) -> Result<(), TestCaseError> {
    for k in KINDS {
        let validated = k.validate(doc);
        check_issues(k.name, doc, &validated.issues)?;
        if validated.is_valid() {
            // Validation is idempotent on its own output.
            let again = k.validate(&validated.value);
            prop_assert!(
                again.is_valid(),
                "{}: normalised {} does not validate: {:?}",
                k.name,
                validated.value,
                again.issues
            );
        }
        let typed = TYPED.iter().find(|(name, _)| *name == k.name);
        prop_assert!(typed.is_some(), "no Rust type listed for kind {}", k.name);
        if let Some((_, round_trip)) = typed {
            if let Err(e) = round_trip(doc, validated.is_valid()) {
                return Err(TestCaseError::fail(format!(
                    "{}: {e}\ninput: {doc}",
                    k.name
                )));
            }
        }
    }
    // The two untrusted entry points, explicitly (also covered above).
    let _ = parse::<TenantProvisioningRequest>(doc);
    let _ = parse::<DeployBundle>(doc);
    let text = doc.to_string();
    let _ = parse_str::<TenantProvisioningRequest>(&text);
    let _ = parse_str::<DeployBundle>(&text);

    if let Some(inference) = infer(doc) {
        prop_assert!(doc.is_object(), "infer chose a kind for a non-object");
        if inference.valid {
            prop_assert!(
                inference.kind.validate(doc).is_valid(),
                "infer said {} is valid, validate disagrees for {doc}",
                inference.kind.name
            );
        }
    }
    Ok(())
}

fn config() -> ProptestConfig {
    // `ProptestConfig::default()` honours `PROPTEST_CASES` (256 cases otherwise). Shrunk failures
    // are saved next to this file, in `no_panic.proptest-regressions`, and replayed first.
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_json_never_panics(doc in document()) {
        check_document(&doc)?;
    }

    #[test]
    fn mutated_valid_documents_never_panic(doc in mutated_document()) {
        check_document(&doc)?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in prop_oneof![
        "\\PC{0,64}",
        any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        document().prop_map(|d| d.to_string()),
        document().prop_map(|d| { let s = d.to_string(); let half = s.chars().count() / 2; s.chars().take(half).collect() }),
    ]) {
        let _ = parse_str::<TenantProvisioningRequest>(&text);
        let _ = parse_str::<DeployBundle>(&text);
        if let Err(e) = parse_str::<DeployBundle>(&text) {
            prop_assert!(!e.issues.is_empty());
            check_issues("DeployBundle", &Value::String(text.clone()), &e.issues)?;
        }
    }
}

#[test]
fn seeds_are_valid() {
    let expected = [
        "TenantProvisioningRequest",
        "TenantProvisioningRequest",
        "DeployBundle",
        "DeployBundle",
        "ObjectDefinition",
        "Field",
        "TenantQuota",
        "Tenant",
    ];
    for (seed, name) in seeds().iter().zip(expected) {
        let k = kind(name).expect("kind");
        let validated = k.validate(seed);
        assert!(
            validated.is_valid(),
            "seed {seed} is not a valid {name}: {:?}",
            validated.issues
        );
    }
    assert_eq!(TYPED.len(), KINDS.len());
}

#[test]
fn deeply_nested_input_does_not_overflow() {
    // serde_json refuses nesting beyond 128 levels, so text input stays shallow; built values may be
    // deeper. Check a depth well past the parser's limit in places the schemas leave open.
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let doc = json!({"orgId": "x", "metadata": {"deep": deep}});
    let _ = parse::<TenantProvisioningRequest>(&doc);
    let bundle = json!({"manifest": {"version": "1"}, "seedData": [{"deep": deep}], "objects": [{"name": "a", "fields": {"a": {"type": "json", "defaultValue": deep}}}]});
    let _ = parse::<DeployBundle>(&bundle);
    let _ = infer(&bundle);
    let text = "[".repeat(10_000);
    assert!(parse_str::<DeployBundle>(&text).is_err());
}

/// Replays the fuzzers' seed inputs (`fuzz/seeds/<target>/`), which is also where minimised crash
/// inputs go once fixed, so every past crash stays a regression test of the normal suite.
#[test]
fn fuzz_seeds_and_regressions_replay() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let Ok(targets) = std::fs::read_dir(&seeds) else {
        return; // the crate built outside this workspace
    };
    let mut replayed = 0;
    for target in targets {
        let target = target.unwrap().path();
        for input in std::fs::read_dir(&target).unwrap() {
            let input = input.unwrap().path();
            let bytes = std::fs::read(&input).unwrap();
            if let Ok(text) = std::str::from_utf8(&bytes) {
                let _ = parse_str::<TenantProvisioningRequest>(text);
                let _ = parse_str::<DeployBundle>(text);
            }
            if let Ok(doc) = serde_json::from_slice::<Value>(&bytes) {
                if let Err(e) = check_document(&doc) {
                    panic!("{}: {e}", input.display());
                }
            }
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no inputs under {}", seeds.display());
}
