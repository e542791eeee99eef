//! An apply as it runs and when it ends, for people and programs: one line per event that
//! is worth a line, the summary after the last one, and both as JSON lines with
//! `--format json` (`docs/json-output.md`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::apply::{
    ActionFailure, ApplyEvent, ApplyReport, CallRetries, ChangeKind, NotAppliedKind,
};
use crate::model::{Address, Status, printable};
use crate::state::journal::Operation;

/// The banner a dry run prints before and after, so nobody mistakes it for an apply.
pub fn dry_run_banner() -> &'static str {
    "*** DRY RUN: no API call is made and the state is not written. ***"
}

/// The line an event prints, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLine {
    /// The text, without a newline.
    pub text: String,
    /// Printed above a progress bar too: a result. Otherwise only where there is no bar: an
    /// action under way, which the bar's message names instead.
    pub beside_bar: bool,
}

impl EventLine {
    fn always(text: String) -> Option<Self> {
        Some(Self {
            text,
            beside_bar: true,
        })
    }

    fn without_bar(text: String) -> Option<Self> {
        Some(Self {
            text,
            beside_bar: false,
        })
    }
}

/// Whether `event` finishes an action, which the progress bar counts.
pub fn finishes_an_action(event: &ApplyEvent) -> bool {
    matches!(
        event,
        ApplyEvent::Created { .. }
            | ApplyEvent::Updated { .. }
            | ApplyEvent::StatusChanged { .. }
            | ApplyEvent::Protected { .. }
            | ApplyEvent::Deleted { .. }
            | ApplyEvent::Recovered { .. }
            | ApplyEvent::Recorded { .. }
            | ApplyEvent::Failed { .. }
    )
}

/// The line `event` prints as text, if any.
pub fn event_line(event: &ApplyEvent) -> Option<EventLine> {
    match event {
        ApplyEvent::Resolving { count, instances } => EventLine::always(format!(
            "Resolving {count} call(s) an earlier run left unfinished, by listing {instances} instance(s)..."
        )),
        ApplyEvent::Settled { address, operation } => EventLine::always(format!(
            "{address}: the unfinished {} of an earlier run is settled",
            match operation {
                Operation::Create => "create",
                Operation::Update => "update",
                Operation::Delete => "delete",
            }
        )),
        ApplyEvent::Starting { address, action } => {
            EventLine::without_bar(format!("{address}: {}...", progressive(*action)))
        }
        ApplyEvent::Created {
            address,
            job_group_id,
            elapsed,
            retries,
            ..
        } => EventLine::always(format!(
            "{address}: created after {}{} [id={job_group_id}]",
            seconds(*elapsed),
            retry_note(*retries)
        )),
        ApplyEvent::Updated {
            address,
            job_group_id,
            attributes,
            elapsed,
            retries,
            ..
        } => EventLine::always(format!(
            "{address}: updated {} after {}{} [id={job_group_id}]",
            attributes.join(", "),
            seconds(*elapsed),
            retry_note(*retries)
        )),
        ApplyEvent::StatusChanged {
            address,
            job_group_id,
            status,
            retries,
            ..
        } => {
            let verb = match status {
                Status::Running => "started",
                Status::Stopped => "stopped",
            };
            EventLine::always(format!(
                "{address}: {verb}{} [id={job_group_id}]",
                retry_note(*retries)
            ))
        }
        ApplyEvent::Waiting {
            address,
            status,
            observed,
            ..
        } => EventLine::without_bar(format!(
            "{address}: waiting until {} (now {})",
            status.as_str().to_lowercase(),
            observed.as_deref().unwrap_or(NOT_SEEN_YET)
        )),
        ApplyEvent::Ready {
            address,
            job_group_id,
            status,
            waited,
        } => EventLine::always(format!(
            "{address}: {} after {} [id={job_group_id}]",
            status.as_str().to_lowercase(),
            seconds(*waited)
        )),
        ApplyEvent::Protected {
            address,
            prevent_destroy,
        } => EventLine::always(format!(
            "{address}: preventDestroy = {prevent_destroy} recorded (nothing was sent)"
        )),
        ApplyEvent::Deleted {
            address,
            job_group_id,
            already_gone: true,
            ..
        } => EventLine::always(format!(
            "{address}: already deleted outside cityform; removed from the state [id={job_group_id}]"
        )),
        ApplyEvent::Deleted {
            address,
            job_group_id,
            retries,
            ..
        } => EventLine::always(format!(
            "{address}: deleted{} [id={job_group_id}]",
            retry_note(*retries)
        )),
        ApplyEvent::Recovered {
            address,
            job_group_id,
            reason,
        } => EventLine::always(format!(
            "{address}: recovered [id={job_group_id}] ({reason})"
        )),
        ApplyEvent::Recorded {
            address,
            job_group_id,
            action,
            from,
        } => EventLine::always(match (action, from) {
            (ChangeKind::Move, Some(from)) => format!(
                "{address}: moved in the state from `{from}` (nothing was sent) [id={job_group_id}]"
            ),
            (ChangeKind::Import, _) => format!(
                "{address}: imported into the state (nothing was created) [id={job_group_id}]"
            ),
            (ChangeKind::Forget, _) => format!(
                "{address}: forgotten by the state; it keeps running in the service [id={job_group_id}]"
            ),
            (action, _) => format!("{address}: {} [id={job_group_id}]", done(*action)),
        }),
        ApplyEvent::Failed { failure } => EventLine::always(failure_line(failure)),
        ApplyEvent::NotApplied { address, kind } => EventLine::always(match kind {
            NotAppliedKind::Orphan => format!(
                "{address}: orphaned (in the state, in no manifest): left alone; `--prune` deletes it"
            ),
        }),
        ApplyEvent::WouldCreate { address } => {
            EventLine::always(format!("{address}: would be created (dry run)"))
        }
        ApplyEvent::WouldChange { address, action } => {
            EventLine::always(format!("{address}: would be {} (dry run)", done(*action)))
        }
        ApplyEvent::Stopping { in_flight } => EventLine::always(format!(
            "Stopping: no new actions start; waiting for {in_flight} in flight to be recorded"
        )),
        ApplyEvent::Throttled { .. } => None,
    }
}

/// ` (throttled 3 times)`, ` (retried once)`, ` (retried 4 times, throttled 3 times)`, or
/// nothing for a call that went through at its first attempt: why a result took long.
pub fn retry_note(retries: CallRetries) -> String {
    let CallRetries { retried, throttled } = retries;
    if retried == 0 && throttled == 0 {
        String::new()
    } else if retried == throttled {
        format!(" (throttled {})", times(throttled))
    } else if throttled == 0 {
        format!(" (retried {})", times(retried))
    } else {
        format!(
            " (retried {}, throttled {})",
            times(retried),
            times(throttled)
        )
    }
}

/// `once`, `3 times`.
fn times(count: u32) -> String {
    if count == 1 {
        "once".to_owned()
    } else {
        format!("{count} times")
    }
}

/// What a group waited for was last seen as, before it was seen at all.
pub const NOT_SEEN_YET: &str = "not seen yet";

/// At most this many groups are named in the progress bar's message; the rest are counted.
const NAMED_IN_FLIGHT: usize = 3;

/// What the progress bar says beside the count: the groups whose calls are in flight (by
/// name, the first few), the groups waited for by the status each was seen in last, and the
/// run-wide pacing while the service throttles. For example
/// `creating cam-01, cam-02, updating cam-09 +4 more; waiting: 2 starting; throttled: requests 120ms apart`.
pub fn progress_message(
    in_flight: &BTreeMap<Address, ChangeKind>,
    waiting: &BTreeMap<Address, String>,
    pacing: Option<Duration>,
) -> String {
    let mut parts = Vec::new();
    if !in_flight.is_empty() {
        let mut named = String::new();
        let mut last_action = None;
        for (address, action) in in_flight.iter().take(NAMED_IN_FLIGHT) {
            if !named.is_empty() {
                named.push_str(", ");
            }
            if last_action != Some(*action) {
                named.push_str(progressive(*action));
                named.push(' ');
                last_action = Some(*action);
            }
            named.push_str(&printable(&address.name));
        }
        if in_flight.len() > NAMED_IN_FLIGHT {
            let _ = write!(named, " +{} more", in_flight.len() - NAMED_IN_FLIGHT);
        }
        parts.push(named);
    }
    if !waiting.is_empty() {
        let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
        for status in waiting.values() {
            *by_status.entry(status).or_default() += 1;
        }
        let counts: Vec<String> = by_status
            .iter()
            .map(|(status, count)| format!("{count} {status}"))
            .collect();
        parts.push(format!("waiting: {}", counts.join(", ")));
    }
    if let Some(delay) = pacing {
        parts.push(format!("throttled: requests {}ms apart", delay.as_millis()));
    }
    parts.join("; ")
}

#[derive(Serialize)]
struct SummaryEvent<'a> {
    event: &'static str,
    #[serde(flatten)]
    report: &'a ApplyReport,
}

/// The `summary` JSON line that ends `--format json` output.
pub fn summary_json(report: &ApplyReport) -> serde_json::Result<String> {
    serde_json::to_string(&SummaryEvent {
        event: "summary",
        report,
    })
}

/// What a finished run prints after its last event: every failure, then one sentence of
/// counts (and the dry run's banner), ending in a newline.
pub fn summary_text(report: &ApplyReport) -> String {
    let mut text = String::new();
    if !report.failed.is_empty() {
        text.push_str("\nFailures:\n");
        for failure in &report.failed {
            let _ = writeln!(text, "  {}", failure_line(failure));
        }
    }
    text.push('\n');
    if report.dry_run {
        let changed = if report.would_change.is_empty() {
            String::new()
        } else {
            format!(", {} would be changed", report.would_change.len())
        };
        let _ = writeln!(
            text,
            "Dry run complete: {} would be created{changed}. Nothing was sent and the state was not written.",
            report.would_create.len()
        );
        let _ = writeln!(text, "{}", dry_run_banner());
        return text;
    }
    let counts = counts(report);
    if report.interrupted {
        let _ = writeln!(
            text,
            "Apply interrupted: {counts}, {} not started. Run apply again to finish.",
            report.not_started.len()
        );
    } else {
        let _ = writeln!(text, "Apply complete: {counts}.");
    }
    if !report.not_applied.is_empty() {
        let _ = writeln!(
            text,
            "{} orphan(s) left alone: deleting takes `--prune`.",
            report.not_applied.len()
        );
    }
    text
}

/// `5 created, 1 updated, 0 recovered, 0 failed`: kinds of change appear when there are any.
pub(super) fn counts(report: &ApplyReport) -> String {
    let mut parts = vec![format!("{} created", report.created.len())];
    let optional = [
        (report.updated.len(), "updated"),
        (report.status_changed.len(), "started or stopped"),
        (report.protected.len(), "protection(s) recorded"),
        (report.deleted.len(), "deleted"),
        (count_of(report, ChangeKind::Move), "moved"),
        (count_of(report, ChangeKind::Import), "imported"),
        (count_of(report, ChangeKind::Forget), "forgotten"),
    ];
    for (count, what) in optional {
        if count > 0 {
            parts.push(format!("{count} {what}"));
        }
    }
    parts.push(format!("{} recovered", report.recovered.len()));
    parts.push(format!("{} failed", report.failed.len()));
    parts.join(", ")
}

/// How many changes of what the state records were of `action`.
fn count_of(report: &ApplyReport, action: ChangeKind) -> usize {
    report
        .recorded
        .iter()
        .filter(|change| change.action == action)
        .count()
}

/// `1.25s`: a duration as the lines show it.
fn seconds(duration: Duration) -> String {
    format!("{:.2}s", duration.as_secs_f64())
}

/// `creating`, `updating`, ...: an action under way.
fn progressive(action: ChangeKind) -> &'static str {
    match action {
        ChangeKind::Create => "creating",
        ChangeKind::Update => "updating",
        ChangeKind::Start => "starting",
        ChangeKind::Stop => "stopping",
        ChangeKind::Protect => "recording its protection",
        ChangeKind::Delete => "deleting",
        ChangeKind::Move => "moving it in the state",
        ChangeKind::Import => "importing",
        ChangeKind::Forget => "forgetting",
    }
}

/// `created`, `updated`, ...: an action done.
pub(super) fn done(action: ChangeKind) -> &'static str {
    match action {
        ChangeKind::Create => "created",
        ChangeKind::Update => "updated in place",
        ChangeKind::Start => "started",
        ChangeKind::Stop => "stopped",
        ChangeKind::Protect => "given a new recorded protection",
        ChangeKind::Delete => "deleted",
        ChangeKind::Move => "moved in the state",
        ChangeKind::Import => "imported",
        ChangeKind::Forget => "forgotten by the state",
    }
}

fn failure_line(failure: &ActionFailure) -> String {
    let what = match failure.action {
        ChangeKind::Create => "failed",
        ChangeKind::Update => "update failed",
        ChangeKind::Start => "start failed",
        ChangeKind::Stop => "stop failed",
        ChangeKind::Protect => "recording the protection failed",
        ChangeKind::Delete => "delete failed",
        ChangeKind::Move => "move failed",
        ChangeKind::Import => "import failed",
        ChangeKind::Forget => "forgetting failed",
    };
    let mut line = format!("{}: {what}: {}", failure.address, failure.message);
    if let Some(hint) = &failure.hint {
        line.push_str("\n    hint: ");
        line.push_str(hint);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{FailureReason, RecoveryReason};
    use crate::cloud::ErrorClass;

    fn address(name: &str) -> Address {
        Address::new("cn-shanghai", "cityvisual-Instance", name)
    }

    #[test]
    fn the_bar_names_the_groups_in_flight_and_counts_those_waited_for() {
        let mut in_flight = BTreeMap::new();
        let mut waiting = BTreeMap::new();
        assert_eq!(progress_message(&in_flight, &waiting, None), "");
        in_flight.insert(address("cam-01"), ChangeKind::Create);
        assert_eq!(
            progress_message(&in_flight, &waiting, None),
            "creating cam-01"
        );
        in_flight.insert(address("cam-02"), ChangeKind::Create);
        in_flight.insert(address("cam-03"), ChangeKind::Update);
        in_flight.insert(address("cam-04"), ChangeKind::Update);
        in_flight.insert(address("cam-05"), ChangeKind::Delete);
        waiting.insert(address("a"), "starting".to_owned());
        waiting.insert(address("b"), "starting".to_owned());
        waiting.insert(address("c"), "stopping".to_owned());
        waiting.insert(address("d"), NOT_SEEN_YET.to_owned());
        assert_eq!(
            progress_message(&in_flight, &waiting, Some(Duration::from_millis(120))),
            "creating cam-01, cam-02, updating cam-03 +2 more; waiting: 1 not seen yet, 2 starting, 1 stopping; throttled: requests 120ms apart"
        );
    }

    #[test]
    fn retries_and_throttling_are_said_as_such() {
        let note = |retried, throttled| retry_note(CallRetries { retried, throttled });
        assert_eq!(note(0, 0), "");
        assert_eq!(note(3, 3), " (throttled 3 times)");
        assert_eq!(note(1, 1), " (throttled once)");
        assert_eq!(note(1, 0), " (retried once)");
        assert_eq!(note(2, 0), " (retried 2 times)");
        assert_eq!(note(4, 3), " (retried 4 times, throttled 3 times)");
    }

    #[test]
    fn a_result_is_printed_above_the_bar_and_an_action_under_way_only_without_one() {
        let created = ApplyEvent::Created {
            address: address("a"),
            job_group_id: "7".into(),
            request_id: "R".into(),
            elapsed: Duration::from_millis(1250),
            retries: CallRetries::default(),
        };
        assert!(finishes_an_action(&created));
        assert_eq!(
            event_line(&created),
            Some(EventLine {
                text: "cn-shanghai/cityvisual-Instance/a: created after 1.25s [id=7]".into(),
                beside_bar: true,
            })
        );
        let starting = ApplyEvent::Starting {
            address: address("a"),
            action: ChangeKind::Create,
        };
        assert!(!finishes_an_action(&starting));
        assert_eq!(
            event_line(&starting).map(|line| line.beside_bar),
            Some(false)
        );
        let throttled = ApplyEvent::Throttled {
            delay: Duration::from_millis(40),
        };
        assert!(!finishes_an_action(&throttled));
        assert_eq!(event_line(&throttled), None);
    }

    /// Every event that prints a line, as a run without a terminal prints it.
    #[test]
    fn event_lines() {
        let retried = CallRetries {
            retried: 3,
            throttled: 3,
        };
        let events = vec![
            ApplyEvent::Starting {
                address: address("cam-01"),
                action: ChangeKind::Create,
            },
            ApplyEvent::Created {
                address: address("cam-01"),
                job_group_id: "1".into(),
                request_id: "R-1".into(),
                elapsed: Duration::from_millis(20),
                retries: CallRetries::default(),
            },
            ApplyEvent::Updated {
                address: address("cam-09"),
                job_group_id: "9".into(),
                attributes: vec!["planedJobCount".into()],
                elapsed: Duration::from_millis(6010),
                request_id: "R-2".into(),
                retries: retried,
            },
            ApplyEvent::StatusChanged {
                address: address("cam-01"),
                job_group_id: "1".into(),
                status: Status::Running,
                request_id: "R-3".into(),
                retries: CallRetries {
                    retried: 1,
                    throttled: 0,
                },
            },
            ApplyEvent::Waiting {
                address: address("cam-01"),
                job_group_id: "1".into(),
                status: Status::Running,
                observed: Some("starting".into()),
            },
            ApplyEvent::Ready {
                address: address("cam-01"),
                job_group_id: "1".into(),
                status: Status::Running,
                waited: Duration::from_millis(1500),
            },
            ApplyEvent::Deleted {
                address: address("cam-07"),
                job_group_id: "7".into(),
                request_id: "R-4".into(),
                already_gone: false,
                retries: CallRetries {
                    retried: 4,
                    throttled: 3,
                },
            },
            ApplyEvent::Recovered {
                address: address("cam-02"),
                job_group_id: "2".into(),
                reason: RecoveryReason::LostAnswer,
            },
            ApplyEvent::Failed {
                failure: ActionFailure {
                    address: address("cam-03"),
                    action: ChangeKind::Create,
                    reason: FailureReason::GaveUp,
                    class: ErrorClass::Retryable,
                    code: Some("Throttling.User".into()),
                    message: "CreateJobGroup cam-03: Throttling.User (400) after 6 attempts".into(),
                    request_id: None,
                    hint: None,
                },
            },
        ];
        let lines: Vec<String> = events
            .iter()
            .filter_map(event_line)
            .map(|line| {
                let shown = if line.beside_bar { "bar " } else { "    " };
                format!("{shown}| {}", line.text)
            })
            .collect();
        insta::assert_snapshot!(lines.join("\n"));
    }

    #[test]
    fn an_interrupted_run_says_what_was_not_started() {
        let report = ApplyReport {
            not_started: vec![address("a"), address("b")],
            interrupted: true,
            ..ApplyReport::default()
        };
        assert_eq!(
            summary_text(&report),
            "\nApply interrupted: 0 created, 0 recovered, 0 failed, 2 not started. Run apply again to finish.\n"
        );
    }
}
