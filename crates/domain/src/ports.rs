//! The ports: what the use cases need from the outside world.
//!
//! Every port is an `async_trait` object-safe trait, so adapters are chosen at
//! run time, and carries a `mockall` mock (`MockX`) under `cfg(test)` or the
//! `mocks` feature.

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::{AuthzError, RepoError, UpstreamError};
use crate::model::{
    Action, AuthzObject, ConferenceRoomUpdate, EventRoomUpdate, Minigroup, MinigroupChanges,
    NewConferenceRoom, NewEvent, NewEventRoom, Reservation, Rooms,
};
use crate::values::{AccountId, Audience, MinigroupId, Scope, TimeRange};

/// Where minigroups are stored. Only *established* minigroups are visible to
/// the `find_*`, `update` and `replace_rooms` methods; a reservation is not.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MinigroupRepository: Send + Sync {
    /// Stores `r` as a pending minigroup, in one statement guarded by the
    /// database's uniqueness of (audience, scope). A pending reservation of
    /// the same pair made before `stale_before` (unix seconds) is taken over.
    ///
    /// # Errors
    /// MUST return [`RepoError::Conflict`] when the pair belongs to an
    /// established minigroup or to a pending one made at or after
    /// `stale_before`; [`RepoError::Unavailable`] when the database fails.
    async fn reserve(&self, r: &Reservation, stale_before: i64) -> Result<(), RepoError>;

    /// Stores the rooms of the pending minigroup `id` and makes it visible.
    ///
    /// # Errors
    /// MUST return [`RepoError::NotFound`] when `id` is not pending any more
    /// (its reservation was taken over or released).
    async fn establish(&self, id: MinigroupId, rooms: Rooms) -> Result<Minigroup, RepoError>;

    /// Deletes the pending minigroup `id`; does nothing if it is not pending.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when the database fails.
    async fn release(&self, id: MinigroupId) -> Result<(), RepoError>;

    /// The established minigroup with this id.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when the database fails.
    async fn find_by_id(&self, id: MinigroupId) -> Result<Option<Minigroup>, RepoError>;

    /// The established minigroup with this audience and scope.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when the database fails.
    async fn find_by_scope(
        &self,
        audience: &Audience,
        scope: &Scope,
    ) -> Result<Option<Minigroup>, RepoError>;

    /// Applies `changes` (only the fields that are `Some`) and returns the
    /// updated minigroup.
    ///
    /// # Errors
    /// MUST return [`RepoError::NotFound`] when no established minigroup has
    /// this id.
    async fn update(
        &self,
        id: MinigroupId,
        changes: &MinigroupChanges,
    ) -> Result<Minigroup, RepoError>;

    /// Replaces both rooms and the time in one transaction and returns the
    /// updated minigroup.
    ///
    /// # Errors
    /// MUST return [`RepoError::NotFound`] when no established minigroup has
    /// this id.
    async fn replace_rooms(
        &self,
        id: MinigroupId,
        rooms: Rooms,
        time: TimeRange,
    ) -> Result<Minigroup, RepoError>;

    /// Checks that the database answers.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when it does not.
    async fn ping(&self) -> Result<(), RepoError>;
}

/// The event service: event rooms and their events.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventRooms: Send + Sync {
    /// Creates an event room and returns its id.
    ///
    /// # Errors
    /// [`UpstreamError`]: `Timeout` on timeout, `Failed` otherwise.
    async fn create(&self, room: &NewEventRoom) -> Result<Uuid, UpstreamError>;

    /// Updates an event room.
    ///
    /// # Errors
    /// [`UpstreamError`]: `Timeout` on timeout, `Failed` otherwise.
    async fn update(&self, room: Uuid, update: &EventRoomUpdate) -> Result<(), UpstreamError>;

    /// Creates an event in an event room.
    ///
    /// # Errors
    /// MUST return [`UpstreamError::Rejected`] with the service's reason when
    /// it answers 4xx; `Timeout` on timeout, `Failed` otherwise.
    async fn create_event(&self, room: Uuid, event: &NewEvent) -> Result<(), UpstreamError>;
}

/// The conference service: audio/video rooms.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ConferenceRooms: Send + Sync {
    /// Creates a conference room and returns its id.
    ///
    /// # Errors
    /// [`UpstreamError`]: `Timeout` on timeout, `Failed` otherwise.
    async fn create(&self, room: &NewConferenceRoom) -> Result<Uuid, UpstreamError>;

    /// Updates a conference room.
    ///
    /// # Errors
    /// [`UpstreamError`]: `Timeout` on timeout, `Failed` otherwise.
    async fn update(&self, room: Uuid, update: &ConferenceRoomUpdate) -> Result<(), UpstreamError>;
}

/// The storage service, which holds recordings.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Storage: Send + Sync {
    /// The download URL of the minigroup's source file, `None` when absent.
    ///
    /// # Errors
    /// [`UpstreamError`]: `Timeout` on timeout, `Failed` on any answer other
    /// than present or absent.
    async fn source_url(
        &self,
        audience: &Audience,
        scope: &Scope,
    ) -> Result<Option<String>, UpstreamError>;
}

/// Decides which account may do what.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Authorizer: Send + Sync {
    /// Allows or denies `account` doing `action` on `object`.
    ///
    /// # Errors
    /// MUST return [`AuthzError::Denied`] when the action is not allowed.
    async fn authorize(
        &self,
        account: &AccountId,
        action: Action,
        object: &AuthzObject,
    ) -> Result<(), AuthzError>;
}

/// The current time.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in unix seconds.
    fn now(&self) -> i64;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}
