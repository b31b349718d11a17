//! Kernel and per-tenant runtime context (`kernel/context.zod.ts`).

use serde::{Deserialize, Serialize};

use super::provisioning::TenantPlan;
use super::tenant::TenantQuota;

/// Kernel operating mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RuntimeMode {
    /// `development`
    #[serde(rename = "development")]
    Development,
    /// `production`
    #[serde(rename = "production")]
    Production,
    /// `test`
    #[serde(rename = "test")]
    Test,
    /// `provisioning`
    #[serde(rename = "provisioning")]
    Provisioning,
    /// `preview`
    #[serde(rename = "preview")]
    Preview,
}

impl RuntimeMode {
    /// Every value, in the order the schema lists them.
    pub const ALL: &[Self] = &[
        Self::Development,
        Self::Production,
        Self::Test,
        Self::Provisioning,
        Self::Preview,
    ];

    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
            Self::Test => "test",
            Self::Provisioning => "provisioning",
            Self::Preview => "preview",
        }
    }
}

/// Permission role for the simulated preview user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SimulatedRole {
    /// `admin`
    #[serde(rename = "admin")]
    Admin,
    /// `user`
    #[serde(rename = "user")]
    User,
    /// `viewer`
    #[serde(rename = "viewer")]
    Viewer,
}

impl SimulatedRole {
    /// Every value, in the order the schema lists them.
    pub const ALL: &[Self] = &[Self::Admin, Self::User, Self::Viewer];

    /// The value as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
            Self::Viewer => "viewer",
        }
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
