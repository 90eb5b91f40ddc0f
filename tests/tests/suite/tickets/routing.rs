//! Tickets follow the box's subscriber: a box's fault ticket opened on the
//! basic plan moves to the VIP's dedicated agent with the VIP deadlines
//! when the box is linked, and back to the queue when it is unlinked; a
//! plan change re-applies the deadlines; the log says so and names users.
//! A fault repeated 200 times leaves one ticket counting 200 and a log of
//! a few lines.

use serde_json::{json, Value};
use wavecast_e2e::{
    fleet::{self, enrol_many, send_events, Box_},
    support::{patch, put, tickets_of},
    TestApp,
};

/// A catalog entry whose first fault opens a support ticket.
async fn immediate_code(app: &TestApp, code: &str) {
    let e = put(
        app,
        &format!("/api/v1/fault-catalog/{code}"),
        &app.admin_token,
        &json!({ "title": "Decoder stalls", "class": "software", "severity": "major",
                 "kb": "Restart the box.", "policy": { "occurrences": 1, "window_hours": 24, "immediate": true } }),
    )
    .await;
    assert!(e.status == 201 || e.status == 200, "{}", e.body);
}

/// The box reports one fault `n` (its event id), at box time `at`.
async fn fault(app: &TestApp, b: &Box_, code: &str, n: u32, at: i64) {
    let f = fleet::fault(&format!("f{n}"), at, code, Some("decoder::flush"), "4.2.0");
    send_events(app, b, vec![f]).await;
}

async fn ticket(app: &TestApp, id: i64) -> Value {
    let t = app
        .get(&format!("/api/v1/tickets/{id}"), Some(&app.admin_token))
        .await;
    assert_eq!(t.status, 200, "{}", t.body);
    t.body
}

fn entries<'a>(t: &'a Value, kind: &str) -> Vec<&'a Value> {
    t["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter(|l| l["kind"] == kind)
        .collect()
}

async fn a_ticket_follows_its_box_to_a_vip(app: TestApp) {
    immediate_code(&app, "SW-DEC-900").await;
    app.user_with_role("ines", "support").await;
    let desk = app.user_with_role("desk", "support").await;
    let b = enrol_many(&app, 901, 1, "X1", &[]).await.remove(0);
    let serial = b.serial.clone();
    fault(&app, &b, "SW-DEC-900", 1, app.clock.now().timestamp()).await;
    let list = tickets_of(&app, &serial).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let id = list[0]["id"].as_i64().expect("id");
    let t = ticket(&app, id).await;
    assert_eq!(
        (
            &t["ticket"]["plan"],
            &t["ticket"]["assignee"],
            &t["ticket"]["priority"]
        ),
        (&json!("basic"), &Value::Null, &json!("normal")),
        "{t}"
    );
    assert_eq!(t["ticket"]["sla_terms"]["first_response_secs"], 24 * 3600);

    // The box goes to a VIP with a dedicated agent: the ticket follows.
    let s = app
        .post(
            "/api/v1/subscribers",
            Some(&app.admin_token),
            &json!({ "account": "V-1", "name": "Vera", "plan": "vip", "dedicated_agent": "ines" }),
        )
        .await;
    assert_eq!(s.status, 201, "{}", s.body);
    let l = app
        .post(
            "/api/v1/subscribers/V-1/devices",
            Some(&app.admin_token),
            &json!({ "device": serial }),
        )
        .await;
    assert_eq!(l.status, 200, "{}", l.body);
    let t = ticket(&app, id).await;
    let v = &t["ticket"];
    assert_eq!(
        (&v["plan"], &v["assignee"], &v["priority"]),
        (&json!("vip"), &json!("ines"), &json!("high")),
        "{t}"
    );
    assert_eq!(v["subscriber_id"], s.body["id"], "{t}");
    assert_eq!(
        v["sla_terms"]["first_response_secs"], 3600,
        "the VIP's hour"
    );
    assert_eq!(v["sla_terms"]["resolution_secs"], 8 * 3600);
    let due = wavecast_e2e::support::at(&v["sla"]["first_response"]["due"]);
    let opened = wavecast_e2e::support::at(&v["created_at"]);
    assert_eq!(
        (due - opened).num_seconds(),
        3600,
        "counted from the opening"
    );
    let rerouted = entries(&t, "rerouted");
    assert_eq!(rerouted.len(), 1, "{t}");
    assert_eq!(rerouted[0]["author"], "admin");
    assert_eq!(rerouted[0]["data"]["assignee"], "ines", "a name, not an id");
    assert_eq!(rerouted[0]["data"]["previous_plan"], "basic");
    assert!(
        rerouted[0]["data"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("linked to subscriber V-1")),
        "{t}"
    );

    // A person's assignment is logged by name too.
    let a = patch(
        &app,
        &format!("/api/v1/tickets/{id}"),
        &desk,
        &json!({ "assignee": "desk" }),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let t = ticket(&app, id).await;
    let assigned = entries(&t, "assigned");
    assert_eq!(assigned.last().expect("logged")["data"]["assignee"], "desk");

    // A plan change re-applies the deadlines; the person keeps the ticket.
    let p = patch(
        &app,
        "/api/v1/subscribers/V-1",
        &app.admin_token,
        &json!({ "plan": "premium", "dedicated_agent": null }),
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let t = ticket(&app, id).await;
    assert_eq!(
        (&t["ticket"]["plan"], &t["ticket"]["assignee"]),
        (&json!("premium"), &json!("desk")),
        "{t}"
    );
    assert_eq!(t["ticket"]["sla_terms"]["first_response_secs"], 4 * 3600);

    // Unlinked, the box's ticket is nobody's subscriber's any more.
    let u = app
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/subscribers/V-1/devices/{serial}"),
            Some(&app.admin_token),
            None::<&Value>,
        )
        .await;
    assert_eq!(u.status, 204, "{}", u.body);
    let t = ticket(&app, id).await;
    assert_eq!(t["ticket"]["plan"], "basic", "{t}");
    assert_eq!(t["ticket"]["subscriber_id"], Value::Null, "{t}");
    assert_eq!(entries(&t, "rerouted").len(), 3, "{t}");
}

async fn repeated_faults_count_on_one_ticket(app: TestApp) {
    immediate_code(&app, "SW-DEC-901").await;
    let b = enrol_many(&app, 902, 1, "X1", &[]).await.remove(0);
    let start = app.clock.now().timestamp();
    // A fault every five seconds, each in its own report, as a box sends
    // them (the server's clock moves with them, so the box's rate limit
    // is not what is tested here).
    for n in 0..200 {
        fault(&app, &b, "SW-DEC-901", n, start + i64::from(n) * 5).await;
        app.advance(5);
    }
    let list = tickets_of(&app, &b.serial).await;
    assert_eq!(list.len(), 1, "one ticket: {list:?}");
    let t = ticket(&app, list[0]["id"].as_i64().expect("id")).await;
    assert_eq!(t["ticket"]["occurrences"], 200, "{}", t["ticket"]);
    let log = t["log"].as_array().expect("log");
    assert!(log.len() <= 3, "a bounded log: {log:#?}");
    let occurrence = entries(&t, "occurrence");
    assert_eq!(occurrence.len(), 1, "one last-occurrence line: {log:#?}");
    assert_eq!(occurrence[0]["data"]["occurrences"], 200);
    assert_eq!(
        wavecast_e2e::support::at(&occurrence[0]["data"]["last_fault_at"]).timestamp(),
        start + 199 * 5
    );
}

wavecast_e2e::both_backends!(
    a_ticket_follows_its_box_to_a_vip,
    repeated_faults_count_on_one_ticket,
);
