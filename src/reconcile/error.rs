//! `ReconcileError`: why a reconcile stopped, each cause kept as its own type so that the
//! command line can show it as the layer that raised it does.

use std::path::PathBuf;

use super::request::CallerError;
use crate::apply::ApplyError;
use crate::apply::refresh::RefreshError;
use crate::cloud::CredentialError;
use crate::model::Address;
use crate::plan::DeclarationErrors;
use crate::state::StateError;

/// Why a reconcile (or a plan) stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The state could not be read or changed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The run could not start or go on.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// A call had to be sent and there are no usable credentials.
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// The refresh needed credentials.
    #[error(
        "cannot refresh: reading the live job groups needs credentials; to plan from the state alone, pass `--refresh=false`"
    )]
    RefreshNeedsCredentials(#[source] CredentialError),
    /// The live groups could not be read.
    #[error("cannot refresh; to plan from the state alone, pass `--refresh=false`")]
    Refresh(#[source] RefreshError),
    /// The live groups could not be read to bring the state up to date.
    #[error("cannot refresh; the state was not changed")]
    RefreshState(#[source] RefreshError),
    /// `--target` (or `--exclude`) names a group that neither the manifests nor the state
    /// know.
    #[error(
        "`{flag} {address}` names no job group: the manifests do not declare it and the state does not record it; addresses are `regionId/instanceId/name`"
    )]
    UnknownTarget {
        /// The flag.
        flag: &'static str,
        /// The target.
        address: Address,
    },
    /// A saved plan was made against another state than the one there now.
    #[error("cannot apply `{}`", file.display())]
    Stale {
        /// The saved plan's file.
        file: PathBuf,
        /// How the states differ.
        source: StalePlan,
    },
    /// A `Moved`, `Import` or `Removed` document cannot be carried out against this state
    /// and these live groups.
    #[error(transparent)]
    Declarations(#[from] DeclarationErrors),
    /// The caller's [`super::Interaction`] failed.
    #[error(transparent)]
    Caller(CallerError),
}

/// Why a saved plan does not fit the state.
#[derive(Debug, thiserror::Error)]
#[error(
    "saved plan is stale: the state changed since it was made ({found}, plan expects {expected}); run plan again"
)]
pub struct StalePlan {
    /// The state found, described.
    pub found: String,
    /// The state the plan was made against, described.
    pub expected: String,
}
