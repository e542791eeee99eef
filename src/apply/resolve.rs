//! Resolving calls whose outcome is unknown: a create whose answer was lost, or any call of
//! an earlier run that was cut short between its intent and its result.
//!
//! `CreateJobGroup` has no client token, so the only safe way to learn whether a create
//! happened is to look for its name. `DescribeJobGroups` has no name filter, so resolution
//! lists whole instances, each instance once however many intents it has.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;

use super::error::ApplyError;
use super::event::{ApplyEvent, EventSink};
use super::report::{NOT_FOUND_CODE, RecoveredGroup, RecoveryReason};
use crate::cloud::{CloudClient, CloudError, DescribeJobGroupsRequest, ObservedJobGroup};
use crate::model::{Address, JobGroupSpec};
use crate::state::journal::{Intent, JournalRecord, Operation, Put, Remove, Settle};
use crate::state::{Backend, Recovered, State, StateEntry};

/// Resolves the unresolved intents of `recovered` (as [`Backend::load`] returned it) by
/// looking their groups up, records the outcome of each, and returns the state after
/// resolution. Call it after checking a saved plan's binding and before computing a fresh
/// plan; [`super::execute`] also resolves whatever is still unresolved when it starts.
///
/// - A create whose name is found is recorded with the id found (event `recovered`).
/// - A create whose name is not found created nothing and is settled (event `settled`).
/// - A delete is recorded as done when its id is no longer listed, settled otherwise.
/// - An update is settled: the state keeps the spec it had, and the next plan proposes the
///   update again, which is safe to send twice.
///
/// With nothing unresolved this sends nothing and writes nothing. When an instance cannot
/// be listed, its intents stay unresolved and [`ApplyError::Resolve`] says which.
pub async fn resolve_unresolved<B: Backend>(
    backend: &B,
    client: &CloudClient,
    recovered: Recovered,
    events: &mpsc::Sender<ApplyEvent>,
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
    )
    .await?;
    Ok(backend.load().await?.state)
}

/// What resolving a set of intents found.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    /// Creates found by name, now recorded.
    pub recovered: Vec<RecoveredGroup>,
    /// Addresses of creates that were found to have created nothing. A later create of the
    /// same name that the service refuses as a duplicate is looked up again, not reported
    /// as a conflict: the earlier create may have landed after all.
    pub settled_creates: BTreeSet<Address>,
}

/// Resolves `intents` against the cloud, instance by instance, recording each instance's
/// outcomes in one append before reporting them.
pub(crate) async fn resolve_intents<B: Backend>(
    backend: &B,
    client: &CloudClient,
    state: Option<&State>,
    intents: Vec<Intent>,
    events: &EventSink,
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
        let outcomes: Vec<(JournalRecord, ApplyEvent)> = intents
            .into_iter()
            .map(|intent| resolve_intent(intent, &listed, state, &applied_at))
            .collect();
        let records: Vec<JournalRecord> =
            outcomes.iter().map(|(record, _)| record.clone()).collect();
        backend
            .append(&records)
            .await
            .map_err(|source| ApplyError::Record { source })?;
        for (_, event) in outcomes {
            match &event {
                ApplyEvent::Recovered {
                    address,
                    job_group_id,
                    reason,
                } => resolved.recovered.push(RecoveredGroup {
                    address: address.clone(),
                    job_group_id: job_group_id.clone(),
                    reason: *reason,
                }),
                ApplyEvent::Settled {
                    address,
                    operation: Operation::Create,
                } => {
                    resolved.settled_creates.insert(address.clone());
                }
                _ => {}
            }
            events.emit(event).await;
        }
    }
    Ok(resolved)
}

/// The record that resolves `intent`, given the groups `listed` in its instance, and the
/// event that reports it.
fn resolve_intent(
    intent: Intent,
    listed: &HashMap<String, ObservedJobGroup>,
    state: Option<&State>,
    applied_at: &str,
) -> (JournalRecord, ApplyEvent) {
    let settle = |intent: Intent| {
        (
            JournalRecord::Settle(Settle { id: intent.id }),
            ApplyEvent::Settled {
                address: intent.address,
                operation: intent.operation,
            },
        )
    };
    match intent.operation {
        Operation::Create => match listed.get(&intent.address.name) {
            Some(found) => {
                let entry = found_entry(intent.spec.as_ref(), found, "", applied_at);
                let event = ApplyEvent::Recovered {
                    address: intent.address.clone(),
                    job_group_id: found.job_group_id.clone(),
                    reason: RecoveryReason::Unfinished,
                };
                let record = JournalRecord::Put(Put {
                    address: intent.address,
                    entry,
                    intent: Some(intent.id),
                });
                (record, event)
            }
            None => settle(intent),
        },
        Operation::Delete => {
            let recorded_id = state
                .and_then(|state| state.job_groups.get(&intent.address))
                .map(|entry| entry.job_group_id.as_str());
            let still_there =
                recorded_id.is_none_or(|id| listed.values().any(|group| group.job_group_id == id));
            if still_there {
                settle(intent)
            } else {
                (
                    JournalRecord::Remove(Remove {
                        address: intent.address.clone(),
                        intent: Some(intent.id),
                    }),
                    ApplyEvent::Settled {
                        address: intent.address,
                        operation: Operation::Delete,
                    },
                )
            }
        }
        Operation::Update => settle(intent),
    }
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
        status: found.status.parse().ok(),
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
            params: BTreeMap::new(),
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
        let (record, event) = resolve_intent(
            intent("i-1", "east", Operation::Create),
            &listing(&[("7", "east"), ("8", "west")]),
            None,
            "2026-11-27T08:00:00Z",
        );
        assert_eq!(
            record,
            JournalRecord::Put(Put {
                address: address("east"),
                entry: StateEntry {
                    status: Some(crate::model::Status::Stopped),
                    ..StateEntry::new("7", spec(), String::new(), "2026-11-27T08:00:00Z")
                },
                intent: Some(IntentId("i-1".into())),
            })
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
    fn a_create_not_found_is_settled() {
        let (record, event) = resolve_intent(
            intent("i-1", "east", Operation::Create),
            &listing(&[("8", "west")]),
            None,
            "now",
        );
        assert_eq!(
            record,
            JournalRecord::Settle(Settle {
                id: IntentId("i-1".into())
            })
        );
        assert_eq!(
            event,
            ApplyEvent::Settled {
                address: address("east"),
                operation: Operation::Create
            }
        );
    }

    #[test]
    fn a_delete_is_done_only_when_its_id_is_gone() {
        let mut state = State::new("lineage-1");
        state.job_groups.insert(
            address("east"),
            found_entry(Some(&spec()), &observed("7", "east"), "R", "now"),
        );
        let (gone, _) = resolve_intent(
            intent("i-1", "east", Operation::Delete),
            &listing(&[("8", "west")]),
            Some(&state),
            "now",
        );
        assert!(matches!(gone, JournalRecord::Remove(_)), "{gone:?}");
        // Renamed but still there: not deleted.
        let (kept, _) = resolve_intent(
            intent("i-2", "east", Operation::Delete),
            &listing(&[("7", "renamed")]),
            Some(&state),
            "now",
        );
        assert!(matches!(kept, JournalRecord::Settle(_)), "{kept:?}");
    }

    #[test]
    fn an_update_is_settled() {
        let (record, _) = resolve_intent(
            intent("i-1", "east", Operation::Update),
            &listing(&[("7", "east")]),
            None,
            "now",
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
}
