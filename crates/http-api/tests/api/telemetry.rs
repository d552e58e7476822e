//! Request ids, the metrics hook, and use cases that outlive their client.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::test::{self, TestRequest};
use async_trait::async_trait;
use domain::{
    AccountId, CreateMinigroup, Error, Minigroup, MinigroupId, MinigroupKey, Minigroups,
    MockMinigroups, NewEvent, RecreateMinigroup, UpdateMinigroup,
};
use http_api::{ApiState, MetricsHook};
use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn a_sane_request_id_is_echoed() {
    let app = app!(MockMinigroups::new());
    let req = TestRequest::get()
        .uri("/healthz")
        .insert_header(("X-Request-Id", "abc-123_XYZ"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.headers().get("x-request-id").unwrap(), "abc-123_XYZ");
}

#[actix_web::test]
async fn a_request_id_is_generated_when_absent_or_insane() {
    let app = app!(MockMinigroups::new());
    let long = "a".repeat(129);
    for given in [None, Some(long.as_str()), Some("has space"), Some("")] {
        let mut req = TestRequest::get().uri("/nope");
        if let Some(id) = given {
            req = req.insert_header(("X-Request-Id", id));
        }
        let res = test::call_service(&app, req.to_request()).await;
        let id = res.headers().get("x-request-id").unwrap().to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{given:?} -> {id}");
    }
    let max = "b".repeat(128);
    let req = TestRequest::get()
        .uri("/healthz")
        .insert_header(("X-Request-Id", max.as_str()))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.headers().get("x-request-id").unwrap(), max.as_str());
}

#[actix_web::test]
async fn error_answers_carry_the_request_id_too() {
    let app = app!(MockMinigroups::new());
    let req = TestRequest::get()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}"))
        .insert_header(("X-Request-Id", "req-401"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers().get("x-request-id").unwrap(), "req-401");
}

type Seen = Arc<Mutex<Vec<(String, String, u16)>>>;

#[actix_web::test]
async fn the_metrics_hook_sees_method_route_and_status() {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let hook: MetricsHook = Arc::new(move |method, route, status, _elapsed| {
        sink.lock()
            .unwrap()
            .push((method.to_owned(), route.to_owned(), status));
    });
    let mut svc = MockMinigroups::new();
    svc.expect_read().times(1).returning(|_, _| Ok(full()));
    let state = ApiState::new(Arc::new(svc), hs256()).with_metrics(hook);
    let app = test::init_service(actix_web::App::new().configure(http_api::configure(state))).await;

    let requests = [
        TestRequest::get()
            .uri(&format!("/api/v1/minigroups/{CLASS_ID}"))
            .insert_header(bearer()),
        TestRequest::get().uri("/api/v1/minigroups/not-a-uuid"),
        TestRequest::get().uri("/healthz"),
        TestRequest::get().uri("/nope"),
        TestRequest::delete().uri("/healthz"),
    ];
    for req in requests {
        test::call_service(&app, req.to_request()).await;
    }
    let seen = seen.lock().unwrap().clone();
    let expected = [
        ("GET", "/api/v1/minigroups/{minigroup_id}", 200),
        ("GET", "/api/v1/minigroups/{minigroup_id}", 401),
        ("GET", "/healthz", 200),
        ("GET", http_api::UNMATCHED_ROUTE, 404),
        ("DELETE", "/healthz", 405),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(m, r, s)| ((*m).to_owned(), (*r).to_owned(), *s))
        .collect();
    assert_eq!(seen, expected);
}

/// A service whose create takes a while and records that it finished.
struct Slow {
    finished: Arc<AtomicBool>,
}

#[async_trait]
impl Minigroups for Slow {
    async fn create(&self, _: &AccountId, _: CreateMinigroup) -> Result<Minigroup, Error> {
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.finished.store(true, Ordering::SeqCst);
        Ok(full())
    }
    async fn read(&self, _: &AccountId, _: MinigroupKey) -> Result<Minigroup, Error> {
        Err(Error::NotFound)
    }
    async fn update(
        &self,
        _: &AccountId,
        _: MinigroupKey,
        _: UpdateMinigroup,
    ) -> Result<Minigroup, Error> {
        Err(Error::NotFound)
    }
    async fn create_event(&self, _: &AccountId, _: MinigroupId, _: NewEvent) -> Result<(), Error> {
        Err(Error::NotFound)
    }
    async fn recreate(
        &self,
        _: &AccountId,
        _: MinigroupId,
        _: RecreateMinigroup,
    ) -> Result<Minigroup, Error> {
        Err(Error::NotFound)
    }
    async fn download(&self, _: &AccountId, _: MinigroupId) -> Result<String, Error> {
        Err(Error::NotFound)
    }
    async fn ready(&self) -> Result<(), Error> {
        Ok(())
    }
}

#[actix_web::test]
async fn a_create_finishes_even_when_the_client_goes_away() {
    let finished = Arc::new(AtomicBool::new(false));
    let app = app!(Slow {
        finished: finished.clone()
    });
    let req = TestRequest::post()
        .uri("/api/v1/minigroups")
        .insert_header(bearer())
        .set_json(json!({"scope": "s", "audience": AUDIENCE, "host": "t.usr.example.org"}))
        .to_request();
    let abandoned =
        tokio::time::timeout(Duration::from_millis(20), test::call_service(&app, req)).await;
    assert!(abandoned.is_err(), "the request should still be running");
    assert!(!finished.load(Ordering::SeqCst));
    for _ in 0..500 {
        if finished.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        finished.load(Ordering::SeqCst),
        "the use case was dropped with the request"
    );
}

/// Collects formatted log output.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[actix_web::test]
async fn log_lines_carry_the_request_id_and_never_the_token() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut svc = MockMinigroups::new();
    svc.expect_update().times(1).returning(|_, _, _| {
        tracing::info!("inside the use case");
        Err(Error::Unavailable("db down".into()))
    });
    let app = app!(svc);
    let (name, value) = bearer();
    let token = value.trim_start_matches("Bearer ").to_owned();
    let req = TestRequest::put()
        .uri(&format!("/api/v1/minigroups/{CLASS_ID}"))
        .insert_header((name, value))
        .insert_header(("X-Request-Id", "trace-me-42"))
        .set_json(json!({"reserve": 3}))
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 503);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    for needle in ["inside the use case", "request failed", "request finished"] {
        let line = text
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} line in:\n{text}"));
        assert!(line.contains("request_id=trace-me-42"), "{line}");
        assert!(
            line.contains("http.route=/api/v1/minigroups/{minigroup_id}"),
            "{line}"
        );
    }
    assert!(text.contains("db down"), "the cause is logged:\n{text}");
    assert!(!text.contains(&token), "the token leaked:\n{text}");
    assert!(!text.to_lowercase().contains("authorization"), "{text}");
}

#[actix_web::test]
async fn routes_registered_before_configure_still_answer() {
    let state = ApiState::new(Arc::new(MockMinigroups::new()), hs256());
    let app = test::init_service(
        actix_web::App::new()
            .route(
                "/metrics",
                actix_web::web::get().to(|| async { actix_web::HttpResponse::Ok().body("m 1") }),
            )
            .configure(http_api::configure(state)),
    )
    .await;
    let res = test::call_service(&app, TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(res.status(), 200);
    let res = test::call_service(&app, TestRequest::get().uri("/healthz").to_request()).await;
    assert_eq!(res.status(), 200);
}
