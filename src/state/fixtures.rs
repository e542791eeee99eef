//! Builders for state tests: addresses, entries and journal records with readable names.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use super::StateEntry;
use super::history::{HistoryAction, HistoryEntry};
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

/// A `create` of the group `name` recorded at `minute` past 08:00, in a run from `commit`
/// by a CI job, with a request id and manifest line of its own.
pub(crate) fn history_entry(name: &str, minute: i64, commit: &str) -> HistoryEntry {
    let context = crate::provenance::RunContext::without_git(
        Some(commit),
        &std::collections::BTreeMap::from(
            [
                ("GITHUB_SERVER_URL", "https://github.com"),
                ("GITHUB_REPOSITORY", "acme/city"),
                ("GITHUB_RUN_ID", "8812"),
            ]
            .map(|(name, value)| (name.to_owned(), value.to_owned())),
        ),
        "ci",
    );
    let source = crate::manifest::SourceLocation {
        file: "manifests/groups.yaml".to_owned(),
        line: 2 + usize::try_from(minute).unwrap(),
        column: 1,
    };
    HistoryEntry {
        address: address(name),
        action: HistoryAction::Create,
        job_group_id: format!("jg-{name}"),
        provenance: context.for_group_at(
            Some(&source),
            Some(&format!("req-{name}-{minute}")),
            time::macros::datetime!(2026-11-27 08:00 UTC) + time::Duration::minutes(minute),
        ),
        moved: None,
    }
}
