//! Kernel and per-tenant runtime context (`kernel/context.zod.ts`).

use serde::{Deserialize, Serialize};

use super::provisioning::TenantPlan;
use super::tenant::TenantQuota;

spec_enum! {
    /// Kernel operating mode.
    RuntimeMode {
        Development => "development",
        Production => "production",
        Test => "test",
        Provisioning => "provisioning",
        Preview => "preview",
    }
}

spec_enum! {
    /// Permission role for the simulated preview user.
    SimulatedRole {
        Admin => "admin",
        User => "user",
        Viewer => "viewer",
    }
}

/// Preview/demo mode configuration (used when mode is "preview").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewMode {
    /// Auto-login as simulated user, skipping login/registration pages.
    pub auto_login: bool,
    /// Permission role for the simulated preview user.
    pub simulated_role: SimulatedRole,
    /// Display name for the simulated preview user.
    pub simulated_user_name: String,
    /// Restrict the preview session to read-only operations.
    pub read_only: bool,
    /// Preview session duration in seconds (0 = no expiration).
    pub expires_in_seconds: u64,
    /// Banner message displayed in the UI during preview mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner_message: Option<String>,
}

/// KernelContext.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KernelContext {
    /// Unique UUID for this running kernel process.
    pub instance_id: String,
    /// Kernel operating mode.
    pub mode: RuntimeMode,
    /// Kernel version.
    pub version: String,
    /// Host application name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// Current working directory.
    pub cwd: String,
    /// Workspace root if different from cwd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_root: Option<String>,
    /// Boot timestamp (ms).
    pub start_time: i64,
    /// Global feature toggles.
    pub features: std::collections::BTreeMap<String, bool>,
    /// Preview/demo mode configuration (used when mode is "preview").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_mode: Option<PreviewMode>,
}

/// Tenant-aware kernel runtime context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantRuntimeContext {
    /// Unique UUID for this running kernel process.
    pub instance_id: String,
    /// Kernel operating mode.
    pub mode: RuntimeMode,
    /// Kernel version.
    pub version: String,
    /// Host application name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// Current working directory.
    pub cwd: String,
    /// Workspace root if different from cwd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_root: Option<String>,
    /// Boot timestamp (ms).
    pub start_time: i64,
    /// Global feature toggles.
    pub features: std::collections::BTreeMap<String, bool>,
    /// Preview/demo mode configuration (used when mode is "preview").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_mode: Option<PreviewMode>,
    /// Resolved tenant identifier.
    pub tenant_id: String,
    /// Tenant subscription plan.
    pub tenant_plan: TenantPlan,
    /// Tenant deployment region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_region: Option<String>,
    /// Tenant database connection URL.
    pub tenant_db_url: String,
    /// Tenant resource quotas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_quotas: Option<TenantQuota>,
}
