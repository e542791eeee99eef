//! Renderers: a plan as terminal text, JSON or Markdown. Pure functions from values to strings.

pub mod json;
pub mod markdown;
pub mod text;

use crate::model::printable;

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
/// Either way no control character is shown raw: a saved plan or a state file may hold any
/// text where a number belongs.
fn display_value(attribute: &str, value: &str) -> String {
    if is_numeric_attribute(attribute) {
        printable(value).into_owned()
    } else {
        format!("{value:?}")
    }
}

/// An attribute's name as the text and Markdown renderers show it: a params key comes from a
/// state file, a saved plan or an answer, and may hold anything.
fn display_attribute(attribute: &str) -> std::borrow::Cow<'_, str> {
    printable(attribute)
}

/// `Plan: 1 to create, 2 to update, 0 orphaned.`: the summary line all formats share.
fn summary_line(summary: &crate::plan::Summary) -> String {
    format!(
        "Plan: {} to create, {} to update, {} orphaned.",
        summary.create, summary.update, summary.orphan
    )
}

#[cfg(test)]
mod tests;
