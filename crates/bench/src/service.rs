//! The service under test: the release `app` binary as a child process.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context};

/// How long the service may take to log its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running service; killed on drop.
pub struct Service {
    child: Child,
    addr: SocketAddr,
}

/// What the service is started with (besides the fixed variables).
pub struct Launch<'a> {
    /// The `app` binary.
    pub binary: &'a Path,
    /// `DATABASE_URL`.
    pub database_url: &'a str,
    /// `EVENT_URL`, `CONFERENCE_URL`, `STORAGE_URL`.
    pub upstreams: [String; 3],
    /// `JWT_KEY` (HS256 secret).
    pub jwt_key: &'a str,
    /// `AUTHZ_TRUSTED_ACCOUNTS`.
    pub trusted: &'a str,
    /// `DATABASE_POOL_SIZE`.
    pub pool_size: usize,
    /// `RUST_LOG`; must let the `app` crate's `info` line `listening on`
    /// through.
    pub rust_log: &'a str,
}

impl Service {
    /// Starts the binary on `127.0.0.1:0` and waits for `listening on ADDR`.
    /// Its stdout (the log) is drained and dropped on a thread; its stderr
    /// is inherited.
    ///
    /// # Errors
    /// The binary does not start or does not log its address in time.
    pub fn start(l: &Launch<'_>) -> anyhow::Result<Self> {
        let [event, conference, storage] = &l.upstreams;
        let mut child = Command::new(l.binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", l.database_url)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("EVENT_URL", event)
            .env("CONFERENCE_URL", conference)
            .env("STORAGE_URL", storage)
            .env("JWT_KEY", l.jwt_key)
            .env("AUTHZ_TRUSTED_ACCOUNTS", l.trusted)
            .env("DATABASE_POOL_SIZE", l.pool_size.to_string())
            .env("UPSTREAM_TIMEOUT_MS", "10000")
            .env("SHUTDOWN_GRACE_SECS", "1")
            .env("RUST_LOG", l.rust_log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", l.binary.display()))?;
        let stdout = child.stdout.take().context("piped stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if tx.is_some() {
                    if let Some(addr) = listen_addr(&line) {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(addr);
                        }
                    }
                }
            }
        });
        let addr = match rx.recv_timeout(START_TIMEOUT) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the service did not log `listening on ADDR` within {START_TIMEOUT:?}");
            }
        };
        Ok(Self { child, addr })
    }

    /// The address it serves on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listen_addr(line: &str) -> Option<SocketAddr> {
    let pos = line.find("listening on ")?;
    let rest = &line[pos + "listening on ".len()..];
    let addr: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"')
        .collect();
    addr.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_found_in_text_and_json_lines() {
        let text = "2026-01-01T00:00:00Z  INFO listening on 127.0.0.1:4242 addr=127.0.0.1:4242";
        assert_eq!(listen_addr(text), "127.0.0.1:4242".parse().ok());
        let json =
            r#"{"level":"INFO","message":"listening on 127.0.0.1:80","addr":"127.0.0.1:80"}"#;
        assert_eq!(listen_addr(json), "127.0.0.1:80".parse().ok());
        assert_eq!(listen_addr("nothing here"), None);
    }
}
