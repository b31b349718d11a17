//! DB-per-tenant router configuration (`data/driver/turso-multi-tenant.zod.ts`).

use serde::{Deserialize, Serialize};

spec_enum! {
    /// Strategy for resolving tenant identity from request context.
    TenantResolverStrategy {
        Header => "header",
        Subdomain => "subdomain",
        Path => "path",
        Token => "token",
        Lookup => "lookup",
    }
}

/// Turso database group configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TursoGroup {
    /// Turso database group name.
    pub name: String,
    /// Primary Turso region code (e.g., iad, lhr, nrt).
    pub primary_location: String,
    /// Additional replica region codes.
    pub replica_locations: Vec<String>,
    /// Schema database name for multi-db schemas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_database: Option<String>,
}

/// Tenant creation hook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantDatabaseLifecycleOnTenantCreate {
    /// Auto-create database on tenant registration.
    pub auto_create: bool,
    /// Turso group for the new database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Apply shared schema from group.
    pub apply_group_schema: bool,
    /// Populate seed data on creation.
    pub seed_data: bool,
}

/// Tenant deletion hook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantDatabaseLifecycleOnTenantDelete {
    /// Destroy database immediately.
    pub immediate: bool,
    /// Grace period before permanent deletion.
    pub grace_period_hours: u64,
    /// Create backup before deletion.
    pub create_backup: bool,
}

/// Tenant suspension hook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantDatabaseLifecycleOnTenantSuspend {
    /// Revoke auth tokens on suspension.
    pub revoke_tokens: bool,
    /// Set database to read-only on suspension.
    pub read_only: bool,
}

/// Tenant database lifecycle hooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantDatabaseLifecycle {
    /// Tenant creation hook.
    pub on_tenant_create: TenantDatabaseLifecycleOnTenantCreate,
    /// Tenant deletion hook.
    pub on_tenant_delete: TenantDatabaseLifecycleOnTenantDelete,
    /// Tenant suspension hook.
    pub on_tenant_suspend: TenantDatabaseLifecycleOnTenantSuspend,
}

/// Turso multi-tenant router configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TursoMultiTenantConfig {
    /// Turso organization slug.
    pub organization_slug: String,
    /// URL template with {tenant_id} placeholder.
    pub url_template: String,
    /// Group-level auth token for platform operations.
    pub group_auth_token: String,
    /// Strategy for resolving tenant identity from request context.
    pub tenant_resolver_strategy: TenantResolverStrategy,
    /// Database group configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<TursoGroup>,
    /// Lifecycle hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<TenantDatabaseLifecycle>,
    /// Max cached tenant connections (LRU).
    pub max_cached_connections: u64,
    /// Connection cache TTL in seconds.
    #[serde(rename = "connectionCacheTTL")]
    pub connection_cache_ttl: u64,
}
