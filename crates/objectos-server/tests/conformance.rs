//! The same scripted session against a server on each tenant database provider (sqlite, memory,
//! postgres), whatever `OBJECTOS_TEST_TENANT_PROVIDER` says: provisioning, deployments (add,
//! alter, rename, drop, gates, rollback, ledger), records of every value kind, every filter
//! operator, sorts with NULLs, paging, batches, validation and unique errors, quotas, usage and
//! destroy. Every answer is recorded (status and body, with the values that are random or
//! provider-specific by nature masked) and the three transcripts must be identical: the protocol
//! answers the same on every database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestApp, TestServer};
use objectos_spec::types::provisioning::TenantPlan;
use reqwest::Method;
use serde_json::{json, Map, Value};

/// One exchange: what was asked, the status, and the masked body.
type Entry = (String, u16, Value);

/// Keys whose values differ between runs or providers by nature (times, ids made at random,
/// secrets, SQL text, storage sizes): replaced by a marker of their kind.
fn masked(key: &str, value: &Value) -> Option<Value> {
    let volatile = [
        "timestamp",
        "requestId",
        "created_at",
        "updated_at",
        "createdAt",
        "updatedAt",
        "provisionedAt",
        "startedAt",
        "completedAt",
        "lastUpdatedAt",
        "destroyAfter",
        "durationMs",
        "timings",
        "apiKey",
        "keyId",
        "connectionConfig",
        "databaseProvider",
        "plan",
        "currentStorageBytes",
        // Counted per wall-clock minute: a run crossing a minute starts again from 0.
        "apiRequestsThisMinute",
        "storageBytes",
        "backup",
    ];
    if key.ends_with("Ms") || key.ends_with("Us") {
        // Durations.
        return Some(json!(format!("<{key}>")));
    }
    if key == "plan" && value.is_string() {
        // The tenant's plan (free/pro), not a deployment's SQL plan.
        return None;
    }
    volatile.contains(&key).then(|| json!(format!("<{key}>")))
}

/// Masks volatile values and deployment ids (random; numbered by first appearance instead).
fn normalise(value: &Value, deployments: &mut Vec<String>) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let v = masked(k, v).unwrap_or_else(|| normalise(v, deployments));
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| normalise(v, deployments)).collect())
        }
        Value::String(s) if s.starts_with("dep_") => {
            let n = match deployments.iter().position(|d| d == s) {
                Some(n) => n,
                None => {
                    deployments.push(s.clone());
                    deployments.len() - 1
                }
            };
            json!(format!("<deployment {n}>"))
        }
        other => other.clone(),
    }
}

struct Script<'a> {
    app: &'a TestServer,
    key: String,
    entries: Vec<Entry>,
    deployments: Vec<String>,
}

impl Script<'_> {
    async fn record(&mut self, what: String, res: common::Res) -> Value {
        // Deployment ids in a path are numbered like those in bodies.
        let what = what
            .split('/')
            .map(
                |part| match normalise(&json!(part), &mut self.deployments) {
                    Value::String(s) => s,
                    other => other.to_string(),
                },
            )
            .collect::<Vec<_>>()
            .join("/");
        let body = normalise(&res.body, &mut self.deployments);
        self.entries.push((what, res.status.as_u16(), body));
        res.body
    }

    async fn admin(&mut self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.app.admin(method.clone(), path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let res = self.app.send(request).await;
        self.record(format!("{method} {path} (admin)"), res).await
    }

    async fn data(&mut self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.app.keyed(method.clone(), path, &self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let res = self.app.send(request).await;
        self.record(format!("{method} {path}"), res).await
    }

    async fn get(&mut self, path: &str) -> Value {
        self.data(Method::GET, path, None).await
    }

    async fn post(&mut self, path: &str, body: Value) -> Value {
        self.data(Method::POST, path, Some(body)).await
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn bundle(objects: Vec<Value>) -> Value {
    let names: Vec<Value> = objects.iter().map(|o| o["name"].clone()).collect();
    json!({"manifest": {"version": "1.0.0", "objects": names}, "objects": objects, "seedData": []})
}

fn item() -> Value {
    json!({
        "name": "item",
        "fields": {
            "title": {"type": "text", "required": true},
            "code": {"type": "text", "unique": true, "maxLength": 12},
            "qty": {"type": "number", "scale": 0, "min": 0},
            "price": {"type": "currency"},
            "active": {"type": "boolean"},
            "tags": {"type": "multiselect", "options": [
                {"label": "Red", "value": "red"}, {"label": "Blue", "value": "blue"},
                {"label": "Green", "value": "green"}]},
            "meta": {"type": "json"},
            "due": {"type": "date"},
            "at": {"type": "datetime"},
            "seq": {"type": "autonumber", "autonumberFormat": "IT-{000}"},
            "secret": {"type": "password"},
            "owner": {"type": "lookup", "reference": "person", "deleteBehavior": "restrict"}
        }
    })
}

fn person() -> Value {
    json!({"name": "person", "fields": {"name": {"type": "text", "required": true}}})
}

async fn run_script(app: &TestServer) -> Vec<Entry> {
    let created = app.provision("conf", "pro").await;
    let key = created["credentials"]["apiKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut s = Script {
        app,
        key,
        entries: Vec::new(),
        deployments: Vec::new(),
    };
    let tenant = "/api/v1/tenants/conf";
    s.admin(Method::GET, &format!("{tenant}/provisioning"), None)
        .await;

    // Deploy, then redeploy unchanged, then gates, then changes.
    let deployments = format!("{tenant}/deployments");
    let v1 = bundle(vec![person(), item()]);
    s.admin(Method::POST, &deployments, Some(v1.clone())).await;
    s.admin(Method::POST, &deployments, Some(v1.clone())).await;

    // Records of every kind, with explicit ids so that orders and answers are comparable.
    for (id, name) in [("p1", "Ada"), ("p2", "Grace")] {
        s.post("/api/v1/data/person", json!({"id": id, "name": name}))
            .await;
    }
    let rows = [
        json!({"id": "i1", "title": "Alpha", "code": "A-1", "qty": 5, "price": 9.5, "active": true,
               "tags": ["red", "blue"], "meta": {"k": [1, 2]}, "due": "2026-01-31",
               "at": "2026-01-31T09:30:00+02:00", "secret": "hunter22", "owner": "p1"}),
        json!({"id": "i2", "title": "beta", "code": "B-2", "qty": 0, "price": 0.25, "active": false,
               "tags": ["green"], "due": "2025-12-01", "at": "2026-02-01T00:00:00Z", "owner": "p2"}),
        json!({"id": "i3", "title": "Gamma 100% _x_", "qty": 12, "tags": [], "meta": null}),
        json!({"id": "i4", "title": "école", "code": "É-4", "price": 100, "active": true,
               "tags": ["red"], "owner": "p1"}),
        json!({"id": "i5", "title": "Éclair", "qty": 5, "due": "2026-01-31"}),
    ];
    for row in rows {
        s.post("/api/v1/data/item", row).await;
    }
    // Refusals: validation (paths), unique, unknown reference, NUL, required text.
    s.post(
        "/api/v1/data/item",
        json!({"id": "bad", "title": "x", "qty": -1, "due": "2026-02-30",
        "at": "yesterday", "tags": ["purple"], "code": "way-too-long-code"}),
    )
    .await;
    s.post("/api/v1/data/item", json!({"title": "dup", "code": "A-1"}))
        .await;
    s.post(
        "/api/v1/data/item",
        json!({"title": "ghost", "owner": "nobody"}),
    )
    .await;
    s.post("/api/v1/data/item", json!({"title": "nul\u{0}"}))
        .await;
    s.post("/api/v1/data/item", json!({"qty": 1})).await;

    // Reads: get, every operator, sorts with NULLs, paging, select, count.
    s.get("/api/v1/data/item/i1").await;
    s.get("/api/v1/data/item/nope").await;
    let filters = [
        json!(["qty", "=", 5]),
        json!(["qty", "!=", 5]),
        json!(["qty", ">", 0]),
        json!(["qty", ">=", 5]),
        json!(["price", "<", 10]),
        json!(["price", "<=", 9.5]),
        json!(["title", "in", ["Alpha", "beta", "zeta"]]),
        json!(["title", "nin", ["Alpha"]]),
        json!(["title", "contains", "a"]),
        json!(["title", "contains", "100% _"]),
        json!(["title", "startswith", "É"]),
        json!(["title", "startswith", "é"]),
        json!(["title", "endswith", "a"]),
        json!(["title", "like", "%A%"]),
        json!(["title", "like", "b_ta"]),
        json!(["qty", "between", [1, 10]]),
        json!(["code", "is_null", true]),
        json!(["code", "is_not_null", true]),
        json!(["active", "=", true]),
        json!(["active", "=", false]),
        json!(["tags", "=", "red"]),
        json!(["tags", "in", ["green", "blue"]]),
        json!(["tags", "contains", "red"]),
        json!(["due", ">=", "2026-01-01"]),
        json!(["due", "=", "2026-01-31"]),
        json!(["at", ">", "2026-01-31T07:00:00Z"]),
        json!(["at", "<", "2026-02-01T01:00:00+01:00"]),
        json!(["owner", "=", "p1"]),
        json!([["qty", ">", 1], "or", ["active", "=", false]]),
        json!(["not", ["title", "startswith", "A"]]),
        json!(["created_at", ">", "2000-01-01T00:00:00Z"]),
        json!(["qty", "=", "five"]),
        json!(["nofield", "=", 1]),
    ];
    for filter in filters {
        s.get(&format!(
            "/api/v1/data/item?sort=id&filter={}",
            enc(&filter.to_string())
        ))
        .await;
    }
    for query in [
        "sort=qty,-title",
        "sort=-qty,id",
        "sort=code",
        "sort=-code",
        "sort=price,id&top=2&skip=1",
        "sort=title",
        "sort=-due,id",
        "sort=at,id",
        "top=2&sort=id",
        "top=2&skip=4&sort=id",
        "select=title,qty&sort=id",
        "count=false&sort=id",
        "qty=5&sort=id",
    ] {
        s.get(&format!("/api/v1/data/item?{query}")).await;
    }
    s.post(
        "/api/v1/data/item/query",
        json!({"where": {"$or": [{"qty": {"$gte": 5}}, {"title": {"$startsWith": "b"}}]},
               "orderBy": [{"field": "qty", "order": "desc"}, {"field": "id", "order": "asc"}],
               "fields": ["title", "qty", "tags"], "limit": 3}),
    )
    .await;

    // Updates, deletes and their refusals.
    s.data(
        Method::PATCH,
        "/api/v1/data/item/i3",
        Some(json!({"code": "G-3", "active": true, "meta": {"z": null}})),
    )
    .await;
    s.data(
        Method::PATCH,
        "/api/v1/data/item/i3",
        Some(json!({"code": "B-2"})),
    )
    .await;
    s.data(Method::DELETE, "/api/v1/data/person/p1", None).await;
    s.data(Method::DELETE, "/api/v1/data/item/i5", None).await;
    s.data(Method::DELETE, "/api/v1/data/item/i5", None).await;

    // Batches: atomic failure writes nothing; partial; validate only.
    s.post(
        "/api/v1/data/item/batch",
        json!({"operations": [
            {"action": "create", "data": {"id": "b1", "title": "one"}},
            {"action": "create", "data": {"id": "b2", "title": "two", "code": "A-1"}}],
            "options": {"atomic": true}}),
    )
    .await;
    s.post(
        "/api/v1/data/item/batch",
        json!({"operations": [
            {"action": "create", "data": {"id": "b3", "title": "three"}},
            {"action": "update", "id": "i2", "data": {"qty": 7}},
            {"action": "delete", "id": "nope"},
            {"action": "create", "data": {"id": "b4", "qty": -5}}],
            "options": {"atomic": false, "continueOnError": true, "returnRecords": true}}),
    )
    .await;
    s.post(
        "/api/v1/data/item/createMany",
        json!([{"id": "m1", "title": "many 1"}, {"id": "m2", "title": "many 2", "tags": ["red"]}]),
    )
    .await;
    s.get("/api/v1/data/item?sort=id&select=title,qty,seq")
        .await;

    // Deployment changes: refused drop, data check, acknowledged drop + rename + widen, rollback.
    let mut v2_item = item();
    v2_item["fields"].as_object_mut().unwrap().remove("meta");
    v2_item["fields"]["qty"] = json!({"type": "number", "scale": 2});
    v2_item["fields"]["label"] = json!({"type": "text", "defaultValue": "none"});
    let v2 = bundle(vec![person(), v2_item.clone()]);
    s.admin(Method::POST, &deployments, Some(v2.clone())).await;
    let mut required = item();
    required["fields"]["code"]["required"] = json!(true);
    s.admin(
        Method::POST,
        &deployments,
        Some(bundle(vec![person(), required])),
    )
    .await;
    s.admin(
        Method::POST,
        &deployments,
        Some(json!({"bundle": v2, "options": {"acknowledge": ["field:item.meta"]}})),
    )
    .await;
    s.get("/api/v1/data/item?sort=id&select=title,qty,label")
        .await;
    let mut renamed = v2_item.clone();
    let title = renamed["fields"]
        .as_object_mut()
        .unwrap()
        .remove("title")
        .unwrap();
    renamed["fields"]["name"] = title;
    s.admin(
        Method::POST,
        &deployments,
        Some(json!({"bundle": bundle(vec![person(), renamed]),
                    "options": {"renames": [{"kind": "field", "object": "item", "from": "title", "to": "name"}]}})),
    )
    .await;
    s.get("/api/v1/data/item?sort=id&select=name").await;
    let listed = s.admin(Method::GET, &deployments, None).await;
    let head = listed["data"][0]["id"].as_str().unwrap().to_owned();
    s.admin(
        Method::POST,
        &format!("{deployments}/{head}/rollback"),
        Some(json!({})),
    )
    .await;
    s.get("/api/v1/data/item?sort=id&select=title").await;
    s.admin(Method::GET, &deployments, None).await;

    // Metadata, usage, quota, destroy.
    s.get("/api/v1/meta/object/item").await;
    s.admin(Method::GET, &format!("{tenant}/usage"), None).await;
    for i in 0..8 {
        s.post(
            "/api/v1/data/person",
            json!({"id": format!("q{i}"), "name": "quota"}),
        )
        .await;
    }
    s.admin(
        Method::DELETE,
        &format!("{tenant}?immediate=true&createBackup=false"),
        None,
    )
    .await;
    s.get("/api/v1/data/item").await;
    s.entries
}

async fn server(provider: &str) -> TestServer {
    let provider = provider.to_owned();
    TestApp::new()
        .with(move |o| {
            o.tenant_databases.provider = provider;
            // The same small record quota everywhere, to see it refuse identically.
            let mut pro = o.platform.plans.quota(TenantPlan::Pro).clone();
            pro.max_records_per_object = Some(9);
            o.platform.plans.set(TenantPlan::Pro, pro);
        })
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_answers_the_same_session_identically() {
    let mut transcripts = Vec::new();
    for provider in ["sqlite", "memory", "postgres"] {
        let app = server(provider).await;
        transcripts.push((provider, run_script(&app).await));
    }
    let (_, reference) = &transcripts[0];
    if std::env::var("CONFORMANCE_PRINT").is_ok() {
        for (what, status, body) in reference {
            println!(
                "{status} {what}\n    {}",
                body.to_string().chars().take(300).collect::<String>()
            );
        }
    }
    // The script exercises what it claims: successes and refusals of each kind.
    let statuses: std::collections::BTreeSet<u16> = reference.iter().map(|e| e.1).collect();
    for status in [200, 201, 400, 403, 404, 409] {
        assert!(statuses.contains(&status), "no {status} in {statuses:?}");
    }
    assert!(reference.len() >= 90, "{} exchanges", reference.len());
    for (provider, transcript) in &transcripts[1..] {
        assert_eq!(transcript.len(), reference.len(), "{provider}");
        for (a, b) in reference.iter().zip(transcript) {
            assert_eq!(
                a,
                b,
                "{provider} answers differently from sqlite to {}:\nsqlite:   {} {:#}\n{provider}: {} {:#}",
                a.0,
                a.1,
                a.2,
                b.1,
                b.2
            );
        }
    }
}
