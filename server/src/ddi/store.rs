//! DDI targets and actions at the SQL edge: finding a box by its
//! controller id, registering one (by an operator, with a `TargetToken`,
//! or on its first poll through the gateway token), its attributes, and
//! the numbered actions that carry a rollout's offer to it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;

use super::{rules::ActionState, views::TargetView};
use crate::{
    fleet::devices::rules::{Client, DeviceStatus},
    identity::{
        audit::store::{audited, write, Actor, Entry},
        caller::Caller,
        tokens::rules::{generate_in, NewToken, Scheme},
    },
    platform::{
        entities::{ddi_action, ddi_target, device, preauthorized_serial},
        error::{Error, Result},
    },
};

/// A DDI box: its target row and its device row.
#[derive(Debug, Clone)]
pub struct Target {
    pub target: ddi_target::Model,
    pub device: device::Model,
}

impl Target {
    /// The attributes it sent with `configData`.
    pub fn attributes(&self) -> BTreeMap<String, String> {
        attributes_of(&self.target)
    }

    pub fn view(&self) -> TargetView {
        view_of(&self.target)
    }
}

fn attributes_of(t: &ddi_target::Model) -> BTreeMap<String, String> {
    t.attributes
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

fn view_of(t: &ddi_target::Model) -> TargetView {
    TargetView {
        device_id: t.device_id,
        controller_id: t.controller_id.clone(),
        token_prefix: t.token_prefix.clone(),
        attributes: attributes_of(t),
    }
}

/// The DDI box with `controller_id`, if there is one.
pub async fn find(db: &impl ConnectionTrait, controller_id: &str) -> Result<Option<Target>> {
    let Some(target) = ddi_target::Entity::find()
        .filter(ddi_target::Column::ControllerId.eq(controller_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let device = device::Entity::find_by_id(target.device_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::corrupt("ddi target", "its device row is missing"))?;
    Ok(Some(Target { target, device }))
}

/// A new device row for a DDI box.
fn new_device(
    id: Uuid,
    serial: &str,
    model: &str,
    revision: &str,
    status: DeviceStatus,
    now: DateTime<Utc>,
) -> device::ActiveModel {
    device::ActiveModel {
        id: Set(id),
        serial: Set(serial.to_owned()),
        model: Set(model.to_owned()),
        hardware_revision: Set(revision.to_owned()),
        // A DDI box has no key of ours: its client verifies images itself.
        public_key: Set(String::new()),
        status: Set(status),
        created_at: Set(now),
        accepted_at: Set((status == DeviceStatus::Accepted).then_some(now)),
        changed_at: Set(Some(now)),
        client: Set(Client::Ddi),
        ..Default::default()
    }
}

/// What the audit log keeps of a DDI registration.
#[derive(Debug, Serialize)]
struct Registered<'a> {
    client: &'static str,
    status: DeviceStatus,
    by: &'a str,
}

/// Registers a DDI box with a fresh `TargetToken` (an operator's doing:
/// the box is accepted). 409 when the controller id is taken.
pub async fn register(
    db: &DatabaseConnection,
    caller: &Caller,
    controller_id: String,
    model: String,
    revision: String,
    now: DateTime<Utc>,
) -> Result<(TargetView, String)> {
    audited(db, caller, now, move |txn| {
        Box::pin(async move {
            let taken = device::Entity::find()
                .filter(device::Column::Serial.eq(&controller_id))
                .one(txn)
                .await?;
            if taken.is_some() {
                return Err(Error::Conflict(format!(
                    "a box with serial or controller id {controller_id:?} exists; issue it a new \
                     token with `wavecast ddi token {controller_id}`"
                )));
            }
            let id = Uuid::now_v7();
            new_device(
                id,
                &controller_id,
                &model,
                &revision,
                DeviceStatus::Accepted,
                now,
            )
            .insert(txn)
            .await?;
            let token = generate_in(Scheme::Target);
            let target = ddi_target::ActiveModel {
                device_id: Set(id),
                controller_id: Set(controller_id.clone()),
                token_prefix: Set(Some(token.prefix.clone())),
                token_hash: Set(Some(token.hash.clone())),
                attributes: Set(None),
                attributes_at: Set(None),
                created_at: Set(now),
            }
            .insert(txn)
            .await?;
            let entry = Entry::new("ddi.register", "device", controller_id).details(&Registered {
                client: Client::Ddi.as_str(),
                status: DeviceStatus::Accepted,
                by: "operator",
            });
            Ok(((view_of(&target), token.plaintext), entry))
        })
    })
    .await
}

/// Registers a box that polled through the gateway token with an unknown
/// controller id: pending, or accepted when its serial is pre-authorised.
/// Two first polls at once register it once.
pub async fn register_polled(
    db: &DatabaseConnection,
    controller_id: &str,
    now: DateTime<Utc>,
) -> Result<Target> {
    let txn = db.begin().await?;
    let native = device::Entity::find()
        .filter(device::Column::Serial.eq(controller_id))
        .one(&txn)
        .await?;
    if native.is_some() {
        // Registered by a poll a moment ago, or a box running our agent.
        drop(txn);
        return find(db, controller_id).await?.ok_or_else(|| {
            Error::Conflict(format!(
                "a box running our agent has the serial {controller_id:?}; a DDI client needs \
                 a controller id of its own"
            ))
        });
    }
    let preauthorized = preauthorized_serial::Entity::find_by_id(controller_id.to_owned())
        .one(&txn)
        .await?;
    let status = if preauthorized.is_some() {
        DeviceStatus::Accepted
    } else {
        DeviceStatus::Pending
    };
    let model = preauthorized.and_then(|p| p.model).unwrap_or_default();
    let id = Uuid::now_v7();
    let inserted = async {
        new_device(id, controller_id, &model, "", status, now)
            .insert(&txn)
            .await?;
        ddi_target::ActiveModel {
            device_id: Set(id),
            controller_id: Set(controller_id.to_owned()),
            token_prefix: Set(None),
            token_hash: Set(None),
            attributes: Set(None),
            attributes_at: Set(None),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        write(
            &txn,
            Actor::SYSTEM,
            now,
            Entry::new("ddi.register", "device", controller_id).details(&Registered {
                client: Client::Ddi.as_str(),
                status,
                by: "gateway token",
            }),
        )
        .await
    }
    .await;
    match inserted {
        Ok(()) => txn.commit().await?,
        Err(e) => {
            drop(txn);
            // Another poll registered it first (or a native box has the serial).
            return find(db, controller_id).await?.ok_or(e);
        }
    }
    find(db, controller_id)
        .await?
        .ok_or_else(|| Error::corrupt("ddi target", "vanished after registration"))
}

/// Issues a new `TargetToken` for a DDI box, replacing any earlier one.
pub async fn issue_token(
    db: &DatabaseConnection,
    caller: &Caller,
    controller_id: String,
    now: DateTime<Utc>,
) -> Result<(TargetView, String)> {
    let t = generate_in(Scheme::Target);
    let (view, ()) = set_token(db, caller, controller_id, Some(&t), now).await?;
    Ok((view, t.plaintext))
}

/// Revokes a DDI box's `TargetToken`: it can no longer poll with it.
pub async fn revoke_token(
    db: &DatabaseConnection,
    caller: &Caller,
    controller_id: String,
    now: DateTime<Utc>,
) -> Result<TargetView> {
    Ok(set_token(db, caller, controller_id, None, now).await?.0)
}

async fn set_token(
    db: &DatabaseConnection,
    caller: &Caller,
    controller_id: String,
    token: Option<&NewToken>,
    now: DateTime<Utc>,
) -> Result<(TargetView, ())> {
    let (prefix, hash) = match token {
        Some(t) => (Some(t.prefix.clone()), Some(t.hash.clone())),
        None => (None, None),
    };
    let view = audited(db, caller, now, move |txn| {
        Box::pin(async move {
            let t = find(txn, &controller_id)
                .await?
                .ok_or_else(|| Error::NotFound(format!("no DDI box {controller_id:?}")))?;
            let action = if hash.is_some() {
                "ddi.token.issue"
            } else {
                "ddi.token.revoke"
            };
            let mut m: ddi_target::ActiveModel = t.target.into();
            m.token_prefix = Set(prefix);
            m.token_hash = Set(hash);
            let target = m.update(txn).await?;
            Ok((
                view_of(&target),
                Entry::new(action, "device", controller_id),
            ))
        })
    })
    .await?;
    Ok((view, ()))
}

/// What a box's attributes say of its identity and place.
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity<'a> {
    pub model: Option<&'a str>,
    pub revision: Option<&'a str>,
    /// An IANA time zone: maintenance windows open in its local time.
    pub timezone: Option<&'a str>,
}

/// Stores a box's attributes; a model, hardware revision or time zone
/// among them becomes the box's own.
pub async fn set_attributes(
    db: &impl ConnectionTrait,
    t: &Target,
    attributes: BTreeMap<String, String>,
    identity: Identity<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut m: ddi_target::ActiveModel = t.target.clone().into();
    m.attributes = Set(Some(
        serde_json::to_value(&attributes).map_err(anyhow::Error::from)?,
    ));
    m.attributes_at = Set(Some(now));
    m.update(db).await?;
    let d = &t.device;
    let model = identity.model.filter(|m| *m != d.model);
    let revision = identity.revision.filter(|r| *r != d.hardware_revision);
    let timezone = identity
        .timezone
        .filter(|z| d.timezone.as_deref() != Some(*z));
    if model.is_some() || revision.is_some() || timezone.is_some() {
        let mut m: device::ActiveModel = d.clone().into();
        if let Some(model) = model {
            m.model = Set(model.to_owned());
        }
        if let Some(revision) = revision {
            m.hardware_revision = Set(revision.to_owned());
        }
        if let Some(zone) = timezone {
            m.timezone = Set(Some(zone.to_owned()));
        }
        m.changed_at = Set(Some(now));
        m.update(db).await?;
    }
    Ok(())
}

/// Every action the box was given, oldest first.
pub async fn actions_of(
    db: &impl ConnectionTrait,
    device_id: Uuid,
) -> Result<Vec<ddi_action::Model>> {
    Ok(ddi_action::Entity::find()
        .filter(ddi_action::Column::DeviceId.eq(device_id))
        .order_by_asc(ddi_action::Column::Id)
        .all(db)
        .await?)
}

/// The box's action `id`, or 404 (another box's actions do not exist for it).
pub async fn action(
    db: &impl ConnectionTrait,
    device_id: Uuid,
    id: &str,
) -> Result<ddi_action::Model> {
    let missing = || Error::NotFound(format!("no action {id:?} for this controller"));
    let id: i64 = id.parse().map_err(|_| missing())?;
    ddi_action::Entity::find_by_id(id)
        .filter(ddi_action::Column::DeviceId.eq(device_id))
        .one(db)
        .await?
        .ok_or_else(missing)
}

/// Opens an action for the box's offer of `bundle_id` by `rollout_id`; if
/// one exists for that offer (a concurrent poll), returns it.
pub async fn open(
    db: &impl ConnectionTrait,
    device_id: Uuid,
    rollout_id: Uuid,
    bundle_id: Uuid,
    now: DateTime<Utc>,
) -> Result<ddi_action::Model> {
    let inserted = ddi_action::ActiveModel {
        device_id: Set(device_id),
        rollout_id: Set(rollout_id),
        bundle_id: Set(bundle_id),
        state: Set(ActionState::Open),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await;
    match inserted {
        Ok(m) => Ok(m),
        Err(e) => ddi_action::Entity::find()
            .filter(ddi_action::Column::DeviceId.eq(device_id))
            .filter(ddi_action::Column::RolloutId.eq(rollout_id))
            .filter(ddi_action::Column::BundleId.eq(bundle_id))
            .one(db)
            .await?
            .ok_or_else(|| e.into()),
    }
}

/// Ends action `a` in `state` (only if it is still open).
pub async fn end(
    db: &impl ConnectionTrait,
    a: &ddi_action::Model,
    state: ActionState,
    now: DateTime<Utc>,
) -> Result<()> {
    ddi_action::Entity::update_many()
        .col_expr(ddi_action::Column::State, state.into())
        .col_expr(ddi_action::Column::UpdatedAt, now.into())
        .filter(ddi_action::Column::Id.eq(a.id))
        .filter(ddi_action::Column::State.eq(ActionState::Open))
        .exec(db)
        .await?;
    Ok(())
}
