//! The embedded default (contract §6) and graceful shutdown.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{capture_output, minigroup_body, spawn_app_with, Backend};

fn wait_for_line(lines: &std::sync::Mutex<Vec<String>>, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(l) = lines
            .lock()
            .expect("lines")
            .iter()
            .find(|l| l.contains(needle))
        {
            return l.clone();
        }
        assert!(Instant::now() < deadline, "no line containing {needle:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `cargo run` with nothing configured: SQLite under `var/`, stand-ins, a
/// printed development token, and every route served.
#[tokio::test]
async fn with_no_configuration_every_route_works() {
    let dir =
        std::env::temp_dir().join(format!("minigroups-bare-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_app"))
        .env_clear()
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the app binary starts");
    let (addr, lines) = capture_output(&mut child);
    struct Kill(std::process::Child, std::path::PathBuf);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
            let _ = std::fs::remove_dir_all(&self.1);
        }
    }
    let _guard = Kill(child, dir.clone());
    assert_eq!(addr, "127.0.0.1:8080");
    let base = format!("http://{addr}");
    let token_line = wait_for_line(&lines, "export TOKEN=");
    let token = token_line
        .trim()
        .trim_start_matches("export TOKEN=")
        .to_owned();
    let storage_line = wait_for_line(&lines, "STORAGE_URL is unset");
    let storage = storage_line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the storage stand-in's URL is logged")
        .trim_end_matches('/')
        .to_owned();
    for var in [
        "DATABASE_URL",
        "EVENT_URL",
        "CONFERENCE_URL",
        "STORAGE_URL",
        "JWT_KEY",
    ] {
        let line = wait_for_line(&lines, &format!("{var} is unset"));
        assert!(line.contains("WARN"), "{line}");
    }
    assert!(
        dir.join("var/minigroups.sqlite3").exists(),
        "the SQLite file is created"
    );

    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .map(|r| r.status())
        .ok()
        != Some(StatusCode::OK)
    {
        assert!(Instant::now() < deadline, "/healthz never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.expect("answer");
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    use reqwest::Method;
    let (status, m) = call(
        Method::POST,
        "/api/v1/minigroups",
        Some(minigroup_body("first-minute")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    let id = m["class_id"].as_str().expect("id").to_owned();
    let (status, read) = call(Method::GET, &format!("/api/v1/minigroups/{id}"), None).await;
    assert_eq!((status, &read), (StatusCode::OK, &m));
    let (status, upd) = call(
        Method::PUT,
        &format!("/api/v1/minigroups/{id}"),
        Some(json!({"reserve": 3})),
    )
    .await;
    assert_eq!((status, &upd["reserve"]), (StatusCode::OK, &json!(3)));
    let (status, ev) = call(
        Method::POST,
        &format!("/api/v1/minigroups/{id}/events"),
        Some(json!({"type": "message", "data": {"text": "hi"}})),
    )
    .await;
    assert_eq!((status, ev), (StatusCode::CREATED, json!({})));
    let (status, rec) = call(
        Method::POST,
        &format!("/api/v1/minigroups/{id}/recreate"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rec}");
    assert_ne!(
        rec["real_time"]["event_room_id"],
        m["real_time"]["event_room_id"]
    );
    let (status, _) = call(
        Method::GET,
        &format!("/api/v1/minigroups/{id}/download"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let put = client
        .put(format!(
            "{storage}/api/v2/backends/yandex/sets/ms.minigroup.usr.example.org::first-minute/objects/mp4"
        ))
        .send()
        .await
        .expect("the storage stand-in answers");
    assert!(put.status().is_success());
    let (status, dl) = call(
        Method::GET,
        &format!("/api/v1/minigroups/{id}/download"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{dl}");
    assert!(dl["url"].as_str().expect("url").starts_with(&storage));

    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("text");
    for route in [
        "/api/v1/minigroups\"",
        "/api/v1/minigroups/{minigroup_id}\"",
        "/api/v1/minigroups/{minigroup_id}/events\"",
        "/api/v1/minigroups/{minigroup_id}/recreate\"",
        "/api/v1/minigroups/{minigroup_id}/download\"",
    ] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("http_requests_total") && l.contains(route)),
            "{route} missing from /metrics:\n{metrics}"
        );
    }
}

/// SIGTERM: the in-flight request completes, new connections are refused,
/// the process exits 0.
#[tokio::test]
async fn sigterm_drains_in_flight_requests() {
    let app = spawn_app_with(Backend::Sqlite, &[("UPSTREAM_TIMEOUT_MS", "10000")])
        .await
        .expect("SQLite always works");
    app.event.set_latency(Duration::from_millis(1500));
    let slow = {
        let client = app.client.clone();
        let url = format!("{}/api/v1/minigroups", app.base);
        let token = app.trusted();
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&minigroup_body("drain"))
                .send()
                .await
                .map(|r| r.status())
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let pid = app.pid();
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    assert!(
        std::net::TcpStream::connect_timeout(
            &addr.parse().expect("addr"),
            Duration::from_millis(500)
        )
        .is_err(),
        "new connections are refused while draining"
    );
    let status = slow
        .await
        .expect("task")
        .expect("the in-flight request completes");
    assert_eq!(status, StatusCode::CREATED);
    let code = app.wait_exit(Duration::from_secs(20));
    assert_eq!(code, Some(0), "exit status");
}
