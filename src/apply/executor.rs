//! The run: prepare the state, start creates up to the parallelism limit, collect their
//! outcomes, stop starting on request, and compact at the end.
//!
//! Creates run as futures polled by the calling task (not spawned), so they may borrow the
//! backend; their waiting (HTTP, the journal's fsync) happens elsewhere, so one task keeps
//! any number of them moving.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;

use futures_util::future::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;

use super::create::{CreateContext, Outcome, create};
use super::error::ApplyError;
use super::event::{ApplyEvent, EventSink};
use super::options::ApplyOptions;
use super::pacer::Pacer;
use super::report::{ApplyReport, NotApplied, RecoveredGroup, RecoveryReason};
use super::resolve::resolve_intents;
use crate::cloud::CloudClient;
use crate::model::{Address, JobGroupSpec};
use crate::plan::{Action, Plan};
use crate::state::{Backend, State, StateError};

/// Carries out `plan`: every create, exactly once, recorded durably before it is reported.
///
/// In order:
/// 1. Updates and orphans are reported as not applied (events `not_applied`).
/// 2. The state is compacted; when there is none and something is to be created, it is
///    created (its lineage is born then). Intents still unresolved are resolved first
///    (see [`super::resolve_unresolved`]), before any create is sent.
/// 3. A create whose address the state already records becomes `recovered`.
/// 4. The other creates run, `options.parallelism` at a time, paced by one run-wide pacer.
///    A failed create does not stop the others. Once `stop` resolves, no further create
///    starts; those in flight finish and are recorded, and the report says `interrupted`.
/// 5. The state is compacted.
///
/// No run-level retry: the client already retries retryable failures with backoff, and the
/// pacer slows the whole run while the service throttles; what still fails is reported, and
/// running apply again retries it.
///
/// With `options.dry_run` nothing is sent and nothing is read or written: events say what
/// would be created.
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
    let events = EventSink::new(events);
    let mut report = ApplyReport {
        dry_run: options.dry_run,
        ..ApplyReport::default()
    };
    let mut creates: Vec<(Address, JobGroupSpec)> = Vec::new();
    for action in &plan.actions {
        if let Action::Create { address, spec, .. } = action {
            creates.push((address.clone(), spec.clone()));
        } else if let Some(not_applied) = NotApplied::from_action(action) {
            report.not_applied.push(not_applied);
        }
    }
    for not_applied in &report.not_applied {
        events
            .emit(ApplyEvent::NotApplied {
                address: not_applied.address.clone(),
                kind: not_applied.kind,
            })
            .await;
    }
    if options.dry_run {
        for (address, _) in creates {
            events
                .emit(ApplyEvent::WouldCreate {
                    address: address.clone(),
                })
                .await;
            report.would_create.push(address);
        }
        report.sort();
        return Ok(report);
    }

    let pacer = Arc::new(Pacer::new(
        options.pacing,
        options.max_rps,
        Some(events.clone()),
    ));
    let client = client.clone().with_throttle(Arc::clone(&pacer) as _);
    let prepared = prepare_state(backend, &client, !creates.is_empty(), &events).await?;
    report.recovered.extend(prepared.recovered.iter().cloned());
    let resolved_now: BTreeSet<&Address> = prepared
        .recovered
        .iter()
        .map(|recovered| &recovered.address)
        .collect();

    let mut queue = VecDeque::new();
    for (address, spec) in creates {
        let recorded = prepared
            .state
            .as_ref()
            .and_then(|state| state.job_groups.get(&address));
        match recorded {
            // Resolution just recorded it and said so.
            Some(_) if resolved_now.contains(&address) => {}
            Some(entry) => {
                let recovered = RecoveredGroup {
                    address,
                    job_group_id: entry.job_group_id.clone(),
                    reason: RecoveryReason::AlreadyRecorded,
                };
                events.emit(recovered_event(&recovered)).await;
                report.recovered.push(recovered);
            }
            None => queue.push_back((address, spec)),
        }
    }

    let context = CreateContext {
        backend,
        client,
        earlier_attempts: prepared.settled_creates,
    };
    let fatal = run_creates(
        &context,
        queue,
        options.parallelism,
        &events,
        stop,
        &mut report,
    )
    .await;
    report.throttled = pacer.throttled();
    if let Some(source) = fatal {
        return Err(ApplyError::Record { source });
    }
    if prepared.state.is_some() {
        backend.compact().await?;
    }
    report.sort();
    Ok(report)
}

/// The state the run starts from.
struct Prepared {
    /// `None` only when there was no state and nothing is to be created.
    state: Option<State>,
    recovered: Vec<RecoveredGroup>,
    settled_creates: BTreeSet<Address>,
}

async fn prepare_state<B: Backend>(
    backend: &B,
    client: &CloudClient,
    will_create: bool,
    events: &EventSink,
) -> Result<Prepared, ApplyError> {
    let recovered = backend.compact().await?;
    let Some(state) = recovered.state else {
        let state = if will_create {
            let lineage = uuid::Uuid::new_v4().to_string();
            Some(backend.create(State::new(lineage)).await?)
        } else {
            None
        };
        return Ok(Prepared {
            state,
            recovered: Vec::new(),
            settled_creates: BTreeSet::new(),
        });
    };
    if recovered.unresolved.is_empty() {
        return Ok(Prepared {
            state: Some(state),
            recovered: Vec::new(),
            settled_creates: BTreeSet::new(),
        });
    }
    let resolved =
        resolve_intents(backend, client, Some(&state), recovered.unresolved, events).await?;
    let state = backend.load().await?.state;
    Ok(Prepared {
        state,
        recovered: resolved.recovered,
        settled_creates: resolved.settled_creates,
    })
}

fn recovered_event(recovered: &RecoveredGroup) -> ApplyEvent {
    ApplyEvent::Recovered {
        address: recovered.address.clone(),
        job_group_id: recovered.job_group_id.clone(),
        reason: recovered.reason,
    }
}

/// Runs the queued creates; returns the first state error, after which nothing new starts.
async fn run_creates<B: Backend>(
    context: &CreateContext<'_, B>,
    mut queue: VecDeque<(Address, JobGroupSpec)>,
    parallelism: usize,
    events: &EventSink,
    stop: impl Future<Output = ()> + Send,
    report: &mut ApplyReport,
) -> Option<StateError> {
    let mut stop = pin!(stop.fuse());
    let mut stopping = false;
    let mut fatal: Option<StateError> = None;
    let mut in_flight = FuturesUnordered::new();
    loop {
        if !stopping && stop.as_mut().now_or_never().is_some() {
            stopping = true;
            report.interrupted = true;
            events
                .emit(ApplyEvent::Stopping {
                    in_flight: in_flight.len(),
                })
                .await;
        }
        while !stopping && fatal.is_none() && in_flight.len() < parallelism {
            let Some((address, spec)) = queue.pop_front() else {
                break;
            };
            events
                .emit(ApplyEvent::Starting {
                    address: address.clone(),
                })
                .await;
            in_flight.push(create(context, address, spec));
        }
        if in_flight.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            () = stop.as_mut(), if !stopping => {
                stopping = true;
                report.interrupted = true;
                events.emit(ApplyEvent::Stopping { in_flight: in_flight.len() }).await;
            }
            Some(result) = in_flight.next() => match result {
                Ok(outcome) => record_outcome(outcome, events, report).await,
                Err(error) => {
                    // Appends after a failed one fail too; keep the first, the cause.
                    fatal.get_or_insert(error);
                }
            },
            else => break,
        }
    }
    report
        .not_started
        .extend(queue.into_iter().map(|(address, _)| address));
    fatal
}

async fn record_outcome(outcome: Outcome, events: &EventSink, report: &mut ApplyReport) {
    match outcome {
        Outcome::Created(created) => {
            events
                .emit(ApplyEvent::Created {
                    address: created.address.clone(),
                    job_group_id: created.job_group_id.clone(),
                    elapsed: created.elapsed,
                    request_id: created.request_id.clone(),
                })
                .await;
            report.created.push(created);
        }
        Outcome::Recovered(recovered) => {
            events.emit(recovered_event(&recovered)).await;
            report.recovered.push(recovered);
        }
        Outcome::Failed(failure) => {
            events
                .emit(ApplyEvent::Failed {
                    failure: failure.clone(),
                })
                .await;
            report.failed.push(failure);
        }
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
        let resolving = super::super::resolve_unresolved(&backend, &client, recovered, &sender);
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
