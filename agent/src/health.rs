//! Health readings: CPU, memory, load, temperature, uptime, storage use and
//! flash wear, network counters, from `/proc` and `/sys` (both paths are
//! configurable, so tests read prepared trees), plus the box's own counters
//! from pluggable collector commands. Parsing is separate from reading so
//! each parser is tested on sample text.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use wavecast_protocol::events::{HealthReport, StorageUse};

use crate::config::{CollectorConfig, TelemetryConfig};

/// CPU time counters from `/proc/stat` (busy, total).
pub fn parse_cpu(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 4 {
        return None;
    }
    let total: u64 = v.iter().sum();
    // idle + iowait
    let idle = v[3] + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// `MemTotal` and `MemAvailable` in KiB from `/proc/meminfo`.
pub fn parse_meminfo(text: &str) -> (Option<u64>, Option<u64>) {
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    (field("MemTotal:"), field("MemAvailable:"))
}

/// Bytes received and sent on every interface but loopback (`/proc/net/dev`).
pub fn parse_net_dev(text: &str) -> Option<(u64, u64)> {
    let mut rx = 0;
    let mut tx = 0;
    let mut any = false;
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let v: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() >= 9 {
            rx += v[0];
            tx += v[8];
            any = true;
        }
    }
    any.then_some((rx, tx))
}

/// eMMC `life_time` ("0x01 0x02": type A and B estimates, each in steps of
/// 10 % of rated life used) as the worse of the two, in percent.
pub fn parse_emmc_life(text: &str) -> Option<u8> {
    text.split_whitespace()
        .filter_map(|x| u8::from_str_radix(x.trim_start_matches("0x"), 16).ok())
        .filter(|v| (1..=0x0b).contains(v))
        .map(|v| (v.saturating_sub(1) * 10).min(100))
        .max()
}

/// Metrics from a collector's output: `name value` or `name=value` lines;
/// other lines are ignored. Names are prefixed with the collector's.
pub fn parse_collector(prefix: &str, text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let (k, v) = l
                .split_once('=')
                .or_else(|| l.split_once(char::is_whitespace))?;
            let k = k.trim();
            let v: f64 = v.trim().parse().ok()?;
            let ok = !k.is_empty()
                && k.len() <= 48
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            (ok && v.is_finite()).then(|| (format!("{prefix}.{k}"), v))
        })
        .collect()
}

/// Reads health; keeps the previous CPU counters to report CPU use between
/// two readings.
#[derive(Debug)]
pub struct Sampler {
    cfg: TelemetryConfig,
    collectors: Vec<CollectorConfig>,
    last_cpu: Option<(u64, u64)>,
}

fn read(path: PathBuf) -> Option<String> {
    fs::read_to_string(path).ok()
}

impl Sampler {
    pub fn new(cfg: TelemetryConfig, collectors: Vec<CollectorConfig>) -> Self {
        let mut s = Self {
            cfg,
            collectors,
            last_cpu: None,
        };
        s.last_cpu = read(s.cfg.proc_dir.join("stat")).and_then(|t| parse_cpu(&t));
        s
    }

    /// One health report at `now`.
    pub fn sample(&mut self, now: i64) -> HealthReport {
        let proc_dir = &self.cfg.proc_dir;
        let sys = &self.cfg.sys_dir;
        let mut r = HealthReport {
            at: now,
            ..Default::default()
        };
        r.uptime_secs = read(proc_dir.join("uptime"))
            .and_then(|t| t.split_whitespace().next()?.parse::<f64>().ok())
            .map(|s| s as u64);
        r.load1 =
            read(proc_dir.join("loadavg")).and_then(|t| t.split_whitespace().next()?.parse().ok());
        (r.mem_total_kib, r.mem_available_kib) =
            read(proc_dir.join("meminfo")).map_or((None, None), |t| parse_meminfo(&t));
        if let Some(now_cpu) = read(proc_dir.join("stat")).and_then(|t| parse_cpu(&t)) {
            if let Some((busy0, total0)) = self.last_cpu {
                let (busy, total) = now_cpu;
                if total > total0 {
                    r.cpu_percent =
                        Some((busy.saturating_sub(busy0) as f32 * 100.0) / (total - total0) as f32);
                }
            }
            self.last_cpu = Some(now_cpu);
        }
        r.temperature_c = fs::read_dir(sys.join("class/thermal"))
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("thermal_zone"))
            .filter_map(|e| read(e.path().join("temp"))?.trim().parse::<f64>().ok())
            .map(|milli| (milli / 1000.0) as f32)
            .reduce(f32::max);
        if let Some((rx, tx)) = read(proc_dir.join("net/dev")).and_then(|t| parse_net_dev(&t)) {
            r.net_rx_bytes = Some(rx);
            r.net_tx_bytes = Some(tx);
        }
        let wear = fs::read_dir(sys.join("block"))
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| read(e.path().join("device/life_time")))
            .filter_map(|t| parse_emmc_life(&t))
            .max();
        for m in &self.cfg.mounts {
            if let Some(s) = storage(m) {
                r.storage.push(StorageUse {
                    wear_percent: wear,
                    ..s
                });
            }
        }
        for c in &self.collectors {
            match crate::install::run(&c.command, &[], Duration::from_secs(c.timeout_secs)) {
                Ok(o) if o.ok => r.metrics.extend(parse_collector(&c.name, &o.stdout)),
                Ok(o) => crate::log::warn(&format!("collector {}: {}", c.name, o.describe)),
                Err(e) => crate::log::warn(&format!("collector {}: {e}", c.name)),
            }
        }
        r.metrics = r
            .metrics
            .into_iter()
            .take(wavecast_protocol::events::MAX_METRICS)
            .collect();
        r
    }
}

fn storage(mount: &Path) -> Option<StorageUse> {
    let s = rustix::fs::statvfs(mount).ok()?;
    let block = s.f_frsize.max(1);
    let total = s.f_blocks.saturating_mul(block);
    let free = s.f_bfree.saturating_mul(block);
    Some(StorageUse {
        mount: mount.display().to_string(),
        total_bytes: total,
        used_bytes: total.saturating_sub(free),
        wear_percent: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers_read_real_shapes() {
        assert_eq!(
            parse_cpu("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n"),
            Some((150, 1000))
        );
        let mem = "MemTotal:        1015000 kB\nMemFree:   1 kB\nMemAvailable:     512000 kB\n";
        assert_eq!(parse_meminfo(mem), (Some(1_015_000), Some(512_000)));
        let net = "Inter-|   Receive |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes\n    lo: 500 5 0 0 0 0 0 0 500 5 0 0 0 0 0 0\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n";
        assert_eq!(parse_net_dev(net), Some((1000, 2000)));
        assert_eq!(parse_emmc_life("0x01 0x03\n"), Some(20));
        assert_eq!(parse_emmc_life("garbage"), None);
        let m = parse_collector(
            "player",
            "decoder_errors 3\nhdcp_failures=1\ntuner_locked 1\nnot a metric\nbad name 2\nnan_value NaN\n",
        );
        assert_eq!(m.get("player.decoder_errors"), Some(&3.0));
        assert_eq!(m.get("player.hdcp_failures"), Some(&1.0));
        assert_eq!(m.get("player.tuner_locked"), Some(&1.0));
        assert_eq!(m.len(), 3, "{m:?}");
    }

    #[test]
    fn samples_a_prepared_tree_and_runs_collectors() {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("proc");
        let s = dir.path().join("sys");
        fs::create_dir_all(p.join("net")).expect("mk");
        fs::create_dir_all(s.join("class/thermal/thermal_zone0")).expect("mk");
        fs::create_dir_all(s.join("class/thermal/thermal_zone1")).expect("mk");
        fs::write(p.join("stat"), "cpu  100 0 0 900 0\n").expect("w");
        fs::write(p.join("uptime"), "1234.56 100.0\n").expect("w");
        fs::write(p.join("loadavg"), "0.50 0.40 0.30 1/100 42\n").expect("w");
        fs::write(
            p.join("meminfo"),
            "MemTotal: 2000 kB\nMemAvailable: 500 kB\n",
        )
        .expect("w");
        fs::write(s.join("class/thermal/thermal_zone0/temp"), "45000\n").expect("w");
        fs::write(s.join("class/thermal/thermal_zone1/temp"), "61500\n").expect("w");
        let cfg = TelemetryConfig {
            interval_secs: 60,
            proc_dir: p.clone(),
            sys_dir: s,
            mounts: vec![dir.path().to_owned()],
        };
        let collectors = vec![CollectorConfig {
            name: "player".into(),
            command: ["sh", "-c", "echo buffer_underruns 7"]
                .map(String::from)
                .to_vec(),
            timeout_secs: 5,
        }];
        let mut sampler = Sampler::new(cfg, collectors);
        fs::write(p.join("stat"), "cpu  150 0 0 950 0\n").expect("w");
        let r = sampler.sample(1000);
        assert_eq!(r.uptime_secs, Some(1234));
        assert_eq!(r.load1, Some(0.5));
        assert_eq!(r.mem_available_kib, Some(500));
        assert_eq!(r.cpu_percent, Some(50.0));
        assert_eq!(r.temperature_c, Some(61.5));
        assert_eq!(r.metrics.get("player.buffer_underruns"), Some(&7.0));
        assert_eq!(r.storage.len(), 1);
        assert!(r.storage[0].total_bytes > 0);
    }
}
