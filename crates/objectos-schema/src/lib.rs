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
//! - [`plan`](mod@plan): the ordered SQLite statements of a diff, ALTER or one rebuild per table
//!   ([`plan()`], [`SqlitePlan`]);
//! - [`apply`](mod@apply): data probes, apply inside the caller's transaction, dry run in a savepoint
//!   ([`probe`], [`apply_in`], [`dry_run`]).
//!
//! The reasons behind each choice are in `docs/field-types.md`.

pub mod apply;
pub mod ddl;
pub mod diff;
mod error;
pub mod introspect;
pub mod mapping;
pub mod plan;

pub use apply::{
    apply, apply_in, apply_in_with, constraint_name, dry_run, probe, ApplyReport, DryRunReport,
    ProbeResult, StatementFailure,
};
pub use ddl::{check_object, create_table_sql, Ident, IdentKind, IndexSpec, TableDef};
pub use diff::{
    conversion, diff, Change, ChangeClass, ChangeKind, ColumnCopy, ColumnStep, Conversion,
    ConversionKind, DataCheck, FieldDelta, LossKind, ModelDiff, Rename, Repr, TableAction,
    TablePlan, TableRename, TableStrategy,
};
pub use error::{ApplyError, DiffError, ModelSide, RenameError, SchemaError};
pub use introspect::{expected_schema, introspect_table, ColumnInfo, IndexInfo, TableSchema};
pub use mapping::{
    column_for, mapping_markdown, mapping_table, system_columns, ColumnSpec, JsonShape, MappingRow,
    SqlType, Storage, StorageOptions, MULTIPLE_TYPES,
};
pub use plan::{plan, rebuild_table_name, Phase, PlannedStatement, SqlitePlan, REBUILD_PREFIX};
