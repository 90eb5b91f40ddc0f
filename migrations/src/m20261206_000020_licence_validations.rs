//! The licence validation log (`licence_validations`): every question asked
//! of the validation API — by whom, about which licence, box and product —
//! and the code it was answered with, for support staff looking into "the
//! box says my codec is not licensed".

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LicenceValidations {
    Table,
    Id,
    At,
    LicenceId,
    DeviceId,
    Product,
    Valid,
    Code,
    Caller,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LicenceValidations::Table)
                    .col(
                        ColumnDef::new(LicenceValidations::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(LicenceValidations::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(LicenceValidations::LicenceId).uuid())
                    .col(ColumnDef::new(LicenceValidations::DeviceId).uuid())
                    .col(ColumnDef::new(LicenceValidations::Product).string_len(64))
                    .col(
                        ColumnDef::new(LicenceValidations::Valid)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LicenceValidations::Code)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LicenceValidations::Caller)
                            .string_len(200)
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            (
                "ix_licence_validations_licence",
                LicenceValidations::LicenceId,
            ),
            (
                "ix_licence_validations_device",
                LicenceValidations::DeviceId,
            ),
            ("ix_licence_validations_at", LicenceValidations::At),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(LicenceValidations::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LicenceValidations::Table).to_owned())
            .await
    }
}
