//! The control-plane store: tenants, provisioning steps and their event history, API key hashes,
//! custom domains and settings. One trait, [`ControlStore`]; two implementations: the embedded
//! [`SqliteControlStore`] (SQLite in WAL mode, the default) and [`PgControlStore`] (PostgreSQL, for
//! a control plane that outgrows one machine), and [`ControlStores`], either one chosen at run
//! time. Every method is one transaction: a refused or failed call changes nothing.

mod any;
mod bus;
mod dump;
mod postgres;
mod records;
mod sqlite;

use std::future::Future;

pub use any::{embedded_path, ControlConfig, ControlStores};
pub use bus::{Bus, BusEvent, BUS_CHANNEL, MAX_PAYLOAD};
pub use dump::{ControlDump, DumpSummary, SettingRecord, StepRow};
pub use objectos_sql::{ErrorKind, SqlError};
pub use postgres::{PgControlOptions, PgControlStore, PG_SCHEMA, PG_SCHEMA_VERSION};
pub use records::{
    ClaimedStep, DomainRecord, EventRecord, KeyRecord, KeyState, NewTenant, StepRecord,
    TenantFilter, TenantPage, TenantRecord, STEP_NAMES,
};
pub use sqlite::{now_ms, SqliteControlStore};

use objectos_spec::types::provisioning::{
    ProvisioningStepStatus, TenantPlan, TenantProvisioningStatus,
};

/// The embedded store's setting naming the PostgreSQL store it was copied to by
/// `objectos control migrate` (a server refuses to serve the stale copy).
pub const MOVED_TO_SETTING: &str = "control_moved_to";

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database (SQLite or PostgreSQL) reported an error, classified (`kind`: busy, connection,
    /// constraint...) with the driver's message and code.
    #[error("control store: {0}")]
    Database(#[from] SqlError),
    /// The store's settings are unusable (a malformed URL, a schema newer than this objectos).
    #[error("control store: {0}")]
    Config(String),
    /// A stored value could not be decoded (a defect or a hand-edited database).
    #[error("control store: corrupt value in {table}.{column}: {detail}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A tenant id is already taken by a different organization.
    #[error("tenant id {tenant_id} is already used by organization {org_id}")]
    TenantIdTaken {
        /// The id.
        tenant_id: String,
        /// The organization holding it.
        org_id: String,
    },
    /// A custom domain is already mapped to a tenant (the API answers 409).
    #[error("domain {0} is already mapped to a tenant")]
    DuplicateDomain(String),
    /// The blocking task running the query was cancelled or panicked.
    #[error("control store: worker task failed: {0}")]
    Worker(String),
    /// The store's file or folder could not be prepared.
    #[error("control store: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(objectos_sql::classify_sqlite(e))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(objectos_sql::classify_postgres(e))
    }
}

impl StoreError {
    /// The database error's classification, when the database reported one.
    pub fn kind(&self) -> Option<&ErrorKind> {
        match self {
            Self::Database(e) => Some(&e.kind),
            _ => None,
        }
    }
}

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// The control-plane store. Implementations must make each method atomic.
pub trait ControlStore: Send + Sync + 'static {
    /// Inserts a tenant with its pending steps, or returns the existing tenant of the same org.
    /// `created` tells which. A different org holding the derived id is [`StoreError::TenantIdTaken`].
    fn create_tenant(
        &self,
        new: NewTenant,
    ) -> impl Future<Output = StoreResult<(TenantRecord, bool)>> + Send;

    /// A tenant by id.
    fn tenant(&self, id: &str) -> impl Future<Output = StoreResult<Option<TenantRecord>>> + Send;

    /// A page of tenants, newest first, with the total matching the filter.
    fn list_tenants(
        &self,
        filter: TenantFilter,
    ) -> impl Future<Output = StoreResult<TenantPage>> + Send;

    /// Tenants in any of these statuses (for recovery at start-up and the grace-period reaper).
    fn tenants_with_status(
        &self,
        statuses: &[TenantProvisioningStatus],
    ) -> impl Future<Output = StoreResult<Vec<TenantRecord>>> + Send;

    /// Moves a tenant to `to` only if its status is one of `from`; returns the tenant after the call
    /// and whether it moved. Records an event when it moves.
    fn transition(
        &self,
        id: &str,
        from: &[TenantProvisioningStatus],
        to: TenantProvisioningStatus,
        change: TenantChange,
    ) -> impl Future<Output = StoreResult<Option<(TenantRecord, bool)>>> + Send;

    /// Sets a tenant's plan.
    fn set_plan(
        &self,
        id: &str,
        plan: TenantPlan,
    ) -> impl Future<Output = StoreResult<Option<TenantRecord>>> + Send;

    /// Removes a tenant and everything stored about it (steps, events, keys, domains).
    fn delete_tenant(&self, id: &str) -> impl Future<Output = StoreResult<bool>> + Send;

    /// The steps of a tenant, in pipeline order.
    fn steps(&self, id: &str) -> impl Future<Output = StoreResult<Vec<StepRecord>>> + Send;

    /// Claims a step to run: `pending` or `failed`, or `running` whose lease has expired, becomes
    /// `running` with a lease held by `owner` (a node id) for `lease_ms` by the store's own clock,
    /// so nodes with skewed clocks agree on expiry. A retry (from `failed` or an expired lease)
    /// increments `retryCount`. `None` when the step is completed, skipped, or running under a
    /// live lease.
    fn claim_step(
        &self,
        id: &str,
        step: &str,
        owner: &str,
        lease_ms: i64,
    ) -> impl Future<Output = StoreResult<Option<ClaimedStep>>> + Send;

    /// Extends the lease of a running step held by `owner` to `lease_ms` from now (store clock);
    /// false when the step is no longer running under that owner's lease (finished, or taken over
    /// after the lease lapsed).
    fn renew_lease(
        &self,
        id: &str,
        step: &str,
        owner: &str,
        lease_ms: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Ends now every lease held by `owner`, so its running steps can be claimed at once. A node
    /// calls it at start-up for its own id: a lease it holds from before is a dead run's (the
    /// data-dir lock proves no other process runs as that node). Returns how many were ended.
    fn expire_leases_of(&self, owner: &str) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Records a step's outcome (`completed`, `failed` or `skipped`), its precise duration in
    /// microseconds when measured, and its event.
    fn finish_step(
        &self,
        id: &str,
        step: &str,
        status: ProvisioningStepStatus,
        error: Option<String>,
        now_ms: i64,
        duration_us: Option<i64>,
    ) -> impl Future<Output = StoreResult<StepRecord>> + Send;

    /// [`ControlStore::finish_step`] of a completed step and [`ControlStore::claim_step`] of the
    /// next, in one transaction (one round trip fewer per step on the provisioning path).
    fn finish_and_claim(
        &self,
        id: &str,
        finished: FinishedStep,
        next: &str,
        owner: &str,
        lease_ms: i64,
    ) -> impl Future<Output = StoreResult<(StepRecord, Option<ClaimedStep>)>> + Send;

    /// Events of a tenant after `after_seq`, oldest first.
    fn events(
        &self,
        id: &str,
        after_seq: i64,
    ) -> impl Future<Output = StoreResult<Vec<EventRecord>>> + Send;

    /// Inserts a key, or does nothing if its id exists (so a re-run step is harmless).
    fn insert_key(&self, key: KeyRecord) -> impl Future<Output = StoreResult<()>> + Send;

    /// A key by id.
    fn key(&self, key_id: &str) -> impl Future<Output = StoreResult<Option<KeyRecord>>> + Send;

    /// The keys of a tenant, oldest first.
    fn keys(&self, tenant_id: &str) -> impl Future<Output = StoreResult<Vec<KeyRecord>>> + Send;

    /// Revokes a key of a tenant; false when there is no such key.
    fn revoke_key(
        &self,
        tenant_id: &str,
        key_id: &str,
        now_ms: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Sets the suspension state of every unrevoked key of a tenant.
    fn set_keys_state(
        &self,
        tenant_id: &str,
        state: KeyState,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Maps a custom domain to a tenant. The caller normalises the domain (lowercase); it is
    /// stored as given. A domain already mapped (to any tenant) is [`StoreError::DuplicateDomain`].
    fn insert_domain(&self, record: DomainRecord) -> impl Future<Output = StoreResult<()>> + Send;

    /// The mapping of a domain, looked up exactly as given.
    fn domain(
        &self,
        domain: &str,
    ) -> impl Future<Output = StoreResult<Option<DomainRecord>>> + Send;

    /// Mapped domains, sorted by domain: all of them, or those of one tenant.
    fn domains(
        &self,
        tenant_id: Option<&str>,
    ) -> impl Future<Output = StoreResult<Vec<DomainRecord>>> + Send;

    /// Removes a domain's mapping; false when it was not mapped.
    fn delete_domain(&self, domain: &str) -> impl Future<Output = StoreResult<bool>> + Send;

    /// A setting.
    fn setting(&self, name: &str) -> impl Future<Output = StoreResult<Option<String>>> + Send;

    /// Removes a setting (absent is fine).
    fn delete_setting(&self, name: &str) -> impl Future<Output = StoreResult<()>> + Send;

    /// Stores a setting.
    fn set_setting(&self, name: &str, value: &str) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The outcome of a step, as [`ControlStore::finish_step`] records it.
#[derive(Debug, Clone)]
pub struct FinishedStep {
    /// Step name.
    pub name: String,
    /// `completed`, `failed` or `skipped`.
    pub status: ProvisioningStepStatus,
    /// The error of a failed step.
    pub error: Option<String>,
    /// When it ended, ms since the epoch.
    pub now_ms: i64,
    /// Its precise duration.
    pub duration_us: Option<i64>,
}

/// Fields a status transition may set alongside the status.
#[derive(Debug, Clone, Default)]
pub struct TenantChange {
    /// The error to record (`Some(None)` clears it).
    pub error: Option<Option<String>>,
    /// When provisioning completed (ms since the epoch).
    pub provisioned_at_ms: Option<i64>,
    /// When a scheduled destruction is due (ms since the epoch).
    pub destroy_after_ms: Option<Option<i64>>,
}
