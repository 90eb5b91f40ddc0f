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
        entities::{device, rollout, rollout_device},
        error::Error,
    },
    state::AppState,
    updates::{
        rollouts::{
            control,
            rollback::roll_back,
            rules::{RolloutAction, RolloutState},
            store::find,
            view,
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
    let mut rows = Vec::new();
    for r in select.limit(200).all(&state.db).await? {
        rows.push(RolloutRow::of(&view::detail(&state.db, r, now).await?));
    }
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
    let r = find(&state.db, id).await?;
    let now = state.clock.now();
    let r = view::detail(&state.db, r, now).await?;
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
    // The boxes that started, by install state (at most 20 named each).
    let installs = rollout_device::Entity::find()
        .filter(rollout_device::Column::RolloutId.eq(r.id))
        .all(&state.db)
        .await?;
    let mut serials = std::collections::HashMap::new();
    let ids: Vec<uuid::Uuid> = installs.iter().map(|row| row.device_id).collect();
    for chunk in ids.chunks(500) {
        for d in device::Entity::find()
            .filter(device::Column::Id.is_in(chunk.iter().copied()))
            .all(&state.db)
            .await?
        {
            serials.insert(d.id, d.serial);
        }
    }
    let rows: Vec<(String, String)> = installs
        .into_iter()
        .map(|row| {
            (
                format!("{:?}", *row.state).to_lowercase(),
                serials.get(&row.device_id).cloned().unwrap_or_default(),
            )
        })
        .collect();
    let mut groups: Vec<BoxGroup> = Vec::new();
    for (st, serial) in rows {
        match groups.iter_mut().find(|g| g.state == st) {
            Some(g) => {
                g.count += 1;
                if g.serials.len() < 20 {
                    g.serials.push(serial);
                }
            }
            None => groups.push(BoxGroup {
                state: st,
                count: 1,
                serials: vec![serial],
            }),
        }
    }
    groups.sort_by(|a, b| a.state.cmp(&b.state));
    Ok(LiveData {
        polling: !matches!(r.state, RolloutState::Completed | RolloutState::Aborted),
        r,
        waves,
        soak_left,
        gate,
        groups,
    })
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
