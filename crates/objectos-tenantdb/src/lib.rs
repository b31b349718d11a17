//! Tenant databases: where each tenant's data lives. [`TenantDatabases`] is the provider interface,
//! with three providers:
//!
//! - [`LocalSqlite`] (`sqlite`, the default) keeps one SQLite file per tenant under
//!   `<data-dir>/tenants/`;
//! - [`MemoryTenants`] (`memory`) keeps one in-memory SQLite database per tenant, for tests and
//!   sandboxes (gone with the process);
//! - [`PostgresTenants`] (`postgres`) keeps one schema per tenant in a PostgreSQL database, each
//!   owned by and reachable only through a role of its own (see the `postgres` module).
//!
//! [`TenantDbs`] is any one of them, picked at run time from a [`TenantDbConfig`].
//!
//! Every operation is idempotent, so a provisioning step that is retried, or resumed after a crash,
//! converges: creating an existing database, deleting a missing one, or re-syncing the system
//! tables are no-ops.

mod any;
mod cache;
pub mod hrana;
mod local;
mod memory;
mod postgres;
mod spare;
mod system;

use std::future::Future;
use std::path::Path;

pub use objectos_sql::{Dialect, Session, SessionExt, SqlError, SqlValue};

pub use any::{TenantDbConfig, TenantDbs};
pub use cache::{ConnectionCache, SharedConnection};
pub use local::{LocalSqlite, DEFAULT_CACHED_CONNECTIONS, DEFAULT_SPARE_DATABASES};
pub use memory::MemoryTenants;
pub use postgres::{PgIsolation, PgSettings, PostgresTenants, SynchronousCommit, PG_BACKUP_FORMAT};
pub use spare::SPARE_DIR;
pub use system::{system_tables, PG_SYSTEM_TABLES, SYSTEM_SCHEMA_VERSION, SYSTEM_TABLES};

/// What can go wrong with a tenant database.
#[derive(Debug, thiserror::Error)]
pub enum TenantDbError {
    /// A file operation failed.
    #[error("tenant database {tenant_id}: {source}")]
    Io {
        /// The tenant.
        tenant_id: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The database reported an error.
    #[error("tenant database {tenant_id}: {source}")]
    Sql {
        /// The tenant.
        tenant_id: String,
        /// The cause.
        source: SqlError,
    },
    /// The database does not exist.
    #[error("tenant database {0} does not exist")]
    Missing(String),
    /// A tenant id that cannot name a database file.
    #[error("invalid tenant id for a database name: {0:?}")]
    InvalidId(String),
    /// The blocking task was cancelled or panicked.
    #[error("tenant database worker failed: {0}")]
    Worker(String),
    /// The provider's configuration is unusable (unknown provider, malformed URL).
    #[error("tenant database configuration: {0}")]
    Config(String),
}

/// Checks that `tenant_id` is a valid tenant id (`[a-z0-9-]`, 1 to 64 characters), the only ids
/// any provider turns into a file, schema or role name.
pub fn validate_tenant_id(tenant_id: &str) -> TenantDbResult<()> {
    let valid = !tenant_id.is_empty()
        && tenant_id.len() <= 64
        && tenant_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(TenantDbError::InvalidId(tenant_id.to_owned()))
    }
}

/// What a tenant database holds, for usage and quotas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DbUsage {
    /// Deployed objects.
    pub objects: u64,
    /// Records across all objects.
    pub records: u64,
    /// Records of the largest object (what `maxRecordsPerObject` limits).
    pub largest_object_records: u64,
    /// Bytes on disk.
    pub storage_bytes: u64,
    /// Deployments recorded today (UTC).
    pub deployments_today: u64,
}

/// Result of tenant database operations.
pub type TenantDbResult<T> = Result<T, TenantDbError>;

/// A provider of tenant databases.
pub trait TenantDatabases: Send + Sync + 'static {
    /// The provider's name as stored with the tenant (`sqlite`, `memory`, `postgres`).
    fn provider(&self) -> &'static str;

    /// The URL of a tenant's database (no credentials).
    fn connection_url(&self, tenant_id: &str) -> String;

    /// Creates the database if it does not exist.
    fn create(&self, tenant_id: &str) -> impl Future<Output = TenantDbResult<()>> + Send;

    /// Creates or completes objectos' system tables (metadata, deployment ledger).
    fn sync_system_schema(
        &self,
        tenant_id: &str,
    ) -> impl Future<Output = TenantDbResult<()>> + Send;

    /// True when the database exists.
    fn exists(&self, tenant_id: &str) -> impl Future<Output = TenantDbResult<bool>> + Send;

    /// Bytes the database occupies.
    fn size_bytes(&self, tenant_id: &str) -> impl Future<Output = TenantDbResult<u64>> + Send;

    /// Writes a consistent copy of the database to `dest`.
    fn backup(
        &self,
        tenant_id: &str,
        dest: &Path,
    ) -> impl Future<Output = TenantDbResult<()>> + Send;

    /// Deletes the database; deleting a missing one succeeds.
    fn delete(&self, tenant_id: &str) -> impl Future<Output = TenantDbResult<()>> + Send;

    /// Object, record and deployment counts and the bytes used; `day` is the UTC day (`YYYY-MM-DD`)
    /// whose deployments count as today's.
    fn usage(
        &self,
        tenant_id: &str,
        day: &str,
    ) -> impl Future<Output = TenantDbResult<DbUsage>> + Send;

    /// The SQL dialect of the provider's databases.
    fn dialect(&self) -> Dialect;

    /// Runs `f` with a session on the tenant's database, on a blocking thread. Writes (and the
    /// deploy pipeline) go through here; the write transactions of one tenant run one at a time
    /// (SQLite providers hand its sessions out one at a time; PostgreSQL's `begin()` takes the
    /// tenant's writer lock).
    fn with_session<T, F>(
        &self,
        tenant_id: &str,
        f: F,
    ) -> impl Future<Output = TenantDbResult<T>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&dyn Session) -> TenantDbResult<T> + Send + 'static;

    /// Runs a read-only `f` (queries of the data API) on a reader session, so reads run in
    /// parallel with each other and with the writer. Providers without readers run it like
    /// [`TenantDatabases::with_session`].
    fn with_read_session<T, F>(
        &self,
        tenant_id: &str,
        f: F,
    ) -> impl Future<Output = TenantDbResult<T>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&dyn Session) -> TenantDbResult<T> + Send + 'static,
    {
        self.with_session(tenant_id, f)
    }

    /// Drops the cached connection of a tenant (after suspend, destroy or deploy), closing it once
    /// no request holds it (waiting briefly; a connection still held then closes when released).
    fn invalidate(&self, tenant_id: &str) -> impl Future<Output = ()> + Send;

    /// Open connections currently cached.
    fn cached_connections(&self) -> usize;

    /// Ids of all databases present (to find orphans).
    fn list(&self) -> impl Future<Output = TenantDbResult<Vec<String>>> + Send;

    /// How raw SQL clients (the Hrana endpoint) reach a tenant's database. Providers that do not
    /// hold SQLite databases answer [`hrana::RawSql::Unsupported`] (the default).
    fn raw_sql(&self, tenant_id: &str) -> TenantDbResult<hrana::RawSql> {
        let _ = tenant_id;
        Ok(hrana::RawSql::Unsupported {
            provider: self.provider(),
        })
    }

    /// Sets aside a database that no tenant owns, never deleting it: objectos only infers that it
    /// is an orphan, and an inference is no reason to destroy data. Returns where it now is when
    /// it was moved (the `sqlite` provider moves the files to [`QUARANTINE_DIR`]), `None` when it
    /// was left in place (the default: a PostgreSQL schema is kept, and only logged).
    fn set_aside(
        &self,
        tenant_id: &str,
    ) -> impl Future<Output = TenantDbResult<Option<std::path::PathBuf>>> + Send {
        let _ = tenant_id;
        std::future::ready(Ok(None))
    }
}

/// The folder, inside the `sqlite` provider's folder, where databases no tenant owns are moved
/// (`tenants/quarantine/`); objectos never deletes anything in it.
pub const QUARANTINE_DIR: &str = "quarantine";
