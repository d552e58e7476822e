//! Reading JSON request bodies with the contract's rules: `Content-Type:
//! application/json`, at most [`BODY_LIMIT`] bytes, an object, no unknown
//! fields; every failure is an [`ApiError`] with a helpful detail.

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest request body accepted, in bytes (64 KiB); larger → 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Whether the request declares a JSON body (`application/json`, with any
/// parameters, or `application/<x>+json`).
fn is_json(req: &HttpRequest) -> Result<bool, ApiError> {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return Ok(false);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::invalid("the Content-Type header is not valid text"))?;
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    Ok(essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json")))
}

/// Reads the whole body, failing with 413 past [`BODY_LIMIT`].
async fn read_limited(req: &HttpRequest, mut payload: web::Payload) -> Result<Vec<u8>, ApiError> {
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > BODY_LIMIT as u64 {
            return Err(ApiError::too_large(BODY_LIMIT));
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::invalid("the request body could not be read").with_cause(e.to_string())
        })?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(ApiError::too_large(BODY_LIMIT));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses `bytes` as a JSON object into `T`, naming the offending field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid(format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::invalid("the body must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || inner.to_string().starts_with("unknown field") {
            ApiError::invalid(inner.to_string())
        } else {
            ApiError::invalid(format!("{path}: {inner}"))
        }
    })
}

/// Reads a required JSON object body into `T`.
///
/// # Errors
/// `invalid_payload` for a wrong or missing Content-Type, malformed JSON, a
/// non-object, an unknown field or a wrong type; `payload_too_large` past
/// [`BODY_LIMIT`].
pub async fn json<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<T, ApiError> {
    if !is_json(req)? {
        return Err(ApiError::invalid(
            "the body must be JSON with Content-Type: application/json",
        ));
    }
    let bytes = read_limited(req, payload).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "the body must be a JSON object, got none",
        ));
    }
    parse(&bytes)
}

/// Reads an optional JSON object body: an empty body (with any or no
/// Content-Type) is `None`.
///
/// # Errors
/// As [`json`], for a non-empty body.
pub async fn optional_json<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Option<T>, ApiError> {
    let bytes = read_limited(req, payload).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if !is_json(req)? {
        return Err(ApiError::invalid(
            "the body must be JSON with Content-Type: application/json",
        ));
    }
    parse(&bytes).map(Some)
}
