//! The actix-web server of a stand-in, on its own thread and system.

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::Value;

use crate::state::{Answer, Route, State};
use crate::Recorded;

/// How long a hanging answer sleeps.
const HANG: Duration = Duration::from_secs(24 * 3600);

/// Largest request body accepted.
const BODY_LIMIT: usize = 1024 * 1024;

/// A server that is listening.
pub(crate) struct Bound {
    pub(crate) addr: SocketAddr,
    pub(crate) handle: ServerHandle,
    pub(crate) thread: JoinHandle<()>,
}

/// Starts the server thread and waits until it listens. The receiver gets a
/// message (or disconnects) when the thread is about to end.
pub(crate) fn spawn(
    state: Arc<State>,
    addr: SocketAddr,
) -> io::Result<(Bound, mpsc::Receiver<()>)> {
    let (ready_tx, ready_rx) = mpsc::channel::<io::Result<(SocketAddr, ServerHandle)>>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let name = format!("devstand-{}", state.kind());
    let thread = std::thread::Builder::new().name(name).spawn(move || {
        let system = actix_web::rt::System::new();
        system.block_on(run(state, addr, ready_tx));
        let _ = done_tx.send(());
    })?;
    match ready_rx.recv() {
        Ok(Ok((addr, handle))) => Ok((
            Bound {
                addr,
                handle,
                thread,
            },
            done_rx,
        )),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(io::Error::other(
                "the stand-in thread ended before listening",
            ))
        }
    }
}

async fn run(
    state: Arc<State>,
    addr: SocketAddr,
    ready: mpsc::Sender<io::Result<(SocketAddr, ServerHandle)>>,
) {
    let data = web::Data::from(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .default_service(web::to(handle))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(0)
    .bind(addr);
    let server = match server {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let Some(bound) = server.addrs().first().copied() else {
        let _ = ready.send(Err(io::Error::other("the server bound no address")));
        return;
    };
    let server = server.run();
    if ready.send(Ok((bound, server.handle()))).is_err() {
        return;
    }
    if let Err(e) = server.await {
        tracing::warn!(error = %e, "development stand-in stopped with an error");
    }
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn parse_body(body: &[u8]) -> Value {
    if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
    }
}

async fn handle(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let body = parse_body(&body);
    state.record(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: req.uri().query().map(str::to_owned),
        authorization: header(req.headers(), header::AUTHORIZATION),
        content_type: header(req.headers(), header::CONTENT_TYPE),
        body: body.clone(),
    });

    let route = Route::of(state.kind(), &method, &path);
    let op = route.op();
    let latency = state.latency();
    if !latency.is_zero() {
        actix_web::rt::time::sleep(latency).await;
    }
    let answer = match state.take_fault(&method, &path, op) {
        Some(kind) => State::fault_answer(kind, op),
        None => state.serve(route, &body),
    };
    tracing::debug!(
        service = state.kind().as_str(),
        %method,
        %path,
        op = op.as_str(),
        "stand-in request"
    );
    respond(answer).await
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

async fn respond(answer: Answer) -> HttpResponse {
    match answer {
        Answer::Json(code, v) => HttpResponse::build(status(code)).json(v),
        Answer::Empty(code) => HttpResponse::build(status(code)).finish(),
        Answer::Text(code, text) => {
            let content_type = if serde_json::from_str::<Value>(&text).is_ok() {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            HttpResponse::build(status(code))
                .content_type(content_type)
                .body(text)
        }
        Answer::Hang => {
            actix_web::rt::time::sleep(HANG).await;
            HttpResponse::GatewayTimeout().finish()
        }
    }
}
