//! Background jobs: work that runs every so often on exactly one instance
//! of the server at a time (the rollout scheduler, telemetry rollups and
//! retention, the SLA sweep, webhook deliveries).
//!
//! Each job holds a lease: a database row with a holder and an expiry,
//! taken with a conditional UPDATE. With several instances on one
//! database, exactly one holds it and runs the job; when that instance
//! dies, another takes over once the lease expires. Jobs report failures
//! as [`JobError`] (the runner logs them and tries again next time), and
//! can be woken early with [`Jobs::kick`] (tests, and changes that want an
//! answer now rather than at the next tick).

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use chrono::TimeDelta;
use sea_orm::{
    sea_query::{Expr, OnConflict},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
};
use tokio::sync::Notify;
use uuid::Uuid;

use super::{clock::Clock, entities::lease, error::Error};

/// Why one run of a background job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Server(#[from] Error),
    #[error("{0}")]
    Other(String),
}

/// Takes or renews the lease `name` for `holder` until `ttl` from now;
/// true when it holds it.
pub async fn try_lease(
    db: &impl ConnectionTrait,
    clock: &Clock,
    name: &str,
    holder: &str,
    ttl: TimeDelta,
) -> Result<bool, JobError> {
    let now = clock.now();
    let inserted = lease::Entity::insert(lease::ActiveModel {
        name: Set(name.into()),
        holder: Set(holder.into()),
        expires_at: Set(now + ttl),
    })
    .on_conflict(
        OnConflict::column(lease::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await;
    match inserted {
        Ok(_) | Err(sea_orm::DbErr::RecordNotInserted) => {}
        Err(e) => return Err(e.into()),
    }
    let updated = lease::Entity::update_many()
        .col_expr(lease::Column::Holder, Expr::value(holder))
        .col_expr(lease::Column::ExpiresAt, Expr::value(now + ttl))
        .filter(lease::Column::Name.eq(name))
        .filter(
            sea_orm::Condition::any()
                .add(lease::Column::Holder.eq(holder))
                .add(lease::Column::ExpiresAt.lt(now)),
        )
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// One job's handle: how to wake it, how many kicks it was given, and the
/// newest kick a finished run had seen when it started.
#[derive(Debug, Default)]
struct Job {
    wake: Notify,
    kicks: AtomicU64,
    served: AtomicU64,
}

/// The background jobs of this process, by name; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Jobs {
    jobs: Arc<Mutex<HashMap<&'static str, Arc<Job>>>>,
}

impl Jobs {
    fn job(&self, name: &'static str) -> Arc<Job> {
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(name)
            .or_default()
            .clone()
    }

    /// Runs job `name` now rather than at its next tick (if this instance
    /// holds, or can take, its lease). A kick while the job runs makes it
    /// run once more right after. Returns the kick's number, for
    /// [`Jobs::served`].
    pub fn kick(&self, name: &'static str) -> u64 {
        let job = self.job(name);
        let n = job.kicks.fetch_add(1, Ordering::AcqRel) + 1;
        job.wake.notify_one();
        n
    }

    /// Whether a turn of job `name` that started after kick number `kick`
    /// has finished here (having run the work, or found another instance
    /// holding the lease).
    pub fn served(&self, name: &'static str, kick: u64) -> bool {
        self.job(name).served.load(Ordering::Acquire) >= kick
    }

    /// Runs `work` every `every`, and when kicked, on this instance (work
    /// every instance does for itself, such as writing who it heard
    /// from), until the process ends. A failed run is logged and retried
    /// at the next tick.
    pub fn every<F, Fut>(
        &self,
        name: &'static str,
        every: std::time::Duration,
        work: F,
    ) -> tokio::task::JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send,
    {
        self.run(name, every, None, work)
    }

    /// Runs `work` every `every`, and when kicked, on whichever instance
    /// holds the lease `name` (taken or renewed for `ttl` before each run),
    /// until the process ends. A failed run is logged and retried at the
    /// next tick.
    pub fn every_on_lease<F, Fut>(
        &self,
        db: DatabaseConnection,
        clock: Clock,
        name: &'static str,
        every: std::time::Duration,
        ttl: TimeDelta,
        work: F,
    ) -> tokio::task::JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send,
    {
        self.run(name, every, Some((db, clock, ttl)), work)
    }

    fn run<F, Fut>(
        &self,
        name: &'static str,
        every: std::time::Duration,
        lease: Option<(DatabaseConnection, Clock, TimeDelta)>,
        mut work: F,
    ) -> tokio::task::JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send,
    {
        // Which process holds a lease, for whoever reads the `leases` table.
        let holder = format!("pid {} {}", std::process::id(), Uuid::new_v4());
        let job = self.job(name);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = interval.tick() => {}
                    () = job.wake.notified() => {}
                }
                let seen = job.kicks.load(Ordering::Acquire);
                let holds = match &lease {
                    None => Ok(true),
                    Some((db, clock, ttl)) => try_lease(db, clock, name, &holder, *ttl).await,
                };
                match holds {
                    Ok(true) => {
                        if let Err(e) = work().await {
                            tracing::warn!(job = name, error = %e, "background job failed; retrying at its next run");
                        }
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, lease = name, "cannot take a lease"),
                }
                job.served.fetch_max(seen, Ordering::AcqRel);
            }
        })
    }
}
