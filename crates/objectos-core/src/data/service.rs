//! The data API's services on [`Platform`]: resolve a tenant (cached), then read and write its
//! records on its database, on a blocking thread, in `BEGIN IMMEDIATE` transactions.

use std::sync::Arc;

use objectos_spec::types::provisioning::TenantProvisioningStatus;
use objectos_spec::ObjectDefinition;
use objectos_sql::{Session, SessionExt, SqlValue};
use objectos_store::ControlStore;
use objectos_tenantdb::TenantDatabases;
use serde_json::{json, Map, Value};

use super::batch::{self, BatchRequest, Operation};
use super::codec::{decode_grouped, decode_row};
use super::error::{DataError, DataResult};
use super::model::TenantModel;
use super::query::{self, Query};
use super::runtime::{RateDecision, TenantHandle};
use super::write::{self, WriteLimits};
use crate::error::{CoreError, CoreResult};
use crate::platform::{KeyAuth, Platform};
use crate::time::{now_ms, rfc3339};

/// Why a tenant cannot be served right now (cloneable: shared by coalesced loads).
#[derive(Debug, Clone)]
enum Refusal {
    NotFound(String),
    Provisioning(String),
    Suspended(String),
    Failed(String),
    Destroying(String),
    Internal(String),
}

impl From<Refusal> for CoreError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NotFound(id) => CoreError::NotFound { what: "tenant", id },
            Refusal::Provisioning(id) => CoreError::Unavailable {
                code: "tenant_provisioning",
                message: format!("tenant {id} is still being provisioned; retry shortly"),
                retry_after_secs: 1,
            },
            Refusal::Suspended(id) => CoreError::Forbidden {
                code: "tenant_suspended",
                message: format!("tenant {id} is suspended"),
            },
            Refusal::Failed(id) => CoreError::Conflict {
                code: "tenant_failed",
                message: format!("tenant {id} failed to provision; retry its provisioning first"),
                details: json!({"tenantId": id, "status": "failed"}),
            },
            Refusal::Destroying(id) => CoreError::Conflict {
                code: "tenant_destroying",
                message: format!("tenant {id} is scheduled for destruction"),
                details: json!({"tenantId": id, "status": "destroying"}),
            },
            Refusal::Internal(message) => CoreError::Data(DataError::Internal(message)),
        }
    }
}

fn limits_of(handle: &TenantHandle) -> WriteLimits {
    WriteLimits {
        max_records_per_object: handle.quota.max_records_per_object,
        max_storage_bytes: handle.quota.max_storage_bytes,
        storage: Arc::clone(&handle.storage),
    }
}

impl<S: ControlStore, D: TenantDatabases> Platform<S, D> {
    /// The tenant as the data API serves it, from the router cache (loaded once on concurrent
    /// misses); refused when the tenant is not active.
    pub async fn resolve_tenant(&self, tenant_id: &str) -> CoreResult<Arc<TenantHandle>> {
        let runtime = self.data_runtime();
        if let Some(handle) = runtime.handles.get(tenant_id).await {
            return Ok(handle);
        }
        let this = self.clone();
        let id = tenant_id.to_owned();
        let generation = runtime.generation();
        let handle = runtime
            .handles
            .try_get_with(
                tenant_id.to_owned(),
                async move { this.load_handle(&id).await },
            )
            .await
            .map_err(|e| CoreError::from((*e).clone()))?;
        if runtime.generation() != generation {
            // An invalidation ran while this was loading: the handle may predate it, so it is
            // not kept for the next request.
            runtime.handles.invalidate(tenant_id).await;
        }
        Ok(handle)
    }

    async fn load_handle(&self, tenant_id: &str) -> Result<Arc<TenantHandle>, Refusal> {
        self.data_runtime().count_load();
        let tenant = match self.store().tenant(tenant_id).await {
            Ok(Some(t)) => t,
            Ok(None) => return Err(Refusal::NotFound(tenant_id.to_owned())),
            Err(e) => return Err(Refusal::Internal(e.to_string())),
        };
        match tenant.status {
            TenantProvisioningStatus::Active => {}
            TenantProvisioningStatus::Provisioning => return Err(Refusal::Provisioning(tenant.id)),
            // Suspended tenants stay readable only when `onTenantSuspend` keeps tokens as
            // read-only; the router refuses their writes.
            TenantProvisioningStatus::Suspended if self.suspended_tenants_readable() => {}
            TenantProvisioningStatus::Suspended => return Err(Refusal::Suspended(tenant.id)),
            TenantProvisioningStatus::Failed => return Err(Refusal::Failed(tenant.id)),
            TenantProvisioningStatus::Destroying => return Err(Refusal::Destroying(tenant.id)),
        }
        let model = self
            .tenant_session(&tenant.id, |conn| Ok(TenantModel::load(conn)))
            .await
            .map_err(|e| match e {
                // A destroy raced this load.
                CoreError::NotFound { .. } => Refusal::NotFound(tenant.id.clone()),
                CoreError::Conflict {
                    code: "tenant_destroying",
                    ..
                } => Refusal::Destroying(tenant.id.clone()),
                e => Refusal::Internal(e.to_string()),
            })?
            .map_err(|e| Refusal::Internal(e.to_string()))?;
        Ok(Arc::new(TenantHandle {
            quota: self.config().plans.quota(tenant.plan).clone(),
            tenant_id: tenant.id,
            status: tenant.status,
            plan: tenant.plan,
            model: Arc::new(model),
            writes: super::group::WriteQueue::default(),
            storage: Arc::default(),
        }))
    }

    /// True when `onTenantSuspend` keeps keys working read-only (`revokeTokens: false`,
    /// `readOnly: true`): the data API then serves reads of a suspended tenant.
    pub fn suspended_tenants_readable(&self) -> bool {
        let policy = &self.config().lifecycle.on_tenant_suspend;
        !policy.revoke_tokens && policy.read_only
    }

    /// Drops everything cached about a tenant (resolved handle, keys, connection). Called after
    /// suspend, resume, destroy, plan and key changes, and deployments.
    pub async fn invalidate_tenant(&self, tenant_id: &str) {
        self.invalidate_tenant_locally(tenant_id).await;
        self.cluster()
            .publish(crate::cluster::ClusterMessage::Invalidate {
                tenant: tenant_id.to_owned(),
            });
    }

    /// [`Self::invalidate_tenant`] on this node only (another node changed the tenant).
    pub async fn invalidate_tenant_locally(&self, tenant_id: &str) {
        let runtime = self.data_runtime();
        runtime.bump_generation();
        runtime.handles.invalidate(tenant_id).await;
        runtime.keys.invalidate_all();
        self.dbs().invalidate(tenant_id).await;
    }

    /// How many times a tenant handle was loaded (cache misses), for tests and metrics.
    pub fn tenant_loads(&self) -> u64 {
        self.data_runtime().loads()
    }

    /// Tenants currently held by the router cache.
    pub fn cached_tenants(&self) -> u64 {
        self.data_runtime().handles.entry_count()
    }

    /// Applies the router cache's pending evictions and expirations now (they run lazily).
    pub async fn run_router_maintenance(&self) {
        self.data_runtime().handles.run_pending_tasks().await;
    }

    /// Authenticates a tenant key through a short-lived cache (revocations invalidate it).
    pub async fn authenticate_key_cached(&self, presented: &str) -> CoreResult<KeyAuth> {
        let digest = crate::ids::hash_secret(presented);
        let runtime = self.data_runtime();
        if let Some(auth) = runtime.keys.get(&digest) {
            let live = auth.key.expires_at_ms.is_none_or(|at| at > now_ms());
            if live {
                return Ok(auth);
            }
            runtime.keys.invalidate(&digest);
        }
        let generation = runtime.generation();
        let auth = self.authenticate_key(presented).await?;
        // Not cached when a revocation or tenant change ran meanwhile (it may predate it).
        if runtime.generation() == generation {
            runtime.keys.insert(digest, auth.clone());
        }
        Ok(auth)
    }

    /// Counts a data API request of the tenant and applies its `apiRateLimit` (per minute).
    pub fn check_rate(&self, handle: &TenantHandle) -> RateDecision {
        self.data_runtime()
            .check_rate(&handle.tenant_id, handle.quota.api_rate_limit)
    }

    /// Data API requests of the tenant in the current minute.
    pub fn api_requests_this_minute(&self, tenant_id: &str) -> u64 {
        self.data_runtime().requests_this_minute(tenant_id)
    }

    /// What a write needs: the object, the model (for references), the quotas and the time.
    #[allow(clippy::type_complexity)]
    fn write_context(
        handle: &TenantHandle,
        object: &str,
    ) -> CoreResult<(Arc<ObjectDefinition>, Arc<TenantModel>, WriteLimits, String)> {
        Ok((
            Self::object_of(handle, object)?,
            Arc::clone(&handle.model),
            limits_of(handle),
            rfc3339(now_ms()),
        ))
    }

    fn object_of(handle: &TenantHandle, name: &str) -> CoreResult<Arc<ObjectDefinition>> {
        handle.model.served(name).cloned().map_err(CoreError::Data)
    }

    async fn on_db<T, F>(&self, handle: &TenantHandle, f: F) -> CoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Session) -> DataResult<T> + Send + 'static,
    {
        self.tenant_session(&handle.tenant_id, move |conn| Ok(f(conn)))
            .await?
            .map_err(CoreError::Data)
    }

    async fn on_reader<T, F>(&self, handle: &TenantHandle, f: F) -> CoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Session) -> DataResult<T> + Send + 'static,
    {
        let read = self
            .dbs()
            .with_read_session(&handle.tenant_id, move |conn| Ok(f(conn)))
            .await;
        self.explain_missing(&handle.tenant_id, read)
            .await?
            .map_err(CoreError::Data)
    }

    /// `GET /data/{object}` and `POST /data/{object}/query`: a page of records (`FindDataResponse`).
    pub async fn find_records(
        &self,
        handle: &TenantHandle,
        object: &str,
        query: Query,
    ) -> CoreResult<Value> {
        let definition = Self::object_of(handle, object)?;
        let compiled = query::compile(self.dbs().dialect(), &definition, &query)
            .map_err(|issues| CoreError::Data(DataError::Invalid(issues)))?;
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        // The aggregations that can overflow, named if one does: sums and averages, but for plain
        // sums of whole numbers, which never do (see `query::compile`).
        let overflowing: Vec<String> = query
            .aggregations
            .iter()
            .filter(|a| {
                matches!(
                    a.function,
                    query::AggFunction::Sum | query::AggFunction::Avg
                )
            })
            .filter(|a| {
                !compiled
                    .output
                    .as_ref()
                    .is_some_and(|o| o.iter().any(|c| c.name == a.alias && c.integer_sum))
            })
            .map(|a| a.alias.clone())
            .collect();
        self.on_reader(handle, move |conn| {
            let grouped = compiled.output.is_some();
            let rows = conn.query(&compiled.sql, &compiled.params).map_err(|e| {
                if grouped && e.is_overflow() {
                    DataError::Overflow(overflowing.clone())
                } else {
                    DataError::Sql(e)
                }
            })?;
            // A sum or an average of doubles beyond their range: PostgreSQL raises it (above),
            // SQLite answers infinity, which JSON cannot hold; the same refusal on both.
            if grouped
                && rows
                    .iter()
                    .flatten()
                    .any(|v| matches!(v, SqlValue::Real(f) if !f.is_finite()))
            {
                return Err(DataError::Overflow(overflowing));
            }
            // The next page starts after this page's last record: its sort-key values.
            let next_cursor = (rows.len() > limit && limit > 0 && !compiled.cursor_keys.is_empty())
                .then(|| next_cursor(&rows[limit - 1], &compiled.cursor_keys));
            let rows = rows.into_iter();
            let mut records: Vec<Value> = match &compiled.output {
                None => rows
                    .map(|row| Value::Object(decode_row(&definition, &compiled.fields, row)))
                    .collect(),
                Some(output) => rows
                    .map(|row| Value::Object(decode_grouped(&definition, output, row)))
                    .collect(),
            };
            let has_more = records.len() > limit;
            records.truncate(limit);
            let mut out = json!({"object": definition.name, "records": records});
            if let Some(count_sql) = &compiled.count_sql {
                let total = conn.query_count(count_sql, &compiled.count_params)?;
                out["total"] = json!(total);
            }
            out["hasMore"] = json!(has_more);
            if let Some(cursor) = next_cursor {
                out["nextCursor"] = json!(cursor);
            }
            Ok(out)
        })
        .await
    }

    /// `GET /data/{object}/{id}` (`GetDataResponse`); `select` limits the fields.
    pub async fn get_record(
        &self,
        handle: &TenantHandle,
        object: &str,
        id: &str,
        select: Option<Vec<String>>,
    ) -> CoreResult<Value> {
        let definition = Self::object_of(handle, object)?;
        let fields = match select {
            None => None,
            Some(keys) => {
                let q = Query {
                    fields: Some(
                        keys.into_iter()
                            .enumerate()
                            .map(|(i, k)| {
                                (k, objectos_spec::JsonPath::root().key("select").index(i))
                            })
                            .collect(),
                    ),
                    ..Query::default()
                };
                let compiled = query::compile(self.dbs().dialect(), &definition, &q)
                    .map_err(|issues| CoreError::Data(DataError::Invalid(issues)))?;
                Some(compiled.fields)
            }
        };
        let id = id.to_owned();
        self.on_reader(handle, move |conn| {
            let record = write::get(conn, &definition, &id, fields.as_deref())?;
            Ok(json!({"object": definition.name, "id": id, "record": record}))
        })
        .await
    }

    /// `POST /data/{object}` (`CreateDataResponse`).
    pub async fn create_record(
        &self,
        handle: &Arc<TenantHandle>,
        object: &str,
        body: Value,
    ) -> CoreResult<Value> {
        let (definition, model, limits, now) = Self::write_context(handle, object)?;
        self.grouped_write(handle, move |conn| {
            let record = write::create(conn, &model, &definition, &body, &limits, &now)?;
            let id = record.get("id").cloned().unwrap_or(Value::Null);
            Ok(json!({"object": definition.name, "id": id, "record": record}))
        })
        .await
    }

    /// `PATCH /data/{object}/{id}` (`UpdateDataResponse`).
    pub async fn update_record(
        &self,
        handle: &Arc<TenantHandle>,
        object: &str,
        id: &str,
        body: Value,
    ) -> CoreResult<Value> {
        let (definition, model, limits, now) = Self::write_context(handle, object)?;
        let id = id.to_owned();
        self.grouped_write(handle, move |conn| {
            let record = write::update(conn, &model, &definition, &id, &body, &limits, &now)?;
            Ok(json!({"object": definition.name, "id": id, "record": record}))
        })
        .await
    }

    /// `DELETE /data/{object}/{id}` (`DeleteDataResponse`).
    pub async fn delete_record(
        &self,
        handle: &Arc<TenantHandle>,
        object: &str,
        id: &str,
    ) -> CoreResult<Value> {
        let definition = Self::object_of(handle, object)?;
        let model = Arc::clone(&handle.model);
        let id = id.to_owned();
        self.grouped_write(handle, move |conn| {
            write::delete(conn, &model, &definition, &id)?;
            Ok(json!({"object": definition.name, "id": id, "success": true}))
        })
        .await
    }

    /// `batch`, `updateMany`, `deleteMany` (`BatchUpdateResponse`).
    pub async fn run_batch(
        &self,
        handle: &TenantHandle,
        object: &str,
        request: BatchRequest,
    ) -> CoreResult<Value> {
        let (definition, model, limits, now) = Self::write_context(handle, object)?;
        self.on_db(handle, move |conn| {
            batch::run(conn, &model, &definition, &request, &limits, &now)
        })
        .await
    }

    /// `createMany`: all or nothing (`CreateManyDataResponse`).
    pub async fn create_many(
        &self,
        handle: &TenantHandle,
        object: &str,
        operations: Vec<Operation>,
    ) -> CoreResult<Value> {
        let (definition, model, limits, now) = Self::write_context(handle, object)?;
        self.on_db(handle, move |conn| {
            let records = conn.transaction(|| {
                let mut out: Vec<Value> = Vec::with_capacity(operations.len());
                for op in &operations {
                    let data = op.data.clone().unwrap_or(Value::Object(Map::new()));
                    let record = write::create(conn, &model, &definition, &data, &limits, &now)
                        .map_err(|e| e.prefixed(&op.data_at))?;
                    out.push(Value::Object(record));
                }
                Ok::<_, DataError>(out)
            })?;
            Ok(json!({"object": definition.name, "count": records.len(), "records": records}))
        })
        .await
    }
}

/// Metadata types the API serves (`/api/v1/meta/{type}`).
pub const META_TYPES: &[&str] = &["object", "view", "flow", "permission"];

/// One registered metadata item.
#[derive(Debug, Clone)]
pub struct MetaItem {
    /// Its name.
    pub name: String,
    /// Its definition.
    pub item: Value,
    /// Strong ETag value of its canonical form.
    pub etag: String,
}

impl<S: ControlStore, D: TenantDatabases> Platform<S, D> {
    /// The registered items of a metadata type, in name order; `None` for an unknown type.
    pub async fn metadata_items(
        &self,
        handle: &TenantHandle,
        kind: &str,
    ) -> CoreResult<Option<Vec<MetaItem>>> {
        if !META_TYPES.contains(&kind) {
            return Ok(None);
        }
        if kind == "object" {
            return Ok(Some(
                handle
                    .model
                    .objects
                    .iter()
                    .map(|(name, o)| MetaItem {
                        name: name.clone(),
                        item: serde_json::from_str(&o.canonical).unwrap_or(Value::Null),
                        etag: o.etag.clone(),
                    })
                    .collect(),
            ));
        }
        let kind = kind.to_owned();
        let rows = self
            .on_reader(handle, move |conn| {
                let rows = conn.query(
                    "SELECT name, definition FROM _objectos_metadata WHERE type = $1 ORDER BY name",
                    &[SqlValue::Text(kind)],
                )?;
                Ok(rows
                    .into_iter()
                    .filter_map(|row| {
                        let mut row = row.into_iter();
                        Some((row.next()?.into_string()?, row.next()?.into_string()?))
                    })
                    .collect::<Vec<_>>())
            })
            .await?;
        Ok(Some(
            rows.into_iter()
                .map(|(name, text)| MetaItem {
                    etag: super::model::etag_of(&text),
                    item: serde_json::from_str(&text).unwrap_or(Value::Null),
                    name,
                })
                .collect(),
        ))
    }
}

/// The `nextCursor` of a page whose last row is `row`: the sort keys' values as stored (numbers,
/// booleans, text and instants as JSON), encoded with [`query::encode_cursor`].
fn next_cursor(row: &[SqlValue], keys: &[(String, usize)]) -> String {
    let mut cursor = Map::new();
    for (name, at) in keys {
        let value = match row.get(*at) {
            None | Some(SqlValue::Null) => Value::Null,
            Some(SqlValue::Bool(b)) => json!(b),
            Some(SqlValue::Integer(i)) => json!(i),
            Some(SqlValue::Real(f)) => json!(f),
            Some(
                SqlValue::Text(t) | SqlValue::Date(t) | SqlValue::Timestamp(t) | SqlValue::Json(t),
            ) => json!(t),
            Some(SqlValue::Blob(b)) => json!(String::from_utf8_lossy(b)),
        };
        cursor.insert(name.clone(), value);
    }
    query::encode_cursor(&cursor)
}
