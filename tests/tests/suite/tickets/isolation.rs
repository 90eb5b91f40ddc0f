//! The subscriber API sees one subscriber's world: their boxes and
//! tickets only (another's answer 404 whatever the verb), no internal
//! notes, and tokens that do not cross between the staff and subscriber
//! APIs.

use serde_json::json;
use wavecast_e2e::{
    sim::run as simulate,
    support::{phone_ticket, subscriber},
    trust::{server_signs, Keys},
    TestApp,
};

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
    let now = app.clock.now();
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

wavecast_e2e::both_backends!(
    configure = |c| {
        server_signs(c);
        c.rollouts.checkin_interval_secs = 1;
        c.rollouts.checkin_jitter_pct = 0;
    };
    subscribers_see_only_their_own
);
