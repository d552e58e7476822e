//! One span per request, the request id, and the per-request metrics hook.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use tracing::Instrument;
use uuid::Uuid;

/// The header that carries the request id, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The `http.route` reported for a request that matched no route.
pub const UNMATCHED_ROUTE: &str = "<unmatched>";

/// Longest request id taken from a client.
const MAX_REQUEST_ID_LEN: usize = 128;

/// Called once per finished request with the method, the route pattern (e.g.
/// `/api/v1/minigroups/{minigroup_id}`, or [`UNMATCHED_ROUTE`]), the status
/// and the time taken. For metrics; it must be cheap and must not block.
pub type MetricsHook = Arc<dyn Fn(&str, &str, u16, Duration) + Send + Sync>;

/// The id of the current request, in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The client's id if it is 1 to 128 visible ASCII characters, else a fresh
/// UUID v4.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|s| {
            !s.is_empty()
                && s.len() <= MAX_REQUEST_ID_LEN
                && s.bytes().all(|b| b.is_ascii_graphic())
        })
        .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned)
}

/// The middleware: opens the `http.request` span (fields `http.method`,
/// `http.route`, `request_id`, `http.status_code`), runs the request inside
/// it, echoes `X-Request-Id`, logs one `request finished` line and calls the
/// metrics hook.
pub(crate) async fn observe(
    metrics: Option<MetricsHook>,
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let route = req.match_pattern();
    let span = tracing::info_span!(
        "http.request",
        http.method = %method,
        http.route = %route.as_deref().unwrap_or(UNMATCHED_ROUTE),
        request_id = %id,
        http.status_code = tracing::field::Empty,
    );
    // The request must not be cloned before routing (actix needs it
    // unshared), so an `Err` from the inner service (rare: handlers turn
    // their errors into responses) passes through without the header.
    let outcome = next.call(req).instrument(span.clone()).await;
    // The route was matched once above, for the span; matching again after
    // the handler would walk the route table a third time per request.
    let status = match &outcome {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    let status = status.as_u16();
    let route = route.as_deref().unwrap_or(UNMATCHED_ROUTE);
    let elapsed = started.elapsed();
    span.record("http.status_code", status);
    span.in_scope(|| {
        tracing::info!(
            http.status_code = status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    if let Some(hook) = metrics {
        hook(method.as_str(), route, status, elapsed);
    }
    let mut res = outcome?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(res)
}
