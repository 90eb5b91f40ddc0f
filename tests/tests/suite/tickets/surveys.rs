//! Satisfaction surveys are single use: the public page and its form,
//! a second answer refused, a bad link 404, and the answer in the report
//! by plan and by agent. A month of resolved tickets (more than a
//! statement may name) does not stop the sweep.

use serde_json::json;
use wavecast_e2e::{
    support::{patch, phone_ticket},
    trust::server_signs,
    webhook::Sink,
    TestApp,
};

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
    app.run_job("tickets").await;
    app.run_job("webhooks").await;
    let url = sink
        .received()
        .iter()
        .find(|c| c.event == "survey.ready")
        .map(|c| {
            c.json()["data"]["survey_url"]
                .as_str()
                .expect("url")
                .to_owned()
        })
        .expect("survey.ready was sent");
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

/// Resolved tickets copied from ticket `from` (and its survey) as ids
/// `first..first + n`, straight in the database.
async fn copies(app: &TestApp, from: i64, first: i64, n: i64) {
    use sea_orm::{ConnectionTrait, Iterable};
    use wavecast_server::platform::{
        db,
        entities::{survey, ticket},
    };
    let conn = db::connect(&app.config.database).await.expect("database");
    let columns = |cols: Vec<String>, id: &str, over: &str| {
        let names = cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>();
        let picks = cols
            .iter()
            .map(|c| {
                if c == id {
                    over.to_owned()
                } else {
                    format!("t.\"{c}\"")
                }
            })
            .collect::<Vec<_>>();
        (names.join(", "), picks.join(", "))
    };
    let name = |c: &dyn sea_orm::Iden| c.to_string();
    let (tn, tp) = columns(
        ticket::Column::iter().map(|c| name(&c)).collect(),
        "id",
        &format!("{first} + n.i"),
    );
    let (sn, sp) = columns(
        survey::Column::iter().map(|c| name(&c)).collect(),
        "ticket_id",
        &format!("{first} + n.i"),
    );
    let sp = sp.replace("t.\"prefix\"", "t.\"prefix\" || n.i");
    let range = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {})",
        n - 1
    );
    for sql in [
        format!("INSERT INTO tickets ({tn}) {range} SELECT {tp} FROM tickets t, n WHERE t.id = {from}"),
        format!("INSERT INTO surveys ({sn}) {range} SELECT {sp} FROM surveys t, n WHERE t.ticket_id = {from}"),
    ] {
        conn.execute_unprepared(&sql).await.expect("copies");
    }
}

async fn a_month_of_resolved_tickets_does_not_stop_the_sweep(app: TestApp) {
    let support = app.user_with_role("desk", "support").await;
    let terms = json!({ "first_response_secs": 60, "resolution_secs": 3600,
                        "calendar": { "kind": "always" }, "warn_pct": 50 });
    let set = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/plans/basic/sla/support",
            Some(&app.admin_token),
            Some(&terms),
        )
        .await;
    assert_eq!(set.status, 204, "{}", set.body);
    let s = app
        .post(
            "/api/v1/subscribers",
            Some(&support),
            &json!({ "account": "M-1", "name": "M", "plan": "basic" }),
        )
        .await;
    assert_eq!(s.status, 201, "{}", s.body);
    let done = phone_ticket(&app, &support, "M-1", None).await;
    let r = patch(
        &app,
        &format!("/api/v1/tickets/{done}"),
        &support,
        &json!({ "status": "resolved" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.run_job("tickets").await;
    // 40,000 more resolved and surveyed: more than SQLite takes values in
    // one statement.
    copies(&app, done, 1_000, 40_000).await;
    let late = phone_ticket(&app, &support, "M-1", None).await;
    let next = phone_ticket(&app, &support, "M-1", None).await;
    let r = patch(
        &app,
        &format!("/api/v1/tickets/{next}"),
        &support,
        &json!({ "status": "resolved" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.advance(120);
    app.run_job("tickets").await;
    let t = app
        .get(&format!("/api/v1/tickets/{late}"), Some(&support))
        .await;
    assert!(
        t.body["ticket"]["breached_at"].is_string(),
        "the sweep still escalates: {}",
        t.body
    );
    let t = app
        .get(&format!("/api/v1/tickets/{next}"), Some(&support))
        .await;
    let kinds: Vec<&str> = t.body["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"survey_sent"),
        "the survey still goes out: {kinds:?}"
    );
}

wavecast_e2e::both_backends!(
    configure = |c| {
        server_signs(c);
        c.rollouts.checkin_interval_secs = 1;
        c.rollouts.checkin_jitter_pct = 0;
    };
    surveys_are_answered_once,
    a_month_of_resolved_tickets_does_not_stop_the_sweep
);
