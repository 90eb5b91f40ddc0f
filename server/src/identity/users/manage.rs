//! Creating and changing users, for the API and the console alike: names
//! and display names checked, the last enabled admin kept, a disabled
//! user's console sessions ended, each change audited.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{rules::UserName, store::find_by_name};
use crate::{
    http::params::checked,
    identity::{
        audit::store::{audited, Entry},
        bootstrap,
        caller::Caller,
        roles::Role,
        views::{CreateUser, UpdateUser},
    },
    platform::{
        entities::user,
        error::{Error, Result},
        text::Line,
    },
    state::AppState,
};

/// What the audit log keeps of a user change.
#[derive(Debug, serde::Serialize)]
struct UserChange {
    role: Role,
}

impl UserChange {
    fn role(role: Role) -> Self {
        Self { role }
    }
}

/// Creates a user as `auth` (the bootstrap token ends with it).
pub async fn create_user(state: &AppState, auth: &Caller, body: CreateUser) -> Result<user::Model> {
    let name = UserName::parse(&body.name).map_err(Error::Validation)?;
    let display_name = match &body.display_name {
        Some(d) => checked(Line::parse("display_name", d, 200))?.into_string(),
        None => name.to_string(),
    };
    let now = state.clock.now();
    let caller: Caller = auth.clone();
    let created = audited(&state.db, auth, now, move |txn| {
        Box::pin(async move {
            let taken = user::Entity::find()
                .filter(user::Column::Name.eq(name.as_str()))
                .count(txn)
                .await?;
            if taken > 0 {
                return Err(Error::Conflict(format!(
                    "a user named {name} already exists"
                )));
            }
            let model = user::ActiveModel {
                id: Set(Uuid::now_v7()),
                name: Set(name.to_string()),
                display_name: Set(display_name),
                role: Set(body.role),
                disabled: Set(false),
                created_at: Set(now),
                password_hash: Set(None),
                password_changed_at: Set(None),
            }
            .insert(txn)
            .await?;
            bootstrap::spend(txn, &caller, now).await?;
            let entry = Entry::new("user.create", "user", model.name.clone())
                .details(&UserChange::role(body.role));
            Ok((model, entry))
        })
    })
    .await?;
    Ok(created)
}

/// Changes user `name` as `auth`: role, display name, disabled.
pub async fn update_user(
    state: &AppState,
    auth: &Caller,
    name: String,
    body: UpdateUser,
) -> Result<user::Model> {
    let display_name = body
        .display_name
        .as_deref()
        .map(|d| checked(Line::parse("display_name", d, 200)))
        .transpose()?;
    let now = state.clock.now();
    let updated = audited(&state.db, auth, now, move |txn| {
        Box::pin(async move {
            let current = find_by_name(txn, &name).await?;
            let loses_admin = current.role == Role::Admin
                && !current.disabled
                && (body.role.is_some_and(|r| r != Role::Admin) || body.disabled == Some(true));
            if loses_admin {
                let admins = user::Entity::find()
                    .filter(user::Column::Role.eq(Role::Admin))
                    .filter(user::Column::Disabled.eq(false))
                    .count(txn)
                    .await?;
                if admins <= 1 {
                    return Err(Error::Conflict(format!(
                        "{name} is the last enabled admin; make another admin first"
                    )));
                }
            }
            let mut model: user::ActiveModel = current.into();
            if let Some(role) = body.role {
                model.role = Set(role);
            }
            if let Some(d) = display_name {
                model.display_name = Set(d.into_string());
            }
            if let Some(disabled) = body.disabled {
                model.disabled = Set(disabled);
            }
            let model = model.update(txn).await?;
            if model.disabled {
                // A disabled user's console sessions end with it.
                crate::identity::sessions::store::end_all(txn, model.id, now).await?;
            }
            let entry = Entry::new("user.update", "user", model.name.clone()).details(&body);
            Ok((model, entry))
        })
    })
    .await?;
    Ok(updated)
}
