//! `/api/v1/tenants/{id}/keys`: API keys. The admin may manage any tenant's keys; a tenant's
//! full-access key may manage its own tenant's (self-service rotation); read-only keys may list.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use objectos_core::{key_view, KeyScope};
use objectos_spec::{Issue, IssueCode, JsonPath};
use objectos_store::ControlStore;
use objectos_tenantdb::TenantDatabases;
use serde_json::{json, Map, Value};

use crate::auth::Caller;
use crate::body::{required, small_object, JsonBody};
use crate::envelope::{ok, success};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Longest key lifetime accepted: ten years.
const MAX_EXPIRES_IN_SECS: u64 = 10 * 366 * 24 * 3600;

/// Reads `{scope, expiresIn?}`; `expiresIn` is seconds, or a duration such as `"30d"`, `"12h"`,
/// `"2w"`, or `"never"`.
fn parse_key_request(body: &Value) -> ApiResult<(KeyScope, Option<u64>)> {
    let root = JsonPath::root();
    let (map, mut issues) = small_object(body, &["scope", "expiresIn"])?;
    let scope = match map.get("scope") {
        None => {
            issues.push(required("scope"));
            None
        }
        Some(Value::String(s)) if s == "full-access" => Some(KeyScope::FullAccess),
        Some(Value::String(s)) if s == "read-only" => Some(KeyScope::ReadOnly),
        Some(Value::String(s)) => {
            issues.push(Issue::new(
                root.key("scope"),
                IssueCode::InvalidEnumValue,
                format!("Invalid enum value. Expected 'full-access' | 'read-only', received '{s}'"),
            ));
            None
        }
        Some(other) => {
            issues.push(Issue::new(
                root.key("scope"),
                IssueCode::InvalidType,
                format!(
                    "Expected 'full-access' | 'read-only', received {}",
                    objectos_spec::json_type_name(other)
                ),
            ));
            None
        }
    };
    let expires = match map.get("expiresIn") {
        None | Some(Value::Null) => None,
        Some(value) => match expires_in_secs(value) {
            Ok(secs) => secs,
            Err((code, message)) => {
                issues.push(Issue::new(root.key("expiresIn"), code, message));
                None
            }
        },
    };
    match scope {
        Some(scope) if issues.is_empty() => Ok((scope, expires)),
        _ => Err(ApiError::unprocessable(&issues)),
    }
}

fn expires_in_secs(value: &Value) -> Result<Option<u64>, (IssueCode, String)> {
    let secs = match value {
        Value::Number(n) => n.as_u64().ok_or((
            IssueCode::InvalidType,
            format!("Expected a whole number of seconds > 0, received {n}"),
        ))?,
        Value::String(s) if s == "never" => return Ok(None),
        Value::String(s) => {
            // The unit is the last character, which may be several bytes long: split at its
            // start, never inside it.
            let unit_at = s.char_indices().next_back().map_or(0, |(at, _)| at);
            let (digits, unit) = s.split_at(unit_at);
            let factor = match unit {
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86_400,
                "w" => 604_800,
                _ => 0,
            };
            let n = digits.parse::<u64>().ok().filter(|_| factor > 0).ok_or((
                IssueCode::InvalidString,
                format!(
                    "Expected seconds or a duration like 30d, 12h, 2w or 'never', received '{s}'"
                ),
            ))?;
            n.saturating_mul(factor)
        }
        other => {
            return Err((
                IssueCode::InvalidType,
                format!(
                    "Expected number or string, received {}",
                    objectos_spec::json_type_name(other)
                ),
            ))
        }
    };
    if secs == 0 {
        return Err((
            IssueCode::TooSmall,
            "expiresIn must be greater than 0".to_owned(),
        ));
    }
    if secs > MAX_EXPIRES_IN_SECS {
        return Err((IssueCode::TooBig, format!("expiresIn must be at most {MAX_EXPIRES_IN_SECS} seconds (10 years), received {secs}")));
    }
    Ok(Some(secs))
}

/// `POST /api/v1/tenants/{id}/keys`: the plaintext is in the response once.
pub async fn create<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    caller.require_tenant(&id, true)?;
    let (scope, expires) = parse_key_request(&body)?;
    let (record, plaintext) = state.platform.create_key(&id, scope, expires).await?;
    let mut data = key_view(&record);
    data["apiKey"] = json!(plaintext);
    Ok(success(StatusCode::CREATED, data, Map::new(), Map::new()))
}

/// `GET /api/v1/tenants/{id}/keys`: metadata only.
pub async fn list<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require_tenant(&id, false)?;
    let keys = state.platform.list_keys(&id).await?;
    Ok(ok(keys.iter().map(key_view).collect::<Vec<_>>()))
}

/// `DELETE /api/v1/tenants/{id}/keys/{keyId}`.
pub async fn revoke<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    caller: Caller,
    Path((id, key_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.require_tenant(&id, true)?;
    let key = state.platform.revoke_key(&id, &key_id).await?;
    Ok(ok(key_view(&key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_bounds() {
        assert_eq!(expires_in_secs(&json!(60)), Ok(Some(60)));
        assert_eq!(expires_in_secs(&json!("2w")), Ok(Some(1_209_600)));
        assert_eq!(expires_in_secs(&json!("never")), Ok(None));
        assert_eq!(
            expires_in_secs(&json!(0)).unwrap_err().0,
            IssueCode::TooSmall
        );
        assert_eq!(
            expires_in_secs(&json!("5y")).unwrap_err().0,
            IssueCode::InvalidString
        );
        assert_eq!(
            expires_in_secs(&json!(-1)).unwrap_err().0,
            IssueCode::InvalidType
        );
        assert_eq!(
            expires_in_secs(&json!(true)).unwrap_err().0,
            IssueCode::InvalidType
        );
        assert_eq!(
            expires_in_secs(&json!(u64::MAX)).unwrap_err().0,
            IssueCode::TooBig
        );
    }

    #[test]
    fn a_multi_byte_last_character_is_refused_not_split() {
        for text in ["ã", "3ã", "ãd", "30日", "", "d", "🦀"] {
            assert_eq!(
                expires_in_secs(&json!(text)).unwrap_err().0,
                IssueCode::InvalidString,
                "{text:?}"
            );
        }
    }
}
