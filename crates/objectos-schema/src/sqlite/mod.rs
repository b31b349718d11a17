//! The SQLite dialect: `STRICT` tables of `TEXT`/`INTEGER`/`REAL` columns (the mapping is in
//! [`crate::mapping`], the DDL in [`crate::ddl`]), its per-table choice between native `ALTER TABLE`
//! and a rebuild (made from the diff's neutral [`crate::TableDelta`]), its planner ([`plan()`]), introspection through pragmas ([`introspect_table`]) and the SQL of its data
//! probes.

mod introspect;
mod plan;
mod strategy;

pub use introspect::introspect_table;
pub use plan::{copy_expr, plan, rebuild_table_name, REBUILD_PREFIX};
pub(crate) use strategy::decide;

use crate::diff::Repr;
use crate::mapping::JsonShape;

/// A SQL condition true for a non-NULL value of `c` (quoted) that the `STRICT` target column would
/// refuse (or its CHECK would); `None` when every value converts. Text is judged numeric when it is
/// a JSON number (`12`, `-1.5`, `2e3`); SQLite's own text → number rules are slightly more lenient
/// (`+5`, `1.`), so the probe errs on the side of refusing.
pub(crate) fn not_castable_condition(c: &str, from: Repr, to: Repr) -> Option<String> {
    let numeric_text =
        format!("(json_valid({c}) AND json_type(CASE WHEN json_valid({c}) THEN {c} END) IN ('integer', 'real'))");
    match (from, to) {
        (Repr::Real, Repr::Integer) => Some(format!("{c} != CAST({c} AS INTEGER)")),
        (Repr::Text, Repr::Integer) => Some(format!(
            "NOT ({numeric_text} AND CAST({c} AS REAL) = CAST(CAST({c} AS REAL) AS INTEGER))"
        )),
        (Repr::Text, Repr::Real) => Some(format!("NOT {numeric_text}")),
        (Repr::Integer | Repr::Real, Repr::Boolean) => Some(format!("{c} NOT IN (0, 1)")),
        (Repr::Text, Repr::Boolean) => Some(format!(
            "NOT ({numeric_text} AND CAST({c} AS REAL) IN (0, 1))"
        )),
        (Repr::Json(_), Repr::Json(shape @ (JsonShape::Array | JsonShape::Object))) => {
            Some(format!(
            "NOT (json_valid({c}) AND json_type(CASE WHEN json_valid({c}) THEN {c} END) = '{}')",
            shape.as_str()
        ))
        }
        _ => None,
    }
}
