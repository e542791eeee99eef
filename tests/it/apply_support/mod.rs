//! Shared by the `apply_*` tests: an in-process emulator, a local state in a temporary
//! directory, a client with tiny retry delays, plans built from names, and a proxy that
//! counts how many requests the emulator has in hand at once.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use cityform::apply::{ApplyEvent, ApplyOptions, ApplyReport, Pacing, execute};
use cityform::cloud::{
    ClientOptions, CloudClient, Connection, Credentials, Endpoints, RetryPolicy,
};
use cityform::emulator::{BUILT_IN_INSTANCE_ID, EmulatorConfig, EmulatorHandle, Faults};
use cityform::manifest::{Desired, DesiredGroup, SourceLocation};
use cityform::model::{Address, JobGroupSpec};
use cityform::plan::Plan;
use cityform::reconcile::{self, PlanRequest, Reconciled, Request, Source, Unattended};
use cityform::state::journal::{Intent, IntentId, JournalRecord, Operation};
use cityform::state::{Backend, LocalBackend, LockOptions, State};
use tempfile::TempDir;
use tokio::sync::mpsc;

pub const REGION: &str = "cn-shanghai";
pub const INSTANCE: &str = BUILT_IN_INSTANCE_ID;

/// Every scenario must finish well within this; a hang is a failure, not a stuck build.
pub async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), future)
        .await
        .expect("scenario took longer than 120 s")
}

/// An emulator, a client pointed at it, and a directory for the state.
pub struct Harness {
    pub emulator: EmulatorHandle,
    pub client: CloudClient,
    pub directory: TempDir,
}

impl Harness {
    pub async fn new() -> Self {
        Self::with_faults(Faults::default()).await
    }

    pub async fn with_faults(faults: Faults) -> Self {
        let emulator = cityform::emulator::start(EmulatorConfig {
            faults,
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        let client = client_for(&emulator.endpoint(), &emulator, 6);
        Self {
            emulator,
            client,
            directory: tempfile::tempdir().unwrap(),
        }
    }

    /// Opens (and locks) the state; drop it to release the lock, as a process exit would.
    pub fn backend(&self) -> LocalBackend {
        LocalBackend::open(
            self.directory.path().join(".cityform/state.json"),
            &LockOptions::new("cityform apply"),
        )
        .unwrap()
    }

    /// Every group the emulator holds in the built-in instance, by name, checking that no
    /// name occurs twice.
    pub fn emulator_ids(&self) -> BTreeMap<String, String> {
        let mut ids = BTreeMap::new();
        for group in self.emulator.state().job_groups {
            assert_eq!(group.scope.instance_id, INSTANCE);
            let previous = ids.insert(group.name.clone(), group.job_group_id.to_string());
            assert_eq!(previous, None, "`{}` exists twice", group.name);
        }
        ids
    }

    /// How many `CreateJobGroup` requests reached the emulator.
    pub fn creates_sent(&self) -> u64 {
        self.emulator.request_count("CreateJobGroup")
    }
}

/// A client of `emulator`'s key pair sending to `endpoint`, making up to `max_attempts`
/// attempts per call with waits of a millisecond or two.
pub fn client_for(endpoint: &str, emulator: &EmulatorHandle, max_attempts: u32) -> CloudClient {
    let accepted = emulator.credentials();
    CloudClient::new(
        Credentials::new(accepted.access_key_id.clone(), accepted.access_key_secret()),
        Endpoints::with_override(endpoint).unwrap(),
        ClientOptions {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            retry: RetryPolicy {
                max_attempts,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(4),
                max_elapsed: Duration::from_secs(30),
            },
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

/// Options with a small pacing cap, so that injected throttling cannot slow a test down to
/// the production cap.
pub fn options(parallelism: usize) -> ApplyOptions {
    ApplyOptions {
        parallelism,
        pacing: Pacing {
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        },
        ..ApplyOptions::default()
    }
}

pub fn spec() -> JobGroupSpec {
    JobGroupSpec {
        algo_lib_id: "3".into(),
        resource_profile_id: "6".into(),
        planed_job_count: 2,
        stream_per_job: 1,
        job_count: None,
        params: Default::default(),
    }
}

pub fn address(name: &str) -> Address {
    Address::example(name)
}

/// `group-000`, `group-001`, ...
pub fn names(count: usize) -> Vec<String> {
    (0..count)
        .map(|index| format!("group-{index:03}"))
        .collect()
}

/// The manifests declaring `names`, each with `spec()`.
pub fn desired<S: AsRef<str>>(names: &[S]) -> Desired {
    desired_with(names.iter().map(|name| (name.as_ref(), spec())))
}

pub fn desired_with<'a>(groups: impl IntoIterator<Item = (&'a str, JobGroupSpec)>) -> Desired {
    Desired {
        groups: groups
            .into_iter()
            .enumerate()
            .map(|(index, (name, spec))| {
                (
                    address(name),
                    DesiredGroup::new(
                        spec,
                        SourceLocation {
                            file: "groups.yaml".into(),
                            line: index * 10 + 1,
                            column: 1,
                        },
                    ),
                )
            })
            .collect(),
        ..Desired::default()
    }
}

/// The recorded ids, by name.
pub fn recorded_ids(state: &State) -> BTreeMap<String, String> {
    state
        .job_groups
        .iter()
        .map(|(address, entry)| (address.name.clone(), entry.job_group_id.clone()))
        .collect()
}

/// Runs `execute` collecting every event, with a stop signal that never fires.
pub async fn execute_collecting(
    backend: &LocalBackend,
    client: &CloudClient,
    plan: &Plan,
    options: &ApplyOptions,
) -> (ApplyReport, Vec<ApplyEvent>) {
    execute_with_stop(backend, client, plan, options, std::future::pending()).await
}

pub async fn execute_with_stop(
    backend: &LocalBackend,
    client: &CloudClient,
    plan: &Plan,
    options: &ApplyOptions,
    stop: impl Future<Output = ()> + Send,
) -> (ApplyReport, Vec<ApplyEvent>) {
    let (sender, receiver) = mpsc::channel(16);
    let collector = tokio::spawn(collect(receiver));
    let report = execute(backend, client, plan, options, sender, stop)
        .await
        .unwrap();
    (report, collector.await.unwrap())
}

/// Every event until the last sender is gone.
pub async fn collect(mut receiver: mpsc::Receiver<ApplyEvent>) -> Vec<ApplyEvent> {
    let mut events = Vec::new();
    while let Some(event) = receiver.recv().await {
        events.push(event);
    }
    events
}

/// A fresh apply through the library's reconcile, as the command line runs it (without a
/// refresh, and unattended): load, resolve what an earlier run left unfinished, plan from
/// the resolved state, execute.
pub async fn plan_and_apply(
    harness: &Harness,
    desired: &Desired,
    options: &ApplyOptions,
) -> (Plan, ApplyReport, Vec<ApplyEvent>) {
    let backend = harness.backend();
    let (report, events) = reconcile_collecting(&backend, &harness.client, desired, options).await;
    let (plan, report) = match report {
        Reconciled::Applied { plan, report } => (*plan, report),
        Reconciled::NothingToApply { plan, report } => (plan.plan, report),
        Reconciled::Cancelled => panic!("an unattended run is never cancelled"),
    };
    (plan, report, events)
}

/// Runs the library's reconcile of `desired` on `backend`, unattended and without a refresh,
/// collecting every event.
pub async fn reconcile_collecting<B: Backend>(
    backend: &B,
    client: &CloudClient,
    desired: &Desired,
    options: &ApplyOptions,
) -> (Reconciled, Vec<ApplyEvent>) {
    let (sender, receiver) = mpsc::channel(16);
    let collector = tokio::spawn(collect(receiver));
    let connection = Connection::with_client(client.clone());
    let request = Request {
        backend,
        connection: &connection,
        source: Source::Manifests {
            desired: desired.clone(),
            planning: PlanRequest::default(),
        },
        options: options.clone(),
        auto_approve: true,
        events: sender,
        stop: Box::pin(std::future::pending()),
    };
    let reconciled = reconcile::run(request, &mut Unattended).await.unwrap();
    (reconciled, collector.await.unwrap())
}

/// The state as a fresh load sees it, and its unresolved intents' count.
pub async fn load_state(harness: &Harness) -> (State, usize) {
    let recovered = harness.backend().load().await.unwrap();
    (recovered.state.unwrap(), recovered.unresolved.len())
}

/// Counts of each kind of event, by its `"event"` tag.
pub fn event_counts(events: &[ApplyEvent]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for event in events {
        let json = serde_json::to_value(event).unwrap();
        let tag = json["event"].as_str().unwrap().to_owned();
        *counts.entry(tag).or_default() += 1;
    }
    counts
}

/// A reverse proxy in front of the emulator that counts the requests it has forwarded and
/// not yet had answered: the concurrency the emulator sees.
pub struct CountingProxy {
    pub endpoint: String,
    shared: Arc<ProxyShared>,
}

struct ProxyShared {
    target: String,
    http: reqwest::Client,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl CountingProxy {
    pub async fn start(target: &str) -> Self {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let shared = Arc::new(ProxyShared {
            target: target.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder().build().unwrap(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}/", listener.local_addr().unwrap());
        let routes = Router::new()
            .fallback(forward)
            .with_state(Arc::clone(&shared));
        tokio::spawn(async move { axum::serve(listener, routes).await });
        Self { endpoint, shared }
    }

    /// The most requests the emulator had in hand at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }
}

async fn forward(
    AxumState(shared): AxumState<Arc<ProxyShared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let path = uri.path_and_query().map_or("/", |path| path.as_str());
    let mut request = shared
        .http
        .request(method, format!("{}{path}", shared.target))
        .body(body);
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let answer = match request.send().await {
        Ok(response) => {
            let status = response.status();
            let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
            let body = response.bytes().await.unwrap_or_default();
            let mut answer = (status, body).into_response();
            if let Some(content_type) = content_type {
                answer
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, content_type);
            }
            answer
        }
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    answer
}

/// Writes intents without results, as a run that crashed after sending them would leave.
pub async fn crash_after_intents(harness: &Harness, names: &[&str]) {
    let backend = harness.backend();
    backend.create(State::new("lineage-crashed")).await.unwrap();
    let records: Vec<JournalRecord> = names
        .iter()
        .map(|name| {
            JournalRecord::Intent(Intent {
                id: IntentId::random(),
                address: address(name),
                operation: Operation::Create,
                spec: Some(spec()),
            })
        })
        .collect();
    backend.append(&records).await.unwrap();
}

/// A local backend that checks, after each intent to create is durable, that the create has
/// not reached the emulator yet: the request must not leave before its intent is on disk.
pub struct IntentWatcher<'a> {
    pub inner: LocalBackend,
    pub emulator: &'a EmulatorHandle,
    /// Groups that existed when their intent had just been recorded.
    pub early: std::sync::Mutex<Vec<String>>,
    /// Intents to create checked.
    pub checked: AtomicUsize,
}

impl Backend for IntentWatcher<'_> {
    fn location(&self) -> String {
        self.inner.location()
    }

    async fn load(&self) -> Result<cityform::state::Recovered, cityform::state::StateError> {
        self.inner.load().await
    }

    async fn create(&self, state: State) -> Result<State, cityform::state::StateError> {
        self.inner.create(state).await
    }

    async fn append(&self, records: &[JournalRecord]) -> Result<(), cityform::state::StateError> {
        self.inner.append(records).await?;
        for record in records {
            if let JournalRecord::Intent(intent) = record
                && intent.operation == Operation::Create
            {
                // Time for a request sent alongside the append to reach the emulator.
                tokio::time::sleep(Duration::from_millis(20)).await;
                self.checked.fetch_add(1, Ordering::SeqCst);
                if self
                    .emulator
                    .state()
                    .job_group_named(INSTANCE, &intent.address.name)
                    .is_some()
                {
                    self.early.lock().unwrap().push(intent.address.name.clone());
                }
            }
        }
        Ok(())
    }

    async fn compact(&self) -> Result<cityform::state::Recovered, cityform::state::StateError> {
        self.inner.compact().await
    }
}
