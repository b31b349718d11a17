//! One error type for every HTTP response that is not a success, rendered once as the ObjectStack
//! envelope `{"success": false, "error": {code, message, category, details, requestId}}`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use objectos_core::CoreError;
use serde_json::{json, Value};

use crate::request_id::current_request_id;

/// An HTTP error (boxed: handlers return it on their error path, which should stay small).
#[derive(Debug, Clone)]
pub struct ApiError(Box<ApiErrorBody>);

impl std::ops::Deref for ApiError {
    type Target = ApiErrorBody;

    fn deref(&self) -> &ApiErrorBody {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ApiErrorBody {
        &mut self.0
    }
}

/// The parts of an [`ApiError`].
#[derive(Debug, Clone)]
pub struct ApiErrorBody {
    /// Status code.
    pub status: StatusCode,
    /// Machine-readable code.
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// `validation`, `authentication`, `authorization`, `not_found`, `conflict`, `quota`,
    /// `payload`, `unavailable` or `server`.
    pub category: &'static str,
    /// Structured context (issues with paths, differing fields, quota results...).
    pub details: Value,
    /// Seconds to wait before retrying (sets `Retry-After`).
    pub retry_after: Option<u64>,
    /// The rate limit that refused the request (sets `X-RateLimit-Limit`, `-Remaining: 0`).
    pub rate_limit: Option<u32>,
}

impl ApiError {
    /// A new error with no details.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        category: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self(Box::new(ApiErrorBody {
            status,
            code,
            message: message.into(),
            category,
            details: Value::Null,
            retry_after: None,
            rate_limit: None,
        }))
    }

    /// Adds details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// 401: no or wrong credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "authentication",
            message,
        )
    }

    /// 404 for a route or resource.
    pub fn not_found(what: &str, id: &str) -> Self {
        let code = match what {
            "tenant" => "tenant_not_found",
            "key" => "key_not_found",
            "deployment" => "deployment_not_found",
            _ => "not_found",
        };
        Self::new(
            StatusCode::NOT_FOUND,
            code,
            "not_found",
            format!("{what} {id} not found"),
        )
    }

    /// 400/422 listing validation issues (`issues: [{path, code, message}]`), at most
    /// [`objectos_spec::MAX_ISSUES`] of them.
    pub fn invalid(
        status: StatusCode,
        issues: &[objectos_spec::Issue],
        prefix: &objectos_spec::JsonPath,
    ) -> Self {
        Self::invalid_counted(status, issues, issues.len(), prefix)
    }

    /// [`ApiError::invalid`] of a list that may already be cut: `total` issues were found. When
    /// more were found than are listed, `details` also says `truncated: true` and the `total`.
    pub fn invalid_counted(
        status: StatusCode,
        issues: &[objectos_spec::Issue],
        total: usize,
        prefix: &objectos_spec::JsonPath,
    ) -> Self {
        let total = total.max(issues.len());
        let issues = &issues[..issues.len().min(objectos_spec::MAX_ISSUES)];
        let listed: Vec<Value> = issues
            .iter()
            .map(|i| json!({"path": i.path.prefixed(prefix).to_string(), "code": i.code, "message": i.message}))
            .collect();
        let summary = issues
            .first()
            .map(|i| {
                objectos_spec::Issue::new(i.path.prefixed(prefix), i.code, i.message.clone())
                    .to_string()
            })
            .unwrap_or_default();
        let mut details = json!({"issues": listed});
        if total > issues.len() {
            details["truncated"] = json!(true);
            details["total"] = json!(total);
        }
        Self::new(
            status,
            "validation_error",
            "validation",
            format!("{total} validation issue(s); first: {summary}"),
        )
        .with_details(details)
    }
}

impl ApiError {
    /// 422 listing issues whose paths start at the request body.
    pub fn unprocessable(issues: &[objectos_spec::Issue]) -> Self {
        Self::invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            issues,
            &objectos_spec::JsonPath::root(),
        )
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Invalid(v) => Self::invalid_counted(
                StatusCode::UNPROCESSABLE_ENTITY,
                &v.issues,
                v.total,
                &objectos_spec::JsonPath::root(),
            ),
            CoreError::NotFound { what, id } => Self::not_found(what, &id),
            CoreError::Conflict {
                code,
                message,
                details,
            } => Self::new(StatusCode::CONFLICT, code, "conflict", message).with_details(details),
            CoreError::QuotaExceeded(result) => {
                let message = result
                    .message
                    .clone()
                    .unwrap_or_else(|| "quota exceeded".to_owned());
                Self::new(StatusCode::FORBIDDEN, "quota_exceeded", "quota", message)
                    .with_details(serde_json::to_value(&*result).unwrap_or(Value::Null))
            }
            CoreError::Forbidden { code, message } => {
                Self::new(StatusCode::FORBIDDEN, code, "authorization", message)
            }
            CoreError::Unauthorized { code, message } => {
                Self::new(StatusCode::UNAUTHORIZED, code, "authentication", message)
            }
            CoreError::Data(e) => Self::from_data(e),
            CoreError::Unavailable {
                code,
                message,
                retry_after_secs,
            } => {
                let mut error = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code,
                    "unavailable",
                    message,
                );
                error.retry_after = Some(retry_after_secs);
                error
            }
            CoreError::Store(e) => {
                tracing::error!(error = %e, "control store error");
                Self::server_failure(crate::fds::exhausted_now())
            }
            CoreError::Schema(e) => {
                tracing::error!(error = %e, "tenant schema error");
                Self::server_failure(crate::fds::exhausted_now())
            }
            CoreError::TenantDb(e) => {
                tracing::error!(error = %e, "tenant database error");
                let exhausted = match &e {
                    objectos_tenantdb::TenantDbError::Io { source, .. } => {
                        crate::fds::is_exhaustion(source)
                    }
                    _ => false,
                };
                Self::server_failure(exhausted || crate::fds::exhausted_now())
            }
        }
    }
}

impl ApiError {
    /// The data engine's refusals: 400 issues, 404 object/record, 409 duplicates and restricted
    /// deletes, 403 quotas; storage failures are a 500 that never describes the SQL.
    pub fn from_data(e: objectos_core::data::DataError) -> Self {
        use objectos_core::data::DataError;
        match &e {
            DataError::Sql(inner) => tracing::error!(error = %inner, "tenant data error"),
            DataError::Internal(msg) => tracing::error!(error = %msg, "tenant data error"),
            _ => {}
        }
        if matches!(e, DataError::Sql(_) | DataError::Internal(_)) {
            return Self::server_failure(crate::fds::exhausted_now());
        }
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, e.code(), e.category(), e.public_message()).with_details(e.details())
    }

    /// A failure of storage: 500 `internal`, or, when the process has run out of file descriptors
    /// (`EMFILE`/`ENFILE`; SQLite then only says "unable to open database file"), 503
    /// `resources_exhausted` with `Retry-After`: the same request may succeed once connections or
    /// cached tenants have been closed.
    pub fn server_failure(fds_exhausted: bool) -> Self {
        if fds_exhausted {
            let mut error = Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "resources_exhausted",
                "unavailable",
                "the server has run out of file descriptors; retry shortly",
            );
            error.retry_after = Some(RESOURCES_RETRY_AFTER_SECS);
            return error;
        }
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "server",
            "internal error",
        )
    }
}

/// `Retry-After` of `resources_exhausted`, in seconds.
pub const RESOURCES_RETRY_AFTER_SECS: u64 = 1;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ApiErrorBody {
            status,
            code,
            message,
            category,
            details,
            retry_after,
            rate_limit,
        } = *self.0;
        let mut error = json!({
            "code": code,
            "message": message,
            "category": category,
            "details": details,
        });
        if let Some(id) = current_request_id() {
            error["requestId"] = json!(id);
        }
        let body = json!({"success": false, "error": error});
        let mut response = (status, axum::Json(body)).into_response();
        // A body that did not arrive in time: the rest of it is not waited for.
        if status == StatusCode::REQUEST_TIMEOUT {
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                HeaderValue::from_static("close"),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"objectos\""),
            );
        }
        if let Some(limit) = rate_limit {
            let headers = response.headers_mut();
            headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
            headers.insert("x-ratelimit-remaining", HeaderValue::from(0u32));
        }
        if let Some(secs) = retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        response
    }
}

/// Result of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_file_descriptors_is_a_503_to_retry_not_a_500() {
        let response = ApiError::server_failure(true).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[axum::http::header::RETRY_AFTER], "1");
        let error = ApiError::server_failure(true);
        assert_eq!(
            (error.code, error.category),
            ("resources_exhausted", "unavailable")
        );

        let error = ApiError::server_failure(false);
        assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.code, "internal");
        assert!(error.retry_after.is_none());
    }

    #[test]
    fn an_emfile_from_a_tenant_database_is_a_503() {
        let e = CoreError::TenantDb(objectos_tenantdb::TenantDbError::Io {
            tenant_id: "acme".to_owned(),
            source: std::io::Error::from_raw_os_error(libc::EMFILE),
        });
        let error = ApiError::from(e);
        assert_eq!(error.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.code, "resources_exhausted");
        let e = CoreError::TenantDb(objectos_tenantdb::TenantDbError::Io {
            tenant_id: "acme".to_owned(),
            source: std::io::Error::from_raw_os_error(libc::EACCES),
        });
        assert_eq!(ApiError::from(e).status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
