//! The PostgreSQL planner: the same six phases as SQLite (see [`crate::plan`]), with `ALTER TABLE`
//! everywhere and no table rebuild. PostgreSQL runs DDL inside transactions, so the whole plan runs
//! in the caller's single transaction and a failing statement undoes everything.
//!
//! Per surviving table (phase 4), from the diff's neutral [`TableDelta`]: drop columns; rename
//! columns (with their CHECK constraint); then per kept column: drop a CHECK that changes, drop a
//! default that changes, drop NOT NULL, `ALTER COLUMN … TYPE … USING …` (exact or failing, see
//! [`super::using_expr`]), set the new default, fill NULLs from the default and set NOT NULL, add
//! the new CHECK; finally add columns.

use objectos_spec::ObjectDefinition;
use objectos_sql::Dialect;

use crate::ddl::{Ident, IndexSpec};
use crate::diff::{ColumnPair, ConversionKind, ModelDiff, TableDelta, TableStrategy};
use crate::plan::{
    create_index_statement, create_table_statement, drop_phases, model_table, rename_table_sql,
    Phase, PlannedStatement,
};
use crate::SchemaError;

use super::{
    check_expr, check_name, column_definition, column_type, create_table_sql, default_literal,
    primary_key_name, using_expr,
};

/// Turns a diff into ordered PostgreSQL statements; `next` is the model being deployed, from which
/// created tables and their indexes are taken.
pub fn plan(
    diff: &ModelDiff,
    next: &[ObjectDefinition],
) -> Result<Vec<PlannedStatement>, SchemaError> {
    let table_plan = diff.per_table_actions();
    let model = |name: &Ident| model_table(next, name);
    let mut out = Vec::new();

    // (1) Indexes, (2) tables.
    out.extend(drop_phases(
        Dialect::Postgres,
        diff,
        &table_plan.tables,
        |a| &a.delta.drop_indexes,
    ));

    // (3) Renames, each with its primary key constraint (so the old name's `_pkey` is free).
    for rename in &table_plan.table_renames {
        let (from, to) = (&rename.from, &rename.to);
        out.push(PlannedStatement {
            sql: rename_table_sql(from, to),
            reversible: true,
            rollback_sql: Some(rename_table_sql(to, from)),
            phase: Phase::RenameTables,
            table: from.to_string(),
            comment: format!("rename table {from} to {to}"),
        });
        let (old_pk, new_pk) = (primary_key_name(from), primary_key_name(to));
        out.push(PlannedStatement {
            sql: rename_constraint_sql(to, &old_pk, &new_pk),
            reversible: true,
            rollback_sql: Some(rename_constraint_sql(to, &new_pk, &old_pk)),
            phase: Phase::RenameTables,
            table: to.to_string(),
            comment: format!("rename the primary key of {to} to {new_pk}"),
        });
    }

    // (4) Column steps.
    for action in &table_plan.tables {
        let Some(table) = &action.next else {
            continue;
        };
        if matches!(
            action.strategy,
            TableStrategy::Create(_) | TableStrategy::Drop
        ) {
            continue;
        }
        out.extend(alter_table(table, &action.delta)?);
    }

    // (5) New tables.
    for action in &table_plan.tables {
        if let (TableStrategy::Create(_), Some(table)) = (&action.strategy, &action.next) {
            let def = model(table)?;
            out.push(create_table_statement(table, create_table_sql(&def)?));
        }
    }

    // (6) Indexes, from the model for created tables.
    for action in &table_plan.tables {
        let Some(table) = &action.next else {
            continue;
        };
        let indexes: Vec<IndexSpec> = match &action.strategy {
            TableStrategy::Create(_) => model(table)?.indexes,
            TableStrategy::Drop => Vec::new(),
            _ => action.delta.create_indexes.clone(),
        };
        out.extend(
            indexes
                .iter()
                .map(|index| create_index_statement(Dialect::Postgres, table, index)),
        );
    }

    Ok(out)
}

fn rename_constraint_sql(table: &Ident, from: &Ident, to: &Ident) -> String {
    format!(
        "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
        table.quoted(),
        from.quoted(),
        to.quoted()
    )
}

/// Collects the statements of one table.
struct Steps<'a> {
    table: &'a Ident,
    out: Vec<PlannedStatement>,
}

impl Steps<'_> {
    fn push(&mut self, sql: String, rollback_sql: Option<String>, comment: String) {
        self.out.push(PlannedStatement {
            reversible: rollback_sql.is_some(),
            sql,
            rollback_sql,
            phase: Phase::Alter,
            table: self.table.to_string(),
            comment,
        });
    }

    /// `ALTER TABLE "t" <action>`.
    fn alter(&self, action: &str) -> String {
        format!("ALTER TABLE {} {action}", self.table.quoted())
    }
}

fn alter_table(table: &Ident, delta: &TableDelta) -> Result<Vec<PlannedStatement>, SchemaError> {
    let mut steps = Steps {
        table,
        out: Vec::new(),
    };

    for column in &delta.dropped {
        let sql = steps.alter(&format!("DROP COLUMN {}", column.name.quoted()));
        steps.push(
            sql,
            None,
            format!("drop column {table}.{} and its values", column.name),
        );
    }

    // Live columns carrying a CHECK, by their current name.
    let mut checked: Vec<Ident> = delta
        .kept
        .iter()
        .filter(|p| check_expr(&p.old.name, p.old.storage).is_some())
        .map(|p| p.old.name.clone())
        .collect();
    for (from, to) in &delta.renames {
        let sql = steps.alter(&format!(
            "RENAME COLUMN {} TO {}",
            from.quoted(),
            to.quoted()
        ));
        let back = steps.alter(&format!(
            "RENAME COLUMN {} TO {}",
            to.quoted(),
            from.quoted()
        ));
        steps.push(
            sql,
            Some(back),
            format!("rename column {table}.{from} to {to}"),
        );
        if let Some(at) = checked.iter().position(|c| c == from) {
            checked[at] = to.clone();
            let (old, new) = (check_name(from), check_name(to));
            steps.push(
                rename_constraint_sql(table, &old, &new),
                Some(rename_constraint_sql(table, &new, &old)),
                format!("rename the CHECK of {table}.{to} to {new}"),
            );
        }
    }

    for pair in &delta.kept {
        alter_column(&mut steps, pair)?;
    }

    for (_, column) in &delta.added {
        let sql = steps.alter(&format!("ADD COLUMN {}", column_definition(column, table)?));
        let back = steps.alter(&format!("DROP COLUMN {}", column.name.quoted()));
        steps.push(
            sql,
            Some(back),
            format!("add column {table}.{}", column.name),
        );
    }
    Ok(steps.out)
}

/// The steps changing one kept column (already under its new name).
fn alter_column(steps: &mut Steps<'_>, pair: &ColumnPair) -> Result<(), SchemaError> {
    let table = steps.table.clone();
    let (old, new) = (&pair.old, &pair.new);
    let name = &new.name;
    let c = name.quoted();
    let column = |action: String| format!("ALTER COLUMN {c} {action}");
    let (old_type, new_type) = (column_type(old), column_type(new));
    let (old_check, new_check) = (check_expr(name, old.storage), check_expr(name, new.storage));
    let (old_default, new_default) = (default_literal(old)?, default_literal(new)?);
    let drops_values = matches!(
        pair.conversion.kind,
        ConversionKind::Lossy | ConversionKind::Materialize | ConversionKind::Dematerialize
    );
    let retype = old_type != new_type || drops_values;
    let default_changes = retype || old_default != new_default;
    let check = check_name(name);

    if let Some(expr) = old_check.as_ref().filter(|_| old_check != new_check) {
        let sql = steps.alter(&format!("DROP CONSTRAINT {}", check.quoted()));
        let back = steps.alter(&format!("ADD CONSTRAINT {} CHECK ({expr})", check.quoted()));
        steps.push(sql, Some(back), format!("drop the CHECK of {table}.{name}"));
    }
    if let Some(default) = old_default.as_ref().filter(|_| default_changes) {
        let sql = steps.alter(&column("DROP DEFAULT".to_owned()));
        let back = steps.alter(&column(format!("SET DEFAULT {default}")));
        steps.push(
            sql,
            Some(back),
            format!("drop the default of {table}.{name}"),
        );
    }
    if old.not_null && !new.not_null {
        let sql = steps.alter(&column("DROP NOT NULL".to_owned()));
        let back = steps.alter(&column("SET NOT NULL".to_owned()));
        steps.push(sql, Some(back), format!("make {table}.{name} optional"));
    }
    if retype {
        let using = using_expr(
            &c,
            old_type,
            new_type,
            pair.conversion,
            new_default.as_deref(),
        );
        let sql = steps.alter(&column(format!("TYPE {new_type} USING {using}")));
        let how = if drops_values {
            "dropping its values"
        } else {
            "converting every value exactly or failing"
        };
        steps.push(
            sql,
            None,
            format!(
                "change {table}.{name} from {} to {}, {how}",
                old_type.as_str(),
                new_type.as_str()
            ),
        );
    }
    if let Some(default) = new_default.as_ref().filter(|_| default_changes) {
        let sql = steps.alter(&column(format!("SET DEFAULT {default}")));
        let back = steps.alter(&column("DROP DEFAULT".to_owned()));
        steps.push(
            sql,
            Some(back),
            format!("set the default of {table}.{name}"),
        );
    }
    if new.not_null && !old.not_null {
        if let Some(default) = &new_default {
            steps.push(
                format!(
                    "UPDATE {} SET {c} = {default} WHERE {c} IS NULL",
                    table.quoted()
                ),
                None,
                format!("fill the NULLs of {table}.{name} with its default"),
            );
        }
        let sql = steps.alter(&column("SET NOT NULL".to_owned()));
        let back = steps.alter(&column("DROP NOT NULL".to_owned()));
        steps.push(sql, Some(back), format!("make {table}.{name} required"));
    }
    if let Some(expr) = new_check.as_ref().filter(|_| old_check != new_check) {
        let sql = steps.alter(&format!("ADD CONSTRAINT {} CHECK ({expr})", check.quoted()));
        let back = steps.alter(&format!("DROP CONSTRAINT {}", check.quoted()));
        steps.push(sql, Some(back), format!("add the CHECK of {table}.{name}"));
    }
    Ok(())
}
