//! Fleet problems at the SQL edge: [`record`] folds a box's new faults into
//! their problems inside the transaction that stores them (counters by SQL
//! expressions, so concurrent batches add up), reopening a resolved problem
//! when `super::rules::reopens` says so; [`list`], [`show`] and
//! [`resolve`] serve the API.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, IntoColumnRef, OnConflict, SimpleExpr},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;
use wavecast_protocol::{checkin::Component, events::FaultReport};

use super::rules::{fault_groups, highest_versions, reopens, versions_key, ProblemStatus};
use crate::{
    fleet::views::ProblemView,
    platform::{
        entities::{fault_catalog, problem, problem_device},
        error::{Error, Result},
    },
};

/// Folds `faults` (new ones only: redelivered events are not counted again)
/// from `device_id`, a box of `model`, into their problems.
pub async fn record(
    txn: &impl ConnectionTrait,
    device_id: Uuid,
    model: &str,
    faults: &[&FaultReport],
    now: DateTime<Utc>,
) -> Result<()> {
    if faults.is_empty() {
        return Ok(());
    }
    for g in fault_groups(faults) {
        let (code, signature, fs, first, last) = (g.code, g.signature, g.faults, g.first, g.last);
        let n = i64::try_from(fs.len()).unwrap_or(i64::MAX);
        // The box's latest fault of the group says which versions it runs.
        let latest = &g.latest.installed[..];
        let p = problem_for(txn, code, signature, first, now).await?;
        {
            use problem::Column as C;
            problem::Entity::update_many()
                .col_expr(C::Occurrences, Expr::col(C::Occurrences).add(n))
                .col_expr(C::FirstSeenAt, least(C::FirstSeenAt, first))
                .col_expr(C::LastSeenAt, greatest(C::LastSeenAt, last))
                .filter(C::Id.eq(p.id))
                .exec(txn)
                .await?;
            if p.status == ProblemStatus::Resolved {
                let at = resolved_versions(&p);
                if fs.iter().any(|f| reopens(&at, &f.installed)) {
                    problem::Entity::update_many()
                        .col_expr(C::Status, Expr::value(ProblemStatus::Open))
                        .col_expr(C::ResolvedAt, Expr::value(Option::<DateTime<Utc>>::None))
                        .col_expr(C::ReopenedCount, Expr::col(C::ReopenedCount).add(1))
                        .filter(C::Id.eq(p.id))
                        .filter(C::Status.eq(ProblemStatus::Resolved))
                        .exec(txn)
                        .await?;
                    tracing::info!(problem = %p.id, code, "a fault on a newer version reopened the problem");
                }
            }
        }
        use problem_device::Column as D;
        let installed = serde_json::to_value(latest).map_err(anyhow::Error::from)?;
        problem_device::Entity::insert(problem_device::ActiveModel {
            problem_id: Set(p.id),
            device_id: Set(device_id),
            model: Set(model.to_owned()),
            versions: Set(versions_key(latest)),
            installed: Set(installed),
            first_seen_at: Set(first),
            last_seen_at: Set(last),
            occurrences: Set(n),
        })
        .on_conflict(
            OnConflict::columns([D::ProblemId, D::DeviceId])
                .value(
                    D::Occurrences,
                    Expr::col((problem_device::Entity, D::Occurrences)).add(n),
                )
                .value(
                    D::FirstSeenAt,
                    least((problem_device::Entity, D::FirstSeenAt), first),
                )
                .value(
                    D::LastSeenAt,
                    greatest((problem_device::Entity, D::LastSeenAt), last),
                )
                // Model and versions follow the box's latest fault: a batch
                // of older faults (an offline queue) leaves them be.
                .value(D::Model, if_newer(D::Model, last))
                .value(D::Versions, if_newer(D::Versions, last))
                .value(D::Installed, if_newer(D::Installed, last))
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

/// In an upsert of `problem_devices`: the stored column `c`, or the
/// incoming one (`excluded.c`, the same in SQLite and PostgreSQL) when the
/// incoming faults are at least as new as the stored ones.
fn if_newer(c: problem_device::Column, last: i64) -> SimpleExpr {
    use sea_orm::{sea_query::Alias, Iden};
    let stored_last = Expr::col((problem_device::Entity, problem_device::Column::LastSeenAt));
    Expr::case(
        stored_last.lte(last),
        Expr::col((Alias::new("excluded"), Alias::new(c.to_string()))),
    )
    .finally(Expr::col((problem_device::Entity, c)))
    .into()
}

/// The smaller of column `c` and `v` (SQLite's `min()` and PostgreSQL's
/// `LEAST` are spelled differently; `CASE` is the same in both).
fn least(c: impl IntoColumnRef + Clone, v: i64) -> SimpleExpr {
    Expr::case(Expr::col(c.clone()).gt(v), v)
        .finally(Expr::col(c))
        .into()
}

/// The larger of column `c` and `v`.
fn greatest(c: impl IntoColumnRef + Clone, v: i64) -> SimpleExpr {
    Expr::case(Expr::col(c.clone()).lt(v), v)
        .finally(Expr::col(c))
        .into()
}

/// The problem for `code` and `signature`, created (open) if new.
async fn problem_for(
    txn: &impl ConnectionTrait,
    code: &str,
    signature: &str,
    first: i64,
    now: DateTime<Utc>,
) -> Result<problem::Model> {
    use problem::Column as C;
    problem::Entity::insert(problem::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(code.to_owned()),
        signature: Set(signature.to_owned()),
        status: Set(ProblemStatus::Open),
        first_seen_at: Set(first),
        last_seen_at: Set(first),
        occurrences: Set(0),
        resolved_at: Set(None),
        resolved_versions: Set(None),
        reopened_count: Set(0),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([C::Code, C::Signature])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    problem::Entity::find()
        .filter(C::Code.eq(code))
        .filter(C::Signature.eq(signature))
        .one(txn)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("problem {code} {signature:?} vanished")))
}

fn resolved_versions(p: &problem::Model) -> BTreeMap<String, semver::Version> {
    versions_from(p.resolved_versions.as_ref())
}

/// Component name → version, as stored in JSON (`{"x1-firmware":
/// "4.2.0"}`); entries that do not parse are left out.
pub fn versions_from(v: Option<&serde_json::Value>) -> BTreeMap<String, semver::Version> {
    v.and_then(|v| serde_json::from_value::<BTreeMap<String, String>>(v.clone()).ok())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
        .collect()
}

/// Problems (of one status and code, if given), most recently seen first.
pub async fn list(
    db: &impl ConnectionTrait,
    status: Option<ProblemStatus>,
    code: Option<&str>,
    limit: u64,
) -> Result<Vec<ProblemView>> {
    use problem::Column as C;
    let mut select = problem::Entity::find();
    if let Some(s) = status {
        select = select.filter(C::Status.eq(s));
    }
    if let Some(c) = code {
        select = select.filter(C::Code.eq(c));
    }
    let rows = select
        .order_by_desc(C::LastSeenAt)
        .order_by_desc(C::Id)
        .limit(limit)
        .all(db)
        .await?;
    views(db, rows).await
}

/// One problem.
pub async fn show(db: &impl ConnectionTrait, id: Uuid) -> Result<ProblemView> {
    let p = problem::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no problem {id}")))?;
    views(db, vec![p])
        .await?
        .pop()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("problem {id} has no view")))
}

/// Marks a problem resolved at `now`, at the newest versions its boxes ran.
pub async fn resolve(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<ProblemView> {
    let p = problem::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no problem {id}")))?;
    let already = || Error::Conflict(format!("problem {id} is already resolved"));
    if p.status == ProblemStatus::Resolved {
        return Err(already());
    }
    let sets: Vec<Vec<Component>> = problem_device::Entity::find()
        .filter(problem_device::Column::ProblemId.eq(id))
        .select_only()
        .column(problem_device::Column::Installed)
        .into_tuple::<serde_json::Value>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect();
    let at: BTreeMap<String, String> = highest_versions(sets.iter().map(Vec::as_slice))
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    use problem::Column as C;
    let done = problem::Entity::update_many()
        .col_expr(C::Status, Expr::value(ProblemStatus::Resolved))
        .col_expr(C::ResolvedAt, Expr::value(now))
        .col_expr(
            C::ResolvedVersions,
            Expr::value(serde_json::to_value(&at).map_err(anyhow::Error::from)?),
        )
        .filter(C::Id.eq(id))
        // Two resolves at once: the second finds it resolved.
        .filter(C::Status.eq(ProblemStatus::Open))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Err(already());
    }
    show(db, id).await
}

/// For each of the problems `ids`: how many boxes have each value of `col`.
async fn devices_by(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    col: problem_device::Column,
) -> Result<BTreeMap<Uuid, BTreeMap<String, u64>>> {
    use problem_device::Column as D;
    let mut out: BTreeMap<Uuid, BTreeMap<String, u64>> = BTreeMap::new();
    let rows = problem_device::Entity::find()
        .select_only()
        .column(D::ProblemId)
        .column(col)
        .column_as(Expr::col(D::DeviceId).count(), "n")
        .filter(D::ProblemId.is_in(ids.iter().copied()))
        .group_by(D::ProblemId)
        .group_by(col)
        .into_tuple::<(Uuid, String, i64)>()
        .all(db)
        .await?;
    for (p, value, n) in rows {
        out.entry(p)
            .or_default()
            .insert(value, u64::try_from(n).unwrap_or(0));
    }
    Ok(out)
}

async fn views(db: &impl ConnectionTrait, rows: Vec<problem::Model>) -> Result<Vec<ProblemView>> {
    let ids: Vec<Uuid> = rows.iter().map(|p| p.id).collect();
    let mut models = devices_by(db, &ids, problem_device::Column::Model).await?;
    let mut versions = devices_by(db, &ids, problem_device::Column::Versions).await?;
    let codes: Vec<String> = rows.iter().map(|p| p.code.clone()).collect();
    let catalog: BTreeMap<String, fault_catalog::Model> = fault_catalog::Entity::find()
        .filter(fault_catalog::Column::Code.is_in(codes))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.code.clone(), e))
        .collect();
    Ok(rows
        .into_iter()
        .map(|p| {
            let models = models.remove(&p.id).unwrap_or_default();
            let entry = catalog.get(&p.code);
            ProblemView {
                id: p.id,
                status: p.status,
                signature: (!p.signature.is_empty()).then(|| p.signature.clone()),
                title: entry.map(|e| e.title.clone()),
                class: entry.map(|e| e.class),
                severity: entry.map(|e| e.severity),
                first_seen_at: p.first_seen_at,
                last_seen_at: p.last_seen_at,
                occurrences: u64::try_from(p.occurrences).unwrap_or(0),
                devices: models.values().sum(),
                models,
                versions: versions.remove(&p.id).unwrap_or_default(),
                resolved_at: p.resolved_at,
                resolved_versions: p
                    .resolved_versions
                    .as_ref()
                    .and_then(|v| serde_json::from_value(v.clone()).ok()),
                reopened_count: u32::try_from(p.reopened_count).unwrap_or(0),
                code: p.code,
            }
        })
        .collect())
}

/// Resolves problem `id` as `caller` at `now`, with its audit entry (the
/// API's and the console's).
pub async fn resolve_by(
    db: &sea_orm::DatabaseConnection,
    caller: &crate::identity::caller::Caller,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<ProblemView> {
    use crate::identity::audit::store::{audited, Entry};
    audited(db, caller, now, move |txn| {
        Box::pin(async move {
            let view = resolve(txn, id, now).await?;
            let entry = Entry::new("problem.resolve", "problem", id.to_string())
                .details(&view.resolved_versions);
            Ok((view, entry))
        })
    })
    .await
}
