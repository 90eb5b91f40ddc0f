//! `/api/v1/plans`: subscriber plans and their SLA policy per ticket kind.
//! Every role reads; admins write. Tickets keep the terms they opened with.

use actix_web::{web, HttpResponse};
use sea_orm::{sea_query::OnConflict, EntityTrait, Set};

use super::{
    rules::PlanKey,
    store::{last_resort_terms, plan_views, put_policy, terms_of, FALLBACK_PLAN},
};
use crate::support::views::{PlanBody, PlanView};
use crate::{
    http::params::checked,
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth},
        caller::Caller,
        roles::Role,
        users::store::named,
    },
    platform::{
        entities::plan,
        error::{Error, Result},
        text::Line,
    },
    state::AppState,
    support::tickets::rules::{SlaTerms, TicketKind},
};

/// `GET /api/v1/plans`: every plan with its policy per ticket kind.
#[utoipa::path(
    get,
    path = "/api/v1/plans",
    tag = "support",
    security(("operator" = [])),
    responses(
        (status = 200, description = "Every plan, lowest rank first, with its SLA policy per ticket kind", body = Vec<PlanView>),
    )
)]
pub async fn list(_: Auth<access::Viewer>, state: web::Data<AppState>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(plan_views(&state.db).await?))
}

/// `PUT /api/v1/plans/{key}` (admin): creates a plan (with the basic plan's
/// policies as a start, or 24/5 office hours when there is none) or renames
/// and re-ranks one.
#[utoipa::path(
    put,
    path = "/api/v1/plans/{key}",
    tag = "support",
    params(("key" = String, Path, description = "The plan's key, such as `premium`")),
    request_body = PlanBody,
    security(("operator" = [])),
    responses(
        (status = 201, description = "The plan was created (with the basic plan's policies)"),
        (status = 204, description = "The plan was renamed or re-ranked"),
    )
)]
pub async fn put(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<PlanBody>,
) -> Result<HttpResponse> {
    let created = put_plan(&state, &auth, &path, body.into_inner()).await?;
    Ok(if created {
        HttpResponse::Created().finish()
    } else {
        HttpResponse::NoContent().finish()
    })
}

/// Creates or changes plan `key` for `caller` (admin), audited; true when
/// it is new.
pub async fn put_plan(state: &AppState, caller: &Caller, key: &str, b: PlanBody) -> Result<bool> {
    caller.demand(Role::Admin)?;
    let key = PlanKey::parse(key).map_err(Error::Validation)?;
    let name = checked(Line::parse("name", &b.name, 100))?.into_string();
    if !(0..=100).contains(&b.rank) {
        return Err(Error::Validation("rank must be between 0 and 100".into()));
    }
    let tz = state.config.tickets.business_timezone.clone();
    let now = state.clock.now();
    audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            let key = key.into_string();
            let existed = plan::Entity::find_by_id(key.clone())
                .one(txn)
                .await?
                .is_some();
            plan::Entity::insert(plan::ActiveModel {
                key: Set(key.clone()),
                name: Set(name.clone()),
                rank: Set(b.rank),
                created_at: Set(now),
            })
            .on_conflict(
                OnConflict::column(plan::Column::Key)
                    .update_columns([plan::Column::Name, plan::Column::Rank])
                    .to_owned(),
            )
            .exec(txn)
            .await?;
            if !existed {
                for k in TicketKind::ALL {
                    let terms = terms_of(txn, FALLBACK_PLAN, k)
                        .await?
                        .unwrap_or_else(|| last_resort_terms(&tz));
                    put_policy(txn, &key, k, &terms).await?;
                }
            }
            let entry =
                Entry::new("plan.put", "plan", key).details(&PlanBody { name, rank: b.rank });
            Ok((!existed, entry))
        })
    })
    .await
}

/// `PUT /api/v1/plans/{key}/sla/{kind}` (admin): the plan's targets,
/// calendar, warning share and escalation contact for one ticket kind.
#[utoipa::path(
    put,
    path = "/api/v1/plans/{key}/sla/{kind}",
    tag = "support",
    params(
        ("key" = String, Path, description = "The plan's key"),
        ("kind" = String, Path, description = "The ticket kind: warranty, repair or support"),
    ),
    request_body = SlaTerms,
    security(("operator" = [])),
    responses(
        (status = 204, description = "The policy was set; open tickets keep the terms they opened with"),
    )
)]
pub async fn put_sla(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Json<SlaTerms>,
) -> Result<HttpResponse> {
    let (key, kind) = path.into_inner();
    let kind: TicketKind = kind.parse().map_err(Error::NotFound)?;
    put_terms(&state, &auth, key, kind, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sets plan `key`'s SLA policy for ticket kind `kind` for `caller`
/// (admin), audited. Open tickets keep the terms they opened with.
pub async fn put_terms(
    state: &AppState,
    caller: &Caller,
    key: String,
    kind: TicketKind,
    terms: SlaTerms,
) -> Result<()> {
    caller.demand(Role::Admin)?;
    terms.check().map_err(Error::Validation)?;
    if plan::Entity::find_by_id(key.clone())
        .one(&state.db)
        .await?
        .is_none()
    {
        return Err(Error::NotFound(format!("no plan {key:?}")));
    }
    if let Some(name) = &terms.escalate_to {
        named(&state.db, "escalate_to", name).await?;
    }
    audited(&state.db, caller, state.clock.now(), move |txn| {
        Box::pin(async move {
            put_policy(txn, &key, kind, &terms).await?;
            let entry = Entry::new("sla.put", "plan", format!("{key}/{kind}")).details(&terms);
            Ok(((), entry))
        })
    })
    .await
}
