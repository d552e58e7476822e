//! The minigroup entity and the inputs of the use cases.

use uuid::Uuid;

use crate::values::{AccountId, Audience, MinigroupId, Reserve, Scope, Tags, TimeRange};

/// A room in the event or conference service, with the start last sent to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomRef {
    /// The room's id in its service.
    pub id: Uuid,
    /// The `start` of the time last sent to the room (`None` = unbounded).
    pub start: Option<i64>,
}

/// The two rooms an established minigroup owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rooms {
    /// The event room (chat, collaborative events).
    pub event: RoomRef,
    /// The conference room (audio/video).
    pub conference: RoomRef,
}

/// An established minigroup: both rooms exist and are stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Minigroup {
    /// The minigroup's UUID (`class_id`).
    pub id: MinigroupId,
    /// Its audience.
    pub audience: Audience,
    /// Its scope, unique within the audience.
    pub scope: Scope,
    /// The lesson's time.
    pub time: TimeRange,
    /// Arbitrary tags, if any.
    pub tags: Option<Tags>,
    /// Media slots to reserve, if any.
    pub reserve: Option<Reserve>,
    /// The host account, if any.
    pub host: Option<AccountId>,
    /// Its rooms.
    pub rooms: Rooms,
    /// When it was created, unix seconds.
    pub created_at: i64,
}

/// A minigroup whose audience+scope pair is reserved but whose rooms are not
/// yet created. Invisible to every read.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    /// The fresh UUID.
    pub id: MinigroupId,
    /// Its audience.
    pub audience: Audience,
    /// Its scope.
    pub scope: Scope,
    /// The lesson's time.
    pub time: TimeRange,
    /// Arbitrary tags, if any.
    pub tags: Option<Tags>,
    /// Media slots to reserve, if any.
    pub reserve: Option<Reserve>,
    /// The host account, if any.
    pub host: Option<AccountId>,
    /// When the reservation was made, unix seconds; becomes `created_at`.
    pub created_at: i64,
}

/// Which minigroup a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MinigroupKey {
    /// By `class_id`.
    Id(MinigroupId),
    /// By audience and scope.
    Scope(Audience, Scope),
}

/// Input of the create use case (already validated field by field).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateMinigroup {
    /// Scope of the new minigroup.
    pub scope: Scope,
    /// Audience of the new minigroup.
    pub audience: Audience,
    /// Host account.
    pub host: AccountId,
    /// Lesson time (`[null, null]` when not given).
    pub time: TimeRange,
    /// Tags, if given.
    pub tags: Option<Tags>,
    /// Reserve, if given.
    pub reserve: Option<Reserve>,
    /// Whether to lock the chat of the new event room.
    pub locked_chat: bool,
}

/// Input of the update use case: what to change. At least one is set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpdateMinigroup {
    /// New time.
    pub time: Option<TimeRange>,
    /// New reserve.
    pub reserve: Option<Reserve>,
    /// New host.
    pub host: Option<AccountId>,
}

impl UpdateMinigroup {
    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        self.time.is_none() && self.reserve.is_none() && self.host.is_none()
    }
}

/// What the repository stores on update: the fields and the new room starts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MinigroupChanges {
    /// New time.
    pub time: Option<TimeRange>,
    /// New reserve.
    pub reserve: Option<Reserve>,
    /// New host.
    pub host: Option<AccountId>,
    /// New start last sent to the event room.
    pub event_room_start: Option<Option<i64>>,
    /// New start last sent to the conference room.
    pub conference_room_start: Option<Option<i64>>,
}

/// Input of the recreate use case.
#[derive(Debug, Clone, PartialEq)]
pub struct RecreateMinigroup {
    /// New time; the stored one is kept when `None`.
    pub time: Option<TimeRange>,
    /// Whether to lock the chat of the new event room.
    pub locked_chat: bool,
}

impl Default for RecreateMinigroup {
    fn default() -> Self {
        Self {
            time: None,
            locked_chat: true,
        }
    }
}

/// An event to post into a minigroup's event room.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The event type.
    pub kind: String,
    /// The collection set (defaults to the type).
    pub set: String,
    /// The collection item's label.
    pub label: Option<String>,
    /// An attribute for authorization and filtering.
    pub attribute: Option<String>,
    /// The payload.
    pub data: serde_json::Value,
    /// Whether to notify the tenant.
    pub is_claim: bool,
    /// Whether to persist the event.
    pub is_persistent: bool,
}

impl NewEvent {
    /// The event that locks the chat of an event room.
    pub fn lock_chat() -> Self {
        Self {
            kind: "chat_disabled".into(),
            set: "chat_disabled".into(),
            label: None,
            attribute: None,
            data: serde_json::json!({"value": true}),
            is_claim: false,
            is_persistent: true,
        }
    }
}

/// A room's time as sent to an upstream service; either bound may be
/// unbounded, and unlike [`TimeRange`] `start == end` is allowed (a closed room).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomTime {
    /// Start, unix seconds.
    pub start: Option<i64>,
    /// End, unix seconds.
    pub end: Option<i64>,
}

impl RoomTime {
    /// The time that closes a room: `[min(start, now), now]` (an unbounded
    /// start counts as now).
    pub fn closing(last_start: Option<i64>, now: i64) -> Self {
        Self {
            start: Some(last_start.map_or(now, |s| s.min(now))),
            end: Some(now),
        }
    }
}

impl From<TimeRange> for RoomTime {
    fn from(t: TimeRange) -> Self {
        Self {
            start: t.start(),
            end: t.end(),
        }
    }
}

/// Create-room request for the event service.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEventRoom {
    /// The room's audience.
    pub audience: Audience,
    /// The room's start (now); its end is unbounded.
    pub start: i64,
    /// Tags, if any.
    pub tags: Option<Tags>,
    /// The owning minigroup.
    pub classroom_id: MinigroupId,
}

/// Update-room request for the event service.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventRoomUpdate {
    /// New time.
    pub time: Option<RoomTime>,
    /// New owner.
    pub classroom_id: Option<MinigroupId>,
}

/// Create-room request for the conference service.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConferenceRoom {
    /// The room's audience.
    pub audience: Audience,
    /// The room's start: the minigroup's start, or now.
    pub start: i64,
    /// Reserve, if any.
    pub reserve: Option<Reserve>,
    /// Tags, if any.
    pub tags: Option<Tags>,
    /// The owning minigroup.
    pub classroom_id: MinigroupId,
}

/// Update-room request for the conference service.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConferenceRoomUpdate {
    /// New time.
    pub time: Option<RoomTime>,
    /// New reserve.
    pub reserve: Option<Reserve>,
    /// New owner.
    pub classroom_id: Option<MinigroupId>,
    /// New host.
    pub host: Option<AccountId>,
}

/// What a caller wants to do, for the authorizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Create a minigroup.
    Create,
    /// Read a minigroup.
    Read,
    /// Update a minigroup, post events, recreate its rooms.
    Update,
    /// Download its recording.
    Download,
}

impl Action {
    /// The action's name, for logs and messages.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Download => "download",
        }
    }
}

/// What an action is about, for the authorizer.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthzObject {
    /// The minigroup's audience.
    pub audience: Audience,
    /// The minigroup's scope.
    pub scope: Scope,
    /// The minigroup's host, if any.
    pub host: Option<AccountId>,
}

impl From<&Minigroup> for AuthzObject {
    fn from(m: &Minigroup) -> Self {
        Self {
            audience: m.audience.clone(),
            scope: m.scope.clone(),
            host: m.host.clone(),
        }
    }
}
