//! `RunHealth`: what the calls of one run have in common, so that a run can stop as a whole.
//!
//! A run shares one [`RunHealth`] between its clients, the way it shares a
//! [`super::Throttle`]. The client reports every attempt's outcome to it and, once the run is
//! stopping, sends no retry and abandons every retry wait (the first attempt of a call still
//! leaves: abandoning a call half-way is what the caller resolves, never what the client
//! guesses). Two things stop a run:
//! - the caller, through [`RunHealth::stop`] (Ctrl-C);
//! - the health itself, which halts the run when the endpoint is plainly unusable:
//!   [`CONNECT_FAILURES_TO_HALT`] attempts in a row failed to connect with no answer in
//!   between (a circuit breaker), or [`CLOCK_REFUSALS_TO_HALT`] answers in a row refused the
//!   request's timestamp (`InvalidTimeStamp.Expired`): the local clock is off. The first such
//!   verdict is kept, for one error that says what and where instead of one per action.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use tokio::sync::Notify;

/// Attempts in a row, over every call of the run, that failed to connect (refused, no route,
/// DNS, connect timeout) with no answer in between, after which the run halts. Retries count:
/// with the default policy one call makes up to 6 attempts, so this is at least four calls
/// exhausting theirs, or several calls in parallel failing again and again, within seconds.
pub const CONNECT_FAILURES_TO_HALT: u32 = 24;

/// Answers in a row refusing the request's timestamp (`InvalidTimeStamp.Expired`), with no
/// other answer in between, after which the run halts: every request is signed with the same
/// clock, so the next ones would be refused too.
pub const CLOCK_REFUSALS_TO_HALT: u32 = 3;

/// The service's answer to a request signed too far from its clock.
pub const EXPIRED_TIMESTAMP_CODE: &str = "InvalidTimeStamp.Expired";

/// Why the run halted itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// Every recent attempt failed to connect.
    Unreachable {
        /// Scheme, host and port.
        endpoint: String,
        /// The attempts in a row that failed.
        failures: u32,
        /// The last failure.
        detail: String,
    },
    /// Every recent answer refused the request's timestamp.
    ClockOff {
        /// Scheme, host and port.
        endpoint: String,
        /// How far the local clock is from the service's, when an answer said.
        skew: Option<ClockSkew>,
    },
}

impl fmt::Display for Halt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Halt::Unreachable {
                endpoint,
                failures,
                detail,
            } => write!(
                f,
                "cannot reach `{endpoint}`: the last {failures} attempts failed to connect, with \
                 no answer in between (last: {detail}); no further action was started, and \
                 creates already sent stay recorded and are looked up by name at the next \
                 apply; check the endpoint, the network and any proxy, then run apply again"
            ),
            Halt::ClockOff { endpoint, skew } => {
                write!(
                    f,
                    "`{endpoint}` refused the last {CLOCK_REFUSALS_TO_HALT} requests as signed at \
                     the wrong time (`{EXPIRED_TIMESTAMP_CODE}`): "
                )?;
                match skew {
                    Some(skew) => write!(f, "{skew}")?,
                    None => f.write_str("this machine's clock is off")?,
                }
                f.write_str(
                    "; no further action was started; synchronise this machine's clock (NTP) \
                     and run apply again",
                )
            }
        }
    }
}

/// How far the local clock is from the service's, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSkew {
    /// Local time minus the service's time, in seconds: negative when the local clock is
    /// behind.
    pub seconds: i64,
}

impl ClockSkew {
    /// The skew between `local` (the time the request was signed with) and `service` (the
    /// `Date` of the answer).
    pub fn between(local: time::OffsetDateTime, service: time::OffsetDateTime) -> Self {
        Self {
            seconds: (local - service).whole_seconds(),
        }
    }
}

impl fmt::Display for ClockSkew {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let direction = if self.seconds < 0 {
            "behind"
        } else {
            "ahead of"
        };
        let total = self.seconds.unsigned_abs();
        let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
        let mut amount = String::new();
        if hours > 0 {
            amount.push_str(&format!("{hours}h "));
        }
        if hours > 0 || minutes > 0 {
            amount.push_str(&format!("{minutes}m "));
        }
        amount.push_str(&format!("{seconds}s"));
        write!(
            f,
            "this machine's clock is {amount} {direction} the service's (by the `Date` of its answer)"
        )
    }
}

/// The health of one run's calls. Cheap to consult; shared behind an `Arc`.
#[derive(Debug, Default)]
pub struct RunHealth {
    stopped: AtomicBool,
    stopping: Notify,
    connect_failures: AtomicU32,
    clock_refusals: AtomicU32,
    halt: Mutex<Option<Halt>>,
}

impl RunHealth {
    /// A healthy run, not stopping.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops the run: no retry is sent any more, and every retry wait ends now.
    pub fn stop(&self) {
        if !self.stopped.swap(true, Ordering::SeqCst) {
            self.stopping.notify_waiters();
        }
    }

    /// Whether the run is stopping (asked to, or halted).
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Resolves once the run is stopping.
    pub async fn stopped(&self) {
        loop {
            let notified = self.stopping.notified();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }

    /// Why the run halted itself, if it did.
    pub fn halt(&self) -> Option<Halt> {
        self.halt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// An attempt got an answer (success or error) that says the endpoint and the clock are
    /// usable.
    pub fn on_answer(&self) {
        self.connect_failures.store(0, Ordering::SeqCst);
        self.clock_refusals.store(0, Ordering::SeqCst);
    }

    /// An attempt to `endpoint` failed to connect: nothing was sent.
    pub fn on_connect_failure(&self, endpoint: &str, detail: &str) {
        let failures = self.connect_failures.fetch_add(1, Ordering::SeqCst) + 1;
        if failures >= CONNECT_FAILURES_TO_HALT {
            self.halt_with(Halt::Unreachable {
                endpoint: endpoint.to_owned(),
                failures,
                detail: detail.to_owned(),
            });
        }
    }

    /// `endpoint` refused an attempt's timestamp; `skew` is how far off the clock is, when the
    /// answer said.
    pub fn on_clock_refused(&self, endpoint: &str, skew: Option<ClockSkew>) {
        self.connect_failures.store(0, Ordering::SeqCst);
        let refusals = self.clock_refusals.fetch_add(1, Ordering::SeqCst) + 1;
        if refusals >= CLOCK_REFUSALS_TO_HALT {
            self.halt_with(Halt::ClockOff {
                endpoint: endpoint.to_owned(),
                skew,
            });
        }
    }

    fn halt_with(&self, halt: Halt) {
        {
            let mut kept = self
                .halt
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if kept.is_some() || self.is_stopped() {
                // Stopped already (Ctrl-C, or an earlier verdict): the first reason stands.
                return;
            }
            *kept = Some(halt);
        }
        self.stop();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn consecutive_connect_failures_halt_the_run_once() {
        let health = RunHealth::new();
        for _ in 0..CONNECT_FAILURES_TO_HALT - 1 {
            health.on_connect_failure("http://127.0.0.1:9", "connection refused");
        }
        health.on_answer();
        for _ in 0..CONNECT_FAILURES_TO_HALT - 1 {
            health.on_connect_failure("http://127.0.0.1:9", "connection refused");
        }
        assert!(
            !health.is_stopped(),
            "an answer in between resets the count"
        );
        health.on_connect_failure("http://127.0.0.1:9", "connection refused");
        assert!(health.is_stopped());
        let halt = health.halt().unwrap();
        assert!(
            matches!(halt, Halt::Unreachable { failures, .. } if failures == CONNECT_FAILURES_TO_HALT)
        );
        let text = halt.to_string();
        assert!(
            text.starts_with("cannot reach `http://127.0.0.1:9`"),
            "{text}"
        );
        health.on_clock_refused("http://127.0.0.1:9", None);
        health.on_clock_refused("http://127.0.0.1:9", None);
        health.on_clock_refused("http://127.0.0.1:9", None);
        assert_eq!(health.halt(), Some(halt), "the first verdict stands");
    }

    #[test]
    fn a_stop_by_the_caller_is_no_halt() {
        let health = RunHealth::new();
        health.stop();
        for _ in 0..CONNECT_FAILURES_TO_HALT {
            health.on_connect_failure("http://h", "refused");
        }
        assert!(health.is_stopped());
        assert_eq!(health.halt(), None);
    }

    #[test]
    fn clock_refusals_halt_with_the_skew() {
        let health = RunHealth::new();
        let skew = ClockSkew { seconds: -3_725 };
        for _ in 0..CLOCK_REFUSALS_TO_HALT {
            health.on_clock_refused("https://h", Some(skew));
        }
        let text = health.halt().unwrap().to_string();
        assert!(
            text.contains("this machine's clock is 1h 2m 5s behind the service's"),
            "{text}"
        );
        assert_eq!(
            ClockSkew { seconds: 42 }.to_string(),
            "this machine's clock is 42s ahead of the service's (by the `Date` of its answer)"
        );
    }

    #[tokio::test]
    async fn stopped_resolves_for_waiters_before_and_after_the_stop() {
        let health = std::sync::Arc::new(RunHealth::new());
        let waiter = tokio::spawn({
            let health = std::sync::Arc::clone(&health);
            async move { health.stopped().await }
        });
        tokio::task::yield_now().await;
        health.stop();
        waiter.await.unwrap();
        health.stopped().await;
    }
}
