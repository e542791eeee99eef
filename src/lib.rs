//! cityform: keeps Alibaba Cloud CityVisual job groups equal to what YAML manifests declare.
//!
//! The pipeline is load → plan → apply: [`manifest`] reads the desired job groups, [`state`]
//! remembers which `JobGroupId` belongs to which manifest entry, [`plan`] compares the two
//! (a pure function), [`render`] shows the result, [`apply`] carries a plan out, and [`cloud`]
//! talks to the service, or to the local [`emulator`]. [`reconcile`] is the sequence that
//! joins them, used by every command that plans or applies.
#![warn(missing_docs)]

pub mod apply;
pub mod cli;
pub mod cloud;
pub mod duration;
pub mod emulator;
pub mod file_kind;
pub mod forge;
pub mod manifest;
pub mod model;
pub mod phase;
pub mod plan;
pub mod provenance;
pub mod reconcile;
pub mod render;
pub mod state;
#[cfg(test)]
mod test_support;
pub mod watch;
