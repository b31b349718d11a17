//! The protocol's object keys over HTTP (issue #14, docs/objects.md): every key is accepted with the
//! protocol's shape and served back by `meta`; stored-only keys are deploy warnings; keys whose
//! meaning objectos does not implement are refused (`unsupported`, with paths); and the enforced
//! ones (`isSystem`, `active`, ...) do what they say.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{Res, TestApp, TestServer};
use serde_json::{json, Value};

fn deployments(id: &str) -> String {
    format!("/api/v1/tenants/{id}/deployments")
}

fn bundle(objects: Vec<Value>) -> Value {
    let names: Vec<Value> = objects.iter().map(|o| o["name"].clone()).collect();
    json!({"manifest": {"version": "1.0.0", "objects": names}, "objects": objects})
}

fn ticket() -> Value {
    json!({
        "name": "ticket",
        "fields": {
            "title": {"type": "text"},
            "code": {"type": "text"},
            "status": {"type": "select", "options": [
                {"label": "Open", "value": "open"}, {"label": "Closed", "value": "closed"}]}
        }
    })
}

fn with(mut object: Value, patch: Value) -> Value {
    for (k, v) in patch.as_object().unwrap() {
        object[k] = v.clone();
    }
    object
}

/// `(code, path)` of every issue of a 422, sorted.
fn issues(res: &Res) -> BTreeSet<(String, String)> {
    res.body["error"]["details"]["issues"]
        .as_array()
        .unwrap_or_else(|| panic!("no issues: {}", res.text))
        .iter()
        .map(|i| {
            (
                i["code"].as_str().unwrap().to_owned(),
                i["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn set(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    pairs
        .iter()
        .map(|(c, p)| ((*c).to_owned(), (*p).to_owned()))
        .collect()
}

async fn tenant(app: &TestServer) -> (String, String) {
    app.active_tenant("acme", "pro").await
}

/// Every stored-only key of the protocol, as a valid object of it would carry them.
fn stored_only_keys() -> Value {
    json!({
        "datasource": "warehouse",
        "tenancy": {"enabled": true, "strategy": "shared"},
        "softDelete": {"enabled": false},
        "versioning": {"enabled": false, "strategy": "snapshot"},
        "partitioning": {"enabled": true, "strategy": "hash", "key": "code"},
        "cdc": {"enabled": true, "events": ["insert"], "destination": "kafka://tickets"},
        "validations": [
            {"name": "remote", "message": "checked elsewhere", "type": "async", "field": "code"},
            {"name": "later", "message": "off", "type": "script", "condition": "x", "active": false}
        ],
        "stateMachines": {"life": {"id": "life", "initial": "open",
                                   "states": {"open": {"on": {"CLOSE": "closed"}}, "closed": {"type": "final"}}}},
        "recordName": {"type": "text"},
        "search": {"fields": ["title"]},
        "sharingModel": "private",
        "keyPrefix": "TK",
        "recordTypes": ["standard"],
        "actions": [{"name": "open_docs", "label": "Docs", "type": "url", "execute": "https://example.com"}],
        "compactLayout": ["title", "status"],
        "isSystem": false,
        "abstract": false,
        "active": true
    })
}

#[tokio::test]
async fn stored_keys_deploy_with_warnings_and_meta_serves_them_back() {
    let app = TestApp::new().start().await;
    let (id, key) = tenant(&app).await;
    let object = with(ticket(), stored_only_keys());
    let res = app
        .admin_post(&deployments(&id), bundle(vec![object.clone()]))
        .await;
    let record = res.assert_success(201).clone();
    let validation = &record["validation"];
    assert_eq!(validation["valid"], true, "{validation:#}");
    let warnings: BTreeSet<String> = validation["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["severity"], "warning", "{i}");
            i["path"].as_str().unwrap().to_owned()
        })
        .collect();
    let expected: BTreeSet<String> = [
        "datasource",
        "tenancy",
        "partitioning",
        "cdc",
        "validations[0].type",
        "validations[1].active",
        "stateMachines",
        "search",
        "sharingModel",
        "keyPrefix",
        "recordTypes",
        "actions",
    ]
    .iter()
    .map(|k| format!("objects[0].{k}"))
    .collect();
    assert_eq!(warnings, expected);
    assert_eq!(validation["warningCount"], expected.len());
    assert_eq!(validation["errorCount"], 0);

    // meta serves the definition as deployed: every key, the action's execute copied to target.
    let res = app.get_with_key("/api/v1/meta/object/ticket", &key).await;
    let item = res.assert_success(200)["item"].clone();
    for (k, v) in stored_only_keys().as_object().unwrap() {
        match v {
            _ if ["actions", "validations", "stateMachines"].contains(&k.as_str()) => {}
            // Given members as given; the protocol's defaults filled in beside them.
            Value::Object(members) => {
                for (m, given) in members {
                    assert_eq!(&item[k][m], given, "{k}.{m}: {item:#}");
                }
            }
            _ => assert_eq!(&item[k], v, "{k}: {item:#}"),
        }
    }
    assert_eq!(item["tenancy"]["tenantField"], "tenant_id");
    assert_eq!(item["softDelete"]["field"], "deleted_at");
    assert_eq!(item["versioning"]["versionField"], "version");
    assert_eq!(
        item["stateMachines"]["life"]["states"]["open"]["type"],
        "atomic"
    );
    assert_eq!(
        item["stateMachines"]["life"]["states"]["closed"]["type"],
        "final"
    );
    assert_eq!(item["actions"][0]["target"], "https://example.com");
    assert_eq!(item["actions"][0]["refreshAfter"], false);
    assert_eq!(item["validations"][0]["method"], "GET");
    assert_eq!(item["validations"][1]["active"], false);

    // The data API serves it as usual.
    app.post_with_key("/api/v1/data/ticket", &key, json!({"title": "a"}))
        .await
        .assert_success(201);
}

#[tokio::test]
async fn keys_objectos_does_not_implement_are_refused_with_their_paths() {
    let app = TestApp::new().start().await;
    let (id, _) = tenant(&app).await;
    let object = with(
        ticket(),
        json!({
            "softDelete": {"enabled": true},
            "versioning": {"enabled": true, "strategy": "delta"},
            "validations": [
                {"name": "no_neg", "message": "m", "type": "script", "condition": "amount < 0"},
                {"name": "dates", "message": "m", "type": "cross_field", "condition": "a > b", "fields": ["title"]},
                {"name": "js", "message": "m", "type": "json_schema", "field": "title", "schema": {}},
                {"name": "cond", "message": "m", "type": "conditional", "when": "x",
                 "then": {"name": "inner", "message": "m", "type": "custom", "handler": "h"}}
            ]
        }),
    );
    let res = app
        .admin_post(&deployments(&id), bundle(vec![object]))
        .await;
    res.assert_error(422, "validation_error");
    assert_eq!(
        issues(&res),
        set(&[
            ("unsupported", "objects[0].softDelete.enabled"),
            ("unsupported", "objects[0].versioning.enabled"),
            ("unsupported", "objects[0].validations[0].type"),
            ("unsupported", "objects[0].validations[1].type"),
            ("unsupported", "objects[0].validations[2].type"),
            ("unsupported", "objects[0].validations[3].type"),
        ])
    );
    // The plan endpoint refuses it the same way, and nothing was deployed.
    let res = app
        .admin_post(
            &format!("{}/plan", deployments(&id)),
            bundle(vec![with(
                ticket(),
                json!({"softDelete": {"enabled": true}}),
            )]),
        )
        .await;
    res.assert_error(422, "validation_error");
    assert_eq!(
        issues(&res),
        set(&[("unsupported", "objects[0].softDelete.enabled")])
    );
    assert!(!app.tables(&id).await.contains("ticket"));
}

#[tokio::test]
async fn wrong_shapes_are_refused_as_the_protocol_refuses_them() {
    let app = TestApp::new().start().await;
    let (id, _) = tenant(&app).await;
    let object = with(
        ticket(),
        json!({
            "namespace": "CRM",
            "tenancy": {"enabled": true, "strategy": "pooled"},
            "partitioning": {"enabled": true, "strategy": "range", "key": "code"},
            "validations": [{"name": "r", "message": "m", "type": "regex"}],
            "sharingModel": "public",
            "keyPrefix": "TOOLONG",
            "actions": [{"name": "go", "label": "Go", "type": "url"}],
            "recordName": {"type": "autonumber", "startNumber": 1.5},
            "stateMachines": {"m": {"id": "mm", "initial": "a", "states": {"a": {"type": "weird"}}}},
            "tableName": "Crm Ticket",
            "cdc": {"enabled": true, "events": ["upsert"], "destination": "x", "extra": 1}
        }),
    );
    let res = app
        .admin_post(&deployments(&id), bundle(vec![object]))
        .await;
    res.assert_error(422, "validation_error");
    assert_eq!(
        issues(&res),
        set(&[
            ("invalid_string", "objects[0].namespace"),
            ("invalid_enum_value", "objects[0].tenancy.strategy"),
            (
                "invalid_union_discriminator",
                "objects[0].validations[0].type"
            ),
            ("invalid_enum_value", "objects[0].sharingModel"),
            ("too_big", "objects[0].keyPrefix"),
            ("invalid_type", "objects[0].recordName.startNumber"),
            (
                "invalid_enum_value",
                "objects[0].stateMachines.m.states.a.type"
            ),
            ("invalid_enum_value", "objects[0].cdc.events[0]"),
            ("unrecognized_keys", "objects[0].cdc"),
            // Not a usable table name, whatever else is wrong.
            ("custom", "objects[0].tableName"),
        ])
    );
    // Once the shape is right, the refinements of the Zod schema and objectos' table rule apply.
    let object = with(
        ticket(),
        json!({
            "partitioning": {"enabled": true, "strategy": "range", "key": "code"},
            "actions": [{"name": "go", "label": "Go", "type": "url"}],
            "tableName": "Crm Ticket"
        }),
    );
    let res = app
        .admin_post(&deployments(&id), bundle(vec![object]))
        .await;
    res.assert_error(422, "validation_error");
    assert_eq!(
        issues(&res),
        set(&[
            ("custom", "objects[0].partitioning"),
            ("custom", "objects[0].actions[0].target"),
            ("custom", "objects[0].tableName"),
        ])
    );
    // Each reported once.
    assert_eq!(res.issue_paths().len(), 3, "{}", res.text);
}

#[tokio::test]
async fn a_system_object_cannot_be_dropped_until_it_is_no_longer_one() {
    let app = TestApp::new().start().await;
    let (id, _) = tenant(&app).await;
    let other = json!({"name": "note", "fields": {"body": {"type": "text"}}});
    let system = with(ticket(), json!({"isSystem": true}));
    app.admin_post(
        &deployments(&id),
        bundle(vec![system.clone(), other.clone()]),
    )
    .await
    .assert_success(201);

    // Dropping it is refused, acknowledged or not, and on the plan endpoint too.
    for body in [
        bundle(vec![other.clone()]),
        json!({"bundle": bundle(vec![other.clone()]), "options": {"acknowledge": ["object:ticket"]}}),
    ] {
        let res = app.admin_post(&deployments(&id), body.clone()).await;
        let error = res.assert_error(409, "system_object_protected");
        assert_eq!(error["details"]["objects"], json!(["ticket"]), "{error:#}");
        app.admin_post(&format!("{}/plan", deployments(&id)), body)
            .await
            .assert_error(409, "system_object_protected");
    }
    assert!(app.tables(&id).await.contains("ticket"));

    // Once deployed with isSystem false, it drops like any object (acknowledged).
    app.admin_post(&deployments(&id), bundle(vec![ticket(), other.clone()]))
        .await
        .assert_success(201);
    app.admin_post(
        &deployments(&id),
        json!({"bundle": bundle(vec![other]), "options": {"acknowledge": ["object:ticket"]}}),
    )
    .await
    .assert_success(201);
    assert!(!app.tables(&id).await.contains("ticket"));
}

#[tokio::test]
async fn an_inactive_object_is_not_served_until_it_is_active_again() {
    let app = TestApp::new().start().await;
    let (id, key) = tenant(&app).await;
    app.admin_post(&deployments(&id), bundle(vec![ticket()]))
        .await
        .assert_success(201);
    let created = app
        .post_with_key("/api/v1/data/ticket", &key, json!({"title": "kept"}))
        .await;
    let record_id = created.assert_success(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();

    app.admin_post(
        &deployments(&id),
        bundle(vec![with(ticket(), json!({"active": false}))]),
    )
    .await
    .assert_success(201);
    for res in [
        app.get_with_key("/api/v1/data/ticket", &key).await,
        app.get_with_key(&format!("/api/v1/data/ticket/{record_id}"), &key)
            .await,
        app.post_with_key("/api/v1/data/ticket", &key, json!({"title": "no"}))
            .await,
        app.post_with_key("/api/v1/data/ticket/query", &key, json!({}))
            .await,
        app.delete_with_key(&format!("/api/v1/data/ticket/{record_id}"), &key)
            .await,
    ] {
        let error = res.assert_error(404, "object_not_served");
        assert_eq!(error["details"]["object"], "ticket", "{error:#}");
        assert_eq!(error["category"], "not_found");
    }
    // Its metadata is still served, and its rows are kept.
    let res = app.get_with_key("/api/v1/meta/object/ticket", &key).await;
    assert_eq!(res.assert_success(200)["item"]["active"], false);
    assert_eq!(app.count_rows(&id, "ticket").await, 1);

    app.admin_post(&deployments(&id), bundle(vec![ticket()]))
        .await
        .assert_success(201);
    let res = app
        .get_with_key(&format!("/api/v1/data/ticket/{record_id}"), &key)
        .await;
    assert_eq!(res.assert_success(200)["record"]["title"], "kept");
}

#[tokio::test]
async fn a_unique_rule_is_a_composite_unique_index() {
    let app = TestApp::new().start().await;
    let (id, key) = tenant(&app).await;
    let rule = json!({"name": "one_code_per_title", "message": "this code is taken for this title",
                      "type": "unique", "fields": ["title", "code"]});
    let object = with(ticket(), json!({"validations": [rule]}));
    app.admin_post(&deployments(&id), bundle(vec![object.clone()]))
        .await
        .assert_success(201);

    let post = |body: Value| app.post_with_key("/api/v1/data/ticket", &key, body);
    post(json!({"title": "a", "code": "1"}))
        .await
        .assert_success(201);
    let other = post(json!({"title": "a", "code": "2"})).await;
    let other_id = other.assert_success(201)["id"].as_str().unwrap().to_owned();
    post(json!({"title": "b", "code": "1"}))
        .await
        .assert_success(201);
    // The same pair again: refused with the rule's message, naming both fields.
    let res = post(json!({"title": "a", "code": "1"})).await;
    let error = res.assert_error(409, "duplicate_value");
    assert_eq!(
        error["details"]["fields"],
        json!(["title", "code"]),
        "{error:#}"
    );
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("this code is taken for this title")
            && message.contains("one_code_per_title"),
        "{message}"
    );
    // An update into the same pair too.
    let res = app
        .send(
            app.keyed(
                reqwest::Method::PATCH,
                &format!("/api/v1/data/ticket/{other_id}"),
                &key,
            )
            .json(&json!({"code": "1"})),
        )
        .await;
    res.assert_error(409, "duplicate_value");
    assert_eq!(app.count_rows(&id, "ticket").await, 3);

    // Refused shapes of the rule: an unknown field, and options objectos does not enforce.
    let bad = with(
        ticket(),
        json!({"validations": [
            {"name": "u1", "message": "m", "type": "unique", "fields": ["title", "nope"]},
            {"name": "u2", "message": "m", "type": "unique", "fields": ["title"], "caseSensitive": false},
            {"name": "u3", "message": "m", "type": "unique", "fields": ["title"], "scope": "active = true"},
            {"name": "u4", "message": "m", "type": "unique", "fields": ["title"], "severity": "warning", "events": ["insert"]}
        ]}),
    );
    let res = app.admin_post(&deployments(&id), bundle(vec![bad])).await;
    res.assert_error(422, "validation_error");
    assert_eq!(
        issues(&res),
        set(&[
            ("custom", "objects[0].validations[0].fields[1]"),
            ("unsupported", "objects[0].validations[1].caseSensitive"),
            ("unsupported", "objects[0].validations[2].scope"),
            ("unsupported", "objects[0].validations[3].severity"),
            ("unsupported", "objects[0].validations[3].events"),
        ])
    );

    // Adding the rule over rows that break it is refused with the count (a data check).
    let fresh = with(ticket(), json!({"name": "note"}));
    app.admin_post(
        &deployments(&id),
        bundle(vec![object.clone(), fresh.clone()]),
    )
    .await
    .assert_success(201);
    for _ in 0..2 {
        app.post_with_key(
            "/api/v1/data/note",
            &key,
            json!({"title": "x", "code": "y"}),
        )
        .await
        .assert_success(201);
    }
    let unique_note = with(
        fresh,
        json!({"validations": [
        {"name": "u", "message": "m", "type": "unique", "fields": ["title", "code"]}]}),
    );
    app.admin_post(&deployments(&id), bundle(vec![object, unique_note]))
        .await
        .assert_error(409, "data_check_failed");
}

/// `(code, path)` of a 400 `validation_error` of the data API.
fn data_issues(res: &Res) -> BTreeSet<(String, String)> {
    res.assert_error(400, "validation_error");
    issues(res)
}

#[tokio::test]
async fn format_and_state_machine_rules_are_enforced_on_writes() {
    let app = TestApp::new().start().await;
    let (id, key) = tenant(&app).await;
    let object = with(
        ticket(),
        json!({
            "fields": {
                "title": {"type": "text"},
                "code": {"type": "text"},
                "contact": {"type": "text"},
                "status": {"type": "select", "options": [
                    {"label": "Open", "value": "open"}, {"label": "Doing", "value": "doing"},
                    {"label": "Closed", "value": "closed"}]}
            },
            "validations": [
                {"name": "code_shape", "message": "codes look like AB-123", "type": "format",
                 "field": "code", "regex": "^[A-Z]{2}-[0-9]+$"},
                {"name": "contact_email", "message": "contact must be an email", "type": "format",
                 "field": "contact", "format": "email"},
                {"name": "flow", "message": "status cannot move that way", "type": "state_machine",
                 "field": "status", "transitions": {"open": ["doing", "closed"], "doing": ["closed"], "closed": []}},
                {"name": "off", "message": "inactive", "type": "format", "field": "title",
                 "regex": "^never$", "active": false}
            ]
        }),
    );
    app.admin_post(&deployments(&id), bundle(vec![object.clone()]))
        .await
        .assert_success(201);
    let post = |body: Value| app.post_with_key("/api/v1/data/ticket", &key, body);
    let patch = |rid: String, body: Value| {
        app.send(
            app.keyed(
                reqwest::Method::PATCH,
                &format!("/api/v1/data/ticket/{rid}"),
                &key,
            )
            .json(&body),
        )
    };

    // format: regex and named format, each failure at its field, with the rule's message.
    let res = post(json!({"title": "t", "code": "ab-1", "contact": "nobody"})).await;
    assert_eq!(
        data_issues(&res),
        set(&[("custom", "code"), ("custom", "contact")])
    );
    assert!(
        res.text.contains("codes look like AB-123")
            && res.text.contains("contact must be an email"),
        "{}",
        res.text
    );
    let created =
        post(json!({"title": "t", "code": "AB-1", "contact": "a@example.com", "status": "open"}))
            .await;
    let rid = created.assert_success(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        data_issues(&patch(rid.clone(), json!({"code": "nope"})).await),
        set(&[("custom", "code")])
    );

    // state_machine: allowed transitions pass, others are refused; unchanged values pass.
    patch(rid.clone(), json!({"status": "doing"}))
        .await
        .assert_success(200);
    let res = patch(rid.clone(), json!({"status": "open"})).await;
    assert_eq!(data_issues(&res), set(&[("custom", "status")]));
    assert!(
        res.text.contains("'doing' may not become 'open'"),
        "{}",
        res.text
    );
    patch(
        rid.clone(),
        json!({"status": "doing", "title": "same state"}),
    )
    .await
    .assert_success(200);
    patch(rid.clone(), json!({"status": "closed"}))
        .await
        .assert_success(200);
    assert_eq!(
        data_issues(&patch(rid.clone(), json!({"status": "doing"})).await),
        set(&[("custom", "status")])
    );
    let res = app
        .get_with_key(&format!("/api/v1/data/ticket/{rid}"), &key)
        .await;
    assert_eq!(res.assert_success(200)["record"]["status"], "closed");

    // Seed data goes through the format rules too.
    let mut seeded = bundle(vec![object.clone()]);
    seeded["seedData"] = json!([{"object": "ticket", "externalId": "title", "records": [
        {"title": "s1", "code": "XY-9"}, {"title": "s2", "code": "bad"}]}]);
    let res = app.admin_post(&deployments(&id), seeded).await;
    res.assert_error(422, "validation_error");
    assert_eq!(
        issues(&res),
        set(&[("custom", "seedData[0].records[1].code")])
    );

    // Deploy-time refusals: unknown fields, a regex that does not compile or is too long, a
    // format rule that checks nothing.
    let bad = with(
        ticket(),
        json!({"validations": [
            {"name": "f1", "message": "m", "type": "format", "field": "nope", "format": "url"},
            {"name": "f2", "message": "m", "type": "format", "field": "code", "regex": "(unclosed"},
            {"name": "f3", "message": "m", "type": "format", "field": "code", "regex": "a".repeat(1001)},
            {"name": "f4", "message": "m", "type": "format", "field": "code"},
            {"name": "s1", "message": "m", "type": "state_machine", "field": "nope", "transitions": {}}
        ]}),
    );
    let res = app.admin_post(&deployments(&id), bundle(vec![bad])).await;
    res.assert_error(422, "validation_error");
    assert_eq!(
        issues(&res),
        set(&[
            ("custom", "objects[0].validations[0].field"),
            ("custom", "objects[0].validations[1].regex"),
            ("custom", "objects[0].validations[2].regex"),
            ("unsupported", "objects[0].validations[3]"),
            ("custom", "objects[0].validations[4].field"),
        ])
    );
}

#[tokio::test]
async fn namespace_and_table_name_choose_the_table_and_the_api_keeps_the_name() {
    let app = TestApp::new().start().await;
    let (id, key) = tenant(&app).await;
    let note = json!({"name": "note", "fields": {"body": {"type": "text"},
                      "ticket": {"type": "lookup", "reference": "ticket"}}});
    let namespaced = with(ticket(), json!({"namespace": "crm"}));
    let res = app
        .admin_post(
            &deployments(&id),
            bundle(vec![namespaced.clone(), note.clone()]),
        )
        .await;
    let record = res.assert_success(201).clone();
    assert_eq!(record["validation"]["warningCount"], 0, "{record:#}");
    let tables = app.tables(&id).await;
    assert!(
        tables.contains("crm_ticket") && !tables.contains("ticket"),
        "{tables:?}"
    );

    // The data API addresses the object by name; lookups resolve through the physical table.
    let created = app
        .post_with_key("/api/v1/data/ticket", &key, json!({"title": "t1"}))
        .await;
    let tid = created.assert_success(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post_with_key(
        "/api/v1/data/note",
        &key,
        json!({"body": "b", "ticket": tid}),
    )
    .await
    .assert_success(201);
    let res = app
        .post_with_key(
            "/api/v1/data/ticket/query",
            &key,
            json!({"where": {"title": "t1"}}),
        )
        .await;
    assert_eq!(
        res.assert_success(200)["records"].as_array().unwrap().len(),
        1
    );
    assert_eq!(app.count_rows(&id, "crm_ticket").await, 1);

    // An explicit tableName wins; changing it renames the table and keeps the rows.
    let named = with(
        ticket(),
        json!({"namespace": "crm", "tableName": "support_tickets"}),
    );
    let res = app
        .admin_post(&deployments(&id), bundle(vec![named.clone(), note.clone()]))
        .await;
    res.assert_success(201);
    let tables = app.tables(&id).await;
    assert!(
        tables.contains("support_tickets") && !tables.contains("crm_ticket"),
        "{tables:?}"
    );
    assert_eq!(app.count_rows(&id, "support_tickets").await, 1);
    let res = app
        .get_with_key(&format!("/api/v1/data/ticket/{tid}"), &key)
        .await;
    assert_eq!(res.assert_success(200)["record"]["title"], "t1");
    // Re-applying is no change; adding a field alters the table by its physical name.
    let res = app
        .admin_post(&deployments(&id), bundle(vec![named.clone(), note.clone()]))
        .await;
    assert_eq!(res.assert_success(200)["noChanges"], true);
    let mut wider = named.clone();
    wider["fields"]["priority"] = json!({"type": "number"});
    app.admin_post(&deployments(&id), bundle(vec![wider, note.clone()]))
        .await
        .assert_success(201);
    assert!(app
        .columns(&id, "support_tickets")
        .await
        .contains(&"priority".to_owned()));

    // Two objects may not share a table.
    let clash = json!({"name": "other", "tableName": "support_tickets", "fields": {}});
    let res = app
        .admin_post(&deployments(&id), bundle(vec![named, note, clash]))
        .await;
    res.assert_error(422, "validation_error");
    assert_eq!(issues(&res), set(&[("custom", "objects[2].tableName")]));
}

#[tokio::test]
async fn an_abstract_object_has_no_table_and_is_not_served() {
    let app = TestApp::new().start().await;
    let (id, key) = tenant(&app).await;
    let base = with(ticket(), json!({"name": "base_item", "abstract": true}));
    let res = app
        .admin_post(&deployments(&id), bundle(vec![base.clone(), ticket()]))
        .await;
    res.assert_success(201);
    let tables = app.tables(&id).await;
    assert!(
        !tables.contains("base_item") && tables.contains("ticket"),
        "{tables:?}"
    );
    let res = app
        .get_with_key("/api/v1/meta/object/base_item", &key)
        .await;
    assert_eq!(res.assert_success(200)["item"]["abstract"], true);
    let res = app.get_with_key("/api/v1/data/base_item", &key).await;
    let error = res.assert_error(404, "object_not_served");
    assert!(
        error["message"].as_str().unwrap().contains("abstract"),
        "{error:#}"
    );

    // Nothing may reference or seed it.
    let pointing =
        json!({"name": "note", "fields": {"item": {"type": "lookup", "reference": "base_item"}}});
    let mut seeded = bundle(vec![base.clone(), ticket(), pointing]);
    seeded["seedData"] =
        json!([{"object": "base_item", "externalId": "title", "records": [{"title": "x"}]}]);
    let res = app.admin_post(&deployments(&id), seeded).await;
    res.assert_error(422, "validation_error");
    assert_eq!(
        issues(&res),
        set(&[
            ("custom", "objects[2].fields.item.reference"),
            ("custom", "seedData[0].object"),
        ])
    );

    // Made concrete, it gets its table and is served.
    let concrete = with(base.clone(), json!({"abstract": false}));
    app.admin_post(&deployments(&id), bundle(vec![concrete.clone(), ticket()]))
        .await
        .assert_success(201);
    assert!(app.tables(&id).await.contains("base_item"));
    app.post_with_key("/api/v1/data/base_item", &key, json!({"title": "x"}))
        .await
        .assert_success(201);
    // Made abstract again, its table is dropped: destructive, so it needs acknowledging.
    let res = app
        .admin_post(&deployments(&id), bundle(vec![base.clone(), ticket()]))
        .await;
    let error = res.assert_error(409, "destructive_changes_unacknowledged");
    assert_eq!(
        error["details"]["requiresAck"],
        json!(["object:base_item"]),
        "{error:#}"
    );
    app.admin_post(
        &deployments(&id),
        json!({"bundle": bundle(vec![base, ticket()]), "options": {"acknowledge": ["object:base_item"]}}),
    )
    .await
    .assert_success(201);
    assert!(!app.tables(&id).await.contains("base_item"));
}

#[tokio::test]
async fn an_autonumber_record_name_numbers_records_with_its_display_format() {
    let app = TestApp::new().start().await;
    let (id, key) = tenant(&app).await;
    // No `name` field: objectos adds it, read-only, formatted, starting at startNumber.
    let object = with(
        ticket(),
        json!({"recordName": {"type": "autonumber", "displayFormat": "CASE-{0000}", "startNumber": 7}}),
    );
    let res = app
        .admin_post(&deployments(&id), bundle(vec![object.clone()]))
        .await;
    res.assert_success(201);
    let item = app.get_with_key("/api/v1/meta/object/ticket", &key).await;
    let field = &item.assert_success(200)["item"]["fields"]["name"];
    assert_eq!(field["type"], "autonumber", "{field:#}");
    assert_eq!(field["autonumberFormat"], "CASE-{0000}");
    let mut names = Vec::new();
    for title in ["a", "b"] {
        let res = app
            .post_with_key("/api/v1/data/ticket", &key, json!({"title": title}))
            .await;
        names.push(res.assert_success(201)["record"]["name"].clone());
    }
    assert_eq!(names, vec![json!("CASE-0007"), json!("CASE-0008")]);
    // Re-applying the bundle changes nothing (the added field is part of the deployed model).
    let res = app
        .admin_post(&deployments(&id), bundle(vec![object]))
        .await;
    assert_eq!(res.assert_success(200)["noChanges"], true, "{}", res.text);

    // A text record-name field cannot hold an autonumber name; date tokens are not supported.
    let bad = with(
        ticket(),
        json!({"displayNameField": "title",
               "recordName": {"type": "autonumber", "displayFormat": "INV-{YYYY}-{0000}"}}),
    );
    let res = app.admin_post(&deployments(&id), bundle(vec![bad])).await;
    res.assert_error(422, "validation_error");
    assert_eq!(
        issues(&res),
        set(&[
            ("unsupported", "objects[0].recordName.type"),
            ("unsupported", "objects[0].recordName.displayFormat"),
        ])
    );
}
