//! `POST /api/v1/tenants` and the provisioning pipeline over HTTP: creation, idempotency (also
//! under 100 concurrent requests), conflicts, listing, retry after an injected failure at each
//! step, step timeouts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{assert_conforms, provisioning_request, TestApp};
use objectos_tenantdb::TenantDatabases;
use serde_json::{json, Value};

const STEPS: [&str; 5] = [
    "create_database",
    "sync_schema",
    "apply_seed_data",
    "generate_api_keys",
    "activate",
];

fn step_names(result: &Value) -> Vec<String> {
    result["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn first_request_creates_with_credentials_and_a_repeat_returns_the_same_tenant() {
    let app = TestApp::new().start().await;
    let request = json!({
        "orgId": "acme",
        "plan": "pro",
        "region": "eu-west",
        "displayName": "Acme Inc.",
        "adminEmail": "admin@acme.example",
    });

    let res = app.admin_post("/api/v1/tenants", request.clone()).await;
    let data = res.assert_success(201).clone();
    assert_conforms("TenantProvisioningResult", &data);
    assert_eq!(data["tenantId"], "acme");
    assert_eq!(data["status"], "active");
    assert_eq!(data["plan"], "pro");
    assert_eq!(data["region"], "eu-west");
    assert!(data["connectionUrl"].as_str().unwrap().contains("acme"));
    assert!(data["provisionedAt"].is_string());
    assert_eq!(step_names(&data), STEPS);
    for step in data["steps"].as_array().unwrap() {
        let expected = if step["name"] == "apply_seed_data" {
            "skipped"
        } else {
            "completed"
        };
        assert_eq!(step["status"], expected, "{step}");
        assert!(step["startedAt"].is_string() && step["completedAt"].is_string());
    }

    let credentials = &res.body["credentials"];
    assert_eq!(credentials["scope"], "full-access");
    let key_id = credentials["keyId"].as_str().unwrap();
    let api_key = credentials["apiKey"].as_str().unwrap();
    assert!(api_key.starts_with("osk_acme_"), "{api_key}");
    assert!(api_key.contains(key_id));
    assert_eq!(credentials.as_object().unwrap().len(), 3, "{credentials}");

    // The key works on its tenant.
    app.get_with_key("/api/v1/tenants/acme", api_key)
        .await
        .assert_success(200);

    // A repeat: 200, same tenant, no credentials.
    let again = app.admin_post("/api/v1/tenants", request).await;
    let again_data = again.assert_success(200);
    assert_conforms("TenantProvisioningResult", again_data);
    assert_eq!(again_data["tenantId"], "acme");
    assert_eq!(again_data["connectionUrl"], data["connectionUrl"]);
    assert_eq!(again_data["steps"], data["steps"], "nothing was re-run");
    assert!(again.body.get("credentials").is_none(), "{}", again.text);
    assert!(
        !again.text.contains("osk_"),
        "no key in a repeat: {}",
        again.text
    );

    // Still one tenant, one database, one key.
    assert_eq!(app.tenant_total().await, 1);
    assert_eq!(
        app.tenant_databases().await,
        BTreeSet::from(["acme".to_owned()])
    );
    let keys = app.admin_get("/api/v1/tenants/acme/keys").await;
    assert_eq!(keys.assert_success(200).as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_different_request_for_the_same_org_is_a_conflict_naming_the_fields() {
    let app = TestApp::new().start().await;
    app.provision("acme", "pro").await;
    let before = app.snapshot().await;

    let res = app
        .admin_post(
            "/api/v1/tenants",
            json!({"orgId": "acme", "plan": "free", "region": "us-east"}),
        )
        .await;
    let error = res.assert_error(409, "org_conflict");
    assert_eq!(error["category"], "conflict");
    assert_eq!(error["details"]["tenantId"], "acme");
    let differences = error["details"]["differences"].as_array().unwrap();
    assert_eq!(differences.len(), 1, "{error}");
    assert_eq!(differences[0]["field"], "plan");
    assert_eq!(differences[0]["existing"], "pro");
    assert_eq!(differences[0]["requested"], "free");
    assert!(error["message"].as_str().unwrap().contains("plan"));

    let res = app
        .admin_post(
            "/api/v1/tenants",
            json!({"orgId": "acme", "plan": "enterprise", "region": "ap-southeast"}),
        )
        .await;
    let error = res.assert_error(409, "org_conflict");
    let fields: BTreeSet<&str> = error["details"]["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, BTreeSet::from(["plan", "region"]));

    assert_eq!(app.snapshot().await, before, "a conflict changes nothing");
}

#[tokio::test]
async fn tenant_ids_are_derived_deterministically_from_the_org_id() {
    let app = TestApp::new().start().await;
    let long_org = format!("Org With A Very Long Name {}", "x".repeat(200));
    for org in ["Acme Corp", "acme corp", long_org.as_str(), "ÜBER Größe!"] {
        let first = app
            .admin_post("/api/v1/tenants", provisioning_request(org, "free"))
            .await;
        first.assert_success(201);
        let id = first.body["data"]["tenantId"].as_str().unwrap().to_owned();
        assert!(
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{org:?} -> {id:?}"
        );
        let again = app
            .admin_post("/api/v1/tenants", provisioning_request(org, "free"))
            .await;
        again.assert_success(200);
        assert_eq!(again.body["data"]["tenantId"], id.as_str());
    }
    // "Acme Corp" and "acme corp" slug alike but are different organizations.
    assert_eq!(app.tenant_total().await, 4);
    assert_eq!(app.tenant_databases().await.len(), 4);
}

#[tokio::test]
async fn wait_false_answers_202_and_the_tenant_becomes_active() {
    let app = TestApp::new().start().await;
    let res = app
        .admin_post(
            "/api/v1/tenants?wait=false",
            provisioning_request("later", "free"),
        )
        .await;
    let data = res.assert_success(202);
    assert_conforms("TenantProvisioningResult", data);
    assert_eq!(data["tenantId"], "later");
    assert_eq!(res.body["credentials"]["scope"], "full-access");
    let key = res.body["credentials"]["apiKey"]
        .as_str()
        .unwrap()
        .to_owned();

    let done = app.wait_for_status("later", "active").await;
    for step in done["steps"].as_array().unwrap() {
        assert!(
            step["status"] == "completed" || step["status"] == "skipped",
            "{step}"
        );
    }
    app.get_with_key("/api/v1/tenants/later", &key)
        .await
        .assert_success(200);

    // A repeat (also with wait=false) is the same tenant, without credentials.
    let again = app
        .admin_post(
            "/api/v1/tenants?wait=false",
            provisioning_request("later", "free"),
        )
        .await;
    again.assert_success(200);
    assert!(again.body.get("credentials").is_none());
    assert_eq!(app.tenant_databases().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_identical_requests_create_one_tenant_and_one_database() {
    let app = TestApp::new().start().await;
    let url = format!("{}/api/v1/tenants", app.base);
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let client = app.client.clone();
        let url = url.clone();
        let token = app.admin_token.clone();
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&provisioning_request("crowd", "pro"))
                .send()
                .await
                .expect("request sent");
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("JSON body");
            (status, body)
        }));
    }
    let mut created = 0;
    let mut repeated = 0;
    let mut credentials = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            201 => created += 1,
            200 => repeated += 1,
            other => panic!("unexpected status {other}: {body}"),
        }
        assert_eq!(body["data"]["tenantId"], "crowd");
        assert_eq!(body["data"]["status"], "active", "{body}");
        if body.get("credentials").is_some() {
            credentials += 1;
            assert_eq!(status, 201);
        }
    }
    assert_eq!((created, repeated, credentials), (1, 99, 1));

    let list = app.admin_get("/api/v1/tenants").await;
    list.assert_success(200);
    assert_eq!(list.body["meta"]["total"], 1);
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.tenant_databases().await,
        BTreeSet::from(["crowd".to_owned()])
    );
    let keys = app.admin_get("/api/v1/tenants/crowd/keys").await;
    assert_eq!(keys.assert_success(200).as_array().unwrap().len(), 1);
    let steps = app.steps("crowd").await;
    for step in steps.values() {
        assert_eq!(step["retryCount"], 0, "no step ran twice: {step}");
    }
}

#[tokio::test]
async fn listing_paginates_filters_and_validates_its_parameters() {
    let app = TestApp::new().start().await;
    app.provision("alpha", "free").await;
    app.provision("beta", "pro").await;
    app.provision("gamma", "pro").await;
    app.failpoints()
        .configure("sync_schema=fail(boom)")
        .unwrap();
    let failed = app
        .admin_post(
            "/api/v1/tenants",
            provisioning_request("delta", "enterprise"),
        )
        .await;
    assert_eq!(failed.body["data"]["status"], "failed", "{}", failed.text);
    app.failpoints().clear();

    let res = app.admin_get("/api/v1/tenants").await;
    let data = res.assert_success(200);
    let meta = &res.body["meta"];
    assert_eq!(meta["total"], 4);
    assert_eq!(meta["limit"], 50);
    assert_eq!(meta["offset"], 0);
    assert_eq!(meta["hasMore"], false);
    let items = data.as_array().unwrap();
    assert_eq!(items.len(), 4);
    for item in items {
        assert_conforms("Tenant", item);
        assert!(item["connectionConfig"].get("authToken").is_none());
    }
    assert!(!res.text.contains("authToken"));

    // Pages.
    let page = app.admin_get("/api/v1/tenants?limit=3").await;
    page.assert_success(200);
    assert_eq!(page.body["data"].as_array().unwrap().len(), 3);
    assert_eq!(page.body["meta"]["limit"], 3);
    assert_eq!(page.body["meta"]["hasMore"], true);
    let rest = app.admin_get("/api/v1/tenants?limit=3&offset=3").await;
    rest.assert_success(200);
    assert_eq!(rest.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["meta"]["offset"], 3);
    assert_eq!(rest.body["meta"]["hasMore"], false);
    let mut ids: Vec<Value> = page.body["data"].as_array().unwrap().clone();
    ids.extend(rest.body["data"].as_array().unwrap().iter().cloned());
    let ids: BTreeSet<&str> = ids.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, BTreeSet::from(["alpha", "beta", "gamma", "delta"]));
    let beyond = app.admin_get("/api/v1/tenants?offset=10").await;
    beyond.assert_success(200);
    assert_eq!(beyond.body["data"], json!([]));
    assert_eq!(beyond.body["meta"]["total"], 4);
    app.admin_get("/api/v1/tenants?limit=1000")
        .await
        .assert_success(200);

    // Filters.
    let pro = app.admin_get("/api/v1/tenants?plan=pro").await;
    pro.assert_success(200);
    assert_eq!(pro.body["meta"]["total"], 2);
    for t in pro.body["data"].as_array().unwrap() {
        assert_eq!(t["plan"], "pro");
    }
    let failed = app.admin_get("/api/v1/tenants?status=failed").await;
    failed.assert_success(200);
    assert_eq!(failed.body["meta"]["total"], 1);
    assert_eq!(failed.body["data"][0]["id"], "delta");
    let both = app
        .admin_get("/api/v1/tenants?status=active&plan=free")
        .await;
    both.assert_success(200);
    assert_eq!(both.body["meta"]["total"], 1);
    assert_eq!(both.body["data"][0]["id"], "alpha");

    // Bad parameters: 400 with the parameter's path.
    for (query, path) in [
        ("limit=1001", "limit"),
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("status=gone", "status"),
        ("status=ACTIVE", "status"),
        ("plan=gold", "plan"),
        ("sort=name", ""),
    ] {
        let res = app.admin_get(&format!("/api/v1/tenants?{query}")).await;
        res.assert_invalid(400, &[path]);
    }
}

#[tokio::test]
async fn show_returns_a_tenant_without_its_auth_token() {
    let app = TestApp::new().start().await;
    app.provision("acme", "enterprise").await;
    let res = app.admin_get("/api/v1/tenants/acme").await;
    let data = res.assert_success(200);
    assert_conforms("Tenant", data);
    assert_eq!(data["id"], "acme");
    assert_eq!(data["isolationLevel"], "isolated_db");
    assert_eq!(data["provisioningStatus"], "active");
    assert_eq!(data["plan"], "enterprise");
    assert!(data["databaseProvider"].is_string());
    assert!(data["connectionConfig"]["url"].is_string());
    assert!(!res.text.contains("authToken"), "{}", res.text);
    assert_eq!(res.body["meta"]["tenant"]["orgId"], "acme");
}

/// Arms a failure at `step`, provisions, checks the failed state, clears, retries and checks
/// that the failed step was redone once and nothing before it was.
async fn retry_after_failure_at(step: &str) {
    let app = TestApp::new().start().await;
    let position = STEPS.iter().position(|s| *s == step).unwrap();
    app.failpoints()
        .configure(&format!("{step}=fail(boom)"))
        .unwrap();

    let res = app
        .admin_post("/api/v1/tenants", provisioning_request("acme", "pro"))
        .await;
    res.assert_status(201);
    let data = &res.body["data"];
    assert_conforms("TenantProvisioningResult", data);
    assert_eq!(data["status"], "failed", "{}", res.text);
    let error = data["error"].as_str().expect("a failed tenant says why");
    assert!(error.contains(step) && error.contains("boom"), "{error}");
    let key = res.body["credentials"]["apiKey"]
        .as_str()
        .unwrap()
        .to_owned();

    let failed = app.provisioning("acme").await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap().contains(step));
    let before = app.steps("acme").await;
    for (i, name) in STEPS.iter().enumerate() {
        let s = &before[*name];
        if i < position {
            let expected = if *name == "apply_seed_data" {
                "skipped"
            } else {
                "completed"
            };
            assert_eq!(s["status"], expected, "{s}");
            assert!(s["startedAt"].is_string(), "{s}");
        } else if i == position {
            assert_eq!(s["status"], "failed", "{s}");
            assert!(s["error"].as_str().unwrap().contains("boom"), "{s}");
            assert_eq!(s["retryCount"], 0);
        } else {
            assert_eq!(s["status"], "pending", "{s}");
        }
    }
    assert_eq!(app.status("acme").await, "failed");

    // Retry with the failure still armed fails again, at the same step.
    let again = app.admin_post_empty("/api/v1/tenants/acme/retry").await;
    again.assert_success(200);
    assert_eq!(again.body["data"]["status"], "failed", "{}", again.text);

    app.failpoints().clear();
    let retried = app.admin_post_empty("/api/v1/tenants/acme/retry").await;
    let data = retried.assert_success(200);
    assert_conforms("TenantProvisioningResult", data);
    assert_eq!(data["status"], "active", "{}", retried.text);
    assert!(data["error"].is_null());

    let after = app.steps("acme").await;
    for (i, name) in STEPS.iter().enumerate() {
        let (old, new) = (&before[*name], &after[*name]);
        let done = if *name == "apply_seed_data" {
            "skipped"
        } else {
            "completed"
        };
        assert_eq!(new["status"], done, "{new}");
        assert!(new["error"].is_null(), "{new}");
        if i < position {
            assert_eq!(new["startedAt"], old["startedAt"], "{name} was redone");
            assert_eq!(new["completedAt"], old["completedAt"], "{name} was redone");
            assert_eq!(new["retryCount"], 0, "{new}");
        } else if i == position {
            assert_eq!(new["retryCount"], 2, "failed twice, retried twice: {new}");
        } else {
            assert_eq!(new["retryCount"], 0, "{new}");
        }
    }
    let provisioning = app.provisioning("acme").await;
    assert_eq!(provisioning["status"], "active");
    assert!(provisioning["error"].is_null());

    // The key handed out at creation works once the tenant is active.
    app.get_with_key("/api/v1/tenants/acme", &key)
        .await
        .assert_success(200);
    assert_eq!(
        app.tenant_databases().await,
        BTreeSet::from(["acme".to_owned()])
    );

    // Retrying an active tenant is a refused transition.
    let refused = app.admin_post_empty("/api/v1/tenants/acme/retry").await;
    let error = refused.assert_error(409, "invalid_transition");
    assert_eq!(error["details"]["currentStatus"], "active");
    assert!(error["message"].as_str().unwrap().contains("active"));
}

/// The brief's exact sequence: one failure, clear, one retry → `retryCount: 1`.
async fn single_retry_after_failure_at(step: &str) {
    let app = TestApp::new().start().await;
    app.failpoints()
        .configure(&format!("{step}=fail(boom)"))
        .unwrap();
    let res = app
        .admin_post("/api/v1/tenants", provisioning_request("solo", "free"))
        .await;
    assert_eq!(res.body["data"]["status"], "failed", "{}", res.text);
    app.failpoints().clear();
    let retried = app.admin_post_empty("/api/v1/tenants/solo/retry").await;
    assert_eq!(retried.assert_success(200)["status"], "active");
    let steps = app.steps("solo").await;
    assert_eq!(steps[step]["status"], "completed");
    assert_eq!(steps[step]["retryCount"], 1, "{}", steps[step]);
}

#[tokio::test]
async fn retry_after_a_failure_at_create_database() {
    retry_after_failure_at("create_database").await;
    single_retry_after_failure_at("create_database").await;
}

#[tokio::test]
async fn retry_after_a_failure_at_sync_schema() {
    retry_after_failure_at("sync_schema").await;
    single_retry_after_failure_at("sync_schema").await;
}

#[tokio::test]
async fn retry_after_a_failure_at_generate_api_keys() {
    retry_after_failure_at("generate_api_keys").await;
    single_retry_after_failure_at("generate_api_keys").await;
}

#[tokio::test]
async fn retry_after_a_failure_at_activate() {
    retry_after_failure_at("activate").await;
    single_retry_after_failure_at("activate").await;
}

#[tokio::test]
async fn a_hanging_step_times_out_and_the_tenant_fails() {
    let app = TestApp::new()
        .with(|opts| opts.platform.step_timeout_ms = 300)
        .start()
        .await;
    app.failpoints().configure("sync_schema=hang").unwrap();
    let res = app
        .admin_post("/api/v1/tenants", provisioning_request("slow", "free"))
        .await;
    res.assert_status(201);
    let data = &res.body["data"];
    assert_eq!(data["status"], "failed", "{}", res.text);
    let error = data["error"].as_str().unwrap();
    assert!(
        error.contains("sync_schema") && error.contains("timed out"),
        "{error}"
    );
    let steps = app.steps("slow").await;
    assert_eq!(steps["create_database"]["status"], "completed");
    assert_eq!(steps["sync_schema"]["status"], "failed");
    assert!(steps["sync_schema"]["error"]
        .as_str()
        .unwrap()
        .contains("timed out"));

    app.failpoints().clear();
    let retried = app.admin_post_empty("/api/v1/tenants/slow/retry").await;
    assert_eq!(retried.assert_success(200)["status"], "active");
}

#[tokio::test]
async fn tenants_survive_a_restart() {
    let app = TestApp::new().start().await;
    let (_, key) = app.active_tenant("acme", "pro").await;
    let before = app.snapshot().await;
    let app = app.restart().await;
    assert_eq!(app.snapshot().await, before);
    app.get_with_key("/api/v1/tenants/acme", &key)
        .await
        .assert_success(200);
    app.stop().await;
}

#[tokio::test]
async fn a_repeat_spelling_out_the_defaults_is_the_same_request() {
    let app = TestApp::new().start().await;
    app.admin_post("/api/v1/tenants", json!({"orgId": "terse"}))
        .await
        .assert_success(201);
    let res = app
        .admin_post(
            "/api/v1/tenants",
            json!({"orgId": "terse", "plan": "free", "region": "us-east"}),
        )
        .await;
    let data = res.assert_success(200);
    assert_eq!(data["plan"], "free");
    assert_eq!(data["region"], "us-east");
    // Any other difference is named, display name and admin email included.
    let res = app
        .admin_post(
            "/api/v1/tenants",
            json!({"orgId": "terse", "displayName": "Terse", "adminEmail": "a@b.example"}),
        )
        .await;
    let error = res.assert_error(409, "org_conflict");
    let fields: BTreeSet<&str> = error["details"]["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, BTreeSet::from(["displayName", "adminEmail"]));
}

#[tokio::test]
async fn an_org_whose_derived_tenant_id_is_taken_is_a_conflict() {
    let app = TestApp::new().start().await;
    let first = app.provision("Acme Corp", "pro").await;
    let taken = first["data"]["tenantId"].as_str().unwrap().to_owned();
    let before = app.snapshot().await;
    // An org id spelled exactly like that tenant id maps to the same id.
    let res = app
        .admin_post("/api/v1/tenants", provisioning_request(&taken, "pro"))
        .await;
    let error = res.assert_error(409, "tenant_id_taken");
    assert_eq!(error["details"]["tenantId"], taken.as_str());
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_redo_the_failed_step_once() {
    let app = TestApp::new().start().await;
    app.failpoints()
        .configure("sync_schema=fail(boom)")
        .unwrap();
    let res = app
        .admin_post("/api/v1/tenants", provisioning_request("acme", "pro"))
        .await;
    assert_eq!(res.body["data"]["status"], "failed", "{}", res.text);
    let before = app.steps("acme").await;
    app.failpoints().clear();
    app.failpoints()
        .configure("sync_schema=delay(100)")
        .unwrap();

    let mut tasks = Vec::new();
    for _ in 0..10 {
        let request = app.admin(reqwest::Method::POST, "/api/v1/tenants/acme/retry");
        tasks.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }));
    }
    let mut succeeded = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            200 => {
                succeeded += 1;
                assert_eq!(body["data"]["status"], "active", "{body}");
            }
            409 => {
                assert_eq!(body["error"]["code"], "invalid_transition", "{body}");
                assert_eq!(
                    body["error"]["details"]["currentStatus"], "active",
                    "{body}"
                );
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(succeeded >= 1);
    let after = app.steps("acme").await;
    assert_eq!(
        after["sync_schema"]["retryCount"], 1,
        "{}",
        after["sync_schema"]
    );
    assert_eq!(
        after["create_database"]["startedAt"],
        before["create_database"]["startedAt"]
    );
    for name in [
        "create_database",
        "apply_seed_data",
        "generate_api_keys",
        "activate",
    ] {
        assert_eq!(after[name]["retryCount"], 0, "{}", after[name]);
    }
    let keys = app.admin_get("/api/v1/tenants/acme/keys").await;
    assert_eq!(keys.assert_success(200).as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn unfinished_provisioning_resumes_after_a_restart() {
    // A lease far longer than the test: the restarted node must not wait for its own dead run's
    // lease to lapse (the data-dir lock proves that run is gone).
    let app = TestApp::new()
        .with(|opts| opts.platform.step_lease_ms = 600_000)
        .start()
        .await;
    app.failpoints().configure("activate=hang").unwrap();
    let res = app
        .admin_post(
            "/api/v1/tenants?wait=false",
            provisioning_request("stuck", "pro"),
        )
        .await;
    res.assert_success(202);
    let key = res.body["credentials"]["apiKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let before = loop {
        let steps = app.steps("stuck").await;
        if steps["activate"]["status"] == "running" {
            break steps;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "activate never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };

    // The restarted server has no failpoints armed: it ends the leases its previous run held and
    // takes the step over at once (`wait_for_status` gives up after 10 s, the lease is 600 s).
    let node_id = std::fs::read_to_string(app.data_dir().join("node-id")).unwrap();
    let app = app.restart().await;
    assert_eq!(
        std::fs::read_to_string(app.data_dir().join("node-id")).unwrap(),
        node_id,
        "a restart keeps the node id"
    );
    app.wait_for_status("stuck", "active").await;
    let after = app.steps("stuck").await;
    for name in [
        "create_database",
        "sync_schema",
        "apply_seed_data",
        "generate_api_keys",
    ] {
        assert_eq!(
            after[name]["startedAt"], before[name]["startedAt"],
            "{name} redone"
        );
        assert_eq!(after[name]["retryCount"], 0);
    }
    assert_eq!(after["activate"]["status"], "completed");
    assert_eq!(after["activate"]["retryCount"], 1, "{}", after["activate"]);
    assert_eq!(
        app.tenant_databases().await,
        BTreeSet::from(["stuck".to_owned()])
    );
    app.get_with_key("/api/v1/tenants/stuck", &key)
        .await
        .assert_success(200);
}

#[tokio::test]
async fn a_repeat_request_after_a_restart_finishes_at_once_despite_a_long_lease() {
    let app = TestApp::new()
        .with(|opts| opts.platform.step_lease_ms = 600_000)
        .start()
        .await;
    app.failpoints()
        .configure("generate_api_keys=hang")
        .unwrap();
    app.admin_post(
        "/api/v1/tenants?wait=false",
        provisioning_request("again", "pro"),
    )
    .await
    .assert_success(202);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while app.steps("again").await["generate_api_keys"]["status"] != "running" {
        assert!(tokio::time::Instant::now() < deadline, "step never started");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let app = app.restart().await;
    // The client's own timeout (HTTP_TIMEOUT) is far below the 600 s lease.
    let res = app
        .admin_post("/api/v1/tenants", provisioning_request("again", "pro"))
        .await;
    assert_eq!(res.body["data"]["status"], "active", "{}", res.body);
    assert_eq!(
        app.steps("again").await["generate_api_keys"]["retryCount"],
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_running_longer_than_its_lease_keeps_it_renewed() {
    // Another node (here: a second connection to the same control store) tries to take the step
    // over all along; the running node renews its lease every third of it, so it never lapses.
    let app = TestApp::new()
        .with(|opts| opts.platform.step_lease_ms = 1_500)
        .start()
        .await;
    app.failpoints()
        .configure("sync_schema=delay(5000)")
        .unwrap();
    app.admin_post(
        "/api/v1/tenants?wait=false",
        provisioning_request("slow", "pro"),
    )
    .await
    .assert_success(202);
    // The server's own control store (control.db, or PostgreSQL under OBJECTOS_TEST_CONTROL).
    let other = objectos_store::ControlStores::open(&app.options.control, app.data_dir())
        .await
        .unwrap();
    use objectos_store::ControlStore;
    assert!(
        other.tenant("slow").await.unwrap().is_some(),
        "not the server's store"
    );
    let mut attempts = 0;
    loop {
        let steps = app.steps("slow").await;
        match steps["sync_schema"]["status"].as_str() {
            Some("running") => {
                let taken = other
                    .claim_step("slow", "sync_schema", "node-intruder", 1_500)
                    .await
                    .unwrap();
                assert!(
                    taken.is_none(),
                    "a live, renewed lease was taken over: {taken:?}"
                );
                attempts += 1;
            }
            Some("pending") => {}
            _ => break,
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(attempts >= 20, "the step ran for only {attempts} polls");
    app.wait_for_status("slow", "active").await;
    assert_eq!(app.steps("slow").await["sync_schema"]["retryCount"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wait_false_requests_and_many_orgs_at_once() {
    let app = TestApp::new().start().await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        // 40 identical background requests for one org, and 20 other orgs.
        let (path, org) = if i < 40 {
            ("/api/v1/tenants?wait=false", "shared".to_owned())
        } else {
            ("/api/v1/tenants", format!("org-{i}"))
        };
        let request = app
            .admin(reqwest::Method::POST, path)
            .json(&provisioning_request(&org, "free"));
        tasks.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (org, status, response.json::<Value>().await.unwrap())
        }));
    }
    let mut shared = Vec::new();
    for task in tasks {
        let (org, status, body) = task.await.unwrap();
        if org == "shared" {
            shared.push((status, body.get("credentials").is_some()));
        } else {
            assert_eq!(status, 201, "{body}");
            assert_eq!(body["data"]["status"], "active", "{body}");
        }
    }
    shared.sort_unstable();
    let mut expected = vec![(200, false); 39];
    expected.push((202, true));
    assert_eq!(shared, expected);
    app.wait_for_status("shared", "active").await;
    assert_eq!(app.tenant_total().await, 21);
    assert_eq!(app.tenant_databases().await.len(), 21);
}

#[tokio::test]
async fn orphan_databases_are_set_aside_at_start_up_never_deleted() {
    let app = TestApp::new().start().await;
    app.provision("acme", "pro").await;
    // A database no tenant owns (a crash between creating a database and recording it), with
    // data in it: an orphan is only an inference, so the data must survive it.
    app.app().platform.dbs().create("ghost").await.unwrap();
    app.sql("ghost", "CREATE TABLE keep_me (v TEXT)").await;
    app.sql("ghost", "INSERT INTO keep_me VALUES ('precious')")
        .await;
    assert!(app.tenant_databases().await.contains("ghost"));
    let app = app.restart().await;
    assert_eq!(app.tenant_total().await, 1);
    if app.provider() == "sqlite" {
        // Moved to tenants/quarantine/, whole: no longer served nor listed, but not deleted.
        assert_eq!(
            app.tenant_databases().await,
            BTreeSet::from(["acme".to_owned()])
        );
        let moved = app.tenants_dir().join("quarantine/ghost.db");
        let conn = rusqlite::Connection::open(&moved).unwrap();
        let kept: String = conn
            .query_row("SELECT v FROM keep_me", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, "precious");
    } else {
        // PostgreSQL: the schema is kept where it is (and logged).
        assert_eq!(
            app.tenant_databases().await,
            BTreeSet::from(["acme".to_owned(), "ghost".to_owned()])
        );
        assert_eq!(app.count_rows("ghost", "keep_me").await, 1);
    }
}

#[tokio::test]
async fn a_file_named_like_a_database_is_quarantined_at_start_up_byte_for_byte() {
    // The file layout of the default provider: anything named `<tenant id>.db` is a database.
    let app = TestApp::new()
        .with(|o| o.tenant_databases.provider = "sqlite".to_owned())
        .start()
        .await;
    app.provision("acme", "pro").await;
    let dir = app.stop().await;
    let tenants = dir.path().join("data/tenants");
    std::fs::write(tenants.join("ghost.db"), b"left by who knows what").unwrap();
    std::fs::create_dir_all(tenants.join("quarantine")).unwrap();
    std::fs::write(tenants.join("quarantine/ghost.db"), b"an earlier one").unwrap();
    let app = TestApp::reopen(dir).await;
    assert_eq!(
        app.tenant_db_files(),
        BTreeSet::from(["acme.db".to_owned()])
    );
    assert_eq!(app.tenant_total().await, 1);
    let quarantine = app.tenants_dir().join("quarantine");
    assert_eq!(
        std::fs::read(quarantine.join("ghost.db")).unwrap(),
        b"an earlier one",
        "an earlier quarantined copy is not overwritten"
    );
    assert_eq!(
        std::fs::read(quarantine.join("ghost.1.db")).unwrap(),
        b"left by who knows what"
    );
}

/// Starts a server over `dir`'s data dir, expecting it to refuse; returns the error's text.
async fn start_is_refused(dir: &tempfile::TempDir) -> String {
    let mut options = objectos_server::app::AppOptions::new(dir.path().join("data"));
    options.listen = "127.0.0.1:0".parse().unwrap();
    options.tenant_databases.provider = "sqlite".to_owned();
    match objectos_server::app::RunningApp::start(options).await {
        Ok(_) => panic!("the server started"),
        Err(e) => {
            assert!(
                matches!(e, objectos_server::app::StartError::ControlStoreLost { .. }),
                "{e}"
            );
            e.to_string()
        }
    }
}

#[tokio::test]
async fn a_missing_or_empty_control_store_with_tenant_databases_refuses_to_start() {
    // About the control.db file: the embedded store whatever OBJECTOS_TEST_CONTROL says (the
    // PostgreSQL store's twin is in tests/control_store.rs).
    let app = TestApp::new()
        .embedded_control()
        .with(|o| o.tenant_databases.provider = "sqlite".to_owned())
        .start()
        .await;
    app.provision("acme", "pro").await;
    app.provision("initech", "pro").await;
    app.sql("acme", "CREATE TABLE keep_me (v TEXT)").await;
    app.sql("acme", "INSERT INTO keep_me VALUES ('precious')")
        .await;
    let token = app.admin_token.clone();
    let dir = app.stop().await;
    let data = dir.path().join("data");
    let saved = dir.path().join("control.db.saved");
    std::fs::copy(data.join("control.db"), &saved).unwrap();
    let token_file = std::fs::read_to_string(data.join("admin-token")).unwrap();
    // A control store from a fresh, empty data dir: valid, but without a tenant.
    let fresh = TestApp::new().embedded_control().start().await;
    let fresh_dir = fresh.stop().await;
    let fresh_control = fresh_dir.path().join("data/control.db");

    let lose: [(&str, &dyn Fn()); 3] = [
        ("missing", &|| {
            for name in ["control.db", "control.db-wal", "control.db-shm"] {
                let _ = std::fs::remove_file(data.join(name));
            }
        }),
        ("empty file", &|| {
            std::fs::write(data.join("control.db"), b"").unwrap();
        }),
        ("no tenants", &|| {
            for name in ["control.db-wal", "control.db-shm"] {
                let _ = std::fs::remove_file(data.join(name));
            }
            std::fs::copy(&fresh_control, data.join("control.db")).unwrap();
        }),
    ];
    for (how, lose) in lose {
        lose();
        let message = start_is_refused(&dir).await;
        for needle in [
            "control.db",
            "acme.db",
            "initech.db",
            "Refusing to start",
            "restore control.db",
            "quarantine",
        ] {
            assert!(message.contains(needle), "{how}: {needle:?} in {message}");
        }
        // Nothing was deleted, moved or overwritten.
        for name in ["acme.db", "initech.db"] {
            assert!(data.join("tenants").join(name).is_file(), "{how}: {name}");
        }
        assert!(!data.join("tenants/quarantine").exists(), "{how}");
        assert_eq!(
            std::fs::read_to_string(data.join("admin-token")).unwrap(),
            token_file,
            "{how}: the admin token file is kept"
        );
    }

    // Restoring the control store brings every tenant back, data included.
    for name in ["control.db-wal", "control.db-shm"] {
        let _ = std::fs::remove_file(data.join(name));
    }
    std::fs::copy(&saved, data.join("control.db")).unwrap();
    let app = TestApp::reopen(dir).await;
    assert_eq!(app.tenant_total().await, 2);
    assert_eq!(app.status("acme").await, "active");
    assert_eq!(app.count_rows("acme", "keep_me").await, 1);
    assert!(!token.is_empty());
}

#[tokio::test]
async fn retry_wait_false_answers_202_and_the_tenant_becomes_active() {
    let app = TestApp::new().start().await;
    app.failpoints()
        .configure("generate_api_keys=fail(boom)")
        .unwrap();
    let res = app
        .admin_post("/api/v1/tenants", provisioning_request("acme", "pro"))
        .await;
    assert_eq!(res.body["data"]["status"], "failed", "{}", res.text);
    app.failpoints().clear();

    let before = app.snapshot().await;
    for (query, path) in [("wait=perhaps", "wait"), ("now=1", "")] {
        let res = app
            .admin_post_empty(&format!("/api/v1/tenants/acme/retry?{query}"))
            .await;
        res.assert_invalid(400, &[path]);
    }
    assert_eq!(app.snapshot().await, before);

    app.failpoints().configure("activate=delay(200)").unwrap();
    let res = app
        .admin_post_empty("/api/v1/tenants/acme/retry?wait=false")
        .await;
    let data = res.assert_success(202);
    assert_conforms("TenantProvisioningResult", data);
    assert_eq!(data["status"], "provisioning");
    let done = app.wait_for_status("acme", "active").await;
    let steps = done["steps"].as_array().unwrap();
    assert_eq!(steps[3]["name"], "generate_api_keys");
    assert_eq!(steps[3]["retryCount"], 1);
}

#[tokio::test]
async fn the_tenant_database_file_holds_the_system_tables() {
    let app = TestApp::new().start().await;
    app.provision("acme", "pro").await;
    app.assert_system_schema_of("acme").await;

    // A failure at sync_schema leaves a database without them; the retry adds them.
    app.failpoints()
        .configure("sync_schema=fail(boom)")
        .unwrap();
    app.admin_post("/api/v1/tenants", provisioning_request("later", "pro"))
        .await
        .assert_status(201);
    let tables = app.tables("later").await;
    assert!(
        tables.iter().all(|t| !t.starts_with("_objectos")),
        "{tables:?}"
    );
    app.failpoints().clear();
    app.admin_post_empty("/api/v1/tenants/later/retry")
        .await
        .assert_success(200);
    app.assert_system_schema_of("later").await;
}

/// The permission bits of a file or folder.
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_and_every_database_are_private_to_the_owner() {
    // Under the usual umask 022, files would be 0644 and folders 0755 unless made private.
    let app = TestApp::new()
        .with(|o| o.tenant_databases.provider = "sqlite".to_owned())
        .start()
        .await;
    app.provision("acme", "pro").await;
    app.provision("initech", "pro").await;
    let res = app
        .admin_delete("/api/v1/tenants/initech?immediate=true&createBackup=true")
        .await;
    assert!(res.status.is_success(), "{}", res.text);

    let data = app.data_dir().to_owned();
    let tenants = app.tenants_dir();
    let mut dirs = vec![
        data.clone(),
        tenants.clone(),
        tenants.join(objectos_tenantdb::SPARE_DIR),
        app.backups_dir(),
    ];
    let mut files = vec![
        data.join("control.db"),
        data.join("admin-token"),
        data.join("lock"),
        tenants.join("acme.db"),
    ];
    for name in ["control.db-wal", "control.db-shm"] {
        files.push(data.join(name));
    }
    for dir in [tenants.clone(), tenants.join(objectos_tenantdb::SPARE_DIR)] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.extend(
        app.backup_files()
            .iter()
            .map(|name| app.backups_dir().join(name)),
    );
    assert!(!app.backup_files().is_empty(), "the destroy made a backup");
    for dir in dirs {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    for file in files.iter().filter(|f| f.exists()) {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    assert!(
        files.iter().any(|f| f.ends_with("acme.db-wal")),
        "the WAL of an open database is checked too"
    );
}

#[tokio::test]
async fn a_node_id_file_that_holds_no_node_id_refuses_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let start = |dir: &tempfile::TempDir| {
        let mut options = objectos_server::app::AppOptions::new(dir.path().join("data"));
        options.listen = "127.0.0.1:0".parse().unwrap();
        options.tenant_databases.provider = "sqlite".to_owned();
        objectos_server::app::RunningApp::start(options)
    };
    let app = start(&dir).await.expect("first start");
    app.shutdown().await.unwrap();
    let path = dir.path().join("data").join("node-id");
    let made = std::fs::read_to_string(&path).unwrap();
    assert!(made.trim().starts_with("node-"), "{made:?}");

    for bad in ["", "two words", "node/../x", &"n".repeat(65)] {
        std::fs::write(&path, bad).unwrap();
        let Err(e) = start(&dir).await else {
            panic!("started with node-id {bad:?}")
        };
        assert!(
            matches!(e, objectos_server::app::StartError::BadNodeId { .. }),
            "{e}"
        );
        assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
    }
    // An operator's own id is kept.
    std::fs::write(&path, "eu-west-1.node_7\n").unwrap();
    let app = start(&dir).await.expect("start with an operator's id");
    app.shutdown().await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "eu-west-1.node_7\n"
    );
}
