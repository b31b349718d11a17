//! The envelope every response uses, request ids, unknown routes and methods, and the operations
//! endpoints (`/healthz`, `/readyz`, `/metrics`, `/api/v1/openapi.json`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn success_responses_use_the_envelope() {
    let app = TestApp::new().start().await;
    let created = app.provision("acme", "pro").await;
    assert_eq!(created["success"], true);
    assert!(created["meta"]["timestamp"].is_string());
    assert!(created["meta"]["requestId"].is_string());

    for path in [
        "/api/v1/tenants",
        "/api/v1/tenants/acme",
        "/api/v1/tenants/acme/provisioning",
        "/api/v1/tenants/acme/usage",
        "/api/v1/tenants/acme/quota",
        "/api/v1/tenants/acme/keys",
    ] {
        let res = app.admin_get(path).await;
        res.assert_success(200);
        let content_type = res.headers["content-type"].to_str().unwrap();
        assert!(content_type.starts_with("application/json"), "{path}");
        let timestamp = res.body["meta"]["timestamp"].as_str().unwrap();
        assert!(
            timestamp.ends_with('Z') && timestamp.contains('T'),
            "{timestamp}"
        );
        let header = res.headers["x-request-id"].to_str().unwrap();
        assert_eq!(res.body["meta"]["requestId"], header, "{path}");
    }
}

#[tokio::test]
async fn the_request_id_echoes_a_client_sent_one() {
    let app = TestApp::new().start().await;
    let res = app
        .send(
            app.admin(Method::GET, "/api/v1/tenants")
                .header("x-request-id", "client-chosen-42"),
        )
        .await;
    res.assert_success(200);
    assert_eq!(res.headers["x-request-id"], "client-chosen-42");
    assert_eq!(res.body["meta"]["requestId"], "client-chosen-42");

    // Errors carry it too.
    let res = app
        .send(
            app.admin(Method::GET, "/api/v1/tenants/nobody")
                .header("x-request-id", "trace-me"),
        )
        .await;
    let error = res.assert_error(404, "tenant_not_found");
    assert_eq!(error["requestId"], "trace-me");

    // Without one, each request gets a fresh id.
    let a = app.admin_get("/api/v1/tenants").await;
    let b = app.admin_get("/api/v1/tenants").await;
    let (a, b) = (
        a.headers["x-request-id"].to_str().unwrap().to_owned(),
        b.headers["x-request-id"].to_str().unwrap().to_owned(),
    );
    assert!(!a.is_empty() && a != b);

    // An unreasonable one (too long) is replaced.
    let long = "x".repeat(500);
    let res = app
        .send(
            app.admin(Method::GET, "/api/v1/tenants")
                .header("x-request-id", &long),
        )
        .await;
    res.assert_success(200);
    assert_ne!(res.headers["x-request-id"].to_str().unwrap(), long);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_in_the_envelope() {
    let app = TestApp::new().start().await;
    app.provision("acme", "pro").await;
    for path in [
        "/",
        "/api/v1/nothing",
        "/api/v2/tenants",
        "/api/v1/tenants/acme/bogus",
        "/api/v1/tenants/acme/keys/k/extra",
    ] {
        for res in [
            app.admin_get(path).await,
            app.send(app.request(Method::GET, path)).await,
        ] {
            assert_eq!(res.status, 404, "{path}: {}", res.text);
            let error = res.assert_error(404, "not_found");
            assert!(error["message"].as_str().unwrap().contains(path));
        }
    }
    for (method, path) in [
        (Method::PUT, "/api/v1/tenants"),
        (Method::DELETE, "/api/v1/tenants"),
        (Method::PATCH, "/api/v1/tenants/acme"),
        (Method::GET, "/api/v1/tenants/acme/retry"),
        (Method::POST, "/api/v1/tenants/acme/usage"),
        (Method::POST, "/healthz"),
    ] {
        let res = app.send(app.admin(method.clone(), path)).await;
        assert_eq!(res.status, 405, "{method} {path}: {}", res.text);
        res.assert_error(405, "method_not_allowed");
    }
}

#[tokio::test]
async fn health_readiness_metrics_and_openapi() {
    let app = TestApp::new().start().await;
    let res = app.send(app.request(Method::GET, "/healthz")).await;
    res.assert_success(200);
    let res = app.send(app.request(Method::GET, "/readyz")).await;
    res.assert_success(200);

    app.provision("acme", "pro").await;
    app.admin_get("/api/v1/tenants/acme")
        .await
        .assert_success(200);
    let res = app.send(app.request(Method::GET, "/metrics")).await;
    res.assert_status(200);
    assert!(
        res.text.contains("objectos_http_requests_total"),
        "{}",
        res.text
    );
    assert!(
        res.text.contains("/api/v1/tenants/{id}"),
        "requests are counted by route template: {}",
        res.text
    );

    let res = app
        .send(app.request(Method::GET, "/api/v1/openapi.json"))
        .await;
    res.assert_status(200);
    assert!(res.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let doc: Value = serde_json::from_str(&res.text).expect("OpenAPI is JSON");
    assert!(doc["openapi"].as_str().unwrap().starts_with('3'), "{doc}");
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/tenants",
        "/api/v1/tenants/{id}",
        "/api/v1/tenants/{id}/keys",
    ] {
        assert!(paths.contains_key(path), "OpenAPI lacks {path}");
    }
}

#[tokio::test]
async fn shutdown_stops_listening() {
    let app = TestApp::new().start().await;
    let base = app.base.clone();
    let client = app.client.clone();
    app.stop().await;
    let after = client.get(format!("{base}/healthz")).send().await;
    assert!(after.is_err(), "the server stopped listening");
}

#[tokio::test]
async fn the_admin_token_file_is_private_and_holds_the_token() {
    let app = TestApp::new().start().await;
    let path = &app.app().admin_token_path;
    assert_eq!(path, &app.data_dir().join("admin-token"));
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(text.trim(), app.admin_token);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_is_refused() {
    let app = TestApp::new().start().await;
    let mut options = app.options.clone();
    options.listen = "127.0.0.1:0".parse().unwrap();
    let err = objectos_server::app::RunningApp::start(options)
        .await
        .err()
        .expect("the second start must fail");
    assert!(
        matches!(err, objectos_server::app::StartError::InUse(_)),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains("in use by another objectos server"));
    // The first server is untouched.
    app.admin_get("/api/v1/tenants").await.assert_success(200);
}

#[tokio::test]
async fn unauthorized_answers_name_the_scheme() {
    let app = TestApp::new().start().await;
    let res = app.send(app.request(Method::GET, "/api/v1/tenants")).await;
    res.assert_error(401, "unauthorized");
    assert_eq!(
        res.headers["www-authenticate"].to_str().unwrap(),
        "Bearer realm=\"objectos\""
    );
}

#[tokio::test]
async fn a_given_admin_token_replaces_the_stored_one() {
    let app = TestApp::new().start().await;
    let old = app.admin_token.clone();
    let dir = app.stop().await;
    let mut options = objectos_server::app::AppOptions::new(dir.path());
    options.listen = "127.0.0.1:0".parse().unwrap();
    let new_token = "osa_rotated_0123456789abcdef0123456789abcdef".to_owned();
    options.admin_token = Some(new_token.clone());
    let running = objectos_server::app::RunningApp::start(options)
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://{}/api/v1/tenants", running.addr);
    let status = |token: String| {
        let request = client.get(&url).bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(new_token.clone()).await, 200);
    assert_eq!(status(old).await, 401, "the old token no longer works");
    running.shutdown().await.unwrap();
    drop(dir);
}

#[tokio::test]
async fn framework_rejections_use_the_envelope_too() {
    let app = TestApp::new().start().await;
    // %FF is not UTF-8: the path parameter cannot be decoded.
    let res = app.admin_get("/api/v1/tenants/%FF").await;
    let error = res.assert_error(400, "bad_request");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("utf-8"),
        "{error}"
    );
    // A query value that is not UTF-8 reaches our own validation, with its path.
    let res = app.admin_get("/api/v1/tenants?limit=%FF").await;
    res.assert_invalid(400, &["limit"]);
}
