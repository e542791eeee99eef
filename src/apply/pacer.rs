//! The run-wide pacer: one shared limit on when requests may start, so that a throttled
//! answer slows the whole run down, not only the call that saw it.
//!
//! Every attempt of every call (creates, retries, look-ups) asks the pacer for a start time
//! through the client's [`Throttle`] hook. Start times are handed out at least `interval`
//! apart, the larger of the fixed limit (`1 / max_rps`) and `1 / rate`, where `rate` is an
//! adaptive limit in requests a second, absent until the service first throttles:
//! - **decrease**: a throttled answer sets the rate to 0.9 × what the service accepted in
//!   the last second (successes counted in ten slots of 100 ms), or 0.9 × the rate when
//!   that is lower. A limit of N a second with a burst of N is found in one step.
//! - **hold**: for 200 ms (or two intervals, if longer) after a decrease, answers are those
//!   of requests sent before it and change nothing.
//! - **judge**: the next 20 answers say whether slowing down helped. If their throttled
//!   share is still at least half what it was before the decrease (and at least 10 %), the
//!   throttling does not depend on the rate (random throttling, an outage): the decrease is
//!   undone, and throttled answers are left to the client's retries for a quiet period (2 s,
//!   doubling up to 60 s while decreases keep not helping). Random throttling thus never
//!   ratchets the rate down; a real limit is followed as it moves.
//! - **increase**: each success adds to the rate, slowly below the level at which the last
//!   decrease happened (10 % of that level per second of successes), faster above it (half a
//!   request a second per success, about ×1.65 a second), and the limit is dropped once it
//!   is four times that level.
//!
//! The rate never goes below `1 / max_delay`; a throttled answer when the service accepted
//! less than `1 / initial_delay` in the last second sets it no lower than that (or 0.9 × the
//! rate if lower). `docs/apply.md` ("Rate limits") explains the choices.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::event::{ApplyEvent, EventSink};
use super::options::Pacing;
use crate::cloud::Throttle;

/// What a decrease keeps of the rate the service accepted.
const BACK_OFF: f64 = 0.9;
/// Below the level of the last decrease, the rate grows by this share of the level per
/// second of successes.
const RECOVERY: f64 = 0.1;
/// Above that level, each success adds this many requests a second.
const PROBE_STEP: f64 = 0.5;
/// The limit is dropped once the rate is this many times the level of the last decrease.
const DROP_FACTOR: f64 = 4.0;
/// After a decrease, answers within this time (or two intervals) are to earlier requests.
const HOLD: Duration = Duration::from_millis(200);
/// Answers after the hold that judge whether a decrease helped.
const JUDGE_ANSWERS: u32 = 20;
/// A throttled share below this after a decrease counts as helped, whatever it was before.
const TOLERATED_SHARE: f64 = 0.1;
/// The first quiet period after a decrease that did not help, and the longest.
const QUIET: Duration = Duration::from_secs(2);
const MAX_QUIET: Duration = Duration::from_secs(60);
/// The success window: this many slots of [`SLOT`], one second in all.
const SLOTS: usize = 10;
const SLOT: Duration = Duration::from_millis(100);

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

#[derive(Debug)]
struct PacerState {
    /// The earliest time the next request may start, while an interval is in force.
    next_start: Option<Instant>,
    /// The adaptive limit, requests a second; `None` until the service throttles.
    rate: Option<f64>,
    /// The rate (or the accepted rate) at which the last decrease happened.
    level: f64,
    phase: Phase,
    /// Answers and throttled answers counted in this phase.
    answers: u32,
    throttled: u32,
    /// The next quiet period.
    quiet: Duration,
    accepted: SuccessWindow,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// The next throttled answer lowers the rate.
    Watching,
    /// A decrease at `at` is being judged; how to undo it.
    Judging {
        at: Instant,
        hold: Duration,
        share_before: f64,
        rate_before: Option<f64>,
        level_before: f64,
    },
    /// Slowing down did not help: throttled answers change nothing until `until`.
    Quiet { until: Instant },
}

/// Successes in the last second, in slots of [`SLOT`].
#[derive(Debug, Default)]
struct SuccessWindow {
    slots: [u32; SLOTS],
    /// The start of the newest slot, `slots[newest]`.
    newest_start: Option<Instant>,
    newest: usize,
    /// The first success.
    first: Option<Instant>,
}

impl SuccessWindow {
    /// Moves the window so that its newest slot holds `now`.
    fn advance(&mut self, now: Instant) {
        let Some(start) = self.newest_start else {
            self.newest_start = Some(now);
            return;
        };
        let passed = now.saturating_duration_since(start);
        let steps = (passed.as_nanos() / SLOT.as_nanos()).min(SLOTS as u128 + 1);
        if steps == 0 {
            return;
        }
        for _ in 0..steps.min(SLOTS as u128) {
            self.newest = (self.newest + 1) % SLOTS;
            self.slots[self.newest] = 0;
        }
        // `steps` is at most 11 slots of 100 ms.
        self.newest_start = Some(start + SLOT * u32::try_from(steps).unwrap_or(0));
        if passed >= SLOT * (SLOTS as u32 + 1) {
            self.newest_start = Some(now);
        }
    }

    /// Whether successes have been counted for a whole window.
    fn is_full(&self, now: Instant) -> bool {
        self.first
            .is_some_and(|first| now.saturating_duration_since(first) >= SLOT * SLOTS as u32)
    }

    fn record(&mut self, now: Instant) {
        self.first.get_or_insert(now);
        self.advance(now);
        self.slots[self.newest] = self.slots[self.newest].saturating_add(1);
    }

    /// Successes a second over the last second (the current slot and the nine before it).
    fn rate(&mut self, now: Instant) -> f64 {
        self.advance(now);
        self.slots.iter().map(|count| f64::from(*count)).sum()
    }
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
            state: Mutex::new(PacerState {
                next_start: None,
                rate: None,
                level: 0.0,
                phase: Phase::Watching,
                answers: 0,
                throttled: 0,
                quiet: QUIET,
                accepted: SuccessWindow::default(),
            }),
            throttled: AtomicU64::new(0),
            events,
        }
    }

    /// Throttled answers seen so far.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// The adaptive limit now, requests a second.
    #[cfg(test)]
    fn rate(&self) -> Option<f64> {
        self.lock().rate
    }

    fn lock(&self) -> MutexGuard<'_, PacerState> {
        // The state is a few numbers updated in one step; a panic elsewhere cannot leave it
        // half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn min_rate(&self) -> f64 {
        1.0 / self.pacing.max_delay.as_secs_f64()
    }

    fn adaptive_interval(&self, state: &PacerState) -> Duration {
        state
            .rate
            .and_then(|rate| Duration::try_from_secs_f64(1.0 / rate).ok())
            .unwrap_or(Duration::ZERO)
    }

    /// Reserves the next start time for a request asked for at `now`; returns how long to
    /// wait until then.
    fn reserve(&self, now: Instant) -> Duration {
        let mut state = self.lock();
        let interval = self.fixed_interval.max(self.adaptive_interval(&state));
        if interval.is_zero() {
            state.next_start = None;
            return Duration::ZERO;
        }
        let start = state.next_start.map_or(now, |next| next.max(now));
        state.next_start = start.checked_add(interval).or(Some(start));
        start - now
    }

    /// Records a throttled answer at `now`; returns the adaptive interval after it.
    fn on_throttled_at(&self, now: Instant) -> Duration {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        match state.phase {
            Phase::Judging { at, hold, .. } if now.saturating_duration_since(at) < hold => {}
            Phase::Judging { .. } => {
                state.answers = state.answers.saturating_add(1);
                state.throttled = state.throttled.saturating_add(1);
                self.judge_if_due(&mut state, now);
            }
            Phase::Quiet { until } if now < until => {
                state.answers = state.answers.saturating_add(1);
                state.throttled = state.throttled.saturating_add(1);
            }
            Phase::Watching | Phase::Quiet { .. } => {
                state.answers = state.answers.saturating_add(1);
                state.throttled = state.throttled.saturating_add(1);
                self.decrease(&mut state, now);
            }
        }
        self.adaptive_interval(&state)
    }

    fn decrease(&self, state: &mut PacerState, now: Instant) {
        let share_before = f64::from(state.throttled) / f64::from(state.answers.max(1));
        let accepted = state.accepted.rate(now);
        let base = state.rate.map_or(accepted, |rate| rate.min(accepted));
        // Within the first second of successes the window says little about the limit:
        // go no lower than `1 / initial_delay` then.
        let lowest = if state.accepted.is_full(now) {
            self.min_rate()
        } else {
            (1.0 / self.pacing.initial_delay.as_secs_f64()).max(self.min_rate())
        };
        let rate = (BACK_OFF * base).max(lowest);
        let hold = Duration::try_from_secs_f64(2.0 / rate)
            .unwrap_or(HOLD)
            .max(HOLD);
        state.phase = Phase::Judging {
            at: now,
            hold,
            share_before,
            rate_before: state.rate,
            level_before: state.level,
        };
        state.level = base.max(rate);
        state.rate = Some(rate);
        state.answers = 0;
        state.throttled = 0;
    }

    /// Ends the judgement of a decrease once enough answers came after it.
    fn judge_if_due(&self, state: &mut PacerState, now: Instant) {
        let Phase::Judging {
            share_before,
            rate_before,
            level_before,
            ..
        } = state.phase
        else {
            return;
        };
        if state.answers < JUDGE_ANSWERS {
            return;
        }
        let share_after = f64::from(state.throttled) / f64::from(state.answers);
        if share_after >= TOLERATED_SHARE && share_after >= share_before / 3.0 {
            // Slowing down did not lower the throttling: it does not depend on the rate.
            state.rate = rate_before;
            state.level = level_before;
            state.phase = Phase::Quiet {
                until: now + state.quiet,
            };
            state.quiet = (state.quiet * 2).min(MAX_QUIET);
            state.answers = 0;
            state.throttled = 0;
        } else {
            // The sample stays counted: it is the start of the next share before.
            state.phase = Phase::Watching;
            state.quiet = QUIET;
        }
    }

    fn on_success_at(&self, now: Instant) {
        let mut state = self.lock();
        state.accepted.record(now);
        match state.phase {
            // While a decrease is judged the rate stays as it is.
            Phase::Judging { at, hold, .. } if now.saturating_duration_since(at) < hold => return,
            Phase::Judging { .. } => {
                state.answers = state.answers.saturating_add(1);
                self.judge_if_due(&mut state, now);
                return;
            }
            Phase::Watching | Phase::Quiet { .. } => {
                state.answers = state.answers.saturating_add(1);
            }
        }
        if let Some(rate) = state.rate {
            let level = state.level.max(self.min_rate());
            let raised = if rate < level {
                rate + RECOVERY * level / rate
            } else {
                rate + PROBE_STEP
            };
            state.rate = (raised < DROP_FACTOR * level).then_some(raised);
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
        self.on_success_at(Instant::now());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn pacing() -> Pacing {
        Pacing {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
        }
    }

    fn millis(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    /// `count` successes spread evenly over `span` from `start`; returns the time after.
    fn successes(pacer: &Pacer, start: Instant, count: u32, span: Duration) -> Instant {
        for index in 0..count {
            pacer.on_success_at(start + span * index / count);
        }
        start + span
    }

    fn rounded(rate: Option<f64>) -> Option<f64> {
        rate.map(|rate| (rate * 10.0).round() / 10.0)
    }

    #[test]
    fn without_limits_nothing_waits() {
        let pacer = Pacer::new(pacing(), None, None);
        let now = Instant::now();
        for _ in 0..100 {
            assert_eq!(pacer.reserve(now), Duration::ZERO);
            pacer.on_success_at(now);
        }
        assert_eq!(pacer.rate(), None);
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
    fn the_success_window_counts_the_last_second() {
        let mut window = SuccessWindow::default();
        let start = Instant::now();
        for index in 0..100 {
            window.record(start + millis(index * 5));
        }
        assert_eq!(window.rate(start + millis(500)), 100.0);
        // 1.25 s on, the window covers 0.3 s to 1.3 s.
        assert_eq!(window.rate(start + millis(1_250)), 40.0);
        assert_eq!(window.rate(start + millis(5_000)), 0.0);
    }

    #[test]
    fn a_limit_with_a_burst_is_found_in_one_step_from_what_was_accepted() {
        let pacer = Pacer::new(pacing(), None, None);
        let start = Instant::now();
        // A burst of 100 accepted at once, then the bucket is empty.
        let now = successes(&pacer, start, 100, millis(30));
        let interval = pacer.on_throttled_at(now);
        assert_eq!(rounded(pacer.rate()), Some(90.0));
        assert_eq!(interval, Duration::from_secs_f64(1.0 / 90.0));
        // The other requests that were in flight change nothing.
        for offset in 1..10 {
            pacer.on_throttled_at(now + millis(offset));
        }
        assert_eq!(rounded(pacer.rate()), Some(90.0));
        assert_eq!(pacer.throttled(), 10);
        // Requests now start 1/90 s apart.
        let later = now + millis(20);
        assert_eq!(pacer.reserve(later), Duration::ZERO);
        assert_eq!(pacer.reserve(later), Duration::from_secs_f64(1.0 / 90.0));
    }

    #[test]
    fn below_the_last_level_the_rate_climbs_slowly_and_above_it_faster() {
        let pacer = Pacer::new(pacing(), None, None);
        let start = Instant::now();
        let now = successes(&pacer, start, 100, millis(30));
        pacer.on_throttled_at(now);
        // While the decrease is judged (a hold, then 20 answers), the rate stays.
        let now = successes(&pacer, now + millis(250), 20, millis(220));
        assert_eq!(rounded(pacer.rate()), Some(90.0));
        // Then 90 a second for one second: 10 % of the level (100) per second, about +9.5.
        let now = successes(&pacer, now, 90, millis(1_000));
        let rate = pacer.rate().unwrap();
        assert!((99.0..100.0).contains(&rate), "{rate}");
        // Above the level each success adds half a request a second.
        let now = successes(&pacer, now, 10, millis(100));
        let rate = pacer.rate().unwrap();
        pacer.on_success_at(now);
        assert!((pacer.rate().unwrap() - rate - PROBE_STEP).abs() < 1e-9);
    }

    #[test]
    fn a_decrease_that_stops_the_throttling_stands_and_the_next_one_follows() {
        let pacer = Pacer::new(pacing(), None, None);
        let start = Instant::now();
        let now = successes(&pacer, start, 100, millis(30));
        pacer.on_throttled_at(now);
        // After the hold, 20 clean answers: slowing down helped.
        let now = successes(&pacer, now + millis(250), 30, millis(330));
        assert!(matches!(pacer.lock().phase, Phase::Watching));
        let before = pacer.rate().unwrap();
        // The next throttled answer lowers the rate again, from what was accepted.
        pacer.on_throttled_at(now);
        let after = pacer.rate().unwrap();
        assert!(after < before, "{after} after {before}");
        assert!(matches!(pacer.lock().phase, Phase::Judging { .. }));
    }

    #[test]
    fn random_throttling_does_not_ratchet_the_rate_down() {
        let pacer = Pacer::new(pacing(), None, None);
        let mut now = Instant::now();
        // Every other answer throttled, whatever the rate: for a minute at 20 answers a
        // second, the rate is never lowered for long, nor below one step under the ten a
        // second accepted (about nine in the window at times).
        let mut lowest = f64::INFINITY;
        let mut unlimited = 0;
        for index in 0..1_200 {
            now += millis(50);
            if index % 2 == 0 {
                pacer.on_throttled_at(now);
            } else {
                pacer.on_success_at(now);
            }
            match pacer.rate() {
                Some(rate) => lowest = lowest.min(rate),
                None => unlimited += 1,
            }
        }
        assert!(lowest >= 8.0, "{lowest}");
        // Only the few judgements (each a hold and 20 answers) ran with a limit.
        assert!(
            unlimited > 1_000,
            "{unlimited} of 1200 answers without a limit"
        );
        assert_eq!(pacer.throttled(), 600);
    }

    #[test]
    fn an_undone_decrease_brings_a_quiet_period_that_doubles() {
        let pacer = Pacer::new(pacing(), None, None);
        let start = Instant::now();
        pacer.on_throttled_at(start);
        assert_eq!(rounded(pacer.rate()), Some(20.0));
        // After the hold, 20 answers of which half throttled: not helped, undone.
        let mut now = start + millis(300);
        for index in 0..20 {
            now += millis(10);
            if index % 2 == 0 {
                pacer.on_throttled_at(now);
            } else {
                pacer.on_success_at(now);
            }
        }
        assert_eq!(pacer.rate(), None);
        let Phase::Quiet { until } = pacer.lock().phase else {
            panic!("not quiet: {:?}", pacer.lock().phase);
        };
        assert_eq!(until, now + QUIET);
        // Throttled answers in the quiet period change nothing.
        pacer.on_throttled_at(now + millis(1_000));
        assert_eq!(pacer.rate(), None);
        // After it, the next one tries a decrease again; the next quiet period is longer.
        pacer.on_throttled_at(until + millis(1));
        assert!(pacer.rate().is_some());
        assert_eq!(pacer.lock().quiet, QUIET * 2);
    }

    #[test]
    fn when_requests_succeed_again_the_limit_goes() {
        let pacer = Pacer::new(pacing(), None, None);
        let mut now = Instant::now();
        // A tight limit: each decrease helps, and about two requests a second are accepted.
        for _ in 0..5 {
            now += millis(400);
            pacer.on_throttled_at(now);
            // Past the hold, 20 answers without throttling: the decrease helped.
            now += millis(1_500);
            for _ in 0..JUDGE_ANSWERS {
                now += millis(400);
                pacer.on_success_at(now);
            }
        }
        let low = pacer.rate().unwrap();
        assert!(low < 5.0, "{low}");
        // Then everything succeeds, as fast as the rate lets it: within a few dozen
        // successes the rate is past four times its level and the limit is gone.
        let mut successes = 0;
        while let Some(rate) = pacer.rate() {
            now += Duration::from_secs_f64(1.0 / rate);
            pacer.on_success_at(now);
            successes += 1;
            assert!(successes < 60, "{rate} after {successes}");
        }
        assert_eq!(pacer.reserve(now), Duration::ZERO);
    }

    #[test]
    fn the_rate_never_goes_below_one_per_max_delay() {
        let pacer = Pacer::new(pacing(), None, None);
        let mut now = Instant::now();
        for _ in 0..200 {
            now += millis(5_000);
            pacer.on_throttled_at(now);
            for _ in 0..JUDGE_ANSWERS {
                now += millis(10);
                pacer.on_success_at(now);
            }
        }
        let rate = pacer.rate().unwrap();
        assert!(rate >= 0.5, "{rate}");
    }

    #[test]
    fn the_fixed_rate_is_a_floor_under_the_adaptive_delay() {
        let pacer = Pacer::new(pacing(), Some(50.0), None);
        let now = Instant::now();
        assert_eq!(pacer.reserve(now), Duration::ZERO);
        assert_eq!(pacer.reserve(now), millis(20));
        pacer.on_throttled_at(now);
        // Nothing accepted yet: 1 / initial_delay, 20 a second.
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
