//! The tenant router's state: resolved tenants (status, plan, quotas and deployed model) cached
//! LRU + TTL with single-flight loads, authenticated keys, and per-tenant rate limiters (GCRA).
//!
//! Every cached entry is dropped when the tenant changes: suspend, resume, destroy, plan change,
//! key changes and deployments call [`crate::Platform::invalidate_tenant`].

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use objectos_spec::types::provisioning::{TenantPlan, TenantProvisioningStatus};
use objectos_spec::types::tenant::TenantQuota;

use super::model::TenantModel;
use crate::platform::KeyAuth;

/// Settings of the tenant router (`TursoMultiTenantConfig`'s cache settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterSettings {
    /// `maxCachedConnections`: tenants kept resolved and connected (LRU).
    pub max_cached_connections: u64,
    /// `connectionCacheTTL`: seconds a cached tenant stays without being reloaded.
    pub connection_cache_ttl_secs: u64,
}

impl Default for RouterSettings {
    fn default() -> Self {
        Self {
            max_cached_connections: 100,
            connection_cache_ttl_secs: 300,
        }
    }
}

/// A tenant resolved for the data API.
#[derive(Debug)]
pub struct TenantHandle {
    /// The tenant id.
    pub tenant_id: String,
    /// Its status when resolved (only servable ones are cached).
    pub status: TenantProvisioningStatus,
    /// Its plan.
    pub plan: TenantPlan,
    /// The plan's quotas.
    pub quota: TenantQuota,
    /// The deployed model.
    pub model: Arc<TenantModel>,
    /// Single-record writes waiting for the next group commit.
    pub(crate) writes: super::group::WriteQueue,
    /// The last measurement of its database's size (see [`super::write::StorageGauge`]).
    pub(crate) storage: Arc<super::write::StorageGauge>,
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// One tenant's rate limiter and request counter.
pub struct TenantLimiter {
    per_minute: u32,
    limiter: Limiter,
    minute: AtomicI64,
    count: AtomicU64,
}

impl std::fmt::Debug for TenantLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantLimiter")
            .field("per_minute", &self.per_minute)
            .finish()
    }
}

/// The answer of the rate limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// No limit applies.
    Unlimited,
    /// Allowed; `remaining` requests may follow at once.
    Allowed {
        /// `apiRateLimit` per minute.
        limit: u32,
        /// Requests left in the burst.
        remaining: u32,
    },
    /// Refused; retry after `retry_after_ms`.
    Limited {
        /// `apiRateLimit` per minute.
        limit: u32,
        /// Milliseconds until a request is allowed.
        retry_after_ms: u64,
    },
}

fn current_minute() -> i64 {
    crate::time::now_ms() / 60_000
}

impl TenantLimiter {
    fn new(per_minute: Option<u64>) -> Self {
        let per_minute = per_minute.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
        // A zero limit would refuse everything; NonZero fallback of 1 is never used for 0 (see check).
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        Self {
            per_minute,
            limiter: RateLimiter::direct(quota).with_middleware::<StateInformationMiddleware>(),
            minute: AtomicI64::new(current_minute()),
            count: AtomicU64::new(0),
        }
    }

    fn count(&self) {
        let now = current_minute();
        if self.minute.swap(now, Ordering::Relaxed) != now {
            self.count.store(0, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests counted in the current minute.
    pub fn requests_this_minute(&self) -> u64 {
        if self.minute.load(Ordering::Relaxed) == current_minute() {
            self.count.load(Ordering::Relaxed)
        } else {
            0
        }
    }

    fn check(&self, unlimited: bool) -> RateDecision {
        self.count();
        if unlimited {
            return RateDecision::Unlimited;
        }
        if self.per_minute == 0 {
            return RateDecision::Limited {
                limit: 0,
                retry_after_ms: 60_000,
            };
        }
        match self.limiter.check() {
            Ok(snapshot) => RateDecision::Allowed {
                limit: self.per_minute,
                remaining: snapshot.remaining_burst_capacity(),
            },
            Err(not_until) => RateDecision::Limited {
                limit: self.per_minute,
                retry_after_ms: u64::try_from(
                    not_until
                        .wait_time_from(DefaultClock::default().now())
                        .as_millis(),
                )
                .unwrap_or(u64::MAX),
            },
        }
    }
}

/// The router's caches.
pub(crate) struct DataRuntime {
    pub(crate) handles: moka::future::Cache<String, Arc<TenantHandle>>,
    pub(crate) keys: moka::sync::Cache<String, KeyAuth>,
    limiters: moka::sync::Cache<String, Arc<TenantLimiter>>,
    loads: AtomicU64,
    generation: AtomicU64,
}

impl DataRuntime {
    pub(crate) fn new(settings: RouterSettings) -> Self {
        let ttl = Duration::from_secs(settings.connection_cache_ttl_secs.max(1));
        Self {
            handles: moka::future::Cache::builder()
                .max_capacity(settings.max_cached_connections.max(1))
                .time_to_live(ttl)
                .build(),
            keys: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(60))
                .build(),
            // An idle GCRA limiter refills completely within a minute: dropping it after two idle
            // minutes loses nothing.
            limiters: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(120))
                .build(),
            loads: AtomicU64::new(0),
            generation: AtomicU64::new(0),
        }
    }

    /// Bumped by every invalidation: a load that started before one must not be kept.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn bump_generation(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn count_load(&self) {
        self.loads.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    pub(crate) fn limiter(&self, tenant_id: &str, per_minute: Option<u64>) -> Arc<TenantLimiter> {
        let wanted = per_minute.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
        // One limiter per tenant even when its first requests arrive together.
        let l = self.limiters.get_with(tenant_id.to_owned(), || {
            Arc::new(TenantLimiter::new(per_minute))
        });
        if l.per_minute == wanted {
            return l;
        }
        let fresh = Arc::new(TenantLimiter::new(per_minute));
        self.limiters
            .insert(tenant_id.to_owned(), Arc::clone(&fresh));
        fresh
    }

    pub(crate) fn check_rate(&self, tenant_id: &str, per_minute: Option<u64>) -> RateDecision {
        self.limiter(tenant_id, per_minute)
            .check(per_minute.is_none())
    }

    pub(crate) fn requests_this_minute(&self, tenant_id: &str) -> u64 {
        self.limiters
            .get(tenant_id)
            .map_or(0, |l| l.requests_this_minute())
    }
}
