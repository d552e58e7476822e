//! The minigroup domain: entities, validated values, ports and use cases.
//!
//! Pure: no I/O, no web or database framework. Adapters implement the
//! [`ports`]; inbound adapters call the [`service::Minigroups`] use cases.

pub mod error;
pub mod model;
pub mod policy;
pub mod ports;
pub mod service;
pub mod values;

pub use error::{AuthzError, Error, RepoError, UpstreamError, UpstreamService};
pub use model::*;
pub use policy::BuiltinPolicy;
pub use ports::{
    Authorizer, Clock, ConferenceRooms, EventRooms, MinigroupRepository, Storage, SystemClock,
};
pub use service::{Minigroups, Ports, Service};
pub use values::*;

#[cfg(any(test, feature = "mocks"))]
pub use ports::{
    MockAuthorizer, MockClock, MockConferenceRooms, MockEventRooms, MockMinigroupRepository,
    MockStorage,
};
#[cfg(any(test, feature = "mocks"))]
pub use service::MockMinigroups;
