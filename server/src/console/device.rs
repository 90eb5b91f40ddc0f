//! `/devices/{ref}`: one box — identity and inventory, installed
//! components, its telemetry as charts over 24 h, 7, 31 or 400 days (raw
//! reports, then hourly with the minimum–maximum band) with markers where
//! its firmware changed and where it faulted, its install history by
//! rollout, recent events, its fleet problems, and links to its
//! subscriber, warranty and tickets.

use actix_web::{web, HttpResponse};
use askama::Template;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use wavecast_protocol::events::EventBody;

use super::{
    charts::{self, Chart, Marker, RANGES},
    guard::Signed,
    licences::{held_by_box, Held},
    page::{render, Failure, Section, Shell},
};
use crate::{
    fleet::{
        devices::store::components_of,
        telemetry::{rules::EventKind, rules::Resolution, store as telemetry},
    },
    identity::auth::access,
    platform::entities::{device_event, problem, problem_device},
    state::AppState,
    support::devices::{detail, DeviceDetail},
};

/// A recent event, in a line.
#[derive(Debug)]
struct EventRow {
    at: String,
    kind: &'static str,
    what: String,
}

/// A problem the box has.
#[derive(Debug)]
struct ProblemRow {
    id: String,
    code: String,
    title: String,
    occurrences: i64,
}

#[derive(Template)]
#[template(path = "console/device.html")]
struct DevicePage {
    shell: Shell,
    d: DeviceDetail,
    components: Vec<(String, String, u64)>,
    tags: String,
    warranty: String,
    range: &'static str,
    ranges: Vec<(&'static str, &'static str)>,
    charts: Vec<(String, String, String)>,
    events: Vec<EventRow>,
    problems: Vec<ProblemRow>,
    licences: Vec<Held>,
    hourly: bool,
}

#[derive(Debug, Deserialize)]
pub struct DeviceQuery {
    range: Option<String>,
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn time(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// `value` as JSON safe inside a `<script type="application/json">` block:
/// `<`, `>` and `&` as JSON escapes, so no string can close the block.
pub fn script_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// A box's charts between `from` and `to` (unix seconds), each with the
/// markers where an update succeeded and where the box faulted: element
/// id (from `prefix`), title, and the chart's data as a script block's
/// JSON. The device page and the ticket page's box panel draw these.
pub async fn telemetry_charts(
    state: &AppState,
    d: &DeviceDetail,
    from: i64,
    to: i64,
    prefix: &str,
) -> Result<Vec<(String, String, String)>, Failure> {
    let id = d.device.id;
    let resolution = crate::fleet::telemetry::rules::resolution(to - from);
    let series = telemetry::all_series(&state.reads, id, from, to, resolution, 20_000).await?;
    // Markers: where an install by a rollout succeeded, where it faulted.
    let mut markers: Vec<Marker> = d
        .rollouts
        .iter()
        .filter(|r| r.state == wavecast_protocol::status::InstallState::Succeeded)
        .map(|r| Marker {
            at: r.updated_at.timestamp(),
            kind: "firmware",
            label: r.bundle.clone(),
        })
        .collect();
    let faults = device_event::Entity::find()
        .select_only()
        .column(device_event::Column::At)
        .column(device_event::Column::Code)
        .filter(device_event::Column::DeviceId.eq(id))
        .filter(device_event::Column::Kind.eq(EventKind::Fault))
        .filter(device_event::Column::At.between(from, to))
        .order_by_desc(device_event::Column::At)
        .limit(500)
        .into_tuple::<(i64, Option<String>)>()
        .all(&state.reads)
        .await?;
    markers.extend(faults.into_iter().map(|(at, code)| Marker {
        at,
        kind: "fault",
        label: code.unwrap_or_default(),
    }));
    let drawn: Vec<Chart> = charts::charts(series, &markers);
    Ok(drawn
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (label, unit) = charts::label(&c.metric);
            let title = if unit.is_empty() {
                label
            } else {
                format!("{label} ({unit})")
            };
            (format!("{prefix}-{i}"), title, script_json(c))
        })
        .collect())
}

/// `GET /devices/{ref}`
pub async fn page(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    reference: web::Path<String>,
    q: web::Query<DeviceQuery>,
) -> Result<HttpResponse, Failure> {
    let d = detail(&state, &reference).await?;
    let id = d.device.id;
    let (range, secs) = charts::range(q.range.as_deref());
    let to = state.clock.now().timestamp();
    let from = to - secs;
    let resolution = crate::fleet::telemetry::rules::resolution(secs);
    let charts = telemetry_charts(&state, &d, from, to, "chart").await?;
    let events = telemetry::recent(&state.reads, id, None, 20)
        .await?
        .events
        .into_iter()
        .map(|e| match e.event.body {
            EventBody::Health(h) => EventRow {
                at: time(h.at),
                kind: "health",
                what: crate::fleet::telemetry::rules::all(&h)
                    .into_iter()
                    .take(6)
                    .map(|(n, v)| format!("{n} {v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            },
            EventBody::Fault(f) => EventRow {
                at: time(f.at),
                kind: "fault",
                what: match f.details {
                    Some(details) => format!("{}: {details}", f.code),
                    None => f.code,
                },
            },
        })
        .collect();
    let mine = problem_device::Entity::find()
        .filter(problem_device::Column::DeviceId.eq(id))
        .order_by_desc(problem_device::Column::LastSeenAt)
        .limit(20)
        .all(&state.reads)
        .await?;
    let mut problems = Vec::with_capacity(mine.len());
    for pd in mine {
        if let Some(p) = problem::Entity::find_by_id(pd.problem_id)
            .one(&state.reads)
            .await?
        {
            let title = crate::fleet::catalog::store::get(&state.reads, &p.code)
                .await?
                .map(|e| e.entry.title)
                .unwrap_or_default();
            problems.push(ProblemRow {
                id: p.id.to_string(),
                code: p.code,
                title,
                occurrences: pd.occurrences,
            });
        }
    }
    let row = crate::platform::entities::device::Entity::find_by_id(id)
        .one(&state.reads)
        .await?;
    let components = row
        .as_ref()
        .map(components_of)
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.name, c.version.to_string(), c.security_version))
        .collect();
    let licences = match &row {
        Some(r) => held_by_box(&state, r).await?,
        None => Vec::new(),
    };
    render(&DevicePage {
        shell: signed.shell(d.device.serial.clone(), Section::Devices),
        licences,
        tags: d.device.tags.join(", "),
        warranty: d.warranty.describe(),
        components,
        range,
        ranges: RANGES.iter().map(|(k, l, _)| (*k, *l)).collect(),
        charts,
        events,
        problems,
        hourly: resolution == Resolution::Hour,
        d,
    })
}
