//! The single-file bundle format and a streaming reader for it.
//!
//! ```text
//! offset 0   8 bytes   magic "WCBNDL" 0x00 0x01 (format 1)
//! offset 8   4 bytes   H: header length, unsigned big-endian
//! offset 12  H bytes   header: JSON {"keyring": Envelope, "manifest": Envelope}
//! then       the artifacts' bytes in manifest order, each exactly its
//!            declared size, with nothing between or after them
//! ```
//!
//! [`BundleStream`] is a pure state machine: feed it bytes as they arrive
//! (from a socket, a file, anything) and it yields the header, then each
//! artifact's bytes, hashing them and stopping at each declared size. It never
//! buffers more than the header, so a bundle of any size streams through in
//! constant memory.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{digest::Sha256Digest, envelope::Envelope, manifest::Artifact, trust::TrustError};

/// The first 8 bytes of every bundle file.
pub const MAGIC: [u8; 8] = *b"WCBNDL\x00\x01";
/// The largest header accepted.
pub const MAX_HEADER: u32 = 1 << 20;

/// The bundle header: the keyring that vouches for the signing key, and the
/// signed manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub keyring: Envelope,
    pub manifest: Envelope,
}

/// The bytes that precede the artifacts in a bundle file.
pub fn encode_header(header: &Header) -> Result<Vec<u8>, TrustError> {
    let json =
        serde_json::to_vec(header).map_err(|e| TrustError::Malformed(format!("header: {e}")))?;
    let len = u32::try_from(json.len())
        .ok()
        .filter(|l| *l <= MAX_HEADER)
        .ok_or_else(|| TrustError::Malformed("header larger than 1 MiB".into()))?;
    let mut out = Vec::with_capacity(12 + json.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&json);
    Ok(out)
}

/// What [`BundleStream::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The header is complete. Verify it, then call
    /// [`BundleStream::accept`] with the verified manifest's artifacts.
    Header(Header),
    /// Bytes of artifact `index`, in order.
    Data { index: usize, bytes: &'a [u8] },
    /// Artifact `index` is complete and its SHA-256 matches.
    ArtifactDone { index: usize, sha256: Sha256Digest },
}

#[derive(Debug)]
enum State {
    Prefix {
        buf: Vec<u8>,
    },
    Header {
        len: usize,
        buf: Vec<u8>,
    },
    AwaitingAccept,
    Artifact {
        index: usize,
        remaining: u64,
        hasher: Sha256,
    },
    Done,
}

/// The streaming bundle reader.
#[derive(Debug)]
pub struct BundleStream {
    state: State,
    artifacts: Vec<Artifact>,
    /// Bytes consumed in total.
    pub position: u64,
}

impl Default for BundleStream {
    fn default() -> Self {
        Self::new()
    }
}

impl BundleStream {
    pub fn new() -> Self {
        Self {
            state: State::Prefix {
                buf: Vec::with_capacity(12),
            },
            artifacts: Vec::new(),
            position: 0,
        }
    }

    /// Supplies the verified manifest's artifacts after [`Event::Header`].
    pub fn accept(&mut self, artifacts: Vec<Artifact>) {
        self.artifacts = artifacts;
        self.state = self.start_artifact(0);
    }

    fn start_artifact(&self, index: usize) -> State {
        match self.artifacts.get(index) {
            Some(a) => State::Artifact {
                index,
                remaining: a.size,
                hasher: Sha256::new(),
            },
            None => State::Done,
        }
    }

    /// Consumes a prefix of `input` and reports what it held. Returns the
    /// number of bytes consumed (possibly 0 only when an event is returned).
    /// Call repeatedly until `input` is used up.
    pub fn next<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Event<'a>>), TrustError> {
        let (used, event) = self.step(input)?;
        self.position += used as u64;
        Ok((used, event))
    }

    fn step<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Event<'a>>), TrustError> {
        match &mut self.state {
            State::Prefix { buf } => {
                let take = (12 - buf.len()).min(input.len());
                buf.extend_from_slice(&input[..take]);
                if buf.len() < 12 {
                    return Ok((take, None));
                }
                if buf[..8] != MAGIC {
                    return Err(TrustError::NotABundle(
                        "the file does not start with the Wavecast bundle magic".into(),
                    ));
                }
                let len = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
                if len == 0 || len > MAX_HEADER {
                    return Err(TrustError::NotABundle(format!(
                        "header length {len} is out of range"
                    )));
                }
                self.state = State::Header {
                    len: len as usize,
                    buf: Vec::with_capacity(len as usize),
                };
                Ok((take, None))
            }
            State::Header { len, buf } => {
                let take = (*len - buf.len()).min(input.len());
                buf.extend_from_slice(&input[..take]);
                if buf.len() < *len {
                    return Ok((take, None));
                }
                let header: Header = serde_json::from_slice(buf).map_err(|e| {
                    TrustError::NotABundle(format!("header is not valid JSON: {e}"))
                })?;
                self.state = State::AwaitingAccept;
                Ok((take, Some(Event::Header(header))))
            }
            State::AwaitingAccept => Err(TrustError::Malformed(
                "bundle header was not verified before reading artifacts".into(),
            )),
            State::Artifact {
                index,
                remaining,
                hasher,
            } => {
                if *remaining == 0 {
                    let index = *index;
                    let actual: Sha256Digest = std::mem::take(hasher).finalize().into();
                    let declared = &self.artifacts[index];
                    if actual != declared.sha256 {
                        return Err(TrustError::HashMismatch {
                            artifact: declared.name.clone(),
                            expected: declared.sha256.to_hex(),
                            actual: actual.to_hex(),
                        });
                    }
                    self.state = self.start_artifact(index + 1);
                    return Ok((
                        0,
                        Some(Event::ArtifactDone {
                            index,
                            sha256: actual,
                        }),
                    ));
                }
                if input.is_empty() {
                    return Ok((0, None));
                }
                let take = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                let bytes = &input[..take];
                hasher.update(bytes);
                *remaining -= take as u64;
                Ok((
                    take,
                    Some(Event::Data {
                        index: *index,
                        bytes,
                    }),
                ))
            }
            State::Done => {
                if input.is_empty() {
                    Ok((0, None))
                } else {
                    Err(TrustError::TrailingData {
                        extra: input.len() as u64,
                    })
                }
            }
        }
    }

    /// Feeds a whole chunk, calling `on_event` for each event.
    pub fn feed<E: From<TrustError>>(
        &mut self,
        mut input: &[u8],
        mut on_event: impl FnMut(&mut Self, Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        loop {
            let (used, event) = self.next(input)?;
            input = &input[used..];
            match event {
                Some(e) => on_event(self, e)?,
                None if input.is_empty() => return Ok(()),
                None => {}
            }
            if input.is_empty() && !self.pending_completion() {
                return Ok(());
            }
        }
    }

    /// Whether an artifact has all its bytes but has not yet been checked.
    fn pending_completion(&self) -> bool {
        matches!(self.state, State::Artifact { remaining: 0, .. })
    }

    /// Whether the whole bundle has been read and verified.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Ends the stream: refuses it if anything declared is missing.
    pub fn finish(mut self) -> Result<(), TrustError> {
        // An artifact whose last byte arrived with the last chunk completes here.
        if self.pending_completion() {
            let (_, event) = self.next(&[])?;
            debug_assert!(matches!(event, Some(Event::ArtifactDone { .. })));
        }
        match self.state {
            State::Done => Ok(()),
            State::Prefix { .. } | State::Header { .. } => Err(TrustError::NotABundle(
                "the file ends inside the header".into(),
            )),
            State::AwaitingAccept => Err(TrustError::Malformed(
                "bundle header was not verified".into(),
            )),
            State::Artifact {
                index, remaining, ..
            } => {
                let a = &self.artifacts[index];
                Err(TrustError::Truncated {
                    artifact: a.name.clone(),
                    declared: a.size,
                    received: a.size - remaining,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{envelope::MANIFEST_TYPE, manifest::Compression};

    fn artifact(name: &str, data: &[u8]) -> Artifact {
        Artifact {
            name: name.into(),
            size: data.len() as u64,
            sha256: Sha256Digest::of(data),
            target: "t".into(),
            compression: Compression::None,
        }
    }

    fn header() -> Header {
        Header {
            keyring: Envelope::new(crate::envelope::KEYRING_TYPE, b"{}"),
            manifest: Envelope::new(MANIFEST_TYPE, b"{}"),
        }
    }

    /// Reads `file` in chunks of `chunk`, returning the artifacts' bytes.
    fn read(file: &[u8], arts: &[Artifact], chunk: usize) -> Result<Vec<Vec<u8>>, TrustError> {
        let mut s = BundleStream::new();
        let mut out = vec![Vec::new(); arts.len()];
        let mut done = Vec::new();
        for piece in file.chunks(chunk) {
            s.feed::<TrustError>(piece, |s, e| {
                match e {
                    Event::Header(h) => {
                        assert_eq!(h, header());
                        s.accept(arts.to_vec());
                    }
                    Event::Data { index, bytes } => out[index].extend_from_slice(bytes),
                    Event::ArtifactDone { index, .. } => done.push(index),
                }
                Ok(())
            })?;
        }
        s.finish()?;
        Ok(out)
    }

    fn build(parts: &[&[u8]]) -> Vec<u8> {
        let mut file = encode_header(&header()).expect("header");
        for p in parts {
            file.extend_from_slice(p);
        }
        file
    }

    #[test]
    fn reads_artifacts_in_any_chunking() {
        let a = b"first artifact".as_slice();
        let b = vec![7u8; 10_000];
        let arts = [artifact("a", a), artifact("b", &b)];
        let file = build(&[a, &b]);
        for chunk in [1, 3, 12, 100, 4096, file.len()] {
            let out = read(&file, &arts, chunk).expect("reads");
            assert_eq!(out, vec![a.to_vec(), b.clone()], "chunk {chunk}");
        }
    }

    #[test]
    fn flipped_byte_is_a_hash_mismatch() {
        let a = b"payload".as_slice();
        let arts = [artifact("a", a)];
        let mut file = build(&[a]);
        let last = file.len() - 1;
        file[last] ^= 1;
        assert!(matches!(
            read(&file, &arts, 5),
            Err(TrustError::HashMismatch { .. })
        ));
    }

    #[test]
    fn short_file_is_truncated_and_long_file_has_trailing_data() {
        let a = b"payload".as_slice();
        let arts = [artifact("a", a)];
        let file = build(&[a]);
        assert_eq!(
            read(&file[..file.len() - 2], &arts, 4),
            Err(TrustError::Truncated {
                artifact: "a".into(),
                declared: 7,
                received: 5
            })
        );
        let mut long = file.clone();
        long.extend_from_slice(b"xx");
        assert_eq!(
            read(&long, &arts, 4),
            Err(TrustError::TrailingData { extra: 2 })
        );
    }

    #[test]
    fn zero_length_artifacts_and_junk_prefix() {
        let arts = [artifact("empty", b""), artifact("b", b"b")];
        let file = build(&[b"", b"b"]);
        assert_eq!(
            read(&file, &arts, 2).expect("reads"),
            vec![vec![], b"b".to_vec()]
        );
        assert!(matches!(
            read(b"not a bundle at all", &arts, 4),
            Err(TrustError::NotABundle(_))
        ));
    }
}
