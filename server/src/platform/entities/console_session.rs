//! The `console_sessions` table: a signed-in browser. The session id is
//! stored only as its SHA-256; the CSRF token is the session's own.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "console_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id_hash: String,
    pub user_id: Uuid,
    pub csrf: String,
    pub created_at: ChronoDateTimeUtc,
    pub last_seen_at: ChronoDateTimeUtc,
    /// The absolute end, whatever the activity.
    pub expires_at: ChronoDateTimeUtc,
    /// Signed out, or ended by a password change or the user's disabling.
    pub ended_at: Option<ChronoDateTimeUtc>,
    pub source_ip: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
