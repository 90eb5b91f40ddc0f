//! The audit log records writes with who, what, which object, when and from where.

use serde_json::json;
use wavecast_e2e::TestApp;
use wavecast_server::identity::views::{AuditEntry, Page};

async fn admin_write_is_audited(app: TestApp) {
    let admin = Some(app.admin_token.as_str());
    let before = chrono::Utc::now();
    let a = app
        .post(
            "/api/v1/users",
            admin,
            &json!({ "name": "erin", "role": "support" }),
        )
        .await;
    assert_eq!(a.status, 201);
    let page: Page<AuditEntry> = app
        .get("/api/v1/audit?action=user.create&object_type=user", admin)
        .await
        .json();
    let entry = page
        .items
        .iter()
        .find(|e| e.object_id == "erin")
        .expect("the write is in the audit log");
    assert_eq!(entry.actor, "admin");
    assert!(app
        .admin_token
        .starts_with(entry.token_prefix.as_deref().unwrap_or("-")));
    assert_eq!(entry.source_ip.as_deref(), Some("127.0.0.1"));
    assert!(entry.request_id.is_some());
    assert!(entry.at >= before - chrono::TimeDelta::seconds(1));
    assert_eq!(
        entry.details.as_ref().map(|d| d["role"].clone()),
        Some(json!("support"))
    );
}

async fn refused_writes_leave_no_entry(app: TestApp) {
    let viewer = app.user_with_role("val", "viewer").await;
    app.post(
        "/api/v1/users",
        Some(&viewer),
        &json!({ "name": "zed", "role": "admin" }),
    )
    .await
    .problem(403);
    let page: Page<AuditEntry> = app
        .get("/api/v1/audit?object_id=zed", Some(&app.admin_token))
        .await
        .json();
    assert!(page.items.is_empty(), "{:?}", page.items);
}

async fn audit_pages_newest_first(app: TestApp) {
    let admin = Some(app.admin_token.as_str());
    for i in 0..5 {
        let a = app
            .post(
                "/api/v1/users",
                admin,
                &json!({ "name": format!("p{i}"), "role": "viewer" }),
            )
            .await;
        assert_eq!(a.status, 201);
    }
    let first: Page<AuditEntry> = app
        .get("/api/v1/audit?action=user.create&limit=3", admin)
        .await
        .json();
    let ids: Vec<_> = first.items.iter().map(|e| e.object_id.as_str()).collect();
    assert_eq!(ids, ["p4", "p3", "p2"]);
    let next = first.next_before.expect("a second page");
    let second: Page<AuditEntry> = app
        .get(
            &format!("/api/v1/audit?action=user.create&limit=3&before={next}"),
            admin,
        )
        .await
        .json();
    let ids: Vec<_> = second.items.iter().map(|e| e.object_id.as_str()).collect();
    assert_eq!(ids, ["p1", "p0"]);
    assert_eq!(second.next_before, None);
    app.get("/api/v1/audit?limit=0", admin).await.problem(422);
}

wavecast_e2e::both_backends!(
    admin_write_is_audited,
    refused_writes_leave_no_entry,
    audit_pages_newest_first,
);
