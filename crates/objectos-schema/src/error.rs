//! The crate's error type: what the model → SQL layer refuses, and what reading SQLite can fail with.

use objectos_spec::types::field::{FieldType, IndexType};

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
    /// An index type SQLite has no equivalent for (only b-trees exist).
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
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
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
            Self::TableNotFound { .. } | Self::Sqlite(_) => None,
        }
    }
}
