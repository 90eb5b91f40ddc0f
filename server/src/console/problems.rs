//! `/problems`: faults grouped across boxes by code and signature, with
//! the boxes by model and by the versions they ran, first and last seen;
//! one problem with its fault rate per firmware version and the boxes that
//! have it; resolving one (operators and support staff).

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use askama::Template;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;

use super::{
    guard::{Posted, Signed},
    page::{render, see_other, Failure, Section, Shell},
    sign_in::Empty,
};
use crate::{
    fleet::{
        problems::{
            routes::id_of,
            rules::ProblemStatus,
            store::{self as problems},
        },
        views::ProblemView,
    },
    identity::{auth::access, roles::Role},
    platform::entities::{device, problem_device},
    state::AppState,
};

fn when(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M").to_string())
}

#[derive(Template)]
#[template(path = "console/problems.html")]
struct ListPage {
    shell: Shell,
    problems: Vec<(ProblemView, String, String)>,
    status: String,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: Option<String>,
}

/// `GET /problems`
pub async fn list(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, Failure> {
    let status = q.status.clone().unwrap_or_else(|| "open".into());
    let filter: Option<ProblemStatus> = match status.as_str() {
        "" | "any" => None,
        s => Some(
            s.parse()
                .map_err(crate::platform::error::Error::Validation)?,
        ),
    };
    let list = problems::list(&state.reads, filter, None, 200).await?;
    render(&ListPage {
        shell: signed.shell("Problems", Section::Problems),
        problems: list
            .into_iter()
            .map(|p| {
                let (first, last) = (when(p.first_seen_at), when(p.last_seen_at));
                (p, first, last)
            })
            .collect(),
        status,
    })
}

/// A firmware version's share of the problem.
#[derive(Debug)]
struct RateRow {
    firmware: String,
    boxes: u64,
    faults: i64,
    rate: String,
}

#[derive(Template)]
#[template(path = "console/problem.html")]
struct ProblemPage {
    shell: Shell,
    p: ProblemView,
    first: String,
    last: String,
    rates: Vec<RateRow>,
    boxes: Vec<(String, String, i64)>,
}

/// `GET /problems/{id}`
pub async fn page(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let id = id_of(&path)?;
    let p = problems::show(&state.reads, id).await?;
    let rows = problem_device::Entity::find()
        .filter(problem_device::Column::ProblemId.eq(id))
        .order_by_desc(problem_device::Column::LastSeenAt)
        .limit(5000)
        .all(&state.reads)
        .await?;
    // Faults by firmware version (the firmware each box ran at its latest
    // such fault), against the device-days boxes on it reported lately.
    let summarised = state.fleet_summary().await?;
    let summary = &summarised.summary;
    let mut by_fw: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for r in &rows {
        let fw = r
            .versions
            .split(", ")
            .find(|v| v.contains("firmware"))
            .unwrap_or(&r.versions)
            .to_owned();
        let e = by_fw.entry(fw).or_default();
        e.0 += 1;
        e.1 += r.occurrences;
    }
    let rates = by_fw
        .into_iter()
        .map(|(fw, (boxes, faults))| {
            let days: f64 = summary
                .fault_rates
                .iter()
                .filter(|f| f.firmware.as_deref() == Some(fw.as_str()))
                .map(|f| f.device_days)
                .sum();
            #[allow(clippy::cast_precision_loss)]
            let rate = if days > 0.0 {
                format!("{:.1}", faults as f64 * 1000.0 / days)
            } else {
                "not yet".into()
            };
            RateRow {
                firmware: fw,
                boxes,
                faults,
                rate,
            }
        })
        .collect();
    let ids: Vec<uuid::Uuid> = rows.iter().take(50).map(|r| r.device_id).collect();
    let serials: std::collections::HashMap<uuid::Uuid, String> = device::Entity::find()
        .filter(device::Column::Id.is_in(ids))
        .all(&state.reads)
        .await?
        .into_iter()
        .map(|d| (d.id, d.serial))
        .collect();
    let boxes = rows
        .iter()
        .take(50)
        .filter_map(|r| {
            Some((
                serials.get(&r.device_id)?.clone(),
                r.versions.clone(),
                r.occurrences,
            ))
        })
        .collect();
    render(&ProblemPage {
        shell: signed.shell(format!("Problem {}", p.code), Section::Problems),
        first: when(p.first_seen_at),
        last: when(p.last_seen_at),
        p,
        rates,
        boxes,
    })
}

/// `POST /problems/{id}/resolve`
pub async fn resolve(
    posted: Posted<access::Viewer, Empty>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let signed = &posted.signed;
    signed
        .caller
        .demand_one_of(&[Role::Operator, Role::Support], "resolving a problem")?;
    let id = id_of(&path)?;
    problems::resolve_by(&state.db, &signed.caller, id, state.clock.now()).await?;
    Ok(see_other(&format!("/problems/{id}")))
}
