//! Telemetry over time: hourly rollups of each box's health reports
//! (`health_hourly`: per metric count, sum, minimum and maximum, with the
//! box's model and firmware version in that hour, so device-days can be
//! counted per version), the marks background jobs resume from
//! (`job_marks`), an index to find what arrived since a mark, and each
//! rollout's optional health gate (`rollouts.health_gate`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Devices {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum DeviceEvents {
    Table,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum HealthHourly {
    Table,
    DeviceId,
    Hour,
    Model,
    Firmware,
    Reports,
    Metrics,
}

#[derive(DeriveIden)]
enum JobMarks {
    Table,
    Name,
    Mark,
}

#[derive(DeriveIden)]
enum Rollouts {
    Table,
    HealthGate,
    GateSince,
}

const RECEIVED_INDEX: &str = "idx_device_events_received_at";
const HOUR_INDEX: &str = "idx_health_hourly_hour";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(HealthHourly::Table)
                    .col(ColumnDef::new(HealthHourly::DeviceId).uuid().not_null())
                    .col(ColumnDef::new(HealthHourly::Hour).big_integer().not_null())
                    .col(
                        ColumnDef::new(HealthHourly::Model)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(HealthHourly::Firmware).string_len(64))
                    .col(ColumnDef::new(HealthHourly::Reports).integer().not_null())
                    .col(ColumnDef::new(HealthHourly::Metrics).json().not_null())
                    .primary_key(
                        Index::create()
                            .col(HealthHourly::DeviceId)
                            .col(HealthHourly::Hour),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_health_hourly_device")
                            .from(HealthHourly::Table, HealthHourly::DeviceId)
                            .to(Devices::Table, Devices::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(HOUR_INDEX)
                    .table(HealthHourly::Table)
                    .col(HealthHourly::Hour)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(JobMarks::Table)
                    .col(
                        ColumnDef::new(JobMarks::Name)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(JobMarks::Mark).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(RECEIVED_INDEX)
                    .table(DeviceEvents::Table)
                    .col(DeviceEvents::ReceivedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Rollouts::Table)
                    .add_column(ColumnDef::new(Rollouts::HealthGate).json().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Rollouts::Table)
                    .add_column(
                        ColumnDef::new(Rollouts::GateSince)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Rollouts::Table)
                    .drop_column(Rollouts::GateSince)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Rollouts::Table)
                    .drop_column(Rollouts::HealthGate)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(RECEIVED_INDEX)
                    .table(DeviceEvents::Table)
                    .to_owned(),
            )
            .await?;
        for t in [JobMarks::Table.into_iden(), HealthHourly::Table.into_iden()] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
