//! Install status reports a box sends per rollout and bundle.

use serde::{Deserialize, Serialize};

/// A box's install status for one bundle of a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InstallState {
    Downloading,
    Downloaded,
    Installing,
    Rebooting,
    Succeeded,
    Failed,
    RolledBack,
}

impl InstallState {
    pub const ALL: [InstallState; 7] = [
        Self::Downloading,
        Self::Downloaded,
        Self::Installing,
        Self::Rebooting,
        Self::Succeeded,
        Self::Failed,
        Self::RolledBack,
    ];

    /// Progress order: later steps rank higher; the three endings share the top rank.
    pub fn rank(self) -> u8 {
        match self {
            Self::Downloading => 1,
            Self::Downloaded => 2,
            Self::Installing => 3,
            Self::Rebooting => 4,
            Self::Succeeded | Self::Failed | Self::RolledBack => 5,
        }
    }

    /// Succeeded, failed and rolled back end an attempt.
    pub fn is_terminal(self) -> bool {
        self.rank() == 5
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Downloading => "downloading",
            Self::Downloaded => "downloaded",
            Self::Installing => "installing",
            Self::Rebooting => "rebooting",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::RolledBack => "rolled_back",
        }
    }
}

impl std::str::FromStr for InstallState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown install state {s:?}"))
    }
}

/// `POST /api/v1/device/status`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusReport {
    pub rollout_id: String,
    pub bundle_id: String,
    pub state: InstallState,
    /// Download progress in percent, while downloading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    /// A machine-readable failure code, e.g. `hash-mismatch`, `health-check`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
