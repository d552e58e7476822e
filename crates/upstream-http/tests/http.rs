//! The adapters against the development stand-ins on loopback: requests as
//! contract §5 says, and the mapping of bad answers to `UpstreamError`.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use devstand::{Fault, Kind, Op, Recorded, Stand};
use domain::{
    AccountId, Audience, ConferenceRoomUpdate, ConferenceRooms, EventRoomUpdate, EventRooms,
    MinigroupId, NewConferenceRoom, NewEvent, NewEventRoom, Reserve, RoomTime, Scope, Storage,
    Tags, UpstreamError,
};
use serde_json::{json, Value};
use upstream_http::{
    HttpConferenceRooms, HttpEventRooms, HttpStorage, Observer, Outcome, UpstreamClient,
    UpstreamConfig,
};
use uuid::Uuid;

const TOKEN: &str = "s3cret-token";

fn stand(kind: Kind) -> Stand {
    devstand::start(kind, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).expect("stand-in starts")
}

fn client(token: Option<&str>, timeout: Duration) -> UpstreamClient {
    UpstreamClient::new(UpstreamConfig {
        token: token.map(str::to_owned),
        timeout,
    })
    .expect("client")
}

fn base(s: &Stand) -> url::Url {
    s.url().parse().expect("url")
}

fn events(s: &Stand, token: Option<&str>) -> HttpEventRooms {
    HttpEventRooms::new(base(s), client(token, Duration::from_secs(5)))
}

fn conferences(s: &Stand, token: Option<&str>) -> HttpConferenceRooms {
    HttpConferenceRooms::new(base(s), client(token, Duration::from_secs(5)))
}

fn audience() -> Audience {
    Audience::new("usr.example.org").expect("audience")
}

fn tags() -> Tags {
    Tags::from_value(json!({"course": "math"})).expect("tags")
}

fn event_room(tags: Option<Tags>) -> NewEventRoom {
    NewEventRoom {
        audience: audience(),
        start: 1_767_261_600,
        tags,
        classroom_id: MinigroupId::random(),
    }
}

fn conference_room(reserve: Option<i64>, tags: Option<Tags>) -> NewConferenceRoom {
    NewConferenceRoom {
        audience: audience(),
        start: 1_767_261_600,
        reserve: reserve.map(|r| Reserve::new(r).expect("reserve")),
        tags,
        classroom_id: MinigroupId::random(),
    }
}

/// The only request the stand-in got, which must be a JSON call.
fn only_request(s: &Stand, token: Option<&str>) -> Recorded {
    let reqs = s.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let r = reqs.into_iter().next().expect("one request");
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        r.authorization,
        token.map(|t| format!("Bearer {t}")),
        "bearer header"
    );
    s.clear_requests();
    r
}

fn failed(r: Result<impl std::fmt::Debug, UpstreamError>) -> String {
    match r {
        Err(UpstreamError::Failed(m)) => m,
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[tokio::test]
async fn event_create_room_sends_the_contract_body() {
    let s = stand(Kind::Event);
    let port = events(&s, Some(TOKEN));

    let room = event_room(Some(tags()));
    let id = port.create(&room).await.expect("created");
    let r = only_request(&s, Some(TOKEN));
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/rooms"));
    assert_eq!(
        r.body,
        json!({
            "audience": "usr.example.org",
            "time": [1_767_261_600, null],
            "preserve_history": true,
            "tags": {"course": "math"},
            "classroom_id": room.classroom_id.to_string(),
        })
    );
    assert_eq!(s.rooms()[0].id, id);

    let room = event_room(None);
    events(&s, None).create(&room).await.expect("created");
    let r = only_request(&s, None);
    assert_eq!(
        r.body,
        json!({
            "audience": "usr.example.org",
            "time": [1_767_261_600, null],
            "preserve_history": true,
            "classroom_id": room.classroom_id.to_string(),
        })
    );
}

#[tokio::test]
async fn event_update_room_sends_only_given_fields() {
    let s = stand(Kind::Event);
    let port = events(&s, Some(TOKEN));
    let id = port.create(&event_room(None)).await.expect("created");
    s.clear_requests();

    let classroom = MinigroupId::random();
    let cases = [
        (
            EventRoomUpdate {
                time: Some(RoomTime {
                    start: Some(5),
                    end: None,
                }),
                classroom_id: None,
            },
            json!({"time": [5, null]}),
        ),
        (
            EventRoomUpdate {
                time: Some(RoomTime::closing(Some(10), 7)),
                classroom_id: Some(classroom),
            },
            json!({"time": [7, 7], "classroom_id": classroom.to_string()}),
        ),
        (EventRoomUpdate::default(), json!({})),
    ];
    for (update, want) in cases {
        port.update(id, &update).await.expect("updated");
        let r = only_request(&s, Some(TOKEN));
        assert_eq!(r.method, "PATCH");
        assert_eq!(r.path, format!("/rooms/{id}"));
        assert_eq!(r.body, want);
    }
    assert_eq!(s.room(id).expect("room").time, (Some(7), Some(7)));

    let err = port
        .update(Uuid::new_v4(), &EventRoomUpdate::default())
        .await;
    assert!(failed(err).contains("404"));
}

#[tokio::test]
async fn event_create_event_sends_the_contract_body() {
    let s = stand(Kind::Event);
    let port = events(&s, None);
    let room = port.create(&event_room(None)).await.expect("created");
    s.clear_requests();

    port.create_event(room, &NewEvent::lock_chat())
        .await
        .expect("locked");
    let r = only_request(&s, None);
    assert_eq!(
        (r.method.as_str(), r.path.clone()),
        ("POST", format!("/rooms/{room}/events"))
    );
    assert_eq!(
        r.body,
        json!({"type": "chat_disabled", "set": "chat_disabled", "data": {"value": true},
               "is_claim": false, "is_persistent": true})
    );

    let full = NewEvent {
        kind: "message".into(),
        set: "messages".into(),
        label: Some("m1".into()),
        attribute: Some("pinned".into()),
        data: json!([1, "two"]),
        is_claim: true,
        is_persistent: false,
    };
    port.create_event(room, &full).await.expect("created");
    let r = only_request(&s, None);
    assert_eq!(
        r.body,
        json!({"type": "message", "set": "messages", "label": "m1", "attribute": "pinned",
               "data": [1, "two"], "is_claim": true, "is_persistent": false})
    );
    assert_eq!(s.events(room).len(), 2);
}

#[tokio::test]
async fn conference_rooms_send_the_contract_bodies() {
    let s = stand(Kind::Conference);
    let port = conferences(&s, Some(TOKEN));

    let room = conference_room(Some(10), Some(tags()));
    let id = port.create(&room).await.expect("created");
    let r = only_request(&s, Some(TOKEN));
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/rooms"));
    assert_eq!(
        r.body,
        json!({
            "audience": "usr.example.org",
            "time": [1_767_261_600, null],
            "rtc_sharing_policy": "owned",
            "reserve": 10,
            "tags": {"course": "math"},
            "classroom_id": room.classroom_id.to_string(),
        })
    );

    let room = conference_room(None, None);
    port.create(&room).await.expect("created");
    let r = only_request(&s, Some(TOKEN));
    assert_eq!(
        r.body,
        json!({
            "audience": "usr.example.org",
            "time": [1_767_261_600, null],
            "rtc_sharing_policy": "owned",
            "classroom_id": room.classroom_id.to_string(),
        })
    );

    let classroom = MinigroupId::random();
    let update = ConferenceRoomUpdate {
        time: Some(RoomTime {
            start: None,
            end: Some(99),
        }),
        reserve: Some(Reserve::new(3).expect("reserve")),
        classroom_id: Some(classroom),
        host: Some(AccountId::parse("host", "t1.usr.example.org").expect("host")),
    };
    port.update(id, &update).await.expect("updated");
    let r = only_request(&s, Some(TOKEN));
    assert_eq!(
        (r.method.as_str(), r.path.clone()),
        ("PATCH", format!("/rooms/{id}"))
    );
    assert_eq!(
        r.body,
        json!({"time": [null, 99], "reserve": 3, "classroom_id": classroom.to_string(),
               "host": "t1.usr.example.org"})
    );
    let only_host = ConferenceRoomUpdate {
        host: update.host.clone(),
        ..ConferenceRoomUpdate::default()
    };
    port.update(id, &only_host).await.expect("updated");
    assert_eq!(
        only_request(&s, Some(TOKEN)).body,
        json!({"host": "t1.usr.example.org"})
    );
    let snap = s.room(id).expect("room");
    assert_eq!(
        (snap.reserve, snap.host.as_deref()),
        (Some(3), Some("t1.usr.example.org"))
    );
}

#[tokio::test]
async fn storage_heads_the_source_file() {
    let s = stand(Kind::Storage);
    let port = HttpStorage::new(
        format!("{}/", s.url()).parse().expect("url"),
        client(Some(TOKEN), Duration::from_secs(5)),
    );
    let scope = Scope::new("lesson 42?%").expect("scope");

    assert_eq!(port.source_url(&audience(), &scope).await, Ok(None));
    let r = only_request(&s, Some(TOKEN));
    assert_eq!(r.method, "HEAD");
    let path =
        "/api/v2/backends/yandex/sets/ms.minigroup.usr.example.org::lesson%2042%3F%25/objects/mp4";
    assert_eq!(r.path, path);
    assert_eq!(r.body, Value::Null);

    s.put_recording("usr.example.org", "lesson 42?%");
    let url = port
        .source_url(&audience(), &scope)
        .await
        .expect("answer")
        .expect("present");
    assert_eq!(url, format!("{}{path}", s.url()));

    s.set_fault(Fault::status(500, "boom"));
    assert!(failed(port.source_url(&audience(), &scope).await).contains("500"));
    s.set_fault(Fault::status(403, "no"));
    assert!(failed(port.source_url(&audience(), &scope).await).contains("403"));
}

#[tokio::test]
async fn bad_create_answers_are_failures() {
    let s = stand(Kind::Event);
    let ev = events(&s, None);
    let c = stand(Kind::Conference);
    let conf = conferences(&c, None);

    s.set_fault(Fault::not_json());
    c.set_fault(Fault::not_json());
    assert!(failed(ev.create(&event_room(None)).await).contains("not JSON"));
    assert!(failed(conf.create(&conference_room(None, None)).await).contains("not JSON"));

    s.set_fault(Fault::missing_id());
    c.set_fault(Fault::missing_id());
    assert!(failed(ev.create(&event_room(None)).await).contains("id"));
    assert!(failed(conf.create(&conference_room(None, None)).await).contains("id"));

    s.set_fault(Fault::status(500, r#"{"error":"db down"}"#));
    c.set_fault(Fault::status(500, "db down"));
    let m = failed(ev.create(&event_room(None)).await);
    assert!(m.contains("500") && m.contains("db down"), "{m}");
    failed(conf.create(&conference_room(None, None)).await);

    // A 4xx on create room is a failure, not a rejection.
    s.set_fault(Fault::status(400, r#"{"error":"bad audience"}"#));
    c.set_fault(Fault::status(409, "taken"));
    assert!(failed(ev.create(&event_room(None)).await).contains("bad audience"));
    assert!(failed(conf.create(&conference_room(None, None)).await).contains("409"));

    // Updates fail on non-2xx too.
    s.set_fault(Fault::status(502, ""));
    failed(ev.update(Uuid::new_v4(), &EventRoomUpdate::default()).await);
    c.set_fault(Fault::status(500, ""));
    failed(
        conf.update(Uuid::new_v4(), &ConferenceRoomUpdate::default())
            .await,
    );
}

#[tokio::test]
async fn create_event_4xx_is_rejected_with_the_reason() {
    let s = stand(Kind::Event);
    let port = events(&s, None);
    let room = port.create(&event_room(None)).await.expect("created");

    s.set_fault(Fault::status(422, r#"{"detail":"data too large"}"#).on(Op::CreateEvent));
    assert_eq!(
        port.create_event(room, &NewEvent::lock_chat()).await,
        Err(UpstreamError::Rejected {
            status: 422,
            reason: "data too large".into()
        })
    );
    s.set_fault(Fault::status(400, "plain words").on(Op::CreateEvent));
    assert_eq!(
        port.create_event(room, &NewEvent::lock_chat()).await,
        Err(UpstreamError::Rejected {
            status: 400,
            reason: "plain words".into()
        })
    );
    let long = "x".repeat(2000);
    s.set_fault(Fault::status(400, long).on(Op::CreateEvent));
    match port.create_event(room, &NewEvent::lock_chat()).await {
        Err(UpstreamError::Rejected { reason, .. }) => assert!(reason.chars().count() <= 501),
        other => panic!("expected Rejected, got {other:?}"),
    }
    s.clear_faults();

    // The stand-in's own 404 for an unknown room is a rejection too.
    match port
        .create_event(Uuid::new_v4(), &NewEvent::lock_chat())
        .await
    {
        Err(UpstreamError::Rejected {
            status: 404,
            reason,
        }) => assert_eq!(reason, "no such room"),
        other => panic!("expected Rejected, got {other:?}"),
    }
    // And 5xx is a failure.
    s.set_fault(Fault::status(503, "busy").on(Op::CreateEvent));
    failed(port.create_event(room, &NewEvent::lock_chat()).await);
}

#[tokio::test]
async fn errors_never_carry_the_token() {
    let s = stand(Kind::Event);
    let port = events(&s, Some(TOKEN));
    s.set_fault(Fault::status(500, format!("bad token Bearer {TOKEN}")));
    let m = failed(port.create(&event_room(None)).await);
    assert!(!m.contains(TOKEN), "{m}");
    s.set_fault(Fault::status(400, format!("bad token {TOKEN}")));
    match port
        .create_event(Uuid::new_v4(), &NewEvent::lock_chat())
        .await
    {
        Err(UpstreamError::Rejected { reason, .. }) => assert!(!reason.contains(TOKEN)),
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn connection_refused_is_a_failure() {
    let url = {
        let s = stand(Kind::Event);
        base(&s)
    };
    let port = HttpEventRooms::new(url, client(Some(TOKEN), Duration::from_secs(5)));
    let m = failed(port.create(&event_room(None)).await);
    assert!(m.contains("connect"), "{m}");
    assert!(!m.contains(TOKEN));
}

#[tokio::test]
async fn a_hanging_service_times_out_quickly() {
    let started = Instant::now();
    let s = stand(Kind::Event);
    s.set_fault(Fault::hang());
    let port = HttpEventRooms::new(base(&s), client(None, Duration::from_millis(200)));
    assert_eq!(
        port.create(&event_room(None)).await,
        Err(UpstreamError::Timeout)
    );
    assert_eq!(
        port.create_event(Uuid::new_v4(), &NewEvent::lock_chat())
            .await,
        Err(UpstreamError::Timeout)
    );

    let st = stand(Kind::Storage);
    st.set_latency(Duration::from_secs(30));
    let storage = HttpStorage::new(base(&st), client(None, Duration::from_millis(200)));
    let scope = Scope::new("s").expect("scope");
    assert_eq!(
        storage.source_url(&audience(), &scope).await,
        Err(UpstreamError::Timeout)
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_base_path_prefix_is_kept() {
    let s = stand(Kind::Event);
    let port = HttpEventRooms::new(
        format!("{}/prefix/", s.url()).parse().expect("url"),
        client(None, Duration::from_secs(5)),
    );
    // The stand-in serves no prefix, so this is its 404, but the path shows.
    failed(port.create(&event_room(None)).await);
    assert_eq!(s.requests()[0].path, "/prefix/rooms");
}

#[tokio::test]
async fn the_observer_sees_every_call() {
    type Seen = Vec<(&'static str, &'static str, Outcome)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let sink = Arc::clone(&seen);
    let observer: Observer = Arc::new(move |service, op, outcome, _elapsed| {
        sink.lock().expect("lock").push((service, op, outcome));
    });
    let s = stand(Kind::Event);
    let port = HttpEventRooms::new(
        base(&s),
        client(None, Duration::from_secs(5)).with_observer(observer),
    );
    let room = port.create(&event_room(None)).await.expect("created");
    port.update(room, &EventRoomUpdate::default())
        .await
        .expect("updated");
    s.set_fault(Fault::status(422, "no").on(Op::CreateEvent));
    let _ = port.create_event(room, &NewEvent::lock_chat()).await;
    s.set_fault(Fault::status(500, "no"));
    let _ = port.create(&event_room(None)).await;
    assert_eq!(
        *seen.lock().expect("lock"),
        vec![
            ("event", "create_room", Outcome::Ok),
            ("event", "update_room", Outcome::Ok),
            ("event", "create_event", Outcome::Rejected),
            ("event", "create_room", Outcome::Failed),
        ]
    );
}
