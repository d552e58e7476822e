//! Each route's success: status, body shape, and the use case's arguments.

use actix_web::http::header;
use actix_web::test::{self, TestRequest};
use domain::{
    AccountId, Audience, CreateMinigroup, MinigroupKey, MockMinigroups, NewEvent,
    RecreateMinigroup, Reserve, Scope, Tags, TimeRange, UpdateMinigroup,
};
use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn create_answers_201_with_the_minigroup() {
    let mut svc = MockMinigroups::new();
    svc.expect_create()
        .withf(|caller, req| {
            *caller == alice()
                && *req
                    == CreateMinigroup {
                        scope: Scope::new("lesson-42").unwrap(),
                        audience: Audience::new(AUDIENCE).unwrap(),
                        host: AccountId::parse("host", "teacher1.usr.example.org").unwrap(),
                        time: TimeRange::new(Some(1_767_261_600), Some(1_767_265_200)).unwrap(),
                        tags: Some(Tags::from_value(json!({"course": "math"})).unwrap()),
                        reserve: Some(Reserve::new(10).unwrap()),
                        locked_chat: false,
                    }
        })
        .times(1)
        .returning(|_, _| Ok(full()));
    let app = app!(svc);
    let req = TestRequest::post()
        .uri("/api/v1/minigroups")
        .insert_header(bearer())
        .set_json(json!({
            "scope": "lesson-42",
            "audience": AUDIENCE,
            "host": "teacher1.usr.example.org",
            "time": [1_767_261_600, 1_767_265_200],
            "tags": {"course": "math"},
            "reserve": 10,
            "locked_chat": false
        }))
        .to_request();
    let (status, headers, body) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 201);
    assert_eq!(
        headers.get(header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
    assert_eq!(body, full_json());
}

#[actix_web::test]
async fn create_applies_the_defaults() {
    let mut svc = MockMinigroups::new();
    svc.expect_create()
        .withf(|_, req| {
            req.time == TimeRange::unbounded()
                && req.tags.is_none()
                && req.reserve.is_none()
                && req.locked_chat
        })
        .times(1)
        .returning(|_, _| Ok(bare()));
    let app = app!(svc);
    let req = TestRequest::post()
        .uri("/api/v1/minigroups")
        .insert_header(bearer())
        .set_json(json!({"scope": "s", "audience": AUDIENCE, "host": "t.usr.example.org"}))
        .to_request();
    let (status, _, body) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 201);
    assert_eq!(body, bare_json());
}

#[actix_web::test]
async fn create_accepts_a_json_content_type_with_charset() {
    let mut svc = MockMinigroups::new();
    svc.expect_create().times(1).returning(|_, _| Ok(full()));
    let app = app!(svc);
    let req = TestRequest::post()
        .uri("/api/v1/minigroups")
        .insert_header(bearer())
        .insert_header((header::CONTENT_TYPE, "application/json; charset=utf-8"))
        .set_payload(r#"{"scope": "s", "audience": "usr.example.org", "host": "t.usr.example.org", "time": [null, null]}"#)
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 201);
}

#[actix_web::test]
async fn read_by_id_answers_the_minigroup() {
    let mut svc = MockMinigroups::new();
    svc.expect_read()
        .withf(|caller, key| *caller == alice() && *key == MinigroupKey::Id(class_id()))
        .times(1)
        .returning(|_, _| Ok(full()));
    let app = app!(svc);
    let req = TestRequest::get()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}"))
        .insert_header(bearer())
        .to_request();
    let (status, _, body) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 200);
    assert_eq!(body, full_json());
}

#[actix_web::test]
async fn absent_fields_are_omitted_and_open_time_is_null() {
    let mut svc = MockMinigroups::new();
    svc.expect_read().times(1).returning(|_, _| Ok(bare()));
    let app = app!(svc);
    let req = TestRequest::get()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}"))
        .insert_header(bearer())
        .to_request();
    let (status, _, body) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 200);
    assert_eq!(body, bare_json());
    let obj = body.as_object().unwrap();
    for absent in ["tags", "reserve", "host"] {
        assert!(!obj.contains_key(absent), "{absent} must be omitted");
    }
    assert!(!body["real_time"].as_object().unwrap().contains_key("host"));
}

#[actix_web::test]
async fn unbounded_time_is_two_nulls() {
    let mut svc = MockMinigroups::new();
    svc.expect_read().times(1).returning(|_, _| {
        Ok(domain::Minigroup {
            time: TimeRange::unbounded(),
            ..bare()
        })
    });
    let app = app!(svc);
    let req = TestRequest::get()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}"))
        .insert_header(bearer())
        .to_request();
    let (_, _, body) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(body["time"], json!([null, null]));
}

#[actix_web::test]
async fn read_by_scope_percent_decodes_the_segments() {
    let mut svc = MockMinigroups::new();
    svc.expect_read()
        .withf(|_, key| {
            *key == MinigroupKey::Scope(
                Audience::new("usr.example.org").unwrap(),
                Scope::new("lesson 42:ä").unwrap(),
            )
        })
        .times(1)
        .returning(|_, _| Ok(full()));
    let app = app!(svc);
    let req = TestRequest::get()
        .uri("/api/v1/audiences/usr.example.org/minigroups/lesson%2042%3A%C3%A4")
        .insert_header(bearer())
        .to_request();
    let (status, _, body) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 200);
    assert_eq!(body, full_json());
}

#[actix_web::test]
async fn update_by_id_passes_only_the_sent_fields() {
    let mut svc = MockMinigroups::new();
    svc.expect_update()
        .withf(|caller, key, req| {
            *caller == alice()
                && *key == MinigroupKey::Id(class_id())
                && *req
                    == UpdateMinigroup {
                        time: None,
                        reserve: Some(Reserve::new(5).unwrap()),
                        host: None,
                    }
        })
        .times(1)
        .returning(|_, _, _| Ok(full()));
    let app = app!(svc);
    let req = TestRequest::put()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}"))
        .insert_header(bearer())
        .set_json(json!({"reserve": 5}))
        .to_request();
    let (status, _, body) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 200);
    assert_eq!(body, full_json());
}

#[actix_web::test]
async fn update_by_scope_passes_time_and_host() {
    let mut svc = MockMinigroups::new();
    svc.expect_update()
        .withf(|_, key, req| {
            *key == MinigroupKey::Scope(
                Audience::new(AUDIENCE).unwrap(),
                Scope::new("lesson-42").unwrap(),
            ) && *req
                == UpdateMinigroup {
                    time: Some(TimeRange::new(Some(100), None).unwrap()),
                    reserve: None,
                    host: Some(AccountId::parse("host", "bob.usr.example.org").unwrap()),
                }
        })
        .times(1)
        .returning(|_, _, _| Ok(bare()));
    let app = app!(svc);
    let req = TestRequest::put()
        .uri("/api/v1/audiences/usr.example.org/minigroups/lesson-42")
        .insert_header(bearer())
        .set_json(json!({"time": [100, null], "host": "bob.usr.example.org"}))
        .to_request();
    let (status, _, body) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 200);
    assert_eq!(body, bare_json());
}

#[actix_web::test]
async fn create_event_answers_201_with_an_empty_object() {
    let mut svc = MockMinigroups::new();
    svc.expect_create_event()
        .withf(|caller, id, event| {
            *caller == alice()
                && *id == class_id()
                && *event
                    == NewEvent {
                        kind: "draw".into(),
                        set: "layers".into(),
                        label: Some("l1".into()),
                        attribute: Some("pinned".into()),
                        data: json!({"x": [1, 2]}),
                        is_claim: true,
                        is_persistent: false,
                    }
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    let app = app!(svc);
    let req = TestRequest::post()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}/events"))
        .insert_header(bearer())
        .set_json(json!({
            "type": "draw", "set": "layers", "label": "l1", "attribute": "pinned",
            "data": {"x": [1, 2]}, "is_claim": true, "is_persistent": false
        }))
        .to_request();
    let (status, _, body) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 201);
    assert_eq!(body, json!({}));
}

#[actix_web::test]
async fn create_event_defaults_set_claim_persistence_and_keeps_null_data() {
    let mut svc = MockMinigroups::new();
    svc.expect_create_event()
        .withf(|_, _, event| {
            *event
                == NewEvent {
                    kind: "message".into(),
                    set: "message".into(),
                    label: None,
                    attribute: None,
                    data: serde_json::Value::Null,
                    is_claim: false,
                    is_persistent: true,
                }
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    let app = app!(svc);
    let req = TestRequest::post()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}/events"))
        .insert_header(bearer())
        .set_json(json!({"type": "message", "data": null}))
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 201);
}

#[actix_web::test]
async fn recreate_accepts_an_empty_body_without_content_type() {
    let mut svc = MockMinigroups::new();
    svc.expect_recreate()
        .withf(|caller, id, req| {
            *caller == alice() && *id == class_id() && *req == RecreateMinigroup::default()
        })
        .times(1)
        .returning(|_, _, _| Ok(full()));
    let app = app!(svc);
    let req = TestRequest::post()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}/recreate"))
        .insert_header(bearer())
        .to_request();
    let (status, _, body) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 200);
    assert_eq!(body, full_json());
}

#[actix_web::test]
async fn recreate_accepts_an_empty_object() {
    let mut svc = MockMinigroups::new();
    svc.expect_recreate()
        .withf(|_, _, req| *req == RecreateMinigroup::default())
        .times(1)
        .returning(|_, _, _| Ok(full()));
    let app = app!(svc);
    let req = TestRequest::post()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}/recreate"))
        .insert_header(bearer())
        .set_json(json!({}))
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 200);
}

#[actix_web::test]
async fn recreate_passes_time_and_locked_chat() {
    let mut svc = MockMinigroups::new();
    svc.expect_recreate()
        .withf(|_, _, req| {
            *req == RecreateMinigroup {
                time: Some(TimeRange::new(Some(10), Some(20)).unwrap()),
                locked_chat: false,
            }
        })
        .times(1)
        .returning(|_, _, _| Ok(full()));
    let app = app!(svc);
    let req = TestRequest::post()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}/recreate"))
        .insert_header(bearer())
        .set_json(json!({"time": [10, 20], "locked_chat": false}))
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 200);
}

#[actix_web::test]
async fn download_answers_the_url() {
    let mut svc = MockMinigroups::new();
    svc.expect_download()
        .withf(|caller, id| *caller == alice() && *id == class_id())
        .times(1)
        .returning(|_, _| Ok("http://storage/x.mp4".into()));
    let app = app!(svc);
    let req = TestRequest::get()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}/download"))
        .insert_header(bearer())
        .to_request();
    let (status, _, body) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"url": "http://storage/x.mp4"}));
}

#[actix_web::test]
async fn healthz_needs_no_token_and_no_service() {
    let app = app!(MockMinigroups::new());
    let req = TestRequest::get().uri("/healthz").to_request();
    let (status, _, body) = json_of(test::call_service(&app, req).await).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"status": "ok"}));
}

#[actix_web::test]
async fn readyz_follows_the_database() {
    let mut svc = MockMinigroups::new();
    let mut seq = mockall::Sequence::new();
    svc.expect_ready()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|| Ok(()));
    svc.expect_ready()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|| {
            Err(domain::Error::Unavailable(
                "connection refused: secret-host".into(),
            ))
        });
    let app = app!(svc);
    let (status, _, body) =
        json_of(test::call_service(&app, TestRequest::get().uri("/readyz").to_request()).await)
            .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"status": "ok"}));

    let res =
        json_of(test::call_service(&app, TestRequest::get().uri("/readyz").to_request()).await)
            .await;
    let detail = assert_problem(&res, 503, "database_unavailable");
    assert!(!detail.contains("secret-host"), "{detail}");
}
