//! `/settings`: how the desk is set up. Plans and their SLA policy per
//! ticket kind (targets written as durations, the calendar with opening
//! hours, time zone and holidays, the warning share, who a breach goes
//! to), warranty months per model, and the support agents' queues and
//! shifts; the fault catalog has its own pages (`catalog`). Everyone may
//! read them; each change goes through the REST API's own function,
//! which demands its role (admins for plans, policies and warranties,
//! support staff for agents).

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use super::{
    guard::{Posted, Signed},
    page::{render, see_other_saying, Failure, Notice, Section, Shell},
    tickets::agents,
};
use crate::{
    identity::auth::access,
    platform::{entities::model_warranty, error::Error},
    state::AppState,
    support::{
        agents::{routes::put_agent, store::agent_views},
        plans::{
            routes::{put_plan, put_terms},
            store::{plan_views, terms_of},
        },
        sla::CalendarSpec,
        tickets::rules::{SlaTerms, TicketKind},
        views::{AgentBody, AgentView, PlanBody, PlanView},
        warranty::routes::put_period,
    },
};
use sea_orm::{EntityTrait, QueryOrder};

/// The weekdays as calendars name them, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A duration as people write it: `4h`, `30m`, `1h 30m` (by reference, as
/// templates pass it).
pub fn duration(secs: &i64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(secs.unsigned_abs())).to_string()
}

fn parse_duration(field: &str, s: &str) -> Result<i64, Error> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| {
        Error::Validation(format!(
            "{field}: {e} (write a duration such as 4h, 30m or 1h 30m)"
        ))
    })?;
    i64::try_from(d.as_secs()).map_err(|_| Error::Validation(format!("{field} is too long")))
}

/// A calendar in words: `24/7`, or its opening hours, zone and holidays.
pub fn calendar_words(c: &CalendarSpec) -> String {
    match c {
        CalendarSpec::Always => "24/7".into(),
        CalendarSpec::BusinessHours {
            timezone,
            hours,
            holidays,
        } => {
            let days: Vec<String> = DAYS
                .iter()
                .filter_map(|d| hours.get(*d).map(|[o, c]| format!("{d} {o}–{c}")))
                .collect();
            let mut s = format!("{} ({timezone})", days.join(", "));
            if !holidays.is_empty() {
                s.push_str(&format!(", {} holiday(s)", holidays.len()));
            }
            s
        }
    }
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct PlansPage {
    shell: Shell,
    plans: Vec<PlanView>,
    kinds: [TicketKind; 3],
    notice: Option<String>,
}

impl PlansPage {
    fn terms<'a>(&self, p: &'a PlanView, k: &TicketKind) -> Option<&'a SlaTerms> {
        p.sla.get(k)
    }
}

/// `GET /settings`: plans and their SLA policies.
pub async fn plans(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    n: web::Query<Notice>,
) -> Result<HttpResponse, Failure> {
    let mut plans = plan_views(&state.reads).await?;
    plans.reverse();
    render(&PlansPage {
        shell: signed.shell("Plans and SLA", Section::Settings),
        plans,
        kinds: TicketKind::ALL,
        notice: n.into_inner().notice,
    })
}

#[derive(Debug, Deserialize)]
pub struct PlanForm {
    key: String,
    name: String,
    rank: i32,
}

/// `POST /settings/plans` (admin): a new plan (starting from the basic
/// plan's policies) or a new name and rank for one.
pub async fn save_plan(
    posted: Posted<access::Admin, PlanForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let f = posted.form;
    let b = PlanBody {
        name: f.name,
        rank: f.rank,
    };
    let created = put_plan(&state, &posted.signed.caller, f.key.trim(), b).await?;
    let said = if created {
        "Plan created with the basic plan's policies; set its targets below."
    } else {
        "Plan saved."
    };
    Ok(see_other_saying("/settings", said))
}

#[derive(Template)]
#[template(path = "console/settings_sla.html")]
struct PolicyPage {
    shell: Shell,
    plan: String,
    kind: TicketKind,
    t: SlaTerms,
    agents: Vec<String>,
    /// Per weekday: name, opening and closing time (empty when closed).
    week: Vec<(&'static str, String, String)>,
    timezone: String,
    holidays: String,
}

impl PolicyPage {
    fn always(&self) -> bool {
        self.t.calendar == CalendarSpec::Always
    }
}

fn kind_of(s: &str) -> Result<TicketKind, Error> {
    s.parse().map_err(Error::NotFound)
}

/// `GET /settings/plans/{key}/{kind}`: one policy's form.
pub async fn policy(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Failure> {
    let (plan, kind) = path.into_inner();
    let kind = kind_of(&kind)?;
    let t = terms_of(&state.reads, &plan, kind)
        .await?
        .ok_or_else(|| Error::NotFound(format!("plan {plan:?} has no {kind} policy")))?;
    let (week, timezone, holidays) = match &t.calendar {
        CalendarSpec::Always => (
            DAYS.map(|d| (d, String::new(), String::new())).to_vec(),
            state.config.tickets.business_timezone.clone(),
            String::new(),
        ),
        CalendarSpec::BusinessHours {
            timezone,
            hours,
            holidays,
        } => (
            DAYS.map(|d| {
                let [o, c] = hours.get(d).cloned().unwrap_or_default();
                (d, o, c)
            })
            .to_vec(),
            timezone.clone(),
            holidays
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    };
    render(&PolicyPage {
        shell: signed.shell(format!("{plan} · {kind} policy"), Section::Settings),
        plan,
        kind,
        t,
        agents: agents(&state).await?,
        week,
        timezone,
        holidays,
    })
}

#[derive(Debug, Deserialize)]
pub struct PolicyForm {
    first_response: String,
    resolution: String,
    /// A number; text here because the flattened hours below leave every
    /// field a string to the form parser.
    warn_pct: String,
    #[serde(default)]
    escalate_to: String,
    calendar: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    holidays: String,
    /// `open_mon`, `close_mon`, … (empty: closed that day).
    #[serde(flatten)]
    hours: BTreeMap<String, String>,
}

impl PolicyForm {
    fn terms(&self) -> Result<SlaTerms, Error> {
        let calendar = if self.calendar == "always" {
            CalendarSpec::Always
        } else {
            let mut hours = BTreeMap::new();
            for d in DAYS {
                let get = |k: &str| {
                    self.hours
                        .get(&format!("{k}_{d}"))
                        .map(|v| v.trim().to_owned())
                        .unwrap_or_default()
                };
                let (open, close) = (get("open"), get("close"));
                match (open.is_empty(), close.is_empty()) {
                    (true, true) => {}
                    (false, false) => {
                        hours.insert(d.to_owned(), [open, close]);
                    }
                    _ => {
                        return Err(Error::Validation(format!(
                            "{d}: give both the opening and the closing time, or neither"
                        )))
                    }
                }
            }
            let holidays = self
                .holidays
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(|s| {
                    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                        Error::Validation(format!("holiday {s:?} is not a date (YYYY-MM-DD)"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            CalendarSpec::BusinessHours {
                timezone: self.timezone.trim().to_owned(),
                hours,
                holidays,
            }
        };
        Ok(SlaTerms {
            first_response_secs: parse_duration("first response", &self.first_response)?,
            resolution_secs: parse_duration("resolution", &self.resolution)?,
            calendar,
            warn_pct: self.warn_pct.trim().parse().map_err(|_| {
                Error::Validation(format!("warn at {:?}: give a percentage", self.warn_pct))
            })?,
            escalate_to: Some(self.escalate_to.trim().to_owned()).filter(|s| !s.is_empty()),
        })
    }
}

/// `POST /settings/plans/{key}/{kind}` (admin): the policy's new terms.
/// Tickets already open keep the terms they opened with.
pub async fn save_policy(
    posted: Posted<access::Admin, PolicyForm>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Failure> {
    let (plan, kind) = path.into_inner();
    let kind = kind_of(&kind)?;
    let terms = posted.form.terms()?;
    put_terms(&state, &posted.signed.caller, plan.clone(), kind, terms).await?;
    Ok(see_other_saying(
        "/settings",
        &format!("The {plan} plan's {kind} policy is saved; new tickets take it."),
    ))
}

#[derive(Template)]
#[template(path = "console/settings_warranty.html")]
struct WarrantyPage {
    shell: Shell,
    periods: Vec<(String, i32)>,
    notice: Option<String>,
}

/// `GET /settings/warranty`: warranty months per model.
pub async fn warranty(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    n: web::Query<Notice>,
) -> Result<HttpResponse, Failure> {
    let periods = model_warranty::Entity::find()
        .order_by_asc(model_warranty::Column::Model)
        .all(&state.reads)
        .await?
        .into_iter()
        .map(|w| (w.model, w.months))
        .collect();
    render(&WarrantyPage {
        shell: signed.shell("Warranty", Section::Settings),
        periods,
        notice: n.into_inner().notice,
    })
}

#[derive(Debug, Deserialize)]
pub struct WarrantyForm {
    model: String,
    months: i32,
}

/// `POST /settings/warranty` (admin).
pub async fn save_warranty(
    posted: Posted<access::Admin, WarrantyForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let f = posted.form;
    put_period(&state, &posted.signed.caller, f.model.trim(), f.months).await?;
    Ok(see_other_saying(
        "/settings/warranty",
        &format!("{} boxes: {} months of warranty.", f.model.trim(), f.months),
    ))
}

#[derive(Template)]
#[template(path = "console/settings_agents.html")]
struct AgentsPage {
    shell: Shell,
    /// Every support user, with their agent record when they have one.
    rows: Vec<(String, Option<AgentView>)>,
    kinds: [TicketKind; 3],
    notice: Option<String>,
}

impl AgentsPage {
    fn works(&self, a: &Option<AgentView>, k: &TicketKind) -> bool {
        a.as_ref().is_some_and(|a| a.queues.contains(k))
    }
    fn on_shift(&self, a: &Option<AgentView>) -> bool {
        a.as_ref().is_some_and(|a| a.on_shift)
    }
}

/// `GET /settings/agents`: support users' queues and shifts.
pub async fn agents_page(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    n: web::Query<Notice>,
) -> Result<HttpResponse, Failure> {
    let mut known: BTreeMap<String, AgentView> = agent_views(&state.reads)
        .await?
        .into_iter()
        .filter_map(|a| a.user.clone().map(|u| (u, a)))
        .collect();
    let rows = agents(&state)
        .await?
        .into_iter()
        .map(|name| {
            let a = known.remove(&name);
            (name, a)
        })
        .collect();
    render(&AgentsPage {
        shell: signed.shell("Support agents", Section::Settings),
        rows,
        kinds: TicketKind::ALL,
        notice: n.into_inner().notice,
    })
}

#[derive(Debug, Deserialize)]
pub struct AgentForm {
    #[serde(default)]
    queues: Vec<TicketKind>,
    #[serde(default)]
    on_shift: Option<String>,
}

/// `POST /settings/agents/{name}` (support staff).
pub async fn save_agent(
    posted: Posted<access::Support, AgentForm>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let name = path.into_inner();
    let b = AgentBody {
        queues: posted.form.queues,
        on_shift: posted.form.on_shift.is_some(),
    };
    let said = format!(
        "{name} {} and works {} queue(s).",
        if b.on_shift {
            "is on shift"
        } else {
            "is off shift"
        },
        b.queues.len()
    );
    put_agent(&state, &posted.signed.caller, name, b).await?;
    Ok(see_other_saying("/settings/agents", &said))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("t", "4h").ok(), Some(4 * 3600));
        assert_eq!(parse_duration("t", "1h 30m").ok(), Some(5400));
        assert_eq!(parse_duration("t", " 3s ").ok(), Some(3));
        assert!(parse_duration("t", "soon").is_err());
        assert_eq!(duration(&5400), "1h 30m");
    }

    fn form(pairs: &[(&str, &str)]) -> PolicyForm {
        let q = serde_urlencoded::to_string(pairs).unwrap_or_default();
        serde_html_form::from_str(&q).expect("form")
    }

    #[test]
    fn a_policy_form_becomes_terms() {
        let f = form(&[
            ("first_response", "1h"),
            ("resolution", "8h"),
            ("warn_pct", "75"),
            ("escalate_to", ""),
            ("calendar", "business"),
            ("timezone", "Europe/Paris"),
            ("holidays", "2026-12-25\n2027-01-01"),
            ("open_mon", "09:00"),
            ("close_mon", "18:00"),
            ("open_sat", ""),
            ("close_sat", ""),
        ]);
        let t = f.terms().expect("terms");
        assert_eq!((t.first_response_secs, t.resolution_secs), (3600, 8 * 3600));
        assert_eq!(t.escalate_to, None);
        let CalendarSpec::BusinessHours {
            hours, holidays, ..
        } = &t.calendar
        else {
            panic!("business hours expected");
        };
        assert_eq!(hours.len(), 1);
        assert_eq!(holidays.len(), 2);
        assert!(t.check().is_ok());
        assert_eq!(
            calendar_words(&t.calendar),
            "mon 09:00–18:00 (Europe/Paris), 2 holiday(s)"
        );
    }

    #[test]
    fn half_a_day_or_a_bad_holiday_is_refused() {
        let base = [
            ("first_response", "1h"),
            ("resolution", "8h"),
            ("warn_pct", "75"),
            ("calendar", "business"),
            ("timezone", "UTC"),
        ];
        let mut half = base.to_vec();
        half.push(("open_tue", "09:00"));
        assert!(form(&half).terms().is_err());
        let mut bad = base.to_vec();
        bad.push(("holidays", "25/12/2026"));
        assert!(form(&bad).terms().is_err());
    }
}
