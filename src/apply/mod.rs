//! Reading the live job groups and changing them: the refresh before a plan, the executor
//! that carries a plan out (exactly once per create, every intent and result recorded
//! durably, see `docs/apply.md`), and adopting an existing group (`import`).
//!
//! [`crate::reconcile`] calls them in order: open the backend,
//! [`Backend::load`](crate::state::Backend::load), check a saved plan's binding,
//! [`resolve_unresolved`] (calls an earlier run left unfinished), [`refresh::observe`] the
//! instances the plan touches, compute and confirm a fresh plan from the state and the
//! observation, then [`execute`].
//!
//! Inside: `options` (parallelism, rate limit, dry run, pacing), `pacer` (the run-wide
//! adaptive slow-down shared by every call), `resolve` (looking groups up by name when an
//! outcome is unknown), `work` (a plan's actions in phases, checked against the state), one
//! module per kind of action (`create`, `update`, `status`, `delete`: intent → call →
//! result; `record`: the moves, imports and removals that change only the state), `wait` (until started and stopped groups get there), `history` (the provenance recorded with each result), `executor` (the run around them), and `event` and `report` (what the run tells
//! its caller).

mod create;
mod delete;
mod error;
mod event;
mod executor;
mod history;
pub mod import;
mod options;
mod pacer;
mod record;
pub mod refresh;
mod report;
mod resolve;
mod slots;
mod status;
mod update;
mod wait;
mod work;

pub use create::MAX_CREATE_ROUNDS;
pub use error::ApplyError;
pub use event::{ApplyEvent, CallRetries};
pub use executor::{check_appliable, execute};
pub use options::{ApplyOptions, DEFAULT_WAIT_TIMEOUT, Pacing};
pub use report::{
    ActionFailure, ApplyReport, ChangeKind, CreatedGroup, DUPLICATE_NAME_CODE, DeletedGroup,
    FailureReason, NOT_FOUND_CODE, NotApplied, NotAppliedKind, PlannedChange, ProtectionChange,
    ReadyGroup, RecordedChange, RecoveredGroup, RecoveryReason, StatusChange, UpdatedGroup,
};
pub use resolve::resolve_unresolved;
