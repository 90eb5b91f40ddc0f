//! The latest reading of where a rollout's boxes stand, kept in the
//! database (`rollout_snapshots`) so that pages never read every box of a
//! large target on a request.
//!
//! The scheduler saves one on each pass over a running rollout (from the
//! boxes it read anyway to judge the wave), and refreshes those of
//! scheduled, paused and approval-waiting rollouts every [`IDLE_REFRESH`].
//! A page shows the saved reading with the rollout's state and clock as
//! they are now ([`super::view::progress`] is pure), and says how old it
//! is. Without a reading, or with one of an ended rollout older than ten
//! minutes ([`usable`]), one rollout's page reads the boxes itself and
//! saves what it found. The API's `GET /api/v1/rollouts/{id}`
//! still reads the boxes on every request.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{sea_query::OnConflict, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{
    rules::RolloutState,
    standing::Standing,
    store::{load, LoadedRollout},
    view::{reading, with_reading, without_reading, Reading},
};
use crate::{
    platform::{
        db::Connections,
        entities::{rollout, rollout_snapshot},
        error::{Error, Result},
        json::to_json,
    },
    updates::views::RolloutView,
};

/// How often the scheduler refreshes the reading of a rollout it does not
/// step (scheduled, paused, waiting for approval).
pub const IDLE_REFRESH: TimeDelta = TimeDelta::seconds(30);

/// Keeps `reading` as rollout `id`'s latest, read at `now`.
pub async fn save(
    db: &impl ConnectionTrait,
    id: Uuid,
    reading: &Reading,
    now: DateTime<Utc>,
) -> Result<()> {
    use rollout_snapshot::Column as C;
    rollout_snapshot::Entity::insert(rollout_snapshot::ActiveModel {
        rollout_id: Set(id),
        computed_at: Set(now),
        reading: Set(to_json(reading)?),
    })
    .on_conflict(
        OnConflict::column(C::RolloutId)
            .update_columns([C::ComputedAt, C::Reading])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The latest readings of rollouts `ids`, with when each was read.
pub async fn latest(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, (DateTime<Utc>, Reading)>> {
    let rows = rollout_snapshot::Entity::find()
        .filter(rollout_snapshot::Column::RolloutId.is_in(ids))
        .all(db)
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let reading: Reading = serde_json::from_value(row.reading)
            .map_err(|e| Error::corrupt("rollout snapshot", e))?;
        out.insert(row.rollout_id, (row.computed_at, reading));
    }
    Ok(out)
}

/// Whether a reading made at `at` may stand for rollout `state` at `now`:
/// an active rollout's always (the scheduler keeps it fresh, however long
/// a pass over a large target takes; the page says how old it is), an
/// ended one's for ten minutes (late reports still arrive, and nothing
/// else reads them).
pub fn usable(state: RolloutState, at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    !state.is_terminal() || now - at <= TimeDelta::minutes(10)
}

/// Reads the boxes of `r`, keeps the reading and returns it.
pub async fn refresh(
    on: Connections<'_>,
    r: &LoadedRollout,
    now: DateTime<Utc>,
) -> Result<Reading> {
    let standing = Standing::load(on.reads, r, now).await?;
    let found = reading(on.reads, r, &standing, None, now).await?;
    save(on.db, r.model.id, &found, now).await?;
    Ok(found)
}

/// What a page does with a reading that is not [`usable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// Reads the boxes now (one rollout's page).
    Refresh,
    /// Shows it anyway, or no progress without one (lists: a list never
    /// reads the boxes of every rollout it names).
    Keep,
}

/// Rollouts `rs` as pages show them: each with its latest reading (see
/// [`Stale`]) and when it was read.
pub async fn shown(
    on: Connections<'_>,
    rs: Vec<rollout::Model>,
    now: DateTime<Utc>,
    stale: Stale,
) -> Result<Vec<(RolloutView, Option<DateTime<Utc>>)>> {
    let mut saved = latest(on.reads, rs.iter().map(|r| r.id)).await?;
    let mut out = Vec::with_capacity(rs.len());
    for r in rs {
        let loaded = load(on.reads, r).await?;
        let found = match (saved.remove(&loaded.model.id), stale) {
            (Some((at, found)), _) if usable(loaded.state, at, now) => Some((at, found)),
            (Some((at, found)), Stale::Keep) => Some((at, found)),
            (None, Stale::Keep) => None,
            (_, Stale::Refresh) => Some((now, refresh(on, &loaded, now).await?)),
        };
        out.push(match found {
            Some((at, found)) => (with_reading(&loaded, &found, now)?, Some(at)),
            None => (without_reading(&loaded), None),
        });
    }
    Ok(out)
}

/// Rollouts the scheduler does not step whose reading is older than
/// [`IDLE_REFRESH`] (or missing): it refreshes them.
pub async fn idle_due(
    db: &impl ConnectionTrait,
    idle: &[LoadedRollout],
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>> {
    let saved = latest(db, idle.iter().map(|r| r.model.id)).await?;
    Ok(idle
        .iter()
        .filter(|r| {
            saved
                .get(&r.model.id)
                .is_none_or(|(at, _)| now - *at >= IDLE_REFRESH)
        })
        .map(|r| r.model.id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_active_rollout_shows_its_latest_reading_an_ended_one_for_ten_minutes() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let later = |m: i64| at + TimeDelta::minutes(m);
        assert!(usable(RolloutState::Running, at, later(60)));
        assert!(usable(RolloutState::Paused, at, later(600)));
        assert!(usable(RolloutState::Completed, at, later(10)));
        assert!(!usable(RolloutState::Completed, at, later(11)));
        assert!(!usable(RolloutState::Aborted, at, later(11)));
    }
}
