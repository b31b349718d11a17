//! Reads and writes of single records, inside a transaction the caller owns.
//!
//! Every write is checked against the field definitions ([`check_record`]): types, required,
//! lengths, ranges, options, formats. Then: lookups must point at existing records; passwords are
//! hashed (Argon2id, PHC string) and never read back; autonumbers take the next number; `id`,
//! `created_at` and `updated_at` are maintained. A unique constraint is a 409 naming its fields.
//! Deletes apply each inbound reference's `deleteBehavior`: `restrict` refuses, `cascade` deletes
//! the referencing records (recursively), `set_null` clears the reference (or removes the id from a
//! multiple lookup).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use objectos_spec::model::{
    check_record, state_fields_of_update, write_rule_issues, CheckedRecord, RuleEvent, WriteMode,
};
use objectos_spec::types::field::{DeleteBehavior, FieldType};
use objectos_spec::types::tenant::QuotaEnforcementResult;
use objectos_spec::{Issue, IssueCode, JsonPath, ObjectDefinition};
use objectos_sql::{Dialect, ErrorKind, Session, SessionExt, SqlError, SqlValue};
use serde_json::{json, Map, Value};

use super::codec::{decode_row, quoted_column, quoted_table, readable_fields, select_list, to_sql};
use super::error::{DataError, DataResult};
use super::model::TenantModel;

/// Quotas enforced on writes.
#[derive(Debug, Clone, Default)]
pub struct WriteLimits {
    /// `maxRecordsPerObject`.
    pub max_records_per_object: Option<u64>,
    /// `maxStorageBytes`.
    pub max_storage_bytes: Option<u64>,
    /// The tenant's last storage measurement, shared by its writes.
    pub storage: Arc<StorageGauge>,
}

/// The last measurement of a tenant database's size, so that writes need not each measure it
/// where measuring is dear (PostgreSQL: about 0.3 ms, summing the relation sizes of the tenant's
/// schema, against microseconds for SQLite's page count, which is always read afresh).
///
/// A measurement is reused for [`StorageGauge::FRESH_FOR`] while it is below nine tenths of the
/// limit; nearer the limit every write measures. A tenant can therefore overshoot
/// `maxStorageBytes` only by what it writes in that window starting from under 90% of the limit.
#[derive(Debug, Default)]
pub struct StorageGauge {
    last: Mutex<Option<(Instant, u64)>>,
}

impl StorageGauge {
    /// How long a measurement well below the limit stands in for the size.
    pub const FRESH_FOR: Duration = Duration::from_secs(1);

    /// The last measurement, when it is fresh and below nine tenths of `limit`.
    fn reusable(&self, limit: u64) -> Option<u64> {
        let last = *self.last.lock().unwrap_or_else(PoisonError::into_inner);
        last.filter(|(at, used)| {
            at.elapsed() < Self::FRESH_FOR && u128::from(*used) * 10 < u128::from(limit) * 9
        })
        .map(|(_, used)| used)
    }

    fn record(&self, used: u64) {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), used));
    }
}

/// Smallest `maxRecordsPerObject` for which PostgreSQL's statistics may stand in for a count
/// below half the limit (smaller limits are always counted exactly).
pub const PG_STATS_QUOTA_FLOOR: u64 = 10_000;

/// How deep cascading deletes may go before refusing (cycles of cascades end here).
pub const MAX_CASCADE_DEPTH: usize = 16;

/// The served object of a model, or [`DataError::UnknownObject`] / [`DataError::NotServed`].
pub fn object<'m>(model: &'m TenantModel, name: &str) -> DataResult<&'m ObjectDefinition> {
    model.served(name).map(AsRef::as_ref)
}

/// At most 64 characters of user input, for messages.
pub fn truncate(s: &str) -> String {
    if s.chars().count() <= 64 {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(64).collect();
        t.push('…');
        t
    }
}

/// True for an id no record can have: one holding U+0000 (writes refuse it, and PostgreSQL
/// text cannot even be compared with it), so every database answers "not found" without a query.
pub fn impossible_id(id: &str) -> bool {
    id.contains('\0')
}

fn not_found(object: &ObjectDefinition, id: &str) -> DataError {
    DataError::NotFound {
        object: object.name.clone(),
        id: truncate(id),
    }
}

/// A record by id, with every readable field (or `fields`).
pub fn get(
    conn: &dyn Session,
    object: &ObjectDefinition,
    id: &str,
    fields: Option<&[String]>,
) -> DataResult<Map<String, Value>> {
    if impossible_id(id) {
        return Err(not_found(object, id));
    }
    let all;
    let fields = match fields {
        Some(f) => f,
        None => {
            all = readable_fields(object);
            &all
        }
    };
    let sql = format!(
        "SELECT {} FROM {} WHERE \"id\" = $1",
        select_list(object, fields)?,
        quoted_table(object)?
    );
    conn.query_opt(&sql, &[SqlValue::from(id)])?
        .map(|row| decode_row(object, fields, row))
        .ok_or_else(|| DataError::NotFound {
            object: object.name.clone(),
            id: truncate(id),
        })
}

fn quota(name: &str, used: u64, limit: u64, message: String) -> DataError {
    DataError::Quota(Box::new(QuotaEnforcementResult {
        allowed: false,
        exceeded_quota: Some(name.to_owned()),
        current_usage: Some(used as f64),
        limit: Some(limit as f64),
        message: Some(message),
    }))
}

/// Refuses a write when the database already uses `maxStorageBytes`.
pub fn check_storage(conn: &dyn Session, limits: &WriteLimits) -> DataResult<()> {
    if let Some(limit) = limits.max_storage_bytes {
        let sql = match conn.dialect() {
            Dialect::Sqlite => {
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            }
            Dialect::Postgres if limits.storage.reusable(limit).is_some() => return Ok(()),
            // The tenant's schema: its tables with their indexes and TOAST.
            Dialect::Postgres => {
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            }
        };
        let used = conn.query_count(sql, &[])?;
        limits.storage.record(used);
        if used >= limit {
            return Err(quota(
                "maxStorageBytes",
                used,
                limit,
                format!("the tenant's database uses {used} bytes; the plan allows {limit}"),
            ));
        }
    }
    Ok(())
}

fn check_record_count(
    conn: &dyn Session,
    object: &ObjectDefinition,
    limits: &WriteLimits,
) -> DataResult<()> {
    if let Some(limit) = limits.max_records_per_object {
        let table = quoted_table(object)?;
        let used = match conn.dialect() {
            Dialect::Sqlite => {
                // Rowids are distinct and at least 1: while the largest is below the limit, so is
                // the row count (an O(log n) read instead of counting every row on each insert).
                // A column named like the rowid would hide it, so such objects are always counted.
                let rowid_hidden = object.fields.iter().any(|(k, f)| {
                    let column = ObjectDefinition::column_of(k, f);
                    ["rowid", "oid", "_rowid_"]
                        .iter()
                        .any(|alias| column.eq_ignore_ascii_case(alias))
                });
                if !rowid_hidden {
                    let max_rowid = conn.query_count(
                        &format!("SELECT COALESCE(MAX(rowid), 0) FROM {table}"),
                        &[],
                    )?;
                    if max_rowid < limit {
                        return Ok(());
                    }
                }
                conn.query_count(&format!("SELECT COUNT(*) FROM {table}"), &[])?
            }
            // No rowid. The live-row count PostgreSQL's statistics keep per table trails the
            // truth by what committed in the last second or so: for a large limit, while it is
            // below half the limit, so is the row count (short of half the limit inserted within
            // that second), and nothing is counted. Otherwise the rows are counted exactly, the
            // count stopping at the limit.
            Dialect::Postgres => {
                if limit >= PG_STATS_QUOTA_FLOOR {
                    // The function behind the `pg_stat_user_tables` view, for one table: the view
                    // reads every table's statistics (about 2 ms per insert here, against 0.05).
                    let live = conn
                        .query_opt(
                            "SELECT pg_stat_get_live_tuples(to_regclass($1))",
                            &[SqlValue::Text(table.clone())],
                        )?
                        .and_then(|row| row.into_iter().next())
                        .and_then(|n| n.as_i64());
                    if live.is_some_and(|n| u64::try_from(n).unwrap_or(0) < limit / 2) {
                        return Ok(());
                    }
                }
                conn.query_count(
                    &format!("SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT $1) AS bounded"),
                    &[SqlValue::Integer(i64::try_from(limit).unwrap_or(i64::MAX))],
                )?
            }
        };
        if used >= limit {
            return Err(quota(
                "maxRecordsPerObject",
                used,
                limit,
                format!(
                    "'{}' holds {used} records; the plan allows {limit} per object",
                    object.name
                ),
            ));
        }
    }
    Ok(())
}

fn checked(
    object: &ObjectDefinition,
    record: &Value,
    mode: WriteMode,
) -> DataResult<(Map<String, Value>, CheckedRecord)> {
    let Value::Object(map) = record else {
        return Err(DataError::invalid(Issue::new(
            JsonPath::root(),
            IssueCode::InvalidType,
            format!("Expected object, received {}", json_type(record)),
        )));
    };
    let result = check_record(object, map, mode).map_err(DataError::Invalid)?;
    Ok((map.clone(), result))
}

/// The JSON type name of a value, for messages.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check_references(
    conn: &dyn Session,
    model: &TenantModel,
    checked: &CheckedRecord,
) -> DataResult<()> {
    let mut issues = Vec::new();
    for reference in &checked.references {
        let Some(target) = model.object(&reference.object) else {
            issues.push(Issue::new(
                JsonPath::root().key(&reference.field),
                IssueCode::Custom,
                format!(
                    "The referenced object '{}' is not deployed",
                    reference.object
                ),
            ));
            continue;
        };
        let sql = format!("SELECT 1 FROM {} WHERE \"id\" = $1", quoted_table(target)?);
        for id in &reference.ids {
            if !conn.exists(&sql, &[SqlValue::from(id.as_str())])? {
                issues.push(Issue::new(
                    JsonPath::root().key(&reference.field),
                    IssueCode::Custom,
                    format!(
                        "No record '{}' of '{}' exists to reference",
                        truncate(id),
                        reference.object
                    ),
                ));
            }
        }
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(DataError::Invalid(issues))
    }
}

/// Hashes a clear-text password (Argon2id with a random salt) into a PHC string.
pub fn hash_password(clear: &str) -> DataResult<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| DataError::Internal(format!("password hashing: {e}")))?;
    argon2::Argon2::default()
        .hash_password(clear.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DataError::Internal(format!("password hashing: {e}")))
}

/// True when `clear` matches a PHC string made by [`hash_password`].
pub fn verify_password(clear: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(clear.as_bytes(), &h)
            .is_ok()
    })
}

fn storage_values(
    object: &ObjectDefinition,
    checked: &CheckedRecord,
    skip_defaulted: bool,
) -> DataResult<Vec<(String, SqlValue)>> {
    let mut out = Vec::new();
    for (key, value) in &checked.values {
        if skip_defaulted && checked.defaulted.contains(key) {
            continue;
        }
        let sql = if checked.passwords.contains(key) {
            match value.as_str() {
                Some(clear) => SqlValue::Text(hash_password(clear)?),
                None => SqlValue::Null,
            }
        } else {
            to_sql(object, key, value)
        };
        out.push((quoted_column(object, key)?, sql));
    }
    Ok(out)
}

/// Maps constraint failures to 409 (unique) or 400 (others); everything else stays a storage
/// error. Both dialects name the columns of a unique violation, so the answer is the same.
pub fn constraint_error(object: &ObjectDefinition, error: SqlError) -> DataError {
    if error.is_constraint() {
        if let ErrorKind::Unique { columns } = &error.kind {
            let fields: Vec<String> = columns
                .iter()
                .map(|column| field_of_column(object, column))
                .collect();
            let rule = object.unique_rules().into_iter().find(|rule| {
                let mut a: Vec<&str> = rule.fields.clone();
                let mut b: Vec<&str> = fields.iter().map(String::as_str).collect();
                a.sort_unstable();
                b.sort_unstable();
                a == b
            });
            let message = if let Some(rule) = rule {
                format!("{} (validation '{}')", rule.message, rule.name)
            } else if fields == ["id"] {
                format!("a record of '{}' with this id already exists", object.name)
            } else {
                format!(
                    "another record of '{}' already has this value of {}",
                    object.name,
                    fields
                        .iter()
                        .map(|f| format!("'{f}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return DataError::Duplicate { message, fields };
        }
        return DataError::invalid(Issue::new(
            JsonPath::root(),
            IssueCode::Custom,
            format!("the record breaks a constraint of '{}'", object.name),
        ));
    }
    DataError::Sql(error)
}

fn field_of_column(object: &ObjectDefinition, column: &str) -> String {
    object
        .fields
        .iter()
        .find(|(k, f)| ObjectDefinition::column_of(k, f) == column)
        .map_or_else(|| column.to_owned(), |(k, _)| k.clone())
}

/// Creates a record; returns it as stored (with id, timestamps, defaults and autonumbers).
pub fn create(
    conn: &dyn Session,
    model: &TenantModel,
    object: &ObjectDefinition,
    record: &Value,
    limits: &WriteLimits,
    now: &str,
) -> DataResult<Map<String, Value>> {
    let (_, checked) = checked(object, record, WriteMode::Create)?;
    let broken = write_rule_issues(object, &checked.values, None, RuleEvent::Insert);
    if !broken.is_empty() {
        return Err(DataError::Invalid(broken));
    }
    check_references(conn, model, &checked)?;
    check_record_count(conn, object, limits)?;
    check_storage(conn, limits)?;
    let table = quoted_table(object)?;
    let id = checked.id.clone().unwrap_or_else(new_record_id);
    let mut columns = vec![
        "\"id\"".to_owned(),
        "\"created_at\"".to_owned(),
        "\"updated_at\"".to_owned(),
    ];
    let mut values = vec![
        SqlValue::Text(id.clone()),
        SqlValue::Timestamp(now.to_owned()),
        SqlValue::Timestamp(now.to_owned()),
    ];
    for (column, value) in storage_values(object, &checked, false)? {
        columns.push(column);
        values.push(value);
    }
    // The record-name autonumber starts at `recordName.startNumber`; others at 1.
    let record_name_start = object
        .record_name_autonumber()
        .map(|(_, start)| (object.record_name_field(), start));
    for (key, field) in &object.fields {
        if field.r#type == FieldType::Autonumber {
            let column = quoted_column(object, key)?;
            let start = match record_name_start {
                Some((name, start)) if name == key => start,
                _ => 1,
            };
            let next = conn
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
    let fields = readable_fields(object);
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({}) RETURNING {}",
        columns.join(", "),
        marks.join(", "),
        select_list(object, &fields)?
    );
    returning(conn, object, &fields, &sql, values, &id)
}

/// Runs an INSERT/UPDATE … RETURNING of one record and decodes it (one statement instead of a
/// write and a read).
fn returning(
    conn: &dyn Session,
    object: &ObjectDefinition,
    fields: &[String],
    sql: &str,
    values: Vec<SqlValue>,
    id: &str,
) -> DataResult<Map<String, Value>> {
    let row = conn
        .query_opt(sql, &values)
        .map_err(|e| constraint_error(object, e))?;
    match row {
        Some(row) => Ok(decode_row(object, fields, row)),
        None => Err(DataError::NotFound {
            object: object.name.clone(),
            id: truncate(id),
        }),
    }
}

/// A new record id: 16 random hex digits.
pub fn new_record_id() -> String {
    let bytes: [u8; 8] = rand::random();
    hex::encode(bytes)
}

/// Applies a partial update; returns the record as stored.
pub fn update(
    conn: &dyn Session,
    model: &TenantModel,
    object: &ObjectDefinition,
    id: &str,
    patch: &Value,
    limits: &WriteLimits,
    now: &str,
) -> DataResult<Map<String, Value>> {
    if impossible_id(id) {
        return Err(not_found(object, id));
    }
    let patch = without_unchanged_system_values(conn, object, id, patch)?;
    let (_, checked) = checked(object, &patch, WriteMode::Update)?;
    // State machine rules compare with the stored value (which also proves the record exists).
    let state_fields = state_fields_of_update(object, &checked.values);
    let stored = if state_fields.is_empty() {
        None
    } else {
        Some(get(conn, object, id, Some(&state_fields))?)
    };
    let broken = write_rule_issues(object, &checked.values, stored.as_ref(), RuleEvent::Update);
    if !broken.is_empty() {
        return Err(DataError::Invalid(broken));
    }
    let table = quoted_table(object)?;
    if !conn.exists(
        &format!("SELECT 1 FROM {table} WHERE \"id\" = $1"),
        &[SqlValue::from(id)],
    )? {
        return Err(DataError::NotFound {
            object: object.name.clone(),
            id: truncate(id),
        });
    }
    check_references(conn, model, &checked)?;
    check_storage(conn, limits)?;
    let mut sets = Vec::new();
    let mut values = Vec::new();
    for (column, value) in storage_values(object, &checked, true)? {
        values.push(value);
        sets.push(format!("{column} = ${}", values.len()));
    }
    values.push(SqlValue::Timestamp(now.to_owned()));
    sets.push(format!("\"updated_at\" = ${}", values.len()));
    values.push(SqlValue::Text(id.to_owned()));
    let fields = readable_fields(object);
    let sql = format!(
        "UPDATE {table} SET {} WHERE \"id\" = ${} RETURNING {}",
        sets.join(", "),
        values.len(),
        select_list(object, &fields)?
    );
    returning(conn, object, &fields, &sql, values, id)
}

/// The keys a read returns that a write may not set: `id`, the timestamps and autonumbers.
fn system_keys(object: &ObjectDefinition) -> Vec<String> {
    let mut keys: Vec<String> = ["id", "created_at", "updated_at"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    keys.extend(
        object
            .fields
            .iter()
            .filter(|(_, f)| f.r#type == FieldType::Autonumber)
            .map(|(k, _)| k.clone()),
    );
    keys
}

/// Whether a value sent back in an update is the one stored (as a read returned it): instants
/// compare normalised, numbers numerically.
fn same_value(sent: &Value, stored: &Value) -> bool {
    match (sent, stored) {
        (Value::String(a), Value::String(b)) => {
            a == b
                || objectos_spec::model::normalise_datetime(a)
                    .is_some_and(|a| objectos_spec::model::normalise_datetime(b) == Some(a))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

/// The patch of an update without the system values it sends back unchanged, so that a record
/// read, modified and saved whole is accepted (get → modify → save). A changed system value stays
/// in the patch and is refused by the value checks at its key.
fn without_unchanged_system_values<'a>(
    conn: &dyn Session,
    object: &ObjectDefinition,
    id: &str,
    patch: &'a Value,
) -> DataResult<std::borrow::Cow<'a, Value>> {
    let Value::Object(map) = patch else {
        return Ok(std::borrow::Cow::Borrowed(patch));
    };
    let given: Vec<String> = system_keys(object)
        .into_iter()
        .filter(|k| map.contains_key(k))
        .collect();
    if given.is_empty() {
        return Ok(std::borrow::Cow::Borrowed(patch));
    }
    let fields: Vec<String> = given
        .iter()
        .filter(|k| object.fields.contains_key(k.as_str()))
        .cloned()
        .collect();
    let stored = get(conn, object, id, Some(&fields))?;
    let mut map = map.clone();
    for key in given {
        let unchanged = match (map.get(&key), stored.get(&key)) {
            (Some(sent), Some(stored)) => same_value(sent, stored),
            _ => false,
        };
        if unchanged {
            map.remove(&key);
        }
    }
    Ok(std::borrow::Cow::Owned(Value::Object(map)))
}

/// Deletes a record, applying the delete behaviour of every reference to it.
pub fn delete(
    conn: &dyn Session,
    model: &TenantModel,
    object: &ObjectDefinition,
    id: &str,
) -> DataResult<()> {
    if impossible_id(id) {
        return Err(not_found(object, id));
    }
    let mut deleting = std::collections::HashSet::new();
    delete_at(conn, model, object, id, 0, &mut deleting)
}

fn delete_at(
    conn: &dyn Session,
    model: &TenantModel,
    object: &ObjectDefinition,
    id: &str,
    depth: usize,
    deleting: &mut std::collections::HashSet<(String, String)>,
) -> DataResult<()> {
    // A record already being deleted higher up (cascade cycles, siblings reaching each other)
    // is not deleted twice.
    if !deleting.insert((object.name.clone(), id.to_owned())) {
        return Ok(());
    }
    if depth > MAX_CASCADE_DEPTH {
        return Err(DataError::Restricted {
            message: format!("cascading delete deeper than {MAX_CASCADE_DEPTH} levels refused"),
            details: json!({"object": object.name, "maxDepth": MAX_CASCADE_DEPTH}),
        });
    }
    let table = quoted_table(object)?;
    let id_param = [SqlValue::from(id)];
    if !conn.exists(
        &format!("SELECT 1 FROM {table} WHERE \"id\" = $1"),
        &id_param,
    )? {
        // A cascaded child may already be gone (deleted through another path of this delete).
        if depth > 0 {
            return Ok(());
        }
        return Err(DataError::NotFound {
            object: object.name.clone(),
            id: truncate(id),
        });
    }
    for inbound in model
        .inbound
        .get(&object.name)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let Some(source) = model.object(&inbound.object) else {
            continue;
        };
        let source_table = quoted_table(source)?;
        let column = quoted_column(source, &inbound.field)?;
        let matching = match (inbound.multiple, conn.dialect()) {
            (false, _) => format!("{column} = $1"),
            (true, Dialect::Sqlite) => {
                format!("EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = $1)")
            }
            (true, Dialect::Postgres) => format!("{column} @> jsonb_build_array($1::text)"),
        };
        let mut referencing: Vec<String> = conn
            .query(
                &format!("SELECT \"id\" FROM {source_table} WHERE {matching}"),
                &id_param,
            )?
            .into_iter()
            .filter_map(|row| row.into_iter().next().and_then(SqlValue::into_string))
            .collect();
        // A self-reference to the record being deleted does not hold it back.
        referencing.retain(|r| !deleting.contains(&(inbound.object.clone(), r.clone())));
        if referencing.is_empty() {
            continue;
        }
        let behavior = match inbound.delete_behavior {
            // Clearing a required reference (or emptying a required multiple one) would break
            // the record: the delete is refused instead.
            DeleteBehavior::SetNull if inbound.required => DeleteBehavior::Restrict,
            other => other,
        };
        match behavior {
            DeleteBehavior::Restrict => {
                return Err(DataError::Restricted {
                    message: format!(
                        "'{}' records reference this record through '{}' ({} record(s)); delete them first",
                        inbound.object,
                        inbound.field,
                        referencing.len()
                    ),
                    details: json!({
                        "object": inbound.object,
                        "field": inbound.field,
                        "deleteBehavior": inbound.delete_behavior.as_str(),
                        "records": referencing.len(),
                    }),
                })
            }
            DeleteBehavior::Cascade if !inbound.multiple => {
                for child in referencing {
                    delete_at(conn, model, source, &child, depth + 1, deleting)?;
                }
            }
            DeleteBehavior::Cascade | DeleteBehavior::SetNull if inbound.multiple => {
                let remaining = match conn.dialect() {
                    Dialect::Sqlite => format!(
                        "(SELECT json_group_array(value) FROM json_each({column}) WHERE value != $1)"
                    ),
                    Dialect::Postgres => format!(
                        "COALESCE((SELECT jsonb_agg(e) FROM jsonb_array_elements({column}) AS e \
                         WHERE e <> to_jsonb($1::text)), '[]'::jsonb)"
                    ),
                };
                conn.execute(
                    &format!("UPDATE {source_table} SET {column} = {remaining} WHERE {matching}"),
                    &id_param,
                )?;
            }
            _ => {
                conn.execute(
                    &format!("UPDATE {source_table} SET {column} = NULL WHERE {matching}"),
                    &id_param,
                )?;
            }
        }
    }
    conn.execute(&format!("DELETE FROM {table} WHERE \"id\" = $1"), &id_param)?;
    Ok(())
}
