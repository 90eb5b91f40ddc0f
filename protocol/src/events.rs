//! Health telemetry and faults on the wire.
//!
//! A box sends them in an [`EventBatch`] (`POST /api/v1/device/events`, or
//! one [`Event`] per message on its MQTT `telemetry` / `faults` topics).
//! Delivery is at least once: a box that lost the answer sends the batch
//! again, and the server drops events whose `id` it already holds for that
//! box. While offline, a box keeps events in a bounded queue; what it had to
//! drop is counted in `dropped_total`, a counter over the box's lifetime, so
//! a batch sent twice never counts drops twice.
//!
//! [`EventBatch::validate`] is the one set of limits both sides apply.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checkin::Component;

/// Most events in one batch.
pub const MAX_BATCH_EVENTS: usize = 500;
/// Most named metrics in one health report.
pub const MAX_METRICS: usize = 64;
/// Longest fault details, in bytes.
pub const MAX_DETAILS: usize = 4096;

/// Fault codes the agent itself raises (the rest come from the box's
/// software through `wavecast-agent fault report`). They are entries of the
/// fault catalog.
pub mod codes {
    /// The kernel panicked (found in pstore after the reboot).
    pub const KERNEL_PANIC: &str = "SW-KPANIC-103";
    /// The hardware watchdog reset the box.
    pub const WATCHDOG_RESET: &str = "SW-WDOG-104";
    /// The update agent itself panicked.
    pub const AGENT_PANIC: &str = "SW-AGENT-106";
    /// A crash dump appeared in the watched directory.
    pub const CRASH_DUMP: &str = "SW-CRASH-107";
    /// The box restarted without shutting down (power lost, hard reset).
    pub const UNCLEAN_REBOOT: &str = "HW-PWR-006";
}

/// One storage device or file system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StorageUse {
    /// Mount point, e.g. `/data`.
    pub mount: String,
    pub total_bytes: u64,
    pub used_bytes: u64,
    /// Wear of the flash behind it in percent of its rated life, where the
    /// device tells (eMMC `life_time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wear_percent: Option<u8>,
}

/// A box's health at one moment. Every reading is optional: a box reports
/// what it can read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthReport {
    /// Unix seconds.
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_secs: Option<u64>,
    /// CPU busy since the previous report, in percent of all cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f32>,
    /// One-minute load average.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load1: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_total_kib: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_available_kib: Option<u64>,
    /// The hottest thermal zone, in °C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage: Vec<StorageUse>,
    /// Bytes received and sent on all interfaces but loopback since boot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_rx_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_tx_bytes: Option<u64>,
    /// Named extras from the box's collectors, e.g. `decoder_errors`,
    /// `hdcp_failures`, `tuner_locked`, `buffer_underruns`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
}

/// A fault on the box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultReport {
    /// Unix seconds.
    pub at: i64,
    /// A fault catalog code, e.g. `HW-HDMI-001`.
    pub code: String,
    /// What groups equal faults across boxes (e.g. a crash's top frames);
    /// the code alone when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// What was installed when it happened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub installed: Vec<Component>,
}

/// What an event carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    Health(HealthReport),
    Fault(FaultReport),
}

/// One event with the id the box gave it (unique per box; redeliveries
/// carry the same id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: String,
    #[serde(flatten)]
    pub body: EventBody,
}

/// `POST /api/v1/device/events`
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventBatch {
    pub events: Vec<Event>,
    /// Events this box has dropped over its lifetime because its queue was
    /// full while offline.
    #[serde(default)]
    pub dropped_total: u64,
}

/// The server's answer to a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventsAccepted {
    /// Events stored now.
    pub accepted: u32,
    /// Events already held (sent before).
    pub duplicates: u32,
}

fn check_token(what: &str, s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() || s.len() > max {
        return Err(format!("{what} must be 1 to {max} characters"));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    {
        return Err(format!(
            "{what} {s:?} may hold only letters, digits and - _ . :"
        ));
    }
    Ok(())
}

/// The rule for a fault code (1 to 64 letters, digits and `- _ . :`), for
/// whoever else names codes (the server's fault catalog).
pub fn check_fault_code(code: &str) -> Result<(), String> {
    check_token("fault code", code, 64)
}

impl Event {
    /// When it happened on the box, in Unix seconds.
    pub fn at(&self) -> i64 {
        match &self.body {
            EventBody::Health(h) => h.at,
            EventBody::Fault(f) => f.at,
        }
    }

    /// The limits one event must keep.
    pub fn validate(&self) -> Result<(), String> {
        check_token("event id", &self.id, 64)?;
        match &self.body {
            EventBody::Health(h) => {
                if h.metrics.len() > MAX_METRICS {
                    return Err(format!(
                        "event {}: more than {MAX_METRICS} metrics",
                        self.id
                    ));
                }
                for (name, value) in &h.metrics {
                    check_token("metric name", name, 64)?;
                    if !value.is_finite() {
                        return Err(format!("metric {name} is not a finite number"));
                    }
                }
                for f in [h.cpu_percent, h.load1, h.temperature_c]
                    .into_iter()
                    .flatten()
                {
                    if !f.is_finite() {
                        return Err(format!("event {}: a reading is not finite", self.id));
                    }
                }
                if h.storage.len() > 16 {
                    return Err(format!("event {}: more than 16 storage entries", self.id));
                }
                if h.storage
                    .iter()
                    .any(|s| s.mount.is_empty() || s.mount.len() > 256)
                {
                    return Err(format!(
                        "event {}: a mount point is empty or too long",
                        self.id
                    ));
                }
            }
            EventBody::Fault(f) => {
                check_token("fault code", &f.code, 64)?;
                if let Some(s) = &f.signature {
                    if s.is_empty() || s.len() > 256 {
                        return Err(format!(
                            "event {}: signature must be 1 to 256 bytes",
                            self.id
                        ));
                    }
                }
                if f.details.as_ref().is_some_and(|d| d.len() > MAX_DETAILS) {
                    return Err(format!(
                        "event {}: details longer than {MAX_DETAILS} bytes",
                        self.id
                    ));
                }
                if f.installed.len() > 64 {
                    return Err(format!(
                        "event {}: more than 64 installed components",
                        self.id
                    ));
                }
            }
        }
        Ok(())
    }
}

impl EventBatch {
    /// The limits a batch must keep: at most [`MAX_BATCH_EVENTS`] events,
    /// each valid, no id twice.
    pub fn validate(&self) -> Result<(), String> {
        if self.events.len() > MAX_BATCH_EVENTS {
            return Err(format!(
                "a batch holds at most {MAX_BATCH_EVENTS} events, this one {}",
                self.events.len()
            ));
        }
        let mut ids = std::collections::HashSet::new();
        for e in &self.events {
            e.validate()?;
            if !ids.insert(e.id.as_str()) {
                return Err(format!("event id {} appears twice", e.id));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(id: &str) -> Event {
        Event {
            id: id.into(),
            body: EventBody::Health(HealthReport {
                at: 1_700_000_000,
                cpu_percent: Some(12.5),
                metrics: [("decoder_errors".to_owned(), 3.0)].into(),
                ..Default::default()
            }),
        }
    }

    fn fault(id: &str, code: &str) -> Event {
        Event {
            id: id.into(),
            body: EventBody::Fault(FaultReport {
                at: 1_700_000_000,
                code: code.into(),
                signature: None,
                details: Some("HDMI hot-plug lost".into()),
                installed: vec![],
            }),
        }
    }

    #[test]
    fn the_wire_shape_is_tagged_and_round_trips() {
        let b = EventBatch {
            events: vec![health("1"), fault("2", "HW-HDMI-001")],
            dropped_total: 4,
        };
        let v = serde_json::to_value(&b).expect("json");
        assert_eq!(v["events"][0]["type"], "health");
        assert_eq!(v["events"][0]["metrics"]["decoder_errors"], 3.0);
        assert_eq!(v["events"][1]["type"], "fault");
        assert_eq!(v["events"][1]["code"], "HW-HDMI-001");
        let back: EventBatch = serde_json::from_value(v).expect("parse");
        assert_eq!(back, b);
        b.validate().expect("valid");
        // A batch without `dropped_total` (it is optional) parses.
        let old: EventBatch = serde_json::from_str(r#"{"events":[]}"#).expect("parse");
        assert_eq!(old.dropped_total, 0);
    }

    #[test]
    fn limits_are_enforced() {
        let twice = EventBatch {
            events: vec![health("a"), health("a")],
            dropped_total: 0,
        };
        assert!(twice.validate().expect_err("refused").contains("twice"));
        let too_many = EventBatch {
            events: (0..=MAX_BATCH_EVENTS)
                .map(|i| health(&i.to_string()))
                .collect(),
            dropped_total: 0,
        };
        assert!(too_many
            .validate()
            .expect_err("refused")
            .contains("at most"));
        assert!(fault("x", "bad code").validate().is_err());
        assert!(fault("", "HW-1").validate().is_err());
        let mut nan = health("n");
        if let EventBody::Health(h) = &mut nan.body {
            h.metrics.insert("x".into(), f64::NAN);
        }
        assert!(nan.validate().expect_err("refused").contains("finite"));
        let mut long = fault("l", "HW-1");
        if let EventBody::Fault(f) = &mut long.body {
            f.details = Some("x".repeat(MAX_DETAILS + 1));
        }
        assert!(long.validate().expect_err("refused").contains("details"));
    }
}
