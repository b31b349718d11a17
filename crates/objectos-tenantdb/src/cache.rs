//! An LRU of open tenant connections, optionally with an idle TTL. Keeping a connection open spares
//! every operation SQLite's open and its checkpoint-on-close; evicted and expired connections are
//! closed on a background thread, so that cost never lands on a request.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// A shared, lockable connection.
pub type SharedConnection = Arc<Mutex<Connection>>;

struct Entry {
    conn: SharedConnection,
    /// LRU order (a counter, so ties are impossible).
    last_used: u64,
    /// For the TTL.
    last_used_at: Instant,
}

impl Entry {
    fn expired(&self, ttl: Option<Duration>, now: Instant) -> bool {
        ttl.is_some_and(|ttl| now.saturating_duration_since(self.last_used_at) > ttl)
    }
}

struct Inner {
    entries: HashMap<String, Entry>,
    tick: u64,
}

/// The cache.
pub struct ConnectionCache {
    inner: Mutex<Inner>,
    capacity: usize,
    ttl: Option<Duration>,
    closer: Mutex<mpsc::Sender<SharedConnection>>,
}

impl std::fmt::Debug for ConnectionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionCache")
            .field("capacity", &self.capacity)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl ConnectionCache {
    /// A cache holding at most `capacity` connections (at least 1), without a TTL.
    pub fn new(capacity: usize) -> Self {
        Self::with_ttl(capacity, None)
    }

    /// A cache holding at most `capacity` connections (at least 1); with a `ttl`, a connection not
    /// used for longer than it is treated as absent by [`ConnectionCache::get`] and closed (also by
    /// [`ConnectionCache::sweep_expired`]).
    pub fn with_ttl(capacity: usize, ttl: Option<Duration>) -> Self {
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
            ttl,
            closer: Mutex::new(tx),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The idle time after which a connection is dropped, if any.
    pub fn ttl(&self) -> Option<Duration> {
        self.ttl
    }

    /// The cached connection of a tenant, if any (marks it used). An entry idle for longer than
    /// the TTL is removed, handed to the closer thread, and reported absent.
    pub fn get(&self, id: &str) -> Option<SharedConnection> {
        let now = Instant::now();
        let expired = {
            let mut inner = self.lock();
            inner.tick += 1;
            let tick = inner.tick;
            match inner.entries.get_mut(id) {
                None => return None,
                Some(e) if !e.expired(self.ttl, now) => {
                    e.last_used = tick;
                    e.last_used_at = now;
                    return Some(Arc::clone(&e.conn));
                }
                Some(_) => inner.entries.remove(id),
            }
        };
        self.close_later(expired.map(|e| e.conn).into_iter().collect());
        None
    }

    /// Removes every entry idle for longer than the TTL and hands it to the closer thread (a
    /// connection still held by a request closes when released). Returns how many were removed;
    /// always 0 without a TTL. Meant to be called periodically.
    pub fn sweep_expired(&self) -> usize {
        if self.ttl.is_none() {
            return 0;
        }
        let now = Instant::now();
        let expired: Vec<SharedConnection> = {
            let mut inner = self.lock();
            let ids: Vec<String> = inner
                .entries
                .iter()
                .filter(|(_, e)| e.expired(self.ttl, now))
                .map(|(k, _)| k.clone())
                .collect();
            ids.iter()
                .filter_map(|id| inner.entries.remove(id))
                .map(|e| e.conn)
                .collect()
        };
        let removed = expired.len();
        self.close_later(expired);
        removed
    }

    /// Caches a connection (or returns the one another thread cached first, unless it has
    /// expired), evicting the least recently used beyond capacity.
    pub fn insert(&self, id: &str, conn: Connection) -> SharedConnection {
        let mut evicted = Vec::new();
        let now = Instant::now();
        let shared = {
            let mut inner = self.lock();
            inner.tick += 1;
            let tick = inner.tick;
            if let Some(existing) = inner.entries.get_mut(id) {
                if !existing.expired(self.ttl, now) {
                    existing.last_used = tick;
                    existing.last_used_at = now;
                    return Arc::clone(&existing.conn);
                }
            }
            let shared = Arc::new(Mutex::new(conn));
            if let Some(stale) = inner.entries.insert(
                id.to_owned(),
                Entry {
                    conn: Arc::clone(&shared),
                    last_used: tick,
                    last_used_at: now,
                },
            ) {
                evicted.push(stale.conn);
            }
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

    #[test]
    fn idle_entries_expire_after_the_ttl() {
        let cache = ConnectionCache::with_ttl(8, Some(Duration::from_millis(50)));
        assert_eq!(cache.ttl(), Some(Duration::from_millis(50)));
        cache.insert("idle", Connection::open_in_memory().unwrap());
        cache.insert("swept", Connection::open_in_memory().unwrap());
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(
            cache.len(),
            2,
            "expired entries stay until looked up or swept"
        );
        assert!(cache.get("idle").is_none(), "idle past the TTL");
        assert_eq!(cache.len(), 1, "the lookup removed it");
        assert_eq!(cache.sweep_expired(), 1);
        assert_eq!(cache.len(), 0);
        assert!(cache.get("swept").is_none());
    }

    #[test]
    fn an_entry_used_within_the_ttl_survives() {
        // Wide margins: each gap is well under the TTL, their sum well over it.
        let cache = ConnectionCache::with_ttl(8, Some(Duration::from_millis(400)));
        cache.insert("busy", Connection::open_in_memory().unwrap());
        cache.insert("idle", Connection::open_in_memory().unwrap());
        std::thread::sleep(Duration::from_millis(250));
        assert!(cache.get("busy").is_some());
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(cache.sweep_expired(), 1, "only the idle one");
        assert!(
            cache.get("busy").is_some(),
            "500 ms old, last used 250 ms ago"
        );
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn an_expired_entry_is_replaced_on_insert_and_no_ttl_never_expires() {
        let cache = ConnectionCache::with_ttl(8, Some(Duration::from_millis(10)));
        let first = cache.insert("a", Connection::open_in_memory().unwrap());
        std::thread::sleep(Duration::from_millis(40));
        let second = cache.insert("a", Connection::open_in_memory().unwrap());
        assert!(!Arc::ptr_eq(&first, &second), "the stale one was replaced");
        assert_eq!(cache.len(), 1);

        let forever = ConnectionCache::new(8);
        assert_eq!(forever.ttl(), None);
        forever.insert("a", Connection::open_in_memory().unwrap());
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(forever.sweep_expired(), 0);
        assert!(forever.get("a").is_some());
    }

    #[test]
    fn the_capacity_still_holds_with_a_ttl() {
        let cache = ConnectionCache::with_ttl(3, Some(Duration::from_secs(60)));
        for id in ["a", "b", "c", "d", "e"] {
            cache.insert(id, Connection::open_in_memory().unwrap());
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.get("a").is_none() && cache.get("b").is_none());
        assert!(cache.get("c").is_some() && cache.get("d").is_some() && cache.get("e").is_some());
        assert_eq!(cache.sweep_expired(), 0, "nothing idle for a minute");
    }
}
