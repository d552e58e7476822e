//! Create: the happy path, conflicts, validation and upstream faults.

use devstand::{Fault, Op};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{minigroup_body, now, TestApp, AUDIENCE, UPSTREAM_TOKEN};

crate::on_both_backends!(
    create_answers_the_minigroup_and_makes_both_rooms,
    create_without_optional_fields_omits_them,
    create_of_a_taken_pair_is_409_and_makes_no_room,
    twenty_concurrent_creates_have_one_winner,
    invalid_creates_are_400_and_change_nothing,
    failing_event_room_closes_the_conference_room_and_frees_the_pair,
    failing_conference_room_closes_the_event_room,
    hanging_upstream_is_504_and_frees_the_pair,
    unlocked_chat_is_not_locked,
    failing_chat_lock_does_not_fail_the_create,
    health_and_readiness_answer,
);

async fn create_answers_the_minigroup_and_makes_both_rooms(app: TestApp) {
    let start = now() + 3600;
    let before = now();
    let a = app
        .create(json!({
            "scope": "lesson-42",
            "audience": AUDIENCE,
            "host": "teacher1.usr.example.org",
            "time": [start, start + 3600],
            "tags": {"course": "math"},
            "reserve": 10
        }))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    assert_eq!(a.content_type, "application/json");
    let m = &a.body;
    let class_id = m["class_id"].as_str().expect("class_id").to_owned();
    uuid::Uuid::parse_str(&class_id).expect("class_id is a UUID");
    let event_room = m["real_time"]["event_room_id"]
        .as_str()
        .expect("event room")
        .to_owned();
    let conference_room = m["real_time"]["conference_room_id"]
        .as_str()
        .expect("conference room")
        .to_owned();
    let created_at = m["created_at"].as_i64().expect("created_at");
    assert!(created_at >= before && created_at <= now());
    assert_eq!(
        *m,
        json!({
            "id": "lesson-42",
            "class_id": class_id,
            "audience": AUDIENCE,
            "scope": "lesson-42",
            "time": [start, start + 3600],
            "tags": {"course": "math"},
            "reserve": 10,
            "host": "teacher1.usr.example.org",
            "real_time": {
                "event_room_id": event_room,
                "conference_room_id": conference_room,
                "host": "teacher1.usr.example.org"
            },
            "created_at": created_at
        })
    );

    // The event service got one room and the chat lock, with our token.
    let ev = app.event.requests();
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(
        (ev[0].method.as_str(), ev[0].path.as_str()),
        ("POST", "/rooms")
    );
    assert_eq!(
        ev[0].authorization.as_deref(),
        Some(format!("Bearer {UPSTREAM_TOKEN}").as_str())
    );
    assert_eq!(ev[0].content_type.as_deref(), Some("application/json"));
    let body = &ev[0].body;
    let ev_start = body["time"][0].as_i64().expect("event start");
    assert!(ev_start >= before && ev_start <= now());
    assert_eq!(
        *body,
        json!({"audience": AUDIENCE, "time": [ev_start, null], "preserve_history": true,
               "tags": {"course": "math"}, "classroom_id": class_id})
    );
    assert_eq!(ev[1].method, "POST");
    assert_eq!(ev[1].path, format!("/rooms/{event_room}/events"));
    assert_eq!(ev[1].body["type"], "chat_disabled");
    assert_eq!(ev[1].body["set"], "chat_disabled");
    assert_eq!(ev[1].body["data"], json!({"value": true}));

    // The conference service got one room starting at the lesson's start.
    let conf = app.conference.requests();
    assert_eq!(conf.len(), 1, "{conf:?}");
    assert_eq!(
        conf[0].authorization.as_deref(),
        Some(format!("Bearer {UPSTREAM_TOKEN}").as_str())
    );
    assert_eq!(
        conf[0].body,
        json!({"audience": AUDIENCE, "time": [start, null], "rtc_sharing_policy": "owned",
               "reserve": 10, "tags": {"course": "math"}, "classroom_id": class_id})
    );

    // It is readable by id and by audience/scope, as the same object.
    let by_id = app.get(&class_id).await;
    assert_eq!(by_id.status, StatusCode::OK);
    assert_eq!(by_id.body, *m);
    let t = app.trusted();
    let by_scope = app
        .send(
            Method::GET,
            "/api/v1/audiences/usr.example.org/minigroups/lesson-42",
            Some(&t),
            None,
        )
        .await;
    assert_eq!(by_scope.status, StatusCode::OK);
    assert_eq!(by_scope.body, *m);
}

async fn create_without_optional_fields_omits_them(app: TestApp) {
    let before = now();
    let a = app
        .create(json!({"scope": "bare", "audience": AUDIENCE, "host": "t.usr.example.org"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let m = a.body.as_object().expect("object");
    assert_eq!(m["time"], json!([null, null]));
    assert!(
        !m.contains_key("tags") && !m.contains_key("reserve"),
        "{m:?}"
    );
    assert_eq!(m["host"], "t.usr.example.org");
    // The conference room starts now when the lesson has no start.
    let conf = app.conference.requests();
    let start = conf[0].body["time"][0].as_i64().expect("start");
    assert!(start >= before && start <= now());
    assert!(conf[0].body.get("reserve").is_none() && conf[0].body.get("tags").is_none());
    assert!(app.event.requests()[0].body.get("tags").is_none());
}

async fn create_of_a_taken_pair_is_409_and_makes_no_room(app: TestApp) {
    app.create_ok("taken").await;
    let a = app.create(minigroup_body("taken")).await;
    a.assert_problem(409, "minigroup_exists");
    assert_eq!(app.event.rooms().len(), 1);
    assert_eq!(app.conference.rooms().len(), 1);
    // Another audience may use the same scope.
    let mut body = minigroup_body("taken");
    body["audience"] = json!("other.example.org");
    body["host"] = json!("t.other.example.org");
    assert_eq!(app.create(body).await.status, StatusCode::CREATED);
}

async fn twenty_concurrent_creates_have_one_winner(app: TestApp) {
    let answers = join_all((0..20).map(|_| app.create(minigroup_body("race")))).await;
    let created: Vec<&Value> = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .map(|a| &a.body)
        .collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    for a in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        a.assert_problem(409, "minigroup_exists");
    }
    let winner = created[0];
    let event_rooms = app.event.rooms();
    let conference_rooms = app.conference.rooms();
    assert_eq!(event_rooms.len(), 1, "only the winner's event room exists");
    assert_eq!(
        conference_rooms.len(),
        1,
        "only the winner's conference room exists"
    );
    assert_eq!(
        event_rooms[0].id.to_string(),
        winner["real_time"]["event_room_id"].as_str().expect("id")
    );
    assert_eq!(
        conference_rooms[0].id.to_string(),
        winner["real_time"]["conference_room_id"]
            .as_str()
            .expect("id")
    );
}

async fn invalid_creates_are_400_and_change_nothing(app: TestApp) {
    let long = "x".repeat(256);
    let base = minigroup_body("valid");
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut with = |name: &'static str, f: &dyn Fn(&mut Value)| {
        let mut b = base.clone();
        f(&mut b);
        cases.push((name, b));
    };
    with("empty scope", &|b| b["scope"] = json!(""));
    with("slash in scope", &|b| b["scope"] = json!("a/b"));
    with("long scope", &|b| b["scope"] = json!(long.clone()));
    with("empty audience", &|b| b["audience"] = json!(""));
    with("missing scope", &|b| {
        b.as_object_mut().expect("object").remove("scope");
    });
    with("missing host", &|b| {
        b.as_object_mut().expect("object").remove("host");
    });
    with("host without audience", &|b| b["host"] = json!("teacher"));
    with("start after end", &|b| b["time"] = json!([20, 10]));
    with("start equals end", &|b| b["time"] = json!([10, 10]));
    with("three time bounds", &|b| b["time"] = json!([1, 2, 3]));
    with("negative reserve", &|b| b["reserve"] = json!(-1));
    with("tags not an object", &|b| b["tags"] = json!(["a"]));
    with("unknown field", &|b| b["colour"] = json!("red"));
    with("scope not a string", &|b| b["scope"] = json!(7));
    for (name, body) in cases {
        let a = app.create(body).await;
        assert_eq!(a.status.as_u16(), 400, "{name}: {:?}", a.body);
        a.assert_problem(400, "invalid_payload");
    }
    // Not JSON at all.
    let resp = app
        .client
        .post(format!("{}/api/v1/minigroups", app.base))
        .bearer_auth(app.trusted())
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status().as_u16(), 400);
    assert!(app.event.requests().is_empty());
    assert!(app.conference.requests().is_empty());
    // Nothing was reserved: the valid create still works.
    app.create_ok("valid").await;
}

async fn failing_event_room_closes_the_conference_room_and_frees_the_pair(app: TestApp) {
    app.event
        .set_fault(Fault::status(500, "boom").on(Op::CreateRoom).times(1));
    let a = app.create(minigroup_body("flaky")).await;
    a.assert_problem(502, "upstream_failed");
    let conf = app.conference.rooms();
    assert_eq!(conf.len(), 1);
    let (start, end) = conf[0].time;
    let (start, end) = (start.expect("start"), end.expect("end"));
    assert!(
        start <= end && end <= now() && end >= now() - 5,
        "closed: {:?}",
        conf[0].time
    );
    assert!(app.event.rooms().is_empty());
    // The reservation was released: the same create now succeeds.
    let m = app.create_ok("flaky").await;
    assert_eq!(m["scope"], "flaky");
}

async fn failing_conference_room_closes_the_event_room(app: TestApp) {
    app.conference
        .set_fault(Fault::status(503, "down").on(Op::CreateRoom).times(1));
    let a = app.create(minigroup_body("flaky")).await;
    a.assert_problem(502, "upstream_failed");
    let rooms = app.event.rooms();
    assert_eq!(rooms.len(), 1);
    let (start, end) = rooms[0].time;
    assert!(end.is_some() && start <= end, "closed: {:?}", rooms[0].time);
    let t = app.trusted();
    let read = app
        .send(
            Method::GET,
            "/api/v1/audiences/usr.example.org/minigroups/flaky",
            Some(&t),
            None,
        )
        .await;
    read.assert_problem(404, "minigroup_not_found");
    app.create_ok("flaky").await;
}

async fn hanging_upstream_is_504_and_frees_the_pair(app: TestApp) {
    app.conference
        .set_fault(Fault::hang().on(Op::CreateRoom).times(1));
    let started = std::time::Instant::now();
    let a = app.create(minigroup_body("slow")).await;
    a.assert_problem(504, "upstream_timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let rooms = app.event.rooms();
    assert_eq!(rooms.len(), 1);
    assert!(rooms[0].time.1.is_some(), "the event room was closed");
    app.create_ok("slow").await;
}

async fn unlocked_chat_is_not_locked(app: TestApp) {
    let mut body = minigroup_body("open-chat");
    body["locked_chat"] = json!(false);
    assert_eq!(app.create(body).await.status, StatusCode::CREATED);
    let ev = app.event.requests();
    assert_eq!(ev.len(), 1, "no chat lock event: {ev:?}");
}

async fn failing_chat_lock_does_not_fail_the_create(app: TestApp) {
    app.event
        .set_fault(Fault::status(500, "no").on(Op::CreateEvent));
    let m = app.create_ok("lock-fails").await;
    assert_eq!(
        app.get(m["class_id"].as_str().expect("id")).await.status,
        StatusCode::OK
    );
}

/// Readiness follows the database: PostgreSQL can be taken away under a
/// running service.
#[tokio::test]
async fn readiness_fails_while_the_database_is_gone() {
    let Some(app) = crate::helpers::spawn_app(crate::helpers::Backend::Postgres).await else {
        return;
    };
    let m = app.create_ok("gone").await;
    let r = app.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    app.drop_database().await;
    app.send(Method::GET, "/readyz", None, None)
        .await
        .assert_problem(503, "database_unavailable");
    let a = app.get(m["class_id"].as_str().expect("id")).await;
    a.assert_problem(503, "database_unavailable");
    let detail = a.body["detail"].as_str().expect("detail").to_lowercase();
    assert!(
        !detail.contains("select") && !detail.contains("minigroups"),
        "no SQL: {detail}"
    );
    let h = app.send(Method::GET, "/healthz", None, None).await;
    assert_eq!(h.status, StatusCode::OK, "the process still runs");
}

async fn health_and_readiness_answer(app: TestApp) {
    let h = app.send(Method::GET, "/healthz", None, None).await;
    assert_eq!(h.status, StatusCode::OK);
    let r = app.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    // Every answer carries a request id: generated, or the caller's own.
    let generated = r.request_id.expect("a generated request id");
    assert!(!generated.is_empty());
    let echoed = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "req-abc-123")
        .send()
        .await
        .expect("answer");
    assert_eq!(echoed.headers()["x-request-id"], "req-abc-123");
    let failed = app.create(json!({"scope": ""})).await;
    assert!(
        failed.request_id.is_some(),
        "errors carry the request id too"
    );
}
