//! What `apply` prints while it runs: a live progress bar on a terminal, one line per
//! action otherwise, or one JSON event per line with `--format json`.

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::apply::{ActionFailure, ApplyEvent, ApplyReport, NotAppliedKind};
use crate::render::Format;

/// The banner a dry run prints before and after, so nobody mistakes it for an apply.
pub fn dry_run_banner() -> &'static str {
    "*** DRY RUN: no API call is made and the state is not written. ***"
}

/// Turns events into output. Cheap to clone: the progress bar is shared.
#[derive(Clone)]
pub struct Renderer {
    mode: Mode,
    bar: ProgressBar,
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
        Self { mode, bar }
    }

    /// Shows the bar for `total` creates.
    pub fn start(&self, total: usize) {
        if self.mode != Mode::Bar {
            return;
        }
        self.bar.set_length(total as u64);
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} created ({per_sec}) {msg}",
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
            ApplyEvent::Settled { address, .. } => self.line(&format!(
                "{address}: an unfinished call of an earlier run changed nothing"
            )),
            ApplyEvent::Starting { address } => {
                if self.mode == Mode::Lines {
                    self.line(&format!("{address}: creating..."));
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
                NotAppliedKind::Update => format!(
                    "{address}: update not applied: this version of cityform creates job groups but does not modify them yet"
                ),
                NotAppliedKind::Orphan => {
                    format!("{address}: orphaned (in the state, in no manifest): left alone")
                }
                NotAppliedKind::Status => format!(
                    "{address}: start/stop not applied: this version of cityform does not start or stop job groups yet"
                ),
                NotAppliedKind::Protect => format!(
                    "{address}: preventDestroy change not recorded: this version of cityform does not record it yet"
                ),
                NotAppliedKind::Delete => format!(
                    "{address}: delete not applied: this version of cityform does not delete job groups yet"
                ),
            }),
            ApplyEvent::Throttled { delay } => self.bar.set_message(format!(
                "throttled: pacing requests {}ms apart",
                delay.as_millis()
            )),
            ApplyEvent::WouldCreate { address } => {
                self.line(&format!("{address}: would be created (dry run)"));
            }
            ApplyEvent::Stopping { in_flight } => self.line(&format!(
                "Stopping: no new actions start; waiting for {in_flight} in flight to be recorded"
            )),
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
            writeln!(
                stdout,
                "Dry run complete: {} would be created. Nothing was sent and the state was not written.",
                report.would_create.len()
            )?;
            writeln!(stdout, "{}", dry_run_banner())?;
            return stdout.flush();
        }
        let counts = format!(
            "{} created, {} recovered, {} failed",
            report.created.len(),
            report.recovered.len(),
            report.failed.len()
        );
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
                "{} planned update(s) or orphan(s) were not applied.",
                report.not_applied.len()
            )?;
        }
        stdout.flush()
    }
}

fn failure_line(failure: &ActionFailure) -> String {
    let mut line = format!("{}: failed: {}", failure.address, failure.message);
    if let Some(hint) = &failure.hint {
        line.push_str("\n    hint: ");
        line.push_str(hint);
    }
    line
}
