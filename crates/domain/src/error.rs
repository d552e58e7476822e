//! Errors of the ports and of the use cases.

use crate::values::ValidationError;

/// Errors of [`crate::ports::MinigroupRepository`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    /// No such (established) minigroup, or the reservation is gone.
    #[error("not found")]
    NotFound,
    /// The audience+scope pair is taken.
    #[error("audience and scope are taken")]
    Conflict,
    /// The database could not be reached or failed; the text is for logs only.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

/// Errors of the event, conference and storage ports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The service answered 4xx; `reason` is what it said.
    #[error("rejected with {status}: {reason}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The reason the service gave.
        reason: String,
    },
    /// The call did not finish within the timeout.
    #[error("timed out")]
    Timeout,
    /// Any other failure: connection, 5xx, malformed answer.
    #[error("{0}")]
    Failed(String),
}

/// Errors of [`crate::ports::Authorizer`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthzError {
    /// The account may not do the action.
    #[error("access denied")]
    Denied,
    /// The authorizer could not decide.
    #[error("authorization unavailable: {0}")]
    Unavailable(String),
}

/// Which upstream service failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamService {
    /// The event service.
    Event,
    /// The conference service.
    Conference,
    /// The storage service.
    Storage,
}

impl UpstreamService {
    /// The service's name, for messages.
    pub fn as_str(&self) -> &'static str {
        match self {
            UpstreamService::Event => "event",
            UpstreamService::Conference => "conference",
            UpstreamService::Storage => "storage",
        }
    }
}

impl std::fmt::Display for UpstreamService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Errors of the use cases; each maps to one problem kind of the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Bad input (`invalid_payload`, 400).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The caller may not do this (`access_denied`, 403).
    #[error("{account} may not {action} this minigroup")]
    Denied {
        /// The caller.
        account: String,
        /// The action.
        action: &'static str,
    },
    /// No such minigroup (`minigroup_not_found`, 404).
    #[error("minigroup not found")]
    NotFound,
    /// No recording (`recording_not_found`, 404).
    #[error("the minigroup has no recording")]
    RecordingNotFound,
    /// The audience+scope pair is taken (`minigroup_exists`, 409).
    #[error("a minigroup with this audience and scope exists or is being created")]
    Exists,
    /// An upstream call failed (`upstream_rejected` 422, `upstream_failed`
    /// 502, `upstream_timeout` 504).
    #[error("{service} service: {source}")]
    Upstream {
        /// The failing service.
        service: UpstreamService,
        /// What happened.
        source: UpstreamError,
    },
    /// The database is unavailable (`database_unavailable`, 503).
    #[error("database unavailable")]
    Unavailable(String),
}

impl Error {
    /// Wraps an upstream error.
    pub fn upstream(service: UpstreamService, source: UpstreamError) -> Self {
        Self::Upstream { service, source }
    }
}

impl From<RepoError> for Error {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::NotFound => Error::NotFound,
            RepoError::Conflict => Error::Exists,
            RepoError::Unavailable(s) => Error::Unavailable(s),
        }
    }
}
