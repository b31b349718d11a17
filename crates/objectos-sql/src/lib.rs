//! The SQL seam between objectos' engine and its tenant databases.
//!
//! The engine (deploy pipeline, data API) never names a driver type: it runs SQL through a
//! [`Session`] with neutral [`SqlValue`]s, learns what failed from a classified [`SqlError`], and
//! asks the session's [`Dialect`] which SQL to write where the two databases differ. Two sessions
//! implement it: [`SqliteSession`] (rusqlite, the embedded default and the `memory` provider) and
//! [`PgSession`] (sqlx, the `postgres` provider), the only places the drivers appear.
//!
//! Placeholders are written `$1`, `$2`, … in order of first appearance: PostgreSQL reads them
//! natively and SQLite reads them as named parameters numbered in that same order, so statements
//! both dialects share are written once (see `docs/decisions/0009-engine-seam.md`).

mod error;
pub mod files;
mod postgres;
mod session;
mod sqlite;
pub mod testing;
mod value;

pub use error::{ErrorKind, SqlError, SqlResult};
pub use postgres::classify as classify_postgres;
pub use postgres::{
    quote_ident, quote_literal, role_prefix, PgSession, PgTarget, SchemaGeneration,
};
pub use session::{Dialect, Row, Session, SessionExt};
pub use sqlite::{classify as classify_sqlite, SqliteSession};
pub use value::SqlValue;
