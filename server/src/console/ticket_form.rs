//! `/tickets/new`: a ticket a subscriber raised by phone, email, chat, the
//! app, social media or the portal, as support staff record it. The page
//! finds the subscriber (the same search as `/subscribers`, live as one
//! types), then offers their boxes (online, versions, warranty) to pick
//! from; posting opens the ticket through the REST API's own function
//! (`open_from_channel`), which demands the support role, checks the box
//! belongs to the subscriber and starts the plan's SLA clock.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{
    guard::{Posted, Signed},
    page::{filled, render, see_other_saying, Failure, Section, Shell},
    subscribers::boxes,
};
use crate::{
    identity::auth::access,
    platform::error::Error,
    state::AppState,
    support::{
        subscribers::store::{first_matches, subscriber_by_ref},
        tickets::{
            routes::open_from_channel,
            rules::{Channel, Priority, TicketKind},
        },
        views::{NewTicketBody, SubscriberBox},
    },
};

/// How many matches the subscriber search shows.
const MATCHES: u64 = 20;

/// The channels a person reaches support through (boxes' own faults open
/// `device` tickets by themselves).
const CHANNELS: [Channel; 6] = [
    Channel::Phone,
    Channel::Email,
    Channel::Chat,
    Channel::App,
    Channel::Social,
    Channel::Portal,
];

#[derive(Debug, Deserialize)]
pub struct NewQuery {
    q: Option<String>,
    subscriber: Option<String>,
}

/// The subscriber picked, as the form shows them.
#[derive(Debug)]
pub struct Picked {
    pub account: String,
    pub name: String,
    pub plan: String,
    pub boxes: Vec<(SubscriberBox, String)>,
}

#[derive(Template)]
#[template(path = "console/ticket_new.html")]
struct NewPage {
    shell: Shell,
    q: String,
    /// Account, name and plan of each match.
    matches: Vec<(String, String, String)>,
    picked: Option<Picked>,
    channels: [Channel; 6],
    kinds: [TicketKind; 3],
    priorities: [Priority; 4],
}

/// `GET /tickets/new?q=&subscriber=` (support staff).
pub async fn page(
    signed: Signed<access::Support>,
    state: web::Data<AppState>,
    q: web::Query<NewQuery>,
) -> Result<HttpResponse, Failure> {
    let q = q.into_inner();
    let db = &state.reads;
    let text = q.q.unwrap_or_default();
    let matches = if text.trim().is_empty() {
        Vec::new()
    } else {
        first_matches(db, &text, MATCHES)
            .await?
            .into_iter()
            .map(|s| (s.account, s.name, s.plan))
            .collect()
    };
    let picked = match q.subscriber.as_deref().filter(|s| !s.is_empty()) {
        Some(r) => {
            let s = subscriber_by_ref(db, r).await?;
            let boxes = boxes(&state, s.id).await?;
            Some(Picked {
                account: s.account,
                name: s.name,
                plan: s.plan,
                boxes,
            })
        }
        None => None,
    };
    render(&NewPage {
        shell: signed.shell("New ticket", Section::Tickets),
        q: text,
        matches,
        picked,
        channels: CHANNELS,
        kinds: TicketKind::ALL,
        priorities: [
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Urgent,
        ],
    })
}

#[derive(Debug, Deserialize)]
pub struct NewForm {
    channel: String,
    kind: String,
    #[serde(default)]
    priority: String,
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    subscriber: String,
    #[serde(default)]
    device: String,
}

/// `POST /tickets/new` (support staff): opens the ticket and shows it.
pub async fn create(
    posted: Posted<access::Support, NewForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let f = posted.form;
    let b = NewTicketBody {
        channel: f.channel.parse().map_err(Error::Validation)?,
        subject: f.subject,
        body: filled(&f.body),
        kind: Some(f.kind.parse().map_err(Error::Validation)?),
        subscriber: filled(&f.subscriber),
        device: filled(&f.device),
        priority: filled(&f.priority)
            .map(|p| p.parse())
            .transpose()
            .map_err(Error::Validation)?,
    };
    let t = open_from_channel(&state, &posted.signed.caller, b).await?;
    Ok(see_other_saying(
        &format!("/tickets/{}", t.id),
        "Ticket opened; the plan's SLA clock is running.",
    ))
}
