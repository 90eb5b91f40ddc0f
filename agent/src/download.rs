//! Downloads into the staging area, resumable and verified.
//!
//! An artifact streams into `staging/<sha256>.part` while it is hashed. An
//! interrupted download resumes with `Range` from the bytes already on disk
//! (hashed again first: the hash state is not kept). Reading stops at the
//! declared size; only bytes whose size and SHA-256 match the signed
//! manifest become `staging/<sha256>`. Nothing unverified ever leaves the
//! staging area.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Read, Write},
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};
use wavecast_protocol::{checkin::OfferArtifact, Sha256Digest};

use crate::client::{Client, ClientError};

/// Why a download did not produce a verified file.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The server could not be reached or the connection broke: try again later.
    #[error("download interrupted: {0}")]
    Interrupted(#[from] ClientError),
    /// The bytes are not the signed ones; the partial file is gone.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error("staging area: {0}")]
    Io(#[from] io::Error),
}

/// Where verified and partial copies of `sha` live.
pub fn staged_path(staging: &Path, sha: &Sha256Digest) -> PathBuf {
    staging.join(sha.to_hex())
}

fn part_path(staging: &Path, sha: &Sha256Digest) -> PathBuf {
    staging.join(format!("{}.part", sha.to_hex()))
}

/// Hashes a file's first `len` bytes.
fn hash_prefix(path: &Path, len: u64, hasher: &mut Sha256) -> io::Result<()> {
    let mut f = File::open(path)?.take(len);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
}

/// Copies up to `limit` bytes from `from` into `to` and the hasher, calling
/// `progress` with the running total; `at` is where the copy starts.
pub fn stream(
    from: &mut dyn Read,
    to: &mut dyn Write,
    hasher: &mut Sha256,
    at: u64,
    limit: u64,
    progress: &mut dyn FnMut(u64),
) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = at;
    let mut src = from.take(limit);
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => return Ok(done),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
        hasher.update(&buf[..n]);
        done += n as u64;
        progress(done);
        crate::crash_point_after_bytes(done, at + limit);
    }
}

/// Downloads `art` into `staging` (resuming a partial copy) and verifies it.
/// `progress` gets the bytes on disk so far.
pub fn fetch(
    client: &Client,
    art: &OfferArtifact,
    staging: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<PathBuf, DownloadError> {
    fs::create_dir_all(staging)?;
    let done_path = staged_path(staging, &art.sha256);
    if done_path.is_file() {
        return Ok(done_path);
    }
    let part = part_path(staging, &art.sha256);
    let mut have = fs::metadata(&part).map_or(0, |m| m.len());
    if have > art.size {
        // Longer than the artifact can be: not ours to trust.
        fs::remove_file(&part)?;
        have = 0;
    }
    let mut hasher = Sha256::new();
    hash_prefix(&part, have, &mut hasher).or_else(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    if have < art.size {
        let mut file = OpenOptions::new().create(true).append(true).open(&part)?;
        // Drop whatever a torn write left beyond what was hashed.
        file.set_len(have)?;
        let mut body = client.download(&art.url, have)?;
        let got = stream(
            &mut body,
            &mut file,
            &mut hasher,
            have,
            art.size - have,
            progress,
        )
        .map_err(|e| ClientError::Transport(format!("reading {}: {e}", art.name)))?;
        file.sync_all()?;
        if got < art.size {
            return Err(ClientError::Transport(format!(
                "{} ended after {got} of {} bytes",
                art.name, art.size
            ))
            .into());
        }
        // One more byte means the server sends something longer than signed.
        let mut extra = [0u8; 1];
        if matches!(body.read(&mut extra), Ok(1)) {
            fs::remove_file(&part)?;
            return Err(DownloadError::Refused {
                code: "size-mismatch",
                message: format!("{} is longer than its signed {} bytes", art.name, art.size),
            });
        }
    }
    let digest = Sha256Digest::from(hasher.finalize());
    if digest != art.sha256 {
        fs::remove_file(&part)?;
        return Err(DownloadError::Refused {
            code: "hash-mismatch",
            message: format!(
                "{}: SHA-256 {} is not the signed {}",
                art.name, digest, art.sha256
            ),
        });
    }
    fs::rename(&part, &done_path)?;
    crate::store::sync_dir(staging)?;
    Ok(done_path)
}

/// Removes everything staged but the files named in `keep`.
pub fn clean(staging: &Path, keep: &[Sha256Digest]) -> io::Result<()> {
    let keep: Vec<String> = keep.iter().map(|d| d.to_hex()).collect();
    let Ok(entries) = fs::read_dir(staging) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let stem = name.trim_end_matches(".part");
        if !keep.iter().any(|k| k == stem) {
            let _ = fs::remove_file(e.path());
        }
    }
    Ok(())
}
