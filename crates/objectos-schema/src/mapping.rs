//! Field type → SQLite column: declared type, JSON storage, CHECK, default literal, NOT NULL.
//!
//! The rules (the reasons are in `docs/field-types.md`, whose table is generated from
//! [`mapping_table`] and checked by a test):
//! - tables are `STRICT`, so the declared types are `TEXT`, `INTEGER` and `REAL` only;
//! - multi-valued and structured values are JSON text in a `TEXT` column, with a CHECK on the JSON
//!   shape; formula and summary fields are computed and have no column;
//! - a CHECK only ever encodes what the field *type* implies (booleans are 0/1, JSON is well formed and
//!   of the right shape), never what its options say (select options, min/max): options change often
//!   and changing a CHECK in SQLite means rebuilding the table, while a type change rebuilds anyway;
//! - `required` is `NOT NULL`; a default is written only from `defaultValue`, never invented;
//! - `unique` becomes a unique index (see [`crate::ddl`]), never an inline `UNIQUE`, so a rebuild can
//!   recreate every index from the model;
//! - references (lookup, master_detail, tree) are `TEXT` ids without `REFERENCES`: no database-level
//!   foreign keys (the data engine applies `deleteBehavior`).

use std::fmt;

use objectos_spec::model::SYSTEM_COLUMNS;
use objectos_spec::types::field::{Field, FieldType};
use objectos_spec::ObjectDefinition;
use serde_json::Value;

use crate::ddl::{integer_literal, real_literal, text_literal, trusted_ident, Ident, IdentKind};
use crate::SchemaError;

/// A declared column type; STRICT tables accept only these (and BLOB/ANY, which objectos does not use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// `TEXT`.
    Text,
    /// `INTEGER` (64-bit signed).
    Integer,
    /// `REAL` (IEEE-754 double).
    Real,
}

impl SqlType {
    /// The type as written in `CREATE TABLE` and returned by `PRAGMA table_xinfo`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "TEXT",
            Self::Integer => "INTEGER",
            Self::Real => "REAL",
        }
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON value a JSON-stored column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonShape {
    /// Any JSON value.
    Any,
    /// A JSON array.
    Array,
    /// A JSON object.
    Object,
}

impl JsonShape {
    /// `any`, `array` or `object` (also the value `json_type()` returns for arrays and objects).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::Array => "array",
            Self::Object => "object",
        }
    }
}

/// How a field's values are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Storage {
    /// A plain column of this type.
    Column(SqlType),
    /// JSON text in a `TEXT` column.
    Json(JsonShape),
    /// Computed when read (formula, summary): no column.
    Computed,
}

impl Storage {
    /// The declared column type; `None` for computed fields.
    pub fn sql_type(self) -> Option<SqlType> {
        match self {
            Self::Column(t) => Some(t),
            Self::Json(_) => Some(SqlType::Text),
            Self::Computed => None,
        }
    }
}

/// Field types whose storage `multiple: true` turns into a JSON array (for other types it has no effect).
pub const MULTIPLE_TYPES: &[FieldType] = &[
    FieldType::Select,
    FieldType::Lookup,
    FieldType::File,
    FieldType::Image,
    FieldType::Video,
    FieldType::Audio,
];

/// The field options that change storage; every other option is enforced by the data engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageOptions {
    /// `multiple: true` (only for [`MULTIPLE_TYPES`]).
    pub multiple: bool,
    /// `scale: 0`: number, currency and percent hold whole numbers.
    pub whole_number: bool,
    /// `allowHalf: true`: ratings may be halves.
    pub allow_half: bool,
}

impl StorageOptions {
    /// The storage-relevant options of a field.
    pub fn of(field: &Field) -> Self {
        Self {
            multiple: field.multiple,
            whole_number: field.scale == Some(0.0),
            allow_half: field.allow_half == Some(true),
        }
    }

    /// The storage of a field of type `ty` with these options.
    pub fn storage(self, ty: FieldType) -> Storage {
        use FieldType as T;
        use SqlType::{Integer, Real, Text};
        match ty {
            T::Formula | T::Summary => Storage::Computed,
            T::Multiselect | T::Checkboxes | T::Tags | T::Vector => Storage::Json(JsonShape::Array),
            T::Location | T::Address => Storage::Json(JsonShape::Object),
            T::Json => Storage::Json(JsonShape::Any),
            T::Select | T::Lookup | T::File | T::Image | T::Video | T::Audio if self.multiple => {
                Storage::Json(JsonShape::Array)
            }
            T::Number | T::Currency | T::Percent if self.whole_number => Storage::Column(Integer),
            T::Number | T::Currency | T::Percent => Storage::Column(Real),
            T::Rating if self.allow_half => Storage::Column(Real),
            T::Rating | T::Boolean | T::Toggle | T::Autonumber => Storage::Column(Integer),
            T::Slider | T::Progress => Storage::Column(Real),
            T::Text
            | T::Textarea
            | T::Email
            | T::Url
            | T::Phone
            | T::Password
            | T::Markdown
            | T::Html
            | T::Richtext
            | T::Date
            | T::Datetime
            | T::Time
            | T::Select
            | T::Radio
            | T::Lookup
            | T::MasterDetail
            | T::Tree
            | T::Image
            | T::File
            | T::Avatar
            | T::Video
            | T::Audio
            | T::Code
            | T::Color
            | T::Signature
            | T::Qrcode => Storage::Column(Text),
        }
    }

    /// Whether a field of type `ty` gets a plain index without asking: single-valued references,
    /// which reverse lookups, cascades and summaries query by.
    pub fn implies_index(self, ty: FieldType) -> bool {
        match ty {
            FieldType::Lookup => !self.multiple,
            FieldType::MasterDetail | FieldType::Tree => true,
            _ => false,
        }
    }
}

/// The column a field (or system column) maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The column name: the field's `columnName`, else its key.
    pub name: Ident,
    /// The declared type.
    pub sql_type: SqlType,
    /// `NOT NULL` (the field is `required`, or a system column).
    pub not_null: bool,
    /// The CHECK expression (without `CHECK (…)`), when the type implies one.
    pub check: Option<String>,
    /// The `DEFAULT` literal rendered from `defaultValue`, escaped.
    pub default_sql: Option<String>,
    /// Values are JSON text (encode on write, decode on read).
    pub json: bool,
    /// `PRIMARY KEY` (only `id`).
    pub primary_key: bool,
    /// How values are stored (the JSON shape for JSON columns).
    pub storage: Storage,
    /// The field type (`None` for system columns): PostgreSQL stores dates, datetimes and booleans
    /// natively, so its column type depends on more than [`Storage`].
    pub field_type: Option<FieldType>,
    /// The default as a JSON value, shaped as stored (a scalar for a list field is a list of one);
    /// each dialect renders its own literal from it.
    pub default_value: Option<Value>,
}

impl ColumnSpec {
    /// The column definition inside `CREATE TABLE` (also valid for `ALTER TABLE … ADD COLUMN` when it
    /// is not the primary key and, if NOT NULL, has a default).
    pub fn definition_sql(&self) -> String {
        let mut out = format!("{} {}", self.name.quoted(), self.sql_type);
        if self.primary_key {
            out.push_str(" PRIMARY KEY");
        }
        if self.not_null {
            out.push_str(" NOT NULL");
        }
        if let Some(default) = &self.default_sql {
            out.push_str(" DEFAULT ");
            out.push_str(default);
        }
        if let Some(check) = &self.check {
            out.push_str(" CHECK (");
            out.push_str(check);
            out.push(')');
        }
        out
    }
}

/// `id TEXT PRIMARY KEY NOT NULL`, `created_at TEXT NOT NULL`, `updated_at TEXT NOT NULL`.
///
/// No defaults: objectos sets them on every write (ids are generated, times are ISO-8601 UTC text),
/// and `CURRENT_TIMESTAMP` defaults could not be added by `ALTER TABLE` anyway.
pub fn system_columns() -> Vec<ColumnSpec> {
    SYSTEM_COLUMNS
        .iter()
        .map(|&name| ColumnSpec {
            name: trusted_ident(name),
            sql_type: SqlType::Text,
            not_null: true,
            check: None,
            default_sql: None,
            json: false,
            primary_key: name == "id",
            storage: Storage::Column(SqlType::Text),
            field_type: None,
            default_value: None,
        })
        .collect()
}

/// The column of field `key`; `Ok(None)` for computed fields (formula, summary), which have none.
///
/// Refuses an invalid column name and a `defaultValue` that does not fit the column.
pub fn column_for(key: &str, field: &Field) -> Result<Option<ColumnSpec>, SchemaError> {
    let ty = field.r#type;
    let storage = StorageOptions::of(field).storage(ty);
    let Some(sql_type) = storage.sql_type() else {
        return Ok(None);
    };
    let column = ObjectDefinition::column_of(key, field);
    let path = if field.column_name.is_some() {
        format!("fields.{key}.columnName")
    } else {
        format!("fields.{key}")
    };
    let name = Ident::at(&path, IdentKind::Column, column)?;
    let (default_sql, default_value) = match &field.default_value {
        None => (None, None),
        Some(value) => {
            match render_default(&format!("fields.{key}.defaultValue"), ty, storage, value)? {
                Some((sql, value)) => (Some(sql), Some(value)),
                None => (None, None),
            }
        }
    };
    Ok(Some(ColumnSpec {
        check: check_sql(&name, ty, storage),
        name,
        sql_type,
        not_null: field.required,
        default_sql,
        json: matches!(storage, Storage::Json(_)),
        primary_key: false,
        storage,
        field_type: Some(ty),
        default_value,
    }))
}

fn is_boolean(ty: FieldType) -> bool {
    matches!(ty, FieldType::Boolean | FieldType::Toggle)
}

/// The CHECK a type implies. JSON checks are guarded by `json_valid` inside CASE (which evaluates only
/// the branch taken), so malformed text fails the CHECK instead of raising "malformed JSON".
fn check_sql(name: &Ident, ty: FieldType, storage: Storage) -> Option<String> {
    let c = name.quoted();
    match storage {
        Storage::Column(_) if is_boolean(ty) => Some(format!("{c} IN (0, 1)")),
        Storage::Json(JsonShape::Any) => Some(format!(
            "CASE WHEN json_valid({c}) THEN 1 ELSE {c} IS NULL END"
        )),
        Storage::Json(shape) => Some(format!(
            "CASE WHEN json_valid({c}) THEN json_type({c}) = '{}' ELSE {c} IS NULL END",
            shape.as_str()
        )),
        Storage::Column(_) | Storage::Computed => None,
    }
}

fn render_default(
    path: &str,
    ty: FieldType,
    storage: Storage,
    value: &Value,
) -> Result<Option<(String, Value)>, SchemaError> {
    let invalid = |reason: String| SchemaError::InvalidDefault {
        path: path.to_owned(),
        reason,
    };
    if value.is_null() {
        return Ok(None);
    }
    match ty {
        FieldType::Password => {
            return Err(invalid(
                "a password field cannot have a default: it would sit in the schema as clear text"
                    .to_owned(),
            ))
        }
        FieldType::Autonumber => {
            return Err(invalid(
                "autonumber values are assigned by objectos; remove defaultValue".to_owned(),
            ))
        }
        _ => {}
    }
    let text = |s: &str| {
        text_literal(s)
            .ok_or_else(|| invalid("a default cannot contain a NUL character".to_owned()))
    };
    let mut stored = value.clone();
    let literal = match storage {
        Storage::Computed => return Ok(None),
        Storage::Json(shape) => {
            let shaped = match (shape, value) {
                (JsonShape::Array, Value::Array(_))
                | (JsonShape::Object, Value::Object(_))
                | (JsonShape::Any, _) => value.clone(),
                // A single value for a list field means a list of one (`"a"` → `["a"]`).
                (JsonShape::Array, Value::Object(_)) => {
                    return Err(invalid(format!(
                        "expected a JSON array for a {ty} field, received an object"
                    )))
                }
                (JsonShape::Array, scalar) => Value::Array(vec![scalar.clone()]),
                (JsonShape::Object, other) => {
                    return Err(invalid(format!(
                        "expected a JSON object for a {ty} field, received {}",
                        objectos_spec::json_type_name(other)
                    )))
                }
            };
            let literal = text(&shaped.to_string())?;
            stored = shaped;
            literal
        }
        Storage::Column(SqlType::Integer) if is_boolean(ty) => match value {
            Value::Bool(b) => integer_literal(i64::from(*b)),
            other => {
                return Err(invalid(format!(
                    "expected true or false, received {}",
                    objectos_spec::json_type_name(other)
                )))
            }
        },
        Storage::Column(SqlType::Integer) => {
            let whole = value.as_i64().or_else(|| {
                value
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    // In range and whole, so the conversion is exact.
                    .map(|f| f as i64)
            });
            match whole {
                Some(i) => {
                    stored = Value::from(i);
                    integer_literal(i)
                }
                None => {
                    return Err(invalid(format!(
                    "expected a whole number for a {ty} field stored as INTEGER, received {value}"
                )))
                }
            }
        }
        Storage::Column(SqlType::Real) => match value.as_f64().and_then(real_literal) {
            Some(l) => l,
            None => {
                return Err(invalid(format!(
                    "expected a number, received {}",
                    objectos_spec::json_type_name(value)
                )))
            }
        },
        Storage::Column(SqlType::Text) => match value {
            Value::String(s) => text(s)?,
            other => {
                return Err(invalid(format!(
                    "expected a string for a {ty} field, received {}",
                    objectos_spec::json_type_name(other)
                )))
            }
        },
    };
    Ok(Some((literal, stored)))
}

/// One row of the documented mapping: a field type with its default options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingRow {
    /// The field type.
    pub field_type: FieldType,
    /// Its storage with default options (`multiple: false`, no `scale`, no `allowHalf`).
    pub storage: Storage,
    /// Its PostgreSQL column type with default options (`None`: computed).
    pub pg_type: Option<crate::pg::PgType>,
    /// Whether a CHECK is added, described.
    pub check: &'static str,
    /// Whether `unique: true` is accepted.
    pub unique: bool,
    /// Indexes created without being asked for.
    pub implied_index: &'static str,
    /// Options that change the storage.
    pub variants: &'static str,
    /// What the column holds.
    pub notes: &'static str,
}

/// The mapping of every field type, in the order of `FieldType::ALL` (the source of `docs/field-types.md`).
pub fn mapping_table() -> Vec<MappingRow> {
    FieldType::ALL
        .iter()
        .map(|&ty| {
            let options = StorageOptions::default();
            let storage = options.storage(ty);
            let check = match storage {
                Storage::Column(_) if is_boolean(ty) => "`IN (0, 1)`",
                Storage::Json(JsonShape::Any) => "valid JSON",
                Storage::Json(JsonShape::Array) => "JSON array",
                Storage::Json(JsonShape::Object) => "JSON object",
                Storage::Column(_) | Storage::Computed => "",
            };
            let unique = matches!(storage, Storage::Column(_)) && ty != FieldType::Password;
            let implied_index = if ty == FieldType::Autonumber {
                "unique, always"
            } else if options.implies_index(ty) {
                "yes"
            } else {
                ""
            };
            let (variants, notes) = describe(ty);
            MappingRow {
                field_type: ty,
                storage,
                pg_type: crate::pg::PgType::of(Some(ty), storage),
                check,
                unique,
                implied_index,
                variants,
                notes,
            }
        })
        .collect()
}

/// Options that change storage, and what the column holds.
fn describe(ty: FieldType) -> (&'static str, &'static str) {
    use FieldType as T;
    const MULTI: &str = "`multiple` → JSON array (TEXT; JSONB)";
    const WHOLE: &str = "`scale: 0` → INTEGER (BIGINT)";
    match ty {
        T::Text | T::Textarea => ("", "UTF-8 text"),
        T::Email => ("", "the address as given (validated by the data engine)"),
        T::Url => ("", "the URL as given"),
        T::Phone => ("", "the number as given (E.164 recommended)"),
        T::Password => (
            "",
            "a salted hash (PHC string), never clear text; no default, no unique",
        ),
        T::Markdown | T::Html | T::Richtext => ("", "the source text"),
        T::Number => (WHOLE, "IEEE double; whole numbers exactly when `scale: 0`"),
        T::Currency => (
            WHOLE,
            "amount in the currency unit (the currency code is metadata)",
        ),
        T::Percent => (WHOLE, "the number shown, `12.5` for 12.5 %"),
        T::Date => ("", "ISO-8601 `YYYY-MM-DD`"),
        T::Datetime => (
            "",
            "ISO-8601 UTC `YYYY-MM-DDTHH:MM:SS.sssZ` (sorts as text)",
        ),
        T::Time => ("", "ISO-8601 `HH:MM:SS[.sss]`"),
        T::Boolean | T::Toggle => ("", "`0` / `1`"),
        T::Select => (MULTI, "the option `value`; options are not a CHECK"),
        T::Multiselect | T::Checkboxes => ("", "array of option values"),
        T::Radio => ("", "the option `value`"),
        T::Lookup => (MULTI, "the referenced record's `id`; no FOREIGN KEY"),
        T::MasterDetail => ("", "the master record's `id`; no FOREIGN KEY"),
        T::Tree => (
            "",
            "the parent record's `id` (same object unless `reference`)",
        ),
        T::Image | T::File | T::Video | T::Audio => {
            (MULTI, "a file reference (storage key or URL)")
        }
        T::Avatar => ("", "a file reference (storage key or URL)"),
        T::Formula => ("", "computed from `expression` when read"),
        T::Summary => ("", "computed from `summaryOperations` when read"),
        T::Autonumber => (
            "",
            "the sequence number; `autonumberFormat` is applied when read",
        ),
        T::Location => ("", "`{\"lat\": …, \"lng\": …}`"),
        T::Address => ("", "`{\"street\": …, \"city\": …, …}`"),
        T::Code => ("", "the source text (`language` is metadata)"),
        T::Json => ("", "any JSON value"),
        T::Color => ("", "the color as given (`#rrggbb`, `rgb(…)`…)"),
        T::Rating => (
            "`allowHalf: true` → REAL (DOUBLE PRECISION)",
            "the number of stars",
        ),
        T::Slider => ("", "the value (steps may be fractional)"),
        T::Signature => ("", "the signature image as a data URL or SVG path"),
        T::Qrcode => ("", "the encoded text"),
        T::Progress => ("", "the value, usually 0–100"),
        T::Tags => ("", "array of strings"),
        T::Vector => (
            "",
            "array of numbers (`vectorConfig.dimensions` checked by the data engine)",
        ),
    }
}

/// The mapping as a Markdown table (what `docs/field-types.md` must contain).
pub fn mapping_markdown() -> String {
    let mut out = String::from(
        "| type | column | PostgreSQL | JSON | CHECK | unique | implied index | options that change it | holds |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for row in mapping_table() {
        let column = match row.storage.sql_type() {
            Some(t) => format!("`{t}`"),
            None => "— (computed, no column)".to_owned(),
        };
        let json = match row.storage {
            Storage::Json(shape) => shape.as_str(),
            _ => "",
        };
        let pg = match row.pg_type {
            Some(t) => format!("`{t}`"),
            None => "—".to_owned(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            row.field_type,
            column,
            pg,
            json,
            row.check,
            if row.unique { "yes" } else { "no" },
            row.implied_index,
            row.variants,
            row.notes
        ));
    }
    out
}
