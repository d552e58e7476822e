//! The OpenAPI document: it is served, it is well-formed OpenAPI 3, and it
//! agrees with the router both ways (every documented operation is served,
//! every served route is documented).

use std::collections::{BTreeMap, BTreeSet};

use actix_web::dev::ServiceResponse;
use actix_web::http::{header, Method};
use actix_web::test::{self, TestRequest};
use domain::MockMinigroups;
use http_api::dto::{CreateBody, EventBody, MinigroupBody, RecreateBody, UpdateBody};
use http_api::{ProblemKind, APP_ROUTES, OPENAPI_PATH, ROUTES};
use serde_json::{json, Value};

use crate::helpers::*;

/// The documented operations: `(METHOD, path) → operation`.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if [
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ]
            .contains(&method.as_str())
            {
                out.insert((method.to_uppercase(), path.clone()), op.clone());
            }
        }
    }
    out
}

fn document() -> Value {
    serde_json::from_str(http_api::openapi::json().unwrap()).unwrap()
}

/// A concrete URI for a path template.
fn sample_uri(path: &str) -> String {
    path.replace("{minigroup_id}", CLASS_ID)
        .replace("{audience}", AUDIENCE)
        .replace("{scope}", "lesson-42")
}

fn app_routes() -> BTreeSet<(String, String)> {
    APP_ROUTES
        .iter()
        .map(|(m, p)| (m.as_str().to_owned(), (*p).to_owned()))
        .collect()
}

/// A service that only answers readiness (no other route reaches it without
/// a token).
fn ready_service() -> MockMinigroups {
    let mut svc = MockMinigroups::new();
    svc.expect_ready().returning(|| Ok(()));
    svc
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let target = doc
                .pointer(
                    r.strip_prefix('#')
                        .unwrap_or_else(|| panic!("non-local $ref {r}")),
                )
                .unwrap_or_else(|| panic!("unresolved $ref {r}"));
            resolve(doc, target)
        }
        None => v,
    }
}

/// Every `$ref` in `v`, with the JSON pointer where it occurs.
fn refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "$ref" {
                    out.push((at.to_owned(), child.as_str().unwrap_or_default().to_owned()));
                } else {
                    refs(child, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The status and, for a problem answer, its `type`.
async fn problem_type(res: ServiceResponse) -> (u16, Option<String>) {
    let status = res.status().as_u16();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == "application/problem+json");
    let bytes = test::read_body(res).await;
    let kind = is_problem
        .then(|| serde_json::from_slice::<Value>(&bytes).ok())
        .flatten()
        .and_then(|b| b["type"].as_str().map(str::to_owned));
    (status, kind)
}

#[actix_web::test]
async fn the_document_is_served_as_json_without_a_token() {
    let app = app!(MockMinigroups::new());
    let res = test::call_service(&app, TestRequest::get().uri(OPENAPI_PATH).to_request()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get(header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
    assert!(res.headers().contains_key("x-request-id"));
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body, document());
    assert_eq!(
        body,
        serde_json::to_value(http_api::openapi::document()).unwrap()
    );
}

#[test]
fn the_document_is_well_formed_openapi_3() {
    let doc = document();
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3."), "openapi: {version}");
    assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(doc["info"]["version"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));

    // Every $ref is local and resolves.
    let mut all = Vec::new();
    refs(&doc, "", &mut all);
    assert!(!all.is_empty());
    for (at, r) in &all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{at}: non-local $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "{at}: unresolved $ref {r}");
    }

    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let mut ids = BTreeSet::new();
    for ((method, path), op) in operations(&doc) {
        let at = format!("{method} {path}");
        assert!(
            ids.insert(op["operationId"].as_str().unwrap().to_owned()),
            "{at}: duplicate operationId"
        );
        // Path templates and path parameters match, each parameter required.
        let templated: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| resolve(&doc, p))
            .filter(|p| p["in"] == "path")
            .inspect(|p| assert_eq!(p["required"], true, "{at}: {p}"))
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(templated, declared, "{at}: path parameters");
        // Responses: at least one, each with a description and status key.
        let responses = op["responses"].as_object().unwrap();
        assert!(!responses.is_empty(), "{at}");
        for (status, response) in responses {
            assert!(status.parse::<u16>().is_ok(), "{at}: status {status}");
            let response = resolve(&doc, response);
            assert!(response["description"].is_string(), "{at} {status}");
        }
        for requirement in op["security"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            for name in requirement.as_object().unwrap().keys() {
                assert!(schemes.contains_key(name), "{at}: unknown scheme {name}");
            }
        }
    }
    let bearer = &schemes[http_api::openapi::SECURITY_SCHEME];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
    assert_eq!(bearer["bearerFormat"], "JWT");
}

#[test]
fn every_error_kind_is_a_documented_problem_response() {
    let doc = document();
    // The problem schema.
    let problem = &doc["components"]["schemas"]["Problem"];
    let required: BTreeSet<&str> = problem["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        required,
        BTreeSet::from(["type", "title", "status", "detail"])
    );
    let kinds: Vec<&str> = problem["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let all: Vec<&str> = ProblemKind::ALL.iter().map(ProblemKind::as_str).collect();
    assert_eq!(kinds, all);

    // Every error response: problem+json, examples of its own status.
    // `answered` collects the kinds an operation can answer, by status.
    let mut answered = BTreeSet::new();
    for ((method, path), op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().unwrap() {
            let code: u16 = status.parse().unwrap();
            if code < 400 {
                continue;
            }
            let response = resolve(&doc, response);
            let content = response["content"].as_object().unwrap();
            assert_eq!(
                content.keys().collect::<Vec<_>>(),
                ["application/problem+json"],
                "{method} {path} {status}"
            );
            let media = &content["application/problem+json"];
            assert_eq!(
                resolve(&doc, &media["schema"]),
                problem,
                "{method} {path} {status}"
            );
            for example in media["examples"].as_object().unwrap().values() {
                let value = &example["value"];
                assert_eq!(value["status"], code, "{method} {path}: {value}");
                answered.insert((value["type"].as_str().unwrap().to_owned(), code));
            }
        }
    }
    // Every kind of the contract is answered by some operation, with its
    // status; the crate's additions are documented as reusable responses.
    for kind in ProblemKind::ALL {
        let code = kind.status().as_u16();
        if kind.is_contractual() || kind == ProblemKind::PayloadTooLarge {
            assert!(
                answered.contains(&(kind.as_str().to_owned(), code)),
                "{kind} ({code}) is answered by no documented operation"
            );
        }
        let in_components = doc["components"]["responses"]
            .as_object()
            .unwrap()
            .values()
            .any(|r| {
                r["content"]["application/problem+json"]["examples"]
                    .as_object()
                    .is_some_and(|ex| {
                        ex.values().any(|e| {
                            e["value"]["type"] == kind.as_str() && e["value"]["status"] == code
                        })
                    })
            });
        assert!(in_components, "{kind}: no reusable response");
    }
}

/// Reverse direction: `configure` registers exactly `ROUTES`; each of them
/// must be documented, and every documented operation must be in `ROUTES`
/// or be one the app serves (`APP_ROUTES`).
#[test]
fn the_documented_operations_are_the_route_table() {
    let doc = document();
    let documented: BTreeSet<(String, String)> = operations(&doc).into_keys().collect();
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "served, not documented: {undocumented:?}"
    );
    let expected: BTreeSet<_> = served.union(&app_routes()).cloned().collect();
    let unserved: Vec<_> = documented.difference(&expected).collect();
    assert!(unserved.is_empty(), "documented, not served: {unserved:?}");
    // The 8 routes of contract §4, the probes, the document and /metrics.
    assert_eq!(documented.len(), 12, "{documented:?}");
}

/// Forward direction, through the real router: every documented operation
/// (but the app's own) is answered by its route, not by the `not_found` /
/// `method_not_allowed` fallbacks; the app's own are not served here.
#[actix_web::test]
async fn every_documented_operation_is_served() {
    let app = app!(ready_service());
    let app_routes = app_routes();
    for (method, path) in operations(&document()).into_keys() {
        let uri = sample_uri(&path);
        let req = TestRequest::default()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&uri)
            .to_request();
        let (status, kind) = problem_type(test::call_service(&app, req).await).await;
        let fallback = matches!(kind.as_deref(), Some("not_found" | "method_not_allowed"));
        if app_routes.contains(&(method.clone(), path.clone())) {
            assert_eq!(
                (status, kind.as_deref()),
                (404, Some("not_found")),
                "{method} {uri}: served by the app, must not be routed here"
            );
        } else {
            assert!(
                !fallback,
                "{method} {uri}: documented but answered {status} {kind:?}"
            );
        }
    }
}

/// Every other method on a documented path is `405 method_not_allowed`,
/// with `Allow` listing exactly the documented methods; an undocumented path
/// is `404 not_found`.
#[actix_web::test]
async fn undocumented_methods_and_paths_are_not_served() {
    let app = app!(ready_service());
    let app_routes = app_routes();
    let mut by_path: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (method, path) in operations(&document()).into_keys() {
        if !app_routes.contains(&(method.clone(), path.clone())) {
            by_path.entry(path).or_default().push(method);
        }
    }
    for (path, methods) in &by_path {
        let uri = sample_uri(path);
        for other in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if methods.iter().any(|m| m == other) {
                continue;
            }
            let req = TestRequest::default()
                .method(Method::from_bytes(other.as_bytes()).unwrap())
                .uri(&uri)
                .to_request();
            let res = test::call_service(&app, req).await;
            let allow: BTreeSet<String> = res
                .headers()
                .get(header::ALLOW)
                .map(|v| v.to_str().unwrap().split(", ").map(str::to_owned).collect())
                .unwrap_or_default();
            let res = json_of(res).await;
            assert_problem(&res, 405, "method_not_allowed");
            let documented: BTreeSet<String> = methods.iter().cloned().collect();
            assert_eq!(allow, documented, "{other} {uri}: Allow");
        }
    }
    for uri in ["/api/v1", "/api/v1/minigroups/x/y/z", "/api/v2/minigroups"] {
        let res =
            json_of(test::call_service(&app, TestRequest::get().uri(uri).to_request()).await).await;
        assert_problem(&res, 404, "not_found");
    }
}

/// The bearer scheme is required exactly on the `/api/v1` minigroup routes,
/// and those are exactly the ones that answer 401 without a token.
#[actix_web::test]
async fn security_is_documented_where_a_token_is_required() {
    let doc = document();
    let app = app!(ready_service());
    let scheme = http_api::openapi::SECURITY_SCHEME;
    let ops = operations(&doc);
    for route in ROUTES {
        let op = ops
            .get(&(route.method.as_str().to_owned(), route.path.to_owned()))
            .unwrap_or_else(|| panic!("{} {}: undocumented", route.method, route.path));
        let secured = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get(scheme).is_some()));
        assert_eq!(
            secured, route.authenticated,
            "{} {}",
            route.method, route.path
        );
        assert_eq!(
            route.authenticated,
            route.path.starts_with("/api/v1/") && route.path != OPENAPI_PATH,
            "{}",
            route.path
        );
        let req = TestRequest::default()
            .method(route.method.to_http())
            .uri(&sample_uri(route.path))
            .to_request();
        let (status, kind) = problem_type(test::call_service(&app, req).await).await;
        assert_eq!(
            (
                status == 401,
                kind.as_deref() == Some("authentication_failed")
            ),
            (route.authenticated, route.authenticated),
            "{} {}: {status} {kind:?}",
            route.method,
            route.path
        );
        if route.authenticated {
            assert!(
                op["responses"]["401"].is_object(),
                "{}: 401 undocumented",
                route.path
            );
        }
    }
    for (method, path) in APP_ROUTES {
        let op = &ops[&(method.as_str().to_owned(), (*path).to_owned())];
        assert!(op.get("security").is_none(), "{path}");
    }
    assert!(doc.get("security").is_none(), "no global security");
}

/// Each operation's request body and success answer are the wire types.
#[test]
fn bodies_and_answers_are_documented() {
    let doc = document();
    let ops = operations(&doc);
    let body = |m: &str, p: &str| {
        let op = &ops[&(m.to_owned(), p.to_owned())];
        op.get("requestBody").map(|b| {
            let b = resolve(&doc, b);
            (
                b["content"]["application/json"]["schema"]["$ref"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                b["required"] == true,
            )
        })
    };
    let answer = |m: &str, p: &str, status: &str, media: &str| {
        let op = &ops[&(m.to_owned(), p.to_owned())];
        let r = resolve(&doc, &op["responses"][status]);
        let s = &r["content"][media]["schema"];
        s["$ref"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| s["type"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("{m} {p} {status}: no {media} schema"))
    };
    let schema = |name: &str| format!("#/components/schemas/{name}");
    let by_id = "/api/v1/minigroups/{minigroup_id}";
    let by_pair = "/api/v1/audiences/{audience}/minigroups/{scope}";

    assert_eq!(
        body("POST", "/api/v1/minigroups"),
        Some((schema("CreateBody"), true))
    );
    assert_eq!(body("PUT", by_id), Some((schema("UpdateBody"), true)));
    assert_eq!(body("PUT", by_pair), Some((schema("UpdateBody"), true)));
    let events = format!("{by_id}/events");
    let recreate = format!("{by_id}/recreate");
    let download = format!("{by_id}/download");
    assert_eq!(body("POST", &events), Some((schema("EventBody"), true)));
    assert_eq!(
        body("POST", &recreate),
        Some((schema("RecreateBody"), false))
    );
    for (m, p) in [("GET", by_id), ("GET", by_pair), ("GET", download.as_str())] {
        assert_eq!(body(m, p), None, "{m} {p}");
    }

    let json = "application/json";
    let mg = schema("MinigroupBody");
    assert_eq!(answer("POST", "/api/v1/minigroups", "201", json), mg);
    for (m, p) in [
        ("GET", by_id),
        ("GET", by_pair),
        ("PUT", by_id),
        ("PUT", by_pair),
    ] {
        assert_eq!(answer(m, p, "200", json), mg, "{m} {p}");
    }
    assert_eq!(answer("POST", &recreate, "200", json), mg);
    assert_eq!(answer("POST", &events, "201", json), schema("EmptyBody"));
    assert_eq!(
        answer("GET", &download, "200", json),
        schema("DownloadBody")
    );
    assert_eq!(answer("GET", "/healthz", "200", json), schema("StatusBody"));
    assert_eq!(answer("GET", "/readyz", "200", json), schema("StatusBody"));
    assert_eq!(answer("GET", OPENAPI_PATH, "200", json), "object");
    assert_eq!(answer("GET", "/metrics", "200", "text/plain"), "string");
}

fn props(schema: &Value) -> BTreeSet<String> {
    schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn required(schema: &Value) -> BTreeSet<String> {
    schema["required"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The request schemas say what the DTOs accept: fields, required ones,
/// defaults, `time`, and no unknown fields.
#[test]
fn request_schemas_match_the_dtos() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    for name in ["CreateBody", "UpdateBody", "EventBody", "RecreateBody"] {
        assert_eq!(
            schemas[name]["additionalProperties"], false,
            "{name}: unknown fields are rejected"
        );
    }
    let create = &schemas["CreateBody"];
    assert_eq!(
        props(create),
        set(&[
            "scope",
            "audience",
            "host",
            "time",
            "tags",
            "reserve",
            "locked_chat"
        ])
    );
    assert_eq!(required(create), set(&["scope", "audience", "host"]));
    assert_eq!(create["properties"]["locked_chat"]["default"], true);
    assert_eq!(create["properties"]["reserve"]["minimum"], 0);
    let update = &schemas["UpdateBody"];
    assert_eq!(props(update), set(&["time", "reserve", "host"]));
    assert_eq!(required(update), set(&[]));
    assert_eq!(update["minProperties"], 1);
    for field in ["time", "reserve", "host"] {
        let ty = &update["properties"][field]["type"];
        assert!(ty.is_string(), "update {field}: null is rejected: {ty}");
    }
    let event = &schemas["EventBody"];
    assert_eq!(
        props(event),
        set(&[
            "type",
            "set",
            "label",
            "attribute",
            "data",
            "is_claim",
            "is_persistent"
        ])
    );
    assert_eq!(required(event), set(&["type", "data"]));
    assert_eq!(event["properties"]["is_claim"]["default"], false);
    assert_eq!(event["properties"]["is_persistent"]["default"], true);
    assert!(
        event["properties"]["data"].get("type").is_none(),
        "data: any JSON"
    );
    let recreate = &schemas["RecreateBody"];
    assert_eq!(props(recreate), set(&["time", "locked_chat"]));
    assert_eq!(required(recreate), set(&[]));
    assert_eq!(recreate["properties"]["locked_chat"]["default"], true);

    // `time`: exactly two nullable int64.
    for (schema, nullable) in [
        (create, true),
        (update, false),
        (recreate, true),
        (&schemas["MinigroupBody"], false),
    ] {
        let time = &schema["properties"]["time"];
        let ty = if nullable {
            json!(["array", "null"])
        } else {
            json!("array")
        };
        assert_eq!(time["type"], ty, "{time}");
        assert_eq!(time["minItems"], 2);
        assert_eq!(time["maxItems"], 2);
        assert_eq!(time["items"]["type"], json!(["integer", "null"]));
        assert_eq!(time["items"]["format"], "int64");
    }

    // Each documented example is a body the route accepts.
    let example = |name: &str| serde_json::to_vec(&schemas[name]["example"]).unwrap();
    http_api::body::parse::<CreateBody>(&example("CreateBody"))
        .unwrap()
        .into_domain()
        .unwrap();
    http_api::body::parse::<UpdateBody>(&example("UpdateBody"))
        .unwrap()
        .into_domain()
        .unwrap();
    http_api::body::parse::<EventBody>(&example("EventBody"))
        .unwrap()
        .into_domain()
        .unwrap();
    http_api::body::parse::<RecreateBody>(&example("RecreateBody"))
        .unwrap()
        .into_domain()
        .unwrap();
}

/// The minigroup schema describes what the serializer writes.
#[test]
fn the_minigroup_schema_matches_its_serialization() {
    let doc = document();
    let schema = &doc["components"]["schemas"]["MinigroupBody"];
    let real_time = resolve(&doc, &schema["properties"]["real_time"]);
    let full = serde_json::to_value(MinigroupBody::from(&full())).unwrap();
    let bare = serde_json::to_value(MinigroupBody::from(&bare())).unwrap();
    let keys = |v: &Value| -> BTreeSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&full), props(schema));
    assert_eq!(keys(&bare), required(schema));
    assert_eq!(keys(&full["real_time"]), props(real_time));
    assert_eq!(keys(&bare["real_time"]), required(real_time));
    assert_eq!(schema["example"], full_json());
}
