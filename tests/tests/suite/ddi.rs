//! The hawkBit DDI API in the shapes its clients use, on both backends:
//! rauc-hawkbit-updater's (string ids, one chunk with one artifact, the
//! `downloaded` feedback, SHA-1 and MD5 checked, `Range`, `HEAD` and
//! `.MD5SUM`); DDI boxes kept apart from each other and from native
//! boxes' bundles; tokens revoked and reissued; unknown controllers
//! through the gateway token; refusals as problems.

use md5::Digest as _;
use reqwest::Method;
use serde_json::{json, Value};
use wavecast_e2e::{
    app::Answer,
    fleet::enrol_many,
    swu,
    trust::{good_bundle, payload, Keys},
    TestApp,
};

/// A DDI box as its client talks: `TargetToken` (or `GatewayToken`) auth.
struct Ddi<'a> {
    app: &'a TestApp,
    controller: String,
    auth: String,
}

impl<'a> Ddi<'a> {
    async fn register(app: &'a TestApp, controller: &str) -> Ddi<'a> {
        let r = app
            .post(
                "/api/v1/ddi/targets",
                Some(&app.admin_token),
                &json!({ "controller_id": controller, "model": "stb", "hardware_revision": "1.0" }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert!(r.body["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("wct_")));
        Ddi {
            app,
            controller: controller.to_owned(),
            auth: format!("TargetToken {}", r.body["token"].as_str().expect("token")),
        }
    }

    fn url(&self, rest: &str) -> String {
        format!(
            "{}/DEFAULT/controller/v1/{}{rest}",
            self.app.address, self.controller
        )
    }

    async fn send(&self, method: Method, rest: &str, body: Option<&Value>) -> Answer {
        let mut req = self
            .app
            .http
            .request(method, self.url(rest))
            .header("authorization", &self.auth);
        if let Some(b) = body {
            req = req.json(b);
        }
        Answer::read(req.send().await.expect("sent")).await
    }

    async fn poll(&self) -> Value {
        let r = self.send(Method::GET, "", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    async fn feedback(&self, action: &str, execution: &str, finished: &str) -> Answer {
        let body = json!({
            "id": action,
            "status": { "execution": execution, "result": { "finished": finished }, "details": ["step"] },
        });
        self.send(
            Method::POST,
            &format!("/deploymentBase/{action}/feedback"),
            Some(&body),
        )
        .await
    }
}

/// The path (after the controller) of a link in a poll answer.
fn link(poll: &Value, rel: &str, base: &str) -> Option<String> {
    let href = poll["_links"][rel]["href"].as_str()?;
    Some(href.split_once(base)?.1.to_owned())
}

async fn publish(app: &TestApp, file: Vec<u8>) -> Value {
    let up = app.upload(file).await;
    assert_eq!(up.status, 201, "{}", up.body);
    let id = up.body["id"].as_str().expect("id");
    let p = app
        .post(
            &format!("/api/v1/bundles/{id}/publish"),
            Some(&app.admin_token),
            &json!({}),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    up.body
}

async fn rauc_shaped_client_installs_and_boxes_stay_apart(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let image = payload(300_000, 31);
    publish(&app, swu::bundle(&keys, "stb-firmware", "2.0.0", &image)).await;
    let native_bundle = publish(
        &app,
        good_bundle(&keys, "x1-firmware", "5.0.0", &payload(1000, 32)),
    )
    .await;
    let a = Ddi::register(&app, "stb-a").await;
    let b = Ddi::register(&app, "stb-b").await;
    let natives = enrol_many(&app, 900, 1, "X1", &[("x1-firmware", "4.0.0", 1)]).await;
    // One rollout for both kinds of box: each gets only its own bundle.
    let rollout = app
        .roll_out_to_all(&["stb-firmware@2.0.0", "x1-firmware@5.0.0"])
        .await;
    let (_, native) = natives[0].check_in(&app, &keys.root.verifying_key()).await;
    let names: Vec<String> = native.offers.iter().map(|o| o.bundle_id.clone()).collect();
    assert_eq!(names.len(), 1, "the native box gets the native bundle only");

    // The poll: sleep, configData asked for, a deployment to fetch.
    let base = format!("/DEFAULT/controller/v1/{}", a.controller);
    let poll = a.poll().await;
    let every = app.config.rollouts.checkin_interval_secs.min(86_399);
    let sleep = format!(
        "{:02}:{:02}:{:02}",
        every / 3600,
        every / 60 % 60,
        every % 60
    );
    assert_eq!(poll["config"]["polling"]["sleep"], sleep.as_str(), "{poll}");
    let config = link(&poll, "configData", &base).expect("configData link");
    let deployment = link(&poll, "deploymentBase", &base).expect("deploymentBase link");
    let put = a
        .send(
            Method::PUT,
            &config,
            Some(&json!({ "mode": "merge", "data": { "model": "stb", "mac": "aa:bb", "timezone": "Europe/Paris" } })),
        )
        .await;
    assert_eq!(put.status, 200, "configData answers 200, never 204");
    assert!(link(&a.poll().await, "configData", &base).is_none());
    let empty = a
        .send(Method::PUT, &config, Some(&json!({ "data": {} })))
        .await;
    empty.problem(422);
    let elsewhere = a
        .send(
            Method::PUT,
            &config,
            Some(&json!({ "data": { "timezone": "Mars/Olympus" } })),
        )
        .await;
    assert!(elsewhere.problem(422).contains("Mars/Olympus"));

    // The deployment as rauc-hawkbit-updater reads it.
    let d = a
        .send(
            Method::GET,
            deployment.split('?').next().expect("path"),
            None,
        )
        .await;
    assert_eq!(d.status, 200, "{}", d.body);
    let action = d.body["id"]
        .as_str()
        .expect("the id is a JSON string")
        .to_owned();
    assert!(action.parse::<u64>().is_ok());
    assert_eq!(d.body["deployment"]["update"], "forced");
    assert_eq!(d.body["deployment"]["download"], "forced");
    let chunks = d.body["deployment"]["chunks"].as_array().expect("chunks");
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0]["part"], "os");
    assert_eq!(chunks[0]["name"], "stb-firmware");
    assert_eq!(chunks[0]["version"], "2.0.0");
    let artifacts = chunks[0]["artifacts"].as_array().expect("artifacts");
    assert_eq!(artifacts.len(), 1);
    let art = &artifacts[0];
    assert_eq!(art["filename"], "stb-firmware-2.0.0.swu");
    assert_eq!(art["size"], image.len());
    assert_eq!(
        art["hashes"]["sha1"],
        hex::encode(sha1::Sha1::digest(&image))
    );
    assert_eq!(art["hashes"]["md5"], hex::encode(md5::Md5::digest(&image)));
    let download = art["_links"]["download"]["href"]
        .as_str()
        .and_then(|h| h.split_once(&base))
        .expect("download link")
        .1
        .to_owned();
    assert_eq!(art["_links"]["download-http"], art["_links"]["download"]);

    // Downloads: whole, a range, HEAD, and the MD5 sum file.
    let get = |range: Option<&str>, method: Method| {
        let mut req = app
            .http
            .request(method, a.url(&download))
            .header("authorization", &a.auth);
        if let Some(r) = range {
            req = req.header("range", r);
        }
        req.send()
    };
    let whole = get(None, Method::GET).await.expect("get");
    assert_eq!(whole.status(), 200);
    assert_eq!(
        whole.bytes().await.expect("bytes").as_ref(),
        image.as_slice()
    );
    let part = get(Some("bytes=1000-"), Method::GET).await.expect("get");
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.expect("bytes").as_ref(), &image[1000..]);
    let head = get(None, Method::HEAD).await.expect("head");
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"],
        image.len().to_string().as_str()
    );
    let sum = a
        .app
        .http
        .get(a.url(&format!("{download}.MD5SUM")))
        .header("authorization", &a.auth)
        .send()
        .await
        .expect("md5sum");
    assert_eq!(
        sum.text().await.expect("text"),
        format!(
            "{}  stb-firmware-2.0.0.swu\n",
            hex::encode(md5::Md5::digest(&image))
        )
    );

    // Another box reaches none of it: not with its own token on a's
    // controller, not a's action or artifact under its own.
    let stolen = Ddi {
        app: &app,
        controller: a.controller.clone(),
        auth: b.auth.clone(),
    };
    stolen.send(Method::GET, "", None).await.problem(401);
    stolen
        .feedback(&action, "closed", "success")
        .await
        .problem(401);
    let b_poll = b.poll().await;
    let b_action = link(
        &b_poll,
        "deploymentBase",
        &format!("/DEFAULT/controller/v1/{}", b.controller),
    )
    .expect("b has its own action");
    assert!(!b_action.contains(&format!("/{action}?")));
    b.send(Method::GET, &format!("/deploymentBase/{action}"), None)
        .await
        .problem(404);
    b.feedback(&action, "closed", "failure").await.problem(404);
    let foreign = format!(
        "/softwaremodules/{}/artifacts/rootfs.img",
        native_bundle["id"].as_str().expect("id")
    );
    b.send(Method::GET, &foreign, None).await.problem(404);

    // rauc-hawkbit-updater's sequence: proceeding, downloaded, closed.
    let r = a.feedback(&action, "proceeding", "none").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(a.feedback(&action, "downloaded", "none").await.status, 200);
    assert_eq!(a.feedback(&action, "closed", "success").await.status, 200);
    a.feedback(&action, "closed", "success").await.problem(410);
    let poll = a.poll().await;
    assert!(link(&poll, "deploymentBase", &base).is_none(), "{poll}");
    let installed = link(&poll, "installedBase", &base).expect("installedBase");
    let i = a.send(Method::GET, &installed, None).await;
    assert_eq!(i.status, 200, "{}", i.body);
    assert_eq!(i.body["id"], action.as_str());
    let dev = app
        .get(
            &format!("/api/v1/devices/{}", a.controller),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(dev.body["client"], "ddi");
    assert_eq!(
        dev.body["timezone"], "Europe/Paris",
        "windows open in its local time"
    );
    assert_eq!(dev.body["installed"][0]["version"], "2.0.0", "{}", dev.body);
    let steps: Vec<&str> = dev.body["rollouts"][0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["state"].as_str())
        .collect();
    assert_eq!(steps, ["downloading", "downloaded", "succeeded"]);

    // b fails: the rollout counts it.
    let b_id = b_action
        .trim_start_matches("/deploymentBase/")
        .split('?')
        .next()
        .expect("id")
        .to_owned();
    assert_eq!(b.feedback(&b_id, "closed", "failure").await.status, 200);
    let r = app
        .get(
            &format!("/api/v1/rollouts/{rollout}"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(r.body["counts"]["succeeded"], 1, "{}", r.body);
    assert_eq!(r.body["counts"]["failed"], 1, "{}", r.body);

    // A revoked token stops working; a reissued one works, the old one not.
    let revoked = app
        .request(
            Method::DELETE,
            &format!("/api/v1/ddi/targets/{}/token", a.controller),
            Some(&app.admin_token),
            None::<&Value>,
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.body["token_prefix"], Value::Null);
    a.send(Method::GET, "", None).await.problem(401);
    let again = app
        .post(
            &format!("/api/v1/ddi/targets/{}/token", a.controller),
            Some(&app.admin_token),
            &json!({}),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    let renewed = Ddi {
        app: &app,
        controller: a.controller.clone(),
        auth: format!(
            "TargetToken {}",
            again.body["token"].as_str().expect("token")
        ),
    };
    renewed.poll().await;
    a.send(Method::GET, "", None).await.problem(401);

    // Refusals: another tenant, no credentials, a malformed body.
    let other = app
        .http
        .get(format!("{}/ACME/controller/v1/stb-a", app.address))
        .header("authorization", &renewed.auth)
        .send()
        .await
        .expect("sent");
    assert_eq!(other.status(), 404);
    let bare = app.http.get(renewed.url("")).send().await.expect("sent");
    Answer::read(bare).await.problem(401);
    for (body, status) in [("{\"data\": [1]}", 422), ("{\"data\":", 400)] {
        let bad = app
            .http
            .put(renewed.url("/configData"))
            .header("authorization", &renewed.auth)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("sent");
        Answer::read(bad).await.problem(status);
    }
    let dup = app
        .post(
            "/api/v1/ddi/targets",
            Some(&app.admin_token),
            &json!({ "controller_id": "stb-a" }),
        )
        .await;
    dup.problem(409);
    let wrong = app
        .post(
            "/api/v1/ddi/targets",
            Some(&app.admin_token),
            &json!({ "controller_id": "a/b" }),
        )
        .await;
    wrong.problem(422);
}

async fn bundles_are_for_one_kind_of_box(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let data = payload(1000, 33);
    // An artifact SWUpdate installs must be a .swu file.
    let mut m = wavecast_e2e::trust::manifest("stb-firmware", "1.0.0", &data);
    m.artifacts[0].target = "swupdate".into();
    let env = wavecast_protocol::keyring::sign_manifest(&m, &keys.signer).expect("sign");
    let up = app
        .upload(wavecast_e2e::trust::bundle_file(
            &keys.keyring_env,
            &env,
            &data,
        ))
        .await;
    assert!(up.problem(422).contains(".swu"));
    // No bundle mixes DDI artifacts with the agent's.
    let mut m = wavecast_e2e::trust::manifest("stb-mixed", "1.0.0", &data);
    let mut second = m.artifacts[0].clone();
    second.name = "image.swu".into();
    second.target = "swupdate".into();
    m.artifacts.push(second);
    let env = wavecast_protocol::keyring::sign_manifest(&m, &keys.signer).expect("sign");
    let mut file = wavecast_e2e::trust::bundle_file(&keys.keyring_env, &env, &data);
    file.extend_from_slice(&data);
    let up = app.upload(file).await;
    assert!(up.problem(422).contains("cannot mix"));
    app.assert_nothing_stored().await;
}

/// A rollout's maintenance window and pause hold for DDI boxes: outside
/// the window nothing is offered; an open action says whether the window
/// is available; a paused rollout offers nothing new.
async fn windows_and_pauses_hold_for_ddi_boxes(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    publish(
        &app,
        swu::bundle(&keys, "stb-firmware", "3.0.0", &payload(2000, 34)),
    )
    .await;
    let a = Ddi::register(&app, "stb-w1").await;
    let b = Ddi::register(&app, "stb-w2").await;
    let now = app.clock.now();
    let hhmm = |h: i64| {
        (now + chrono::TimeDelta::hours(h))
            .format("%H:%M")
            .to_string()
    };
    let created = app
        .post(
            "/api/v1/rollouts",
            Some(&app.admin_token),
            &json!({
                "name": "at night", "bundles": ["stb-firmware@3.0.0"],
                "waves": [{ "percent": 100 }],
                "window": { "start": hhmm(1), "end": hhmm(2) },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let rollout = created.body["id"].as_str().expect("id").to_owned();
    let base = format!("/DEFAULT/controller/v1/{}", a.controller);
    assert!(
        link(&a.poll().await, "deploymentBase", &base).is_none(),
        "window closed"
    );
    app.advance(3600 + 60);
    let deployment = link(&a.poll().await, "deploymentBase", &base).expect("window open");
    let path = deployment.split('?').next().expect("path").to_owned();
    let d = a.send(Method::GET, &path, None).await;
    assert_eq!(
        d.body["deployment"]["maintenanceWindow"], "available",
        "{}",
        d.body
    );
    assert_eq!(d.body["deployment"]["update"], "attempt", "{}", d.body);
    app.advance(3600);
    let d = a.send(Method::GET, &path, None).await;
    assert_eq!(
        d.body["deployment"]["maintenanceWindow"], "unavailable",
        "{}",
        d.body
    );
    assert_eq!(
        d.body["deployment"]["update"], "attempt",
        "never skip: {}",
        d.body
    );
    // Paused, inside the next night's window: b is offered nothing.
    app.advance(23 * 3600);
    let paused = app
        .post(
            &format!("/api/v1/rollouts/{rollout}/pause"),
            Some(&app.admin_token),
            &json!({}),
        )
        .await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    let b_base = format!("/DEFAULT/controller/v1/{}", b.controller);
    assert!(link(&b.poll().await, "deploymentBase", &b_base).is_none());
    let resumed = app
        .post(
            &format!("/api/v1/rollouts/{rollout}/resume"),
            Some(&app.admin_token),
            &json!({}),
        )
        .await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    assert!(link(&b.poll().await, "deploymentBase", &b_base).is_some());
}

/// The CLI: register (the token alone on stdout), show, revoke, reissue.
async fn the_cli_registers_shows_and_revokes(app: TestApp) {
    use wavecast_e2e::bin::{wavecast_json, wavecast_ok};
    let token = wavecast_ok(&app, &["ddi", "register", "stb-cli", "--model", "stb"]).await;
    let token = token.trim();
    assert!(token.starts_with("wct_"), "{token}");
    let d = Ddi {
        app: &app,
        controller: "stb-cli".into(),
        auth: format!("TargetToken {token}"),
    };
    let poll = d.poll().await;
    assert!(poll["_links"]["configData"].is_object(), "{poll}");
    let shown = wavecast_json(&app, &["ddi", "show", "stb-cli"]).await;
    assert_eq!(shown["token_prefix"].as_str(), token.get(..14));
    let table = wavecast_ok(&app, &["ddi", "revoke", "stb-cli"]).await;
    assert!(
        table.contains("stb-cli") && table.contains(" - "),
        "{table}"
    );
    d.send(Method::GET, "", None).await.problem(401);
    let again = wavecast_json(&app, &["ddi", "token", "stb-cli"]).await;
    assert!(again["token"].as_str().is_some_and(|t| t != token));
    let refused = wavecast_e2e::bin::wavecast(&app, &["ddi", "show", "stb-none"]).await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no DDI box"));
}

wavecast_e2e::both_backends!(
    configure = wavecast_e2e::trust::server_signs;
    rauc_shaped_client_installs_and_boxes_stay_apart,
    bundles_are_for_one_kind_of_box,
    windows_and_pauses_hold_for_ddi_boxes,
    the_cli_registers_shows_and_revokes
);

/// The gateway token's file, written before the server starts.
fn gateway(c: &mut wavecast_server::platform::config::Config) {
    let path = std::env::temp_dir().join(format!("ddi-gateway-{}", uuid::Uuid::new_v4()));
    std::fs::write(&path, "gateway-token-of-this-test\n").expect("gateway token");
    c.ddi.gateway_token_file = Some(path);
}

mod gateway {
    use super::*;

    async fn unknown_controllers_land_pending_or_preauthorised(app: TestApp) {
        let poll = |controller: &str, token: &str| {
            app.http
                .get(format!(
                    "{}/DEFAULT/controller/v1/{controller}",
                    app.address
                ))
                .header("authorization", format!("GatewayToken {token}"))
                .send()
        };
        let r = Answer::read(poll("stb-new", "wrong-gateway-token").await.expect("sent")).await;
        r.problem(401);
        let r = Answer::read(
            poll("stb-new", "gateway-token-of-this-test")
                .await
                .expect("sent"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.body.get("_links").is_none(),
            "a pending box gets nothing: {}",
            r.body
        );
        let d = app
            .get("/api/v1/devices/stb-new", Some(&app.admin_token))
            .await;
        assert_eq!(d.body["status"], "pending", "{}", d.body);
        assert_eq!(d.body["client"], "ddi");
        // Accepted by an operator, it is asked for its attributes.
        let accepted = app
            .post(
                "/api/v1/devices/stb-new/accept",
                Some(&app.admin_token),
                &json!({}),
            )
            .await;
        assert_eq!(accepted.status, 200, "{}", accepted.body);
        let r = Answer::read(
            poll("stb-new", "gateway-token-of-this-test")
                .await
                .expect("sent"),
        )
        .await;
        assert!(
            r.body["_links"]["configData"]["href"].is_string(),
            "{}",
            r.body
        );
        // A pre-authorised serial is accepted on its first poll.
        let imported = app.import_serials("stb-known,stb\n").await;
        assert!(imported.status.is_success(), "{}", imported.body);
        let r = Answer::read(
            poll("stb-known", "gateway-token-of-this-test")
                .await
                .expect("sent"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.body["_links"]["configData"]["href"].is_string(),
            "{}",
            r.body
        );
        let d = app
            .get("/api/v1/devices/stb-known", Some(&app.admin_token))
            .await;
        assert_eq!(d.body["status"], "accepted", "{}", d.body);
        assert_eq!(d.body["model"], "stb");
        // A controller id that is a native box's serial is refused.
        let native = enrol_many(&app, 950, 1, "X1", &[]).await;
        let r = Answer::read(
            poll(&native[0].serial, "gateway-token-of-this-test")
                .await
                .expect("sent"),
        )
        .await;
        assert!(r.problem(409).contains("our agent"));
    }

    wavecast_e2e::both_backends!(
        configure = super::gateway;
        unknown_controllers_land_pending_or_preauthorised
    );
}
