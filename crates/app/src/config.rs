//! Configuration from the environment (contract §1).

use std::fmt;
use std::time::Duration;

use url::Url;

/// The embedded default database.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://var/minigroups.sqlite3";
/// The default listen address.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8080";
/// The default upstream timeout, in milliseconds.
pub const DEFAULT_UPSTREAM_TIMEOUT_MS: u64 = 5000;

/// A configuration error; names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable that could not be parsed.
    #[error("{var}: {reason}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// Why.
        reason: String,
    },
}

/// A secret whose `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself; do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The JWT signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256; the key is a shared secret.
    Hs256,
    /// RSA PKCS#1 v1.5 with SHA-256; the key is a PEM public key file.
    Rs256,
    /// ECDSA P-256 with SHA-256; the key is a PEM public key file.
    Es256,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `LISTEN_ADDR`.
    pub listen_addr: String,
    /// `EVENT_URL`; `None` starts a local stand-in.
    pub event_url: Option<Url>,
    /// `CONFERENCE_URL`; `None` starts a local stand-in.
    pub conference_url: Option<Url>,
    /// `STORAGE_URL`; `None` starts a local stand-in.
    pub storage_url: Option<Url>,
    /// `UPSTREAM_TOKEN`.
    pub upstream_token: Option<Secret>,
    /// `UPSTREAM_TIMEOUT_MS`.
    pub upstream_timeout: Duration,
    /// `JWT_ALGORITHM`.
    pub jwt_algorithm: JwtAlgorithm,
    /// `JWT_KEY`: the HS256 secret or the path of a PEM public key; `None`
    /// generates a development secret.
    pub jwt_key: Option<Secret>,
    /// `JWT_ISSUER`.
    pub jwt_issuer: Option<String>,
    /// `AUTHZ_TRUSTED_ACCOUNTS`.
    pub trusted_accounts: Vec<String>,
    /// `DATABASE_POOL_SIZE` (PostgreSQL connections).
    pub database_pool_size: usize,
    /// `SHUTDOWN_GRACE_SECS`: how long in-flight requests may take on stop.
    pub shutdown_grace: Duration,
    /// `LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable that does not parse.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads variables through `get` (empty values count as unset).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable that does not parse.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let url = |k: &'static str| -> Result<Option<Url>, ConfigError> {
            var(k)
                .map(|v| {
                    let u = Url::parse(&v).map_err(|e| invalid(k, e))?;
                    if !matches!(u.scheme(), "http" | "https") {
                        return Err(invalid(k, "must be an http or https URL"));
                    }
                    Ok(u)
                })
                .transpose()
        };
        let number = |k: &'static str, default: u64| -> Result<u64, ConfigError> {
            var(k).map_or(Ok(default), |v| {
                v.parse::<u64>()
                    .map_err(|_| invalid(k, "must be a non-negative integer"))
            })
        };

        let database_url = var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !(database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
            || database_url.starts_with("sqlite:"))
        {
            return Err(invalid(
                "DATABASE_URL",
                "must start with postgres://, postgresql:// or sqlite:",
            ));
        }
        let listen_addr = var("LISTEN_ADDR").unwrap_or_else(|| DEFAULT_LISTEN_ADDR.into());
        if !listen_addr.contains(':') {
            return Err(invalid("LISTEN_ADDR", "must be HOST:PORT"));
        }
        let timeout_ms = number("UPSTREAM_TIMEOUT_MS", DEFAULT_UPSTREAM_TIMEOUT_MS)?;
        if timeout_ms == 0 {
            return Err(invalid("UPSTREAM_TIMEOUT_MS", "must be positive"));
        }
        let jwt_algorithm = match var("JWT_ALGORITHM").as_deref().map(str::to_ascii_uppercase) {
            None => JwtAlgorithm::Hs256,
            Some(a) if a == "HS256" => JwtAlgorithm::Hs256,
            Some(a) if a == "RS256" => JwtAlgorithm::Rs256,
            Some(a) if a == "ES256" => JwtAlgorithm::Es256,
            Some(_) => return Err(invalid("JWT_ALGORITHM", "must be HS256, RS256 or ES256")),
        };
        let jwt_key = var("JWT_KEY").map(Secret::new);
        if jwt_key.is_none() && jwt_algorithm != JwtAlgorithm::Hs256 {
            return Err(invalid("JWT_KEY", "is required with RS256 and ES256"));
        }
        let log_format = match var("LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(invalid("LOG_FORMAT", "must be text or json")),
        };
        let pool = number("DATABASE_POOL_SIZE", 16)?;
        Ok(Self {
            database_url,
            listen_addr,
            event_url: url("EVENT_URL")?,
            conference_url: url("CONFERENCE_URL")?,
            storage_url: url("STORAGE_URL")?,
            upstream_token: var("UPSTREAM_TOKEN").map(Secret::new),
            upstream_timeout: Duration::from_millis(timeout_ms),
            jwt_algorithm,
            jwt_key,
            jwt_issuer: var("JWT_ISSUER"),
            trusted_accounts: var("AUTHZ_TRUSTED_ACCOUNTS")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            database_pool_size: usize::try_from(pool.clamp(1, 1024)).unwrap_or(16),
            shutdown_grace: Duration::from_secs(number("SHUTDOWN_GRACE_SECS", 30)?),
            log_format,
        })
    }
}

fn invalid(var: &'static str, reason: impl fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        var,
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn nothing_set_gives_the_documented_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.listen_addr, DEFAULT_LISTEN_ADDR);
        assert_eq!(c.upstream_timeout, Duration::from_millis(5000));
        assert_eq!(c.jwt_algorithm, JwtAlgorithm::Hs256);
        assert!(c.jwt_key.is_none() && c.event_url.is_none() && c.upstream_token.is_none());
        assert!(c.trusted_accounts.is_empty());
    }

    #[test]
    fn variables_are_parsed() {
        let c = config(&[
            ("DATABASE_URL", "postgres://u@h/db"),
            ("EVENT_URL", "http://event:8080/api"),
            ("UPSTREAM_TIMEOUT_MS", "250"),
            ("JWT_ALGORITHM", "es256"),
            ("JWT_KEY", "/keys/pub.pem"),
            ("AUTHZ_TRUSTED_ACCOUNTS", " a.svc , b.svc,,"),
            ("UPSTREAM_TOKEN", "s3cret"),
        ])
        .unwrap();
        assert_eq!(c.upstream_timeout, Duration::from_millis(250));
        assert_eq!(c.jwt_algorithm, JwtAlgorithm::Es256);
        assert_eq!(c.trusted_accounts, vec!["a.svc", "b.svc"]);
        assert_eq!(c.event_url.unwrap().as_str(), "http://event:8080/api");
        assert!(!format!("{:?}", c.upstream_token).contains("s3cret"));
    }

    #[test]
    fn errors_name_the_variable() {
        for (k, v) in [
            ("UPSTREAM_TIMEOUT_MS", "soon"),
            ("JWT_ALGORITHM", "none"),
            ("EVENT_URL", "not a url"),
            ("DATABASE_URL", "mysql://x"),
            ("LOG_FORMAT", "xml"),
        ] {
            let e = config(&[(k, v)]).unwrap_err();
            assert!(e.to_string().starts_with(k), "{e}");
        }
        let e = config(&[("JWT_ALGORITHM", "RS256")]).unwrap_err();
        assert!(e.to_string().starts_with("JWT_KEY"), "{e}");
    }
}
