#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The OpenAPI document (`src/openapi.json`) against the code:
//! - it is OpenAPI 3.1 with every local `$ref` resolving, and its copies of the protocol schemas equal
//!   the spec files they carry the `$id` of;
//! - its (method, path) pairs are exactly the routes `src/lib.rs` registers, read from the source
//!   text, so a route added without documentation fails here;
//! - every operation has a summary, a success response and an error response, and declares its path
//!   parameters and a known security scheme;
//! - a running server serves exactly this document, and real responses validate against the
//!   schemas it documents for them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use objectos_server::app::{AppOptions, RunningApp};
use serde_json::{json, Value};

const DOC: &str = include_str!("../src/openapi.json");
const LIB_RS: &str = include_str!("../src/lib.rs");
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn doc() -> Value {
    serde_json::from_str(DOC).expect("src/openapi.json is not valid JSON")
}

/// `(METHOD, path)` of every `.route("PATH", get(..).post(..))` in the router's source.
fn registered_routes(source: &str) -> BTreeSet<(String, String)> {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for unsupported in [".nest(", ".merge(", ".route_service(", ".nest_service("] {
        assert!(
            !code.contains(unsupported),
            "lib.rs uses {unsupported}: teach this parser to read it so its routes are checked"
        );
    }
    let mut routes = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(start) = rest.find(".route(") {
        let after = &rest[start + ".route(".len()..];
        let mut depth = 1usize;
        let mut end = None;
        for (i, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let args = &after[..end.expect("unbalanced parentheses after .route(")];
        let open = args.find('"').expect("route without a string path");
        let close = open + 1 + args[open + 1..].find('"').expect("unterminated path");
        let path = &args[open + 1..close];
        let handlers = &args[close + 1..];
        let methods = routing_methods(handlers);
        assert!(
            !methods.is_empty(),
            "no get/post/... found for route {path}: {handlers}"
        );
        for method in methods {
            assert!(
                routes.insert((method.to_uppercase(), path.to_owned())),
                "{method} {path} registered twice"
            );
        }
        rest = &after[end.unwrap_or(0)..];
    }
    routes
}

/// Method-router calls (`get(`, `.post(`...) in a route's handler expression; a path segment
/// (`tenants::delete(`) does not count, and an unknown routing function (`any(`, `on(`) is refused.
fn routing_methods(handlers: &str) -> Vec<String> {
    let bytes = handlers.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_alphabetic() || bytes[i] == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let ident = &handlers[start..i];
            let called = bytes.get(i) == Some(&b'(');
            let qualified = start > 0 && bytes[start - 1] == b':';
            if called && !qualified {
                assert!(
                    METHODS.contains(&ident),
                    "unsupported routing function {ident}( in {handlers}"
                );
                found.push(ident.to_owned());
            }
        } else {
            i += 1;
        }
    }
    found
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                ops.push((method.to_uppercase(), path.clone(), op));
            }
        }
    }
    ops
}

/// Follows a local `$ref` (`#/components/...`) if `value` is one.
fn deref<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.strip_prefix('#').expect("local $ref"))
            .unwrap_or_else(|| panic!("dangling $ref {r}")),
        None => value,
    }
}

fn collect_refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_1_and_self_consistent() {
    let doc = doc();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("$ref {r} is not local to the document"));
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
    }
}

#[test]
fn protocol_schemas_are_copies_of_the_spec_files() {
    let doc = doc();
    let spec_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../objectos-spec/schemas");
    let mut copies = 0;
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let Some(id) = schema.get("$id").and_then(Value::as_str) else {
            continue;
        };
        let relative = id
            .strip_prefix("https://schema.objectstack.io/v4.0.1/")
            .unwrap_or_else(|| panic!("{name}: unexpected $id {id}"));
        let path = spec_dir.join(relative);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{name}: cannot read {}: {e}", path.display()));
        let original: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            schema, &original,
            "components.schemas.{name} differs from {relative}"
        );
        copies += 1;
    }
    assert!(copies >= 5, "expected the protocol schemas in components");
}

#[test]
fn every_registered_route_is_documented_and_nothing_else() {
    let routes = registered_routes(LIB_RS);
    assert!(
        routes.contains(&("POST".to_owned(), "/api/v1/tenants".to_owned()))
            && routes.contains(&(
                "DELETE".to_owned(),
                "/api/v1/tenants/{id}/keys/{key_id}".to_owned()
            )),
        "the lib.rs parser found: {routes:?}"
    );
    let documented: BTreeSet<(String, String)> = operations(&doc())
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let missing: Vec<_> = routes.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routes).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes without documentation: {missing:?}; documented but not routed: {extra:?}"
    );
}

#[test]
fn the_parser_reads_chained_and_multiline_routes() {
    let source = r#"
        // .route("/commented", get(x))
        Router::new()
            .route(
                "/a/{id}",
                get(tenants::show::<S, D>).delete(tenants::destroy::<S, D>),
            )
            .route("/b", post(keys::create::<S, D>))
    "#;
    let expected: BTreeSet<(String, String)> =
        [("GET", "/a/{id}"), ("DELETE", "/a/{id}"), ("POST", "/b")]
            .into_iter()
            .map(|(m, p)| (m.to_owned(), p.to_owned()))
            .collect();
    assert_eq!(registered_routes(source), expected);
}

#[test]
fn every_operation_is_complete() {
    let doc = doc();
    let schemes: BTreeSet<&str> = doc["components"]["securitySchemes"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let name = format!("{method} {path}");
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.trim().is_empty()),
            "{name}: no summary"
        );
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no operationId"));
        assert!(
            ids.insert(id.to_owned()),
            "{name}: duplicate operationId {id}"
        );

        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{name}: no success response"
        );
        assert!(
            responses
                .keys()
                .any(|s| s.starts_with('4') || s.starts_with('5') || s == "default"),
            "{name}: no error response"
        );
        for (status, response) in responses {
            let response = deref(&doc, response);
            assert!(
                response["description"].is_string(),
                "{name} {status}: no description"
            );
            if status.starts_with('4') || status.starts_with('5') {
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(
                    schema, "#/components/schemas/ErrorEnvelope",
                    "{name} {status}: errors use the error envelope"
                );
            }
        }

        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| deref(&doc, p))
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let templated: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        assert_eq!(declared, templated, "{name}: path parameters");

        let security = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no security"));
        for requirement in security {
            for scheme in requirement.as_object().unwrap().keys() {
                assert!(
                    schemes.contains(scheme.as_str()),
                    "{name}: unknown scheme {scheme}"
                );
            }
        }
        assert_eq!(
            security.is_empty(),
            !path.starts_with("/api/v1/tenants"),
            "{name}: tenant routes need a token, operations routes none"
        );
    }
}

/// Validates a real response against the schema the document gives for it.
struct Documented {
    doc: Value,
    registry: jsonschema::Registry<'static>,
}

impl Documented {
    fn new() -> Self {
        let doc = doc();
        let registry = jsonschema::Registry::new()
            .draft(jsonschema::Draft::Draft202012)
            .add("urn:objectos:openapi", doc.clone())
            .expect("document as a resource")
            .prepare()
            .expect("registry");
        Self { doc, registry }
    }

    /// Why `body` does not match the schema at `reference` (`#/components/schemas/...`).
    fn errors(&self, reference: &str, body: &Value) -> Vec<String> {
        let schema = json!({"$ref": format!("urn:objectos:openapi{reference}")});
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .with_registry(&self.registry)
            .build(&schema)
            .expect("response schema");
        validator
            .iter_errors(body)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect()
    }

    #[track_caller]
    fn check(&self, method: &str, template: &str, status: u16, body: &Value) {
        let op = &self.doc["paths"][template][method.to_lowercase()];
        let response = op["responses"]
            .get(status.to_string())
            .unwrap_or_else(|| panic!("{method} {template} answered {status}, not documented"));
        let response = deref(&self.doc, response);
        let reference = response["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .expect("a JSON response schema");
        let errors = self.errors(reference, body);
        assert!(
            errors.is_empty(),
            "{method} {template} {status} does not match {reference}:\n  {}\n{body:#}",
            errors.join("\n  ")
        );
        if let Some(codes) = response["x-error-codes"].as_array() {
            assert!(
                codes.contains(&body["error"]["code"]),
                "{method} {template} {status}: code {} not documented",
                body["error"]["code"]
            );
        }
    }
}

#[test]
fn the_response_schemas_are_not_vacuous() {
    let documented = Documented::new();
    let created = "#/components/schemas/ProvisioningCreatedEnvelope";
    let no_credentials = json!({"success": true, "data": {}, "meta": {}});
    assert!(documented.errors(created, &no_credentials).len() > 1);
    let error = "#/components/schemas/ErrorEnvelope";
    let unknown_code = json!({"success": false, "error": {
        "code": "no_such_code", "message": "m", "category": "validation", "details": null}});
    assert_eq!(documented.errors(error, &unknown_code).len(), 1);
    let quota = json!({"success": false, "error": {
        "code": "quota_exceeded", "message": "m", "category": "quota",
        "details": {"allowed": false, "exceededQuota": "maxObjects"}, "requestId": "req_1"}});
    assert!(documented.errors(error, &quota).is_empty());
}

#[tokio::test]
async fn the_server_serves_this_document_and_answers_as_it_says() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = AppOptions::new(dir.path().join("data"));
    options.listen = "127.0.0.1:0".parse().unwrap();
    options.shutdown_grace = std::time::Duration::from_millis(200);
    let app = RunningApp::start(options).await.expect("server starts");
    let base = format!("http://{}", app.addr);
    let token = app
        .new_admin_token
        .clone()
        .expect("a fresh data dir makes a token");
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();

    let served = http
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(
        served.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    assert_eq!(served.text().await.unwrap(), DOC, "served document differs");

    let documented = Documented::new();
    let mut answers: BTreeMap<&str, (u16, Value)> = BTreeMap::new();
    let created = http
        .post(format!("{base}/api/v1/tenants"))
        .bearer_auth(&token)
        .json(&json!({"orgId": "openapi-doc", "plan": "pro", "region": "eu-west"}))
        .send()
        .await
        .unwrap();
    let status = created.status().as_u16();
    let body: Value = created.json().await.unwrap();
    assert_eq!(status, 201, "{body:#}");
    documented.check("POST", "/api/v1/tenants", status, &body);
    let key = body["credentials"]["apiKey"].as_str().unwrap().to_owned();

    for (template, path) in [
        ("/api/v1/tenants", "/api/v1/tenants"),
        ("/api/v1/tenants/{id}", "/api/v1/tenants/openapi-doc"),
        (
            "/api/v1/tenants/{id}/provisioning",
            "/api/v1/tenants/openapi-doc/provisioning",
        ),
        (
            "/api/v1/tenants/{id}/usage",
            "/api/v1/tenants/openapi-doc/usage",
        ),
        (
            "/api/v1/tenants/{id}/quota",
            "/api/v1/tenants/openapi-doc/quota",
        ),
        (
            "/api/v1/tenants/{id}/keys",
            "/api/v1/tenants/openapi-doc/keys",
        ),
        ("/api/v1/tenants/{id}", "/api/v1/tenants/nobody"),
        ("/healthz", "/healthz"),
        ("/readyz", "/readyz"),
    ] {
        let res = http
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        documented.check("GET", template, status, &body);
        answers.insert(path, (status, body));
    }
    assert_eq!(answers["/api/v1/tenants/nobody"].0, 404);

    let refused = [
        (
            http.get(format!("{base}/api/v1/tenants")),
            "GET",
            "/api/v1/tenants",
            401,
        ),
        (
            http.get(format!("{base}/api/v1/tenants")).bearer_auth(&key),
            "GET",
            "/api/v1/tenants",
            403,
        ),
        (
            http.post(format!("{base}/api/v1/tenants/openapi-doc/resume"))
                .bearer_auth(&token),
            "POST",
            "/api/v1/tenants/{id}/resume",
            409,
        ),
        (
            http.post(format!("{base}/api/v1/tenants/openapi-doc/keys"))
                .bearer_auth(&key)
                .json(&json!({"scope": "owner"})),
            "POST",
            "/api/v1/tenants/{id}/keys",
            422,
        ),
    ];
    for (request, method, template, expected) in refused {
        let res = request.send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, expected, "{method} {template}: {body:#}");
        documented.check(method, template, status, &body);
    }

    app.shutdown().await.unwrap();
}
