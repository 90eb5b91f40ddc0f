//! Tidy checks in rust-analyzer's style: every module of the workspace
//! opens with a `//!` line saying what it is for, and every top-level
//! folder of `server/src` has its place in ARCHITECTURE.md's code map (a
//! heading naming `server/src/<folder>/`). A new folder or module without
//! them fails here, so the map stays true.

use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `server/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The first line of `text` that is not blank lacks a `//!` doc.
fn lacks_module_doc(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .is_none_or(|l| !l.trim_start().starts_with("//!"))
}

#[test]
fn every_module_says_what_it_is_for() {
    let root = root();
    let mut files = Vec::new();
    for dir in [
        "server/src",
        "server/tests",
        "agent/src",
        "protocol/src",
        "migrations/src",
        "firmware-samples/src",
        "tests/src",
        "tests/tests",
        "bench/tool/src",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 100,
        "the walk found the sources: {}",
        files.len()
    );
    let missing: Vec<String> = files
        .iter()
        .filter(|f| lacks_module_doc(&std::fs::read_to_string(f).unwrap_or_default()))
        .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "these modules do not open with a `//!` line saying what they are for:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_server_folder_is_in_the_code_map() {
    let root = root();
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut folders: Vec<String> = std::fs::read_dir(root.join("server/src"))
        .expect("server/src")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert!(folders.len() >= 5, "{folders:?}");
    let missing: Vec<&String> = folders
        .iter()
        .filter(|f| {
            let heading = format!("`server/src/{f}/`");
            !map.lines()
                .any(|l| l.starts_with('#') && l.contains(&heading))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md has no code-map heading for these folders of server/src: {missing:?}"
    );
}

#[test]
fn the_check_sees_a_missing_doc() {
    assert!(lacks_module_doc("use std::fmt;\n"));
    assert!(lacks_module_doc("\n// a plain comment\n//! too late\n"));
    assert!(!lacks_module_doc(
        "\n//! What this is for.\nuse std::fmt;\n"
    ));
}
