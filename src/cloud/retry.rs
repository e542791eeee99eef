//! When to try a request again, and how long to wait first.
//!
//! Exponential backoff with full jitter (each wait is uniformly random between zero and
//! `base × 2^(retry−1)`, capped at `max_delay`), bounded by a number of attempts and by a total
//! time after which no new attempt starts. The wait is a pure function of the retry number and
//! an injected random number, so its bounds are tested without a clock.

use std::collections::BTreeMap;
use std::time::Duration;

/// Shrinks (or stretches) the base delay, in milliseconds; `0` removes every wait. Meant for
/// tests and CI, where waiting for real backoff would only slow things down.
pub const RETRY_BASE_MS_VARIABLE: &str = "CITYFORM_RETRY_BASE_MS";

/// How often and how patiently retryable failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included; `1` means never retry.
    pub max_attempts: u32,
    /// The cap of the first retry's wait; each retry doubles it.
    pub base_delay: Duration,
    /// No single wait is longer than this.
    pub max_delay: Duration,
    /// No new attempt starts once this much time has passed since the first one.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
            max_elapsed: Duration::from_secs(120),
        }
    }
}

/// Why the retry settings in the environment cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetryPolicyError {
    /// The variable is not a whole number of milliseconds.
    #[error(
        "`{RETRY_BASE_MS_VARIABLE}` is `{value}`: expected a whole number of milliseconds, like `200`"
    )]
    InvalidBaseDelay {
        /// The value as set.
        value: String,
    },
}

impl RetryPolicy {
    /// A policy that tries once and never waits.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The same policy with `CITYFORM_RETRY_BASE_MS` applied when `environment` sets it.
    pub fn with_environment(
        mut self,
        environment: &BTreeMap<String, String>,
    ) -> Result<Self, RetryPolicyError> {
        if let Some(value) = environment.get(RETRY_BASE_MS_VARIABLE) {
            let milliseconds: u64 =
                value
                    .trim()
                    .parse()
                    .map_err(|_| RetryPolicyError::InvalidBaseDelay {
                        value: value.clone(),
                    })?;
            self.base_delay = Duration::from_millis(milliseconds);
        }
        Ok(self)
    }

    /// The longest wait before retry number `retry` (1 for the first retry):
    /// `min(max_delay, base_delay × 2^(retry−1))`.
    pub fn delay_cap(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.base_delay
            .checked_mul(1_u32 << doublings)
            .unwrap_or(Duration::MAX)
            .min(self.max_delay)
    }

    /// The wait before retry number `retry` for a `random` number in `[0, 1)`: full jitter,
    /// uniformly between zero and [`Self::delay_cap`].
    pub fn delay(&self, retry: u32, random: f64) -> Duration {
        let fraction = if random.is_finite() {
            random.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let cap = self.delay_cap(retry);
        // `mul_f64` panics when rounding pushes a near-maximal cap past `Duration::MAX`.
        Duration::try_from_secs_f64(cap.as_secs_f64() * fraction)
            .map_or(cap, |delay| delay.min(cap))
    }

    /// Whether another attempt may follow `attempts_made` attempts after `elapsed`, and the
    /// wait before it (shortened so that the attempt starts within `max_elapsed`).
    pub fn next_delay(
        &self,
        attempts_made: u32,
        elapsed: Duration,
        random: f64,
    ) -> Option<Duration> {
        if attempts_made >= self.max_attempts || elapsed >= self.max_elapsed {
            return None;
        }
        let remaining = self.max_elapsed - elapsed;
        Some(self.delay(attempts_made, random).min(remaining))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1_000),
            max_elapsed: Duration::from_secs(10),
        }
    }

    #[test]
    fn the_cap_doubles_per_retry_up_to_the_maximum() {
        let caps: Vec<u128> = (1..=6)
            .map(|retry| policy().delay_cap(retry).as_millis())
            .collect();
        assert_eq!(caps, [100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(policy().delay_cap(1_000), Duration::from_millis(1_000));
    }

    #[test]
    fn full_jitter_stays_between_zero_and_the_cap() {
        let policy = policy();
        for retry in 1..=10 {
            assert_eq!(policy.delay(retry, 0.0), Duration::ZERO);
            for random in [0.1, 0.5, 0.999_999] {
                let delay = policy.delay(retry, random);
                assert!(delay <= policy.delay_cap(retry), "{retry} {random}");
                assert_eq!(delay, policy.delay_cap(retry).mul_f64(random));
            }
        }
        assert_eq!(policy.delay(3, f64::NAN), Duration::ZERO);
        assert_eq!(policy.delay(3, 7.0), policy.delay_cap(3));
    }

    #[test]
    fn enormous_settings_do_not_overflow() {
        let policy = RetryPolicy {
            max_attempts: u32::MAX,
            base_delay: Duration::MAX,
            max_delay: Duration::MAX,
            max_elapsed: Duration::MAX,
        };
        for random in [0.0, 0.5, 1.0] {
            assert!(policy.delay(u32::MAX, random) <= Duration::MAX);
            assert!(
                policy
                    .next_delay(7, Duration::from_secs(1), random)
                    .is_some()
            );
        }
    }

    #[test]
    fn gives_up_after_max_attempts_or_max_elapsed() {
        let policy = policy();
        assert!(policy.next_delay(4, Duration::ZERO, 0.5).is_some());
        assert_eq!(policy.next_delay(5, Duration::ZERO, 0.5), None);
        assert_eq!(policy.next_delay(1, Duration::from_secs(10), 0.5), None);
        assert_eq!(
            policy.next_delay(4, Duration::from_millis(9_950), 0.99),
            Some(Duration::from_millis(50))
        );
        assert_eq!(
            RetryPolicy::never().next_delay(1, Duration::ZERO, 0.5),
            None
        );
    }

    #[test]
    fn the_environment_can_shrink_the_base_delay() {
        let environment: BTreeMap<String, String> =
            [(RETRY_BASE_MS_VARIABLE.to_owned(), "0".to_owned())].into();
        let shrunk = policy().with_environment(&environment).unwrap();
        assert_eq!(shrunk.delay(4, 0.99), Duration::ZERO);
        assert_eq!(
            policy().with_environment(&BTreeMap::new()).unwrap(),
            policy()
        );
        let environment: BTreeMap<String, String> =
            [(RETRY_BASE_MS_VARIABLE.to_owned(), "fast".to_owned())].into();
        assert_eq!(
            policy().with_environment(&environment),
            Err(RetryPolicyError::InvalidBaseDelay {
                value: "fast".into()
            })
        );
    }
}
