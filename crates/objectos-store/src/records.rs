//! The rows of the control store, as Rust values.

use objectos_spec::types::provisioning::{
    ProvisioningStepStatus, TenantPlan, TenantProvisioningStatus, TenantRegion,
};
use serde::{Deserialize, Serialize};

/// The provisioning pipeline's steps, in order.
pub const STEP_NAMES: &[&str] = &[
    "create_database",
    "sync_schema",
    "apply_seed_data",
    "generate_api_keys",
    "activate",
];

/// A tenant as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantRecord {
    /// Tenant id, derived from the org id.
    pub id: String,
    /// The organization's id as given.
    pub org_id: String,
    /// Display name (defaults to the org id).
    pub display_name: Option<String>,
    /// Initial admin email.
    pub admin_email: Option<String>,
    /// Plan.
    pub plan: TenantPlan,
    /// Region.
    pub region: TenantRegion,
    /// Lifecycle status.
    pub status: TenantProvisioningStatus,
    /// The request's `metadata`, as JSON text.
    pub metadata: Option<String>,
    /// Database provider (`memory`, `turso`, `postgres`, or objectos' `sqlite`).
    pub provider: String,
    /// Connection URL of the tenant database.
    pub connection_url: String,
    /// The last error, for a failed tenant.
    pub error: Option<String>,
    /// Id of the key created with the tenant.
    pub initial_key_id: String,
    /// Hash of the key created with the tenant (the plaintext is never stored).
    pub initial_key_hash: String,
    /// Creation time, ms since the epoch.
    pub created_at_ms: i64,
    /// Last change, ms since the epoch.
    pub updated_at_ms: i64,
    /// When provisioning completed.
    pub provisioned_at_ms: Option<i64>,
    /// When a scheduled destruction is due.
    pub destroy_after_ms: Option<i64>,
}

/// What is needed to create a tenant.
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// Tenant id.
    pub id: String,
    /// Org id.
    pub org_id: String,
    /// Display name.
    pub display_name: Option<String>,
    /// Admin email.
    pub admin_email: Option<String>,
    /// Plan.
    pub plan: TenantPlan,
    /// Region.
    pub region: TenantRegion,
    /// Request metadata as JSON text.
    pub metadata: Option<String>,
    /// Provider name.
    pub provider: String,
    /// Connection URL.
    pub connection_url: String,
    /// Id of the first key.
    pub initial_key_id: String,
    /// Hash of the first key.
    pub initial_key_hash: String,
    /// Whether `apply_seed_data` has anything to do.
    pub has_seed: bool,
    /// Now, ms since the epoch.
    pub now_ms: i64,
}

/// One provisioning step as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    /// Step name.
    pub name: String,
    /// Position in the pipeline.
    pub position: i64,
    /// Status.
    pub status: ProvisioningStepStatus,
    /// Start of the last attempt.
    pub started_at_ms: Option<i64>,
    /// End of the last attempt.
    pub completed_at_ms: Option<i64>,
    /// Duration of the last attempt.
    pub duration_ms: Option<i64>,
    /// Error of the last failed attempt.
    pub error: Option<String>,
    /// Attempts after the first.
    pub retry_count: i64,
    /// Lease expiry of a running step.
    pub lease_expires_at_ms: Option<i64>,
    /// The node holding the lease of a running step (see [`crate::ControlStore::claim_step`]).
    pub lease_owner: Option<String>,
    /// Duration of the last attempt in microseconds, measured around the step's work.
    pub duration_us: Option<i64>,
}

/// A step claimed to run.
#[derive(Debug, Clone)]
pub struct ClaimedStep {
    /// The step after the claim.
    pub step: StepRecord,
    /// True when this attempt is a retry.
    pub retry: bool,
}

/// One entry of a tenant's history (a step or status transition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord {
    /// Monotonic sequence number (global).
    pub seq: i64,
    /// Tenant id.
    pub tenant_id: String,
    /// `step` or `status`.
    pub kind: String,
    /// The event's JSON payload.
    pub data: serde_json::Value,
    /// When, ms since the epoch.
    pub at_ms: i64,
}

/// What suspension did to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Usable per its scope.
    Active,
    /// Refused while the tenant is suspended.
    Suspended,
    /// Read-only while the tenant is suspended.
    ReadOnly,
}

impl KeyState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::ReadOnly => "read_only",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            "read_only" => Some(Self::ReadOnly),
            _ => None,
        }
    }
}

/// An API key as stored: metadata and a hash, never the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRecord {
    /// Key id (part of the key).
    pub key_id: String,
    /// Tenant the key belongs to.
    pub tenant_id: String,
    /// `full-access` or `read-only`.
    pub scope: String,
    /// SHA-256 of the whole key, hex.
    pub hash: String,
    /// Creation time.
    pub created_at_ms: i64,
    /// Expiry, if any.
    pub expires_at_ms: Option<i64>,
    /// Revocation time, if revoked.
    pub revoked_at_ms: Option<i64>,
    /// Suspension state.
    pub state: KeyState,
}

/// A custom domain mapped to a tenant (for the `lookup` tenant resolver strategy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainRecord {
    /// The domain, lowercase (the caller normalises it).
    pub domain: String,
    /// The tenant it resolves to.
    pub tenant_id: String,
    /// When it was mapped, ms since the epoch.
    pub created_at_ms: i64,
}

/// Filters for listing tenants.
#[derive(Debug, Clone, Default)]
pub struct TenantFilter {
    /// Only this status.
    pub status: Option<TenantProvisioningStatus>,
    /// Only this plan.
    pub plan: Option<TenantPlan>,
    /// Page size.
    pub limit: u32,
    /// Rows to skip.
    pub offset: u64,
}

/// A page of tenants.
#[derive(Debug, Clone)]
pub struct TenantPage {
    /// The tenants on this page.
    pub tenants: Vec<TenantRecord>,
    /// All tenants matching the filter.
    pub total: u64,
}
