//! The ledger (`_objectos_deployments`) and the metadata registry (`_objectos_metadata`).
//!
//! A ledger row is written in the deployment's transaction: `seq` = head + 1, `parent_id` = head,
//! `prev_hash` = the head's `hash`, `hash` = SHA-256 (hex) of `prev_hash || checksum || model`
//! (`prev_hash` empty for the first), `bundle` and `model` in canonical JSON, `record` the
//! [`DeploymentRecord`] JSON.

use objectos_spec::canonical::canonical_json;
use objectos_spec::ObjectDefinition;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{sql_err, DeploymentRecord, ValidatedBundle};
use crate::error::{CoreError, CoreResult};

/// A ledger row, decoded.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// Position.
    pub seq: u64,
    /// Chain hash.
    pub hash: String,
    /// Bundle checksum.
    pub checksum: String,
    /// The model it deployed.
    pub model: Vec<ObjectDefinition>,
    /// The bundle as sent, canonical JSON.
    pub bundle: String,
    /// Its record.
    pub record: DeploymentRecord,
}

/// What a new ledger row needs besides the record.
pub(crate) struct Entry {
    /// Position.
    pub seq: u64,
    /// The head's hash.
    pub prev_hash: Option<String>,
    /// Canonical model JSON.
    pub model: String,
    /// Canonical bundle JSON.
    pub bundle: String,
}

/// The chain hash of a row.
pub(crate) fn chain_hash(prev_hash: Option<&str>, checksum: &str, model: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.unwrap_or("").as_bytes());
    hasher.update(checksum.as_bytes());
    hasher.update(model.as_bytes());
    hex::encode(hasher.finalize())
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> CoreError {
    CoreError::Conflict {
        code: "ledger_corrupt",
        message: format!("the deployment ledger is unreadable ({what}): {e}"),
        details: Value::Null,
    }
}

const COLUMNS: &str = "seq, hash, checksum, model, bundle, record";

fn decode(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(i64, String, String, String, String, String)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn typed(raw: (i64, String, String, String, String, String)) -> CoreResult<Row> {
    let (seq, hash, checksum, model, bundle, record) = raw;
    Ok(Row {
        seq: u64::try_from(seq).unwrap_or(0),
        hash,
        checksum,
        model: serde_json::from_str(&model).map_err(|e| corrupt("model", e))?,
        bundle,
        record: serde_json::from_str(&record).map_err(|e| corrupt("record", e))?,
    })
}

/// The head (highest `seq`), if any deployment was made.
pub(crate) fn head(conn: &Connection) -> CoreResult<Option<Row>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM _objectos_deployments ORDER BY seq DESC LIMIT 1"),
        [],
        decode,
    )
    .optional()
    .map_err(sql_err)?
    .map(typed)
    .transpose()
}

/// The row of deployment `id`.
pub(crate) fn row(conn: &Connection, id: &str) -> CoreResult<Option<Row>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM _objectos_deployments WHERE id = ?1"),
        [id],
        decode,
    )
    .optional()
    .map_err(sql_err)?
    .map(typed)
    .transpose()
}

/// Every recorded deployment, newest first.
pub(crate) fn list(conn: &Connection) -> CoreResult<Vec<DeploymentRecord>> {
    let mut stmt = conn
        .prepare("SELECT record FROM _objectos_deployments ORDER BY seq DESC")
        .map_err(sql_err)?;
    let texts = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(sql_err)?;
    texts
        .iter()
        .map(|t| serde_json::from_str(t).map_err(|e| corrupt("record", e)))
        .collect()
}

/// Deployments recorded on the UTC day `day` (`YYYY-MM-DD`).
pub(crate) fn deployments_on(conn: &Connection, day: &str) -> CoreResult<u64> {
    let n: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM _objectos_deployments WHERE substr(created_at, 1, 10) = ?1",
            [day],
            |r| r.get(0),
        )
        .map_err(sql_err)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Inserts the ledger row of `record`.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    record: &DeploymentRecord,
    entry: &Entry,
) -> rusqlite::Result<()> {
    let hash = chain_hash(entry.prev_hash.as_deref(), &record.checksum, &entry.model);
    let record_json = serde_json::to_string(record)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    tx.execute(
        "INSERT INTO _objectos_deployments \
         (id, seq, parent_id, status, checksum, prev_hash, hash, bundle, model, record, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            record.id,
            i64::try_from(entry.seq).unwrap_or(i64::MAX),
            record.parent_id,
            record.status.as_str(),
            record.checksum,
            entry.prev_hash,
            hash,
            entry.bundle,
            entry.model,
            record_json,
            record.created_at,
        ],
    )?;
    Ok(())
}

/// Replaces the registered metadata with the bundle's: objects, views, flows and permissions.
pub(crate) fn register_metadata(
    tx: &Transaction<'_>,
    validated: &ValidatedBundle,
    deployment_id: &str,
    now: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM _objectos_metadata WHERE type IN ('object', 'view', 'flow', 'permission')",
        [],
    )?;
    let mut insert = tx.prepare(
        "INSERT INTO _objectos_metadata (type, name, definition, deployment_id, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let bundle = &validated.bundle;
    for object in &bundle.objects {
        let definition = canonical_json(&serde_json::to_value(object).unwrap_or(Value::Null));
        insert.execute(params![
            "object",
            object.name,
            definition,
            deployment_id,
            now
        ])?;
    }
    for (kind, entries) in [
        ("view", &bundle.views),
        ("flow", &bundle.flows),
        ("permission", &bundle.permissions),
    ] {
        for entry in entries {
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let definition = canonical_json(&Value::Object(entry.clone()));
            insert.execute(params![kind, name, definition, deployment_id, now])?;
        }
    }
    Ok(())
}
