//! hawkBit's Direct Device Integration API under
//! `/{tenant}/controller/v1/{controllerId}`, for boxes running SWUpdate
//! (suricatta) or rauc-hawkbit-updater: the poll, the deployment and its
//! feedback, the cancel and its feedback, `configData`, `installedBase` and
//! the artifact downloads. A rollout's offer to a DDI box is an action;
//! the box's feedback becomes the same install status reports our agent
//! sends, so waves, thresholds and the health gate treat both alike.
//!
//! Answers follow what the clients need (see `docs/hawkbit-ddi.md`):
//! feedback and `configData` answer 200 (SWUpdate takes 204 as an error),
//! feedback on an action that is over 410, ids are JSON strings, and the
//! `configData` link is offered only until the box has sent attributes.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use uuid::Uuid;
use wavecast_protocol::{checkin::Component, manifest::Kind, status::StatusReport};

use super::{
    auth::authenticate,
    rules::{
        attribute, check_attributes, combine, message_of, on_cancel, on_deployment, sleep_of,
        ActionState, Feedback, Reaction, MODEL_KEYS, REVISION_KEYS,
    },
    store::{self, Target},
    views::{
        CancelAnswer, Chunk, ConfigData, DdiArtifact, Deployment, DeploymentAnswer, Hashes, Link,
        Links, PollAnswer, PollConfig, Polling, StopId,
    },
};
use crate::{
    fleet::devices::{
        rules::{time_zone, Client, DeviceStatus},
        store::{components_of, installed_of, tags_of},
    },
    platform::{
        entities::{ddi_action, device, rollout},
        error::{Error, Result},
    },
    state::AppState,
    updates::{
        bundles::downloads::serve_blob,
        checkin::store::offers_for,
        installs,
        rollouts::{
            rules::{DeviceFacts, RolloutState},
            store::{load, load_bundle},
        },
    },
};

/// `{tenant}` and `{controllerId}` from the path.
type Base = web::Path<(String, String)>;
/// … and an action id.
type ActionPath = web::Path<(String, String, String)>;

/// The URL of the controller's resources, as the box reached us.
fn base_url(req: &HttpRequest, tenant: &str, controller: &str) -> String {
    let info = req.connection_info();
    format!(
        "{}://{}/{tenant}/controller/v1/{controller}",
        info.scheme(),
        info.host()
    )
}

fn link(href: String) -> Link {
    Link { href }
}

/// `GET {base}`: when to poll again, and what there is to fetch.
pub async fn poll(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: Base,
) -> Result<HttpResponse> {
    let (tenant, controller) = path.into_inner();
    let t = authenticate(&state, &req, &tenant, &controller, true).await?;
    state.presence.touch(t.device.id);
    let base = base_url(&req, &tenant, &controller);
    let mut links = Links::new();
    if t.device.status == DeviceStatus::Accepted {
        // Asked for until the box has sent its attributes: SWUpdate sends
        // them on every poll while the link is there, and installs nothing.
        if t.target.attributes_at.is_none() {
            links.insert("configData", link(format!("{base}/configData")));
        }
        let now = state.clock.now();
        // Every action the box was given, read once for this poll.
        let actions = store::actions_of(&state.db, t.device.id).await?;
        let open = match actions.iter().find(|a| a.state.is_open()) {
            Some(a) => Some(a.clone()),
            None => offer(&state, &t, &actions, now).await?,
        };
        if let Some(a) = open {
            if cancelled(&state, &a).await? {
                links.insert(
                    "cancelAction",
                    link(format!("{base}/cancelAction/{}", a.id)),
                );
            } else {
                links.insert(
                    "deploymentBase",
                    link(format!("{base}/deploymentBase/{}?c={}", a.id, tag(&a))),
                );
            }
        }
        if let Some(done) = actions
            .iter()
            .rev()
            .find(|a| a.state == ActionState::Finished)
        {
            links.insert(
                "installedBase",
                link(format!("{base}/installedBase/{}", done.id)),
            );
        }
    }
    Ok(HttpResponse::Ok().json(PollAnswer {
        config: PollConfig {
            polling: Polling {
                sleep: sleep_of(state.config.rollouts.checkin_interval_secs),
            },
        },
        links,
    }))
}

/// A short tag that changes with the action (`?c=` in hawkBit's links).
fn tag(a: &ddi_action::Model) -> String {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("{}:{}", a.id, a.bundle_id));
    hex::encode(&digest[..6])
}

/// Opens an action for the box's first offer, if a rollout has one for it
/// that it was not `given` before.
async fn offer(
    state: &AppState,
    t: &Target,
    given: &[ddi_action::Model],
    now: DateTime<Utc>,
) -> Result<Option<ddi_action::Model>> {
    let rollouts = state.offering().await?;
    let d = &t.device;
    let (installed, tags) = (installed_of(d), tags_of(d));
    let facts = DeviceFacts {
        serial: &d.serial,
        model: &d.model,
        revision: &d.hardware_revision,
        region: d.region.as_deref(),
        tags: &tags,
        installed: &installed,
    };
    let (offers, _) = offers_for(
        &state.db,
        &rollouts,
        Client::Ddi,
        d.id,
        &facts,
        d.timezone.as_deref(),
        now,
    )
    .await?;
    if offers.is_empty() {
        return Ok(None);
    }
    for o in offers {
        let (Ok(rollout_id), Ok(bundle_id)) = (
            Uuid::parse_str(&o.rollout_id),
            Uuid::parse_str(&o.bundle_id),
        ) else {
            continue;
        };
        if given
            .iter()
            .any(|a| a.rollout_id == rollout_id && a.bundle_id == bundle_id)
        {
            continue;
        }
        return Ok(Some(
            store::open(&state.db, d.id, rollout_id, bundle_id, now).await?,
        ));
    }
    Ok(None)
}

/// Whether the action's rollout was aborted: the box is asked to cancel.
async fn cancelled(state: &AppState, a: &ddi_action::Model) -> Result<bool> {
    let r = rollout::Entity::find_by_id(a.rollout_id)
        .one(&state.db)
        .await?;
    Ok(r.is_none_or(|r| r.state == RolloutState::Aborted))
}

/// The deployment of action `a`.
async fn deployment(
    state: &AppState,
    t: &Target,
    base: &str,
    a: &ddi_action::Model,
) -> Result<DeploymentAnswer> {
    let b = load_bundle(&state.db, a.bundle_id).await?;
    let window = match rollout::Entity::find_by_id(a.rollout_id)
        .one(&state.db)
        .await?
    {
        Some(model) => load(&state.db, model).await?.window,
        None => None,
    };
    let now = state.clock.now();
    let maintenance_window = window.map(|w| {
        if w.is_open(t.device.timezone.as_deref(), now) {
            "available"
        } else {
            "unavailable"
        }
    });
    let mut artifacts = Vec::with_capacity(b.artifacts.len());
    for art in &b.artifacts {
        let (Some(sha1), Some(md5)) = (art.sha1.clone(), art.md5.clone()) else {
            return Err(Error::corrupt(
                "ddi artifact",
                format!("{} has no SHA-1 or MD5", art.name),
            ));
        };
        let href = format!("{base}/softwaremodules/{}/artifacts/{}", b.id, art.name);
        let md5_href = format!("{href}.MD5SUM");
        let links = Links::from([
            ("download", link(href.clone())),
            ("download-http", link(href)),
            ("md5sum", link(md5_href.clone())),
            ("md5sum-http", link(md5_href)),
        ]);
        artifacts.push(DdiArtifact {
            filename: art.name.clone(),
            hashes: Hashes {
                sha1,
                md5,
                sha256: art.sha256.clone(),
            },
            size: art.size.max(0) as u64,
            links,
        });
    }
    Ok(DeploymentAnswer {
        id: a.id.to_string(),
        deployment: Deployment {
            download: "forced",
            // With a maintenance window the box may wait for it.
            update: if window.is_some() {
                "attempt"
            } else {
                "forced"
            },
            maintenance_window,
            chunks: vec![Chunk {
                part: if b.manifest.kind == Kind::Firmware {
                    "os"
                } else {
                    "bApp"
                },
                version: b.manifest.version.to_string(),
                name: b.manifest.name.clone(),
                artifacts,
            }],
        },
    })
}

/// `GET {base}/deploymentBase/{actionId}`: 404 once the action is over or
/// cancelled, or when it is another box's.
pub async fn deployment_base(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: ActionPath,
) -> Result<HttpResponse> {
    let c = action_call(&state, &req, path).await?;
    if !c.action.state.is_open() || cancelled(&state, &c.action).await? {
        return Err(Error::NotFound(format!(
            "action {} is not active",
            c.action.id
        )));
    }
    c.answer(&state, &req).await
}

/// `GET {base}/installedBase/{actionId}`: a finished action's deployment.
pub async fn installed_base(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: ActionPath,
) -> Result<HttpResponse> {
    let c = action_call(&state, &req, path).await?;
    if c.action.state != ActionState::Finished {
        return Err(Error::NotFound(format!(
            "action {} is not installed",
            c.action.id
        )));
    }
    c.answer(&state, &req).await
}

/// A request about one of the box's actions: the box authenticated (and
/// seen), the action read (another box's is not found).
struct ActionCall {
    tenant: String,
    controller: String,
    target: Target,
    action: ddi_action::Model,
}

async fn action_call(state: &AppState, req: &HttpRequest, path: ActionPath) -> Result<ActionCall> {
    let (tenant, controller, id) = path.into_inner();
    let target = authenticate(state, req, &tenant, &controller, false).await?;
    state.presence.touch(target.device.id);
    let action = store::action(&state.db, target.device.id, &id).await?;
    Ok(ActionCall {
        tenant,
        controller,
        target,
        action,
    })
}

impl ActionCall {
    /// The action's deployment, as `deploymentBase` and `installedBase`
    /// answer it.
    async fn answer(&self, state: &AppState, req: &HttpRequest) -> Result<HttpResponse> {
        let base = base_url(req, &self.tenant, &self.controller);
        let d = deployment(state, &self.target, &base, &self.action).await?;
        Ok(HttpResponse::Ok().json(d))
    }

    /// The action, if it is still open; 410 once it is over.
    fn still_open(self) -> Result<(Target, ddi_action::Model)> {
        if self.action.state.is_open() {
            Ok((self.target, self.action))
        } else {
            let a = &self.action;
            Err(Error::Gone(format!(
                "action {} is over ({})",
                a.id, a.state
            )))
        }
    }
}

/// `POST {base}/deploymentBase/{actionId}/feedback`: progress and the
/// result, as install status reports. 200; 410 once the action is over.
pub async fn deployment_feedback(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: ActionPath,
    body: web::Json<Feedback>,
) -> Result<HttpResponse> {
    let (t, a) = action_call(&state, &req, path).await?.still_open()?;
    let status = body.into_inner().status;
    let now = state.clock.now();
    match on_deployment(&status) {
        Reaction::Report {
            state: install,
            progress,
            ends,
        } => {
            let report = StatusReport {
                rollout_id: a.rollout_id.to_string(),
                bundle_id: a.bundle_id.to_string(),
                state: install,
                progress,
                code: status.code.map(|c| c.to_string()),
                message: message_of(&status, 2000),
            };
            installs::store::apply(&state.db, &t.device, report, now).await?;
            if install == wavecast_protocol::status::InstallState::Succeeded {
                record_installed(&state, &t.device, a.bundle_id, now).await?;
            }
            if let Some(end) = ends {
                store::end(&state.db, &a, end, now).await?;
            }
        }
        Reaction::End(end) => store::end(&state.db, &a, end, now).await?,
        Reaction::Nothing => {}
    }
    Ok(HttpResponse::Ok().finish())
}

/// A DDI box runs what it installed: its inventory is what the server
/// records on success (the client does not report versions).
async fn record_installed(
    state: &AppState,
    d: &device::Model,
    bundle_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    let b = load_bundle(&state.db, bundle_id).await?;
    let mut components = components_of(d);
    components.retain(|c| c.name != b.manifest.name);
    components.push(Component {
        name: b.manifest.name.clone(),
        version: b.manifest.version.clone(),
        security_version: b.manifest.security_version,
    });
    let mut m: device::ActiveModel = d.clone().into();
    m.installed = Set(Some(
        serde_json::to_value(&components).map_err(anyhow::Error::from)?,
    ));
    m.changed_at = Set(Some(now));
    m.update(&state.db).await?;
    Ok(())
}

/// `GET {base}/cancelAction/{actionId}`: the cancel of an aborted rollout's
/// action.
pub async fn cancel_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: ActionPath,
) -> Result<HttpResponse> {
    let a = action_call(&state, &req, path).await?.action;
    if !a.state.is_open() || !cancelled(&state, &a).await? {
        return Err(Error::NotFound(format!(
            "action {} is not being cancelled",
            a.id
        )));
    }
    Ok(HttpResponse::Ok().json(CancelAnswer {
        id: a.id.to_string(),
        cancel_action: StopId {
            stop_id: a.id.to_string(),
        },
    }))
}

/// `POST {base}/cancelAction/{actionId}/feedback`: the box acknowledges (or
/// refuses) the cancel. 200; 410 once the action is over.
pub async fn cancel_feedback(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: ActionPath,
    body: web::Json<Feedback>,
) -> Result<HttpResponse> {
    let (_, a) = action_call(&state, &req, path).await?.still_open()?;
    if let Reaction::End(end) = on_cancel(&body.status) {
        store::end(&state.db, &a, end, state.clock.now()).await?;
    }
    Ok(HttpResponse::Ok().finish())
}

/// `PUT {base}/configData`: the box's attributes (`model` and
/// `hardware_revision`, or `hw_model` / `hw_revision`, and an IANA
/// `timezone` become its own). 200, never 204.
pub async fn config_data(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: Base,
    body: web::Json<ConfigData>,
) -> Result<HttpResponse> {
    let (tenant, controller) = path.into_inner();
    let t = authenticate(&state, &req, &tenant, &controller, false).await?;
    let ConfigData { data, mode } = body.into_inner();
    check_attributes(&data).map_err(Error::Validation)?;
    let attributes = combine(t.attributes(), data, mode);
    let model = attribute(&attributes, &MODEL_KEYS);
    let revision = attribute(&attributes, &REVISION_KEYS);
    for (what, v) in [("model", model), ("hardware revision", revision)] {
        if v.is_some_and(|v| v.chars().count() > 64) {
            return Err(Error::Validation(format!(
                "the {what} is at most 64 characters"
            )));
        }
    }
    let timezone = attribute(&attributes, &["timezone"]);
    if let Some(zone) = timezone {
        time_zone(zone).map_err(Error::Validation)?;
    }
    let (model, revision, timezone) = (
        model.map(str::to_owned),
        revision.map(str::to_owned),
        timezone.map(str::to_owned),
    );
    let identity = store::Identity {
        model: model.as_deref(),
        revision: revision.as_deref(),
        timezone: timezone.as_deref(),
    };
    store::set_attributes(&state.db, &t, attributes, identity, state.clock.now()).await?;
    Ok(HttpResponse::Ok().finish())
}

/// `GET|HEAD {base}/softwaremodules/{moduleId}/artifacts/{filename}` (and
/// `{filename}.MD5SUM`): an artifact of a bundle this box was given, with
/// `Range` as for our agent.
pub async fn artifact(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse> {
    let (tenant, controller, module, filename) = path.into_inner();
    let t = authenticate(&state, &req, &tenant, &controller, false).await?;
    let missing = || Error::NotFound(format!("no artifact {filename:?} for this controller"));
    let bundle_id = Uuid::parse_str(&module).map_err(|_| missing())?;
    let given = store::actions_of(&state.db, t.device.id).await?;
    if !given.iter().any(|a| a.bundle_id == bundle_id) {
        return Err(missing());
    }
    let b = load_bundle(&state.db, bundle_id).await?;
    let (name, md5sum) = match filename.strip_suffix(".MD5SUM") {
        Some(name) => (name, true),
        None => (filename.as_str(), false),
    };
    let art = b
        .artifacts
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(missing)?;
    if md5sum {
        let md5 = art.md5.as_deref().ok_or_else(missing)?;
        return Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
            .body(format!("{md5}  {name}\n")));
    }
    let digest = wavecast_protocol::Sha256Digest::parse(&art.sha256)
        .map_err(|e| Error::corrupt("digest", e))?;
    serve_blob(&state, &req, &digest).await
}

/// Mounts the DDI routes under `/{tenant}/controller/v1/{controllerId}`;
/// another method answers 405 as a problem.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let resource = |path: &str| {
        web::resource(path).default_service(web::to(crate::http::problem::method_not_allowed))
    };
    cfg.service(
        web::scope("/{tenant}/controller/v1/{controller}")
            .service(resource("").get(poll))
            .service(resource("/configData").put(config_data))
            .service(resource("/deploymentBase/{action}").get(deployment_base))
            .service(resource("/deploymentBase/{action}/feedback").post(deployment_feedback))
            .service(resource("/cancelAction/{action}").get(cancel_action))
            .service(resource("/cancelAction/{action}/feedback").post(cancel_feedback))
            .service(resource("/installedBase/{action}").get(installed_base))
            .service(
                resource("/softwaremodules/{module}/artifacts/{filename}")
                    .get(artifact)
                    .head(artifact),
            ),
    );
}
