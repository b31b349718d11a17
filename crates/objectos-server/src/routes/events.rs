//! `GET /api/v1/tenants/{id}/events`: server-sent events of step and status transitions. Replays
//! the history (from `Last-Event-ID` when given), then follows live changes while the tenant is
//! provisioning; the stream ends once it settles (active, failed, suspended, destroyed).

use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use objectos_core::time::rfc3339;
use objectos_spec::types::provisioning::TenantProvisioningStatus;
use objectos_store::{ControlStore, EventRecord};
use objectos_tenantdb::TenantDatabases;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

/// The wire form of a stored event: times as RFC 3339, plus `seq`, `tenantId` and `at`.
pub fn event_json(event: &EventRecord) -> Value {
    let mut data = serde_json::Map::new();
    data.insert("seq".to_owned(), json!(event.seq));
    data.insert("tenantId".to_owned(), json!(event.tenant_id));
    data.insert("at".to_owned(), json!(rfc3339(event.at_ms)));
    if let Value::Object(fields) = &event.data {
        for (key, value) in fields {
            match key.strip_suffix("AtMs") {
                Some(stem) => {
                    data.insert(
                        format!("{stem}At"),
                        value.as_i64().map_or(Value::Null, |ms| json!(rfc3339(ms))),
                    );
                }
                None => {
                    data.insert(key.clone(), value.clone());
                }
            }
        }
    }
    Value::Object(data)
}

fn to_sse(event: &EventRecord) -> Event {
    Event::default()
        .event(event.kind.clone())
        .id(event.seq.to_string())
        .data(event_json(event).to_string())
}

/// True when the latest status event of `events` leaves `provisioning` (a tenant that failed and
/// was retried is provisioning again, so only the last status counts).
fn settled(events: &[EventRecord]) -> bool {
    events
        .iter()
        .rev()
        .find(|e| e.kind == "status")
        .is_some_and(|e| {
            e.data["status"]
                .as_str()
                .is_some_and(|s| s != "provisioning")
        })
}

/// The handler.
pub async fn stream<S: ControlStore, D: TenantDatabases>(
    State(state): State<AppState<S, D>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    caller.require_tenant(&id, false)?;
    // Subscribe before reading, so nothing that happens in between is missed.
    let mut notifications = state.platform.events().subscribe();
    let tenant = state.platform.require_tenant(&id).await?;
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    let history = state.platform.tenant_events(&id, after).await?;
    let live = tenant.status == TenantProvisioningStatus::Provisioning;
    let platform = state.platform.clone();

    let events = async_stream(move |tx| async move {
        let mut last = after;
        for event in &history {
            last = event.seq;
            if tx.send(to_sse(event)).await.is_err() {
                return;
            }
        }
        if !live || settled(&history) {
            return;
        }
        loop {
            match notifications.recv().await {
                Ok(changed) if changed != id => continue,
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
            let Ok(fresh) = platform.tenant_events(&id, last).await else {
                return;
            };
            for event in &fresh {
                last = event.seq;
                if tx.send(to_sse(event)).await.is_err() {
                    return;
                }
            }
            if settled(&fresh) || platform.store().tenant(&id).await.ok().flatten().is_none() {
                return;
            }
        }
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(state.settings.sse_keep_alive))
        .into_response())
}

/// A stream fed by a producer task through a small channel (ends when the producer returns).
fn async_stream<F, Fut>(producer: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(producer(tx));
    futures::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(seq: i64, status: &str) -> EventRecord {
        EventRecord {
            seq,
            tenant_id: "t".to_owned(),
            kind: "status".to_owned(),
            data: json!({"status": status}),
            at_ms: 0,
        }
    }

    #[test]
    fn only_the_latest_status_decides_whether_the_stream_ends() {
        assert!(!settled(&[status(1, "provisioning")]));
        assert!(settled(&[status(1, "provisioning"), status(2, "failed")]));
        assert!(!settled(&[
            status(1, "provisioning"),
            status(2, "failed"),
            status(3, "provisioning")
        ]));
        assert!(settled(&[status(3, "provisioning"), status(4, "active")]));
        assert!(!settled(&[]));
    }
}
