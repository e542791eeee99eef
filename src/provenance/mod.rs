//! Provenance: where each recorded action came from — the git commit of the manifests,
//! whether they had uncommitted changes, the manifest line that declared the group, who ran
//! cityform (a person on a host, or a CI job), when, and the service's `RequestId`
//! (`docs/provenance.md`).
//!
//! A command collects a [`RunContext`] once ([`RunContext::collect`], the I/O edge: `git`
//! and the host name), and takes a [`Provenance`] from it for each action it records
//! ([`RunContext::for_group`]). The history that keeps the recorded actions is part of the
//! state ([`crate::state::History`]); [`crate::render::history`] shows it.
//!
//! Only the environment variables of [`environment::VARIABLES`] are read, and every URL is
//! rebuilt without credentials, so nothing secret can reach a record.

mod clean;
mod context;
pub mod environment;
mod git;
mod record;
mod web;

pub use clean::{CleanlinessUnknown, DirtyTree, RequireCleanError};
pub use context::{InvalidCommit, RunContext, parse_commit};
pub use environment::CommitSource;
pub(crate) use record::utc_rfc3339;
pub use record::{Actor, Forge, Provenance, SHORT_COMMIT_LENGTH, short_commit};
pub use web::{repository_web_url, sanitize_web_url};
