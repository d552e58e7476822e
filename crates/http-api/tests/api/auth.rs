//! Authentication (§2): which tokens pass, and the 401 answer.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::test::{self, TestRequest};
use domain::{AccountId, MockMinigroups};
use http_api::{AuthConfig, AuthError, Authenticator, JwtAlgorithm};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::json;

use crate::helpers::*;

fn read_uri() -> String {
    format!("/api/v1/minigroups/{CLASS_ID}")
}

/// A mock that expects one read by `account`.
fn expecting_read_by(account: &'static str) -> MockMinigroups {
    let mut svc = MockMinigroups::new();
    svc.expect_read()
        .withf(move |caller, _| caller.as_str() == account)
        .times(1)
        .returning(|_, _| Ok(full()));
    svc
}

/// Sends a read with `authorization` to an app over `auth` with a mock that
/// must not be called; asserts the 401 answer.
async fn assert_401(auth: Arc<Authenticator>, authorization: Option<String>) -> String {
    let app = app!(MockMinigroups::new(), auth);
    let mut req = TestRequest::get().uri(&read_uri());
    if let Some(value) = &authorization {
        req = req.insert_header((header::AUTHORIZATION, value.as_str()));
    }
    let res = json_of(test::call_service(&app, req.to_request()).await).await;
    assert_eq!(res.1.get(header::WWW_AUTHENTICATE).unwrap(), "Bearer");
    let detail = assert_problem(&res, 401, "authentication_failed");
    if let Some(value) = authorization {
        if let Some(token) = value.strip_prefix("Bearer ") {
            if token.len() > 8 {
                assert!(!res.2.to_string().contains(token), "token echoed");
            }
        }
    }
    detail
}

#[actix_web::test]
async fn every_api_route_needs_a_token() {
    let app = app!(MockMinigroups::new());
    let requests = [
        TestRequest::post()
            .uri("/api/v1/minigroups")
            .set_json(json!({})),
        TestRequest::get().uri(&read_uri()),
        TestRequest::put().uri(&read_uri()).set_json(json!({})),
        TestRequest::get().uri("/api/v1/audiences/a.b/minigroups/s"),
        TestRequest::put()
            .uri("/api/v1/audiences/a.b/minigroups/s")
            .set_json(json!({})),
        TestRequest::post()
            .uri(&format!("{}/events", read_uri()))
            .set_json(json!({})),
        TestRequest::post().uri(&format!("{}/recreate", read_uri())),
        TestRequest::get().uri(&format!("{}/download", read_uri())),
        TestRequest::get().uri("/api/v1/minigroups/not-a-uuid"),
    ];
    for req in requests {
        let res = json_of(test::call_service(&app, req.to_request()).await).await;
        assert_problem(&res, 401, "authentication_failed");
    }
}

#[actix_web::test]
async fn missing_or_malformed_headers_are_401() {
    let detail = assert_401(hs256(), None).await;
    assert!(detail.contains("missing"), "{detail}");
    for value in [
        "Basic YWxpY2U6cHc=".to_owned(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        format!("Token {}", token()),
        "Bearer not.a.jwt".to_owned(),
        "Bearer abc".to_owned(),
    ] {
        assert_401(hs256(), Some(value)).await;
    }
}

#[actix_web::test]
async fn expired_tokens_are_401() {
    let expired = http_api::encode_hs256(SECRET, "alice", AUDIENCE, now() - 5).unwrap();
    let detail = assert_401(hs256(), Some(format!("Bearer {expired}"))).await;
    assert!(detail.contains("expired"), "{detail}");
}

#[actix_web::test]
async fn tokens_without_exp_are_401() {
    let t = sign(
        Algorithm::HS256,
        &hs_key(),
        &json!({"sub": "alice", "aud": AUDIENCE}),
    );
    let detail = assert_401(hs256(), Some(format!("Bearer {t}"))).await;
    assert!(detail.contains("exp"), "{detail}");
}

#[actix_web::test]
async fn wrongly_signed_tokens_are_401() {
    let other = http_api::encode_hs256(b"another-secret", "alice", AUDIENCE, now() + 60).unwrap();
    let detail = assert_401(hs256(), Some(format!("Bearer {other}"))).await;
    assert!(detail.contains("signature"), "{detail}");
    // A token whose payload was altered after signing.
    let good = token();
    let mut parts: Vec<&str> = good.split('.').collect();
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &json!({"sub": "admin", "aud": AUDIENCE, "exp": now() + 60}),
        &EncodingKey::from_secret(b"x"),
    )
    .unwrap();
    let forged_payload: Vec<&str> = forged.split('.').collect();
    parts[1] = forged_payload[1];
    assert_401(hs256(), Some(format!("Bearer {}", parts.join(".")))).await;
}

#[actix_web::test]
async fn tokens_of_another_algorithm_are_401() {
    let es = sign(
        Algorithm::ES256,
        &EncodingKey::from_ec_pem(ES256_PRIVATE).unwrap(),
        &json!({"sub": "alice", "aud": AUDIENCE, "exp": now() + 60}),
    );
    assert_401(hs256(), Some(format!("Bearer {es}"))).await;
}

#[actix_web::test]
async fn aud_may_be_a_string_or_a_one_element_array() {
    for aud in [json!(AUDIENCE), json!([AUDIENCE])] {
        let t = sign(
            Algorithm::HS256,
            &hs_key(),
            &json!({"sub": "bob", "aud": aud, "exp": now() + 60}),
        );
        let app = app!(expecting_read_by("bob.usr.example.org"));
        let req = TestRequest::get()
            .uri(&read_uri())
            .insert_header((header::AUTHORIZATION, format!("Bearer {t}")))
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), 200, "{aud}");
    }
}

#[actix_web::test]
async fn bad_sub_or_aud_is_401() {
    let cases = [
        json!({"sub": "bob", "aud": ["a.org", "b.org"], "exp": now() + 60}),
        json!({"sub": "bob", "aud": [], "exp": now() + 60}),
        json!({"sub": "bob", "exp": now() + 60}),
        json!({"aud": AUDIENCE, "exp": now() + 60}),
        json!({"sub": "", "aud": AUDIENCE, "exp": now() + 60}),
        json!({"sub": "bob", "aud": "", "exp": now() + 60}),
        json!({"sub": 5, "aud": AUDIENCE, "exp": now() + 60}),
    ];
    for claims in cases {
        let t = sign(Algorithm::HS256, &hs_key(), &claims);
        assert_401(hs256(), Some(format!("Bearer {t}"))).await;
    }
}

fn with_issuer(issuer: &str) -> Arc<Authenticator> {
    Arc::new(
        Authenticator::new(AuthConfig {
            algorithm: JwtAlgorithm::Hs256,
            key: SECRET.to_vec(),
            issuer: Some(issuer.into()),
        })
        .unwrap(),
    )
}

#[actix_web::test]
async fn the_issuer_is_checked_when_configured() {
    let wrong = sign(
        Algorithm::HS256,
        &hs_key(),
        &json!({"sub": "alice", "aud": AUDIENCE, "exp": now() + 60, "iss": "evil"}),
    );
    let detail = assert_401(with_issuer("idp"), Some(format!("Bearer {wrong}"))).await;
    assert!(detail.contains("issuer"), "{detail}");
    let none = token();
    assert_401(with_issuer("idp"), Some(format!("Bearer {none}"))).await;

    let right = sign(
        Algorithm::HS256,
        &hs_key(),
        &json!({"sub": "alice", "aud": AUDIENCE, "exp": now() + 60, "iss": "idp"}),
    );
    let app = app!(
        expecting_read_by("alice.usr.example.org"),
        with_issuer("idp")
    );
    let req = TestRequest::get()
        .uri(&read_uri())
        .insert_header((header::AUTHORIZATION, format!("Bearer {right}")))
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 200);
}

fn pem_authenticator(algorithm: JwtAlgorithm, public: &[u8]) -> Arc<Authenticator> {
    Arc::new(
        Authenticator::new(AuthConfig {
            algorithm,
            key: public.to_vec(),
            issuer: None,
        })
        .unwrap(),
    )
}

#[actix_web::test]
async fn es256_and_rs256_tokens_verify_with_pem_public_keys() {
    let claims = json!({"sub": "carol", "aud": AUDIENCE, "exp": now() + 60});
    let cases = [
        (
            JwtAlgorithm::Es256,
            ES256_PUBLIC,
            sign(
                Algorithm::ES256,
                &EncodingKey::from_ec_pem(ES256_PRIVATE).unwrap(),
                &claims,
            ),
        ),
        (
            JwtAlgorithm::Rs256,
            RS256_PUBLIC,
            sign(
                Algorithm::RS256,
                &EncodingKey::from_rsa_pem(RS256_PRIVATE).unwrap(),
                &claims,
            ),
        ),
    ];
    for (alg, public, t) in cases {
        let app = app!(
            expecting_read_by("carol.usr.example.org"),
            pem_authenticator(alg, public)
        );
        let req = TestRequest::get()
            .uri(&read_uri())
            .insert_header((header::AUTHORIZATION, format!("Bearer {t}")))
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), 200, "{alg}");
        // An HS256 token, even one signed with the public key's bytes, fails.
        let hs = http_api::encode_hs256(public, "carol", AUDIENCE, now() + 60).unwrap();
        assert_401(pem_authenticator(alg, public), Some(format!("Bearer {hs}"))).await;
    }
}

#[actix_web::test]
async fn es256_tokens_signed_by_another_key_are_401() {
    let t = sign(
        Algorithm::ES256,
        &EncodingKey::from_ec_pem(include_bytes!("keys/es256-other-private.pem")).unwrap(),
        &json!({"sub": "carol", "aud": AUDIENCE, "exp": now() + 60}),
    );
    let detail = assert_401(
        pem_authenticator(JwtAlgorithm::Es256, ES256_PUBLIC),
        Some(format!("Bearer {t}")),
    )
    .await;
    assert!(detail.contains("signature"), "{detail}");
}

#[test]
fn bad_keys_fail_at_start_up() {
    let cases = [
        (JwtAlgorithm::Es256, b"not a pem".to_vec()),
        (
            JwtAlgorithm::Rs256,
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".to_vec(),
        ),
        (JwtAlgorithm::Rs256, ES256_PUBLIC.to_vec()),
        (JwtAlgorithm::Hs256, Vec::new()),
    ];
    for (algorithm, key) in cases {
        let err = Authenticator::new(AuthConfig {
            algorithm,
            key,
            issuer: None,
        })
        .unwrap_err();
        assert!(
            matches!(err, AuthError::InvalidKey { .. }),
            "{algorithm}: {err}"
        );
    }
}

#[test]
fn algorithms_parse_from_their_names() {
    assert_eq!(
        "HS256".parse::<JwtAlgorithm>().unwrap(),
        JwtAlgorithm::Hs256
    );
    assert_eq!(
        "rs256".parse::<JwtAlgorithm>().unwrap(),
        JwtAlgorithm::Rs256
    );
    assert_eq!(
        "ES256".parse::<JwtAlgorithm>().unwrap(),
        JwtAlgorithm::Es256
    );
    assert!("none".parse::<JwtAlgorithm>().is_err());
}

#[test]
fn dev_tokens_verify_and_exist_only_for_hs256() {
    let auth = with_issuer("dev");
    let t = auth
        .issue_dev_token("dev", "usr.example.org", Duration::from_secs(60))
        .unwrap();
    assert_eq!(
        auth.authenticate(Some(&format!("Bearer {t}"))).unwrap(),
        AccountId::parse("account", "dev.usr.example.org").unwrap()
    );
    let es = pem_authenticator(JwtAlgorithm::Es256, ES256_PUBLIC);
    assert_eq!(
        es.issue_dev_token("dev", "usr.example.org", Duration::from_secs(60))
            .unwrap_err(),
        AuthError::CannotIssue(JwtAlgorithm::Es256)
    );
}

#[test]
fn debug_output_hides_the_key() {
    let cfg = AuthConfig {
        algorithm: JwtAlgorithm::Hs256,
        key: SECRET.to_vec(),
        issuer: None,
    };
    let text = format!("{cfg:?} {:?}", Authenticator::new(cfg.clone()).unwrap());
    assert!(
        !text.contains(std::str::from_utf8(SECRET).unwrap()),
        "{text}"
    );
}
