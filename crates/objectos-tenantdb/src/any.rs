//! [`TenantDbs`]: the provider picked at run time, from a plain [`TenantDbConfig`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{
    DbUsage, Dialect, LocalSqlite, MemoryTenants, PgSettings, PostgresTenants, Session,
    TenantDatabases, TenantDbError, TenantDbResult, DEFAULT_CACHED_CONNECTIONS,
    DEFAULT_SPARE_DATABASES,
};

/// Which provider to use and its settings: plain data, filled from flags, environment or a
/// config file by the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantDbConfig {
    /// `sqlite` (default), `memory` or `postgres`.
    pub provider: String,
    /// `sqlite`: the folder of the tenants' files (default `data/tenants`).
    pub sqlite_dir: PathBuf,
    /// `sqlite`: open connections kept (default [`DEFAULT_CACHED_CONNECTIONS`]).
    pub cached_connections: usize,
    /// `sqlite`: idle connections are closed after this long (default `None`: kept until evicted).
    pub connection_ttl: Option<Duration>,
    /// `sqlite`: empty databases kept ready (default [`DEFAULT_SPARE_DATABASES`]).
    pub spare_databases: usize,
    /// `postgres`: its settings.
    pub postgres: PgSettings,
}

impl Default for TenantDbConfig {
    fn default() -> Self {
        Self {
            provider: "sqlite".to_owned(),
            sqlite_dir: PathBuf::from("data/tenants"),
            cached_connections: DEFAULT_CACHED_CONNECTIONS,
            connection_ttl: None,
            spare_databases: DEFAULT_SPARE_DATABASES,
            postgres: PgSettings::default(),
        }
    }
}

/// Any one of the providers, so the server picks one at run time; every call is delegated.
#[derive(Debug, Clone)]
pub enum TenantDbs {
    /// One SQLite file per tenant.
    Sqlite(LocalSqlite),
    /// One in-memory SQLite database per tenant.
    Memory(MemoryTenants),
    /// One PostgreSQL schema per tenant.
    Postgres(PostgresTenants),
}

impl TenantDbs {
    /// The provider `config` names, opened (the `postgres` one connects at once).
    pub async fn open(config: &TenantDbConfig) -> TenantDbResult<Self> {
        match config.provider.as_str() {
            "sqlite" => LocalSqlite::with_cache_settings(
                &config.sqlite_dir,
                config.cached_connections,
                config.connection_ttl,
                config.spare_databases,
            )
            .map(Self::Sqlite)
            .map_err(|source| TenantDbError::Io {
                tenant_id: "*".to_owned(),
                source,
            }),
            "memory" => Ok(Self::Memory(MemoryTenants::new())),
            "postgres" => PostgresTenants::connect(&config.postgres)
                .await
                .map(Self::Postgres),
            other => Err(TenantDbError::Config(format!(
                "unknown tenant database provider {other:?} (sqlite, memory or postgres)"
            ))),
        }
    }
}

impl TenantDbs {
    /// Closes the cached connections idle for longer than their TTL; returns how many. Only the
    /// `sqlite` provider caches connections per tenant (the others keep theirs for the tenant's
    /// life, or in a shared pool with its own idle timeout).
    pub fn sweep_expired_connections(&self) -> usize {
        match self {
            TenantDbs::Sqlite(p) => p.sweep_expired_connections(),
            TenantDbs::Memory(_) | TenantDbs::Postgres(_) => 0,
        }
    }
}

/// Calls the same method on whichever provider `$self` holds. Async calls are boxed: the
/// providers' futures (sqlx's above all) are large, and a caller that keeps one on its stack
/// (a `block_on`, a test body) would otherwise carry the largest of the three.
macro_rules! delegate {
    ($self:ident, $p:ident => $call:expr) => {
        match $self {
            TenantDbs::Sqlite($p) => $call,
            TenantDbs::Memory($p) => $call,
            TenantDbs::Postgres($p) => $call,
        }
    };
}

impl TenantDatabases for TenantDbs {
    fn provider(&self) -> &'static str {
        delegate!(self, p => p.provider())
    }

    fn connection_url(&self, tenant_id: &str) -> String {
        delegate!(self, p => p.connection_url(tenant_id))
    }

    fn raw_sql(&self, tenant_id: &str) -> TenantDbResult<crate::hrana::RawSql> {
        delegate!(self, p => p.raw_sql(tenant_id))
    }

    async fn create(&self, tenant_id: &str) -> TenantDbResult<()> {
        delegate!(self, p => Box::pin(p.create(tenant_id)).await)
    }

    async fn sync_system_schema(&self, tenant_id: &str) -> TenantDbResult<()> {
        delegate!(self, p => Box::pin(p.sync_system_schema(tenant_id)).await)
    }

    async fn exists(&self, tenant_id: &str) -> TenantDbResult<bool> {
        delegate!(self, p => Box::pin(p.exists(tenant_id)).await)
    }

    async fn size_bytes(&self, tenant_id: &str) -> TenantDbResult<u64> {
        delegate!(self, p => Box::pin(p.size_bytes(tenant_id)).await)
    }

    async fn backup(&self, tenant_id: &str, dest: &Path) -> TenantDbResult<()> {
        delegate!(self, p => Box::pin(p.backup(tenant_id, dest)).await)
    }

    async fn delete(&self, tenant_id: &str) -> TenantDbResult<()> {
        delegate!(self, p => Box::pin(p.delete(tenant_id)).await)
    }

    async fn usage(&self, tenant_id: &str, day: &str) -> TenantDbResult<DbUsage> {
        delegate!(self, p => Box::pin(p.usage(tenant_id, day)).await)
    }

    fn dialect(&self) -> Dialect {
        delegate!(self, p => p.dialect())
    }

    async fn with_session<T, F>(&self, tenant_id: &str, f: F) -> TenantDbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Session) -> TenantDbResult<T> + Send + 'static,
    {
        delegate!(self, p => Box::pin(p.with_session(tenant_id, f)).await)
    }

    async fn with_read_session<T, F>(&self, tenant_id: &str, f: F) -> TenantDbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Session) -> TenantDbResult<T> + Send + 'static,
    {
        delegate!(self, p => Box::pin(p.with_read_session(tenant_id, f)).await)
    }

    async fn invalidate(&self, tenant_id: &str) {
        delegate!(self, p => Box::pin(p.invalidate(tenant_id)).await)
    }

    fn cached_connections(&self) -> usize {
        delegate!(self, p => TenantDatabases::cached_connections(p))
    }

    async fn list(&self) -> TenantDbResult<Vec<String>> {
        delegate!(self, p => Box::pin(p.list()).await)
    }

    async fn set_aside(&self, tenant_id: &str) -> TenantDbResult<Option<PathBuf>> {
        delegate!(self, p => Box::pin(p.set_aside(tenant_id)).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_config_picks_the_provider() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = TenantDbs::open(&TenantDbConfig {
            sqlite_dir: dir.path().join("tenants"),
            spare_databases: 0,
            ..TenantDbConfig::default()
        })
        .await
        .unwrap();
        assert_eq!(sqlite.provider(), "sqlite");
        assert_eq!(sqlite.dialect(), Dialect::Sqlite);
        let memory = TenantDbs::open(&TenantDbConfig {
            provider: "memory".into(),
            ..TenantDbConfig::default()
        })
        .await
        .unwrap();
        assert_eq!(memory.provider(), "memory");
        for dbs in [&sqlite, &memory] {
            dbs.create("acme").await.unwrap();
            dbs.sync_system_schema("acme").await.unwrap();
            assert_eq!(dbs.list().await.unwrap(), ["acme"]);
            let n = dbs
                .with_read_session("acme", |s| {
                    crate::SessionExt::query_count(s, "SELECT COUNT(*) FROM _objectos_meta", &[])
                        .map_err(|e| crate::local::sql("acme", e))
                })
                .await
                .unwrap();
            assert_eq!(n, 2);
            dbs.delete("acme").await.unwrap();
            assert!(!dbs.exists("acme").await.unwrap());
        }
        let unknown = TenantDbs::open(&TenantDbConfig {
            provider: "oracle".into(),
            ..TenantDbConfig::default()
        })
        .await;
        assert!(matches!(unknown, Err(TenantDbError::Config(_))));
    }
}
