//! Rollouts that finish: how long after its last wave opened a rollout
//! stops waiting for boxes that never showed up (`rollouts.
//! unreached_after_secs`, null: it waits for them), and whether a completed
//! rollout keeps offering its bundles to target boxes that show up later
//! (`rollouts.keep_offering`, true as before). And the bootstrap token,
//! marked so that it dies when first used to create a token or a user
//! (`api_tokens.bootstrap`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Rollouts {
    Table,
    UnreachedAfterSecs,
    KeepOffering,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Bootstrap,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER TABLE: SQLite adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Rollouts::Table)
                    .add_column(
                        ColumnDef::new(Rollouts::UnreachedAfterSecs)
                            .big_integer()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Rollouts::Table)
                    .add_column(
                        ColumnDef::new(Rollouts::KeepOffering)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ApiTokens::Table)
                    .add_column(
                        ColumnDef::new(ApiTokens::Bootstrap)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApiTokens::Table)
                    .drop_column(ApiTokens::Bootstrap)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Rollouts::Table)
                    .drop_column(Rollouts::KeepOffering)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Rollouts::Table)
                    .drop_column(Rollouts::UnreachedAfterSecs)
                    .to_owned(),
            )
            .await
    }
}
