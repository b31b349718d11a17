//! objectos' own tables inside every tenant database.

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
