//! Resolving calls whose outcome is unknown: a create whose answer was lost, or any call of
//! an earlier run that was cut short between its intent and its result.
//!
//! `CreateJobGroup` has no client token, so the only safe way to learn whether a create
//! happened is to look for its name. `DescribeJobGroups` has no name filter, so resolution
//! lists whole instances, each instance once however many intents it has.
//!
//! A create whose name is not listed is not settled: the request may still be on its way
//! to the service, or the listing may lag behind it. Its intent stays open until its group
//! is found, or a later create of the same address succeeds; meanwhile a create of that
//! address that the service refuses as a duplicate is looked up, never reported as a
//! conflict.

use std::collections::{BTreeMap, HashMap};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;

use super::error::ApplyError;
use super::event::{ApplyEvent, EventSink};
use super::history::HistoryRecorder;
use super::report::{NOT_FOUND_CODE, RecoveredGroup, RecoveryReason};
use crate::cloud::{CloudClient, CloudError, DescribeJobGroupsRequest, ObservedJobGroup};
use crate::model::{Address, JobGroupSpec, LiveStatus};
use crate::provenance::RunContext;
use crate::state::HistoryAction;
use crate::state::journal::{Intent, JournalRecord, Operation, Put, Remove, Settle};
use crate::state::{Backend, Recovered, State, StateEntry};

/// Resolves the unresolved intents of `recovered` (as [`Backend::load`] returned it) by
/// looking their groups up, records the outcome of each, and returns the state after
/// resolution. Call it after checking a saved plan's binding and before computing a fresh
/// plan; [`super::execute`] also resolves whatever is still unresolved when it starts.
///
/// - A create whose name is found is recorded with the id found (event `recovered`); other
///   open creates of the same address are settled with it.
/// - A create whose name is not found stays open (no record, no event): it may still land.
///   The next create of that address looks the name up when the service calls it a
///   duplicate, and settles it once the address is recorded.
/// - A delete is recorded as done when its id is no longer listed, settled otherwise.
/// - An update is settled: the state keeps the spec it had, and the next plan proposes the
///   update again, which is safe to send twice.
///
/// The journal is then compacted into the state file (creates still open stay in it). With
/// nothing unresolved this sends nothing and writes nothing. When an instance cannot be
/// listed, its intents stay unresolved and [`ApplyError::Resolve`] says which.
///
/// Each recorded resolution comes with a `history` record carrying `provenance`, when given
/// (`recover` for a create found, `delete` for a delete found done).
pub async fn resolve_unresolved<B: Backend>(
    backend: &B,
    client: &CloudClient,
    recovered: Recovered,
    events: &mpsc::Sender<ApplyEvent>,
    provenance: Option<&RunContext>,
) -> Result<Option<State>, ApplyError> {
    if recovered.unresolved.is_empty() {
        return Ok(recovered.state);
    }
    let sink = EventSink::new(events.clone());
    resolve_intents(
        backend,
        client,
        recovered.state.as_ref(),
        recovered.unresolved,
        &sink,
        &HistoryRecorder::new(provenance, None),
    )
    .await?;
    // Folded into the state file now: a run that finds nothing else to do after resolving
    // sends nothing and so never reaches the compaction at the end of `execute`.
    Ok(backend.compact().await?.state)
}

/// `records` with a `history` record after each `put` (a create found: `recover`) and
/// each `remove` (a delete found done: `delete`).
fn with_history(
    records: Vec<JournalRecord>,
    state: Option<&State>,
    history: &HistoryRecorder<'_>,
) -> Vec<JournalRecord> {
    let mut annotated = Vec::with_capacity(records.len() * 2);
    for record in records {
        let entry = match &record {
            JournalRecord::Put(put) => history.record(
                HistoryAction::Recover,
                &put.address,
                &put.entry.job_group_id,
                &put.entry.request_id,
            ),
            JournalRecord::Remove(remove) => {
                let job_group_id = state
                    .and_then(|state| state.job_groups.get(&remove.address))
                    .map_or("", |entry| entry.job_group_id.as_str());
                history.record(HistoryAction::Delete, &remove.address, job_group_id, "")
            }
            _ => None,
        };
        annotated.push(record);
        annotated.extend(entry);
    }
    annotated
}

/// What resolving a set of intents found.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    /// Creates found by name, now recorded.
    pub recovered: Vec<RecoveredGroup>,
    /// Creates whose name was not listed, by address: still open, since they may land
    /// late. A later create of the same name that the service refuses as a duplicate is
    /// looked up, not reported as a conflict, and a later create that succeeds settles them.
    pub open_creates: BTreeMap<Address, Vec<Intent>>,
}

/// Resolves `intents` against the cloud, instance by instance, recording each instance's
/// outcomes in one append before reporting them.
pub(crate) async fn resolve_intents<B: Backend>(
    backend: &B,
    client: &CloudClient,
    state: Option<&State>,
    intents: Vec<Intent>,
    events: &EventSink,
    history: &HistoryRecorder<'_>,
) -> Result<Resolved, ApplyError> {
    let mut by_instance: BTreeMap<(String, String), Vec<Intent>> = BTreeMap::new();
    let count = intents.len();
    for intent in intents {
        let scope = (
            intent.address.region_id.clone(),
            intent.address.instance_id.clone(),
        );
        by_instance.entry(scope).or_default().push(intent);
    }
    events
        .emit(ApplyEvent::Resolving {
            count,
            instances: by_instance.len(),
        })
        .await;
    let mut resolved = Resolved::default();
    for ((region_id, instance_id), intents) in by_instance {
        let listed = match groups_by_name(client, &region_id, &instance_id).await {
            Ok(listed) => listed,
            Err(source) => {
                return Err(ApplyError::Resolve {
                    region_id,
                    instance_id,
                    count: intents.len(),
                    source: Box::new(source),
                });
            }
        };
        let applied_at = now_rfc3339();
        let mut records: Vec<JournalRecord> = Vec::new();
        let mut outcomes: Vec<ApplyEvent> = Vec::new();
        let mut creates: BTreeMap<Address, Vec<Intent>> = BTreeMap::new();
        for intent in intents {
            match intent.operation {
                Operation::Create => creates
                    .entry(intent.address.clone())
                    .or_default()
                    .push(intent),
                Operation::Update | Operation::Delete => {
                    let (record, event) = resolve_change(intent, &listed, state);
                    records.push(record);
                    outcomes.push(event);
                }
            }
        }
        for (address, intents) in creates {
            match resolve_creates(&address, &intents, &listed, &applied_at) {
                Some((found, event)) => {
                    records.extend(found);
                    outcomes.push(event);
                }
                None => {
                    resolved.open_creates.insert(address, intents);
                }
            }
        }
        if !records.is_empty() {
            let records = with_history(records, state, history);
            backend
                .append(&records)
                .await
                .map_err(|source| ApplyError::Record { source })?;
        }
        for event in outcomes {
            if let ApplyEvent::Recovered {
                address,
                job_group_id,
                reason,
            } = &event
            {
                resolved.recovered.push(RecoveredGroup {
                    address: address.clone(),
                    job_group_id: job_group_id.clone(),
                    reason: *reason,
                });
            }
            events.emit(event).await;
        }
    }
    Ok(resolved)
}

/// The records that resolve the open creates of `address` (of one or more earlier runs, in
/// the order they were recorded) when the instance's listing shows the name, and the event
/// that reports it; `None` when the name is not listed and the intents stay open.
///
/// The group is recorded under the latest intent, which the `put` resolves; the others are
/// settled first, so that a crash between the records leaves the latest one open, and the
/// next resolution finds the group again.
pub(crate) fn resolve_creates(
    address: &Address,
    intents: &[Intent],
    listed: &HashMap<String, ObservedJobGroup>,
    applied_at: &str,
) -> Option<(Vec<JournalRecord>, ApplyEvent)> {
    let found = listed.get(&address.name)?;
    let (latest, earlier) = intents.split_last()?;
    let mut records: Vec<JournalRecord> = earlier
        .iter()
        .map(|intent| {
            JournalRecord::Settle(Settle {
                id: intent.id.clone(),
            })
        })
        .collect();
    let sent = common_spec(intents.iter().map(|intent| intent.spec.as_ref()));
    records.push(JournalRecord::Put(Put {
        address: address.clone(),
        entry: found_entry(sent, found, "", applied_at),
        intent: Some(latest.id.clone()),
    }));
    let event = ApplyEvent::Recovered {
        address: address.clone(),
        job_group_id: found.job_group_id.clone(),
        reason: RecoveryReason::Unfinished,
    };
    Some((records, event))
}

/// The spec every create of a group sent, when they all sent the same one: the spec to
/// record for the group found by name. `None` when they differ (the manifest changed
/// between attempts), since which of them created the group is not known: the group is
/// then recorded as listed.
pub(crate) fn common_spec<'a>(
    mut sent: impl Iterator<Item = Option<&'a JobGroupSpec>>,
) -> Option<&'a JobGroupSpec> {
    let first = sent.next()??;
    sent.all(|spec| spec == Some(first)).then_some(first)
}

/// The record that resolves an update or delete `intent`, given the groups `listed` in its
/// instance, and the event that reports it: a delete whose recorded id is no longer listed
/// is done; anything else is settled. Creates are resolved by [`resolve_creates`].
fn resolve_change(
    intent: Intent,
    listed: &HashMap<String, ObservedJobGroup>,
    state: Option<&State>,
) -> (JournalRecord, ApplyEvent) {
    let deleted = intent.operation == Operation::Delete && {
        let recorded_id = state
            .and_then(|state| state.job_groups.get(&intent.address))
            .map(|entry| entry.job_group_id.as_str());
        recorded_id.is_some_and(|id| !listed.values().any(|group| group.job_group_id == id))
    };
    let event = ApplyEvent::Settled {
        address: intent.address.clone(),
        operation: intent.operation,
    };
    let record = if deleted {
        JournalRecord::Remove(Remove {
            address: intent.address,
            intent: Some(intent.id),
        })
    } else {
        JournalRecord::Settle(Settle { id: intent.id })
    };
    (record, event)
}

/// The state entry for a group found by name after its create's answer was lost: the spec
/// that was sent (the listing's, when the intent has none), the status listed, and the
/// create's `RequestId` when it is known.
pub(crate) fn found_entry(
    sent: Option<&JobGroupSpec>,
    found: &ObservedJobGroup,
    request_id: &str,
    applied_at: &str,
) -> StateEntry {
    StateEntry {
        status: LiveStatus::heading_to_of(&found.status),
        ..StateEntry::new(
            found.job_group_id.clone(),
            sent.cloned().unwrap_or_else(|| found.to_spec()),
            request_id,
            applied_at,
        )
    }
}

/// The group `job_group_id` of an instance, read with `DescribeJobGroups` filtered by its
/// id; `None` when the service does not have it.
pub(crate) async fn group_by_id(
    client: &CloudClient,
    region_id: &str,
    instance_id: &str,
    job_group_id: &str,
) -> Result<Option<ObservedJobGroup>, CloudError> {
    let request = DescribeJobGroupsRequest {
        job_group_id: Some(job_group_id.to_owned()),
        ..DescribeJobGroupsRequest::first_page(region_id, instance_id)
    };
    match client.describe_job_groups(&request).await {
        // A filter the service does not honour would list others too: pick by id.
        Ok(page) => Ok(page
            .job_groups
            .into_iter()
            .find(|group| group.job_group_id == job_group_id)),
        Err(error) if error.code() == Some(NOT_FOUND_CODE) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Every job group of an instance, by name.
pub(crate) async fn groups_by_name(
    client: &CloudClient,
    region_id: &str,
    instance_id: &str,
) -> Result<HashMap<String, ObservedJobGroup>, CloudError> {
    let groups = client.list_all_job_groups(region_id, instance_id).await?;
    Ok(groups
        .into_iter()
        .map(|group| (group.name.clone(), group))
        .collect())
}

/// Now, RFC 3339 in UTC to the second, e.g. `2026-11-27T08:00:00Z`.
pub(crate) fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    // Formatting fails only for years beyond 9999.
    now.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::journal::IntentId;

    fn address(name: &str) -> Address {
        Address::new("cn-shanghai", "cityvisual-Instance", name)
    }

    fn spec() -> JobGroupSpec {
        JobGroupSpec::example()
    }

    fn observed(id: &str, name: &str) -> ObservedJobGroup {
        ObservedJobGroup {
            job_group_id: id.into(),
            name: name.into(),
            status: "Stopped".into(),
            algo_lib_id: "3".into(),
            resource_profile_id: "6".into(),
            planed_job_count: 1,
            stream_per_job: 1,
            job_count: None,
            params: Default::default(),
            compute_jobs: Vec::new(),
        }
    }

    fn intent(id: &str, name: &str, operation: Operation) -> Intent {
        Intent {
            id: IntentId(id.into()),
            address: address(name),
            operation,
            spec: (operation != Operation::Delete).then(spec),
        }
    }

    fn listing(groups: &[(&str, &str)]) -> HashMap<String, ObservedJobGroup> {
        groups
            .iter()
            .map(|(id, name)| ((*name).to_owned(), observed(id, name)))
            .collect()
    }

    #[test]
    fn a_create_found_by_name_is_recorded_with_the_id_found_and_the_spec_sent() {
        let (records, event) = resolve_creates(
            &address("east"),
            &[intent("i-1", "east", Operation::Create)],
            &listing(&[("7", "east"), ("8", "west")]),
            "2026-11-27T08:00:00Z",
        )
        .unwrap();
        assert_eq!(
            records,
            [JournalRecord::Put(Put {
                address: address("east"),
                entry: StateEntry {
                    status: Some(crate::model::Status::Stopped),
                    ..StateEntry::new("7", spec(), String::new(), "2026-11-27T08:00:00Z")
                },
                intent: Some(IntentId("i-1".into())),
            })]
        );
        assert_eq!(
            event,
            ApplyEvent::Recovered {
                address: address("east"),
                job_group_id: "7".into(),
                reason: RecoveryReason::Unfinished,
            }
        );
    }

    #[test]
    fn a_create_not_found_stays_open() {
        assert_eq!(
            resolve_creates(
                &address("east"),
                &[intent("i-1", "east", Operation::Create)],
                &listing(&[("8", "west")]),
                "now",
            ),
            None
        );
    }

    #[test]
    fn several_open_creates_of_one_address_are_settled_but_the_latest_which_the_put_resolves() {
        let (records, _) = resolve_creates(
            &address("east"),
            &[
                intent("i-1", "east", Operation::Create),
                intent("i-2", "east", Operation::Create),
            ],
            &listing(&[("7", "east")]),
            "now",
        )
        .unwrap();
        assert_eq!(
            records[0],
            JournalRecord::Settle(Settle {
                id: IntentId("i-1".into())
            })
        );
        let JournalRecord::Put(put) = &records[1] else {
            panic!("{records:?}");
        };
        assert_eq!(put.intent, Some(IntentId("i-2".into())));
        assert_eq!(put.entry.job_group_id, "7");
        assert_eq!(put.entry.spec, spec(), "both sent the same spec");
        assert_eq!(records.len(), 2);
    }

    #[test]
    fn creates_that_sent_different_specs_record_the_group_as_listed() {
        let mut changed = intent("i-2", "east", Operation::Create);
        changed.spec = Some(JobGroupSpec {
            planed_job_count: 9,
            ..spec()
        });
        let (records, _) = resolve_creates(
            &address("east"),
            &[intent("i-1", "east", Operation::Create), changed],
            &listing(&[("7", "east")]),
            "now",
        )
        .unwrap();
        let JournalRecord::Put(put) = &records[1] else {
            panic!("{records:?}");
        };
        assert_eq!(put.entry.spec, observed("7", "east").to_spec());
    }

    #[test]
    fn a_delete_is_done_only_when_its_id_is_gone() {
        let mut state = State::new("lineage-1");
        state.job_groups.insert(
            address("east"),
            found_entry(Some(&spec()), &observed("7", "east"), "R", "now"),
        );
        let (gone, _) = resolve_change(
            intent("i-1", "east", Operation::Delete),
            &listing(&[("8", "west")]),
            Some(&state),
        );
        assert!(matches!(gone, JournalRecord::Remove(_)), "{gone:?}");
        // Renamed but still there: not deleted.
        let (kept, _) = resolve_change(
            intent("i-2", "east", Operation::Delete),
            &listing(&[("7", "renamed")]),
            Some(&state),
        );
        assert!(matches!(kept, JournalRecord::Settle(_)), "{kept:?}");
    }

    #[test]
    fn an_update_is_settled() {
        let (record, _) = resolve_change(
            intent("i-1", "east", Operation::Update),
            &listing(&[("7", "east")]),
            None,
        );
        assert!(matches!(record, JournalRecord::Settle(_)), "{record:?}");
    }

    #[test]
    fn a_found_group_without_a_sent_spec_is_recorded_as_listed() {
        let entry = found_entry(None, &observed("7", "east"), "R-1", "now");
        assert_eq!(entry.spec, observed("7", "east").to_spec());
        assert_eq!(entry.request_id, "R-1");
    }

    #[test]
    fn timestamps_are_utc_to_the_second() {
        let now = now_rfc3339();
        assert_eq!(now.len(), "2026-11-27T08:00:00Z".len(), "{now}");
        assert!(now.ends_with('Z'), "{now}");
        OffsetDateTime::parse(&now, &Rfc3339).unwrap();
    }

    #[test]
    fn resolutions_are_recorded_in_the_history_as_recover_and_delete() {
        use crate::state::HistoryEntry;
        let context = RunContext::without_git(None, &BTreeMap::new(), "host");
        let recorder = HistoryRecorder::new(Some(&context), None);
        let mut state = State::new("lineage");
        state.job_groups.insert(
            address_of("gone"),
            StateEntry::new("jg-9", JobGroupSpec::example(), "", "2026-11-27T08:00:00Z"),
        );
        let records = vec![
            JournalRecord::Settle(Settle {
                id: crate::state::journal::IntentId("i-0".into()),
            }),
            JournalRecord::Put(Put {
                address: address_of("found"),
                entry: StateEntry::new("jg-1", JobGroupSpec::example(), "R-1", "now"),
                intent: None,
            }),
            JournalRecord::Remove(Remove {
                address: address_of("gone"),
                intent: None,
            }),
        ];
        let annotated = with_history(records.clone(), Some(&state), &recorder);
        assert_eq!(annotated.len(), 5);
        let entries: Vec<&HistoryEntry> = annotated
            .iter()
            .filter_map(|record| match record {
                JournalRecord::History(entry) => Some(entry),
                _ => None,
            })
            .collect();
        assert!(
            matches!(annotated[2], JournalRecord::History(_)),
            "after its put"
        );
        assert_eq!(entries[0].action, HistoryAction::Recover);
        assert_eq!(entries[0].job_group_id, "jg-1");
        assert_eq!(entries[0].provenance.request_id.as_deref(), Some("R-1"));
        assert_eq!(entries[1].action, HistoryAction::Delete);
        assert_eq!(entries[1].job_group_id, "jg-9");
        assert_eq!(
            with_history(records.clone(), Some(&state), &HistoryRecorder::default()),
            records,
            "no context, no history"
        );
    }

    fn address_of(name: &str) -> Address {
        Address::new("cn-shanghai", "cityvisual-Instance", name)
    }
}
