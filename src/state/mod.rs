//! The state: which `JobGroupId` belongs to which address, and the spec as last applied;
//! and beside it the [`history`] of recorded actions.
//!
//! A state lives in a [`Backend`]. The local one ([`LocalBackend`]) keeps
//! `.cityform/state.json` (written atomically, previous version kept as `.backup`), an
//! append-only journal of changes since the last compaction (`.journal`), the history of
//! recorded actions (`.history`, append-only, read only by the commands that need it) and
//! an OS file lock (`.lock`). `docs/state.md` describes the files. The PostgreSQL one
//! ([`PostgresBackend`]) keeps many states, *workspaces*, in one database, in tables laid
//! out the same way and locked by an advisory lock (`docs/backends.md`). [`migrate`] copies
//! a state, its history included, between any two backends.

mod any;
pub mod atomic;
mod backend;
pub mod edit;
mod error;
mod file;
#[cfg(test)]
mod fixtures;
pub mod history;
pub mod journal;
mod local;
mod local_history;
mod lock;
mod migrate;
mod model;
mod paths;
mod postgres;

pub use any::AnyBackend;
pub use backend::{Backend, Recovered, StateWarning};
pub use error::{JournalError, LocalFileError, MigrateError, PostgresError, StateError};
pub use file::{
    DEFAULT_MAX_STATE_BYTES, MAX_STATE_BYTES_VARIABLE, parse_state, read_state_file,
    read_state_file_within, write_state_file,
};
pub use history::{
    DEFAULT_RETAIN_PER_GROUP, History, HistoryAction, HistoryEntry, HistorySelection, InvalidSince,
    Moved, NewestFirst, UnknownAction, parse_since,
};
pub use local::LocalBackend;
pub use lock::{LockHolder, LockOptions, StateLock};
pub use migrate::{MigrateOutcome, MigrateReport, group_changes, migrate};
pub use model::{FORMAT_VERSION, MAX_SERIAL, State, StateEntry};
pub use paths::StatePaths;
pub use postgres::{
    ConnectionStringError, check_connection_string, redact_connection_string, validate_workspace,
};
pub use postgres::{DEFAULT_WORKSPACE, PostgresBackend, SCHEMA_VERSION};
