//! Starts the real binary against stand-in upstreams and talks HTTP to it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use devstand::{Kind, Stand};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The trusted service account the tests create minigroups with.
pub const TRUSTED: (&str, &str) = ("svc", "svc.example.org");
/// The audience minigroups are created in.
pub const AUDIENCE: &str = "usr.example.org";
/// The token the service must send upstream.
pub const UPSTREAM_TOKEN: &str = "upstream-secret-token";
/// The upstream timeout the tests configure.
pub const UPSTREAM_TIMEOUT_MS: u64 = 1000;

/// Which database the binary runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// An answer: status, content type, request id and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub request_id: Option<String>,
    pub body: Value,
}

impl Answer {
    /// The problem `type` of an error answer.
    pub fn problem_type(&self) -> &str {
        self.body["type"].as_str().unwrap_or("")
    }

    /// Asserts a problem+json answer of this status and kind.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, kind: &str) {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{:?}",
            self.body
        );
        assert_eq!(self.problem_type(), kind, "{:?}", self.body);
        assert_eq!(self.body["status"].as_u64(), Some(u64::from(status)));
        assert!(self.body["title"].is_string(), "{:?}", self.body);
        assert!(self.body["detail"].is_string(), "{:?}", self.body);
    }
}

enum DbGuard {
    File(std::path::PathBuf),
    Pg(test_support::pg::TestDatabase),
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let DbGuard::File(path) = self {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// A running service with its stand-ins.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub event: Stand,
    pub conference: Stand,
    pub storage: Stand,
    secret: String,
    child: Child,
    _db: DbGuard,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Starts the binary on `backend`; `None` when PostgreSQL is wanted but not
/// reachable (and not required).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, &[]).await
}

/// Like [`spawn_app`], with extra environment variables.
pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
    let (db_url, db) = match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!(
                "minigroups-test-{}.sqlite3",
                uuid::Uuid::new_v4().simple()
            ));
            (format!("sqlite://{}", path.display()), DbGuard::File(path))
        }
        Backend::Postgres => {
            let db = test_support::pg::TestDatabase::create().await?;
            (db.url().to_owned(), DbGuard::Pg(db))
        }
    };
    let event =
        devstand::start(Kind::Event, "127.0.0.1:0".parse().expect("addr")).expect("event stand-in");
    let conference = devstand::start(Kind::Conference, "127.0.0.1:0".parse().expect("addr"))
        .expect("conference stand-in");
    let storage = devstand::start(Kind::Storage, "127.0.0.1:0".parse().expect("addr"))
        .expect("storage stand-in");
    let secret = format!("test-secret-{}", uuid::Uuid::new_v4());
    let timeout = UPSTREAM_TIMEOUT_MS.to_string();
    let trusted = format!("{}.{}", TRUSTED.0, TRUSTED.1);

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_app"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db_url)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("EVENT_URL", event.url())
        .env("CONFERENCE_URL", conference.url())
        .env("STORAGE_URL", storage.url())
        .env("UPSTREAM_TOKEN", UPSTREAM_TOKEN)
        .env("UPSTREAM_TIMEOUT_MS", &timeout)
        .env("JWT_KEY", &secret)
        .env("AUTHZ_TRUSTED_ACCOUNTS", &trusted)
        .env("DATABASE_POOL_SIZE", "4")
        .env(
            "RUST_LOG",
            std::env::var("TEST_LOG").unwrap_or_else(|_| "info".into()),
        );
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the app binary starts");
    let addr = read_listen_addr(&mut child);
    Some(TestApp {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        event,
        conference,
        storage,
        secret,
        child,
        _db: db,
    })
}

/// Waits for the `listening on ADDR` log line; keeps draining stdout after.
pub fn read_listen_addr(child: &mut Child) -> String {
    capture_output(child).0
}

/// Waits for the `listening on ADDR` log line and returns the address and
/// every stdout line so far and to come.
pub fn capture_output(child: &mut Child) -> (String, Arc<Mutex<Vec<String>>>) {
    let stdout = child.stdout.take().expect("piped stdout");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let echo = std::env::var_os("TEST_LOG").is_some();
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if echo {
                eprintln!("{line}");
            }
            let addr = line.find("listening on ").map(|pos| {
                line[pos + "listening on ".len()..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '"')
                    .collect::<String>()
            });
            sink.lock().expect("lines").push(line);
            if let Some(addr) = addr {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr);
                }
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(addr) => (addr, lines),
        Err(_) => {
            let _ = child.kill();
            panic!("the service did not log its address within 60 s");
        }
    }
}

impl TestApp {
    /// Drops the PostgreSQL database under the running service (connections
    /// are terminated). Does nothing on SQLite.
    pub async fn drop_database(&self) {
        if let DbGuard::Pg(db) = &self._db {
            use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
            let mut conn = AsyncPgConnection::establish(&test_support::pg::server_url())
                .await
                .expect("admin connection");
            conn.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", db.name()))
                .await
                .expect("drop the database");
        }
    }

    /// The service's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for the process to exit; its exit code.
    pub fn wait_exit(mut self, limit: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A token for `sub.aud`, valid for an hour.
    pub fn token(&self, sub: &str, aud: &str) -> String {
        sign(
            &self.secret,
            &json!({"sub": sub, "aud": aud, "exp": now() + 3600}),
        )
    }

    /// A token for the trusted service account.
    pub fn trusted(&self) -> String {
        self.token(TRUSTED.0, TRUSTED.1)
    }

    /// Signs arbitrary claims with the service's secret.
    pub fn sign(&self, claims: &Value) -> String {
        sign(&self.secret, claims)
    }

    /// Sends a request; `token` `None` sends no Authorization header.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("the service answers");
        let status = resp.status();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let request_id = header("x-request-id");
        let text = resp.text().await.expect("a body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer {
            status,
            content_type,
            request_id,
            body,
        }
    }

    /// `POST /api/v1/minigroups` as the trusted account.
    pub async fn create(&self, body: Value) -> Answer {
        let t = self.trusted();
        self.send(Method::POST, "/api/v1/minigroups", Some(&t), Some(body))
            .await
    }

    /// Creates a minigroup of `scope` in [`AUDIENCE`] and returns it.
    pub async fn create_ok(&self, scope: &str) -> Value {
        let a = self.create(minigroup_body(scope)).await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
        a.body
    }

    /// `GET /api/v1/minigroups/{id}` as the trusted account.
    pub async fn get(&self, id: &str) -> Answer {
        let t = self.trusted();
        self.send(
            Method::GET,
            &format!("/api/v1/minigroups/{id}"),
            Some(&t),
            None,
        )
        .await
    }
}

/// A create body of `scope` in [`AUDIENCE`], hosted by `teacher`.
pub fn minigroup_body(scope: &str) -> Value {
    json!({
        "scope": scope,
        "audience": AUDIENCE,
        "host": format!("teacher.{AUDIENCE}"),
        "time": [now() + 3600, now() + 7200],
        "tags": {"course": "math"},
        "reserve": 10
    })
}

fn sign(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("a signed token")
}

/// Runs each scenario once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite)
                        .await
                        .expect("SQLite always works");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await
                    else {
                        return;
                    };
                    super::$name(app).await;
                }
            )*
        }
    };
}
