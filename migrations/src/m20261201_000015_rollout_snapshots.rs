//! The latest reading of where each rollout's boxes stand
//! (`rollout_snapshots`): the counts per wave, the target's size and the
//! health gate's figures, as JSON, with when they were read. The scheduler
//! writes it on every pass over a running rollout; pages read it instead of
//! reading every box of a large target on each request. And indexes for
//! the console over a large fleet: `rollout_devices (rollout_id, state)`
//! (a rollout's page names some boxes in each state), `health_hourly
//! (hour, model, firmware)` (the fleet summary counts device-hours an hour
//! at a time), and for the device list, which shows a page in serial
//! order: `devices (status, serial)`, `(model, serial)` and `(region,
//! serial)` find a filtered page without sorting every match (the first
//! two replace the indexes on status and on model alone).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RolloutSnapshots {
    Table,
    RolloutId,
    ComputedAt,
    Reading,
}

#[derive(DeriveIden)]
enum RolloutDevices {
    Table,
    RolloutId,
    State,
}

#[derive(DeriveIden)]
enum HealthHourly {
    Table,
    Hour,
    Model,
    Firmware,
}

#[derive(DeriveIden)]
enum Devices {
    Table,
    Status,
    Model,
    Region,
    Serial,
}

const BY_STATE: &str = "ix_rollout_devices_state";
const BY_HOUR: &str = "ix_health_hourly_hour";

/// The device list's indexes: name, leading column, and the single-column
/// index it replaces.
const LIST: [(&str, Devices, Option<&str>); 3] = [
    (
        "ix_devices_status_serial",
        Devices::Status,
        Some("ix_devices_status"),
    ),
    (
        "ix_devices_model_serial",
        Devices::Model,
        Some("ix_devices_model"),
    ),
    ("ix_devices_region_serial", Devices::Region, None),
];

#[derive(DeriveIden)]
enum Rollouts {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RolloutSnapshots::Table)
                    .col(
                        ColumnDef::new(RolloutSnapshots::RolloutId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(RolloutSnapshots::ComputedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(RolloutSnapshots::Reading).json().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(RolloutSnapshots::Table, RolloutSnapshots::RolloutId)
                            .to(Rollouts::Table, Rollouts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(BY_STATE)
                    .table(RolloutDevices::Table)
                    .col(RolloutDevices::RolloutId)
                    .col(RolloutDevices::State)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(BY_HOUR)
                    .table(HealthHourly::Table)
                    .col(HealthHourly::Hour)
                    .col(HealthHourly::Model)
                    .col(HealthHourly::Firmware)
                    .to_owned(),
            )
            .await?;
        for (name, leading, replaced) in LIST {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Devices::Table)
                        .col(leading)
                        .col(Devices::Serial)
                        .to_owned(),
                )
                .await?;
            if let Some(old) = replaced {
                manager
                    .drop_index(Index::drop().name(old).table(Devices::Table).to_owned())
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, leading, replaced) in LIST {
            if let Some(old) = replaced {
                manager
                    .create_index(
                        Index::create()
                            .name(old)
                            .table(Devices::Table)
                            .col(leading)
                            .to_owned(),
                    )
                    .await?;
            }
            manager
                .drop_index(Index::drop().name(name).table(Devices::Table).to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name(BY_HOUR)
                    .table(HealthHourly::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(BY_STATE)
                    .table(RolloutDevices::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(RolloutSnapshots::Table).to_owned())
            .await
    }
}
