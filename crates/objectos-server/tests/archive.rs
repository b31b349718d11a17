//! Portable tenant archives (`objectos-archive/1`), end to end over HTTP with real servers and
//! real databases: a round trip SQLite → PostgreSQL → SQLite (providers chosen here, whatever
//! `OBJECTOS_TEST_TENANT_PROVIDER` says), and every refusal of export and restore (on the suite's
//! provider).

// A test: a failed expectation is a test failure, reported by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{archive_content_hash, assert_archive, TestApp, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

fn crm() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/crm.bundle.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("crm bundle")).unwrap()
}

/// An object with every kind of stored value the CRM lacks: passwords, autonumbers (formatted
/// and plain), multiselect, JSON, location, toggles, half ratings, whole numbers, dates,
/// instants and a lookup into the CRM.
fn gadget() -> Value {
    json!({
        "name": "gadget",
        "fields": {
            "code": {"type": "text", "required": true, "unique": true},
            "secret": {"type": "password"},
            "seq": {"type": "autonumber", "autonumberFormat": "G-{000}"},
            "plain_seq": {"type": "autonumber"},
            "qty": {"type": "number", "scale": 0},
            "price": {"type": "currency"},
            "flag": {"type": "boolean"},
            "on": {"type": "toggle"},
            "stars": {"type": "rating", "allowHalf": true},
            "tags": {"type": "multiselect", "options": [
                {"label": "A", "value": "aa"}, {"label": "B", "value": "bb"}, {"label": "C", "value": "cc"}]},
            "meta": {"type": "json"},
            "place": {"type": "location"},
            "day": {"type": "date"},
            "at": {"type": "datetime"},
            "account": {"type": "lookup", "reference": "account"},
            "note": {"type": "text", "defaultValue": "none"}
        }
    })
}

/// The CRM plus `gadget` (and `extra` fields on gadget), with the CRM's seed data.
fn crm_plus(extra: Option<(&str, Value)>) -> Value {
    let mut bundle = crm();
    let mut gadget = gadget();
    if let Some((key, field)) = extra {
        gadget["fields"][key] = field;
    }
    bundle["objects"].as_array_mut().unwrap().push(gadget);
    bundle["manifest"]["objects"]
        .as_array_mut()
        .unwrap()
        .push(json!("gadget"));
    bundle
}

async fn server(provider: &str) -> TestServer {
    let provider = provider.to_owned();
    TestApp::new()
        .with(move |o| o.tenant_databases.provider = provider)
        .start()
        .await
}

async fn deploy(app: &TestServer, id: &str, bundle: Value) -> Value {
    let res = app
        .admin_post(&format!("/api/v1/tenants/{id}/deployments"), bundle)
        .await;
    res.assert_success(201).clone()
}

async fn create(app: &TestServer, key: &str, object: &str, record: Value) -> Value {
    let res = app
        .post_with_key(&format!("/api/v1/data/{object}"), key, record)
        .await;
    res.assert_success(201).clone()
}

/// Writes records covering booleans, dates, instants, JSON, multiselect, passwords,
/// autonumbers, lookups and NULLs.
async fn write_records(app: &TestServer, key: &str) {
    create(
        app,
        key,
        "contact",
        json!({"first_name": "Alan", "last_name": "Turing", "email": "alan@example.com",
               "birthdate": "1912-06-23", "do_not_call": false, "account": "acc_globex"}),
    )
    .await;
    create(
        app,
        key,
        "contact",
        json!({"last_name": "Nobody", "birthdate": null, "do_not_call": null}),
    )
    .await;
    create(
        app,
        key,
        "activity",
        json!({"subject": "Kick-off", "kind": "meeting", "due_at": "2026-03-01T09:30:00.250Z",
               "completed": true, "account": "acc_acme", "notes": "línea ünïcode ✓"}),
    )
    .await;
    create(
        app,
        key,
        "gadget",
        json!({"code": "g1", "secret": "s3cret-one", "qty": 3, "price": 19.99, "flag": true,
               "on": false, "stars": 3.5, "tags": ["aa", "cc"],
               "meta": {"nested": {"list": [1, 2.5, "x", null, true]}, "empty": {}},
               "place": {"lat": 52.52, "lng": 13.405},
               "day": "2026-02-28", "at": "2026-02-28T23:59:59.999Z", "account": "acc_acme"}),
    )
    .await;
    create(
        app,
        key,
        "gadget",
        json!({"code": "g2", "tags": [], "meta": [1, "two"]}),
    )
    .await;
    create(
        app,
        key,
        "gadget",
        json!({"code": "g3", "secret": "another-one", "flag": false, "meta": "just text",
               "qty": -7, "price": 0.1}),
    )
    .await;
}

/// The objects of the deployed model.
const OBJECTS: [&str; 8] = [
    "account",
    "contact",
    "lead",
    "product",
    "opportunity",
    "opportunity_line",
    "activity",
    "gadget",
];

/// Every list response (all rows, by id) without the envelope's `meta`, per object.
async fn lists(app: &TestServer, key: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for object in OBJECTS {
        let res = app
            .get_with_key(&format!("/api/v1/data/{object}?sort=id&limit=1000"), key)
            .await;
        res.assert_success(200);
        let mut body = res.body.clone();
        body.as_object_mut().unwrap().remove("meta");
        out.push(json!({"object": object, "response": body}));
    }
    out
}

async fn deployments(app: &TestServer, id: &str) -> Value {
    let res = app
        .admin_get(&format!("/api/v1/tenants/{id}/deployments"))
        .await;
    res.assert_success(200).clone()
}

async fn export(app: &TestServer, id: &str) -> Value {
    let res = app
        .admin_get(&format!("/api/v1/tenants/{id}/archive"))
        .await;
    res.assert_status(200);
    assert!(res.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert!(res.headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains(".archive.json"));
    assert_archive(&res.body, id);
    res.body
}

/// Restores, expecting 201; returns `(tenant id, API key, body)`.
async fn restore(app: &TestServer, body: Value) -> (String, String, Value) {
    let res = app.admin_post("/api/v1/tenants/restore", body).await;
    res.assert_success(201);
    assert_eq!(res.body["data"]["status"], "active", "{}", res.text);
    assert_eq!(res.body["meta"]["created"], true);
    (
        res.body["data"]["tenantId"].as_str().unwrap().to_owned(),
        res.body["credentials"]["apiKey"]
            .as_str()
            .unwrap()
            .to_owned(),
        res.body.clone(),
    )
}

async fn stored_passwords(app: &TestServer, id: &str) -> Vec<Option<String>> {
    app.sql(id, "SELECT secret FROM gadget ORDER BY code")
        .await
        .into_iter()
        .map(|row| row[0].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn sqlite_to_postgres_to_sqlite_round_trip() {
    // A: SQLite, the CRM (with its seed data), then gadgets, then records of every kind.
    let a = server("sqlite").await;
    let (id, key_a) = a.active_tenant("acme", "pro").await;
    deploy(&a, &id, crm()).await;
    deploy(&a, &id, crm_plus(None)).await;
    write_records(&a, &key_a).await;
    let lists_a = lists(&a, &key_a).await;
    let deployments_a = deployments(&a, &id).await;
    let passwords_a = stored_passwords(&a, &id).await;

    let started = std::time::Instant::now();
    let archive_a = export(&a, &id).await;
    let export_ms = started.elapsed().as_millis();
    assert_eq!(archive_a["source"]["provider"], "sqlite");
    assert_eq!(archive_a["source"]["dialect"], "sqlite");
    assert_eq!(archive_a["ledger"].as_array().unwrap().len(), 2);
    assert_eq!(archive_a["counts"]["gadget"], 3);
    assert_eq!(archive_a["counts"]["contact"], 5, "3 seeded + 2 written");
    // Logical values: booleans as booleans, JSON as JSON, raw autonumbers, stored hashes.
    let g1 = &archive_a["objects"]["gadget"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "g1")
        .unwrap()
        .clone();
    assert_eq!(g1["flag"], true);
    assert_eq!(g1["on"], false);
    assert_eq!(g1["tags"], json!(["aa", "cc"]));
    assert_eq!(
        g1["meta"]["nested"]["list"],
        json!([1, 2.5, "x", null, true])
    );
    assert_eq!(g1["seq"], 1, "autonumbers are archived as raw integers");
    assert!(g1["secret"].as_str().unwrap().starts_with("$argon2"));
    assert_eq!(g1["day"], "2026-02-28");
    assert_eq!(g1["at"], "2026-02-28T23:59:59.999Z");
    let ids: Vec<&str> = archive_a["objects"]["account"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "rows are ordered by id");
    let archive_bytes = archive_a.to_string().len();

    // B: PostgreSQL. The restore keeps the org, hence the tenant id.
    let b = server("postgres").await;
    let started = std::time::Instant::now();
    let (id_b, key_b, restored) = restore(&b, json!({"archive": archive_a})).await;
    let restore_ms = started.elapsed().as_millis();
    assert_eq!(id_b, id);
    assert_eq!(
        restored["meta"]["restoredFrom"]["contentHash"],
        archive_a["contentHash"]
    );
    assert_eq!(b.provider(), "postgres");
    assert_eq!(
        lists(&b, &key_b).await,
        lists_a,
        "the data API answers the same"
    );
    assert_eq!(deployments(&b, &id).await, deployments_a);
    let passwords_b = stored_passwords(&b, &id).await;
    assert_eq!(
        passwords_b, passwords_a,
        "password hashes are kept as stored"
    );
    let g1_hash = passwords_b[0].clone().unwrap();
    assert!(objectos_core::data::write::verify_password(
        "s3cret-one",
        &g1_hash
    ));

    // Exported again from PostgreSQL: the same content, so the same hash.
    let archive_b = export(&b, &id).await;
    assert_eq!(archive_b["source"]["provider"], "postgres");
    assert_eq!(archive_b["source"]["dialect"], "postgresql");
    assert_eq!(archive_b["contentHash"], archive_a["contentHash"]);
    assert_eq!(archive_b["counts"], archive_a["counts"]);
    assert_eq!(archive_b["objects"], archive_a["objects"]);

    // C: SQLite again, from B's archive, under another org.
    let c = server("sqlite").await;
    let (id_c, key_c, _) = restore(&c, json!({"archive": archive_b, "orgId": "acme-two"})).await;
    assert_eq!(id_c, "acme-two");
    assert_eq!(lists(&c, &key_c).await, lists_a);
    assert_eq!(
        deployments(&c, &id_c).await,
        deployments_a,
        "the ledger is restored as it was"
    );
    assert_eq!(stored_passwords(&c, &id_c).await, passwords_a);
    let archive_c = export(&c, &id_c).await;
    assert_eq!(archive_c["contentHash"], archive_a["contentHash"]);
    assert_eq!(archive_c["tenant"]["orgId"], "acme-two");

    // The ledger chain continues on B and C: a further deployment (a new field) works.
    for (app, tenant, key) in [(&b, id.as_str(), &key_b), (&c, id_c.as_str(), &key_c)] {
        let head = deployments(app, tenant).await[0]["id"].clone();
        let next = deploy(
            app,
            tenant,
            crm_plus(Some(("color", json!({"type": "text"})))),
        )
        .await;
        assert_eq!(next["status"], "ready", "{next:#}");
        assert_eq!(next["seq"], 3);
        assert_eq!(next["parentId"], head);
        // Autonumbers go on from the restored maximum.
        let g4 = create(app, key, "gadget", json!({"code": "g4", "color": "red"})).await;
        assert_eq!(g4["record"]["seq"], "G-004", "{g4:#}");
        assert_eq!(g4["record"]["plain_seq"], 4);
    }
    eprintln!(
        "archive of {} rows: {archive_bytes} bytes; export {export_ms} ms (sqlite), restore {restore_ms} ms (postgres)",
        archive_a["counts"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>()
    );
}

/// A server on the suite's provider with one tenant holding the CRM and a few records.
async fn crm_tenant() -> (TestServer, String, String) {
    let app = TestApp::new().start().await;
    let (id, key) = app.active_tenant("acme", "pro").await;
    deploy(&app, &id, crm_plus(None)).await;
    write_records(&app, &key).await;
    (app, id, key)
}

/// Re-seals an edited archive: its content hash recomputed, so only deeper checks can refuse it.
fn reseal(mut archive: Value) -> Value {
    archive["contentHash"] = json!(archive_content_hash(&archive));
    archive
}

#[tokio::test]
async fn refused_restores_change_nothing() {
    let (app, id, _) = crm_tenant().await;
    let archive = export(&app, &id).await;
    let before = app.snapshot().await;
    let databases = app.tenant_databases().await;
    let restore = "/api/v1/tenants/restore";

    // A changed row: the content hash no longer matches.
    let mut tampered = archive.clone();
    tampered["objects"]["contact"][0]["last_name"] = json!("Mallory");
    let res = app
        .admin_post(restore, json!({"archive": tampered, "orgId": "t1"}))
        .await;
    res.assert_invalid(422, &["archive.contentHash"]);

    // Another format (the old PostgreSQL dump) or none.
    let mut other = archive.clone();
    other["format"] = json!("objectos-pg-backup/1");
    let res = app
        .admin_post(restore, json!({"archive": other, "orgId": "t2"}))
        .await;
    res.assert_invalid(422, &["archive.format"]);
    let res = app
        .admin_post(restore, json!({"archive": {"tables": []}, "orgId": "t2"}))
        .await;
    res.assert_invalid(422, &["archive.format"]);

    // A broken ledger chain, even with a recomputed content hash.
    let mut broken = archive.clone();
    broken["ledger"][0]["hash"] = json!("0".repeat(64));
    let res = app
        .admin_post(restore, json!({"archive": reseal(broken), "orgId": "t3"}))
        .await;
    res.assert_invalid(422, &["archive.ledger[0].hash"]);

    // Counts that do not match the rows.
    let mut counted = archive.clone();
    counted["counts"]["contact"] = json!(99);
    let res = app
        .admin_post(restore, json!({"archive": counted, "orgId": "t4"}))
        .await;
    res.assert_invalid(422, &["archive.counts.contact"]);

    // Malformed members, with their paths.
    let mut malformed = archive.clone();
    malformed["ledger"][0]["seq"] = json!("one");
    let res = app
        .admin_post(restore, json!({"archive": malformed, "orgId": "t5"}))
        .await;
    res.assert_invalid(422, &["archive.ledger[0]"]);

    // The request itself: no archive, unknown keys, a bad orgId type, an invalid orgId.
    let res = app.admin_post(restore, json!({"orgId": "t6"})).await;
    res.assert_invalid(422, &["archive"]);
    let res = app
        .admin_post(restore, json!({"archive": archive, "extra": 1}))
        .await;
    res.assert_invalid(422, &[""]);
    let res = app
        .admin_post(restore, json!({"archive": archive, "orgId": 7}))
        .await;
    res.assert_invalid(422, &["orgId"]);
    let res = app
        .admin_post(restore, json!({"archive": archive, "orgId": ""}))
        .await;
    res.assert_invalid(422, &["orgId"]);

    // The organization exists already (the archive's own, and named explicitly).
    let res = app.admin_post(restore, json!({"archive": archive})).await;
    let error = res.assert_error(409, "tenant_exists");
    assert_eq!(error["details"]["tenantId"], id.as_str());
    let res = app
        .admin_post(restore, json!({"archive": archive, "orgId": "acme"}))
        .await;
    res.assert_error(409, "tenant_exists");

    // A sealed archive whose rows cannot be stored: the new tenant is provisioned, then removed.
    let mut unstorable = archive.clone();
    unstorable["objects"]["contact"][0]["bogus"] = json!(1);
    let res = app
        .admin_post(
            restore,
            json!({"archive": reseal(unstorable), "orgId": "half"}),
        )
        .await;
    res.assert_invalid(422, &["archive.objects.contact[0].bogus"]);
    app.admin_get("/api/v1/tenants/half")
        .await
        .assert_error(404, "tenant_not_found");
    app.assert_no_database("half").await;

    // Provisioning the new tenant fails: refused, and the failed tenant is removed.
    app.failpoints().configure("sync_schema=fail").unwrap();
    let res = app
        .admin_post(restore, json!({"archive": archive, "orgId": "broken"}))
        .await;
    let error = res.assert_error(409, "restore_failed");
    assert!(
        error["message"].as_str().unwrap().contains("sync_schema"),
        "{error}"
    );
    app.failpoints().clear();
    app.admin_get("/api/v1/tenants/broken")
        .await
        .assert_error(404, "tenant_not_found");
    app.assert_no_database("broken").await;

    // Without the admin token.
    let res = app
        .send(
            app.request(Method::POST, restore)
                .json(&json!({"archive": archive, "orgId": "t7"})),
        )
        .await;
    res.assert_error(401, "unauthorized");

    assert_eq!(app.tenant_databases().await, databases);
    let mut after = app.snapshot().await;
    // The failed restore's tenant came and went: only its backups would remain (none are made).
    after
        .backup_files
        .retain(|f| !f.starts_with("half-") && !f.starts_with("broken-"));
    assert_eq!(after, before);
}

#[tokio::test]
async fn exports_are_refused_outside_active_and_suspended() {
    let (app, id, key) = crm_tenant().await;
    app.admin_get("/api/v1/tenants/nobody/archive")
        .await
        .assert_error(404, "tenant_not_found");
    app.get_with_key(&format!("/api/v1/tenants/{id}/archive"), &key)
        .await
        .assert_status(403);
    app.admin_get(&format!("/api/v1/tenants/{id}/archive?x=1"))
        .await
        .assert_invalid(400, &[""]);

    // While a deployment runs (held before its commit): refused at once, then fine again.
    app.failpoints()
        .configure("deploy_before_commit=delay(1500)")
        .unwrap();
    let running = tokio::spawn(
        app.admin(Method::POST, &format!("/api/v1/tenants/{id}/deployments"))
            .json(&crm_plus(Some(("color", json!({"type": "text"})))))
            .send(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let res = app
        .admin_get(&format!("/api/v1/tenants/{id}/archive"))
        .await;
    res.assert_error(409, "deployment_in_progress");
    assert_eq!(running.await.unwrap().unwrap().status(), 201);
    app.failpoints().clear();
    assert_eq!(
        export(&app, &id).await["ledger"].as_array().unwrap().len(),
        2
    );

    // Suspended: still exported (a backup before a long suspension).
    app.admin_post_empty(&format!("/api/v1/tenants/{id}/suspend"))
        .await
        .assert_status(200);
    let suspended = export(&app, &id).await;
    app.admin_post_empty(&format!("/api/v1/tenants/{id}/resume"))
        .await
        .assert_status(200);

    // Destroying (a scheduled destruction): refused.
    app.admin_delete(&format!("/api/v1/tenants/{id}?gracePeriodHours=1"))
        .await
        .assert_status(202);
    let res = app
        .admin_get(&format!("/api/v1/tenants/{id}/archive"))
        .await;
    let error = res.assert_error(409, "invalid_transition");
    assert_eq!(error["details"]["currentStatus"], "destroying");

    // The archive taken while suspended restores, under another org.
    let (copy, key_copy, _) =
        restore(&app, json!({"archive": suspended, "orgId": "acme-copy"})).await;
    assert_eq!(copy, "acme-copy");
    let res = app
        .get_with_key("/api/v1/data/gadget?sort=code", &key_copy)
        .await;
    assert_eq!(
        res.assert_success(200)["records"].as_array().unwrap().len(),
        3
    );
}

#[tokio::test]
async fn the_destroy_backup_is_an_archive_that_restores() {
    let (app, id, key) = crm_tenant().await;
    let lists_before = lists(&app, &key).await;
    let deployments_before = deployments(&app, &id).await;
    let live = export(&app, &id).await;
    let res = app
        .admin_delete(&format!(
            "/api/v1/tenants/{id}?immediate=true&createBackup=true"
        ))
        .await;
    let data = res.assert_success(200);
    let backup = std::path::PathBuf::from(data["backup"].as_str().unwrap());
    let archive = app.assert_backup(&backup, &id);
    assert_eq!(archive["contentHash"], live["contentHash"]);
    app.assert_no_database(&id).await;

    // The organization is free again: the backup restores as the same tenant.
    let (restored, key2, _) = restore(&app, json!({"archive": archive})).await;
    assert_eq!(restored, id);
    assert_eq!(lists(&app, &key2).await, lists_before);
    assert_eq!(deployments(&app, &id).await, deployments_before);
    assert_eq!(export(&app, &id).await["contentHash"], live["contentHash"]);
}

#[tokio::test]
async fn the_restore_route_has_its_own_body_limit() {
    // The general limit does not apply to restores (it lets the CRM bundle through, not its
    // archive, which holds it and much more)...
    let limit = crm().to_string().len() + 1024;
    let app = TestApp::new()
        .with(move |o| o.settings.body_limit = limit)
        .start()
        .await;
    let (id, _) = app.active_tenant("acme", "pro").await;
    deploy(&app, &id, crm()).await;
    let archive = export(&app, &id).await;
    assert!(archive.to_string().len() > 2 * limit);
    restore(&app, json!({"archive": archive, "orgId": "big"})).await;

    // ...its own does, with the usual error envelope.
    let small = TestApp::new()
        .with(|o| o.settings.archive_body_limit = 2048)
        .start()
        .await;
    let res = small
        .admin_post(
            "/api/v1/tenants/restore",
            json!({"archive": archive, "orgId": "big"}),
        )
        .await;
    res.assert_error(413, "payload_too_large");
    assert!(small.tenant_databases().await.is_empty());
}

#[tokio::test]
async fn a_seeded_tenant_restores_without_applying_its_seed_again() {
    let app = TestApp::new().start().await;
    let res = app
        .admin_post(
            "/api/v1/tenants",
            json!({"orgId": "seeded", "plan": "pro", "region": "us-east",
                   "metadata": {"team": "sales", "seed": crm()}}),
        )
        .await;
    res.assert_success(201);
    let archive = export(&app, "seeded").await;
    assert_eq!(archive["ledger"].as_array().unwrap().len(), 1);
    assert!(archive["tenant"]["metadata"]["seed"].is_object());

    let (copy, _, body) = restore(&app, json!({"archive": archive, "orgId": "seeded-copy"})).await;
    let steps = body["data"]["steps"].as_array().unwrap();
    let seed_step = steps
        .iter()
        .find(|s| s["name"] == "apply_seed_data")
        .unwrap();
    assert_eq!(seed_step["status"], "skipped", "{seed_step}");
    let again = export(&app, &copy).await;
    assert_eq!(again["contentHash"], archive["contentHash"]);
    assert_eq!(again["counts"], archive["counts"]);
    assert_eq!(again["ledger"].as_array().unwrap().len(), 1);
    assert_eq!(again["tenant"]["metadata"], json!({"team": "sales"}));
}
