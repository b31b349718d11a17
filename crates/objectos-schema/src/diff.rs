//! The pure diff stage of a deployment: two models and explicit renames in, a classified change list
//! and a per-table action list out. No database access (research/migrations.md §8.2–8.4).
//!
//! - Objects and fields are matched **by name**, and by the explicit [`Rename`]s the request gives.
//!   Renames are never inferred: a field that disappears while another of the same type appears is a
//!   drop plus an add.
//! - Every [`Change`] carries a [`ChangeClass`] (issue #4, "Change classes"): safe, data-dependent (a
//!   [`DataCheck`] to run against the live rows first) or destructive (refused unless its
//!   acknowledgement token, `object:<name>` or `field:<object>.<field>`, is given).
//! - Type changes are classified on the **storage** of the two fields ([`Repr`], from
//!   [`crate::mapping`]), not on their type names: `text` → `email` is the same TEXT column and needs
//!   nothing, `number` (REAL) → `number` with `scale: 0` (INTEGER) is a narrowing.
//! - Indexes are compared by the names [`crate::ddl`] gives them, declared and implied alike.
//! - [`ModelDiff::per_table_actions`] is the planners' input: per table, the neutral [`TableDelta`]
//!   (columns dropped, renamed, kept with their conversion, added; indexes dropped and created),
//!   which the PostgreSQL planner turns into `ALTER TABLE` steps, and the SQLite strategy
//!   ([`TableStrategy`]: native `ALTER TABLE` or a rebuild, SQLite's own constraint).
//!
//! Names in [`DataCheck`]s are the **live** names (the deployed model's), since probes run before
//! anything changes. Names in [`ChangeKind`] are the new model's, except for what no longer exists
//! (a dropped object or field keeps its deployed name).

use std::collections::{BTreeMap, BTreeSet};

use objectos_spec::types::deploy::{
    ChangeEntityType, ChangeType, DeployDiff, DeployDiffSummary, SchemaChange,
};
use objectos_spec::types::field::{Field, FieldType};
use objectos_spec::ObjectDefinition;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::ddl::{Ident, IdentKind, IndexSpec, TableDef};
use crate::error::{DiffError, ModelSide, RenameError};
use crate::mapping::{column_for, ColumnSpec, JsonShape, SqlType, Storage, StorageOptions};
use crate::{SchemaError, MULTIPLE_TYPES};

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/// An explicit rename from the deploy request (`{"kind": "object"|"field", ...}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Rename {
    /// An object (table) renamed from `from` (deployed) to `to` (new).
    Object {
        /// The name in the deployed model.
        from: String,
        /// The name in the new model.
        to: String,
    },
    /// A field of `object` renamed from `from` to `to`.
    Field {
        /// The object's name **in the new model**.
        object: String,
        /// The field key in the deployed model.
        from: String,
        /// The field key in the new model.
        to: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Storage representation and conversions
// ---------------------------------------------------------------------------------------------

/// How a field's values are physically represented: the part of the mapping a type change is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Repr {
    /// A plain `TEXT` column.
    Text,
    /// A plain `INTEGER` column.
    Integer,
    /// An `INTEGER` column with `CHECK (c IN (0, 1))` (boolean, toggle).
    Boolean,
    /// A `REAL` column.
    Real,
    /// JSON text of this shape, with its CHECK.
    Json(JsonShape),
    /// No column (formula, summary).
    Computed,
}

impl Repr {
    /// The representation of a field, from its type and storage options.
    pub fn of(field: &Field) -> Self {
        let ty = field.r#type;
        match StorageOptions::of(field).storage(ty) {
            Storage::Computed => Self::Computed,
            Storage::Json(shape) => Self::Json(shape),
            Storage::Column(SqlType::Integer)
                if matches!(ty, FieldType::Boolean | FieldType::Toggle) =>
            {
                Self::Boolean
            }
            Storage::Column(SqlType::Integer) => Self::Integer,
            Storage::Column(SqlType::Real) => Self::Real,
            Storage::Column(SqlType::Text) => Self::Text,
        }
    }

    /// A short name for messages (`TEXT`, `boolean INTEGER`, `JSON array`, `computed`).
    pub fn describe(self) -> &'static str {
        match self {
            Self::Text => "TEXT",
            Self::Integer => "INTEGER",
            Self::Boolean => "boolean INTEGER",
            Self::Real => "REAL",
            Self::Json(JsonShape::Any) => "JSON",
            Self::Json(JsonShape::Array) => "JSON array",
            Self::Json(JsonShape::Object) => "JSON object",
            Self::Computed => "computed",
        }
    }
}

/// What converting existing values from one representation to another does to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConversionKind {
    /// Same representation: nothing to convert (`text` → `email`).
    Same,
    /// Every value is representable in the target (safe): INTEGER → REAL, boolean → INTEGER/REAL,
    /// any scalar → TEXT (`CAST`), a scalar → a one-element JSON array (`json_array(c)`), a scalar →
    /// JSON (`json_quote(c)`; booleans as `true`/`false`), a JSON array or object → any JSON.
    Widen,
    /// Only some values are representable (data-dependent): REAL → INTEGER (fractions), TEXT → a
    /// number, anything → boolean (values other than 0/1), any JSON → a JSON array/object.
    Narrow,
    /// Values cannot be carried over with their meaning (destructive): JSON ↔ scalar (a list does not
    /// fit in one value, and keeping the JSON text would turn `["a"]` into the string `["a"]`), a
    /// scalar → a JSON object, a JSON array ↔ a JSON object.
    Lossy,
    /// A computed field becomes stored: a new column (existing rows get NULL or the default).
    Materialize,
    /// A stored field becomes computed: its column and values are dropped (destructive).
    Dematerialize,
}

/// Classifies converting stored values from `from` to `to`.
pub fn conversion(from: Repr, to: Repr) -> ConversionKind {
    use ConversionKind as C;
    use Repr::{Boolean, Computed, Integer, Json, Real, Text};
    if from == to {
        return C::Same;
    }
    match (from, to) {
        (Computed, _) => C::Materialize,
        (_, Computed) => C::Dematerialize,
        (Boolean, Integer | Real | Text) | (Integer, Real | Text) | (Real, Text) => C::Widen,
        (Integer | Real | Text, Boolean) | (Real | Text, Integer) | (Text, Real) => C::Narrow,
        (Json(JsonShape::Array | JsonShape::Object), Json(JsonShape::Any)) => C::Widen,
        (Json(JsonShape::Any), Json(_)) => C::Narrow,
        (Json(_), _) => C::Lossy,
        (_, Json(JsonShape::Array | JsonShape::Any)) => C::Widen,
        (_, Json(JsonShape::Object)) => C::Lossy,
        // Every pair of distinct scalars is listed above; this arm is unreachable but keeps the
        // conservative answer should a representation be added.
        _ => C::Lossy,
    }
}

/// A conversion of a column's values, as the rebuild must perform it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conversion {
    /// The deployed representation.
    pub from: Repr,
    /// The new representation.
    pub to: Repr,
    /// Its classification.
    pub kind: ConversionKind,
}

impl Conversion {
    /// The conversion from `from` to `to`, classified by [`conversion`].
    pub fn new(from: Repr, to: Repr) -> Self {
        Self {
            from,
            to,
            kind: conversion(from, to),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Classes
// ---------------------------------------------------------------------------------------------

/// A read-only probe to run against the live rows before a data-dependent change is applied.
///
/// Table and column names are the **live** (deployed) names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataCheck {
    /// Rows where `column` is NULL (making a field required without a default).
    NullsIn {
        /// Live table.
        table: String,
        /// Live column.
        column: String,
    },
    /// Groups of rows with equal non-NULL values in `columns` (a new unique index).
    DuplicatesIn {
        /// Live table.
        table: String,
        /// Live columns, in index order.
        columns: Vec<String>,
    },
    /// Non-NULL values of `column` that do not convert losslessly from `from` to `to`.
    NotCastable {
        /// Live table.
        table: String,
        /// Live column.
        column: String,
        /// The current representation.
        from: Repr,
        /// The target representation.
        to: Repr,
    },
    /// Any row at all (a new NOT NULL column without a default cannot be filled).
    NonEmptyTable {
        /// Live table.
        table: String,
    },
    /// More than one row (a new unique index over new columns that all take the same default).
    MultipleRows {
        /// Live table.
        table: String,
    },
    /// Several probes, all of which must find nothing.
    All(Vec<DataCheck>),
}

impl DataCheck {
    /// The probes, with [`DataCheck::All`] flattened.
    pub fn leaves(&self) -> Vec<&DataCheck> {
        match self {
            Self::All(checks) => checks.iter().flat_map(DataCheck::leaves).collect(),
            other => vec![other],
        }
    }
}

/// What a destructive change loses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LossKind {
    /// Every row of the table (an object dropped).
    Rows {
        /// Live table.
        table: String,
    },
    /// Every value of a column (a field dropped, or made computed).
    ColumnValues {
        /// Live table.
        table: String,
        /// Live column.
        column: String,
    },
    /// The values' meaning, converted between incompatible representations.
    Conversion {
        /// Live table.
        table: String,
        /// Live column.
        column: String,
        /// From.
        from: Repr,
        /// To.
        to: Repr,
    },
}

/// How risky a change is (issue #4 "Change classes"; `hasBreakingChanges` = anything not safe).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChangeClass {
    /// Cannot fail on data nor lose any.
    Safe,
    /// Fails on some data: run `check` against the live rows first and refuse with counts.
    DataDependent {
        /// The probe.
        check: DataCheck,
    },
    /// Loses data: refused unless `entity` is acknowledged.
    Destructive {
        /// The acknowledgement token: `object:<name>` or `field:<object>.<field>`.
        entity: String,
        /// What is lost.
        loses: LossKind,
    },
}

impl ChangeClass {
    /// True for [`ChangeClass::Safe`].
    pub fn is_safe(&self) -> bool {
        matches!(self, Self::Safe)
    }

    fn rank(&self) -> u8 {
        match self {
            Self::Safe => 0,
            Self::DataDependent { .. } => 1,
            Self::Destructive { .. } => 2,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Changes
// ---------------------------------------------------------------------------------------------

/// One attribute of a field that changed.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldDelta {
    /// The field type.
    Type {
        /// Before.
        from: FieldType,
        /// After.
        to: FieldType,
    },
    /// The storage representation (caused by the type or a storage option) and its conversion.
    Storage(Conversion),
    /// `required` (NOT NULL).
    Required {
        /// Before.
        from: bool,
        /// After.
        to: bool,
    },
    /// `unique`; the data check, if any, is on the [`ChangeKind::AddIndex`] it causes (`ddl.rs` may
    /// find that an existing index already serves it).
    Unique {
        /// Before.
        from: bool,
        /// After.
        to: bool,
    },
    /// `defaultValue` (`None` = no default).
    Default {
        /// Before.
        from: Option<Value>,
        /// After.
        to: Option<Value>,
    },
    /// `columnName` changed, so the physical column is renamed.
    Column {
        /// Live column.
        from: String,
        /// New column.
        to: String,
    },
    /// An option that changes storage for this type: `scale` (0 or not), `multiple`, `allowHalf`.
    StorageOption {
        /// The option's JSON name.
        option: &'static str,
        /// Before (`null` when unset).
        from: Value,
        /// After.
        to: Value,
    },
    /// Attributes with no storage effect (label, description, options, min/max, index flags...),
    /// by JSON name, sorted.
    Metadata {
        /// The changed attributes.
        keys: Vec<String>,
    },
}

/// What changed. Object names are the new model's, except in [`ChangeKind::DropObject`].
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeKind {
    /// A new object: `CREATE TABLE` and its indexes.
    AddObject {
        /// Name.
        object: String,
    },
    /// An object removed: its table and rows are dropped.
    DropObject {
        /// Deployed name.
        object: String,
    },
    /// An object renamed (explicitly).
    RenameObject {
        /// Deployed name.
        from: String,
        /// New name.
        to: String,
    },
    /// Object attributes with no storage effect (label, icon, enable...), by JSON name, sorted.
    ChangeObject {
        /// Name.
        object: String,
        /// The changed attributes.
        keys: Vec<String>,
    },
    /// A new field (a new column unless computed).
    AddField {
        /// Object.
        object: String,
        /// Field key.
        field: String,
    },
    /// A field removed (its column and values too, unless computed).
    DropField {
        /// Object.
        object: String,
        /// Deployed field key.
        field: String,
    },
    /// A field renamed (explicitly).
    RenameField {
        /// Object.
        object: String,
        /// Deployed key.
        from: String,
        /// New key.
        to: String,
    },
    /// A field whose definition changed (keyed by its new key).
    ChangeField {
        /// Object.
        object: String,
        /// New key.
        field: String,
        /// Everything that changed.
        deltas: Vec<FieldDelta>,
    },
    /// An index created on an existing table (declared or implied, named as `ddl.rs` names it).
    AddIndex {
        /// Object.
        object: String,
        /// The index (new column names).
        index: IndexSpec,
    },
    /// An index dropped from a surviving table.
    DropIndex {
        /// Object.
        object: String,
        /// The index (live column names).
        index: IndexSpec,
    },
}

/// A classified change, with the JSON reported as `oldValue`/`newValue` in the `DeployDiff`.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// What changed.
    pub kind: ChangeKind,
    /// Its class (the worst of its parts).
    pub class: ChangeClass,
    /// Every probe this change needs, also when it is destructive (an acknowledged lossy change
    /// that also makes the field required still needs the NULL probe).
    pub checks: Vec<DataCheck>,
    /// The previous value (definition, name or attributes), if any.
    pub old_value: Option<Value>,
    /// The new value, if any.
    pub new_value: Option<Value>,
}

impl Change {
    fn new(kind: ChangeKind) -> Self {
        Self {
            kind,
            class: ChangeClass::Safe,
            checks: Vec::new(),
            old_value: None,
            new_value: None,
        }
    }

    fn values(mut self, old: Option<Value>, new: Option<Value>) -> Self {
        self.old_value = old;
        self.new_value = new;
        self
    }

    /// Raises the class to `class` if it is worse than the current one.
    fn escalate(&mut self, class: ChangeClass) {
        if class.rank() > self.class.rank() {
            self.class = class;
        }
    }

    fn check(&mut self, check: DataCheck) {
        if !self.checks.contains(&check) {
            self.checks.push(check);
        }
    }

    /// Derives a data-dependent class from the checks when nothing worse was found.
    fn finish(mut self) -> Self {
        if self.class.is_safe() && !self.checks.is_empty() {
            let check = if self.checks.len() == 1 {
                self.checks[0].clone()
            } else {
                DataCheck::All(self.checks.clone())
            };
            self.class = ChangeClass::DataDependent { check };
        }
        self
    }

    /// The acknowledgement token when the change is destructive.
    pub fn ack_token(&self) -> Option<&str> {
        match &self.class {
            ChangeClass::Destructive { entity, .. } => Some(entity),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Per-table actions (the planner's input)
// ---------------------------------------------------------------------------------------------

/// A table rename, in execution order (cycles go through a temporary `_objectos_tmp_<n>` name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRename {
    /// Current name.
    pub from: Ident,
    /// Name after this step.
    pub to: Ident,
}

/// One native `ALTER TABLE` column step, in execution order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnStep {
    /// `ALTER TABLE t DROP COLUMN c` (its indexes are in [`TableAction::drop_indexes`]).
    DropColumn(Ident),
    /// `ALTER TABLE t RENAME COLUMN from TO to` (swaps already go through temporary names).
    RenameColumn {
        /// Current name.
        from: Ident,
        /// Name after this step.
        to: Ident,
    },
    /// `ALTER TABLE t ADD COLUMN <definition>` (nullable, or NOT NULL with a constant default).
    AddColumn(ColumnSpec),
}

/// How one target column of a rebuilt table is filled from the old table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnCopy {
    /// The column in the new table.
    pub to: Ident,
    /// The column in the old table (after the table-rename phase, the table has its new name).
    pub from: Ident,
    /// How values convert (`Same` for an unchanged column).
    pub conversion: Conversion,
    /// A default literal to fill NULLs with (`COALESCE(from, <literal>)`) when the field became
    /// required and has a default.
    pub fill_nulls: Option<String>,
}

/// What a table needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableStrategy {
    /// `CREATE TABLE` (indexes are in [`TableAction::create_indexes`]).
    Create(TableDef),
    /// `DROP TABLE` (destructive; acknowledged through the change list).
    Drop,
    /// Native `ALTER TABLE` steps suffice (possibly none: a rename or index changes only).
    Alter {
        /// Column steps, in order: drops, renames, adds.
        steps: Vec<ColumnStep>,
        /// The physical column order afterwards (ADD COLUMN appends). It can differ from the model's
        /// declaration order; a reorder alone never causes a rebuild.
        column_order: Vec<Ident>,
    },
    /// The 12-step rebuild: create `target` under a temporary name, copy `copy`, drop the old table,
    /// rename. Columns not listed in `copy` are new and take their default.
    Rebuild {
        /// The full new definition.
        target: TableDef,
        /// Every column copied from the old table (system columns first).
        copy: Vec<ColumnCopy>,
        /// Why ALTER is not enough, one line each.
        reasons: Vec<String>,
    },
    /// Only metadata changed: no DDL.
    MetadataOnly,
}

/// Everything one table needs, with the changes that caused it.
///
/// Phase order for the planner, across all tables (so that index and table names are free when
/// reused): (1) every `drop_indexes`; (2) every [`TableStrategy::Drop`]; (3)
/// [`TablePlan::table_renames`] in order; (4) every [`TableStrategy::Alter`] and
/// [`TableStrategy::Rebuild`]; (5) every [`TableStrategy::Create`]; (6) every `create_indexes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableAction {
    /// The live table name, `None` for a new table.
    pub previous: Option<Ident>,
    /// The name after the deployment, `None` for a dropped table.
    pub next: Option<Ident>,
    /// Create, drop, alter or rebuild.
    pub strategy: TableStrategy,
    /// Indexes to drop before anything else (for a rebuild: all of the old table's).
    pub drop_indexes: Vec<Ident>,
    /// Indexes to create last (for a create or a rebuild: all of the new table's).
    pub create_indexes: Vec<IndexSpec>,
    /// Positions in [`ModelDiff::changes`] of the changes to this table.
    pub changes: Vec<usize>,
    /// What changed in a surviving table's columns and indexes, whatever the strategy: the input of
    /// planners that alter in place (PostgreSQL). Empty for created and dropped tables.
    pub delta: TableDelta,
}

/// A stored field present on both sides of a surviving table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPair {
    /// The field key in the new model.
    pub key: String,
    /// The deployed column (live name).
    pub old: ColumnSpec,
    /// The new column.
    pub new: ColumnSpec,
    /// How its values convert.
    pub conversion: Conversion,
}

/// The dialect-neutral difference of one surviving table: *what* changed, for a planner to decide
/// *how*.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableDelta {
    /// Columns dropped (dropped fields, fields made computed), live names.
    pub dropped: Vec<ColumnSpec>,
    /// Column renames in execution order (swaps go through `_objectos_tmp_<n>`).
    pub renames: Vec<(Ident, Ident)>,
    /// Every column kept (changed or not), old and new.
    pub kept: Vec<ColumnPair>,
    /// New columns (added fields, materialised fields) with their field keys, in model order.
    pub added: Vec<(String, ColumnSpec)>,
    /// Indexes that no longer exist as they are (dropped, renamed or redefined).
    pub drop_indexes: Vec<Ident>,
    /// Indexes to create (new, renamed or redefined).
    pub create_indexes: Vec<IndexSpec>,
}

/// The per-table view of a diff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TablePlan {
    /// Table renames, ordered so that no step targets a name still in use.
    pub table_renames: Vec<TableRename>,
    /// One entry per table touched by a change, in the order of the change list.
    pub tables: Vec<TableAction>,
}

// ---------------------------------------------------------------------------------------------
// The diff
// ---------------------------------------------------------------------------------------------

/// The classified difference between a deployed model and a new one.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDiff {
    /// Every change, grouped by object in the new model's order, dropped objects last.
    pub changes: Vec<Change>,
    /// The renames applied (as validated).
    pub renames: Vec<Rename>,
    inverse_renames: Vec<Rename>,
    plan: TablePlan,
}

impl ModelDiff {
    /// True when the models are equivalent (re-applying the deployed bundle).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// True when any change is not safe (`DeployDiff.hasBreakingChanges`).
    pub fn has_breaking_changes(&self) -> bool {
        self.changes.iter().any(|c| !c.class.is_safe())
    }

    /// The acknowledgement tokens every destructive change needs, deduplicated, in order.
    pub fn requires_ack(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for token in self.changes.iter().filter_map(Change::ack_token) {
            if !out.iter().any(|t| t == token) {
                out.push(token.to_owned());
            }
        }
        out
    }

    /// The destructive changes whose token is not in `acks` (exact match; an object token does not
    /// cover its fields).
    pub fn unacknowledged(&self, acks: &[String]) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|c| c.ack_token().is_some_and(|t| !acks.iter().any(|a| a == t)))
            .collect()
    }

    /// Every probe to run before applying, deduplicated (from all changes, destructive ones too).
    pub fn data_checks(&self) -> Vec<&DataCheck> {
        let mut out: Vec<&DataCheck> = Vec::new();
        for check in self.changes.iter().flat_map(|c| c.checks.iter()) {
            for leaf in check.leaves() {
                if !out.contains(&leaf) {
                    out.push(leaf);
                }
            }
        }
        out
    }

    /// The renames that undo this diff's renames (for a rollback, which must not restate them).
    pub fn inverse_renames(&self) -> &[Rename] {
        &self.inverse_renames
    }

    /// Per table: native ALTER steps or a rebuild, with the indexes to drop and create.
    pub fn per_table_actions(&self) -> &TablePlan {
        &self.plan
    }

    /// The protocol's `DeployDiff`: renames are `modified` with the old and new names as values.
    pub fn to_deploy_diff(&self) -> DeployDiff {
        let mut summary = DeployDiffSummary {
            added: 0,
            modified: 0,
            removed: 0,
        };
        let changes: Vec<SchemaChange> = self
            .changes
            .iter()
            .map(|change| {
                use ChangeEntityType as E;
                use ChangeType as T;
                let (entity_type, entity_name, parent_entity, change_type): (
                    E,
                    String,
                    Option<&String>,
                    T,
                ) = match &change.kind {
                    ChangeKind::AddObject { object } => (E::Object, object.clone(), None, T::Added),
                    ChangeKind::DropObject { object } => {
                        (E::Object, object.clone(), None, T::Removed)
                    }
                    ChangeKind::RenameObject { to, .. } => {
                        (E::Object, to.clone(), None, T::Modified)
                    }
                    ChangeKind::ChangeObject { object, .. } => {
                        (E::Object, object.clone(), None, T::Modified)
                    }
                    ChangeKind::AddField { object, field } => {
                        (E::Field, field.clone(), Some(object), T::Added)
                    }
                    ChangeKind::DropField { object, field } => {
                        (E::Field, field.clone(), Some(object), T::Removed)
                    }
                    ChangeKind::RenameField { object, to, .. } => {
                        (E::Field, to.clone(), Some(object), T::Modified)
                    }
                    ChangeKind::ChangeField { object, field, .. } => {
                        (E::Field, field.clone(), Some(object), T::Modified)
                    }
                    ChangeKind::AddIndex { object, index } => {
                        (E::Index, index.name.to_string(), Some(object), T::Added)
                    }
                    ChangeKind::DropIndex { object, index } => {
                        (E::Index, index.name.to_string(), Some(object), T::Removed)
                    }
                };
                match change_type {
                    ChangeType::Added => summary.added += 1,
                    ChangeType::Modified => summary.modified += 1,
                    ChangeType::Removed => summary.removed += 1,
                }
                SchemaChange {
                    entity_type,
                    entity_name,
                    parent_entity: parent_entity.cloned(),
                    change_type,
                    old_value: change.old_value.clone(),
                    new_value: change.new_value.clone(),
                }
            })
            .collect();
        DeployDiff {
            changes,
            summary,
            has_breaking_changes: self.has_breaking_changes(),
        }
    }
}

/// Compares the deployed model `previous` with `next`, applying the explicit `renames`.
///
/// Fails when a rename is invalid (every problem listed), when a model has two objects of one name,
/// or when an object cannot be mapped to a table.
pub fn diff(
    previous: &[ObjectDefinition],
    next: &[ObjectDefinition],
    renames: &[Rename],
) -> Result<ModelDiff, DiffError> {
    let prev = by_name(previous, ModelSide::Previous)?;
    let nxt = by_name(next, ModelSide::Next)?;
    let maps = validate_renames(&prev, &nxt, renames)?;

    let mut builder = Builder::default();
    let mut paired: BTreeSet<&str> = BTreeSet::new();
    let mut table_renames: Vec<(Ident, Ident)> = Vec::new();
    for n in next {
        let old_name = match maps.objects.get(n.name.as_str()) {
            Some(old) => Some(old.as_str()),
            None if prev.contains_key(n.name.as_str())
                && !maps.objects_renamed_away.contains(n.name.as_str()) =>
            {
                Some(n.name.as_str())
            }
            None => None,
        };
        match old_name.and_then(|o| prev.get(o)) {
            Some(p) => {
                paired.insert(p.name.as_str());
                let empty = BTreeMap::new();
                let fields = maps.fields.get(n.name.as_str()).unwrap_or(&empty);
                if let Some(pair) = builder.object_pair(p, n, fields)? {
                    table_renames.push(pair);
                }
            }
            None => builder.add_object(n)?,
        }
    }
    for p in previous {
        if !paired.contains(p.name.as_str()) {
            builder.drop_object(p)?;
        }
    }

    // Table names (an object's table is `tableName`, `{namespace}_{name}` or its name).
    let mut used: BTreeSet<String> = previous.iter().map(ObjectDefinition::table).collect();
    used.extend(next.iter().map(ObjectDefinition::table));
    builder.plan.table_renames = order_renames(table_renames, &used)
        .into_iter()
        .map(|(from, to)| TableRename { from, to })
        .collect();

    let inverse_renames = renames
        .iter()
        .map(|r| match r {
            Rename::Object { from, to } => Rename::Object {
                from: to.clone(),
                to: from.clone(),
            },
            Rename::Field { object, from, to } => Rename::Field {
                object: maps
                    .objects
                    .get(object.as_str())
                    .cloned()
                    .unwrap_or_else(|| object.clone()),
                from: to.clone(),
                to: from.clone(),
            },
        })
        .collect();

    Ok(ModelDiff {
        changes: builder.changes,
        renames: renames.to_vec(),
        inverse_renames,
        plan: builder.plan,
    })
}

fn by_name(
    objects: &[ObjectDefinition],
    side: ModelSide,
) -> Result<BTreeMap<&str, &ObjectDefinition>, DiffError> {
    let mut out = BTreeMap::new();
    for object in objects {
        if out.insert(object.name.as_str(), object).is_some() {
            return Err(DiffError::DuplicateObject {
                side,
                name: object.name.clone(),
            });
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Rename validation
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct RenameMaps {
    /// New object name → deployed name.
    objects: BTreeMap<String, String>,
    /// Deployed names renamed away.
    objects_renamed_away: BTreeSet<String>,
    /// New object name → (new field key → deployed key).
    fields: BTreeMap<String, BTreeMap<String, String>>,
}

/// One entry of a group of renames in one namespace: (position, from, to).
type Entry<'a> = (usize, &'a str, &'a str);

fn validate_renames(
    prev: &BTreeMap<&str, &ObjectDefinition>,
    next: &BTreeMap<&str, &ObjectDefinition>,
    renames: &[Rename],
) -> Result<RenameMaps, DiffError> {
    let mut errors = Vec::new();
    let mut maps = RenameMaps::default();

    let objects: Vec<Entry<'_>> = renames
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r {
            Rename::Object { from, to } => Some((i, from.as_str(), to.as_str())),
            Rename::Field { .. } => None,
        })
        .collect();
    let valid = check_group(
        &objects,
        |n| prev.contains_key(n),
        |n| next.contains_key(n),
        "the deployed model",
        "the new model",
        &mut errors,
    );
    for (_, from, to) in valid {
        maps.objects.insert(to.to_owned(), from.to_owned());
        maps.objects_renamed_away.insert(from.to_owned());
    }

    // Field renames, grouped by their object in the new model.
    let mut groups: BTreeMap<&str, Vec<Entry<'_>>> = BTreeMap::new();
    for (i, r) in renames.iter().enumerate() {
        let Rename::Field { object, from, to } = r else {
            continue;
        };
        if !next.contains_key(object.as_str()) {
            errors.push(RenameError::UnknownObject {
                index: i,
                object: object.clone(),
            });
            continue;
        }
        let old = match maps.objects.get(object.as_str()) {
            Some(old) => Some(old.as_str()),
            None if prev.contains_key(object.as_str())
                && !maps.objects_renamed_away.contains(object.as_str())
                && !objects.iter().any(|(_, f, _)| f == object) =>
            {
                Some(object.as_str())
            }
            None => None,
        };
        if old.is_none() {
            errors.push(RenameError::NewObject {
                index: i,
                object: object.clone(),
            });
            continue;
        }
        groups
            .entry(object.as_str())
            .or_default()
            .push((i, from.as_str(), to.as_str()));
    }
    for (object, entries) in groups {
        let (Some(n), Some(p)) = (
            next.get(object),
            maps.objects
                .get(object)
                .map(String::as_str)
                .or(Some(object))
                .and_then(|o| prev.get(o)),
        ) else {
            continue;
        };
        let valid = check_group(
            &entries,
            |k| p.fields.contains_key(k),
            |k| n.fields.contains_key(k),
            &format!("object '{}' of the deployed model", p.name),
            &format!("object '{}' of the new model", n.name),
            &mut errors,
        );
        let map = maps.fields.entry(object.to_owned()).or_default();
        for (_, from, to) in valid {
            map.insert(to.to_owned(), from.to_owned());
        }
    }

    if errors.is_empty() {
        Ok(maps)
    } else {
        errors.sort_by_key(RenameError::index);
        Err(DiffError::InvalidRenames { errors })
    }
}

/// Checks the renames of one namespace (objects, or the fields of one object); returns the valid ones.
fn check_group<'a>(
    group: &[Entry<'a>],
    in_prev: impl Fn(&str) -> bool,
    in_next: impl Fn(&str) -> bool,
    prev_scope: &str,
    next_scope: &str,
    errors: &mut Vec<RenameError>,
) -> Vec<Entry<'a>> {
    let froms: BTreeSet<&str> = group.iter().map(|(_, f, _)| *f).collect();
    let mut seen_from: BTreeMap<&str, usize> = BTreeMap::new();
    let mut seen_to: BTreeMap<&str, usize> = BTreeMap::new();
    let mut valid = Vec::new();
    for &(index, from, to) in group {
        let before = errors.len();
        if from == to {
            errors.push(RenameError::SameName {
                index,
                name: to.to_owned(),
            });
        }
        match seen_from.get(from) {
            Some(&first) => errors.push(RenameError::DuplicateSource {
                index,
                first,
                name: from.to_owned(),
            }),
            None => {
                seen_from.insert(from, index);
            }
        }
        match seen_to.get(to) {
            Some(&first) => errors.push(RenameError::DuplicateTarget {
                index,
                first,
                name: to.to_owned(),
            }),
            None => {
                seen_to.insert(to, index);
            }
        }
        if !in_prev(from) {
            errors.push(RenameError::UnknownSource {
                index,
                name: from.to_owned(),
                scope: prev_scope.to_owned(),
            });
        }
        if !in_next(to) {
            errors.push(RenameError::UnknownTarget {
                index,
                name: to.to_owned(),
                scope: next_scope.to_owned(),
            });
        }
        if from != to && in_prev(to) && !froms.contains(to) {
            errors.push(RenameError::TargetTaken {
                index,
                name: to.to_owned(),
                scope: prev_scope.to_owned(),
            });
        }
        if errors.len() == before {
            valid.push((index, from, to));
        }
    }
    // Chains: `to` renamed further, without the renames closing a cycle (a swap or rotation).
    let map: BTreeMap<&str, (usize, &str)> = valid.iter().map(|&(i, f, t)| (f, (i, t))).collect();
    let on_cycle = |start: &str| {
        let mut current = start;
        for _ in 0..=map.len() {
            match map.get(current) {
                Some(&(_, to)) if to == start => return true,
                Some(&(_, to)) => current = to,
                None => return false,
            }
        }
        false
    };
    let mut chained = BTreeSet::new();
    for &(index, from, to) in &valid {
        if let Some(&(next, _)) = map.get(to) {
            if !on_cycle(from) {
                errors.push(RenameError::Chain {
                    index,
                    name: to.to_owned(),
                    next,
                });
                chained.insert(index);
            }
        }
    }
    valid.retain(|(i, _, _)| !chained.contains(i));
    valid
}

// ---------------------------------------------------------------------------------------------
// Building the change list and the table plan
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Builder {
    changes: Vec<Change>,
    plan: TablePlan,
}

fn table_def(object: &ObjectDefinition, side: ModelSide) -> Result<TableDef, DiffError> {
    TableDef::from_object(object).map_err(|source| model_error(object, side, source))
}

fn model_error(object: &ObjectDefinition, side: ModelSide, source: SchemaError) -> DiffError {
    DiffError::Model {
        side,
        object: object.name.clone(),
        source,
    }
}

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn index_json(index: &IndexSpec) -> Value {
    json!({
        "name": index.name.as_str(),
        "columns": index.columns.iter().map(Ident::as_str).collect::<Vec<_>>(),
        "unique": index.unique,
    })
}

/// The JSON members that differ between two serialised definitions, minus `skip`, sorted.
fn changed_keys(old: &Value, new: &Value, skip: &[&str]) -> Vec<String> {
    let empty = Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let new = new.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|k| !skip.contains(&k.as_str()))
        .filter(|k| old.get(*k) != new.get(*k))
        .cloned()
        .collect()
}

fn normalized_default(field: &Field) -> Option<&Value> {
    field.default_value.as_ref().filter(|v| !v.is_null())
}

impl Builder {
    fn push(&mut self, change: Change) -> usize {
        self.changes.push(change.finish());
        self.changes.len() - 1
    }

    fn add_object(&mut self, n: &ObjectDefinition) -> Result<(), DiffError> {
        let table = table_def(n, ModelSide::Next)?;
        let change = Change::new(ChangeKind::AddObject {
            object: n.name.clone(),
        })
        .values(None, Some(to_json(n)));
        let at = self.push(change);
        self.plan.tables.push(TableAction {
            previous: None,
            next: Some(table.name.clone()),
            create_indexes: table.indexes.clone(),
            strategy: TableStrategy::Create(table),
            drop_indexes: Vec::new(),
            changes: vec![at],
            delta: TableDelta::default(),
        });
        Ok(())
    }

    fn drop_object(&mut self, p: &ObjectDefinition) -> Result<(), DiffError> {
        let table = table_def(p, ModelSide::Previous)?;
        let mut change = Change::new(ChangeKind::DropObject {
            object: p.name.clone(),
        })
        .values(Some(to_json(p)), None);
        change.escalate(ChangeClass::Destructive {
            entity: format!("object:{}", p.name),
            loses: LossKind::Rows {
                table: table.name.to_string(),
            },
        });
        let at = self.push(change);
        self.plan.tables.push(TableAction {
            previous: Some(table.name.clone()),
            next: None,
            strategy: TableStrategy::Drop,
            // DROP TABLE drops them; listed so the planner need not look them up.
            drop_indexes: Vec::new(),
            create_indexes: Vec::new(),
            changes: vec![at],
            delta: TableDelta::default(),
        });
        Ok(())
    }

    /// Diffs a matched pair of objects; returns the table rename, if any.
    fn object_pair(
        &mut self,
        p: &ObjectDefinition,
        n: &ObjectDefinition,
        field_renames: &BTreeMap<String, String>,
    ) -> Result<Option<(Ident, Ident)>, DiffError> {
        let pt = table_def(p, ModelSide::Previous)?;
        let nt = table_def(n, ModelSide::Next)?;
        // The live table: the deployed model's.
        let live = pt.name.as_str();
        let object = n.name.as_str();
        let mut mine: Vec<usize> = Vec::new();

        if p.name != n.name {
            let change = Change::new(ChangeKind::RenameObject {
                from: p.name.clone(),
                to: n.name.clone(),
            })
            .values(Some(json!(p.name)), Some(json!(n.name)));
            mine.push(self.push(change));
        }
        let (pj, nj) = (to_json(p), to_json(n));
        let keys = changed_keys(&pj, &nj, &["name", "fields", "indexes"]);
        if !keys.is_empty() {
            let pick = |v: &Value| {
                let mut out = Map::new();
                for k in &keys {
                    if let Some(x) = v.get(k) {
                        out.insert(k.clone(), x.clone());
                    }
                }
                Value::Object(out)
            };
            let change = Change::new(ChangeKind::ChangeObject {
                object: object.to_owned(),
                keys: keys.clone(),
            })
            .values(Some(pick(&pj)), Some(pick(&nj)));
            mine.push(self.push(change));
        }

        // Fields.
        let renamed_away: BTreeSet<&str> = field_renames.values().map(String::as_str).collect();
        let mut paired: BTreeSet<&str> = BTreeSet::new();
        let mut pairs: Vec<ColumnPair> = Vec::new();
        // New columns (added fields, materialised fields): name → has a default.
        let mut added: Vec<(String, ColumnSpec)> = Vec::new();
        let mut dropped: Vec<ColumnSpec> = Vec::new();
        for (key, nf) in &n.fields {
            let old_key = match field_renames.get(key) {
                Some(old) => Some(old.as_str()),
                None if p.fields.contains_key(key) && !renamed_away.contains(key.as_str()) => {
                    Some(key.as_str())
                }
                None => None,
            };
            let new_col = column_for(key, nf).map_err(|e| model_error(n, ModelSide::Next, e))?;
            match old_key.and_then(|k| p.fields.get_key_value(k)) {
                Some((old_key, pf)) => {
                    paired.insert(old_key.as_str());
                    let old_col = column_for(old_key, pf)
                        .map_err(|e| model_error(p, ModelSide::Previous, e))?;
                    if old_key != key {
                        let change = Change::new(ChangeKind::RenameField {
                            object: object.to_owned(),
                            from: old_key.clone(),
                            to: key.clone(),
                        })
                        .values(Some(json!(old_key)), Some(json!(key)));
                        mine.push(self.push(change));
                    }
                    let (change, conv) = field_change(
                        live,
                        object,
                        key,
                        pf,
                        nf,
                        old_col.as_ref(),
                        new_col.as_ref(),
                    );
                    if let Some(change) = change {
                        mine.push(self.push(change));
                    }
                    match (old_col, new_col) {
                        (Some(old), Some(new)) => pairs.push(ColumnPair {
                            key: key.clone(),
                            old,
                            new,
                            conversion: conv,
                        }),
                        (None, Some(new)) => added.push((key.clone(), new)),
                        (Some(old), None) => dropped.push(old),
                        (None, None) => {}
                    }
                }
                None => {
                    let mut change = Change::new(ChangeKind::AddField {
                        object: object.to_owned(),
                        field: key.clone(),
                    })
                    .values(None, Some(to_json(nf)));
                    if let Some(col) = &new_col {
                        if col.not_null && col.default_sql.is_none() {
                            change.check(DataCheck::NonEmptyTable {
                                table: live.to_owned(),
                            });
                        }
                    }
                    mine.push(self.push(change));
                    if let Some(col) = new_col {
                        added.push((key.clone(), col));
                    }
                }
            }
        }
        for (key, pf) in &p.fields {
            if paired.contains(key.as_str()) {
                continue;
            }
            let old_col =
                column_for(key, pf).map_err(|e| model_error(p, ModelSide::Previous, e))?;
            let mut change = Change::new(ChangeKind::DropField {
                object: object.to_owned(),
                field: key.clone(),
            })
            .values(Some(to_json(pf)), None);
            if let Some(col) = &old_col {
                change.escalate(ChangeClass::Destructive {
                    entity: format!("field:{object}.{key}"),
                    loses: LossKind::ColumnValues {
                        table: live.to_owned(),
                        column: col.name.to_string(),
                    },
                });
            }
            mine.push(self.push(change));
            if let Some(col) = old_col {
                dropped.push(col);
            }
        }

        // Indexes, by name; columns of the deployed index mapped through column renames.
        let mut old_to_new: BTreeMap<&str, &str> = BTreeMap::new();
        for c in pt
            .columns
            .iter()
            .filter(|c| nt.column(c.name.as_str()).is_some())
        {
            if objectos_spec::model::SYSTEM_COLUMNS.contains(&c.name.as_str()) {
                old_to_new.insert(c.name.as_str(), c.name.as_str());
            }
        }
        for pair in &pairs {
            old_to_new.insert(pair.old.name.as_str(), pair.new.name.as_str());
        }
        let mapped = |index: &IndexSpec| -> Option<Vec<String>> {
            index
                .columns
                .iter()
                .map(|c| old_to_new.get(c.as_str()).map(|s| (*s).to_owned()))
                .collect()
        };
        let names = |index: &IndexSpec| -> Vec<String> {
            index.columns.iter().map(ToString::to_string).collect()
        };
        let same = |o: &IndexSpec, n: &IndexSpec| {
            o.name == n.name && o.unique == n.unique && mapped(o).as_ref() == Some(&names(n))
        };
        let mut drop_indexes = Vec::new();
        let mut create_indexes = Vec::new();
        for oi in &pt.indexes {
            if nt.indexes.iter().any(|ni| same(oi, ni)) {
                continue;
            }
            drop_indexes.push(oi.name.clone());
            let change = Change::new(ChangeKind::DropIndex {
                object: object.to_owned(),
                index: oi.clone(),
            })
            .values(Some(index_json(oi)), None);
            mine.push(self.push(change));
        }
        let new_to_old: BTreeMap<&str, &str> = old_to_new.iter().map(|(o, n)| (*n, *o)).collect();
        for ni in &nt.indexes {
            if pt.indexes.iter().any(|oi| same(oi, ni)) {
                continue;
            }
            create_indexes.push(ni.clone());
            let mut change = Change::new(ChangeKind::AddIndex {
                object: object.to_owned(),
                index: ni.clone(),
            })
            .values(None, Some(index_json(ni)));
            if ni.unique {
                if let Some(check) = unique_check(live, ni, &pt, &mapped, &new_to_old, &added) {
                    change.check(check);
                }
            }
            mine.push(self.push(change));
        }

        if mine.is_empty() {
            return Ok(None);
        }

        let column_renames: Vec<(Ident, Ident)> = pairs
            .iter()
            .filter(|p| p.old.name != p.new.name)
            .map(|p| (p.old.name.clone(), p.new.name.clone()))
            .collect();
        let mut used: BTreeSet<String> = pt.columns.iter().map(|c| c.name.to_string()).collect();
        used.extend(nt.columns.iter().map(|c| c.name.to_string()));
        let delta = TableDelta {
            dropped,
            renames: order_renames(column_renames, &used),
            kept: pairs,
            added,
            drop_indexes,
            create_indexes,
        };

        // SQLite's strategy (native ALTER TABLE or a rebuild) is SQLite's to decide.
        let sqlite = crate::sqlite::decide(&pt, &nt, &delta, pt.name != nt.name);
        self.plan.tables.push(TableAction {
            previous: Some(pt.name.clone()),
            next: Some(nt.name.clone()),
            strategy: sqlite.strategy,
            drop_indexes: sqlite.drop_indexes,
            create_indexes: sqlite.create_indexes,
            changes: mine,
            delta,
        });
        Ok((pt.name != nt.name).then_some((pt.name, nt.name)))
    }
}

/// The probe a new unique index needs, or `None` when existing rows cannot collide.
fn unique_check(
    live: &str,
    index: &IndexSpec,
    previous: &TableDef,
    mapped: &dyn Fn(&IndexSpec) -> Option<Vec<String>>,
    new_to_old: &BTreeMap<&str, &str>,
    added: &[(String, ColumnSpec)],
) -> Option<DataCheck> {
    let wanted: BTreeSet<String> = index.columns.iter().map(ToString::to_string).collect();
    // Already unique: a deployed unique index over a subset of these columns.
    let covered = previous.indexes.iter().any(|oi| {
        oi.unique && mapped(oi).is_some_and(|cols| cols.iter().all(|c| wanted.contains(c.as_str())))
    });
    if covered {
        return None;
    }
    let mut old_columns = Vec::new();
    for column in &index.columns {
        match new_to_old.get(column.as_str()) {
            Some(old) => old_columns.push((*old).to_owned()),
            None => {
                let has_default = added
                    .iter()
                    .find(|(_, c)| &c.name == column)
                    .is_some_and(|(_, c)| c.default_sql.is_some());
                // A new column without a default is NULL in every existing row, and NULLs never
                // collide, so no existing pair of rows can.
                if !has_default {
                    return None;
                }
            }
        }
    }
    if old_columns.is_empty() {
        Some(DataCheck::MultipleRows {
            table: live.to_owned(),
        })
    } else {
        Some(DataCheck::DuplicatesIn {
            table: live.to_owned(),
            columns: old_columns,
        })
    }
}

/// Diffs a matched pair of fields: the change (if anything differs) and the storage conversion.
fn field_change(
    live: &str,
    object: &str,
    key: &str,
    pf: &Field,
    nf: &Field,
    old_col: Option<&ColumnSpec>,
    new_col: Option<&ColumnSpec>,
) -> (Option<Change>, Conversion) {
    let conv = Conversion::new(Repr::of(pf), Repr::of(nf));
    let mut deltas = Vec::new();
    let mut change = Change::new(ChangeKind::ChangeField {
        object: object.to_owned(),
        field: key.to_owned(),
        deltas: Vec::new(),
    });
    let token = format!("field:{object}.{key}");
    let live_column = old_col.map(|c| c.name.to_string()).unwrap_or_default();

    if pf.r#type != nf.r#type {
        deltas.push(FieldDelta::Type {
            from: pf.r#type,
            to: nf.r#type,
        });
    }
    let mut metadata_too: Vec<&str> = Vec::new();
    let numeric = |t: FieldType| {
        matches!(
            t,
            FieldType::Number | FieldType::Currency | FieldType::Percent
        )
    };
    let either = |f: &dyn Fn(FieldType) -> bool| f(pf.r#type) || f(nf.r#type);
    let (po, no) = (StorageOptions::of(pf), StorageOptions::of(nf));
    let options: [(&'static str, bool, bool, Value, Value); 3] = [
        (
            "scale",
            po.whole_number != no.whole_number && either(&numeric),
            pf.scale != nf.scale,
            to_json(&pf.scale),
            to_json(&nf.scale),
        ),
        (
            "multiple",
            po.multiple != no.multiple && either(&|t| MULTIPLE_TYPES.contains(&t)),
            pf.multiple != nf.multiple,
            json!(pf.multiple),
            json!(nf.multiple),
        ),
        (
            "allowHalf",
            po.allow_half != no.allow_half && either(&|t| t == FieldType::Rating),
            pf.allow_half != nf.allow_half,
            to_json(&pf.allow_half),
            to_json(&nf.allow_half),
        ),
    ];
    for (option, affects_storage, differs, from, to) in options {
        if affects_storage {
            deltas.push(FieldDelta::StorageOption { option, from, to });
        } else if differs {
            metadata_too.push(option);
        }
    }
    if conv.kind != ConversionKind::Same {
        deltas.push(FieldDelta::Storage(conv));
        match conv.kind {
            ConversionKind::Same | ConversionKind::Widen => {}
            ConversionKind::Narrow => change.check(DataCheck::NotCastable {
                table: live.to_owned(),
                column: live_column.clone(),
                from: conv.from,
                to: conv.to,
            }),
            ConversionKind::Lossy => change.escalate(ChangeClass::Destructive {
                entity: token.clone(),
                loses: LossKind::Conversion {
                    table: live.to_owned(),
                    column: live_column.clone(),
                    from: conv.from,
                    to: conv.to,
                },
            }),
            ConversionKind::Dematerialize => change.escalate(ChangeClass::Destructive {
                entity: token.clone(),
                loses: LossKind::ColumnValues {
                    table: live.to_owned(),
                    column: live_column.clone(),
                },
            }),
            ConversionKind::Materialize => {
                if new_col.is_some_and(|c| c.not_null && c.default_sql.is_none()) {
                    change.check(DataCheck::NonEmptyTable {
                        table: live.to_owned(),
                    });
                }
            }
        }
    }
    if pf.required != nf.required {
        deltas.push(FieldDelta::Required {
            from: pf.required,
            to: nf.required,
        });
        // Made required over an existing column: NULLs must be absent, or filled from the default.
        if let (Some(old), Some(new)) = (old_col, new_col) {
            if new.not_null && !old.not_null && new.default_sql.is_none() {
                change.check(DataCheck::NullsIn {
                    table: live.to_owned(),
                    column: live_column.clone(),
                });
            }
        }
    }
    if pf.unique != nf.unique {
        deltas.push(FieldDelta::Unique {
            from: pf.unique,
            to: nf.unique,
        });
    }
    if normalized_default(pf) != normalized_default(nf) {
        deltas.push(FieldDelta::Default {
            from: normalized_default(pf).cloned(),
            to: normalized_default(nf).cloned(),
        });
    }
    if pf.column_name != nf.column_name {
        if let (Some(old), Some(new)) = (old_col, new_col) {
            if old.name != new.name {
                deltas.push(FieldDelta::Column {
                    from: old.name.to_string(),
                    to: new.name.to_string(),
                });
            }
        }
    }
    let (pj, nj) = (to_json(pf), to_json(nf));
    let mut keys = changed_keys(
        &pj,
        &nj,
        &[
            "name",
            "type",
            "required",
            "unique",
            "defaultValue",
            "columnName",
            "scale",
            "multiple",
            "allowHalf",
        ],
    );
    keys.extend(metadata_too.into_iter().map(str::to_owned));
    if pf.column_name != nf.column_name
        && !deltas
            .iter()
            .any(|d| matches!(d, FieldDelta::Column { .. }))
    {
        keys.push("columnName".to_owned());
    }
    keys.sort();
    if !keys.is_empty() {
        deltas.push(FieldDelta::Metadata { keys });
    }
    if deltas.is_empty() {
        return (None, conv);
    }
    change.kind = ChangeKind::ChangeField {
        object: object.to_owned(),
        field: key.to_owned(),
        deltas,
    };
    (Some(change.values(Some(pj), Some(nj))), conv)
}

/// Orders simultaneous renames so that no step targets a name still held by a pending source;
/// cycles (swaps) go through a temporary `_objectos_tmp_<n>` name not in `used`.
fn order_renames(pairs: Vec<(Ident, Ident)>, used: &BTreeSet<String>) -> Vec<(Ident, Ident)> {
    let mut pending = pairs;
    let mut out = Vec::new();
    let mut counter = 0usize;
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|(_, to)| !pending.iter().any(|(from, _)| from == to));
        match ready {
            Some(i) => out.push(pending.remove(i)),
            None => {
                // Every target is held by another pending source: a cycle. Park the first source.
                let temp = loop {
                    let name = format!("_objectos_tmp_{counter}");
                    counter += 1;
                    if !used.contains(&name) {
                        break name;
                    }
                };
                let temp = match Ident::new(IdentKind::Column, &temp) {
                    Ok(t) => t,
                    // Unreachable: the name is a valid identifier by construction.
                    Err(_) => break,
                };
                let (from, to) = pending.remove(0);
                out.push((from, temp.clone()));
                pending.push((temp, to));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Ident {
        Ident::new(IdentKind::Column, s).unwrap()
    }

    #[test]
    fn conversion_matrix() {
        use ConversionKind as C;
        use Repr::*;
        let cases = [
            (Integer, Real, C::Widen),
            (Real, Integer, C::Narrow),
            (Integer, Text, C::Widen),
            (Real, Text, C::Widen),
            (Boolean, Integer, C::Widen),
            (Boolean, Text, C::Widen),
            (Integer, Boolean, C::Narrow),
            (Text, Integer, C::Narrow),
            (Text, Real, C::Narrow),
            (Text, Boolean, C::Narrow),
            (Json(JsonShape::Array), Text, C::Lossy),
            (Json(JsonShape::Any), Text, C::Lossy),
            (Json(JsonShape::Object), Real, C::Lossy),
            (Text, Json(JsonShape::Array), C::Widen),
            (Text, Json(JsonShape::Any), C::Widen),
            (Text, Json(JsonShape::Object), C::Lossy),
            (Json(JsonShape::Array), Json(JsonShape::Any), C::Widen),
            (Json(JsonShape::Any), Json(JsonShape::Array), C::Narrow),
            (Json(JsonShape::Array), Json(JsonShape::Object), C::Lossy),
            (Computed, Text, C::Materialize),
            (Text, Computed, C::Dematerialize),
            (Text, Text, C::Same),
        ];
        for (from, to, want) in cases {
            assert_eq!(conversion(from, to), want, "{from:?} → {to:?}");
        }
    }

    #[test]
    fn rename_ordering_breaks_cycles() {
        let used: BTreeSet<String> = ["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect();
        // A swap needs a temporary name.
        let steps = order_renames(vec![(id("a"), id("b")), (id("b"), id("a"))], &used);
        assert_eq!(
            steps,
            vec![
                (id("a"), id("_objectos_tmp_0")),
                (id("b"), id("a")),
                (id("_objectos_tmp_0"), id("b")),
            ]
        );
        // A rename onto a name freed by another runs after it.
        let steps = order_renames(vec![(id("a"), id("b")), (id("b"), id("c"))], &used);
        assert_eq!(steps, vec![(id("b"), id("c")), (id("a"), id("b"))]);
    }
}
