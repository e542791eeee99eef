//! Provenance: where each recorded action came from — the git commit of the manifests,
//! whether they had uncommitted changes, the manifest line that declared the group, who ran
//! cityform (a person on a host, or a CI job), when, and the service's `RequestId` — and the
//! history of recorded actions that keeps it (`docs/provenance.md`).
//!
//! A command collects a [`RunContext`] once ([`RunContext::collect`], the I/O edge: `git`
//! and the host name), and takes a [`Provenance`] from it for each action it records
//! ([`RunContext::for_group`]). [`History`] keeps recorded actions per group up to a
//! retention; [`crate::render::history`] shows them.
//!
//! Only the environment variables of [`environment::VARIABLES`] are read, and every URL is
//! rebuilt without credentials, so nothing secret can reach a record.

mod clean;
mod context;
pub mod environment;
mod git;
mod history;
mod record;
mod web;

pub use clean::{CleanlinessUnknown, DirtyTree, RequireCleanError};
pub use context::{InvalidCommit, RunContext, parse_commit};
pub use environment::CommitSource;
pub use history::{
    DEFAULT_RETAIN_PER_GROUP, History, HistoryAction, HistoryEntry, InvalidSince, Moved,
    NewestFirst, UnknownAction, parse_since,
};
pub use record::{Actor, Forge, Provenance, SHORT_COMMIT_LENGTH, short_commit};
pub use web::{repository_web_url, sanitize_web_url};
