//! Licences (`products`, `licence_policies`, `licences`,
//! `licence_activations`): what a premium codec pack, DRM level or app is
//! sold as, the terms it is sold under, the licences subscribers or boxes
//! hold (keys stored only hashed) and the boxes each licence is activated
//! on.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    Code,
    Name,
    Entitlements,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LicencePolicies {
    Table,
    Id,
    Name,
    ProductId,
    DurationSecs,
    Expiry,
    GraceSecs,
    MaxBoxes,
    Floating,
    MaxActivationsPerDay,
    Entitlements,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Licences {
    Table,
    Id,
    PolicyId,
    KeyPrefix,
    KeyHash,
    SubscriberId,
    DeviceId,
    Entitlements,
    State,
    StartsAt,
    ExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LicenceActivations {
    Table,
    Id,
    LicenceId,
    DeviceId,
    DeviceKey,
    ActivatedAt,
    DeactivatedAt,
}

fn id<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .uuid()
        .not_null()
        .primary_key()
        .to_owned()
}

fn at<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .col(id(Products::Id))
                    .col(
                        ColumnDef::new(Products::Code)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Products::Name).string().not_null())
                    .col(ColumnDef::new(Products::Entitlements).json().not_null())
                    .col(at(Products::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LicencePolicies::Table)
                    .col(id(LicencePolicies::Id))
                    .col(
                        ColumnDef::new(LicencePolicies::Name)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(LicencePolicies::ProductId).uuid().not_null())
                    .col(ColumnDef::new(LicencePolicies::DurationSecs).big_integer())
                    .col(
                        ColumnDef::new(LicencePolicies::Expiry)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LicencePolicies::GraceSecs)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LicencePolicies::MaxBoxes)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LicencePolicies::Floating)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LicencePolicies::MaxActivationsPerDay)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LicencePolicies::Entitlements)
                            .json()
                            .not_null(),
                    )
                    .col(at(LicencePolicies::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LicencePolicies::Table, LicencePolicies::ProductId)
                            .to(Products::Table, Products::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Licences::Table)
                    .col(id(Licences::Id))
                    .col(ColumnDef::new(Licences::PolicyId).uuid().not_null())
                    .col(
                        ColumnDef::new(Licences::KeyPrefix)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Licences::KeyHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Licences::SubscriberId).uuid())
                    .col(ColumnDef::new(Licences::DeviceId).uuid())
                    .col(ColumnDef::new(Licences::Entitlements).json().not_null())
                    .col(ColumnDef::new(Licences::State).string_len(16).not_null())
                    .col(at(Licences::StartsAt))
                    .col(ColumnDef::new(Licences::ExpiresAt).timestamp_with_time_zone())
                    .col(at(Licences::CreatedAt))
                    .col(at(Licences::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Licences::Table, Licences::PolicyId)
                            .to(LicencePolicies::Table, LicencePolicies::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("ix_licences_subscriber", Licences::SubscriberId),
            ("ix_licences_device", Licences::DeviceId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Licences::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(LicenceActivations::Table)
                    .col(id(LicenceActivations::Id))
                    .col(
                        ColumnDef::new(LicenceActivations::LicenceId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LicenceActivations::DeviceId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LicenceActivations::DeviceKey)
                            .string()
                            .not_null(),
                    )
                    .col(at(LicenceActivations::ActivatedAt))
                    .col(
                        ColumnDef::new(LicenceActivations::DeactivatedAt)
                            .timestamp_with_time_zone(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(LicenceActivations::Table, LicenceActivations::LicenceId)
                            .to(Licences::Table, Licences::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            (
                "ix_licence_activations_licence",
                LicenceActivations::LicenceId,
            ),
            (
                "ix_licence_activations_device",
                LicenceActivations::DeviceId,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(LicenceActivations::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LicenceActivations::Table.into_iden(),
            Licences::Table.into_iden(),
            LicencePolicies::Table.into_iden(),
            Products::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
