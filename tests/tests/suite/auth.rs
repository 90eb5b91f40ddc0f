//! Authentication (401) and role checks (403) on management routes.

use serde_json::json;
use wavecast_e2e::TestApp;

async fn no_token_is_401(app: TestApp) {
    for path in [
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/audit",
    ] {
        let a = app.get(path, None).await;
        let detail = a.problem(401);
        assert!(detail.contains("Bearer"), "{path}: {detail}");
        assert!(a.headers.contains_key("www-authenticate"), "{path}");
    }
}

async fn bad_tokens_are_401(app: TestApp) {
    let forged = format!("wc_0123456789_{}", "ab".repeat(32));
    for token in ["nonsense", forged.as_str()] {
        app.get("/api/v1/me", Some(token)).await.problem(401);
    }
    // A real prefix with a wrong secret is refused too.
    let mut wrong = app.admin_token.clone();
    wrong.replace_range(wrong.len() - 4.., "0000");
    app.get("/api/v1/me", Some(&wrong)).await.problem(401);
    let basic = app
        .http
        .get(format!("{}/api/v1/me", app.address))
        .header("authorization", "Basic YWRtaW46YWRtaW4=")
        .send()
        .await
        .expect("sent");
    assert_eq!(basic.status(), 401);
}

async fn viewer_cannot_write(app: TestApp) {
    let viewer = app.user_with_role("vera", "viewer").await;
    let a = app
        .post(
            "/api/v1/users",
            Some(&viewer),
            &json!({ "name": "mallory", "role": "admin" }),
        )
        .await;
    let detail = a.problem(403);
    assert!(detail.contains("admin"), "{detail}");
    // Nothing was created.
    let users = app.get("/api/v1/users", Some(&app.admin_token)).await;
    assert!(!users.body.to_string().contains("mallory"));
    // The viewer can still read what viewers may read.
    assert_eq!(app.get("/api/v1/me", Some(&viewer)).await.status, 200);
}

async fn roles_gate_admin_routes(app: TestApp) {
    for role in ["operator", "support", "viewer"] {
        let token = app.user_with_role(&format!("u-{role}"), role).await;
        app.get("/api/v1/users", Some(&token)).await.problem(403);
        app.get("/api/v1/audit", Some(&token)).await.problem(403);
        // Others' tokens and users are admin-only too.
        app.get("/api/v1/tokens?all=true", Some(&token))
            .await
            .problem(403);
        app.get("/api/v1/users/admin", Some(&token))
            .await
            .problem(403);
    }
}

async fn disabled_users_lose_access(app: TestApp) {
    let token = app.user_with_role("dora", "operator").await;
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status, 200);
    let a = app
        .request(
            reqwest::Method::PATCH,
            "/api/v1/users/dora",
            Some(&app.admin_token),
            Some(&json!({ "disabled": true })),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let detail = app.get("/api/v1/me", Some(&token)).await.problem(401);
    assert!(detail.contains("disabled"), "{detail}");
}

wavecast_e2e::both_backends!(
    no_token_is_401,
    bad_tokens_are_401,
    viewer_cannot_write,
    roles_gate_admin_routes,
    disabled_users_lose_access,
);
