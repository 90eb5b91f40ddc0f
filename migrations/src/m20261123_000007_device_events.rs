//! Health and fault events boxes send (`device_events`, one row per event,
//! keyed by the id the box gave it so a redelivered batch stores nothing
//! twice) and each box's lifetime count of events it had to drop while
//! offline (`device_event_drops`).

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
    DeviceId,
    EventId,
    Kind,
    At,
    ReceivedAt,
    Code,
    Body,
}

#[derive(DeriveIden)]
enum DeviceEventDrops {
    Table,
    DeviceId,
    DroppedTotal,
    UpdatedAt,
}

const INDEX: &str = "idx_device_events_device_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DeviceEvents::Table)
                    .col(ColumnDef::new(DeviceEvents::DeviceId).uuid().not_null())
                    .col(
                        ColumnDef::new(DeviceEvents::EventId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(DeviceEvents::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(DeviceEvents::At).big_integer().not_null())
                    .col(
                        ColumnDef::new(DeviceEvents::ReceivedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(DeviceEvents::Code).string_len(64))
                    .col(ColumnDef::new(DeviceEvents::Body).json().not_null())
                    .primary_key(
                        Index::create()
                            .col(DeviceEvents::DeviceId)
                            .col(DeviceEvents::EventId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_device_events_device")
                            .from(DeviceEvents::Table, DeviceEvents::DeviceId)
                            .to(Devices::Table, Devices::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(DeviceEvents::Table)
                    .col(DeviceEvents::DeviceId)
                    .col(DeviceEvents::At)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DeviceEventDrops::Table)
                    .col(
                        ColumnDef::new(DeviceEventDrops::DeviceId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(DeviceEventDrops::DroppedTotal)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DeviceEventDrops::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_device_event_drops_device")
                            .from(DeviceEventDrops::Table, DeviceEventDrops::DeviceId)
                            .to(Devices::Table, Devices::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            DeviceEventDrops::Table.into_iden(),
            DeviceEvents::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
