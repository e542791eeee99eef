//! Everything that can go wrong reading, locking or writing a state, one error type per
//! layer: [`LocalFileError`] (the local state files and their lock), [`JournalError`] (the
//! journal, in either backend), [`PostgresError`] (the PostgreSQL backend) and
//! [`MigrateError`] (copying a state). [`StateError`] is any of them, shown exactly as the
//! layer's error.

mod journal;
mod local;
mod migrate;
mod postgres;

use std::time::Duration;

pub use self::journal::JournalError;
pub use self::local::LocalFileError;
pub use self::migrate::MigrateError;
pub use self::postgres::PostgresError;
use super::lock::LockHolder;

/// A state could not be read, locked or written.
///
/// Every error names the file, or the database and workspace; parse errors also name the
/// line and column. A state that cannot be understood is left exactly as it is.
/// [`StateError::hint`] says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A local state file, its backup or its lock.
    #[error(transparent)]
    LocalFile(#[from] LocalFileError),
    /// The journal.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The PostgreSQL backend.
    #[error(transparent)]
    Postgres(#[from] PostgresError),
    /// Copying a state between backends.
    #[error(transparent)]
    Migrate(#[from] MigrateError),
}

impl StateError {
    /// What the user can do about it, when there is something to say beyond the message.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::LocalFile(error) => error.hint(),
            Self::Journal(error) => error.hint(),
            Self::Postgres(error) => error.hint(),
            Self::Migrate(error) => error.hint(),
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
