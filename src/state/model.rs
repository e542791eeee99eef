//! The state's data model, independent of where it is stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::history::DEFAULT_RETAIN_PER_GROUP;
use crate::model::{Address, JobGroupSpec, Status};

/// The state format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The largest serial a state is read with: the largest integer every JSON reader keeps
/// exactly (2^53 − 1). Far from it, a serial never reaches it by being bumped; near it, a
/// serial was written by hand, and bumping it could overflow and come back to a value a
/// stale saved plan matches.
pub const MAX_SERIAL: u64 = (1 << 53) - 1;

pub(super) fn serial_within_bounds<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<u64, D::Error> {
    let serial = u64::deserialize(deserializer)?;
    if serial > MAX_SERIAL {
        return Err(serde::de::Error::custom(format!(
            "the serial must be at most {MAX_SERIAL}, not {serial}"
        )));
    }
    Ok(serial)
}

/// What cityform knows it manages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// The state file format; a newer one is refused, never overwritten.
    pub format_version: u32,
    /// Made when the state is created; a saved plan binds to it.
    pub lineage: String,
    /// Bumped at every write; a saved plan binds to it. At most [`MAX_SERIAL`] when read.
    #[serde(deserialize_with = "serial_within_bounds")]
    pub serial: u64,
    /// The managed job groups, by address.
    pub job_groups: BTreeMap<Address, StateEntry>,
    /// How many recorded actions the history keeps per group (`--history-retention`,
    /// `docs/provenance.md`). The history itself is kept beside the state, not in it.
    /// Written only when it is not the default, so that states keep their shape.
    #[serde(
        default = "default_retention",
        skip_serializing_if = "is_default_retention"
    )]
    pub history_retention: usize,
}

fn default_retention() -> usize {
    DEFAULT_RETAIN_PER_GROUP
}

pub(super) fn is_default_retention(retention: &usize) -> bool {
    *retention == DEFAULT_RETAIN_PER_GROUP
}

/// One managed job group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateEntry {
    /// The id the service assigned.
    pub job_group_id: String,
    /// The spec as last applied.
    pub spec: JobGroupSpec,
    /// The `RequestId` of the call that last changed the group.
    pub request_id: String,
    /// When that call returned, RFC 3339 UTC.
    pub applied_at: String,
    /// The status cityform last set or observed; `None` when it never did either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Deleting the group is forbidden until an apply with `preventDestroy: false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prevent_destroy: bool,
}

impl StateEntry {
    /// An entry for a group with no recorded status and no protection.
    pub fn new(
        job_group_id: impl Into<String>,
        spec: JobGroupSpec,
        request_id: impl Into<String>,
        applied_at: impl Into<String>,
    ) -> Self {
        Self {
            job_group_id: job_group_id.into(),
            spec,
            request_id: request_id.into(),
            applied_at: applied_at.into(),
            status: None,
            prevent_destroy: false,
        }
    }
}

impl State {
    /// A new, empty state with the given lineage (the caller supplies it, so this stays pure).
    pub fn new(lineage: impl Into<String>) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            lineage: lineage.into(),
            serial: 0,
            job_groups: BTreeMap::new(),
            history_retention: DEFAULT_RETAIN_PER_GROUP,
        }
    }
}
