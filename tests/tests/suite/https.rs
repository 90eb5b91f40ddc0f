//! The server's own HTTPS (`http.tls`): it serves its certificate, sends
//! `Strict-Transport-Security`, redirects plain HTTP when asked, and serves
//! a certificate replaced on disk to new connections without a restart.

use std::time::{Duration, Instant};

use wavecast_e2e::{
    tls::{ca, leaf, served_certificate},
    Backend, TestApp,
};
use wavecast_server::platform::config::HttpTlsConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_is_served_hsts_sent_plain_http_redirected_and_a_new_certificate_taken_live() {
    let dir = tempfile::tempdir().expect("dir");
    let authority = ca("Wavecast test CA").expect("ca");
    let ca_pem = authority.0.pem();
    let (chain, key, first) = leaf(&authority, 1).expect("leaf");
    let cert_file = dir.path().join("fullchain.pem");
    let key_file = dir.path().join("privkey.pem");
    std::fs::write(&cert_file, chain).expect("cert");
    std::fs::write(&key_file, key).expect("key");
    let plain_port = wavecast_e2e::free_port();
    let tls = HttpTlsConfig {
        cert_file: cert_file.clone(),
        key_file: key_file.clone(),
        redirect_bind: Some(format!("127.0.0.1:{plain_port}").parse().expect("addr")),
        hsts_max_age_secs: 600,
    };
    // The bootstrap token stays unspent: the harness's first call is plain HTTP.
    let app = TestApp::spawn_unspent(Backend::Sqlite, |c| c.http.tls = Some(tls))
        .await
        .expect("SQLite");
    let addr = app.address.trim_start_matches("http://").to_owned();
    let port = addr.rsplit_once(':').expect("port").1.to_owned();

    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("ca"))
        .build()
        .expect("client");
    let res = client
        .get(format!("https://localhost:{port}/api/v1/version"))
        .send()
        .await
        .expect("HTTPS answers");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["strict-transport-security"], "max-age=600");
    // The HTTPS port speaks no plain HTTP.
    assert!(reqwest::get(format!("http://{addr}/api/v1/version"))
        .await
        .is_err());
    // The plain port sends every request to the same path over HTTPS.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("http://127.0.0.1:{plain_port}/api/v1/version?x=1"))
        .send()
        .await
        .expect("plain HTTP answers");
    assert_eq!(plain.status(), 308);
    assert_eq!(
        plain.headers()["location"],
        format!("https://127.0.0.1:{port}/api/v1/version?x=1")
    );

    assert_eq!(
        served_certificate(&addr, &ca_pem).await.expect("tls"),
        first
    );
    // The certificate is renewed on disk (key first, as a renewal tool may):
    // new connections get it, without a restart.
    let (chain, key, second) = leaf(&authority, 2).expect("leaf");
    std::fs::write(&key_file, key).expect("key");
    std::fs::write(&cert_file, chain).expect("cert");
    let started = Instant::now();
    loop {
        let served = served_certificate(&addr, &ca_pem).await.expect("tls");
        if served == second {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the renewed certificate was not served within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And the server still answers over it.
    let res = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .expect("HTTPS answers");
    assert_eq!(res.status(), 200);
}
