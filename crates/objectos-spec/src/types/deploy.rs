//! Deployment types (`system/deploy-bundle.zod.ts`): bundle, manifest, diff, validation result and migration plan.

use serde::{Deserialize, Serialize};

/// Deployment lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeployStatus {
    /// `validating`
    #[serde(rename = "validating")]
    Validating,
    /// `diffing`
    #[serde(rename = "diffing")]
    Diffing,
    /// `migrating`
    #[serde(rename = "migrating")]
    Migrating,
    /// `registering`
    #[serde(rename = "registering")]
    Registering,
    /// `ready`
    #[serde(rename = "ready")]
    Ready,
    /// `failed`
    #[serde(rename = "failed")]
    Failed,
    /// `rolling_back`
    #[serde(rename = "rolling_back")]
    RollingBack,
}

impl DeployStatus {
    /// Every value, in the order the schema lists them.
    pub const ALL: &[Self] = &[
        Self::Validating,
        Self::Diffing,
        Self::Migrating,
        Self::Registering,
        Self::Ready,
        Self::Failed,
        Self::RollingBack,
    ];

    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Validating => "validating",
            Self::Diffing => "diffing",
            Self::Migrating => "migrating",
            Self::Registering => "registering",
            Self::Ready => "ready",
            Self::Failed => "failed",
            Self::RollingBack => "rolling_back",
        }
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

/// Entity type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChangeEntityType {
    /// `object`
    #[serde(rename = "object")]
    Object,
    /// `field`
    #[serde(rename = "field")]
    Field,
    /// `index`
    #[serde(rename = "index")]
    Index,
    /// `view`
    #[serde(rename = "view")]
    View,
    /// `flow`
    #[serde(rename = "flow")]
    Flow,
    /// `permission`
    #[serde(rename = "permission")]
    Permission,
}

impl ChangeEntityType {
    /// Every value, in the order the schema lists them.
    pub const ALL: &[Self] = &[
        Self::Object,
        Self::Field,
        Self::Index,
        Self::View,
        Self::Flow,
        Self::Permission,
    ];

    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Object => "object",
            Self::Field => "field",
            Self::Index => "index",
            Self::View => "view",
            Self::Flow => "flow",
            Self::Permission => "permission",
        }
    }
}

/// Change type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChangeType {
    /// `added`
    #[serde(rename = "added")]
    Added,
    /// `modified`
    #[serde(rename = "modified")]
    Modified,
    /// `removed`
    #[serde(rename = "removed")]
    Removed,
}

impl ChangeType {
    /// Every value, in the order the schema lists them.
    pub const ALL: &[Self] = &[Self::Added, Self::Modified, Self::Removed];

    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Modified => "modified",
            Self::Removed => "removed",
        }
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_value: Option<serde_json::Value>,
    /// New value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

/// Issue severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IssueSeverity {
    /// `error`
    #[serde(rename = "error")]
    Error,
    /// `warning`
    #[serde(rename = "warning")]
    Warning,
    /// `info`
    #[serde(rename = "info")]
    Info,
}

impl IssueSeverity {
    /// Every value, in the order the schema lists them.
    pub const ALL: &[Self] = &[Self::Error, Self::Warning, Self::Info];

    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        }
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
