//! The integration suite: the real server on SQLite and PostgreSQL, driven
//! over HTTP, by the real `wavecast` CLI binary, and started as a user would.

mod agent;
mod audit;
mod auth;
mod bundle_limits;
mod bundles;
mod catalog;
mod cli;
mod cli_desk;
mod console;
mod contract;
mod desk;
mod desk_settings;
mod desk_subscribers;
mod device_expiry;
mod devices;
mod directory;
mod downloads;
mod events;
mod fleet_200;
mod fleet_sim;
mod health;
mod hostile;
mod https;
mod ingest_limits;
mod licences;
mod mqtt;
mod problems;
mod readme;
mod restarts;
mod rollout_support;
mod rollouts;
mod rollups;
mod serve;
mod tickets;
mod users_tokens;
