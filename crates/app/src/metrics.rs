//! Prometheus metrics, served without authentication at `GET /metrics` in the
//! Prometheus text exposition format (version 0.0.4).
//!
//! | series | type | labels | fed by |
//! |---|---|---|---|
//! | `http_requests_total` | counter | `method`, `route`, `status` | [`Metrics::http_hook`] |
//! | `http_request_duration_seconds` | histogram | `method`, `route` | [`Metrics::http_hook`] |
//! | `upstream_requests_total` | counter | `service`, `op`, `outcome` | [`Metrics::upstream_observer`] |
//! | `upstream_request_duration_seconds` | histogram | `service`, `op` | [`Metrics::upstream_observer`] |
//! | `db_pool_max_size` | gauge | | the repository, at scrape time |
//! | `db_pool_connections` | gauge | | the repository, at scrape time |
//! | `db_pool_idle` | gauge | | the repository, at scrape time |
//! | `db_pool_waiters` | gauge | | the repository, at scrape time |
//!
//! `route` is the route pattern (`/api/v1/minigroups/{minigroup_id}`, or
//! `<unmatched>`), never the raw path; `method` is one of the standard
//! methods or `OTHER`. So every label has a small, fixed set of values.
//! `/metrics` itself is served outside the API's middleware and is not
//! counted.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Where the metrics are served.
pub const PATH: &str = "/metrics";

/// The `Content-Type` of `GET /metrics`.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Histogram buckets, in seconds: reads take about a millisecond, creates
/// (two upstream calls) 50–100 ms, and the upstream timeout defaults to 5 s.
pub const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Distinct route labels kept; more would mean the hook is fed raw paths.
const MAX_ROUTES: usize = 128;
/// The route label used once [`MAX_ROUTES`] is reached.
const OVERFLOW_ROUTE: &str = "<other>";

/// The database pool, as either repository reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// The most connections the pool opens.
    pub max_size: usize,
    /// Connections currently open.
    pub size: usize,
    /// Open connections not in use.
    pub available: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

impl From<store_postgres::PoolStatus> for PoolStatus {
    fn from(s: store_postgres::PoolStatus) -> Self {
        Self {
            max_size: s.max_size,
            size: s.size,
            available: s.available,
            waiting: s.waiting,
        }
    }
}

impl From<store_sqlite::PoolStatus> for PoolStatus {
    fn from(s: store_sqlite::PoolStatus) -> Self {
        Self {
            max_size: s.max_size,
            size: s.size,
            available: s.available,
            waiting: s.waiting,
        }
    }
}

/// Reads the pool's status; called on every scrape.
pub type PoolStatusFn = Arc<dyn Fn() -> PoolStatus + Send + Sync>;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: Arc<str>,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: Arc<str>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    service: &'static str,
    op: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamOpLabels {
    service: &'static str,
    op: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The service's metrics. Cloning is cheap; clones share the series.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    routes: RouteNames,
    http_requests: Family<RequestLabels, Counter>,
    http_duration: HistogramFamily<RouteLabels>,
    upstream_requests: Family<UpstreamLabels, Counter>,
    upstream_duration: HistogramFamily<UpstreamOpLabels>,
    pool_max_size: Gauge,
    pool_connections: Gauge,
    pool_idle: Gauge,
    pool_waiters: Gauge,
    pool_status: PoolStatusFn,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Registers every series; the pool gauges read `pool_status` on each
    /// scrape.
    pub fn new(pool_status: PoolStatusFn) -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route pattern and status",
            http_requests.clone(),
        );
        let http_duration: HistogramFamily<RouteLabels> = Family::new_with_constructor(histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route pattern",
            http_duration.clone(),
        );
        let upstream_requests = Family::<UpstreamLabels, Counter>::default();
        registry.register(
            "upstream_requests",
            "Calls to the upstream services, by service, operation and outcome",
            upstream_requests.clone(),
        );
        let upstream_duration: HistogramFamily<UpstreamOpLabels> =
            Family::new_with_constructor(histogram);
        registry.register(
            "upstream_request_duration_seconds",
            "Time of a call to an upstream service, by service and operation",
            upstream_duration.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let pool_max_size = gauge(
            &mut registry,
            "db_pool_max_size",
            "The most database connections the pool opens",
        );
        let pool_connections = gauge(
            &mut registry,
            "db_pool_connections",
            "Database connections currently open",
        );
        let pool_idle = gauge(
            &mut registry,
            "db_pool_idle",
            "Open database connections not in use",
        );
        let pool_waiters = gauge(
            &mut registry,
            "db_pool_waiters",
            "Callers waiting for a database connection",
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                routes: RouteNames::default(),
                http_requests,
                http_duration,
                upstream_requests,
                upstream_duration,
                pool_max_size,
                pool_connections,
                pool_idle,
                pool_waiters,
                pool_status,
            }),
        }
    }

    /// The hook for [`http_api::ApiState::with_metrics`].
    pub fn http_hook(&self) -> http_api::MetricsHook {
        let inner = Arc::clone(&self.inner);
        Arc::new(move |method, route, status, elapsed| {
            inner.record_request(method, route, status, elapsed);
        })
    }

    /// The observer for [`upstream_http::UpstreamClient::with_observer`].
    pub fn upstream_observer(&self) -> upstream_http::Observer {
        let inner = Arc::clone(&self.inner);
        Arc::new(move |service, op, outcome, elapsed| {
            inner.record_upstream(service, op, outcome, elapsed);
        })
    }

    /// Reads the pool and renders every series in the text format.
    ///
    /// # Errors
    /// A formatting error of the encoder (not expected when writing to a
    /// `String`).
    pub fn render(&self) -> Result<String, fmt::Error> {
        let inner = &*self.inner;
        let status = (inner.pool_status)();
        inner.pool_max_size.set(gauge_value(status.max_size));
        inner.pool_connections.set(gauge_value(status.size));
        inner.pool_idle.set(gauge_value(status.available));
        inner.pool_waiters.set(gauge_value(status.waiting));
        let mut out = String::with_capacity(8 * 1024);
        prometheus_text::encode(&mut out, &inner.registry)?;
        Ok(out)
    }

    fn respond(&self) -> HttpResponse {
        match self.render() {
            Ok(body) => HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, CONTENT_TYPE))
                .body(body),
            Err(e) => {
                tracing::error!(error = %e, "rendering the metrics failed");
                HttpResponse::InternalServerError().finish()
            }
        }
    }
}

impl Inner {
    fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let method = method_label(method);
        let route = self.routes.intern(route);
        self.http_duration
            .get_or_create(&RouteLabels {
                method,
                route: Arc::clone(&route),
            })
            .observe(elapsed.as_secs_f64());
        self.http_requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }

    fn record_upstream(
        &self,
        service: &'static str,
        op: &'static str,
        outcome: upstream_http::Outcome,
        elapsed: Duration,
    ) {
        self.upstream_duration
            .get_or_create(&UpstreamOpLabels { service, op })
            .observe(elapsed.as_secs_f64());
        self.upstream_requests
            .get_or_create(&UpstreamLabels {
                service,
                op,
                outcome: outcome.as_str(),
            })
            .inc();
    }
}

/// Registers `GET /metrics` (no authentication). Call it on the `App`
/// **before** `http_api::configure`, whose catch-all scope would otherwise
/// answer the path.
pub fn configure(metrics: Metrics) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        let metrics = metrics.clone();
        cfg.service(
            web::resource(PATH)
                .route(web::get().to(move || {
                    let metrics = metrics.clone();
                    async move { metrics.respond() }
                }))
                .default_service(web::to(|| async {
                    HttpResponse::MethodNotAllowed()
                        .insert_header((header::ALLOW, "GET"))
                        .finish()
                })),
        );
    }
}

/// A standard method as a static label; anything else is `OTHER`.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "OTHER",
    }
}

fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The route patterns seen so far, shared, so that recording a request
/// allocates only the first time a route is seen.
struct RouteNames {
    names: RwLock<HashSet<Arc<str>>>,
    overflow: Arc<str>,
}

impl Default for RouteNames {
    fn default() -> Self {
        Self {
            names: RwLock::default(),
            overflow: Arc::from(OVERFLOW_ROUTE),
        }
    }
}

impl RouteNames {
    fn intern(&self, route: &str) -> Arc<str> {
        if let Some(name) = self
            .names
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(route)
        {
            return Arc::clone(name);
        }
        let mut names = self.names.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(name) = names.get(route) {
            return Arc::clone(name);
        }
        if names.len() >= MAX_ROUTES {
            return Arc::clone(&self.overflow);
        }
        let name: Arc<str> = Arc::from(route);
        names.insert(Arc::clone(&name));
        name
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use actix_web::test as web_test;
    use actix_web::App;
    use upstream_http::Outcome;

    use super::*;

    const BY_ID: &str = "/api/v1/minigroups/{minigroup_id}";

    fn metrics_with(status: PoolStatus) -> Metrics {
        Metrics::new(Arc::new(move || status))
    }

    fn has_line(text: &str, line: &str) -> bool {
        text.lines().any(|l| l == line)
    }

    #[test]
    fn http_requests_are_counted_by_method_route_and_status() {
        let metrics = metrics_with(PoolStatus::default());
        let hook = metrics.http_hook();
        hook("GET", BY_ID, 200, Duration::from_micros(800));
        hook("GET", BY_ID, 200, Duration::from_millis(3));
        hook("GET", BY_ID, 404, Duration::from_micros(700));
        hook("POST", "/api/v1/minigroups", 201, Duration::from_millis(80));
        hook(
            "BREW",
            http_api::UNMATCHED_ROUTE,
            404,
            Duration::from_micros(10),
        );

        let text = metrics.render().unwrap();
        for line in [
            "# TYPE http_requests_total counter",
            r#"http_requests_total{method="GET",route="/api/v1/minigroups/{minigroup_id}",status="200"} 2"#,
            r#"http_requests_total{method="GET",route="/api/v1/minigroups/{minigroup_id}",status="404"} 1"#,
            r#"http_requests_total{method="POST",route="/api/v1/minigroups",status="201"} 1"#,
            r#"http_requests_total{method="OTHER",route="<unmatched>",status="404"} 1"#,
            "# TYPE http_request_duration_seconds histogram",
            r#"http_request_duration_seconds_count{method="GET",route="/api/v1/minigroups/{minigroup_id}"} 3"#,
            r#"http_request_duration_seconds_bucket{method="GET",route="/api/v1/minigroups/{minigroup_id}",le="0.0005"} 0"#,
            r#"http_request_duration_seconds_bucket{method="GET",route="/api/v1/minigroups/{minigroup_id}",le="0.001"} 2"#,
            r#"http_request_duration_seconds_bucket{method="GET",route="/api/v1/minigroups/{minigroup_id}",le="0.005"} 3"#,
            r#"http_request_duration_seconds_bucket{method="POST",route="/api/v1/minigroups",le="0.05"} 0"#,
            r#"http_request_duration_seconds_bucket{method="POST",route="/api/v1/minigroups",le="0.1"} 1"#,
            r#"http_request_duration_seconds_bucket{method="POST",route="/api/v1/minigroups",le="+Inf"} 1"#,
            r#"http_request_duration_seconds_sum{method="POST",route="/api/v1/minigroups"} 0.08"#,
        ] {
            assert!(has_line(&text, line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn upstream_calls_are_counted_by_service_op_and_outcome() {
        let metrics = metrics_with(PoolStatus::default());
        let observe = metrics.upstream_observer();
        observe(
            "event",
            "create_room",
            Outcome::Ok,
            Duration::from_millis(40),
        );
        observe(
            "event",
            "create_room",
            Outcome::Ok,
            Duration::from_millis(60),
        );
        observe(
            "conference",
            "create_room",
            Outcome::Timeout,
            Duration::from_secs(5),
        );
        observe(
            "storage",
            "source_url",
            Outcome::Rejected,
            Duration::from_millis(2),
        );

        let text = metrics.render().unwrap();
        for line in [
            "# TYPE upstream_requests_total counter",
            r#"upstream_requests_total{service="event",op="create_room",outcome="ok"} 2"#,
            r#"upstream_requests_total{service="conference",op="create_room",outcome="timeout"} 1"#,
            r#"upstream_requests_total{service="storage",op="source_url",outcome="rejected"} 1"#,
            "# TYPE upstream_request_duration_seconds histogram",
            r#"upstream_request_duration_seconds_count{service="event",op="create_room"} 2"#,
            r#"upstream_request_duration_seconds_bucket{service="event",op="create_room",le="0.05"} 1"#,
            r#"upstream_request_duration_seconds_bucket{service="event",op="create_room",le="0.1"} 2"#,
            r#"upstream_request_duration_seconds_bucket{service="conference",op="create_room",le="2.5"} 0"#,
            r#"upstream_request_duration_seconds_bucket{service="conference",op="create_room",le="5"} 1"#,
        ] {
            assert!(has_line(&text, line), "missing {line:?} in\n{text}");
        }
        assert!(!text.contains("outcome=\"failed\""), "{text}");
    }

    #[test]
    fn pool_gauges_are_read_at_each_scrape() {
        let status = Arc::new(Mutex::new(PoolStatus {
            max_size: 16,
            size: 3,
            available: 1,
            waiting: 0,
        }));
        let source = Arc::clone(&status);
        let metrics = Metrics::new(Arc::new(move || *source.lock().unwrap()));

        let text = metrics.render().unwrap();
        for line in [
            "# TYPE db_pool_max_size gauge",
            "db_pool_max_size 16",
            "db_pool_connections 3",
            "db_pool_idle 1",
            "db_pool_waiters 0",
        ] {
            assert!(has_line(&text, line), "missing {line:?} in\n{text}");
        }

        *status.lock().unwrap() = PoolStatus {
            max_size: 16,
            size: 16,
            available: 0,
            waiting: 7,
        };
        let text = metrics.render().unwrap();
        for line in [
            "db_pool_connections 16",
            "db_pool_idle 0",
            "db_pool_waiters 7",
        ] {
            assert!(has_line(&text, line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn store_pool_statuses_convert() {
        let pg = store_postgres::PoolStatus {
            max_size: 4,
            size: 2,
            available: 1,
            waiting: 3,
        };
        let expected = PoolStatus {
            max_size: 4,
            size: 2,
            available: 1,
            waiting: 3,
        };
        assert_eq!(PoolStatus::from(pg), expected);
        let sqlite = store_sqlite::PoolStatus {
            max_size: 4,
            size: 2,
            available: 1,
            waiting: 3,
        };
        assert_eq!(PoolStatus::from(sqlite), expected);
    }

    #[test]
    fn route_labels_are_bounded() {
        let metrics = metrics_with(PoolStatus::default());
        let hook = metrics.http_hook();
        for i in 0..MAX_ROUTES + 10 {
            hook("GET", &format!("/raw/{i}"), 200, Duration::ZERO);
        }
        let text = metrics.render().unwrap();
        let series = text
            .lines()
            .filter(|l| l.starts_with("http_requests_total{"))
            .count();
        assert_eq!(series, MAX_ROUTES + 1, "{text}");
        assert!(
            has_line(
                &text,
                r#"http_requests_total{method="GET",route="<other>",status="200"} 10"#
            ),
            "{text}"
        );
    }

    #[actix_web::test]
    async fn get_metrics_serves_the_text_format() {
        let metrics = metrics_with(PoolStatus {
            max_size: 1,
            size: 1,
            available: 1,
            waiting: 0,
        });
        metrics.http_hook()("GET", "/healthz", 200, Duration::from_micros(50));
        let app = web_test::init_service(App::new().configure(configure(metrics))).await;

        let res =
            web_test::call_service(&app, web_test::TestRequest::get().uri(PATH).to_request()).await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let body = web_test::read_body(res).await;
        let text = std::str::from_utf8(&body).unwrap();
        assert!(
            has_line(
                text,
                r#"http_requests_total{method="GET",route="/healthz",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(has_line(text, "db_pool_max_size 1"), "{text}");

        let res =
            web_test::call_service(&app, web_test::TestRequest::post().uri(PATH).to_request())
                .await;
        assert_eq!(res.status(), 405);
        assert_eq!(res.headers().get(header::ALLOW).unwrap(), "GET");
    }
}
