//! `POST /api/v1/device/check-in`: a box reports what it runs with a fresh
//! nonce and gets its offers in install order, signed over the nonce, its
//! id and the time (directly, or in a batch with a Merkle proof). The
//! common answer, "nothing new", reads nothing from the database.

use actix_web::{web, HttpResponse};
use chrono::TimeDelta;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use wavecast_protocol::{
    checkin::{answer_leaf, sign_answer, CheckinAnswer, CheckinPayload, CheckinRequest},
    Problem, TrustError,
};

use super::store::offers_for;
use crate::{
    fleet::{
        devices::{
            auth::DirectoryAuth,
            rules::{identifier, time_zone, Client},
            store::installed_from,
        },
        directory::inventory_digest,
    },
    licences::tokens,
    platform::{
        entities::device,
        error::{Error, Result},
        text::Line,
    },
    state::AppState,
    updates::rollouts::rules::DeviceFacts,
};

/// What a box reports about itself is checked before anything is stored:
/// a time zone is an IANA name, a boot slot and an agent version are short
/// plain labels.
fn check_reported(req: &CheckinRequest) -> Result<()> {
    if let Some(tz) = &req.timezone {
        time_zone(tz).map_err(Error::Validation)?;
    }
    if let Some(slot) = &req.boot_slot {
        identifier("boot_slot", slot, 16).map_err(Error::Validation)?;
    }
    if let Some(v) = &req.agent_version {
        Line::parse("agent_version", v, 64).map_err(Error::Validation)?;
    }
    Ok(())
}

/// How stale last-seen may get before a check-in writes it: check-ins that
/// change nothing stay read-only.
const LAST_SEEN_RESOLUTION: TimeDelta = TimeDelta::minutes(60);

/// `POST /api/v1/device/check-in`: the box reports what it runs with a fresh
/// nonce and gets its offers, signed over the nonce, its id and the time.
/// Nothing is written unless the inventory changed or last-seen is stale.
#[utoipa::path(
    post,
    path = "/api/v1/device/check-in",
    tag = "device",
    request_body = CheckinRequest,
    security(("device" = [])),
    responses(
        (status = 200, description = "The box's offers in install order, signed over its nonce, \
                                      its id and the time (with the keyring when the box's is older)",
         body = CheckinAnswer),
        (status = 503, description = "The server has no check-in key or no keyring yet; \
                                      try again after Retry-After seconds",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u32, description = "Seconds to wait before checking in again"))),
    )
)]
pub async fn check_in(
    DirectoryAuth(auth): DirectoryAuth,
    state: web::Data<AppState>,
    body: web::Json<CheckinRequest>,
) -> Result<HttpResponse> {
    let req = body.into_inner();
    if !(16..=64).contains(&req.nonce.len()) || !req.nonce.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::Validation(
            "nonce must be 16 to 64 printable ASCII characters".into(),
        ));
    }
    if req.installed.len() > 64 {
        return Err(Error::Validation("at most 64 installed components".into()));
    }
    check_reported(&req)?;
    let key = state.online_key.get().ok_or_else(|| no_key(&state))?;
    let anchors = state.anchors().await?;
    let keyring = anchors
        .as_ref()
        .as_ref()
        .and_then(|a| a.current.as_ref())
        .ok_or_else(|| Error::Unavailable {
            detail: "this server has no keyring to answer with yet: an operator runs \
                     `wavecast keys publish`"
                .into(),
            retry_after_secs: 60,
        })?;
    let now = state.clock.now();
    state.presence.touch(auth.id);
    let mut d = auth;
    let installed = serde_json::to_value(&req.installed).map_err(anyhow::Error::from)?;
    let differs = |reported: &Option<String>, known: &Option<Box<str>>| {
        reported.is_some() && reported.as_deref() != known.as_deref()
    };
    let changed = d.inventory != inventory_digest(Some(&installed))
        || differs(&req.boot_slot, &d.profile.boot_slot)
        || differs(&req.agent_version, &d.profile.agent_version)
        || differs(&req.timezone, &d.profile.timezone);
    let stale = d
        .last_seen_at()
        .is_none_or(|t| now - t > LAST_SEEN_RESOLUTION);
    if changed || stale {
        let row = device::Entity::find_by_id(d.id)
            .one(&state.db)
            .await?
            .ok_or_else(|| Error::Unauthorized("this device no longer exists".into()))?;
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
            .ok_or_else(|| Error::Forbidden(format!("this device is {}", row.status)))?;
    }
    let rollouts = state.offering().await?;
    let components = installed_from(&req.installed);
    let p = &d.profile;
    let facts = DeviceFacts {
        serial: &d.serial,
        model: &p.model,
        revision: &p.revision,
        region: p.region.as_deref(),
        tags: &p.tags,
        installed: &components,
    };
    let (offers, licensed_offer) = offers_for(
        &state.db,
        &rollouts,
        Client::Agent,
        d.id,
        &facts,
        p.timezone.as_deref(),
        now,
    )
    .await?;
    let holds_tokens = req.licence_tokens.is_some_and(|n| n > 0) || licensed_offer;
    let licences =
        tokens::for_check_in(&state, d.id, &key.key, &keyring.0, now, holds_tokens).await?;
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
        licences,
    };
    // Boxes that say they hold the current keyring do not get it again.
    let keyring = (req.keyring_version != Some(keyring.0.version)).then(|| keyring.1.clone());
    let internal = |e: TrustError| Error::Internal(e.into());
    let answer = if req.batch_proofs {
        let (answer, leaf) = answer_leaf(&payload).map_err(internal)?;
        CheckinAnswer {
            keyring,
            answer,
            batch: Some(key.signer.sign(leaf).await?),
        }
    } else {
        CheckinAnswer {
            keyring,
            answer: sign_answer(&payload, &key.key).map_err(internal)?,
            batch: None,
        }
    };
    Ok(HttpResponse::Ok().json(answer))
}

/// The server cannot sign check-in answers: 503, naming the setting.
fn no_key(state: &AppState) -> Error {
    let detail = match state.online_key.path() {
        Some(p) => format!(
            "this server has no check-in key yet: signing.key_file names {}, which does not \
             exist; an operator runs `wavecast keys init` there (and `wavecast keys publish`)",
            p.display()
        ),
        None => "this server has no check-in key: signing.key_file is not set; an operator \
                 points it at the online check-in key (`wavecast keys init` writes one)"
            .to_owned(),
    };
    Error::Unavailable {
        detail,
        retry_after_secs: 60,
    }
}
