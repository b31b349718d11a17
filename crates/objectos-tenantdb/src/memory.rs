//! In-memory SQLite databases, one per tenant (the `memory` provider): for tests and sandboxes.
//!
//! Each tenant's database lives in one connection kept for the tenant's whole life (an in-memory
//! database is gone when its last connection closes, so it is never evicted); writers and readers
//! share it, one at a time. Reads run with `PRAGMA query_only` on, so a read session refuses
//! writes as the other providers' do. Everything is gone with the process.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;

use crate::cache::SharedConnection;
use crate::local::{sql, sqlite, vacuum_into};
use crate::system::{sync_system_tables, usage_counts};
use crate::{
    validate_tenant_id, DbUsage, Dialect, Session, TenantDatabases, TenantDbError, TenantDbResult,
};
use objectos_sql::SqliteSession;

/// Tenant databases in memory (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct MemoryTenants {
    dbs: Arc<Mutex<HashMap<String, SharedConnection>>>,
}

impl MemoryTenants {
    /// No databases yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, SharedConnection>> {
        self.dbs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The connection of an existing tenant database.
    fn connection(&self, tenant_id: &str) -> TenantDbResult<SharedConnection> {
        validate_tenant_id(tenant_id)?;
        self.map()
            .get(tenant_id)
            .cloned()
            .ok_or_else(|| TenantDbError::Missing(tenant_id.to_owned()))
    }

    /// Runs `f` on a tenant's connection, on a blocking thread.
    async fn with_connection<T, F>(&self, tenant_id: &str, f: F) -> TenantDbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> TenantDbResult<T> + Send + 'static,
    {
        let shared = self.connection(tenant_id)?;
        tokio::task::spawn_blocking(move || {
            let conn = shared.lock().unwrap_or_else(|p| p.into_inner());
            f(&conn)
        })
        .await
        .map_err(|e| TenantDbError::Worker(e.to_string()))?
    }
}

/// Turns `query_only` off again when a read is done, however it ends.
struct QueryOnly<'c>(&'c Connection);

impl<'c> QueryOnly<'c> {
    fn on(conn: &'c Connection) -> rusqlite::Result<Self> {
        conn.pragma_update(None, "query_only", true)?;
        Ok(Self(conn))
    }
}

impl Drop for QueryOnly<'_> {
    fn drop(&mut self) {
        // Cannot fail on an open connection (a pragma without I/O).
        let _ = self.0.pragma_update(None, "query_only", false);
    }
}

impl TenantDatabases for MemoryTenants {
    fn provider(&self) -> &'static str {
        "memory"
    }

    fn connection_url(&self, tenant_id: &str) -> String {
        format!("memory:{tenant_id}")
    }

    async fn create(&self, tenant_id: &str) -> TenantDbResult<()> {
        validate_tenant_id(tenant_id)?;
        let mut dbs = self.map();
        if dbs.contains_key(tenant_id) {
            return Ok(());
        }
        // Opening an in-memory database does no I/O: done under the lock, so concurrent creates
        // of one tenant make one database.
        let conn = Connection::open_in_memory().map_err(|e| sqlite(tenant_id, e))?;
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA user_version = 1;")
            .map_err(|e| sqlite(tenant_id, e))?;
        dbs.insert(tenant_id.to_owned(), Arc::new(Mutex::new(conn)));
        Ok(())
    }

    async fn sync_system_schema(&self, tenant_id: &str) -> TenantDbResult<()> {
        let id = tenant_id.to_owned();
        self.with_session(tenant_id, move |s| {
            sync_system_tables(s, &id).map_err(|e| sql(&id, e))
        })
        .await
    }

    async fn exists(&self, tenant_id: &str) -> TenantDbResult<bool> {
        validate_tenant_id(tenant_id)?;
        Ok(self.map().contains_key(tenant_id))
    }

    async fn size_bytes(&self, tenant_id: &str) -> TenantDbResult<u64> {
        let id = tenant_id.to_owned();
        self.with_connection(tenant_id, move |conn| {
            let bytes: i64 = conn
                .query_row(
                    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| sqlite(&id, e))?;
            Ok(u64::try_from(bytes).unwrap_or(0))
        })
        .await
    }

    async fn backup(&self, tenant_id: &str, dest: &Path) -> TenantDbResult<()> {
        let (id, dest) = (tenant_id.to_owned(), dest.to_owned());
        self.with_connection(tenant_id, move |conn| vacuum_into(conn, &id, &dest))
            .await
    }

    async fn delete(&self, tenant_id: &str) -> TenantDbResult<()> {
        validate_tenant_id(tenant_id)?;
        // The database goes when the last session using it ends.
        self.map().remove(tenant_id);
        Ok(())
    }

    async fn usage(&self, tenant_id: &str, day: &str) -> TenantDbResult<DbUsage> {
        let storage_bytes = self.size_bytes(tenant_id).await?;
        let (id, day) = (tenant_id.to_owned(), day.to_owned());
        let counts = self
            .with_read_session(tenant_id, move |s| {
                usage_counts(s, &day).map_err(|e| sql(&id, e))
            })
            .await?;
        Ok(DbUsage {
            storage_bytes,
            ..counts
        })
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn with_session<T, F>(&self, tenant_id: &str, f: F) -> TenantDbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Session) -> TenantDbResult<T> + Send + 'static,
    {
        self.with_connection(tenant_id, move |conn| f(&SqliteSession::new(conn)))
            .await
    }

    async fn with_read_session<T, F>(&self, tenant_id: &str, f: F) -> TenantDbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Session) -> TenantDbResult<T> + Send + 'static,
    {
        let id = tenant_id.to_owned();
        self.with_connection(tenant_id, move |conn| {
            let _read_only = QueryOnly::on(conn).map_err(|e| sqlite(&id, e))?;
            f(&SqliteSession::new(conn))
        })
        .await
    }

    async fn invalidate(&self, _tenant_id: &str) {
        // The connection is the database: it stays for the tenant's life.
    }

    fn cached_connections(&self) -> usize {
        self.map().len()
    }

    async fn list(&self) -> TenantDbResult<Vec<String>> {
        let mut ids: Vec<String> = self.map().keys().cloned().collect();
        ids.sort();
        Ok(ids)
    }
}
