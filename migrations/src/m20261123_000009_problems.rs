//! Fleet problems: faults with one code and signature across boxes
//! (`problems`, unique on code and signature), and each affected box's
//! share of one (`problem_devices`: its model, the versions it ran at its
//! latest such fault, how often and when).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Devices {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Problems {
    Table,
    Id,
    Code,
    Signature,
    Status,
    FirstSeenAt,
    LastSeenAt,
    Occurrences,
    ResolvedAt,
    ResolvedVersions,
    ReopenedCount,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProblemDevices {
    Table,
    ProblemId,
    DeviceId,
    Model,
    Versions,
    Installed,
    FirstSeenAt,
    LastSeenAt,
    Occurrences,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Problems::Table)
                    .col(ColumnDef::new(Problems::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Problems::Code).string_len(64).not_null())
                    .col(
                        ColumnDef::new(Problems::Signature)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Problems::Status).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Problems::FirstSeenAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Problems::LastSeenAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Problems::Occurrences)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Problems::ResolvedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(Problems::ResolvedVersions).json())
                    .col(ColumnDef::new(Problems::ReopenedCount).integer().not_null())
                    .col(
                        ColumnDef::new(Problems::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_problems_code_signature")
                    .table(Problems::Table)
                    .col(Problems::Code)
                    .col(Problems::Signature)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProblemDevices::Table)
                    .col(ColumnDef::new(ProblemDevices::ProblemId).uuid().not_null())
                    .col(ColumnDef::new(ProblemDevices::DeviceId).uuid().not_null())
                    .col(
                        ColumnDef::new(ProblemDevices::Model)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ProblemDevices::Versions)
                            .string_len(4096)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ProblemDevices::Installed).json().not_null())
                    .col(
                        ColumnDef::new(ProblemDevices::FirstSeenAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ProblemDevices::LastSeenAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ProblemDevices::Occurrences)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ProblemDevices::ProblemId)
                            .col(ProblemDevices::DeviceId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_problem_devices_problem")
                            .from(ProblemDevices::Table, ProblemDevices::ProblemId)
                            .to(Problems::Table, Problems::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_problem_devices_device")
                            .from(ProblemDevices::Table, ProblemDevices::DeviceId)
                            .to(Devices::Table, Devices::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            ProblemDevices::Table.into_iden(),
            Problems::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
