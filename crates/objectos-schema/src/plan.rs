//! The plan stage of a deployment: a [`ModelDiff`] in, ordered DDL statements of one dialect out
//! (research/migrations.md §1.1, §1.2, §8.4). No database access.
//!
//! Statements follow six phases, across all tables, so that every name is free when it is reused:
//! (1) drop indexes, (2) drop tables, (3) rename tables (swaps through `_objectos_tmp_<n>`),
//! (4) per table, column steps (SQLite: native `ALTER TABLE` **or** one rebuild; PostgreSQL: `ALTER
//! TABLE` only), (5) create tables, (6) create indexes. The dialects' planners are
//! [`crate::sqlite::plan`] and [`crate::pg::plan`].
//!
//! SQLite:
//!
//! A rebuild is the 12-step procedure reduced to what objectos owns (no foreign keys, triggers or
//! views are created by objectos, so steps 1, 9, 10 and 12 have nothing to do):
//! `CREATE TABLE "_objectos_new_<t>"` with the full target definition → `INSERT INTO new (…) SELECT
//! <exprs> FROM "<t>"` → `DROP TABLE "<t>"` → `ALTER TABLE new RENAME TO "<t>"`; the indexes are
//! dropped in phase 1 and re-created from the model in phase 6.
//!
//! Copy expressions: an unchanged or renamed column is copied as is; a widening uses `CAST` (or the
//! JSON functions); a **narrowing copies the raw value** so that the `STRICT` table refuses a value it
//! cannot store losslessly (`CAST(1.5 AS INTEGER)` would silently give 1) — [`crate::probe`] counts
//! those values beforehand; a lossy (acknowledged) conversion drops the values (the target's default,
//! else NULL); a field made required with a default fills NULLs with `COALESCE(…, default)`.

use objectos_spec::types::deploy::{MigrationPlan, MigrationStatement};
use objectos_spec::ObjectDefinition;
use objectos_sql::Dialect;

use crate::ddl::{Ident, IndexSpec, TableDef};
use crate::diff::{ChangeKind, ModelDiff, TableAction};
use crate::SchemaError;

/// The phase a statement belongs to (the order in which phases run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// (1) `DROP INDEX`.
    DropIndexes,
    /// (2) `DROP TABLE`.
    DropTables,
    /// (3) `ALTER TABLE … RENAME TO`.
    RenameTables,
    /// (4) native `ALTER TABLE` column steps.
    Alter,
    /// (4) one step of a SQLite table rebuild (never on PostgreSQL).
    Rebuild,
    /// (5) `CREATE TABLE`.
    CreateTables,
    /// (6) `CREATE INDEX`.
    CreateIndexes,
}

/// One planned statement with its reverse, its phase and a one-line explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedStatement {
    /// The SQL (one statement, no trailing `;`).
    pub sql: String,
    /// True when `rollback_sql` undoes it without losing data.
    pub reversible: bool,
    /// The statement that undoes this one, run in reverse plan order.
    pub rollback_sql: Option<String>,
    /// Its phase.
    pub phase: Phase,
    /// The table it acts on (its name when the statement runs).
    pub table: String,
    /// What it does, for review.
    pub comment: String,
}

/// An ordered migration plan for one dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The dialect the statements are written in.
    pub dialect: Dialect,
    /// Statements in execution order.
    pub statements: Vec<PlannedStatement>,
}

impl Plan {
    /// A plan with nothing to run.
    pub fn empty(dialect: Dialect) -> Self {
        Self {
            dialect,
            statements: Vec::new(),
        }
    }

    /// True when there is nothing to run.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// True when every statement has a lossless reverse.
    pub fn reversible(&self) -> bool {
        self.statements.iter().all(|s| s.reversible)
    }

    /// True when some table is rebuilt.
    pub fn has_rebuild(&self) -> bool {
        self.statements.iter().any(|s| s.phase == Phase::Rebuild)
    }

    /// The reverse statements, in the order they must run (last statement's reverse first); `None`
    /// when some statement has none.
    pub fn rollback_statements(&self) -> Option<Vec<String>> {
        self.statements
            .iter()
            .rev()
            .map(|s| s.rollback_sql.clone().filter(|_| s.reversible))
            .collect()
    }

    /// The protocol's `MigrationPlan` (`dialect.as_str()`, `order` 0..n).
    pub fn to_migration_plan(&self) -> MigrationPlan {
        MigrationPlan {
            statements: self
                .statements
                .iter()
                .enumerate()
                .map(|(i, s)| MigrationStatement {
                    sql: s.sql.clone(),
                    reversible: s.reversible,
                    rollback_sql: s.rollback_sql.clone(),
                    order: i as u64,
                })
                .collect(),
            dialect: self.dialect.as_str().to_owned(),
            reversible: self.reversible(),
            estimated_duration_ms: None,
        }
    }
}

/// Turns a diff into ordered statements of `dialect`; `next` is the model being deployed, from which
/// created (and, on SQLite, rebuilt) tables and their indexes are taken.
pub fn plan(
    dialect: Dialect,
    diff: &ModelDiff,
    next: &[ObjectDefinition],
) -> Result<Plan, SchemaError> {
    let statements = match dialect {
        Dialect::Sqlite => crate::sqlite::plan(diff, next)?,
        Dialect::Postgres => crate::pg::plan(diff, next)?,
    };
    Ok(Plan {
        dialect,
        statements,
    })
}

/// The table of `next` whose physical table is `name`, mapped.
pub(crate) fn model_table(
    next: &[ObjectDefinition],
    name: &Ident,
) -> Result<TableDef, SchemaError> {
    let object = next
        .iter()
        .find(|o| o.table() == name.as_str())
        .ok_or_else(|| SchemaError::NotInModel {
            table: name.to_string(),
        })?;
    TableDef::from_object(object)
}

/// The deployed definition of an index the diff drops, when the diff lists it as a change.
pub(crate) fn dropped_index_spec(
    diff: &ModelDiff,
    action: &TableAction,
    name: &Ident,
) -> Option<IndexSpec> {
    action
        .changes
        .iter()
        .filter_map(|&i| diff.changes.get(i))
        .find_map(|c| match &c.kind {
            ChangeKind::DropIndex { index, .. } if &index.name == name => Some(index.clone()),
            _ => None,
        })
}

/// `ALTER TABLE "from" RENAME TO "to"` (both dialects).
/// Phases (1) and (2), written the same in every dialect: `DROP INDEX` of the indexes
/// `drop_indexes` lists for each table (reversible from the previous model's definition), then
/// `DROP TABLE` of the dropped tables.
pub(crate) fn drop_phases<'a>(
    dialect: Dialect,
    diff: &ModelDiff,
    tables: &'a [TableAction],
    drop_indexes: impl Fn(&'a TableAction) -> &'a [Ident],
) -> Vec<PlannedStatement> {
    let mut out = Vec::new();
    for action in tables {
        for index in drop_indexes(action) {
            let table = action
                .previous
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            let old = dropped_index_spec(diff, action, index);
            out.push(PlannedStatement {
                sql: format!("DROP INDEX {}", index.quoted()),
                reversible: old.is_some(),
                rollback_sql: old.and_then(|spec| {
                    action
                        .previous
                        .as_ref()
                        .map(|t| spec.create_sql(dialect, t))
                }),
                phase: Phase::DropIndexes,
                table,
                comment: format!("drop index {index}"),
            });
        }
    }
    for action in tables {
        if let (crate::diff::TableStrategy::Drop, Some(table)) =
            (&action.strategy, &action.previous)
        {
            out.push(PlannedStatement {
                sql: format!("DROP TABLE {}", table.quoted()),
                reversible: false,
                rollback_sql: None,
                phase: Phase::DropTables,
                table: table.to_string(),
                comment: format!("drop table {table} and its rows"),
            });
        }
    }
    out
}

/// Phase (5): `CREATE TABLE` (its SQL in the dialect), undone by dropping the table.
pub(crate) fn create_table_statement(table: &Ident, sql: String) -> PlannedStatement {
    PlannedStatement {
        sql,
        reversible: true,
        rollback_sql: Some(format!("DROP TABLE {}", table.quoted())),
        phase: Phase::CreateTables,
        table: table.to_string(),
        comment: format!("create table {table}"),
    }
}

/// Phase (6): `CREATE [UNIQUE] INDEX` (see [`IndexSpec::create_sql`]), undone by dropping it.
pub(crate) fn create_index_statement(
    dialect: Dialect,
    table: &Ident,
    index: &IndexSpec,
) -> PlannedStatement {
    PlannedStatement {
        sql: index.create_sql(dialect, table),
        reversible: true,
        rollback_sql: Some(format!("DROP INDEX {}", index.name.quoted())),
        phase: Phase::CreateIndexes,
        table: table.to_string(),
        comment: format!(
            "create {}index {} on {table}",
            if index.unique { "unique " } else { "" },
            index.name
        ),
    }
}

pub(crate) fn rename_table_sql(from: &Ident, to: &Ident) -> String {
    format!("ALTER TABLE {} RENAME TO {}", from.quoted(), to.quoted())
}
