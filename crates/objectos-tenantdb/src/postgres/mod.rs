//! Tenant databases in PostgreSQL: one schema per tenant in one configured database, on one
//! shared, bounded pool of connections (the `postgres` provider); optionally, a database per
//! tenant instead (the dedicated tier, below).
//!
//! # Isolation
//!
//! A tenant is a schema and a role:
//!
//! - the schema, `t_<id>` (`-` written `_`), or `h_<first 44 characters>_<16 hex digits of a
//!   hash of the id>` for ids too long for PostgreSQL's 63-byte names (the two forms can never
//!   name the same schema); its comment, `objectos tenant <id>` (then ` of <owner>` when
//!   [`PgSettings::owner`] is set, as the server sets it), marks it as this installation's (only such
//!   schemas are listed or said to exist, and no other schema is ever touched: a schema of a
//!   tenant's name without it makes `create` and `delete` fail rather than adopt or drop it);
//! - its `NOLOGIN` role, named [`objectos_sql::role_prefix`] of the database (so providers on
//!   different databases of one server never share a role) followed by the same `t_`/`h_` form
//!   (the hashed form keeping 32 characters of the id), which owns the schema and everything in
//!   it. The pool's login role is made a member of every tenant role.
//!
//! Every session of a tenant is pinned to it ([`objectos_sql::PgTarget`]): `SET ROLE` to the
//! tenant's role and `SET search_path` to its schema, both reset before the connection returns to
//! the pool. Unqualified names resolve in the tenant's schema, and the role's privileges refuse
//! everything else: a statement naming another tenant's schema, even schema-qualified, fails with
//! a privilege error; catalog reads work (names of other schemas are visible in `pg_catalog`, as
//! they are to any role), but no data of another tenant is readable (`pg_stats` only shows the
//! statistics of tables the role may read). This is defence in depth against a bug in the SQL
//! objectos writes, not a sandbox for arbitrary SQL: the login role stays the session user, which
//! could `RESET ROLE` (objectos never writes `SET ROLE`/`RESET ROLE` into a tenant's statements).
//!
//! In the schema tier, creating and deleting a tenant (schema, role, comment) each run in one
//! transaction under an
//! advisory lock of that tenant, so concurrent or repeated calls converge and a crash leaves
//! either all or nothing: a tenant's role exists exactly when its schema does. Deleting waits
//! for the tenant's open transactions (at most [`PgSettings::lock_timeout`], then fails as busy
//! and can be retried).
//!
//! # Writers, readers and limits
//!
//! [`TenantDatabases::with_session`] sessions carry the tenant's writer lock key: their
//! [`Session::begin`] takes `pg_advisory_xact_lock(key)` right after `BEGIN`, so write
//! transactions of one tenant run one at a time (as SQLite's `BEGIN IMMEDIATE` makes them: the
//! engine relies on it for `MAX(..) + 1` autonumbers), across every process using the database,
//! while other tenants' writers never wait for them. Statements run outside a transaction are not
//! serialized (each is atomic on its own). [`TenantDatabases::with_read_session`] sessions have
//! `default_transaction_read_only` on: they refuse writes, take no lock and run in parallel with
//! the writer.
//!
//! Everything is bounded: the pool holds at most [`PgSettings::max_connections`]; a session
//! waits at most [`PgSettings::acquire_timeout`] for a connection (then fails with a connection
//! error); each statement runs at most [`PgSettings::statement_timeout`], and waits at most
//! [`PgSettings::lock_timeout`] for a lock, the writer lock included (then fails as busy, which
//! the engine may retry). Connections are recycled after [`PgSettings::max_lifetime`] and closed
//! after [`PgSettings::idle_timeout`] unused.
//!
//! # Dedicated tier
//!
//! With [`PgIsolation::Database`], each tenant gets a database of its own instead of a schema
//! (for tenants that need it; optional):
//!
//! - The configured database is the *admin* database: the provider creates, lists and drops the
//!   tenants' databases from it (under the same per-tenant advisory locks as the schema tier, on
//!   a connection of their own since `CREATE DATABASE` cannot run in a transaction).
//! - The template, `<role prefix>template_v<system schema version>`, is prepared once: a schema
//!   `objectos_tenant` holding the system tables, owned by the `NOLOGIN` role
//!   `<role prefix>template`; it then refuses connections (so cloning it never finds it busy).
//! - A tenant's database is named like its role (`<role prefix>t_<id>`, hashed to fit), cloned
//!   from the template; in it the prepared schema becomes the tenant's schema (the same name as
//!   in the schema tier) and everything the template role owned passes to the tenant's role.
//!   `CONNECT` is revoked from `PUBLIC`. Its comment, the same mark as a schema's, set last, marks it
//!   complete: re-running `create` finishes a database an interrupted run left unmarked.
//! - Sessions are pinned exactly as in the schema tier (role, search path, writer lock), on a
//!   pool of the tenant's database of at most [`PgSettings::tenant_pool_connections`]; at most
//!   [`PgSettings::max_tenant_pools`] such pools are open (the least recently used is closed),
//!   and at most [`PgSettings::max_connections`] sessions run at once across all tenants (a
//!   session waits up to [`PgSettings::acquire_timeout`] for its turn). A `create`, `delete` or
//!   purge step takes one such turn too, and uses at most two short-lived connections of its own.
//!   So the server sees at most `max_connections` (the admin pool, for catalog reads) plus
//!   `max_tenant_pools × tenant_pool_connections` (idle ones close after
//!   [`PgSettings::idle_timeout`]) plus two per `create`/`delete` in flight.
//! - `delete` renames the database out of the way at once (its connections are ended first) and
//!   marks it `objectos deleted tenant <id>`; the slow part, `DROP DATABASE … WITH (FORCE)` and
//!   dropping the role, runs in the background, one purge at a time
//!   ([`PostgresTenants::purge_deleted`], also run when the provider connects, so a purge
//!   interrupted by a crash is finished later).
//!
//! # Backups
//!
//! [`TenantDatabases::backup`] writes one JSON document, read in one `REPEATABLE READ READ ONLY`
//! transaction as the tenant's role (a consistent snapshot, taken while writers go on):
//!
//! ```json
//! {"format": "objectos-pg-backup/1", "tenantId": "acme", "schema": "t_acme",
//!  "tables": [{"name": "_objectos_meta", "columns": ["key", "value"],
//!              "rows": [["schema_version", "1"], ["tenant_id", "acme"]]}]}
//! ```
//!
//! Tables are the schema's ordinary tables, sorted by name; `columns` are in table order and each
//! row is an array of values in that order, as PostgreSQL's `row_to_json` writes them: numbers
//! and booleans as JSON numbers and booleans, `json`/`jsonb` as nested JSON, text, dates and
//! instants as strings (`timestamptz` in ISO 8601 with its offset), `bytea` as `"\\x<hex>"`, NULL
//! as `null`. The file is written next to `dest` and renamed into place, so `dest` is either the
//! previous file or a complete backup.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

mod dedicated;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dedicated::Dedicated;
use objectos_sql::{quote_ident, quote_literal, ErrorKind, PgSession, PgTarget, SchemaGeneration};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::AssertSqlSafe;
use tokio::runtime::Handle;

use crate::local::{io, sql};
use crate::system::{sync_system_tables, usage_counts};
use crate::{
    validate_tenant_id, DbUsage, Dialect, Session, SqlValue, TenantDatabases, TenantDbError,
    TenantDbResult,
};

/// The `format` of the backups this provider writes.
pub const PG_BACKUP_FORMAT: &str = "objectos-pg-backup/1";

/// How a tenant's schema comment starts; the tenant id follows.
const COMMENT_PREFIX: &str = "objectos tenant ";

/// PostgreSQL's longest identifier, in bytes.
const MAX_IDENT: usize = 63;

/// Rows fetched per round trip by a backup.
const BACKUP_BATCH: usize = 500;

/// Where each tenant's tables live.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PgIsolation {
    /// A schema per tenant in the configured database, on one shared pool (the default).
    #[default]
    Schema,
    /// A database per tenant, cloned from a prepared template, dropped in the background (the
    /// dedicated tier: see the `postgres` module documentation, "Dedicated tier").
    Database,
}

/// PostgreSQL's `synchronous_commit` levels (see decision 0012 for what each risks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynchronousCommit {
    /// A commit waits for its WAL to be flushed (and replicated, as the server is configured).
    On,
    /// A commit returns before its WAL is flushed: a crash of the PostgreSQL server or of the
    /// machine may lose the last commits (up to three `wal_writer_delay`s), never corrupt data.
    Off,
    /// Waits for the local flush only, not for synchronous standbys.
    Local,
    /// Waits for synchronous standbys to receive (not flush) the WAL.
    RemoteWrite,
    /// Waits for synchronous standbys to apply the WAL.
    RemoteApply,
}

impl SynchronousCommit {
    /// Every level, by its PostgreSQL name.
    pub const ALL: [Self; 5] = [
        Self::On,
        Self::Off,
        Self::Local,
        Self::RemoteWrite,
        Self::RemoteApply,
    ];

    /// The level's name in PostgreSQL (`on`, `off`, `local`, `remote_write`, `remote_apply`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::On => "on",
            Self::Off => "off",
            Self::Local => "local",
            Self::RemoteWrite => "remote_write",
            Self::RemoteApply => "remote_apply",
        }
    }
}

impl std::str::FromStr for SynchronousCommit {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|level| level.as_str() == text)
            .ok_or_else(|| {
                format!("'{text}'; expected on, off, local, remote_write or remote_apply")
            })
    }
}

/// Settings of the `postgres` provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgSettings {
    /// The database holding the tenants' schemas (`postgres://user:password@host:port/db`); its
    /// user is the login role, which must be able to create schemas in it and to create roles.
    pub url: String,
    /// Connections the shared pool holds at most (default 16).
    pub max_connections: u32,
    /// Connections the pool keeps open even when idle (default 0).
    pub min_connections: u32,
    /// How long a session waits for a free connection before failing (default 5 s).
    pub acquire_timeout: Duration,
    /// Connections are closed and replaced after this long (default 30 min; `None`: never).
    pub max_lifetime: Option<Duration>,
    /// Idle connections are closed after this long (default 10 min; `None`: never).
    pub idle_timeout: Option<Duration>,
    /// The longest a statement may run, the server's `statement_timeout` (default 60 s; `None`:
    /// the server's own setting).
    pub statement_timeout: Option<Duration>,
    /// The longest a statement waits for a lock, the server's `lock_timeout`, including a writer
    /// waiting for the tenant's writer lock (default 10 s; `None`: the server's own setting).
    pub lock_timeout: Option<Duration>,
    /// The server's `synchronous_commit` for objectos' sessions (`None`: the server's own
    /// setting, `on` by default): `off` makes a commit return before its WAL reaches the disk,
    /// the durability of objectos' SQLite (decision 0012).
    pub synchronous_commit: Option<SynchronousCommit>,
    /// A schema (default) or a database per tenant.
    pub isolation: PgIsolation,
    /// Dedicated tier: connections of each tenant database's pool at most (default 4).
    pub tenant_pool_connections: u32,
    /// Dedicated tier: tenant database pools open at most, the least recently used closed
    /// first (default 64).
    pub max_tenant_pools: usize,
    /// The objectos installation these tenants belong to (the server sets its control store's
    /// id): marks read `objectos tenant <id> of <owner>`, so installations sharing one PostgreSQL
    /// database never list, adopt or delete each other's tenants. `None`: unowned marks.
    pub owner: Option<String>,
}

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            url: "postgres://127.0.0.1:5432/objectos".to_owned(),
            max_connections: 16,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            statement_timeout: Some(Duration::from_secs(60)),
            lock_timeout: Some(Duration::from_secs(10)),
            synchronous_commit: None,
            isolation: PgIsolation::Schema,
            tenant_pool_connections: 4,
            max_tenant_pools: 64,
            owner: None,
        }
    }
}

/// Tenant databases as schemas of one PostgreSQL database, or as databases of their own in the
/// dedicated tier (see the module documentation).
#[derive(Debug, Clone)]
pub struct PostgresTenants {
    /// The pool of the configured database (the tenants' schemas, or the admin database of the
    /// dedicated tier).
    pool: PgPool,
    /// How to connect (with the timeouts as startup options).
    options: Arc<PgConnectOptions>,
    acquire_timeout: Duration,
    /// `postgres://host:port`, without credentials.
    server_url: String,
    /// The configured database's name.
    database: String,
    /// [`objectos_sql::role_prefix`] of the configured database.
    role_prefix: String,
    /// The dedicated tier's state (`None` in the schema tier).
    dedicated: Option<Arc<Dedicated>>,
    /// [`PgSettings::owner`].
    owner: Option<Arc<str>>,
    /// Each tenant's schema generation: its sessions keep their statements prepared under it
    /// (see [`objectos_sql::PgSession::cache_statements`]). An entry is made by the tenant's
    /// first session and removed when the tenant is deleted.
    generations: Arc<Mutex<HashMap<String, SchemaGeneration>>>,
}

/// A pooled connection idle at least this long is pinged before it is handed out.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// The pools' test of a connection taken from them: a ping when it sat idle for
/// [`PING_IF_IDLE_FOR`] or more (after a server restart or an idle kill, those are the broken
/// ones), none when it was just used. sqlx's `test_before_acquire` pings on every acquire, a
/// round trip per session under load; a connection that broke within the second fails its
/// session's first statement instead, which takes another (see `PostgresTenants::session`).
pub(super) fn ping_if_idle(
    conn: &mut sqlx::PgConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, sqlx::Error>> + Send + '_>> {
    Box::pin(async move {
        if meta.idle_for >= PING_IF_IDLE_FOR {
            sqlx::Connection::ping(conn).await?;
        }
        Ok(true)
    })
}

/// FNV-1a, 64 bits: stable across builds and platforms (names and lock keys depend on it).
fn fnv64(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `<prefix>t_<id>` when it fits in 63 bytes, else `<prefix>h_<start of id>_<hash of id>`.
/// Tenant ids hold no `_`, so writing `-` as `_` is one-to-one, and `t_`/`h_` keep the two forms
/// apart.
fn fit_name(prefix: &str, tenant_id: &str) -> String {
    let body = tenant_id.replace('-', "_");
    if prefix.len() + 2 + body.len() <= MAX_IDENT {
        return format!("{prefix}t_{body}");
    }
    let keep = MAX_IDENT.saturating_sub(prefix.len() + 2 + 1 + 16);
    let start = body.get(..keep).unwrap_or(&body);
    format!("{prefix}h_{start}_{:016x}", fnv64(tenant_id))
}

fn pg(tenant_id: &str, e: sqlx::Error) -> TenantDbError {
    sql(tenant_id, objectos_sql::classify_postgres(e))
}

fn worker(e: tokio::task::JoinError) -> TenantDbError {
    TenantDbError::Worker(e.to_string())
}

impl PostgresTenants {
    /// Opens the pool on `settings.url` and checks that the database answers.
    pub async fn connect(settings: &PgSettings) -> TenantDbResult<Self> {
        if let Some(owner) = &settings.owner {
            let valid = !owner.is_empty()
                && owner.len() <= 64
                && owner
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(TenantDbError::Config(format!(
                    "owner {owner:?}: expected 1 to 64 letters, digits, '-' or '_'"
                )));
            }
        }
        let mut options: PgConnectOptions = settings
            .url
            .parse()
            .map_err(|e| TenantDbError::Config(format!("postgres URL: {e}")))?;
        let mut server = Vec::new();
        if let Some(t) = settings.statement_timeout {
            server.push(("statement_timeout", t.as_millis().to_string()));
        }
        if let Some(t) = settings.lock_timeout {
            server.push(("lock_timeout", t.as_millis().to_string()));
        }
        if let Some(level) = settings.synchronous_commit {
            server.push(("synchronous_commit", level.as_str().to_owned()));
        }
        if !server.is_empty() {
            options = options.options(server);
        }
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .min_connections(settings.min_connections.min(settings.max_connections))
            .acquire_timeout(settings.acquire_timeout)
            .test_before_acquire(false)
            .before_acquire(ping_if_idle)
            .max_lifetime(settings.max_lifetime)
            .idle_timeout(settings.idle_timeout)
            .connect_with(options.clone())
            .await
            .map_err(|e| pg("*", e))?;
        let database: String = sqlx::query_scalar("SELECT current_database()::text")
            .fetch_one(&pool)
            .await
            .map_err(|e| pg("*", e))?;
        let this = Self {
            server_url: format!("postgres://{}:{}", options.get_host(), options.get_port()),
            role_prefix: objectos_sql::role_prefix(&database),
            database,
            pool,
            options: Arc::new(options),
            acquire_timeout: settings.acquire_timeout,
            dedicated: (settings.isolation == PgIsolation::Database)
                .then(|| Arc::new(Dedicated::new(settings))),
            owner: settings.owner.as_deref().map(Arc::from),
            generations: Arc::default(),
        };
        if this.dedicated.is_some() {
            // Finish, in the background, what deletions interrupted by a crash left behind (a
            // purge that fails now is retried after the next delete or start).
            let purging = this.clone();
            tokio::spawn(async move {
                let _ = purging.purge_deleted().await;
            });
        }
        Ok(this)
    }

    /// The mark (schema or database comment) of tenant `id`'s schema or database:
    /// `objectos tenant <id>`, then ` of <owner>` when the provider has an owner.
    pub(super) fn marker(&self, tenant_id: &str) -> String {
        match &self.owner {
            Some(owner) => format!("{COMMENT_PREFIX}{tenant_id} of {owner}"),
            None => format!("{COMMENT_PREFIX}{tenant_id}"),
        }
    }

    /// The tenant a mark names, when it is this provider's (same owner, or both unowned).
    fn tenant_of_marker<'c>(&self, comment: &'c str) -> Option<&'c str> {
        let rest = comment.strip_prefix(COMMENT_PREFIX)?;
        match (rest.split_once(" of "), &self.owner) {
            (Some((id, owner)), Some(ours)) if owner == &**ours => Some(id),
            (None, None) => Some(rest),
            _ => None,
        }
    }

    /// The isolation of this provider's tenants.
    pub fn isolation(&self) -> PgIsolation {
        if self.dedicated.is_some() {
            PgIsolation::Database
        } else {
            PgIsolation::Schema
        }
    }

    /// The shared pool (of the configured database).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The name of the configured database (holding the tenants' schemas, or the dedicated
    /// tier's admin database).
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The schema of a tenant (see the module documentation).
    pub fn schema_name(tenant_id: &str) -> String {
        fit_name("", tenant_id)
    }

    /// The role of a tenant (see the module documentation).
    pub fn role_name(&self, tenant_id: &str) -> String {
        fit_name(&self.role_prefix, tenant_id)
    }

    /// The key of a tenant's writer lock (`pg_advisory_xact_lock`).
    pub fn writer_lock_key(tenant_id: &str) -> i64 {
        // Reinterpreting the 64 bits is the point: any key will do, as long as it is stable.
        fnv64(&format!("objectos-writer:{tenant_id}")) as i64
    }

    /// The key of the lock that serializes creating and deleting a tenant.
    fn ddl_lock_key(tenant_id: &str) -> i64 {
        fnv64(&format!("objectos-ddl:{tenant_id}")) as i64
    }

    /// What a session of the tenant is pinned to.
    fn target(&self, tenant_id: &str, read_only: bool) -> PgTarget {
        PgTarget {
            schema: Self::schema_name(tenant_id),
            role: Some(self.role_name(tenant_id)),
            read_only,
            lock_key: (!read_only).then(|| Self::writer_lock_key(tenant_id)),
        }
    }

    /// Closes the pool (waiting for connections in use to come back).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The tenant's schema generation (made on first use).
    fn generation(&self, tenant_id: &str) -> SchemaGeneration {
        // A poisoned lock only means another thread panicked while holding it; the map of
        // counters it guards is valid at every point.
        let mut map = self
            .generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(tenant_id.to_owned()).or_default().clone()
    }

    /// Forgets the tenant's schema generation: its next session starts a new one, so no statement
    /// prepared for the tenant's schema before is used again.
    fn forget_generation(&self, tenant_id: &str) {
        self.generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(tenant_id);
    }

    /// Runs `f` on a session pinned to the tenant, on a blocking thread.
    async fn session<T, F>(&self, tenant_id: &str, read_only: bool, f: F) -> TenantDbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Session) -> TenantDbResult<T> + Send + 'static,
    {
        validate_tenant_id(tenant_id)?;
        let target = self.target(tenant_id, read_only);
        let generation = self.generation(tenant_id);
        let (pool, turn) = match &self.dedicated {
            None => (self.pool.clone(), None),
            Some(d) => {
                let turn = d.permit(tenant_id).await?;
                let pool = d.pool(tenant_id, &self.database_name(tenant_id), &self.options)?;
                (pool, Some(turn))
            }
        };
        let dedicated = self.dedicated.clone();
        let acquire_error = move |id: &str, e: sqlx::Error| match pg(id, e) {
            TenantDbError::Sql { source, .. }
                if source.kind == ErrorKind::Missing && dedicated.is_some() =>
            {
                // No such database: its pool would only fail again.
                if let Some(d) = &dedicated {
                    d.close_pool(id);
                }
                TenantDbError::Missing(id.to_owned())
            }
            other => other,
        };
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| acquire_error(tenant_id, e))?;
        let handle = Handle::current();
        let id = tenant_id.to_owned();
        // Connections used within the last second are not pinged when taken (`ping_if_idle`):
        // the session's first statement is their test. One the server closed meanwhile fails it
        // as a connection error, is closed, and the next is taken; at most one attempt per
        // connection the pool can hold, plus a fresh one.
        let attempts = pool.options().get_max_connections() + 1;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let mut attempt = 1;
            let session = loop {
                match PgSession::open(handle.clone(), conn, Some(&target)) {
                    Ok(session) => break session,
                    Err(e) if e.kind == ErrorKind::Connection && attempt < attempts => {
                        attempt += 1;
                        conn = handle
                            .block_on(pool.acquire())
                            .map_err(|e| acquire_error(&id, e))?;
                    }
                    Err(e) if e.kind == ErrorKind::Missing => {
                        return Err(TenantDbError::Missing(id.clone()))
                    }
                    Err(e) => return Err(sql(&id, e)),
                }
            }
            .cache_statements(&target.schema, generation);
            f(&session)
        })
        .await
        .map_err(worker)?
    }

    /// Runs the statements `ddl` returns, in one transaction holding the tenant's DDL lock;
    /// `ddl` is told (as read under the lock) whether the tenant's role exists and what its
    /// schema is. A schema of the tenant's name that objectos did not make is never touched.
    async fn ddl(
        &self,
        tenant_id: &str,
        ddl: impl FnOnce(bool, bool) -> String,
    ) -> TenantDbResult<()> {
        let role = self.role_name(tenant_id);
        let schema = Self::schema_name(tenant_id);
        let err = |e: sqlx::Error| pg(tenant_id, e);
        let mut tx = self.pool.begin().await.map_err(err)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(Self::ddl_lock_key(tenant_id))
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        let (role_exists, schema, comment): (bool, Option<bool>, Option<String>) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1), \
                    (SELECT true FROM pg_namespace WHERE nspname = $2), \
                    (SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace \
                     WHERE nspname = $2)",
        )
        .bind(&role)
        .bind(&schema)
        .fetch_one(&mut *tx)
        .await
        .map_err(err)?;
        let schema_exists = schema.unwrap_or(false);
        if schema_exists && comment != Some(self.marker(tenant_id)) {
            return Err(TenantDbError::Config(format!(
                "schema {} exists but is not objectos' database of tenant {tenant_id}: left alone",
                Self::schema_name(tenant_id)
            )));
        }
        let statements = ddl(role_exists, schema_exists);
        if !statements.is_empty() {
            // Names are quoted identifiers built from validated ids; the comment is a quoted
            // literal of a validated id.
            sqlx::raw_sql(AssertSqlSafe(statements))
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    /// Writes the backup of a tenant to `file` (see the module documentation).
    fn write_backup(
        s: &dyn Session,
        tenant_id: &str,
        schema: &str,
        file: &Path,
    ) -> TenantDbResult<()> {
        let e_sql = |e| sql(tenant_id, e);
        let e_io = |e| io(tenant_id, e);
        let mut out = std::io::BufWriter::new(
            objectos_sql::files::open_private_file(file, true).map_err(e_io)?,
        );
        let json = |text: &str| serde_json::Value::from(text).to_string();
        write!(
            out,
            "{{\"format\":{},\"tenantId\":{},\"schema\":{},\"tables\":[",
            json(PG_BACKUP_FORMAT),
            json(tenant_id),
            json(schema)
        )
        .map_err(e_io)?;
        s.begin().map_err(e_sql)?;
        s.execute_batch("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .map_err(e_sql)?;
        let tables = s
            .query(
                "SELECT c.oid::bigint, c.relname::text FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY c.relname",
                &[schema.into()],
            )
            .map_err(e_sql)?;
        for (i, table) in tables.iter().enumerate() {
            let (Some(oid), Some(name)) = (
                table.first().and_then(SqlValue::as_i64),
                table.get(1).and_then(SqlValue::as_str),
            ) else {
                continue;
            };
            let columns: Vec<String> = s
                .query(
                    "SELECT attname::text FROM pg_attribute \
                     WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                    &[SqlValue::Integer(oid)],
                )
                .map_err(e_sql)?
                .into_iter()
                .filter_map(|row| row.into_iter().next().and_then(SqlValue::into_string))
                .collect();
            let columns_json = serde_json::Value::from(columns).to_string();
            write!(
                out,
                "{}{{\"name\":{},\"columns\":{columns_json},\"rows\":[",
                if i == 0 { "" } else { "," },
                json(name)
            )
            .map_err(e_io)?;
            // Each row as a JSON array of its values in column order, fetched through a cursor
            // so a large table never sits in memory whole.
            s.execute_batch(&format!(
                "DECLARE objectos_backup NO SCROLL CURSOR FOR \
                 SELECT COALESCE((SELECT json_agg(e.value ORDER BY e.n) \
                 FROM json_each(row_to_json(t)) WITH ORDINALITY AS e(key, value, n)), '[]')::text \
                 FROM {}.{} t",
                quote_ident(schema),
                quote_ident(name)
            ))
            .map_err(e_sql)?;
            let mut first = true;
            loop {
                let rows = s
                    .query(
                        &format!("FETCH FORWARD {BACKUP_BATCH} FROM objectos_backup"),
                        &[],
                    )
                    .map_err(e_sql)?;
                if rows.is_empty() {
                    break;
                }
                for row in rows {
                    let text = row
                        .into_iter()
                        .next()
                        .and_then(SqlValue::into_string)
                        .unwrap_or_else(|| "[]".to_owned());
                    if !first {
                        out.write_all(b",").map_err(e_io)?;
                    }
                    first = false;
                    out.write_all(text.as_bytes()).map_err(e_io)?;
                }
            }
            s.execute_batch("CLOSE objectos_backup").map_err(e_sql)?;
            out.write_all(b"]}").map_err(e_io)?;
        }
        s.commit().map_err(e_sql)?;
        out.write_all(b"]}\n").map_err(e_io)?;
        let file = out
            .into_inner()
            .map_err(|e| io(tenant_id, e.into_error()))?;
        file.sync_all().map_err(e_io)
    }
}

impl TenantDatabases for PostgresTenants {
    fn provider(&self) -> &'static str {
        "postgres"
    }

    fn connection_url(&self, tenant_id: &str) -> String {
        let database = match self.dedicated {
            None => self.database.clone(),
            Some(_) => self.database_name(tenant_id),
        };
        format!(
            "{}/{database}?schema={}",
            self.server_url,
            Self::schema_name(tenant_id)
        )
    }

    async fn create(&self, tenant_id: &str) -> TenantDbResult<()> {
        validate_tenant_id(tenant_id)?;
        if self.dedicated.is_some() {
            return self.create_database(tenant_id).await;
        }
        let schema = quote_ident(&Self::schema_name(tenant_id));
        let role = quote_ident(&self.role_name(tenant_id));
        let comment = quote_literal(&self.marker(tenant_id));
        self.ddl(tenant_id, |role_exists, schema_exists| {
            let mut sql = String::new();
            if !role_exists {
                sql.push_str(&format!("CREATE ROLE {role} NOLOGIN; "));
            }
            sql.push_str(&format!("GRANT {role} TO CURRENT_USER; "));
            if !schema_exists {
                sql.push_str(&format!(
                    "CREATE SCHEMA {schema} AUTHORIZATION {role}; \
                     COMMENT ON SCHEMA {schema} IS {comment}"
                ));
            }
            sql
        })
        .await
    }

    async fn sync_system_schema(&self, tenant_id: &str) -> TenantDbResult<()> {
        let id = tenant_id.to_owned();
        self.session(tenant_id, false, move |s| {
            sync_system_tables(s, &id).map_err(|e| sql(&id, e))
        })
        .await
    }

    async fn exists(&self, tenant_id: &str) -> TenantDbResult<bool> {
        validate_tenant_id(tenant_id)?;
        if self.dedicated.is_some() {
            return self.database_exists(tenant_id).await;
        }
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace \
             WHERE nspname = $1 AND obj_description(oid, 'pg_namespace') = $2)",
        )
        .bind(Self::schema_name(tenant_id))
        .bind(self.marker(tenant_id))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| pg(tenant_id, e))
    }

    async fn size_bytes(&self, tenant_id: &str) -> TenantDbResult<u64> {
        validate_tenant_id(tenant_id)?;
        if self.dedicated.is_some() {
            return self.database_size(tenant_id).await;
        }
        // Tables (with their indexes and TOAST), materialized views and sequences: each byte
        // counted once.
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT (SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint \
                     FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'm', 'S')) \
             FROM pg_namespace n \
             WHERE n.nspname = $1 AND obj_description(n.oid, 'pg_namespace') = $2",
        )
        .bind(Self::schema_name(tenant_id))
        .bind(self.marker(tenant_id))
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| pg(tenant_id, e))?;
        size.map(|s| u64::try_from(s).unwrap_or(0))
            .ok_or_else(|| TenantDbError::Missing(tenant_id.to_owned()))
    }

    async fn backup(&self, tenant_id: &str, dest: &Path) -> TenantDbResult<()> {
        validate_tenant_id(tenant_id)?;
        let (id, dest) = (tenant_id.to_owned(), dest.to_owned());
        let schema = Self::schema_name(tenant_id);
        self.session(tenant_id, true, move |s| {
            if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
                objectos_sql::files::create_private_dir(parent).map_err(|e| io(&id, e))?;
            }
            let mut partial = dest.clone().into_os_string();
            partial.push(".partial");
            let partial = std::path::PathBuf::from(partial);
            let written = Self::write_backup(s, &id, &schema, &partial)
                .and_then(|()| std::fs::rename(&partial, &dest).map_err(|e| io(&id, e)));
            if written.is_err() {
                let _ = crate::local::remove_if_present(&partial);
            }
            written
        })
        .await
    }

    async fn delete(&self, tenant_id: &str) -> TenantDbResult<()> {
        validate_tenant_id(tenant_id)?;
        self.forget_generation(tenant_id);
        if self.dedicated.is_some() {
            return self.delete_database(tenant_id).await;
        }
        let schema = quote_ident(&Self::schema_name(tenant_id));
        let role = quote_ident(&self.role_name(tenant_id));
        self.ddl(tenant_id, |role_exists, _| {
            let mut sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE; ");
            if role_exists {
                // Whatever else the role owns or was granted in this database goes with it.
                sql.push_str(&format!("DROP OWNED BY {role} CASCADE; DROP ROLE {role}"));
            }
            sql
        })
        .await
    }

    async fn usage(&self, tenant_id: &str, day: &str) -> TenantDbResult<DbUsage> {
        let storage_bytes = self.size_bytes(tenant_id).await?;
        let (id, day) = (tenant_id.to_owned(), day.to_owned());
        let counts = self
            .session(tenant_id, true, move |s| {
                usage_counts(s, &day).map_err(|e| sql(&id, e))
            })
            .await?;
        Ok(DbUsage {
            storage_bytes,
            ..counts
        })
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn with_session<T, F>(&self, tenant_id: &str, f: F) -> TenantDbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Session) -> TenantDbResult<T> + Send + 'static,
    {
        self.session(tenant_id, false, f).await
    }

    async fn with_read_session<T, F>(&self, tenant_id: &str, f: F) -> TenantDbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Session) -> TenantDbResult<T> + Send + 'static,
    {
        self.session(tenant_id, true, f).await
    }

    async fn invalidate(&self, tenant_id: &str) {
        // Statements prepared for the tenant are not used again. Schema tier: nothing else is
        // kept per tenant (pooled connections are reset after every session). Dedicated tier:
        // the tenant database's pool is let go.
        self.forget_generation(tenant_id);
        if let Some(d) = &self.dedicated {
            d.close_pool(tenant_id);
        }
    }

    fn cached_connections(&self) -> usize {
        self.pool.size() as usize + self.dedicated.as_ref().map_or(0, |d| d.connections())
    }

    async fn list(&self) -> TenantDbResult<Vec<String>> {
        let rows: Vec<(String, String)> = match &self.dedicated {
            Some(_) => self.marked_databases().await?,
            None => sqlx::query_as(
                "SELECT n.nspname::text, d.description FROM pg_namespace n \
                         JOIN pg_description d ON d.objoid = n.oid \
                              AND d.classoid = 'pg_namespace'::regclass AND d.objsubid = 0 \
                         WHERE starts_with(d.description, $1)",
            )
            .bind(COMMENT_PREFIX)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| pg("*", e))?,
        };
        let name_of = |id: &str| match self.dedicated {
            Some(_) => self.database_name(id),
            None => Self::schema_name(id),
        };
        let mut ids: Vec<String> = rows
            .into_iter()
            .filter_map(|(name, comment)| {
                let id = self.tenant_of_marker(&comment)?;
                // Only a schema (database) whose comment names the tenant it is named after is
                // ours.
                (validate_tenant_id(id).is_ok() && name_of(id) == name).then(|| id.to_owned())
            })
            .collect();
        ids.sort();
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_postgres_and_never_collide() {
        let prefix = objectos_sql::role_prefix("objectos");
        assert_eq!(fit_name("", "acme-corp"), "t_acme_corp");
        assert_eq!(fit_name(&prefix, "acme"), format!("{prefix}t_acme"));
        let long = "a".repeat(64);
        for p in ["", prefix.as_str()] {
            let name = fit_name(p, &long);
            assert!(name.len() <= MAX_IDENT, "{name}");
            assert_eq!(name, fit_name(p, &long), "deterministic");
            assert_ne!(name, fit_name(p, &"a".repeat(63)));
            assert!(name.starts_with(&format!("{p}h_")));
        }
        // An id that looks like a hashed name still gets the short form, which cannot match one.
        let tricky = format!("{}-{:016x}", "a".repeat(44), fnv64(&long));
        assert_ne!(fit_name("", &tricky), fit_name("", &long));
        assert_ne!(
            PostgresTenants::writer_lock_key("a"),
            PostgresTenants::writer_lock_key("b")
        );
    }
}
