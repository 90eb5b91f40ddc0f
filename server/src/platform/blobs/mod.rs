//! Content-addressed blob storage for artifacts: blobs are named by their
//! SHA-256, written once through a [`BlobWriter`] and read by byte range.
//!
//! Writers are synchronous and run on a blocking thread beside the upload
//! (the upload pipeline hashes and writes there so the network side never
//! waits on the disk). Reads are streams, so an object store behind a CDN
//! fits the same interface: its writer would drive a multipart upload from
//! the blocking thread, its reads would be ranged GETs.

mod local;

use std::{fmt::Debug, io, ops::Range, pin::Pin};

use bytes::Bytes;
use futures_util::Stream;
pub use local::LocalBlobStore;
use wavecast_protocol::Sha256Digest;

/// A stream of a blob's bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// A blob being written. Dropping it without `commit` discards it.
pub trait BlobWriter: Send {
    fn write(&mut self, data: &[u8]) -> io::Result<()>;
    /// Makes the blob durable under `digest`, which the caller computed over
    /// exactly the bytes written. Returns `true` when the blob is new, `false`
    /// when an identical blob was already stored.
    fn commit(self: Box<Self>, digest: &Sha256Digest) -> io::Result<bool>;
}

/// Where blobs live.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + Debug {
    /// Starts a new blob.
    fn create(&self) -> io::Result<Box<dyn BlobWriter>>;
    /// The size of a stored blob, or `None`.
    async fn size(&self, digest: &Sha256Digest) -> io::Result<Option<u64>>;
    /// Streams `range` of a stored blob.
    async fn read(&self, digest: &Sha256Digest, range: Range<u64>) -> io::Result<ByteStream>;
    /// Removes a blob; removing a missing blob is not an error.
    async fn delete(&self, digest: &Sha256Digest) -> io::Result<()>;
    /// How many blobs and unfinished writes are stored (for tests and metrics).
    async fn count(&self) -> io::Result<(u64, u64)>;
}
