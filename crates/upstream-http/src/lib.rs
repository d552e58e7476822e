//! The event, conference and storage ports of the domain over HTTP
//! (contract §5).
//!
//! Build one [`UpstreamClient`] from an [`UpstreamConfig`] and hand clones of
//! it to [`HttpEventRooms`], [`HttpConferenceRooms`] and [`HttpStorage`]:
//!
//! ```no_run
//! use std::time::Duration;
//! use upstream_http::{HttpEventRooms, UpstreamClient, UpstreamConfig};
//!
//! let client = UpstreamClient::new(UpstreamConfig {
//!     token: Some("token".into()),
//!     timeout: Duration::from_secs(5),
//! })
//! .expect("client");
//! let events = HttpEventRooms::new("http://127.0.0.1:8081".parse().expect("url"), client);
//! # drop(events);
//! ```
//!
//! Every call sends `Content-Type: application/json` and, when a token is
//! configured, `Authorization: Bearer <token>`. Timeouts become
//! [`domain::UpstreamError::Timeout`]; a 4xx on create-event becomes
//! [`domain::UpstreamError::Rejected`]; everything else that is not the
//! expected answer becomes [`domain::UpstreamError::Failed`]. Each call is
//! traced (`upstream.service`, `upstream.op`, `http.status`, `elapsed_ms`;
//! debug on success, warn on failure) and reported to the optional
//! [`Observer`].

mod adapters;
mod client;
mod endpoint;
mod wire;

pub use adapters::{HttpConferenceRooms, HttpEventRooms, HttpStorage};
pub use client::{
    ClientBuildError, Observer, Outcome, UpstreamClient, UpstreamConfig, MAX_REASON_CHARS,
};
pub use endpoint::{encode_segment, join, SEGMENT};
