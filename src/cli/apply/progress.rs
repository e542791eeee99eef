//! Where `apply`'s output goes while it runs: a live progress bar on a terminal, one line per
//! action otherwise, or one JSON event per line with `--format json`. What each line says is
//! [`crate::render::apply_text`]'s.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

use crate::apply::{ApplyEvent, ApplyReport};
use crate::model::Address;
use crate::render::{Format, apply_text};

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
        if apply_text::finishes_an_action(event) {
            self.bar.inc(1);
        }
        match event {
            ApplyEvent::Waiting {
                address, observed, ..
            } => {
                let seen = observed.as_deref().unwrap_or(apply_text::NOT_SEEN_YET);
                self.waiting_changed(|waiting| {
                    waiting.insert(address.clone(), seen.to_owned());
                });
            }
            ApplyEvent::Ready { address, .. } => self.waiting_changed(|waiting| {
                waiting.remove(address);
            }),
            ApplyEvent::Throttled { delay } => {
                self.bar.set_message(apply_text::throttled_message(*delay));
            }
            _ => {}
        }
        if let Some(line) = apply_text::event_line(event)
            && (line.beside_bar || self.mode == Mode::Lines)
        {
            self.line(&line.text);
        }
    }

    /// Changes the groups waited for, and says on the bar how many wait in each status.
    fn waiting_changed(&self, change: impl FnOnce(&mut BTreeMap<Address, String>)) {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut waiting);
        if self.mode == Mode::Bar {
            self.bar.set_message(apply_text::waiting_message(&waiting));
        }
    }

    /// Clears the bar and prints the summary and every failure.
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
