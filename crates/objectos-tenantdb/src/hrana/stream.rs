//! Baton streams: one connection per stream, served by a worker on a blocking thread that holds
//! it across HTTP requests (for interactive transactions) until the client closes the stream, or
//! it is idle for too long, or a transaction is held for too long (then it is rolled back).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use super::exec::{self, Budget, Deadline, StreamSqls};
use super::proto::{
    Batch, CursorEntry, Error, PipelineResponse, StreamRequest, StreamResponse, StreamResult,
};
use super::{Access, Limits, Version};
use crate::cache::SharedConnection;

/// How a stream reaches a tenant's database.
#[derive(Debug, Clone)]
pub enum RawSql {
    /// A SQLite file: each stream opens its own connection to it.
    File(PathBuf),
    /// The tenant's one connection (in-memory databases): a stream takes it for each request,
    /// and keeps it while a transaction is open.
    Shared(SharedConnection),
    /// The provider does not hold SQLite databases (PostgreSQL).
    Unsupported {
        /// The provider's name.
        provider: &'static str,
    },
}

/// Why a pipeline or cursor request was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The baton is malformed, unknown, or belongs to another tenant or scope.
    #[error("The baton is invalid")]
    InvalidBaton,
    /// The baton was already used (each is good for one request).
    #[error("Received a baton that has already been used")]
    BatonReused,
    /// The stream was closed for inactivity or a transaction held too long.
    #[error("The stream has expired due to inactivity")]
    Expired,
    /// Too many open streams (for the tenant or in all).
    #[error("too many open Hrana streams ({scope} limit {limit}); close streams or retry later")]
    TooMany {
        /// `tenant` or `server`.
        scope: &'static str,
        /// The limit.
        limit: usize,
    },
    /// Too many requests in one pipeline.
    #[error("at most {0} requests per pipeline are accepted")]
    TooManyRequests(usize),
    /// The database could not be opened.
    #[error("cannot open the tenant database: {0}")]
    Open(String),
    /// The provider cannot serve SQLite SQL.
    #[error("the {0} tenant database provider cannot serve Hrana (SQLite SQL); only the sqlite and memory providers can")]
    Unsupported(&'static str),
}

impl StreamError {
    /// The Hrana error code.
    pub fn code(&self) -> &'static str {
        match self {
            StreamError::InvalidBaton | StreamError::BatonReused => "BATON_INVALID",
            StreamError::Expired => "STREAM_EXPIRED",
            StreamError::TooMany { .. } => "STREAMS_EXHAUSTED",
            StreamError::TooManyRequests(_) => "LIMIT_EXCEEDED",
            StreamError::Open(_) => "DATABASE_UNAVAILABLE",
            StreamError::Unsupported(_) => "HRANA_NOT_SUPPORTED",
        }
    }
}

enum Work {
    Pipeline(Vec<StreamRequest>),
    Cursor(Batch),
}

struct Job {
    work: Work,
    version: Version,
    reply: oneshot::Sender<Outcome>,
}

enum Outcome {
    Pipeline {
        results: Vec<StreamResult>,
        closed: bool,
    },
    Cursor {
        entries: Vec<CursorEntry>,
        closed: bool,
    },
    OpenFailed(String),
}

struct Life {
    alive: AtomicBool,
    ended_at: Mutex<Option<Instant>>,
}

impl Life {
    fn end(&self) {
        *self.ended_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        self.alive.store(false, Ordering::Release);
    }

    fn ended_before(&self, age: Duration) -> bool {
        self.ended_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|t| t.elapsed() > age)
    }
}

struct Entry {
    tenant: String,
    access: Access,
    secret: u128,
    tx: mpsc::Sender<Job>,
    life: Arc<Life>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    entries: HashMap<u64, Entry>,
}

/// How long an expired stream is remembered, to answer `STREAM_EXPIRED` rather than "invalid".
const EXPIRED_MEMORY: Duration = Duration::from_secs(300);

/// The open streams of every tenant.
#[derive(Clone)]
pub struct Streams {
    inner: Arc<Mutex<Inner>>,
    limits: Arc<Limits>,
    pool: Arc<Pool>,
}

impl std::fmt::Debug for Streams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streams")
            .field("limits", &self.limits)
            .finish()
    }
}

impl Streams {
    /// No streams yet.
    pub fn new(limits: Limits) -> Self {
        Self {
            inner: Arc::default(),
            limits: Arc::new(limits),
            pool: Arc::default(),
        }
    }

    /// SQLite connections opened for streams since creation (the rest reused an idle one).
    pub fn connections_opened(&self) -> u64 {
        self.pool.opened.load(Ordering::Relaxed)
    }

    /// The bounds.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Streams open now (for a tenant, or in all with `None`).
    pub fn open_streams(&self, tenant: Option<&str>) -> usize {
        self.lock()
            .entries
            .values()
            .filter(|e| e.life.alive.load(Ordering::Acquire))
            .filter(|e| tenant.is_none_or(|t| e.tenant == t))
            .count()
    }

    /// Runs a pipeline on the stream of `baton` (or a new one), returning the results and the
    /// stream's next baton.
    pub async fn pipeline(
        &self,
        tenant: &str,
        access: Access,
        raw: RawSql,
        baton: Option<&str>,
        requests: Vec<StreamRequest>,
        version: Version,
    ) -> Result<PipelineResponse, StreamError> {
        if requests.len() > self.limits.max_requests {
            return Err(StreamError::TooManyRequests(self.limits.max_requests));
        }
        let (id, tx, next) = self.acquire(tenant, access, raw, baton)?;
        match self.run(&tx, Work::Pipeline(requests), version).await? {
            Outcome::Pipeline { results, closed } => Ok(PipelineResponse {
                baton: self.after(id, closed, next),
                base_url: None,
                results,
            }),
            Outcome::Cursor { .. } => Err(StreamError::Expired),
            Outcome::OpenFailed(e) => {
                self.lock().entries.remove(&id);
                Err(StreamError::Open(e))
            }
        }
    }

    /// Runs a batch as a cursor, returning the stream's next baton and the cursor's entries.
    pub async fn cursor(
        &self,
        tenant: &str,
        access: Access,
        raw: RawSql,
        baton: Option<&str>,
        batch: Batch,
    ) -> Result<(Option<String>, Vec<CursorEntry>), StreamError> {
        if batch.steps.len() > self.limits.max_statements {
            return Err(StreamError::TooManyRequests(self.limits.max_statements));
        }
        let (id, tx, next) = self.acquire(tenant, access, raw, baton)?;
        match self.run(&tx, Work::Cursor(batch), Version::V3).await? {
            Outcome::Cursor { entries, closed } => Ok((self.after(id, closed, next), entries)),
            Outcome::Pipeline { .. } => Err(StreamError::Expired),
            Outcome::OpenFailed(e) => {
                self.lock().entries.remove(&id);
                Err(StreamError::Open(e))
            }
        }
    }

    /// The baton to hand back: none when the stream closed (it is forgotten then).
    fn after(&self, id: u64, closed: bool, next: String) -> Option<String> {
        if closed {
            self.lock().entries.remove(&id);
            None
        } else {
            Some(next)
        }
    }

    async fn run(
        &self,
        tx: &mpsc::Sender<Job>,
        work: Work,
        version: Version,
    ) -> Result<Outcome, StreamError> {
        let (reply, answer) = oneshot::channel();
        let sent = tx.send(Job {
            work,
            version,
            reply,
        });
        // The worker is gone (timed out meanwhile) when the job cannot be sent or is dropped.
        match sent {
            Ok(()) => answer.await.map_err(|_| StreamError::Expired),
            Err(_) => Err(StreamError::Expired),
        }
    }

    /// Finds (and re-batons) the stream of `baton`, or opens a new one.
    fn acquire(
        &self,
        tenant: &str,
        access: Access,
        raw: RawSql,
        baton: Option<&str>,
    ) -> Result<(u64, mpsc::Sender<Job>, String), StreamError> {
        let mut inner = self.lock();
        let secret: u128 = rand::random();
        if let Some(baton) = baton {
            let (id, presented) = parse_baton(baton).ok_or(StreamError::InvalidBaton)?;
            let entry = inner
                .entries
                .get_mut(&id)
                .ok_or(StreamError::InvalidBaton)?;
            if entry.tenant != tenant || entry.access != access {
                return Err(StreamError::InvalidBaton);
            }
            if entry.secret != presented {
                return Err(StreamError::BatonReused);
            }
            if !entry.life.alive.load(Ordering::Acquire) {
                return Err(StreamError::Expired);
            }
            entry.secret = secret;
            return Ok((id, entry.tx.clone(), format_baton(id, secret)));
        }
        if let RawSql::Unsupported { provider } = raw {
            return Err(StreamError::Unsupported(provider));
        }
        inner.entries.retain(|_, e| {
            e.life.alive.load(Ordering::Acquire) || !e.life.ended_before(EXPIRED_MEMORY)
        });
        let alive = |e: &&Entry| e.life.alive.load(Ordering::Acquire);
        let total = inner.entries.values().filter(alive).count();
        if total >= self.limits.max_streams {
            return Err(StreamError::TooMany {
                scope: "server",
                limit: self.limits.max_streams,
            });
        }
        let of_tenant = inner
            .entries
            .values()
            .filter(alive)
            .filter(|e| e.tenant == tenant)
            .count();
        if of_tenant >= self.limits.max_streams_per_tenant {
            return Err(StreamError::TooMany {
                scope: "tenant",
                limit: self.limits.max_streams_per_tenant,
            });
        }
        inner.next_id += 1;
        let id = inner.next_id;
        let (tx, rx) = mpsc::channel();
        let life = Arc::new(Life {
            alive: AtomicBool::new(true),
            ended_at: Mutex::new(None),
        });
        let limits = Arc::clone(&self.limits);
        let pool = Arc::clone(&self.pool);
        let worker_life = Arc::clone(&life);
        tokio::task::spawn_blocking(move || {
            serve(raw, access, &limits, &pool, &rx);
            worker_life.end();
        });
        inner.entries.insert(
            id,
            Entry {
                tenant: tenant.to_owned(),
                access,
                secret,
                tx: tx.clone(),
                life,
            },
        );
        Ok((id, tx, format_baton(id, secret)))
    }
}

fn format_baton(id: u64, secret: u128) -> String {
    format!("{id:x}.{secret:032x}")
}

fn parse_baton(baton: &str) -> Option<(u64, u128)> {
    let (id, secret) = baton.split_once('.')?;
    if secret.len() != 32 {
        return None;
    }
    Some((
        u64::from_str_radix(id, 16).ok()?,
        u128::from_str_radix(secret, 16).ok()?,
    ))
}

/// Opens a stream's own connection to a tenant's SQLite file (which must exist).
fn open_file(
    path: &std::path::Path,
    access: Access,
    deadline: &Deadline,
) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    if access.read_only {
        conn.pragma_update(None, "query_only", true)?;
    }
    exec::install_guards(&conn, access, deadline);
    Ok(conn)
}

/// An idle stream connection kept for the tenant's next stream.
struct Pooled {
    conn: Connection,
    /// The deadline its progress handler reads.
    deadline: Deadline,
    /// The file it has open (device, inode): a database deleted and made again under the same
    /// path is another file, which a kept connection must not stand for.
    file: Option<(u64, u64)>,
    /// Idle since.
    since: Instant,
}

/// Idle stream connections by database file and access, at most [`POOLED_PER_KEY`] each and
/// `max_streams` in all, dropped once idle for longer than the idle timeout.
#[derive(Default)]
struct Pool {
    idle: Mutex<HashMap<(PathBuf, Access), Vec<Pooled>>>,
    opened: std::sync::atomic::AtomicU64,
}

/// Idle connections kept per database file and access.
const POOLED_PER_KEY: usize = 4;

fn file_id(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, HashMap<(PathBuf, Access), Vec<Pooled>>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A kept connection to the same file, still fresh; stale ones are dropped (outside the lock).
    fn take(&self, key: &(PathBuf, Access), limits: &Limits) -> Option<Pooled> {
        let current = file_id(&key.0)?;
        let mut stale = Vec::new();
        let found = {
            let mut idle = self.lock();
            let list = idle.get_mut(key)?;
            let mut found = None;
            while let Some(p) = list.pop() {
                if p.file == Some(current) && p.since.elapsed() < limits.idle_timeout {
                    found = Some(p);
                    break;
                }
                stale.push(p);
            }
            if list.is_empty() {
                idle.remove(key);
            }
            found
        };
        drop(stale);
        found
    }

    fn give_back(&self, key: (PathBuf, Access), pooled: Pooled, limits: &Limits) {
        let mut stale = Vec::new();
        {
            let mut idle = self.lock();
            for list in idle.values_mut() {
                let (keep, old): (Vec<Pooled>, Vec<Pooled>) = std::mem::take(list)
                    .into_iter()
                    .partition(|p| p.since.elapsed() < limits.idle_timeout);
                *list = keep;
                stale.extend(old);
            }
            idle.retain(|_, list| !list.is_empty());
            let total: usize = idle.values().map(Vec::len).sum();
            let list = idle.entry(key).or_default();
            if list.len() < POOLED_PER_KEY && total < limits.max_streams {
                list.push(pooled);
            } else {
                stale.push(pooled);
            }
        }
        drop(stale);
    }
}

/// When the worker stops waiting: idle too long, or a transaction held too long.
struct Clock {
    last: Instant,
    transaction_since: Option<Instant>,
}

impl Clock {
    fn wait(&self, limits: &Limits) -> Duration {
        let idle = limits.idle_timeout.saturating_sub(self.last.elapsed());
        match self.transaction_since {
            Some(since) => idle.min(limits.transaction_timeout.saturating_sub(since.elapsed())),
            None => idle,
        }
    }

    fn after_job(&mut self, started: Instant, autocommit: bool) {
        self.last = Instant::now();
        if autocommit {
            self.transaction_since = None;
        } else if self.transaction_since.is_none() {
            self.transaction_since = Some(started);
        }
    }
}

/// The shared connection while a stream uses it: the authorizer is on; when released, any open
/// transaction is rolled back and the authorizer removed, whatever happened (even a panic).
struct Held<'a> {
    conn: MutexGuard<'a, Connection>,
}

impl<'a> Held<'a> {
    fn take(shared: &'a SharedConnection, access: Access, deadline: &Deadline) -> Self {
        let conn = shared.lock().unwrap_or_else(|p| p.into_inner());
        exec::install_guards(&conn, access, deadline);
        Self { conn }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        exec::remove_guards(&self.conn);
        if !self.conn.is_autocommit() {
            // A failed rollback leaves SQLite to roll back on the next statement's error path.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// The worker of one stream.
fn serve(raw: RawSql, access: Access, limits: &Limits, pool: &Pool, rx: &mpsc::Receiver<Job>) {
    let mut sqls = StreamSqls::default();
    let mut clock = Clock {
        last: Instant::now(),
        transaction_since: None,
    };
    match raw {
        RawSql::File(path) => {
            let key = (path.clone(), access);
            let opened: rusqlite::Result<Pooled> = pool.take(&key, limits).map_or_else(
                || {
                    let deadline = Deadline::new();
                    let conn = open_file(&path, access, &deadline)?;
                    pool.opened.fetch_add(1, Ordering::Relaxed);
                    Ok(Pooled {
                        conn,
                        deadline,
                        file: file_id(&path),
                        since: Instant::now(),
                    })
                },
                Ok,
            );
            let Pooled {
                conn,
                deadline,
                file,
                ..
            } = match opened {
                Ok(pooled) => pooled,
                Err(e) => {
                    // The stream's first job is sent right after the worker starts: answer it
                    // (and any other) rather than let it be dropped unanswered.
                    while let Ok(job) = rx.recv_timeout(Duration::from_secs(1)) {
                        let _ = job.reply.send(Outcome::OpenFailed(e.to_string()));
                    }
                    return;
                }
            };
            let mut closed_cleanly = false;
            let mut last_answer = None;
            while let Ok(job) = rx.recv_timeout(clock.wait(limits)) {
                let started = Instant::now();
                let (closed, answer) = handle(&conn, &mut sqls, job, limits, &deadline);
                if closed {
                    closed_cleanly = conn.is_autocommit();
                    last_answer = Some(answer);
                    break;
                }
                answer.send();
                clock.after_job(started, conn.is_autocommit());
            }
            // A connection the client closed outside a transaction serves the tenant's next
            // stream; otherwise dropping it rolls back any open transaction.
            if closed_cleanly {
                pool.give_back(
                    key,
                    Pooled {
                        conn,
                        deadline,
                        file,
                        since: Instant::now(),
                    },
                    limits,
                );
            } else {
                drop(conn);
            }
            if let Some(answer) = last_answer {
                answer.send();
            }
        }
        RawSql::Shared(shared) => {
            let deadline = Deadline::new();
            let mut held: Option<Held<'_>> = None;
            while let Ok(job) = rx.recv_timeout(clock.wait(limits)) {
                let started = Instant::now();
                let h = held.get_or_insert_with(|| Held::take(&shared, access, &deadline));
                let (closed, answer) = handle(&h.conn, &mut sqls, job, limits, &deadline);
                let autocommit = h.conn.is_autocommit();
                if closed || autocommit {
                    // Between requests outside a transaction, the data API has the connection.
                    held = None;
                }
                answer.send();
                if closed {
                    break;
                }
                clock.after_job(started, autocommit);
            }
            drop(held);
        }
        RawSql::Unsupported { .. } => {}
    }
}

/// A job's answer, sent by the caller once the connection is where it goes next (kept for the
/// next stream, or handed back), so that a client's next request finds it there.
struct Answer {
    reply: oneshot::Sender<Outcome>,
    outcome: Outcome,
}

impl Answer {
    fn send(self) {
        // The client may have gone (timed out, disconnected): nothing to tell it then.
        let _ = self.reply.send(self.outcome);
    }
}

/// Runs one job; true when the stream was closed.
fn handle(
    conn: &Connection,
    sqls: &mut StreamSqls,
    job: Job,
    limits: &Limits,
    deadline: &Deadline,
) -> (bool, Answer) {
    deadline.start(limits.request_timeout);
    let mut budget = Budget::new(limits);
    let (outcome, closed) = match job.work {
        Work::Pipeline(requests) => {
            let mut closed = false;
            let mut results = Vec::with_capacity(requests.len());
            for request in &requests {
                if closed {
                    results.push(StreamResult::Error {
                        error: Error::new(
                            "STREAM_CLOSED",
                            "the stream was closed by an earlier request",
                        ),
                    });
                    continue;
                }
                match exec::run_request(conn, sqls, request, job.version, limits, &mut budget) {
                    Ok(response) => {
                        closed = matches!(response, StreamResponse::Close {});
                        results.push(StreamResult::Ok { response });
                    }
                    Err(error) => results.push(StreamResult::Error { error }),
                }
            }
            (Outcome::Pipeline { results, closed }, closed)
        }
        Work::Cursor(batch) => {
            let entries =
                match exec::run_batch(conn, sqls, &batch, job.version, limits, &mut budget) {
                    Ok(result) => cursor_entries(result),
                    Err(error) => vec![CursorEntry::Error { error }],
                };
            (
                Outcome::Cursor {
                    entries,
                    closed: false,
                },
                false,
            )
        }
    };
    if closed && !conn.is_autocommit() {
        // Time for the rollback itself, whatever the request used.
        deadline.start(limits.request_timeout);
        let _ = conn.execute_batch("ROLLBACK");
    }
    (
        closed,
        Answer {
            reply: job.reply,
            outcome,
        },
    )
}

fn cursor_entries(result: super::proto::BatchResult) -> Vec<CursorEntry> {
    let mut entries = Vec::new();
    for (i, (ok, err)) in result
        .step_results
        .into_iter()
        .zip(result.step_errors)
        .enumerate()
    {
        let step = u32::try_from(i).unwrap_or(u32::MAX);
        if let Some(r) = ok {
            entries.push(CursorEntry::StepBegin { step, cols: r.cols });
            entries.extend(r.rows.into_iter().map(|row| CursorEntry::Row { row }));
            entries.push(CursorEntry::StepEnd {
                affected_row_count: r.affected_row_count,
                last_insert_rowid: r.last_insert_rowid,
            });
        } else if let Some(error) = err {
            entries.push(CursorEntry::StepError { step, error });
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(sql: &str) -> StreamRequest {
        StreamRequest::Execute {
            stmt: super::super::proto::Stmt {
                sql: Some(sql.to_owned()),
                sql_id: None,
                args: vec![],
                named_args: vec![],
                want_rows: None,
            },
        }
    }

    /// The first value of the first result.
    fn first_value(response: &PipelineResponse) -> serde_json::Value {
        let json = serde_json::to_value(&response.results[0]).unwrap();
        json["response"]["result"]["rows"][0][0]["value"].clone()
    }

    #[tokio::test]
    async fn closed_connections_serve_the_next_stream_of_the_same_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acme.db");
        let make = |n: i64| {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&format!(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (a); INSERT INTO t VALUES ({n});"
            ))
            .unwrap();
        };
        make(1);
        let streams = Streams::new(Limits::default());
        let full = Access {
            read_only: false,
            allow_ddl: false,
        };
        let run = |access: Access, requests: Vec<StreamRequest>| {
            let streams = streams.clone();
            let raw = RawSql::File(path.clone());
            async move {
                streams
                    .pipeline("acme", access, raw, None, requests, Version::V3)
                    .await
                    .unwrap()
            }
        };
        for _ in 0..3 {
            let r = run(full, vec![exec("SELECT a FROM t"), StreamRequest::Close]).await;
            assert_eq!(first_value(&r), "1");
        }
        assert_eq!(streams.connections_opened(), 1, "one connection, reused");
        // A stream closed inside a transaction is rolled back before its connection is kept.
        run(
            full,
            vec![
                exec("BEGIN"),
                exec("INSERT INTO t VALUES (5)"),
                StreamRequest::Close,
            ],
        )
        .await;
        let r = run(
            full,
            vec![exec("SELECT COUNT(*) FROM t"), StreamRequest::Close],
        )
        .await;
        assert_eq!(first_value(&r), "1");
        assert_eq!(streams.connections_opened(), 1);
        // Another access gets a connection of its own (read-only: query_only, and refused writes).
        let ro = Access {
            read_only: true,
            allow_ddl: false,
        };
        run(ro, vec![exec("SELECT 1"), StreamRequest::Close]).await;
        assert_eq!(streams.connections_opened(), 2);
        let r = run(
            full,
            vec![exec("INSERT INTO t VALUES (2)"), StreamRequest::Close],
        )
        .await;
        assert!(matches!(r.results[0], StreamResult::Ok { .. }), "{r:?}");
        // The database deleted and made again under the same path: the kept connection (to the
        // deleted file) is not used.
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        make(7);
        let r = run(full, vec![exec("SELECT a FROM t"), StreamRequest::Close]).await;
        assert_eq!(first_value(&r), "7");
        assert_eq!(streams.connections_opened(), 3);
    }

    #[tokio::test]
    async fn a_database_that_cannot_be_opened_is_reported_and_forgotten() {
        let streams = Streams::new(Limits::default());
        let dir = tempfile::tempdir().unwrap();
        let access = Access {
            read_only: false,
            allow_ddl: false,
        };
        let raw = RawSql::File(dir.path().join("missing.db"));
        let e = streams
            .pipeline(
                "acme",
                access,
                raw,
                None,
                vec![StreamRequest::GetAutocommit],
                Version::V3,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, StreamError::Open(_)), "{e:?}");
        assert_eq!(e.code(), "DATABASE_UNAVAILABLE");
        assert_eq!(streams.open_streams(None), 0);
        let e = streams
            .pipeline(
                "acme",
                access,
                RawSql::Unsupported {
                    provider: "postgres",
                },
                None,
                vec![],
                Version::V2,
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "HRANA_NOT_SUPPORTED");
    }

    #[test]
    fn batons_round_trip_and_garbage_is_refused() {
        let b = format_baton(42, 7);
        assert_eq!(parse_baton(&b), Some((42, 7)));
        for bad in [
            "",
            "x",
            "1.2",
            "zz.00000000000000000000000000000000",
            &b[..b.len() - 1],
        ] {
            assert_eq!(parse_baton(bad), None, "{bad}");
        }
    }
}
