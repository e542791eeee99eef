//! Waiting for started and stopped groups to get there.
//!
//! `StartJobGroup` and `StopJobGroup` return before the group has changed: the service then
//! reports it `starting` or `stopping` for a while. A start or stop is done when the service
//! says `running` or `stopped`. The groups a run started or stopped are polled together,
//! one paged listing per instance per round, never one call per group, with the delay between rounds growing from [`FIRST_POLL_DELAY`] to
//! [`LONGEST_POLL_DELAY`]. A group that does not get there within the timeout is a failure
//! with the last status seen; the state keeps the status asked for, so nothing is lost: the
//! next plan shows whether the group got there.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::future::Fuse;

use super::event::{ApplyEvent, EventSink};
use super::refresh::{Instance, live_group};
use super::report::{ActionFailure, ChangeKind, FailureReason, ReadyGroup, StatusChange};
use crate::cloud::CloudClient;
use crate::cloud::error::human_duration;
use crate::model::{Address, LiveStatus, Status};
use crate::plan::Observed;

/// The delay before the second look (the first is at once).
pub const FIRST_POLL_DELAY: Duration = Duration::from_millis(250);
/// The longest delay between two looks.
pub const LONGEST_POLL_DELAY: Duration = Duration::from_secs(5);

/// The delay before look number `round` (from 0): none, then [`FIRST_POLL_DELAY`] doubling
/// up to [`LONGEST_POLL_DELAY`].
pub(crate) fn poll_delay(round: u32) -> Duration {
    match round {
        0 => Duration::ZERO,
        _ => FIRST_POLL_DELAY
            .saturating_mul(2u32.saturating_pow(round - 1))
            .min(LONGEST_POLL_DELAY),
    }
}

/// A group being waited for.
#[derive(Debug, Clone)]
struct Awaited {
    change: StatusChange,
    /// What the service said last; `None` before the first look.
    last_seen: Option<LiveStatus>,
}

/// What a wait ended with: the groups that got there, and a failure for each that did not.
#[derive(Debug, Default)]
pub(crate) struct WaitResult {
    pub ready: Vec<ReadyGroup>,
    pub failed: Vec<ActionFailure>,
    /// The stop signal arrived while waiting.
    pub interrupted: bool,
}

/// Waits until every group in `changes` has the status it was given, `timeout` at most, or
/// until `stop` resolves.
pub(crate) async fn wait_for_statuses<S: Future<Output = ()>>(
    client: &CloudClient,
    changes: &[StatusChange],
    timeout: Duration,
    events: &EventSink,
    mut stop: Pin<&mut Fuse<S>>,
) -> WaitResult {
    let mut waiting: BTreeMap<Address, Awaited> = changes
        .iter()
        .map(|change| {
            (
                change.address.clone(),
                Awaited {
                    change: change.clone(),
                    last_seen: None,
                },
            )
        })
        .collect();
    let mut result = WaitResult::default();
    for awaited in waiting.values() {
        events.emit(waiting_event(awaited)).await;
    }
    let started = Instant::now();
    let deadline = started + timeout;
    let mut round = 0;
    while !waiting.is_empty() {
        let pause = poll_delay(round).min(deadline.saturating_duration_since(Instant::now()));
        round = round.saturating_add(1);
        let instances: BTreeSet<Instance> = waiting.keys().map(Instance::of).collect();
        let look = async {
            tokio::time::sleep(pause).await;
            observe_each(client, &instances).await
        };
        let listings = tokio::select! {
            biased;
            () = stop.as_mut() => {
                result.interrupted = true;
                break;
            }
            listings = look => listings,
        };
        let waited = started.elapsed();
        for (instance, listing) in listings {
            let here: Vec<Address> = waiting
                .keys()
                .filter(|address| Instance::of(address) == instance)
                .cloned()
                .collect();
            for address in here {
                let Some(mut awaited) = waiting.remove(&address) else {
                    continue;
                };
                match &listing {
                    Err(message) => {
                        result.failed.push(not_ready(
                            &awaited,
                            format!("the wait for it failed: {message}"),
                        ));
                    }
                    Ok(observed) => match seen(observed, &instance, &awaited) {
                        Seen::Gone => result.failed.push(not_ready(
                            &awaited,
                            "it no longer exists: deleted outside cityform while cityform \
                             waited for it"
                                .to_owned(),
                        )),
                        Seen::Status(status) if status.is_settled_at(awaited.change.status) => {
                            let ready = ReadyGroup {
                                address: address.clone(),
                                job_group_id: awaited.change.job_group_id.clone(),
                                status: awaited.change.status,
                                waited,
                            };
                            events
                                .emit(ApplyEvent::Ready {
                                    address: ready.address.clone(),
                                    job_group_id: ready.job_group_id.clone(),
                                    status: ready.status,
                                    waited,
                                })
                                .await;
                            result.ready.push(ready);
                        }
                        Seen::Status(status) => {
                            let changed = awaited.last_seen.as_ref() != Some(&status);
                            awaited.last_seen = Some(status);
                            if changed {
                                events.emit(waiting_event(&awaited)).await;
                            }
                            waiting.insert(address, awaited);
                        }
                        Seen::Unreported => {
                            waiting.insert(address, awaited);
                        }
                    },
                }
            }
        }
        if Instant::now() >= deadline {
            break;
        }
    }
    let timed_out = !result.interrupted;
    for awaited in waiting.into_values() {
        let last = awaited.last_seen.as_ref().map_or_else(
            || "no status yet".to_owned(),
            |status| format!("`{status}`"),
        );
        let message = if timed_out {
            format!(
                "did not become `{}` within {}; last seen {last}",
                awaited.change.status,
                human_duration(timeout)
            )
        } else {
            format!(
                "the wait for `{}` was interrupted; last seen {last}",
                awaited.change.status
            )
        };
        result.failed.push(not_ready(&awaited, message));
    }
    result
}

/// What one listing says of a group.
enum Seen {
    Gone,
    Status(LiveStatus),
    Unreported,
}

fn seen(observed: &Observed, instance: &Instance, awaited: &Awaited) -> Seen {
    match observed.get(
        &instance.region_id,
        &instance.instance_id,
        &awaited.change.job_group_id,
    ) {
        None => Seen::Gone,
        Some(live) => live.status.clone().map_or(Seen::Unreported, Seen::Status),
    }
}

/// Lists each instance, one after the other; a failed listing fails only its own
/// instance's groups.
async fn observe_each(
    client: &CloudClient,
    instances: &BTreeSet<Instance>,
) -> Vec<(Instance, Result<Observed, String>)> {
    let mut listings = Vec::with_capacity(instances.len());
    for instance in instances {
        let listing = match client
            .list_all_job_groups(&instance.region_id, &instance.instance_id)
            .await
        {
            Ok(groups) => {
                let mut observed = Observed::default();
                observed.add_instance(
                    &instance.region_id,
                    &instance.instance_id,
                    groups.into_iter().map(live_group),
                );
                Ok(observed)
            }
            Err(error) => Err(format!(
                "cannot read the live job groups of instance `{instance}`: {error}"
            )),
        };
        listings.push((instance.clone(), listing));
    }
    listings
}

fn waiting_event(awaited: &Awaited) -> ApplyEvent {
    ApplyEvent::Waiting {
        address: awaited.change.address.clone(),
        job_group_id: awaited.change.job_group_id.clone(),
        status: awaited.change.status,
        observed: awaited.last_seen.as_ref().map(ToString::to_string),
    }
}

fn not_ready(awaited: &Awaited, message: String) -> ActionFailure {
    let kind = ChangeKind::for_status(awaited.change.status);
    let verb = match awaited.change.status {
        Status::Running => "started",
        Status::Stopped => "stopped",
    };
    ActionFailure::local(
        kind,
        &awaited.change.address,
        FailureReason::NotReady,
        format!("{verb} [id={}], but {message}", awaited.change.job_group_id),
    )
    .with_hint(
        "the state records the status asked for; the next plan shows whether the group got \
         there. Wait longer with `--wait-timeout`, or not at all with `--no-wait`",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_come_at_once_then_further_apart_up_to_a_ceiling() {
        let delays: Vec<u128> = (0..8).map(|round| poll_delay(round).as_millis()).collect();
        assert_eq!(delays, [0, 250, 500, 1000, 2000, 4000, 5000, 5000]);
        assert_eq!(poll_delay(u32::MAX), LONGEST_POLL_DELAY);
    }
}
