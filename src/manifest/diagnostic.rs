//! What the manifest layer reports: every problem of a manifest set, each located as
//! `file:line:column`, rendered the same way everywhere.

use std::fmt;

use super::desired::SourceLocation;
use crate::model::printable;

/// One problem in the manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where, when the problem is inside a file; `None` for problems with a path itself
    /// (one that does not exist, a directory that cannot be read).
    pub location: Option<SourceLocation>,
    /// What is wrong, lower-case, values in backticks.
    pub message: String,
    /// What to do about it, when there is something specific to say.
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    /// `file:line:column: error: message`, then `  hint: ...` on its own line when there is one.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(formatter, "{location}: ")?;
        }
        // Messages quote what the manifests say, which anyone may have written.
        write!(formatter, "error: {}", printable(&self.message))?;
        if let Some(hint) = &self.hint {
            write!(formatter, "\n  hint: {}", printable(hint))?;
        }
        Ok(())
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
    /// Each problem as [`Diagnostic`] renders it, one after the other, then a count line.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.diagnostics {
            writeln!(formatter, "{diagnostic}")?;
        }
        match self.diagnostics.len() {
            1 => write!(formatter, "1 problem found in the manifests"),
            count => write!(formatter, "{count} problems found in the manifests"),
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
    /// Where in the text.
    pub position: Position,
    /// What is wrong, lower-case, values in backticks.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Problem {
    /// A problem without a hint.
    pub fn new(position: Position, message: impl Into<String>) -> Self {
        Self {
            position,
            message: message.into(),
            hint: None,
        }
    }

    /// The same problem with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The problem as a diagnostic about `file`.
    pub fn locate(self, file: &str) -> Diagnostic {
        Diagnostic {
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
