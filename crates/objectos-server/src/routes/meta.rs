//! Discovery (`/.well-known/objectstack`, `/api/v1/discovery`, public) and the tenant's metadata
//! (`/api/v1/meta...`, behind the tenant router), with ETag / If-None-Match.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use objectos_core::data::{MetaItem, META_TYPES};
use objectos_spec::types::turso::TenantResolverStrategy;
use objectos_store::ControlStore;
use objectos_tenantdb::TenantDatabases;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::envelope::ok;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tenant_router::DataTenant;

/// The protocol version served.
pub const API_VERSION: &str = "v1";

/// `GetDiscoveryResponse`. Routes are relative to the client's base URL (with the `path` strategy
/// the base URL is `.../t/{tenant}`).
pub fn discovery_document(strategy: TenantResolverStrategy) -> Value {
    let service = |route: &str| json!({"enabled": true, "status": "available", "route": route, "provider": "objectos", "version": env!("CARGO_PKG_VERSION")});
    let off = || json!({"enabled": false, "status": "unavailable"});
    json!({
        "name": "objectos",
        "apiName": "ObjectStack",
        "version": API_VERSION,
        "environment": "production",
        "routes": {
            "data": "/api/v1/data",
            "metadata": "/api/v1/meta",
            "discovery": "/api/v1/discovery",
        },
        "locale": {"default": "en", "supported": ["en"], "timezone": "UTC"},
        "services": {
            "data": service("/api/v1/data"),
            "metadata": service("/api/v1/meta"),
            "discovery": service("/api/v1/discovery"),
            "auth": off(),
            "automation": off(),
            "storage": off(),
            "analytics": off(),
            "realtime": off(),
            "workflow": off(),
            "ai": off(),
        },
        "capabilities": {
            "feed": {"enabled": false},
            "comments": {"enabled": false},
            "automation": {"enabled": false},
            "cron": {"enabled": false},
            "search": {"enabled": false},
            "export": {"enabled": false},
            "chunkedUpload": {"enabled": false},
            "batch": {"enabled": true, "features": {"atomic": true, "continueOnError": true, "returnRecords": true, "validateOnly": true}},
            "query": {"enabled": true, "features": {"filterAst": true, "filterObject": true, "sort": true, "select": true, "count": true, "notContains": true, "aggregations": true, "groupBy": true, "distinct": true, "cursor": true, "expand": false, "search": false}},
            "metadataCache": {"enabled": true, "features": {"etag": true}},
        },
        "schemaDiscovery": {"openapi": "/api/v1/openapi.json"},
        "metadata": {"tenantResolverStrategy": strategy.as_str()},
    })
}

/// `GET /.well-known/objectstack`, `GET /api/v1/discovery`, `GET /api/v1`: public.
pub async fn discovery<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
) -> Response {
    ok(discovery_document(state.settings.resolver))
}

/// `{type}` of the route.
#[derive(Debug, Deserialize)]
pub struct TypePath {
    r#type: String,
}

/// `{type}/{name}` of the route.
#[derive(Debug, Deserialize)]
pub struct ItemPath {
    r#type: String,
    name: String,
}

/// True when `If-None-Match` lists `etag` (weak or strong) or `*`.
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
        .any(|t| t == "*" || t == etag)
}

fn with_etag(headers: &HeaderMap, etag: &str, body: impl FnOnce() -> Response) -> Response {
    let quoted = HeaderValue::from_str(&format!("\"{etag}\"")).ok();
    let mut response = if not_modified(headers, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body()
    };
    if let Some(v) = quoted {
        response.headers_mut().insert(header::ETAG, v);
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response
}

/// `GET /api/v1/meta` and `/api/v1/meta/types`: `GetMetaTypesResponse`.
pub async fn types(Extension(tenant): Extension<DataTenant>, headers: HeaderMap) -> Response {
    with_etag(&headers, &tenant.handle.model.etag, || {
        ok(json!({"types": META_TYPES}))
    })
}

fn unknown_type(kind: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "metadata_type_not_found",
        "not_found",
        format!(
            "unknown metadata type '{}'; served: {}",
            objectos_core::data::write::truncate(kind),
            META_TYPES.join(", ")
        ),
    )
}

async fn items_of<S: ControlStore, D: TenantDatabases>(
    state: &AppState<S, D>,
    tenant: &DataTenant,
    kind: &str,
) -> ApiResult<Vec<MetaItem>> {
    state
        .platform
        .metadata_items(&tenant.handle, kind)
        .await?
        .ok_or_else(|| unknown_type(kind))
}

/// `GET /api/v1/meta/{type}`: `GetMetaItemsResponse`.
pub async fn items<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    Extension(tenant): Extension<DataTenant>,
    Path(path): Path<TypePath>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let items = items_of(&state, &tenant, &path.r#type).await?;
    let etag = objectos_core::data::model::etag_of(
        &items
            .iter()
            .map(|i| i.etag.as_str())
            .collect::<Vec<_>>()
            .join(","),
    );
    Ok(with_etag(&headers, &etag, || {
        ok(
            json!({"type": path.r#type, "items": items.into_iter().map(|i| i.item).collect::<Vec<_>>()}),
        )
    }))
}

/// `GET /api/v1/meta/{type}/{name}`: `GetMetaItemResponse`.
pub async fn item<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    Extension(tenant): Extension<DataTenant>,
    Path(path): Path<ItemPath>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let items = items_of(&state, &tenant, &path.r#type).await?;
    let found = items
        .into_iter()
        .find(|i| i.name == path.name)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "metadata_not_found",
                "not_found",
                format!(
                    "no {} named '{}' is deployed",
                    path.r#type,
                    objectos_core::data::write::truncate(&path.name)
                ),
            )
        })?;
    Ok(with_etag(&headers, &found.etag, || {
        ok(json!({"type": path.r#type, "name": found.name, "item": found.item}))
    }))
}
