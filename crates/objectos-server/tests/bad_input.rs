//! Every bad-input class of the control-plane API, each answered with the right status and error
//! code (and every issue with its path), and none leaving a trace: after each refused request the
//! control store and the data dir are exactly as before.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{provisioning_request, Res, TestApp, TestServer};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

/// A server with a 1 KiB body limit and one active tenant; returns it with the tenant's key.
async fn server() -> (TestServer, String) {
    let app = TestApp::new()
        .with(|opts| opts.settings.body_limit = 1024)
        .start()
        .await;
    let (_, key) = app.active_tenant("existing", "pro").await;
    (app, key)
}

/// Sends `request` and asserts that nothing changed.
async fn refused(app: &TestServer, request: RequestBuilder) -> Res {
    let before = app.snapshot().await;
    let res = app.send(request).await;
    assert!(
        res.status.is_client_error(),
        "expected a 4xx, got {}: {}",
        res.status,
        res.text
    );
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused request changed state: {}",
        res.text
    );
    res
}

fn post_tenants(app: &TestServer) -> RequestBuilder {
    app.admin(Method::POST, "/api/v1/tenants")
}

#[tokio::test]
async fn malformed_json_is_400() {
    let (app, _) = server().await;
    for text in [
        "{\"orgId\": ",
        "{orgId: 'a'}",
        "not json",
        "{\"orgId\":\"a\"} trailing",
        "",
    ] {
        let res = refused(
            &app,
            post_tenants(&app)
                .header("content-type", "application/json")
                .body(text),
        )
        .await;
        assert_eq!(res.status, 400, "{text:?}: {}", res.text);
        let error = res.assert_error(400, "invalid_json");
        assert_eq!(error["category"], "validation");
    }
}

#[tokio::test]
async fn a_wrong_content_type_is_415() {
    let (app, _) = server().await;
    let body = provisioning_request("newco", "free").to_string();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let res = refused(
            &app,
            post_tenants(&app)
                .header("content-type", content_type)
                .body(body.clone()),
        )
        .await;
        assert_eq!(res.status, 415, "{content_type}: {}", res.text);
        res.assert_error(415, "unsupported_media_type");
    }
    // The same body as JSON is fine.
    app.send(
        post_tenants(&app)
            .header("content-type", "application/json; charset=utf-8")
            .body(body),
    )
    .await
    .assert_success(201);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let (app, key) = server().await;
    let big = json!({
        "orgId": "bigco",
        "plan": "free",
        "region": "us-east",
        "displayName": "x".repeat(2048),
    });
    let res = refused(&app, post_tenants(&app).json(&big)).await;
    let error = res.assert_error(413, "payload_too_large");
    assert_eq!(error["category"], "payload");

    // Without a Content-Length (chunked), the limit holds too.
    let chunks: Vec<Result<String, std::io::Error>> = vec![
        Ok("{\"orgId\":\"bigco\",\"displayName\":\"".to_owned()),
        Ok("y".repeat(2048)),
        Ok("\"}".to_owned()),
    ];
    let stream = futures::stream::iter(chunks);
    let res = refused(
        &app,
        post_tenants(&app)
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream)),
    )
    .await;
    res.assert_error(413, "payload_too_large");

    // Other bodies: plan change and key creation.
    let res = refused(
        &app,
        app.admin(Method::POST, "/api/v1/tenants/existing/plan")
            .json(&json!({"plan": "free", "pad": "z".repeat(2048)})),
    )
    .await;
    res.assert_error(413, "payload_too_large");
    let res = refused(
        &app,
        app.keyed(Method::POST, "/api/v1/tenants/existing/keys", &key)
            .json(&json!({"scope": "read-only", "pad": "z".repeat(2048)})),
    )
    .await;
    res.assert_error(413, "payload_too_large");
}

#[tokio::test]
async fn an_invalid_document_lists_every_issue_with_its_path() {
    let (app, _) = server().await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"orgId": "", "plan": "gold", "region": "mars", "adminEmail": "x", "extra": 1}),
            vec!["", "adminEmail", "orgId", "plan", "region"],
        ),
        (json!({"plan": "pro"}), vec!["orgId"]),
        (json!({"orgId": 5}), vec!["orgId"]),
        (json!({"orgId": "a", "displayName": 7}), vec!["displayName"]),
        (json!({"orgId": "a", "metadata": "yes"}), vec!["metadata"]),
        (json!({"orgId": "a", "plan": null}), vec!["plan"]),
        (json!([]), vec![""]),
        (json!("acme"), vec![""]),
        (json!(null), vec![""]),
        (json!(42), vec![""]),
    ];
    for (body, paths) in cases {
        let res = refused(&app, post_tenants(&app).json(&body)).await;
        assert_eq!(res.status, 422, "{body}: {}", res.text);
        res.assert_invalid(422, &paths);
    }
}

#[tokio::test]
async fn an_invalid_seed_bundle_is_refused_with_its_paths() {
    let (app, _) = server().await;
    // The seed is a deploy bundle, not a bare list of datasets.
    let body = json!({
        "orgId": "seeded",
        "plan": "free",
        "region": "us-east",
        "metadata": {"seed": [{"object": "account", "records": [{"name": "x"}]}]},
    });
    let res = refused(&app, post_tenants(&app).json(&body)).await;
    res.assert_invalid(422, &["metadata.seed"]);
    // Problems inside the bundle point into it.
    let body = json!({
        "orgId": "seeded",
        "metadata": {"seed": {
            "manifest": {"version": "1.0.0", "objects": ["contact"]},
            "objects": [{"name": "contact", "fields": {"due": {"type": "dat"}}}],
        }},
    });
    let res = refused(&app, post_tenants(&app).json(&body)).await;
    res.assert_invalid(422, &["metadata.seed.objects[0].fields.due.type"]);
    // Other metadata is fine.
    let body = json!({"orgId": "meta", "metadata": {"source": "signup"}});
    app.send(post_tenants(&app).json(&body))
        .await
        .assert_success(201);
}

#[tokio::test]
async fn bad_query_parameters_on_create_are_400() {
    let (app, _) = server().await;
    let body = provisioning_request("newco", "free");
    let res = refused(
        &app,
        app.admin(Method::POST, "/api/v1/tenants?wait=maybe")
            .json(&body),
    )
    .await;
    res.assert_invalid(400, &["wait"]);
    let res = refused(
        &app,
        app.admin(Method::POST, "/api/v1/tenants?dryRun=true")
            .json(&body),
    )
    .await;
    res.assert_invalid(400, &[""]);
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_401() {
    let (app, _) = server().await;
    let body = provisioning_request("newco", "free");
    let routes = [
        (Method::POST, "/api/v1/tenants"),
        (Method::GET, "/api/v1/tenants"),
        (Method::GET, "/api/v1/tenants/existing"),
        (Method::POST, "/api/v1/tenants/existing/suspend"),
        (Method::DELETE, "/api/v1/tenants/existing?immediate=true"),
        (Method::GET, "/api/v1/tenants/existing/keys"),
        (Method::GET, "/api/v1/tenants/existing/events"),
    ];
    for (method, path) in routes {
        let requests = [
            app.request(method.clone(), path),
            app.request(method.clone(), path)
                .bearer_auth("osa_not-the-admin-token"),
            app.request(method.clone(), path).bearer_auth("wrong"),
            app.request(method.clone(), path)
                .header("authorization", "Bearer "),
            app.request(method.clone(), path)
                .header("authorization", format!("Basic {}", app.admin_token)),
            app.request(method.clone(), path)
                .header("authorization", &app.admin_token),
        ];
        for request in requests {
            let res = refused(&app, request.json(&body)).await;
            assert_eq!(res.status, 401, "{method} {path}: {}", res.text);
            let error = res.assert_error(401, "unauthorized");
            assert_eq!(error["category"], "authentication");
        }
    }
    // Authentication comes before the body: an invalid body without a token is still a 401.
    let res = refused(
        &app,
        app.request(Method::POST, "/api/v1/tenants")
            .header("content-type", "application/json")
            .body("{"),
    )
    .await;
    res.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn a_tenant_key_on_admin_only_routes_is_403() {
    let (app, key) = server().await;
    let cases: Vec<(Method, &str, Option<Value>)> = vec![
        (
            Method::POST,
            "/api/v1/tenants",
            Some(provisioning_request("newco", "free")),
        ),
        (Method::GET, "/api/v1/tenants", None),
        (Method::POST, "/api/v1/tenants/existing/suspend", None),
        (Method::POST, "/api/v1/tenants/existing/resume", None),
        (Method::POST, "/api/v1/tenants/existing/retry", None),
        (
            Method::POST,
            "/api/v1/tenants/existing/plan",
            Some(json!({"plan": "free"})),
        ),
        (Method::DELETE, "/api/v1/tenants/existing", None),
        (
            Method::DELETE,
            "/api/v1/tenants/existing?immediate=true",
            None,
        ),
    ];
    for (method, path, body) in cases {
        let mut request = app.keyed(method.clone(), path, &key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let res = refused(&app, request).await;
        assert_eq!(res.status, 403, "{method} {path}: {}", res.text);
        let error = res.assert_error(403, "forbidden");
        assert_eq!(error["category"], "authorization");
    }
    // The key itself still works where it is allowed.
    app.get_with_key("/api/v1/tenants/existing", &key)
        .await
        .assert_success(200);
}
