//! The fault catalog (`fault_catalog`): one row per fault code boxes
//! report, with its class, severity, knowledge-base article and ticket
//! policy. Filled from the catalog file at start, edited through the API.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FaultCatalog {
    Table,
    Code,
    Title,
    Class,
    Severity,
    Kb,
    PolicyOccurrences,
    PolicyWindowHours,
    PolicyImmediate,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FaultCatalog::Table)
                    .col(
                        ColumnDef::new(FaultCatalog::Code)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(FaultCatalog::Title)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FaultCatalog::Class)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FaultCatalog::Severity)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(FaultCatalog::Kb).text().not_null())
                    .col(
                        ColumnDef::new(FaultCatalog::PolicyOccurrences)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FaultCatalog::PolicyWindowHours)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FaultCatalog::PolicyImmediate)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FaultCatalog::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FaultCatalog::Table).to_owned())
            .await
    }
}
