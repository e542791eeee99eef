//! Everything that can go wrong reading, locking or writing a state, with the file and the
//! place in it.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::MAX_STATE_BYTES_VARIABLE;
use super::lock::LockHolder;

/// A state could not be read, locked or written.
///
/// Every variant names the file; parse errors also name the line and column. A state that
/// cannot be understood is left exactly as it is. [`StateError::hint`] says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
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
    /// A record in the middle of the journal is damaged while later records are intact, so
    /// the journal cannot be trusted.
    #[error(
        "journal `{}` is corrupt at line {line} (byte offset {offset}): {reason}, and intact records follow it",
        path.display()
    )]
    JournalCorrupt {
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
    JournalUnidentified {
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
    JournalUnreadable {
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
    JournalNewerFormat {
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
    JournalLineage {
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
    OrphanJournal {
        /// The journal.
        path: PathBuf,
        /// The missing state file.
        state_path: PathBuf,
    },
    /// Appending to the journal failed; nothing after this failure is durable.
    #[error("cannot append to journal `{}`: {source}", path.display())]
    JournalWrite {
        /// The journal.
        path: PathBuf,
        /// What the operating system said (shared by every waiter of the failed batch).
        source: Arc<io::Error>,
    },
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
    /// The journal's writer thread is gone (it panicked or was shut down).
    #[error("the writer of journal `{}` has stopped", path.display())]
    JournalStopped {
        /// The journal.
        path: PathBuf,
    },
    /// A record could not be encoded as JSON.
    #[error("cannot encode a journal record: {source}")]
    Encode {
        /// The encoder's description.
        source: serde_json::Error,
    },
    /// A PostgreSQL connection string cannot be used. `url` never shows a password.
    #[error("cannot use the PostgreSQL connection string `{url}`: {reason}")]
    DatabaseUrl {
        /// The connection string with any password removed.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A workspace name is not one cityform accepts.
    #[error("invalid workspace name `{workspace}`: {reason}")]
    InvalidWorkspace {
        /// The name as given.
        workspace: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The PostgreSQL server could not be reached or refused the connection.
    #[error("cannot connect to PostgreSQL state `{location}`: {reason}")]
    DatabaseConnect {
        /// The database and workspace, without secrets.
        location: String,
        /// What the client library or the server said.
        reason: String,
    },
    /// A statement that only reads, or whose transaction surely did not commit, failed.
    /// Nothing was changed by it.
    #[error("cannot {operation} PostgreSQL state `{location}`: {reason}")]
    Database {
        /// The database and workspace, without secrets.
        location: String,
        /// What was being done: `read`, `create`, `append to`, `compact`, ...
        operation: &'static str,
        /// What the server or the client library said.
        reason: String,
    },
    /// The connection was lost while a write was being committed: the server may or may
    /// not have committed it.
    #[error(
        "lost the connection to PostgreSQL state `{location}` while writing ({operation}); \
         the write may or may not have been committed: {reason}"
    )]
    DatabaseCommitUnknown {
        /// The database and workspace, without secrets.
        location: String,
        /// What was being written.
        operation: &'static str,
        /// What the client library said.
        reason: String,
    },
    /// Another run holds the workspace's advisory lock.
    #[error("state `{location}` is locked by {}", holder_text(holder.as_deref()))]
    WorkspaceLocked {
        /// The database and workspace, without secrets.
        location: String,
        /// Who holds it, when its holder row matches the lock's holder (boxed: the error
        /// stays small).
        holder: Option<Box<LockHolder>>,
        /// How long this process waited before giving up.
        waited: Duration,
    },
    /// Another run took the workspace's lock after this run's lock connection was lost;
    /// nothing more may be written by this run.
    #[error(
        "lost the lock on state `{location}`: its connection closed and another run holds the lock now; \
         nothing more was written"
    )]
    LockLost {
        /// The database and workspace, without secrets.
        location: String,
    },
    /// The database's cityform tables were made by a newer cityform.
    #[error(
        "PostgreSQL state `{location}` uses schema version {found}, but this build knows up to {supported}; upgrade cityform"
    )]
    NewerSchema {
        /// The database and workspace, without secrets.
        location: String,
        /// The schema version in the database.
        found: i32,
        /// The newest schema version this build knows.
        supported: i32,
    },
    /// `create` was asked to write a first state into a workspace that has one.
    #[error("PostgreSQL state `{location}` already exists")]
    WorkspaceExists {
        /// The database and workspace, without secrets.
        location: String,
    },
    /// Records were appended before the workspace had a state.
    #[error("PostgreSQL state `{location}` does not exist yet, so there is nothing to append to")]
    NoWorkspaceState {
        /// The database and workspace, without secrets.
        location: String,
    },
    /// A row of the state in the database cannot be understood.
    #[error("PostgreSQL state `{location}` holds an unreadable {what}: {reason}")]
    StoredStateUnreadable {
        /// The database and workspace, without secrets.
        location: String,
        /// Which row: `job group `a/b/c``, `journal record 12`, `workspace row`.
        what: String,
        /// Why it cannot be read.
        reason: String,
    },
    /// A migration would overwrite a state of another lineage.
    #[error(
        "cannot copy state `{from}` (lineage `{from_lineage}`) into `{to}`: it holds another state (lineage `{to_lineage}`)"
    )]
    LineageMismatch {
        /// Where the state comes from.
        from: String,
        /// Its lineage.
        from_lineage: String,
        /// Where it was to be copied.
        to: String,
        /// The lineage already there.
        to_lineage: String,
    },
    /// A migration would overwrite changes the destination has and the source lacks.
    #[error(
        "cannot copy state `{from}` (serial {from_serial}) into `{to}`: the destination is a later version of the same state (serial {to_serial}) and differs from it"
    )]
    MigrateWouldLoseChanges {
        /// Where the state comes from.
        from: String,
        /// The source's serial.
        from_serial: u64,
        /// Where it was to be copied.
        to: String,
        /// The destination's serial.
        to_serial: u64,
    },
}

impl StateError {
    /// What the user can do about it, when there is something to say beyond the message.
    pub fn hint(&self) -> Option<String> {
        match self {
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
                super::paths::with_suffix(path, ".backup").display()
            )),
            Self::NewerFormat { .. } | Self::JournalNewerFormat { .. } => Some(
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
                super::paths::with_suffix(path, ".backup").display()
            )),
            Self::InvalidLimit { .. } => Some(
                "give the limit in bytes, e.g. `2147483648` for 2 GiB".to_owned(),
            ),
            Self::JournalUnidentified { path, .. } => Some(format!(
                "the journal and the state were left as they are; if `{}` is not a cityform journal, \
                 move it aside; if it is one that was damaged, keep a copy of it before moving it aside: \
                 it may be the only record of job groups created since the state was last written",
                path.display()
            )),
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
            Self::JournalCorrupt { path, line, .. }
            | Self::JournalUnreadable { path, line, .. } => Some(format!(
                "the journal and the state were left as they are; inspect `{}` line {line}; \
                 the journal may be the only record of job groups created since the state was last written, \
                 so keep a copy of it before moving it aside",
                path.display()
            )),
            Self::HistoryInvalid { path, .. } => Some(format!(
                "the history file and the state were left as they are; the state does not depend \
                 on the history: keep a copy of `{}` and move it aside to start a new history",
                path.display()
            )),
            Self::JournalLineage { path, .. } | Self::OrphanJournal { path, .. } => Some(format!(
                "the journal was left as it is; restore the state file it belongs to, or move `{}` aside",
                path.display()
            )),
            Self::WorkspaceLocked { waited, .. } => Some(if waited.is_zero() {
                "another cityform is using this workspace: wait for it to finish, or pass `--lock-timeout 60s` to wait for the lock; \
                 the lock is a PostgreSQL advisory lock that the server releases when its holder's connection closes, so there is nothing to delete"
                    .to_owned()
            } else {
                format!(
                    "waited {}; another cityform is still using this workspace: wait for it to finish or raise `--lock-timeout`; \
                     the lock is a PostgreSQL advisory lock that the server releases when its holder's connection closes, so there is nothing to delete",
                    seconds(*waited)
                )
            }),
            // The client library's words when `channel_binding=require` cannot be met.
            Self::DatabaseConnect { reason, .. } if reason.contains("channel binding") => Some(
                "`channel_binding=require` needs SCRAM authentication over TLS (`sslmode` other than \
                 `disable`) and a server certificate signed with RSA or ECDSA (see `docs/backends.md`, \
                 \"TLS\")"
                    .to_owned(),
            ),
            Self::DatabaseConnect { .. } => Some(
                "check the host, port, database and user; the password comes from the connection string, \
                 `PGPASSWORD` or `~/.pgpass` (see `docs/backends.md`)"
                    .to_owned(),
            ),
            Self::Database {
                operation: "set up", ..
            } => Some(
                "the first run creates cityform's tables and needs `CREATE` on the schema; later runs need only \
                 `SELECT`, `INSERT`, `UPDATE` and `DELETE` (see `docs/backends.md`)"
                    .to_owned(),
            ),
            Self::DatabaseCommitUnknown { .. } | Self::LockLost { .. } => Some(
                "run apply again: it reloads the state, and a call whose result may not have been recorded \
                 is looked up by name before anything is sent again"
                    .to_owned(),
            ),
            Self::NewerSchema { .. } => Some(
                "the database was left as it is; an older cityform cannot use it safely".to_owned(),
            ),
            Self::StoredStateUnreadable { .. } => Some(
                "the database was left as it is; inspect the row, or restore the database from a backup".to_owned(),
            ),
            Self::MigrateWouldLoseChanges { from, to, .. } => Some(format!(
                "nothing was copied; to keep what `{to}` has, copy it the other way (from `{to}` into `{from}`)"
            )),
            Self::LineageMismatch { to, .. } => Some(format!(
                "nothing was copied; `{to}` belongs to another state: choose another destination (another workspace or file), \
                 or remove the state there first if it is truly unwanted"
            )),
            _ => None,
        }
    }
}

fn holder_text(holder: Option<&LockHolder>) -> String {
    match holder {
        Some(holder) => holder.to_string(),
        None => "another process (its holder information could not be read)".to_owned(),
    }
}

/// `60s`, `1.5s`: a duration as the `--lock-timeout` flag would take it.
fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}
