//! One type for "whichever backend the user chose": an enum over the local files and
//! PostgreSQL that implements [`Backend`] by delegation.
//!
//! [`Backend`]'s methods return `impl Future`, so the trait is not object-safe; commands that
//! choose the backend at run time hold this enum instead of a `dyn Backend`. Being the
//! backend every command holds, it is where loading and compacting are logged as phases.

use super::backend::{Backend, Recovered};
use super::journal::JournalRecord;
use super::{History, HistorySelection, LocalBackend, PostgresBackend, State, StateError};
use crate::phase::{COMPACT, LOAD_STATE, timed};

/// A locked state in either backend. The lock is held until this value is dropped.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per command: its size does not matter
pub enum AnyBackend {
    /// The local files (`state.json`, its journal and lock).
    Local(LocalBackend),
    /// A workspace of a PostgreSQL database.
    Postgres(PostgresBackend),
}

impl AnyBackend {
    /// Releases the lock now. PostgreSQL's is otherwise released once the server notices the
    /// closed connection, which may be a moment after this process has gone: a command that
    /// follows at once with `--lock-timeout 0` could still find it held.
    pub async fn close(self) -> Result<(), StateError> {
        match self {
            Self::Local(backend) => {
                drop(backend);
                Ok(())
            }
            Self::Postgres(backend) => backend.close().await,
        }
    }

    /// Whether this is the PostgreSQL backend.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

impl From<LocalBackend> for AnyBackend {
    fn from(backend: LocalBackend) -> Self {
        Self::Local(backend)
    }
}

impl From<PostgresBackend> for AnyBackend {
    fn from(backend: PostgresBackend) -> Self {
        Self::Postgres(backend)
    }
}

impl Backend for AnyBackend {
    fn location(&self) -> String {
        match self {
            Self::Local(backend) => backend.location(),
            Self::Postgres(backend) => backend.location(),
        }
    }

    async fn load(&self) -> Result<Recovered, StateError> {
        timed(LOAD_STATE, async {
            match self {
                Self::Local(backend) => backend.load().await,
                Self::Postgres(backend) => backend.load().await,
            }
        })
        .await
    }

    async fn load_to_change(&self) -> Result<Recovered, StateError> {
        timed(LOAD_STATE, async {
            match self {
                Self::Local(backend) => backend.load_to_change().await,
                Self::Postgres(backend) => backend.load_to_change().await,
            }
        })
        .await
    }

    async fn create(&self, state: State) -> Result<State, StateError> {
        match self {
            Self::Local(backend) => backend.create(state).await,
            Self::Postgres(backend) => backend.create(state).await,
        }
    }

    async fn append(&self, records: &[JournalRecord]) -> Result<(), StateError> {
        match self {
            Self::Local(backend) => backend.append(records).await,
            Self::Postgres(backend) => backend.append(records).await,
        }
    }

    async fn compact(&self) -> Result<Recovered, StateError> {
        timed(COMPACT, async {
            match self {
                Self::Local(backend) => backend.compact().await,
                Self::Postgres(backend) => backend.compact().await,
            }
        })
        .await
    }

    async fn compact_at_end(&self) -> Result<(), StateError> {
        timed(COMPACT, async {
            match self {
                Self::Local(backend) => backend.compact_at_end().await,
                Self::Postgres(backend) => backend.compact_at_end().await,
            }
        })
        .await
    }

    async fn history(
        &self,
        state: &State,
        selection: HistorySelection<'_>,
    ) -> Result<History, StateError> {
        match self {
            Self::Local(backend) => backend.history(state, selection).await,
            Self::Postgres(backend) => backend.history(state, selection).await,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::state::LockOptions;
    use crate::state::fixtures::{address, entry};
    use crate::state::journal::Put;

    #[tokio::test]
    async fn the_local_variant_delegates_every_operation() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json");
        let backend = AnyBackend::from(
            LocalBackend::open(&path, &LockOptions::new("cityform test")).unwrap(),
        );
        assert!(!backend.is_postgres());
        assert_eq!(backend.location(), path.display().to_string());
        assert_eq!(backend.load().await.unwrap().state, None);
        let created = backend.create(State::new("lineage-any")).await.unwrap();
        backend
            .append(&[JournalRecord::Put(Put {
                address: address("a"),
                entry: entry("jg-a"),
                intent: None,
            })])
            .await
            .unwrap();
        let compacted = backend.compact().await.unwrap().state.unwrap();
        assert_eq!(compacted.lineage, "lineage-any");
        assert!(compacted.serial > created.serial);
        assert_eq!(compacted.job_groups[&address("a")].job_group_id, "jg-a");
        assert_eq!(backend.load().await.unwrap().state.unwrap(), compacted);
        backend.close().await.unwrap();
        LocalBackend::open(&path, &LockOptions::new("cityform test")).unwrap();
    }
}
