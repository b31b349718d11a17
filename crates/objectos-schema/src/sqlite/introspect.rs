//! Reading a live SQLite table through pragmas (see [`crate::introspect`]).

use objectos_sql::{Session, SessionExt, SqlValue};

use crate::introspect::{ColumnInfo, IndexInfo, TableSchema};
use crate::SchemaError;

fn text(v: &SqlValue) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn flag(v: &SqlValue) -> bool {
    v.as_i64().is_some_and(|i| i != 0)
}

/// Reads `table` of the `main` schema; the name is bound as a parameter, never spliced into SQL.
pub fn introspect_table(session: &dyn Session, table: &str) -> Result<TableSchema, SchemaError> {
    let name = SqlValue::from(table);
    let strict = session.query_opt(
        "SELECT strict FROM pragma_table_list($1) WHERE schema = 'main' AND type = 'table'",
        std::slice::from_ref(&name),
    )?;
    let Some(strict) = strict else {
        return Err(SchemaError::TableNotFound {
            table: table.to_owned(),
        });
    };
    let strict = strict.first().is_some_and(flag);

    let columns = session
        .query(
            "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_xinfo($1) ORDER BY cid",
            std::slice::from_ref(&name),
        )?
        .into_iter()
        .map(|row| ColumnInfo {
            name: row.first().map(text).unwrap_or_default(),
            sql_type: row.get(1).map(text).unwrap_or_default().to_ascii_uppercase(),
            not_null: row.get(2).is_some_and(flag),
            default: row.get(3).and_then(|v| v.as_str().map(str::to_owned)),
            pk: row.get(4).and_then(SqlValue::as_i64).unwrap_or(0) > 0,
        })
        .collect();

    let listed = session.query(
        "SELECT name, \"unique\", origin, partial FROM pragma_index_list($1) ORDER BY name",
        std::slice::from_ref(&name),
    )?;
    let mut indexes = Vec::new();
    for row in listed {
        let index = row.first().map(text).unwrap_or_default();
        if row.get(2).map(text).as_deref() == Some("pk") {
            continue;
        }
        let columns = session
            .query(
                "SELECT name FROM pragma_index_info($1) ORDER BY seqno",
                &[SqlValue::from(index.as_str())],
            )?
            .into_iter()
            .map(|r| {
                r.first()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "<expr>".to_owned())
            })
            .collect();
        indexes.push(IndexInfo {
            name: index,
            columns,
            unique: row.get(1).is_some_and(flag),
            partial: row.get(3).is_some_and(flag),
        });
    }

    Ok(TableSchema {
        name: table.to_owned(),
        strict,
        columns,
        indexes,
    })
}
