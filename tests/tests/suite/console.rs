//! The web console in a real browser (headless Chromium through Debian's
//! chromedriver): signing in with a password and, once, with the bootstrap
//! token; throttled guessing; CSRF and origin checks and roles the server
//! enforces whatever the page shows; text from a box shown as text; a
//! rollout created through the form for 50 simulated boxes, watched live to
//! its end with an approval and a pause on the way; a device's chart
//! holding the values its box sent; a bundle uploaded through the page;
//! and a screenshot of each page at 1280 px and the overview on a phone
//! (see `shots`).

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{json, Value};
use wavecast_e2e::{
    browser::Browser,
    trust::{good_bundle, payload, server_signs, Keys},
    Backend, TestApp,
};
use wavecast_server::platform::config::Config;

pub const PASSWORD: &str = "correct horse battery";

/// Live views refresh every 300 ms here.
pub fn quick(c: &mut Config) {
    server_signs(c);
    c.console.poll_millis = 300;
}

pub async fn app() -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, quick)
        .await
        .expect("SQLite is always available")
}

/// Sets `name`'s password through the API.
pub async fn set_password(app: &TestApp, name: &str, password: &str) {
    let a = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/users/{name}/password"),
            Some(&app.admin_token),
            Some(&json!({ "password": password })),
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.body);
}

/// Where the pages' screenshots go: `docs/console`, so the README's
/// pictures are the pages as they are (`WAVECAST_SCREENSHOTS` names
/// another folder).
pub fn shots() -> std::path::PathBuf {
    let dir = match std::env::var_os("WAVECAST_SCREENSHOTS") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/console"),
    };
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_with_a_password_and_the_bootstrap_token_once() {
    let app = TestApp::spawn_unspent(Backend::Sqlite, quick)
        .await
        .expect("SQLite");
    let b = Browser::start(&app.address).await;
    b.check("signing-in", async {
        b.goto("/devices").await;
        assert_eq!(b.path().await, "/sign-in", "a page needs a session");
        // The bootstrap token signs in once, to choose the first password.
        b.sign_in("admin", &app.bootstrap_token).await;
        assert_eq!(b.path().await, "/account/password");
        b.fill("#new", PASSWORD).await;
        b.fill("#confirm", PASSWORD).await;
        b.click_nav("#save-password").await;
        assert_eq!(b.path().await, "/");
        assert_eq!(b.text("h1").await, "Overview");
        b.screenshot(&shots().join("sign-in-done.png")).await;
        b.click_nav("header form button").await;
        assert_eq!(b.path().await, "/sign-in");
        b.sign_in("admin", &app.bootstrap_token).await;
        assert!(
            b.text("#sign-in-error").await.contains("Wrong"),
            "the token is spent"
        );
        b.sign_in("admin", PASSWORD).await;
        assert_eq!(b.path().await, "/");
        b.click_nav("header form button").await;
        // Guessing is throttled: after five failures (the spent token was
        // one) even the right password waits for the window to pass.
        for _ in 0..4 {
            b.sign_in("admin", "not the password at all").await;
            assert!(b.text("#sign-in-error").await.contains("Wrong"));
        }
        b.sign_in("admin", PASSWORD).await;
        assert!(
            b.text("#sign-in-error")
                .await
                .contains("Too many failed sign-ins"),
            "{}",
            b.text("#sign-in-error").await
        );
        app.advance(16 * 60);
        b.sign_in("admin", PASSWORD).await;
        assert_eq!(b.path().await, "/", "the window passed");
    })
    .await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_what_the_page_does_not_offer() {
    let app = app().await;
    set_password(&app, "admin", PASSWORD).await;
    let viewer = app.user_with_role("vic", "viewer").await;
    drop(viewer);
    set_password(&app, "vic", PASSWORD).await;
    // A waiting box whose agent version is markup (a model may not be:
    // it is refused at the edge).
    let evil = "<img src=x onerror=alert(1)>";
    let key = wavecast_e2e::trust::key(77);
    let mut claim = wavecast_protocol::device::EnrolClaim {
        serial: "SN-XSS".into(),
        model: evil.into(),
        hardware_revision: "A".into(),
        public_key: wavecast_protocol::keys::public_key_text(&key.verifying_key()),
        timestamp: app.clock.now().timestamp(),
        agent_version: Some(evil.into()),
    };
    let enrol = |claim: &wavecast_protocol::device::EnrolClaim| {
        let env = claim.sign(&key).expect("sign");
        let app = &app;
        async move {
            app.post(
                "/api/v1/device/enrol",
                None,
                &serde_json::to_value(env).expect("json"),
            )
            .await
        }
    };
    assert!(enrol(&claim).await.problem(422).contains("model"));
    claim.model = "X1".into();
    let e = enrol(&claim).await;
    assert_eq!(e.status, 202, "{}", e.body);

    let b = Browser::start(&app.address).await;
    b.check("refusals", async {
        b.sign_in("admin", PASSWORD).await;
        b.goto("/devices/SN-XSS").await;
        assert!(
            b.text("#agent").await.starts_with(evil),
            "shown as text: {}",
            b.text("#agent").await
        );
        let alerted = b.client.get_alert_text().await.is_ok();
        assert!(!alerted, "no script ran");
        assert!(!b.has("#agent img").await, "no element was made of it");
        let cookie = b.session_cookie().await;
        let csrf = b.csrf().await;
        let http = Browser::http();
        let accept = format!("{}/devices/SN-XSS/accept", app.address);
        let post = |form: Vec<(&'static str, String)>, origin: &str| {
            http.post(&accept)
                .header("cookie", &cookie)
                .header("origin", origin)
                .form(&form)
                .send()
        };
        let same = app.address.as_str();
        let r = post(vec![], same).await.expect("answer");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "no CSRF token");
        let r = post(vec![("csrf", "0".repeat(64))], same)
            .await
            .expect("answer");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "a wrong CSRF token");
        let r = post(vec![("csrf", csrf.clone())], "http://evil.example")
            .await
            .expect("answer");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "another origin");
        let r = http
            .post(&accept)
            .header("cookie", &cookie)
            .header("sec-fetch-site", "cross-site")
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "a cross-site request");
        // The API ignores the console's cookie.
        let r = http
            .get(format!("{}/api/v1/me", app.address))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        // Still waiting: nothing above changed it.
        let d = app
            .get("/api/v1/devices/SN-XSS", Some(&app.admin_token))
            .await;
        assert_eq!(d.body["status"], "pending");

        // A viewer sees no controls, and a direct POST is refused.
        b.click_nav("header form button").await;
        b.sign_in("vic", PASSWORD).await;
        b.goto("/devices?status=pending").await;
        assert!(b.text("table").await.contains("SN-XSS"));
        assert!(!b.has("form[action$='/accept']").await, "no accept button");
        b.goto("/bundles").await;
        assert!(!b.has("form.upload").await, "no upload form");
        b.goto("/admin/users").await;
        assert!(
            b.text("h1").await.contains("403"),
            "admin pages are refused"
        );
        b.goto("/devices").await;
        let cookie = b.session_cookie().await;
        let csrf = b.csrf().await;
        let r = http
            .post(&accept)
            .header("cookie", &cookie)
            .header("origin", same)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "a viewer may not accept");
        let d = app
            .get("/api/v1/devices/SN-XSS", Some(&app.admin_token))
            .await;
        assert_eq!(d.body["status"], "pending");
        // Headers on every page.
        let r = http
            .get(format!("{}/devices", app.address))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("answer");
        let h = r.headers();
        assert_eq!(
            h["content-security-policy"]
                .to_str()
                .ok()
                .map(|v| v.starts_with("default-src 'self'")),
            Some(true)
        );
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["x-content-type-options"], "nosniff");
    })
    .await;
    b.close().await;
}

/// The rollout's state as the page shows it.
async fn shown_state(b: &Browser) -> String {
    b.text("#rollout-state").await
}

/// The succeeded count of every wave's bar on the page.
async fn succeeded(b: &Browser) -> u64 {
    let mut n = 0;
    for e in b
        .client
        .find_all(fantoccini::Locator::Css("rect[data-part='succeeded']"))
        .await
        .unwrap_or_default()
    {
        n += e
            .attr("data-count")
            .await
            .ok()
            .flatten()
            .and_then(|c| c.parse::<u64>().ok())
            .unwrap_or(0);
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_made_in_the_form_runs_to_its_end_before_your_eyes() {
    let app = app().await;
    set_password(&app, "admin", PASSWORD).await;
    let keys = Keys::new();
    keys.publish(&app).await;
    app.upload_and_publish(
        good_bundle(&keys, "x1-firmware", "4.2.0", &payload(200_000, 5)),
        "x1-firmware@4.2.0",
    )
    .await;
    // 50 boxes, running until the test ends.
    let root = wavecast_protocol::keys::public_key_text(&keys.root.verifying_key());
    let mut sim = tokio::process::Command::new(wavecast_e2e::bin::path("wavecast-agent"))
        .arg("simulate")
        .args(["--server", &app.address, "--root-key", &root])
        .args(["--token", &app.admin_token, "--threads", "4", "--poll", "1"])
        .args([
            "--devices",
            "50",
            "--telemetry-secs",
            "2",
            "--duration",
            "240",
        ])
        .args(["--fault", "HW-HDMI-001", "--fault-rate", "0.1"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the simulator starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let d = app
            .get(
                "/api/v1/devices?status=accepted&limit=1",
                Some(&app.admin_token),
            )
            .await;
        if d.body["total"] == 50 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "50 boxes enrol: {}",
            d.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    let b = Browser::start(&app.address).await;
    b.check("rollout", async {
        b.sign_in("admin", PASSWORD).await;
        b.goto("/rollouts/new").await;
        assert!(
            b.has("input[name=bundles][value='x1-firmware@4.2.0']:not([disabled])")
                .await,
            "the published bundle can be chosen"
        );
        b.fill("#rollout-name", "X1 4.2 from the console").await;
        b.click("input[name=bundles][value='x1-firmware@4.2.0']")
            .await;
        b.fill("input[name=models]", "X1").await;
        b.wait_until("the live count", 10, || async {
            b.text("#matching").await.starts_with("50 boxes")
        })
        .await;
        // A canary of 5 that needs approval, then everyone.
        for (field, value) in [
            ("wave0_percent", ""),
            ("wave0_count", "5"),
            ("wave0_success", "100"),
            ("wave0_failure", "50"),
            ("wave1_percent", "100"),
            ("wave1_soak", ""),
            ("wave2_percent", ""),
        ] {
            b.fill(&format!("input[name={field}]"), value).await;
        }
        b.screenshot(&shots().join("rollout-new.png")).await;
        b.click_nav("#create-rollout").await;
        assert!(
            b.path().await.starts_with("/rollouts/0"),
            "{}",
            b.path().await
        );
        let path = b.path().await;
        // From here the page is never reloaded: a marker in the window
        // would not survive a reload.
        b.client
            .execute("window.stillHere = true; return true;", vec![])
            .await
            .expect("script");
        let seen = std::cell::RefCell::new(std::collections::BTreeSet::new());
        b.wait_until("the canary done, awaiting approval", 90, || async {
            let n = succeeded(&b).await;
            seen.borrow_mut().insert(n);
            shown_state(&b).await == "awaiting approval"
        })
        .await;
        assert!(b.text(".banner.warn").await.contains("Approve"));
        b.screenshot(&shots().join("rollout-approval.png")).await;
        b.click("#approve").await;
        b.confirm().await;
        b.wait_until("wave 2 running", 20, || async {
            shown_state(&b).await == "running"
        })
        .await;
        b.click("#pause").await;
        b.confirm().await;
        b.wait_until("the pause shown", 5, || async {
            shown_state(&b).await == "paused"
        })
        .await;
        b.click("#resume").await;
        b.confirm().await;
        b.wait_until("the rollout completes", 120, || async {
            let n = succeeded(&b).await;
            seen.borrow_mut().insert(n);
            shown_state(&b).await == "completed"
        })
        .await;
        let n = succeeded(&b).await;
        seen.borrow_mut().insert(n);
        assert!(
            n >= 48,
            "95 % of the boxes at least (the wave's threshold): {n}"
        );
        let seen = seen.borrow().clone();
        assert!(seen.len() >= 3, "the bars moved on the page: {seen:?}");
        assert_eq!(b.path().await, path);
        let kept = b
            .client
            .execute("return window.stillHere === true;", vec![])
            .await
            .expect("script");
        assert_eq!(kept, Value::Bool(true), "the page was never reloaded");
        b.screenshot(&shots().join("rollout.png")).await;

        // A box's page lists each step of its install, in order.
        b.goto("/devices/SIM000003").await;
        let steps = b.text("ol.steps").await;
        let at = |word: &str| {
            steps
                .find(word)
                .unwrap_or_else(|| panic!("{word} in {steps}"))
        };
        assert!(at("downloading") < at("installing"), "{steps}");
        assert!(at("installing") < at("succeeded"), "{steps}");
        let api = app
            .get("/api/v1/devices/SIM000003", Some(&app.admin_token))
            .await;
        let states: Vec<&str> = api.body["rollouts"][0]["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .filter_map(|s| s["state"].as_str())
            .collect();
        assert_eq!(states.first(), Some(&"downloading"), "{}", api.body);
        assert_eq!(states.last(), Some(&"succeeded"), "{}", api.body);

        // A box running a hawkBit DDI client is marked as such.
        let ddi = app
            .post(
                "/api/v1/ddi/targets",
                Some(&app.admin_token),
                &serde_json::json!({ "controller_id": "STB-DDI-1", "model": "stb" }),
            )
            .await;
        assert_eq!(ddi.status, 201, "{}", ddi.body);
        b.goto("/devices?q=STB-DDI").await;
        let row = b.text("table tbody tr").await;
        assert!(row.contains("STB-DDI-1") && row.contains("DDI"), "{row}");
        b.goto("/devices/STB-DDI-1").await;
        let client = b.text("#agent").await;
        assert!(client.contains("hawkBit client"), "{client}");

        // Every page, at 1280 px, with a fleet behind it.
        for (path, name) in [
            ("/", "overview"),
            ("/devices", "devices"),
            ("/devices/SIM000003", "device"),
            ("/bundles", "bundles"),
            ("/rollouts", "rollouts"),
            ("/problems", "problems"),
            ("/admin/users", "admin-users"),
            ("/admin/audit", "admin-audit"),
            ("/keyring", "keyring"),
        ] {
            b.goto(path).await;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            b.screenshot_page(&shots().join(format!("{name}.png")))
                .await;
        }
    })
    .await;
    b.close().await;
    // And on a phone.
    let phone = Browser::start_sized(&app.address, 390, 844).await;
    phone
        .check("phone", async {
            phone.sign_in("admin", PASSWORD).await;
            phone.goto("/").await;
            phone.screenshot(&shots().join("overview-phone.png")).await;
            let width: Value = phone
                .client
                .execute(
                    "const d = document.documentElement; return [d.clientWidth, d.scrollWidth];",
                    vec![],
                )
                .await
                .expect("script");
            assert_eq!(width[0], 390, "a phone's viewport");
            assert_eq!(width[1], 390, "no sideways scrolling");
        })
        .await;
    phone.close().await;
    let _ = sim.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_devices_chart_holds_what_its_box_sent_and_a_bundle_uploads_from_the_page() {
    let app = app().await;
    set_password(&app, "admin", PASSWORD).await;
    let keys = Keys::new();
    keys.publish(&app).await;
    wavecast_e2e::sim::run(
        &app,
        &keys,
        &[
            "--devices",
            "1",
            "--serial-prefix",
            "CHART",
            "--telemetry-secs",
            "1",
            "--duration",
            "6",
        ],
    )
    .await;
    let series = app
        .get(
            "/api/v1/devices/CHART000000/series?metric=sim.report",
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(series.status, 200, "{}", series.body);
    let sent: Vec<f64> = series.body["points"]
        .as_array()
        .expect("points")
        .iter()
        .filter_map(|p| p[1].as_f64())
        .collect();
    assert!(sent.len() >= 4, "{sent:?}");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("codec.wcb");
    std::fs::write(
        &file,
        good_bundle(&keys, "x1-firmware", "4.3.0", &payload(300_000, 9)),
    )
    .expect("write");

    let b = Browser::start(&app.address).await;
    b.check("chart-and-upload", async {
        b.sign_in("admin", PASSWORD).await;
        b.goto("/devices/CHART000000").await;
        // The chart's data, read from the page.
        let data: Value = b
            .client
            .execute(
                "const c = [...document.querySelectorAll('script[type=\"application/json\"]')]\
                   .map(s => JSON.parse(s.textContent)).find(c => c.metric === 'sim.report');\
                 return c ? c.series[0].values : null;",
                vec![],
            )
            .await
            .expect("script");
        let shown: Vec<f64> = data
            .as_array()
            .expect("the sim.report chart")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        assert_eq!(shown, sent, "the chart holds what the box sent");
        b.wait_until("uPlot draws", 10, || async { b.has(".chart canvas").await })
            .await;
        // Region and tags from the page; the list filters by them.
        b.fill("#placement input[name=region]", "north").await;
        b.fill("#placement input[name=tags]", "vip, lab").await;
        b.click_nav("#save-placement").await;
        assert_eq!(b.text("#region").await, "north, -");
        assert_eq!(b.text("#tags").await, "lab, vip");
        b.goto("/devices?tag=vip&region=north").await;
        assert!(b.text("#device-count").await.ends_with("of 1"));

        b.goto("/bundles").await;
        b.find("#bundle-file")
            .await
            .send_keys(file.to_str().expect("utf8"))
            .await
            .expect("choose the file");
        b.click("#upload").await;
        b.wait_until("the bundle's page", 30, || async {
            b.path().await.starts_with("/bundles/0")
        })
        .await;
        assert_eq!(b.text("#state").await, "staged");
        b.screenshot(&shots().join("bundle.png")).await;
        b.click_nav("#publish").await;
        assert_eq!(b.text("#state").await, "published");
    })
    .await;
    b.close().await;
}
