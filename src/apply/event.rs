//! The events a run streams to its caller (progress display, JSON lines), and the sink that
//! sends them.
//!
//! An event that reports a result (`created`, `recovered`, `settled`) is sent only once the
//! result is durable in the state.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use super::report::{ActionFailure, ChangeKind, NotAppliedKind, RecoveryReason, milliseconds};
use crate::cloud::Retries;
use crate::model::{Address, Status};
use crate::state::journal::Operation;

/// Something that happened during a run. Serializes with an `"event"` tag in snake case,
/// e.g. `{"event":"created","address":"cn-shanghai/cityvisual-Instance/traffic-east",...}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ApplyEvent {
    /// Calls of an earlier run whose outcome is unknown are being looked up.
    Resolving {
        /// How many.
        count: usize,
        /// How many instances are listed to find them (each one once).
        instances: usize,
    },
    /// An unfinished call of an earlier run is resolved without recording a group: an update
    /// (proposed again by the next plan), or a delete (the group is forgotten when it is gone,
    /// kept when it is still listed). A create is never settled this way: it stays open until
    /// its group is found (`recovered`) or a later create of its address is recorded.
    Settled {
        /// The group.
        address: Address,
        /// What the call was.
        operation: Operation,
    },
    /// An action that calls the service starts ("creating...", "updating...").
    Starting {
        /// The group.
        address: Address,
        /// What the action does.
        action: ChangeKind,
    },
    /// A group was created and recorded.
    Created {
        /// The group.
        address: Address,
        /// The id the service assigned.
        job_group_id: String,
        /// From the start of the action to its result being durable.
        #[serde(rename = "elapsed_ms", serialize_with = "milliseconds")]
        elapsed: Duration,
        /// The create's `RequestId`.
        request_id: String,
        /// How often the create was sent again before it succeeded.
        #[serde(flatten)]
        retries: CallRetries,
    },
    /// A group was updated in place and recorded.
    Updated {
        /// The group.
        address: Address,
        /// Its id.
        job_group_id: String,
        /// The attributes sent (`name` for a rename).
        attributes: Vec<String>,
        /// From the start of the action to its result being durable.
        #[serde(rename = "elapsed_ms", serialize_with = "milliseconds")]
        elapsed: Duration,
        /// The `RequestId` of the `ModifyJobGroup`.
        request_id: String,
        /// How often the update was sent again before it succeeded.
        #[serde(flatten)]
        retries: CallRetries,
    },
    /// A group was started or stopped, and its status recorded.
    StatusChanged {
        /// The group.
        address: Address,
        /// Its id.
        job_group_id: String,
        /// The status it has now.
        status: Status,
        /// The `RequestId` of the call.
        request_id: String,
        /// How often the call was sent again before it succeeded.
        #[serde(flatten)]
        retries: CallRetries,
    },
    /// A started or stopped group is waited for until the service reports it `running` or
    /// `stopped`. Sent when the wait begins and whenever the status seen changes.
    Waiting {
        /// The group.
        address: Address,
        /// Its id.
        job_group_id: String,
        /// The status waited for.
        status: Status,
        /// The status the service reported last, as it spelled it; absent before the first
        /// look.
        #[serde(skip_serializing_if = "Option::is_none")]
        observed: Option<String>,
    },
    /// A group waited for has the status it was given.
    Ready {
        /// The group.
        address: Address,
        /// Its id.
        job_group_id: String,
        /// The status it has.
        status: Status,
        /// From the start of the wait to the look that found it there.
        #[serde(rename = "waited_ms", serialize_with = "milliseconds")]
        waited: Duration,
    },
    /// A group's protection was recorded; nothing was sent.
    Protected {
        /// The group.
        address: Address,
        /// The protection now recorded.
        prevent_destroy: bool,
    },
    /// A group was deleted (or found already gone) and removed from the state.
    Deleted {
        /// The group.
        address: Address,
        /// Its id.
        job_group_id: String,
        /// The `RequestId` of the `DeleteJobGroup`.
        request_id: String,
        /// The service no longer knew the group: it was only forgotten.
        already_gone: bool,
        /// How often the delete was sent again before its answer.
        #[serde(flatten)]
        retries: CallRetries,
    },
    /// A `Moved`, `Import` or `Removed` document was carried out in the state; nothing was
    /// sent.
    Recorded {
        /// Where the state records the group now (where it recorded it, for a removal).
        address: Address,
        /// Its id.
        job_group_id: String,
        /// `move`, `import` or `forget`.
        action: ChangeKind,
        /// For a move, where the state recorded the group before.
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<Address>,
    },
    /// A group was found to exist already because of an earlier attempt, and recorded.
    Recovered {
        /// The group.
        address: Address,
        /// Its id.
        job_group_id: String,
        /// Why it already existed.
        reason: RecoveryReason,
    },
    /// An action failed; the others go on. The failure's fields (its `address` first)
    /// appear in the event itself.
    Failed {
        /// What went wrong, and where.
        #[serde(flatten)]
        failure: ActionFailure,
    },
    /// A planned action that apply reports and leaves alone: an orphan.
    NotApplied {
        /// The group.
        address: Address,
        /// Why it is left alone.
        kind: NotAppliedKind,
    },
    /// The service throttled an attempt; the whole run now waits `delay` between request
    /// starts. Dropped rather than waited for when the caller's channel is full.
    Throttled {
        /// The run-wide delay between request starts now.
        #[serde(rename = "delay_ms", serialize_with = "milliseconds")]
        delay: Duration,
    },
    /// Dry run: this group would be created.
    WouldCreate {
        /// The group.
        address: Address,
    },
    /// Dry run: this group would be updated, started, stopped, protected or deleted.
    WouldChange {
        /// The group.
        address: Address,
        /// What would happen to it.
        action: ChangeKind,
    },
    /// The stop signal arrived: no further action starts; those in flight finish and are
    /// recorded.
    Stopping {
        /// Actions still in flight.
        in_flight: usize,
    },
}

/// How often the call that finished an action was sent again (`retried`), and how many of
/// its attempts the service refused as throttled (`throttled`); in JSON only when not zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CallRetries {
    /// Attempts sent again after a failure, throttled ones included.
    #[serde(skip_serializing_if = "is_zero")]
    pub retried: u32,
    /// Attempts the service refused as throttled.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled: u32,
}

impl From<Retries> for CallRetries {
    fn from(retries: Retries) -> Self {
        Self {
            retried: retries.retried,
            throttled: retries.throttled,
        }
    }
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

/// Sends events; a caller that stopped listening does not stop the run.
#[derive(Debug, Clone)]
pub(crate) struct EventSink {
    sender: mpsc::Sender<ApplyEvent>,
}

impl EventSink {
    pub fn new(sender: mpsc::Sender<ApplyEvent>) -> Self {
        Self { sender }
    }

    /// Sends `event`, waiting while the caller's channel is full.
    pub async fn emit(&self, event: ApplyEvent) {
        // A closed channel means nobody listens any more; the run goes on regardless.
        let _ = self.sender.send(event).await;
    }

    /// Sends `event` if there is room now; for callers that must not wait.
    pub fn try_emit(&self, event: ApplyEvent) {
        let _ = self.sender.try_send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::report::FailureReason;
    use crate::cloud::ErrorClass;

    fn address() -> Address {
        Address::new("cn-shanghai", "cityvisual-Instance", "traffic-east")
    }

    #[test]
    fn events_serialize_as_tagged_json_lines() {
        let events = vec![
            ApplyEvent::Resolving {
                count: 2,
                instances: 1,
            },
            ApplyEvent::Settled {
                address: address(),
                operation: Operation::Delete,
            },
            ApplyEvent::Starting {
                address: address(),
                action: ChangeKind::Create,
            },
            ApplyEvent::Created {
                address: address(),
                job_group_id: "4".into(),
                elapsed: Duration::from_millis(1234),
                request_id: "R-1".into(),
                retries: CallRetries::default(),
            },
            ApplyEvent::Updated {
                address: address(),
                job_group_id: "4".into(),
                attributes: vec!["name".into(), "planedJobCount".into()],
                elapsed: Duration::from_millis(56),
                request_id: "R-3".into(),
                retries: CallRetries {
                    retried: 4,
                    throttled: 3,
                },
            },
            ApplyEvent::StatusChanged {
                address: address(),
                job_group_id: "4".into(),
                status: Status::Running,
                request_id: "R-4".into(),
                retries: CallRetries {
                    retried: 1,
                    throttled: 0,
                },
            },
            ApplyEvent::Waiting {
                address: address(),
                job_group_id: "4".into(),
                status: Status::Running,
                observed: Some("starting".into()),
            },
            ApplyEvent::Ready {
                address: address(),
                job_group_id: "4".into(),
                status: Status::Running,
                waited: Duration::from_millis(750),
            },
            ApplyEvent::Protected {
                address: address(),
                prevent_destroy: false,
            },
            ApplyEvent::Deleted {
                address: address(),
                job_group_id: "4".into(),
                request_id: String::new(),
                already_gone: true,
                retries: CallRetries::default(),
            },
            ApplyEvent::Recovered {
                address: address(),
                job_group_id: "4".into(),
                reason: RecoveryReason::LostAnswer,
            },
            ApplyEvent::Failed {
                failure: ActionFailure {
                    address: address(),
                    action: ChangeKind::Create,
                    reason: FailureReason::Conflict,
                    class: ErrorClass::Terminal,
                    code: Some("InvalidName.Duplicate".into()),
                    message: "CreateJobGroup traffic-east: InvalidName.Duplicate (400)".into(),
                    request_id: Some("R-2".into()),
                    hint: Some("adopt it with `cityform import ...`".into()),
                },
            },
            ApplyEvent::NotApplied {
                address: address(),
                kind: NotAppliedKind::Orphan,
            },
            ApplyEvent::Throttled {
                delay: Duration::from_millis(100),
            },
            ApplyEvent::WouldCreate { address: address() },
            ApplyEvent::WouldChange {
                address: address(),
                action: ChangeKind::Stop,
            },
            ApplyEvent::Stopping { in_flight: 3 },
        ];
        let lines: Vec<String> = events
            .iter()
            .map(|event| serde_json::to_string(event).unwrap())
            .collect();
        insta::assert_snapshot!(lines.join("\n"));
    }
}
