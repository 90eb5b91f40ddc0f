//! The support desk in a real browser (headless Chromium, as
//! `console.rs`): a VIP box's hardware fault reaching its dedicated agent's
//! queue on the SLA clock, worked from the ticket page with the box's
//! chart beside it; a breach moving a ticket to the escalated view and to
//! the escalation contact without a reload; a warranty replacement from
//! the ticket page; roles that may only read; and the report page agreeing
//! with the REST report. Screenshots of the queue, a ticket and the
//! reports go to `docs/console`.

use reqwest::StatusCode;
use serde_json::{json, Value};
use wavecast_e2e::{
    browser::Browser,
    sim::run as simulate,
    support::{patch, phone_ticket, put, subscriber, tickets_of},
    trust::Keys,
    Backend, TestApp,
};

use crate::console::{quick, set_password, shots, PASSWORD};

/// Boxes that check in every second; live views refresh every 300 ms.
pub async fn desk_app() -> TestApp {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        quick(c);
        c.rollouts.checkin_interval_secs = 1;
        c.rollouts.checkin_jitter_pct = 0;
    })
    .await
    .expect("SQLite is always available");
    set_password(&app, "admin", PASSWORD).await;
    app
}

pub async fn support_user(app: &TestApp, name: &str, role: &str) {
    app.user_with_role(name, role).await;
    set_password(app, name, PASSWORD).await;
}

/// Enrols `n` simulated boxes named `prefix000000…` and lets them report
/// (with `extra` flags) for `secs` seconds.
pub async fn boxes(app: &TestApp, keys: &Keys, prefix: &str, n: u32, secs: u32, extra: &[&str]) {
    let (n, secs) = (n.to_string(), secs.to_string());
    let mut args = vec![
        "--devices",
        n.as_str(),
        "--serial-prefix",
        prefix,
        "--duration",
        secs.as_str(),
    ];
    args.extend_from_slice(extra);
    simulate(app, keys, &args).await;
}

fn attr(v: &Value, k: &str) -> i64 {
    v[k].as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{k} in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vip_fault_reaches_its_agent_who_answers_beside_the_boxs_chart() {
    let app = desk_app().await;
    let keys = Keys::new();
    keys.publish(&app).await;
    support_user(&app, "vera", "support").await;
    let admin = app.admin_token.clone();
    let w = put(
        &app,
        "/api/v1/warranties/X1",
        &admin,
        &json!({ "months": 24 }),
    )
    .await;
    assert_eq!(w.status, 204, "{}", w.body);
    boxes(&app, &keys, "VIP", 1, 2, &[]).await;
    let now = app.clock.now();
    subscriber(
        &app,
        "V-1",
        "vip",
        Some("vera"),
        &["VIP000000"],
        now - chrono::Duration::days(30),
    )
    .await;
    boxes(
        &app,
        &keys,
        "VIP",
        1,
        6,
        &["--fault", "HW-HDMI-001", "--telemetry-secs", "1"],
    )
    .await;
    let list = tickets_of(&app, "VIP000000").await;
    assert_eq!(list.len(), 1, "{list:#?}");
    let t = &list[0];
    assert_eq!(t["kind"], "warranty", "{t}");
    assert_eq!(t["assignee"], "vera", "the dedicated agent: {t}");
    let id = t["id"].as_i64().expect("id");

    let b = Browser::start(&app.address).await;
    b.check("vip-fault", async {
        b.sign_in("vera", PASSWORD).await;
        b.goto("/tickets?view=mine").await;
        let row = format!("tr[data-ticket='{id}']");
        assert!(b.has(&row).await, "the ticket is in vera's view");
        assert!(b.text("nav.views a[data-view=mine]").await.ends_with('1'));
        // A one-hour first-response countdown, on the server's clock.
        let c: Value = b
            .client
            .execute(
                "const t = document.querySelector(arguments[0] + ' time.countdown');\
                 return t ? {due: t.dataset.due, now: t.dataset.now, title: t.title} : null;",
                vec![json!(row)],
            )
            .await
            .expect("script");
        assert_eq!(c["title"], "first response", "{c}");
        let left = attr(&c, "due") - attr(&c, "now");
        assert!(
            (3500..=3600).contains(&left),
            "about an hour left: {left} s"
        );
        b.screenshot(&shots().join("queue.png")).await;

        b.click_nav(&format!("{row} a[href='/tickets/{id}']")).await;
        // The box's chart around the fault, with the fault marked.
        let faults: Value = b
            .client
            .execute(
                "return [...document.querySelectorAll('#box script[type=\"application/json\"]')]\
                   .map(s => JSON.parse(s.textContent))\
                   .flatMap(c => (c.markers || []).filter(m => m.kind === 'fault')).length;",
                vec![],
            )
            .await
            .expect("script");
        assert!(faults.as_u64().unwrap_or(0) > 0, "fault markers: {faults}");
        b.wait_until("uPlot draws", 10, || async {
            b.has("#box .chart canvas").await
        })
        .await;
        assert!(b.text("#kb").await.len() > 10, "the catalog's article");
        assert!(b.text("#box").await.contains("x1-firmware"), "its versions");
        let first = "tr[data-target='First response'] .sla-state";
        assert_eq!(b.text(first).await, "on track");
        b.fill(
            "#body",
            "Please try another HDMI cable; we are checking the box.",
        )
        .await;
        b.click_nav("#send-reply").await;
        assert_eq!(b.text(first).await, "met");
        b.fill(
            "#body",
            "Board fault suspected: HDMI PHY errors in the log.",
        )
        .await;
        b.click_nav("#add-note").await;
        assert!(b.text(".log li.internal:last-child").await.contains("PHY"));
        b.screenshot(&shots().join("ticket.png")).await;

        // The subscriber reads the reply, never the note.
        let token = app
            .post("/api/v1/subscribers/V-1/tokens", Some(&admin), &json!({}))
            .await;
        let sub = token.body["token"].as_str().expect("token").to_owned();
        let seen = app
            .get(&format!("/api/v1/subscriber/tickets/{id}"), Some(&sub))
            .await;
        assert_eq!(seen.status, 200, "{}", seen.body);
        let text = seen.body.to_string();
        assert!(text.contains("another HDMI cable"), "{text}");
        assert!(
            !text.contains("PHY"),
            "the internal note stays inside: {text}"
        );

        // The report page shows what the REST report says.
        let report = app
            .get("/api/v1/reports/tickets?days=7", Some(&admin))
            .await;
        let want = report.body["by_plan"]["vip"]["first_response_met_pct"]
            .as_f64()
            .expect("VIP compliance");
        b.goto("/reports?days=7").await;
        let shown = b
            .find("#by-plan tr[data-group=vip] rect[data-measure=first_response_met_pct]")
            .await
            .attr("data-value")
            .await
            .ok()
            .flatten()
            .expect("the bar's value");
        assert_eq!(shown, format!("{want:.1}"));
        b.screenshot(&shots().join("reports.png")).await;
        let csv = reqwest::Client::new()
            .get(format!("{}/reports.csv?days=7", app.address))
            .header("cookie", b.session_cookie().await)
            .send()
            .await
            .expect("csv");
        assert_eq!(csv.status(), StatusCode::OK);
        let csv = csv.text().await.expect("text");
        assert!(
            csv.contains(&format!("by_plan,vip,,first_response_met_pct,{want:.3}")),
            "{csv}"
        );
    })
    .await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_moves_the_ticket_to_the_escalated_view_without_a_reload() {
    let app = desk_app().await;
    support_user(&app, "desk", "support").await;
    support_user(&app, "lead", "support").await;
    let admin = app.admin_token.clone();
    // Ten minutes on the server's clock: starting a browser and signing in
    // on a loaded machine never reaches it, only the test's move does.
    let terms = json!({ "first_response_secs": 600, "resolution_secs": 3600,
                        "calendar": { "kind": "always" }, "warn_pct": 50,
                        "escalate_to": "lead" });
    let set = put(&app, "/api/v1/plans/basic/sla/support", &admin, &terms).await;
    assert_eq!(set.status, 204, "{}", set.body);
    subscriber(&app, "B-1", "basic", None, &[], app.clock.now()).await;
    let desk = app.admin_token.clone();
    let id = phone_ticket(&app, &desk, "B-1", None).await;
    let take = patch(
        &app,
        &format!("/api/v1/tickets/{id}"),
        &desk,
        &json!({ "assignee": "desk" }),
    )
    .await;
    assert_eq!(take.status, 200, "{}", take.body);

    let b = Browser::start(&app.address).await;
    b.check("breach", async {
        b.sign_in("desk", PASSWORD).await;
        b.goto("/tickets?view=escalated").await;
        let row = format!("tr[data-ticket='{id}']");
        assert!(!b.has(&row).await, "not yet breached");
        b.client
            .execute("window.stayed = true;", vec![])
            .await
            .expect("mark the page");
        app.advance(605);
        b.wait_until("the ticket in the escalated view", 15, || async {
            b.has(&row).await
        })
        .await;
        let countdown = b.text(&format!("{row} time.countdown")).await;
        assert!(countdown.contains("breached"), "{countdown}");
        assert!(b.has(&format!("{row} time.countdown.bad")).await, "red");
        // The sweep escalates it: to `lead`, shown without a reload.
        app.run_job("tickets").await;
        let cell = format!("{row} td.assignee");
        b.wait_until("the escalation contact", 15, || async {
            b.text(&cell).await == "lead"
        })
        .await;
        assert!(b
            .text(&format!("{row} td.deadline"))
            .await
            .contains("escalated"));
        let stayed = b
            .client
            .execute("return window.stayed === true;", vec![])
            .await
            .expect("script");
        assert_eq!(stayed, json!(true), "no reload happened");
        // And the ticket's log says so.
        b.goto(&format!("/tickets/{id}")).await;
        assert!(b.text(".log").await.contains("escalated"));
    })
    .await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_from_the_ticket_page_moves_subscriber_warranty_and_tickets() {
    let app = desk_app().await;
    let keys = Keys::new();
    keys.publish(&app).await;
    support_user(&app, "rita", "support").await;
    let admin = app.admin_token.clone();
    boxes(&app, &keys, "RMA", 2, 2, &[]).await;
    let activated = app.clock.now() - chrono::Duration::days(40);
    let sub = subscriber(&app, "R-1", "premium", None, &["RMA000000"], activated).await;
    let t = app
        .post(
            "/api/v1/tickets",
            Some(&admin),
            &json!({ "channel": "phone", "kind": "warranty", "subject": "Box dead",
                     "subscriber": "R-1", "device": "RMA000000" }),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.body);
    let id = t.body["id"].as_i64().expect("id");

    let b = Browser::start(&app.address).await;
    b.check("rma", async {
        b.sign_in("rita", PASSWORD).await;
        b.goto(&format!("/tickets/{id}")).await;
        assert!(
            b.text("#rma").await.contains("subscriber R-1"),
            "what moves"
        );
        b.fill("#replacement", "RMA000001").await;
        b.navigating(|| async {
            b.click("#replace").await;
            b.confirm().await;
        })
        .await;
        assert!(b.text("#rma-done").await.contains("RMA000001"));
    })
    .await;
    b.close().await;
    let new = app.get("/api/v1/devices/RMA000001", Some(&admin)).await;
    assert_eq!(new.body["subscriber_id"], json!(sub), "{}", new.body);
    let moved: chrono::DateTime<chrono::Utc> = new.body["activated_at"]
        .as_str()
        .expect("activated")
        .parse()
        .expect("time");
    assert_eq!(moved.timestamp(), activated.timestamp(), "warranty start");
    let tickets = tickets_of(&app, "RMA000001").await;
    assert!(
        tickets.iter().any(|t| t["id"] == json!(id)),
        "the ticket follows the new box: {tickets:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_and_operators_read_tickets_but_cannot_change_them() {
    let app = desk_app().await;
    support_user(&app, "vic", "viewer").await;
    support_user(&app, "otto", "operator").await;
    subscriber(&app, "O-1", "basic", None, &[], app.clock.now()).await;
    let id = phone_ticket(&app, &app.admin_token, "O-1", None).await;
    let b = Browser::start(&app.address).await;
    b.check("read-only", async {
        for name in ["vic", "otto"] {
            b.sign_in(name, PASSWORD).await;
            b.goto("/tickets").await;
            assert!(
                b.has(&format!("tr[data-ticket='{id}']")).await,
                "{name} reads"
            );
            assert!(!b.has("#bulk").await, "{name}: no bulk form");
            b.goto(&format!("/tickets/{id}")).await;
            assert!(
                b.text("h1").await.contains("calls"),
                "{name} reads the ticket"
            );
            for control in ["#send-reply", "#add-note", "#change"] {
                assert!(!b.has(control).await, "{name}: no {control}");
            }
            let note = format!("/tickets/{id}");
            let ids = id.to_string();
            for (path, form) in [
                (note.as_str(), vec![("action", "note"), ("body", "x")]),
                (
                    "/tickets/bulk",
                    vec![("ids", ids.as_str()), ("status", "open")],
                ),
            ] {
                let status = b.post_by_hand(&app.address, path, &form).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{name} POST {path}");
            }
            b.click_nav("header form button").await;
        }
    })
    .await;
    b.close().await;
    let t = app
        .get(&format!("/api/v1/tickets/{id}"), Some(&app.admin_token))
        .await;
    assert_eq!(t.body["log"].as_array().map(Vec::len), Some(1), "unchanged");
}
