//! Unit tests of the use cases over the mocked ports.
//!
//! Every mock panics on a call it has no expectation for, so a port call the
//! contract does not ask for fails the test even where no `.never()` is set.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::executor::block_on;
use mockall::Sequence;
use serde_json::json;
use uuid::Uuid;

use super::{Minigroups, Ports, Service};
use crate::error::{AuthzError, Error, RepoError, UpstreamError, UpstreamService};
use crate::model::{
    Action, AuthzObject, ConferenceRoomUpdate, CreateMinigroup, EventRoomUpdate, Minigroup,
    MinigroupChanges, MinigroupKey, NewEvent, RecreateMinigroup, RoomRef, RoomTime, Rooms,
    UpdateMinigroup,
};
use crate::ports::{
    MockAuthorizer, MockClock, MockConferenceRooms, MockEventRooms, MockMinigroupRepository,
    MockStorage,
};
use crate::values::{
    AccountId, Audience, MinigroupId, Reserve, Scope, Tags, TimeRange, ValidationError,
};

// ---------------------------------------------------------------- fixtures

/// What the mocked clock says.
const NOW: i64 = 1_767_200_000;
/// The reservation lifetime the service under test is built with.
const TTL: i64 = 20;

const EVENT: Uuid = Uuid::from_u128(0xE1);
const CONF: Uuid = Uuid::from_u128(0xC1);
const OLD_EVENT: Uuid = Uuid::from_u128(0xE0);
const OLD_CONF: Uuid = Uuid::from_u128(0xC0);
const OLD_EVENT_START: i64 = NOW - 900;
const OLD_CONF_START: i64 = NOW - 600;

fn caller() -> AccountId {
    AccountId::parse("account", "svc.svc.example.org").unwrap()
}

fn host() -> AccountId {
    AccountId::parse("host", "teacher1.usr.example.org").unwrap()
}

fn audience() -> Audience {
    Audience::new("usr.example.org").unwrap()
}

fn scope() -> Scope {
    Scope::new("lesson-42").unwrap()
}

fn tags() -> Tags {
    Tags::from_value(json!({"course": "math"})).unwrap()
}

fn time(start: Option<i64>, end: Option<i64>) -> TimeRange {
    TimeRange::new(start, end).unwrap()
}

fn reserve(n: i64) -> Reserve {
    Reserve::new(n).unwrap()
}

fn mg_id() -> MinigroupId {
    MinigroupId::new(Uuid::from_u128(0x42))
}

/// A create request for a lesson starting in an hour.
fn create_request(locked_chat: bool) -> CreateMinigroup {
    CreateMinigroup {
        scope: scope(),
        audience: audience(),
        host: host(),
        time: time(Some(NOW + 3600), Some(NOW + 7200)),
        tags: Some(tags()),
        reserve: Some(reserve(10)),
        locked_chat,
    }
}

fn create_object() -> AuthzObject {
    AuthzObject {
        audience: audience(),
        scope: scope(),
        host: Some(host()),
    }
}

/// The minigroup the repository makes of a reservation and its rooms.
fn established(id: MinigroupId, rooms: Rooms, req: &CreateMinigroup) -> Minigroup {
    Minigroup {
        id,
        audience: req.audience.clone(),
        scope: req.scope.clone(),
        time: req.time,
        tags: req.tags.clone(),
        reserve: req.reserve,
        host: Some(req.host.clone()),
        rooms,
        created_at: NOW,
    }
}

/// An established minigroup with old rooms and a lesson that began 10 min ago.
fn existing() -> Minigroup {
    Minigroup {
        id: mg_id(),
        audience: audience(),
        scope: scope(),
        time: time(Some(NOW - 600), Some(NOW + 3000)),
        tags: Some(tags()),
        reserve: Some(reserve(10)),
        host: Some(host()),
        rooms: rooms(OLD_EVENT, OLD_EVENT_START, OLD_CONF, OLD_CONF_START),
        created_at: NOW - 1000,
    }
}

fn rooms(event: Uuid, event_start: i64, conference: Uuid, conference_start: i64) -> Rooms {
    Rooms {
        event: RoomRef {
            id: event,
            start: Some(event_start),
        },
        conference: RoomRef {
            id: conference,
            start: Some(conference_start),
        },
    }
}

fn closing(start: i64) -> Option<RoomTime> {
    Some(RoomTime {
        start: Some(start),
        end: Some(NOW),
    })
}

fn failed() -> UpstreamError {
    UpstreamError::Failed("boom".into())
}

fn unavailable() -> RepoError {
    RepoError::Unavailable("db down".into())
}

fn denied(action: &'static str) -> Error {
    Error::Denied {
        account: caller().to_string(),
        action,
    }
}

/// Where the id of the reservation lands, so later calls can be checked
/// against it (`None` until `reserve` is called).
type Slot = Arc<Mutex<Option<MinigroupId>>>;

fn slot_of(id: MinigroupId) -> Slot {
    Arc::new(Mutex::new(Some(id)))
}

fn read_slot(slot: &Slot) -> Option<MinigroupId> {
    *slot.lock().unwrap()
}

/// What both new rooms must be created with.
#[derive(Clone)]
struct RoomSpec {
    classroom: Slot,
    audience: Audience,
    tags: Option<Tags>,
    reserve: Option<Reserve>,
    conference_start: i64,
}

impl RoomSpec {
    fn for_create(req: &CreateMinigroup, slot: &Slot) -> Self {
        Self {
            classroom: slot.clone(),
            audience: req.audience.clone(),
            tags: req.tags.clone(),
            reserve: req.reserve,
            conference_start: req.time.start().unwrap_or(NOW),
        }
    }

    fn for_recreate(m: &Minigroup, time: TimeRange) -> Self {
        Self {
            classroom: slot_of(m.id),
            audience: m.audience.clone(),
            tags: m.tags.clone(),
            reserve: m.reserve,
            conference_start: time.start().unwrap_or(NOW),
        }
    }
}

// ---------------------------------------------------------------- harness

struct Harness {
    repo: MockMinigroupRepository,
    events: MockEventRooms,
    conferences: MockConferenceRooms,
    storage: MockStorage,
    authz: MockAuthorizer,
}

impl Harness {
    fn new() -> Self {
        Self {
            repo: MockMinigroupRepository::new(),
            events: MockEventRooms::new(),
            conferences: MockConferenceRooms::new(),
            storage: MockStorage::new(),
            authz: MockAuthorizer::new(),
        }
    }

    fn build(self) -> Service {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(NOW);
        Service::new(
            Ports {
                repo: Arc::new(self.repo),
                events: Arc::new(self.events),
                conferences: Arc::new(self.conferences),
                storage: Arc::new(self.storage),
                authz: Arc::new(self.authz),
                clock: Arc::new(clock),
            },
            TTL,
        )
    }

    // --- authorizer

    fn authorize(&mut self, action: Action, object: AuthzObject, result: Result<(), AuthzError>) {
        self.authz
            .expect_authorize()
            .withf(move |account, a, o| *account == caller() && *a == action && *o == object)
            .times(1)
            .return_const(result);
    }

    fn allow(&mut self, action: Action, object: AuthzObject) {
        self.authorize(action, object, Ok(()));
    }

    fn no_authorize(&mut self) {
        self.authz.expect_authorize().never();
    }

    // --- repository

    fn find_by_id(&mut self, id: MinigroupId, result: Result<Option<Minigroup>, RepoError>) {
        self.repo
            .expect_find_by_id()
            .withf(move |i| *i == id)
            .times(1)
            .return_const(result);
    }

    /// `find_by_id` finds `m`, and the caller may do `action` on it.
    fn found_and_allowed(&mut self, m: &Minigroup, action: Action) {
        self.find_by_id(m.id, Ok(Some(m.clone())));
        self.allow(action, AuthzObject::from(m));
    }

    /// Expects one `reserve` of `req` with `stale_before = now - ttl`.
    fn reserve(&mut self, req: &CreateMinigroup, result: Result<(), RepoError>) -> Slot {
        let slot: Slot = Arc::new(Mutex::new(None));
        let seen = slot.clone();
        let req = req.clone();
        self.repo
            .expect_reserve()
            .withf(move |r, stale_before| {
                r.audience == req.audience
                    && r.scope == req.scope
                    && r.time == req.time
                    && r.tags == req.tags
                    && r.reserve == req.reserve
                    && r.host.as_ref() == Some(&req.host)
                    && r.created_at == NOW
                    && *stale_before == NOW - TTL
            })
            .times(1)
            .returning(move |r, _| {
                *seen.lock().unwrap() = Some(r.id);
                result.clone()
            });
        slot
    }

    fn release(&mut self, slot: &Slot, result: Result<(), RepoError>) {
        let slot = slot.clone();
        self.repo
            .expect_release()
            .withf(move |id| Some(*id) == read_slot(&slot))
            .times(1)
            .return_const(result);
    }

    /// Expects `establish(reserved id, expected)`; on success the repository
    /// answers with the minigroup made of `req` and the rooms.
    fn establish(
        &mut self,
        slot: &Slot,
        expected: Rooms,
        req: &CreateMinigroup,
        error: Option<RepoError>,
    ) {
        let slot = slot.clone();
        let req = req.clone();
        self.repo
            .expect_establish()
            .withf(move |id, r| Some(*id) == read_slot(&slot) && *r == expected)
            .times(1)
            .returning(move |id, r| match &error {
                None => Ok(established(id, r, &req)),
                Some(e) => Err(e.clone()),
            });
    }

    // --- rooms

    fn create_event_room(&mut self, spec: &RoomSpec, result: Result<Uuid, UpstreamError>) {
        let spec = spec.clone();
        self.events
            .expect_create()
            .withf(move |room| {
                Some(room.classroom_id) == read_slot(&spec.classroom)
                    && room.audience == spec.audience
                    && room.start == NOW
                    && room.tags == spec.tags
            })
            .times(1)
            .return_const(result);
    }

    fn create_conference_room(&mut self, spec: &RoomSpec, result: Result<Uuid, UpstreamError>) {
        let spec = spec.clone();
        self.conferences
            .expect_create()
            .withf(move |room| {
                Some(room.classroom_id) == read_slot(&spec.classroom)
                    && room.audience == spec.audience
                    && room.start == spec.conference_start
                    && room.reserve == spec.reserve
                    && room.tags == spec.tags
            })
            .times(1)
            .return_const(result);
    }

    fn no_room_creation(&mut self) {
        self.events.expect_create().never();
        self.conferences.expect_create().never();
    }

    /// Expects the event room `room` to be closed with `[start, now]`.
    fn close_event_room(&mut self, room: Uuid, start: i64, result: Result<(), UpstreamError>) {
        self.events
            .expect_update()
            .withf(move |id, u| {
                *id == room
                    && *u
                        == EventRoomUpdate {
                            time: closing(start),
                            classroom_id: None,
                        }
            })
            .times(1)
            .return_const(result);
    }

    /// Expects the conference room `room` to be closed with `[start, now]`.
    fn close_conference_room(&mut self, room: Uuid, start: i64, result: Result<(), UpstreamError>) {
        self.conferences
            .expect_update()
            .withf(move |id, u| {
                *id == room
                    && *u
                        == ConferenceRoomUpdate {
                            time: closing(start),
                            ..ConferenceRoomUpdate::default()
                        }
            })
            .times(1)
            .return_const(result);
    }

    fn no_event_room_update(&mut self, room: Uuid) {
        self.events
            .expect_update()
            .withf(move |id, _| *id == room)
            .never();
    }

    fn no_conference_room_update(&mut self, room: Uuid) {
        self.conferences
            .expect_update()
            .withf(move |id, _| *id == room)
            .never();
    }

    fn no_room_update(&mut self) {
        self.events.expect_update().never();
        self.conferences.expect_update().never();
    }

    /// Expects the chat of `room` to be locked once.
    fn lock_chat(&mut self, room: Uuid, result: Result<(), UpstreamError>) {
        let lock = NewEvent {
            kind: "chat_disabled".into(),
            set: "chat_disabled".into(),
            label: None,
            attribute: None,
            data: json!({"value": true}),
            is_claim: false,
            is_persistent: true,
        };
        self.events
            .expect_create_event()
            .withf(move |id, e| *id == room && *e == lock)
            .times(1)
            .return_const(result);
    }

    fn no_event_posted(&mut self) {
        self.events.expect_create_event().never();
    }

    /// A whole successful create of `req` up to `establish`; returns the slot
    /// of the reserved id.
    fn create_until_establish(&mut self, req: &CreateMinigroup) -> Slot {
        self.allow(Action::Create, create_object());
        let slot = self.reserve(req, Ok(()));
        let spec = RoomSpec::for_create(req, &slot);
        self.create_event_room(&spec, Ok(EVENT));
        self.create_conference_room(&spec, Ok(CONF));
        slot
    }
}

fn create_rooms(req: &CreateMinigroup) -> Rooms {
    rooms(EVENT, NOW, CONF, req.time.start().unwrap_or(NOW))
}

// ---------------------------------------------------------------- pure helpers

#[test]
fn the_reservation_ttl_is_twice_the_timeout_rounded_up_plus_ten_seconds() {
    assert_eq!(
        Service::reservation_ttl_for(Duration::from_millis(5000)),
        20
    );
    assert_eq!(
        Service::reservation_ttl_for(Duration::from_millis(1500)),
        13
    );
    assert_eq!(Service::reservation_ttl_for(Duration::from_millis(1)), 11);
    assert_eq!(Service::reservation_ttl_for(Duration::ZERO), 10);
}

#[test]
fn a_closing_time_ends_now_and_starts_no_later_than_now() {
    let past = RoomTime::closing(Some(NOW - 60), NOW);
    assert_eq!(past.start, Some(NOW - 60));
    assert_eq!(past.end, Some(NOW));
    let future = RoomTime::closing(Some(NOW + 60), NOW);
    assert_eq!(future.start, Some(NOW));
    assert_eq!(future.end, Some(NOW));
    let unbounded = RoomTime::closing(None, NOW);
    assert_eq!(unbounded.start, Some(NOW));
    assert_eq!(unbounded.end, Some(NOW));
}

// ---------------------------------------------------------------- create

#[test]
fn create_reserves_creates_both_rooms_establishes_and_locks_the_chat() {
    block_on(async {
        let req = create_request(true);
        let mut h = Harness::new();
        let slot = h.create_until_establish(&req);
        h.establish(&slot, create_rooms(&req), &req, None);
        h.lock_chat(EVENT, Ok(()));
        h.repo.expect_release().never();
        h.no_room_update();

        let m = h.build().create(&caller(), req.clone()).await.unwrap();

        let id = read_slot(&slot).unwrap();
        assert_eq!(m, established(id, create_rooms(&req), &req));
        assert_eq!(m.rooms.event.id, EVENT);
        assert_eq!(m.rooms.conference.id, CONF);
        assert_eq!(m.rooms.conference.start, Some(NOW + 3600));
    })
}

#[test]
fn create_without_locked_chat_leaves_the_chat_open() {
    block_on(async {
        let req = create_request(false);
        let mut h = Harness::new();
        let slot = h.create_until_establish(&req);
        h.establish(&slot, create_rooms(&req), &req, None);
        h.no_event_posted();

        let m = h.build().create(&caller(), req).await.unwrap();
        assert_eq!(m.rooms.event.id, EVENT);
    })
}

#[test]
fn create_succeeds_when_locking_the_chat_fails() {
    block_on(async {
        let req = create_request(true);
        let mut h = Harness::new();
        let slot = h.create_until_establish(&req);
        h.establish(&slot, create_rooms(&req), &req, None);
        h.lock_chat(EVENT, Err(failed()));
        h.no_room_update();
        h.repo.expect_release().never();

        let m = h.build().create(&caller(), req).await.unwrap();
        assert_eq!(m.id, read_slot(&slot).unwrap());
    })
}

#[test]
fn create_without_time_or_extras_starts_the_conference_now() {
    block_on(async {
        let req = CreateMinigroup {
            time: time(None, Some(NOW + 7200)),
            tags: None,
            reserve: None,
            ..create_request(false)
        };
        let mut h = Harness::new();
        let slot = h.create_until_establish(&req);
        h.establish(&slot, rooms(EVENT, NOW, CONF, NOW), &req, None);

        let m = h.build().create(&caller(), req).await.unwrap();
        assert_eq!(m.rooms.conference.start, Some(NOW));
    })
}

#[test]
fn create_denied_touches_nothing() {
    block_on(async {
        let mut h = Harness::new();
        h.authorize(Action::Create, create_object(), Err(AuthzError::Denied));
        h.repo.expect_reserve().never();
        h.repo.expect_establish().never();
        h.no_room_creation();

        let err = h
            .build()
            .create(&caller(), create_request(true))
            .await
            .unwrap_err();
        assert_eq!(err, denied("create"));
    })
}

#[test]
fn create_with_the_authorizer_unavailable_touches_nothing() {
    block_on(async {
        let mut h = Harness::new();
        h.authorize(
            Action::Create,
            create_object(),
            Err(AuthzError::Unavailable("down".into())),
        );
        h.repo.expect_reserve().never();
        h.no_room_creation();

        let err = h
            .build()
            .create(&caller(), create_request(true))
            .await
            .unwrap_err();
        assert_eq!(err, Error::Unavailable("down".into()));
    })
}

#[test]
fn create_of_a_taken_pair_is_exists_and_creates_no_room() {
    block_on(async {
        let req = create_request(true);
        let mut h = Harness::new();
        h.allow(Action::Create, create_object());
        h.reserve(&req, Err(RepoError::Conflict));
        h.no_room_creation();
        h.repo.expect_release().never();
        h.repo.expect_establish().never();

        let err = h.build().create(&caller(), req).await.unwrap_err();
        assert_eq!(err, Error::Exists);
    })
}

#[test]
fn create_with_the_database_down_is_unavailable_and_creates_no_room() {
    block_on(async {
        let req = create_request(true);
        let mut h = Harness::new();
        h.allow(Action::Create, create_object());
        h.reserve(&req, Err(unavailable()));
        h.no_room_creation();

        let err = h.build().create(&caller(), req).await.unwrap_err();
        assert_eq!(err, Error::Unavailable("db down".into()));
    })
}

#[test]
fn create_closes_the_conference_room_when_the_event_room_fails() {
    block_on(async {
        let req = create_request(true);
        let mut h = Harness::new();
        h.allow(Action::Create, create_object());
        let slot = h.reserve(&req, Ok(()));
        let spec = RoomSpec::for_create(&req, &slot);
        h.create_event_room(&spec, Err(failed()));
        h.create_conference_room(&spec, Ok(CONF));
        // The lesson starts in an hour: the closing start is clamped to now.
        h.close_conference_room(CONF, NOW, Ok(()));
        h.events.expect_update().never();
        h.release(&slot, Ok(()));
        h.repo.expect_establish().never();
        h.no_event_posted();

        let err = h.build().create(&caller(), req).await.unwrap_err();
        assert_eq!(err, Error::upstream(UpstreamService::Event, failed()));
    })
}

#[test]
fn create_closes_a_conference_room_that_started_in_the_past_from_its_start() {
    block_on(async {
        let req = CreateMinigroup {
            time: time(Some(NOW - 300), None),
            ..create_request(true)
        };
        let mut h = Harness::new();
        h.allow(Action::Create, create_object());
        let slot = h.reserve(&req, Ok(()));
        let spec = RoomSpec::for_create(&req, &slot);
        h.create_event_room(&spec, Err(failed()));
        h.create_conference_room(&spec, Ok(CONF));
        h.close_conference_room(CONF, NOW - 300, Ok(()));
        h.release(&slot, Ok(()));

        let err = h.build().create(&caller(), req).await.unwrap_err();
        assert_eq!(err, Error::upstream(UpstreamService::Event, failed()));
    })
}

#[test]
fn create_closes_the_event_room_when_the_conference_room_fails() {
    block_on(async {
        let req = create_request(true);
        let mut h = Harness::new();
        h.allow(Action::Create, create_object());
        let slot = h.reserve(&req, Ok(()));
        let spec = RoomSpec::for_create(&req, &slot);
        h.create_event_room(&spec, Ok(EVENT));
        h.create_conference_room(&spec, Err(failed()));
        h.close_event_room(EVENT, NOW, Ok(()));
        h.conferences.expect_update().never();
        h.release(&slot, Ok(()));
        h.repo.expect_establish().never();
        h.no_event_posted();

        let err = h.build().create(&caller(), req).await.unwrap_err();
        assert_eq!(err, Error::upstream(UpstreamService::Conference, failed()));
    })
}

#[test]
fn create_with_both_rooms_failing_closes_nothing_and_releases() {
    block_on(async {
        let req = create_request(true);
        let mut h = Harness::new();
        h.allow(Action::Create, create_object());
        let slot = h.reserve(&req, Ok(()));
        let spec = RoomSpec::for_create(&req, &slot);
        h.create_event_room(&spec, Err(failed()));
        h.create_conference_room(&spec, Err(UpstreamError::Timeout));
        h.no_room_update();
        h.release(&slot, Ok(()));
        h.repo.expect_establish().never();

        let err = h.build().create(&caller(), req).await.unwrap_err();
        assert!(
            matches!(err, Error::Upstream { .. }),
            "expected an upstream error, got {err:?}"
        );
    })
}

#[test]
fn create_maps_a_room_timeout_to_an_upstream_timeout() {
    block_on(async {
        for event_times_out in [true, false] {
            let req = create_request(true);
            let mut h = Harness::new();
            h.allow(Action::Create, create_object());
            let slot = h.reserve(&req, Ok(()));
            let spec = RoomSpec::for_create(&req, &slot);
            let service = if event_times_out {
                h.create_event_room(&spec, Err(UpstreamError::Timeout));
                h.create_conference_room(&spec, Ok(CONF));
                h.close_conference_room(CONF, NOW, Ok(()));
                UpstreamService::Event
            } else {
                h.create_event_room(&spec, Ok(EVENT));
                h.create_conference_room(&spec, Err(UpstreamError::Timeout));
                h.close_event_room(EVENT, NOW, Ok(()));
                UpstreamService::Conference
            };
            h.release(&slot, Ok(()));

            let err = h.build().create(&caller(), req).await.unwrap_err();
            assert_eq!(err, Error::upstream(service, UpstreamError::Timeout));
        }
    })
}

#[test]
fn create_reports_a_rejected_room_as_a_failure_not_a_rejection() {
    block_on(async {
        for event_rejects in [true, false] {
            let rejected = UpstreamError::Rejected {
                status: 400,
                reason: "bad audience".into(),
            };
            let req = create_request(true);
            let mut h = Harness::new();
            h.allow(Action::Create, create_object());
            let slot = h.reserve(&req, Ok(()));
            let spec = RoomSpec::for_create(&req, &slot);
            let service = if event_rejects {
                h.create_event_room(&spec, Err(rejected));
                h.create_conference_room(&spec, Ok(CONF));
                h.close_conference_room(CONF, NOW, Ok(()));
                UpstreamService::Event
            } else {
                h.create_event_room(&spec, Ok(EVENT));
                h.create_conference_room(&spec, Err(rejected));
                h.close_event_room(EVENT, NOW, Ok(()));
                UpstreamService::Conference
            };
            h.release(&slot, Ok(()));

            let err = h.build().create(&caller(), req).await.unwrap_err();
            match err {
                Error::Upstream {
                    service: s,
                    source: UpstreamError::Failed(reason),
                } if s == service => assert!(reason.contains("bad audience"), "{reason}"),
                other => panic!("expected a {service} failure, got {other:?}"),
            }
        }
    })
}

#[test]
fn create_whose_reservation_was_taken_over_closes_its_rooms_and_is_exists() {
    block_on(async {
        let req = create_request(true);
        let mut h = Harness::new();
        let slot = h.create_until_establish(&req);
        h.establish(&slot, create_rooms(&req), &req, Some(RepoError::NotFound));
        h.close_event_room(EVENT, NOW, Ok(()));
        h.close_conference_room(CONF, NOW, Ok(()));
        // The pair belongs to the create that took it over: nothing to release.
        h.repo.expect_release().never();
        // The chat lock overlaps with establishing; the closed room keeps it.
        h.lock_chat(EVENT, Ok(()));

        let err = h.build().create(&caller(), req).await.unwrap_err();
        assert_eq!(err, Error::Exists);
    })
}

#[test]
fn create_with_the_database_down_at_establish_closes_rooms_and_releases() {
    block_on(async {
        let req = create_request(true);
        let mut h = Harness::new();
        let slot = h.create_until_establish(&req);
        h.establish(&slot, create_rooms(&req), &req, Some(unavailable()));
        h.close_event_room(EVENT, NOW, Ok(()));
        h.close_conference_room(CONF, NOW, Ok(()));
        h.release(&slot, Err(unavailable()));
        h.lock_chat(EVENT, Ok(()));

        let err = h.build().create(&caller(), req).await.unwrap_err();
        assert_eq!(err, Error::Unavailable("db down".into()));
    })
}

#[test]
fn create_returns_the_upstream_error_when_release_and_close_fail_too() {
    block_on(async {
        let req = create_request(true);
        let mut h = Harness::new();
        h.allow(Action::Create, create_object());
        let slot = h.reserve(&req, Ok(()));
        let spec = RoomSpec::for_create(&req, &slot);
        h.create_event_room(&spec, Ok(EVENT));
        h.create_conference_room(&spec, Err(UpstreamError::Timeout));
        h.close_event_room(EVENT, NOW, Err(failed()));
        h.release(&slot, Err(unavailable()));

        let err = h.build().create(&caller(), req).await.unwrap_err();
        assert_eq!(
            err,
            Error::upstream(UpstreamService::Conference, UpstreamError::Timeout)
        );
    })
}

// ---------------------------------------------------------------- read

fn by_scope() -> MinigroupKey {
    MinigroupKey::Scope(audience(), scope())
}

fn find_by_scope(h: &mut Harness, result: Result<Option<Minigroup>, RepoError>) {
    h.repo
        .expect_find_by_scope()
        .withf(|a, s| *a == audience() && *s == scope())
        .times(1)
        .return_const(result);
}

#[test]
fn read_by_id_returns_the_minigroup() {
    block_on(async {
        let m = existing();
        let mut h = Harness::new();
        h.found_and_allowed(&m, Action::Read);
        h.repo.expect_find_by_scope().never();

        let got = h
            .build()
            .read(&caller(), MinigroupKey::Id(m.id))
            .await
            .unwrap();
        assert_eq!(got, m);
    })
}

#[test]
fn read_by_scope_returns_the_minigroup() {
    block_on(async {
        let m = existing();
        let mut h = Harness::new();
        find_by_scope(&mut h, Ok(Some(m.clone())));
        h.allow(Action::Read, AuthzObject::from(&m));
        h.repo.expect_find_by_id().never();

        let got = h.build().read(&caller(), by_scope()).await.unwrap();
        assert_eq!(got, m);
    })
}

#[test]
fn read_of_an_unknown_minigroup_is_not_found_without_asking_the_authorizer() {
    block_on(async {
        let mut h = Harness::new();
        h.find_by_id(mg_id(), Ok(None));
        find_by_scope(&mut h, Ok(None));
        h.no_authorize();
        let service = h.build();

        let err = service
            .read(&caller(), MinigroupKey::Id(mg_id()))
            .await
            .unwrap_err();
        assert_eq!(err, Error::NotFound);
        let err = service.read(&caller(), by_scope()).await.unwrap_err();
        assert_eq!(err, Error::NotFound);
    })
}

#[test]
fn read_denied_is_denied() {
    block_on(async {
        let m = existing();
        let mut h = Harness::new();
        h.find_by_id(m.id, Ok(Some(m.clone())));
        find_by_scope(&mut h, Ok(Some(m.clone())));
        h.authz
            .expect_authorize()
            .withf(|account, a, _| *account == caller() && *a == Action::Read)
            .times(2)
            .return_const(Err(AuthzError::Denied));
        let service = h.build();

        let err = service
            .read(&caller(), MinigroupKey::Id(m.id))
            .await
            .unwrap_err();
        assert_eq!(err, denied("read"));
        let err = service.read(&caller(), by_scope()).await.unwrap_err();
        assert_eq!(err, denied("read"));
    })
}

#[test]
fn read_with_the_database_down_is_unavailable() {
    block_on(async {
        let mut h = Harness::new();
        h.find_by_id(mg_id(), Err(unavailable()));
        find_by_scope(&mut h, Err(unavailable()));
        h.no_authorize();
        let service = h.build();

        let err = service
            .read(&caller(), MinigroupKey::Id(mg_id()))
            .await
            .unwrap_err();
        assert_eq!(err, Error::Unavailable("db down".into()));
        let err = service.read(&caller(), by_scope()).await.unwrap_err();
        assert_eq!(err, Error::Unavailable("db down".into()));
    })
}

// ---------------------------------------------------------------- update

/// The minigroup after `changes`, as the repository would answer.
fn updated(changes: &MinigroupChanges) -> Minigroup {
    let mut m = existing();
    if let Some(t) = changes.time {
        m.time = t;
    }
    if let Some(r) = changes.reserve {
        m.reserve = Some(r);
    }
    if let Some(h) = &changes.host {
        m.host = Some(h.clone());
    }
    if let Some(s) = changes.event_room_start {
        m.rooms.event.start = s;
    }
    if let Some(s) = changes.conference_room_start {
        m.rooms.conference.start = s;
    }
    m
}

fn expect_repo_update(h: &mut Harness, expected: MinigroupChanges) {
    h.repo
        .expect_update()
        .withf(move |id, c| *id == mg_id() && *c == expected)
        .times(1)
        .returning(|_, c| Ok(updated(c)));
}

fn expect_conference_update(
    h: &mut Harness,
    expected: ConferenceRoomUpdate,
    result: Result<(), UpstreamError>,
) {
    h.conferences
        .expect_update()
        .withf(move |id, u| *id == OLD_CONF && *u == expected)
        .times(1)
        .return_const(result);
}

fn expect_event_update_to_now(h: &mut Harness, result: Result<(), UpstreamError>) {
    h.events
        .expect_update()
        .withf(|id, u| {
            *id == OLD_EVENT
                && *u
                    == EventRoomUpdate {
                        time: Some(RoomTime {
                            start: Some(NOW),
                            end: None,
                        }),
                        classroom_id: None,
                    }
        })
        .times(1)
        .return_const(result);
}

#[test]
fn update_with_nothing_to_change_is_invalid_and_touches_nothing() {
    block_on(async {
        let mut h = Harness::new();
        h.repo.expect_find_by_id().never();
        h.repo.expect_find_by_scope().never();
        h.repo.expect_update().never();
        h.no_authorize();
        h.no_room_update();

        let err = h
            .build()
            .update(
                &caller(),
                MinigroupKey::Id(mg_id()),
                UpdateMinigroup::default(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Invalid(ValidationError::NothingToDo { .. })),
            "{err:?}"
        );
    })
}

#[test]
fn update_of_the_time_reopens_the_chat_and_moves_the_conference() {
    block_on(async {
        let new_time = time(Some(NOW + 600), Some(NOW + 4200));
        let mut h = Harness::new();
        h.found_and_allowed(&existing(), Action::Update);
        expect_event_update_to_now(&mut h, Ok(()));
        expect_conference_update(
            &mut h,
            ConferenceRoomUpdate {
                time: Some(RoomTime {
                    start: Some(NOW + 600),
                    end: Some(NOW + 4200),
                }),
                ..ConferenceRoomUpdate::default()
            },
            Ok(()),
        );
        let changes = MinigroupChanges {
            time: Some(new_time),
            event_room_start: Some(Some(NOW)),
            conference_room_start: Some(Some(NOW + 600)),
            ..MinigroupChanges::default()
        };
        expect_repo_update(&mut h, changes.clone());

        let m = h
            .build()
            .update(
                &caller(),
                MinigroupKey::Id(mg_id()),
                UpdateMinigroup {
                    time: Some(new_time),
                    ..UpdateMinigroup::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(m, updated(&changes));
        assert_eq!(m.time, new_time);
    })
}

#[test]
fn update_to_an_unbounded_time_sends_it_as_given() {
    block_on(async {
        let new_time = TimeRange::unbounded();
        let mut h = Harness::new();
        h.found_and_allowed(&existing(), Action::Update);
        expect_event_update_to_now(&mut h, Ok(()));
        expect_conference_update(
            &mut h,
            ConferenceRoomUpdate {
                time: Some(RoomTime {
                    start: None,
                    end: None,
                }),
                ..ConferenceRoomUpdate::default()
            },
            Ok(()),
        );
        expect_repo_update(
            &mut h,
            MinigroupChanges {
                time: Some(new_time),
                event_room_start: Some(Some(NOW)),
                conference_room_start: Some(None),
                ..MinigroupChanges::default()
            },
        );

        let m = h
            .build()
            .update(
                &caller(),
                MinigroupKey::Id(mg_id()),
                UpdateMinigroup {
                    time: Some(new_time),
                    ..UpdateMinigroup::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(m.time, new_time);
    })
}

#[test]
fn update_of_the_reserve_only_leaves_the_event_room_alone() {
    block_on(async {
        let mut h = Harness::new();
        h.found_and_allowed(&existing(), Action::Update);
        h.events.expect_update().never();
        expect_conference_update(
            &mut h,
            ConferenceRoomUpdate {
                reserve: Some(reserve(5)),
                ..ConferenceRoomUpdate::default()
            },
            Ok(()),
        );
        expect_repo_update(
            &mut h,
            MinigroupChanges {
                reserve: Some(reserve(5)),
                ..MinigroupChanges::default()
            },
        );

        let m = h
            .build()
            .update(
                &caller(),
                MinigroupKey::Id(mg_id()),
                UpdateMinigroup {
                    reserve: Some(reserve(5)),
                    ..UpdateMinigroup::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(m.reserve, Some(reserve(5)));
        assert_eq!(m.time, existing().time);
    })
}

#[test]
fn update_of_the_host_by_scope_passes_the_host_to_the_conference() {
    block_on(async {
        let new_host = AccountId::parse("host", "teacher2.usr.example.org").unwrap();
        let m = existing();
        let mut h = Harness::new();
        find_by_scope(&mut h, Ok(Some(m.clone())));
        h.allow(Action::Update, AuthzObject::from(&m));
        h.events.expect_update().never();
        expect_conference_update(
            &mut h,
            ConferenceRoomUpdate {
                host: Some(new_host.clone()),
                ..ConferenceRoomUpdate::default()
            },
            Ok(()),
        );
        expect_repo_update(
            &mut h,
            MinigroupChanges {
                host: Some(new_host.clone()),
                ..MinigroupChanges::default()
            },
        );

        let got = h
            .build()
            .update(
                &caller(),
                by_scope(),
                UpdateMinigroup {
                    host: Some(new_host.clone()),
                    ..UpdateMinigroup::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(got.host, Some(new_host));
    })
}

/// Runs a time update whose room calls answer `event` and `conference`.
async fn failing_time_update(
    event: Result<(), UpstreamError>,
    conference: Result<(), UpstreamError>,
) -> Error {
    let mut h = Harness::new();
    h.found_and_allowed(&existing(), Action::Update);
    expect_event_update_to_now(&mut h, event);
    h.conferences
        .expect_update()
        .withf(|id, _| *id == OLD_CONF)
        .times(1)
        .return_const(conference);
    h.repo.expect_update().never();
    h.build()
        .update(
            &caller(),
            MinigroupKey::Id(mg_id()),
            UpdateMinigroup {
                time: Some(time(Some(NOW + 60), None)),
                ..UpdateMinigroup::default()
            },
        )
        .await
        .unwrap_err()
}

#[test]
fn update_with_the_event_room_failing_leaves_the_minigroup_unchanged() {
    block_on(async {
        let err = failing_time_update(Err(failed()), Ok(())).await;
        assert_eq!(err, Error::upstream(UpstreamService::Event, failed()));
    })
}

#[test]
fn update_with_the_conference_room_failing_leaves_the_minigroup_unchanged() {
    block_on(async {
        let err = failing_time_update(Ok(()), Err(failed())).await;
        assert_eq!(err, Error::upstream(UpstreamService::Conference, failed()));
    })
}

#[test]
fn update_with_a_room_timing_out_is_a_timeout() {
    block_on(async {
        let err = failing_time_update(Ok(()), Err(UpstreamError::Timeout)).await;
        assert_eq!(
            err,
            Error::upstream(UpstreamService::Conference, UpstreamError::Timeout)
        );
        let err = failing_time_update(Err(UpstreamError::Timeout), Ok(())).await;
        assert_eq!(
            err,
            Error::upstream(UpstreamService::Event, UpstreamError::Timeout)
        );
    })
}

#[test]
fn update_with_a_room_rejecting_is_a_failure_not_a_rejection() {
    block_on(async {
        let err = failing_time_update(
            Ok(()),
            Err(UpstreamError::Rejected {
                status: 400,
                reason: "nope".into(),
            }),
        )
        .await;
        assert!(
            matches!(
                err,
                Error::Upstream {
                    service: UpstreamService::Conference,
                    source: UpstreamError::Failed(_),
                }
            ),
            "{err:?}"
        );
    })
}

#[test]
fn update_of_an_unknown_minigroup_is_not_found() {
    block_on(async {
        let mut h = Harness::new();
        h.find_by_id(mg_id(), Ok(None));
        h.no_authorize();
        h.no_room_update();
        h.repo.expect_update().never();

        let err = h
            .build()
            .update(
                &caller(),
                MinigroupKey::Id(mg_id()),
                UpdateMinigroup {
                    reserve: Some(reserve(1)),
                    ..UpdateMinigroup::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err, Error::NotFound);
    })
}

#[test]
fn update_denied_touches_no_room() {
    block_on(async {
        let m = existing();
        let mut h = Harness::new();
        h.find_by_id(m.id, Ok(Some(m.clone())));
        h.authorize(
            Action::Update,
            AuthzObject::from(&m),
            Err(AuthzError::Denied),
        );
        h.no_room_update();
        h.repo.expect_update().never();

        let err = h
            .build()
            .update(
                &caller(),
                MinigroupKey::Id(m.id),
                UpdateMinigroup {
                    time: Some(time(Some(NOW), None)),
                    ..UpdateMinigroup::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err, denied("update"));
    })
}

#[test]
fn update_with_the_database_failing_at_the_end_is_unavailable() {
    block_on(async {
        let mut h = Harness::new();
        h.found_and_allowed(&existing(), Action::Update);
        expect_conference_update(
            &mut h,
            ConferenceRoomUpdate {
                reserve: Some(reserve(3)),
                ..ConferenceRoomUpdate::default()
            },
            Ok(()),
        );
        h.repo
            .expect_update()
            .times(1)
            .return_const(Err(unavailable()));

        let err = h
            .build()
            .update(
                &caller(),
                MinigroupKey::Id(mg_id()),
                UpdateMinigroup {
                    reserve: Some(reserve(3)),
                    ..UpdateMinigroup::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err, Error::Unavailable("db down".into()));
    })
}

// ---------------------------------------------------------------- create_event

fn an_event() -> NewEvent {
    NewEvent {
        kind: "message".into(),
        set: "messages".into(),
        label: Some("msg-1".into()),
        attribute: Some("pinned".into()),
        data: json!({"text": "hello"}),
        is_claim: true,
        is_persistent: false,
    }
}

async fn post_event_answering(result: Result<(), UpstreamError>) -> Result<(), Error> {
    let mut h = Harness::new();
    h.found_and_allowed(&existing(), Action::Update);
    h.events
        .expect_create_event()
        .withf(|room, e| *room == OLD_EVENT && *e == an_event())
        .times(1)
        .return_const(result);
    h.build().create_event(&caller(), mg_id(), an_event()).await
}

#[test]
fn create_event_forwards_the_event_to_the_event_room() {
    block_on(async {
        post_event_answering(Ok(())).await.unwrap();
    })
}

#[test]
fn create_event_keeps_a_rejection_a_rejection() {
    block_on(async {
        let rejected = UpstreamError::Rejected {
            status: 422,
            reason: "bad set".into(),
        };
        let err = post_event_answering(Err(rejected.clone()))
            .await
            .unwrap_err();
        assert_eq!(err, Error::upstream(UpstreamService::Event, rejected));
    })
}

#[test]
fn create_event_reports_failures_and_timeouts() {
    block_on(async {
        let err = post_event_answering(Err(failed())).await.unwrap_err();
        assert_eq!(err, Error::upstream(UpstreamService::Event, failed()));
        let err = post_event_answering(Err(UpstreamError::Timeout))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            Error::upstream(UpstreamService::Event, UpstreamError::Timeout)
        );
    })
}

#[test]
fn create_event_in_an_unknown_minigroup_is_not_found() {
    block_on(async {
        let mut h = Harness::new();
        h.find_by_id(mg_id(), Ok(None));
        h.no_authorize();
        h.no_event_posted();

        let err = h
            .build()
            .create_event(&caller(), mg_id(), an_event())
            .await
            .unwrap_err();
        assert_eq!(err, Error::NotFound);
    })
}

#[test]
fn create_event_needs_the_update_permission() {
    block_on(async {
        let m = existing();
        let mut h = Harness::new();
        h.find_by_id(m.id, Ok(Some(m.clone())));
        h.authorize(
            Action::Update,
            AuthzObject::from(&m),
            Err(AuthzError::Denied),
        );
        h.no_event_posted();

        let err = h
            .build()
            .create_event(&caller(), m.id, an_event())
            .await
            .unwrap_err();
        assert_eq!(err, denied("update"));
    })
}

// ---------------------------------------------------------------- recreate

const NEW_EVENT: Uuid = Uuid::from_u128(0xE2);
const NEW_CONF: Uuid = Uuid::from_u128(0xC2);

/// The minigroup after `replace_rooms`.
fn replaced(rooms: Rooms, time: TimeRange) -> Minigroup {
    Minigroup {
        rooms,
        time,
        ..existing()
    }
}

/// Expects `replace_rooms(mg, new rooms, time)`; sets `flag` when called.
fn expect_replace_rooms(
    h: &mut Harness,
    time: TimeRange,
    error: Option<RepoError>,
    flag: Arc<AtomicBool>,
    seq: &mut Sequence,
) -> Rooms {
    let new_rooms = rooms(NEW_EVENT, NOW, NEW_CONF, time.start().unwrap_or(NOW));
    h.repo
        .expect_replace_rooms()
        .withf(move |id, r, t| *id == mg_id() && *r == new_rooms && *t == time)
        .times(1)
        .in_sequence(seq)
        .returning(move |_, r, t| {
            flag.store(true, Ordering::SeqCst);
            match &error {
                None => Ok(replaced(r, t)),
                Some(e) => Err(e.clone()),
            }
        });
    new_rooms
}

/// A recreate that succeeds; `given` is the requested time.
async fn recreate_successfully(given: Option<TimeRange>, locked_chat: bool) {
    let m = existing();
    let time = given.unwrap_or(m.time);
    let mut h = Harness::new();
    let mut seq = Sequence::new();
    h.found_and_allowed(&m, Action::Update);
    let spec = RoomSpec::for_recreate(&m, time);
    h.create_event_room(&spec, Ok(NEW_EVENT));
    h.create_conference_room(&spec, Ok(NEW_CONF));
    let stored = Arc::new(AtomicBool::new(false));
    let new_rooms = expect_replace_rooms(&mut h, time, None, stored.clone(), &mut seq);
    // The old rooms are closed only after the new ones are stored.
    h.events
        .expect_update()
        .withf(|id, u| {
            *id == OLD_EVENT
                && *u
                    == EventRoomUpdate {
                        time: closing(OLD_EVENT_START),
                        classroom_id: None,
                    }
        })
        .times(1)
        .in_sequence(&mut seq)
        .return_const(Ok(()));
    let stored_before_close = stored.clone();
    h.conferences
        .expect_update()
        .withf(|id, u| {
            *id == OLD_CONF
                && *u
                    == ConferenceRoomUpdate {
                        time: closing(OLD_CONF_START),
                        ..ConferenceRoomUpdate::default()
                    }
        })
        .times(1)
        .returning(move |_, _| {
            assert!(
                stored_before_close.load(Ordering::SeqCst),
                "old conference room closed before the new rooms were stored"
            );
            Ok(())
        });
    h.no_event_room_update(NEW_EVENT);
    h.no_conference_room_update(NEW_CONF);
    if locked_chat {
        h.lock_chat(NEW_EVENT, Ok(()));
    } else {
        h.no_event_posted();
    }

    let got = h
        .build()
        .recreate(
            &caller(),
            m.id,
            RecreateMinigroup {
                time: given,
                locked_chat,
            },
        )
        .await
        .unwrap();
    assert_eq!(got, replaced(new_rooms, time));
    assert_eq!(got.rooms.event.id, NEW_EVENT);
    assert_eq!(got.rooms.conference.id, NEW_CONF);
}

#[test]
fn recreate_keeps_the_time_when_none_is_given() {
    block_on(async {
        recreate_successfully(None, true).await;
    })
}

#[test]
fn recreate_replaces_the_time_when_one_is_given() {
    block_on(async {
        recreate_successfully(Some(time(Some(NOW + 1800), Some(NOW + 5400))), true).await;
    })
}

#[test]
fn recreate_with_an_unbounded_time_starts_the_conference_now() {
    block_on(async {
        recreate_successfully(Some(TimeRange::unbounded()), true).await;
    })
}

#[test]
fn recreate_without_locked_chat_leaves_the_chat_open() {
    block_on(async {
        recreate_successfully(None, false).await;
    })
}

#[test]
fn recreate_succeeds_when_locking_the_chat_fails() {
    block_on(async {
        let m = existing();
        let mut h = Harness::new();
        let mut seq = Sequence::new();
        h.found_and_allowed(&m, Action::Update);
        let spec = RoomSpec::for_recreate(&m, m.time);
        h.create_event_room(&spec, Ok(NEW_EVENT));
        h.create_conference_room(&spec, Ok(NEW_CONF));
        let flag = Arc::new(AtomicBool::new(false));
        let new_rooms = expect_replace_rooms(&mut h, m.time, None, flag, &mut seq);
        h.close_event_room(OLD_EVENT, OLD_EVENT_START, Ok(()));
        h.close_conference_room(OLD_CONF, OLD_CONF_START, Err(failed()));
        h.lock_chat(NEW_EVENT, Err(UpstreamError::Timeout));

        let got = h
            .build()
            .recreate(&caller(), m.id, RecreateMinigroup::default())
            .await
            .unwrap();
        assert_eq!(got.rooms, new_rooms);
    })
}

/// A recreate whose new rooms answer `event` and `conference`, at least one
/// failing.
async fn recreate_with_failing_rooms(
    event: Result<Uuid, UpstreamError>,
    conference: Result<Uuid, UpstreamError>,
) -> Error {
    let m = existing();
    let mut h = Harness::new();
    h.found_and_allowed(&m, Action::Update);
    let spec = RoomSpec::for_recreate(&m, m.time);
    let event_made = event.is_ok();
    let conference_made = conference.is_ok();
    h.create_event_room(&spec, event);
    h.create_conference_room(&spec, conference);
    if event_made {
        h.close_event_room(NEW_EVENT, NOW, Ok(()));
    }
    if conference_made {
        // The lesson began in the past: the new room closes from its start.
        h.close_conference_room(NEW_CONF, m.time.start().unwrap(), Ok(()));
    }
    h.no_event_room_update(OLD_EVENT);
    h.no_conference_room_update(OLD_CONF);
    h.repo.expect_replace_rooms().never();
    h.no_event_posted();
    h.build()
        .recreate(&caller(), m.id, RecreateMinigroup::default())
        .await
        .unwrap_err()
}

#[test]
fn recreate_with_the_new_event_room_failing_closes_the_new_conference_room_only() {
    block_on(async {
        let err = recreate_with_failing_rooms(Err(failed()), Ok(NEW_CONF)).await;
        assert_eq!(err, Error::upstream(UpstreamService::Event, failed()));
    })
}

#[test]
fn recreate_with_the_new_conference_room_failing_closes_the_new_event_room_only() {
    block_on(async {
        let err = recreate_with_failing_rooms(Ok(NEW_EVENT), Err(UpstreamError::Timeout)).await;
        assert_eq!(
            err,
            Error::upstream(UpstreamService::Conference, UpstreamError::Timeout)
        );
    })
}

#[test]
fn recreate_with_both_new_rooms_failing_changes_nothing() {
    block_on(async {
        let err = recreate_with_failing_rooms(Err(failed()), Err(failed())).await;
        assert!(matches!(err, Error::Upstream { .. }), "{err:?}");
    })
}

#[test]
fn recreate_with_the_database_failing_closes_the_new_rooms_and_keeps_the_old() {
    block_on(async {
        for (error, expected) in [
            (unavailable(), Error::Unavailable("db down".into())),
            (RepoError::NotFound, Error::NotFound),
        ] {
            let m = existing();
            let mut h = Harness::new();
            let mut seq = Sequence::new();
            h.found_and_allowed(&m, Action::Update);
            let spec = RoomSpec::for_recreate(&m, m.time);
            h.create_event_room(&spec, Ok(NEW_EVENT));
            h.create_conference_room(&spec, Ok(NEW_CONF));
            let flag = Arc::new(AtomicBool::new(false));
            expect_replace_rooms(&mut h, m.time, Some(error), flag, &mut seq);
            h.close_event_room(NEW_EVENT, NOW, Ok(()));
            h.close_conference_room(NEW_CONF, m.time.start().unwrap(), Ok(()));
            h.no_event_room_update(OLD_EVENT);
            h.no_conference_room_update(OLD_CONF);
            h.no_event_posted();

            let err = h
                .build()
                .recreate(&caller(), m.id, RecreateMinigroup::default())
                .await
                .unwrap_err();
            assert_eq!(err, expected);
        }
    })
}

#[test]
fn recreate_of_an_unknown_minigroup_is_not_found() {
    block_on(async {
        let mut h = Harness::new();
        h.find_by_id(mg_id(), Ok(None));
        h.no_authorize();
        h.no_room_creation();
        h.repo.expect_replace_rooms().never();

        let err = h
            .build()
            .recreate(&caller(), mg_id(), RecreateMinigroup::default())
            .await
            .unwrap_err();
        assert_eq!(err, Error::NotFound);
    })
}

#[test]
fn recreate_needs_the_update_permission() {
    block_on(async {
        let m = existing();
        let mut h = Harness::new();
        h.find_by_id(m.id, Ok(Some(m.clone())));
        h.authorize(
            Action::Update,
            AuthzObject::from(&m),
            Err(AuthzError::Denied),
        );
        h.no_room_creation();
        h.no_room_update();
        h.repo.expect_replace_rooms().never();

        let err = h
            .build()
            .recreate(&caller(), m.id, RecreateMinigroup::default())
            .await
            .unwrap_err();
        assert_eq!(err, denied("update"));
    })
}

// ---------------------------------------------------------------- download

async fn download_answering(
    result: Result<Option<String>, UpstreamError>,
) -> Result<String, Error> {
    let mut h = Harness::new();
    h.found_and_allowed(&existing(), Action::Download);
    h.storage
        .expect_source_url()
        .withf(|a, s| *a == audience() && *s == scope())
        .times(1)
        .return_const(result);
    h.build().download(&caller(), mg_id()).await
}

#[test]
fn download_answers_the_url_of_a_present_recording() {
    block_on(async {
        let url = "https://storage.example.org/api/v2/backends/yandex/sets/ms.minigroup.usr.example.org::lesson-42/objects/mp4";
        let got = download_answering(Ok(Some(url.into()))).await.unwrap();
        assert_eq!(got, url);
    })
}

#[test]
fn download_of_an_absent_recording_is_recording_not_found() {
    block_on(async {
        let err = download_answering(Ok(None)).await.unwrap_err();
        assert_eq!(err, Error::RecordingNotFound);
    })
}

#[test]
fn download_with_the_storage_failing_is_an_upstream_error() {
    block_on(async {
        let err = download_answering(Err(failed())).await.unwrap_err();
        assert_eq!(err, Error::upstream(UpstreamService::Storage, failed()));
        let err = download_answering(Err(UpstreamError::Timeout))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            Error::upstream(UpstreamService::Storage, UpstreamError::Timeout)
        );
    })
}

#[test]
fn download_needs_the_download_permission() {
    block_on(async {
        let m = existing();
        let mut h = Harness::new();
        h.find_by_id(m.id, Ok(Some(m.clone())));
        h.authorize(
            Action::Download,
            AuthzObject::from(&m),
            Err(AuthzError::Denied),
        );
        h.storage.expect_source_url().never();

        let err = h.build().download(&caller(), m.id).await.unwrap_err();
        assert_eq!(err, denied("download"));
    })
}

#[test]
fn download_of_an_unknown_minigroup_is_not_found() {
    block_on(async {
        let mut h = Harness::new();
        h.find_by_id(mg_id(), Ok(None));
        h.no_authorize();
        h.storage.expect_source_url().never();

        let err = h.build().download(&caller(), mg_id()).await.unwrap_err();
        assert_eq!(err, Error::NotFound);
    })
}

// ---------------------------------------------------------------- ready

#[test]
fn ready_while_the_database_answers() {
    block_on(async {
        let mut h = Harness::new();
        h.repo.expect_ping().times(1).return_const(Ok(()));
        h.build().ready().await.unwrap();
    })
}

#[test]
fn not_ready_while_the_database_is_down() {
    block_on(async {
        let mut h = Harness::new();
        h.repo
            .expect_ping()
            .times(1)
            .return_const(Err(unavailable()));
        let err = h.build().ready().await.unwrap_err();
        assert_eq!(err, Error::Unavailable("db down".into()));
    })
}
