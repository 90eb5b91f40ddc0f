//! Who made a request: the authenticated caller every handler and the
//! audit log see, and the role checks on it.

use uuid::Uuid;

use super::roles::Role;
use crate::platform::error::Error;

/// The authenticated caller, as every handler and the audit log see it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: Uuid,
    pub name: String,
    pub role: Role,
    pub token_id: Uuid,
    pub token_prefix: String,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
}

impl Caller {
    /// Fails with 403 unless the caller's role grants `required`.
    pub fn demand(&self, required: Role) -> Result<(), Error> {
        if self.role.grants(required) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "this needs the {required} role; {} has the {} role",
                self.name, self.role
            )))
        }
    }

    /// Fails with 403 unless the caller's role grants one of `roles`, for
    /// work two duties share (`what` names it in the message).
    pub fn demand_one_of(&self, roles: &[Role], what: &str) -> Result<(), Error> {
        if roles.iter().any(|r| self.role.grants(*r)) {
            return Ok(());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(Error::Forbidden(format!(
            "{what} needs the {} role; {} has the {} role",
            names.join(" or "),
            self.name,
            self.role
        )))
    }
}
