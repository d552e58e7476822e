//! The OpenAPI 3.1 document of the service, generated from the code with
//! `utoipa` and served at `GET /api/v1/openapi.json`
//! ([`crate::routes::OPENAPI_PATH`]).
//!
//! Operations come from the `#[utoipa::path]` attributes of the handlers,
//! schemas from the `ToSchema` derives of the wire types ([`crate::dto`],
//! [`Problem`]), error answers from one reusable `application/problem+json`
//! response per status (with an example for each [`ProblemKind`] it can
//! carry), and the bearer-JWT security scheme (`bearer_jwt`) from
//! [`ApiDoc`]'s modifier. The document also describes `GET /metrics`, which
//! the app serves (see [`crate::routes::APP_ROUTES`]).
//!
//! The tests check that the document and [`crate::routes::ROUTES`] (which
//! [`crate::configure`] registers) list the same operations.

use std::sync::OnceLock;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::dto::{
    CreateBody, DownloadBody, EmptyBody, EventBody, MinigroupBody, RealTimeBody, RecreateBody,
    StatusBody, UpdateBody,
};
use crate::error::{Problem, ProblemKind, PROBLEM_JSON};

/// The name of the bearer-JWT security scheme in the document.
pub const SECURITY_SCHEME: &str = "bearer_jwt";

const DESCRIPTION: &str = "\
Minigroups: small online lessons, each with an event room (chat and \
collaborative events) and a conference room (audio/video) kept in step with \
it.\n\n\
Every `/api/v1/minigroups` and `/api/v1/audiences` route requires \
`Authorization: Bearer <JWT>`; the caller's account id is `{sub}.{aud}`. \
`/healthz`, `/readyz`, `/metrics` and this document need no token.\n\n\
Request bodies are JSON objects (`Content-Type: application/json`) of at \
most 64 KiB; unknown fields are rejected. Every error is \
`application/problem+json` `{type, title, status, detail}`. Besides the \
answers listed per operation, any path answers `404 not_found` when no route \
matches it and `405 method_not_allowed` (with `Allow`) when the path exists \
but the method does not (responses `NoRoute` and `MethodNotAllowed`). Every \
answer carries `X-Request-Id`.";

/// The document's root: operations, schemas, responses, tags and the
/// security scheme.
#[derive(OpenApi)]
#[openapi(
    info(title = "minigroup", description = DESCRIPTION),
    paths(
        crate::handlers::create,
        crate::handlers::read_by_id,
        crate::handlers::read_by_scope,
        crate::handlers::update_by_id,
        crate::handlers::update_by_scope,
        crate::handlers::create_event,
        crate::handlers::recreate,
        crate::handlers::download,
        crate::handlers::healthz,
        crate::handlers::readyz,
        crate::handlers::openapi,
        metrics,
    ),
    components(
        schemas(
            CreateBody,
            UpdateBody,
            EventBody,
            RecreateBody,
            MinigroupBody,
            RealTimeBody,
            DownloadBody,
            EmptyBody,
            StatusBody,
            Problem,
        ),
        responses(
            InvalidPayload,
            AuthenticationFailed,
            AccessDenied,
            MinigroupNotFound,
            MinigroupOrRecordingNotFound,
            NoRoute,
            MethodNotAllowed,
            MinigroupExists,
            PayloadTooLarge,
            UpstreamRejected,
            Internal,
            UpstreamFailed,
            DatabaseUnavailable,
            UpstreamTimeout,
        ),
    ),
    modifiers(&BearerJwt, &OptionalBodies),
    tags(
        (name = "minigroups", description = "Minigroups and their rooms (bearer token required)."),
        (name = "operations", description = "Probes, metrics and this document (no token)."),
    ),
)]
pub struct ApiDoc;

/// Adds the `bearer_jwt` security scheme that the `/api/v1` operations
/// require.
struct BearerJwt;

impl Modify for BearerJwt {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SECURITY_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT signed with the configured algorithm (HS256, RS256 or ES256); \
                         `exp` is required, `aud` is a string or a one-element array, `iss` \
                         must match when an issuer is configured. Failures answer \
                         `401 authentication_failed` with `WWW-Authenticate: Bearer`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Marks the request body of the operations listed in [`OPTIONAL_BODIES`]
/// as optional (`utoipa` makes a body optional only through an `Option`
/// schema, which would wrongly admit a JSON `null`).
struct OptionalBodies;

/// The operations (by `operationId`) whose body may be left out.
const OPTIONAL_BODIES: &[&str] = &["recreate"];

impl Modify for OptionalBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.post, &mut item.put].into_iter().flatten() {
                let optional = operation
                    .operation_id
                    .as_deref()
                    .is_some_and(|id| OPTIONAL_BODIES.contains(&id));
                if let (true, Some(RefOr::T(body))) = (optional, operation.request_body.as_mut()) {
                    body.required = Some(utoipa::openapi::Required::False);
                }
            }
        }
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as JSON, built once; `None` if it could not be serialized
/// (which would be a bug).
pub fn json() -> Option<&'static str> {
    static JSON: OnceLock<Option<String>> = OnceLock::new();
    JSON.get_or_init(|| document().to_json().ok()).as_deref()
}

/// `GET /metrics`, served by the app, documented here.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    description = "The service's metrics in the Prometheus text exposition format. Served by \
                   the app, outside this crate's middleware; no token.",
    responses(
        (status = 200, description = "The metrics", body = String, content_type = "text/plain"),
    ),
)]
#[allow(dead_code, reason = "documents a route the app serves; never called")]
fn metrics() {}

// --- schemas -------------------------------------------------------------

fn time_array(nullable: bool) -> Schema {
    let item = ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .description(Some("Unix seconds, or `null` for unbounded"));
    let ty = if nullable {
        SchemaType::from_iter([Type::Array, Type::Null])
    } else {
        SchemaType::new(Type::Array)
    };
    let description = if nullable {
        "`[start, end]` in unix seconds, either `null` (unbounded); when both are set, \
         `start < end`. `null` for the whole field counts as absent."
    } else {
        "`[start, end]` in unix seconds, either `null` (unbounded); when both are set, \
         `start < end`."
    };
    ArrayBuilder::new()
        .schema_type(ty)
        .items(item)
        .min_items(Some(2))
        .max_items(Some(2))
        .description(Some(description))
        .examples([
            serde_json::json!([1_767_261_600, 1_767_265_200]),
            serde_json::json!([1_767_261_600, null]),
        ])
        .into()
}

/// `time`: an array of exactly two nullable int64.
pub(crate) fn time_schema() -> Schema {
    time_array(false)
}

/// `time` where an explicit `null` counts as absent.
pub(crate) fn nullable_time_schema() -> Schema {
    time_array(true)
}

/// The `type` member of a problem: one of the kinds.
pub(crate) fn problem_type_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ProblemKind::ALL.iter().map(ProblemKind::as_str)))
        .description(Some("The problem kind"))
        .examples(["minigroup_not_found"])
        .into()
}

// --- problem responses ---------------------------------------------------

/// When a problem of `kind` is answered.
fn when(kind: ProblemKind) -> &'static str {
    match kind {
        ProblemKind::InvalidPayload => {
            "a malformed body (wrong Content-Type, bad JSON, unknown field, wrong type, \
             invalid value), a malformed UUID or an invalid path segment"
        }
        ProblemKind::AuthenticationFailed => {
            "the bearer token is missing, malformed, expired or badly signed"
        }
        ProblemKind::AccessDenied => "the caller may not do this to this minigroup",
        ProblemKind::MinigroupNotFound => "no (established) minigroup has this id or pair",
        ProblemKind::RecordingNotFound => "the minigroup has no recording",
        ProblemKind::NotFound => "no route matches the path",
        ProblemKind::MethodNotAllowed => {
            "the path exists but not with this method; `Allow` lists the methods"
        }
        ProblemKind::MinigroupExists => {
            "the audience/scope pair belongs to another minigroup, or to a create in progress"
        }
        ProblemKind::PayloadTooLarge => "the body is over 64 KiB",
        ProblemKind::UpstreamRejected => {
            "the event service rejected the event with a 4xx; `detail` is its reason"
        }
        ProblemKind::Internal => "the use case failed unexpectedly",
        ProblemKind::UpstreamFailed => {
            "the event, conference or storage service failed or answered unexpectedly"
        }
        ProblemKind::DatabaseUnavailable => "the database does not answer",
        ProblemKind::UpstreamTimeout => "an upstream service did not answer in time",
    }
}

/// An example `detail` for `kind`.
fn sample_detail(kind: ProblemKind) -> &'static str {
    match kind {
        ProblemKind::InvalidPayload => "time[0]: invalid type: string \"1\", expected i64",
        ProblemKind::AuthenticationFailed => "the token has expired",
        ProblemKind::AccessDenied => "alice.usr.example.org may not update this minigroup",
        ProblemKind::MinigroupNotFound => "minigroup not found",
        ProblemKind::RecordingNotFound => "the minigroup has no recording",
        ProblemKind::NotFound => "no route for /api/v1/unknown",
        ProblemKind::MethodNotAllowed => "method DELETE is not allowed here; allowed: GET, PUT",
        ProblemKind::MinigroupExists => "a minigroup with this audience and scope exists",
        ProblemKind::PayloadTooLarge => "the request body must be at most 65536 bytes",
        ProblemKind::UpstreamRejected => "room is closed",
        ProblemKind::Internal => "an internal error occurred",
        ProblemKind::UpstreamFailed => "the conference service failed",
        ProblemKind::DatabaseUnavailable => "the database is unavailable",
        ProblemKind::UpstreamTimeout => "the event service did not answer in time",
    }
}

/// A problem+json response carrying any of `kinds` (all of one status).
fn problem_response(kinds: &[ProblemKind]) -> Response {
    let description = kinds
        .iter()
        .map(|k| format!("`{}`: {}", k.as_str(), when(*k)))
        .collect::<Vec<_>>()
        .join("; ");
    let examples = kinds.iter().map(|k| {
        let problem = crate::ApiError::new(*k, sample_detail(*k)).problem();
        (
            k.as_str(),
            ExampleBuilder::new()
                .summary(k.title())
                .value(serde_json::to_value(problem).ok())
                .build(),
        )
    });
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .examples_from_iter(examples)
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, content);
    if kinds.contains(&ProblemKind::AuthenticationFailed) {
        response = response.header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .examples(["Bearer"]),
                ))
                .description(Some("Always `Bearer`"))
                .build(),
        );
    }
    if kinds.contains(&ProblemKind::MethodNotAllowed) {
        response = response.header(
            "Allow",
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .examples(["GET, PUT"]),
                ))
                .description(Some("The methods the path is served at"))
                .build(),
        );
    }
    response.build()
}

/// Declares reusable problem responses (`#/components/responses/<Name>`).
macro_rules! problem_responses {
    ($($(#[$doc:meta])* $name:ident => [$($kind:ident),+];)+) => {$(
        $(#[$doc])*
        pub(crate) struct $name;

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (
                    stringify!($name),
                    problem_response(&[$(ProblemKind::$kind),+]).into(),
                )
            }
        }
    )+};
}

problem_responses! {
    /// 400.
    InvalidPayload => [InvalidPayload];
    /// 401.
    AuthenticationFailed => [AuthenticationFailed];
    /// 403.
    AccessDenied => [AccessDenied];
    /// 404, by id or pair.
    MinigroupNotFound => [MinigroupNotFound];
    /// 404 of the download route.
    MinigroupOrRecordingNotFound => [MinigroupNotFound, RecordingNotFound];
    /// 404 of any unrouted path.
    NoRoute => [NotFound];
    /// 405 of any routed path.
    MethodNotAllowed => [MethodNotAllowed];
    /// 409.
    MinigroupExists => [MinigroupExists];
    /// 413.
    PayloadTooLarge => [PayloadTooLarge];
    /// 422.
    UpstreamRejected => [UpstreamRejected];
    /// 500.
    Internal => [Internal];
    /// 502.
    UpstreamFailed => [UpstreamFailed];
    /// 503.
    DatabaseUnavailable => [DatabaseUnavailable];
    /// 504.
    UpstreamTimeout => [UpstreamTimeout];
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::ToResponse;

    #[test]
    fn all_lists_every_kind_once_in_declaration_order() {
        for (i, kind) in ProblemKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i, "{kind}");
        }
        assert_eq!(
            ProblemKind::ALL
                .iter()
                .filter(|k| k.is_contractual())
                .count(),
            11
        );
    }

    #[test]
    fn problem_responses_are_inline_problem_json() {
        for (name, response) in [
            MinigroupOrRecordingNotFound::response(),
            AuthenticationFailed::response(),
            MethodNotAllowed::response(),
        ] {
            let RefOr::T(response) = response else {
                panic!("{name}: inline response expected");
            };
            assert!(response.content.contains_key(PROBLEM_JSON), "{name}");
        }
    }

    #[test]
    fn the_document_serializes() {
        assert!(json().is_some_and(|j| j.starts_with('{')));
    }
}
