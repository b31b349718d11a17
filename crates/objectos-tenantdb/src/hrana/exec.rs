//! Runs Hrana requests on a rusqlite connection, under an authorizer that enforces [`Access`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::fallible_iterator::FallibleIterator as _;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Batch as SqlBatch, Connection, Statement, ToSql};

use super::proto::{
    Batch, BatchCond, BatchResult, Col, DescribeCol, DescribeParam, DescribeResult, Error, Stmt,
    StmtResult, StreamRequest, StreamResponse, Value,
};
use super::{Access, Limits, Version};

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Float(f) => ValueRef::Real(*f),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn read_value(raw: ValueRef<'_>) -> Value {
    match raw {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

/// Bytes a value adds to a response (roughly its JSON size).
fn value_weight(v: &Value) -> usize {
    match v {
        Value::Null => 16,
        Value::Integer(_) | Value::Float(_) => 40,
        Value::Text(t) => 32 + t.len(),
        Value::Blob(b) => 32 + b.len().div_ceil(3) * 4,
    }
}

/// True for tables objectos or SQLite own: `_objectos_*` (metadata, ledger) and `sqlite_*`.
pub fn is_protected_table(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("_objectos_") || lower.starts_with("sqlite_")
}

fn is_schema_table(name: &str) -> bool {
    [
        "sqlite_master",
        "sqlite_schema",
        "sqlite_temp_master",
        "sqlite_temp_schema",
    ]
    .iter()
    .any(|t| name.eq_ignore_ascii_case(t))
}

/// Pragmas that only read, allowed with an argument (`PRAGMA table_info(t)`).
const READ_PRAGMAS_WITH_ARG: &[&str] = &[
    "table_info",
    "table_xinfo",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "foreign_key_check",
];

/// Pragmas allowed without an argument (reading the setting); setting them is refused.
const READ_PRAGMAS: &[&str] = &[
    "table_list",
    "user_version",
    "schema_version",
    "foreign_keys",
    "page_count",
    "page_size",
    "freelist_count",
    "data_version",
    "encoding",
    "collation_list",
    "function_list",
    "pragma_list",
    "table_info",
    "table_xinfo",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "foreign_key_check",
];

/// The authorizer's decision for one action (see docs/hrana.md, "What is refused").
pub fn authorize(access: Access, action: &AuthAction<'_>) -> Authorization {
    use AuthAction as A;
    let ddl = |table: &str| {
        if access.read_only || !access.allow_ddl || is_protected_table(table) {
            Authorization::Deny
        } else {
            Authorization::Allow
        }
    };
    let allow = Authorization::Allow;
    match *action {
        // Loading code and the FTS3 tokenizer pointer interface are never for clients.
        A::Function { function_name }
            if function_name.eq_ignore_ascii_case("load_extension")
                || function_name.eq_ignore_ascii_case("fts3_tokenizer") =>
        {
            Authorization::Deny
        }
        A::Select | A::Read { .. } | A::Recursive | A::Function { .. } => allow,
        A::Transaction { .. } | A::Savepoint { .. } => allow,
        // DDL also asks to write the schema table; SQLite itself refuses direct writes to it.
        A::Insert { table_name } | A::Delete { table_name } | A::Update { table_name, .. }
            if is_schema_table(table_name) =>
        {
            if access.read_only || !access.allow_ddl {
                Authorization::Deny
            } else {
                allow
            }
        }
        A::Insert { table_name } | A::Delete { table_name } | A::Update { table_name, .. } => {
            if access.read_only || is_protected_table(table_name) {
                Authorization::Deny
            } else {
                allow
            }
        }
        A::Pragma {
            pragma_name,
            pragma_value,
        } => {
            let name = pragma_name.to_ascii_lowercase();
            let ok = match pragma_value {
                None => READ_PRAGMAS.contains(&name.as_str()),
                Some(_) => READ_PRAGMAS_WITH_ARG.contains(&name.as_str()),
            };
            if ok {
                allow
            } else {
                Authorization::Deny
            }
        }
        A::CreateTable { table_name }
        | A::CreateTempTable { table_name }
        | A::DropTable { table_name }
        | A::DropTempTable { table_name }
        | A::CreateIndex { table_name, .. }
        | A::CreateTempIndex { table_name, .. }
        | A::DropIndex { table_name, .. }
        | A::DropTempIndex { table_name, .. }
        | A::DropTrigger { table_name, .. }
        | A::DropTempTrigger { table_name, .. }
        | A::AlterTable { table_name, .. } => ddl(table_name),
        A::CreateView { view_name }
        | A::CreateTempView { view_name }
        | A::DropView { view_name }
        | A::DropTempView { view_name } => ddl(view_name),
        A::Analyze { .. } | A::Reindex { .. } => {
            if access.read_only {
                Authorization::Deny
            } else {
                allow
            }
        }
        // A trigger's body is authorized when it fires: one fired by the data API's writes (which
        // run without this authorizer) could write objectos' tables, so none may be created.
        A::CreateTrigger { .. } | A::CreateTempTrigger { .. } => Authorization::Deny,
        // Files outside the tenant's database, virtual tables, and anything SQLite adds later.
        _ => Authorization::Deny,
    }
}

/// When the request a stream runs must stop: read by the connection's progress handler, which
/// interrupts a statement running past it (`SQLITE_INTERRUPT`).
#[derive(Debug, Clone)]
pub struct Deadline {
    base: Instant,
    /// Milliseconds after `base`.
    at_ms: Arc<AtomicU64>,
}

impl Deadline {
    /// A deadline already passed (nothing runs until [`Deadline::start`]).
    pub fn new() -> Self {
        Self {
            base: Instant::now(),
            at_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Statements may run for `limit` from now.
    pub fn start(&self, limit: Duration) {
        let at = self.base.elapsed().saturating_add(limit).as_millis();
        self.at_ms
            .store(u64::try_from(at).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn passed(&self) -> bool {
        let now = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        now > self.at_ms.load(Ordering::Relaxed)
    }
}

impl Default for Deadline {
    fn default() -> Self {
        Self::new()
    }
}

/// Virtual machine steps between two checks of the deadline.
const PROGRESS_STEPS: std::os::raw::c_int = 10_000;

/// Installs on `conn` the authorizer enforcing `access` and the progress handler enforcing
/// `deadline`.
pub fn install_guards(conn: &Connection, access: Access, deadline: &Deadline) {
    conn.authorizer(Some(move |ctx: AuthContext<'_>| {
        authorize(access, &ctx.action)
    }));
    let deadline = deadline.clone();
    conn.progress_handler(PROGRESS_STEPS, Some(move || deadline.passed()));
}

/// Removes both (before a shared connection goes back to the data API).
pub fn remove_guards(conn: &Connection) {
    conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
    conn.progress_handler(0, None::<fn() -> bool>);
}

/// Per-stream state: stored SQL texts.
#[derive(Debug, Default)]
pub struct StreamSqls {
    sqls: HashMap<i32, String>,
}

/// What is left of a response's size budget.
#[derive(Debug)]
pub struct Budget {
    bytes: usize,
    rows: usize,
}

impl Budget {
    /// The budget of one HTTP response.
    pub fn new(limits: &Limits) -> Self {
        Self {
            bytes: limits.max_response_bytes,
            rows: limits.max_rows,
        }
    }

    fn take_row(&mut self) -> Result<(), Error> {
        self.rows = self.rows.checked_sub(1).ok_or_else(too_large)?;
        Ok(())
    }

    fn take_bytes(&mut self, n: usize) -> Result<(), Error> {
        self.bytes = self.bytes.checked_sub(n).ok_or_else(too_large)?;
        Ok(())
    }
}

fn too_large() -> Error {
    Error::new(
        "RESPONSE_TOO_LARGE",
        "Response is too large (rows or bytes beyond the server's limit)",
    )
}

/// Maps a rusqlite error to a Hrana error with the code clients read.
pub fn sqlite_error(error: rusqlite::Error) -> Error {
    match error {
        rusqlite::Error::SqliteFailure(e, _)
            if e.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            Error::new(
                "SQLITE_INTERRUPT",
                "SQLite error: interrupted: the request ran longer than the server's limit",
            )
        }
        rusqlite::Error::SqliteFailure(e, message) => {
            let message = message.unwrap_or_else(|| e.to_string());
            Error::new(code_name(e, &message), format!("SQLite error: {message}"))
        }
        rusqlite::Error::SqlInputError { error, msg, .. } => {
            Error::new(code_name(error, &msg), format!("SQLite error: {msg}"))
        }
        rusqlite::Error::MultipleStatement => many_statements(),
        other => Error::new("SQLITE_ERROR", other.to_string()),
    }
}

fn many_statements() -> Error {
    Error::new(
        "SQL_MANY_STATEMENTS",
        "SQL string contains more than one statement",
    )
}

/// The code of a SQLite error: `SQL_PARSE_ERROR` for syntax errors (as libsql-server answers),
/// the extended name for constraint violations (`SQLITE_CONSTRAINT_UNIQUE`), else the primary
/// name (`SQLITE_BUSY`, `SQLITE_AUTH`, ...).
fn code_name(e: rusqlite::ffi::Error, message: &str) -> &'static str {
    use rusqlite::ErrorCode as C;
    match e.extended_code {
        275 => return "SQLITE_CONSTRAINT_CHECK",
        531 => return "SQLITE_CONSTRAINT_COMMITHOOK",
        3091 => return "SQLITE_CONSTRAINT_DATATYPE",
        787 => return "SQLITE_CONSTRAINT_FOREIGNKEY",
        1043 => return "SQLITE_CONSTRAINT_FUNCTION",
        1299 => return "SQLITE_CONSTRAINT_NOTNULL",
        2835 => return "SQLITE_CONSTRAINT_PINNED",
        1555 => return "SQLITE_CONSTRAINT_PRIMARYKEY",
        2579 => return "SQLITE_CONSTRAINT_ROWID",
        1811 => return "SQLITE_CONSTRAINT_TRIGGER",
        2067 => return "SQLITE_CONSTRAINT_UNIQUE",
        2323 => return "SQLITE_CONSTRAINT_VTAB",
        _ => {}
    }
    match e.code {
        C::Unknown if message.contains("syntax error") || message.contains("incomplete input") => {
            "SQL_PARSE_ERROR"
        }
        // A function refused by the authorizer is reported as SQLITE_ERROR.
        C::Unknown if message.contains("not authorized") => "SQLITE_AUTH",
        C::Unknown => "SQLITE_ERROR",
        C::InternalMalfunction => "SQLITE_INTERNAL",
        C::PermissionDenied => "SQLITE_PERM",
        C::OperationAborted => "SQLITE_ABORT",
        C::DatabaseBusy => "SQLITE_BUSY",
        C::DatabaseLocked => "SQLITE_LOCKED",
        C::OutOfMemory => "SQLITE_NOMEM",
        C::ReadOnly => "SQLITE_READONLY",
        C::OperationInterrupted => "SQLITE_INTERRUPT",
        C::SystemIoFailure => "SQLITE_IOERR",
        C::DatabaseCorrupt => "SQLITE_CORRUPT",
        C::NotFound => "SQLITE_NOTFOUND",
        C::DiskFull => "SQLITE_FULL",
        C::CannotOpen => "SQLITE_CANTOPEN",
        C::FileLockingProtocolFailed => "SQLITE_PROTOCOL",
        C::SchemaChanged => "SQLITE_SCHEMA",
        C::TooBig => "SQLITE_TOOBIG",
        C::ConstraintViolation => "SQLITE_CONSTRAINT",
        C::TypeMismatch => "SQLITE_MISMATCH",
        C::ApiMisuse => "SQLITE_MISUSE",
        C::NoLargeFileSupport => "SQLITE_NOLFS",
        C::AuthorizationForStatementDenied => "SQLITE_AUTH",
        C::ParameterOutOfRange => "SQLITE_RANGE",
        C::NotADatabase => "SQLITE_NOTADB",
        _ => "SQLITE_ERROR",
    }
}

/// True when `sql` holds the keyword `VACUUM` outside quotes and comments: `VACUUM INTO` writes
/// a file anywhere the server may write, so VACUUM is refused whatever the authorizer says.
fn mentions_vacuum(sql: &str) -> bool {
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    i += 1;
                }
                i += 1;
            }
            b'[' => {
                while i < bytes.len() && bytes[i] != b']' {
                    i += 1;
                }
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                if sql[start..i].eq_ignore_ascii_case("vacuum") {
                    return true;
                }
            }
            _ => i += 1,
        }
    }
    false
}

/// libSQL's `BEGIN [TRANSACTION] READONLY` (sent by the clients) as plain SQLite: `BEGIN DEFERRED`.
fn translate(sql: &str) -> std::borrow::Cow<'_, str> {
    let words: Vec<&str> = sql
        .trim()
        .trim_end_matches(';')
        .split_ascii_whitespace()
        .collect();
    let is = |w: &str, k: &str| w.eq_ignore_ascii_case(k);
    let readonly = match words.as_slice() {
        [b, r] => is(b, "BEGIN") && is(r, "READONLY"),
        [b, t, r] => is(b, "BEGIN") && is(t, "TRANSACTION") && is(r, "READONLY"),
        _ => false,
    };
    if readonly {
        std::borrow::Cow::Borrowed("BEGIN DEFERRED")
    } else {
        std::borrow::Cow::Borrowed(sql)
    }
}

fn resolve_sql<'a>(
    sql: Option<&'a str>,
    sql_id: Option<i32>,
    sqls: &'a StreamSqls,
) -> Result<&'a str, Error> {
    match (sql, sql_id) {
        (Some(sql), None) => Ok(sql),
        (None, Some(id)) => sqls.sqls.get(&id).map(String::as_str).ok_or_else(|| {
            Error::new("SQL_NOT_FOUND", format!("no SQL text stored under id {id}"))
        }),
        (Some(_), Some(_)) => Err(Error::new(
            "PROTOCOL_ERROR",
            "give either `sql` or `sql_id`, not both",
        )),
        (None, None) => Err(Error::new("PROTOCOL_ERROR", "give `sql` or `sql_id`")),
    }
}

fn vacuum_refused() -> Error {
    Error::new(
        "SQLITE_AUTH",
        "SQLite error: not authorized (VACUUM is not allowed over Hrana)",
    )
}

/// Prepares the single statement of `sql`.
fn prepare_one<'c>(conn: &'c Connection, sql: &str) -> Result<Statement<'c>, Error> {
    if mentions_vacuum(sql) {
        return Err(vacuum_refused());
    }
    let mut batch = SqlBatch::new(conn, sql);
    let first = batch.next().map_err(sqlite_error)?.ok_or_else(|| {
        Error::new(
            "SQL_NO_STATEMENT",
            "SQL string does not contain any statement",
        )
    })?;
    if batch.next().map_err(sqlite_error)?.is_some() {
        return Err(many_statements());
    }
    Ok(first)
}

fn bind(prepared: &mut Statement<'_>, stmt: &Stmt) -> Result<(), Error> {
    let count = prepared.parameter_count();
    if !stmt.args.is_empty() && !stmt.named_args.is_empty() {
        return Err(Error::new(
            "ARGS_BOTH_POSITIONAL_AND_NAMED",
            "Specifying both positional and named arguments is not supported",
        ));
    }
    if stmt.args.len() > count {
        return Err(Error::new(
            "ARGS_INVALID",
            format!(
                "Arguments do not match SQL parameters: {} arguments for {count} parameters",
                stmt.args.len()
            ),
        ));
    }
    for (i, value) in stmt.args.iter().enumerate() {
        prepared
            .raw_bind_parameter(i + 1, value)
            .map_err(sqlite_error)?;
    }
    for arg in &stmt.named_args {
        let index = if arg.name.starts_with([':', '@', '$']) {
            prepared.parameter_index(&arg.name).map_err(sqlite_error)?
        } else {
            let mut found = None;
            for prefix in [':', '@', '$'] {
                found = prepared
                    .parameter_index(&format!("{prefix}{}", arg.name))
                    .map_err(sqlite_error)?;
                if found.is_some() {
                    break;
                }
            }
            found
        };
        let index = index.ok_or_else(|| {
            Error::new(
                "ARGS_INVALID",
                format!(
                    "Arguments do not match SQL parameters: no parameter named {:?}",
                    arg.name
                ),
            )
        })?;
        prepared
            .raw_bind_parameter(index, &arg.value)
            .map_err(sqlite_error)?;
    }
    Ok(())
}

fn columns(prepared: &Statement<'_>) -> Vec<Col> {
    prepared
        .columns()
        .iter()
        .map(|c| Col {
            name: Some(c.name().to_owned()),
            decltype: c.decl_type().map(str::to_owned),
        })
        .collect()
}

/// Runs one statement.
pub fn execute_stmt(
    conn: &Connection,
    sqls: &StreamSqls,
    stmt: &Stmt,
    budget: &mut Budget,
) -> Result<StmtResult, Error> {
    let sql = resolve_sql(stmt.sql.as_deref(), stmt.sql_id, sqls)?;
    let sql = translate(sql);
    let started = Instant::now();
    let mut prepared = prepare_one(conn, &sql)?;
    bind(&mut prepared, stmt)?;
    let cols = columns(&prepared);
    let width = prepared.column_count();
    let readonly = prepared.readonly();
    let want_rows = stmt.want_rows.unwrap_or(true);
    let mut out = Vec::new();
    let mut returned = 0u64;
    {
        let mut rows = prepared.raw_query();
        while let Some(row) = rows.next().map_err(sqlite_error)? {
            returned += 1;
            if !want_rows {
                continue;
            }
            budget.take_row()?;
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                let value = read_value(row.get_ref(i).map_err(sqlite_error)?);
                budget.take_bytes(value_weight(&value))?;
                values.push(value);
            }
            out.push(values);
        }
    }
    let changes = if readonly { 0 } else { conn.changes() };
    Ok(StmtResult {
        cols,
        rows: out,
        affected_row_count: changes,
        last_insert_rowid: Some(conn.last_insert_rowid().to_string()),
        rows_read: returned,
        rows_written: changes,
        query_duration_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

fn eval_cond(
    cond: &BatchCond,
    current: usize,
    result: &BatchResult,
    conn: &Connection,
    version: Version,
) -> Result<bool, Error> {
    let step = |s: u32| -> Result<usize, Error> {
        let s = s as usize;
        if s >= current {
            return Err(Error::new(
                "PROTOCOL_ERROR",
                format!("a condition of step {current} refers to step {s}, which is not before it"),
            ));
        }
        Ok(s)
    };
    Ok(match cond {
        BatchCond::Ok { step: s } => result.step_results[step(*s)?].is_some(),
        BatchCond::Error { step: s } => result.step_errors[step(*s)?].is_some(),
        BatchCond::Not { cond } => !eval_cond(cond, current, result, conn, version)?,
        BatchCond::And { conds } => {
            for c in conds {
                if !eval_cond(c, current, result, conn, version)? {
                    return Ok(false);
                }
            }
            true
        }
        BatchCond::Or { conds } => {
            for c in conds {
                if eval_cond(c, current, result, conn, version)? {
                    return Ok(true);
                }
            }
            false
        }
        BatchCond::IsAutocommit => {
            if version < Version::V3 {
                return Err(not_in_v2("the is_autocommit condition"));
            }
            conn.is_autocommit()
        }
    })
}

fn not_in_v2(what: &str) -> Error {
    Error::new(
        "PROTOCOL_ERROR",
        format!("{what} needs Hrana 3 (use /v3/pipeline)"),
    )
}

/// Runs a batch: each step whose condition holds; a failing step's error goes to `step_errors`.
pub fn run_batch(
    conn: &Connection,
    sqls: &StreamSqls,
    batch: &Batch,
    version: Version,
    limits: &Limits,
    budget: &mut Budget,
) -> Result<BatchResult, Error> {
    if batch.steps.len() > limits.max_statements {
        return Err(too_many_statements(limits));
    }
    let n = batch.steps.len();
    let mut result = BatchResult {
        step_results: vec![None; n],
        step_errors: vec![None; n],
    };
    for (i, step) in batch.steps.iter().enumerate() {
        let run = match &step.condition {
            None => true,
            Some(cond) => eval_cond(cond, i, &result, conn, version)?,
        };
        if !run {
            continue;
        }
        match execute_stmt(conn, sqls, &step.stmt, budget) {
            Ok(r) => result.step_results[i] = Some(r),
            Err(e) => result.step_errors[i] = Some(e),
        }
    }
    Ok(result)
}

fn too_many_statements(limits: &Limits) -> Error {
    Error::new(
        "LIMIT_EXCEEDED",
        format!(
            "at most {} statements per request are accepted",
            limits.max_statements
        ),
    )
}

/// Runs `;`-separated statements, discarding rows; stops at the first error.
fn run_sequence(conn: &Connection, sql: &str, limits: &Limits) -> Result<(), Error> {
    if mentions_vacuum(sql) {
        return Err(vacuum_refused());
    }
    let mut batch = SqlBatch::new(conn, sql);
    let mut count = 0usize;
    while let Some(mut stmt) = batch.next().map_err(sqlite_error)? {
        count += 1;
        if count > limits.max_statements {
            return Err(too_many_statements(limits));
        }
        let mut rows = stmt.raw_query();
        while rows.next().map_err(sqlite_error)?.is_some() {}
    }
    Ok(())
}

fn describe(conn: &Connection, sql: &str) -> Result<DescribeResult, Error> {
    let prepared = prepare_one(conn, &translate(sql))?;
    Ok(DescribeResult {
        params: (1..=prepared.parameter_count())
            .map(|i| DescribeParam {
                name: prepared.parameter_name(i).map(str::to_owned),
            })
            .collect(),
        cols: prepared
            .columns()
            .iter()
            .map(|c| DescribeCol {
                name: c.name().to_owned(),
                decltype: c.decl_type().map(str::to_owned),
            })
            .collect(),
        is_explain: prepared.is_explain() > 0,
        is_readonly: prepared.readonly(),
    })
}

/// Runs one request of a pipeline. `Close` is answered by the caller (it ends the stream).
pub fn run_request(
    conn: &Connection,
    sqls: &mut StreamSqls,
    request: &StreamRequest,
    version: Version,
    limits: &Limits,
    budget: &mut Budget,
) -> Result<StreamResponse, Error> {
    Ok(match request {
        StreamRequest::Close => StreamResponse::Close {},
        StreamRequest::Execute { stmt } => StreamResponse::Execute {
            result: execute_stmt(conn, sqls, stmt, budget)?,
        },
        StreamRequest::Batch { batch } => StreamResponse::Batch {
            result: run_batch(conn, sqls, batch, version, limits, budget)?,
        },
        StreamRequest::Sequence { sql, sql_id } => {
            let sql = resolve_sql(sql.as_deref(), *sql_id, sqls)?;
            run_sequence(conn, sql, limits)?;
            StreamResponse::Sequence {}
        }
        StreamRequest::Describe { sql, sql_id } => StreamResponse::Describe {
            result: describe(conn, resolve_sql(sql.as_deref(), *sql_id, sqls)?)?,
        },
        StreamRequest::StoreSql { sql_id, sql } => {
            if sql.len() > limits.max_stored_sql_bytes {
                return Err(Error::new(
                    "SQL_STORE_TOO_LARGE",
                    format!(
                        "stored SQL texts are limited to {} bytes",
                        limits.max_stored_sql_bytes
                    ),
                ));
            }
            if !sqls.sqls.contains_key(sql_id) && sqls.sqls.len() >= limits.max_stored_sqls {
                return Err(Error::new(
                    "SQL_STORE_TOO_MANY",
                    format!(
                        "at most {} SQL texts may be stored per stream",
                        limits.max_stored_sqls
                    ),
                ));
            }
            sqls.sqls.insert(*sql_id, sql.clone());
            StreamResponse::StoreSql {}
        }
        StreamRequest::CloseSql { sql_id } => {
            sqls.sqls.remove(sql_id);
            StreamResponse::CloseSql {}
        }
        StreamRequest::GetAutocommit => {
            if version < Version::V3 {
                return Err(not_in_v2("get_autocommit"));
            }
            StreamResponse::GetAutocommit {
                is_autocommit: conn.is_autocommit(),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vacuum_is_found_outside_quotes_and_comments_only() {
        assert!(mentions_vacuum("VACUUM"));
        assert!(mentions_vacuum("  vacuum INTO '/tmp/x'"));
        assert!(mentions_vacuum("SELECT 1; VaCuUm"));
        assert!(!mentions_vacuum("SELECT 'vacuum'"));
        assert!(!mentions_vacuum("SELECT \"vacuum\" FROM t"));
        assert!(!mentions_vacuum("-- vacuum\nSELECT 1"));
        assert!(!mentions_vacuum("/* vacuum */ SELECT vacuumed"));
    }

    #[test]
    fn begin_readonly_becomes_begin_deferred() {
        assert_eq!(translate("BEGIN READONLY"), "BEGIN DEFERRED");
        assert_eq!(translate("begin transaction readonly;"), "BEGIN DEFERRED");
        assert_eq!(translate("BEGIN IMMEDIATE"), "BEGIN IMMEDIATE");
    }

    #[test]
    fn the_authorizer_refuses_files_system_tables_and_ddl() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a INTEGER); CREATE TABLE _objectos_meta (key TEXT, value TEXT);",
        )
        .unwrap();
        let full = Access {
            read_only: false,
            allow_ddl: false,
        };
        let deadline = Deadline::new();
        deadline.start(Duration::from_secs(60));
        install_guards(&conn, full, &deadline);
        let sqls = StreamSqls::default();
        let limits = Limits::default();
        let run = |sql: &str| {
            let stmt = Stmt {
                sql: Some(sql.to_owned()),
                sql_id: None,
                args: vec![],
                named_args: vec![],
                want_rows: None,
            };
            execute_stmt(&conn, &sqls, &stmt, &mut Budget::new(&limits))
        };
        assert!(run("INSERT INTO t VALUES (1)").is_ok());
        assert!(run("SELECT * FROM _objectos_meta").is_ok());
        for refused in [
            "INSERT INTO _objectos_meta VALUES ('a', 'b')",
            "DELETE FROM _objectos_meta",
            "CREATE TABLE u (a)",
            "DROP TABLE t",
            "ATTACH '/tmp/x.db' AS x",
            "PRAGMA foreign_keys = OFF",
            "PRAGMA query_only = 0",
            "PRAGMA writable_schema = 1",
            "SELECT load_extension('/tmp/x.so')",
        ] {
            let e = run(refused).unwrap_err();
            assert_eq!(e.code, "SQLITE_AUTH", "{refused}: {e:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("copy.db");
        let e = run(&format!("VACUUM INTO '{}'", target.display())).unwrap_err();
        assert_eq!(e.code, "SQLITE_AUTH");
        assert!(!target.exists());
        assert!(run("PRAGMA table_info(t)").is_ok());
        assert!(run("PRAGMA user_version").is_ok());
        deadline.start(Duration::from_millis(100));
        let started = Instant::now();
        let e = run(
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT COUNT(*) FROM c",
        )
        .unwrap_err();
        assert_eq!(e.code, "SQLITE_INTERRUPT");
        assert!(started.elapsed() < Duration::from_secs(5));
        remove_guards(&conn);
        assert!(conn.execute("DELETE FROM _objectos_meta", []).is_ok());
    }
}
