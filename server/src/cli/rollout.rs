//! `wavecast rollout`: create, list, show, pause, resume, approve, abort, rollback.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use reqwest::Method;

use super::{client::Client, output};
use crate::updates::{
    rollouts::rules::RolloutState,
    views::{CreateRollout, RolloutView},
};

#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Create a rollout from a TOML or JSON file (see `wavecast rollout example`).
    Create {
        /// The rollout file.
        file: PathBuf,
        /// Print only the new rollout's id (for scripts).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Print an example rollout file.
    Example,
    /// List rollouts.
    List {
        /// scheduled, running, paused, awaiting_approval, completed or aborted.
        #[arg(long)]
        state: Option<String>,
    },
    /// Show a rollout: counts per wave, what it waits for, the health gate's figures.
    Show {
        /// The rollout's id.
        id: String,
    },
    /// Wait until a rollout completes (exit 0), or stops short: paused,
    /// aborted or out of time (exit 1, saying why).
    Wait {
        /// The rollout's id.
        id: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
    },
    /// Stop offering the rollout.
    Pause {
        /// The rollout's id.
        id: String,
    },
    /// Continue a paused rollout (its current failures are accepted).
    Resume {
        /// The rollout's id.
        id: String,
    },
    /// Open the next wave of a rollout waiting for approval.
    Approve {
        /// The rollout's id.
        id: String,
    },
    /// End the rollout for good.
    Abort {
        /// The rollout's id.
        id: String,
    },
    /// Abort the rollout and offer the previous versions to the devices that took it.
    Rollback {
        /// The rollout's id.
        id: String,
    },
}

pub const EXAMPLE: &str = r#"# A rollout: bundles in install order, a target, and waves.
name = "X1 firmware 4.2 with HEVC/AV1 codecs"
bundles = ["x1-firmware@4.2.0", "codec-pack-hevc-av1@2.0.0"]
# starts_at = "2026-12-01T02:00:00Z"   # default: now
device_timeout_secs = 3600             # silent this long mid-install = failed
# unreached_after_secs = 86400         # boxes silent this long after their wave opens
#                                      # stop counting ("not reached"), so the rollout goes on
# keep_offering = true                 # once completed, still offer it to boxes that show up
# max_concurrent_downloads = 500       # at most this many devices downloading at once

[target]
models = ["X1"]
# revisions = ["A", "B"]
# regions = ["north"]
# tags = ["beta"]
# serials = ["SN000001"]
# installed = { name = "x1-firmware", version = "<4.2.0" }
# plans = ["vip", "premium"]           # boxes of subscribers on these plans
# entitled_to = "codec-ddp"            # boxes entitled to this licensed product

# Optional: install only between these local times on the box.
# [window]
# start = "02:00"
# end = "05:00"

# Pause when boxes updated by this rollout fault more than max_ratio times as
# often (per device-day) as its target boxes not yet updated, once each side
# has min_device_days; at least min_faults faults among the updated boxes.
[health_gate]
classes = ["software", "hardware"]   # fault catalog classes; all when empty
max_ratio = 2.0
min_device_days = 50
min_faults = 3

[[waves]]          # 1 % canary, must all succeed, wait for an operator
percent = 1
soak_secs = 3600
success_threshold_pct = 100
failure_threshold_pct = 1
needs_approval = true

[[waves]]
percent = 10
soak_secs = 7200
success_threshold_pct = 95
failure_threshold_pct = 5

[[waves]]
percent = 100
success_threshold_pct = 95
failure_threshold_pct = 5
"#;

const HEADER: &[&str] = &[
    "ID", "NAME", "STATE", "WAVE", "OK", "FAILED", "BUSY", "BUNDLES",
];

fn rows(list: &[RolloutView]) -> Vec<Vec<String>> {
    list.iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.name.clone(),
                r.state.as_str().to_owned(),
                format!("{}/{}", r.open_waves, r.waves.len()),
                r.counts.succeeded.to_string(),
                r.counts.failed.to_string(),
                r.counts.in_progress.to_string(),
                r.bundles.join(" "),
            ]
        })
        .collect()
}

/// One rollout with where its boxes stand and what it waits for.
fn detail(r: &RolloutView) -> String {
    let mut s = output::table(HEADER, rows(std::slice::from_ref(r)));
    s.push('\n');
    let mut pairs = Vec::new();
    if let Some(reason) = &r.reason {
        pairs.push(("reason", reason.clone()));
    }
    if let Some(p) = &r.progress {
        pairs.push(("target", format!("{} box(es)", p.target_size)));
        if let Some(w) = &p.waiting_reason {
            pairs.push(("waiting", w.clone()));
        }
        if let Some(at) = p.soak_ends_at {
            pairs.push(("soak ends", output::time(Some(at))));
        }
        match (r.unreached_after_secs, p.unreached_at) {
            (Some(_), Some(at)) => pairs.push((
                "not reached",
                format!(
                    "{} box(es); silent boxes stop counting from {}",
                    p.not_reached,
                    output::time(Some(at))
                ),
            )),
            (Some(secs), None) => pairs.push((
                "not reached",
                format!(
                    "silent boxes stop counting {} after their wave opens",
                    output::span(i64::try_from(secs).unwrap_or(i64::MAX))
                ),
            )),
            (None, _) => {}
        }
        if let Some(g) = &p.gate {
            let rate = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.1}"));
            pairs.push((
                "health gate",
                format!(
                    "{}: updated {} faults in {:.1} device-days ({} per 1,000), not updated {} in {:.1} ({}); ratio {} (limit {}×)",
                    g.verdict,
                    g.updated.faults,
                    g.updated.device_days,
                    rate(g.updated.per_1000_device_days),
                    g.not_updated.faults,
                    g.not_updated.device_days,
                    rate(g.not_updated.per_1000_device_days),
                    rate(g.ratio),
                    g.max_ratio
                ),
            ));
        }
        pairs.push((
            "after completion",
            if r.keep_offering {
                "still offered to target boxes that show up".into()
            } else {
                "no longer offered".into()
            },
        ));
        s.push('\n');
        s.push_str(&output::fields(&pairs));
        let waves = p
            .waves
            .iter()
            .map(|w| {
                vec![
                    format!("{}{}", w.wave, if w.open { "" } else { " (to come)" }),
                    w.targeted.to_string(),
                    w.eligible_now.to_string(),
                    w.not_heard_from.to_string(),
                    (w.held_by_window + w.held_by_limit).to_string(),
                    w.downloading.to_string(),
                    w.installing.to_string(),
                    w.succeeded.to_string(),
                    w.failed.to_string(),
                    w.rolled_back.to_string(),
                    w.not_reached.to_string(),
                    w.not_entitled.to_string(),
                ]
            })
            .collect();
        s.push('\n');
        s.push_str(&output::table(
            &[
                "WAVE",
                "TARGETED",
                "ELIGIBLE",
                "NOT HEARD",
                "HELD",
                "DOWNLOADING",
                "INSTALLING",
                "SUCCEEDED",
                "FAILED",
                "ROLLED BACK",
                "NOT REACHED",
                "NOT ENTITLED",
            ],
            waves,
        ));
        s.push('\n');
    } else {
        s.push_str(&output::fields(&pairs));
    }
    s
}

pub async fn run(client: &Client, cmd: RolloutCommand, json: bool) -> anyhow::Result<()> {
    let one = |r: RolloutView| {
        if json {
            output::json(&r);
        } else {
            output::text(&detail(&r));
        }
    };
    match cmd {
        RolloutCommand::Example => output::text(EXAMPLE),
        RolloutCommand::Create { file, quiet } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let body: CreateRollout = if file.extension().is_some_and(|e| e == "json") {
                serde_json::from_str(&text).with_context(|| format!("{}", file.display()))?
            } else {
                toml::from_str(&text).with_context(|| format!("{}", file.display()))?
            };
            let r: RolloutView = client
                .send(Method::POST, "api/v1/rollouts", &[], Some(&body))
                .await?;
            if quiet {
                crate::outln!("{}", r.id);
            } else {
                one(r);
            }
        }
        RolloutCommand::Wait { id, timeout } => wait(client, &id, timeout, json).await?,
        RolloutCommand::List { state } => {
            let q: Vec<(&str, String)> = state.map(|s| ("state", s)).into_iter().collect();
            let list: Vec<RolloutView> = client.get("api/v1/rollouts", &q).await?;
            output::print(json, &list, HEADER, rows(&list));
        }
        RolloutCommand::Show { id } => {
            one(client.get(&format!("api/v1/rollouts/{id}"), &[]).await?)
        }
        RolloutCommand::Pause { id } => one(act(client, &id, "pause").await?),
        RolloutCommand::Resume { id } => one(act(client, &id, "resume").await?),
        RolloutCommand::Approve { id } => one(act(client, &id, "approve").await?),
        RolloutCommand::Abort { id } => one(act(client, &id, "abort").await?),
        RolloutCommand::Rollback { id } => {
            let r = act(client, &id, "rollback").await?;
            if !json {
                eprintln!("rollback rollout created:");
            }
            one(r);
        }
    }
    Ok(())
}

/// Polls the rollout until it completes, stops or `timeout` passes.
async fn wait(client: &Client, id: &str, timeout: u64, json: bool) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout);
    let mut said = None;
    loop {
        let r: RolloutView = client.get(&format!("api/v1/rollouts/{id}"), &[]).await?;
        let show = |r: &RolloutView| {
            if json {
                output::json(r);
            } else {
                output::text(&detail(r));
            }
        };
        match r.state {
            RolloutState::Completed => {
                show(&r);
                return Ok(());
            }
            RolloutState::Paused | RolloutState::Aborted => {
                show(&r);
                anyhow::bail!(
                    "rollout {id} is {}{}",
                    r.state.as_str(),
                    r.reason.map(|why| format!(": {why}")).unwrap_or_default()
                );
            }
            _ => {}
        }
        let why = r
            .progress
            .as_ref()
            .and_then(|p| p.waiting_reason.clone())
            .unwrap_or_else(|| {
                format!(
                    "{}; the scheduler moves it on at its next pass",
                    r.state.as_str()
                )
            });
        if std::time::Instant::now() >= deadline {
            show(&r);
            anyhow::bail!("rollout {id} did not complete within {timeout} s: {why}");
        }
        if !json && said.as_ref() != Some(&why) {
            eprintln!("waiting: {why}");
            said = Some(why);
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

async fn act(client: &Client, id: &str, action: &str) -> anyhow::Result<RolloutView> {
    client
        .send::<(), _>(
            Method::POST,
            &format!("api/v1/rollouts/{id}/{action}"),
            &[],
            None,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_is_a_valid_rollout() {
        let r: CreateRollout = toml::from_str(EXAMPLE).expect("the example parses");
        assert_eq!(r.bundles.len(), 2);
        assert_eq!(r.target.models, ["X1"]);
        crate::updates::rollouts::rules::wave_specs(&r.waves).expect("valid waves");
        r.health_gate
            .expect("the example has a health gate")
            .validate()
            .expect("a valid gate");
    }
}
