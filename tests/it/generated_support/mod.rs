//! Files in the repository that are generated from the code (the CLI reference, man pages,
//! the manifest schema): a test regenerates each one and fails when the committed copy is
//! stale, or rewrites it when asked to.
//!
//! `INSTA_UPDATE=always` (the same switch that accepts new snapshots) or
//! `CITYFORM_UPDATE_DOCS=1` rewrites the files instead of failing.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether this run rewrites generated files instead of failing on them.
pub fn updating() -> bool {
    std::env::var("INSTA_UPDATE").is_ok_and(|value| value == "always")
        || std::env::var("CITYFORM_UPDATE_DOCS").is_ok_and(|value| value == "1")
}

/// Checks that the file at `relative` (from the repository root) holds exactly `generated`,
/// or writes it when [`updating`]. `command` is what regenerates it, for the failure message.
pub fn check_generated(relative: &str, generated: &str, command: &str) {
    let path = repository().join(relative);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == generated {
        return;
    }
    if updating() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, generated).unwrap();
        eprintln!("updated `{relative}`");
        return;
    }
    let diff = similar::TextDiff::from_lines(&committed, generated)
        .unified_diff()
        .context_radius(2)
        .header(&format!("{relative} (committed)"), "(generated)")
        .to_string();
    panic!("`{relative}` is stale; regenerate it with `{command}`\n{diff}");
}

/// Removes the files in `directory` (relative to the repository root) whose names end in
/// `extension` and are not in `keep`, when [`updating`]; otherwise fails naming them.
pub fn check_no_others(directory: &str, extension: &str, keep: &[String], command: &str) {
    let path = repository().join(directory);
    let Ok(entries) = std::fs::read_dir(&path) else {
        return;
    };
    let mut others = Vec::new();
    for entry in entries {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(extension) && !keep.contains(&name) {
            others.push(entry.path());
        }
    }
    if others.is_empty() {
        return;
    }
    if updating() {
        for other in &others {
            std::fs::remove_file(other).unwrap();
        }
        return;
    }
    let names: Vec<String> = others
        .iter()
        .map(|other| display(other.strip_prefix(repository()).unwrap_or(other)))
        .collect();
    panic!(
        "{} no longer generated; remove with `{command}`",
        names.join(", ")
    );
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
