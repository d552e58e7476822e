//! Request and response bodies, and their conversion to and from the domain.
//!
//! Request DTOs reject unknown fields; they become domain inputs only
//! through the domain's validating constructors.

use domain::{
    AccountId, Audience, CreateMinigroup, Minigroup, NewEvent, RecreateMinigroup, Reserve, Scope,
    Tags, TimeRange, UpdateMinigroup, ValidationError,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::openapi::{nullable_time_schema, time_schema};

/// Deserializes a present field, `null` included, as `Some`; an absent field
/// stays `None` through `#[serde(default)]`.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// `time` as sent: must hold exactly two elements, checked on conversion.
type TimeDto = Vec<Option<i64>>;

fn time_range(t: TimeDto) -> Result<TimeRange, ValidationError> {
    match t.as_slice() {
        [start, end] => TimeRange::new(*start, *end),
        _ => Err(ValidationError::Field {
            field: "time",
            reason: format!(
                "must be an array of exactly two elements [start, end], got {}",
                t.len()
            ),
        }),
    }
}

fn not_null<T>(field: &'static str, v: Option<Option<T>>) -> Result<Option<T>, ValidationError> {
    match v {
        None => Ok(None),
        Some(Some(v)) => Ok(Some(v)),
        Some(None) => Err(ValidationError::Field {
            field,
            reason: "must not be null".into(),
        }),
    }
}

/// Body of `POST /api/v1/minigroups`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "scope": "lesson-42",
    "audience": "usr.example.org",
    "host": "teacher1.usr.example.org",
    "time": [1_767_261_600, 1_767_265_200],
    "tags": {"course": "math"},
    "reserve": 10,
    "locked_chat": true
}))]
pub struct CreateBody {
    /// Scope of the new minigroup: 1 to 255 characters, no `/`.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = "^[^/]+$",
        example = "lesson-42"
    )]
    pub scope: String,
    /// Audience of the new minigroup: 1 to 255 characters, no `/`.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = "^[^/]+$",
        example = "usr.example.org"
    )]
    pub audience: String,
    /// Host account id, `label.audience`.
    #[schema(example = "teacher1.usr.example.org")]
    pub host: String,
    /// `[start|null, end|null]`.
    #[serde(default)]
    #[schema(schema_with = nullable_time_schema)]
    pub time: Option<TimeDto>,
    /// A JSON object.
    #[serde(default)]
    #[schema(value_type = Option<Object>, example = json!({"course": "math"}))]
    pub tags: Option<serde_json::Value>,
    /// Integer ≥ 0.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 2_147_483_647, example = 10)]
    pub reserve: Option<i64>,
    /// Defaults to `true`.
    #[serde(default)]
    #[schema(default = true)]
    pub locked_chat: Option<bool>,
}

impl CreateBody {
    /// The create use case's input.
    ///
    /// # Errors
    /// The first [`ValidationError`] of the domain's constructors.
    pub fn into_domain(self) -> Result<CreateMinigroup, ValidationError> {
        Ok(CreateMinigroup {
            scope: Scope::new(self.scope)?,
            audience: Audience::new(self.audience)?,
            host: AccountId::parse("host", self.host)?,
            time: self.time.map(time_range).transpose()?.unwrap_or_default(),
            tags: self.tags.map(Tags::from_value).transpose()?,
            reserve: self.reserve.map(Reserve::new).transpose()?,
            locked_chat: self.locked_chat.unwrap_or(true),
        })
    }
}

/// Body of `PUT` by id or by audience/scope. Absent fields are kept;
/// `null` is rejected.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1, example = json!({"time": [1_767_261_600, 1_767_268_800], "reserve": 20}))]
pub struct UpdateBody {
    /// New time.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = time_schema)]
    pub time: Option<Option<TimeDto>>,
    /// New reserve, an integer ≥ 0.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = i64, minimum = 0, maximum = 2_147_483_647, example = 20)]
    pub reserve: Option<Option<i64>>,
    /// New host account id, `label.audience`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, example = "teacher2.usr.example.org")]
    pub host: Option<Option<String>>,
}

impl UpdateBody {
    /// The update use case's input.
    ///
    /// # Errors
    /// [`ValidationError::NothingToDo`] when no field is given, a
    /// [`ValidationError::Field`] for a `null`, or the constructors' errors.
    pub fn into_domain(self) -> Result<UpdateMinigroup, ValidationError> {
        if self.time.is_none() && self.reserve.is_none() && self.host.is_none() {
            return Err(ValidationError::NothingToDo {
                fields: "time, reserve, host",
            });
        }
        Ok(UpdateMinigroup {
            time: not_null("time", self.time)?.map(time_range).transpose()?,
            reserve: not_null("reserve", self.reserve)?
                .map(Reserve::new)
                .transpose()?,
            host: not_null("host", self.host)?
                .map(|h| AccountId::parse("host", h))
                .transpose()?,
        })
    }
}

/// Body of `POST /api/v1/minigroups/{id}/events`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "message", "data": {"text": "hello"}}))]
pub struct EventBody {
    /// The event type, non-empty.
    #[serde(rename = "type")]
    #[schema(min_length = 1, example = "message")]
    pub kind: String,
    /// Non-empty; defaults to `type`.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub set: Option<String>,
    /// Optional label.
    #[serde(default)]
    pub label: Option<String>,
    /// Optional attribute.
    #[serde(default)]
    pub attribute: Option<String>,
    /// Any JSON, `null` included; required.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Value, required = true)]
    pub data: Option<serde_json::Value>,
    /// Defaults to `false`.
    #[serde(default)]
    #[schema(default = false)]
    pub is_claim: Option<bool>,
    /// Defaults to `true`.
    #[serde(default)]
    #[schema(default = true)]
    pub is_persistent: Option<bool>,
}

impl EventBody {
    /// The event to post.
    ///
    /// # Errors
    /// [`ValidationError`] when `type` or `set` is empty or `data` is absent.
    pub fn into_domain(self) -> Result<NewEvent, ValidationError> {
        if self.kind.is_empty() {
            return Err(ValidationError::Empty { field: "type" });
        }
        if self.set.as_deref() == Some("") {
            return Err(ValidationError::Empty { field: "set" });
        }
        let data = self.data.ok_or(ValidationError::Field {
            field: "data",
            reason: "is required (any JSON value)".into(),
        })?;
        Ok(NewEvent {
            set: self.set.unwrap_or_else(|| self.kind.clone()),
            kind: self.kind,
            label: self.label,
            attribute: self.attribute,
            data,
            is_claim: self.is_claim.unwrap_or(false),
            is_persistent: self.is_persistent.unwrap_or(true),
        })
    }
}

/// Body of `POST /api/v1/minigroups/{id}/recreate` (optional as a whole).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"time": [1_767_261_600, null], "locked_chat": false}))]
pub struct RecreateBody {
    /// New time; the stored one is kept when absent or `null`.
    #[serde(default)]
    #[schema(schema_with = nullable_time_schema)]
    pub time: Option<TimeDto>,
    /// Defaults to `true`.
    #[serde(default)]
    #[schema(default = true)]
    pub locked_chat: Option<bool>,
}

impl RecreateBody {
    /// The recreate use case's input.
    ///
    /// # Errors
    /// [`ValidationError`] for a bad `time`.
    pub fn into_domain(self) -> Result<RecreateMinigroup, ValidationError> {
        Ok(RecreateMinigroup {
            time: self.time.map(time_range).transpose()?,
            locked_chat: self.locked_chat.unwrap_or(true),
        })
    }
}

/// The minigroup object of contract §3, the one answer of every route that
/// returns a minigroup.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "lesson-42",
    "class_id": "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    "audience": "usr.example.org",
    "scope": "lesson-42",
    "time": [1_767_261_600, 1_767_265_200],
    "tags": {"course": "math"},
    "reserve": 10,
    "host": "teacher1.usr.example.org",
    "real_time": {
        "event_room_id": "11111111-2222-4333-8444-555555555555",
        "conference_room_id": "66666666-7777-4888-9999-aaaaaaaaaaaa",
        "host": "teacher1.usr.example.org"
    },
    "created_at": 1_767_200_000
}))]
pub struct MinigroupBody {
    /// The scope.
    pub id: String,
    /// The minigroup's UUID, the `{minigroup_id}` of the routes.
    pub class_id: Uuid,
    /// The audience.
    pub audience: String,
    /// The scope.
    pub scope: String,
    /// `[start|null, end|null]`; `[null, null]` when never set.
    #[schema(schema_with = time_schema)]
    pub time: [Option<i64>; 2],
    /// A JSON object; omitted when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub tags: Option<serde_json::Value>,
    /// Integer ≥ 0; omitted when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = i32, minimum = 0)]
    pub reserve: Option<i32>,
    /// Host account id; omitted when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub host: Option<String>,
    /// The rooms.
    pub real_time: RealTimeBody,
    /// Unix seconds.
    pub created_at: i64,
}

/// The `real_time` member of [`MinigroupBody`].
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RealTimeBody {
    /// The event room's id.
    pub event_room_id: Uuid,
    /// The conference room's id.
    pub conference_room_id: Uuid,
    /// Mirrors the minigroup's host; omitted when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub host: Option<String>,
}

impl From<&Minigroup> for MinigroupBody {
    fn from(m: &Minigroup) -> Self {
        let host = m.host.as_ref().map(|h| h.as_str().to_owned());
        Self {
            id: m.scope.as_str().to_owned(),
            class_id: m.id.as_uuid(),
            audience: m.audience.as_str().to_owned(),
            scope: m.scope.as_str().to_owned(),
            time: [m.time.start(), m.time.end()],
            tags: m.tags.as_ref().map(Tags::to_value),
            reserve: m.reserve.map(|r| r.get()),
            host: host.clone(),
            real_time: RealTimeBody {
                event_room_id: m.rooms.event.id,
                conference_room_id: m.rooms.conference.id,
                host,
            },
            created_at: m.created_at,
        }
    }
}

/// Answer of the download route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DownloadBody {
    /// Where the recording is.
    #[schema(
        format = "uri",
        example = "https://storage.example.org/api/v2/backends/yandex/sets/ms.minigroup.usr.example.org::lesson-42/objects/mp4"
    )]
    pub url: String,
}

/// Answer of `/healthz` and `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StatusBody {
    /// Always `ok`.
    #[schema(value_type = String, example = "ok")]
    pub status: &'static str,
}

/// Answer of the create-event route: an empty JSON object, `{}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({}))]
pub struct EmptyBody {}
