//! File descriptors: the open-file limit (`RLIMIT_NOFILE`) raised where allowed, the tenant
//! connection cache and the connection cap sized to fit in it, and exhaustion (`EMFILE`/`ENFILE`)
//! told apart from other failures so it is answered 503 (retry later), not 500.
//!
//! Every cached tenant holds about [`FDS_PER_CACHED_TENANT`] descriptors (its SQLite writer and
//! readers, with their WAL and shared-memory files); every client connection holds one.

/// Descriptors one cached tenant holds (writer and two readers, each with `-wal` and `-shm`).
pub const FDS_PER_CACHED_TENANT: u64 = 6;

/// Descriptors kept for everything else: the control store, spare databases being built,
/// backups, archives, logs, outgoing connections, the runtime.
pub const RESERVED_FDS: u64 = 64;

/// How far the soft limit is raised at most (when the hard limit allows).
pub const RAISE_TARGET: u64 = 1 << 20;

/// How the open-file limit is shared out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdPlan {
    /// The open-file limit planned for.
    pub limit: u64,
    /// Client connections served at once.
    pub max_connections: usize,
    /// Tenants kept with open connections (the LRU's capacity).
    pub cached_tenants: u64,
}

/// Shares `limit` descriptors: [`RESERVED_FDS`] are kept aside; client connections get at most
/// half of the rest; cached tenants ([`FDS_PER_CACHED_TENANT`] each) what remains. The configured
/// values are upper bounds, lowered to fit; each result is at least 1.
pub fn plan(limit: u64, max_connections: usize, cached_tenants: u64) -> FdPlan {
    let available = limit.saturating_sub(RESERVED_FDS);
    let wanted_connections = u64::try_from(max_connections).unwrap_or(u64::MAX);
    let connections = wanted_connections.min(available / 2).max(1);
    let for_tenants = available.saturating_sub(connections);
    let tenants = cached_tenants
        .min(for_tenants / FDS_PER_CACHED_TENANT)
        .max(1);
    FdPlan {
        limit,
        max_connections: usize::try_from(connections).unwrap_or(usize::MAX),
        cached_tenants: tenants,
    }
}

/// Raises the soft open-file limit towards the hard limit (at most [`RAISE_TARGET`]) and returns
/// the limit now in force; `None` where the platform has no such limit or it cannot be read.
pub fn raise_open_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(RAISE_TARGET) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            current_open_file_limit()
        }
    }
}

/// The soft open-file limit, when it can be read.
pub fn current_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rlimit::getrlimit(rlimit::Resource::NOFILE)
            .ok()
            .map(|(soft, _)| soft)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// True for "too many open files" (`EMFILE`, per process) and "file table overflow" (`ENFILE`,
/// system-wide).
pub fn is_exhaustion(error: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(error.raw_os_error(), Some(code) if code == libc::EMFILE || code == libc::ENFILE)
    }
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}

/// Whether the process cannot open a file right now: a failure whose cause the database does not
/// say (SQLite's "unable to open database file") is checked with this probe.
pub fn exhausted_now() -> bool {
    #[cfg(unix)]
    {
        match std::fs::File::open("/dev/null") {
            Ok(_) => false,
            Err(e) => is_exhaustion(&e),
        }
    }
    #[cfg(not(unix))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generous_limit_keeps_the_configured_values() {
        let plan = plan(1 << 20, 1024, 100);
        assert_eq!(plan.max_connections, 1024);
        assert_eq!(plan.cached_tenants, 100);
    }

    #[test]
    fn the_default_limit_of_1024_fits_connections_and_tenants() {
        let plan = plan(1024, 1024, 100);
        // 960 usable: 480 for connections, 480 / 6 = 80 tenants.
        assert_eq!(plan.max_connections, 480);
        assert_eq!(plan.cached_tenants, 80);
        let used = RESERVED_FDS
            + plan.max_connections as u64
            + plan.cached_tenants * FDS_PER_CACHED_TENANT;
        assert!(used <= 1024, "{used}");
    }

    #[test]
    fn a_small_limit_shrinks_both_and_never_to_zero() {
        let plan = plan(256, 1024, 100);
        assert_eq!(plan.max_connections, 96);
        assert_eq!(plan.cached_tenants, 16);
        let tiny = super::plan(10, 1024, 100);
        assert_eq!((tiny.max_connections, tiny.cached_tenants), (1, 1));
    }

    #[test]
    fn a_configured_value_below_the_share_is_kept() {
        let plan = plan(4096, 10, 5);
        assert_eq!((plan.max_connections, plan.cached_tenants), (10, 5));
        // Connections left unused go to the tenants (bounded by the configured cache).
        let plan = super::plan(4096, 10, 10_000);
        assert_eq!(plan.cached_tenants, (4096 - RESERVED_FDS - 10) / 6);
    }

    #[test]
    fn emfile_and_enfile_are_exhaustion_other_errors_are_not() {
        assert!(is_exhaustion(&std::io::Error::from_raw_os_error(
            libc::EMFILE
        )));
        assert!(is_exhaustion(&std::io::Error::from_raw_os_error(
            libc::ENFILE
        )));
        assert!(!is_exhaustion(&std::io::Error::from_raw_os_error(
            libc::ENOENT
        )));
        assert!(!is_exhaustion(&std::io::Error::other("x")));
        assert!(!exhausted_now());
    }
}
