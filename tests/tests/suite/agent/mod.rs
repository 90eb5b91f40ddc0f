//! The real agent binary on a simulated box against the real server: an A/B
//! update through a reboot, over HTTPS with a pinned CA, a tampered
//! artifact, a fallback from an unhealthy slot, a stop dead at every journal
//! step, resumed downloads, and the offline queue. The box's backend does not matter to the agent,
//! so these run on SQLite only.
//!
//! `WAVECAST_AGENT_BIN` / `WAVECAST_AGENT_RUNNER` run another build of the
//! agent (CI runs `a_firmware_update_goes_through_a_reboot` with the
//! aarch64 binary under qemu-aarch64-static).

mod licences;

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use wavecast_e2e::{
    stb::{Ended, Stb},
    tls::TlsFront,
    trust::{good_bundle, payload, server_signs, Keys},
    Backend, TestApp,
};
use wavecast_protocol::keys::public_key_text;

/// A server with firmware 4.2.0 published and rolled out to every box, and
/// a box for serial `STB-1` configured with `extra`.
async fn setup(
    fw_len: usize,
    server_url: Option<&str>,
    extra: &str,
) -> (TestApp, String, Vec<u8>, Stb) {
    setup_with(fw_len, server_url, extra, 1, true).await
}

/// [`setup`] with the server's check-in interval, and without a rollout yet
/// unless `roll_out` (the id is then empty).
async fn setup_with(
    fw_len: usize,
    server_url: Option<&str>,
    extra: &str,
    interval: u64,
    roll_out: bool,
) -> (TestApp, String, Vec<u8>, Stb) {
    setup_on(fw_len, server_url, extra, interval, roll_out, false).await
}

/// [`setup_with`], the server serving HTTPS itself when `https`.
async fn setup_on(
    fw_len: usize,
    server_url: Option<&str>,
    extra: &str,
    interval: u64,
    roll_out: bool,
    https: bool,
) -> (TestApp, String, Vec<u8>, Stb) {
    let adjust = |c: &mut wavecast_server::platform::config::Config| {
        server_signs(c);
        c.rollouts.checkin_interval_secs = interval;
        c.rollouts.checkin_jitter_pct = 0;
        // Serving HTTPS, the embedded broker speaks MQTT over TLS too, with
        // the same certificate, and boxes are told `mqtts://`.
        if let Some(tls) = c.http.tls.clone() {
            let port = wavecast_e2e::free_port();
            c.mqtt.tls = Some(wavecast_server::platform::config::MqttTlsConfig {
                listen: format!("127.0.0.1:{port}").parse().expect("addr"),
                cert_file: tls.cert_file,
                key_file: tls.key_file,
            });
            c.mqtt.advertise_url = Some(format!("mqtts://localhost:{port}"));
        }
    };
    let app = if https {
        TestApp::spawn_https(Backend::Sqlite, adjust).await
    } else {
        TestApp::spawn_with(Backend::Sqlite, adjust).await
    }
    .expect("SQLite");
    let keys = Keys::new();
    keys.publish(&app).await;
    let data = payload(fw_len, 9);
    app.upload_and_publish(
        good_bundle(&keys, "x1-firmware", "4.2.0", &data),
        "x1-firmware@4.2.0",
    )
    .await;
    assert_eq!(app.import_serials("STB-1,X1\n").await.status, 200);
    let id = if roll_out {
        app.roll_out_to_all(&["x1-firmware@4.2.0"]).await
    } else {
        String::new()
    };
    let root = public_key_text(&keys.root.verifying_key());
    let stb = Stb::new(server_url.unwrap_or(&app.address), &root, "STB-1", extra);
    (app, id, data, stb)
}

async fn rollout(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/rollouts/{id}"), Some(&app.admin_token))
        .await
        .body
}

/// Runs the box until `done` holds for the rollout: a run that reboots or
/// dies is followed by a new boot and a new run (`abort_at` applies until
/// the agent has died once). Returns the rollout and how runs ended.
async fn drive(
    app: &TestApp,
    id: &str,
    stb: &mut Stb,
    abort_at: Option<&str>,
    done: impl Fn(&Value) -> bool,
) -> (Value, Vec<Ended>) {
    let child = stb.spawn(abort_at);
    drive_from(app, id, stb, child, abort_at, done).await
}

/// [`drive`] with the agent already running.
async fn drive_from(
    app: &TestApp,
    id: &str,
    stb: &mut Stb,
    mut child: std::process::Child,
    mut abort_at: Option<&str>,
    done: impl Fn(&Value) -> bool,
) -> (Value, Vec<Ended>) {
    let mut endings = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            Instant::now() < deadline,
            "the box did not get there; runs ended {endings:?}; rollout {}; log:\n{}",
            rollout(app, id).await,
            stb.read("agent.log")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        let r = rollout(app, id).await;
        if done(&r) {
            Stb::stop(&mut child);
            return (r, endings);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            let ended = stb.ended(status);
            match ended {
                Ended::Died => abort_at = None,
                Ended::Rebooted => {}
                Ended::Exited(s) => panic!("the agent exited ({s}):\n{}", stb.read("agent.log")),
            }
            endings.push(ended);
            // A reboot or a power cut: the box boots again.
            stb.boot();
            child = stb.spawn(abort_at);
        }
    }
}

fn status_of(stb: &Stb) -> String {
    let out = stb.cli(&["status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_firmware_update_goes_through_a_reboot() {
    let (app, id, data, mut stb) = setup(300_000, None, "").await;
    let (r, endings) = drive(&app, &id, &mut stb, None, |r| r["counts"]["succeeded"] == 1).await;
    assert_eq!(r["counts"]["failed"], 0);
    assert_eq!(
        endings,
        vec![Ended::Rebooted],
        "one reboot into the new slot"
    );
    // Under CI's qemu run, prove the ARM build is the one that ran.
    if let Ok(arch) = std::env::var("WAVECAST_AGENT_EXPECT_ARCH") {
        let log = stb.read("agent.log");
        assert!(log.contains(&format!(" on {arch} running as")), "{log}");
    }
    assert_eq!(std::fs::read(stb.path("slot-b")).expect("slot b"), data);
    assert_eq!(
        stb.read("slot-a"),
        "factory 4.1.0 image",
        "the old slot is untouched"
    );
    assert_eq!(stb.read("bootslot").trim(), "b");
    let status = status_of(&stb);
    assert!(status.contains("x1-firmware 4.2.0"), "{status}");
    assert!(status.contains("update         none"), "{status}");
    // The staging area is empty again.
    let staged = std::fs::read_dir(stb.path("state/staging")).map_or(0, |d| d.count());
    assert_eq!(staged, 0);
}

/// Points the box at an HTTPS front for `app`, trusting only `ca_file`
/// (or, with `None`, the system CA store).
fn behind_tls(app: &TestApp, stb: &Stb, front: &TlsFront, ca_file: Option<&std::path::Path>) {
    let trust = ca_file.map_or(String::new(), |f| {
        format!("\nca_file = \"{}\"", f.display())
    });
    stb.edit(
        &format!("server = \"{}\"", app.address),
        &format!("server = \"{}\"{trust}", front.url),
    );
}

/// Makes the box trust only `ca_file` (or, with `None`, the system CA store).
fn trusting(app: &TestApp, stb: &Stb, ca_file: Option<&std::path::Path>) {
    let trust = ca_file.map_or(String::new(), |f| {
        format!("\nca_file = \"{}\"", f.display())
    });
    stb.edit(
        &format!("server = \"{}\"", app.address),
        &format!("server = \"{}\"{trust}", app.address),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_over_https_trusts_only_the_pinned_ca() {
    // The server serves HTTPS itself (`http.tls`), as in the field.
    let (app, id, data, mut stb) = setup_on(300_000, None, "", 1, true, true).await;
    let pinned = app.ca_file.clone().expect("the server's CA");
    let other = stb.path("other-ca.pem");
    let (someone_else, _) = wavecast_e2e::tls::ca("Somebody else's CA").expect("ca");
    std::fs::write(&other, someone_else.pem()).expect("other CA");

    // A CA that did not sign the server's certificate, then the system
    // store (which has never heard of the test CA): no connection, a
    // message naming the certificate, and the box never enrols.
    for ca in [Some(other.as_path()), None] {
        let text = std::fs::read_to_string(&stb.config).expect("config");
        trusting(&app, &stb, ca);
        let _ = std::fs::remove_file(stb.path("agent.log"));
        let mut child = stb.spawn(None);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !stb.read("agent.log").contains("certificate") {
            assert!(Instant::now() < deadline, "{}", stb.read("agent.log"));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Stb::stop(&mut child);
        let r = rollout(&app, &id).await;
        assert_eq!(r["counts"]["reported"], 0, "{r}");
        assert!(
            !stb.read("state/state.json").contains("credential\": \""),
            "no enrolment through an untrusted certificate"
        );
        std::fs::write(&stb.config, text).expect("config");
    }

    // The operator's CA pinned: the whole update goes through TLS.
    trusting(&app, &stb, Some(&pinned));
    let (r, endings) = drive(&app, &id, &mut stb, None, |r| r["counts"]["succeeded"] == 1).await;
    assert_eq!(r["counts"]["failed"], 0);
    assert_eq!(endings, vec![Ended::Rebooted]);
    assert_eq!(std::fs::read(stb.path("slot-b")).expect("slot b"), data);
    assert!(status_of(&stb).contains("x1-firmware 4.2.0"));
    let log = stb.read("agent.log");
    assert!(log.contains("trusting the CA file"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_artifact_is_refused_and_nothing_installed() {
    let (app, id, data, mut stb) = setup(100_000, None, "").await;
    // Flip one byte of the stored artifact behind the server's back.
    let sha = wavecast_protocol::Sha256Digest::of(&data).to_hex();
    let blob = walk(&app.config.blobs.dir)
        .into_iter()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(&sha))
        })
        .expect("the artifact's blob");
    let mut bytes = std::fs::read(&blob).expect("blob");
    bytes[50_000] ^= 0xff;
    std::fs::write(&blob, bytes).expect("tamper");
    let (r, endings) = drive(&app, &id, &mut stb, None, |r| r["counts"]["failed"] == 1).await;
    assert_eq!(r["counts"]["succeeded"], 0);
    assert!(endings.is_empty(), "no reboot: {endings:?}");
    assert!(
        !stb.path("slot-b").exists(),
        "nothing was written to a slot"
    );
    assert_eq!(stb.read("bootslot").trim(), "a");
    let log = stb.read("agent.log");
    assert!(
        log.contains("is not the signed"),
        "the reason is logged:\n{log}"
    );
    assert!(status_of(&stb).contains("x1-firmware 4.1.0"));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unhealthy_slot_falls_back_after_its_boots() {
    let (app, id, _, mut stb) = setup(50_000, None, "").await;
    std::fs::remove_file(stb.path("healthy")).expect("make the new firmware unhealthy");
    let (r, endings) = drive(&app, &id, &mut stb, None, |r| r["counts"]["failed"] == 1).await;
    assert_eq!(r["counts"]["succeeded"], 0);
    // Reboot into b, a second boot of b (max_boots = 2), then back to a.
    assert_eq!(
        endings,
        vec![Ended::Rebooted; 3],
        "{}",
        stb.read("agent.log")
    );
    assert_eq!(stb.read("bootslot").trim(), "a", "the old slot boots again");
    let log = stb.read("agent.log");
    assert!(log.contains("rolled_back: health check failed"), "{log}");
    assert!(status_of(&stb).contains("x1-firmware 4.1.0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bootloader_fallback_is_reported_as_rolled_back() {
    let (app, id, _, mut stb) = setup(50_000, None, "").await;
    // The bootloader itself goes back to slot a (the new kernel never came up).
    let mut child = stb.spawn(None);
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "{}", stb.read("agent.log"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stb.path("rebooted").exists(), "{}", stb.read("agent.log"));
    std::fs::write(stb.path("bootslot"), "a\n").expect("bootloader fallback");
    stb.boot();
    let (_, _) = drive(&app, &id, &mut stb, None, |r| r["counts"]["failed"] == 1).await;
    let log = stb.read("agent.log");
    assert!(
        log.contains("did not start: the bootloader went back to slot a"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_dead_at_every_journal_step_recovers() {
    for step in [
        "downloading",
        "download-midway",
        "downloaded",
        "installing",
        "slot-written",
        "rebooting",
        "booted",
    ] {
        let (app, id, data, mut stb) = setup(400_000, None, "").await;
        let (r, endings) = drive(&app, &id, &mut stb, Some(step), |r| {
            r["counts"]["succeeded"] == 1
        })
        .await;
        assert!(
            endings.contains(&Ended::Died),
            "{step}: the crash point was reached: {endings:?}\n{}",
            stb.read("agent.log")
        );
        assert_eq!(r["counts"]["failed"], 0, "{step}");
        assert_eq!(
            std::fs::read(stb.path("slot-b")).expect("slot b"),
            data,
            "{step}"
        );
        assert_eq!(stb.read("bootslot").trim(), "b", "{step}");
        assert!(status_of(&stb).contains("x1-firmware 4.2.0"), "{step}");
        if step == "download-midway" {
            let log = stb.read("agent.log");
            assert!(
                !log.contains("hash"),
                "{step}: the resumed download verified:\n{log}"
            );
        }
    }
}

/// A TCP relay to the server that can be cut (connections refused) and
/// restored: the box's network.
struct Relay {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Relay {
    async fn start(target: String) -> Self {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = l.local_addr().expect("addr").port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = up.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = l.accept().await {
                if !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    if let Ok(mut out) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
            }
        });
        Self { port, up }
    }

    fn set(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offline_queue_delivers_everything_when_the_server_is_back() {
    // The relay needs the server's address, which exists only once it runs:
    // start the server first, then point a box at the relay.
    let (app, id, _, _) = setup(20_000, None, "").await;
    let relay = Relay::start(app.address.trim_start_matches("http://").to_owned()).await;
    let keys = Keys::new();
    let root = public_key_text(&keys.root.verifying_key());
    let mut stb = Stb::new(
        &format!("http://127.0.0.1:{}", relay.port),
        &root,
        "STB-1",
        "",
    );
    // Online: the box enrols and updates.
    let _ = drive(&app, &id, &mut stb, None, |r| r["counts"]["succeeded"] == 1).await;
    // Offline: the box's software reports faults, the service runs on.
    relay.set(false);
    let mut child = stb.spawn(None);
    for i in 0..40 {
        let out = stb.cli(&[
            "fault",
            "report",
            "HW-HDMI-001",
            "--details",
            &format!("hot-plug lost #{i}"),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = status_of(&stb);
    assert!(status.contains("40 waiting"), "{status}");
    // A restart while offline loses nothing either.
    Stb::stop(&mut child);
    let mut child = stb.spawn(None);
    relay.set(true);
    let device = app
        .get("/api/v1/devices/STB-1", Some(&app.admin_token))
        .await
        .body["id"]
        .as_str()
        .expect("device id")
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let events = loop {
        let e = app
            .get(
                &format!("/api/v1/devices/{device}/events?type=fault&limit=1000"),
                Some(&app.admin_token),
            )
            .await;
        assert_eq!(e.status, 200, "{}", e.body);
        let list = e.body["events"].as_array().cloned().unwrap_or_default();
        if list.len() >= 40 || Instant::now() > deadline {
            break list;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    Stb::stop(&mut child);
    assert_eq!(events.len(), 40, "{}", stb.read("agent.log"));
    let mut details: Vec<String> = events
        .iter()
        .map(|e| e["details"].as_str().unwrap_or_default().to_owned())
        .collect();
    details.sort();
    let mut want: Vec<String> = (0..40).map(|i| format!("hot-plug lost #{i}")).collect();
    want.sort();
    assert_eq!(details, want, "each fault once");
    assert!(status_of(&stb).contains("0 waiting, 0 dropped"));
}

#[test]
fn the_cli_refuses_bad_input_with_a_message() {
    let out = wavecast_e2e::stb::agent_output(&["frobnicate"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
    let out = wavecast_e2e::stb::agent_output(&["--config", "/no/such/agent.toml", "status"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/agent.toml"));
    let ex = wavecast_e2e::stb::agent_output(&["config", "example"]);
    assert!(String::from_utf8_lossy(&ex.stdout).contains("[firmware]"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mqtt_nudge_brings_the_box_at_once() {
    // The server asks for a check-in every 10 minutes: only a nudge can
    // bring the box back within the test's time. HTTPS and MQTT over TLS,
    // both served by the server itself, the box pinning its CA.
    let (app, _, _, mut stb) = setup_on(50_000, None, "", 600, false, true).await;
    trusting(&app, &stb, app.ca_file.as_deref());
    stb.edit("max_secs = 5", "max_secs = 600");
    stb.edit("enabled = false", "enabled = true");
    stb.edit("interval_secs = 0", "interval_secs = 1");
    let mut child = stb.spawn(None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !stb.read("agent.log").contains("MQTT: connected") {
        let exited = child.try_wait().expect("agent process");
        assert!(
            exited.is_none() && Instant::now() < deadline,
            "agent {exited:?}: {}",
            stb.read("agent.log")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let started = Instant::now();
    let id = app.roll_out_to_all(&["x1-firmware@4.2.0"]).await;
    let (_, endings) = drive_from(&app, &id, &mut stb, child, None, |r| {
        r["counts"]["succeeded"] == 1
    })
    .await;
    assert_eq!(endings, vec![Ended::Rebooted]);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "updated in {:?}",
        started.elapsed()
    );
    assert!(stb.read("agent.log").contains("nudged"));
    // Health reports went over the same MQTT connection.
    let mut text = String::new();
    for _ in 0..100 {
        text = app.metrics_text().await;
        if text.contains("wavecast_mqtt_messages_total{channel=\"telemetry\"}")
            && text.contains("wavecast_device_events_total{kind=\"health\"}")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        text.contains("wavecast_mqtt_messages_total{channel=\"telemetry\"}"),
        "{text}\n{}",
        stb.read("agent.log")
    );
    assert!(
        text.contains("wavecast_device_events_total{kind=\"health\"}"),
        "{text}"
    );
}

/// The agent's resident memory in KiB: (peak so far, now).
///
/// Natively, `VmHWM` and `VmRSS`. Under qemu-user those would count the
/// emulator as well (its own code and heap, and the cache of translated
/// code), so there the resident pages of the ARM program's own mappings are
/// summed: binary, libraries, heap and stacks. qemu places them at guest
/// addresses (from 0x55_0000_0000 for a PIE), far below where the host maps
/// the emulator itself (0x5555_… and 0x7f…). The peak is then the largest
/// sample, which the caller keeps.
fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    if std::env::var_os("WAVECAST_AGENT_RUNNER").is_some_and(|r| !r.is_empty()) {
        let guest = guest_rss_kib(&std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?);
        return Some((guest, guest));
    }
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// The `Rss` of the mappings in `smaps` that start below 2^44, in KiB.
fn guest_rss_kib(smaps: &str) -> u64 {
    let mut guest = false;
    let mut total = 0;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or_default();
        if let Some((start, _)) = first.split_once('-') {
            if let Ok(start) = u64::from_str_radix(start, 16) {
                guest = start < 1 << 44;
                continue;
            }
        }
        if guest {
            if let Some(kib) = line.strip_prefix("Rss:") {
                total += kib
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    total
}

#[test]
fn guest_rss_counts_only_the_low_mappings() {
    let smaps = "5500000000-5500205000 r-xp 00000000 08:01 1 /opt/agent
Size:               2068 kB
Rss:                1600 kB
5502222000-5502a22000 rw-p 00000000 00:00 0
Rss:                  16 kB
55556b26a000-55556b40e000 rw-p 00000000 00:00 0 [heap]
Rss:                1668 kB
7f6aaa400000-7f6aaa628000 r--p 00000000 08:01 2 /usr/bin/qemu-aarch64-static
Rss:                2208 kB
";
    assert_eq!(guest_rss_kib(smaps), 1616);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_streams_and_stays_small() {
    // 32 MiB here; bench/agent-footprint.sh runs it at 256 MiB on the
    // aarch64 build. Streaming means the peak does not grow with the image.
    let mib: usize = std::env::var("WAVECAST_FOOTPRINT_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let (app, _, data, mut stb) = setup_with(mib << 20, None, "", 1, false).await;
    // As in the field: HTTPS, trusting the operator's CA.
    let front = TlsFront::start(&app.address).await.expect("TLS front");
    behind_tls(&app, &stb, &front, Some(&front.ca_file));
    // Idle: enrolled, checked in, nothing offered.
    let mut child = stb.spawn(None);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stb
        .read("state/state.json")
        .contains("last_checkin_at\": 1")
    {
        assert!(Instant::now() < deadline, "{}", stb.read("agent.log"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, idle) = memory_kib(child.id()).expect("the agent runs");
    // Installing: the peak over the download, the slot write and read-back.
    let id = app.roll_out_to_all(&["x1-firmware@4.2.0"]).await;
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "{}", stb.read("agent.log"));
        if let Some((hwm, _)) = memory_kib(child.id()) {
            peak = peak.max(hwm);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stb.path("rebooted").exists(), "{}", stb.read("agent.log"));
    stb.boot();
    drive(&app, &id, &mut stb, None, |r| r["counts"]["succeeded"] == 1).await;
    assert_eq!(
        std::fs::metadata(stb.path("slot-b")).expect("slot b").len(),
        data.len() as u64
    );
    println!(
        "agent footprint: idle RSS {idle} KiB, peak RSS while installing {mib} MiB: {peak} KiB ({})",
        std::env::var("WAVECAST_AGENT_RUNNER").unwrap_or_else(|_| "native".into())
    );
    // Streaming: installing adds little over idle, whatever the image size
    // and the build.
    assert!(
        peak <= idle + 8 * 1024,
        "installing {mib} MiB took RSS from {idle} to {peak} KiB"
    );
    // The size and RSS budgets are judged by bench/agent-footprint.sh on
    // the release builds, not here: the suite's build is unoptimised.
}
