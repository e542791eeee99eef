//! The history records a run appends with the results it records: one `history` journal
//! record after each `put` or `remove` that records an action, carrying the action, the
//! group's id and the action's [`Provenance`](crate::provenance::Provenance).
//!
//! A run without a [`RunContext`] (library callers that collect none) records no history.

use std::collections::{BTreeMap, BTreeSet};

use crate::manifest::SourceLocation;
use crate::model::Address;
use crate::plan::{Action, Plan};
use crate::provenance::RunContext;
use crate::state::journal::JournalRecord;
use crate::state::{History, HistoryAction, HistoryEntry, Moved};

/// Makes the `history` records of one run.
#[derive(Debug, Clone, Default)]
pub(crate) struct HistoryRecorder<'p> {
    context: Option<RunContext>,
    /// Where the manifests declare each group the plan creates, updates, starts, stops or
    /// protects: borrowed from the plan, which a large run would otherwise hold twice.
    sources: BTreeMap<&'p Address, &'p SourceLocation>,
    /// The groups the plan deletes.
    deletes: Vec<&'p Address>,
    /// Where the manifests declared each deleted group when it was last applied, as its
    /// history recorded it ([`HistoryRecorder::remember_declared`]).
    declared_before: BTreeMap<Address, SourceLocation>,
}

impl<'p> HistoryRecorder<'p> {
    /// A recorder for the actions of `plan`, run with `context`.
    pub(crate) fn new(context: Option<&RunContext>, plan: Option<&'p Plan>) -> Self {
        let actions = plan.into_iter().flat_map(|plan| &plan.actions);
        let sources = actions
            .clone()
            .filter_map(|action| match action {
                Action::Create {
                    address, source, ..
                }
                | Action::Update {
                    address, source, ..
                } => Some((address, source)),
                Action::SetStatus {
                    address,
                    source: Some(source),
                    ..
                }
                | Action::Protect {
                    address,
                    source: Some(source),
                    ..
                } => Some((address, source)),
                _ => None,
            })
            .collect();
        let deletes = actions
            .filter_map(|action| match action {
                Action::Delete { address, .. } => Some(address),
                _ => None,
            })
            .collect();
        Self {
            context: context.cloned(),
            sources,
            deletes,
            declared_before: BTreeMap::new(),
        }
    }

    /// The groups whose earlier history [`HistoryRecorder::remember_declared`] wants: those
    /// the plan deletes, when anything is recorded at all.
    pub(crate) fn deleted_groups(&self) -> BTreeSet<Address> {
        if self.context.is_none() {
            return BTreeSet::new();
        }
        self.deletes
            .iter()
            .map(|address| (*address).clone())
            .collect()
    }

    /// Takes from `history` where each deleted group was declared when it was last applied:
    /// a delete has no manifest line of its own, and this is the one that went away.
    pub(crate) fn remember_declared(&mut self, history: &History) {
        for address in &self.deletes {
            if let Some(source) = history
                .last_applied(address)
                .and_then(|entry| entry.provenance.source.clone())
            {
                self.declared_before.insert((*address).clone(), source);
            }
        }
    }

    /// The record of `action` on `address` (the group `job_group_id`), carried out by the
    /// call that returned `request_id` (empty when unknown); `None` without a context.
    ///
    /// The manifest line is the plan's for the group; for a delete, the line that declared
    /// the group when it was last applied, when its history knows.
    pub(crate) fn record(
        &self,
        action: HistoryAction,
        address: &Address,
        job_group_id: &str,
        request_id: &str,
    ) -> Option<JournalRecord> {
        self.entry(action, address, job_group_id, request_id)
            .map(JournalRecord::History)
    }

    fn entry(
        &self,
        action: HistoryAction,
        address: &Address,
        job_group_id: &str,
        request_id: &str,
    ) -> Option<HistoryEntry> {
        let context = self.context.as_ref()?;
        let request_id = Some(request_id).filter(|id| !id.is_empty());
        let mut provenance = context.for_group(self.sources.get(address).copied(), request_id);
        if provenance.source.is_none() && action == HistoryAction::Delete {
            // Recorded as the history has it already: relative to the repository.
            provenance.source = self.declared_before.get(address).cloned();
        }
        Some(HistoryEntry {
            address: address.clone(),
            action,
            job_group_id: job_group_id.to_owned(),
            provenance,
            moved: None,
        })
    }

    /// The record of a move, import or removal that the document at `source` asked for
    /// (`moved` names both addresses of a move); `None` without a context.
    pub(crate) fn declared(
        &self,
        action: HistoryAction,
        address: &Address,
        job_group_id: &str,
        source: &SourceLocation,
        moved: Option<&Moved>,
    ) -> Option<JournalRecord> {
        let context = self.context.as_ref()?;
        Some(JournalRecord::History(HistoryEntry {
            address: address.clone(),
            action,
            job_group_id: job_group_id.to_owned(),
            provenance: context.for_group(Some(source), None),
            moved: moved.cloned(),
        }))
    }

    /// `records` followed by the record of `action`, when there is one.
    pub(crate) fn with(
        &self,
        mut records: Vec<JournalRecord>,
        action: HistoryAction,
        address: &Address,
        job_group_id: &str,
        request_id: &str,
    ) -> Vec<JournalRecord> {
        records.extend(self.record(action, address, job_group_id, request_id));
        records
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::JobGroupSpec;

    fn address(name: &str) -> Address {
        Address::new("cn-shanghai", "cityvisual-Instance", name)
    }

    fn plan() -> Plan {
        Plan {
            actions: vec![Action::Create {
                address: address("east"),
                spec: JobGroupSpec::example(),
                source: SourceLocation {
                    file: "manifests/east.yaml".to_owned(),
                    line: 3,
                    column: 1,
                },
                replaces_id: None,
                prevent_destroy: false,
            }],
            state: None,
            unchanged: 0,
            refreshed: false,
            conflicts: Vec::new(),
            unmanaged: Vec::new(),
            targets: Vec::new(),
            excludes: Vec::new(),
            refresh_skipped_reason: None,
        }
    }

    #[test]
    fn records_carry_the_plan_source_and_the_request_id() {
        let context = RunContext::without_git(
            Some("3f2a9c1e5b7d9f0a1c3e5b7d9f0a1c3e5b7d9f0a"),
            &BTreeMap::new(),
            "laptop",
        );
        let plan = plan();
        let recorder = HistoryRecorder::new(Some(&context), Some(&plan));
        let Some(JournalRecord::History(entry)) =
            recorder.record(HistoryAction::Create, &address("east"), "jg-1", "req-1")
        else {
            panic!("no history record");
        };
        assert_eq!(entry.action, HistoryAction::Create);
        assert_eq!(entry.job_group_id, "jg-1");
        assert_eq!(entry.provenance.request_id.as_deref(), Some("req-1"));
        assert_eq!(entry.provenance.source.unwrap().line, 3);
        assert_eq!(
            entry.provenance.commit.as_deref(),
            Some("3f2a9c1e5b7d9f0a1c3e5b7d9f0a1c3e5b7d9f0a")
        );

        let Some(JournalRecord::History(other)) =
            recorder.record(HistoryAction::Stop, &address("west"), "jg-2", "")
        else {
            panic!("no history record");
        };
        assert_eq!(other.provenance.source, None);
        assert_eq!(other.provenance.request_id, None);
    }

    #[test]
    fn a_start_or_stop_names_its_manifest_line_and_a_delete_the_line_that_went_away() {
        let context = RunContext::without_git(Some("3f2a9c1"), &BTreeMap::new(), "laptop");
        let line = |line| SourceLocation {
            file: "manifests/city.yaml".into(),
            line,
            column: 1,
        };
        let mut plan = plan();
        plan.actions = vec![
            Action::SetStatus {
                address: address("west"),
                job_group_id: Some("jg-2".into()),
                from: Some(crate::model::Status::Running),
                observed: None,
                to: crate::model::Status::Stopped,
                source: Some(line(9)),
            },
            Action::Delete {
                address: address("gone"),
                job_group_id: "jg-3".into(),
                spec: JobGroupSpec::example(),
            },
        ];
        let mut recorder = HistoryRecorder::new(Some(&context), Some(&plan));
        assert_eq!(recorder.deleted_groups(), BTreeSet::from([address("gone")]));
        let source_of = |recorder: &HistoryRecorder<'_>, action, name| {
            let Some(JournalRecord::History(entry)) =
                recorder.record(action, &address(name), "jg", "req")
            else {
                panic!("no history record");
            };
            entry.provenance.source
        };
        assert_eq!(
            source_of(&recorder, HistoryAction::Stop, "west"),
            Some(line(9))
        );
        // Without the group's history, a delete names no line.
        assert_eq!(source_of(&recorder, HistoryAction::Delete, "gone"), None);
        let mut history = History::new(10);
        history.push(HistoryEntry {
            address: address("gone"),
            action: HistoryAction::Create,
            job_group_id: "jg-3".into(),
            provenance: context.for_group(Some(&line(4)), Some("req-0")),
            moved: None,
        });
        recorder.remember_declared(&history);
        assert_eq!(
            source_of(&recorder, HistoryAction::Delete, "gone"),
            Some(line(4))
        );
    }

    #[test]
    fn without_a_context_nothing_is_recorded() {
        let plan = plan();
        let recorder = HistoryRecorder::new(None, Some(&plan));
        assert_eq!(
            recorder.record(HistoryAction::Create, &address("east"), "jg-1", "req-1"),
            None
        );
        assert!(
            recorder
                .with(
                    Vec::new(),
                    HistoryAction::Delete,
                    &address("east"),
                    "jg-1",
                    ""
                )
                .is_empty()
        );
    }
}
