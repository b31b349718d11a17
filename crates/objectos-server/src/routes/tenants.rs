//! `/api/v1/tenants`: provisioning, listing, lifecycle, usage and quotas.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use objectos_core::{
    provisioning_result, DestroyOptions, Destroyed, RestoreOptions, TenantArchive,
};
use objectos_spec::types::provisioning::{
    TenantPlan, TenantProvisioningRequest, TenantProvisioningStatus,
};
use objectos_spec::types::tenant::{
    Tenant, TenantConnectionConfig, TenantDatabaseProvider, TenantIsolationLevel,
};
use objectos_spec::{Issue, IssueCode, JsonPath};
use objectos_store::{ControlStore, TenantFilter, TenantRecord};
use objectos_tenantdb::TenantDatabases;
use serde_json::{json, Map, Value};

use crate::auth::{Admin, Caller};
use crate::body::{parse_spec, required, small_object, JsonBody};
use crate::envelope::{ok, success};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The protocol's view of a tenant (validates against `Tenant.json`; never the auth token).
pub fn tenant_view<S: ControlStore, D: TenantDatabases>(
    state: &AppState<S, D>,
    t: &TenantRecord,
) -> Tenant {
    Tenant {
        id: t.id.clone(),
        name: t.display_name.clone().unwrap_or_else(|| t.org_id.clone()),
        isolation_level: TenantIsolationLevel::IsolatedDb,
        // A local SQLite file is served as a libSQL database (`file:` URL): see decision 0003.
        database_provider: Some(match t.provider.as_str() {
            "memory" => TenantDatabaseProvider::Memory,
            "postgres" => TenantDatabaseProvider::Postgres,
            _ => TenantDatabaseProvider::Turso,
        }),
        connection_config: Some(TenantConnectionConfig {
            url: t.connection_url.clone(),
            auth_token: None,
            group: None,
        }),
        provisioning_status: Some(t.status),
        plan: Some(t.plan),
        customizations: None,
        quotas: Some(state.platform.config().plans.quota(t.plan).clone()),
    }
}

/// What the protocol's `Tenant` has no room for, given in `meta.tenant`.
fn tenant_extras(t: &TenantRecord) -> Value {
    use objectos_core::time::rfc3339;
    json!({
        "orgId": t.org_id,
        "region": t.region,
        "adminEmail": t.admin_email,
        "createdAt": rfc3339(t.created_at_ms),
        "updatedAt": rfc3339(t.updated_at_ms),
        "provisionedAt": t.provisioned_at_ms.map(rfc3339),
        "destroyAfter": t.destroy_after_ms.map(rfc3339),
        "error": t.error,
    })
}

/// A tenant as `data` (the protocol's `Tenant`) with the rest in `meta.tenant`.
fn tenant_response<S: ControlStore, D: TenantDatabases>(
    state: &AppState<S, D>,
    status: StatusCode,
    tenant: &TenantRecord,
) -> Response {
    let meta = meta(vec![("tenant", tenant_extras(tenant))]);
    success(status, tenant_view(state, tenant), meta, Map::new())
}

fn meta(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn query_issue(name: &str, message: String) -> ApiError {
    let issue = Issue::new(JsonPath::root().key(name), IssueCode::InvalidType, message);
    ApiError::invalid(StatusCode::BAD_REQUEST, &[issue], &JsonPath::root())
}

fn parse_bool(params: &HashMap<String, String>, name: &str) -> ApiResult<Option<bool>> {
    params
        .get(name)
        .map(|v| match v.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(query_issue(
                name,
                format!("Expected true or false, received '{other}'"),
            )),
        })
        .transpose()
}

fn parse_u64(params: &HashMap<String, String>, name: &str) -> ApiResult<Option<u64>> {
    params
        .get(name)
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                query_issue(
                    name,
                    format!("Expected a non-negative integer, received '{v}'"),
                )
            })
        })
        .transpose()
}

fn parse_enum<T: serde::de::DeserializeOwned>(
    params: &HashMap<String, String>,
    name: &str,
    allowed: &[&str],
) -> ApiResult<Option<T>> {
    params
        .get(name)
        .map(|v| {
            serde_json::from_value(json!(v)).map_err(|_| {
                let issue = Issue::new(
                    JsonPath::root().key(name),
                    IssueCode::InvalidEnumValue,
                    format!(
                        "Invalid enum value. Expected {}, received '{v}'",
                        allowed.join(" | ")
                    ),
                );
                ApiError::invalid(StatusCode::BAD_REQUEST, &[issue], &JsonPath::root())
            })
        })
        .transpose()
}

fn reject_unknown(params: &HashMap<String, String>, known: &[&str]) -> ApiResult<()> {
    let mut unknown: Vec<&str> = params
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    unknown.sort_unstable();
    if unknown.is_empty() {
        return Ok(());
    }
    let issue = Issue::new(
        JsonPath::root(),
        IssueCode::UnrecognizedKeys,
        format!(
            "Unrecognized query parameter(s): {}; allowed: {}",
            unknown.join(", "),
            known.join(", ")
        ),
    );
    Err(ApiError::invalid(
        StatusCode::BAD_REQUEST,
        &[issue],
        &JsonPath::root(),
    ))
}

/// `POST /api/v1/tenants` (`?wait=false` answers 202 at once; follow `/events`).
pub async fn create<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    _: Admin,
    Query(params): Query<HashMap<String, String>>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    reject_unknown(&params, &["wait"])?;
    let wait = parse_bool(&params, "wait")?.unwrap_or(true);
    let request: TenantProvisioningRequest = parse_spec(&body)?;
    let seed_issues = objectos_core::seed::seed_issues(request.metadata.as_ref());
    if !seed_issues.is_empty() {
        return Err(ApiError::unprocessable(&seed_issues));
    }
    let outcome = state.platform.provision(request, wait).await?;
    let status = match (outcome.created, wait) {
        (true, true) => StatusCode::CREATED,
        (true, false) => StatusCode::ACCEPTED,
        (false, _) => StatusCode::OK,
    };
    let mut extra = Map::new();
    if let Some(credentials) = &outcome.credentials {
        extra.insert("credentials".to_owned(), json!(credentials));
    }
    let data = provisioning_result(&outcome.tenant, &outcome.steps);
    Ok(success(
        status,
        data,
        meta(vec![("created", json!(outcome.created))]),
        extra,
    ))
}

/// `GET /api/v1/tenants?status=&plan=&limit=&offset=`.
pub async fn list<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    _: Admin,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    reject_unknown(&params, &["status", "plan", "limit", "offset"])?;
    let statuses: Vec<&str> = TenantProvisioningStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    let plans: Vec<&str> = TenantPlan::ALL.iter().map(|p| p.as_str()).collect();
    let status = parse_enum::<TenantProvisioningStatus>(&params, "status", &statuses)?;
    let plan = parse_enum::<TenantPlan>(&params, "plan", &plans)?;
    let limit = parse_u64(&params, "limit")?.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        let issue = Issue::new(
            JsonPath::root().key("limit"),
            if limit == 0 {
                IssueCode::TooSmall
            } else {
                IssueCode::TooBig
            },
            format!("limit must be between 1 and 1000, received {limit}"),
        );
        return Err(ApiError::invalid(
            StatusCode::BAD_REQUEST,
            &[issue],
            &JsonPath::root(),
        ));
    }
    let offset = parse_u64(&params, "offset")?.unwrap_or(0);
    let page = state
        .platform
        .store()
        .list_tenants(TenantFilter {
            status,
            plan,
            limit: u32::try_from(limit).unwrap_or(1000),
            offset,
        })
        .await
        .map_err(objectos_core::CoreError::from)?;
    let tenants: Vec<Tenant> = page
        .tenants
        .iter()
        .map(|t| tenant_view(&state, t))
        .collect();
    let has_more = offset + (tenants.len() as u64) < page.total;
    let meta = meta(vec![
        ("total", json!(page.total)),
        ("limit", json!(limit)),
        ("offset", json!(offset)),
        ("hasMore", json!(has_more)),
    ]);
    Ok(success(StatusCode::OK, tenants, meta, Map::new()))
}

/// `GET /api/v1/tenants/{id}`.
pub async fn show<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require_tenant(&id, false)?;
    let tenant = state.platform.require_tenant(&id).await?;
    Ok(tenant_response(&state, StatusCode::OK, &tenant))
}

/// `GET /api/v1/tenants/{id}/provisioning`: every step with all its fields.
pub async fn provisioning<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require_tenant(&id, false)?;
    let tenant = state.platform.require_tenant(&id).await?;
    let steps = state
        .platform
        .store()
        .steps(&id)
        .await
        .map_err(objectos_core::CoreError::from)?;
    let result = provisioning_result(&tenant, &steps);
    let detailed: Vec<Value> = steps
        .iter()
        .zip(&result.steps)
        .map(|(record, step)| {
            let mut v = json!(step);
            v["retryCount"] = json!(record.retry_count);
            v["durationUs"] = json!(record.duration_us);
            v["position"] = json!(record.position);
            v
        })
        .collect();
    Ok(ok(json!({
        "tenantId": tenant.id,
        "status": tenant.status,
        "steps": detailed,
        "totalDurationMs": result.total_duration_ms,
        "provisionedAt": result.provisioned_at,
        "error": tenant.error,
    })))
}

/// `POST /api/v1/tenants/{id}/retry` (`?wait=false` answers 202 at once; follow `/events`).
pub async fn retry<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    _: Admin,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    reject_unknown(&params, &["wait"])?;
    let wait = parse_bool(&params, "wait")?.unwrap_or(true);
    let tenant = state.platform.retry(&id, wait).await?;
    let steps = state
        .platform
        .store()
        .steps(&id)
        .await
        .map_err(objectos_core::CoreError::from)?;
    let status = if wait {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok(success(
        status,
        provisioning_result(&tenant, &steps),
        Map::new(),
        Map::new(),
    ))
}

/// `POST /api/v1/tenants/{id}/suspend`.
pub async fn suspend<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let tenant = state.platform.suspend(&id).await?;
    Ok(ok(tenant_view(&state, &tenant)))
}

/// `POST /api/v1/tenants/{id}/resume`.
pub async fn resume<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let tenant = state.platform.resume(&id).await?;
    Ok(ok(tenant_view(&state, &tenant)))
}

/// `POST /api/v1/tenants/{id}/plan` with `{"plan": "pro"}`.
pub async fn change_plan<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    _: Admin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let plan = plan_from_body(&body)?;
    let tenant = state.platform.change_plan(&id, plan).await?;
    Ok(ok(tenant_view(&state, &tenant)))
}

fn plan_from_body(body: &Value) -> ApiResult<TenantPlan> {
    let (map, mut issues) = small_object(body, &["plan"])?;
    let plan = match map.get("plan") {
        None => {
            issues.push(required("plan"));
            None
        }
        Some(value) => objectos_spec::parse::<TenantPlan>(value)
            .map_err(|e| {
                let at = JsonPath::root().key("plan");
                issues.extend(e.issues.into_iter().map(|mut i| {
                    i.path = i.path.prefixed(&at);
                    i
                }));
            })
            .ok(),
    };
    match plan {
        Some(plan) if issues.is_empty() => Ok(plan),
        _ => Err(ApiError::unprocessable(&issues)),
    }
}

/// `DELETE /api/v1/tenants/{id}?immediate=&gracePeriodHours=&createBackup=`.
pub async fn destroy<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    _: Admin,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    reject_unknown(&params, &["immediate", "gracePeriodHours", "createBackup"])?;
    let grace_period_hours = parse_u64(&params, "gracePeriodHours")?;
    if let Some(hours) = grace_period_hours.filter(|h| *h > objectos_core::MAX_GRACE_PERIOD_HOURS) {
        let issue = Issue::new(
            JsonPath::root().key("gracePeriodHours"),
            IssueCode::TooBig,
            format!(
                "gracePeriodHours must be at most {} (10 years), received {hours}",
                objectos_core::MAX_GRACE_PERIOD_HOURS
            ),
        );
        return Err(ApiError::invalid(
            StatusCode::BAD_REQUEST,
            &[issue],
            &JsonPath::root(),
        ));
    }
    let options = DestroyOptions {
        immediate: parse_bool(&params, "immediate")?,
        grace_period_hours,
        create_backup: parse_bool(&params, "createBackup")?,
    };
    match state.platform.destroy(&id, options).await? {
        Destroyed::Now { backup } => Ok(ok(json!({
            "tenantId": id,
            "destroyed": true,
            "backup": backup.map(|p| p.display().to_string()),
        }))),
        Destroyed::Scheduled(tenant) => Ok(tenant_response(&state, StatusCode::ACCEPTED, &tenant)),
    }
}

/// `GET /api/v1/tenants/{id}/usage`: a TenantUsage.
pub async fn usage<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require_tenant(&id, false)?;
    Ok(ok(state.platform.usage(&id).await?))
}

/// `GET /api/v1/tenants/{id}/quota`: a TenantQuota.
pub async fn quota<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require_tenant(&id, false)?;
    Ok(ok(state.platform.quota(&id).await?))
}

/// `GET /api/v1/tenants/{id}/archive`: the tenant's portable archive (`objectos-archive/1`).
///
/// Answered as the raw archive document, not inside the success envelope: it is a file (saved
/// as is, restored as is, the same bytes a destroy backup holds), and an envelope's
/// `meta.timestamp`/`requestId` do not belong in a backup; the request id is in `X-Request-Id`.
/// Errors keep the error envelope.
pub async fn archive<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    _: Admin,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    use axum::http::header;
    use axum::response::IntoResponse;
    reject_unknown(&params, &[])?;
    let archive = state.platform.export_tenant(&id).await?;
    let bytes = serde_json::to_vec(&archive).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "server",
            format!("the archive cannot be serialised: {e}"),
        )
    })?;
    let file = format!(
        "attachment; filename=\"{id}-{}.archive.json\"",
        archive.exported_at.replace([':', '.'], "-")
    );
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, file),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /api/v1/tenants/restore` with `{archive, orgId?}`: a new tenant from an archive; 201 with
/// the provisioning result and the one-time `credentials`, like `POST /api/v1/tenants`.
pub async fn restore<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    _: Admin,
    Query(params): Query<HashMap<String, String>>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    reject_unknown(&params, &[])?;
    let (map, mut issues) = small_object(&body, &["archive", "orgId"])?;
    let org_id = match map.get("orgId") {
        None | Some(Value::Null) => None,
        Some(Value::String(org)) => Some(org.clone()),
        Some(other) => {
            issues.push(Issue::new(
                JsonPath::root().key("orgId"),
                IssueCode::InvalidType,
                format!(
                    "Expected string, received {}",
                    objectos_spec::json_type_name(other)
                ),
            ));
            None
        }
    };
    let archive = match map.get("archive") {
        None => {
            issues.push(required("archive"));
            None
        }
        Some(value) => match TenantArchive::from_value(value) {
            Ok(archive) => Some(archive),
            Err(e) => {
                issues.extend(e.issues);
                None
            }
        },
    };
    let archive = match archive {
        Some(archive) if issues.is_empty() => archive,
        _ => return Err(ApiError::unprocessable(&issues)),
    };
    let source = json!({
        "tenantId": archive.tenant.id,
        "orgId": archive.tenant.org_id,
        "provider": archive.source.provider,
        "exportedAt": archive.exported_at,
        "contentHash": archive.content_hash,
        "counts": archive.counts,
    });
    let (tenant, credentials) = state
        .platform
        .restore_tenant(archive, RestoreOptions { org_id })
        .await?;
    let steps = state
        .platform
        .store()
        .steps(&tenant.id)
        .await
        .map_err(objectos_core::CoreError::from)?;
    let mut extra = Map::new();
    extra.insert("credentials".to_owned(), json!(credentials));
    Ok(success(
        StatusCode::CREATED,
        provisioning_result(&tenant, &steps),
        meta(vec![("created", json!(true)), ("restoredFrom", source)]),
        extra,
    ))
}
