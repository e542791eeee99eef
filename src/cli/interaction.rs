//! The command line's side of a reconcile: its notices on standard error, its errors in the
//! shape each layer gives them.

use crate::plan::Plan;
use crate::reconcile::{CallerError, Interaction, Notice, ReconcileError};
use crate::render::LastApplied;

/// Prints `notice` on standard error.
pub fn print_notice(notice: &Notice) {
    match notice {
        Notice::StateWarning(warning) => eprintln!("warning: {warning}"),
        Notice::UnresolvedLeft(count) => eprintln!(
            "note: {count} call(s) from an earlier run have an unknown outcome; a real apply resolves them first"
        ),
        Notice::NotRefreshing(why) => eprintln!(
            "note: not refreshing: {why}; the dry run plans from the state alone, which may not match the live job groups"
        ),
    }
}

/// The interaction of a command that only plans: it prints notices and is never asked
/// anything.
pub struct NoticesOnly;

impl Interaction for NoticesOnly {
    fn notice(&mut self, notice: Notice) {
        print_notice(&notice);
    }

    fn plan_ready(&mut self, _: &Plan, _: &LastApplied) -> Result<(), CallerError> {
        Ok(())
    }

    fn confirm(&mut self, _: &Plan) -> Result<bool, CallerError> {
        Ok(false)
    }

    fn actions_starting(&mut self, _: usize) {}
}

/// `error` as the command line reports it: the layer's own error where the reconcile passed
/// one through, so that its hint and wording are the layer's.
pub fn into_anyhow(error: ReconcileError) -> anyhow::Error {
    match error {
        ReconcileError::State(error) => error.into(),
        ReconcileError::Apply(error) => error.into(),
        ReconcileError::Credentials(error) => error.into(),
        ReconcileError::Caller(error) => anyhow::Error::from_boxed(error),
        ReconcileError::Declarations(errors) => errors.into(),
        other => other.into(),
    }
}
