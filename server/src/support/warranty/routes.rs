//! Warranty periods per model (`/api/v1/warranties`: every role reads,
//! admins write) and a box's activation date and void flag
//! (`PATCH /api/v1/devices/{ref}/warranty`, support staff).

use actix_web::{web, HttpResponse};
use sea_orm::{sea_query::OnConflict, ActiveModelTrait, EntityTrait, QueryOrder, Set};

use super::store::warranty_of;
use crate::support::views::{DeviceWarrantyBody, WarrantyBody};
use crate::{
    fleet::devices::store::{self as devices, device_view},
    http::params::checked,
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth},
        caller::Caller,
        roles::Role,
    },
    platform::{
        entities::{device, model_warranty},
        error::{Error, Result},
        text::Line,
    },
    state::AppState,
    support::views::{DeviceWarranty, WarrantyPeriod},
};

/// `GET /api/v1/warranties`: the warranty period of each model.
#[utoipa::path(
    get,
    path = "/api/v1/warranties",
    tag = "support",
    security(("operator" = [])),
    responses(
        (status = 200, description = "The warranty period of each model, by model", body = Vec<WarrantyPeriod>),
    )
)]
pub async fn list(_: Auth<access::Viewer>, state: web::Data<AppState>) -> Result<HttpResponse> {
    let all: Vec<WarrantyPeriod> = model_warranty::Entity::find()
        .order_by_asc(model_warranty::Column::Model)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|w| WarrantyPeriod {
            model: w.model,
            months: w.months,
        })
        .collect();
    Ok(HttpResponse::Ok().json(all))
}

/// `PUT /api/v1/warranties/{model}` (admin).
#[utoipa::path(
    put,
    path = "/api/v1/warranties/{model}",
    tag = "support",
    params(("model" = String, Path, description = "The box model")),
    request_body = WarrantyBody,
    security(("operator" = [])),
    responses(
        (status = 204, description = "The model's warranty period was set"),
    )
)]
pub async fn put(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<WarrantyBody>,
) -> Result<HttpResponse> {
    put_period(&state, &auth, &path, body.months).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sets model `model`'s warranty to `months` for `caller` (admin),
/// audited.
pub async fn put_period(state: &AppState, caller: &Caller, model: &str, months: i32) -> Result<()> {
    caller.demand(Role::Admin)?;
    let model = checked(Line::parse("model", model, 64))?.into_string();
    if !(0..=240).contains(&months) {
        return Err(Error::Validation("months must be between 0 and 240".into()));
    }
    audited(&state.db, caller, state.clock.now(), move |txn| {
        Box::pin(async move {
            model_warranty::Entity::insert(model_warranty::ActiveModel {
                model: Set(model.clone()),
                months: Set(months),
            })
            .on_conflict(
                OnConflict::column(model_warranty::Column::Model)
                    .update_column(model_warranty::Column::Months)
                    .to_owned(),
            )
            .exec(txn)
            .await?;
            let entry =
                Entry::new("warranty.put", "model", model).details(&WarrantyBody { months });
            Ok(((), entry))
        })
    })
    .await
}

/// `PATCH /api/v1/devices/{ref}/warranty` (support staff): the activation
/// date and the warranty-void flag with its reason.
#[utoipa::path(
    patch,
    path = "/api/v1/devices/{reference}/warranty",
    tag = "support",
    params(("reference" = String, Path, description = "Device id or serial")),
    request_body = DeviceWarrantyBody,
    security(("operator" = [])),
    responses(
        (status = 200, description = "The box and its warranty now", body = DeviceWarranty),
    )
)]
pub async fn device_warranty(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<DeviceWarrantyBody>,
) -> Result<HttpResponse> {
    let d = devices::find(&state.db, &path).await?;
    let mut b = body.into_inner();
    if let Some(Some(r)) = &b.void_reason {
        let reason = checked(Line::parse("void_reason", r, 500))?.into_string();
        b.void_reason = Some(Some(reason));
    }
    let now = state.clock.now();
    let updated = audited(&state.db, &auth, now, move |txn| {
        Box::pin(async move {
            let serial = d.serial.clone();
            let mut m: device::ActiveModel = d.into();
            if let Some(at) = b.activated_at {
                m.activated_at = Set(Some(at));
            }
            if let Some(v) = b.void_reason.clone() {
                m.warranty_void_reason = Set(v);
            }
            let m = m.update(txn).await?;
            let entry = Entry::new("device.warranty", "device", serial).details(&b);
            Ok((m, entry))
        })
    })
    .await?;
    let warranty = warranty_of(&state.db, &updated, now).await?;
    Ok(HttpResponse::Ok().json(DeviceWarranty {
        device: device_view(updated),
        warranty,
    }))
}
