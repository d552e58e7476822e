//! `application/problem+json` errors (contract §7).

use std::borrow::Cow;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use domain::{Error, UpstreamError};
use serde::Serialize;

use crate::auth::AuthError;

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The contract's problem kinds, plus this crate's additions
/// (`not_found`, `method_not_allowed`, `payload_too_large`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// `invalid_payload`, 400.
    InvalidPayload,
    /// `authentication_failed`, 401.
    AuthenticationFailed,
    /// `access_denied`, 403.
    AccessDenied,
    /// `minigroup_not_found`, 404.
    MinigroupNotFound,
    /// `recording_not_found`, 404.
    RecordingNotFound,
    /// `not_found`, 404: no such route (addition).
    NotFound,
    /// `method_not_allowed`, 405: the route exists, the method does not
    /// (addition).
    MethodNotAllowed,
    /// `minigroup_exists`, 409.
    MinigroupExists,
    /// `payload_too_large`, 413: body over 64 KiB (addition).
    PayloadTooLarge,
    /// `upstream_rejected`, 422.
    UpstreamRejected,
    /// `internal`, 500.
    Internal,
    /// `upstream_failed`, 502.
    UpstreamFailed,
    /// `database_unavailable`, 503.
    DatabaseUnavailable,
    /// `upstream_timeout`, 504.
    UpstreamTimeout,
}

impl ProblemKind {
    /// Every kind, in declaration order (by status).
    pub const ALL: [ProblemKind; 14] = [
        ProblemKind::InvalidPayload,
        ProblemKind::AuthenticationFailed,
        ProblemKind::AccessDenied,
        ProblemKind::MinigroupNotFound,
        ProblemKind::RecordingNotFound,
        ProblemKind::NotFound,
        ProblemKind::MethodNotAllowed,
        ProblemKind::MinigroupExists,
        ProblemKind::PayloadTooLarge,
        ProblemKind::UpstreamRejected,
        ProblemKind::Internal,
        ProblemKind::UpstreamFailed,
        ProblemKind::DatabaseUnavailable,
        ProblemKind::UpstreamTimeout,
    ];

    /// The kinds contract §7 defines (every kind but this crate's additions
    /// `not_found`, `method_not_allowed` and `payload_too_large`).
    pub fn is_contractual(&self) -> bool {
        !matches!(
            self,
            ProblemKind::NotFound | ProblemKind::MethodNotAllowed | ProblemKind::PayloadTooLarge
        )
    }

    /// The `type` member of the problem.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProblemKind::InvalidPayload => "invalid_payload",
            ProblemKind::AuthenticationFailed => "authentication_failed",
            ProblemKind::AccessDenied => "access_denied",
            ProblemKind::MinigroupNotFound => "minigroup_not_found",
            ProblemKind::RecordingNotFound => "recording_not_found",
            ProblemKind::NotFound => "not_found",
            ProblemKind::MethodNotAllowed => "method_not_allowed",
            ProblemKind::MinigroupExists => "minigroup_exists",
            ProblemKind::PayloadTooLarge => "payload_too_large",
            ProblemKind::UpstreamRejected => "upstream_rejected",
            ProblemKind::Internal => "internal",
            ProblemKind::UpstreamFailed => "upstream_failed",
            ProblemKind::DatabaseUnavailable => "database_unavailable",
            ProblemKind::UpstreamTimeout => "upstream_timeout",
        }
    }

    /// The `title` member of the problem.
    pub fn title(&self) -> &'static str {
        match self {
            ProblemKind::InvalidPayload => "Invalid payload",
            ProblemKind::AuthenticationFailed => "Authentication failed",
            ProblemKind::AccessDenied => "Access denied",
            ProblemKind::MinigroupNotFound => "Minigroup not found",
            ProblemKind::RecordingNotFound => "Recording not found",
            ProblemKind::NotFound => "Not found",
            ProblemKind::MethodNotAllowed => "Method not allowed",
            ProblemKind::MinigroupExists => "Minigroup exists",
            ProblemKind::PayloadTooLarge => "Payload too large",
            ProblemKind::UpstreamRejected => "Upstream rejected the request",
            ProblemKind::Internal => "Internal error",
            ProblemKind::UpstreamFailed => "Upstream failed",
            ProblemKind::DatabaseUnavailable => "Database unavailable",
            ProblemKind::UpstreamTimeout => "Upstream timeout",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ProblemKind::InvalidPayload => StatusCode::BAD_REQUEST,
            ProblemKind::AuthenticationFailed => StatusCode::UNAUTHORIZED,
            ProblemKind::AccessDenied => StatusCode::FORBIDDEN,
            ProblemKind::MinigroupNotFound
            | ProblemKind::RecordingNotFound
            | ProblemKind::NotFound => StatusCode::NOT_FOUND,
            ProblemKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemKind::MinigroupExists => StatusCode::CONFLICT,
            ProblemKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::UpstreamRejected => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ProblemKind::UpstreamFailed => StatusCode::BAD_GATEWAY,
            ProblemKind::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ProblemKind::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error answer (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "minigroup_not_found",
    "title": "Minigroup not found",
    "status": 404,
    "detail": "minigroup not found"
}))]
pub struct Problem {
    /// The kind, e.g. `invalid_payload`.
    #[serde(rename = "type")]
    #[schema(schema_with = crate::openapi::problem_type_schema)]
    pub kind: &'static str,
    /// A human title for the kind.
    #[schema(value_type = String, example = "Minigroup not found")]
    pub title: &'static str,
    /// The HTTP status.
    #[schema(minimum = 400, maximum = 599, example = 404)]
    pub status: u16,
    /// What went wrong, for the client.
    #[schema(example = "minigroup not found")]
    pub detail: String,
}

/// An error answer: a problem kind, a client-facing detail and, for logs
/// only, the underlying cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    kind: ProblemKind,
    detail: String,
    cause: Option<String>,
    allow: Option<Cow<'static, str>>,
}

impl ApiError {
    /// An error of `kind` with `detail` shown to the client.
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            cause: None,
            allow: None,
        }
    }

    /// Adds a cause that is logged but never shown to the client.
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// `invalid_payload` with `detail`.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::InvalidPayload, detail)
    }

    /// `internal` with a generic detail; `cause` goes to the log only.
    pub fn internal(cause: impl Into<String>) -> Self {
        Self::new(ProblemKind::Internal, "an internal error occurred").with_cause(cause)
    }

    /// `authentication_failed` for `e` (its text never contains the token).
    pub fn unauthenticated(e: &AuthError) -> Self {
        Self::new(ProblemKind::AuthenticationFailed, e.to_string())
    }

    /// `payload_too_large` for a body over `limit` bytes.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            ProblemKind::PayloadTooLarge,
            format!("the request body must be at most {limit} bytes"),
        )
    }

    /// `not_found`: no route for this path.
    pub fn no_route(path: &str) -> Self {
        Self::new(ProblemKind::NotFound, format!("no route for {path}"))
    }

    /// `method_not_allowed`, answered with an `Allow` header listing `allow`.
    pub fn method_not_allowed(method: &str, allow: impl Into<Cow<'static, str>>) -> Self {
        let allow = allow.into();
        let mut e = Self::new(
            ProblemKind::MethodNotAllowed,
            format!("method {method} is not allowed here; allowed: {allow}"),
        );
        e.allow = Some(allow);
        e
    }

    /// The problem kind.
    pub fn kind(&self) -> ProblemKind {
        self.kind
    }

    /// The client-facing detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The problem body.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: self.kind.as_str(),
            title: self.kind.title(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
        }
    }

    fn log(&self) {
        let kind = self.kind.as_str();
        let status = self.kind.status().as_u16();
        let cause = self.cause.as_deref().unwrap_or(&self.detail);
        if self.kind.status().is_server_error() {
            tracing::error!(problem.kind = kind, http.status_code = status, error.cause = %cause, "request failed");
        } else {
            tracing::info!(
                problem.kind = kind,
                http.status_code = status,
                error.detail = %self.detail,
                error.cause = self.cause.as_deref(),
                "request rejected"
            );
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind.status()
    }

    /// Renders the problem and logs the error once: `error!` with the cause
    /// for 5xx, `info!` for 4xx.
    fn error_response(&self) -> HttpResponse {
        self.log();
        let mut res = HttpResponse::build(self.kind.status());
        res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if self.kind == ProblemKind::AuthenticationFailed {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(allow) = &self.allow {
            res.insert_header((header::ALLOW, allow.as_ref()));
        }
        let body = serde_json::to_string(&self.problem()).unwrap_or_else(|_| {
            r#"{"type":"internal","title":"Internal error","status":500,"detail":"an internal error occurred"}"#
                .to_owned()
        });
        res.body(body)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(v) => ApiError::invalid(v.to_string()),
            Error::Denied { .. } => ApiError::new(ProblemKind::AccessDenied, e.to_string()),
            Error::NotFound => ApiError::new(ProblemKind::MinigroupNotFound, "minigroup not found"),
            Error::RecordingNotFound => ApiError::new(
                ProblemKind::RecordingNotFound,
                "the minigroup has no recording",
            ),
            Error::Exists => ApiError::new(ProblemKind::MinigroupExists, e.to_string()),
            Error::Upstream { service, source } => match source {
                UpstreamError::Rejected { status, reason } => {
                    ApiError::new(ProblemKind::UpstreamRejected, reason)
                        .with_cause(format!("{service} service rejected with {status}"))
                }
                UpstreamError::Timeout => ApiError::new(
                    ProblemKind::UpstreamTimeout,
                    format!("the {service} service did not answer in time"),
                )
                .with_cause(format!("{service} service timed out")),
                UpstreamError::Failed(cause) => ApiError::new(
                    ProblemKind::UpstreamFailed,
                    format!("the {service} service failed"),
                )
                .with_cause(format!("{service} service: {cause}")),
            },
            Error::Unavailable(cause) => ApiError::new(
                ProblemKind::DatabaseUnavailable,
                "the database is unavailable",
            )
            .with_cause(cause),
        }
    }
}
