//! Enrolment claims seen (`enrol_claims`): the SHA-256 of each signed
//! claim a box sent, kept until the claim would be stale anyway, so that
//! the same claim is accepted once. Kept in the database so that every
//! server instance refuses a claim another instance already took.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EnrolClaims {
    Table,
    Digest,
    ExpiresAt,
}

const BY_EXPIRY: &str = "ix_enrol_claims_expires_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EnrolClaims::Table)
                    .col(
                        ColumnDef::new(EnrolClaims::Digest)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(EnrolClaims::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(BY_EXPIRY)
                    .table(EnrolClaims::Table)
                    .col(EnrolClaims::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EnrolClaims::Table).to_owned())
            .await
    }
}
