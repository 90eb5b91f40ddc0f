//! Rootfs-like firmware images.
//!
//! ```text
//! block 0        superblock: "WCROOTFS", model, version, file count
//! blocks 1..n    file table: path, first block, size (64 bytes an entry)
//! then           each file's contents, starting on a 4 KiB block boundary
//! ```
//! File contents mix incompressible runs (machine code) with text-like runs,
//! as real root filesystems do.

use std::{
    io::{self, BufWriter, Write},
    path::Path,
};

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

const BLOCK: u64 = 4096;
const ENTRY: usize = 64;

fn rng_for(seed: &str) -> ChaCha8Rng {
    ChaCha8Rng::from_seed(Sha256::digest(seed.as_bytes()).into())
}

/// Deterministic file contents for `seed`.
pub fn file_bytes(seed: &str, size: usize) -> Vec<u8> {
    let mut rng = rng_for(seed);
    let mut out = vec![0u8; size];
    let words: &[&[u8]] = &[
        b"config ",
        b"enable ",
        b"/usr/lib/",
        b"decoder ",
        b"0x00000000 ",
        b"\n",
    ];
    let mut i = 0;
    while i < size {
        let run = rng.gen_range(256..8192).min(size - i);
        if rng.gen_bool(0.6) {
            rng.fill_bytes(&mut out[i..i + run]);
        } else {
            let mut j = i;
            while j < i + run {
                let w = words[rng.gen_range(0..words.len())];
                let n = w.len().min(i + run - j);
                out[j..j + n].copy_from_slice(&w[..n]);
                j += n;
            }
        }
        i += run;
    }
    out
}

/// A file in an image: its path, size, and the release that last changed it.
#[derive(Debug, Clone)]
pub struct FileSpec {
    pub path: String,
    pub size: u64,
    pub changed_in: u32,
}

/// The file list of a model's image of `total` bytes. Release `release`
/// changes about one file in thirty (the application and a few libraries).
fn files(model: &str, release: u32, total: u64) -> Vec<FileSpec> {
    let mut rng = rng_for(&format!("layout/{model}"));
    let dirs = [
        "bin",
        "sbin",
        "lib",
        "usr/lib",
        "usr/share/fonts",
        "etc",
        "opt/stb-app",
    ];
    let mut out = Vec::new();
    let mut used = 0u64;
    let mut n = 0u32;
    while used < total {
        let dir = dirs[rng.gen_range(0..dirs.len())];
        let size = rng.gen_range(4_000u64..600_000).min(total - used).max(1);
        let changed_in = if release > 0 && n % 30 == 7 {
            release
        } else {
            0
        };
        out.push(FileSpec {
            path: format!("/{dir}/file{n:04}"),
            size,
            changed_in,
        });
        used += size.div_ceil(BLOCK) * BLOCK;
        n += 1;
    }
    out.push(FileSpec {
        path: "/etc/version".into(),
        size: 64,
        changed_in: release,
    });
    out
}

/// Writes the image of `model` at `version` (release number `release`).
pub fn build_image(
    path: &Path,
    model: &str,
    version: &str,
    release: u32,
    total: u64,
) -> io::Result<()> {
    let files = files(model, release, total);
    let table_blocks = (files.len() * ENTRY).div_ceil(BLOCK as usize) as u64;
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut superblock = vec![0u8; BLOCK as usize];
    let head = format!("WCROOTFS\n{model}\n{version}\n{}\n", files.len());
    superblock[..head.len()].copy_from_slice(head.as_bytes());
    w.write_all(&superblock)?;
    let mut table = vec![0u8; (table_blocks * BLOCK) as usize];
    let mut next_block = 1 + table_blocks;
    for (i, f) in files.iter().enumerate() {
        let entry = &mut table[i * ENTRY..(i + 1) * ENTRY];
        let name = f.path.as_bytes();
        entry[..name.len().min(40)].copy_from_slice(&name[..name.len().min(40)]);
        entry[40..48].copy_from_slice(&next_block.to_be_bytes());
        entry[48..56].copy_from_slice(&f.size.to_be_bytes());
        next_block += f.size.div_ceil(BLOCK);
    }
    w.write_all(&table)?;
    for f in &files {
        let mut data = if f.path == "/etc/version" {
            let mut v = format!("{model} {version}\n").into_bytes();
            v.resize(f.size as usize, b' ');
            v
        } else {
            file_bytes(
                &format!("{model}{}@{}", f.path, f.changed_in),
                f.size as usize,
            )
        };
        data.resize((f.size.div_ceil(BLOCK) * BLOCK) as usize, 0);
        w.write_all(&data)?;
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()
}
