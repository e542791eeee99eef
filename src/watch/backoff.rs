//! How long a watch waits before its next round: the interval after a round that succeeded,
//! a doubling delay capped at the interval after rounds that failed.

use std::time::Duration;

/// The first delay after a failed round.
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// The wait before the next round, after `failures` failed rounds in a row.
pub fn next_delay(interval: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return interval;
    }
    // 2^(failures-1) seconds; the shift is bounded so that it cannot overflow.
    let factor = 1u32 << (failures - 1).min(20);
    FIRST_RETRY.saturating_mul(factor).min(interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_waits_the_interval() {
        assert_eq!(
            next_delay(Duration::from_secs(60), 0),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn failures_double_the_delay_up_to_the_interval() {
        let interval = Duration::from_secs(10);
        let delays: Vec<u64> = (1..=6)
            .map(|failures| next_delay(interval, failures).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 10, 10]);
        assert_eq!(next_delay(interval, u32::MAX), interval);
    }

    #[test]
    fn a_short_interval_caps_the_first_retry() {
        let interval = Duration::from_millis(300);
        assert_eq!(next_delay(interval, 1), interval);
    }
}
