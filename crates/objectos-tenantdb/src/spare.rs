//! A warm pool of spare, empty tenant databases. Creating a SQLite file in WAL mode costs far more
//! than renaming one, so a background thread keeps a few ready under `<root>/.spare/`; creating a
//! tenant's database then takes one and renames it into place (an atomic step).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use rand::RngCore;
use rusqlite::Connection;

/// Name of the folder holding spares, inside the tenant databases' folder.
pub const SPARE_DIR: &str = ".spare";

struct State {
    ready: VecDeque<PathBuf>,
}

/// The pool. Dropping it stops the refill thread.
pub struct SparePool {
    state: Mutex<State>,
    wanted: Condvar,
    target: usize,
    dir: PathBuf,
}

impl std::fmt::Debug for SparePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SparePool")
            .field("target", &self.target)
            .finish()
    }
}

/// Builds one spare: an empty database in WAL mode, closed (so its WAL is folded in and removed),
/// made durable, then renamed to its final spare name. Returns that name.
fn build_spare(dir: &Path) -> std::io::Result<PathBuf> {
    let mut id = [0u8; 8];
    rand::rng().fill_bytes(&mut id);
    let name: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = dir.join(format!("{name}.creating"));
    let done = dir.join(format!("{name}.db"));
    let sqlite = |e: rusqlite::Error| std::io::Error::other(e.to_string());
    {
        objectos_sql::files::create_private_file(&tmp)?;
        let conn = Connection::open(&tmp).map_err(sqlite)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sqlite)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite)?;
        conn.execute_batch("PRAGMA user_version = 1;")
            .map_err(sqlite)?;
    }
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, &done)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(done)
}

impl SparePool {
    /// Starts a pool keeping `target` spares under `<root>/.spare` (none when `target` is 0).
    /// Leftovers of an interrupted build are removed; finished spares are reused.
    pub fn start(root: &Path, target: usize) -> std::io::Result<Arc<Self>> {
        let dir = root.join(SPARE_DIR);
        objectos_sql::files::create_private_dir(&dir)?;
        let mut ready = VecDeque::new();
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            match path.extension().and_then(|e| e.to_str()) {
                Some("db") => ready.push_back(path),
                // Half-built spares and side files of closed ones.
                _ => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let pool = Arc::new(Self {
            state: Mutex::new(State { ready }),
            wanted: Condvar::new(),
            target,
            dir,
        });
        if target > 0 {
            let weak = Arc::downgrade(&pool);
            std::thread::Builder::new()
                .name("objectos-tenantdb-spares".to_owned())
                .spawn(move || refill(&weak))?;
        }
        Ok(pool)
    }

    /// Takes a spare, if one is ready; the caller renames it into place.
    pub fn take(&self) -> Option<PathBuf> {
        let spare = self
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ready
            .pop_front();
        self.wanted.notify_one();
        spare
    }

    /// Spares ready now.
    #[cfg(test)]
    pub fn ready(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ready
            .len()
    }
}

/// The refill loop: tops the pool up to its target, then sleeps until a spare is taken.
fn refill(pool: &Weak<SparePool>) {
    loop {
        let Some(this) = pool.upgrade() else { return };
        let missing = {
            let state = this.state.lock().unwrap_or_else(|p| p.into_inner());
            let state = this
                .wanted
                .wait_timeout_while(state, Duration::from_secs(1), |s| {
                    s.ready.len() >= this.target
                })
                .map(|(guard, _)| guard)
                .unwrap_or_else(|p| p.into_inner().0);
            this.target.saturating_sub(state.ready.len())
        };
        for _ in 0..missing {
            match build_spare(&this.dir) {
                Ok(path) => this
                    .state
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .ready
                    .push_back(path),
                Err(_) => {
                    // A full disk or similar: creation falls back to building inline; try later.
                    std::thread::sleep(Duration::from_secs(1));
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spares_are_built_taken_and_refilled() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(SPARE_DIR)).unwrap();
        std::fs::write(dir.path().join(SPARE_DIR).join("x.creating"), b"half").unwrap();
        let pool = SparePool::start(dir.path(), 2).unwrap();
        let wait_for = |n: usize| {
            for _ in 0..200 {
                if pool.ready() >= n {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!("pool never reached {n}");
        };
        wait_for(2);
        assert!(
            !dir.path().join(SPARE_DIR).join("x.creating").exists(),
            "leftover removed"
        );
        let spare = pool.take().unwrap();
        let conn = Connection::open(&spare).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!((mode.as_str(), version), ("wal", 1));
        wait_for(2);
    }
}
