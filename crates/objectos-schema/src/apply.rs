//! Running a [`SqlitePlan`] against a tenant database: data probes, apply inside the caller's
//! transaction, and a dry run inside a savepoint that is always rolled back (research/migrations.md
//! §8.5).
//!
//! - [`probe`] counts, with read-only queries, the rows a data-dependent change would fail on, so the
//!   caller can refuse with counts before anything runs.
//! - [`apply_in`] runs every statement inside a transaction the **caller** owns, so the deploy service
//!   commits its ledger, metadata and seed writes with the DDL, or nothing at all; [`apply`] is the
//!   stand-alone form (`BEGIN IMMEDIATE` … `COMMIT`); [`apply_in_with`] also calls a hook after each
//!   statement (failure injection between statements).
//! - [`dry_run`] runs the same statements inside `SAVEPOINT` and rolls back whatever happens, reporting
//!   the first statement that would fail and why.
//!
//! objectos creates no foreign keys, triggers or views, so `PRAGMA foreign_keys` does not matter to
//! these plans: no `DROP TABLE` here can cascade.

use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};

use crate::ddl::{Ident, IdentKind};
use crate::diff::{DataCheck, Repr};
use crate::error::ApplyError;
use crate::mapping::JsonShape;
use crate::plan::SqlitePlan;
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
/// leaf, in order. Names are validated as identifiers before they reach SQL.
pub fn probe(conn: &Connection, checks: &[DataCheck]) -> Result<Vec<ProbeResult>, SchemaError> {
    let mut out = Vec::new();
    for check in checks {
        for leaf in check.leaves() {
            out.push(probe_one(conn, leaf)?);
        }
    }
    Ok(out)
}

fn count(conn: &Connection, sql: &str) -> Result<u64, SchemaError> {
    let n: i64 = conn.query_row(sql, [], |row| row.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn table_ident(name: &str) -> Result<Ident, SchemaError> {
    Ident::new(IdentKind::Table, name)
}

fn column_ident(name: &str) -> Result<Ident, SchemaError> {
    Ident::new(IdentKind::Column, name)
}

fn probe_one(conn: &Connection, check: &DataCheck) -> Result<ProbeResult, SchemaError> {
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
                conn,
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
            let sql = format!(
                "SELECT COUNT(*), COALESCE(SUM(n), 0) FROM (SELECT COUNT(*) AS n FROM {} WHERE {} \
                 GROUP BY {} HAVING COUNT(*) > 1)",
                t.quoted(),
                not_null.join(" AND "),
                cols.join(", ")
            );
            let (groups, rows): (i64, i64) =
                conn.query_row(&sql, [], |row| Ok((row.get(0)?, row.get(1)?)))?;
            let (groups, rows) = (
                u64::try_from(groups).unwrap_or(0),
                u64::try_from(rows).unwrap_or(0),
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
            let n = match not_castable_condition(&c.quoted(), *from, *to) {
                Some(cond) => count(
                    conn,
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
            let n = count(conn, &format!("SELECT COUNT(*) FROM {}", t.quoted()))?;
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
            let n = count(conn, &format!("SELECT COUNT(*) FROM {}", t.quoted()))?;
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
            let parts = probe(conn, checks)?;
            let failed = parts.iter().any(|p| p.failed);
            let rows = parts.iter().map(|p| p.rows).max().unwrap_or(0);
            let message: Vec<String> = parts.into_iter().map(|p| p.message).collect();
            result(failed, rows, None, message.join("; "))
        }
    })
}

/// A SQL condition true for a non-NULL value of `c` (quoted) that the `STRICT` target column would
/// refuse (or its CHECK would); `None` when every value converts. Text is judged numeric when it is
/// a JSON number (`12`, `-1.5`, `2e3`); SQLite's own text → number rules are slightly more lenient
/// (`+5`, `1.`), so the probe errs on the side of refusing.
fn not_castable_condition(c: &str, from: Repr, to: Repr) -> Option<String> {
    let numeric_text =
        format!("(json_valid({c}) AND json_type(CASE WHEN json_valid({c}) THEN {c} END) IN ('integer', 'real'))");
    match (from, to) {
        (Repr::Real, Repr::Integer) => Some(format!("{c} != CAST({c} AS INTEGER)")),
        (Repr::Text, Repr::Integer) => Some(format!(
            "NOT ({numeric_text} AND CAST({c} AS REAL) = CAST(CAST({c} AS REAL) AS INTEGER))"
        )),
        (Repr::Text, Repr::Real) => Some(format!("NOT {numeric_text}")),
        (Repr::Integer | Repr::Real, Repr::Boolean) => Some(format!("{c} NOT IN (0, 1)")),
        (Repr::Text, Repr::Boolean) => Some(format!(
            "NOT ({numeric_text} AND CAST({c} AS REAL) IN (0, 1))"
        )),
        (Repr::Json(_), Repr::Json(shape @ (JsonShape::Array | JsonShape::Object))) => {
            Some(format!(
            "NOT (json_valid({c}) AND json_type(CASE WHEN json_valid({c}) THEN {c} END) = '{}')",
            shape.as_str()
        ))
        }
        _ => None,
    }
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
/// transaction is left for the caller to roll back (dropping it does); nothing is committed here.
pub fn apply_in(tx: &Transaction<'_>, plan: &SqlitePlan) -> Result<ApplyReport, ApplyError> {
    apply_in_with(tx, plan, &mut |_| Ok(()))
}

/// [`apply_in`] with `after_each` called after every executed statement with its 0-based index
/// (its position in the plan). An `Err` from it stops the run at once with
/// [`ApplyError::Interrupted`]; as for a failed statement, the caller's transaction is left to be
/// rolled back. Used by the deploy service for failure injection between statements.
pub fn apply_in_with(
    tx: &Transaction<'_>,
    plan: &SqlitePlan,
    after_each: &mut dyn FnMut(usize) -> Result<(), String>,
) -> Result<ApplyReport, ApplyError> {
    let started = Instant::now();
    run_all(tx, plan, after_each)?;
    Ok(ApplyReport {
        statements: plan.statements.len(),
        elapsed: started.elapsed(),
    })
}

/// Runs `plan` in its own `BEGIN IMMEDIATE` transaction and commits; on error nothing changes.
pub fn apply(conn: &mut Connection, plan: &SqlitePlan) -> Result<ApplyReport, ApplyError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let report = apply_in(&tx, plan)?;
    tx.commit()?;
    Ok(report)
}

fn run_all(
    conn: &Connection,
    plan: &SqlitePlan,
    after_each: &mut dyn FnMut(usize) -> Result<(), String>,
) -> Result<(), ApplyError> {
    for (i, statement) in plan.statements.iter().enumerate() {
        conn.execute_batch(&statement.sql)
            .map_err(|source| ApplyError::Statement {
                order: i as u64,
                sql: statement.sql.clone(),
                code: constraint_name(&source),
                source,
            })?;
        after_each(i).map_err(|message| ApplyError::Interrupted {
            after: i as u64,
            message,
        })?;
    }
    Ok(())
}

/// The name of a failed statement's SQLite error code, for reports (`SQLITE_CONSTRAINT_NOTNULL`).
pub fn constraint_name(error: &rusqlite::Error) -> Option<String> {
    let rusqlite::Error::SqliteFailure(e, _) = error else {
        return None;
    };
    let name = match e.extended_code {
        1299 => "SQLITE_CONSTRAINT_NOTNULL",
        2067 => "SQLITE_CONSTRAINT_UNIQUE",
        3091 => "SQLITE_CONSTRAINT_DATATYPE",
        275 => "SQLITE_CONSTRAINT_CHECK",
        1555 => "SQLITE_CONSTRAINT_PRIMARYKEY",
        _ => match e.code {
            ErrorCode::ConstraintViolation => "SQLITE_CONSTRAINT",
            ErrorCode::DatabaseBusy => "SQLITE_BUSY",
            ErrorCode::DatabaseLocked => "SQLITE_LOCKED",
            _ => "SQLITE_ERROR",
        },
    };
    Some(name.to_owned())
}

/// The first statement a dry run found failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementFailure {
    /// Its position in the plan (`MigrationStatement.order`).
    pub order: u64,
    /// Its SQL.
    pub sql: String,
    /// SQLite's message (`NOT NULL constraint failed: task.title`).
    pub message: String,
    /// The error code's name (`SQLITE_CONSTRAINT_UNIQUE`), when SQLite gave one.
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
/// statement that fails. Works in autocommit mode and inside a caller's transaction alike. An `Err`
/// means the savepoint itself could not be opened or rolled back.
///
/// In autocommit mode the savepoint is the outermost transaction and ends with a plain `ROLLBACK`:
/// `ROLLBACK TO` + `RELEASE` would *commit* an empty write transaction, which bumps the file change
/// counter, so the file would no longer be byte-for-byte the same. Inside a caller's transaction it
/// ends with `ROLLBACK TO` + `RELEASE`, leaving the caller's own writes alone.
pub fn dry_run(conn: &Connection, plan: &SqlitePlan) -> Result<DryRunReport, ApplyError> {
    let outermost = conn.is_autocommit();
    conn.execute_batch(&format!("SAVEPOINT {DRY_RUN_SAVEPOINT}"))?;
    let mut executed = 0;
    let mut failure = None;
    for (i, statement) in plan.statements.iter().enumerate() {
        match conn.execute_batch(&statement.sql) {
            Ok(()) => executed += 1,
            Err(e) => {
                failure = Some(StatementFailure {
                    order: i as u64,
                    sql: statement.sql.clone(),
                    message: e.to_string(),
                    code: constraint_name(&e),
                });
                break;
            }
        }
    }
    if outermost {
        conn.execute_batch("ROLLBACK")?;
    } else {
        conn.execute_batch(&format!(
            "ROLLBACK TO {DRY_RUN_SAVEPOINT}; RELEASE {DRY_RUN_SAVEPOINT}"
        ))?;
    }
    Ok(DryRunReport { executed, failure })
}
