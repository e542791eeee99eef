//! The files that make up a local state: the state itself and its siblings.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::StateError;

/// Every file the local backend keeps for one state path, all in the same directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePaths {
    /// The state, e.g. `.cityform/state.json`.
    pub state: PathBuf,
    /// The previous version of the state (`state.json.backup`).
    pub backup: PathBuf,
    /// The append-only journal (`state.json.journal`).
    pub journal: PathBuf,
    /// The lock file (`state.json.lock`).
    pub lock: PathBuf,
}

impl StatePaths {
    /// The paths for the state at `state`, kept exactly as the caller wrote it so that
    /// messages show the path the user knows.
    pub fn new(state: impl Into<PathBuf>) -> Result<Self, StateError> {
        let state = state.into();
        if state.file_name().is_none() {
            return Err(StateError::InvalidPath { path: state });
        }
        Ok(Self {
            backup: with_suffix(&state, ".backup"),
            journal: with_suffix(&state, ".journal"),
            lock: with_suffix(&state, ".lock"),
            state,
        })
    }

    /// The directory holding the state (`.` for a bare file name).
    pub fn directory(&self) -> &Path {
        directory_of(&self.state)
    }
}

/// `path` with `suffix` appended to its file name: `state.json` + `.lock` = `state.json.lock`.
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// The directory of `path`, `.` when it has none.
pub(crate) fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn siblings_share_the_state_file_name() {
        let paths = StatePaths::new(".cityform/state.json").unwrap();
        assert_eq!(paths.backup, Path::new(".cityform/state.json.backup"));
        assert_eq!(paths.journal, Path::new(".cityform/state.json.journal"));
        assert_eq!(paths.lock, Path::new(".cityform/state.json.lock"));
        assert_eq!(paths.directory(), Path::new(".cityform"));
    }

    #[test]
    fn a_bare_file_name_lives_in_the_current_directory() {
        let paths = StatePaths::new("state.json").unwrap();
        assert_eq!(paths.directory(), Path::new("."));
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        assert!(matches!(
            StatePaths::new(".."),
            Err(StateError::InvalidPath { .. })
        ));
    }
}
