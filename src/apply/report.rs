//! What a run did, action by action: the value [`super::execute`] returns, and the pieces
//! its events carry.

use std::fmt;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::cloud::{CloudError, ErrorClass};
use crate::model::{Address, Status};

/// The `Code` the service answers when a name is taken in the instance.
pub const DUPLICATE_NAME_CODE: &str = "InvalidName.Duplicate";

/// The `Code` the service answers for a `JobGroupId` it does not know.
pub const NOT_FOUND_CODE: &str = "InvalidJobGroupId.NotFound";

/// Everything a run did, each list in address order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// Groups created by this run, and recorded.
    pub created: Vec<CreatedGroup>,
    /// Groups updated in place (`ModifyJobGroup`), and recorded.
    pub updated: Vec<UpdatedGroup>,
    /// Groups started or stopped, and recorded.
    pub status_changed: Vec<StatusChange>,
    /// Groups started or stopped that the service then reported `running` or `stopped`
    /// (the others that were waited for are among `failed`).
    pub ready: Vec<ReadyGroup>,
    /// Groups whose recorded `preventDestroy` changed (nothing was sent).
    pub protected: Vec<ProtectionChange>,
    /// Groups deleted (`--prune`), and removed from the state.
    pub deleted: Vec<DeletedGroup>,
    /// Groups the state now records at another address, records for the first time or no
    /// longer records, as `Moved`, `Import` and `Removed` documents asked (nothing was sent).
    pub recorded: Vec<RecordedChange>,
    /// Groups found to exist already because of an earlier attempt, and recorded.
    pub recovered: Vec<RecoveredGroup>,
    /// Actions that failed; the others went on.
    pub failed: Vec<ActionFailure>,
    /// Orphans: shown by the plan and left alone, since deleting is never implicit.
    pub not_applied: Vec<NotApplied>,
    /// Groups with an action never started: the run was stopped, could not record progress,
    /// or the create a start depends on failed.
    pub not_started: Vec<Address>,
    /// Creates a dry run would have sent.
    pub would_create: Vec<Address>,
    /// Other actions a dry run would have carried out.
    pub would_change: Vec<PlannedChange>,
    /// Attempts the service answered with a throttling error, over the whole run.
    pub throttled: u64,
    /// The run was stopped before every action had started.
    pub interrupted: bool,
    /// Nothing was sent and nothing written.
    pub dry_run: bool,
}

impl ApplyReport {
    /// Whether every planned action (orphans aside) was carried out.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.not_started.is_empty() && !self.interrupted
    }

    pub(crate) fn sort(&mut self) {
        self.created.sort_by(|a, b| a.address.cmp(&b.address));
        self.updated.sort_by(|a, b| a.address.cmp(&b.address));
        self.status_changed
            .sort_by(|a, b| a.address.cmp(&b.address));
        self.ready.sort_by(|a, b| a.address.cmp(&b.address));
        self.protected.sort_by(|a, b| a.address.cmp(&b.address));
        self.deleted.sort_by(|a, b| a.address.cmp(&b.address));
        self.recorded.sort_by(|a, b| a.address.cmp(&b.address));
        self.recovered.sort_by(|a, b| a.address.cmp(&b.address));
        // Stable: a group's failed create and its start stay in that order.
        self.failed.sort_by(|a, b| a.address.cmp(&b.address));
        self.not_applied.sort_by(|a, b| a.address.cmp(&b.address));
        self.not_started.sort();
        self.not_started.dedup();
        self.would_create.sort();
        self.would_change.sort_by(|a, b| a.address.cmp(&b.address));
    }
}

/// What an action does to a group, as events and failures name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// `CreateJobGroup`.
    Create,
    /// `ModifyJobGroup`.
    Update,
    /// `StartJobGroup`.
    Start,
    /// `StopJobGroup`.
    Stop,
    /// Only the recorded `preventDestroy` changes; nothing is sent.
    Protect,
    /// `DeleteJobGroup`.
    Delete,
    /// The state records the group at another address (`Moved`); nothing is sent.
    Move,
    /// The state records an existing group (`Import`); nothing is sent.
    Import,
    /// The state forgets the group (`Removed`); nothing is sent.
    Forget,
}

impl ChangeKind {
    /// The start or stop that sets `status`.
    pub fn for_status(status: Status) -> Self {
        match status {
            Status::Running => ChangeKind::Start,
            Status::Stopped => ChangeKind::Stop,
        }
    }

    /// The verb for messages: `create`, `update`, `start`, ...
    pub fn verb(self) -> &'static str {
        match self {
            ChangeKind::Create => "create",
            ChangeKind::Update => "update",
            ChangeKind::Start => "start",
            ChangeKind::Stop => "stop",
            ChangeKind::Protect => "record the protection of",
            ChangeKind::Delete => "delete",
            ChangeKind::Move => "record the move of",
            ChangeKind::Import => "import",
            ChangeKind::Forget => "forget",
        }
    }
}

/// A change of what the state records, carried out for a `Moved`, `Import` or `Removed`
/// document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedChange {
    /// Where the state records the group now (where it recorded it, for a removal).
    pub address: Address,
    /// Its id.
    pub job_group_id: String,
    /// `move`, `import` or `forget`.
    pub action: ChangeKind,
    /// For a move, where the state recorded the group before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Address>,
}

/// A group this run updated in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdatedGroup {
    /// The group.
    pub address: Address,
    /// Its id.
    pub job_group_id: String,
    /// The attributes sent, as the plan names them (`name`, `planedJobCount`, `params.ES_ENABLE`).
    pub attributes: Vec<String>,
    /// The `RequestId` of the `ModifyJobGroup`.
    pub request_id: String,
    /// From the start of the action (intent written) to its result being durable.
    #[serde(rename = "elapsed_ms", serialize_with = "milliseconds")]
    pub elapsed: Duration,
}

/// A group this run started or stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    /// The group.
    pub address: Address,
    /// Its id.
    pub job_group_id: String,
    /// The status it has now.
    pub status: Status,
    /// The `RequestId` of the `StartJobGroup` or `StopJobGroup`.
    pub request_id: String,
}

/// A group this run started or stopped that then got there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadyGroup {
    /// The group.
    pub address: Address,
    /// Its id.
    pub job_group_id: String,
    /// The status the service reports now.
    pub status: Status,
    /// From the start of the wait to the look that found it there.
    #[serde(rename = "waited_ms", serialize_with = "milliseconds")]
    pub waited: Duration,
}

/// A group whose recorded protection this run changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectionChange {
    /// The group.
    pub address: Address,
    /// Its id.
    pub job_group_id: String,
    /// The protection now recorded.
    pub prevent_destroy: bool,
}

/// A group this run deleted, or found already gone, and removed from the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletedGroup {
    /// The group.
    pub address: Address,
    /// Its id.
    pub job_group_id: String,
    /// The `RequestId` of the `DeleteJobGroup`.
    pub request_id: String,
    /// The service said the group did not exist (`InvalidJobGroupId.NotFound`): it was
    /// deleted outside cityform, and is only forgotten.
    pub already_gone: bool,
}

/// An action a dry run would carry out, other than a create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedChange {
    /// The group.
    pub address: Address,
    /// What would happen to it.
    pub action: ChangeKind,
}

/// A group this run created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatedGroup {
    /// The group.
    pub address: Address,
    /// The id the service assigned.
    pub job_group_id: String,
    /// The `RequestId` of the create.
    pub request_id: String,
    /// From the start of the action (intent written) to its result being durable.
    #[serde(rename = "elapsed_ms", serialize_with = "milliseconds")]
    pub elapsed: Duration,
}

/// A group found to exist already, and recorded without creating it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecoveredGroup {
    /// The group.
    pub address: Address,
    /// Its id.
    pub job_group_id: String,
    /// Why it already existed.
    pub reason: RecoveryReason,
}

/// Why a group was recovered instead of created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryReason {
    /// This run's create lost its answer (timeout, reset, no id) and the name was found.
    LostAnswer,
    /// A create of an earlier run never recorded its outcome (a crash) and the name was found.
    Unfinished,
    /// The plan asks for a create, but the state already records the group: an unfinished
    /// create was resolved after the plan was made.
    AlreadyRecorded,
}

impl fmt::Display for RecoveryReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecoveryReason::LostAnswer => "the answer was lost; found by name",
            RecoveryReason::Unfinished => "an earlier run was cut short; found by name",
            RecoveryReason::AlreadyRecorded => "already recorded in the state",
        })
    }
}

/// An action that failed, with everything support would ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionFailure {
    /// The group.
    pub address: Address,
    /// What the action was.
    pub action: ChangeKind,
    /// What kind of failure, for the caller to act on.
    pub reason: FailureReason,
    /// The class of the last error: retryable, ambiguous or terminal.
    pub class: ErrorClass,
    /// The service's `Code`, when it answered with one.
    pub code: Option<String>,
    /// The whole error, as it displays.
    pub message: String,
    /// The `RequestId` of the answer, when one was read.
    pub request_id: Option<String>,
    /// What to do about it, when there is something specific.
    pub hint: Option<String>,
}

/// The kinds of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// The name is taken by a group this state never tried to create.
    Conflict,
    /// The service refused the request; sending it again gives the same answer.
    Refused,
    /// The service kept failing or throttling until the client's retries ran out.
    GaveUp,
    /// The answer was lost and the group could not be looked up, or the name is taken by an
    /// earlier create of this state that the service does not list yet; the intent stays in
    /// the state and the next run resolves it before sending anything.
    OutcomeUnknown,
    /// The answer was lost in every round and the group was never found: most likely nothing
    /// was created. The intents stay open, so a group that lands late is still recorded.
    NotCreated,
    /// The group no longer exists (`InvalidJobGroupId.NotFound`): deleted outside cityform
    /// since the plan was made.
    Gone,
    /// The state no longer records the group as the plan saw it.
    Stale,
    /// The group was started or stopped, but the service did not report it `running` or
    /// `stopped` within the wait timeout (or it was deleted meanwhile); the message has the
    /// last status seen.
    NotReady,
}

impl ActionFailure {
    /// A failure of a create of `address` described by the cloud error `error`.
    pub(crate) fn from_cloud(address: &Address, reason: FailureReason, error: &CloudError) -> Self {
        Self::of(ChangeKind::Create, address, reason, error)
    }

    /// A failure of `action` on `address` described by the cloud error `error`.
    pub(crate) fn of(
        action: ChangeKind,
        address: &Address,
        reason: FailureReason,
        error: &CloudError,
    ) -> Self {
        Self {
            address: address.clone(),
            action,
            reason,
            class: error.class(),
            code: error.code().map(str::to_owned),
            message: error.to_string(),
            request_id: error.request_id().map(str::to_owned),
            hint: None,
        }
    }

    /// The failure for a create refused because the name exists and this state has no
    /// open create of it. The hint says no more than the state knows: a group it created
    /// whose record was lost (a journal cut short) looks the same as somebody else's.
    pub(crate) fn conflict(address: &Address, error: &CloudError) -> Self {
        Self {
            hint: Some(format!(
                "a job group named `{}` already exists in instance `{}`, and this state has no \
                 record of it (made by hand or by another state, or created by a run whose record \
                 was lost); to manage it, adopt it on purpose with `cityform import {address}`, \
                 or give the manifest entry another name",
                address.name, address.instance_id
            )),
            ..Self::from_cloud(address, FailureReason::Conflict, error)
        }
    }

    /// A failure of `action` on `address` found without asking the service.
    pub(crate) fn local(
        action: ChangeKind,
        address: &Address,
        reason: FailureReason,
        message: impl Into<String>,
    ) -> Self {
        Self {
            address: address.clone(),
            action,
            reason,
            class: ErrorClass::Terminal,
            code: None,
            message: message.into(),
            request_id: None,
            hint: None,
        }
    }

    /// The same failure with `hint`.
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for ActionFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {} `{}`: {}",
            self.action.verb(),
            self.address,
            self.message
        )
    }
}

/// A planned action that apply reports and leaves alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotApplied {
    /// The group.
    pub address: Address,
    /// Its id, from the state.
    pub job_group_id: String,
    /// What the plan said.
    pub kind: NotAppliedKind,
}

/// The kinds of planned action that are reported, not carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotAppliedKind {
    /// A group in the state that no manifest declares; deleting it takes `--prune`.
    Orphan,
}

impl NotApplied {
    /// The report entry for a planned action that apply leaves alone: an orphan.
    pub fn from_action(action: &crate::plan::Action) -> Option<Self> {
        match action {
            crate::plan::Action::Orphan {
                address,
                job_group_id,
                ..
            } => Some(Self {
                address: address.clone(),
                job_group_id: job_group_id.clone(),
                kind: NotAppliedKind::Orphan,
            }),
            _ => None,
        }
    }
}

pub(crate) fn milliseconds<S: Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}
