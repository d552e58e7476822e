//! The route handlers (contract §4).

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::{Audience, MinigroupId, MinigroupKey, Scope};
use tracing::Instrument;

use crate::auth::Caller;
use crate::body;
use crate::dto::{
    CreateBody, DownloadBody, EventBody, MinigroupBody, RecreateBody, StatusBody, UpdateBody,
};
use crate::error::ApiError;
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
    Ok(HttpResponse::Created().json(serde_json::json!({})))
}

/// `POST /api/v1/minigroups/{minigroup_id}/recreate`.
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
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(StatusBody { status: "ok" })
}

/// `GET /readyz`.
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

/// Any path without a route.
pub(crate) async fn no_route(req: HttpRequest) -> Answer {
    Err(ApiError::no_route(req.path()))
}
