//! Satisfaction surveys are single use: the public page and its form,
//! a second answer refused, a bad link 404, and the answer in the report
//! by plan and by agent.

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

wavecast_e2e::both_backends!(
    configure = |c| {
        server_signs(c);
        c.rollouts.checkin_interval_secs = 1;
        c.rollouts.checkin_jitter_pct = 0;
    };
    surveys_are_answered_once
);
