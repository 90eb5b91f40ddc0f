//! The bundle lifecycle: which state changes an operator may make.
//!
//! ```text
//! (upload verified) → staged → published ⇄ deprecated
//!                        └──────────┴──────────┴→ revoked (final)
//! ```
//! A bundle exists only once its upload has been verified (the transient
//! "uploaded" state lives inside the upload request), so `staged` is the
//! first recorded state. `published` bundles may be offered by rollouts;
//! `deprecated` ones keep serving rollouts already running but take no new
//! ones; `revoked` ones are never offered again.
//!
//! Which boxes a bundle is for follows from its artifacts' install targets
//! ([`client_of`]): `swupdate` (a `.swu` image) and `rauc` (a RAUC bundle)
//! go to hawkBit DDI clients, every other target to our agent.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::fleet::devices::rules::Client;

/// Install targets that only hawkBit DDI clients install.
pub const DDI_TARGETS: [&str; 2] = ["swupdate", "rauc"];

/// Whether an artifact with install `target` is for DDI clients.
pub fn is_ddi_target(target: &str) -> bool {
    DDI_TARGETS.contains(&target)
}

/// Which kind of box a bundle with these artifact targets is for. A bundle
/// mixing DDI targets with others is refused: no box installs both.
pub fn client_of<'a>(targets: impl IntoIterator<Item = &'a str>) -> Result<Client, String> {
    let (mut ddi, mut agent) = (0, 0);
    for t in targets {
        if is_ddi_target(t) {
            ddi += 1;
        } else {
            agent += 1;
        }
    }
    match (ddi, agent) {
        (0, _) => Ok(Client::Agent),
        (_, 0) => Ok(Client::Ddi),
        _ => Err(format!(
            "a bundle cannot mix artifacts for hawkBit DDI clients (targets {}) with artifacts \
             for the agent",
            DDI_TARGETS.join(", ")
        )),
    }
}

/// Where a bundle is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BundleState {
    Staged,
    Published,
    Deprecated,
    Revoked,
}

/// What an operator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleAction {
    Publish,
    Deprecate,
    Revoke,
}

impl FromStr for BundleAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "publish" => Ok(Self::Publish),
            "deprecate" => Ok(Self::Deprecate),
            "revoke" => Ok(Self::Revoke),
            other => Err(format!(
                "no bundle action {other:?}; use publish, deprecate or revoke"
            )),
        }
    }
}

impl BundleAction {
    /// The audit log's name for the action.
    pub fn audit_action(self) -> &'static str {
        match self {
            Self::Publish => "bundle.publish",
            Self::Deprecate => "bundle.deprecate",
            Self::Revoke => "bundle.revoke",
        }
    }
}

impl BundleState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staged => "staged",
            Self::Published => "published",
            Self::Deprecated => "deprecated",
            Self::Revoked => "revoked",
        }
    }

    /// The state after `action`, or why it is not allowed. Repeating the
    /// action that led to the current state is allowed and changes nothing.
    pub fn apply(self, action: BundleAction) -> Result<BundleState, String> {
        use BundleAction as A;
        use BundleState as S;
        match (self, action) {
            (S::Revoked, A::Revoke) => Ok(S::Revoked),
            (S::Revoked, _) => Err("the bundle is revoked; revocation is final".into()),
            (S::Staged | S::Published | S::Deprecated, A::Publish) => Ok(S::Published),
            (S::Published | S::Deprecated, A::Deprecate) => Ok(S::Deprecated),
            (S::Staged, A::Deprecate) => {
                Err("only a published bundle can be deprecated; revoke a staged one instead".into())
            }
            (_, A::Revoke) => Ok(S::Revoked),
        }
    }
}

impl fmt::Display for BundleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BundleState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            Self::Staged,
            Self::Published,
            Self::Deprecated,
            Self::Revoked,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
        .ok_or_else(|| format!("unknown bundle state {s:?}"))
    }
}

#[cfg(test)]
mod client_tests {
    use super::{client_of, Client};

    #[test]
    fn targets_decide_which_boxes_a_bundle_is_for() {
        assert_eq!(client_of(["rootfs", "kernel"]), Ok(Client::Agent));
        assert_eq!(client_of(["swupdate"]), Ok(Client::Ddi));
        assert_eq!(client_of(["rauc"]), Ok(Client::Ddi));
        assert_eq!(client_of([]), Ok(Client::Agent));
        let mixed = client_of(["swupdate", "rootfs"]).expect_err("refused");
        assert!(mixed.contains("cannot mix"), "{mixed}");
    }
}

#[cfg(test)]
mod tests {
    use super::{BundleAction as A, BundleState as S};

    #[test]
    fn the_happy_path() {
        assert_eq!(S::Staged.apply(A::Publish), Ok(S::Published));
        assert_eq!(S::Published.apply(A::Deprecate), Ok(S::Deprecated));
        assert_eq!(
            S::Deprecated.apply(A::Publish),
            Ok(S::Published),
            "un-deprecate"
        );
        assert_eq!(S::Deprecated.apply(A::Revoke), Ok(S::Revoked));
    }

    #[test]
    fn repeats_are_no_ops() {
        assert_eq!(S::Published.apply(A::Publish), Ok(S::Published));
        assert_eq!(S::Revoked.apply(A::Revoke), Ok(S::Revoked));
    }

    #[test]
    fn revocation_is_final_and_staged_cannot_be_deprecated() {
        assert!(S::Revoked.apply(A::Publish).is_err());
        assert!(S::Revoked.apply(A::Deprecate).is_err());
        assert!(S::Staged.apply(A::Deprecate).is_err());
        for s in [S::Staged, S::Published, S::Deprecated] {
            assert_eq!(s.apply(A::Revoke), Ok(S::Revoked));
        }
    }

    #[test]
    fn parses() {
        for s in [S::Staged, S::Published, S::Deprecated, S::Revoked] {
            assert_eq!(s.as_str().parse::<S>(), Ok(s));
        }
    }
}
