//! Fault injection: seeded random throttling and service errors, and the one create whose
//! answer is lost after the group was committed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::api_error::ApiError;
use super::config::Faults;

/// Decides, request by request, which faults happen.
#[derive(Debug)]
pub(crate) struct FaultInjector {
    faults: Faults,
    random: Mutex<fastrand::Rng>,
    commits: AtomicU64,
}

impl FaultInjector {
    /// An injector drawing from a generator seeded with `faults.seed`.
    pub fn new(faults: Faults) -> Self {
        let random = Mutex::new(fastrand::Rng::with_seed(faults.seed));
        Self {
            faults,
            random,
            commits: AtomicU64::new(0),
        }
    }

    /// The configured faults.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// A random fault for this request, if one happens. Two draws per request, whatever the
    /// rates, so that changing one rate does not shift the other's sequence.
    pub fn random_fault(&self) -> Option<ApiError> {
        if self.faults.throttle_rate <= 0.0 && self.faults.error_rate <= 0.0 {
            return None;
        }
        let (throttle, error) = {
            let mut random = self
                .random
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (random.f64(), random.f64())
        };
        if throttle < self.faults.throttle_rate {
            Some(ApiError::throttled())
        } else if error < self.faults.error_rate {
            Some(ApiError::service_unavailable())
        } else {
            None
        }
    }

    /// Counts one committed create; true when this is the one whose answer must be lost.
    pub fn drop_after_this_commit(&self) -> bool {
        let count = self.commits.fetch_add(1, Ordering::SeqCst) + 1;
        self.faults.drop_after_commit == Some(count)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn outcomes(faults: Faults, count: usize) -> Vec<Option<&'static str>> {
        let injector = FaultInjector::new(faults);
        (0..count)
            .map(|_| injector.random_fault().map(|error| error.code))
            .collect()
    }

    #[test]
    fn rates_are_met_and_sequences_repeat_with_the_seed() {
        let faults = Faults {
            throttle_rate: 0.2,
            error_rate: 0.1,
            seed: 42,
            ..Faults::default()
        };
        let first = outcomes(faults.clone(), 100_000);
        assert_eq!(first, outcomes(faults.clone(), 100_000));
        let throttled = first
            .iter()
            .filter(|o| **o == Some("Throttling.User"))
            .count();
        let unavailable = first
            .iter()
            .filter(|o| **o == Some("ServiceUnavailable"))
            .count();
        // Expected 20,000 and 8,000 (10 % of the 80 % not throttled); ±1,000 is > 7 sigma.
        assert!((19_000..21_000).contains(&throttled), "{throttled}");
        assert!((7_000..9_000).contains(&unavailable), "{unavailable}");
        let other = outcomes(Faults { seed: 43, ..faults }, 100_000);
        assert_ne!(first, other);
    }

    #[test]
    fn no_faults_by_default() {
        assert!(
            outcomes(Faults::default(), 1000)
                .iter()
                .all(Option::is_none)
        );
    }

    #[test]
    fn only_the_nth_commit_is_dropped() {
        let injector = FaultInjector::new(Faults {
            drop_after_commit: Some(3),
            ..Faults::default()
        });
        let drops: Vec<bool> = (0..5).map(|_| injector.drop_after_this_commit()).collect();
        assert_eq!(drops, [false, false, true, false, false]);
    }
}
