//! Bad input: 400 `invalid_payload` (413 past the limit), and the use case is
//! never called. The mocks have no expectations, so any call would panic.

use actix_web::http::header;
use actix_web::test::{self, TestRequest};
use domain::MockMinigroups;
use serde_json::{json, Value};

use crate::helpers::*;

fn create_body() -> Value {
    json!({"scope": "s", "audience": AUDIENCE, "host": "t.usr.example.org"})
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

/// Sends `body` as JSON with `method` to `uri`; expects 400 and returns the detail.
async fn rejected(method: &str, uri: &str, body: Value) -> String {
    let app = app!(MockMinigroups::new());
    let req = TestRequest::default()
        .method(method.parse().unwrap())
        .uri(uri)
        .insert_header(bearer())
        .set_json(&body)
        .to_request();
    let res = json_of(test::call_service(&app, req).await).await;
    assert_problem(&res, 400, "invalid_payload")
}

fn by_id(suffix: &str) -> String {
    format!("/api/v1/minigroups/{CLASS_ID}{suffix}")
}

#[actix_web::test]
async fn create_rejects_bad_fields() {
    let cases = [
        (with(create_body(), "unknown", json!(1)), "unknown"),
        (with(create_body(), "scope", json!("")), "scope"),
        (with(create_body(), "scope", json!("a/b")), "scope"),
        (
            with(create_body(), "audience", json!("x".repeat(256))),
            "audience",
        ),
        (with(create_body(), "host", json!("nodot")), "host"),
        (with(create_body(), "time", json!([20, 10])), "start"),
        (with(create_body(), "time", json!([10, 10])), "start"),
        (with(create_body(), "time", json!([1, 2, 3])), "time"),
        (with(create_body(), "time", json!([1])), "time"),
        (with(create_body(), "time", json!(["1", 2])), "time"),
        (with(create_body(), "reserve", json!(-1)), "reserve"),
        (with(create_body(), "reserve", json!(1.5)), "reserve"),
        (with(create_body(), "reserve", json!("10")), "reserve"),
        (with(create_body(), "tags", json!([1])), "tags"),
        (
            with(create_body(), "locked_chat", json!("yes")),
            "locked_chat",
        ),
        (
            json!({"audience": AUDIENCE, "host": "t.usr.example.org"}),
            "scope",
        ),
    ];
    for (body, mention) in cases {
        let detail = rejected("POST", "/api/v1/minigroups", body.clone()).await;
        assert!(detail.contains(mention), "{body} -> {detail}");
    }
}

#[actix_web::test]
async fn update_needs_a_field_and_rejects_nulls() {
    for uri in [
        by_id(""),
        "/api/v1/audiences/usr.example.org/minigroups/s".to_owned(),
    ] {
        let detail = rejected("PUT", &uri, json!({})).await;
        assert!(detail.contains("at least one"), "{detail}");
        for field in ["time", "reserve", "host"] {
            let detail = rejected("PUT", &uri, json!({ field: null })).await;
            assert!(
                detail.contains(field) && detail.contains("null"),
                "{detail}"
            );
        }
        let detail = rejected("PUT", &uri, json!({"reserve": 1, "host": null})).await;
        assert!(detail.contains("host"), "{detail}");
        let cases = [
            json!({"reserve": -5}),
            json!({"time": [5, 1]}),
            json!({"time": [1, 2, 3]}),
            json!({"host": "x"}),
            json!({"reserve": 1, "tags": {}}),
        ];
        for body in cases {
            rejected("PUT", &uri, body).await;
        }
    }
}

#[actix_web::test]
async fn events_need_type_and_data() {
    let uri = by_id("/events");
    let cases = [
        (json!({"data": 1}), "type"),
        (json!({"type": "x"}), "data"),
        (json!({"type": "", "data": 1}), "type"),
        (json!({"type": "x", "data": 1, "extra": true}), "extra"),
        (
            json!({"type": "x", "data": 1, "is_claim": "no"}),
            "is_claim",
        ),
    ];
    for (body, mention) in cases {
        let detail = rejected("POST", &uri, body.clone()).await;
        assert!(detail.contains(mention), "{body} -> {detail}");
    }
}

#[actix_web::test]
async fn recreate_rejects_bad_bodies() {
    let uri = by_id("/recreate");
    rejected("POST", &uri, json!({"time": [3, 1]})).await;
    rejected("POST", &uri, json!({"locked": true})).await;
    rejected("POST", &uri, json!([])).await;

    let app = app!(MockMinigroups::new());
    let req = TestRequest::post()
        .uri(&uri)
        .insert_header(bearer())
        .insert_header((header::CONTENT_TYPE, "text/plain"))
        .set_payload("{}")
        .to_request();
    let res = json_of(test::call_service(&app, req).await).await;
    assert_problem(&res, 400, "invalid_payload");
}

#[actix_web::test]
async fn malformed_uuids_are_400() {
    let app = app!(MockMinigroups::new());
    let requests = [
        TestRequest::get().uri("/api/v1/minigroups/not-a-uuid"),
        TestRequest::put()
            .uri("/api/v1/minigroups/not-a-uuid")
            .set_json(json!({"reserve": 1})),
        TestRequest::post()
            .uri("/api/v1/minigroups/123/events")
            .set_json(json!({"type": "x", "data": 1})),
        TestRequest::post().uri("/api/v1/minigroups/123/recreate"),
        TestRequest::get().uri("/api/v1/minigroups/zzz/download"),
    ];
    for req in requests {
        let req = req.insert_header(bearer()).to_request();
        let res = json_of(test::call_service(&app, req).await).await;
        let detail = assert_problem(&res, 400, "invalid_payload");
        assert!(detail.contains("UUID"), "{detail}");
    }
}

#[actix_web::test]
async fn bad_path_segments_are_400() {
    let app = app!(MockMinigroups::new());
    for uri in [
        "/api/v1/audiences/usr%2Fexample/minigroups/s",
        "/api/v1/audiences/usr.example.org/minigroups/a%2Fb",
    ] {
        let req = TestRequest::get()
            .uri(uri)
            .insert_header(bearer())
            .to_request();
        let res = json_of(test::call_service(&app, req).await).await;
        let detail = assert_problem(&res, 400, "invalid_payload");
        assert!(detail.contains('/'), "{detail}");
    }
}

#[actix_web::test]
async fn bodies_must_be_json_objects_with_a_json_content_type() {
    let app = app!(MockMinigroups::new());
    let cases: [(Option<&str>, &str, &str); 6] = [
        (Some("application/json"), "{\"scope\": ", "not valid JSON"),
        (Some("application/json"), "[1, 2]", "JSON object"),
        (Some("application/json"), "\"text\"", "JSON object"),
        (Some("application/json"), "", "JSON object"),
        (Some("text/plain"), "{}", "Content-Type"),
        (None, "{}", "Content-Type"),
    ];
    for (content_type, body, mention) in cases {
        let mut req = TestRequest::post()
            .uri("/api/v1/minigroups")
            .insert_header(bearer())
            .set_payload(body);
        if let Some(ct) = content_type {
            req = req.insert_header((header::CONTENT_TYPE, ct));
        }
        let res = json_of(test::call_service(&app, req.to_request()).await).await;
        let detail = assert_problem(&res, 400, "invalid_payload");
        assert!(detail.contains(mention), "{body:?} -> {detail}");
    }
}

#[actix_web::test]
async fn a_body_over_64_kib_is_413() {
    let app = app!(MockMinigroups::new());
    let big = json!({"type": "x", "data": "a".repeat(65 * 1024)});
    let req = TestRequest::post()
        .uri(&by_id("/events"))
        .insert_header(bearer())
        .set_json(big)
        .to_request();
    let res = json_of(test::call_service(&app, req).await).await;
    assert_problem(&res, 413, "payload_too_large");
}

#[actix_web::test]
async fn a_body_just_under_64_kib_is_read() {
    let mut svc = MockMinigroups::new();
    svc.expect_create_event()
        .times(1)
        .returning(|_, _, _| Ok(()));
    let app = app!(svc);
    let big = json!({"type": "x", "data": "a".repeat(63 * 1024)});
    let req = TestRequest::post()
        .uri(&by_id("/events"))
        .insert_header(bearer())
        .set_json(big)
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 201);
}
