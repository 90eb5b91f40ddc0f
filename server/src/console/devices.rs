//! `/devices`: the fleet, filtered (status, model, revision, installed
//! version, online, region, tag, serial) and paged, every filter in the URL;
//! accepting or rejecting a waiting box; importing the serial list from
//! manufacturing with a preview of what will change. `/devices/{ref}`: one
//! box ([`super::device`]).

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{
    guard::{Posted, Signed},
    page::{render, see_other, Failure, Section, Shell},
};
use crate::{
    fleet::{
        devices::{
            actions::{self, ImportPreview},
            csv::parse_csv,
            rules::{Client, DeviceAction, DeviceStatus},
            store::{components_of, search, Count},
        },
        summary::rules::online,
        views::{DevicePlacement, DeviceQuery},
    },
    identity::auth::access,
    state::AppState,
};

/// Rows a page shows.
const PAGE: u64 = 50;

/// Matches the list counts before it says "more than" (see [`Count`]).
const COUNTED: u64 = 10_000;

/// `n` with thousands separated: 12,345.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A box as the list shows it.
#[derive(Debug)]
struct Row {
    serial: String,
    model: String,
    revision: String,
    status: String,
    pending: bool,
    /// Polls through hawkBit's DDI API (SWUpdate, RAUC) instead of our agent.
    ddi: bool,
    installed: String,
    last_seen: String,
    online: bool,
}

#[derive(Template)]
#[template(path = "console/devices.html")]
struct DevicesPage {
    shell: Shell,
    q: DeviceQuery,
    online: String,
    rows: Vec<Row>,
    /// How many match, in words ("1,234", "more than 10,000").
    total: String,
    none: bool,
    first: u64,
    last: u64,
    prev: Option<String>,
    next: Option<String>,
    statuses: [&'static str; 4],
    notice: Option<String>,
}

/// The list's query string for `q` at `offset`.
fn link(q: &DeviceQuery, offset: u64) -> String {
    let mut q = q.clone();
    q.offset = (offset > 0).then_some(offset);
    q.limit = None;
    format!(
        "/devices?{}",
        serde_urlencoded::to_string(&q).unwrap_or_default()
    )
}

/// The filters as the form sends them (empty fields mean "any").
#[derive(Debug, Deserialize)]
pub struct Filters {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    revision: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    installed: Option<String>,
    #[serde(default)]
    online: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    offset: Option<u64>,
    #[serde(default)]
    imported: Option<String>,
}

fn some(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// `GET /devices`
pub async fn list(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    f: web::Query<Filters>,
) -> Result<HttpResponse, Failure> {
    let f = f.into_inner();
    let online_choice = some(f.online).unwrap_or_default();
    let q = DeviceQuery {
        status: some(f.status),
        model: some(f.model),
        revision: some(f.revision),
        region: some(f.region),
        tag: some(f.tag),
        installed: some(f.installed),
        online: match online_choice.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        q: some(f.q),
        limit: Some(PAGE),
        offset: f.offset,
    };
    let now = state.clock.now();
    let online_secs = state.config.telemetry.online_secs;
    let (total, devices) = search(&state.reads, &q, now, online_secs, Count::UpTo(COUNTED)).await?;
    let offset = q.offset.unwrap_or(0);
    let rows: Vec<Row> = devices
        .into_iter()
        .map(|d| Row {
            installed: components_of(&d)
                .iter()
                .map(|c| format!("{}@{}", c.name, c.version))
                .collect::<Vec<_>>()
                .join(", "),
            last_seen: d.last_seen_at.map_or_else(
                || "never".into(),
                |t| t.format("%Y-%m-%d %H:%M").to_string(),
            ),
            online: online(
                d.last_seen_at.map(|t| t.timestamp()),
                now.timestamp(),
                online_secs,
            ),
            pending: d.status == DeviceStatus::Pending,
            ddi: d.client == Client::Ddi,
            status: d.status.to_string(),
            serial: d.serial,
            model: d.model,
            revision: d.hardware_revision,
        })
        .collect();
    let shown = rows.len() as u64;
    render(&DevicesPage {
        shell: signed.shell("Devices", Section::Devices),
        prev: (offset > 0).then(|| link(&q, offset.saturating_sub(PAGE))),
        // Past the counted matches, a full page promises another.
        next: (offset + shown < total || (total > COUNTED && shown == PAGE))
            .then(|| link(&q, offset + PAGE)),
        first: if shown == 0 { 0 } else { offset + 1 },
        last: offset + shown,
        none: total == 0,
        total: if total > COUNTED {
            format!("more than {}", thousands(COUNTED))
        } else {
            thousands(total)
        },
        rows,
        online: online_choice,
        q,
        statuses: ["pending", "accepted", "rejected", "decommissioned"],
        notice: f.imported.map(|n| format!("Imported: {n}.")),
    })
}

/// `POST /devices/{ref}/{accept|reject}`
pub async fn act(
    posted: Posted<access::Operator, super::sign_in::Empty>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Failure> {
    let (reference, action) = path.into_inner();
    let action: DeviceAction = action
        .parse()
        .map_err(crate::platform::error::Error::NotFound)?;
    let d = actions::act(&state, &posted.signed, &reference, action).await?;
    Ok(see_other(&format!("/devices/{}", d.serial)))
}

/// The region-and-tags form of a box's page.
#[derive(Debug, Deserialize)]
pub struct PlacementForm {
    #[serde(default)]
    region: String,
    /// Separated by commas or spaces.
    #[serde(default)]
    tags: String,
}

/// `POST /devices/{ref}/placement`: region and tags; a blank field clears.
pub async fn place(
    posted: Posted<access::Operator, PlacementForm>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let f = &posted.form;
    let region = f.region.trim();
    let placement = DevicePlacement {
        region: Some((!region.is_empty()).then(|| region.to_owned())),
        tags: Some(
            f.tags
                .split([',', ' '])
                .filter(|t| !t.trim().is_empty())
                .map(str::to_owned)
                .collect(),
        ),
    };
    let d = actions::place(&state, &posted.signed, &path, placement).await?;
    Ok(see_other(&format!("/devices/{}", d.serial)))
}

/// The import form.
#[derive(Debug, Deserialize)]
pub struct ImportForm {
    csv: String,
}

#[derive(Template)]
#[template(path = "console/import.html")]
struct ImportPage {
    shell: Shell,
    csv: String,
    lines: usize,
    preview: ImportPreview,
}

/// `POST /devices/import/preview`: what the import would change.
pub async fn preview(
    posted: Posted<access::Operator, ImportForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let Posted { signed, form } = posted;
    let rows = parse_csv(&form.csv)?;
    let preview = actions::preview(&state.db, &rows).await?;
    render(&ImportPage {
        shell: signed.shell("Import serials", Section::Devices),
        lines: rows.len(),
        csv: form.csv,
        preview,
    })
}

/// `POST /devices/import`: applies it.
pub async fn import(
    posted: Posted<access::Operator, ImportForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let Posted { signed, form } = posted;
    let rows = parse_csv(&form.csv)?;
    let r = actions::import(&state, &signed, rows).await?;
    let said = format!(
        "{} serials added, {} already listed, {} waiting boxes accepted",
        r.added, r.already, r.accepted
    );
    Ok(see_other(&format!(
        "/devices?{}",
        serde_urlencoded::to_string([("imported", said)]).unwrap_or_default()
    )))
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
