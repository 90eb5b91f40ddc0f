//! `wavecast problem`: fleet problems — one fault code and signature across
//! many boxes, by model and version — and resolving one once a fix ships.

use clap::Subcommand;
use reqwest::Method;

use super::{client::Client, output};
use crate::fleet::{problems::rules::ProblemStatus, views::ProblemView};

#[derive(Debug, Subcommand)]
pub enum ProblemCommand {
    /// Problems, most recently seen first.
    List {
        /// open or resolved.
        #[arg(long)]
        status: Option<ProblemStatus>,
        /// Only this fault code.
        #[arg(long)]
        code: Option<String>,
        /// At most this many (up to 1000).
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
    /// One problem with its boxes by model and version.
    Show {
        /// The problem's id.
        id: String,
    },
    /// Mark a problem fixed: the same fault on a newer version reopens it.
    Resolve {
        /// The problem's id.
        id: String,
    },
}

const HEADER: &[&str] = &[
    "ID",
    "CODE",
    "STATUS",
    "BOXES",
    "FAULTS",
    "LAST SEEN",
    "TITLE",
];

fn at(secs: i64) -> String {
    output::time(chrono::DateTime::from_timestamp(secs, 0))
}

fn rows(list: &[ProblemView]) -> Vec<Vec<String>> {
    list.iter()
        .map(|p| {
            vec![
                p.id.to_string(),
                p.code.clone(),
                p.status.to_string(),
                p.devices.to_string(),
                p.occurrences.to_string(),
                at(p.last_seen_at),
                output::or_dash(p.title.as_deref()),
            ]
        })
        .collect()
}

fn detail(p: &ProblemView) -> String {
    let by = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k} ({v})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    output::fields(&[
        ("problem", p.id.to_string()),
        ("code", p.code.clone()),
        ("signature", output::or_dash(p.signature.as_deref())),
        ("title", output::or_dash(p.title.as_deref())),
        ("status", p.status.to_string()),
        ("boxes", p.devices.to_string()),
        ("faults", p.occurrences.to_string()),
        ("first seen", at(p.first_seen_at)),
        ("last seen", at(p.last_seen_at)),
        ("models", by(&p.models)),
        ("versions", by(&p.versions)),
        ("reopened", p.reopened_count.to_string()),
    ])
}

pub async fn run(client: &Client, cmd: ProblemCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        ProblemCommand::List {
            status,
            code,
            limit,
        } => {
            let mut q = vec![("limit", limit.to_string())];
            q.extend(status.map(|s| ("status", s.to_string())));
            q.extend(code.map(|c| ("code", c)));
            let list: Vec<ProblemView> = client.get("api/v1/problems", &q).await?;
            output::print(json, &list, HEADER, rows(&list));
        }
        ProblemCommand::Show { id } => {
            let p: ProblemView = client.get(&format!("api/v1/problems/{id}"), &[]).await?;
            if json {
                output::json(&p);
            } else {
                output::text(&detail(&p));
            }
        }
        ProblemCommand::Resolve { id } => {
            let p: ProblemView = client
                .send::<(), _>(
                    Method::POST,
                    &format!("api/v1/problems/{id}/resolve"),
                    &[],
                    None,
                )
                .await?;
            if json {
                output::json(&p);
            } else {
                output::text(&detail(&p));
            }
        }
    }
    Ok(())
}
