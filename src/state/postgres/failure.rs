//! Turning the PostgreSQL client's errors into `StateError`s: what the server said, and
//! whether the connection was lost (which decides between "nothing was written" and "the
//! write may or may not have been committed").

use std::error::Error as _;

use crate::state::PostgresError;
use crate::state::StateError;

/// What went wrong, in words: the server's message and SQLSTATE for a server error, the
/// client's description and its cause otherwise (the client's `Display` leaves the cause
/// out).
pub(super) fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(database) = error.as_db_error() {
        let mut text = format!(
            "{} (SQLSTATE {})",
            database.message(),
            database.code().code()
        );
        if let Some(detail) = database.detail() {
            text.push_str(&format!("; {detail}"));
        }
        if let Some(hint) = database.hint() {
            text.push_str(&format!("; hint from the server: {hint}"));
        }
        return text;
    }
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(&format!(": {inner}"));
        cause = inner.source();
    }
    text
}

/// True when `error` means the connection is gone, so that a statement in flight may or
/// may not have taken effect (and a read may be retried on another connection).
pub(super) fn is_connection_lost(error: &tokio_postgres::Error) -> bool {
    if let Some(database) = error.as_db_error() {
        let code = database.code().code();
        // 08: connection exception; 57P01–57P03: the server is shutting down or the
        // backend was terminated.
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03");
    }
    error.is_closed()
        || error
            .source()
            .is_some_and(|cause| cause.downcast_ref::<std::io::Error>().is_some())
}

/// Why an operation failed: the database (the caller decides what that means for the
/// write), or the rows themselves.
#[derive(Debug)]
pub(in crate::state) enum Failure {
    /// A statement failed.
    Database(tokio_postgres::Error),
    /// The rows say no: another holder, no state, a row that cannot be read.
    State(StateError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Database(error)
    }
}

impl<E: Into<StateError>> From<E> for Failure {
    fn from(error: E) -> Self {
        Self::State(error.into())
    }
}

impl Failure {
    /// The error to report when the failed work wrote nothing for sure (a read, or a
    /// transaction whose `COMMIT` was not sent).
    pub(super) fn not_written(self, location: &str, operation: &'static str) -> StateError {
        match self {
            Self::State(error) => error,
            Self::Database(error) => failed(location, operation, &error),
        }
    }

    /// The error to report when the failed work was a write in flight.
    pub(super) fn writing(self, location: &str, operation: &'static str) -> StateError {
        match self {
            Self::State(error) => error,
            Self::Database(error) => failed_write(location, operation, &error),
        }
    }
}

/// The error for a failed read or a write that surely did not commit.
pub(super) fn failed(
    location: &str,
    operation: &'static str,
    error: &tokio_postgres::Error,
) -> StateError {
    PostgresError::Database {
        location: location.to_owned(),
        operation,
        reason: describe(error),
    }
    .into()
}

/// The error for a failed write: unknown outcome when the connection went away while it
/// was in flight, surely not committed otherwise.
pub(super) fn failed_write(
    location: &str,
    operation: &'static str,
    error: &tokio_postgres::Error,
) -> StateError {
    if is_connection_lost(error) {
        PostgresError::DatabaseCommitUnknown {
            location: location.to_owned(),
            operation,
            reason: describe(error),
        }
        .into()
    } else {
        failed(location, operation, error)
    }
}
