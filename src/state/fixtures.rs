//! Builders for state tests: addresses, entries and journal records with readable names.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use super::StateEntry;
use super::journal::{Intent, IntentId, JournalRecord, Operation, Put};
use crate::model::{Address, JobGroupSpec};

/// `cn-shanghai/cityvisual-Instance/{name}`.
pub(crate) fn address(name: &str) -> Address {
    Address::new("cn-shanghai", "cityvisual-Instance", name)
}

/// An entry for the group with id `job_group_id`, with the example spec.
pub(crate) fn entry(job_group_id: &str) -> StateEntry {
    StateEntry::new(
        job_group_id,
        JobGroupSpec::example(),
        format!("req-{job_group_id}"),
        "2026-11-27T08:00:00Z",
    )
}

/// The intent `id` to create the group `name`.
pub(crate) fn intent(id: &str, name: &str) -> JournalRecord {
    JournalRecord::Intent(Intent {
        id: IntentId(id.into()),
        address: address(name),
        operation: Operation::Create,
        spec: Some(JobGroupSpec::example()),
    })
}

/// The group `name` now has id `job_group_id`, resolving `intent` if given.
pub(crate) fn put(name: &str, job_group_id: &str, intent: Option<&str>) -> JournalRecord {
    JournalRecord::Put(Put {
        address: address(name),
        entry: entry(job_group_id),
        intent: intent.map(|id| IntentId(id.into())),
    })
}

/// The names in `directory`, sorted.
pub(crate) fn file_names(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}
