//! The SQLite planner: native `ALTER TABLE` steps, or one rebuild per table (see [`crate::plan`]).
//!
//! A rebuild is the 12-step procedure reduced to what objectos owns (no foreign keys, triggers or
//! views are created by objectos, so steps 1, 9, 10 and 12 have nothing to do):
//! `CREATE TABLE "_objectos_new_<t>"` with the full target definition → `INSERT INTO new (…) SELECT
//! <exprs> FROM "<t>"` → `DROP TABLE "<t>"` → `ALTER TABLE new RENAME TO "<t>"`; the indexes are
//! dropped in phase 1 and re-created from the model in phase 6.

use objectos_spec::ObjectDefinition;
use objectos_sql::Dialect;

use crate::ddl::{Ident, IdentKind, IndexSpec, TableDef};
use crate::diff::{ColumnCopy, ColumnStep, ConversionKind, ModelDiff, Repr, TableStrategy};
use crate::mapping::JsonShape;
use crate::plan::{
    create_index_statement, create_table_statement, drop_phases, model_table, rename_table_sql,
    Phase, PlannedStatement,
};
use crate::SchemaError;

/// The prefix of the temporary table a rebuild creates.
pub const REBUILD_PREFIX: &str = "_objectos_new_";

/// Turns a diff into ordered SQLite statements; `next` is the model being deployed, from which created
/// and rebuilt tables and their indexes are taken.
pub fn plan(
    diff: &ModelDiff,
    next: &[ObjectDefinition],
) -> Result<Vec<PlannedStatement>, SchemaError> {
    let table_plan = diff.per_table_actions();
    let model = |name: &Ident| model_table(next, name);
    let mut out = Vec::new();

    // (1) Indexes, (2) tables.
    out.extend(drop_phases(
        Dialect::Sqlite,
        diff,
        &table_plan.tables,
        |a| &a.drop_indexes,
    ));

    // (3) Renames.
    for rename in &table_plan.table_renames {
        out.push(PlannedStatement {
            sql: rename_table_sql(&rename.from, &rename.to),
            reversible: true,
            rollback_sql: Some(rename_table_sql(&rename.to, &rename.from)),
            phase: Phase::RenameTables,
            table: rename.from.to_string(),
            comment: format!("rename table {} to {}", rename.from, rename.to),
        });
    }

    // (4) Alter or rebuild.
    for action in &table_plan.tables {
        let Some(table) = &action.next else {
            continue;
        };
        match &action.strategy {
            TableStrategy::Alter { steps, .. } => {
                for step in steps {
                    out.push(alter_step(table, step));
                }
            }
            TableStrategy::Rebuild { copy, reasons, .. } => {
                let target = model(table)?;
                out.extend(rebuild(&target, copy, reasons)?);
            }
            TableStrategy::Create(_) | TableStrategy::Drop | TableStrategy::MetadataOnly => {}
        }
    }

    // (5) New tables.
    for action in &table_plan.tables {
        if let (TableStrategy::Create(_), Some(table)) = (&action.strategy, &action.next) {
            let def = model(table)?;
            out.push(create_table_statement(table, def.create_table_sql()));
        }
    }

    // (6) Indexes, from the model for created and rebuilt tables.
    for action in &table_plan.tables {
        let Some(table) = &action.next else {
            continue;
        };
        let indexes: Vec<IndexSpec> = match &action.strategy {
            TableStrategy::Create(_) | TableStrategy::Rebuild { .. } => model(table)?.indexes,
            _ => action.create_indexes.clone(),
        };
        out.extend(
            indexes
                .iter()
                .map(|index| create_index_statement(Dialect::Sqlite, table, index)),
        );
    }

    Ok(out)
}

fn alter_step(table: &Ident, step: &ColumnStep) -> PlannedStatement {
    let t = table.quoted();
    let (sql, rollback_sql, comment) = match step {
        ColumnStep::DropColumn(column) => (
            format!("ALTER TABLE {t} DROP COLUMN {}", column.quoted()),
            None,
            format!("drop column {table}.{column} and its values"),
        ),
        ColumnStep::RenameColumn { from, to } => (
            format!(
                "ALTER TABLE {t} RENAME COLUMN {} TO {}",
                from.quoted(),
                to.quoted()
            ),
            Some(format!(
                "ALTER TABLE {t} RENAME COLUMN {} TO {}",
                to.quoted(),
                from.quoted()
            )),
            format!("rename column {table}.{from} to {to}"),
        ),
        ColumnStep::AddColumn(column) => (
            format!("ALTER TABLE {t} ADD COLUMN {}", column.definition_sql()),
            Some(format!(
                "ALTER TABLE {t} DROP COLUMN {}",
                column.name.quoted()
            )),
            format!("add column {table}.{}", column.name),
        ),
    };
    PlannedStatement {
        reversible: rollback_sql.is_some(),
        sql,
        rollback_sql,
        phase: Phase::Alter,
        table: table.to_string(),
        comment,
    }
}

/// The temporary name of a rebuilt table: `_objectos_new_<table>`, shortened with a hash past 63
/// characters.
pub fn rebuild_table_name(table: &Ident) -> Result<Ident, SchemaError> {
    // Identifiers are ASCII, so shortening cannot split a character.
    Ident::new(
        IdentKind::Table,
        &crate::ddl::shorten(format!("{REBUILD_PREFIX}{table}")),
    )
}

/// The four statements of one table rebuild (indexes are handled in phases 1 and 6).
fn rebuild(
    target: &TableDef,
    copy: &[ColumnCopy],
    reasons: &[String],
) -> Result<Vec<PlannedStatement>, SchemaError> {
    let table = &target.name;
    let new = rebuild_table_name(table)?;
    let why = reasons.join("; ");
    let statement = |sql: String, comment: String| PlannedStatement {
        sql,
        reversible: false,
        rollback_sql: None,
        phase: Phase::Rebuild,
        table: table.to_string(),
        comment,
    };
    let columns: Vec<String> = copy.iter().map(|c| c.to.quoted()).collect();
    let exprs: Vec<String> = copy.iter().map(|c| copy_expr(c, target)).collect();
    Ok(vec![
        statement(
            target.create_table_sql_as(&new),
            format!("rebuild {table} ({why}): create the new table"),
        ),
        statement(
            format!(
                "INSERT INTO {} ({}) SELECT {} FROM {}",
                new.quoted(),
                columns.join(", "),
                exprs.join(", "),
                table.quoted()
            ),
            format!("rebuild {table}: copy the rows"),
        ),
        statement(
            format!("DROP TABLE {}", table.quoted()),
            format!("rebuild {table}: drop the old table"),
        ),
        statement(
            rename_table_sql(&new, table),
            format!("rebuild {table}: rename the new table"),
        ),
    ])
}

/// The `SELECT` expression filling column `copy.to` from the old table.
pub fn copy_expr(copy: &ColumnCopy, target: &TableDef) -> String {
    let c = copy.from.quoted();
    let conv = copy.conversion;
    let boolean_json = format!("CASE WHEN {c} THEN 'true' ELSE 'false' END");
    let expr = match conv.kind {
        ConversionKind::Same | ConversionKind::Narrow => c.clone(),
        ConversionKind::Widen => match (conv.from, conv.to) {
            (_, Repr::Real) => format!("CAST({c} AS REAL)"),
            (_, Repr::Integer) => format!("CAST({c} AS INTEGER)"),
            (_, Repr::Text) => format!("CAST({c} AS TEXT)"),
            (Repr::Json(_), Repr::Json(_)) => c.clone(),
            (Repr::Boolean, Repr::Json(JsonShape::Array)) => {
                format!("CASE WHEN {c} IS NULL THEN NULL ELSE json_array(json({boolean_json})) END")
            }
            (Repr::Boolean, Repr::Json(_)) => {
                format!("CASE WHEN {c} IS NULL THEN NULL ELSE {boolean_json} END")
            }
            (_, Repr::Json(JsonShape::Array)) => {
                format!("CASE WHEN {c} IS NULL THEN NULL ELSE json_array({c}) END")
            }
            (_, Repr::Json(_)) => {
                format!("CASE WHEN {c} IS NULL THEN NULL ELSE json_quote({c}) END")
            }
            // Not a widening the diff produces; copying raw lets STRICT refuse what does not fit.
            _ => c.clone(),
        },
        ConversionKind::Lossy | ConversionKind::Materialize | ConversionKind::Dematerialize => {
            target
                .column(copy.to.as_str())
                .and_then(|col| col.default_sql.clone())
                .unwrap_or_else(|| "NULL".to_owned())
        }
    };
    match &copy.fill_nulls {
        Some(literal) => format!("COALESCE({expr}, {literal})"),
        None => expr,
    }
}
