//! How results and errors reach the user: results on standard output (a reader that went
//! away is not an error), errors as `error: ` + what happened, `caused by:` lines, then a hint.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::manifest::{Diagnostic, Diagnostics};
use crate::plan::DeclarationErrors;
use crate::state::StateError;

/// Writes `text` to standard output and flushes it.
///
/// A reader that closed the pipe early (`cityform plan | head -1`) has everything it wanted:
/// like `cat` and ripgrep, cityform then stops writing without calling it an error, so the
/// rest of the command (writing a saved plan, the exit code) is unaffected.
pub fn print(text: &str) -> io::Result<()> {
    write_unless_closed(&mut io::stdout().lock(), text)
}

/// Streams a plan's JSON to standard output, as [`print`] does text: a reader that stopped
/// reading is not an error.
pub fn print_json_plan(
    plan: &crate::plan::Plan,
    last_applied: &crate::render::LastApplied,
) -> anyhow::Result<()> {
    let mut stdout = io::BufWriter::new(io::stdout().lock());
    let written = crate::render::plan_json::write_plan_with(plan, last_applied, &mut stdout)
        .map_err(io::Error::from)
        .and_then(|()| stdout.flush());
    match written {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn write_unless_closed(writer: &mut impl Write, text: &str) -> io::Result<()> {
    match writer
        .write_all(text.as_bytes())
        .and_then(|()| writer.flush())
    {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Prints the manifests' warnings on standard error, as `file:line:column: warning: ...`
/// lines with their hints; they never fail the command.
pub fn report_warnings(warnings: &[Diagnostic]) {
    let mut stderr = anstream::stderr().lock();
    for warning in warnings {
        let _ = writeln!(stderr, "{warning}");
    }
}

/// Prints an error in the one voice every command uses.
pub fn report_error(error: &anyhow::Error) {
    let mut stderr = anstream::stderr().lock();
    let _ = stderr.write_all(render_error(error).as_bytes());
}

/// The text [`report_error`] prints, ending in a newline.
fn render_error(error: &anyhow::Error) -> String {
    if let Some(diagnostics) = error.downcast_ref::<Diagnostics>() {
        return format!("{diagnostics}\n");
    }
    // Located like manifest problems, and said the same way.
    if let Some(errors) = error.downcast_ref::<DeclarationErrors>() {
        return format!("{errors}\n");
    }
    let mut text = String::new();
    let mut above = error.to_string();
    let _ = writeln!(text, "error: {above}");
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        // Many errors include their source's message in their own (`cannot read `x`: denied`,
        // sometimes followed by what to do); saying it again on a line of its own adds nothing.
        if above.contains(&cause) {
            continue;
        }
        let _ = writeln!(text, "  caused by: {cause}");
        above = cause;
    }
    if let Some(hint) = hint(error) {
        let _ = writeln!(text, "  hint: {hint}");
    }
    text
}

fn hint(error: &anyhow::Error) -> Option<String> {
    error.chain().find_map(|cause| {
        if let Some(advice) = cause.downcast_ref::<Advice>() {
            return Some(advice.hint.clone());
        }
        cause
            .downcast_ref::<StateError>()
            .and_then(StateError::hint)
    })
}

/// An error of the command line itself, with what to do about it (printed as `hint:`).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Advice {
    /// What is wrong, values in backticks.
    pub message: String,
    /// What to do instead.
    pub hint: String,
}

impl Advice {
    /// The error `message`, with `hint`.
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::PathBuf;

    use anyhow::Context as _;

    use super::*;
    use crate::state::LocalFileError;

    #[test]
    fn a_cause_the_message_already_states_is_not_repeated() {
        let error = anyhow::Error::new(StateError::from(LocalFileError::CreateDirectory {
            path: PathBuf::from("afile"),
            source: io::Error::new(io::ErrorKind::AlreadyExists, "file exists"),
        }));
        assert_eq!(
            render_error(&error),
            "error: cannot create the state directory `afile`: file exists\n"
        );
    }

    #[test]
    fn a_cause_the_message_states_before_its_advice_is_not_repeated() {
        let error = Err::<(), _>(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "no such address",
        ))
        .context("cannot listen on `1.2.3.4:80`: no such address; choose another address")
        .unwrap_err();
        assert_eq!(
            render_error(&error),
            "error: cannot listen on `1.2.3.4:80`: no such address; choose another address\n"
        );
    }

    #[test]
    fn a_cause_that_adds_something_gets_its_own_line() {
        let error = Err::<(), _>(io::Error::new(io::ErrorKind::NotFound, "no such directory"))
            .context("could not write the saved plan `out/plan.json`")
            .unwrap_err();
        assert_eq!(
            render_error(&error),
            "error: could not write the saved plan `out/plan.json`\n  caused by: no such directory\n"
        );
    }

    #[test]
    fn a_state_error_ends_with_its_hint() {
        let error = anyhow::Error::new(StateError::from(LocalFileError::Empty {
            path: PathBuf::from(".cityform/state.json"),
        }));
        let text = render_error(&error);
        assert!(
            text.starts_with("error: state file `.cityform/state.json` is empty\n  hint: "),
            "{text}"
        );
        assert!(text.ends_with(", or repair it by hand\n"), "{text}");
    }

    #[test]
    fn advice_ends_with_its_hint() {
        let error = anyhow::Error::new(Advice::new("`x` is wrong", "write `y`"));
        assert_eq!(
            render_error(&error),
            "error: `x` is wrong\n  hint: write `y`\n"
        );
    }

    #[test]
    fn manifest_diagnostics_end_with_a_newline() {
        let error = anyhow::Error::new(Diagnostics::new(vec![Diagnostic {
            severity: crate::manifest::Severity::Error,
            location: None,
            message: "oops".to_owned(),
            hint: None,
        }]));
        let text = render_error(&error);
        assert!(
            text.ends_with("1 problem found in the manifests\n"),
            "{text:?}"
        );
    }

    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    struct FullDisk;

    impl Write for FullDisk {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::StorageFull.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_not_an_error_but_other_failures_are() {
        assert!(write_unless_closed(&mut ClosedPipe, "plan").is_ok());
        let error = write_unless_closed(&mut FullDisk, "plan").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::StorageFull);
    }
}
