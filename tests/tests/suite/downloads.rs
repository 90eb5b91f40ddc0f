//! Artifact downloads: exact bytes, Range and resume, If-Range, ETag, 416;
//! and the whole path through the real CLI and curl.

use std::process::Command;

use reqwest::{header, StatusCode};
use wavecast_e2e::{
    bin,
    trust::{good_bundle, payload, Keys},
    TestApp,
};
use wavecast_protocol::Sha256Digest;

const LEN: usize = 1_000_000;

/// Stages a bundle and returns (artifact URL, its bytes).
async fn staged(app: &TestApp) -> (String, Vec<u8>) {
    let keys = Keys::new();
    keys.publish(app).await;
    let data = payload(LEN, 42);
    let a = app.upload(good_bundle(&keys, "fw", "1.0.0", &data)).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let path = a.body["artifacts"][0]["download"]
        .as_str()
        .expect("download path")
        .to_owned();
    (format!("{}{path}", app.address), data)
}

async fn get(
    app: &TestApp,
    url: &str,
    headers: &[(header::HeaderName, String)],
) -> reqwest::Response {
    let mut req = app.http.get(url).bearer_auth(&app.admin_token);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req.send().await.expect("sent")
}

async fn full_download_is_exact(app: TestApp) {
    let (url, data) = staged(&app).await;
    let res = get(&app, &url, &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res.headers()[header::ETAG]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(etag, format!("\"sha256:{}\"", Sha256Digest::of(&data)));
    assert_eq!(res.headers()[header::ACCEPT_RANGES], "bytes");
    assert_eq!(res.bytes().await.expect("body").as_ref(), data.as_slice());
    // Conditional GET with the digest: nothing to send.
    let res = get(&app, &url, &[(header::IF_NONE_MATCH, etag)]).await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
}

async fn ranges_are_served_exactly(app: TestApp) {
    let (url, data) = staged(&app).await;
    for (range, expect, content_range) in [
        (
            "bytes=100-199",
            &data[100..200],
            format!("bytes 100-199/{LEN}"),
        ),
        (
            "bytes=-100",
            &data[LEN - 100..],
            format!("bytes {}-{}/{LEN}", LEN - 100, LEN - 1),
        ),
        (
            "bytes=999000-",
            &data[999_000..],
            format!("bytes 999000-{}/{LEN}", LEN - 1),
        ),
        (
            "bytes=999990-2000000",
            &data[999_990..],
            format!("bytes 999990-{}/{LEN}", LEN - 1),
        ),
    ] {
        let res = get(&app, &url, &[(header::RANGE, range.to_owned())]).await;
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            res.headers()[header::CONTENT_RANGE]
                .to_str()
                .expect("ascii"),
            content_range
        );
        assert_eq!(res.bytes().await.expect("body").as_ref(), expect, "{range}");
    }
    let res = get(&app, &url, &[(header::RANGE, format!("bytes={LEN}-"))]).await;
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        res.headers()[header::CONTENT_RANGE]
            .to_str()
            .expect("ascii"),
        format!("bytes */{LEN}")
    );
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    // A malformed Range is ignored: the whole artifact.
    let res = get(&app, &url, &[(header::RANGE, "bytes=abc".into())]).await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn if_range_guards_resumes(app: TestApp) {
    let (url, data) = staged(&app).await;
    let etag = format!("\"sha256:{}\"", Sha256Digest::of(&data));
    let res = get(
        &app,
        &url,
        &[
            (header::RANGE, "bytes=10-19".into()),
            (header::IF_RANGE, etag),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    let stale = get(
        &app,
        &url,
        &[
            (header::RANGE, "bytes=10-19".into()),
            (header::IF_RANGE, "\"sha256:0000\"".into()),
        ],
    )
    .await;
    assert_eq!(
        stale.status(),
        StatusCode::OK,
        "a stale validator gets the whole artifact"
    );
    assert_eq!(stale.bytes().await.expect("body").len(), LEN);
}

async fn an_interrupted_download_resumes(app: TestApp) {
    let (url, data) = staged(&app).await;
    // Read part of the body, then drop the connection.
    let mut res = get(&app, &url, &[]).await;
    let mut got = Vec::new();
    while got.len() < 300_000 {
        let chunk = res.chunk().await.expect("chunk").expect("more data");
        got.extend_from_slice(&chunk);
    }
    drop(res);
    let res = get(
        &app,
        &url,
        &[(header::RANGE, format!("bytes={}-", got.len()))],
    )
    .await;
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    got.extend_from_slice(&res.bytes().await.expect("rest"));
    assert_eq!(got, data);
}

async fn head_and_refusals(app: TestApp) {
    let (url, _) = staged(&app).await;
    let head = app
        .http
        .head(&url)
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()[header::CONTENT_LENGTH],
        LEN.to_string().as_str()
    );
    let anon = app.http.get(&url).send().await.expect("sent");
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    let unknown = format!(
        "{}/api/v1/artifacts/{}",
        app.address,
        Sha256Digest::of(b"nothing")
    );
    assert_eq!(
        get(&app, &unknown, &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    let junk = format!("{}/api/v1/artifacts/not-a-digest", app.address);
    assert_eq!(get(&app, &junk, &[]).await.status(), StatusCode::NOT_FOUND);
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The operator's path: keys init, publish, build, verify, upload; then curl
/// downloads the artifact, cut and resumed, and gets the exact bytes.
async fn cli_build_upload_and_curl_download(app: TestApp) {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let wavecast = || {
        let mut c = Command::new(bin::path("wavecast"));
        c.current_dir(d)
            .env("WAVECAST_SERVER", &app.address)
            .env("WAVECAST_TOKEN", &app.admin_token);
        c
    };
    run(wavecast().args(["keys", "init"]));
    run(wavecast().args(["keys", "publish"]));
    let image = payload(3_000_000, 7);
    std::fs::write(d.join("rootfs.img"), &image).expect("write");
    std::fs::write(
        d.join("bundle.toml"),
        "kind = \"firmware\"\nname = \"x1-firmware\"\nversion = \"4.2.0\"\nsecurity_version = 7\n\
         [[compatible]]\nmodel = \"X1\"\n[[artifacts]]\nname = \"rootfs.img\"\nfile = \"rootfs.img\"\ntarget = \"rootfs\"\n",
    )
    .expect("spec");
    let built = run(wavecast().args(["bundle", "build", "--spec", "bundle.toml"]));
    let file = String::from_utf8_lossy(&built.stdout).trim().to_owned();
    let report = run(wavecast().args([
        "bundle",
        "verify",
        &file,
        "--root",
        "wavecast-keys/root.pub",
    ]));
    assert!(String::from_utf8_lossy(&report.stdout).contains("result: VALID"));
    let report = run(wavecast().args([
        "bundle",
        "verify",
        &file,
        "--root",
        "wavecast-keys/root.pub",
        "--json",
    ]));
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("json");
    assert_eq!(report["valid"], true);
    assert_eq!(
        report["signer_roles"],
        serde_json::json!(["firmware", "codec", "drm", "app", "config"]),
        "the release key's roles: bundles, not check-ins"
    );
    assert_eq!(report["artifacts"][0]["ok"], true);
    let shown = run(wavecast().args(["keys", "show", "--json"]));
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(shown["version"], 1);
    assert_eq!(
        shown["keys"][1]["roles"],
        serde_json::json!(["checkin", "licence"]),
        "the online key signs check-in answers and licence tokens"
    );

    // The check-in key may not sign firmware: the builder says so first.
    let refused = wavecast()
        .args(["bundle", "build", "--spec", "bundle.toml"])
        .args(["--key", "wavecast-keys/checkin.key", "--out", "never.wcb"])
        .output()
        .expect("runs");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("may not sign firmware"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!d.join("never.wcb").exists());

    // A tampered copy fails verification with the reason.
    let mut tampered = std::fs::read(d.join(&file)).expect("read");
    let n = tampered.len();
    tampered[n - 10] ^= 0xff;
    std::fs::write(d.join("tampered.wcb"), tampered).expect("write");
    let bad = wavecast()
        .args([
            "bundle",
            "verify",
            "tampered.wcb",
            "--root",
            "wavecast-keys/root.pub",
        ])
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("SHA-256 is"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let bad = wavecast()
        .args(["--json", "bundle", "verify", "tampered.wcb"])
        .args(["--root", "wavecast-keys/root.pub"])
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    let refusal: serde_json::Value = serde_json::from_slice(&bad.stdout).expect("json");
    assert_eq!(refusal["valid"], false);
    assert!(refusal["error"]
        .as_str()
        .unwrap_or_default()
        .contains("SHA-256 is"));

    let up = run(wavecast().args(["--json", "bundle", "upload", &file]));
    let view: serde_json::Value = serde_json::from_slice(&up.stdout).expect("json");
    let url = format!(
        "{}{}",
        app.address,
        view["artifacts"][0]["download"].as_str().expect("path")
    );

    let curl = |extra: &[&str]| {
        let mut c = Command::new("curl");
        c.current_dir(d)
            .args(["--silent", "--show-error", "--fail", "-H"])
            .arg(format!("Authorization: Bearer {}", app.admin_token))
            .args(extra)
            .arg(&url);
        c
    };
    run(&mut curl(&["-o", "full.img"]));
    assert_eq!(
        std::fs::read(d.join("full.img")).expect("read"),
        image,
        "exact bytes"
    );
    // A download cut after 1 MB, resumed with Range by curl -C -.
    run(&mut curl(&["-r", "0-999999", "-o", "part.img"]));
    assert_eq!(
        std::fs::metadata(d.join("part.img")).expect("meta").len(),
        1_000_000
    );
    run(&mut curl(&["-C", "-", "-o", "part.img"]));
    assert_eq!(
        std::fs::read(d.join("part.img")).expect("read"),
        image,
        "resumed to the exact bytes"
    );
}

/// A box downloads what it was offered with its own credential, as the
/// agent does (resuming included); a decommissioned box cannot.
async fn boxes_download_with_their_credential(app: TestApp) {
    let keys = wavecast_e2e::trust::Keys::new();
    keys.publish(&app).await;
    let data = wavecast_e2e::trust::payload(300_000, 4);
    app.upload_and_publish(
        wavecast_e2e::trust::good_bundle(&keys, "x1-firmware", "4.2.0", &data),
        "x1-firmware@4.2.0",
    )
    .await;
    let boxes =
        wavecast_e2e::fleet::enrol_many(&app, 990, 1, "X1", &[("x1-firmware", "4.1.0", 1)]).await;
    app.roll_out_to_all(&["x1-firmware@4.2.0"]).await;
    let (_, p) = boxes[0].check_in(&app, &keys.root.verifying_key()).await;
    let url = p.offers[0].artifacts[0].url.clone();
    let client = boxes[0].client.clone();
    let u = url.clone();
    let (whole, tail) = tokio::task::spawn_blocking(move || {
        let read = |from| {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut client.download(&u, from).expect("download"), &mut out)
                .expect("read");
            out
        };
        (read(0), read(100_000))
    })
    .await
    .expect("agent client");
    assert_eq!(whole, data, "the exact bytes");
    assert_eq!(tail, data[100_000..], "resumed from byte 100000");
    let gone = app
        .post(
            &format!("/api/v1/devices/{}/decommission", boxes[0].serial),
            Some(&app.admin_token),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(gone.status, 200);
    let client = boxes[0].client.clone();
    let refused = tokio::task::spawn_blocking(move || client.download(&url, 0).err())
        .await
        .expect("agent client");
    assert!(
        matches!(&refused, Some(wavecast_agent::client::ClientError::Refused(p)) if p.status == 401),
        "{refused:?}"
    );
}

wavecast_e2e::both_backends!(
    configure = wavecast_e2e::trust::server_signs;
    boxes_download_with_their_credential,
    full_download_is_exact,
    ranges_are_served_exactly,
    if_range_guards_resumes,
    an_interrupted_download_resumes,
    head_and_refusals,
    cli_build_upload_and_curl_download,
);
