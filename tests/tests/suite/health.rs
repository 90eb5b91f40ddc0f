//! Health, readiness, version, and problem+json for unknown routes and bad input.

use wavecast_e2e::TestApp;

async fn readyz_and_healthz_answer(app: TestApp) {
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.body["database"], "ok");
    assert!(
        ready.headers.contains_key("x-request-id"),
        "request id header"
    );
    assert_eq!(app.get("/healthz", None).await.status, 200);
}

async fn version_names_the_backend(app: TestApp) {
    let v: wavecast_protocol::ServerVersion = app.get("/api/v1/version", None).await.json();
    assert_eq!(v.name, "wavecast");
    assert_eq!(v.protocol, wavecast_protocol::PROTOCOL_VERSION);
    let expected = match app.backend {
        wavecast_e2e::Backend::Sqlite => "sqlite",
        wavecast_e2e::Backend::Postgres => "postgres",
    };
    assert_eq!(v.database.as_deref(), Some(expected));
}

async fn unknown_routes_are_problems(app: TestApp) {
    let a = app.get("/api/v1/nothing-here", None).await;
    let detail = a.problem(404);
    assert!(detail.contains("/api/v1/nothing-here"), "{detail}");
}

async fn malformed_json_is_a_problem(app: TestApp) {
    let res = app
        .http
        .post(format!("{}/api/v1/users", app.address))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.headers()["content-type"].to_str().expect("ascii"),
        "application/problem+json"
    );
    let body: serde_json::Value = res.json().await.expect("json");
    assert!(
        body["detail"].as_str().unwrap_or_default().contains("JSON"),
        "{body}"
    );
}

async fn wrong_types_and_unknown_fields_are_422(app: TestApp) {
    let admin = Some(app.admin_token.as_str());
    let a = app
        .post(
            "/api/v1/users",
            admin,
            &serde_json::json!({ "name": "x", "role": "root" }),
        )
        .await;
    assert!(a.problem(422).contains("root"), "{}", a.body);
    let a = app
        .post(
            "/api/v1/users",
            admin,
            &serde_json::json!({ "name": "x", "role": "viewer", "colour": "red" }),
        )
        .await;
    assert!(a.problem(422).contains("colour"), "{}", a.body);
    let a = app.get("/api/v1/audit?limit=abc", admin).await;
    assert!(a.problem(400).contains("query string"), "{}", a.body);
}

wavecast_e2e::both_backends!(
    readyz_and_healthz_answer,
    version_names_the_backend,
    unknown_routes_are_problems,
    malformed_json_is_a_problem,
    wrong_types_and_unknown_fields_are_422,
);
