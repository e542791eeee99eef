//! `ApplyError`: what stops a whole run (as opposed to one action failing, which is
//! reported in [`super::ApplyReport`] and does not stop the others).

use super::ApplyReport;
use crate::cloud::{CloudError, Halt};
use crate::model::Address;
use crate::plan::NameConflict;
use crate::state::StateError;

/// Why a run could not start or could not go on.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The plan deletes groups the state protects with `preventDestroy` (`--prune`). Nothing
    /// was sent.
    #[error(
        "`--prune` would delete {} job group(s) the state protects with `preventDestroy`: {}; \
         nothing was changed. To keep them, leave out `--prune` (or \
         `--target` other groups); to delete them, declare them again with `lifecycle: \
         {{preventDestroy: false}}` and apply, then remove them and apply with `--prune`",
        addresses.len(),
        list(addresses)
    )]
    Blocked {
        /// The protected groups.
        addresses: Vec<Address>,
    },
    /// The plan creates groups whose names live groups already have (`plan::NameConflict`):
    /// the service would refuse each. Nothing was sent.
    #[error(
        "{} job group(s) to create already exist in the service: {}; nothing was changed. \
         Add the `Import` (or, for a renamed group, `Moved`) document the plan suggests, or \
         rename the group in its manifest",
        conflicts.len(),
        conflict_list(conflicts)
    )]
    NameConflicts {
        /// The refused creates.
        conflicts: Vec<NameConflict>,
    },
    /// The options cannot be carried out.
    #[error("invalid apply options: {reason}")]
    InvalidOptions {
        /// Which setting, and why.
        reason: String,
    },
    /// The state could not be read, created or compacted.
    #[error(transparent)]
    State(#[from] StateError),
    /// An intent or a result could not be recorded during the run. No action started after
    /// it; calls already sent stay recorded as intents, which the next run resolves.
    #[error(
        "cannot record progress in the state: {source}; no further action was started, and \
         calls whose result could not be recorded are looked up by name at the next apply"
    )]
    Record {
        /// The state's error.
        source: StateError,
    },
    /// The run stopped itself because the endpoint is plainly unusable: it cannot be reached,
    /// or it refuses every request's timestamp. What was in flight is recorded (a create whose
    /// answer was lost stays recorded as unknown); `report` says what was done and what was
    /// not started.
    #[error("{halt}")]
    Halted {
        /// Why.
        halt: Halt,
        /// What the run did before it stopped.
        report: Box<ApplyReport>,
    },
    /// Unfinished calls of an earlier run could not be resolved, because their instance
    /// could not be listed. Nothing new was sent.
    #[error(
        "cannot resolve {count} unfinished call(s) of an earlier run: listing the job groups of \
         instance `{instance_id}` in region `{region_id}` failed: {source}; nothing new was \
         sent; run apply again once the instance can be listed"
    )]
    Resolve {
        /// The region.
        region_id: String,
        /// The instance.
        instance_id: String,
        /// How many intents in that instance are still unresolved.
        count: usize,
        /// The listing's error.
        source: Box<CloudError>,
    },
}

fn conflict_list(conflicts: &[NameConflict]) -> String {
    conflicts
        .iter()
        .map(|conflict| {
            format!(
                "`{}` ({}) is job group {}",
                conflict.address, conflict.source, conflict.live_job_group_id
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn list(addresses: &[Address]) -> String {
    addresses
        .iter()
        .map(|address| format!("`{address}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
