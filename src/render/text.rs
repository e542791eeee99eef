//! The plan as terminal text, in the shape Terraform users already read at a glance.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::{display_value, summary_line};
use crate::model::{JobGroupSpec, Status};
use crate::plan::{Action, AttributeChange, Plan};

/// Whether to colour the output; decided by the caller from the terminal and `NO_COLOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// ANSI colours.
    Always,
    /// Plain text.
    Never,
}

struct Painter {
    color: Color,
}

impl Painter {
    fn paint(&self, color: AnsiColor, text: &str) -> String {
        match self.color {
            Color::Never => text.to_owned(),
            Color::Always => {
                let style = Style::new().fg_color(Some(color.into()));
                format!("{style}{text}{style:#}")
            }
        }
    }

    fn bold(&self, text: &str) -> String {
        match self.color {
            Color::Never => text.to_owned(),
            Color::Always => {
                let style = Style::new().bold();
                format!("{style}{text}{style:#}")
            }
        }
    }
}

/// Renders a plan. The last line is the summary, or `No changes.` when there is nothing to do.
pub fn render_plan(plan: &Plan, color: Color) -> String {
    let painter = Painter { color };
    let mut out = String::new();
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "{} The job groups match the manifests ({} unchanged).",
            painter.bold("No changes."),
            plan.unchanged
        );
        return out;
    }
    out.push_str("cityform will perform the following actions:\n");
    for action in &plan.actions {
        out.push('\n');
        render_action(&mut out, action, &painter);
    }
    let summary = plan.summary();
    let _ = writeln!(
        out,
        "\n{} {} unchanged.",
        painter.bold(&summary_line(&summary)),
        summary.unchanged
    );
    out
}

fn render_action(out: &mut String, action: &Action, painter: &Painter) {
    match action {
        Action::Create {
            address,
            spec,
            source,
            replaces_id,
            ..
        } => {
            let why = replaces_id.as_ref().map_or(String::new(), |id| {
                format!(": it was deleted outside cityform (id {id} no longer exists)")
            });
            let _ = writeln!(
                out,
                "  # {} will be created{why} {}",
                painter.bold(&address.to_string()),
                painter.paint(AnsiColor::BrightBlack, &format!("({source})"))
            );
            let _ = writeln!(
                out,
                "  {} job_group \"{address}\" {{",
                painter.paint(AnsiColor::Green, "+")
            );
            render_spec(out, spec, "+", AnsiColor::Green, painter);
            out.push_str("    }\n");
        }
        Action::Update {
            address,
            job_group_id,
            changes,
            drift,
            source,
            ..
        } => {
            if !drift.is_empty() {
                let _ = writeln!(
                    out,
                    "  # {} has drifted: changed outside cityform since the last apply",
                    painter.bold(&address.to_string()),
                );
                render_changes(out, drift, painter);
            }
            let _ = writeln!(
                out,
                "  # {} will be updated in place {}",
                painter.bold(&address.to_string()),
                painter.paint(AnsiColor::BrightBlack, &format!("({source})"))
            );
            let _ = writeln!(
                out,
                "  {} job_group \"{address}\" {{",
                painter.paint(AnsiColor::Yellow, "~")
            );
            let _ = writeln!(out, "        id = {job_group_id:?}");
            render_changes(out, changes, painter);
            out.push_str("    }\n");
        }
        Action::Orphan {
            address,
            job_group_id,
            ..
        } => {
            let _ = writeln!(
                out,
                "  # {} is orphaned: it is in the state but in no manifest, and is left alone",
                painter.bold(&address.to_string()),
            );
            let _ = writeln!(
                out,
                "  {} job_group \"{address}\" {{ id = {job_group_id:?} }}",
                painter.paint(AnsiColor::Red, "-")
            );
        }
        Action::SetStatus {
            address, from, to, ..
        } => {
            let verb = match to {
                Status::Running => "started",
                Status::Stopped => "stopped",
            };
            let _ = writeln!(
                out,
                "  # {} will be {verb}",
                painter.bold(&address.to_string())
            );
            let from = from.map_or("(unknown)".to_owned(), |status| {
                format!("{:?}", status.as_str())
            });
            let _ = writeln!(
                out,
                "  {} job_group \"{address}\" {{ status = {from} -> {:?} }}",
                painter.paint(AnsiColor::Yellow, "~"),
                to.as_str()
            );
        }
        Action::Protect {
            address,
            prevent_destroy,
            ..
        } => {
            let _ = writeln!(
                out,
                "  # {}: preventDestroy = {prevent_destroy} will be recorded in the state (nothing is sent)",
                painter.bold(&address.to_string())
            );
        }
        Action::Delete {
            address,
            job_group_id,
            ..
        } => {
            let _ = writeln!(
                out,
                "  # {} will be deleted: it is in no manifest and --prune was given",
                painter.bold(&address.to_string())
            );
            let _ = writeln!(
                out,
                "  {} job_group \"{address}\" {{ id = {job_group_id:?} }}",
                painter.paint(AnsiColor::Red, "-")
            );
        }
        Action::BlockedDelete {
            address,
            job_group_id,
        } => {
            let _ = writeln!(
                out,
                "  # {} cannot be deleted: the state records preventDestroy for it",
                painter.bold(&address.to_string())
            );
            let _ = writeln!(
                out,
                "  {} job_group \"{address}\" {{ id = {job_group_id:?} }}",
                painter.paint(AnsiColor::Red, "!")
            );
        }
    }
}

fn padded_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names.map(str::len).max().unwrap_or(0)
}

fn render_spec(
    out: &mut String,
    spec: &JobGroupSpec,
    sign: &str,
    color: AnsiColor,
    painter: &Painter,
) {
    let attributes = spec.attributes();
    let width = padded_width(attributes.iter().map(|(name, _)| name.as_str()));
    for (name, value) in &attributes {
        let _ = writeln!(
            out,
            "      {} {name:<width$} = {}",
            painter.paint(color, sign),
            display_value(name, value)
        );
    }
}

fn render_changes(out: &mut String, changes: &[AttributeChange], painter: &Painter) {
    let width = padded_width(changes.iter().map(|change| change.attribute.as_str()));
    for change in changes {
        let name = &change.attribute;
        let (sign, color, value) = match (&change.before, &change.after) {
            (Some(before), Some(after)) => (
                "~",
                AnsiColor::Yellow,
                format!(
                    "{} -> {}",
                    display_value(name, before),
                    display_value(name, after)
                ),
            ),
            (None, Some(after)) => ("+", AnsiColor::Green, display_value(name, after)),
            (Some(before), None) => (
                "-",
                AnsiColor::Red,
                format!("{} -> (unset)", display_value(name, before)),
            ),
            (None, None) => continue,
        };
        let _ = writeln!(
            out,
            "      {} {name:<width$} = {value}",
            painter.paint(color, sign)
        );
    }
}
