//! Marketplace app types (`system/app-install.zod.ts`): manifest, compatibility check, install request and result.

use serde::{Deserialize, Serialize};

/// App manifest for marketplace installation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppManifest {
    /// App identifier (snake_case).
    pub name: String,
    /// App display label.
    pub label: String,
    /// App version (semver).
    pub version: String,
    /// App description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Minimum required kernel version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel_version: Option<String>,
    /// Object names provided.
    pub objects: Vec<String>,
    /// View names provided.
    pub views: Vec<String>,
    /// Flow names provided.
    pub flows: Vec<String>,
    /// Whether app includes seed data.
    pub has_seed_data: bool,
    /// Seed data records.
    pub seed_data: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Required app dependencies.
    pub dependencies: Vec<String>,
}

spec_enum! {
    /// Issue severity.
    CompatibilitySeverity {
        Error => "error",
        Warning => "warning",
    }
}

spec_enum! {
    /// Issue category.
    CompatibilityCategory {
        KernelVersion => "kernel_version",
        ObjectConflict => "object_conflict",
        DependencyMissing => "dependency_missing",
        QuotaExceeded => "quota_exceeded",
    }
}

/// CompatibilityIssue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompatibilityIssue {
    /// Issue severity.
    pub severity: CompatibilitySeverity,
    /// Issue description.
    pub message: String,
    /// Issue category.
    pub category: CompatibilityCategory,
}

/// App compatibility check result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppCompatibilityCheck {
    /// Whether the app is compatible.
    pub compatible: bool,
    /// Compatibility issues.
    pub issues: Vec<CompatibilityIssue>,
}

/// App install request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppInstallRequest {
    /// Target tenant ID.
    pub tenant_id: String,
    /// App identifier.
    pub app_id: String,
    /// Configuration overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_overrides: Option<serde_json::Map<String, serde_json::Value>>,
    /// Skip seed data population.
    pub skip_seed_data: bool,
}

/// App install result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppInstallResult {
    /// Whether installation succeeded.
    pub success: bool,
    /// Installed app identifier.
    pub app_id: String,
    /// Installed app version.
    pub version: String,
    /// Objects created/updated.
    pub installed_objects: Vec<String>,
    /// Database tables created.
    pub created_tables: Vec<String>,
    /// Seed records inserted.
    pub seeded_records: u64,
    /// Installation duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Error message on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
