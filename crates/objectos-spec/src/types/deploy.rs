//! Deployment types (`system/deploy-bundle.zod.ts`): bundle, manifest, diff, validation result and migration plan.

use serde::{Deserialize, Serialize};

spec_enum! {
    /// Deployment lifecycle status.
    DeployStatus {
        Validating => "validating",
        Diffing => "diffing",
        Migrating => "migrating",
        Registering => "registering",
        Ready => "ready",
        Failed => "failed",
        RollingBack => "rolling_back",
    }
}

/// Deployment manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployManifest {
    /// Deployment version.
    pub version: String,
    /// SHA256 checksum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// Object names included.
    pub objects: Vec<String>,
    /// View names included.
    pub views: Vec<String>,
    /// Flow names included.
    pub flows: Vec<String>,
    /// Permission names included.
    pub permissions: Vec<String>,
    /// Bundle creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// Deploy bundle containing all metadata for deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployBundle {
    /// Deployment manifest.
    pub manifest: DeployManifest,
    /// Object definitions.
    pub objects: Vec<crate::model::ObjectDefinition>,
    /// View definitions.
    pub views: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Flow definitions.
    pub flows: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Permission definitions.
    pub permissions: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Seed data records.
    pub seed_data: Vec<serde_json::Map<String, serde_json::Value>>,
}

spec_enum! {
    /// Entity type.
    ChangeEntityType {
        Object => "object",
        Field => "field",
        Index => "index",
        View => "view",
        Flow => "flow",
        Permission => "permission",
    }
}

spec_enum! {
    /// Change type.
    ChangeType {
        Added => "added",
        Modified => "modified",
        Removed => "removed",
    }
}

/// Individual schema change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchemaChange {
    /// Entity type.
    pub entity_type: ChangeEntityType,
    /// Entity name.
    pub entity_name: String,
    /// Parent entity name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_entity: Option<String>,
    /// Change type.
    pub change_type: ChangeType,
    /// Previous value.
    #[serde(
        default,
        deserialize_with = "super::keep_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub old_value: Option<serde_json::Value>,
    /// New value.
    #[serde(
        default,
        deserialize_with = "super::keep_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub new_value: Option<serde_json::Value>,
}

/// Change summary counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployDiffSummary {
    /// Number of added entities.
    pub added: u64,
    /// Number of modified entities.
    pub modified: u64,
    /// Number of removed entities.
    pub removed: u64,
}

/// Schema diff between current and desired state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployDiff {
    /// List of schema changes.
    pub changes: Vec<SchemaChange>,
    /// Change summary counts.
    pub summary: DeployDiffSummary,
    /// Whether diff contains breaking changes.
    pub has_breaking_changes: bool,
}

spec_enum! {
    /// Issue severity.
    IssueSeverity {
        Error => "error",
        Warning => "warning",
        Info => "info",
    }
}

/// Validation issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployValidationIssue {
    /// Issue severity.
    pub severity: IssueSeverity,
    /// Entity path (e.g., objects.project_task.fields.name).
    pub path: String,
    /// Issue description.
    pub message: String,
    /// Validation error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// Bundle validation result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployValidationResult {
    /// Whether the bundle is valid.
    pub valid: bool,
    /// Validation issues.
    pub issues: Vec<DeployValidationIssue>,
    /// Number of errors.
    pub error_count: u64,
    /// Number of warnings.
    pub warning_count: u64,
}

/// Single DDL migration statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MigrationStatement {
    /// SQL DDL statement.
    pub sql: String,
    /// Whether the statement can be reversed.
    pub reversible: bool,
    /// Reverse SQL for rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_sql: Option<String>,
    /// Execution order.
    pub order: u64,
}

/// Ordered migration plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MigrationPlan {
    /// Ordered DDL statements.
    pub statements: Vec<MigrationStatement>,
    /// Target SQL dialect.
    pub dialect: String,
    /// Whether the plan can be fully rolled back.
    pub reversible: bool,
    /// Estimated execution time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_duration_ms: Option<u64>,
}
