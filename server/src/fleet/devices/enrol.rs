//! What boxes call about themselves: `POST /api/v1/device/enrol` (a claim
//! signed by the box's identity key: proof of possession) and
//! `GET /api/v1/device/self`. What an enrolment does is decided by the
//! pure rules in [`super::rules`].

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::TimeDelta;
use sea_orm::{
    sea_query::OnConflict, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QuerySelect, Set, TransactionTrait,
};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;
use wavecast_protocol::{
    device::{EnrolAnswer, EnrolClaim, EnrolStatus},
    envelope::Envelope,
    Problem,
};

use super::{
    auth::DeviceAuth,
    rules::{decide, identifier, Client, DeviceStatus, Enrolment},
    store::device_view,
};
use crate::{
    fleet::views::DeviceView,
    http::peer::client_ip,
    identity::{
        audit::store::{self as audit, Actor, Entry},
        tokens::rules::{self as token, Scheme},
    },
    platform::{
        entities::{device, enrol_claim, preauthorized_serial},
        error::{Error, Result},
        text::Line,
    },
    state::AppState,
};

fn check_fields(c: &EnrolClaim) -> Result<()> {
    identifier("serial", &c.serial, 128).map_err(Error::Validation)?;
    identifier("model", &c.model, 64).map_err(Error::Validation)?;
    identifier("hardware_revision", &c.hardware_revision, 64).map_err(Error::Validation)?;
    if let Some(v) = &c.agent_version {
        Line::parse("agent_version", v, 64).map_err(Error::Validation)?;
    }
    Ok(())
}

/// Holds back a client address enrolling faster than
/// `devices.enrol_rate_per_sec` (a flood of made-up serials).
fn admit(state: &AppState, req: &HttpRequest) -> Result<()> {
    let cfg = &state.config.devices;
    if cfg.enrol_rate_per_sec <= 0.0 {
        return Ok(());
    }
    let Some(ip) = client_ip(req, &state.config.http.trusted_proxies) else {
        return Ok(());
    };
    if state.enrolments.admit(ip) {
        return Ok(());
    }
    tracing::warn!(%ip, "enrolments from this address are over their rate");
    Err(Error::TooManyRequests {
        detail: format!(
            "too many enrolments from {ip}: at most {} a second (bursts of {})",
            cfg.enrol_rate_per_sec, cfg.enrol_burst
        ),
        retry_after_secs: (1.0 / cfg.enrol_rate_per_sec).ceil().clamp(1.0, 3600.0) as u32,
    })
}

/// Refuses to record another waiting box once `devices.max_pending` wait.
async fn room_for_pending(txn: &impl ConnectionTrait, max: u64, retry: u64) -> Result<()> {
    let waiting = device::Entity::find()
        .select_only()
        .column(device::Column::Id)
        .filter(device::Column::Status.eq(DeviceStatus::Pending))
        .limit(max)
        .count(txn)
        .await?;
    if waiting >= max {
        return Err(Error::Unavailable {
            detail: format!(
                "{waiting} boxes are already waiting for an operator (devices.max_pending): \
                 accept or reject them, or import the manufacturing list"
            ),
            retry_after_secs: u32::try_from(retry).unwrap_or(u32::MAX),
        });
    }
    Ok(())
}

/// The row that marks a claim as taken: its digest, kept until the claim
/// is stale anyway.
fn claim_seen(
    env: &Envelope,
    claim: &EnrolClaim,
    max_skew_secs: u32,
) -> Result<enrol_claim::ActiveModel> {
    let payload = env
        .payload_bytes()
        .map_err(|e| Error::Validation(format!("enrolment refused: {e}")))?;
    let stale_after = claim.timestamp.saturating_add(i64::from(max_skew_secs));
    let expires_at = chrono::DateTime::from_timestamp(stale_after, 0)
        .ok_or_else(|| Error::Validation("enrolment refused: timestamp out of range".into()))?;
    Ok(enrol_claim::ActiveModel {
        digest: Set(hex::encode(Sha256::digest(&payload))),
        expires_at: Set(expires_at),
    })
}

/// Takes a claim once: a claim seen before (by this instance or another)
/// is refused, so a copied claim neither gets a credential nor logs the
/// box out. Claims past their staleness are forgotten first.
async fn take_claim(
    txn: &impl ConnectionTrait,
    seen: enrol_claim::ActiveModel,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    enrol_claim::Entity::delete_many()
        .filter(enrol_claim::Column::ExpiresAt.lt(now))
        .exec(txn)
        .await?;
    let taken = enrol_claim::Entity::insert(seen)
        .on_conflict(
            OnConflict::column(enrol_claim::Column::Digest)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    if taken == 0 {
        return Err(Error::Conflict(
            "this enrolment claim was already used: a box signs a new claim, with the \
             current time, for every enrolment"
                .into(),
        ));
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
#[utoipa::path(
    post,
    path = "/api/v1/device/enrol",
    tag = "device",
    request_body(
        content = Envelope,
        description = "An enrolment claim (`application/vnd.wavecast.enrol+json` payload) signed by the box's identity key",
    ),
    responses(
        (status = 200, description = "Accepted: the answer carries a new device credential", body = EnrolAnswer),
        (status = 202, description = "Pending: an operator has to accept the box; enrol again after `retry_after_secs`", body = EnrolAnswer),
        (status = 403, description = "The box was rejected or decommissioned", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The claim was used before, or the serial is enrolled with another identity key", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many enrolments from this address", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        (status = 503, description = "Too many boxes are already waiting for an operator (`devices.max_pending`)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
pub async fn enrol(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Envelope>,
) -> Result<HttpResponse> {
    let cfg = &state.config.devices;
    let now = state.clock.now();
    admit(&state, &req)?;
    let claim = EnrolClaim::open(&body, now.timestamp(), i64::from(cfg.enrol_max_skew_secs))
        .map_err(|e| Error::Validation(format!("enrolment refused: {e}")))?;
    check_fields(&claim)?;
    let seen = claim_seen(&body, &claim, cfg.enrol_max_skew_secs)?;
    let ttl = TimeDelta::seconds(i64::from(cfg.credential_ttl_secs.max(1)));
    let retry = u64::from(cfg.pending_retry_secs);
    let max_pending = cfg.max_pending;
    let answer = state
        .db
        .transaction::<_, (u16, EnrolAnswer), Error>(|txn| {
            Box::pin(async move {
                take_claim(txn, seen, now).await?;
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
                        if status == DeviceStatus::Pending {
                            room_for_pending(txn, max_pending, retry).await?;
                        }
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
                            client: Set(Client::Agent),
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
#[utoipa::path(
    get,
    path = "/api/v1/device/self",
    tag = "device",
    security(("device" = [])),
    responses(
        (status = 200, description = "The box's own record", body = DeviceView),
    )
)]
pub async fn me(auth: DeviceAuth) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(device_view(auth.device)))
}
