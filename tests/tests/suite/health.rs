//! Health, readiness, the server's metrics, version, and problem+json for
//! unknown routes and bad input.

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

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String, String) {
    let mut req = app.http.get(format!("{}/metrics", app.address));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("sent");
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ct, res.text().await.expect("body"))
}

async fn metrics_count_requests_events_and_rollouts(app: TestApp) {
    let boxes = wavecast_e2e::fleet::enrol_many(&app, 500, 1, "X1", &[]).await;
    let now = chrono::Utc::now().timestamp();
    let batch = serde_json::json!({
        "events": [
            { "id": "h1", "type": "health", "at": now - 30, "cpu_percent": 5.0 },
            { "id": "f1", "type": "fault", "at": now - 30, "code": "SW-APP-102" }
        ],
        "dropped_total": 0
    });
    for _ in 0..2 {
        let a = app
            .post("/api/v1/device/events", Some(&boxes[0].credential), &batch)
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let keys = wavecast_e2e::trust::Keys::new();
    keys.publish(&app).await;
    let data = wavecast_e2e::trust::payload(1000, 1);
    app.upload_and_publish(
        wavecast_e2e::trust::good_bundle(&keys, "x1-firmware", "4.2.0", &data),
        "x1-firmware@4.2.0",
    )
    .await;
    app.roll_out_to_all(&["x1-firmware@4.2.0"]).await;

    let (status, _, _) = scrape(&app, None).await;
    assert_eq!(status, 401, "a token is needed");
    let viewer = app.user_with_role("vic", "viewer").await;
    let (status, ct, text) = scrape(&app, Some(&viewer)).await;
    assert_eq!(status, 200, "{text}");
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    for line in [
        "wavecast_device_events_total{kind=\"health\"} 1",
        "wavecast_device_events_total{kind=\"fault\"} 1",
        "wavecast_device_events_duplicate_total 2",
        "wavecast_ingest_lag_seconds_count 2",
        "wavecast_http_requests_total{method=\"POST\",route=\"/api/v1/device/events\",status=\"200\"} 2",
        "wavecast_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"401\"} 1",
        "wavecast_directory_filled 1",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("wavecast_rollouts{state=") && l.ends_with(" 1")),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"));
}

wavecast_e2e::both_backends!(
    metrics_count_requests_events_and_rollouts,
    readyz_and_healthz_answer,
    version_names_the_backend,
    unknown_routes_are_problems,
    malformed_json_is_a_problem,
    wrong_types_and_unknown_fields_are_422,
);
