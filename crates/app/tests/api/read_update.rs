//! Update by id and by audience/scope: rooms first, then the store.

use devstand::{Fault, Op};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{now, TestApp, AUDIENCE};

crate::on_both_backends!(
    update_changes_the_rooms_then_the_minigroup,
    update_by_scope_and_repeating_it_is_harmless,
    invalid_updates_are_400_and_change_nothing,
    failing_room_update_leaves_the_minigroup_unchanged,
);

async fn update_changes_the_rooms_then_the_minigroup(app: TestApp) {
    let m = app.create_ok("upd").await;
    let id = m["class_id"].as_str().expect("id");
    app.event.clear_requests();
    app.conference.clear_requests();
    let t = app.trusted();
    let start = now() + 100;
    let before = now();
    let a = app
        .send(
            Method::PUT,
            &format!("/api/v1/minigroups/{id}"),
            Some(&t),
            Some(json!({"time": [start, null], "reserve": 7, "host": "new.usr.example.org"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let mut expected = m.clone();
    expected["time"] = json!([start, null]);
    expected["reserve"] = json!(7);
    expected["host"] = json!("new.usr.example.org");
    expected["real_time"]["host"] = json!("new.usr.example.org");
    assert_eq!(a.body, expected);
    assert_eq!(app.get(id).await.body, expected);

    let ev = app.event.requests();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].method, "PATCH");
    assert_eq!(
        ev[0].path,
        format!(
            "/rooms/{}",
            m["real_time"]["event_room_id"].as_str().expect("room")
        )
    );
    let ev_start = ev[0].body["time"][0].as_i64().expect("start");
    assert!(ev_start >= before && ev_start <= now());
    assert_eq!(ev[0].body, json!({"time": [ev_start, null]}));
    let conf = app.conference.requests();
    assert_eq!(conf.len(), 1);
    assert_eq!(conf[0].method, "PATCH");
    assert_eq!(
        conf[0].body,
        json!({"time": [start, null], "reserve": 7, "host": "new.usr.example.org"})
    );
}

async fn update_by_scope_and_repeating_it_is_harmless(app: TestApp) {
    let m = app.create_ok("upd2").await;
    app.event.clear_requests();
    let t = app.trusted();
    let path = format!("/api/v1/audiences/{AUDIENCE}/minigroups/upd2");
    let first = app
        .send(Method::PUT, &path, Some(&t), Some(json!({"reserve": 20})))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let second = app
        .send(Method::PUT, &path, Some(&t), Some(json!({"reserve": 20})))
        .await;
    assert_eq!(second.body, first.body);
    assert_eq!(first.body["reserve"], 20);
    assert_eq!(first.body["time"], m["time"]);
    // reserve alone touches only the conference room.
    assert!(app.event.requests().is_empty());
    let conf: Vec<_> = app
        .conference
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(conf.len(), 2);
    assert_eq!(conf[1].body, json!({"reserve": 20}));
}

async fn invalid_updates_are_400_and_change_nothing(app: TestApp) {
    let m = app.create_ok("upd3").await;
    let id = m["class_id"].as_str().expect("id");
    app.conference.clear_requests();
    let t = app.trusted();
    let path = format!("/api/v1/minigroups/{id}");
    for body in [
        json!({}),
        json!({"reserve": null}),
        json!({"time": null}),
        json!({"host": null}),
        json!({"reserve": -5}),
        json!({"time": [5, 1]}),
        json!({"host": "nodot"}),
        json!({"reserve": 1, "scope": "x"}),
    ] {
        app.send(Method::PUT, &path, Some(&t), Some(body.clone()))
            .await
            .assert_problem(400, "invalid_payload");
    }
    assert!(app.conference.requests().is_empty());
    assert_eq!(app.get(id).await.body, m);
}

async fn failing_room_update_leaves_the_minigroup_unchanged(app: TestApp) {
    let m = app.create_ok("upd4").await;
    let id = m["class_id"].as_str().expect("id");
    let t = app.trusted();
    let path = format!("/api/v1/minigroups/{id}");
    app.conference
        .set_fault(Fault::status(500, "x").on(Op::UpdateRoom).times(1));
    app.send(Method::PUT, &path, Some(&t), Some(json!({"reserve": 99})))
        .await
        .assert_problem(502, "upstream_failed");
    assert_eq!(app.get(id).await.body, m);
    app.event
        .set_fault(Fault::hang().on(Op::UpdateRoom).times(1));
    app.send(Method::PUT, &path, Some(&t), Some(json!({"time": [1, 2]})))
        .await
        .assert_problem(504, "upstream_timeout");
    assert_eq!(app.get(id).await.body, m);
    // A retry after the fault goes through.
    let a = app
        .send(Method::PUT, &path, Some(&t), Some(json!({"reserve": 99})))
        .await;
    assert_eq!(a.body["reserve"], 99);
}
