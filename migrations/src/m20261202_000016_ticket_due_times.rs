//! When a ticket next needs attention, stored so the queue and the SLA
//! sweep need not judge every open ticket: `next_due_at` (the earliest due
//! time of an SLA target not yet met; empty while the clock is paused or
//! the ticket is done) sorts the queue and finds the breached and the
//! nearly breached; `sweep_at` (the first warning or breach the sweep has
//! not yet acted on) lets the sweep read only the tickets falling due.
//!
//! Tickets that are still active get `sweep_at = created_at`, so the first
//! sweep after the upgrade reads each of them once and stamps both times;
//! from then on every save of a ticket keeps them true.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Status,
    NextDueAt,
    SweepAt,
    CreatedAt,
}

const BY_SWEEP: &str = "ix_tickets_sweep_at";
const BY_DUE: &str = "ix_tickets_status_next_due";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for col in [Tickets::NextDueAt, Tickets::SweepAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tickets::Table)
                        .add_column(ColumnDef::new(col).timestamp_with_time_zone())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .exec_stmt(
                Query::update()
                    .table(Tickets::Table)
                    .value(Tickets::SweepAt, Expr::col(Tickets::CreatedAt))
                    .and_where(Expr::col(Tickets::Status).is_in(["new", "open", "pending"]))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(BY_SWEEP)
                    .table(Tickets::Table)
                    .col(Tickets::SweepAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(BY_DUE)
                    .table(Tickets::Table)
                    .col(Tickets::Status)
                    .col(Tickets::NextDueAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [BY_DUE, BY_SWEEP] {
            manager
                .drop_index(Index::drop().name(name).table(Tickets::Table).to_owned())
                .await?;
        }
        for col in [Tickets::SweepAt, Tickets::NextDueAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tickets::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
