//! Renderers: a plan as terminal text, JSON or Markdown. Pure functions from values to strings.

pub mod json;
pub mod markdown;
pub mod text;

/// The output formats every command that prints a plan or a result accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text, coloured on a terminal.
    #[default]
    Text,
    /// Machine-readable JSON with a versioned schema (`docs/json-output.md`).
    Json,
    /// Markdown for a pull-request comment.
    Markdown,
}

/// The attributes whose values are numbers, shown without quotes.
fn is_numeric_attribute(attribute: &str) -> bool {
    matches!(attribute, "planedJobCount" | "streamPerJob" | "jobCount")
}

/// A value as the text and Markdown renderers show it: numbers bare, everything else quoted.
fn display_value(attribute: &str, value: &str) -> String {
    if is_numeric_attribute(attribute) {
        value.to_owned()
    } else {
        format!("{value:?}")
    }
}

/// `Plan: 1 to create, 2 to update, 0 orphaned.`: the summary line all formats share.
fn summary_line(summary: &crate::plan::Summary) -> String {
    let mut line = format!(
        "Plan: {} to create, {} to update",
        summary.create, summary.update
    );
    if summary.delete > 0 {
        line.push_str(&format!(", {} to delete", summary.delete));
    }
    if summary.status > 0 {
        line.push_str(&format!(", {} to start or stop", summary.status));
    }
    line.push_str(&format!(", {} orphaned.", summary.orphan));
    line
}

#[cfg(test)]
mod tests;
