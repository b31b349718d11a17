//! The PostgreSQL dialect: column types, DDL, defaults, value conversions and probe SQL.
//!
//! The neutral [`Storage`] of a field decides its PostgreSQL column ([`PgType::of`]):
//! integers are `BIGINT`, booleans `BOOLEAN`, reals `DOUBLE PRECISION`, text `TEXT` except `date`
//! (`DATE`) and `datetime` (`TIMESTAMPTZ`), JSON `JSONB` with a named `CHECK (jsonb_typeof(c) = …)`
//! where SQLite checks the shape. System columns: `id` is text, `created_at`/`updated_at` are `TIMESTAMPTZ`; text columns are
//! declared `COLLATE "C"` (code-point order, like SQLite's `BINARY`); and
//! the primary key constraint is named `<table>_pkey` and renamed with its table, so a table created
//! later under the old name does not collide with it. Tables are not `STRICT` (PostgreSQL is typed
//! anyway), and indexes have exactly the SQLite names.
//!
//! Defaults are written as canonical literals ([`default_literal`]: `true`, `5`, `1.5`, `'text'`,
//! `'[…]'::jsonb` with sorted keys, `'2026-01-31'::date`, `'…T…Z'::timestamptz`); PostgreSQL
//! rewrites them in its catalog (`'a'::text`, `'-5'::integer`), so introspection parses them back
//! into the same canonical form.
//!
//! The planner ([`plan()`]) alters in place, never rebuilds; introspection ([`introspect_table`])
//! reads `pg_catalog` in `current_schema()`. See `docs/postgres-mapping.md`.

mod introspect;
mod plan;

pub use introspect::introspect_table;
pub use plan::plan;

use chrono::{DateTime, NaiveDate, Utc};
use objectos_spec::types::field::FieldType;
use objectos_sql::Dialect;
use serde_json::{Map, Value};

use crate::ddl::{integer_literal, real_literal, shorten, text_literal, Ident, TableDef};
use crate::diff::{Conversion, ConversionKind, Repr};
use crate::mapping::{ColumnSpec, JsonShape, SqlType, Storage};
use crate::SchemaError;

/// A PostgreSQL column type objectos declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PgType {
    /// `TEXT`.
    Text,
    /// `BIGINT`.
    BigInt,
    /// `BOOLEAN`.
    Boolean,
    /// `DOUBLE PRECISION`.
    Double,
    /// `DATE`.
    Date,
    /// `TIMESTAMPTZ`.
    Timestamptz,
    /// `JSONB`.
    Jsonb,
}

impl PgType {
    /// The canonical name, as written in DDL and reported by introspection.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "TEXT",
            Self::BigInt => "BIGINT",
            Self::Boolean => "BOOLEAN",
            Self::Double => "DOUBLE PRECISION",
            Self::Date => "DATE",
            Self::Timestamptz => "TIMESTAMPTZ",
            Self::Jsonb => "JSONB",
        }
    }

    /// The type of a column of `storage` for a field of type `field_type` (`None`: a system column);
    /// `None` for computed storage.
    pub fn of(field_type: Option<FieldType>, storage: Storage) -> Option<Self> {
        Some(match storage {
            Storage::Computed => return None,
            Storage::Json(_) => Self::Jsonb,
            Storage::Column(SqlType::Integer)
                if matches!(field_type, Some(FieldType::Boolean | FieldType::Toggle)) =>
            {
                Self::Boolean
            }
            Storage::Column(SqlType::Integer) => Self::BigInt,
            Storage::Column(SqlType::Real) => Self::Double,
            Storage::Column(SqlType::Text) => match field_type {
                Some(FieldType::Date) => Self::Date,
                Some(FieldType::Datetime) => Self::Timestamptz,
                _ => Self::Text,
            },
        })
    }

    /// The type named by `format_type()` (`timestamp with time zone` → `TIMESTAMPTZ`).
    fn from_catalog(name: &str) -> Option<Self> {
        Some(match name {
            "text" => Self::Text,
            "bigint" => Self::BigInt,
            "boolean" => Self::Boolean,
            "double precision" => Self::Double,
            "date" => Self::Date,
            "timestamp with time zone" => Self::Timestamptz,
            "jsonb" => Self::Jsonb,
            _ => return None,
        })
    }
}

impl PgType {
    /// The type as declared in DDL: text columns are `TEXT COLLATE "C"`, so they compare and sort
    /// by code point like SQLite's `BINARY` collation, whatever the database's default collation
    /// (and `startswith` ranges can use their indexes).
    pub fn ddl(self) -> &'static str {
        match self {
            Self::Text => "TEXT COLLATE \"C\"",
            other => other.as_str(),
        }
    }
}

impl std::fmt::Display for PgType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.ddl())
    }
}

/// The PostgreSQL type of a column (`TEXT` for the impossible computed case: computed fields have no
/// [`ColumnSpec`]). The system columns `created_at` and `updated_at` are instants (`TIMESTAMPTZ`);
/// `id` is text.
pub fn column_type(column: &ColumnSpec) -> PgType {
    if column.field_type.is_none() && matches!(column.name.as_str(), "created_at" | "updated_at") {
        return PgType::Timestamptz;
    }
    PgType::of(column.field_type, column.storage).unwrap_or(PgType::Text)
}

/// The name of the CHECK constraint of column `column`: `ck_<column>` (hashed past 63 characters);
/// constraint names are per table, and the planner renames it with its column.
pub fn check_name(column: &Ident) -> Ident {
    crate::ddl::trusted_generated(shorten(format!("ck_{column}")))
}

/// The name of the primary key constraint (and index) of `table`: `<table>_pkey`, as PostgreSQL
/// would name it, hashed past 63 characters.
pub fn primary_key_name(table: &Ident) -> Ident {
    crate::ddl::trusted_generated(shorten(format!("{table}_pkey")))
}

/// The CHECK expression column `name` of `storage` carries on PostgreSQL: the JSON shape of arrays
/// and objects (`JSONB` is always valid JSON, and booleans are `BOOLEAN`).
pub fn check_expr(name: &Ident, storage: Storage) -> Option<String> {
    match storage {
        Storage::Json(shape @ (JsonShape::Array | JsonShape::Object)) => Some(format!(
            "jsonb_typeof({}) = '{}'",
            name.quoted(),
            shape.as_str()
        )),
        Storage::Json(JsonShape::Any) | Storage::Column(_) | Storage::Computed => None,
    }
}

/// A JSON value with every object's keys sorted (the form `JSONB` defaults are compared in).
pub(crate) fn canonical_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for key in keys {
                if let Some(v) = map.get(key) {
                    out.insert(key.clone(), canonical_json(v));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical_json).collect()),
        other => other.clone(),
    }
}

/// The text of an instant as objectos stores it: `YYYY-MM-DDTHH:MM:SS.sssZ`.
fn instant_text(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The canonical PostgreSQL literal of a column's default (see the module documentation); refuses
/// a `date`/`datetime` default that is not an ISO-8601 date or instant, which `DATE`/`TIMESTAMPTZ`
/// cannot hold.
pub fn default_literal(column: &ColumnSpec) -> Result<Option<String>, SchemaError> {
    let Some(value) = &column.default_value else {
        return Ok(None);
    };
    let ty = column_type(column);
    let invalid = |reason: String| SchemaError::InvalidDefault {
        path: format!("fields.{}.defaultValue", column.name),
        reason,
    };
    let expected = |what: &str| invalid(format!("expected {what} for a {} column", ty.as_str()));
    let text = |s: &str| {
        text_literal(s)
            .ok_or_else(|| invalid("a default cannot contain a NUL character".to_owned()))
    };
    let literal = match ty {
        PgType::Boolean => match value.as_bool() {
            Some(b) => b.to_string(),
            None => return Err(expected("true or false")),
        },
        PgType::BigInt => match value.as_i64() {
            Some(i) => integer_literal(i),
            None => return Err(expected("a whole number")),
        },
        PgType::Double => match value.as_f64().and_then(real_literal) {
            Some(l) => l,
            None => return Err(expected("a number")),
        },
        PgType::Text => match value.as_str() {
            Some(s) => text(s)?,
            None => return Err(expected("a string")),
        },
        PgType::Jsonb => format!("{}::jsonb", text(&canonical_json(value).to_string())?),
        PgType::Date => {
            let date = value
                .as_str()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                .ok_or_else(|| expected("an ISO-8601 date (YYYY-MM-DD)"))?;
            format!("'{}'::date", date.format("%Y-%m-%d"))
        }
        PgType::Timestamptz => {
            let at = value
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .ok_or_else(|| expected("an RFC 3339 instant (YYYY-MM-DDTHH:MM:SS.sssZ)"))?;
            format!("'{}'::timestamptz", instant_text(at.with_timezone(&Utc)))
        }
    };
    Ok(Some(literal))
}

/// Splits a constant default as `pg_get_expr` prints it (`'a''b'::text`, `5`, `('-5'::integer)`)
/// into its literal text; `None` for anything else (an expression).
fn constant_text(expr: &str) -> Option<String> {
    let mut e = expr.trim();
    while e.starts_with('(') && e.ends_with(')') {
        e = e[1..e.len() - 1].trim();
    }
    let Some(body) = e.strip_prefix('\'') else {
        // A bare constant: a number or a boolean, never an expression such as `now()`.
        let bare = e.split_once("::").map_or(e, |(v, _)| v).trim();
        let constant = bare == "true"
            || bare == "false"
            || (!bare.is_empty()
                && bare
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')));
        return constant.then(|| bare.to_owned());
    };
    let mut literal = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        if ch == '\'' {
            if matches!(chars.peek(), Some((_, '\''))) {
                chars.next();
                literal.push('\'');
                continue;
            }
            let rest = body[i + 1..].trim();
            return (rest.is_empty() || rest.starts_with("::")).then_some(literal);
        }
        literal.push(ch);
    }
    None
}

/// A default read from the catalog, in the canonical form [`default_literal`] writes (the catalog's
/// text as is when it is not a constant objectos could have written).
pub(crate) fn normalize_default(catalog_type: &str, expr: &str) -> String {
    let canonical = || -> Option<String> {
        let literal = constant_text(expr)?;
        Some(match PgType::from_catalog(catalog_type)? {
            PgType::Boolean => match literal.as_str() {
                "true" | "t" => "true".to_owned(),
                "false" | "f" => "false".to_owned(),
                _ => return None,
            },
            PgType::BigInt => integer_literal(literal.parse().ok()?),
            PgType::Double => real_literal(literal.parse().ok()?)?,
            PgType::Text => text_literal(&literal)?,
            PgType::Jsonb => {
                let value: Value = serde_json::from_str(&literal).ok()?;
                format!(
                    "{}::jsonb",
                    text_literal(&canonical_json(&value).to_string())?
                )
            }
            PgType::Date => format!(
                "'{}'::date",
                NaiveDate::parse_from_str(&literal, "%Y-%m-%d")
                    .ok()?
                    .format("%Y-%m-%d")
            ),
            PgType::Timestamptz => {
                let at = DateTime::parse_from_str(&literal, "%Y-%m-%d %H:%M:%S%.f%#z")
                    .or_else(|_| DateTime::parse_from_rfc3339(&literal))
                    .ok()?;
                format!("'{}'::timestamptz", instant_text(at.with_timezone(&Utc)))
            }
        })
    };
    canonical().unwrap_or_else(|| expr.to_owned())
}

/// The column definition in `CREATE TABLE` / `ADD COLUMN` on `table` (the primary key constraint is
/// named after the table).
pub fn column_definition(column: &ColumnSpec, table: &Ident) -> Result<String, SchemaError> {
    let mut out = format!("{} {}", column.name.quoted(), column_type(column));
    if column.not_null {
        out.push_str(" NOT NULL");
    }
    if let Some(default) = default_literal(column)? {
        out.push_str(" DEFAULT ");
        out.push_str(&default);
    }
    if column.primary_key {
        out.push_str(&format!(
            " CONSTRAINT {} PRIMARY KEY",
            primary_key_name(table).quoted()
        ));
    }
    if let Some(check) = check_expr(&column.name, column.storage) {
        out.push_str(&format!(
            " CONSTRAINT {} CHECK ({check})",
            check_name(&column.name).quoted()
        ));
    }
    Ok(out)
}

/// `CREATE TABLE "name" (…)` on PostgreSQL.
pub fn create_table_sql(def: &TableDef) -> Result<String, SchemaError> {
    let columns: Vec<String> = def
        .columns
        .iter()
        .map(|c| column_definition(c, &def.name).map(|d| format!("  {d}")))
        .collect::<Result<_, _>>()?;
    Ok(format!(
        "CREATE TABLE {} (\n{}\n)",
        def.name.quoted(),
        columns.join(",\n")
    ))
}

/// The table then its indexes: everything a fresh deploy of this table runs on PostgreSQL.
pub fn statements(def: &TableDef) -> Result<Vec<String>, SchemaError> {
    let mut out = vec![create_table_sql(def)?];
    out.extend(def.create_index_sql(Dialect::Postgres));
    Ok(out)
}

/// JSON's number grammar, with JSON's surrounding whitespace: the text SQLite's probe and rebuild
/// judge numeric (`json_valid` + `json_type`).
const NUMERIC_RE: &str = r"^[ \t\n\r]*-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?[ \t\n\r]*$";
const DATE_RE: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";
const INSTANT_RE: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$";
const NAIVE_INSTANT_RE: &str =
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?$";
/// One more than the largest BIGINT: values below it (and above its negation) fit.
const BIGINT_BOUND: &str = "9223372036854775808";

/// A SQL condition true for a non-NULL value of `c` (quoted) that the conversion from `from` to `to`
/// would refuse; `None` when every value converts. It counts what the SQLite probe counts: text is
/// numeric when it is a JSON number. Evaluation order is forced with `CASE`, so no cast can raise.
pub(crate) fn not_castable_condition(c: &str, from: Repr, to: Repr) -> Option<String> {
    let t = format!("{c}::text");
    let numeric =
        |then: &str| format!("NOT COALESCE(CASE WHEN {t} ~ '{NUMERIC_RE}' THEN {then} END, false)");
    match (from, to) {
        (Repr::Real, Repr::Integer) => Some(format!(
            "NOT ({c} = trunc({c}) AND abs({c}) < {BIGINT_BOUND})"
        )),
        (Repr::Text, Repr::Integer) => Some(numeric(&format!(
            "{t}::numeric = trunc({t}::numeric) AND abs({t}::numeric) < {BIGINT_BOUND}"
        ))),
        (Repr::Text, Repr::Real) => Some(numeric("true")),
        (Repr::Integer | Repr::Real, Repr::Boolean) => Some(format!("{c} NOT IN (0, 1)")),
        (Repr::Text, Repr::Boolean) => Some(numeric(&format!("{t}::numeric IN (0, 1)"))),
        (Repr::Json(_), Repr::Json(shape @ (JsonShape::Array | JsonShape::Object))) => {
            Some(format!("jsonb_typeof({c}) <> '{}'", shape.as_str()))
        }
        _ => None,
    }
}

/// The value of `c` (quoted, of type `ty`) as the text SQLite would hold for it: dates
/// `YYYY-MM-DD`, instants `YYYY-MM-DDTHH:MM:SS.sssZ`, booleans `0`/`1`, whole reals `2.0`.
fn text_of(c: &str, ty: PgType) -> String {
    match ty {
        PgType::Text => c.to_owned(),
        PgType::Date => format!("to_char({c}, 'YYYY-MM-DD')"),
        PgType::Timestamptz => {
            format!("to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
        }
        PgType::BigInt => format!("{c}::text"),
        PgType::Boolean => format!("{c}::int::text"),
        PgType::Double => format!(
            "CASE WHEN {c} = trunc({c}) AND abs({c}) < 1e15 THEN {c}::numeric::text || '.0' \
             ELSE {c}::text END"
        ),
        PgType::Jsonb => format!("({c} #>> '{{}}')"),
    }
}

/// An expression that always fails converting `text` to `ty` (and is NULL for NULL): the `ELSE` of
/// a narrowing, so that a value that does not convert exactly aborts the statement.
fn refuse(text: &str, ty: PgType) -> String {
    format!(
        "CAST('objectos: cannot convert ' || {text} AS {})",
        ty.as_str()
    )
}

/// The `USING` expression of `ALTER COLUMN c TYPE <to>` converting `c` (quoted) from `from`: exact,
/// or failing (see [`refuse`]); a value-dropping conversion (`Lossy`) takes `fallback` (the new
/// default, else NULL) as SQLite's rebuild does.
pub(crate) fn using_expr(
    c: &str,
    from: PgType,
    to: PgType,
    conversion: Conversion,
    fallback: Option<&str>,
) -> String {
    if matches!(
        conversion.kind,
        ConversionKind::Lossy | ConversionKind::Materialize | ConversionKind::Dematerialize
    ) {
        return format!("CAST({} AS {})", fallback.unwrap_or("NULL"), to.as_str());
    }
    let t = text_of(c, from);
    let text_like = matches!(from, PgType::Text | PgType::Date | PgType::Timestamptz);
    let numeric_guard = format!("{t} !~ '{NUMERIC_RE}'");
    match to {
        PgType::Text => t,
        PgType::BigInt => match from {
            PgType::BigInt => c.to_owned(),
            PgType::Boolean => format!("{c}::int::bigint"),
            PgType::Double => format!(
                "CASE WHEN {c} = trunc({c}) AND abs({c}) < {BIGINT_BOUND} THEN {c}::bigint ELSE {} END",
                refuse(&t, to)
            ),
            _ => format!(
                "CASE WHEN {numeric_guard} THEN {r} WHEN {t}::numeric = trunc({t}::numeric) AND \
                 abs({t}::numeric) < {BIGINT_BOUND} THEN {t}::numeric::bigint ELSE {r} END",
                r = refuse(&t, to)
            ),
        },
        PgType::Double => match from {
            PgType::Double => c.to_owned(),
            PgType::BigInt => format!("{c}::double precision"),
            PgType::Boolean => format!("{c}::int::double precision"),
            _ => format!(
                "CASE WHEN {numeric_guard} THEN {} ELSE {t}::numeric::double precision END",
                refuse(&t, to)
            ),
        },
        PgType::Boolean => match from {
            PgType::Boolean => c.to_owned(),
            PgType::BigInt | PgType::Double => format!(
                "CASE WHEN {c} = 0 THEN false WHEN {c} = 1 THEN true ELSE {} END",
                refuse(&t, to)
            ),
            _ => format!(
                "CASE WHEN {numeric_guard} THEN {r} WHEN {t}::numeric = 0 THEN false \
                 WHEN {t}::numeric = 1 THEN true ELSE {r} END",
                r = refuse(&t, to)
            ),
        },
        PgType::Date => match from {
            PgType::Date => c.to_owned(),
            PgType::Timestamptz => format!(
                "CASE WHEN ({c} AT TIME ZONE 'UTC')::time = '00:00' THEN ({c} AT TIME ZONE 'UTC')::date \
                 ELSE {} END",
                refuse(&t, to)
            ),
            _ => format!(
                "CASE WHEN {t} ~ '{DATE_RE}' THEN {t}::date ELSE {} END",
                refuse(&t, to)
            ),
        },
        PgType::Timestamptz => match from {
            PgType::Timestamptz => c.to_owned(),
            PgType::Date => format!("{c}::timestamp AT TIME ZONE 'UTC'"),
            _ => format!(
                "CASE WHEN {t} ~ '{INSTANT_RE}' THEN {t}::timestamptz \
                 WHEN {t} ~ '{NAIVE_INSTANT_RE}' THEN {t}::timestamp AT TIME ZONE 'UTC' ELSE {} END",
                refuse(&t, to)
            ),
        },
        PgType::Jsonb => {
            if from == PgType::Jsonb {
                return c.to_owned();
            }
            // Text-like values become JSON strings, numbers and booleans JSON scalars.
            let scalar = if text_like { t.clone() } else { c.to_owned() };
            match conversion.to {
                Repr::Json(JsonShape::Array) => {
                    format!("CASE WHEN {c} IS NULL THEN NULL ELSE jsonb_build_array({scalar}) END")
                }
                _ => format!("CASE WHEN {c} IS NULL THEN NULL ELSE to_jsonb({scalar}) END"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_defaults_normalise_to_the_written_literal() {
        let cases = [
            ("bigint", "'-5'::integer", "-5"),
            ("bigint", "5", "5"),
            ("double precision", "'-1.5'::numeric", "-1.5"),
            ("double precision", "5.0", "5.0"),
            ("double precision", "0.0000001", "1e-7"),
            ("boolean", "true", "true"),
            ("text", "'it''s'::text", "'it''s'"),
            ("text", "''::text", "''"),
            (
                "jsonb",
                "'{\"b\": 1, \"a\": [1, 2.50]}'::jsonb",
                "'{\"a\":[1,2.5],\"b\":1}'::jsonb",
            ),
            ("date", "'2026-01-02'::date", "'2026-01-02'::date"),
            (
                "timestamp with time zone",
                "'2026-01-02 11:00:00.12+01'::timestamp with time zone",
                "'2026-01-02T10:00:00.120Z'::timestamptz",
            ),
            ("text", "now()", "now()"),
        ];
        for (ty, expr, want) in cases {
            assert_eq!(normalize_default(ty, expr), want, "{ty} {expr}");
        }
    }
}
