//! Group commit of single-record writes: concurrent creates, updates and deletes of one tenant
//! run in one transaction, each inside its own savepoint (a failing write rolls back alone), and
//! every caller is answered after the COMMIT — so each acknowledged write is as durable as if it
//! had committed alone, while the transaction overhead (BEGIN, COMMIT, WAL frames) is shared.

use std::sync::{Arc, Mutex};

use objectos_sql::Session;
use objectos_store::ControlStore;
use objectos_tenantdb::{TenantDatabases, TenantDbError};

use super::error::{DataError, DataResult};
use super::runtime::TenantHandle;
use crate::error::{CoreError, CoreResult};
use crate::platform::Platform;

/// Answers a caller once the group's fate is known (`Err` when it was not committed).
type Completion = Box<dyn FnOnce(Result<(), Unwritten>) + Send>;

/// Why a group was not committed.
#[derive(Debug, Clone)]
enum Unwritten {
    /// The tenant's database is gone: a destroy raced the write.
    DatabaseGone,
    /// BEGIN or COMMIT failed, or the database rolled the group back.
    Failed(String),
}
/// A queued write: runs on the connection (`None`: the database could not be reached).
type Job = Box<dyn FnOnce(Option<&dyn Session>) -> Completion + Send>;

/// Most groups one drain commits before letting other users of the connection in.
const ROUNDS_PER_DRAIN: usize = 8;

/// The writes of one tenant waiting for the next group.
#[derive(Default)]
pub(crate) struct WriteQueue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    jobs: Vec<Job>,
    draining: bool,
}

impl std::fmt::Debug for WriteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteQueue").finish_non_exhaustive()
    }
}

impl WriteQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self) -> Vec<Job> {
        std::mem::take(&mut self.lock().jobs)
    }
}

fn in_savepoint<T>(
    conn: &dyn Session,
    f: impl FnOnce(&dyn Session) -> DataResult<T>,
) -> DataResult<T> {
    // Through the statement cache (SQLite): these run twice per write.
    conn.execute("SAVEPOINT objectos_write", &[])?;
    match f(conn) {
        Ok(value) => {
            conn.execute("RELEASE objectos_write", &[])?;
            Ok(value)
        }
        Err(e) => {
            // The savepoint undoes this write only; the group goes on.
            let _ = conn.execute_batch("ROLLBACK TO objectos_write; RELEASE objectos_write");
            Err(e)
        }
    }
}

/// Runs queued groups until the queue is empty (at most [`ROUNDS_PER_DRAIN`] groups).
fn drain_rounds(conn: &dyn Session, queue: &WriteQueue) {
    for _ in 0..ROUNDS_PER_DRAIN {
        let jobs = queue.take();
        if jobs.is_empty() {
            return;
        }
        // A transaction left open by an interrupted user of the connection is not ours to keep.
        if conn.in_transaction() {
            let _ = conn.rollback();
        }
        if let Err(e) = conn.begin() {
            let reason = Unwritten::Failed(e.to_string());
            for job in jobs {
                job(None)(Err(reason.clone()));
            }
            continue;
        }
        let mut completions: Vec<Completion> = Vec::with_capacity(jobs.len());
        let mut jobs = jobs.into_iter();
        for job in jobs.by_ref() {
            completions.push(job(Some(conn)));
            // The database rolled the whole transaction back (disk full, I/O error...): the
            // group is lost; the writes not yet run fail without running (else each would
            // commit alone).
            if !conn.in_transaction() {
                break;
            }
        }
        let lost = !conn.in_transaction();
        for job in jobs {
            completions.push(job(None));
        }
        let committed = if lost {
            Err(Unwritten::Failed(
                "the transaction was rolled back by the database".to_owned(),
            ))
        } else {
            conn.commit().map_err(|e| Unwritten::Failed(e.to_string()))
        };
        if committed.is_err() {
            let _ = conn.rollback();
        }
        for complete in completions {
            complete(committed.clone());
        }
    }
}

impl<S: ControlStore, D: TenantDatabases> Platform<S, D> {
    /// Runs a single-record write in the tenant's next group commit; answers after the COMMIT.
    pub(crate) async fn grouped_write<T, F>(
        &self,
        handle: &Arc<TenantHandle>,
        f: F,
    ) -> CoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Session) -> DataResult<T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<DataResult<T>, Unwritten>>();
        let job: Job = Box::new(move |conn: Option<&dyn Session>| {
            let result = match conn {
                Some(conn) => in_savepoint(conn, f),
                None => Err(DataError::Internal(
                    "the tenant database could not be reached".to_owned(),
                )),
            };
            Box::new(move |committed: Result<(), Unwritten>| {
                let answer = match committed {
                    Ok(()) => Ok(result),
                    Err(Unwritten::Failed(reason)) => {
                        Ok(Err(DataError::Internal(format!("commit failed: {reason}"))))
                    }
                    Err(gone) => Err(gone),
                };
                let _ = tx.send(answer);
            })
        });
        let start = {
            let mut state = handle.writes.lock();
            state.jobs.push(job);
            !std::mem::replace(&mut state.draining, true)
        };
        if start {
            let this = self.clone();
            let handle = Arc::clone(handle);
            tokio::spawn(async move { this.drain_writes(handle).await });
        }
        match rx.await {
            Ok(Ok(answer)) => answer.map_err(CoreError::Data),
            Ok(Err(_gone)) => {
                let missing = TenantDbError::Missing(handle.tenant_id.clone());
                self.explain_missing(&handle.tenant_id, Err(missing)).await
            }
            Err(_) => Err(CoreError::Data(DataError::Internal(
                "the write was dropped".to_owned(),
            ))),
        }
    }

    async fn drain_writes(&self, handle: Arc<TenantHandle>) {
        loop {
            let queued = Arc::clone(&handle);
            let drained = self
                .dbs()
                .with_session(&handle.tenant_id, move |conn| {
                    drain_rounds(conn, &queued.writes);
                    Ok(())
                })
                .await;
            if let Err(e) = drained {
                let reason = match e {
                    TenantDbError::Missing(_) => Unwritten::DatabaseGone,
                    e => Unwritten::Failed(e.to_string()),
                };
                for job in handle.writes.take() {
                    job(None)(Err(reason.clone()));
                }
            }
            let mut state = handle.writes.lock();
            if state.jobs.is_empty() {
                state.draining = false;
                return;
            }
        }
    }
}
