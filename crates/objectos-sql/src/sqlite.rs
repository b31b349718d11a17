//! [`Session`] over a rusqlite connection.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, ToSql};

use crate::error::{ErrorKind, SqlError, SqlResult};
use crate::session::{Dialect, Row, Session};
use crate::value::SqlValue;

/// A SQLite session over a borrowed connection. Statements are prepared through the connection's
/// statement cache, so a statement run again is not parsed again.
#[derive(Debug, Clone, Copy)]
pub struct SqliteSession<'c> {
    conn: &'c Connection,
}

impl<'c> SqliteSession<'c> {
    /// A session over `conn`.
    pub fn new(conn: &'c Connection) -> Self {
        Self { conn }
    }

    /// The connection (for the SQLite provider's own maintenance).
    pub fn connection(&self) -> &'c Connection {
        self.conn
    }
}

impl ToSql for SqlValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            SqlValue::Null => ValueRef::Null,
            SqlValue::Bool(b) => ValueRef::Integer(i64::from(*b)),
            SqlValue::Integer(i) => ValueRef::Integer(*i),
            SqlValue::Real(f) => ValueRef::Real(*f),
            SqlValue::Text(s) | SqlValue::Json(s) | SqlValue::Date(s) | SqlValue::Timestamp(s) => {
                ValueRef::Text(s.as_bytes())
            }
            SqlValue::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn read(raw: ValueRef<'_>) -> SqlValue {
    match raw {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Integer(i),
        ValueRef::Real(f) => SqlValue::Real(f),
        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
    }
}

/// Classifies a rusqlite error.
pub fn classify(error: rusqlite::Error) -> SqlError {
    let message = error.to_string();
    let (kind, code) = match &error {
        rusqlite::Error::SqliteFailure(e, detail) => {
            let detail = detail.as_deref().unwrap_or("");
            let kind = match (e.code, e.extended_code) {
                (ErrorCode::ConstraintViolation, 2067 | 1555) => ErrorKind::Unique {
                    columns: detail
                        .strip_prefix("UNIQUE constraint failed: ")
                        .map(|cols| {
                            cols.split(", ")
                                .filter_map(|q| q.rsplit('.').next())
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default(),
                },
                (ErrorCode::ConstraintViolation, 1299) => ErrorKind::NotNull,
                (ErrorCode::ConstraintViolation, 275 | 3091) => ErrorKind::Check,
                (ErrorCode::ConstraintViolation, _) => ErrorKind::Constraint,
                (ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked, _) => ErrorKind::Busy,
                (ErrorCode::ReadOnly, _) => ErrorKind::ReadOnly,
                (ErrorCode::CannotOpen | ErrorCode::SystemIoFailure, _) => ErrorKind::Connection,
                _ if detail.starts_with("no such table") => ErrorKind::Missing,
                _ if detail.contains("syntax error") => ErrorKind::Syntax,
                _ => ErrorKind::Other,
            };
            (kind, Some(code_name(e.code, e.extended_code).to_owned()))
        }
        rusqlite::Error::SqlInputError { .. } => (ErrorKind::Syntax, None),
        _ => (ErrorKind::Other, None),
    };
    SqlError {
        kind,
        message,
        code,
    }
}

fn code_name(code: ErrorCode, extended: std::os::raw::c_int) -> &'static str {
    match extended {
        1299 => "SQLITE_CONSTRAINT_NOTNULL",
        2067 => "SQLITE_CONSTRAINT_UNIQUE",
        3091 => "SQLITE_CONSTRAINT_DATATYPE",
        275 => "SQLITE_CONSTRAINT_CHECK",
        1555 => "SQLITE_CONSTRAINT_PRIMARYKEY",
        _ => match code {
            ErrorCode::ConstraintViolation => "SQLITE_CONSTRAINT",
            ErrorCode::DatabaseBusy => "SQLITE_BUSY",
            ErrorCode::DatabaseLocked => "SQLITE_LOCKED",
            ErrorCode::ReadOnly => "SQLITE_READONLY",
            _ => "SQLITE_ERROR",
        },
    }
}

impl Session for SqliteSession<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn query(&self, sql: &str, params: &[SqlValue]) -> SqlResult<Vec<Row>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(classify)?;
        let width = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(classify)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(classify)? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(read(row.get_ref(i).map_err(classify)?));
            }
            out.push(values);
        }
        Ok(out)
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> SqlResult<u64> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(classify)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter()))
            .map_err(classify)?;
        Ok(n as u64)
    }

    fn execute_batch(&self, sql: &str) -> SqlResult<()> {
        self.conn.execute_batch(sql).map_err(classify)
    }

    fn begin(&self) -> SqlResult<()> {
        self.conn
            .prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut s| s.execute([]))
            .map(drop)
            .map_err(classify)
    }

    fn commit(&self) -> SqlResult<()> {
        self.conn
            .prepare_cached("COMMIT")
            .and_then(|mut s| s.execute([]))
            .map(drop)
            .map_err(classify)
    }

    fn rollback(&self) -> SqlResult<()> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn.execute_batch("ROLLBACK").map_err(classify)
    }

    fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionExt;

    #[test]
    fn dollar_placeholders_bind_in_order_of_first_appearance() {
        let conn = Connection::open_in_memory().unwrap();
        let s = SqliteSession::new(&conn);
        s.execute_batch("CREATE TABLE t (a TEXT, b INTEGER)")
            .unwrap();
        s.execute(
            "INSERT INTO t (a, b) VALUES ($1, $2)",
            &["x".into(), SqlValue::Integer(7)],
        )
        .unwrap();
        let rows = s
            .query(
                "SELECT a, b FROM t WHERE a = $1 AND b = $2 AND a = $1",
                &["x".into(), SqlValue::Integer(7)],
            )
            .unwrap();
        assert_eq!(rows, vec![vec!["x".into(), SqlValue::Integer(7)]]);
    }

    #[test]
    fn errors_are_classified() {
        let conn = Connection::open_in_memory().unwrap();
        let s = SqliteSession::new(&conn);
        s.execute_batch("CREATE TABLE t (a TEXT UNIQUE, b INTEGER NOT NULL) STRICT")
            .unwrap();
        s.execute("INSERT INTO t VALUES ($1, 1)", &["x".into()])
            .unwrap();
        let e = s
            .execute("INSERT INTO t VALUES ($1, 1)", &["x".into()])
            .unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::Unique {
                columns: vec!["a".into()]
            }
        );
        let e = s
            .execute("INSERT INTO t VALUES ($1, NULL)", &["y".into()])
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotNull);
        let e = s.query("SELECT * FROM nope", &[]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Missing);
        let e = s.query("SELEC 1", &[]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Syntax);
        assert_eq!(s.query_count("SELECT COUNT(*) FROM t", &[]).unwrap(), 1);
    }

    #[test]
    fn transactions_and_savepoints() {
        let conn = Connection::open_in_memory().unwrap();
        let s = SqliteSession::new(&conn);
        s.execute_batch("CREATE TABLE t (a INTEGER)").unwrap();
        let r: Result<(), SqlError> = s.transaction(|| {
            s.execute("INSERT INTO t VALUES (1)", &[])?;
            let inner: Result<(), SqlError> = s.savepoint("sp", || {
                s.execute("INSERT INTO t VALUES (2)", &[])?;
                Err(SqlError::new(ErrorKind::Other, "undo 2"))
            });
            assert!(inner.is_err());
            assert!(s.in_transaction());
            Ok(())
        });
        r.unwrap();
        assert!(!s.in_transaction());
        assert_eq!(s.query_count("SELECT SUM(a) FROM t", &[]).unwrap(), 1);
    }
}
