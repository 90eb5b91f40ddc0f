//! The device-facing API under `/api/v1/device`: enrolment, check-in, install
//! status, health and fault events, and the box's own record. Devices
//! authenticate with their credential (`DeviceAuth`), never with operator
//! tokens, and can only ever see themselves.

use actix_web::{web, HttpResponse};
use chrono::{TimeDelta, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use uuid::Uuid;
use wavecast_protocol::{
    checkin::{answer_leaf, sign_answer, CheckinAnswer, CheckinPayload, CheckinRequest},
    device::{EnrolAnswer, EnrolClaim, EnrolStatus},
    envelope::Envelope,
    events::EventBatch,
    status::StatusReport,
    TrustError,
};

use crate::{
    audit::{self, Actor, Entry},
    auth::{DeviceAuth, DirectoryAuth},
    directory::inventory_digest,
    domain::{
        enrolment::{decide, DeviceStatus, Enrolment},
        names::parse_label,
        offers::Installed,
        rollout::DeviceFacts,
        token::{self, Scheme},
    },
    entities::{device, preauthorized_serial},
    error::{ApiError, ApiResult},
    state::AppState,
};

use super::devices::device_view;

fn installed_from(components: &[wavecast_protocol::checkin::Component]) -> Vec<Installed> {
    components
        .iter()
        .map(|c| Installed {
            name: c.name.clone(),
            version: c.version.clone(),
            security_version: c.security_version,
        })
        .collect()
}

/// How stale last-seen may get before a check-in writes it: check-ins that
/// change nothing stay read-only.
const LAST_SEEN_RESOLUTION: TimeDelta = TimeDelta::minutes(60);

fn check_fields(c: &EnrolClaim) -> ApiResult<()> {
    for (field, value, max) in [
        ("serial", &c.serial, 128),
        ("model", &c.model, 64),
        ("hardware_revision", &c.hardware_revision, 64),
    ] {
        let v = parse_label(field, value, max).map_err(ApiError::Validation)?;
        if v != *value {
            return Err(ApiError::Validation(format!(
                "{field} has surrounding spaces"
            )));
        }
    }
    Ok(())
}

/// `POST /api/v1/device/enrol`: the body is an enrolment envelope signed by
/// the box's identity key.
pub async fn enrol(
    state: web::Data<AppState>,
    body: web::Json<Envelope>,
) -> ApiResult<HttpResponse> {
    let cfg = &state.config.devices;
    let now = Utc::now();
    let claim = EnrolClaim::open(&body, now.timestamp(), i64::from(cfg.enrol_max_skew_secs))
        .map_err(|e| ApiError::Validation(format!("enrolment refused: {e}")))?;
    check_fields(&claim)?;
    let ttl = TimeDelta::seconds(i64::from(cfg.credential_ttl_secs.max(1)));
    let retry = u64::from(cfg.pending_retry_secs);
    let answer = state
        .db
        .transaction::<_, (u16, EnrolAnswer), ApiError>(|txn| {
            Box::pin(async move {
                let known = device::Entity::find()
                    .filter(device::Column::Serial.eq(&claim.serial))
                    .one(txn)
                    .await?;
                let preauthorized = preauthorized_serial::Entity::find_by_id(claim.serial.clone())
                    .one(txn)
                    .await?
                    .is_some_and(|p| p.model.as_deref().is_none_or(|m| m == claim.model));
                let status = known
                    .as_ref()
                    .map(|d| d.status.parse::<DeviceStatus>())
                    .transpose()
                    .map_err(|e| {
                        ApiError::Internal(anyhow::anyhow!("stored device status: {e}"))
                    })?;
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
                        status: Set(DeviceStatus::Accepted.as_str().into()),
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
                            status: Set(DeviceStatus::Pending.as_str().into()),
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
                            Entry {
                                action: "device.enrol",
                                object_type: "device",
                                object_id: claim.serial.clone(),
                                details: audit::details(
                                    &serde_json::json!({ "status": status, "model": claim.model }),
                                ),
                            },
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
                        let d = known.ok_or_else(|| {
                            ApiError::Internal(anyhow::anyhow!("device vanished"))
                        })?;
                        let (model, answer) = issue(d.id);
                        model.update(txn).await?;
                        Ok((200, answer))
                    }
                    Enrolment::Pending { now_preauthorized } => {
                        let d = known.ok_or_else(|| {
                            ApiError::Internal(anyhow::anyhow!("device vanished"))
                        })?;
                        if now_preauthorized {
                            let (mut model, answer) = issue(d.id);
                            model.accepted_at = Set(Some(now));
                            model.update(txn).await?;
                            Ok((200, answer))
                        } else {
                            Ok((202, pending(d.id)))
                        }
                    }
                    Enrolment::Refused(reason) => Err(ApiError::Forbidden(reason)),
                    Enrolment::KeyMismatch => Err(ApiError::Conflict(format!(
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

/// `POST /api/v1/device/check-in`: the box reports what it runs with a fresh
/// nonce and gets its offers, signed over the nonce, its id and the time.
/// Nothing is written unless the inventory changed or last-seen is stale.
pub async fn check_in(
    DirectoryAuth(auth): DirectoryAuth,
    state: web::Data<AppState>,
    body: web::Json<CheckinRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.into_inner();
    if !(16..=64).contains(&req.nonce.len()) || !req.nonce.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::Validation(
            "nonce must be 16 to 64 printable ASCII characters".into(),
        ));
    }
    if req.installed.len() > 64 {
        return Err(ApiError::Validation(
            "at most 64 installed components".into(),
        ));
    }
    let key = state.signing_key.clone().ok_or_else(|| {
        ApiError::Conflict(
            "this server holds no online signing key (signing.key_file), so it cannot sign check-in answers"
                .into(),
        )
    })?;
    let anchors = state.anchors().await?;
    let keyring = anchors
        .as_ref()
        .as_ref()
        .and_then(|a| a.current.as_ref())
        .ok_or_else(|| ApiError::Conflict("no keyring has been published yet".into()))?;
    let now = Utc::now();
    state.presence.touch(auth.id);
    let mut d = auth;
    let installed = serde_json::to_value(&req.installed).map_err(anyhow::Error::from)?;
    let differs = |reported: &Option<String>, known: &Option<Box<str>>| {
        reported.is_some() && reported.as_deref() != known.as_deref()
    };
    let changed = d.inventory != inventory_digest(Some(&installed))
        || differs(&req.boot_slot, &d.boot_slot)
        || differs(&req.agent_version, &d.agent_version)
        || differs(&req.timezone, &d.timezone);
    let stale = d
        .last_seen_at
        .is_none_or(|t| now - t > LAST_SEEN_RESOLUTION);
    if changed || stale {
        let row = device::Entity::find_by_id(d.id)
            .one(&state.db)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("this device no longer exists".into()))?;
        let mut m: device::ActiveModel = row.into();
        m.installed = Set(Some(installed.clone()));
        if req.boot_slot.is_some() {
            m.boot_slot = Set(req.boot_slot.clone());
        }
        if req.agent_version.is_some() {
            m.agent_version = Set(req.agent_version.clone());
        }
        if req.timezone.is_some() {
            m.timezone = Set(req.timezone.clone());
        }
        m.last_seen_at = Set(Some(now));
        let row = m.update(&state.db).await?;
        d = state
            .directory
            .put(&row)
            .ok_or_else(|| ApiError::Forbidden(format!("this device is {}", row.status)))?;
    }
    let rollouts = state.offering().await?;
    let components = installed_from(&req.installed);
    let facts = DeviceFacts {
        serial: &d.serial,
        model: &d.model,
        revision: &d.revision,
        region: d.region.as_deref(),
        tags: &d.tags,
        installed: &components,
    };
    let offers =
        crate::engine::offers_for(&state.db, &rollouts, d.id, &facts, d.timezone.as_deref())
            .await?;
    let cfg = &state.config.rollouts;
    let jitter = cfg.checkin_interval_secs * cfg.checkin_jitter_pct.min(100) / 100;
    let next =
        cfg.checkin_interval_secs + rand::Rng::gen_range(&mut rand::thread_rng(), 0..=jitter);
    let payload = CheckinPayload {
        device_id: d.id.to_string(),
        nonce: req.nonce,
        issued_at: now.timestamp(),
        offers,
        next_checkin_secs: next.max(1),
        mqtt_url: state.mqtt.advertise_url().map(str::to_owned),
    };
    // Boxes that say they hold the current keyring do not get it again.
    let keyring = (req.keyring_version != Some(keyring.0.version)).then(|| keyring.1.clone());
    let internal = |e: TrustError| ApiError::Internal(e.into());
    let answer = match (&state.answer_signer, req.batch_proofs) {
        (Some(signer), true) => {
            let (answer, leaf) = answer_leaf(&payload).map_err(internal)?;
            CheckinAnswer {
                keyring,
                answer,
                batch: Some(signer.sign(leaf).await?),
            }
        }
        _ => CheckinAnswer {
            keyring,
            answer: sign_answer(&payload, &key).map_err(internal)?,
            batch: None,
        },
    };
    Ok(HttpResponse::Ok().json(answer))
}

/// `POST /api/v1/device/status`: an install status report. Idempotent and
/// safe out of order; impossible transitions are refused (409). A device can
/// only report on a bundle a rollout offered it (or could have, before a pause).
pub async fn status(
    auth: DeviceAuth,
    state: web::Data<AppState>,
    body: web::Json<StatusReport>,
) -> ApiResult<HttpResponse> {
    state.presence.touch(auth.device.id);
    crate::engine::status::apply(&state.db, &auth.device, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Largest event batch body, in bytes (for this route in place of
/// `http.json_limit`): a full batch of 500 events fits unless most of them
/// are faults with kilobytes of details.
pub const EVENTS_BODY_LIMIT: usize = 1 << 20;

/// `POST /api/v1/device/events`: a batch of health reports and faults.
/// Events whose id the box already sent count as duplicates and are not
/// stored again; one invalid event refuses the whole batch (422). A box
/// over its rate gets 429, and a full event queue 503, both with
/// `Retry-After`: the box keeps its events and sends them later.
pub async fn events(
    auth: DeviceAuth,
    state: web::Data<AppState>,
    body: web::Json<EventBatch>,
) -> ApiResult<HttpResponse> {
    let batch = body.into_inner();
    batch.validate().map_err(ApiError::Validation)?;
    state.presence.touch(auth.device.id);
    let stored = state
        .pipeline
        .store(crate::events::Incoming {
            device_id: auth.device.id,
            model: auth.device.model.clone(),
            batch,
        })
        .await?;
    Ok(HttpResponse::Ok().json(stored.answer))
}

/// `GET /api/v1/device/self`: the box's own record.
pub async fn me(auth: DeviceAuth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(device_view(auth.device)?))
}
