//! Licence tokens on the box: kept in the state directory as they arrive
//! in check-in answers (only those signed under the keyring's `licence`
//! role and made for this box), and judged offline for the component that
//! asks (`wavecast-agent licence check PRODUCT [--entitlement CODE]`).
//!
//! Time on the box is not trusted to go forward: `trusted-time` holds the
//! latest time the box has seen (its clock, a signed answer's issue time),
//! and a check runs at the later of that and the clock, so setting the
//! clock back does not revive an expired token.

use std::{io, path::Path};

use serde::{Deserialize, Serialize};
use wavecast_protocol::{
    envelope::Envelope,
    keyring::{open_keyring, Keyring},
    keys::{public_key_text, PrivateKeyFile},
    licence::{judge, open_token, Judgement, LicenceToken, Question, TrustedClock},
};

use crate::{
    config::Config,
    journal::State,
    store::{read_json, write_json},
};

/// The tokens the box holds, in its state directory.
pub const TOKENS_FILE: &str = "licences.json";
/// The latest time the box trusts, in its state directory.
pub const CLOCK_FILE: &str = "trusted-time.json";

/// What `licences.json` holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Held {
    pub tokens: Vec<Envelope>,
}

/// The tokens held (none when the file is absent).
pub fn held(state_dir: &Path) -> io::Result<Held> {
    Ok(read_json(&state_dir.join(TOKENS_FILE))?.unwrap_or_default())
}

/// Takes in `seen` (Unix seconds) and answers the trusted time, keeping it
/// when it moved forward.
pub fn trusted_now(state_dir: &Path, seen: i64) -> io::Result<i64> {
    let path = state_dir.join(CLOCK_FILE);
    let mut clock: TrustedClock = read_json(&path)?.unwrap_or_default();
    let before = clock.latest;
    let now = clock.observe(seen);
    if now > before {
        write_json(&path, &clock)?;
    }
    Ok(now)
}

/// Replaces the held tokens with those of a check-in answer that verify
/// under `keyring` and are for this box; says why each other one was
/// refused. The answer's list is the box's complete set.
pub fn take(
    state_dir: &Path,
    keyring: &Keyring,
    tokens: &[Envelope],
    device_id: &str,
    device_key: &str,
) -> io::Result<Vec<String>> {
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    let mut latest = 0;
    for env in tokens {
        match open_token(keyring, env) {
            Ok(t) if t.is_for(device_id, device_key) => {
                latest = latest.max(t.issued_at);
                kept.push(env.clone());
            }
            Ok(t) => refused.push(format!(
                "a licence token for {} was made for device {}",
                t.product, t.device_id
            )),
            Err(e) => refused.push(format!("a licence token does not verify: {e}")),
        }
    }
    write_json(&state_dir.join(TOKENS_FILE), &Held { tokens: kept })?;
    trusted_now(state_dir, latest)?;
    Ok(refused)
}

/// The answer of `licence check`, printed as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckAnswer {
    pub valid: bool,
    pub code: String,
    pub detail: String,
    pub product: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entitlement: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licence_id: Option<String>,
    /// The trusted time the check ran at (Unix seconds).
    pub checked_at: i64,
}

/// The payload of a token whose signature is not checked, to tell which
/// product a refused token was about.
fn unverified(env: &Envelope) -> Option<LicenceToken> {
    serde_json::from_slice(&env.payload_bytes().ok()?).ok()
}

/// Whether this box may use `product` (with `entitlement`) now, from what
/// it holds alone: no network.
pub fn check(
    cfg: &Config,
    product: &str,
    entitlement: Option<&str>,
    clock_now: i64,
) -> Result<CheckAnswer, String> {
    let now = trusted_now(&cfg.state_dir, clock_now).map_err(|e| format!("trusted time: {e}"))?;
    let answer = |j: Judgement, licence_id: Option<String>| CheckAnswer {
        valid: j.valid,
        code: j.code,
        detail: j.detail,
        product: product.to_owned(),
        entitlement: entitlement.map(str::to_owned),
        licence_id,
        checked_at: now,
    };
    let not_found = |detail: &str| Judgement {
        valid: false,
        code: "NOT_FOUND".into(),
        detail: detail.to_owned(),
    };
    let state = State::load(&cfg.state_dir).map_err(|e| format!("journal: {e}"))?;
    let (Some(device_id), Some(env)) = (&state.device_id, &state.keyring) else {
        return Ok(answer(not_found("this box has not checked in yet"), None));
    };
    let keyring = open_keyring(&cfg.root_key()?, env).map_err(|e| format!("keyring: {e}"))?;
    let device_key = match std::fs::read_to_string(&cfg.identity_key) {
        Ok(text) => PrivateKeyFile::parse(&text)
            .map(|(k, _)| public_key_text(&k.verifying_key()))
            .map_err(|e| format!("{}: {e}", cfg.identity_key.display()))?,
        Err(_) => return Ok(answer(not_found("this box has no identity key"), None)),
    };
    let q = Question {
        device_id,
        device_key: &device_key,
        product,
        entitlement,
        now,
    };
    let mut refusal = None;
    for env in held(&cfg.state_dir)
        .map_err(|e| format!("licences: {e}"))?
        .tokens
    {
        match open_token(&keyring, &env) {
            Ok(t) if t.product == product => {
                let j = judge(&t, &q);
                if j.valid {
                    return Ok(answer(j, Some(t.licence_id)));
                }
                refusal.get_or_insert((j, Some(t.licence_id)));
            }
            Ok(_) => {}
            Err(e) if unverified(&env).is_none_or(|t| t.product == product) => {
                refusal.get_or_insert((
                    Judgement {
                        valid: false,
                        code: "INVALID_TOKEN".into(),
                        detail: format!("the licence token does not verify: {e}"),
                    },
                    None,
                ));
            }
            Err(_) => {}
        }
    }
    Ok(match refusal {
        Some((j, id)) => answer(j, id),
        None => answer(
            not_found(&format!("this box holds no licence token for {product}")),
            None,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trusted_time_never_goes_back() {
        let dir = tempfile::tempdir().expect("dir");
        assert_eq!(trusted_now(dir.path(), 5_000).expect("t"), 5_000);
        assert_eq!(trusted_now(dir.path(), 1_000).expect("t"), 5_000);
        assert_eq!(trusted_now(dir.path(), 6_000).expect("t"), 6_000);
    }
}
