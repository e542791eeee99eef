//! What a plan says should happen, one action per job group that needs attention.

use serde::{Deserialize, Serialize};

use crate::manifest::SourceLocation;
use crate::model::{Address, JobGroupSpec};

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
    /// In the manifests, not in the state.
    Create {
        /// The group.
        address: Address,
        /// Its desired spec.
        spec: JobGroupSpec,
        /// Where the manifests declare it.
        source: SourceLocation,
    },
    /// In both, with a different spec.
    Update {
        /// The group.
        address: Address,
        /// Its id, from the state.
        job_group_id: String,
        /// The attributes that differ, in attribute order.
        changes: Vec<AttributeChange>,
        /// Its desired spec.
        spec: JobGroupSpec,
        /// Where the manifests declare it.
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
    },
}

impl Action {
    /// The group the action is about.
    pub fn address(&self) -> &Address {
        match self {
            Action::Create { address, .. }
            | Action::Update { address, .. }
            | Action::Orphan { address, .. } => address,
        }
    }
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
    /// Groups in the state that no manifest declares.
    pub orphan: usize,
    /// Groups that already match.
    pub unchanged: usize,
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
}

impl Plan {
    /// Counts the actions by kind.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary {
            unchanged: self.unchanged,
            ..Summary::default()
        };
        for action in &self.actions {
            match action {
                Action::Create { .. } => summary.create += 1,
                Action::Update { .. } => summary.update += 1,
                Action::Orphan { .. } => summary.orphan += 1,
            }
        }
        summary
    }

    /// Whether manifests and state agree completely. An orphan is a disagreement too, even
    /// though applying leaves it alone: a reviewer (and `--detailed-exitcode`) should see it.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}
