//! What a bundle updates: firmware, a codec pack, a DRM level, an app or
//! configuration (also `wavecast_protocol::manifest::Kind`).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// What a bundle updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Firmware,
    Codec,
    Drm,
    App,
    Config,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Firmware,
        Kind::Codec,
        Kind::Drm,
        Kind::App,
        Kind::Config,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Firmware => "firmware",
            Kind::Codec => "codec",
            Kind::Drm => "drm",
            Kind::App => "app",
            Kind::Config => "config",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown bundle kind {s:?}; expected firmware, codec, drm, app or config")
            })
    }
}
