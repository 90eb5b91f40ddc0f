//! Who was heard from: every check-in, report and event batch, over HTTPS
//! or MQTT, marks its box here in memory, and a background task writes the
//! marks as `devices.last_seen_at` every `telemetry.presence_flush_secs`,
//! one UPDATE per 500 boxes. So last-seen is never a database write per
//! message, and is late by at most one flush. It does not move
//! `devices.changed_at`: presence is not something other instances'
//! directories need to reload.

use std::{collections::HashSet, sync::Mutex, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{sea_query::Expr, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::platform::{
    clock::Clock,
    entities::device,
    jobs::{JobError, Jobs},
};

/// The job that writes the marks.
pub const JOB: &str = "presence";

/// Boxes per UPDATE: well within both backends' limits on bound parameters.
const CHUNK: usize = 500;

/// The boxes heard from since the last flush.
#[derive(Debug, Default)]
pub struct Presence {
    seen: Mutex<HashSet<Uuid>>,
}

impl Presence {
    /// Marks `id` as heard from now.
    pub fn touch(&self, id: Uuid) {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id);
    }

    /// Writes the marks as heard from at `now`; returns how many boxes were
    /// marked. Marks that could not be written are kept for the next flush.
    pub async fn flush(
        &self,
        db: &DatabaseConnection,
        now: DateTime<Utc>,
    ) -> Result<usize, JobError> {
        let ids: Vec<Uuid> = std::mem::take(
            &mut *self
                .seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_iter()
        .collect();
        for (i, chunk) in ids.chunks(CHUNK).enumerate() {
            let written = device::Entity::update_many()
                .col_expr(device::Column::LastSeenAt, Expr::value(now))
                .filter(device::Column::Id.is_in(chunk.iter().copied()))
                .exec(db)
                .await;
            if let Err(e) = written {
                let mut seen = self
                    .seen
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                seen.extend(ids[i * CHUNK..].iter().copied());
                return Err(e.into());
            }
        }
        Ok(ids.len())
    }

    /// Flushes every `every` (and when kicked, as job [`JOB`]) until the
    /// process ends.
    pub fn spawn(
        self: std::sync::Arc<Self>,
        jobs: &Jobs,
        db: DatabaseConnection,
        every: Duration,
        clock: Clock,
    ) {
        jobs.every(JOB, every, move || {
            let (this, db, clock) = (self.clone(), db.clone(), clock.clone());
            async move { this.flush(&db, clock.now()).await.map(|_| ()) }
        });
    }
}
