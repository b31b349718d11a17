//! Reading a live table back into a comparable [`TableSchema`], and the schema a model expects, in
//! either dialect.
//!
//! Both sides are normalised the same way so that "apply the model, introspect, compare" is empty:
//! declared types upper-cased canonical names, indexes sorted by name, and the index behind the
//! `PRIMARY KEY` left out (the primary key shows as the column's `pk` flag instead). CHECK
//! constraints are not compared; objectos owns the model, so they are compared through the model.
//! SQLite is read through pragmas ([`crate::sqlite::introspect_table`]); PostgreSQL through
//! `pg_catalog`, restricted to `current_schema()`, with its rewritten defaults normalised
//! ([`crate::pg::introspect_table`]).

use objectos_spec::ObjectDefinition;
use objectos_sql::{Dialect, Session};

use crate::ddl::TableDef;
use crate::SchemaError;

/// A table's columns and indexes, normalised for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    /// The table name.
    pub name: String,
    /// Declared `STRICT` (SQLite; always false on PostgreSQL).
    pub strict: bool,
    /// Columns in table order.
    pub columns: Vec<ColumnInfo>,
    /// Indexes sorted by name, without the primary key's automatic index.
    pub indexes: Vec<IndexInfo>,
}

/// One column as the catalog reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// Declared type, upper-cased (`TEXT`, `INTEGER`; `BIGINT`, `DOUBLE PRECISION`, `TIMESTAMPTZ`…).
    pub sql_type: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// The default expression's SQL text: as written in `CREATE TABLE` on SQLite, normalised to the
    /// literal objectos writes on PostgreSQL.
    pub default: Option<String>,
    /// Part of the primary key.
    pub pk: bool,
}

/// One index as the catalog reports it.
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

/// Reads `table` (SQLite: of the `main` schema; PostgreSQL: of `current_schema()`); the name is
/// bound as a parameter, never spliced into SQL.
pub fn introspect_table(session: &dyn Session, table: &str) -> Result<TableSchema, SchemaError> {
    match session.dialect() {
        Dialect::Sqlite => crate::sqlite::introspect_table(session, table),
        Dialect::Postgres => crate::pg::introspect_table(session, table),
    }
}

/// The schema the model says the table has in `dialect`, normalised as [`introspect_table`]
/// reports it.
pub fn expected_schema(
    dialect: Dialect,
    object: &ObjectDefinition,
) -> Result<TableSchema, SchemaError> {
    TableDef::from_object(object)?.expected_schema(dialect)
}

impl TableDef {
    /// The [`TableSchema`] that creating this table in `dialect` yields.
    pub fn expected_schema(&self, dialect: Dialect) -> Result<TableSchema, SchemaError> {
        let mut columns = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let (sql_type, default) = match dialect {
                Dialect::Sqlite => (c.sql_type.as_str().to_owned(), c.default_sql.clone()),
                Dialect::Postgres => (
                    crate::pg::column_type(c).as_str().to_owned(),
                    crate::pg::default_literal(c)?,
                ),
            };
            columns.push(ColumnInfo {
                name: c.name.to_string(),
                sql_type,
                not_null: c.not_null,
                default,
                pk: c.primary_key,
            });
        }
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
        Ok(TableSchema {
            name: self.name.to_string(),
            strict: dialect == Dialect::Sqlite,
            columns,
            indexes,
        })
    }
}
