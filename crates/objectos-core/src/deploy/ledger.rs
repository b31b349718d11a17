//! The ledger (`_objectos_deployments`) and the metadata registry (`_objectos_metadata`).
//!
//! A ledger row is written in the deployment's transaction: `seq` = head + 1, `parent_id` = head,
//! `prev_hash` = the head's `hash`, `hash` = SHA-256 (hex) of `prev_hash || checksum || model`
//! (`prev_hash` empty for the first), `bundle` and `model` in canonical JSON, `record` the
//! [`DeploymentRecord`] JSON.

use objectos_spec::canonical::canonical_json;
use objectos_spec::ObjectDefinition;
use objectos_sql::{Session, SessionExt, SqlError, SqlValue};
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

fn typed(row: objectos_sql::Row) -> CoreResult<Row> {
    let mut values = row.into_iter();
    let seq = values.next().map_or(0, |v| v.as_count());
    let mut text = |what: &str| {
        values
            .next()
            .and_then(SqlValue::into_string)
            .ok_or_else(|| corrupt(what, "missing"))
    };
    let (hash, checksum, model, bundle, record) = (
        text("hash")?,
        text("checksum")?,
        text("model")?,
        text("bundle")?,
        text("record")?,
    );
    Ok(Row {
        seq,
        hash,
        checksum,
        model: serde_json::from_str(&model).map_err(|e| corrupt("model", e))?,
        bundle,
        record: serde_json::from_str(&record).map_err(|e| corrupt("record", e))?,
    })
}

/// The head (highest `seq`), if any deployment was made.
pub(crate) fn head(conn: &dyn Session) -> CoreResult<Option<Row>> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM _objectos_deployments ORDER BY seq DESC LIMIT 1"),
        &[],
    )
    .map_err(sql_err)?
    .map(typed)
    .transpose()
}

/// The row of deployment `id`.
pub(crate) fn row(conn: &dyn Session, id: &str) -> CoreResult<Option<Row>> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM _objectos_deployments WHERE id = $1"),
        &[SqlValue::from(id)],
    )
    .map_err(sql_err)?
    .map(typed)
    .transpose()
}

/// Every recorded deployment, newest first.
pub(crate) fn list(conn: &dyn Session) -> CoreResult<Vec<DeploymentRecord>> {
    conn.query(
        "SELECT record FROM _objectos_deployments ORDER BY seq DESC",
        &[],
    )
    .map_err(sql_err)?
    .into_iter()
    .map(|row| {
        let text = row.into_iter().next().and_then(SqlValue::into_string);
        serde_json::from_str(text.as_deref().unwrap_or("")).map_err(|e| corrupt("record", e))
    })
    .collect()
}

/// Deployments recorded on the UTC day `day` (`YYYY-MM-DD`).
pub(crate) fn deployments_on(conn: &dyn Session, day: &str) -> CoreResult<u64> {
    conn.query_count(
        "SELECT COUNT(*) FROM _objectos_deployments WHERE substr(created_at, 1, 10) = $1",
        &[SqlValue::from(day)],
    )
    .map_err(sql_err)
}

/// Inserts the ledger row of `record`.
pub(crate) fn insert(
    tx: &dyn Session,
    record: &DeploymentRecord,
    entry: &Entry,
) -> Result<(), SqlError> {
    let hash = chain_hash(entry.prev_hash.as_deref(), &record.checksum, &entry.model);
    let record_json = serde_json::to_string(record)
        .map_err(|e| SqlError::decode(format!("deployment record: {e}")))?;
    tx.execute(
        "INSERT INTO _objectos_deployments \
         (id, seq, parent_id, status, checksum, prev_hash, hash, bundle, model, record, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            record.id.as_str().into(),
            SqlValue::Integer(i64::try_from(entry.seq).unwrap_or(i64::MAX)),
            record.parent_id.clone().into(),
            record.status.as_str().into(),
            record.checksum.as_str().into(),
            entry.prev_hash.clone().into(),
            hash.into(),
            entry.bundle.as_str().into(),
            entry.model.as_str().into(),
            record_json.into(),
            record.created_at.as_str().into(),
        ],
    )?;
    Ok(())
}

/// Replaces the registered metadata with the bundle's: objects, views, flows and permissions.
pub(crate) fn register_metadata(
    tx: &dyn Session,
    validated: &ValidatedBundle,
    deployment_id: &str,
    now: &str,
) -> Result<(), SqlError> {
    tx.execute(
        "DELETE FROM _objectos_metadata WHERE type IN ('object', 'view', 'flow', 'permission')",
        &[],
    )?;
    let insert = |kind: &str, name: &str, definition: String| {
        tx.execute(
            "INSERT INTO _objectos_metadata (type, name, definition, deployment_id, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                kind.into(),
                name.into(),
                definition.into(),
                deployment_id.into(),
                now.into(),
            ],
        )
    };
    let bundle = &validated.bundle;
    for object in &bundle.objects {
        let definition = canonical_json(&serde_json::to_value(object).unwrap_or(Value::Null));
        insert("object", &object.name, definition)?;
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
            insert(kind, name, definition)?;
        }
    }
    Ok(())
}
