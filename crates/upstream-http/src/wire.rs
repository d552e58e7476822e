//! The JSON bodies of contract §5. Optional fields are omitted when `None`.

use domain::{
    ConferenceRoomUpdate, EventRoomUpdate, NewConferenceRoom, NewEvent, NewEventRoom, RoomTime,
};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

/// `[start, end]`, each an integer or `null`.
type Time = [Option<i64>; 2];

fn time(t: RoomTime) -> Time {
    [t.start, t.end]
}

#[derive(Serialize)]
struct CreateEventRoom<'a> {
    audience: &'a str,
    time: Time,
    preserve_history: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a Map<String, Value>>,
    classroom_id: Uuid,
}

#[derive(Serialize)]
struct UpdateEventRoom {
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    classroom_id: Option<Uuid>,
}

#[derive(Serialize)]
struct CreateEvent<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    set: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attribute: Option<&'a str>,
    data: &'a Value,
    is_claim: bool,
    is_persistent: bool,
}

#[derive(Serialize)]
struct CreateConferenceRoom<'a> {
    audience: &'a str,
    time: Time,
    rtc_sharing_policy: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reserve: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a Map<String, Value>>,
    classroom_id: Uuid,
}

#[derive(Serialize)]
struct UpdateConferenceRoom<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reserve: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    classroom_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
}

fn to_value(body: impl Serialize) -> Value {
    // These structs hold only strings, integers, booleans and JSON values, so
    // serialising them cannot fail; `Null` is unreachable.
    serde_json::to_value(body).unwrap_or(Value::Null)
}

/// `POST /rooms` of the event service.
pub(crate) fn create_event_room(r: &NewEventRoom) -> Value {
    to_value(CreateEventRoom {
        audience: r.audience.as_str(),
        time: [Some(r.start), None],
        preserve_history: true,
        tags: r.tags.as_ref().map(|t| t.as_map()),
        classroom_id: r.classroom_id.as_uuid(),
    })
}

/// `PATCH /rooms/{id}` of the event service.
pub(crate) fn update_event_room(u: &EventRoomUpdate) -> Value {
    to_value(UpdateEventRoom {
        time: u.time.map(time),
        classroom_id: u.classroom_id.map(|c| c.as_uuid()),
    })
}

/// `POST /rooms/{id}/events` of the event service.
pub(crate) fn create_event(e: &NewEvent) -> Value {
    to_value(CreateEvent {
        kind: &e.kind,
        set: &e.set,
        label: e.label.as_deref(),
        attribute: e.attribute.as_deref(),
        data: &e.data,
        is_claim: e.is_claim,
        is_persistent: e.is_persistent,
    })
}

/// `POST /rooms` of the conference service.
pub(crate) fn create_conference_room(r: &NewConferenceRoom) -> Value {
    to_value(CreateConferenceRoom {
        audience: r.audience.as_str(),
        time: [Some(r.start), None],
        rtc_sharing_policy: "owned",
        reserve: r.reserve.map(|x| x.get()),
        tags: r.tags.as_ref().map(|t| t.as_map()),
        classroom_id: r.classroom_id.as_uuid(),
    })
}

/// `PATCH /rooms/{id}` of the conference service.
pub(crate) fn update_conference_room(u: &ConferenceRoomUpdate) -> Value {
    to_value(UpdateConferenceRoom {
        time: u.time.map(time),
        reserve: u.reserve.map(|x| x.get()),
        classroom_id: u.classroom_id.map(|c| c.as_uuid()),
        host: u.host.as_ref().map(|h| h.as_str()),
    })
}
