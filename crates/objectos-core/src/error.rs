//! The services' one error type; the HTTP layer maps it to status codes once.

use objectos_spec::types::tenant::QuotaEnforcementResult;
use objectos_spec::ValidationError;

/// Why a service call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The input broke the protocol's rules; every issue is listed.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    /// No such thing.
    #[error("{what} {id} not found")]
    NotFound {
        /// What was looked for (`tenant`, `key`).
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The request conflicts with the current state; `code` says how, `details` says what.
    #[error("{message}")]
    Conflict {
        /// Machine-readable reason (`org_conflict`, `invalid_transition`, ...).
        code: &'static str,
        /// What happened, for people.
        message: String,
        /// Structured facts (differing fields, current status...).
        details: serde_json::Value,
    },
    /// A quota refuses the operation.
    #[error("quota exceeded: {}", .0.message.clone().unwrap_or_default())]
    QuotaExceeded(Box<QuotaEnforcementResult>),
    /// The caller may not do this.
    #[error("{message}")]
    Forbidden {
        /// Machine-readable reason (`insufficient_scope`, `forbidden`).
        code: &'static str,
        /// What was refused.
        message: String,
    },
    /// The presented credential is missing, malformed, unknown, revoked or expired.
    #[error("{message}")]
    Unauthorized {
        /// Machine-readable reason (`unauthorized`, `key_revoked`, `key_expired`).
        code: &'static str,
        /// What was wrong.
        message: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] objectos_store::StoreError),
    /// A tenant database operation failed.
    #[error(transparent)]
    TenantDb(#[from] objectos_tenantdb::TenantDbError),
    /// A data API operation was refused or failed.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// The tenant cannot serve yet (still provisioning): retry after a while.
    #[error("{message}")]
    Unavailable {
        /// Machine-readable reason (`tenant_provisioning`).
        code: &'static str,
        /// What is happening.
        message: String,
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// Mapping a model to SQL or reading the live schema failed (deployments).
    #[error(transparent)]
    Schema(#[from] objectos_schema::SchemaError),
}

impl CoreError {
    /// A 409 for a lifecycle operation not allowed in the tenant's current status.
    pub fn invalid_transition(
        action: &str,
        tenant_id: &str,
        current: &str,
        allowed: &[&str],
    ) -> Self {
        Self::Conflict {
            code: "invalid_transition",
            message: format!(
                "cannot {action} tenant {tenant_id}: its status is '{current}' (allowed from: {})",
                allowed.join(", ")
            ),
            details: serde_json::json!({"currentStatus": current, "allowedFrom": allowed, "action": action}),
        }
    }
}

/// Result of service calls.
pub type CoreResult<T> = Result<T, CoreError>;
