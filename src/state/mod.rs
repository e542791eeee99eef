//! The state: which `JobGroupId` belongs to which address, and the spec as last applied.

mod model;

pub use model::{FORMAT_VERSION, State, StateEntry};
