//! Success responses in the ObjectStack envelope: `{"success": true, "data": ..., "meta": {...}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::request_id::current_request_id;

/// Builds a success response; `meta` gains `timestamp` and `requestId`; `extra` adds top-level keys
/// (such as the one-time `credentials`).
pub fn success(
    status: StatusCode,
    data: impl Serialize,
    meta: Map<String, Value>,
    extra: Map<String, Value>,
) -> Response {
    /// Serialised in place: `data` is written straight into the body, never copied into a
    /// `Value` first (a list of records would otherwise be deep-copied on every response).
    #[derive(Serialize)]
    struct Envelope<'a, T: Serialize> {
        success: bool,
        data: T,
        #[serde(flatten)]
        extra: &'a Map<String, Value>,
        meta: Map<String, Value>,
    }
    let mut full_meta = Map::new();
    full_meta.insert(
        "timestamp".to_owned(),
        json!(objectos_core::time::rfc3339(objectos_core::time::now_ms())),
    );
    if let Some(id) = current_request_id() {
        full_meta.insert("requestId".to_owned(), json!(id));
    }
    full_meta.extend(meta);
    let body = Envelope {
        success: true,
        data,
        extra: &extra,
        meta: full_meta,
    };
    (status, axum::Json(body)).into_response()
}

/// 201 with `data`.
pub fn created(data: impl Serialize) -> Response {
    success(StatusCode::CREATED, data, Map::new(), Map::new())
}

/// 200 with `data`.
pub fn ok(data: impl Serialize) -> Response {
    success(StatusCode::OK, data, Map::new(), Map::new())
}
