//! Tenant types (`system/tenant.zod.ts`): the tenant record, connection, isolation, security policy, quotas and usage.

use serde::{Deserialize, Serialize};

use super::provisioning::{TenantPlan, TenantProvisioningStatus};

spec_enum! {
    /// TenantIsolationLevel.
    TenantIsolationLevel {
        SharedSchema => "shared_schema",
        IsolatedSchema => "isolated_schema",
        IsolatedDb => "isolated_db",
    }
}

/// Tenant database connection configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantConnectionConfig {
    /// Database connection URL.
    pub url: String,
    /// Database auth token (encrypted at rest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    /// Turso database group name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// Per-tenant limits; absent limits are unlimited.
///
/// `maxStorage` and `maxStorageBytes` mean the same in the spec; objectos keeps one field. On input
/// `maxStorage` is accepted as an alias and `maxStorageBytes` wins when both are given; output carries
/// only `maxStorageBytes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "TenantQuotaInput")]
pub struct TenantQuota {
    /// Maximum number of users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_users: Option<u64>,
    /// API requests per minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_rate_limit: Option<u64>,
    /// Maximum number of custom objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_objects: Option<u64>,
    /// Maximum records per object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_records_per_object: Option<u64>,
    /// Maximum deployments per day (UTC day).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_deployments_per_day: Option<u64>,
    /// Maximum storage in bytes (input alias: `maxStorage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_storage_bytes: Option<u64>,
}

/// The wire form of [`TenantQuota`], with both storage spellings.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TenantQuotaInput {
    #[serde(default)]
    max_users: Option<u64>,
    #[serde(default)]
    max_storage: Option<u64>,
    #[serde(default)]
    api_rate_limit: Option<u64>,
    #[serde(default)]
    max_objects: Option<u64>,
    #[serde(default)]
    max_records_per_object: Option<u64>,
    #[serde(default)]
    max_deployments_per_day: Option<u64>,
    #[serde(default)]
    max_storage_bytes: Option<u64>,
}

impl From<TenantQuotaInput> for TenantQuota {
    fn from(input: TenantQuotaInput) -> Self {
        Self {
            max_users: input.max_users,
            api_rate_limit: input.api_rate_limit,
            max_objects: input.max_objects,
            max_records_per_object: input.max_records_per_object,
            max_deployments_per_day: input.max_deployments_per_day,
            max_storage_bytes: input.max_storage_bytes.or(input.max_storage),
        }
    }
}

/// Current tenant resource usage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantUsage {
    /// Current number of custom objects.
    pub current_object_count: u64,
    /// Total records across all objects.
    pub current_record_count: u64,
    /// Current storage usage in bytes.
    pub current_storage_bytes: u64,
    /// Deployments executed today.
    pub deployments_today: u64,
    /// Current number of active users.
    pub current_users: u64,
    /// API requests in the current minute.
    pub api_requests_this_minute: u64,
    /// Last usage update time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_at: Option<String>,
}

/// Quota enforcement check result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuotaEnforcementResult {
    /// Whether the operation is within quota.
    pub allowed: bool,
    /// Name of the exceeded quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exceeded_quota: Option<String>,
    /// Current usage value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_usage: Option<f64>,
    /// Quota limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<f64>,
    /// Human-readable quota message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

spec_enum! {
    /// Database provider.
    TenantDatabaseProvider {
        Turso => "turso",
        Postgres => "postgres",
        Memory => "memory",
    }
}

/// Tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tenant {
    /// Unique tenant identifier.
    pub id: String,
    /// Tenant display name.
    pub name: String,
    /// isolationLevel.
    pub isolation_level: TenantIsolationLevel,
    /// Database provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_provider: Option<TenantDatabaseProvider>,
    /// Database connection config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_config: Option<TenantConnectionConfig>,
    /// Current provisioning lifecycle status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_status: Option<TenantProvisioningStatus>,
    /// Subscription plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<TenantPlan>,
    /// Custom configuration values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customizations: Option<serde_json::Map<String, serde_json::Value>>,
    /// quotas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotas: Option<TenantQuota>,
}

spec_enum! {
    /// How to set tenant context.
    TenantIsolationConfigSharedSchemaDatabaseContextMethod {
        SessionVariable => "session_variable",
        SearchPath => "search_path",
        ApplicationName => "application_name",
    }
}

/// Database configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantIsolationConfigSharedSchemaDatabase {
    /// Enable PostgreSQL Row-Level Security.
    #[serde(rename = "enableRLS")]
    pub enable_rls: bool,
    /// How to set tenant context.
    pub context_method: TenantIsolationConfigSharedSchemaDatabaseContextMethod,
    /// Session variable name.
    pub context_variable: String,
    /// Application-level tenant validation.
    pub application_validation: bool,
}

/// Performance settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantIsolationConfigSharedSchemaPerformance {
    /// Use partial indexes per tenant.
    pub use_partial_indexes: bool,
    /// Use table partitioning by tenant_id.
    pub use_partitioning: bool,
    /// Connection pool size per tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_size_per_tenant: Option<u64>,
}

/// TenantIsolationConfigSharedSchema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantIsolationConfigSharedSchema {
    /// Database configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<TenantIsolationConfigSharedSchemaDatabase>,
    /// Performance settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance: Option<TenantIsolationConfigSharedSchemaPerformance>,
}

/// Schema configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantIsolationConfigIsolatedSchemaSchema {
    /// Schema naming pattern.
    pub naming_pattern: String,
    /// Include public schema.
    pub include_public_schema: bool,
    /// Schema for shared resources.
    pub shared_schema: String,
    /// Auto-create schema.
    pub auto_create_schema: bool,
}

spec_enum! {
    /// Migration strategy.
    TenantIsolationConfigIsolatedSchemaMigrationsStrategy {
        Parallel => "parallel",
        Sequential => "sequential",
        OnDemand => "on_demand",
    }
}

/// Migration configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantIsolationConfigIsolatedSchemaMigrations {
    /// Migration strategy.
    pub strategy: TenantIsolationConfigIsolatedSchemaMigrationsStrategy,
    /// Max concurrent migrations.
    pub max_concurrent: u64,
    /// Rollback on error.
    pub rollback_on_error: bool,
}

/// Performance settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantIsolationConfigIsolatedSchemaPerformance {
    /// Separate pool per schema.
    pub pool_per_schema: bool,
    /// Schema cache TTL.
    #[serde(rename = "schemaCacheTTL")]
    pub schema_cache_ttl: u64,
}

/// TenantIsolationConfigIsolatedSchema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantIsolationConfigIsolatedSchema {
    /// Schema configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<TenantIsolationConfigIsolatedSchemaSchema>,
    /// Migration configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrations: Option<TenantIsolationConfigIsolatedSchemaMigrations>,
    /// Performance settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance: Option<TenantIsolationConfigIsolatedSchemaPerformance>,
}

spec_enum! {
    /// Server assignment strategy.
    TenantIsolationConfigIsolatedDbDatabaseServerStrategy {
        Shared => "shared",
        Sharded => "sharded",
        Dedicated => "dedicated",
    }
}

/// Database configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantIsolationConfigIsolatedDbDatabase {
    /// Database naming pattern.
    pub naming_pattern: String,
    /// Server assignment strategy.
    pub server_strategy: TenantIsolationConfigIsolatedDbDatabaseServerStrategy,
    /// Separate credentials per tenant.
    pub separate_credentials: bool,
    /// Auto-create database.
    pub auto_create_database: bool,
}

/// Connection pool configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantIsolationConfigIsolatedDbConnectionPool {
    /// Connection pool size.
    pub pool_size: u64,
    /// Max active pools.
    pub max_active_pools: u64,
    /// Idle pool timeout.
    pub idle_timeout: u64,
    /// Use connection pooler.
    pub use_pooler: bool,
}

spec_enum! {
    /// Backup strategy.
    TenantIsolationConfigIsolatedDbBackupStrategy {
        Individual => "individual",
        Consolidated => "consolidated",
        OnDemand => "on_demand",
    }
}

/// Backup configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantIsolationConfigIsolatedDbBackup {
    /// Backup strategy.
    pub strategy: TenantIsolationConfigIsolatedDbBackupStrategy,
    /// Backup frequency.
    pub frequency_hours: u64,
    /// Backup retention days.
    pub retention_days: u64,
}

spec_enum! {
    /// Key management service.
    TenantIsolationConfigIsolatedDbEncryptionKeyManagement {
        AwsKms => "aws_kms",
        AzureKeyVault => "azure_key_vault",
        GcpKms => "gcp_kms",
        HashicorpVault => "hashicorp_vault",
        Custom => "custom",
    }
}

/// Encryption configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantIsolationConfigIsolatedDbEncryption {
    /// Per-tenant encryption keys.
    pub per_tenant_keys: bool,
    /// Encryption algorithm.
    pub algorithm: String,
    /// Key management service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_management: Option<TenantIsolationConfigIsolatedDbEncryptionKeyManagement>,
}

/// TenantIsolationConfigIsolatedDb.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantIsolationConfigIsolatedDb {
    /// Database configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<TenantIsolationConfigIsolatedDbDatabase>,
    /// Connection pool configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_pool: Option<TenantIsolationConfigIsolatedDbConnectionPool>,
    /// Backup configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<TenantIsolationConfigIsolatedDbBackup>,
    /// Encryption configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<TenantIsolationConfigIsolatedDbEncryption>,
}

/// TenantIsolationConfig.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy")]
pub enum TenantIsolationConfig {
    /// `strategy: "shared_schema"`
    #[serde(rename = "shared_schema")]
    SharedSchema(TenantIsolationConfigSharedSchema),
    /// `strategy: "isolated_schema"`
    #[serde(rename = "isolated_schema")]
    IsolatedSchema(TenantIsolationConfigIsolatedSchema),
    /// `strategy: "isolated_db"`
    #[serde(rename = "isolated_db")]
    IsolatedDb(TenantIsolationConfigIsolatedDb),
}

/// Encryption requirements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSecurityPolicyEncryption {
    /// Require encryption at rest.
    pub at_rest: bool,
    /// Require encryption in transit.
    pub in_transit: bool,
    /// Require field-level encryption.
    pub field_level: bool,
}

/// Access control requirements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSecurityPolicyAccessControl {
    /// Require MFA.
    #[serde(rename = "requireMFA")]
    pub require_mfa: bool,
    /// Require SSO.
    #[serde(rename = "requireSSO")]
    pub require_sso: bool,
    /// Allowed IP addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_whitelist: Option<Vec<String>>,
    /// Session timeout.
    pub session_timeout: u64,
}

spec_enum! {
    /// ComplianceStandard.
    ComplianceStandard {
        Sox => "sox",
        Hipaa => "hipaa",
        Gdpr => "gdpr",
        PciDss => "pci_dss",
        Iso27001 => "iso_27001",
        Fedramp => "fedramp",
    }
}

/// Data residency requirements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSecurityPolicyComplianceDataResidency {
    /// Required region (e.g., US, EU, APAC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Prohibited regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_regions: Option<Vec<String>>,
}

/// Compliance requirements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSecurityPolicyCompliance {
    /// Compliance standards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standards: Option<Vec<ComplianceStandard>>,
    /// Require audit logging.
    pub require_audit_log: bool,
    /// Audit retention days.
    pub audit_retention_days: u64,
    /// Data residency requirements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_residency: Option<TenantSecurityPolicyComplianceDataResidency>,
}

/// TenantSecurityPolicy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSecurityPolicy {
    /// Encryption requirements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<TenantSecurityPolicyEncryption>,
    /// Access control requirements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_control: Option<TenantSecurityPolicyAccessControl>,
    /// Compliance requirements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance: Option<TenantSecurityPolicyCompliance>,
}
