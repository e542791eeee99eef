//! The local backend's side of the history file (`state.json.history`, format in
//! [`super::history::file`]): folding a journal's `history` records into it when the journal
//! is compacted, moving the history out of a state file of the earlier layout at its first
//! write, keeping the file at the state's retention, and reading the history with whatever
//! the journal holds that is not folded in yet.
//!
//! While a run appends, its `history` records live only in the journal (made durable with the
//! result they belong to, in the same sync); nothing keeps them in memory. Compaction reads
//! them back from the journal, streaming, before it rewrites the journal.

use std::io::{BufRead, BufReader};
use std::path::Path;

use super::history::file as history_file;
use super::history::{History, HistoryEntry, HistorySelection};
use super::journal::{JournalRecord, verify_line};
use super::paths::StatePaths;
use super::{JournalError, State, StateError};

/// The start of a journal line's JSON when it is a `history` record (serde writes the tag
/// first).
const HISTORY_RECORD_START: &[u8] = br#"{"kind":"history""#;

/// Calls `visit` with every `history` record of the journal at `path`, in order; stops at a
/// damaged tail. Nothing when there is no journal.
fn visit_journal_history(
    path: &Path,
    visit: &mut dyn FnMut(HistoryEntry) -> Result<(), StateError>,
) -> Result<(), StateError> {
    let read_error = history_file::read_error(path);
    let Some(file) = history_file::open_if_present(path)? else {
        return Ok(());
    };
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut line = Vec::with_capacity(1024);
    let mut number = 0usize;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(read_error)? == 0 {
            return Ok(());
        }
        number += 1;
        let Some(body) = line.strip_suffix(b"\n") else {
            return Ok(());
        };
        let Ok(json) = verify_line(body) else {
            return Ok(());
        };
        if number == 1 || !json.starts_with(HISTORY_RECORD_START) {
            continue;
        }
        match serde_json::from_slice::<JournalRecord>(json) {
            Ok(JournalRecord::History(entry)) => visit(entry)?,
            Ok(_) => {}
            Err(error) => {
                return Err(StateError::from(JournalError::Unreadable {
                    path: path.to_path_buf(),
                    line: number,
                    column: error.column(),
                    message: crate::state::file::without_position(&error),
                }));
            }
        }
    }
}

/// Appends the journal's `history` records to the history file (see
/// [`history_file::fold`]), and syncs it. Returns how many were appended.
pub(super) fn fold_journal(
    paths: &StatePaths,
    lineage: &str,
    retain_per_group: usize,
) -> Result<usize, StateError> {
    history_file::fold(&paths.history, lineage, retain_per_group, &mut |visit| {
        visit_journal_history(&paths.journal, visit)
    })
}

/// Writes `embedded`, the history a state file of the earlier layout held, to the history
/// file, keeping what the file already holds (a migration cut short by a crash, or entries
/// recorded by this build before an older one wrote the state again) and adding only the
/// entries it lacks.
pub(super) fn move_out(
    paths: &StatePaths,
    lineage: &str,
    embedded: History,
) -> Result<(), StateError> {
    let merged = match history_file::read_all(&paths.history, lineage)? {
        None => embedded,
        Some(mut existing) => {
            existing.compact(usize::MAX);
            let retain_per_group = embedded.retain_per_group();
            let mut oldest_first: Vec<&HistoryEntry> = embedded.newest_first().collect();
            oldest_first.reverse();
            let missing: Vec<HistoryEntry> = oldest_first
                .into_iter()
                .filter(|entry| !existing.contains(entry))
                .cloned()
                .collect();
            let mut merged = History::new(usize::MAX);
            let mut kept: Vec<&HistoryEntry> = existing.newest_first().collect();
            kept.reverse();
            for entry in kept.into_iter().cloned().chain(missing) {
                merged.push(entry);
            }
            merged.compact(retain_per_group);
            merged
        }
    };
    history_file::write_whole(&paths.history, lineage, merged)
}

/// Rewrites the history file when its retention is not `retain_per_group`, dropping each
/// group's oldest entries beyond it.
pub(super) fn keep_retention(
    paths: &StatePaths,
    lineage: &str,
    retain_per_group: usize,
) -> Result<(), StateError> {
    if history_file::stored_retention(&paths.history, lineage)?
        .is_none_or(|stored| stored == retain_per_group)
    {
        return Ok(());
    }
    let Some(mut history) = history_file::read_all(&paths.history, lineage)? else {
        return Ok(());
    };
    history.compact(retain_per_group);
    history_file::write_whole(&paths.history, lineage, history)
}

/// The history of `state` as `selection` asks: the history file's entries and then the
/// journal's that are not folded in yet, trimmed to the state's retention. `embedded` is the
/// history of a state file of the earlier layout, read instead of the history file.
pub(super) fn read(
    paths: &StatePaths,
    state: &State,
    selection: HistorySelection<'_>,
    embedded: Option<&History>,
) -> Result<History, StateError> {
    let mut history = match (embedded, selection) {
        (Some(embedded), HistorySelection::All) => embedded.clone(),
        (Some(embedded), HistorySelection::Groups(addresses)) => {
            let mut chosen = History::new(usize::MAX);
            let mut oldest_first: Vec<&HistoryEntry> = embedded
                .newest_first()
                .filter(|entry| addresses.contains(&entry.address))
                .collect();
            oldest_first.reverse();
            for entry in oldest_first {
                chosen.push(entry.clone());
            }
            chosen
        }
        (None, HistorySelection::All) => {
            history_file::read_all(&paths.history, &state.lineage)?.unwrap_or_default()
        }
        (None, HistorySelection::Groups(addresses)) => {
            history_file::read_groups(&paths.history, &state.lineage, addresses)?
                .unwrap_or_default()
        }
    };
    history.compact(usize::MAX);
    visit_journal_history(&paths.journal, &mut |entry| {
        if selection.wants(&entry.address) && !history.contains(&entry) {
            history.push(entry);
        }
        Ok(())
    })?;
    history.compact(state.history_retention);
    Ok(history)
}
