//! What a watch exposes to Prometheus, and whether it is ready: counters updated as rounds
//! end, rendered in the text exposition format.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Upper bounds of the round-duration histogram's buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// The metrics of one watch, shared between its loop and whoever serves them.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Recorded>,
}

#[derive(Debug, Default, Clone)]
struct Recorded {
    rounds: u64,
    failures: u64,
    managed: usize,
    pending: usize,
    last_success: Option<(Instant, SystemTime)>,
    /// Rounds per bucket of [`BUCKETS`] (not cumulative), then those above the last.
    durations: [u64; BUCKETS.len() + 1],
    duration_sum: f64,
}

impl Metrics {
    /// A round ended well at `now`, after `duration`, with `managed` groups declared and
    /// `pending` groups with changes pending.
    pub fn succeeded(&self, duration: Duration, managed: usize, pending: usize) {
        let mut recorded = self.lock();
        recorded.round(duration);
        recorded.managed = managed;
        recorded.pending = pending;
        recorded.last_success = Some((Instant::now(), SystemTime::now()));
    }

    /// A round failed after `duration`.
    pub fn failed(&self, duration: Duration) {
        let mut recorded = self.lock();
        recorded.round(duration);
        recorded.failures += 1;
    }

    /// Whether the last successful round ended within three `interval`s.
    pub fn ready(&self, interval: Duration) -> bool {
        self.ready_at(interval, Instant::now())
    }

    fn ready_at(&self, interval: Duration, now: Instant) -> bool {
        self.lock()
            .last_success
            .is_some_and(|(at, _)| now.saturating_duration_since(at) <= interval.saturating_mul(3))
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        self.lock().render()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        // A panic while holding it leaves counters only: they are still worth reading.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Recorded {
    fn round(&mut self, duration: Duration) {
        self.rounds += 1;
        let seconds = duration.as_secs_f64();
        self.duration_sum += seconds;
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        self.durations[bucket] += 1;
    }

    fn render(&self) -> String {
        let mut text = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                text,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        metric(
            "cityform_watch_rounds_total",
            "counter",
            "Rounds run, failed or not.",
            self.rounds.to_string(),
        );
        metric(
            "cityform_watch_round_failures_total",
            "counter",
            "Rounds that failed.",
            self.failures.to_string(),
        );
        metric(
            "cityform_watch_groups_managed",
            "gauge",
            "Job groups the manifests declared at the last successful round.",
            self.managed.to_string(),
        );
        metric(
            "cityform_watch_pending_changes",
            "gauge",
            "Job groups with changes pending after the last successful round.",
            self.pending.to_string(),
        );
        let last = self
            .last_success
            .and_then(|(_, at)| at.duration_since(UNIX_EPOCH).ok())
            .map_or(0.0, |since| since.as_secs_f64());
        metric(
            "cityform_watch_last_success_timestamp_seconds",
            "gauge",
            "When the last successful round ended, in seconds since the epoch; 0 before one.",
            last.to_string(),
        );
        let name = "cityform_watch_round_duration_seconds";
        let _ = writeln!(
            text,
            "# HELP {name} How long rounds took.\n# TYPE {name} histogram"
        );
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(self.durations) {
            cumulative += count;
            let _ = writeln!(text, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(text, "{name}_bucket{{le=\"+Inf\"}} {}", self.rounds);
        let _ = writeln!(text, "{name}_sum {}", self.duration_sum);
        let _ = writeln!(text, "{name}_count {}", self.rounds);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_are_counted_and_bucketed() {
        let metrics = Metrics::default();
        assert!(!metrics.ready(Duration::from_secs(60)));
        metrics.failed(Duration::from_millis(200));
        metrics.succeeded(Duration::from_secs(3), 4, 1);
        assert!(metrics.ready(Duration::from_secs(60)));
        let mut recorded = metrics.lock().clone();
        // The timestamp is the clock's; everything else is fixed.
        recorded.last_success = None;
        insta::assert_snapshot!(recorded.render());
    }

    #[test]
    fn a_success_older_than_three_intervals_is_not_ready() {
        let metrics = Metrics::default();
        metrics.succeeded(Duration::ZERO, 0, 0);
        let interval = Duration::from_secs(10);
        let now = Instant::now();
        assert!(metrics.ready_at(interval, now + Duration::from_secs(29)));
        assert!(!metrics.ready_at(interval, now + Duration::from_secs(31)));
    }
}
