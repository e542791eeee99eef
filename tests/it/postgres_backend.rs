//! The PostgreSQL state backend against a real server (`support_postgres`): the backend
//! contract, run on the local backend and on PostgreSQL alike so that both behave the same
//! (serials included); then what only PostgreSQL has: workspaces, the advisory lock and its
//! holder row, fencing, the schema's version, passwords, lost connections.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support_postgres;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cityform::model::{Address, JobGroupSpec};
use cityform::state::journal::{Intent, IntentId, JournalRecord, Operation, Put, Remove, Settle};
use cityform::state::{
    Backend, LocalBackend, LockOptions, PostgresBackend, PostgresError, Recovered, State,
    StateEntry, StateError,
};
use support_postgres::TestDatabase;

// ---------------------------------------------------------------------------------------
// Builders

fn entry(job_group_id: &str) -> StateEntry {
    StateEntry {
        job_group_id: job_group_id.into(),
        spec: JobGroupSpec {
            algo_lib_id: "3".into(),
            resource_profile_id: "6".into(),
            planed_job_count: 10,
            stream_per_job: 5,
            job_count: None,
            params: [("ES_ENABLE".to_owned(), "True".to_owned())]
                .into_iter()
                .collect(),
        },
        request_id: format!("req-{job_group_id}"),
        applied_at: "2026-11-27T08:00:00Z".into(),
        status: None,
        prevent_destroy: false,
    }
}

fn intent(id: &str, name: &str) -> JournalRecord {
    JournalRecord::Intent(Intent {
        id: IntentId(id.into()),
        address: Address::example(name),
        operation: Operation::Create,
        spec: Some(entry("x").spec),
    })
}

fn put(name: &str, job_group_id: &str, intent: Option<&str>) -> JournalRecord {
    JournalRecord::Put(Put {
        address: Address::example(name),
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
        address: Address::example(name),
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
        first
            .job_groups
            .insert(Address::example("a"), entry("jg-a"));
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
        assert_eq!(state.job_groups[&Address::example("a")], entry("jg-a"));
        assert_eq!(state.serial, 1 + 4, "each record counts as a write");
        assert_eq!(ids(&recovered.unresolved), ["i-2", "i-3"]);
        assert!(recovered.warnings.is_empty());
    }

    pub async fn compaction_folds_and_keeps_unresolved_intents(store: &impl Store) {
        let backend = store.open().await;
        let mut first = State::new("lineage-1");
        first
            .job_groups
            .insert(Address::example("kept"), entry("jg-kept"));
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

// ---------------------------------------------------------------------------------------
// What only PostgreSQL has

async fn open_workspace(database: &TestDatabase, workspace: &str) -> PostgresBackend {
    PostgresBackend::open(
        &database.url,
        workspace,
        &LockOptions::new("cityform test").with_timeout(Duration::from_secs(10)),
    )
    .await
    .unwrap()
}

/// The server process of the connection holding `workspace`'s lock.
async fn lock_connection_pid(admin: &tokio_postgres::Client, workspace: &str) -> i32 {
    admin
        .query_one(
            "SELECT lock_backend_pid FROM cityform_workspaces WHERE name = $1",
            &[&workspace],
        )
        .await
        .unwrap()
        .get(0)
}

/// Ends every cityform connection to the database except the one holding `workspace`'s
/// lock; returns how many were ended.
async fn terminate_pool_connections(admin: &tokio_postgres::Client, workspace: &str) -> usize {
    let lock_pid = lock_connection_pid(admin, workspace).await;
    let rows = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'cityform' AND pid <> $1",
            &[&lock_pid],
        )
        .await
        .unwrap();
    rows.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspaces_are_independent_states_in_one_database() {
    let Some(database) = support_postgres::database().await else {
        return;
    };
    let default = open_workspace(&database, "default").await;
    // Held at the same time: each workspace has its own lock.
    let staging = open_workspace(&database, "staging").await;
    default.create(State::new("lineage-default")).await.unwrap();
    staging.create(State::new("lineage-staging")).await.unwrap();
    default.append(&[put("a", "jg-a", None)]).await.unwrap();
    staging
        .append(&[put("b", "jg-b", None), intent("i-1", "c")])
        .await
        .unwrap();
    staging.compact().await.unwrap();

    let default_state = default.load().await.unwrap();
    let staging_state = staging.load().await.unwrap();

    let default_state_only = default_state.state.unwrap();
    assert_eq!(default_state_only.lineage, "lineage-default");
    assert_eq!(names(&default_state_only), ["a"]);
    assert_eq!(default_state_only.serial, 2);
    assert!(default_state.unresolved.is_empty());
    let staging_state_only = staging_state.state.unwrap();
    assert_eq!(staging_state_only.lineage, "lineage-staging");
    assert_eq!(names(&staging_state_only), ["b"]);
    assert_eq!(ids(&staging_state.unresolved), ["i-1"]);
    assert!(
        default.location().ends_with("#default"),
        "{}",
        default.location()
    );
    assert!(
        staging.location().ends_with("#staging"),
        "{}",
        staging.location()
    );

    let error = PostgresBackend::open(&database.url, "no/slash", &LockOptions::new("test"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            StateError::Postgres(PostgresError::InvalidWorkspace { .. })
        ),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_names_the_holder_and_a_killed_holder_frees_the_lock() {
    let Some(database) = support_postgres::database().await else {
        return;
    };
    let holder = PostgresBackend::open(
        &database.url,
        "default",
        &LockOptions::new("cityform apply"),
    )
    .await
    .unwrap();
    holder.create(State::new("lineage-1")).await.unwrap();
    holder.append(&[intent("i-1", "a")]).await.unwrap();

    let error = PostgresBackend::open(&database.url, "default", &LockOptions::new("cityform plan"))
        .await
        .unwrap_err();

    let StateError::Postgres(PostgresError::WorkspaceLocked {
        location,
        holder: Some(shown),
        waited,
    }) = &error
    else {
        panic!("expected a lock conflict naming its holder, got {error:?}");
    };
    assert_eq!(*waited, Duration::ZERO);
    assert_eq!(location, &holder.location());
    assert_eq!(shown.pid, std::process::id());
    assert_eq!(shown.command, "cityform apply");
    assert_eq!(
        error.to_string(),
        format!(
            "state `{location}` is locked by pid {} on host `{}` since {} (`cityform apply`)",
            std::process::id(),
            gethostname::gethostname().to_string_lossy(),
            shown.since
        )
    );
    let hint = error.hint().unwrap();
    assert!(hint.contains("--lock-timeout 60s"), "{hint}");
    assert!(hint.contains("advisory lock"), "{hint}");

    // The holder's lock connection dies (as when its process or its network does).
    let admin = database.admin().await;
    let pid = lock_connection_pid(&admin, "default").await;
    let terminated: bool = admin
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap()
        .get(0);
    assert!(terminated);
    let started = Instant::now();
    let successor = PostgresBackend::open(
        &database.url,
        "default",
        &LockOptions::new("cityform apply").with_timeout(Duration::from_secs(10)),
    )
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));

    // The first holder is fenced off: its writes fail, and nothing of them lands.
    let error = holder
        .append(&[put("a", "jg-a", Some("i-1"))])
        .await
        .unwrap_err();
    assert!(
        matches!(error, StateError::Postgres(PostgresError::LockLost { .. })),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with("lost the lock on state"),
        "{error}"
    );
    let error = holder.compact().await.unwrap_err();
    assert!(
        matches!(error, StateError::Postgres(PostgresError::LockLost { .. })),
        "{error:?}"
    );
    let recovered = successor.load().await.unwrap();
    assert!(recovered.state.unwrap().job_groups.is_empty());
    assert_eq!(ids(&recovered.unresolved), ["i-1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_waits_for_the_holder_and_stale_holder_rows_block_nothing() {
    let Some(database) = support_postgres::database().await else {
        return;
    };
    let first = open_workspace(&database, "default").await;
    let releaser = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        first.close().await.unwrap();
    });
    let started = Instant::now();
    let second = PostgresBackend::open(
        &database.url,
        "default",
        &LockOptions::new("second").with_timeout(Duration::from_secs(10)),
    )
    .await
    .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));
    releaser.await.unwrap();

    // A give-up at the deadline says how long it waited.
    let started = Instant::now();
    let error = PostgresBackend::open(
        &database.url,
        "default",
        &LockOptions::new("third").with_timeout(Duration::from_millis(200)),
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(
        error.hint().unwrap().starts_with("waited 0.2s"),
        "{:?}",
        error.hint()
    );
    second.close().await.unwrap();

    // A holder row left by a process that died, pointing at a live but unrelated session.
    let admin = database.admin().await;
    let unrelated_pid: i32 = admin
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    admin
        .execute(
            "UPDATE cityform_workspaces SET lock_token = 'stale', lock_backend_pid = $1,
                 lock_pid = 4242, lock_host = 'ci-7', lock_since = '2026-11-27T08:00:00Z',
                 lock_command = 'cityform apply'
             WHERE name = 'default'",
            &[&unrelated_pid],
        )
        .await
        .unwrap();
    let backend = PostgresBackend::open(&database.url, "default", &LockOptions::new("fresh"))
        .await
        .unwrap();
    let (pid, command): (i64, String) = admin
        .query_one(
            "SELECT lock_pid, lock_command FROM cityform_workspaces WHERE name = 'default'",
            &[],
        )
        .await
        .map(|row| (row.get(0), row.get(1)))
        .unwrap();
    assert_eq!(
        (pid, command.as_str()),
        (i64::from(std::process::id()), "fresh")
    );
    drop(backend);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_is_made_once_and_a_newer_one_is_refused() {
    let Some(database) = support_postgres::database().await else {
        return;
    };
    // Several runs meeting an empty database at once make the tables once.
    let opened = futures_util::future::join_all(
        ["a", "b", "c", "d"].map(|workspace| open_workspace(&database, workspace)),
    )
    .await;
    drop(opened);
    let admin = database.admin().await;
    let versions: Vec<i32> = admin
        .query("SELECT version FROM cityform_schema_version", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, [cityform::state::SCHEMA_VERSION]);

    admin
        .execute("UPDATE cityform_schema_version SET version = 99", &[])
        .await
        .unwrap();
    let error = PostgresBackend::open(&database.url, "default", &LockOptions::new("test"))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "PostgreSQL state `{}#default` uses schema version 99, but this build knows up to {}; upgrade cityform",
            database.url,
            cityform::state::SCHEMA_VERSION
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_never_appears_in_locations_or_errors() {
    let Some(database) = support_postgres::database().await else {
        return;
    };
    let Some(tcp) = database.tcp_url("deployer") else {
        support_postgres::skip("the password test needs a cluster made by the test support");
        return;
    };
    let admin = database.admin().await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE deployer LOGIN PASSWORD 'Sup3r-s3cret';
             GRANT ALL ON DATABASE {} TO deployer;
             GRANT ALL ON SCHEMA public TO deployer;",
            database.name
        ))
        .await
        .unwrap();
    let with_password = tcp.replace("deployer@", "deployer:Sup3r-s3cret@");

    let backend = PostgresBackend::open(&with_password, "default", &LockOptions::new("test"))
        .await
        .unwrap();
    backend.create(State::new("lineage-1")).await.unwrap();
    assert_eq!(backend.location(), format!("{tcp}#default"),);
    assert!(!format!("{backend:?}").contains("Sup3r"));

    let wrong = tcp.replace("deployer@", "deployer:Wr0ng-s3cret@");
    let error = PostgresBackend::open(&wrong, "other", &LockOptions::new("test"))
        .await
        .unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(
        matches!(
            error,
            StateError::Postgres(PostgresError::DatabaseConnect { .. })
        ),
        "{error:?}"
    );
    assert!(shown.contains("password authentication failed"), "{shown}");
    assert!(error.hint().unwrap().contains("`PGPASSWORD`"));
    assert!(
        !shown.contains("Wr0ng") && !shown.contains("Sup3r"),
        "{shown}"
    );

    let unparsable = format!("{with_password}?colour=blue");
    let error = PostgresBackend::open(&unparsable, "other", &LockOptions::new("test"))
        .await
        .unwrap_err();
    assert!(!format!("{error} {error:?}").contains("Sup3r"), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_first_run_reading_and_writing_rights_are_enough() {
    let Some(database) = support_postgres::database().await else {
        return;
    };
    let admin = database.admin().await;
    admin
        .batch_execute(
            "CREATE ROLE operator LOGIN;
             REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
        )
        .await
        .unwrap();
    let operator_url = database.url.replace("cityform_admin@", "operator@");

    // Without the tables, and without CREATE, the first run says what is missing.
    let error = PostgresBackend::open(&operator_url, "default", &LockOptions::new("test"))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("permission denied for schema public (SQLSTATE 42501)"),
        "{error}"
    );
    assert!(
        error
            .hint()
            .unwrap()
            .contains("needs `CREATE` on the schema")
    );

    // Once someone with CREATE has run it, the documented grants suffice.
    drop(open_workspace(&database, "default").await);
    admin
        .batch_execute(
            "GRANT USAGE ON SCHEMA public TO operator;
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO operator;
             GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO operator;",
        )
        .await
        .unwrap();
    let backend = PostgresBackend::open(
        &operator_url,
        "default",
        &LockOptions::new("test").with_timeout(Duration::from_secs(10)),
    )
    .await
    .unwrap();
    backend.create(State::new("lineage-1")).await.unwrap();
    backend
        .append(&[intent("i-1", "a"), put("a", "jg-a", Some("i-1"))])
        .await
        .unwrap();
    backend.append(&[intent("i-2", "b")]).await.unwrap();
    let compacted = backend.compact().await.unwrap();
    assert_eq!(names(compacted.state.as_ref().unwrap()), ["a"]);
    assert_eq!(ids(&compacted.unresolved), ["i-2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_survive_lost_connections_and_an_interrupted_write_says_so() {
    let Some(database) = support_postgres::database().await else {
        return;
    };
    let backend = open_workspace(&database, "default").await;
    backend.create(State::new("lineage-1")).await.unwrap();
    backend.append(&[put("a", "jg-a", None)]).await.unwrap();
    backend.load().await.unwrap();
    let admin = database.admin().await;

    // Every pooled connection is gone: the read is retried on a new one.
    assert!(terminate_pool_connections(&admin, "default").await >= 1);
    let recovered = backend.load().await.unwrap();
    assert_eq!(names(recovered.state.as_ref().unwrap()), ["a"]);

    // A write in flight when its connection dies: held up by a row lock, then cut off.
    let mut blocker = database.admin().await;
    let blocking = blocker.transaction().await.unwrap();
    blocking
        .execute(
            "SELECT 1 FROM cityform_workspaces WHERE name = 'default' FOR UPDATE",
            &[],
        )
        .await
        .unwrap();
    let killer = async {
        loop {
            let waiting = admin
                .query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = current_database() AND application_name = 'cityform'
                       AND wait_event_type = 'Lock'",
                    &[],
                )
                .await
                .unwrap();
            if !waiting.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let record = [put("b", "jg-b", None)];
    let (appended, ()) = tokio::join!(backend.append(&record), killer);
    blocking.rollback().await.unwrap();

    let error = appended.unwrap_err();
    assert!(
        matches!(
            error,
            StateError::Postgres(PostgresError::DatabaseCommitUnknown { .. })
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("may or may not have been committed"),
        "{message}"
    );
    assert!(
        error.hint().unwrap().contains("looked up by name"),
        "{:?}",
        error.hint()
    );

    // Nothing acknowledged was lost, and the backend goes on with new connections.
    let recovered = backend.load().await.unwrap();
    assert_eq!(names(recovered.state.as_ref().unwrap()), ["a"]);
    backend.append(&[put("c", "jg-c", None)]).await.unwrap();
    assert_eq!(
        names(backend.compact().await.unwrap().state.as_ref().unwrap()),
        ["a", "c"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_row_is_named_and_left_alone() {
    let Some(database) = support_postgres::database().await else {
        return;
    };
    let backend = open_workspace(&database, "default").await;
    backend.create(State::new("lineage-1")).await.unwrap();
    backend
        .append(&[intent("i-1", "a"), put("a", "jg-a", Some("i-1"))])
        .await
        .unwrap();
    let admin = database.admin().await;
    admin
        .execute(
            "UPDATE cityform_journal SET record = record || '{\"colour\": \"blue\"}'
             WHERE position = 2",
            &[],
        )
        .await
        .unwrap();

    let error = backend.load().await.unwrap_err();
    let compact_error = backend.compact().await.unwrap_err();

    let message = error.to_string();
    assert!(
        message.contains("holds an unreadable journal record (batch ")
            && message.contains(", position 2): unknown field `colour`"),
        "{message}"
    );
    assert_eq!(compact_error.to_string(), message);
    let rows: i64 = admin
        .query_one("SELECT count(*) FROM cityform_journal", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 2, "compaction changed nothing");
}

/// Set for the child process of the password test: a connection string without password.
const PASSWORD_CHILD_URL: &str = "CITYFORM_TEST_PASSWORD_CHILD_URL";

/// The child of [`the_password_comes_from_pgpassword_or_the_password_file`]: opens the
/// workspace with the environment its parent gave it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of the password test, which runs it"]
async fn password_child_opens_the_workspace() {
    let url = std::env::var(PASSWORD_CHILD_URL).expect("only the password test runs this");
    let backend = PostgresBackend::open(&url, "default", &LockOptions::new("child"))
        .await
        .unwrap_or_else(|error| panic!("child: {error}"));
    backend.load().await.unwrap();
}

#[test]
fn the_password_comes_from_pgpassword_or_the_password_file() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(database) = runtime.block_on(support_postgres::database()) else {
        return;
    };
    let Some(url) = database.tcp_url("env_deployer") else {
        support_postgres::skip("the password test needs a cluster made by the test support");
        return;
    };
    runtime.block_on(async {
        database
            .admin()
            .await
            .batch_execute(&format!(
                "CREATE ROLE env_deployer LOGIN PASSWORD 'Fr0m-the-env';
                 GRANT ALL ON DATABASE {} TO env_deployer;
                 GRANT ALL ON SCHEMA public TO env_deployer;",
                database.name
            ))
            .await
            .unwrap();
    });
    let home = tempfile::tempdir().unwrap();
    let child = |variables: &[(&str, &str)]| {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "--ignored",
                "--exact",
                "postgres_backend::password_child_opens_the_workspace",
            ])
            .env(PASSWORD_CHILD_URL, &url)
            .env("HOME", home.path())
            .env_remove("PGPASSWORD")
            .env_remove("PGPASSFILE");
        for (name, value) in variables {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(!text.contains("Fr0m-the-env"), "{text}");
        (output.status.success(), text)
    };

    let (opened, text) = child(&[]);
    assert!(!opened, "no password anywhere: {text}");
    assert!(
        text.contains("child: cannot connect to PostgreSQL state"),
        "{text}"
    );

    let (opened, text) = child(&[("PGPASSWORD", "Fr0m-the-env")]);
    assert!(opened, "{text}");

    let port = url.rsplit_once(':').unwrap().1.split('/').next().unwrap();
    let password_file = home.path().join(".pgpass");
    std::fs::write(
        &password_file,
        format!(
            "127.0.0.1:{port}:{}:env_deployer:Fr0m-the-env\n",
            database.name
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (opened, text) = child(&[]);
    assert!(opened, "~/.pgpass: {text}");

    let elsewhere = home.path().join("elsewhere");
    std::fs::rename(&password_file, &elsewhere).unwrap();
    let (opened, text) = child(&[("PGPASSFILE", elsewhere.to_str().unwrap())]);
    assert!(opened, "PGPASSFILE: {text}");
}
