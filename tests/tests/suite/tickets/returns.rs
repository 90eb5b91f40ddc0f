//! Warranty returns, repair quotes and reopening: replacing a box moves the
//! subscriber, the warranty start, the tickets and the licence
//! activations, and retires the old box; a voided warranty gives a repair ticket (and `null` restores it);
//! a quote on a warranty ticket is refused, one on a repair ticket answered
//! once; a resolved support ticket counts a repeat on the same version and
//! reopens on a newer one, and a redelivered fault is not counted twice.

use serde_json::{json, Value};
use wavecast_e2e::{
    fleet::{enrol_many, fault, send_events as send},
    support::{at, patch, put, subscriber, tickets_of},
    trust::server_signs,
    TestApp,
};

async fn returns_quotes_and_reopening(app: TestApp) {
    let admin = app.admin_token.clone();
    let support = app.user_with_role("desk", "support").await;
    let boxes = enrol_many(&app, 0, 3, "X1", &[("x1-firmware", "4.1.0", 1)]).await;
    assert_eq!(
        put(
            &app,
            "/api/v1/warranties/X1",
            &admin,
            &json!({ "months": 24 })
        )
        .await
        .status,
        204
    );
    let now = app.clock.now();
    let w1 = subscriber(&app, "W-1", "premium", None, &["SN000000"], now).await;
    subscriber(
        &app,
        "R-1",
        "basic",
        None,
        &["SN000001"],
        now - chrono::Duration::days(3 * 365),
    )
    .await;
    let t = now.timestamp();

    // A critical hardware fault opens a warranty ticket at once, urgent on
    // the premium plan.
    send(
        &app,
        &boxes[0],
        vec![fault("psu-1", t, "HW-PSU-001", None, "4.1.0")],
    )
    .await;
    let w = tickets_of(&app, "SN000000").await;
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(w[0]["kind"], "warranty");
    assert_eq!(w[0]["priority"], "urgent", "{}", w[0]);
    let wid = w[0]["id"].as_i64().expect("id");
    // Quotes are for repair tickets only.
    let q = app
        .post(
            &format!("/api/v1/tickets/{wid}/quote"),
            Some(&support),
            &json!({ "amount_minor": 4900, "currency": "EUR" }),
        )
        .await;
    q.problem(409);
    // The box holds a node-locked licence of its own and one of its
    // subscriber's, both activated on it.
    let a = Some(admin.as_str());
    let made = app
        .post(
            "/api/v1/products",
            a,
            &json!({ "code": "drm-sl3000", "name": "PlayReady SL3000" }),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let locked = app
        .post(
            "/api/v1/licence-policies",
            a,
            &json!({ "name": "sl3000-box", "product": "drm-sl3000", "expiry": "stop",
                     "max_boxes": 1, "max_activations_per_day": 1 }),
        )
        .await;
    assert_eq!(locked.status, 201, "{}", locked.body);
    let mut licences = Vec::new();
    for holder in [
        json!({ "device": "SN000000" }),
        json!({ "subscriber": "W-1" }),
    ] {
        let mut body = json!({ "policy": "sl3000-box" });
        if let (Some(b), Some(h)) = (body.as_object_mut(), holder.as_object()) {
            b.extend(h.clone());
        }
        let l = app.post("/api/v1/licences", a, &body).await;
        assert_eq!(l.status, 201, "{}", l.body);
        let id = l.body["id"].as_str().expect("id").to_owned();
        let on = app
            .post(
                &format!("/api/v1/licences/{id}/activations"),
                a,
                &json!({ "device": "SN000000" }),
            )
            .await;
        assert_eq!(on.status, 200, "{}", on.body);
        licences.push(id);
    }
    // Replace the box: subscriber, warranty start, tickets and licence
    // activations move; the old box is retired and its credential stops
    // working.
    let r = app
        .post(
            &format!("/api/v1/tickets/{wid}/rma"),
            Some(&support),
            &json!({ "action": "replace", "replacement": "SN000002", "note": "swap at the shop" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["rma"]["replacement"]["serial"], "SN000002");
    assert_eq!(r.body["rma"]["licences_moved"], 2, "{}", r.body["rma"]);
    // Both licences are the new box's now, without counting against their
    // limits (one box, one activation a day, both spent by the old box).
    for id in &licences {
        let v = app
            .post(
                "/api/v1/licences/validate",
                a,
                &json!({ "licence": id, "device": "SN000002", "product": "drm-sl3000" }),
            )
            .await;
        assert_eq!(v.body["code"], "VALID", "{}", v.body);
        let gone = app
            .post(
                "/api/v1/licences/validate",
                a,
                &json!({ "licence": id, "device": "SN000000" }),
            )
            .await;
        assert_ne!(gone.body["code"], "VALID", "{}", gone.body);
    }
    let new = app.get("/api/v1/devices/SN000002", Some(&admin)).await.body;
    let old = app.get("/api/v1/devices/SN000000", Some(&admin)).await.body;
    assert_eq!(new["subscriber_id"], w1.as_str());
    assert_eq!(
        at(&new["activated_at"]).timestamp(),
        now.timestamp(),
        "the warranty runs on"
    );
    assert_eq!(old["status"], "decommissioned");
    assert!(old["subscriber_id"].is_null());
    assert_eq!(old["replaced_by"], new["id"]);
    assert_eq!(
        r.body["device_id"], new["id"],
        "the ticket follows the subscriber's box"
    );
    let refused = app
        .post(
            "/api/v1/device/events",
            Some(&boxes[0].credential),
            &json!({ "events": [] }),
        )
        .await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    // A box whose warranty is void gets a repair ticket for hardware.
    let v = patch(
        &app,
        "/api/v1/devices/SN000002/warranty",
        &support,
        &json!({ "void_reason": "liquid damage" }),
    )
    .await;
    assert_eq!(v.status, 200, "{}", v.body);
    assert_eq!(v.body["warranty"]["state"], "void");
    send(
        &app,
        &boxes[2],
        vec![fault("emmc-1", t, "HW-EMMC-004", None, "4.1.0")],
    )
    .await;
    let kinds: Vec<String> = tickets_of(&app, "SN000002")
        .await
        .iter()
        .map(|t| {
            format!(
                "{}:{}",
                t["fault_code"].as_str().unwrap_or(""),
                t["kind"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(
        kinds.contains(&"HW-EMMC-004:repair".to_owned()),
        "{kinds:?}"
    );
    // null restores the warranty (not the same as leaving it out).
    let kept = patch(
        &app,
        "/api/v1/devices/SN000002/warranty",
        &support,
        &json!({ "activated_at": now }),
    )
    .await;
    assert_eq!(kept.body["warranty"]["state"], "void", "{}", kept.body);
    let restored = patch(
        &app,
        "/api/v1/devices/SN000002/warranty",
        &support,
        &json!({ "void_reason": null }),
    )
    .await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(
        restored.body["warranty"]["state"], "covered",
        "{}",
        restored.body
    );

    // Out of warranty: a repair ticket, a quote, the subscriber accepts.
    send(
        &app,
        &boxes[1],
        vec![fault("psu-2", t, "HW-PSU-001", None, "4.1.0")],
    )
    .await;
    let rep = tickets_of(&app, "SN000001").await;
    assert_eq!(rep[0]["kind"], "repair", "{}", rep[0]);
    let rid = rep[0]["id"].as_i64().expect("id");
    let q = app
        .post(
            &format!("/api/v1/tickets/{rid}/quote"),
            Some(&support),
            &json!({ "amount_minor": 4900, "currency": "EUR", "note": "new power board" }),
        )
        .await;
    assert_eq!(q.status, 201, "{}", q.body);
    assert_eq!(q.body["status"], "pending", "waiting on the subscriber");
    let bad = app
        .post(
            &format!("/api/v1/tickets/{rid}/quote"),
            Some(&support),
            &json!({ "amount_minor": 4900, "currency": "euro" }),
        )
        .await;
    bad.problem(422);
    let token = app
        .post("/api/v1/subscribers/R-1/tokens", Some(&support), &json!({}))
        .await;
    let sub = token.body["token"].as_str().expect("token").to_owned();
    let yes = app
        .post(
            &format!("/api/v1/subscriber/tickets/{rid}/quote"),
            Some(&sub),
            &json!({ "accepted": true }),
        )
        .await;
    assert_eq!(yes.status, 200, "{}", yes.body);
    assert_eq!(yes.body["quote"]["status"], "accepted");
    assert_eq!(yes.body["status"], "open");
    let again = app
        .post(
            &format!("/api/v1/subscriber/tickets/{rid}/quote"),
            Some(&sub),
            &json!({ "accepted": false }),
        )
        .await;
    again.problem(409);

    // A resolved support ticket: the same fault on the same version counts;
    // on a newer version it reopens the ticket. No second ticket either way.
    send(
        &app,
        &boxes[1],
        vec![fault("k-1", t, "SW-KPANIC-103", Some("oops"), "4.1.0")],
    )
    .await;
    let sup: Vec<Value> = tickets_of(&app, "SN000001")
        .await
        .into_iter()
        .filter(|t| t["fault_code"] == "SW-KPANIC-103")
        .collect();
    assert_eq!(sup.len(), 1);
    let sid = sup[0]["id"].as_i64().expect("id");
    let path = format!("/api/v1/tickets/{sid}");
    assert_eq!(
        patch(&app, &path, &support, &json!({ "status": "resolved" }))
            .await
            .status,
        200
    );
    send(
        &app,
        &boxes[1],
        vec![fault("k-2", t + 60, "SW-KPANIC-103", Some("oops"), "4.1.0")],
    )
    .await;
    let same = app.get(&path, Some(&support)).await.body;
    assert_eq!(same["ticket"]["status"], "resolved", "{same}");
    assert_eq!(same["ticket"]["occurrences"], 2);
    send(
        &app,
        &boxes[1],
        vec![fault(
            "k-3",
            t + 120,
            "SW-KPANIC-103",
            Some("oops"),
            "4.2.0",
        )],
    )
    .await;
    let back = app.get(&path, Some(&support)).await.body;
    assert_eq!(back["ticket"]["status"], "open", "{back}");
    assert_eq!(back["ticket"]["reopened_count"], 1);
    assert_eq!(back["ticket"]["occurrences"], 3);
    let all: Vec<Value> = tickets_of(&app, "SN000001")
        .await
        .into_iter()
        .filter(|t| t["fault_code"] == "SW-KPANIC-103")
        .collect();
    assert_eq!(all.len(), 1, "reopened, not duplicated");
    // A redelivered fault is not counted again.
    send(
        &app,
        &boxes[1],
        vec![fault(
            "k-3",
            t + 120,
            "SW-KPANIC-103",
            Some("oops"),
            "4.2.0",
        )],
    )
    .await;
    let same = app.get(&path, Some(&support)).await.body;
    assert_eq!(same["ticket"]["occurrences"], 3);
}

wavecast_e2e::both_backends!(
    configure = |c| {
        server_signs(c);
        c.rollouts.checkin_interval_secs = 1;
        c.rollouts.checkin_jitter_pct = 0;
    };
    returns_quotes_and_reopening
);
