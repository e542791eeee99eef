//! The state: which `JobGroupId` belongs to which address, and the spec as last applied.
//!
//! The local state is `.cityform/state.json` (written atomically, previous version kept as
//! `.backup`) and an OS file lock (`.lock`). `docs/state.md` describes the files.

mod atomic;
mod error;
mod file;
mod lock;
mod model;
mod paths;

pub use error::StateError;
pub use file::{parse_state, read_state_file, write_state_file};
pub use lock::{LockHolder, LockOptions, StateLock};
pub use model::{FORMAT_VERSION, State, StateEntry};
pub use paths::StatePaths;
