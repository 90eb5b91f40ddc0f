//! Test fixtures for the trust chain: a root key, signing keys, keyrings and
//! bundle files built in memory with the protocol crate, so tests can craft
//! exactly the broken bundle they need.

use ed25519_dalek::SigningKey;
use serde_json::json;
use wavecast_protocol::{
    bundle::{encode_header, Header},
    envelope::Envelope,
    keyring::{sign_manifest, KeyRole, Keyring},
    keys::public_key_text,
    manifest::{Artifact, Compatibility, Compression, Kind, Manifest, MANIFEST_FORMAT},
    Sha256Digest,
};

use crate::TestApp;

/// A root key, a release key allowed to sign every bundle kind
/// (`signer`), and the server's online check-in key (`checkin`), which
/// may sign check-in answers only: the split `wavecast keys init` makes.
#[derive(Debug)]
pub struct Keys {
    pub root: SigningKey,
    pub signer: SigningKey,
    pub checkin: SigningKey,
    pub keyring: Keyring,
    pub keyring_env: Envelope,
}

/// Makes a test server hold the fixture's check-in key as its online key,
/// and the release key for bundles uploaded unsigned (`?sign=server`), and
/// run its rollout scheduler every 100 ms.
pub fn server_signs(c: &mut wavecast_server::platform::config::Config) {
    c.rollouts.tick_millis = 100;
    // The key lives in this server's own temp dir (the blobs' parent): tests
    // in one process run concurrently, and a shared path could be read while
    // another test rewrites it.
    let path = c
        .blobs
        .dir
        .parent()
        .expect("the test app's blobs dir has a parent")
        .join("online.key");
    let keys = Keys::new();
    let online = wavecast_protocol::keys::PrivateKeyFile::new(&keys.checkin, "checkin");
    std::fs::write(&path, serde_json::to_string(&online).expect("json")).expect("write key");
    c.signing.key_file = Some(path.clone());
    let release_path = path.with_file_name("release.key");
    let release = wavecast_protocol::keys::PrivateKeyFile::new(&keys.signer, "release");
    std::fs::write(
        &release_path,
        serde_json::to_string(&release).expect("json"),
    )
    .expect("write key");
    c.signing.bundle_key_file = Some(release_path);
}

/// A key from a fixed seed (tests are deterministic).
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn in_a_year() -> i64 {
    chrono::Utc::now().timestamp() + 365 * 86_400
}

impl Keys {
    pub fn new() -> Self {
        let root = key(1);
        let signer = key(2);
        let checkin = key(200);
        let mut keyring = Keyring::new(1, in_a_year());
        keyring.add(&signer.verifying_key(), KeyRole::BUNDLES, "release-1");
        keyring.add(
            &checkin.verifying_key(),
            [KeyRole::Checkin, KeyRole::Licence],
            "checkin-1",
        );
        let keyring_env = keyring.sign(&root).expect("sign keyring");
        Self {
            root,
            signer,
            checkin,
            keyring,
            keyring_env,
        }
    }

    /// Publishes this keyring to the server as the admin.
    pub async fn publish(&self, app: &TestApp) {
        self.publish_envelope(app, &self.keyring_env).await;
    }

    pub async fn publish_envelope(&self, app: &TestApp, env: &Envelope) {
        let a = app
            .request(
                reqwest::Method::PUT,
                "/api/v1/keyring",
                Some(&app.admin_token),
                Some(&json!({
                    "root_public_key": public_key_text(&self.root.verifying_key()),
                    "keyring": env,
                })),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
}

impl Default for Keys {
    fn default() -> Self {
        Self::new()
    }
}

/// A firmware manifest for one artifact holding `data`.
pub fn manifest(name: &str, version: &str, data: &[u8]) -> Manifest {
    Manifest {
        format: MANIFEST_FORMAT,
        kind: Kind::Firmware,
        name: name.into(),
        version: version.parse().expect("version"),
        security_version: 1,
        compatible: vec![Compatibility {
            model: "X1".into(),
            revisions: vec![],
        }],
        requires: vec![],
        artifacts: vec![Artifact {
            name: "rootfs.img".into(),
            size: data.len() as u64,
            sha256: Sha256Digest::of(data),
            target: "rootfs".into(),
            compression: Compression::None,
        }],
        licensed_product: None,
        created_at: 1_800_000_000,
        description: None,
    }
}

/// A bundle file: header (keyring + signed manifest) followed by `payload`.
pub fn bundle_file(keyring: &Envelope, manifest_env: &Envelope, payload: &[u8]) -> Vec<u8> {
    let mut file = encode_header(&Header {
        keyring: keyring.clone(),
        manifest: manifest_env.clone(),
    })
    .expect("header");
    file.extend_from_slice(payload);
    file
}

/// A well-formed bundle signed by `keys.signer`.
pub fn good_bundle(keys: &Keys, name: &str, version: &str, data: &[u8]) -> Vec<u8> {
    let env = sign_manifest(&manifest(name, version, data), &keys.signer).expect("sign");
    bundle_file(&keys.keyring_env, &env, data)
}

/// Deterministic pseudo-random payload bytes.
pub fn payload(len: usize, seed: u8) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}
