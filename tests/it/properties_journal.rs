//! Properties of the local state's journal on disk, through `LocalBackend`: whatever byte a
//! crash cuts the journal at, the state loads, equal to the state file with every complete
//! record replayed onto it (the journal's own tests check the same for `parse_journal`
//! alone); loading changes no file; and compaction, then further appends, carry on from
//! there without losing a record. And what a backend keeps in memory across its loads,
//! appends and compactions is what a backend reading the files at every step finds.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::path::Path;

use cityform::model::{Address, JobGroupSpec};
use cityform::state::journal::{
    Intent, IntentId, JournalRecord, Operation, Put, Remove, Settle, replay,
};
use cityform::state::{Backend, LocalBackend, LockOptions, State, StateEntry};
use proptest::prelude::*;

fn spec(planed_job_count: u32) -> JobGroupSpec {
    JobGroupSpec {
        algo_lib_id: "3".into(),
        resource_profile_id: "6".into(),
        planed_job_count,
        stream_per_job: 1,
        job_count: None,
        params: Default::default(),
    }
}

fn record() -> impl Strategy<Value = JournalRecord> {
    let name = prop::sample::select(vec!["traffic-east", "traffic-west", "safety"]);
    let id = prop::sample::select(vec!["i-1", "i-2", "i-3", "i-4"]);
    let intent_id = prop::option::of(id.clone()).prop_map(|id| id.map(|id| IntentId(id.into())));
    prop_oneof![
        (id.clone(), name.clone(), 1..20_u32).prop_map(|(id, name, count)| {
            JournalRecord::Intent(Intent {
                id: IntentId(id.into()),
                address: Address::example(name),
                operation: Operation::Create,
                spec: Some(spec(count)),
            })
        }),
        (name.clone(), "[0-9]{1,4}", 1..20_u32, intent_id.clone()).prop_map(
            |(name, job_group_id, count, intent)| {
                JournalRecord::Put(Put {
                    address: Address::example(name),
                    entry: StateEntry {
                        job_group_id,
                        spec: spec(count),
                        request_id: "request".into(),
                        applied_at: "2026-11-27T08:00:00Z".into(),
                        status: None,
                        prevent_destroy: false,
                    },
                    intent,
                })
            }
        ),
        (name, intent_id).prop_map(|(name, intent)| JournalRecord::Remove(Remove {
            address: Address::example(name),
            intent,
        })),
        id.prop_map(|id| JournalRecord::Settle(Settle {
            id: IntentId(id.into())
        })),
    ]
}

/// One operation on a backend.
#[derive(Debug, Clone)]
enum Step {
    Append(Vec<JournalRecord>),
    Load,
    /// A load that keeps what it read (`apply` and `refresh` start so).
    LoadToChange,
    Compact,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => prop::collection::vec(record(), 1..4).prop_map(Step::Append),
        1 => Just(Step::Load),
        1 => Just(Step::LoadToChange),
        1 => Just(Step::Compact),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn open(path: &Path) -> LocalBackend {
    LocalBackend::open(path, &LockOptions::new("properties")).unwrap()
}

/// Where each line of a journal ends (just after its newline).
fn line_ends(journal: &[u8]) -> Vec<usize> {
    journal
        .iter()
        .enumerate()
        .filter(|(_, byte)| **byte == b'\n')
        .map(|(index, _)| index + 1)
        .collect()
}

proptest! {
    // Every case writes and syncs real files: 64 unless PROPTEST_CASES asks for more.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_cut_of_the_journal_loads_compacts_and_carries_on(
        batches in prop::collection::vec(prop::collection::vec(record(), 1..4), 1..5),
        cut in any::<prop::sample::Index>(),
        later in record(),
    ) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state.json");
        let runtime = runtime();
        let created = {
            let backend = open(&path);
            let created = runtime.block_on(backend.create(State::new("lineage-1"))).unwrap();
            for batch in &batches {
                runtime.block_on(backend.append(batch)).unwrap();
            }
            created
        };
        let records: Vec<JournalRecord> = batches.concat();
        let journal_path = directory.path().join("state.json.journal");
        let journal = std::fs::read(&journal_path).unwrap();
        let ends = line_ends(&journal);
        prop_assert_eq!(ends.len(), records.len() + 1, "a header and a line per record");

        // The crash: the journal ends at any byte.
        let cut = cut.index(journal.len() + 1);
        std::fs::write(&journal_path, &journal[..cut]).unwrap();
        let complete = ends[1..].iter().filter(|&&end| end <= cut).count();
        let (expected, expected_open) = replay(created.clone(), &records[..complete]);

        let state_before = std::fs::read(&path).unwrap();
        let backend = open(&path);
        let recovered = runtime.block_on(backend.load()).unwrap();
        prop_assert_eq!(recovered.state.as_ref(), Some(&expected));
        prop_assert_eq!(&recovered.unresolved, &expected_open);
        let at_a_line_end = cut == 0 || ends.contains(&cut);
        prop_assert_eq!(recovered.warnings.is_empty(), at_a_line_end, "{:?}", recovered.warnings);
        prop_assert_eq!(std::fs::read(&path).unwrap(), state_before, "loading wrote the state");
        prop_assert_eq!(std::fs::read(&journal_path).unwrap(), &journal[..cut], "loading wrote the journal");

        // Compaction folds what was recovered; an append afterwards is not lost either.
        let compacted = runtime.block_on(backend.compact()).unwrap();
        let compacted_state = compacted.state.unwrap();
        prop_assert_eq!(&compacted_state.job_groups, &expected.job_groups);
        prop_assert_eq!(&compacted.unresolved, &expected_open);
        runtime.block_on(backend.append(std::slice::from_ref(&later))).unwrap();
        drop(backend);

        let reopened = open(&path);
        let last = runtime.block_on(reopened.load()).unwrap();
        // The compacted journal keeps the unresolved intents, then comes the new record.
        let mut kept: Vec<JournalRecord> = compacted
            .unresolved
            .iter()
            .cloned()
            .map(JournalRecord::Intent)
            .collect();
        kept.push(later);
        let (after_later, open_after_later) = replay(compacted_state, &kept);
        prop_assert_eq!(&last.state.unwrap().job_groups, &after_later.job_groups);
        prop_assert_eq!(&last.unresolved, &open_after_later);
        prop_assert!(last.warnings.is_empty(), "{:?}", last.warnings);
    }

    #[test]
    fn what_a_backend_keeps_in_memory_is_what_the_files_replay_to(
        steps in prop::collection::vec(step(), 1..8),
    ) {
        let kept_directory = tempfile::tempdir().unwrap();
        let reread_directory = tempfile::tempdir().unwrap();
        let kept_path = kept_directory.path().join("state.json");
        let reread_path = reread_directory.path().join("state.json");
        let runtime = runtime();
        // One backend for every step, against a new backend (reading the files) for each;
        // both start from files they did not write.
        runtime.block_on(open(&kept_path).create(State::new("lineage-1"))).unwrap();
        runtime.block_on(open(&reread_path).create(State::new("lineage-1"))).unwrap();
        let kept = open(&kept_path);
        for step in steps.iter().chain([&Step::Compact]) {
            let reread = open(&reread_path);
            match step {
                Step::Append(records) => {
                    runtime.block_on(kept.append(records)).unwrap();
                    runtime.block_on(reread.append(records)).unwrap();
                }
                Step::Load => prop_assert_eq!(
                    runtime.block_on(kept.load()).unwrap(),
                    runtime.block_on(reread.load()).unwrap()
                ),
                Step::LoadToChange => prop_assert_eq!(
                    runtime.block_on(kept.load_to_change()).unwrap(),
                    runtime.block_on(reread.load()).unwrap()
                ),
                Step::Compact => prop_assert_eq!(
                    runtime.block_on(kept.compact()).unwrap(),
                    runtime.block_on(reread.compact()).unwrap()
                ),
            }
        }
        for name in ["state.json", "state.json.journal", "state.json.backup"] {
            let read = |directory: &tempfile::TempDir| std::fs::read(directory.path().join(name)).ok();
            prop_assert_eq!(read(&kept_directory), read(&reread_directory), "{}", name);
        }
    }
}
