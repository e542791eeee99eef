//! The corpus of broken local states: one directory per case under
//! `tests/bad-input/state/`, holding the files to put beside each other (`state.json`,
//! which may be a directory, and `state.json.journal`) and `error.expected`, the error message
//! cityform must give, with `[DIR]` standing for the directory that holds the state.
//!
//! Other test binaries reuse it with
//! `#[path = "bad-input/state/corpus.rs"] mod state_corpus;`.
//!
//! To add a case, make its directory and files, run
//! `CITYFORM_BLESS=1 cargo test --test it state_corpus::` to write its `error.expected`, and
//! read the message before committing it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The file in each case that holds the expected message.
pub const EXPECTED: &str = "error.expected";

/// The file name the state has in every case.
pub const STATE_FILE: &str = "state.json";

/// The only file loading may add: the lock file.
pub const LOCK_FILE: &str = "state.json.lock";

/// One broken state.
#[derive(Debug, Clone)]
pub struct Case {
    /// The directory name, e.g. `truncated-json`.
    pub name: String,
    /// Where the case's files are.
    pub directory: PathBuf,
}

impl Case {
    /// Every case, in name order.
    pub fn all() -> Vec<Case> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-input/state");
        let mut cases: Vec<Case> = fs::read_dir(&root)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_dir())
            .map(|directory| Case {
                name: directory
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                directory,
            })
            .collect();
        cases.sort_by(|left, right| left.name.cmp(&right.name));
        cases
    }

    /// The expected message for a state kept in `state_directory` (as it appears in
    /// messages).
    pub fn expected(&self, state_directory: &str) -> String {
        fs::read_to_string(self.directory.join(EXPECTED))
            .unwrap_or_else(|error| panic!("case `{}` has no `{EXPECTED}`: {error}", self.name))
            .trim_end()
            .replace("[DIR]", state_directory)
    }

    /// Copies the case's files (not `expected`) into `into`, which should be empty.
    pub fn install(&self, into: &Path) -> Installed {
        for entry in fs::read_dir(&self.directory).unwrap() {
            let source = entry.unwrap().path();
            if source.file_name().unwrap() != EXPECTED {
                copy_recursively(&source, &into.join(source.file_name().unwrap()));
            }
        }
        Installed {
            directory: into.to_path_buf(),
            state_path: into.join(STATE_FILE),
            snapshot: snapshot(into),
        }
    }
}

/// A case's files in a scratch directory, with a record of their bytes.
#[derive(Debug)]
pub struct Installed {
    /// The scratch directory.
    pub directory: PathBuf,
    /// The state path to give cityform.
    pub state_path: PathBuf,
    snapshot: BTreeMap<PathBuf, Option<Vec<u8>>>,
}

impl Installed {
    /// What differs from the installed files, apart from the lock file: changed bytes,
    /// removed files, new files (a backup, a temporary file, a journal). Empty when nothing
    /// changed.
    pub fn changes(&self) -> Vec<String> {
        let mut now = snapshot(&self.directory);
        now.remove(Path::new(LOCK_FILE));
        let mut changes = Vec::new();
        for (path, before) in &self.snapshot {
            match now.get(path) {
                None => changes.push(format!("`{}` was removed", path.display())),
                Some(after) if after != before => {
                    changes.push(format!("`{}` was changed", path.display()))
                }
                Some(_) => {}
            }
        }
        for path in now.keys().filter(|path| !self.snapshot.contains_key(*path)) {
            changes.push(format!("`{}` was created", path.display()));
        }
        changes
    }
}

/// Every file and directory under `root`, relative, with a file's bytes.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(root).unwrap().to_path_buf();
            if path.is_dir() {
                pending.push(path);
                found.insert(relative, None);
            } else {
                found.insert(relative, Some(fs::read(&path).unwrap()));
            }
        }
    }
    found
}

fn copy_recursively(source: &Path, target: &Path) {
    if source.is_dir() {
        fs::create_dir_all(target).unwrap();
        for entry in fs::read_dir(source).unwrap() {
            let path = entry.unwrap().path();
            copy_recursively(&path, &target.join(path.file_name().unwrap()));
        }
    } else {
        fs::copy(source, target).unwrap();
    }
}
