//! Reading a live PostgreSQL table from `pg_catalog`, in `current_schema()` (sessions are pinned to
//! their tenant's schema through `search_path`). Catalog columns are cast to `text`, `bigint` or
//! `boolean`, the types every session decodes.

use objectos_sql::{Session, SessionExt, SqlValue};

use crate::introspect::{ColumnInfo, IndexInfo, TableSchema};
use crate::SchemaError;

use super::{normalize_default, PgType};

fn text(v: Option<&SqlValue>) -> String {
    v.and_then(SqlValue::as_str).unwrap_or_default().to_owned()
}

fn flag(v: Option<&SqlValue>) -> bool {
    matches!(v, Some(SqlValue::Bool(true)))
}

/// The canonical upper-case name of a `format_type()` name (`TIMESTAMPTZ`, `DOUBLE PRECISION`).
fn canonical_type(catalog: &str) -> String {
    match PgType::from_catalog(catalog) {
        Some(t) => t.as_str().to_owned(),
        None => catalog.to_ascii_uppercase(),
    }
}

/// Reads `table` of `current_schema()`; the name is bound as a parameter, never spliced into SQL.
pub fn introspect_table(session: &dyn Session, table: &str) -> Result<TableSchema, SchemaError> {
    let found = session.query_opt(
        "SELECT c.oid::bigint FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relname::text = $1 AND c.relkind IN ('r', 'p')",
        &[SqlValue::from(table)],
    )?;
    let Some(oid) = found.and_then(|row| row.first().and_then(SqlValue::as_i64)) else {
        return Err(SchemaError::TableNotFound {
            table: table.to_owned(),
        });
    };
    let oid = [SqlValue::Integer(oid)];

    let columns = session
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
             pg_get_expr(d.adbin, d.adrelid), \
             EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = a.attrelid \
                     AND i.indisprimary AND a.attnum = ANY (i.indkey)) \
             FROM pg_catalog.pg_attribute a \
             LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attrelid = $1::bigint::oid AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &oid,
        )?
        .into_iter()
        .map(|row| {
            let catalog_type = text(row.get(1));
            ColumnInfo {
                name: text(row.first()),
                sql_type: canonical_type(&catalog_type),
                not_null: flag(row.get(2)),
                default: row
                    .get(3)
                    .and_then(SqlValue::as_str)
                    .map(|expr| normalize_default(&catalog_type, expr)),
                pk: flag(row.get(4)),
            }
        })
        .collect();

    let listed = session.query(
        "SELECT ic.relname::text, i.indisunique, i.indpred IS NOT NULL, i.indexrelid::bigint \
         FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
         WHERE i.indrelid = $1::bigint::oid AND NOT i.indisprimary",
        &oid,
    )?;
    let mut indexes = Vec::new();
    for row in listed {
        let index = row.get(3).cloned().unwrap_or(SqlValue::Null);
        let columns = session
            .query(
                "SELECT a.attname::text FROM pg_catalog.pg_index i \
                 CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) \
                 LEFT JOIN pg_catalog.pg_attribute a \
                   ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0 \
                 WHERE i.indexrelid = $1::bigint::oid AND k.n <= i.indnkeyatts \
                 ORDER BY k.n",
                &[index],
            )?
            .into_iter()
            .map(|r| {
                r.first()
                    .and_then(SqlValue::as_str)
                    .map_or_else(|| "<expr>".to_owned(), str::to_owned)
            })
            .collect();
        indexes.push(IndexInfo {
            name: text(row.first()),
            columns,
            unique: flag(row.get(1)),
            partial: flag(row.get(2)),
        });
    }
    // Byte order, as SQLite's pragma lists them and the expected schema sorts them (the catalog's
    // ORDER BY would follow the database collation).
    indexes.sort_by(|a, b| a.name.cmp(&b.name));

    Ok(TableSchema {
        name: table.to_owned(),
        strict: false,
        columns,
        indexes,
    })
}
