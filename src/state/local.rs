//! The local state backend: `state.json` beside its journal, backup and lock file.
//!
//! The file operations here are blocking. They run once at the start and once at the end
//! of a run (load, create, compact), so they run on the calling task; the frequent
//! operation, append, goes through the journal's writer thread.
//!
//! The history of recorded actions is in a file of its own beside the state
//! ([`super::local_history`]): compaction folds the journal's `history` records into it, and
//! only the commands that show or move the history read it.
//!
//! While it appends, the writer thread keeps the state replayed (the state file with every
//! journal record applied). Holding the lock, this backend is the only writer of the
//! files, so that replayed state is what reading them back would give: loads and the
//! compaction after appends use it instead of reading and parsing the files again.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{RwLock, RwLockWriteGuard};

use super::atomic::{private_options, remove_if_present, replace_file, sync_directory};
use super::backend::{Backend, Recovered, StateWarning};
use super::file::{DEFAULT_MAX_STATE_BYTES, read_limited, read_stored_state, write_state_file};
use super::history::{History, HistorySelection};
use super::journal::{
    Intent, JournalHeader, JournalParseError, JournalRecord, JournalWriter, Replayed, encode_line,
    parse_journal, replay,
};
use super::local_history;
use super::lock::{LockOptions, StateLock};
use super::paths::{StatePaths, check_file_type};
use super::{State, StateError};
use crate::state::{JournalError, LocalFileError};

/// A locked local state. The lock is held until this value is dropped.
#[derive(Debug)]
pub struct LocalBackend {
    paths: StatePaths,
    /// The largest state file, and journal, this backend reads.
    max_state_bytes: u64,
    journal: RwLock<JournalSlot>,
    /// Flushes of the writers already closed (by load, create and compact).
    closed_writer_flushes: AtomicU64,
    // Declared last so that it is dropped last: the writer finishes before the lock goes.
    _lock: StateLock,
}

/// The journal's writer, and what this backend knows of the files.
#[derive(Debug, Default)]
struct JournalSlot {
    writer: Option<JournalWriter>,
    /// The files as known without reading them: after create, compact, a load to change,
    /// and appends (handed back by the closed writer). Taken by the writer while it runs.
    kept: Option<Kept>,
    /// A load or compaction has returned the files' warnings to its caller, and nothing has
    /// written the files since.
    announced: bool,
    /// The history inside a state file of the earlier layout, as last read: read instead
    /// of the history file, and moved to it at the state's first write.
    embedded: Option<History>,
}

/// What the files hold, as this backend last wrote or read them.
#[derive(Debug)]
struct Kept {
    /// What the state file and its journal replay to.
    replayed: Replayed,
    /// The length of the journal's verified prefix (0 without a journal): anything beyond
    /// is a reported damaged tail, cut off before appending.
    journal_length: u64,
}

impl Kept {
    /// A copy of `recovered`, when it holds a state.
    fn of(recovered: &Recovered, journal_length: u64) -> Option<Self> {
        let state = recovered.state.clone()?;
        Some(Self {
            replayed: Replayed::new(state, recovered.unresolved.clone()),
            journal_length,
        })
    }
}

impl LocalBackend {
    /// Locks the state at `state_path` (waiting up to `options.timeout`), creating its
    /// directory when missing. Reads nothing yet.
    ///
    /// This blocks the calling thread while it waits; from async code with a lock timeout,
    /// call it through `tokio::task::spawn_blocking`.
    pub fn open(state_path: impl Into<PathBuf>, options: &LockOptions) -> Result<Self, StateError> {
        let paths = StatePaths::new(state_path)?;
        let lock = StateLock::acquire(&paths, options)?;
        Ok(Self {
            paths,
            max_state_bytes: DEFAULT_MAX_STATE_BYTES,
            journal: RwLock::new(JournalSlot::default()),
            closed_writer_flushes: AtomicU64::new(0),
            _lock: lock,
        })
    }

    /// The same backend, reading a state file or journal of up to `max_state_bytes` bytes
    /// (by default [`DEFAULT_MAX_STATE_BYTES`]); a larger one is refused before it is read.
    pub fn with_max_state_bytes(mut self, max_state_bytes: u64) -> Self {
        self.max_state_bytes = max_state_bytes;
        self
    }

    /// The files this backend uses.
    pub fn paths(&self) -> &StatePaths {
        &self.paths
    }

    /// How many batches of journal records were written and synced since this backend was
    /// opened, across compactions (for tests and diagnostics).
    pub async fn journal_flushes(&self) -> u64 {
        let current = self
            .journal
            .read()
            .await
            .writer
            .as_ref()
            .map_or(0, JournalWriter::flushes);
        self.closed_writer_flushes.load(Ordering::Relaxed) + current
    }

    /// Takes the journal for exclusive use: waits for appends in flight, then closes the
    /// writer so that the files can be read or replaced.
    async fn exclusive(&self) -> RwLockWriteGuard<'_, JournalSlot> {
        let mut slot = self.journal.write().await;
        // Holding the write half, no append is in flight: every flush is counted.
        if let Some(writer) = slot.writer.take() {
            self.closed_writer_flushes
                .fetch_add(writer.flushes(), Ordering::Relaxed);
            slot.announced = false;
            // Everything the writer wrote is valid; a failed writer leaves nothing known.
            let replayed = writer.finish();
            let length = fs::metadata(&self.paths.journal).map(|metadata| metadata.len());
            slot.kept = match (replayed, length) {
                (Some(replayed), Ok(journal_length)) => Some(Kept {
                    replayed,
                    journal_length,
                }),
                _ => None,
            };
        }
        slot
    }
}

/// The state as a load returns it, from what the files replay to.
fn recovered_from(replayed: &Replayed) -> Recovered {
    Recovered {
        state: Some(replayed.state.clone()),
        unresolved: replayed.unresolved.clone(),
        warnings: Vec::new(),
    }
}

impl Backend for LocalBackend {
    fn location(&self) -> String {
        self.paths.state.display().to_string()
    }

    async fn load(&self) -> Result<Recovered, StateError> {
        // Not kept: a plan reads the state once and needs no second copy of it.
        self.load_keeping(false).await
    }

    async fn load_to_change(&self) -> Result<Recovered, StateError> {
        self.load_keeping(true).await
    }

    async fn create(&self, state: State) -> Result<State, StateError> {
        let mut slot = self.exclusive().await;
        if slot.kept.is_some() {
            return Err(LocalFileError::AlreadyExists {
                path: self.paths.state.clone(),
            }
            .into());
        }
        let read = recover(&self.paths, self.max_state_bytes)?;
        if read.recovered.state.is_some() {
            return Err(LocalFileError::AlreadyExists {
                path: self.paths.state.clone(),
            }
            .into());
        }
        if self.paths.history.exists() {
            // Left by a state that is gone: a new lineage must not take it over.
            return Err(LocalFileError::HistoryInvalid {
                path: self.paths.history.clone(),
                line: 0,
                reason: format!(
                    "it exists but the state file `{}` it belongs to does not",
                    self.paths.state.display()
                ),
            }
            .into());
        }
        let written = write_state_file(&self.paths.state, state)?;
        slot.kept = Some(Kept {
            replayed: Replayed::new(written.clone(), Vec::new()),
            journal_length: 0,
        });
        Ok(written)
    }

    async fn append(&self, records: &[JournalRecord]) -> Result<(), StateError> {
        if records.is_empty() {
            return Ok(());
        }
        {
            let slot = self.journal.read().await;
            if let Some(writer) = &slot.writer {
                return writer.append(records).await;
            }
        }
        let mut slot = self.journal.write().await;
        if slot.writer.is_none() {
            if slot.kept.is_none() {
                let announced = slot.announced;
                self.recover_before_first_append(&mut slot, !announced)?;
            }
            if slot.embedded.is_some() {
                // The first write of a state of the earlier layout moves its history out.
                self.compact_slot(&mut slot, Keep::Copy)?;
            }
            let kept = slot.kept.take().ok_or_else(|| {
                StateError::from(LocalFileError::NoState {
                    path: self.paths.state.clone(),
                })
            })?;
            slot.writer = Some(open_writer(&self.paths, kept)?);
        }
        let slot = slot.downgrade();
        match &slot.writer {
            Some(writer) => writer.append(records).await,
            None => Err(JournalError::Stopped {
                path: self.paths.journal.clone(),
            }
            .into()),
        }
    }

    async fn compact(&self) -> Result<Recovered, StateError> {
        let mut slot = self.exclusive().await;
        self.compact_slot(&mut slot, Keep::Copy)
    }

    async fn compact_at_end(&self) -> Result<(), StateError> {
        let mut slot = self.exclusive().await;
        self.compact_slot(&mut slot, Keep::Nothing).map(drop)
    }

    async fn history(
        &self,
        state: &State,
        selection: HistorySelection<'_>,
    ) -> Result<History, StateError> {
        let slot = self.journal.read().await;
        local_history::read(&self.paths, state, selection, slot.embedded.as_ref())
    }
}

impl LocalBackend {
    /// [`Backend::compact`] with the journal taken for exclusive use. With [`Keep::Nothing`]
    /// the state written is returned and not kept: at the end of a large run, a copy of it
    /// is a good part of the process's memory.
    fn compact_slot(&self, slot: &mut JournalSlot, keep: Keep) -> Result<Recovered, StateError> {
        // Whatever fails from here on leaves nothing kept: the files are read again.
        let (kept, warnings) = match slot.kept.take() {
            Some(kept) => (kept, Vec::new()),
            None => {
                let read = recover(&self.paths, self.max_state_bytes)?;
                slot.announced = true;
                slot.embedded = read.embedded_history;
                let Some(kept) = Kept::of(&read.recovered, read.journal_length) else {
                    return Ok(read.recovered);
                };
                (kept, read.recovered.warnings)
            }
        };
        if !self.paths.journal.exists() && slot.embedded.is_none() {
            let recovered = Recovered {
                warnings,
                ..recovered_from(&kept.replayed)
            };
            slot.kept = Some(kept);
            return Ok(recovered);
        }
        slot.announced = false;
        let Replayed {
            state: folded,
            unresolved,
        } = kept.replayed;
        // The history first, then the state, then the journal. A crash between any two
        // leaves files that the next compaction ends alike: folding the same journal again
        // appends nothing twice, and an embedded history still in the state file is merged
        // with what the history file already holds.
        if let Some(embedded) = slot.embedded.take() {
            local_history::move_out(&self.paths, &folded.lineage, embedded)?;
        }
        local_history::fold_journal(&self.paths, &folded.lineage, folded.history_retention)?;
        local_history::keep_retention(&self.paths, &folded.lineage, folded.history_retention)?;
        let mut written = write_state_file(&self.paths.state, folded)?;
        // A crash here leaves the old journal beside the new state; replaying it again
        // gives the same groups and intents (replay is idempotent), so nothing is lost or
        // doubled.
        let journal_length = rewrite_journal(&self.paths.journal, &written.lineage, &unresolved)?;
        // Each kept intent is a record a load replays, and counts in the serial it reports.
        written.serial = written.serial.saturating_add(unresolved.len() as u64);
        let recovered = Recovered {
            state: Some(written),
            unresolved,
            warnings,
        };
        slot.kept = match keep {
            Keep::Copy => Kept::of(&recovered, journal_length),
            Keep::Nothing => None,
        };
        Ok(recovered)
    }
}

/// Whether a compaction keeps a copy of the state it wrote, for the loads and appends that
/// follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    Copy,
    Nothing,
}

impl LocalBackend {
    /// What the files replay to, from what is kept when something is, else read (and kept
    /// when `keep`).
    async fn load_keeping(&self, keep: bool) -> Result<Recovered, StateError> {
        let mut slot = self.exclusive().await;
        if let Some(kept) = &slot.kept {
            return Ok(recovered_from(&kept.replayed));
        }
        let read = recover(&self.paths, self.max_state_bytes)?;
        slot.announced = true;
        slot.embedded = read.embedded_history;
        if keep {
            slot.kept = Kept::of(&read.recovered, read.journal_length);
        }
        Ok(read.recovered)
    }

    /// The first append with nothing kept from earlier: learn the journal's shape and what
    /// it replays to from the files. A damaged tail found without a load first has not been
    /// shown to anyone, so it goes to the log before the next append cuts it off.
    fn recover_before_first_append(
        &self,
        slot: &mut JournalSlot,
        unannounced: bool,
    ) -> Result<(), StateError> {
        let read = recover(&self.paths, self.max_state_bytes)?;
        if unannounced {
            for warning in &read.recovered.warnings {
                tracing::warn!("{warning}");
            }
        }
        slot.embedded = read.embedded_history;
        slot.kept = Some(
            Kept::of(&read.recovered, read.journal_length).ok_or_else(|| {
                StateError::from(LocalFileError::NoState {
                    path: self.paths.state.clone(),
                })
            })?,
        );
        Ok(())
    }
}

/// What reading the files gave.
struct Read {
    /// The state file with the journal replayed onto it.
    recovered: Recovered,
    /// The length of the journal's verified prefix.
    journal_length: u64,
    /// The history inside a state file of the earlier layout.
    embedded_history: Option<History>,
}

/// Reads the state file and replays the journal onto it.
fn recover(paths: &StatePaths, max_bytes: u64) -> Result<Read, StateError> {
    let stored = read_stored_state(&paths.state, max_bytes)?;
    let journal = read_journal(&paths.journal, max_bytes)?;
    let Some(stored) = stored else {
        if journal.is_some_and(|bytes| !bytes.is_empty()) {
            return Err(JournalError::Orphan {
                path: paths.journal.clone(),
                state_path: paths.state.clone(),
            }
            .into());
        }
        return Ok(Read {
            recovered: Recovered {
                state: None,
                unresolved: Vec::new(),
                warnings: Vec::new(),
            },
            journal_length: 0,
            embedded_history: None,
        });
    };
    let state = stored.state;
    let parsed = parse_journal(journal.as_deref().unwrap_or_default())
        .map_err(|error| journal_error(&paths.journal, error))?;
    if let Some(header) = &parsed.header
        && header.lineage != state.lineage
    {
        return Err(JournalError::Lineage {
            path: paths.journal.clone(),
            journal_lineage: header.lineage.clone(),
            state_path: paths.state.clone(),
            state_lineage: state.lineage,
        }
        .into());
    }
    let (state, unresolved) = replay(state, &parsed.records);
    let warnings = parsed
        .damaged_tail
        .map(|tail| StateWarning::DamagedJournalTail {
            path: paths.journal.clone(),
            tail,
        })
        .into_iter()
        .collect();
    Ok(Read {
        recovered: Recovered {
            state: Some(state),
            unresolved,
            warnings,
        },
        journal_length: parsed.valid_length,
        embedded_history: stored.embedded_history,
    })
}

fn read_journal(path: &Path, max_bytes: u64) -> Result<Option<Vec<u8>>, StateError> {
    check_file_type(path, "journal")?;
    match read_limited(path, "journal", max_bytes) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(StateError::LocalFile(LocalFileError::Read { source, .. }))
            if source.kind() == io::ErrorKind::NotFound =>
        {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

fn journal_error(path: &Path, error: JournalParseError) -> StateError {
    let path = path.to_path_buf();
    StateError::Journal(match error {
        JournalParseError::Corrupt {
            line,
            offset,
            reason,
        } => JournalError::Corrupt {
            path,
            line,
            offset,
            reason,
        },
        JournalParseError::Unreadable {
            line,
            column,
            message,
        } => JournalError::Unreadable {
            path,
            line,
            column,
            message,
        },
        JournalParseError::Unidentified { reason } => JournalError::Unidentified { path, reason },
        JournalParseError::NewerFormat { found } => JournalError::NewerFormat {
            path,
            found,
            supported: super::journal::JOURNAL_FORMAT_VERSION,
        },
    })
}

/// Opens the journal for appending: cuts off a damaged tail that recovery reported, and
/// starts a new journal with its header.
fn open_writer(paths: &StatePaths, kept: Kept) -> Result<JournalWriter, StateError> {
    let write_error = |source| LocalFileError::Write {
        path: paths.journal.clone(),
        source,
    };
    let existed = paths.journal.exists();
    let mut file = private_options()
        .append(true)
        .create(true)
        .open(&paths.journal)
        .map_err(write_error)?;
    let length = file.metadata().map_err(write_error)?.len();
    let mut changed = !existed;
    if length > kept.journal_length {
        file.set_len(kept.journal_length).map_err(write_error)?;
        changed = true;
    }
    if length.min(kept.journal_length) == 0 {
        let header = encode_line(&JournalHeader::new(kept.replayed.state.lineage.clone()))
            .map_err(|source| JournalError::Encode { source })?;
        file.write_all(&header).map_err(write_error)?;
        changed = true;
    }
    if changed {
        file.sync_all().map_err(write_error)?;
    }
    if !existed {
        sync_directory(paths.directory()).map_err(write_error)?;
    }
    Ok(JournalWriter::start_replaying(
        file,
        paths.journal.clone(),
        kept.replayed,
    ))
}

/// Replaces the journal with one that holds only `unresolved`, or removes it when there is
/// nothing to keep; returns its new length.
fn rewrite_journal(path: &Path, lineage: &str, unresolved: &[Intent]) -> Result<u64, StateError> {
    let write_error = |source| LocalFileError::Write {
        path: path.to_path_buf(),
        source,
    };
    let encode_error = |source| JournalError::Encode { source };
    if unresolved.is_empty() {
        remove_if_present(path).map_err(write_error)?;
        sync_directory(super::paths::directory_of(path)).map_err(write_error)?;
        return Ok(0);
    }
    let mut bytes = encode_line(&JournalHeader::new(lineage)).map_err(encode_error)?;
    for intent in unresolved {
        bytes.extend(encode_line(&JournalRecord::Intent(intent.clone())).map_err(encode_error)?);
    }
    replace_file(path, &bytes).map_err(write_error)?;
    Ok(bytes.len() as u64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::state::fixtures::{address, file_names, intent, put};
    use crate::state::journal::{IntentId, Remove, Settle};
    use crate::state::read_state_file;

    fn open(directory: &tempfile::TempDir) -> LocalBackend {
        LocalBackend::open(
            directory.path().join(".cityform/state.json"),
            &LockOptions::new("cityform test"),
        )
        .unwrap()
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    /// A state with lineage `lineage-1` and the journal records given, as a crash after the
    /// last append would leave it.
    fn crashed_with(directory: &tempfile::TempDir, records: &[JournalRecord]) -> StatePaths {
        let backend = open(directory);
        block_on(async {
            backend.load().await.unwrap();
            backend.create(State::new("lineage-1")).await.unwrap();
            backend.append(records).await.unwrap();
        });
        backend.paths().clone()
    }

    fn names(state: &State) -> Vec<&str> {
        state.job_groups.keys().map(|a| a.name.as_str()).collect()
    }

    fn ids(intents: &[Intent]) -> Vec<&str> {
        intents.iter().map(|intent| intent.id.0.as_str()).collect()
    }

    #[test]
    fn a_missing_state_loads_as_none_and_writes_nothing_but_the_lock() {
        let directory = tempfile::tempdir().unwrap();
        let backend = open(&directory);
        let recovered = block_on(backend.load()).unwrap();
        assert_eq!(
            recovered,
            Recovered {
                state: None,
                unresolved: vec![],
                warnings: vec![]
            }
        );
        let compacted = block_on(backend.compact()).unwrap();
        assert_eq!(compacted.state, None);
        assert_eq!(
            file_names(&directory.path().join(".cityform")),
            ["state.json.lock"]
        );
    }

    #[test]
    fn create_writes_serial_one_and_refuses_a_second_time() {
        let directory = tempfile::tempdir().unwrap();
        let backend = open(&directory);
        let created = block_on(backend.create(State::new("lineage-1"))).unwrap();
        assert_eq!(created.serial, 1);
        assert_eq!(block_on(backend.load()).unwrap().state, Some(created));
        let error = block_on(backend.create(State::new("lineage-2"))).unwrap_err();
        assert!(
            matches!(
                error,
                StateError::LocalFile(LocalFileError::AlreadyExists { .. })
            ),
            "{error:?}"
        );
    }

    #[test]
    fn appending_before_a_state_exists_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let backend = open(&directory);
        let error = block_on(backend.append(&[intent("i-1", "a")])).unwrap_err();
        assert!(
            matches!(error, StateError::LocalFile(LocalFileError::NoState { .. })),
            "{error:?}"
        );
        assert!(!backend.paths().journal.exists());
    }

    #[test]
    fn after_a_crash_the_journal_replays_onto_the_state_with_open_intents() {
        let directory = tempfile::tempdir().unwrap();
        let records = [
            intent("i-1", "a"),
            intent("i-2", "b"),
            put("a", "jg-a", Some("i-1")),
            intent("i-3", "c"),
        ];
        let paths = crashed_with(&directory, &records);
        let on_disk = read_state_file(&paths.state).unwrap().unwrap();
        assert!(
            on_disk.job_groups.is_empty(),
            "appends do not rewrite the state file"
        );

        let recovered = block_on(open(&directory).load()).unwrap();

        let state = recovered.state.unwrap();
        assert_eq!(names(&state), ["a"]);
        assert_eq!(state.serial, 1 + 4, "each record counts as a write");
        assert_eq!(ids(&recovered.unresolved), ["i-2", "i-3"]);
        assert!(recovered.warnings.is_empty());
    }

    #[test]
    fn compaction_folds_the_journal_and_keeps_unresolved_intents() {
        let directory = tempfile::tempdir().unwrap();
        let paths = crashed_with(
            &directory,
            &[
                intent("i-1", "a"),
                intent("i-2", "b"),
                put("a", "jg-a", Some("i-1")),
                put("old", "jg-old", None),
                JournalRecord::Remove(Remove {
                    address: address("old"),
                    intent: None,
                }),
            ],
        );
        let backend = open(&directory);

        let compacted = block_on(backend.compact()).unwrap();

        let state = compacted.state.clone().unwrap();
        // 1 (created) + 5 records + 1 (this write) + 1 kept intent.
        assert_eq!(state.serial, 8);
        assert_eq!(names(&state), ["a"]);
        let on_disk = read_state_file(&paths.state).unwrap().unwrap();
        assert_eq!(on_disk.serial, 7);
        assert_eq!(on_disk.job_groups, state.job_groups);
        let journal = parse_journal(&fs::read(&paths.journal).unwrap()).unwrap();
        assert_eq!(journal.records, [intent("i-2", "b")]);
        assert_eq!(ids(&compacted.unresolved), ["i-2"]);
        // The previous state is the backup.
        let backup = read_state_file(&paths.backup).unwrap().unwrap();
        assert_eq!((backup.serial, backup.job_groups.len()), (1, 0));

        // The kept intent survives a reload, and is resolved by a later record.
        drop(backend);
        let backend = open(&directory);
        let reloaded = block_on(backend.load()).unwrap();
        assert_eq!(reloaded.state, Some(state));
        assert_eq!(ids(&reloaded.unresolved), ["i-2"]);
        block_on(backend.append(&[JournalRecord::Settle(Settle {
            id: IntentId("i-2".into()),
        })]))
        .unwrap();
        let compacted = block_on(backend.compact()).unwrap();
        assert!(compacted.unresolved.is_empty());
        assert_eq!(compacted.state.unwrap().serial, 10);
        assert!(!paths.journal.exists(), "nothing left to keep");
    }

    #[test]
    fn every_change_raises_the_serial_a_load_reports() {
        let directory = tempfile::tempdir().unwrap();
        let backend = open(&directory);
        let mut serials = Vec::new();
        block_on(async {
            backend.create(State::new("lineage-1")).await.unwrap();
            serials.push(backend.load().await.unwrap().state.unwrap().serial);
            backend.append(&[intent("i-1", "a")]).await.unwrap();
            serials.push(backend.load().await.unwrap().state.unwrap().serial);
            serials.push(backend.compact().await.unwrap().state.unwrap().serial);
            serials.push(backend.load().await.unwrap().state.unwrap().serial);
            backend
                .append(&[put("a", "jg-a", Some("i-1"))])
                .await
                .unwrap();
            serials.push(backend.load().await.unwrap().state.unwrap().serial);
            serials.push(backend.compact().await.unwrap().state.unwrap().serial);
        });
        // Unchanged between the compaction and the load after it; higher after each change.
        assert_eq!(serials, [1, 2, 4, 4, 5, 6]);
    }

    #[test]
    fn a_load_to_change_is_kept_and_a_plain_load_is_not() {
        let directory = tempfile::tempdir().unwrap();
        let paths = crashed_with(&directory, &[put("a", "jg-a", None)]);
        // Files changed under the lock (which nothing but this backend may do) show what
        // each kind of load leaves for the compaction: a kept state, or a reading.
        let unreadable = |paths: &StatePaths| fs::write(&paths.state, "{").unwrap();
        let state_before = fs::read(&paths.state).unwrap();

        let backend = open(&directory);
        let loaded = block_on(backend.load_to_change()).unwrap();
        unreadable(&paths);
        let compacted = block_on(backend.compact()).unwrap();
        assert_eq!(
            compacted.state.as_ref().unwrap().job_groups,
            loaded.state.unwrap().job_groups
        );
        assert_eq!(
            names(&read_state_file(&paths.state).unwrap().unwrap()),
            ["a"]
        );
        drop(backend);

        fs::write(&paths.state, &state_before).unwrap();
        fs::write(
            &paths.journal,
            encode_line(&JournalHeader::new("lineage-1")).unwrap(),
        )
        .unwrap();
        let backend = open(&directory);
        block_on(backend.load()).unwrap();
        unreadable(&paths);
        block_on(backend.compact()).unwrap_err();
    }

    #[test]
    fn compaction_without_a_journal_writes_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let backend = open(&directory);
        block_on(backend.create(State::new("lineage-1"))).unwrap();
        let compacted = block_on(backend.compact()).unwrap();
        assert_eq!(compacted.state.unwrap().serial, 1);
        assert!(!backend.paths().backup.exists());
    }

    #[test]
    fn a_crash_between_writing_the_state_and_rewriting_the_journal_loses_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let records = [
            intent("i-1", "a"),
            put("a", "jg-a", Some("i-1")),
            intent("i-2", "b"),
        ];
        let paths = crashed_with(&directory, &records);
        let expected = block_on(open(&directory).load()).unwrap();
        // The first half of a compaction: the folded state is written, the journal stays.
        write_state_file(&paths.state, expected.state.clone().unwrap()).unwrap();

        let recovered = block_on(open(&directory).load()).unwrap();

        let mut state = recovered.state.unwrap();
        // 1 (created) + 3 records, + 1 for the write, + the 3 records again.
        assert_eq!(state.serial, 8);
        state.serial = 4;
        assert_eq!(Some(state), expected.state);
        assert_eq!(recovered.unresolved, expected.unresolved);
    }

    #[test]
    fn a_torn_tail_is_reported_then_cut_by_the_next_append() {
        let directory = tempfile::tempdir().unwrap();
        let paths = crashed_with(
            &directory,
            &[intent("i-1", "a"), put("a", "jg-a", Some("i-1"))],
        );
        let complete = fs::read(&paths.journal).unwrap();
        let mut torn = complete.clone();
        torn.extend_from_slice(&encode_line(&put("b", "jg-b", None)).unwrap()[..30]);
        fs::write(&paths.journal, &torn).unwrap();
        let backend = open(&directory);

        let recovered = block_on(backend.load()).unwrap();

        assert_eq!(names(recovered.state.as_ref().unwrap()), ["a"]);
        let [StateWarning::DamagedJournalTail { path, tail }] = &recovered.warnings[..] else {
            panic!("expected one damaged tail, got {:?}", recovered.warnings);
        };
        assert_eq!(path, &paths.journal);
        assert_eq!(
            (tail.line, tail.offset, tail.length),
            (4, complete.len() as u64, 30)
        );
        assert_eq!(
            recovered.warnings[0].to_string(),
            format!(
                "journal `{}` ends in a damaged record at line 4 (byte offset {}, 30 bytes: incomplete record (no end of line)); \
                 every record before it was recovered, and the damaged bytes will be dropped",
                paths.journal.display(),
                complete.len()
            )
        );

        block_on(backend.append(&[put("c", "jg-c", None)])).unwrap();
        drop(backend);
        let recovered = block_on(open(&directory).load()).unwrap();
        assert!(recovered.warnings.is_empty(), "{:?}", recovered.warnings);
        assert_eq!(names(&recovered.state.unwrap()), ["a", "c"]);
    }

    #[test]
    fn a_corrupt_middle_is_an_error_and_nothing_is_changed() {
        let directory = tempfile::tempdir().unwrap();
        let paths = crashed_with(
            &directory,
            &[intent("i-1", "a"), intent("i-2", "b"), intent("i-3", "c")],
        );
        let mut bytes = fs::read(&paths.journal).unwrap();
        let third_line = bytes
            .iter()
            .enumerate()
            .filter(|(_, byte)| **byte == b'\n')
            .nth(1)
            .unwrap()
            .0
            + 1;
        bytes[third_line + 30] = b'#';
        fs::write(&paths.journal, &bytes).unwrap();
        let state_before = fs::read(&paths.state).unwrap();
        let backend = open(&directory);

        let error = block_on(backend.load()).unwrap_err();
        let compact_error = block_on(backend.compact()).unwrap_err();
        let append_error = block_on(backend.append(&[intent("i-4", "d")])).unwrap_err();

        let expected = format!(
            "journal `{}` is corrupt at line 3 (byte offset {third_line}): checksum mismatch, and intact records follow it",
            paths.journal.display()
        );
        assert_eq!(error.to_string(), expected);
        assert_eq!(compact_error.to_string(), expected);
        assert_eq!(append_error.to_string(), expected);
        assert_eq!(fs::read(&paths.journal).unwrap(), bytes);
        assert_eq!(fs::read(&paths.state).unwrap(), state_before);
        assert!(!paths.backup.exists());
    }

    #[test]
    fn a_journal_of_another_lineage_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let paths = crashed_with(&directory, &[intent("i-1", "a")]);
        write_state_file(&paths.state, State::new("lineage-2")).unwrap();
        let error = block_on(open(&directory).load()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "journal `{}` belongs to lineage `lineage-1`, but state file `{}` has lineage `lineage-2`",
                paths.journal.display(),
                paths.state.display()
            )
        );
    }

    #[test]
    fn a_journal_without_its_state_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let paths = crashed_with(&directory, &[intent("i-1", "a")]);
        fs::remove_file(&paths.state).unwrap();
        let backend = open(&directory);
        let error = block_on(backend.load()).unwrap_err();
        assert!(
            matches!(error, StateError::Journal(JournalError::Orphan { .. })),
            "{error:?}"
        );
        let error = block_on(backend.create(State::new("lineage-2"))).unwrap_err();
        assert!(
            matches!(error, StateError::Journal(JournalError::Orphan { .. })),
            "{error:?}"
        );
        assert!(!paths.state.exists());
    }

    #[test]
    fn the_backend_holds_the_lock_while_it_lives() {
        let directory = tempfile::tempdir().unwrap();
        let backend = open(&directory);
        let error = LocalBackend::open(
            directory.path().join(".cityform/state.json"),
            &LockOptions::new("cityform plan"),
        )
        .unwrap_err();
        assert!(error.to_string().ends_with("(`cityform test`)"), "{error}");
        drop(backend);
        open(&directory);
    }

    #[test]
    fn concurrent_appends_through_the_backend_share_flushes() {
        let directory = tempfile::tempdir().unwrap();
        let backend = Arc::new(open(&directory));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .build()
            .unwrap();
        let flushes = runtime.block_on(async {
            backend.load().await.unwrap();
            backend.create(State::new("lineage-1")).await.unwrap();
            let mut tasks = tokio::task::JoinSet::new();
            for worker in 0..32 {
                let backend = Arc::clone(&backend);
                tasks.spawn(async move {
                    for index in 0..20 {
                        let name = format!("group-{worker}-{index}");
                        let id = format!("i-{worker}-{index}");
                        backend.append(&[intent(&id, &name)]).await.unwrap();
                        backend
                            .append(&[put(&name, "jg", Some(&id))])
                            .await
                            .unwrap();
                    }
                });
            }
            while let Some(result) = tasks.join_next().await {
                result.unwrap();
            }
            backend.journal_flushes().await
        });
        assert!(flushes < 1280, "{flushes} flushes for 1280 records");

        let recovered = runtime.block_on(backend.compact()).unwrap();
        assert_eq!(recovered.state.unwrap().job_groups.len(), 640);
        assert!(recovered.unresolved.is_empty());
        assert_eq!(
            runtime.block_on(backend.journal_flushes()),
            flushes,
            "closing the writer keeps its count"
        );
    }

    #[cfg(unix)]
    #[test]
    fn every_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().unwrap();
        let paths = crashed_with(&directory, &[intent("i-1", "a"), intent("i-2", "b")]);
        let backend = open(&directory);
        block_on(backend.compact()).unwrap();
        for path in [&paths.state, &paths.backup, &paths.journal, &paths.lock] {
            let mode = fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        }
    }

    /// With `--state link.json` pointing at `dir/state.json`, a write replaced the link with
    /// a regular file and made `link.json.backup` the symlink, and the two paths had two
    /// locks: the state is used where it really is.
    #[cfg(unix)]
    #[test]
    fn a_symlinked_state_is_locked_written_and_backed_up_where_it_is() {
        let directory = tempfile::tempdir().unwrap();
        let real = directory.path().join("dir/state.json");
        let link = directory.path().join("link.json");
        let real_backend = LocalBackend::open(&real, &LockOptions::new("cityform test")).unwrap();
        block_on(real_backend.create(State::new("lineage-1"))).unwrap();
        drop(real_backend);
        std::os::unix::fs::symlink("dir/state.json", &link).unwrap();

        let backend = LocalBackend::open(&link, &LockOptions::new("cityform test")).unwrap();
        let error = LocalBackend::open(&real, &LockOptions::new("cityform plan")).unwrap_err();
        assert!(
            matches!(error, StateError::LocalFile(LocalFileError::Locked { .. })),
            "{error:?}"
        );
        block_on(async {
            backend.load_to_change().await.unwrap();
            backend.append(&[intent("i-1", "a")]).await.unwrap();
            backend.compact().await.unwrap();
        });
        drop(backend);

        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            file_names(directory.path()),
            ["dir", "link.json"],
            "nothing beside the link"
        );
        assert_eq!(
            file_names(&directory.path().join("dir")),
            [
                "state.json",
                "state.json.backup",
                "state.json.journal",
                "state.json.lock"
            ]
        );
        let state = read_state_file(&real).unwrap().unwrap();
        assert_eq!(state.serial, 3);
    }

    /// Opens the state at `path` and loads it in a thread: `None` when that has not
    /// finished within 10 seconds.
    #[cfg(unix)]
    fn load_within_seconds(path: PathBuf) -> Option<Result<Recovered, StateError>> {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let result = LocalBackend::open(&path, &LockOptions::new("cityform test"))
                .and_then(|backend| block_on(backend.load()));
            let _ = sender.send(result);
        });
        receiver
            .recv_timeout(std::time::Duration::from_secs(10))
            .ok()
    }

    #[cfg(unix)]
    fn make_fifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "mkfifo {}", path.display());
    }

    /// `--state /dev/zero` grew to 13 GB, a FIFO as the state hung forever, `--state
    /// /dev/null` created `/dev/null.lock`: only a regular file is a
    /// state, and nothing is created beside anything else.
    #[cfg(unix)]
    #[test]
    fn a_device_or_a_fifo_is_never_a_state() {
        for device in ["/dev/null", "/dev/zero"] {
            let error = load_within_seconds(PathBuf::from(device))
                .expect("loading a device hung")
                .unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("state file `{device}` is a character device, not a regular file")
            );
            assert!(!Path::new(&format!("{device}.lock")).exists());
        }

        let directory = tempfile::tempdir().unwrap();
        let fifo = directory.path().join("state.json");
        make_fifo(&fifo);
        let error = load_within_seconds(fifo.clone())
            .expect("loading a FIFO hung")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "state file `{}` is a FIFO, not a regular file",
                fifo.display()
            )
        );
        assert_eq!(file_names(directory.path()), ["state.json"]);

        // A companion file that is a FIFO is refused as well, before anything reads it.
        let directory = tempfile::tempdir().unwrap();
        let paths = crashed_with(&directory, &[intent("i-1", "a")]);
        fs::remove_file(&paths.journal).unwrap();
        make_fifo(&paths.journal);
        let error = load_within_seconds(paths.state.clone())
            .expect("loading a state whose journal is a FIFO hung")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "journal `{}` is a FIFO, not a regular file",
                paths.journal.display()
            )
        );
    }

    /// A state file larger than the limit is refused before it is read.
    #[test]
    fn a_state_over_the_size_limit_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let paths = crashed_with(&directory, &[]);
        let length = fs::metadata(&paths.state).unwrap().len();
        let backend = open(&directory).with_max_state_bytes(length - 1);
        let error = block_on(backend.load()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "state file `{}` is {length} bytes, over the state size limit of {} bytes",
                paths.state.display(),
                length - 1
            )
        );
        assert!(error.hint().unwrap().contains("CITYFORM_MAX_STATE_BYTES"));
        drop(backend);
        let backend = open(&directory).with_max_state_bytes(length);
        block_on(backend.load()).unwrap();
    }

    /// A journal whose first line is not a journal header was taken for a damaged tail and
    /// cut off at the next append: a journal that cannot be identified is
    /// refused, and kept.
    #[test]
    fn a_journal_that_cannot_be_identified_is_refused_and_kept() {
        let directory = tempfile::tempdir().unwrap();
        let paths = crashed_with(&directory, &[intent("i-1", "a")]);
        let garbage = b"these are somebody's notes\nand not a journal\n".to_vec();
        fs::write(&paths.journal, &garbage).unwrap();
        let backend = open(&directory);

        let error = block_on(backend.load()).unwrap_err();
        let append_error = block_on(backend.append(&[intent("i-2", "b")])).unwrap_err();
        let compact_error = block_on(backend.compact()).unwrap_err();

        let expected = format!(
            "journal `{}` cannot be identified: its first line is not a journal header (not a checksummed record)",
            paths.journal.display()
        );
        assert_eq!(error.to_string(), expected);
        assert_eq!(append_error.to_string(), expected);
        assert_eq!(compact_error.to_string(), expected);
        assert!(error.hint().unwrap().contains("move it aside"));
        assert_eq!(fs::read(&paths.journal).unwrap(), garbage);
    }

    /// The text of the first fenced block of `language` in `docs/state.md`.
    fn documented(language: &str) -> String {
        let document = include_str!("../../docs/state.md");
        let start = document.find(&format!("```{language}\n")).unwrap() + language.len() + 4;
        let length = document[start..].find("```\n").unwrap();
        document[start..start + length].to_owned()
    }

    #[test]
    fn the_documented_files_load() {
        let directory = tempfile::tempdir().unwrap();
        let paths = StatePaths::new(directory.path().join("state.json")).unwrap();
        fs::write(&paths.state, documented("json")).unwrap();
        fs::write(&paths.journal, documented("text")).unwrap();
        let backend = LocalBackend::open(&paths.state, &LockOptions::new("test")).unwrap();

        let recovered = block_on(backend.load()).unwrap();

        assert_eq!(
            names(&recovered.state.unwrap()),
            ["traffic-east", "traffic-west"]
        );
        assert!(recovered.unresolved.is_empty());
        assert!(recovered.warnings.is_empty());
    }

    /// Every recorded action of the state in `backend`.
    fn whole_history(backend: &LocalBackend) -> History {
        block_on(async {
            let state = backend.load().await.unwrap().state.unwrap();
            backend
                .history(&state, HistorySelection::All)
                .await
                .unwrap()
        })
    }

    fn history_record(name: &str, minute: i64) -> JournalRecord {
        JournalRecord::History(crate::state::fixtures::history_entry(
            name,
            minute,
            "3f2a9c1e5b7d9f0a1c3e5b7d9f0a1c3e5b7d9f0a",
        ))
    }

    /// A state file of the layout before the history file, its history inside it.
    const EMBEDDED: &str = include_str!("../../tests/data/embedded-history-state.json");

    #[test]
    fn a_state_with_its_history_inside_is_read_as_it_is_and_moved_out_at_its_first_write() {
        let directory = tempfile::tempdir().unwrap();
        let paths = StatePaths::new(directory.path().join(".cityform/state.json")).unwrap();
        fs::create_dir_all(paths.directory()).unwrap();
        fs::write(&paths.state, EMBEDDED).unwrap();

        // Reading: the groups and the history, and nothing written.
        let backend = open(&directory);
        let state = block_on(backend.load()).unwrap().state.unwrap();
        assert_eq!(names(&state), ["alpha", "traffic-east"]);
        assert_eq!(state.serial, 7);
        let embedded = whole_history(&backend);
        assert_eq!(embedded.len(), 3);
        let east = crate::model::Address::new("cn-shanghai", "cityvisual-Instance", "traffic-east");
        let wanted = std::collections::BTreeSet::from([east.clone()]);
        let of_east = block_on(backend.history(&state, HistorySelection::Groups(&wanted))).unwrap();
        assert_eq!(of_east.len(), 2);
        assert_eq!(
            of_east
                .last_applied(&east)
                .unwrap()
                .provenance
                .short_commit(),
            Some("9c0ffee")
        );
        drop(backend);
        assert_eq!(fs::read_to_string(&paths.state).unwrap(), EMBEDDED);
        assert!(!paths.history.exists());

        // The first write moves the history out; the state keeps its groups.
        let backend = open(&directory);
        block_on(async {
            backend.load_to_change().await.unwrap();
            backend
                .append(&[put("gamma", "jg-3", None), history_record("gamma", 9)])
                .await
                .unwrap();
        });
        let written = fs::read_to_string(&paths.state).unwrap();
        assert!(!written.contains("\"history\""), "{written}");
        assert!(written.contains("\"checksum\""));
        assert!(paths.history.exists());
        block_on(backend.compact()).unwrap();
        drop(backend);

        let backend = open(&directory);
        let state = block_on(backend.load()).unwrap().state.unwrap();
        assert_eq!(names(&state), ["alpha", "gamma", "traffic-east"]);
        assert!(state.serial > 7);
        let moved = whole_history(&backend);
        assert_eq!(moved.len(), 4);
        let mut newest_first = moved.newest_first();
        assert_eq!(newest_first.next().unwrap().address, address("gamma"));
        assert!(
            newest_first.eq(embedded.newest_first()),
            "the old entries, in order"
        );
    }

    #[test]
    fn a_journal_folded_again_after_a_crash_records_nothing_twice() {
        let directory = tempfile::tempdir().unwrap();
        let paths = crashed_with(
            &directory,
            &[
                put("a", "jg-a", None),
                history_record("a", 0),
                put("b", "jg-b", None),
                history_record("b", 1),
            ],
        );
        let journal = fs::read(&paths.journal).unwrap();
        let backend = open(&directory);
        block_on(backend.compact()).unwrap();
        drop(backend);
        assert!(!paths.journal.exists());
        assert_eq!(whole_history(&open(&directory)).len(), 2);

        // A crash after the state was written and before the journal was removed.
        fs::write(&paths.journal, &journal).unwrap();
        let backend = open(&directory);
        let recovered = block_on(backend.compact()).unwrap();
        assert_eq!(names(recovered.state.as_ref().unwrap()), ["a", "b"]);
        drop(backend);
        let history = whole_history(&open(&directory));
        assert_eq!(history.len(), 2, "nothing recorded twice");
    }

    #[test]
    fn the_history_includes_what_the_journal_has_not_folded_in_yet() {
        let directory = tempfile::tempdir().unwrap();
        crashed_with(
            &directory,
            &[put("a", "jg-a", None), history_record("a", 0)],
        );
        let backend = open(&directory);
        assert_eq!(whole_history(&backend).len(), 1);
        block_on(backend.compact()).unwrap();
        block_on(backend.append(&[put("a", "jg-a2", None), history_record("a", 1)])).unwrap();
        assert_eq!(whole_history(&backend).len(), 2);
    }

    #[test]
    fn a_history_left_by_a_state_that_is_gone_is_not_taken_over() {
        let directory = tempfile::tempdir().unwrap();
        let paths = crashed_with(
            &directory,
            &[put("a", "jg-a", None), history_record("a", 0)],
        );
        block_on(open(&directory).compact()).unwrap();
        fs::remove_file(&paths.state).unwrap();
        let backend = open(&directory);
        let error = block_on(backend.create(State::new("lineage-2"))).unwrap_err();
        assert!(
            error.to_string().contains("exists but the state file"),
            "{error}"
        );
        assert!(!paths.state.exists());
    }
}
