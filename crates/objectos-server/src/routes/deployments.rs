//! `/api/v1/tenants/{id}/deployments`: the deploy pipeline over HTTP (issue #4). The admin may
//! deploy to any tenant; a tenant's full-access key to its own; read-only keys may list and read.
//!
//! A deploy body is a DeployBundle, or `{bundle, options}` (recognised by its `bundle` member).
//! Validation issues of the bundle keep their paths relative to the bundle: bare for a bare
//! bundle, under `bundle` in the wrapped form; option issues are under `options`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use objectos_core::deploy::{DeployOptions, DeploymentRecord, Rename};
use objectos_core::CoreError;
use objectos_spec::types::deploy::DeployStatus;
use objectos_spec::{Issue, IssueCode, JsonPath, PathSegment};
use objectos_store::ControlStore;
use objectos_tenantdb::TenantDatabases;
use serde_json::{json, Map, Value};

use crate::auth::Caller;
use crate::body::{required, small_object, JsonBytes};
use crate::envelope::{ok, success};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The members of `options`.
const OPTION_KEYS: [&str; 3] = ["dryRun", "acknowledge", "renames"];

fn type_issue(path: JsonPath, expected: &str, value: &Value) -> Issue {
    Issue::new(
        path,
        IssueCode::InvalidType,
        format!(
            "Expected {expected}, received {}",
            objectos_spec::json_type_name(value)
        ),
    )
}

/// Reads `options` (absent or `null`: the defaults), adding every problem to `issues` with its
/// path under `options`.
fn parse_options(value: Option<&Value>, issues: &mut Vec<Issue>) -> DeployOptions {
    let base = JsonPath::root().key("options");
    let mut options = DeployOptions::default();
    let map = match value {
        None | Some(Value::Null) => return options,
        Some(Value::Object(map)) => map,
        Some(other) => {
            issues.push(type_issue(base, "object", other));
            return options;
        }
    };
    for key in map.keys().filter(|k| !OPTION_KEYS.contains(&k.as_str())) {
        issues.push(Issue::new(
            base.key(key),
            IssueCode::UnrecognizedKeys,
            format!(
                "Unrecognized key in options: '{key}'; allowed keys: {}",
                OPTION_KEYS.join(", ")
            ),
        ));
    }
    match map.get("dryRun") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => options.dry_run = *b,
        Some(other) => issues.push(type_issue(base.key("dryRun"), "boolean", other)),
    }
    match map.get("acknowledge") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) if s.starts_with("object:") || s.starts_with("field:") => {
                        options.acknowledge.push(s.clone());
                    }
                    Value::String(s) => issues.push(Issue::new(
                        base.key("acknowledge").index(i),
                        IssueCode::InvalidString,
                        format!(
                            "Expected 'object:<name>' or 'field:<object>.<field>', received '{s}'"
                        ),
                    )),
                    other => issues.push(type_issue(
                        base.key("acknowledge").index(i),
                        "string",
                        other,
                    )),
                }
            }
        }
        Some(other) => issues.push(type_issue(base.key("acknowledge"), "array", other)),
    }
    match map.get("renames") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match serde_json::from_value::<Rename>(item.clone()) {
                    Ok(rename) => options.renames.push(rename),
                    Err(e) => issues.push(Issue::new(
                        base.key("renames").index(i),
                        IssueCode::Custom,
                        format!(
                            "Expected {{kind: 'object', from, to}} or {{kind: 'field', object, from, to}}: {e}"
                        ),
                    )),
                }
            }
        }
        Some(other) => issues.push(type_issue(base.key("renames"), "array", other)),
    }
    options
}

/// A deploy body: `(bundle, options, wrapped)`.
fn parse_deploy_body(body: Value) -> ApiResult<(Value, DeployOptions, bool)> {
    let wrapped = body.as_object().is_some_and(|m| m.contains_key("bundle"));
    if !wrapped {
        // A bare bundle (or not an object at all: the bundle's validation says so at the root).
        return Ok((body, DeployOptions::default(), false));
    }
    let (map, mut issues) = small_object(&body, &["bundle", "options"])?;
    let options = parse_options(map.get("options"), &mut issues);
    let bundle = match map.get("bundle") {
        Some(Value::Null) | None => {
            issues.push(required("bundle"));
            Value::Null
        }
        Some(bundle) => bundle.clone(),
    };
    if !issues.is_empty() {
        return Err(ApiError::unprocessable(&issues));
    }
    Ok((bundle, options, true))
}

/// A rollback body: `{"options": {...}}`, or nothing at all.
fn parse_rollback_body(bytes: &Bytes) -> ApiResult<DeployOptions> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(DeployOptions::default());
    }
    let body: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "validation",
            format!("malformed JSON: {e}"),
        )
        .with_details(json!({"line": e.line(), "column": e.column()}))
    })?;
    let (map, mut issues) = small_object(&body, &["options"])?;
    let options = parse_options(map.get("options"), &mut issues);
    if !issues.is_empty() {
        return Err(ApiError::unprocessable(&issues));
    }
    Ok(options)
}

/// Maps a service error, placing validation issues where they sit in the request body: rename
/// issues under `options`, bundle issues under `bundle` when the bundle was wrapped.
fn deploy_error(e: CoreError, wrapped: bool) -> ApiError {
    match e {
        CoreError::Invalid(v) => {
            let total = v.total;
            let issues: Vec<Issue> = v
                .issues
                .into_iter()
                .map(|issue| {
                    let first = issue.path.segments().first();
                    let prefix = match first {
                        Some(PathSegment::Key(k)) if k == "renames" => {
                            JsonPath::root().key("options")
                        }
                        _ if wrapped => JsonPath::root().key("bundle"),
                        _ => JsonPath::root(),
                    };
                    Issue::new(issue.path.prefixed(&prefix), issue.code, issue.message)
                })
                .collect();
            ApiError::invalid_counted(
                StatusCode::UNPROCESSABLE_ENTITY,
                &issues,
                total,
                &JsonPath::root(),
            )
        }
        other => other.into(),
    }
}

/// A record as a response: `failed` is a 409 `deployment_failed` carrying the record; otherwise
/// `created` when something was recorded, else 200.
fn record_response(record: DeploymentRecord, created: StatusCode) -> ApiResult<Response> {
    if record.status == DeployStatus::Failed || record.error.is_some() {
        let message = format!(
            "deployment failed and nothing was changed: {}",
            record.error.as_deref().unwrap_or("unknown error")
        );
        let details = serde_json::to_value(&record).unwrap_or(Value::Null);
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "deployment_failed",
            "conflict",
            message,
        )
        .with_details(details));
    }
    let status = if record.no_changes || record.dry_run {
        StatusCode::OK
    } else {
        created
    };
    Ok(success(status, record, Map::new(), Map::new()))
}

/// `POST /api/v1/tenants/{id}/deployments`: 201 with the record; 200 when nothing changed or a
/// dry run.
pub async fn create<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonBytes,
) -> ApiResult<Response> {
    caller.require_tenant(&id, true)?;
    // Refused at once while another deployment runs, before the bundle is parsed.
    state.platform.ensure_no_deployment_running(&id)?;
    let (bundle, options, wrapped) = parse_deploy_body(body.parse()?)?;
    let record = state
        .platform
        .deploy(&id, bundle, options)
        .await
        .map_err(|e| deploy_error(e, wrapped))?;
    record_response(record, StatusCode::CREATED)
}

/// `POST /api/v1/tenants/{id}/deployments/plan`: a dry run (validation, diff and plan, executed
/// inside a transaction that is rolled back). Always 200.
pub async fn plan<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonBytes,
) -> ApiResult<Response> {
    caller.require_tenant(&id, true)?;
    state.platform.ensure_no_deployment_running(&id)?;
    let (bundle, mut options, wrapped) = parse_deploy_body(body.parse()?)?;
    options.dry_run = true;
    let record = state
        .platform
        .deploy(&id, bundle, options)
        .await
        .map_err(|e| deploy_error(e, wrapped))?;
    record_response(record, StatusCode::OK)
}

/// `GET /api/v1/tenants/{id}/deployments`: recorded deployments, newest first.
pub async fn list<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require_tenant(&id, false)?;
    let records = state.platform.list_deployments(&id).await?;
    let mut meta = Map::new();
    meta.insert("total".to_owned(), json!(records.len()));
    Ok(success(StatusCode::OK, records, meta, Map::new()))
}

/// `GET /api/v1/tenants/{id}/deployments/{did}`.
pub async fn show<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    caller: Caller,
    Path((id, did)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.require_tenant(&id, false)?;
    let record = state.platform.get_deployment(&id, &did).await?;
    Ok(ok(record))
}

/// `POST /api/v1/tenants/{id}/deployments/{did}/rollback`: a new deployment back to the parent
/// model, through the same gates. Body `{"options": {...}}` (optional; `renames` is ignored).
pub async fn rollback<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    caller: Caller,
    Path((id, did)): Path<(String, String)>,
    crate::body::RawBody(bytes): crate::body::RawBody,
) -> ApiResult<Response> {
    caller.require_tenant(&id, true)?;
    let options = parse_rollback_body(&bytes)?;
    let record = state
        .platform
        .rollback(&id, &did, options)
        .await
        .map_err(|e| deploy_error(e, false))?;
    record_response(record, StatusCode::CREATED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_report_every_problem_with_its_path() {
        let mut issues = Vec::new();
        let options = parse_options(
            Some(&json!({"dryRun": 1, "acknowledge": ["object:a", "x", 3], "foo": true})),
            &mut issues,
        );
        assert_eq!(options.acknowledge, vec!["object:a".to_owned()]);
        let mut paths: Vec<String> = issues.iter().map(|i| i.path.to_string()).collect();
        paths.sort();
        assert_eq!(
            paths,
            [
                "options.acknowledge[1]",
                "options.acknowledge[2]",
                "options.dryRun",
                "options.foo"
            ]
        );
    }

    #[test]
    fn bare_and_wrapped_bodies() {
        let (bundle, options, wrapped) = parse_deploy_body(json!({"objects": []})).unwrap();
        assert_eq!(
            (bundle, options, wrapped),
            (json!({"objects": []}), DeployOptions::default(), false)
        );
        let (bundle, options, wrapped) =
            parse_deploy_body(json!({"bundle": {"objects": []}, "options": {"dryRun": true}}))
                .unwrap();
        assert!(wrapped && options.dry_run);
        assert_eq!(bundle, json!({"objects": []}));
        assert!(parse_deploy_body(json!({"bundle": null})).is_err());
    }

    fn record(status: &str, error: Option<&str>) -> DeploymentRecord {
        serde_json::from_value(json!({
            "id": "dep_0123456789abcdef", "tenantId": "acme", "status": status,
            "validation": {"valid": true, "issues": [], "errorCount": 0, "warningCount": 0},
            "diff": {"changes": [], "summary": {"added": 0, "modified": 0, "removed": 0},
                     "hasBreakingChanges": false},
            "plan": {"statements": [], "dialect": "sqlite", "reversible": true,
                     "estimatedDurationMs": null},
            "timings": {"validatingMs": 0.0, "diffingMs": 0.0, "migratingMs": 0.0,
                        "registeringMs": 0.0, "totalMs": 0.0},
            "checksum": "00", "parentId": null, "error": error,
            "createdAt": "2026-11-22T00:00:00.000Z", "noChanges": false, "dryRun": false,
            "seq": null, "acknowledged": [], "renames": [], "rollbackOf": null
        }))
        .unwrap()
    }

    #[test]
    fn a_failed_record_is_a_409_carrying_it() {
        let failed = record("failed", Some("no such table: x"));
        let error = record_response(failed.clone(), StatusCode::CREATED).unwrap_err();
        assert_eq!(error.status, StatusCode::CONFLICT);
        assert_eq!(error.code, "deployment_failed");
        assert!(error.message.contains("no such table: x"));
        assert_eq!(error.details, serde_json::to_value(&failed).unwrap());
        let ready = record_response(record("ready", None), StatusCode::CREATED).unwrap();
        assert_eq!(ready.status(), StatusCode::CREATED);
        let mut same = record("ready", None);
        same.no_changes = true;
        assert_eq!(
            record_response(same, StatusCode::CREATED).unwrap().status(),
            StatusCode::OK
        );
    }
}
