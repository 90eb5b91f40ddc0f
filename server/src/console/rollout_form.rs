//! `/rollouts/new`: creating a rollout on a full page — the bundle picker
//! (bundles that cannot be chosen shown disabled, with the reason), the
//! target with a live count of matching boxes, the wave table, the
//! maintenance window, the download limit, boxes not reached, and the
//! health gate. The form becomes the same `CreateRollout` the API takes
//! ([`parse`], pure) and goes through the same validation.

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::{
    guard::{Posted, Signed},
    page::{html_response, render, see_other, Failure, Section, Shell},
};
use crate::{
    identity::auth::access,
    platform::error::Error,
    state::AppState,
    updates::{
        bundles::{rules::BundleState, store as bundles},
        rollouts::{
            create::insert,
            gate::HealthGate,
            rules::{InstalledFilter, Target, WavePlan},
            standing,
            window::TimeWindow,
        },
        views::CreateRollout,
    },
};

/// Wave rows the form offers.
pub const WAVE_ROWS: usize = 5;

/// A bundle in the picker.
#[derive(Debug)]
struct Choice {
    reference: String,
    label: String,
    /// Why it cannot be chosen, if it cannot.
    disabled: Option<&'static str>,
    checked: bool,
}

#[derive(Template)]
#[template(path = "console/rollout_new.html")]
struct NewPage {
    shell: Shell,
    choices: Vec<Choice>,
    rows: Vec<usize>,
    classes: Vec<&'static str>,
    fields: Vec<(String, String)>,
    error: Option<String>,
    matching: u64,
}

impl NewPage {
    /// The value the form held for `name` (after a refused submit).
    fn value(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// Whether checkbox `name` with `value` was ticked.
    fn ticked(&self, name: &str, value: &str) -> bool {
        self.fields.iter().any(|(k, v)| k == name && v == value)
    }
}

async fn new_page(
    shell: Shell,
    state: &AppState,
    fields: Vec<(String, String)>,
    error: Option<String>,
) -> Result<NewPage, Failure> {
    let all = bundles::list(&state.reads, None, None, None).await?;
    let picked: Vec<&str> = fields
        .iter()
        .filter(|(k, _)| k == "bundles")
        .map(|(_, v)| v.as_str())
        .collect();
    let choices = all
        .iter()
        .map(|b| {
            let reference = format!("{}@{}", b.name, b.version);
            Choice {
                disabled: match b.state {
                    BundleState::Published => None,
                    BundleState::Staged => Some("staged: publish it first"),
                    BundleState::Deprecated => Some("deprecated: only a rollback offers it"),
                    BundleState::Revoked => Some("revoked: never offered again"),
                },
                checked: picked.contains(&reference.as_str()),
                label: format!("{} {} ({})", b.name, b.version, b.kind),
                reference,
            }
        })
        .collect();
    let matching = match parse(&fields) {
        Ok(body) => standing::matching(&state.reads, &body.target, state.clock.now()).await?,
        Err(_) => standing::matching(&state.reads, &Target::default(), state.clock.now()).await?,
    };
    Ok(NewPage {
        shell,
        choices,
        rows: (0..WAVE_ROWS).collect(),
        classes: vec!["hardware", "software", "network"],
        fields,
        error,
        matching,
    })
}

/// `GET /rollouts/new`
pub async fn page(
    signed: Signed<access::Operator>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let defaults = vec![
        ("wave0_percent".into(), "1".into()),
        ("wave0_success".into(), "100".into()),
        ("wave0_failure".into(), "1".into()),
        ("wave0_approval".into(), "on".into()),
        ("wave1_percent".into(), "10".into()),
        ("wave1_soak".into(), "3600".into()),
        ("wave2_percent".into(), "100".into()),
        ("device_timeout".into(), "3600".into()),
        ("keep_offering".into(), "on".into()),
    ];
    render(
        &new_page(
            signed.shell("New rollout", Section::Rollouts),
            &state,
            defaults,
            None,
        )
        .await?,
    )
}

/// `POST /rollouts/preview`: the live count of boxes the target matches.
pub async fn preview(
    posted: Posted<access::Viewer, Vec<(String, String)>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let target = target_of(&posted.form).map_err(Error::Validation)?;
    let n = standing::matching(&state.reads, &target, state.clock.now()).await?;
    Ok(html_response(
        actix_web::http::StatusCode::OK,
        format!("{n} box{} match", if n == 1 { "" } else { "es" }),
    ))
}

/// `POST /rollouts/new`
pub async fn create(
    posted: Posted<access::Operator, Vec<(String, String)>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let Posted { signed, form } = posted;
    let refused = |e: String, fields: Vec<(String, String)>| async {
        let page = new_page(
            signed.shell("New rollout", Section::Rollouts),
            &state,
            fields,
            Some(e),
        )
        .await?;
        let html = askama::Template::render(&page)
            .map_err(|e| Failure::from(Error::Internal(anyhow::anyhow!("template: {e}"))))?;
        Ok::<_, Failure>(html_response(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            html,
        ))
    };
    let body = match parse(&form) {
        Ok(b) => b,
        Err(e) => return refused(e, form).await,
    };
    match insert(&state, &signed, body, None).await {
        Ok(r) => Ok(see_other(&format!("/rollouts/{}", r.id))),
        Err(e @ (Error::Validation(_) | Error::Conflict(_) | Error::NotFound(_))) => {
            refused(e.to_string(), form).await
        }
        Err(e) => Err(e.into()),
    }
}

fn field<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn list(f: &[(String, String)], name: &str) -> Vec<String> {
    field(f, name)
        .map(|v| {
            v.split([',', '\n', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn number<T: std::str::FromStr>(
    f: &[(String, String)],
    name: &str,
    what: &str,
) -> Result<Option<T>, String> {
    field(f, name)
        .map(|v| {
            v.parse::<T>()
                .map_err(|_| format!("{what}: {v:?} is not a number"))
        })
        .transpose()
}

/// The target the form describes.
pub fn target_of(f: &[(String, String)]) -> Result<Target, String> {
    let installed = match (field(f, "installed_name"), field(f, "installed_version")) {
        (Some(name), Some(range)) => Some(InstalledFilter {
            name: name.to_owned(),
            version: range
                .parse()
                .map_err(|e| format!("installed version range {range:?}: {e}"))?,
        }),
        (Some(_), None) => {
            return Err("give a version range for the installed component, e.g. <4.2.0".into())
        }
        _ => None,
    };
    Ok(Target {
        models: list(f, "models"),
        revisions: list(f, "revisions"),
        regions: list(f, "regions"),
        tags: list(f, "tags"),
        serials: list(f, "serials"),
        installed,
        plans: list(f, "plans"),
        entitled_to: field(f, "entitled_to").map(str::to_owned),
    })
}

/// The rollout the form describes, or what is wrong with it (the server
/// checks the rest as for the API).
pub fn parse(f: &[(String, String)]) -> Result<CreateRollout, String> {
    let name = field(f, "name")
        .ok_or("give the rollout a name")?
        .to_owned();
    let bundles: Vec<String> = f
        .iter()
        .filter(|(k, v)| k == "bundles" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    if bundles.is_empty() {
        return Err("choose at least one published bundle".into());
    }
    let mut waves = Vec::new();
    for i in 0..WAVE_ROWS {
        let percent: Option<f64> = number(
            f,
            &format!("wave{i}_percent"),
            &format!("wave {} percent", i + 1),
        )?;
        let count: Option<u32> = number(
            f,
            &format!("wave{i}_count"),
            &format!("wave {} count", i + 1),
        )?;
        if percent.is_none() && count.is_none() {
            continue;
        }
        waves.push(WavePlan {
            percent,
            count,
            soak_secs: number(f, &format!("wave{i}_soak"), "soak")?.unwrap_or(0),
            success_threshold_pct: number(f, &format!("wave{i}_success"), "success threshold")?
                .unwrap_or(95),
            failure_threshold_pct: number(f, &format!("wave{i}_failure"), "failure threshold")?
                .unwrap_or(10),
            needs_approval: field(f, &format!("wave{i}_approval")).is_some(),
        });
    }
    let window = match (field(f, "window_start"), field(f, "window_end")) {
        (Some(start), Some(end)) => Some(
            serde_json::from_value::<TimeWindow>(serde_json::json!({ "start": start, "end": end }))
                .map_err(|e| format!("maintenance window: {e}"))?,
        ),
        (None, None) => None,
        _ => return Err("give the maintenance window's start and end, or neither".into()),
    };
    let health_gate = if field(f, "gate").is_some() {
        Some(HealthGate {
            classes: f
                .iter()
                .filter(|(k, _)| k == "gate_classes")
                .map(|(_, v)| v.parse().map_err(|e: String| format!("health gate: {e}")))
                .collect::<Result<_, _>>()?,
            max_ratio: number(f, "gate_ratio", "health gate ratio")?.unwrap_or(2.0),
            min_device_days: number(f, "gate_days", "health gate device-days")?.unwrap_or(50.0),
            min_faults: number(f, "gate_faults", "health gate faults")?.unwrap_or(3),
        })
    } else {
        None
    };
    let starts_at = match field(f, "starts_at") {
        Some(v) => Some(
            NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
                .map(|t| DateTime::<Utc>::from_naive_utc_and_offset(t, Utc))
                .map_err(|_| format!("start: {v:?} is not a date and time"))?,
        ),
        None => None,
    };
    Ok(CreateRollout {
        name,
        bundles,
        target: target_of(f)?,
        waves,
        starts_at,
        device_timeout_secs: number(f, "device_timeout", "device timeout")?,
        allow_downgrade: false,
        window,
        max_concurrent_downloads: number(f, "max_downloads", "download limit")?,
        health_gate,
        unreached_after_secs: number(f, "unreached_after", "not reached after")?,
        keep_offering: Some(field(f, "keep_offering").is_some()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn a_filled_form_is_the_rollout_the_api_takes() {
        let r = parse(&f(&[
            ("csrf", "x"),
            ("name", "X1 4.2"),
            ("bundles", "x1-firmware@4.2.0"),
            ("bundles", "codec@2.0.0"),
            ("models", "X1, X2"),
            ("wave0_count", "5"),
            ("wave0_success", "100"),
            ("wave0_approval", "on"),
            ("wave1_percent", "100"),
            ("wave1_soak", "600"),
            ("window_start", "02:00"),
            ("window_end", "05:00"),
            ("max_downloads", "50"),
            ("unreached_after", "86400"),
            ("gate", "on"),
            ("gate_classes", "software"),
            ("gate_ratio", "3"),
            ("starts_at", "2026-12-24T02:00"),
        ]))
        .expect("a rollout");
        assert_eq!(r.bundles, ["x1-firmware@4.2.0", "codec@2.0.0"]);
        assert_eq!(r.target.models, ["X1", "X2"]);
        assert_eq!(r.waves.len(), 2);
        assert_eq!(
            (r.waves[0].count, r.waves[0].needs_approval),
            (Some(5), true)
        );
        assert_eq!(r.waves[1].soak_secs, 600);
        assert_eq!(r.max_concurrent_downloads, Some(50));
        assert_eq!(r.unreached_after_secs, Some(86_400));
        assert_eq!(r.keep_offering, Some(false));
        let g = r.health_gate.expect("a gate");
        assert_eq!((g.max_ratio, g.classes.len()), (3.0, 1));
        assert!(r.window.is_some() && r.starts_at.is_some());
    }

    #[test]
    fn what_is_wrong_is_said() {
        assert!(parse(&f(&[("bundles", "a@1.0.0")]))
            .expect_err("no name")
            .contains("name"));
        assert!(parse(&f(&[("name", "n")]))
            .expect_err("no bundle")
            .contains("bundle"));
        let e = parse(&f(&[
            ("name", "n"),
            ("bundles", "a@1.0.0"),
            ("wave0_percent", "ten"),
        ]))
        .expect_err("bad number");
        assert!(e.contains("wave 1 percent"), "{e}");
        let e = parse(&f(&[
            ("name", "n"),
            ("bundles", "a@1.0.0"),
            ("window_start", "02:00"),
        ]))
        .expect_err("half a window");
        assert!(e.contains("window"), "{e}");
    }
}
