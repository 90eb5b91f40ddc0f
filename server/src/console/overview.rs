//! `/`: the fleet at a glance — boxes accepted, waiting and online, the
//! active rollouts with their bars (refreshing themselves), open fleet
//! problems, boxes by model and firmware, and fault rates per firmware.

use actix_web::{web, HttpResponse};
use askama::Template;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use super::{
    bars::{self, Part},
    guard::Signed,
    page::{render, Failure, Section, Shell},
};
use crate::{
    fleet::{
        devices::rules::DeviceStatus,
        problems::{rules::ProblemStatus, store as problems},
        views::ProblemView,
    },
    identity::auth::access,
    platform::entities::{device, rollout},
    state::AppState,
    updates::{
        rollouts::{
            rules::RolloutState,
            snapshot::{self, Stale},
        },
        views::RolloutView,
    },
};

/// An active rollout as the overview and the rollout list show it.
#[derive(Debug)]
pub struct RolloutRow {
    pub id: String,
    pub name: String,
    pub state: &'static str,
    pub waves: String,
    pub target: u64,
    pub bar: Vec<Part>,
    pub why: String,
}

impl RolloutRow {
    /// From a rollout's view with its progress.
    pub fn of(r: &RolloutView) -> Self {
        let (target, bar, why) = match &r.progress {
            Some(p) => {
                let sum = |f: fn(&crate::updates::rollouts::progress::WaveCounts) -> u64| {
                    p.waves.iter().map(f).sum::<u64>()
                };
                let failed = sum(|w| w.failed + w.rolled_back);
                let ok = sum(|w| w.succeeded);
                let busy = sum(|w| w.downloading + w.installing);
                let gone = sum(|w| w.not_reached);
                let pending = p.target_size.saturating_sub(ok + failed + busy + gone);
                (
                    p.target_size,
                    bars::stack(&[
                        ("ok", "succeeded", ok),
                        ("bad", "failed or rolled back", failed),
                        ("busy", "in progress", busy),
                        ("wait", "not yet", pending),
                        ("gone", "not reached", gone),
                    ]),
                    p.waiting_reason.clone().unwrap_or_default(),
                )
            }
            None => (
                0,
                Vec::new(),
                "not read yet: the scheduler's next pass reads it".into(),
            ),
        };
        RolloutRow {
            id: r.id.to_string(),
            name: r.name.clone(),
            state: r.state.as_str(),
            waves: format!("{}/{}", r.open_waves, r.waves.len()),
            target,
            bar,
            why,
        }
    }
}

/// The active rollouts (not completed or aborted), newest first.
pub async fn active_rollouts(state: &AppState) -> Result<Vec<RolloutRow>, Failure> {
    let rows = rollout::Entity::find()
        .filter(rollout::Column::State.is_in([
            RolloutState::Scheduled,
            RolloutState::Running,
            RolloutState::Paused,
            RolloutState::AwaitingApproval,
        ]))
        .order_by_desc(rollout::Column::CreatedAt)
        .all(&state.reads)
        .await?;
    let now = state.clock.now();
    Ok(snapshot::shown(state.connections(), rows, now, Stale::Keep)
        .await?
        .iter()
        .map(|(r, _)| RolloutRow::of(r))
        .collect())
}

/// One model and firmware's boxes, as a bar.
#[derive(Debug)]
struct VersionBar {
    model: String,
    firmware: String,
    devices: u64,
    online: u64,
    width: f64,
}

/// One model and firmware's fault rate.
#[derive(Debug)]
struct RateRow {
    model: String,
    firmware: String,
    faults: u64,
    days: String,
    rate: String,
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    shell: Shell,
    accepted: u64,
    pending: u64,
    online: u64,
    rollouts: Vec<RolloutRow>,
    problems: Vec<ProblemView>,
    versions: Vec<VersionBar>,
    rates: Vec<RateRow>,
    rates_note: Option<String>,
    /// When the breakdowns were worked out ("14:02:31 UTC").
    summarised_at: String,
}

#[derive(Template)]
#[template(path = "console/overview_rollouts.html")]
struct RolloutsPanel {
    shell: Shell,
    rollouts: Vec<RolloutRow>,
}

/// `GET /`
pub async fn page(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let count = |s: DeviceStatus| {
        device::Entity::find()
            .filter(device::Column::Status.eq(s))
            .count(&state.reads)
    };
    let accepted = count(DeviceStatus::Accepted).await?;
    let pending = count(DeviceStatus::Pending).await?;
    let summarised = state.fleet_summary().await?;
    let summary = &summarised.summary;
    let max = summary
        .versions
        .iter()
        .map(|v| v.devices)
        .max()
        .unwrap_or(0);
    let versions = summary
        .versions
        .iter()
        .map(|v| VersionBar {
            model: v.model.clone(),
            firmware: v.firmware.clone().unwrap_or_else(|| "unknown".into()),
            devices: v.devices,
            online: v.online,
            width: bars::share(v.devices, max),
        })
        .collect();
    let rates = summary
        .fault_rates
        .iter()
        .map(|r| RateRow {
            model: r.model.clone(),
            firmware: r.firmware.clone().unwrap_or_else(|| "unknown".into()),
            faults: r.faults,
            days: format!("{:.1}", r.device_days),
            rate: r
                .per_1000_device_days
                .map_or_else(|| "not yet".into(), |v| format!("{v:.1}")),
        })
        .collect();
    let problems = problems::list(&state.reads, Some(ProblemStatus::Open), None, 5).await?;
    render(&OverviewPage {
        shell: signed.shell("Overview", Section::Overview),
        accepted,
        pending,
        online: summary.online,
        rollouts: active_rollouts(&state).await?,
        problems,
        versions,
        rates,
        rates_note: summary.rates_note.clone(),
        summarised_at: summarised.at.format("%H:%M:%S UTC").to_string(),
    })
}

/// `GET /overview/rollouts`: the active rollouts' panel, refreshed by the
/// overview.
pub async fn rollouts_panel(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    render(&RolloutsPanel {
        shell: signed.shell("Overview", Section::Overview),
        rollouts: active_rollouts(&state).await?,
    })
}
