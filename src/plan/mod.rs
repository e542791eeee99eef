//! Plans: the pure diff of desired job groups against the state, and saved plan files.

mod action;
mod diff;
pub mod saved;

pub use action::{Action, AttributeChange, Plan, StateBinding, Summary};
pub use diff::{compute, compute_owned};
