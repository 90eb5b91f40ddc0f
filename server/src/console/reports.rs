//! `/reports`: the support report over a chosen period — SLA compliance
//! by plan and by kind (bars drawn on the server), median first response
//! and resolution, satisfaction by plan and by agent, warranty claims per
//! model and firmware, tickets opened per day by kind — and the same
//! figures as CSV (`/reports.csv`). Both read the REST report
//! (`support::reports::store::report`), so the page and the API agree.

use std::fmt::Write as _;

use actix_web::{http::header, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{
    guard::Signed,
    page::{render, Failure, Section, Shell},
    tickets::span,
};
use crate::{
    identity::auth::access,
    state::AppState,
    support::reports::{
        routes::period,
        store::{report, PlanLine, Report},
    },
};

/// The periods offered, in days.
pub const PERIODS: [u32; 5] = [1, 7, 30, 90, 365];

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    days: Option<u32>,
}

/// One line of a compliance chart.
#[derive(Debug)]
pub struct Compliance {
    pub name: String,
    pub tickets: u64,
    pub first: Option<f64>,
    pub resolution: Option<f64>,
    pub median_first: String,
    pub median_resolution: String,
    pub csat: String,
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.1}"))
}

fn lines(m: &std::collections::BTreeMap<String, PlanLine>) -> Vec<Compliance> {
    #[allow(clippy::cast_possible_truncation)] // Seconds well inside i64.
    let secs = |v: Option<f64>| v.map_or_else(|| "–".into(), |s| span(s.round() as i64));
    m.iter()
        .map(|(name, l)| Compliance {
            name: name.clone(),
            tickets: l.tickets,
            first: l.first_response_met_pct,
            resolution: l.resolution_met_pct,
            median_first: secs(l.median_first_response_secs),
            median_resolution: secs(l.median_resolution_secs),
            csat: l.csat_avg.map_or_else(
                || "–".into(),
                |a| format!("{a:.2} ({} answers)", l.csat_answers),
            ),
        })
        .collect()
}

/// A day, its tickets by kind, and its total.
type Day = (String, Vec<(String, u64)>, u64);

#[derive(Template)]
#[template(path = "console/reports.html")]
struct ReportsPage {
    shell: Shell,
    days: u32,
    periods: [u32; 5],
    r: Report,
    /// Title, element id, lines: by plan, then by kind.
    sections: Vec<(&'static str, &'static str, Vec<Compliance>)>,
    /// Day, then (kind, count), and the day's total.
    per_day: Vec<Day>,
    busiest: u64,
}

impl ReportsPage {
    fn pct(&self, v: &Option<f64>) -> String {
        pct(*v)
    }
    /// A bar's width in percent of the busiest day.
    fn width(&self, n: &u64) -> u64 {
        (n * 100).checked_div(self.busiest).unwrap_or(0)
    }
}

/// The report over the period asked for (the default when none is).
async fn report_for(state: &AppState, days: Option<u32>) -> Result<(u32, Report), Failure> {
    let days = period(days)?;
    let fleet = state.fleet_summary().await?;
    let r = report(
        &state.reads,
        days,
        state.clock.now(),
        &fleet.summary.versions,
    )
    .await?;
    Ok((days, r))
}

/// `GET /reports?days=N`
pub async fn page(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, Failure> {
    let (days, r) = report_for(&state, q.days).await?;
    let per_day: Vec<Day> = r
        .opened_per_day
        .iter()
        .map(|(day, k)| {
            let total = k.values().sum();
            (
                day.clone(),
                k.iter().map(|(a, b)| (a.clone(), *b)).collect(),
                total,
            )
        })
        .collect();
    render(&ReportsPage {
        shell: signed.shell("Reports", Section::Reports),
        days,
        periods: PERIODS,
        sections: vec![
            ("SLA compliance by plan", "by-plan", lines(&r.by_plan)),
            ("SLA compliance by kind", "by-kind", lines(&r.by_kind)),
        ],
        busiest: per_day.iter().map(|d| d.2).max().unwrap_or(0),
        per_day,
        r,
    })
}

/// `GET /reports.csv?days=N`: every figure of the page, one row each:
/// section, group, subgroup, measure, value.
pub async fn csv(
    _: Signed<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, Failure> {
    let (days, r) = report_for(&state, q.days).await?;
    let mut out = String::from("section,group,subgroup,measure,value\n");
    let mut row = |a: &str, b: &str, c: &str, d: &str, v: String| {
        let cell = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        let _ = writeln!(out, "{},{},{},{},{v}", cell(a), cell(b), cell(c), cell(d));
    };
    let opt = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.3}"));
    for (section, m) in [("by_plan", &r.by_plan), ("by_kind", &r.by_kind)] {
        for (g, l) in m {
            row(section, g, "", "tickets", l.tickets.to_string());
            row(
                section,
                g,
                "",
                "first_response_met_pct",
                opt(l.first_response_met_pct),
            );
            row(
                section,
                g,
                "",
                "resolution_met_pct",
                opt(l.resolution_met_pct),
            );
            row(
                section,
                g,
                "",
                "median_first_response_secs",
                opt(l.median_first_response_secs),
            );
            row(
                section,
                g,
                "",
                "median_resolution_secs",
                opt(l.median_resolution_secs),
            );
            row(section, g, "", "csat_avg", opt(l.csat_avg));
            row(section, g, "", "csat_answers", l.csat_answers.to_string());
        }
    }
    for (agent, (avg, n)) in &r.csat_by_agent {
        row("csat_by_agent", agent, "", "csat_avg", format!("{avg:.3}"));
        row("csat_by_agent", agent, "", "csat_answers", n.to_string());
    }
    for (model, fws) in &r.warranty_claims {
        for (fw, l) in fws {
            row("warranty_claims", model, fw, "claims", l.claims.to_string());
            row("warranty_claims", model, fw, "boxes", l.boxes.to_string());
            row(
                "warranty_claims",
                model,
                fw,
                "per_100_boxes",
                format!("{:.3}", l.per_100_boxes),
            );
        }
    }
    for (day, kinds) in &r.opened_per_day {
        for (kind, n) in kinds {
            row("opened_per_day", day, kind, "tickets", n.to_string());
        }
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"wavecast-report-{days}d.csv\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(out))
}
