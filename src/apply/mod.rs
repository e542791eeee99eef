//! The executor: carries out a plan against the cloud, exactly once per create, recording
//! every intent and result durably (see `docs/apply.md`).
//!
//! The command line calls, in order: open the backend, [`Backend::load`](crate::state::Backend::load),
//! check a saved plan's binding, [`resolve_unresolved`] (calls an earlier run left unfinished),
//! compute and confirm a fresh plan from the state it returns, then [`execute`].
//!
//! Inside: `options` (parallelism, rate limit, dry run, pacing), `pacer` (the run-wide
//! adaptive slow-down shared by every call), `resolve` (looking groups up by name when an
//! outcome is unknown), `create` (one create: intent → call → result), `executor` (the run
//! around them), and `event` and `report` (what the run tells its caller).

mod create;
mod error;
mod event;
mod executor;
mod options;
mod pacer;
mod report;
mod resolve;

pub use create::MAX_CREATE_ROUNDS;
pub use error::ApplyError;
pub use event::ApplyEvent;
pub use executor::execute;
pub use options::{ApplyOptions, Pacing};
pub use report::{
    ActionFailure, ApplyReport, CreatedGroup, DUPLICATE_NAME_CODE, FailureReason, NotApplied,
    NotAppliedKind, RecoveredGroup, RecoveryReason,
};
pub use resolve::resolve_unresolved;
