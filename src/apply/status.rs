//! One start or stop: `StartJobGroup` or `StopJobGroup`, then the status on disk.
//!
//! No intent is recorded first: starting a running group or stopping a stopped one is not an
//! error, so a call whose outcome is unknown (or whose result a crash kept from the state) is
//! simply sent again by the next apply if the refreshed status still differs.

use super::create::ActionContext;
use super::report::{ActionFailure, ChangeKind, FailureReason, NOT_FOUND_CODE, StatusChange};
use super::resolve::now_rfc3339;
use super::update::gone;
use super::work::ActionOutcome;
use crate::cloud::CloudError;
use crate::model::{Address, Status};
use crate::state::HistoryAction;
use crate::state::journal::{JournalRecord, Put};
use crate::state::{Backend, StateEntry, StateError};

/// Starts or stops the group recorded as `entry` so that it is `to`, and records it.
pub(crate) async fn set_status<B: Backend>(
    context: &ActionContext<'_, B>,
    address: Address,
    entry: StateEntry,
    to: Status,
) -> Result<ActionOutcome, StateError> {
    let kind = ChangeKind::for_status(to);
    let (region_id, instance_id, job_group_id) = (
        address.region_id.as_str(),
        address.instance_id.as_str(),
        entry.job_group_id.as_str(),
    );
    let Some(slot) = context.slots.start(&address, kind).await else {
        return Ok(ActionOutcome::NotStarted(address));
    };
    let answer = match to {
        Status::Running => {
            context
                .client
                .start_job_group(region_id, instance_id, job_group_id)
                .await
        }
        Status::Stopped => {
            context
                .client
                .stop_job_group(region_id, instance_id, job_group_id)
                .await
        }
    };
    drop(slot);
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) if error.code() == Some(NOT_FOUND_CODE) => {
            return Ok(ActionOutcome::Failed(gone(kind, &address, &entry)));
        }
        Err(error) => return Ok(ActionOutcome::Failed(failure_from(kind, &address, &error))),
    };
    let job_group_id = entry.job_group_id.clone();
    let action = match to {
        Status::Running => HistoryAction::Start,
        Status::Stopped => HistoryAction::Stop,
    };
    let records = context.history.with(
        vec![JournalRecord::Put(Put {
            address: address.clone(),
            entry: StateEntry {
                request_id: answer.request_id.clone(),
                applied_at: now_rfc3339(),
                status: Some(to),
                ..entry
            },
            intent: None,
        })],
        action,
        &address,
        &job_group_id,
        &answer.request_id,
    );
    context.backend.append(&records).await?;
    Ok(ActionOutcome::StatusChanged(
        StatusChange {
            address,
            job_group_id,
            status: to,
            request_id: answer.request_id,
        },
        answer.retries,
    ))
}

/// The failure of `kind` on `address` that `error` describes, with the reason its class
/// implies.
pub(crate) fn failure_from(
    kind: ChangeKind,
    address: &Address,
    error: &CloudError,
) -> ActionFailure {
    let reason = if error.is_ambiguous() {
        FailureReason::OutcomeUnknown
    } else if error.is_retryable() {
        FailureReason::GaveUp
    } else {
        FailureReason::Refused
    };
    let failure = ActionFailure::of(kind, address, reason, error);
    match reason {
        FailureReason::GaveUp => failure.with_hint(
            "the service kept failing or throttling; run apply again, perhaps with a lower \
             parallelism or request rate",
        ),
        FailureReason::OutcomeUnknown => failure.with_hint(
            "the answer was lost; the next plan shows whether the change still has to be made",
        ),
        _ => failure,
    }
}
