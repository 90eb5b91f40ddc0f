//! `wavecast catalog`: the fault catalog — what each code boxes report
//! means, its class and severity, the article support staff read, and when
//! its faults open a ticket.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use reqwest::Method;

use super::{client::Client, output};
use crate::fleet::{
    catalog::rules::{FaultClass, Severity, TicketPolicy},
    views::{CatalogEntryBody, CatalogEntryView},
};

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Every entry.
    List,
    /// One entry with its article.
    Show {
        /// The fault code, e.g. HW-HDMI-001.
        code: String,
    },
    /// Create or replace an entry.
    Set {
        /// The fault code, e.g. HW-HDMI-001.
        code: String,
        /// What it is, in a line.
        #[arg(long)]
        title: String,
        /// hardware, software, network or user.
        #[arg(long)]
        class: FaultClass,
        /// minor, major or critical.
        #[arg(long)]
        severity: Severity,
        /// The knowledge-base article: a file (Markdown or text).
        #[arg(long, value_name = "FILE")]
        kb: PathBuf,
        /// Open a ticket after this many faults in the window.
        #[arg(long, default_value_t = 1)]
        occurrences: u32,
        /// The window, in hours.
        #[arg(long, default_value_t = 24)]
        window_hours: u32,
        /// Open a ticket at the first fault, whatever the count.
        #[arg(long)]
        immediate: bool,
    },
    /// Remove an entry (its faults open no tickets any more).
    Remove {
        /// The fault code.
        code: String,
    },
}

const HEADER: &[&str] = &["CODE", "CLASS", "SEVERITY", "TICKET AFTER", "TITLE"];

fn rows(list: &[CatalogEntryView]) -> Vec<Vec<String>> {
    list.iter()
        .map(|e| {
            let p = &e.entry.policy;
            vec![
                e.entry.code.clone(),
                e.entry.class.to_string(),
                e.entry.severity.to_string(),
                if p.immediate {
                    "first fault".into()
                } else {
                    format!("{} in {} h", p.occurrences, p.window_hours)
                },
                e.entry.title.clone(),
            ]
        })
        .collect()
}

pub async fn run(client: &Client, cmd: CatalogCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        CatalogCommand::List => {
            let list: Vec<CatalogEntryView> = client.get("api/v1/fault-catalog", &[]).await?;
            output::print(json, &list, HEADER, rows(&list));
        }
        CatalogCommand::Show { code } => {
            let e: CatalogEntryView = client
                .get(&format!("api/v1/fault-catalog/{code}"), &[])
                .await?;
            if json {
                output::json(&e);
            } else {
                output::text(&output::table(HEADER, rows(std::slice::from_ref(&e))));
                output::text(&format!("\n\n{}\n", e.entry.kb.trim_end()));
            }
        }
        CatalogCommand::Set {
            code,
            title,
            class,
            severity,
            kb,
            occurrences,
            window_hours,
            immediate,
        } => {
            let kb = std::fs::read_to_string(&kb)
                .with_context(|| format!("cannot read {}", kb.display()))?;
            let body = CatalogEntryBody {
                title,
                class,
                severity,
                kb,
                policy: TicketPolicy {
                    occurrences,
                    window_hours,
                    immediate,
                },
            };
            let e: CatalogEntryView = client
                .send(
                    Method::PUT,
                    &format!("api/v1/fault-catalog/{code}"),
                    &[],
                    Some(&body),
                )
                .await?;
            let r = rows(std::slice::from_ref(&e));
            output::print(json, &e, HEADER, r);
        }
        CatalogCommand::Remove { code } => {
            client
                .call::<()>(
                    Method::DELETE,
                    &format!("api/v1/fault-catalog/{code}"),
                    None,
                )
                .await?;
            if !json {
                eprintln!("fault code {code} removed from the catalog");
            }
        }
    }
    Ok(())
}
