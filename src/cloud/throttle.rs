//! The hook through which callers share one adaptive backoff across many concurrent calls.
//!
//! The client's own retries pace a single call. When many workers call at once, the service's
//! rate limit is shared, so a throttle seen by one worker should slow all of them. The client
//! reports what it sees to an optional [`Throttle`] and waits as long as it asks before each
//! attempt; the policy itself (additive increase, multiplicative decrease, a token bucket...)
//! belongs to the caller.

use std::time::Duration;

/// Shared pacing across all calls of one client. Implementations must be cheap and must not
/// block: they are called on the request path of every attempt.
pub trait Throttle: Send + Sync {
    /// How long to wait before the next attempt leaves, on top of the retry policy's own
    /// backoff. Called before every attempt, the first one included.
    fn delay_before_request(&self) -> Duration {
        Duration::ZERO
    }

    /// The service answered an attempt with a throttling error (`Throttling`,
    /// `Throttling.User`, `Throttling.Api`, `ServiceUnavailable`, or HTTP 429).
    fn on_throttled(&self) {}

    /// The service answered an attempt successfully.
    fn on_success(&self) {}
}
