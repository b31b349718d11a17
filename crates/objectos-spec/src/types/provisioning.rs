//! Provisioning pipeline types (`system/provisioning.zod.ts`): plans, regions, steps, request and result.

use serde::{Deserialize, Serialize};

spec_enum! {
    /// Tenant subscription plan.
    TenantPlan {
        Free => "free",
        Pro => "pro",
        Enterprise => "enterprise",
    }
}

spec_enum! {
    /// Available deployment region.
    TenantRegion {
        UsEast => "us-east",
        UsWest => "us-west",
        EuWest => "eu-west",
        EuCentral => "eu-central",
        ApSoutheast => "ap-southeast",
        ApNortheast => "ap-northeast",
    }
}

spec_enum! {
    /// Tenant provisioning lifecycle status.
    TenantProvisioningStatus {
        Provisioning => "provisioning",
        Active => "active",
        Suspended => "suspended",
        Failed => "failed",
        Destroying => "destroying",
    }
}

spec_enum! {
    /// Step status.
    ProvisioningStepStatus {
        Pending => "pending",
        Running => "running",
        Completed => "completed",
        Failed => "failed",
        Skipped => "skipped",
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
