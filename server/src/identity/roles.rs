//! Operator roles and what each may do.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// The role of a Wavecast user.
///
/// - `admin`: everything, including users, tokens of others and the audit log;
/// - `operator`: release management: bundles, rollouts, devices;
/// - `support`: the ticket queue and device telemetry;
/// - `viewer`: read-only access to what operators and support see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Operator,
    Support,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Operator, Role::Support, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Support => "support",
            Role::Viewer => "viewer",
        }
    }

    /// Whether a holder of `self` may do what needs `required`.
    ///
    /// Admin grants everything; every role grants viewer; operator and support
    /// are separate duties and do not grant each other.
    pub fn grants(self, required: Role) -> bool {
        self == required || self == Role::Admin || required == Role::Viewer
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role {s:?}; expected admin, operator, support or viewer")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_grants_everything() {
        for r in Role::ALL {
            assert!(Role::Admin.grants(r), "admin grants {r}");
        }
    }

    #[test]
    fn viewer_grants_only_viewer() {
        for r in Role::ALL {
            assert_eq!(Role::Viewer.grants(r), r == Role::Viewer, "viewer vs {r}");
        }
    }

    #[test]
    fn operator_and_support_are_separate_duties() {
        assert!(Role::Operator.grants(Role::Operator));
        assert!(Role::Operator.grants(Role::Viewer));
        assert!(!Role::Operator.grants(Role::Support));
        assert!(!Role::Operator.grants(Role::Admin));
        assert!(Role::Support.grants(Role::Support));
        assert!(!Role::Support.grants(Role::Operator));
        assert!(!Role::Support.grants(Role::Admin));
    }

    #[test]
    fn parses_and_prints() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
        assert!("Admin".parse::<Role>().is_err(), "roles are lowercase");
    }
}
