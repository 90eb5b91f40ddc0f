//! Where a rollout's target boxes stand, read once per scheduler pass (and
//! for `rollout show`) for the health gate, the wave tally and the counts
//! per wave: each accepted box in the target with its bucket, its install
//! status rows, its outcome, whether it checked in since its wave opened
//! and what holds it back. The rules are in [`super::progress`].

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use wavecast_protocol::status::InstallState;

use super::{
    accounts::Accounts,
    progress::{self, BoxStanding, DeviceOutcome, Held, WaveCounts},
    rules::{wave_specs, DeviceFacts, Target},
    store::{needs, outcome_of, LoadedRollout, Needs},
    waves::{bucket, wave_of, WaveTally},
};
use crate::{
    fleet::devices::{
        rules::{Client, DeviceStatus},
        store::{each_chunk, installed_from},
    },
    licences::entitled::{entitled_to, Entitled},
    platform::{
        entities::{device, rollout_device},
        error::{Error, Result},
    },
    updates::{checkin::offers::Installed, views::RolloutCounts},
};

/// Boxes read per query: between two reads other queries get the
/// connection (SQLite has one), so a pass over a million boxes never holds
/// it for long.
const CHUNK: u64 = 5_000;

/// What a rollout needs to know of one accepted box (not its credentials
/// or keys: a pass reads every box of the fleet).
#[derive(Debug, Clone)]
pub struct TargetBox {
    pub id: Uuid,
    pub serial: String,
    pub model: String,
    pub revision: String,
    pub region: Option<String>,
    pub timezone: Option<String>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
    pub installed: Vec<Installed>,
    /// The subscriber it belongs to (licences held by them count for it).
    pub subscriber_id: Option<Uuid>,
    /// Our agent or a hawkBit DDI client: each gets only its own bundles.
    pub client: Client,
    /// The inventory as stored, to tell boxes alike apart.
    inventory: String,
}

impl TargetBox {
    fn facts(&self) -> DeviceFacts<'_> {
        DeviceFacts {
            serial: &self.serial,
            model: &self.model,
            revision: &self.revision,
            region: self.region.as_deref(),
            tags: &self.tags,
            installed: &self.installed,
        }
    }
}

type Row = (
    Uuid,
    DeviceStatus,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<serde_json::Value>,
    Option<serde_json::Value>,
    Option<Uuid>,
    Client,
);

/// Every accepted box that `keep` keeps, read [`CHUNK`] at a time (see
/// [`each_chunk`]).
async fn accepted_boxes(
    db: &impl ConnectionTrait,
    mut keep: impl FnMut(&TargetBox) -> bool,
) -> Result<Vec<TargetBox>> {
    use device::Column as C;
    let columns = [
        C::Id,
        C::Status,
        C::Serial,
        C::Model,
        C::HardwareRevision,
        C::Region,
        C::Timezone,
        C::LastSeenAt,
        C::Tags,
        C::Installed,
        C::SubscriberId,
        C::Client,
    ];
    let mut out = Vec::new();
    each_chunk(
        db,
        &columns,
        CHUNK,
        |r: &Row| r.0,
        |rows: Vec<Row>| {
            for (
                id,
                status,
                serial,
                model,
                revision,
                region,
                timezone,
                last_seen_at,
                tags,
                installed,
                subscriber_id,
                client,
            ) in rows
            {
                if status != DeviceStatus::Accepted {
                    continue;
                }
                let components: Vec<wavecast_protocol::checkin::Component> = installed
                    .as_ref()
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                    .unwrap_or_default();
                let b = TargetBox {
                    id,
                    serial,
                    model,
                    revision,
                    region,
                    timezone,
                    last_seen_at,
                    tags: tags
                        .and_then(|t| serde_json::from_value(t).ok())
                        .unwrap_or_default(),
                    installed: installed_from(&components),
                    subscriber_id,
                    client,
                    inventory: installed.map(|v| v.to_string()).unwrap_or_default(),
                };
                if keep(&b) {
                    out.push(b);
                }
            }
        },
    )
    .await?;
    Ok(out)
}

/// Every install status row of rollout `id`, read [`CHUNK`] at a time.
async fn install_rows(db: &impl ConnectionTrait, id: Uuid) -> Result<Vec<rollout_device::Model>> {
    use rollout_device::Column as C;
    let mut out = Vec::new();
    let mut after: Option<(Uuid, Uuid)> = None;
    loop {
        let mut q = rollout_device::Entity::find()
            .filter(C::RolloutId.eq(id))
            .order_by_asc(C::DeviceId)
            .order_by_asc(C::BundleId)
            .limit(CHUNK);
        if let Some((device, bundle)) = after {
            q = q.filter(
                sea_orm::Condition::any().add(C::DeviceId.gt(device)).add(
                    sea_orm::Condition::all()
                        .add(C::DeviceId.eq(device))
                        .add(C::BundleId.gt(bundle)),
                ),
            );
        }
        let rows = q.all(db).await?;
        let n = rows.len() as u64;
        after = rows.last().map(|r| (r.device_id, r.bundle_id));
        out.extend(rows);
        if n < CHUNK {
            return Ok(out);
        }
    }
}

/// The accepted devices in a rollout's target at `now`, with their
/// buckets.
pub async fn target_devices(
    db: &impl ConnectionTrait,
    r: &LoadedRollout,
    now: DateTime<Utc>,
) -> Result<Vec<(TargetBox, u32)>> {
    let accounts = Accounts::load(db, &r.target, now).await?;
    let boxes = accepted_boxes(db, |b| {
        r.target.matches(&b.facts())
            && accounts
                .as_ref()
                .is_none_or(|a| a.matches(b.id, b.subscriber_id))
    })
    .await?;
    Ok(boxes
        .into_iter()
        .map(|b| {
            let bucket = bucket(r.model.id, b.id);
            (b, bucket)
        })
        .collect())
}

/// How many accepted boxes `target` matches at `now` (a draft rollout's
/// count).
pub async fn matching(
    db: &impl ConnectionTrait,
    target: &Target,
    now: DateTime<Utc>,
) -> Result<u64> {
    let accounts = Accounts::load(db, target, now).await?;
    let mut n = 0u64;
    accepted_boxes(db, |b| {
        let hit = target.matches(&b.facts())
            && accounts
                .as_ref()
                .is_none_or(|a| a.matches(b.id, b.subscriber_id));
        n += u64::from(hit);
        false
    })
    .await?;
    Ok(n)
}

/// One target device of a rollout as a scheduler pass sees it.
#[derive(Debug)]
pub struct Member {
    pub device: TargetBox,
    pub bucket: u32,
    /// Its install status rows for this rollout.
    pub rows: Vec<rollout_device::Model>,
    pub outcome: DeviceOutcome,
    /// What the progress rules need of it.
    pub standing: BoxStanding,
}

/// Where a rollout's target devices stand at `now`.
#[derive(Debug)]
pub struct Standing {
    pub members: Vec<Member>,
    /// Boxes of open waves that never showed up no longer count: the
    /// current wave has been open the rollout's `unreached_after_secs`.
    pub unreached: bool,
    /// When that happens (or happened), if the rollout sets it.
    pub unreached_at: Option<DateTime<Utc>>,
    /// Every box that reported on this rollout (in the target or no longer),
    /// by outcome.
    pub reported: RolloutCounts,
}

/// What box `d` needs of `needed` once the licensed bundles it is not
/// entitled to are left out, and whether that leaves it nothing it could
/// be offered (it is "not entitled").
fn for_entitled(
    needed: &Needs,
    licensed: &HashMap<Uuid, &str>,
    entitled: &HashMap<String, Entitled>,
    d: &TargetBox,
) -> (Needs, bool) {
    let allowed = |bundle: &Uuid| {
        licensed.get(bundle).is_none_or(|product| {
            entitled
                .get(*product)
                .is_some_and(|e| e.allows(d.id, d.subscriber_id))
        })
    };
    let bundles: Vec<Uuid> = needed.bundles.iter().copied().filter(allowed).collect();
    let not_entitled = bundles.is_empty() && !needed.bundles.is_empty();
    (
        Needs {
            bundles,
            blocked: needed.blocked && !not_entitled,
        },
        not_entitled,
    )
}

/// Boxes that reported, by outcome, from each box's install states.
fn reported<'a>(per_device: impl Iterator<Item = &'a Vec<rollout_device::Model>>) -> RolloutCounts {
    let mut counts = RolloutCounts::default();
    for rows in per_device {
        counts.reported += 1;
        if rows
            .iter()
            .any(|r| matches!(*r.state, InstallState::Failed | InstallState::RolledBack))
        {
            counts.failed += 1;
        } else if rows.iter().all(|r| *r.state == InstallState::Succeeded) {
            counts.succeeded += 1;
        } else {
            counts.in_progress += 1;
        }
    }
    counts
}

impl Standing {
    pub async fn load(
        db: &impl ConnectionTrait,
        r: &LoadedRollout,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let mut by_device: HashMap<Uuid, Vec<rollout_device::Model>> = HashMap::new();
        for row in install_rows(db, r.model.id).await? {
            by_device.entry(row.device_id).or_default().push(row);
        }
        let counts = reported(by_device.values());
        let downloading = by_device
            .values()
            .flatten()
            .filter(|row| {
                matches!(
                    *row.state,
                    InstallState::Downloading | InstallState::Downloaded
                )
            })
            .count();
        let at_limit = r
            .model
            .max_concurrent_downloads
            .is_some_and(|limit| downloading as u64 >= limit.max(0) as u64);
        let current = (r.model.open_waves.max(1) - 1) as usize;
        let current_opened = r.model.wave_opened_at.unwrap_or(r.model.starts_at);
        // Licensed bundles count only for boxes entitled to them.
        let licensed: HashMap<Uuid, &str> = r
            .bundles
            .iter()
            .filter_map(|b| Some((b.id, b.manifest.licensed_product.as_deref()?)))
            .collect();
        let products: Vec<String> = licensed.values().map(|p| (*p).to_owned()).collect();
        let entitled = entitled_to(db, products, now).await?;
        // Boxes alike (model, revision, inventory) need the same bundles.
        let mut alike: HashMap<(Client, String, String, String), Needs> = HashMap::new();
        let members = target_devices(db, r, now)
            .await?
            .into_iter()
            .map(|(device, bucket)| {
                let rows = by_device.remove(&device.id).unwrap_or_default();
                let refs: Vec<&rollout_device::Model> = rows.iter().collect();
                let key = (
                    device.client,
                    device.model.clone(),
                    device.revision.clone(),
                    device.inventory.clone(),
                );
                let needed = alike.entry(key).or_insert_with(|| {
                    needs(
                        r,
                        device.client,
                        &device.model,
                        &device.revision,
                        &device.installed,
                    )
                });
                let (needs, not_entitled) = if licensed.is_empty() {
                    (needed.clone(), false)
                } else {
                    for_entitled(needed, &licensed, &entitled, &device)
                };
                let outcome = outcome_of(&needs, &refs);
                // A box of the current wave must have checked in since that
                // wave opened; one of an earlier wave since the rollout began.
                let since = if wave_of(bucket, &r.thresholds) == Some(current) {
                    current_opened
                } else {
                    r.model.starts_at
                };
                let heard = device.last_seen_at.is_some_and(|t| t >= since);
                let held = if r
                    .window
                    .is_some_and(|w| !w.is_open(device.timezone.as_deref(), now))
                {
                    Some(Held::Window)
                } else if at_limit {
                    Some(Held::Concurrency)
                } else {
                    None
                };
                let standing = BoxStanding {
                    bucket,
                    states: rows.iter().map(|row| *row.state).collect(),
                    outcome,
                    heard,
                    held,
                    not_entitled,
                };
                Member {
                    device,
                    bucket,
                    rows,
                    outcome,
                    standing,
                }
            })
            .collect();
        let after = r
            .model
            .unreached_after_secs
            .map(|s| TimeDelta::seconds(s.max(0)));
        let opened = (r.model.open_waves > 0).then_some(current_opened);
        let unreached_at = progress::unreached_at(opened, after);
        Ok(Self {
            members,
            unreached: unreached_at.is_some_and(|at| now >= at),
            unreached_at,
            reported: counts,
        })
    }

    /// Every wave's counts, the opened ones and those still to come.
    pub fn counts(&self, r: &LoadedRollout) -> Result<Vec<WaveCounts>> {
        let specs = wave_specs(&r.waves)
            .map_err(|e| Error::Internal(anyhow::anyhow!("stored waves: {e}")))?;
        let boxes: Vec<BoxStanding> = self.members.iter().map(|m| m.standing.clone()).collect();
        Ok(progress::wave_counts(
            &specs,
            &r.thresholds,
            r.model.open_waves.max(0) as usize,
            &boxes,
            self.unreached,
        ))
    }

    /// How the current wave's devices stand, for its verdict.
    pub fn tally(&self, r: &LoadedRollout) -> Result<WaveTally> {
        let current = (r.model.open_waves.max(1) - 1) as usize;
        Ok(self
            .counts(r)?
            .get(current)
            .map(progress::tally)
            .unwrap_or_default())
    }
}

/// How the current wave's devices stand.
pub async fn current_tally(
    db: &impl ConnectionTrait,
    r: &LoadedRollout,
    now: DateTime<Utc>,
) -> Result<WaveTally> {
    Standing::load(db, r, now).await?.tally(r)
}
