//! After-sales: subscribers and their plans, each plan's SLA policy per
//! ticket kind, subscriber API tokens, warranty periods per model and each
//! box's activation date and warranty-void reason, support agents' shifts
//! and queues, tickets with their log (comments, occurrences, changes),
//! satisfaction surveys, and outbound webhooks with their delivery queue.
//!
//! At most one ticket that is not closed exists per box and fault
//! (`dedup_key`): a partial unique index, which SQLite and PostgreSQL both
//! write the same way.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Devices {
    Table,
    ActivatedAt,
    WarrantyVoidReason,
    ReplacedBy,
}

#[derive(DeriveIden)]
enum Plans {
    Table,
    Key,
    Name,
    Rank,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SlaPolicies {
    Table,
    Plan,
    Kind,
    FirstResponseSecs,
    ResolutionSecs,
    Calendar,
    WarnPct,
    EscalateTo,
}

#[derive(DeriveIden)]
enum Subscribers {
    Table,
    Id,
    Account,
    Name,
    Email,
    Phone,
    Plan,
    DedicatedAgent,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SubscriberTokens {
    Table,
    Id,
    SubscriberId,
    Prefix,
    SecretHash,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum ModelWarranties {
    Table,
    Model,
    Months,
}

#[derive(DeriveIden)]
enum SupportAgents {
    Table,
    UserId,
    Queues,
    OnShift,
    LastAssignedAt,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
    Kind,
    Status,
    Priority,
    Subject,
    Channel,
    SubscriberId,
    DeviceId,
    Plan,
    FaultCode,
    DedupKey,
    ProblemId,
    RolloutId,
    Assignee,
    Occurrences,
    FirstFaultAt,
    LastFaultAt,
    Versions,
    Sla,
    Pauses,
    FirstResponseAt,
    ResolvedAt,
    ResolvedVersions,
    ClosedAt,
    WarnedAt,
    BreachedAt,
    EscalationLevel,
    ReopenedCount,
    Quote,
    Rma,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TicketLog {
    Table,
    Id,
    TicketId,
    At,
    Kind,
    Author,
    Public,
    Body,
    Data,
}

#[derive(DeriveIden)]
enum Surveys {
    Table,
    TicketId,
    Prefix,
    SecretHash,
    CreatedAt,
    AnsweredAt,
    Score,
    Comment,
}

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    Url,
    Secret,
    Events,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    WebhookId,
    Event,
    Payload,
    Attempts,
    NextAttemptAt,
    DeliveredAt,
    FailedAt,
    LastError,
    CreatedAt,
}

fn ts(col: impl IntoIden) -> ColumnDef {
    let mut c = ColumnDef::new(col);
    c.timestamp_with_time_zone();
    c
}

fn ts_nn(col: impl IntoIden) -> ColumnDef {
    let mut c = ts(col);
    c.not_null();
    c
}

fn text(col: impl IntoIden, len: u32) -> ColumnDef {
    let mut c = ColumnDef::new(col);
    c.string_len(len);
    c
}

fn text_nn(col: impl IntoIden, len: u32) -> ColumnDef {
    let mut c = text(col, len);
    c.not_null();
    c
}

fn serial_key(col: impl IntoIden) -> ColumnDef {
    let mut c = ColumnDef::new(col);
    c.big_integer().not_null().auto_increment().primary_key();
    c
}

fn index(name: &str, table: impl IntoIden + 'static, cols: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

const OPEN_TICKET_INDEX: &str = "ux_tickets_open_per_device_fault";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for col in [
            ts(Devices::ActivatedAt),
            text(Devices::WarrantyVoidReason, 500),
            ColumnDef::new(Devices::ReplacedBy).uuid().to_owned(),
        ] {
            let mut col = col;
            manager
                .alter_table(
                    Table::alter()
                        .table(Devices::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Plans::Table)
                    .col(text_nn(Plans::Key, 32).primary_key())
                    .col(text_nn(Plans::Name, 100))
                    .col(ColumnDef::new(Plans::Rank).integer().not_null())
                    .col(ts_nn(Plans::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SlaPolicies::Table)
                    .col(text_nn(SlaPolicies::Plan, 32))
                    .col(text_nn(SlaPolicies::Kind, 16))
                    .col(
                        ColumnDef::new(SlaPolicies::FirstResponseSecs)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SlaPolicies::ResolutionSecs)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(SlaPolicies::Calendar).json().not_null())
                    .col(ColumnDef::new(SlaPolicies::WarnPct).integer().not_null())
                    .col(text(SlaPolicies::EscalateTo, 64))
                    .primary_key(
                        Index::create()
                            .col(SlaPolicies::Plan)
                            .col(SlaPolicies::Kind),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sla_policies_plan")
                            .from(SlaPolicies::Table, SlaPolicies::Plan)
                            .to(Plans::Table, Plans::Key)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Subscribers::Table)
                    .col(
                        ColumnDef::new(Subscribers::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(text_nn(Subscribers::Account, 64).unique_key())
                    .col(text_nn(Subscribers::Name, 200))
                    .col(text(Subscribers::Email, 200))
                    .col(text(Subscribers::Phone, 64))
                    .col(text_nn(Subscribers::Plan, 32))
                    .col(ColumnDef::new(Subscribers::DedicatedAgent).uuid())
                    .col(ts_nn(Subscribers::CreatedAt))
                    .col(ts_nn(Subscribers::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SubscriberTokens::Table)
                    .col(
                        ColumnDef::new(SubscriberTokens::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(SubscriberTokens::SubscriberId)
                            .uuid()
                            .not_null(),
                    )
                    .col(text_nn(SubscriberTokens::Prefix, 32).unique_key())
                    .col(text_nn(SubscriberTokens::SecretHash, 64))
                    .col(ts_nn(SubscriberTokens::CreatedAt))
                    .col(ts(SubscriberTokens::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_subscriber_tokens_subscriber")
                            .from(SubscriberTokens::Table, SubscriberTokens::SubscriberId)
                            .to(Subscribers::Table, Subscribers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ModelWarranties::Table)
                    .col(text_nn(ModelWarranties::Model, 64).primary_key())
                    .col(ColumnDef::new(ModelWarranties::Months).integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SupportAgents::Table)
                    .col(
                        ColumnDef::new(SupportAgents::UserId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SupportAgents::Queues).json().not_null())
                    .col(ColumnDef::new(SupportAgents::OnShift).boolean().not_null())
                    .col(ts(SupportAgents::LastAssignedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Tickets::Table)
                    .col(serial_key(Tickets::Id))
                    .col(text_nn(Tickets::Kind, 16))
                    .col(text_nn(Tickets::Status, 16))
                    .col(text_nn(Tickets::Priority, 16))
                    .col(text_nn(Tickets::Subject, 200))
                    .col(text_nn(Tickets::Channel, 16))
                    .col(ColumnDef::new(Tickets::SubscriberId).uuid())
                    .col(ColumnDef::new(Tickets::DeviceId).uuid())
                    .col(text_nn(Tickets::Plan, 32))
                    .col(text(Tickets::FaultCode, 64))
                    .col(text(Tickets::DedupKey, 400))
                    .col(ColumnDef::new(Tickets::ProblemId).uuid())
                    .col(ColumnDef::new(Tickets::RolloutId).uuid())
                    .col(ColumnDef::new(Tickets::Assignee).uuid())
                    .col(
                        ColumnDef::new(Tickets::Occurrences)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ts(Tickets::FirstFaultAt))
                    .col(ts(Tickets::LastFaultAt))
                    .col(ColumnDef::new(Tickets::Versions).json())
                    .col(ColumnDef::new(Tickets::Sla).json().not_null())
                    .col(ColumnDef::new(Tickets::Pauses).json().not_null())
                    .col(ts(Tickets::FirstResponseAt))
                    .col(ts(Tickets::ResolvedAt))
                    .col(ColumnDef::new(Tickets::ResolvedVersions).json())
                    .col(ts(Tickets::ClosedAt))
                    .col(ts(Tickets::WarnedAt))
                    .col(ts(Tickets::BreachedAt))
                    .col(
                        ColumnDef::new(Tickets::EscalationLevel)
                            .integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Tickets::ReopenedCount).integer().not_null())
                    .col(ColumnDef::new(Tickets::Quote).json())
                    .col(ColumnDef::new(Tickets::Rma).json())
                    .col(ts_nn(Tickets::CreatedAt))
                    .col(ts_nn(Tickets::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_tickets_status", &["status"][..]),
            ("ix_tickets_subscriber", &["subscriber_id"][..]),
            ("ix_tickets_device", &["device_id"][..]),
            ("ix_tickets_assignee", &["assignee", "status"][..]),
        ] {
            manager
                .create_index(index(name, Tickets::Table, cols))
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE UNIQUE INDEX {OPEN_TICKET_INDEX} ON tickets (device_id, dedup_key) \
                 WHERE status <> 'closed' AND dedup_key IS NOT NULL"
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TicketLog::Table)
                    .col(serial_key(TicketLog::Id))
                    .col(ColumnDef::new(TicketLog::TicketId).big_integer().not_null())
                    .col(ts_nn(TicketLog::At))
                    .col(text_nn(TicketLog::Kind, 32))
                    .col(text_nn(TicketLog::Author, 200))
                    .col(ColumnDef::new(TicketLog::Public).boolean().not_null())
                    .col(ColumnDef::new(TicketLog::Body).text())
                    .col(ColumnDef::new(TicketLog::Data).json())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_log_ticket")
                            .from(TicketLog::Table, TicketLog::TicketId)
                            .to(Tickets::Table, Tickets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_ticket_log_ticket",
                TicketLog::Table,
                &["ticket_id", "id"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Surveys::Table)
                    .col(
                        ColumnDef::new(Surveys::TicketId)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(text_nn(Surveys::Prefix, 32).unique_key())
                    .col(text_nn(Surveys::SecretHash, 64))
                    .col(ts_nn(Surveys::CreatedAt))
                    .col(ts(Surveys::AnsweredAt))
                    .col(ColumnDef::new(Surveys::Score).integer())
                    .col(ColumnDef::new(Surveys::Comment).text())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_surveys_ticket")
                            .from(Surveys::Table, Surveys::TicketId)
                            .to(Tickets::Table, Tickets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .col(ColumnDef::new(Webhooks::Id).uuid().not_null().primary_key())
                    .col(text_nn(Webhooks::Url, 2000))
                    .col(text_nn(Webhooks::Secret, 200))
                    .col(ColumnDef::new(Webhooks::Events).json().not_null())
                    .col(ColumnDef::new(Webhooks::Active).boolean().not_null())
                    .col(ts_nn(Webhooks::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(serial_key(WebhookDeliveries::Id))
                    .col(
                        ColumnDef::new(WebhookDeliveries::WebhookId)
                            .uuid()
                            .not_null(),
                    )
                    .col(text_nn(WebhookDeliveries::Event, 64))
                    .col(ColumnDef::new(WebhookDeliveries::Payload).json().not_null())
                    .col(
                        ColumnDef::new(WebhookDeliveries::Attempts)
                            .integer()
                            .not_null(),
                    )
                    .col(ts_nn(WebhookDeliveries::NextAttemptAt))
                    .col(ts(WebhookDeliveries::DeliveredAt))
                    .col(ts(WebhookDeliveries::FailedAt))
                    .col(text(WebhookDeliveries::LastError, 500))
                    .col(ts_nn(WebhookDeliveries::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_deliveries_webhook")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::WebhookId)
                            .to(Webhooks::Table, Webhooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_webhook_deliveries_due",
                WebhookDeliveries::Table,
                &["delivered_at", "failed_at", "next_attempt_at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookDeliveries::Table.into_iden(),
            Webhooks::Table.into_iden(),
            Surveys::Table.into_iden(),
            TicketLog::Table.into_iden(),
            Tickets::Table.into_iden(),
            SupportAgents::Table.into_iden(),
            ModelWarranties::Table.into_iden(),
            SubscriberTokens::Table.into_iden(),
            Subscribers::Table.into_iden(),
            SlaPolicies::Table.into_iden(),
            Plans::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for col in [
            Devices::ActivatedAt.into_iden(),
            Devices::WarrantyVoidReason.into_iden(),
            Devices::ReplacedBy.into_iden(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Devices::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
