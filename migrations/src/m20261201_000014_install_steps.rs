//! Each step of an install as it happened (`install_steps`): one row per
//! state a box reported for a bundle of a rollout (downloading, installing,
//! rebooting, succeeded, failed, rolled back), with the progress, code and
//! message of that report and when it arrived. `rollout_devices` keeps only
//! the latest state; a box's page shows the steps.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InstallSteps {
    Table,
    Id,
    RolloutId,
    DeviceId,
    BundleId,
    State,
    Progress,
    Code,
    Message,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InstallSteps::Table)
                    .col(
                        ColumnDef::new(InstallSteps::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(InstallSteps::RolloutId).uuid().not_null())
                    .col(ColumnDef::new(InstallSteps::DeviceId).uuid().not_null())
                    .col(ColumnDef::new(InstallSteps::BundleId).uuid().not_null())
                    .col(
                        ColumnDef::new(InstallSteps::State)
                            .string_len(24)
                            .not_null(),
                    )
                    .col(ColumnDef::new(InstallSteps::Progress).integer())
                    .col(ColumnDef::new(InstallSteps::Code).string_len(64))
                    .col(ColumnDef::new(InstallSteps::Message).text())
                    .col(
                        ColumnDef::new(InstallSteps::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("install_steps_device")
                    .table(InstallSteps::Table)
                    .col(InstallSteps::DeviceId)
                    .col(InstallSteps::RolloutId)
                    .col(InstallSteps::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(InstallSteps::Table).to_owned())
            .await
    }
}
