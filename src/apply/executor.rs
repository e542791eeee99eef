//! The run: prepare the state, run the plan's actions phase by phase up to the parallelism
//! limit, collect their outcomes, stop starting on request or when the endpoint is plainly
//! unusable, and compact at the end.
//!
//! Actions run as futures polled by the calling task (not spawned), so they may borrow the
//! backend; their waiting (HTTP, the journal's fsync) happens elsewhere, so one task keeps
//! any number of them moving.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;

use futures_util::future::{Fuse, FutureExt};
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;

use super::create::{ActionContext, create};
use super::delete::delete;
use super::error::ApplyError;
use super::event::{ApplyEvent, EventSink};
use super::history::HistoryRecorder;
use super::options::ApplyOptions;
use super::pacer::Pacer;
use super::record;
use super::report::{
    ActionFailure, ApplyReport, ChangeKind, FailureReason, NotApplied, PlannedChange,
    RecoveredGroup,
};
use super::resolve::resolve_intents;
use super::slots::RequestSlots;
use super::status::set_status;
use super::update::{protect, update};
use super::wait::wait_for_statuses;
use super::work::{ActionOutcome, PHASES, Prepared, Work, change_kind, prepare};
use crate::cloud::health::{EXPIRED_TIMESTAMP_CODE, Halt};
use crate::cloud::{CloudClient, ErrorClass, RunHealth};
use crate::model::Address;
use crate::plan::{Action, Plan};
use crate::state::journal::{Intent, JournalRecord, Retention};
use crate::state::{Backend, HistorySelection, State, StateError};

/// Actions under way at once, per request slot. `parallelism` bounds the calls in hand
/// ([`RequestSlots`]); the actions beyond them record their intents ahead, or their
/// results after the call, while other calls are in hand, so that a journal sync never
/// keeps a slot idle. A crash leaves at most this many times `parallelism` intents to
/// resolve at the next start.
const ACTIONS_AHEAD: usize = 4;

/// Refuses a plan that cannot be applied as a whole, before anything is sent: one that
/// deletes groups `preventDestroy` protects ([`ApplyError::Blocked`]), or creates groups
/// whose names live groups already have ([`ApplyError::NameConflicts`]).
pub fn check_appliable(plan: &Plan) -> Result<(), ApplyError> {
    let blocked: Vec<Address> = plan.blocked_deletes().cloned().collect();
    if !blocked.is_empty() {
        return Err(ApplyError::Blocked { addresses: blocked });
    }
    if !plan.conflicts.is_empty() {
        return Err(ApplyError::NameConflicts {
            conflicts: plan.conflicts.clone(),
        });
    }
    Ok(())
}

/// Carries out `plan`: every action recorded durably before it is reported, every create
/// exactly once.
///
/// In order:
/// 1. A plan with a blocked delete or a name conflict is refused ([`check_appliable`]):
///    nothing is sent.
///    Orphans are reported as not applied (events `not_applied`).
/// 2. The state is compacted; when there is none and something is to be created, it is
///    created (its lineage is born then). Intents still unresolved are resolved first
///    (see [`super::resolve_unresolved`]), before anything is sent.
/// 3. Phase by phase ([`Action::phase`]): moves, imports and removals, which change only the
///    state; creates, updates and protections; then starts and stops; then deletes. Each action is checked against the state as the phase starts: a
///    create whose address the state already records (with an id other than the one the
///    plan saw deleted outside) becomes `recovered`; an action on a group the state no
///    longer records as planned fails as stale; a start of a group whose create failed is
///    not started. The calls of a phase are sent `options.parallelism` at a time, paced by
///    one run-wide pacer. A failed action does not stop the others. Once `stop` resolves, no
///    further action starts and no call is retried (a retry wait ends at once); the calls in
///    flight finish and are recorded, and the report says `interrupted`. An action whose
///    retry was abandoned did nothing, and is reported not started; a create whose answer
///    was lost stays recorded as unknown, for the next run to resolve by name.
///
///    The run also stops by itself when the endpoint is plainly unusable
///    ([`crate::cloud::health`]: many attempts in a row failed to connect, or the service
///    refused the requests' timestamps): then, after recording what was in flight, it ends
///    with [`ApplyError::Halted`], which carries the report and says once what is wrong.
/// 4. Unless `options.wait_timeout` is `None`, the groups started or stopped are waited for
///    until the service reports them `running` or `stopped` ([`super::wait`]); one that does
///    not get there in time is a failure with the last status seen.
/// 5. The state is compacted.
///
/// No run-level retry: the client already retries retryable failures with backoff, and the
/// pacer slows the whole run while the service throttles; what still fails is reported, and
/// running apply again retries it.
///
/// With `options.dry_run` nothing is sent and nothing is read or written: events say what
/// would be done.
///
/// The caller must keep receiving `events` while this runs (a full channel holds the run).
pub async fn execute<B: Backend>(
    backend: &B,
    client: &CloudClient,
    plan: &Plan,
    options: &ApplyOptions,
    events: mpsc::Sender<ApplyEvent>,
    stop: impl Future<Output = ()> + Send,
) -> Result<ApplyReport, ApplyError> {
    options.validate()?;
    check_appliable(plan)?;
    let events = EventSink::new(events);
    let mut report = ApplyReport {
        dry_run: options.dry_run,
        ..ApplyReport::default()
    };
    let mut phases: [Vec<&Action>; PHASES] = Default::default();
    for action in &plan.actions {
        if let Some(not_applied) = NotApplied::from_action(action) {
            events
                .emit(ApplyEvent::NotApplied {
                    address: not_applied.address.clone(),
                    kind: not_applied.kind,
                })
                .await;
            report.not_applied.push(not_applied);
        } else if change_kind(action).is_some()
            && let Some(phase) = phases.get_mut(usize::from(action.phase()))
        {
            phase.push(action);
        }
    }
    if options.dry_run {
        for action in phases.iter().flatten() {
            dry_run(action, &events, &mut report).await;
        }
        report.sort();
        return Ok(report);
    }

    let pacer = Arc::new(Pacer::new(
        options.pacing,
        options.max_rps,
        Some(events.clone()),
    ));
    let health = Arc::new(RunHealth::new());
    let client = client
        .clone()
        .with_throttle(Arc::clone(&pacer) as _)
        .with_health(Arc::clone(&health));
    let stop = {
        let health = Arc::clone(&health);
        async move {
            tokio::select! {
                () = stop => {}
                () = health.stopped() => {}
            }
        }
    };
    // An import records a group too: without a state, one is created for it.
    let will_create = phases
        .iter()
        .flatten()
        .any(|action| matches!(action, Action::Create { .. } | Action::Import { .. }));
    let mut history = HistoryRecorder::new(options.provenance.as_ref(), Some(plan));
    let prepared = prepare_state(backend, &client, will_create, &events, &history).await?;
    let deleted = history.deleted_groups();
    if let Some(state) = prepared.state.as_ref().filter(|_| !deleted.is_empty()) {
        let earlier = backend
            .history(state, HistorySelection::Groups(&deleted))
            .await?;
        history.remember_declared(&earlier);
    }
    if let Some(retain_per_group) = options.history_retention
        && let Some(state) = &prepared.state
        && state.history_retention != retain_per_group
    {
        backend
            .append(&[JournalRecord::Retention(Retention { retain_per_group })])
            .await?;
    }
    report.recovered.extend(prepared.recovered.iter().cloned());
    let resolved_now: BTreeSet<Address> = prepared
        .recovered
        .iter()
        .map(|recovered| recovered.address.clone())
        .collect();

    let context = ActionContext {
        backend,
        client,
        slots: RequestSlots::new(options.parallelism, Some(events.clone())),
        open_creates: prepared.open_creates,
        history,
    };
    let mut runner = Runner {
        context: &context,
        parallelism: options.parallelism,
        events: &events,
        stop: pin!(stop.fuse()),
        health: &health,
        stopping: false,
        fatal: None,
    };
    let mut state = prepared.state;
    let recorded_state = state.is_some();
    for (index, actions) in phases.iter().enumerate() {
        if actions.is_empty() {
            continue;
        }
        if runner.halted() {
            report
                .not_started
                .extend(actions.iter().map(|action| action.address().clone()));
            continue;
        }
        if index > 0 {
            // The earlier phases changed entries (a new spec, a new group): act on them.
            state = backend.load().await?.state;
        }
        let recorded_by_run: BTreeSet<Address> = report
            .created
            .iter()
            .map(|created| created.address.clone())
            .chain(report.recovered.iter().map(|found| found.address.clone()))
            .collect();
        // The actions to run, not their work: each is made into work (with copies of its
        // spec and entry) only as it starts, so that a phase of 100,000 creates does not
        // hold a second copy of every spec the plan holds.
        let mut queue = VecDeque::new();
        for action in actions {
            match prepare(action, state.as_ref(), &recorded_by_run) {
                Some(Prepared::Run(_)) => queue.push_back(*action),
                // Resolution just recorded it and said so.
                Some(Prepared::AlreadyRecorded(found)) if resolved_now.contains(&found.address) => {
                }
                Some(Prepared::AlreadyRecorded(found)) => {
                    record_outcome(ActionOutcome::Recovered(found), &events, &mut report).await;
                }
                Some(Prepared::Refused(failure)) => {
                    record_outcome(ActionOutcome::Failed(failure), &events, &mut report).await;
                }
                Some(Prepared::Waiting) => report.not_started.push(action.address().clone()),
                None => {}
            }
        }
        let queue = Queue {
            actions: queue,
            state: state.as_ref(),
            recorded_by_run: &recorded_by_run,
        };
        runner.run(queue, &mut report).await;
    }
    if let Some(timeout) = options.wait_timeout
        && !runner.halted()
        && !report.status_changed.is_empty()
    {
        let waited = wait_for_statuses(
            &context.client,
            &report.status_changed,
            timeout,
            &events,
            runner.stop.as_mut(),
        )
        .await;
        if waited.interrupted {
            runner.stopping(&mut report).await;
        }
        for failure in &waited.failed {
            events
                .emit(ApplyEvent::Failed {
                    failure: failure.clone(),
                })
                .await;
        }
        report.ready.extend(waited.ready);
        report.failed.extend(waited.failed);
    }
    report.throttled = pacer.throttled();
    if let Some(source) = runner.fatal {
        return Err(ApplyError::Record { source });
    }
    drop(state);
    if recorded_state {
        backend.compact_at_end().await?;
    }
    report.sort();
    if let Some(halt) = health.halt() {
        return Err(ApplyError::Halted {
            halt,
            report: Box::new(report),
        });
    }
    Ok(report)
}

async fn dry_run(action: &Action, events: &EventSink, report: &mut ApplyReport) {
    let address = action.address().clone();
    match change_kind(action) {
        Some(ChangeKind::Create) => {
            events
                .emit(ApplyEvent::WouldCreate {
                    address: address.clone(),
                })
                .await;
            report.would_create.push(address);
        }
        Some(kind) => {
            events
                .emit(ApplyEvent::WouldChange {
                    address: address.clone(),
                    action: kind,
                })
                .await;
            report.would_change.push(PlannedChange {
                address,
                action: kind,
            });
        }
        None => {}
    }
}

/// The state the run starts from.
struct StartingPoint {
    /// `None` only when there was no state and nothing is to be created.
    state: Option<State>,
    recovered: Vec<RecoveredGroup>,
    /// Creates of earlier runs whose groups were not found: still open.
    open_creates: BTreeMap<Address, Vec<Intent>>,
}

async fn prepare_state<B: Backend>(
    backend: &B,
    client: &CloudClient,
    will_create: bool,
    events: &EventSink,
    history: &HistoryRecorder<'_>,
) -> Result<StartingPoint, ApplyError> {
    let recovered = backend.compact().await?;
    let Some(state) = recovered.state else {
        let state = if will_create {
            let lineage = uuid::Uuid::new_v4().to_string();
            Some(backend.create(State::new(lineage)).await?)
        } else {
            None
        };
        return Ok(StartingPoint {
            state,
            recovered: Vec::new(),
            open_creates: BTreeMap::new(),
        });
    };
    if recovered.unresolved.is_empty() {
        return Ok(StartingPoint {
            state: Some(state),
            recovered: Vec::new(),
            open_creates: BTreeMap::new(),
        });
    }
    let resolved = resolve_intents(
        backend,
        client,
        Some(&state),
        recovered.unresolved,
        events,
        history,
    )
    .await?;
    let state = backend.load().await?.state;
    Ok(StartingPoint {
        state,
        recovered: resolved.recovered,
        open_creates: resolved.open_creates,
    })
}

fn recovered_event(recovered: &RecoveredGroup) -> ApplyEvent {
    ApplyEvent::Recovered {
        address: recovered.address.clone(),
        job_group_id: recovered.job_group_id.clone(),
        reason: recovered.reason,
    }
}

/// The actions of a phase still to start, with what makes each into its work.
struct Queue<'p> {
    actions: VecDeque<&'p Action>,
    /// The state as the phase started, which every action was checked against.
    state: Option<&'p State>,
    recorded_by_run: &'p BTreeSet<Address>,
}

impl Queue<'_> {
    /// The next action's work: checked against the same state as when the phase started, so
    /// the check says again what it said then.
    fn next_work(&mut self) -> Option<Work> {
        while let Some(action) = self.actions.pop_front() {
            if let Some(Prepared::Run(work)) = prepare(action, self.state, self.recorded_by_run) {
                return Some(work);
            }
        }
        None
    }
}

/// Runs the work of each phase; remembers across phases whether to stop.
struct Runner<'a, B, S: Future> {
    context: &'a ActionContext<'a, B>,
    parallelism: usize,
    events: &'a EventSink,
    stop: Pin<&'a mut Fuse<S>>,
    /// Told when the run stops, so that no call is retried any more.
    health: &'a RunHealth,
    stopping: bool,
    /// The first state error, after which nothing new starts.
    fatal: Option<StateError>,
}

impl<B: Backend, S: Future<Output = ()> + Send> Runner<'_, B, S> {
    /// Whether no further action may start.
    fn halted(&self) -> bool {
        self.stopping || self.fatal.is_some()
    }

    async fn stopping(&mut self, report: &mut ApplyReport) {
        let in_flight = self.context.slots.in_hand();
        self.stopping = true;
        self.health.stop();
        // Actions whose intents are written ahead and still wait for a request slot end
        // without sending; those with a call in hand finish.
        self.context.slots.close();
        report.interrupted = true;
        self.events.emit(ApplyEvent::Stopping { in_flight }).await;
    }

    /// Runs `queue`, `parallelism` at a time; what never starts is reported `not_started`.
    async fn run(&mut self, mut queue: Queue<'_>, report: &mut ApplyReport) {
        let mut in_flight = FuturesUnordered::new();
        loop {
            if !self.stopping && self.stop.as_mut().now_or_never().is_some() {
                self.stopping(report).await;
            }
            while !self.halted() && in_flight.len() < self.parallelism * ACTIONS_AHEAD {
                let Some(work) = queue.next_work() else {
                    break;
                };
                in_flight.push(perform(self.context, work));
            }
            if in_flight.is_empty() {
                break;
            }
            let stopping = self.stopping;
            tokio::select! {
                biased;
                () = self.stop.as_mut(), if !stopping => {
                    self.stopping(report).await;
                }
                Some(result) = in_flight.next() => match result {
                    Ok(ActionOutcome::Failed(failure)) if self.health.is_stopped() && left_undone(&failure) => {
                        report.not_started.push(failure.address);
                    }
                    Ok(outcome) => record_outcome(outcome, self.events, report).await,
                    Err(error) => {
                        // Appends after a failed one fail too; keep the first, the cause.
                        self.fatal.get_or_insert(error);
                    }
                },
                else => break,
            }
        }
        report.not_started.extend(
            queue
                .actions
                .into_iter()
                .map(|action| action.address().clone()),
        );
        if matches!(self.health.halt(), Some(Halt::ClockOff { .. })) {
            // Refusals answered before the halt was called are the same refusal: the run's
            // one error says why, and the service did nothing for any of them.
            let (refused, failed) = std::mem::take(&mut report.failed)
                .into_iter()
                .partition(|failure| failure.code.as_deref() == Some(EXPIRED_TIMESTAMP_CODE));
            report.failed = failed;
            report.not_started.extend(
                refused
                    .into_iter()
                    .map(|failure: ActionFailure| failure.address),
            );
        }
    }
}

/// Whether a failure, seen once the run stops, means only that the action was left undone:
/// its retry was abandoned after failures that say the service did nothing (it could not be
/// reached, or asked to be tried again), or the service refused its timestamp. Such an action
/// is reported not started, so that the run's one error says why instead of one line each.
fn left_undone(failure: &ActionFailure) -> bool {
    (failure.reason == FailureReason::GaveUp && failure.class == ErrorClass::Retryable)
        || failure.code.as_deref() == Some(EXPIRED_TIMESTAMP_CODE)
}

/// Carries out one piece of work.
async fn perform<B: Backend>(
    context: &ActionContext<'_, B>,
    work: Work,
) -> Result<ActionOutcome, StateError> {
    match work {
        Work::Create {
            address,
            spec,
            prevent_destroy,
        } => create(context, address, spec, prevent_destroy).await,
        Work::Update {
            address,
            entry,
            attributes,
            spec,
            prevent_destroy,
        } => update(context, address, entry, attributes, spec, prevent_destroy).await,
        Work::Protect {
            address,
            entry,
            prevent_destroy,
        } => protect(context, address, entry, prevent_destroy).await,
        Work::SetStatus { address, entry, to } => set_status(context, address, entry, to).await,
        Work::Delete { address, entry } => delete(context, address, entry).await,
        Work::Move {
            address,
            from,
            entry,
            source,
        } => record::move_group(context, address, from, entry, source).await,
        Work::Import {
            address,
            entry,
            source,
        } => record::import(context, address, entry, source).await,
        Work::Forget {
            address,
            entry,
            source,
        } => record::forget(context, address, entry, source).await,
    }
}

async fn record_outcome(outcome: ActionOutcome, events: &EventSink, report: &mut ApplyReport) {
    match outcome {
        ActionOutcome::Created(created, retries) => {
            events
                .emit(ApplyEvent::Created {
                    address: created.address.clone(),
                    job_group_id: created.job_group_id.clone(),
                    elapsed: created.elapsed,
                    request_id: created.request_id.clone(),
                    retries: retries.into(),
                })
                .await;
            report.created.push(created);
        }
        ActionOutcome::Recovered(recovered) => {
            events.emit(recovered_event(&recovered)).await;
            report.recovered.push(recovered);
        }
        ActionOutcome::Updated(updated, retries) => {
            events
                .emit(ApplyEvent::Updated {
                    address: updated.address.clone(),
                    job_group_id: updated.job_group_id.clone(),
                    attributes: updated.attributes.clone(),
                    elapsed: updated.elapsed,
                    request_id: updated.request_id.clone(),
                    retries: retries.into(),
                })
                .await;
            report.updated.push(updated);
        }
        ActionOutcome::StatusChanged(changed, retries) => {
            events
                .emit(ApplyEvent::StatusChanged {
                    address: changed.address.clone(),
                    job_group_id: changed.job_group_id.clone(),
                    status: changed.status,
                    request_id: changed.request_id.clone(),
                    retries: retries.into(),
                })
                .await;
            report.status_changed.push(changed);
        }
        ActionOutcome::Protected(protected) => {
            events
                .emit(ApplyEvent::Protected {
                    address: protected.address.clone(),
                    prevent_destroy: protected.prevent_destroy,
                })
                .await;
            report.protected.push(protected);
        }
        ActionOutcome::Deleted(deleted, retries) => {
            events
                .emit(ApplyEvent::Deleted {
                    address: deleted.address.clone(),
                    job_group_id: deleted.job_group_id.clone(),
                    request_id: deleted.request_id.clone(),
                    already_gone: deleted.already_gone,
                    retries: retries.into(),
                })
                .await;
            report.deleted.push(deleted);
        }
        ActionOutcome::Recorded(change) => {
            events
                .emit(ApplyEvent::Recorded {
                    address: change.address.clone(),
                    job_group_id: change.job_group_id.clone(),
                    action: change.action,
                    from: change.from.clone(),
                })
                .await;
            report.recorded.push(change);
        }
        ActionOutcome::Failed(failure) => {
            events
                .emit(ApplyEvent::Failed {
                    failure: failure.clone(),
                })
                .await;
            report.failed.push(failure);
        }
        ActionOutcome::NotStarted(address) => report.not_started.push(address),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::{ClientOptions, Credentials, Endpoints};
    use crate::state::{LocalBackend, LockOptions};

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn a_run_can_be_spawned_onto_another_thread() {
        let directory = tempfile::tempdir().unwrap();
        let backend = LocalBackend::open(
            directory.path().join("state.json"),
            &LockOptions::new("test"),
        )
        .unwrap();
        let client = CloudClient::new(
            Credentials::new("id", "secret"),
            Endpoints::regional(),
            ClientOptions::default(),
        )
        .unwrap();
        let plan = crate::plan::compute(&crate::manifest::Desired::default(), None);
        let (sender, _receiver) = mpsc::channel(1);
        let recovered = crate::state::Recovered {
            state: None,
            unresolved: Vec::new(),
            warnings: Vec::new(),
        };
        // Built, never polled: only their types matter.
        let resolving =
            super::super::resolve_unresolved(&backend, &client, recovered, &sender, None);
        assert_send(&resolving);
        let options = ApplyOptions::default();
        let running = execute(
            &backend,
            &client,
            &plan,
            &options,
            sender.clone(),
            std::future::pending(),
        );
        assert_send(&running);
    }
}
