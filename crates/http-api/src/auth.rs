//! Bearer-token authentication (contract §2).
//!
//! Every `/api/v1` route takes a [`Caller`] extractor, which verifies the
//! `Authorization: Bearer <JWT>` header with the [`Authenticator`] of the
//! [`crate::ApiState`] and yields the caller's [`AccountId`].

use std::fmt;
use std::future::{ready, Ready};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use domain::AccountId;
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::ApiState;

/// Seconds of clock skew tolerated when checking `exp` (and `nbf`): none.
pub const LEEWAY_SECS: u64 = 0;

/// The signature algorithms the service accepts (`JWT_ALGORITHM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256; the key is the shared secret.
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256; the key is a PEM public key.
    Rs256,
    /// ECDSA on P-256 with SHA-256; the key is a PEM public key.
    Es256,
}

impl JwtAlgorithm {
    /// The algorithm's JOSE name (`HS256`, `RS256`, `ES256`).
    pub fn as_str(&self) -> &'static str {
        match self {
            JwtAlgorithm::Hs256 => "HS256",
            JwtAlgorithm::Rs256 => "RS256",
            JwtAlgorithm::Es256 => "ES256",
        }
    }

    fn jose(self) -> Algorithm {
        match self {
            JwtAlgorithm::Hs256 => Algorithm::HS256,
            JwtAlgorithm::Rs256 => Algorithm::RS256,
            JwtAlgorithm::Es256 => Algorithm::ES256,
        }
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JwtAlgorithm {
    type Err = AuthError;

    /// Parses `HS256`, `RS256` or `ES256` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "HS256" => Ok(JwtAlgorithm::Hs256),
            "RS256" => Ok(JwtAlgorithm::Rs256),
            "ES256" => Ok(JwtAlgorithm::Es256),
            _ => Err(AuthError::UnknownAlgorithm(s.to_owned())),
        }
    }
}

/// How tokens are verified.
#[derive(Clone)]
pub struct AuthConfig {
    /// The signature algorithm every token must use.
    pub algorithm: JwtAlgorithm,
    /// HS256: the shared secret's bytes; RS256/ES256: the PEM public key's
    /// bytes (the file's contents, not its path).
    pub key: Vec<u8>,
    /// When set, tokens must carry exactly this `iss`.
    pub issuer: Option<String>,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// Why authentication failed, or why an [`Authenticator`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// `JWT_ALGORITHM` named no supported algorithm.
    #[error("unsupported JWT algorithm {0:?}: expected HS256, RS256 or ES256")]
    UnknownAlgorithm(String),
    /// The configured key is unusable (empty secret, bad PEM).
    #[error("invalid {algorithm} key: {reason}")]
    InvalidKey {
        /// The configured algorithm.
        algorithm: JwtAlgorithm,
        /// What is wrong with the key.
        reason: String,
    },
    /// Tokens can be issued only with an HS256 secret.
    #[error("issuing tokens needs an HS256 secret, the configured algorithm is {0}")]
    CannotIssue(JwtAlgorithm),
    /// No `Authorization` header.
    #[error("missing Authorization header")]
    Missing,
    /// The header is not `Bearer <token>`.
    #[error("the Authorization header must be 'Bearer <token>'")]
    NotBearer,
    /// The token failed verification; the text says why, never the token.
    #[error("{0}")]
    Invalid(String),
}

/// The claims this service reads.
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    aud: Audiences,
}

/// `aud` as a string or an array of strings.
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
enum Audiences {
    One(String),
    Many(Vec<String>),
}

/// The claims of an issued token.
#[derive(Debug, Serialize)]
struct IssuedClaims<'a> {
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
}

/// Verifies bearer tokens and turns them into account ids.
pub struct Authenticator {
    algorithm: JwtAlgorithm,
    decoding: DecodingKey,
    validation: Validation,
    /// Present for HS256 only.
    encoding: Option<EncodingKey>,
    issuer: Option<String>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Builds the verifier. `exp` is required and checked with
    /// [`LEEWAY_SECS`] of leeway; `nbf` is checked when present; `iss` is
    /// required and compared when [`AuthConfig::issuer`] is set; `aud` is read
    /// by this crate (a string or a one-element array), not validated by
    /// `jsonwebtoken`.
    ///
    /// # Errors
    /// [`AuthError::InvalidKey`] for an empty HS256 secret or a PEM that does
    /// not parse as an RSA (RS256) or EC (ES256) public key.
    pub fn new(cfg: AuthConfig) -> Result<Self, AuthError> {
        let invalid = |reason: String| AuthError::InvalidKey {
            algorithm: cfg.algorithm,
            reason,
        };
        let (decoding, encoding) = match cfg.algorithm {
            JwtAlgorithm::Hs256 => {
                if cfg.key.is_empty() {
                    return Err(invalid("the secret is empty".into()));
                }
                (
                    DecodingKey::from_secret(&cfg.key),
                    Some(EncodingKey::from_secret(&cfg.key)),
                )
            }
            JwtAlgorithm::Rs256 => (
                DecodingKey::from_rsa_pem(&cfg.key).map_err(|e| invalid(e.to_string()))?,
                None,
            ),
            JwtAlgorithm::Es256 => (
                DecodingKey::from_ec_pem(&cfg.key).map_err(|e| invalid(e.to_string()))?,
                None,
            ),
        };
        let mut validation = Validation::new(cfg.algorithm.jose());
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        match &cfg.issuer {
            Some(iss) => {
                validation.set_issuer(&[iss]);
                validation.set_required_spec_claims(&["exp", "iss"]);
            }
            None => validation.set_required_spec_claims(&["exp"]),
        }
        Ok(Self {
            algorithm: cfg.algorithm,
            decoding,
            validation,
            encoding,
            issuer: cfg.issuer,
        })
    }

    /// The configured algorithm.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }

    /// Verifies a raw token (without the `Bearer ` prefix) and returns the
    /// caller's account id `"{sub}.{aud}"`.
    ///
    /// # Errors
    /// [`AuthError::Invalid`] when the token is malformed, badly signed,
    /// expired, has the wrong issuer, or lacks a usable `sub`/`aud`.
    pub fn verify(&self, token: &str) -> Result<AccountId, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| AuthError::Invalid(describe(e.kind())))?;
        let aud = match data.claims.aud {
            Audiences::One(a) => a,
            Audiences::Many(mut v) if v.len() == 1 => v.remove(0),
            Audiences::Many(_) => {
                return Err(AuthError::Invalid(
                    "the token's aud must be a string or a one-element array".into(),
                ))
            }
        };
        AccountId::from_parts(&data.claims.sub, &aud).map_err(|_| {
            AuthError::Invalid("the token's sub and aud do not form an account id 'sub.aud'".into())
        })
    }

    /// Verifies the value of an `Authorization` header (`Bearer <token>`).
    ///
    /// # Errors
    /// [`AuthError::Missing`], [`AuthError::NotBearer`] or those of
    /// [`Authenticator::verify`].
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<AccountId, AuthError> {
        let value = authorization.ok_or(AuthError::Missing)?;
        let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::NotBearer)?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err(AuthError::NotBearer);
        }
        self.verify(token)
    }

    /// Issues a token for `sub`/`aud` valid for `ttl`, carrying the configured
    /// issuer. Meant for development (the app prints one at start-up).
    ///
    /// # Errors
    /// [`AuthError::CannotIssue`] unless the algorithm is HS256.
    pub fn issue_dev_token(
        &self,
        sub: &str,
        aud: &str,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        let key = self
            .encoding
            .as_ref()
            .ok_or(AuthError::CannotIssue(self.algorithm))?;
        let now = unix_now();
        let exp = now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2));
        sign(key, sub, aud, now, exp, self.issuer.as_deref())
    }
}

/// Signs an HS256 token with `sub`, `aud`, `exp` (unix seconds), `iat` = now
/// and no issuer. For development tools and tests.
///
/// # Errors
/// [`AuthError::InvalidKey`] for an empty secret.
pub fn encode_hs256(secret: &[u8], sub: &str, aud: &str, exp: i64) -> Result<String, AuthError> {
    if secret.is_empty() {
        return Err(AuthError::InvalidKey {
            algorithm: JwtAlgorithm::Hs256,
            reason: "the secret is empty".into(),
        });
    }
    sign(
        &EncodingKey::from_secret(secret),
        sub,
        aud,
        unix_now(),
        exp,
        None,
    )
}

fn sign(
    key: &EncodingKey,
    sub: &str,
    aud: &str,
    iat: i64,
    exp: i64,
    iss: Option<&str>,
) -> Result<String, AuthError> {
    let claims = IssuedClaims {
        sub,
        aud,
        exp,
        iat,
        iss,
    };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, key).map_err(|e| {
        AuthError::InvalidKey {
            algorithm: JwtAlgorithm::Hs256,
            reason: e.to_string(),
        }
    })
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A short, token-free reason for a verification failure.
fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::InvalidSignature => "the token's signature is invalid".into(),
        ErrorKind::InvalidIssuer => "the token's issuer is not accepted".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        ErrorKind::InvalidAlgorithm => "the token's algorithm is not accepted".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("the token lacks the {c} claim"),
        ErrorKind::Json(e) => format!("the token's claims are malformed: {e}"),
        _ => "the token is malformed".into(),
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub AccountId);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<ApiState>>() else {
            return ready(Err(ApiError::internal("ApiState is not registered")));
        };
        let header = match req.headers().get(header::AUTHORIZATION) {
            None => None,
            Some(v) => match v.to_str() {
                Ok(s) => Some(s),
                Err(_) => return ready(Err(ApiError::unauthenticated(&AuthError::NotBearer))),
            },
        };
        ready(
            state
                .auth
                .authenticate(header)
                .map(Caller)
                .map_err(|e| ApiError::unauthenticated(&e)),
        )
    }
}
