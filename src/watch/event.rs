//! What a continuous reconcile tells its reader, one JSON object per line
//! (`docs/watch.md`).

use std::collections::BTreeSet;

use serde::Serialize;

use super::Mode;
use crate::model::Address;
use crate::plan::Summary;

/// One event of a watch, tagged by `event`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A round begins.
    RoundStarted {
        /// The round's number, from 1.
        round: u64,
        /// What the round does.
        mode: Mode,
    },
    /// A round ended without an error.
    RoundFinished {
        /// The round's number.
        round: u64,
        /// What the round did.
        mode: Mode,
        /// How long it took, in seconds.
        duration_seconds: f64,
        /// The counts of the plan the round computed.
        summary: Summary,
        /// Whether the round stopped starting actions because it was asked to stop.
        interrupted: bool,
    },
    /// The set of groups with pending changes was empty and is not any more.
    DriftDetected {
        /// The round that found it.
        round: u64,
        /// The groups with pending changes.
        groups: Vec<String>,
    },
    /// The set of groups with pending changes became empty.
    DriftCleared {
        /// The round that found it empty.
        round: u64,
    },
    /// A round failed; the next one is retried after a back-off.
    RoundFailed {
        /// The round's number.
        round: u64,
        /// What went wrong.
        error: String,
        /// Seconds until the next round.
        retry_in_seconds: f64,
    },
}

/// The addresses of `groups`, as events name them.
pub(super) fn named(groups: &BTreeSet<Address>) -> Vec<String> {
    groups.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_json_lines() {
        let started = Event::RoundStarted {
            round: 1,
            mode: Mode::Detect,
        };
        insta::assert_snapshot!(
            serde_json::to_string(&started).unwrap(),
            @r#"{"event":"round_started","round":1,"mode":"detect"}"#
        );
        let failed = Event::RoundFailed {
            round: 2,
            error: "boom".into(),
            retry_in_seconds: 1.0,
        };
        insta::assert_snapshot!(
            serde_json::to_string(&failed).unwrap(),
            @r#"{"event":"round_failed","round":2,"error":"boom","retry_in_seconds":1.0}"#
        );
    }
}
