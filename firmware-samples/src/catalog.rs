//! The sample fault catalog: fault codes STB software reports, each with a
//! class, a severity, a knowledge-base text and the ticket policy that opens
//! a ticket by itself when a box's faults cross it.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultClass {
    Hardware,
    Software,
    Network,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Minor,
    Major,
    Critical,
}

/// When faults of this code open a ticket: `occurrences` within
/// `window_hours`, or at the first one when `immediate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TicketPolicy {
    pub occurrences: u32,
    pub window_hours: u32,
    pub immediate: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FaultEntry {
    pub code: &'static str,
    pub title: &'static str,
    pub class: FaultClass,
    pub severity: Severity,
    pub kb: &'static str,
    pub policy: TicketPolicy,
}

const fn after(occurrences: u32, window_hours: u32) -> TicketPolicy {
    TicketPolicy {
        occurrences,
        window_hours,
        immediate: false,
    }
}
const IMMEDIATE: TicketPolicy = TicketPolicy {
    occurrences: 1,
    window_hours: 1,
    immediate: true,
};

use FaultClass::{Hardware as H, Network as N, Software as S};
use Severity::{Critical, Major, Minor};

/// The catalog.
pub const CATALOG: &[FaultEntry] = &[
    FaultEntry { code: "HW-PSU-001", title: "Power supply brown-out", class: H, severity: Critical, policy: IMMEDIATE,
        kb: "The box restarted because its supply voltage dropped. Check the power adapter is the original 12 V unit and firmly seated; try another wall socket. Repeated brown-outs mean a failing adapter or power board: replace under warranty." },
    FaultEntry { code: "HW-HDMI-001", title: "HDMI output lost", class: H, severity: Major, policy: after(3, 24),
        kb: "No HDMI hot-plug signal from the TV. Reseat the cable at both ends, try another HDMI input and cable. If the fault follows the box, the HDMI port is damaged." },
    FaultEntry { code: "HW-HDCP-002", title: "HDCP handshake failure", class: H, severity: Major, policy: after(5, 24),
        kb: "The TV refused the content-protection handshake. Power-cycle the TV and the box in that order; avoid HDMI splitters and old AV receivers." },
    FaultEntry { code: "HW-TUNER-003", title: "Tuner cannot lock", class: H, severity: Major, policy: after(5, 12),
        kb: "The tuner found no signal lock on any multiplex. Check the antenna or cable input and splitters; if other devices receive well, the tuner is faulty." },
    FaultEntry { code: "HW-EMMC-004", title: "Storage worn out", class: H, severity: Critical, policy: IMMEDIATE,
        kb: "The eMMC reports end of life (wear indicator above 90%). The box will soon fail to update or boot: replace it." },
    FaultEntry { code: "HW-THERM-005", title: "Over-temperature", class: H, severity: Major, policy: after(3, 24),
        kb: "The SoC passed 95 °C. Make sure the box is not enclosed or stacked and its vents are free. Persistent over-temperature with good airflow means a failed thermal pad or fan." },
    FaultEntry { code: "HW-PWR-006", title: "Unclean restart", class: H, severity: Minor, policy: after(5, 24),
        kb: "The box came back up without having shut down: power was cut or it was hard-reset. Once is usually the mains or a pulled plug. Repeated unclean restarts with nobody touching the box point to a loose adapter, a failing power board or a hang the watchdog does not catch: check the adapter first." },
    FaultEntry { code: "SW-DEC-101", title: "Video decoder crash", class: S, severity: Major, policy: after(3, 24),
        kb: "The video decoder process crashed while playing. Usually tied to a firmware or codec version; the fleet problem linked to this ticket shows whether other boxes see it." },
    FaultEntry { code: "SW-APP-102", title: "Main application crash", class: S, severity: Major, policy: after(3, 24),
        kb: "The TV application restarted after a crash. Clear the application cache from Settings > Apps; crashes on many boxes point to a software problem fixed by an update." },
    FaultEntry { code: "SW-KPANIC-103", title: "Kernel panic", class: S, severity: Critical, policy: IMMEDIATE,
        kb: "The system halted with a kernel panic and rebooted. Collect logs from the device page; repeated panics after an update call for a rollback." },
    FaultEntry { code: "SW-WDOG-104", title: "Watchdog reset", class: S, severity: Major, policy: after(2, 24),
        kb: "The hardware watchdog restarted a hung system. Often a software deadlock; check whether it began with a recent update." },
    FaultEntry { code: "SW-DRM-105", title: "DRM licence acquisition failed", class: S, severity: Major, policy: after(5, 24),
        kb: "Protected content could not get a licence. Check the box's DRM module version and entitlement, and the licence server's status." },
    FaultEntry { code: "SW-AGENT-106", title: "Update agent crashed", class: S, severity: Major, policy: after(3, 24),
        kb: "The Wavecast update agent crashed and restarted. It goes back to checking in and reporting by itself. Repeated crashes on one box call for its logs from the device page; crashes on many boxes point to an agent release: check which agent version they run." },
    FaultEntry { code: "SW-CRASH-107", title: "Crash dump written", class: S, severity: Major, policy: after(3, 24),
        kb: "A process on the box crashed and left a core dump. The signature groups equal crashes across the fleet; the fleet problem linked to this ticket shows whether other boxes see it and since which update." },
    FaultEntry { code: "NET-DHCP-201", title: "No IP address", class: N, severity: Major, policy: after(5, 24),
        kb: "The box got no address from DHCP. Restart the home router; check the Ethernet cable or Wi-Fi credentials." },
    FaultEntry { code: "NET-DNS-202", title: "Name resolution failing", class: N, severity: Minor, policy: after(10, 24),
        kb: "DNS lookups time out. Restart the router; if it persists, set the operator's DNS servers." },
    FaultEntry { code: "NET-MCAST-203", title: "Multicast join timeout", class: N, severity: Major, policy: after(5, 6),
        kb: "Live TV channels do not start: IGMP joins time out. The router may need IGMP proxy/snooping enabled; check the access network." },
    FaultEntry { code: "NET-UNDERRUN-204", title: "Playback buffer underruns", class: N, severity: Minor, policy: after(20, 24),
        kb: "Video stalls waiting for data. Test the line speed; prefer Ethernet to Wi-Fi; check for congestion at peak hours." },
];

#[derive(Serialize)]
struct File<'a> {
    fault: &'a [FaultEntry],
}

/// The catalog as TOML, ready for the server to load.
pub fn to_toml() -> String {
    let body = toml::to_string_pretty(&File { fault: CATALOG }).unwrap_or_default();
    format!(
        "# Wavecast fault catalog, generated by wavecast-firmware-samples.\n\
         # class: hardware | software | network; severity: minor | major | critical.\n\
         # policy: a ticket opens when `occurrences` faults arrive within `window_hours`,\n\
         # or at the first one when `immediate`.\n\n{body}"
    )
}
