//! Running a [`Plan`] against a tenant database through a [`Session`] (SQLite or PostgreSQL): data
//! probes, apply inside the caller's transaction, and a dry run inside a savepoint that is always
//! rolled back (research/migrations.md §8.5). Both dialects run DDL transactionally, so a plan
//! applies entirely or not at all.
//!
//! - [`probe`] counts, with read-only queries, the rows a data-dependent change would fail on, so the
//!   caller can refuse with counts before anything runs.
//! - [`apply_in`] runs every statement inside a transaction the **caller** owns, so the deploy service
//!   commits its ledger, metadata and seed writes with the DDL, or nothing at all; [`apply`] is the
//!   stand-alone form ([`Session::begin`] … `COMMIT`); [`apply_in_with`] also calls a hook after each
//!   statement (failure injection between statements).
//! - [`dry_run`] runs the same statements inside `SAVEPOINT` and rolls back whatever happens, reporting
//!   the first statement that would fail and why.
//!
//! objectos creates no foreign keys, triggers or views, so `PRAGMA foreign_keys` does not matter to
//! these plans: no `DROP TABLE` here can cascade.

use std::time::{Duration, Instant};

use objectos_sql::{Dialect, Session, SessionExt, SqlError};

use crate::ddl::{Ident, IdentKind};
use crate::diff::DataCheck;
use crate::error::ApplyError;
use crate::plan::Plan;
use crate::SchemaError;

// ---------------------------------------------------------------------------------------------
// Probes
// ---------------------------------------------------------------------------------------------

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// The probe (a leaf: [`DataCheck::All`] is flattened).
    pub check: DataCheck,
    /// True when the change would fail on the current rows.
    pub failed: bool,
    /// Offending rows: NULLs, rows in duplicate groups, values that do not convert, or the table's row
    /// count for [`DataCheck::NonEmptyTable`] and [`DataCheck::MultipleRows`].
    pub rows: u64,
    /// For [`DataCheck::DuplicatesIn`]: the number of distinct duplicated values.
    pub groups: Option<u64>,
    /// A one-line explanation with the counts.
    pub message: String,
}

/// Runs each probe (with [`DataCheck::All`] flattened) as a read-only counting query; one result per
/// leaf, in order. Names are validated as identifiers before they reach SQL. The counts are the same
/// on both dialects for the same rows.
pub fn probe(session: &dyn Session, checks: &[DataCheck]) -> Result<Vec<ProbeResult>, SchemaError> {
    let mut out = Vec::new();
    for check in checks {
        for leaf in check.leaves() {
            out.push(probe_one(session, leaf)?);
        }
    }
    Ok(out)
}

fn count(session: &dyn Session, sql: &str) -> Result<u64, SchemaError> {
    Ok(session.query_count(sql, &[])?)
}

fn table_ident(name: &str) -> Result<Ident, SchemaError> {
    Ident::new(IdentKind::Table, name)
}

fn column_ident(name: &str) -> Result<Ident, SchemaError> {
    Ident::new(IdentKind::Column, name)
}

fn probe_one(session: &dyn Session, check: &DataCheck) -> Result<ProbeResult, SchemaError> {
    let result = |failed: bool, rows: u64, groups: Option<u64>, message: String| ProbeResult {
        check: check.clone(),
        failed,
        rows,
        groups,
        message,
    };
    Ok(match check {
        DataCheck::NullsIn { table, column } => {
            let (t, c) = (table_ident(table)?, column_ident(column)?);
            let n = count(
                session,
                &format!(
                    "SELECT COUNT(*) FROM {} WHERE {} IS NULL",
                    t.quoted(),
                    c.quoted()
                ),
            )?;
            result(
                n > 0,
                n,
                None,
                format!("{n} rows of {t} have no value in {c}"),
            )
        }
        DataCheck::DuplicatesIn { table, columns } => {
            let t = table_ident(table)?;
            let cols: Vec<String> = columns
                .iter()
                .map(|c| column_ident(c).map(|c| c.quoted()))
                .collect::<Result<_, _>>()?;
            let not_null: Vec<String> = cols.iter().map(|c| format!("{c} IS NOT NULL")).collect();
            // `SUM` is numeric on PostgreSQL, which sessions do not decode: cast it.
            let sql = format!(
                "SELECT COUNT(*), CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM (SELECT COUNT(*) AS n \
                 FROM {} WHERE {} GROUP BY {} HAVING COUNT(*) > 1) AS dup",
                t.quoted(),
                not_null.join(" AND "),
                cols.join(", ")
            );
            let row = session.query_opt(&sql, &[])?.unwrap_or_default();
            let (groups, rows) = (
                row.first().map_or(0, |v| v.as_count()),
                row.get(1).map_or(0, |v| v.as_count()),
            );
            result(
                groups > 0,
                rows,
                Some(groups),
                format!(
                    "{rows} rows of {t} share {groups} duplicated values of ({})",
                    columns.join(", ")
                ),
            )
        }
        DataCheck::NotCastable {
            table,
            column,
            from,
            to,
        } => {
            let (t, c) = (table_ident(table)?, column_ident(column)?);
            let condition = match session.dialect() {
                Dialect::Sqlite => crate::sqlite::not_castable_condition(&c.quoted(), *from, *to),
                Dialect::Postgres => crate::pg::not_castable_condition(&c.quoted(), *from, *to),
            };
            let n = match condition {
                Some(cond) => count(
                    session,
                    &format!(
                        "SELECT COUNT(*) FROM {} WHERE {} IS NOT NULL AND ({cond})",
                        t.quoted(),
                        c.quoted()
                    ),
                )?,
                None => 0,
            };
            result(
                n > 0,
                n,
                None,
                format!(
                    "{n} values of {t}.{c} cannot be converted from {} to {} without loss",
                    from.describe(),
                    to.describe()
                ),
            )
        }
        DataCheck::NonEmptyTable { table } => {
            let t = table_ident(table)?;
            let n = count(session, &format!("SELECT COUNT(*) FROM {}", t.quoted()))?;
            result(
                n > 0,
                n,
                None,
                format!(
                    "{t} has {n} rows, which a new required field without a default cannot fill"
                ),
            )
        }
        DataCheck::MultipleRows { table } => {
            let t = table_ident(table)?;
            let n = count(session, &format!("SELECT COUNT(*) FROM {}", t.quoted()))?;
            result(
                n > 1,
                n,
                None,
                format!(
                    "{t} has {n} rows, which would all take the same value of a new unique index"
                ),
            )
        }
        // Flattened by `probe`; kept total for a direct call.
        DataCheck::All(checks) => {
            let parts = probe(session, checks)?;
            let failed = parts.iter().any(|p| p.failed);
            let rows = parts.iter().map(|p| p.rows).max().unwrap_or(0);
            let message: Vec<String> = parts.into_iter().map(|p| p.message).collect();
            result(failed, rows, None, message.join("; "))
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Apply
// ---------------------------------------------------------------------------------------------

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    /// Statements executed (all of them).
    pub statements: usize,
    /// Wall time of the statements.
    pub elapsed: Duration,
}

/// Runs every statement of `plan`, in order, inside the caller's transaction. On error the
/// transaction is left for the caller to roll back; nothing is committed here.
pub fn apply_in(session: &dyn Session, plan: &Plan) -> Result<ApplyReport, ApplyError> {
    apply_in_with(session, plan, &mut |_| Ok(()))
}

/// [`apply_in`] with `after_each` called after every executed statement with its 0-based index
/// (its position in the plan). An `Err` from it stops the run at once with
/// [`ApplyError::Interrupted`]; as for a failed statement, the caller's transaction is left to be
/// rolled back. Used by the deploy service for failure injection between statements.
pub fn apply_in_with(
    session: &dyn Session,
    plan: &Plan,
    after_each: &mut dyn FnMut(usize) -> Result<(), String>,
) -> Result<ApplyReport, ApplyError> {
    let started = Instant::now();
    run_all(session, plan, after_each)?;
    Ok(ApplyReport {
        statements: plan.statements.len(),
        elapsed: started.elapsed(),
    })
}

/// Runs `plan` in its own transaction ([`Session::begin`]: `BEGIN IMMEDIATE` on SQLite) and commits;
/// on error it is rolled back and nothing changes.
pub fn apply(session: &dyn Session, plan: &Plan) -> Result<ApplyReport, ApplyError> {
    session.begin()?;
    let report = match apply_in(session, plan) {
        Ok(report) => report,
        Err(e) => {
            let _ = session.rollback();
            return Err(e);
        }
    };
    if let Err(e) = session.commit() {
        let _ = session.rollback();
        return Err(e.into());
    }
    Ok(report)
}

fn statement_error(order: usize, sql: &str, source: SqlError) -> ApplyError {
    ApplyError::Statement {
        order: order as u64,
        sql: sql.to_owned(),
        code: source.code.clone(),
        source: Box::new(source),
    }
}

fn run_all(
    session: &dyn Session,
    plan: &Plan,
    after_each: &mut dyn FnMut(usize) -> Result<(), String>,
) -> Result<(), ApplyError> {
    for (i, statement) in plan.statements.iter().enumerate() {
        session
            .execute_batch(&statement.sql)
            .map_err(|source| statement_error(i, &statement.sql, source))?;
        after_each(i).map_err(|message| ApplyError::Interrupted {
            after: i as u64,
            message,
        })?;
    }
    Ok(())
}

/// The first statement a dry run found failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementFailure {
    /// Its position in the plan (`MigrationStatement.order`).
    pub order: u64,
    /// Its SQL.
    pub sql: String,
    /// The database's message (`NOT NULL constraint failed: task.title`).
    pub message: String,
    /// The database's error code (`SQLITE_CONSTRAINT_UNIQUE`, SQLSTATE `23505`), when it gave one.
    pub code: Option<String>,
}

/// What a dry run found; the database is unchanged either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRunReport {
    /// Statements that ran successfully before the rollback.
    pub executed: usize,
    /// The first failing statement; `None` when the whole plan ran.
    pub failure: Option<StatementFailure>,
}

impl DryRunReport {
    /// True when every statement ran.
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// The savepoint a dry run works in.
const DRY_RUN_SAVEPOINT: &str = "objectos_dry_run";

/// Runs `plan` inside `SAVEPOINT objectos_dry_run` and always rolls it back, reporting the first
/// statement that fails. Works outside and inside a caller's transaction alike. An `Err` means the
/// savepoint (or transaction) itself could not be opened or rolled back.
///
/// Outside a transaction on SQLite, the savepoint is the outermost transaction and ends with a plain
/// `ROLLBACK`: `ROLLBACK TO` + `RELEASE` would *commit* an empty write transaction, which bumps the
/// file change counter, so the file would no longer be byte-for-byte the same. PostgreSQL has no
/// savepoint outside a transaction block, so there the dry run opens a transaction and rolls it back.
/// Inside a caller's transaction it ends with `ROLLBACK TO` + `RELEASE`, leaving the caller's own
/// writes alone (and, on PostgreSQL, the transaction usable after a failed statement).
pub fn dry_run(session: &dyn Session, plan: &Plan) -> Result<DryRunReport, ApplyError> {
    let outermost = !session.in_transaction();
    match (outermost, session.dialect()) {
        (true, Dialect::Postgres) => session.begin()?,
        _ => session.execute_batch(&format!("SAVEPOINT {DRY_RUN_SAVEPOINT}"))?,
    }
    let mut executed = 0;
    let mut failure = None;
    for (i, statement) in plan.statements.iter().enumerate() {
        match session.execute_batch(&statement.sql) {
            Ok(()) => executed += 1,
            Err(e) => {
                failure = Some(StatementFailure {
                    order: i as u64,
                    sql: statement.sql.clone(),
                    message: e.message.clone(),
                    code: e.code,
                });
                break;
            }
        }
    }
    match (outermost, session.dialect()) {
        (true, Dialect::Postgres) => session.rollback()?,
        (true, Dialect::Sqlite) => session.execute_batch("ROLLBACK")?,
        (false, _) => session.execute_batch(&format!(
            "ROLLBACK TO {DRY_RUN_SAVEPOINT}; RELEASE {DRY_RUN_SAVEPOINT}"
        ))?,
    }
    Ok(DryRunReport { executed, failure })
}
