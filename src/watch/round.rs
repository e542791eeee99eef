//! One round of a watch over the reconcile `plan` and `apply` use: in `detect` mode a plan
//! with a refresh that changes nothing, in `apply` mode an unattended apply.

use std::collections::BTreeSet;

use tokio::sync::mpsc;

use super::Mode;
use crate::apply::ApplyOptions;
use crate::cloud::Connection;
use crate::manifest::Desired;
use crate::model::Address;
use crate::plan::{Plan, Summary};
use crate::reconcile::{
    self, PlanRequest, ReconcileError, Reconciled, Request, Source, StopSignal, Unattended,
};
use crate::state::Backend;

/// What a round that did not fail found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finished {
    /// The counts of the plan computed.
    pub summary: Summary,
    /// The groups the plan changes.
    pub found: BTreeSet<Address>,
    /// The groups with changes still pending after the round: in `detect` mode every group
    /// the plan changes, in `apply` mode those whose action failed or did not start.
    pub pending: BTreeSet<Address>,
    /// How many groups the manifests declare.
    pub managed: usize,
    /// Whether it stopped starting actions because it was asked to stop.
    pub interrupted: bool,
}

/// Runs one round against the state in `backend` (opened by the caller, who closes it).
/// `options` are apply's; `stop` is apply's Ctrl-C.
pub async fn run<B: Backend>(
    backend: &B,
    connection: &Connection,
    desired: Desired,
    mode: Mode,
    planning: PlanRequest,
    options: ApplyOptions,
    stop: StopSignal,
) -> Result<Finished, ReconcileError> {
    let managed = desired.groups.len();
    match mode {
        Mode::Detect => {
            let planned =
                reconcile::plan(backend, connection, desired, &planning, &mut Unattended).await?;
            // A plan apply would refuse (a name taken, a protected delete) fails the round,
            // as `plan` exits 1 on it.
            reconcile::refuse_unappliable(&planned.plan)?;
            Ok(Finished {
                summary: planned.plan.summary(),
                found: changing(&planned.plan),
                pending: changing(&planned.plan),
                managed,
                interrupted: false,
            })
        }
        Mode::Apply => {
            // Nobody reads the events of an unattended round one by one: the report says it
            // all. The receiver is drained so that the run never waits on a full channel.
            let (events, mut receiver) = mpsc::channel(64);
            let drained = tokio::spawn(async move { while receiver.recv().await.is_some() {} });
            let request = Request {
                backend,
                connection,
                source: Source::Manifests { desired, planning },
                options,
                auto_approve: true,
                events,
                stop,
            };
            let reconciled = reconcile::run(request, &mut Unattended).await;
            let _ = drained.await;
            match reconciled? {
                Reconciled::NothingToApply { plan, .. } => Ok(Finished {
                    summary: plan.plan.summary(),
                    found: BTreeSet::new(),
                    pending: BTreeSet::new(),
                    managed,
                    interrupted: false,
                }),
                // Unattended approves every plan; kept total rather than assumed.
                Reconciled::Cancelled => Ok(Finished {
                    managed,
                    ..Finished::default()
                }),
                Reconciled::Applied { plan, report } => Ok(Finished {
                    summary: plan.summary(),
                    found: changing(&plan),
                    pending: report
                        .failed
                        .iter()
                        .map(|failure| failure.address.clone())
                        .chain(report.not_started.iter().cloned())
                        .collect(),
                    managed,
                    interrupted: report.interrupted,
                }),
            }
        }
    }
}

/// The groups `plan` would change.
fn changing(plan: &Plan) -> BTreeSet<Address> {
    plan.actions
        .iter()
        .filter(|action| reconcile::changes_something(action))
        .map(|action| action.address().clone())
        .collect()
}
