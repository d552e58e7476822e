//! Throw-away PostgreSQL databases for tests (feature `postgres`).
//!
//! The server is `TEST_DATABASE_URL` (default: the local server). When it
//! does not answer, [`TestDatabase::create`] prints that the test was
//! skipped and returns `None`, unless `REQUIRE_POSTGRES=1`, which turns the
//! skip into a failure.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

/// The default test server.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server tests create their databases on: `TEST_DATABASE_URL`.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// `url` with its password masked, for messages.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparsable TEST_DATABASE_URL>".to_string(),
    }
}

/// A database created for one test and dropped (`WITH (FORCE)`) on drop.
pub struct TestDatabase {
    server: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates a fresh database, or `None` (after printing why) when no
    /// server answers and `REQUIRE_POSTGRES` is not `1`.
    pub async fn create() -> Option<Self> {
        let server = server_url();
        let connected = tokio::time::timeout(
            Duration::from_secs(5),
            AsyncPgConnection::establish(&server),
        )
        .await;
        let mut conn = match connected {
            Ok(Ok(conn)) => conn,
            failed => {
                let why = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".to_string(),
                };
                let server = redacted(&server);
                if std::env::var("REQUIRE_POSTGRES").as_deref() == Ok("1") {
                    panic!("PostgreSQL not reachable at {server} ({why}) and REQUIRE_POSTGRES=1");
                }
                println!("skipped: PostgreSQL not reachable at {server} ({why})");
                return None;
            }
        };
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("CREATE DATABASE must succeed on the test server");
        let mut url = url::Url::parse(&server).expect("TEST_DATABASE_URL must be a URL");
        url.set_path(&format!("/{name}"));
        Some(Self {
            server,
            name,
            url: url.to_string(),
        })
    }
}

impl TestDatabase {
    /// The URL of the fresh database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let server = self.server.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop may run inside a runtime (even while unwinding): use a thread
        // with its own runtime.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let mut conn = AsyncPgConnection::establish(&server)
                    .await
                    .map_err(|e| e.to_string())?;
                conn.batch_execute(&sql).await.map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!(
                "could not drop test database {}: thread panicked",
                self.name
            ),
        }
    }
}
