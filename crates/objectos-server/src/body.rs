//! Request bodies: size-limited, JSON-parsed (400 when malformed), then validated (422 listing
//! every issue with its path). The limit itself answers 413; a body that does not arrive within
//! the body-read timeout ([`crate::serve::BodyTimeout`]) answers 408 and closes the connection.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde_json::Value;

use crate::error::ApiError;

/// A body as bytes, its failures as envelopes: 413 over the size limit, 408 when it did not
/// arrive in time, 400 when the connection broke.
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(Self)
            .map_err(body_error)
    }
}

/// The envelope of a body that could not be read.
fn body_error(rejection: BytesRejection) -> ApiError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&rejection);
    while let Some(error) = cause {
        if let Some(timeout) = error.downcast_ref::<crate::serve::BodyTimeout>() {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "payload",
                timeout.to_string(),
            )
            .with_details(serde_json::json!({"timeoutMs": timeout.millis()}));
        }
        cause = error.source();
    }
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "payload",
            rejection.body_text(),
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "payload",
            rejection.body_text(),
        )
    }
}

/// A JSON body as a value (not yet validated against a schema).
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        JsonBytes::from_request(req, state).await?.parse().map(Self)
    }
}

/// A JSON body read but not yet parsed: its media type checked, its bytes in. A handler that may
/// refuse the request for another reason checks that first, so a large body it refuses is never
/// turned into a `Value` tree (some 20 times its size; issue #14).
#[derive(Debug)]
pub struct JsonBytes(Bytes);

impl JsonBytes {
    /// The body as a JSON value: 400 `invalid_json` when it is empty or malformed.
    pub fn parse(self) -> Result<Value, ApiError> {
        if self.0.is_empty() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "validation",
                "the request body is empty; expected a JSON document",
            ));
        }
        serde_json::from_slice(&self.0).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "validation",
                format!("malformed JSON: {e}"),
            )
            .with_details(serde_json::json!({"line": e.line(), "column": e.column()}))
        })
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(axum::http::header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("");
            if !ct.starts_with("application/json") && !ct.contains("+json") {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "payload",
                    format!("expected Content-Type application/json, received {ct}"),
                ));
            }
        }
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        Ok(Self(bytes))
    }
}

/// Parses a validated protocol document, or a 422 listing every issue.
pub fn parse_spec<T: objectos_spec::SpecType>(value: &Value) -> Result<T, ApiError> {
    objectos_spec::parse::<T>(value).map_err(|e| {
        ApiError::invalid_counted(
            StatusCode::UNPROCESSABLE_ENTITY,
            &e.issues,
            e.total,
            &objectos_spec::JsonPath::root(),
        )
    })
}

/// Checks a small request body: it must be an object (else a 422 at once); keys outside `allowed`
/// give one `unrecognized_keys` issue, returned with the map so every other issue can be added.
pub fn small_object<'a>(
    body: &'a Value,
    allowed: &[&str],
) -> Result<
    (
        &'a serde_json::Map<String, Value>,
        Vec<objectos_spec::Issue>,
    ),
    ApiError,
> {
    use objectos_spec::{Issue, IssueCode, JsonPath};
    let Some(map) = body.as_object() else {
        let message = format!(
            "Expected object, received {}",
            objectos_spec::json_type_name(body)
        );
        return Err(ApiError::unprocessable(&[Issue::new(
            JsonPath::root(),
            IssueCode::InvalidType,
            message,
        )]));
    };
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| objectos_spec::quoted_with_suggestion(k, allowed.iter().copied()))
        .collect();
    let mut issues = Vec::new();
    if !unknown.is_empty() {
        issues.push(Issue::new(
            JsonPath::root(),
            IssueCode::UnrecognizedKeys,
            format!(
                "Unrecognized key(s) in object: {}; allowed keys: {}",
                unknown.join(", "),
                allowed.join(", ")
            ),
        ));
    }
    Ok((map, issues))
}

/// The `Required` issue of a missing key.
pub fn required(key: &str) -> objectos_spec::Issue {
    objectos_spec::Issue::new(
        objectos_spec::JsonPath::root().key(key),
        objectos_spec::IssueCode::InvalidType,
        "Required",
    )
}
