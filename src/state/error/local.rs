//! Errors of the local state files: the state file, its backup, its lock and the files'
//! paths, each naming the file and, for a parse error, the line and column.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::{holder_text, seconds};
use crate::state::MAX_STATE_BYTES_VARIABLE;
use crate::state::lock::LockHolder;

/// A local state file could not be read, locked or written. A state that cannot be
/// understood is left exactly as it is.
#[derive(Debug, thiserror::Error)]
pub enum LocalFileError {
    /// The history file beside the state cannot be used: it is not a history file, was
    /// written by a newer cityform, belongs to another state, or is damaged in the middle.
    #[error("history file `{}` cannot be read at line {line}: {reason}", path.display())]
    HistoryInvalid {
        /// The history file.
        path: PathBuf,
        /// 1-based line (0 when only the byte offset in `reason` is known).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Appending to or writing the history file failed.
    #[error("cannot write history file `{}`: {source}", path.display())]
    HistoryWrite {
        /// The history file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The state path has no file name (`..`, `/`).
    #[error("state path `{}` does not name a file", path.display())]
    InvalidPath {
        /// The path as given.
        path: PathBuf,
    },
    /// The directory for the state could not be created.
    #[error("cannot create the state directory `{}`: {source}", path.display())]
    CreateDirectory {
        /// The directory.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A directory stands where the state file (or its journal) should be.
    #[error("state file `{}` is a directory, not a file", path.display())]
    IsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// The state file exists but holds nothing.
    #[error("state file `{}` is empty", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The state file is not UTF-8 text.
    #[error(
        "state file `{}` is not UTF-8 text: invalid byte at offset {offset} (line {line})",
        path.display()
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first invalid byte.
        offset: usize,
        /// 1-based line of that byte.
        line: usize,
    },
    /// The state file ends in the middle of its JSON.
    #[error(
        "state file `{}` is truncated at line {line} column {column}: {message}",
        path.display()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// 1-based line where the text ends.
        line: usize,
        /// Column where the text ends.
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// The state file is not JSON.
    #[error(
        "state file `{}` is not valid JSON at line {line} column {column}: {message}",
        path.display()
    )]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// The state file is JSON but not a state: a wrong type, a missing or unknown field.
    #[error(
        "state file `{}` does not match the state format at line {line} column {column}: {message}",
        path.display()
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What does not match.
        message: String,
    },
    /// The state file was written by a newer cityform.
    #[error(
        "state file `{}` was written by a newer cityform (format {found}, this build reads {supported}); upgrade cityform",
        path.display()
    )]
    NewerFormat {
        /// The file.
        path: PathBuf,
        /// The format version in the file.
        found: u64,
        /// The format version this build reads.
        supported: u32,
    },
    /// The state file names a format version that never existed.
    #[error(
        "state file `{}` has format version {found}, which no cityform writes (this build reads {supported})",
        path.display()
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// The format version in the file.
        found: u64,
        /// The format version this build reads.
        supported: u32,
    },
    /// `create` was asked to write a first state where one already exists.
    #[error("state file `{}` already exists", path.display())]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// Records were appended before there was a state to append them to.
    #[error("state file `{}` does not exist yet, so there is no journal to append to", path.display())]
    NoState {
        /// The state file.
        path: PathBuf,
    },
    /// A file could not be written; the previous version is untouched.
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        /// The file being written.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The lock file could not be opened or locked for a reason other than another holder.
    #[error("cannot lock state `{}`: {source}", path.display())]
    Lock {
        /// The state file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// Another process holds the lock.
    #[error(
        "state `{}` is locked by {}{}",
        path.display(),
        holder_text(holder.as_deref()),
        if *stopped { ", which is stopped" } else { "" }
    )]
    Locked {
        /// The state file.
        path: PathBuf,
        /// What the holder wrote into the lock file, when it could be read (boxed: the
        /// error stays small).
        holder: Option<Box<LockHolder>>,
        /// How long this process waited before giving up.
        waited: Duration,
        /// The holder runs on this host and is stopped (suspended with Ctrl-Z, or by a
        /// debugger): it will not finish until something resumes or ends it.
        stopped: bool,
    },
    /// Something other than a regular file stands where a state file is read or written.
    #[error("{what} `{}` is {kind}, not a regular file", path.display())]
    NotRegularFile {
        /// Which file: `state file`, `journal`, `state backup`, `lock file`.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// What it is instead: `a FIFO`, `a character device`, ...
        kind: &'static str,
    },
    /// The state file (or its journal) is larger than the size limit.
    #[error(
        "{what} `{}` is {size} bytes, over the state size limit of {limit} bytes",
        path.display()
    )]
    TooLarge {
        /// Which file: `state file` or `journal`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Its size (or how much was read before the limit was passed).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The content of the state file does not match the checksum written with it.
    #[error(
        "state file `{}` does not match its checksum: its content changed after cityform wrote it",
        path.display()
    )]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
    },
    /// The state size limit from the environment is not a number of bytes.
    #[error("`{variable}` is `{value}`, not a number of bytes")]
    InvalidLimit {
        /// The environment variable.
        variable: &'static str,
        /// Its value.
        value: String,
    },
}

impl LocalFileError {
    /// What the user can do about it, when there is something to say beyond the message.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::HistoryInvalid { path, .. } => Some(format!(
                "the history file and the state were left as they are; the state does not depend \
                 on the history: keep a copy of `{}` and move it aside to start a new history",
                path.display()
            )),
            Self::IsDirectory { path } => Some(format!(
                "move `{}` aside, or point cityform at another state file",
                path.display()
            )),
            Self::Empty { path }
            | Self::NotUtf8 { path, .. }
            | Self::Truncated { path, .. }
            | Self::Syntax { path, .. }
            | Self::Invalid { path, .. }
            | Self::UnknownFormat { path, .. } => Some(format!(
                "the file was left as it is; restore it from `{}` or from version control, or repair it by hand",
                crate::state::paths::with_suffix(path, ".backup").display()
            )),
            Self::NewerFormat { .. } => Some(
                "the files were left as they are; an older cityform cannot read them safely"
                    .to_owned(),
            ),
            Self::NotRegularFile { path, .. } => Some(format!(
                "cityform reads and writes its state only as regular files, so nothing was opened; \
                 move `{}` aside, or point `--state` at a file (it is created by the first apply)",
                path.display()
            )),
            Self::TooLarge { .. } => Some(format!(
                "nothing was read; if the state is really this large, raise the limit by setting \
                 `{MAX_STATE_BYTES_VARIABLE}` to a number of bytes"
            )),
            Self::ChecksumMismatch { path } => Some(format!(
                "the file was left as it is; if it was damaged, restore it from `{}` or from version control; \
                 if it was edited on purpose, remove its `checksum` line to accept the edit \
                 (cityform writes a new checksum at its next write)",
                crate::state::paths::with_suffix(path, ".backup").display()
            )),
            Self::InvalidLimit { .. } => {
                Some("give the limit in bytes, e.g. `2147483648` for 2 GiB".to_owned())
            }
            Self::Locked {
                path,
                holder: Some(holder),
                stopped: true,
                ..
            } => Some(format!(
                "the holder is stopped and will not finish until it is resumed: resume it \
                 (`kill -CONT {pid}`, or `fg` in its terminal), or stop it for good with \
                 `cityform force-unlock {pid} --state {}`, which lets it record what it has in flight first",
                path.display(),
                pid = holder.pid
            )),
            Self::Locked { waited, .. } => Some(if waited.is_zero() {
                "another cityform is using this state: wait for it to finish, or pass `--lock-timeout 60s` to wait for the lock; \
                 a lock is released by the operating system when its process exits, so there is no lock file to delete"
                    .to_owned()
            } else {
                format!(
                    "waited {}; another cityform is still using this state: wait for it to finish or raise `--lock-timeout`; \
                     a lock is released by the operating system when its process exits, so there is no lock file to delete",
                    seconds(*waited)
                )
            }),
            _ => None,
        }
    }
}
