//! Authentication and the built-in authorization policy, over HTTP.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{minigroup_body, now, TestApp, AUDIENCE};

crate::on_both_backends!(
    tokens_are_checked,
    the_policy_is_enforced,
    unknown_minigroups_are_404_for_everyone,
);

async fn tokens_are_checked(app: TestApp) {
    let path = "/api/v1/minigroups";
    let body = Some(minigroup_body("auth"));
    let expired = app.sign(&json!({"sub": "svc", "aud": "svc.example.org", "exp": now() - 120}));
    let no_exp = app.sign(&json!({"sub": "svc", "aud": "svc.example.org"}));
    let wrong_key = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": "svc", "aud": "svc.example.org", "exp": now() + 60}),
        &jsonwebtoken::EncodingKey::from_secret(b"another secret"),
    )
    .expect("token");
    for (name, token) in [
        ("expired", Some(expired.as_str())),
        ("no exp", Some(no_exp.as_str())),
        ("wrong key", Some(wrong_key.as_str())),
        ("garbage", Some("not.a.token")),
        ("none", None),
    ] {
        let a = app.send(Method::POST, path, token, body.clone()).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{name}");
        a.assert_problem(401, "authentication_failed");
        let text = a.body.to_string();
        if let Some(t) = token {
            assert!(!text.contains(t), "the token is never echoed");
        }
    }
    assert!(app.event.requests().is_empty());
    // aud as a one-element array is accepted.
    let arr = app.sign(&json!({"sub": "svc", "aud": ["svc.example.org"], "exp": now() + 60}));
    let a = app.send(Method::POST, path, Some(&arr), body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    // Health probes need no token.
    assert_eq!(
        app.send(Method::GET, "/healthz", None, None).await.status,
        StatusCode::OK
    );
}

async fn the_policy_is_enforced(app: TestApp) {
    let m = app.create_ok("policy").await;
    let id = m["class_id"].as_str().expect("id");
    let reader = app.token("alice", AUDIENCE);
    let outsider = app.token("bob", "other.example.org");
    let host = app.token("teacher", AUDIENCE);
    let by_id = format!("/api/v1/minigroups/{id}");
    let by_scope = format!("/api/v1/audiences/{AUDIENCE}/minigroups/policy");

    // Only trusted accounts create.
    let a = app
        .send(
            Method::POST,
            "/api/v1/minigroups",
            Some(&host),
            Some(minigroup_body("mine")),
        )
        .await;
    a.assert_problem(403, "access_denied");

    // Same audience reads and downloads; another audience does not.
    for path in [&by_id, &by_scope] {
        assert_eq!(
            app.send(Method::GET, path, Some(&reader), None)
                .await
                .status,
            StatusCode::OK
        );
        app.send(Method::GET, path, Some(&outsider), None)
            .await
            .assert_problem(403, "access_denied");
    }
    let dl = format!("{by_id}/download");
    app.send(Method::GET, &dl, Some(&reader), None)
        .await
        .assert_problem(404, "recording_not_found");
    app.send(Method::GET, &dl, Some(&outsider), None)
        .await
        .assert_problem(403, "access_denied");

    // A reader may not update, post events or recreate; the host may.
    let update = Some(json!({"reserve": 3}));
    let event = Some(json!({"type": "message", "data": {"text": "hi"}}));
    for (method, path, body) in [
        (Method::PUT, by_id.clone(), update.clone()),
        (Method::PUT, by_scope.clone(), update.clone()),
        (Method::POST, format!("{by_id}/events"), event.clone()),
        (Method::POST, format!("{by_id}/recreate"), Some(json!({}))),
    ] {
        app.send(method.clone(), &path, Some(&reader), body.clone())
            .await
            .assert_problem(403, "access_denied");
        let a = app.send(method, &path, Some(&host), body).await;
        assert!(a.status.is_success(), "host {path}: {:?}", a.body);
    }
    assert_eq!(app.get(id).await.body["reserve"], 3);
}

async fn unknown_minigroups_are_404_for_everyone(app: TestApp) {
    let unknown = uuid::Uuid::new_v4();
    for token in [app.trusted(), app.token("bob", "other.example.org")] {
        for (method, path, body) in [
            (Method::GET, format!("/api/v1/minigroups/{unknown}"), None),
            (
                Method::GET,
                "/api/v1/audiences/usr.example.org/minigroups/nope".to_owned(),
                None,
            ),
            (
                Method::PUT,
                format!("/api/v1/minigroups/{unknown}"),
                Some(json!({"reserve": 1})),
            ),
            (
                Method::POST,
                format!("/api/v1/minigroups/{unknown}/events"),
                Some(json!({"type": "t", "data": 1})),
            ),
            (
                Method::POST,
                format!("/api/v1/minigroups/{unknown}/recreate"),
                None,
            ),
            (
                Method::GET,
                format!("/api/v1/minigroups/{unknown}/download"),
                None,
            ),
        ] {
            app.send(method, &path, Some(&token), body)
                .await
                .assert_problem(404, "minigroup_not_found");
        }
    }
    app.send(
        Method::GET,
        "/api/v1/minigroups/not-a-uuid",
        Some(&app.trusted()),
        None,
    )
    .await
    .assert_problem(400, "invalid_payload");
}
