//! Values between JSON and the database, per the field's column mapping. Values carry their
//! meaning ([`SqlValue::Bool`], [`SqlValue::Json`], [`SqlValue::Date`], [`SqlValue::Timestamp`]) so
//! each dialect stores them natively: SQLite as 0/1 INTEGER, JSON text and ISO-8601 text;
//! PostgreSQL as boolean, jsonb, date and timestamptz. Reads give each value back with its JSON
//! type, identical on both.

use objectos_schema::{Ident, IdentKind, SchemaError, SqlType, Storage, StorageOptions};
use objectos_spec::types::field::{Field, FieldType};
use objectos_spec::ObjectDefinition;
use objectos_sql::{Row, SqlValue};
use serde_json::{Map, Number, Value};

/// The quoted column of a field key (or of a system column).
pub fn quoted_column(object: &ObjectDefinition, key: &str) -> Result<String, SchemaError> {
    let name = match object.fields.get(key) {
        Some(field) => ObjectDefinition::column_of(key, field),
        None => key,
    };
    quoted(IdentKind::Column, name)
}

/// The quoted table of an object.
pub fn quoted_table(object: &ObjectDefinition) -> Result<String, SchemaError> {
    quoted(IdentKind::Table, &object.table())
}

fn quoted(kind: IdentKind, name: &str) -> Result<String, SchemaError> {
    Ident::new(kind, name).map(|i| i.quoted())
}

/// How a field's values are stored (cheap: no column definition is rendered).
fn storage_of(field: &Field) -> Storage {
    StorageOptions::of(field).storage(field.r#type)
}

/// The SQL value of a (validated, normalised) JSON value of field `key`.
pub fn to_sql(object: &ObjectDefinition, key: &str, value: &Value) -> SqlValue {
    if value.is_null() {
        return SqlValue::Null;
    }
    let field = object.fields.get(key);
    let storage = field.map(storage_of);
    match (field.map(|f| f.r#type), value) {
        (Some(FieldType::Date), Value::String(s)) => return SqlValue::Date(s.clone()),
        (Some(FieldType::Datetime), Value::String(s)) => return SqlValue::Timestamp(s.clone()),
        _ => {}
    }
    let sql_type = match storage {
        Some(Storage::Json(_)) => return SqlValue::Json(value.to_string()),
        Some(Storage::Column(t)) => t,
        Some(Storage::Computed) | None => {
            return match value {
                Value::String(s) => SqlValue::Text(s.clone()),
                other => SqlValue::Text(other.to_string()),
            }
        }
    };
    match (sql_type, value) {
        (_, Value::Bool(b)) => SqlValue::Bool(*b),
        (SqlType::Integer, v) => match (v.as_i64(), v.as_f64()) {
            (Some(i), _) => SqlValue::Integer(i),
            (None, Some(f)) => SqlValue::Real(f),
            _ => SqlValue::Text(v.to_string()),
        },
        (SqlType::Real, v) => match v.as_f64() {
            Some(f) => SqlValue::Real(f),
            None => SqlValue::Text(v.to_string()),
        },
        (SqlType::Text, Value::String(s)) => SqlValue::Text(s.clone()),
        (SqlType::Text, v) => SqlValue::Text(v.to_string()),
    }
}

/// True for fields whose values are never returned (passwords) or have no column (computed).
pub fn is_hidden(field: &Field) -> bool {
    field.r#type == FieldType::Password || storage_of(field) == Storage::Computed
}

/// The keys of the fields a read returns by default: every stored field but passwords.
pub fn readable_fields(object: &ObjectDefinition) -> Vec<String> {
    object
        .fields
        .iter()
        .filter(|(_, f)| !is_hidden(f))
        .map(|(k, _)| k.clone())
        .collect()
}

/// `"id", "created_at", "updated_at", <fields...>` for a SELECT list.
pub fn select_list(object: &ObjectDefinition, fields: &[String]) -> Result<String, SchemaError> {
    let mut columns = vec![
        "\"id\"".to_owned(),
        "\"created_at\"".to_owned(),
        "\"updated_at\"".to_owned(),
    ];
    for key in fields {
        columns.push(quoted_column(object, key)?);
    }
    Ok(columns.join(", "))
}

/// Decodes a row selected with [`select_list`] into the record's JSON (the row is consumed: its
/// text moves into the JSON without a copy).
pub fn decode_row(object: &ObjectDefinition, fields: &[String], row: Row) -> Map<String, Value> {
    let mut out = Map::new();
    let mut values = row.into_iter();
    for name in ["id", "created_at", "updated_at"] {
        let v = values.next().unwrap_or(SqlValue::Null);
        out.insert(name.to_owned(), plain(v));
    }
    for key in fields {
        let raw = values.next().unwrap_or(SqlValue::Null);
        let value = match object.fields.get(key) {
            Some(field) => decode_value(field, raw),
            None => plain(raw),
        };
        out.insert(key.clone(), value);
    }
    out
}

fn plain(raw: SqlValue) -> Value {
    match raw {
        SqlValue::Null => Value::Null,
        SqlValue::Bool(b) => Value::Bool(b),
        SqlValue::Integer(i) => Value::from(i),
        SqlValue::Real(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        SqlValue::Json(t) => serde_json::from_str(&t).unwrap_or(Value::String(t)),
        SqlValue::Text(t) | SqlValue::Date(t) | SqlValue::Timestamp(t) => Value::String(t),
        SqlValue::Blob(b) => Value::String(String::from_utf8_lossy(&b).into_owned()),
    }
}

/// A sum of whole numbers as the database gave it (an integer, a double beyond 64 bits on
/// SQLite, the exact decimal as text on PostgreSQL): an integer when it fits 64 bits, else the
/// nearest double, so that every database answers the same JSON.
pub fn integer_total(raw: SqlValue) -> Value {
    match raw {
        SqlValue::Text(t) => match t.trim().parse::<i128>() {
            Ok(total) => match i64::try_from(total) {
                Ok(fits) => Value::from(fits),
                // i128 → f64 rounds to the nearest double, as SQLite's integer overflow does.
                #[allow(clippy::cast_precision_loss)]
                Err(_) => Number::from_f64(total as f64).map_or(Value::Null, Value::Number),
            },
            Err(_) => t
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map_or(Value::Null, Value::Number),
        },
        other => plain(other),
    }
}

/// Decodes a row of an aggregated query: each column under its name, group keys and `min`/`max`
/// as their field's values, counts, sums and averages as the numbers they are.
pub fn decode_grouped(
    object: &ObjectDefinition,
    output: &[crate::data::query::OutputColumn],
    row: Row,
) -> Map<String, Value> {
    let mut out = Map::new();
    let mut values = row.into_iter();
    for column in output {
        let raw = values.next().unwrap_or(SqlValue::Null);
        let value = match column.field.as_deref().and_then(|k| object.fields.get(k)) {
            Some(field) => decode_value(field, raw),
            None if column.integer_sum => integer_total(raw),
            None => plain(raw),
        };
        out.insert(column.name.clone(), value);
    }
    out
}

/// One stored value back as JSON, with its type.
pub fn decode_value(field: &Field, raw: SqlValue) -> Value {
    let storage = storage_of(field);
    if storage == Storage::Computed {
        return Value::Null;
    }
    let json = matches!(storage, Storage::Json(_));
    match raw {
        SqlValue::Text(t) if json => serde_json::from_str(&t).unwrap_or(Value::String(t)),
        SqlValue::Integer(i) if matches!(field.r#type, FieldType::Boolean | FieldType::Toggle) => {
            Value::Bool(i != 0)
        }
        SqlValue::Integer(i) if field.r#type == FieldType::Autonumber => {
            match field.autonumber_format.as_deref() {
                Some(format) => Value::String(format_autonumber(format, i)),
                None => Value::from(i),
            }
        }
        other => plain(other),
    }
}

/// Renders an autonumber with its format: `INV-{0000}` → `INV-0042`; a format without braces
/// is a prefix.
pub fn format_autonumber(format: &str, n: i64) -> String {
    if let (Some(open), Some(close)) = (format.find('{'), format.find('}')) {
        if open < close {
            let width = format[open + 1..close].len();
            return format!(
                "{}{:0width$}{}",
                &format[..open],
                n,
                &format[close + 1..],
                width = width
            );
        }
    }
    format!("{format}{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autonumber_formats() {
        assert_eq!(format_autonumber("INV-{0000}", 42), "INV-0042");
        assert_eq!(format_autonumber("CASE-", 7), "CASE-7");
        assert_eq!(format_autonumber("{0}", 12345), "12345");
    }
}
