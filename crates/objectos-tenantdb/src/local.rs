//! One SQLite file per tenant: `<root>/<tenant_id>.db`, WAL mode.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use crate::cache::{ConnectionCache, SharedConnection};
use crate::spare::SparePool;
use crate::{DbUsage, Dialect, Session, TenantDatabases, TenantDbError, TenantDbResult};
use objectos_sql::SqliteSession;

/// Tenant databases as local SQLite files, with an LRU of open connections (optionally dropped
/// after an idle TTL). Concurrent first requests for a tenant open its database once.
#[derive(Debug, Clone)]
pub struct LocalSqlite {
    root: PathBuf,
    cache: Arc<ConnectionCache>,
    /// Read-only connections, [`READERS`] per tenant, keyed `<tenant>#r<i>`.
    readers: Arc<ConnectionCache>,
    spares: Arc<SparePool>,
    /// One gate per tenant whose connection is being opened (single-flight).
    opening: Arc<Mutex<HashMap<String, Arc<Mutex<()>>>>>,
    /// Tenants whose database is being deleted: no connection may be opened to them meanwhile.
    deleting: Arc<Mutex<std::collections::HashSet<String>>>,
    /// Connections opened since creation.
    opens: Arc<AtomicU64>,
}

/// How long [`TenantDatabases::invalidate`] waits for requests still using the connection.
const INVALIDATE_PATIENCE: Duration = Duration::from_secs(2);

/// Reader connections per tenant (queries run in parallel with each other and with writes).
pub const READERS: usize = 2;

/// Spare databases kept ready by default.
pub const DEFAULT_SPARE_DATABASES: usize = 8;

/// Open connections kept by default.
pub const DEFAULT_CACHED_CONNECTIONS: usize = 256;

impl LocalSqlite {
    /// Keeps databases under `root` (created if missing), caching up to
    /// [`DEFAULT_CACHED_CONNECTIONS`] open connections.
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        Self::with_cache(root, DEFAULT_CACHED_CONNECTIONS)
    }

    /// Like [`LocalSqlite::new`] with a chosen cache size.
    pub fn with_cache(
        root: impl Into<PathBuf>,
        cached_connections: usize,
    ) -> std::io::Result<Self> {
        Self::with_options(root, cached_connections, DEFAULT_SPARE_DATABASES)
    }

    /// Like [`LocalSqlite::new`] with a chosen cache size and number of spare databases kept
    /// ready (0 builds every database when it is needed).
    pub fn with_options(
        root: impl Into<PathBuf>,
        cached_connections: usize,
        spares: usize,
    ) -> std::io::Result<Self> {
        Self::with_cache_settings(root, cached_connections, None, spares)
    }

    /// Like [`LocalSqlite::with_options`], also dropping connections idle for longer than
    /// `connection_ttl` (`connectionCacheTTL`; `None` keeps them until evicted).
    pub fn with_cache_settings(
        root: impl Into<PathBuf>,
        cached_connections: usize,
        connection_ttl: Option<Duration>,
        spares: usize,
    ) -> std::io::Result<Self> {
        let root = root.into();
        objectos_sql::files::create_private_dir(&root)?;
        Ok(Self {
            spares: SparePool::start(&root, spares)?,
            root,
            cache: Arc::new(ConnectionCache::with_ttl(
                cached_connections,
                connection_ttl,
            )),
            readers: Arc::new(ConnectionCache::with_ttl(
                cached_connections.saturating_mul(READERS),
                connection_ttl,
            )),
            opening: Arc::new(Mutex::new(HashMap::new())),
            deleting: Arc::default(),
            opens: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The folder holding the databases.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The database file of a tenant; the id must be a valid tenant id (`[a-z0-9-]`, ≤ 64).
    pub fn path_of(&self, tenant_id: &str) -> TenantDbResult<PathBuf> {
        crate::validate_tenant_id(tenant_id)?;
        Ok(self.root.join(format!("{tenant_id}.db")))
    }

    /// The (cached) connection of a tenant's database, which must exist. On a miss, concurrent
    /// callers for the same tenant wait for one of them to open it (single-flight).
    pub fn connection(&self, tenant_id: &str) -> TenantDbResult<SharedConnection> {
        if let Some(conn) = self.cache.get(tenant_id) {
            return Ok(conn);
        }
        let path = self.path_of(tenant_id)?;
        let gate = Arc::clone(self.openings().entry(tenant_id.to_owned()).or_default());
        let opened = {
            let _turn = gate.lock().unwrap_or_else(|p| p.into_inner());
            // Whoever held the gate before us may have opened it already.
            match self.cache.get(tenant_id) {
                Some(conn) => Ok(conn),
                None => self.open(tenant_id, &path),
            }
        };
        {
            let mut openings = self.openings();
            // Clones are only made under this lock: two handles (the map's and ours) mean nobody
            // else is waiting on the gate, so the last one out removes it.
            if Arc::strong_count(&gate) == 2
                && openings
                    .get(tenant_id)
                    .is_some_and(|g| Arc::ptr_eq(g, &gate))
            {
                openings.remove(tenant_id);
            }
        }
        opened
    }

    fn openings(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Mutex<()>>>> {
        self.opening.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens an existing database and caches its connection.
    fn open(&self, tenant_id: &str, path: &Path) -> TenantDbResult<SharedConnection> {
        if !path.exists() || self.is_deleting(tenant_id) {
            return Err(TenantDbError::Missing(tenant_id.to_owned()));
        }
        let conn = Connection::open(path).map_err(|source| sqlite(tenant_id, source))?;
        self.opens.fetch_add(1, Ordering::Relaxed);
        configure(&conn).map_err(|source| sqlite(tenant_id, source))?;
        Ok(self.cache.insert(tenant_id, conn))
    }

    /// Reader connection `i` of a tenant (opened on first use, `query_only`).
    fn reader(&self, tenant_id: &str, i: usize) -> TenantDbResult<SharedConnection> {
        let key = format!("{tenant_id}#r{i}");
        if let Some(conn) = self.readers.get(&key) {
            return Ok(conn);
        }
        let path = self.path_of(tenant_id)?;
        if !path.exists() || self.is_deleting(tenant_id) {
            return Err(TenantDbError::Missing(tenant_id.to_owned()));
        }
        let conn = Connection::open(&path).map_err(|source| sqlite(tenant_id, source))?;
        self.opens.fetch_add(1, Ordering::Relaxed);
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.busy_timeout(Duration::from_secs(5))
            .and_then(|()| conn.pragma_update(None, "query_only", true))
            .and_then(|()| conn.pragma_update(None, "mmap_size", MMAP_SIZE))
            .map_err(|source| sqlite(tenant_id, source))?;
        Ok(self.readers.insert(&key, conn))
    }

    /// Runs `f` on a free reader connection of the tenant (waiting for the first one when all
    /// are busy), on a blocking thread.
    pub async fn with_reader<T, F>(&self, tenant_id: &str, f: F) -> TenantDbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> TenantDbResult<T> + Send + 'static,
    {
        let id = tenant_id.to_owned();
        self.blocking(move |this| {
            let conns = (0..READERS)
                .map(|i| this.reader(&id, i))
                .collect::<TenantDbResult<Vec<_>>>()?;
            let free = conns.iter().find_map(|c| c.try_lock().ok());
            let mut conn = match free {
                Some(guard) => guard,
                None => conns
                    .first()
                    .ok_or_else(|| TenantDbError::Missing(id.clone()))?
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()),
            };
            f(&mut conn)
        })
        .await
    }

    /// Closes a tenant's reader connections (blocking; waits up to `patience` for each).
    fn close_readers(readers: &ConnectionCache, tenant_id: &str, patience: Duration) {
        for i in 0..READERS {
            readers.remove_and_close(&format!("{tenant_id}#r{i}"), patience);
        }
    }

    fn is_deleting(&self, tenant_id: &str) -> bool {
        self.deleting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(tenant_id)
    }

    /// Connections opened since creation (cache misses, plus one per [`TenantDatabases::create`]).
    pub fn opens(&self) -> u64 {
        self.opens.load(Ordering::Relaxed)
    }

    /// Closes the cached connections idle for longer than the TTL (see
    /// [`LocalSqlite::with_cache_settings`]); returns how many. Meant to be called periodically.
    pub fn sweep_expired_connections(&self) -> usize {
        self.cache.sweep_expired() + self.readers.sweep_expired()
    }

    /// Runs `f` on a tenant's connection on a blocking thread.
    pub async fn with_connection<T, F>(&self, tenant_id: &str, f: F) -> TenantDbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> TenantDbResult<T> + Send + 'static,
    {
        let id = tenant_id.to_owned();
        self.blocking(move |this| {
            let shared = this.connection(&id)?;
            let mut conn = shared.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
    }

    /// Open connections in the cache.
    pub fn cached_connections(&self) -> usize {
        self.cache.len()
    }

    async fn blocking<T, F>(&self, f: F) -> TenantDbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(LocalSqlite) -> TenantDbResult<T> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(this))
            .await
            .map_err(|e| TenantDbError::Worker(e.to_string()))?
    }
}

/// Marks a tenant as being deleted until dropped.
struct DeletingGuard {
    set: Arc<Mutex<std::collections::HashSet<String>>>,
    id: String,
}

impl DeletingGuard {
    fn new(set: &Arc<Mutex<std::collections::HashSet<String>>>, id: &str) -> Self {
        set.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned());
        Self {
            set: Arc::clone(set),
            id: id.to_owned(),
        }
    }
}

impl Drop for DeletingGuard {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // `synchronous` first: switching a new file to WAL otherwise runs under the default FULL.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
}

/// Bytes of each database read through a memory map instead of `pread` into SQLite's page
/// cache: the OS page cache is shared by every connection of a tenant, and reads skip a copy.
/// Writes still go through the WAL (durability is unchanged).
const MMAP_SIZE: i64 = 256 * 1024 * 1024;

/// Prepared statements kept per connection: the data API prepares a few per object and
/// operation, more than rusqlite's default of 16.
const STATEMENT_CACHE: usize = 256;

pub(crate) fn sqlite(tenant_id: &str, source: rusqlite::Error) -> TenantDbError {
    sql(tenant_id, objectos_sql::classify_sqlite(source))
}

pub(crate) fn sql(tenant_id: &str, source: objectos_sql::SqlError) -> TenantDbError {
    TenantDbError::Sql {
        tenant_id: tenant_id.to_owned(),
        source,
    }
}

pub(crate) fn io(tenant_id: &str, source: std::io::Error) -> TenantDbError {
    TenantDbError::Io {
        tenant_id: tenant_id.to_owned(),
        source,
    }
}

/// Writes a consistent, compacted copy of the database on `conn` to `dest` (`VACUUM INTO`, which
/// works while others use the database), replacing any file there.
pub(crate) fn vacuum_into(conn: &Connection, tenant_id: &str, dest: &Path) -> TenantDbResult<()> {
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        objectos_sql::files::create_private_dir(parent).map_err(|e| io(tenant_id, e))?;
    }
    remove_if_present(dest).map_err(|e| io(tenant_id, e))?;
    // VACUUM INTO accepts an empty file: made first, so the copy is private to the owner.
    objectos_sql::files::create_private_file(dest).map_err(|e| io(tenant_id, e))?;
    conn.execute("VACUUM INTO ?1", [dest.to_string_lossy()])
        .map_err(|e| sqlite(tenant_id, e))?;
    Ok(())
}

/// Removes a file, treating "already gone" as success.
pub(crate) fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

impl TenantDatabases for LocalSqlite {
    fn provider(&self) -> &'static str {
        "sqlite"
    }

    fn raw_sql(&self, tenant_id: &str) -> TenantDbResult<crate::hrana::RawSql> {
        let path = self.path_of(tenant_id)?;
        if !path.exists() || self.is_deleting(tenant_id) {
            return Err(TenantDbError::Missing(tenant_id.to_owned()));
        }
        Ok(crate::hrana::RawSql::File(path))
    }

    fn connection_url(&self, tenant_id: &str) -> String {
        format!(
            "file:{}",
            self.root.join(format!("{tenant_id}.db")).display()
        )
    }

    async fn create(&self, tenant_id: &str) -> TenantDbResult<()> {
        let id = tenant_id.to_owned();
        self.blocking(move |this| {
            let path = this.path_of(&id)?;
            // A ready spare is renamed into place (atomic; made durable by syncing the folder).
            if !path.exists() {
                if let Some(spare) = this.spares.take() {
                    if std::fs::rename(&spare, &path).is_ok() {
                        std::fs::File::open(&this.root)
                            .and_then(|d| d.sync_all())
                            .map_err(|e| io(&id, e))?;
                    }
                }
            }
            // Otherwise SQLite's atomic commit makes creation safe to interrupt: a crash leaves no
            // file, an empty file (a valid empty database) or a complete one; re-running converges.
            // The file is made first, private to the owner (its `-wal`/`-shm` inherit the mode).
            objectos_sql::files::create_private_file(&path).map_err(|e| io(&id, e))?;
            let conn = Connection::open(&path).map_err(|e| sqlite(&id, e))?;
            this.opens.fetch_add(1, Ordering::Relaxed);
            configure(&conn).map_err(|e| sqlite(&id, e))?;
            // A spare (or a database made by an earlier run) is already marked; writing only when
            // needed spares this step initialising the WAL, which sync_schema's write does anyway.
            let version: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| sqlite(&id, e))?;
            if version != 1 {
                conn.execute_batch("PRAGMA user_version = 1;")
                    .map_err(|e| sqlite(&id, e))?;
            }
            this.cache.insert(&id, conn);
            Ok(())
        })
        .await
    }

    async fn sync_system_schema(&self, tenant_id: &str) -> TenantDbResult<()> {
        let id = tenant_id.to_owned();
        self.with_session(tenant_id, move |s| {
            crate::system::sync_system_tables(s, &id).map_err(|e| sql(&id, e))
        })
        .await
    }

    async fn exists(&self, tenant_id: &str) -> TenantDbResult<bool> {
        let path = self.path_of(tenant_id)?;
        Ok(tokio::fs::try_exists(&path).await.unwrap_or(false))
    }

    async fn size_bytes(&self, tenant_id: &str) -> TenantDbResult<u64> {
        let path = self.path_of(tenant_id)?;
        let mut total = 0;
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            match tokio::fs::metadata(&file).await {
                Ok(meta) => total += meta.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !suffix.is_empty() => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(TenantDbError::Missing(tenant_id.to_owned()))
                }
                Err(e) => return Err(io(tenant_id, e)),
            }
        }
        Ok(total)
    }

    async fn backup(&self, tenant_id: &str, dest: &Path) -> TenantDbResult<()> {
        let (id, dest) = (tenant_id.to_owned(), dest.to_owned());
        let tenant = id.clone();
        self.with_connection(&tenant, move |conn| vacuum_into(conn, &id, &dest))
            .await
    }

    async fn delete(&self, tenant_id: &str) -> TenantDbResult<()> {
        let path = self.path_of(tenant_id)?;
        let cache = Arc::clone(&self.cache);
        let readers = Arc::clone(&self.readers);
        let id = tenant_id.to_owned();
        // While the files go, no request may reopen them (a connection opened now and closed
        // later would remove `-wal`/`-shm` by name, possibly those of a re-created database).
        let _deleting = DeletingGuard::new(&self.deleting, tenant_id);
        // Close the connections first: a WAL connection closed later would delete `-wal`/`-shm`
        // files by name, possibly those of a database re-created under the same id.
        tokio::task::spawn_blocking(move || {
            Self::close_readers(&readers, &id, std::time::Duration::from_secs(5));
            cache.remove_and_close(&id, std::time::Duration::from_secs(5))
        })
        .await
        .map_err(|e| TenantDbError::Worker(e.to_string()))?;
        for suffix in ["-wal", "-shm", ""] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            remove_if_present(&file).map_err(|e| io(tenant_id, e))?;
        }
        Ok(())
    }

    async fn usage(&self, tenant_id: &str, day: &str) -> TenantDbResult<DbUsage> {
        let storage_bytes = self.size_bytes(tenant_id).await?;
        let (id, day) = (tenant_id.to_owned(), day.to_owned());
        let counts = self
            .with_session(tenant_id, move |s| {
                crate::system::usage_counts(s, &day).map_err(|e| sql(&id, e))
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
        self.with_reader(tenant_id, move |conn| f(&SqliteSession::new(conn)))
            .await
    }

    async fn invalidate(&self, tenant_id: &str) {
        let cache = Arc::clone(&self.cache);
        let readers = Arc::clone(&self.readers);
        let id = tenant_id.to_owned();
        // A failed join only means the blocking pool is shutting down; nothing is left to close.
        let _ = tokio::task::spawn_blocking(move || {
            Self::close_readers(&readers, &id, INVALIDATE_PATIENCE);
            cache.remove_and_close(&id, INVALIDATE_PATIENCE)
        })
        .await;
    }

    fn cached_connections(&self) -> usize {
        self.cache.len()
    }

    async fn list(&self) -> TenantDbResult<Vec<String>> {
        let root = self.root.clone();
        self.blocking(move |this| {
            let mut ids = Vec::new();
            let entries = std::fs::read_dir(&root).map_err(|e| io("*", e))?;
            for entry in entries {
                let entry = entry.map_err(|e| io("*", e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                // Only files named like a tenant id are ours; anything else is left alone.
                if let Some(id) = name
                    .strip_suffix(".db")
                    .filter(|id| this.path_of(id).is_ok())
                {
                    ids.push(id.to_owned());
                }
            }
            ids.sort();
            Ok(ids)
        })
        .await
    }

    async fn set_aside(&self, tenant_id: &str) -> TenantDbResult<Option<PathBuf>> {
        let path = self.path_of(tenant_id)?;
        // No request may reopen the files while they move; open connections are closed first.
        let _deleting = DeletingGuard::new(&self.deleting, tenant_id);
        self.invalidate(tenant_id).await;
        let id = tenant_id.to_owned();
        self.blocking(move |this| {
            let dir = this.root.join(crate::QUARANTINE_DIR);
            objectos_sql::files::create_private_dir(&dir).map_err(|e| io(&id, e))?;
            // Never over an earlier quarantined copy: the first free `<id>.db`, `<id>.1.db`, ...
            let mut dest = dir.join(format!("{id}.db"));
            let mut n = 0u32;
            while dest.exists() {
                n += 1;
                dest = dir.join(format!("{id}.{n}.db"));
            }
            // The database file last: until it moves, the database is whole where it was.
            for suffix in ["-wal", "-shm", ""] {
                let from = PathBuf::from(format!("{}{suffix}", path.display()));
                let to = PathBuf::from(format!("{}{suffix}", dest.display()));
                match std::fs::rename(&from, &to) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&id, e)),
                }
            }
            for folder in [&this.root, &dir] {
                std::fs::File::open(folder)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| io(&id, e))?;
            }
            Ok(Some(dest))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SessionExt;

    #[tokio::test]
    async fn create_sync_backup_delete_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let dbs = LocalSqlite::new(dir.path().join("tenants")).unwrap();
        dbs.create("acme").await.unwrap();
        dbs.create("acme").await.unwrap();
        dbs.sync_system_schema("acme").await.unwrap();
        dbs.sync_system_schema("acme").await.unwrap();
        assert!(dbs.exists("acme").await.unwrap());
        assert!(dbs.size_bytes("acme").await.unwrap() > 0);
        let shared = dbs.connection("acme").unwrap();
        let version: String = shared
            .lock()
            .unwrap()
            .query_row(
                "SELECT value FROM _objectos_meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(version, "1");
        assert_eq!(dbs.cached_connections(), 1);
        drop(shared);
        let backup = dir.path().join("backups/acme.db");
        dbs.backup("acme", &backup).await.unwrap();
        assert!(backup.exists());
        std::fs::write(dir.path().join("tenants/Not A Tenant.db"), b"x").unwrap();
        assert_eq!(
            dbs.list().await.unwrap(),
            vec!["acme".to_owned()],
            "foreign files are not listed"
        );
        dbs.delete("acme").await.unwrap();
        dbs.delete("acme").await.unwrap();
        assert!(!dbs.exists("acme").await.unwrap());
        assert!(dbs.list().await.unwrap().is_empty());
        assert!(matches!(
            dbs.size_bytes("acme").await,
            Err(TenantDbError::Missing(_))
        ));
    }

    #[test]
    fn ids_that_could_escape_the_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let dbs = LocalSqlite::new(dir.path()).unwrap();
        for bad in ["", "../x", "a/b", "A", "a.b", &"a".repeat(65)] {
            assert!(
                matches!(dbs.path_of(bad), Err(TenantDbError::InvalidId(_))),
                "{bad}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_first_requests_open_the_database_once() {
        let dir = tempfile::tempdir().unwrap();
        let dbs = LocalSqlite::with_options(dir.path(), 8, 0).unwrap();
        dbs.create("acme").await.unwrap();
        dbs.invalidate("acme").await;
        assert_eq!(dbs.cached_connections(), 0);
        let before = dbs.opens();
        let barrier = Arc::new(std::sync::Barrier::new(16));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (dbs, barrier) = (dbs.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    dbs.connection("acme").unwrap()
                })
            })
            .collect();
        let conns: Vec<SharedConnection> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(dbs.opens() - before, 1, "one open for 16 concurrent misses");
        assert!(conns.iter().all(|c| Arc::ptr_eq(c, &conns[0])));
        assert!(dbs.openings().is_empty(), "the gates are removed");
        assert_eq!(dbs.cached_connections(), 1);
    }

    #[tokio::test]
    async fn readers_see_commits_refuse_writes_and_close_with_the_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let dbs = LocalSqlite::with_options(dir.path(), 8, 0).unwrap();
        dbs.create("acme").await.unwrap();
        dbs.sync_system_schema("acme").await.unwrap();
        let count = |dbs: &LocalSqlite| {
            let dbs = dbs.clone();
            async move {
                dbs.with_read_session("acme", |s| {
                    s.query_count("SELECT COUNT(*) FROM _objectos_meta", &[])
                        .map_err(|e| sql("acme", e))
                })
                .await
                .unwrap()
            }
        };
        let before = count(&dbs).await;
        dbs.with_session("acme", |s| {
            s.execute("INSERT INTO _objectos_meta VALUES ('k', 'v')", &[])
                .map_err(|e| sql("acme", e))
        })
        .await
        .unwrap();
        assert_eq!(
            count(&dbs).await,
            before + 1,
            "a reader sees the last commit"
        );
        let refused = dbs
            .with_read_session("acme", |s| {
                s.execute("DELETE FROM _objectos_meta", &[])
                    .map_err(|e| sql("acme", e))
            })
            .await;
        assert!(refused.is_err(), "readers are query_only");
        // Deleting the tenant closes its readers too: no -wal/-shm are left or re-created.
        dbs.delete("acme").await.unwrap();
        let path = dbs.path_of("acme").unwrap();
        for suffix in ["", "-wal", "-shm"] {
            assert!(
                !PathBuf::from(format!("{}{suffix}", path.display())).exists(),
                "{suffix}"
            );
        }
        assert_eq!(dbs.readers.len(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_connection_is_opened_while_a_database_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let dbs = LocalSqlite::with_options(dir.path(), 8, 0).unwrap();
        dbs.create("acme").await.unwrap();
        dbs.sync_system_schema("acme").await.unwrap();
        // A request holds the connection, so the delete waits for it before removing files.
        let held = dbs.connection("acme").unwrap();
        let holder = std::thread::spawn(move || {
            let _conn = held.lock().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(400));
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        let deleting = {
            let dbs = dbs.clone();
            tokio::spawn(async move { dbs.delete("acme").await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        // Mid-delete: the file still exists, but neither a writer nor a reader may open it.
        assert!(dbs.path_of("acme").unwrap().exists());
        assert!(matches!(
            dbs.connection("acme"),
            Err(TenantDbError::Missing(_))
        ));
        assert!(matches!(
            dbs.reader("acme", 0),
            Err(TenantDbError::Missing(_))
        ));
        holder.join().unwrap();
        deleting.await.unwrap().unwrap();
        assert!(!dbs.path_of("acme").unwrap().exists());
        // Afterwards the id can be created and opened again.
        dbs.create("acme").await.unwrap();
        assert!(dbs.connection("acme").is_ok());
    }

    #[tokio::test]
    async fn invalidate_closes_the_connection_and_the_next_request_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let dbs = LocalSqlite::with_options(dir.path(), 8, 0).unwrap();
        dbs.create("acme").await.unwrap();
        dbs.sync_system_schema("acme").await.unwrap();
        assert_eq!(TenantDatabases::cached_connections(&dbs), 1);
        let before = dbs.opens();
        dbs.invalidate("acme").await;
        dbs.invalidate("acme").await;
        assert_eq!(TenantDatabases::cached_connections(&dbs), 0);
        // Closed (the last WAL connection removes its -wal/-shm), so the files can go.
        let path = dbs.path_of("acme").unwrap();
        assert!(!PathBuf::from(format!("{}-wal", path.display())).exists());
        let copy = dir.path().join("acme.copy");
        std::fs::rename(&path, &copy).unwrap();
        assert!(matches!(
            dbs.connection("acme"),
            Err(TenantDbError::Missing(_))
        ));
        std::fs::rename(&copy, &path).unwrap();
        let version: String = dbs
            .with_session("acme", |s| {
                s.query_value(
                    "SELECT value FROM _objectos_meta WHERE key = 'schema_version'",
                    &[],
                )
                .map(|v| v.into_string().unwrap_or_default())
                .map_err(|e| sql("acme", e))
            })
            .await
            .unwrap();
        assert_eq!(version, "1");
        assert_eq!(dbs.opens(), before + 1, "reopened once");
        assert_eq!(dbs.cached_connections(), 1);
    }

    #[tokio::test]
    async fn idle_connections_expire_and_the_cap_holds() {
        let dir = tempfile::tempdir().unwrap();
        let dbs =
            LocalSqlite::with_cache_settings(dir.path(), 2, Some(Duration::from_millis(50)), 0)
                .unwrap();
        for id in ["a", "b", "c"] {
            dbs.create(id).await.unwrap();
            assert!(dbs.cached_connections() <= 2);
        }
        assert_eq!(dbs.cached_connections(), 2, "LRU cap");
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(dbs.sweep_expired_connections(), 2);
        assert_eq!(dbs.cached_connections(), 0);
        let before = dbs.opens();
        dbs.connection("a").unwrap();
        assert_eq!(dbs.opens(), before + 1, "an expired connection is reopened");
    }
}
