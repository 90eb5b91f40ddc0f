//! Why something is not trusted: one typed reason per refusal, shared by the
//! server (on upload) and the agent (before install).

use crate::kind::Kind;

/// A refusal to trust a keyring, manifest, bundle or artifact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("wrong payload type: expected {expected}, found {found}")]
    WrongPayloadType {
        expected: &'static str,
        found: String,
    },
    #[error("signature by key {keyid} does not match the signed bytes (edited after signing?)")]
    BadSignature { keyid: String },
    #[error("the keyring is not signed by the pinned root key")]
    NotSignedByRoot,
    #[error("keyring version {version} expired at {expires_at} (now {now})")]
    KeyringExpired {
        version: u64,
        expires_at: i64,
        now: i64,
    },
    #[error("keyring version {got} is older than version {have} already trusted")]
    KeyringRollback { have: u64, got: u64 },
    #[error("keyring version {version} differs from the trusted keyring of the same version")]
    KeyringEquivocation { version: u64 },
    #[error("the manifest carries no signature by any key in keyring version {keyring_version}: signed by unknown key(s) {keyids}")]
    UnknownKey {
        keyids: String,
        keyring_version: u64,
    },
    #[error(
        "the manifest is signed by key {keyid}, which keyring version {keyring_version} revokes"
    )]
    RevokedKey { keyid: String, keyring_version: u64 },
    #[error("key {keyid} may not sign {kind} bundles (it may sign: {allowed})")]
    KindNotAllowed {
        keyid: String,
        kind: Kind,
        allowed: String,
    },
    #[error("the manifest carries no signatures")]
    Unsigned,
    #[error("unsupported manifest format {0}")]
    UnsupportedFormat(u32),
    #[error("artifact {artifact}: SHA-256 is {actual}, the manifest says {expected}")]
    HashMismatch {
        artifact: String,
        expected: String,
        actual: String,
    },
    #[error("artifact {artifact} ends after {received} of its declared {declared} bytes")]
    Truncated {
        artifact: String,
        declared: u64,
        received: u64,
    },
    #[error("{extra} bytes follow the last artifact: a declared size is smaller than its payload")]
    TrailingData { extra: u64 },
    #[error("not a Wavecast bundle: {0}")]
    NotABundle(String),
}
