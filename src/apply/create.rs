//! One create, exactly once: intent on disk, then the call, then the result on disk.
//!
//! When the answer is lost the call is never sent again blindly: the name is looked up
//! first. Found, the group is recorded; not found, nothing was created and the create is
//! tried again, at most [`MAX_CREATE_ROUNDS`] times in all. If even the look-up fails, the
//! intent stays unresolved in the state and the next run resolves it before sending
//! anything.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::report::{
    ActionFailure, CreatedGroup, DUPLICATE_NAME_CODE, FailureReason, RecoveredGroup, RecoveryReason,
};
use super::resolve::{found_entry, groups_by_name, now_rfc3339};
use super::work::Outcome;
use crate::cloud::{CloudClient, CloudError};
use crate::model::{Address, JobGroupSpec, Status};
use crate::state::journal::{Intent, IntentId, JournalRecord, Operation, Put, Settle};
use crate::state::{Backend, StateEntry, StateError};

/// Creates sent for one group in one run, at most: the first, and one more after each lost
/// answer whose group was then not found.
pub const MAX_CREATE_ROUNDS: u32 = 3;

/// What the actions of one run share.
pub(crate) struct RunContext<'a, B> {
    pub backend: &'a B,
    /// Paced by the run's shared pacer.
    pub client: CloudClient,
    /// Groups whose create by an earlier run was resolved as "nothing created" at the start
    /// of this run.
    pub earlier_attempts: BTreeSet<Address>,
}

/// Creates `address` with `spec`, and records it with `prevent_destroy`.
pub(crate) async fn create<B: Backend>(
    context: &RunContext<'_, B>,
    address: Address,
    spec: JobGroupSpec,
    prevent_destroy: bool,
) -> Result<Outcome, StateError> {
    let started = Instant::now();
    let backend = context.backend;
    // The earlier run's create may have landed after all, if the listing lagged behind it.
    let mut attempted_before = context.earlier_attempts.contains(&address);
    let mut lost_answer_here = false;
    // Records to write together with the next intent (the previous round's settle).
    let mut carried: Vec<JournalRecord> = Vec::new();
    let mut round = 0;
    loop {
        round += 1;
        let intent = Intent {
            id: IntentId::random(),
            address: address.clone(),
            operation: Operation::Create,
            spec: Some(spec.clone()),
        };
        let intent_id = intent.id.clone();
        carried.push(JournalRecord::Intent(intent));
        backend.append(&carried).await?;
        carried.clear();

        let error = match context
            .client
            .create_job_group(
                &address.region_id,
                &address.instance_id,
                &address.name,
                &spec,
            )
            .await
        {
            Ok(created) => {
                let entry = StateEntry {
                    // The service creates groups stopped.
                    status: Some(Status::Stopped),
                    prevent_destroy,
                    ..StateEntry::new(
                        created.job_group_id.clone(),
                        spec,
                        created.request_id.clone(),
                        now_rfc3339(),
                    )
                };
                backend.append(&[put(&address, entry, intent_id)]).await?;
                return Ok(Outcome::Created(CreatedGroup {
                    address,
                    job_group_id: created.job_group_id,
                    request_id: created.request_id,
                    elapsed: elapsed_since(started),
                }));
            }
            Err(error) => error,
        };

        let duplicate = error.code() == Some(DUPLICATE_NAME_CODE);
        if !(error.is_ambiguous() || (duplicate && attempted_before)) {
            // The service answered with an error: it created nothing.
            backend.append(&[settle(intent_id)]).await?;
            let failure = if duplicate {
                ActionFailure::conflict(&address, &error)
            } else if error.is_retryable() {
                ActionFailure::from_cloud(&address, FailureReason::GaveUp, &error).with_hint(
                    "the service kept failing or throttling; nothing was created; run apply \
                     again, perhaps with a lower parallelism or request rate",
                )
            } else {
                ActionFailure::from_cloud(&address, FailureReason::Refused, &error)
            };
            return Ok(Outcome::Failed(failure));
        }

        lost_answer_here |= error.is_ambiguous();
        attempted_before = true;
        let listed = match groups_by_name(&context.client, &address.region_id, &address.instance_id)
            .await
        {
            Ok(listed) => listed,
            Err(lookup) => return Ok(Outcome::Failed(unknown_outcome(&address, &error, &lookup))),
        };
        if let Some(found) = listed.get(&address.name) {
            let request_id = error.request_id().unwrap_or_default();
            let entry = StateEntry {
                prevent_destroy,
                ..found_entry(Some(&spec), found, request_id, &now_rfc3339())
            };
            backend.append(&[put(&address, entry, intent_id)]).await?;
            return Ok(Outcome::Recovered(RecoveredGroup {
                address,
                job_group_id: found.job_group_id.clone(),
                reason: if lost_answer_here {
                    RecoveryReason::LostAnswer
                } else {
                    RecoveryReason::Unfinished
                },
            }));
        }
        if duplicate {
            // Taken, yet not listed: nothing here to adopt safely.
            backend.append(&[settle(intent_id)]).await?;
            return Ok(Outcome::Failed(ActionFailure::conflict(&address, &error)));
        }
        if round >= MAX_CREATE_ROUNDS {
            backend.append(&[settle(intent_id)]).await?;
            return Ok(Outcome::Failed(
                ActionFailure::from_cloud(&address, FailureReason::NotCreated, &error).with_hint(
                    format!(
                        "the answer was lost {round} times and the group was never found by \
                         name, so nothing was created; run apply again"
                    ),
                ),
            ));
        }
        // Not found: the lost create created nothing, so creating again is safe.
        carried.push(settle(intent_id));
    }
}

fn put(address: &Address, entry: StateEntry, intent: IntentId) -> JournalRecord {
    JournalRecord::Put(Put {
        address: address.clone(),
        entry,
        intent: Some(intent),
    })
}

fn settle(id: IntentId) -> JournalRecord {
    JournalRecord::Settle(Settle { id })
}

fn elapsed_since(started: Instant) -> Duration {
    Instant::now().saturating_duration_since(started)
}

/// The failure for a lost answer that could not be looked up: the intent stays unresolved.
fn unknown_outcome(address: &Address, error: &CloudError, lookup: &CloudError) -> ActionFailure {
    ActionFailure::from_cloud(address, FailureReason::OutcomeUnknown, error).with_hint(format!(
        "the group may or may not have been created, and looking it up failed too ({lookup}); \
         the intent stays in the state, and the next apply looks the name up before sending \
         anything"
    ))
}
