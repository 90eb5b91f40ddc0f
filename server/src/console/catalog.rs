//! `/settings/catalog`: the fault codes boxes report, each with its
//! class, severity, ticket policy and knowledge-base article (the text
//! support staff read on a ticket and subscribers read in the app).
//! Everyone may read it; operators and support staff edit it through the
//! REST API's own function (`put_entry`), which checks and audits it.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{
    guard::{Posted, Signed},
    page::{render, see_other_saying, Failure, Notice, Section, Shell},
};
use crate::{
    fleet::{
        catalog::{
            routes::put_entry,
            rules::{check_code, CatalogEntry, FaultClass, Severity, TicketPolicy},
            store as catalog,
        },
        views::CatalogEntryView,
    },
    identity::auth::access,
    platform::error::Error,
    state::AppState,
};

const CLASSES: [FaultClass; 3] = [
    FaultClass::Hardware,
    FaultClass::Software,
    FaultClass::Network,
];
const SEVERITIES: [Severity; 3] = [Severity::Minor, Severity::Major, Severity::Critical];

/// A ticket policy in words.
pub fn policy_words(p: &TicketPolicy) -> String {
    if p.immediate {
        "a ticket at the first fault".into()
    } else {
        format!(
            "a ticket after {} fault(s) within {} h",
            p.occurrences, p.window_hours
        )
    }
}

#[derive(Template)]
#[template(path = "console/settings_catalog.html")]
struct CatalogPage {
    shell: Shell,
    entries: Vec<CatalogEntryView>,
    notice: Option<String>,
}

/// `GET /settings/catalog`
pub async fn list(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    n: web::Query<Notice>,
) -> Result<HttpResponse, Failure> {
    render(&CatalogPage {
        shell: signed.shell("Fault catalog", Section::Settings),
        entries: catalog::list(&state.reads).await?,
        notice: n.into_inner().notice,
    })
}

#[derive(Template)]
#[template(path = "console/settings_fault.html")]
struct FaultPage {
    shell: Shell,
    /// Empty for a new entry.
    code: String,
    e: CatalogEntry,
    classes: [FaultClass; 3],
    severities: [Severity; 3],
}

/// `GET /settings/catalog/{code}` (`new` for a blank form).
pub async fn page(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let code = path.into_inner();
    let (code, e) = if code == "new" {
        let blank = CatalogEntry {
            code: String::new(),
            title: String::new(),
            class: FaultClass::Hardware,
            severity: Severity::Major,
            kb: String::new(),
            policy: TicketPolicy {
                occurrences: 3,
                window_hours: 24,
                immediate: false,
            },
        };
        (String::new(), blank)
    } else {
        check_code(&code).map_err(Error::NotFound)?;
        let e = catalog::get(&state.reads, &code)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no fault code {code} in the catalog")))?;
        (code, e.entry)
    };
    render(&FaultPage {
        shell: signed.shell("Fault catalog", Section::Settings),
        code,
        e,
        classes: CLASSES,
        severities: SEVERITIES,
    })
}

#[derive(Debug, Deserialize)]
pub struct FaultForm {
    code: String,
    title: String,
    class: String,
    severity: String,
    kb: String,
    occurrences: u32,
    window_hours: u32,
    #[serde(default)]
    immediate: Option<String>,
}

/// `POST /settings/catalog` (operators and support staff): creates or
/// replaces the entry the form describes.
pub async fn save(
    posted: Posted<access::Viewer, FaultForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let f = posted.form;
    let entry = CatalogEntry {
        code: f.code.trim().to_owned(),
        title: f.title.trim().to_owned(),
        class: f.class.parse().map_err(Error::Validation)?,
        severity: f.severity.parse().map_err(Error::Validation)?,
        kb: f.kb.replace("\r\n", "\n"),
        policy: TicketPolicy {
            occurrences: f.occurrences,
            window_hours: f.window_hours,
            immediate: f.immediate.is_some(),
        },
    };
    let (view, created) = put_entry(&state, &posted.signed.caller, entry).await?;
    let said = if created { "added" } else { "saved" };
    Ok(see_other_saying(
        "/settings/catalog",
        &format!("{} {said}.", view.entry.code),
    ))
}
