//! One signature for many check-in answers.
//!
//! Every check-in answer must be signed afresh over the box's own nonce, and
//! an Ed25519 signature costs more than everything else the server does for
//! a "nothing new" answer. So, as Roughtime does for its time answers, the
//! server may sign answers in batches: the answers waiting at one moment
//! become the leaves of an RFC 6962 Merkle tree (SHA-256, leaves and nodes
//! hashed with distinct prefixes), one signature covers the tree's root and
//! size, and each box gets its answer with the inclusion proof leading from
//! it to that root. A box checks the proof and the signature; what the
//! signature vouches for is exactly what a direct signature would: this
//! payload, of this type, by this key.
//!
//! The leaf is the DSSE pre-authentication encoding of the answer
//! ([`crate::envelope::pae`]), so a leaf can never be taken for another
//! payload type; the signed statement is
//! `PAE(BATCH_TYPE, root ‖ size as 8 bytes big-endian)`.
//!
//! The tree and its proofs come from the `ct-merkle` crate.

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use ct_merkle::{mem_backed_tree::MemoryBackedTree, InclusionProof, RootHash};
use ed25519_dalek::{Signature, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{envelope::pae, keys::key_id, trust::TrustError};

/// The payload type of the statement signed for a batch.
pub const BATCH_TYPE: &str = "application/vnd.wavecast.checkin-batch";

/// The most answers one batch signature covers (proofs stay ≤ 10 hashes).
pub const MAX_BATCH: usize = 1024;

/// How one answer proves it belongs to a signed batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchProof {
    /// The key that signed the batch.
    pub keyid: String,
    /// Base64 of the Ed25519 signature over the batch statement.
    pub sig: String,
    /// Base64 of the batch's Merkle tree hash (32 bytes).
    pub root: String,
    /// Answers in the batch.
    pub size: u64,
    /// This answer's place among them.
    pub index: u64,
    /// Base64 of the sibling hashes from this answer up to the root, 32
    /// bytes each (empty for a batch of one).
    pub path: String,
}

fn statement(root: &[u8], size: u64) -> Vec<u8> {
    let mut body = Vec::with_capacity(root.len() + 8);
    body.extend_from_slice(root);
    body.extend_from_slice(&size.to_be_bytes());
    pae(BATCH_TYPE, &body)
}

/// Signs `leaves` (at most [`MAX_BATCH`]) with one signature; the proofs
/// come back in the leaves' order. An empty batch gives no proofs.
pub fn sign_batch(key: &SigningKey, leaves: &[Vec<u8>]) -> Vec<BatchProof> {
    if leaves.is_empty() {
        return Vec::new();
    }
    let mut tree = MemoryBackedTree::<Sha256, &[u8]>::new();
    for leaf in leaves {
        tree.push(leaf.as_slice());
    }
    let root = tree.root();
    let size = leaves.len() as u64;
    let sig = B64.encode(crate::keys::sign(key, &statement(root.as_bytes(), size)).to_bytes());
    let keyid = key_id(&key.verifying_key());
    let root_b64 = B64.encode(root.as_bytes());
    (0..leaves.len())
        .map(|i| BatchProof {
            keyid: keyid.clone(),
            sig: sig.clone(),
            root: root_b64.clone(),
            size,
            index: i as u64,
            path: B64.encode(tree.prove_inclusion(i).as_bytes()),
        })
        .collect()
}

/// Checks that `leaf` is in a batch signed by `key`.
pub fn verify_batch(key: &VerifyingKey, leaf: &[u8], proof: &BatchProof) -> Result<(), TrustError> {
    let bad = || TrustError::BadSignature { keyid: key_id(key) };
    if proof.size == 0 || proof.size > MAX_BATCH as u64 || proof.index >= proof.size {
        return Err(TrustError::Malformed(format!(
            "batch proof for answer {} of {} is out of range",
            proof.index, proof.size
        )));
    }
    let path = B64
        .decode(&proof.path)
        .map_err(|e| TrustError::Malformed(format!("batch proof path is not base64: {e}")))?;
    let path = InclusionProof::<Sha256>::try_from_bytes(path)
        .map_err(|e| TrustError::Malformed(format!("batch proof path: {e}")))?;
    let sig: [u8; 64] = B64
        .decode(&proof.sig)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    let root: [u8; 32] = B64
        .decode(&proof.root)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| TrustError::Malformed("batch root is not 32 bytes of base64".into()))?;
    // The signature vouches for the root and size; the path ties this leaf
    // to that root.
    key.verify(&statement(&root, proof.size), &Signature::from_bytes(&sig))
        .map_err(|_| bad())?;
    RootHash::<Sha256>::new(root.into(), proof.size)
        .verify_inclusion(&leaf, proof.index, &path)
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| pae("t", format!("answer {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn every_answer_of_every_batch_size_verifies() {
        let key = SigningKey::from_bytes(&[3; 32]);
        for n in [1, 2, 3, 5, 8, 13, 64, 100] {
            let l = leaves(n);
            let proofs = sign_batch(&key, &l);
            assert_eq!(proofs.len(), n);
            for (leaf, proof) in l.iter().zip(&proofs) {
                verify_batch(&key.verifying_key(), leaf, proof)
                    .unwrap_or_else(|e| panic!("{n}: {e}"));
            }
        }
    }

    #[test]
    fn another_leaf_index_root_size_or_key_is_refused() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let l = leaves(7);
        let proofs = sign_batch(&key, &l);
        let vk = key.verifying_key();
        // Another answer of the same batch under this proof.
        assert!(verify_batch(&vk, &l[1], &proofs[2]).is_err());
        // An answer not in the batch at all.
        assert!(verify_batch(&vk, b"forged", &proofs[2]).is_err());
        // Moved to another index, or a batch claimed smaller or larger.
        for edit in [
            BatchProof {
                index: 3,
                ..proofs[2].clone()
            },
            BatchProof {
                size: 6,
                ..proofs[2].clone()
            },
            BatchProof {
                size: 8,
                ..proofs[2].clone()
            },
            BatchProof {
                root: proofs[0].root.replace('A', "B"),
                ..proofs[2].clone()
            },
            BatchProof {
                path: String::new(),
                ..proofs[2].clone()
            },
            BatchProof {
                index: 9,
                ..proofs[2].clone()
            },
        ] {
            assert!(verify_batch(&vk, &l[2], &edit).is_err(), "{edit:?}");
        }
        // Another key.
        let other = SigningKey::from_bytes(&[4; 32]).verifying_key();
        assert!(matches!(
            verify_batch(&other, &l[2], &proofs[2]),
            Err(TrustError::BadSignature { .. })
        ));
    }

    #[test]
    fn a_node_cannot_pass_for_a_leaf() {
        // With leaves and nodes hashed alike, the two children of a node
        // could be presented as one leaf of a smaller tree.
        let key = SigningKey::from_bytes(&[3; 32]);
        let l = leaves(2);
        let proofs = sign_batch(&key, &l);
        use sha2::Digest;
        let h = |b: &[u8]| Sha256::new_with_prefix([0u8]).chain_update(b).finalize();
        let mut joined = h(&l[0]).to_vec();
        joined.extend_from_slice(&h(&l[1]));
        let as_one = BatchProof {
            size: 1,
            index: 0,
            path: String::new(),
            ..proofs[0].clone()
        };
        assert!(verify_batch(&key.verifying_key(), &joined, &as_one).is_err());
    }

    #[test]
    fn an_empty_batch_signs_nothing() {
        assert!(sign_batch(&SigningKey::from_bytes(&[3; 32]), &[]).is_empty());
    }
}
#[cfg(test)]
mod worked_example {
    //! The worked example of `docs/bundle-format.md` §7, checked.
    use sha2::Digest as _;

    use super::*;

    fn sha(prefix: u8, parts: &[&[u8]]) -> String {
        let mut h = Sha256::new();
        h.update([prefix]);
        for p in parts {
            h.update(p);
        }
        hex::encode(h.finalize())
    }

    #[test]
    fn the_format_documents_example_holds() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let leaves: Vec<Vec<u8>> = ["box-a", "box-b", "box-c"]
            .iter()
            .zip(1800..)
            .map(|(d, next)| {
                let payload = format!(
                    "{{\"device_id\":\"{d}\",\"nonce\":\"nonce-of-{d}-0001\",\"issued_at\":1800000000,\"offers\":[],\"next_checkin_secs\":{next}}}"
                );
                pae(crate::envelope::CHECKIN_TYPE, payload.as_bytes())
            })
            .collect();
        let hashes: Vec<String> = leaves.iter().map(|l| sha(0, &[l])).collect();
        assert_eq!(
            hashes[0],
            "003ab99460e0ba5cb3520976fe560b4b68eef171c5a6f6480440fc2f6f89d028"
        );
        assert_eq!(
            hashes[1],
            "d4128237590e1bb5645f3e8b127a6ae225635bd918da011cd4fa9c5c5ac293c6"
        );
        assert_eq!(
            hashes[2],
            "6bc9e7e232534ff1dad3e208fd4ae2912b4a591f03d2ec731b28de834b67b2e9"
        );
        let raw = |h: &str| hex::decode(h).expect("hex");
        let node01 = sha(1, &[&raw(&hashes[0]), &raw(&hashes[1])]);
        assert_eq!(
            node01,
            "63a6a3e6981df817e735633d575939716415f0de2e1cc3009a1e466aa2a75dd4"
        );
        let root = sha(1, &[&raw(&node01), &raw(&hashes[2])]);
        assert_eq!(
            root,
            "dd964dc0635643362574c30ad7ec5db297c4a1e22495a8380dda1914e0b65a1c"
        );

        let proof = &sign_batch(&key, &leaves)[0];
        assert_eq!(
            proof.keyid,
            "fe812c12f3ab4ce6ac5db69ac352f906cb1b11ef43fb33e252ef7ff552263889"
        );
        assert_eq!(hex::encode(B64.decode(&proof.root).expect("b64")), root);
        assert_eq!(
            hex::encode(B64.decode(&proof.path).expect("b64")),
            format!("{}{}", hashes[1], hashes[2]),
            "bottom-up: the sibling leaf, then the right subtree"
        );
        assert_eq!(
            hex::encode(statement(&raw(&root), 3)),
            "445353457631203338206170706c69636174696f6e2f766e642e77617665636173742e636865636b696e2d626174636820343020dd964dc0635643362574c30ad7ec5db297c4a1e22495a8380dda1914e0b65a1c0000000000000003"
        );
        assert_eq!(
            hex::encode(B64.decode(&proof.sig).expect("b64")),
            "86dc860283d47945cb971cd5e94cf319f6667df6acc1adafecbd4d3b7fc7fcb1dd68dc192978b30aee7833af3450b233dec67e9ba1bf9d441cfd83c34695e303"
        );
        verify_batch(&key.verifying_key(), &leaves[0], proof).expect("verifies");
    }
}
