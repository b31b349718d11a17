//! Hrana (the libSQL remote protocol) over the SQLite tenant databases: objectos as a self-hosted
//! libSQL server per tenant. [`proto`] holds the JSON messages, `exec` runs them on a rusqlite
//! connection under an authorizer, and [`Streams`] keeps the baton streams (one connection each,
//! held across HTTP requests for interactive transactions, closed when idle).
//!
//! HTTP, authentication and tenant routing are the server's; see docs/hrana.md.

mod exec;
pub mod proto;
mod stream;

use std::time::Duration;

pub use exec::{authorize, is_protected_table};
pub use stream::{RawSql, StreamError, Streams};

/// The protocol version of an endpoint (`/v2/...` or `/v3/...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    /// Hrana 2: no `get_autocommit`, no `is_autocommit` condition, no cursor.
    V2,
    /// Hrana 3.
    V3,
}

/// What a stream may do to the tenant's database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Access {
    /// Reads only (a read-only key, or a suspended tenant).
    pub read_only: bool,
    /// DDL (CREATE/DROP/ALTER) on the tenant's own tables is allowed (never on objectos' system
    /// tables).
    pub allow_ddl: bool,
}

/// Bounds of the Hrana endpoint.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests per pipeline.
    pub max_requests: usize,
    /// Statements per batch or sequence.
    pub max_statements: usize,
    /// Rows returned per HTTP response.
    pub max_rows: usize,
    /// Approximate JSON bytes of values returned per HTTP response.
    pub max_response_bytes: usize,
    /// SQL texts stored per stream (`store_sql`).
    pub max_stored_sqls: usize,
    /// Bytes of each stored SQL text.
    pub max_stored_sql_bytes: usize,
    /// A stream left idle this long is rolled back and closed (`STREAM_EXPIRED`).
    pub idle_timeout: Duration,
    /// A transaction held open this long (across requests) is rolled back and its stream closed,
    /// so that it never blocks the tenant's other writers for longer.
    pub transaction_timeout: Duration,
    /// How long the statements of one HTTP request may run in all before they are interrupted
    /// (`SQLITE_INTERRUPT`).
    pub request_timeout: Duration,
    /// Open streams per tenant.
    pub max_streams_per_tenant: usize,
    /// Open streams in all.
    pub max_streams: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_requests: 1000,
            max_statements: 1000,
            max_rows: 100_000,
            max_response_bytes: 10 * 1024 * 1024,
            max_stored_sqls: 50,
            max_stored_sql_bytes: 64 * 1024,
            idle_timeout: Duration::from_secs(10),
            transaction_timeout: Duration::from_secs(4),
            request_timeout: Duration::from_secs(10),
            max_streams_per_tenant: 16,
            max_streams: 256,
        }
    }
}
