//! After-sales tickets end to end, with the real simulator reporting the
//! faults: a hardware fault on an in-warranty VIP box opens a warranty
//! ticket assigned to the subscriber's dedicated agent with a one-hour
//! first-response deadline; the same fault on an out-of-warranty basic box
//! opens a post-warranty repair ticket on the basic plan's SLA; a software
//! fault after a rollout opens a support ticket linked to the fleet problem
//! and the rollout; repeats open no second ticket; a breach escalates and
//! fires a signed webhook at a real HTTP listener. Then the subscriber API
//! (each subscriber sees only their own boxes and tickets) and a ticket's
//! life from a phone call to the satisfaction survey.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use wavecast_e2e::{
    fleet::{enrol_many, fault, send_events as send},
    sim::run as simulate,
    trust::{good_bundle, payload, server_signs, Keys},
    webhook::Sink,
    TestApp,
};

async fn patch(app: &TestApp, path: &str, token: &str, body: &Value) -> wavecast_e2e::app::Answer {
    app.request(Method::PATCH, path, Some(token), Some(body))
        .await
}

async fn put(app: &TestApp, path: &str, token: &str, body: &Value) -> wavecast_e2e::app::Answer {
    app.request(Method::PUT, path, Some(token), Some(body))
        .await
}

/// Creates a subscriber and links the boxes named, activated at `activated`.
async fn subscriber(
    app: &TestApp,
    account: &str,
    plan: &str,
    agent: Option<&str>,
    serials: &[&str],
    activated: DateTime<Utc>,
) -> String {
    let t = Some(app.admin_token.as_str());
    let s = app
        .post(
            "/api/v1/subscribers",
            t,
            &json!({ "account": account, "name": format!("Subscriber {account}"),
                     "email": format!("{account}@example.net"), "plan": plan,
                     "dedicated_agent": agent }),
        )
        .await;
    assert_eq!(s.status, 201, "{}", s.body);
    for serial in serials {
        let l = app
            .post(
                &format!("/api/v1/subscribers/{account}/devices"),
                t,
                &json!({ "device": serial, "activated_at": activated }),
            )
            .await;
        assert_eq!(l.status, 200, "{}", l.body);
    }
    s.body["id"].as_str().expect("id").to_owned()
}

/// The tickets of the box `serial`.
async fn tickets_of(app: &TestApp, serial: &str) -> Vec<Value> {
    let d = app
        .get(&format!("/api/v1/devices/{serial}"), Some(&app.admin_token))
        .await;
    assert_eq!(d.status, 200, "{}", d.body);
    let id = d.body["id"].as_str().expect("id");
    let list = app
        .get(
            &format!("/api/v1/tickets?device={id}"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.body.as_array().expect("list").clone()
}

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().expect("time").parse().expect("rfc3339")
}

/// Checks a webhook call's `t=…,v1=…` signature with the endpoint's secret.
fn signed_by(secret: &str, signature: &str, body: &[u8]) -> bool {
    let Some((t, v1)) = signature
        .strip_prefix("t=")
        .and_then(|s| s.split_once(",v1="))
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes()) == v1
}

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
    // Enrol the boxes first, so they can be linked before they report.
    for prefix in ["VIP", "BASIC", "SOFT"] {
        simulate(
            &app,
            &keys,
            &[
                "--devices",
                "1",
                "--serial-prefix",
                prefix,
                "--duration",
                "2",
            ],
        )
        .await;
    }
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
    let now = Utc::now();
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
    // The basic plan answers repairs within 3 s around the clock here, so
    // the test sees a breach; breaches go to `escalations`.
    let basic = json!({ "first_response_secs": 3, "resolution_secs": 3600,
                        "calendar": { "kind": "always" }, "warn_pct": 50,
                        "escalate_to": "escalations" });
    assert_eq!(
        put(&app, "/api/v1/plans/basic/sla/repair", &admin, &basic)
            .await
            .status,
        204
    );

    // HW-HDMI-001 opens a ticket at its third occurrence within 24 h; the
    // boxes report it at every visit (once a second) for 6 s.
    for prefix in ["VIP", "BASIC"] {
        simulate(
            &app,
            &keys,
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
        .await;
    }
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

    // The basic repair ticket breaches its 3 s first response: escalated
    // (priority up, handed to `escalations`) and announced by webhook.
    let deadline = Instant::now() + Duration::from_secs(30);
    let escalated = loop {
        let t = app
            .get(&format!("/api/v1/tickets/{bid}"), Some(&admin))
            .await
            .body;
        if !t["ticket"]["breached_at"].is_null() {
            break t;
        }
        assert!(Instant::now() < deadline, "never escalated: {t}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let e = &escalated["ticket"];
    assert_eq!(e["sla"]["first_response"]["state"], "breached", "{e}");
    assert_eq!(e["priority"], "high", "one step up from normal: {e}");
    assert_eq!(e["assignee"], "escalations", "{e}");
    assert_eq!(e["escalation_level"], 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    let call = loop {
        let got = sink.received();
        if let Some(c) = got.iter().find(|c| {
            c.event == "ticket.sla_breached" && c.json()["data"]["id"].as_i64() == Some(bid)
        }) {
            break c.clone();
        }
        assert!(Instant::now() < deadline, "no breach webhook: {got:#?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
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
    // A breach escalates once.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let breaches = sink
        .received()
        .iter()
        .filter(|c| {
            c.event == "ticket.sla_breached" && c.json()["data"]["id"].as_i64() == Some(bid)
        })
        .count();
    assert_eq!(breaches, 1);
}

/// Opens a phone ticket for `account` (as support) and returns its id.
async fn phone_ticket(app: &TestApp, support: &str, account: &str, device: Option<&str>) -> i64 {
    let t = app
        .post(
            "/api/v1/tickets",
            Some(support),
            &json!({ "channel": "phone", "subject": format!("{account} calls"),
                     "body": "No picture on HDMI", "subscriber": account, "device": device }),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.body);
    t.body["id"].as_i64().expect("id")
}

async fn subscribers_see_only_their_own(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let support = app.user_with_role("desk", "support").await;
    simulate(
        &app,
        &keys,
        &[
            "--devices",
            "2",
            "--serial-prefix",
            "HOME",
            "--duration",
            "2",
        ],
    )
    .await;
    let now = Utc::now();
    subscriber(&app, "S-1", "standard", None, &["HOME000000"], now).await;
    subscriber(&app, "S-2", "standard", None, &["HOME000001"], now).await;
    let mine = phone_ticket(&app, &support, "S-1", Some("HOME000000")).await;
    let theirs = phone_ticket(&app, &support, "S-2", Some("HOME000001")).await;
    let token = |account: &str| {
        let app = &app;
        let support = support.clone();
        let account = account.to_owned();
        async move {
            let t = app
                .post(
                    &format!("/api/v1/subscribers/{account}/tokens"),
                    Some(&support),
                    &json!({}),
                )
                .await;
            assert_eq!(t.status, 201, "{}", t.body);
            t.body["token"].as_str().expect("token").to_owned()
        }
    };
    let s1 = token("S-1").await;
    let s2 = token("S-2").await;

    let boxes = app.get("/api/v1/subscriber/boxes", Some(&s1)).await;
    assert_eq!(boxes.status, 200, "{}", boxes.body);
    let serials: Vec<&str> = boxes
        .body
        .as_array()
        .expect("list")
        .iter()
        .map(|b| b["serial"].as_str().expect("serial"))
        .collect();
    assert_eq!(serials, ["HOME000000"]);
    assert_eq!(boxes.body[0]["open_tickets"], 1);
    let list = app.get("/api/v1/subscriber/tickets", Some(&s1)).await;
    let ids: Vec<i64> = list
        .body
        .as_array()
        .expect("list")
        .iter()
        .map(|t| t["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, [mine]);
    // Another subscriber's ticket does not exist for S-1, whatever the verb.
    let other = app
        .get(&format!("/api/v1/subscriber/tickets/{theirs}"), Some(&s1))
        .await;
    assert_eq!(other.status, 404, "{}", other.body);
    other.problem(404);
    let c = app
        .post(
            &format!("/api/v1/subscriber/tickets/{theirs}/comments"),
            Some(&s1),
            &json!({ "body": "hi" }),
        )
        .await;
    assert_eq!(c.status, 404, "{}", c.body);
    let q = app
        .post(
            &format!("/api/v1/subscriber/tickets/{theirs}/quote"),
            Some(&s1),
            &json!({ "accepted": true }),
        )
        .await;
    assert_eq!(q.status, 404, "{}", q.body);
    let sv = app
        .post(
            &format!("/api/v1/subscriber/tickets/{theirs}/survey"),
            Some(&s1),
            &json!({ "score": 5 }),
        )
        .await;
    assert_eq!(sv.status, 404, "{}", sv.body);
    let o = app
        .post(
            "/api/v1/subscriber/tickets",
            Some(&s1),
            &json!({ "subject": "x", "body": "y", "device": "HOME000001" }),
        )
        .await;
    assert_eq!(o.status, 404, "another's box: {}", o.body);
    // S-2 sees their own, and not S-1's.
    let two = app
        .get(&format!("/api/v1/subscriber/tickets/{theirs}"), Some(&s2))
        .await;
    assert_eq!(two.status, 200, "{}", two.body);
    let one = app
        .get(&format!("/api/v1/subscriber/tickets/{mine}"), Some(&s2))
        .await;
    assert_eq!(one.status, 404);
    // Tokens do not cross: no token, an operator token on the subscriber
    // API, a subscriber token on the staff API.
    assert_eq!(app.get("/api/v1/subscriber/boxes", None).await.status, 401);
    assert_eq!(
        app.get("/api/v1/subscriber/boxes", Some(&app.admin_token))
            .await
            .status,
        401
    );
    assert_eq!(app.get("/api/v1/tickets", Some(&s1)).await.status, 401);
    assert_eq!(app.get("/api/v1/subscribers", Some(&s1)).await.status, 401);
    // Internal notes stay internal.
    let note = app
        .post(
            &format!("/api/v1/tickets/{mine}/comments"),
            Some(&support),
            &json!({ "body": "suspect the cable", "public": false }),
        )
        .await;
    assert_eq!(note.status, 201, "{}", note.body);
    let seen = app
        .get(&format!("/api/v1/subscriber/tickets/{mine}"), Some(&s1))
        .await;
    assert!(
        !seen.body.to_string().contains("suspect the cable"),
        "{}",
        seen.body
    );
    let kb = app
        .get("/api/v1/subscriber/kb/HW-HDMI-001", Some(&s1))
        .await;
    assert_eq!(kb.status, 200, "{}", kb.body);
    assert!(kb.body["article"].as_str().is_some_and(|a| !a.is_empty()));
}

async fn a_ticket_from_call_to_survey(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let support = app.user_with_role("desk", "support").await;
    simulate(
        &app,
        &keys,
        &[
            "--devices",
            "2",
            "--serial-prefix",
            "LIFE",
            "--duration",
            "2",
        ],
    )
    .await;
    subscriber(&app, "L-1", "premium", None, &["LIFE000000"], Utc::now()).await;
    // Round-robin: `desk` is the only agent on shift for support tickets.
    let shift = put(
        &app,
        "/api/v1/support-agents/desk",
        &support,
        &json!({ "queues": ["support", "warranty"], "on_shift": true }),
    )
    .await;
    assert_eq!(shift.status, 204, "{}", shift.body);
    let id = phone_ticket(&app, &support, "L-1", Some("LIFE000000")).await;
    let path = format!("/api/v1/tickets/{id}");
    let t = app.get(&path, Some(&support)).await.body;
    assert_eq!(t["ticket"]["status"], "new");
    assert_eq!(t["ticket"]["channel"], "phone");
    assert_eq!(t["ticket"]["assignee"], "desk", "{t}");
    // The first public reply is the first response, and opens the ticket.
    let r = app
        .post(
            &format!("{path}/comments"),
            Some(&support),
            &json!({ "body": "Please try another HDMI cable.", "public": true }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "open");
    assert_eq!(
        r.body["sla"]["first_response"]["state"], "met",
        "{}",
        r.body
    );
    // Waiting on the customer pauses the clock; their reply resumes it.
    let p = patch(&app, &path, &support, &json!({ "status": "pending" })).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body["sla"]["resolution"]["state"], "paused", "{}", p.body);
    let token = app
        .post("/api/v1/subscribers/L-1/tokens", Some(&support), &json!({}))
        .await;
    let sub = token.body["token"].as_str().expect("token").to_owned();
    let reply = app
        .post(
            &format!("/api/v1/subscriber/tickets/{id}/comments"),
            Some(&sub),
            &json!({ "body": "Still nothing." }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["status"], "open");
    // Refusals.
    let bad = patch(&app, &path, &support, &json!({ "status": "new" })).await;
    bad.problem(409);
    let bad = patch(&app, &path, &support, &json!({ "status": "solved" })).await;
    assert!(bad.problem(422).contains("resolved"), "{}", bad.body);
    let bad = patch(&app, &path, &support, &json!({})).await;
    bad.problem(422);
    let viewer = app.user_with_role("watcher", "viewer").await;
    patch(&app, &path, &viewer, &json!({ "status": "resolved" }))
        .await
        .problem(403);
    // Resolved: a ticket no device fault opened gets its survey at once.
    let done = patch(&app, &path, &support, &json!({ "status": "resolved" })).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = app.get(&path, Some(&support)).await.body;
        if t["log"]
            .as_array()
            .expect("log")
            .iter()
            .any(|l| l["kind"] == "survey_sent")
        {
            break;
        }
        assert!(Instant::now() < deadline, "no survey: {t}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let report = app
        .get("/api/v1/reports/tickets?days=7", Some(&support))
        .await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(
        report.body["by_plan"]["premium"]["tickets"], 1,
        "{}",
        report.body
    );
    assert_eq!(
        report.body["by_plan"]["premium"]["first_response_met_pct"],
        100.0
    );
    assert_eq!(
        report.body["by_plan"]["premium"]["resolution_met_pct"],
        100.0
    );
    app.get("/api/v1/reports/tickets?days=0", Some(&support))
        .await
        .problem(422);
}

async fn surveys_are_answered_once(app: TestApp) {
    let support = app.user_with_role("desk", "support").await;
    let sink = Sink::start(0);
    let hook = app
        .post(
            "/api/v1/webhooks",
            Some(&app.admin_token),
            &json!({ "url": sink.url, "events": ["survey.ready", "survey.answered"] }),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let s = app
        .post(
            "/api/v1/subscribers",
            Some(&support),
            &json!({ "account": "Q-1", "name": "Q", "plan": "basic" }),
        )
        .await;
    assert_eq!(s.status, 201, "{}", s.body);
    let id = phone_ticket(&app, &support, "Q-1", None).await;
    let r = patch(
        &app,
        &format!("/api/v1/tickets/{id}"),
        &support,
        &json!({ "status": "resolved" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let deadline = Instant::now() + Duration::from_secs(20);
    let url = loop {
        if let Some(c) = sink.received().iter().find(|c| c.event == "survey.ready") {
            break c.json()["data"]["survey_url"]
                .as_str()
                .expect("url")
                .to_owned();
        }
        assert!(Instant::now() < deadline, "no survey.ready");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let token = url.rsplit('/').next().expect("token").to_owned();
    let page = reqwest::get(format!("{}/survey/{token}", app.address))
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("name=\"score\""), "{html}");
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{}/survey/{token}", app.address))
        .form(&[("score", "5"), ("comment", "Quick and kind")])
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200);
    let again = http
        .post(format!("{}/survey/{token}", app.address))
        .form(&[("score", "1"), ("comment", "")])
        .send()
        .await
        .expect("again");
    assert_eq!(again.status(), 409, "single use");
    let bad = http
        .post(format!(
            "{}/survey/wcv_0000000000_{}",
            app.address,
            "0".repeat(64)
        ))
        .json(&json!({ "score": 5 }))
        .send()
        .await
        .expect("bad");
    assert_eq!(bad.status(), 404);
    let report = app
        .get("/api/v1/reports/tickets?days=7", Some(&support))
        .await;
    assert_eq!(
        report.body["by_plan"]["basic"]["csat_avg"], 5.0,
        "{}",
        report.body
    );
    assert_eq!(
        report.body["csat_by_agent"]["unassigned"][1], 1,
        "{}",
        report.body
    );
}

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
    let now = Utc::now();
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
    // Replace the box: subscriber, warranty start and tickets move; the old
    // box is retired and its credential stops working.
    let r = app
        .post(
            &format!("/api/v1/tickets/{wid}/rma"),
            Some(&support),
            &json!({ "action": "replace", "replacement": "SN000002", "note": "swap at the shop" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["rma"]["replacement"]["serial"], "SN000002");
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
        c.tickets.sweep_every_secs = 1;
    };
    faults_open_tickets_by_warranty_plan_and_class,
    subscribers_see_only_their_own,
    a_ticket_from_call_to_survey,
    surveys_are_answered_once,
    returns_quotes_and_reopening
);
