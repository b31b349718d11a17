//! The dedicated tier ([`PgIsolation::Database`](super::PgIsolation::Database)): a database per
//! tenant (see the parent module's documentation, "Dedicated tier").

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use objectos_sql::{quote_ident, quote_literal};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{fnv64, pg, PgSettings, PostgresTenants, COMMENT_PREFIX};
use crate::system::PG_SYSTEM_TABLES;
use crate::{TenantDbError, TenantDbResult, SYSTEM_SCHEMA_VERSION};

/// The schema of the template that becomes each tenant's schema.
const TEMPLATE_SCHEMA: &str = "objectos_tenant";

/// How a deleted tenant's database is marked until it is dropped; the tenant id follows.
const DELETED_PREFIX: &str = "objectos deleted tenant ";

/// How the template is marked once prepared.
const TEMPLATE_COMMENT: &str = "objectos template";

/// The per-tenant pools and the bound on sessions of the dedicated tier.
#[derive(Debug)]
pub(super) struct Dedicated {
    pools: Mutex<Pools>,
    /// One permit per running session (and per create or delete): [`PgSettings::max_connections`].
    permits: Arc<Semaphore>,
    /// Tenants being deleted: no pool is opened for them meanwhile.
    deleting: Mutex<HashSet<String>>,
    /// Held by the purge under way: purges run one at a time (so they take one turn at most).
    purging: tokio::sync::Mutex<()>,
    /// The template is ready (checked or prepared once per process).
    template_ready: tokio::sync::OnceCell<()>,
    settings: PgSettings,
}

#[derive(Debug, Default)]
struct Pools {
    open: HashMap<String, (PgPool, u64)>,
    tick: u64,
}

impl Dedicated {
    pub(super) fn new(settings: &PgSettings) -> Self {
        Self {
            pools: Mutex::default(),
            permits: Arc::new(Semaphore::new(settings.max_connections.max(1) as usize)),
            deleting: Mutex::default(),
            purging: tokio::sync::Mutex::new(()),
            template_ready: tokio::sync::OnceCell::new(),
            settings: settings.clone(),
        }
    }

    fn pools(&self) -> MutexGuard<'_, Pools> {
        self.pools.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn deleting(&self) -> MutexGuard<'_, HashSet<String>> {
        self.deleting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits (at most the acquire timeout) for a session's turn.
    pub(super) async fn permit(&self, tenant_id: &str) -> TenantDbResult<OwnedSemaphorePermit> {
        let wait = Arc::clone(&self.permits).acquire_owned();
        match tokio::time::timeout(self.settings.acquire_timeout, wait).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(super::sql(
                tenant_id,
                objectos_sql::SqlError::new(
                    objectos_sql::ErrorKind::Connection,
                    "timed out waiting for a tenant database connection",
                ),
            )),
        }
    }

    /// The pool of a tenant's database (opened lazily; the least recently used one is closed
    /// when too many are open).
    pub(super) fn pool(
        &self,
        tenant_id: &str,
        database: &str,
        options: &PgConnectOptions,
    ) -> TenantDbResult<PgPool> {
        if self.deleting().contains(tenant_id) {
            return Err(TenantDbError::Missing(tenant_id.to_owned()));
        }
        let mut pools = self.pools();
        pools.tick += 1;
        let tick = pools.tick;
        if let Some((pool, used)) = pools.open.get_mut(tenant_id) {
            *used = tick;
            return Ok(pool.clone());
        }
        if pools.open.len() >= self.settings.max_tenant_pools.max(1) {
            let oldest = pools
                .open
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(id, _)| id.clone());
            if let Some((old, _)) = oldest.and_then(|id| pools.open.remove(&id)) {
                // Closing waits for the connections in use to come back.
                tokio::spawn(async move { old.close().await });
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(self.settings.tenant_pool_connections.max(1))
            .min_connections(0)
            .acquire_timeout(self.settings.acquire_timeout)
            .test_before_acquire(false)
            .before_acquire(super::ping_if_idle)
            .max_lifetime(self.settings.max_lifetime)
            .idle_timeout(self.settings.idle_timeout)
            .connect_lazy_with(options.clone().database(database));
        pools
            .open
            .insert(tenant_id.to_owned(), (pool.clone(), tick));
        Ok(pool)
    }

    /// Forgets the pool of a tenant, if open, and closes it in the background (once the
    /// connections in use come back).
    pub(super) fn close_pool(&self, tenant_id: &str) {
        let pool = self.pools().open.remove(tenant_id);
        if let Some((pool, _)) = pool {
            tokio::spawn(async move { pool.close().await });
        }
    }

    /// Connections open in the tenants' pools.
    pub(super) fn connections(&self) -> usize {
        self.pools()
            .open
            .values()
            .map(|(p, _)| p.size() as usize)
            .sum()
    }
}

/// Marks a tenant as being deleted until dropped.
struct DeletingGuard<'a> {
    dedicated: &'a Dedicated,
    id: String,
}

impl Drop for DeletingGuard<'_> {
    fn drop(&mut self) {
        self.dedicated.deleting().remove(&self.id);
    }
}

/// Runs raw SQL (quoted identifiers and literals built from validated names) on `conn`.
async fn run(conn: &mut PgConnection, tenant_id: &str, sql: String) -> TenantDbResult<()> {
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(|e| pg(tenant_id, e))
}

/// A database's existence and comment.
async fn database_state(
    conn: &mut PgConnection,
    tenant_id: &str,
    name: &str,
) -> TenantDbResult<Option<Option<String>>> {
    let row: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
    )
    .bind(name)
    .fetch_optional(conn)
    .await
    .map_err(|e| pg(tenant_id, e))?;
    Ok(row.map(|(comment,)| comment))
}

async fn role_exists(conn: &mut PgConnection, tenant_id: &str, role: &str) -> TenantDbResult<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(role)
        .fetch_one(conn)
        .await
        .map_err(|e| pg(tenant_id, e))
}

impl PostgresTenants {
    fn dedicated(&self) -> TenantDbResult<&Dedicated> {
        self.dedicated
            .as_deref()
            .ok_or_else(|| TenantDbError::Config("not a dedicated-database provider".into()))
    }

    /// The database of a tenant in the dedicated tier.
    pub fn database_name(&self, tenant_id: &str) -> String {
        self.role_name(tenant_id)
    }

    fn template_name(&self) -> String {
        format!("{}template_v{SYSTEM_SCHEMA_VERSION}", self.role_prefix)
    }

    fn template_role(&self) -> String {
        format!("{}template", self.role_prefix)
    }

    /// A connection of its own to `database` (the admin one when `None`): dropping it ends the
    /// server session, and with it any session-level lock it took.
    async fn own_connection(
        &self,
        tenant_id: &str,
        database: Option<&str>,
    ) -> TenantDbResult<PgConnection> {
        let options = match database {
            Some(db) => (*self.options).clone().database(db),
            None => (*self.options).clone(),
        };
        let connect = PgConnection::connect_with(&options);
        match tokio::time::timeout(self.acquire_timeout, connect).await {
            Ok(conn) => conn.map_err(|e| pg(tenant_id, e)),
            Err(_) => Err(TenantDbError::Config(format!(
                "timed out connecting to {}",
                database.unwrap_or(&self.database)
            ))),
        }
    }

    /// An admin connection holding the session-level advisory lock `key`.
    async fn locked_admin(&self, tenant_id: &str, key: i64) -> TenantDbResult<PgConnection> {
        let mut conn = self.own_connection(tenant_id, None).await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(key)
            .execute(&mut conn)
            .await
            .map_err(|e| pg(tenant_id, e))?;
        Ok(conn)
    }

    /// Prepares the template database once (see the module documentation).
    async fn ensure_template(&self, d: &Dedicated) -> TenantDbResult<()> {
        d.template_ready
            .get_or_try_init(|| async {
                let (tmpl, trole) = (self.template_name(), self.template_role());
                let key = fnv64(&format!("objectos-template:{tmpl}")) as i64;
                let mut admin = self.locked_admin("*", key).await?;
                let state = database_state(&mut admin, "*", &tmpl).await?;
                if state == Some(Some(TEMPLATE_COMMENT.to_owned())) {
                    return Ok(());
                }
                let (q_tmpl, q_trole) = (quote_ident(&tmpl), quote_ident(&trole));
                if state.is_some() {
                    // Left half-prepared by an interrupted run: made again.
                    run(
                        &mut admin,
                        "*",
                        format!("DROP DATABASE {q_tmpl} WITH (FORCE)"),
                    )
                    .await?;
                }
                if !role_exists(&mut admin, "*", &trole).await? {
                    run(&mut admin, "*", format!("CREATE ROLE {q_trole} NOLOGIN")).await?;
                }
                run(&mut admin, "*", format!("GRANT {q_trole} TO CURRENT_USER")).await?;
                // Alone: CREATE DATABASE cannot run in a transaction, implicit ones included.
                run(&mut admin, "*", format!("CREATE DATABASE {q_tmpl}")).await?;
                let mut conn = self.own_connection("*", Some(&tmpl)).await?;
                run(
                    &mut conn,
                    "*",
                    format!(
                        "REVOKE ALL ON DATABASE {q_tmpl} FROM PUBLIC; \
                         CREATE SCHEMA {schema} AUTHORIZATION {q_trole}; \
                         SET ROLE {q_trole}; SET search_path TO {schema}; {PG_SYSTEM_TABLES}; \
                         RESET ROLE; RESET search_path",
                        schema = quote_ident(TEMPLATE_SCHEMA)
                    ),
                )
                .await?;
                let _ = conn.close().await;
                run(
                    &mut admin,
                    "*",
                    format!(
                        "ALTER DATABASE {q_tmpl} WITH ALLOW_CONNECTIONS false; \
                         COMMENT ON DATABASE {q_tmpl} IS {}",
                        quote_literal(TEMPLATE_COMMENT)
                    ),
                )
                .await?;
                let _ = admin.close().await;
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// `create` in the dedicated tier.
    pub(super) async fn create_database(&self, tenant_id: &str) -> TenantDbResult<()> {
        let d = self.dedicated()?;
        let _turn = d.permit(tenant_id).await?;
        self.ensure_template(d).await?;
        let (db, role, schema) = (
            self.database_name(tenant_id),
            self.role_name(tenant_id),
            Self::schema_name(tenant_id),
        );
        let ours = self.marker(tenant_id);
        let mut admin = self
            .locked_admin(tenant_id, Self::ddl_lock_key(tenant_id))
            .await?;
        let state = database_state(&mut admin, tenant_id, &db).await?;
        match &state {
            Some(Some(comment)) if *comment == ours => return Ok(()),
            Some(Some(_)) => {
                return Err(TenantDbError::Config(format!(
                    "database {db} exists but is not objectos' database of tenant {tenant_id}: \
                     left alone"
                )))
            }
            _ => {}
        }
        let (q_db, q_role) = (quote_ident(&db), quote_ident(&role));
        if !role_exists(&mut admin, tenant_id, &role).await? {
            run(
                &mut admin,
                tenant_id,
                format!("CREATE ROLE {q_role} NOLOGIN"),
            )
            .await?;
        }
        run(
            &mut admin,
            tenant_id,
            format!("GRANT {q_role} TO CURRENT_USER"),
        )
        .await?;
        if state.is_none() {
            run(
                &mut admin,
                tenant_id,
                format!(
                    "CREATE DATABASE {q_db} TEMPLATE {}",
                    quote_ident(&self.template_name())
                ),
            )
            .await?;
        }
        // Make the clone the tenant's, in one transaction (re-run from the start if interrupted).
        let mut conn = self.own_connection(tenant_id, Some(&db)).await?;
        let has_template_schema: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
                .bind(TEMPLATE_SCHEMA)
                .fetch_one(&mut conn)
                .await
                .map_err(|e| pg(tenant_id, e))?;
        let q_schema = quote_ident(&schema);
        let mut sql = format!("BEGIN; REVOKE ALL ON DATABASE {q_db} FROM PUBLIC; ");
        if has_template_schema {
            sql.push_str(&format!(
                "ALTER SCHEMA {} RENAME TO {q_schema}; ",
                quote_ident(TEMPLATE_SCHEMA)
            ));
        } else {
            sql.push_str(&format!(
                "CREATE SCHEMA IF NOT EXISTS {q_schema} AUTHORIZATION {q_role}; "
            ));
        }
        sql.push_str(&format!(
            "REASSIGN OWNED BY {} TO {q_role}; ALTER SCHEMA {q_schema} OWNER TO {q_role}; COMMIT",
            quote_ident(&self.template_role())
        ));
        run(&mut conn, tenant_id, sql).await?;
        let _ = conn.close().await;
        run(
            &mut admin,
            tenant_id,
            format!("COMMENT ON DATABASE {q_db} IS {}", quote_literal(&ours)),
        )
        .await?;
        let _ = admin.close().await;
        Ok(())
    }

    /// Ends the sessions on `database` and waits (at most the acquire timeout) until they are
    /// gone: `pg_terminate_backend` only signals them.
    async fn end_sessions(
        &self,
        admin: &mut PgConnection,
        tenant_id: &str,
        database: &str,
    ) -> TenantDbResult<()> {
        let deadline = tokio::time::Instant::now() + self.acquire_timeout;
        loop {
            let left: i64 = sqlx::query_scalar(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
            )
            .bind(database)
            .fetch_one(&mut *admin)
            .await
            .map_err(|e| pg(tenant_id, e))?;
            if left == 0 || tokio::time::Instant::now() >= deadline {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `delete` in the dedicated tier: renamed away at once, dropped in the background.
    pub(super) async fn delete_database(&self, tenant_id: &str) -> TenantDbResult<()> {
        let d = self.dedicated()?;
        d.deleting().insert(tenant_id.to_owned());
        let _deleting = DeletingGuard {
            dedicated: d,
            id: tenant_id.to_owned(),
        };
        d.close_pool(tenant_id);
        let db = self.database_name(tenant_id);
        {
            let _turn = d.permit(tenant_id).await?;
            let mut admin = self
                .locked_admin(tenant_id, Self::ddl_lock_key(tenant_id))
                .await?;
            match database_state(&mut admin, tenant_id, &db).await? {
                None => {}
                Some(Some(comment)) if comment != self.marker(tenant_id) => {
                    return Err(TenantDbError::Config(format!(
                        "database {db} is not objectos' database of tenant {tenant_id}: left alone"
                    )))
                }
                Some(_) => {
                    // Unique per deletion, so a tenant can be deleted again before a purge.
                    let nanos = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|t| t.as_nanos())
                        .unwrap_or_default();
                    let trash = format!(
                        "{}x_{:016x}",
                        self.role_prefix,
                        fnv64(&format!("{tenant_id}:{nanos}"))
                    );
                    let rename = format!(
                        "ALTER DATABASE {} RENAME TO {}",
                        quote_ident(&db),
                        quote_ident(&trash)
                    );
                    // Renaming needs the database unused: its sessions (ours, other
                    // processes') are ended first, and waited for (a few times if they return).
                    let mut renamed = Err(TenantDbError::Worker("not renamed".into()));
                    for _ in 0..5 {
                        self.end_sessions(&mut admin, tenant_id, &db).await?;
                        renamed = run(&mut admin, tenant_id, rename.clone()).await;
                        if renamed.is_ok() {
                            break;
                        }
                    }
                    renamed?;
                    run(
                        &mut admin,
                        tenant_id,
                        format!(
                            "COMMENT ON DATABASE {} IS {}",
                            quote_ident(&trash),
                            quote_literal(&format!("{DELETED_PREFIX}{tenant_id}"))
                        ),
                    )
                    .await?;
                }
            }
            let _ = admin.close().await;
        }
        let this = self.clone();
        tokio::spawn(async move {
            // Retried by the next purge (at the latest when a provider connects) if it fails.
            let _ = this.purge_deleted().await;
        });
        Ok(())
    }

    /// Drops the databases of deleted tenants, and the role of each such tenant that has not
    /// been created again; returns how many databases were dropped. `delete` starts it in the
    /// background; a dedicated-tier provider also runs it when it connects.
    pub async fn purge_deleted(&self) -> TenantDbResult<usize> {
        let d = self.dedicated()?;
        let _one_at_a_time = d.purging.lock().await;
        let trash: Vec<(String, String)> = sqlx::query_as(
            "SELECT datname::text, shobj_description(oid, 'pg_database') FROM pg_database \
             WHERE starts_with(datname, $1) AND starts_with(shobj_description(oid, 'pg_database'), $2)",
        )
        .bind(&self.role_prefix)
        .bind(DELETED_PREFIX)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| pg("*", e))?;
        let mut dropped = 0;
        for (name, comment) in trash {
            let Some(tenant_id) = comment.strip_prefix(DELETED_PREFIX) else {
                continue;
            };
            let _turn = d.permit(tenant_id).await?;
            let mut admin = self
                .locked_admin(tenant_id, Self::ddl_lock_key(tenant_id))
                .await?;
            run(
                &mut admin,
                tenant_id,
                format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_ident(&name)
                ),
            )
            .await?;
            dropped += 1;
            // The role goes too, unless the tenant exists again (or other deleted copies still
            // hold objects it owns: the last purge drops it).
            let role = self.role_name(tenant_id);
            let recreated = database_state(&mut admin, tenant_id, &self.database_name(tenant_id))
                .await?
                .is_some();
            let pending: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_database WHERE starts_with(datname, $1) \
                 AND shobj_description(oid, 'pg_database') = $2)",
            )
            .bind(&self.role_prefix)
            .bind(&comment)
            .fetch_one(&mut admin)
            .await
            .map_err(|e| pg(tenant_id, e))?;
            if !recreated && !pending && role_exists(&mut admin, tenant_id, &role).await? {
                run(
                    &mut admin,
                    tenant_id,
                    format!("DROP ROLE {}", quote_ident(&role)),
                )
                .await?;
            }
            let _ = admin.close().await;
        }
        Ok(dropped)
    }

    /// `exists` in the dedicated tier.
    pub(super) async fn database_exists(&self, tenant_id: &str) -> TenantDbResult<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_database \
             WHERE datname = $1 AND shobj_description(oid, 'pg_database') = $2)",
        )
        .bind(self.database_name(tenant_id))
        .bind(self.marker(tenant_id))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| pg(tenant_id, e))
    }

    /// `size_bytes` in the dedicated tier: the whole database.
    pub(super) async fn database_size(&self, tenant_id: &str) -> TenantDbResult<u64> {
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT pg_database_size(oid) FROM pg_database \
             WHERE datname = $1 AND shobj_description(oid, 'pg_database') = $2",
        )
        .bind(self.database_name(tenant_id))
        .bind(self.marker(tenant_id))
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| pg(tenant_id, e))?;
        size.map(|s| u64::try_from(s).unwrap_or(0))
            .ok_or_else(|| TenantDbError::Missing(tenant_id.to_owned()))
    }

    /// `list` in the dedicated tier: `(database, comment)` of the marked databases.
    pub(super) async fn marked_databases(&self) -> TenantDbResult<Vec<(String, String)>> {
        sqlx::query_as(
            "SELECT datname::text, shobj_description(oid, 'pg_database') FROM pg_database \
             WHERE starts_with(datname, $1) AND starts_with(shobj_description(oid, 'pg_database'), $2)",
        )
        .bind(&self.role_prefix)
        .bind(COMMENT_PREFIX)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| pg("*", e))
    }
}
