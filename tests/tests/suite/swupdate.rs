//! The real SWUpdate client (Debian's `swupdate` 2022.12, suricatta in
//! hawkBit mode) against `wavecast serve`, the real binary, through a proxy
//! that logs every request and cuts one download:
//!
//! - a two-wave rollout of a CMS-signed `.swu` to four boxes: each sends
//!   its `configData` once, downloads the image (the first download is cut
//!   mid-way and resumed with `Range`), reports progress, and reports
//!   success after its restart (`-c 2`), and the rollout completes;
//! - a corrupted image is reported as failed and pauses its rollout at the
//!   failure threshold;
//! - an aborted rollout cancels the box's action, and the box acknowledges.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wavecast_e2e::{
    served::{app_for, config_file, kill_dead, serve},
    swu,
    swupdate::{Proxy, Seen, SwuBox},
    trust::{payload, Keys},
    TestApp,
};

/// Waits until rollout `id` is in `state` (within `secs`), returning it.
async fn rollout_reaches(app: &TestApp, id: &str, state: &str, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let r = app
            .get(&format!("/api/v1/rollouts/{id}"), Some(&app.admin_token))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["state"] == state {
            return r.body;
        }
        assert!(
            Instant::now() < deadline,
            "rollout {id} did not become {state}: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Uploads and publishes a DDI bundle of `swu`.
async fn publish(app: &TestApp, keys: &Keys, version: &str, swu: &[u8]) {
    let file = swu::bundle(keys, "stb-firmware", version, swu);
    app.upload_and_publish(file, &format!("stb-firmware@{version}"))
        .await;
}

/// Creates a rollout and returns its id.
async fn roll_out(app: &TestApp, body: Value) -> String {
    let r = app
        .post("/api/v1/rollouts", Some(&app.admin_token), &body)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().expect("id").to_owned()
}

/// What the proxy saw for one controller.
fn seen_by<'a>(seen: &'a [Seen], controller: &str) -> Vec<&'a Seen> {
    let base = format!("/DEFAULT/controller/v1/{controller}");
    seen.iter().filter(|s| s.path.starts_with(&base)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swupdate_boxes_take_a_rollout_through_the_ddi_api() {
    let _ = wavecast_e2e::swupdate::binary(); // fail first, loudly, when it is missing
    let dir = tempfile::tempdir().expect("dir");
    let keys = Keys::new();
    let port = wavecast_e2e::free_port();
    let conf = config_file(
        dir.path(),
        &keys,
        port,
        "[rollouts]\ncheckin_interval_secs = 1\ntick_millis = 200\n[mqtt]\nmode = \"off\"\n",
    );
    let (mut server, token) = serve(&conf);
    let token = token.expect("a first start prints the bootstrap token");
    let app = app_for(&format!("http://127.0.0.1:{port}"), &token);
    keys.publish(&app).await;
    let proxy = Proxy::start(([127, 0, 0, 1], port).into()).await;

    // Four boxes, registered by the operator: each gets its TargetToken once.
    swu::signing_cert(dir.path());
    let cert = dir.path().join("cert.pem");
    let mut boxes = Vec::new();
    for n in 1..=4 {
        let controller = format!("stb-ddi-{n}");
        let r = app
            .post(
                "/api/v1/ddi/targets",
                Some(&app.admin_token),
                &json!({ "controller_id": controller, "model": "stb", "hardware_revision": "1.0" }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let token = r.body["token"].as_str().expect("token");
        boxes.push(SwuBox::new(dir.path(), &controller, token, &cert));
    }

    // A two-wave rollout of a 1 MiB image: one box first, then the rest.
    let image = payload(1 << 20, 21);
    publish(
        &app,
        &keys,
        "1.0.0",
        &swu::image(dir.path(), "1.0.0", &image),
    )
    .await;
    let first = roll_out(
        &app,
        json!({
            "name": "stb 1.0 over DDI", "bundles": ["stb-firmware@1.0.0"],
            "target": { "models": ["stb"] },
            "waves": [{ "count": 1, "soak_secs": 0 }, { "percent": 100, "soak_secs": 0 }],
        }),
    )
    .await;
    // The first image download is cut after 100 kB.
    proxy.cut_next("/artifacts/", 100_000);
    let mut runs: Vec<_> = boxes
        .iter()
        .map(|b| Some(b.start(&proxy.address, "")))
        .collect();
    let mut restarted = vec![false; boxes.len()];
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut waves_checked = false;
    loop {
        let r = app
            .get(&format!("/api/v1/rollouts/{first}"), Some(&app.admin_token))
            .await;
        if r.body["state"] == "completed" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rollout did not complete: {}",
            r.body
        );
        for (i, b) in boxes.iter().enumerate() {
            let Some(run) = &runs[i] else { continue };
            if restarted[i] {
                continue;
            }
            let log = std::fs::read_to_string(&run.log).unwrap_or_default();
            if log.contains("Update successful, executing post-update actions") {
                if !waves_checked {
                    // The first box to install is the first wave's only one.
                    assert_eq!(r.body["open_waves"], 1, "{}", r.body);
                    waves_checked = true;
                }
                // The box reboots into the new image and says it works.
                runs[i].take().expect("run").stop();
                runs[i] = Some(b.start(&proxy.address, "-c 2"));
                restarted[i] = true;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(runs);
    let seen = proxy.seen();
    let done = rollout_reaches(&app, &first, "completed", 5).await;
    assert_eq!(done["counts"]["succeeded"], 4, "{done}");
    for b in &boxes {
        let mine = seen_by(&seen, &b.controller);
        // Sent at most once per start of SWUpdate, and asked for only
        // until the server has the attributes.
        let puts: Vec<usize> = (mine.iter().enumerate())
            .filter(|(_, s)| s.method == "PUT" && s.path.ends_with("/configData"))
            .map(|(i, _)| i)
            .collect();
        assert!(
            (1..=2).contains(&puts.len()),
            "configData once per start: {mine:#?}"
        );
        let asked_after = mine[puts[0] + 1..]
            .iter()
            .filter(|s| s.method == "GET" && s.answer.contains("configData"))
            .count();
        assert_eq!(asked_after, 0, "configData no longer asked for: {mine:#?}");
        assert!(
            mine.iter()
                .all(|s| s.status == 200 || s.status == 206 || s.cut),
            "every answer is one SWUpdate takes as success: {mine:#?}"
        );
        let t = app
            .get(
                &format!("/api/v1/ddi/targets/{}", b.controller),
                Some(&app.admin_token),
            )
            .await;
        assert_eq!(t.body["attributes"]["model"], "stb", "{}", t.body);
        let d = app
            .get(
                &format!("/api/v1/devices/{}", b.controller),
                Some(&app.admin_token),
            )
            .await;
        assert_eq!(d.body["client"], "ddi", "{}", d.body);
        let install = &d.body["rollouts"][0];
        assert_eq!(install["state"], "succeeded", "{}", d.body);
        let steps: Vec<&str> = install["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .filter_map(|s| s["state"].as_str())
            .collect();
        assert_eq!(
            steps.first(),
            Some(&"downloading"),
            "progress is reported: {steps:?}"
        );
        assert_eq!(steps.last(), Some(&"succeeded"), "{steps:?}");
    }
    // The cut download was resumed where it broke off.
    let cut = seen
        .iter()
        .find(|s| s.cut)
        .expect("the first download was cut");
    let resumed = seen
        .iter()
        .find(|s| s.path == cut.path && s.status == 206)
        .unwrap_or_else(|| panic!("no resumed download of {}: {seen:#?}", cut.path));
    assert!(
        resumed
            .range
            .as_deref()
            .is_some_and(|r| r.starts_with("bytes=") && r != "bytes=0-"),
        "resumed with a Range past the start: {resumed:?}"
    );

    // A corrupted image: SWUpdate refuses it, reports the failure, and the
    // rollout pauses at its failure threshold.
    let mut bad = swu::image(dir.path(), "1.1.0", &payload(1 << 20, 22));
    let at = bad.len() - 4096;
    bad[at] ^= 0xff;
    publish(&app, &keys, "1.1.0", &bad).await;
    let second = roll_out(
        &app,
        json!({
            "name": "stb 1.1 (corrupted)", "bundles": ["stb-firmware@1.1.0"],
            "target": { "serials": [boxes[0].controller] },
            "waves": [{ "percent": 100, "failure_threshold_pct": 50 }],
        }),
    )
    .await;
    let mut run = boxes[0].start(&proxy.address, "");
    let paused = rollout_reaches(&app, &second, "paused", 60).await;
    run.wait_for("SWUPDATE failed", 5).await;
    run.stop();
    assert_eq!(paused["counts"]["failed"], 1, "{paused}");
    assert!(
        paused["reason"]
            .as_str()
            .is_some_and(|r| r.contains("failure threshold")),
        "{paused}"
    );

    // An aborted rollout: the box's open action becomes a cancel, which
    // SWUpdate acknowledges.
    publish(
        &app,
        &keys,
        "1.2.0",
        &swu::image(dir.path(), "1.2.0", &payload(4096, 23)),
    )
    .await;
    let third = roll_out(
        &app,
        json!({
            "name": "stb 1.2", "bundles": ["stb-firmware@1.2.0"],
            "target": { "serials": [boxes[1].controller] },
            "waves": [{ "percent": 100 }],
        }),
    )
    .await;
    let mut run = boxes[1].start(&proxy.address, "");
    run.wait_for("Update successful, executing post-update actions", 60)
        .await;
    run.stop();
    let aborted = app
        .post(
            &format!("/api/v1/rollouts/{third}/abort"),
            Some(&app.admin_token),
            &json!({ "reason": "a regression in the field" }),
        )
        .await;
    assert_eq!(aborted.status, 200, "{}", aborted.body);
    let run = boxes[1].start(&proxy.address, "");
    let deadline = Instant::now() + Duration::from_secs(60);
    let acknowledged = loop {
        let seen = proxy.seen();
        if let Some(s) = seen_by(&seen, &boxes[1].controller)
            .into_iter()
            .find(|s| s.method == "POST" && s.path.contains("/cancelAction/"))
        {
            break s.clone();
        }
        assert!(
            Instant::now() < deadline,
            "SWUpdate did not acknowledge the cancel"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    run.stop();
    assert_eq!(acknowledged.status, 200, "{acknowledged:?}");
    // The action is over: the box is offered nothing more, and feedback on
    // it is refused as gone.
    let action = acknowledged
        .path
        .split('/')
        .nth_back(1)
        .expect("action id")
        .to_owned();
    let base = format!(
        "{}/DEFAULT/controller/v1/{}",
        app.address, boxes[1].controller
    );
    let auth = format!("TargetToken {}", boxes[1].token);
    let poll: Value = app
        .http
        .get(&base)
        .header("authorization", &auth)
        .send()
        .await
        .expect("poll")
        .json()
        .await
        .expect("json");
    assert!(poll["_links"].get("deploymentBase").is_none(), "{poll}");
    assert!(poll["_links"].get("cancelAction").is_none(), "{poll}");
    let late = app
        .http
        .post(format!("{base}/deploymentBase/{action}/feedback"))
        .header("authorization", &auth)
        .json(&json!({ "status": { "execution": "closed", "result": { "finished": "success" } } }))
        .send()
        .await
        .expect("feedback");
    assert_eq!(late.status(), 410);

    // For the note: the requests one box made, trimmed.
    for s in seen_by(&proxy.seen(), &boxes[0].controller).iter().take(14) {
        eprintln!(
            "{} {} {}{}",
            s.method,
            s.path,
            s.status,
            s.range
                .as_deref()
                .map(|r| format!(" (Range: {r})"))
                .unwrap_or_default()
        );
    }
    kill_dead(&mut server);
}
