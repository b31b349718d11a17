//! The tenant router of the data API: which tenant a request is for (per the configured
//! `TenantResolverStrategy`), whether the caller may reach it, and its rate limit.
//!
//! - `token` (default): the API key names its tenant;
//! - `header`: `X-Tenant-ID` names it; only the admin token may use it (a tenant key reaches its
//!   own tenant, and a header naming another tenant is refused);
//! - `subdomain`: `{tenant}.<base domain>` in `Host`;
//! - `path`: `/t/{tenant}/api/v1/...`;
//! - `lookup`: `Host` looked up in the custom-domain table.
//!
//! A tenant key always reaches only its own tenant: a request naming another tenant is refused
//! with 403 before that tenant is looked up, so the answer never says whether it exists.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use objectos_core::data::{RateDecision, TenantHandle};
use objectos_core::ids::{constant_time_eq, hash_secret, KEY_PREFIX};
use objectos_core::KeyScope;
use objectos_spec::types::provisioning::TenantProvisioningStatus;
use objectos_spec::types::turso::TenantResolverStrategy;
use objectos_store::ControlStore;
use objectos_tenantdb::TenantDatabases;

use crate::error::ApiError;
use crate::state::AppState;

/// The tenant a data API request was routed to, and what the caller may do there.
#[derive(Debug, Clone)]
pub struct DataTenant {
    /// The resolved tenant.
    pub handle: Arc<TenantHandle>,
    /// The caller's scope (the admin has full access).
    pub scope: KeyScope,
}

enum Credential {
    Admin,
    Key(objectos_core::KeyAuth),
}

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let text = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <API key>"))?
        .to_str()
        .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
    text.strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <API key>"))
}

fn forbidden(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, "authorization", message)
}

fn host(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(|h| {
            let h = h.trim().to_ascii_lowercase();
            match h.rsplit_once(':') {
                Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_owned(),
                _ => h,
            }
        })
}

fn tenant_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "tenant_not_found",
        "not_found",
        "no tenant is served at this address",
    )
}

/// The tenant named by the request itself (not by the key), per strategy.
async fn named_tenant<S: ControlStore, D: TenantDatabases>(
    state: &AppState<S, D>,
    headers: &HeaderMap,
    path: &str,
) -> Result<Option<String>, ApiError> {
    match state.settings.resolver {
        TenantResolverStrategy::Token => Ok(None),
        TenantResolverStrategy::Header => Ok(headers
            .get("x-tenant-id")
            .map(|v| {
                v.to_str()
                    .map(|s| s.trim().to_owned())
                    .map_err(|_| bad_tenant_header())
            })
            .transpose()?
            .filter(|s| !s.is_empty())),
        TenantResolverStrategy::Subdomain => {
            let base = state.settings.base_domain.as_deref().unwrap_or("localhost");
            let host = host(headers).ok_or_else(tenant_not_found)?;
            let tenant = host
                .strip_suffix(base)
                .and_then(|rest| rest.strip_suffix('.'))
                .filter(|t| !t.is_empty() && !t.contains('.'))
                .ok_or_else(tenant_not_found)?;
            Ok(Some(tenant.to_owned()))
        }
        TenantResolverStrategy::Path => {
            let tenant = path
                .strip_prefix("/t/")
                .and_then(|rest| rest.split('/').next())
                .filter(|t| !t.is_empty())
                .ok_or_else(tenant_not_found)?;
            Ok(Some(tenant.to_owned()))
        }
        TenantResolverStrategy::Lookup => {
            let host = host(headers).ok_or_else(tenant_not_found)?;
            match state.platform.tenant_for_domain(&host).await? {
                Some(tenant) => Ok(Some(tenant)),
                None => Err(tenant_not_found()),
            }
        }
    }
}

fn bad_tenant_header() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_tenant_header",
        "validation",
        "X-Tenant-ID must be a visible ASCII tenant id",
    )
}

/// True for requests that write; `route` is the matched route template (a `POST` to the
/// `/{object}/query` route only reads — decided by the route, so an object named `query` is not
/// mistaken for it).
fn is_write(method: &Method, route: &str) -> bool {
    match *method {
        Method::GET | Method::HEAD | Method::OPTIONS => false,
        Method::POST => !route.ends_with("/{object}/query"),
        _ => true,
    }
}

/// The data API's gate: resolves the tenant, checks the caller and the rate limit, and adds the
/// rate-limit headers to the response.
pub async fn gate<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    request: Request,
    next: Next,
) -> Response {
    // The parts (not the body, which is not `Sync`) are borrowed across the awaits below.
    let (mut parts, body) = request.into_parts();
    // Under `nest("/t/{tenant}", ...)` the request's URI has the prefix stripped: the path
    // strategy needs the path as the client sent it.
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| parts.uri.path(), |uri| uri.path())
        .to_owned();
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| path.clone(), |m| m.as_str().to_owned());
    let (tenant, limit) = match resolve(&state, &parts.headers, &parts.method, &path, &route).await
    {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    parts.extensions.insert(tenant);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let RateDecision::Allowed { limit, remaining } = limit {
        set_rate_headers(response.headers_mut(), limit, remaining);
    }
    response
}

fn set_rate_headers(headers: &mut HeaderMap, limit: u32, remaining: u32) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
}

async fn resolve<S: ControlStore, D: TenantDatabases>(
    state: &AppState<S, D>,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    route: &str,
) -> Result<(DataTenant, RateDecision), ApiError> {
    resolve_access(state, headers, path, is_write(method, route)).await
}

/// Resolves the tenant of a request and checks the caller and the rate limit; `write` also
/// refuses read-only keys and suspended tenants. The Hrana endpoint calls it with `write` false
/// and enforces read-only access on the connection instead.
pub(crate) async fn resolve_access<S: ControlStore, D: TenantDatabases>(
    state: &AppState<S, D>,
    headers: &HeaderMap,
    path: &str,
    write: bool,
) -> Result<(DataTenant, RateDecision), ApiError> {
    let token = bearer(headers)?;
    let credential = if token.starts_with(KEY_PREFIX) {
        Credential::Key(state.platform.authenticate_key_cached(token).await?)
    } else if constant_time_eq(&hash_secret(token), &state.admin_token_hash) {
        Credential::Admin
    } else {
        return Err(ApiError::unauthorized("invalid token"));
    };
    let named = named_tenant(state, headers, path).await?;
    let (tenant_id, scope) = match (credential, named) {
        (Credential::Key(auth), None) => (auth.key.tenant_id.clone(), auth.scope),
        (Credential::Key(auth), Some(named)) => {
            if named != auth.key.tenant_id {
                return Err(forbidden(
                    "forbidden",
                    "this API key belongs to another tenant",
                ));
            }
            (named, auth.scope)
        }
        (Credential::Admin, Some(named))
            if state.settings.resolver != TenantResolverStrategy::Token =>
        {
            (named, KeyScope::FullAccess)
        }
        (Credential::Admin, _) => {
            let hint = if state.settings.resolver == TenantResolverStrategy::Header {
                "the admin token must name the tenant with X-Tenant-ID"
            } else {
                "the data API needs a tenant API key (the admin token reaches tenants only with the header, subdomain, path or lookup strategies)"
            };
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "tenant_required",
                "validation",
                hint,
            ));
        }
    };
    let handle = state.platform.resolve_tenant(&tenant_id).await?;
    if write {
        if handle.status == TenantProvisioningStatus::Suspended {
            return Err(forbidden(
                "tenant_suspended",
                &format!("tenant {tenant_id} is suspended: it is read-only until resumed"),
            ));
        }
        if scope != KeyScope::FullAccess {
            return Err(forbidden(
                "insufficient_scope",
                "this API key is read-only; writes need a full-access key",
            ));
        }
    }
    let decision = state.platform.check_rate(&handle);
    if let RateDecision::Limited {
        limit,
        retry_after_ms,
    } = decision
    {
        let secs = retry_after_ms.div_ceil(1000).max(1);
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "rate_limit",
            format!("the tenant's plan allows {limit} API requests per minute; retry in {secs} s"),
        )
        .with_details(serde_json::json!({"limit": limit, "retryAfterMs": retry_after_ms}));
        error.retry_after = Some(secs);
        error.rate_limit = Some(limit);
        return Err(error);
    }
    Ok((DataTenant { handle, scope }, decision))
}
