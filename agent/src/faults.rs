//! Faults the agent finds by itself: unclean reboots and watchdog resets
//! (from the boot id and the watchdog's `bootstatus`), kernel panics (pstore
//! records, removed once queued), crash dumps appearing in a directory, and
//! its own panics. Faults the box's software finds arrive through
//! `wavecast-agent fault report`.

use std::{collections::BTreeSet, fs, path::Path};

use serde::{Deserialize, Serialize};
use wavecast_protocol::{
    checkin::Component,
    events::{codes, EventBody, FaultReport},
};

use crate::{config::FaultsConfig, outbox::Outbox};

/// What the agent remembers of the boot it last ran in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootRecord {
    pub boot_id: String,
    /// The agent was stopped on purpose (a shutdown stops services first).
    pub clean_stop: bool,
}

/// The fault a new boot means, if any: a box that restarted while the agent
/// was running (no clean stop) lost power or was reset; a non-zero watchdog
/// boot status says the watchdog did it.
pub fn reboot_fault(
    last: Option<&BootRecord>,
    boot_id: &str,
    watchdog_status: Option<u32>,
) -> Option<&'static str> {
    let last = last?;
    if last.boot_id == boot_id {
        return None;
    }
    if watchdog_status.is_some_and(|s| s != 0) {
        return Some(codes::WATCHDOG_RESET);
    }
    (!last.clean_stop).then_some(codes::UNCLEAN_REBOOT)
}

/// A crash dump's signature: its name without digits (pids, times), so the
/// same program's crashes group together.
pub fn dump_signature(name: &str) -> String {
    let s: String = name.chars().filter(|c| !c.is_ascii_digit()).collect();
    let s = s.trim_matches(|c: char| c == '.' || c == '-' || c == '_');
    format!("crash:{}", if s.is_empty() { "unnamed" } else { s })
}

fn fault(
    at: i64,
    code: &str,
    signature: Option<String>,
    details: String,
    installed: &[Component],
) -> EventBody {
    EventBody::Fault(FaultReport {
        at,
        code: code.to_owned(),
        signature,
        details: Some(crate::install::truncate(&details, 4000).to_owned()),
        installed: installed.to_vec(),
    })
}

/// Queues what the boot left behind: a reboot fault and kernel panics.
pub fn scan_boot(
    cfg: &FaultsConfig,
    last: Option<&BootRecord>,
    boot_id: &str,
    now: i64,
    installed: &[Component],
    outbox: &Outbox,
) -> std::io::Result<()> {
    let watchdog = fs::read_to_string(cfg.watchdog_dir.join("bootstatus"))
        .ok()
        .and_then(|s| s.trim().parse().ok());
    if let Some(code) = reboot_fault(last, boot_id, watchdog) {
        outbox.push_event(fault(
            now,
            code,
            None,
            format!(
                "the box restarted without a clean shutdown (watchdog bootstatus {watchdog:?})"
            ),
            installed,
        ))?;
    }
    if let Ok(entries) = fs::read_dir(&cfg.pstore_dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with("dmesg") {
                continue;
            }
            let text = fs::read_to_string(e.path()).unwrap_or_default();
            // The last lines hold the panic message and the call trace.
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            let details: String = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
            let signature = text
                .lines()
                .find_map(|l| {
                    l.split_once("Kernel panic - not syncing:")
                        .map(|(_, r)| r.trim())
                })
                .map(|r| format!("kpanic:{}", crate::install::truncate(r, 200)));
            outbox.push_event(fault(
                now,
                codes::KERNEL_PANIC,
                signature,
                details,
                installed,
            ))?;
            // pstore frees the record when its file is removed.
            let _ = fs::remove_file(e.path());
        }
    }
    Ok(())
}

/// Queues crash dumps not seen before; returns the names now seen.
pub fn scan_crash_dir(
    dir: &Path,
    seen: &BTreeSet<String>,
    now: i64,
    installed: &[Component],
    outbox: &Outbox,
) -> std::io::Result<BTreeSet<String>> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(seen.clone());
    };
    let mut now_seen = BTreeSet::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if !seen.contains(&name) {
            let size = e.metadata().map_or(0, |m| m.len());
            outbox.push_event(fault(
                now,
                codes::CRASH_DUMP,
                Some(dump_signature(&name)),
                format!("crash dump {name} ({size} bytes) in {}", dir.display()),
                installed,
            ))?;
        }
        now_seen.insert(name);
    }
    Ok(now_seen)
}

/// Makes a panic of the agent a queued fault before the process ends.
pub fn install_panic_hook(outbox: Outbox) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = outbox.push_event(fault(
            crate::now(),
            codes::AGENT_PANIC,
            Some(format!(
                "agent-panic:{}",
                info.location().map_or_else(
                    || "unknown".into(),
                    |l| format!("{}:{}", l.file(), l.line())
                )
            )),
            info.to_string(),
            &[],
        ));
        previous(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, clean: bool) -> BootRecord {
        BootRecord {
            boot_id: id.into(),
            clean_stop: clean,
        }
    }

    #[test]
    fn reboots_are_told_apart() {
        assert_eq!(reboot_fault(None, "b2", None), None, "first start ever");
        assert_eq!(
            reboot_fault(Some(&rec("b1", false)), "b1", None),
            None,
            "agent restart"
        );
        assert_eq!(
            reboot_fault(Some(&rec("b1", true)), "b2", Some(0)),
            None,
            "clean reboot"
        );
        assert_eq!(
            reboot_fault(Some(&rec("b1", false)), "b2", None),
            Some(codes::UNCLEAN_REBOOT)
        );
        assert_eq!(
            reboot_fault(Some(&rec("b1", true)), "b2", Some(32)),
            Some(codes::WATCHDOG_RESET)
        );
    }

    #[test]
    fn crash_dumps_are_reported_once_and_grouped_by_program() {
        let dir = tempfile::tempdir().expect("dir");
        let q = Outbox::open(&dir.path().join("q"), 100).expect("q");
        let crashes = dir.path().join("crash");
        fs::create_dir_all(&crashes).expect("mk");
        fs::write(crashes.join("core.player.1234"), b"x").expect("w");
        let seen = scan_crash_dir(&crashes, &BTreeSet::new(), 1, &[], &q).expect("scan");
        let seen = scan_crash_dir(&crashes, &seen, 2, &[], &q).expect("scan");
        fs::write(crashes.join("core.player.999"), b"y").expect("w");
        scan_crash_dir(&crashes, &seen, 3, &[], &q).expect("scan");
        let p = q.pending().expect("pending");
        assert_eq!(p.len(), 2, "one fault per new dump");
        assert_eq!(
            dump_signature("core.player.1234"),
            dump_signature("core.player.999")
        );
    }

    #[test]
    fn kernel_panics_in_pstore_are_queued_and_freed() {
        let dir = tempfile::tempdir().expect("dir");
        let q = Outbox::open(&dir.path().join("q"), 100).expect("q");
        let pstore = dir.path().join("pstore");
        fs::create_dir_all(&pstore).expect("mk");
        fs::write(
            pstore.join("dmesg-ramoops-0"),
            "[1.0] boot\n[9.9] Kernel panic - not syncing: VFS: Unable to mount root fs\n",
        )
        .expect("w");
        let cfg = FaultsConfig {
            pstore_dir: pstore.clone(),
            watchdog_dir: dir.path().join("none"),
            ..Default::default()
        };
        scan_boot(&cfg, None, "b1", 5, &[], &q).expect("scan");
        let p = q.pending().expect("pending");
        assert_eq!(p.len(), 1);
        match &p[0].message {
            crate::outbox::Message::Event(e) => match &e.body {
                EventBody::Fault(f) => {
                    assert_eq!(f.code, codes::KERNEL_PANIC);
                    assert_eq!(
                        f.signature.as_deref(),
                        Some("kpanic:VFS: Unable to mount root fs")
                    );
                }
                b => panic!("{b:?}"),
            },
            m => panic!("{m:?}"),
        }
        assert!(!pstore.join("dmesg-ramoops-0").exists());
    }
}
