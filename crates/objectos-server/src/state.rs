//! Shared state of the HTTP layer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use objectos_core::Platform;

/// Default of [`ServerSettings::archive_body_limit`]: 256 MiB.
pub const DEFAULT_ARCHIVE_BODY_LIMIT: usize = 256 * 1024 * 1024;

/// Largest allowed [`ServerSettings::archive_body_limit`]: 4 GiB (the archive is held in memory,
/// parsed, while it is restored).
pub const MAX_ARCHIVE_BODY_LIMIT: usize = 4 * 1024 * 1024 * 1024;

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Largest request body accepted, in bytes (larger: 413).
    pub body_limit: usize,
    /// Largest body of `POST /api/v1/tenants/restore` (an archive), in bytes (larger: 413); that
    /// route only, at most [`MAX_ARCHIVE_BODY_LIMIT`].
    pub archive_body_limit: usize,
    /// Interval of SSE keep-alive comments.
    pub sse_keep_alive: Duration,
    /// How the data API finds a request's tenant (`TenantResolverStrategy`).
    pub resolver: objectos_spec::types::turso::TenantResolverStrategy,
    /// The domain under which tenants are `{tenant}.<base domain>` (subdomain strategy).
    pub base_domain: Option<String>,
    /// Header-read / idle timeout and the cap on open connections (see [`crate::serve`]).
    pub connections: crate::serve::ConnectionLimits,
    /// The Hrana (libSQL) endpoint's settings.
    pub hrana: HranaSettings,
}

/// Settings of the Hrana endpoint (`/v2/pipeline`, `/v3/pipeline`, `/v3/cursor`).
#[derive(Debug, Clone)]
pub struct HranaSettings {
    /// Largest request body, in bytes (larger: 413 `PAYLOAD_TOO_LARGE`).
    pub body_limit: usize,
    /// Requests, statements, rows and bytes per request; stream timeouts and counts.
    pub limits: objectos_tenantdb::hrana::Limits,
    /// Tenants whose Hrana clients may run DDL on their own tables (never on objectos' system
    /// tables). Empty by default: DDL goes through deployments.
    pub ddl_tenants: std::collections::BTreeSet<String>,
}

impl Default for HranaSettings {
    fn default() -> Self {
        Self {
            body_limit: 4 * 1024 * 1024,
            limits: objectos_tenantdb::hrana::Limits::default(),
            ddl_tenants: std::collections::BTreeSet::new(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            archive_body_limit: DEFAULT_ARCHIVE_BODY_LIMIT,
            sse_keep_alive: Duration::from_secs(15),
            resolver: objectos_spec::types::turso::TenantResolverStrategy::Token,
            base_domain: None,
            connections: crate::serve::ConnectionLimits::default(),
            hrana: HranaSettings::default(),
        }
    }
}

/// What every handler can reach.
pub struct AppState<S, D> {
    /// The services.
    pub platform: Platform<S, D>,
    /// SHA-256 (hex) of the admin token.
    pub admin_token_hash: Arc<str>,
    /// HTTP settings.
    pub settings: Arc<ServerSettings>,
    /// Renders `/metrics`; `None` when no recorder could be installed.
    pub metrics: Option<PrometheusHandle>,
    /// False until start-up recovery is done, and again while shutting down.
    pub ready: Arc<AtomicBool>,
    /// The open Hrana streams.
    pub hrana: objectos_tenantdb::hrana::Streams,
}

impl<S, D> Clone for AppState<S, D> {
    fn clone(&self) -> Self {
        Self {
            platform: self.platform.clone(),
            admin_token_hash: Arc::clone(&self.admin_token_hash),
            settings: Arc::clone(&self.settings),
            metrics: self.metrics.clone(),
            ready: Arc::clone(&self.ready),
            hrana: self.hrana.clone(),
        }
    }
}

impl<S, D> AppState<S, D> {
    /// Whether `/readyz` says ready.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}
