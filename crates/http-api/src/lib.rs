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
//! [`configure`] registers every route of [`routes::ROUTES`] (the contract's,
//! the probes and the OpenAPI document of [`openapi`]) inside one
//! `web::scope("")` that carries the request-span/request-id/metrics
//! middleware, the JSON, path and query error handlers, and the
//! `not_found`/`method_not_allowed` problem answers; the app adds nothing
//! else. See the crate README.

pub mod auth;
pub mod body;
pub mod dto;
pub mod error;
mod handlers;
pub mod openapi;
pub mod routes;
pub mod telemetry;

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use domain::Minigroups;

pub use auth::{encode_hs256, AuthConfig, AuthError, Authenticator, Caller, JwtAlgorithm};
pub use body::BODY_LIMIT;
pub use error::{ApiError, Problem, ProblemKind, PROBLEM_JSON};
pub use routes::{Method, Route, APP_ROUTES, METRICS_PATH, OPENAPI_PATH, ROUTES};
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

/// The routes of contract §4 plus `/healthz`, `/readyz` and the OpenAPI
/// document (`GET /api/v1/openapi.json`), i.e. exactly [`routes::ROUTES`],
/// with their middleware, for `App::configure`. Unknown paths answer a
/// `not_found` problem, a known path with another method a
/// `method_not_allowed` problem (with `Allow`).
pub fn configure(state: ApiState) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        let metrics = state.metrics.clone();
        let observe = actix_web::middleware::from_fn(move |req, next| {
            telemetry::observe(metrics.clone(), req, next)
        });
        let mut scope = web::scope("")
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
            .default_service(web::to(handlers::no_route));
        for (path, routes, allow) in routes::resources() {
            let resource = routes
                .into_iter()
                .fold(web::resource(path), |resource, route| {
                    resource.route(route.to_actix())
                });
            scope = scope.service(resource.default_service(not_allowed(allow)));
        }
        cfg.service(scope);
    }
}

/// A `method_not_allowed` answer listing `allow`.
fn not_allowed(allow: String) -> actix_web::Route {
    web::to(move |req: HttpRequest| {
        let allow = allow.clone();
        async move { Err::<HttpResponse, _>(ApiError::method_not_allowed(req.method().as_str(), allow)) }
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
