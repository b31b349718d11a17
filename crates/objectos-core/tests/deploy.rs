#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The deploy service against real tenant databases: a provisioned tenant, bundles deployed
//! through `Platform::deploy`, the schema read back by introspection. The provider is the one
//! `OBJECTOS_TEST_TENANT_PROVIDER` names (sqlite by default; `scripts/test` also runs it on
//! postgres and memory): the same gates, plans and answers are required of every database.

use objectos_core::deploy::{DeployOptions, DeploymentRecord, Rename};
use objectos_core::{CoreError, Platform, PlatformConfig};
use objectos_spec::types::deploy::DeployStatus;
use objectos_spec::types::provisioning::{TenantPlan, TenantProvisioningRequest};
use objectos_spec::ObjectDefinition;
use objectos_sql::testing::TestDatabase;
use objectos_sql::{Session, SqlValue};
use objectos_store::SqliteControlStore;
use objectos_tenantdb::{TenantDatabases, TenantDbConfig, TenantDbs};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

type P = Platform<SqliteControlStore, TenantDbs>;

struct Env {
    _dir: tempfile::TempDir,
    platform: P,
    tenant: String,
    /// The PostgreSQL database of the `postgres` provider (dropped last).
    _pg: Option<TestDatabase>,
}

fn provider() -> String {
    std::env::var("OBJECTOS_TEST_TENANT_PROVIDER")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "sqlite".to_owned())
}

async fn setup_with(config: impl FnOnce(&mut PlatformConfig)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteControlStore::open(&dir.path().join("control.db")).unwrap();
    let provider = provider();
    let pg = match provider.as_str() {
        "postgres" => Some(TestDatabase::create().await),
        _ => None,
    };
    let mut tenant_dbs = TenantDbConfig {
        provider,
        sqlite_dir: dir.path().join("tenants"),
        cached_connections: 16,
        spare_databases: 0,
        ..TenantDbConfig::default()
    };
    if let Some(db) = &pg {
        tenant_dbs.postgres.url = db.url.clone();
        tenant_dbs.postgres.max_connections = 4;
    }
    let dbs = TenantDbs::open(&tenant_dbs).await.unwrap();
    let mut cfg = PlatformConfig::new(dir.path());
    config(&mut cfg);
    let platform = Platform::new(store, dbs, cfg);
    let request: TenantProvisioningRequest =
        objectos_spec::parse(&json!({"orgId": "acme"})).unwrap();
    let provisioned = platform.provision(request, true).await.unwrap();
    Env {
        _dir: dir,
        platform,
        tenant: provisioned.tenant.id,
        _pg: pg,
    }
}

async fn setup() -> Env {
    setup_with(|_| {}).await
}

fn account() -> Value {
    json!({
        "name": "account",
        "label": "Account",
        "fields": {
            "name": {"type": "text", "required": true, "unique": true},
            "industry": {"type": "select", "options": [
                {"label": "Tech", "value": "tech"}, {"label": "Retail", "value": "retail"}]},
            "employees": {"type": "number", "scale": 0}
        }
    })
}

fn contact() -> Value {
    json!({
        "name": "contact",
        "fields": {
            "name": {"type": "text", "required": true},
            "email": {"type": "email", "unique": true},
            "account": {"type": "lookup", "reference": "account"},
            "status": {"type": "select", "defaultValue": "new", "options": [
                {"label": "New", "value": "new"}, {"label": "Done", "value": "done"}]}
        },
        "indexes": [{"fields": ["status"]}]
    })
}

fn deal() -> Value {
    json!({
        "name": "deal",
        "fields": {
            "name": {"type": "text", "required": true},
            "amount": {"type": "currency"},
            "account": {"type": "master_detail", "reference": "account"},
            "stage": {"type": "select", "required": true, "defaultValue": "open", "options": [
                {"label": "Open", "value": "open"}, {"label": "Won", "value": "won"}]}
        },
        "indexes": [{"fields": ["stage", "amount"]}]
    })
}

fn seed() -> Vec<Value> {
    vec![
        json!({"object": "account", "records": [
            {"id": "acc1", "name": "Acme", "industry": "tech", "employees": 10},
            {"id": "acc2", "name": "Globex", "industry": "retail"}
        ]}),
        json!({"object": "contact", "externalId": "email", "mode": "upsert", "records": [
            {"name": "Ann", "email": "ann@acme.io", "account": "acc1"},
            {"name": "Bob", "email": "bob@globex.io", "account": "acc2"},
            {"name": "Cy", "email": "cy@globex.io", "account": "acc2", "status": "done"}
        ]}),
        json!({"object": "deal", "mode": "ignore", "records": [
            {"name": "Big deal", "amount": 1000.5, "account": "acc1"}
        ]}),
    ]
}

fn bundle(objects: Vec<Value>, seed_data: Vec<Value>) -> Value {
    let names: Vec<Value> = objects.iter().map(|o| o["name"].clone()).collect();
    json!({
        "manifest": {"version": "1.0.0", "objects": names, "views": [], "flows": [], "permissions": []},
        "objects": objects,
        "views": [],
        "flows": [],
        "permissions": [],
        "seedData": seed_data,
    })
}

fn crm() -> Value {
    bundle(vec![account(), contact(), deal()], seed())
}

fn with_field(mut object: Value, key: &str, field: Value) -> Value {
    object["fields"][key] = field;
    object
}

fn without_field(mut object: Value, key: &str) -> Value {
    object["fields"].as_object_mut().unwrap().remove(key);
    object
}

async fn deploy(
    env: &Env,
    bundle: &Value,
    options: DeployOptions,
) -> Result<DeploymentRecord, CoreError> {
    env.platform
        .deploy(&env.tenant, bundle.clone(), options)
        .await
}

async fn deploy_ok(env: &Env, bundle: &Value, options: DeployOptions) -> DeploymentRecord {
    let record = deploy(env, bundle, options).await.unwrap();
    assert_eq!(record.status, DeployStatus::Ready, "{:?}", record.error);
    record
}

fn ack(tokens: &[&str]) -> DeployOptions {
    DeployOptions {
        acknowledge: tokens.iter().map(|t| (*t).to_owned()).collect(),
        ..DeployOptions::default()
    }
}

/// Runs `f` with a session on the tenant's database (blocking this test's thread, which the
/// multi-thread runtime allows).
fn with_db<T: Send + 'static>(env: &Env, f: impl FnOnce(&dyn Session) -> T + Send + 'static) -> T {
    let dbs = env.platform.dbs().clone();
    let tenant = env.tenant.clone();
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current()
            .block_on(async move { dbs.with_session(&tenant, move |s| Ok(f(s))).await.unwrap() })
    })
}

fn json_of(value: SqlValue) -> Value {
    match value {
        SqlValue::Null => Value::Null,
        SqlValue::Bool(b) => json!(b),
        SqlValue::Integer(x) => json!(x),
        SqlValue::Real(x) => json!(x),
        SqlValue::Text(t) | SqlValue::Json(t) | SqlValue::Date(t) | SqlValue::Timestamp(t) => {
            json!(t)
        }
        SqlValue::Blob(b) => json!(b.len()),
    }
}

fn rows(env: &Env, sql: &str) -> Vec<Vec<Value>> {
    let sql = sql.to_owned();
    with_db(env, move |s| {
        s.query(&sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_iter()
            .map(|row| row.into_iter().map(json_of).collect())
            .collect()
    })
}

/// Whether the tenant's database has a table of this name (from its own catalog).
fn table_exists(env: &Env, name: &str) -> bool {
    let sql = match env.platform.dbs().dialect() {
        objectos_sql::Dialect::Sqlite => {
            format!("SELECT COUNT(*) FROM sqlite_master WHERE name = '{name}'")
        }
        objectos_sql::Dialect::Postgres => format!(
            "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relname = '{name}'"
        ),
    };
    count(env, &sql) > 0
}

fn count(env: &Env, sql: &str) -> i64 {
    rows(env, sql)[0][0].as_i64().unwrap()
}

/// SQLite: SHA-256 of the database file after a checkpoint (the WAL folded in and truncated).
/// Other providers have no file: the hash of the full dump stands for it.
fn file_hash(env: &Env) -> String {
    match env.platform.dbs() {
        TenantDbs::Sqlite(local) => {
            with_db(env, |s| {
                s.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
            });
            let path = local.path_of(&env.tenant).unwrap();
            hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
        }
        _ => hex::encode(Sha256::digest(dump(env).as_bytes())),
    }
}

/// Every table's schema and rows (and every index), as text, from the database's own catalog.
fn dump(env: &Env) -> String {
    let catalog = match env.platform.dbs().dialect() {
        objectos_sql::Dialect::Sqlite => "SELECT type, name, sql FROM sqlite_master ORDER BY name",
        objectos_sql::Dialect::Postgres => {
            "SELECT CASE c.relkind WHEN 'i' THEN 'index' ELSE 'table' END, c.relname::text, \
                    CASE WHEN c.relkind = 'i' THEN pg_get_indexdef(c.oid) ELSE \
                    (SELECT string_agg(a.attname::text || ' ' || format_type(a.atttypid, a.atttypmod) \
                       || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END \
                       || COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), ''), ', ' \
                       ORDER BY a.attnum) \
                     FROM pg_attribute a LEFT JOIN pg_attrdef d \
                       ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) END \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i') ORDER BY 2"
        }
    };
    let mut out = String::new();
    for row in rows(env, catalog) {
        out.push_str(&format!("{row:?}\n"));
        if row[0] == "table" {
            let name = row[1].as_str().unwrap();
            for r in rows(env, &format!("SELECT * FROM \"{name}\" ORDER BY 1")) {
                out.push_str(&format!("  {r:?}\n"));
            }
        }
    }
    out
}

fn objects_of(bundle: &Value) -> Vec<ObjectDefinition> {
    let parsed: objectos_spec::types::deploy::DeployBundle = objectos_spec::parse(bundle).unwrap();
    parsed.objects
}

/// Introspected schema equals the expected schema of each object (column order ignored).
fn assert_schema(env: &Env, bundle: &Value) {
    let dialect = env.platform.dbs().dialect();
    let objects = objects_of(bundle);
    with_db(env, move |s| {
        for object in objects {
            let mut expected = objectos_schema::expected_schema(dialect, &object).unwrap();
            let mut actual = objectos_schema::introspect_table(s, &object.name).unwrap();
            expected.columns.sort_by(|a, b| a.name.cmp(&b.name));
            actual.columns.sort_by(|a, b| a.name.cmp(&b.name));
            assert_eq!(actual, expected, "table {}", object.name);
        }
    });
}

fn conflict(err: CoreError) -> (&'static str, Value) {
    match err {
        CoreError::Conflict { code, details, .. } => (code, details),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn issue_paths(err: CoreError) -> Vec<String> {
    match err {
        CoreError::Invalid(v) => v.issues.iter().map(|i| i.path.to_string()).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn spec_valid(kind: &str, value: &impl serde::Serialize) {
    let value = serde_json::to_value(value).unwrap();
    let validated = objectos_spec::kind(kind).unwrap().validate(&value);
    assert!(validated.is_valid(), "{kind}: {:?}", validated.issues);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_deploy_creates_tables_indexes_seed_and_a_chained_ledger_row() {
    let env = setup().await;
    let record = deploy_ok(&env, &crm(), DeployOptions::default()).await;
    assert_eq!(record.seq, Some(1));
    assert!(record.parent_id.is_none());
    assert!(!record.no_changes);
    assert_eq!(record.diff.summary.added, 3);
    assert!(!record.diff.has_breaking_changes);
    assert_eq!(record.plan.dialect, env.platform.dbs().dialect().as_str());
    assert!(record
        .plan
        .statements
        .iter()
        .any(|s| s.sql.starts_with("CREATE UNIQUE INDEX")));
    spec_valid("DeployValidationResult", &record.validation);
    spec_valid("DeployDiff", &record.diff);
    spec_valid("MigrationPlan", &record.plan);
    spec_valid("DeployStatusEnum", &record.status);

    assert_schema(&env, &crm());
    assert_eq!(count(&env, "SELECT COUNT(*) FROM account"), 2);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM contact"), 3);
    assert_eq!(
        rows(
            &env,
            "SELECT status, account FROM contact WHERE email = 'ann@acme.io'"
        ),
        vec![vec![json!("new"), json!("acc1")]],
        "defaults applied, lookups stored as ids"
    );
    assert_eq!(
        rows(&env, "SELECT name, amount, stage, length(id) FROM deal"),
        vec![vec![
            json!("Big deal"),
            json!(1000.5),
            json!("open"),
            json!(16)
        ]]
    );
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM _objectos_metadata WHERE type = 'object'"
        ),
        3
    );

    // The ledger row: chained from nothing, hash = SHA-256(prev_hash || checksum || model).
    let ledger = rows(
        &env,
        "SELECT id, seq, parent_id, status, checksum, prev_hash, hash, model FROM _objectos_deployments",
    );
    assert_eq!(ledger.len(), 1);
    let row = &ledger[0];
    assert_eq!(row[0], json!(record.id));
    assert_eq!(row[1], json!(1));
    assert_eq!(row[2], Value::Null);
    assert_eq!(row[3], json!("ready"));
    assert_eq!(
        row[4],
        json!(objectos_spec::canonical::bundle_checksum(&crm()))
    );
    assert_eq!(row[5], Value::Null);
    let model = row[7].as_str().unwrap();
    let expected = hex::encode(Sha256::digest(format!("{}{model}", record.checksum)));
    assert_eq!(row[6], json!(expected));

    // A second deployment chains to the first.
    let next = bundle(
        vec![
            account(),
            with_field(contact(), "phone", json!({"type": "phone"})),
            deal(),
        ],
        seed(),
    );
    let second = deploy_ok(&env, &next, DeployOptions::default()).await;
    assert_eq!(second.parent_id.as_deref(), Some(record.id.as_str()));
    assert_eq!(second.seq, Some(2));
    let chain = rows(
        &env,
        "SELECT prev_hash, hash, checksum, model FROM _objectos_deployments WHERE seq = 2",
    );
    let prev = row[6].as_str().unwrap();
    assert_eq!(chain[0][0], json!(prev));
    let h = hex::encode(Sha256::digest(format!(
        "{prev}{}{}",
        chain[0][2].as_str().unwrap(),
        chain[0][3].as_str().unwrap()
    )));
    assert_eq!(chain[0][1], json!(h));

    let listed = env.platform.list_deployments(&env.tenant).await.unwrap();
    assert_eq!(
        listed.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![Some(2), Some(1)]
    );
    assert_eq!(
        env.platform
            .get_deployment(&env.tenant, &record.id)
            .await
            .unwrap(),
        record
    );
    assert!(matches!(
        env.platform.get_deployment(&env.tenant, "dep_nope").await,
        Err(CoreError::NotFound {
            what: "deployment",
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_applying_the_deployed_bundle_changes_nothing() {
    let env = setup().await;
    let first = deploy_ok(&env, &crm(), DeployOptions::default()).await;
    let (hash, before) = (file_hash(&env), dump(&env));
    let again = deploy_ok(&env, &crm(), DeployOptions::default()).await;
    assert!(again.no_changes);
    assert_eq!(again.id, first.id);
    assert!(again.plan.statements.is_empty());
    assert_eq!(file_hash(&env), hash, "the file is byte-for-byte unchanged");
    assert_eq!(dump(&env), before);
    assert_eq!(
        env.platform
            .list_deployments(&env.tenant)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_additive_change_is_applied_and_keeps_the_rows() {
    let env = setup().await;
    deploy_ok(&env, &crm(), DeployOptions::default()).await;
    let note = json!({"name": "note", "fields": {"body": {"type": "textarea"}}});
    let next = bundle(
        vec![
            account(),
            with_field(contact(), "phone", json!({"type": "phone"})),
            deal(),
            note,
        ],
        seed(),
    );
    let record = deploy_ok(&env, &next, DeployOptions::default()).await;
    assert!(!record.diff.has_breaking_changes);
    assert_eq!(record.diff.summary.added, 2);
    assert_schema(&env, &next);
    assert_eq!(
        count(&env, "SELECT COUNT(*) FROM contact WHERE phone IS NULL"),
        3
    );
    assert_eq!(
        count(&env, "SELECT COUNT(*) FROM deal"),
        1,
        "an ignore-mode seed is not re-inserted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_rename_keeps_the_data() {
    let env = setup().await;
    deploy_ok(&env, &crm(), DeployOptions::default()).await;
    let mut renamed_contact = without_field(contact(), "email");
    renamed_contact["fields"]["email_address"] = json!({"type": "email", "unique": true});
    let mut seed = seed();
    seed[1] = json!({"object": "contact", "externalId": "email_address", "mode": "upsert", "records": []});
    let next = bundle(vec![account(), renamed_contact, deal()], seed);
    let options = DeployOptions {
        renames: vec![Rename::Field {
            object: "contact".into(),
            from: "email".into(),
            to: "email_address".into(),
        }],
        ..DeployOptions::default()
    };
    let record = deploy_ok(&env, &next, options).await;
    assert_eq!(record.renames.len(), 1);
    assert_schema(&env, &next);
    assert_eq!(
        rows(&env, "SELECT email_address FROM contact WHERE name = 'Ann'"),
        vec![vec![json!("ann@acme.io")]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_is_refused_with_counts_until_acknowledged() {
    let env = setup().await;
    deploy_ok(&env, &crm(), DeployOptions::default()).await;
    let mut seed = seed();
    seed[0]["records"][0]
        .as_object_mut()
        .unwrap()
        .remove("industry");
    seed[0]["records"][1]
        .as_object_mut()
        .unwrap()
        .remove("industry");
    let next = bundle(
        vec![without_field(account(), "industry"), contact()],
        seed[..2].to_vec(),
    );
    let before = dump(&env);
    let (code, details) = conflict(
        deploy(&env, &next, DeployOptions::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "destructive_changes_unacknowledged");
    let entries = details["unacknowledged"].as_array().unwrap();
    let by_entity = |e: &str| entries.iter().find(|x| x["entity"] == e).unwrap().clone();
    assert_eq!(by_entity("field:account.industry")["rows"], json!(2));
    assert_eq!(
        by_entity("field:account.industry")["loses"],
        json!("values")
    );
    assert_eq!(by_entity("object:deal")["rows"], json!(1));
    assert_eq!(by_entity("object:deal")["loses"], json!("rows"));
    assert_eq!(dump(&env), before, "nothing changed");

    // One acknowledgement is not enough.
    let (code, details) = conflict(
        deploy(&env, &next, ack(&["object:deal"]))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "destructive_changes_unacknowledged");
    assert_eq!(
        details["unacknowledged"][0]["entity"],
        json!("field:account.industry")
    );

    let record = deploy_ok(&env, &next, ack(&["object:deal", "field:account.industry"])).await;
    assert!(record.diff.has_breaking_changes);
    assert_schema(&env, &next);
    assert!(!table_exists(&env, "deal"));
    assert_eq!(count(&env, "SELECT COUNT(*) FROM account"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dependent_change_is_refused_with_counts() {
    let env = setup().await;
    deploy_ok(&env, &crm(), DeployOptions::default()).await;
    // Required without a default over 1 NULL (Globex has no employees); unique over duplicates.
    let account2 = with_field(
        account(),
        "employees",
        json!({"type": "number", "scale": 0, "required": true}),
    );
    let contact2 = with_field(
        contact(),
        "account",
        json!({"type": "lookup", "reference": "account", "unique": true}),
    );
    let next = bundle(vec![account2, contact2, deal()], vec![]);
    let before = dump(&env);
    let (code, details) = conflict(
        deploy(&env, &next, DeployOptions::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "data_check_failed");
    let checks = details["checks"].as_array().unwrap();
    let nulls = checks.iter().find(|c| c["check"] == "nulls").unwrap();
    assert_eq!(
        (nulls["table"].clone(), nulls["rows"].clone()),
        (json!("account"), json!(1))
    );
    assert_eq!(nulls["columns"], json!(["employees"]));
    let dups = checks.iter().find(|c| c["check"] == "duplicates").unwrap();
    assert_eq!(dups["table"], json!("contact"));
    assert_eq!(
        (dups["rows"].clone(), dups["groups"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(dump(&env), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_detected_and_refused() {
    let env = setup().await;
    deploy_ok(&env, &crm(), DeployOptions::default()).await;
    with_db(&env, |s| {
        s.execute_batch("ALTER TABLE contact ADD COLUMN sneaky TEXT")
            .unwrap();
    });
    let next = bundle(
        vec![
            account(),
            with_field(contact(), "phone", json!({"type": "phone"})),
            deal(),
        ],
        vec![],
    );
    let (code, details) = conflict(
        deploy(&env, &next, DeployOptions::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "schema_drift");
    let tables = details["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0]["table"], json!("contact"));
    let diffs = tables[0]["differences"].to_string();
    assert!(diffs.contains("sneaky"), "{diffs}");
    // Even re-applying the same bundle is refused while the drift lasts.
    let (code, _) = conflict(
        deploy(&env, &crm(), DeployOptions::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "schema_drift");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_concurrent_deployment_gets_409() {
    let env = setup().await;
    // Hold the tenant's write transaction (SQLite: its writer connection; PostgreSQL: its writer
    // lock) so that the first deployment waits on it while holding the deployment mark.
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let dbs = env.platform.dbs().clone();
    let held = env.tenant.clone();
    let holder = tokio::spawn(async move {
        dbs.with_session(&held, move |s| {
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
    let platform = env.platform.clone();
    let tenant = env.tenant.clone();
    let first = tokio::spawn(async move {
        platform
            .deploy(&tenant, crm(), DeployOptions::default())
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (code, details) = conflict(
        deploy(&env, &crm(), DeployOptions::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "deployment_in_progress");
    assert_eq!(details["tenantId"], json!(env.tenant));
    release_tx.send(()).unwrap();
    holder.await.unwrap();
    let record = first.await.unwrap().unwrap();
    assert_eq!(record.status, DeployStatus::Ready);
    // The mark is released: a later deployment runs.
    assert!(
        deploy(&env, &crm(), DeployOptions::default())
            .await
            .unwrap()
            .no_changes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_refuse_too_many_objects_and_too_many_deployments_a_day() {
    let env = setup_with(|cfg| {
        let mut quota = cfg.plans.quota(TenantPlan::Free).clone();
        quota.max_objects = Some(2);
        quota.max_deployments_per_day = Some(2);
        cfg.plans.set(TenantPlan::Free, quota);
    })
    .await;
    match deploy(&env, &crm(), DeployOptions::default())
        .await
        .unwrap_err()
    {
        CoreError::QuotaExceeded(q) => {
            assert_eq!(q.exceeded_quota.as_deref(), Some("maxObjects"));
            assert_eq!((q.current_usage, q.limit), (Some(3.0), Some(2.0)));
            assert!(!q.allowed);
        }
        other => panic!("{other:?}"),
    }
    let one = bundle(vec![account()], vec![]);
    deploy_ok(&env, &one, DeployOptions::default()).await;
    let two = bundle(
        vec![account(), json!({"name": "note", "fields": {}})],
        vec![],
    );
    deploy_ok(&env, &two, DeployOptions::default()).await;
    // A re-apply is not a deployment and is not counted.
    assert!(
        deploy_ok(&env, &two, DeployOptions::default())
            .await
            .no_changes
    );
    match deploy(&env, &one, ack(&["object:note"])).await.unwrap_err() {
        CoreError::QuotaExceeded(q) => {
            assert_eq!(q.exceeded_quota.as_deref(), Some("maxDeploymentsPerDay"));
            assert_eq!((q.current_usage, q.limit), (Some(2.0), Some(2.0)));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_reports_everything_and_leaves_the_file_unchanged() {
    let env = setup().await;
    deploy_ok(&env, &crm(), DeployOptions::default()).await;
    let (hash, before) = (file_hash(&env), dump(&env));
    let next = bundle(
        vec![
            account(),
            with_field(contact(), "phone", json!({"type": "phone"})),
            deal(),
            json!({"name": "note", "fields": {"body": {"type": "text"}}}),
        ],
        seed(),
    );
    let options = DeployOptions {
        dry_run: true,
        ..DeployOptions::default()
    };
    let record = deploy_ok(&env, &next, options.clone()).await;
    assert!(record.dry_run);
    assert_eq!(record.seq, None);
    assert!(!record.plan.statements.is_empty());
    assert_eq!(file_hash(&env), hash);
    assert_eq!(dump(&env), before);
    assert_eq!(
        env.platform
            .list_deployments(&env.tenant)
            .await
            .unwrap()
            .len(),
        1
    );

    // A dry run goes through the same gates.
    let drop_deal = bundle(vec![account(), contact()], seed()[..2].to_vec());
    let (code, _) = conflict(
        deploy(
            &env,
            &drop_deal,
            DeployOptions {
                dry_run: true,
                ..DeployOptions::default()
            },
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(code, "destructive_changes_unacknowledged");
    assert_eq!(file_hash(&env), hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_bundles_are_refused_with_every_issue_and_its_path() {
    let env = setup().await;
    deploy_ok(&env, &crm(), DeployOptions::default()).await;
    let before = dump(&env);
    let mut bad = bundle(
        vec![
            account(),
            account(),
            with_field(
                contact(),
                "boss",
                json!({"type": "lookup", "reference": "person"}),
            ),
        ],
        vec![
            json!({"object": "ghost", "records": []}),
            json!({"object": "contact", "externalId": "nope", "records": [{"name": 5}]}),
            json!({"object": "account", "records": [{"name": "A"}, {"name": "A"}, {"industry": "tech"}]}),
            json!({"object": "account", "mode": "sometimes", "records": []}),
        ],
    );
    bad["manifest"]["objects"] = json!(["account", "contact", "missing"]);
    bad["manifest"]["checksum"] = json!("0".repeat(64));
    bad["views"] = json!([{"name": "all_contacts", "object": "contact"}, {"object": "gone"}]);
    let paths = issue_paths(
        deploy(&env, &bad, DeployOptions::default())
            .await
            .unwrap_err(),
    );
    for expected in [
        "objects[1].name",
        "manifest.objects[2]",
        "manifest.checksum",
        "objects[2].fields.boss.reference",
        "views[0].name",
        "views[1].name",
        "views[1].object",
        "seedData[0].object",
        "seedData[1].externalId",
        "seedData[1].records[0].name",
        "seedData[2].records[1].name",
        "seedData[2].records[2].name",
        "seedData[3].mode",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} missing from {paths:#?}"
        );
    }
    assert_eq!(dump(&env), before);

    // A reference to an object this bundle would drop names it.
    let dangling = bundle(vec![contact(), deal()], vec![]);
    let paths = issue_paths(
        deploy(&env, &dangling, DeployOptions::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(
        paths,
        vec![
            "objects[0].fields.account.reference",
            "objects[1].fields.account.reference"
        ]
    );

    // A correct checksum is accepted.
    let mut good = crm();
    good["manifest"]["checksum"] = json!(objectos_spec::canonical::bundle_checksum(&good));
    assert!(deploy_ok(&env, &good, DeployOptions::default())
        .await
        .diff
        .changes
        .is_empty());

    // Invalid renames are reported at their path.
    let options = DeployOptions {
        renames: vec![Rename::Object {
            from: "nothing".into(),
            to: "account".into(),
        }],
        ..DeployOptions::default()
    };
    let paths = issue_paths(deploy(&env, &crm(), options).await.unwrap_err());
    assert!(paths.iter().any(|p| p == "renames[0].from"), "{paths:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_modes_are_keyed_by_external_id() {
    let env = setup().await;
    deploy_ok(&env, &crm(), DeployOptions::default()).await;
    let ann_id = rows(
        &env,
        "SELECT id, updated_at FROM contact WHERE email = 'ann@acme.io'",
    );
    // upsert: Ann changes, Dan is added; unchanged rows are not rewritten.
    let mut seed2 = seed();
    seed2[1]["records"][0]["name"] = json!("Ann B");
    seed2[1]["records"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "Dan", "email": "dan@x.io"}));
    // ignore: an existing key is left alone, a new one inserted.
    seed2[0] = json!({"object": "account", "mode": "ignore", "records": [
        {"name": "Acme", "industry": "retail"}, {"name": "Initech"}]});
    let next = bundle(vec![account(), contact(), deal()], seed2.clone());
    deploy_ok(&env, &next, DeployOptions::default()).await;
    assert_eq!(
        rows(
            &env,
            "SELECT id, name FROM contact WHERE email = 'ann@acme.io'"
        ),
        vec![vec![ann_id[0][0].clone(), json!("Ann B")]]
    );
    assert_eq!(
        rows(
            &env,
            "SELECT updated_at FROM contact WHERE email = 'bob@globex.io'"
        )[0][0],
        ann_id[0][1],
        "an unchanged record keeps its updated_at"
    );
    assert_eq!(count(&env, "SELECT COUNT(*) FROM contact"), 4);
    assert_eq!(
        rows(&env, "SELECT industry FROM account WHERE name = 'Acme'"),
        vec![vec![json!("tech")]]
    );
    assert_eq!(count(&env, "SELECT COUNT(*) FROM account"), 3);

    // replace: exactly the dataset remains; insert: an existing key is a 422 at its path.
    let mut seed3 = seed2.clone();
    seed3[1] = json!({"object": "contact", "externalId": "email", "mode": "replace", "records": [
        {"name": "Ann C", "email": "ann@acme.io"}]});
    seed3[2] = json!({"object": "deal", "mode": "insert", "records": [{"name": "Big deal"}]});
    let next = bundle(vec![account(), contact(), deal()], seed3.clone());
    let paths = issue_paths(
        deploy(&env, &next, DeployOptions::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(paths, vec!["seedData[2].records[0].name"]);
    assert_eq!(
        count(&env, "SELECT COUNT(*) FROM contact"),
        4,
        "rolled back"
    );
    seed3[2]["mode"] = json!("update");
    let next = bundle(vec![account(), contact(), deal()], seed3);
    deploy_ok(&env, &next, DeployOptions::default()).await;
    assert_eq!(
        rows(&env, "SELECT id, name FROM contact"),
        vec![vec![ann_id[0][0].clone(), json!("Ann C")]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_restores_the_parent_schema_and_data() {
    let env = setup().await;
    let first = deploy_ok(&env, &crm(), DeployOptions::default()).await;
    let before = rows(
        &env,
        "SELECT id, name, email, account, status FROM contact ORDER BY id",
    );
    // B: a field renamed and one added.
    let mut contact_b = without_field(contact(), "email");
    contact_b["fields"]["mail"] = json!({"type": "email", "unique": true});
    contact_b["fields"]["phone"] = json!({"type": "phone"});
    let mut seed_b = seed();
    seed_b[1] = json!({"object": "contact", "externalId": "mail", "records": []});
    let b = bundle(vec![account(), contact_b, deal()], seed_b);
    let options = DeployOptions {
        renames: vec![Rename::Field {
            object: "contact".into(),
            from: "email".into(),
            to: "mail".into(),
        }],
        ..DeployOptions::default()
    };
    let second = deploy_ok(&env, &b, options).await;
    assert_schema(&env, &b);

    // Rolling back drops `phone`: destructive, so refused until acknowledged.
    let (code, details) = conflict(
        env.platform
            .rollback(&env.tenant, &second.id, DeployOptions::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "destructive_changes_unacknowledged");
    assert_eq!(
        details["unacknowledged"][0]["entity"],
        json!("field:contact.phone")
    );
    let back = env
        .platform
        .rollback(&env.tenant, &second.id, ack(&["field:contact.phone"]))
        .await
        .unwrap();
    assert_eq!(back.status, DeployStatus::Ready, "{:?}", back.error);
    assert_eq!(back.rollback_of.as_deref(), Some(second.id.as_str()));
    assert_eq!(back.parent_id.as_deref(), Some(second.id.as_str()));
    assert_eq!(back.checksum, first.checksum);
    assert_eq!(back.seq, Some(3));
    assert_schema(&env, &crm());
    assert_eq!(
        rows(
            &env,
            "SELECT id, name, email, account, status FROM contact ORDER BY id"
        ),
        before,
        "the renamed field's values are back under their old name"
    );
    // The model is A's again: re-applying A is a no-op.
    assert!(
        deploy_ok(&env, &crm(), DeployOptions::default())
            .await
            .no_changes
    );

    // The first deployment has no parent.
    let (code, _) = conflict(
        env.platform
            .rollback(&env.tenant, &first.id, DeployOptions::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "no_parent_deployment");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_statement_rolls_everything_back_and_reports_failed() {
    let env = setup().await;
    deploy_ok(&env, &crm(), DeployOptions::default()).await;
    let (hash, before) = (file_hash(&env), dump(&env));
    // Two new contacts share an email: the unique index refuses the second insert after the DDL
    // (a new column) has already run in the transaction.
    let mut seed2 = seed();
    for name in ["Eve", "Fay"] {
        seed2[1]["records"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": name, "email": "same@x.io"}));
    }
    seed2[1]["externalId"] = json!("name");
    let next = bundle(
        vec![
            account(),
            with_field(contact(), "phone", json!({"type": "phone"})),
            deal(),
        ],
        seed2,
    );
    let record = deploy(&env, &next, DeployOptions::default()).await.unwrap();
    assert_eq!(record.status, DeployStatus::Failed);
    assert_eq!(record.seq, None);
    let error = record.error.unwrap();
    assert!(error.to_ascii_lowercase().contains("unique"), "{error}");
    assert_eq!(file_hash(&env), hash);
    assert_eq!(dump(&env), before);
    assert_eq!(
        env.platform
            .list_deployments(&env.tenant)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_tenants_deploy_in_parallel() {
    let env = setup().await;
    let request: TenantProvisioningRequest =
        objectos_spec::parse(&json!({"orgId": "globex"})).unwrap();
    let other = env
        .platform
        .provision(request, true)
        .await
        .unwrap()
        .tenant
        .id;
    let (a, b) = tokio::join!(
        env.platform
            .deploy(&env.tenant, crm(), DeployOptions::default()),
        env.platform.deploy(&other, crm(), DeployOptions::default()),
    );
    assert_eq!(a.unwrap().status, DeployStatus::Ready);
    assert_eq!(b.unwrap().status, DeployStatus::Ready);
}

#[test]
fn validate_bundle_checks_manifest_lists_and_what_views_flows_and_permissions_name() {
    use objectos_core::deploy::{validate_bundle, validation_result};
    let mut b = crm();
    b["manifest"]["objects"] = json!(["account", "contact"]);
    b["manifest"]["views"] = json!(["v1"]);
    b["manifest"]["permissions"] = json!(["p1", "p2"]);
    b["views"] = json!([{"name": "v1", "object": "deal"}, {"name": "v2", "object": 3}]);
    b["flows"] = json!([{"name": "f1", "objects": ["deal", "nowhere"]}]);
    b["permissions"] = json!([{"name": "p1", "objects": {"account": {}, "ghost": {}}}]);
    let issues = validate_bundle(&b, &[]).unwrap_err();
    let paths: Vec<String> = issues.iter().map(|i| i.path.to_string()).collect();
    assert_eq!(
        paths,
        vec![
            "objects[2].name",
            "views[1].name",
            "flows[0].name",
            "manifest.permissions[1]",
            "views[1].object",
            "flows[0].objects[1]",
            "permissions[0].objects.ghost",
        ]
    );
    let result = validation_result(&issues);
    assert!(!result.valid);
    assert_eq!(result.error_count, 7);
    spec_valid("DeployValidationResult", &result);

    let ok = validate_bundle(&crm(), &[]).unwrap();
    assert_eq!(
        ok.checksum,
        objectos_spec::canonical::bundle_checksum(&crm())
    );
    assert_eq!(ok.datasets.len(), 3);
    assert_eq!(ok.records[1].len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuilds_and_object_renames_keep_the_rows() {
    let env = setup().await;
    deploy_ok(&env, &crm(), DeployOptions::default()).await;
    // employees INTEGER → REAL (a widening: a table rebuild) and deal → opportunity.
    let account2 = with_field(account(), "employees", json!({"type": "number"}));
    let mut opportunity = deal();
    opportunity["name"] = json!("opportunity");
    let mut seed2 = seed();
    seed2[2]["object"] = json!("opportunity");
    let next = bundle(
        vec![account2.clone(), contact(), opportunity],
        seed2.clone(),
    );
    let options = DeployOptions {
        renames: vec![Rename::Object {
            from: "deal".into(),
            to: "opportunity".into(),
        }],
        ..DeployOptions::default()
    };
    let record = deploy_ok(&env, &next, options).await;
    let rebuilds = record
        .plan
        .statements
        .iter()
        .any(|s| s.sql.contains("_objectos_new_account"));
    // SQLite rebuilds the table; PostgreSQL alters it in place.
    assert_eq!(
        rebuilds,
        env.platform.dbs().dialect() == objectos_sql::Dialect::Sqlite,
        "{:#?}",
        record.plan
    );
    assert_schema(&env, &next);
    // The widened column holds reals (SQLite's storage class, PostgreSQL's column type).
    let type_of = match env.platform.dbs().dialect() {
        objectos_sql::Dialect::Sqlite => "typeof(employees)",
        objectos_sql::Dialect::Postgres => "pg_typeof(employees)::text",
    };
    assert_eq!(
        rows(
            &env,
            &format!("SELECT employees, {type_of} FROM account WHERE name = 'Acme'")
        ),
        vec![vec![
            json!(10.0),
            json!(match env.platform.dbs().dialect() {
                objectos_sql::Dialect::Sqlite => "real",
                objectos_sql::Dialect::Postgres => "double precision",
            })
        ]]
    );
    assert_eq!(
        rows(&env, "SELECT name, amount FROM opportunity"),
        vec![vec![json!("Big deal"), json!(1000.5)]]
    );

    // Back to INTEGER is a narrowing: refused with the count of values that have a fraction.
    with_db(&env, |s| {
        s.execute(
            "UPDATE account SET employees = 2.5 WHERE name = 'Globex'",
            &[],
        )
        .unwrap();
    });
    let mut account3 = account();
    account3["fields"]["employees"] = json!({"type": "number", "scale": 0});
    let back = bundle(
        vec![account3, contact(), {
            let mut o = deal();
            o["name"] = json!("opportunity");
            o
        }],
        seed2,
    );
    let (code, details) = conflict(
        deploy(&env, &back, DeployOptions::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "data_check_failed");
    assert_eq!(details["checks"][0]["check"], json!("not_castable"));
    assert_eq!(details["checks"][0]["columns"], json!(["employees"]));
    assert_eq!(details["checks"][0]["rows"], json!(1));
}
