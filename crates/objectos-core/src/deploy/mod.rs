//! The deploy pipeline (issue #4) for tenants on SQLite databases: validate → diff → plan → migrate →
//! register, with a hash-chained ledger inside the tenant database (research/migrations.md §8).
//!
//! One deployment runs per tenant at a time (a second one is refused at once, 409
//! `deployment_in_progress`). A deployment, on the tenant's connection:
//! 1. reads the ledger head: its canonical model is the deployed model;
//! 2. validates the bundle ([`validate_bundle`]; 422 with every issue);
//! 3. introspects every deployed table and compares it with the model's expected schema, column
//!    order aside (409 `schema_drift`);
//! 4. diffs with the explicit renames; the head's checksum with an empty diff is "no changes": a
//!    `ready` record with `noChanges: true` and the head's id, nothing written;
//! 5. enforces `maxObjects` (objects after the deploy) and `maxDeploymentsPerDay` (ledger rows of
//!    the UTC day) (403 `quota_exceeded`);
//! 6. refuses unacknowledged destructive changes with the rows / values they would lose (409
//!    `destructive_changes_unacknowledged`) and failing data probes with counts (409
//!    `data_check_failed`);
//! 7. in one `BEGIN IMMEDIATE` transaction: the plan, the metadata (`_objectos_metadata`), the seed
//!    data (per Dataset mode, keyed by externalId) and the ledger row; then commits. A statement
//!    failure rolls everything back and returns a `failed` record (not recorded: nothing changed);
//!    so does an armed failpoint (`deploy_statement_<n>` after statement `n`,
//!    `deploy_before_commit`; only with the `failpoints` feature);
//!    a seed conflict (`insert` of an existing key) rolls back and is a 422 at its record's path.
//!
//! A dry run is the same path whose transaction is always rolled back: the file is unchanged.
//! A rollback is a new deployment of the parent's stored bundle, with the renames reversed, through
//! the same gates.

pub(crate) mod ledger;
pub mod objects;
mod seed;
mod validate;

use std::time::Instant;

use objectos_schema::{introspect_table, DataCheck, LossKind, ModelDiff, SchemaError};
use objectos_spec::canonical::canonical_json;
use objectos_spec::types::deploy::{
    DeployDiff, DeployDiffSummary, DeployStatus, DeployValidationResult, MigrationPlan,
};
use objectos_spec::types::provisioning::TenantProvisioningStatus;
use objectos_spec::types::tenant::{QuotaEnforcementResult, TenantQuota};
use objectos_spec::{Issue, IssueCode, JsonPath, ObjectDefinition, ValidationError};
use objectos_sql::{Dialect, Session, SessionExt, SqlError};
use objectos_store::ControlStore;
use objectos_tenantdb::TenantDatabases;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use objectos_schema::Rename;
pub use validate::{
    validate_bundle, validate_bundle_counted, validation_result, validation_result_with_warnings,
    ValidatedBundle,
};

use crate::error::{CoreError, CoreResult};
use crate::failpoints::{deploy_statement, Failpoints, DEPLOY_BEFORE_COMMIT};
use crate::platform::Platform;
use crate::time::{now_ms, rfc3339, utc_day};

/// Options of a deployment request (`options` of `POST .../deployments`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct DeployOptions {
    /// Run everything, then roll back: the database is left unchanged.
    pub dry_run: bool,
    /// Acknowledged destructive changes: `object:<name>`, `field:<object>.<field>`.
    pub acknowledge: Vec<String>,
    /// Explicit renames (never inferred).
    pub renames: Vec<Rename>,
}

/// Milliseconds spent in each phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    /// Reading the ledger head and validating the bundle.
    pub validating_ms: f64,
    /// Drift check, diff, gates, probes and planning.
    pub diffing_ms: f64,
    /// Running the plan.
    pub migrating_ms: f64,
    /// Metadata, seed data and the ledger row (the commit is not included, since the ledger holds
    /// the record).
    pub registering_ms: f64,
    /// Everything up to the commit.
    pub total_ms: f64,
}

/// A deployment as the API returns it and the ledger stores it (`record` column).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRecord {
    /// Deployment id (`dep_` + 16 hex).
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// `ready` or `failed`.
    pub status: DeployStatus,
    /// The bundle's validation (valid: refused bundles are a 422, not a record).
    pub validation: DeployValidationResult,
    /// What changed.
    pub diff: DeployDiff,
    /// The statements run (dialect `sqlite`).
    pub plan: MigrationPlan,
    /// Per-phase timings.
    pub timings: Timings,
    /// The bundle checksum (`manifest.checksum` form).
    pub checksum: String,
    /// The deployment this one follows (the ledger head before it).
    pub parent_id: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// Re-applying the deployed bundle: nothing was done; `id` is the head's.
    pub no_changes: bool,
    /// A dry run: nothing was kept.
    pub dry_run: bool,
    /// Position in the ledger (`None` when not recorded: dry runs, no-ops, failures).
    pub seq: Option<u64>,
    /// The acknowledgements given.
    pub acknowledged: Vec<String>,
    /// The renames applied.
    pub renames: Vec<Rename>,
    /// For a rollback: the deployment rolled back.
    pub rollback_of: Option<String>,
}

/// What one run is asked to do.
struct Job {
    tenant_id: String,
    bundle: Value,
    options: DeployOptions,
    quota: TenantQuota,
    rollback_of: Option<String>,
    /// Failure injection between statements and before the commit (inert without the
    /// `failpoints` feature).
    failpoints: Failpoints,
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn schema_err(e: SchemaError) -> CoreError {
    CoreError::Schema(e)
}

fn sql_err(e: SqlError) -> CoreError {
    CoreError::Schema(SchemaError::Sql(e))
}

fn invalid(issues: Vec<Issue>) -> CoreError {
    CoreError::Invalid(ValidationError::new(issues))
}

/// A random id: `prefix` + 16 lowercase hex digits.
pub(crate) fn random_id(prefix: &str) -> String {
    let bytes: [u8; 8] = rand::random();
    format!("{prefix}{}", hex::encode(bytes))
}

fn empty_diff() -> DeployDiff {
    DeployDiff {
        changes: Vec::new(),
        summary: DeployDiffSummary {
            added: 0,
            modified: 0,
            removed: 0,
        },
        has_breaking_changes: false,
    }
}

/// The refusal of a deployment while another of the same tenant runs.
fn deployment_in_progress(tenant_id: &str) -> CoreError {
    CoreError::Conflict {
        code: "deployment_in_progress",
        message: format!("a deployment of tenant {tenant_id} is already running"),
        details: json!({"tenantId": tenant_id}),
    }
}

impl<S: ControlStore, D: TenantDatabases> Platform<S, D> {
    /// Refuses (409 `deployment_in_progress`) while a deployment of the tenant runs, without
    /// taking its mark: a caller checks this before parsing a large bundle that would be refused
    /// anyway (issue #14). [`Self::deploy`] checks again when it takes the mark.
    pub fn ensure_no_deployment_running(&self, tenant_id: &str) -> CoreResult<()> {
        if self.deployment_running(tenant_id) {
            Err(deployment_in_progress(tenant_id))
        } else {
            Ok(())
        }
    }

    /// Deploys `bundle_json` to a tenant (see the module documentation for the gates).
    pub async fn deploy(
        &self,
        tenant_id: &str,
        bundle_json: Value,
        options: DeployOptions,
    ) -> CoreResult<DeploymentRecord> {
        self.deploy_job(tenant_id, bundle_json, options, None).await
    }

    async fn deploy_job(
        &self,
        tenant_id: &str,
        bundle: Value,
        options: DeployOptions,
        rollback_of: Option<String>,
    ) -> CoreResult<DeploymentRecord> {
        let tenant = self.require_tenant(tenant_id).await?;
        if tenant.status != TenantProvisioningStatus::Active {
            return Err(CoreError::invalid_transition(
                "deploy to",
                tenant_id,
                tenant.status.as_str(),
                &["active"],
            ));
        }
        let _guard = self
            .try_deploy_lock(tenant_id)
            .ok_or_else(|| deployment_in_progress(tenant_id))?;
        // Lifecycle changes (suspend, destroy, plan changes) wait for the deployment, and it for
        // them; the status is checked again under the lock.
        let _tenant_guard = self.tenant_lock(tenant_id).await;
        let tenant = self.require_tenant(tenant_id).await?;
        if tenant.status != TenantProvisioningStatus::Active {
            return Err(CoreError::invalid_transition(
                "deploy to",
                tenant_id,
                tenant.status.as_str(),
                &["active"],
            ));
        }
        let job = Job {
            tenant_id: tenant_id.to_owned(),
            bundle,
            options,
            quota: self.config().plans.quota(tenant.plan).clone(),
            rollback_of,
            failpoints: self.failpoints().clone(),
        };
        let record = self
            .tenant_session(tenant_id, move |conn| Ok(run(conn, job)))
            .await??;
        if record.seq.is_some() {
            // The model changed: the data API must not serve the old one.
            self.invalidate_tenant(tenant_id).await;
        }
        Ok(record)
    }

    /// Deploys a tenant's seed bundle from inside its provisioning pipeline, which already holds
    /// the tenant's lock while the tenant is `provisioning`. Idempotent: once applied, the same
    /// bundle is "no changes". `Err` carries the reason, for the step's error.
    pub(crate) async fn deploy_seed(&self, tenant_id: &str, bundle: Value) -> Result<(), String> {
        let tenant = self
            .require_tenant(tenant_id)
            .await
            .map_err(|e| e.to_string())?;
        let _guard = self
            .try_deploy_lock(tenant_id)
            .ok_or_else(|| format!("a deployment of tenant {tenant_id} is already running"))?;
        let job = Job {
            tenant_id: tenant_id.to_owned(),
            bundle,
            options: DeployOptions::default(),
            quota: self.config().plans.quota(tenant.plan).clone(),
            rollback_of: None,
            failpoints: self.failpoints().clone(),
        };
        let record = self
            .dbs()
            .with_session(tenant_id, move |conn| Ok(run(conn, job)))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        match record.error {
            Some(error) => Err(format!("seed bundle: {error}")),
            None => Ok(()),
        }
    }

    /// The tenant's recorded deployments, newest first.
    pub async fn list_deployments(&self, tenant_id: &str) -> CoreResult<Vec<DeploymentRecord>> {
        self.require_tenant(tenant_id).await?;
        self.tenant_session(tenant_id, |conn| Ok(ledger::list(conn)))
            .await?
    }

    /// One recorded deployment, or `NotFound`.
    pub async fn get_deployment(
        &self,
        tenant_id: &str,
        deployment_id: &str,
    ) -> CoreResult<DeploymentRecord> {
        self.require_tenant(tenant_id).await?;
        let id = deployment_id.to_owned();
        let row = self
            .tenant_session(tenant_id, move |conn| Ok(ledger::row(conn, &id)))
            .await??;
        row.map(|r| r.record).ok_or_else(|| CoreError::NotFound {
            what: "deployment",
            id: deployment_id.to_owned(),
        })
    }

    /// Rolls back a deployment: a new deployment of its parent's bundle, with the renames it made
    /// reversed (without restating them), through the same gates (`acknowledge` for destructive
    /// steps). `options.renames` is ignored.
    pub async fn rollback(
        &self,
        tenant_id: &str,
        deployment_id: &str,
        options: DeployOptions,
    ) -> CoreResult<DeploymentRecord> {
        self.require_tenant(tenant_id).await?;
        let id = deployment_id.to_owned();
        let (target, parent) = self
            .tenant_session(tenant_id, move |conn| {
                Ok(ledger::row(conn, &id).and_then(|target| {
                    let parent = match target.as_ref().and_then(|t| t.record.parent_id.clone()) {
                        Some(pid) => ledger::row(conn, &pid)?,
                        None => None,
                    };
                    Ok((target, parent))
                }))
            })
            .await??;
        let target = target.ok_or_else(|| CoreError::NotFound {
            what: "deployment",
            id: deployment_id.to_owned(),
        })?;
        let Some(parent) = parent else {
            return Err(CoreError::Conflict {
                code: "no_parent_deployment",
                message: format!(
                    "deployment {deployment_id} is the first of tenant {tenant_id}: there is no earlier model to roll back to"
                ),
                details: json!({"deploymentId": deployment_id}),
            });
        };
        // The renames that undo the target's: computed by re-diffing parent → target as it was done.
        let forward = objectos_schema::diff(&parent.model, &target.model, &target.record.renames)
            .map_err(|e| CoreError::Conflict {
            code: "rollback_unavailable",
            message: format!("the renames of deployment {deployment_id} cannot be reversed: {e}"),
            details: json!({"deploymentId": deployment_id}),
        })?;
        let bundle: Value = serde_json::from_str(&parent.bundle).map_err(|e| {
            invalid(vec![Issue::new(
                JsonPath::root(),
                IssueCode::Custom,
                format!(
                    "the stored bundle of deployment {} is unreadable: {e}",
                    parent.record.id
                ),
            )])
        })?;
        let options = DeployOptions {
            renames: forward.inverse_renames().to_vec(),
            ..options
        };
        self.deploy_job(tenant_id, bundle, options, Some(deployment_id.to_owned()))
            .await
    }
}

/// The whole pipeline on the tenant's session: reads, then one transaction that is committed only
/// at the very end; every way out before that rolls it back.
fn run(conn: &dyn Session, job: Job) -> CoreResult<DeploymentRecord> {
    let outcome = run_pipeline(conn, job);
    if conn.in_transaction() {
        let _ = conn.rollback();
    }
    outcome
}

fn run_pipeline(conn: &dyn Session, job: Job) -> CoreResult<DeploymentRecord> {
    let dialect = conn.dialect();
    let started = Instant::now();
    let head = ledger::head(conn)?;
    let previous: Vec<ObjectDefinition> =
        head.as_ref().map(|h| h.model.clone()).unwrap_or_default();
    let validated = validate_bundle_counted(&job.bundle, &previous).map_err(CoreError::Invalid)?;
    let objects = &validated.bundle.objects;
    let mut record = DeploymentRecord {
        id: random_id("dep_"),
        tenant_id: job.tenant_id.clone(),
        status: DeployStatus::Ready,
        validation: validation_result_with_warnings(&[], &validated.warnings),
        diff: empty_diff(),
        plan: objectos_schema::Plan::empty(dialect).to_migration_plan(),
        timings: Timings {
            validating_ms: ms(started),
            ..Timings::default()
        },
        checksum: validated.checksum.clone(),
        parent_id: head.as_ref().map(|h| h.record.id.clone()),
        error: None,
        created_at: rfc3339(now_ms()),
        no_changes: false,
        dry_run: job.options.dry_run,
        seq: None,
        acknowledged: job.options.acknowledge.clone(),
        renames: job.options.renames.clone(),
        rollback_of: job.rollback_of.clone(),
    };

    // Diffing: drift, diff, no-op, quotas, gates, probes, plan.
    let phase = Instant::now();
    // Abstract objects have no table: the tables are the concrete objects' (an object made abstract
    // is a dropped table, one made concrete a new one).
    let concrete = |list: &[ObjectDefinition]| -> Vec<ObjectDefinition> {
        list.iter().filter(|o| !o.r#abstract).cloned().collect()
    };
    let (previous_tables, tables) = (concrete(&previous), concrete(objects));
    check_drift(conn, dialect, &previous_tables)?;
    let diff = objectos_schema::diff(&previous_tables, &tables, &job.options.renames)
        .map_err(diff_issues)?;
    record.diff = diff.to_deploy_diff();
    if let Some(head) = &head {
        if head.checksum == validated.checksum && diff.is_empty() {
            record.id = head.record.id.clone();
            record.parent_id = head.record.parent_id.clone();
            record.seq = None;
            record.no_changes = true;
            record.timings.diffing_ms = ms(phase);
            record.timings.total_ms = ms(started);
            return Ok(record);
        }
    }
    check_quotas(conn, &job.quota, objects.len() as u64)?;
    check_system_objects(&previous_tables, &diff)?;
    check_acknowledged(conn, &diff, &job.options.acknowledge)?;
    check_data(conn, &diff)?;
    let plan = objectos_schema::plan(dialect, &diff, &tables).map_err(schema_err)?;
    record.plan = plan.to_migration_plan();
    record.timings.diffing_ms = ms(phase);

    // Migrating and registering, in one transaction (rolled back by `run` on every early return).
    let tx = conn;
    tx.begin().map_err(sql_err)?;
    let phase = Instant::now();
    let failpoints = &job.failpoints;
    let applied = objectos_schema::apply_in_with(tx, &plan, &mut |index| {
        failpoints.check_sync(&deploy_statement(index))
    });
    if let Err(e) = applied {
        record.status = DeployStatus::Failed;
        record.error = Some(e.to_string());
        record.timings.migrating_ms = ms(phase);
        record.timings.total_ms = ms(started);
        return Ok(record);
    }
    record.timings.migrating_ms = ms(phase);
    let phase = Instant::now();
    let registered = ledger::register_metadata(tx, &validated, &record.id, &record.created_at)
        .map_err(seed::SeedError::Sql)
        .and_then(|()| seed::apply_seed(tx, &validated, &record.created_at));
    match registered {
        Ok(()) => {}
        Err(seed::SeedError::Conflict(issues)) => {
            return Err(invalid(issues));
        }
        Err(seed::SeedError::Sql(e)) => {
            record.status = DeployStatus::Failed;
            record.error = Some(format!("registering failed: {e}"));
            record.timings.registering_ms = ms(phase);
            record.timings.total_ms = ms(started);
            return Ok(record);
        }
    }
    let seq = head.as_ref().map_or(1, |h| h.seq + 1);
    if !job.options.dry_run {
        record.seq = Some(seq);
    }
    record.timings.registering_ms = ms(phase);
    record.timings.total_ms = ms(started);
    let model = canonical_json(&serde_json::to_value(objects).unwrap_or(Value::Null));
    let entry = ledger::Entry {
        seq,
        prev_hash: head.as_ref().map(|h| h.hash.clone()),
        model,
        bundle: canonical_json(&validated.raw),
    };
    if let Err(e) = ledger::insert(tx, &record, &entry) {
        record.status = DeployStatus::Failed;
        record.seq = None;
        record.error = Some(format!("recording the deployment failed: {e}"));
        return Ok(record);
    }
    if job.options.dry_run {
        tx.rollback().map_err(sql_err)?;
    } else if let Err(e) = job.failpoints.check_sync(DEPLOY_BEFORE_COMMIT) {
        record.status = DeployStatus::Failed;
        record.seq = None;
        record.error = Some(format!("interrupted before the commit: {e}"));
    } else if let Err(e) = tx.commit() {
        record.status = DeployStatus::Failed;
        record.seq = None;
        record.error = Some(format!("commit failed: {e}"));
    }
    Ok(record)
}

fn diff_issues(e: objectos_schema::DiffError) -> CoreError {
    use objectos_schema::DiffError;
    let issues = match &e {
        DiffError::InvalidRenames { errors } => errors
            .iter()
            .map(|r| {
                let member = r.path().rsplit('.').next().unwrap_or("to").to_owned();
                Issue::new(
                    JsonPath::root()
                        .key("renames")
                        .index(r.index())
                        .key(&member),
                    IssueCode::Custom,
                    r.to_string(),
                )
            })
            .collect(),
        other => vec![Issue::new(
            JsonPath::root().key("objects"),
            IssueCode::Custom,
            other.to_string(),
        )],
    };
    invalid(issues)
}

/// Refuses when a deployed table differs from what its model says (column order aside).
fn check_drift(
    conn: &dyn Session,
    dialect: Dialect,
    previous: &[ObjectDefinition],
) -> CoreResult<()> {
    let mut drifted = Vec::new();
    for object in previous {
        let mut expected = objectos_schema::expected_schema(dialect, object).map_err(schema_err)?;
        let differences = match introspect_table(conn, &expected.name) {
            Err(SchemaError::TableNotFound { .. }) => vec!["table is missing".to_owned()],
            Err(e) => return Err(schema_err(e)),
            Ok(mut actual) => {
                actual.columns.sort_by(|a, b| a.name.cmp(&b.name));
                expected.columns.sort_by(|a, b| a.name.cmp(&b.name));
                expected.differences(&actual)
            }
        };
        if !differences.is_empty() {
            drifted.push(json!({"table": expected.name, "differences": differences}));
        }
    }
    if drifted.is_empty() {
        return Ok(());
    }
    let tables: Vec<&str> = drifted
        .iter()
        .filter_map(|d| d.get("table").and_then(Value::as_str))
        .collect();
    Err(CoreError::Conflict {
        code: "schema_drift",
        message: format!(
            "the live schema differs from the deployed model (changed outside objectos) in: {}; \
             restore it or redeploy after fixing it",
            tables.join(", ")
        ),
        details: json!({"tables": drifted}),
    })
}

fn quota_refusal(name: &str, used: u64, limit: u64, message: String) -> CoreError {
    CoreError::QuotaExceeded(Box::new(QuotaEnforcementResult {
        allowed: false,
        exceeded_quota: Some(name.to_owned()),
        current_usage: Some(used as f64),
        limit: Some(limit as f64),
        message: Some(message),
    }))
}

fn check_quotas(conn: &dyn Session, quota: &TenantQuota, objects: u64) -> CoreResult<()> {
    if let Some(limit) = quota.max_objects {
        if objects > limit {
            return Err(quota_refusal(
                "maxObjects",
                objects,
                limit,
                format!("the bundle has {objects} objects; the plan allows {limit}"),
            ));
        }
    }
    if let Some(limit) = quota.max_deployments_per_day {
        let today = ledger::deployments_on(conn, &utc_day(now_ms()))?;
        if today >= limit {
            return Err(quota_refusal(
                "maxDeploymentsPerDay",
                today,
                limit,
                format!("{today} deployments today (UTC); the plan allows {limit} per day"),
            ));
        }
    }
    Ok(())
}

fn count(conn: &dyn Session, sql: &str) -> CoreResult<u64> {
    conn.query_count(sql, &[]).map_err(sql_err)
}

fn quoted(kind: objectos_schema::IdentKind, name: &str) -> CoreResult<String> {
    Ok(objectos_schema::Ident::new(kind, name)
        .map_err(schema_err)?
        .quoted())
}

/// Refuses destructive changes whose token is not acknowledged, with what each would lose.
fn check_acknowledged(conn: &dyn Session, diff: &ModelDiff, acks: &[String]) -> CoreResult<()> {
    use objectos_schema::{ChangeClass, IdentKind};
    let missing = diff.unacknowledged(acks);
    if missing.is_empty() {
        return Ok(());
    }
    let mut entries = Vec::new();
    for change in missing {
        let ChangeClass::Destructive { entity, loses } = &change.class else {
            continue;
        };
        let entry = match loses {
            LossKind::Rows { table } => {
                let rows = count(
                    conn,
                    &format!("SELECT COUNT(*) FROM {}", quoted(IdentKind::Table, table)?),
                )?;
                json!({"entity": entity, "table": table, "loses": "rows", "rows": rows,
                       "message": format!("drops table {table} and its {rows} rows")})
            }
            LossKind::ColumnValues { table, column }
            | LossKind::Conversion { table, column, .. } => {
                let values = count(
                    conn,
                    &format!(
                        "SELECT COUNT({}) FROM {}",
                        quoted(IdentKind::Column, column)?,
                        quoted(IdentKind::Table, table)?
                    ),
                )?;
                let what = if matches!(loses, LossKind::Conversion { .. }) {
                    "converts (losing the meaning of)"
                } else {
                    "drops"
                };
                json!({"entity": entity, "table": table, "column": column, "loses": "values",
                       "rows": values,
                       "message": format!("{what} column {table}.{column} and its {values} non-null values")})
            }
        };
        entries.push(entry);
    }
    let tokens: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.get("entity").and_then(Value::as_str))
        .collect();
    Err(CoreError::Conflict {
        code: "destructive_changes_unacknowledged",
        message: format!(
            "destructive changes need acknowledging (options.acknowledge): {}",
            tokens.join(", ")
        ),
        details: json!({"unacknowledged": entries, "requiresAck": diff.requires_ack()}),
    })
}

/// A deployed system object (`isSystem: true`) is protected from deletion: a bundle that drops it
/// is refused, acknowledged or not (409 `system_object_protected`). Deploying it with `isSystem:
/// false` first lifts the protection.
fn check_system_objects(previous: &[ObjectDefinition], diff: &ModelDiff) -> CoreResult<()> {
    let dropped: Vec<&str> = diff
        .changes
        .iter()
        .filter_map(|c| match &c.kind {
            objectos_schema::ChangeKind::DropObject { object } => Some(object.as_str()),
            _ => None,
        })
        .filter(|name| previous.iter().any(|p| p.name == *name && p.is_system))
        .collect();
    if dropped.is_empty() {
        return Ok(());
    }
    Err(CoreError::Conflict {
        code: "system_object_protected",
        message: format!(
            "system objects (isSystem: true) cannot be dropped: {}; deploy them with isSystem false \
             first",
            dropped.join(", ")
        ),
        details: json!({"objects": dropped}),
    })
}

/// Runs the data probes; refuses with counts when any fails.
fn check_data(conn: &dyn Session, diff: &ModelDiff) -> CoreResult<()> {
    let checks: Vec<DataCheck> = diff.data_checks().into_iter().cloned().collect();
    let results = objectos_schema::probe(conn, &checks).map_err(schema_err)?;
    let failed: Vec<Value> = results
        .iter()
        .filter(|r| r.failed)
        .map(|r| {
            let (kind, table, columns): (&str, &str, Vec<&str>) = match &r.check {
                DataCheck::NullsIn { table, column } => ("nulls", table, vec![column]),
                DataCheck::DuplicatesIn { table, columns } => (
                    "duplicates",
                    table,
                    columns.iter().map(String::as_str).collect(),
                ),
                DataCheck::NotCastable { table, column, .. } => {
                    ("not_castable", table, vec![column])
                }
                DataCheck::NonEmptyTable { table } => ("non_empty_table", table, vec![]),
                DataCheck::MultipleRows { table } => ("multiple_rows", table, vec![]),
                DataCheck::All(_) => ("all", "", vec![]),
            };
            json!({"check": kind, "table": table, "columns": columns, "rows": r.rows,
                   "groups": r.groups, "message": r.message})
        })
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    let messages: Vec<&str> = failed
        .iter()
        .filter_map(|f| f.get("message").and_then(Value::as_str))
        .collect();
    Err(CoreError::Conflict {
        code: "data_check_failed",
        message: format!(
            "the current rows do not allow this change: {}",
            messages.join("; ")
        ),
        details: json!({"checks": failed}),
    })
}
