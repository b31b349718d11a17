//! SQLite's choice per surviving table: native `ALTER TABLE` steps, or a rebuild when SQLite's
//! `ALTER TABLE` cannot make the change (a type, CHECK, NOT NULL or DEFAULT change, or a NOT NULL
//! column without a default). The diff says what changed ([`TableDelta`]); this says how.

use crate::ddl::{Ident, IndexSpec, TableDef};
use crate::diff::{
    ColumnCopy, ColumnStep, Conversion, ConversionKind, Repr, TableDelta, TableStrategy,
};

/// SQLite's strategy for one table, with the indexes it drops and creates (all of them for a
/// rebuild).
pub(crate) struct Decision {
    pub strategy: TableStrategy,
    pub drop_indexes: Vec<Ident>,
    pub create_indexes: Vec<IndexSpec>,
}

/// Decides how SQLite changes table `pt` into `nt` given their `delta` (`renamed`: the table is
/// renamed too).
pub(crate) fn decide(pt: &TableDef, nt: &TableDef, delta: &TableDelta, renamed: bool) -> Decision {
    let mut drop_indexes = delta.drop_indexes.clone();
    let mut create_indexes = delta.create_indexes.clone();
    let column_renames: Vec<(Ident, Ident)> = delta
        .kept
        .iter()
        .filter(|p| p.old.name != p.new.name)
        .map(|p| (p.old.name.clone(), p.new.name.clone()))
        .collect();
    let mut reasons = Vec::new();
    for pair in &delta.kept {
        let (o, n) = (&pair.old, &pair.new);
        // The representation decides type, CHECK and JSON; comparing CHECK text would see a
        // renamed column as a change, while RENAME COLUMN rewrites the CHECK itself.
        if pair.conversion.kind != ConversionKind::Same {
            reasons.push(format!(
                "field '{}': {} → {} changes the column type or CHECK",
                pair.key,
                pair.conversion.from.describe(),
                pair.conversion.to.describe()
            ));
        }
        if o.not_null != n.not_null {
            reasons.push(format!(
                "field '{}': NOT NULL {}",
                pair.key,
                if n.not_null { "added" } else { "removed" }
            ));
        }
        if o.default_sql != n.default_sql {
            reasons.push(format!("field '{}': DEFAULT changed", pair.key));
        }
    }
    for (key, col) in &delta.added {
        if col.not_null && col.default_sql.is_none() {
            reasons.push(format!(
                "field '{key}': ALTER TABLE cannot add a NOT NULL column without a default"
            ));
        }
    }

    let strategy = if !reasons.is_empty() {
        drop_indexes = pt.indexes.iter().map(|i| i.name.clone()).collect();
        create_indexes = nt.indexes.clone();
        let mut copy: Vec<ColumnCopy> = pt
            .columns
            .iter()
            .filter(|c| objectos_spec::model::SYSTEM_COLUMNS.contains(&c.name.as_str()))
            .map(|c| ColumnCopy {
                to: c.name.clone(),
                from: c.name.clone(),
                conversion: Conversion::new(Repr::Text, Repr::Text),
                fill_nulls: None,
            })
            .collect();
        copy.extend(delta.kept.iter().map(|pair| {
            ColumnCopy {
                to: pair.new.name.clone(),
                from: pair.old.name.clone(),
                conversion: pair.conversion,
                fill_nulls: (pair.new.not_null && !pair.old.not_null)
                    .then(|| pair.new.default_sql.clone())
                    .flatten(),
            }
        }));
        TableStrategy::Rebuild {
            target: nt.clone(),
            copy,
            reasons,
        }
    } else {
        let mut steps: Vec<ColumnStep> = delta
            .dropped
            .iter()
            .map(|c| ColumnStep::DropColumn(c.name.clone()))
            .collect();
        let mut order: Vec<Ident> = pt
            .columns
            .iter()
            .map(|c| c.name.clone())
            .filter(|c| !delta.dropped.iter().any(|d| &d.name == c))
            .collect();
        for c in order.iter_mut() {
            if let Some((_, to)) = column_renames.iter().find(|(from, _)| from == c) {
                *c = to.clone();
            }
        }
        steps.extend(
            delta
                .renames
                .iter()
                .map(|(from, to)| ColumnStep::RenameColumn {
                    from: from.clone(),
                    to: to.clone(),
                }),
        );
        for (_, col) in &delta.added {
            order.push(col.name.clone());
            steps.push(ColumnStep::AddColumn(col.clone()));
        }
        if steps.is_empty() && drop_indexes.is_empty() && create_indexes.is_empty() && !renamed {
            TableStrategy::MetadataOnly
        } else {
            TableStrategy::Alter {
                steps,
                column_order: order,
            }
        }
    };
    Decision {
        strategy,
        drop_indexes,
        create_indexes,
    }
}
