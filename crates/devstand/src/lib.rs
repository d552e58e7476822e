//! Development stand-ins of the event, conference and storage services.
//!
//! Each stand-in speaks contract §5 over real HTTP on its own address, keeps
//! rooms, events and recordings in memory, records every request, and can be
//! told to inject faults or add latency. It runs its own actix
//! [`System`](actix_web::rt::System) on a dedicated OS thread, so it can be
//! started from a tokio runtime, an actix system, or plain synchronous code.
//!
//! ```
//! let stand = devstand::start(devstand::Kind::Storage, "127.0.0.1:0".parse().unwrap()).unwrap();
//! stand.put_recording("usr.example.org", "lesson-42");
//! assert!(stand.url().starts_with("http://127.0.0.1:"));
//! ```
//!
//! See the crate's README for the HTTP surface.

mod fault;
mod server;
mod state;

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Map, Value};
use uuid::Uuid;

pub use fault::{Fault, FaultKind, Op};
pub use state::MAX_RECORDED;

use state::State;

/// Which service a stand-in imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The event service: `POST /rooms`, `PATCH /rooms/{id}`,
    /// `POST /rooms/{id}/events`.
    Event,
    /// The conference service: `POST /rooms`, `PATCH /rooms/{id}`.
    Conference,
    /// The storage service: `HEAD`/`GET`/`PUT`
    /// `/api/v2/backends/yandex/sets/{set}/objects/mp4`.
    Storage,
}

impl Kind {
    /// The service's name: `event`, `conference` or `storage`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Event => "event",
            Kind::Conference => "conference",
            Kind::Storage => "storage",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request a stand-in received, faulted or not.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The raw path as sent (not percent-decoded), without the query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body as JSON; `Null` when empty, a JSON string holding the text
    /// when the body is not JSON.
    pub body: Value,
}

/// A room held by an event or conference stand-in.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomSnapshot {
    /// The room's id.
    pub id: Uuid,
    /// Its `audience`.
    pub audience: String,
    /// Its `time`, `[start, end]` (`None` = unbounded).
    pub time: (Option<i64>, Option<i64>),
    /// Its `classroom_id`.
    pub classroom_id: Option<Uuid>,
    /// Its `reserve`, if any.
    pub reserve: Option<i64>,
    /// Its `host`, if any.
    pub host: Option<String>,
    /// Its `tags`, if any.
    pub tags: Option<Value>,
    /// The whole room as the stand-in would answer it (every field ever
    /// sent, plus `id`).
    pub json: Value,
}

impl RoomSnapshot {
    fn from_json(id: Uuid, json: &Map<String, Value>) -> Self {
        let bound = |i: usize| {
            json.get("time")
                .and_then(Value::as_array)
                .and_then(|a| a.get(i))
                .and_then(Value::as_i64)
        };
        Self {
            id,
            audience: json
                .get("audience")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            time: (bound(0), bound(1)),
            classroom_id: json
                .get("classroom_id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok()),
            reserve: json.get("reserve").and_then(Value::as_i64),
            host: json.get("host").and_then(Value::as_str).map(str::to_owned),
            tags: json.get("tags").filter(|t| !t.is_null()).cloned(),
            json: Value::Object(json.clone()),
        }
    }
}

/// A running stand-in. Dropping it (or [`Stand::stop`]) stops the server.
pub struct Stand {
    kind: Kind,
    addr: SocketAddr,
    state: Arc<State>,
    server: Option<actix_web::dev::ServerHandle>,
    done: Option<mpsc::Receiver<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Stand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stand")
            .field("kind", &self.kind)
            .field("addr", &self.addr)
            .field("running", &self.server.is_some())
            .finish()
    }
}

/// Starts a stand-in of `kind` on `addr` (port `0` = any free port) and
/// blocks until it listens.
///
/// # Errors
/// When the address cannot be bound or the server thread cannot be started.
pub fn start(kind: Kind, addr: SocketAddr) -> io::Result<Stand> {
    let state = Arc::new(State::new(kind));
    let (bound, done) = server::spawn(Arc::clone(&state), addr)?;
    tracing::debug!(service = kind.as_str(), addr = %bound.addr, "development stand-in listening");
    Ok(Stand {
        kind,
        addr: bound.addr,
        state,
        server: Some(bound.handle),
        done: Some(done),
        thread: Some(bound.thread),
    })
}

/// Starts the event, conference and storage stand-ins, each on a free port of
/// `host`, and returns them in that order.
///
/// # Errors
/// As [`start`].
pub fn start_all(host: IpAddr) -> io::Result<(Stand, Stand, Stand)> {
    let addr = SocketAddr::new(host, 0);
    Ok((
        start(Kind::Event, addr)?,
        start(Kind::Conference, addr)?,
        start(Kind::Storage, addr)?,
    ))
}

impl Stand {
    /// Which service this stand-in imitates.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, e.g. `http://127.0.0.1:40123` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests received so far, oldest first (at most
    /// [`MAX_RECORDED`]).
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.state.clear_requests();
    }

    /// Replaces every fault with `fault`.
    pub fn set_fault(&self, fault: Fault) {
        self.state.clear_faults();
        self.state.add_fault(fault);
    }

    /// Adds `fault` after the existing ones; the first matching fault wins.
    pub fn add_fault(&self, fault: Fault) {
        self.state.add_fault(fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.state.clear_faults();
    }

    /// Delays every answer (faulted or not) by `latency`; zero turns it off.
    pub fn set_latency(&self, latency: Duration) {
        self.state.set_latency(latency);
    }

    /// Marks the recording of `audience`/`scope` as present (storage; the
    /// set is `ms.minigroup.{audience}::{scope}`).
    pub fn put_recording(&self, audience: &str, scope: &str) {
        self.state
            .put_recording(state::recording_set(audience, scope));
    }

    /// The rooms created so far, in creation order (event and conference).
    pub fn rooms(&self) -> Vec<RoomSnapshot> {
        self.state.rooms()
    }

    /// The room with this id, if it exists.
    pub fn room(&self, id: Uuid) -> Option<RoomSnapshot> {
        self.state.room(id)
    }

    /// The events created in a room, as posted, oldest first (event service;
    /// empty for an unknown room).
    pub fn events(&self, room_id: Uuid) -> Vec<Value> {
        self.state.events(room_id)
    }

    /// Stops the server and waits (up to 5 s) for its thread to end. Called
    /// by `Drop`; calling it twice is harmless.
    pub fn stop(&mut self) {
        if let Some(handle) = self.server.take() {
            // The command is sent eagerly; the returned future only waits.
            drop(handle.stop(false));
        }
        if let Some(done) = self.done.take() {
            let ended = !matches!(
                done.recv_timeout(Duration::from_secs(5)),
                Err(mpsc::RecvTimeoutError::Timeout)
            );
            if ended {
                if let Some(thread) = self.thread.take() {
                    let _ = thread.join();
                }
            }
        }
    }
}

impl Drop for Stand {
    fn drop(&mut self) {
        self.stop();
    }
}
