//! Row structs of the `minigroups` table and their conversions to and from
//! the domain. UUIDs are hyphenated text, tags are JSON text.

use diesel::prelude::*;
use domain::{
    AccountId, Audience, Minigroup, MinigroupChanges, MinigroupId, RepoError, Reservation, Reserve,
    RoomRef, Rooms, Scope, Tags, TimeRange,
};
use uuid::Uuid;

use crate::schema::minigroups;

/// A stored minigroup, pending or established.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = minigroups)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite))]
pub struct MinigroupRow {
    /// The minigroup's UUID.
    pub id: String,
    /// Its audience.
    pub audience: String,
    /// Its scope.
    pub scope: String,
    /// Lesson start.
    pub time_start: Option<i64>,
    /// Lesson end.
    pub time_end: Option<i64>,
    /// Tags (a JSON object as text).
    pub tags: Option<String>,
    /// Reserve.
    pub reserve: Option<i32>,
    /// Host account id.
    pub host: Option<String>,
    /// Event room id.
    pub event_room_id: Option<String>,
    /// Start last sent to the event room.
    pub event_room_start: Option<i64>,
    /// Conference room id.
    pub conference_room_id: Option<String>,
    /// Start last sent to the conference room.
    pub conference_room_start: Option<i64>,
    /// Whether the minigroup is established.
    pub established: bool,
    /// When it was reserved.
    pub created_at: i64,
}

fn corrupt(id: &str, what: impl std::fmt::Display) -> RepoError {
    RepoError::Unavailable(format!("stored minigroup {id} is invalid: {what}"))
}

fn uuid(id: &str, field: &str, value: &str) -> Result<Uuid, RepoError> {
    Uuid::parse_str(value).map_err(|e| corrupt(id, format!("{field}: {e}")))
}

impl TryFrom<MinigroupRow> for Minigroup {
    type Error = RepoError;

    fn try_from(row: MinigroupRow) -> Result<Self, Self::Error> {
        let id = row.id.as_str();
        if !row.established {
            return Err(corrupt(id, "it is not established"));
        }
        let (Some(event_room_id), Some(conference_room_id)) = (
            row.event_room_id.as_deref(),
            row.conference_room_id.as_deref(),
        ) else {
            return Err(corrupt(id, "a room id is missing"));
        };
        let tags = row
            .tags
            .as_deref()
            .map(|t| {
                serde_json::from_str(t)
                    .map_err(|e| corrupt(id, format!("tags: {e}")))
                    .and_then(|v| Tags::from_value(v).map_err(|e| corrupt(id, e)))
            })
            .transpose()?;
        let reserve = row
            .reserve
            .map(|r| Reserve::new(i64::from(r)))
            .transpose()
            .map_err(|e| corrupt(id, e))?;
        let host = row
            .host
            .map(|h| AccountId::parse("host", h))
            .transpose()
            .map_err(|e| corrupt(id, e))?;
        Ok(Minigroup {
            id: MinigroupId::new(uuid(id, "id", id)?),
            audience: Audience::new(row.audience).map_err(|e| corrupt(id, e))?,
            scope: Scope::new(row.scope).map_err(|e| corrupt(id, e))?,
            time: TimeRange::new(row.time_start, row.time_end).map_err(|e| corrupt(id, e))?,
            tags,
            reserve,
            host,
            rooms: Rooms {
                event: RoomRef {
                    id: uuid(id, "event_room_id", event_room_id)?,
                    start: row.event_room_start,
                },
                conference: RoomRef {
                    id: uuid(id, "conference_room_id", conference_room_id)?,
                    start: row.conference_room_start,
                },
            },
            created_at: row.created_at,
        })
    }
}

/// A new pending reservation; every column is written (`None` is `NULL`).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = minigroups)]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct NewMinigroupRow<'a> {
    pub id: String,
    pub audience: &'a str,
    pub scope: &'a str,
    pub time_start: Option<i64>,
    pub time_end: Option<i64>,
    pub tags: Option<String>,
    pub reserve: Option<i32>,
    pub host: Option<&'a str>,
    pub event_room_id: Option<String>,
    pub event_room_start: Option<i64>,
    pub conference_room_id: Option<String>,
    pub conference_room_start: Option<i64>,
    pub established: bool,
    pub created_at: i64,
}

impl<'a> From<&'a Reservation> for NewMinigroupRow<'a> {
    fn from(r: &'a Reservation) -> Self {
        Self {
            id: r.id.to_string(),
            audience: r.audience.as_str(),
            scope: r.scope.as_str(),
            time_start: r.time.start(),
            time_end: r.time.end(),
            tags: r.tags.as_ref().map(|t| t.to_value().to_string()),
            reserve: r.reserve.map(|v| v.get()),
            host: r.host.as_ref().map(AccountId::as_str),
            event_room_id: None,
            event_room_start: None,
            conference_room_id: None,
            conference_room_start: None,
            established: false,
            created_at: r.created_at,
        }
    }
}

/// The columns `update` sets: only the `Some` fields; `Some(None)` is `NULL`.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = minigroups)]
pub(crate) struct MinigroupChangeset<'a> {
    pub time_start: Option<Option<i64>>,
    pub time_end: Option<Option<i64>>,
    pub reserve: Option<i32>,
    pub host: Option<&'a str>,
    pub event_room_start: Option<Option<i64>>,
    pub conference_room_start: Option<Option<i64>>,
}

impl<'a> MinigroupChangeset<'a> {
    /// The changeset of `changes`, or `None` when it changes nothing.
    pub(crate) fn of(changes: &'a MinigroupChanges) -> Option<Self> {
        let set = Self {
            time_start: changes.time.map(|t| t.start()),
            time_end: changes.time.map(|t| t.end()),
            reserve: changes.reserve.map(|r| r.get()),
            host: changes.host.as_ref().map(AccountId::as_str),
            event_room_start: changes.event_room_start,
            conference_room_start: changes.conference_room_start,
        };
        let empty = set.time_start.is_none()
            && set.reserve.is_none()
            && set.host.is_none()
            && set.event_room_start.is_none()
            && set.conference_room_start.is_none();
        (!empty).then_some(set)
    }
}

/// The columns that hold both rooms, as `establish` and `replace_rooms` set
/// them (a `None` start is stored as `NULL`).
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = minigroups)]
#[diesel(treat_none_as_null = true)]
pub(crate) struct RoomsChangeset {
    pub event_room_id: Option<String>,
    pub event_room_start: Option<i64>,
    pub conference_room_id: Option<String>,
    pub conference_room_start: Option<i64>,
}

impl From<Rooms> for RoomsChangeset {
    fn from(r: Rooms) -> Self {
        Self {
            event_room_id: Some(r.event.id.to_string()),
            event_room_start: r.event.start,
            conference_room_id: Some(r.conference.id.to_string()),
            conference_room_start: r.conference.start,
        }
    }
}
