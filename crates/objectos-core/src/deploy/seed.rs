//! Seed data, applied in the deployment's transaction per Dataset mode, keyed by `externalId`.
//!
//! - `insert`: inserts every record; an existing key is a conflict (422 at the record's key);
//! - `update`: updates records whose key exists, skips the others;
//! - `upsert`: updates existing keys, inserts the others;
//! - `replace`: deletes the rows whose key is not in the dataset, then upserts: the table ends up
//!   holding exactly the dataset (existing rows keep their ids);
//! - `ignore`: inserts only missing keys.
//!
//! An update writes only when a value differs (then `updated_at` too) and never writes fields the
//! record left to their default, so re-running a dataset changes nothing. Values are always bound
//! parameters; identifiers come from the validated model. New rows get `id` (given, else 16 random
//! hex digits), `created_at`/`updated_at` = the deployment time, and the next number of every
//! `autonumber` field. Only datasets whose `env` includes `prod` are applied.

use objectos_schema::{Ident, IdentKind};
use objectos_spec::model::CheckedRecord;
use objectos_spec::types::field::{DatasetMode, FieldType};
use objectos_spec::{Issue, IssueCode, JsonPath, ObjectDefinition};
use objectos_sql::{Session, SessionExt, SqlError, SqlValue};
use serde_json::Value;

use super::validate::external_key;
use super::ValidatedBundle;

/// Why seed data could not be applied.
#[derive(Debug)]
pub(crate) enum SeedError {
    /// Records conflicting with existing rows (`insert` of an existing key).
    Conflict(Vec<Issue>),
    /// The database failed.
    Sql(SqlError),
}

impl From<SqlError> for SeedError {
    fn from(e: SqlError) -> Self {
        Self::Sql(e)
    }
}

impl From<objectos_schema::SchemaError> for SeedError {
    fn from(e: objectos_schema::SchemaError) -> Self {
        Self::Sql(SqlError::decode(e.to_string()))
    }
}

fn ident(kind: IdentKind, name: &str) -> Result<String, SeedError> {
    Ok(Ident::new(kind, name).map(|i| i.quoted())?)
}

/// True when a stored key equals a dataset's key: the text of dates, instants and JSON is
/// compared as text (the database gives them back as plain text on SQLite), numbers as numbers.
fn same_key(stored: &SqlValue, key: &SqlValue) -> bool {
    if let (Some(a), Some(b)) = (stored.as_str(), key.as_str()) {
        return a == b;
    }
    if let (Some(a), Some(b)) = (stored.as_i64(), key.as_i64()) {
        return a == b;
    }
    stored == key
}

/// The SQL value of a field's JSON value, per its column mapping (shared with the data API).
fn to_sql(object: &ObjectDefinition, key: &str, value: &Value) -> Result<SqlValue, SeedError> {
    Ok(crate::data::codec::to_sql(object, key, value))
}

fn column_of(object: &ObjectDefinition, key: &str) -> Result<String, SeedError> {
    Ok(crate::data::codec::quoted_column(object, key)?)
}

/// Applies every applicable dataset of the bundle.
pub(crate) fn apply_seed(
    tx: &dyn Session,
    validated: &ValidatedBundle,
    now: &str,
) -> Result<(), SeedError> {
    let mut conflicts = Vec::new();
    for (i, dataset) in validated.applicable_datasets() {
        let Some(object) = validated
            .bundle
            .objects
            .iter()
            .find(|o| o.name == dataset.object)
        else {
            continue;
        };
        let records = validated.records.get(i).map(Vec::as_slice).unwrap_or(&[]);
        let table = ident(IdentKind::Table, &object.table())?;
        let key = dataset.external_id.as_str();
        let key_col = column_of(object, key)?;
        let keyed: Vec<(usize, &CheckedRecord, Value, SqlValue)> = records
            .iter()
            .enumerate()
            .map(|(j, checked)| {
                let raw = dataset.records.get(j).cloned().unwrap_or_default();
                let value = external_key(checked, &raw, key).unwrap_or(Value::Null);
                to_sql(object, key, &value).map(|v| (j, checked, value, v))
            })
            .collect::<Result<_, _>>()?;

        if dataset.mode == DatasetMode::Replace {
            let existing = tx.query(&format!("SELECT id, {key_col} FROM {table}"), &[])?;
            for row in existing {
                let mut row = row.into_iter();
                let (Some(id), Some(value)) = (row.next(), row.next()) else {
                    continue;
                };
                if !keyed.iter().any(|(_, _, _, k)| same_key(&value, k)) {
                    tx.execute(&format!("DELETE FROM {table} WHERE id = $1"), &[id])?;
                }
            }
        }

        for (j, checked, key_json, key_value) in keyed {
            let existing: Option<String> = tx
                .query_opt(
                    &format!("SELECT id FROM {table} WHERE {key_col} = $1"),
                    std::slice::from_ref(&key_value),
                )?
                .and_then(|row| row.into_iter().next())
                .and_then(SqlValue::into_string);
            match (dataset.mode, existing) {
                (DatasetMode::Insert, Some(_)) => conflicts.push(Issue::new(
                    JsonPath::root()
                        .key("seedData")
                        .index(i)
                        .key("records")
                        .index(j)
                        .key(key),
                    IssueCode::Custom,
                    format!(
                        "A record of '{}' with {key} = {} already exists (mode 'insert'; use 'upsert' or 'ignore' to re-run)",
                        object.name, key_json
                    ),
                )),
                (DatasetMode::Update | DatasetMode::Upsert | DatasetMode::Replace, Some(id)) => {
                    update(tx, object, &table, &id, checked, now)?
                }
                (DatasetMode::Update, None) | (DatasetMode::Ignore, Some(_)) => {}
                (_, None) => insert(tx, object, &table, checked, now)?,
            }
        }
    }
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(SeedError::Conflict(conflicts))
    }
}

fn insert(
    tx: &dyn Session,
    object: &ObjectDefinition,
    table: &str,
    checked: &CheckedRecord,
    now: &str,
) -> Result<(), SeedError> {
    let id = checked.id.clone().unwrap_or_else(|| super::random_id(""));
    let mut columns = vec![
        "\"id\"".to_owned(),
        "\"created_at\"".to_owned(),
        "\"updated_at\"".to_owned(),
    ];
    let mut values = vec![
        SqlValue::Text(id),
        SqlValue::Timestamp(now.to_owned()),
        SqlValue::Timestamp(now.to_owned()),
    ];
    for (key, value) in &checked.values {
        columns.push(column_of(object, key)?);
        values.push(to_sql(object, key, value)?);
    }
    // The record-name autonumber starts at `recordName.startNumber`; others at 1.
    let record_name_start = object
        .record_name_autonumber()
        .map(|(_, start)| (object.record_name_field(), start));
    for (key, field) in &object.fields {
        if field.r#type == FieldType::Autonumber && !checked.values.contains_key(key) {
            let column = column_of(object, key)?;
            let start = match record_name_start {
                Some((name, start)) if name == key => start,
                _ => 1,
            };
            let next = tx
                .query_value(
                    &format!("SELECT COALESCE(MAX({column}) + 1, $1) FROM {table}"),
                    &[SqlValue::Integer(start)],
                )?
                .as_i64()
                .unwrap_or(1);
            columns.push(column);
            values.push(SqlValue::Integer(next));
        }
    }
    let marks: Vec<String> = (1..=values.len()).map(|n| format!("${n}")).collect();
    tx.execute(
        &format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            columns.join(", "),
            marks.join(", ")
        ),
        &values,
    )?;
    Ok(())
}

fn update(
    tx: &dyn Session,
    object: &ObjectDefinition,
    table: &str,
    id: &str,
    checked: &CheckedRecord,
    now: &str,
) -> Result<(), SeedError> {
    let mut sets = Vec::new();
    let mut same = Vec::new();
    let mut values = Vec::new();
    for (key, value) in &checked.values {
        if checked.defaulted.contains(key) {
            continue;
        }
        let column = column_of(object, key)?;
        values.push(to_sql(object, key, value)?);
        let n = values.len();
        sets.push(format!("{column} = ${n}"));
        same.push(match tx.dialect() {
            objectos_sql::Dialect::Sqlite => format!("{column} IS ${n}"),
            objectos_sql::Dialect::Postgres => format!("{column} IS NOT DISTINCT FROM ${n}"),
        });
    }
    if sets.is_empty() {
        return Ok(());
    }
    values.push(SqlValue::Timestamp(now.to_owned()));
    let now_mark = values.len();
    values.push(SqlValue::Text(id.to_owned()));
    let id_mark = values.len();
    tx.execute(
        &format!(
            "UPDATE {table} SET {}, \"updated_at\" = ${now_mark} WHERE \"id\" = ${id_mark} AND NOT ({})",
            sets.join(", "),
            same.join(" AND ")
        ),
        &values,
    )?;
    Ok(())
}
