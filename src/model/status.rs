//! A job group's run status, as `StartJobGroup` and `StopJobGroup` set it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Whether a job group runs. A new group starts `Stopped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Started with `StartJobGroup`.
    Running,
    /// Stopped with `StopJobGroup`, or never started.
    Stopped,
}

impl Status {
    /// The value as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "Running",
            Status::Stopped => "Stopped",
        }
    }

    /// The API action that brings a group to this status.
    pub fn setting_action(self) -> &'static str {
        match self {
            Status::Running => "StartJobGroup",
            Status::Stopped => "StopJobGroup",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status value the API does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported status `{0}`: expected `Running` or `Stopped`")]
pub struct StatusParseError(pub String);

impl FromStr for Status {
    type Err = StatusParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "Running" => Ok(Status::Running),
            "Stopped" => Ok(Status::Stopped),
            _ => Err(StatusParseError(text.to_owned())),
        }
    }
}

/// A job group's status as `DescribeJobGroups` reports it.
///
/// The SDK models spell the settled values `Running` and `Stopped`; the service's reference
/// pages answer in lower case and with the transitional values `starting` and `stopping`.
/// Both are read, in any case. A value neither source documents is kept as it was sent, so
/// that it is shown rather than taken for a status cityform knows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LiveStatus {
    /// `Running` or `Stopped`.
    Settled(Status),
    /// `starting` (on its way to `Running`) or `stopping` (to `Stopped`).
    Towards(Status),
    /// A value cityform does not know, as the service spelled it.
    Unknown(String),
}

impl LiveStatus {
    /// Reads a reported status; `None` when the answer had none (absent or blank).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let status = if text.eq_ignore_ascii_case("running") {
            LiveStatus::Settled(Status::Running)
        } else if text.eq_ignore_ascii_case("stopped") {
            LiveStatus::Settled(Status::Stopped)
        } else if text.eq_ignore_ascii_case("starting") {
            LiveStatus::Towards(Status::Running)
        } else if text.eq_ignore_ascii_case("stopping") {
            LiveStatus::Towards(Status::Stopped)
        } else {
            LiveStatus::Unknown(text.to_owned())
        };
        Some(status)
    }

    /// The status the group has or is on its way to; `None` for an unknown value.
    pub fn heading_to(&self) -> Option<Status> {
        match self {
            LiveStatus::Settled(status) | LiveStatus::Towards(status) => Some(*status),
            LiveStatus::Unknown(_) => None,
        }
    }

    /// The status a reported `text` has or is heading to, as a state records it; `None`
    /// when the answer had none or one cityform does not know.
    pub fn heading_to_of(text: &str) -> Option<Status> {
        Self::parse(text).and_then(|status| status.heading_to())
    }

    /// Whether the group has settled at `status`.
    pub fn is_settled_at(&self, status: Status) -> bool {
        *self == LiveStatus::Settled(status)
    }
}

impl fmt::Display for LiveStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveStatus::Settled(status) => f.write_str(status.as_str()),
            LiveStatus::Towards(Status::Running) => f.write_str("starting"),
            LiveStatus::Towards(Status::Stopped) => f.write_str("stopping"),
            LiveStatus::Unknown(text) => f.write_str(&crate::model::printable(text)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn parses_only_the_api_spelling() {
        assert_eq!("Running".parse::<Status>(), Ok(Status::Running));
        assert_eq!("Stopped".parse::<Status>(), Ok(Status::Stopped));
        assert!("running".parse::<Status>().is_err());
        assert_eq!(Status::Stopped.to_string(), "Stopped");
    }

    #[test]
    fn live_statuses_are_read_in_any_case_with_the_transitional_values() {
        let cases = [
            ("Running", LiveStatus::Settled(Status::Running)),
            ("running", LiveStatus::Settled(Status::Running)),
            ("STOPPED", LiveStatus::Settled(Status::Stopped)),
            ("stopped", LiveStatus::Settled(Status::Stopped)),
            ("starting", LiveStatus::Towards(Status::Running)),
            ("Stopping", LiveStatus::Towards(Status::Stopped)),
            ("Paused", LiveStatus::Unknown("Paused".into())),
        ];
        for (text, expected) in cases {
            assert_eq!(LiveStatus::parse(text), Some(expected), "{text}");
        }
        assert_eq!(LiveStatus::parse(""), None);
        assert_eq!(LiveStatus::parse("  "), None);
    }

    #[test]
    fn a_live_status_says_where_it_is_heading() {
        let starting = LiveStatus::parse("starting").unwrap();
        assert_eq!(starting.heading_to(), Some(Status::Running));
        assert!(!starting.is_settled_at(Status::Running));
        assert_eq!(starting.to_string(), "starting");
        let unknown = LiveStatus::parse("Paused").unwrap();
        assert_eq!(unknown.heading_to(), None);
        assert_eq!(unknown.to_string(), "Paused");
        assert!(
            LiveStatus::parse("running")
                .unwrap()
                .is_settled_at(Status::Running)
        );
    }
}
