//! Provisioning pipeline types (`system/provisioning.zod.ts`): plans, regions, steps, request and result.

use serde::{Deserialize, Serialize};

/// Tenant subscription plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TenantPlan {
    /// `free`
    #[serde(rename = "free")]
    Free,
    /// `pro`
    #[serde(rename = "pro")]
    Pro,
    /// `enterprise`
    #[serde(rename = "enterprise")]
    Enterprise,
}

impl TenantPlan {
    /// Every value, in the order the schema lists them.
    pub const ALL: &[Self] = &[Self::Free, Self::Pro, Self::Enterprise];

    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Pro => "pro",
            Self::Enterprise => "enterprise",
        }
    }
}

/// Available deployment region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TenantRegion {
    /// `us-east`
    #[serde(rename = "us-east")]
    UsEast,
    /// `us-west`
    #[serde(rename = "us-west")]
    UsWest,
    /// `eu-west`
    #[serde(rename = "eu-west")]
    EuWest,
    /// `eu-central`
    #[serde(rename = "eu-central")]
    EuCentral,
    /// `ap-southeast`
    #[serde(rename = "ap-southeast")]
    ApSoutheast,
    /// `ap-northeast`
    #[serde(rename = "ap-northeast")]
    ApNortheast,
}

impl TenantRegion {
    /// Every value, in the order the schema lists them.
    pub const ALL: &[Self] = &[
        Self::UsEast,
        Self::UsWest,
        Self::EuWest,
        Self::EuCentral,
        Self::ApSoutheast,
        Self::ApNortheast,
    ];

    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UsEast => "us-east",
            Self::UsWest => "us-west",
            Self::EuWest => "eu-west",
            Self::EuCentral => "eu-central",
            Self::ApSoutheast => "ap-southeast",
            Self::ApNortheast => "ap-northeast",
        }
    }
}

/// Tenant provisioning lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TenantProvisioningStatus {
    /// `provisioning`
    #[serde(rename = "provisioning")]
    Provisioning,
    /// `active`
    #[serde(rename = "active")]
    Active,
    /// `suspended`
    #[serde(rename = "suspended")]
    Suspended,
    /// `failed`
    #[serde(rename = "failed")]
    Failed,
    /// `destroying`
    #[serde(rename = "destroying")]
    Destroying,
}

impl TenantProvisioningStatus {
    /// Every value, in the order the schema lists them.
    pub const ALL: &[Self] = &[
        Self::Provisioning,
        Self::Active,
        Self::Suspended,
        Self::Failed,
        Self::Destroying,
    ];

    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "provisioning",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Failed => "failed",
            Self::Destroying => "destroying",
        }
    }
}

/// Step status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProvisioningStepStatus {
    /// `pending`
    #[serde(rename = "pending")]
    Pending,
    /// `running`
    #[serde(rename = "running")]
    Running,
    /// `completed`
    #[serde(rename = "completed")]
    Completed,
    /// `failed`
    #[serde(rename = "failed")]
    Failed,
    /// `skipped`
    #[serde(rename = "skipped")]
    Skipped,
}

impl ProvisioningStepStatus {
    /// Every value, in the order the schema lists them.
    pub const ALL: &[Self] = &[
        Self::Pending,
        Self::Running,
        Self::Completed,
        Self::Failed,
        Self::Skipped,
    ];

    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

/// Individual provisioning step status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvisioningStep {
    /// Step name (e.g., create_database, sync_schema).
    pub name: String,
    /// Step status.
    pub status: ProvisioningStepStatus,
    /// Step start time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Step completion time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// Step duration in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Error message on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Tenant provisioning request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantProvisioningRequest {
    /// Organization ID.
    pub org_id: String,
    /// Tenant subscription plan.
    pub plan: TenantPlan,
    /// Available deployment region.
    pub region: TenantRegion,
    /// Tenant display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Initial admin user email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_email: Option<String>,
    /// Additional metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Tenant provisioning result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantProvisioningResult {
    /// Provisioned tenant ID.
    pub tenant_id: String,
    /// Database connection URL.
    pub connection_url: String,
    /// Tenant provisioning lifecycle status.
    pub status: TenantProvisioningStatus,
    /// Available deployment region.
    pub region: TenantRegion,
    /// Tenant subscription plan.
    pub plan: TenantPlan,
    /// Pipeline step statuses.
    pub steps: Vec<ProvisioningStep>,
    /// Total provisioning duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_duration_ms: Option<u64>,
    /// Provisioning completion time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_at: Option<String>,
    /// Error message on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
