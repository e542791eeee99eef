//! The PostgreSQL state under the apply executor and across processes: concurrent runs on
//! one workspace, a run killed between its intent and its result, and copying states
//! between the file and PostgreSQL backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::apply_support;
use crate::support_postgres;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apply_support::*;
use cityform::apply::ApplyReport;
use cityform::cloud::CloudClient;
use cityform::emulator::{EmulatorConfig, Faults};
use cityform::provenance::RunContext;
use cityform::reconcile::Reconciled;
use cityform::state::journal::{Intent, IntentId, JournalRecord, Operation, Put};
use cityform::state::{
    Backend, History, HistorySelection, LocalBackend, LockOptions, MigrateError, MigrateOutcome,
    PostgresBackend, State, StateEntry, StateError, migrate,
};
use cityform::state::{HistoryAction, HistoryEntry};

/// Load, resolve, plan and execute `names` on `backend`, through the library's reconcile.
async fn apply_names(
    backend: &impl Backend,
    client: &CloudClient,
    names: &[String],
) -> ApplyReport {
    match reconcile_collecting(backend, client, &desired(names), &options(4))
        .await
        .0
    {
        Reconciled::Applied { report, .. } | Reconciled::NothingToApply { report, .. } => report,
        Reconciled::Cancelled => panic!("an unattended run is never cancelled"),
    }
}

fn group_names(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|index| format!("group-{index:03}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_runs_take_turns_and_create_each_group_once() {
    within(async {
        let Some(database) = support_postgres::database().await else {
            return;
        };
        let harness = Harness::new().await;
        let holding = Arc::new(AtomicUsize::new(0));
        let most_holding = Arc::new(AtomicUsize::new(0));
        let mut runs = Vec::new();
        for run in 0..8 {
            // Overlapping halves: run n wants groups 5n..5n+10.
            let names = group_names(5 * run..5 * run + 10);
            let url = database.url.clone();
            let client = harness.client.clone();
            let holding = Arc::clone(&holding);
            let most_holding = Arc::clone(&most_holding);
            runs.push(tokio::spawn(async move {
                let backend = PostgresBackend::open(
                    &url,
                    "default",
                    &LockOptions::new(format!("cityform apply (run {run})"))
                        .with_timeout(Duration::from_secs(100)),
                )
                .await
                .unwrap();
                let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                most_holding.fetch_max(now, Ordering::SeqCst);
                let report = apply_names(&backend, &client, &names).await;
                holding.fetch_sub(1, Ordering::SeqCst);
                backend.close().await.unwrap();
                report
            }));
        }
        let mut created = 0;
        for run in runs {
            let report = run.await.unwrap();
            assert!(report.is_complete(), "{report:#?}");
            assert!(report.failed.is_empty(), "{report:#?}");
            created += report.created.len();
        }

        assert_eq!(
            most_holding.load(Ordering::SeqCst),
            1,
            "one holder at a time"
        );
        let emulator = harness.emulator_ids(); // checks that no name exists twice
        assert_eq!(
            emulator.keys().cloned().collect::<Vec<_>>(),
            group_names(0..45)
        );
        assert_eq!(created, 45);
        assert_eq!(harness.creates_sent(), 45);
        let backend = PostgresBackend::open(&database.url, "default", &LockOptions::new("check"))
            .await
            .unwrap();
        let recovered = backend.load().await.unwrap();
        assert_eq!(recorded_ids(&recovered.state.unwrap()), emulator);
        assert!(recovered.unresolved.is_empty());
    })
    .await;
}

/// Set for the child process of the crash test: the database it runs against.
const CRASH_CHILD_URL: &str = "CITYFORM_TEST_CRASH_CHILD_URL";

/// The child of [`a_run_killed_between_intent_and_result_leaves_the_intent_and_frees_the_lock`]:
/// applies one group against an emulator that answers only after a minute, and is killed
/// while it waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of the crash test, which runs it"]
async fn crash_child_applies_until_killed() {
    let url = std::env::var(CRASH_CHILD_URL).expect("only the crash test runs this");
    let emulator = cityform::emulator::start(EmulatorConfig {
        faults: Faults {
            latency: Duration::from_secs(60),
            ..Faults::default()
        },
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let client = client_for(&emulator.endpoint(), &emulator, 1);
    let backend = PostgresBackend::open(&url, "default", &LockOptions::new("crash child"))
        .await
        .unwrap();
    apply_names(&backend, &client, &["doomed".to_owned()]).await;
    panic!("the create was answered before the child was killed");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_between_intent_and_result_leaves_the_intent_and_frees_the_lock() {
    within(async {
        let Some(database) = support_postgres::database().await else {
            return;
        };
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "postgres_apply::crash_child_applies_until_killed",
            ])
            .env(CRASH_CHILD_URL, &database.url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let admin = database.admin().await;
        let started = Instant::now();
        loop {
            // An error means the child has not made the tables yet.
            let intents: i64 = admin
                .query_one(
                    "SELECT count(*) FROM cityform_journal WHERE record->>'kind' = 'intent'",
                    &[],
                )
                .await
                .map_or(0, |row| row.get(0));
            if intents > 0 {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "the child ended by itself"
            );
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no intent appeared"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The child holds the lock while its create is in flight.
        let error = PostgresBackend::open(&database.url, "default", &LockOptions::new("test"))
            .await
            .unwrap_err();
        assert!(error.to_string().ends_with("(`crash child`)"), "{error}");

        child.kill().unwrap(); // SIGKILL: no clean-up of any kind
        child.wait().unwrap();

        let backend = PostgresBackend::open(
            &database.url,
            "default",
            &LockOptions::new("next run").with_timeout(Duration::from_secs(10)),
        )
        .await
        .unwrap();
        let recovered = backend.load().await.unwrap();
        assert!(recovered.state.as_ref().unwrap().job_groups.is_empty());
        let [intent] = &recovered.unresolved[..] else {
            panic!("expected one unresolved intent: {:?}", recovered.unresolved);
        };
        assert_eq!(intent.address, address("doomed"));
        assert_eq!(intent.operation, Operation::Create);

        // The next run resolves it (the create never reached this emulator) and creates
        // the group once.
        let harness = Harness::new().await;
        let report = apply_names(&backend, &harness.client, &["doomed".to_owned()]).await;
        assert_eq!(report.created.len(), 1, "{report:#?}");
        assert_eq!(harness.emulator_ids().len(), 1);
        let recovered = backend.load().await.unwrap();
        assert!(recovered.unresolved.is_empty());
        assert_eq!(
            recorded_ids(&recovered.state.unwrap()),
            harness.emulator_ids()
        );
    })
    .await;
}

fn entry(job_group_id: &str) -> StateEntry {
    StateEntry::new(
        job_group_id,
        spec(),
        format!("req-{job_group_id}"),
        "2026-11-27T08:00:00Z",
    )
}

fn put(name: &str, job_group_id: &str) -> JournalRecord {
    JournalRecord::Put(Put {
        address: address(name),
        entry: entry(job_group_id),
        intent: None,
    })
}

fn intent(id: &str, name: &str) -> JournalRecord {
    JournalRecord::Intent(Intent {
        id: IntentId(id.into()),
        address: address(name),
        operation: Operation::Create,
        spec: Some(spec()),
    })
}

/// The `history` record of a create of `name`, recorded by `tester@host`.
fn created(name: &str, job_group_id: &str) -> JournalRecord {
    let context = RunContext::without_git(
        None,
        &std::collections::BTreeMap::from([("USER".to_owned(), "tester".to_owned())]),
        "host",
    );
    JournalRecord::History(HistoryEntry {
        address: address(name),
        action: HistoryAction::Create,
        job_group_id: job_group_id.to_owned(),
        provenance: context.for_group(None, Some("R")),
        moved: None,
    })
}

fn local(directory: &tempfile::TempDir) -> LocalBackend {
    LocalBackend::open(
        directory.path().join("state.json"),
        &LockOptions::new("test"),
    )
    .unwrap()
}

/// Groups and unresolved intent ids: what a copy must keep.
/// Every recorded action of the state in `backend`.
async fn whole_history(backend: &impl Backend) -> History {
    let state = backend.load().await.unwrap().state.unwrap();
    backend
        .history(&state, HistorySelection::All)
        .await
        .unwrap()
}

async fn content(backend: &impl Backend) -> (String, Vec<(String, StateEntry)>, Vec<String>) {
    let recovered = backend.load().await.unwrap();
    let state = recovered.state.unwrap();
    (
        state.lineage,
        state
            .job_groups
            .into_iter()
            .map(|(address, entry)| (address.to_string(), entry))
            .collect(),
        recovered
            .unresolved
            .iter()
            .map(|intent| intent.id.0.clone())
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_goes_from_file_to_postgres_and_back_without_loss() {
    let Some(database) = support_postgres::database().await else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let file = local(&directory);
    let postgres = PostgresBackend::open(&database.url, "default", &LockOptions::new("test"))
        .await
        .unwrap();
    assert_eq!(
        migrate(&file, &postgres).await.unwrap().outcome,
        MigrateOutcome::NothingToCopy
    );
    assert_eq!(
        postgres.load().await.unwrap().state,
        None,
        "nothing written"
    );

    file.create(State::new("lineage-file")).await.unwrap();
    file.append(&[put("a", "jg-a"), put("b", "jg-b"), intent("i-1", "c")])
        .await
        .unwrap();
    file.compact().await.unwrap();
    let file_serial = file.load().await.unwrap().state.unwrap().serial;

    let report = migrate(&file, &postgres).await.unwrap();

    assert_eq!(report.outcome, MigrateOutcome::Created);
    assert_eq!(report.lineage.as_deref(), Some("lineage-file"));
    assert_eq!((report.job_groups, report.unresolved), (2, 1));
    assert!(report.serial.unwrap() > file_serial, "{report:?}");
    assert_eq!(content(&postgres).await, content(&file).await);

    // A change on PostgreSQL, copied back into the file with its history.
    postgres
        .append(&[put("d", "jg-d"), created("d", "jg-d")])
        .await
        .unwrap();
    postgres.compact().await.unwrap();
    let report = migrate(&postgres, &file).await.unwrap();
    assert_eq!(report.outcome, MigrateOutcome::Updated { records: 2 });
    assert_eq!(content(&file).await, content(&postgres).await);
    let copied = whole_history(&file).await;
    assert_eq!(copied.len(), 1);
    assert_eq!(copied, whole_history(&postgres).await);
    let (lineage, groups, unresolved) = content(&file).await;
    assert_eq!(lineage, "lineage-file");
    assert_eq!(groups.len(), 3);
    assert_eq!(unresolved, ["i-1"]);

    // Equal already: nothing to append.
    let report = migrate(&file, &postgres).await.unwrap();
    assert_eq!(report.outcome, MigrateOutcome::Updated { records: 0 });

    // The destination has a change the source lacks: copying would lose it.
    postgres.append(&[put("e", "jg-e")]).await.unwrap();
    postgres.compact().await.unwrap();
    let before = content(&postgres).await;
    let error = migrate(&file, &postgres).await.unwrap_err();
    assert!(
        matches!(
            error,
            StateError::Migrate(MigrateError::WouldLoseChanges { .. })
        ),
        "{error:?}"
    );
    assert!(error.hint().unwrap().contains("copy it the other way"));
    assert_eq!(content(&postgres).await, before);

    // Another state's lineage is never overwritten.
    let other = PostgresBackend::open(&database.url, "other", &LockOptions::new("test"))
        .await
        .unwrap();
    other.create(State::new("lineage-other")).await.unwrap();
    other.append(&[put("x", "jg-x")]).await.unwrap();
    let before = content(&other).await;
    let error = migrate(&file, &other).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "cannot copy state `{}` (lineage `lineage-file`) into `{}`: it holds another state (lineage `lineage-other`)",
            file.location(),
            other.location()
        )
    );
    assert_eq!(content(&other).await, before);
}
