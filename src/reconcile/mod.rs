//! One reconcile: the sequence from a state and manifests (or a saved plan) to a recorded
//! result, in one place, for the command line, the tests and the continuous reconcile alike.
//!
//! [`plan`] reads the state without changing it, refreshes what the plan needs and computes
//! the plan; [`refresh_state`] records what changed outside cityform. [`run`] is `apply`: read the state to change it → check a saved plan's binding
//! → resolve calls an earlier run left unfinished → refresh → plan → show and confirm
//! (through the caller's [`Interaction`]) → execute, every result recorded durably → the
//! state compacted. The caller opens the state (and so holds its lock) before, and closes it
//! after it has shown the result, so that nothing it prints mixes with a run waiting for the
//! lock.

mod binding;
mod error;
mod refresh;
mod request;

use std::collections::BTreeMap;

pub use error::{ReconcileError, StalePlan};
pub use request::{
    CallerError, Interaction, Notice, PlanRequest, Request, Source, StopSignal, Unattended,
};

use crate::apply::refresh::Finding;
use crate::apply::{self, ApplyReport, NotApplied};
use crate::cloud::Connection;
use crate::manifest::Desired;
use crate::model::Address;
use crate::phase;
use crate::plan::{Action, Plan};
use crate::render::LastApplied;
use crate::state::{Backend, HistorySelection, State, StateEntry, StateError};
use refresh::Offline;

/// A plan, and where each group it updates or orphans was last applied from.
#[derive(Debug)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// The provenance shown beside updates and orphans.
    pub last_applied: LastApplied,
}

/// How a run ended, when it did not fail.
#[derive(Debug)]
pub enum Reconciled {
    /// The plan changes nothing: orphans at most, left alone. Nothing was sent; records an
    /// earlier run left unfolded are folded into the state.
    NothingToApply {
        /// The plan, shown already.
        plan: Box<Planned>,
        /// Its orphans, as a report.
        report: ApplyReport,
    },
    /// The caller did not confirm: nothing was changed.
    Cancelled,
    /// The plan was carried out (or, in a dry run, walked through).
    Applied {
        /// The plan.
        plan: Box<Plan>,
        /// What was done.
        report: ApplyReport,
    },
}

/// Plans `desired` against the state in `backend`, read without changing it, after a
/// refresh as `planning` says. `interaction` hears the state's warnings.
pub async fn plan<B: Backend>(
    backend: &B,
    connection: &Connection,
    desired: Desired,
    planning: &PlanRequest,
    interaction: &mut dyn Interaction,
) -> Result<Planned, ReconcileError> {
    let recovered = backend.load().await?;
    for warning in recovered.warnings {
        interaction.notice(Notice::StateWarning(warning));
    }
    let state = recovered.state.as_ref();
    plan_against(
        backend,
        connection,
        desired,
        planning,
        state,
        Offline::NamesUnchecked,
        interaction,
    )
    .await
}

/// Carries out `request`: see the module's documentation for the sequence.
pub async fn run<B: Backend>(
    request: Request<'_, B>,
    interaction: &mut dyn Interaction,
) -> Result<Reconciled, ReconcileError> {
    let Request {
        backend,
        connection,
        source,
        options,
        auto_approve,
        events,
        stop,
    } = request;
    // A dry run changes nothing: it need not keep a second copy of the state.
    let recovered = if options.dry_run {
        backend.load().await?
    } else {
        backend.load_to_change().await?
    };
    for warning in &recovered.warnings {
        interaction.notice(Notice::StateWarning(warning.clone()));
    }
    if let Source::Saved { file, plan } = &source {
        binding::check(file, plan, recovered.state.as_ref())?;
    }
    let state = if options.dry_run {
        if !recovered.unresolved.is_empty() {
            interaction.notice(Notice::UnresolvedLeft(recovered.unresolved.len()));
        }
        recovered.state
    } else {
        let unresolved = !recovered.unresolved.is_empty();
        let resolving = apply::resolve_unresolved(
            backend,
            connection.client().await?,
            recovered,
            &events,
            options.provenance.as_ref(),
        );
        if unresolved {
            phase::timed(phase::RESOLVE, resolving).await?
        } else {
            resolving.await?
        }
    };

    let plan = match source {
        Source::Saved { plan, .. } => {
            refuse_unappliable(&plan)?;
            plan
        }
        Source::Manifests { desired, planning } => {
            let planned = plan_against(
                backend,
                connection,
                desired,
                &planning,
                state.as_ref(),
                if options.dry_run {
                    Offline::PlanFromState
                } else {
                    Offline::Refuse
                },
                interaction,
            )
            .await?;
            interaction
                .plan_ready(&planned.plan, &planned.last_applied)
                .map_err(ReconcileError::Caller)?;
            refuse_unappliable(&planned.plan)?;
            if !planned.plan.actions.iter().any(changes_something) {
                if !options.dry_run && state.is_some() {
                    // Records an earlier run made durable but was killed before folding
                    // into the state file are folded now, as every apply ends compacted.
                    backend.compact().await?;
                }
                let report = nothing_to_apply(&planned.plan);
                return Ok(Reconciled::NothingToApply {
                    plan: Box::new(planned),
                    report,
                });
            }
            if !auto_approve
                && !options.dry_run
                && !interaction
                    .confirm(&planned.plan)
                    .map_err(ReconcileError::Caller)?
            {
                return Ok(Reconciled::Cancelled);
            }
            planned.plan
        }
    };

    interaction.actions_starting(plan.actions.iter().filter(|a| changes_something(a)).count());
    let client = if options.dry_run {
        connection.offline_client()
    } else {
        connection.client().await?
    };
    let report = phase::timed(
        phase::APPLY,
        apply::execute(backend, client, &plan, &options, events, stop),
    )
    .await?;
    Ok(Reconciled::Applied {
        plan: Box::new(plan),
        report,
    })
}

/// What bringing the state up to date with the live groups found.
#[derive(Debug, Default)]
pub struct StateRefreshed {
    /// How many instances were listed.
    pub instances: usize,
    /// Groups found as recorded.
    pub unchanged: usize,
    /// Groups changed, gone or renamed outside cityform.
    pub findings: Vec<Finding>,
}

/// `cityform refresh`: lists every instance the state records a group in and records what
/// changed outside cityform (a changed spec or status, a group gone), changing nothing in
/// the service. Nothing is written when nothing changed, or when an instance cannot be
/// listed.
pub async fn refresh_state<B: Backend>(
    backend: &B,
    connection: &Connection,
    interaction: &mut dyn Interaction,
) -> Result<StateRefreshed, ReconcileError> {
    let recovered = backend.load_to_change().await?;
    for warning in recovered.warnings {
        interaction.notice(Notice::StateWarning(warning));
    }
    let Some(state) = recovered.state else {
        return Ok(StateRefreshed::default());
    };
    let instances = apply::refresh::recorded_instances(&state);
    let observed = if instances.is_empty() {
        crate::plan::Observed::default()
    } else {
        phase::timed(
            phase::REFRESH,
            apply::refresh::observe(connection.client().await?, &instances, Some(&state)),
        )
        .await
        .map_err(ReconcileError::RefreshState)?
    };
    let refresh = apply::refresh::refresh_state(&state, &observed);
    if !refresh.records.is_empty() {
        backend.append(&refresh.records).await?;
        backend.compact().await?;
    }
    Ok(StateRefreshed {
        instances: instances.len(),
        unchanged: refresh.unchanged,
        findings: refresh.findings,
    })
}

/// The plan of `desired` against `state` (read from `backend`), after the refresh
/// `planning` asks for; `offline` says what happens without credentials.
async fn plan_against<B: Backend>(
    backend: &B,
    connection: &Connection,
    desired: Desired,
    planning: &PlanRequest,
    state: Option<&State>,
    offline: Offline,
    interaction: &mut dyn Interaction,
) -> Result<Planned, ReconcileError> {
    let recorded = state.map(|state| &state.job_groups);
    check_targets(&desired, recorded, &planning.options.targets, "--target")?;
    check_targets(&desired, recorded, &planning.options.excludes, "--exclude")?;
    let refresh = phase::timed(
        phase::REFRESH,
        refresh::refresh_for_plan(connection, planning, &desired, state, offline, interaction),
    )
    .await?;
    let plan = phase::timed_sync(phase::PLAN, || {
        refresh.plan(desired, state, &planning.options)
    })?;
    let last_applied = last_applied(backend, state, &plan).await?;
    Ok(Planned { plan, last_applied })
}

/// Where each group `plan` updates or orphans was last applied from, read from the history
/// of only those groups. A plan with neither, or no state, reads nothing: the history is
/// kept beside the state so that most plans never touch it.
pub async fn last_applied<B: Backend>(
    backend: &B,
    state: Option<&State>,
    plan: &Plan,
) -> Result<LastApplied, StateError> {
    let quoted = LastApplied::quoted_by(plan);
    let Some(state) = state.filter(|_| !quoted.is_empty()) else {
        return Ok(LastApplied::default());
    };
    let history = backend
        .history(state, HistorySelection::Groups(&quoted))
        .await?;
    Ok(LastApplied::from_history(&history, plan))
}

/// Refuses a target (or an exclusion, `flag` says which) that names nothing, most likely a
/// typo that would plan nothing (or exclude nothing).
fn check_targets<'a>(
    desired: &Desired,
    recorded: Option<&BTreeMap<Address, StateEntry>>,
    targets: impl IntoIterator<Item = &'a Address>,
    flag: &'static str,
) -> Result<(), ReconcileError> {
    match targets.into_iter().find(|target| {
        !desired.groups.contains_key(*target)
            && !recorded.is_some_and(|recorded| recorded.contains_key(*target))
    }) {
        Some(address) => Err(ReconcileError::UnknownTarget {
            flag,
            address: address.clone(),
        }),
        None => Ok(()),
    }
}

/// Refuses a plan that cannot be applied: blocked deletes, creates of names live groups
/// already have ([`apply::check_appliable`]). `plan` prints the plan first, then fails.
pub fn refuse_unappliable(plan: &Plan) -> Result<(), apply::ApplyError> {
    apply::check_appliable(plan)
}

/// Whether applying `action` changes anything: everything but orphans (left alone) and
/// blocked deletes (refused).
pub fn changes_something(action: &Action) -> bool {
    !matches!(action, Action::Orphan { .. } | Action::BlockedDelete { .. })
}

/// The report of a run whose plan changes nothing: its orphans, left alone.
fn nothing_to_apply(plan: &Plan) -> ApplyReport {
    ApplyReport {
        not_applied: plan
            .actions
            .iter()
            .filter_map(NotApplied::from_action)
            .collect(),
        ..ApplyReport::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::model::JobGroupSpec;

    /// A run can be spawned (the continuous reconcile does): this fails to compile otherwise.
    #[allow(dead_code, clippy::manual_async_fn)] // the `Send` bound is the point
    fn a_run_is_send(
        request: Request<'static, crate::state::LocalBackend>,
    ) -> impl std::future::Future<Output = ()> + Send {
        async move {
            let _ = run(request, &mut Unattended).await;
        }
    }

    #[test]
    fn a_target_must_name_a_declared_or_recorded_group() {
        let target = Address::new("cn-shanghai", "i", "a");
        let error = check_targets(&Desired::default(), None, [&target], "--target").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`--target cn-shanghai/i/a` names no job group"),
            "{error}"
        );
        let mut recorded = BTreeMap::new();
        recorded.insert(
            target.clone(),
            StateEntry::new("1", JobGroupSpec::example(), "", "2026-11-27T08:00:00Z"),
        );
        check_targets(&Desired::default(), Some(&recorded), [&target], "--exclude").unwrap();
        let error = check_targets(&Desired::default(), None, [&target], "--exclude").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`--exclude cn-shanghai/i/a` names no job group"),
            "{error}"
        );
    }

    #[test]
    fn only_orphans_and_blocked_deletes_change_nothing() {
        let address = Address::new("cn-shanghai", "i", "a");
        let orphan = Action::Orphan {
            address,
            job_group_id: "1".into(),
            spec: JobGroupSpec::example(),
            renamed_to: None,
        };
        assert!(!changes_something(&orphan));
        let mut plan = Plan::empty(None);
        plan.actions.push(orphan);
        assert_eq!(nothing_to_apply(&plan).not_applied.len(), 1);
    }

    /// The history is read for a plan's updates and orphans only: with a history file that
    /// cannot be read, a plan without either still gets its (empty) notes, and one with them
    /// fails on the file.
    #[test]
    fn last_applied_reads_the_history_only_for_updates_and_orphans() {
        use crate::manifest::SourceLocation;
        use crate::state::{LocalBackend, LocalFileError, LockOptions};
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json");
        crate::state::write_state_file(&path, State::new("lineage-1")).unwrap();
        std::fs::write(
            directory.path().join("state.json.history"),
            "not a history\n",
        )
        .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let backend = LocalBackend::open(&path, &LockOptions::new("test")).unwrap();
        let state = runtime.block_on(backend.load()).unwrap().state.unwrap();
        let mut plan = Plan::empty(None);
        plan.actions.push(Action::Create {
            address: Address::example("new"),
            spec: JobGroupSpec::example(),
            source: SourceLocation {
                file: "groups.yaml".into(),
                line: 1,
                column: 1,
            },
            replaces_id: None,
            prevent_destroy: false,
        });

        let notes = runtime
            .block_on(last_applied(&backend, Some(&state), &plan))
            .unwrap();
        assert_eq!(notes, LastApplied::default());
        plan.actions.push(Action::Orphan {
            address: Address::example("old"),
            job_group_id: "1".into(),
            spec: JobGroupSpec::example(),
            renamed_to: None,
        });
        let error = runtime
            .block_on(last_applied(&backend, Some(&state), &plan))
            .unwrap_err();
        assert!(
            matches!(
                error,
                StateError::LocalFile(LocalFileError::HistoryInvalid { .. })
            ),
            "{error}"
        );
    }
}
