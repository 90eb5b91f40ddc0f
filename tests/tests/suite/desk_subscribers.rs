//! Subscribers and new tickets in a real browser: support staff record a
//! subscriber, link a box, issue an app token (shown once, and it works),
//! open a chat ticket from the subscriber's page with their box picked,
//! find subscribers as they type, and unlink the box; a viewer reads the
//! page without its controls and the server refuses the viewer's forms.
//! The subscriber page's screenshot goes to `docs/console`.

use reqwest::StatusCode;
use serde_json::{json, Value};
use wavecast_e2e::{browser::Browser, trust::Keys};

use crate::{
    console::{shots, PASSWORD},
    desk::{boxes, desk_app, support_user},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_staff_look_after_a_subscriber_and_open_a_ticket_for_them() {
    let app = desk_app().await;
    let keys = Keys::new();
    keys.publish(&app).await;
    support_user(&app, "sam", "support").await;
    support_user(&app, "vic", "viewer").await;
    let admin = app.admin_token.clone();
    let w = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/warranties/X1",
            Some(&admin),
            Some(&json!({ "months": 24 })),
        )
        .await;
    assert_eq!(w.status, 204, "{}", w.body);
    boxes(&app, &keys, "SUB", 2, 2, &[]).await;

    let b = Browser::start(&app.address).await;
    b.check("subscriber", async {
        b.sign_in("sam", PASSWORD).await;
        b.goto("/subscribers").await;
        b.fill("#new-subscriber input[name=account]", "S-42").await;
        b.fill("#new-subscriber input[name=name]", "Sofia Marin")
            .await;
        b.fill("#new-subscriber input[name=email]", "sofia@example.net")
            .await;
        b.fill("#new-subscriber input[name=phone]", "+33 1 23 45 67 89")
            .await;
        b.find("#new-subscriber select[name=plan] option[value=premium]")
            .await
            .click()
            .await
            .expect("pick premium");
        b.find("#new-subscriber select[name=dedicated_agent] option[value=sam]")
            .await
            .click()
            .await
            .expect("pick the agent");
        b.click_nav("#new-subscriber button").await;
        assert!(b.path().await.starts_with("/subscribers/S-42"));
        assert!(b.text("#notice").await.contains("recorded"));
        assert!(b.text("#record").await.contains("premium"));

        // A box linked from the page: online, its warranty from today.
        b.fill("#link input[name=device]", "SUB000000").await;
        b.click_nav("#link button").await;
        let row = "#boxes tr[data-serial=SUB000000]";
        assert!(b.has(row).await, "the linked box is listed");
        let line = b.text(row).await;
        assert!(line.contains("online"), "{line}");
        assert!(line.contains("covered until"), "{line}");
        assert!(line.contains("x1-firmware"), "what it runs: {line}");

        // An app token, shown once, that the subscriber API accepts.
        b.click_nav("#issue-token").await;
        let token = b.text("#app-token").await;
        let mine = app.get("/api/v1/subscriber/boxes", Some(&token)).await;
        assert_eq!(mine.status, 200, "{}", mine.body);
        assert_eq!(mine.body[0]["serial"], "SUB000000", "{}", mine.body);
        b.goto("/subscribers/S-42").await;
        assert!(!b.has("#app-token").await, "the token is shown only once");

        // A chat ticket from the subscriber's page, their box picked.
        b.click_nav("#tickets a.button").await;
        let pick = "#boxes input[name=device][value=SUB000000]";
        assert!(b.find(pick).await.is_selected().await.unwrap_or(false));
        b.find("#channel option[value=chat]")
            .await
            .click()
            .await
            .expect("chat");
        b.fill("#subject", "No sound on HD channels").await;
        b.fill("#body", "Since this morning, HD channels are silent.")
            .await;
        b.click_nav("#open-ticket").await;
        assert!(b.text("#notice").await.contains("opened"));
        let id: i64 = b
            .path()
            .await
            .trim_start_matches("/tickets/")
            .split('?')
            .next()
            .and_then(|s| s.parse().ok())
            .expect("the new ticket's page");
        let t = app
            .get(&format!("/api/v1/tickets/{id}"), Some(&admin))
            .await;
        let t: &Value = &t.body["ticket"];
        assert_eq!(t["channel"], "chat", "{t}");
        assert_eq!(t["plan"], "premium", "{t}");
        assert_eq!(t["assignee"], "sam", "the dedicated agent: {t}");
        assert_eq!(t["device_serial"], "SUB000000", "{t}");
        b.click_nav("#subscriber-link").await;
        assert!(b.has(&format!("#tickets tr[data-ticket='{id}']")).await);
        b.screenshot(&shots().join("subscriber.png")).await;

        // Finding a subscriber as one types, on the new-ticket page.
        b.goto("/tickets/new").await;
        b.fill("#find", "sofia").await;
        b.wait_until("the live match", 10, || async {
            b.has("#matches a[data-account='S-42']").await
        })
        .await;
        assert_eq!(b.path().await, "/tickets/new", "no page load");
        b.goto("/subscribers?q=MARIN").await;
        assert!(b.has("tr[data-account='S-42']").await, "any case");
        b.goto("/subscribers?q=nobody-here").await;
        assert!(!b.has("tr[data-account='S-42']").await);

        // Unlinking: the box leaves, and its open ticket with it.
        b.goto("/subscribers/S-42").await;
        b.navigating(|| async {
            b.click(&format!("{row} button[value=unlink]")).await;
            b.confirm().await;
        })
        .await;
        assert!(!b.has(row).await, "unlinked");
        let off = app.get("/api/v1/devices/SUB000000", Some(&admin)).await;
        assert_eq!(off.body["subscriber_id"], Value::Null, "{}", off.body);

        // A viewer reads, without controls; the server refuses the forms.
        b.click_nav("header form button").await;
        b.sign_in("vic", PASSWORD).await;
        b.goto("/subscribers/S-42").await;
        assert!(b.text("h1").await.contains("Sofia Marin"));
        for control in ["#issue-token", "#link", "#change"] {
            assert!(!b.has(control).await, "viewer: no {control}");
        }
        for (path, action) in [
            ("/subscribers/S-42", "token"),
            ("/subscribers/S-42", "link"),
            ("/tickets/new", ""),
        ] {
            let form = [
                ("action", action),
                ("device", "SUB000001"),
                ("channel", "phone"),
                ("kind", "support"),
                ("subject", "x"),
            ];
            let status = b.post_by_hand(&app.address, path, &form).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "viewer POST {path} {action}");
        }
    })
    .await;
    b.close().await;
    let s = app.get("/api/v1/subscribers/S-42", Some(&admin)).await;
    assert_eq!(s.body["devices"], json!([]), "the viewer linked nothing");
}
