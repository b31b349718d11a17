//! Start-up and shutdown of a whole server: data dir, control store, tenant databases, admin token,
//! recovery of unfinished work, the destruction reaper, and graceful shutdown. Used by
//! `objectos serve` and by integration tests (on `127.0.0.1:0`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use objectos_core::ids::{hash_secret, new_admin_token};
use objectos_core::{Platform, PlatformConfig};
use objectos_store::{ControlConfig, ControlStore, ControlStores};
use objectos_tenantdb::{TenantDatabases, TenantDbConfig, TenantDbs};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::{AppState, ServerSettings};

/// The platform `objectos serve` runs: the control store (embedded SQLite by default, or
/// PostgreSQL) and the tenant database provider chosen by configuration (one SQLite file per
/// tenant by default).
pub type EmbeddedPlatform = Platform<ControlStores, TenantDbs>;

/// Everything needed to start a server.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Data directory (control store, tenant databases, backups, admin token).
    pub data_dir: PathBuf,
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// HTTP settings.
    pub settings: ServerSettings,
    /// Service settings (plans, lifecycle, step lease and timeout). `backup_dir` is overridden
    /// with `<data_dir>/backups`.
    pub platform: PlatformConfig,
    /// How often grace-period destructions are checked.
    pub reaper_interval: Duration,
    /// How long shutdown waits for in-flight requests before closing.
    pub shutdown_grace: Duration,
    /// Failpoints to arm (only in builds with the `failpoints` feature).
    pub failpoints: Option<String>,
    /// Use this admin token instead of the stored/generated one (it replaces the stored hash).
    pub admin_token: Option<String>,
    /// Where tenant databases live: the provider and its settings. For `sqlite`, the folder is
    /// always `<data_dir>/tenants` and the cache follows `platform.router`; for `postgres`, the
    /// owner is this data dir's installation id.
    pub tenant_databases: TenantDbConfig,
    /// Where the control store is: `control.db` in the data dir (default) or PostgreSQL.
    pub control: ControlConfig,
}

impl AppOptions {
    /// Defaults for a data dir, listening on `127.0.0.1:7700`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            platform: PlatformConfig::new(&data_dir),
            data_dir,
            listen: SocketAddr::from(([127, 0, 0, 1], 7700)),
            settings: ServerSettings::default(),
            reaper_interval: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(10),
            failpoints: None,
            admin_token: None,
            tenant_databases: TenantDbConfig::default(),
            control: ControlConfig::default(),
        }
    }
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data dir or a file in it.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The listen address could not be bound (in use, not local, not permitted).
    #[error("cannot listen on {addr}: {source}{}", bind_hint(source))]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The control store.
    #[error(transparent)]
    Store(#[from] objectos_store::StoreError),
    /// The control store could not be opened (malformed URL, unreachable server, refused schema).
    // The source reads "control store: <where>: <what>".
    #[error("cannot open the {source}{}", control_hint(source))]
    ControlStore {
        /// The cause.
        source: objectos_store::StoreError,
    },
    /// Another objectos server holds the data dir.
    #[error("{0}: in use by another objectos server (only one may serve a data dir)")]
    InUse(PathBuf),
    /// The embedded control store was copied to PostgreSQL (`objectos control migrate`): serving
    /// it would serve a stale copy.
    #[error(
        "{control}: this control store was moved to {moved_to} by `objectos control migrate`; \
         start with --control-url (or OBJECTOS_CONTROL_URL, or [control] url) naming that \
         database. control.db is kept only as a backup of the moment of the move \
         (docs/operations.md, \"Moving the control plane to PostgreSQL\")"
    )]
    ControlStoreMoved {
        /// The embedded store's file.
        control: String,
        /// Where it was moved (`postgres://host:port/database`).
        moved_to: String,
    },
    /// Tenant databases exist but the control store has no tenant: it was lost, emptied or
    /// replaced. Starting would treat every database as an orphan, so the server refuses.
    #[error(
        "{control}: the control store has no tenants, but {} tenant database(s) exist: {}. \
         Refusing to start: they would otherwise be treated as orphans. If the control store was \
         lost or replaced, {restore} and start again. If these databases are really not wanted, move them away yourself (sqlite: \
         out of {tenants_dir}, e.g. into {tenants_dir}/quarantine/; postgres: drop or rename the \
         schemas) and start again. objectos never deletes them itself \
         (docs/operations.md, \"A missing or empty control store\")",
        databases.len(),
        databases.join(", ")
    )]
    ControlStoreLost {
        /// The control store: its file, or `postgres://host:port/database`.
        control: String,
        /// How to restore it (depends on the backend).
        restore: String,
        /// The tenants folder of the `sqlite` provider.
        tenants_dir: PathBuf,
        /// Where each database is (its connection URL).
        databases: Vec<String>,
    },
    /// The data dir's `node-id` file holds something that is not a node id.
    #[error(
        "{path}: not a node id (1 to 64 of A-Z a-z 0-9 . _ -); fix it, or remove the file to get \
         a new id (this node's unfinished steps are then taken over once their leases lapse)"
    )]
    BadNodeId {
        /// The file.
        path: PathBuf,
    },
    /// Start-up recovery failed.
    #[error("recovery failed: {0}")]
    Recovery(String),
    /// Failpoints requested but not compiled in, or malformed.
    #[error(transparent)]
    Failpoints(#[from] objectos_core::failpoints::FailpointError),
    /// The tenant database provider could not be opened (unknown provider, unreachable server).
    #[error("tenant databases ({provider}): {source}")]
    TenantDatabases {
        /// The configured provider.
        provider: String,
        /// The cause.
        source: objectos_tenantdb::TenantDbError,
    },
}

/// What to do about a control store that cannot be opened, for the error message.
fn control_hint(error: &objectos_store::StoreError) -> &'static str {
    match error.kind() {
        Some(objectos_store::ErrorKind::Connection) => {
            " (is the PostgreSQL server running and reachable, and the URL given with \
             --control-url, OBJECTOS_CONTROL_URL or [control] url right?)"
        }
        Some(objectos_store::ErrorKind::ReadOnly) => {
            " (the role needs CREATE on the database, to create the objectos_control schema)"
        }
        _ => "",
    }
}

/// What to do about a failed bind, for the error message.
fn bind_hint(error: &std::io::Error) -> &'static str {
    match error.kind() {
        std::io::ErrorKind::AddrInUse => {
            " (another process, perhaps another objectos, holds it: stop it or choose another \
             address with --listen or OBJECTOS_LISTEN)"
        }
        std::io::ErrorKind::AddrNotAvailable => {
            " (not an address of this machine: choose another with --listen or OBJECTOS_LISTEN)"
        }
        std::io::ErrorKind::PermissionDenied => {
            " (ports below 1024 need privileges: choose another with --listen or OBJECTOS_LISTEN)"
        }
        _ => "",
    }
}

/// A running server.
pub struct RunningApp {
    /// The bound address.
    pub addr: SocketAddr,
    /// The admin token when this start created it (shown once), else `None`.
    pub new_admin_token: Option<String>,
    /// Where the admin token file is.
    pub admin_token_path: PathBuf,
    /// The services (for tests: failpoints, direct inspection).
    pub platform: EmbeddedPlatform,
    /// How the open-file limit was shared out (`None` where it cannot be read).
    pub fd_plan: Option<crate::fds::FdPlan>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    store: ControlStores,
    ready: Arc<AtomicBool>,
    /// Held (locked) while the server runs.
    _data_dir_lock: std::fs::File,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StartError + '_ {
    move |source| StartError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Installs the Prometheus recorder once per process; later calls get the same handle.
fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<PrometheusHandle>> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .clone()
}

/// Writes the token file readable by its owner only, atomically: the token goes to a temporary
/// file beside it, synced, then renamed over `path`, so a crash leaves either no file or the whole
/// token, never an empty or partial one that a client would send.
fn write_token_file(path: &Path, token: &str) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut file = objectos_sql::files::open_private_file(&temporary, true)?;
    #[cfg(unix)]
    std::fs::set_permissions(
        &temporary,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )?;
    writeln!(file, "{token}")?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)?;
    // The rename is durable once the directory entry is.
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The id of the node serving this data dir, kept in `<data-dir>/node-id` (made at the first
/// start): stable across restarts, so the node recognises step leases of its own previous run as
/// dead (the data-dir lock proves no other process runs as it). An operator may write an id of
/// their own there (1–64 of `A-Z a-z 0-9 . _ -`); anything else refuses the start.
fn node_id(data_dir: &Path) -> Result<String, StartError> {
    let path = data_dir.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let id = text.trim();
            if objectos_core::ids::is_valid_node_id(id) {
                Ok(id.to_owned())
            } else {
                Err(StartError::BadNodeId { path })
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = objectos_core::ids::new_node_id();
            write_token_file(&path, &id).map_err(io_error(&path))?;
            Ok(id)
        }
        Err(e) => Err(io_error(&path)(e)),
    }
}

/// The control store's setting holding the installation id.
const INSTALLATION_ID: &str = "installation_id";

/// The data dir's copy of the installation id (`<data_dir>/installation-id`).
fn installation_id_file(data_dir: &Path) -> PathBuf {
    data_dir.join("installation-id")
}

/// This installation's id (made once, kept in the control store, with a copy in the data dir):
/// what marks its tenants in a shared PostgreSQL database as its own. Returns the id and whether
/// the control store lacks it (to be stored once the start-up checks have passed). When the store
/// has none but the data dir remembers one, the store was lost or replaced: the remembered id is
/// used, so the tenant databases it marked are seen (and the start refused) rather than ignored.
async fn installation_id(
    store: &ControlStores,
    data_dir: &Path,
) -> Result<(String, bool), StartError> {
    let file = installation_id_file(data_dir);
    let remembered = match std::fs::read_to_string(&file) {
        Ok(text) => Some(text.trim().to_owned()).filter(|id| !id.is_empty()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_error(&file)(e)),
    };
    if let Some(id) = store.setting(INSTALLATION_ID).await? {
        if remembered.as_ref().is_some_and(|r| *r != id) {
            tracing::warn!(
                control_store = %id,
                data_dir = ?remembered,
                "the data dir was last used by another installation than the control store's"
            );
        }
        return Ok((id, false));
    }
    if let Some(id) = remembered {
        return Ok((id, true));
    }
    let bytes: [u8; 8] = rand::random();
    Ok((format!("os-{}", hex::encode(bytes)), true))
}

impl RunningApp {
    /// Binds, opens everything, recovers unfinished work and serves until [`RunningApp::shutdown`].
    ///
    /// The listen address is bound first: a start that cannot listen (port in use) fails before
    /// it creates the data dir or an admin token nobody would be shown.
    pub async fn start(options: AppOptions) -> Result<Self, StartError> {
        let listener =
            TcpListener::bind(options.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: options.listen,
                    source,
                })?;
        // Private to the owner: it holds every tenant's data (see docs/operations.md).
        objectos_sql::files::create_private_dir(&options.data_dir)
            .map_err(io_error(&options.data_dir))?;
        // Absolute, so connection URLs handed to clients do not depend on our working directory.
        let data_dir =
            std::path::absolute(&options.data_dir).map_err(io_error(&options.data_dir))?;
        // One server per data dir: per-tenant serialisation only holds within one process.
        let lock_path = data_dir.join("lock");
        let data_dir_lock = objectos_sql::files::open_private_file(&lock_path, false)
            .map_err(io_error(&lock_path))?;
        match data_dir_lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(StartError::InUse(data_dir)),
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error(&lock_path)(e)),
        }
        let store = ControlStores::open(&options.control, &data_dir)
            .await
            .map_err(|source| StartError::ControlStore { source })?;
        if let ControlStores::Sqlite(_) = &store {
            if let Some(moved_to) = store.setting(objectos_store::MOVED_TO_SETTING).await? {
                return Err(StartError::ControlStoreMoved {
                    control: store.describe(&data_dir),
                    moved_to,
                });
            }
        }
        let router = options.platform.router;
        // The open-file limit, raised where allowed, shared out between client connections and
        // cached tenants (each holds several descriptors).
        let mut settings = options.settings.clone();
        let mut cached_tenants = router.max_cached_connections;
        let mut fd_plan = None;
        if let Some(limit) = crate::fds::raise_open_file_limit() {
            let plan =
                crate::fds::plan(limit, settings.connections.max_connections, cached_tenants);
            if plan.cached_tenants < cached_tenants
                || plan.max_connections < settings.connections.max_connections
            {
                tracing::warn!(
                    open_file_limit = limit,
                    max_cached_connections = plan.cached_tenants,
                    max_connections = plan.max_connections,
                    "lowered to fit the open-file limit (raise it with `ulimit -n`)"
                );
            }
            cached_tenants = plan.cached_tenants;
            settings.connections.max_connections = plan.max_connections;
            fd_plan = Some(plan);
        }
        let mut tenant_databases = options.tenant_databases.clone();
        tenant_databases.sqlite_dir = data_dir.join("tenants");
        tenant_databases.cached_connections = usize::try_from(cached_tenants).unwrap_or(usize::MAX);
        tenant_databases.connection_ttl =
            Some(Duration::from_secs(router.connection_cache_ttl_secs.max(1)));
        let (installation, unsaved_installation) = installation_id(&store, &data_dir).await?;
        tenant_databases.postgres.owner = Some(installation.clone());
        let dbs = TenantDbs::open(&tenant_databases).await.map_err(|source| {
            StartError::TenantDatabases {
                provider: tenant_databases.provider.clone(),
                source,
            }
        })?;
        let mut platform_config = options.platform.clone();
        platform_config.backup_dir = data_dir.join("backups");
        platform_config.node_id = node_id(&data_dir)?;
        let platform = Platform::new(store.clone(), dbs, platform_config);
        if let Some(spec) = &options.failpoints {
            platform.failpoints().configure(spec)?;
        }
        // Before anything is written (the admin token above all): tenant databases with an empty
        // control store mean the store was lost, not that the databases are orphans.
        let lost = platform
            .databases_without_a_control_store()
            .await
            .map_err(|e| StartError::Recovery(e.to_string()))?;
        if !lost.is_empty() {
            let restore = match &store {
                ControlStores::Sqlite(_) => {
                    "restore control.db (with control.db-wal, if any) from a backup".to_owned()
                }
                ControlStores::Postgres(_) => format!(
                    "restore the control store (schema {} of {}) from a backup, or start with \
                     the --control-url it was at",
                    objectos_store::PG_SCHEMA,
                    store.describe(&data_dir)
                ),
            };
            return Err(StartError::ControlStoreLost {
                control: store.describe(&data_dir),
                restore,
                tenants_dir: tenant_databases.sqlite_dir.clone(),
                databases: lost
                    .iter()
                    .map(|id| platform.dbs().connection_url(id))
                    .collect(),
            });
        }

        if unsaved_installation {
            store.set_setting(INSTALLATION_ID, &installation).await?;
        }
        let id_file = installation_id_file(&data_dir);
        if !id_file.exists() {
            write_token_file(&id_file, &installation).map_err(io_error(&id_file))?;
        }

        let admin_token_path = data_dir.join("admin-token");
        let (admin_hash, new_admin_token) = match (
            &options.admin_token,
            store.setting("admin_token_sha256").await?,
        ) {
            (Some(token), _) => (hash_secret(token), None),
            (None, Some(hash)) => (hash, None),
            (None, None) => {
                let token = new_admin_token();
                write_token_file(&admin_token_path, &token).map_err(io_error(&admin_token_path))?;
                (hash_secret(&token), Some(token))
            }
        };
        store.set_setting("admin_token_sha256", &admin_hash).await?;

        let ready = Arc::new(AtomicBool::new(false));
        let state = AppState {
            platform: platform.clone(),
            admin_token_hash: admin_hash.into(),
            settings: Arc::new(settings.clone()),
            metrics: metrics_handle(),
            ready: Arc::clone(&ready),
            hrana: objectos_tenantdb::hrana::Streams::new(settings.hrana.limits.clone()),
        };
        let addr = listener.local_addr().map_err(io_error(&data_dir))?;
        let (shutdown, mut shutdown_rx) = watch::channel(false);

        let app = crate::router(state);
        let mut graceful_rx = shutdown.subscribe();
        let grace = options.shutdown_grace;
        let limits = settings.connections;
        let server = tokio::spawn(async move {
            let serve = crate::serve::serve(listener, app, limits, async move {
                let _ = graceful_rx.wait_for(|stop| *stop).await;
            });
            tokio::select! {
                result = serve => result,
                // Long-lived streams (SSE) must not hold shutdown forever.
                _ = async {
                    let _ = shutdown_rx.wait_for(|stop| *stop).await;
                    tokio::time::sleep(grace).await;
                } => Ok(()),
            }
        });

        // With a PostgreSQL control store, other nodes may serve the same tenants: what one changes,
        // the others hear at once.
        crate::cluster::connect(&store, &platform, shutdown.subscribe()).await?;

        // Resume unfinished provisioning, finish due destructions, set orphan databases aside.
        platform
            .recover()
            .await
            .map_err(|e| StartError::Recovery(e.to_string()))?;
        ready.store(true, Ordering::Release);

        // Idle tenant connections older than connectionCacheTTL are closed in the background.
        let sweep_platform = platform.clone();
        let mut sweep_stop = shutdown.subscribe();
        let sweep_every = tenant_databases
            .connection_ttl
            .unwrap_or(Duration::from_secs(30))
            .min(Duration::from_secs(30));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(sweep_every) => {}
                    _ = sweep_stop.wait_for(|stop| *stop) => return,
                }
                sweep_platform.dbs().sweep_expired_connections();
            }
        });

        let reaper_platform = platform.clone();
        let interval = options.reaper_interval;
        let mut reaper_stop = shutdown.subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = reaper_stop.wait_for(|stop| *stop) => return,
                }
                if let Err(e) = reaper_platform.reap_due_destructions().await {
                    tracing::error!(error = %e, "destruction reaper failed");
                }
            }
        });

        Ok(Self {
            addr,
            new_admin_token,
            admin_token_path,
            platform,
            fd_plan,
            shutdown,
            server,
            store,
            ready,
            _data_dir_lock: data_dir_lock,
        })
    }

    /// Stops accepting, lets in-flight requests finish (up to the grace period), and closes the
    /// databases cleanly (WAL checkpointed).
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.ready.store(false, Ordering::Release);
        let _ = self.shutdown.send(true);
        let result = match self.server.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e)),
        };
        if let Err(e) = self.store.close().await {
            tracing::warn!(error = %e, "closing the control store at shutdown failed");
        }
        result
    }

    /// Serves until `signal` resolves, then shuts down.
    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        signal.await;
        tracing::info!("shutting down");
        self.shutdown().await
    }
}
