//! The `rollouts` table.

use crate::updates::rollouts::rules::RolloutState;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rollouts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// scheduled, running, paused, awaiting_approval, completed, aborted.
    pub state: RolloutState,
    /// The target filter (`updates::rollouts::rules::Target`) as JSON.
    pub target: Json,
    /// The wave plan as JSON.
    pub waves: Json,
    /// Bucket thresholds of the waves opened so far.
    pub thresholds: Json,
    pub open_waves: i32,
    pub wave_opened_at: Option<ChronoDateTimeUtc>,
    /// Failed devices of the current wave an operator accepted by resuming;
    /// they no longer count against the wave's thresholds.
    pub acknowledged_failures: i32,
    pub starts_at: ChronoDateTimeUtc,
    pub device_timeout_secs: i64,
    pub allow_downgrade: bool,
    /// Daily install window in the box's local time (`updates::rollouts::window::TimeWindow`).
    pub maintenance_window: Option<Json>,
    /// At most this many devices downloading at once.
    pub max_concurrent_downloads: Option<i32>,
    /// The rollout this one rolls back.
    pub rollback_of: Option<Uuid>,
    /// Why the rollout is paused or aborted.
    pub reason: Option<String>,
    /// A `updates::rollouts::gate::HealthGate`, when the rollout has one.
    pub health_gate: Option<Json>,
    /// The gate counts faults and device-days from here (set on resume).
    pub gate_since: Option<ChronoDateTimeUtc>,
    /// Seconds after its last wave opened that the rollout stops waiting
    /// for boxes that never showed up (they count as not reached).
    pub unreached_after_secs: Option<i64>,
    /// Whether a completed rollout keeps offering its bundles to target
    /// boxes that show up later.
    pub keep_offering: bool,
    pub created_by: String,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
