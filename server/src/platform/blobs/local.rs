//! Blobs on the local filesystem: `DIR/sha256/ab/abcdef…` for stored blobs,
//! `DIR/tmp/` for writes in progress. A write goes to a temp file which is
//! fsynced and renamed into place, so a crash never leaves a partial blob
//! under a digest name.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    ops::Range,
    path::{Path, PathBuf},
};

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;
use wavecast_protocol::Sha256Digest;

use super::{BlobStore, BlobWriter, ByteStream};

/// A blob store in a local directory.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    /// Opens (creating) the store at `root`; removes leftovers of writes that
    /// a crash interrupted.
    pub fn open(root: &Path) -> io::Result<Self> {
        let tmp = root.join("tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        std::fs::create_dir_all(root.join("sha256"))?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    fn path(&self, digest: &Sha256Digest) -> PathBuf {
        let hex = digest.to_hex();
        self.root.join("sha256").join(&hex[..2]).join(hex)
    }
}

struct LocalWriter {
    file: BufWriter<tempfile::NamedTempFile>,
    dest_root: PathBuf,
}

impl BlobWriter for LocalWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data)
    }

    fn commit(self: Box<Self>, digest: &Sha256Digest) -> io::Result<bool> {
        let hex = digest.to_hex();
        let dir = self.dest_root.join("sha256").join(&hex[..2]);
        let dest = dir.join(&hex);
        let tmp = self
            .file
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        if dest.exists() {
            // Same digest, same bytes: keep the stored one.
            return Ok(false);
        }
        tmp.as_file().sync_all()?;
        std::fs::create_dir_all(&dir)?;
        tmp.persist(&dest).map_err(|e| e.error)?;
        File::open(&dir)?.sync_all()?;
        Ok(true)
    }
}

#[async_trait::async_trait]
impl BlobStore for LocalBlobStore {
    fn create(&self) -> io::Result<Box<dyn BlobWriter>> {
        let tmp = tempfile::Builder::new()
            .prefix("upload-")
            .tempfile_in(self.root.join("tmp"))?;
        Ok(Box::new(LocalWriter {
            file: BufWriter::with_capacity(1 << 20, tmp),
            dest_root: self.root.clone(),
        }))
    }

    async fn size(&self, digest: &Sha256Digest) -> io::Result<Option<u64>> {
        match tokio::fs::metadata(self.path(digest)).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn read(&self, digest: &Sha256Digest, range: Range<u64>) -> io::Result<ByteStream> {
        let mut file = tokio::fs::File::open(self.path(digest)).await?;
        file.seek(io::SeekFrom::Start(range.start)).await?;
        let limited = file.take(range.end.saturating_sub(range.start));
        Ok(Box::pin(ReaderStream::with_capacity(limited, 1024 * 1024)))
    }

    async fn delete(&self, digest: &Sha256Digest) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(digest)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn count(&self) -> io::Result<(u64, u64)> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let mut blobs = 0;
            for shard in std::fs::read_dir(root.join("sha256"))? {
                blobs += std::fs::read_dir(shard?.path())?.count() as u64;
            }
            let tmp = std::fs::read_dir(root.join("tmp"))?.count() as u64;
            Ok((blobs, tmp))
        })
        .await
        .map_err(io::Error::other)?
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    async fn read_all(store: &LocalBlobStore, d: &Sha256Digest, r: Range<u64>) -> Vec<u8> {
        let mut s = store.read(d, r).await.expect("read");
        let mut out = Vec::new();
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk.expect("chunk"));
        }
        out
    }

    #[tokio::test]
    async fn writes_reads_ranges_and_dedupes() {
        let dir = tempfile::tempdir().expect("dir");
        let store = LocalBlobStore::open(dir.path()).expect("open");
        let data = b"hello blob store".to_vec();
        let digest = Sha256Digest::of(&data);
        let mut w = store.create().expect("create");
        w.write(&data[..5]).expect("write");
        w.write(&data[5..]).expect("write");
        assert!(w.commit(&digest).expect("commit"), "new blob");
        assert_eq!(
            store.size(&digest).await.expect("size"),
            Some(data.len() as u64)
        );
        assert_eq!(read_all(&store, &digest, 6..10).await, b"blob");

        let mut again = store.create().expect("create");
        again.write(&data).expect("write");
        assert!(!again.commit(&digest).expect("commit"), "already stored");
        assert_eq!(store.count().await.expect("count"), (1, 0));
    }

    #[tokio::test]
    async fn dropped_writer_leaves_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let store = LocalBlobStore::open(dir.path()).expect("open");
        let mut w = store.create().expect("create");
        w.write(b"partial").expect("write");
        assert_eq!(store.count().await.expect("count"), (0, 1));
        drop(w);
        assert_eq!(store.count().await.expect("count"), (0, 0));
    }
}
