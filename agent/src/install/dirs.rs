//! Directory bundles (codec packs, DRM modules, apps): each artifact's
//! target names a directory under the configured root, which is a symbolic
//! link to the installed version:
//!
//! ```text
//! root/codecs -> .wavecast/codecs/2.1.0
//! root/.wavecast/codecs/2.0.0   (the previous one, kept for rollback)
//! root/.wavecast/codecs/2.1.0
//! ```
//!
//! A new version is unpacked beside the current one (`*.tmp`, renamed when
//! whole), then the link is replaced with `rename`, which is atomic: a
//! reader sees the old tree or the new one, never a mix. Installing again
//! after a crash is safe: a finished version is not unpacked twice.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use wavecast_protocol::manifest::Manifest;

const VERSIONS: &str = ".wavecast";

/// What a switch replaced, to undo it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switched {
    pub target: String,
    /// The link's previous destination (relative to root), if there was one.
    pub previous: Option<PathBuf>,
}

fn check_target(t: &str) -> Result<(), String> {
    if t.is_empty() || t.starts_with('.') || t.contains(['/', '\\', '\0']) || t.len() > 64 {
        return Err(format!(
            "{t:?} is not a directory name this agent installs into"
        ));
    }
    Ok(())
}

fn is_tar(name: &str) -> bool {
    [".tar", ".tar.gz", ".tgz"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// Unpacks every artifact of `manifest` beside the current version and
/// switches the links. Returns what was switched, for [`undo`].
pub fn install(
    root: &Path,
    manifest: &Manifest,
    staged: &dyn Fn(&str) -> Option<PathBuf>,
) -> Result<Vec<Switched>, String> {
    let version = manifest.version.to_string();
    let mut switched = Vec::new();
    for art in &manifest.artifacts {
        check_target(&art.target)?;
        let versions = root.join(VERSIONS).join(&art.target);
        fs::create_dir_all(&versions).map_err(|e| format!("{}: {e}", versions.display()))?;
        let rel = Path::new(VERSIONS).join(&art.target).join(&version);
        let link = root.join(&art.target);
        let previous = fs::read_link(&link).ok();
        if previous.as_deref() == Some(rel.as_path()) {
            // Switched before a crash: nothing left to do for this one.
            switched.push(Switched {
                target: art.target.clone(),
                previous: None,
            });
            continue;
        }
        let dest = root.join(&rel);
        if !dest.is_dir() {
            let tmp = versions.join(format!("{version}.tmp"));
            let _ = fs::remove_dir_all(&tmp);
            fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
            let src = staged(&art.name).ok_or_else(|| format!("{} is not staged", art.name))?;
            unpack(&src, art, &tmp).map_err(|e| format!("unpacking {}: {e}", art.name))?;
            fs::rename(&tmp, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
            crate::store::sync_dir(&versions).map_err(|e| e.to_string())?;
        }
        let previous = adopt_factory_dir(root, &art.target)?.or(previous);
        point(root, &art.target, &rel).map_err(|e| format!("switching {}: {e}", art.target))?;
        switched.push(Switched {
            target: art.target.clone(),
            previous,
        });
    }
    Ok(switched)
}

/// A target that is still a plain directory (as the box shipped) moves
/// under the versions directory, so it can be switched back to.
fn adopt_factory_dir(root: &Path, target: &str) -> Result<Option<PathBuf>, String> {
    let link = root.join(target);
    match fs::symlink_metadata(&link) {
        Ok(m) if m.is_dir() => {
            let rel = Path::new(VERSIONS).join(target).join("factory");
            fs::rename(&link, root.join(&rel)).map_err(|e| format!("{}: {e}", link.display()))?;
            Ok(Some(rel))
        }
        _ => Ok(None),
    }
}

fn unpack(src: &Path, art: &wavecast_protocol::manifest::Artifact, into: &Path) -> io::Result<()> {
    let mut input = super::open_artifact(src, art.compression)?;
    let name = art.name.trim_end_matches(".gz");
    if is_tar(&art.name) || is_tar(name) {
        let mut archive = tar::Archive::new(input);
        archive.set_preserve_permissions(true);
        archive.set_overwrite(true);
        // `unpack_in` refuses entries that would land outside `into`.
        for entry in archive.entries()? {
            let mut entry = entry?;
            if !entry.unpack_in(into)? {
                return Err(io::Error::other(format!(
                    "the archive holds a path outside its directory: {}",
                    entry.path()?.display()
                )));
            }
        }
    } else {
        let file_name = Path::new(name)
            .file_name()
            .ok_or_else(|| io::Error::other("artifact without a file name"))?;
        let mut out = fs::File::create(into.join(file_name))?;
        io::copy(&mut input, &mut out)?;
        out.sync_all()?;
    }
    Ok(())
}

/// Points `root/target` at `rel` atomically.
fn point(root: &Path, target: &str, rel: &Path) -> io::Result<()> {
    let tmp = root.join(format!(".{target}.new"));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(rel, &tmp)?;
    fs::rename(&tmp, root.join(target))?;
    crate::store::sync_dir(root)
}

/// Switches back what [`install`] switched.
pub fn undo(root: &Path, switched: &[Switched]) -> Result<(), String> {
    for s in switched {
        match &s.previous {
            Some(prev) => point(root, &s.target, prev),
            None => fs::remove_file(root.join(&s.target)),
        }
        .map_err(|e| format!("switching {} back: {e}", s.target))?;
    }
    Ok(())
}

/// Removes versions that are neither current nor `keep` (the previous one).
pub fn prune(root: &Path, target: &str, keep: &[PathBuf]) {
    let versions = root.join(VERSIONS).join(target);
    let current = fs::read_link(root.join(target)).ok();
    let Ok(entries) = fs::read_dir(&versions) else {
        return;
    };
    for e in entries.flatten() {
        let rel = Path::new(VERSIONS).join(target).join(e.file_name());
        if Some(&rel) != current.as_ref() && !keep.contains(&rel) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use wavecast_protocol::{
        manifest::{Artifact, Compression},
        Sha256Digest,
    };

    use super::*;

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).expect("append");
        }
        b.into_inner().expect("tar")
    }

    fn manifest(version: &str, data: &[u8]) -> Manifest {
        let mut m = crate::testutil::manifest();
        m.version = version.parse().expect("v");
        m.artifacts = vec![Artifact {
            name: "codecs.tar".into(),
            size: data.len() as u64,
            sha256: Sha256Digest::of(data),
            target: "codecs".into(),
            compression: Compression::None,
        }];
        m
    }

    #[test]
    fn installs_beside_switches_and_undoes() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path().join("stb");
        fs::create_dir_all(root.join("codecs")).expect("factory dir");
        fs::write(root.join("codecs/h264.so"), b"factory").expect("w");
        let staged = dir.path().join("staged");
        let data = tar_of(&[("h264.so", b"v2"), ("hevc.so", b"v2")]);
        fs::write(&staged, &data).expect("w");
        let get = |_: &str| Some(staged.clone());
        let switched = install(&root, &manifest("2.0.0", &data), &get).expect("install");
        assert_eq!(fs::read(root.join("codecs/hevc.so")).expect("r"), b"v2");
        // Installing again (after a crash) changes nothing.
        install(&root, &manifest("2.0.0", &data), &get).expect("again");
        assert_eq!(fs::read(root.join("codecs/h264.so")).expect("r"), b"v2");
        undo(&root, &switched).expect("undo");
        assert_eq!(
            fs::read(root.join("codecs/h264.so")).expect("r"),
            b"factory"
        );
        assert!(!root.join("codecs/hevc.so").exists());
    }

    #[test]
    fn archives_may_not_escape_their_directory() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path().join("stb");
        let staged = dir.path().join("staged");
        // tar::Builder refuses `..` itself, so write the header by hand.
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().expect("gnu").name[..9].copy_from_slice(b"../evil.s");
        h.set_size(1);
        h.set_mode(0o644);
        h.set_cksum();
        let mut data = h.as_bytes().to_vec();
        data.extend_from_slice(b"x");
        data.resize(data.len() + 511 + 1024, 0);
        fs::write(&staged, &data).expect("w");
        let get = |_: &str| Some(staged.clone());
        assert!(install(&root, &manifest("3.0.0", &data), &get).is_err());
        assert!(!dir.path().join("evil.s").exists());
        assert!(!root.join("codecs").exists(), "nothing switched");
    }

    #[test]
    fn targets_are_plain_names() {
        for bad in ["", "..", ".wavecast", "a/b", "../x"] {
            assert!(check_target(bad).is_err(), "{bad}");
        }
        check_target("codecs").expect("fine");
    }
}
