//! The real `wavecast` CLI over the after-sales and telemetry resources:
//! plans and SLAs, warranty, agents, subscribers (with a plan change that
//! re-routes), tickets (create, assign, priority, quote, return), the fault
//! catalog, webhooks, problems, a box's page, events and series with its
//! sparkline, and the fleet summary. Each command's effect is read back.

use wavecast_e2e::{
    bin::{wavecast as run, wavecast_json as json, wavecast_ok as ok},
    fleet::{enrol_many, fault, send_events},
    TestApp,
};
use wavecast_protocol::events::{Event, EventBody, HealthReport};

fn temperature(id: &str, at: i64, t: f32) -> Event {
    Event {
        id: id.into(),
        body: EventBody::Health(HealthReport {
            at,
            temperature_c: Some(t),
            ..HealthReport::default()
        }),
    }
}

async fn the_cli_works_the_support_desk(app: TestApp) {
    let boxes = enrol_many(&app, 700, 2, "X1", &[]).await;
    let (a, b) = (&boxes[0], &boxes[1]);
    let now = app.clock.now().timestamp();
    let mut events: Vec<Event> = (0..12)
        .map(|i| temperature(&format!("h{i}"), now - 600 + i * 50, 40.0 + i as f32))
        .collect();
    events.push(fault("f1", now, "HW-HDMI-001", Some("hdmi"), "4.1.0"));
    send_events(&app, a, events).await;

    // Plans, SLAs, warranty, agents.
    ok(
        &app,
        &["plan", "set", "gold", "--name", "Gold", "--rank", "2"],
    )
    .await;
    ok(
        &app,
        &[
            "plan",
            "sla",
            "gold",
            "support",
            "--first-response",
            "30m",
            "--resolution",
            "4h",
            "--hours",
            "mon-fri=08:00-20:00",
            "--timezone",
            "Europe/Paris",
        ],
    )
    .await;
    let plans = json(&app, &["plan", "list"]).await;
    let gold = plans
        .as_array()
        .expect("plans")
        .iter()
        .find(|p| p["key"] == "gold")
        .expect("the new plan");
    assert_eq!(
        gold["sla"]["support"]["first_response_secs"], 1800,
        "{gold}"
    );
    assert_eq!(
        gold["sla"]["support"]["calendar"]["timezone"],
        "Europe/Paris"
    );
    assert!(ok(&app, &["plan", "list"])
        .await
        .contains("mon-fri 08:00-20:00 (Europe/Paris)"));
    ok(&app, &["warranty", "set", "X1", "24"]).await;
    let w = ok(
        &app,
        &[
            "warranty",
            "device",
            &a.serial,
            "--activated-at",
            "2020-01-01T00:00:00Z",
        ],
    )
    .await;
    assert!(w.contains("expired"), "{w}");
    ok(&app, &["users", "create", "ines", "--role", "support"]).await;
    let agents = ok(
        &app,
        &[
            "agent",
            "set",
            "ines",
            "--queues",
            "support,repair",
            "--off-shift",
        ],
    )
    .await;
    assert!(
        agents.contains("support,repair") && agents.contains(" no "),
        "{agents}"
    );

    // A subscriber, a box, a plan change; a token for their app.
    ok(
        &app,
        &[
            "subscriber",
            "create",
            "S-1",
            "--name",
            "Sam",
            "--plan",
            "basic",
        ],
    )
    .await;
    ok(&app, &["subscriber", "link", "S-1", &a.serial]).await;
    let set = ok(
        &app,
        &[
            "subscriber",
            "set",
            "S-1",
            "--plan",
            "gold",
            "--agent",
            "ines",
        ],
    )
    .await;
    assert!(set.contains("gold") && set.contains("ines"), "{set}");
    let token = ok(&app, &["subscriber", "token", "S-1"]).await;
    assert!(token.trim().starts_with("wcs_"), "{token}");

    // Tickets from a phone call and an email; the quote and return flows.
    let t = json(
        &app,
        &[
            "ticket",
            "create",
            "--channel",
            "phone",
            "--subject",
            "No sound",
            "--subscriber",
            "S-1",
            "--device",
            &a.serial,
            "--kind",
            "repair",
        ],
    )
    .await;
    let id = t["id"].as_i64().expect("id").to_string();
    assert_eq!(t["plan"], "gold", "{t}");
    assert_eq!(
        t["assignee"], "ines",
        "the subscriber's dedicated agent: {t}"
    );
    ok(&app, &["ticket", "priority", &id, "urgent"]).await;
    ok(
        &app,
        &[
            "ticket",
            "quote",
            &id,
            "--amount",
            "49.90",
            "--currency",
            "EUR",
            "--note",
            "HDMI board",
        ],
    )
    .await;
    ok(&app, &["ticket", "quote-answer", &id, "--accepted"]).await;
    ok(
        &app,
        &["ticket", "comment", &id, "Board ordered.", "--public"],
    )
    .await;
    let page = ok(&app, &["ticket", "show", &id]).await;
    for seen in ["urgent", "ines", "49.90 EUR", "Board ordered.", "gold"] {
        assert!(page.contains(seen), "{seen} in:\n{page}");
    }
    let listed = ok(&app, &["ticket", "list", "--device", &a.serial, "--quiet"]).await;
    assert!(listed.lines().any(|l| l == id), "{listed}");
    let mine = ok(&app, &["ticket", "list", "--subscriber", "S-1", "--active"]).await;
    assert!(mine.contains("No sound"), "{mine}");
    let w = json(
        &app,
        &[
            "ticket",
            "create",
            "--channel",
            "email",
            "--subject",
            "Dead box",
            "--device",
            &b.serial,
            "--kind",
            "warranty",
        ],
    )
    .await;
    let wid = w["id"].as_i64().expect("id").to_string();
    let rma = json(&app, &["ticket", "rma", &wid, "--note", "to the bench"]).await;
    assert_eq!(rma["rma"]["action"], "repair", "{rma}");
    ok(&app, &["ticket", "assign", &wid, "--nobody"]).await;

    // The fault catalog, webhooks, problems.
    let dir = tempfile::tempdir().expect("dir");
    let kb = dir.path().join("kb.md");
    std::fs::write(&kb, "Unplug it for ten seconds.").expect("write");
    ok(
        &app,
        &[
            "catalog",
            "set",
            "SW-TEST-1",
            "--title",
            "Test fault",
            "--class",
            "software",
            "--severity",
            "minor",
            "--kb",
            kb.to_str().expect("utf8"),
            "--occurrences",
            "2",
        ],
    )
    .await;
    let entry = ok(&app, &["catalog", "show", "SW-TEST-1"]).await;
    assert!(
        entry.contains("Unplug it") && entry.contains("2 in 24 h"),
        "{entry}"
    );
    ok(&app, &["catalog", "remove", "SW-TEST-1"]).await;
    let gone = run(&app, &["catalog", "show", "SW-TEST-1"]).await;
    let err = String::from_utf8_lossy(&gone.stderr);
    assert!(!gone.status.success() && err.contains("404"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    let secret = ok(
        &app,
        &[
            "webhook",
            "add",
            "https://helpdesk.example.net/hook",
            "--events",
            "ticket.opened",
        ],
    )
    .await;
    assert!(!secret.trim().is_empty());
    let hooks = json(&app, &["webhook", "list"]).await;
    let hook = hooks[0]["id"].as_str().expect("id").to_owned();
    ok(&app, &["webhook", "remove", &hook]).await;
    assert_eq!(
        json(&app, &["webhook", "list"]).await,
        serde_json::json!([])
    );
    let problems = json(&app, &["problem", "list"]).await;
    let p = problems[0]["id"].as_str().expect("a problem").to_owned();
    assert!(ok(&app, &["problem", "show", &p])
        .await
        .contains("HW-HDMI-001"));

    // The box: its page, events, a metric as a sparkline, a typo's answer.
    let page = ok(&app, &["device", "show", &a.serial]).await;
    for seen in ["S-1 Sam (gold plan)", "expired", "No sound", "Open tickets"] {
        assert!(page.contains(seen), "{seen} in:\n{page}");
    }
    let events = ok(&app, &["device", "events", &a.serial, "--type", "fault"]).await;
    assert!(events.contains("HW-HDMI-001"), "{events}");
    let series = ok(&app, &["device", "series", &a.serial, "temperature_c"]).await;
    assert!(
        series.contains("12 points") && series.contains('▁') && series.contains('█'),
        "{series}"
    );
    let typo = run(&app, &["device", "series", &a.serial, "temperature"]).await;
    let err = String::from_utf8_lossy(&typo.stderr);
    assert!(
        !typo.status.success() && err.contains("temperature_c"),
        "{err}"
    );
    let fleet = ok(&app, &["fleet", "summary"]).await;
    assert!(fleet.contains("2 boxes"), "{fleet}");
    ok(&app, &["subscriber", "unlink", "S-1", &a.serial]).await;
    let sam = json(&app, &["subscriber", "show", "S-1"]).await;
    assert_eq!(sam["devices"], serde_json::json!([]), "{sam}");
}

wavecast_e2e::both_backends!(the_cli_works_the_support_desk);
