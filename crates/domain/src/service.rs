//! The use cases, over the ports.

use std::sync::Arc;

use async_trait::async_trait;
use tracing::{instrument, warn};
use uuid::Uuid;

use crate::error::{AuthzError, Error, RepoError, UpstreamError, UpstreamService};
use crate::model::{
    Action, AuthzObject, ConferenceRoomUpdate, CreateMinigroup, EventRoomUpdate, Minigroup,
    MinigroupChanges, MinigroupKey, NewConferenceRoom, NewEvent, NewEventRoom, RecreateMinigroup,
    Reservation, RoomRef, RoomTime, Rooms, UpdateMinigroup,
};
use crate::ports::{Authorizer, Clock, ConferenceRooms, EventRooms, MinigroupRepository, Storage};
use crate::values::{AccountId, MinigroupId, Reserve, Tags, TimeRange, ValidationError};

/// What the inbound adapters call: one method per use case.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Minigroups: Send + Sync + 'static {
    /// Creates a minigroup and its two rooms.
    ///
    /// # Errors
    /// `Denied`, `Exists`, `Upstream`, `Unavailable`.
    async fn create(&self, caller: &AccountId, req: CreateMinigroup) -> Result<Minigroup, Error>;

    /// Reads a minigroup.
    ///
    /// # Errors
    /// `NotFound`, `Denied`, `Unavailable`.
    async fn read(&self, caller: &AccountId, key: MinigroupKey) -> Result<Minigroup, Error>;

    /// Updates a minigroup and its rooms.
    ///
    /// # Errors
    /// `Invalid` (nothing to change), `NotFound`, `Denied`, `Upstream`,
    /// `Unavailable`.
    async fn update(
        &self,
        caller: &AccountId,
        key: MinigroupKey,
        req: UpdateMinigroup,
    ) -> Result<Minigroup, Error>;

    /// Posts an event into the minigroup's event room.
    ///
    /// # Errors
    /// `NotFound`, `Denied`, `Upstream` (`Rejected` for a 4xx), `Unavailable`.
    async fn create_event(
        &self,
        caller: &AccountId,
        id: MinigroupId,
        event: NewEvent,
    ) -> Result<(), Error>;

    /// Replaces the minigroup's rooms with new ones.
    ///
    /// # Errors
    /// `NotFound`, `Denied`, `Upstream`, `Unavailable`.
    async fn recreate(
        &self,
        caller: &AccountId,
        id: MinigroupId,
        req: RecreateMinigroup,
    ) -> Result<Minigroup, Error>;

    /// The download URL of the minigroup's recording.
    ///
    /// # Errors
    /// `NotFound`, `Denied`, `RecordingNotFound`, `Upstream`, `Unavailable`.
    async fn download(&self, caller: &AccountId, id: MinigroupId) -> Result<String, Error>;

    /// Whether the database answers.
    ///
    /// # Errors
    /// `Unavailable` when it does not.
    async fn ready(&self) -> Result<(), Error>;
}

/// The ports a [`Service`] runs on.
#[derive(Clone)]
pub struct Ports {
    /// Minigroup storage.
    pub repo: Arc<dyn MinigroupRepository>,
    /// The event service.
    pub events: Arc<dyn EventRooms>,
    /// The conference service.
    pub conferences: Arc<dyn ConferenceRooms>,
    /// The storage service.
    pub storage: Arc<dyn Storage>,
    /// The authorization policy.
    pub authz: Arc<dyn Authorizer>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

/// The use cases.
#[derive(Clone)]
pub struct Service {
    ports: Ports,
    reservation_ttl_secs: i64,
}

impl Service {
    /// A service over `ports`; a pending reservation older than
    /// `reservation_ttl_secs` may be taken over by a new create.
    pub fn new(ports: Ports, reservation_ttl_secs: i64) -> Self {
        Self {
            ports,
            reservation_ttl_secs,
        }
    }

    /// The reservation lifetime the contract asks for: twice the upstream
    /// timeout plus 10 seconds.
    pub fn reservation_ttl_for(upstream_timeout: std::time::Duration) -> i64 {
        let twice_ms = upstream_timeout.as_millis().saturating_mul(2);
        i64::try_from(twice_ms.div_ceil(1000))
            .unwrap_or(i64::MAX / 2)
            .saturating_add(10)
    }

    async fn authorize(
        &self,
        caller: &AccountId,
        action: Action,
        object: &AuthzObject,
    ) -> Result<(), Error> {
        match self.ports.authz.authorize(caller, action, object).await {
            Ok(()) => Ok(()),
            Err(AuthzError::Denied) => Err(Error::Denied {
                account: caller.to_string(),
                action: action.as_str(),
            }),
            Err(AuthzError::Unavailable(e)) => Err(Error::Unavailable(e)),
        }
    }

    async fn find(&self, key: &MinigroupKey) -> Result<Minigroup, Error> {
        let found = match key {
            MinigroupKey::Id(id) => self.ports.repo.find_by_id(*id).await?,
            MinigroupKey::Scope(audience, scope) => {
                self.ports.repo.find_by_scope(audience, scope).await?
            }
        };
        found.ok_or(Error::NotFound)
    }

    async fn find_authorized(
        &self,
        caller: &AccountId,
        key: &MinigroupKey,
        action: Action,
    ) -> Result<Minigroup, Error> {
        let m = self.find(key).await?;
        self.authorize(caller, action, &AuthzObject::from(&m))
            .await?;
        Ok(m)
    }

    /// Creates both rooms concurrently. When either fails, closes the one
    /// that was made and returns the failure.
    async fn create_rooms(
        &self,
        id: MinigroupId,
        audience: &crate::values::Audience,
        time: TimeRange,
        tags: Option<&Tags>,
        reserve: Option<Reserve>,
    ) -> Result<Rooms, Error> {
        let now = self.ports.clock.now();
        let event_room = NewEventRoom {
            audience: audience.clone(),
            start: now,
            tags: tags.cloned(),
            classroom_id: id,
        };
        let conference_start = time.start().unwrap_or(now);
        let conference_room = NewConferenceRoom {
            audience: audience.clone(),
            start: conference_start,
            reserve,
            tags: tags.cloned(),
            classroom_id: id,
        };
        let (event, conference) = futures::join!(
            self.ports.events.create(&event_room),
            self.ports.conferences.create(&conference_room),
        );
        match (event, conference) {
            (Ok(event), Ok(conference)) => Ok(Rooms {
                event: RoomRef {
                    id: event,
                    start: Some(now),
                },
                conference: RoomRef {
                    id: conference,
                    start: Some(conference_start),
                },
            }),
            (Ok(event), Err(e)) => {
                self.close_event_room(event, Some(now)).await;
                Err(Error::upstream(UpstreamService::Conference, as_failure(e)))
            }
            (Err(e), Ok(conference)) => {
                self.close_conference_room(conference, Some(conference_start))
                    .await;
                Err(Error::upstream(UpstreamService::Event, as_failure(e)))
            }
            (Err(e), Err(_)) => Err(Error::upstream(UpstreamService::Event, as_failure(e))),
        }
    }

    async fn close_event_room(&self, room: Uuid, last_start: Option<i64>) {
        let update = EventRoomUpdate {
            time: Some(RoomTime::closing(last_start, self.ports.clock.now())),
            classroom_id: None,
        };
        if let Err(e) = self.ports.events.update(room, &update).await {
            warn!(error = %e, event_room.id = %room, "could not close event room");
        }
    }

    async fn close_conference_room(&self, room: Uuid, last_start: Option<i64>) {
        let update = ConferenceRoomUpdate {
            time: Some(RoomTime::closing(last_start, self.ports.clock.now())),
            ..ConferenceRoomUpdate::default()
        };
        if let Err(e) = self.ports.conferences.update(room, &update).await {
            warn!(error = %e, conference_room.id = %room, "could not close conference room");
        }
    }

    async fn close_rooms(&self, rooms: Rooms) {
        futures::join!(
            self.close_event_room(rooms.event.id, rooms.event.start),
            self.close_conference_room(rooms.conference.id, rooms.conference.start),
        );
    }

    async fn lock_chat(&self, room: Uuid) {
        if let Err(e) = self
            .ports
            .events
            .create_event(room, &NewEvent::lock_chat())
            .await
        {
            warn!(error = %e, event_room.id = %room, "could not lock the chat");
        }
    }
}

fn upstream_result<T>(service: UpstreamService, r: Result<T, UpstreamError>) -> Result<T, Error> {
    r.map_err(|e| Error::upstream(service, as_failure(e)))
}

/// Only event creation surfaces an upstream 4xx as "rejected"; for every
/// other call it is a plain failure.
fn as_failure(e: UpstreamError) -> UpstreamError {
    match e {
        UpstreamError::Rejected { status, reason } => {
            UpstreamError::Failed(format!("rejected with {status}: {reason}"))
        }
        other => other,
    }
}

#[async_trait]
impl Minigroups for Service {
    #[instrument(skip_all, fields(audience = %req.audience, scope = %req.scope))]
    async fn create(&self, caller: &AccountId, req: CreateMinigroup) -> Result<Minigroup, Error> {
        let object = AuthzObject {
            audience: req.audience.clone(),
            scope: req.scope.clone(),
            host: Some(req.host.clone()),
        };
        self.authorize(caller, Action::Create, &object).await?;

        let now = self.ports.clock.now();
        let reservation = Reservation {
            id: MinigroupId::random(),
            audience: req.audience,
            scope: req.scope,
            time: req.time,
            tags: req.tags,
            reserve: req.reserve,
            host: Some(req.host),
            created_at: now,
        };
        let id = reservation.id;
        self.ports
            .repo
            .reserve(&reservation, now - self.reservation_ttl_secs)
            .await?;

        let rooms = match self
            .create_rooms(
                id,
                &reservation.audience,
                reservation.time,
                reservation.tags.as_ref(),
                reservation.reserve,
            )
            .await
        {
            Ok(rooms) => rooms,
            Err(e) => {
                if let Err(release) = self.ports.repo.release(id).await {
                    warn!(error = %release, minigroup.id = %id, "could not release the reservation");
                }
                return Err(e);
            }
        };

        // The chat lock needs only the event room, so it overlaps with
        // storing the rooms; should establishing fail, the rooms are closed
        // anyway and the lock did no harm.
        let lock = async {
            if req.locked_chat {
                self.lock_chat(rooms.event.id).await;
            }
        };
        let (established, ()) = futures::join!(self.ports.repo.establish(id, rooms), lock);
        let minigroup = match established {
            Ok(m) => m,
            Err(e) => {
                self.close_rooms(rooms).await;
                return Err(match e {
                    RepoError::NotFound | RepoError::Conflict => Error::Exists,
                    RepoError::Unavailable(s) => {
                        if let Err(release) = self.ports.repo.release(id).await {
                            warn!(error = %release, minigroup.id = %id, "could not release the reservation");
                        }
                        Error::Unavailable(s)
                    }
                });
            }
        };
        Ok(minigroup)
    }

    #[instrument(skip_all)]
    async fn read(&self, caller: &AccountId, key: MinigroupKey) -> Result<Minigroup, Error> {
        self.find_authorized(caller, &key, Action::Read).await
    }

    #[instrument(skip_all)]
    async fn update(
        &self,
        caller: &AccountId,
        key: MinigroupKey,
        req: UpdateMinigroup,
    ) -> Result<Minigroup, Error> {
        if req.is_empty() {
            return Err(ValidationError::NothingToDo {
                fields: "time, reserve, host",
            }
            .into());
        }
        let m = self.find_authorized(caller, &key, Action::Update).await?;
        let now = self.ports.clock.now();

        let event_update = req.time.map(|_| EventRoomUpdate {
            time: Some(RoomTime {
                start: Some(now),
                end: None,
            }),
            classroom_id: None,
        });
        let conference_update = ConferenceRoomUpdate {
            time: req.time.map(RoomTime::from),
            reserve: req.reserve,
            classroom_id: None,
            host: req.host.clone(),
        };
        let event_leg = async {
            match &event_update {
                Some(u) => upstream_result(
                    UpstreamService::Event,
                    self.ports.events.update(m.rooms.event.id, u).await,
                ),
                None => Ok(()),
            }
        };
        let conference_leg = async {
            upstream_result(
                UpstreamService::Conference,
                self.ports
                    .conferences
                    .update(m.rooms.conference.id, &conference_update)
                    .await,
            )
        };
        let (event, conference) = futures::join!(event_leg, conference_leg);
        event?;
        conference?;

        let changes = MinigroupChanges {
            time: req.time,
            reserve: req.reserve,
            host: req.host,
            event_room_start: req.time.map(|_| Some(now)),
            conference_room_start: req.time.map(|t| t.start()),
        };
        Ok(self.ports.repo.update(m.id, &changes).await?)
    }

    #[instrument(skip_all, fields(minigroup.id = %id))]
    async fn create_event(
        &self,
        caller: &AccountId,
        id: MinigroupId,
        event: NewEvent,
    ) -> Result<(), Error> {
        let m = self
            .find_authorized(caller, &MinigroupKey::Id(id), Action::Update)
            .await?;
        self.ports
            .events
            .create_event(m.rooms.event.id, &event)
            .await
            .map_err(|e| Error::upstream(UpstreamService::Event, e))
    }

    #[instrument(skip_all, fields(minigroup.id = %id))]
    async fn recreate(
        &self,
        caller: &AccountId,
        id: MinigroupId,
        req: RecreateMinigroup,
    ) -> Result<Minigroup, Error> {
        let m = self
            .find_authorized(caller, &MinigroupKey::Id(id), Action::Update)
            .await?;
        let time = req.time.unwrap_or(m.time);
        let rooms = self
            .create_rooms(m.id, &m.audience, time, m.tags.as_ref(), m.reserve)
            .await?;
        let updated = match self.ports.repo.replace_rooms(m.id, rooms, time).await {
            Ok(updated) => updated,
            Err(e) => {
                self.close_rooms(rooms).await;
                return Err(e.into());
            }
        };
        self.close_rooms(m.rooms).await;
        if req.locked_chat {
            self.lock_chat(updated.rooms.event.id).await;
        }
        Ok(updated)
    }

    #[instrument(skip_all, fields(minigroup.id = %id))]
    async fn download(&self, caller: &AccountId, id: MinigroupId) -> Result<String, Error> {
        let m = self
            .find_authorized(caller, &MinigroupKey::Id(id), Action::Download)
            .await?;
        upstream_result(
            UpstreamService::Storage,
            self.ports.storage.source_url(&m.audience, &m.scope).await,
        )?
        .ok_or(Error::RecordingNotFound)
    }

    async fn ready(&self) -> Result<(), Error> {
        Ok(self.ports.repo.ping().await?)
    }
}

#[cfg(test)]
mod tests;
