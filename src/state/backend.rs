//! The operations every state backend offers, and what loading a state returns.
//!
//! A backend is locked for as long as it exists: constructing one takes the lock (the local
//! file lock, or a PostgreSQL advisory lock) and dropping it releases the lock. So there is
//! no "lock" operation here, and no way to read a state without holding its lock.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;

use super::history::{History, HistorySelection};
use super::journal::{DamagedTail, Intent, JournalRecord};
use super::{State, StateError};

/// A state store: the local files ([`super::LocalBackend`]) or a workspace of a PostgreSQL
/// database ([`super::PostgresBackend`]).
///
/// The apply executor calls, in order: [`Backend::load`]; [`Backend::create`] when there
/// was no state; [`Backend::compact`] to start from a folded state; [`Backend::append`]
/// for every intent and result (concurrently, from many tasks); [`Backend::compact`] at
/// the end.
pub trait Backend: Send + Sync {
    /// Where the state lives, for messages: a path or a connection string without secrets.
    fn location(&self) -> String;

    /// Reads the state and replays the journal onto it.
    fn load(&self) -> impl Future<Output = Result<Recovered, StateError>> + Send;

    /// [`Backend::load`] for a command that goes on to change the state: a backend may keep
    /// what it read, so that appending and compacting do not read it again. A command that
    /// only reads calls `load`, which keeps nothing.
    fn load_to_change(&self) -> impl Future<Output = Result<Recovered, StateError>> + Send {
        self.load()
    }

    /// Writes `state` as the first state (its serial bumped) and returns it as written.
    /// Refuses when a state already exists.
    fn create(&self, state: State) -> impl Future<Output = Result<State, StateError>> + Send;

    /// Records `records` durably, in order: returns once they would survive a crash.
    /// Concurrent calls are allowed and share the cost of making records durable.
    fn append(
        &self,
        records: &[JournalRecord],
    ) -> impl Future<Output = Result<(), StateError>> + Send;

    /// Folds the journal into the state (serial bumped), keeping unresolved intents, and
    /// returns what [`Backend::load`] would return now. Does nothing when there is no
    /// journal to fold.
    fn compact(&self) -> impl Future<Output = Result<Recovered, StateError>> + Send;

    /// [`Backend::compact`] for a caller that reads nothing back afterwards (the end of a
    /// run): a backend may then keep no copy of what it wrote. The state is read again if
    /// it is asked for later.
    fn compact_at_end(&self) -> impl Future<Output = Result<(), StateError>> + Send {
        async move { self.compact().await.map(drop) }
    }

    /// The recorded actions of `state` (as this backend loaded it) that `selection` asks
    /// for, each group trimmed to the state's retention. The history is kept beside the
    /// state and read only here, so a command that never calls this never reads it.
    ///
    /// The default is a backend that keeps no history.
    fn history(
        &self,
        state: &State,
        selection: HistorySelection<'_>,
    ) -> impl Future<Output = Result<History, StateError>> + Send {
        let _ = selection;
        let retention = state.history_retention;
        async move { Ok(History::new(retention)) }
    }
}

/// The state as recovered from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The current state: `None` when no state has been written yet.
    pub state: Option<State>,
    /// Intents that no record resolves: calls whose outcome is unknown. The caller
    /// resolves each one by asking the cloud, then appends a `Put`, `Remove` or `Settle`.
    pub unresolved: Vec<Intent>,
    /// Things recovery repaired that the user should hear about.
    pub warnings: Vec<StateWarning>,
}

/// Something recovery repaired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateWarning {
    /// The journal ended in a damaged or incomplete record (a write cut short by a crash).
    /// Every record before it was recovered; the damaged bytes are dropped at the next
    /// append or compaction.
    DamagedJournalTail {
        /// The journal.
        path: PathBuf,
        /// Where the damage starts and what it is.
        tail: DamagedTail,
    },
}

impl fmt::Display for StateWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DamagedJournalTail { path, tail } => write!(
                f,
                "journal `{}` ends in a damaged record at line {} (byte offset {}, {} bytes: {}); \
                 every record before it was recovered, and the damaged bytes will be dropped",
                path.display(),
                tail.line,
                tail.offset,
                tail.length,
                tail.reason
            ),
        }
    }
}
