//! The ticket report support managers read ([`report`]): SLA compliance by
//! plan, median times to first response and resolution, satisfaction by
//! plan and agent, and the warranty claim rate per model and firmware.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    fleet::views::VersionCount,
    platform::{
        entities::{device, survey, ticket, user},
        error::Result,
    },
    support::tickets::{
        rules::{median, SlaView, Target, TicketKind},
        view::sla_of,
    },
};

/// One plan's line of the report.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanLine {
    pub tickets: u64,
    /// Of tickets whose first response is due or done: answered in time.
    pub first_response_met_pct: Option<f64>,
    /// Of resolved tickets: resolved in time.
    pub resolution_met_pct: Option<f64>,
    pub median_first_response_secs: Option<f64>,
    pub median_resolution_secs: Option<f64>,
    pub csat_avg: Option<f64>,
    pub csat_answers: u64,
}

/// The report over tickets opened since `since`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    pub since: DateTime<Utc>,
    pub by_plan: BTreeMap<String, PlanLine>,
    /// The same figures by ticket kind (warranty, repair, support).
    #[serde(default)]
    pub by_kind: BTreeMap<String, PlanLine>,
    /// Day (UTC) → kind → tickets opened.
    #[serde(default)]
    pub opened_per_day: BTreeMap<String, BTreeMap<String, u64>>,
    /// Agent name → average score and answers.
    pub csat_by_agent: BTreeMap<String, (f64, u64)>,
    /// Model → firmware version → warranty tickets, boxes, claims per 100
    /// boxes.
    pub warranty_claims: BTreeMap<String, BTreeMap<String, ClaimLine>>,
}

/// One model and firmware's warranty claims.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClaimLine {
    pub claims: u64,
    pub boxes: u64,
    pub per_100_boxes: f64,
}

#[allow(clippy::cast_precision_loss)] // Counts far below 2^52.
fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// The firmware a box ran, from a ticket's stored versions: the component
/// whose name ends in `firmware` (as `fleet::summary::rules::firmware_of` names it).
fn firmware(versions: Option<&serde_json::Value>) -> String {
    let Some(o) = versions.and_then(|v| v.as_object()) else {
        return "unknown".into();
    };
    o.iter()
        .find(|(k, _)| k.ends_with("firmware"))
        .map_or("unknown".into(), |(k, v)| {
            format!("{k}@{}", v.as_str().unwrap_or("?"))
        })
}

#[derive(Default)]
struct Acc {
    tickets: u64,
    fr_due: u64,
    fr_met: u64,
    res_done: u64,
    res_met: u64,
    fr: Vec<i64>,
    res: Vec<i64>,
    scores: Vec<i64>,
}

fn avg(v: &[i64]) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)] // Scores 1–5, counts far below 2^52.
    (!v.is_empty()).then(|| v.iter().sum::<i64>() as f64 / v.len() as f64)
}

/// Counts ticket `t` (its targets as `view`, its survey `score`) into `a`.
fn tally(a: &mut Acc, t: &ticket::Model, view: &SlaView, score: Option<i64>) {
    a.tickets += 1;
    match view.first_response {
        Target::Met { at } => {
            a.fr_due += 1;
            a.fr_met += 1;
            a.fr.push((at - t.created_at).num_seconds());
        }
        Target::Missed { at, .. } => {
            a.fr_due += 1;
            a.fr.push((at - t.created_at).num_seconds());
        }
        Target::Breached { .. } => a.fr_due += 1,
        _ => {}
    }
    match view.resolution {
        Target::Met { at } => {
            a.res_done += 1;
            a.res_met += 1;
            a.res.push((at - t.created_at).num_seconds());
        }
        Target::Missed { at, .. } => {
            a.res_done += 1;
            a.res.push((at - t.created_at).num_seconds());
        }
        _ => {}
    }
    a.scores.extend(score);
}

fn line(mut a: Acc) -> PlanLine {
    PlanLine {
        tickets: a.tickets,
        first_response_met_pct: pct(a.fr_met, a.fr_due),
        resolution_met_pct: pct(a.res_met, a.res_done),
        median_first_response_secs: median(&mut a.fr),
        median_resolution_secs: median(&mut a.res),
        csat_avg: avg(&a.scores),
        csat_answers: a.scores.len() as u64,
    }
}

/// Builds the report at `now` over tickets opened in the last `days`;
/// `fleet` counts the boxes per model and firmware (the fleet summary).
pub async fn report(
    db: &impl ConnectionTrait,
    days: u32,
    now: DateTime<Utc>,
    fleet: &[VersionCount],
) -> Result<Report> {
    let since = now - Duration::days(i64::from(days));
    let rows = ticket::Entity::find()
        .filter(ticket::Column::CreatedAt.gte(since))
        .all(db)
        .await?;
    let surveys: BTreeMap<i64, survey::Model> = survey::Entity::find()
        .filter(survey::Column::AnsweredAt.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.ticket_id, s))
        .collect();
    let names: BTreeMap<Uuid, String> = user::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let mut plans: BTreeMap<String, Acc> = BTreeMap::new();
    let mut kinds: BTreeMap<String, Acc> = BTreeMap::new();
    let mut per_day: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut agents: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut claims: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut claim_devices: Vec<Uuid> = Vec::new();
    for t in &rows {
        let (_, view) = sla_of(t, now)?;
        let score = surveys.get(&t.id).and_then(|s| s.score).map(i64::from);
        tally(plans.entry(t.plan.clone()).or_default(), t, &view, score);
        tally(
            kinds.entry(t.kind.to_string()).or_default(),
            t,
            &view,
            score,
        );
        *per_day
            .entry(t.created_at.format("%Y-%m-%d").to_string())
            .or_default()
            .entry(t.kind.to_string())
            .or_default() += 1;
        if let Some(score) = score {
            let agent = t
                .assignee
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| "unassigned".into());
            agents.entry(agent).or_default().push(score);
        }
        if t.kind == TicketKind::Warranty {
            if let Some(d) = t.device_id {
                claim_devices.push(d);
            }
        }
    }
    // Claims per model and firmware, against the boxes of that model and
    // firmware in the fleet (the fleet summary's counts, about 30 s old:
    // counting a million boxes per report would dominate it).
    let boxes: BTreeMap<(String, String), u64> = fleet
        .iter()
        .map(|v| {
            let fw = v.firmware.clone().unwrap_or_else(|| "unknown".into());
            ((v.model.clone(), fw), v.devices)
        })
        .collect();
    let mut models: BTreeMap<Uuid, String> = BTreeMap::new();
    claim_devices.sort_unstable();
    claim_devices.dedup();
    // A bounded number of ids per query (SQLite takes 32,766 values).
    for ids in claim_devices.chunks(5_000) {
        let found: Vec<(Uuid, String)> = device::Entity::find()
            .select_only()
            .column(device::Column::Id)
            .column(device::Column::Model)
            .filter(device::Column::Id.is_in(ids.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        models.extend(found);
    }
    for t in rows.iter().filter(|t| t.kind == TicketKind::Warranty) {
        let Some(model) = t.device_id.and_then(|d| models.get(&d)) else {
            continue;
        };
        *claims
            .entry(model.clone())
            .or_default()
            .entry(firmware(t.versions.as_ref()))
            .or_default() += 1;
    }
    let warranty_claims = claims
        .into_iter()
        .map(|(model, by_fw)| {
            let lines = by_fw
                .into_iter()
                .map(|(fw, n)| {
                    let fleet = boxes
                        .get(&(model.clone(), fw.clone()))
                        .copied()
                        .unwrap_or(0);
                    let line = ClaimLine {
                        claims: n,
                        boxes: fleet,
                        per_100_boxes: pct(n, fleet).unwrap_or(0.0),
                    };
                    (fw, line)
                })
                .collect();
            (model, lines)
        })
        .collect();
    Ok(Report {
        since,
        by_plan: plans.into_iter().map(|(k, a)| (k, line(a))).collect(),
        by_kind: kinds.into_iter().map(|(k, a)| (k, line(a))).collect(),
        opened_per_day: per_day,
        csat_by_agent: agents
            .into_iter()
            .map(|(agent, v)| (agent, (avg(&v).unwrap_or(0.0), v.len() as u64)))
            .collect(),
        warranty_claims,
    })
}
