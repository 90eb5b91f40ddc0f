//! Users at the SQL edge: finding one by name, all of them, and the view
//! the API shows.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::{
    identity::views::UserView,
    platform::{
        entities::user,
        error::{Error, Result},
    },
};

/// The API's view of a stored user.
/// Every user, by name, as the API shows them.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<UserView>> {
    Ok(user::Entity::find()
        .order_by_asc(user::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(user_view)
        .collect())
}

pub fn user_view(m: user::Model) -> UserView {
    UserView {
        id: m.id,
        name: m.name,
        display_name: m.display_name,
        role: m.role,
        disabled: m.disabled,
        created_at: m.created_at,
        has_password: m.password_hash.is_some(),
    }
}

/// Looks a user up by name (404 when absent).
pub async fn find_by_name(db: &impl ConnectionTrait, name: &str) -> Result<user::Model> {
    user::Entity::find()
        .filter(user::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no user named {name:?}")))
}

/// The user a request body or query names in `field`: like
/// [`find_by_name`], but a name that is not there is a bad value (422),
/// not a missing resource.
pub async fn named(db: &impl ConnectionTrait, field: &str, name: &str) -> Result<user::Model> {
    find_by_name(db, name).await.map_err(|e| e.named_in(field))
}

/// The names of users `ids`, for views that show who (a ticket's
/// assignee, a subscriber's dedicated agent).
pub async fn name_of(db: &impl ConnectionTrait, id: Option<uuid::Uuid>) -> Result<Option<String>> {
    Ok(match id {
        Some(id) => user::Entity::find_by_id(id).one(db).await?.map(|u| u.name),
        None => None,
    })
}
