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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_the_api_spelling() {
        assert_eq!("Running".parse::<Status>(), Ok(Status::Running));
        assert_eq!("Stopped".parse::<Status>(), Ok(Status::Stopped));
        assert!("running".parse::<Status>().is_err());
        assert_eq!(Status::Stopped.to_string(), "Stopped");
    }
}
