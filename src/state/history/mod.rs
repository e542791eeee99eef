//! The history of recorded actions: what was done to which job group, and where it came
//! from (`docs/provenance.md`). Part of the state's format, but kept beside the state rather
//! than inside it: a plan needs the state on every run and the history almost never, so the
//! state stays small and the history is read only by the commands that show or move it, and
//! for the few groups a plan says "last applied from" about.
//!
//! [`History`] is the history in memory, per group up to a retention ([`model`]); the local
//! backend keeps it in an append-only file beside the state file ([`file`]), the PostgreSQL
//! backend in a table. [`HistorySelection`] says which groups' entries a reader wants.

pub mod file;
mod model;

use std::collections::BTreeSet;

pub use model::{
    DEFAULT_RETAIN_PER_GROUP, History, HistoryAction, HistoryEntry, InvalidSince, Moved,
    NewestFirst, UnknownAction, parse_since,
};

use crate::model::Address;

/// Which entries a reader of the history wants.
#[derive(Debug, Clone, Copy)]
pub enum HistorySelection<'a> {
    /// Every group's.
    All,
    /// Only these groups': the rest of the history is not kept in memory.
    Groups(&'a BTreeSet<Address>),
}

impl HistorySelection<'_> {
    /// Whether the entries of `address` are wanted.
    pub fn wants(&self, address: &Address) -> bool {
        match self {
            Self::All => true,
            Self::Groups(addresses) => addresses.contains(address),
        }
    }
}
