//! Shared fixtures: tokens, sample minigroups, the app under test.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::test;
use domain::{
    AccountId, Audience, Minigroup, MinigroupId, Reserve, RoomRef, Rooms, Scope, Tags, TimeRange,
};
use http_api::{AuthConfig, Authenticator, JwtAlgorithm};
use serde_json::Value;
use uuid::Uuid;

pub const SECRET: &[u8] = b"test-secret-of-some-length";
pub const AUDIENCE: &str = "usr.example.org";

pub const ES256_PRIVATE: &[u8] = include_bytes!("keys/es256-private.pem");
pub const ES256_PUBLIC: &[u8] = include_bytes!("keys/es256-public.pem");
pub const RS256_PRIVATE: &[u8] = include_bytes!("keys/rs256-private.pem");
pub const RS256_PUBLIC: &[u8] = include_bytes!("keys/rs256-public.pem");

pub fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// The HS256 verifier of most tests, without issuer.
pub fn hs256() -> Arc<Authenticator> {
    Arc::new(
        Authenticator::new(AuthConfig {
            algorithm: JwtAlgorithm::Hs256,
            key: SECRET.to_vec(),
            issuer: None,
        })
        .unwrap(),
    )
}

/// A valid HS256 token for `alice.usr.example.org`.
pub fn token() -> String {
    http_api::encode_hs256(SECRET, "alice", AUDIENCE, now() + 3600).unwrap()
}

pub fn bearer() -> (header::HeaderName, String) {
    (header::AUTHORIZATION, format!("Bearer {}", token()))
}

/// Signs arbitrary claims.
pub fn sign(
    alg: jsonwebtoken::Algorithm,
    key: &jsonwebtoken::EncodingKey,
    claims: &Value,
) -> String {
    jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), claims, key).unwrap()
}

pub fn hs_key() -> jsonwebtoken::EncodingKey {
    jsonwebtoken::EncodingKey::from_secret(SECRET)
}

pub fn alice() -> AccountId {
    AccountId::from_parts("alice", AUDIENCE).unwrap()
}

pub const CLASS_ID: &str = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";
pub const EVENT_ROOM: &str = "11111111-2222-4333-8444-555555555555";
pub const CONFERENCE_ROOM: &str = "66666666-7777-4888-9999-aaaaaaaaaaaa";

pub fn class_id() -> MinigroupId {
    MinigroupId::parse(CLASS_ID).unwrap()
}

fn rooms() -> Rooms {
    Rooms {
        event: RoomRef {
            id: Uuid::parse_str(EVENT_ROOM).unwrap(),
            start: Some(1_767_200_000),
        },
        conference: RoomRef {
            id: Uuid::parse_str(CONFERENCE_ROOM).unwrap(),
            start: Some(1_767_261_600),
        },
    }
}

/// A minigroup with every optional field set.
pub fn full() -> Minigroup {
    Minigroup {
        id: class_id(),
        audience: Audience::new(AUDIENCE).unwrap(),
        scope: Scope::new("lesson-42").unwrap(),
        time: TimeRange::new(Some(1_767_261_600), Some(1_767_265_200)).unwrap(),
        tags: Some(Tags::from_value(serde_json::json!({"course": "math"})).unwrap()),
        reserve: Some(Reserve::new(10).unwrap()),
        host: Some(AccountId::parse("host", "teacher1.usr.example.org").unwrap()),
        rooms: rooms(),
        created_at: 1_767_200_000,
    }
}

/// The §3 object of [`full`].
pub fn full_json() -> Value {
    serde_json::json!({
        "id": "lesson-42",
        "class_id": CLASS_ID,
        "audience": AUDIENCE,
        "scope": "lesson-42",
        "time": [1_767_261_600, 1_767_265_200],
        "tags": {"course": "math"},
        "reserve": 10,
        "host": "teacher1.usr.example.org",
        "real_time": {
            "event_room_id": EVENT_ROOM,
            "conference_room_id": CONFERENCE_ROOM,
            "host": "teacher1.usr.example.org"
        },
        "created_at": 1_767_200_000
    })
}

/// A minigroup without tags, reserve or host, and an open-ended time.
pub fn bare() -> Minigroup {
    Minigroup {
        time: TimeRange::new(None, Some(1_767_265_200)).unwrap(),
        tags: None,
        reserve: None,
        host: None,
        ..full()
    }
}

/// The §3 object of [`bare`].
pub fn bare_json() -> Value {
    serde_json::json!({
        "id": "lesson-42",
        "class_id": CLASS_ID,
        "audience": AUDIENCE,
        "scope": "lesson-42",
        "time": [null, 1_767_265_200],
        "real_time": {
            "event_room_id": EVENT_ROOM,
            "conference_room_id": CONFERENCE_ROOM
        },
        "created_at": 1_767_200_000
    })
}

/// Builds the app over a service and an authenticator.
macro_rules! app {
    ($service:expr) => {
        app!($service, $crate::helpers::hs256())
    };
    ($service:expr, $auth:expr) => {
        actix_web::test::init_service(actix_web::App::new().configure(http_api::configure(
            http_api::ApiState::new(std::sync::Arc::new($service), $auth),
        )))
        .await
    };
}

/// Status, response, JSON body (`Value::Null` for an empty body).
pub async fn json_of(res: ServiceResponse) -> (StatusCode, header::HeaderMap, Value) {
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
    };
    (status, headers, body)
}

/// Asserts a problem+json answer of `kind` and `status`; returns its detail.
pub fn assert_problem(
    (status, headers, body): &(StatusCode, header::HeaderMap, Value),
    expected: u16,
    kind: &str,
) -> String {
    assert_eq!(status.as_u16(), expected, "status; body: {body}");
    assert_eq!(
        headers.get(header::CONTENT_TYPE).unwrap(),
        "application/problem+json",
        "content type; body: {body}"
    );
    let obj = body.as_object().unwrap();
    assert_eq!(obj.len(), 4, "exactly type, title, status, detail: {body}");
    assert_eq!(body["type"], kind, "{body}");
    assert_eq!(body["status"], expected, "{body}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    let detail = body["detail"].as_str().unwrap().to_owned();
    assert!(!detail.is_empty(), "{body}");
    detail
}
