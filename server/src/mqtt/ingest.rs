//! What the MQTT side hands box messages to — the device directory (who
//! may speak), presence, the event pipeline, the metrics and the clock —
//! for the embedded broker and the server's link alike.

use std::sync::Arc;

use crate::{
    fleet::{directory::Directory, presence::Presence},
    intake::pipeline::Pipeline,
    platform::{clock::Clock, metrics::Metrics},
};

/// What the link hands box messages to.
#[derive(Clone, Debug)]
pub struct Ingest {
    pub directory: Arc<Directory>,
    pub presence: Arc<Presence>,
    pub pipeline: Pipeline,
    pub metrics: Arc<Metrics>,
    pub clock: Clock,
}
