//! Errors of copying a state between backends: a copy that would overwrite another state or
//! lose changes. Nothing is written when one is returned.

/// A state was not copied, to keep what the destination holds.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A migration would overwrite a state of another lineage.
    #[error(
        "cannot copy state `{from}` (lineage `{from_lineage}`) into `{to}`: it holds another state (lineage `{to_lineage}`)"
    )]
    LineageMismatch {
        /// Where the state comes from.
        from: String,
        /// Its lineage.
        from_lineage: String,
        /// Where it was to be copied.
        to: String,
        /// The lineage already there.
        to_lineage: String,
    },
    /// A migration would overwrite changes the destination has and the source lacks.
    #[error(
        "cannot copy state `{from}` (serial {from_serial}) into `{to}`: the destination is a later version of the same state (serial {to_serial}) and differs from it"
    )]
    WouldLoseChanges {
        /// Where the state comes from.
        from: String,
        /// The source's serial.
        from_serial: u64,
        /// Where it was to be copied.
        to: String,
        /// The destination's serial.
        to_serial: u64,
    },
}

impl MigrateError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::WouldLoseChanges { from, to, .. } => format!(
                "nothing was copied; to keep what `{to}` has, copy it the other way (from `{to}` into `{from}`)"
            ),
            Self::LineageMismatch { to, .. } => format!(
                "nothing was copied; `{to}` belongs to another state: choose another destination (another workspace or file), \
                 or remove the state there first if it is truly unwanted"
            ),
        })
    }
}
