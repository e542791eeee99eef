//! One update in place: intent on disk, then `ModifyJobGroup` with only the attributes that
//! differ, then the new spec on disk. And a change of the recorded protection, which sends
//! nothing.
//!
//! `ModifyJobGroup` replaces the whole set of `JobGroupParams` it is given. So when a param
//! changes, the live group is read first (`DescribeJobGroups` filtered by its id), and the
//! set sent is the live one with the changed params set: a param the manifests leave out,
//! or ignore, keeps its live value.

use std::collections::BTreeMap;
use std::time::Instant;

use super::create::ActionContext;
use super::report::{
    ActionFailure, ChangeKind, DUPLICATE_NAME_CODE, FailureReason, NOT_FOUND_CODE,
    ProtectionChange, UpdatedGroup,
};
use super::resolve::{group_by_id, now_rfc3339};
use super::status::failure_from;
use super::work::ActionOutcome;
use crate::cloud::ModifyJobGroupRequest;
use crate::model::{Address, JobGroupSpec};
use crate::state::HistoryAction;
use crate::state::journal::{Intent, IntentId, JournalRecord, Operation, Put, Settle};
use crate::state::{Backend, StateEntry, StateError};

/// What to send, and what the group looks like once it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Modification {
    /// The request, with only the changed attributes set.
    pub request: ModifyJobGroupRequest,
    /// The attributes it sets, as the plan names them.
    pub attributes: Vec<String>,
    /// The spec to record: `base` with the sent attributes changed.
    pub recorded: JobGroupSpec,
}

/// The `ModifyJobGroup` that changes `attributes` of the group `job_group_id` at `address`
/// to their values in `desired`. `base` is the group as it is now (live when read, else as
/// recorded); its params are the set the changed params are merged into. A `name` attribute
/// renames the group to `address.name`.
pub(crate) fn modification(
    address: &Address,
    job_group_id: &str,
    attributes: &[String],
    desired: &JobGroupSpec,
    base: &JobGroupSpec,
) -> Modification {
    let mut request =
        ModifyJobGroupRequest::new(&address.region_id, &address.instance_id, job_group_id);
    let mut recorded = base.clone();
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    let mut sent = Vec::new();
    for attribute in attributes {
        let known = match attribute.as_str() {
            "name" => {
                request.name = Some(address.name.clone());
                true
            }
            "algoLibId" => {
                request.algo_lib_id = Some(desired.algo_lib_id.clone());
                recorded.algo_lib_id.clone_from(&desired.algo_lib_id);
                true
            }
            "resourceProfileId" => {
                request.resource_profile_id = Some(desired.resource_profile_id.clone());
                recorded
                    .resource_profile_id
                    .clone_from(&desired.resource_profile_id);
                true
            }
            "planedJobCount" => {
                request.planed_job_count = Some(desired.planed_job_count);
                recorded.planed_job_count = desired.planed_job_count;
                true
            }
            "streamPerJob" => {
                request.stream_per_job = Some(desired.stream_per_job);
                recorded.stream_per_job = desired.stream_per_job;
                true
            }
            "jobCount" if desired.job_count.is_some() => {
                request.job_count = desired.job_count;
                recorded.job_count = desired.job_count;
                true
            }
            other => match other
                .strip_prefix("params.")
                .and_then(|key| Some((key, desired.params.get(key)?)))
            {
                Some((key, value)) => {
                    params.insert(key.to_owned(), value.clone());
                    true
                }
                // An attribute the manifests do not set cannot be sent: the API cannot unset.
                None => false,
            },
        };
        if known {
            sent.push(attribute.clone());
        }
    }
    if !params.is_empty() {
        recorded.params.extend(params);
        request.params = Some(recorded.params.clone());
    }
    Modification {
        request,
        attributes: sent,
        recorded,
    }
}

/// Updates the group recorded as `entry` at `address`: sends the changed `attributes` of
/// `desired`, then records the result with `prevent_destroy`.
pub(crate) async fn update<B: Backend>(
    context: &ActionContext<'_, B>,
    address: Address,
    entry: StateEntry,
    attributes: Vec<String>,
    desired: JobGroupSpec,
    prevent_destroy: bool,
) -> Result<ActionOutcome, StateError> {
    let started = Instant::now();
    let kind = ChangeKind::Update;
    let Some(slot) = context.slots.start(&address, kind).await else {
        return Ok(ActionOutcome::NotStarted(address));
    };
    let changes_params = attributes
        .iter()
        .any(|attribute| attribute.starts_with("params."));
    let base = if changes_params {
        match group_by_id(
            &context.client,
            &address.region_id,
            &address.instance_id,
            &entry.job_group_id,
        )
        .await
        {
            Ok(Some(live)) => live.to_spec(),
            Ok(None) => return Ok(ActionOutcome::Failed(gone(kind, &address, &entry))),
            Err(error) => {
                return Ok(ActionOutcome::Failed(
                    failure_from(kind, &address, &error).with_hint(
                        "the live params could not be read before changing them; nothing was \
                         sent; run apply again",
                    ),
                ));
            }
        }
    } else {
        entry.spec.clone()
    };
    let modification = modification(&address, &entry.job_group_id, &attributes, &desired, &base);
    let intent = Intent {
        id: IntentId::random(),
        address: address.clone(),
        operation: Operation::Update,
        spec: Some(modification.recorded.clone()),
    };
    let intent_id = intent.id.clone();
    context
        .backend
        .append(&[JournalRecord::Intent(intent)])
        .await?;
    let answer = context.client.modify_job_group(&modification.request).await;
    drop(slot);
    match answer {
        Ok(answer) => {
            let recorded = StateEntry {
                job_group_id: entry.job_group_id.clone(),
                spec: modification.recorded,
                request_id: answer.request_id.clone(),
                applied_at: now_rfc3339(),
                status: entry.status,
                prevent_destroy,
            };
            let records = context.history.with(
                vec![JournalRecord::Put(Put {
                    address: address.clone(),
                    entry: recorded,
                    intent: Some(intent_id),
                })],
                HistoryAction::Update,
                &address,
                &entry.job_group_id,
                &answer.request_id,
            );
            context.backend.append(&records).await?;
            Ok(ActionOutcome::Updated(
                UpdatedGroup {
                    address,
                    job_group_id: entry.job_group_id,
                    attributes: modification.attributes,
                    request_id: answer.request_id,
                    elapsed: Instant::now().saturating_duration_since(started),
                },
                answer.retries,
            ))
        }
        Err(error) => {
            // Sending an update again is harmless, so an unknown outcome needs no look-up:
            // the state keeps the spec it had, and the next plan shows what still differs.
            context
                .backend
                .append(&[JournalRecord::Settle(Settle { id: intent_id })])
                .await?;
            let failure = if error.code() == Some(NOT_FOUND_CODE) {
                gone(kind, &address, &entry)
            } else if error.code() == Some(DUPLICATE_NAME_CODE) {
                ActionFailure::of(kind, &address, FailureReason::Conflict, &error).with_hint(
                    format!(
                        "another job group in instance `{}` is already named `{}`; rename or \
                         remove it, or choose another name",
                        address.instance_id, address.name
                    ),
                )
            } else if error.is_ambiguous() {
                failure_from(kind, &address, &error).with_hint(
                    "the answer was lost, so the update may or may not have been applied; the \
                     state keeps the spec it had, and the next plan shows what still differs",
                )
            } else {
                failure_from(kind, &address, &error)
            };
            Ok(ActionOutcome::Failed(failure))
        }
    }
}

/// Records `prevent_destroy` for the group recorded as `entry`; sends nothing.
pub(crate) async fn protect<B: Backend>(
    context: &ActionContext<'_, B>,
    address: Address,
    entry: StateEntry,
    prevent_destroy: bool,
) -> Result<ActionOutcome, StateError> {
    let job_group_id = entry.job_group_id.clone();
    let records = context.history.with(
        vec![JournalRecord::Put(Put {
            address: address.clone(),
            entry: StateEntry {
                prevent_destroy,
                ..entry
            },
            intent: None,
        })],
        HistoryAction::Protect,
        &address,
        &job_group_id,
        "",
    );
    context.backend.append(&records).await?;
    Ok(ActionOutcome::Protected(ProtectionChange {
        address,
        job_group_id,
        prevent_destroy,
    }))
}

/// The failure of an action on a group the service no longer has.
pub(crate) fn gone(kind: ChangeKind, address: &Address, entry: &StateEntry) -> ActionFailure {
    ActionFailure::local(
        kind,
        address,
        FailureReason::Gone,
        format!(
            "job group `{}` no longer exists: it was deleted outside cityform",
            entry.job_group_id
        ),
    )
    .with_hint("run plan again: it proposes to create the group anew")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::JobGroupParams;

    fn address(name: &str) -> Address {
        Address::new("cn-shanghai", "cityvisual-Instance", name)
    }

    fn attributes(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn only_the_changed_attributes_are_sent() {
        let base = JobGroupSpec::example();
        let desired = JobGroupSpec::example().with_planed_jobs(12);
        let modification = modification(
            &address("g"),
            "7",
            &attributes(&["planedJobCount"]),
            &desired,
            &base,
        );
        assert_eq!(
            modification.request.parameters(),
            [
                ("InstanceId".to_owned(), "cityvisual-Instance".to_owned()),
                ("JobGroupId".to_owned(), "7".to_owned()),
                ("PlanedJobCount".to_owned(), "12".to_owned()),
            ]
        );
        assert_eq!(modification.request.region_id, "cn-shanghai");
        assert_eq!(modification.recorded, desired);
        assert_eq!(modification.attributes, ["planedJobCount"]);
    }

    #[test]
    fn a_rename_sends_the_new_name_and_records_the_same_spec() {
        let base = JobGroupSpec::example();
        let modification = modification(
            &address("new-name"),
            "7",
            &attributes(&["name"]),
            &base,
            &base,
        );
        assert_eq!(modification.request.name.as_deref(), Some("new-name"));
        assert_eq!(
            modification.request.parameters().len(),
            3,
            "{:?}",
            modification.request
        );
        assert_eq!(modification.recorded, base);
    }

    #[test]
    fn changed_params_are_merged_into_the_live_set() {
        let live = JobGroupSpec::example()
            .with_param("RDS_ENABLE", "True")
            .with_param("ES_ENABLE", "False");
        let desired = JobGroupSpec::example()
            .with_param("ES_ENABLE", "True")
            // Ignored by the manifests: not among the attributes, so not changed.
            .with_param("DATAHUB_ENABLE", "True");
        let modification = modification(
            &address("g"),
            "7",
            &attributes(&["params.ES_ENABLE"]),
            &desired,
            &live,
        );
        let sent = modification.request.params.clone().unwrap_or_default();
        assert_eq!(
            sent,
            JobGroupParams::from_iter([
                ("ES_ENABLE".to_owned(), "True".to_owned()),
                ("RDS_ENABLE".to_owned(), "True".to_owned()),
            ])
        );
        assert_eq!(modification.recorded.params, sent);
        assert_eq!(modification.request.planed_job_count, None);
    }

    #[test]
    fn attributes_only_the_live_group_sets_are_not_sent() {
        let mut live = JobGroupSpec::example();
        live.job_count = Some(4);
        let modification = modification(
            &address("g"),
            "7",
            &attributes(&["jobCount", "params.OUT_MQ_ENABLE"]),
            &JobGroupSpec::example(),
            &live,
        );
        assert!(modification.attributes.is_empty());
        assert_eq!(modification.request.parameters().len(), 2);
        assert_eq!(modification.recorded, live);
    }
}
