//! Field type → column mapping, DDL, introspection, model diff and migration plans for objectos
//! tenant databases, in two dialects: SQLite (the embedded default) and PostgreSQL.
//!
//! - [`mapping`]: how each of the 44 field types is stored ([`column_for`], [`mapping_table`]); the
//!   neutral [`Storage`] decides both dialects' column types;
//! - [`ddl`]: validated identifiers, escaped literals, tables and indexes ([`TableDef`]; SQLite's
//!   `CREATE TABLE … STRICT` is [`create_table_sql`], PostgreSQL's [`pg::create_table_sql`]);
//! - [`introspect`]: a live table read back through a [`objectos_sql::Session`], and the schema a model
//!   expects in a dialect ([`introspect_table`], [`expected_schema`]); applying a model then
//!   introspecting gives no differences on either dialect;
//! - [`diff`](mod@diff): the classified difference between a deployed model and a new one
//!   ([`diff()`], [`ModelDiff`]): *what* changed, per table a neutral [`TableDelta`] (and SQLite's
//!   ALTER/rebuild decision);
//! - [`plan`](mod@plan): the ordered statements of a diff in a [`Dialect`](objectos_sql::Dialect)
//!   ([`plan()`], [`Plan`]): *how*. SQLite ([`sqlite`]) uses native `ALTER TABLE` or one rebuild per
//!   table; PostgreSQL ([`pg`]) uses `ALTER TABLE` everywhere (`ALTER COLUMN … TYPE … USING`, `SET
//!   NOT NULL`, constraints), never a rebuild;
//! - [`apply`](mod@apply): data probes, apply inside the caller's transaction, dry run in a savepoint
//!   ([`probe`], [`apply_in`], [`dry_run`]), all through a session, on either dialect.
//!
//! The reasons behind each choice are in `docs/field-types.md` (SQLite) and
//! `docs/postgres-mapping.md` (PostgreSQL and how it differs).

pub mod apply;
pub mod ddl;
pub mod diff;
mod error;
pub mod introspect;
pub mod mapping;
pub mod pg;
pub mod plan;
pub mod sqlite;

pub use apply::{
    apply, apply_in, apply_in_with, dry_run, probe, ApplyReport, DryRunReport, ProbeResult,
    StatementFailure,
};
pub use ddl::{check_object, create_table_sql, Ident, IdentKind, IndexSpec, TableDef};
pub use diff::{
    conversion, diff, Change, ChangeClass, ChangeKind, ColumnCopy, ColumnPair, ColumnStep,
    Conversion, ConversionKind, DataCheck, FieldDelta, LossKind, ModelDiff, Rename, Repr,
    TableAction, TableDelta, TablePlan, TableRename, TableStrategy,
};
pub use error::{ApplyError, DiffError, ModelSide, RenameError, SchemaError};
pub use introspect::{expected_schema, introspect_table, ColumnInfo, IndexInfo, TableSchema};
pub use mapping::{
    column_for, mapping_markdown, mapping_table, system_columns, ColumnSpec, JsonShape, MappingRow,
    SqlType, Storage, StorageOptions, MULTIPLE_TYPES,
};
pub use pg::PgType;
pub use plan::{plan, Phase, Plan, PlannedStatement};
pub use sqlite::{rebuild_table_name, REBUILD_PREFIX};
