//! Writes the seed corpora (`fuzz/corpus/TARGET/`): inputs that pass every
//! check, signed with the fixed keys of `wavecast_fuzz`, so that the fuzzer
//! mutates from deep inside the parsers rather than from their first byte.
//! Run from `fuzz/`: `cargo run --bin seeds`. The output is deterministic
//! (Ed25519 signatures are) and committed.

use std::path::Path;

use wavecast_fuzz::{checkin, keyring, release, root, DEVICE, NONCE, NOW};
use wavecast_protocol::{
    batch::sign_batch,
    bundle::{encode_header, Header},
    checkin::{answer_leaf, sign_answer, CheckinAnswer, CheckinPayload, Offer, OfferArtifact},
    device::EnrolClaim,
    events::{Event, EventBatch, EventBody, FaultReport, HealthReport},
    keyring::sign_manifest,
    keys::public_key_text,
    manifest::{
        Artifact, Compatibility, Compression, Kind, Manifest, Requirement, MANIFEST_FORMAT,
    },
    Sha256Digest,
};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("corpus dir");
    std::fs::write(dir.join(name), bytes).expect("seed");
}

fn main() {
    let parts: [&[u8]; 2] = [b"rootfs bytes", b"kernel"];
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        kind: Kind::Firmware,
        name: "x1-firmware".into(),
        version: "4.2.0".parse().expect("version"),
        security_version: 7,
        compatible: vec![Compatibility {
            model: "X1".into(),
            revisions: vec!["A".into()],
        }],
        requires: vec![Requirement {
            name: "x1-bootloader".into(),
            version: ">=1.0, <2".parse().expect("req"),
        }],
        artifacts: parts
            .iter()
            .zip(["rootfs.img", "kernel.img"])
            .map(|(data, name)| Artifact {
                name: name.into(),
                size: data.len() as u64,
                sha256: Sha256Digest::of(data),
                target: name.trim_end_matches(".img").into(),
                compression: Compression::None,
            })
            .collect(),
        licensed_product: None,
        created_at: NOW,
        description: Some("seed".into()),
    };
    let keyring_env = keyring().sign(&root()).expect("keyring");
    let manifest_env = sign_manifest(&manifest, &release()).expect("manifest");

    // A bundle file, and one cut short inside its last artifact.
    let mut bundle = encode_header(&Header {
        keyring: keyring_env.clone(),
        manifest: manifest_env.clone(),
    })
    .expect("header");
    for p in parts {
        bundle.extend_from_slice(p);
    }
    write("bundle_stream", "valid", &bundle);
    write("bundle_stream", "truncated", &bundle[..bundle.len() - 3]);

    let json = |v: &dyn erased::Json| v.to_json();
    write("keyring", "valid", &json(&keyring_env));
    write("manifest", "envelope", &json(&manifest_env));
    write(
        "manifest",
        "payload",
        &manifest_env.payload_bytes().expect("payload"),
    );

    // A direct answer with one offer, and the same answer in a batch of three.
    let payload = |device: &str, nonce: &str| CheckinPayload {
        device_id: device.into(),
        nonce: nonce.into(),
        issued_at: NOW,
        offers: vec![Offer {
            rollout_id: "r-1".into(),
            bundle_id: "b-1".into(),
            manifest: manifest_env.clone(),
            artifacts: manifest
                .artifacts
                .iter()
                .map(|a| OfferArtifact {
                    name: a.name.clone(),
                    size: a.size,
                    sha256: a.sha256,
                    url: format!("/api/v1/artifacts/{}", a.sha256),
                })
                .collect(),
            allow_downgrade: false,
        }],
        next_checkin_secs: 1800,
        mqtt_url: Some("mqtt://127.0.0.1:1883".into()),
        licences: None,
    };
    let direct = CheckinAnswer {
        keyring: Some(keyring_env.clone()),
        answer: sign_answer(&payload(DEVICE, NONCE), &checkin()).expect("answer"),
        batch: None,
    };
    write("checkin_answer", "direct", &json(&direct));
    let leaves: Vec<_> = [
        (DEVICE, NONCE),
        ("box-b", "nonce-b-00000001"),
        ("box-c", "nonce-c-00000001"),
    ]
    .iter()
    .map(|(d, n)| answer_leaf(&payload(d, n)).expect("leaf"))
    .collect();
    let proofs = sign_batch(
        &checkin(),
        &leaves.iter().map(|(_, l)| l.clone()).collect::<Vec<_>>(),
    );
    let batched = CheckinAnswer {
        keyring: None,
        answer: leaves[0].0.clone(),
        batch: Some(proofs[0].clone()),
    };
    write("checkin_answer", "batch", &json(&batched));
    // The seeds pass every check, so mutations start deep in the verifier.
    for answer in [&direct, &batched] {
        wavecast_protocol::checkin::verify_checkin(&keyring(), answer, DEVICE, NONCE, NOW, 300)
            .expect("the check-in seeds verify");
    }
    wavecast_protocol::keyring::verify_manifest(&keyring(), &manifest_env)
        .expect("the manifest seed verifies");

    let batch = EventBatch {
        events: vec![
            Event {
                id: "e-1".into(),
                body: EventBody::Health(HealthReport {
                    at: NOW,
                    uptime_secs: Some(3600),
                    cpu_percent: Some(12.5),
                    temperature_c: Some(61.0),
                    metrics: [("decoder_errors".to_owned(), 2.0)].into(),
                    ..HealthReport::default()
                }),
            },
            Event {
                id: "e-2".into(),
                body: EventBody::Fault(FaultReport {
                    at: NOW,
                    code: "HW-HDMI-001".into(),
                    signature: None,
                    details: Some("no hot-plug".into()),
                    installed: vec![],
                }),
            },
        ],
        dropped_total: 3,
    };
    batch.validate().expect("the event seed is valid");
    write("event_batch", "health_and_fault", &json(&batch));

    let box_key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let claim = EnrolClaim {
        serial: "SN-0001".into(),
        model: "X1".into(),
        hardware_revision: "A".into(),
        public_key: public_key_text(&box_key.verifying_key()),
        timestamp: NOW,
        agent_version: Some("1.0.0".into()),
    }
    .sign(&box_key)
    .expect("claim");
    EnrolClaim::open(&claim, NOW, 300).expect("the claim seed opens");
    write("enrol_claim", "valid", &json(&claim));

    let device_topic = wavecast_protocol::mqtt::topic(
        "0190c2a4-7e55-7f6e-9a31-2b3c4d5e6f70",
        wavecast_protocol::mqtt::Channel::Telemetry,
    );
    write("mqtt_topic", "events", device_topic.as_bytes());
    write(
        "mqtt_topic",
        "wildcard",
        device_topic
            .replace("0190c2a4-7e55-7f6e-9a31-2b3c4d5e6f70", "+")
            .as_bytes(),
    );

    let config = wavecast_agent::config::EXAMPLE.replace(
        "REPLACE-WITH-THE-ROOT-PUBLIC-KEY",
        &public_key_text(&root().verifying_key()),
    );
    wavecast_agent::config::Config::parse(&config).expect("the config seed parses");
    write("agent_config", "example", config.as_bytes());
}

/// Serialising the seeds' several types through one helper.
mod erased {
    pub trait Json {
        fn to_json(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> Vec<u8> {
            serde_json::to_vec_pretty(self).expect("json")
        }
    }
}
