//! The Wavecast server: management API, device API, rollout engine and
//! ticketing, plus the `wavecast` operator CLI that talks to it.
//!
//! The binary (`src/main.rs`) is thin: it parses the command line and calls
//! into [`cli`]. Tests start the same [`startup::Application`] on port 0.

pub mod aftersales;
pub mod api;
pub mod audit;
pub mod auth;
pub mod blobs;
pub mod bootstrap;
pub mod cache;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod db;
pub mod directory;
pub mod domain;
pub mod engine;
pub mod entities;
pub mod error;
pub mod events;
pub mod ingest;
pub mod metrics;
pub mod mqtt;
pub mod pipeline;
pub mod presence;
pub mod problems;
pub mod rollups;
pub mod routes;
pub mod signer;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tickets;
pub mod trust;
pub mod webhooks;
