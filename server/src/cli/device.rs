//! `wavecast device`: list, show (with versions, rollout history, warranty,
//! subscriber and open tickets), a box's events and one health metric over
//! time (with a sparkline), accept, reject, decommission, region and tags
//! (`set`), and import pre-authorised serials from a manufacturing CSV.

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use reqwest::Method;
use wavecast_protocol::events::EventBody;

use super::{client::Client, output};
use crate::{
    fleet::views::{DeviceEvents, DevicePlacement, DeviceView, ImportResult, Series},
    http::params::Counted,
    support::{devices::DeviceDetail, tickets::rules::Warranty},
};

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// List devices.
    List {
        /// pending, accepted, rejected or decommissioned.
        #[arg(long)]
        status: Option<String>,
        /// Only boxes of this model.
        #[arg(long)]
        model: Option<String>,
        /// At most this many (up to 1000).
        #[arg(long, default_value_t = 100)]
        limit: u64,
        /// Skip this many first.
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Show a box: versions, rollout history, warranty, subscriber, open tickets.
    Show {
        /// The box's serial or id.
        reference: String,
    },
    /// A box's recent health reports and faults, newest first.
    Events {
        /// The box's serial or id.
        reference: String,
        /// Only `health` or only `fault` events.
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// At most this many (up to 1000).
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// One health metric of a box over time, with a sparkline.
    Series {
        /// The box's serial or id.
        reference: String,
        /// The metric, e.g. temperature_c, cpu_percent, decoder_errors.
        metric: String,
        /// How far back, in hours (default 24).
        #[arg(long, default_value_t = 24)]
        hours: i64,
        /// raw or hour (default: raw up to 31 days, hourly beyond).
        #[arg(long)]
        resolution: Option<String>,
    },
    /// Accept a pending device.
    Accept {
        /// The box's serial or id.
        reference: String,
    },
    /// Reject a pending device.
    Reject {
        /// The box's serial or id.
        reference: String,
    },
    /// Retire a device: its credential stops working and it cannot enrol again.
    Decommission {
        /// The box's serial or id.
        reference: String,
    },
    /// Set a box's region and tags (the fleet list filters and rollouts
    /// target by them); what is not given stays as it is.
    Set {
        /// The box's serial or id.
        reference: String,
        /// Its region, e.g. north.
        #[arg(long, conflicts_with = "no_region")]
        region: Option<String>,
        /// Clear its region.
        #[arg(long)]
        no_region: bool,
        /// Its tags, all of them (repeat for each; replaces the old ones).
        #[arg(long = "tag", conflicts_with = "no_tags")]
        tags: Vec<String>,
        /// Clear its tags.
        #[arg(long)]
        no_tags: bool,
    },
    /// Pre-authorise serials from a CSV (`serial[,model]` per line).
    Import {
        /// The CSV file.
        file: PathBuf,
    },
}

const HEADER: &[&str] = &[
    "SERIAL",
    "MODEL",
    "REV",
    "STATUS",
    "AGENT",
    "LAST SEEN",
    "ID",
];

fn rows(devices: &[DeviceView]) -> Vec<Vec<String>> {
    devices
        .iter()
        .map(|d| {
            vec![
                d.serial.clone(),
                d.model.clone(),
                d.hardware_revision.clone(),
                d.status.to_string(),
                d.agent_version.clone().unwrap_or_else(|| "-".into()),
                output::time(d.last_seen_at),
                d.id.to_string(),
            ]
        })
        .collect()
}

pub async fn run(client: &Client, cmd: DeviceCommand, json: bool) -> anyhow::Result<()> {
    let one = |d: DeviceView| {
        let r = rows(std::slice::from_ref(&d));
        output::print(json, &d, HEADER, r);
    };
    match cmd {
        DeviceCommand::List {
            status,
            model,
            limit,
            offset,
        } => {
            let mut q = vec![("limit", limit.to_string()), ("offset", offset.to_string())];
            q.extend(status.map(|s| ("status", s)));
            q.extend(model.map(|m| ("model", m)));
            let page: Counted<DeviceView> = client.get("api/v1/devices", &q).await?;
            output::print(json, &page, HEADER, rows(&page.items));
            if !json {
                eprintln!("{} of {} devices", page.items.len(), page.total);
            }
        }
        DeviceCommand::Show { reference } => {
            let d: DeviceDetail = client
                .get(&format!("api/v1/devices/{reference}"), &[])
                .await?;
            if json {
                output::json(&d);
            } else {
                output::text(&detail(&d));
            }
        }
        DeviceCommand::Events {
            reference,
            kind,
            limit,
        } => {
            let mut q = vec![("limit", limit.to_string())];
            q.extend(kind.map(|k| ("type", k)));
            let e: DeviceEvents = client
                .get(&format!("api/v1/devices/{reference}/events"), &q)
                .await?;
            output::print(json, &e, &["AT", "TYPE", "WHAT"], event_rows(&e));
            if !json && e.dropped_total > 0 {
                eprintln!(
                    "the box dropped {} event(s) while offline (queue full)",
                    e.dropped_total
                );
            }
        }
        DeviceCommand::Series {
            reference,
            metric,
            hours,
            resolution,
        } => {
            let to = chrono::Utc::now().timestamp();
            let from = to - hours.clamp(1, 400 * 24) * 3600;
            let mut q = vec![
                ("metric", metric),
                ("from", from.to_string()),
                ("to", to.to_string()),
            ];
            q.extend(resolution.map(|r| ("resolution", r)));
            let s: Series = client
                .get(&format!("api/v1/devices/{reference}/series"), &q)
                .await?;
            if json {
                output::json(&s);
            } else {
                output::text(&series(&s));
            }
        }
        DeviceCommand::Accept { reference } => one(action(client, &reference, "accept").await?),
        DeviceCommand::Reject { reference } => one(action(client, &reference, "reject").await?),
        DeviceCommand::Decommission { reference } => {
            one(action(client, &reference, "decommission").await?)
        }
        DeviceCommand::Set {
            reference,
            region,
            no_region,
            tags,
            no_tags,
        } => {
            let body = DevicePlacement {
                region: if no_region {
                    Some(None)
                } else {
                    region.map(Some)
                },
                tags: if no_tags {
                    Some(Vec::new())
                } else {
                    (!tags.is_empty()).then_some(tags)
                },
            };
            if body == DevicePlacement::default() {
                anyhow::bail!("nothing to set: give --region, --no-region, --tag or --no-tags");
            }
            let d: DeviceView = client
                .send(
                    Method::PATCH,
                    &format!("api/v1/devices/{reference}"),
                    &[],
                    Some(&body),
                )
                .await?;
            if json {
                output::json(&d);
            } else {
                crate::outln!(
                    "{}: region {}, tags {}",
                    d.serial,
                    d.region.as_deref().unwrap_or("-"),
                    if d.tags.is_empty() {
                        "-".to_owned()
                    } else {
                        d.tags.join(", ")
                    }
                );
            }
        }
        DeviceCommand::Import { file } => {
            let csv = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let len = csv.len() as u64;
            let (_, r): (u16, ImportResult) = client
                .upload("api/v1/devices/import", &[], csv.into(), len)
                .await?;
            if json {
                output::json(&r);
            } else {
                crate::outln!(
                    "{} serials pre-authorised ({} already were); {} waiting devices accepted",
                    r.added,
                    r.already,
                    r.accepted
                );
            }
        }
    }
    Ok(())
}

/// A warranty in words.
pub fn warranty_text(w: &Warranty) -> String {
    w.describe()
}

/// A box's page as text.
fn detail(d: &DeviceDetail) -> String {
    let v = &d.device;
    let installed: Vec<String> = match &v.installed {
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|c| {
                Some(format!(
                    "{}@{}",
                    c.get("name")?.as_str()?,
                    c.get("version")?.as_str()?
                ))
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut s = output::fields(&[
        ("serial", v.serial.clone()),
        ("id", v.id.to_string()),
        ("model", format!("{} rev {}", v.model, v.hardware_revision)),
        ("status", v.status.to_string()),
        (
            "online",
            format!(
                "{} (last seen {})",
                if d.online { "yes" } else { "no" },
                output::time(v.last_seen_at)
            ),
        ),
        ("agent", output::or_dash(v.agent_version.as_deref())),
        ("boot slot", output::or_dash(v.boot_slot.as_deref())),
        ("region", output::or_dash(v.region.as_deref())),
        (
            "tags",
            if v.tags.is_empty() {
                "-".into()
            } else {
                v.tags.join(", ")
            },
        ),
        (
            "installed",
            if installed.is_empty() {
                "-".into()
            } else {
                installed.join(", ")
            },
        ),
        ("warranty", warranty_text(&d.warranty)),
        (
            "subscriber",
            d.subscriber.as_ref().map_or_else(
                || "-".into(),
                |s| format!("{} {} ({} plan)", s.account, s.name, s.plan),
            ),
        ),
    ]);
    s.push_str(&output::heading("Rollouts"));
    if d.rollouts.is_empty() {
        s.push_str("none has reached this box\n");
    } else {
        let rows = d
            .rollouts
            .iter()
            .map(|r| {
                vec![
                    r.rollout.clone(),
                    r.bundle.clone(),
                    format!("{:?}", r.state).to_lowercase(),
                    r.code.clone().unwrap_or_default(),
                    output::time(Some(r.updated_at)),
                ]
            })
            .collect();
        s.push_str(&output::table(
            &["ROLLOUT", "BUNDLE", "STATE", "CODE", "UPDATED"],
            rows,
        ));
        s.push('\n');
    }
    s.push_str(&output::heading("Open tickets"));
    if d.open_tickets.is_empty() {
        s.push_str("none\n");
    } else {
        let rows = d
            .open_tickets
            .iter()
            .map(|t| {
                vec![
                    t.id.to_string(),
                    t.kind.to_string(),
                    t.status.to_string(),
                    t.priority.to_string(),
                    output::or_dash(t.assignee.as_deref()),
                    t.subject.clone(),
                ]
            })
            .collect();
        s.push_str(&output::table(
            &["ID", "KIND", "STATUS", "PRIORITY", "ASSIGNEE", "SUBJECT"],
            rows,
        ));
        s.push('\n');
    }
    s
}

fn at(secs: i64) -> String {
    output::time(DateTime::<Utc>::from_timestamp(secs, 0))
}

fn event_rows(e: &DeviceEvents) -> Vec<Vec<String>> {
    e.events
        .iter()
        .map(|ev| match &ev.event.body {
            EventBody::Health(h) => {
                let mut parts = Vec::new();
                if let Some(t) = h.temperature_c {
                    parts.push(format!("{t:.1} °C"));
                }
                if let Some(c) = h.cpu_percent {
                    parts.push(format!("cpu {c:.0} %"));
                }
                if let Some(m) = h.mem_available_kib {
                    parts.push(format!("mem free {} MiB", m / 1024));
                }
                for (k, v) in &h.metrics {
                    parts.push(format!("{k} {v}"));
                }
                vec![at(h.at), "health".into(), parts.join(", ")]
            }
            EventBody::Fault(f) => vec![
                at(f.at),
                "fault".into(),
                match &f.details {
                    Some(d) => format!("{}: {d}", f.code),
                    None => f.code.clone(),
                },
            ],
        })
        .collect()
}

/// A series as a sparkline with its range and figures.
fn series(s: &Series) -> String {
    let values: Vec<f64> = s.points.iter().map(|p| p.1).collect();
    if values.is_empty() {
        return format!(
            "{}: no points from {} to {}\n",
            s.metric,
            at(s.from),
            at(s.to)
        );
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let last = values.last().copied().unwrap_or_default();
    let mut out = format!(
        "{}  {} to {}  ({} points, {})\n{}\nmin {lo}  max {hi}  last {last}\n",
        s.metric,
        at(s.from),
        at(s.to),
        values.len(),
        match s.resolution {
            crate::fleet::telemetry::rules::Resolution::Raw => "raw",
            crate::fleet::telemetry::rules::Resolution::Hour => "hourly means",
        },
        output::sparkline(&values, 60),
    );
    if s.truncated {
        out.push_str("(more points than the limit: the line stops early)\n");
    }
    out
}

async fn action(client: &Client, reference: &str, action: &str) -> anyhow::Result<DeviceView> {
    client
        .send::<(), _>(
            Method::POST,
            &format!("api/v1/devices/{reference}/{action}"),
            &[],
            None,
        )
        .await
}
