//! Events posted into the event room, and the recording's download URL.

use devstand::{Fault, Op};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, AUDIENCE};

crate::on_both_backends!(
    events_reach_the_event_room,
    upstream_event_faults_map,
    download_finds_the_recording
);

async fn events_reach_the_event_room(app: TestApp) {
    let m = app.create_ok("ev").await;
    let id = m["class_id"].as_str().expect("id");
    let room = m["real_time"]["event_room_id"].as_str().expect("room");
    app.event.clear_requests();
    let t = app.trusted();
    let path = format!("/api/v1/minigroups/{id}/events");
    let a = app
        .send(
            Method::POST,
            &path,
            Some(&t),
            Some(json!({"type": "message", "data": {"text": "hi"}})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.body, json!({}));
    let full = json!({"type": "draw", "set": "board", "label": "l1", "attribute": "pinned",
                      "data": [1, 2], "is_claim": true, "is_persistent": false});
    assert_eq!(
        app.send(Method::POST, &path, Some(&t), Some(full.clone()))
            .await
            .status,
        StatusCode::CREATED
    );
    let ev = app.event.requests();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].path, format!("/rooms/{room}/events"));
    assert_eq!(
        ev[0].body,
        json!({"type": "message", "set": "message", "data": {"text": "hi"},
               "is_claim": false, "is_persistent": true})
    );
    assert_eq!(ev[1].body, full);
    for bad in [
        json!({"data": 1}),
        json!({"type": "t"}),
        json!({"type": "t", "data": 1, "extra": 2}),
    ] {
        app.send(Method::POST, &path, Some(&t), Some(bad))
            .await
            .assert_problem(400, "invalid_payload");
    }
    assert_eq!(app.event.requests().len(), 2);
}

async fn upstream_event_faults_map(app: TestApp) {
    let m = app.create_ok("ev2").await;
    let id = m["class_id"].as_str().expect("id");
    let t = app.trusted();
    let path = format!("/api/v1/minigroups/{id}/events");
    let body = Some(json!({"type": "message", "data": {}}));
    app.event.set_fault(
        Fault::status(422, r#"{"detail": "set is frozen"}"#)
            .on(Op::CreateEvent)
            .times(1),
    );
    let a = app.send(Method::POST, &path, Some(&t), body.clone()).await;
    a.assert_problem(422, "upstream_rejected");
    assert!(
        a.body["detail"]
            .as_str()
            .expect("detail")
            .contains("set is frozen"),
        "{:?}",
        a.body
    );
    app.event
        .set_fault(Fault::status(500, "oops").on(Op::CreateEvent).times(1));
    app.send(Method::POST, &path, Some(&t), body.clone())
        .await
        .assert_problem(502, "upstream_failed");
    app.event
        .set_fault(Fault::hang().on(Op::CreateEvent).times(1));
    app.send(Method::POST, &path, Some(&t), body)
        .await
        .assert_problem(504, "upstream_timeout");
}

async fn download_finds_the_recording(app: TestApp) {
    let m = app.create_ok("rec").await;
    let id = m["class_id"].as_str().expect("id");
    let t = app.trusted();
    let path = format!("/api/v1/minigroups/{id}/download");
    app.send(Method::GET, &path, Some(&t), None)
        .await
        .assert_problem(404, "recording_not_found");
    app.storage.put_recording(AUDIENCE, "rec");
    let a = app.send(Method::GET, &path, Some(&t), None).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let url = a.body["url"].as_str().expect("url");
    assert!(url.starts_with(&app.storage.url()), "{url}");
    assert!(url.ends_with("/objects/mp4"), "{url}");
    assert!(url.contains("ms.minigroup.usr.example.org"), "{url}");
    // The URL answers.
    let head = app.client.head(url).send().await.expect("head");
    assert_eq!(head.status(), StatusCode::OK);
    app.storage
        .set_fault(Fault::status(500, "x").on(Op::CheckRecording).times(1));
    app.send(Method::GET, &path, Some(&t), None)
        .await
        .assert_problem(502, "upstream_failed");
}
