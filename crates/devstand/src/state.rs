//! What a stand-in keeps in memory, and the behaviour of contract §5.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::fault::{Fault, FaultKind, Op};
use crate::{Kind, Recorded, RoomSnapshot};

/// Most requests kept for [`crate::Stand::requests`]; older ones are dropped.
pub const MAX_RECORDED: usize = 100_000;

/// A plain answer: status, optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    /// Status and JSON body.
    Json(u16, Value),
    /// Status and no body.
    Empty(u16),
    /// Status and a text body (JSON when it parses, else plain text).
    Text(u16, String),
    /// Never answer.
    Hang,
}

fn error(status: u16, message: impl Into<String>) -> Answer {
    Answer::Json(status, json!({ "error": message.into() }))
}

/// Locks a mutex, recovering from poisoning (a panicking test must not
/// break every later request).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Room {
    seq: u64,
    json: Map<String, Value>,
    events: Vec<Value>,
}

struct ActiveFault {
    fault: Fault,
    remaining: Option<usize>,
}

/// The in-memory state of one stand-in.
pub(crate) struct State {
    kind: Kind,
    requests: Mutex<VecDeque<Recorded>>,
    faults: Mutex<Vec<ActiveFault>>,
    latency_us: AtomicU64,
    rooms: Mutex<HashMap<Uuid, Room>>,
    next_seq: AtomicU64,
    recordings: Mutex<HashSet<String>>,
}

/// Which handler a request goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    CreateRoom,
    UpdateRoom(String),
    CreateEvent(String),
    HeadRecording(String),
    GetRecording(String),
    PutRecording(String),
    Unknown,
}

impl Route {
    /// Routes a request by method and raw path.
    pub(crate) fn of(kind: Kind, method: &str, raw_path: &str) -> Self {
        let segs: Vec<String> = raw_path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        match (kind, method, segs.as_slice()) {
            (Kind::Event | Kind::Conference, "POST", ["rooms"]) => Route::CreateRoom,
            (Kind::Event | Kind::Conference, "PATCH", ["rooms", id]) => {
                Route::UpdateRoom((*id).to_owned())
            }
            (Kind::Event, "POST", ["rooms", id, "events"]) => Route::CreateEvent((*id).to_owned()),
            (
                Kind::Storage,
                _,
                ["api", "v2", "backends", "yandex", "sets", set, "objects", "mp4"],
            ) => match method {
                "HEAD" => Route::HeadRecording((*set).to_owned()),
                "GET" => Route::GetRecording((*set).to_owned()),
                "PUT" => Route::PutRecording((*set).to_owned()),
                _ => Route::Unknown,
            },
            _ => Route::Unknown,
        }
    }

    /// The operation, for fault matching.
    pub(crate) fn op(&self) -> Op {
        match self {
            Route::CreateRoom => Op::CreateRoom,
            Route::UpdateRoom(_) => Op::UpdateRoom,
            Route::CreateEvent(_) => Op::CreateEvent,
            Route::HeadRecording(_) | Route::GetRecording(_) => Op::CheckRecording,
            Route::PutRecording(_) => Op::PutRecording,
            Route::Unknown => Op::Unknown,
        }
    }
}

/// The storage set of a minigroup's recording.
pub(crate) fn recording_set(audience: &str, scope: &str) -> String {
    format!("ms.minigroup.{audience}::{scope}")
}

fn time_of(v: &Value) -> Option<(Option<i64>, Option<i64>)> {
    let arr = v.as_array()?;
    if arr.len() != 2 {
        return None;
    }
    let bound = |b: &Value| -> Option<Option<i64>> {
        if b.is_null() {
            Some(None)
        } else {
            b.as_i64().map(Some)
        }
    };
    Some((bound(&arr[0])?, bound(&arr[1])?))
}

fn uuid_of(v: &Value) -> Option<Uuid> {
    v.as_str().and_then(|s| Uuid::parse_str(s).ok())
}

impl State {
    pub(crate) fn new(kind: Kind) -> Self {
        Self {
            kind,
            requests: Mutex::new(VecDeque::new()),
            faults: Mutex::new(Vec::new()),
            latency_us: AtomicU64::new(0),
            rooms: Mutex::new(HashMap::new()),
            next_seq: AtomicU64::new(0),
            recordings: Mutex::new(HashSet::new()),
        }
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    pub(crate) fn record(&self, r: Recorded) {
        let mut q = lock(&self.requests);
        if q.len() >= MAX_RECORDED {
            q.pop_front();
        }
        q.push_back(r);
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        lock(&self.requests).iter().cloned().collect()
    }

    pub(crate) fn clear_requests(&self) {
        lock(&self.requests).clear();
    }

    pub(crate) fn add_fault(&self, fault: Fault) {
        let remaining = fault.times;
        if remaining == Some(0) {
            return;
        }
        lock(&self.faults).push(ActiveFault { fault, remaining });
    }

    pub(crate) fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// The first fault matching the request, counting it down.
    pub(crate) fn take_fault(&self, method: &str, path: &str, op: Op) -> Option<FaultKind> {
        let mut faults = lock(&self.faults);
        let i = faults
            .iter()
            .position(|f| f.fault.matches(method, path, op))?;
        let kind = faults[i].fault.kind.clone();
        if let Some(n) = faults[i].remaining.as_mut() {
            *n -= 1;
            if *n == 0 {
                faults.remove(i);
            }
        }
        Some(kind)
    }

    pub(crate) fn set_latency(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.store(us, Ordering::Relaxed);
    }

    pub(crate) fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_us.load(Ordering::Relaxed))
    }

    pub(crate) fn put_recording(&self, set: String) {
        lock(&self.recordings).insert(set);
    }

    pub(crate) fn rooms(&self) -> Vec<RoomSnapshot> {
        let rooms = lock(&self.rooms);
        let mut list: Vec<(u64, RoomSnapshot)> = rooms
            .iter()
            .map(|(id, r)| (r.seq, RoomSnapshot::from_json(*id, &r.json)))
            .collect();
        list.sort_by_key(|(seq, _)| *seq);
        list.into_iter().map(|(_, r)| r).collect()
    }

    pub(crate) fn room(&self, id: Uuid) -> Option<RoomSnapshot> {
        lock(&self.rooms)
            .get(&id)
            .map(|r| RoomSnapshot::from_json(id, &r.json))
    }

    pub(crate) fn events(&self, room: Uuid) -> Vec<Value> {
        lock(&self.rooms)
            .get(&room)
            .map(|r| r.events.clone())
            .unwrap_or_default()
    }

    /// The answer a fault gives to a request of `op`.
    pub(crate) fn fault_answer(kind: FaultKind, op: Op) -> Answer {
        match kind {
            FaultKind::Status(code, body) => Answer::Text(code, body),
            FaultKind::Hang => Answer::Hang,
            FaultKind::NotJson => Answer::Text(op.success_status(), "not json".to_owned()),
            FaultKind::MissingId => Answer::Json(op.success_status(), json!({})),
        }
    }

    /// The normal answer per contract §5.
    pub(crate) fn serve(&self, route: Route, body: &Value) -> Answer {
        match route {
            Route::CreateRoom => self.create_room(body),
            Route::UpdateRoom(id) => self.update_room(&id, body),
            Route::CreateEvent(id) => self.create_event(&id, body),
            Route::HeadRecording(set) => {
                if lock(&self.recordings).contains(&set) {
                    Answer::Empty(200)
                } else {
                    Answer::Empty(404)
                }
            }
            Route::GetRecording(set) => {
                if lock(&self.recordings).contains(&set) {
                    Answer::Text(200, "devstand recording\n".to_owned())
                } else {
                    error(404, "no such object")
                }
            }
            Route::PutRecording(set) => {
                self.put_recording(set);
                Answer::Json(201, json!({}))
            }
            Route::Unknown => error(404, "not found"),
        }
    }

    fn create_room(&self, body: &Value) -> Answer {
        let Some(obj) = body.as_object() else {
            return error(400, "the body must be a JSON object");
        };
        if !obj.get("audience").is_some_and(Value::is_string) {
            return error(400, "audience: a string is required");
        }
        if obj.get("time").and_then(time_of).is_none() {
            return error(400, "time: an array [int|null, int|null] is required");
        }
        if obj.get("classroom_id").and_then(uuid_of).is_none() {
            return error(400, "classroom_id: a UUID is required");
        }
        let id = Uuid::new_v4();
        let mut room = obj.clone();
        room.insert("id".to_owned(), Value::String(id.to_string()));
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        lock(&self.rooms).insert(
            id,
            Room {
                seq,
                json: room.clone(),
                events: Vec::new(),
            },
        );
        Answer::Json(201, Value::Object(room))
    }

    fn update_room(&self, id: &str, body: &Value) -> Answer {
        let Ok(id) = Uuid::parse_str(id) else {
            return error(404, "no such room");
        };
        let Some(obj) = body.as_object() else {
            return error(400, "the body must be a JSON object");
        };
        if obj.get("time").is_some_and(|t| time_of(t).is_none()) {
            return error(400, "time: an array [int|null, int|null] is required");
        }
        if obj
            .get("classroom_id")
            .is_some_and(|c| uuid_of(c).is_none())
        {
            return error(400, "classroom_id: a UUID is required");
        }
        let mut rooms = lock(&self.rooms);
        let Some(room) = rooms.get_mut(&id) else {
            return error(404, "no such room");
        };
        for (k, v) in obj {
            if k != "id" {
                room.json.insert(k.clone(), v.clone());
            }
        }
        Answer::Json(200, Value::Object(room.json.clone()))
    }

    fn create_event(&self, id: &str, body: &Value) -> Answer {
        let Ok(id) = Uuid::parse_str(id) else {
            return error(404, "no such room");
        };
        let mut rooms = lock(&self.rooms);
        let Some(room) = rooms.get_mut(&id) else {
            return error(404, "no such room");
        };
        let valid = body
            .as_object()
            .is_some_and(|o| o.get("type").is_some_and(Value::is_string) && o.contains_key("data"));
        if !valid {
            return error(422, "type (a string) and data are required");
        }
        room.events.push(body.clone());
        let mut answer = body.clone();
        if let Some(o) = answer.as_object_mut() {
            o.insert("id".to_owned(), Value::String(Uuid::new_v4().to_string()));
            o.insert("room_id".to_owned(), Value::String(id.to_string()));
        }
        Answer::Json(201, answer)
    }
}
