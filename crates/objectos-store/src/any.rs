//! [`ControlStores`]: the embedded or the PostgreSQL control store, chosen at start-up.

use std::path::{Path, PathBuf};
use std::time::Duration;

use objectos_spec::types::provisioning::{
    ProvisioningStepStatus, TenantPlan, TenantProvisioningStatus,
};

use crate::dump::ControlDump;
use crate::postgres::{PgControlOptions, PgControlStore};
use crate::records::{
    ClaimedStep, DomainRecord, EventRecord, KeyRecord, KeyState, NewTenant, StepRecord,
    TenantFilter, TenantPage, TenantRecord,
};
use crate::sqlite::SqliteControlStore;
use crate::{ControlStore, FinishedStep, StoreResult, TenantChange};

/// Where the control store is: `url` `None` is the embedded store (`control.db` in the data dir).
#[derive(Debug, Clone)]
pub struct ControlConfig {
    /// A `postgres://` URL, or `None` for the embedded SQLite store.
    pub url: Option<String>,
    /// Connections the PostgreSQL store's pool holds at most.
    pub max_connections: u32,
    /// How long a PostgreSQL call waits for a connection (and the start for the server).
    pub acquire_timeout: Duration,
}

impl Default for ControlConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// The embedded file of a data dir's control store.
pub fn embedded_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control.db")
}

/// Either control store; every call is delegated.
#[derive(Debug, Clone)]
pub enum ControlStores {
    /// SQLite, one file in the data dir (the default).
    Sqlite(SqliteControlStore),
    /// PostgreSQL.
    Postgres(PgControlStore),
}

impl ControlStores {
    /// Opens the store `config` names: `control.db` in `data_dir`, or the PostgreSQL database
    /// (connected, its schema created or migrated).
    pub async fn open(config: &ControlConfig, data_dir: &Path) -> StoreResult<Self> {
        match &config.url {
            None => SqliteControlStore::open(&embedded_path(data_dir)).map(Self::Sqlite),
            Some(url) => {
                let mut options = PgControlOptions::new(url.clone());
                options.max_connections = config.max_connections;
                options.acquire_timeout = config.acquire_timeout;
                PgControlStore::connect(&options).await.map(Self::Postgres)
            }
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// Where the store is, for messages: the file, or `postgres://host:port/database` (never
    /// credentials).
    pub fn describe(&self, data_dir: &Path) -> String {
        match self {
            Self::Sqlite(_) => embedded_path(data_dir).display().to_string(),
            Self::Postgres(p) => p.target().to_owned(),
        }
    }

    /// Flushes (SQLite: checkpoints the WAL) or closes (PostgreSQL: the pool) at shutdown.
    pub async fn close(&self) -> StoreResult<()> {
        match self {
            Self::Sqlite(s) => s.checkpoint().await,
            Self::Postgres(p) => {
                p.close().await;
                Ok(())
            }
        }
    }

    /// Every row of every table.
    pub async fn dump(&self) -> StoreResult<ControlDump> {
        match self {
            Self::Sqlite(s) => s.dump().await,
            Self::Postgres(p) => p.dump().await,
        }
    }
}

/// Calls the same method on whichever store `$self` holds; the futures are boxed (sqlx's are
/// large, see `TenantDbs`).
macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            ControlStores::Sqlite($s) => Box::pin($call).await,
            ControlStores::Postgres($s) => Box::pin($call).await,
        }
    };
}

impl ControlStore for ControlStores {
    async fn create_tenant(&self, new: NewTenant) -> StoreResult<(TenantRecord, bool)> {
        delegate!(self, s => s.create_tenant(new))
    }

    async fn tenant(&self, id: &str) -> StoreResult<Option<TenantRecord>> {
        delegate!(self, s => s.tenant(id))
    }

    async fn list_tenants(&self, filter: TenantFilter) -> StoreResult<TenantPage> {
        delegate!(self, s => s.list_tenants(filter))
    }

    async fn tenants_with_status(
        &self,
        statuses: &[TenantProvisioningStatus],
    ) -> StoreResult<Vec<TenantRecord>> {
        delegate!(self, s => s.tenants_with_status(statuses))
    }

    async fn transition(
        &self,
        id: &str,
        from: &[TenantProvisioningStatus],
        to: TenantProvisioningStatus,
        change: TenantChange,
    ) -> StoreResult<Option<(TenantRecord, bool)>> {
        delegate!(self, s => s.transition(id, from, to, change))
    }

    async fn set_plan(&self, id: &str, plan: TenantPlan) -> StoreResult<Option<TenantRecord>> {
        delegate!(self, s => s.set_plan(id, plan))
    }

    async fn delete_tenant(&self, id: &str) -> StoreResult<bool> {
        delegate!(self, s => s.delete_tenant(id))
    }

    async fn steps(&self, id: &str) -> StoreResult<Vec<StepRecord>> {
        delegate!(self, s => s.steps(id))
    }

    async fn claim_step(
        &self,
        id: &str,
        step: &str,
        owner: &str,
        lease_ms: i64,
    ) -> StoreResult<Option<ClaimedStep>> {
        delegate!(self, s => s.claim_step(id, step, owner, lease_ms))
    }

    async fn renew_lease(
        &self,
        id: &str,
        step: &str,
        owner: &str,
        lease_ms: i64,
    ) -> StoreResult<bool> {
        delegate!(self, s => s.renew_lease(id, step, owner, lease_ms))
    }

    async fn expire_leases_of(&self, owner: &str) -> StoreResult<u64> {
        delegate!(self, s => s.expire_leases_of(owner))
    }

    async fn finish_step(
        &self,
        id: &str,
        step: &str,
        status: ProvisioningStepStatus,
        error: Option<String>,
        now_ms: i64,
        duration_us: Option<i64>,
    ) -> StoreResult<StepRecord> {
        delegate!(self, s => s.finish_step(id, step, status, error, now_ms, duration_us))
    }

    async fn finish_and_claim(
        &self,
        id: &str,
        finished: FinishedStep,
        next: &str,
        owner: &str,
        lease_ms: i64,
    ) -> StoreResult<(StepRecord, Option<ClaimedStep>)> {
        delegate!(self, s => s.finish_and_claim(id, finished, next, owner, lease_ms))
    }

    async fn events(&self, id: &str, after_seq: i64) -> StoreResult<Vec<EventRecord>> {
        delegate!(self, s => s.events(id, after_seq))
    }

    async fn insert_key(&self, key: KeyRecord) -> StoreResult<()> {
        delegate!(self, s => s.insert_key(key))
    }

    async fn key(&self, key_id: &str) -> StoreResult<Option<KeyRecord>> {
        delegate!(self, s => s.key(key_id))
    }

    async fn keys(&self, tenant_id: &str) -> StoreResult<Vec<KeyRecord>> {
        delegate!(self, s => s.keys(tenant_id))
    }

    async fn revoke_key(&self, tenant_id: &str, key_id: &str, now_ms: i64) -> StoreResult<bool> {
        delegate!(self, s => s.revoke_key(tenant_id, key_id, now_ms))
    }

    async fn set_keys_state(&self, tenant_id: &str, state: KeyState) -> StoreResult<()> {
        delegate!(self, s => s.set_keys_state(tenant_id, state))
    }

    async fn insert_domain(&self, record: DomainRecord) -> StoreResult<()> {
        delegate!(self, s => s.insert_domain(record))
    }

    async fn domain(&self, domain: &str) -> StoreResult<Option<DomainRecord>> {
        delegate!(self, s => s.domain(domain))
    }

    async fn domains(&self, tenant_id: Option<&str>) -> StoreResult<Vec<DomainRecord>> {
        delegate!(self, s => s.domains(tenant_id))
    }

    async fn delete_domain(&self, domain: &str) -> StoreResult<bool> {
        delegate!(self, s => s.delete_domain(domain))
    }

    async fn setting(&self, name: &str) -> StoreResult<Option<String>> {
        delegate!(self, s => s.setting(name))
    }

    async fn delete_setting(&self, name: &str) -> StoreResult<()> {
        delegate!(self, s => s.delete_setting(name))
    }

    async fn set_setting(&self, name: &str, value: &str) -> StoreResult<()> {
        delegate!(self, s => s.set_setting(name, value))
    }
}
