//! Reading a live SQLite table back into a comparable [`TableSchema`], and the schema a model expects.
//!
//! Both sides are normalised the same way so that "apply the model, introspect, compare" is empty:
//! declared types upper-cased, indexes sorted by name, and the automatic index behind a non-INTEGER
//! `PRIMARY KEY` left out (the primary key shows as the column's `pk` flag instead). CHECK constraints
//! are not visible through pragmas; objectos owns the model, so they are compared through the model,
//! not parsed back out of `sqlite_schema.sql`.

use objectos_spec::ObjectDefinition;
use rusqlite::{params, Connection, OptionalExtension};

use crate::ddl::TableDef;
use crate::SchemaError;

/// A table's columns and indexes, normalised for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    /// The table name.
    pub name: String,
    /// Declared `STRICT`.
    pub strict: bool,
    /// Columns in table order.
    pub columns: Vec<ColumnInfo>,
    /// Indexes sorted by name, without the primary key's automatic index.
    pub indexes: Vec<IndexInfo>,
}

/// One column as `PRAGMA table_xinfo` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// Declared type, upper-cased.
    pub sql_type: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// The default expression's SQL text, as written in `CREATE TABLE`.
    pub default: Option<String>,
    /// Part of the primary key.
    pub pk: bool,
}

/// One index as `PRAGMA index_list` / `index_info` report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// Index name.
    pub name: String,
    /// Key columns in order (`<expr>` for an expression).
    pub columns: Vec<String>,
    /// Unique index.
    pub unique: bool,
    /// Partial index (has a WHERE clause); objectos never creates these.
    pub partial: bool,
}

impl TableSchema {
    /// What differs from `other`, one line per difference (empty when equal); for drift messages.
    pub fn differences(&self, other: &TableSchema) -> Vec<String> {
        let mut out = Vec::new();
        if self.name != other.name {
            out.push(format!("table name: {} vs {}", self.name, other.name));
        }
        if self.strict != other.strict {
            out.push(format!("STRICT: {} vs {}", self.strict, other.strict));
        }
        for column in &self.columns {
            match other.columns.iter().find(|c| c.name == column.name) {
                None => out.push(format!("column {} only on the left", column.name)),
                Some(o) if o != column => {
                    out.push(format!("column {}: {column:?} vs {o:?}", column.name))
                }
                Some(_) => {}
            }
        }
        for column in &other.columns {
            if !self.columns.iter().any(|c| c.name == column.name) {
                out.push(format!("column {} only on the right", column.name));
            }
        }
        let left: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        let right: Vec<&str> = other.columns.iter().map(|c| c.name.as_str()).collect();
        if out.is_empty() && left != right {
            out.push(format!("column order: {left:?} vs {right:?}"));
        }
        for index in &self.indexes {
            match other.indexes.iter().find(|i| i.name == index.name) {
                None => out.push(format!("index {} only on the left", index.name)),
                Some(o) if o != index => {
                    out.push(format!("index {}: {index:?} vs {o:?}", index.name))
                }
                Some(_) => {}
            }
        }
        for index in &other.indexes {
            if !self.indexes.iter().any(|i| i.name == index.name) {
                out.push(format!("index {} only on the right", index.name));
            }
        }
        out
    }
}

/// Reads `table` of the `main` schema; the name is bound as a parameter, never spliced into SQL.
pub fn introspect_table(conn: &Connection, table: &str) -> Result<TableSchema, SchemaError> {
    let strict: Option<bool> = conn
        .query_row(
            "SELECT strict FROM pragma_table_list(?1) WHERE schema = 'main' AND type = 'table'",
            params![table],
            |row| row.get(0),
        )
        .optional()?;
    let Some(strict) = strict else {
        return Err(SchemaError::TableNotFound {
            table: table.to_owned(),
        });
    };

    let mut stmt = conn.prepare(
        "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_xinfo(?1) ORDER BY cid",
    )?;
    let columns = stmt
        .query_map(params![table], |row| {
            Ok(ColumnInfo {
                name: row.get(0)?,
                sql_type: row.get::<_, String>(1)?.to_ascii_uppercase(),
                not_null: row.get(2)?,
                default: row.get(3)?,
                pk: row.get::<_, i64>(4)? > 0,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let mut stmt = conn.prepare(
        "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1) ORDER BY name",
    )?;
    let listed = stmt
        .query_map(params![table], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, bool>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, bool>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut key_columns = conn.prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")?;
    let mut indexes = Vec::new();
    for (name, unique, origin, partial) in listed {
        if origin == "pk" {
            continue;
        }
        let columns = key_columns
            .query_map(params![name], |row| row.get::<_, Option<String>>(0))?
            .map(|c| c.map(|c| c.unwrap_or_else(|| "<expr>".to_owned())))
            .collect::<Result<Vec<_>, _>>()?;
        indexes.push(IndexInfo {
            name,
            columns,
            unique,
            partial,
        });
    }

    Ok(TableSchema {
        name: table.to_owned(),
        strict,
        columns,
        indexes,
    })
}

/// The schema the model says the table has, normalised as [`introspect_table`] reports it.
pub fn expected_schema(object: &ObjectDefinition) -> Result<TableSchema, SchemaError> {
    Ok(TableDef::from_object(object)?.expected_schema())
}

impl TableDef {
    /// The [`TableSchema`] that creating this table yields.
    pub fn expected_schema(&self) -> TableSchema {
        let columns = self
            .columns
            .iter()
            .map(|c| ColumnInfo {
                name: c.name.to_string(),
                sql_type: c.sql_type.as_str().to_owned(),
                not_null: c.not_null,
                default: c.default_sql.clone(),
                pk: c.primary_key,
            })
            .collect();
        let mut indexes: Vec<IndexInfo> = self
            .indexes
            .iter()
            .map(|i| IndexInfo {
                name: i.name.to_string(),
                columns: i.columns.iter().map(ToString::to_string).collect(),
                unique: i.unique,
                partial: false,
            })
            .collect();
        indexes.sort_by(|a, b| a.name.cmp(&b.name));
        TableSchema {
            name: self.name.to_string(),
            strict: true,
            columns,
            indexes,
        }
    }
}
