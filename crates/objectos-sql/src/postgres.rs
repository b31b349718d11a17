//! [`Session`] over a PostgreSQL connection (sqlx), driven from a blocking thread.
//!
//! The engine is synchronous (it runs on blocking threads, like rusqlite); each call here blocks on
//! the async driver through the runtime's handle. A session is pinned to one tenant: on open it
//! switches to the tenant's role and schema (`SET ROLE`, `SET search_path`), so every unqualified
//! name resolves in the tenant's schema and the role's privileges fence off every other schema;
//! on drop it rolls back anything left open and resets both (and every other setting the session
//! changed: `RESET ALL`) before the connection returns to the pool.
//!
//! # Prepared statements
//!
//! By default every statement is unnamed: parsed, described and run each time (two round trips).
//! A session given its tenant's [`SchemaGeneration`] ([`PgSession::cache_statements`]) keeps its
//! statements prepared on the connection instead (one round trip each), in the driver's per-
//! connection LRU cache, which is keyed by the statement's text. A pooled connection serves every
//! tenant, and the same text can mean another table (another schema on the search path) or another
//! row type (the same table after a deployment changed a column), so the text a session prepares is
//! prefixed with a comment naming what the statement depends on:
//! `/* <schema> <generation> <parameter types> */`.
//! - **The schema**: statements are never shared between tenants.
//! - **The generation** of the tenant's schema, bumped by every session that runs DDL in it (when
//!   the statement runs and again when its transaction ends): after a deployment, statements are
//!   prepared anew. PostgreSQL itself re-plans a prepared statement whose tables changed, but refuses
//!   to run one whose result columns changed type (`0A000`, "cached plan must not change result
//!   type"); should that still happen (DDL by another process, which has its own generations), the
//!   driver drops the statement from its cache and, outside a transaction, prepares it anew and
//!   runs it again; inside one the statement fails as [`ErrorKind::Busy`] (the transaction may be
//!   retried).
//! - **The parameter types**: a statement is prepared for the types of its first parameters, and
//!   binary values bound later are read as those types, so a number bound as an integer once and as
//!   a real the next time must be two statements.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgDatabaseError, PgRow, PgTypeInfo, Postgres};
use sqlx::{AssertSqlSafe, Column, Row as _, TypeInfo};
use tokio::runtime::Handle;

use crate::error::{ErrorKind, SqlError, SqlResult};
use crate::session::{Dialect, Row, Session};
use crate::value::SqlValue;

/// What a session is pinned to: the tenant's schema and, when isolation by role is on, its role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgTarget {
    /// The schema unqualified names resolve in.
    pub schema: String,
    /// The role the session acts as (`None`: the pool's login role).
    pub role: Option<String>,
    /// A read-only session: `default_transaction_read_only` is on while it is open, so every
    /// write it attempts is refused (SQLSTATE `25006`, [`ErrorKind::ReadOnly`]).
    pub read_only: bool,
    /// The key of the tenant's writer lock: [`Session::begin`] takes
    /// `pg_advisory_xact_lock(key)` right after `BEGIN`, so the write transactions of one tenant
    /// run one at a time (as SQLite's `BEGIN IMMEDIATE` makes them), across every process using
    /// the database. `None`: no lock.
    pub lock_key: Option<i64>,
}

impl PgTarget {
    /// A target on `schema` acting as `role`, read-write, without a writer lock.
    pub fn new(schema: impl Into<String>, role: Option<String>) -> Self {
        Self {
            schema: schema.into(),
            role,
            ..Self::default()
        }
    }
}

/// The prefix of the roles a provider makes for the tenants of database `db`: `os_` and a short
/// hash of the database name, so providers on different databases of one server never share a
/// role.
pub fn role_prefix(db: &str) -> String {
    format!("os_{:08x}_", role_prefix_hash(db))
}

/// A quoted PostgreSQL identifier (`"name"`, inner quotes doubled).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A quoted PostgreSQL string literal (`'text'`, inner quotes doubled; NUL is refused by callers).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A NULL whose type the server infers from where it is used (OID 0, "unspecified"): a typed
/// NULL (text, say) would be refused by a non-text column.
struct UntypedNull;

impl sqlx::Type<Postgres> for UntypedNull {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(sqlx::postgres::types::Oid(0))
    }
}

impl<'q> sqlx::Encode<'q, Postgres> for UntypedNull {
    fn encode_by_ref(&self, _buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Ok(IsNull::Yes)
    }
}

/// The generation of a tenant's schema: a counter its sessions bump whenever they change the
/// schema, part of the key of every statement they keep prepared (see the module documentation).
/// Clones share the counter. Every generation value is unique in the process (one sequence for
/// all tenants), so a tenant deleted and made again under the same schema name, given a new
/// `SchemaGeneration`, never meets the statements of its predecessor.
#[derive(Debug, Clone)]
pub struct SchemaGeneration(Arc<AtomicU64>);

/// The process-wide sequence generations are drawn from.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(0);

impl Default for SchemaGeneration {
    fn default() -> Self {
        Self::new()
    }
}

impl SchemaGeneration {
    /// A new generation, never used before in this process.
    pub fn new() -> Self {
        Self(Arc::new(AtomicU64::new(
            NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
        )))
    }

    /// The current generation.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Moves to a new generation: statements prepared before are not used again.
    pub fn bump(&self) {
        self.0.store(
            NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
            Ordering::Release,
        );
    }
}

/// Whether `sql` may change a schema: one of its `;`-separated parts starts with CREATE, ALTER or
/// DROP (in any case). A false positive (a `;` in a literal) only costs re-preparing the tenant's
/// statements.
fn changes_schema(sql: &str) -> bool {
    sql.split(';').any(|part| {
        let word = part
            .trim_start()
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or("");
        ["create", "alter", "drop"]
            .iter()
            .any(|ddl| word.eq_ignore_ascii_case(ddl))
    })
}

/// The letter of a parameter's type in a prepared statement's key.
fn type_letter(value: &SqlValue) -> char {
    match value {
        SqlValue::Null => 'n',
        SqlValue::Bool(_) => 'b',
        SqlValue::Integer(_) => 'i',
        SqlValue::Real(_) => 'r',
        SqlValue::Text(_) => 't',
        SqlValue::Json(_) => 'j',
        SqlValue::Date(_) => 'd',
        SqlValue::Timestamp(_) => 's',
        SqlValue::Blob(_) => 'x',
    }
}

/// What a session's prepared statements are keyed by.
struct Prepared {
    /// The schema, as written in the key (letters, digits and `_` only, so it cannot end the
    /// comment; a schema with other characters gets its hash appended, so names stay distinct).
    schema: String,
    generation: SchemaGeneration,
}

/// A PostgreSQL session (see the module documentation).
pub struct PgSession {
    handle: Handle,
    /// `None` only once dropped (the connection then goes back through its reset).
    conn: RefCell<Option<sqlx::pool::PoolConnection<Postgres>>>,
    in_tx: Cell<bool>,
    pinned: bool,
    lock_key: Option<i64>,
    /// Set by [`PgSession::cache_statements`]: statements are kept prepared.
    prepared: Option<Prepared>,
    /// DDL ran in the open transaction: the generation is bumped again when it ends.
    ddl_in_tx: Cell<bool>,
}

impl std::fmt::Debug for PgSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSession")
            .field("in_tx", &self.in_tx.get())
            .finish_non_exhaustive()
    }
}

/// Classifies a sqlx error.
pub fn classify(error: sqlx::Error) -> SqlError {
    let message = error.to_string();
    match &error {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned());
            let pg = db.try_downcast_ref::<PgDatabaseError>();
            let detail = pg.and_then(|e| e.detail().map(str::to_owned));
            let stale = pg.and_then(PgDatabaseError::routine) == Some("RevalidateCachedQuery");
            let kind = match code.as_deref().unwrap_or("") {
                // A prepared statement whose result type changed, inside a transaction (outside
                // one, the driver prepares it anew and runs it again): the transaction may be
                // retried.
                "0A000" if stale => ErrorKind::Busy,
                "23505" => ErrorKind::Unique {
                    columns: detail.as_deref().map(key_columns).unwrap_or_default(),
                },
                "23502" => ErrorKind::NotNull,
                "23514" | "22P02" | "22003" | "22007" | "22008" | "22023" | "2201B" => {
                    ErrorKind::Check
                }
                c if c.starts_with("23") => ErrorKind::Constraint,
                "40001" | "40P01" | "55P03" | "57014" => ErrorKind::Busy,
                "42P01" | "3F000" | "3D000" | "42704" => ErrorKind::Missing,
                "42601" | "42703" | "42883" | "42804" => ErrorKind::Syntax,
                "42501" | "25006" => ErrorKind::ReadOnly,
                c if c.starts_with("08") || c.starts_with("57") => ErrorKind::Connection,
                _ => ErrorKind::Other,
            };
            SqlError {
                kind,
                message,
                code,
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => SqlError::new(ErrorKind::Connection, message),
        _ => SqlError::new(ErrorKind::Other, message),
    }
}

/// The columns of a unique violation's detail: `Key (a, b)=(1, 2) already exists.` → `[a, b]`.
fn key_columns(detail: &str) -> Vec<String> {
    detail
        .strip_prefix("Key (")
        .and_then(|rest| rest.split_once(")="))
        .map(|(cols, _)| {
            cols.split(", ")
                .map(|c| c.trim_matches('"').to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The SQL text of a statement. Every statement objectos runs is built from validated, quoted
/// identifiers and literals it escaped itself; values are always bound parameters.
fn sql_text(sql: &str) -> AssertSqlSafe<String> {
    AssertSqlSafe(sql.to_owned())
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

fn bind<'q>(mut query: PgQuery<'q>, params: &'q [SqlValue]) -> SqlResult<PgQuery<'q>> {
    for value in params {
        query = match value {
            SqlValue::Null => query.bind(UntypedNull),
            SqlValue::Bool(b) => query.bind(*b),
            SqlValue::Integer(i) => query.bind(*i),
            SqlValue::Real(f) => query.bind(*f),
            SqlValue::Text(s) => query.bind(s.as_str()),
            SqlValue::Json(s) => {
                let json: serde_json::Value = serde_json::from_str(s)
                    .map_err(|e| SqlError::new(ErrorKind::Check, format!("invalid JSON: {e}")))?;
                query.bind(sqlx::types::Json(json))
            }
            SqlValue::Date(s) => {
                let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| {
                    SqlError::new(ErrorKind::Check, format!("invalid date {s:?}: {e}"))
                })?;
                query.bind(date)
            }
            SqlValue::Timestamp(s) => {
                let at = DateTime::parse_from_rfc3339(s)
                    .map_err(|e| {
                        SqlError::new(ErrorKind::Check, format!("invalid timestamp {s:?}: {e}"))
                    })?
                    .with_timezone(&Utc);
                query.bind(at)
            }
            SqlValue::Blob(b) => query.bind(b.as_slice()),
        };
    }
    Ok(query)
}

/// The text form of an instant as objectos stores it: `YYYY-MM-DDTHH:MM:SS.sssZ`.
fn instant_text(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn decode(row: &PgRow) -> SqlResult<Row> {
    let mut out = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let err = |e: sqlx::Error| {
            SqlError::decode(format!(
                "column {} ({}): {e}",
                column.name(),
                column.type_info()
            ))
        };
        let value = match column.type_info().name() {
            "BOOL" => row
                .try_get::<Option<bool>, _>(i)
                .map_err(err)?
                .map(SqlValue::Bool),
            "INT2" => row
                .try_get::<Option<i16>, _>(i)
                .map_err(err)?
                .map(|v| SqlValue::Integer(v.into())),
            "INT4" => row
                .try_get::<Option<i32>, _>(i)
                .map_err(err)?
                .map(|v| SqlValue::Integer(v.into())),
            "INT8" => row
                .try_get::<Option<i64>, _>(i)
                .map_err(err)?
                .map(SqlValue::Integer),
            "FLOAT4" => row
                .try_get::<Option<f32>, _>(i)
                .map_err(err)?
                .map(|v| SqlValue::Real(v.into())),
            "FLOAT8" => row
                .try_get::<Option<f64>, _>(i)
                .map_err(err)?
                .map(SqlValue::Real),
            "JSON" | "JSONB" => row
                .try_get::<Option<serde_json::Value>, _>(i)
                .map_err(err)?
                .map(|v| SqlValue::Json(v.to_string())),
            "DATE" => row
                .try_get::<Option<NaiveDate>, _>(i)
                .map_err(err)?
                .map(|d| SqlValue::Date(d.format("%Y-%m-%d").to_string())),
            "TIMESTAMPTZ" => row
                .try_get::<Option<DateTime<Utc>>, _>(i)
                .map_err(err)?
                .map(|t| SqlValue::Timestamp(instant_text(t))),
            "TIMESTAMP" => row
                .try_get::<Option<NaiveDateTime>, _>(i)
                .map_err(err)?
                .map(|t| SqlValue::Timestamp(instant_text(t.and_utc()))),
            "BYTEA" => row
                .try_get::<Option<Vec<u8>>, _>(i)
                .map_err(err)?
                .map(SqlValue::Blob),
            "TEXT" | "VARCHAR" | "NAME" | "BPCHAR" | "CHAR" | "UNKNOWN" => row
                .try_get::<Option<String>, _>(i)
                .map_err(err)?
                .map(SqlValue::Text),
            other => {
                return Err(SqlError::decode(format!(
                "column {} has type {other}, which objectos does not read (cast it in the query)",
                column.name()
            )))
            }
        };
        out.push(value.unwrap_or(SqlValue::Null));
    }
    Ok(out)
}

impl PgSession {
    /// A session on `conn` pinned to `target` (role and search path switched at once). Must be
    /// called from a blocking thread of the runtime behind `handle`.
    pub fn open(
        handle: Handle,
        conn: sqlx::pool::PoolConnection<Postgres>,
        target: Option<&PgTarget>,
    ) -> SqlResult<Self> {
        let session = Self {
            handle,
            conn: RefCell::new(Some(conn)),
            in_tx: Cell::new(false),
            pinned: target.is_some(),
            lock_key: target.and_then(|t| t.lock_key),
            prepared: None,
            ddl_in_tx: Cell::new(false),
        };
        if let Some(target) = target {
            let mut sql = String::new();
            if let Some(role) = &target.role {
                sql.push_str(&format!("SET ROLE {}; ", quote_ident(role)));
            }
            sql.push_str(&format!(
                "SET search_path TO {}",
                quote_ident(&target.schema)
            ));
            if target.read_only {
                sql.push_str("; SET default_transaction_read_only = on");
            }
            session.execute_batch(&sql).map_err(|mut e| {
                // `SET ROLE` to a role that does not exist fails as an invalid parameter value
                // (the only value of these settings that can be invalid): the target is missing.
                if e.code.as_deref() == Some("22023") {
                    e.kind = ErrorKind::Missing;
                }
                e
            })?;
        }
        Ok(session)
    }

    /// Keeps this session's statements prepared on the connection, keyed by `schema` and the
    /// tenant's `generation` (see the module documentation). Every session of the tenant must be
    /// given the same generation.
    pub fn cache_statements(mut self, schema: &str, generation: SchemaGeneration) -> Self {
        let mut key: String = schema
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if key != schema {
            let _ = write!(key, "_{:08x}", role_prefix_hash(schema));
        }
        self.prepared = Some(Prepared {
            schema: key,
            generation,
        });
        self
    }

    fn run<T>(&self, f: impl std::future::Future<Output = Result<T, sqlx::Error>>) -> SqlResult<T> {
        self.handle.block_on(f).map_err(classify)
    }

    /// Notes that `sql` is about to run: DDL moves the tenant's statements to a new generation.
    fn before(&self, sql: &str) {
        if let Some(prepared) = &self.prepared {
            if changes_schema(sql) {
                prepared.generation.bump();
                if self.in_tx.get() {
                    self.ddl_in_tx.set(true);
                }
            }
        }
    }

    /// Ends the transaction's part in the generation (see [`PgSession::before`]).
    fn transaction_ended(&self) {
        if self.ddl_in_tx.replace(false) {
            if let Some(prepared) = &self.prepared {
                prepared.generation.bump();
            }
        }
    }

    /// The statement for `sql` with `params`: prepared and kept under its key (see the module
    /// documentation), or unnamed when this session does not keep statements.
    fn statement<'q>(&self, sql: &str, params: &'q [SqlValue]) -> SqlResult<PgQuery<'q>> {
        let query = match &self.prepared {
            None => sqlx::query(sql_text(sql)).persistent(false),
            Some(prepared) => {
                let mut text = String::with_capacity(sql.len() + prepared.schema.len() + 32);
                let _ = write!(
                    text,
                    "/* {} {} ",
                    prepared.schema,
                    prepared.generation.get()
                );
                text.extend(params.iter().map(type_letter));
                text.push_str(" */ ");
                text.push_str(sql);
                sqlx::query(AssertSqlSafe(text)).persistent(true)
            }
        };
        bind(query, params)
    }
}

/// FNV-1a, 32 bits (as [`role_prefix`]).
fn role_prefix_hash(text: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

impl Drop for PgSession {
    fn drop(&mut self) {
        let mut reset = String::new();
        if self.in_tx.get() {
            reset.push_str("ROLLBACK; ");
            self.transaction_ended();
        }
        if self.pinned {
            // Every setting the session changed (search path, read-only, anything the caller
            // set) back to the connection's defaults, which keep its startup options; the role
            // too (`RESET ALL` leaves it), so nothing of one tenant's session reaches the next.
            reset.push_str("RESET ALL; RESET ROLE; ");
        }
        if reset.is_empty() {
            return;
        }
        let Some(mut conn) = self.conn.get_mut().take() else {
            return;
        };
        // The reset runs after the session's caller has its answer: the connection returns to
        // the pool once it is done, so no other session can see this one's state.
        self.handle.spawn(async move {
            let done = sqlx::raw_sql(AssertSqlSafe(reset))
                .execute(&mut *conn)
                .await;
            if done.is_err() {
                // A connection whose state is unknown must not serve another tenant.
                conn.close_on_drop();
            }
        });
    }
}

/// The session's connection (there until the session is dropped).
fn connection(
    conn: &mut Option<sqlx::pool::PoolConnection<Postgres>>,
) -> SqlResult<&mut sqlx::pool::PoolConnection<Postgres>> {
    conn.as_mut()
        .ok_or_else(|| SqlError::new(ErrorKind::Connection, "the session is closed"))
}

impl Session for PgSession {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn query(&self, sql: &str, params: &[SqlValue]) -> SqlResult<Vec<Row>> {
        self.before(sql);
        let query = self.statement(sql, params)?;
        let mut conn = self.conn.borrow_mut();
        let conn = connection(&mut conn)?;
        let rows = self.run(async { query.fetch_all(&mut **conn).await })?;
        rows.iter().map(decode).collect()
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> SqlResult<u64> {
        self.before(sql);
        let query = self.statement(sql, params)?;
        let mut conn = self.conn.borrow_mut();
        let conn = connection(&mut conn)?;
        let done = self.run(async { query.execute(&mut **conn).await })?;
        Ok(done.rows_affected())
    }

    fn execute_batch(&self, sql: &str) -> SqlResult<()> {
        self.before(sql);
        let mut conn = self.conn.borrow_mut();
        let conn = connection(&mut conn)?;
        self.run(async { sqlx::raw_sql(sql_text(sql)).execute(&mut **conn).await })?;
        Ok(())
    }

    fn begin(&self) -> SqlResult<()> {
        match self.lock_key {
            None => {
                self.execute_batch("BEGIN")?;
                self.in_tx.set(true);
            }
            Some(key) => {
                // One round trip: the lock is waited for inside the transaction (bounded by the
                // connection's `lock_timeout` / `statement_timeout`) and released by its end.
                let done =
                    self.execute_batch(&format!("BEGIN; SELECT pg_advisory_xact_lock({key})"));
                // Whether or not the lock was had, a transaction may be open: on failure it is
                // rolled back (and, should that fail too, the drop closes the connection).
                self.in_tx.set(true);
                if let Err(e) = done {
                    let _ = self.rollback();
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn commit(&self) -> SqlResult<()> {
        let done = self.execute_batch("COMMIT");
        // A failed COMMIT ends the transaction too (PostgreSQL rolls it back).
        self.in_tx.set(false);
        self.transaction_ended();
        done
    }

    fn rollback(&self) -> SqlResult<()> {
        if !self.in_tx.get() {
            return Ok(());
        }
        self.in_tx.set(false);
        let done = self.execute_batch("ROLLBACK");
        self.transaction_ended();
        done
    }

    fn in_transaction(&self) -> bool {
        self.in_tx.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_is_told_from_other_statements() {
        for ddl in [
            "CREATE TABLE t (x int)",
            "  alter table t add column y int",
            "BEGIN; DROP INDEX i; COMMIT",
            "\nCreate index i on t (x)",
        ] {
            assert!(changes_schema(ddl), "{ddl}");
        }
        for other in [
            "SELECT created_at, drop_date FROM t",
            "INSERT INTO alter_log (create_time) VALUES ($1)",
            "UPDATE t SET note = 'x' WHERE id = $1",
            "SAVEPOINT objectos_write",
            "BEGIN; SELECT pg_advisory_xact_lock(1)",
        ] {
            assert!(!changes_schema(other), "{other}");
        }
    }

    #[test]
    fn unique_violation_details_name_their_columns() {
        assert_eq!(
            key_columns("Key (email)=(a@b.c) already exists."),
            ["email"]
        );
        assert_eq!(key_columns("Key (a, b)=(1, 2) already exists."), ["a", "b"]);
        assert!(key_columns("something else").is_empty());
    }
}
