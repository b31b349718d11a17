//! Database errors, classified so the engine can answer the same way on every database.

/// What kind of failure a database reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// A unique constraint or index refused a duplicate; `columns` names its columns when the
    /// database said which.
    Unique {
        /// The constrained columns (may be empty).
        columns: Vec<String>,
    },
    /// NOT NULL.
    NotNull,
    /// A CHECK or type constraint (SQLite `STRICT`, PostgreSQL `22P02`-style conversions).
    Check,
    /// Another constraint.
    Constraint,
    /// The database is busy or locked, or a serialization failure: retrying may succeed.
    Busy,
    /// A table or schema that does not exist.
    Missing,
    /// A statement the database could not parse or plan.
    Syntax,
    /// A statement refused because the session is read-only or lacks the privilege.
    ReadOnly,
    /// The connection failed (I/O, pool, protocol).
    Connection,
    /// Anything else.
    Other,
}

/// An error from a database, with its kind, the driver's message and its code.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SqlError {
    /// The classification.
    pub kind: ErrorKind,
    /// The database's message.
    pub message: String,
    /// The database's code name (`SQLITE_CONSTRAINT_UNIQUE`, SQLSTATE `23505`).
    pub code: Option<String>,
}

impl SqlError {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            code: None,
        }
    }

    /// An error decoding a value (a column of an unexpected type).
    pub fn decode(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Other, message)
    }

    /// True for a unique violation.
    pub fn is_unique(&self) -> bool {
        matches!(self.kind, ErrorKind::Unique { .. })
    }

    /// True for an arithmetic overflow: SQLite's "integer overflow" (an integer `SUM` beyond 64
    /// bits), PostgreSQL's SQLSTATE 22003 (numeric value out of range).
    pub fn is_overflow(&self) -> bool {
        self.code.as_deref() == Some("22003") || self.message.contains("integer overflow")
    }

    /// True for any constraint violation (unique, not null, check, other).
    pub fn is_constraint(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Unique { .. }
                | ErrorKind::NotNull
                | ErrorKind::Check
                | ErrorKind::Constraint
        )
    }
}

/// Result of a session call.
pub type SqlResult<T> = Result<T, SqlError>;
