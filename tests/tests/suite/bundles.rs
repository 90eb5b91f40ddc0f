//! Signed bundle uploads: every refusal has its own clear reason and leaves
//! nothing staged or stored; good bundles stage, dedupe and move through
//! their lifecycle.

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use serde_json::json;
use wavecast_e2e::{
    trust::{bundle_file, good_bundle, key, manifest, payload, Keys},
    TestApp,
};
use wavecast_protocol::keyring::{sign_manifest, KeyRole, Keyring};
use wavecast_server::updates::views::BundleView;

/// Uploads `file` and expects a refusal with `status` whose detail contains `needle`.
async fn refused(app: &TestApp, file: Vec<u8>, status: u16, needle: &str) {
    let a = app.upload(file).await;
    let detail = a.problem(status);
    assert!(detail.contains(needle), "expected {needle:?} in {detail:?}");
    app.assert_nothing_stored().await;
}

async fn good_bundle_is_staged_and_audited(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let data = payload(300_000, 1);
    let a = app
        .upload(good_bundle(&keys, "x1-firmware", "4.2.0", &data))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let b: BundleView = a.json();
    assert_eq!(b.state.to_string(), "staged");
    assert_eq!(b.payload_size, 300_000);
    assert_eq!(b.keyring_version, 1);
    assert_eq!(app.blob_files(), (1, 0));
    let audit = app
        .get("/api/v1/audit?action=bundle.upload", Some(&app.admin_token))
        .await;
    assert_eq!(audit.body["items"][0]["object_id"], "x1-firmware@4.2.0");
}

async fn flipped_payload_byte_is_refused(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let mut file = good_bundle(&keys, "fw", "1.0.0", &payload(100_000, 2));
    let i = file.len() - 5000;
    file[i] ^= 0x01;
    refused(&app, file, 422, "SHA-256 is").await;
}

async fn edited_manifest_is_refused(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let data = payload(10_000, 3);
    let mut env = sign_manifest(&manifest("fw", "1.0.0", &data), &keys.signer).expect("sign");
    let mut m = manifest("fw", "1.0.0", &data);
    m.security_version = 99; // the edit
    env.payload = B64.encode(serde_json::to_vec_pretty(&m).expect("json"));
    refused(
        &app,
        bundle_file(&keys.keyring_env, &env, &data),
        422,
        "edited after signing",
    )
    .await;
}

async fn unknown_key_is_refused(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let data = payload(10_000, 4);
    let env = sign_manifest(&manifest("fw", "1.0.0", &data), &key(66)).expect("sign");
    refused(
        &app,
        bundle_file(&keys.keyring_env, &env, &data),
        422,
        "unknown key",
    )
    .await;
}

async fn revoked_key_is_refused(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let mut v2 = keys.keyring.clone();
    v2.version = 2;
    v2.revoke(&wavecast_protocol::keys::key_id(
        &keys.signer.verifying_key(),
    ));
    keys.publish_envelope(&app, &v2.sign(&keys.root).expect("sign"))
        .await;
    // The bundle still carries keyring v1, where the key was valid.
    let file = good_bundle(&keys, "fw", "1.0.0", &payload(10_000, 5));
    refused(&app, file, 422, "revokes").await;
}

async fn expired_keyring_is_refused(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let mut v2 = keys.keyring.clone();
    v2.version = 2;
    v2.expires_at = chrono::Utc::now().timestamp() - 60;
    let expired = v2.sign(&keys.root).expect("sign");
    let data = payload(10_000, 6);
    let env = sign_manifest(&manifest("fw", "1.0.0", &data), &keys.signer).expect("sign");
    refused(
        &app,
        bundle_file(&expired, &env, &data),
        422,
        "keyring version 2 expired",
    )
    .await;
}

async fn key_signing_a_forbidden_kind_is_refused(app: TestApp) {
    let keys = Keys::new();
    let codec_signer = key(3);
    let mut kr = Keyring::new(1, wavecast_e2e::trust::in_a_year());
    kr.add(&keys.signer.verifying_key(), KeyRole::BUNDLES, "signing");
    kr.add(
        &codec_signer.verifying_key(),
        [KeyRole::Codec],
        "codec-only",
    );
    let env_kr = kr.sign(&keys.root).expect("sign");
    keys.publish_envelope(&app, &env_kr).await;
    let data = payload(10_000, 7);
    let env = sign_manifest(&manifest("fw", "1.0.0", &data), &codec_signer).expect("sign");
    refused(
        &app,
        bundle_file(&env_kr, &env, &data),
        422,
        "may not sign firmware bundles",
    )
    .await;
}

async fn declared_size_smaller_than_payload_is_refused(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let data = payload(10_000, 8);
    // The manifest describes only the first 9,000 bytes; 10,000 follow.
    let env = sign_manifest(&manifest("fw", "1.0.0", &data[..9_000]), &keys.signer).expect("sign");
    refused(
        &app,
        bundle_file(&keys.keyring_env, &env, &data),
        422,
        "1000 bytes follow the last artifact",
    )
    .await;
}

async fn declared_size_larger_than_payload_is_refused(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let data = payload(10_000, 9);
    let env = sign_manifest(&manifest("fw", "1.0.0", &data), &keys.signer).expect("sign");
    refused(
        &app,
        bundle_file(&keys.keyring_env, &env, &data[..7_000]),
        422,
        "ends after 7000 of its declared 10000 bytes",
    )
    .await;
}

async fn truncated_upload_leaves_nothing(app: TestApp) {
    use std::time::{Duration, Instant};
    let keys = Keys::new();
    keys.publish(&app).await;
    let file = good_bundle(&keys, "fw", "1.0.0", &payload(2_000_000, 10));
    let total = file.len() as u64;
    // The client announces the whole file and sends half of it ...
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let request = app
        .http
        .post(format!("{}/api/v1/bundles", app.address))
        .bearer_auth(&app.admin_token)
        .header("content-length", total)
        .body(reqwest::Body::wrap_stream(body))
        .send();
    let sending = tokio::spawn(request);
    tx.send(Ok(bytes::Bytes::from(file[..file.len() / 2].to_vec())))
        .await
        .expect("queued");
    // ... the server is now writing the artifact ...
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.blob_files().1 == 0 {
        assert!(
            Instant::now() < deadline,
            "the server never started writing"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // ... when the client's connection fails.
    tx.send(Err(std::io::Error::other("connection lost")))
        .await
        .expect("queued");
    assert!(
        sending.await.expect("joined").is_err(),
        "the client saw its upload fail"
    );
    while app.blob_files() != (0, 0) {
        assert!(
            Instant::now() < deadline,
            "the partial write was not removed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.assert_nothing_stored().await;
}

async fn same_version_with_other_content_is_a_conflict(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let first = good_bundle(&keys, "fw", "1.0.0", &payload(50_000, 11));
    let a = app.upload(first.clone()).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["id"].clone();
    // The identical file again is accepted as the same bundle.
    let again = app.upload(first).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["id"], id);
    // Other content under the same name and version is refused.
    let other = good_bundle(&keys, "fw", "1.0.0", &payload(50_000, 12));
    let detail = app.upload(other).await.problem(409);
    assert!(
        detail.contains("already exists with different content"),
        "{detail}"
    );
    assert_eq!(app.blob_files(), (1, 0), "only the first bundle's blob");
    let list: Vec<BundleView> = app
        .get("/api/v1/bundles", Some(&app.admin_token))
        .await
        .json();
    assert_eq!(list.len(), 1);
}

async fn uploads_need_an_operator_and_a_keyring(app: TestApp) {
    let keys = Keys::new();
    let file = good_bundle(&keys, "fw", "1.0.0", &payload(1_000, 13));
    let detail = app.upload(file.clone()).await.problem(409);
    assert!(detail.contains("keys publish"), "{detail}");
    keys.publish(&app).await;
    let viewer = app.user_with_role("vi", "viewer").await;
    app.upload_as(&viewer, file.clone(), "").await.problem(403);
    let support = app.user_with_role("su", "support").await;
    app.upload_as(&support, file.clone(), "").await.problem(403);
    let operator = app.user_with_role("op", "operator").await;
    assert_eq!(app.upload_as(&operator, file, "").await.status, 201);
}

async fn not_a_bundle_is_refused(app: TestApp) {
    Keys::new().publish(&app).await;
    refused(
        &app,
        b"GIF89a definitely not a bundle".to_vec(),
        422,
        "not a Wavecast bundle",
    )
    .await;
    refused(&app, Vec::new(), 422, "empty").await;
}

async fn lifecycle_publish_deprecate_revoke(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let a = app
        .upload(good_bundle(&keys, "fw", "2.0.0", &payload(1_000, 14)))
        .await;
    assert_eq!(a.status, 201);
    let admin = Some(app.admin_token.as_str());
    let act = |action: &'static str| {
        let app = &app;
        async move {
            app.post(
                &format!("/api/v1/bundles/fw@2.0.0/{action}"),
                admin,
                &json!({ "reason": "test" }),
            )
            .await
        }
    };
    let d = act("deprecate").await.problem(409);
    assert!(d.contains("only a published bundle"), "{d}");
    assert_eq!(act("publish").await.body["state"], "published");
    assert_eq!(act("deprecate").await.body["state"], "deprecated");
    assert_eq!(act("revoke").await.body["state"], "revoked");
    act("publish").await.problem(409);
    let viewer = app.user_with_role("v2", "viewer").await;
    app.post("/api/v1/bundles/fw@2.0.0/revoke", Some(&viewer), &json!({}))
        .await
        .problem(403);
    let audit = app.get("/api/v1/audit?object_type=bundle", admin).await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "bundle.revoke",
            "bundle.deprecate",
            "bundle.publish",
            "bundle.upload"
        ]
    );
}

async fn newer_keyring_in_a_bundle_is_adopted(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    // Rotation: keyring v2 adds a new signer; the bundle carries v2.
    let new_signer = key(4);
    let mut v2 = keys.keyring.clone();
    v2.version = 2;
    v2.add(&new_signer.verifying_key(), KeyRole::BUNDLES, "signing-2");
    let v2_env = v2.sign(&keys.root).expect("sign");
    let data = payload(5_000, 15);
    let env = sign_manifest(&manifest("fw", "3.0.0", &data), &new_signer).expect("sign");
    let a = app.upload(bundle_file(&v2_env, &env, &data)).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let kr = app.get("/api/v1/keyring", Some(&app.admin_token)).await;
    assert_eq!(kr.body["version"], 2);
}

async fn keyring_publishing_refuses_rollback_and_foreign_roots(app: TestApp) {
    let keys = Keys::new();
    let mut v2 = keys.keyring.clone();
    v2.version = 2;
    keys.publish_envelope(&app, &v2.sign(&keys.root).expect("sign"))
        .await;
    let put = |root: String, env: wavecast_protocol::envelope::Envelope| {
        let app = &app;
        async move {
            app.request(
                reqwest::Method::PUT,
                "/api/v1/keyring",
                Some(&app.admin_token),
                Some(&json!({ "root_public_key": root, "keyring": env })),
            )
            .await
        }
    };
    let root_text = wavecast_protocol::keys::public_key_text(&keys.root.verifying_key());
    let d = put(root_text.clone(), keys.keyring_env.clone())
        .await
        .problem(409);
    assert!(d.contains("older than version 2"), "{d}");
    let other_root = key(50);
    let d = put(
        wavecast_protocol::keys::public_key_text(&other_root.verifying_key()),
        keys.keyring.sign(&other_root).expect("sign"),
    )
    .await
    .problem(409);
    assert!(d.contains("replacing the root key is not supported"), "{d}");
    // Signed by a signing key instead of root.
    let d = put(root_text, keys.keyring.sign(&keys.signer).expect("sign"))
        .await
        .problem(422);
    assert!(d.contains("not signed by the pinned root key"), "{d}");
    // Only admins publish keyrings.
    let op = app.user_with_role("op2", "operator").await;
    let a = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/keyring",
            Some(&op),
            Some(&json!({ "root_public_key": "x", "keyring": keys.keyring_env })),
        )
        .await;
    a.problem(403);
}

wavecast_e2e::both_backends!(
    good_bundle_is_staged_and_audited,
    flipped_payload_byte_is_refused,
    edited_manifest_is_refused,
    unknown_key_is_refused,
    revoked_key_is_refused,
    expired_keyring_is_refused,
    key_signing_a_forbidden_kind_is_refused,
    declared_size_smaller_than_payload_is_refused,
    declared_size_larger_than_payload_is_refused,
    truncated_upload_leaves_nothing,
    same_version_with_other_content_is_a_conflict,
    uploads_need_an_operator_and_a_keyring,
    not_a_bundle_is_refused,
    lifecycle_publish_deprecate_revoke,
    newer_keyring_in_a_bundle_is_adopted,
    keyring_publishing_refuses_rollback_and_foreign_roots,
);
