//! The refresh before a plan: which instances to list, whether there are credentials to
//! list them with, and what the plan says when the live groups were not read.

use std::collections::BTreeSet;

use super::error::ReconcileError;
use super::request::{Interaction, Notice, PlanRequest};
use crate::apply::refresh::{self, Instance};
use crate::cloud::Connection;
use crate::cloud::credentials::CredentialError;
use crate::manifest::Desired;
use crate::plan::{self, DeclarationErrors, Observed, Plan, PlanOptions};
use crate::state::State;

/// What the refresh before a plan found: the live groups, or why they were not read.
#[derive(Debug)]
pub enum Refresh {
    /// The live groups of every instance the plan needs.
    Observed(Observed),
    /// `--refresh=false`: the plan compares the manifests with the state, and says so.
    TurnedOff,
    /// The refresh was asked for but skipped: why, as the sentence the plan prints
    /// ([`Plan::refresh_skipped_reason`]).
    Skipped(String),
}

impl Refresh {
    /// The live groups, when they were read.
    pub fn observed(&self) -> Option<&Observed> {
        match self {
            Refresh::Observed(observed) => Some(observed),
            Refresh::TurnedOff | Refresh::Skipped(_) => None,
        }
    }

    /// The plan of `desired` against `state` and what was read, saying why the live groups
    /// were not read when the refresh was skipped; refused when a `Moved`, `Import` or
    /// `Removed` document cannot be carried out.
    pub fn plan(
        &self,
        desired: Desired,
        state: Option<&State>,
        options: &PlanOptions,
    ) -> Result<Plan, DeclarationErrors> {
        let mut plan = plan::compute_checked(desired, state, self.observed(), options)?;
        if let Refresh::Skipped(reason) = self {
            plan.refresh_skipped_reason = Some(reason.clone());
        }
        Ok(plan)
    }
}

/// Why a refresh with nothing to list was skipped: the manifests declare no group the plan
/// considers.
fn nothing_declared_reason(targeted: bool) -> String {
    format!(
        "Note: the live job groups were not read: the manifests declare none of the {}job groups \
         in this plan, so there was nothing to compare them with.",
        if targeted { "targeted " } else { "" }
    )
}

/// Why a dry run without credentials did not refresh.
const NO_CREDENTIALS_REASON: &str = "Note: the live job groups were not read: there are no credentials, so this dry run compares the manifests with the state only.";

/// Why a plan that only creates groups did not check their names.
const NAMES_UNCHECKED_REASON: &str = "Note: the live job groups were not read: there are no credentials, so this plan cannot tell whether the job groups it creates already exist in the service.";

/// What a plan does when there are no credentials to refresh with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Offline {
    /// A real apply: it needs them anyway, so it fails at once.
    Refuse,
    /// `plan`: when no source holds credentials and no recorded group needs comparing, only
    /// the creates' names go unchecked, which the plan says; otherwise it fails.
    NamesUnchecked,
    /// A dry run: plans from the state alone, and says so.
    PlanFromState,
}

/// Reads the live groups a plan of `desired` against `state` needs, per `planning`: the
/// instances of every group the plan considers ([`refresh::instances_to_list`]). Nothing is
/// read when the refresh is turned off or nothing needs listing, which needs no credentials;
/// without credentials, `offline` says what happens.
pub(super) async fn refresh_for_plan(
    connection: &Connection,
    planning: &PlanRequest,
    desired: &Desired,
    state: Option<&State>,
    offline: Offline,
    interaction: &mut dyn Interaction,
) -> Result<Refresh, ReconcileError> {
    if !planning.refresh {
        return Ok(Refresh::TurnedOff);
    }
    let instances: BTreeSet<Instance> =
        refresh::instances_to_list(desired, state, &planning.options);
    if instances.is_empty() {
        return Ok(Refresh::Skipped(nothing_declared_reason(
            !planning.options.targets.is_empty(),
        )));
    }
    let client = match connection.client().await {
        Ok(client) => client,
        Err(error) => match offline {
            Offline::PlanFromState => {
                interaction.notice(Notice::NotRefreshing(error.to_string()));
                return Ok(Refresh::Skipped(NO_CREDENTIALS_REASON.to_owned()));
            }
            // Only when no source holds credentials at all: a source set up wrong (half a
            // key, an unreadable file) is an error to fix, not a reason to plan blind.
            Offline::NamesUnchecked
                if matches!(error, CredentialError::NotFound { .. })
                    && refresh::instances_to_compare(desired, state, &planning.options)
                        .is_empty() =>
            {
                return Ok(Refresh::Skipped(NAMES_UNCHECKED_REASON.to_owned()));
            }
            Offline::NamesUnchecked | Offline::Refuse => {
                return Err(ReconcileError::RefreshNeedsCredentials(error));
            }
        },
    };
    let observed = refresh::observe(client, &instances, state)
        .await
        .map_err(ReconcileError::Refresh)?;
    Ok(Refresh::Observed(observed))
}
