//! The custom-domain table of the `lookup` resolver strategy (admin only):
//! `POST /api/v1/domains`, `GET /api/v1/domains[?tenantId=]`, `DELETE /api/v1/domains/{domain}`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use objectos_store::{ControlStore, DomainRecord};
use objectos_tenantdb::TenantDatabases;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::auth::Admin;
use crate::body::{required, small_object, JsonBody};
use crate::envelope::{ok, success};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn view(d: &DomainRecord) -> Value {
    json!({
        "domain": d.domain,
        "tenantId": d.tenant_id,
        "createdAt": objectos_core::time::rfc3339(d.created_at_ms),
    })
}

/// `POST /api/v1/domains` `{domain, tenantId}`: 201, 409 `domain_taken`, 404 unknown tenant.
pub async fn create<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    _admin: Admin,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    use objectos_spec::{Issue, IssueCode, JsonPath};
    let (map, mut issues) = small_object(&body, &["domain", "tenantId"])?;
    let mut text = |key: &str| match map.get(key) {
        None => {
            issues.push(required(key));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            issues.push(Issue::new(
                JsonPath::root().key(key),
                IssueCode::InvalidType,
                format!(
                    "Expected string, received {}",
                    objectos_spec::json_type_name(other)
                ),
            ));
            None
        }
    };
    let domain = text("domain");
    let tenant = text("tenantId");
    let (Some(domain), Some(tenant), true) = (domain, tenant, issues.is_empty()) else {
        return Err(ApiError::unprocessable(&issues));
    };
    let record = state.platform.add_domain(&domain, &tenant).await?;
    Ok(success(
        StatusCode::CREATED,
        view(&record),
        Map::new(),
        Map::new(),
    ))
}

/// Query of the domain list.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    tenant_id: Option<String>,
}

/// `GET /api/v1/domains[?tenantId=]`.
pub async fn list<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    _admin: Admin,
    Query(query): Query<ListQuery>,
) -> ApiResult<Response> {
    let domains = state
        .platform
        .list_domains(query.tenant_id.as_deref())
        .await?;
    Ok(ok(domains.iter().map(view).collect::<Vec<_>>()))
}

/// `DELETE /api/v1/domains/{domain}`.
pub async fn delete<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    _admin: Admin,
    Path(domain): Path<String>,
) -> ApiResult<Response> {
    state.platform.remove_domain(&domain).await?;
    Ok(ok(json!({"domain": domain, "deleted": true})))
}
