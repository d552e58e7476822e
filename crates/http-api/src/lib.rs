//! The HTTP inbound adapter: actix-web routes, request/response DTOs, bearer
//! authentication and `application/problem+json` errors, over the domain's
//! [`domain::Minigroups`] use cases.
//!
//! Wiring, in the app:
//!
//! ```text
//! let state = http_api::ApiState::new(service, Arc::new(authenticator));
//! HttpServer::new(move || App::new().configure(http_api::configure(state.clone())))
//! ```
//!
//! [`configure`] registers every route inside one `web::scope("")` that
//! carries the request-span/request-id/metrics middleware, the JSON, path
//! and query error handlers, and the `not_found`/`method_not_allowed`
//! problem answers; the app adds nothing else. See the crate README.

pub mod auth;
pub mod body;
pub mod dto;
pub mod error;
mod handlers;
pub mod telemetry;

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use domain::Minigroups;

pub use auth::{encode_hs256, AuthConfig, AuthError, Authenticator, Caller, JwtAlgorithm};
pub use body::BODY_LIMIT;
pub use error::{ApiError, Problem, ProblemKind, PROBLEM_JSON};
pub use telemetry::{MetricsHook, RequestId, REQUEST_ID_HEADER, UNMATCHED_ROUTE};

/// What the routes run on: the use cases, the token verifier and an optional
/// metrics hook. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    service: Arc<dyn Minigroups>,
    auth: Arc<Authenticator>,
    metrics: Option<MetricsHook>,
}

impl ApiState {
    /// State over `service`, verifying tokens with `auth`, without metrics.
    pub fn new(service: Arc<dyn Minigroups>, auth: Arc<Authenticator>) -> Self {
        Self {
            service,
            auth,
            metrics: None,
        }
    }

    /// Calls `hook` once per finished request (see [`MetricsHook`]).
    #[must_use]
    pub fn with_metrics(mut self, hook: MetricsHook) -> Self {
        self.metrics = Some(hook);
        self
    }

    /// The token verifier.
    pub fn authenticator(&self) -> &Arc<Authenticator> {
        &self.auth
    }
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("auth", &self.auth)
            .field("metrics", &self.metrics.is_some())
            .finish_non_exhaustive()
    }
}

/// The routes of contract §4 plus `/healthz` and `/readyz`, with their
/// middleware, for `App::configure`. Unknown paths answer a `not_found`
/// problem, a known path with another method a `method_not_allowed` problem
/// (with `Allow`).
pub fn configure(state: ApiState) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        let metrics = state.metrics.clone();
        let observe = actix_web::middleware::from_fn(move |req, next| {
            telemetry::observe(metrics.clone(), req, next)
        });
        cfg.service(
            web::scope("")
                .wrap(observe)
                .app_data(web::Data::new(state.clone()))
                .app_data(
                    web::JsonConfig::default()
                        .limit(BODY_LIMIT)
                        .error_handler(|e, _| json_error(&e).into()),
                )
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|e, _| ApiError::invalid(format!("path: {e}")).into()),
                )
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|e, _| ApiError::invalid(format!("query: {e}")).into()),
                )
                .service(
                    web::resource("/healthz")
                        .route(web::get().to(handlers::healthz))
                        .default_service(not_allowed("GET")),
                )
                .service(
                    web::resource("/readyz")
                        .route(web::get().to(handlers::readyz))
                        .default_service(not_allowed("GET")),
                )
                .service(
                    web::resource("/api/v1/minigroups")
                        .route(web::post().to(handlers::create))
                        .default_service(not_allowed("POST")),
                )
                .service(
                    web::resource("/api/v1/minigroups/{minigroup_id}")
                        .route(web::get().to(handlers::read_by_id))
                        .route(web::put().to(handlers::update_by_id))
                        .default_service(not_allowed("GET, PUT")),
                )
                .service(
                    web::resource("/api/v1/minigroups/{minigroup_id}/events")
                        .route(web::post().to(handlers::create_event))
                        .default_service(not_allowed("POST")),
                )
                .service(
                    web::resource("/api/v1/minigroups/{minigroup_id}/recreate")
                        .route(web::post().to(handlers::recreate))
                        .default_service(not_allowed("POST")),
                )
                .service(
                    web::resource("/api/v1/minigroups/{minigroup_id}/download")
                        .route(web::get().to(handlers::download))
                        .default_service(not_allowed("GET")),
                )
                .service(
                    web::resource("/api/v1/audiences/{audience}/minigroups/{scope}")
                        .route(web::get().to(handlers::read_by_scope))
                        .route(web::put().to(handlers::update_by_scope))
                        .default_service(not_allowed("GET, PUT")),
                )
                .default_service(web::to(handlers::no_route)),
        );
    }
}

/// A `method_not_allowed` answer listing `allow`.
fn not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move |req: HttpRequest| async move {
        Err::<HttpResponse, _>(ApiError::method_not_allowed(req.method().as_str(), allow))
    })
}

/// Maps actix's JSON extractor errors (used by any `web::Json` route).
fn json_error(e: &actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match e {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => ApiError::too_large(BODY_LIMIT),
        E::ContentType => {
            ApiError::invalid("the body must be JSON with Content-Type: application/json")
        }
        other => ApiError::invalid(format!("invalid JSON body: {other}")),
    }
}
