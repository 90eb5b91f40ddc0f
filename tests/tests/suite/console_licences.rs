//! Licences in a real browser: an operator finds a subscriber's licence,
//! reads its terms, boxes and validation log, suspends and reinstates it,
//! deactivates one box and activates another — each change reaching the
//! API and the audit log; the subscriber's and the box's pages list the
//! licence; a viewer reads without controls and the server refuses the
//! viewer's forms. The licence page's screenshot goes to `docs/console`.

use reqwest::StatusCode;
use serde_json::json;
use wavecast_e2e::{browser::Browser, fleet::enrol_many, support::subscriber, trust::Keys};

use crate::{
    console::{shots, PASSWORD},
    desk::{desk_app, support_user},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_look_after_licences_in_the_console() {
    let app = desk_app().await;
    Keys::new().publish(&app).await;
    support_user(&app, "olga", "operator").await;
    support_user(&app, "vic", "viewer").await;
    let admin = app.admin_token.clone();
    let t = Some(admin.as_str());
    let boxes = enrol_many(&app, 700, 2, "X1", &[("x1-firmware", "4.1.0", 1)]).await;
    let (one, two) = (boxes[0].serial.clone(), boxes[1].serial.clone());
    subscriber(&app, "L-1", "premium", None, &[&one, &two], app.clock.now()).await;
    for (path, body) in [
        (
            "/api/v1/products",
            json!({ "code": "codec-ddp", "name": "Dolby Digital Plus", "entitlements": ["atmos"] }),
        ),
        (
            "/api/v1/licence-policies",
            json!({ "name": "ddp-one-box", "product": "codec-ddp", "duration_days": 365,
                    "expiry": "keep_installed", "grace_days": 7, "max_boxes": 1,
                    "floating": true, "max_activations_per_day": 5 }),
        ),
    ] {
        let r = app.post(path, t, &body).await;
        assert_eq!(r.status, 201, "{path}: {}", r.body);
    }
    let l = app
        .post(
            "/api/v1/licences",
            t,
            &json!({ "policy": "ddp-one-box", "subscriber": "L-1" }),
        )
        .await;
    assert_eq!(l.status, 201, "{}", l.body);
    let id = l.body["id"].as_str().expect("id").to_owned();
    let a = app
        .post(
            &format!("/api/v1/licences/{id}/activations"),
            t,
            &json!({ "device": one }),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let v = app
        .post(
            "/api/v1/licences/validate",
            t,
            &json!({ "licence": id, "product": "codec-ddp", "device": two }),
        )
        .await;
    assert_eq!(v.body["code"], "TOO_MANY_DEVICES", "{}", v.body);

    let b = Browser::start(&app.address).await;
    b.check("licences", async {
        b.sign_in("olga", PASSWORD).await;
        b.goto("/licences").await;
        let row = format!("#licences tr[data-licence='{id}']");
        let line = b.text(&row).await;
        assert!(
            line.contains("codec-ddp") && line.contains("subscriber L-1"),
            "{line}"
        );
        assert!(b.text("#products").await.contains("Dolby Digital Plus"));
        let policies = b.text("#policies").await;
        assert!(
            policies.contains("ddp-one-box") && policies.contains("365 days"),
            "{policies}"
        );
        let log = b.text("#validations").await;
        assert!(
            log.contains("TOO_MANY_DEVICES") && log.contains(&two),
            "{log}"
        );

        // Narrowed to the subscriber, then the licence's own page.
        b.fill("#find input[name=subscriber]", "L-1").await;
        b.click_nav("#find button").await;
        assert!(b.text("h1").await.contains("subscriber L-1"));
        b.click_nav(&format!("{row} a")).await;
        assert!(b.text("#terms").await.contains("ddp-one-box"));
        assert!(
            b.has(&format!("#activations tr[data-serial='{one}']"))
                .await
        );
        assert!(b.text("#validations").await.contains("TOO_MANY_DEVICES"));
        b.screenshot(&shots().join("licence.png")).await;

        // Suspended and reinstated from the page.
        b.click_nav("#state-actions button[value=suspend]").await;
        assert!(b.text("#notice").await.contains("suspended"));
        assert_eq!(b.text("#state").await, "suspended");
        let shown = app.get(&format!("/api/v1/licences/{id}"), t).await;
        assert_eq!(shown.body["state"], "suspended", "{}", shown.body);
        b.click_nav("#state-actions button[value=reinstate]").await;
        assert_eq!(b.text("#state").await, "active");

        // The one box's activation moves to the other box.
        b.navigating(|| async {
            b.click(&format!("#activations tr[data-serial='{one}'] button"))
                .await;
            b.confirm().await;
        })
        .await;
        assert!(
            !b.has(&format!("#activations tr[data-serial='{one}']"))
                .await
        );
        b.fill("#activate input[name=device]", &two).await;
        b.click_nav("#activate button").await;
        assert!(b.text("#notice").await.contains(&two));
        assert!(
            b.has(&format!("#activations tr[data-serial='{two}']"))
                .await
        );

        // The subscriber's and the box's pages list the licence.
        b.goto("/subscribers/L-1").await;
        assert!(b
            .text(&format!("#licences tr[data-licence='{id}']"))
            .await
            .contains(&two));
        b.goto(&format!("/devices/{two}")).await;
        assert!(b.text("#licences").await.contains("codec-ddp"));

        // A viewer reads, without controls; the server refuses the forms.
        b.click_nav("header form button").await;
        b.sign_in("vic", PASSWORD).await;
        b.goto(&format!("/licences/{id}")).await;
        for control in ["#state-actions", "#activate", "#activations button"] {
            assert!(!b.has(control).await, "viewer: no {control}");
        }
        let status = b
            .post_by_hand(
                &app.address,
                &format!("/licences/{id}"),
                &[("action", "revoke")],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
    b.close().await;

    let shown = app.get(&format!("/api/v1/licences/{id}"), t).await;
    assert_eq!(shown.body["state"], "active", "the viewer revoked nothing");
    let audit = app.get("/api/v1/audit?object_type=licence", t).await;
    let by_olga: Vec<&str> = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["actor"] == "olga")
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "licence.suspend",
        "licence.reinstate",
        "licence.deactivate",
        "licence.activate",
    ] {
        assert!(by_olga.contains(&action), "{action} in {by_olga:?}");
    }
}
