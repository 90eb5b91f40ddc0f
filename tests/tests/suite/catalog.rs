//! The fault catalog: loaded at start (the built-in sample catalog, or the
//! configured file), read by every role, edited by operators and support
//! staff with an audit entry, and refusing bad entries without changing
//! anything. A restart adds missing codes and keeps the API's edits.

use reqwest::Method;
use serde_json::{json, Value};
use wavecast_e2e::TestApp;
use wavecast_server::{
    fleet::views::CatalogEntryView,
    identity::views::{AuditEntry, Page},
};

const CATALOG: &str = "/api/v1/fault-catalog";

fn body(title: &str) -> Value {
    json!({
        "title": title,
        "class": "software",
        "severity": "major",
        "kb": "Restart the guide; if it keeps failing, update the firmware.",
        "policy": { "occurrences": 3, "window_hours": 24 }
    })
}

async fn put(app: &TestApp, code: &str, token: &str, b: &Value) -> wavecast_e2e::app::Answer {
    app.request(
        Method::PUT,
        &format!("{CATALOG}/{code}"),
        Some(token),
        Some(b),
    )
    .await
}

async fn entries(app: &TestApp) -> Vec<CatalogEntryView> {
    app.get(CATALOG, Some(&app.admin_token)).await.json()
}

async fn the_sample_catalog_is_there_for_every_role(app: TestApp) {
    let viewer = app.user_with_role("vic", "viewer").await;
    let all: Vec<CatalogEntryView> = app.get(CATALOG, Some(&viewer)).await.json();
    assert_eq!(all.len(), 18, "{all:?}");
    let codes: Vec<_> = all.iter().map(|e| e.entry.code.as_str()).collect();
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    assert_eq!(codes, sorted, "listed by code");
    let psu: Value = app
        .get(&format!("{CATALOG}/HW-PSU-001"), Some(&viewer))
        .await
        .json();
    assert_eq!(psu["class"], "hardware");
    assert_eq!(psu["severity"], "critical");
    assert_eq!(psu["policy"]["immediate"], true);
    assert!(psu["kb"]
        .as_str()
        .unwrap_or_default()
        .contains("power adapter"));
    app.get(CATALOG, None).await.problem(401);
    let d = app
        .get(&format!("{CATALOG}/NO-SUCH-001"), Some(&viewer))
        .await
        .problem(404);
    assert!(d.contains("NO-SUCH-001"), "{d}");
}

async fn operators_and_support_edit_and_every_edit_is_audited(app: TestApp) {
    let support = app.user_with_role("sue", "support").await;
    let operator = app.user_with_role("otto", "operator").await;
    let viewer = app.user_with_role("vic", "viewer").await;

    let created = put(&app, "SW-EPG-108", &support, &body("Guide fails to load")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["code"], "SW-EPG-108");
    let mut changed = body("Programme guide fails to load");
    changed["severity"] = json!("critical");
    changed["policy"] = json!({ "occurrences": 1, "window_hours": 1, "immediate": true });
    let updated = put(&app, "SW-EPG-108", &operator, &changed).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let shown: Value = app
        .get(&format!("{CATALOG}/SW-EPG-108"), Some(&viewer))
        .await
        .json();
    assert_eq!(shown["title"], "Programme guide fails to load");
    assert_eq!(shown["severity"], "critical");
    assert_eq!(shown["policy"]["immediate"], true);
    assert_eq!(entries(&app).await.len(), 19);

    // Viewers read, never write.
    let d = put(&app, "SW-EPG-108", &viewer, &body("mine now"))
        .await
        .problem(403);
    assert!(d.contains("operator or support"), "{d}");
    app.request(
        Method::DELETE,
        &format!("{CATALOG}/SW-EPG-108"),
        Some(&viewer),
        None::<&Value>,
    )
    .await
    .problem(403);

    let page: Page<AuditEntry> = app
        .get("/api/v1/audit?object_id=SW-EPG-108", Some(&app.admin_token))
        .await
        .json();
    let mut actions: Vec<_> = page
        .items
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            ("fault_catalog.create", "sue"),
            ("fault_catalog.update", "otto")
        ]
    );

    let gone = app
        .request(
            Method::DELETE,
            &format!("{CATALOG}/SW-EPG-108"),
            Some(&support),
            None::<&Value>,
        )
        .await;
    assert_eq!(gone.status, 204);
    app.get(&format!("{CATALOG}/SW-EPG-108"), Some(&viewer))
        .await
        .problem(404);
    app.request(
        Method::DELETE,
        &format!("{CATALOG}/SW-EPG-108"),
        Some(&support),
        None::<&Value>,
    )
    .await
    .problem(404);
}

async fn bad_entries_are_refused_and_change_nothing(app: TestApp) {
    let token = app.admin_token.clone();
    let before = entries(&app).await;
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "SW-X-1",
            json!({ "policy": { "occurrences": 0, "window_hours": 24 } }),
            422,
            "occurrences",
        ),
        (
            "SW-X-1",
            json!({ "policy": { "occurrences": 1, "window_hours": 100000 } }),
            422,
            "window_hours",
        ),
        ("SW-X-1", json!({ "title": "" }), 422, "title"),
        ("SW-X-1", json!({ "kb": "x".repeat(20_000) }), 422, "kb"),
        ("SW-X-1", json!({ "class": "firmware" }), 422, "firmware"),
        ("SW-X-1", json!({ "colour": "red" }), 422, "colour"),
        ("bad%20code", json!({}), 422, "may hold only"),
    ];
    for (code, change, status, reason) in cases {
        let mut b = body("A title");
        for (k, v) in change.as_object().expect("object") {
            b[k] = v.clone();
        }
        let a = put(&app, code, &token, &b).await;
        let d = a.problem(status);
        assert!(d.contains(reason), "{reason}: {d}");
    }
    // Not JSON at all.
    let res = app
        .http
        .put(format!("{}{CATALOG}/SW-X-1", app.address))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 400);
    assert_eq!(entries(&app).await, before, "nothing changed");
}

async fn a_restart_adds_missing_codes_and_keeps_edits(app: TestApp) {
    let token = app.admin_token.clone();
    let mut edited = body("HDMI output lost (edited)");
    edited["class"] = json!("hardware");
    assert_eq!(put(&app, "HW-HDMI-001", &token, &edited).await.status, 200);
    let d = app
        .request(
            Method::DELETE,
            &format!("{CATALOG}/NET-DNS-202"),
            Some(&token),
            None::<&Value>,
        )
        .await;
    assert_eq!(d.status, 204);
    // What `serve` does at start, on the same database.
    let db = wavecast_server::platform::db::connect(&app.config.database)
        .await
        .expect("database");
    let added = wavecast_server::fleet::catalog::store::load_file(&db, None, chrono::Utc::now())
        .await
        .expect("loads");
    assert_eq!(added, 1, "only the deleted code comes back");
    let hdmi: Value = app
        .get(&format!("{CATALOG}/HW-HDMI-001"), Some(&token))
        .await
        .json();
    assert_eq!(hdmi["title"], "HDMI output lost (edited)");
    assert_eq!(entries(&app).await.len(), 18);

    // A catalog file that does not parse stops the start, naming it.
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("faults.toml");
    std::fs::write(&file, "[[fault]]\ncode = \"X\"\n").expect("write");
    let e = wavecast_server::fleet::catalog::store::load_file(&db, Some(&file), chrono::Utc::now())
        .await
        .expect_err("bad file");
    assert!(e.to_string().contains("faults.toml"), "{e}");
    assert_eq!(entries(&app).await.len(), 18, "nothing added");
}

wavecast_e2e::both_backends!(
    the_sample_catalog_is_there_for_every_role,
    operators_and_support_edit_and_every_edit_is_audited,
    bad_entries_are_refused_and_change_nothing,
    a_restart_adds_missing_codes_and_keeps_edits,
);

/// A server started with `faults.catalog_file` loads that file instead of
/// the sample catalog.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_catalog_file_is_loaded_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("faults.toml");
    std::fs::write(
        &file,
        r#"[[fault]]
code = "STB-FAN-900"
title = "Fan stalled"
class = "hardware"
severity = "major"
kb = "Check the vents; replace the fan."
policy = { occurrences = 2, window_hours = 12 }
"#,
    )
    .expect("write");
    let path = file.clone();
    let app = TestApp::spawn_with(wavecast_e2e::Backend::Sqlite, move |c| {
        c.faults.catalog_file = Some(path);
    })
    .await
    .expect("SQLite");
    let all = entries(&app).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].entry.code, "STB-FAN-900");
    assert_eq!(all[0].entry.policy.window_hours, 12);
}
