//! The event pipeline: every box's health and fault batches, over HTTPS or
//! MQTT, pass one bounded queue to a single writer that stores many boxes'
//! batches in one transaction ([`super::store::store_all`]), up to
//! `telemetry.ingest_batch_events` events at a time.
//!
//! - Backpressure: MQTT waits for room in the queue, so the link stops
//!   reading and the broker holds what boxes sent; HTTPS does not wait and
//!   answers 503 with `Retry-After` (the box keeps its queue and retries).
//! - Throttling: a box sending faster than `device_rate_per_sec` (bursts of
//!   `device_burst`) is refused on its own: 429 over HTTPS, dropped and
//!   counted over MQTT. Other boxes do not notice.
//! - Isolation: when a combined transaction fails, each batch in it is
//!   tried alone, so one box's bad batch never refuses another's.
//! - Acknowledgement: a batch's `done` runs after its transaction commits
//!   (and the stored events are counted in the metrics); the MQTT link and
//!   the embedded broker acknowledge the message only then.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::store::{store_all, Incoming, Stored};
use crate::platform::{
    clock::Clock,
    config::TelemetryConfig,
    error::{Error, Result},
    metrics::Metrics,
    throttle::Throttle,
};

/// Told what became of a batch, once.
pub type Done = Box<dyn FnOnce(Result<Stored>) + Send>;

struct Job {
    incoming: Incoming,
    done: Done,
}

/// Why a batch was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The box is over its rate.
    Throttled,
    /// The queue is full (HTTPS only; MQTT waits).
    Busy,
}

/// The handle: cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    tx: mpsc::Sender<Job>,
    throttle: Arc<Throttle<Uuid>>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("queued", &(self.tx.max_capacity() - self.tx.capacity()))
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Starts the writer.
    pub fn start(
        db: DatabaseConnection,
        metrics: Arc<Metrics>,
        clock: Clock,
        cfg: &TelemetryConfig,
    ) -> Self {
        let (tx, rx) = mpsc::channel(cfg.ingest_queue.max(1));
        tokio::spawn(write(
            db,
            rx,
            metrics.clone(),
            clock.clone(),
            cfg.ingest_batch_events.max(1),
        ));
        Self {
            tx,
            throttle: Arc::new(Throttle::new(
                cfg.device_rate_per_sec,
                cfg.device_burst,
                clock,
            )),
            metrics,
        }
    }

    /// Whether `id` may send another message now (takes a token).
    pub fn admit(&self, id: Uuid) -> bool {
        let ok = self.throttle.admit(id);
        if !ok {
            self.metrics.ingest_refused("throttled");
        }
        ok
    }

    /// Queues a batch without waiting (HTTPS).
    pub fn try_submit(&self, incoming: Incoming, done: Done) -> Result<(), Refused> {
        match self.tx.try_send(Job { incoming, done }) {
            Ok(()) => Ok(()),
            Err(_) => {
                self.metrics.ingest_refused("busy");
                Err(Refused::Busy)
            }
        }
    }

    /// Queues a batch, waiting for room (MQTT: the broker holds the rest).
    /// False only when the writer is gone.
    pub async fn submit(&self, incoming: Incoming, done: Done) -> bool {
        self.tx.send(Job { incoming, done }).await.is_ok()
    }

    /// Stores one batch and waits for the answer, refusing at once when
    /// the box is over its rate or the queue is full (HTTPS).
    pub async fn store(&self, incoming: Incoming) -> Result<Stored> {
        if !self.admit(incoming.device_id) {
            return Err(Error::TooManyRequests {
                detail: "this box is sending events faster than its rate; keep them and retry"
                    .into(),
                retry_after_secs: 10,
            });
        }
        let (done, answer) = answer();
        self.try_submit(incoming, done)
            .map_err(|_| Error::Unavailable {
                detail: "the server is busy storing events; keep them and retry".into(),
                retry_after_secs: 5,
            })?;
        wait(answer).await
    }

    /// Stores one batch, waiting for room in the queue and for the commit
    /// (the embedded broker's acknowledgement waits for this).
    pub async fn store_waiting(&self, incoming: Incoming) -> Result<Stored> {
        let (done, answer) = answer();
        if !self.submit(incoming, done).await {
            return Err(writer_stopped());
        }
        wait(answer).await
    }
}

fn writer_stopped() -> Error {
    Error::Internal(anyhow::anyhow!("the event writer stopped"))
}

/// A [`Done`] that hands the result to a receiver.
fn answer() -> (Done, tokio::sync::oneshot::Receiver<Result<Stored>>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    (
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
        rx,
    )
}

async fn wait(answer: tokio::sync::oneshot::Receiver<Result<Stored>>) -> Result<Stored> {
    answer.await.map_err(|_| writer_stopped())?
}

/// Tells `done` what became of its batch, counting what was stored (and
/// how late, at `now`).
fn finish(metrics: &Metrics, now: i64, done: Done, r: Result<Stored>) {
    if let Ok(s) = &r {
        metrics.events_stored(&s.new, u64::from(s.answer.duplicates), now);
    }
    done(r);
}

/// The writer: takes what is queued, up to `max_events`, and stores it in
/// one transaction.
async fn write(
    db: DatabaseConnection,
    mut rx: mpsc::Receiver<Job>,
    metrics: Arc<Metrics>,
    clock: Clock,
    max_events: usize,
) {
    while let Some(first) = rx.recv().await {
        let mut events = first.incoming.batch.events.len();
        let mut jobs = vec![first];
        while events < max_events {
            match rx.try_recv() {
                Ok(j) => {
                    events += j.incoming.batch.events.len();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        metrics.ingest_queue_depth(rx.len());
        let (items, dones): (Vec<Incoming>, Vec<Done>) =
            jobs.into_iter().map(|j| (j.incoming, j.done)).unzip();
        let now = clock.now();
        let at = now.timestamp();
        match store_all(&db, &items, now).await {
            Ok(stored) => {
                metrics.ingest_transaction(events);
                for (done, s) in dones.into_iter().zip(stored) {
                    finish(&metrics, at, done, Ok(s));
                }
            }
            Err(e) if items.len() == 1 => {
                if let Some(done) = dones.into_iter().next() {
                    finish(&metrics, at, done, Err(e));
                }
            }
            Err(e) => {
                // One box's batch must not refuse the others': each alone.
                tracing::info!(error = %e, batches = items.len(), "storing events together failed; storing each alone");
                for (item, done) in items.into_iter().zip(dones) {
                    let r = store_all(&db, std::slice::from_ref(&item), now).await;
                    finish(&metrics, at, done, r.map(|mut v| v.remove(0)));
                }
            }
        }
    }
}
