//! Health and fault telemetry as the fleet reads it: metric names, event
//! kinds and hourly rollups ([`rules`]), reading a box's events and series
//! ([`store`], [`routes`]), and the rollup and retention job ([`rollups`]).
//! Events are written by `intake`.

pub mod rollups;
pub mod routes;
pub mod rules;
pub mod store;
