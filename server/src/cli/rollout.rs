//! `wavecast rollout`: create, list, show, pause, resume, approve, abort, rollback.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use reqwest::Method;

use super::{client::Client, output};
use crate::updates::views::{CreateRollout, RolloutView};

#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Create a rollout from a TOML or JSON file (see `wavecast rollout example`).
    Create { file: PathBuf },
    /// Print an example rollout file.
    Example,
    /// List rollouts.
    List {
        #[arg(long)]
        state: Option<String>,
    },
    /// Show a rollout with its progress.
    Show { id: String },
    /// Stop offering the rollout.
    Pause { id: String },
    /// Continue a paused rollout (its current failures are accepted).
    Resume { id: String },
    /// Open the next wave of a rollout waiting for approval.
    Approve { id: String },
    /// End the rollout for good.
    Abort { id: String },
    /// Abort the rollout and offer the previous versions to the devices that took it.
    Rollback { id: String },
}

pub const EXAMPLE: &str = r#"# A rollout: bundles in install order, a target, and waves.
name = "X1 firmware 4.2 with HEVC/AV1 codecs"
bundles = ["x1-firmware@4.2.0", "codec-pack-hevc-av1@2.0.0"]
# starts_at = "2026-12-01T02:00:00Z"   # default: now
device_timeout_secs = 3600             # silent this long mid-install = failed
# max_concurrent_downloads = 500       # at most this many devices downloading at once

[target]
models = ["X1"]
# revisions = ["A", "B"]
# regions = ["north"]
# tags = ["beta"]
# serials = ["SN000001"]
# installed = { name = "x1-firmware", version = "<4.2.0" }

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

pub async fn run(client: &Client, cmd: RolloutCommand, json: bool) -> anyhow::Result<()> {
    let one = |r: RolloutView| {
        let table = rows(std::slice::from_ref(&r));
        output::print(json, &r, HEADER, table);
        if !json {
            if let Some(reason) = &r.reason {
                eprintln!("reason: {reason}");
            }
        }
    };
    match cmd {
        RolloutCommand::Example => print!("{EXAMPLE}"),
        RolloutCommand::Create { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let body: CreateRollout = if file.extension().is_some_and(|e| e == "json") {
                serde_json::from_str(&text).with_context(|| format!("{}", file.display()))?
            } else {
                toml::from_str(&text).with_context(|| format!("{}", file.display()))?
            };
            one(client
                .send(Method::POST, "api/v1/rollouts", &[], Some(&body))
                .await?);
        }
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
