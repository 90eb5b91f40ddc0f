//! The `wavecast-agent` binary: `run` (the service), `status`, `fault
//! report`, `licence check`, `config example` and `simulate`. Arguments are parsed with
//! `lexopt`, a few kilobytes where a full argument framework would cost a
//! good part of the box's size budget.

use std::{
    path::PathBuf,
    process::ExitCode,
    sync::{atomic::AtomicBool, Arc},
    time::Duration,
};

use lexopt::prelude::*;
use wavecast_agent::{
    config::{self, Config},
    events_fault, service, sim,
};

const USAGE: &str = "usage:
  wavecast-agent [--config FILE] run
  wavecast-agent [--config FILE] status
  wavecast-agent [--config FILE] fault report CODE [--details TEXT] [--signature TEXT]
  wavecast-agent [--config FILE] licence check PRODUCT [--entitlement CODE]
                             offline: exit 0 when the box may use PRODUCT now,
                             1 when not; the reason as JSON on stdout
  wavecast-agent config example
  wavecast-agent simulate --server URL --root-key FILE|BASE64 --devices N [options]
  wavecast-agent --version

simulate options:
  --ca-file PEM              trust only these CAs for the server's HTTPS
  --token TOKEN              operator token: pre-authorise the serials first
  --serial-prefix P          serials are P000000, P000001, ... (default SIM)
  --model M --revision R     hardware (default X1, A)
  --installed NAME@VERSION[#SECURITY]   repeatable (default x1-firmware@4.1.0#1)
  --poll SECS                check in at least this often (default 10)
  --threads N                worker threads (default 64)
  --install-failure-rate F   share of installs that fail (0..1)
  --crash-after-update-rate F  share of updates that crash and roll back
  --faults-after-update-rate F  share of updated boxes that keep crashing (a
                             software fault at every visit) on the new version
  --fault CODE               boxes report this fault code at every visit
  --fault-rate F             share of boxes that do (default 1 with --fault)
  --events-over mqtt|https   how health and faults travel (default https; mqtt
                             falls back to https when the broker does not answer)
  --offline-rate F --offline-secs S   chance per check-in to drop offline for S
  --delay-ms MS              network delay before each request
  --telemetry-secs S         a health report every S seconds (0: none)
  --reboot-ms MS             simulated reboot time (default 500)
  --seed N                   identities and dice (default 1)
  --expect-updates N         stop once N updates have ended (fails if not reached)
  --duration SECS            stop after this long (default 600)";

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("wavecast-agent: {msg}");
    ExitCode::FAILURE
}

fn load(path: &Option<PathBuf>) -> Result<Config, String> {
    let p = path.clone().unwrap_or_else(|| config::DEFAULT_PATH.into());
    Config::load(&p).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

fn real_main() -> Result<ExitCode, String> {
    let mut parser = lexopt::Parser::from_env();
    let mut config_path: Option<PathBuf> = None;
    let mut words: Vec<String> = Vec::new();
    let mut opts: Vec<(String, String)> = Vec::new();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("version") | Short('V') => {
                println!(
                    "wavecast-agent {} (protocol {})",
                    wavecast_agent::AGENT_VERSION,
                    wavecast_agent::PROTOCOL_VERSION
                );
                return Ok(ExitCode::SUCCESS);
            }
            Long("help") | Short('h') => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            Long("config") | Short('c') => {
                config_path = Some(parser.value().map_err(|e| e.to_string())?.into());
            }
            Long(name) => {
                let name = name.to_owned();
                let value = parser
                    .value()
                    .map_err(|e| e.to_string())?
                    .string()
                    .map_err(|e| e.to_string())?;
                opts.push((name, value));
            }
            Value(v) => words.push(v.string().map_err(|e| e.to_string())?),
            other => return Err(format!("{}\n{USAGE}", other.unexpected())),
        }
    }
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let opt = |name: &str| {
        opts.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let allowed = |names: &[&str]| -> Result<(), String> {
        match opts.iter().find(|(k, _)| !names.contains(&k.as_str())) {
            Some((k, _)) => Err(format!("unknown option --{k}\n{USAGE}")),
            None => Ok(()),
        }
    };
    match words.as_slice() {
        ["run"] => {
            allowed(&[])?;
            let cfg = load(&config_path)?;
            let agent = service::Agent::open(cfg)?;
            agent.run()?;
            Ok(ExitCode::SUCCESS)
        }
        ["status"] => {
            allowed(&[])?;
            let cfg = load(&config_path)?;
            print!("{}", service::status_text(&cfg)?);
            Ok(ExitCode::SUCCESS)
        }
        ["fault", "report", code] => {
            allowed(&["details", "signature"])?;
            let cfg = load(&config_path)?;
            let id = events_fault(&cfg, code, opt("details"), opt("signature"))?;
            println!("queued fault {code} as {id}");
            Ok(ExitCode::SUCCESS)
        }
        ["licence", "check", product] => {
            allowed(&["entitlement"])?;
            let cfg = load(&config_path)?;
            let entitlement = opt("entitlement");
            let a = wavecast_agent::licences::check(
                &cfg,
                product,
                entitlement.as_deref(),
                wavecast_agent::now(),
            )?;
            println!("{}", serde_json::to_string(&a).map_err(|e| e.to_string())?);
            Ok(if a.valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        ["config", "example"] => {
            allowed(&[])?;
            print!("{}", config::EXAMPLE);
            Ok(ExitCode::SUCCESS)
        }
        ["simulate"] => simulate(&opts),
        _ => Err(format!("expected a command\n{USAGE}")),
    }
}

fn simulate(opts: &[(String, String)]) -> Result<ExitCode, String> {
    const KNOWN: &[&str] = &[
        "server",
        "root-key",
        "ca-file",
        "devices",
        "token",
        "serial-prefix",
        "model",
        "revision",
        "installed",
        "poll",
        "threads",
        "install-failure-rate",
        "crash-after-update-rate",
        "faults-after-update-rate",
        "fault",
        "fault-rate",
        "events-over",
        "offline-rate",
        "offline-secs",
        "delay-ms",
        "telemetry-secs",
        "reboot-ms",
        "seed",
        "expect-updates",
        "duration",
    ];
    if let Some((k, _)) = opts.iter().find(|(k, _)| !KNOWN.contains(&k.as_str())) {
        return Err(format!("unknown option --{k}\n{USAGE}"));
    }
    let get = |name: &str| {
        opts.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let need = |name: &str| get(name).ok_or_else(|| format!("simulate needs --{name}\n{USAGE}"));
    fn num<T: std::str::FromStr>(name: &str, v: Option<&str>, default: T) -> Result<T, String> {
        v.map_or(Ok(default), |s| {
            s.parse()
                .map_err(|_| format!("--{name}: {s:?} is not a number"))
        })
    }
    let rate = |name: &str| -> Result<f64, String> {
        let r: f64 = num(name, get(name), 0.0)?;
        if (0.0..=1.0).contains(&r) {
            Ok(r)
        } else {
            Err(format!("--{name} must be between 0 and 1"))
        }
    };
    // The key's base64 text, or the file holding it (`wavecast-keys/root.pub`).
    let root_arg = need("root-key")?;
    let root_text = match std::fs::read_to_string(root_arg) {
        Ok(text) => text,
        Err(_) => root_arg.to_owned(),
    };
    let root = wavecast_protocol::keys::parse_public_key(root_text.trim())
        .map_err(|e| format!("--root-key: {e}"))?;
    let mut installed = Vec::new();
    for (k, v) in opts.iter().filter(|(k, _)| k == "installed") {
        let (nv, sec) = v.split_once('#').unwrap_or((v, "0"));
        let (name, version) = nv
            .split_once('@')
            .ok_or(format!("--{k} {v:?}: expected NAME@VERSION[#SECURITY]"))?;
        installed.push(wavecast_protocol::checkin::Component {
            name: name.to_owned(),
            version: version.parse().map_err(|e| format!("--{k} {v:?}: {e}"))?,
            security_version: sec
                .parse()
                .map_err(|_| format!("--{k} {v:?}: bad security version"))?,
        });
    }
    if installed.is_empty() {
        installed.push(wavecast_protocol::checkin::Component {
            name: "x1-firmware".into(),
            version: semver::Version::new(4, 1, 0),
            security_version: 1,
        });
    }
    let devices: usize = num("devices", Some(need("devices")?), 0)?;
    if devices == 0 {
        return Err("--devices must be at least 1".into());
    }
    let cfg = sim::SimConfig {
        server: need("server")?.to_owned(),
        tls: wavecast_agent::tls::ServerTrust::from_ca_file(
            get("ca-file").map(std::path::Path::new),
        )?,
        root,
        devices,
        token: get("token").map(str::to_owned),
        serial_prefix: get("serial-prefix").unwrap_or("SIM").to_owned(),
        model: get("model").unwrap_or("X1").to_owned(),
        revision: get("revision").unwrap_or("A").to_owned(),
        installed,
        poll: Duration::from_secs(num("poll", get("poll"), 10)?),
        threads: num("threads", get("threads"), 64)?,
        install_failure_rate: rate("install-failure-rate")?,
        crash_after_update_rate: rate("crash-after-update-rate")?,
        faults_after_update_rate: rate("faults-after-update-rate")?,
        fault: match get("fault") {
            Some(code) => {
                wavecast_protocol::events::check_fault_code(code)
                    .map_err(|e| format!("--fault {code:?}: {e}"))?;
                Some((
                    code.to_owned(),
                    if get("fault-rate").is_some() {
                        rate("fault-rate")?
                    } else {
                        1.0
                    },
                ))
            }
            None if get("fault-rate").is_some() => {
                return Err("--fault-rate needs --fault CODE".into())
            }
            None => None,
        },
        events_over_mqtt: match get("events-over").unwrap_or("https") {
            "mqtt" => true,
            "https" => false,
            other => return Err(format!("--events-over {other:?}: use mqtt or https")),
        },
        offline_rate: rate("offline-rate")?,
        offline: Duration::from_secs(num("offline-secs", get("offline-secs"), 60)?),
        delay: Duration::from_millis(num("delay-ms", get("delay-ms"), 0)?),
        telemetry: Duration::from_secs(num("telemetry-secs", get("telemetry-secs"), 0)?),
        reboot: Duration::from_millis(num("reboot-ms", get("reboot-ms"), 500)?),
        seed: num("seed", get("seed"), 1)?,
        expect_updates: get("expect-updates")
            .map(|v| num("expect-updates", Some(v), 0))
            .transpose()?,
        duration: Duration::from_secs(num("duration", get("duration"), 600)?),
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
    }
    sim::run(cfg, stop)?;
    Ok(ExitCode::SUCCESS)
}
