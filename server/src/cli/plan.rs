//! `wavecast plan`: subscriber plans with their SLA policy per ticket kind;
//! create or re-rank a plan, and set one kind's targets and calendar.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use clap::Subcommand;
use reqwest::Method;

use super::{client::Client, output};
use crate::support::{
    sla::CalendarSpec,
    tickets::rules::{SlaTerms, TicketKind},
    views::{PlanBody, PlanView},
};

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Every plan with its SLA targets per ticket kind.
    List,
    /// Create a plan (starting from the basic plan's policies) or rename and re-rank one.
    Set {
        /// The plan's key, e.g. vip.
        key: String,
        /// Its name as people read it.
        #[arg(long)]
        name: String,
        /// Higher is served first; 2 and above raise ticket priority.
        #[arg(long)]
        rank: i32,
    },
    /// Set a plan's SLA for one ticket kind (applies to tickets opened or re-routed afterwards).
    Sla {
        /// The plan's key.
        key: String,
        /// warranty, repair or support.
        kind: TicketKind,
        /// Time to the first public answer, e.g. 30m, 4h, 2d.
        #[arg(long, value_parser = parse_span)]
        first_response: i64,
        /// Time to resolution, e.g. 8h, 5d.
        #[arg(long, value_parser = parse_span)]
        resolution: i64,
        /// Business hours, e.g. mon-fri=09:00-18:00 or sat=10:00-14:00 (repeat);
        /// none: the clock runs around the clock.
        #[arg(long = "hours", value_name = "DAYS=FROM-TO")]
        hours: Vec<String>,
        /// The business hours' IANA time zone, e.g. Europe/Paris.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// A closed day, YYYY-MM-DD (repeat).
        #[arg(long = "holiday", value_name = "DATE")]
        holidays: Vec<NaiveDate>,
        /// Warn once this share of a target has passed, in percent.
        #[arg(long, default_value_t = 80)]
        warn_pct: u8,
        /// The user a breached ticket is handed to.
        #[arg(long)]
        escalate_to: Option<String>,
    },
}

/// `30m`, `4h`, `2d`, `90s` or plain seconds.
fn parse_span(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (n, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, "s"),
    };
    let n: i64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30m, 4h or 2d"))?;
    let unit = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => return Err(format!("unknown unit {other:?}; use s, m, h or d")),
    };
    n.checked_mul(unit)
        .ok_or_else(|| format!("{s:?} is too long"))
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `mon-fri=09:00-18:00` → each day's hours.
fn parse_hours(specs: &[String]) -> anyhow::Result<BTreeMap<String, [String; 2]>> {
    let mut out = BTreeMap::new();
    for spec in specs {
        let bad = || {
            anyhow::anyhow!("--hours {spec:?}: expected DAYS=HH:MM-HH:MM, e.g. mon-fri=09:00-18:00")
        };
        let (days, times) = spec.split_once('=').ok_or_else(bad)?;
        let (from, to) = times.split_once('-').ok_or_else(bad)?;
        let index = |d: &str| DAYS.iter().position(|x| *x == d.trim().to_lowercase());
        let (a, b) = match days.split_once('-') {
            Some((a, b)) => (index(a).ok_or_else(bad)?, index(b).ok_or_else(bad)?),
            None => {
                let i = index(days).ok_or_else(bad)?;
                (i, i)
            }
        };
        if a > b {
            return Err(bad());
        }
        for d in &DAYS[a..=b] {
            out.insert(
                (*d).to_owned(),
                [from.trim().to_owned(), to.trim().to_owned()],
            );
        }
    }
    Ok(out)
}

fn terms_text(t: &SlaTerms) -> String {
    let cal = match &t.calendar {
        CalendarSpec::Always => "24/7".to_owned(),
        CalendarSpec::BusinessHours {
            timezone, hours, ..
        } => {
            // Runs of days with the same hours: `mon-fri 09:00-18:00`.
            let mut runs: Vec<(usize, usize, &[String; 2])> = Vec::new();
            for (i, d) in DAYS.iter().enumerate() {
                let Some(h) = hours.get(*d) else { continue };
                match runs.last_mut() {
                    Some((_, end, same)) if *end + 1 == i && *same == h => *end = i,
                    _ => runs.push((i, i, h)),
                }
            }
            let days: Vec<String> = runs
                .iter()
                .map(|(a, b, [from, to])| {
                    if a == b {
                        format!("{} {from}-{to}", DAYS[*a])
                    } else {
                        format!("{}-{} {from}-{to}", DAYS[*a], DAYS[*b])
                    }
                })
                .collect();
            format!("{} ({timezone})", days.join(", "))
        }
    };
    format!(
        "answer {}, resolve {}, {cal}",
        output::span(t.first_response_secs),
        output::span(t.resolution_secs)
    )
}

pub async fn run(client: &Client, cmd: PlanCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        PlanCommand::List => {
            let plans: Vec<PlanView> = client.get("api/v1/plans", &[]).await?;
            let rows = plans
                .iter()
                .flat_map(|p| {
                    p.sla.iter().map(move |(kind, t)| {
                        vec![
                            p.key.clone(),
                            p.name.clone(),
                            p.rank.to_string(),
                            kind.to_string(),
                            terms_text(t),
                            output::or_dash(t.escalate_to.as_deref()),
                        ]
                    })
                })
                .collect();
            output::print(
                json,
                &plans,
                &["PLAN", "NAME", "RANK", "KIND", "SLA", "ESCALATE TO"],
                rows,
            );
        }
        PlanCommand::Set { key, name, rank } => {
            client
                .call(
                    Method::PUT,
                    &format!("api/v1/plans/{key}"),
                    Some(&PlanBody { name, rank }),
                )
                .await?;
            if !json {
                eprintln!("plan {key} saved");
            }
        }
        PlanCommand::Sla {
            key,
            kind,
            first_response,
            resolution,
            hours,
            timezone,
            holidays,
            warn_pct,
            escalate_to,
        } => {
            let calendar = if hours.is_empty() {
                CalendarSpec::Always
            } else {
                CalendarSpec::BusinessHours {
                    timezone,
                    hours: parse_hours(&hours)?,
                    holidays,
                }
            };
            let terms = SlaTerms {
                first_response_secs: first_response,
                resolution_secs: resolution,
                calendar,
                warn_pct,
                escalate_to,
            };
            client
                .call(
                    Method::PUT,
                    &format!("api/v1/plans/{key}/sla/{kind}"),
                    Some(&terms),
                )
                .await?;
            if !json {
                eprintln!("plan {key}, {kind} tickets: {}", terms_text(&terms));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_hours_read_as_written() {
        assert_eq!(parse_span("30m"), Ok(1800));
        assert_eq!(parse_span("4h"), Ok(14_400));
        assert_eq!(parse_span("2d"), Ok(172_800));
        assert_eq!(parse_span("90"), Ok(90));
        assert!(parse_span("4 weeks").is_err());
        let h =
            parse_hours(&["mon-fri=09:00-18:00".into(), "sat=10:00-14:00".into()]).expect("parses");
        assert_eq!(h.len(), 6);
        assert_eq!(h["wed"], ["09:00".to_owned(), "18:00".to_owned()]);
        assert!(!h.contains_key("sun"));
        assert!(parse_hours(&["fri-mon=09:00-18:00".into()]).is_err());
        assert!(parse_hours(&["weekdays".into()]).is_err());
        let terms = SlaTerms {
            first_response_secs: 3600,
            resolution_secs: 86_400,
            calendar: CalendarSpec::BusinessHours {
                timezone: "Europe/Paris".into(),
                hours: h,
                holidays: vec![],
            },
            warn_pct: 80,
            escalate_to: None,
        };
        assert_eq!(
            terms_text(&terms),
            "answer 60 min, resolve 24 h, mon-fri 09:00-18:00, sat 10:00-14:00 (Europe/Paris)"
        );
    }
}
