//! One delete: intent on disk, then `DeleteJobGroup`, then the group removed from the state.
//!
//! A group the service does not know (`InvalidJobGroupId.NotFound`) was deleted outside
//! cityform: it is removed from the state all the same. When the answer is lost, the intent
//! stays unresolved, and the next run lists the instance to learn whether the group is gone
//! before sending anything (`docs/apply.md`, "Unfinished runs").

use super::create::RunContext;
use super::report::{ChangeKind, DeletedGroup, NOT_FOUND_CODE};
use super::status::failure_from;
use super::work::Outcome;
use crate::model::Address;
use crate::provenance::HistoryAction;
use crate::state::journal::{Intent, IntentId, JournalRecord, Operation, Remove, Settle};
use crate::state::{Backend, StateEntry, StateError};

/// Deletes the group recorded as `entry` at `address`, and forgets it.
pub(crate) async fn delete<B: Backend>(
    context: &RunContext<'_, B>,
    address: Address,
    entry: StateEntry,
) -> Result<Outcome, StateError> {
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
        return Ok(Outcome::NotStarted(address));
    };
    let answer = context
        .client
        .delete_job_group(
            &address.region_id,
            &address.instance_id,
            &entry.job_group_id,
        )
        .await;
    drop(slot);
    let (request_id, already_gone) = match answer {
        Ok(answer) => (answer.request_id, false),
        Err(error) if error.code() == Some(NOT_FOUND_CODE) => (String::new(), true),
        Err(error) if error.is_ambiguous() => {
            let failure = failure_from(ChangeKind::Delete, &address, &error).with_hint(
                "the answer was lost, so the group may or may not have been deleted; the state \
                 keeps it with the unfinished call, and the next apply lists the instance to \
                 find out before sending anything",
            );
            return Ok(Outcome::Failed(failure));
        }
        Err(error) => {
            context
                .backend
                .append(&[JournalRecord::Settle(Settle { id: intent_id })])
                .await?;
            return Ok(Outcome::Failed(failure_from(
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
    Ok(Outcome::Deleted(DeletedGroup {
        address,
        job_group_id: entry.job_group_id,
        request_id,
        already_gone,
    }))
}
