//! [`Platform`]: the services over one control store and one tenant-database provider.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use objectos_spec::types::provisioning::{TenantPlan, TenantProvisioningStatus};
use objectos_spec::types::tenant::{QuotaEnforcementResult, TenantQuota, TenantUsage};
use objectos_spec::types::turso::TenantDatabaseLifecycle;
use objectos_store::{ControlStore, KeyRecord, KeyState, TenantChange, TenantRecord};
use objectos_tenantdb::TenantDatabases;
use serde_json::json;

use crate::cluster::{ClusterLink, ClusterMessage, Envelope};
use crate::error::{CoreError, CoreResult};
use crate::events::EventHub;
use crate::failpoints::Failpoints;
use crate::ids::{constant_time_eq, hash_secret, new_key, parse_key};
use crate::plans::PlanTable;
use crate::time::{now_ms, rfc3339};

/// Settings of the services.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    /// Where backups of destroyed tenants go.
    pub backup_dir: PathBuf,
    /// The plan → quota table.
    pub plans: PlanTable,
    /// What suspend and destroy do (`TenantDatabaseLifecycle`).
    pub lifecycle: TenantDatabaseLifecycle,
    /// How long a running step's lease lasts before another node may take it over; the running
    /// node renews it every third of this while the step runs.
    pub step_lease_ms: i64,
    /// This node's id: the owner of the step leases it takes. Stable across restarts of one data
    /// dir (the server keeps it in `<data-dir>/node-id`), so a restarted node ends its own dead
    /// leases at once instead of waiting for them to lapse.
    pub node_id: String,
    /// How long one step may run before it fails.
    pub step_timeout_ms: i64,
    /// The tenant router's cache settings.
    pub router: crate::data::RouterSettings,
}

/// How long a step lease lasts by default: a dead node's steps are taken over within this.
pub const DEFAULT_STEP_LEASE_MS: i64 = 10_000;

/// The lifecycle the spec's defaults describe.
pub fn default_lifecycle() -> TenantDatabaseLifecycle {
    use objectos_spec::types::turso::*;
    TenantDatabaseLifecycle {
        on_tenant_create: TenantDatabaseLifecycleOnTenantCreate {
            auto_create: true,
            group: None,
            apply_group_schema: true,
            seed_data: false,
        },
        on_tenant_delete: TenantDatabaseLifecycleOnTenantDelete {
            immediate: false,
            grace_period_hours: 72,
            create_backup: true,
        },
        on_tenant_suspend: TenantDatabaseLifecycleOnTenantSuspend {
            revoke_tokens: true,
            read_only: true,
        },
    }
}

impl PlatformConfig {
    /// Defaults with backups under `data_dir/backups`.
    pub fn new(data_dir: &std::path::Path) -> Self {
        Self {
            backup_dir: data_dir.join("backups"),
            plans: PlanTable::default(),
            lifecycle: default_lifecycle(),
            step_lease_ms: DEFAULT_STEP_LEASE_MS,
            node_id: crate::ids::new_node_id(),
            step_timeout_ms: 30_000,
            router: crate::data::RouterSettings::default(),
        }
    }
}

struct Inner<S, D> {
    store: S,
    dbs: D,
    config: PlatformConfig,
    events: EventHub,
    cluster: ClusterLink,
    failpoints: Failpoints,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    deploying: Arc<Mutex<std::collections::HashSet<String>>>,
    data: crate::data::runtime::DataRuntime,
}

/// The services. Cheap to clone (shared state behind an `Arc`).
pub struct Platform<S, D> {
    inner: Arc<Inner<S, D>>,
}

impl<S, D> Clone for Platform<S, D> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// Longest grace period before a destruction: ten years.
pub const MAX_GRACE_PERIOD_HOURS: u64 = 10 * 366 * 24;

/// Options of a destroy request; unset ones come from `lifecycle.onTenantDelete`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DestroyOptions {
    /// Destroy now instead of after the grace period.
    pub immediate: Option<bool>,
    /// Hours to wait before destroying.
    pub grace_period_hours: Option<u64>,
    /// Keep a backup of the database: a portable archive (`<tenant>-<time>.archive.json`).
    pub create_backup: Option<bool>,
}

/// What a destroy request did.
#[derive(Debug, Clone)]
pub enum Destroyed {
    /// The tenant and its database are gone; the backup file, if one was made.
    Now {
        /// Path of the backup.
        backup: Option<PathBuf>,
    },
    /// Keys are revoked; the database goes at `destroy_after_ms`.
    Scheduled(Box<TenantRecord>),
}

/// The scope of an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KeyScope {
    /// Read and write.
    #[serde(rename = "full-access")]
    FullAccess,
    /// Read only.
    #[serde(rename = "read-only")]
    ReadOnly,
}

impl KeyScope {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FullAccess => "full-access",
            Self::ReadOnly => "read-only",
        }
    }
}

/// A key that authenticated.
#[derive(Debug, Clone)]
pub struct KeyAuth {
    /// The key's record.
    pub key: KeyRecord,
    /// The effective scope now (a suspended tenant's full-access key may be read-only).
    pub scope: KeyScope,
}

impl<S: ControlStore, D: TenantDatabases> Platform<S, D> {
    /// Services over `store` and `dbs`.
    pub fn new(store: S, dbs: D, config: PlatformConfig) -> Self {
        let cluster = ClusterLink::default();
        Self {
            inner: Arc::new(Inner {
                store,
                dbs,
                events: EventHub::new(cluster.clone()),
                cluster,
                failpoints: Failpoints::default(),
                locks: Mutex::new(HashMap::new()),
                deploying: Arc::default(),
                data: crate::data::runtime::DataRuntime::new(config.router),
                config,
            }),
        }
    }

    /// The control store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The tenant database provider.
    pub fn dbs(&self) -> &D {
        &self.inner.dbs
    }

    /// The settings.
    pub fn config(&self) -> &PlatformConfig {
        &self.inner.config
    }

    /// This node's id (the owner of its step leases).
    pub fn node_id(&self) -> &str {
        &self.inner.config.node_id
    }

    /// The link to the other nodes serving this control store.
    pub fn cluster(&self) -> &ClusterLink {
        &self.inner.cluster
    }

    /// Applies what another node said: drops this node's caches or wakes its event streams.
    /// Messages this node sent itself are ignored.
    pub async fn apply_cluster_message(&self, envelope: Envelope) {
        if envelope.node == self.node_id() {
            return;
        }
        match envelope.message {
            ClusterMessage::Invalidate { tenant } => self.invalidate_tenant_locally(&tenant).await,
            ClusterMessage::Keys => self.forget_keys_locally(),
            ClusterMessage::Events { tenant } => self.events().notify_local(&tenant),
        }
    }

    /// Drops every cache of this node: after a gap in the messages from other nodes (a lost
    /// connection), nothing cached can be trusted to be current.
    pub async fn forget_everything_locally(&self) {
        let runtime = self.data_runtime();
        runtime.bump_generation();
        runtime.handles.invalidate_all();
        runtime.keys.invalidate_all();
    }

    /// Forgets cached key authentications here and on the other nodes (a key was revoked).
    pub(crate) fn forget_keys(&self) {
        self.forget_keys_locally();
        self.cluster().publish(ClusterMessage::Keys);
    }

    fn forget_keys_locally(&self) {
        self.data_runtime().bump_generation();
        self.data_runtime().keys.invalidate_all();
    }

    /// Change notifications.
    pub fn events(&self) -> &EventHub {
        &self.inner.events
    }

    /// The tenant router's caches.
    pub(crate) fn data_runtime(&self) -> &crate::data::runtime::DataRuntime {
        &self.inner.data
    }

    /// Failure injection (inert unless built with the `failpoints` feature).
    pub fn failpoints(&self) -> &Failpoints {
        &self.inner.failpoints
    }

    /// Serialises work on one tenant (pipeline runs and lifecycle changes).
    pub(crate) async fn tenant_lock(&self, tenant_id: &str) -> TenantGuard {
        let lock = {
            let mut locks = self.inner.locks.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(locks.entry(tenant_id.to_owned()).or_default())
        };
        let guard = lock.clone().lock_owned().await;
        TenantGuard {
            _guard: guard,
            lock,
            id: tenant_id.to_owned(),
            locks: Arc::clone(&self.inner) as Arc<dyn LockTable>,
        }
    }

    /// Marks a deployment of `tenant_id` as running; `None` when one already is (try-lock: never
    /// waits). The mark is removed when the guard is dropped.
    /// Whether a deployment of the tenant holds its mark (a look only: the mark is not taken).
    pub(crate) fn deployment_running(&self, tenant_id: &str) -> bool {
        self.inner
            .deploying
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(tenant_id)
    }

    pub(crate) fn try_deploy_lock(&self, tenant_id: &str) -> Option<DeployGuard> {
        let mut set = self
            .inner
            .deploying
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !set.insert(tenant_id.to_owned()) {
            return None;
        }
        Some(DeployGuard {
            set: Arc::clone(&self.inner.deploying),
            id: tenant_id.to_owned(),
        })
    }

    /// Takes the tenant's lock for `action`, refusing at once (409) when the tenant's status is
    /// not one of `allowed` — so a request never queues behind a running pipeline only to be
    /// applied to a tenant in a state it was not asked for. The caller's transition re-checks.
    async fn lock_when(
        &self,
        tenant_id: &str,
        action: &str,
        allowed: &[TenantProvisioningStatus],
    ) -> CoreResult<TenantGuard> {
        let refuse = |status: TenantProvisioningStatus| {
            let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
            CoreError::invalid_transition(action, tenant_id, status.as_str(), &names)
        };
        let tenant = self.require_tenant(tenant_id).await?;
        if !allowed.contains(&tenant.status) {
            return Err(refuse(tenant.status));
        }
        let guard = self.tenant_lock(tenant_id).await;
        let tenant = self.require_tenant(tenant_id).await?;
        if !allowed.contains(&tenant.status) {
            return Err(refuse(tenant.status));
        }
        Ok(guard)
    }

    /// What suspension does to keys, per `lifecycle.onTenantSuspend`: refused when tokens are
    /// revoked, else read-only when asked, else unchanged.
    fn suspended_key_state(&self) -> KeyState {
        let policy = &self.config().lifecycle.on_tenant_suspend;
        if policy.revoke_tokens {
            KeyState::Suspended
        } else if policy.read_only {
            KeyState::ReadOnly
        } else {
            KeyState::Active
        }
    }

    /// A tenant, or `NotFound`.
    pub async fn require_tenant(&self, tenant_id: &str) -> CoreResult<TenantRecord> {
        self.store()
            .tenant(tenant_id)
            .await?
            .ok_or_else(|| CoreError::NotFound {
                what: "tenant",
                id: tenant_id.to_owned(),
            })
    }

    /// Suspends an active tenant; keys are refused or made read-only per `onTenantSuspend`.
    pub async fn suspend(&self, tenant_id: &str) -> CoreResult<TenantRecord> {
        self.set_suspended(tenant_id, true).await
    }

    /// Resumes a suspended tenant and restores its keys.
    pub async fn resume(&self, tenant_id: &str) -> CoreResult<TenantRecord> {
        self.set_suspended(tenant_id, false).await
    }

    /// Suspend (`true`) or resume (`false`): the status moves, then the keys follow.
    async fn set_suspended(&self, tenant_id: &str, suspend: bool) -> CoreResult<TenantRecord> {
        use TenantProvisioningStatus::{Active, Suspended};
        let (action, from, to, keys) = if suspend {
            ("suspend", Active, Suspended, self.suspended_key_state())
        } else {
            ("resume", Suspended, Active, KeyState::Active)
        };
        let _guard = self.lock_when(tenant_id, action, &[from]).await?;
        let tenant = self
            .move_status(tenant_id, action, &[from], to, TenantChange::default())
            .await?;
        self.store().set_keys_state(tenant_id, keys).await?;
        self.invalidate_tenant(tenant_id).await;
        Ok(tenant)
    }

    async fn move_status(
        &self,
        tenant_id: &str,
        action: &str,
        from: &[TenantProvisioningStatus],
        to: TenantProvisioningStatus,
        change: TenantChange,
    ) -> CoreResult<TenantRecord> {
        match self.store().transition(tenant_id, from, to, change).await? {
            None => Err(CoreError::NotFound {
                what: "tenant",
                id: tenant_id.to_owned(),
            }),
            Some((tenant, true)) => {
                self.events().notify(tenant_id);
                self.invalidate_tenant(tenant_id).await;
                Ok(tenant)
            }
            Some((tenant, false)) => {
                let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
                Err(CoreError::invalid_transition(
                    action,
                    tenant_id,
                    tenant.status.as_str(),
                    &allowed,
                ))
            }
        }
    }

    /// Destroys a tenant: keys are revoked at once; the database (after an optional backup) and
    /// every record go now, or after the grace period.
    pub async fn destroy(&self, tenant_id: &str, options: DestroyOptions) -> CoreResult<Destroyed> {
        let policy = &self.config().lifecycle.on_tenant_delete;
        let immediate = options.immediate.unwrap_or(policy.immediate);
        let grace_hours = options
            .grace_period_hours
            .unwrap_or(policy.grace_period_hours);
        if grace_hours > MAX_GRACE_PERIOD_HOURS {
            let issue = objectos_spec::Issue::new(
                objectos_spec::JsonPath::root().key("gracePeriodHours"),
                objectos_spec::IssueCode::TooBig,
                format!("gracePeriodHours must be at most {MAX_GRACE_PERIOD_HOURS} (10 years), received {grace_hours}"),
            );
            return Err(CoreError::Invalid(objectos_spec::ValidationError::new(
                vec![issue],
            )));
        }
        let backup = options.create_backup.unwrap_or(policy.create_backup);
        let now = now_ms();
        let due = if immediate || grace_hours == 0 {
            now
        } else {
            now.saturating_add(
                i64::try_from(grace_hours)
                    .unwrap_or(i64::MAX / 3_600_000)
                    .saturating_mul(3_600_000),
            )
        };
        {
            let _guard = self.tenant_lock(tenant_id).await;
            let tenant = self.require_tenant(tenant_id).await?;
            if tenant.status == TenantProvisioningStatus::Destroying && due > now {
                return Err(CoreError::invalid_transition(
                    "destroy",
                    tenant_id,
                    "destroying",
                    &[
                        "provisioning",
                        "active",
                        "suspended",
                        "failed",
                        "destroying (immediately)",
                    ],
                ));
            }
            let all = TenantProvisioningStatus::ALL;
            let change = TenantChange {
                destroy_after_ms: Some(Some(due)),
                ..TenantChange::default()
            };
            self.move_status(
                tenant_id,
                "destroy",
                all,
                TenantProvisioningStatus::Destroying,
                change,
            )
            .await?;
            for key in self.store().keys(tenant_id).await? {
                self.store().revoke_key(tenant_id, &key.key_id, now).await?;
                self.forget_keys();
            }
            // Remember the backup choice for a scheduled destruction.
            self.store()
                .set_setting(
                    &format!("destroy_backup:{tenant_id}"),
                    if backup { "1" } else { "0" },
                )
                .await?;
        }
        if due <= now {
            let backup = self.finish_destroy(tenant_id).await?;
            Ok(Destroyed::Now { backup })
        } else {
            Ok(Destroyed::Scheduled(Box::new(
                self.require_tenant(tenant_id).await?,
            )))
        }
    }

    /// Backs up (if asked), deletes the database, then every record of the tenant.
    async fn finish_destroy(&self, tenant_id: &str) -> CoreResult<Option<PathBuf>> {
        let _guard = self.tenant_lock(tenant_id).await;
        let wants_backup = self
            .store()
            .setting(&format!("destroy_backup:{tenant_id}"))
            .await?
            .is_none_or(|v| v == "1");
        let mut backup = None;
        if wants_backup && self.dbs().exists(tenant_id).await? {
            // A portable archive (`objectos-archive/1`), restorable on any provider.
            let tenant = self.require_tenant(tenant_id).await?;
            let archive = self.export_locked(&tenant).await?;
            let name = format!(
                "{tenant_id}-{}.archive.json",
                rfc3339(now_ms()).replace([':', '.'], "-")
            );
            let path = self.config().backup_dir.join(name);
            crate::archive::write_archive_file(&archive, &path).await?;
            backup = Some(path);
        }
        // The file goes first: a crash here leaves the tenant `destroying`, finished at start-up.
        self.dbs().delete(tenant_id).await?;
        if let Err(message) = self
            .failpoints()
            .check(crate::failpoints::DESTROY_DATABASE_DELETED)
            .await
        {
            return Err(objectos_tenantdb::TenantDbError::Worker(message).into());
        }
        self.store().delete_tenant(tenant_id).await?;
        self.store()
            .delete_setting(&format!("destroy_backup:{tenant_id}"))
            .await?;
        self.events().notify(tenant_id);
        self.invalidate_tenant(tenant_id).await;
        match &backup {
            Some(path) => {
                tracing::info!(tenant = %tenant_id, backup = %path.display(), "tenant destroyed");
            }
            None => tracing::info!(tenant = %tenant_id, backup = %"none", "tenant destroyed"),
        }
        Ok(backup)
    }

    /// Finishes every destruction whose grace period is over; returns how many.
    pub async fn reap_due_destructions(&self) -> CoreResult<usize> {
        let now = now_ms();
        let due: Vec<TenantRecord> = self
            .store()
            .tenants_with_status(&[TenantProvisioningStatus::Destroying])
            .await?
            .into_iter()
            .filter(|t| t.destroy_after_ms.is_none_or(|at| at <= now))
            .collect();
        for tenant in &due {
            self.finish_destroy(&tenant.id).await?;
        }
        Ok(due.len())
    }

    /// Tenant databases present while the control store has no tenant at all: the sign of a
    /// lost, emptied or replaced control store, not of orphans. Empty when the control store has
    /// tenants, or when there are no databases. A server must not start on such a pair (see
    /// `docs/decisions/0011-never-delete-on-inference.md`).
    pub async fn databases_without_a_control_store(&self) -> CoreResult<Vec<String>> {
        let tenants = self
            .store()
            .list_tenants(objectos_store::TenantFilter {
                limit: 1,
                ..Default::default()
            })
            .await?;
        if tenants.total > 0 {
            return Ok(Vec::new());
        }
        Ok(self.dbs().list().await?)
    }

    /// Sets aside the databases that belong to no tenant (a crash between creating a database and
    /// recording it, an interrupted restore, a copy named like a tenant). Nothing is deleted: an
    /// orphan is an inference, and an inference is no reason to destroy data. The `sqlite`
    /// provider moves them to `tenants/quarantine/`; the others keep them in place. Refuses (and
    /// touches nothing) when the control store has no tenant at all. Returns how many.
    pub(crate) async fn set_aside_orphan_databases(&self) -> CoreResult<usize> {
        let lost = self.databases_without_a_control_store().await?;
        if !lost.is_empty() {
            return Err(CoreError::Unavailable {
                code: "control_store_empty",
                message: format!(
                    "the control store has no tenants but {} tenant database(s) exist ({}); \
                     refusing to treat them as orphans",
                    lost.len(),
                    lost.join(", ")
                ),
                retry_after_secs: 0,
            });
        }
        let mut set_aside = 0;
        for id in self.dbs().list().await? {
            if self.store().tenant(&id).await?.is_some() {
                continue;
            }
            match self.dbs().set_aside(&id).await? {
                Some(moved_to) => tracing::warn!(
                    tenant = %id,
                    moved_to = %moved_to.display(),
                    "tenant database belongs to no tenant: moved to quarantine (not deleted)"
                ),
                None => tracing::warn!(
                    tenant = %id,
                    url = %self.dbs().connection_url(&id),
                    "tenant database belongs to no tenant: kept in place (not deleted)"
                ),
            }
            set_aside += 1;
        }
        Ok(set_aside)
    }

    /// The current usage of a tenant.
    pub async fn usage(&self, tenant_id: &str) -> CoreResult<TenantUsage> {
        let now = now_ms();
        let counts = self.db_usage(tenant_id, now).await?;
        Ok(TenantUsage {
            current_object_count: counts.objects,
            current_record_count: counts.records,
            current_storage_bytes: counts.storage_bytes,
            deployments_today: counts.deployments_today,
            current_users: 0,
            api_requests_this_minute: self.api_requests_this_minute(tenant_id),
            last_updated_at: Some(rfc3339(now)),
        })
    }

    /// What a tenant's database holds (zero when it has none yet).
    async fn db_usage(&self, tenant_id: &str, now: i64) -> CoreResult<objectos_tenantdb::DbUsage> {
        let tenant = self.require_tenant(tenant_id).await?;
        if !self.dbs().exists(&tenant.id).await? {
            return Ok(objectos_tenantdb::DbUsage::default());
        }
        let usage = self
            .dbs()
            .usage(&tenant.id, &crate::time::utc_day(now))
            .await;
        self.explain_missing(&tenant.id, usage).await
    }

    /// [`TenantDatabases::with_session`] for a request on a tenant's database, with a database
    /// found missing explained (see [`Platform::explain_missing`]).
    pub(crate) async fn tenant_session<T, F>(&self, tenant_id: &str, f: F) -> CoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn objectos_tenantdb::Session) -> objectos_tenantdb::TenantDbResult<T>
            + Send
            + 'static,
    {
        let result = self.dbs().with_session(tenant_id, f).await;
        self.explain_missing(tenant_id, result).await
    }

    /// A request's tenant database result, with a missing database explained by the tenant's
    /// state: only a destroy removes a tenant's database, so a request that finds it gone raced
    /// one, and gets what a request arriving a moment later gets — 409 `tenant_destroying` while
    /// the tenant is being destroyed, 404 `tenant_not_found` once it is gone — never a 500. A
    /// database missing for a tenant in any other state is a real fault and stays an error.
    pub(crate) async fn explain_missing<T>(
        &self,
        tenant_id: &str,
        result: objectos_tenantdb::TenantDbResult<T>,
    ) -> CoreResult<T> {
        let error = match result {
            Ok(value) => return Ok(value),
            Err(e @ objectos_tenantdb::TenantDbError::Missing(_)) => e,
            Err(e) => return Err(e.into()),
        };
        Err(match self.store().tenant(tenant_id).await {
            Ok(None) => CoreError::NotFound {
                what: "tenant",
                id: tenant_id.to_owned(),
            },
            Ok(Some(t)) if t.status == TenantProvisioningStatus::Destroying => {
                CoreError::Conflict {
                    code: "tenant_destroying",
                    message: format!("tenant {tenant_id} is being destroyed"),
                    details: json!({"tenantId": tenant_id, "status": "destroying"}),
                }
            }
            _ => error.into(),
        })
    }

    /// The quotas of a tenant's plan.
    pub async fn quota(&self, tenant_id: &str) -> CoreResult<TenantQuota> {
        let tenant = self.require_tenant(tenant_id).await?;
        Ok(self.config().plans.quota(tenant.plan).clone())
    }

    /// Moves a tenant to another plan, refused when current usage exceeds the new plan's quotas.
    pub async fn change_plan(&self, tenant_id: &str, plan: TenantPlan) -> CoreResult<TenantRecord> {
        let _guard = self
            .lock_when(
                tenant_id,
                "change the plan of",
                &[
                    TenantProvisioningStatus::Active,
                    TenantProvisioningStatus::Suspended,
                ],
            )
            .await?;
        let tenant = self.require_tenant(tenant_id).await?;
        let allowed = [
            TenantProvisioningStatus::Active,
            TenantProvisioningStatus::Suspended,
        ];
        if !allowed.contains(&tenant.status) {
            return Err(CoreError::invalid_transition(
                "change the plan of",
                tenant_id,
                tenant.status.as_str(),
                &["active", "suspended"],
            ));
        }
        if tenant.plan == plan {
            return Ok(tenant);
        }
        let usage = self.db_usage(tenant_id, now_ms()).await?;
        let quota = self.config().plans.quota(plan);
        // Rate-style limits (API requests per minute, deployments per day) reset by themselves
        // and do not block a plan change; users are not tracked yet.
        let checks = [
            ("maxObjects", usage.objects, quota.max_objects),
            (
                "maxStorageBytes",
                usage.storage_bytes,
                quota.max_storage_bytes,
            ),
            (
                "maxRecordsPerObject",
                usage.largest_object_records,
                quota.max_records_per_object,
            ),
        ];
        let exceeded: Vec<_> = checks
            .iter()
            .filter_map(|&(name, used, limit)| limit.filter(|l| used > *l).map(|l| (name, used, l)))
            .collect();
        if let Some(&(name, used, limit)) = exceeded.first() {
            let all: Vec<String> = exceeded
                .iter()
                .map(|(n, u, l)| format!("{n}: usage {u} > limit {l}"))
                .collect();
            return Err(CoreError::QuotaExceeded(Box::new(QuotaEnforcementResult {
                allowed: false,
                exceeded_quota: Some(name.to_owned()),
                current_usage: Some(used as f64),
                limit: Some(limit as f64),
                message: Some(format!(
                    "plan '{}' is too small for tenant {tenant_id}: {}",
                    plan.as_str(),
                    all.join("; ")
                )),
            })));
        }
        let updated = self
            .store()
            .set_plan(tenant_id, plan)
            .await?
            .ok_or_else(|| CoreError::NotFound {
                what: "tenant",
                id: tenant_id.to_owned(),
            })?;
        self.events().notify(tenant_id);
        self.invalidate_tenant(tenant_id).await;
        Ok(updated)
    }

    /// Creates an API key for a tenant; returns its record and the plaintext (shown once).
    pub async fn create_key(
        &self,
        tenant_id: &str,
        scope: KeyScope,
        expires_in_secs: Option<u64>,
    ) -> CoreResult<(KeyRecord, String)> {
        let tenant = self.require_tenant(tenant_id).await?;
        let allowed = [
            TenantProvisioningStatus::Active,
            TenantProvisioningStatus::Suspended,
        ];
        if !allowed.contains(&tenant.status) {
            return Err(CoreError::invalid_transition(
                "create a key for",
                tenant_id,
                tenant.status.as_str(),
                &["active", "suspended"],
            ));
        }
        let now = now_ms();
        let key = new_key(tenant_id);
        let state = if tenant.status == TenantProvisioningStatus::Suspended {
            self.suspended_key_state()
        } else {
            KeyState::Active
        };
        let record = KeyRecord {
            key_id: key.key_id,
            tenant_id: tenant_id.to_owned(),
            scope: scope.as_str().to_owned(),
            hash: key.hash,
            created_at_ms: now,
            expires_at_ms: expires_in_secs.map(|s| {
                now.saturating_add(
                    i64::try_from(s)
                        .unwrap_or(i64::MAX / 1000)
                        .saturating_mul(1000),
                )
            }),
            revoked_at_ms: None,
            state,
        };
        self.store().insert_key(record.clone()).await?;
        Ok((record, key.plaintext))
    }

    /// The keys of a tenant (metadata only).
    pub async fn list_keys(&self, tenant_id: &str) -> CoreResult<Vec<KeyRecord>> {
        self.require_tenant(tenant_id).await?;
        Ok(self.store().keys(tenant_id).await?)
    }

    /// Revokes a key of a tenant.
    pub async fn revoke_key(&self, tenant_id: &str, key_id: &str) -> CoreResult<KeyRecord> {
        self.require_tenant(tenant_id).await?;
        let revoked = self.store().revoke_key(tenant_id, key_id, now_ms()).await?;
        self.forget_keys();
        if !revoked {
            return Err(CoreError::NotFound {
                what: "key",
                id: key_id.to_owned(),
            });
        }
        self.store()
            .key(key_id)
            .await?
            .ok_or_else(|| CoreError::NotFound {
                what: "key",
                id: key_id.to_owned(),
            })
    }

    /// Checks a presented tenant key: shape, hash, revocation, expiry and suspension.
    pub async fn authenticate_key(&self, presented: &str) -> CoreResult<KeyAuth> {
        let unauthorized = |code, message: &str| CoreError::Unauthorized {
            code,
            message: message.to_owned(),
        };
        let parts = parse_key(presented)
            .ok_or_else(|| unauthorized("unauthorized", "malformed API key"))?;
        let key = self
            .store()
            .key(parts.key_id)
            .await?
            .filter(|k| {
                k.tenant_id == parts.tenant_id && constant_time_eq(&k.hash, &hash_secret(presented))
            })
            .ok_or_else(|| unauthorized("unauthorized", "unknown API key"))?;
        if key.revoked_at_ms.is_some() {
            return Err(unauthorized("key_revoked", "this API key has been revoked"));
        }
        if key.expires_at_ms.is_some_and(|at| at <= now_ms()) {
            return Err(unauthorized("key_expired", "this API key has expired"));
        }
        let scope = match (key.state, key.scope.as_str()) {
            (KeyState::Suspended, _) => {
                return Err(CoreError::Forbidden {
                    code: "tenant_suspended",
                    message: format!("tenant {} is suspended", key.tenant_id),
                })
            }
            (KeyState::ReadOnly, _) | (KeyState::Active, "read-only") => KeyScope::ReadOnly,
            (KeyState::Active, _) => KeyScope::FullAccess,
        };
        Ok(KeyAuth { key, scope })
    }

    /// The tenant's history and a snapshot, for the events stream.
    pub async fn tenant_events(
        &self,
        tenant_id: &str,
        after_seq: i64,
    ) -> CoreResult<Vec<objectos_store::EventRecord>> {
        Ok(self.store().events(tenant_id, after_seq).await?)
    }
}

/// Key metadata as the API shows it (never the hash).
pub fn key_view(key: &KeyRecord) -> serde_json::Value {
    let now = now_ms();
    let status = if key.revoked_at_ms.is_some() {
        "revoked"
    } else if key.expires_at_ms.is_some_and(|at| at <= now) {
        "expired"
    } else {
        match key.state {
            KeyState::Active => "active",
            KeyState::Suspended => "suspended",
            KeyState::ReadOnly => "read_only",
        }
    };
    json!({
        "keyId": key.key_id,
        "tenantId": key.tenant_id,
        "scope": key.scope,
        "status": status,
        "createdAt": rfc3339(key.created_at_ms),
        "expiresAt": key.expires_at_ms.map(rfc3339),
        "revokedAt": key.revoked_at_ms.map(rfc3339),
    })
}

/// Removes a tenant's lock entry once nobody holds or waits for it.
trait LockTable: Send + Sync {
    fn release(&self, id: &str, lock: &Arc<tokio::sync::Mutex<()>>);
}

impl<S: Send + Sync, D: Send + Sync> LockTable for Inner<S, D> {
    fn release(&self, id: &str, lock: &Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        // Held by the map, by this guard's `lock` and by the guard itself: nobody else is waiting.
        if Arc::strong_count(lock) <= 3 {
            locks.remove(id);
        }
    }
}

/// Holds a tenant's lock; releases the table entry when the last user is done.
pub(crate) struct TenantGuard {
    _guard: tokio::sync::OwnedMutexGuard<()>,
    lock: Arc<tokio::sync::Mutex<()>>,
    id: String,
    locks: Arc<dyn LockTable>,
}

impl Drop for TenantGuard {
    fn drop(&mut self) {
        self.locks.release(&self.id, &self.lock);
    }
}

/// Marks one tenant's deployment as running; see [`Platform::try_deploy_lock`].
pub(crate) struct DeployGuard {
    set: Arc<Mutex<std::collections::HashSet<String>>>,
    id: String,
}

impl Drop for DeployGuard {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}
