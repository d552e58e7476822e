//! Faults a stand-in can be told to inject, and the operations they match.

use std::fmt;

/// An operation a stand-in serves; a [`Fault`] may be limited to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Event or conference service: `POST /rooms`.
    CreateRoom,
    /// Event or conference service: `PATCH /rooms/{id}`.
    UpdateRoom,
    /// Event service: `POST /rooms/{id}/events`.
    CreateEvent,
    /// Storage service: `HEAD` (or `GET`) of a set's `mp4` object.
    CheckRecording,
    /// Storage service: `PUT` of a set's `mp4` object.
    PutRecording,
    /// Any request the stand-in does not know (answered `404`).
    Unknown,
}

impl Op {
    /// The operation's name, e.g. `create_room`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Op::CreateRoom => "create_room",
            Op::UpdateRoom => "update_room",
            Op::CreateEvent => "create_event",
            Op::CheckRecording => "check_recording",
            Op::PutRecording => "put_recording",
            Op::Unknown => "unknown",
        }
    }

    /// The status the operation answers with when it succeeds: `201` for the
    /// creating ones, `200` otherwise. Faults that imitate a success use it.
    pub fn success_status(&self) -> u16 {
        match self {
            Op::CreateRoom | Op::CreateEvent | Op::PutRecording => 201,
            Op::UpdateRoom | Op::CheckRecording | Op::Unknown => 200,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a matching request gets instead of its normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this status and body. The body is sent as
    /// `application/json` when it parses as JSON, else as `text/plain`. A
    /// status outside `100..=999` is answered as `500`.
    Status(u16, String),
    /// Never answer (sleep for a day; stopping the stand-in ends it).
    Hang,
    /// Answer with the operation's success status and the body `not json`.
    NotJson,
    /// Answer with the operation's success status and the JSON body `{}`.
    MissingId,
}

/// A fault to inject: [`FaultKind`] applied to the requests that match every
/// filter that is set, for `times` requests (`None` = until cleared).
///
/// A faulted request is recorded like any other but changes no state.
///
/// ```
/// use devstand::{Fault, Op};
/// let f = Fault::status(500, r#"{"error":"boom"}"#).on(Op::CreateRoom).times(1);
/// assert_eq!(f.times, Some(1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// What matching requests get.
    pub kind: FaultKind,
    /// Only requests of this operation, if set.
    pub op: Option<Op>,
    /// Only requests with this method (case-insensitive), if set.
    pub method: Option<String>,
    /// Only requests whose raw (undecoded) path starts with this, if set.
    pub path_prefix: Option<String>,
    /// How many requests the fault applies to; `None` = all of them.
    pub times: Option<usize>,
}

impl Fault {
    /// A fault of this kind on every request, until cleared.
    pub fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            op: None,
            method: None,
            path_prefix: None,
            times: None,
        }
    }

    /// [`FaultKind::Status`].
    pub fn status(code: u16, body: impl Into<String>) -> Self {
        Self::new(FaultKind::Status(code, body.into()))
    }

    /// [`FaultKind::Hang`].
    pub fn hang() -> Self {
        Self::new(FaultKind::Hang)
    }

    /// [`FaultKind::NotJson`].
    pub fn not_json() -> Self {
        Self::new(FaultKind::NotJson)
    }

    /// [`FaultKind::MissingId`].
    pub fn missing_id() -> Self {
        Self::new(FaultKind::MissingId)
    }

    /// Limits the fault to one operation.
    #[must_use]
    pub fn on(mut self, op: Op) -> Self {
        self.op = Some(op);
        self
    }

    /// Limits the fault to one HTTP method.
    #[must_use]
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Limits the fault to paths starting with `prefix`.
    #[must_use]
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(prefix.into());
        self
    }

    /// Applies the fault to the next `n` matching requests only.
    #[must_use]
    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }

    pub(crate) fn matches(&self, method: &str, path: &str, op: Op) -> bool {
        self.op.is_none_or(|o| o == op)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }
}
