//! What a run did, action by action: the value [`super::execute`] returns, and the pieces
//! its events carry.

use std::fmt;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::cloud::{CloudError, ErrorClass};
use crate::model::Address;

/// The `Code` the service answers when a name is taken in the instance.
pub const DUPLICATE_NAME_CODE: &str = "InvalidName.Duplicate";

/// Everything a run did, each list in address order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// Groups created by this run, and recorded.
    pub created: Vec<CreatedGroup>,
    /// Groups found to exist already because of an earlier attempt, and recorded.
    pub recovered: Vec<RecoveredGroup>,
    /// Actions that failed; the others went on.
    pub failed: Vec<ActionFailure>,
    /// Updates and orphans: shown by the plan, not carried out by this version.
    pub not_applied: Vec<NotApplied>,
    /// Creates never started because the run was stopped or could not record progress.
    pub not_started: Vec<Address>,
    /// Creates a dry run would have sent.
    pub would_create: Vec<Address>,
    /// Attempts the service answered with a throttling error, over the whole run.
    pub throttled: u64,
    /// The run was stopped before every action had started.
    pub interrupted: bool,
    /// Nothing was sent and nothing written.
    pub dry_run: bool,
}

impl ApplyReport {
    /// Whether every action that this version carries out was carried out.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.not_started.is_empty() && !self.interrupted
    }

    pub(crate) fn sort(&mut self) {
        self.created.sort_by(|a, b| a.address.cmp(&b.address));
        self.recovered.sort_by(|a, b| a.address.cmp(&b.address));
        self.failed.sort_by(|a, b| a.address.cmp(&b.address));
        self.not_applied.sort_by(|a, b| a.address.cmp(&b.address));
        self.not_started.sort();
        self.would_create.sort();
    }
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
    /// The answer was lost and the group could not be looked up; the intent stays in the
    /// state and the next run resolves it before sending anything.
    OutcomeUnknown,
    /// The answer was lost in every round and the group was never found: nothing was
    /// created.
    NotCreated,
}

impl ActionFailure {
    /// A failure of `address` described by the cloud error `error`.
    pub(crate) fn from_cloud(address: &Address, reason: FailureReason, error: &CloudError) -> Self {
        Self {
            address: address.clone(),
            reason,
            class: error.class(),
            code: error.code().map(str::to_owned),
            message: error.to_string(),
            request_id: error.request_id().map(str::to_owned),
            hint: None,
        }
    }

    /// The failure for a create refused because the name exists and this state never tried
    /// to create it.
    pub(crate) fn conflict(address: &Address, error: &CloudError) -> Self {
        Self {
            hint: Some(format!(
                "a job group named `{}` already exists in instance `{}` and this state never \
                 created it; to manage it, adopt it on purpose with `cityform import {address}`, \
                 or give the manifest entry another name",
                address.name, address.instance_id
            )),
            ..Self::from_cloud(address, FailureReason::Conflict, error)
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
        write!(f, "cannot create `{}`: {}", self.address, self.message)
    }
}

/// A planned action this version does not carry out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotApplied {
    /// The group.
    pub address: Address,
    /// Its id, from the state.
    pub job_group_id: String,
    /// What the plan wanted.
    pub kind: NotAppliedKind,
}

/// The kinds of planned action that are reported, not carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotAppliedKind {
    /// An update in place.
    Update,
    /// A group in the state that no manifest declares; deleting is never implicit.
    Orphan,
    /// A start or stop.
    Status,
    /// A change of the recorded protection.
    Protect,
    /// A deletion.
    Delete,
}

impl NotApplied {
    /// The report entry for a planned action other than a create, which this version of
    /// the executor does not carry out.
    pub fn from_action(action: &crate::plan::Action) -> Option<Self> {
        use crate::plan::Action;
        let (kind, job_group_id) = match action {
            Action::Create { .. } => return None,
            Action::Update { job_group_id, .. } => (NotAppliedKind::Update, job_group_id.clone()),
            Action::Orphan { job_group_id, .. } => (NotAppliedKind::Orphan, job_group_id.clone()),
            Action::SetStatus { job_group_id, .. } => (
                NotAppliedKind::Status,
                job_group_id.clone().unwrap_or_default(),
            ),
            Action::Protect { job_group_id, .. } => (NotAppliedKind::Protect, job_group_id.clone()),
            Action::Delete { job_group_id, .. } | Action::BlockedDelete { job_group_id, .. } => {
                (NotAppliedKind::Delete, job_group_id.clone())
            }
        };
        Some(Self {
            address: action.address().clone(),
            job_group_id,
            kind,
        })
    }
}

pub(crate) fn milliseconds<S: Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}
