//! The `support_agents` table: which ticket queues a support user works,
//! whether they are on shift, and when they were last given a ticket
//! (round-robin).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "support_agents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// Ticket kinds, e.g. `["warranty", "support"]`.
    pub queues: Json,
    pub on_shift: bool,
    pub last_assigned_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
