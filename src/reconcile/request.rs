//! What a caller asks of a reconcile, and how the reconcile talks back to it while it runs:
//! the notices it gives, the plan it shows, the question it asks, the moment actions start.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use tokio::sync::mpsc;

use crate::apply::{ApplyEvent, ApplyOptions};
use crate::cloud::Connection;
use crate::manifest::Desired;
use crate::plan::{Plan, PlanOptions};
use crate::render::LastApplied;
use crate::state::StateWarning;

/// An error of the caller's own, raised from an [`Interaction`] (printing failed, the
/// question could not be asked), handed back unchanged.
pub type CallerError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How to plan: with or without reading the live groups, and the planner's options.
#[derive(Debug, Clone, Default)]
pub struct PlanRequest {
    /// Read the live groups first (`--refresh`).
    pub refresh: bool,
    /// Prune, targets, unmanaged groups.
    pub options: PlanOptions,
}

/// Where the plan a run carries out comes from.
#[derive(Debug)]
pub enum Source {
    /// Planned now from these manifests, after a refresh as `planning` says.
    Manifests {
        /// The manifests, read.
        desired: Desired,
        /// How to plan them.
        planning: PlanRequest,
    },
    /// Carried out exactly as saved: no question, no manifests, no refresh.
    Saved {
        /// The file it was read from, for messages.
        file: PathBuf,
        /// The plan.
        plan: Plan,
    },
}

/// Resolves when the run must stop starting actions (the first Ctrl-C or SIGTERM).
pub type StopSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One reconcile: the state to change (opened, and locked, by the caller, who closes it after
/// showing the result), the connection to the service, the plan's source and how to apply.
pub struct Request<'a, B> {
    /// The state, open.
    pub backend: &'a B,
    /// The service.
    pub connection: &'a Connection,
    /// The plan's source.
    pub source: Source,
    /// Parallelism, pacing, dry run, provenance, waits.
    pub options: ApplyOptions,
    /// Carry a fresh plan out without asking.
    pub auto_approve: bool,
    /// Where the run's events go; closed when the run returns.
    pub events: mpsc::Sender<ApplyEvent>,
    /// When to stop starting actions.
    pub stop: StopSignal,
}

/// Something a reconcile tells its caller on the way, that does not stop it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Reading the state found something worth a warning.
    StateWarning(StateWarning),
    /// A dry run leaves this many calls of an earlier run with an unknown outcome to the next
    /// real apply.
    UnresolvedLeft(usize),
    /// A dry run without credentials does not refresh, for this reason.
    NotRefreshing(String),
}

/// The caller's side of a run: told what happens, shown the plan, asked to confirm.
pub trait Interaction: Send {
    /// Something worth saying, as it happens.
    fn notice(&mut self, notice: Notice);

    /// A plan computed from the manifests is ready: show it. A saved plan is not shown.
    fn plan_ready(&mut self, plan: &Plan, last_applied: &LastApplied) -> Result<(), CallerError>;

    /// Whether to carry `plan` out; asked only for a plan computed now that changes
    /// something, when neither `auto_approve` nor a dry run says so already.
    fn confirm(&mut self, plan: &Plan) -> Result<bool, CallerError>;

    /// The actions are about to start: `count` of them change something.
    fn actions_starting(&mut self, count: usize);
}

/// The interaction of a run nobody watches (a test, the continuous reconcile): notices go
/// to the log, the plan is not shown, and every plan is carried out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unattended;

impl Interaction for Unattended {
    fn notice(&mut self, notice: Notice) {
        tracing::info!(?notice, "reconcile notice");
    }

    fn plan_ready(&mut self, _: &Plan, _: &LastApplied) -> Result<(), CallerError> {
        Ok(())
    }

    fn confirm(&mut self, _: &Plan) -> Result<bool, CallerError> {
        Ok(true)
    }

    fn actions_starting(&mut self, _: usize) {}
}
