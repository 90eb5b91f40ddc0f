//! An index on `devices (changed_at, id)`: the device directory reads
//! changed rows a page at a time in that order, and many rows can share one
//! `changed_at` (a bulk change stamps them alike); with only `changed_at`
//! indexed each page sorted the whole group again.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Devices {
    Table,
    ChangedAt,
    Id,
}

const INDEX: &str = "idx_devices_changed_at_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Devices::Table)
                    .col(Devices::ChangedAt)
                    .col(Devices::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Devices::Table).to_owned())
            .await
    }
}
