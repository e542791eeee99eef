//! The PostgreSQL state backend against a real server (`support_postgres`): the backend
//! contract, run on the local backend and on PostgreSQL alike so that both behave the same
//! (serials included); then what only PostgreSQL has: workspaces, the advisory lock and its
//! holder row, fencing, the schema's version, passwords, lost connections.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support_postgres;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cityform::model::{Address, JobGroupSpec};
use cityform::state::journal::{Intent, IntentId, JournalRecord, Operation, Put, Remove, Settle};
use cityform::state::{
    Backend, LocalBackend, LockOptions, PostgresBackend, Recovered, State, StateEntry, StateError,
};
use support_postgres::TestDatabase;

// ---------------------------------------------------------------------------------------
// Builders

fn address(name: &str) -> Address {
    Address::new("cn-shanghai", "cityvisual-Instance", name)
}

fn entry(job_group_id: &str) -> StateEntry {
    StateEntry {
        job_group_id: job_group_id.into(),
        spec: JobGroupSpec {
            algo_lib_id: "3".into(),
            resource_profile_id: "6".into(),
            planed_job_count: 10,
            stream_per_job: 5,
            job_count: None,
            params: BTreeMap::from([("ES_ENABLE".to_owned(), "True".to_owned())]),
        },
        request_id: format!("req-{job_group_id}"),
        applied_at: "2026-11-27T08:00:00Z".into(),
    }
}

fn intent(id: &str, name: &str) -> JournalRecord {
    JournalRecord::Intent(Intent {
        id: IntentId(id.into()),
        address: address(name),
        operation: Operation::Create,
        spec: Some(entry("x").spec),
    })
}

fn put(name: &str, job_group_id: &str, intent: Option<&str>) -> JournalRecord {
    JournalRecord::Put(Put {
        address: address(name),
        entry: entry(job_group_id),
        intent: intent.map(|id| IntentId(id.into())),
    })
}

fn settle(id: &str) -> JournalRecord {
    JournalRecord::Settle(Settle {
        id: IntentId(id.into()),
    })
}

fn remove(name: &str) -> JournalRecord {
    JournalRecord::Remove(Remove {
        address: address(name),
        intent: None,
    })
}

fn names(state: &State) -> Vec<&str> {
    state.job_groups.keys().map(|a| a.name.as_str()).collect()
}

fn ids(intents: &[Intent]) -> Vec<&str> {
    intents.iter().map(|intent| intent.id.0.as_str()).collect()
}

// ---------------------------------------------------------------------------------------
// Where a state lives, for the contract

/// A place a state lives in; each `open` locks it anew, as a new run would.
trait Store {
    type Backend: Backend + std::fmt::Debug;
    /// Opens with a lock timeout (a dropped PostgreSQL backend frees its lock once the
    /// server has seen its connection close, a moment later).
    async fn open(&self) -> Self::Backend;
    /// Opens without waiting, recording `command` as the holder's.
    async fn try_open(&self, command: &str) -> Result<Self::Backend, StateError>;
}

struct LocalStore {
    directory: tempfile::TempDir,
}

impl LocalStore {
    fn new() -> Self {
        Self {
            directory: tempfile::tempdir().unwrap(),
        }
    }
}

impl Store for LocalStore {
    type Backend = LocalBackend;

    async fn open(&self) -> LocalBackend {
        self.try_open("cityform test").await.unwrap()
    }

    async fn try_open(&self, command: &str) -> Result<LocalBackend, StateError> {
        LocalBackend::open(
            self.directory.path().join(".cityform/state.json"),
            &LockOptions::new(command),
        )
    }
}

struct PostgresStore {
    database: TestDatabase,
    workspace: String,
}

impl PostgresStore {
    async fn new() -> Option<Self> {
        Some(Self {
            database: support_postgres::database().await?,
            workspace: "default".into(),
        })
    }
}

impl Store for PostgresStore {
    type Backend = PostgresBackend;

    async fn open(&self) -> PostgresBackend {
        PostgresBackend::open(
            &self.database.url,
            &self.workspace,
            &LockOptions::new("cityform test").with_timeout(Duration::from_secs(10)),
        )
        .await
        .unwrap()
    }

    async fn try_open(&self, command: &str) -> Result<PostgresBackend, StateError> {
        PostgresBackend::open(
            &self.database.url,
            &self.workspace,
            &LockOptions::new(command),
        )
        .await
    }
}

// ---------------------------------------------------------------------------------------
// The contract

mod contract {
    use super::*;

    pub async fn a_missing_state_loads_as_none(store: &impl Store) {
        let backend = store.open().await;
        let empty = Recovered {
            state: None,
            unresolved: vec![],
            warnings: vec![],
        };
        assert_eq!(backend.load().await.unwrap(), empty);
        assert_eq!(backend.compact().await.unwrap(), empty);
    }

    pub async fn create_writes_serial_one_and_refuses_a_second_time(store: &impl Store) {
        let backend = store.open().await;
        let mut first = State::new("lineage-1");
        first.job_groups.insert(address("a"), entry("jg-a"));
        let created = backend.create(first).await.unwrap();
        assert_eq!(created.serial, 1);
        assert_eq!(backend.load().await.unwrap().state, Some(created.clone()));
        let error = backend.create(State::new("lineage-2")).await.unwrap_err();
        assert!(error.to_string().ends_with("already exists"), "{error}");
        drop(backend);
        assert_eq!(
            store.open().await.load().await.unwrap().state,
            Some(created)
        );
    }

    pub async fn appending_before_a_state_exists_is_refused(store: &impl Store) {
        let backend = store.open().await;
        let error = backend.append(&[intent("i-1", "a")]).await.unwrap_err();
        assert!(error.to_string().contains("does not exist yet"), "{error}");
        assert_eq!(backend.load().await.unwrap().state, None);
    }

    pub async fn records_survive_a_crash_with_their_intents_open(store: &impl Store) {
        {
            let backend = store.open().await;
            backend.create(State::new("lineage-1")).await.unwrap();
            backend
                .append(&[intent("i-1", "a"), intent("i-2", "b")])
                .await
                .unwrap();
            backend
                .append(&[put("a", "jg-a", Some("i-1"))])
                .await
                .unwrap();
            backend.append(&[intent("i-3", "c")]).await.unwrap();
            // Dropped without compacting: as a crash leaves it.
        }
        let recovered = store.open().await.load().await.unwrap();
        let state = recovered.state.unwrap();
        assert_eq!(names(&state), ["a"]);
        assert_eq!(state.job_groups[&address("a")], entry("jg-a"));
        assert_eq!(state.serial, 1 + 4, "each record counts as a write");
        assert_eq!(ids(&recovered.unresolved), ["i-2", "i-3"]);
        assert!(recovered.warnings.is_empty());
    }

    pub async fn compaction_folds_and_keeps_unresolved_intents(store: &impl Store) {
        let backend = store.open().await;
        let mut first = State::new("lineage-1");
        first.job_groups.insert(address("kept"), entry("jg-kept"));
        backend.create(first).await.unwrap();
        backend
            .append(&[
                intent("i-1", "a"),
                intent("i-2", "b"),
                put("a", "jg-a", Some("i-1")),
                put("old", "jg-old", None),
                remove("old"),
            ])
            .await
            .unwrap();

        let compacted = backend.compact().await.unwrap();

        let state = compacted.state.clone().unwrap();
        // 1 (created) + 5 records + 1 (this write) + 1 kept intent.
        assert_eq!(state.serial, 8);
        assert_eq!(names(&state), ["a", "kept"]);
        assert_eq!(ids(&compacted.unresolved), ["i-2"]);
        assert_eq!(backend.load().await.unwrap(), compacted, "a load agrees");

        drop(backend);
        let backend = store.open().await;
        let reloaded = backend.load().await.unwrap();
        assert_eq!(reloaded.state, Some(state));
        assert_eq!(ids(&reloaded.unresolved), ["i-2"]);
        backend.append(&[settle("i-2")]).await.unwrap();
        let compacted = backend.compact().await.unwrap();
        assert!(compacted.unresolved.is_empty());
        assert_eq!(compacted.state.unwrap().serial, 10);
        let compacted_again = backend.compact().await.unwrap();
        assert_eq!(compacted_again.state.unwrap().serial, 10, "nothing to fold");
    }

    /// The sequence of serials a run sees; compared across backends by the test below.
    pub async fn serials_of_a_typical_history(store: &impl Store) -> Vec<u64> {
        let backend = store.open().await;
        let mut serials = Vec::new();
        let serial = |recovered: Recovered| recovered.state.unwrap().serial;
        backend.create(State::new("lineage-1")).await.unwrap();
        serials.push(serial(backend.load().await.unwrap()));
        backend.append(&[intent("i-1", "a")]).await.unwrap();
        serials.push(serial(backend.load().await.unwrap()));
        serials.push(serial(backend.compact().await.unwrap()));
        serials.push(serial(backend.load().await.unwrap()));
        backend
            .append(&[put("a", "jg-a", Some("i-1"))])
            .await
            .unwrap();
        serials.push(serial(backend.load().await.unwrap()));
        serials.push(serial(backend.compact().await.unwrap()));
        serials.push(serial(backend.compact().await.unwrap()));
        backend
            .append(&[
                intent("i-2", "b"),
                intent("i-3", "c"),
                put("b", "jg-b", Some("i-2")),
            ])
            .await
            .unwrap();
        serials.push(serial(backend.compact().await.unwrap()));
        serials.push(serial(backend.compact().await.unwrap()));
        drop(backend);
        serials.push(serial(store.open().await.load().await.unwrap()));
        serials
    }

    pub async fn every_change_raises_the_serial(store: &impl Store) {
        let serials = serials_of_a_typical_history(store).await;
        assert_eq!(serials[..6], [1, 2, 4, 4, 5, 6]);
        assert!(
            serials.windows(2).all(|pair| pair[0] <= pair[1]),
            "{serials:?}"
        );
    }

    pub async fn concurrent_appends_all_land(store: &impl Store) {
        let backend = Arc::new(store.open().await);
        backend.create(State::new("lineage-1")).await.unwrap();
        let mut tasks = Vec::new();
        for worker in 0..16 {
            let backend = Arc::clone(&backend);
            tasks.push(async move {
                for index in 0..10 {
                    let name = format!("group-{worker}-{index}");
                    let id = format!("i-{worker}-{index}");
                    backend.append(&[intent(&id, &name)]).await.unwrap();
                    backend
                        .append(&[put(&name, "jg", Some(&id))])
                        .await
                        .unwrap();
                }
            });
        }
        futures_util::future::join_all(tasks).await;
        let recovered = backend.compact().await.unwrap();
        let state = recovered.state.unwrap();
        assert_eq!(state.job_groups.len(), 160);
        assert!(recovered.unresolved.is_empty());
        assert_eq!(state.serial, 1 + 320 + 1);
    }

    pub async fn the_backend_holds_the_lock_while_it_lives(store: &impl Store) {
        let backend = store.try_open("cityform apply").await.unwrap();
        let error = store.try_open("cityform plan").await.unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(&format!(
                "is locked by pid {} on host `",
                std::process::id()
            )),
            "{message}"
        );
        assert!(message.ends_with("(`cityform apply`)"), "{message}");
        assert!(error.hint().unwrap().contains("--lock-timeout 60s"));
        drop(backend);
        store.open().await;
    }
}

/// One test per contract item and backend.
macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::contract::$name(&super::LocalStore::new()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(store) = super::PostgresStore::new().await else { return };
                    super::contract::$name(&store).await;
                }
            )*
        }
    };
}

contract_tests!(
    a_missing_state_loads_as_none,
    create_writes_serial_one_and_refuses_a_second_time,
    appending_before_a_state_exists_is_refused,
    records_survive_a_crash_with_their_intents_open,
    compaction_folds_and_keeps_unresolved_intents,
    every_change_raises_the_serial,
    concurrent_appends_all_land,
    the_backend_holds_the_lock_while_it_lives,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_report_the_same_serials_for_the_same_history() {
    let Some(postgres) = PostgresStore::new().await else {
        return;
    };
    let on_postgres = contract::serials_of_a_typical_history(&postgres).await;
    let on_files = contract::serials_of_a_typical_history(&LocalStore::new()).await;
    assert_eq!(on_postgres, on_files);
    assert_eq!(on_files, [1, 2, 4, 4, 5, 6, 6, 11, 13, 13]);
}
