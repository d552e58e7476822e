//! The stand-ins answer per contract §5 over real HTTP, record requests and
//! inject faults.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use devstand::{Fault, Kind, Op, Stand};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

fn stand(kind: Kind) -> Stand {
    devstand::start(kind, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).expect("stand-in starts")
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

async fn send(s: &Stand, method: Method, path: &str, body: Option<Value>) -> (StatusCode, String) {
    let mut req = client().request(method, format!("{}{path}", s.url()));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("answer");
    let status = resp.status();
    (status, resp.text().await.expect("body"))
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON body")
}

fn room_body() -> Value {
    json!({
        "audience": "usr.example.org",
        "time": [100, null],
        "preserve_history": true,
        "classroom_id": Uuid::new_v4(),
    })
}

#[tokio::test]
async fn event_rooms_and_events_follow_the_contract() {
    let s = stand(Kind::Event);
    let (status, text) = send(&s, Method::POST, "/rooms", Some(room_body())).await;
    assert_eq!(status, StatusCode::CREATED);
    let room = json_of(&text);
    let id: Uuid = room["id"]
        .as_str()
        .and_then(|i| i.parse().ok())
        .expect("id");
    assert_eq!(room["audience"], "usr.example.org");

    let (status, text) = send(
        &s,
        Method::PATCH,
        &format!("/rooms/{id}"),
        Some(json!({"time": [100, 200]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json_of(&text)["time"], json!([100, 200]));
    let snap = s.room(id).expect("room kept");
    assert_eq!(snap.time, (Some(100), Some(200)));
    assert_eq!(snap.json["preserve_history"], true);

    let event = json!({"type": "message", "set": "messages", "data": {"text": "hi"},
                       "is_claim": false, "is_persistent": true});
    let path = format!("/rooms/{id}/events");
    let (status, _) = send(&s, Method::POST, &path, Some(event.clone())).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(s.events(id), vec![event]);

    let (status, text) = send(&s, Method::POST, &path, Some(json!({"type": "x"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(json_of(&text)["error"].is_string());

    let unknown = Uuid::new_v4();
    let (status, _) = send(
        &s,
        Method::POST,
        &format!("/rooms/{unknown}/events"),
        Some(json!({"type": "x", "data": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(
        &s,
        Method::PATCH,
        &format!("/rooms/{unknown}"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(s.rooms().len(), 1);
}

#[tokio::test]
async fn create_room_validates_required_fields() {
    let s = stand(Kind::Conference);
    let mut missing_audience = room_body();
    missing_audience
        .as_object_mut()
        .expect("object")
        .remove("audience");
    let bad = [
        missing_audience,
        json!({"audience": "a", "time": [1], "classroom_id": Uuid::new_v4()}),
        json!({"audience": "a", "time": [1, null]}),
        json!({"audience": "a", "time": [1, null], "classroom_id": "nope"}),
        json!([1, 2]),
    ];
    for body in bad {
        let (status, text) = send(&s, Method::POST, "/rooms", Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(json_of(&text)["error"].is_string(), "{body}");
    }
    assert!(s.rooms().is_empty());

    let (status, text) = send(&s, Method::POST, "/rooms", Some(room_body())).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = json_of(&text)["id"].as_str().expect("id").to_owned();
    let (status, _) = send(
        &s,
        Method::PATCH,
        &format!("/rooms/{id}"),
        Some(json!({"reserve": 5, "host": "t.usr.example.org"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let room = &s.rooms()[0];
    assert_eq!(room.reserve, Some(5));
    assert_eq!(room.host.as_deref(), Some("t.usr.example.org"));
    // Conference rooms have no events.
    let (status, _) = send(
        &s,
        Method::POST,
        &format!("/rooms/{id}/events"),
        Some(json!({"type": "x", "data": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn storage_answers_head_for_marked_recordings() {
    let s = stand(Kind::Storage);
    let encoded =
        "/api/v2/backends/yandex/sets/ms.minigroup.usr.example.org%3A%3Alesson%2042/objects/mp4";
    let plain =
        "/api/v2/backends/yandex/sets/ms.minigroup.usr.example.org::lesson%2042/objects/mp4";
    assert_eq!(
        send(&s, Method::HEAD, plain, None).await.0,
        StatusCode::NOT_FOUND
    );
    s.put_recording("usr.example.org", "lesson 42");
    assert_eq!(send(&s, Method::HEAD, plain, None).await.0, StatusCode::OK);
    assert_eq!(
        send(&s, Method::HEAD, encoded, None).await.0,
        StatusCode::OK
    );

    let other = "/api/v2/backends/yandex/sets/ms.minigroup.usr.example.org::other/objects/mp4";
    assert_eq!(
        send(&s, Method::HEAD, other, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&s, Method::PUT, other, None).await.0,
        StatusCode::CREATED
    );
    assert_eq!(send(&s, Method::HEAD, other, None).await.0, StatusCode::OK);
    assert_eq!(send(&s, Method::GET, other, None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn requests_are_recorded_with_headers_and_body() {
    let s = stand(Kind::Event);
    let body = room_body();
    let resp = client()
        .post(format!("{}/rooms?x=1", s.url()))
        .bearer_auth("tok")
        .json(&body)
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::CREATED);
    send(&s, Method::PATCH, "/rooms/not-a-uuid", None).await;

    let reqs = s.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/rooms");
    assert_eq!(reqs[0].query.as_deref(), Some("x=1"));
    assert_eq!(reqs[0].authorization.as_deref(), Some("Bearer tok"));
    assert_eq!(reqs[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(reqs[0].body, body);
    assert_eq!(reqs[1].authorization, None);
    assert_eq!(reqs[1].body, Value::Null);
    s.clear_requests();
    assert!(s.requests().is_empty());
}

#[tokio::test]
async fn faults_match_and_count_down() {
    let s = stand(Kind::Event);
    s.set_fault(
        Fault::status(503, r#"{"error":"down"}"#)
            .on(Op::CreateRoom)
            .times(2),
    );
    for _ in 0..2 {
        let (status, text) = send(&s, Method::POST, "/rooms", Some(room_body())).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(json_of(&text)["error"], "down");
    }
    assert!(s.rooms().is_empty(), "faulted requests change nothing");
    let (status, text) = send(&s, Method::POST, "/rooms", Some(room_body())).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = json_of(&text)["id"].as_str().expect("id").to_owned();

    s.set_fault(Fault::not_json().method("post").path_prefix("/rooms"));
    let (status, text) = send(&s, Method::POST, "/rooms", Some(room_body())).await;
    assert_eq!((status, text.as_str()), (StatusCode::CREATED, "not json"));
    // PATCH is not matched by a POST fault.
    let patch = format!("/rooms/{id}");
    let (status, _) = send(&s, Method::PATCH, &patch, Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK);

    s.set_fault(Fault::missing_id());
    let (status, text) = send(&s, Method::PATCH, &patch, Some(json!({}))).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "{}"));
    let (status, text) = send(&s, Method::POST, "/rooms", Some(room_body())).await;
    assert_eq!((status, text.as_str()), (StatusCode::CREATED, "{}"));

    s.clear_faults();
    let (status, _) = send(&s, Method::POST, "/rooms", Some(room_body())).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(s.rooms().len(), 2);
}

#[tokio::test]
async fn hang_never_answers_and_latency_delays() {
    let s = stand(Kind::Storage);
    s.set_fault(Fault::hang().times(1));
    let started = Instant::now();
    let err = Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("client")
        .head(format!("{}/anything", s.url()))
        .send()
        .await
        .expect_err("no answer");
    assert!(err.is_timeout());
    assert!(started.elapsed() < Duration::from_secs(3));

    s.set_latency(Duration::from_millis(150));
    let started = Instant::now();
    let (status, _) = send(&s, Method::HEAD, "/anything", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn stopping_frees_the_port_and_start_all_starts_three() {
    let (event, conference, storage) =
        devstand::start_all(Ipv4Addr::LOCALHOST.into()).expect("stand-ins start");
    assert_eq!(
        [event.kind(), conference.kind(), storage.kind()],
        [Kind::Event, Kind::Conference, Kind::Storage]
    );
    let url = event.url();
    let taken = event.addr();
    assert!(
        devstand::start(Kind::Event, taken).is_err(),
        "address in use"
    );
    drop(event);
    let err = client()
        .post(format!("{url}/rooms"))
        .send()
        .await
        .expect_err("nobody listens");
    assert!(err.is_connect(), "{err:?}");
}

#[test]
fn works_without_any_runtime() {
    let mut s = stand(Kind::Event);
    assert!(s.url().starts_with("http://127.0.0.1:"));
    s.stop();
    s.stop();
}
