//! The shared HTTP client: configuration, sending, error mapping, telemetry.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::UpstreamError;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use tracing::Instrument;
use url::Url;

/// Longest upstream reason or body excerpt kept in an error, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Settings of the outbound HTTP client.
#[derive(Clone)]
pub struct UpstreamConfig {
    /// Bearer token sent as `Authorization: Bearer <token>`; no header when
    /// `None`.
    pub token: Option<String>,
    /// Timeout of each whole request (connect, send, read the answer).
    pub timeout: Duration,
}

impl UpstreamConfig {
    /// The default timeout of the contract (`UPSTREAM_TIMEOUT_MS`).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(5000);
}

impl Default for UpstreamConfig {
    /// No token, a 5 s timeout.
    fn default() -> Self {
        Self {
            token: None,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

impl fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamConfig")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// How an upstream call ended, for an [`Observer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The call succeeded (for storage, "absent" is a success too).
    Ok,
    /// The service rejected the call with a 4xx ([`UpstreamError::Rejected`]).
    Rejected,
    /// The call timed out ([`UpstreamError::Timeout`]).
    Timeout,
    /// Any other failure ([`UpstreamError::Failed`]).
    Failed,
}

impl Outcome {
    /// The outcome's name: `ok`, `rejected`, `timeout` or `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Rejected => "rejected",
            Outcome::Timeout => "timeout",
            Outcome::Failed => "failed",
        }
    }

    fn of<T>(result: &Result<T, UpstreamError>) -> Self {
        match result {
            Ok(_) => Outcome::Ok,
            Err(UpstreamError::Rejected { .. }) => Outcome::Rejected,
            Err(UpstreamError::Timeout) => Outcome::Timeout,
            Err(UpstreamError::Failed(_)) => Outcome::Failed,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Called once after every upstream call with the service (`event`,
/// `conference`, `storage`), the operation (`create_room`, `update_room`,
/// `create_event`, `source_url`), the outcome and the elapsed time. Meant for
/// metrics; it runs inline, so keep it cheap.
pub type Observer = Arc<dyn Fn(&'static str, &'static str, Outcome, Duration) + Send + Sync>;

/// The HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the upstream HTTP client")]
pub struct ClientBuildError(#[source] reqwest::Error);

/// The one HTTP client shared by every upstream adapter: a connection pool,
/// the timeout, the token and an optional [`Observer`]. Cloning is cheap.
#[derive(Clone)]
pub struct UpstreamClient {
    http: reqwest::Client,
    token: Option<Arc<str>>,
    observer: Option<Observer>,
}

impl fmt::Debug for UpstreamClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamClient")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

/// What an upstream answered.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

/// One call to make.
pub(crate) struct Call<'a> {
    pub(crate) service: &'static str,
    pub(crate) op: &'static str,
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) body: Option<&'a serde_json::Value>,
}

impl UpstreamClient {
    /// Builds the client. Redirects are not followed (a `3xx` is a failure).
    ///
    /// # Errors
    /// [`ClientBuildError`] when the TLS backend cannot be initialised.
    pub fn new(cfg: UpstreamConfig) -> Result<Self, ClientBuildError> {
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(ClientBuildError)?;
        Ok(Self {
            http,
            token: cfg.token.filter(|t| !t.is_empty()).map(Arc::from),
            observer: None,
        })
    }

    /// Plugs in an observer called after every call (replacing any other).
    #[must_use]
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Makes `call`, turns the answer into `T` with `interpret`, then logs
    /// and reports the outcome. Errors never contain the token.
    pub(crate) async fn exchange<T>(
        &self,
        call: Call<'_>,
        interpret: impl FnOnce(&Answer) -> Result<T, UpstreamError>,
    ) -> Result<T, UpstreamError> {
        let (service, op) = (call.service, call.op);
        let span = tracing::debug_span!("upstream", upstream.service = service, upstream.op = op,);
        async move {
            let started = Instant::now();
            let answer = self.send(call).await;
            let status = answer.as_ref().ok().map(|a| a.status.as_u16());
            let result = answer
                .and_then(|a| interpret(&a))
                .map_err(|e| self.redact(e));
            let elapsed = started.elapsed();
            let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
            match &result {
                Ok(_) => tracing::debug!(
                    upstream.service = service,
                    upstream.op = op,
                    http.status = status,
                    elapsed_ms,
                    "upstream call succeeded"
                ),
                Err(e) => tracing::warn!(
                    upstream.service = service,
                    upstream.op = op,
                    http.status = status,
                    elapsed_ms,
                    error = %e,
                    "upstream call failed"
                ),
            }
            if let Some(observer) = &self.observer {
                observer(service, op, Outcome::of(&result), elapsed);
            }
            result
        }
        .instrument(span)
        .await
    }

    async fn send(&self, call: Call<'_>) -> Result<Answer, UpstreamError> {
        let what = format!("{} {}", call.method, call.url.path());
        let mut req = self
            .http
            .request(call.method, call.url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = call.body {
            let bytes = serde_json::to_vec(body)
                .map_err(|e| UpstreamError::Failed(format!("{what}: cannot encode: {e}")))?;
            req = req.body(bytes);
        }
        let resp = req.send().await.map_err(|e| transport_error(&what, &e))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| transport_error(&what, &e))?;
        Ok(Answer {
            status,
            body: body.to_vec(),
        })
    }

    fn redact(&self, e: UpstreamError) -> UpstreamError {
        let Some(token) = self.token.as_deref() else {
            return e;
        };
        let clean = |s: String| s.replace(token, "[redacted]");
        match e {
            UpstreamError::Failed(m) => UpstreamError::Failed(clean(m)),
            UpstreamError::Rejected { status, reason } => UpstreamError::Rejected {
                status,
                reason: clean(reason),
            },
            UpstreamError::Timeout => UpstreamError::Timeout,
        }
    }
}

/// Maps a reqwest error: a timeout to `Timeout`, anything else to `Failed`
/// with the cause chain (never the URL, which might carry credentials).
fn transport_error(what: &str, e: &reqwest::Error) -> UpstreamError {
    if e.is_timeout() {
        return UpstreamError::Timeout;
    }
    let mut msg = format!("{what}: ");
    let kind = if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "cannot read the answer"
    } else {
        "request failed"
    };
    msg.push_str(kind);
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    UpstreamError::Failed(msg)
}

/// Truncates `s` to [`MAX_REASON_CHARS`] characters, marking the cut.
pub(crate) fn truncate(s: &str) -> String {
    match s.char_indices().nth(MAX_REASON_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// The reason an upstream gave: a string `detail`, `error`, `message` or
/// `title` field of a JSON object (or `error.message`), else the body text,
/// else the status's canonical reason; at most [`MAX_REASON_CHARS`].
pub(crate) fn reason(answer: &Answer) -> String {
    let from_json = serde_json::from_slice::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|v| {
            let obj = v.as_object()?;
            ["detail", "error", "message", "title"]
                .iter()
                .find_map(|k| obj.get(*k).and_then(|f| f.as_str()).map(str::to_owned))
                .or_else(|| {
                    obj.get("error")
                        .and_then(|e| e.get("message"))
                        .and_then(|m| m.as_str())
                        .map(str::to_owned)
                })
        });
    let text = from_json.unwrap_or_else(|| String::from_utf8_lossy(&answer.body).trim().to_owned());
    if text.is_empty() {
        answer
            .status
            .canonical_reason()
            .unwrap_or("no reason given")
            .to_owned()
    } else {
        truncate(&text)
    }
}

/// The `Failed` error for an answer with an unexpected status.
pub(crate) fn unexpected_status(what: &str, answer: &Answer) -> UpstreamError {
    UpstreamError::Failed(format!(
        "{what} answered {}: {}",
        answer.status,
        reason(answer)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn reasons_come_from_known_json_fields_then_text() {
        let cases = [
            (r#"{"detail":"d","error":"e"}"#, "d"),
            (r#"{"error":"e","message":"m"}"#, "e"),
            (r#"{"message":"m"}"#, "m"),
            (r#"{"title":"t"}"#, "t"),
            (r#"{"error":{"message":"nested"}}"#, "nested"),
            (r#"{"other":1}"#, r#"{"other":1}"#),
            ("  plain text \n", "plain text"),
            ("", "Unprocessable Entity"),
        ];
        for (body, want) in cases {
            assert_eq!(reason(&answer(422, body)), want, "{body:?}");
        }
    }

    #[test]
    fn reasons_are_truncated_on_a_char_boundary() {
        let long = "é".repeat(MAX_REASON_CHARS + 10);
        let r = reason(&answer(400, &long));
        assert_eq!(r.chars().count(), MAX_REASON_CHARS + 1);
        assert!(r.ends_with('…'));
        let exact = "a".repeat(MAX_REASON_CHARS);
        assert_eq!(truncate(&exact), exact);
    }

    #[test]
    fn config_debug_hides_the_token() {
        let cfg = UpstreamConfig {
            token: Some("s3cret".into()),
            ..UpstreamConfig::default()
        };
        assert!(!format!("{cfg:?}").contains("s3cret"));
        let client = UpstreamClient::new(cfg).unwrap();
        assert!(!format!("{client:?}").contains("s3cret"));
    }
}
