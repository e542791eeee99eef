//! One delete: intent on disk, then `DeleteJobGroup`, then the group removed from the state.
//!
//! Before the call, the live group is looked up by its id: one whose name is not the one the
//! state records is not deleted (the state may be damaged or hand-edited). A group the
//! service does not know (`InvalidJobGroupId.NotFound`) was deleted outside cityform: it is
//! removed from the state all the same. When the answer is lost, the intent
//! stays unresolved, and the next run lists the instance to learn whether the group is gone
//! before sending anything (`docs/apply.md`, "Unfinished runs").

use super::create::ActionContext;
use super::report::{ActionFailure, ChangeKind, DeletedGroup, FailureReason, NOT_FOUND_CODE};
use super::resolve::group_by_id;
use super::status::failure_from;
use super::work::ActionOutcome;
use crate::cloud::Retries;
use crate::model::{Address, printable};
use crate::state::HistoryAction;
use crate::state::journal::{Intent, IntentId, JournalRecord, Operation, Remove, Settle};
use crate::state::{Backend, StateEntry, StateError};

/// Deletes the group recorded as `entry` at `address`, and forgets it.
pub(crate) async fn delete<B: Backend>(
    context: &ActionContext<'_, B>,
    address: Address,
    entry: StateEntry,
) -> Result<ActionOutcome, StateError> {
    let intent = Intent {
        id: IntentId::random(),
        address: address.clone(),
        operation: Operation::Delete,
        spec: None,
    };
    let intent_id = intent.id.clone();
    context
        .backend
        .append(&[JournalRecord::Intent(intent)])
        .await?;
    let Some(slot) = context.slots.start(&address, ChangeKind::Delete).await else {
        context
            .backend
            .append(&[JournalRecord::Settle(Settle { id: intent_id })])
            .await?;
        return Ok(ActionOutcome::NotStarted(address));
    };
    // A delete goes by id, and an id is only as good as the state that holds it: a damaged
    // or hand-edited address would delete a group the manifests still declare.
    let live = group_by_id(
        &context.client,
        &address.region_id,
        &address.instance_id,
        &entry.job_group_id,
    )
    .await;
    let refusal = match &live {
        Ok(Some(live)) if live.name != address.name => Some(
            ActionFailure::local(
                ChangeKind::Delete,
                &address,
                FailureReason::Conflict,
                format!(
                    "the live group with id {} in `{}/{}` is named `{}`, not `{}` as the state \
                 records; nothing was deleted",
                    entry.job_group_id,
                    address.region_id,
                    address.instance_id,
                    printable(&live.name),
                    address.name
                ),
            )
            .with_hint(
                "the state may be damaged or hand-edited; check it with `cityform state show`, \
             and fix the record with `cityform state mv` or `cityform state rm`",
            ),
        ),
        Ok(_) => None,
        Err(error) => Some(
            failure_from(ChangeKind::Delete, &address, error)
                .with_hint("the group was not looked up, so nothing was deleted; run apply again"),
        ),
    };
    if let Some(failure) = refusal {
        drop(slot);
        context
            .backend
            .append(&[JournalRecord::Settle(Settle { id: intent_id })])
            .await?;
        return Ok(ActionOutcome::Failed(failure));
    }
    let answer = context
        .client
        .delete_job_group(
            &address.region_id,
            &address.instance_id,
            &entry.job_group_id,
        )
        .await;
    drop(slot);
    let (request_id, retries, already_gone) = match answer {
        Ok(answer) => (answer.request_id, answer.retries, false),
        Err(error) if error.code() == Some(NOT_FOUND_CODE) => {
            (String::new(), Retries::default(), true)
        }
        Err(error) if error.is_ambiguous() => {
            let failure = failure_from(ChangeKind::Delete, &address, &error).with_hint(
                "the answer was lost, so the group may or may not have been deleted; the state \
                 keeps it with the unfinished call, and the next apply lists the instance to \
                 find out before sending anything",
            );
            return Ok(ActionOutcome::Failed(failure));
        }
        Err(error) => {
            context
                .backend
                .append(&[JournalRecord::Settle(Settle { id: intent_id })])
                .await?;
            return Ok(ActionOutcome::Failed(failure_from(
                ChangeKind::Delete,
                &address,
                &error,
            )));
        }
    };
    let records = context.history.with(
        vec![JournalRecord::Remove(Remove {
            address: address.clone(),
            intent: Some(intent_id),
        })],
        HistoryAction::Delete,
        &address,
        &entry.job_group_id,
        &request_id,
    );
    context.backend.append(&records).await?;
    Ok(ActionOutcome::Deleted(
        DeletedGroup {
            address,
            job_group_id: entry.job_group_id,
            request_id,
            already_gone,
        },
        retries,
    ))
}
