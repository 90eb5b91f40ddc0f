//! Rollouts: the bundles they offer, their target and waves, each device's
//! install status, and the lease that elects one scheduler among instances.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Rollouts {
    Table,
    Id,
    Name,
    State,
    Target,
    Waves,
    Thresholds,
    OpenWaves,
    WaveOpenedAt,
    AcknowledgedFailures,
    StartsAt,
    DeviceTimeoutSecs,
    AllowDowngrade,
    MaintenanceWindow,
    MaxConcurrentDownloads,
    RollbackOf,
    Reason,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RolloutBundles {
    Table,
    RolloutId,
    Idx,
    BundleId,
}

#[derive(DeriveIden)]
enum RolloutDevices {
    Table,
    RolloutId,
    DeviceId,
    BundleId,
    State,
    Progress,
    Code,
    Message,
    StartedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    Name,
    Holder,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Rollouts::Table)
                    .col(ColumnDef::new(Rollouts::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Rollouts::Name).string_len(200).not_null())
                    .col(ColumnDef::new(Rollouts::State).string_len(24).not_null())
                    .col(ColumnDef::new(Rollouts::Target).json().not_null())
                    .col(ColumnDef::new(Rollouts::Waves).json().not_null())
                    .col(ColumnDef::new(Rollouts::Thresholds).json().not_null())
                    .col(ColumnDef::new(Rollouts::OpenWaves).integer().not_null())
                    .col(ColumnDef::new(Rollouts::WaveOpenedAt).timestamp_with_time_zone())
                    .col(
                        ColumnDef::new(Rollouts::AcknowledgedFailures)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Rollouts::StartsAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Rollouts::DeviceTimeoutSecs)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Rollouts::AllowDowngrade)
                            .boolean()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Rollouts::MaintenanceWindow).json())
                    .col(ColumnDef::new(Rollouts::MaxConcurrentDownloads).integer())
                    .col(ColumnDef::new(Rollouts::RollbackOf).uuid())
                    .col(ColumnDef::new(Rollouts::Reason).text())
                    .col(
                        ColumnDef::new(Rollouts::CreatedBy)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Rollouts::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Rollouts::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_rollouts_state")
                    .table(Rollouts::Table)
                    .col(Rollouts::State)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RolloutBundles::Table)
                    .col(ColumnDef::new(RolloutBundles::RolloutId).uuid().not_null())
                    .col(ColumnDef::new(RolloutBundles::Idx).integer().not_null())
                    .col(ColumnDef::new(RolloutBundles::BundleId).uuid().not_null())
                    .primary_key(
                        Index::create()
                            .col(RolloutBundles::RolloutId)
                            .col(RolloutBundles::Idx),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_rollout_bundles_rollout")
                            .from(RolloutBundles::Table, RolloutBundles::RolloutId)
                            .to(Rollouts::Table, Rollouts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RolloutDevices::Table)
                    .col(ColumnDef::new(RolloutDevices::RolloutId).uuid().not_null())
                    .col(ColumnDef::new(RolloutDevices::DeviceId).uuid().not_null())
                    .col(ColumnDef::new(RolloutDevices::BundleId).uuid().not_null())
                    .col(
                        ColumnDef::new(RolloutDevices::State)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(RolloutDevices::Progress).integer())
                    .col(ColumnDef::new(RolloutDevices::Code).string_len(64))
                    .col(ColumnDef::new(RolloutDevices::Message).text())
                    .col(
                        ColumnDef::new(RolloutDevices::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RolloutDevices::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(RolloutDevices::RolloutId)
                            .col(RolloutDevices::DeviceId)
                            .col(RolloutDevices::BundleId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_rollout_devices_rollout")
                            .from(RolloutDevices::Table, RolloutDevices::RolloutId)
                            .to(Rollouts::Table, Rollouts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_rollout_devices_device")
                    .table(RolloutDevices::Table)
                    .col(RolloutDevices::DeviceId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Leases::Table)
                    .col(
                        ColumnDef::new(Leases::Name)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Leases::Holder).string_len(64).not_null())
                    .col(
                        ColumnDef::new(Leases::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Leases::Table.into_iden(),
            RolloutDevices::Table.into_iden(),
            RolloutBundles::Table.into_iden(),
            Rollouts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
