//! What every feature stands on, and which depends on no feature's
//! behaviour: configuration, the database connection and its tables, the
//! server's error type, the clock, the certificates it presents, background jobs on leases, caches, throttles,
//! Prometheus metrics, logging, blob storage, JSON columns and text checks.
//!
//! Architecture Invariant: nothing here calls into a feature folder
//! (`identity`, `updates`, `fleet`, `intake`, `support`, `mqtt`, `http`).
//! The one exception is the tables: [`entities`] name the features' enums
//! as their columns' types, and [`entities::columns`] teaches sea-orm to
//! store them as the words they already were (types only, no calls).

pub mod blobs;
pub mod cache;
pub mod certs;
pub mod clock;
pub mod config;
pub mod db;
pub mod entities;
pub mod error;
pub mod jobs;
pub mod json;
pub mod logging;
pub mod metrics;
pub mod text;
pub mod throttle;
