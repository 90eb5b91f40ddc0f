//! What boxes call about themselves: `POST /api/v1/device/enrol` (a claim
//! signed by the box's identity key: proof of possession) and
//! `GET /api/v1/device/self`. What an enrolment does is decided by the
//! pure rules in [`super::rules`].

use actix_web::{web, HttpResponse};
use chrono::TimeDelta;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use uuid::Uuid;
use wavecast_protocol::{
    device::{EnrolAnswer, EnrolClaim, EnrolStatus},
    envelope::Envelope,
};

use super::{
    auth::DeviceAuth,
    rules::{decide, DeviceStatus, Enrolment},
    store::device_view,
};
use crate::{
    identity::{
        audit::store::{self as audit, Actor, Entry},
        tokens::rules::{self as token, Scheme},
    },
    platform::{
        entities::{device, preauthorized_serial},
        error::{Error, Result},
        text::Line,
    },
    state::AppState,
};

fn check_fields(c: &EnrolClaim) -> Result<()> {
    for (field, value, max) in [
        ("serial", &c.serial, 128),
        ("model", &c.model, 64),
        ("hardware_revision", &c.hardware_revision, 64),
    ] {
        let v = Line::parse(field, value, max).map_err(Error::Validation)?;
        if v.as_str() != value {
            return Err(Error::Validation(format!("{field} has surrounding spaces")));
        }
    }
    Ok(())
}

/// What the audit log keeps of a new box.
#[derive(Debug, serde::Serialize)]
struct Enrolled {
    status: DeviceStatus,
    model: String,
}

/// `POST /api/v1/device/enrol`: the body is an enrolment envelope signed by
/// the box's identity key.
pub async fn enrol(state: web::Data<AppState>, body: web::Json<Envelope>) -> Result<HttpResponse> {
    let cfg = &state.config.devices;
    let now = state.clock.now();
    let claim = EnrolClaim::open(&body, now.timestamp(), i64::from(cfg.enrol_max_skew_secs))
        .map_err(|e| Error::Validation(format!("enrolment refused: {e}")))?;
    check_fields(&claim)?;
    let ttl = TimeDelta::seconds(i64::from(cfg.credential_ttl_secs.max(1)));
    let retry = u64::from(cfg.pending_retry_secs);
    let answer = state
        .db
        .transaction::<_, (u16, EnrolAnswer), Error>(|txn| {
            Box::pin(async move {
                let known = device::Entity::find()
                    .filter(device::Column::Serial.eq(&claim.serial))
                    .one(txn)
                    .await?;
                let preauthorized = preauthorized_serial::Entity::find_by_id(claim.serial.clone())
                    .one(txn)
                    .await?
                    .is_some_and(|p| p.model.as_deref().is_none_or(|m| m == claim.model));
                let status = known.as_ref().map(|d| d.status);
                let decision = decide(
                    status.zip(known.as_ref().map(|d| d.public_key.as_str())),
                    &claim.public_key,
                    preauthorized,
                );
                let issue = |id: Uuid| {
                    let t = token::generate_in(Scheme::Device);
                    let expires = now + ttl;
                    let model = device::ActiveModel {
                        id: Set(id),
                        status: Set(DeviceStatus::Accepted),
                        credential_prefix: Set(Some(t.prefix.clone())),
                        credential_hash: Set(Some(t.hash.clone())),
                        credential_expires_at: Set(Some(expires)),
                        agent_version: Set(claim.agent_version.clone()),
                        last_seen_at: Set(Some(now)),
                        changed_at: Set(Some(now)),
                        ..Default::default()
                    };
                    let answer = EnrolAnswer {
                        status: EnrolStatus::Accepted,
                        device_id: id.to_string(),
                        credential: Some(t.plaintext),
                        credential_expires_at: Some(expires.timestamp()),
                        retry_after_secs: None,
                    };
                    (model, answer)
                };
                let pending = |id: Uuid| EnrolAnswer {
                    status: EnrolStatus::Pending,
                    device_id: id.to_string(),
                    credential: None,
                    credential_expires_at: None,
                    retry_after_secs: Some(retry),
                };
                match decision {
                    Enrolment::Create(status) => {
                        let id = Uuid::now_v7();
                        device::ActiveModel {
                            id: Set(id),
                            serial: Set(claim.serial.clone()),
                            model: Set(claim.model.clone()),
                            hardware_revision: Set(claim.hardware_revision.clone()),
                            public_key: Set(claim.public_key.clone()),
                            status: Set(DeviceStatus::Pending),
                            credential_prefix: Set(None),
                            credential_hash: Set(None),
                            credential_expires_at: Set(None),
                            agent_version: Set(claim.agent_version.clone()),
                            boot_slot: Set(None),
                            timezone: Set(None),
                            region: Set(None),
                            tags: Set(None),
                            installed: Set(None),
                            subscriber_id: Set(None),
                            created_at: Set(now),
                            accepted_at: Set(None),
                            last_seen_at: Set(Some(now)),
                            changed_at: Set(Some(now)),
                            activated_at: Set(None),
                            warranty_void_reason: Set(None),
                            replaced_by: Set(None),
                        }
                        .insert(txn)
                        .await?;
                        audit::write(
                            txn,
                            Actor::SYSTEM,
                            now,
                            Entry::new("device.enrol", "device", claim.serial.clone()).details(
                                &Enrolled {
                                    status,
                                    model: claim.model.clone(),
                                },
                            ),
                        )
                        .await?;
                        if status == DeviceStatus::Accepted {
                            let (mut model, answer) = issue(id);
                            model.accepted_at = Set(Some(now));
                            model.update(txn).await?;
                            Ok((200, answer))
                        } else {
                            Ok((202, pending(id)))
                        }
                    }
                    Enrolment::IssueCredential => {
                        let d = known
                            .ok_or_else(|| Error::Internal(anyhow::anyhow!("device vanished")))?;
                        let (model, answer) = issue(d.id);
                        model.update(txn).await?;
                        Ok((200, answer))
                    }
                    Enrolment::Pending { now_preauthorized } => {
                        let d = known
                            .ok_or_else(|| Error::Internal(anyhow::anyhow!("device vanished")))?;
                        if now_preauthorized {
                            let (mut model, answer) = issue(d.id);
                            model.accepted_at = Set(Some(now));
                            model.update(txn).await?;
                            Ok((200, answer))
                        } else {
                            Ok((202, pending(d.id)))
                        }
                    }
                    Enrolment::Refused(reason) => Err(Error::Forbidden(reason)),
                    Enrolment::KeyMismatch => Err(Error::Conflict(format!(
                        "serial {} is enrolled with another identity key; an operator must \
                         decommission the old record first",
                        claim.serial
                    ))),
                }
            })
        })
        .await?;
    let (status, body) = answer;
    if let (Some(credential), Ok(id)) = (&body.credential, Uuid::parse_str(&body.device_id)) {
        // The old credential is gone; the next check-in loads the new one.
        state.directory.remove(id);
        state.mqtt.provision_device(id, credential);
    }
    Ok(
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default())
            .json(body),
    )
}

/// `GET /api/v1/device/self`: the box's own record.
pub async fn me(auth: DeviceAuth) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(device_view(auth.device)))
}
