//! What the manifest layer reports: every problem of a manifest set, each located as
//! `file:line:column`, rendered the same way everywhere.
//!
//! A problem is an error (the set is refused) or a warning (the set loads, and the warning is
//! shown: something the service may refuse although one of its documented rules allows it).

use std::fmt;

use super::desired::SourceLocation;
use crate::model::printable;

/// How serious a problem is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The manifests are refused.
    #[default]
    Error,
    /// The manifests load; the problem is shown all the same.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem in the manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// An error or a warning.
    pub severity: Severity,
    /// Where, when the problem is inside a file; `None` for problems with a path itself
    /// (one that does not exist, a directory that cannot be read).
    pub location: Option<SourceLocation>,
    /// What is wrong, lower-case, values in backticks.
    pub message: String,
    /// What to do about it, when there is something specific to say.
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    /// `file:line:column: error: message` (or `warning:`), then `  hint: ...` on its own line
    /// when there is one.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(formatter, "{location}: ")?;
        }
        // Messages quote what the manifests say, which anyone may have written.
        write!(formatter, "{}: {}", self.severity, printable(&self.message))?;
        if let Some(hint) = &self.hint {
            write!(formatter, "\n  hint: {}", printable(hint))?;
        }
        Ok(())
    }
}

impl Diagnostic {
    /// Whether the problem refuses the manifests.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Every problem of a manifest set, found in one pass, sorted by file (in the order the
/// files were read) and then by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    diagnostics: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Wraps problems that are already in the order they should be shown.
    pub fn new(diagnostics: Vec<Diagnostic>) -> Self {
        Self { diagnostics }
    }

    /// The problems, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.diagnostics.iter()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.diagnostics.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// The problems, in order.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.diagnostics
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.diagnostics.iter()
    }
}

impl fmt::Display for Diagnostics {
    /// Each problem as [`Diagnostic`] renders it, one after the other, then a count line
    /// (warnings are counted apart, when there are any).
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.diagnostics {
            writeln!(formatter, "{diagnostic}")?;
        }
        let errors = self
            .iter()
            .filter(|diagnostic| diagnostic.is_error())
            .count();
        let warnings = self.len() - errors;
        let plural = |count: usize, noun: &str| {
            if count == 1 {
                format!("1 {noun}")
            } else {
                format!("{count} {noun}s")
            }
        };
        if warnings == 0 {
            write!(
                formatter,
                "{} found in the manifests",
                plural(errors, "problem")
            )
        } else {
            write!(
                formatter,
                "{} and {} found in the manifests",
                plural(errors, "problem"),
                plural(warnings, "warning")
            )
        }
    }
}

impl std::error::Error for Diagnostics {}

/// A 1-based line and column in one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl fmt::Display for Position {
    /// `line:column`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}", self.line, self.column)
    }
}

impl Default for Position {
    fn default() -> Self {
        Position::START
    }
}

impl Position {
    /// The first character of a text.
    pub const START: Position = Position { line: 1, column: 1 };

    /// Stands for a position that was not looked up: the YAML layer only finds positions
    /// out when they are needed (see `yaml::Detail`).
    pub const UNKNOWN: Position = Position { line: 0, column: 0 };
}

/// A problem inside one text, before it is known which file the text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// An error or a warning.
    pub severity: Severity,
    /// Where in the text.
    pub position: Position,
    /// What is wrong, lower-case, values in backticks.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Problem {
    /// An error without a hint.
    pub fn new(position: Position, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            position,
            message: message.into(),
            hint: None,
        }
    }

    /// A warning without a hint.
    pub fn warning(position: Position, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::new(position, message)
        }
    }

    /// Whether the problem refuses the manifests.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The same problem with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The problem as a diagnostic about `file`.
    pub fn locate(self, file: &str) -> Diagnostic {
        Diagnostic {
            severity: self.severity,
            location: Some(SourceLocation {
                file: file.to_owned(),
                line: self.position.line,
                column: self.position.column,
            }),
            message: self.message,
            hint: self.hint,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn located(file: &str, line: usize, column: usize, message: &str) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            location: Some(SourceLocation {
                file: file.into(),
                line,
                column,
            }),
            message: message.into(),
            hint: None,
        }
    }

    #[test]
    fn renders_location_message_and_hint() {
        let mut diagnostic = located("a.yaml", 3, 5, "unknown field `x`");
        assert_eq!(
            diagnostic.to_string(),
            "a.yaml:3:5: error: unknown field `x`"
        );
        diagnostic.hint = Some("remove it".into());
        assert_eq!(
            diagnostic.to_string(),
            "a.yaml:3:5: error: unknown field `x`\n  hint: remove it"
        );
        diagnostic.location = None;
        assert_eq!(
            diagnostic.to_string(),
            "error: unknown field `x`\n  hint: remove it"
        );
    }

    #[test]
    fn a_warning_says_so_and_is_counted_apart() {
        let mut warning = located("a.yaml", 4, 9, "job group name `a.b` contains `.`");
        warning.severity = Severity::Warning;
        assert_eq!(
            warning.to_string(),
            "a.yaml:4:9: warning: job group name `a.b` contains `.`"
        );
        let mixed = Diagnostics::new(vec![warning.clone(), located("a.yaml", 9, 1, "bad")]);
        assert_eq!(
            mixed.to_string(),
            "a.yaml:4:9: warning: job group name `a.b` contains `.`\na.yaml:9:1: error: bad\n1 problem and 1 warning found in the manifests"
        );
        let two = Diagnostics::new(vec![
            located("a.yaml", 1, 1, "bad"),
            located("a.yaml", 2, 1, "worse"),
            warning.clone(),
            warning,
        ]);
        assert!(
            two.to_string()
                .ends_with("\n2 problems and 2 warnings found in the manifests")
        );
    }

    #[test]
    fn counts_problems_in_the_last_line() {
        let one = Diagnostics::new(vec![located("a.yaml", 1, 1, "bad")]);
        assert_eq!(
            one.to_string(),
            "a.yaml:1:1: error: bad\n1 problem found in the manifests"
        );
        let two = Diagnostics::new(vec![
            located("a.yaml", 1, 1, "bad"),
            located("b.yaml", 2, 3, "worse"),
        ]);
        assert_eq!(
            two.to_string(),
            "a.yaml:1:1: error: bad\nb.yaml:2:3: error: worse\n2 problems found in the manifests"
        );
        assert_eq!(two.len(), 2);
    }
}
