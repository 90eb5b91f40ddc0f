//! `wavecast product` and `wavecast licence`: products sold under licence,
//! the policies they are sold under, licences (keys shown once), their
//! activations on boxes, and validation.

use clap::Subcommand;
use reqwest::Method;

use super::{client::Client, output};
use crate::licences::{
    rules::Expiry,
    views::{
        ActivationBody, ActivationView, LicenceBody, LicenceCreated, LicenceView, PolicyBody,
        PolicyView, ProductBody, ProductView, ValidateBody, Validation, ValidationLogEntry,
    },
};

#[derive(Debug, Subcommand)]
pub enum ProductCommand {
    /// Products with their entitlement codes.
    List,
    /// Add a product (its code is what manifests name as `licensed_product`).
    Create {
        /// The product's code, e.g. codec-ddp.
        code: String,
        /// What it is called.
        #[arg(long)]
        name: String,
        /// Entitlement codes (comma-separated).
        #[arg(long, value_delimiter = ',')]
        entitlements: Vec<String>,
    },
    /// Licence policies: the terms a product is sold under.
    Policies,
    /// Add a licence policy.
    Policy {
        /// The policy's name.
        name: String,
        /// The product's code.
        #[arg(long)]
        product: String,
        /// Days a licence lasts (for ever when absent).
        #[arg(long)]
        duration_days: Option<u32>,
        /// At expiry: stop, keep_installed (no more updates) or keep_using.
        #[arg(long)]
        expiry: Expiry,
        /// Days after expiry it still counts as valid.
        #[arg(long, default_value_t = 0)]
        grace_days: u32,
        /// Boxes at once (1 for node-locked).
        #[arg(long, default_value_t = 1)]
        max_boxes: u32,
        /// An activation may move to another box.
        #[arg(long)]
        floating: bool,
        /// Activations in any 24 hours.
        #[arg(long, default_value_t = 10)]
        max_activations_per_day: u32,
        /// Entitlement codes granted (comma-separated).
        #[arg(long, value_delimiter = ',')]
        entitlements: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LicenceCommand {
    /// Licences, of a subscriber or a box when given.
    List {
        /// Only this subscriber's (id or account).
        #[arg(long)]
        subscriber: Option<String>,
        /// Only this box's own (id or serial).
        #[arg(long)]
        device: Option<String>,
    },
    /// Issue a licence to a subscriber or a box; its key is shown once.
    Create {
        /// The policy's name.
        policy: String,
        /// The subscriber who holds it (id or account).
        #[arg(long, conflicts_with = "device", required_unless_present = "device")]
        subscriber: Option<String>,
        /// The box that holds it (id or serial).
        #[arg(long)]
        device: Option<String>,
        /// Entitlement codes beyond the policy's (comma-separated).
        #[arg(long, value_delimiter = ',')]
        entitlements: Vec<String>,
    },
    /// A licence with the boxes holding it.
    Show {
        /// The licence's id.
        id: String,
    },
    /// Stop a licence for now.
    Suspend {
        /// The licence's id.
        id: String,
    },
    /// Bring a suspended licence back.
    Reinstate {
        /// The licence's id.
        id: String,
    },
    /// End a licence for good.
    Revoke {
        /// The licence's id.
        id: String,
    },
    /// Bind a licence to a box.
    Activate {
        /// The licence's id.
        id: String,
        /// The box's id or serial.
        device: String,
    },
    /// Unbind a licence from a box.
    Deactivate {
        /// The licence's id.
        id: String,
        /// The box's id or serial.
        device: String,
    },
    /// Whether a licence (by key) is valid for a product, a box and entitlements.
    Validate {
        /// The licence key (wcl_…).
        key: String,
        /// The product to use.
        #[arg(long)]
        product: Option<String>,
        /// The box that uses it (id or serial).
        #[arg(long)]
        device: Option<String>,
        /// Entitlement codes needed (comma-separated).
        #[arg(long, value_delimiter = ',')]
        entitlements: Vec<String>,
    },
    /// The validation log, newest first: who asked about what, and the answer.
    Log {
        /// Only questions about this licence (its id).
        #[arg(long)]
        licence: Option<String>,
        /// Only questions about or from this box (id or serial).
        #[arg(long)]
        device: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

const LICENCE_HEADER: &[&str] = &[
    "ID", "KEY", "PRODUCT", "POLICY", "STATE", "EXPIRES", "BOXES",
];

fn licence_rows(list: &[LicenceView]) -> Vec<Vec<String>> {
    list.iter()
        .map(|l| {
            vec![
                l.id.to_string(),
                format!("{}…", l.key_prefix),
                l.product.clone(),
                l.policy.clone(),
                l.state.to_string(),
                output::time(l.expires_at),
                l.activations.len().to_string(),
            ]
        })
        .collect()
}

fn licence_detail(l: &LicenceView) -> String {
    let mut out = output::fields(&[
        ("id", l.id.to_string()),
        ("key", format!("{}…", l.key_prefix)),
        ("product", l.product.clone()),
        ("policy", l.policy.clone()),
        ("state", l.state.to_string()),
        ("subscriber", output::or_dash(l.subscriber_id)),
        ("box", output::or_dash(l.device_id)),
        ("entitlements", l.entitlements.join(",")),
        ("starts", output::time(Some(l.starts_at))),
        ("expires", output::time(l.expires_at)),
    ]);
    out.push_str(&output::heading("Activations"));
    out.push_str(&output::table(
        &["BOX", "SINCE"],
        l.activations
            .iter()
            .map(|a| vec![a.serial.clone(), output::time(Some(a.activated_at))])
            .collect(),
    ));
    out
}

pub async fn run_product(client: &Client, cmd: ProductCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        ProductCommand::List => {
            let list: Vec<ProductView> = client.get("api/v1/products", &[]).await?;
            let rows = list
                .iter()
                .map(|p| vec![p.code.clone(), p.name.clone(), p.entitlements.join(",")])
                .collect();
            output::print(json, &list, &["CODE", "NAME", "ENTITLEMENTS"], rows);
        }
        ProductCommand::Create {
            code,
            name,
            entitlements,
        } => {
            let body = ProductBody {
                code,
                name,
                entitlements,
            };
            let p: ProductView = client
                .send(Method::POST, "api/v1/products", &[], Some(&body))
                .await?;
            output::print(
                json,
                &p,
                &["CODE", "NAME"],
                vec![vec![p.code.clone(), p.name.clone()]],
            );
        }
        ProductCommand::Policies => {
            let list: Vec<PolicyView> = client.get("api/v1/licence-policies", &[]).await?;
            let rows = list
                .iter()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        p.product.clone(),
                        output::or_dash(p.duration_days),
                        p.expiry.to_string(),
                        p.grace_days.to_string(),
                        p.max_boxes.to_string(),
                        if p.floating {
                            "floating"
                        } else {
                            "node-locked"
                        }
                        .into(),
                    ]
                })
                .collect();
            let header = [
                "NAME",
                "PRODUCT",
                "DAYS",
                "AT EXPIRY",
                "GRACE",
                "BOXES",
                "BINDING",
            ];
            output::print(json, &list, &header, rows);
        }
        ProductCommand::Policy {
            name,
            product,
            duration_days,
            expiry,
            grace_days,
            max_boxes,
            floating,
            max_activations_per_day,
            entitlements,
        } => {
            let body = PolicyBody {
                name,
                product,
                duration_days,
                expiry,
                grace_days,
                max_boxes,
                floating,
                max_activations_per_day,
                entitlements,
            };
            let p: PolicyView = client
                .send(Method::POST, "api/v1/licence-policies", &[], Some(&body))
                .await?;
            output::print(
                json,
                &p,
                &["NAME", "PRODUCT"],
                vec![vec![p.name.clone(), p.product.clone()]],
            );
        }
    }
    Ok(())
}

pub async fn run(client: &Client, cmd: LicenceCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        LicenceCommand::List { subscriber, device } => {
            let mut q = Vec::new();
            if let Some(s) = subscriber {
                q.push(("subscriber", s));
            }
            if let Some(d) = device {
                q.push(("device", d));
            }
            let list: Vec<LicenceView> = client.get("api/v1/licences", &q).await?;
            output::print(json, &list, LICENCE_HEADER, licence_rows(&list));
        }
        LicenceCommand::Create {
            policy,
            subscriber,
            device,
            entitlements,
        } => {
            let body = LicenceBody {
                policy,
                subscriber,
                device,
                starts_at: None,
                expires_at: None,
                entitlements,
            };
            let made: LicenceCreated = client
                .send(Method::POST, "api/v1/licences", &[], Some(&body))
                .await?;
            if json {
                output::json(&made);
            } else {
                crate::outln!("{}", licence_detail(&made.licence));
                crate::outln!("licence key (shown only this once): {}", made.key);
            }
        }
        LicenceCommand::Show { id } => {
            let l: LicenceView = client.get(&format!("api/v1/licences/{id}"), &[]).await?;
            if json {
                output::json(&l);
            } else {
                crate::outln!("{}", licence_detail(&l));
            }
        }
        LicenceCommand::Suspend { id } => state(client, &id, "suspend", json).await?,
        LicenceCommand::Reinstate { id } => state(client, &id, "reinstate", json).await?,
        LicenceCommand::Revoke { id } => state(client, &id, "revoke", json).await?,
        LicenceCommand::Activate { id, device } => {
            let a: ActivationView = client
                .send(
                    Method::POST,
                    &format!("api/v1/licences/{id}/activations"),
                    &[],
                    Some(&ActivationBody { device }),
                )
                .await?;
            let row = vec![a.serial.clone(), output::time(Some(a.activated_at))];
            output::print(json, &a, &["BOX", "SINCE"], vec![row]);
        }
        LicenceCommand::Deactivate { id, device } => {
            client
                .call::<()>(
                    Method::DELETE,
                    &format!("api/v1/licences/{id}/activations/{device}"),
                    None,
                )
                .await?;
            if !json {
                crate::outln!("licence {id} is no longer activated on {device}");
            }
        }
        LicenceCommand::Validate {
            key,
            product,
            device,
            entitlements,
        } => {
            let body = ValidateBody {
                key: Some(key),
                licence: None,
                product,
                device,
                entitlements,
                nonce: None,
            };
            let v: Validation = client
                .send(Method::POST, "api/v1/licences/validate", &[], Some(&body))
                .await?;
            let code = serde_json::to_value(v.code)?;
            let row = vec![
                v.valid.to_string(),
                code.as_str().unwrap_or_default().to_owned(),
                v.detail.clone(),
            ];
            output::print(json, &v, &["VALID", "CODE", "DETAIL"], vec![row]);
            if !v.valid {
                anyhow::bail!("the licence is not valid here");
            }
        }
        LicenceCommand::Log {
            licence,
            device,
            limit,
        } => {
            let mut q = vec![("limit", limit.to_string())];
            q.extend(licence.map(|l| ("licence", l)));
            q.extend(device.map(|d| ("device", d)));
            let log: Vec<ValidationLogEntry> =
                client.get("api/v1/licences/validations", &q).await?;
            let rows = log
                .iter()
                .map(|e| {
                    vec![
                        output::time(Some(e.at)),
                        e.caller.clone(),
                        e.serial.clone().unwrap_or_default(),
                        e.product.clone().unwrap_or_default(),
                        e.code.clone(),
                    ]
                })
                .collect();
            output::print(
                json,
                &log,
                &["AT", "ASKED BY", "BOX", "PRODUCT", "CODE"],
                rows,
            );
        }
    }
    Ok(())
}

/// Suspends, reinstates or revokes a licence and shows it.
async fn state(client: &Client, id: &str, action: &str, json: bool) -> anyhow::Result<()> {
    let l: LicenceView = client
        .send(
            Method::POST,
            &format!("api/v1/licences/{id}/{action}"),
            &[],
            Some(&serde_json::json!({})),
        )
        .await?;
    output::print(
        json,
        &l,
        LICENCE_HEADER,
        licence_rows(std::slice::from_ref(&l)),
    );
    Ok(())
}
