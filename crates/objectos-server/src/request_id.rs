//! Request ids: taken from `X-Request-Id` when the client sends a sane one (1 to
//! [`MAX_REQUEST_ID_LEN`] visible ASCII characters), else generated (`req_<16 hex>`); echoed in the
//! response header, in success `meta` and in error bodies. The bound keeps a client from making
//! every log line and error body carry kilobytes of its choosing; the OpenAPI document states it
//! for the `X-Request-Id` parameter and response header.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;

/// The longest client-sent request id kept; a longer one is replaced by a fresh id.
pub const MAX_REQUEST_ID_LEN: usize = 128;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

fn fresh() -> String {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    format!("req_{}", hex::encode(bytes))
}

/// True when a client-sent id is kept as is: 1 to [`MAX_REQUEST_ID_LEN`] visible ASCII
/// characters (`!` to `~`: no spaces, no control characters, nothing beyond ASCII).
pub fn is_acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Middleware: assigns the id and scopes it over the handler.
pub async fn assign(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_acceptable(v))
        .map_or_else(fresh, str::to_owned);
    let mut response = REQUEST_ID.scope(id.clone(), next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_one_to_the_maximum_visible_ascii_characters_are_kept() {
        assert!(is_acceptable("a"));
        assert!(is_acceptable(&"x".repeat(MAX_REQUEST_ID_LEN)));
        assert!(is_acceptable("trace-1/2:3~!"));
        assert!(!is_acceptable(""));
        assert!(!is_acceptable(&"x".repeat(MAX_REQUEST_ID_LEN + 1)));
        assert!(!is_acceptable("has space"));
        assert!(!is_acceptable("tab\t"));
        assert!(!is_acceptable("é"));
        assert!(is_acceptable(&fresh()));
    }
}
