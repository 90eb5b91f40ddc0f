//! Database migrations for the Wavecast server.
//!
//! Architecture invariant: a migration is never edited once merged. Changes
//! come as new migrations appended to [`Migrator::migrations`]. Every migration
//! must run on both SQLite and PostgreSQL, so they are written with
//! sea-query's portable schema builder, not raw SQL.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_identity;
mod m20261123_000002_bundles;
mod m20261123_000003_devices;
mod m20261123_000004_rollouts;
mod m20261123_000005_device_changes;
mod m20261123_000006_device_changes_order;
mod m20261123_000007_device_events;
mod m20261123_000008_fault_catalog;
mod m20261123_000009_problems;
mod m20261124_000010_telemetry_rollups;
mod m20261124_000011_tickets;
mod m20261201_000012_rollout_reach;
mod m20261201_000013_console_sessions;
mod m20261201_000014_install_steps;
mod m20261201_000015_rollout_snapshots;
mod m20261202_000016_ticket_due_times;
mod m20261203_000017_devices_by_subscriber;
mod m20261204_000018_enrol_claims;
mod m20261205_000019_licences;
mod m20261206_000020_licence_validations;
mod m20261207_000021_ddi;

/// The ordered list of all migrations.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_identity::Migration),
            Box::new(m20261123_000002_bundles::Migration),
            Box::new(m20261123_000003_devices::Migration),
            Box::new(m20261123_000004_rollouts::Migration),
            Box::new(m20261123_000005_device_changes::Migration),
            Box::new(m20261123_000006_device_changes_order::Migration),
            Box::new(m20261123_000007_device_events::Migration),
            Box::new(m20261123_000008_fault_catalog::Migration),
            Box::new(m20261123_000009_problems::Migration),
            Box::new(m20261124_000010_telemetry_rollups::Migration),
            Box::new(m20261124_000011_tickets::Migration),
            Box::new(m20261201_000012_rollout_reach::Migration),
            Box::new(m20261201_000013_console_sessions::Migration),
            Box::new(m20261201_000014_install_steps::Migration),
            Box::new(m20261201_000015_rollout_snapshots::Migration),
            Box::new(m20261202_000016_ticket_due_times::Migration),
            Box::new(m20261203_000017_devices_by_subscriber::Migration),
            Box::new(m20261204_000018_enrol_claims::Migration),
            Box::new(m20261205_000019_licences::Migration),
            Box::new(m20261206_000020_licence_validations::Migration),
            Box::new(m20261207_000021_ddi::Migration),
        ]
    }
}
