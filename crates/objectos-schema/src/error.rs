//! The crate's error types: what the model → SQL layer refuses, and what a database session can fail
//! with (a classified [`SqlError`] from `objectos-sql`, whichever the dialect).

use objectos_spec::types::field::{FieldType, IndexType};
use objectos_sql::SqlError;

use crate::ddl::IdentKind;

/// Why a model cannot be turned into SQL, or a live table cannot be read.
///
/// Variants about the model carry `path`, a JSON path relative to the object definition
/// (`fields.title.defaultValue`, `indexes[2].type`), so callers can report them next to the
/// validator's issues.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A table, column or index name that is not `[a-z_][a-z0-9_]*`, at most 63 characters.
    #[error("{path}: invalid {kind} name {name:?}: {reason}")]
    InvalidIdentifier {
        /// Where the name came from.
        path: String,
        /// What the name was for.
        kind: IdentKind,
        /// The refused name (never put into SQL).
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A `defaultValue` that does not fit the column or cannot be written as a SQL literal.
    #[error("{path}: {reason}")]
    InvalidDefault {
        /// `fields.<key>.defaultValue`.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `unique` on a field whose storage cannot carry a meaningful unique index.
    #[error("{path}: a {field_type} field cannot be unique: {reason}")]
    UniqueNotSupported {
        /// `fields.<key>.unique`, or the index that includes it.
        path: String,
        /// The field's type.
        field_type: FieldType,
        /// Why.
        reason: &'static str,
    },
    /// `unique`, `index`, `externalId` or an index entry on a formula/summary field (no column).
    #[error("{path}: '{field}' is a computed {field_type} field and has no column to index")]
    ComputedNotIndexable {
        /// Where the request came from.
        path: String,
        /// The field key.
        field: String,
        /// Its type.
        field_type: FieldType,
    },
    /// An index type objectos does not build (SQLite only has b-trees, and both dialects build the
    /// same indexes).
    #[error("{path}: index type '{index_type}' is not supported on SQLite, which only has b-tree indexes; use 'btree' (or 'hash', built as a b-tree)")]
    UnsupportedIndexType {
        /// `indexes[i].type`.
        path: String,
        /// The refused type.
        index_type: IndexType,
    },
    /// A partial index: its condition is raw SQL, which objectos never takes from a bundle.
    #[error("{path}: partial indexes are not supported: the condition would be SQL text taken from the bundle")]
    PartialIndex {
        /// `indexes[i].partial`.
        path: String,
    },
    /// An index naming a field the object does not have.
    #[error("{path}: unknown field '{field}'")]
    UnknownIndexField {
        /// `indexes[i].fields[j]`.
        path: String,
        /// The unknown key.
        field: String,
    },
    /// An index without fields.
    #[error("{path}: an index needs at least one field")]
    EmptyIndex {
        /// `indexes[i].fields`.
        path: String,
    },
    /// Two different indexes with the same name.
    #[error("{path}: index name '{name}' is already used by a different index of this table")]
    DuplicateIndexName {
        /// Where the second one came from.
        path: String,
        /// The name.
        name: String,
    },
    /// Two fields mapped to one column, or a field mapped to a system column.
    #[error(
        "{path}: column '{column}' is already used (system columns: id, created_at, updated_at)"
    )]
    DuplicateColumn {
        /// `fields.<key>`.
        path: String,
        /// The column name.
        column: String,
    },
    /// Introspection of a table that does not exist.
    #[error("table '{table}' does not exist")]
    TableNotFound {
        /// The table asked for.
        table: String,
    },
    /// A table the plan creates or rebuilds has no object in the model it was given.
    #[error("table '{table}' is not in the model the plan was given")]
    NotInModel {
        /// The table.
        table: String,
    },
    /// The database failed (either dialect).
    #[error("sql: {0}")]
    Sql(#[from] SqlError),
}

impl SchemaError {
    /// The JSON path (relative to the object definition) of a model problem; `None` for I/O errors.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::InvalidIdentifier { path, .. }
            | Self::InvalidDefault { path, .. }
            | Self::UniqueNotSupported { path, .. }
            | Self::ComputedNotIndexable { path, .. }
            | Self::UnsupportedIndexType { path, .. }
            | Self::PartialIndex { path }
            | Self::UnknownIndexField { path, .. }
            | Self::EmptyIndex { path }
            | Self::DuplicateIndexName { path, .. }
            | Self::DuplicateColumn { path, .. } => Some(path),
            Self::TableNotFound { .. } | Self::NotInModel { .. } | Self::Sql(_) => None,
        }
    }
}

/// Which of the two models a diff compares a problem was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelSide {
    /// The deployed model (`previous`).
    Previous,
    /// The model being deployed (`next`).
    Next,
}

impl std::fmt::Display for ModelSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Previous => "deployed",
            Self::Next => "new",
        })
    }
}

/// Why a diff between two models could not be computed (the caller reports these as 422s).
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// One or more explicit renames are invalid; every problem is listed, in request order.
    #[error("invalid renames: {}", join_renames(.errors))]
    InvalidRenames {
        /// Every problem found.
        errors: Vec<RenameError>,
    },
    /// Two objects with the same name in one model.
    #[error("the {side} model has two objects named '{name}'")]
    DuplicateObject {
        /// Which model.
        side: ModelSide,
        /// The repeated name.
        name: String,
    },
    /// An object that cannot be mapped to a table (the bundle should have been validated first).
    #[error("object '{object}' of the {side} model cannot be mapped to a table: {source}")]
    Model {
        /// Which model.
        side: ModelSide,
        /// The object's name.
        object: String,
        /// The mapping problem.
        #[source]
        source: SchemaError,
    },
}

fn join_renames(errors: &[RenameError]) -> String {
    let parts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

/// One invalid entry of the `renames` list; `index` is its position in that list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenameError {
    /// `from` and `to` are the same name.
    #[error("renames[{index}]: '{name}' is renamed to itself")]
    SameName {
        /// Position in the list.
        index: usize,
        /// The name.
        name: String,
    },
    /// `from` does not exist in the deployed model.
    #[error("renames[{index}].from: '{name}' is not in {scope}")]
    UnknownSource {
        /// Position in the list.
        index: usize,
        /// The missing name.
        name: String,
        /// Where it was looked for (`the deployed model`, `object 'task' of the deployed model`).
        scope: String,
    },
    /// `to` does not exist in the new model.
    #[error("renames[{index}].to: '{name}' is not in {scope}")]
    UnknownTarget {
        /// Position in the list.
        index: usize,
        /// The missing name.
        name: String,
        /// Where it was looked for.
        scope: String,
    },
    /// `to` already exists in the deployed model and no other rename moves it away.
    #[error("renames[{index}].to: '{name}' already exists in {scope} and is not renamed away, so the rename would merge two entities")]
    TargetTaken {
        /// Position in the list.
        index: usize,
        /// The taken name.
        name: String,
        /// Where it exists.
        scope: String,
    },
    /// A field rename whose `object` is not in the new model.
    #[error("renames[{index}].object: there is no object '{object}' in the new model (a field rename names its object as in the new model)")]
    UnknownObject {
        /// Position in the list.
        index: usize,
        /// The object name given.
        object: String,
    },
    /// A field rename in an object this deployment adds: there is nothing to rename from.
    #[error("renames[{index}].object: object '{object}' is new in this deployment, so none of its fields can be renamed")]
    NewObject {
        /// Position in the list.
        index: usize,
        /// The object name given.
        object: String,
    },
    /// The same entity renamed twice.
    #[error("renames[{index}].from: '{name}' is already renamed by renames[{first}]")]
    DuplicateSource {
        /// Position in the list.
        index: usize,
        /// The earlier entry.
        first: usize,
        /// The name renamed twice.
        name: String,
    },
    /// Two entities renamed to the same name.
    #[error("renames[{index}].to: '{name}' is already the target of renames[{first}]")]
    DuplicateTarget {
        /// Position in the list.
        index: usize,
        /// The earlier entry.
        first: usize,
        /// The name.
        name: String,
    },
    /// `to` is itself renamed by another entry, and the renames do not close a cycle.
    #[error("renames[{index}].to: '{name}' is itself renamed by renames[{next}]; chained renames are ambiguous, give each entity's final name (swaps and rotations are allowed)")]
    Chain {
        /// Position in the list.
        index: usize,
        /// The name both renamed to and from.
        name: String,
        /// The entry renaming it further.
        next: usize,
    },
}

impl RenameError {
    /// Position of the offending entry in the `renames` list.
    pub fn index(&self) -> usize {
        match self {
            Self::SameName { index, .. }
            | Self::UnknownSource { index, .. }
            | Self::UnknownTarget { index, .. }
            | Self::TargetTaken { index, .. }
            | Self::UnknownObject { index, .. }
            | Self::NewObject { index, .. }
            | Self::DuplicateSource { index, .. }
            | Self::DuplicateTarget { index, .. }
            | Self::Chain { index, .. } => *index,
        }
    }

    /// The JSON path of the offending member, relative to the request options (`renames[2].from`).
    pub fn path(&self) -> String {
        let member = match self {
            Self::UnknownSource { .. } | Self::DuplicateSource { .. } => "from",
            Self::UnknownObject { .. } | Self::NewObject { .. } => "object",
            Self::SameName { .. }
            | Self::UnknownTarget { .. }
            | Self::TargetTaken { .. }
            | Self::DuplicateTarget { .. }
            | Self::Chain { .. } => "to",
        };
        format!("renames[{}].{member}", self.index())
    }
}

/// Why running a migration plan failed; the caller's transaction must be rolled back.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A statement of the plan failed.
    #[error("statement {order} failed ({}): {source}; SQL: {sql}", .code.as_deref().unwrap_or("unknown error code"))]
    Statement {
        /// Its position in the plan.
        order: u64,
        /// Its SQL.
        sql: String,
        /// The database's error code (`SQLITE_CONSTRAINT_UNIQUE`, SQLSTATE `23505`), when known:
        /// `source.code`.
        code: Option<String>,
        /// The database's error (boxed: it is large and failures are rare).
        #[source]
        source: Box<SqlError>,
    },
    /// The per-statement hook of [`crate::apply_in_with`] stopped the run after a statement.
    #[error("interrupted after statement {after}: {message}")]
    Interrupted {
        /// The position of the last statement executed.
        after: u64,
        /// The hook's reason.
        message: String,
    },
    /// Opening, committing or rolling back the transaction or savepoint failed.
    #[error("sql: {0}")]
    Sql(#[from] SqlError),
}
