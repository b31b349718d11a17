//! Field type → column mapping, DDL and introspection for objectos tenant databases (SQLite).
//!
//! - [`mapping`]: how each of the 44 field types is stored ([`column_for`], [`mapping_table`]);
//! - [`ddl`]: validated identifiers, escaped literals, `CREATE TABLE … STRICT` and indexes
//!   ([`create_table_sql`], [`TableDef`]);
//! - [`introspect`]: a live table read back through pragmas, and the schema a model expects
//!   ([`introspect_table`], [`expected_schema`]).
//!
//! - [`diff`](mod@diff): the classified difference between a deployed model and a new one ([`diff()`],
//!   [`ModelDiff`]), with per-table ALTER/rebuild decisions for the planner.
//!
//! The reasons behind each choice are in `docs/field-types.md`. Migration plans come next.

pub mod ddl;
pub mod diff;
mod error;
pub mod introspect;
pub mod mapping;

pub use ddl::{check_object, create_table_sql, Ident, IdentKind, IndexSpec, TableDef};
pub use diff::{
    conversion, diff, Change, ChangeClass, ChangeKind, ColumnCopy, ColumnStep, Conversion,
    ConversionKind, DataCheck, FieldDelta, LossKind, ModelDiff, Rename, Repr, TableAction,
    TablePlan, TableRename, TableStrategy,
};
pub use error::{DiffError, ModelSide, RenameError, SchemaError};
pub use introspect::{expected_schema, introspect_table, ColumnInfo, IndexInfo, TableSchema};
pub use mapping::{
    column_for, mapping_markdown, mapping_table, system_columns, ColumnSpec, JsonShape, MappingRow,
    SqlType, Storage, StorageOptions, MULTIPLE_TYPES,
};
