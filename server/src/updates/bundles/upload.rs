//! The bundle upload pipeline.
//!
//! 1. The header arrives first (at most 1 MiB): its keyring and manifest are
//!    verified, and a name/version clash is refused, before a single artifact
//!    byte is accepted.
//! 2. Artifact bytes then flow through a bounded channel to a blocking
//!    thread that hashes each artifact and writes it into the blob store,
//!    stopping at each declared size. Memory stays flat whatever the size.
//!    Artifacts for hawkBit DDI clients are also hashed with SHA-1 and MD5
//!    on the way, which those clients check.
//! 3. Only when every artifact's SHA-256 matched are the bundle rows, the
//!    audit entry and any newer keyring committed, in one transaction.
//!
//! On any refusal every blob this upload created is removed and no row is
//! written: a refused or interrupted upload leaves nothing behind.

use std::sync::Arc;

use actix_web::web;
use bytes::Bytes;
use futures_util::StreamExt;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use uuid::Uuid;
use wavecast_protocol::{
    bundle::{BundleStream, Event, Header},
    envelope::Envelope,
    keyring::{verify_manifest, Keyring},
    manifest::Manifest,
    Sha256Digest, TrustError,
};

use super::rules::{client_of, is_ddi_target, BundleState};
use crate::{
    identity::{
        audit::store::{audited, Entry},
        caller::Caller,
    },
    platform::{
        blobs::{BlobStore, BlobWriter},
        entities::{bundle, bundle_artifact, columns::Stored},
        error::{Error, Result},
    },
    state::AppState,
    updates::trust::store::{self as trust, Anchors},
};

/// How many received chunks may wait for the disk before the network side
/// stops reading (backpressure).
const CHANNEL_DEPTH: usize = 16;

/// What an upload produced.
#[derive(Debug)]
pub enum Outcome {
    /// A new bundle was staged.
    Created(bundle::Model),
    /// The same bundle (same manifest) was already stored.
    Existing(bundle::Model),
}

fn refused(e: TrustError) -> Error {
    Error::from(e)
}

/// Why the upload stopped, with what it must clean up.
struct Failed {
    error: Error,
    new_blobs: Vec<Sha256Digest>,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Self {
            error,
            new_blobs: Vec::new(),
        }
    }
}

/// The size a request declares (`Content-Length`) when it is over `limit`
/// bytes: refused before a byte is read.
pub fn declared_over(req: &actix_web::HttpRequest, limit: u64) -> Option<u64> {
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|len| *len > limit)
}

/// Runs one upload. `sign_on_server` replaces the manifest's signatures with
/// one by the server's online key before verification.
pub async fn upload(
    state: &AppState,
    caller: &Caller,
    mut payload: web::Payload,
    sign_on_server: bool,
) -> Result<Outcome> {
    let limit = state.config.bundles.max_upload_bytes;
    let idle = std::time::Duration::from_secs(state.config.bundles.upload_idle_timeout_secs.max(1));
    let too_large = || {
        Error::TooLarge(format!(
            "the upload exceeds the configured limit of {limit} bytes (bundles.max_upload_bytes)"
        ))
    };
    let anchors = trust::load(&state.db).await?.ok_or_else(|| {
        Error::Conflict(
            "no keyring has been published yet: run `wavecast keys publish` first".into(),
        )
    })?;

    // Phase 1: read and verify the header.
    let mut stream = BundleStream::new();
    let mut received: u64 = 0;
    let (header, rest) = 'header: loop {
        let chunk = match next_chunk(&mut payload, idle).await {
            Some(Ok(c)) => c,
            Some(Err(e)) => return Err(e),
            None if received == 0 => {
                return Err(refused(TrustError::NotABundle(
                    "the upload is empty".into(),
                )))
            }
            None => {
                return Err(refused(stream.finish().err().unwrap_or_else(|| {
                    TrustError::NotABundle("the upload ends inside the header".into())
                })))
            }
        };
        received += chunk.len() as u64;
        if received > limit {
            return Err(too_large());
        }
        let mut offset = 0;
        while offset < chunk.len() {
            let (used, event) = stream.next(&chunk[offset..]).map_err(refused)?;
            offset += used;
            if let Some(Event::Header(h)) = event {
                break 'header (h, chunk.slice(offset..));
            }
        }
    };
    let verified = verify_header(state, &anchors, header, sign_on_server)?;
    if let Some(existing) = same_name_version(state, &verified.manifest).await? {
        if existing.manifest_sha256 == verified.manifest_sha256.to_hex() {
            return Ok(Outcome::Existing(existing));
        }
        return Err(Error::Conflict(format!(
            "{} {} already exists with different content; bump the version",
            existing.name, existing.version
        )));
    }
    if received - rest.len() as u64 + verified.manifest.payload_size() > limit {
        return Err(too_large());
    }

    // Phase 2: stream the artifacts into the blob store on a blocking thread.
    stream.accept(verified.manifest.artifacts.clone());
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(CHANNEL_DEPTH);
    let store = state.blobs.clone();
    let ddi = (verified.manifest.artifacts.iter())
        .map(|a| is_ddi_target(&a.target))
        .collect();
    let worker = tokio::task::spawn_blocking(move || write_artifacts(stream, rx, store, ddi));
    let mut network_error = None;
    let mut chunk = Some(rest);
    loop {
        if let Some(c) = chunk.take() {
            if !c.is_empty() && tx.send(c).await.is_err() {
                break; // The worker stopped early; its error says why.
            }
        }
        match next_chunk(&mut payload, idle).await {
            Some(Ok(c)) => {
                received += c.len() as u64;
                if received > limit {
                    network_error = Some(too_large());
                    break;
                }
                chunk = Some(c);
            }
            Some(Err(e)) => {
                network_error = Some(e);
                break;
            }
            None => break,
        }
    }
    drop(tx);
    let written = worker
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("upload worker failed: {e}")));
    let blobs = match (written, network_error) {
        (Ok(Ok(blobs)), None) => blobs,
        (Ok(Ok(blobs)), Some(error)) => {
            let new_blobs = new_blobs(&blobs);
            return Err(cleanup(state, Failed { error, new_blobs }).await);
        }
        // A network failure explains a truncated stream better than the worker can.
        (Ok(Err(failed)), Some(error)) => {
            return Err(cleanup(state, Failed { error, ..failed }).await)
        }
        (Ok(Err(failed)), None) => return Err(cleanup(state, failed).await),
        (Err(e), _) => return Err(e),
    };

    // Phase 3: record it.
    let new_blobs = new_blobs(&blobs);
    let legacy = blobs.into_iter().map(|b| b.legacy).collect();
    match record(state, caller, verified, legacy).await {
        Ok(model) => Ok(Outcome::Created(model)),
        Err(error) => Err(cleanup(state, Failed { error, new_blobs }).await),
    }
}

/// The next chunk of the upload; a broken or silent connection is an error.
async fn next_chunk(
    payload: &mut web::Payload,
    idle: std::time::Duration,
) -> Option<Result<Bytes, Error>> {
    match tokio::time::timeout(idle, payload.next()).await {
        Ok(Some(Ok(c))) => Some(Ok(c)),
        Ok(Some(Err(e))) => Some(Err(Error::BadRequest(format!("upload interrupted: {e}")))),
        Ok(None) => None,
        Err(_) => Some(Err(Error::BadRequest(format!(
            "upload interrupted: no data for {} s (bundles.upload_idle_timeout_secs)",
            idle.as_secs()
        )))),
    }
}

/// A header that passed every check.
struct Verified {
    manifest: Manifest,
    envelope: Envelope,
    manifest_sha256: Sha256Digest,
    signer: String,
    keyring: Keyring,
    adopt: Option<Envelope>,
}

fn verify_header(
    state: &AppState,
    anchors: &Anchors,
    header: Header,
    sign_on_server: bool,
) -> Result<Verified> {
    let now = state.clock.now().timestamp();
    let (keyring, adopt) = anchors.choose(&header.keyring, now).map_err(refused)?;
    let mut envelope = header.manifest;
    if sign_on_server {
        let key = state.bundle_key.as_ref().ok_or_else(|| {
            Error::Validation(
                "this server holds no bundle signing key (signing.bundle_key_file); sign the \
                 bundle offline with `wavecast bundle build`"
                    .into(),
            )
        })?;
        envelope.signatures.clear();
        envelope.sign(key).map_err(refused)?;
    }
    let (manifest, signer) = verify_manifest(&keyring, &envelope).map_err(refused)?;
    client_of(manifest.artifacts.iter().map(|a| a.target.as_str())).map_err(Error::Validation)?;
    if let Some(a) =
        (manifest.artifacts.iter()).find(|a| a.target == "swupdate" && !a.name.ends_with(".swu"))
    {
        return Err(Error::Validation(format!(
            "artifact {:?} installs with SWUpdate, whose file names end in .swu (SWUpdate skips \
             other files)",
            a.name
        )));
    }
    let manifest_sha256 = Sha256Digest::of(&envelope.payload_bytes().map_err(refused)?);
    Ok(Verified {
        manifest,
        envelope,
        manifest_sha256,
        signer,
        keyring,
        adopt,
    })
}

async fn same_name_version(state: &AppState, m: &Manifest) -> Result<Option<bundle::Model>> {
    Ok(bundle::Entity::find()
        .filter(bundle::Column::Name.eq(&m.name))
        .filter(bundle::Column::Version.eq(m.version.to_string()))
        .one(&state.db)
        .await?)
}

/// One artifact as written: its digest, whether its blob is new, and the
/// SHA-1 and MD5 hawkBit DDI clients check (for their artifacts only).
struct Written {
    sha256: Sha256Digest,
    new: bool,
    legacy: Option<LegacyDigests>,
}

/// Hex SHA-1 and MD5 of an artifact's bytes.
#[derive(Debug, Clone)]
struct LegacyDigests {
    sha1: String,
    md5: String,
}

/// The blocking half: feeds chunks through the bundle reader into blobs,
/// hashing DDI artifacts with SHA-1 and MD5 on the way (`ddi[i]`: artifact
/// `i` is for DDI clients).
fn write_artifacts(
    mut stream: BundleStream,
    mut rx: tokio::sync::mpsc::Receiver<Bytes>,
    store: Arc<dyn BlobStore>,
    ddi: Vec<bool>,
) -> Result<Vec<Written>, Failed> {
    use md5::Digest as _;
    let mut done: Vec<Written> = Vec::new();
    let mut writer: Option<Box<dyn BlobWriter>> = None;
    let mut legacy: Option<(sha1::Sha1, md5::Md5)> = None;
    let io = |e: std::io::Error| Error::Internal(anyhow::Error::new(e).context("blob store"));
    let mut on_event = |_: &mut BundleStream, event: Event<'_>| -> Result<(), Error> {
        match event {
            Event::Data { index, bytes } => {
                let w = match &mut writer {
                    Some(w) => w,
                    None => writer.insert(store.create().map_err(io)?),
                };
                if ddi.get(index).copied().unwrap_or(false) {
                    let (s, m) = legacy.get_or_insert_with(Default::default);
                    s.update(bytes);
                    m.update(bytes);
                }
                w.write(bytes).map_err(io)
            }
            Event::ArtifactDone { index, sha256 } => {
                let w = match writer.take() {
                    Some(w) => w,
                    None => store.create().map_err(io)?, // an empty artifact
                };
                let new = w.commit(&sha256).map_err(io)?;
                let hashers = legacy.take().or_else(|| {
                    // An empty DDI artifact still has digests.
                    ddi.get(index)
                        .copied()
                        .unwrap_or(false)
                        .then(Default::default)
                });
                done.push(Written {
                    sha256,
                    new,
                    legacy: hashers.map(|(s, m)| LegacyDigests {
                        sha1: hex::encode(s.finalize()),
                        md5: hex::encode(m.finalize()),
                    }),
                });
                Ok(())
            }
            Event::Header(_) => Err(refused(TrustError::Malformed("a second header".into()))),
        }
    };
    let result = (|| {
        while let Some(chunk) = rx.blocking_recv() {
            stream.feed::<Error>(&chunk, &mut on_event)?;
        }
        stream.feed::<Error>(&[], &mut on_event)?;
        stream.finish().map_err(refused)
    })();
    match result {
        Ok(()) => Ok(done),
        Err(error) => Err(Failed {
            error,
            new_blobs: new_blobs(&done),
        }),
    }
}

/// The blobs an upload created (not those it shares with earlier bundles).
fn new_blobs(written: &[Written]) -> Vec<Sha256Digest> {
    written.iter().filter(|w| w.new).map(|w| w.sha256).collect()
}

/// Removes the blobs an upload created (unless a bundle references them by
/// now) and returns the error to answer with.
async fn cleanup(state: &AppState, failed: Failed) -> Error {
    for digest in failed.new_blobs {
        let referenced = bundle_artifact::Entity::find()
            .filter(bundle_artifact::Column::Sha256.eq(digest.to_hex()))
            .count(&state.db)
            .await
            .unwrap_or(1);
        if referenced == 0 {
            if let Err(e) = state.blobs.delete(&digest).await {
                tracing::error!(%digest, error = %e, "could not remove the blob of a refused upload");
            }
        }
    }
    failed.error
}

async fn record(
    state: &AppState,
    caller: &Caller,
    v: Verified,
    legacy: Vec<Option<LegacyDigests>>,
) -> Result<bundle::Model> {
    let adopts = v.adopt.is_some();
    let now = state.clock.now();
    let uploader = caller.name.clone();
    let recorded = audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            if let Some(env) = &v.adopt {
                trust::adopt(txn, &v.keyring, env, now).await?;
            }
            let m = &v.manifest;
            let model = bundle::ActiveModel {
                id: Set(Uuid::now_v7()),
                name: Set(m.name.clone()),
                kind: Set(Stored(m.kind)),
                version: Set(m.version.to_string()),
                security_version: Set(i64::try_from(m.security_version)
                    .map_err(|_| Error::Validation("security_version is too large".into()))?),
                state: Set(BundleState::Staged),
                manifest_envelope: Set(
                    serde_json::to_string(&v.envelope).map_err(anyhow::Error::from)?
                ),
                manifest_sha256: Set(v.manifest_sha256.to_hex()),
                keyring_version: Set(v.keyring.version as i64),
                signer_keyid: Set(v.signer.clone()),
                payload_size: Set(m.payload_size() as i64),
                licensed_product: Set(m.licensed_product.clone()),
                uploaded_by: Set(uploader),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(txn)
            .await?;
            for (idx, a) in m.artifacts.iter().enumerate() {
                let digests = legacy.get(idx).cloned().flatten();
                bundle_artifact::ActiveModel {
                    bundle_id: Set(model.id),
                    idx: Set(idx as i32),
                    name: Set(a.name.clone()),
                    size: Set(a.size as i64),
                    sha256: Set(a.sha256.to_hex()),
                    target: Set(a.target.clone()),
                    compression: Set(serde_json::to_value(a.compression)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_else(|| "none".into())),
                    sha1: Set(digests.as_ref().map(|d| d.sha1.clone())),
                    md5: Set(digests.map(|d| d.md5)),
                }
                .insert(txn)
                .await?;
            }
            let entry = Entry::new(
                "bundle.upload",
                "bundle",
                format!("{}@{}", model.name, model.version),
            )
            .details(&Uploaded {
                id: model.id,
                kind: m.kind,
                signer: v.signer.clone(),
                keyring_version: v.keyring.version,
                payload_size: model.payload_size,
            });
            Ok((model, entry))
        })
    })
    .await;
    if adopts {
        state.caches.anchors.invalidate();
    }
    recorded
}

/// What the audit log keeps of an upload.
#[derive(Debug, serde::Serialize)]
struct Uploaded {
    id: Uuid,
    kind: wavecast_protocol::manifest::Kind,
    signer: String,
    keyring_version: u64,
    payload_size: i64,
}
