//! Faults open tickets by themselves, with the real simulator reporting
//! them: a hardware fault on an in-warranty VIP box opens a warranty
//! ticket assigned to the subscriber's dedicated agent with a one-hour
//! first-response deadline; the same fault on an out-of-warranty basic box
//! opens a post-warranty repair ticket on the basic plan's SLA; a software
//! fault after a rollout opens a support ticket linked to the fleet
//! problem and the rollout; repeats open no second ticket; a breach (the
//! server's clock moved past it) escalates once and fires a signed webhook
//! at a real HTTP listener, which gets every event once. The report
//! counts the warranty claim against the fleet's boxes of its firmware.

use serde_json::json;
use wavecast_e2e::{
    sim::run as simulate,
    support::{at, put, signed_by, subscriber, tickets_of},
    trust::{good_bundle, payload, server_signs, Keys},
    webhook::Sink,
    TestApp,
};

async fn faults_open_tickets_by_warranty_plan_and_class(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let admin = app.admin_token.clone();
    app.user_with_role("vip-desk", "support").await;
    app.user_with_role("escalations", "support").await;
    // The listener fails its first call: the delivery is retried.
    let sink = Sink::start(1);
    let hook = app
        .post(
            "/api/v1/webhooks",
            Some(&admin),
            &json!({ "url": sink.url, "events": ["*"] }),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let secret = hook.body["secret"].as_str().expect("secret").to_owned();
    // Enrol the boxes first (three simulators at once), so they can be
    // linked before they report.
    let enrol = |prefix: &'static str| {
        let (app, keys) = (&app, &keys);
        async move {
            simulate(
                app,
                keys,
                &[
                    "--devices",
                    "1",
                    "--serial-prefix",
                    prefix,
                    "--duration",
                    "2",
                ],
            )
            .await
        }
    };
    futures_util::future::join_all(["VIP", "BASIC", "SOFT"].map(enrol)).await;
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
    subscriber(
        &app,
        "A-100",
        "vip",
        Some("vip-desk"),
        &["VIP000000"],
        now - chrono::Duration::days(30),
    )
    .await;
    subscriber(
        &app,
        "A-200",
        "basic",
        None,
        &["BASIC000000"],
        now - chrono::Duration::days(3 * 365),
    )
    .await;
    subscriber(
        &app,
        "A-300",
        "premium",
        None,
        &["SOFT000000"],
        now - chrono::Duration::days(10),
    )
    .await;
    // The basic plan answers repairs within an hour around the clock here;
    // the test moves the server's clock past it. Breaches go to
    // `escalations`.
    let basic = json!({ "first_response_secs": 3600, "resolution_secs": 7200,
                        "calendar": { "kind": "always" }, "warn_pct": 50,
                        "escalate_to": "escalations" });
    assert_eq!(
        put(&app, "/api/v1/plans/basic/sla/repair", &admin, &basic)
            .await
            .status,
        204
    );

    // HW-HDMI-001 opens a ticket at its third occurrence within 24 h; the
    // boxes report it at every visit (once a second) for 6 s, both at once.
    let report = |prefix: &'static str| {
        let (app, keys) = (&app, &keys);
        async move {
            simulate(
                app,
                keys,
                &[
                    "--devices",
                    "1",
                    "--serial-prefix",
                    prefix,
                    "--fault",
                    "HW-HDMI-001",
                    "--duration",
                    "6",
                ],
            )
            .await
        }
    };
    futures_util::future::join_all(["VIP", "BASIC"].map(report)).await;
    let vip = tickets_of(&app, "VIP000000").await;
    assert_eq!(vip.len(), 1, "repeats open no second ticket: {vip:#?}");
    let v = &vip[0];
    assert_eq!(v["kind"], "warranty", "{v}");
    assert_eq!(v["channel"], "device");
    assert_eq!(v["plan"], "vip");
    assert_eq!(v["assignee"], "vip-desk", "the dedicated agent: {v}");
    assert_eq!(v["priority"], "high", "major, raised for VIP: {v}");
    assert_eq!(v["fault_code"], "HW-HDMI-001");
    assert!(
        v["occurrences"].as_i64().expect("n") >= 4,
        "repeats are counted: {v}"
    );
    assert_eq!(v["sla_terms"]["first_response_secs"], 3600);
    assert_eq!(v["sla"]["first_response"]["state"], "on_track", "{v}");
    let due = at(&v["sla"]["first_response"]["due"]);
    assert_eq!(
        due - at(&v["created_at"]),
        chrono::Duration::hours(1),
        "{v}"
    );

    // The report counts the claim against the fleet's boxes of its model
    // and firmware (the three enrolled boxes run x1-firmware 4.1.0).
    let r = app
        .get("/api/v1/reports/tickets?days=1", Some(&admin))
        .await;
    let claims = &r.body["warranty_claims"]["X1"]["x1-firmware@4.1.0"];
    assert_eq!(claims["claims"], 1, "{}", r.body);
    assert_eq!(claims["boxes"], 3, "{}", r.body);

    let basic_t = tickets_of(&app, "BASIC000000").await;
    assert_eq!(basic_t.len(), 1, "{basic_t:#?}");
    let b = &basic_t[0];
    assert_eq!(b["kind"], "repair", "out of warranty: {b}");
    assert_eq!(b["plan"], "basic");
    assert_eq!(b["sla_terms"], basic, "the basic plan's repair SLA");
    let bid = b["id"].as_i64().expect("id");

    // A software fault after a rollout: SW-APP-102 on every visit of the
    // updated box.
    app.upload_and_publish(
        good_bundle(&keys, "x1-firmware", "4.2.0", &payload(4096, 3)),
        "x1-firmware@4.2.0",
    )
    .await;
    let r = app
        .post(
            "/api/v1/rollouts",
            Some(&admin),
            &json!({ "name": "4.2.0", "bundles": ["x1-firmware@4.2.0"],
                     "target": { "serials": ["SOFT000000"] }, "waves": [{ "percent": 100 }] }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let rollout = r.body["id"].as_str().expect("id").to_owned();
    simulate(
        &app,
        &keys,
        &[
            "--devices",
            "1",
            "--serial-prefix",
            "SOFT",
            "--faults-after-update-rate",
            "1",
            "--reboot-ms",
            "100",
            "--duration",
            "8",
        ],
    )
    .await;
    let soft = tickets_of(&app, "SOFT000000").await;
    assert_eq!(soft.len(), 1, "{soft:#?}");
    let s = &soft[0];
    assert_eq!(s["kind"], "support", "{s}");
    assert_eq!(s["plan"], "premium");
    assert_eq!(s["fault_code"], "SW-APP-102");
    assert_eq!(
        s["rollout_id"],
        rollout.as_str(),
        "the rollout that shipped it: {s}"
    );
    let problems = app
        .get("/api/v1/problems?code=SW-APP-102", Some(&admin))
        .await;
    let problem = problems.body[0]["id"]
        .as_str()
        .expect("a problem")
        .to_owned();
    assert_eq!(s["problem_id"], problem.as_str(), "{s}");
    let page = app
        .get(&format!("/api/v1/tickets/{}", s["id"]), Some(&admin))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.body["kb"]["code"], "SW-APP-102",
        "the catalog's article"
    );
    assert!(
        page.body["links"]["series"].as_str().is_some(),
        "{}",
        page.body
    );
    assert_eq!(page.body["log"][0]["kind"], "opened");

    // The basic repair ticket breaches its first response an hour later:
    // escalated (priority up, handed to `escalations`) and announced by
    // webhook.
    app.advance(3601);
    app.run_job("tickets").await;
    let escalated = app
        .get(&format!("/api/v1/tickets/{bid}"), Some(&admin))
        .await
        .body;
    assert!(!escalated["ticket"]["breached_at"].is_null(), "{escalated}");
    let e = &escalated["ticket"];
    assert_eq!(e["sla"]["first_response"]["state"], "breached", "{e}");
    assert_eq!(e["priority"], "high", "one step up from normal: {e}");
    assert_eq!(e["assignee"], "escalations", "{e}");
    assert_eq!(e["escalation_level"], 1);
    // Deliveries go out; the listener refused its first call, which is
    // retried after its backoff.
    app.run_job("webhooks").await;
    app.advance(2);
    app.run_job("webhooks").await;
    let got = sink.received();
    let call = got
        .iter()
        .find(|c| c.event == "ticket.sla_breached" && c.json()["data"]["id"].as_i64() == Some(bid))
        .unwrap_or_else(|| panic!("no breach webhook: {got:#?}"))
        .clone();
    assert!(
        signed_by(&secret, &call.signature, &call.body),
        "HMAC: {call:?}"
    );
    assert!(!signed_by("wrong secret", &call.signature, &call.body));
    assert_eq!(call.json()["data"]["assignee"], "escalations");
    let opened: Vec<i64> = sink
        .received()
        .iter()
        .filter(|c| c.event == "ticket.opened")
        .filter_map(|c| c.json()["data"]["id"].as_i64())
        .collect();
    assert!(sink.refused.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    let opened_basic = sink
        .received()
        .into_iter()
        .find(|c| c.event == "ticket.opened" && c.json()["data"]["id"].as_i64() == Some(bid))
        .expect("the basic ticket was announced");
    assert_eq!(
        opened_basic.json()["data"]["priority"],
        "normal",
        "a major fault on the basic plan opens at normal"
    );
    for t in [v, b, s] {
        let id = t["id"].as_i64().expect("id");
        assert_eq!(
            opened.iter().filter(|o| **o == id).count(),
            1,
            "ticket {id} announced once, the refused first call retried: {opened:?}"
        );
    }
    // A breach escalates once, however long it stays breached.
    app.advance(3600);
    app.run_job("tickets").await;
    app.run_job("webhooks").await;
    let t = app
        .get(&format!("/api/v1/tickets/{bid}"), Some(&admin))
        .await
        .body;
    assert_eq!(t["ticket"]["escalation_level"], 1, "{t}");
    let escalations = t["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter(|l| l["kind"] == "escalated")
        .count();
    assert_eq!(escalations, 1, "{t}");
    let breaches = sink
        .received()
        .iter()
        .filter(|c| {
            c.event == "ticket.sla_breached" && c.json()["data"]["id"].as_i64() == Some(bid)
        })
        .count();
    assert_eq!(breaches, 1);
}

wavecast_e2e::both_backends!(
    configure = |c| {
        server_signs(c);
        c.rollouts.checkin_interval_secs = 1;
        c.rollouts.checkin_jitter_pct = 0;
    };
    faults_open_tickets_by_warranty_plan_and_class
);
