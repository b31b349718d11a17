//! Values between JSON and SQLite, per the field's column mapping: booleans as 0/1 INTEGER, JSON
//! values (multiselect, tags, address, json...) as JSON text, dates and times as ISO-8601 text.
//! Reads give each value back with its JSON type.

use objectos_schema::{Ident, IdentKind, SqlType, Storage, StorageOptions};
use objectos_spec::types::field::{Field, FieldType};
use objectos_spec::ObjectDefinition;
use rusqlite::types::{Value as SqlValue, ValueRef};
use serde_json::{Map, Number, Value};

/// The quoted column of a field key (or of a system column).
pub fn quoted_column(object: &ObjectDefinition, key: &str) -> rusqlite::Result<String> {
    let name = match object.fields.get(key) {
        Some(field) => ObjectDefinition::column_of(key, field),
        None => key,
    };
    quoted(IdentKind::Column, name)
}

/// The quoted table of an object.
pub fn quoted_table(object: &ObjectDefinition) -> rusqlite::Result<String> {
    quoted(IdentKind::Table, &object.name)
}

fn quoted(kind: IdentKind, name: &str) -> rusqlite::Result<String> {
    Ident::new(kind, name)
        .map(|i| i.quoted())
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
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
    let storage = object.fields.get(key).map(storage_of);
    let sql_type = match storage {
        Some(Storage::Json(_)) => return SqlValue::Text(value.to_string()),
        Some(Storage::Column(t)) => t,
        Some(Storage::Computed) | None => {
            return match value {
                Value::String(s) => SqlValue::Text(s.clone()),
                other => SqlValue::Text(other.to_string()),
            }
        }
    };
    match (sql_type, value) {
        (_, Value::Bool(b)) => SqlValue::Integer(i64::from(*b)),
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
pub fn select_list(object: &ObjectDefinition, fields: &[String]) -> rusqlite::Result<String> {
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

/// Decodes a row selected with [`select_list`] into the record's JSON.
pub fn decode_row(
    object: &ObjectDefinition,
    fields: &[String],
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<Map<String, Value>> {
    let mut out = Map::new();
    for (i, name) in ["id", "created_at", "updated_at"].iter().enumerate() {
        let v: Option<String> = row.get(i)?;
        out.insert((*name).to_owned(), v.map_or(Value::Null, Value::String));
    }
    for (i, key) in fields.iter().enumerate() {
        let raw = row.get_ref(i + 3)?;
        let value = match object.fields.get(key) {
            Some(field) => decode_value(field, raw),
            None => plain(raw),
        };
        out.insert(key.clone(), value);
    }
    Ok(out)
}

fn plain(raw: ValueRef<'_>) -> Value {
    match raw {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(t) | ValueRef::Blob(t) => Value::String(String::from_utf8_lossy(t).into()),
    }
}

/// One stored value back as JSON, with its type.
pub fn decode_value(field: &Field, raw: ValueRef<'_>) -> Value {
    let storage = storage_of(field);
    if storage == Storage::Computed {
        return Value::Null;
    }
    let json = matches!(storage, Storage::Json(_));
    match raw {
        ValueRef::Null => Value::Null,
        ValueRef::Text(t) if json => serde_json::from_slice(t)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(t).into())),
        ValueRef::Integer(i) if matches!(field.r#type, FieldType::Boolean | FieldType::Toggle) => {
            Value::Bool(i != 0)
        }
        ValueRef::Integer(i) if field.r#type == FieldType::Autonumber => {
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
