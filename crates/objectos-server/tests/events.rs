//! `GET /api/v1/tenants/{id}/events`: the SSE stream of step and status transitions; replayed for
//! a finished tenant (from `Last-Event-ID` when given), live while provisioning runs, ending once
//! the tenant settles.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{provisioning_request, read_sse, SseEvent, TestApp};

const STEPS: [&str; 5] = [
    "create_database",
    "sync_schema",
    "apply_seed_data",
    "generate_api_keys",
    "activate",
];

/// Checks a complete history: `status provisioning`, each step running then finished in order,
/// `status <last>`; ids increasing and equal to `data.seq`.
#[track_caller]
fn assert_full_history(events: &[SseEvent], tenant: &str, last: &str) {
    for pair in events.windows(2) {
        assert!(pair[0].id < pair[1].id, "ids increase: {events:#?}");
    }
    for e in events {
        assert_eq!(e.data["seq"], e.id, "{e:?}");
        assert_eq!(e.data["tenantId"], tenant, "{e:?}");
        assert!(e.data["at"].is_string(), "{e:?}");
    }
    let first = &events[0];
    assert_eq!(first.kind, "status");
    assert_eq!(first.data["status"], "provisioning");
    let end = events.last().unwrap();
    assert_eq!(end.kind, "status", "{events:#?}");
    assert_eq!(end.data["status"], last, "{events:#?}");

    let steps: Vec<(String, String)> = events
        .iter()
        .filter(|e| e.kind == "step")
        .map(|e| {
            (
                e.data["step"].as_str().unwrap().to_owned(),
                e.data["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    if last == "active" {
        let mut expected = Vec::new();
        for step in STEPS {
            expected.push((step.to_owned(), "running".to_owned()));
            let done = if step == "apply_seed_data" {
                "skipped"
            } else {
                "completed"
            };
            expected.push((step.to_owned(), done.to_owned()));
        }
        assert_eq!(steps, expected, "{events:#?}");
    }
}

#[tokio::test]
async fn a_finished_tenant_replays_its_history_and_the_stream_ends() {
    let app = TestApp::new().start().await;
    app.provision("acme", "pro").await;
    let events = app.events("acme", None).await;
    assert_full_history(&events, "acme", "active");
    let finished = events
        .iter()
        .find(|e| e.data["step"] == "sync_schema" && e.data["status"] == "completed")
        .unwrap();
    assert!(finished.data["startedAt"].is_string() && finished.data["completedAt"].is_string());
    assert!(finished.data["durationMs"].is_number());

    // The same again: the history is stable.
    assert_eq!(app.events("acme", None).await, events);
}

#[tokio::test]
async fn last_event_id_resumes_after_that_event() {
    let app = TestApp::new().start().await;
    app.provision("acme", "pro").await;
    let all = app.events("acme", None).await;
    let middle = all.len() / 2;
    let tail = app.events("acme", Some(all[middle].id)).await;
    assert_eq!(tail, all[middle + 1..].to_vec());
    assert!(tail.iter().all(|e| e.id > all[middle].id));

    let nothing = app.events("acme", Some(all.last().unwrap().id)).await;
    assert!(nothing.is_empty(), "{nothing:#?}");
}

#[tokio::test]
async fn a_client_connected_during_provisioning_receives_live_events_to_active() {
    let app = TestApp::new().start().await;
    app.failpoints().configure("activate=delay(500)").unwrap();
    let res = app
        .admin_post(
            "/api/v1/tenants?wait=false",
            provisioning_request("live", "pro"),
        )
        .await;
    res.assert_success(202);

    let stream = app.open_events("live", None).await;
    // Connected while the pipeline is still running (activate is held for 500 ms).
    assert_eq!(app.provisioning("live").await["status"], "provisioning");
    let events = read_sse(stream).await;
    assert_full_history(&events, "live", "active");
    assert_eq!(app.status("live").await, "active");

    // A second client resuming from an early event gets the rest.
    let tail = app.events("live", Some(events[1].id)).await;
    assert_eq!(tail, events[2..].to_vec());
}

#[tokio::test]
async fn a_failing_pipeline_streams_to_failed_with_the_error() {
    let app = TestApp::new().start().await;
    app.failpoints()
        .configure("create_database=delay(200),sync_schema=fail(boom)")
        .unwrap();
    app.admin_post(
        "/api/v1/tenants?wait=false",
        provisioning_request("doomed", "free"),
    )
    .await
    .assert_success(202);
    let events = app.events("doomed", None).await;
    assert_full_history(&events, "doomed", "failed");
    let end = events.last().unwrap();
    assert!(
        end.data["error"].as_str().unwrap().contains("boom"),
        "{end:?}"
    );
    let steps: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.kind == "step")
        .map(|e| {
            (
                e.data["step"].as_str().unwrap(),
                e.data["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("create_database", "running"),
            ("create_database", "completed"),
            ("sync_schema", "running"),
            ("sync_schema", "failed"),
        ]
    );
    let failed_step = events
        .iter()
        .find(|e| e.data["step"] == "sync_schema" && e.data["status"] == "failed")
        .unwrap();
    assert_eq!(failed_step.data["error"], "boom");

    // After a retry, the replay continues through to active.
    app.failpoints().clear();
    app.admin_post_empty("/api/v1/tenants/doomed/retry")
        .await
        .assert_success(200);
    let tail = app.events("doomed", Some(end.id)).await;
    let last = tail.last().unwrap();
    assert_eq!(last.kind, "status");
    assert_eq!(last.data["status"], "active");
    assert_eq!(tail[0].data["status"], "provisioning", "{tail:#?}");
}

#[tokio::test]
async fn a_client_connected_during_a_retry_receives_live_events_to_active() {
    let app = TestApp::new().start().await;
    app.failpoints()
        .configure("sync_schema=fail(boom)")
        .unwrap();
    let res = app
        .admin_post("/api/v1/tenants", provisioning_request("again", "free"))
        .await;
    assert_eq!(res.body["data"]["status"], "failed", "{}", res.text);
    let history = app.events("again", None).await;
    let failed_at = history.last().unwrap().id;

    // The retry runs for a while (activate is held for 500 ms); a client connects meanwhile.
    app.failpoints().clear();
    app.failpoints().configure("activate=delay(500)").unwrap();
    let retry = {
        let request = app.admin(reqwest::Method::POST, "/api/v1/tenants/again/retry");
        tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while app.provisioning("again").await["status"] != "provisioning" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the retry never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let resumed = app.open_events("again", Some(failed_at)).await;
    let from_start = app.open_events("again", None).await;
    assert_eq!(app.provisioning("again").await["status"], "provisioning");
    let resumed = read_sse(resumed).await;
    let from_start = read_sse(from_start).await;
    assert_eq!(retry.await.unwrap().unwrap(), 200);

    let last = resumed
        .last()
        .unwrap_or_else(|| panic!("no events after {failed_at}"));
    assert_eq!(
        (last.kind.as_str(), last.data["status"].as_str()),
        ("status", Some("active")),
        "the live stream must follow the retry to its end: {resumed:#?}"
    );
    // Without Last-Event-ID: the whole history, the earlier failure included, then live through
    // to active (the earlier `failed` must not end a stream whose tenant is provisioning again).
    let last = from_start.last().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.data["status"].as_str()),
        ("status", Some("active")),
        "the live stream must follow the retry to its end: {from_start:#?}"
    );
    assert_eq!(from_start[..history.len()], history[..]);
}
