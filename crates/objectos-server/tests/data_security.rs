//! Security of the data API (issue #5): every tenant resolver strategy routes to the right tenant,
//! one tenant can never read, change or even see another tenant's data (an explicit matrix of
//! strategies × endpoints × ways of naming the other tenant), SQL fragments anywhere in a request
//! are refused or bound as plain data (never executed, never a 500, never an SQLite message), and
//! the authentication refusals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{Res, TestApp, TestServer};
use objectos_spec::types::turso::TenantResolverStrategy;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

/// B's account name: it must never appear in anything A receives.
const B_MARKER: &str = "B-SECRET-MARKER-7f3a";
/// B's vault secret (an object only B has deployed).
const B_VAULT_MARKER: &str = "B-VAULT-MARKER-91c2";
/// The base domain of the subdomain strategy.
const BASE_DOMAIN: &str = "example.test";

/// Text that would betray an SQL statement built from the request.
const SQL_ERROR_TEXT: [&str; 5] = [
    "SQLITE",
    "syntax error",
    "no such column",
    "no such table",
    "near \"",
];

fn crm_bundle() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/crm.bundle.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("crm bundle")).unwrap()
}

/// The crm bundle plus `vault`, an object only tenant B deploys.
fn crm_with_vault() -> Value {
    let mut bundle = crm_bundle();
    bundle["manifest"]["objects"]
        .as_array_mut()
        .unwrap()
        .push(json!("vault"));
    bundle["objects"].as_array_mut().unwrap().push(json!({
        "name": "vault",
        "label": "Vault",
        "fields": {"secret": {"type": "text", "label": "Secret"}},
    }));
    bundle
}

/// Percent-encodes everything but the unreserved characters.
fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Token,
    Header,
    Subdomain,
    Path,
    Lookup,
}

impl Strategy {
    fn setting(self) -> TenantResolverStrategy {
        match self {
            Self::Token => TenantResolverStrategy::Token,
            Self::Header => TenantResolverStrategy::Header,
            Self::Subdomain => TenantResolverStrategy::Subdomain,
            Self::Path => TenantResolverStrategy::Path,
            Self::Lookup => TenantResolverStrategy::Lookup,
        }
    }
}

/// One tenant of a world, and what it holds.
#[derive(Debug, Clone)]
struct Tenant {
    id: String,
    key: String,
    /// Its custom domain (lookup strategy).
    domain: String,
    /// The id of the account created in it.
    account_id: String,
    /// The id of its vault record (B only).
    vault_id: Option<String>,
}

/// A server with one strategy and two tenants, A and B, both with the crm bundle deployed.
struct World {
    app: TestServer,
    strategy: Strategy,
    a: Tenant,
    b: Tenant,
}

/// Who a request names (per the strategy), if anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Name {
    Nobody,
    A,
    B,
}

impl World {
    async fn new(strategy: Strategy) -> Self {
        let app = TestApp::new()
            .with(|o| {
                o.settings.resolver = strategy.setting();
                if strategy == Strategy::Subdomain {
                    o.settings.base_domain = Some(BASE_DOMAIN.into());
                }
            })
            .start()
            .await;
        let mut tenants = Vec::new();
        for (org, bundle) in [("sec-a", crm_bundle()), ("sec-b", crm_with_vault())] {
            let (id, key) = app.active_tenant(org, "enterprise").await;
            app.admin_post(
                &format!("/api/v1/tenants/{id}/deployments"),
                json!({"bundle": bundle}),
            )
            .await
            .assert_success(201);
            let domain = format!("{org}.tenants.test");
            if strategy == Strategy::Lookup {
                app.admin_post("/api/v1/domains", json!({"domain": domain, "tenantId": id}))
                    .await
                    .assert_success(201);
            }
            tenants.push(Tenant {
                id,
                key,
                domain,
                account_id: String::new(),
                vault_id: None,
            });
        }
        let b = tenants.pop().unwrap();
        let a = tenants.pop().unwrap();
        let mut world = Self {
            app,
            strategy,
            a,
            b,
        };
        world.a.account_id = world
            .create(Name::A, "account", json!({"name": "A-own-account"}))
            .await;
        world.b.account_id = world
            .create(
                Name::B,
                "account",
                json!({"name": B_MARKER, "employees": 7}),
            )
            .await;
        world.b.vault_id = Some(
            world
                .create(Name::B, "vault", json!({"secret": B_VAULT_MARKER}))
                .await,
        );
        world
    }

    fn tenant(&self, name: Name) -> Option<&Tenant> {
        match name {
            Name::Nobody => None,
            Name::A => Some(&self.a),
            Name::B => Some(&self.b),
        }
    }

    /// A request with `key` (None: no credentials) naming `name` the way the strategy does.
    fn req(&self, method: Method, path: &str, key: Option<&str>, name: Name) -> RequestBuilder {
        let tenant = self.tenant(name);
        let url = match (self.strategy, tenant) {
            (Strategy::Path, Some(t)) => format!("{}/t/{}{path}", self.app.base, t.id),
            _ => format!("{}{path}", self.app.base),
        };
        let mut request = self.app.client.request(method, url);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        match (self.strategy, tenant) {
            (Strategy::Header, Some(t)) => request.header("x-tenant-id", &t.id),
            (Strategy::Subdomain, Some(t)) => {
                request.header("host", format!("{}.{BASE_DOMAIN}", t.id))
            }
            (Strategy::Lookup, Some(t)) => request.header("host", &t.domain),
            _ => request,
        }
    }

    /// How a tenant's own key reaches it under this strategy.
    fn own(&self, name: Name) -> Name {
        match self.strategy {
            Strategy::Token => Name::Nobody,
            _ => name,
        }
    }

    fn key(&self, name: Name) -> &str {
        &self.tenant(name).unwrap().key
    }

    /// Creates a record in a tenant with its own key; returns its id.
    async fn create(&self, name: Name, object: &str, record: Value) -> String {
        let res = self
            .app
            .send(
                self.req(
                    Method::POST,
                    &format!("/api/v1/data/{object}"),
                    Some(self.key(name)),
                    self.own(name),
                )
                .json(&record),
            )
            .await;
        res.assert_success(201)["id"].as_str().unwrap().to_owned()
    }

    /// Everything B holds, read with B's own key: all accounts and vault records.
    async fn b_state(&self) -> Value {
        let mut state = serde_json::Map::new();
        for object in ["account", "vault", "contact"] {
            let res = self
                .app
                .send(self.req(
                    Method::GET,
                    &format!("/api/v1/data/{object}?top=1000&sort=id&count=true"),
                    Some(&self.b.key),
                    self.own(Name::B),
                ))
                .await;
            state.insert(object.to_owned(), res.assert_success(200).clone());
        }
        Value::Object(state)
    }
}

// -------------------------------------------------------------------------------------------------
// 1. Each strategy routes to the right tenant.

/// The names of the accounts a list answer holds.
fn account_names(res: &Res) -> BTreeSet<String> {
    res.assert_success(200)["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn token_strategy_routes_by_the_key_alone() {
    let w = World::new(Strategy::Token).await;
    let res = w
        .app
        .get_with_key("/api/v1/data/account?top=1000", &w.a.key)
        .await;
    let names = account_names(&res);
    assert!(names.contains("A-own-account"), "{names:?}");
    assert!(!names.contains(B_MARKER), "{names:?}");
    let res = w
        .app
        .get_with_key("/api/v1/data/account?top=1000", &w.b.key)
        .await;
    assert!(account_names(&res).contains(B_MARKER));
    // The admin token names no tenant under this strategy.
    w.app
        .admin_get("/api/v1/data/account")
        .await
        .assert_error(400, "tenant_required");
    isolation_matrix(&w).await;
}

#[tokio::test]
async fn header_strategy_routes_by_x_tenant_id() {
    let w = World::new(Strategy::Header).await;
    // The admin reaches any tenant it names.
    for (name, marker) in [(Name::A, "A-own-account"), (Name::B, B_MARKER)] {
        let res = w
            .app
            .send(w.req(
                Method::GET,
                "/api/v1/data/account?top=1000",
                Some(&w.app.admin_token),
                name,
            ))
            .await;
        assert!(account_names(&res).contains(marker));
    }
    // ...but must name one.
    w.app
        .admin_get("/api/v1/data/account")
        .await
        .assert_error(400, "tenant_required");
    // A tenant key with its own id, or without the header, reaches its tenant.
    for name in [Name::A, Name::Nobody] {
        let res = w
            .app
            .send(w.req(
                Method::GET,
                "/api/v1/data/account?top=1000",
                Some(&w.a.key),
                name,
            ))
            .await;
        let names = account_names(&res);
        assert!(names.contains("A-own-account") && !names.contains(B_MARKER));
    }
    // With another tenant's id: refused.
    w.app
        .send(w.req(Method::GET, "/api/v1/data/account", Some(&w.a.key), Name::B))
        .await
        .assert_error(403, "forbidden");
    isolation_matrix(&w).await;
}

#[tokio::test]
async fn subdomain_strategy_routes_by_host() {
    let w = World::new(Strategy::Subdomain).await;
    for (name, key, marker) in [
        (Name::A, w.a.key.clone(), "A-own-account"),
        (Name::B, w.b.key.clone(), B_MARKER),
        (Name::B, w.app.admin_token.clone(), B_MARKER),
    ] {
        let res = w
            .app
            .send(w.req(
                Method::GET,
                "/api/v1/data/account?top=1000",
                Some(&key),
                name,
            ))
            .await;
        assert!(account_names(&res).contains(marker));
    }
    // A Host with a port still names the tenant.
    let res = w
        .app
        .send(
            w.app
                .keyed(Method::GET, "/api/v1/data/account", &w.a.key)
                .header("host", format!("{}.{BASE_DOMAIN}:8080", w.a.id)),
        )
        .await;
    assert!(account_names(&res).contains("A-own-account"));
    // Hosts that name no tenant.
    for host in [
        "127.0.0.1".to_owned(),
        BASE_DOMAIN.to_owned(),
        format!("x.{}.{BASE_DOMAIN}", w.a.id),
        format!("{}.other.test", w.a.id),
    ] {
        w.app
            .send(
                w.app
                    .keyed(Method::GET, "/api/v1/data/account", &w.a.key)
                    .header("host", host),
            )
            .await
            .assert_error(404, "tenant_not_found");
    }
    // The admin naming an unknown tenant.
    w.app
        .send(
            w.app
                .admin(Method::GET, "/api/v1/data/account")
                .header("host", format!("nobody.{BASE_DOMAIN}")),
        )
        .await
        .assert_error(404, "tenant_not_found");
    isolation_matrix(&w).await;
}

#[tokio::test]
async fn path_strategy_routes_by_the_t_prefix() {
    let w = World::new(Strategy::Path).await;
    let res = w
        .app
        .send(w.req(
            Method::GET,
            "/api/v1/data/account?top=1000",
            Some(&w.a.key),
            Name::A,
        ))
        .await;
    let names = account_names(&res);
    assert!(names.contains("A-own-account") && !names.contains(B_MARKER));
    let res = w
        .app
        .send(w.req(
            Method::GET,
            "/api/v1/data/account?top=1000",
            Some(&w.app.admin_token),
            Name::B,
        ))
        .await;
    assert!(account_names(&res).contains(B_MARKER));
    // Discovery under the prefix is public.
    let res = w
        .app
        .send(w.req(Method::GET, "/api/v1/discovery", None, Name::A))
        .await;
    let data = res.assert_success(200);
    assert_eq!(data["metadata"]["tenantResolverStrategy"], "path");
    // The data API is not served without the prefix.
    for path in ["/api/v1/data/account", "/api/v1/meta/types"] {
        w.app
            .get_with_key(path, &w.a.key)
            .await
            .assert_error(404, "not_found");
    }
    // An unknown tenant named by the admin.
    w.app
        .admin_get("/t/nobody/api/v1/data/account")
        .await
        .assert_error(404, "tenant_not_found");
    isolation_matrix(&w).await;
}

#[tokio::test]
async fn lookup_strategy_routes_by_custom_domain() {
    let w = World::new(Strategy::Lookup).await;
    let res = w
        .app
        .admin_post(
            "/api/v1/domains",
            json!({"domain": "crm.acme.test", "tenantId": w.a.id}),
        )
        .await;
    let data = res.assert_success(201);
    assert_eq!(data["domain"], "crm.acme.test");
    assert_eq!(data["tenantId"], w.a.id.as_str());
    let via = |host: &'static str| {
        w.app
            .keyed(Method::GET, "/api/v1/data/account?top=1000", &w.a.key)
            .header("host", host)
    };
    let names = account_names(&w.app.send(via("crm.acme.test")).await);
    assert!(names.contains("A-own-account") && !names.contains(B_MARKER));
    // Case and port do not matter in Host.
    let names = account_names(&w.app.send(via("CRM.Acme.test:443")).await);
    assert!(names.contains("A-own-account"));
    w.app
        .send(via("unknown.acme.test"))
        .await
        .assert_error(404, "tenant_not_found");
    // Domain admin API.
    w.app
        .admin_post(
            "/api/v1/domains",
            json!({"domain": "crm.acme.test", "tenantId": w.b.id}),
        )
        .await
        .assert_error(409, "domain_taken");
    for bad in ["not a domain", "", "-bad-.test", "a..b"] {
        w.app
            .admin_post(
                "/api/v1/domains",
                json!({"domain": bad, "tenantId": w.a.id}),
            )
            .await
            .assert_invalid(422, &["domain"]);
    }
    let res = w.app.admin_get("/api/v1/domains").await;
    let listed: BTreeSet<String> = res
        .assert_success(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["domain"].as_str().unwrap().to_owned())
        .collect();
    assert!(listed.contains("crm.acme.test"), "{listed:?}");
    assert!(listed.contains(&w.b.domain), "{listed:?}");
    // A tenant key cannot use the domain admin API (not even to point a domain at itself).
    let refused = [
        w.app
            .send(
                w.app
                    .keyed(Method::POST, "/api/v1/domains", &w.a.key)
                    .json(&json!({"domain": "steal.test", "tenantId": w.a.id})),
            )
            .await,
        w.app.get_with_key("/api/v1/domains", &w.a.key).await,
        w.app
            .delete_with_key(&format!("/api/v1/domains/{}", w.b.domain), &w.a.key)
            .await,
    ];
    for res in refused {
        res.assert_error(403, "forbidden");
        assert!(!res.text.contains(&w.b.id), "{}", res.text);
    }
    // Deleting a domain stops routing it.
    w.app
        .admin_delete("/api/v1/domains/crm.acme.test")
        .await
        .assert_success(200);
    w.app
        .send(via("crm.acme.test"))
        .await
        .assert_error(404, "tenant_not_found");
    w.app
        .admin_delete("/api/v1/domains/crm.acme.test")
        .await
        .assert_status(404);
    isolation_matrix(&w).await;
}

// -------------------------------------------------------------------------------------------------
// 2. The isolation matrix.

/// One attempt of A to reach B.
struct Attempt {
    label: String,
    method: Method,
    path: String,
    body: Option<Value>,
    /// How the request names a tenant.
    name: Name,
    /// Expected refusal.
    status: u16,
    code: &'static str,
}

/// The endpoints, as (label, method, path, body), aimed at B's records and objects.
fn endpoints(b: &Tenant, tag: &str) -> Vec<(String, Method, String, Option<Value>)> {
    let acc = &b.account_id;
    let vault = b.vault_id.as_deref().unwrap();
    let mut list = Vec::new();
    for (object, id, field) in [
        ("account", acc.as_str(), "name"),
        ("vault", vault, "secret"),
    ] {
        let one = format!("/api/v1/data/{object}/{id}");
        let base = format!("/api/v1/data/{object}");
        list.extend([
            ("list".to_owned(), Method::GET, format!("{base}?top=1000"), None),
            (
                "list filtered".to_owned(),
                Method::GET,
                format!("{base}?{field}={}", enc(B_MARKER)),
                None,
            ),
            ("get".to_owned(), Method::GET, one.clone(), None),
            (
                "create".to_owned(),
                Method::POST,
                base.clone(),
                Some(json!({field: format!("intruder-{tag}")})),
            ),
            (
                "patch".to_owned(),
                Method::PATCH,
                one.clone(),
                Some(json!({field: "pwned"})),
            ),
            (
                "put".to_owned(),
                Method::PUT,
                one.clone(),
                Some(json!({field: "pwned"})),
            ),
            ("delete".to_owned(), Method::DELETE, one.clone(), None),
            (
                "query".to_owned(),
                Method::POST,
                format!("{base}/query"),
                Some(json!({"where": {field: B_MARKER}})),
            ),
            (
                "createMany".to_owned(),
                Method::POST,
                format!("{base}/createMany"),
                Some(json!([{field: format!("intruder-{tag}-1")}, {field: format!("intruder-{tag}-2")}])),
            ),
            (
                "batch update".to_owned(),
                Method::POST,
                format!("{base}/batch"),
                Some(json!({"operation": "update", "records": [{"id": id, "data": {field: "pwned"}}]})),
            ),
            (
                "batch delete (mixed)".to_owned(),
                Method::POST,
                format!("{base}/batch"),
                Some(json!({"operations": [{"action": "delete", "id": id}], "options": {"atomic": false, "continueOnError": true}})),
            ),
            (
                "updateMany".to_owned(),
                Method::POST,
                format!("{base}/updateMany"),
                Some(json!({"records": [{"id": id, "data": {field: "pwned"}}]})),
            ),
            (
                "deleteMany".to_owned(),
                Method::POST,
                format!("{base}/deleteMany"),
                Some(json!({"ids": [id]})),
            ),
            (
                "meta item".to_owned(),
                Method::GET,
                format!("/api/v1/meta/object/{object}"),
                None,
            ),
        ]);
    }
    for (i, entry) in list.iter_mut().enumerate() {
        entry.0 = format!("{} #{i}", entry.0);
    }
    list.extend([
        (
            "meta".to_owned(),
            Method::GET,
            "/api/v1/meta".to_owned(),
            None,
        ),
        (
            "meta types".to_owned(),
            Method::GET,
            "/api/v1/meta/types".to_owned(),
            None,
        ),
        (
            "meta items".to_owned(),
            Method::GET,
            "/api/v1/meta/object".to_owned(),
            None,
        ),
    ]);
    list
}

/// What an endpoint aimed at B's ids and objects answers when it reaches A's own tenant; status 0
/// means it is served by A (a read of A's own data, or a write of a new record into A).
fn via_a(label: &str, path: &str) -> (u16, &'static str) {
    if path.contains("/vault") {
        // `vault` exists only in B.
        if path.starts_with("/api/v1/meta/") {
            (404, "metadata_not_found")
        } else {
            (404, "object_not_found")
        }
    } else if ["get ", "patch ", "put ", "delete "]
        .iter()
        .any(|p| label.starts_with(p))
    {
        (404, "record_not_found")
    } else if ["batch update", "updateMany", "deleteMany"]
        .iter()
        .any(|p| label.starts_with(p))
    {
        // Atomic (the default): the whole batch fails with the status of its failure.
        (404, "batch_failed")
    } else {
        (0, "")
    }
}

/// The attempts of A on B under the world's strategy.
fn attempts(w: &World) -> Vec<Attempt> {
    let mut all = Vec::new();
    // (a) Naming B the strategy's way, with A's key: refused before B is touched.
    if w.strategy != Strategy::Token {
        for (label, method, path, body) in endpoints(&w.b, "a") {
            all.push(Attempt {
                label: format!("name B: {label}"),
                method,
                path,
                body,
                name: Name::B,
                status: 403,
                code: "forbidden",
            });
        }
    }
    // (b) Through A's own tenant, with B's record ids and B's object names: not found.
    for (label, method, path, body) in endpoints(&w.b, "b") {
        let (status, code) = via_a(&label, &path);
        all.push(Attempt {
            label: format!("B's ids via A: {label}"),
            method,
            path,
            body,
            name: w.own(Name::A),
            status,
            code,
        });
    }
    // (c) Token strategy: the other strategies' ways of naming B are ignored, never obeyed: the
    // request is A's, answered exactly as in (b).
    if w.strategy == Strategy::Token {
        for (label, method, path, body) in endpoints(&w.b, "c") {
            let (status, code) = via_a(&label, &path);
            all.push(Attempt {
                label: format!("hint B (ignored): {label}"),
                method,
                path,
                body,
                name: Name::B,
                status,
                code,
            });
        }
    }
    all
}

/// Runs every attempt of A on B and checks refusals, leaks and that B is unchanged.
async fn isolation_matrix(w: &World) {
    let before = w.b_state().await;
    let b_ids: Vec<String> = [Some(w.b.account_id.clone()), w.b.vault_id.clone()]
        .into_iter()
        .flatten()
        .collect();
    assert!(
        before.to_string().contains(B_MARKER) && before.to_string().contains(B_VAULT_MARKER),
        "B's state must hold the markers the matrix looks for: {before:#}"
    );
    let list = attempts(w);
    let mut checked = 0;
    for attempt in &list {
        let mut request = w.req(
            attempt.method.clone(),
            &attempt.path,
            Some(&w.a.key),
            attempt.name,
        );
        if w.strategy == Strategy::Token && attempt.name == Name::B {
            // Every other strategy's way of naming B at once.
            request = w
                .app
                .keyed(attempt.method.clone(), &attempt.path, &w.a.key)
                .header("x-tenant-id", &w.b.id)
                .header("host", format!("{}.{BASE_DOMAIN}", w.b.id));
        }
        if let Some(body) = &attempt.body {
            request = request.json(body);
        }
        let res = w.app.send(request).await;
        let context = format!(
            "[{:?}] {}: {} {}",
            w.strategy, attempt.label, attempt.method, attempt.path
        );
        if attempt.status == 0 {
            // Served from A itself: must succeed there, without anything of B; a non-atomic
            // batch on B's ids reports every operation failed.
            assert!(res.status.is_success(), "{context}: {}", res.text);
            if let Some(succeeded) = res.body["data"]["succeeded"].as_u64() {
                assert_eq!(succeeded, 0, "{context}: {}", res.text);
                assert!(
                    res.text.contains("record_not_found"),
                    "{context}: {}",
                    res.text
                );
            }
        } else {
            if attempt.code == "batch_failed" {
                // The failure inside the batch is the missing record.
                assert!(
                    res.text.contains("record_not_found"),
                    "{context}: {}",
                    res.text
                );
            }
            assert_eq!(
                res.status.as_u16(),
                attempt.status,
                "{context}: {}",
                res.text
            );
            assert_eq!(
                res.body["error"]["code"], attempt.code,
                "{context}: {}",
                res.text
            );
            assert_eq!(res.body["success"], false, "{context}: {}", res.text);
        }
        for marker in [B_MARKER, B_VAULT_MARKER] {
            assert!(
                !res.text.contains(marker),
                "{context} leaks {marker}: {}",
                res.text
            );
        }
        // B's ids: never in a refusal that names B; elsewhere never unless the caller wrote them.
        let sent = format!(
            "{}{}",
            attempt.path,
            attempt.body.clone().unwrap_or(Value::Null)
        );
        for id in &b_ids {
            if attempt.status == 403 || !sent.contains(id.as_str()) {
                assert!(
                    !res.text.contains(id.as_str()),
                    "{context} leaks B's id {id}: {}",
                    res.text
                );
            }
        }
        checked += 1;
    }
    assert_eq!(
        w.b_state().await,
        before,
        "[{:?}] B's data changed during the matrix",
        w.strategy
    );
    // A's own account is still there (nothing was deleted from A either).
    let res = w
        .app
        .send(w.req(
            Method::GET,
            &format!("/api/v1/data/account/{}", w.a.account_id),
            Some(&w.a.key),
            w.own(Name::A),
        ))
        .await;
    assert_eq!(res.assert_success(200)["record"]["name"], "A-own-account");
    let minimum = if w.strategy == Strategy::Token {
        40
    } else {
        60
    };
    assert!(checked >= minimum, "the matrix shrank: {checked}");
    println!(
        "isolation matrix [{:?}]: {checked} attempts of A on B checked",
        w.strategy
    );
}

// -------------------------------------------------------------------------------------------------
// 3. Injection.

/// A JSON path as the API writes it (identifier keys dotted, other keys quoted in brackets).
fn jpath(segments: &[&str]) -> String {
    let mut out = String::new();
    for (i, segment) in segments.iter().enumerate() {
        if let Ok(n) = segment.parse::<usize>() {
            out.push_str(&format!("[{n}]"));
            continue;
        }
        let mut chars = segment.chars();
        let plain = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        if plain {
            if i > 0 {
                out.push('.');
            }
            out.push_str(segment);
        } else {
            out.push_str(&format!("[{}]", Value::String((*segment).to_owned())));
        }
    }
    out
}

/// What the database of tenant A holds, seen through the API and directly: per-object totals,
/// every account, and the schema objects of the tenant file.
async fn a_state(w: &World) -> (Value, Value, BTreeSet<(String, String)>) {
    let mut totals = serde_json::Map::new();
    for object in [
        "account",
        "contact",
        "lead",
        "product",
        "opportunity",
        "opportunity_line",
        "activity",
    ] {
        let res = w
            .app
            .get_with_key(&format!("/api/v1/data/{object}?top=1&count=true"), &w.a.key)
            .await;
        totals.insert(object.to_owned(), res.assert_success(200)["total"].clone());
    }
    let res = w
        .app
        .get_with_key("/api/v1/data/account?top=1000&sort=id&count=true", &w.a.key)
        .await;
    let accounts = res.assert_success(200)["records"].clone();
    // Every table and index of the tenant's database, from its own catalog.
    let catalog = match w.app.provider() {
        "postgres" => {
            "SELECT CASE c.relkind WHEN 'i' THEN 'index' ELSE 'table' END, c.relname::text \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i')"
        }
        _ => "SELECT type, name FROM sqlite_master",
    };
    let schema = w
        .app
        .sql(&w.a.id, catalog)
        .await
        .into_iter()
        .map(|row| {
            (
                row[0].as_str().unwrap().to_owned(),
                row[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (Value::Object(totals), accounts, schema)
}

/// What an injection case must answer.
#[derive(Debug, Clone)]
enum Expect {
    /// Refused: status, code, and for a validation error the issue paths.
    Refused(u16, &'static str, Option<Vec<String>>),
    /// Bound as a plain value: 200 with exactly the accounts of these names.
    Matches(BTreeSet<String>),
}

/// The SQL fragments and odd names tried everywhere.
fn payloads() -> Vec<(&'static str, String)> {
    vec![
        ("statement", "account; DROP TABLE account".to_owned()),
        ("quote-or", "name\" OR 1=1 --".to_owned()),
        ("paren-delete", "'); DELETE FROM account; --".to_owned()),
        ("comment", "name/**/".to_owned()),
        ("cyrillic", "n\u{430}me".to_owned()),
        ("cjk", "名前".to_owned()),
        ("nul", "name\0".to_owned()),
        ("over-long", "a".repeat(10_001)),
    ]
}

fn refused(status: u16, code: &'static str) -> Expect {
    Expect::Refused(status, code, None)
}

fn invalid(paths: Vec<String>) -> Expect {
    Expect::Refused(400, "validation_error", Some(paths))
}

#[tokio::test]
async fn sql_fragments_are_refused_or_bound_never_executed() {
    let w = World::new(Strategy::Token).await;
    let key = w.a.key.clone();

    // Stored as plain data, SQL fragments round-trip exactly and an equality finds them.
    let stored = [
        "Robert'); DROP TABLE account;--",
        "name\" OR 1=1 --",
        "'); DELETE FROM account; --",
        "x' OR '1'='1",
        "100% _match_ \\ [glob*?]",
        "n\u{430}me",
        "名前",
    ];
    for value in stored {
        let id = w.create(Name::A, "account", json!({"name": value})).await;
        let res = w
            .app
            .get_with_key(&format!("/api/v1/data/account/{id}"), &key)
            .await;
        assert_eq!(res.assert_success(200)["record"]["name"], value);
        let by_param = w
            .app
            .get_with_key(&format!("/api/v1/data/account?name={}", enc(value)), &key)
            .await;
        let by_filter = w
            .app
            .get_with_key(
                &format!(
                    "/api/v1/data/account?filter={}",
                    enc(&json!(["name", "=", value]).to_string())
                ),
                &key,
            )
            .await;
        let by_ast = w
            .app
            .post_with_key(
                "/api/v1/data/account/query",
                &key,
                json!({"where": {"name": {"$eq": value}}}),
            )
            .await;
        for res in [by_param, by_filter, by_ast] {
            let records = res.assert_success(200)["records"]
                .as_array()
                .unwrap()
                .clone();
            assert_eq!(records.len(), 1, "{value}: {}", res.text);
            assert_eq!(records[0]["id"], id.as_str());
            assert_eq!(records[0]["name"], value);
        }
    }
    // `Robert'); DROP TABLE account;--` is still findable after all of that, and the table exists.
    let before = a_state(&w).await;
    assert!(before
        .2
        .contains(&("table".to_owned(), "account".to_owned())));

    // The cases: (label, method, path, body, expected).
    let mut cases: Vec<(String, Method, String, Option<Value>, Expect)> = Vec::new();
    for (label, p) in payloads() {
        let e = enc(&p);
        let long = p.len() > 10_000;
        // Object names.
        for (what, method, path, body) in [
            ("list", Method::GET, format!("/api/v1/data/{e}"), None),
            (
                "get",
                Method::GET,
                format!("/api/v1/data/{e}/acc_acme"),
                None,
            ),
            (
                "create",
                Method::POST,
                format!("/api/v1/data/{e}"),
                Some(json!({"name": "x"})),
            ),
            (
                "query",
                Method::POST,
                format!("/api/v1/data/{e}/query"),
                Some(json!({})),
            ),
            (
                "deleteMany",
                Method::POST,
                format!("/api/v1/data/{e}/deleteMany"),
                Some(json!({"ids": ["acc_acme"]})),
            ),
            (
                "delete",
                Method::DELETE,
                format!("/api/v1/data/{e}/acc_acme"),
                None,
            ),
        ] {
            cases.push((
                format!("{label}: object name ({what})"),
                method,
                path,
                body,
                refused(404, "object_not_found"),
            ));
        }
        cases.push((
            format!("{label}: meta item name"),
            Method::GET,
            format!("/api/v1/meta/object/{e}"),
            None,
            refused(404, "metadata_not_found"),
        ));
        cases.push((
            format!("{label}: meta type"),
            Method::GET,
            format!("/api/v1/meta/{e}"),
            None,
            refused(404, "metadata_type_not_found"),
        ));
        // Record ids.
        for (what, method, body) in [
            ("get", Method::GET, None),
            ("patch", Method::PATCH, Some(json!({"employees": 1}))),
            ("delete", Method::DELETE, None),
        ] {
            cases.push((
                format!("{label}: record id ({what})"),
                method,
                format!("/api/v1/data/account/{e}"),
                body,
                refused(404, "record_not_found"),
            ));
        }
        // Field names: in a record, a parameter, sort, select, filters.
        cases.push((
            format!("{label}: field in create"),
            Method::POST,
            "/api/v1/data/account".to_owned(),
            Some(json!({"name": format!("ok-{label}"), p.clone(): "x"})),
            invalid(vec![String::new()]),
        ));
        cases.push((
            format!("{label}: field in patch"),
            Method::PATCH,
            "/api/v1/data/account/acc_acme".to_owned(),
            Some(json!({p.clone(): "x"})),
            invalid(vec![String::new()]),
        ));
        cases.push((
            format!("{label}: field in createMany"),
            Method::POST,
            "/api/v1/data/account/createMany".to_owned(),
            Some(json!([{"name": format!("ok-{label}"), p.clone(): 1}])),
            invalid(vec![jpath(&["0"])]),
        ));
        cases.push((
            format!("{label}: field param"),
            Method::GET,
            format!("/api/v1/data/account?{e}=x"),
            None,
            invalid(vec![jpath(&[&p])]),
        ));
        cases.push((
            format!("{label}: sort"),
            Method::GET,
            format!("/api/v1/data/account?sort={e}"),
            None,
            invalid(vec![jpath(&["sort", "0"])]),
        ));
        cases.push((
            format!("{label}: sort desc"),
            Method::GET,
            format!("/api/v1/data/account?orderBy=-{e}"),
            None,
            invalid(vec![jpath(&["orderBy", "0"])]),
        ));
        cases.push((
            format!("{label}: select"),
            Method::GET,
            format!("/api/v1/data/account?select=name,{e}"),
            None,
            invalid(vec![jpath(&["select", "1"])]),
        ));
        cases.push((
            format!("{label}: select on get"),
            Method::GET,
            format!("/api/v1/data/account/acc_acme?select={e}"),
            None,
            invalid(vec![jpath(&["select", "0"])]),
        ));
        cases.push((
            format!("{label}: filter field (array)"),
            Method::GET,
            format!(
                "/api/v1/data/account?filter={}",
                enc(&json!([p, "=", "x"]).to_string())
            ),
            None,
            invalid(vec![jpath(&["filter"])]),
        ));
        cases.push((
            format!("{label}: filter field (object)"),
            Method::GET,
            format!(
                "/api/v1/data/account?filter={}",
                enc(&json!({p.clone(): "x"}).to_string())
            ),
            None,
            invalid(vec![jpath(&["filter", &p])]),
        ));
        cases.push((
            format!("{label}: operator"),
            Method::GET,
            format!(
                "/api/v1/data/account?filter={}",
                enc(&json!(["name", p, "x"]).to_string())
            ),
            None,
            invalid(vec![jpath(&["filter", "1"])]),
        ));
        cases.push((
            format!("{label}: where field"),
            Method::POST,
            "/api/v1/data/account/query".to_owned(),
            Some(json!({"where": {p.clone(): "x"}})),
            invalid(vec![jpath(&["where", &p])]),
        ));
        cases.push((
            format!("{label}: where operator"),
            Method::POST,
            "/api/v1/data/account/query".to_owned(),
            Some(json!({"where": {"name": {p.clone(): "x"}}})),
            invalid(vec![jpath(&["where", "name"])]),
        ));
        cases.push((
            format!("{label}: fields"),
            Method::POST,
            "/api/v1/data/account/query".to_owned(),
            Some(json!({"fields": ["name", p]})),
            invalid(vec![jpath(&["fields", "1"])]),
        ));
        cases.push((
            format!("{label}: orderBy"),
            Method::POST,
            "/api/v1/data/account/query".to_owned(),
            Some(json!({"orderBy": [{"field": p, "order": "asc"}]})),
            invalid(vec![jpath(&["orderBy", "0", "field"])]),
        ));
        // Values: bound, so they match nothing (an over-long one is refused, and so is one with
        // NUL, which no PostgreSQL text can hold: refused the same on every database).
        // (The round trip above stored some of these very strings as account names.)
        let nul = p.contains('\0');
        let value_expect = |paths: Vec<String>, contains: bool| {
            if long || nul {
                invalid(paths)
            } else {
                Expect::Matches(
                    stored
                        .iter()
                        .filter(|s| {
                            if contains {
                                s.contains(p.as_str())
                            } else {
                                **s == p
                            }
                        })
                        .map(|s| (*s).to_owned())
                        .collect(),
                )
            }
        };
        cases.push((
            format!("{label}: value param"),
            Method::GET,
            format!("/api/v1/data/account?name={e}"),
            None,
            value_expect(vec![jpath(&["name"])], false),
        ));
        cases.push((
            format!("{label}: value in filter"),
            Method::GET,
            format!(
                "/api/v1/data/account?filter={}",
                enc(&json!(["name", "=", p]).to_string())
            ),
            None,
            value_expect(vec![jpath(&["filter", "2"])], false),
        ));
        cases.push((
            format!("{label}: value in contains"),
            Method::GET,
            format!(
                "/api/v1/data/account?filter={}",
                enc(&json!(["name", "contains", p]).to_string())
            ),
            None,
            value_expect(vec![jpath(&["filter", "2"])], true),
        ));
        cases.push((
            format!("{label}: value in like"),
            Method::POST,
            "/api/v1/data/account/query".to_owned(),
            Some(json!({"where": {"name": {"$like": p}}})),
            value_expect(vec![jpath(&["where", "name", "$like"])], false),
        ));
        cases.push((
            format!("{label}: value in in"),
            Method::POST,
            "/api/v1/data/account/query".to_owned(),
            Some(json!({"where": {"name": {"$in": [p, "zzz"]}}})),
            value_expect(vec![jpath(&["where", "name", "$in", "0"])], false),
        ));
    }
    // Deep nesting (depth 50) and huge `in` lists. Nesting is refused where it passes MAX_DEPTH
    // (16), at both children of that group.
    let deep = |root: &str, step: &str, last: &str| format!("{root}{}{last}", step.repeat(15));
    let mut deep_array = json!(["name", "=", "x"]);
    let mut deep_object = json!({"name": "x"});
    for _ in 0..50 {
        deep_array = json!(["and", deep_array, ["name", "!=", "y"]]);
        deep_object = json!({"$or": [deep_object, {"name": "y"}]});
    }
    cases.push((
        "deep array filter".into(),
        Method::GET,
        format!(
            "/api/v1/data/account?filter={}",
            enc(&deep_array.to_string())
        ),
        None,
        invalid(vec![
            deep("filter", "[1]", "[1]"),
            deep("filter", "[1]", "[2]"),
        ]),
    ));
    cases.push((
        "deep where".into(),
        Method::POST,
        "/api/v1/data/account/query".into(),
        Some(json!({"where": deep_object})),
        invalid(vec![
            deep("where", ".$or[0]", ".$or[0]"),
            deep("where", ".$or[0]", ".$or[1]"),
        ]),
    ));
    let many: Vec<String> = (0..5_000).map(|i| format!("n{i}' OR 1=1 --")).collect();
    cases.push((
        "in 5000 (where)".into(),
        Method::POST,
        "/api/v1/data/account/query".into(),
        Some(json!({"where": {"name": {"$in": many}}})),
        invalid(vec![jpath(&["where", "name", "$in"])]),
    ));
    let some: Vec<String> = (0..1_001).map(|i| format!("n{i}")).collect();
    cases.push((
        "in 1001 (filter)".into(),
        Method::GET,
        format!(
            "/api/v1/data/account?filter={}",
            enc(&json!(["name", "in", some]).to_string())
        ),
        None,
        invalid(vec![jpath(&["filter", "2"])]),
    ));
    cases.push((
        "nin 5000 (where)".into(),
        Method::POST,
        "/api/v1/data/account/query".into(),
        Some(json!({"where": {"name": {"$nin": (0..5_000).collect::<Vec<_>>()}}})),
        invalid(vec![jpath(&["where", "name", "$nin"])]),
    ));

    let mut failures = Vec::new();
    for (label, method, path, body, expect) in &cases {
        let mut request = w.app.keyed(method.clone(), path, &key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let res = w.app.send(request).await;
        let paths = res.body["error"]["details"]["issues"].as_array().map(|a| {
            a.iter()
                .map(|i| i["path"].as_str().unwrap_or("?").to_owned())
                .collect::<Vec<_>>()
        });
        let got = format!(
            "{} {} {:?}",
            res.status.as_u16(),
            res.body["error"]["code"],
            paths
        );
        let short = |t: &str| t.chars().take(300).collect::<String>();
        if res.status.is_server_error() {
            failures.push(format!("{label}: 5xx {}", short(&res.text)));
            continue;
        }
        for text in SQL_ERROR_TEXT {
            if res.text.to_lowercase().contains(&text.to_lowercase()) {
                failures.push(format!(
                    "{label}: SQL error text {text:?} in {}",
                    short(&res.text)
                ));
            }
        }
        match expect {
            Expect::Matches(names) => {
                let found: Option<BTreeSet<String>> =
                    res.body["data"]["records"].as_array().map(|records| {
                        records
                            .iter()
                            .map(|r| r["name"].as_str().unwrap_or("?").to_owned())
                            .collect()
                    });
                if res.status != 200 || found.as_ref() != Some(names) {
                    failures.push(format!(
                        "{label}: expected 200 with {names:?}, got {got} {found:?}: {}",
                        short(&res.text)
                    ));
                }
            }
            Expect::Refused(status, code, want) => {
                let mut ok = res.status.as_u16() == *status
                    && res.body["success"] == false
                    && res.body["error"]["code"] == *code;
                if let Some(want) = want {
                    let mut want = want.clone();
                    want.sort();
                    let mut have = paths.clone().unwrap_or_default();
                    have.sort();
                    ok &= have == want;
                }
                if !ok {
                    failures.push(format!(
                        "{label}: expected {status} {code} {want:?}, got {got}: {}",
                        short(&res.text)
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} injection cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!("injection: {} cases checked", cases.len());
    let after = a_state(&w).await;
    assert_eq!(after.0, before.0, "row counts changed");
    assert_eq!(after.1, before.1, "accounts changed");
    assert_eq!(after.2, before.2, "the tenant file's schema changed");
}

// -------------------------------------------------------------------------------------------------
// 4. Authentication and the control plane.

#[tokio::test]
async fn credentials_are_required_and_confined_to_their_tenant() {
    let w = World::new(Strategy::Token).await;
    for path in [
        "/api/v1/data/account",
        "/api/v1/meta/types",
        "/api/v1/data/account/acc_acme",
    ] {
        let res = w.app.send(w.app.request(Method::GET, path)).await;
        res.assert_error(401, "unauthorized");
        let challenge = res
            .headers
            .get("www-authenticate")
            .expect("WWW-Authenticate");
        assert!(
            challenge.to_str().unwrap().starts_with("Bearer"),
            "{challenge:?}"
        );
    }
    for (label, value) in [
        ("unknown key", format!("Bearer osk_{}", "0".repeat(40))),
        (
            "truncated key",
            format!("Bearer {}", &w.a.key[..w.a.key.len() - 1]),
        ),
        ("prefix only", "Bearer osk_".to_owned()),
        ("garbage", "Bearer not-a-key".to_owned()),
        ("SQL", "Bearer osk_' OR 1=1 --".to_owned()),
        ("basic", "Basic dXNlcjpwYXNz".to_owned()),
        ("no token", "Bearer ".to_owned()),
        ("raw key", w.a.key.clone()),
    ] {
        let res = w
            .app
            .send(
                w.app
                    .request(Method::GET, "/api/v1/data/account")
                    .header("authorization", value),
            )
            .await;
        assert_eq!(res.status, 401, "{label}: {}", res.text);
        res.assert_error(401, "unauthorized");
        assert!(res.headers.contains_key("www-authenticate"), "{label}");
        assert!(!res.text.contains(B_MARKER));
    }
    // A's key on B's control plane.
    for (method, path) in [
        (Method::GET, format!("/api/v1/tenants/{}", w.b.id)),
        (Method::GET, format!("/api/v1/tenants/{}/keys", w.b.id)),
        (
            Method::GET,
            format!("/api/v1/tenants/{}/deployments", w.b.id),
        ),
        (Method::GET, format!("/api/v1/tenants/{}/usage", w.b.id)),
        (Method::POST, format!("/api/v1/tenants/{}/keys", w.b.id)),
        (Method::DELETE, format!("/api/v1/tenants/{}", w.b.id)),
    ] {
        let mut request = w.app.keyed(method.clone(), &path, &w.a.key);
        if method == Method::POST {
            request = request.json(&json!({"name": "stolen"}));
        }
        let res = w.app.send(request).await;
        assert_eq!(res.status, 403, "{method} {path}: {}", res.text);
        res.assert_error(403, "forbidden");
        assert!(!res.text.contains(&w.b.key), "{}", res.text);
    }
    assert_eq!(w.app.status(&w.b.id).await, "active");
    // B still works with its own key.
    let res = w
        .app
        .get_with_key("/api/v1/data/account?top=1000", &w.b.key)
        .await;
    assert!(account_names(&res).contains(B_MARKER));
}
