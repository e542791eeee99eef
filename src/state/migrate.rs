//! Copying a state from one backend to another without loss: every group, every
//! unresolved intent (a call whose outcome is still unknown must stay known as such), and
//! the history of recorded actions.
//!
//! Only [`Backend`] operations are used, so any two backends work: file to PostgreSQL,
//! PostgreSQL to file, one workspace to another. Both backends are locked while they exist,
//! so nothing changes either state during the copy.

use std::collections::BTreeSet;

use crate::state::journal::{JournalRecord, Put, Remove, Retention, Settle};
use crate::state::{Backend, History, HistorySelection, MigrateError, State, StateError};

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    /// What happened to the destination.
    pub outcome: MigrateOutcome,
    /// The state's lineage (the same on both sides afterwards); `None` when there was
    /// nothing to copy.
    pub lineage: Option<String>,
    /// Groups the destination records now.
    pub job_groups: usize,
    /// Unresolved intents the destination holds now.
    pub unresolved: usize,
    /// The destination's serial now (higher than the source's: the copy is a write).
    pub serial: Option<u64>,
}

/// What happened to the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateOutcome {
    /// The source has no state; nothing was written.
    NothingToCopy,
    /// The destination had no state; it now has the source's, lineage included.
    Created,
    /// The destination had an older version of the same state (same lineage, lower or
    /// equal serial); it was brought up to the source's with this many records (0 when
    /// both were equal already).
    Updated {
        /// Records appended to the destination.
        records: usize,
    },
}

/// Copies the state in `from` to `to`.
///
/// - `to` has no state: it gets the source's, lineage included.
/// - `to` has the same lineage: it is brought to the source's groups and unresolved intents,
///   and gets the history entries it lacks and the source's retention, unless it has
///   changes the source lacks (differences while its serial is higher), which is refused
///   with [`MigrateError::WouldLoseChanges`].
/// - `to` has another lineage: refused with [`MigrateError::LineageMismatch`]; nothing is
///   written.
///
/// The source is only read. The destination ends compacted, and its serial is higher than
/// the source's, so a plan saved against the source must be made again.
pub async fn migrate(from: &impl Backend, to: &impl Backend) -> Result<MigrateReport, StateError> {
    let source = from.load().await?;
    let Some(state) = source.state else {
        return Ok(MigrateReport {
            outcome: MigrateOutcome::NothingToCopy,
            lineage: None,
            job_groups: 0,
            unresolved: 0,
            serial: None,
        });
    };
    let history = from.history(&state, HistorySelection::All).await?;
    let destination = to.load().await?;
    let outcome = match destination.state {
        None => {
            to.create(state.clone()).await?;
            let mut records: Vec<JournalRecord> = source
                .unresolved
                .iter()
                .cloned()
                .map(JournalRecord::Intent)
                .collect();
            records.extend(history_changes(
                &History::new(state.history_retention),
                &history,
            ));
            to.append(&records).await?;
            MigrateOutcome::Created
        }
        Some(existing) if existing.lineage == state.lineage => {
            let existing_history = to.history(&existing, HistorySelection::All).await?;
            let mut records = differences(
                &existing,
                &destination.unresolved,
                &state,
                &source.unresolved,
            );
            if existing.history_retention != state.history_retention {
                records.push(JournalRecord::Retention(Retention {
                    retain_per_group: state.history_retention,
                }));
            }
            records.extend(history_changes(&existing_history, &history));
            if !records.is_empty() && existing.serial > state.serial {
                return Err(MigrateError::WouldLoseChanges {
                    from: from.location(),
                    from_serial: state.serial,
                    to: to.location(),
                    to_serial: existing.serial,
                }
                .into());
            }
            to.append(&records).await?;
            MigrateOutcome::Updated {
                records: records.len(),
            }
        }
        Some(existing) => {
            return Err(MigrateError::LineageMismatch {
                from: from.location(),
                from_lineage: state.lineage,
                to: to.location(),
                to_lineage: existing.lineage,
            }
            .into());
        }
    };
    let copied = to.compact().await?;
    let copied_state = copied.state.as_ref();
    Ok(MigrateReport {
        outcome,
        lineage: copied_state.map(|state| state.lineage.clone()),
        job_groups: copied_state.map_or(0, |state| state.job_groups.len()),
        unresolved: copied.unresolved.len(),
        serial: copied_state.map(|state| state.serial),
    })
}

/// The records that give the groups of `existing` those of `wanted`: a `put` of every
/// group that is new or differs, a `remove` of every group `wanted` lacks.
pub fn group_changes(existing: &State, wanted: &State) -> Vec<JournalRecord> {
    let mut records = Vec::new();
    for (address, entry) in &wanted.job_groups {
        if existing.job_groups.get(address) != Some(entry) {
            records.push(JournalRecord::Put(Put {
                address: address.clone(),
                entry: entry.clone(),
                intent: None,
            }));
        }
    }
    for address in existing.job_groups.keys() {
        if !wanted.job_groups.contains_key(address) {
            records.push(JournalRecord::Remove(Remove {
                address: address.clone(),
                intent: None,
            }));
        }
    }
    records
}

/// The `history` records that give `existing` the entries of `wanted` it lacks, oldest
/// first. Entries `existing` holds beyond `wanted` (older ones that `wanted` trimmed) stay
/// until its retention drops them. The retention itself is the state's, and is brought over
/// with the groups (a `retention` record, first, so that a larger one drops nothing as the
/// entries go in).
fn history_changes(existing: &History, wanted: &History) -> Vec<JournalRecord> {
    let mut missing: Vec<JournalRecord> = wanted
        .newest_first()
        .filter(|entry| !existing.contains(entry))
        .map(|entry| JournalRecord::History(entry.clone()))
        .collect();
    missing.reverse();
    missing
}

/// The records that turn `existing` (with its unresolved intents) into `wanted` (with its).
fn differences(
    existing: &State,
    existing_unresolved: &[crate::state::journal::Intent],
    wanted: &State,
    wanted_unresolved: &[crate::state::journal::Intent],
) -> Vec<JournalRecord> {
    let mut records = group_changes(existing, wanted);
    let wanted_ids: BTreeSet<_> = wanted_unresolved.iter().map(|intent| &intent.id).collect();
    let existing_ids: BTreeSet<_> = existing_unresolved
        .iter()
        .map(|intent| &intent.id)
        .collect();
    for intent in existing_unresolved {
        if !wanted_ids.contains(&intent.id) {
            records.push(JournalRecord::Settle(Settle {
                id: intent.id.clone(),
            }));
        }
    }
    for intent in wanted_unresolved {
        if !existing_ids.contains(&intent.id) {
            records.push(JournalRecord::Intent(intent.clone()));
        }
    }
    records
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::provenance::RunContext;
    use crate::state::fixtures::{address, entry, intent};
    use crate::state::journal::Intent;
    use crate::state::{History, HistoryAction, HistoryEntry};

    fn intent_of(record: JournalRecord) -> Intent {
        match record {
            JournalRecord::Intent(intent) => intent,
            other => panic!("not an intent: {other:?}"),
        }
    }

    #[test]
    fn differences_put_remove_settle_and_intend_only_what_differs() {
        let mut existing = State::new("l");
        existing
            .job_groups
            .insert(address("same"), entry("jg-same"));
        existing
            .job_groups
            .insert(address("changed"), entry("jg-old"));
        existing
            .job_groups
            .insert(address("gone"), entry("jg-gone"));
        let mut wanted = State::new("l");
        wanted.job_groups.insert(address("same"), entry("jg-same"));
        wanted
            .job_groups
            .insert(address("changed"), entry("jg-new"));
        wanted
            .job_groups
            .insert(address("added"), entry("jg-added"));
        let kept = intent_of(intent("i-kept", "x"));
        let resolved = intent_of(intent("i-resolved", "y"));
        let new = intent_of(intent("i-new", "z"));

        let records = differences(
            &existing,
            &[kept.clone(), resolved.clone()],
            &wanted,
            &[kept, new.clone()],
        );

        let (mut state, open) = crate::state::journal::replay(existing, &records);
        state.serial = wanted.serial;
        assert_eq!(state, wanted);
        assert_eq!(records.len(), 5, "{records:#?}");
        assert!(records.contains(&JournalRecord::Settle(Settle { id: resolved.id })));
        assert_eq!(open, [new]);
    }

    fn history_entry(name: &str, action: HistoryAction, minute: i64) -> HistoryEntry {
        let context = RunContext::without_git(None, &BTreeMap::new(), "host");
        HistoryEntry {
            address: address(name),
            action,
            job_group_id: format!("jg-{name}"),
            provenance: context.for_group_at(
                None,
                None,
                time::macros::datetime!(2026-11-27 08:00 UTC) + time::Duration::minutes(minute),
            ),
            moved: None,
        }
    }

    #[test]
    fn history_changes_bring_only_the_entries_the_destination_lacks() {
        let created = history_entry("a", HistoryAction::Create, 0);
        let mut existing = History::default();
        existing.push(created.clone());
        let mut wanted = History::new(5);
        for entry in [
            created,
            history_entry("a", HistoryAction::Update, 1),
            history_entry("b", HistoryAction::Create, 2),
        ] {
            wanted.push(entry);
        }

        let records = history_changes(&existing, &wanted);

        let minutes: Vec<JournalRecord> = [
            history_entry("a", HistoryAction::Update, 1),
            history_entry("b", HistoryAction::Create, 2),
        ]
        .into_iter()
        .map(JournalRecord::History)
        .collect();
        assert_eq!(records, minutes, "oldest first, only what is missing");
        assert!(
            history_changes(&wanted, &wanted).is_empty(),
            "equal histories need nothing"
        );
    }
}
