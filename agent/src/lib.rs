//! The Wavecast agent: the small service on each set-top box that enrols,
//! checks in, downloads, verifies and installs update bundles and reports
//! status, health and faults.
//!
//! - [`client`]: the device protocol over HTTPS (enrol, check in, report,
//!   download with Range);
//! - [`trust`]: what the box believes: the pinned root key, the newest
//!   keyring seen, and the verification of every check-in answer and offer.
//!
//! Architecture invariant: this crate depends on `wavecast-protocol` alone
//! among Wavecast crates and on nothing server-side (actix, sea-orm, sqlx), so
//! it stays small enough for ARM boxes. `.ci/run` checks it with `cargo tree`.

pub mod client;
pub mod trust;

/// The agent's version, reported to the server at check-in.
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The protocol version this agent speaks.
pub const PROTOCOL_VERSION: u32 = wavecast_protocol::PROTOCOL_VERSION;
