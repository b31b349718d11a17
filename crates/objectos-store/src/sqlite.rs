//! The embedded control store: one SQLite file in WAL mode, queried on blocking threads.

use std::path::Path;
use std::sync::{Arc, Mutex};

use objectos_spec::types::provisioning::{
    ProvisioningStepStatus, TenantPlan, TenantProvisioningStatus, TenantRegion,
};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::json;

use crate::dump::{ControlDump, SettingRecord, StepRow};
use crate::records::{
    ClaimedStep, DomainRecord, EventRecord, KeyRecord, KeyState, NewTenant, StepRecord,
    TenantFilter, TenantPage, TenantRecord, STEP_NAMES,
};
use crate::{ControlStore, FinishedStep, StoreError, StoreResult, TenantChange};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL UNIQUE,
    display_name TEXT,
    admin_email TEXT,
    plan TEXT NOT NULL,
    region TEXT NOT NULL,
    status TEXT NOT NULL,
    metadata TEXT,
    provider TEXT NOT NULL,
    connection_url TEXT NOT NULL,
    error TEXT,
    initial_key_id TEXT NOT NULL,
    initial_key_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    provisioned_at INTEGER,
    destroy_after INTEGER
);
CREATE INDEX IF NOT EXISTS tenants_status ON tenants(status, created_at);
CREATE INDEX IF NOT EXISTS tenants_plan ON tenants(plan, created_at);
CREATE INDEX IF NOT EXISTS tenants_created ON tenants(created_at);
CREATE TABLE IF NOT EXISTS steps (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL,
    started_at INTEGER,
    completed_at INTEGER,
    duration_ms INTEGER,
    duration_us INTEGER,
    error TEXT,
    retry_count INTEGER NOT NULL DEFAULT 0,
    lease_expires_at INTEGER,
    lease_owner TEXT,
    PRIMARY KEY (tenant_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_tenant ON events(tenant_id, seq);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    state TEXT NOT NULL DEFAULT 'active'
);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys(tenant_id, created_at);
CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS domains (
    domain TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS domains_tenant ON domains(tenant_id);
";

const TENANT_COLUMNS: &str = "id, org_id, display_name, admin_email, plan, region, status, metadata, provider, \
     connection_url, error, initial_key_id, initial_key_hash, created_at, updated_at, provisioned_at, destroy_after";

/// The embedded control store.
#[derive(Clone)]
pub struct SqliteControlStore {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteControlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteControlStore")
    }
}

impl SqliteControlStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> StoreResult<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            objectos_sql::files::create_private_dir(parent)?;
        }
        // It holds key hashes and tenant records: readable by the owner only (so are the
        // `-wal`/`-shm` files SQLite derives from it).
        objectos_sql::files::create_private_file(path)?;
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Every statement is `IF NOT EXISTS`, so running the schema on each open also adds tables
        // introduced after a store file was created (e.g. `domains`); new columns go in `migrate`.
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        // A background connection checkpoints passively, so when the writer's own automatic
        // checkpoint (every 1000 pages, the bound on the WAL) comes due, little is left to copy.
        let conn = Arc::new(Mutex::new(conn));
        start_checkpointer(path, Arc::downgrade(&conn));
        Ok(Self { conn })
    }

    /// Runs `f` with the connection on a blocking thread.
    async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A poisoned lock means a panic mid-query; SQLite rolled the transaction back, so the
            // connection itself is still consistent and safe to reuse.
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// Flushes the WAL into the main file (used before backups and at shutdown).
    pub async fn checkpoint(&self) -> StoreResult<()> {
        self.run(|conn| {
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
            Ok(())
        })
        .await
    }
}

impl SqliteControlStore {
    /// Every row of every table (see [`ControlDump`]).
    pub async fn dump(&self) -> StoreResult<ControlDump> {
        self.run(|conn| {
            let tx = conn.transaction()?;
            let tenants = tx
                .prepare(&format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY id"))?
                .query_map([], tenant_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(unwrap_corrupt)?;
            let steps = tx
                .prepare(&format!(
                    "SELECT {STEP_COLUMNS}, tenant_id FROM steps ORDER BY tenant_id, position, name"
                ))?
                .query_map([], |row| {
                    Ok(StepRow {
                        step: step_from_row(row)?,
                        tenant_id: row.get(11)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(unwrap_corrupt)?;
            let events = tx
                .prepare("SELECT seq, tenant_id, kind, data, at FROM events ORDER BY seq")?
                .query_map([], event_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(unwrap_corrupt)?;
            let keys = tx
                .prepare(&format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys ORDER BY key_id"
                ))?
                .query_map([], key_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(unwrap_corrupt)?;
            let domains = tx
                .prepare(&format!(
                    "SELECT {DOMAIN_COLUMNS} FROM domains ORDER BY domain"
                ))?
                .query_map([], domain_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let settings = tx
                .prepare("SELECT name, value FROM settings ORDER BY name")?
                .query_map([], |row| {
                    Ok(SettingRecord {
                        name: row.get(0)?,
                        value: row.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ControlDump {
                tenants,
                steps,
                events,
                keys,
                domains,
                settings,
            })
        })
        .await
    }
}

fn event_from_row(row: &Row<'_>) -> rusqlite::Result<EventRecord> {
    let data: String = row.get(3)?;
    Ok(EventRecord {
        seq: row.get(0)?,
        tenant_id: row.get(1)?,
        kind: row.get(2)?,
        data: serde_json::from_str(&data).map_err(|e| corrupt("events", "data", e.to_string()))?,
        at_ms: row.get(4)?,
    })
}

/// How often the background checkpointer folds the WAL into the database file.
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Checkpoints the WAL every [`CHECKPOINT_INTERVAL`] from its own connection (`PASSIVE`: never
/// waits for, or blocks, the writer) until the store is dropped. Under sustained writes a passive
/// checkpoint cannot finish on its own, so the writer keeps SQLite's automatic checkpoint as the
/// bound on the WAL; this thread only makes those cheap.
fn start_checkpointer(path: &Path, store: std::sync::Weak<Mutex<Connection>>) {
    let path = path.to_owned();
    let watched = store.clone();
    let spawned = std::thread::Builder::new()
        .name("objectos-store-checkpoint".to_owned())
        .spawn(move || {
            let Ok(conn) = Connection::open(&path) else {
                return;
            };
            let _ = conn.busy_timeout(std::time::Duration::from_millis(100));
            while watched.strong_count() > 0 {
                std::thread::sleep(CHECKPOINT_INTERVAL);
                // A busy or failed passive checkpoint is retried on the next tick.
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        });
    if let Err(e) = spawned {
        // Automatic checkpoints still bound the WAL; only their cost lands on commits.
        drop(store);
        eprintln!("objectos-store: no background checkpoint thread ({e})");
    }
}

/// Columns added after a table's first release, added in place to older stores.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("steps", "duration_us", "INTEGER"),
    ("steps", "lease_owner", "TEXT"),
];

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    for (table, column, ty) in ADDED_COLUMNS {
        let present: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
            [table, column],
            |r| r.get(0),
        )?;
        if !present {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}"))?;
        }
    }
    Ok(())
}

fn corrupt(
    table: &'static str,
    column: &'static str,
    detail: impl Into<String>,
) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(StoreError::Corrupt {
        table,
        column,
        detail: detail.into(),
    }))
}

fn parse_enum<T: serde::de::DeserializeOwned>(
    table: &'static str,
    column: &'static str,
    text: String,
) -> rusqlite::Result<T> {
    serde_json::from_value(serde_json::Value::String(text.clone()))
        .map_err(|_| corrupt(table, column, format!("unknown value '{text}'")))
}

fn wire<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

fn tenant_from_row(row: &Row<'_>) -> rusqlite::Result<TenantRecord> {
    Ok(TenantRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        display_name: row.get(2)?,
        admin_email: row.get(3)?,
        plan: parse_enum::<TenantPlan>("tenants", "plan", row.get(4)?)?,
        region: parse_enum::<TenantRegion>("tenants", "region", row.get(5)?)?,
        status: parse_enum::<TenantProvisioningStatus>("tenants", "status", row.get(6)?)?,
        metadata: row.get(7)?,
        provider: row.get(8)?,
        connection_url: row.get(9)?,
        error: row.get(10)?,
        initial_key_id: row.get(11)?,
        initial_key_hash: row.get(12)?,
        created_at_ms: row.get(13)?,
        updated_at_ms: row.get(14)?,
        provisioned_at_ms: row.get(15)?,
        destroy_after_ms: row.get(16)?,
    })
}

const STEP_COLUMNS: &str =
    "name, position, status, started_at, completed_at, duration_ms, error, retry_count, lease_expires_at, duration_us, lease_owner";

fn step_from_row(row: &Row<'_>) -> rusqlite::Result<StepRecord> {
    Ok(StepRecord {
        name: row.get(0)?,
        position: row.get(1)?,
        status: parse_enum::<ProvisioningStepStatus>("steps", "status", row.get(2)?)?,
        started_at_ms: row.get(3)?,
        completed_at_ms: row.get(4)?,
        duration_ms: row.get(5)?,
        error: row.get(6)?,
        retry_count: row.get(7)?,
        lease_expires_at_ms: row.get(8)?,
        duration_us: row.get(9)?,
        lease_owner: row.get(10)?,
    })
}

const KEY_COLUMNS: &str =
    "key_id, tenant_id, scope, hash, created_at, expires_at, revoked_at, state";

fn key_from_row(row: &Row<'_>) -> rusqlite::Result<KeyRecord> {
    let state: String = row.get(7)?;
    Ok(KeyRecord {
        key_id: row.get(0)?,
        tenant_id: row.get(1)?,
        scope: row.get(2)?,
        hash: row.get(3)?,
        created_at_ms: row.get(4)?,
        expires_at_ms: row.get(5)?,
        revoked_at_ms: row.get(6)?,
        state: KeyState::parse(&state)
            .ok_or_else(|| corrupt("api_keys", "state", state.clone()))?,
    })
}

const DOMAIN_COLUMNS: &str = "domain, tenant_id, created_at_ms";

fn domain_from_row(row: &Row<'_>) -> rusqlite::Result<DomainRecord> {
    Ok(DomainRecord {
        domain: row.get(0)?,
        tenant_id: row.get(1)?,
        created_at_ms: row.get(2)?,
    })
}

fn get_tenant(conn: &Connection, id: &str) -> rusqlite::Result<Option<TenantRecord>> {
    conn.query_row(
        &format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = ?1"),
        [id],
        tenant_from_row,
    )
    .optional()
}

fn get_step(conn: &Connection, id: &str, step: &str) -> rusqlite::Result<Option<StepRecord>> {
    conn.query_row(
        &format!("SELECT {STEP_COLUMNS} FROM steps WHERE tenant_id = ?1 AND name = ?2"),
        [id, step],
        step_from_row,
    )
    .optional()
}

fn record_event(
    tx: &Connection,
    tenant_id: &str,
    kind: &str,
    data: &serde_json::Value,
    at: i64,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO events (tenant_id, kind, data, at) VALUES (?1, ?2, ?3, ?4)",
        params![tenant_id, kind, data.to_string(), at],
    )?;
    Ok(())
}

fn step_event(step: &StepRecord) -> serde_json::Value {
    json!({
        "step": step.name,
        "status": step.status.as_str(),
        "startedAtMs": step.started_at_ms,
        "completedAtMs": step.completed_at_ms,
        "durationMs": step.duration_ms,
        "error": step.error,
        "retryCount": step.retry_count,
    })
}

/// Claims a step inside a transaction (see [`ControlStore::claim_step`]).
fn claim_in(
    tx: &Connection,
    id: &str,
    step: &str,
    owner: &str,
    lease_ms: i64,
) -> StoreResult<Option<ClaimedStep>> {
    // The store's clock, not the caller's: every lease is compared against one clock.
    let now = now_ms();
    let Some(current) = get_step(tx, id, step).map_err(unwrap_corrupt)? else {
        return Ok(None);
    };
    let retry = match current.status {
        ProvisioningStepStatus::Pending => false,
        ProvisioningStepStatus::Failed => true,
        ProvisioningStepStatus::Running
            if current.lease_expires_at_ms.is_none_or(|lease| lease <= now) =>
        {
            true
        }
        _ => return Ok(None),
    };
    tx.execute(
        "UPDATE steps SET status = 'running', started_at = ?3, completed_at = NULL, duration_ms = NULL, duration_us = NULL, \
         error = NULL, retry_count = retry_count + ?4, lease_expires_at = ?5, lease_owner = ?6 \
         WHERE tenant_id = ?1 AND name = ?2",
        params![id, step, now, i64::from(retry), now.saturating_add(lease_ms), owner],
    )?;
    let claimed = get_step(tx, id, step).map_err(unwrap_corrupt)?;
    if let Some(claimed) = &claimed {
        record_event(tx, id, "step", &step_event(claimed), now)?;
    }
    Ok(claimed.map(|step| ClaimedStep { step, retry }))
}

/// Records a step's outcome inside a transaction (see [`ControlStore::finish_step`]).
fn finish_in(
    tx: &Connection,
    id: &str,
    step: &str,
    status: ProvisioningStepStatus,
    error: Option<String>,
    now_ms: i64,
    duration_us: Option<i64>,
) -> StoreResult<StepRecord> {
    tx.execute(
        "UPDATE steps SET status = ?3, completed_at = ?4, \
         started_at = COALESCE(started_at, ?4), duration_ms = ?4 - COALESCE(started_at, ?4), \
         error = ?5, lease_expires_at = NULL, lease_owner = NULL, duration_us = ?6 \
         WHERE tenant_id = ?1 AND name = ?2",
        params![id, step, status.as_str(), now_ms, error, duration_us],
    )?;
    let finished = get_step(tx, id, step)
        .map_err(unwrap_corrupt)?
        .ok_or_else(|| StoreError::Worker(format!("step {step} of {id} vanished")))?;
    record_event(tx, id, "step", &step_event(&finished), now_ms)?;
    Ok(finished)
}

/// Maps the wrapped [`StoreError`] of a conversion failure back out of rusqlite's error.
fn unwrap_corrupt(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::ToSqlConversionFailure(inner) => match inner.downcast::<StoreError>() {
            Ok(store) => *store,
            Err(other) => rusqlite::Error::ToSqlConversionFailure(other).into(),
        },
        other => other.into(),
    }
}

impl ControlStore for SqliteControlStore {
    async fn create_tenant(&self, new: NewTenant) -> StoreResult<(TenantRecord, bool)> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let existing = tx
                .query_row(
                    &format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE org_id = ?1 OR id = ?2"),
                    params![new.org_id, new.id],
                    tenant_from_row,
                )
                .optional()
                .map_err(unwrap_corrupt)?;
            if let Some(tenant) = existing {
                if tenant.org_id != new.org_id {
                    return Err(StoreError::TenantIdTaken {
                        tenant_id: tenant.id,
                        org_id: tenant.org_id,
                    });
                }
                return Ok((tenant, false));
            }
            tx.execute(
                &format!("INSERT INTO tenants ({TENANT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, ?11, ?12, ?13, ?13, NULL, NULL)"),
                params![
                    new.id,
                    new.org_id,
                    new.display_name,
                    new.admin_email,
                    wire(&new.plan),
                    wire(&new.region),
                    wire(&TenantProvisioningStatus::Provisioning),
                    new.metadata,
                    new.provider,
                    new.connection_url,
                    new.initial_key_id,
                    new.initial_key_hash,
                    new.now_ms,
                ],
            )?;
            for (position, name) in STEP_NAMES.iter().enumerate() {
                tx.execute(
                    "INSERT INTO steps (tenant_id, name, position, status) VALUES (?1, ?2, ?3, 'pending')",
                    params![new.id, name, position as i64],
                )?;
            }
            record_event(&tx, &new.id, "status", &json!({"status": "provisioning"}), new.now_ms)?;
            let tenant = get_tenant(&tx, &new.id).map_err(unwrap_corrupt)?;
            tx.commit()?;
            tenant
                .map(|t| (t, true))
                .ok_or_else(|| StoreError::Worker("inserted tenant vanished".to_owned()))
        })
        .await
    }

    async fn tenant(&self, id: &str) -> StoreResult<Option<TenantRecord>> {
        let id = id.to_owned();
        self.run(move |conn| get_tenant(conn, &id).map_err(unwrap_corrupt))
            .await
    }

    async fn list_tenants(&self, filter: TenantFilter) -> StoreResult<TenantPage> {
        self.run(move |conn| {
            let status = filter.status.map(|s| s.as_str());
            let plan = filter.plan.map(|p| p.as_str());
            let condition = "(?1 IS NULL OR status = ?1) AND (?2 IS NULL OR plan = ?2)";
            let total: i64 = conn.query_row(
                &format!("SELECT COUNT(*) FROM tenants WHERE {condition}"),
                params![status, plan],
                |r| r.get(0),
            )?;
            let mut stmt = conn.prepare(&format!(
                "SELECT {TENANT_COLUMNS} FROM tenants WHERE {condition} ORDER BY created_at DESC, id LIMIT ?3 OFFSET ?4"
            ))?;
            let offset = i64::try_from(filter.offset).unwrap_or(i64::MAX);
            let tenants = stmt
                .query_map(params![status, plan, filter.limit, offset], tenant_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(unwrap_corrupt)?;
            Ok(TenantPage {
                tenants,
                total: u64::try_from(total).unwrap_or(0),
            })
        })
        .await
    }

    async fn tenants_with_status(
        &self,
        statuses: &[TenantProvisioningStatus],
    ) -> StoreResult<Vec<TenantRecord>> {
        let wanted: Vec<&'static str> = statuses.iter().map(|s| s.as_str()).collect();
        self.run(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {TENANT_COLUMNS} FROM tenants WHERE status IN (SELECT value FROM json_each(?1)) ORDER BY created_at"
            ))?;
            let list = serde_json::to_string(&wanted).unwrap_or_else(|_| "[]".to_owned());
            let rows = stmt
                .query_map([list], tenant_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(unwrap_corrupt)?;
            Ok(rows)
        })
        .await
    }

    async fn transition(
        &self,
        id: &str,
        from: &[TenantProvisioningStatus],
        to: TenantProvisioningStatus,
        change: TenantChange,
    ) -> StoreResult<Option<(TenantRecord, bool)>> {
        let id = id.to_owned();
        let from = from.to_vec();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let Some(tenant) = get_tenant(&tx, &id).map_err(unwrap_corrupt)? else {
                return Ok(None);
            };
            if !from.contains(&tenant.status) {
                return Ok(Some((tenant, false)));
            }
            let now = now_ms();
            let error = change.error.clone().unwrap_or(tenant.error.clone());
            let destroy_after = change.destroy_after_ms.unwrap_or(tenant.destroy_after_ms);
            let provisioned_at = change.provisioned_at_ms.or(tenant.provisioned_at_ms);
            tx.execute(
                "UPDATE tenants SET status = ?2, error = ?3, destroy_after = ?4, provisioned_at = ?5, updated_at = ?6 WHERE id = ?1",
                params![id, to.as_str(), error, destroy_after, provisioned_at, now],
            )?;
            let mut data = json!({"status": to.as_str(), "from": tenant.status.as_str()});
            if let Some(message) = &error {
                if to == TenantProvisioningStatus::Failed {
                    data["error"] = json!(message);
                }
            }
            record_event(&tx, &id, "status", &data, now)?;
            let after = get_tenant(&tx, &id).map_err(unwrap_corrupt)?;
            tx.commit()?;
            Ok(after.map(|t| (t, true)))
        })
        .await
    }

    async fn set_plan(&self, id: &str, plan: TenantPlan) -> StoreResult<Option<TenantRecord>> {
        let id = id.to_owned();
        self.run(move |conn| {
            conn.execute(
                "UPDATE tenants SET plan = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, plan.as_str(), now_ms()],
            )?;
            get_tenant(conn, &id).map_err(unwrap_corrupt)
        })
        .await
    }

    async fn delete_tenant(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM events WHERE tenant_id = ?1", [&id])?;
            tx.execute("DELETE FROM api_keys WHERE tenant_id = ?1", [&id])?;
            tx.execute("DELETE FROM steps WHERE tenant_id = ?1", [&id])?;
            tx.execute("DELETE FROM domains WHERE tenant_id = ?1", [&id])?;
            let removed = tx.execute("DELETE FROM tenants WHERE id = ?1", [&id])?;
            tx.commit()?;
            Ok(removed > 0)
        })
        .await
    }

    async fn steps(&self, id: &str) -> StoreResult<Vec<StepRecord>> {
        let id = id.to_owned();
        self.run(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {STEP_COLUMNS} FROM steps WHERE tenant_id = ?1 ORDER BY position"
            ))?;
            let rows = stmt
                .query_map([id], step_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(unwrap_corrupt)?;
            Ok(rows)
        })
        .await
    }

    async fn claim_step(
        &self,
        id: &str,
        step: &str,
        owner: &str,
        lease_ms: i64,
    ) -> StoreResult<Option<ClaimedStep>> {
        let (id, step, owner) = (id.to_owned(), step.to_owned(), owner.to_owned());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let claimed = claim_in(&tx, &id, &step, &owner, lease_ms)?;
            tx.commit()?;
            Ok(claimed)
        })
        .await
    }

    async fn renew_lease(
        &self,
        id: &str,
        step: &str,
        owner: &str,
        lease_ms: i64,
    ) -> StoreResult<bool> {
        let (id, step, owner) = (id.to_owned(), step.to_owned(), owner.to_owned());
        self.run(move |conn| {
            let renewed = conn.execute(
                "UPDATE steps SET lease_expires_at = ?4 \
                 WHERE tenant_id = ?1 AND name = ?2 AND status = 'running' AND lease_owner = ?3",
                params![id, step, owner, now_ms().saturating_add(lease_ms)],
            )?;
            Ok(renewed == 1)
        })
        .await
    }

    async fn expire_leases_of(&self, owner: &str) -> StoreResult<u64> {
        let owner = owner.to_owned();
        self.run(move |conn| {
            let expired = conn.execute(
                "UPDATE steps SET lease_expires_at = ?2 \
                 WHERE status = 'running' AND lease_owner = ?1",
                params![owner, now_ms()],
            )?;
            Ok(u64::try_from(expired).unwrap_or(u64::MAX))
        })
        .await
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
        let (id, step) = (id.to_owned(), step.to_owned());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let finished = finish_in(&tx, &id, &step, status, error, now_ms, duration_us)?;
            tx.commit()?;
            Ok(finished)
        })
        .await
    }

    async fn finish_and_claim(
        &self,
        id: &str,
        finished: FinishedStep,
        next: &str,
        owner: &str,
        lease_ms: i64,
    ) -> StoreResult<(StepRecord, Option<ClaimedStep>)> {
        let (id, next, owner) = (id.to_owned(), next.to_owned(), owner.to_owned());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let done = finish_in(
                &tx,
                &id,
                &finished.name,
                finished.status,
                finished.error,
                finished.now_ms,
                finished.duration_us,
            )?;
            let claimed = claim_in(&tx, &id, &next, &owner, lease_ms)?;
            tx.commit()?;
            Ok((done, claimed))
        })
        .await
    }

    async fn events(&self, id: &str, after_seq: i64) -> StoreResult<Vec<EventRecord>> {
        let id = id.to_owned();
        self.run(move |conn| {
            let mut stmt =
                conn.prepare("SELECT seq, tenant_id, kind, data, at FROM events WHERE tenant_id = ?1 AND seq > ?2 ORDER BY seq")?;
            let rows = stmt
                .query_map(params![id, after_seq], event_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(unwrap_corrupt)?;
            Ok(rows)
        })
        .await
    }

    async fn insert_key(&self, key: KeyRecord) -> StoreResult<()> {
        self.run(move |conn| {
            conn.execute(
                &format!("INSERT OR IGNORE INTO api_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![
                    key.key_id,
                    key.tenant_id,
                    key.scope,
                    key.hash,
                    key.created_at_ms,
                    key.expires_at_ms,
                    key.revoked_at_ms,
                    key.state.as_str()
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn key(&self, key_id: &str) -> StoreResult<Option<KeyRecord>> {
        let key_id = key_id.to_owned();
        self.run(move |conn| {
            conn.query_row(
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_id = ?1"),
                [key_id],
                key_from_row,
            )
            .optional()
            .map_err(unwrap_corrupt)
        })
        .await
    }

    async fn keys(&self, tenant_id: &str) -> StoreResult<Vec<KeyRecord>> {
        let tenant_id = tenant_id.to_owned();
        self.run(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = ?1 ORDER BY created_at, key_id"
            ))?;
            let rows = stmt
                .query_map([tenant_id], key_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(unwrap_corrupt)?;
            Ok(rows)
        })
        .await
    }

    async fn revoke_key(&self, tenant_id: &str, key_id: &str, now_ms: i64) -> StoreResult<bool> {
        let (tenant_id, key_id) = (tenant_id.to_owned(), key_id.to_owned());
        self.run(move |conn| {
            let changed = conn.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?3) WHERE tenant_id = ?1 AND key_id = ?2",
                params![tenant_id, key_id, now_ms],
            )?;
            Ok(changed > 0)
        })
        .await
    }

    async fn set_keys_state(&self, tenant_id: &str, state: KeyState) -> StoreResult<()> {
        let tenant_id = tenant_id.to_owned();
        self.run(move |conn| {
            conn.execute(
                "UPDATE api_keys SET state = ?2 WHERE tenant_id = ?1 AND revoked_at IS NULL",
                params![tenant_id, state.as_str()],
            )?;
            Ok(())
        })
        .await
    }

    async fn insert_domain(&self, record: DomainRecord) -> StoreResult<()> {
        self.run(move |conn| {
            let inserted = conn.execute(
                &format!("INSERT INTO domains ({DOMAIN_COLUMNS}) VALUES (?1, ?2, ?3) ON CONFLICT(domain) DO NOTHING"),
                params![record.domain, record.tenant_id, record.created_at_ms],
            )?;
            if inserted == 0 {
                return Err(StoreError::DuplicateDomain(record.domain));
            }
            Ok(())
        })
        .await
    }

    async fn domain(&self, domain: &str) -> StoreResult<Option<DomainRecord>> {
        let domain = domain.to_owned();
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {DOMAIN_COLUMNS} FROM domains WHERE domain = ?1"),
                    [domain],
                    domain_from_row,
                )
                .optional()?)
        })
        .await
    }

    async fn domains(&self, tenant_id: Option<&str>) -> StoreResult<Vec<DomainRecord>> {
        let tenant_id = tenant_id.map(str::to_owned);
        self.run(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {DOMAIN_COLUMNS} FROM domains WHERE ?1 IS NULL OR tenant_id = ?1 ORDER BY domain"
            ))?;
            let rows = stmt
                .query_map([tenant_id], domain_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn delete_domain(&self, domain: &str) -> StoreResult<bool> {
        let domain = domain.to_owned();
        self.run(move |conn| {
            let removed = conn.execute("DELETE FROM domains WHERE domain = ?1", [domain])?;
            Ok(removed > 0)
        })
        .await
    }

    async fn setting(&self, name: &str) -> StoreResult<Option<String>> {
        let name = name.to_owned();
        self.run(move |conn| {
            Ok(conn
                .query_row("SELECT value FROM settings WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()?)
        })
        .await
    }

    async fn delete_setting(&self, name: &str) -> StoreResult<()> {
        let name = name.to_owned();
        self.run(move |conn| {
            conn.execute("DELETE FROM settings WHERE name = ?1", [name])?;
            Ok(())
        })
        .await
    }

    async fn set_setting(&self, name: &str, value: &str) -> StoreResult<()> {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                params![name, value],
            )?;
            Ok(())
        })
        .await
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_from_before_a_column_was_added_are_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&SCHEMA.replace("    duration_us INTEGER,\n", ""))
                .unwrap();
        }
        let _store = SqliteControlStore::open(&path).unwrap();
        drop(_store);
        let conn = Connection::open(&path).unwrap();
        let present: bool = conn
            .query_row("SELECT EXISTS (SELECT 1 FROM pragma_table_info('steps') WHERE name = 'duration_us')", [], |r| r.get(0))
            .unwrap();
        assert!(present);
    }
}

#[cfg(test)]
mod checkpoint_tests {
    use super::*;

    #[tokio::test]
    async fn the_wal_is_folded_back_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.db");
        let store = SqliteControlStore::open(&path).unwrap();
        for i in 0..300 {
            store
                .set_setting(&format!("k{i}"), &"x".repeat(1000))
                .await
                .unwrap();
        }
        let wal = dir.path().join("control.db-wal");
        let mut folded = false;
        for _ in 0..40 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            // A passive checkpoint copies the WAL into the main file; the main file then holds the rows.
            if std::fs::metadata(&path).unwrap().len() > 200_000 {
                folded = true;
                break;
            }
        }
        assert!(
            folded,
            "main file never received the WAL's pages (wal: {:?})",
            std::fs::metadata(&wal).map(|m| m.len())
        );
    }
}

/// The domain table's arrival in older stores (the domain methods themselves are covered by the
/// backend-neutral suite in `tests/store.rs`).
#[cfg(test)]
mod domain_tests {
    use super::*;

    fn mapping(domain: &str, tenant_id: &str, at: i64) -> DomainRecord {
        DomainRecord {
            domain: domain.to_owned(),
            tenant_id: tenant_id.to_owned(),
            created_at_ms: at,
        }
    }

    #[tokio::test]
    async fn stores_from_before_domains_get_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.db");
        drop(SqliteControlStore::open(&path).unwrap());
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("DROP TABLE domains;").unwrap();
            let present: bool = conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'domains')",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(!present);
        }
        let store = SqliteControlStore::open(&path).unwrap();
        store
            .insert_domain(mapping("shop.example.com", "acme", 10))
            .await
            .unwrap();
        assert_eq!(store.domains(Some("acme")).await.unwrap().len(), 1);
        drop(store);
        let conn = Connection::open(&path).unwrap();
        let indexed: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'domains_tenant')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(indexed);
    }
}
