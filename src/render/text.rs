//! The plan as terminal text, in the shape Terraform users already read at a glance.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::{display_attribute, display_value, summary_line};
use crate::model::JobGroupSpec;
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
        } => {
            let _ = writeln!(
                out,
                "  # {} will be created {}",
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
            source,
            ..
        } => {
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
    let names: Vec<_> = attributes
        .iter()
        .map(|(name, _)| display_attribute(name))
        .collect();
    let width = padded_width(names.iter().map(AsRef::as_ref));
    for ((name, value), shown) in attributes.iter().zip(&names) {
        let _ = writeln!(
            out,
            "      {} {shown:<width$} = {}",
            painter.paint(color, sign),
            display_value(name, value)
        );
    }
}

fn render_changes(out: &mut String, changes: &[AttributeChange], painter: &Painter) {
    let names: Vec<_> = changes
        .iter()
        .map(|change| display_attribute(&change.attribute))
        .collect();
    let width = padded_width(names.iter().map(AsRef::as_ref));
    for (change, shown) in changes.iter().zip(&names) {
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
            "      {} {shown:<width$} = {value}",
            painter.paint(color, sign)
        );
    }
}
