//! The continuous reconcile (`cityform watch`): rounds of the one reconcile, one after the
//! other, until asked to stop.
//!
//! A round ([`round::run`]) plans with a refresh (`detect`) or applies unattended (`apply`).
//! The loop ([`run`]) owns what happens between rounds: the events, which groups have
//! pending changes, the wait before the next round (the interval, or a doubling back-off
//! after failures), and stopping. Rounds never overlap: the next one starts only after the
//! previous one has returned. Loading manifests and opening the state are the caller's, in
//! the closure that runs a round, so that each round reads them afresh.

mod backoff;
mod drift;
mod event;
mod metrics;
pub mod round;
mod serve;

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

pub use backoff::next_delay;
pub use event::Event;
pub use metrics::Metrics;
pub use round::Finished;
pub use serve::serve;

use crate::reconcile::StopSignal;
use drift::{Drift, Transition};

/// What each round does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Plan with a refresh and report what would change; nothing is changed.
    Detect,
    /// Apply, with every rule `apply` has.
    Apply,
}

/// How a watch runs.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The wait between rounds, and the cap of the back-off after failures.
    pub interval: Duration,
    /// What each round does.
    pub mode: Mode,
    /// Run one round and end.
    pub once: bool,
}

/// How a watch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Asked to stop (only a watch that runs until stopped ends so, or a round interrupted).
    Stopped,
    /// `once`: nothing is pending.
    Clean,
    /// `once` in `detect` mode: changes are pending.
    ChangesPending,
    /// `once`: the round failed, or some of its actions did.
    Failed(String),
}

/// Runs rounds with `round` (given the stop signal of `apply`) until `stop` turns true, or
/// one round with `settings.once`; every event goes to `emit`, every round's result to
/// `metrics`.
///
/// A stop between rounds ends at once. In `detect` mode a round in progress is abandoned
/// (it changes nothing); in `apply` mode it is told to stop starting actions, as apply's
/// Ctrl-C does, and the watch ends when it returns.
pub async fn run<F, Fut, E>(
    settings: Settings,
    mut round: F,
    mut emit: impl FnMut(&Event),
    mut stop: watch::Receiver<bool>,
    metrics: &Metrics,
) -> Ended
where
    F: FnMut(StopSignal) -> Fut,
    Fut: Future<Output = Result<Finished, E>>,
    E: Display,
{
    let mut drift = Drift::default();
    let mut failures: u32 = 0;
    let mut number: u64 = 0;
    loop {
        if *stop.borrow() {
            return Ended::Stopped;
        }
        number += 1;
        emit(&Event::RoundStarted {
            round: number,
            mode: settings.mode,
        });
        let started = Instant::now();
        let signal = stop_signal(stop.clone());
        let result = match settings.mode {
            Mode::Detect => tokio::select! {
                result = round(signal) => result,
                () = stopped(&mut stop) => return Ended::Stopped,
            },
            Mode::Apply => round(signal).await,
        };
        match result {
            Ok(finished) => {
                failures = 0;
                metrics.succeeded(started.elapsed(), finished.managed, finished.pending.len());
                emit(&Event::RoundFinished {
                    round: number,
                    mode: settings.mode,
                    duration_seconds: started.elapsed().as_secs_f64(),
                    summary: finished.summary,
                    interrupted: finished.interrupted,
                });
                // In apply mode what the plan found is reported before what the apply left.
                for pending in [finished.found, finished.pending.clone()] {
                    match drift.observe(pending) {
                        Some(Transition::Detected(groups)) => emit(&Event::DriftDetected {
                            round: number,
                            groups: event::named(&groups),
                        }),
                        Some(Transition::Cleared) => emit(&Event::DriftCleared { round: number }),
                        None => {}
                    }
                }
                if finished.interrupted {
                    return Ended::Stopped;
                }
                if settings.once {
                    return match (settings.mode, finished.pending.len()) {
                        (_, 0) => Ended::Clean,
                        (Mode::Detect, _) => Ended::ChangesPending,
                        (Mode::Apply, count) => Ended::Failed(format!(
                            "{count} job group(s) still have changes pending after the apply"
                        )),
                    };
                }
            }
            Err(error) => {
                metrics.failed(started.elapsed());
                failures = failures.saturating_add(1);
                let error = error.to_string();
                emit(&Event::RoundFailed {
                    round: number,
                    error: error.clone(),
                    retry_in_seconds: next_delay(settings.interval, failures).as_secs_f64(),
                });
                if settings.once {
                    return Ended::Failed(error);
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(next_delay(settings.interval, failures)) => {}
            () = stopped(&mut stop) => return Ended::Stopped,
        }
    }
}

/// Resolves once `stop` is true; never when nobody can set it any more.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// `stop` as the stop signal of a reconcile.
fn stop_signal(mut stop: watch::Receiver<bool>) -> StopSignal {
    Box::pin(async move { stopped(&mut stop).await })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::model::Address;

    fn settings(mode: Mode, once: bool) -> Settings {
        Settings {
            interval: Duration::from_millis(10),
            mode,
            once,
        }
    }

    fn pending(names: &[&str]) -> Finished {
        let groups: BTreeSet<Address> = names.iter().map(|name| Address::example(*name)).collect();
        Finished {
            found: groups.clone(),
            pending: groups,
            ..Finished::default()
        }
    }

    fn kinds(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|event| serde_json::to_value(event).unwrap()["event"].to_string())
            .collect()
    }

    #[tokio::test]
    async fn once_in_detect_mode_says_whether_changes_are_pending() {
        let (_keep, stop) = watch::channel(false);
        let mut events = Vec::new();
        let ended = run(
            settings(Mode::Detect, true),
            |_| async { Ok::<_, String>(pending(&["a"])) },
            |event| events.push(event.clone()),
            stop.clone(),
            &Metrics::default(),
        )
        .await;
        assert_eq!(ended, Ended::ChangesPending);
        assert_eq!(
            kinds(&events),
            [
                r#""round_started""#,
                r#""round_finished""#,
                r#""drift_detected""#
            ]
        );
        let ended = run(
            settings(Mode::Detect, true),
            |_| async { Ok::<_, String>(pending(&[])) },
            |_| {},
            stop,
            &Metrics::default(),
        )
        .await;
        assert_eq!(ended, Ended::Clean);
    }

    #[tokio::test]
    async fn a_failed_round_is_retried_and_drift_comes_and_goes() {
        let (sender, stop) = watch::channel(false);
        let mut results = vec![
            Err("the service is down".to_owned()),
            Ok(pending(&["a"])),
            Ok(pending(&["a"])),
            Ok(pending(&[])),
        ]
        .into_iter();
        let mut events = Vec::new();
        let mut rounds = 0;
        let ended = run(
            settings(Mode::Detect, false),
            |_| {
                rounds += 1;
                let next = results.next();
                if next.is_none() {
                    let _ = sender.send(true);
                }
                async move { next.unwrap_or(Ok(pending(&[]))) }
            },
            |event| events.push(event.clone()),
            stop,
            &Metrics::default(),
        )
        .await;
        assert_eq!(ended, Ended::Stopped);
        assert_eq!(rounds, 5);
        let kinds = kinds(&events);
        let interesting: Vec<&str> = kinds
            .iter()
            .map(String::as_str)
            .filter(|kind| !kind.contains("round_started") && !kind.contains("round_finished"))
            .collect();
        assert_eq!(
            interesting,
            [
                r#""round_failed""#,
                r#""drift_detected""#,
                r#""drift_cleared""#
            ]
        );
    }

    #[tokio::test]
    async fn an_apply_round_reports_the_drift_it_restored() {
        let (_keep, stop) = watch::channel(false);
        let mut events = Vec::new();
        let ended = run(
            settings(Mode::Apply, true),
            |_| async {
                Ok::<_, String>(Finished {
                    pending: BTreeSet::new(),
                    ..pending(&["a"])
                })
            },
            |event| events.push(event.clone()),
            stop,
            &Metrics::default(),
        )
        .await;
        assert_eq!(ended, Ended::Clean);
        assert_eq!(
            kinds(&events)[2..],
            [r#""drift_detected""#, r#""drift_cleared""#]
        );
    }

    #[tokio::test]
    async fn a_stop_between_rounds_ends_at_once() {
        let (sender, stop) = watch::channel(false);
        let settings = Settings {
            interval: Duration::from_secs(3600),
            ..settings(Mode::Detect, false)
        };
        let watching = tokio::spawn(async move {
            run(
                settings,
                |_| async { Ok::<_, String>(pending(&[])) },
                |_| {},
                stop,
                &Metrics::default(),
            )
            .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        sender.send(true).unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(5), watching)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ended, Ended::Stopped);
    }
}
