//! Files cityform writes as output (the saved plan of `plan --out`): never one of the
//! state's files, and replaced whole.
//!
//! An output path is compared with the state's files by where they really are (symbolic
//! links followed, directories resolved) and, for files that exist, by identity, so that
//! `./state.json`, an absolute path, a link or a hard link to the state is refused like the
//! state's own name. The new content goes to a temporary file of its own beside the target
//! (a name nobody else uses: nothing the user keeps there is removed), is synced, then
//! renamed over the target; until that rename the previous file is untouched.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::file_kind::special_kind;
use crate::state::StatePaths;
use crate::state::atomic::{create_private_directory, sync_directory};

/// An output file that was not written. Whatever was at its path is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum OutputFileError {
    /// The path is one of the state's files, under this name or another.
    #[error(
        "cannot write the {what} to `{}`: it is one of the state's files (`{}`, {which})",
        path.display(),
        state_file.display()
    )]
    StateFile {
        /// What was to be written, e.g. `saved plan`.
        what: &'static str,
        /// The path as given.
        path: PathBuf,
        /// The state's file it is.
        state_file: PathBuf,
        /// Which of the state's files: `the state itself`, `its journal`, ...
        which: &'static str,
    },
    /// Something other than a regular file is in the way.
    #[error(
        "cannot write the {what} to `{}`: `{}` is {kind}, not a regular file",
        path.display(),
        path.display()
    )]
    NotRegularFile {
        /// What was to be written.
        what: &'static str,
        /// The path as given.
        path: PathBuf,
        /// What is there instead.
        kind: &'static str,
    },
    /// Writing failed.
    #[error("could not write the {what} `{}`", path.display())]
    Write {
        /// What was to be written.
        what: &'static str,
        /// The path as given.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
}

/// Refuses `path` as the target of an output when it is one of `state`'s files or is not
/// a regular file; writes nothing. Call it before the work whose result goes there.
pub fn check_target(
    path: &Path,
    what: &'static str,
    state: Option<&StatePaths>,
) -> Result<(), OutputFileError> {
    let target = real_location(path);
    if let Ok(metadata) = fs::metadata(&target)
        && !metadata.is_file()
    {
        return Err(OutputFileError::NotRegularFile {
            what,
            path: path.to_path_buf(),
            kind: kind_of(&metadata.file_type()),
        });
    }
    let Some(state) = state else {
        return Ok(());
    };
    let names = [
        "the state itself",
        "its backup",
        "its journal",
        "its lock file",
        "a temporary file of the state",
        "a temporary file of the backup",
        "a temporary file of the journal",
        "a temporary file of the lock",
    ];
    for (state_file, which) in state.all_files().into_iter().zip(names) {
        if same_file(&target, &state_file) {
            return Err(OutputFileError::StateFile {
                what,
                path: path.to_path_buf(),
                state_file,
                which,
            });
        }
    }
    Ok(())
}

/// Writes `contents` to `path` (after [`check_target`]) by write-then-rename: a temporary
/// file of its own beside the target, synced, renamed over it, the directory synced. A
/// symbolic link at `path` stays a link: the file it leads to is replaced.
pub fn write_output_file(
    path: &Path,
    what: &'static str,
    contents: &[u8],
    state: Option<&StatePaths>,
) -> Result<(), OutputFileError> {
    check_target(path, what, state)?;
    let write_error = |source| OutputFileError::Write {
        what,
        path: path.to_path_buf(),
        source,
    };
    let target = real_location(path);
    let directory = directory_of(&target);
    create_private_directory(directory).map_err(write_error)?;
    let name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Created 0600, under a name no one else uses; removed if anything below fails.
    let mut temporary = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(directory)
        .map_err(write_error)?;
    temporary.write_all(contents).map_err(write_error)?;
    temporary.as_file().sync_all().map_err(write_error)?;
    temporary
        .persist(&target)
        .map_err(|error| write_error(error.error))?;
    sync_directory(directory).map_err(write_error)
}

/// Where `path` really is: symbolic links followed (a missing target is fine), and its
/// directory made absolute and free of links, when it exists.
fn real_location(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    // Linux's own limit; a loop ends up at a path that is compared as it is.
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => match fs::read_link(&current) {
                Ok(target) => current = directory_of(&current).join(target),
                Err(_) => break,
            },
            _ => break,
        }
    }
    match (
        fs::canonicalize(directory_of(&current)),
        current.file_name(),
    ) {
        (Ok(directory), Some(name)) => directory.join(name),
        _ => current,
    }
}

/// Whether `left` and `right` are the same file: the same real location, or, for files that
/// exist, the same file system object (a hard link).
fn same_file(left: &Path, right: &Path) -> bool {
    if real_location(left) == real_location(right) {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if let (Ok(left), Ok(right)) = (fs::metadata(left), fs::metadata(right)) {
            return left.dev() == right.dev() && left.ino() == right.ino();
        }
    }
    false
}

fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn kind_of(file_type: &fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else {
        special_kind(file_type).unwrap_or("a special file")
    }
}
