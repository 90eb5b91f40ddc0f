//! Warranty returns as pure rules: what a return may be asked for, and the
//! record a ticket keeps of it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::support::tickets::rules::TicketKind;

/// What is done with the box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RmaAction {
    /// The box goes to the workshop and comes back.
    Repair,
    /// A new box: the subscriber, warranty start and tickets move to it and
    /// the old one is retired.
    Replace,
}

crate::platform::text::text_enum!(RmaAction, "return action", Repair => "repair", Replace => "replace");

/// The box that replaced the returned one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Replacement {
    pub id: Uuid,
    pub serial: String,
}

/// A return as a ticket stores and shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rma {
    pub action: RmaAction,
    pub note: Option<String>,
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<Replacement>,
    /// Licence activations moved to the replacement box.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub licences_moved: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Whether a ticket of `kind` about box `device` may be returned, and to
/// `replacement` (its id and whether a subscriber owns it) when replacing.
pub fn may_return(
    kind: TicketKind,
    device: Option<Uuid>,
    replacement: Option<(Uuid, bool)>,
) -> Result<Uuid, RmaRefusal> {
    if kind != TicketKind::Warranty {
        return Err(RmaRefusal::Conflict(format!(
            "it is a {kind} ticket; returns are for warranty tickets"
        )));
    }
    let Some(old) = device else {
        return Err(RmaRefusal::Conflict("the ticket names no box".into()));
    };
    match replacement {
        Some((new, _)) if new == old => {
            Err(RmaRefusal::Invalid("a box cannot replace itself".into()))
        }
        Some((_, true)) => Err(RmaRefusal::Conflict(
            "the replacement already belongs to a subscriber".into(),
        )),
        _ => Ok(old),
    }
}

/// Why a return was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RmaRefusal {
    /// The ticket or box is not in a state for it (409).
    Conflict(String),
    /// The request itself is wrong (422).
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_warranty_tickets_about_a_box_are_returned() {
        let old = Uuid::from_u128(1);
        let new = Uuid::from_u128(2);
        assert_eq!(may_return(TicketKind::Warranty, Some(old), None), Ok(old));
        assert_eq!(
            may_return(TicketKind::Warranty, Some(old), Some((new, false))),
            Ok(old)
        );
        assert!(matches!(
            may_return(TicketKind::Repair, Some(old), None),
            Err(RmaRefusal::Conflict(_))
        ));
        assert!(matches!(
            may_return(TicketKind::Warranty, None, None),
            Err(RmaRefusal::Conflict(_))
        ));
        assert!(matches!(
            may_return(TicketKind::Warranty, Some(old), Some((old, false))),
            Err(RmaRefusal::Invalid(_))
        ));
        assert!(matches!(
            may_return(TicketKind::Warranty, Some(old), Some((new, true))),
            Err(RmaRefusal::Conflict(_))
        ));
    }
}
