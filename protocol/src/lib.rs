//! Wire types shared by the Wavecast server and the agent on the box.
//!
//! This crate does no I/O and depends on nothing server-side, so the agent can
//! link it on small ARM boxes. Every change here must stay backward
//! compatible: boxes in the field run old agents for years, so fields are only
//! ever added (with `#[serde(default)]`), never renamed or removed.

pub mod problem;
pub mod version;

pub use problem::Problem;
pub use version::{ServerVersion, PROTOCOL_VERSION};
