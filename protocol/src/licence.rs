//! Licences on the wire: the token a box keeps to prove, offline, that it
//! may use a licensed product, and the signed answer of the validation API.
//!
//! A token is a [`LicenceToken`] in an envelope of type
//! [`LICENCE_TYPE`](crate::envelope::LICENCE_TYPE), signed on its own by a
//! keyring key with the `licence` role, and bound to one box by its id and
//! identity key. The box checks it with [`open_token`] when it arrives and
//! again, with [`judge`], whenever a component asks: at a time that never
//! goes back ([`TrustedClock`]), so setting the clock back does not revive
//! an expired token. `docs/licence-format.md` specifies it for third
//! parties.

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::{
    envelope::{Envelope, LICENCE_TYPE, VALIDATION_TYPE},
    keyring::{KeyRole, Keyring},
    trust::TrustError,
};

/// Always the `type` of a token.
pub const TOKEN_KIND: &str = "wavecast-licence";

/// What a licence allows one box, as the server judged it when it issued
/// the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenceToken {
    /// Always `wavecast-licence`.
    #[serde(rename = "type")]
    pub kind: String,
    pub licence_id: String,
    /// The product's code, e.g. `codec-ddp`.
    pub product: String,
    /// The entitlement codes the licence grants, sorted.
    pub entitlements: Vec<String>,
    /// The box this token is for, and its identity key (base64 Ed25519).
    pub device_id: String,
    pub device_key: String,
    /// The server's verdict when it issued the token: `valid` and its code
    /// (`VALID`, `SUSPENDED`, `REVOKED`, `EXPIRED`, ...).
    pub valid: bool,
    pub code: String,
    pub detail: String,
    /// Whether the box may still get updates of the product.
    pub updates: bool,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds after which the box may no longer use the product (the
    /// licence's expiry plus its grace period when the policy stops use at
    /// expiry); absent when use does not end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_until: Option<i64>,
    /// Unix seconds after which the box should get a fresh token (it keeps
    /// using this one until `use_until`).
    pub refresh_after: i64,
}

/// Signs a token with the server's licence key.
pub fn sign_token(token: &LicenceToken, key: &SigningKey) -> Result<Envelope, TrustError> {
    sign(LICENCE_TYPE, token, key)
}

fn sign<T: Serialize>(kind: &str, payload: &T, key: &SigningKey) -> Result<Envelope, TrustError> {
    let bytes =
        serde_json::to_vec(payload).map_err(|e| TrustError::Malformed(format!("{kind}: {e}")))?;
    let mut env = Envelope::new(kind, &bytes);
    env.sign(key)?;
    Ok(env)
}

/// Opens a token: signed by a keyring key with the `licence` role, of the
/// right type. Whom it is for and whether it still holds is [`judge`]'s.
pub fn open_token(keyring: &Keyring, envelope: &Envelope) -> Result<LicenceToken, TrustError> {
    envelope.expect_type(LICENCE_TYPE)?;
    keyring.verify_role(envelope, KeyRole::Licence)?;
    let token: LicenceToken = serde_json::from_slice(&envelope.payload_bytes()?)
        .map_err(|e| TrustError::Malformed(format!("licence token: {e}")))?;
    if token.kind != TOKEN_KIND {
        return Err(TrustError::Malformed(format!(
            "licence token type {:?}",
            token.kind
        )));
    }
    Ok(token)
}

impl LicenceToken {
    /// Whether the token was made for the box `device_id` with identity
    /// key `device_key`.
    pub fn is_for(&self, device_id: &str, device_key: &str) -> bool {
        self.device_id == device_id && self.device_key == device_key
    }
}

/// The box's verdict on a product, for the component that asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judgement {
    pub valid: bool,
    /// `VALID`, `NOT_FOUND`, `EXPIRED`, `ENTITLEMENTS_MISSING`, or the
    /// refusal the server put in the token (`SUSPENDED`, `REVOKED`, ...).
    pub code: String,
    pub detail: String,
}

impl Judgement {
    fn no(code: &str, detail: String) -> Self {
        Self {
            valid: false,
            code: code.to_owned(),
            detail,
        }
    }
}

/// What a component on the box asks: may the box `device_id` (identity
/// key `device_key`) use `product`, with `entitlement` when named, at the
/// trusted time `now`?
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    pub device_id: &'a str,
    pub device_key: &'a str,
    pub product: &'a str,
    pub entitlement: Option<&'a str>,
    pub now: i64,
}

/// Whether `token` (opened with [`open_token`]) answers yes to `q`, and the
/// code explaining it: `DEVICE_MISMATCH` for another box's token,
/// `PRODUCT_MISMATCH`, the server's refusal carried in the token
/// (`SUSPENDED`, `REVOKED`, ...), `EXPIRED`, `ENTITLEMENTS_MISSING`, or
/// `VALID`.
pub fn judge(token: &LicenceToken, q: &Question<'_>) -> Judgement {
    let (product, entitlement, now) = (q.product, q.entitlement, q.now);
    if !token.is_for(q.device_id, q.device_key) {
        return Judgement::no(
            "DEVICE_MISMATCH",
            format!(
                "the token was made for device {}, not this one",
                token.device_id
            ),
        );
    }
    if token.product != product {
        return Judgement::no(
            "PRODUCT_MISMATCH",
            format!("the token is for {}, not {product}", token.product),
        );
    }
    if !token.valid {
        return Judgement::no(&token.code, token.detail.clone());
    }
    if let Some(until) = token.use_until.filter(|u| now >= *u) {
        return Judgement::no(
            "EXPIRED",
            format!("the licence for {product} may be used until {until}; it is now {now}"),
        );
    }
    if let Some(e) = entitlement.filter(|e| !token.entitlements.iter().any(|g| g == e)) {
        return Judgement::no(
            "ENTITLEMENTS_MISSING",
            format!("the licence for {product} does not grant {e}"),
        );
    }
    Judgement {
        valid: true,
        code: "VALID".into(),
        detail: match token.use_until {
            Some(u) => format!("licensed for {product} until {u}"),
            None => format!("licensed for {product}"),
        },
    }
}

/// A time that never goes back: the latest of the box's clock and every
/// time it has trusted (a token's or a signed answer's issue time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedClock {
    /// Unix seconds.
    pub latest: i64,
}

impl TrustedClock {
    /// Takes in a time seen (the box's clock, or a signed issue time) and
    /// answers the trusted time now.
    pub fn observe(&mut self, seen: i64) -> i64 {
        self.latest = self.latest.max(seen);
        self.latest
    }
}

/// The signed part of a validation answer (`POST /api/v1/licences/validate`
/// and its device form): the verdict, the caller's nonce and the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidationAnswer {
    pub valid: bool,
    pub code: String,
    pub detail: String,
    pub updates: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The caller's nonce, echoed.
    pub nonce: String,
    /// Unix seconds.
    pub issued_at: i64,
}

/// Signs a validation answer with the server's licence key.
pub fn sign_validation(
    answer: &ValidationAnswer,
    key: &SigningKey,
) -> Result<Envelope, TrustError> {
    sign(VALIDATION_TYPE, answer, key)
}

/// Verifies a signed validation answer to the question asked with `nonce`:
/// signed by a key with the `licence` role, carrying that nonce, issued
/// within `max_age_secs` of `now`. An answer to another question (a replay)
/// is refused.
pub fn verify_validation(
    keyring: &Keyring,
    envelope: &Envelope,
    nonce: &str,
    now: i64,
    max_age_secs: i64,
) -> Result<ValidationAnswer, TrustError> {
    envelope.expect_type(VALIDATION_TYPE)?;
    keyring.verify_role(envelope, KeyRole::Licence)?;
    let answer: ValidationAnswer = serde_json::from_slice(&envelope.payload_bytes()?)
        .map_err(|e| TrustError::Malformed(format!("validation answer: {e}")))?;
    if answer.nonce != nonce {
        return Err(TrustError::Malformed(
            "the validation answer carries another nonce: a replay".into(),
        ));
    }
    if (now - answer.issued_at).abs() > max_age_secs {
        return Err(TrustError::Malformed(format!(
            "the validation answer was issued at {}, too far from now ({now})",
            answer.issued_at
        )));
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(device: &str) -> LicenceToken {
        LicenceToken {
            kind: TOKEN_KIND.into(),
            licence_id: "l1".into(),
            product: "codec-ddp".into(),
            entitlements: vec!["DDP".into(), "DDP-ATMOS".into()],
            device_id: device.into(),
            device_key: "key-of-".to_owned() + device,
            valid: true,
            code: "VALID".into(),
            detail: "valid".into(),
            updates: true,
            issued_at: 1_000,
            use_until: Some(2_000),
            refresh_after: 1_500,
        }
    }

    fn keyring(k: &SigningKey, roles: impl IntoIterator<Item = KeyRole>) -> Keyring {
        let mut kr = Keyring::new(1, 2_000_000_000);
        kr.add(&k.verifying_key(), roles, "online");
        kr
    }

    #[test]
    fn a_token_opens_only_for_its_box_untampered_and_under_the_licence_role() {
        let k = SigningKey::from_bytes(&[3; 32]);
        let kr = keyring(&k, [KeyRole::Checkin, KeyRole::Licence]);
        let env = sign_token(&token("d1"), &k).expect("sign");
        let t = open_token(&kr, &env).expect("opens");
        assert_eq!(t.product, "codec-ddp");
        assert!(t.is_for("d1", "key-of-d1"));
        assert!(!t.is_for("d2", "key-of-d1") && !t.is_for("d1", "key-of-d2"));
        let mut tampered = env.clone();
        let mut t2 = token("d1");
        t2.use_until = None;
        tampered.payload = crate::device::b64(&serde_json::to_vec(&t2).expect("json"));
        assert!(matches!(
            open_token(&kr, &tampered),
            Err(TrustError::BadSignature { .. })
        ));
        // A key without the licence role cannot issue tokens.
        let checkin_only = keyring(&k, [KeyRole::Checkin]);
        assert!(open_token(&checkin_only, &env).is_err());
    }

    fn ask<'a>(product: &'a str, entitlement: Option<&'a str>, now: i64) -> Question<'a> {
        Question {
            device_id: "d1",
            device_key: "key-of-d1",
            product,
            entitlement,
            now,
        }
    }

    #[test]
    fn judgement_follows_box_product_entitlement_state_and_time() {
        let t = token("d1");
        assert!(judge(&t, &ask("codec-ddp", None, 1_999)).valid);
        assert!(judge(&t, &ask("codec-ddp", Some("DDP-ATMOS"), 1_999)).valid);
        assert_eq!(judge(&t, &ask("codec-ddp", None, 2_000)).code, "EXPIRED");
        assert_eq!(
            judge(&t, &ask("codec-ddp", Some("AC4"), 1_999)).code,
            "ENTITLEMENTS_MISSING"
        );
        assert_eq!(
            judge(&t, &ask("drm-l1", None, 1_999)).code,
            "PRODUCT_MISMATCH"
        );
        assert_eq!(
            judge(&token("d2"), &ask("codec-ddp", None, 1_100)).code,
            "DEVICE_MISMATCH"
        );
        let suspended = LicenceToken {
            valid: false,
            code: "SUSPENDED".into(),
            ..t.clone()
        };
        assert_eq!(
            judge(&suspended, &ask("codec-ddp", None, 1_100)).code,
            "SUSPENDED"
        );
        let forever = LicenceToken {
            use_until: None,
            ..t
        };
        assert!(judge(&forever, &ask("codec-ddp", None, i64::MAX)).valid);
    }

    #[test]
    fn the_trusted_clock_never_goes_back() {
        let mut c = TrustedClock::default();
        assert_eq!(c.observe(2_100), 2_100);
        // The box's clock set back an hour: still 2_100, so an expired
        // token stays expired.
        assert_eq!(c.observe(2_100 - 3_600), 2_100);
        assert_eq!(
            judge(&token("d1"), &ask("codec-ddp", None, c.latest)).code,
            "EXPIRED"
        );
    }

    #[test]
    fn a_validation_answer_is_refused_for_another_nonce_or_when_old() {
        let k = SigningKey::from_bytes(&[4; 32]);
        let kr = keyring(&k, [KeyRole::Licence]);
        let a = ValidationAnswer {
            valid: true,
            code: "VALID".into(),
            detail: "ok".into(),
            updates: true,
            licence_id: Some("l1".into()),
            product: Some("codec-ddp".into()),
            nonce: "n-1".into(),
            issued_at: 5_000,
        };
        let env = sign_validation(&a, &k).expect("sign");
        assert_eq!(
            verify_validation(&kr, &env, "n-1", 5_010, 300).expect("ok"),
            a
        );
        assert!(verify_validation(&kr, &env, "n-2", 5_010, 300).is_err());
        assert!(verify_validation(&kr, &env, "n-1", 9_000, 300).is_err());
        let bundles_only = keyring(&k, KeyRole::BUNDLES);
        assert!(verify_validation(&bundles_only, &env, "n-1", 5_010, 300).is_err());
    }

    #[test]
    fn old_check_in_payloads_and_keyrings_still_read() {
        // A keyring naming the licence role reads on a box that knows it,
        // and the role survives a round trip.
        let k = SigningKey::from_bytes(&[5; 32]);
        let kr = keyring(&k, [KeyRole::Licence]);
        let back: Keyring =
            serde_json::from_slice(&serde_json::to_vec(&kr).expect("json")).expect("parse");
        assert!(back.keys[0].roles.contains(&KeyRole::Licence));
    }
}

#[cfg(test)]
mod worked_example {
    //! The worked example of `docs/licence-format.md`, checked.
    use base64::{engine::general_purpose::STANDARD as B64, Engine as _};

    use super::*;
    use crate::keys::public_key_text;

    const PAYLOAD: &str = r#"{"type":"wavecast-licence","licence_id":"01937a52-5f10-7000-8000-00000000d0d0","product":"codec-ddp","entitlements":["atmos","ddp"],"device_id":"01937a52-5f10-7000-8000-0000000000b1","device_key":"/RckOFqgx1tk+3jNYC+h2ZH96/drE8WO1wLqyDXp9hg=","valid":true,"code":"VALID","detail":"the licence is valid","updates":true,"issued_at":1800000000,"use_until":1831622400,"refresh_after":1800086400}"#;

    #[test]
    fn the_format_documents_example_holds() {
        let server = SigningKey::from_bytes(&[7; 32]);
        let device = SigningKey::from_bytes(&[9; 32]);
        assert_eq!(
            public_key_text(&device.verifying_key()),
            "/RckOFqgx1tk+3jNYC+h2ZH96/drE8WO1wLqyDXp9hg="
        );
        let token: LicenceToken = serde_json::from_str(PAYLOAD).expect("token");
        assert_eq!(serde_json::to_string(&token).expect("json"), PAYLOAD);
        assert_eq!(PAYLOAD.len(), 391);
        let env = sign_token(&token, &server).expect("sign");
        assert_eq!(
            env.signatures[0].keyid,
            "fe812c12f3ab4ce6ac5db69ac352f906cb1b11ef43fb33e252ef7ff552263889"
        );
        assert_eq!(
            hex::encode(B64.decode(&env.signatures[0].sig).expect("b64")),
            "52244941157810163962d74332eac65ba0f32a69650f05e53f972a8456d2d2e0\
             aab0ab0002dcbe4c2ebb9b8d9e3c314313891a94c00fa6ea5481fbf2d220b10b"
        );
        let pae = crate::envelope::pae(LICENCE_TYPE, PAYLOAD.as_bytes());
        assert_eq!(pae.len(), 443);
        assert!(pae.starts_with(b"DSSEv1 37 application/vnd.wavecast.licence+json 391 {"));
        let mut kr = Keyring::new(1, 2_000_000_000);
        kr.add(
            &server.verifying_key(),
            [KeyRole::Checkin, KeyRole::Licence],
            "online",
        );
        let opened = open_token(&kr, &env).expect("opens");
        let q = Question {
            device_id: "01937a52-5f10-7000-8000-0000000000b1",
            device_key: "/RckOFqgx1tk+3jNYC+h2ZH96/drE8WO1wLqyDXp9hg=",
            product: "codec-ddp",
            entitlement: Some("atmos"),
            now: 1_800_000_100,
        };
        assert!(judge(&opened, &q).valid);
        assert_eq!(
            judge(
                &opened,
                &Question {
                    now: 1_831_622_400,
                    ..q
                }
            )
            .code,
            "EXPIRED"
        );
    }
}
