//! API keys over HTTP: creation (plaintext shown once), listing (metadata only), scopes, tenant
//! isolation, expiry, revocation and bad request bodies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{TestApp, TestServer};
use objectos_core::ids::hash_secret;
use reqwest::Method;
use serde_json::{json, Value};

async fn create_key(app: &TestServer, id: &str, body: Value) -> Value {
    let res = app
        .admin_post(&format!("/api/v1/tenants/{id}/keys"), body)
        .await;
    res.assert_success(201).clone()
}

#[tokio::test]
async fn keys_are_shown_once_and_listed_as_metadata_only() {
    let app = TestApp::new().start().await;
    let (id, first_key) = app.active_tenant("acme", "pro").await;

    let read_only = create_key(&app, &id, json!({"scope": "read-only"})).await;
    assert_eq!(read_only["scope"], "read-only");
    assert_eq!(read_only["tenantId"], id.as_str());
    assert_eq!(read_only["status"], "active");
    assert!(read_only["expiresAt"].is_null());
    let ro_plain = read_only["apiKey"].as_str().unwrap().to_owned();
    assert!(ro_plain.starts_with(&format!("osk_{id}_")), "{ro_plain}");
    assert!(ro_plain.contains(read_only["keyId"].as_str().unwrap()));

    let expiring = create_key(&app, &id, json!({"scope": "full-access", "expiresIn": 1})).await;
    assert_eq!(expiring["scope"], "full-access");
    assert!(expiring["expiresAt"].is_string(), "{expiring}");
    let exp_plain = expiring["apiKey"].as_str().unwrap().to_owned();

    let durations = create_key(&app, &id, json!({"scope": "read-only", "expiresIn": "30d"})).await;
    assert!(durations["expiresAt"].is_string());
    let never = create_key(
        &app,
        &id,
        json!({"scope": "read-only", "expiresIn": "never"}),
    )
    .await;
    assert!(never["expiresAt"].is_null());

    let list = app.admin_get(&format!("/api/v1/tenants/{id}/keys")).await;
    let keys = list.assert_success(200).as_array().unwrap().clone();
    assert_eq!(keys.len(), 5, "{}", list.text);
    for key in &keys {
        let fields: Vec<&String> = key.as_object().unwrap().keys().collect();
        for forbidden in ["apiKey", "hash", "secret", "keyHash"] {
            assert!(key.get(forbidden).is_none(), "{forbidden} listed: {key}");
        }
        assert!(
            key["keyId"].is_string() && key["createdAt"].is_string(),
            "{fields:?}"
        );
    }
    for plaintext in [&first_key, &ro_plain, &exp_plain] {
        assert!(!list.text.contains(plaintext.as_str()), "plaintext listed");
        assert!(
            !list.text.contains(&hash_secret(plaintext)),
            "hash listed: {}",
            list.text
        );
        let secret = plaintext.rsplit('_').next().unwrap();
        assert!(!list.text.contains(secret), "secret part listed");
    }

    // Read with a read-only key too: still metadata only.
    let list = app
        .get_with_key(&format!("/api/v1/tenants/{id}/keys"), &ro_plain)
        .await;
    list.assert_success(200);
    assert!(!list.text.contains(&ro_plain) && !list.text.contains("apiKey"));
}

#[tokio::test]
async fn scopes_limit_what_a_key_may_do() {
    let app = TestApp::new().start().await;
    let (id, full) = app.active_tenant("acme", "pro").await;
    let path = format!("/api/v1/tenants/{id}");
    let ro = create_key(&app, &id, json!({"scope": "read-only"})).await["apiKey"]
        .as_str()
        .unwrap()
        .to_owned();

    // A read-only key reads its tenant...
    let res = app.get_with_key(&path, &ro).await;
    assert_eq!(res.assert_success(200)["id"], id.as_str());
    for sub in ["provisioning", "usage", "quota", "keys"] {
        app.get_with_key(&format!("{path}/{sub}"), &ro)
            .await
            .assert_success(200);
    }
    let events = app
        .send(app.keyed(Method::GET, &format!("{path}/events"), &ro))
        .await;
    events.assert_status(200);

    // ...but may not write.
    let before = app.snapshot().await;
    let res = app
        .post_with_key(&format!("{path}/keys"), &ro, json!({"scope": "read-only"}))
        .await;
    let error = res.assert_error(403, "insufficient_scope");
    assert_eq!(error["category"], "authorization");
    let any_key_id = app.admin_get(&format!("{path}/keys")).await.body["data"][0]["keyId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete_with_key(&format!("{path}/keys/{any_key_id}"), &ro)
        .await
        .assert_error(403, "insufficient_scope");
    assert_eq!(app.snapshot().await, before);

    // A full-access key manages its own tenant's keys (self-service rotation).
    let res = app
        .post_with_key(
            &format!("{path}/keys"),
            &full,
            json!({"scope": "read-only"}),
        )
        .await;
    let made = res.assert_success(201);
    let made_id = made["keyId"].as_str().unwrap();
    app.delete_with_key(&format!("{path}/keys/{made_id}"), &full)
        .await
        .assert_success(200);
}

#[tokio::test]
async fn a_key_of_one_tenant_gets_nothing_of_another() {
    let app = TestApp::new().start().await;
    let (a, key_a) = app.active_tenant("tenant-a", "pro").await;
    let (b, key_b) = app.active_tenant("tenant-b", "pro").await;
    let before = app.snapshot().await;
    let b_path = format!("/api/v1/tenants/{b}");
    let b_key_id = app.admin_get(&format!("{b_path}/keys")).await.body["data"][0]["keyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, b_path.clone(), None),
        (Method::GET, format!("{b_path}/provisioning"), None),
        (Method::GET, format!("{b_path}/events"), None),
        (Method::GET, format!("{b_path}/usage"), None),
        (Method::GET, format!("{b_path}/quota"), None),
        (Method::GET, format!("{b_path}/keys"), None),
        (
            Method::POST,
            format!("{b_path}/keys"),
            Some(json!({"scope": "full-access"})),
        ),
        (Method::DELETE, format!("{b_path}/keys/{b_key_id}"), None),
    ];
    for (method, path, body) in cases {
        let mut request = app.keyed(method.clone(), &path, &key_a);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let res = app.send(request).await;
        assert_eq!(res.status, 403, "{method} {path}: {}", res.text);
        res.assert_error(403, "forbidden");
    }
    // Admin-only routes of the other tenant are forbidden as well.
    for action in ["suspend", "resume", "retry"] {
        app.post_empty_with_key(&format!("{b_path}/{action}"), &key_a)
            .await
            .assert_error(403, "forbidden");
    }
    app.delete_with_key(&format!("{b_path}?immediate=true"), &key_a)
        .await
        .assert_error(403, "forbidden");
    assert_eq!(app.snapshot().await, before);
    app.get_with_key(&b_path, &key_b).await.assert_success(200);
    app.get_with_key(&format!("/api/v1/tenants/{a}"), &key_a)
        .await
        .assert_success(200);

    // The admin cannot revoke tenant B's key through tenant A's path either.
    app.admin_delete(&format!("/api/v1/tenants/{a}/keys/{b_key_id}"))
        .await
        .assert_error(404, "key_not_found");
    app.get_with_key(&b_path, &key_b).await.assert_success(200);
}

#[tokio::test]
async fn an_expired_key_is_refused() {
    let app = TestApp::new().start().await;
    let (id, _) = app.active_tenant("acme", "pro").await;
    let path = format!("/api/v1/tenants/{id}");
    let key = create_key(&app, &id, json!({"scope": "full-access", "expiresIn": 1})).await;
    let plaintext = key["apiKey"].as_str().unwrap();
    app.get_with_key(&path, plaintext).await.assert_success(200);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let res = app.get_with_key(&path, plaintext).await;
    let error = res.assert_error(401, "key_expired");
    assert_eq!(error["category"], "authentication");
    let list = app.admin_get(&format!("{path}/keys")).await;
    let listed = list
        .assert_success(200)
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["keyId"] == key["keyId"])
        .unwrap()
        .clone();
    assert_eq!(listed["status"], "expired");
}

#[tokio::test]
async fn a_revoked_key_is_refused() {
    let app = TestApp::new().start().await;
    let (id, full) = app.active_tenant("acme", "pro").await;
    let path = format!("/api/v1/tenants/{id}");
    let key = create_key(&app, &id, json!({"scope": "read-only"})).await;
    let plaintext = key["apiKey"].as_str().unwrap();
    let key_id = key["keyId"].as_str().unwrap();
    app.get_with_key(&path, plaintext).await.assert_success(200);

    let res = app.admin_delete(&format!("{path}/keys/{key_id}")).await;
    let data = res.assert_success(200);
    assert_eq!(data["keyId"], key_id);
    assert_eq!(data["status"], "revoked");
    assert!(data["revokedAt"].is_string());
    assert!(data.get("apiKey").is_none());

    let error = app.get_with_key(&path, plaintext).await;
    error.assert_error(401, "key_revoked");
    // Other keys are unaffected.
    app.get_with_key(&path, &full).await.assert_success(200);

    let unknown = app.admin_delete(&format!("{path}/keys/ffffffffffff")).await;
    let error = unknown.assert_error(404, "key_not_found");
    assert_eq!(error["category"], "not_found");
}

#[tokio::test]
async fn unknown_malformed_and_tampered_keys_are_unauthorized() {
    let app = TestApp::new().start().await;
    let (id, full) = app.active_tenant("acme", "pro").await;
    let path = format!("/api/v1/tenants/{id}");
    let mut tampered = full.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    let other_tenant = full.replacen("osk_acme_", "osk_other_", 1);
    for token in [
        "osk_".to_owned(),
        "osk_garbage".to_owned(),
        tampered,
        other_tenant,
        format!("{full}x"),
    ] {
        let res = app.get_with_key(&path, &token).await;
        assert_eq!(res.status, 401, "{token}: {}", res.text);
        res.assert_error(401, "unauthorized");
    }
}

#[tokio::test]
async fn key_bodies_are_validated() {
    let app = TestApp::new().start().await;
    let (id, full) = app.active_tenant("acme", "pro").await;
    let path = format!("/api/v1/tenants/{id}/keys");
    let before = app.snapshot().await;
    for (body, paths) in [
        (json!({}), vec!["scope"]),
        (json!({"scope": "admin"}), vec!["scope"]),
        (json!({"scope": 1}), vec!["scope"]),
        (
            json!({"scope": "read-only", "expiresIn": 0}),
            vec!["expiresIn"],
        ),
        (
            json!({"scope": "read-only", "expiresIn": -5}),
            vec!["expiresIn"],
        ),
        (
            json!({"scope": "read-only", "expiresIn": 1.5}),
            vec!["expiresIn"],
        ),
        (
            json!({"scope": "read-only", "expiresIn": true}),
            vec!["expiresIn"],
        ),
        (
            json!({"expiresIn": "5y", "scope": "read-only"}),
            vec!["expiresIn"],
        ),
        // Multi-byte last characters: once a panic (a byte slice inside the character), a 500.
        (
            json!({"scope": "read-only", "expiresIn": "ã"}),
            vec!["expiresIn"],
        ),
        (
            json!({"scope": "read-only", "expiresIn": "3ã"}),
            vec!["expiresIn"],
        ),
        (
            json!({"scope": "read-only", "expiresIn": "30日"}),
            vec!["expiresIn"],
        ),
        (json!({"scope": "read-only", "name": "ci"}), vec![""]),
        (
            json!({"scope": "root", "expiresIn": 0, "extra": true}),
            vec!["", "expiresIn", "scope"],
        ),
        (json!([]), vec![""]),
        (json!(null), vec![""]),
    ] {
        for key in [None, Some(full.as_str())] {
            let res = match key {
                None => app.admin_post(&path, body.clone()).await,
                Some(key) => app.post_with_key(&path, key, body.clone()).await,
            };
            assert_eq!(res.status, 422, "{body}: {}", res.text);
            res.assert_invalid(422, &paths);
        }
    }
    let res = app
        .send(
            app.admin(Method::POST, &path)
                .header("content-type", "application/json")
                .body("{scope: read-only}"),
        )
        .await;
    res.assert_error(400, "invalid_json");
    assert_eq!(app.snapshot().await, before, "no key was created");
}
