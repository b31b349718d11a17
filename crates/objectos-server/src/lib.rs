//! HTTP: the control-plane API (`/api/v1/tenants...`), the ObjectStack envelope, authentication,
//! health, readiness, Prometheus metrics and the OpenAPI document. Handlers are generic over the
//! control store and the tenant-database provider; data flows HTTP → services → storage.

pub mod app;
pub mod auth;
pub mod body;
pub mod cluster;
pub mod envelope;
pub mod error;
pub mod fds;
pub mod request_id;
pub mod routes;
pub mod serve;
pub mod state;
pub mod tenant_router;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use axum::Router;
use objectos_spec::types::turso::TenantResolverStrategy;
use objectos_store::ControlStore;
use objectos_tenantdb::TenantDatabases;
use routes::{data, deployments, domains, events, hrana, keys, meta, ops, tenants};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ApiResult};
pub use state::{
    AppState, HranaSettings, ServerSettings, DEFAULT_ARCHIVE_BODY_LIMIT, MAX_ARCHIVE_BODY_LIMIT,
};

/// The whole HTTP application.
pub fn router<S: ControlStore, D: TenantDatabases>(state: AppState<S, D>) -> Router {
    let body_limit = state.settings.body_limit;
    // Archives are large: their route alone has its own (bounded) limit.
    let archive_limit = state
        .settings
        .archive_body_limit
        .min(state::MAX_ARCHIVE_BODY_LIMIT);
    Router::new()
        .route(
            "/api/v1/tenants",
            post(tenants::create::<S, D>).get(tenants::list::<S, D>),
        )
        .route(
            "/api/v1/tenants/restore",
            post(tenants::restore::<S, D>).layer(DefaultBodyLimit::max(archive_limit)),
        )
        .route(
            "/api/v1/tenants/{id}",
            get(tenants::show::<S, D>).delete(tenants::destroy::<S, D>),
        )
        .route(
            "/api/v1/tenants/{id}/archive",
            get(tenants::archive::<S, D>),
        )
        .route(
            "/api/v1/tenants/{id}/provisioning",
            get(tenants::provisioning::<S, D>),
        )
        .route("/api/v1/tenants/{id}/events", get(events::stream::<S, D>))
        .route("/api/v1/tenants/{id}/retry", post(tenants::retry::<S, D>))
        .route(
            "/api/v1/tenants/{id}/suspend",
            post(tenants::suspend::<S, D>),
        )
        .route("/api/v1/tenants/{id}/resume", post(tenants::resume::<S, D>))
        .route(
            "/api/v1/tenants/{id}/plan",
            post(tenants::change_plan::<S, D>),
        )
        .route("/api/v1/tenants/{id}/usage", get(tenants::usage::<S, D>))
        .route("/api/v1/tenants/{id}/quota", get(tenants::quota::<S, D>))
        .route(
            "/api/v1/tenants/{id}/keys",
            post(keys::create::<S, D>).get(keys::list::<S, D>),
        )
        .route(
            "/api/v1/tenants/{id}/keys/{key_id}",
            delete(keys::revoke::<S, D>),
        )
        .route(
            "/api/v1/tenants/{id}/deployments",
            post(deployments::create::<S, D>).get(deployments::list::<S, D>),
        )
        .route(
            "/api/v1/tenants/{id}/deployments/plan",
            post(deployments::plan::<S, D>),
        )
        .route(
            "/api/v1/tenants/{id}/deployments/{did}",
            get(deployments::show::<S, D>),
        )
        .route(
            "/api/v1/tenants/{id}/deployments/{did}/rollback",
            post(deployments::rollback::<S, D>),
        )
        .route(
            "/api/v1/domains",
            post(domains::create::<S, D>).get(domains::list::<S, D>),
        )
        .route("/api/v1/domains/{domain}", delete(domains::delete::<S, D>))
        .route("/.well-known/objectstack", get(meta::discovery::<S, D>))
        .route("/api/v1/discovery", get(meta::discovery::<S, D>))
        .route("/api/v1", get(meta::discovery::<S, D>))
        .merge(tenant_api(&state))
        .merge(hrana_routes())
        .route("/api/v1/openapi.json", get(ops::openapi))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz::<S, D>))
        .route("/metrics", get(ops::metrics::<S, D>))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        // Inside the request-id scope, so even a panic's 500 carries the request id.
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "server",
                "internal error",
            )
            .into_response()
        }))
        .layer(middleware::from_fn(envelope_plain_errors))
        .layer(middleware::from_fn(track_metrics))
        .layer(middleware::from_fn(request_id::assign))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The routes served per tenant (behind the tenant router's gate): metadata and data.
fn tenant_routes<S: ControlStore, D: TenantDatabases>(
    state: &AppState<S, D>,
) -> Router<AppState<S, D>> {
    Router::new()
        .route("/api/v1/meta", get(meta::types))
        .route("/api/v1/meta/types", get(meta::types))
        .route("/api/v1/meta/{type}", get(meta::items::<S, D>))
        .route("/api/v1/meta/{type}/{name}", get(meta::item::<S, D>))
        .route(
            "/api/v1/data/{object}",
            get(data::list::<S, D>).post(data::create::<S, D>),
        )
        .route("/api/v1/data/{object}/query", post(data::query_ast::<S, D>))
        .route(
            "/api/v1/data/{object}/createMany",
            post(data::create_many::<S, D>),
        )
        .route("/api/v1/data/{object}/batch", post(data::run_batch::<S, D>))
        .route(
            "/api/v1/data/{object}/updateMany",
            post(data::run_batch::<S, D>),
        )
        .route(
            "/api/v1/data/{object}/deleteMany",
            post(data::run_batch::<S, D>),
        )
        .route(
            "/api/v1/data/{object}/{id}",
            get(data::get::<S, D>)
                .patch(data::update::<S, D>)
                .put(data::update::<S, D>)
                .delete(data::delete::<S, D>),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            tenant_router::gate::<S, D>,
        ))
}

/// The Hrana (libSQL) endpoint, at the root and under `/t/{tenant}` (docs/hrana.md). Hrana over
/// Protobuf (`/v3-protobuf...`) is not served: its probe gets the fallback's 404, so that clients
/// use JSON.
fn hrana_routes<S: ControlStore, D: TenantDatabases>() -> Router<AppState<S, D>> {
    Router::new()
        .route("/v2", get(hrana::probe_v2))
        .route("/v3", get(hrana::probe_v3))
        .route("/v2/pipeline", post(hrana::pipeline_v2::<S, D>))
        .route("/v3/pipeline", post(hrana::pipeline_v3::<S, D>))
        .route("/v3/cursor", post(hrana::cursor_v3::<S, D>))
        .route("/t/{tenant}/v2", get(hrana::probe_v2))
        .route("/t/{tenant}/v3", get(hrana::probe_v3))
        .route(
            "/t/{tenant}/v2/pipeline",
            post(hrana::tenant_pipeline_v2::<S, D>),
        )
        .route(
            "/t/{tenant}/v3/pipeline",
            post(hrana::tenant_pipeline_v3::<S, D>),
        )
        .route(
            "/t/{tenant}/v3/cursor",
            post(hrana::tenant_cursor_v3::<S, D>),
        )
}

/// The tenant API where the strategy serves it: at the root, or under `/t/{tenant}` (with the
/// discovery documents there too) for the `path` strategy.
fn tenant_api<S: ControlStore, D: TenantDatabases>(
    state: &AppState<S, D>,
) -> Router<AppState<S, D>> {
    if state.settings.resolver == TenantResolverStrategy::Path {
        let discovery = Router::new()
            .route("/.well-known/objectstack", get(meta::discovery::<S, D>))
            .route("/api/v1/discovery", get(meta::discovery::<S, D>))
            .route("/api/v1", get(meta::discovery::<S, D>));
        Router::new().nest("/t/{tenant}", tenant_routes(state).merge(discovery))
    } else {
        tenant_routes(state)
    }
}

async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "not_found",
        format!("no route for {} {}", request.method(), request.uri().path()),
    )
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "validation",
        format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}

/// Puts errors answered in plain text by the framework itself (an undecodable path segment or
/// query string, ...) into the ObjectStack error envelope, so every error has the same shape.
async fn envelope_plain_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    let (code, category) = if status.is_server_error() {
        ("internal", "server")
    } else {
        ("bad_request", "validation")
    };
    let message = if text.is_empty() {
        status.to_string()
    } else {
        text
    };
    ApiError::new(status, code, category, message).into_response()
}

/// Counts requests and records their duration by route template and status.
async fn track_metrics(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("objectos_http_requests_total", &labels).increment(1);
    metrics::histogram!("objectos_http_request_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
