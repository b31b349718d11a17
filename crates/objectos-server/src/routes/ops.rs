//! Operations: `/healthz` (the process is up), `/readyz` (recovered and the store answers),
//! `/metrics` (Prometheus text), `/api/v1/openapi.json`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use objectos_store::ControlStore;
use objectos_tenantdb::TenantDatabases;
use serde_json::json;

use crate::envelope::ok;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The control-plane API's OpenAPI document.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// `GET /healthz`.
pub async fn healthz() -> Response {
    ok(json!({"status": "ok"}))
}

/// `GET /readyz`.
pub async fn readyz<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
) -> ApiResult<Response> {
    if !state.is_ready() {
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "unavailable",
            "starting or shutting down",
        );
        e.retry_after = Some(1);
        return Err(e);
    }
    state
        .platform
        .store()
        .setting("admin_token_sha256")
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "readiness check failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "unavailable",
                "control store unavailable",
            )
        })?;
    Ok(ok(json!({"status": "ready"})))
}

/// `GET /metrics`.
pub async fn metrics<S, D>(State(state): State<AppState<S, D>>) -> Response {
    let body = state
        .metrics
        .as_ref()
        .map(|h| h.render())
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
