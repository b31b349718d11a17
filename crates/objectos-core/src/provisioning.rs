//! The provisioning pipeline: `create_database → sync_schema → apply_seed_data →
//! generate_api_keys → activate`, each step persisted, idempotent and resumable.

use std::time::Duration;

use objectos_spec::types::provisioning::{
    ProvisioningStep, ProvisioningStepStatus, TenantProvisioningRequest, TenantProvisioningResult,
    TenantProvisioningStatus,
};
use objectos_store::{
    ClaimedStep, ControlStore, FinishedStep, KeyRecord, KeyState, NewTenant, StepRecord,
    StoreError, TenantChange, TenantRecord, STEP_NAMES,
};
use objectos_tenantdb::TenantDatabases;
use serde_json::{json, Value};

use crate::error::{CoreError, CoreResult};
use crate::ids::{new_key, tenant_id_for_org};
use crate::platform::Platform;
use crate::time::{now_ms, rfc3339};

/// The one-time credentials returned when a tenant is created.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    /// The key's id.
    pub key_id: String,
    /// The whole key; shown once, stored only as a hash.
    pub api_key: String,
    /// `full-access`.
    pub scope: &'static str,
}

/// The outcome of a provisioning request.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The tenant as it stands after the request.
    pub tenant: TenantRecord,
    /// Its steps.
    pub steps: Vec<StepRecord>,
    /// True when this request created the tenant (201); false for a repeat (200).
    pub created: bool,
    /// The first key, only on creation.
    pub credentials: Option<Credentials>,
}

/// Builds the protocol's result from stored records (steps carry only the fields its schema allows).
pub fn provisioning_result(
    tenant: &TenantRecord,
    steps: &[StepRecord],
) -> TenantProvisioningResult {
    let total = steps.iter().filter_map(|s| s.duration_ms).sum::<i64>();
    TenantProvisioningResult {
        tenant_id: tenant.id.clone(),
        connection_url: tenant.connection_url.clone(),
        status: tenant.status,
        region: tenant.region,
        plan: tenant.plan,
        steps: steps.iter().map(protocol_step).collect(),
        total_duration_ms: steps
            .iter()
            .any(|s| s.duration_ms.is_some())
            .then(|| u64::try_from(total).unwrap_or(0)),
        provisioned_at: tenant.provisioned_at_ms.map(rfc3339),
        error: tenant.error.clone(),
    }
}

fn protocol_step(step: &StepRecord) -> ProvisioningStep {
    ProvisioningStep {
        name: step.name.clone(),
        status: step.status,
        started_at: step.started_at_ms.map(rfc3339),
        completed_at: step.completed_at_ms.map(rfc3339),
        duration_ms: step.duration_ms.map(|d| u64::try_from(d).unwrap_or(0)),
        error: step.error.clone(),
    }
}

/// The request fields a repeat must match, as `(name, stored, requested)`.
fn differences(tenant: &TenantRecord, request: &TenantProvisioningRequest) -> Vec<Value> {
    let metadata = request.metadata.as_ref().map(|m| Value::Object(m.clone()));
    let stored_metadata = tenant
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str::<Value>(m).ok());
    let pairs = [
        ("plan", json!(tenant.plan), json!(request.plan)),
        ("region", json!(tenant.region), json!(request.region)),
        (
            "displayName",
            json!(tenant.display_name),
            json!(request.display_name),
        ),
        (
            "adminEmail",
            json!(tenant.admin_email),
            json!(request.admin_email),
        ),
        ("metadata", json!(stored_metadata), json!(metadata)),
    ];
    pairs
        .into_iter()
        .filter(|(_, stored, requested)| stored != requested)
        .map(|(field, stored, requested)| json!({"field": field, "existing": stored, "requested": requested}))
        .collect()
}

impl<S: ControlStore, D: TenantDatabases> Platform<S, D> {
    /// Provisions a tenant for `request`, idempotently keyed by `orgId`.
    ///
    /// - first request: creates the tenant and its pending steps, runs the pipeline (awaited when
    ///   `wait`, else in the background) and returns the one-time credentials;
    /// - a repeat of the same request: the same tenant, no credentials (awaiting an in-flight
    ///   pipeline when `wait`);
    /// - same org, different plan/region/...: 409 naming the differing fields.
    pub async fn provision(
        &self,
        request: TenantProvisioningRequest,
        wait: bool,
    ) -> CoreResult<Provisioned> {
        let tenant_id = tenant_id_for_org(&request.org_id);
        let key = new_key(&tenant_id);
        let new = NewTenant {
            id: tenant_id.clone(),
            org_id: request.org_id.clone(),
            display_name: request.display_name.clone(),
            admin_email: request.admin_email.clone(),
            plan: request.plan,
            region: request.region,
            metadata: request
                .metadata
                .as_ref()
                .map(|m| Value::Object(m.clone()).to_string()),
            provider: self.dbs().provider().to_owned(),
            connection_url: self.dbs().connection_url(&tenant_id),
            initial_key_id: key.key_id.clone(),
            initial_key_hash: key.hash.clone(),
            has_seed: crate::seed::seed_of(request.metadata.as_ref()).is_some(),
            now_ms: now_ms(),
        };
        let (tenant, created) = match self.store().create_tenant(new).await {
            Ok(pair) => pair,
            Err(StoreError::TenantIdTaken { tenant_id, org_id }) => {
                return Err(CoreError::Conflict {
                    code: "tenant_id_taken",
                    message: format!("tenant id {tenant_id} (derived from orgId) already belongs to organization {org_id}"),
                    details: json!({"tenantId": tenant_id}),
                })
            }
            Err(e) => return Err(e.into()),
        };
        if !created && tenant.status == TenantProvisioningStatus::Destroying {
            return Err(CoreError::Conflict {
                code: "tenant_destroying",
                message: format!(
                    "organization {} has tenant {} being destroyed; provision again once it is gone",
                    request.org_id, tenant.id
                ),
                details: json!({"tenantId": tenant.id, "currentStatus": "destroying"}),
            });
        }
        if !created {
            let diff = differences(&tenant, &request);
            if !diff.is_empty() {
                let fields: Vec<&str> = diff.iter().filter_map(|d| d["field"].as_str()).collect();
                return Err(CoreError::Conflict {
                    code: "org_conflict",
                    message: format!(
                        "organization {} already has tenant {} with different {}",
                        request.org_id,
                        tenant.id,
                        fields.join(", ")
                    ),
                    details: json!({"tenantId": tenant.id, "differences": diff}),
                });
            }
        }
        self.events().notify(&tenant.id);
        metrics::counter!("objectos_provision_requests_total", "created" => created.to_string())
            .increment(1);

        let tenant = if wait {
            self.run_pipeline(&tenant.id).await?
        } else {
            if created {
                let this = self.clone();
                let id = tenant.id.clone();
                tokio::spawn(async move {
                    if let Err(e) = this.run_pipeline(&id).await {
                        tracing::error!(tenant = %id, error = %e, "provisioning failed to run");
                    }
                });
            }
            tenant
        };
        let steps = self.store().steps(&tenant.id).await?;
        Ok(Provisioned {
            credentials: created.then_some(Credentials {
                key_id: key.key_id,
                api_key: key.plaintext,
                scope: "full-access",
            }),
            tenant,
            steps,
            created,
        })
    }

    /// Runs (or resumes) a tenant's pipeline to its end: every unfinished step in order; a step
    /// whose lease is still held by a crashed run is waited for and then taken over. Returns the
    /// tenant afterwards (`active`, or `failed` with the step's error).
    pub async fn run_pipeline(&self, tenant_id: &str) -> CoreResult<TenantRecord> {
        let _guard = self.tenant_lock(tenant_id).await;
        let tenant = self.require_tenant(tenant_id).await?;
        if tenant.status != TenantProvisioningStatus::Provisioning {
            return Ok(tenant);
        }
        let lease_ms = self.config().step_lease_ms;
        // A claim made together with finishing the previous step (one round trip fewer per step).
        let mut preclaimed: Option<ClaimedStep> = None;
        for (index, &name) in STEP_NAMES.iter().enumerate() {
            let claimed = match preclaimed.take() {
                Some(claim) if claim.step.name == name => Some(claim),
                _ => self.claim_or_wait(tenant_id, name, lease_ms).await?,
            };
            // Completed or skipped by an earlier run: never redone.
            let Some(claimed) = claimed else { continue };
            if claimed.retry {
                metrics::counter!("objectos_provision_step_retries_total", "step" => name)
                    .increment(1);
            }
            self.events().notify(tenant_id);
            let started = std::time::Instant::now();
            let outcome = self
                .renewing_lease(tenant_id, name, lease_ms, self.execute_step(&tenant, name))
                .await;
            let micros = i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX);
            let (status, error) = match outcome {
                Ok(status) => (status, None),
                Err(message) => (ProvisioningStepStatus::Failed, Some(message)),
            };
            let finished = FinishedStep {
                name: name.to_owned(),
                status,
                error: error.clone(),
                now_ms: now_ms(),
                duration_us: Some(micros),
            };
            match (STEP_NAMES.get(index + 1), &error) {
                (Some(next), None) => {
                    let (_, next_claim) = self
                        .store()
                        .finish_and_claim(tenant_id, finished, next, self.node_id(), lease_ms)
                        .await?;
                    preclaimed = next_claim;
                }
                _ => {
                    self.store()
                        .finish_step(
                            tenant_id,
                            name,
                            status,
                            error.clone(),
                            finished.now_ms,
                            Some(micros),
                        )
                        .await?;
                }
            }
            metrics::histogram!("objectos_provision_step_seconds", "step" => name)
                .record(micros as f64 / 1e6);
            self.events().notify(tenant_id);
            if let Some(message) = error {
                let change = TenantChange {
                    error: Some(Some(format!("{name}: {message}"))),
                    ..TenantChange::default()
                };
                let failed = self
                    .store()
                    .transition(
                        tenant_id,
                        &[TenantProvisioningStatus::Provisioning],
                        TenantProvisioningStatus::Failed,
                        change,
                    )
                    .await?;
                self.events().notify(tenant_id);
                tracing::warn!(tenant = %tenant_id, step = name, error = %message, "provisioning step failed");
                return match failed {
                    Some((t, _)) => Ok(t),
                    None => Err(CoreError::NotFound {
                        what: "tenant",
                        id: tenant_id.to_owned(),
                    }),
                };
            }
        }
        let change = TenantChange {
            error: Some(None),
            provisioned_at_ms: Some(now_ms()),
            ..TenantChange::default()
        };
        let done = self
            .store()
            .transition(
                tenant_id,
                &[TenantProvisioningStatus::Provisioning],
                TenantProvisioningStatus::Active,
                change,
            )
            .await?;
        self.events().notify(tenant_id);
        match done {
            Some((tenant, _)) => Ok(tenant),
            None => Err(CoreError::NotFound {
                what: "tenant",
                id: tenant_id.to_owned(),
            }),
        }
    }

    /// Claims a step to run; `None` when it is already completed or skipped. A step still
    /// running under a crashed run's lease is waited for, then taken over.
    async fn claim_or_wait(
        &self,
        tenant_id: &str,
        name: &str,
        lease_ms: i64,
    ) -> CoreResult<Option<ClaimedStep>> {
        loop {
            if let Some(claimed) = self
                .store()
                .claim_step(tenant_id, name, self.node_id(), lease_ms)
                .await?
            {
                return Ok(Some(claimed));
            }
            let now = now_ms();
            let steps = self.store().steps(tenant_id).await?;
            let Some(step) = steps.iter().find(|s| s.name == name) else {
                return Err(CoreError::NotFound {
                    what: "step",
                    id: format!("{tenant_id}/{name}"),
                });
            };
            match (step.status, step.lease_expires_at_ms) {
                (ProvisioningStepStatus::Running, Some(lease)) => {
                    // The store's clock decides expiry; ours may differ, so wait at most a lease
                    // and claim again.
                    let wait = u64::try_from((lease - now).clamp(0, lease_ms)).unwrap_or(0) + 5;
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                _ => return Ok(None),
            }
        }
    }

    /// Runs `work` (a claimed step) while renewing its lease every third of `lease_ms`, so a step
    /// that runs longer than a lease is not taken over by another node while this one is alive.
    async fn renewing_lease<T>(
        &self,
        tenant_id: &str,
        step: &str,
        lease_ms: i64,
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let every = Duration::from_millis(u64::try_from(lease_ms / 3).unwrap_or(0).max(10));
        tokio::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return out,
                () = tokio::time::sleep(every) => {
                    match self.store().renew_lease(tenant_id, step, self.node_id(), lease_ms).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(
                            tenant = %tenant_id, step,
                            "step lease lost (taken over after it lapsed); the step may run twice"
                        ),
                        Err(e) => tracing::warn!(
                            tenant = %tenant_id, step, error = %e, "step lease not renewed"
                        ),
                    }
                }
            }
        }
    }

    /// Runs one step; `Ok(completed | skipped)` or `Err(message)`.
    async fn execute_step(
        &self,
        tenant: &TenantRecord,
        name: &str,
    ) -> Result<ProvisioningStepStatus, String> {
        let timeout =
            Duration::from_millis(u64::try_from(self.config().step_timeout_ms).unwrap_or(30_000));
        let run = async {
            self.failpoints().check(name).await?;
            let id = tenant.id.as_str();
            match name {
                "create_database" => self.dbs().create(id).await.map_err(|e| e.to_string())?,
                "sync_schema" => self
                    .dbs()
                    .sync_system_schema(id)
                    .await
                    .map_err(|e| e.to_string())?,
                "apply_seed_data" => {
                    let metadata = tenant.metadata.as_deref().and_then(|m| {
                        serde_json::from_str::<serde_json::Map<String, Value>>(m).ok()
                    });
                    match crate::seed::seed_of(metadata.as_ref()) {
                        Some(seed) => self.deploy_seed(id, seed.clone()).await?,
                        None => return Ok(ProvisioningStepStatus::Skipped),
                    }
                }
                "generate_api_keys" => {
                    let key = KeyRecord {
                        key_id: tenant.initial_key_id.clone(),
                        tenant_id: tenant.id.clone(),
                        scope: "full-access".to_owned(),
                        hash: tenant.initial_key_hash.clone(),
                        created_at_ms: tenant.created_at_ms,
                        expires_at_ms: None,
                        revoked_at_ms: None,
                        state: KeyState::Active,
                    };
                    self.store()
                        .insert_key(key)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                "activate" => {
                    if !self.dbs().exists(id).await.map_err(|e| e.to_string())? {
                        return Err("the tenant database is missing".to_owned());
                    }
                }
                other => return Err(format!("unknown step {other}")),
            }
            Ok(ProvisioningStepStatus::Completed)
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("timed out after {} ms", timeout.as_millis())),
        }
    }

    /// Retries a failed tenant: resumes at the first unfinished step; completed steps are not
    /// redone. With `wait` false the pipeline runs in the background and the tenant is returned
    /// as it is now (`provisioning`).
    pub async fn retry(&self, tenant_id: &str, wait: bool) -> CoreResult<TenantRecord> {
        let moved = self
            .store()
            .transition(
                tenant_id,
                &[TenantProvisioningStatus::Failed],
                TenantProvisioningStatus::Provisioning,
                TenantChange {
                    error: Some(None),
                    ..TenantChange::default()
                },
            )
            .await?;
        match moved {
            None => Err(CoreError::NotFound {
                what: "tenant",
                id: tenant_id.to_owned(),
            }),
            Some((tenant, false)) if tenant.status != TenantProvisioningStatus::Provisioning => {
                Err(CoreError::invalid_transition(
                    "retry",
                    tenant_id,
                    tenant.status.as_str(),
                    &["failed"],
                ))
            }
            Some((tenant, _)) => {
                self.events().notify(tenant_id);
                if wait {
                    return self.run_pipeline(tenant_id).await;
                }
                let this = self.clone();
                let id = tenant_id.to_owned();
                tokio::spawn(async move {
                    if let Err(e) = this.run_pipeline(&id).await {
                        tracing::error!(tenant = %id, error = %e, "retried provisioning failed to run");
                    }
                });
                Ok(tenant)
            }
        }
    }

    /// At start-up: resumes every tenant left `provisioning` (in the background) and finishes
    /// destructions that are due. Returns how many tenants were resumed.
    pub async fn recover(&self) -> CoreResult<usize> {
        // Leases this node holds are a dead run's: this process just started as this node.
        let expired = self.store().expire_leases_of(self.node_id()).await?;
        if expired > 0 {
            tracing::info!(
                count = expired,
                node = self.node_id(),
                "ended step leases left by this node's previous run"
            );
        }
        let unfinished = self
            .store()
            .tenants_with_status(&[TenantProvisioningStatus::Provisioning])
            .await?;
        let count = unfinished.len();
        for tenant in unfinished {
            let this = self.clone();
            tokio::spawn(async move {
                if let Err(e) = this.run_pipeline(&tenant.id).await {
                    tracing::error!(tenant = %tenant.id, error = %e, "resuming provisioning failed");
                }
            });
        }
        if count > 0 {
            tracing::info!(count, "resuming unfinished provisioning");
        }
        self.reap_due_destructions().await?;
        self.set_aside_orphan_databases().await?;
        Ok(count)
    }
}
