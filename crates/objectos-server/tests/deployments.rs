//! Deployments over HTTP: deploy (bare and wrapped), re-apply, dry-run plans, list/get, rollback,
//! and every refusal class with its status, code and paths; who may deploy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;

use common::{assert_conforms, Res, TestApp, TestServer};
use objectos_tenantdb::TenantDatabases;
use serde_json::{json, Value};

const DOC: &str = include_str!("../src/openapi.json");

fn registry() -> &'static (Value, jsonschema::Registry<'static>) {
    static REGISTRY: OnceLock<(Value, jsonschema::Registry<'static>)> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let doc: Value = serde_json::from_str(DOC).unwrap();
        let registry = jsonschema::Registry::new()
            .draft(jsonschema::Draft::Draft202012)
            .add("urn:objectos:openapi", doc.clone())
            .unwrap()
            .prepare()
            .unwrap();
        (doc, registry)
    })
}

/// Asserts that a response is documented in `src/openapi.json` for this operation and status,
/// matches its schema, and (for an error) carries a documented code.
#[track_caller]
fn documented(method: &str, template: &str, res: &Res) {
    let (doc, registry) = registry();
    let status = res.status.as_u16().to_string();
    let mut response = doc["paths"][template][method]["responses"]
        .get(&status)
        .unwrap_or_else(|| panic!("{method} {template} answered {status}, not documented"));
    if let Some(r) = response["$ref"].as_str() {
        response = doc.pointer(r.trim_start_matches('#')).unwrap();
    }
    let reference = response["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_registry(registry)
        .build(&json!({"$ref": format!("urn:objectos:openapi{reference}")}))
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&res.body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {template} {status} does not match {reference}:\n  {}\n{}",
        errors.join("\n  "),
        res.text
    );
    if let Some(codes) = response["x-error-codes"].as_array() {
        assert!(
            codes.contains(&res.body["error"]["code"]),
            "{method} {template} {status}: code {} not documented",
            res.body["error"]["code"]
        );
    }
}

const COLLECTION: &str = "/api/v1/tenants/{id}/deployments";
const PLAN: &str = "/api/v1/tenants/{id}/deployments/plan";
const ONE: &str = "/api/v1/tenants/{id}/deployments/{did}";
const ROLLBACK: &str = "/api/v1/tenants/{id}/deployments/{did}/rollback";

fn task() -> Value {
    json!({
        "name": "task",
        "label": "Task",
        "fields": {
            "title": {"type": "text", "required": true},
            "notes": {"type": "textarea"},
            "estimate": {"type": "number", "scale": 0},
            "status": {"type": "select", "defaultValue": "open", "options": [
                {"label": "Open", "value": "open"}, {"label": "Done", "value": "done"}]}
        }
    })
}

fn project() -> Value {
    json!({
        "name": "project",
        "fields": {"name": {"type": "text", "required": true, "unique": true}}
    })
}

fn bundle(objects: Vec<Value>, seed_data: Vec<Value>) -> Value {
    let names: Vec<Value> = objects.iter().map(|o| o["name"].clone()).collect();
    json!({
        "manifest": {"version": "1.0.0", "objects": names},
        "objects": objects,
        "seedData": seed_data,
    })
}

/// `task` with two rows, one without an estimate.
fn todo() -> Value {
    bundle(
        vec![task()],
        vec![
            json!({"object": "task", "externalId": "title", "mode": "upsert", "records": [
                {"title": "Write docs", "notes": "soon", "estimate": 3},
                {"title": "Ship"}
            ]}),
        ],
    )
}

fn with_field(mut object: Value, key: &str, field: Value) -> Value {
    object["fields"][key] = field;
    object
}

fn without_field(mut object: Value, key: &str) -> Value {
    object["fields"].as_object_mut().unwrap().remove(key);
    object
}

fn deployments(id: &str) -> String {
    format!("/api/v1/tenants/{id}/deployments")
}

/// A table's column names, sorted (introspected through the tenant's provider).
async fn columns(app: &TestServer, tenant: &str, table: &str) -> Vec<String> {
    app.columns(tenant, table).await
}

/// The dialect name deploy plans report on this server's provider.
fn dialect(app: &TestServer) -> &'static str {
    match app.provider() {
        "postgres" => "postgresql",
        _ => "sqlite",
    }
}

async fn listed(app: &TestServer, id: &str) -> Vec<Value> {
    let res = app.admin_get(&deployments(id)).await;
    documented("get", COLLECTION, &res);
    let data = res.assert_success(200);
    assert_eq!(
        res.body["meta"]["total"].as_u64().unwrap() as usize,
        data.as_array().unwrap().len()
    );
    data.as_array().unwrap().clone()
}

async fn deploy_ok(app: &TestServer, id: &str, body: Value) -> Value {
    let res = app.admin_post(&deployments(id), body).await;
    documented("post", COLLECTION, &res);
    res.assert_success(201).clone()
}

#[tokio::test]
async fn deploy_reapply_plan_list_get_and_rollback() {
    let app = TestApp::new().start().await;
    let (id, _) = app.active_tenant("acme", "pro").await;
    assert!(listed(&app, &id).await.is_empty());

    // A fresh deploy: 201, a ready record whose parts conform to the protocol.
    let first = deploy_ok(&app, &id, todo()).await;
    assert_eq!(first["status"], "ready", "{first:#}");
    assert_eq!(first["tenantId"], id.as_str());
    assert_eq!(first["seq"], 1);
    assert!(first["parentId"].is_null() && first["error"].is_null());
    assert!(first["id"].as_str().unwrap().starts_with("dep_"));
    assert_conforms("DeployValidationResult", &first["validation"]);
    assert_conforms("DeployDiff", &first["diff"]);
    assert_conforms("MigrationPlan", &first["plan"]);
    assert_eq!(
        first["plan"]["dialect"],
        dialect(&app),
        "{:#}",
        first["plan"]
    );
    assert!(first["timings"]["totalMs"].is_number());
    assert_eq!(app.count_rows(&id, "task").await, 2);

    // Re-applying is "no changes": 200, the head's id, nothing recorded.
    let res = app.admin_post(&deployments(&id), todo()).await;
    documented("post", COLLECTION, &res);
    let again = res.assert_success(200);
    assert_eq!(again["noChanges"], true);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(listed(&app, &id).await.len(), 1);

    // `/plan` is a dry run: validation, diff and plan, and the tenant unchanged.
    let next = bundle(
        vec![
            with_field(task(), "due", json!({"type": "date"})),
            project(),
        ],
        vec![],
    );
    let res = app
        .admin_post(&format!("{}/plan", deployments(&id)), next.clone())
        .await;
    documented("post", PLAN, &res);
    let planned = res.assert_success(200);
    assert_eq!(planned["dryRun"], true);
    assert!(planned["seq"].is_null());
    assert_conforms("DeployDiff", &planned["diff"]);
    assert_conforms("MigrationPlan", &planned["plan"]);
    assert_eq!(
        planned["diff"]["summary"]["added"], 2,
        "{:#}",
        planned["diff"]
    );
    assert!(!planned["plan"]["statements"].as_array().unwrap().is_empty());
    assert_eq!(listed(&app, &id).await.len(), 1);
    assert!(!columns(&app, &id, "task").await.contains(&"due".to_owned()));

    // The wrapped form `{bundle, options}`; `options.dryRun` also keeps nothing (200).
    let res = app
        .admin_post(
            &deployments(&id),
            json!({"bundle": next, "options": {"dryRun": true}}),
        )
        .await;
    assert_eq!(res.assert_success(200)["dryRun"], true);
    assert_eq!(listed(&app, &id).await.len(), 1);
    let second = deploy_ok(&app, &id, json!({"bundle": next, "options": {}})).await;
    assert_eq!(second["parentId"], first["id"]);
    assert_eq!(second["seq"], 2);
    assert!(columns(&app, &id, "task").await.contains(&"due".to_owned()));

    // List (newest first) and get; an unknown id is a 404.
    let all = listed(&app, &id).await;
    let ids: Vec<&Value> = all.iter().map(|d| &d["id"]).collect();
    assert_eq!(ids, [&second["id"], &first["id"]]);
    let did = second["id"].as_str().unwrap();
    let res = app.admin_get(&format!("{}/{did}", deployments(&id))).await;
    documented("get", ONE, &res);
    assert_eq!(res.assert_success(200), &second);
    let res = app
        .admin_get(&format!("{}/dep_0000000000000000", deployments(&id)))
        .await;
    documented("get", ONE, &res);
    res.assert_error(404, "deployment_not_found");
    app.admin_get("/api/v1/tenants/nobody/deployments")
        .await
        .assert_error(404, "tenant_not_found");

    // An explicit rename, then its rollback restores the old name (and keeps the values).
    let renamed = bundle(
        vec![
            without_field(
                with_field(task(), "subject", json!({"type": "text", "required": true})),
                "title",
            ),
            project(),
        ],
        vec![],
    );
    let mut renamed_objects = renamed.clone();
    renamed_objects["objects"][0] = with_field(
        renamed["objects"][0].clone(),
        "due",
        json!({"type": "date"}),
    );
    let third = deploy_ok(
        &app,
        &id,
        json!({"bundle": renamed_objects, "options": {"renames": [
            {"kind": "field", "object": "task", "from": "title", "to": "subject"}]}}),
    )
    .await;
    let cols = columns(&app, &id, "task").await;
    assert!(cols.contains(&"subject".to_owned()) && !cols.contains(&"title".to_owned()));
    let third_id = third["id"].as_str().unwrap();
    let res = app
        .admin_post(
            &format!("{}/{third_id}/rollback", deployments(&id)),
            json!({"options": {}}),
        )
        .await;
    documented("post", ROLLBACK, &res);
    let back = res.assert_success(201);
    assert_eq!(back["rollbackOf"], third["id"]);
    assert_eq!(back["parentId"], third["id"]);
    let cols = columns(&app, &id, "task").await;
    assert!(cols.contains(&"title".to_owned()) && !cols.contains(&"subject".to_owned()));
    let titles: Vec<String> = app
        .sql(&id, "SELECT title FROM task ORDER BY title")
        .await
        .into_iter()
        .map(|row| row[0].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(titles, ["Ship", "Write docs"]);
    assert_eq!(listed(&app, &id).await.len(), 4);

    // A rollback with no body; the first deployment has nothing to roll back to.
    let first_id = first["id"].as_str().unwrap();
    let res = app
        .admin_post_empty(&format!("{}/{first_id}/rollback", deployments(&id)))
        .await;
    documented("post", ROLLBACK, &res);
    res.assert_error(409, "no_parent_deployment");
    app.admin_post_empty(&format!(
        "{}/dep_0000000000000000/rollback",
        deployments(&id)
    ))
    .await
    .assert_error(404, "deployment_not_found");
}

#[tokio::test]
async fn invalid_bundles_and_options_are_422_with_paths() {
    let app = TestApp::new().start().await;
    let (id, _) = app.active_tenant("acme", "pro").await;

    let mut bad = bundle(
        vec![with_field(task(), "x", json!({"type": "no_such_type"}))],
        vec![],
    );
    bad["manifest"]["objects"] = json!(["ghost", "task"]);
    let res = app.admin_post(&deployments(&id), bad.clone()).await;
    documented("post", COLLECTION, &res);
    let paths = res.issue_paths();
    res.assert_error(422, "validation_error");
    for expected in ["objects[0].fields.x.type", "manifest.objects[0]"] {
        assert!(paths.iter().any(|p| p == expected), "{expected}: {paths:?}");
    }
    // Wrapped, the same issues are under `bundle`.
    let res = app
        .admin_post(&deployments(&id), json!({"bundle": bad}))
        .await;
    let paths = res.issue_paths();
    res.assert_error(422, "validation_error");
    for expected in [
        "bundle.objects[0].fields.x.type",
        "bundle.manifest.objects[0]",
    ] {
        assert!(paths.iter().any(|p| p == expected), "{expected}: {paths:?}");
    }
    // Options: an unknown key, a bad type, an unreadable rename, a wrapper without a bundle.
    app.admin_post(
        &deployments(&id),
        json!({"bundle": todo(), "options": {"foo": 1}}),
    )
    .await
    .assert_invalid(422, &["options.foo"]);
    app.admin_post(
        &deployments(&id),
        json!({"bundle": todo(), "options": {"dryRun": "yes", "renames": [{"kind": "table"}]}}),
    )
    .await
    .assert_invalid(422, &["options.dryRun", "options.renames[0]"]);
    app.admin_post(
        &format!("{}/plan", deployments(&id)),
        json!({"bundle": null, "extra": 1}),
    )
    .await
    .assert_invalid(422, &["", "bundle"]);
    // A rename of something that is not deployed is placed under `options`.
    let res = app
        .admin_post(
            &deployments(&id),
            json!({"bundle": todo(), "options": {"renames": [
                {"kind": "object", "from": "nothing", "to": "task"}]}}),
        )
        .await;
    let paths = res.issue_paths();
    res.assert_error(422, "validation_error");
    assert!(
        paths.iter().all(|p| p.starts_with("options.renames[0]")),
        "{paths:?}"
    );
    // Malformed JSON is a 400; nothing was deployed.
    let res = app
        .send(
            app.admin(reqwest::Method::POST, &deployments(&id))
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    res.assert_error(400, "invalid_json");
    assert!(listed(&app, &id).await.is_empty());
}

#[tokio::test]
async fn destructive_data_dependent_and_drift_refusals() {
    let app = TestApp::new().start().await;
    let (id, _) = app.active_tenant("acme", "pro").await;
    deploy_ok(&app, &id, todo()).await;

    // Destructive: dropping `notes` (1 value) needs acknowledging.
    let dropped = bundle(vec![without_field(task(), "notes")], vec![]);
    let res = app.admin_post(&deployments(&id), dropped.clone()).await;
    documented("post", COLLECTION, &res);
    let error = res.assert_error(409, "destructive_changes_unacknowledged");
    let entry = &error["details"]["unacknowledged"][0];
    assert_eq!(entry["entity"], "field:task.notes", "{error:#}");
    assert_eq!(entry["rows"], 1);
    // The plan endpoint refuses it the same way.
    app.admin_post(&format!("{}/plan", deployments(&id)), dropped.clone())
        .await
        .assert_error(409, "destructive_changes_unacknowledged");
    assert_eq!(listed(&app, &id).await.len(), 1);
    let acked = deploy_ok(
        &app,
        &id,
        json!({"bundle": dropped, "options": {"acknowledge": ["field:task.notes"]}}),
    )
    .await;
    assert_eq!(acked["diff"]["hasBreakingChanges"], true);
    assert_eq!(acked["acknowledged"], json!(["field:task.notes"]));
    assert!(!columns(&app, &id, "task")
        .await
        .contains(&"notes".to_owned()));

    // Data-dependent: `estimate` required over a NULL.
    let required = bundle(
        vec![with_field(
            without_field(task(), "notes"),
            "estimate",
            json!({"type": "number", "scale": 0, "required": true}),
        )],
        vec![],
    );
    let res = app.admin_post(&deployments(&id), required).await;
    documented("post", COLLECTION, &res);
    let error = res.assert_error(409, "data_check_failed");
    let check = &error["details"]["checks"][0];
    assert_eq!(check["check"], "nulls", "{error:#}");
    assert_eq!(check["table"], "task");
    assert_eq!(check["rows"], 1);
    assert_eq!(listed(&app, &id).await.len(), 2);

    // Drift: a column added behind objectos' back.
    app.sql(&id, "ALTER TABLE task ADD COLUMN sneaky TEXT")
        .await;
    let res = app
        .admin_post(
            &deployments(&id),
            bundle(
                vec![with_field(
                    without_field(task(), "notes"),
                    "due",
                    json!({"type": "date"}),
                )],
                vec![],
            ),
        )
        .await;
    documented("post", COLLECTION, &res);
    let error = res.assert_error(409, "schema_drift");
    assert_eq!(error["details"]["tables"][0]["table"], "task", "{error:#}");
    assert!(error["details"]["tables"][0]["differences"]
        .to_string()
        .contains("sneaky"));
    assert_eq!(listed(&app, &id).await.len(), 2);
}

#[tokio::test]
async fn the_object_quota_is_a_403() {
    let app = TestApp::new()
        .with(|opts| opts.platform.plans.free.max_objects = Some(1))
        .start()
        .await;
    let (id, _) = app.active_tenant("small", "free").await;
    let res = app
        .admin_post(&deployments(&id), bundle(vec![task(), project()], vec![]))
        .await;
    documented("post", COLLECTION, &res);
    let error = res.assert_error(403, "quota_exceeded");
    assert_eq!(error["category"], "quota");
    assert_conforms("QuotaEnforcementResult", &error["details"]);
    assert_eq!(error["details"]["exceededQuota"], "maxObjects");
    assert_eq!(error["details"]["limit"], 1.0);
    assert!(listed(&app, &id).await.is_empty());
    // One object is within the plan.
    deploy_ok(&app, &id, bundle(vec![task()], vec![])).await;
}

#[tokio::test]
async fn who_may_deploy() {
    let app = TestApp::new().start().await;
    let (id, full_key) = app.active_tenant("acme", "pro").await;
    let (other, other_key) = app.active_tenant("globex", "pro").await;
    let res = app
        .admin_post(
            &format!("/api/v1/tenants/{id}/keys"),
            json!({"scope": "read-only"}),
        )
        .await;
    let read_only = res.assert_success(201)["apiKey"]
        .as_str()
        .unwrap()
        .to_owned();

    // A read-only key may read but not deploy, plan or roll back.
    let path = deployments(&id);
    let res = app.post_with_key(&path, &read_only, todo()).await;
    documented("post", COLLECTION, &res);
    res.assert_error(403, "insufficient_scope");
    app.post_with_key(&format!("{path}/plan"), &read_only, todo())
        .await
        .assert_error(403, "insufficient_scope");
    app.get_with_key(&path, &read_only)
        .await
        .assert_success(200);
    // Another tenant's key: nothing.
    app.post_with_key(&path, &other_key, todo())
        .await
        .assert_error(403, "forbidden");
    let res = app.get_with_key(&path, &other_key).await;
    documented("get", COLLECTION, &res);
    res.assert_error(403, "forbidden");
    // No credentials.
    app.send(app.request(reqwest::Method::GET, &path))
        .await
        .assert_error(401, "unauthorized");
    // The tenant's own full-access key deploys.
    let res = app.post_with_key(&path, &full_key, todo()).await;
    let record = res.assert_success(201).clone();
    let did = record["id"].as_str().unwrap();
    app.get_with_key(&format!("{path}/{did}"), &read_only)
        .await
        .assert_success(200);
    app.post_with_key(&format!("{path}/{did}/rollback"), &read_only, json!({}))
        .await
        .assert_error(403, "insufficient_scope");
    assert!(listed(&app, &other).await.is_empty());

    // A suspended tenant cannot be deployed to, even by the admin.
    app.admin_post_empty(&format!("/api/v1/tenants/{id}/suspend"))
        .await
        .assert_success(200);
    let res = app.admin_post(&path, bundle(vec![project()], vec![])).await;
    documented("post", COLLECTION, &res);
    res.assert_error(409, "invalid_transition");
    assert_eq!(listed(&app, &id).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_concurrent_deployment_is_a_409() {
    let app = TestApp::new().start().await;
    let (id, _) = app.active_tenant("acme", "pro").await;
    // Hold the tenant's write transaction (SQLite: its writer connection; PostgreSQL: its writer
    // lock) so that the first deployment waits on it while it holds the tenant's deployment mark.
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let dbs = app.app().platform.dbs().clone();
    let tenant = id.clone();
    let holder = tokio::spawn(async move {
        dbs.with_session(&tenant, move |s| {
            s.begin().unwrap();
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            s.rollback().unwrap();
            Ok(())
        })
        .await
        .unwrap();
    });
    locked_rx.recv().unwrap();
    let first = {
        let request = app
            .admin(reqwest::Method::POST, &deployments(&id))
            .json(&todo());
        tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
    };
    // Give the first request time to take the tenant's deployment mark (it then waits on the
    // held connection); the second is refused at once.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let res = app.admin_post(&deployments(&id), todo()).await;
    documented("post", COLLECTION, &res);
    let error = res.assert_error(409, "deployment_in_progress");
    assert_eq!(error["details"]["tenantId"], id.as_str());
    // A plan (or a deploy) is refused before its body is parsed (issue #14: a large bundle refused
    // anyway cost its parsed tree): a malformed body gets the 409, not a 400 invalid_json.
    for path in [format!("{}/plan", deployments(&id)), deployments(&id)] {
        let res = app
            .send(
                app.admin(reqwest::Method::POST, &path)
                    .header("content-type", "application/json")
                    .body("{\"objects\": [ not json"),
            )
            .await;
        res.assert_error(409, "deployment_in_progress");
    }
    release_tx.send(()).unwrap();
    holder.await.unwrap();
    assert_eq!(first.await.unwrap(), 201);
    assert_eq!(listed(&app, &id).await.len(), 1);
}
