//! Uploads against a server with a small size limit and an online signing key.

use wavecast_e2e::{
    trust::{bundle_file, good_bundle, manifest, payload, Keys},
    TestApp,
};
use wavecast_protocol::keyring::unsigned_manifest;
use wavecast_server::platform::config::Config;

const LIMIT: u64 = 64 * 1024;

/// A small upload limit, and the fixture signer as the server's online key.
fn configure(c: &mut Config) {
    c.bundles.max_upload_bytes = LIMIT;
    c.bundles.upload_idle_timeout_secs = 1;
    wavecast_e2e::trust::server_signs(c);
}

async fn upload_over_the_size_limit_is_refused(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    // Announced with Content-Length: refused before reading.
    let big = good_bundle(&keys, "fw", "1.0.0", &payload(LIMIT as usize, 1));
    let d = app.upload(big.clone()).await.problem(413);
    assert!(d.contains("65536"), "{d}");
    app.assert_nothing_stored().await;
    // Streamed without a length: refused once the limit is crossed.
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = big
        .chunks(8192)
        .map(|c| Ok(bytes::Bytes::from(c.to_vec())))
        .collect();
    let res = app
        .http
        .post(format!("{}/api/v1/bundles", app.address))
        .bearer_auth(&app.admin_token)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 413);
    app.assert_nothing_stored().await;
    // Under the limit is fine.
    let small = good_bundle(&keys, "fw", "1.0.0", &payload(10_000, 2));
    assert_eq!(app.upload(small).await.status, 201);
}

async fn server_signs_unsigned_bundles_on_request(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let data = payload(5_000, 3);
    let env = unsigned_manifest(&manifest("fw", "5.0.0", &data)).expect("env");
    let file = bundle_file(&keys.keyring_env, &env, &data);
    // Unsigned and not asked to sign: refused.
    let d = app.upload(file.clone()).await.problem(422);
    assert!(d.contains("no signatures"), "{d}");
    app.assert_nothing_stored().await;
    let a = app.upload_as(&app.admin_token, file, "?sign=server").await;
    assert_eq!(a.status, 201, "{}", a.body);
    let signer = wavecast_protocol::keys::key_id(&keys.signer.verifying_key());
    assert_eq!(a.body["signer_keyid"], signer);
    // The stored manifest verifies under the keyring like any other.
    let m = app
        .get("/api/v1/bundles/fw@5.0.0/manifest", Some(&app.admin_token))
        .await;
    let env: wavecast_protocol::envelope::Envelope = m.json();
    wavecast_protocol::keyring::verify_manifest(&keys.keyring, &env).expect("verifies");
}

async fn stalled_upload_is_abandoned_and_cleaned_up(app: TestApp) {
    use std::time::{Duration, Instant};
    let keys = Keys::new();
    keys.publish(&app).await;
    let file = good_bundle(&keys, "fw", "1.0.0", &payload(50_000, 4));
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let request = app
        .http
        .post(format!("{}/api/v1/bundles", app.address))
        .bearer_auth(&app.admin_token)
        .header("content-length", file.len())
        .body(reqwest::Body::wrap_stream(body))
        .send();
    let sending = tokio::spawn(request);
    tx.send(Ok(bytes::Bytes::from(file[..30_000].to_vec())))
        .await
        .expect("queued");
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.blob_files().1 == 0 {
        assert!(
            Instant::now() < deadline,
            "the server never started writing"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The client now goes silent, holding the connection open.
    let answer = sending.await.expect("joined").expect("the server answers");
    assert_eq!(answer.status(), 400);
    let body: serde_json::Value = answer.json().await.expect("problem");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("no data for 1 s"),
        "{body}"
    );
    drop(tx);
    app.assert_nothing_stored().await;
}

wavecast_e2e::both_backends!(
    configure = configure;
    stalled_upload_is_abandoned_and_cleaned_up,
    upload_over_the_size_limit_is_refused,
    server_signs_unsigned_bundles_on_request,
);
