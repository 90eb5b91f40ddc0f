//! The staff queue's saved views, sorting by the next SLA deadline and
//! offset paging, over the REST API: the views follow the stored due
//! times (a ticket past its deadline is "escalated" before the sweep has
//! run), the sweep warns and escalates exactly the tickets falling due,
//! and every view's count matches its list. And the subscriber search
//! the desk's pages use.

use serde_json::{json, Value};
use wavecast_e2e::{
    support::{patch, phone_ticket, put, subscriber},
    TestApp,
};

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("list")
        .iter()
        .map(|t| t["id"].as_i64().expect("id"))
        .collect()
}

async fn view(app: &TestApp, token: &str, view: &str) -> Vec<i64> {
    let r = app
        .get(
            &format!("/api/v1/tickets?view={view}&sort=next_due"),
            Some(token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    ids(&r.body)
}

async fn counts(app: &TestApp, token: &str) -> Value {
    let r = app.get("/api/v1/tickets/views", Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut out = serde_json::Map::new();
    for v in r.body.as_array().expect("views") {
        out.insert(
            v["view"].as_str().expect("view").to_owned(),
            v["count"].clone(),
        );
    }
    Value::Object(out)
}

async fn views_sort_and_page_by_the_sla_clock(app: TestApp) {
    let admin = app.admin_token.clone();
    let desk = app.user_with_role("desk", "support").await;
    app.user_with_role("lead", "support").await;
    // Support tickets on the basic plan: answer within an hour, resolve
    // within two, around the clock; warn at half; breaches go to `lead`.
    let terms = json!({ "first_response_secs": 3600, "resolution_secs": 7200,
                        "calendar": { "kind": "always" }, "warn_pct": 50,
                        "escalate_to": "lead" });
    let set = put(&app, "/api/v1/plans/basic/sla/support", &admin, &terms).await;
    assert_eq!(set.status, 204, "{}", set.body);
    subscriber(&app, "Q-1", "basic", None, &[], app.clock.now()).await;

    // Nobody is on shift: the tickets stay unassigned until someone takes one.
    let first = phone_ticket(&app, &desk, "Q-1", None).await;
    app.advance(600);
    let second = phone_ticket(&app, &desk, "Q-1", None).await;
    app.advance(600);
    let third = phone_ticket(&app, &desk, "Q-1", None).await;
    let take = patch(
        &app,
        &format!("/api/v1/tickets/{first}"),
        &desk,
        &json!({ "assignee": "desk" }),
    )
    .await;
    assert_eq!(take.status, 200, "{}", take.body);
    // The second is answered (next due: its resolution, two hours after it
    // opened); the third waits on the customer (its clock stopped).
    let answer = app
        .post(
            &format!("/api/v1/tickets/{second}/comments"),
            Some(&desk),
            &json!({ "body": "We are on it.", "public": true }),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let wait = patch(
        &app,
        &format!("/api/v1/tickets/{third}"),
        &desk,
        &json!({ "status": "pending" }),
    )
    .await;
    assert_eq!(wait.status, 200, "{}", wait.body);

    assert_eq!(view(&app, &desk, "mine").await, vec![first]);
    assert_eq!(view(&app, &desk, "unassigned").await, vec![second, third]);
    assert_eq!(view(&app, &desk, "waiting").await, vec![third]);
    assert_eq!(
        view(&app, &desk, "open").await,
        vec![first, second, third],
        "nearest deadline first; the paused ticket last"
    );
    let newest = app.get("/api/v1/tickets?view=open", Some(&desk)).await;
    assert_eq!(ids(&newest.body), vec![third, second, first]);
    let page = app
        .get(
            "/api/v1/tickets?view=open&sort=next_due&offset=1&limit=1",
            Some(&desk),
        )
        .await;
    assert_eq!(ids(&page.body), vec![second]);
    assert_eq!(
        page.headers
            .get("x-total-count")
            .and_then(|v| v.to_str().ok()),
        Some("3")
    );
    assert!(view(&app, &desk, "breaching").await.is_empty());
    assert!(view(&app, &desk, "escalated").await.is_empty());

    // 40 minutes after the first opened: within half an hour of its
    // deadline, "breaching soon" before any sweep; the sweep then warns it.
    app.advance(1200);
    assert_eq!(view(&app, &desk, "breaching").await, vec![first]);
    app.run_job("tickets").await;
    let log = app
        .get(&format!("/api/v1/tickets/{first}"), Some(&desk))
        .await
        .body;
    let kinds: Vec<&str> = log["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"sla_warning"), "{kinds:?}");

    // Past its deadline it is escalated at once, before the sweep runs…
    app.advance(1300);
    assert_eq!(view(&app, &desk, "escalated").await, vec![first]);
    assert!(view(&app, &desk, "breaching").await.is_empty());
    // …and the sweep hands it to `lead`, leaving it in the escalated view.
    app.run_job("tickets").await;
    let t = app
        .get(&format!("/api/v1/tickets/{first}"), Some(&desk))
        .await
        .body;
    assert_eq!(t["ticket"]["assignee"], "lead", "{t}");
    assert!(t["ticket"]["breached_at"].is_string(), "{t}");
    assert_eq!(view(&app, &desk, "escalated").await, vec![first]);
    assert!(view(&app, &desk, "mine").await.is_empty());

    // Every view's count matches its list.
    let c = counts(&app, &desk).await;
    for v in [
        "mine",
        "unassigned",
        "breaching",
        "escalated",
        "waiting",
        "open",
    ] {
        let n = view(&app, &desk, v).await.len();
        assert_eq!(c[v], json!(n), "{v}: {c}");
    }

    // A view that does not exist is refused with a clear message.
    let bad = app.get("/api/v1/tickets?view=urgent", Some(&desk)).await;
    bad.problem(400);
}

/// The subscriber search the console's pages use: any part of an account,
/// name, email or phone, in any case, with LIKE's wildcards taken as text.
async fn subscribers_are_found_by_any_part_of_their_record(app: TestApp) {
    let admin = app.admin_token.clone();
    for (account, name, email) in [
        ("A-100", "Amélie Poulain", "amelie@cafe.example"),
        ("B-200", "Bob Marley", "bob_100%@music.example"),
        ("C-300", "Carla Bruni", "carla@music.example"),
    ] {
        let s = app
            .post(
                "/api/v1/subscribers",
                Some(&admin),
                &json!({ "account": account, "name": name, "email": email, "plan": "basic" }),
            )
            .await;
        assert_eq!(s.status, 201, "{}", s.body);
    }
    let found = |q: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            // `q` is written already encoded.
            let r = app
                .get(&format!("/api/v1/subscribers?q={q}"), Some(&admin))
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            let mut accounts: Vec<String> = r.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|s| s["account"].as_str().expect("account").to_owned())
                .collect();
            accounts.sort();
            (accounts, r.body["total"].clone())
        }
    };
    assert_eq!(
        found("MUSIC").await.0,
        ["B-200", "C-300"],
        "email, any case"
    );
    assert_eq!(found("poul").await.0, ["A-100"], "name");
    assert_eq!(found("b-2").await.0, ["B-200"], "account");
    assert_eq!(found("100%25").await.0, ["B-200"], "a % is text");
    assert_eq!(found("_").await.0, ["B-200"], "an _ is text");
    assert_eq!(found("nobody").await, (Vec::<String>::new(), json!(0)));
}

wavecast_e2e::both_backends!(
    views_sort_and_page_by_the_sla_clock,
    subscribers_are_found_by_any_part_of_their_record
);
