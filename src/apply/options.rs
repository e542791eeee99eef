//! How a run is carried out: how many calls at once, how fast, and whether for real.

use std::time::Duration;

use super::error::ApplyError;
use crate::provenance::RunContext;

/// How long apply waits, by default, for started and stopped groups to get there.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// Settings of one apply run.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyOptions {
    /// Creates in flight at once (at least 1).
    pub parallelism: usize,
    /// At most this many requests start per second, over the whole run (retries and
    /// look-ups included). `None`: no fixed limit, only the adaptive slow-down.
    pub max_rps: Option<f64>,
    /// Send nothing and write nothing: only say, through events, what would happen.
    pub dry_run: bool,
    /// How the run slows down when the service throttles.
    pub pacing: Pacing,
    /// Where the run comes from: with it, every recorded action gets a `history` record
    /// (`docs/provenance.md`); without it, none.
    pub provenance: Option<RunContext>,
    /// Actions the history keeps per group from this run on (`--history-retention`);
    /// `None` keeps the state's retention.
    pub history_retention: Option<usize>,
    /// How long to wait for the groups the run started or stopped to be reported `running`
    /// or `stopped` (`--wait-timeout`); `None` returns as soon as the calls are answered
    /// (`--no-wait`).
    pub wait_timeout: Option<Duration>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            parallelism: 10,
            max_rps: None,
            dry_run: false,
            pacing: Pacing::default(),
            provenance: None,
            history_retention: None,
            wait_timeout: Some(DEFAULT_WAIT_TIMEOUT),
        }
    }
}

impl ApplyOptions {
    /// Refuses settings that cannot be carried out.
    pub fn validate(&self) -> Result<(), ApplyError> {
        if self.parallelism == 0 {
            return Err(ApplyError::InvalidOptions {
                reason: "`parallelism` is 0: at least one call must be allowed in flight".into(),
            });
        }
        if let Some(rate) = self.max_rps
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(ApplyError::InvalidOptions {
                reason: format!(
                    "`max_rps` is `{rate}`: expected a positive number of requests per second"
                ),
            });
        }
        if self.pacing.initial_delay.is_zero() || self.pacing.max_delay < self.pacing.initial_delay
        {
            return Err(ApplyError::InvalidOptions {
                reason: format!(
                    "pacing delays `{:?}` to `{:?}`: the initial delay must be above zero and at most the maximum",
                    self.pacing.initial_delay, self.pacing.max_delay
                ),
            });
        }
        Ok(())
    }
}

/// The run-wide slow-down after throttled answers (`docs/apply.md`, "Rate limits").
///
/// A throttled answer lowers an adaptive limit on request starts to 0.9 × what the service
/// accepted in the last second; a decrease that does not lower the throttling is undone.
/// The limit never goes below one request per `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// The longest delay between request starts after a throttled answer while less than
    /// a second of successes has been seen (the success window says little yet).
    pub initial_delay: Duration,
    /// The longest delay between request starts.
    pub max_delay: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let options = ApplyOptions::default();
        assert_eq!(options.parallelism, 10);
        options.validate().unwrap();
    }

    #[test]
    fn impossible_settings_are_refused_with_the_setting_named() {
        let cases = [
            (
                ApplyOptions {
                    parallelism: 0,
                    ..ApplyOptions::default()
                },
                "`parallelism` is 0",
            ),
            (
                ApplyOptions {
                    max_rps: Some(0.0),
                    ..ApplyOptions::default()
                },
                "`max_rps` is `0`",
            ),
            (
                ApplyOptions {
                    max_rps: Some(f64::NAN),
                    ..ApplyOptions::default()
                },
                "`max_rps` is `NaN`",
            ),
            (
                ApplyOptions {
                    pacing: Pacing {
                        initial_delay: Duration::from_secs(3),
                        max_delay: Duration::from_secs(2),
                    },
                    ..ApplyOptions::default()
                },
                "pacing delays",
            ),
        ];
        for (options, expected) in cases {
            let error = options.validate().unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
    }
}
