//! The real `wavecast` CLI over licences: a product and its policy, a
//! licence issued to a subscriber (its key printed once), activated on a
//! box, validated (and the question found in the validation log),
//! suspended and listed; each effect read back.

use wavecast_e2e::{
    bin::{wavecast as run, wavecast_json as json, wavecast_ok as ok},
    fleet::enrol_many,
    support::subscriber,
    TestApp,
};

async fn the_cli_issues_and_checks_licences(app: TestApp) {
    let boxes = enrol_many(&app, 900, 2, "X1", &[]).await;
    subscriber(
        &app,
        "L-1",
        "basic",
        None,
        &[&boxes[0].serial],
        app.clock.now(),
    )
    .await;
    ok(
        &app,
        &[
            "product",
            "create",
            "codec-ddp",
            "--name",
            "Dolby Digital Plus",
            "--entitlements",
            "atmos",
        ],
    )
    .await;
    let products = json(&app, &["product", "list"]).await;
    assert_eq!(products[0]["code"], "codec-ddp");
    ok(
        &app,
        &[
            "product",
            "policy",
            "ddp-1",
            "--product",
            "codec-ddp",
            "--expiry",
            "keep_installed",
            "--duration-days",
            "365",
            "--max-boxes",
            "2",
            "--floating",
            "--entitlements",
            "atmos",
        ],
    )
    .await;
    let text = ok(&app, &["product", "policies"]).await;
    assert!(
        text.contains("ddp-1") && text.contains("keep_installed"),
        "{text}"
    );

    let made = ok(&app, &["licence", "create", "ddp-1", "--subscriber", "L-1"]).await;
    let key = made
        .lines()
        .find_map(|l| l.strip_prefix("licence key (shown only this once): "))
        .unwrap_or_else(|| panic!("the key is printed: {made}"))
        .trim()
        .to_owned();
    let listed = json(&app, &["licence", "list", "--subscriber", "L-1"]).await;
    let id = listed[0]["id"].as_str().expect("id").to_owned();
    assert!(!listed.to_string().contains(&key), "the key is shown once");
    let a = json(&app, &["licence", "activate", &id, &boxes[0].serial]).await;
    assert_eq!(a["serial"], boxes[0].serial.as_str());
    let v = json(
        &app,
        &[
            "licence",
            "validate",
            &key,
            "--product",
            "codec-ddp",
            "--device",
            &boxes[0].serial,
            "--entitlements",
            "atmos",
        ],
    )
    .await;
    assert_eq!(
        (v["valid"].as_bool(), v["code"].as_str()),
        (Some(true), Some("VALID"))
    );
    // Not valid for the other box: the command says so and exits non-zero.
    let refused = run(
        &app,
        &["licence", "validate", &key, "--device", &boxes[1].serial],
    )
    .await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stdout).contains("DEVICE_MISMATCH"));
    // Both questions are in the validation log, newest first.
    let log = ok(&app, &["licence", "log", "--licence", &id]).await;
    let codes: Vec<&str> = log
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    assert_eq!(codes, ["DEVICE_MISMATCH", "VALID"], "{log}");
    assert!(log.contains(&boxes[1].serial), "{log}");
    let s = json(&app, &["licence", "suspend", &id]).await;
    assert_eq!(s["state"], "suspended");
    let shown = ok(&app, &["licence", "show", &id]).await;
    assert!(
        shown.contains("suspended") && shown.contains(&boxes[0].serial),
        "{shown}"
    );
    ok(&app, &["licence", "deactivate", &id, &boxes[0].serial]).await;
    let after = json(&app, &["licence", "show", &id]).await;
    assert_eq!(after["activations"].as_array().map(Vec::len), Some(0));
}

wavecast_e2e::both_backends!(the_cli_issues_and_checks_licences);
