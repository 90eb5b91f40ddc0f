//! Boxes that speak hawkBit's Direct Device Integration API (SWUpdate,
//! rauc-hawkbit-updater): `devices.client` tells them from boxes running
//! our agent; `ddi_targets` holds a DDI box's controller id, its hashed
//! `TargetToken` and the attributes it sent; `ddi_actions` numbers each
//! update offered to a DDI box (hawkBit's action ids are integers); and
//! `bundle_artifacts` gains the SHA-1 and MD5 those clients check.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Devices {
    Table,
    Client,
}

#[derive(DeriveIden)]
enum BundleArtifacts {
    Table,
    Sha1,
    Md5,
}

#[derive(DeriveIden)]
enum DdiTargets {
    Table,
    DeviceId,
    ControllerId,
    TokenPrefix,
    TokenHash,
    Attributes,
    AttributesAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DdiActions {
    Table,
    Id,
    DeviceId,
    RolloutId,
    BundleId,
    State,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Devices::Table)
                    .add_column(
                        ColumnDef::new(Devices::Client)
                            .string_len(16)
                            .not_null()
                            .default("agent"),
                    )
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE.
        for col in [BundleArtifacts::Sha1, BundleArtifacts::Md5] {
            manager
                .alter_table(
                    Table::alter()
                        .table(BundleArtifacts::Table)
                        .add_column(ColumnDef::new(col).string_len(64).null())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(DdiTargets::Table)
                    .col(
                        ColumnDef::new(DdiTargets::DeviceId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(DdiTargets::ControllerId)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(DdiTargets::TokenPrefix).string_len(32))
                    .col(ColumnDef::new(DdiTargets::TokenHash).string_len(128))
                    .col(ColumnDef::new(DdiTargets::Attributes).json())
                    .col(ColumnDef::new(DdiTargets::AttributesAt).timestamp_with_time_zone())
                    .col(
                        ColumnDef::new(DdiTargets::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DdiActions::Table)
                    .col(
                        ColumnDef::new(DdiActions::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(DdiActions::DeviceId).uuid().not_null())
                    .col(ColumnDef::new(DdiActions::RolloutId).uuid().not_null())
                    .col(ColumnDef::new(DdiActions::BundleId).uuid().not_null())
                    .col(ColumnDef::new(DdiActions::State).string_len(16).not_null())
                    .col(
                        ColumnDef::new(DdiActions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DdiActions::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_ddi_actions_offer")
                    .table(DdiActions::Table)
                    .col(DdiActions::DeviceId)
                    .col(DdiActions::RolloutId)
                    .col(DdiActions::BundleId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [DdiActions::Table.into_iden(), DdiTargets::Table.into_iden()] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        for col in [BundleArtifacts::Sha1, BundleArtifacts::Md5] {
            manager
                .alter_table(
                    Table::alter()
                        .table(BundleArtifacts::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Devices::Table)
                    .drop_column(Devices::Client)
                    .to_owned(),
            )
            .await
    }
}
