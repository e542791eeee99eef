//! A saved plan's binding: it is carried out only against the state it was made from.

use std::path::Path;

use super::error::{ReconcileError, StalePlan};
use crate::plan::Plan;
use crate::state::State;

/// Refuses `plan`, read from `file`, unless `state` is the one it was made against (same
/// lineage and serial, or no state for both).
pub(super) fn check(file: &Path, plan: &Plan, state: Option<&State>) -> Result<(), ReconcileError> {
    let describe = |lineage: &str, serial: u64| format!("serial {serial} of lineage {lineage}");
    let found = state.map(|state| (state.lineage.as_str(), state.serial));
    let expected = plan
        .state
        .as_ref()
        .map(|binding| (binding.lineage.as_str(), binding.serial));
    if found == expected {
        return Ok(());
    }
    let (found, expected) = match (found, expected) {
        (Some((found_lineage, found_serial)), Some((lineage, serial)))
            if found_lineage == lineage =>
        {
            (format!("serial {found_serial}"), format!("{serial}"))
        }
        (found, expected) => (
            found.map_or("no state".to_owned(), |(lineage, serial)| {
                describe(lineage, serial)
            }),
            expected.map_or("no state".to_owned(), |(lineage, serial)| {
                describe(lineage, serial)
            }),
        ),
    };
    Err(ReconcileError::Stale {
        file: file.to_owned(),
        source: StalePlan { found, expected },
    })
}
