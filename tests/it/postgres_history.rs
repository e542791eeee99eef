//! The history of recorded actions survives compaction on both backends: 5,000 actions
//! appended with their `history` records and folded in by repeated compactions leave each
//! group's newest actions complete, in order, up to the retention, and nothing beyond it.
//! Then what only PostgreSQL has: the upgrade of a version 1 database, which had no
//! history, in place on first use.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support_postgres;

use cityform::model::{Address, JobGroupSpec};
use cityform::provenance::{Actor, Provenance};
use cityform::state::journal::{JournalRecord, Put, Retention};
use cityform::state::{
    Backend, DEFAULT_RETAIN_PER_GROUP, History, HistoryAction, HistoryEntry, HistorySelection,
    LocalBackend, LockOptions, PostgresBackend, SCHEMA_VERSION, State, StateEntry,
};
use time::macros::datetime;

const ACTIONS: usize = 5_000;
/// Actions per append, and appends between compactions.
const PER_APPEND: usize = 50;
const APPENDS_PER_COMPACTION: usize = 10;

/// Which group the action numbered `index` is on: `north` gets 600 actions (under the
/// retention), `east` 2,400 and `west` 2,000 (over it).
fn group_of(index: usize) -> &'static str {
    match index % 25 {
        0..=2 => "north",
        3..=14 => "east",
        _ => "west",
    }
}

fn spec(count: usize) -> JobGroupSpec {
    JobGroupSpec {
        algo_lib_id: "3".into(),
        resource_profile_id: "6".into(),
        planed_job_count: u32::try_from(count % 50 + 1).unwrap(),
        stream_per_job: 5,
        job_count: None,
        params: Default::default(),
    }
}

/// The records of action `index`: the `put` and its `history` record, whose request id
/// numbers the action.
fn action(index: usize) -> [JournalRecord; 2] {
    let name = group_of(index);
    let request_id = format!("req-{index:05}");
    [
        JournalRecord::Put(Put {
            address: Address::example(name),
            entry: StateEntry::new(
                format!("jg-{name}"),
                spec(index),
                &request_id,
                "2026-11-27T08:00:00Z",
            ),
            intent: None,
        }),
        JournalRecord::History(HistoryEntry {
            address: Address::example(name),
            action: if index < 25 {
                HistoryAction::Create
            } else {
                HistoryAction::Update
            },
            job_group_id: format!("jg-{name}"),
            provenance: Provenance {
                commit: Some(format!("{index:040x}")),
                dirty: Some(false),
                source: None,
                actor: Actor::User {
                    user: "tester".into(),
                    host: "ci".into(),
                },
                at: datetime!(2026-11-27 08:00 UTC) + time::Duration::seconds(index as i64),
                request_id: Some(request_id),
                repository_url: None,
                forge: None,
            },
            moved: None,
        }),
    ]
}

/// The request ids of the actions on `name` among the first `count`, newest first.
fn expected(name: &str, count: usize, retain: usize) -> Vec<String> {
    (0..count)
        .rev()
        .filter(|index| group_of(*index) == name)
        .take(retain)
        .map(|index| format!("req-{index:05}"))
        .collect()
}

/// The whole history of `state`, read from `backend`.
async fn history(backend: &impl Backend, state: &State) -> History {
    backend.history(state, HistorySelection::All).await.unwrap()
}

fn recorded(history: &History, name: &str) -> Vec<String> {
    history
        .for_address(&Address::example(name))
        .map(|entry| entry.provenance.request_id.clone().unwrap())
        .collect()
}

/// Appends the 5,000 actions with a compaction after every 500, then checks the history as
/// loaded from `reopen()` (a fresh backend on the same store): complete within the
/// retention, trimmed beyond it. Then lowers the retention with a `retention` record.
async fn exercise<B: Backend, F: std::future::Future<Output = B>>(
    backend: B,
    reopen: impl Fn() -> F,
) {
    backend.create(State::new("history-lineage")).await.unwrap();
    let mut compactions = 0;
    for (batch, indexes) in (0..ACTIONS)
        .collect::<Vec<_>>()
        .chunks(PER_APPEND)
        .enumerate()
    {
        let records: Vec<JournalRecord> = indexes.iter().flat_map(|index| action(*index)).collect();
        backend.append(&records).await.unwrap();
        if (batch + 1) % APPENDS_PER_COMPACTION == 0 {
            let compacted = backend.compact().await.unwrap().state.unwrap();
            compactions += 1;
            let done = (batch + 1) * PER_APPEND;
            // Within the retention, a group's history is complete after every compaction.
            assert_eq!(
                recorded(&history(&backend, &compacted).await, "north"),
                expected("north", done, DEFAULT_RETAIN_PER_GROUP),
                "after {done} actions"
            );
        }
    }
    assert_eq!(compactions, ACTIONS / PER_APPEND / APPENDS_PER_COMPACTION);
    drop(backend);

    let backend = reopen().await;
    let state = backend.load().await.unwrap().state.unwrap();
    let all = history(&backend, &state).await;
    let north = recorded(&all, "north");
    assert_eq!(
        north.len(),
        600,
        "every action of a group under the retention"
    );
    assert_eq!(north, expected("north", ACTIONS, DEFAULT_RETAIN_PER_GROUP));
    for name in ["east", "west"] {
        let kept = recorded(&all, name);
        assert_eq!(kept.len(), DEFAULT_RETAIN_PER_GROUP, "{name}");
        assert_eq!(
            kept,
            expected(name, ACTIONS, DEFAULT_RETAIN_PER_GROUP),
            "{name}"
        );
    }
    assert_eq!(all.len(), 600 + 2 * DEFAULT_RETAIN_PER_GROUP);
    let newest = all.newest_first().next().unwrap();
    assert_eq!(
        newest.provenance.request_id.as_deref(),
        Some(format!("req-{:05}", ACTIONS - 1).as_str())
    );

    // A lower retention, recorded, trims every group at the next compaction and stays.
    backend
        .append(&[JournalRecord::Retention(Retention {
            retain_per_group: 100,
        })])
        .await
        .unwrap();
    backend.compact().await.unwrap();
    drop(backend);
    let backend = reopen().await;
    let state = backend.load().await.unwrap().state.unwrap();
    assert_eq!(state.history_retention, 100);
    let all = history(&backend, &state).await;
    for name in ["north", "east", "west"] {
        assert_eq!(recorded(&all, name), expected(name, ACTIONS, 100), "{name}");
    }
    backend.append(&action(ACTIONS)).await.unwrap();
    backend.compact().await.unwrap();
    let state = backend.load().await.unwrap().state.unwrap();
    let all = history(&backend, &state).await;
    assert_eq!(recorded(&all, group_of(ACTIONS)).len(), 100);
    assert_eq!(
        recorded(&all, group_of(ACTIONS))[0],
        format!("req-{ACTIONS:05}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_survives_compaction_on_the_file_backend() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("state.json");
    let open = || {
        let path = path.clone();
        async move { LocalBackend::open(path, &LockOptions::new("test")).unwrap() }
    };
    exercise(open().await, open).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_survives_compaction_on_postgresql() {
    let Some(database) = support_postgres::database().await else {
        return;
    };
    let open = || {
        let url = database.url.clone();
        async move {
            PostgresBackend::open(&url, "history", &LockOptions::new("test"))
                .await
                .unwrap()
        }
    };
    exercise(open().await, open).await;
    let admin = database.admin().await;
    let rows: i64 = admin
        .query_one(
            "SELECT count(*) FROM cityform_history WHERE workspace = 'history'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 300, "trimmed rows are deleted, not only hidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_database_is_upgraded_in_place_on_first_use() {
    let Some(database) = support_postgres::database().await else {
        return;
    };
    let backend = PostgresBackend::open(&database.url, "default", &LockOptions::new("test"))
        .await
        .unwrap();
    backend
        .create(State::new("upgraded-lineage"))
        .await
        .unwrap();
    backend.append(&action(0)[..1]).await.unwrap();
    backend.compact().await.unwrap();
    drop(backend);
    // Back to version 1's layout, as a database an older cityform made.
    let admin = database.admin().await;
    admin
        .batch_execute(
            "DROP TABLE cityform_history;
             ALTER TABLE cityform_workspaces DROP COLUMN history_retention;
             UPDATE cityform_schema_version SET version = 1;",
        )
        .await
        .unwrap();

    let backend = PostgresBackend::open(&database.url, "default", &LockOptions::new("test"))
        .await
        .unwrap();
    let version: i32 = admin
        .query_one("SELECT version FROM cityform_schema_version", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 2);
    let state = backend.load().await.unwrap().state.unwrap();
    assert_eq!(state.lineage, "upgraded-lineage");
    assert_eq!(state.job_groups.len(), 1, "the groups survive the upgrade");
    assert!(history(&backend, &state).await.is_empty());
    backend.append(&action(1)).await.unwrap();
    backend.compact().await.unwrap();
    drop(backend);
    let backend = PostgresBackend::open(&database.url, "default", &LockOptions::new("test"))
        .await
        .unwrap();
    let state = backend.load().await.unwrap().state.unwrap();
    assert_eq!(
        recorded(&history(&backend, &state).await, group_of(1)),
        ["req-00001"]
    );
}
