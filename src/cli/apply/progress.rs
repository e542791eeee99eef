//! What `apply` prints while it runs: a live progress bar on a terminal, one line per
//! action otherwise, or one JSON event per line with `--format json`.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::apply::{ActionFailure, ApplyEvent, ApplyReport, ChangeKind, NotAppliedKind};
use crate::model::{Address, Status};
use crate::render::Format;
use crate::state::journal::Operation;

/// The banner a dry run prints before and after, so nobody mistakes it for an apply.
pub fn dry_run_banner() -> &'static str {
    "*** DRY RUN: no API call is made and the state is not written. ***"
}

/// Turns events into output. Cheap to clone: the progress bar is shared.
#[derive(Clone)]
pub struct Renderer {
    mode: Mode,
    bar: ProgressBar,
    /// The groups waited for, with the status each was seen in last.
    waiting: Arc<Mutex<BTreeMap<Address, String>>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Json,
    Lines,
    Bar,
}

#[derive(Serialize)]
struct SummaryEvent<'a> {
    event: &'static str,
    #[serde(flatten)]
    report: &'a ApplyReport,
}

impl Renderer {
    pub fn new(format: Format) -> Self {
        let terminal = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let mode = match format {
            Format::Json => Mode::Json,
            _ if terminal => Mode::Bar,
            _ => Mode::Lines,
        };
        let bar = if mode == Mode::Bar {
            ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        Self {
            mode,
            bar,
            waiting: Arc::default(),
        }
    }

    /// Shows the bar for `total` actions.
    pub fn start(&self, total: usize) {
        if self.mode != Mode::Bar {
            return;
        }
        self.bar.set_length(total as u64);
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} done ({per_sec}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        self.bar.set_style(style);
        self.bar.enable_steady_tick(Duration::from_millis(120));
    }

    /// Prints every event until the run drops its sender.
    pub async fn consume(self, mut receiver: mpsc::Receiver<ApplyEvent>) {
        while let Some(event) = receiver.recv().await {
            self.event(&event);
        }
    }

    fn line(&self, text: &str) {
        match self.mode {
            Mode::Bar => self.bar.println(text),
            _ => {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{text}");
            }
        }
    }

    fn event(&self, event: &ApplyEvent) {
        if self.mode == Mode::Json {
            if let Ok(json) = serde_json::to_string(event) {
                self.line(&json);
            }
            return;
        }
        match event {
            ApplyEvent::Resolving { count, instances } => self.line(&format!(
                "Resolving {count} call(s) an earlier run left unfinished, by listing {instances} instance(s)..."
            )),
            ApplyEvent::Settled { address, operation } => self.line(&format!(
                "{address}: the unfinished {} of an earlier run is settled",
                match operation {
                    Operation::Create => "create",
                    Operation::Update => "update",
                    Operation::Delete => "delete",
                }
            )),
            ApplyEvent::Starting { address, action } => {
                if self.mode == Mode::Lines {
                    self.line(&format!("{address}: {}...", progressive(*action)));
                }
            }
            ApplyEvent::Created {
                address,
                job_group_id,
                elapsed,
                ..
            } => {
                self.bar.inc(1);
                if self.mode == Mode::Lines {
                    self.line(&format!(
                        "{address}: created after {:.2}s [id={job_group_id}]",
                        elapsed.as_secs_f64()
                    ));
                }
            }
            ApplyEvent::Updated {
                address,
                job_group_id,
                attributes,
                elapsed,
                ..
            } => {
                self.bar.inc(1);
                if self.mode == Mode::Lines {
                    self.line(&format!(
                        "{address}: updated {} after {:.2}s [id={job_group_id}]",
                        attributes.join(", "),
                        elapsed.as_secs_f64()
                    ));
                }
            }
            ApplyEvent::StatusChanged {
                address,
                job_group_id,
                status,
                ..
            } => {
                self.bar.inc(1);
                if self.mode == Mode::Lines {
                    let verb = match status {
                        Status::Running => "started",
                        Status::Stopped => "stopped",
                    };
                    self.line(&format!("{address}: {verb} [id={job_group_id}]"));
                }
            }
            ApplyEvent::Waiting {
                address,
                status,
                observed,
                ..
            } => {
                let seen = observed.clone().unwrap_or_else(|| "not seen yet".to_owned());
                if self.mode == Mode::Lines {
                    self.line(&format!(
                        "{address}: waiting until {} (now {seen})",
                        status.as_str().to_lowercase()
                    ));
                }
                self.waiting_changed(|waiting| {
                    waiting.insert(address.clone(), seen);
                });
            }
            ApplyEvent::Ready {
                address,
                job_group_id,
                status,
                waited,
            } => {
                if self.mode == Mode::Lines {
                    self.line(&format!(
                        "{address}: {} after {:.2}s [id={job_group_id}]",
                        status.as_str().to_lowercase(),
                        waited.as_secs_f64()
                    ));
                }
                self.waiting_changed(|waiting| {
                    waiting.remove(address);
                });
            }
            ApplyEvent::Protected {
                address,
                prevent_destroy,
            } => {
                self.bar.inc(1);
                self.line(&format!(
                    "{address}: preventDestroy = {prevent_destroy} recorded (nothing was sent)"
                ));
            }
            ApplyEvent::Deleted {
                address,
                job_group_id,
                already_gone,
                ..
            } => {
                self.bar.inc(1);
                if *already_gone {
                    self.line(&format!(
                        "{address}: already deleted outside cityform; removed from the state [id={job_group_id}]"
                    ));
                } else if self.mode == Mode::Lines {
                    self.line(&format!("{address}: deleted [id={job_group_id}]"));
                }
            }
            ApplyEvent::Recovered {
                address,
                job_group_id,
                reason,
            } => {
                self.bar.inc(1);
                self.line(&format!("{address}: recovered [id={job_group_id}] ({reason})"));
            }
            ApplyEvent::Failed { failure } => {
                self.bar.inc(1);
                self.line(&failure_line(failure));
            }
            ApplyEvent::NotApplied { address, kind } => self.line(&match kind {
                NotAppliedKind::Orphan => format!(
                    "{address}: orphaned (in the state, in no manifest): left alone; `--prune` deletes it"
                ),
            }),
            ApplyEvent::Throttled { delay } => self.bar.set_message(format!(
                "throttled: pacing requests {}ms apart",
                delay.as_millis()
            )),
            ApplyEvent::WouldCreate { address } => {
                self.line(&format!("{address}: would be created (dry run)"));
            }
            ApplyEvent::WouldChange { address, action } => {
                self.line(&format!("{address}: would be {} (dry run)", done(*action)));
            }
            ApplyEvent::Stopping { in_flight } => self.line(&format!(
                "Stopping: no new actions start; waiting for {in_flight} in flight to be recorded"
            )),
        }
    }

    /// Changes the groups waited for, and says on the bar how many wait in each status.
    fn waiting_changed(&self, change: impl FnOnce(&mut BTreeMap<Address, String>)) {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut waiting);
        if self.mode == Mode::Bar {
            self.bar.set_message(waiting_message(&waiting));
        }
    }

    /// Clears the bar and prints the summary and every failure.
    pub fn finish(&self, report: &ApplyReport) -> std::io::Result<()> {
        self.bar.finish_and_clear();
        let mut stdout = std::io::stdout().lock();
        if self.mode == Mode::Json {
            let summary = SummaryEvent {
                event: "summary",
                report,
            };
            if let Ok(json) = serde_json::to_string(&summary) {
                writeln!(stdout, "{json}")?;
            }
            return stdout.flush();
        }
        if !report.failed.is_empty() {
            writeln!(stdout, "\nFailures:")?;
            for failure in &report.failed {
                writeln!(stdout, "  {}", failure_line(failure))?;
            }
        }
        writeln!(stdout)?;
        if report.dry_run {
            let changed = if report.would_change.is_empty() {
                String::new()
            } else {
                format!(", {} would be changed", report.would_change.len())
            };
            writeln!(
                stdout,
                "Dry run complete: {} would be created{changed}. Nothing was sent and the state was not written.",
                report.would_create.len()
            )?;
            writeln!(stdout, "{}", dry_run_banner())?;
            return stdout.flush();
        }
        let counts = counts(report);
        if report.interrupted {
            writeln!(
                stdout,
                "Apply interrupted: {counts}, {} not started. Run apply again to finish.",
                report.not_started.len()
            )?;
        } else {
            writeln!(stdout, "Apply complete: {counts}.")?;
        }
        if !report.not_applied.is_empty() {
            writeln!(
                stdout,
                "{} orphan(s) left alone: deleting takes `--prune`.",
                report.not_applied.len()
            )?;
        }
        stdout.flush()
    }
}

/// `5 created, 1 updated, 0 recovered, 0 failed`: kinds of change appear when there are any.
fn counts(report: &ApplyReport) -> String {
    let mut parts = vec![format!("{} created", report.created.len())];
    let optional = [
        (report.updated.len(), "updated"),
        (report.status_changed.len(), "started or stopped"),
        (report.protected.len(), "protection(s) recorded"),
        (report.deleted.len(), "deleted"),
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

/// `waiting: 3 starting, 1 stopping`, or nothing when no group is waited for.
fn waiting_message(waiting: &BTreeMap<Address, String>) -> String {
    if waiting.is_empty() {
        return String::new();
    }
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for status in waiting.values() {
        *by_status.entry(status).or_default() += 1;
    }
    let parts: Vec<String> = by_status
        .iter()
        .map(|(status, count)| format!("{count} {status}"))
        .collect();
    format!("waiting: {}", parts.join(", "))
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
    }
}

/// `created`, `updated`, ...: an action done.
fn done(action: ChangeKind) -> &'static str {
    match action {
        ChangeKind::Create => "created",
        ChangeKind::Update => "updated in place",
        ChangeKind::Start => "started",
        ChangeKind::Stop => "stopped",
        ChangeKind::Protect => "given a new recorded protection",
        ChangeKind::Delete => "deleted",
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

    fn address(name: &str) -> Address {
        Address::new("cn-shanghai", "cityvisual-Instance", name)
    }

    #[test]
    fn the_bar_counts_the_groups_waiting_in_each_status() {
        let mut waiting = BTreeMap::new();
        assert_eq!(waiting_message(&waiting), "");
        waiting.insert(address("a"), "starting".to_owned());
        waiting.insert(address("b"), "starting".to_owned());
        waiting.insert(address("c"), "stopping".to_owned());
        waiting.insert(address("d"), "not seen yet".to_owned());
        assert_eq!(
            waiting_message(&waiting),
            "waiting: 1 not seen yet, 2 starting, 1 stopping"
        );
    }
}
