//! The [`Session`] trait: what the engine may do with a tenant database.

use crate::error::{ErrorKind, SqlError, SqlResult};
use crate::value::SqlValue;

/// One result row, its values in select-list order.
pub type Row = Vec<SqlValue>;

/// The SQL dialect a session speaks. A closed set: every SQL builder matches on it, so adding a
/// dialect is a compile error everywhere SQL is written until each place handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite 3 (rusqlite, bundled): the embedded default and the `memory` provider.
    Sqlite,
    /// PostgreSQL 13 or later.
    Postgres,
}

impl Dialect {
    /// The dialect's name as deploy plans report it (`MigrationPlan.dialect`).
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgresql",
        }
    }
}

/// A connection to one tenant database, used from one blocking thread at a time.
///
/// Statements use `$1`, `$2`, … placeholders numbered in order of first appearance. Transactions
/// are explicit: [`Session::begin`] … [`Session::commit`] / [`Session::rollback`]; savepoints are
/// plain SQL (`SAVEPOINT x`, `ROLLBACK TO x`, `RELEASE x`) in both dialects.
pub trait Session {
    /// The dialect of this session.
    fn dialect(&self) -> Dialect;

    /// Runs a query and returns every row.
    fn query(&self, sql: &str, params: &[SqlValue]) -> SqlResult<Vec<Row>>;

    /// Runs a statement and returns the number of rows it changed.
    fn execute(&self, sql: &str, params: &[SqlValue]) -> SqlResult<u64>;

    /// Runs one or more statements without parameters (DDL, plan statements).
    fn execute_batch(&self, sql: &str) -> SqlResult<()>;

    /// Starts a write transaction (SQLite: `BEGIN IMMEDIATE`, which takes the write lock at once).
    fn begin(&self) -> SqlResult<()>;

    /// Commits the open transaction.
    fn commit(&self) -> SqlResult<()>;

    /// Rolls the open transaction back (a no-op outside one).
    fn rollback(&self) -> SqlResult<()>;

    /// True while a transaction is open.
    fn in_transaction(&self) -> bool;
}

/// Conveniences over [`Session`].
pub trait SessionExt: Session {
    /// The first row, if any.
    fn query_opt(&self, sql: &str, params: &[SqlValue]) -> SqlResult<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first value of the first row; an error when there is no row.
    fn query_value(&self, sql: &str, params: &[SqlValue]) -> SqlResult<SqlValue> {
        self.query_opt(sql, params)?
            .and_then(|row| row.into_iter().next())
            .ok_or_else(|| SqlError::new(ErrorKind::Other, format!("no row returned by: {sql}")))
    }

    /// The first value of the first row as a non-negative count (COUNT(*) and the like).
    fn query_count(&self, sql: &str, params: &[SqlValue]) -> SqlResult<u64> {
        Ok(self.query_value(sql, params)?.as_count())
    }

    /// True when the query returns at least one row.
    fn exists(&self, sql: &str, params: &[SqlValue]) -> SqlResult<bool> {
        Ok(!self.query(sql, params)?.is_empty())
    }

    /// Runs `f` inside a transaction: commits when it returns `Ok`, rolls back otherwise.
    fn transaction<T, E: From<SqlError>>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        self.begin()?;
        match f() {
            Ok(value) => {
                if let Err(e) = self.commit() {
                    let _ = self.rollback();
                    return Err(e.into());
                }
                Ok(value)
            }
            Err(e) => {
                let _ = self.rollback();
                Err(e)
            }
        }
    }

    /// Runs `f` inside `SAVEPOINT name`: released on `Ok`, rolled back to (and released) on `Err`,
    /// so a failing part undoes only itself (PostgreSQL needs this to go on after an error).
    fn savepoint<T, E: From<SqlError>>(
        &self,
        name: &str,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        self.execute_batch(&format!("SAVEPOINT {name}"))?;
        match f() {
            Ok(value) => {
                self.execute_batch(&format!("RELEASE {name}"))?;
                Ok(value)
            }
            Err(e) => {
                let _ = self.execute_batch(&format!("ROLLBACK TO {name}"));
                let _ = self.execute_batch(&format!("RELEASE {name}"));
                Err(e)
            }
        }
    }
}

impl<S: Session + ?Sized> SessionExt for S {}
