//! The changes of what the state records that `Moved`, `Import` and `Removed` documents ask
//! for: journal records and their history, with nothing sent to the service. Each is one
//! append, so a crash leaves it done or not done, never half done.

use super::create::ActionContext;
use super::report::{ChangeKind, RecordedChange};
use super::resolve::now_rfc3339;
use super::work::ActionOutcome;
use crate::manifest::SourceLocation;
use crate::model::Address;
use crate::state::journal::{JournalRecord, Put, Remove};
use crate::state::{Backend, HistoryAction, Moved, StateEntry, StateError};

/// Records the group `entry` at `from` under `address` instead.
pub(crate) async fn move_group<B: Backend>(
    context: &ActionContext<'_, B>,
    address: Address,
    from: Address,
    entry: StateEntry,
    source: SourceLocation,
) -> Result<ActionOutcome, StateError> {
    let moved = Moved {
        from: from.clone(),
        to: address.clone(),
    };
    let mut records = vec![
        JournalRecord::Remove(Remove {
            address: from.clone(),
            intent: None,
        }),
        JournalRecord::Put(Put {
            address: address.clone(),
            entry: entry.clone(),
            intent: None,
        }),
    ];
    // Under both addresses, as `state mv` records it, so that the history of either tells
    // where the group went.
    for at in [&from, &address] {
        records.extend(context.history.declared(
            HistoryAction::Move,
            at,
            &entry.job_group_id,
            &source,
            Some(&moved),
        ));
    }
    append(
        context,
        &records,
        RecordedChange {
            address,
            job_group_id: entry.job_group_id,
            action: ChangeKind::Move,
            from: Some(from),
        },
    )
    .await
}

/// Records the existing group `entry` at `address`.
pub(crate) async fn import<B: Backend>(
    context: &ActionContext<'_, B>,
    address: Address,
    entry: StateEntry,
    source: SourceLocation,
) -> Result<ActionOutcome, StateError> {
    let entry = StateEntry {
        applied_at: now_rfc3339(),
        ..entry
    };
    let records = vec![JournalRecord::Put(Put {
        address: address.clone(),
        entry: entry.clone(),
        intent: None,
    })];
    record_one(
        context,
        records,
        HistoryAction::Import,
        ChangeKind::Import,
        address,
        entry.job_group_id,
        &source,
    )
    .await
}

/// Forgets the group `entry` at `address`; it keeps running in the service.
pub(crate) async fn forget<B: Backend>(
    context: &ActionContext<'_, B>,
    address: Address,
    entry: StateEntry,
    source: SourceLocation,
) -> Result<ActionOutcome, StateError> {
    let records = vec![JournalRecord::Remove(Remove {
        address: address.clone(),
        intent: None,
    })];
    record_one(
        context,
        records,
        HistoryAction::Forget,
        ChangeKind::Forget,
        address,
        entry.job_group_id,
        &source,
    )
    .await
}

/// Appends `records` with the history entry of `action` on the group at `address`, and
/// reports the change.
async fn record_one<B: Backend>(
    context: &ActionContext<'_, B>,
    mut records: Vec<JournalRecord>,
    action: HistoryAction,
    kind: ChangeKind,
    address: Address,
    job_group_id: String,
    source: &SourceLocation,
) -> Result<ActionOutcome, StateError> {
    records.extend(
        context
            .history
            .declared(action, &address, &job_group_id, source, None),
    );
    append(
        context,
        &records,
        RecordedChange {
            address,
            job_group_id,
            action: kind,
            from: None,
        },
    )
    .await
}

async fn append<B: Backend>(
    context: &ActionContext<'_, B>,
    records: &[JournalRecord],
    change: RecordedChange,
) -> Result<ActionOutcome, StateError> {
    context.backend.append(records).await?;
    Ok(ActionOutcome::Recorded(change))
}
