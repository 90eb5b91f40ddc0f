//! Plans and their SLA policies at the SQL edge: the default plans written
//! into an empty database, a plan's policy per ticket kind, and the terms
//! a new ticket opens with (its plan's, else the fallback plan's, else a
//! built-in default: a gap in the set-up never refuses a box's faults).

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryOrder, Set,
    TransactionTrait,
};

use crate::{
    platform::{
        config::TicketsConfig,
        entities::{plan, sla_policy},
        error::Result,
        json::{from_json, to_json},
    },
    support::{
        sla::CalendarSpec,
        tickets::rules::{SlaTerms, TicketKind},
        views::PlanView,
    },
};

/// The default plans: key, name, rank, and the first-response and
/// resolution targets in hours, around the clock (`true`) or in business
/// hours.
const DEFAULT_PLANS: [(&str, &str, i32, i64, i64, bool); 4] = [
    ("basic", "Basic", 0, 24, 120, false),
    ("standard", "Standard", 1, 8, 72, false),
    ("premium", "Premium", 2, 4, 24, true),
    ("vip", "VIP", 3, 1, 8, true),
];

/// The plan of tickets for boxes no subscriber is linked to.
pub const FALLBACK_PLAN: &str = "basic";

/// Monday to Friday, 09:00–18:00 in `tz`.
pub fn office_hours(tz: &str) -> CalendarSpec {
    let day = |d: &str| (d.to_owned(), ["09:00".to_owned(), "18:00".to_owned()]);
    CalendarSpec::BusinessHours {
        timezone: tz.to_owned(),
        hours: ["mon", "tue", "wed", "thu", "fri"].map(day).into(),
        holidays: Vec::new(),
    }
}

/// Writes the default plans and their SLA policies when there are no plans
/// at all (a fresh database), so deleting or editing them sticks.
pub async fn seed_defaults(
    db: &DatabaseConnection,
    cfg: &TicketsConfig,
    now: DateTime<Utc>,
) -> Result<()> {
    if plan::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    let txn = db.begin().await?;
    for (key, name, rank, first_h, res_h, always) in DEFAULT_PLANS {
        plan::Entity::insert(plan::ActiveModel {
            key: Set(key.to_owned()),
            name: Set(name.to_owned()),
            rank: Set(rank),
            created_at: Set(now),
        })
        .exec(&txn)
        .await?;
        let calendar = if always {
            CalendarSpec::Always
        } else {
            office_hours(&cfg.business_timezone)
        };
        for kind in TicketKind::ALL {
            put_policy(
                &txn,
                key,
                kind,
                &SlaTerms {
                    first_response_secs: first_h * 3600,
                    resolution_secs: res_h * 3600,
                    calendar: calendar.clone(),
                    warn_pct: 80,
                    escalate_to: None,
                },
            )
            .await?;
        }
    }
    txn.commit().await?;
    tracing::info!("default plans and SLA policies written");
    Ok(())
}

/// Creates or replaces a plan's policy for `kind` (checked by the caller).
pub async fn put_policy(
    db: &impl ConnectionTrait,
    plan: &str,
    kind: TicketKind,
    terms: &SlaTerms,
) -> Result<()> {
    use sea_orm::sea_query::OnConflict;
    use sla_policy::Column as C;
    sla_policy::Entity::insert(sla_policy::ActiveModel {
        plan: Set(plan.to_owned()),
        kind: Set(kind),
        first_response_secs: Set(terms.first_response_secs),
        resolution_secs: Set(terms.resolution_secs),
        calendar: Set(to_json(&terms.calendar)?),
        warn_pct: Set(i32::from(terms.warn_pct)),
        escalate_to: Set(terms.escalate_to.clone()),
    })
    .on_conflict(
        OnConflict::columns([C::Plan, C::Kind])
            .update_columns([
                C::FirstResponseSecs,
                C::ResolutionSecs,
                C::Calendar,
                C::WarnPct,
                C::EscalateTo,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// The terms of `plan`'s policy for `kind`; `None` when it has none.
pub async fn terms_of(
    db: &impl ConnectionTrait,
    plan: &str,
    kind: TicketKind,
) -> Result<Option<SlaTerms>> {
    let Some(p) = sla_policy::Entity::find_by_id((plan.to_owned(), kind))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(SlaTerms {
        first_response_secs: p.first_response_secs,
        resolution_secs: p.resolution_secs,
        calendar: from_json(&p.calendar, "SLA calendar")?,
        warn_pct: u8::try_from(p.warn_pct.clamp(1, 100)).unwrap_or(80),
        escalate_to: p.escalate_to,
    }))
}

/// Every plan, highest rank last, with its policy per ticket kind.
pub async fn plan_views(db: &impl ConnectionTrait) -> Result<Vec<PlanView>> {
    let plans = plan::Entity::find()
        .order_by_asc(plan::Column::Rank)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(plans.len());
    for p in plans {
        let mut sla = std::collections::BTreeMap::new();
        for k in TicketKind::ALL {
            if let Some(t) = terms_of(db, &p.key, k).await? {
                sla.insert(k, t);
            }
        }
        out.push(PlanView {
            key: p.key,
            name: p.name,
            rank: p.rank,
            sla,
        });
    }
    Ok(out)
}

/// The terms a new ticket opens with: its plan's policy for `kind`, else
/// the fallback plan's, else a day to answer and five to resolve in office
/// hours (UTC). A gap in the after-sales set-up must never refuse a box's
/// faults: ticket opening runs in the transaction that stores them.
pub async fn terms_for_new(
    db: &impl ConnectionTrait,
    plan: &str,
    kind: TicketKind,
) -> Result<SlaTerms> {
    for p in [plan, FALLBACK_PLAN] {
        match terms_of(db, p, kind).await? {
            Some(t) => return Ok(t),
            None => tracing::warn!(plan = p, %kind, "no SLA policy; falling back"),
        }
    }
    Ok(last_resort_terms("UTC"))
}

/// The terms when no policy applies: a day to answer and five to resolve,
/// in office hours in `tz`.
pub fn last_resort_terms(tz: &str) -> SlaTerms {
    SlaTerms {
        first_response_secs: 24 * 3600,
        resolution_secs: 120 * 3600,
        calendar: office_hours(tz),
        warn_pct: 80,
        escalate_to: None,
    }
}
