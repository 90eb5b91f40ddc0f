//! The staff queue: the saved views support staff work from (mine,
//! unassigned, breaching soon, breached / escalated, waiting on the
//! customer, all open) with a count for each, filters, sorting by the next
//! SLA deadline or by age, and offset paging. The views read the due
//! times stored on each ticket (`super::due`), so they see a breach the
//! moment its deadline passes, before the sweep has escalated it.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    sea_query::{Condition, NullOrdering, Order},
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    rules::{TicketKind, TicketStatus},
    store::ACTIVE,
    view::{summary, TicketView},
};
use crate::platform::{entities::ticket, error::Result};

/// A saved view of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Active tickets assigned to the one asking.
    Mine,
    /// Active tickets nobody holds.
    Unassigned,
    /// Not yet breached, but warned by the sweep or due within [`SOON`].
    Breaching,
    /// Breached: escalated by the sweep, or past a deadline already.
    Escalated,
    /// Pending: waiting on the customer, the SLA clock stopped.
    Waiting,
    /// Every active ticket (new, open, pending).
    Open,
}

crate::platform::text::text_enum!(View, "queue view", Mine => "mine", Unassigned => "unassigned", Breaching => "breaching", Escalated => "escalated", Waiting => "waiting", Open => "open");

impl View {
    pub const ALL: [View; 6] = [
        View::Mine,
        View::Unassigned,
        View::Breaching,
        View::Escalated,
        View::Waiting,
        View::Open,
    ];

    /// The view's name on a screen.
    pub fn title(self) -> &'static str {
        match self {
            View::Mine => "Mine",
            View::Unassigned => "Unassigned",
            View::Breaching => "Breaching soon",
            View::Escalated => "Breached / escalated",
            View::Waiting => "Waiting on customer",
            View::Open => "All open",
        }
    }

    /// The tickets in the view for user `me` at `now`.
    pub fn condition(self, me: Uuid, now: DateTime<Utc>) -> Condition {
        let active = ticket::Column::Status.is_in(ACTIVE);
        let due = ticket::Column::NextDueAt;
        let all = Condition::all().add(active);
        match self {
            View::Mine => all.add(ticket::Column::Assignee.eq(me)),
            View::Unassigned => all.add(ticket::Column::Assignee.is_null()),
            View::Breaching => all
                .add(ticket::Column::BreachedAt.is_null())
                .add(due.gt(now))
                .add(
                    Condition::any()
                        .add(ticket::Column::WarnedAt.is_not_null())
                        .add(due.lte(now + SOON)),
                ),
            View::Escalated => all.add(
                Condition::any()
                    .add(ticket::Column::BreachedAt.is_not_null())
                    .add(due.lte(now)),
            ),
            View::Waiting => Condition::all().add(ticket::Column::Status.eq(TicketStatus::Pending)),
            View::Open => all,
        }
    }
}

/// How close a deadline counts as "breaching soon" even before the sweep's
/// warning.
pub const SOON: Duration = Duration::minutes(30);

/// The queue's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Newest first.
    #[default]
    Newest,
    /// The nearest SLA deadline first; tickets without one (paused, done)
    /// last, oldest first among equals.
    NextDue,
    /// Oldest first.
    Oldest,
}

crate::platform::text::text_enum!(Sort, "sort", Newest => "newest", NextDue => "next_due", Oldest => "oldest");

/// What the queue is narrowed to.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// A saved view, as seen by this user.
    pub view: Option<(View, Uuid)>,
    pub status: Option<TicketStatus>,
    pub kind: Option<TicketKind>,
    pub assignee: Option<Uuid>,
    pub subscriber_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    pub active_only: bool,
}

/// Which part of the queue to read.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub sort: Sort,
    pub offset: u64,
    pub limit: u64,
}

impl Page {
    /// The first `limit`, newest first.
    pub fn newest(limit: u64) -> Self {
        Page {
            sort: Sort::Newest,
            offset: 0,
            limit,
        }
    }
}

fn select(f: &Filter, now: DateTime<Utc>) -> Select<ticket::Entity> {
    let mut q = ticket::Entity::find();
    if let Some((view, me)) = f.view {
        q = q.filter(view.condition(me, now));
    }
    if let Some(s) = f.status {
        q = q.filter(ticket::Column::Status.eq(s));
    }
    if f.active_only {
        q = q.filter(ticket::Column::Status.is_in(ACTIVE));
    }
    if let Some(k) = f.kind {
        q = q.filter(ticket::Column::Kind.eq(k));
    }
    if let Some(a) = f.assignee {
        q = q.filter(ticket::Column::Assignee.eq(a));
    }
    if let Some(s) = f.subscriber_id {
        q = q.filter(ticket::Column::SubscriberId.eq(s));
    }
    if let Some(d) = f.device_id {
        q = q.filter(ticket::Column::DeviceId.eq(d));
    }
    q
}

/// The stored tickets of one page of the queue, and how many pass `f` in
/// all.
pub async fn rows(
    db: &impl ConnectionTrait,
    f: &Filter,
    page: Page,
    now: DateTime<Utc>,
) -> Result<(Vec<ticket::Model>, u64)> {
    let total = select(f, now).count(db).await?;
    let q = select(f, now);
    let q = match page.sort {
        Sort::Newest => q.order_by_desc(ticket::Column::Id),
        Sort::Oldest => q.order_by_asc(ticket::Column::Id),
        Sort::NextDue => q
            .order_by_with_nulls(ticket::Column::NextDueAt, Order::Asc, NullOrdering::Last)
            .order_by_asc(ticket::Column::Id),
    };
    let rows = q.offset(page.offset).limit(page.limit).all(db).await?;
    Ok((rows, total))
}

/// Subscriber `id`'s latest `limit` tickets, newest first.
pub async fn of_subscriber(
    db: &impl ConnectionTrait,
    id: Uuid,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<Vec<ticket::Model>> {
    let f = Filter {
        subscriber_id: Some(id),
        ..Filter::default()
    };
    Ok(rows(db, &f, Page::newest(limit), now).await?.0)
}

/// One page of the queue as the API shows it, and the total.
pub async fn list(
    db: &impl ConnectionTrait,
    f: &Filter,
    page: Page,
    now: DateTime<Utc>,
) -> Result<(Vec<TicketView>, u64)> {
    let (rows, total) = rows(db, f, page, now).await?;
    let mut out = Vec::with_capacity(rows.len());
    for t in &rows {
        out.push(summary(db, t, now).await?);
    }
    Ok((out, total))
}

/// How many tickets each saved view holds for `me` at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ViewCount {
    pub view: View,
    pub title: String,
    pub count: u64,
}

/// Every saved view with its count.
pub async fn counts(
    db: &impl ConnectionTrait,
    me: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<ViewCount>> {
    let mut out = Vec::with_capacity(View::ALL.len());
    for view in View::ALL {
        let count = ticket::Entity::find()
            .filter(view.condition(me, now))
            .count(db)
            .await?;
        out.push(ViewCount {
            view,
            title: view.title().to_owned(),
            count,
        });
    }
    Ok(out)
}
