//! Errors of the journal: a damaged, foreign or newer journal file, a failed append, and
//! records that cannot be encoded.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// The journal could not be read, trusted or appended to. A journal that cannot be trusted
/// is left exactly as it is: it may be the only record of groups created since the state
/// was last written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A record in the middle of the journal is damaged while later records are intact, so
    /// the journal cannot be trusted.
    #[error(
        "journal `{}` is corrupt at line {line} (byte offset {offset}): {reason}, and intact records follow it",
        path.display()
    )]
    Corrupt {
        /// The journal.
        path: PathBuf,
        /// 1-based line of the first damaged record.
        line: usize,
        /// Byte offset where that line starts.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The journal's first line is not a journal header: the file may not be a journal at
    /// all, so it is neither read nor cut.
    #[error(
        "journal `{}` cannot be identified: its first line is not a journal header ({reason})",
        path.display()
    )]
    Unidentified {
        /// The journal.
        path: PathBuf,
        /// What is wrong with the first line.
        reason: String,
    },
    /// A journal record has a valid checksum but cannot be decoded.
    #[error(
        "journal `{}` cannot be read at line {line} column {column}: {message}",
        path.display()
    )]
    Unreadable {
        /// The journal.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Why it cannot be decoded.
        message: String,
    },
    /// The journal was written by a newer cityform.
    #[error(
        "journal `{}` was written by a newer cityform (journal format {found}, this build reads {supported}); upgrade cityform",
        path.display()
    )]
    NewerFormat {
        /// The journal.
        path: PathBuf,
        /// The format version in its header.
        found: u64,
        /// The format version this build reads.
        supported: u32,
    },
    /// The journal belongs to another state.
    #[error(
        "journal `{}` belongs to lineage `{journal_lineage}`, but state file `{}` has lineage `{state_lineage}`",
        path.display(),
        state_path.display()
    )]
    Lineage {
        /// The journal.
        path: PathBuf,
        /// The lineage in the journal's header.
        journal_lineage: String,
        /// The state file.
        state_path: PathBuf,
        /// The lineage in the state file.
        state_lineage: String,
    },
    /// A journal exists but the state it belongs to does not.
    #[error(
        "journal `{}` exists but its state file `{}` does not",
        path.display(),
        state_path.display()
    )]
    Orphan {
        /// The journal.
        path: PathBuf,
        /// The missing state file.
        state_path: PathBuf,
    },
    /// Appending to the journal failed; nothing after this failure is durable.
    #[error("cannot append to journal `{}`: {source}", path.display())]
    Write {
        /// The journal.
        path: PathBuf,
        /// What the operating system said (shared by every waiter of the failed batch).
        source: Arc<io::Error>,
    },
    /// The journal's writer thread is gone (it panicked or was shut down).
    #[error("the writer of journal `{}` has stopped", path.display())]
    Stopped {
        /// The journal.
        path: PathBuf,
    },
    /// A record could not be encoded as JSON.
    #[error("cannot encode a journal record: {source}")]
    Encode {
        /// The encoder's description.
        source: serde_json::Error,
    },
}

impl JournalError {
    /// What the user can do about it, when there is something to say beyond the message.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NewerFormat { .. } => Some(
                "the files were left as they are; an older cityform cannot read them safely"
                    .to_owned(),
            ),
            Self::Unidentified { path, .. } => Some(format!(
                "the journal and the state were left as they are; if `{}` is not a cityform journal, \
                 move it aside; if it is one that was damaged, keep a copy of it before moving it aside: \
                 it may be the only record of job groups created since the state was last written",
                path.display()
            )),
            Self::Corrupt { path, line, .. } | Self::Unreadable { path, line, .. } => {
                Some(format!(
                    "the journal and the state were left as they are; inspect `{}` line {line}; \
                 the journal may be the only record of job groups created since the state was last written, \
                 so keep a copy of it before moving it aside",
                    path.display()
                ))
            }
            Self::Lineage { path, .. } | Self::Orphan { path, .. } => Some(format!(
                "the journal was left as it is; restore the state file it belongs to, or move `{}` aside",
                path.display()
            )),
            _ => None,
        }
    }
}
