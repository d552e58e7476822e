//! The port implementations.

use async_trait::async_trait;
use domain::{
    Audience, ConferenceRoomUpdate, ConferenceRooms, EventRoomUpdate, EventRooms,
    NewConferenceRoom, NewEvent, NewEventRoom, Scope, Storage, UpstreamError,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;
use uuid::Uuid;

use crate::client::{reason, unexpected_status, Answer, Call, UpstreamClient};
use crate::endpoint::join;
use crate::wire;

const EVENT: &str = "event";
const CONFERENCE: &str = "conference";
const STORAGE: &str = "storage";

/// `what` for messages: `POST /rooms`.
fn what(method: &Method, url: &Url) -> String {
    format!("{method} {}", url.path())
}

/// A create-room answer: 2xx with a JSON object holding a UUID `id`.
fn room_id(what: &str, a: &Answer) -> Result<Uuid, UpstreamError> {
    if !a.status.is_success() {
        return Err(unexpected_status(what, a));
    }
    let body: Value = serde_json::from_slice(&a.body)
        .map_err(|_| UpstreamError::Failed(format!("{what} answered {}: not JSON", a.status)))?;
    body.get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| {
            UpstreamError::Failed(format!(
                "{what} answered {} without a UUID \"id\"",
                a.status
            ))
        })
}

/// An answer whose body does not matter: 2xx is success.
fn success(what: &str, a: &Answer) -> Result<(), UpstreamError> {
    if a.status.is_success() {
        Ok(())
    } else {
        Err(unexpected_status(what, a))
    }
}

async fn create_room(
    client: &UpstreamClient,
    service: &'static str,
    base: &Url,
    body: &Value,
) -> Result<Uuid, UpstreamError> {
    let url = join(base, &["rooms"]);
    let what = what(&Method::POST, &url);
    let call = Call {
        service,
        op: "create_room",
        method: Method::POST,
        url,
        body: Some(body),
    };
    client.exchange(call, |a| room_id(&what, a)).await
}

async fn update_room(
    client: &UpstreamClient,
    service: &'static str,
    base: &Url,
    room: Uuid,
    body: &Value,
) -> Result<(), UpstreamError> {
    let url = join(base, &["rooms", &room.to_string()]);
    let what = what(&Method::PATCH, &url);
    let call = Call {
        service,
        op: "update_room",
        method: Method::PATCH,
        url,
        body: Some(body),
    };
    client.exchange(call, |a| success(&what, a)).await
}

/// [`EventRooms`] over the event service's HTTP API (contract §5).
#[derive(Debug, Clone)]
pub struct HttpEventRooms {
    base: Url,
    client: UpstreamClient,
}

impl HttpEventRooms {
    /// The event service at `base` (`EVENT_URL`; may carry a path prefix,
    /// with or without a trailing slash).
    pub fn new(base: Url, client: UpstreamClient) -> Self {
        Self { base, client }
    }
}

#[async_trait]
impl EventRooms for HttpEventRooms {
    /// `POST /rooms` `{"audience", "time": [start, null], "preserve_history":
    /// true, "tags"?, "classroom_id"}`.
    ///
    /// # Errors
    /// `Timeout` on timeout; `Failed` on a connection error, a non-2xx
    /// answer, or an answer that is not JSON or lacks a UUID `id`.
    async fn create(&self, room: &NewEventRoom) -> Result<Uuid, UpstreamError> {
        let body = wire::create_event_room(room);
        create_room(&self.client, EVENT, &self.base, &body).await
    }

    /// `PATCH /rooms/{id}` `{"time"?, "classroom_id"?}`; the answer's body is
    /// not inspected.
    ///
    /// # Errors
    /// `Timeout` on timeout; `Failed` on a connection error or non-2xx.
    async fn update(&self, room: Uuid, update: &EventRoomUpdate) -> Result<(), UpstreamError> {
        let body = wire::update_event_room(update);
        update_room(&self.client, EVENT, &self.base, room, &body).await
    }

    /// `POST /rooms/{id}/events` `{"type", "set", "label"?, "attribute"?,
    /// "data", "is_claim", "is_persistent"}`; the answer's body is not
    /// inspected.
    ///
    /// # Errors
    /// `Rejected { status, reason }` on a 4xx, with the service's reason
    /// (a `detail`/`error`/`message`/`title` field, else the body text, at
    /// most 500 characters); `Timeout` on timeout; `Failed` otherwise.
    async fn create_event(&self, room: Uuid, event: &NewEvent) -> Result<(), UpstreamError> {
        let body = wire::create_event(event);
        let url = join(&self.base, &["rooms", &room.to_string(), "events"]);
        let what = what(&Method::POST, &url);
        let call = Call {
            service: EVENT,
            op: "create_event",
            method: Method::POST,
            url,
            body: Some(&body),
        };
        self.client
            .exchange(call, |a| {
                if a.status.is_client_error() {
                    Err(UpstreamError::Rejected {
                        status: a.status.as_u16(),
                        reason: reason(a),
                    })
                } else {
                    success(&what, a)
                }
            })
            .await
    }
}

/// [`ConferenceRooms`] over the conference service's HTTP API (contract §5).
#[derive(Debug, Clone)]
pub struct HttpConferenceRooms {
    base: Url,
    client: UpstreamClient,
}

impl HttpConferenceRooms {
    /// The conference service at `base` (`CONFERENCE_URL`; may carry a path
    /// prefix, with or without a trailing slash).
    pub fn new(base: Url, client: UpstreamClient) -> Self {
        Self { base, client }
    }
}

#[async_trait]
impl ConferenceRooms for HttpConferenceRooms {
    /// `POST /rooms` `{"audience", "time": [start, null],
    /// "rtc_sharing_policy": "owned", "reserve"?, "tags"?, "classroom_id"}`.
    ///
    /// # Errors
    /// `Timeout` on timeout; `Failed` on a connection error, a non-2xx
    /// answer, or an answer that is not JSON or lacks a UUID `id`.
    async fn create(&self, room: &NewConferenceRoom) -> Result<Uuid, UpstreamError> {
        let body = wire::create_conference_room(room);
        create_room(&self.client, CONFERENCE, &self.base, &body).await
    }

    /// `PATCH /rooms/{id}` `{"time"?, "reserve"?, "classroom_id"?, "host"?}`;
    /// the answer's body is not inspected.
    ///
    /// # Errors
    /// `Timeout` on timeout; `Failed` on a connection error or non-2xx.
    async fn update(&self, room: Uuid, update: &ConferenceRoomUpdate) -> Result<(), UpstreamError> {
        let body = wire::update_conference_room(update);
        update_room(&self.client, CONFERENCE, &self.base, room, &body).await
    }
}

/// [`Storage`] over the storage service's HTTP API (contract §5).
#[derive(Debug, Clone)]
pub struct HttpStorage {
    base: Url,
    client: UpstreamClient,
}

impl HttpStorage {
    /// The storage service at `base` (`STORAGE_URL`; may carry a path
    /// prefix, with or without a trailing slash).
    pub fn new(base: Url, client: UpstreamClient) -> Self {
        Self { base, client }
    }

    /// The URL of the minigroup's source file:
    /// `{base}/api/v2/backends/yandex/sets/ms.minigroup.{audience}::{scope}/objects/mp4`,
    /// the set segment percent-encoded with [`crate::SEGMENT`] (`:` is kept).
    pub fn source_file_url(&self, audience: &Audience, scope: &Scope) -> Url {
        let set = format!("ms.minigroup.{audience}::{scope}");
        join(
            &self.base,
            &[
                "api", "v2", "backends", "yandex", "sets", &set, "objects", "mp4",
            ],
        )
    }
}

#[async_trait]
impl Storage for HttpStorage {
    /// `HEAD` on [`HttpStorage::source_file_url`]: `200` → that URL, `404` →
    /// `None`.
    ///
    /// # Errors
    /// `Timeout` on timeout; `Failed` on a connection error or any other
    /// status (redirects are not followed).
    async fn source_url(
        &self,
        audience: &Audience,
        scope: &Scope,
    ) -> Result<Option<String>, UpstreamError> {
        let url = self.source_file_url(audience, scope);
        let found = url.to_string();
        let what = what(&Method::HEAD, &url);
        let call = Call {
            service: STORAGE,
            op: "source_url",
            method: Method::HEAD,
            url,
            body: None,
        };
        self.client
            .exchange(call, move |a| match a.status {
                StatusCode::OK => Ok(Some(found)),
                StatusCode::NOT_FOUND => Ok(None),
                _ => Err(unexpected_status(&what, a)),
            })
            .await
    }
}
