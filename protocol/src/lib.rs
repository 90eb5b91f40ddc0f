//! Wire types shared by the Wavecast server and the agent on the box: the
//! bundle manifest and file format, the key hierarchy, signed envelopes and
//! the verification functions both sides run.
//!
//! This crate does no I/O and depends on nothing server-side, so the agent can
//! link it on small ARM boxes. Every change here must stay backward
//! compatible: boxes in the field run old agents for years, so fields are only
//! ever added (with `#[serde(default)]`), never renamed or removed.
//!
//! The formats are specified for third parties in `docs/bundle-format.md`.

pub mod batch;
pub mod bundle;
pub mod checkin;
pub mod device;
pub mod digest;
pub mod envelope;
pub mod events;
pub mod keyring;
pub mod keys;
pub mod kind;
pub mod licence;
pub mod manifest;
pub mod mqtt;
pub mod problem;
pub mod status;
pub mod trust;
pub mod version;

pub use digest::Sha256Digest;
pub use problem::Problem;
pub use trust::TrustError;
pub use version::{ServerVersion, PROTOCOL_VERSION};
