//! The data API over HTTP, end to end: a real server, the crm example bundle (and small custom
//! bundles), tenant keys. CRUD, GET and POST queries, value checks, passwords and autonumbers,
//! delete behaviours, batches, keys and quotas, tenant states, metadata and discovery.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Res, TestApp, TestServer};
use objectos_spec::types::provisioning::TenantPlan;
use reqwest::Method;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Helpers

/// The crm example bundle.
fn crm() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/crm.bundle.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("crm bundle")).unwrap()
}

/// A bundle of these objects, without seed data.
fn bundle(objects: Vec<Value>) -> Value {
    let names: Vec<Value> = objects.iter().map(|o| o["name"].clone()).collect();
    json!({"manifest": {"version": "1.0.0", "objects": names}, "objects": objects, "seedData": []})
}

/// Objects exercising every value check: password, autonumbers, multiselect, json, datetime...
fn gadget() -> Value {
    json!({
        "name": "gadget",
        "fields": {
            "code": {"type": "text", "required": true, "unique": true, "maxLength": 10},
            "secret": {"type": "password"},
            "seq": {"type": "autonumber", "autonumberFormat": "G-{000}"},
            "plain_seq": {"type": "autonumber"},
            "qty": {"type": "number", "min": 1, "max": 10},
            "flag": {"type": "boolean"},
            "tags": {"type": "multiselect", "options": [
                {"label": "A", "value": "aa"}, {"label": "B", "value": "bb"}, {"label": "C", "value": "cc"}]},
            "meta": {"type": "json"},
            "at": {"type": "datetime"},
            "mail": {"type": "email"},
            "site": {"type": "url"},
            "level": {"type": "select", "defaultValue": "low", "options": [
                {"label": "Low", "value": "low"}, {"label": "High", "value": "high"}]},
            "note": {"type": "text", "defaultValue": "none"}
        }
    })
}

/// A parent with children of every delete behaviour (and a grandchild for recursive cascades).
fn family() -> Vec<Value> {
    let child = |name: &str, behavior: &str, required: bool| {
        json!({
            "name": name,
            "fields": {
                "label": {"type": "text"},
                "parent": {"type": "lookup", "reference": "parent", "deleteBehavior": behavior,
                           "required": required}
            }
        })
    };
    vec![
        json!({"name": "parent", "fields": {"name": {"type": "text", "required": true}}}),
        child("child_cascade", "cascade", false),
        child("child_restrict", "restrict", false),
        child("child_setnull", "set_null", false),
        child("child_required", "set_null", true),
        json!({
            "name": "grandchild",
            "fields": {
                "label": {"type": "text"},
                "child": {"type": "lookup", "reference": "child_cascade", "deleteBehavior": "cascade"}
            }
        }),
    ]
}

fn data(path: &str) -> String {
    format!("/api/v1/data/{path}")
}

async fn deploy(app: &TestServer, tenant: &str, bundle: Value) {
    app.admin_post(
        &format!("/api/v1/tenants/{tenant}/deployments"),
        json!({"bundle": bundle}),
    )
    .await
    .assert_success(201);
}

/// An active `pro` tenant with the crm bundle deployed: (tenant id, full-access key).
async fn crm_tenant(app: &TestServer, org: &str) -> (String, String) {
    let (id, key) = app.active_tenant(org, "pro").await;
    deploy(app, &id, crm()).await;
    (id, key)
}

/// An active tenant with these objects deployed.
async fn tenant_with(
    app: &TestServer,
    org: &str,
    plan: &str,
    objects: Vec<Value>,
) -> (String, String) {
    let (id, key) = app.active_tenant(org, plan).await;
    deploy(app, &id, bundle(objects)).await;
    (id, key)
}

async fn get(app: &TestServer, key: &str, path: &str) -> Res {
    app.get_with_key(&data(path), key).await
}

async fn post(app: &TestServer, key: &str, path: &str, body: Value) -> Res {
    app.post_with_key(&data(path), key, body).await
}

async fn patch(app: &TestServer, key: &str, path: &str, body: Value) -> Res {
    app.send(app.keyed(Method::PATCH, &data(path), key).json(&body))
        .await
}

async fn delete(app: &TestServer, key: &str, path: &str) -> Res {
    app.delete_with_key(&data(path), key).await
}

/// Creates a record (201 expected) and returns it.
async fn create(app: &TestServer, key: &str, object: &str, body: Value) -> Value {
    let res = post(app, key, object, body).await;
    res.assert_success(201)["record"].clone()
}

/// Lists with a raw query string (already encoded where needed); 200 expected; the `data`.
async fn list(app: &TestServer, key: &str, object_and_query: &str) -> Value {
    get(app, key, object_and_query)
        .await
        .assert_success(200)
        .clone()
}

/// Lists with a JSON filter in `filter=`; the record ids of the page, sorted.
async fn filtered(app: &TestServer, key: &str, object: &str, filter: Value) -> Vec<String> {
    let res = app
        .send(
            app.keyed(Method::GET, &data(object), key)
                .query(&[("filter", filter.to_string()), ("top", "1000".to_owned())]),
        )
        .await;
    let mut out = ids(res.assert_success(200));
    out.sort();
    out
}

fn ids(page: &Value) -> Vec<String> {
    page["records"]
        .as_array()
        .unwrap_or_else(|| panic!("no records: {page:#}"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn field_values(page: &Value, field: &str) -> Vec<Value> {
    page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].clone())
        .collect()
}

fn sorted(mut v: Vec<&str>) -> Vec<String> {
    v.sort_unstable();
    v.into_iter().map(str::to_owned).collect()
}

/// Rows of a tenant's table, read through its provider.
async fn count_rows(app: &TestServer, tenant: &str, table: &str) -> i64 {
    app.count_rows(tenant, table).await as i64
}

/// The stored `secret` of a gadget, read through the provider (never through the API).
async fn stored_secret(app: &TestServer, tenant: &str, id: &str) -> String {
    // Ids are 16 hex digits made by the server.
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
    app.sql_text(
        tenant,
        &format!("SELECT \"secret\" FROM \"gadget\" WHERE id = '{id}'"),
    )
    .await
}

/// Asserts a 400 `validation_error` whose first issue is at `path`.
#[track_caller]
fn assert_issue_at(res: &Res, path: &str) {
    res.assert_error(400, "validation_error");
    assert_eq!(
        res.body["error"]["details"]["issues"][0]["path"], path,
        "{}",
        res.text
    );
}

/// A server whose `free` plan has these quotas changed.
async fn app_with_free_plan(
    adjust: impl FnOnce(&mut objectos_spec::types::tenant::TenantQuota),
) -> TestServer {
    let mut quota = objectos_core::plans::PlanTable::default().free;
    adjust(&mut quota);
    TestApp::new()
        .with(|o| o.platform.plans.set(TenantPlan::Free, quota))
        .start()
        .await
}

// ---------------------------------------------------------------------------------------------
// 1. CRUD

#[tokio::test]
async fn crud_create_get_patch_delete() {
    let app = TestApp::new().start().await;
    let (_, key) = crm_tenant(&app, "acme").await;

    let res = post(
        &app,
        &key,
        "account",
        json!({"name": "Umbrella", "employees": 10, "industry": "retail"}),
    )
    .await;
    let created = res.assert_success(201).clone();
    assert_eq!(created["object"], "account");
    let id = created["id"].as_str().unwrap().to_owned();
    let record = &created["record"];
    assert_eq!(record["id"], id.as_str());
    assert_eq!(record["name"], "Umbrella");
    assert_eq!(record["employees"], 10);
    assert_eq!(record["type"], "prospect", "the default is filled in");
    let created_at = record["created_at"].as_str().unwrap().to_owned();
    let updated_at = record["updated_at"].as_str().unwrap().to_owned();
    assert_eq!(created_at, updated_at);

    // get
    let got = get(&app, &key, &format!("account/{id}")).await;
    let got = got.assert_success(200);
    assert_eq!(got["object"], "account");
    assert_eq!(got["id"], id.as_str());
    assert_eq!(&got["record"], record);

    // patch: only the given fields change; updated_at moves on.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let res = patch(
        &app,
        &key,
        &format!("account/{id}"),
        json!({"employees": 11}),
    )
    .await;
    let patched = res.assert_success(200)["record"].clone();
    assert_eq!(patched["employees"], 11);
    assert_eq!(patched["name"], "Umbrella");
    assert_eq!(patched["industry"], "retail");
    assert_eq!(patched["created_at"], created_at.as_str());
    assert!(
        patched["updated_at"].as_str().unwrap() > updated_at.as_str(),
        "updated_at bumped: {patched:#}"
    );
    let again = get(&app, &key, &format!("account/{id}")).await;
    assert_eq!(again.assert_success(200)["record"], patched);

    // delete, then 404
    let res = delete(&app, &key, &format!("account/{id}")).await;
    let deleted = res.assert_success(200);
    assert_eq!(deleted["object"], "account");
    assert_eq!(deleted["id"], id.as_str());
    assert_eq!(deleted["success"], true);
    get(&app, &key, &format!("account/{id}"))
        .await
        .assert_error(404, "record_not_found");
    delete(&app, &key, &format!("account/{id}"))
        .await
        .assert_error(404, "record_not_found");
    patch(
        &app,
        &key,
        &format!("account/{id}"),
        json!({"employees": 1}),
    )
    .await
    .assert_error(404, "record_not_found");

    // unknown object, on every route
    get(&app, &key, "spaceship")
        .await
        .assert_error(404, "object_not_found");
    get(&app, &key, "spaceship/x1")
        .await
        .assert_error(404, "object_not_found");
    post(&app, &key, "spaceship", json!({"name": "x"}))
        .await
        .assert_error(404, "object_not_found");
}

/// get → modify → save: the record sent back whole, with its id, timestamps and autonumbers
/// unchanged, is an update of the changed fields; a changed system value is still refused at its key.
#[tokio::test]
async fn an_update_accepts_the_record_as_read() {
    let app = TestApp::new().start().await;
    let (_, key) = tenant_with(&app, "acme", "pro", vec![gadget()]).await;
    let created = create(
        &app,
        &key,
        "gadget",
        json!({"code": "g1", "qty": 2, "at": "2026-01-02T03:04:05Z", "tags": ["aa"]}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("gadget/{id}");
    let mut record = get(&app, &key, &path).await.assert_success(200)["record"].clone();
    assert!(record["seq"].is_string(), "{record:#}");
    record["qty"] = json!(3);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let saved = patch(&app, &key, &path, record.clone()).await;
    let saved = saved.assert_success(200)["record"].clone();
    assert_eq!(saved["qty"], 3.0);
    assert_eq!(saved["id"], id.as_str());
    assert_eq!(saved["created_at"], record["created_at"]);
    assert_eq!(saved["seq"], record["seq"]);
    assert_eq!(saved["plain_seq"], record["plain_seq"]);
    assert!(saved["updated_at"].as_str() > record["updated_at"].as_str());

    // The same instant in another form is unchanged too; PUT is the same partial update.
    let mut again = saved.clone();
    again["created_at"] = json!(saved["created_at"]
        .as_str()
        .unwrap()
        .replace(".000Z", "Z")
        .replace('Z', "+00:00"));
    again["qty"] = json!(4);
    let res = app
        .send(app.keyed(Method::PUT, &data(&path), &key).json(&again))
        .await;
    let saved = res.assert_success(200)["record"].clone();
    assert_eq!(saved["qty"], 4.0);

    // A changed system value is refused at its key, and nothing is written.
    for (field, value) in [
        ("id", json!("other")),
        ("created_at", json!("2020-01-01T00:00:00.000Z")),
        ("updated_at", json!("2020-01-01T00:00:00.000Z")),
        ("seq", json!("G-999")),
        ("plain_seq", json!(999)),
    ] {
        let mut changed = saved.clone();
        changed["qty"] = json!(5);
        changed[field] = value;
        assert_issue_at(&patch(&app, &key, &path, changed).await, field);
    }
    // The updated_at read before the last save is a change now.
    let mut stale = record.clone();
    stale["qty"] = json!(6);
    assert_issue_at(&patch(&app, &key, &path, stale).await, "updated_at");
    let now = get(&app, &key, &path).await.assert_success(200)["record"].clone();
    assert_eq!(now, saved);

    // Batches take the record as read as well.
    let mut whole = now.clone();
    whole["qty"] = json!(7);
    let res = post(
        &app,
        &key,
        "gadget/updateMany",
        json!({"records": [{"id": id, "data": whole}]}),
    )
    .await;
    assert_eq!(res.assert_success(200)["succeeded"], 1, "{}", res.text);
    let now = get(&app, &key, &path).await.assert_success(200)["record"].clone();
    assert_eq!(now["qty"], 7.0);
}

// ---------------------------------------------------------------------------------------------
// 2. Queries

/// Products with known values (the crm's product, without its references).
fn item() -> Value {
    json!({
        "name": "item",
        "fields": {
            "name": {"type": "text", "required": true},
            "sku": {"type": "text", "required": true, "unique": true},
            "list_price": {"type": "currency", "required": true},
            "family": {"type": "select", "options": [
                {"label": "Software", "value": "software"}, {"label": "Hardware", "value": "hardware"},
                {"label": "Services", "value": "services"}]},
            "active": {"type": "boolean", "defaultValue": true}
        }
    })
}

/// A tenant whose `item` holds six known rows.
async fn products(app: &TestServer) -> (String, String) {
    let (id, key) = tenant_with(app, "shop", "pro", vec![item()]).await;
    let rows = [
        ("p1", "Alpha", "A-1", 10.0, Some("software"), true),
        ("p2", "Beta", "B-2", 20.0, Some("hardware"), true),
        ("p3", "Gamma", "C-3", 30.0, Some("services"), false),
        ("p4", "Delta", "D-4", 40.0, None, true),
        ("p5", "alpha", "E-5", 50.0, Some("software"), false),
        ("p6", "Beta", "F-6", 60.0, Some("hardware"), true),
    ];
    for (pid, name, sku, price, family, active) in rows {
        create(
            app,
            &key,
            "item",
            json!({"id": pid, "name": name, "sku": sku, "list_price": price, "family": family, "active": active}),
        )
        .await;
    }
    (id, key)
}

#[tokio::test]
async fn paging_total_count_and_sort() {
    let app = TestApp::new().start().await;
    let (_, key) = products(&app).await;

    let page = list(&app, &key, "item?top=2&skip=0&sort=id").await;
    assert_eq!(ids(&page), ["p1", "p2"]);
    assert_eq!(page["object"], "item");
    assert_eq!(page["total"], 6);
    assert_eq!(page["hasMore"], true);
    let page = list(&app, &key, "item?top=2&skip=4&sort=id").await;
    assert_eq!(ids(&page), ["p5", "p6"]);
    assert_eq!(page["hasMore"], false);
    let page = list(&app, &key, "item?top=10&skip=10").await;
    assert!(ids(&page).is_empty());
    assert_eq!(page["hasMore"], false);
    assert_eq!(page["total"], 6);

    // count=false: no total
    let page = list(&app, &key, "item?top=1&count=false").await;
    assert!(page.get("total").is_none(), "{page:#}");
    assert_eq!(page["hasMore"], true);

    // sorts: name, -name, "name desc", "-a,b"
    let page = list(&app, &key, "item?sort=name").await;
    assert_eq!(ids(&page), ["p1", "p2", "p6", "p4", "p3", "p5"]);
    let page = list(&app, &key, "item?sort=-name").await;
    assert_eq!(ids(&page), ["p5", "p3", "p4", "p2", "p6", "p1"]);
    let page = list(&app, &key, "item?sort=name%20desc").await;
    assert_eq!(ids(&page), ["p5", "p3", "p4", "p2", "p6", "p1"]);
    let page = list(&app, &key, "item?sort=-name,list_price").await;
    assert_eq!(ids(&page), ["p5", "p3", "p4", "p2", "p6", "p1"]);
    let page = list(&app, &key, "item?sort=name,-list_price").await;
    assert_eq!(ids(&page), ["p1", "p6", "p2", "p4", "p3", "p5"]);

    // select: only those fields (plus id and timestamps)
    let page = list(&app, &key, "item?select=name,sku&sort=id&top=1").await;
    let record = page["records"][0].as_object().unwrap();
    let mut keys: Vec<&str> = record.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["created_at", "id", "name", "sku", "updated_at"]);
    assert_eq!(record["sku"], "A-1");

    // Bad parameters: 400 at the parameter.
    assert_issue_at(&get(&app, &key, "item?top=abc").await, "top");
    assert_issue_at(&get(&app, &key, "item?sort=nope").await, "sort[0]");
    assert_issue_at(&get(&app, &key, "item?select=nope").await, "select[0]");
}

#[tokio::test]
async fn filters_in_every_form_and_operator() {
    let app = TestApp::new().start().await;
    let (_, key) = products(&app).await;
    let f = |filter: Value| filtered(&app, &key, "item", filter);

    // The array AST, one condition per operator.
    assert_eq!(
        f(json!(["name", "=", "Beta"])).await,
        sorted(vec!["p2", "p6"])
    );
    assert_eq!(
        f(json!(["name", "!=", "Beta"])).await,
        sorted(vec!["p1", "p3", "p4", "p5"])
    );
    assert_eq!(
        f(json!(["list_price", ">", 40])).await,
        sorted(vec!["p5", "p6"])
    );
    assert_eq!(
        f(json!(["list_price", ">=", 40])).await,
        sorted(vec!["p4", "p5", "p6"])
    );
    assert_eq!(f(json!(["list_price", "<", 20])).await, sorted(vec!["p1"]));
    assert_eq!(
        f(json!(["list_price", "<=", 20])).await,
        sorted(vec!["p1", "p2"])
    );
    assert_eq!(
        f(json!(["family", "in", ["software", "services"]])).await,
        sorted(vec!["p1", "p3", "p5"])
    );
    // nin is NULL-safe: p4 (no family) is "not in".
    assert_eq!(
        f(json!(["family", "nin", ["software", "hardware"]])).await,
        sorted(vec!["p3", "p4"])
    );
    assert_eq!(
        f(json!(["name", "contains", "lph"])).await,
        sorted(vec!["p1", "p5"])
    );
    assert_eq!(
        f(json!(["name", "startswith", "Al"])).await,
        sorted(vec!["p1"])
    );
    assert_eq!(
        f(json!(["name", "endswith", "ta"])).await,
        sorted(vec!["p2", "p4", "p6"])
    );
    assert_eq!(
        f(json!(["list_price", "between", [20, 40]])).await,
        sorted(vec!["p2", "p3", "p4"])
    );
    assert_eq!(
        f(json!(["family", "is_null", true])).await,
        sorted(vec!["p4"])
    );
    assert_eq!(
        f(json!(["family", "is_not_null", true])).await,
        sorted(vec!["p1", "p2", "p3", "p5", "p6"])
    );
    // like folds ASCII case.
    assert_eq!(
        f(json!(["name", "like", "alph%"])).await,
        sorted(vec!["p1", "p5"])
    );
    assert_eq!(
        f(json!(["active", "=", false])).await,
        sorted(vec!["p3", "p5"])
    );

    // Nesting: and / or / not.
    assert_eq!(
        f(json!([
            "and",
            ["active", "=", true],
            ["or", ["name", "=", "Beta"], ["list_price", "<", 15]]
        ]))
        .await,
        sorted(vec!["p1", "p2", "p6"])
    );
    assert_eq!(
        f(json!([
            "not",
            [
                "or",
                ["family", "=", "hardware"],
                ["family", "is_null", true]
            ]
        ]))
        .await,
        sorted(vec!["p1", "p3", "p5"])
    );

    // The `$`-object form.
    assert_eq!(
        f(json!({"list_price": {"$gte": 20, "$lt": 50}, "active": true})).await,
        sorted(vec!["p2", "p4"])
    );
    assert_eq!(
        f(json!({"$or": [{"name": "Gamma"}, {"sku": {"$startswith": "E"}}]})).await,
        sorted(vec!["p3", "p5"])
    );
    assert_eq!(
        f(json!({"family": {"$in": ["hardware"]}, "$not": {"sku": "B-2"}})).await,
        sorted(vec!["p6"])
    );

    // Plain `field=value` parameters (combined with AND).
    let page = list(&app, &key, "item?name=Beta&sku=F-6").await;
    assert_eq!(ids(&page), ["p6"]);
    let page = list(&app, &key, "item?active=false&sort=id").await;
    assert_eq!(ids(&page), ["p3", "p5"]);

    // Refusals at the condition's path.
    let res = app
        .send(
            app.keyed(Method::GET, &data("item"), &key)
                .query(&[("filter", json!(["nope", "=", 1]).to_string())]),
        )
        .await;
    assert_issue_at(&res, "filter");
    let nested = json!([
        "and",
        ["name", "=", "x"],
        ["or", ["sku", "=", "y"], ["nope", "=", 1]]
    ]);
    let res = app
        .send(
            app.keyed(Method::GET, &data("item"), &key)
                .query(&[("filter", nested.to_string())]),
        )
        .await;
    assert_issue_at(&res, "filter[2][2]");
    let res = app
        .send(
            app.keyed(Method::GET, &data("item"), &key)
                .query(&[("filter", json!({"name": {"$bogus": 1}}).to_string())]),
        )
        .await;
    assert_issue_at(&res, "filter.name.$bogus");
    assert_issue_at(&get(&app, &key, "item?nope=1").await, "nope");
    assert_issue_at(&get(&app, &key, "item?filter=%5B").await, "filter");
}

#[tokio::test]
async fn post_query_ast() {
    let app = TestApp::new().start().await;
    let (_, key) = products(&app).await;

    let res = post(
        &app,
        &key,
        "item/query",
        json!({
            "where": ["list_price", ">=", 20],
            "fields": ["name", "list_price"],
            "orderBy": [{"field": "list_price", "order": "desc"}],
            "limit": 2,
            "offset": 1
        }),
    )
    .await;
    let page = res.assert_success(200);
    assert_eq!(ids(page), ["p5", "p4"]);
    assert_eq!(page["total"], 5);
    assert_eq!(page["hasMore"], true);
    assert_eq!(field_values(page, "list_price"), [json!(50.0), json!(40.0)]);
    assert!(page["records"][0].get("sku").is_none(), "{page:#}");

    let res = post(
        &app,
        &key,
        "item/query",
        json!({"where": {"name": {"$contains": "l"}}, "orderBy": ["-sku"], "count": false}),
    )
    .await;
    let page = res.assert_success(200);
    assert_eq!(ids(page), ["p5", "p4", "p1"]);
    assert!(page.get("total").is_none());

    let res = post(&app, &key, "item/query", json!({"limit": "x"})).await;
    assert_issue_at(&res, "limit");
    let res = post(
        &app,
        &key,
        "item/query",
        json!({"where": ["and", ["nope", "=", 1]]}),
    )
    .await;
    assert_issue_at(&res, "where[1]");
}

/// Asserts a 400 `validation_error` whose first issue is at `path` with `code`.
#[track_caller]
fn assert_issue(res: &Res, path: &str, code: &str) {
    assert_issue_at(res, path);
    assert_eq!(
        res.body["error"]["details"]["issues"][0]["code"], code,
        "{}",
        res.text
    );
}

/// `notcontains`, `not_contains`, `$notContains`: the complement of `contains` (case-sensitive),
/// with records without a value counted as not containing.
#[tokio::test]
async fn notcontains_in_every_spelling() {
    let app = TestApp::new().start().await;
    let (_, key) = products(&app).await;
    let f = |filter: Value| filtered(&app, &key, "item", filter);
    assert_eq!(
        f(json!(["name", "notcontains", "lph"])).await,
        sorted(vec!["p2", "p3", "p4", "p6"])
    );
    assert_eq!(
        f(json!(["name", "not_contains", "A"])).await,
        sorted(vec!["p2", "p3", "p4", "p5", "p6"])
    );
    // p4 has no family: it does not contain "ware".
    assert_eq!(
        f(json!({"family": {"$notContains": "ware"}})).await,
        sorted(vec!["p3", "p4"])
    );
    assert_eq!(
        f(json!(["not", ["family", "notcontains", "ware"]])).await,
        sorted(vec!["p1", "p2", "p5", "p6"])
    );
    let res = app
        .send(app.keyed(Method::GET, &data("item"), &key).query(&[(
            "filter",
            json!(["list_price", "notcontains", "1"]).to_string(),
        )]))
        .await;
    assert_issue(&res, "filter", "custom");
}

/// Sums of whole numbers beyond 64 bits (issue #14: a 500 "integer overflow" on SQLite, "bigint
/// out of range" on PostgreSQL): answered, as an integer while the total fits 64 bits and as the
/// nearest double beyond, the same on every provider; sorted by the true total. A `distinct` sum
/// beyond 64 bits is a 422 `aggregate_overflow` naming the aggregation.
#[tokio::test]
async fn integer_sums_beyond_64_bits() {
    let app = TestApp::new().start().await;
    let ledger = json!({"name": "entry", "fields": {
        "book": {"type": "text"},
        "cents": {"type": "number", "scale": 0}
    }});
    let (_, key) = tenant_with(&app, "ledger", "pro", vec![ledger]).await;
    let rows: [(&str, i64); 7] = [
        ("big", i64::MAX),
        ("big", i64::MAX),
        ("big", -5),
        ("fits", 1 << 62),
        ("fits", (1 << 62) - 1),
        ("fits", -(1 << 62)),
        ("small", 42),
    ];
    for (book, cents) in rows {
        create(&app, &key, "entry", json!({"book": book, "cents": cents})).await;
    }
    let res = post(
        &app,
        &key,
        "entry/query",
        json!({
            "groupBy": ["book"],
            "aggregations": [
                {"function": "sum", "field": "cents", "alias": "total"},
                {"function": "avg", "field": "cents", "alias": "mean"},
                {"function": "max", "field": "cents", "alias": "top"}
            ],
            "orderBy": [{"field": "total", "order": "desc"}]
        }),
    )
    .await;
    let page = res.assert_success(200);
    let records = page["records"].as_array().unwrap();
    let books: Vec<&str> = records
        .iter()
        .map(|r| r["book"].as_str().unwrap())
        .collect();
    assert_eq!(books, ["big", "fits", "small"], "{page:#}");
    // 2^64 - 7 is beyond 64 bits: the nearest double.
    assert_eq!(records[0]["total"], json!(18_446_744_073_709_551_609_f64));
    assert!(records[0]["total"].is_f64());
    // 2^62 - 1 fits: exact, an integer.
    assert_eq!(records[1]["total"], json!(4_611_686_018_427_387_903_i64));
    assert_eq!(records[2]["total"], json!(42));
    assert_eq!(records[0]["top"], json!(i64::MAX));
    let mean = records[0]["mean"].as_f64().unwrap();
    assert!((mean - 6.148_914_691_236_517e18).abs() < 1e4, "{mean}");

    // The same through GET, as @objectstack/client sends it.
    let res = app
        .send(app.keyed(Method::GET, &data("entry"), &key).query(&[
            ("groupBy", "book"),
            (
                "aggregations",
                r#"[{"function":"sum","field":"cents","alias":"total"}]"#,
            ),
            ("sort", "total"),
        ]))
        .await;
    let page = res.assert_success(200);
    assert_eq!(
        page["records"],
        json!([
            {"book": "small", "total": 42},
            {"book": "fits", "total": 4_611_686_018_427_387_903_i64},
            {"book": "big", "total": 18_446_744_073_709_551_609_f64}
        ])
    );

    // distinct: i64::MAX and -5 fit; add one more distinct huge value and they do not.
    create(
        &app,
        &key,
        "entry",
        json!({"book": "big", "cents": i64::MAX - 1}),
    )
    .await;
    let res = post(
        &app,
        &key,
        "entry/query",
        json!({"where": ["book", "=", "big"], "aggregations": [
            {"function": "count", "alias": "n"},
            {"function": "sum", "field": "cents", "alias": "spread", "distinct": true}
        ]}),
    )
    .await;
    let error = res.assert_error(422, "aggregate_overflow");
    assert_eq!(error["category"], "validation");
    assert_eq!(error["details"]["aggregations"], json!(["spread"]));
    // The plain sum of the same rows is still answered.
    let res = post(
        &app,
        &key,
        "entry/query",
        json!({"where": ["book", "=", "big"], "aggregations": [
            {"function": "sum", "field": "cents", "alias": "total"}
        ]}),
    )
    .await;
    let page = res.assert_success(200);
    assert_eq!(
        page["records"][0]["total"],
        json!(27_670_116_110_564_327_418_f64)
    );
}

/// A sum or an average of doubles beyond their range (±1.8e308): PostgreSQL raised "value out
/// of range" (a 500) and SQLite answered infinity (read as null); both are a 422
/// `aggregate_overflow` naming the sums and averages that can overflow. min/max of the same
/// values, and the sums of values in range, are answered.
#[tokio::test]
async fn double_sums_beyond_their_range() {
    let app = TestApp::new().start().await;
    let reading = json!({"name": "reading", "fields": {
        "probe": {"type": "text"},
        "value": {"type": "number"}
    }});
    let (_, key) = tenant_with(&app, "probes", "pro", vec![reading]).await;
    for (probe, value) in [("hot", 1.5e308), ("hot", 1.5e308), ("cold", 2.5)] {
        create(
            &app,
            &key,
            "reading",
            json!({"probe": probe, "value": value}),
        )
        .await;
    }
    for function in ["sum", "avg"] {
        let res = post(
            &app,
            &key,
            "reading/query",
            json!({"groupBy": ["probe"], "aggregations": [
                {"function": "count", "alias": "n"},
                {"function": function, "field": "value", "alias": "x"}
            ]}),
        )
        .await;
        let error = res.assert_error(422, "aggregate_overflow");
        assert_eq!(error["category"], "validation");
        assert_eq!(error["details"]["aggregations"], json!(["x"]), "{function}");
    }
    let res = post(
        &app,
        &key,
        "reading/query",
        json!({"groupBy": ["probe"], "aggregations": [
            {"function": "max", "field": "value", "alias": "top"},
            {"function": "min", "field": "value", "alias": "low"}
        ], "orderBy": ["probe"]}),
    )
    .await;
    let page = res.assert_success(200);
    assert_eq!(
        page["records"],
        json!([
            {"probe": "cold", "top": 2.5, "low": 2.5},
            {"probe": "hot", "top": 1.5e308, "low": 1.5e308}
        ])
    );
    let res = post(
        &app,
        &key,
        "reading/query",
        json!({"where": ["probe", "=", "cold"], "aggregations": [
            {"function": "sum", "field": "value", "alias": "x"}
        ]}),
    )
    .await;
    assert_eq!(res.assert_success(200)["records"], json!([{"x": 2.5}]));
}

/// `aggregations` and `groupBy` (QueryAST and GET parameters): one record per group, the same on
/// every tenant provider; bounded, and refused at their paths when they do not apply.
#[tokio::test]
async fn aggregations_and_group_by() {
    let app = TestApp::new().start().await;
    let (_, key) = products(&app).await;
    let num = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));

    let res = post(
        &app,
        &key,
        "item/query",
        json!({
            "groupBy": ["family"],
            "aggregations": [
                {"function": "count", "alias": "n"},
                {"function": "sum", "field": "list_price", "alias": "total"},
                {"function": "avg", "field": "list_price", "alias": "mean"},
                {"function": "min", "field": "name", "alias": "first"},
                {"function": "max", "field": "list_price", "alias": "top"},
                {"function": "count_distinct", "field": "name", "alias": "names"}
            ],
            "orderBy": [{"field": "total", "order": "desc"}]
        }),
    )
    .await;
    let page = res.assert_success(200);
    assert_eq!(page["object"], "item");
    assert_eq!(page["total"], 4, "{page:#}");
    assert_eq!(page["hasMore"], false);
    let records = page["records"].as_array().unwrap();
    let families: Vec<&Value> = records.iter().map(|r| &r["family"]).collect();
    assert_eq!(
        families,
        [
            &json!("hardware"),
            &json!("software"),
            &Value::Null,
            &json!("services")
        ]
    );
    let hardware = records[0].as_object().unwrap();
    let mut keys: Vec<&str> = hardware.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["family", "first", "mean", "n", "names", "top", "total"]
    );
    assert_eq!(hardware["n"], 2);
    assert_eq!(num(&hardware["total"]), 80.0);
    assert_eq!(num(&hardware["mean"]), 40.0);
    assert_eq!(hardware["first"], "Beta");
    assert_eq!(num(&hardware["top"]), 60.0);
    assert_eq!(hardware["names"], 1);
    let software = &records[1];
    assert_eq!(software["first"], "Alpha", "byte order: 'A' before 'a'");
    assert_eq!(software["names"], 2);
    assert_eq!(num(&records[2]["total"]), 40.0);

    // Booleans group as booleans; a filter applies before grouping; sort by a key.
    let res = post(
        &app,
        &key,
        "item/query",
        json!({"where": ["list_price", ">", 10], "groupBy": ["active"],
               "aggregations": [{"function": "count", "alias": "n"}], "orderBy": ["-active"]}),
    )
    .await;
    let page = res.assert_success(200);
    assert_eq!(
        page["records"],
        json!([{"active": true, "n": 3}, {"active": false, "n": 2}])
    );

    // Without groupBy: one record; over no rows, count 0 and sum null.
    let res = post(
        &app,
        &key,
        "item/query",
        json!({"where": ["name", "=", "nobody"], "aggregations": [
            {"function": "count", "alias": "n"}, {"function": "sum", "field": "list_price", "alias": "s"}]}),
    )
    .await;
    let page = res.assert_success(200);
    assert_eq!(page["records"], json!([{"n": 0, "s": null}]));
    assert_eq!(page["total"], 1);

    // GET, as @objectstack/client's find() encodes them; pages of groups.
    let res = app
        .send(app.keyed(Method::GET, &data("item"), &key).query(&[
            ("groupBy", "family,active"),
            ("aggregations", r#"[{"function":"count","alias":"n"}]"#),
            ("sort", "-n"),
            ("top", "2"),
        ]))
        .await;
    let page = res.assert_success(200);
    assert_eq!(page["total"], 5, "{page:#}");
    assert_eq!(page["hasMore"], true);
    assert_eq!(
        page["records"],
        json!([{"family": "hardware", "active": true, "n": 2}, {"family": null, "active": true, "n": 1}])
    );

    // Bounds and misfits: 400 at the path.
    let many_keys = vec!["name"; 9];
    let res = post(&app, &key, "item/query", json!({"groupBy": many_keys})).await;
    assert_issue(&res, "groupBy", "too_big");
    let many: Vec<Value> = (0..17)
        .map(|i| json!({"function": "count", "alias": format!("n{i}")}))
        .collect();
    let res = post(&app, &key, "item/query", json!({"aggregations": many})).await;
    assert_issue(&res, "aggregations", "too_big");
    let res = get(&app, &key, "item?groupBy=a,b,c,d,e,f,g,h,i").await;
    assert_issue(&res, "groupBy", "too_big");
    for (body, path, code) in [
        (
            json!({"aggregations": [{"function": "sum", "field": "name", "alias": "s"}]}),
            "aggregations[0].field",
            "custom",
        ),
        (
            json!({"aggregations": [{"function": "median", "field": "list_price", "alias": "m"}]}),
            "aggregations[0].function",
            "invalid_enum_value",
        ),
        (
            json!({"aggregations": [{"function": "count"}]}),
            "aggregations[0].alias",
            "invalid_type",
        ),
        (
            json!({"aggregations": [{"function": "count", "alias": "a b"}]}),
            "aggregations[0].alias",
            "invalid_string",
        ),
        (
            json!({"aggregations": [{"function": "sum", "alias": "s"}]}),
            "aggregations[0].field",
            "invalid_type",
        ),
        (
            json!({"aggregations": [{"function": "count", "alias": "n", "filter": {"name": "x"}}]}),
            "aggregations[0].filter",
            "custom",
        ),
        (json!({"groupBy": ["nope"]}), "groupBy[0]", "custom"),
        (
            json!({"groupBy": ["name"], "fields": ["name"]}),
            "fields[0]",
            "custom",
        ),
        (
            json!({"groupBy": ["name"], "orderBy": ["sku"]}),
            "orderBy[0]",
            "custom",
        ),
        (
            json!({"groupBy": ["name"], "aggregations": [{"function": "count", "alias": "name"}]}),
            "aggregations[0].alias",
            "custom",
        ),
        (json!({"having": {"n": 1}}), "having", "custom"),
    ] {
        let res = post(&app, &key, "item/query", body.clone()).await;
        assert_issue(&res, path, code);
    }
    let res = get(&app, &key, "item?aggregations=count").await;
    assert_issue(&res, "aggregations", "invalid_type");
}

/// `distinct`: the distinct combinations of the selected fields (GET `distinct=true&select=…`,
/// QueryAST `distinct: true` with `fields`), without the system columns.
#[tokio::test]
async fn distinct_values_of_the_selected_fields() {
    let app = TestApp::new().start().await;
    let (_, key) = products(&app).await;
    let page = list(&app, &key, "item?distinct=true&select=name&sort=name").await;
    assert_eq!(
        page["records"],
        json!([{"name": "Alpha"}, {"name": "Beta"}, {"name": "Delta"}, {"name": "Gamma"}, {"name": "alpha"}])
    );
    assert_eq!(page["total"], 5);
    assert_eq!(page["hasMore"], false);
    let res = post(
        &app,
        &key,
        "item/query",
        json!({"distinct": true, "fields": ["family", "active"], "where": ["active", "=", true],
               "orderBy": ["family"]}),
    )
    .await;
    assert_eq!(
        res.assert_success(200)["records"],
        json!([{"family": null, "active": true}, {"family": "hardware", "active": true},
               {"family": "software", "active": true}])
    );
    for (body, path, code) in [
        (json!({"distinct": true}), "distinct", "custom"),
        (
            json!({"distinct": true, "fields": ["id"]}),
            "distinct",
            "custom",
        ),
        (
            json!({"distinct": true, "fields": ["name"], "groupBy": ["name"]}),
            "distinct",
            "custom",
        ),
        (
            json!({"distinct": "yes", "fields": ["name"]}),
            "distinct",
            "invalid_type",
        ),
        (
            json!({"distinct": true, "fields": ["name"], "orderBy": ["sku"]}),
            "orderBy[0]",
            "custom",
        ),
    ] {
        let res = post(&app, &key, "item/query", body.clone()).await;
        assert_issue(&res, path, code);
    }
    assert_issue(
        &get(&app, &key, "item?distinct=maybe&select=name").await,
        "distinct",
        "invalid_type",
    );
}

/// Keyset paging: each page's `nextCursor` (or the same values as an object) gives the next
/// page; walking a sort page by page gives the records of one offset-free listing, NULLs and ties
/// included, on every provider.
#[tokio::test]
async fn cursor_paging_walks_every_sort() {
    let app = TestApp::new().start().await;
    let (_, key) = products(&app).await;
    for sort in [
        "id",
        "name",
        "-name",
        "family",
        "-family",
        "-list_price",
        "active,-name",
        "-active,family",
        "-created_at",
        "sku,-id",
    ] {
        let all = list(&app, &key, &format!("item?sort={sort}&top=100")).await;
        let expected = ids(&all);
        assert!(all.get("nextCursor").is_none(), "{all:#}");
        let mut walked = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let mut query = vec![("sort", sort.to_owned()), ("top", "2".to_owned())];
            if let Some(c) = &cursor {
                query.push(("cursor", c.clone()));
            }
            let res = app
                .send(app.keyed(Method::GET, &data("item"), &key).query(&query))
                .await;
            let page = res.assert_success(200).clone();
            walked.extend(ids(&page));
            assert_eq!(page["total"], 6, "the total ignores the cursor");
            match page["nextCursor"].as_str() {
                Some(next) => {
                    assert_eq!(page["hasMore"], true);
                    cursor = Some(next.to_owned());
                }
                None => {
                    assert_eq!(page["hasMore"], false, "{page:#}");
                    break;
                }
            }
        }
        assert_eq!(walked, expected, "sort {sort}");
    }

    // In the QueryAST, as the nextCursor text or as the object of values, with a filter and
    // selected fields that do not hold the sort key.
    let first = post(
        &app,
        &key,
        "item/query",
        json!({"where": ["list_price", ">", 10], "fields": ["sku"],
        "orderBy": [{"field": "name", "order": "desc"}], "limit": 2}),
    )
    .await;
    let first = first.assert_success(200).clone();
    assert_eq!(ids(&first), ["p5", "p3"]);
    let next = first["nextCursor"].as_str().unwrap();
    let second = post(
        &app,
        &key,
        "item/query",
        json!({"where": ["list_price", ">", 10], "fields": ["sku"],
        "orderBy": [{"field": "name", "order": "desc"}], "limit": 2, "cursor": next}),
    )
    .await;
    assert_eq!(ids(second.assert_success(200)), ["p4", "p2"]);
    let by_object = post(&app, &key, "item/query", json!({"where": ["list_price", ">", 10],
        "orderBy": [{"field": "name", "order": "desc"}], "limit": 2, "cursor": {"name": "Gamma", "id": "p3"}})).await;
    assert_eq!(ids(by_object.assert_success(200)), ["p4", "p2"]);

    // Refusals at `cursor`.
    for (body, path, code) in [
        (
            json!({"cursor": {"name": "x", "id": "p1"}}),
            "cursor",
            "custom",
        ),
        (
            json!({"orderBy": ["name"], "cursor": {"name": "x"}}),
            "cursor",
            "custom",
        ),
        (
            json!({"orderBy": ["list_price"], "cursor": {"list_price": "cheap", "id": "p1"}}),
            "cursor.list_price",
            "invalid_type",
        ),
        (
            json!({"cursor": {"id": "p1"}, "offset": 2}),
            "cursor",
            "custom",
        ),
        (json!({"cursor": "zz"}), "cursor", "invalid_string"),
        (json!({"cursor": 7}), "cursor", "invalid_type"),
        (
            json!({"groupBy": ["name"], "cursor": {"id": "p1"}}),
            "cursor",
            "custom",
        ),
    ] {
        let res = post(&app, &key, "item/query", body.clone()).await;
        assert_issue(&res, path, code);
    }
    assert_issue(
        &get(&app, &key, "item?cursor=nothex").await,
        "cursor",
        "invalid_string",
    );
}

/// 2,000 sort keys were a 500 ("too many terms in ORDER BY"); sort keys and selected fields are
/// bounded, refused at the parameter.
#[tokio::test]
async fn sort_keys_and_selected_fields_are_bounded() {
    let app = TestApp::new().start().await;
    let (_, key) = products(&app).await;
    let keys = vec!["name"; 2000].join(",");
    let res = get(&app, &key, &format!("item?sort={keys}")).await;
    assert_issue(&res, "sort", "too_big");
    let res = get(
        &app,
        &key,
        &format!("item?orderBy={}", vec!["-name"; 33].join(",")),
    )
    .await;
    assert_issue(&res, "orderBy", "too_big");
    let page = list(
        &app,
        &key,
        &format!("item?sort={}&top=1", vec!["-name"; 32].join(",")),
    )
    .await;
    assert_eq!(ids(&page), ["p5"]);
    let nodes: Vec<Value> = (0..2000).map(|_| json!({"field": "name"})).collect();
    let res = post(&app, &key, "item/query", json!({"orderBy": nodes})).await;
    assert_issue(&res, "orderBy", "too_big");
    let fields = vec!["name"; 1001];
    let res = post(&app, &key, "item/query", json!({"fields": fields})).await;
    assert_issue(&res, "fields", "too_big");
    let res = get(
        &app,
        &key,
        &format!("item?select={}", vec!["sku"; 1001].join(",")),
    )
    .await;
    assert_issue(&res, "select", "too_big");
}

/// `find({where: {name: {$startsWith: 'A'}}})` in @objectstack/client 4.0.1 sends
/// `name=[object Object]`; on a text field that was a 200 with no records.
#[tokio::test]
async fn a_javascript_object_as_a_parameter_value_is_refused() {
    let app = TestApp::new().start().await;
    let (_, key) = products(&app).await;
    let res = get(&app, &key, "item?name=%5Bobject%20Object%5D").await;
    assert_issue(&res, "name", "invalid_type");
    assert!(res.text.contains("filter="), "{}", res.text);
    let res = get(&app, &key, "item?list_price=%5Bobject%20Object%5D").await;
    assert_issue(&res, "list_price", "invalid_type");
}

// ---------------------------------------------------------------------------------------------
// 3. Value checks on write

#[tokio::test]
async fn value_checks_are_400_at_the_field() {
    let app = TestApp::new().start().await;
    let (_, key) = crm_tenant(&app, "acme").await;
    let (_, gkey) = tenant_with(&app, "gadgets", "pro", vec![gadget()]).await;

    // wrong type
    let res = post(
        &app,
        &key,
        "account",
        json!({"name": "X", "employees": "many"}),
    )
    .await;
    assert_issue_at(&res, "employees");
    // missing required
    let res = post(&app, &key, "account", json!({"employees": 3})).await;
    assert_issue_at(&res, "name");
    // blank required: empty, or only whitespace, on create and on update
    for blank in ["", "   "] {
        let res = post(&app, &key, "account", json!({"name": blank})).await;
        assert_issue_at(&res, "name");
        assert_eq!(
            res.body["error"]["details"]["issues"][0]["code"],
            "too_small"
        );
    }
    let res = post(&app, &key, "account", json!({"name": "Blank"})).await;
    let id = res.assert_success(201)["id"].as_str().unwrap().to_owned();
    for blank in ["", "\t"] {
        let res = patch(&app, &key, &format!("account/{id}"), json!({"name": blank})).await;
        assert_issue_at(&res, "name");
    }
    delete(&app, &key, &format!("account/{id}"))
        .await
        .assert_success(200);
    // maxLength
    let res = post(&app, &key, "account", json!({"name": "x".repeat(161)})).await;
    assert_issue_at(&res, "name");
    // min
    let res = post(
        &app,
        &key,
        "account",
        json!({"name": "Neg", "employees": -1}),
    )
    .await;
    assert_issue_at(&res, "employees");
    // max
    let res = post(&app, &gkey, "gadget", json!({"code": "q", "qty": 11})).await;
    assert_issue_at(&res, "qty");
    // select option
    let res = post(
        &app,
        &key,
        "account",
        json!({"name": "Sel", "industry": "mining"}),
    )
    .await;
    assert_issue_at(&res, "industry");
    // multiselect option
    let res = post(
        &app,
        &gkey,
        "gadget",
        json!({"code": "m", "tags": ["aa", "zz"]}),
    )
    .await;
    assert_issue_at(&res, "tags[1]");
    // email
    let res = post(
        &app,
        &key,
        "contact",
        json!({"last_name": "L", "email": "not-an-email"}),
    )
    .await;
    assert_issue_at(&res, "email");
    // url
    let res = post(
        &app,
        &key,
        "account",
        json!({"name": "Url", "website": "not a url"}),
    )
    .await;
    assert_issue_at(&res, "website");
    // datetime
    let res = post(
        &app,
        &gkey,
        "gadget",
        json!({"code": "d", "at": "yesterday"}),
    )
    .await;
    assert_issue_at(&res, "at");
    // boolean
    let res = post(
        &app,
        &key,
        "contact",
        json!({"last_name": "L", "do_not_call": "yes"}),
    )
    .await;
    assert_issue_at(&res, "do_not_call");
    // unknown field
    let res = post(&app, &key, "account", json!({"name": "U", "nope": 1})).await;
    // an unknown key is reported on the record itself (zod's unrecognized_keys)
    assert_issue_at(&res, "");
    assert_eq!(
        res.body["error"]["details"]["issues"][0]["code"],
        "unrecognized_keys"
    );
    // a patch is checked the same way
    let res = patch(&app, &key, "account/acc_acme", json!({"employees": "x"})).await;
    assert_issue_at(&res, "employees");
    let res = patch(&app, &key, "account/acc_acme", json!({"name": null})).await;
    assert_issue_at(&res, "name");

    // unique → 409 with the fields
    let res = post(&app, &key, "account", json!({"name": "Acme Corporation"})).await;
    let error = res.assert_error(409, "duplicate_value");
    assert_eq!(error["details"]["fields"], json!(["name"]));
    let res = patch(
        &app,
        &key,
        "account/acc_globex",
        json!({"name": "Acme Corporation"}),
    )
    .await;
    res.assert_error(409, "duplicate_value");

    // a lookup to a missing record → 400 at the lookup field
    let res = post(
        &app,
        &key,
        "contact",
        json!({"last_name": "L", "account": "acc_missing"}),
    )
    .await;
    assert_issue_at(&res, "account");
    let res = patch(
        &app,
        &key,
        "contact/con_ada",
        json!({"account": "acc_missing"}),
    )
    .await;
    assert_issue_at(&res, "account");
    // ...and nothing refused was written
    let page = list(&app, &key, "account?count=true&top=1").await;
    assert_eq!(page["total"], 3, "{page:#}");
}

#[tokio::test]
async fn values_round_trip_with_their_json_types() {
    let app = TestApp::new().start().await;
    let (_, key) = tenant_with(&app, "gadgets", "pro", vec![gadget()]).await;
    let record = create(
        &app,
        &key,
        "gadget",
        json!({
            "code": "rt",
            "qty": 2.5,
            "flag": true,
            "tags": ["aa", "cc"],
            "meta": {"nested": [1, "two", null, {"x": false}]},
            "at": "2026-01-02T03:04:05Z",
            "mail": "a@b.example",
            "site": "https://example.com/x"
        }),
    )
    .await;
    let id = record["id"].as_str().unwrap();
    let got = get(&app, &key, &format!("gadget/{id}")).await;
    let got = got.assert_success(200)["record"].clone();
    assert_eq!(got["qty"], json!(2.5));
    assert_eq!(got["flag"], json!(true));
    assert_eq!(got["tags"], json!(["aa", "cc"]));
    assert_eq!(
        got["meta"],
        json!({"nested": [1, "two", null, {"x": false}]})
    );
    let at = got["at"].as_str().unwrap();
    assert!(at.starts_with("2026-01-02T03:04:05"), "{at}");
    assert_eq!(got["mail"], "a@b.example");
    assert_eq!(got["site"], "https://example.com/x");
    // The same record is found by its values.
    let hits = filtered(&app, &key, "gadget", json!(["flag", "=", true])).await;
    assert_eq!(hits, [id.to_owned()]);
    let hits = filtered(&app, &key, "gadget", json!(["tags", "contains", "cc"])).await;
    assert_eq!(hits, [id.to_owned()]);
    let hits = filtered(
        &app,
        &key,
        "gadget",
        json!(["at", "=", "2026-01-02T03:04:05Z"]),
    )
    .await;
    assert_eq!(hits, [id.to_owned()]);
    // false and clearing to null
    let res = patch(
        &app,
        &key,
        &format!("gadget/{id}"),
        json!({"flag": false, "meta": null}),
    )
    .await;
    let patched = res.assert_success(200)["record"].clone();
    assert_eq!(patched["flag"], json!(false));
    assert_eq!(patched["meta"], Value::Null);
}

// ---------------------------------------------------------------------------------------------
// 4. Passwords, autonumbers, defaults

#[tokio::test]
async fn passwords_are_hashed_and_never_read() {
    let app = TestApp::new().start().await;
    let (tenant, key) = tenant_with(&app, "gadgets", "pro", vec![gadget()]).await;
    let record = create(
        &app,
        &key,
        "gadget",
        json!({"code": "pw", "secret": "hunter22"}),
    )
    .await;
    let id = record["id"].as_str().unwrap().to_owned();
    assert!(record.get("secret").is_none(), "{record:#}");

    let stored: String = stored_secret(&app, &tenant, &id).await;
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains("hunter22"));

    let got = get(&app, &key, &format!("gadget/{id}")).await;
    assert!(got.assert_success(200)["record"].get("secret").is_none());
    assert!(!got.text.contains("argon2"), "{}", got.text);
    let page = list(&app, &key, "gadget").await;
    assert!(page["records"][0].get("secret").is_none());
    assert!(!page.to_string().contains("argon2"));

    // Cannot be selected nor filtered on.
    assert_issue_at(
        &get(&app, &key, &format!("gadget/{id}?select=secret")).await,
        "select[0]",
    );
    assert_issue_at(&get(&app, &key, "gadget?select=secret").await, "select[0]");
    assert_issue_at(&get(&app, &key, "gadget?secret=hunter2").await, "secret");
    let res = post(
        &app,
        &key,
        "gadget/query",
        json!({"where": ["secret", "=", "hunter22"]}),
    )
    .await;
    assert_issue_at(&res, "where");
    let res = post(&app, &key, "gadget/query", json!({"fields": ["secret"]})).await;
    assert_issue_at(&res, "fields[0]");

    // A password update re-hashes; a patch without it keeps the hash.
    patch(&app, &key, &format!("gadget/{id}"), json!({"qty": 3}))
        .await
        .assert_success(200);
    let kept: String = stored_secret(&app, &tenant, &id).await;
    assert_eq!(kept, stored);
    patch(
        &app,
        &key,
        &format!("gadget/{id}"),
        json!({"secret": "other-secret"}),
    )
    .await
    .assert_success(200);
    let changed: String = stored_secret(&app, &tenant, &id).await;
    assert!(changed.starts_with("$argon2id$") && changed != stored);
}

#[tokio::test]
async fn autonumbers_and_defaults() {
    let app = TestApp::new().start().await;
    let (_, key) = tenant_with(&app, "gadgets", "pro", vec![gadget()]).await;
    let mut seqs = Vec::new();
    for code in ["a1", "a2", "a3"] {
        let r = create(&app, &key, "gadget", json!({"code": code})).await;
        seqs.push((r["seq"].clone(), r["plain_seq"].clone()));
        // defaults filled in
        assert_eq!(r["level"], "low");
        assert_eq!(r["note"], "none");
    }
    assert_eq!(
        seqs,
        [
            (json!("G-001"), json!(1)),
            (json!("G-002"), json!(2)),
            (json!("G-003"), json!(3))
        ]
    );
    // An explicit value wins over the default.
    let r = create(&app, &key, "gadget", json!({"code": "a4", "level": "high"})).await;
    assert_eq!(r["level"], "high");

    // Autonumbers cannot be written.
    let res = post(&app, &key, "gadget", json!({"code": "a5", "seq": 99})).await;
    assert_issue_at(&res, "seq");
    let res = post(&app, &key, "gadget", json!({"code": "a5", "plain_seq": 99})).await;
    assert_issue_at(&res, "plain_seq");
    let id = r["id"].as_str().unwrap();
    let res = patch(&app, &key, &format!("gadget/{id}"), json!({"plain_seq": 1})).await;
    assert_issue_at(&res, "plain_seq");
}

// ---------------------------------------------------------------------------------------------
// 5. deleteBehavior

#[tokio::test]
async fn delete_behaviors_restrict_cascade_set_null() {
    let app = TestApp::new().start().await;
    let (tenant, key) = tenant_with(&app, "family", "pro", family()).await;
    let parent = |id: &str| json!({"id": id, "name": id});
    for p in ["pr", "pc", "ps", "pq"] {
        create(&app, &key, "parent", parent(p)).await;
    }
    // restrict
    create(
        &app,
        &key,
        "child_restrict",
        json!({"id": "r1", "parent": "pr"}),
    )
    .await;
    let res = delete(&app, &key, "parent/pr").await;
    let error = res.assert_error(409, "delete_restricted");
    assert_eq!(error["details"]["object"], "child_restrict");
    assert_eq!(error["details"]["field"], "parent");
    get(&app, &key, "parent/pr").await.assert_success(200);
    get(&app, &key, "child_restrict/r1")
        .await
        .assert_success(200);

    // cascade, recursively
    create(
        &app,
        &key,
        "child_cascade",
        json!({"id": "c1", "parent": "pc"}),
    )
    .await;
    create(
        &app,
        &key,
        "child_cascade",
        json!({"id": "c2", "parent": "pc"}),
    )
    .await;
    create(
        &app,
        &key,
        "child_cascade",
        json!({"id": "c3", "parent": "ps"}),
    )
    .await;
    create(&app, &key, "grandchild", json!({"id": "g1", "child": "c1"})).await;
    create(&app, &key, "grandchild", json!({"id": "g3", "child": "c3"})).await;
    // set_null
    create(
        &app,
        &key,
        "child_setnull",
        json!({"id": "s1", "parent": "ps", "label": "keep"}),
    )
    .await;

    delete(&app, &key, "parent/pc").await.assert_success(200);
    for gone in [
        "child_cascade/c1",
        "child_cascade/c2",
        "grandchild/g1",
        "parent/pc",
    ] {
        get(&app, &key, gone)
            .await
            .assert_error(404, "record_not_found");
    }
    get(&app, &key, "child_cascade/c3")
        .await
        .assert_success(200);
    get(&app, &key, "grandchild/g3").await.assert_success(200);
    assert_eq!(count_rows(&app, &tenant, "grandchild").await, 1);

    // ps: cascades c3 (and g3), clears s1.parent
    delete(&app, &key, "parent/ps").await.assert_success(200);
    let s1 = get(&app, &key, "child_setnull/s1").await;
    let s1 = s1.assert_success(200)["record"].clone();
    assert_eq!(s1["parent"], Value::Null);
    assert_eq!(s1["label"], "keep");
    get(&app, &key, "grandchild/g3")
        .await
        .assert_error(404, "record_not_found");

    // A required lookup with set_null cannot be cleared: the delete is restricted.
    create(
        &app,
        &key,
        "child_required",
        json!({"id": "q1", "parent": "pq"}),
    )
    .await;
    delete(&app, &key, "parent/pq")
        .await
        .assert_error(409, "delete_restricted");
    get(&app, &key, "parent/pq").await.assert_success(200);
    let q1 = get(&app, &key, "child_required/q1").await;
    assert_eq!(q1.assert_success(200)["record"]["parent"], "pq");

    // A failed cascade (a restrict below it) deletes nothing at all.
    create(&app, &key, "parent", parent("pm")).await;
    create(
        &app,
        &key,
        "child_cascade",
        json!({"id": "cm", "parent": "pm"}),
    )
    .await;
    create(
        &app,
        &key,
        "child_restrict",
        json!({"id": "rm", "parent": "pm"}),
    )
    .await;
    delete(&app, &key, "parent/pm")
        .await
        .assert_error(409, "delete_restricted");
    get(&app, &key, "child_cascade/cm")
        .await
        .assert_success(200);
}

// ---------------------------------------------------------------------------------------------
// 6. Batches

#[tokio::test]
async fn create_many_and_batches() {
    let app = TestApp::new().start().await;
    let (tenant, key) = crm_tenant(&app, "acme").await;

    // createMany: an array body → 201
    let res = post(
        &app,
        &key,
        "account/createMany",
        json!([{"name": "M1"}, {"name": "M2", "employees": 2}]),
    )
    .await;
    let created = res.assert_success(201);
    assert_eq!(created["object"], "account");
    assert_eq!(created["count"], 2);
    assert_eq!(created["records"][1]["employees"], 2);
    assert_eq!(count_rows(&app, &tenant, "account").await, 5);
    // createMany is all or nothing
    let res = post(
        &app,
        &key,
        "account/createMany",
        json!([{"name": "M3"}, {"name": 5}]),
    )
    .await;
    assert_issue_at(&res, "[1].name");
    assert_eq!(count_rows(&app, &tenant, "account").await, 5);

    // batch create with returnRecords
    let res = post(
        &app,
        &key,
        "account/batch",
        json!({"operation": "create", "records": [{"id": "b1", "data": {"name": "B1"}}, {"id": "b2", "data": {"name": "B2"}}],
               "options": {"returnRecords": true}}),
    )
    .await;
    let result = res.assert_success(200).clone();
    assert_eq!(result["success"], true);
    assert_eq!(result["operation"], "create");
    assert_eq!(result["total"], 2);
    assert_eq!(result["succeeded"], 2);
    assert_eq!(result["failed"], 0);
    assert_eq!(result["results"][0]["id"], "b1");
    assert_eq!(result["results"][0]["success"], true);
    assert_eq!(result["results"][1]["index"], 1);
    assert_eq!(result["results"][1]["data"]["name"], "B2");

    // update
    let res = post(
        &app,
        &key,
        "account/batch",
        json!({"operation": "update", "records": [{"id": "b1", "data": {"employees": 7}}]}),
    )
    .await;
    assert_eq!(res.assert_success(200)["succeeded"], 1);
    let b1 = get(&app, &key, "account/b1").await;
    assert_eq!(b1.assert_success(200)["record"]["employees"], 7);

    // upsert: one existing (by id), one new
    let res = post(
        &app,
        &key,
        "account/batch",
        json!({"operation": "upsert", "records": [
            {"id": "b2", "data": {"employees": 9}},
            {"id": "b3", "data": {"name": "B3"}}
        ], "options": {"returnRecords": true}}),
    )
    .await;
    let result = res.assert_success(200).clone();
    assert_eq!(result["succeeded"], 2, "{result:#}");
    let b2 = get(&app, &key, "account/b2").await;
    assert_eq!(b2.assert_success(200)["record"]["employees"], 9);
    assert_eq!(b2.body["data"]["record"]["name"], "B2");
    get(&app, &key, "account/b3").await.assert_success(200);

    // delete
    let res = post(
        &app,
        &key,
        "account/batch",
        json!({"operation": "delete", "records": [{"id": "b3"}]}),
    )
    .await;
    assert_eq!(res.assert_success(200)["succeeded"], 1);
    get(&app, &key, "account/b3")
        .await
        .assert_error(404, "record_not_found");
}

/// Concurrent single-record writes share group commits: a failing write (a duplicate) is
/// refused alone, every other write is committed and answered with its stored record.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_commit_independently() {
    let app = TestApp::new().start().await;
    let (tenant, key) = crm_tenant(&app, "group").await;
    let before = count_rows(&app, &tenant, "account").await;
    let names: Vec<String> = (0..48)
        .map(|i| {
            if i % 4 == 0 {
                "Shared Name".to_owned()
            } else {
                format!("Concurrent {i}")
            }
        })
        .collect();
    let answers = futures::future::join_all(
        names
            .iter()
            .map(|name| post(&app, &key, "account", json!({"name": name, "employees": 7}))),
    )
    .await;
    let mut created = Vec::new();
    let mut duplicates = 0;
    for (name, res) in names.iter().zip(answers) {
        if res.status == reqwest::StatusCode::CREATED {
            assert_eq!(res.body["data"]["record"]["name"], json!(name));
            created.push(res.body["data"]["id"].as_str().unwrap().to_owned());
        } else {
            assert_eq!(
                name, "Shared Name",
                "only the duplicates fail: {:#}",
                res.body
            );
            res.assert_error(409, "duplicate_value");
            duplicates += 1;
        }
    }
    assert_eq!(duplicates, 11, "one 'Shared Name' of 12 wins");
    assert_eq!(created.len(), 37);
    assert_eq!(count_rows(&app, &tenant, "account").await, before + 37);
    for id in &created {
        get(&app, &key, &format!("account/{id}"))
            .await
            .assert_success(200);
    }
}

#[tokio::test]
async fn atomic_and_partial_batches() {
    let app = TestApp::new().start().await;
    let (tenant, key) = crm_tenant(&app, "acme").await;
    let before = count_rows(&app, &tenant, "account").await;

    // atomic (the default): one bad record → batch_failed, nothing written
    let res = post(
        &app,
        &key,
        "account/batch",
        json!({"operation": "create", "records": [{"data": {"name": "OK1"}}, {"data": {"employees": 1}}, {"data": {"name": "OK2"}}]}),
    )
    .await;
    let error = res.assert_error(400, "batch_failed");
    assert_eq!(
        error["details"]["results"][1]["success"], false,
        "{error:#}"
    );
    // the operation that ran before the failure is reported as not applied (rolled back)
    assert_eq!(
        error["details"]["results"][0]["success"], false,
        "{error:#}"
    );
    assert_eq!(
        error["details"]["results"][0]["errors"][0]["code"], "rolled_back",
        "{error:#}"
    );
    assert_eq!(error["details"]["succeeded"], 0, "{error:#}");
    assert_eq!(count_rows(&app, &tenant, "account").await, before);
    // a duplicate inside an atomic batch: 409, nothing written
    let res = post(
        &app,
        &key,
        "account/batch",
        json!({"operation": "create", "records": [{"data": {"name": "Fresh"}}, {"data": {"name": "Acme Corporation"}}]}),
    )
    .await;
    res.assert_error(409, "batch_failed");
    assert_eq!(count_rows(&app, &tenant, "account").await, before);

    // non-atomic with continueOnError: partial success
    let res = post(
        &app,
        &key,
        "account/batch",
        json!({"operation": "create",
               "records": [{"data": {"name": "P1"}}, {"data": {"employees": 1}}, {"data": {"name": "P2"}}],
               "options": {"atomic": false, "continueOnError": true}}),
    )
    .await;
    let result = res.assert_success(200).clone();
    assert_eq!(result["success"], false, "{result:#}");
    assert_eq!(result["total"], 3);
    assert_eq!(result["succeeded"], 2);
    assert_eq!(result["failed"], 1);
    assert_eq!(result["results"][0]["success"], true);
    assert_eq!(result["results"][1]["success"], false);
    assert!(
        !result["results"][1]["errors"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{result:#}"
    );
    assert_eq!(result["results"][2]["success"], true);
    assert_eq!(count_rows(&app, &tenant, "account").await, before + 2);

    // more than 200 operations: 400 at `records`
    let many: Vec<Value> = (0..201)
        .map(|i| json!({"data": {"name": format!("n{i}")}}))
        .collect();
    let res = post(
        &app,
        &key,
        "account/batch",
        json!({"operation": "create", "records": many}),
    )
    .await;
    assert_issue_at(&res, "records");
    assert_eq!(count_rows(&app, &tenant, "account").await, before + 2);

    // validateOnly: checked, nothing written
    let res = post(
        &app,
        &key,
        "account/batch",
        json!({"operation": "create", "records": [{"data": {"name": "V1"}}],
               "options": {"validateOnly": true}}),
    )
    .await;
    assert_eq!(res.assert_success(200)["succeeded"], 1);
    assert_eq!(count_rows(&app, &tenant, "account").await, before + 2);
    let page = list(&app, &key, "account?name=V1").await;
    assert!(ids(&page).is_empty());
}

#[tokio::test]
async fn update_many_and_delete_many() {
    let app = TestApp::new().start().await;
    let (tenant, key) = crm_tenant(&app, "acme").await;
    for id in ["u1", "u2", "u3"] {
        create(&app, &key, "account", json!({"id": id, "name": id})).await;
    }
    let res = post(
        &app,
        &key,
        "account/updateMany",
        json!({"records": [{"id": "u1", "data": {"employees": 1}}, {"id": "u2", "data": {"employees": 2}}]}),
    )
    .await;
    let result = res.assert_success(200);
    assert_eq!(result["succeeded"], 2, "{result:#}");
    let u2 = get(&app, &key, "account/u2").await;
    assert_eq!(u2.assert_success(200)["record"]["employees"], 2);

    // an update of a missing record fails the (atomic) batch: nothing changes
    let res = post(
        &app,
        &key,
        "account/updateMany",
        json!({"records": [{"id": "u1", "data": {"employees": 100}}, {"id": "missing", "data": {"employees": 1}}]}),
    )
    .await;
    res.assert_error(404, "batch_failed");
    let u1 = get(&app, &key, "account/u1").await;
    assert_eq!(u1.assert_success(200)["record"]["employees"], 1);

    let before = count_rows(&app, &tenant, "account").await;
    let res = post(
        &app,
        &key,
        "account/deleteMany",
        json!({"ids": ["u1", "u2"]}),
    )
    .await;
    assert_eq!(res.assert_success(200)["succeeded"], 2);
    assert_eq!(count_rows(&app, &tenant, "account").await, before - 2);
    get(&app, &key, "account/u3").await.assert_success(200);
}

// ---------------------------------------------------------------------------------------------
// 7. Keys and quotas

async fn new_key(app: &TestServer, tenant: &str, body: Value) -> (String, String) {
    let res = app
        .admin_post(&format!("/api/v1/tenants/{tenant}/keys"), body)
        .await;
    let data = res.assert_success(201);
    (
        data["keyId"].as_str().unwrap().to_owned(),
        data["apiKey"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn read_only_revoked_and_expired_keys() {
    let app = TestApp::new().start().await;
    let (tenant, _) = crm_tenant(&app, "acme").await;
    let (ro_id, ro) = new_key(&app, &tenant, json!({"scope": "read-only"})).await;

    get(&app, &ro, "account").await.assert_success(200);
    get(&app, &ro, "account/acc_acme").await.assert_success(200);
    post(&app, &ro, "account/query", json!({"limit": 1}))
        .await
        .assert_success(200);
    app.get_with_key("/api/v1/meta/object", &ro)
        .await
        .assert_success(200);
    post(&app, &ro, "account", json!({"name": "RO"}))
        .await
        .assert_error(403, "insufficient_scope");
    patch(&app, &ro, "account/acc_acme", json!({"employees": 1}))
        .await
        .assert_error(403, "insufficient_scope");
    delete(&app, &ro, "account/acc_globex")
        .await
        .assert_error(403, "insufficient_scope");
    post(
        &app,
        &ro,
        "account/batch",
        json!({"operation": "delete", "records": [{"id": "acc_globex"}]}),
    )
    .await
    .assert_error(403, "insufficient_scope");
    post(&app, &ro, "account/createMany", json!([{"name": "RO"}]))
        .await
        .assert_error(403, "insufficient_scope");
    assert_eq!(count_rows(&app, &tenant, "account").await, 3);

    // revoked
    app.admin_delete(&format!("/api/v1/tenants/{tenant}/keys/{ro_id}"))
        .await
        .assert_success(200);
    get(&app, &ro, "account")
        .await
        .assert_error(401, "key_revoked");

    // expired: a key living one second
    let (_, short) = new_key(
        &app,
        &tenant,
        json!({"scope": "full-access", "expiresIn": 1}),
    )
    .await;
    get(&app, &short, "account").await.assert_success(200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    get(&app, &short, "account")
        .await
        .assert_error(401, "key_expired");

    // no or a bogus credential
    app.send(app.request(Method::GET, &data("account")))
        .await
        .assert_error(401, "unauthorized");
    get(&app, "osk_bogus", "account").await.assert_status(401);
}

#[tokio::test]
async fn rate_limit_and_usage() {
    let app = app_with_free_plan(|q| q.api_rate_limit = Some(5)).await;
    let (tenant, key) = tenant_with(&app, "limited", "free", vec![gadget()]).await;

    let usage = app
        .admin_get(&format!("/api/v1/tenants/{tenant}/usage"))
        .await;
    assert_eq!(usage.assert_success(200)["apiRequestsThisMinute"], 0);

    let first_minute = minute();
    create(&app, &key, "gadget", json!({"code": "u1"})).await;
    let mut remaining = Vec::new();
    for _ in 0..4 {
        let res = get(&app, &key, "gadget").await;
        res.assert_success(200);
        assert_eq!(res.headers["x-ratelimit-limit"], "5");
        remaining.push(
            res.headers["x-ratelimit-remaining"]
                .to_str()
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
    }
    assert_eq!(remaining, [3, 2, 1, 0]);
    let res = get(&app, &key, "gadget").await;
    let error = res.assert_error(429, "rate_limited");
    assert_eq!(error["details"]["limit"], 5);
    assert_eq!(res.headers["x-ratelimit-limit"], "5");
    let retry: u64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // The admin API is not rate limited; usage reports this minute's data requests and records.
    let usage = app
        .admin_get(&format!("/api/v1/tenants/{tenant}/usage"))
        .await;
    let usage = usage.assert_success(200);
    // One create, four reads and the refused request (a minute boundary restarts the count).
    assert_requests_this_minute(usage, first_minute, 6);
    assert_eq!(usage["currentRecordCount"], 1, "{usage:#}");
}

#[tokio::test]
async fn usage_counts_records_after_writes() {
    let app = TestApp::new().start().await;
    let (tenant, key) = tenant_with(&app, "counted", "pro", vec![gadget()]).await;
    let path = format!("/api/v1/tenants/{tenant}/usage");
    let before = app.admin_get(&path).await.assert_success(200).clone();
    assert_eq!(before["currentRecordCount"], 0, "{before:#}");
    assert_eq!(before["apiRequestsThisMinute"], 0, "{before:#}");
    let first_minute = minute();
    for code in ["c1", "c2", "c3"] {
        create(&app, &key, "gadget", json!({"code": code})).await;
    }
    let after = app.admin_get(&path).await.assert_success(200).clone();
    assert_eq!(after["currentRecordCount"], 3, "{after:#}");
    assert_requests_this_minute(&after, first_minute, 3);
    // the tenant's own key may read its usage too
    let own = app.get_with_key(&path, &key).await;
    assert_eq!(own.assert_success(200)["currentRecordCount"], 3);
}

#[tokio::test]
async fn record_and_storage_quotas() {
    let app = app_with_free_plan(|q| q.max_records_per_object = Some(3)).await;
    let (tenant, key) = tenant_with(&app, "small", "free", vec![gadget()]).await;
    for code in ["q1", "q2", "q3"] {
        create(&app, &key, "gadget", json!({"code": code})).await;
    }
    let res = post(&app, &key, "gadget", json!({"code": "q4"})).await;
    let error = res.assert_error(403, "quota_exceeded");
    assert_eq!(error["details"]["exceededQuota"], "maxRecordsPerObject");
    assert_eq!(error["details"]["limit"].as_f64(), Some(3.0));
    assert_eq!(error["details"]["currentUsage"].as_f64(), Some(3.0));
    assert_eq!(count_rows(&app, &tenant, "gadget").await, 3);
    // a batch that would pass the quota fails whole
    let res = post(&app, &key, "gadget/createMany", json!([{"code": "q5"}])).await;
    res.assert_error(403, "quota_exceeded");
    assert_eq!(count_rows(&app, &tenant, "gadget").await, 3);
    // after a delete there is room again
    let page = list(&app, &key, "gadget?top=1").await;
    let first = ids(&page)[0].clone();
    delete(&app, &key, &format!("gadget/{first}"))
        .await
        .assert_success(200);
    create(&app, &key, "gadget", json!({"code": "q4"})).await;

    // maxStorageBytes: a limit below the database's size refuses every write
    let app = app_with_free_plan(|q| q.max_storage_bytes = Some(4096)).await;
    let (tenant, key) = tenant_with(&app, "tiny", "free", vec![gadget()]).await;
    let res = post(&app, &key, "gadget", json!({"code": "s1"})).await;
    let error = res.assert_error(403, "quota_exceeded");
    assert_eq!(error["details"]["exceededQuota"], "maxStorageBytes");
    assert_eq!(error["details"]["limit"].as_f64(), Some(4096.0));
    assert_eq!(count_rows(&app, &tenant, "gadget").await, 0);
    // reads still work
    list(&app, &key, "gadget").await;
}

/// The current minute since the epoch (the request counter's window).
fn minute() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        / 60_000
}

/// Asserts `apiRequestsThisMinute == expected` when no minute boundary passed since `first_minute`
/// (after one, only the requests of the new minute count).
#[track_caller]
fn assert_requests_this_minute(usage: &Value, first_minute: u128, expected: u64) {
    let counted = usage["apiRequestsThisMinute"].as_u64().unwrap();
    if minute() == first_minute {
        assert_eq!(counted, expected, "{usage:#}");
    } else {
        assert!(counted <= expected, "{usage:#}");
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Tenant states

#[tokio::test]
async fn a_read_only_suspension_serves_reads_and_refuses_writes() {
    let app = TestApp::new()
        .with(|opts| {
            opts.platform.lifecycle.on_tenant_suspend.revoke_tokens = false;
            opts.platform.lifecycle.on_tenant_suspend.read_only = true;
        })
        .start()
        .await;
    let (tenant, key) = tenant_with(&app, "readonly", "pro", vec![gadget()]).await;
    create(&app, &key, "gadget", json!({"code": "before"})).await;
    app.admin_post_empty(&format!("/api/v1/tenants/{tenant}/suspend"))
        .await
        .assert_success(200);
    let page = list(&app, &key, "gadget").await;
    assert_eq!(ids(&page).len(), 1, "reads are served: {page:#}");
    post(&app, &key, "gadget", json!({"code": "during"}))
        .await
        .assert_error(403, "tenant_suspended");
    app.admin_post_empty(&format!("/api/v1/tenants/{tenant}/resume"))
        .await
        .assert_success(200);
    create(&app, &key, "gadget", json!({"code": "after"})).await;
}

#[tokio::test]
async fn suspend_resume_redeploy_and_destroy() {
    let app = TestApp::new().start().await;
    let (tenant, key) = tenant_with(&app, "states", "pro", vec![gadget()]).await;
    // warm the router cache
    get(&app, &key, "gadget").await.assert_success(200);

    app.admin_post_empty(&format!("/api/v1/tenants/{tenant}/suspend"))
        .await
        .assert_success(200);
    get(&app, &key, "gadget")
        .await
        .assert_error(403, "tenant_suspended");
    post(&app, &key, "gadget", json!({"code": "s"}))
        .await
        .assert_error(403, "tenant_suspended");
    app.admin_post_empty(&format!("/api/v1/tenants/{tenant}/resume"))
        .await
        .assert_success(200);
    get(&app, &key, "gadget").await.assert_success(200);
    create(&app, &key, "gadget", json!({"code": "r"})).await;

    // a redeploy adding a field is served at once
    let refused = post(&app, &key, "gadget", json!({"code": "n0", "color": "red"})).await;
    refused.assert_error(400, "validation_error");
    let mut next = gadget();
    next["fields"]["color"] = json!({"type": "text"});
    deploy(&app, &tenant, bundle(vec![next])).await;
    let record = create(&app, &key, "gadget", json!({"code": "n1", "color": "red"})).await;
    assert_eq!(record["color"], "red");
    let page = list(&app, &key, "gadget?color=red").await;
    assert_eq!(ids(&page).len(), 1);

    // destroyed: keys revoked, the tenant is gone
    app.admin_delete(&format!("/api/v1/tenants/{tenant}?immediate=true"))
        .await
        .assert_status(200);
    let res = get(&app, &key, "gadget").await;
    assert!(
        [401, 404].contains(&res.status.as_u16()),
        "{} {}",
        res.status,
        res.text
    );
    assert!(
        ["key_revoked", "tenant_not_found", "unauthorized"]
            .contains(&res.body["error"]["code"].as_str().unwrap()),
        "{}",
        res.text
    );
}

// ---------------------------------------------------------------------------------------------
// 9. Metadata and discovery

#[tokio::test]
async fn metadata_with_etags_and_discovery() {
    let app = TestApp::new().start().await;
    let (tenant, key) = crm_tenant(&app, "acme").await;

    let res = app.get_with_key("/api/v1/meta/types", &key).await;
    let types = res.assert_success(200);
    assert!(
        types["types"]
            .as_array()
            .unwrap()
            .contains(&json!("object")),
        "{types:#}"
    );

    let res = app.get_with_key("/api/v1/meta/object", &key).await;
    let listed = res.assert_success(200);
    assert_eq!(listed["type"], "object");
    let mut names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "account",
            "activity",
            "contact",
            "lead",
            "opportunity",
            "opportunity_line",
            "product"
        ]
    );

    let res = app.get_with_key("/api/v1/meta/object/account", &key).await;
    let item = res.assert_success(200);
    assert_eq!(item["type"], "object");
    assert_eq!(item["name"], "account");
    assert_eq!(item["item"]["name"], "account");
    assert!(item["item"]["fields"]["name"].is_object(), "{item:#}");
    let etag = res.headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.len() > 2, "{etag}");

    let res = app
        .send(
            app.keyed(Method::GET, "/api/v1/meta/object/account", &key)
                .header("if-none-match", &etag),
        )
        .await;
    res.assert_status(304);
    assert!(res.text.is_empty());
    assert_eq!(res.headers["etag"].to_str().unwrap(), etag);

    // a redeploy changing account changes its ETag
    let mut next = crm();
    next["objects"][0]["fields"]["tier"] = json!({"type": "text"});
    assert_eq!(next["objects"][0]["name"], "account");
    deploy(&app, &tenant, next).await;
    let res = app
        .send(
            app.keyed(Method::GET, "/api/v1/meta/object/account", &key)
                .header("if-none-match", &etag),
        )
        .await;
    let item = res.assert_success(200);
    assert!(item["item"]["fields"]["tier"].is_object());
    assert_ne!(res.headers["etag"].to_str().unwrap(), etag);

    app.get_with_key("/api/v1/meta/bogus", &key)
        .await
        .assert_error(404, "metadata_type_not_found");
    app.get_with_key("/api/v1/meta/object/bogus", &key)
        .await
        .assert_error(404, "metadata_not_found");
    // metadata needs a key
    app.send(app.request(Method::GET, "/api/v1/meta/object"))
        .await
        .assert_error(401, "unauthorized");

    // discovery needs none
    let res = app
        .send(app.request(Method::GET, "/.well-known/objectstack"))
        .await;
    let doc = res.assert_success(200);
    assert_eq!(doc["version"], "v1");
    assert_eq!(doc["routes"]["data"], "/api/v1/data");
    assert_eq!(doc["routes"]["metadata"], "/api/v1/meta");
    // Only what works is reported.
    let query = &doc["capabilities"]["query"];
    assert_eq!(query["enabled"], true);
    for on in [
        "filterAst",
        "filterObject",
        "sort",
        "select",
        "count",
        "notContains",
        "aggregations",
        "groupBy",
        "distinct",
        "cursor",
    ] {
        assert_eq!(query["features"][on], true, "{on}: {query:#}");
    }
    for off in ["expand", "search"] {
        assert_eq!(query["features"][off], false, "{off}: {query:#}");
    }
    assert_eq!(doc["capabilities"]["search"]["enabled"], false);
}

// ---------------------------------------------------------------------------------------------
// Review follow-ups: cascades reaching a record twice, an object named `query`, rowid names

#[tokio::test]
async fn cascades_through_siblings_and_cycles_delete_each_record_once() {
    let app = TestApp::new().start().await;
    let project = json!({"name": "project", "fields": {"title": {"type": "text"}}});
    let task = json!({"name": "task", "fields": {
        "title": {"type": "text"},
        "project": {"type": "lookup", "reference": "project", "deleteBehavior": "cascade"},
        "parent": {"type": "lookup", "reference": "task", "deleteBehavior": "cascade"}
    }});
    let (tenant, key) = tenant_with(&app, "cascades", "pro", vec![project, task]).await;
    let p1 = create(&app, &key, "project", json!({"title": "p1"})).await;
    let p1 = p1["id"].as_str().unwrap();
    let t1 = create(&app, &key, "task", json!({"title": "t1", "project": p1})).await;
    let t1 = t1["id"].as_str().unwrap();
    // t2 is reached twice: as a task of p1 and as a subtask of t1
    create(
        &app,
        &key,
        "task",
        json!({"title": "t2", "project": p1, "parent": t1}),
    )
    .await;
    app.send(app.keyed(
        reqwest::Method::DELETE,
        &data(&format!("project/{p1}")),
        &key,
    ))
    .await
    .assert_success(200);
    assert_eq!(count_rows(&app, &tenant, "task").await, 0);
    assert_eq!(count_rows(&app, &tenant, "project").await, 0);

    // a cycle of two cascading references: either record can be deleted, taking the other
    let a = json!({"name": "ring_a", "fields": {"b": {"type": "lookup", "reference": "ring_b", "deleteBehavior": "cascade"}}});
    let b = json!({"name": "ring_b", "fields": {"a": {"type": "lookup", "reference": "ring_a", "deleteBehavior": "cascade"}}});
    let (tenant, key) = tenant_with(&app, "rings", "pro", vec![a, b]).await;
    let a1 = create(&app, &key, "ring_a", json!({})).await;
    let a1 = a1["id"].as_str().unwrap();
    let b1 = create(&app, &key, "ring_b", json!({"a": a1})).await;
    let b1 = b1["id"].as_str().unwrap();
    app.send(
        app.keyed(reqwest::Method::PATCH, &data(&format!("ring_a/{a1}")), &key)
            .json(&json!({"b": b1})),
    )
    .await
    .assert_success(200);
    app.send(app.keyed(
        reqwest::Method::DELETE,
        &data(&format!("ring_a/{a1}")),
        &key,
    ))
    .await
    .assert_success(200);
    assert_eq!(count_rows(&app, &tenant, "ring_a").await, 0);
    assert_eq!(count_rows(&app, &tenant, "ring_b").await, 0);
}

#[tokio::test]
async fn a_read_only_key_cannot_create_in_an_object_named_query() {
    let app = TestApp::new().start().await;
    let query = json!({"name": "query", "fields": {"text": {"type": "text"}}});
    let (tenant, key) = tenant_with(&app, "named-query", "pro", vec![query]).await;
    let (_, ro) = new_key(&app, &tenant, json!({"scope": "read-only"})).await;
    post(&app, &ro, "query", json!({"text": "x"}))
        .await
        .assert_error(403, "insufficient_scope");
    assert_eq!(count_rows(&app, &tenant, "query").await, 0);
    // the object's own query route still reads with a read-only key
    post(&app, &ro, "query/query", json!({"limit": 5}))
        .await
        .assert_success(200);
    create(&app, &key, "query", json!({"text": "y"})).await;
}

#[tokio::test]
async fn the_record_quota_holds_for_an_object_with_a_field_named_rowid() {
    let app = TestApp::new()
        .with(|opts| opts.platform.plans.pro.max_records_per_object = Some(2))
        .start()
        .await;
    let odd = json!({"name": "odd", "fields": {"rowid": {"type": "number", "scale": 0}}});
    let (_, key) = tenant_with(&app, "rowid", "pro", vec![odd]).await;
    create(&app, &key, "odd", json!({"rowid": 0})).await;
    create(&app, &key, "odd", json!({"rowid": 0})).await;
    let refused = post(&app, &key, "odd", json!({"rowid": 0})).await;
    let error = refused.assert_error(403, "quota_exceeded");
    assert_eq!(
        error["details"]["exceededQuota"], "maxRecordsPerObject",
        "{error:#}"
    );
}
