//! A subscriber's boxes by index: the subscriber's page, the app's box
//! list, a new ticket's box picker and every subscriber view read
//! `devices` by `subscriber_id`, which without an index read every box
//! (a third of a second per subscriber at a million boxes).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Devices {
    Table,
    SubscriberId,
}

const BY_SUBSCRIBER: &str = "ix_devices_subscriber";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(BY_SUBSCRIBER)
                    .table(Devices::Table)
                    .col(Devices::SubscriberId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(BY_SUBSCRIBER)
                    .table(Devices::Table)
                    .to_owned(),
            )
            .await
    }
}
