//! Hrana over HTTP (the libSQL remote protocol): `POST /v2/pipeline`, `/v3/pipeline`,
//! `/v3/cursor`, the `GET /v2` and `/v3` probes, and the same under `/t/{tenant}/`. Each tenant's
//! database answers libSQL clients (`@libsql/client`, the `libsql` crate) with the tenant's API
//! key as the bearer token. Errors are Hrana errors (`{"message", "code"}`), never the ObjectStack
//! envelope: that is what those clients parse. See docs/hrana.md.

use axum::body::Body;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use objectos_core::KeyScope;
use objectos_spec::types::provisioning::TenantProvisioningStatus;
use objectos_store::ControlStore;
use objectos_tenantdb::hrana::proto::{self, CursorHead, CursorRequest, PipelineRequest};
use objectos_tenantdb::hrana::{Access, RawSql, StreamError, Version};
use objectos_tenantdb::{TenantDatabases, TenantDbError};

use crate::error::ApiError;
use crate::state::AppState;

/// A refused Hrana request: an HTTP status and a Hrana error body.
#[derive(Debug)]
pub struct HranaError {
    status: StatusCode,
    error: proto::Error,
    retry_after: Option<u64>,
}

impl HranaError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            error: proto::Error::new(code, message),
            retry_after: None,
        }
    }
}

impl From<ApiError> for HranaError {
    fn from(e: ApiError) -> Self {
        Self {
            status: e.status,
            error: proto::Error::new(&e.code.to_ascii_uppercase(), e.message.clone()),
            retry_after: e.retry_after,
        }
    }
}

impl From<StreamError> for HranaError {
    fn from(e: StreamError) -> Self {
        let status = match &e {
            StreamError::InvalidBaton
            | StreamError::BatonReused
            | StreamError::Expired
            | StreamError::TooManyRequests(_) => StatusCode::BAD_REQUEST,
            StreamError::TooMany { .. } | StreamError::Open(_) => StatusCode::SERVICE_UNAVAILABLE,
            StreamError::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
        };
        let mut error = Self::new(status, e.code(), e.to_string());
        if matches!(e, StreamError::TooMany { .. }) {
            error.retry_after = Some(1);
        }
        error
    }
}

impl IntoResponse for HranaError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.error)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// `GET /v2` (and `/t/{tenant}/v2`): the version probe.
pub async fn probe_v2() -> &'static str {
    "Hello, this is HTTP API v2 (Hrana over HTTP)"
}

/// `GET /v3` (and `/t/{tenant}/v3`): the version probe.
pub async fn probe_v3() -> &'static str {
    "Hello, this is HTTP API v3 (Hrana over HTTP)"
}

/// Who is calling, for which tenant, with which rights.
struct Caller {
    tenant_id: String,
    access: Access,
}

async fn authenticate<S: ControlStore, D: TenantDatabases>(
    state: &AppState<S, D>,
    headers: &HeaderMap,
    path: &str,
    path_tenant: Option<&str>,
) -> Result<Caller, HranaError> {
    let (tenant, _) = crate::tenant_router::resolve_access(state, headers, path, false).await?;
    if let Some(named) = path_tenant {
        if named != tenant.handle.tenant_id {
            return Err(HranaError::new(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "this API key belongs to another tenant",
            ));
        }
    }
    let read_only = tenant.scope != KeyScope::FullAccess
        || tenant.handle.status == TenantProvisioningStatus::Suspended;
    let tenant_id = tenant.handle.tenant_id.clone();
    let allow_ddl = state.settings.hrana.ddl_tenants.contains(&tenant_id);
    Ok(Caller {
        tenant_id,
        access: Access {
            read_only,
            allow_ddl,
        },
    })
}

fn raw_sql<S: ControlStore, D: TenantDatabases>(
    state: &AppState<S, D>,
    tenant_id: &str,
) -> Result<RawSql, HranaError> {
    state
        .platform
        .dbs()
        .raw_sql(tenant_id)
        .map_err(|e| match e {
            TenantDbError::Missing(_) => HranaError::new(
                StatusCode::NOT_FOUND,
                "TENANT_NOT_FOUND",
                format!("tenant {tenant_id} has no database"),
            ),
            other => HranaError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "DATABASE_UNAVAILABLE",
                other.to_string(),
            ),
        })
}

async fn read_json<T: serde::de::DeserializeOwned>(
    body: Body,
    limit: usize,
) -> Result<T, HranaError> {
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        HranaError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("the request body is larger than {limit} bytes"),
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        HranaError::new(
            StatusCode::BAD_REQUEST,
            "PROTOCOL_ERROR",
            format!("invalid Hrana request: {e}"),
        )
    })
}

async fn pipeline<S: ControlStore, D: TenantDatabases>(
    state: AppState<S, D>,
    headers: HeaderMap,
    path: String,
    path_tenant: Option<String>,
    body: Body,
    version: Version,
) -> Result<Response, HranaError> {
    let caller = authenticate(&state, &headers, &path, path_tenant.as_deref()).await?;
    let request: PipelineRequest = read_json(body, state.settings.hrana.body_limit).await?;
    let raw = raw_sql(&state, &caller.tenant_id)?;
    let response = state
        .hrana
        .pipeline(
            &caller.tenant_id,
            caller.access,
            raw,
            request.baton.as_deref(),
            request.requests,
            version,
        )
        .await?;
    Ok(axum::Json(response).into_response())
}

async fn cursor<S: ControlStore, D: TenantDatabases>(
    state: AppState<S, D>,
    headers: HeaderMap,
    path: String,
    path_tenant: Option<String>,
    body: Body,
) -> Result<Response, HranaError> {
    let caller = authenticate(&state, &headers, &path, path_tenant.as_deref()).await?;
    let request: CursorRequest = read_json(body, state.settings.hrana.body_limit).await?;
    let raw = raw_sql(&state, &caller.tenant_id)?;
    let (baton, entries) = state
        .hrana
        .cursor(
            &caller.tenant_id,
            caller.access,
            raw,
            request.baton.as_deref(),
            request.batch,
        )
        .await?;
    let mut text = serde_json::to_string(&CursorHead {
        baton,
        base_url: None,
    })
    .unwrap_or_default();
    text.push('\n');
    for entry in &entries {
        text.push_str(&serde_json::to_string(entry).unwrap_or_default());
        text.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "text/plain")], text).into_response())
}

fn respond(result: Result<Response, HranaError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /v2/pipeline`.
pub async fn pipeline_v2<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri.path().to_owned();
    respond(pipeline(state, headers, path, None, body, Version::V2).await)
}

/// `POST /v3/pipeline`.
pub async fn pipeline_v3<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri.path().to_owned();
    respond(pipeline(state, headers, path, None, body, Version::V3).await)
}

/// `POST /v3/cursor`.
pub async fn cursor_v3<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri.path().to_owned();
    respond(cursor(state, headers, path, None, body).await)
}

/// `POST /t/{tenant}/v2/pipeline`.
pub async fn tenant_pipeline_v2<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    Path(tenant): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri.path().to_owned();
    respond(pipeline(state, headers, path, Some(tenant), body, Version::V2).await)
}

/// `POST /t/{tenant}/v3/pipeline`.
pub async fn tenant_pipeline_v3<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    Path(tenant): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri.path().to_owned();
    respond(pipeline(state, headers, path, Some(tenant), body, Version::V3).await)
}

/// `POST /t/{tenant}/v3/cursor`.
pub async fn tenant_cursor_v3<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    Path(tenant): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri.path().to_owned();
    respond(cursor(state, headers, path, Some(tenant), body).await)
}
