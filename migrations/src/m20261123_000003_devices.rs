//! Devices: enrolment (identity key, status, hashed credential), inventory,
//! and serials pre-authorised from manufacturing lists.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Devices {
    Table,
    Id,
    Serial,
    Model,
    HardwareRevision,
    PublicKey,
    Status,
    CredentialPrefix,
    CredentialHash,
    CredentialExpiresAt,
    AgentVersion,
    BootSlot,
    Timezone,
    Region,
    Tags,
    Installed,
    SubscriberId,
    CreatedAt,
    AcceptedAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum PreauthorizedSerials {
    Table,
    Serial,
    Model,
    ImportedBy,
    ImportedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Devices::Table)
                    .col(ColumnDef::new(Devices::Id).uuid().not_null().primary_key())
                    .col(
                        ColumnDef::new(Devices::Serial)
                            .string_len(128)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Devices::Model).string_len(64).not_null())
                    .col(
                        ColumnDef::new(Devices::HardwareRevision)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Devices::PublicKey).string_len(64).not_null())
                    .col(ColumnDef::new(Devices::Status).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Devices::CredentialPrefix)
                            .string_len(32)
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Devices::CredentialHash).string_len(64))
                    .col(ColumnDef::new(Devices::CredentialExpiresAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(Devices::AgentVersion).string_len(64))
                    .col(ColumnDef::new(Devices::BootSlot).string_len(16))
                    .col(ColumnDef::new(Devices::Timezone).string_len(64))
                    .col(ColumnDef::new(Devices::Region).string_len(64))
                    .col(ColumnDef::new(Devices::Tags).json())
                    .col(ColumnDef::new(Devices::Installed).json())
                    .col(ColumnDef::new(Devices::SubscriberId).uuid())
                    .col(
                        ColumnDef::new(Devices::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Devices::AcceptedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(Devices::LastSeenAt).timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("ix_devices_status", Devices::Status),
            ("ix_devices_model", Devices::Model),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Devices::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(PreauthorizedSerials::Table)
                    .col(
                        ColumnDef::new(PreauthorizedSerials::Serial)
                            .string_len(128)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PreauthorizedSerials::Model).string_len(64))
                    .col(
                        ColumnDef::new(PreauthorizedSerials::ImportedBy)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PreauthorizedSerials::ImportedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PreauthorizedSerials::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Devices::Table).to_owned())
            .await
    }
}
