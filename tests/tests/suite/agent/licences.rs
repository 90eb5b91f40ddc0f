//! Licence tokens on the real agent: a box keeps the tokens its check-ins
//! bring, a suspension reaches it at its next check-in, and `licence check`
//! answers offline (the box's network cut) from what it holds: valid for
//! its own licence and entitlements, refused for another box's token, a
//! tampered token, and after expiry, also once its clock is set back.
//! CI runs it with the aarch64 agent under qemu.

use std::time::{Duration, Instant};

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use serde_json::{json, Value};
use wavecast_e2e::{stb::Stb, trust::Keys, TestApp};
use wavecast_protocol::keys::public_key_text;

use super::{setup_with, Relay};

/// `licence check ARGS` on `stb`: (exit 0?, the JSON answer).
fn check(stb: &Stb, env: &[(&str, &str)], args: &[&str]) -> (bool, Value) {
    let mut all = vec!["licence", "check"];
    all.extend_from_slice(args);
    let out = stb.cli_env(env, &all);
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "licence check printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(
        out.status.success(),
        answer["valid"] == true,
        "the exit code follows the answer: {answer}"
    );
    (out.status.success(), answer)
}

fn code(answer: &(bool, Value)) -> &str {
    answer.1["code"].as_str().unwrap_or_default()
}

/// Waits until `licence check codec-ddp` on `stb` answers `want`.
async fn until_code(stb: &Stb, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let got = check(stb, &[], &["codec-ddp"]);
        if code(&got) == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "licence check still answers {}; log:\n{}",
            got.1,
            stb.read("agent.log")
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A box's own licence of `codec-ddp`, activated on it; returns its id.
async fn licence_for(app: &TestApp, serial: &str) -> String {
    let t = Some(app.admin_token.as_str());
    let l = app
        .post(
            "/api/v1/licences",
            t,
            &json!({ "policy": "ddp-box", "device": serial }),
        )
        .await;
    assert_eq!(l.status, 201, "{}", l.body);
    let id = l.body["id"].as_str().expect("id").to_owned();
    let a = app
        .post(
            &format!("/api/v1/licences/{id}/activations"),
            t,
            &json!({ "device": serial }),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licence_check_answers_offline_for_this_box_only() {
    let (app, _, _, _) = setup_with(1_000, None, "", 1, false).await;
    assert_eq!(app.import_serials("STB-2,X1\n").await.status, 200);
    let relay = Relay::start(app.address.trim_start_matches("http://").to_owned()).await;
    let url = format!("http://127.0.0.1:{}", relay.port);
    let root = public_key_text(&Keys::new().root.verifying_key());
    let one = Stb::new(&url, &root, "STB-1", "");
    let two = Stb::new(&url, &root, "STB-2", "");
    let (mut a, mut b) = (one.spawn(None), two.spawn(None));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(one.read("state/state.json").contains("credential")
        && two.read("state/state.json").contains("credential"))
    {
        assert!(Instant::now() < deadline, "the boxes did not enrol");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Before any licence, the box knows of none.
    assert_eq!(code(&check(&one, &[], &["codec-ddp"])), "NOT_FOUND");

    let t = Some(app.admin_token.as_str());
    let p = app
        .post(
            "/api/v1/products",
            t,
            &json!({ "code": "codec-ddp", "name": "Dolby Digital Plus", "entitlements": ["ddp", "atmos"] }),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    let pol = app
        .post(
            "/api/v1/licence-policies",
            t,
            &json!({ "name": "ddp-box", "product": "codec-ddp", "duration_days": 10,
                     "expiry": "stop", "grace_days": 1, "max_boxes": 1,
                     "max_activations_per_day": 3, "entitlements": ["ddp"] }),
        )
        .await;
    assert_eq!(pol.status, 201, "{}", pol.body);
    let id = licence_for(&app, "STB-1").await;
    licence_for(&app, "STB-2").await;

    // The next check-ins bring the tokens; a suspension reaches the box at
    // its next check-in, and so does the reinstatement.
    until_code(&one, "VALID").await;
    until_code(&two, "VALID").await;
    let act = |action: &'static str| {
        let app = &app;
        let id = id.clone();
        async move {
            let r = app
                .post(
                    &format!("/api/v1/licences/{id}/{action}"),
                    Some(&app.admin_token),
                    &json!({}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    };
    act("suspend").await;
    until_code(&one, "SUSPENDED").await;
    act("reinstate").await;
    until_code(&one, "VALID").await;

    // Offline: the network is cut and the services stopped.
    relay.set(false);
    Stb::stop(&mut a);
    Stb::stop(&mut b);
    let ok = check(&one, &[], &["codec-ddp"]);
    assert!(ok.0, "{}", ok.1);
    assert_eq!(ok.1["licence_id"], id.as_str());
    assert!(check(&one, &[], &["codec-ddp", "--entitlement", "ddp"]).0);
    assert_eq!(
        code(&check(&one, &[], &["codec-ddp", "--entitlement", "dts"])),
        "ENTITLEMENTS_MISSING"
    );
    assert_eq!(code(&check(&one, &[], &["drm-l1"])), "NOT_FOUND");

    // Another box's token does not serve this one.
    let tokens = one.path("state/licences.json");
    let held = std::fs::read_to_string(&tokens).expect("tokens kept");
    let own = std::fs::read_to_string(two.path("state/licences.json")).expect("tokens");
    std::fs::write(two.path("state/licences.json"), &held).expect("copy");
    assert_eq!(code(&check(&two, &[], &["codec-ddp"])), "DEVICE_MISMATCH");
    std::fs::write(two.path("state/licences.json"), own).expect("restore");
    assert!(check(&two, &[], &["codec-ddp"]).0);

    // A token edited to grant more than it was signed for is refused.
    let mut doc: Value = serde_json::from_str(&held).expect("json");
    let payload = doc["tokens"][0]["payload"].as_str().expect("payload");
    let mut token: Value =
        serde_json::from_slice(&B64.decode(payload).expect("base64")).expect("token");
    token["entitlements"] = json!(["atmos", "ddp", "dts"]);
    doc["tokens"][0]["payload"] = B64.encode(token.to_string()).into();
    std::fs::write(&tokens, doc.to_string()).expect("tamper");
    assert_eq!(
        code(&check(&one, &[], &["codec-ddp", "--entitlement", "dts"])),
        "INVALID_TOKEN"
    );
    std::fs::write(&tokens, &held).expect("restore");

    // Twelve days on (the policy stops use after 10 days and a day's
    // grace) the licence has expired; setting the clock back does not
    // revive it, because the box remembers the latest time it trusted.
    let later = (12 * 86_400).to_string();
    let offset = [(wavecast_agent::CLOCK_OFFSET_ENV, later.as_str())];
    assert_eq!(code(&check(&one, &offset, &["codec-ddp"])), "EXPIRED");
    assert_eq!(code(&check(&one, &[], &["codec-ddp"])), "EXPIRED");
    // Without that memory the clock set back would have revived it.
    std::fs::remove_file(one.path("state/trusted-time.json")).expect("trusted time");
    assert!(check(&one, &[], &["codec-ddp"]).0);
}
