//! Errors of the PostgreSQL backend: the connection string, the connection, the statements,
//! the workspace's lock and rows. Every message names the database and workspace without
//! secrets.

use std::time::Duration;

use super::{holder_text, seconds};
use crate::state::lock::LockHolder;

/// A PostgreSQL state could not be reached, locked, read or written.
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
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
}

impl PostgresError {
    /// What the user can do about it, when there is something to say beyond the message.
    pub fn hint(&self) -> Option<String> {
        match self {
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
                 `disable`) and a server certificate signed with RSA (PKCS #1 v1.5) or ECDSA with \
                 SHA-256 or SHA-384 (see `docs/backends.md`, \"TLS\")"
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
            _ => None,
        }
    }
}
