//! The server's own HTTPS (`http.tls`) and MQTT over TLS (`mqtt.tls`): it
//! serves its certificate, sends `Strict-Transport-Security`, redirects
//! plain HTTP when asked, and serves a certificate replaced on disk to new
//! connections, on both, without a restart.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use wavecast_e2e::{
    tls::{ca, connect, leaf, served_certificate},
    Backend, TestApp,
};
use wavecast_server::platform::config::{HttpTlsConfig, MqttTlsConfig};

/// Sends an MQTT 5 CONNECT with a credential nobody has over TLS to `addr`
/// and returns the CONNACK's reason code: proof the broker itself answered
/// through the TLS listener.
async fn mqtt_connack(addr: &str, ca_pem: &str) -> anyhow::Result<u8> {
    let mut tls = connect(addr, ca_pem).await?;
    let field = |s: &str| {
        let mut v = u16::try_from(s.len())
            .expect("short")
            .to_be_bytes()
            .to_vec();
        v.extend_from_slice(s.as_bytes());
        v
    };
    // Protocol "MQTT" v5; flags: user name, password, clean start;
    // keep-alive 60 s; no properties.
    let mut body = field("MQTT");
    body.extend_from_slice(&[5, 0xC2, 0, 60, 0]);
    for s in ["stb-probe", "no-such-box", "wcd_not_a_credential"] {
        body.extend(field(s));
    }
    let mut packet = vec![0x10, u8::try_from(body.len()).expect("short")];
    packet.extend(body);
    tls.write_all(&packet).await?;
    let mut head = [0u8; 2];
    tls.read_exact(&mut head).await?;
    anyhow::ensure!(head[0] == 0x20, "not a CONNACK: {head:?}");
    let mut rest = vec![0u8; usize::from(head[1])];
    tls.read_exact(&mut rest).await?;
    Ok(rest[1])
}

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
    let mqtts = format!("127.0.0.1:{}", wavecast_e2e::free_port());
    let mqtt_tls = MqttTlsConfig {
        listen: mqtts.parse().expect("addr"),
        cert_file: cert_file.clone(),
        key_file: key_file.clone(),
    };
    let tls = HttpTlsConfig {
        cert_file: cert_file.clone(),
        key_file: key_file.clone(),
        redirect_bind: Some(format!("127.0.0.1:{plain_port}").parse().expect("addr")),
        hsts_max_age_secs: 600,
    };
    // The bootstrap token stays unspent: the harness's first call is plain HTTP.
    let app = TestApp::spawn_unspent(Backend::Sqlite, |c| {
        c.http.tls = Some(tls);
        c.mqtt.tls = Some(mqtt_tls);
    })
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
    assert_eq!(
        served_certificate(&mqtts, &ca_pem).await.expect("mqtts"),
        first
    );
    // Behind the TLS listener is the broker, which refuses a credential
    // nobody was given (an MQTT 5 reason code of 0x80 or above).
    let refused = mqtt_connack(&mqtts, &ca_pem).await.expect("CONNACK");
    assert!(
        refused >= 0x80,
        "the broker accepted a made-up credential: {refused:#x}"
    );
    // The certificate is renewed on disk (key first, as a renewal tool may):
    // new connections get it, without a restart.
    let (chain, key, second) = leaf(&authority, 2).expect("leaf");
    std::fs::write(&key_file, key).expect("key");
    std::fs::write(&cert_file, chain).expect("cert");
    let started = Instant::now();
    loop {
        let served = served_certificate(&addr, &ca_pem).await.expect("tls");
        let over_mqtt = served_certificate(&mqtts, &ca_pem).await.expect("mqtts");
        if served == second && over_mqtt == second {
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
    assert!(
        mqtt_connack(&mqtts, &ca_pem).await.expect("CONNACK") >= 0x80,
        "the broker answers through the renewed certificate"
    );
}
