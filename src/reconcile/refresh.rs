//! The refresh before a plan: which instances to list, whether there are credentials to
//! list them with, and what the plan says when the live groups were not read.

use std::collections::BTreeSet;

use super::error::ReconcileError;
use super::request::{Interaction, Notice, PlanRequest};
use crate::apply::refresh::{self, Instance};
use crate::cloud::Connection;
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

/// Why a refresh with nothing to list was skipped: no group the plan compares is recorded.
fn nothing_recorded_reason(state: Option<&State>, targeted: bool) -> String {
    let why = if state.is_none() {
        "there is no state yet".to_owned()
    } else {
        format!(
            "the state records none of the {}job groups the manifests declare",
            if targeted { "targeted " } else { "" }
        )
    };
    format!(
        "Note: the live job groups were not read: {why}, so there was nothing to compare them with."
    )
}

/// Why a dry run without credentials did not refresh.
const NO_CREDENTIALS_REASON: &str = "Note: the live job groups were not read: there are no credentials, so this dry run compares the manifests with the state only.";

/// Reads the live groups a plan of `desired` against `state` needs, per `planning`. Nothing
/// is read when the refresh is turned off, or when nothing needs listing (no recorded group
/// in any instance the plan touches, and no `--show-unmanaged`), which needs no credentials.
///
/// `offline_ok` (a dry run): without credentials, skip the refresh and tell it instead of
/// failing.
pub(super) async fn refresh_for_plan(
    connection: &Connection,
    planning: &PlanRequest,
    desired: &Desired,
    state: Option<&State>,
    offline_ok: bool,
    interaction: &mut dyn Interaction,
) -> Result<Refresh, ReconcileError> {
    if !planning.refresh {
        return Ok(Refresh::TurnedOff);
    }
    let instances: BTreeSet<Instance> =
        refresh::instances_to_list(desired, state, &planning.options);
    if instances.is_empty() {
        return Ok(Refresh::Skipped(nothing_recorded_reason(
            state,
            !planning.options.targets.is_empty(),
        )));
    }
    let client = match connection.client().await {
        Ok(client) => client,
        Err(error) if offline_ok => {
            interaction.notice(Notice::NotRefreshing(error.to_string()));
            return Ok(Refresh::Skipped(NO_CREDENTIALS_REASON.to_owned()));
        }
        Err(error) => return Err(ReconcileError::RefreshNeedsCredentials(error)),
    };
    let observed = refresh::observe(client, &instances, state)
        .await
        .map_err(ReconcileError::Refresh)?;
    Ok(Refresh::Observed(observed))
}
