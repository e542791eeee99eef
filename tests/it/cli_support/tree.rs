//! A directory's files and their bytes, to prove that a command changed nothing.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// One entry of a [`Tree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A directory.
    Directory,
    /// A file and its bytes.
    File(Vec<u8>),
}

/// Every file and directory below a root, by path relative to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree(pub BTreeMap<PathBuf, Entry>);

impl Tree {
    /// Reads everything below `root`.
    pub fn read(root: &Path) -> Self {
        let mut entries = BTreeMap::new();
        let mut pending = vec![root.to_path_buf()];
        while let Some(directory) = pending.pop() {
            for entry in fs::read_dir(&directory).unwrap() {
                let path = entry.unwrap().path();
                let relative = path.strip_prefix(root).unwrap().to_path_buf();
                if path.is_dir() {
                    pending.push(path);
                    entries.insert(relative, Entry::Directory);
                } else {
                    entries.insert(relative, Entry::File(fs::read(&path).unwrap()));
                }
            }
        }
        Self(entries)
    }

    /// What `later` changed compared with `self`, one line per path: changed bytes, removed
    /// and created entries. Paths in `allowed` are left out. Empty when nothing changed.
    pub fn changes(&self, later: &Tree, allowed: &[&str]) -> Vec<String> {
        let allowed = |path: &Path| allowed.iter().any(|allowed| path == Path::new(allowed));
        let mut changes = Vec::new();
        for (path, before) in &self.0 {
            if allowed(path) {
                continue;
            }
            match later.0.get(path) {
                None => changes.push(format!("`{}` was removed", path.display())),
                Some(after) if after != before => {
                    changes.push(format!("`{}` was changed", path.display()));
                }
                Some(_) => {}
            }
        }
        for path in later.0.keys() {
            if !self.0.contains_key(path) && !allowed(path) {
                changes.push(format!("`{}` was created", path.display()));
            }
        }
        changes
    }

    /// The paths, for messages.
    pub fn paths(&self) -> Vec<String> {
        self.0
            .keys()
            .map(|path| path.display().to_string())
            .collect()
    }
}
