//! Who is calling: the admin (admin token) or a tenant (its API key). Both come as
//! `Authorization: Bearer ...`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use objectos_core::ids::{constant_time_eq, hash_secret, KEY_PREFIX};
use objectos_core::{KeyAuth, KeyScope};
use objectos_store::ControlStore;
use objectos_tenantdb::TenantDatabases;

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum Caller {
    /// Holder of the admin token: everything.
    Admin,
    /// Holder of a tenant key: its own tenant only, per scope.
    Tenant(KeyAuth),
}

/// The admin, or 401/403.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <token>"))?;
    let text = header
        .to_str()
        .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
    let token = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <token>"))?;
    Ok(token)
}

impl<S: ControlStore, D: TenantDatabases> FromRequestParts<AppState<S, D>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S, D>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        if token.starts_with(KEY_PREFIX) {
            let auth = state.platform.authenticate_key(token).await?;
            return Ok(Self::Tenant(auth));
        }
        if constant_time_eq(&hash_secret(token), &state.admin_token_hash) {
            return Ok(Self::Admin);
        }
        Err(ApiError::unauthorized("invalid token"))
    }
}

impl<S: ControlStore, D: TenantDatabases> FromRequestParts<AppState<S, D>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S, D>,
    ) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Admin => Ok(Self),
            Caller::Tenant(_) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "authorization",
                "this endpoint needs the admin token; tenant API keys cannot use it",
            )),
        }
    }
}

impl Caller {
    /// Allows the admin, or a key of `tenant_id` (with full access when `write`).
    pub fn require_tenant(&self, tenant_id: &str, write: bool) -> Result<(), ApiError> {
        match self {
            Self::Admin => Ok(()),
            Self::Tenant(auth) if auth.key.tenant_id != tenant_id => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "authorization",
                "this API key belongs to another tenant",
            )),
            Self::Tenant(auth) if write && auth.scope != KeyScope::FullAccess => {
                Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    "authorization",
                    "this API key is read-only",
                ))
            }
            Self::Tenant(_) => Ok(()),
        }
    }
}
