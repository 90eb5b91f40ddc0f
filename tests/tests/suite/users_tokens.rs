//! Users and API tokens: create, list, expire, revoke; the last admin stays.

use reqwest::Method;
use serde_json::json;
use wavecast_e2e::TestApp;
use wavecast_server::identity::views::{CreatedToken, TokenView, UserView, WhoAmI};

async fn whoami_names_user_and_token(app: TestApp) {
    let me: WhoAmI = app.get("/api/v1/me", Some(&app.admin_token)).await.json();
    assert_eq!(me.user.name, "admin");
    assert_eq!(me.token.name, "tests");
    assert!(app.admin_token.starts_with(&me.token.prefix));
}

/// The one-time bootstrap token made the harness's admin token (as a new
/// operator makes theirs), and that was its one use.
async fn the_bootstrap_token_ends_when_used(app: TestApp) {
    let d = app
        .get("/api/v1/me", Some(&app.bootstrap_token))
        .await
        .problem(401);
    assert!(d.contains("revoked"), "{d}");
    let audit = app
        .get("/api/v1/audit?action=token.revoke", Some(&app.admin_token))
        .await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    let entry = &audit.body["items"][0];
    assert_eq!(entry["actor"], "system", "{entry}");
    assert!(
        app.bootstrap_token
            .starts_with(entry["object_id"].as_str().expect("the token's prefix")),
        "{entry}"
    );
    // A token of a person is not spent by use.
    let again = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin_token),
            &json!({ "name": "second" }),
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(
        app.get("/api/v1/me", Some(&app.admin_token)).await.status,
        200
    );
}

async fn duplicate_user_is_409(app: TestApp) {
    let admin = Some(app.admin_token.as_str());
    let body = json!({ "name": "carol", "role": "support" });
    assert_eq!(app.post("/api/v1/users", admin, &body).await.status, 201);
    app.post("/api/v1/users", admin, &body).await.problem(409);
    let users: Vec<UserView> = app.get("/api/v1/users", admin).await.json();
    assert_eq!(users.iter().filter(|u| u.name == "carol").count(), 1);
}

async fn tokens_are_stored_hashed_and_listed_without_secret(app: TestApp) {
    let admin = Some(app.admin_token.as_str());
    let created: CreatedToken = app
        .post(
            "/api/v1/tokens",
            admin,
            &json!({ "name": "ci", "expires_in_days": 30 }),
        )
        .await
        .json();
    assert!(created.token.starts_with(&created.meta.prefix));
    let listed = app.get("/api/v1/tokens", admin).await;
    assert!(
        !listed.body.to_string().contains(&created.token),
        "secret never listed"
    );
    let tokens: Vec<TokenView> = listed.json();
    assert!(tokens.iter().any(|t| t.id == created.meta.id));
    // The new token works.
    let me: WhoAmI = app.get("/api/v1/me", Some(&created.token)).await.json();
    assert_eq!(me.token.id, created.meta.id);
}

async fn revoked_token_is_401_and_others_cannot_revoke(app: TestApp) {
    let alice = app.user_with_role("alice", "operator").await;
    let bob = app.user_with_role("bob", "operator").await;
    let me: WhoAmI = app.get("/api/v1/me", Some(&alice)).await.json();
    let path = format!("/api/v1/tokens/{}", me.token.id);
    // Bob cannot see or revoke Alice's token: it is not found for him.
    app.request(Method::DELETE, &path, Some(&bob), None::<&()>)
        .await
        .problem(404);
    assert_eq!(app.get("/api/v1/me", Some(&alice)).await.status, 200);
    // Alice revokes her own.
    let a = app
        .request(Method::DELETE, &path, Some(&alice), None::<&()>)
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let detail = app.get("/api/v1/me", Some(&alice)).await.problem(401);
    assert!(detail.contains("revoked"), "{detail}");
}

async fn token_lifetime_is_validated(app: TestApp) {
    let admin = Some(app.admin_token.as_str());
    for days in [0, 100_000] {
        app.post(
            "/api/v1/tokens",
            admin,
            &json!({ "name": "x", "expires_in_days": days }),
        )
        .await
        .problem(422);
    }
    app.post("/api/v1/tokens", admin, &json!({ "name": "  " }))
        .await
        .problem(422);
    app.post(
        "/api/v1/tokens",
        admin,
        &json!({ "name": "x", "user": "nobody" }),
    )
    .await
    .problem(404);
}

async fn non_admin_cannot_mint_tokens_for_others(app: TestApp) {
    let op = app.user_with_role("otto", "operator").await;
    app.post(
        "/api/v1/tokens",
        Some(&op),
        &json!({ "name": "x", "user": "admin" }),
    )
    .await
    .problem(403);
    // But may mint their own.
    let own = app
        .post("/api/v1/tokens", Some(&op), &json!({ "name": "mine" }))
        .await;
    assert_eq!(own.status, 201, "{}", own.body);
}

async fn last_admin_cannot_be_demoted_or_disabled(app: TestApp) {
    let admin = Some(app.admin_token.as_str());
    for body in [json!({ "role": "viewer" }), json!({ "disabled": true })] {
        let a = app
            .request(Method::PATCH, "/api/v1/users/admin", admin, Some(&body))
            .await;
        assert!(a.problem(409).contains("last enabled admin"));
    }
    // With a second admin it is allowed.
    app.user_with_role("second", "admin").await;
    let a = app
        .request(
            Method::PATCH,
            "/api/v1/users/admin",
            admin,
            Some(&json!({ "role": "viewer" })),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
}

/// Passwords through the API: an admin sets one, its owner changes it only
/// with the current one, each change is audited with who made it, and a
/// weak password is refused.
async fn passwords_are_set_by_admins_and_changed_by_their_owners(app: TestApp) {
    let put = |path: String, token: String, body: serde_json::Value| {
        let app = &app;
        async move {
            app.request(reqwest::Method::PUT, &path, Some(&token), Some(&body))
                .await
        }
    };
    let ops = app.user_with_role("ops", "operator").await;
    let admin = app.admin_token.clone();
    // Only admins set another's password.
    put(
        "/api/v1/users/admin/password".into(),
        ops.clone(),
        json!({"password": "a long enough password"}),
    )
    .await
    .problem(403);
    put(
        "/api/v1/users/ops/password".into(),
        admin.clone(),
        json!({"password": "short"}),
    )
    .await
    .problem(422);
    let set = put(
        "/api/v1/users/ops/password".into(),
        admin.clone(),
        json!({"password": "the first long password"}),
    )
    .await;
    assert_eq!(set.status, 204, "{}", set.body);
    // The owner changes it with the current one, never without.
    put(
        "/api/v1/me/password".into(),
        ops.clone(),
        json!({"new": "the second long password"}),
    )
    .await
    .problem(422);
    put(
        "/api/v1/me/password".into(),
        ops.clone(),
        json!({"current": "not it at all, no", "new": "the second long password"}),
    )
    .await
    .problem(403);
    let changed = put(
        "/api/v1/me/password".into(),
        ops.clone(),
        json!({"current": "the first long password", "new": "the second long password"}),
    )
    .await;
    assert_eq!(changed.status, 204, "{}", changed.body);
    let audit = app
        .get("/api/v1/audit?action=user.password", Some(&admin))
        .await;
    let by: Vec<(String, String)> = audit.body["items"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or_default().to_owned(),
                e["details"]["by"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        by,
        [
            ("ops".to_owned(), "self".to_owned()),
            ("admin".to_owned(), "admin".to_owned())
        ],
        "{}",
        audit.body
    );
}

wavecast_e2e::both_backends!(
    passwords_are_set_by_admins_and_changed_by_their_owners,
    whoami_names_user_and_token,
    the_bootstrap_token_ends_when_used,
    duplicate_user_is_409,
    tokens_are_stored_hashed_and_listed_without_secret,
    revoked_token_is_401_and_others_cannot_revoke,
    token_lifetime_is_validated,
    non_admin_cannot_mint_tokens_for_others,
    last_admin_cannot_be_demoted_or_disabled,
);
