//! Every problem kind (§7 and this crate's additions): status, content type,
//! body shape, and what the detail may and may not say.

use actix_web::http::header;
use actix_web::test::{self, TestRequest};
use domain::{Error, MockMinigroups, UpstreamError, UpstreamService, ValidationError};
use serde_json::json;

use crate::helpers::*;

/// Reads by id with a service answering `err`; returns status-checked detail.
async fn read_failing_with(err: Error, status: u16, kind: &str) -> String {
    let mut svc = MockMinigroups::new();
    svc.expect_read()
        .times(1)
        .returning(move |_, _| Err(err.clone()));
    let app = app!(svc);
    let req = TestRequest::get()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}"))
        .insert_header(bearer())
        .to_request();
    let res = json_of(test::call_service(&app, req).await).await;
    assert_problem(&res, status, kind)
}

#[actix_web::test]
async fn domain_errors_map_to_their_kinds() {
    let cases = [
        (
            Error::Invalid(ValidationError::NothingToDo { fields: "x" }),
            400,
            "invalid_payload",
        ),
        (
            Error::Denied {
                account: "alice.usr.example.org".into(),
                action: "read",
            },
            403,
            "access_denied",
        ),
        (Error::NotFound, 404, "minigroup_not_found"),
        (Error::RecordingNotFound, 404, "recording_not_found"),
        (Error::Exists, 409, "minigroup_exists"),
        (
            Error::upstream(UpstreamService::Conference, UpstreamError::Timeout),
            504,
            "upstream_timeout",
        ),
        (
            Error::Unavailable("pool timed out".into()),
            503,
            "database_unavailable",
        ),
    ];
    for (err, status, kind) in cases {
        read_failing_with(err, status, kind).await;
    }
}

#[actix_web::test]
async fn upstream_rejection_is_422_with_the_reason() {
    let err = Error::upstream(
        UpstreamService::Event,
        UpstreamError::Rejected {
            status: 400,
            reason: "event type is reserved".into(),
        },
    );
    let mut svc = MockMinigroups::new();
    svc.expect_create_event()
        .times(1)
        .returning(move |_, _, _| Err(err.clone()));
    let app = app!(svc);
    let req = TestRequest::post()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}/events"))
        .insert_header(bearer())
        .set_json(json!({"type": "x", "data": {}}))
        .to_request();
    let res = json_of(test::call_service(&app, req).await).await;
    let detail = assert_problem(&res, 422, "upstream_rejected");
    assert_eq!(detail, "event type is reserved");
}

#[actix_web::test]
async fn internal_texts_never_reach_the_client() {
    let detail = read_failing_with(
        Error::Unavailable("SELECT * FROM minigroups; password=hunter2".into()),
        503,
        "database_unavailable",
    )
    .await;
    assert!(
        !detail.contains("SELECT") && !detail.contains("hunter2"),
        "{detail}"
    );

    let detail = read_failing_with(
        Error::upstream(
            UpstreamService::Storage,
            UpstreamError::Failed("connect to http://10.0.0.1:9000?token=s3cr3t failed".into()),
        ),
        502,
        "upstream_failed",
    )
    .await;
    assert!(detail.contains("storage"), "{detail}");
    assert!(!detail.contains("s3cr3t"), "{detail}");
}

#[actix_web::test]
async fn mutating_errors_are_problems_too() {
    let mut svc = MockMinigroups::new();
    svc.expect_create()
        .times(1)
        .returning(|_, _| Err(Error::Exists));
    svc.expect_recreate().times(1).returning(|_, _, _| {
        Err(Error::upstream(
            UpstreamService::Event,
            UpstreamError::Failed("boom".into()),
        ))
    });
    let app = app!(svc);
    let req = TestRequest::post()
        .uri("/api/v1/minigroups")
        .insert_header(bearer())
        .set_json(json!({"scope": "s", "audience": AUDIENCE, "host": "t.usr.example.org"}))
        .to_request();
    let res = json_of(test::call_service(&app, req).await).await;
    assert_problem(&res, 409, "minigroup_exists");

    let req = TestRequest::post()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}/recreate"))
        .insert_header(bearer())
        .to_request();
    let res = json_of(test::call_service(&app, req).await).await;
    assert_problem(&res, 502, "upstream_failed");
}

#[actix_web::test]
async fn a_panicking_use_case_is_500_internal() {
    let mut svc = MockMinigroups::new();
    svc.expect_update()
        .times(1)
        .returning(|_, _, _| panic!("bug in the use case"));
    let app = app!(svc);
    let req = TestRequest::put()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}"))
        .insert_header(bearer())
        .set_json(json!({"reserve": 1}))
        .to_request();
    let res = json_of(test::call_service(&app, req).await).await;
    let detail = assert_problem(&res, 500, "internal");
    assert!(!detail.contains("bug"), "{detail}");
}

#[actix_web::test]
async fn unknown_routes_are_404_not_found() {
    let app = app!(MockMinigroups::new());
    for uri in [
        "/",
        "/nope",
        "/api/v1/minigroups/x/y/z",
        "/api/v2/minigroups",
    ] {
        let req = TestRequest::get().uri(uri).to_request();
        let res = json_of(test::call_service(&app, req).await).await;
        assert_problem(&res, 404, "not_found");
    }
}

#[actix_web::test]
async fn wrong_methods_are_405_with_allow() {
    let app = app!(MockMinigroups::new());
    let cases = [
        (
            TestRequest::delete().uri(&format!("/api/v1/minigroups/{CLASS_ID}")),
            "GET, PUT",
        ),
        (TestRequest::get().uri("/api/v1/minigroups"), "POST"),
        (TestRequest::post().uri("/healthz"), "GET"),
        (
            TestRequest::get().uri(&format!("/api/v1/minigroups/{CLASS_ID}/events")),
            "POST",
        ),
        (
            TestRequest::patch().uri("/api/v1/audiences/a.b/minigroups/s"),
            "GET, PUT",
        ),
    ];
    for (req, allow) in cases {
        let res = json_of(test::call_service(&app, req.to_request()).await).await;
        assert_eq!(res.1.get(header::ALLOW).unwrap(), allow);
        assert_problem(&res, 405, "method_not_allowed");
    }
}
