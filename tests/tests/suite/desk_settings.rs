//! The desk's settings in a real browser: an admin sets a plan's SLA
//! policy through the form (durations, business hours in a time zone, a
//! holiday, the escalation contact) and a model's warranty; support staff
//! set an agent's queues and shift and write a fault's knowledge-base
//! article, which the subscriber's app then reads. Each is checked through
//! the REST API. A bad duration gets a clear message; support staff may
//! not change plans or warranties (no form; the server answers 403).

use reqwest::StatusCode;
use serde_json::{json, Value};
use wavecast_e2e::browser::Browser;

use crate::{
    console::PASSWORD,
    desk::{desk_app, support_user},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_set_from_the_console_are_what_the_api_serves() {
    let app = desk_app().await;
    support_user(&app, "lead", "support").await;
    let admin = app.admin_token.clone();
    let b = Browser::start(&app.address).await;
    b.check("settings", async {
        b.sign_in("admin", PASSWORD).await;
        b.click_nav("header nav a[href='/settings']").await;
        let vip = "div[data-plan=vip] tr[data-kind=warranty] td.first";
        assert_eq!(b.text(vip).await, "1h", "the seeded VIP target");

        // The basic plan's support policy, in business hours.
        b.goto("/settings/plans/basic/support").await;
        b.fill("#first_response", "2h 30m").await;
        b.fill("#resolution", "2days").await;
        b.click("input[name=calendar][value=business]").await;
        b.fill("input[name=timezone]", "Europe/Paris").await;
        for d in ["mon", "tue", "wed", "thu", "fri"] {
            b.fill(&format!("input[name=open_{d}]"), "08:00").await;
            b.fill(&format!("input[name=close_{d}]"), "17:00").await;
        }
        for d in ["sat", "sun"] {
            b.fill(&format!("input[name=open_{d}]"), "").await;
            b.fill(&format!("input[name=close_{d}]"), "").await;
        }
        b.fill("#holidays", "2026-12-25").await;
        b.find("select[name=escalate_to] option[value=lead]")
            .await
            .click()
            .await
            .expect("pick lead");
        b.click_nav("#save-policy").await;
        assert!(b
            .text("#notice")
            .await
            .contains("basic plan's support policy"));
        let plans = app.get("/api/v1/plans", Some(&admin)).await;
        let basic = plans
            .body
            .as_array()
            .and_then(|a| a.iter().find(|p| p["key"] == "basic"))
            .expect("basic plan");
        let t = &basic["sla"]["support"];
        assert_eq!(t["first_response_secs"], 9000, "{t}");
        assert_eq!(t["resolution_secs"], 2 * 86400, "{t}");
        assert_eq!(t["escalate_to"], "lead", "{t}");
        assert_eq!(
            t["calendar"],
            json!({ "kind": "business_hours", "timezone": "Europe/Paris",
                    "hours": { "mon": ["08:00", "17:00"], "tue": ["08:00", "17:00"],
                               "wed": ["08:00", "17:00"], "thu": ["08:00", "17:00"],
                               "fri": ["08:00", "17:00"] },
                    "holidays": ["2026-12-25"] }),
        );

        // A duration nobody can read gets a message, and changes nothing.
        b.goto("/settings/plans/basic/support").await;
        b.fill("#first_response", "soon").await;
        b.click_nav("#save-policy").await;
        assert!(b.text(".banner.error").await.contains("first response"));
        let again = app.get("/api/v1/plans", Some(&admin)).await;
        assert_eq!(again.body, plans.body, "nothing changed");

        // A model's warranty.
        b.goto("/settings/warranty").await;
        b.fill("#warranty input[name=model]", "X9").await;
        b.fill("#warranty input[name=months]", "36").await;
        b.click_nav("#warranty button").await;
        assert!(b.has("#warranties tr[data-model=X9]").await);
        let w = app.get("/api/v1/warranties", Some(&admin)).await;
        assert!(
            w.body
                .as_array()
                .is_some_and(|a| a.contains(&json!({ "model": "X9", "months": 36 }))),
            "{}",
            w.body
        );
    })
    .await;

    b.check("support-settings", async {
        b.click_nav("header form button").await;
        b.sign_in("lead", PASSWORD).await;
        // An agent's queues and shift.
        b.goto("/settings/agents").await;
        let row = "tr[data-agent=lead]";
        b.click(&format!("{row} input[value=warranty]")).await;
        b.click(&format!("{row} input[name=on_shift]")).await;
        b.click_nav(&format!("{row} button")).await;
        assert!(b.text("#notice").await.contains("lead is on shift"));
        let agents = app.get("/api/v1/support-agents", Some(&admin)).await;
        let lead = agents
            .body
            .as_array()
            .and_then(|a| a.iter().find(|x| x["user"] == "lead"))
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(lead["queues"], json!(["warranty"]), "{lead}");
        assert_eq!(lead["on_shift"], true, "{lead}");

        // A new fault code and its article.
        b.goto("/settings/catalog").await;
        b.click_nav("#new-code").await;
        b.fill("input[name=code]", "SW-EPG-042").await;
        b.fill("input[name=title]", "Programme guide empty").await;
        b.find("select[name=class] option[value=software]")
            .await
            .click()
            .await
            .expect("software");
        b.fill(
            "#kb",
            "Restart the box from Settings, then wait two minutes.",
        )
        .await;
        b.click_nav("#save-fault").await;
        assert!(b.has("#catalog tr[data-code=SW-EPG-042]").await);
        let e = app
            .get("/api/v1/fault-catalog/SW-EPG-042", Some(&admin))
            .await;
        assert_eq!(e.status, 200, "{}", e.body);
        assert_eq!(e.body["class"], "software", "{}", e.body);
        assert!(e.body["kb"]
            .as_str()
            .is_some_and(|k| k.starts_with("Restart the box")));

        // Support staff read plans but may not change them.
        b.goto("/settings").await;
        assert!(!b.has("#plan").await, "no plan form");
        b.goto("/settings/plans/vip/warranty").await;
        assert!(!b.has("#save-policy").await, "no save button");
        for (path, form) in [
            ("/settings/warranty", vec![("model", "X9"), ("months", "1")]),
            (
                "/settings/plans/vip/warranty",
                vec![
                    ("first_response", "1m"),
                    ("resolution", "2m"),
                    ("warn_pct", "50"),
                    ("calendar", "always"),
                ],
            ),
        ] {
            let status = b.post_by_hand(&app.address, path, &form).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "support POST {path}");
        }
    })
    .await;
    b.close().await;
}
