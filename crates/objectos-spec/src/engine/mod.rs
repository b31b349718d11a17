//! The schema engine: the embedded JSON Schemas, compiled once, checked the way Zod parses input.

mod check;
mod compile;

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

pub(crate) use check::{quote, type_name};
pub use compile::CompileError;

use crate::issue::{Issue, Issues};
use compile::{Arena, NodeId};

/// The embedded schema documents: `(name, text)`, name = folder/file without `.json`.
pub(crate) const EMBEDDED: &[(&str, &str)] = &[
    (
        "data/DataTypeMapping",
        include_str!("../../schemas/data/DataTypeMapping.json"),
    ),
    (
        "data/Dataset",
        include_str!("../../schemas/data/Dataset.json"),
    ),
    (
        "data/DatasetMode",
        include_str!("../../schemas/data/DatasetMode.json"),
    ),
    ("data/Field", include_str!("../../schemas/data/Field.json")),
    (
        "data/Object",
        include_str!("../../schemas/data/Object.json"),
    ),
    (
        "data/FieldType",
        include_str!("../../schemas/data/FieldType.json"),
    ),
    (
        "data/FilterCondition",
        include_str!("../../schemas/data/FilterCondition.json"),
    ),
    ("data/Index", include_str!("../../schemas/data/Index.json")),
    ("data/Query", include_str!("../../schemas/data/Query.json")),
    (
        "data/QueryFilter",
        include_str!("../../schemas/data/QueryFilter.json"),
    ),
    (
        "data/SQLDialect",
        include_str!("../../schemas/data/SQLDialect.json"),
    ),
    (
        "data/SeedLoaderRequest",
        include_str!("../../schemas/data/SeedLoaderRequest.json"),
    ),
    (
        "data/SeedLoaderResult",
        include_str!("../../schemas/data/SeedLoaderResult.json"),
    ),
    (
        "data/SelectOption",
        include_str!("../../schemas/data/SelectOption.json"),
    ),
    (
        "data/TenantDatabaseLifecycle",
        include_str!("../../schemas/data/TenantDatabaseLifecycle.json"),
    ),
    (
        "data/TenantResolverStrategy",
        include_str!("../../schemas/data/TenantResolverStrategy.json"),
    ),
    (
        "data/TursoGroup",
        include_str!("../../schemas/data/TursoGroup.json"),
    ),
    (
        "data/TursoMultiTenantConfig",
        include_str!("../../schemas/data/TursoMultiTenantConfig.json"),
    ),
    (
        "kernel/KernelContext",
        include_str!("../../schemas/kernel/KernelContext.json"),
    ),
    (
        "kernel/TenantRuntimeContext",
        include_str!("../../schemas/kernel/TenantRuntimeContext.json"),
    ),
    (
        "system/AppCompatibilityCheck",
        include_str!("../../schemas/system/AppCompatibilityCheck.json"),
    ),
    (
        "system/AppInstallRequest",
        include_str!("../../schemas/system/AppInstallRequest.json"),
    ),
    (
        "system/AppInstallResult",
        include_str!("../../schemas/system/AppInstallResult.json"),
    ),
    (
        "system/AppManifest",
        include_str!("../../schemas/system/AppManifest.json"),
    ),
    (
        "system/DeployBundle",
        include_str!("../../schemas/system/DeployBundle.json"),
    ),
    (
        "system/DeployDiff",
        include_str!("../../schemas/system/DeployDiff.json"),
    ),
    (
        "system/DeployManifest",
        include_str!("../../schemas/system/DeployManifest.json"),
    ),
    (
        "system/DeployStatusEnum",
        include_str!("../../schemas/system/DeployStatusEnum.json"),
    ),
    (
        "system/DeployValidationIssue",
        include_str!("../../schemas/system/DeployValidationIssue.json"),
    ),
    (
        "system/DeployValidationResult",
        include_str!("../../schemas/system/DeployValidationResult.json"),
    ),
    (
        "system/MigrationPlan",
        include_str!("../../schemas/system/MigrationPlan.json"),
    ),
    (
        "system/ProvisioningStep",
        include_str!("../../schemas/system/ProvisioningStep.json"),
    ),
    (
        "system/QuotaEnforcementResult",
        include_str!("../../schemas/system/QuotaEnforcementResult.json"),
    ),
    (
        "system/Tenant",
        include_str!("../../schemas/system/Tenant.json"),
    ),
    (
        "system/TenantConnectionConfig",
        include_str!("../../schemas/system/TenantConnectionConfig.json"),
    ),
    (
        "system/TenantIsolationConfig",
        include_str!("../../schemas/system/TenantIsolationConfig.json"),
    ),
    (
        "system/TenantIsolationLevel",
        include_str!("../../schemas/system/TenantIsolationLevel.json"),
    ),
    (
        "system/TenantPlan",
        include_str!("../../schemas/system/TenantPlan.json"),
    ),
    (
        "system/TenantProvisioningRequest",
        include_str!("../../schemas/system/TenantProvisioningRequest.json"),
    ),
    (
        "system/TenantProvisioningResult",
        include_str!("../../schemas/system/TenantProvisioningResult.json"),
    ),
    (
        "system/TenantProvisioningStatusEnum",
        include_str!("../../schemas/system/TenantProvisioningStatusEnum.json"),
    ),
    (
        "system/TenantQuota",
        include_str!("../../schemas/system/TenantQuota.json"),
    ),
    (
        "system/TenantRegion",
        include_str!("../../schemas/system/TenantRegion.json"),
    ),
    (
        "system/TenantSecurityPolicy",
        include_str!("../../schemas/system/TenantSecurityPolicy.json"),
    ),
    (
        "system/TenantUsage",
        include_str!("../../schemas/system/TenantUsage.json"),
    ),
    (
        "objectos/ObjectDefinition",
        include_str!("../../schemas/objectos/ObjectDefinition.json"),
    ),
];

/// The `$id` prefix of the protocol's schema files.
const SPEC_ID_BASE: &str = "https://schema.objectstack.io/v4.0.1/";

/// Every embedded document compiled into one arena, with each document's root by name.
pub(crate) struct Schemas {
    arena: Arena,
    roots: HashMap<&'static str, NodeId>,
}

impl Schemas {
    /// Compiles all embedded documents (each once; `$ref`s across documents are shared).
    pub(crate) fn compile() -> Result<Self, CompileError> {
        let mut arena = Arena::default();
        let mut ids = Vec::with_capacity(EMBEDDED.len());
        for (name, text) in EMBEDDED {
            // A document without `$id` (data/Object.json, generated from the Zod schema) gets the
            // one the package's own files follow, so others can `$ref` it.
            let id_hint = if name.starts_with("objectos/") {
                (*name).to_owned()
            } else {
                format!("{SPEC_ID_BASE}{name}.json")
            };
            ids.push((*name, arena.add_document(&id_hint, text)?));
        }
        let mut roots = HashMap::with_capacity(ids.len());
        for (name, id) in ids {
            roots.insert(name, arena.compile_document(&id)?);
        }
        Ok(Self { arena, roots })
    }

    /// Checks `value` against the named document; returns the normalised value and every issue.
    /// An unknown name is a programming error and is reported as a `custom` issue at the root.
    pub(crate) fn check(&self, schema: &str, value: &Value) -> (Value, Issues) {
        let Some(&root) = self.roots.get(schema) else {
            let issue = Issue::new(
                crate::JsonPath::root(),
                crate::IssueCode::Custom,
                format!("internal: no embedded schema named {schema}"),
            );
            let mut issues = Issues::new();
            issues.push(issue);
            return (value.clone(), issues);
        };
        let mut checker = check::Checker::new(&self.arena);
        let out = checker.check(root, value);
        (out, checker.issues)
    }
}

impl Schemas {
    /// The top-level property names of an object schema, and those required without a default.
    pub(crate) fn top_level(&self, schema: &str) -> Option<(Vec<&str>, Vec<&str>)> {
        let node = self.arena.node(*self.roots.get(schema)?);
        if node.properties.is_empty() {
            return None;
        }
        let props = node.properties.iter().map(|(k, _)| k.as_str()).collect();
        let required = node
            .required
            .iter()
            .filter(|r| {
                node.properties
                    .iter()
                    .find(|(k, _)| k == *r)
                    .is_some_and(|(_, id)| self.arena.node(*id).default.is_none())
            })
            .map(String::as_str)
            .collect();
        Some((props, required))
    }
}

static SCHEMAS: LazyLock<Result<Schemas, CompileError>> = LazyLock::new(Schemas::compile);

/// The compiled embedded schemas.
///
/// The documents are compiled into the binary and covered by the test
/// `engine::tests::every_embedded_schema_compiles`; a failure here is a build defect, not an input
/// problem, so it is surfaced as an error to the caller rather than a panic.
pub(crate) fn schemas() -> Result<&'static Schemas, &'static CompileError> {
    SCHEMAS.as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    fn check(schema: &str, value: Value) -> (Value, Vec<(String, &'static str)>) {
        let schemas = schemas().expect("embedded schemas compile");
        let (out, issues) = schemas.check(schema, &value);
        let issues = issues
            .into_parts()
            .0
            .into_iter()
            .map(|i| (i.path.to_string(), i.code.as_str()))
            .collect();
        (out, issues)
    }

    #[test]
    fn every_embedded_schema_compiles() {
        let schemas = Schemas::compile().expect("embedded schemas compile");
        assert_eq!(schemas.roots.len(), EMBEDDED.len());
    }

    #[test]
    fn nested_defaults_are_filled_through_default_objects() {
        let (out, issues) = check(
            "data/TenantDatabaseLifecycle",
            json!({"onTenantCreate": {}, "onTenantDelete": {"immediate": true}, "onTenantSuspend": {}}),
        );
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(
            out["onTenantDelete"],
            json!({"immediate": true, "gracePeriodHours": 72, "createBackup": true})
        );
        assert_eq!(
            out["onTenantSuspend"],
            json!({"revokeTokens": true, "readOnly": true})
        );
    }

    #[test]
    fn integral_floats_become_integers_and_fractions_are_refused() {
        let (out, issues) = check("system/TenantQuota", json!({"maxUsers": 3.0}));
        assert!(issues.is_empty());
        assert_eq!(out["maxUsers"].as_u64(), Some(3));
        let (_, issues) = check(
            "system/TenantQuota",
            json!({"maxUsers": 3.5, "maxObjects": 0}),
        );
        assert_eq!(
            issues,
            vec![
                ("maxUsers".to_owned(), "invalid_type"),
                ("maxObjects".to_owned(), "too_small")
            ]
        );
    }

    #[test]
    fn string_length_counts_code_points() {
        // "é" is one code point, two UTF-8 bytes: minLength 1 is met by it.
        let (_, issues) = check("system/TenantProvisioningRequest", json!({"orgId": "é"}));
        assert!(issues.is_empty());
        let (_, issues) = check("system/TenantProvisioningRequest", json!({"orgId": ""}));
        assert_eq!(issues, vec![("orgId".to_owned(), "too_small")]);
    }

    #[test]
    fn recursive_references_are_followed() {
        let deep = json!({"where": {"$and": [{"$or": [{"$not": {"$and": [{"$bad": 1}]}}]}]}});
        let (_, issues) = check("data/QueryFilter", deep);
        assert_eq!(
            issues,
            vec![(
                "where.$and[0].$or[0].$not.$and[0]".to_owned(),
                "unrecognized_keys"
            )]
        );
    }

    #[test]
    fn a_discriminated_union_reports_the_chosen_variant_issues() {
        let (_, issues) = check(
            "system/TenantIsolationConfig",
            json!({"strategy": "isolated_schema", "schema": {"namingPattern": 5}}),
        );
        assert_eq!(
            issues,
            vec![("schema.namingPattern".to_owned(), "invalid_type")]
        );
        let (_, issues) = check("system/TenantIsolationConfig", json!({"database": {}}));
        assert_eq!(
            issues,
            vec![("strategy".to_owned(), "invalid_union_discriminator")]
        );
        let (_, issues) = check("system/TenantIsolationConfig", json!("shared_schema"));
        assert_eq!(issues, vec![(String::new(), "invalid_type")]);
    }

    #[test]
    fn missing_required_and_null_are_distinguished() {
        let (_, issues) = check("system/ProvisioningStep", json!({"status": null}));
        assert_eq!(
            issues,
            vec![
                ("name".to_owned(), "invalid_type"),
                ("status".to_owned(), "invalid_type")
            ]
        );
        let schemas = schemas().expect("compiled");
        let (_, issues) = schemas.check("system/ProvisioningStep", &json!({"status": null}));
        let issues = issues.as_slice();
        assert_eq!(issues[0].message, "Required");
        assert!(
            issues[1].message.contains("received null"),
            "{}",
            issues[1].message
        );
    }

    #[test]
    fn past_the_issue_cap_issues_are_counted_and_no_copy_is_made() {
        // 300 fields of an unknown type: 300 issues, 100 kept. Filling every default of a large
        // invalid document multiplied its size many times over, and its normalised copy doubled
        // it again (issue #14): once the list is full the walk only counts.
        let fields: serde_json::Map<String, Value> = (0..300)
            .map(|i| (format!("f{i:03}"), json!({"type": "strng", "label": "x"})))
            .collect();
        let schemas = schemas().expect("compiled");
        let (out, issues) = schemas.check(
            "objectos/ObjectDefinition",
            &json!({"name": "thing", "fields": fields}),
        );
        assert_eq!((issues.as_slice().len(), issues.total()), (100, 300));
        assert_eq!(issues.as_slice()[99].path.to_string(), "fields.f099.type");
        // No normalised copy is kept once the list is full: the document is refused anyway.
        assert_eq!(out, Value::Null);

        // Below the cap, the normalised copy is whole: every field with its defaults.
        let few: serde_json::Map<String, Value> = (0..3)
            .map(|i| (format!("f{i}"), json!({"type": "strng"})))
            .collect();
        let (out, issues) = schemas.check(
            "objectos/ObjectDefinition",
            &json!({"name": "thing", "fields": few}),
        );
        assert_eq!(issues.total(), 3);
        let filled = out["fields"]["f2"].as_object().expect("an object").len();
        assert!(filled > 2, "{}", out["fields"]["f2"]);
    }

    #[test]
    fn an_unknown_schema_name_is_an_issue_not_a_panic() {
        let (_, issues) = check("system/Nope", json!({}));
        assert_eq!(issues, vec![(String::new(), "custom")]);
    }
}
