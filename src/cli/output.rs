//! How errors reach the user: `error: ` + what happened, `caused by:` lines, then a hint.

use std::io::Write as _;

use crate::manifest::Diagnostics;
use crate::state::StateError;

/// Prints an error in the one voice every command uses.
pub fn report_error(error: &anyhow::Error) {
    let mut stderr = anstream::stderr().lock();
    if let Some(diagnostics) = error.downcast_ref::<Diagnostics>() {
        let _ = write!(stderr, "{diagnostics}");
        return;
    }
    let _ = writeln!(stderr, "error: {error}");
    for cause in error.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
    if let Some(hint) = hint(error) {
        let _ = writeln!(stderr, "  hint: {hint}");
    }
}

fn hint(error: &anyhow::Error) -> Option<String> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<StateError>())
        .and_then(StateError::hint)
}
