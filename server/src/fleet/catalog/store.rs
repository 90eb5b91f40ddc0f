//! The fault catalog at the SQL edge: [`load_file`] adds a catalog file's
//! missing codes at start, [`list`], [`get`], [`put`] and [`delete`] serve
//! the API. The rules for a valid entry are `super::rules`.

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::OnConflict, ConnectionTrait, EntityTrait, QueryOrder, Set, TransactionTrait,
};

use super::rules::{parse_catalog, CatalogEntry, TicketPolicy, DEFAULT_CATALOG};
use crate::{
    fleet::views::CatalogEntryView,
    platform::{
        entities::fault_catalog::{self, Column, Entity},
        error::{Error, Result},
    },
};

fn to_row(e: &CatalogEntry, now: DateTime<Utc>) -> fault_catalog::ActiveModel {
    // validate() caps both below i32::MAX.
    let int = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    fault_catalog::ActiveModel {
        code: Set(e.code.clone()),
        title: Set(e.title.clone()),
        class: Set(e.class),
        severity: Set(e.severity),
        kb: Set(e.kb.clone()),
        policy_occurrences: Set(int(e.policy.occurrences)),
        policy_window_hours: Set(int(e.policy.window_hours)),
        policy_immediate: Set(e.policy.immediate),
        updated_at: Set(now),
    }
}

fn view(r: fault_catalog::Model) -> CatalogEntryView {
    let uint = |v: i32| u32::try_from(v).unwrap_or(0);
    CatalogEntryView {
        entry: CatalogEntry {
            class: r.class,
            severity: r.severity,
            policy: TicketPolicy {
                occurrences: uint(r.policy_occurrences),
                window_hours: uint(r.policy_window_hours),
                immediate: r.policy_immediate,
            },
            code: r.code,
            title: r.title,
            kb: r.kb,
        },
        updated_at: r.updated_at,
    }
}

/// Adds the codes of the catalog file `path` (the built-in catalog when
/// `None`) that the database lacks, in one transaction; codes already
/// there keep what the API made of them. Returns how many were added.
pub async fn load_file(
    db: &(impl ConnectionTrait + TransactionTrait),
    path: Option<&std::path::Path>,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let (text, name) = match path {
        Some(p) => (
            std::fs::read_to_string(p).map_err(|e| {
                anyhow::anyhow!("cannot read faults.catalog_file {}: {e}", p.display())
            })?,
            p.display().to_string(),
        ),
        None => (
            DEFAULT_CATALOG.to_owned(),
            "the built-in catalog".to_owned(),
        ),
    };
    let entries = parse_catalog(&text).map_err(|e| anyhow::anyhow!("fault catalog {name}: {e}"))?;
    if entries.is_empty() {
        return Ok(0);
    }
    let txn = db.begin().await?;
    let mut added = 0;
    // One insert per entry: a catalog holds hundreds of codes at most, and
    // each insert stays within every backend's bound-parameter limit.
    for e in &entries {
        added += Entity::insert(to_row(e, now))
            .on_conflict(OnConflict::column(Column::Code).do_nothing().to_owned())
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    tracing::info!(catalog = %name, codes = entries.len(), added, "fault catalog loaded");
    Ok(added)
}

/// Every entry, by code.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<CatalogEntryView>> {
    Ok(Entity::find()
        .order_by_asc(Column::Code)
        .all(db)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// The entry for `code`, if any.
pub async fn get(db: &impl ConnectionTrait, code: &str) -> Result<Option<CatalogEntryView>> {
    Ok(Entity::find_by_id(code.to_owned()).one(db).await?.map(view))
}

/// Creates or replaces an entry (validated first). Returns it and whether
/// it was new.
pub async fn put(
    db: &impl ConnectionTrait,
    entry: &CatalogEntry,
    now: DateTime<Utc>,
) -> Result<(CatalogEntryView, bool)> {
    entry.validate().map_err(Error::Validation)?;
    let existed = Entity::find_by_id(entry.code.clone())
        .one(db)
        .await?
        .is_some();
    Entity::insert(to_row(entry, now))
        .on_conflict(
            OnConflict::column(Column::Code)
                .update_columns([
                    Column::Title,
                    Column::Class,
                    Column::Severity,
                    Column::Kb,
                    Column::PolicyOccurrences,
                    Column::PolicyWindowHours,
                    Column::PolicyImmediate,
                    Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let stored = get(db, &entry.code)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("catalog entry {} vanished", entry.code)))?;
    Ok((stored, !existed))
}

/// Removes `code`'s entry; false when there was none.
pub async fn delete(db: &impl ConnectionTrait, code: &str) -> Result<bool> {
    Ok(Entity::delete_by_id(code.to_owned())
        .exec(db)
        .await?
        .rows_affected
        > 0)
}
