//! The PostgreSQL state backend: many independent states (*workspaces*) in one database,
//! each locked by a session-level advisory lock, each append one transaction.
//!
//! The layout mirrors the local backend's so that both behave the same, serials included
//! (a saved plan binds to the same serials whichever backend holds the state): the
//! workspace row and `cityform_job_groups` are the state as of the last compaction (the
//! local `state.json`), `cityform_journal` holds the records appended since (the local
//! journal). A load replays the journal onto the groups, and its serial is the stored
//! serial plus one per journal record; a compaction folds the journal in, keeps unresolved
//! intents, and stores the loaded serial plus one.
//!
//! Inside: `libpq` (connection strings, the `PG*` environment, the password file, `sslmode`
//! and certificates, as libpq reads them), `pool`, `schema` (creation and versioning),
//! `lock` (the advisory lock and the holder row), `store` (the statements), `failure`
//! (client errors to `StateError`s).

mod failure;
mod libpq;
mod lock;
mod pool;
mod schema;
mod store;

use std::fmt;

use tokio::sync::RwLock;
use tokio_postgres::IsolationLevel;

use self::failure::{Failure, describe, failed, failed_write, is_connection_lost};
use self::libpq::{ConnectionSettings, process_environment};
use self::lock::WorkspaceLock;
use self::pool::Pool;
use self::store::{Stored, Target};
use super::backend::{Backend, Recovered};
use super::history::{History, HistorySelection};
use super::journal::{JournalRecord, replay};
use super::lock::LockOptions;
use super::{State, StateError};
use crate::state::{JournalError, PostgresError};

pub use self::libpq::redact as redact_connection_string;
pub use self::libpq::{ConnectionStringError, check_connection_string};
pub use self::schema::SCHEMA_VERSION;

/// Connections for reads and appends; apply runs up to this many appends at once on
/// separate connections, so that their commits share the server's WAL flushes.
const POOL_SIZE: usize = 8;

/// Attempts of a read whose connection was lost (each on a fresh connection).
const READ_ATTEMPTS: u32 = 3;

/// The workspace used when none is named.
pub const DEFAULT_WORKSPACE: &str = "default";

/// A locked workspace of a PostgreSQL database. The lock is held until this value is
/// dropped (or [`PostgresBackend::close`]d).
///
/// Its connections are driven by tasks of the Tokio runtime that opened it: use it within
/// that runtime.
pub struct PostgresBackend {
    location: String,
    workspace: String,
    pool: Pool,
    /// Appends hold it shared; load, create and compact exclusively, so that they see no
    /// append half-way (as the local backend's journal slot).
    exclusive: RwLock<()>,
    lock: WorkspaceLock,
}

impl fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl PostgresBackend {
    /// Connects to the database at `url`, creates cityform's tables when it has none, and
    /// locks `workspace`, waiting up to `options.timeout` for another holder.
    ///
    /// `url` is anything libpq accepts (`postgres://user:password@host:port/database?sslmode=disable`,
    /// `?host=/socket/directory`, or `host=... dbname=...`); what it leaves out comes from
    /// `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD` and `~/.pgpass` (or
    /// `PGPASSFILE`). `sslmode` (`disable` to `verify-full`) and `sslrootcert` work as in
    /// libpq, see `docs/backends.md`. No message ever shows the password.
    pub async fn open(
        url: &str,
        workspace: &str,
        options: &LockOptions,
    ) -> Result<Self, StateError> {
        validate_workspace(workspace)?;
        let settings = ConnectionSettings::resolve(url, &process_environment)?;
        let location = format!("{}#{workspace}", settings.shown());
        let mut client =
            settings
                .connect()
                .await
                .map_err(|error| PostgresError::DatabaseConnect {
                    location: location.clone(),
                    reason: describe(&error),
                })?;
        schema::ensure(&mut client, &location).await?;
        let lock = WorkspaceLock::acquire(client, workspace, options, &location).await?;
        Ok(Self {
            location,
            workspace: workspace.to_owned(),
            pool: Pool::new(settings, POOL_SIZE),
            exclusive: RwLock::new(()),
            lock,
        })
    }

    /// The workspace this backend holds.
    pub fn workspace(&self) -> &str {
        &self.workspace
    }

    /// Releases the lock now and closes every connection. Dropping the backend releases the
    /// lock too, once the server notices the closed connection (at once, in practice).
    pub async fn close(self) -> Result<(), StateError> {
        let location = self.location;
        self.lock
            .release()
            .await
            .map_err(|error| failed(&location, "unlock", &error))
    }

    fn target(&self) -> Target<'_> {
        Target {
            workspace: &self.workspace,
            token: self.lock.token(),
            location: &self.location,
        }
    }

    /// A pooled connection, or the error of opening one.
    async fn connection(&self, operation: &'static str) -> Result<pool::Pooled<'_>, StateError> {
        self.pool
            .get()
            .await
            .map_err(|error| failed(&self.location, operation, &error))
    }

    /// Reads the rows in one consistent snapshot, on a fresh connection again when the
    /// connection is lost (a read changes nothing, so it is always safe to repeat).
    async fn read(&self) -> Result<Option<Stored>, StateError> {
        let mut attempt = 1;
        loop {
            let failure = match self.read_once().await {
                Ok(stored) => return Ok(stored),
                Err(Failure::State(error)) => return Err(error),
                Err(Failure::Database(error)) => error,
            };
            if attempt >= READ_ATTEMPTS || !is_connection_lost(&failure) {
                return Err(failed(&self.location, "read", &failure));
            }
            tracing::warn!(
                "reading PostgreSQL state `{}` failed ({}); retrying on a new connection",
                self.location,
                describe(&failure)
            );
            attempt += 1;
        }
    }

    async fn read_once(&self) -> Result<Option<Stored>, Failure> {
        let mut client = self.pool.get().await?;
        let transaction = read_only_snapshot(&mut client).start().await?;
        let stored = store::read(&transaction, self.target(), false).await?;
        transaction.commit().await?;
        Ok(stored)
    }
}

impl Backend for PostgresBackend {
    fn location(&self) -> String {
        self.location.clone()
    }

    async fn load(&self) -> Result<Recovered, StateError> {
        let _exclusive = self.exclusive.write().await;
        Ok(recovered(self.read().await?))
    }

    async fn create(&self, state: State) -> Result<State, StateError> {
        let _exclusive = self.exclusive.write().await;
        let mut client = self.connection("create").await?;
        let not_written = |failure: Failure| failure.not_written(&self.location, "create");
        let transaction = client
            .transaction()
            .await
            .map_err(Failure::from)
            .map_err(not_written)?;
        let written = store::create(&transaction, self.target(), &state)
            .await
            .map_err(not_written)?;
        transaction
            .commit()
            .await
            .map_err(|error| failed_write(&self.location, "create", &error))?;
        Ok(written)
    }

    async fn append(&self, records: &[JournalRecord]) -> Result<(), StateError> {
        if records.is_empty() {
            return Ok(());
        }
        let encoded = records
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| JournalError::Encode { source })?;
        let _shared = self.exclusive.read().await;
        let client = self.connection("append to").await?;
        store::append(&client, self.target(), &encoded)
            .await
            .map_err(|failure| failure.writing(&self.location, "append to"))
    }

    async fn compact(&self) -> Result<Recovered, StateError> {
        let _exclusive = self.exclusive.write().await;
        let mut client = self.connection("compact").await?;
        let not_written = |failure: Failure| failure.not_written(&self.location, "compact");
        let transaction = client
            .transaction()
            .await
            .map_err(Failure::from)
            .map_err(not_written)?;
        let stored = store::read(&transaction, self.target(), true)
            .await
            .map_err(not_written)?;
        let Some(stored) = stored else {
            return Ok(recovered(None));
        };
        if stored.records.is_empty() {
            // Nothing to fold (the transaction rolls back as it is dropped).
            return Ok(recovered(Some(stored)));
        }
        let (folded, unresolved) = replay(stored.base, &stored.records);
        store::write_compacted(
            &transaction,
            self.target(),
            &stored.records,
            &folded,
            &unresolved,
        )
        .await
        .map_err(not_written)?;
        transaction
            .commit()
            .await
            .map_err(|error| failed_write(&self.location, "compact", &error))?;
        // Stored: the loaded serial plus one; a load adds one per kept intent.
        let mut state = folded;
        state.serial += 1 + unresolved.len() as u64;
        Ok(Recovered {
            state: Some(state),
            unresolved,
            warnings: Vec::new(),
        })
    }

    async fn history(
        &self,
        state: &State,
        selection: HistorySelection<'_>,
    ) -> Result<History, StateError> {
        let _shared = self.exclusive.read().await;
        let mut attempt = 1;
        loop {
            let failure = match self
                .read_history_once(selection, state.history_retention)
                .await
            {
                Ok(history) => return Ok(history),
                Err(Failure::State(error)) => return Err(error),
                Err(Failure::Database(error)) => error,
            };
            if attempt >= READ_ATTEMPTS || !is_connection_lost(&failure) {
                return Err(failed(&self.location, "read", &failure));
            }
            attempt += 1;
        }
    }
}

impl PostgresBackend {
    async fn read_history_once(
        &self,
        selection: HistorySelection<'_>,
        retain_per_group: usize,
    ) -> Result<History, Failure> {
        let mut client = self.pool.get().await?;
        let transaction = read_only_snapshot(&mut client).start().await?;
        let history =
            store::read_history(&transaction, self.target(), selection, retain_per_group).await?;
        transaction.commit().await?;
        Ok(history)
    }
}

/// What a load returns for these rows.
fn recovered(stored: Option<Stored>) -> Recovered {
    let (state, unresolved) = match stored {
        Some(stored) => {
            let (state, unresolved) = replay(stored.base, &stored.records);
            (Some(state), unresolved)
        }
        None => (None, Vec::new()),
    };
    Recovered {
        state,
        unresolved,
        warnings: Vec::new(),
    }
}

/// Checks a workspace name: 1 to 63 ASCII letters, digits, `-`, `_` and `.`, starting with a
/// letter or digit: a name that reads the same in a URL, a shell and a log line.
pub fn validate_workspace(workspace: &str) -> Result<(), StateError> {
    let invalid = |reason: &str| PostgresError::InvalidWorkspace {
        workspace: workspace.to_owned(),
        reason: reason.to_owned(),
    };
    if workspace.is_empty() || workspace.len() > 63 {
        return Err(invalid("a workspace name has 1 to 63 characters").into());
    }
    if !workspace.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(invalid("a workspace name starts with a letter or a digit").into());
    }
    if let Some(character) = workspace
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(invalid(&format!(
            "`{character}` is not allowed: use letters, digits, `-`, `_` and `.`"
        ))
        .into());
    }
    Ok(())
}

/// A read-only transaction that sees one snapshot: what every read of a workspace starts.
fn read_only_snapshot(
    client: &mut tokio_postgres::Client,
) -> tokio_postgres::TransactionBuilder<'_> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn workspace_names_are_checked() {
        for good in ["default", "staging", "team-a_2", "eu.prod", "7"] {
            validate_workspace(good).unwrap();
        }
        let cases = [
            ("", "a workspace name has 1 to 63 characters"),
            ("-x", "a workspace name starts with a letter or a digit"),
            (
                "a b",
                "` ` is not allowed: use letters, digits, `-`, `_` and `.`",
            ),
            ("über", "a workspace name starts with a letter or a digit"),
            (
                "a/b",
                "`/` is not allowed: use letters, digits, `-`, `_` and `.`",
            ),
        ];
        for (name, reason) in cases {
            let error = validate_workspace(name).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("invalid workspace name `{name}`: {reason}")
            );
        }
        assert!(validate_workspace(&"a".repeat(64)).is_err());
    }
}
