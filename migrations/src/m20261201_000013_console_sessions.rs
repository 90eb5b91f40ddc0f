//! The web console's sign-in: a password per user (`users.password_hash`,
//! an Argon2id PHC string; null: none set yet), console sessions
//! (`console_sessions`: the session id stored only as its SHA-256, the
//! user, the CSRF token of the session, idle and absolute expiry, when it
//! ended), and failed sign-ins (`sign_in_failures`, by user name and by
//! address) to throttle guessing across instances.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    PasswordHash,
    PasswordChangedAt,
}

#[derive(DeriveIden)]
enum ConsoleSessions {
    Table,
    IdHash,
    UserId,
    Csrf,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    EndedAt,
    SourceIp,
}

#[derive(DeriveIden)]
enum SignInFailures {
    Table,
    Id,
    Key,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::PasswordHash).string_len(200).null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(
                        ColumnDef::new(Users::PasswordChangedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConsoleSessions::Table)
                    .col(
                        ColumnDef::new(ConsoleSessions::IdHash)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ConsoleSessions::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(ConsoleSessions::Csrf)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConsoleSessions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConsoleSessions::LastSeenAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConsoleSessions::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ConsoleSessions::EndedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(ConsoleSessions::SourceIp).string_len(64))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ConsoleSessions::Table, ConsoleSessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("console_sessions_user")
                    .table(ConsoleSessions::Table)
                    .col(ConsoleSessions::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SignInFailures::Table)
                    .col(
                        ColumnDef::new(SignInFailures::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(SignInFailures::Key)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SignInFailures::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sign_in_failures_key_at")
                    .table(SignInFailures::Table)
                    .col(SignInFailures::Key)
                    .col(SignInFailures::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SignInFailures::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ConsoleSessions::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::PasswordChangedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::PasswordHash)
                    .to_owned(),
            )
            .await
    }
}
