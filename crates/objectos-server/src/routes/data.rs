//! The ObjectStack data API: `/api/v1/data/{object}...` (CRUD, query, batches). The tenant comes
//! from the router's gate ([`crate::tenant_router`]); handlers only parse and answer.

use axum::extract::{MatchedPath, Path, Query, State};
use axum::response::Response;
use axum::Extension;
use objectos_core::data::{batch, query, DataError};
use objectos_spec::{Issue, IssueCode, JsonPath};
use objectos_store::ControlStore;
use objectos_tenantdb::TenantDatabases;
use serde::Deserialize;
use serde_json::Value;

use crate::body::JsonBody;
use crate::envelope::{created, ok};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tenant_router::DataTenant;

/// `{object}` of the route (extra parameters such as the path strategy's `{tenant}` are ignored).
#[derive(Debug, Deserialize)]
pub struct ObjectPath {
    object: String,
}

/// `{object}/{id}` of the route.
#[derive(Debug, Deserialize)]
pub struct RecordPath {
    object: String,
    id: String,
}

fn invalid(issues: Vec<Issue>) -> ApiError {
    ApiError::from_data(DataError::Invalid(issues))
}

/// The record of a create or update body: the record itself, or `{"data": {...}}` (the OpenAPI
/// `CreateRequest` form) when the object has no field named `data`.
fn record_body(tenant: &DataTenant, object: &str, body: Value) -> Value {
    let has_data_field = tenant
        .handle
        .model
        .object(object)
        .is_some_and(|o| o.fields.contains_key("data"));
    match body {
        Value::Object(mut map)
            if !has_data_field
                && map.len() == 1
                && map.get("data").is_some_and(Value::is_object) =>
        {
            map.remove("data").unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// `GET /api/v1/data/{object}`: `top`, `skip`, `sort`, `select`, `filter`, `count`, `field=value`.
pub async fn list<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    Extension(tenant): Extension<DataTenant>,
    Path(path): Path<ObjectPath>,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let query = query::from_params(&params).map_err(invalid)?;
    let page = state
        .platform
        .find_records(&tenant.handle, &path.object, query)
        .await?;
    Ok(ok(page))
}

/// `POST /api/v1/data/{object}/query`: a QueryAST body.
pub async fn query_ast<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    Extension(tenant): Extension<DataTenant>,
    Path(path): Path<ObjectPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let query = query::from_ast(&body).map_err(invalid)?;
    let page = state
        .platform
        .find_records(&tenant.handle, &path.object, query)
        .await?;
    Ok(ok(page))
}

/// `GET /api/v1/data/{object}/{id}`: `select` limits the fields.
pub async fn get<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    Extension(tenant): Extension<DataTenant>,
    Path(path): Path<RecordPath>,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let mut select = None;
    let mut issues = Vec::new();
    for (name, value) in params {
        match name.as_str() {
            "select" | "fields" => {
                select = Some(
                    value
                        .split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect(),
                )
            }
            other => issues.push(Issue::new(
                JsonPath::root().key(&objectos_core::data::write::truncate(other)),
                IssueCode::UnrecognizedKeys,
                "Unrecognized query parameter: a record read takes only 'select'",
            )),
        }
    }
    if !issues.is_empty() {
        return Err(invalid(issues));
    }
    let record = state
        .platform
        .get_record(&tenant.handle, &path.object, &path.id, select)
        .await?;
    Ok(ok(record))
}

/// `POST /api/v1/data/{object}`: creates a record (201).
pub async fn create<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    Extension(tenant): Extension<DataTenant>,
    Path(path): Path<ObjectPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = record_body(&tenant, &path.object, body);
    let result = state
        .platform
        .create_record(&tenant.handle, &path.object, body)
        .await?;
    Ok(created(result))
}

/// `PATCH` (or `PUT`) `/api/v1/data/{object}/{id}`: updates the given fields.
pub async fn update<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    Extension(tenant): Extension<DataTenant>,
    Path(path): Path<RecordPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = record_body(&tenant, &path.object, body);
    let updated = state
        .platform
        .update_record(&tenant.handle, &path.object, &path.id, body)
        .await?;
    Ok(ok(updated))
}

/// `DELETE /api/v1/data/{object}/{id}`.
pub async fn delete<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    Extension(tenant): Extension<DataTenant>,
    Path(path): Path<RecordPath>,
) -> ApiResult<Response> {
    let deleted = state
        .platform
        .delete_record(&tenant.handle, &path.object, &path.id)
        .await?;
    Ok(ok(deleted))
}

/// `POST /api/v1/data/{object}/createMany`: an array of records (or `{records}`), all or nothing.
pub async fn create_many<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    Extension(tenant): Extension<DataTenant>,
    Path(path): Path<ObjectPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let operations = batch::parse_create_many(&body).map_err(invalid)?;
    let result = state
        .platform
        .create_many(&tenant.handle, &path.object, operations)
        .await?;
    Ok(created(result))
}

/// `POST /api/v1/data/{object}/batch` (`{operation, records, options}` or mixed `{operations}`),
/// `.../updateMany` (`{records: [{id, data}], options}`) and `.../deleteMany` (`{ids, options}`):
/// the matched route picks the body's parser; all answer a `BatchUpdateResponse`.
pub async fn run_batch<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    Extension(tenant): Extension<DataTenant>,
    Path(path): Path<ObjectPath>,
    route: MatchedPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let parse = if route.as_str().ends_with("/updateMany") {
        batch::parse_update_many
    } else if route.as_str().ends_with("/deleteMany") {
        batch::parse_delete_many
    } else {
        batch::parse_batch
    };
    let request = parse(&body).map_err(invalid)?;
    let result = state
        .platform
        .run_batch(&tenant.handle, &path.object, request)
        .await?;
    Ok(ok(result))
}
