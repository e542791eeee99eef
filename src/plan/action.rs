//! What a plan says should happen, one action per job group that needs attention.

use serde::{Deserialize, Serialize};

use crate::manifest::SourceLocation;
use crate::model::{Address, JobGroupSpec, Status};

/// One attribute whose value differs between the state and the manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeChange {
    /// The attribute as [`JobGroupSpec::attributes`] names it, e.g. `planedJobCount`.
    pub attribute: String,
    /// The recorded value; `None` when the attribute was not set.
    pub before: Option<String>,
    /// The desired value; `None` when the manifests no longer set it.
    pub after: Option<String>,
}

/// What should happen to one job group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// In the manifests, not in the state, or in the state but deleted outside cityform.
    Create {
        /// The group.
        address: Address,
        /// Its desired spec.
        spec: JobGroupSpec,
        /// Where the manifests declare it.
        source: SourceLocation,
        /// The id the state recorded for a group that no longer exists: the create replaces
        /// that record.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces_id: Option<String>,
        /// Whether deleting the group is to be forbidden, recorded with it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        prevent_destroy: bool,
    },
    /// In both, with a different spec (or name): sent as `ModifyJobGroup`.
    Update {
        /// The group.
        address: Address,
        /// Its id, from the state.
        job_group_id: String,
        /// The attributes that differ from the live (or, without a refresh, the recorded)
        /// group, in attribute order. `name` is among them when the group is renamed.
        changes: Vec<AttributeChange>,
        /// How the live group differs from what cityform recorded: changes made outside
        /// cityform. Empty without a refresh.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        drift: Vec<AttributeChange>,
        /// Its desired spec.
        spec: JobGroupSpec,
        /// Where the manifests declare it.
        source: SourceLocation,
        /// Whether deleting the group is to be forbidden, recorded with it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        prevent_destroy: bool,
    },
    /// The run status differs: sent as `StartJobGroup` or `StopJobGroup`, after creates and
    /// updates.
    SetStatus {
        /// The group.
        address: Address,
        /// Its id; `None` for a group this plan creates.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job_group_id: Option<String>,
        /// The live (or recorded) status, or the one a live group is on its way to
        /// (`stopping` is `Stopped` here); `None` when not known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<Status>,
        /// The status the service reported, as it spelled it, when that is not a settled
        /// `Running` or `Stopped`: a transitional value (`stopping`) or one cityform does
        /// not know.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        observed: Option<String>,
        /// The status the manifests ask for.
        to: Status,
        /// Where the manifests declare it; absent from plans saved before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<SourceLocation>,
    },
    /// Only the recorded protection changes; nothing is sent.
    Protect {
        /// The group.
        address: Address,
        /// Its id, from the state.
        job_group_id: String,
        /// The protection to record.
        prevent_destroy: bool,
    },
    /// In the state, in no manifest, and `--prune` asked for deletion: `DeleteJobGroup`.
    Delete {
        /// The group.
        address: Address,
        /// Its id, from the state.
        job_group_id: String,
        /// The spec as last applied.
        spec: JobGroupSpec,
    },
    /// `--prune` would delete it, but the state records `preventDestroy`: the plan fails.
    BlockedDelete {
        /// The group.
        address: Address,
        /// Its id, from the state.
        job_group_id: String,
    },
    /// A `Moved` document: the state records the group at `address` instead of `from`.
    /// Nothing is sent; the update that follows renames the live group.
    Move {
        /// Where the state is to record the group: the end of the chain of moves.
        address: Address,
        /// Where the state records it now.
        from: Address,
        /// Its id, from the state.
        job_group_id: String,
        /// Where the `Moved` document starts.
        source: SourceLocation,
    },
    /// An `Import` document: the state records an existing live group at `address`.
    /// Nothing is created or sent; an update that follows makes it what its manifest says.
    Import {
        /// Where the state is to record it.
        address: Address,
        /// Its id, from the live groups.
        job_group_id: String,
        /// Its live name (another name than the address's is renamed by the update that
        /// follows).
        live_name: String,
        /// Its live spec, recorded as it is.
        spec: JobGroupSpec,
        /// Its live status (the one it is on its way to), recorded as it is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<Status>,
        /// Where the `Import` document starts.
        source: SourceLocation,
    },
    /// A `Removed` document: the state forgets the group, which keeps running in the
    /// service. Nothing is sent.
    Forget {
        /// The group.
        address: Address,
        /// Its id, from the state.
        job_group_id: String,
        /// Where the `Removed` document starts.
        source: SourceLocation,
    },
    /// In the state, in no manifest. Left alone: deleting is never implicit.
    Orphan {
        /// The group.
        address: Address,
        /// Its id, from the state.
        job_group_id: String,
        /// The spec as last applied.
        spec: JobGroupSpec,
        /// The address it was most likely renamed to in the manifests, for the `Moved`
        /// document the plan suggests instead of `--prune`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        renamed_to: Option<RenameHint>,
    },
}

impl Action {
    /// The group the action is about.
    pub fn address(&self) -> &Address {
        match self {
            Action::Create { address, .. }
            | Action::Update { address, .. }
            | Action::SetStatus { address, .. }
            | Action::Protect { address, .. }
            | Action::Delete { address, .. }
            | Action::BlockedDelete { address, .. }
            | Action::Move { address, .. }
            | Action::Import { address, .. }
            | Action::Forget { address, .. }
            | Action::Orphan { address, .. } => address,
        }
    }

    /// When the action runs within one apply: moves, imports and removals in the state;
    /// then creates and updates; then start/stop; then deletes. Actions of one group keep
    /// this order in a plan too.
    pub fn phase(&self) -> u8 {
        match self {
            Action::Move { .. } | Action::Import { .. } | Action::Forget { .. } => 0,
            Action::Create { .. } | Action::Update { .. } | Action::Protect { .. } => 1,
            Action::SetStatus { .. } => 2,
            Action::Delete { .. } | Action::BlockedDelete { .. } | Action::Orphan { .. } => 3,
        }
    }

    /// The `Moved`, `Import` or `Removed` document the action carries out, when it
    /// carries out one.
    pub fn declared_at(&self) -> Option<&SourceLocation> {
        match self {
            Action::Move { source, .. }
            | Action::Import { source, .. }
            | Action::Forget { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A live group in a refreshed instance that no state records: created by hand, or by
/// another state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmanagedGroup {
    /// Where it lives, by its live name.
    pub address: Address,
    /// Its id.
    pub job_group_id: String,
}

/// A group the manifests declare and the state does not record, whose name a live group of
/// its instance already has: the service would refuse to create it, so the plan does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameConflict {
    /// The group the manifests declare.
    pub address: Address,
    /// Where the manifests declare it.
    pub source: SourceLocation,
    /// The id of the live group that has the name.
    pub live_job_group_id: String,
    /// Where the state records that live group, when it does: the group was renamed live (or
    /// its document renamed), and a `Moved` document from this address is the fix. `None`:
    /// no state records it, and an `Import` document is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_as: Option<Address>,
}

/// Why an orphan is probably a group renamed in the manifests, rather than one to let go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenameHint {
    /// The address the manifests now declare it under.
    pub to: Address,
    /// Where the manifests declare it.
    pub source: SourceLocation,
    /// Whether the live group already has the new name (renamed outside cityform), as
    /// opposed to a new document with exactly the orphan's spec in its instance.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub same_live_name: bool,
}

/// The state a plan was computed against; a saved plan only applies to that exact state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateBinding {
    /// The state's lineage.
    pub lineage: String,
    /// The state's serial.
    pub serial: u64,
}

/// Counts of each kind of action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Groups to create.
    pub create: usize,
    /// Groups to update in place.
    pub update: usize,
    /// Groups to delete (`--prune`).
    pub delete: usize,
    /// Groups to start or stop.
    pub status: usize,
    /// Recorded protections to change.
    pub protect: usize,
    /// Deletions refused by `preventDestroy`.
    pub blocked: usize,
    /// Groups in the state that no manifest declares.
    pub orphan: usize,
    /// Groups the state is to record at another address (`Moved`).
    #[serde(rename = "move")]
    pub moved: usize,
    /// Live groups the state is to record (`Import`).
    #[serde(rename = "import")]
    pub imported: usize,
    /// Groups the state is to forget (`Removed`).
    #[serde(rename = "forget")]
    pub forgotten: usize,
    /// Groups that already match.
    pub unchanged: usize,
    /// Creates refused because a live group has the name ([`Plan::conflicts`]).
    #[serde(default)]
    pub conflict: usize,
}

/// The result of comparing the manifests with the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The state the plan was computed against; `None` when there was no state yet.
    pub state: Option<StateBinding>,
    /// The actions, in address order.
    pub actions: Vec<Action>,
    /// How many groups already match and need nothing.
    pub unchanged: usize,
    /// Whether the live groups were read (`DescribeJobGroups`) before planning.
    #[serde(default)]
    pub refreshed: bool,
    /// Groups the manifests declare whose names live groups no document manages already
    /// have: not created, and the plan cannot be applied until each is imported, moved or
    /// renamed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<NameConflict>,
    /// Live groups no state records, when `--show-unmanaged` asked for them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmanaged: Vec<UnmanagedGroup>,
    /// The groups `--target` limited the plan to; empty means every group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Address>,
    /// The groups `--exclude` left out of the plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<Address>,
    /// Why the live groups were not read although a refresh was asked for (e.g. the state
    /// records no group in the manifests' instances): one sentence that the renderers print
    /// as it is, in place of the note that the plan was not refreshed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_skipped_reason: Option<String>,
}

impl Plan {
    /// Counts the actions by kind.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary {
            unchanged: self.unchanged,
            conflict: self.conflicts.len(),
            ..Summary::default()
        };
        for action in &self.actions {
            match action {
                Action::Create { .. } => summary.create += 1,
                Action::Update { .. } => summary.update += 1,
                Action::Orphan { .. } => summary.orphan += 1,
                Action::SetStatus { .. } => summary.status += 1,
                Action::Protect { .. } => summary.protect += 1,
                Action::Delete { .. } => summary.delete += 1,
                Action::BlockedDelete { .. } => summary.blocked += 1,
                Action::Move { .. } => summary.moved += 1,
                Action::Import { .. } => summary.imported += 1,
                Action::Forget { .. } => summary.forgotten += 1,
            }
        }
        summary
    }

    /// Whether manifests and state agree completely. An orphan is a disagreement too, even
    /// though applying leaves it alone: a reviewer should see it.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty() && self.conflicts.is_empty()
    }

    /// A plan with no actions yet, bound to `state`.
    pub fn empty(state: Option<StateBinding>) -> Self {
        Self {
            state,
            actions: Vec::new(),
            unchanged: 0,
            refreshed: false,
            conflicts: Vec::new(),
            unmanaged: Vec::new(),
            targets: Vec::new(),
            excludes: Vec::new(),
            refresh_skipped_reason: None,
        }
    }

    /// The deletions `preventDestroy` refuses: a plan with any cannot be applied.
    pub fn blocked_deletes(&self) -> impl Iterator<Item = &Address> {
        self.actions.iter().filter_map(|action| match action {
            Action::BlockedDelete { address, .. } => Some(address),
            _ => None,
        })
    }
}
