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

/// `(METHOD, path)` of every route the router in `source` registers, read from the source text.
///
/// The router is `fn router` (or, for a snippet without it, the whole text). Inside a function
/// body the parser follows:
/// - `.route("PATH", get(..).post(..))`: registered at the current prefix;
/// - a call of another function of the file that returns a `Router` (`tenant_api(&state)`,
///   `tenant_routes(state)`): its routes at the current prefix, wherever the call stands (in a
///   `.merge(..)`, or as the value of an `if`/`else` branch: both branches are registered, since
///   the configuration picks one at run time and the document lists every variant);
/// - `let name = Router::new()...;` then `name`: the local router's routes where `name` is used;
/// - `.nest("PREFIX", expr)`: the routes of `expr` under `PREFIX`.
///
/// Anything else that adds routes (`.nest_service(`, `.route_service(`, a `.merge(` or `.nest(`
/// of something it cannot follow, a non-literal prefix) fails, so no route goes unchecked.
fn registered_routes(source: &str) -> BTreeSet<(String, String)> {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for unsupported in [".route_service(", ".nest_service("] {
        assert!(
            !code.contains(unsupported),
            "lib.rs uses {unsupported}: teach this parser to read it so its routes are checked"
        );
    }
    let fns = router_fns(&code);
    let mut routes = BTreeSet::new();
    let entry = fns.get("router").map_or(code.as_str(), String::as_str);
    let mut parser = RouteParser {
        fns: &fns,
        routes: &mut routes,
    };
    parser.read(entry, "", &BTreeMap::new(), 0);
    routes
}

/// Index of the delimiter closing the one at `open` (`(`/`)` or `{`/`}`), skipping string
/// literals.
fn closing(text: &str, open: usize) -> usize {
    let bytes = text.as_bytes();
    let (o, c) = match bytes[open] {
        b'(' => (b'(', b')'),
        b'{' => (b'{', b'}'),
        other => panic!("not an opening delimiter: {}", other as char),
    };
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b if b == o => depth += 1,
            b if b == c => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    panic!("unbalanced {} in {text}", o as char)
}

/// The bodies of the file's functions that return a `Router`, by name.
fn router_fns(code: &str) -> BTreeMap<String, String> {
    let mut fns = BTreeMap::new();
    let mut rest = code;
    while let Some(at) = rest.find("fn ") {
        let preceded = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let after = &rest[at + 3..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let Some(open) = after.find('{') else { break };
        let signature = &after[..open];
        if !preceded && !name.is_empty() && signature.contains("-> Router") {
            let close = closing(after, open);
            fns.insert(name, after[open + 1..close].to_owned());
            rest = &after[close..];
        } else {
            rest = &after[name.len().max(1)..];
        }
    }
    fns
}

struct RouteParser<'a> {
    fns: &'a BTreeMap<String, String>,
    routes: &'a mut BTreeSet<(String, String)>,
}

impl RouteParser<'_> {
    fn add(&mut self, method: &str, path: String) {
        assert!(
            self.routes.insert((method.to_uppercase(), path.clone())),
            "{method} {path} registered twice"
        );
    }

    /// The routes registered by `text` (a function body or an expression) under `prefix`.
    fn read(&mut self, text: &str, prefix: &str, outer: &BTreeMap<String, String>, depth: usize) {
        assert!(depth < 8, "router functions call each other too deeply");
        let mut text = text.to_owned();
        let mut locals = outer.clone();
        // `let name = Router::new()...;`: kept aside until `name` is used.
        while let Some(at) = find_local(&text) {
            let after = &text[at + 4..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let value_at = at + 4 + after.find('=').expect("let without =") + 1;
            let end = statement_end(&text, value_at);
            locals.insert(name, text[value_at..end].to_owned());
            text.replace_range(at..=end, "");
        }
        // `.nest("PREFIX", expr)`.
        while let Some(at) = text.find(".nest(") {
            let open = at + ".nest(".len() - 1;
            let close = closing(&text, open);
            let args = text[open + 1..close].trim_start().to_owned();
            let nested_prefix = args
                .strip_prefix('"')
                .and_then(|a| a.split_once('"'))
                .map(|(p, _)| p.to_owned())
                .unwrap_or_else(|| panic!(".nest( without a literal prefix: {args}"));
            let expr = args[nested_prefix.len() + 2..]
                .trim_start()
                .strip_prefix(',')
                .expect(".nest(prefix, router)")
                .to_owned();
            let before = self.routes.len();
            self.read(
                &expr,
                &format!("{prefix}{nested_prefix}"),
                &locals,
                depth + 1,
            );
            assert!(
                self.routes.len() > before,
                ".nest(\"{nested_prefix}\", {expr}): no routes found in it"
            );
            text.replace_range(at..=close, "");
        }
        // `.route("PATH", handlers)`.
        while let Some(at) = text.find(".route(") {
            let open = at + ".route(".len() - 1;
            let close = closing(&text, open);
            let args = &text[open + 1..close];
            let start = args.find('"').expect("route without a string path");
            let end = start + 1 + args[start + 1..].find('"').expect("unterminated path");
            let path = &args[start + 1..end];
            let methods = routing_methods(&args[end + 1..]);
            assert!(
                !methods.is_empty(),
                "no get/post/... found for route {path}: {args}"
            );
            for method in methods {
                self.add(&method, format!("{prefix}{path}"));
            }
            text.replace_range(at..=close, "");
        }
        // Calls of router functions and uses of local routers.
        let mut merged = 0usize;
        for (i, ident, called) in identifiers(&text) {
            let qualified = text[..i].ends_with("::") || text[..i].ends_with('.');
            if qualified {
                continue;
            }
            if called && self.fns.contains_key(&ident) {
                let body = self.fns[&ident].clone();
                self.read(&body, prefix, &BTreeMap::new(), depth + 1);
                merged += 1;
            } else if !called && locals.contains_key(&ident) {
                let value = locals[&ident].clone();
                self.read(&value, prefix, &locals, depth + 1);
                merged += 1;
            }
        }
        let merges = text.matches(".merge(").count();
        assert!(
            merged >= merges,
            "{merges} .merge( but only {merged} router(s) found to merge in: {text}"
        );
    }
}

/// Where `let NAME = Router::new()` starts in `text`.
fn find_local(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = text[from..].find("let ") {
        let at = from + at;
        let after = &text[at + 4..];
        if let Some((_, value)) = after.split_once('=') {
            let name = after.split('=').next().unwrap_or_default().trim();
            if name.chars().all(|c| c.is_alphanumeric() || c == '_')
                && value.trim_start().starts_with("Router::new()")
            {
                return Some(at);
            }
        }
        from = at + 4;
    }
    None
}

/// Index of the `;` ending the statement whose value starts at `from`.
fn statement_end(text: &str, from: usize) -> usize {
    let mut i = from;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'{' => i = closing(text, i),
            b';' => return i,
            _ => {}
        }
        i += 1;
    }
    panic!("unterminated let statement in {text}")
}

/// `(index, identifier, followed by '(')` of every identifier outside string literals.
fn identifiers(text: &str) -> Vec<(usize, String, bool)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if bytes[i].is_ascii_alphabetic() || bytes[i] == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let called = bytes.get(i) == Some(&b'(');
            out.push((start, text[start..i].to_owned(), called));
        } else {
            i += 1;
        }
    }
    out
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
            // `.layer(...)` on a method router (a route's own body limit) adds no method.
            if called && !qualified && ident != "layer" {
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
fn the_parser_follows_router_functions_merges_and_nests() {
    let source = r#"
        pub fn router(state: AppState) -> Router {
            Router::new()
                .route("/root", get(x))
                .merge(tenant_api(&state))
                .fallback(not_found)
        }
        fn tenant_routes(state: &AppState) -> Router<AppState> {
            Router::new()
                .route("/api/{object}", get(data::list).post(data::create))
                .route_layer(middleware::from_fn(gate))
        }
        fn tenant_api(state: &AppState) -> Router<AppState> {
            if state.path {
                let extra = Router::new().route("/disc", get(d));
                Router::new().nest("/t/{tenant}", tenant_routes(state).merge(extra))
            } else {
                tenant_routes(state)
            }
        }
        async fn not_found(request: Request) -> ApiError {
            ApiError::new("no route for {} {}")
        }
    "#;
    let expected: BTreeSet<(String, String)> = [
        ("GET", "/root"),
        ("GET", "/api/{object}"),
        ("POST", "/api/{object}"),
        ("GET", "/t/{tenant}/api/{object}"),
        ("POST", "/t/{tenant}/api/{object}"),
        ("GET", "/t/{tenant}/disc"),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_owned(), p.to_owned()))
    .collect();
    assert_eq!(registered_routes(source), expected);
}

#[test]
#[should_panic(expected = "router(s) found to merge")]
fn the_parser_refuses_a_merge_it_cannot_follow() {
    registered_routes(
        r#"fn router() -> Router { Router::new().route("/a", get(x)).merge(elsewhere::routes()) }"#,
    );
}

#[test]
#[should_panic(expected = "without a literal prefix")]
fn the_parser_refuses_a_computed_nest_prefix() {
    registered_routes(
        r#"fn router() -> Router { Router::new().nest(PREFIX, Router::new().route("/a", get(x))) }"#,
    );
}

#[test]
fn the_tenant_routes_are_registered_at_the_root_and_under_the_tenant_path() {
    let routes = registered_routes(LIB_RS);
    for (method, path) in [
        ("GET", "/api/v1/data/{object}"),
        ("DELETE", "/api/v1/data/{object}/{id}"),
        ("GET", "/api/v1/meta/{type}/{name}"),
    ] {
        for variant in [path.to_owned(), format!("/t/{{tenant}}{path}")] {
            assert!(
                routes.contains(&(method.to_owned(), variant.clone())),
                "{method} {variant} not found by the parser: {routes:?}"
            );
        }
    }
    for discovery in ["/.well-known/objectstack", "/api/v1/discovery", "/api/v1"] {
        for variant in [discovery.to_owned(), format!("/t/{{tenant}}{discovery}")] {
            assert!(routes.contains(&("GET".to_owned(), variant)));
        }
    }
    // Control-plane routes are not nested.
    assert!(!routes
        .iter()
        .any(|(_, p)| p.starts_with("/t/{tenant}/api/v1/tenants")));
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
                // libSQL clients parse Hrana errors (`{message, code}`), not the envelope; a
                // panic's 500 is the envelope everywhere.
                let expected = if op["tags"] == json!(["hrana"]) && status != "500" {
                    "#/components/schemas/HranaError"
                } else {
                    "#/components/schemas/ErrorEnvelope"
                };
                assert_eq!(
                    schema, expected,
                    "{name} {status}: errors use the error envelope (Hrana errors on Hrana routes)"
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
        let schemes_of = |requirement: &Value| -> Vec<String> {
            requirement.as_object().unwrap().keys().cloned().collect()
        };
        let unprefixed = path.strip_prefix("/t/{tenant}").unwrap_or(&path);
        if path.starts_with("/api/v1/tenants") {
            assert!(!security.is_empty(), "{name}: tenant routes need a token");
        } else if path.starts_with("/api/v1/domains") {
            assert_eq!(
                security.iter().map(schemes_of).collect::<Vec<_>>(),
                vec![vec!["adminToken".to_owned()]],
                "{name}: domains are admin only"
            );
        } else if unprefixed.starts_with("/api/v1/data/") || unprefixed.starts_with("/api/v1/meta")
        {
            assert!(
                security
                    .iter()
                    .any(|r| schemes_of(r) == vec!["tenantKey".to_owned()]),
                "{name}: the data API takes a tenant API key"
            );
            let responses = op["responses"].as_object().unwrap();
            for status in ["401", "403", "404", "429", "500", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{name}: the tenant gate can answer {status}"
                );
            }
        } else if op["tags"] == json!(["hrana"]) && method == "POST" {
            assert!(
                security
                    .iter()
                    .any(|r| schemes_of(r) == vec!["tenantKey".to_owned()]),
                "{name}: Hrana takes a tenant API key"
            );
        } else {
            assert!(
                security.is_empty(),
                "{name}: discovery and operations routes are public"
            );
        }
        if path.starts_with("/t/{tenant}") {
            assert!(
                doc["paths"][unprefixed][method.to_lowercase()].is_object(),
                "{name}: documented under /t/{{tenant}} but not at the root"
            );
        }
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

    // The data API, after deploying the example CRM bundle.
    let deployed = http
        .post(format!("{base}/api/v1/tenants/openapi-doc/deployments"))
        .bearer_auth(&token)
        .json(&json!({"bundle": crm_bundle()}))
        .send()
        .await
        .unwrap();
    assert_eq!(deployed.status(), 201, "{}", deployed.text().await.unwrap());
    for (method, template, request, expected) in [
        (
            "GET",
            "/api/v1/data/{object}",
            http.get(format!(
                "{base}/api/v1/data/account?sort=-name&top=2&filter=%5B%22employees%22%2C%22%3E%22%2C0%5D"
            )),
            200,
        ),
        (
            "POST",
            "/api/v1/data/{object}",
            http.post(format!("{base}/api/v1/data/account"))
                .json(&json!({"id": "acc_openapi", "name": "OpenAPI Inc", "employees": 3})),
            201,
        ),
        (
            "GET",
            "/api/v1/data/{object}/{id}",
            http.get(format!("{base}/api/v1/data/account/acc_openapi?select=name")),
            200,
        ),
        (
            "PATCH",
            "/api/v1/data/{object}/{id}",
            http.patch(format!("{base}/api/v1/data/account/acc_openapi"))
                .json(&json!({"employees": 4})),
            200,
        ),
        (
            "POST",
            "/api/v1/data/{object}/query",
            http.post(format!("{base}/api/v1/data/account/query"))
                .json(&json!({"where": {"employees": {"$gte": 4}}, "fields": ["name"], "count": false})),
            200,
        ),
        (
            "POST",
            "/api/v1/data/{object}/createMany",
            http.post(format!("{base}/api/v1/data/account/createMany"))
                .json(&json!([{"name": "Many One"}, {"name": "Many Two"}])),
            201,
        ),
        (
            "POST",
            "/api/v1/data/{object}/batch",
            http.post(format!("{base}/api/v1/data/account/batch")).json(&json!({
                "operation": "update",
                "records": [{"id": "acc_openapi", "data": {"employees": 5}}],
                "options": {"returnRecords": true}
            })),
            200,
        ),
        (
            "POST",
            "/api/v1/data/{object}/batch",
            http.post(format!("{base}/api/v1/data/account/batch")).json(&json!({
                "operation": "create",
                "records": [{"data": {"name": "Batch One"}}, {"data": {"employees": 1}}]
            })),
            400,
        ),
        (
            "POST",
            "/api/v1/data/{object}",
            http.post(format!("{base}/api/v1/data/account"))
                .json(&json!({"name": "OpenAPI Inc"})),
            409,
        ),
        (
            "POST",
            "/api/v1/data/{object}",
            http.post(format!("{base}/api/v1/data/account"))
                .json(&json!({"name": 7})),
            400,
        ),
        (
            "GET",
            "/api/v1/data/{object}/{id}",
            http.get(format!("{base}/api/v1/data/account/acc_nope")),
            404,
        ),
        (
            "GET",
            "/api/v1/data/{object}",
            http.get(format!("{base}/api/v1/data/nope")),
            404,
        ),
        (
            "DELETE",
            "/api/v1/data/{object}/{id}",
            http.delete(format!("{base}/api/v1/data/account/acc_openapi")),
            200,
        ),
        (
            "GET",
            "/api/v1/meta/{type}/{name}",
            http.get(format!("{base}/api/v1/meta/object/account")),
            200,
        ),
        (
            "GET",
            "/api/v1/meta/{type}",
            http.get(format!("{base}/api/v1/meta/widget")),
            404,
        ),
    ] {
        let res = request.bearer_auth(&key).send().await.unwrap();
        let status = res.status().as_u16();
        let limited = res.headers().contains_key("x-ratelimit-limit");
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, expected, "{method} {template}: {body:#}");
        documented.check(method, template, status, &body);
        if status < 300 {
            assert!(limited, "{method} {template}: no X-RateLimit-Limit");
        }
    }

    // Archives: the export (a raw document), its restore under another org, and refusals.
    let exported = http
        .get(format!("{base}/api/v1/tenants/openapi-doc/archive"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let status = exported.status().as_u16();
    let archive: Value = exported.json().await.unwrap();
    assert_eq!(status, 200, "{archive:#}");
    documented.check("GET", "/api/v1/tenants/{id}/archive", status, &archive);
    let mut tampered = archive.clone();
    tampered["objects"]["account"][0]["name"] = json!("changed");
    for (request, method, template, expected) in [
        (
            http.post(format!("{base}/api/v1/tenants/restore"))
                .bearer_auth(&token)
                .json(&json!({"archive": archive, "orgId": "openapi-copy"})),
            "POST",
            "/api/v1/tenants/restore",
            201,
        ),
        (
            http.post(format!("{base}/api/v1/tenants/restore"))
                .bearer_auth(&token)
                .json(&json!({"archive": archive})),
            "POST",
            "/api/v1/tenants/restore",
            409,
        ),
        (
            http.post(format!("{base}/api/v1/tenants/restore"))
                .bearer_auth(&token)
                .json(&json!({"archive": tampered, "orgId": "openapi-bad"})),
            "POST",
            "/api/v1/tenants/restore",
            422,
        ),
        (
            http.post(format!("{base}/api/v1/tenants/restore"))
                .bearer_auth(&key)
                .json(&json!({"archive": archive, "orgId": "openapi-key"})),
            "POST",
            "/api/v1/tenants/restore",
            403,
        ),
        (
            http.get(format!("{base}/api/v1/tenants/nobody/archive"))
                .bearer_auth(&token),
            "GET",
            "/api/v1/tenants/{id}/archive",
            404,
        ),
    ] {
        let res = request.send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, expected, "{method} {template}: {body:#}");
        documented.check(method, template, status, &body);
    }

    // The data API's gate, before any tenant: no credential, the admin token without a tenant.
    for (request, expected) in [
        (http.get(format!("{base}/api/v1/data/account")), 401),
        (
            http.get(format!("{base}/api/v1/data/account"))
                .bearer_auth(&token),
            400,
        ),
    ] {
        let res = request.send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, expected, "{body:#}");
        documented.check("GET", "/api/v1/data/{object}", status, &body);
    }

    for template in ["/.well-known/objectstack", "/api/v1/discovery", "/api/v1"] {
        let res = http.get(format!("{base}{template}")).send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 200, "{template}: {body:#}");
        documented.check("GET", template, status, &body);
        assert_eq!(body["data"]["metadata"]["tenantResolverStrategy"], "token");
    }

    app.shutdown().await.unwrap();
}

fn crm_bundle() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/crm.bundle.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// With the `path` strategy the tenant API lives under `/t/{tenant}` (as documented there), and
/// not at the root.
#[tokio::test]
async fn the_path_strategy_serves_the_documented_tenant_paths() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = AppOptions::new(dir.path().join("data"));
    options.listen = "127.0.0.1:0".parse().unwrap();
    options.shutdown_grace = std::time::Duration::from_millis(200);
    options.settings.resolver = objectos_spec::types::turso::TenantResolverStrategy::Path;
    let app = RunningApp::start(options).await.expect("server starts");
    let base = format!("http://{}", app.addr);
    let token = app.new_admin_token.clone().unwrap();
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{base}/api/v1/tenants"))
        .bearer_auth(&token)
        .json(&json!({"orgId": "pathdoc", "plan": "pro", "region": "eu-west"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    let key = body["credentials"]["apiKey"].as_str().unwrap().to_owned();
    let deployed = http
        .post(format!("{base}/api/v1/tenants/pathdoc/deployments"))
        .bearer_auth(&token)
        .json(&json!({"bundle": crm_bundle()}))
        .send()
        .await
        .unwrap();
    assert_eq!(deployed.status(), 201);

    let documented = Documented::new();
    for (template, path, credential, expected) in [
        (
            "/t/{tenant}/api/v1/data/{object}",
            "/t/pathdoc/api/v1/data/account?top=1",
            Some(&key),
            200,
        ),
        (
            "/t/{tenant}/api/v1/data/{object}",
            "/t/pathdoc/api/v1/data/account?count=false",
            Some(&token),
            200,
        ),
        (
            "/t/{tenant}/api/v1/data/{object}",
            "/t/someone-else/api/v1/data/account",
            Some(&key),
            403,
        ),
        (
            "/t/{tenant}/api/v1/meta/types",
            "/t/pathdoc/api/v1/meta/types",
            Some(&key),
            200,
        ),
        (
            "/t/{tenant}/.well-known/objectstack",
            "/t/pathdoc/.well-known/objectstack",
            None,
            200,
        ),
    ] {
        let mut request = http.get(format!("{base}{path}"));
        if let Some(credential) = credential {
            request = request.bearer_auth(credential);
        }
        let res = request.send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, expected, "{path}: {body:#}");
        documented.check("GET", template, status, &body);
    }

    let root = http
        .get(format!("{base}/api/v1/data/account"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(root.status(), 404);
    let body: Value = root.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found", "{body:#}");

    app.shutdown().await.unwrap();
}

/// One SSE event of `text` (the stream as received) per `event:`/`id:`/`data:` block, as the
/// object ProvisioningSseEvent documents; keep-alive comments are skipped.
fn sse_events(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut event = serde_json::Map::new();
            for line in block.lines().filter(|l| !l.starts_with(':')) {
                let (field, value) = line.split_once(':')?;
                let value = value.strip_prefix(' ').unwrap_or(value);
                event.insert(field.to_owned(), json!(value));
            }
            (!event.is_empty()).then_some(Value::Object(event))
        })
        .collect()
}

/// `GET /events` is documented as a stream of events with a schema for each (not a bare string),
/// and the events a real server sends match it, their `data` included.
#[tokio::test]
async fn the_event_stream_answers_as_its_item_schema_says() {
    let doc = doc();
    let media = &doc["paths"]["/api/v1/tenants/{id}/events"]["get"]["responses"]["200"]["content"]
        ["text/event-stream"];
    assert_eq!(
        media["schema"]["$ref"], "#/components/schemas/ProvisioningSseEvent",
        "the event stream's schema describes its events: {media:#}"
    );
    let item = &doc["components"]["schemas"]["ProvisioningSseEvent"];
    let data_schema = item["properties"]["data"]["contentSchema"]["$ref"]
        .as_str()
        .expect("data names the schema of its JSON");
    assert_eq!(data_schema, "#/components/schemas/ProvisioningEvent");

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
    let created = http
        .post(format!("{base}/api/v1/tenants"))
        .bearer_auth(&token)
        .json(&json!({"orgId": "sse-doc"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    // The tenant is settled, so the stream ends after replaying its history.
    let res = http
        .get(format!("{base}/api/v1/tenants/sse-doc/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let text = res.text().await.unwrap();
    let events = sse_events(&text);
    assert!(
        events.len() >= 6,
        "status and step events expected:\n{text}"
    );

    let documented = Documented::new();
    for event in &events {
        let errors = documented.errors("#/components/schemas/ProvisioningSseEvent", event);
        assert!(errors.is_empty(), "{event:#}: {errors:?}");
        let data: Value = serde_json::from_str(event["data"].as_str().unwrap()).unwrap();
        let errors = documented.errors(data_schema, &data);
        assert!(errors.is_empty(), "{data:#}: {errors:?}");
        assert_eq!(event["id"], json!(data["seq"].to_string()));
    }
    // Not vacuous: an unknown event kind or a data line that is not a ProvisioningEvent is refused.
    let wrong = json!({"event": "progress", "id": "1", "data": "{}"});
    assert!(!documented
        .errors("#/components/schemas/ProvisioningSseEvent", &wrong)
        .is_empty());
    assert!(!documented
        .errors(data_schema, &json!({"seq": 1}))
        .is_empty());
    app.shutdown().await.unwrap();
}

/// The documented `X-Request-Id` bound is the one the server applies: an id of
/// `MAX_REQUEST_ID_LEN` visible ASCII characters is echoed, one character more (or a space) gets a
/// fresh id instead, and every id the server answers with fits the documented response header.
#[tokio::test]
async fn the_request_id_bound_is_documented_and_enforced() {
    use objectos_server::request_id::MAX_REQUEST_ID_LEN;
    let doc = doc();
    let parameter = &doc["components"]["parameters"]["XRequestIdHeader"]["schema"];
    let header = &doc["components"]["headers"]["XRequestId"]["schema"];
    for schema in [parameter, header] {
        assert_eq!(schema["maxLength"], json!(MAX_REQUEST_ID_LEN), "{schema}");
        assert_eq!(schema["minLength"], json!(1), "{schema}");
        assert!(schema["pattern"].is_string(), "{schema}");
    }

    let dir = tempfile::tempdir().unwrap();
    let mut options = AppOptions::new(dir.path().join("data"));
    options.listen = "127.0.0.1:0".parse().unwrap();
    options.shutdown_grace = std::time::Duration::from_millis(200);
    let app = RunningApp::start(options).await.expect("server starts");
    let http = reqwest::Client::new();
    let documented = Documented::new();
    let longest = "r".repeat(MAX_REQUEST_ID_LEN);
    let too_long = "r".repeat(MAX_REQUEST_ID_LEN + 1);
    for (sent, kept) in [
        (Some(longest.as_str()), true),
        (Some("trace-me/1:2"), true),
        (Some(too_long.as_str()), false),
        (Some("two words"), false),
        (None, false),
    ] {
        let mut request = http.get(format!("http://{}/healthz", app.addr));
        if let Some(id) = sent {
            request = request.header("x-request-id", id);
        }
        let res = request.send().await.unwrap();
        assert_eq!(res.status(), 200);
        let answered = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(
            Some(answered.as_str()) == sent,
            kept,
            "{sent:?} -> {answered}"
        );
        if !kept {
            assert!(answered.starts_with("req_"), "{answered}");
        }
        let errors = documented.errors("#/components/headers/XRequestId/schema", &json!(answered));
        assert!(errors.is_empty(), "{answered}: {errors:?}");
        if let Some(id) = sent {
            // The documented parameter schema accepts exactly what the server keeps.
            let accepted = documented
                .errors(
                    "#/components/parameters/XRequestIdHeader/schema",
                    &json!(id),
                )
                .is_empty();
            assert_eq!(accepted, kept, "{id}");
        }
    }
    app.shutdown().await.unwrap();
}
