//! The files that make up a local state: the state itself and its siblings, where they
//! really are.
//!
//! A state named through a symbolic link is used at the link's target: locking, writing,
//! the backup and the journal all happen beside the real file, so that the link and its
//! target can never become two states with two locks. Anything at these paths that is not
//! a regular file (a device, a FIFO, a socket) is refused before it is opened: reading
//! `/dev/zero` never ends, opening a FIFO waits for a writer forever.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::StateError;
use crate::state::LocalFileError;

/// How many symbolic links are followed from the state path before giving up (Linux's own
/// limit for a path).
const MAX_LINKS: usize = 40;

/// Every file the local backend keeps for one state path, all in the same directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePaths {
    /// The state, e.g. `.cityform/state.json`.
    pub state: PathBuf,
    /// The previous version of the state (`state.json.backup`).
    pub backup: PathBuf,
    /// The append-only journal (`state.json.journal`).
    pub journal: PathBuf,
    /// The history of recorded actions, append-only (`state.json.history`).
    pub history: PathBuf,
    /// The lock file (`state.json.lock`).
    pub lock: PathBuf,
}

impl StatePaths {
    /// The paths for the state at `state`: kept exactly as the caller wrote it, so that
    /// messages show the path the user knows, unless it is a symbolic link, which is
    /// replaced by the file it leads to (which may not exist yet). Refuses a path where a
    /// state or one of its companion files is anything but a regular file or a directory
    /// (a directory is refused when it is read, with its own message).
    pub fn new(state: impl Into<PathBuf>) -> Result<Self, StateError> {
        let state = real_location(state.into())?;
        if state.file_name().is_none() {
            return Err(LocalFileError::InvalidPath { path: state }.into());
        }
        let paths = Self {
            backup: with_suffix(&state, ".backup"),
            journal: with_suffix(&state, ".journal"),
            history: with_suffix(&state, ".history"),
            lock: with_suffix(&state, ".lock"),
            state,
        };
        for (path, what) in [
            (&paths.state, "state file"),
            (&paths.journal, "journal"),
            (&paths.history, "history file"),
            (&paths.backup, "state backup"),
            (&paths.lock, "lock file"),
        ] {
            check_file_type(path, what)?;
        }
        Ok(paths)
    }

    /// Every file cityform may write for this state, temporary files included: none of
    /// them may be the target of an output such as `plan --out`.
    pub fn all_files(&self) -> Vec<PathBuf> {
        let mut files = vec![
            self.state.clone(),
            self.backup.clone(),
            self.journal.clone(),
            self.history.clone(),
            self.lock.clone(),
        ];
        let temporary: Vec<PathBuf> = files.iter().map(|path| with_suffix(path, ".tmp")).collect();
        files.extend(temporary);
        files
    }

    /// The directory holding the state (`.` for a bare file name).
    pub fn directory(&self) -> &Path {
        directory_of(&self.state)
    }
}

/// Where `path` really is: the target of a symbolic link (followed link after link), or
/// `path` itself. Only the last component is resolved: a directory on the way that is a link
/// leads to the same files whichever way it is named.
fn real_location(path: PathBuf) -> Result<PathBuf, StateError> {
    let mut current = path;
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let target = fs::read_link(&current).map_err(|source| LocalFileError::Read {
                    path: current.clone(),
                    source,
                })?;
                // A relative target is relative to the link's directory.
                current = match current.parent() {
                    Some(parent) => parent.join(target),
                    None => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(LocalFileError::Read {
        path: current,
        source: io::Error::other("too many levels of symbolic links"),
    }
    .into())
}

/// Refuses `path` when it exists and is neither a regular file nor a directory. Looks at
/// the file without opening it: opening a FIFO would wait for a writer.
pub(crate) fn check_file_type(path: &Path, what: &'static str) -> Result<(), StateError> {
    match fs::metadata(path) {
        Ok(metadata) => match special_kind(&metadata.file_type()) {
            Some(kind) => Err(LocalFileError::NotRegularFile {
                what,
                path: path.to_path_buf(),
                kind,
            }
            .into()),
            None => Ok(()),
        },
        // Missing, or unreadable: whoever reads it says why.
        Err(_) => Ok(()),
    }
}

pub(crate) use crate::file_kind::special_kind;

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
        assert_eq!(paths.history, Path::new(".cityform/state.json.history"));
        assert_eq!(paths.lock, Path::new(".cityform/state.json.lock"));
        assert_eq!(paths.directory(), Path::new(".cityform"));
    }

    #[test]
    fn a_bare_file_name_lives_in_the_current_directory() {
        let paths = StatePaths::new("state.json").unwrap();
        assert_eq!(paths.directory(), Path::new("."));
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_followed_to_the_real_file_even_before_it_exists() {
        let directory = tempfile::tempdir().unwrap();
        fs::create_dir(directory.path().join("dir")).unwrap();
        let link = directory.path().join("link.json");
        std::os::unix::fs::symlink("dir/state.json", &link).unwrap();
        let chained = directory.path().join("chained.json");
        std::os::unix::fs::symlink("link.json", &chained).unwrap();

        for path in [&link, &chained] {
            let paths = StatePaths::new(path).unwrap();
            assert_eq!(paths.state, directory.path().join("dir/state.json"));
            assert_eq!(paths.lock, directory.path().join("dir/state.json.lock"));
        }

        let looping = directory.path().join("loop.json");
        std::os::unix::fs::symlink("loop.json", &looping).unwrap();
        assert!(matches!(
            StatePaths::new(&looping),
            Err(StateError::LocalFile(LocalFileError::Read { .. }))
        ));
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        assert!(matches!(
            StatePaths::new(".."),
            Err(StateError::LocalFile(LocalFileError::InvalidPath { .. }))
        ));
    }
}
