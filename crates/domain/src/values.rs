//! Validated value types. Their constructors are the only way to build them,
//! so a value that exists has passed the contract's rules.

use std::fmt;

use uuid::Uuid;

/// Longest audience or scope the service accepts, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// Why a value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A required text was empty.
    #[error("{field} must not be empty")]
    Empty {
        /// The offending field.
        field: &'static str,
    },
    /// A text was longer than [`MAX_NAME_CHARS`].
    #[error("{field} must be at most {max} characters long")]
    TooLong {
        /// The offending field.
        field: &'static str,
        /// The limit.
        max: usize,
    },
    /// A text contained a character it may not contain.
    #[error("{field} must not contain '{ch}'")]
    ForbiddenChar {
        /// The offending field.
        field: &'static str,
        /// The forbidden character.
        ch: char,
    },
    /// An account id was not of the form `label.audience`.
    #[error("{field} must be an account id of the form 'label.audience'")]
    AccountId {
        /// The offending field.
        field: &'static str,
    },
    /// A time range whose start was not before its end.
    #[error("time start ({start}) must be before its end ({end})")]
    TimeOrder {
        /// The given start.
        start: i64,
        /// The given end.
        end: i64,
    },
    /// A negative or oversized reserve.
    #[error("reserve must be between 0 and {max}, got {got}")]
    Reserve {
        /// The given value.
        got: i64,
        /// The largest value allowed.
        max: i64,
    },
    /// A value not shaped as a UUID.
    #[error("{field} must be a UUID")]
    Uuid {
        /// The offending field.
        field: &'static str,
    },
    /// A request that changes nothing.
    #[error("at least one of {fields} must be given")]
    NothingToDo {
        /// The fields of which one is expected.
        fields: &'static str,
    },
    /// Any other malformed field.
    #[error("{field}: {reason}")]
    Field {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

fn check_name(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(ValidationError::TooLong {
            field,
            max: MAX_NAME_CHARS,
        });
    }
    if value.contains('/') {
        return Err(ValidationError::ForbiddenChar { field, ch: '/' });
    }
    Ok(())
}

/// The minigroup's UUID (`class_id` in the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MinigroupId(Uuid);

impl MinigroupId {
    /// Wraps an existing UUID.
    pub fn new(id: Uuid) -> Self {
        Self(id)
    }

    /// A fresh random id.
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses the textual form of a UUID.
    ///
    /// # Errors
    /// [`ValidationError::Uuid`] when `s` is not a UUID.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| ValidationError::Uuid {
                field: "minigroup_id",
            })
    }

    /// The UUID inside.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for MinigroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A tenant audience such as `usr.example.org`: non-empty, at most 255
/// characters, no `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Audience(String);

impl Audience {
    /// Validates an audience.
    ///
    /// # Errors
    /// [`ValidationError`] when empty, too long or containing `/`.
    pub fn new(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into();
        check_name("audience", &value)?;
        Ok(Self(value))
    }

    /// The audience text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A minigroup's scope within its audience: non-empty, at most 255
/// characters, no `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope(String);

impl Scope {
    /// Validates a scope.
    ///
    /// # Errors
    /// [`ValidationError`] when empty, too long or containing `/`.
    pub fn new(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into();
        check_name("scope", &value)?;
        Ok(Self(value))
    }

    /// The scope text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An account id `label.audience`, e.g. `alice.usr.example.org`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountId {
    full: String,
    dot: usize,
}

impl AccountId {
    /// Parses `label.audience`; `field` names the input in the error.
    ///
    /// # Errors
    /// [`ValidationError::AccountId`] when there is no `.` or either side is
    /// empty, or when the text is too long.
    pub fn parse(field: &'static str, value: impl Into<String>) -> Result<Self, ValidationError> {
        let full = value.into();
        let dot = full.find('.').ok_or(ValidationError::AccountId { field })?;
        if dot == 0 || dot + 1 >= full.len() || full.contains('/') {
            return Err(ValidationError::AccountId { field });
        }
        if full.chars().count() > 2 * MAX_NAME_CHARS + 1 {
            return Err(ValidationError::TooLong {
                field,
                max: 2 * MAX_NAME_CHARS + 1,
            });
        }
        Ok(Self { full, dot })
    }

    /// Builds `"{label}.{audience}"` from a token's `sub` and `aud`.
    ///
    /// # Errors
    /// [`ValidationError::AccountId`] when either part is empty.
    pub fn from_parts(label: &str, audience: &str) -> Result<Self, ValidationError> {
        if label.is_empty() || label.contains('.') {
            return Err(ValidationError::AccountId { field: "sub" });
        }
        Self::parse("account", format!("{label}.{audience}"))
    }

    /// The whole account id.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The part before the first `.`.
    pub fn label(&self) -> &str {
        &self.full[..self.dot]
    }

    /// The part after the first `.`.
    pub fn audience(&self) -> &str {
        &self.full[self.dot + 1..]
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

/// A minigroup's `[start, end]` in unix seconds; `None` is unbounded. When
/// both are set, `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TimeRange {
    start: Option<i64>,
    end: Option<i64>,
}

impl TimeRange {
    /// Validates a range.
    ///
    /// # Errors
    /// [`ValidationError::TimeOrder`] when both bounds are set and
    /// `start >= end`.
    pub fn new(start: Option<i64>, end: Option<i64>) -> Result<Self, ValidationError> {
        if let (Some(s), Some(e)) = (start, end) {
            if s >= e {
                return Err(ValidationError::TimeOrder { start: s, end: e });
            }
        }
        Ok(Self { start, end })
    }

    /// `[null, null]`: never set.
    pub fn unbounded() -> Self {
        Self::default()
    }

    /// The start, if bounded.
    pub fn start(&self) -> Option<i64> {
        self.start
    }

    /// The end, if bounded.
    pub fn end(&self) -> Option<i64> {
        self.end
    }
}

/// Slots to reserve on the media backend: `0..=i32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reserve(i32);

impl Reserve {
    /// Validates a reserve.
    ///
    /// # Errors
    /// [`ValidationError::Reserve`] when negative or above `i32::MAX`.
    pub fn new(value: i64) -> Result<Self, ValidationError> {
        i32::try_from(value)
            .ok()
            .filter(|v| *v >= 0)
            .map(Self)
            .ok_or(ValidationError::Reserve {
                got: value,
                max: i64::from(i32::MAX),
            })
    }

    /// The number of slots.
    pub fn get(&self) -> i32 {
        self.0
    }
}

/// Arbitrary tags: a JSON object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tags(serde_json::Map<String, serde_json::Value>);

impl Tags {
    /// Wraps a JSON object.
    pub fn new(map: serde_json::Map<String, serde_json::Value>) -> Self {
        Self(map)
    }

    /// Accepts only a JSON object.
    ///
    /// # Errors
    /// [`ValidationError::Field`] for any other JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Self, ValidationError> {
        match value {
            serde_json::Value::Object(map) => Ok(Self(map)),
            _ => Err(ValidationError::Field {
                field: "tags",
                reason: "must be a JSON object".into(),
            }),
        }
    }

    /// The object inside.
    pub fn as_map(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.0
    }

    /// The tags as a JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::Value::Object(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_contract() {
        let long = "a".repeat(256);
        let max = "é".repeat(255);
        let cases: &[(&str, bool)] = &[
            ("lesson-42", true),
            ("", false),
            ("a/b", false),
            (&long, false),
            (&max, true),
        ];
        for (input, ok) in cases {
            assert_eq!(Scope::new(*input).is_ok(), *ok, "scope {input:?}");
            assert_eq!(Audience::new(*input).is_ok(), *ok, "audience {input:?}");
        }
    }

    #[test]
    fn account_ids_split_at_the_first_dot() {
        let a = AccountId::parse("host", "teacher1.usr.example.org").unwrap();
        assert_eq!(a.label(), "teacher1");
        assert_eq!(a.audience(), "usr.example.org");
        for bad in ["teacher1", ".usr", "teacher1.", "", "a/b.c"] {
            assert!(AccountId::parse("host", bad).is_err(), "{bad:?}");
        }
        let b = AccountId::from_parts("alice", "usr.example.org").unwrap();
        assert_eq!(b.as_str(), "alice.usr.example.org");
        assert!(AccountId::from_parts("", "usr").is_err());
    }

    #[test]
    fn time_ranges_need_start_before_end() {
        let cases = [
            (Some(1), Some(2), true),
            (Some(2), Some(2), false),
            (Some(3), Some(2), false),
            (None, Some(2), true),
            (Some(2), None, true),
            (None, None, true),
        ];
        for (s, e, ok) in cases {
            assert_eq!(TimeRange::new(s, e).is_ok(), ok, "{s:?}..{e:?}");
        }
    }

    #[test]
    fn reserve_is_a_non_negative_i32() {
        assert_eq!(Reserve::new(0).unwrap().get(), 0);
        assert_eq!(Reserve::new(10).unwrap().get(), 10);
        assert!(Reserve::new(-1).is_err());
        assert!(Reserve::new(i64::from(i32::MAX) + 1).is_err());
    }

    #[test]
    fn tags_must_be_an_object() {
        assert!(Tags::from_value(serde_json::json!({"a": 1})).is_ok());
        assert!(Tags::from_value(serde_json::json!([1])).is_err());
        assert!(Tags::from_value(serde_json::json!("x")).is_err());
    }

    #[test]
    fn minigroup_ids_parse_uuids_only() {
        assert!(MinigroupId::parse("not-a-uuid").is_err());
        let id = MinigroupId::random();
        assert_eq!(MinigroupId::parse(&id.to_string()).unwrap(), id);
    }
}
