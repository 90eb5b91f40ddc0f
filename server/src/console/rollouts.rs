//! `/rollouts`: the rollouts with their bars; `/rollouts/{id}`: one, live
//! — a bar per wave (succeeded, failed, in progress, held back, not heard
//! from, pending, not reached), the soak's end, the approval banner, the
//! health gate's figures against its limit, the reason it waits, the boxes
//! in each state, and pause, resume, approve, abort and roll back with a
//! confirmation. The live part refreshes itself every `console.poll_millis`
//! (answered 304 when nothing changed) and stops once the rollout ends.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use askama::Template;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use wavecast_protocol::status::InstallState;

use super::{
    bars::{self, Part},
    guard::{Posted, Signed},
    overview::RolloutRow,
    page::{html_response, render, see_other, Failure, Section, Shell},
    sign_in::Empty,
};
use crate::{
    identity::auth::access,
    platform::{
        entities::{columns::Stored, device, rollout, rollout_device},
        error::Error,
    },
    state::AppState,
    updates::{
        rollouts::{
            control,
            progress::WaveCounts,
            rollback::roll_back,
            rules::{RolloutAction, RolloutState},
            snapshot::{self, Stale},
            store::find,
        },
        views::RolloutView,
    },
};

#[derive(Template)]
#[template(path = "console/rollouts.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<RolloutRow>,
    filter: String,
    states: [&'static str; 6],
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    state: Option<String>,
}

/// `GET /rollouts`
pub async fn list(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, Failure> {
    let filter = q.state.clone().unwrap_or_default();
    let mut select = rollout::Entity::find().order_by_desc(rollout::Column::CreatedAt);
    if !filter.is_empty() {
        let s: RolloutState = filter.parse().map_err(Error::Validation)?;
        select = select.filter(rollout::Column::State.eq(s));
    }
    let now = state.clock.now();
    let listed = select.limit(200).all(&state.reads).await?;
    let rows = snapshot::shown(state.connections(), listed, now, Stale::Keep)
        .await?
        .iter()
        .map(|(r, _)| RolloutRow::of(r))
        .collect();
    render(&ListPage {
        shell: signed.shell("Rollouts", Section::Rollouts),
        rows,
        filter,
        states: [
            "scheduled",
            "running",
            "awaiting_approval",
            "paused",
            "completed",
            "aborted",
        ],
    })
}

/// One wave as the page shows it.
#[derive(Debug)]
struct WaveRow {
    wave: u32,
    open: bool,
    targeted: u64,
    bar: Vec<Part>,
}

/// Boxes in one install state.
#[derive(Debug)]
struct BoxGroup {
    state: String,
    count: u64,
    serials: Vec<String>,
}

/// What the live part shows.
#[derive(Debug)]
struct LiveData {
    r: RolloutView,
    /// When its boxes were read ("14:02:31 UTC"; a time, not an age, so
    /// that the part only changes when something did).
    read_at: Option<String>,
    waves: Vec<WaveRow>,
    /// Still changing: the part keeps refreshing itself.
    polling: bool,
    soak_left: Option<String>,
    gate: Option<GateRow>,
    groups: Vec<BoxGroup>,
}

#[derive(Template)]
#[template(path = "console/rollout_live.html")]
struct Live {
    shell: Shell,
    l: LiveData,
}

/// The health gate against its limit.
#[derive(Debug)]
struct GateRow {
    verdict: String,
    updated: String,
    not_updated: String,
    ratio: String,
    limit: String,
}

#[derive(Template)]
#[template(path = "console/rollout.html")]
struct DetailPage {
    shell: Shell,
    l: LiveData,
}

fn rate(v: Option<f64>) -> String {
    v.map_or_else(|| "not yet".into(), |v| format!("{v:.1}"))
}

async fn live(state: &AppState, id: &str) -> Result<LiveData, Failure> {
    let r = find(&state.reads, id).await?;
    let now = state.clock.now();
    let (r, read_at) = snapshot::shown(state.connections(), vec![r], now, Stale::Refresh)
        .await?
        .pop()
        .ok_or_else(|| Error::NotFound(format!("no rollout {id}")))?;
    let read_at = read_at.map(|at| at.format("%H:%M:%S UTC").to_string());
    let waves = r
        .progress
        .as_ref()
        .map(|p| {
            p.waves
                .iter()
                .map(|w| WaveRow {
                    wave: w.wave,
                    open: w.open,
                    targeted: w.targeted,
                    bar: bars::stack(&[
                        ("ok", "succeeded", w.succeeded),
                        ("bad", "failed", w.failed),
                        ("bad", "rolled back", w.rolled_back),
                        ("busy", "downloading", w.downloading),
                        ("busy", "installing", w.installing),
                        ("wait", "take it at their next check-in", w.eligible_now),
                        (
                            "wait",
                            "held back by window or limit",
                            w.held_by_window + w.held_by_limit,
                        ),
                        ("idle", "not heard from", w.not_heard_from),
                        ("gone", "not reached", w.not_reached),
                        ("gone", "not entitled (licensed bundles)", w.not_entitled),
                        (
                            "idle",
                            "wave not open yet",
                            if w.open { 0 } else { w.targeted },
                        ),
                    ]),
                })
                .collect()
        })
        .unwrap_or_default();
    let soak_left = r
        .progress
        .as_ref()
        .and_then(|p| p.soak_ends_at)
        .filter(|end| *end > now)
        .map(|end| {
            let secs = (end - now).num_seconds();
            if secs >= 120 {
                format!("{} min", secs / 60)
            } else {
                format!("{secs} s")
            }
        });
    let gate = r
        .progress
        .as_ref()
        .and_then(|p| p.gate.as_ref())
        .map(|g| GateRow {
            verdict: g.verdict.replace('_', " "),
            updated: format!(
                "{} faults in {:.1} device-days: {} per 1,000",
                g.updated.faults,
                g.updated.device_days,
                rate(g.updated.per_1000_device_days)
            ),
            not_updated: format!(
                "{} faults in {:.1} device-days: {} per 1,000",
                g.not_updated.faults,
                g.not_updated.device_days,
                rate(g.not_updated.per_1000_device_days)
            ),
            ratio: g
                .ratio
                .map_or_else(|| "not yet".into(), |v| format!("{v:.2}×")),
            limit: format!(
                "{}× once each side has {} device-days",
                g.max_ratio, g.min_device_days
            ),
        });
    let groups = started(state, &r).await?;
    Ok(LiveData {
        polling: !matches!(r.state, RolloutState::Completed | RolloutState::Aborted),
        read_at,
        r,
        waves,
        soak_left,
        gate,
        groups,
    })
}

/// The boxes that started, by stage (the counts of the reading), with up
/// to 20 of each named.
async fn started(state: &AppState, r: &RolloutView) -> Result<Vec<BoxGroup>, Failure> {
    let Some(p) = &r.progress else {
        return Ok(Vec::new());
    };
    let sum = |f: fn(&WaveCounts) -> u64| p.waves.iter().map(f).sum::<u64>();
    let stages: [(&str, u64, &[InstallState]); 5] = [
        (
            "downloading",
            sum(|w| w.downloading),
            &[InstallState::Downloading, InstallState::Downloaded],
        ),
        (
            "installing",
            sum(|w| w.installing),
            &[InstallState::Installing, InstallState::Rebooting],
        ),
        (
            "succeeded",
            sum(|w| w.succeeded),
            &[InstallState::Succeeded],
        ),
        ("failed", sum(|w| w.failed), &[InstallState::Failed]),
        (
            "rolled back",
            sum(|w| w.rolled_back),
            &[InstallState::RolledBack],
        ),
    ];
    let mut out = Vec::new();
    for (label, count, states) in stages {
        if count == 0 {
            continue;
        }
        let ids: Vec<uuid::Uuid> = rollout_device::Entity::find()
            .select_only()
            .column(rollout_device::Column::DeviceId)
            .filter(rollout_device::Column::RolloutId.eq(r.id))
            .filter(
                rollout_device::Column::State
                    .is_in(states.iter().map(|s| Stored(*s)).collect::<Vec<_>>()),
            )
            .limit(20)
            .into_tuple()
            .all(&state.reads)
            .await?;
        let serials = device::Entity::find()
            .select_only()
            .column(device::Column::Serial)
            .filter(device::Column::Id.is_in(ids))
            .order_by_asc(device::Column::Serial)
            .into_tuple()
            .all(&state.reads)
            .await?;
        out.push(BoxGroup {
            state: label.to_owned(),
            count,
            serials,
        });
    }
    Ok(out)
}

/// `GET /rollouts/{id}`
pub async fn page(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let l = live(&state, &id).await?;
    render(&DetailPage {
        shell: signed.shell(l.r.name.clone(), Section::Rollouts),
        l,
    })
}

/// `GET /rollouts/{id}/live`: the live part alone; 304 when it is the same
/// as the page already shows (its `ETag`).
pub async fn live_part(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, Failure> {
    let part = Live {
        shell: signed.shell("Rollout", Section::Rollouts),
        l: live(&state, &id).await?,
    };
    etagged(&part, &req)
}

/// A self-refreshing part of a page: its HTML with an `ETag`, or 304 when
/// the poller already has this very HTML.
pub fn etagged(part: &impl Template, req: &HttpRequest) -> Result<HttpResponse, Failure> {
    let html = part
        .render()
        .map_err(|e| Failure::from(Error::Internal(anyhow::anyhow!("template: {e}"))))?;
    let etag = format!(
        "\"{}\"",
        hex::encode(&Sha256::digest(html.as_bytes())[..12])
    );
    let same = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    if same {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    }
    let mut res = html_response(actix_web::http::StatusCode::OK, html);
    res.headers_mut().insert(
        header::ETAG,
        header::HeaderValue::from_str(&etag).map_err(|e| Error::Internal(e.into()))?,
    );
    Ok(res)
}

/// `POST /rollouts/{id}/{pause|resume|approve|abort|rollback}`: from the
/// page's script, the live part as it is now (no reload); from a plain
/// form, back to the page. A rollback goes to the new rollout's page.
pub async fn act(
    posted: Posted<access::Operator, Empty>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, Failure> {
    let (id, action) = path.into_inner();
    let htmx = req.headers().contains_key("hx-request");
    if action == "rollback" {
        let created = roll_back(&state, &posted.signed, &id).await?;
        let to = format!("/rollouts/{}", created.id);
        return Ok(if htmx {
            HttpResponse::Ok()
                .insert_header(("HX-Redirect", to))
                .finish()
        } else {
            see_other(&to)
        });
    }
    let action: RolloutAction = action.parse().map_err(Error::NotFound)?;
    let r = control::act(&state, &posted.signed, &id, action).await?;
    if htmx {
        let part = Live {
            shell: posted.signed.shell("Rollout", Section::Rollouts),
            l: live(&state, &r.id.to_string()).await?,
        };
        return render(&part);
    }
    Ok(see_other(&format!("/rollouts/{}", r.id)))
}
