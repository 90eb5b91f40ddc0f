//! The Wavecast agent: the small service on each set-top box that enrols,
//! checks in, downloads, verifies and installs update bundles and reports
//! status, health and faults.
//!
//! - [`client`]: the device protocol over HTTPS (enrol, check in, report,
//!   download with Range, events);
//! - [`tls`]: which CA certificates the box trusts for the server;
//! - [`trust`]: what the box believes: the pinned root key, the newest
//!   keyring seen, and the verification of every check-in answer and offer;
//! - [`config`]: the TOML configuration;
//! - [`service`]: `run`, the loop that checks in, updates, samples and delivers;
//! - [`journal`]: the on-disk state that makes every step resumable, and the
//!   rule for which offers the box may take;
//! - [`licences`]: the licence tokens the box keeps and the offline check
//!   its codec and DRM components ask;
//! - [`download`]: resumable, verified downloads into the staging area;
//! - [`install`]: A/B firmware slots and directory bundles;
//! - [`outbox`]: the bounded on-disk queue of reports, health and faults;
//! - [`health`] and [`faults`]: what the box measures and what it finds;
//! - [`nudge`]: MQTT nudges;
//! - [`sim`]: many virtual boxes in one process, for load tests and labs;
//! - [`store`]: crash-safe file replacement.
//!
//! Architecture invariant: this crate depends on `wavecast-protocol` alone
//! among Wavecast crates and on nothing server-side (actix, sea-orm, sqlx), so
//! it stays small enough for ARM boxes. `.ci/run` checks it with `cargo tree`.

pub mod client;
pub mod config;
pub mod download;
pub mod faults;
pub mod health;
pub mod install;
pub mod journal;
pub mod licences;
pub mod log;
pub mod nudge;
pub mod outbox;
pub mod service;
pub mod sim;
pub mod store;
#[cfg(test)]
mod testutil;
pub mod tls;
pub mod trust;

use std::sync::OnceLock;

/// The agent's version, reported to the server at check-in.
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The protocol version this agent speaks.
pub const PROTOCOL_VERSION: u32 = wavecast_protocol::PROTOCOL_VERSION;

/// Unix seconds now (moved by [`CLOCK_OFFSET_ENV`] when set).
pub fn now() -> i64 {
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    clock.saturating_add(clock_offset())
}

/// The environment variable that moves the agent's clock by a number of
/// seconds (negative: back), as a box whose clock was set wrong: for the
/// licence tests (a clock set back must not revive an expired licence);
/// unset on real boxes.
pub const CLOCK_OFFSET_ENV: &str = "WAVECAST_AGENT_CLOCK_OFFSET_SECS";

fn clock_offset() -> i64 {
    static OFFSET: OnceLock<i64> = OnceLock::new();
    *OFFSET.get_or_init(|| {
        std::env::var(CLOCK_OFFSET_ENV)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    })
}

/// The environment variable that makes the agent stop dead (as a kill -9
/// or a power cut would) right after it reaches a named point: a journal
/// step's name, `slot-written`, or `download-midway`. For the recovery
/// tests; unset on real boxes.
pub const ABORT_ENV: &str = "WAVECAST_AGENT_ABORT_AT";

fn abort_at() -> Option<&'static str> {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    AT.get_or_init(|| std::env::var(ABORT_ENV).ok()).as_deref()
}

/// Stops the process dead here if the tests asked for it.
pub fn crash_point(name: &str) {
    if abort_at() == Some(name) {
        log::warn(&format!("stopping dead at {name} ({ABORT_ENV})"));
        std::process::abort();
    }
}

/// The `download-midway` crash point: half of a download on disk.
pub fn crash_point_after_bytes(done: u64, end: u64) {
    if done >= end / 2 && abort_at() == Some("download-midway") {
        crash_point("download-midway");
    }
}

/// `wavecast-agent fault report`: queues a fault for the service to deliver
/// (written straight into the queue, so it is kept even while the service
/// is stopped). Returns the event's id.
pub fn events_fault(
    cfg: &config::Config,
    code: &str,
    details: Option<String>,
    signature: Option<String>,
) -> Result<String, String> {
    use wavecast_protocol::events::{Event, EventBody, FaultReport};
    let state = journal::State::load(&cfg.state_dir).map_err(|e| format!("journal: {e}"))?;
    let body = EventBody::Fault(FaultReport {
        at: now(),
        code: code.to_owned(),
        signature,
        details,
        installed: state.installed(&cfg.installed),
    });
    // The same limits the server applies: refused here, not lost later.
    Event {
        id: "check".into(),
        body: body.clone(),
    }
    .validate()?;
    let outbox = outbox::Outbox::open(&cfg.state_dir.join("queue"), cfg.faults.queue_max_events)
        .map_err(|e| format!("queue: {e}"))?;
    outbox.push_event(body).map_err(|e| format!("queue: {e}"))
}
