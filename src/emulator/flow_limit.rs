//! The account's flow limit (`--qps N`): a token bucket shared by every action, refilled at
//! N tokens a second and holding at most N, as Alibaba Cloud's gateways limit a user's
//! request rate. A request that finds the bucket empty is answered 400 `Throttling.User`.

use std::sync::Mutex;
use std::time::Instant;

use super::api_error::ApiError;
use super::server::lock;

/// A token bucket: `rate` tokens a second, at most `rate` held, full at the start.
#[derive(Debug)]
pub(crate) struct FlowLimit {
    rate: f64,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl FlowLimit {
    /// A full bucket of `qps` tokens refilled at `qps` a second; `0` refuses every request.
    pub fn new(qps: u32, now: Instant) -> Self {
        let rate = f64::from(qps);
        Self {
            rate,
            bucket: Mutex::new(Bucket {
                tokens: rate,
                refilled: now,
            }),
        }
    }

    /// Takes a token for a request arriving at `now`, or answers `Throttling.User` when
    /// there is none.
    pub fn admit(&self, now: Instant) -> Result<(), ApiError> {
        let mut bucket = lock(&self.bucket);
        // Requests may be decided slightly out of arrival order: time never runs backwards.
        let elapsed = now.saturating_duration_since(bucket.refilled);
        bucket.tokens = (bucket.tokens + elapsed.as_secs_f64() * self.rate).min(self.rate);
        bucket.refilled = bucket.refilled.max(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(ApiError::throttled())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn millis(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    fn admitted(limit: &FlowLimit, now: Instant, count: usize) -> usize {
        (0..count).filter(|_| limit.admit(now).is_ok()).count()
    }

    #[test]
    fn a_full_bucket_admits_a_burst_of_n_then_throttles() {
        let start = Instant::now();
        let limit = FlowLimit::new(10, start);
        assert_eq!(admitted(&limit, start, 25), 10);
        let refused = limit.admit(start).unwrap_err();
        assert_eq!(refused.code, "Throttling.User");
        assert_eq!(refused.status.as_u16(), 400);
        assert_eq!(
            refused.message,
            "Request was denied due to user flow control."
        );
        assert!(limit.admit(start + millis(99)).is_err());
        assert!(limit.admit(start + millis(101)).is_ok());
    }

    #[test]
    fn the_bucket_refills_at_n_a_second_up_to_n() {
        let start = Instant::now();
        let limit = FlowLimit::new(100, start);
        assert_eq!(admitted(&limit, start, 100), 100);
        // 10 ms later one token is back, 50 ms later five.
        assert_eq!(admitted(&limit, start + millis(10), 3), 1);
        assert_eq!(admitted(&limit, start + millis(60), 10), 5);
        // A long pause refills the bucket to 100, not more.
        assert_eq!(admitted(&limit, start + millis(60_000), 500), 100);
    }

    #[test]
    fn a_steady_rate_at_the_limit_is_admitted_and_above_it_is_not() {
        let start = Instant::now();
        let limit = FlowLimit::new(100, start);
        assert_eq!(admitted(&limit, start, 100), 100);
        // 200 requests a second for 2 s: 200 tokens come back, 200 are refused.
        let mut passed = 0;
        for step in 1..=400 {
            passed += admitted(&limit, start + millis(5 * step), 1);
        }
        assert_eq!(passed, 200);
    }

    #[test]
    fn zero_refuses_everything_and_out_of_order_times_are_harmless() {
        let start = Instant::now();
        let zero = FlowLimit::new(0, start);
        assert_eq!(admitted(&zero, start + millis(5_000), 10), 0);
        let limit = FlowLimit::new(2, start + millis(100));
        assert_eq!(admitted(&limit, start, 5), 2);
        assert_eq!(admitted(&limit, start + millis(100), 5), 0);
        assert_eq!(admitted(&limit, start + millis(600), 5), 1);
    }
}
