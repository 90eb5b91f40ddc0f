//! The bounded on-disk queue of what the box has to tell the server: install
//! status reports, health reports and faults. Everything is queued first and
//! delivered later, oldest first, so nothing is lost while the box is
//! offline, across restarts or power cuts.
//!
//! One message is one file, named so that names sort in queueing order and
//! never collide between processes (`wavecast-agent fault report` queues
//! into the same directory while the service runs):
//! `{unix nanos:020}-{pid}-{counter}.{status|event}.json`. A file appears
//! whole (written and renamed) and is deleted once the server has it.
//!
//! The bound applies to events: beyond `max_events`, the oldest health
//! reports are dropped first, then the oldest faults. Drops are added to a
//! lifetime counter the server receives with every batch. Status reports
//! are never dropped (a box has few, and rollouts count on them).

use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use wavecast_protocol::{
    events::{Event, EventBody},
    status::StatusReport,
};

use crate::store;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A queued message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Status(StatusReport),
    Event(Event),
}

/// A message and the file that holds it.
#[derive(Debug, Clone)]
pub struct Queued {
    pub path: PathBuf,
    pub message: Message,
}

/// The queue in `dir`.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
    max_events: usize,
}

const STATUS: &str = ".status.json";
const EVENT: &str = ".event.json";
const DROPPED: &str = "dropped_total";

fn unique_stem() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{nanos:020}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl Outbox {
    /// Opens (creating) the queue in `dir`.
    pub fn open(dir: &Path, max_events: usize) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            max_events: max_events.max(1),
        })
    }

    /// Queues an install status report.
    pub fn push_status(&self, report: &StatusReport) -> io::Result<()> {
        let path = self.dir.join(format!("{}{STATUS}", unique_stem()));
        store::write_json(&path, report)
    }

    /// Queues an event; its id is its file's name, unique on this box.
    pub fn push_event(&self, body: EventBody) -> io::Result<String> {
        let id = unique_stem();
        let event = Event {
            id: id.clone(),
            body,
        };
        store::write_json(&self.dir.join(format!("{id}{EVENT}")), &event)?;
        Ok(id)
    }

    fn names(&self) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.') && (n.ends_with(STATUS) || n.ends_with(EVENT)))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Everything queued, oldest first. A file that cannot be read or parsed
    /// (written by something else, or damaged) is set aside as `*.bad` so
    /// it never blocks the queue.
    pub fn pending(&self) -> io::Result<Vec<Queued>> {
        let mut out = Vec::new();
        for name in self.names()? {
            let path = self.dir.join(&name);
            let bytes = match fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let message = if name.ends_with(STATUS) {
                serde_json::from_slice(&bytes).map(Message::Status)
            } else {
                serde_json::from_slice(&bytes).map(Message::Event)
            };
            match message {
                Ok(message) => out.push(Queued { path, message }),
                Err(e) => {
                    crate::log::warn(&format!("queue: {name} is unreadable ({e}); set aside"));
                    fs::rename(&path, self.dir.join(format!("{name}.bad")))?;
                }
            }
        }
        Ok(out)
    }

    /// Removes delivered messages.
    pub fn remove(&self, delivered: &[Queued]) -> io::Result<()> {
        for q in delivered {
            match fs::remove_file(&q.path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        store::sync_dir(&self.dir)
    }

    /// The events dropped over the box's lifetime.
    pub fn dropped_total(&self) -> u64 {
        fs::read_to_string(self.dir.join(DROPPED))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Keeps the queue within its bound: drops the oldest health reports,
    /// then the oldest faults, and counts them. Returns how many it dropped.
    pub fn trim(&self) -> io::Result<u64> {
        let pending = self.pending()?;
        let events: Vec<&Queued> = pending
            .iter()
            .filter(|q| matches!(q.message, Message::Event(_)))
            .collect();
        if events.len() <= self.max_events {
            return Ok(0);
        }
        let excess = events.len() - self.max_events;
        let is_health = |q: &&&Queued| {
            matches!(
                &q.message,
                Message::Event(Event {
                    body: EventBody::Health(_),
                    ..
                })
            )
        };
        let victims: Vec<Queued> = events
            .iter()
            .filter(is_health)
            .chain(events.iter().filter(|q| !is_health(q)))
            .take(excess)
            .map(|q| (*q).clone())
            .collect();
        let dropped = victims.len() as u64;
        // Count first: a crash between the two overcounts, never undercounts.
        store::write_atomic(
            &self.dir.join(DROPPED),
            (self.dropped_total() + dropped).to_string().as_bytes(),
        )?;
        self.remove(&victims)?;
        Ok(dropped)
    }

    /// How many messages wait.
    pub fn len(&self) -> io::Result<usize> {
        Ok(self.names()?.len())
    }

    pub fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
}

#[cfg(test)]
mod tests {
    use wavecast_protocol::{
        events::{FaultReport, HealthReport},
        status::InstallState,
    };

    use super::*;

    fn health(at: i64) -> EventBody {
        EventBody::Health(HealthReport {
            at,
            ..Default::default()
        })
    }

    fn fault(at: i64) -> EventBody {
        EventBody::Fault(FaultReport {
            at,
            code: "HW-HDMI-001".into(),
            signature: None,
            details: None,
            installed: vec![],
        })
    }

    fn at(q: &Queued) -> i64 {
        match &q.message {
            Message::Event(Event {
                body: EventBody::Health(h),
                ..
            }) => h.at,
            Message::Event(Event {
                body: EventBody::Fault(f),
                ..
            }) => f.at,
            Message::Status(_) => -1,
        }
    }

    #[test]
    fn delivers_oldest_first_and_survives_reopening() {
        let dir = tempfile::tempdir().expect("dir");
        let q = Outbox::open(dir.path(), 100).expect("open");
        q.push_event(health(1)).expect("push");
        q.push_status(&StatusReport {
            rollout_id: "r".into(),
            bundle_id: "b".into(),
            state: InstallState::Downloading,
            progress: None,
            code: None,
            message: None,
        })
        .expect("push");
        q.push_event(fault(2)).expect("push");
        let q = Outbox::open(dir.path(), 100).expect("reopen");
        let p = q.pending().expect("pending");
        assert_eq!(p.iter().map(at).collect::<Vec<_>>(), vec![1, -1, 2]);
        q.remove(&p[..2]).expect("remove");
        assert_eq!(
            q.pending()
                .expect("pending")
                .iter()
                .map(at)
                .collect::<Vec<_>>(),
            vec![2]
        );
    }

    #[test]
    fn the_bound_drops_health_before_faults_and_counts() {
        let dir = tempfile::tempdir().expect("dir");
        let q = Outbox::open(dir.path(), 3).expect("open");
        q.push_event(fault(1)).expect("push");
        q.push_event(health(2)).expect("push");
        q.push_event(fault(3)).expect("push");
        q.push_event(health(4)).expect("push");
        q.push_event(fault(5)).expect("push");
        assert_eq!(q.trim().expect("trim"), 2);
        assert_eq!(q.dropped_total(), 2);
        let left: Vec<i64> = q.pending().expect("pending").iter().map(at).collect();
        assert_eq!(left, vec![1, 3, 5], "both health reports went first");
        q.push_event(fault(6)).expect("push");
        assert_eq!(q.trim().expect("trim"), 1);
        assert_eq!(q.dropped_total(), 3, "a lifetime counter");
        let left: Vec<i64> = q.pending().expect("pending").iter().map(at).collect();
        assert_eq!(left, vec![3, 5, 6], "then the oldest fault");
    }

    #[test]
    fn a_damaged_file_is_set_aside() {
        let dir = tempfile::tempdir().expect("dir");
        let q = Outbox::open(dir.path(), 10).expect("open");
        fs::write(dir.path().join("00000000000000000001-1-0.event.json"), b"{").expect("w");
        q.push_event(health(7)).expect("push");
        let p = q.pending().expect("pending");
        assert_eq!(p.len(), 1);
        assert!(dir
            .path()
            .join("00000000000000000001-1-0.event.json.bad")
            .exists());
    }
}
