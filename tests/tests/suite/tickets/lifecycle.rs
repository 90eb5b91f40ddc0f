//! A ticket's life from a phone call to the satisfaction survey:
//! round-robin assignment, the first public reply as the first response,
//! the clock paused while pending and resumed by the subscriber's reply,
//! refused transitions and roles, the survey sent on resolution, and the
//! report's compliance figures.

use serde_json::json;
use wavecast_e2e::{
    sim::run as simulate,
    support::{patch, phone_ticket, put, subscriber},
    trust::{server_signs, Keys},
    TestApp,
};

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
    subscriber(
        &app,
        "L-1",
        "premium",
        None,
        &["LIFE000000"],
        app.clock.now(),
    )
    .await;
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
    app.run_job("tickets").await;
    let t = app.get(&path, Some(&support)).await.body;
    assert!(
        t["log"]
            .as_array()
            .expect("log")
            .iter()
            .any(|l| l["kind"] == "survey_sent"),
        "no survey: {t}"
    );
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

wavecast_e2e::both_backends!(
    configure = |c| {
        server_signs(c);
        c.rollouts.checkin_interval_secs = 1;
        c.rollouts.checkin_jitter_pct = 0;
    };
    a_ticket_from_call_to_survey
);
