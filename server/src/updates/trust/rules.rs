//! What the trust anchors allow the server itself: its online check-in key
//! signs check-in answers and nothing the fleet installs. A keyring that
//! also lets that key sign bundles turns a compromised server into a
//! source of firmware every box would install, so the server refuses it
//! unless the operator said otherwise (`signing.allow_online_bundle_roles`).

use wavecast_protocol::keyring::{KeyRole, Keyring};

/// The bundle kinds key `keyid` may sign in `keyring` (none: fine).
pub fn bundle_roles(keyring: &Keyring, keyid: &str) -> Vec<&'static str> {
    keyring.entry(keyid).map_or_else(Vec::new, |e| {
        e.roles
            .iter()
            .filter(|r| !matches!(r, KeyRole::Checkin | KeyRole::Licence))
            .map(|r| r.as_str())
            .collect()
    })
}

/// Refuses a keyring in which the online key `keyid` may sign bundles,
/// unless `allowed`; the message says what to do instead.
pub fn check_online_key(keyring: &Keyring, keyid: &str, allowed: bool) -> Result<(), String> {
    let roles = bundle_roles(keyring, keyid);
    if roles.is_empty() || allowed {
        return Ok(());
    }
    Err(format!(
        "the server's online check-in key {keyid} may also sign {} bundles in keyring \
         version {}: whoever controls the server could sign what every box installs. Give \
         the server a key with only the checkin and licence roles (`wavecast keys rotate --roles checkin,licence`, \
         then point signing.key_file at the new key), or set \
         signing.allow_online_bundle_roles = true to accept the risk",
        roles.join(", "),
        keyring.version
    ))
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use wavecast_protocol::keys::key_id;

    use super::*;

    #[test]
    fn the_online_key_may_sign_check_ins_only() {
        let online = SigningKey::from_bytes(&[4; 32]).verifying_key();
        let release = SigningKey::from_bytes(&[5; 32]).verifying_key();
        let mut split = Keyring::new(1, 0);
        split.add(&online, [KeyRole::Checkin], "checkin");
        split.add(&release, KeyRole::BUNDLES, "release");
        assert!(check_online_key(&split, &key_id(&online), false).is_ok());
        let mut one = Keyring::new(2, 0);
        one.add(&online, [KeyRole::Checkin, KeyRole::Firmware], "both");
        let e = check_online_key(&one, &key_id(&online), false).expect_err("refused");
        assert!(
            e.contains("firmware") && e.contains("allow_online_bundle_roles"),
            "{e}"
        );
        assert!(check_online_key(&one, &key_id(&online), true).is_ok());
        assert!(
            check_online_key(&one, &key_id(&release), false).is_ok(),
            "not listed: nothing to refuse"
        );
    }
}
