//! A plan's actions as the executor runs them: sorted into phases, and each one checked
//! against the state it is about to change. Pure: no I/O here.
//!
//! A run has four phases, one after the other: moves, imports and removals in the state
//! (so that an update that follows finds the group at its new address); creates, updates
//! and protections; then starts and stops (so that a group is started only once it exists
//! and has its new spec); then deletes ([`Action::phase`]). Within a phase, actions run in
//! parallel.

use std::collections::BTreeSet;

use super::report::{
    ActionFailure, ChangeKind, CreatedGroup, DeletedGroup, FailureReason, ProtectionChange,
    RecordedChange, RecoveredGroup, RecoveryReason, StatusChange, UpdatedGroup,
};
use crate::cloud::Retries;
use crate::manifest::SourceLocation;
use crate::model::{Address, JobGroupSpec, Status};
use crate::plan::Action;
use crate::state::{State, StateEntry};

/// How many phases a run has.
pub(crate) const PHASES: usize = 4;

/// One action, ready to run: with the state entry it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Work {
    /// `CreateJobGroup`.
    Create {
        address: Address,
        spec: JobGroupSpec,
        prevent_destroy: bool,
    },
    /// `ModifyJobGroup` of the attributes named.
    Update {
        address: Address,
        entry: StateEntry,
        attributes: Vec<String>,
        spec: JobGroupSpec,
        prevent_destroy: bool,
    },
    /// A new recorded protection; nothing is sent.
    Protect {
        address: Address,
        entry: StateEntry,
        prevent_destroy: bool,
    },
    /// `StartJobGroup` or `StopJobGroup`.
    SetStatus {
        address: Address,
        entry: StateEntry,
        to: Status,
    },
    /// `DeleteJobGroup`.
    Delete { address: Address, entry: StateEntry },
    /// The entry at `from` recorded at `address` instead; nothing is sent.
    Move {
        address: Address,
        from: Address,
        entry: StateEntry,
        source: SourceLocation,
    },
    /// A new entry for an existing group; nothing is sent.
    Import {
        address: Address,
        entry: StateEntry,
        source: SourceLocation,
    },
    /// The entry forgotten; nothing is sent.
    Forget {
        address: Address,
        entry: StateEntry,
        source: SourceLocation,
    },
}

/// How one action ended. A state error instead ends the whole run.
#[derive(Debug)]
pub(crate) enum ActionOutcome {
    /// With the retries of the call that did it, which the report does not keep.
    Created(CreatedGroup, Retries),
    Recovered(RecoveredGroup),
    Updated(UpdatedGroup, Retries),
    StatusChanged(StatusChange, Retries),
    Protected(ProtectionChange),
    Deleted(DeletedGroup, Retries),
    Recorded(RecordedChange),
    Failed(ActionFailure),
    /// The run stopped before its call was sent: nothing changed, any intent is settled.
    NotStarted(Address),
}

/// What the executor does with one planned action at the start of its phase.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Prepared {
    /// Run it.
    Run(Work),
    /// A create whose group the state already records (an unfinished create resolved after
    /// the plan was made): nothing is sent.
    AlreadyRecorded(RecoveredGroup),
    /// It cannot run: the state does not match the plan, or the group is protected.
    Refused(ActionFailure),
    /// A start of a group this run was to create, whose create did not happen.
    Waiting,
}

/// The kind of change `action` makes, when it makes one (orphans and blocked deletes make
/// none).
pub(crate) fn change_kind(action: &Action) -> Option<ChangeKind> {
    match action {
        Action::Create { .. } => Some(ChangeKind::Create),
        Action::Update { .. } => Some(ChangeKind::Update),
        Action::Protect { .. } => Some(ChangeKind::Protect),
        Action::SetStatus { to, .. } => Some(ChangeKind::for_status(*to)),
        Action::Delete { .. } => Some(ChangeKind::Delete),
        Action::Move { .. } => Some(ChangeKind::Move),
        Action::Import { .. } => Some(ChangeKind::Import),
        Action::Forget { .. } => Some(ChangeKind::Forget),
        Action::Orphan { .. } | Action::BlockedDelete { .. } => None,
    }
}

/// Checks `action` against `state` as it is at the start of the action's phase.
/// `recorded_by_run` holds the groups this run created or found, for a start that follows
/// a create (`SetStatus` without an id). `None` for actions that change nothing.
pub(crate) fn prepare(
    action: &Action,
    state: Option<&State>,
    recorded_by_run: &BTreeSet<Address>,
) -> Option<Prepared> {
    let recorded = |address: &Address| state.and_then(|state| state.job_groups.get(address));
    let prepared = match action {
        Action::Create {
            address,
            spec,
            replaces_id,
            prevent_destroy,
            ..
        } => match recorded(address) {
            // Recorded with the id the plan saw deleted outside: really create it.
            Some(entry) if replaces_id.as_deref() != Some(entry.job_group_id.as_str()) => {
                Prepared::AlreadyRecorded(RecoveredGroup {
                    address: address.clone(),
                    job_group_id: entry.job_group_id.clone(),
                    reason: RecoveryReason::AlreadyRecorded,
                })
            }
            _ => Prepared::Run(Work::Create {
                address: address.clone(),
                spec: spec.clone(),
                prevent_destroy: *prevent_destroy,
            }),
        },
        Action::Update {
            address,
            job_group_id,
            changes,
            spec,
            prevent_destroy,
            ..
        } => match matching_entry(ChangeKind::Update, address, job_group_id, recorded(address)) {
            Ok(entry) => Prepared::Run(Work::Update {
                address: address.clone(),
                entry: entry.clone(),
                attributes: changes
                    .iter()
                    .map(|change| change.attribute.clone())
                    .collect(),
                spec: spec.clone(),
                prevent_destroy: *prevent_destroy,
            }),
            Err(failure) => Prepared::Refused(*failure),
        },
        Action::Protect {
            address,
            job_group_id,
            prevent_destroy,
            ..
        } => match matching_entry(
            ChangeKind::Protect,
            address,
            job_group_id,
            recorded(address),
        ) {
            Ok(entry) => Prepared::Run(Work::Protect {
                address: address.clone(),
                entry: entry.clone(),
                prevent_destroy: *prevent_destroy,
            }),
            Err(failure) => Prepared::Refused(*failure),
        },
        Action::SetStatus {
            address,
            job_group_id,
            to,
            ..
        } => {
            let kind = ChangeKind::for_status(*to);
            let entry = match job_group_id {
                Some(id) => matching_entry(kind, address, id, recorded(address)),
                None if recorded_by_run.contains(address) => match recorded(address) {
                    Some(entry) => Ok(entry),
                    None => return Some(Prepared::Waiting),
                },
                None => return Some(Prepared::Waiting),
            };
            match entry {
                Ok(entry) => Prepared::Run(Work::SetStatus {
                    address: address.clone(),
                    entry: entry.clone(),
                    to: *to,
                }),
                Err(failure) => Prepared::Refused(*failure),
            }
        }
        Action::Delete {
            address,
            job_group_id,
            ..
        } => match matching_entry(ChangeKind::Delete, address, job_group_id, recorded(address)) {
            Ok(entry) if entry.prevent_destroy => Prepared::Refused(
                ActionFailure::local(
                    ChangeKind::Delete,
                    address,
                    FailureReason::Refused,
                    "the state records `preventDestroy` for this group",
                )
                .with_hint(
                    "to delete it, first apply its manifest with `lifecycle: {preventDestroy: \
                     false}`",
                ),
            ),
            Ok(entry) => Prepared::Run(Work::Delete {
                address: address.clone(),
                entry: entry.clone(),
            }),
            Err(failure) => Prepared::Refused(*failure),
        },
        Action::Move {
            address,
            from,
            job_group_id,
            source,
        } => match matching_entry(ChangeKind::Move, from, job_group_id, recorded(from)) {
            Ok(_) if recorded(address).is_some() => {
                Prepared::Refused(recorded_since(ChangeKind::Move, address))
            }
            Ok(entry) => Prepared::Run(Work::Move {
                address: address.clone(),
                from: from.clone(),
                entry: entry.clone(),
                source: source.clone(),
            }),
            Err(failure) => Prepared::Refused(*failure),
        },
        Action::Import {
            address,
            job_group_id,
            spec,
            status,
            source,
            ..
        } => match recorded(address) {
            Some(_) => Prepared::Refused(recorded_since(ChangeKind::Import, address)),
            None => Prepared::Run(Work::Import {
                address: address.clone(),
                entry: StateEntry {
                    status: *status,
                    ..StateEntry::new(job_group_id.clone(), spec.clone(), "", "")
                },
                source: source.clone(),
            }),
        },
        Action::Forget {
            address,
            job_group_id,
            source,
        } => match matching_entry(ChangeKind::Forget, address, job_group_id, recorded(address)) {
            Ok(entry) => Prepared::Run(Work::Forget {
                address: address.clone(),
                entry: entry.clone(),
                source: source.clone(),
            }),
            Err(failure) => Prepared::Refused(*failure),
        },
        Action::Orphan { .. } | Action::BlockedDelete { .. } => return None,
    };
    Some(prepared)
}

/// The failure of a move or import onto an address the state came to record after the
/// plan was made.
fn recorded_since(kind: ChangeKind, address: &Address) -> ActionFailure {
    ActionFailure::local(
        kind,
        address,
        FailureReason::Stale,
        "the state records this address since the plan was made",
    )
    .with_hint("the state changed since the plan was made; run plan again")
}

/// The state entry of `address`, if it still records the id the plan saw.
fn matching_entry<'a>(
    kind: ChangeKind,
    address: &Address,
    job_group_id: &str,
    entry: Option<&'a StateEntry>,
) -> Result<&'a StateEntry, Box<ActionFailure>> {
    match entry {
        Some(entry) if entry.job_group_id == job_group_id => Ok(entry),
        other => {
            let found = other.map_or_else(
                || "no longer records the group".to_owned(),
                |entry| format!("records id `{}` for it", entry.job_group_id),
            );
            Err(Box::new(
                ActionFailure::local(
                    kind,
                    address,
                    FailureReason::Stale,
                    format!("the plan expects id `{job_group_id}`, but the state {found}"),
                )
                .with_hint("the state changed since the plan was made; run plan again"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::SourceLocation;
    use crate::plan::AttributeChange;

    fn address(name: &str) -> Address {
        Address::new("cn-shanghai", "cityvisual-Instance", name)
    }

    fn state(groups: &[(&str, &str)]) -> State {
        let mut state = State::new("lineage-1");
        for (name, id) in groups {
            state.job_groups.insert(
                address(name),
                StateEntry::new(*id, JobGroupSpec::example(), "R", "2026-11-27T08:00:00Z"),
            );
        }
        state
    }

    fn create(name: &str, replaces_id: Option<&str>) -> Action {
        Action::Create {
            address: address(name),
            spec: JobGroupSpec::example(),
            source: SourceLocation {
                file: "a.yaml".into(),
                line: 1,
                column: 1,
            },
            replaces_id: replaces_id.map(str::to_owned),
            prevent_destroy: true,
        }
    }

    fn status(name: &str, id: Option<&str>) -> Action {
        Action::SetStatus {
            address: address(name),
            job_group_id: id.map(str::to_owned),
            from: Some(Status::Stopped),
            observed: None,
            to: Status::Running,
            source: None,
        }
    }

    fn run(prepared: Option<Prepared>) -> Work {
        match prepared {
            Some(Prepared::Run(work)) => work,
            other => panic!("expected work, got {other:?}"),
        }
    }

    #[test]
    fn a_create_of_a_recorded_group_is_already_recorded_unless_it_replaces_that_id() {
        let state = state(&[("g", "7")]);
        let none = BTreeSet::new();
        assert!(matches!(
            prepare(&create("g", None), Some(&state), &none),
            Some(Prepared::AlreadyRecorded(RecoveredGroup { job_group_id, .. })) if job_group_id == "7"
        ));
        // Deleted outside: the plan replaces id 7, so the group is really created.
        let work = run(prepare(&create("g", Some("7")), Some(&state), &none));
        assert_eq!(
            work,
            Work::Create {
                address: address("g"),
                spec: JobGroupSpec::example(),
                prevent_destroy: true
            }
        );
        // An id other than the one replaced was recorded since: someone else created it.
        assert!(matches!(
            prepare(&create("g", Some("3")), Some(&state), &none),
            Some(Prepared::AlreadyRecorded(_))
        ));
        assert!(matches!(
            prepare(&create("new", None), Some(&state), &none),
            Some(Prepared::Run(Work::Create { .. }))
        ));
    }

    #[test]
    fn an_update_takes_the_recorded_entry_and_names_its_attributes() {
        let state = state(&[("g", "7")]);
        let action = Action::Update {
            address: address("g"),
            job_group_id: "7".into(),
            changes: vec![AttributeChange {
                attribute: "planedJobCount".into(),
                before: Some("10".into()),
                after: Some("12".into()),
            }],
            drift: Vec::new(),
            spec: JobGroupSpec::example().with_planed_jobs(12),
            source: SourceLocation {
                file: "a.yaml".into(),
                line: 1,
                column: 1,
            },
            prevent_destroy: false,
        };
        let Work::Update {
            entry, attributes, ..
        } = run(prepare(&action, Some(&state), &BTreeSet::new()))
        else {
            panic!("not an update");
        };
        assert_eq!(entry.job_group_id, "7");
        assert_eq!(attributes, ["planedJobCount"]);
    }

    #[test]
    fn an_action_on_an_id_the_state_no_longer_records_is_refused_as_stale() {
        let state = state(&[("g", "8")]);
        let action = Action::Protect {
            address: address("g"),
            job_group_id: "7".into(),
            prevent_destroy: true,
            source: None,
        };
        let Some(Prepared::Refused(failure)) = prepare(&action, Some(&state), &BTreeSet::new())
        else {
            panic!("not refused");
        };
        assert_eq!(failure.reason, FailureReason::Stale);
        assert!(failure.message.contains("`7`") && failure.message.contains("`8`"));
        assert!(matches!(
            prepare(&action, None, &BTreeSet::new()),
            Some(Prepared::Refused(_))
        ));
    }

    #[test]
    fn a_start_after_a_create_waits_for_that_create() {
        let state = state(&[("g", "9")]);
        assert_eq!(
            prepare(&status("g", None), Some(&state), &BTreeSet::new()),
            Some(Prepared::Waiting)
        );
        let created = BTreeSet::from([address("g")]);
        let Work::SetStatus { entry, to, .. } =
            run(prepare(&status("g", None), Some(&state), &created))
        else {
            panic!("not a status change");
        };
        assert_eq!((entry.job_group_id.as_str(), to), ("9", Status::Running));
        // With an id, the recorded entry is used whoever created it.
        assert!(matches!(
            prepare(&status("g", Some("9")), Some(&state), &BTreeSet::new()),
            Some(Prepared::Run(Work::SetStatus { .. }))
        ));
    }

    #[test]
    fn a_protected_group_is_never_deleted() {
        let mut state = state(&[("g", "9")]);
        let action = Action::Delete {
            address: address("g"),
            job_group_id: "9".into(),
            spec: JobGroupSpec::example(),
        };
        assert!(matches!(
            prepare(&action, Some(&state), &BTreeSet::new()),
            Some(Prepared::Run(Work::Delete { .. }))
        ));
        if let Some(entry) = state.job_groups.get_mut(&address("g")) {
            entry.prevent_destroy = true;
        }
        assert!(matches!(
            prepare(&action, Some(&state), &BTreeSet::new()),
            Some(Prepared::Refused(ActionFailure {
                reason: FailureReason::Refused,
                ..
            }))
        ));
    }

    #[test]
    fn orphans_change_nothing() {
        let action = Action::Orphan {
            address: address("g"),
            job_group_id: "9".into(),
            spec: JobGroupSpec::example(),
            renamed_to: None,
        };
        assert_eq!(prepare(&action, None, &BTreeSet::new()), None);
        assert_eq!(change_kind(&action), None);
    }
}
