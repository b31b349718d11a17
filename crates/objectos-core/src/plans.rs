//! The plan → quota table. Built-in defaults, overridable per plan in `objectos.toml`.

use objectos_spec::types::provisioning::TenantPlan;
use objectos_spec::types::tenant::TenantQuota;

const MIB: u64 = 1024 * 1024;

/// Quotas of each plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanTable {
    /// `free`.
    pub free: TenantQuota,
    /// `pro`.
    pub pro: TenantQuota,
    /// `enterprise`.
    pub enterprise: TenantQuota,
}

impl Default for PlanTable {
    fn default() -> Self {
        Self {
            free: TenantQuota {
                max_users: Some(5),
                api_rate_limit: Some(600),
                max_objects: Some(20),
                max_records_per_object: Some(10_000),
                max_deployments_per_day: Some(50),
                max_storage_bytes: Some(100 * MIB),
            },
            pro: TenantQuota {
                max_users: Some(100),
                api_rate_limit: Some(6_000),
                max_objects: Some(200),
                max_records_per_object: Some(1_000_000),
                max_deployments_per_day: Some(500),
                max_storage_bytes: Some(10 * 1024 * MIB),
            },
            enterprise: TenantQuota {
                max_users: Some(10_000),
                api_rate_limit: Some(60_000),
                max_objects: Some(2_000),
                max_records_per_object: Some(100_000_000),
                max_deployments_per_day: Some(5_000),
                max_storage_bytes: Some(1024 * 1024 * MIB),
            },
        }
    }
}

impl PlanTable {
    /// The quotas of a plan.
    pub fn quota(&self, plan: TenantPlan) -> &TenantQuota {
        match plan {
            TenantPlan::Free => &self.free,
            TenantPlan::Pro => &self.pro,
            TenantPlan::Enterprise => &self.enterprise,
        }
    }

    /// Replaces a plan's quotas.
    pub fn set(&mut self, plan: TenantPlan, quota: TenantQuota) {
        match plan {
            TenantPlan::Free => self.free = quota,
            TenantPlan::Pro => self.pro = quota,
            TenantPlan::Enterprise => self.enterprise = quota,
        }
    }
}
