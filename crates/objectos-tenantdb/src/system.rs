//! objectos' own tables inside every tenant database.

use objectos_sql::SqlResult;

use crate::{DbUsage, Dialect, Session, SessionExt, SqlValue};

/// Version of the system tables; stored in `_objectos_meta` under `schema_version`.
pub const SYSTEM_SCHEMA_VERSION: u32 = 1;

/// The system tables, created with `IF NOT EXISTS` so re-running is harmless.
///
/// - `_objectos_meta`: key/value facts about the database (schema version, tenant id).
/// - `_objectos_deployments`: the deployment ledger; each row holds the canonical bundle, the model
///   it produced and the hash chain (`hash` = SHA-256 over `prev_hash` and the bundle checksum),
///   committed in the same transaction as its DDL.
/// - `_objectos_metadata`: the deployed metadata (objects, views, flows, permissions) by type and name.
pub const SYSTEM_TABLES: &str = "
CREATE TABLE IF NOT EXISTS _objectos_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _objectos_deployments (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    parent_id TEXT,
    status TEXT NOT NULL,
    checksum TEXT NOT NULL,
    prev_hash TEXT,
    hash TEXT NOT NULL,
    bundle TEXT NOT NULL,
    model TEXT NOT NULL,
    record TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS _objectos_metadata (
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    deployment_id TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (type, name)
) WITHOUT ROWID;
";

/// The PostgreSQL version of [`SYSTEM_TABLES`]: the same tables, columns and meaning, in the
/// tenant's schema (unqualified names resolve there), created by and so owned by the tenant's
/// role; `seq` is a `BIGINT`, and the text columns hold what they hold on SQLite.
pub const PG_SYSTEM_TABLES: &str = "
CREATE TABLE IF NOT EXISTS _objectos_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS _objectos_deployments (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL UNIQUE,
    parent_id TEXT,
    status TEXT NOT NULL,
    checksum TEXT NOT NULL,
    prev_hash TEXT,
    hash TEXT NOT NULL,
    bundle TEXT NOT NULL,
    model TEXT NOT NULL,
    record TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS _objectos_metadata (
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    deployment_id TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (type, name)
);
";

/// The system tables' DDL in `dialect`.
pub fn system_tables(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => SYSTEM_TABLES,
        Dialect::Postgres => PG_SYSTEM_TABLES,
    }
}

/// Creates or completes the system tables and writes the `_objectos_meta` facts
/// (`schema_version`, `tenant_id`), in one write transaction: re-running is a no-op.
pub(crate) fn sync_system_tables(s: &dyn Session, tenant_id: &str) -> SqlResult<()> {
    s.transaction(|| {
        s.execute_batch(system_tables(s.dialect()))?;
        s.execute(
            "INSERT INTO _objectos_meta (key, value) VALUES ('schema_version', $1), ('tenant_id', $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[SYSTEM_SCHEMA_VERSION.to_string().into(), tenant_id.into()],
        )?;
        Ok(())
    })
}

/// Objects, records, largest object and deployments of `day` (`YYYY-MM-DD`) read through a
/// session; `storage_bytes` is left at 0 for the caller. A database without system tables counts
/// nothing, and an object whose table cannot be counted counts 0.
pub(crate) fn usage_counts(s: &dyn Session, day: &str) -> SqlResult<DbUsage> {
    let has_ledger = match s.dialect() {
        Dialect::Sqlite => s.exists(
            "SELECT 1 FROM sqlite_master WHERE name = '_objectos_metadata'",
            &[],
        )?,
        Dialect::Postgres => s.exists(
            "SELECT 1 WHERE to_regclass('_objectos_metadata') IS NOT NULL",
            &[],
        )?,
    };
    if !has_ledger {
        return Ok(DbUsage::default());
    }
    let objects: Vec<String> = s
        .query(
            "SELECT name FROM _objectos_metadata WHERE type = 'object'",
            &[],
        )?
        .into_iter()
        .filter_map(|row| row.into_iter().next().and_then(SqlValue::into_string))
        .collect();
    let mut usage = DbUsage {
        objects: objects.len() as u64,
        ..DbUsage::default()
    };
    for object in &objects {
        // Object names are validated snake_case identifiers; quoted all the same.
        let sql = format!("SELECT COUNT(*) FROM \"{}\"", object.replace('"', "\"\""));
        let n = s.query_count(&sql, &[]).unwrap_or(0);
        usage.records += n;
        usage.largest_object_records = usage.largest_object_records.max(n);
    }
    usage.deployments_today = s.query_count(
        "SELECT COUNT(*) FROM _objectos_deployments WHERE substr(created_at, 1, 10) = $1",
        &[day.into()],
    )?;
    Ok(usage)
}
