//! The route handlers (contract §4).

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::{Audience, MinigroupId, MinigroupKey, Scope};
use tracing::Instrument;

use crate::auth::Caller;
use crate::body;
use crate::dto::{
    CreateBody, DownloadBody, EmptyBody, EventBody, MinigroupBody, RecreateBody, StatusBody,
    UpdateBody,
};
use crate::error::ApiError;
use crate::openapi::{
    AccessDenied, AuthenticationFailed, DatabaseUnavailable, Internal, InvalidPayload,
    MinigroupExists, MinigroupNotFound, MinigroupOrRecordingNotFound, PayloadTooLarge,
    UpstreamFailed, UpstreamRejected, UpstreamTimeout,
};
use crate::ApiState;

type Answer = Result<HttpResponse, ApiError>;

fn minigroup(status: StatusCode, m: &domain::Minigroup) -> HttpResponse {
    HttpResponse::build(status).json(MinigroupBody::from(m))
}

fn minigroup_id(raw: &str) -> Result<MinigroupId, ApiError> {
    MinigroupId::parse(raw).map_err(|e| ApiError::invalid(e.to_string()))
}

fn scope_key(audience: String, scope: String) -> Result<MinigroupKey, ApiError> {
    let audience = Audience::new(audience).map_err(|e| ApiError::invalid(e.to_string()))?;
    let scope = Scope::new(scope).map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok(MinigroupKey::Scope(audience, scope))
}

/// Runs a mutating use case on its own task and waits for it, so that it
/// runs to completion even when the client goes away and this handler's
/// future is dropped.
async fn to_completion<T, F>(use_case: F) -> Result<T, ApiError>
where
    F: Future<Output = Result<T, domain::Error>> + 'static,
    T: 'static,
{
    actix_web::rt::spawn(use_case.in_current_span())
        .await
        .map_err(|e| ApiError::internal(format!("use case task failed: {e}")))?
        .map_err(ApiError::from)
}

/// `POST /api/v1/minigroups`.
#[utoipa::path(
    post,
    path = "/api/v1/minigroups",
    tag = "minigroups",
    summary = "Create a minigroup",
    description = "Validates the body, reserves the audience/scope pair, creates the event and \
                   conference rooms concurrently, stores the minigroup and, if `locked_chat`, \
                   locks the chat. Authorization action: create.",
    security(("bearer_jwt" = [])),
    request_body(content = CreateBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The new minigroup", body = MinigroupBody),
        (status = 400, response = InvalidPayload),
        (status = 401, response = AuthenticationFailed),
        (status = 403, response = AccessDenied),
        (status = 409, response = MinigroupExists),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = Internal),
        (status = 502, response = UpstreamFailed),
        (status = 503, response = DatabaseUnavailable),
        (status = 504, response = UpstreamTimeout),
    ),
)]
pub(crate) async fn create(
    Caller(caller): Caller,
    state: web::Data<ApiState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Answer {
    let input = body::json::<CreateBody>(&req, payload)
        .await?
        .into_domain()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let service = state.service.clone();
    let m = to_completion(async move { service.create(&caller, input).await }).await?;
    Ok(minigroup(StatusCode::CREATED, &m))
}

/// `GET /api/v1/minigroups/{minigroup_id}`.
#[utoipa::path(
    get,
    path = "/api/v1/minigroups/{minigroup_id}",
    tag = "minigroups",
    summary = "Read a minigroup by id",
    description = "Authorization action: read.",
    security(("bearer_jwt" = [])),
    params(("minigroup_id" = uuid::Uuid, Path, description = "The minigroup's `class_id`; a malformed UUID answers 400")),
    responses(
        (status = 200, description = "The minigroup", body = MinigroupBody),
        (status = 400, response = InvalidPayload),
        (status = 401, response = AuthenticationFailed),
        (status = 403, response = AccessDenied),
        (status = 404, response = MinigroupNotFound),
        (status = 503, response = DatabaseUnavailable),
    ),
)]
pub(crate) async fn read_by_id(
    Caller(caller): Caller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> Answer {
    let key = MinigroupKey::Id(minigroup_id(&path)?);
    let m = state.service.read(&caller, key).await?;
    Ok(minigroup(StatusCode::OK, &m))
}

/// `GET /api/v1/audiences/{audience}/minigroups/{scope}`.
#[utoipa::path(
    get,
    path = "/api/v1/audiences/{audience}/minigroups/{scope}",
    tag = "minigroups",
    summary = "Read a minigroup by audience and scope",
    description = "Authorization action: read.",
    security(("bearer_jwt" = [])),
    params(
        ("audience" = String, Path, description = "The audience (percent-decoded)"),
        ("scope" = String, Path, description = "The scope (percent-decoded)"),
    ),
    responses(
        (status = 200, description = "The minigroup", body = MinigroupBody),
        (status = 400, response = InvalidPayload),
        (status = 401, response = AuthenticationFailed),
        (status = 403, response = AccessDenied),
        (status = 404, response = MinigroupNotFound),
        (status = 503, response = DatabaseUnavailable),
    ),
)]
pub(crate) async fn read_by_scope(
    Caller(caller): Caller,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> Answer {
    let (audience, scope) = path.into_inner();
    let key = scope_key(audience, scope)?;
    let m = state.service.read(&caller, key).await?;
    Ok(minigroup(StatusCode::OK, &m))
}

async fn update(
    caller: domain::AccountId,
    state: &ApiState,
    key: MinigroupKey,
    req: &HttpRequest,
    payload: web::Payload,
) -> Answer {
    let input = body::json::<UpdateBody>(req, payload)
        .await?
        .into_domain()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let service = state.service.clone();
    let m = to_completion(async move { service.update(&caller, key, input).await }).await?;
    Ok(minigroup(StatusCode::OK, &m))
}

/// `PUT /api/v1/minigroups/{minigroup_id}`.
#[utoipa::path(
    put,
    path = "/api/v1/minigroups/{minigroup_id}",
    tag = "minigroups",
    summary = "Update a minigroup by id",
    description = "Sends the new time/reserve/host to the affected rooms (concurrently), then \
                   stores and returns the minigroup; on an upstream failure the stored \
                   minigroup is unchanged. Repeating the same PUT is harmless. At least one \
                   field; `null` for any is 400. Authorization action: update.",
    security(("bearer_jwt" = [])),
    params(("minigroup_id" = uuid::Uuid, Path, description = "The minigroup's `class_id`; a malformed UUID answers 400")),
    request_body(content = UpdateBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated minigroup", body = MinigroupBody),
        (status = 400, response = InvalidPayload),
        (status = 401, response = AuthenticationFailed),
        (status = 403, response = AccessDenied),
        (status = 404, response = MinigroupNotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = Internal),
        (status = 502, response = UpstreamFailed),
        (status = 503, response = DatabaseUnavailable),
        (status = 504, response = UpstreamTimeout),
    ),
)]
pub(crate) async fn update_by_id(
    Caller(caller): Caller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Answer {
    let key = MinigroupKey::Id(minigroup_id(&path)?);
    update(caller, &state, key, &req, payload).await
}

/// `PUT /api/v1/audiences/{audience}/minigroups/{scope}`.
#[utoipa::path(
    put,
    path = "/api/v1/audiences/{audience}/minigroups/{scope}",
    tag = "minigroups",
    summary = "Update a minigroup by audience and scope",
    description = "Sends the new time/reserve/host to the affected rooms (concurrently), then \
                   stores and returns the minigroup; on an upstream failure the stored \
                   minigroup is unchanged. Repeating the same PUT is harmless. At least one \
                   field; `null` for any is 400. Authorization action: update.",
    security(("bearer_jwt" = [])),
    params(
        ("audience" = String, Path, description = "The audience (percent-decoded)"),
        ("scope" = String, Path, description = "The scope (percent-decoded)"),
    ),
    request_body(content = UpdateBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated minigroup", body = MinigroupBody),
        (status = 400, response = InvalidPayload),
        (status = 401, response = AuthenticationFailed),
        (status = 403, response = AccessDenied),
        (status = 404, response = MinigroupNotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = Internal),
        (status = 502, response = UpstreamFailed),
        (status = 503, response = DatabaseUnavailable),
        (status = 504, response = UpstreamTimeout),
    ),
)]
pub(crate) async fn update_by_scope(
    Caller(caller): Caller,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> Answer {
    let (audience, scope) = path.into_inner();
    let key = scope_key(audience, scope)?;
    update(caller, &state, key, &req, payload).await
}

/// `POST /api/v1/minigroups/{minigroup_id}/events`.
#[utoipa::path(
    post,
    path = "/api/v1/minigroups/{minigroup_id}/events",
    tag = "minigroups",
    summary = "Create an event in the minigroup's event room",
    description = "Authorization action: update. An event the event service rejects with a \
                   4xx answers 422 with its reason in `detail`.",
    security(("bearer_jwt" = [])),
    params(("minigroup_id" = uuid::Uuid, Path, description = "The minigroup's `class_id`; a malformed UUID answers 400")),
    request_body(content = EventBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The event was created", body = EmptyBody),
        (status = 400, response = InvalidPayload),
        (status = 401, response = AuthenticationFailed),
        (status = 403, response = AccessDenied),
        (status = 404, response = MinigroupNotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = UpstreamRejected),
        (status = 500, response = Internal),
        (status = 502, response = UpstreamFailed),
        (status = 503, response = DatabaseUnavailable),
        (status = 504, response = UpstreamTimeout),
    ),
)]
pub(crate) async fn create_event(
    Caller(caller): Caller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Answer {
    let id = minigroup_id(&path)?;
    let event = body::json::<EventBody>(&req, payload)
        .await?
        .into_domain()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let service = state.service.clone();
    to_completion(async move { service.create_event(&caller, id, event).await }).await?;
    Ok(HttpResponse::Created().json(EmptyBody {}))
}

/// `POST /api/v1/minigroups/{minigroup_id}/recreate`.
#[utoipa::path(
    post,
    path = "/api/v1/minigroups/{minigroup_id}/recreate",
    tag = "minigroups",
    summary = "Recreate the minigroup's rooms",
    description = "Creates a new event room and a new conference room, stores their ids (and \
                   the new time) in one transaction, then closes the old rooms and locks the \
                   chat as create does. The body is optional: none (with any or no \
                   Content-Type), `{}`, or `{time, locked_chat}`. Authorization action: update.",
    security(("bearer_jwt" = [])),
    params(("minigroup_id" = uuid::Uuid, Path, description = "The minigroup's `class_id`; a malformed UUID answers 400")),
    request_body(
        content = RecreateBody,
        content_type = "application/json",
        description = "Optional: none, `{}`, or `{time, locked_chat}`"
    ),
    responses(
        (status = 200, description = "The minigroup with its new rooms", body = MinigroupBody),
        (status = 400, response = InvalidPayload),
        (status = 401, response = AuthenticationFailed),
        (status = 403, response = AccessDenied),
        (status = 404, response = MinigroupNotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = Internal),
        (status = 502, response = UpstreamFailed),
        (status = 503, response = DatabaseUnavailable),
        (status = 504, response = UpstreamTimeout),
    ),
)]
pub(crate) async fn recreate(
    Caller(caller): Caller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Answer {
    let id = minigroup_id(&path)?;
    let input = body::optional_json::<RecreateBody>(&req, payload)
        .await?
        .unwrap_or_default()
        .into_domain()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let service = state.service.clone();
    let m = to_completion(async move { service.recreate(&caller, id, input).await }).await?;
    Ok(minigroup(StatusCode::OK, &m))
}

/// `GET /api/v1/minigroups/{minigroup_id}/download`.
#[utoipa::path(
    get,
    path = "/api/v1/minigroups/{minigroup_id}/download",
    tag = "minigroups",
    summary = "The URL of the minigroup's recording",
    description = "Authorization action: download. A minigroup without a recording answers \
                   404 `recording_not_found`.",
    security(("bearer_jwt" = [])),
    params(("minigroup_id" = uuid::Uuid, Path, description = "The minigroup's `class_id`; a malformed UUID answers 400")),
    responses(
        (status = 200, description = "Where the recording is", body = DownloadBody),
        (status = 400, response = InvalidPayload),
        (status = 401, response = AuthenticationFailed),
        (status = 403, response = AccessDenied),
        (status = 404, response = MinigroupOrRecordingNotFound),
        (status = 502, response = UpstreamFailed),
        (status = 503, response = DatabaseUnavailable),
        (status = 504, response = UpstreamTimeout),
    ),
)]
pub(crate) async fn download(
    Caller(caller): Caller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> Answer {
    let id = minigroup_id(&path)?;
    let url = state.service.download(&caller, id).await?;
    Ok(HttpResponse::Ok().json(DownloadBody { url }))
}

/// `GET /healthz`.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Liveness",
    description = "200 while the process runs. No token.",
    responses((status = 200, description = "The process runs", body = StatusBody)),
)]
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(StatusBody { status: "ok" })
}

/// `GET /readyz`.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Readiness",
    description = "200 only while the database answers. No token.",
    responses(
        (status = 200, description = "The database answers", body = StatusBody),
        (status = 503, response = DatabaseUnavailable),
    ),
)]
pub(crate) async fn readyz(state: web::Data<ApiState>) -> Answer {
    state.service.ready().await.map_err(|e| {
        ApiError::new(
            crate::error::ProblemKind::DatabaseUnavailable,
            "the database is unavailable",
        )
        .with_cause(format!("readiness check failed: {e:?}"))
    })?;
    Ok(HttpResponse::Ok().json(StatusBody { status: "ok" }))
}

/// `GET /api/v1/openapi.json`: this service's OpenAPI document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "operations",
    summary = "This OpenAPI document",
    description = "The OpenAPI 3.1 document of every route. No token.",
    responses(
        (status = 200, description = "The document", body = Object, content_type = "application/json"),
        (status = 500, response = Internal),
    ),
)]
pub(crate) async fn openapi() -> Answer {
    let json = crate::openapi::json()
        .ok_or_else(|| ApiError::internal("the OpenAPI document could not be serialized"))?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(json))
}

/// Any path without a route.
pub(crate) async fn no_route(req: HttpRequest) -> Answer {
    Err(ApiError::no_route(req.path()))
}
