//! `devices.changed_at`: when a box's credential, status or targeting facts
//! last changed. Servers sharing a database poll it to keep their in-memory
//! device directories in step (a decommissioning on one instance stops the
//! credential on all of them within a second).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Devices {
    Table,
    ChangedAt,
}

const INDEX: &str = "idx_devices_changed_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Devices::Table)
                    .add_column(
                        ColumnDef::new(Devices::ChangedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Devices::Table)
                    .col(Devices::ChangedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Devices::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Devices::Table)
                    .drop_column(Devices::ChangedAt)
                    .to_owned(),
            )
            .await
    }
}
