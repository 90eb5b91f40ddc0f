//! Signs check-in answers in batches.
//!
//! A fresh Ed25519 signature per answer was the largest cost of a check-in.
//! Boxes whose agents verify batch proofs ([`wavecast_protocol::batch`]) get
//! their answers signed together: one thread takes every answer waiting,
//! signs them as one Merkle tree and hands each its inclusion proof. A batch
//! gathers what arrives within [`LINGER`] of its first answer (up to
//! [`MAX_BATCH`]): a lone check-in waits that long at most, and under load
//! one signature serves many answers.

use std::{
    sync::{mpsc, Arc},
    time::Duration,
};

use ed25519_dalek::SigningKey;
use tokio::sync::oneshot;
use wavecast_protocol::batch::{sign_batch, BatchProof, MAX_BATCH};

/// How long a batch stays open after its first answer arrives. Without
/// it, the signing thread woke for nearly every answer under load (batches
/// of one to three) and signing stayed a large share of a check-in. A
/// millisecond was too long: with 64 connections every request in flight
/// sat in the same batch and the rate halved (BENCHMARKS.md).
const LINGER: Duration = Duration::from_micros(100);

struct Job {
    leaf: Vec<u8>,
    done: oneshot::Sender<BatchProof>,
}

/// A handle on the signing thread; cheap to clone.
#[derive(Clone)]
pub struct BatchSigner {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for BatchSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchSigner").finish_non_exhaustive()
    }
}

impl BatchSigner {
    /// Starts the signing thread; it ends when the last handle is dropped.
    pub fn start(key: Arc<SigningKey>) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("checkin-signer".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(MAX_BATCH);
                while let Ok(first) = rx.recv() {
                    batch.push(first);
                    // Sleep rather than wait on the channel: each answer
                    // arriving would wake this thread otherwise.
                    std::thread::sleep(LINGER);
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    let leaves: Vec<Vec<u8>> = batch
                        .iter_mut()
                        .map(|j| std::mem::take(&mut j.leaf))
                        .collect();
                    let proofs = sign_batch(&key, &leaves);
                    for (job, proof) in batch.drain(..).zip(proofs) {
                        // The check-in may have gone (client disconnected).
                        let _ = job.done.send(proof);
                    }
                }
            })?;
        Ok(Self { jobs })
    }

    /// Signs `leaf` (an answer's [`wavecast_protocol::checkin::answer_leaf`])
    /// in the next batch.
    pub async fn sign(&self, leaf: Vec<u8>) -> anyhow::Result<BatchProof> {
        let (done, proof) = oneshot::channel();
        self.jobs
            .send(Job { leaf, done })
            .map_err(|_| anyhow::anyhow!("the check-in signing thread has stopped"))?;
        proof
            .await
            .map_err(|_| anyhow::anyhow!("the check-in signing thread dropped an answer"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wavecast_protocol::batch::verify_batch;

    #[tokio::test]
    async fn concurrent_answers_each_verify() {
        let key = Arc::new(SigningKey::from_bytes(&[5; 32]));
        let signer = BatchSigner::start(key.clone()).expect("thread");
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let s = signer.clone();
                tokio::spawn(async move {
                    let leaf = format!("answer {i}").into_bytes();
                    (leaf.clone(), s.sign(leaf).await.expect("signed"))
                })
            })
            .collect();
        for t in tasks {
            let (leaf, proof) = t.await.expect("task");
            verify_batch(&key.verifying_key(), &leaf, &proof).expect("verifies");
        }
    }
}
