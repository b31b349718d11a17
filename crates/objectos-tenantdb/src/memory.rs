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

    fn raw_sql(&self, tenant_id: &str) -> TenantDbResult<crate::hrana::RawSql> {
        self.connection(tenant_id).map(crate::hrana::RawSql::Shared)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SessionExt;

    fn se(e: objectos_sql::SqlError) -> TenantDbError {
        sql("test", e)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lifecycle_is_idempotent_and_data_lives_with_the_tenant() {
        let dbs = MemoryTenants::new();
        assert_eq!(dbs.provider(), "memory");
        assert_eq!(dbs.dialect(), Dialect::Sqlite);
        dbs.create("acme").await.unwrap();
        dbs.create("acme").await.unwrap();
        let creates: Vec<_> = (0..4)
            .map(|_| {
                let dbs = dbs.clone();
                tokio::spawn(async move {
                    dbs.create("beta").await?;
                    dbs.sync_system_schema("beta").await
                })
            })
            .collect();
        for c in creates {
            c.await.unwrap().unwrap();
        }
        dbs.sync_system_schema("acme").await.unwrap();
        dbs.sync_system_schema("acme").await.unwrap();
        assert!(dbs.exists("acme").await.unwrap());
        assert!(!dbs.exists("gamma").await.unwrap());
        assert_eq!(dbs.list().await.unwrap(), ["acme", "beta"]);
        assert_eq!(dbs.cached_connections(), 2);
        let meta = dbs
            .with_read_session("acme", |s| {
                s.query("SELECT key, value FROM _objectos_meta ORDER BY key", &[])
                    .map_err(se)
            })
            .await
            .unwrap();
        assert_eq!(
            meta,
            vec![
                vec!["schema_version".into(), "1".into()],
                vec!["tenant_id".into(), "acme".into()]
            ]
        );

        // Usage, and storage growing with rows.
        dbs.with_session("acme", |s| {
            s.execute_batch(
                "CREATE TABLE contact (id INTEGER PRIMARY KEY, name TEXT); \
                 INSERT INTO contact (name) VALUES ('a'), ('b'), ('c'); \
                 INSERT INTO _objectos_metadata (type, name, definition, updated_at) \
                   VALUES ('object', 'contact', '{}', 'now'); \
                 INSERT INTO _objectos_deployments \
                   (id, seq, status, checksum, hash, bundle, model, record, created_at) \
                   VALUES ('d1', 1, 'applied', 'c', 'h', '{}', '{}', '{}', '2026-12-04T10:00:00Z')",
            )
            .map_err(se)
        })
        .await
        .unwrap();
        let usage = dbs.usage("acme", "2026-12-04").await.unwrap();
        assert_eq!(
            (usage.objects, usage.records, usage.largest_object_records),
            (1, 3, 3)
        );
        assert_eq!(usage.deployments_today, 1);
        assert!(usage.storage_bytes > 0);
        dbs.with_session("acme", |s| {
            s.execute_batch(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 3000) \
                 INSERT INTO contact (name) SELECT printf('%.200c', 'x') FROM g",
            )
            .map_err(se)
        })
        .await
        .unwrap();
        let grown = dbs.usage("acme", "2026-12-04").await.unwrap();
        assert_eq!(grown.records, 3003);
        assert!(grown.storage_bytes > usage.storage_bytes + 500_000);
        assert_eq!(grown.storage_bytes, dbs.size_bytes("acme").await.unwrap());

        // Backup: a SQLite file holding the tenant's tables.
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("b/acme.db");
        dbs.backup("acme", &dest).await.unwrap();
        dbs.backup("acme", &dest).await.unwrap();
        let copy = Connection::open(&dest).unwrap();
        let n: i64 = copy
            .query_row("SELECT COUNT(*) FROM contact", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3003);

        // Delete (twice), then the id is unknown; re-created, it starts empty.
        dbs.delete("acme").await.unwrap();
        dbs.delete("acme").await.unwrap();
        assert!(!dbs.exists("acme").await.unwrap());
        assert_eq!(dbs.list().await.unwrap(), ["beta"]);
        for r in [
            dbs.size_bytes("acme").await.map(|_| ()),
            dbs.with_session("acme", |_| Ok(())).await,
            dbs.with_read_session("acme", |_| Ok(())).await,
            dbs.sync_system_schema("acme").await,
            dbs.backup("acme", &dest).await,
        ] {
            assert!(matches!(r, Err(TenantDbError::Missing(_))), "{r:?}");
        }
        dbs.create("acme").await.unwrap();
        assert_eq!(dbs.usage("acme", "2026-12-04").await.unwrap().objects, 0);
        assert!(matches!(
            dbs.create("Not-Valid").await,
            Err(TenantDbError::InvalidId(_))
        ));
    }

    #[tokio::test]
    async fn read_sessions_refuse_writes_and_the_writer_still_writes() {
        let dbs = MemoryTenants::new();
        dbs.create("acme").await.unwrap();
        dbs.sync_system_schema("acme").await.unwrap();
        let refused = dbs
            .with_read_session("acme", |s| {
                Ok(s.execute("INSERT INTO _objectos_meta VALUES ('k', 'v')", &[]))
            })
            .await
            .unwrap();
        assert_eq!(refused.unwrap_err().kind, objectos_sql::ErrorKind::ReadOnly);
        dbs.with_session("acme", |s| {
            s.execute("INSERT INTO _objectos_meta VALUES ('k', 'v')", &[])
                .map_err(se)
        })
        .await
        .unwrap();
        let n = dbs
            .with_read_session("acme", |s| {
                s.query_count("SELECT COUNT(*) FROM _objectos_meta", &[])
                    .map_err(se)
            })
            .await
            .unwrap();
        assert_eq!(n, 3);
        dbs.invalidate("acme").await;
        assert!(dbs.exists("acme").await.unwrap(), "never evicted");
    }
}
