//! The tenant lifecycle over HTTP: every transition (suspend, resume, plan change, destroy in its
//! three forms) and every refused one, with what each does to keys, files and quotas; usage and
//! quota documents; 404 for an unknown tenant on every route.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_conforms, provisioning_request, TestApp, TestServer};
use objectos_core::plans::PlanTable;
use reqwest::Method;
use serde_json::{json, Value};

/// A tenant whose provisioning failed at `sync_schema` (its database file exists).
async fn failed_tenant(app: &TestServer, org: &str) {
    app.failpoints()
        .configure("sync_schema=fail(boom)")
        .unwrap();
    let res = app
        .admin_post("/api/v1/tenants", provisioning_request(org, "free"))
        .await;
    assert_eq!(res.body["data"]["status"], "failed", "{}", res.text);
    app.failpoints().clear();
}

#[track_caller]
fn assert_refused(res: &common::Res, current: &str) {
    let error = res.assert_error(409, "invalid_transition");
    assert_eq!(error["category"], "conflict");
    assert_eq!(error["details"]["currentStatus"], current, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains(current),
        "the message names the current status: {error}"
    );
}

#[tokio::test]
async fn suspend_and_resume_with_the_default_lifecycle() {
    let app = TestApp::new().start().await;
    let (id, key) = app.active_tenant("acme", "pro").await;
    let path = format!("/api/v1/tenants/{id}");
    app.get_with_key(&path, &key).await.assert_success(200);

    let res = app.admin_post_empty(&format!("{path}/suspend")).await;
    let data = res.assert_success(200);
    assert_conforms("Tenant", data);
    assert_eq!(data["provisioningStatus"], "suspended");
    assert_eq!(app.status(&id).await, "suspended");

    // Keys are refused while suspended (onTenantSuspend.revokeTokens defaults to true).
    let refused = app.get_with_key(&path, &key).await;
    let error = refused.assert_error(403, "tenant_suspended");
    assert_eq!(error["category"], "authorization");
    app.get_with_key(&format!("{path}/usage"), &key)
        .await
        .assert_error(403, "tenant_suspended");
    app.post_with_key(&format!("{path}/keys"), &key, json!({"scope": "read-only"}))
        .await
        .assert_error(403, "tenant_suspended");
    let keys = app.admin_get(&format!("{path}/keys")).await;
    for k in keys.assert_success(200).as_array().unwrap() {
        assert_eq!(k["status"], "suspended", "{k}");
    }

    // Suspending again is refused and names the status.
    let again = app.admin_post_empty(&format!("{path}/suspend")).await;
    assert_refused(&again, "suspended");

    let res = app.admin_post_empty(&format!("{path}/resume")).await;
    let data = res.assert_success(200);
    assert_conforms("Tenant", data);
    assert_eq!(data["provisioningStatus"], "active");
    app.get_with_key(&path, &key).await.assert_success(200);
    app.post_with_key(&format!("{path}/keys"), &key, json!({"scope": "read-only"}))
        .await
        .assert_success(201);

    // Resuming an active tenant is refused and names the status.
    let again = app.admin_post_empty(&format!("{path}/resume")).await;
    assert_refused(&again, "active");
    assert_eq!(app.status(&id).await, "active");
}

#[tokio::test]
async fn a_read_only_suspension_keeps_reads_and_refuses_writes() {
    let app = TestApp::new()
        .with(|opts| {
            opts.platform.lifecycle.on_tenant_suspend.revoke_tokens = false;
            opts.platform.lifecycle.on_tenant_suspend.read_only = true;
        })
        .start()
        .await;
    let (id, key) = app.active_tenant("acme", "pro").await;
    let path = format!("/api/v1/tenants/{id}");
    app.admin_post_empty(&format!("{path}/suspend"))
        .await
        .assert_success(200);
    app.get_with_key(&path, &key).await.assert_success(200);
    app.post_with_key(&format!("{path}/keys"), &key, json!({"scope": "read-only"}))
        .await
        .assert_error(403, "insufficient_scope");
    app.admin_post_empty(&format!("{path}/resume"))
        .await
        .assert_success(200);
    app.post_with_key(&format!("{path}/keys"), &key, json!({"scope": "read-only"}))
        .await
        .assert_success(201);
}

#[tokio::test]
async fn transitions_from_failed_are_refused_except_retry_and_destroy() {
    let app = TestApp::new().start().await;
    failed_tenant(&app, "broken").await;
    let before = app.snapshot().await;
    for action in ["suspend", "resume"] {
        let res = app
            .admin_post_empty(&format!("/api/v1/tenants/broken/{action}"))
            .await;
        assert_refused(&res, "failed");
    }
    let res = app
        .admin_post("/api/v1/tenants/broken/plan", json!({"plan": "pro"}))
        .await;
    assert_refused(&res, "failed");
    let res = app
        .admin_post("/api/v1/tenants/broken/keys", json!({"scope": "read-only"}))
        .await;
    assert_refused(&res, "failed");
    assert_eq!(app.snapshot().await, before, "refusals change nothing");
}

#[tokio::test]
async fn plan_changes_are_applied_and_reflected_in_the_quota() {
    let app = TestApp::new().start().await;
    let (id, _) = app.active_tenant("acme", "free").await;
    let path = format!("/api/v1/tenants/{id}");
    let table = PlanTable::default();

    let quota = app.admin_get(&format!("{path}/quota")).await;
    assert_eq!(
        *quota.assert_success(200),
        serde_json::to_value(&table.free).unwrap()
    );

    let res = app
        .admin_post(&format!("{path}/plan"), json!({"plan": "pro"}))
        .await;
    let data = res.assert_success(200);
    assert_conforms("Tenant", data);
    assert_eq!(data["plan"], "pro");
    assert_eq!(data["quotas"], serde_json::to_value(&table.pro).unwrap());

    let quota = app.admin_get(&format!("{path}/quota")).await;
    let quota = quota.assert_success(200);
    assert_conforms("TenantQuota", quota);
    assert_eq!(*quota, serde_json::to_value(&table.pro).unwrap());
    assert_eq!(
        app.admin_get(&path).await.body["data"]["plan"],
        "pro",
        "the change persisted"
    );

    // The same plan again is a no-op; a suspended tenant may change plan too.
    app.admin_post(&format!("{path}/plan"), json!({"plan": "pro"}))
        .await
        .assert_success(200);
    app.admin_post_empty(&format!("{path}/suspend"))
        .await
        .assert_success(200);
    let res = app
        .admin_post(&format!("{path}/plan"), json!({"plan": "enterprise"}))
        .await;
    assert_eq!(res.assert_success(200)["plan"], "enterprise");
    assert_eq!(app.status(&id).await, "suspended");
}

#[tokio::test]
async fn plan_change_bodies_are_validated() {
    let app = TestApp::new().start().await;
    let (id, _) = app.active_tenant("acme", "free").await;
    let path = format!("/api/v1/tenants/{id}/plan");
    let before = app.snapshot().await;
    for (body, paths) in [
        (json!({}), vec!["plan"]),
        (json!({"plan": "gold"}), vec!["plan"]),
        (json!({"plan": 3}), vec!["plan"]),
        (json!({"plan": null}), vec!["plan"]),
        (json!({"plan": "pro", "x": 1}), vec![""]),
        (json!({"x": 1}), vec!["", "plan"]),
        (json!([]), vec![""]),
        (json!("pro"), vec![""]),
    ] {
        let res = app.admin_post(&path, body.clone()).await;
        assert_eq!(res.status, 422, "{body}: {}", res.text);
        res.assert_invalid(422, &paths);
    }
    app.send(
        app.admin(Method::POST, &path)
            .header("content-type", "application/json")
            .body("{\"plan\":"),
    )
    .await
    .assert_error(400, "invalid_json");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn a_plan_too_small_for_the_usage_is_refused_with_a_quota_result() {
    let app = TestApp::new()
        .with(|opts| opts.platform.plans.free.max_storage_bytes = Some(1))
        .start()
        .await;
    let (id, _) = app.active_tenant("bigco", "pro").await;
    let path = format!("/api/v1/tenants/{id}");
    let before = app.snapshot().await;

    let res = app
        .admin_post(&format!("{path}/plan"), json!({"plan": "free"}))
        .await;
    let error = res.assert_error(403, "quota_exceeded");
    assert_eq!(error["category"], "quota");
    let details = &error["details"];
    assert_conforms("QuotaEnforcementResult", details);
    assert_eq!(details["allowed"], false);
    assert_eq!(details["exceededQuota"], "maxStorageBytes");
    assert_eq!(details["limit"], 1.0);
    assert!(details["currentUsage"].as_f64().unwrap() > 1.0, "{details}");
    assert!(details["message"].is_string());

    assert_eq!(app.snapshot().await, before, "the plan did not change");
    let quota = app.admin_get(&format!("{path}/quota")).await;
    assert_eq!(
        *quota.assert_success(200),
        serde_json::to_value(&PlanTable::default().pro).unwrap()
    );
    // A plan with room is still fine.
    app.admin_post(&format!("{path}/plan"), json!({"plan": "enterprise"}))
        .await
        .assert_success(200);
}

#[tokio::test]
async fn usage_and_quota_follow_the_protocol() {
    let app = TestApp::new().start().await;
    let (id, key) = app.active_tenant("acme", "pro").await;
    for caller in [None, Some(key.as_str())] {
        let usage_path = format!("/api/v1/tenants/{id}/usage");
        let quota_path = format!("/api/v1/tenants/{id}/quota");
        let (usage, quota) = match caller {
            None => (
                app.admin_get(&usage_path).await,
                app.admin_get(&quota_path).await,
            ),
            Some(key) => (
                app.get_with_key(&usage_path, key).await,
                app.get_with_key(&quota_path, key).await,
            ),
        };
        let usage = usage.assert_success(200);
        assert_conforms("TenantUsage", usage);
        assert!(
            usage["currentStorageBytes"].as_u64().unwrap() > 0,
            "{usage}"
        );
        assert_eq!(usage["currentObjectCount"], 0, "no objects deployed yet");
        assert_conforms("TenantQuota", quota.assert_success(200));
    }
}

#[tokio::test]
async fn immediate_destroy_with_a_backup() {
    let app = TestApp::new().start().await;
    let (id, key) = app.active_tenant("acme", "pro").await;
    let (other, _) = app.active_tenant("other", "pro").await;
    let path = format!("/api/v1/tenants/{id}");
    assert!(app.db_exists(&id).await);

    let res = app
        .admin_delete(&format!("{path}?immediate=true&createBackup=true"))
        .await;
    let data = res.assert_success(200);
    assert_eq!(data["tenantId"], id.as_str());
    assert_eq!(data["destroyed"], true);
    let backup = std::path::PathBuf::from(data["backup"].as_str().expect("backup path"));
    assert!(
        backup.starts_with(app.backups_dir()),
        "{}",
        backup.display()
    );
    app.assert_backup(&backup, &id);
    assert_eq!(app.backup_files().len(), 1);

    app.assert_no_database(&id).await;
    assert!(app.db_exists(&other).await, "other tenants are untouched");
    app.admin_get(&path)
        .await
        .assert_error(404, "tenant_not_found");
    app.get_with_key(&path, &key)
        .await
        .assert_error(401, "unauthorized");
    assert_eq!(app.tenant_total().await, 1);

    // Gone entirely: the same org can be provisioned afresh.
    let fresh = app
        .admin_post("/api/v1/tenants", provisioning_request("acme", "free"))
        .await;
    fresh.assert_success(201);
    assert_eq!(fresh.body["data"]["status"], "active");
    app.assert_system_schema_of(&id).await;
    app.get_with_key(&path, &key)
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn default_destroy_waits_for_the_grace_period_and_can_be_finished_early() {
    let app = TestApp::new().start().await;
    let (id, key) = app.active_tenant("acme", "pro").await;
    let path = format!("/api/v1/tenants/{id}");

    let res = app.admin_delete(&path).await;
    let data = res.assert_success(202);
    assert_conforms("Tenant", data);
    assert_eq!(data["provisioningStatus"], "destroying");
    let now = res.body["meta"]["timestamp"].as_str().unwrap();
    let at = res.body["meta"]["tenant"]["destroyAfter"].as_str().unwrap();
    assert!(at > now, "destroyAfter {at} is after {now}");
    assert_eq!(app.status(&id).await, "destroying");

    // Keys are revoked at once; the database stays until the grace period ends.
    app.get_with_key(&path, &key)
        .await
        .assert_error(401, "key_revoked");
    let keys = app.admin_get(&format!("{path}/keys")).await;
    for k in keys.assert_success(200).as_array().unwrap() {
        assert_eq!(k["status"], "revoked", "{k}");
    }
    assert!(app.db_exists(&id).await);
    assert!(app.backup_files().is_empty());

    // Refused while destroying.
    for action in ["suspend", "resume", "retry"] {
        let res = app.admin_post_empty(&format!("{path}/{action}")).await;
        assert_refused(&res, "destroying");
    }
    let res = app
        .admin_post(&format!("{path}/plan"), json!({"plan": "free"}))
        .await;
    assert_refused(&res, "destroying");
    let res = app
        .admin_post(&format!("{path}/keys"), json!({"scope": "read-only"}))
        .await;
    assert_refused(&res, "destroying");
    let res = app.admin_delete(&path).await;
    assert_refused(&res, "destroying");
    assert!(app.db_exists(&id).await);

    // Finishing it now.
    let res = app.admin_delete(&format!("{path}?immediate=true")).await;
    let data = res.assert_success(200);
    assert_eq!(data["destroyed"], true);
    app.assert_no_database(&id).await;
    assert_eq!(app.backup_files().len(), 1, "createBackup defaults to true");
    app.admin_get(&path)
        .await
        .assert_error(404, "tenant_not_found");
    assert_eq!(app.tenant_total().await, 0);
}

#[tokio::test]
async fn zero_grace_without_backup_destroys_at_once_and_keeps_nothing() {
    let app = TestApp::new().start().await;
    let (id, key) = app.active_tenant("acme", "free").await;
    let path = format!("/api/v1/tenants/{id}");
    let res = app
        .admin_delete(&format!("{path}?gracePeriodHours=0&createBackup=false"))
        .await;
    let data = res.assert_success(200);
    assert_eq!(data["destroyed"], true);
    assert!(data["backup"].is_null());
    assert!(app.backup_files().is_empty());
    assert!(app.tenant_databases().await.is_empty());
    if app.provider() == "sqlite" {
        assert!(app.tenant_files().is_empty(), "{:?}", app.tenant_files());
    }
    app.admin_get(&path)
        .await
        .assert_error(404, "tenant_not_found");
    app.get_with_key(&path, &key)
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn destroying_a_failed_or_suspended_tenant() {
    let app = TestApp::new().start().await;
    failed_tenant(&app, "broken").await;
    let res = app
        .admin_delete("/api/v1/tenants/broken?immediate=true&createBackup=false")
        .await;
    res.assert_success(200);
    let (id, _) = app.active_tenant("paused", "pro").await;
    app.admin_post_empty(&format!("/api/v1/tenants/{id}/suspend"))
        .await
        .assert_success(200);
    app.admin_delete(&format!("/api/v1/tenants/{id}?immediate=true"))
        .await
        .assert_success(200);
    assert_eq!(app.tenant_total().await, 0);
    assert!(app.tenant_databases().await.is_empty());
}

#[tokio::test]
async fn destroy_parameters_are_validated() {
    let app = TestApp::new().start().await;
    let (id, _) = app.active_tenant("acme", "free").await;
    let before = app.snapshot().await;
    for (query, path) in [
        ("immediate=maybe", "immediate"),
        ("createBackup=yes", "createBackup"),
        ("gracePeriodHours=-1", "gracePeriodHours"),
        ("gracePeriodHours=soon", "gracePeriodHours"),
        ("force=true", ""),
    ] {
        let res = app
            .admin_delete(&format!("/api/v1/tenants/{id}?{query}"))
            .await;
        res.assert_invalid(400, &[path]);
    }
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn an_unknown_tenant_is_404_on_every_route() {
    let app = TestApp::new().start().await;
    app.provision("acme", "pro").await;
    let before = app.snapshot().await;
    let base = "/api/v1/tenants/nobody";
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, base.to_owned(), None),
        (Method::DELETE, base.to_owned(), None),
        (Method::DELETE, format!("{base}?immediate=true"), None),
        (Method::GET, format!("{base}/provisioning"), None),
        (Method::GET, format!("{base}/events"), None),
        (Method::POST, format!("{base}/retry"), None),
        (Method::POST, format!("{base}/suspend"), None),
        (Method::POST, format!("{base}/resume"), None),
        (
            Method::POST,
            format!("{base}/plan"),
            Some(json!({"plan": "pro"})),
        ),
        (Method::GET, format!("{base}/usage"), None),
        (Method::GET, format!("{base}/quota"), None),
        (Method::GET, format!("{base}/keys"), None),
        (
            Method::POST,
            format!("{base}/keys"),
            Some(json!({"scope": "read-only"})),
        ),
        (Method::DELETE, format!("{base}/keys/abc123"), None),
    ];
    for (method, path, body) in cases {
        let mut request = app.admin(method.clone(), &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let res = app.send(request).await;
        assert_eq!(res.status, 404, "{method} {path}: {}", res.text);
        let error = res.assert_error(404, "tenant_not_found");
        assert_eq!(error["category"], "not_found");
    }
    assert_eq!(app.snapshot().await, before);
    assert!(!app.db_exists("nobody").await);
}

#[tokio::test]
async fn lifecycle_changes_of_a_provisioning_tenant_are_refused_at_once() {
    let app = TestApp::new().start().await;
    app.failpoints().configure("activate=delay(1500)").unwrap();
    app.admin_post(
        "/api/v1/tenants?wait=false",
        provisioning_request("busy", "pro"),
    )
    .await
    .assert_success(202);
    assert_eq!(app.status("busy").await, "provisioning");

    // Expected: 409 naming `provisioning`, without waiting for the pipeline to finish.
    let suspend = app.admin_post_empty("/api/v1/tenants/busy/suspend").await;
    let plan = app
        .admin_post("/api/v1/tenants/busy/plan", json!({"plan": "free"}))
        .await;
    let status_meanwhile = app.status("busy").await;
    assert_refused(&suspend, "provisioning");
    assert_refused(&plan, "provisioning");
    assert_eq!(status_meanwhile, "provisioning");
    let resume = app.admin_post_empty("/api/v1/tenants/busy/resume").await;
    assert_refused(&resume, "provisioning");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_suspends_let_exactly_one_through() {
    let app = TestApp::new().start().await;
    let (id, _) = app.active_tenant("acme", "pro").await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let request = app.admin(Method::POST, &format!("/api/v1/tenants/{id}/suspend"));
        tasks.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        if status == 409 {
            assert_eq!(
                body["error"]["details"]["currentStatus"], "suspended",
                "{body}"
            );
        }
        statuses.push(status);
    }
    statuses.sort_unstable();
    let mut expected = vec![409; 9];
    expected.insert(0, 200);
    assert_eq!(statuses, expected);
    let suspended: Vec<SseStatus> = app
        .events(&id, None)
        .await
        .into_iter()
        .filter(|e| e.kind == "status" && e.data["status"] == "suspended")
        .map(|_| SseStatus)
        .collect();
    assert_eq!(suspended.len(), 1, "one transition recorded");
}

#[derive(Debug)]
struct SseStatus;

#[tokio::test]
async fn a_scheduled_destruction_is_in_the_future() {
    let app = TestApp::new().start().await;
    for (org, hours) in [("soon", "1"), ("later", "100000000000")] {
        let (id, _) = app.active_tenant(org, "free").await;
        let res = app
            .admin_delete(&format!("/api/v1/tenants/{id}?gracePeriodHours={hours}"))
            .await;
        if hours != "1" {
            // Beyond ten years is refused rather than scheduled at an unrepresentable time.
            res.assert_invalid(400, &["gracePeriodHours"]);
            assert_eq!(app.status(&id).await, "active", "nothing changed");
            continue;
        }
        res.assert_success(202);
        let now = res.body["meta"]["timestamp"].as_str().unwrap();
        let at = res.body["meta"]["tenant"]["destroyAfter"].as_str().unwrap();
        assert_eq!(at.len(), now.len(), "{at} is an RFC 3339 time like {now}");
        assert!(
            at > now,
            "gracePeriodHours={hours}: destroyAfter {at} is not after {now}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_immediate_destroys_destroy_once() {
    let app = TestApp::new().start().await;
    let (id, _) = app.active_tenant("acme", "pro").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let request = app.admin(
            Method::DELETE,
            &format!("/api/v1/tenants/{id}?immediate=true&createBackup=true"),
        );
        tasks.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }));
    }
    let mut destroyed = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            200 => destroyed += 1,
            404 => assert_eq!(body["error"]["code"], "tenant_not_found"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(destroyed >= 1);
    assert_eq!(app.backup_files().len(), 1, "{:?}", app.backup_files());
    assert!(app.tenant_databases().await.is_empty());
    if app.provider() == "sqlite" {
        assert!(app.tenant_files().is_empty(), "{:?}", app.tenant_files());
    }
    assert_eq!(app.tenant_total().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_an_org_whose_tenant_is_being_destroyed_is_a_conflict() {
    let app = TestApp::new().start().await;
    let (id, _) = app.active_tenant("leaving", "pro").await;
    app.admin_delete(&format!("/api/v1/tenants/{id}"))
        .await
        .assert_success(202);
    let res = app
        .admin_post("/api/v1/tenants", provisioning_request("leaving", "pro"))
        .await;
    let error = res.assert_error(409, "tenant_destroying");
    assert_eq!(error["details"]["currentStatus"], "destroying");
    assert!(res.body.get("credentials").is_none());
    // Once it is gone, the org can be provisioned again, with fresh credentials.
    app.admin_delete(&format!("/api/v1/tenants/{id}?immediate=true"))
        .await
        .assert_success(200);
    let again = app
        .admin_post("/api/v1/tenants", provisioning_request("leaving", "pro"))
        .await;
    again.assert_success(201);
    assert!(again.body["credentials"]["apiKey"].as_str().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_racing_an_immediate_destroy_get_409_then_404_never_500() {
    let app = TestApp::new().start().await;
    let (id, _) = app.active_tenant("acme", "pro").await;
    let deployments = format!("/api/v1/tenants/{id}/deployments");
    app.admin_get(&deployments).await.assert_success(200);
    // Hold the destroy between deleting the database and deleting the tenant's records: the
    // window a request that found the tenant a moment earlier lands in.
    app.failpoints()
        .configure("destroy_database_deleted=delay(2000)")
        .unwrap();
    let destroy_path = format!("/api/v1/tenants/{id}?immediate=true&createBackup=false");
    let destroy = app.admin_delete(&destroy_path);
    let during = async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while app.db_exists(&id).await {
            assert!(
                std::time::Instant::now() < deadline,
                "the destroy never ran"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        // Once a 500 "tenant database does not exist".
        let list = app.admin_get(&deployments).await;
        let show = app.admin_get(&format!("{deployments}/dep-1")).await;
        (list, show)
    };
    let (destroyed, (list, show)) = tokio::join!(destroy, during);
    destroyed.assert_success(200);
    app.failpoints().clear();
    for res in [&list, &show] {
        let error = res.assert_error(409, "tenant_destroying");
        assert_eq!(error["details"]["tenantId"], id.as_str(), "{error}");
    }
    // Once the records are gone too, the same requests are 404.
    app.admin_get(&deployments)
        .await
        .assert_error(404, "tenant_not_found");
}
