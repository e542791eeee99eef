//! The run-wide pacer: one shared limit on when requests may start, so that a throttled
//! answer slows the whole run down, not only the call that saw it.
//!
//! Every attempt of every call (creates, retries, look-ups) asks the pacer for a start time
//! through the client's [`Throttle`] hook. Start times are handed out at least `interval`
//! apart, where `interval` is the larger of the fixed limit (`1 / max_rps`) and an adaptive
//! delay:
//! - a throttled answer doubles the adaptive delay (starting from `initial_delay`, capped at
//!   `max_delay`), at most once per current delay, so that a burst of throttled answers to
//!   requests that were all in flight together counts as one signal, not sixteen;
//! - a success shortens it by an eighth, and below half of `initial_delay` it is dropped.
//!
//! Doubling on trouble and shrinking gently on success settles where about one answer in
//! six is throttled (a doubling takes five or six successes to undo: (7/8)^5.2 ≈ 1/2),
//! which the client's own retries absorb.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::event::{ApplyEvent, EventSink};
use super::options::Pacing;
use crate::cloud::Throttle;

/// Shared by every call of one run.
#[derive(Debug)]
pub(crate) struct Pacer {
    pacing: Pacing,
    /// `1 / max_rps`, or zero without a fixed limit.
    fixed_interval: Duration,
    state: Mutex<PacerState>,
    throttled: AtomicU64,
    events: Option<EventSink>,
}

#[derive(Debug, Default)]
struct PacerState {
    /// The earliest time the next request may start, while an interval is in force.
    next_start: Option<Instant>,
    /// The adaptive part of the interval.
    adaptive: Duration,
    /// When the adaptive delay was last raised.
    last_raise: Option<Instant>,
}

impl Pacer {
    /// A pacer with the adaptive `pacing`, a fixed limit of `max_rps` (already validated)
    /// and `events` to report throttled answers to.
    pub fn new(pacing: Pacing, max_rps: Option<f64>, events: Option<EventSink>) -> Self {
        let fixed_interval = max_rps
            .and_then(|rate| Duration::try_from_secs_f64(1.0 / rate).ok())
            .unwrap_or(Duration::ZERO);
        Self {
            pacing,
            fixed_interval,
            state: Mutex::new(PacerState::default()),
            throttled: AtomicU64::new(0),
            events,
        }
    }

    /// Throttled answers seen so far.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// The adaptive delay now.
    #[cfg(test)]
    pub fn adaptive_delay(&self) -> Duration {
        self.lock().adaptive
    }

    fn lock(&self) -> MutexGuard<'_, PacerState> {
        // The state is a few numbers updated in one step; a panic elsewhere cannot leave it
        // half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves the next start time for a request asked for at `now`; returns how long to
    /// wait until then.
    fn reserve(&self, now: Instant) -> Duration {
        let mut state = self.lock();
        let interval = self.fixed_interval.max(state.adaptive);
        if interval.is_zero() {
            state.next_start = None;
            return Duration::ZERO;
        }
        let start = state.next_start.map_or(now, |next| next.max(now));
        state.next_start = start.checked_add(interval).or(Some(start));
        start - now
    }

    /// Records a throttled answer at `now`; returns the adaptive delay after it.
    fn on_throttled_at(&self, now: Instant) -> Duration {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        let recently_raised = state
            .last_raise
            .is_some_and(|raised| now.saturating_duration_since(raised) < state.adaptive);
        if !recently_raised {
            state.adaptive = state
                .adaptive
                .saturating_mul(2)
                .max(self.pacing.initial_delay)
                .min(self.pacing.max_delay);
            state.last_raise = Some(now);
        }
        state.adaptive
    }

    fn on_success_now(&self) {
        let mut state = self.lock();
        if state.adaptive.is_zero() {
            return;
        }
        let step = state.adaptive / 8;
        state.adaptive -= step;
        if state.adaptive < self.pacing.initial_delay / 2 {
            state.adaptive = Duration::ZERO;
        }
    }
}

impl Throttle for Pacer {
    fn delay_before_request(&self) -> Duration {
        self.reserve(Instant::now())
    }

    fn on_throttled(&self) {
        let delay = self.on_throttled_at(Instant::now());
        if let Some(events) = &self.events {
            events.try_emit(ApplyEvent::Throttled { delay });
        }
    }

    fn on_success(&self) {
        self.on_success_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacing() -> Pacing {
        Pacing {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(400),
        }
    }

    fn millis(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn without_limits_nothing_waits() {
        let pacer = Pacer::new(pacing(), None, None);
        let now = Instant::now();
        for _ in 0..100 {
            assert_eq!(pacer.reserve(now), Duration::ZERO);
        }
    }

    #[test]
    fn a_fixed_rate_spaces_request_starts() {
        let pacer = Pacer::new(pacing(), Some(10.0), None);
        let now = Instant::now();
        let waits: Vec<Duration> = (0..4).map(|_| pacer.reserve(now)).collect();
        assert_eq!(waits, [millis(0), millis(100), millis(200), millis(300)]);
        // Asked later, a request waits only for what is left of the schedule.
        assert_eq!(pacer.reserve(now + millis(350)), millis(50));
        // After a pause the schedule starts again from the asking time.
        assert_eq!(pacer.reserve(now + millis(2_000)), Duration::ZERO);
    }

    #[test]
    fn throttling_slows_every_later_request_and_doubles_up_to_the_cap() {
        let pacer = Pacer::new(pacing(), None, None);
        let start = Instant::now();
        assert_eq!(pacer.on_throttled_at(start), millis(50));
        assert_eq!(pacer.reserve(start), Duration::ZERO);
        assert_eq!(pacer.reserve(start), millis(50));
        assert_eq!(pacer.reserve(start), millis(100));

        let mut now = start;
        let mut delays = Vec::new();
        for _ in 0..5 {
            now += millis(1_000);
            delays.push(pacer.on_throttled_at(now));
        }
        assert_eq!(
            delays,
            [
                millis(100),
                millis(200),
                millis(400),
                millis(400),
                millis(400)
            ]
        );
        assert_eq!(pacer.throttled(), 6);
    }

    #[test]
    fn a_burst_of_throttled_answers_counts_once_per_delay() {
        let pacer = Pacer::new(pacing(), None, None);
        let now = Instant::now();
        for offset in 0..16 {
            pacer.on_throttled_at(now + millis(offset));
        }
        assert_eq!(pacer.adaptive_delay(), millis(50));
        assert_eq!(pacer.throttled(), 16);
        // Once the current delay has passed, the next throttled answer raises it again.
        assert_eq!(pacer.on_throttled_at(now + millis(60)), millis(100));
    }

    #[test]
    fn successes_lower_the_delay_until_it_is_gone() {
        let pacer = Pacer::new(pacing(), None, None);
        let mut now = Instant::now();
        for _ in 0..4 {
            now += millis(1_000);
            pacer.on_throttled_at(now);
        }
        assert_eq!(pacer.adaptive_delay(), millis(400));
        let mut successes = 0;
        while !pacer.adaptive_delay().is_zero() {
            let before = pacer.adaptive_delay();
            pacer.on_success_now();
            assert!(pacer.adaptive_delay() < before);
            successes += 1;
        }
        // 400 ms × (7/8)^n < 25 ms from n = 21 on.
        assert_eq!(successes, 21);
        assert_eq!(pacer.reserve(now), Duration::ZERO);
        assert_eq!(pacer.reserve(now), Duration::ZERO);
    }

    #[test]
    fn the_fixed_rate_is_a_floor_under_the_adaptive_delay() {
        let pacer = Pacer::new(pacing(), Some(50.0), None);
        let now = Instant::now();
        assert_eq!(pacer.reserve(now), Duration::ZERO);
        assert_eq!(pacer.reserve(now), millis(20));
        pacer.on_throttled_at(now);
        assert_eq!(pacer.reserve(now), millis(40));
        assert_eq!(pacer.reserve(now), millis(90));
    }

    #[test]
    fn throttled_answers_are_reported_as_events() {
        let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
        let pacer = Pacer::new(pacing(), None, Some(EventSink::new(sender)));
        pacer.on_throttled();
        assert_eq!(
            receiver.try_recv().unwrap(),
            ApplyEvent::Throttled { delay: millis(50) }
        );
    }
}
