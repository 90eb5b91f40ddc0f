//! The HTTP API against its own OpenAPI document: schemathesis (PyPI,
//! installed by `scripts/test-deps.sh`) reads `/api/v1/openapi.json` from
//! the running server and sends every operation its documented examples,
//! the edge cases of each parameter and generated requests, with an
//! operator token, a box's credential and a subscriber's token. It fails
//! on any 5xx, any status or content type the document does not list, and
//! any body that does not match its schema (so every error is
//! problem+json, as documented).

use std::time::Duration;

use wavecast_e2e::{
    fleet::enrol_one,
    support::subscriber,
    trust::{good_bundle, key, payload, Keys},
    Backend, TestApp,
};

/// The version `scripts/test-deps.sh` installs.
const VERSION: &str = "4.32.5";
/// Generated requests per operation and phase: bounded so the run takes a
/// minute or two.
const MAX_EXAMPLES: &str = "20";

/// Where schemathesis is: `WAVECAST_SCHEMATHESIS`, or the virtualenv
/// `scripts/test-deps.sh` makes.
fn schemathesis() -> std::path::PathBuf {
    if let Some(bin) = std::env::var_os("WAVECAST_SCHEMATHESIS") {
        return bin.into();
    }
    let tools = std::env::var_os("WAVECAST_TOOLS").map_or_else(
        || {
            std::path::PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                .join(".cache/wavecast")
        },
        Into::into,
    );
    let bin = tools.join(format!("schemathesis-{VERSION}/bin/schemathesis"));
    assert!(
        bin.exists(),
        "schemathesis {VERSION} is not installed at {}: run scripts/test-deps.sh \
         (the contract test is never skipped)",
        bin.display()
    );
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_its_openapi_document_says() {
    let bin = schemathesis();
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite");
    // Something to find: a keyring, a published bundle, an enrolled box
    // and a subscriber holding it.
    let keys = Keys::new();
    keys.publish(&app).await;
    app.upload_and_publish(
        good_bundle(&keys, "x1-firmware", "4.2.0", &payload(4096, 3)),
        "x1-firmware@4.2.0",
    )
    .await;
    assert_eq!(app.import_serials("STB-1,X1\n").await.status, 200);
    let stb = enrol_one(&app, "STB-1", "X1", key(1), &[("x1-firmware", "4.1.0", 1)]).await;
    subscriber(&app, "A-1", "basic", None, &["STB-1"], app.clock.now()).await;
    let t = app
        .post(
            "/api/v1/subscribers/A-1/tokens",
            Some(&app.admin_token),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.body);
    let subscriber_token = t.body["token"].as_str().expect("token").to_owned();

    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        "[auth.openapi.operator]\nbearer = \"${WC_OPERATOR}\"\n\
         [auth.openapi.device]\nbearer = \"${WC_DEVICE}\"\n\
         [auth.openapi.subscriber]\nbearer = \"${WC_SUBSCRIBER}\"\n",
    )
    .expect("config");
    let run = tokio::process::Command::new(&bin)
        .current_dir(dir.path())
        .env("WC_OPERATOR", &app.admin_token)
        .env("WC_DEVICE", &stb.credential)
        .env("WC_SUBSCRIBER", &subscriber_token)
        .env("NO_COLOR", "1")
        .args(["--config-file"])
        .arg(&config)
        .args([
            "run",
            &format!("{}/api/v1/openapi.json", app.address),
            "--url",
            &app.address,
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            MAX_EXAMPLES,
            // One worker: with two, CPython 3.11's parser raced inside
            // schemathesis now and then ("AST constructor recursion depth
            // mismatch"), a runtime error of the tool, not of this API.
            "--workers",
            "1",
            "--seed",
            "1",
            "--suppress-health-check",
            "all",
            "--no-color",
        ])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(900), run)
        .await
        .expect("schemathesis finishes within 15 minutes")
        .expect("schemathesis runs");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "schemathesis found answers that break the document (above)"
    );
    // It did test every operation the server mounts, none left out, but
    // `GET /api/v1/openapi.json`: schemathesis leaves out the route it read
    // the document from.
    let operations = wavecast_server::http::routes::MOUNTED.len() - 1;
    assert!(
        text.contains(&format!("Tested: {operations}")),
        "schemathesis did not test all {operations} operations"
    );
}
