//! Where `apply`'s output goes while it runs: on a terminal, one line per result printed above
//! a live progress bar that names the groups in flight; otherwise one line per action as it
//! starts and ends; or one JSON event per line with `--format json`. What each line says is
//! [`crate::render::apply_text`]'s.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use tokio::sync::mpsc;

use crate::apply::{ApplyEvent, ApplyReport, ChangeKind};
use crate::model::Address;
use crate::render::{Format, apply_text};

/// Turns events into output. Cheap to clone: the progress bar is shared.
#[derive(Clone)]
pub struct Renderer {
    mode: Mode,
    bar: ProgressBar,
    /// What the bar's message says.
    activity: Arc<Mutex<Activity>>,
}

/// What is going on now, as the bar's message says it.
#[derive(Default)]
struct Activity {
    /// The groups whose call is in flight, with what it does.
    in_flight: BTreeMap<Address, ChangeKind>,
    /// The groups waited for, with the status each was seen in last.
    waiting: BTreeMap<Address, String>,
    /// The run-wide delay between requests since the service last throttled; dropped once an
    /// action goes through without being throttled.
    pacing: Option<Duration>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Json,
    Lines,
    Bar,
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
            activity: Arc::default(),
        }
    }

    /// Shows the bar for `total` actions.
    pub fn start(&self, total: usize) {
        if self.mode != Mode::Bar {
            return;
        }
        self.bar.set_length(total as u64);
        // Every field but the message keeps its width, so the bar does not move as the count,
        // the rate and the message change; the message fills (or is cut to) the rest.
        let digits = total.to_string().len();
        let template = format!(
            "{{spinner}} [{{elapsed_precise}}] {{bar:30}} {{pos:>{digits}}}/{{len}} done ({{rate:>5}}) {{wide_msg}}"
        );
        let style = ProgressStyle::with_template(&template)
            .map(|style| style.with_key("rate", whole_rate))
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
        // The line first: a result is printed above the bar before the bar counts it.
        if let Some(line) = apply_text::event_line(event)
            && (line.beside_bar || self.mode == Mode::Lines)
        {
            self.line(&line.text);
        }
        if apply_text::finishes_an_action(event) {
            self.bar.inc(1);
        }
        if self.mode == Mode::Bar {
            self.follow(event);
        }
    }

    /// Keeps the bar's message up to date with what `event` says is going on.
    fn follow(&self, event: &ApplyEvent) {
        let mut activity = self.activity.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            ApplyEvent::Starting { address, action } => {
                activity.in_flight.insert(address.clone(), *action);
            }
            ApplyEvent::Waiting {
                address, observed, ..
            } => {
                let seen = observed.as_deref().unwrap_or(apply_text::NOT_SEEN_YET);
                activity.waiting.insert(address.clone(), seen.to_owned());
            }
            ApplyEvent::Ready { address, .. } => {
                activity.waiting.remove(address);
            }
            ApplyEvent::Throttled { delay } => activity.pacing = Some(*delay),
            ApplyEvent::Created {
                address, retries, ..
            }
            | ApplyEvent::Updated {
                address, retries, ..
            }
            | ApplyEvent::StatusChanged {
                address, retries, ..
            }
            | ApplyEvent::Deleted {
                address, retries, ..
            } => {
                activity.in_flight.remove(address);
                if retries.throttled == 0 {
                    activity.pacing = None;
                }
            }
            ApplyEvent::Failed { failure } => {
                activity.in_flight.remove(&failure.address);
                activity.waiting.remove(&failure.address);
            }
            ApplyEvent::Recovered { address, .. }
            | ApplyEvent::Recorded { address, .. }
            | ApplyEvent::Protected { address, .. } => {
                activity.in_flight.remove(address);
            }
            _ => return,
        }
        self.bar.set_message(apply_text::progress_message(
            &activity.in_flight,
            &activity.waiting,
            activity.pacing,
        ));
    }

    /// Clears the bar (the results stay above it) and prints the summary and every failure.
    pub fn finish(&self, report: &ApplyReport) -> std::io::Result<()> {
        self.bar.finish_and_clear();
        let mut stdout = std::io::stdout().lock();
        if self.mode == Mode::Json {
            if let Ok(json) = apply_text::summary_json(report) {
                writeln!(stdout, "{json}")?;
            }
        } else {
            stdout.write_all(apply_text::summary_text(report).as_bytes())?;
        }
        stdout.flush()
    }
}

/// The rate as a whole number of actions a second: a fraction changes the field's width at
/// every redraw and says nothing a reviewer needs.
fn whole_rate(state: &ProgressState, out: &mut dyn std::fmt::Write) {
    let _ = write!(out, "{:.0}/s", state.per_sec());
}
