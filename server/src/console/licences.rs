//! `/licences`: what is sold under licence and who holds it, for operators
//! and support staff. The list shows products with their policies, the
//! licences (of a subscriber or a box when the query names one) and the
//! latest validation questions; a licence's page shows its holder, terms,
//! state, the boxes it is activated on and its own validation log, and
//! lets operators suspend, reinstate or revoke it and activate or
//! deactivate boxes — through the same functions as the REST API, which
//! check and audit them. Subscribers' and boxes' pages list their licences
//! with [`held_by_subscriber`] and [`held_by_box`].

use actix_web::{web, HttpResponse};
use askama::Template;
use sea_orm::EntityTrait as _;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    guard::{Posted, Signed},
    page::{render, see_other_saying, Failure, Notice, Section, Shell},
};
use crate::{
    fleet::devices::store::find as find_device,
    identity::auth::access,
    licences::{
        activations,
        rules::LicenceState,
        store, validation,
        views::{LicenceView, PolicyView, ProductView, ValidationLogEntry},
    },
    platform::{
        entities::{device, subscriber},
        error::{Error, Result},
    },
    state::AppState,
    support::subscribers::store::subscriber_by_ref,
};

/// Validation questions the pages show, newest first.
const LOG: u64 = 50;

/// A licence as the pages list it: the view, and its holder in words with
/// the link to their page.
#[derive(Debug)]
pub struct Held {
    pub l: LicenceView,
    pub holder: String,
    pub holder_href: String,
}

async fn held(state: &AppState, list: Vec<LicenceView>) -> Result<Vec<Held>> {
    let db = &state.reads;
    let mut out = Vec::with_capacity(list.len());
    for l in list {
        let (holder, holder_href) = match (l.subscriber_id, l.device_id) {
            (Some(s), _) => match subscriber::Entity::find_by_id(s).one(db).await? {
                Some(s) => (
                    format!("subscriber {}", s.account),
                    format!("/subscribers/{}", s.account),
                ),
                None => ("a subscriber since removed".into(), String::new()),
            },
            (None, Some(d)) => match device::Entity::find_by_id(d).one(db).await? {
                Some(d) => (
                    format!("box {}", d.serial),
                    format!("/devices/{}", d.serial),
                ),
                None => ("a box since removed".into(), String::new()),
            },
            (None, None) => ("nobody".into(), String::new()),
        };
        out.push(Held {
            l,
            holder,
            holder_href,
        });
    }
    Ok(out)
}

/// The licences subscriber `id` holds.
pub async fn held_by_subscriber(state: &AppState, id: Uuid) -> Result<Vec<Held>> {
    held(state, store::licences(&state.reads, Some(id), None).await?).await
}

/// The licences box `d` may use: its own, and its subscriber's.
pub async fn held_by_box(state: &AppState, d: &device::Model) -> Result<Vec<Held>> {
    let mut list = store::licences(&state.reads, None, Some(d.id)).await?;
    if let Some(s) = d.subscriber_id {
        list.extend(store::licences(&state.reads, Some(s), None).await?);
    }
    held(state, list).await
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    subscriber: Option<String>,
    device: Option<String>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "console/licences.html")]
struct ListPage {
    shell: Shell,
    products: Vec<ProductView>,
    policies: Vec<PolicyView>,
    licences: Vec<Held>,
    /// What the list is narrowed to, in words ("" for every licence).
    of: String,
    log: Vec<ValidationLogEntry>,
    notice: Option<String>,
}

/// `GET /licences?subscriber=&device=`
pub async fn list(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, Failure> {
    let q = q.into_inner();
    let db = &state.reads;
    let (licences, of, log_device) = match (&q.subscriber, &q.device) {
        (Some(s), _) if !s.trim().is_empty() => {
            let s = subscriber_by_ref(db, s.trim()).await?;
            (
                held_by_subscriber(&state, s.id).await?,
                format!("held by subscriber {}", s.account),
                None,
            )
        }
        (_, Some(d)) if !d.trim().is_empty() => {
            let d = find_device(db, d.trim())
                .await
                .map_err(|e| e.named_in("device"))?;
            (
                held_by_box(&state, &d).await?,
                format!("box {} may use", d.serial),
                Some(d.id),
            )
        }
        _ => (
            held(&state, store::licences(db, None, None).await?).await?,
            String::new(),
            None,
        ),
    };
    render(&ListPage {
        shell: signed.shell("Licences", Section::Licences),
        products: store::products(db).await?,
        policies: store::policies(db).await?,
        licences,
        of,
        log: validation::log(db, None, log_device, LOG).await?,
        notice: q.notice,
    })
}

#[derive(Template)]
#[template(path = "console/licence.html")]
struct LicencePage {
    shell: Shell,
    h: Held,
    log: Vec<ValidationLogEntry>,
    notice: Option<String>,
}

/// `GET /licences/{id}`
pub async fn page(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    n: web::Query<Notice>,
) -> Result<HttpResponse, Failure> {
    let l = store::show(&state.reads, &path).await?;
    let log = validation::log(&state.reads, Some(l.id), None, LOG).await?;
    let h = held(&state, vec![l])
        .await?
        .pop()
        .ok_or_else(|| Error::NotFound("no such licence".into()))?;
    render(&LicencePage {
        shell: signed.shell(format!("Licence {}", h.l.key_prefix), Section::Licences),
        h,
        log,
        notice: n.into_inner().notice,
    })
}

#[derive(Debug, Deserialize)]
pub struct Act {
    action: String,
    #[serde(default)]
    device: String,
}

/// `POST /licences/{id}` (operators): suspend, reinstate or revoke the
/// licence, activate it on a box or deactivate a box.
pub async fn act(
    posted: Posted<access::Operator, Act>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let caller = &posted.signed.caller;
    let id = path.into_inner();
    let f = posted.form;
    let device = f.device.trim();
    let done = match f.action.as_str() {
        "suspend" => {
            store::set_state(
                &state.db,
                state.clock.now(),
                caller,
                &id,
                LicenceState::Suspended,
            )
            .await?;
            "Licence suspended: its boxes learn it at their next check-in.".to_owned()
        }
        "reinstate" => {
            store::set_state(
                &state.db,
                state.clock.now(),
                caller,
                &id,
                LicenceState::Active,
            )
            .await?;
            "Licence reinstated.".to_owned()
        }
        "revoke" => {
            store::set_state(
                &state.db,
                state.clock.now(),
                caller,
                &id,
                LicenceState::Revoked,
            )
            .await?;
            "Licence revoked, for good.".to_owned()
        }
        "activate" if !device.is_empty() => {
            let a = activations::activate(&state, caller, &id, device).await?;
            format!("Activated on {}.", a.serial)
        }
        "deactivate" if !device.is_empty() => {
            activations::deactivate(&state, caller, &id, device).await?;
            format!("Deactivated on {device}.")
        }
        "activate" | "deactivate" => {
            return Err(Error::Validation("give the box's serial".into()).into())
        }
        other => return Err(Error::Validation(format!("unknown action {other:?}")).into()),
    };
    Ok(see_other_saying(&format!("/licences/{id}"), &done))
}
