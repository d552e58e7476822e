//! Recreate: new rooms stored in one step, old rooms closed after.

use devstand::{Fault, Op};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{now, TestApp};

crate::on_both_backends!(
    recreate_replaces_both_rooms,
    failed_recreate_changes_nothing
);

async fn recreate_replaces_both_rooms(app: TestApp) {
    let m = app.create_ok("rc").await;
    let id = m["class_id"].as_str().expect("id");
    let old_event = m["real_time"]["event_room_id"]
        .as_str()
        .expect("room")
        .to_owned();
    let old_conf = m["real_time"]["conference_room_id"]
        .as_str()
        .expect("room")
        .to_owned();
    let t = app.trusted();
    let path = format!("/api/v1/minigroups/{id}/recreate");

    // No body: time kept.
    let a = app.send(Method::POST, &path, Some(&t), None).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let r = &a.body;
    assert_eq!(r["class_id"], m["class_id"]);
    assert_eq!(r["time"], m["time"]);
    let new_event = r["real_time"]["event_room_id"]
        .as_str()
        .expect("room")
        .to_owned();
    let new_conf = r["real_time"]["conference_room_id"]
        .as_str()
        .expect("room")
        .to_owned();
    assert_ne!(new_event, old_event);
    assert_ne!(new_conf, old_conf);
    assert_eq!(app.get(id).await.body, *r);

    let ev_rooms = app.event.rooms();
    let conf_rooms = app.conference.rooms();
    assert_eq!(ev_rooms.len(), 2);
    assert_eq!(conf_rooms.len(), 2);
    let room = |rooms: &[devstand::RoomSnapshot], id: &str| {
        rooms
            .iter()
            .find(|r| r.id.to_string() == id)
            .cloned()
            .expect("room exists")
    };
    // New rooms belong to the minigroup; old rooms are closed.
    assert_eq!(
        room(&ev_rooms, &new_event)
            .classroom_id
            .map(|u| u.to_string())
            .as_deref(),
        Some(id)
    );
    assert_eq!(
        room(&conf_rooms, &new_conf)
            .classroom_id
            .map(|u| u.to_string())
            .as_deref(),
        Some(id)
    );
    assert!(
        room(&ev_rooms, &old_event).time.1.is_some(),
        "old event room closed"
    );
    assert!(
        room(&conf_rooms, &old_conf).time.1.is_some(),
        "old conference room closed"
    );
    assert!(
        room(&ev_rooms, &new_event).time.1.is_none(),
        "new event room open"
    );
    // The new event room's chat is locked.
    let events = app
        .event
        .events(uuid::Uuid::parse_str(&new_event).expect("uuid"));
    assert!(
        events.iter().any(|e| e["type"] == "chat_disabled"),
        "{events:?}"
    );

    // With a new time and an open chat.
    let start = now() + 500;
    let a = app
        .send(
            Method::POST,
            &path,
            Some(&t),
            Some(json!({"time": [start, start + 60], "locked_chat": false})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["time"], json!([start, start + 60]));
    let newest =
        uuid::Uuid::parse_str(a.body["real_time"]["event_room_id"].as_str().expect("room"))
            .expect("uuid");
    assert!(app.event.events(newest).is_empty());
    let conf = app.conference.room(
        uuid::Uuid::parse_str(
            a.body["real_time"]["conference_room_id"]
                .as_str()
                .expect("room"),
        )
        .expect("uuid"),
    );
    assert_eq!(conf.expect("room").time, (Some(start), None));
    app.send(Method::POST, &path, Some(&t), Some(json!({"time": [5, 1]})))
        .await
        .assert_problem(400, "invalid_payload");
}

async fn failed_recreate_changes_nothing(app: TestApp) {
    let m = app.create_ok("rc2").await;
    let id = m["class_id"].as_str().expect("id");
    let t = app.trusted();
    let path = format!("/api/v1/minigroups/{id}/recreate");
    app.conference
        .set_fault(Fault::status(500, "x").on(Op::CreateRoom).times(1));
    app.send(Method::POST, &path, Some(&t), Some(json!({})))
        .await
        .assert_problem(502, "upstream_failed");
    assert_eq!(app.get(id).await.body, m);
    let ev_rooms = app.event.rooms();
    assert_eq!(ev_rooms.len(), 2);
    let old = m["real_time"]["event_room_id"].as_str().expect("room");
    for r in ev_rooms {
        if r.id.to_string() == old {
            assert!(r.time.1.is_none(), "the old event room stays open");
        } else {
            assert!(r.time.1.is_some(), "the new event room was closed");
        }
    }
}
