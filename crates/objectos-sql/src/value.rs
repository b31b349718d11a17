//! Values crossing the seam.

/// A value bound to, or read from, a statement.
///
/// `Bool`, `Json`, `Date` and `Timestamp` say what a value means so that each database stores it
/// natively: SQLite binds them as `0/1`, JSON text, `YYYY-MM-DD` text and normalised RFC 3339 text;
/// PostgreSQL as `boolean`, `jsonb`, `date` and `timestamptz`. Reads give them back the same way
/// (SQLite's reads never produce them: its columns hold integers and text).
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer.
    Integer(i64),
    /// A double.
    Real(f64),
    /// Text.
    Text(String),
    /// JSON, as its text.
    Json(String),
    /// A calendar date, `YYYY-MM-DD`.
    Date(String),
    /// An instant, `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC, milliseconds).
    Timestamp(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl SqlValue {
    /// The value as an integer (booleans as 0/1; reals and text are not converted).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Integer(i) => Some(*i),
            SqlValue::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// The value as a non-negative count (`0` for anything else).
    pub fn as_count(&self) -> u64 {
        self.as_i64()
            .and_then(|i| u64::try_from(i).ok())
            .unwrap_or(0)
    }

    /// The text of a textual value (text, JSON, dates and instants).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            SqlValue::Text(s) | SqlValue::Json(s) | SqlValue::Date(s) | SqlValue::Timestamp(s) => {
                Some(s)
            }
            _ => None,
        }
    }

    /// The text of a textual value, moved out.
    pub fn into_string(self) -> Option<String> {
        match self {
            SqlValue::Text(s) | SqlValue::Json(s) | SqlValue::Date(s) | SqlValue::Timestamp(s) => {
                Some(s)
            }
            _ => None,
        }
    }

    /// True for NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, SqlValue::Null)
    }
}

impl From<&str> for SqlValue {
    fn from(s: &str) -> Self {
        SqlValue::Text(s.to_owned())
    }
}

impl From<String> for SqlValue {
    fn from(s: String) -> Self {
        SqlValue::Text(s)
    }
}

impl From<i64> for SqlValue {
    fn from(i: i64) -> Self {
        SqlValue::Integer(i)
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}
