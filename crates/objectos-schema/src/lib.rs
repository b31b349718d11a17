//! Field type → column mapping, DDL and introspection for objectos tenant databases (SQLite).
//!
//! - [`mapping`]: how each of the 44 field types is stored ([`column_for`], [`mapping_table`]);
//! - [`ddl`]: validated identifiers, escaped literals, `CREATE TABLE … STRICT` and indexes
//!   ([`create_table_sql`], [`TableDef`]);
//! - [`introspect`]: a live table read back through pragmas, and the schema a model expects
//!   ([`introspect_table`], [`expected_schema`]).
//!
//! The reasons behind each choice are in `docs/field-types.md`. Diff and migration plans come next.

pub mod ddl;
mod error;
pub mod introspect;
pub mod mapping;

pub use ddl::{check_object, create_table_sql, Ident, IdentKind, IndexSpec, TableDef};
pub use error::SchemaError;
pub use introspect::{expected_schema, introspect_table, ColumnInfo, IndexInfo, TableSchema};
pub use mapping::{
    column_for, mapping_markdown, mapping_table, system_columns, ColumnSpec, JsonShape, MappingRow,
    SqlType, Storage, StorageOptions, MULTIPLE_TYPES,
};
