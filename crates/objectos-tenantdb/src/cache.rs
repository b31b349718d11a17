//! An LRU of open tenant connections. Keeping a connection open spares every operation SQLite's
//! open and its checkpoint-on-close; evicted connections are closed on a background thread, so
//! that cost never lands on a request.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

/// A shared, lockable connection.
pub type SharedConnection = Arc<Mutex<Connection>>;

struct Entry {
    conn: SharedConnection,
    last_used: u64,
}

struct Inner {
    entries: HashMap<String, Entry>,
    tick: u64,
}

/// The cache.
pub struct ConnectionCache {
    inner: Mutex<Inner>,
    capacity: usize,
    closer: Mutex<mpsc::Sender<SharedConnection>>,
}

impl std::fmt::Debug for ConnectionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionCache")
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl ConnectionCache {
    /// A cache holding at most `capacity` connections (at least 1).
    pub fn new(capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel::<SharedConnection>();
        // Dropping the last handle closes the connection (and checkpoints its WAL) off the hot path.
        std::thread::Builder::new()
            .name("objectos-tenantdb-closer".to_owned())
            .spawn(move || {
                for conn in rx {
                    drop(conn)
                }
            })
            .map(drop)
            .unwrap_or_else(|e| tracing_fallback(&e));
        Self {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                tick: 0,
            }),
            capacity: capacity.max(1),
            closer: Mutex::new(tx),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached connection of a tenant, if any (marks it used).
    pub fn get(&self, id: &str) -> Option<SharedConnection> {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        inner.entries.get_mut(id).map(|e| {
            e.last_used = tick;
            Arc::clone(&e.conn)
        })
    }

    /// Caches a connection (or returns the one another thread cached first), evicting the least
    /// recently used beyond capacity.
    pub fn insert(&self, id: &str, conn: Connection) -> SharedConnection {
        let mut evicted = Vec::new();
        let shared = {
            let mut inner = self.lock();
            inner.tick += 1;
            let tick = inner.tick;
            if let Some(existing) = inner.entries.get_mut(id) {
                existing.last_used = tick;
                return Arc::clone(&existing.conn);
            }
            let shared = Arc::new(Mutex::new(conn));
            inner.entries.insert(
                id.to_owned(),
                Entry {
                    conn: Arc::clone(&shared),
                    last_used: tick,
                },
            );
            while inner.entries.len() > self.capacity {
                let Some(oldest) = inner
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.last_used)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                if let Some(entry) = inner.entries.remove(&oldest) {
                    evicted.push(entry.conn);
                }
            }
            shared
        };
        self.close_later(evicted);
        shared
    }

    /// Removes a tenant's connection and closes it before returning (waiting, up to `patience`,
    /// for anyone still using it), so its files can be deleted safely afterwards. Blocking.
    pub fn remove_and_close(&self, id: &str, patience: std::time::Duration) {
        let Some(entry) = self.lock().entries.remove(id) else {
            return;
        };
        let deadline = std::time::Instant::now() + patience;
        let mut conn = entry.conn;
        loop {
            match Arc::try_unwrap(conn) {
                Ok(mutex) => {
                    drop(mutex.into_inner().unwrap_or_else(|p| p.into_inner()));
                    return;
                }
                Err(shared) if std::time::Instant::now() < deadline => {
                    conn = shared;
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                // Still held after the wait: dropped here; its holder closes it when done.
                Err(_) => return,
            }
        }
    }

    /// Number of open connections.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// True when no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn close_later(&self, connections: Vec<SharedConnection>) {
        if connections.is_empty() {
            return;
        }
        let closer = self.closer.lock().unwrap_or_else(|p| p.into_inner());
        for conn in connections {
            // If the closer thread is gone the connection is simply dropped here.
            let _ = closer.send(conn);
        }
    }
}

/// Without a closer thread, evicted connections are dropped inline (slower, still correct).
fn tracing_fallback(error: &std::io::Error) {
    eprintln!("objectos-tenantdb: cannot start the closer thread ({error}); closing inline");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_recently_used_is_evicted() {
        let cache = ConnectionCache::new(2);
        cache.insert("a", Connection::open_in_memory().unwrap());
        cache.insert("b", Connection::open_in_memory().unwrap());
        assert!(cache.get("a").is_some());
        cache.insert("c", Connection::open_in_memory().unwrap());
        assert!(cache.get("b").is_none(), "b was least recently used");
        assert!(cache.get("a").is_some() && cache.get("c").is_some());
        assert_eq!(cache.len(), 2);
        let held = cache.get("c").unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            drop(held);
        });
        let started = std::time::Instant::now();
        cache.remove_and_close("c", std::time::Duration::from_secs(5));
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(15),
            "waited for the holder"
        );
        releaser.join().unwrap();
        assert_eq!(cache.len(), 1);
    }
}
