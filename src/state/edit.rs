//! Editing what the state records without calling the service: forgetting groups (`state
//! rm`: cityform no longer manages them, they keep running) and recording a group under
//! another address (`state mv`: the next apply renames it). Each edit is journal records with
//! a history entry per group carrying the edit's provenance, then a compaction.

use super::history::{HistoryAction, HistoryEntry, Moved};
use super::journal::{JournalRecord, Put, Remove};
use super::{Backend, State, StateError, StateWarning};
use crate::model::{Address, validate_job_group_name};
use crate::provenance::RunContext;

/// Why an edit was refused or failed. Nothing is written when it is refused.
#[derive(Debug, thiserror::Error)]
pub enum StateEditError {
    /// There is no state.
    #[error("there is no state at `{path}`: nothing is recorded yet")]
    NoState {
        /// The state file, or the PostgreSQL state without a password.
        path: String,
    },
    /// The state does not record the address.
    #[error("the state does not record `{address}`; `cityform state list` shows what it records")]
    NotRecorded {
        /// The address.
        address: Address,
    },
    /// A move onto an address the state already records.
    #[error(
        "the state already records `{address}` (id `{job_group_id}`); forget that one first \
         with `cityform state rm {address}`, or choose another address"
    )]
    DestinationTaken {
        /// The address.
        address: Address,
        /// The id recorded there.
        job_group_id: String,
    },
    /// A move to another region or instance.
    #[error(
        "cannot move `{source_address}` to `{destination}`: a job group cannot change region or \
         instance, only its name"
    )]
    OtherInstance {
        /// The recorded address.
        source_address: Address,
        /// The address asked for.
        destination: Address,
    },
    /// A move to a name the service would refuse.
    #[error("cannot move to `{destination}`: {reason}")]
    InvalidName {
        /// The address asked for.
        destination: Address,
        /// Why the name is refused.
        reason: String,
    },
    /// The state could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
}

/// A group the state no longer records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgotten {
    /// Where it was recorded.
    pub address: Address,
    /// Its id.
    pub job_group_id: String,
}

/// Forgets the groups at `addresses` (each once, in the order given), recording each in the
/// history with `provenance` when there is one. Refuses, writing nothing, when the state
/// records any of them not.
pub async fn forget<B: Backend>(
    backend: &B,
    addresses: &[Address],
    provenance: Option<&RunContext>,
    on_warning: &mut (dyn FnMut(&StateWarning) + Send),
) -> Result<Vec<Forgotten>, StateEditError> {
    let state = load_to_change(backend, on_warning).await?;
    let mut records = Vec::new();
    let mut forgotten: Vec<Forgotten> = Vec::new();
    for address in addresses {
        let entry = state
            .job_groups
            .get(address)
            .ok_or_else(|| StateEditError::NotRecorded {
                address: address.clone(),
            })?;
        if forgotten.iter().any(|seen| &seen.address == address) {
            continue;
        }
        records.push(JournalRecord::Remove(Remove {
            address: address.clone(),
            intent: None,
        }));
        records.extend(history_record(
            provenance,
            HistoryAction::Forget,
            address,
            &entry.job_group_id,
            None,
        ));
        forgotten.push(Forgotten {
            address: address.clone(),
            job_group_id: entry.job_group_id.clone(),
        });
    }
    backend.append(&records).await?;
    backend.compact().await?;
    Ok(forgotten)
}

/// Records the group at `from` under `to` instead (same region and instance, a name the
/// service accepts, an address the state does not record yet), in the history under both
/// addresses; returns its id. The group keeps its live name until the next apply.
pub async fn move_group<B: Backend>(
    backend: &B,
    from: &Address,
    to: &Address,
    provenance: Option<&RunContext>,
    on_warning: &mut (dyn FnMut(&StateWarning) + Send),
) -> Result<String, StateEditError> {
    if (&from.region_id, &from.instance_id) != (&to.region_id, &to.instance_id) {
        return Err(StateEditError::OtherInstance {
            source_address: from.clone(),
            destination: to.clone(),
        });
    }
    if let Err(error) = validate_job_group_name(&to.name) {
        return Err(StateEditError::InvalidName {
            destination: to.clone(),
            reason: error.to_string(),
        });
    }
    let state = load_to_change(backend, on_warning).await?;
    let entry = state
        .job_groups
        .get(from)
        .ok_or_else(|| StateEditError::NotRecorded {
            address: from.clone(),
        })?;
    if let Some(taken) = state.job_groups.get(to) {
        return Err(StateEditError::DestinationTaken {
            address: to.clone(),
            job_group_id: taken.job_group_id.clone(),
        });
    }
    let moved = Moved {
        from: from.clone(),
        to: to.clone(),
    };
    let mut records = vec![
        JournalRecord::Remove(Remove {
            address: from.clone(),
            intent: None,
        }),
        JournalRecord::Put(Put {
            address: to.clone(),
            entry: entry.clone(),
            intent: None,
        }),
    ];
    // Under both addresses, so that the history of either tells where the group went.
    for at in [from, to] {
        records.extend(history_record(
            provenance,
            HistoryAction::Move,
            at,
            &entry.job_group_id,
            Some(&moved),
        ));
    }
    backend.append(&records).await?;
    backend.compact().await?;
    Ok(entry.job_group_id.clone())
}

/// The state, read to be changed; what reading it repaired goes to `on_warning`.
async fn load_to_change<B: Backend>(
    backend: &B,
    on_warning: &mut (dyn FnMut(&StateWarning) + Send),
) -> Result<State, StateEditError> {
    let recovered = backend.load_to_change().await?;
    recovered.warnings.iter().for_each(&mut *on_warning);
    recovered.state.ok_or_else(|| StateEditError::NoState {
        path: backend.location(),
    })
}

/// The history record of an edit of `address`: no manifest line and no call are behind it.
fn history_record(
    provenance: Option<&RunContext>,
    action: HistoryAction,
    address: &Address,
    job_group_id: &str,
    moved: Option<&Moved>,
) -> Option<JournalRecord> {
    let context = provenance?;
    Some(JournalRecord::History(HistoryEntry {
        address: address.clone(),
        action,
        job_group_id: job_group_id.to_owned(),
        provenance: context.for_group(None, None),
        moved: moved.cloned(),
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::JobGroupSpec;
    use crate::state::{HistorySelection, LocalBackend, LockOptions, StateEntry};

    fn backend_with(names: &[&str]) -> (tempfile::TempDir, LocalBackend) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json");
        let mut state = State::new("lineage-1");
        for (index, name) in names.iter().enumerate() {
            state.job_groups.insert(
                Address::example(*name),
                StateEntry::new(
                    (index + 1).to_string(),
                    JobGroupSpec::example(),
                    "R",
                    "2026-11-27T08:00:00Z",
                ),
            );
        }
        crate::state::write_state_file(&path, state).unwrap();
        let backend = LocalBackend::open(&path, &LockOptions::new("test")).unwrap();
        (directory, backend)
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn forgetting_removes_the_groups_once_each_and_records_it() {
        let (_directory, backend) = backend_with(&["a", "b", "c"]);
        let context = RunContext::without_git(None, &BTreeMap::new(), "host");
        let runtime = runtime();
        let forgotten = runtime
            .block_on(forget(
                &backend,
                &[
                    Address::example("a"),
                    Address::example("c"),
                    Address::example("a"),
                ],
                Some(&context),
                &mut |_| {},
            ))
            .unwrap();
        assert_eq!(
            forgotten
                .iter()
                .map(|f| f.job_group_id.as_str())
                .collect::<Vec<_>>(),
            ["1", "3"]
        );
        let state = runtime.block_on(backend.load()).unwrap().state.unwrap();
        assert_eq!(
            state.job_groups.keys().cloned().collect::<Vec<_>>(),
            [Address::example("b")]
        );
        let history = runtime
            .block_on(backend.history(&state, HistorySelection::All))
            .unwrap();
        assert_eq!(
            history
                .for_address(&Address::example("a"))
                .map(|entry| entry.action)
                .collect::<Vec<_>>(),
            [HistoryAction::Forget]
        );
    }

    #[test]
    fn an_unknown_address_is_refused_and_nothing_is_written() {
        let (_directory, backend) = backend_with(&["a"]);
        let runtime = runtime();
        let error = runtime
            .block_on(forget(
                &backend,
                &[Address::example("a"), Address::example("nobody")],
                None,
                &mut |_| {},
            ))
            .unwrap_err();
        assert!(
            matches!(error, StateEditError::NotRecorded { .. }),
            "{error}"
        );
        let state = runtime.block_on(backend.load()).unwrap().state.unwrap();
        assert_eq!(state.job_groups.len(), 1);
    }

    #[test]
    fn a_move_keeps_the_id_and_refuses_what_the_service_could_not_follow() {
        let (_directory, backend) = backend_with(&["alpha", "beta"]);
        let runtime = runtime();
        let (a, b, c) = (
            Address::example("alpha"),
            Address::example("beta"),
            Address::example("gamma"),
        );
        let taken = runtime
            .block_on(move_group(&backend, &a, &b, None, &mut |_| {}))
            .unwrap_err();
        assert!(
            matches!(taken, StateEditError::DestinationTaken { .. }),
            "{taken}"
        );
        let elsewhere = Address::new("cn-beijing", "cityvisual-Instance", "alpha");
        let other = runtime
            .block_on(move_group(&backend, &a, &elsewhere, None, &mut |_| {}))
            .unwrap_err();
        assert!(
            matches!(other, StateEditError::OtherInstance { .. }),
            "{other}"
        );
        assert_eq!(
            runtime
                .block_on(move_group(&backend, &a, &c, None, &mut |_| {}))
                .unwrap(),
            "1"
        );
        let state = runtime.block_on(backend.load()).unwrap().state.unwrap();
        assert_eq!(state.job_groups[&c].job_group_id, "1");
        assert!(!state.job_groups.contains_key(&a));
    }
}
