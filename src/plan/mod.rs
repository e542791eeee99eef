//! Plans: the pure diff of desired job groups against the state, and saved plan files.

mod action;
mod declared;
mod diff;
mod names;
mod observed;
pub mod saved;

pub use action::{
    Action, AttributeChange, NameConflict, Plan, RenameHint, StateBinding, Summary, UnmanagedGroup,
};
pub use declared::{DeclarationError, DeclarationErrors};
pub(crate) use diff::full_changes;
pub use diff::{PlanOptions, compute, compute_checked, compute_owned, compute_with};
pub use observed::{LiveGroup, Observed};
