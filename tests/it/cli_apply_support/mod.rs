//! Shared by `tests/cli_apply.rs`, `tests/cli_lifecycle.rs` and `tests/cli_postgres.rs`: a
//! `cityform emulator` process, a workspace directory with manifests in which the real
//! `cityform` binary runs, and what both say afterwards.
//!
//! The state backend is a parameter: with `CITYFORM_TEST_BACKEND=postgres`, every
//! [`Workspace`] keeps its state in a PostgreSQL workspace of its own (named after the test),
//! in one database of a throw-away cluster that `support_postgres` starts when the first
//! workspace needs it and stops when the last one is dropped. Commands get the backend through
//! `CITYFORM_BACKEND` and `CITYFORM_WORKSPACE`, and [`Workspace::state`] reads it through the
//! library. Tests that look at artefacts only the file backend has call
//! [`Workspace::skip_on_postgres`].
//!
//! The emulator is a parameter too: `CITYFORM_TEST_EMULATOR_ARGS` holds extra arguments,
//! separated by whitespace, given to every [`Emulator`] this harness starts, after
//! `--listen` and before the test's own flags. `CITYFORM_TEST_EMULATOR_ARGS="--dialect
//! reference --transition-ms 200"` runs a suite against the reference page's answer shapes
//! with visible start and stop transitions.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a failed unwrap is a failed test

pub(crate) use crate::support_postgres;

pub mod proxy;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use cityform::state::{
    Backend as _, LockOptions, PostgresBackend, State, group_changes, read_state_file,
    write_state_file,
};
use tempfile::TempDir;

/// The binary under test.
pub const BINARY: &str = env!("CARGO_BIN_EXE_cityform");
/// The emulator's public development pair.
pub const ACCESS_KEY_ID: &str = "cityform-dev";
/// The emulator's public development pair.
pub const ACCESS_KEY_SECRET: &str = "cityform-dev-secret";
/// The instance every generated manifest uses; the emulator has it from the start.
pub const INSTANCE: &str = "cityvisual-Instance";
/// The region every generated manifest uses.
pub const REGION: &str = "cn-shanghai";
/// A process still running after this is stuck: it is killed and the test fails.
pub const PROCESS_DEADLINE: Duration = Duration::from_secs(60);

/// Every variable that could hand a `cityform` process credentials, an endpoint or a state
/// other than the ones a test gives it.
const INHERITED_SETTINGS: [&str; 25] = [
    "ALIBABA_CLOUD_ROLE_ARN",
    "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
    "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    "ALIBABA_CLOUD_ROLE_SESSION_NAME",
    "ALIBABA_CLOUD_CONFIG_FILE",
    "ALIBABA_CLOUD_CREDENTIALS_FILE",
    "ALIBABA_CLOUD_CREDENTIALS_URI",
    "ALIBABA_CLOUD_STS_ENDPOINT",
    "ALIBABA_CLOUD_STS_REGION",
    "ALIBABA_CLOUD_ECS_METADATA",
    "ALIBABA_CLOUD_IMDSV1_DISABLED",
    "CITYFORM_ECS_METADATA_ENDPOINT",
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "ALIBABA_CLOUD_PROFILE",
    "ALICLOUD_ACCESS_KEY",
    "ALICLOUD_SECRET_KEY",
    "ALICLOUD_SECURITY_TOKEN",
    "CITYFORM_ENDPOINT",
    "CITYFORM_STATE",
    "CITYFORM_BACKEND",
    "CITYFORM_WORKSPACE",
    "CITYFORM_EMULATOR_ACCESS_KEY_ID",
    "CITYFORM_EMULATOR_ACCESS_KEY_SECRET",
];

/// Collects what a pipe says, line by line, on a thread of its own.
struct Collector {
    lines: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Collector {
    fn start(pipe: impl std::io::Read + Send + 'static) -> Self {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let thread = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Self {
            lines,
            thread: Some(thread),
        }
    }

    fn snapshot(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Everything, once the pipe has closed.
    fn finish(mut self) -> String {
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        let lines = self.lines.lock().unwrap();
        let mut text = lines.join("\n");
        if !lines.is_empty() {
            text.push('\n');
        }
        text
    }
}

/// A running `cityform emulator` process, killed when dropped.
pub struct Emulator {
    child: Child,
    /// `http://127.0.0.1:PORT/`.
    pub endpoint: String,
    log: Collector,
    _stdout: Collector,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The arguments in `CITYFORM_TEST_EMULATOR_ARGS`, split at whitespace; none when unset.
pub fn extra_emulator_arguments() -> Vec<String> {
    std::env::var("CITYFORM_TEST_EMULATOR_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// One job group as the emulator holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatedGroup {
    pub job_group_id: String,
    pub region_id: String,
    pub instance_id: String,
    pub name: String,
}

impl Emulator {
    /// Starts `cityform emulator --listen 127.0.0.1:0` with the arguments of
    /// `CITYFORM_TEST_EMULATOR_ARGS` and `flags`, and waits for its address. Every request it
    /// answers is logged on its stderr, which is collected.
    pub fn start(flags: &[&str]) -> Self {
        let mut command = Command::new(BINARY);
        command
            .args(["emulator", "--listen", "127.0.0.1:0"])
            .args(extra_emulator_arguments())
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in INHERITED_SETTINGS {
            command.env_remove(name);
        }
        let mut child = command.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let endpoint = first
            .trim_end()
            .strip_prefix("cityform emulator listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the emulator: {first:?}"))
            .to_owned();
        let log = Collector::start(child.stderr.take().unwrap());
        Self {
            child,
            endpoint,
            log,
            _stdout: Collector::start(stdout),
        }
    }

    /// `GET /_emulator/state`, parsed.
    pub fn dump(&self) -> serde_json::Value {
        let url = format!("{}_emulator/state", self.endpoint);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let body = runtime.block_on(async {
            let _already_installed = rustls::crypto::ring::default_provider().install_default();
            let response = reqwest::get(&url).await.unwrap();
            assert_eq!(response.status().as_u16(), 200, "GET {url}");
            response.text().await.unwrap()
        });
        serde_json::from_str(&body).unwrap()
    }

    /// Every job group the emulator holds.
    pub fn groups(&self) -> Vec<EmulatedGroup> {
        let dump = self.dump();
        let text = |group: &serde_json::Value, field: &str| -> String {
            group[field]
                .as_str()
                .unwrap_or_else(|| panic!("`{field}` of {group}"))
                .to_owned()
        };
        dump["jobGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|group| EmulatedGroup {
                job_group_id: text(group, "jobGroupId"),
                region_id: text(group, "regionId"),
                instance_id: text(group, "instanceId"),
                name: text(group, "name"),
            })
            .collect()
    }

    /// The id of every group in the usual instance, by name; fails if a name occurs twice
    /// or a group lives anywhere else.
    pub fn ids(&self) -> BTreeMap<String, String> {
        let mut ids = BTreeMap::new();
        for group in self.groups() {
            assert_eq!(
                (group.region_id.as_str(), group.instance_id.as_str()),
                (REGION, INSTANCE),
                "{group:?}"
            );
            if let Some(first) = ids.insert(group.name.clone(), group.job_group_id.clone()) {
                panic!(
                    "`{}` exists twice in the emulator: ids {first} and {}",
                    group.name, group.job_group_id
                );
            }
        }
        ids
    }

    /// The requests logged so far, once the log has been quiet for a moment (a line is
    /// written as the answer leaves, so the last ones may trail the client's exit).
    pub fn requests(&self) -> Vec<String> {
        let mut seen = self.log.snapshot().len();
        loop {
            std::thread::sleep(Duration::from_millis(150));
            let lines = self.log.snapshot();
            if lines.len() == seen {
                return lines
                    .into_iter()
                    .filter(|line| line.starts_with("cityform emulator: "))
                    .collect();
            }
            seen = lines.len();
        }
    }
}

/// How a finished `cityform` process ended.
#[derive(Debug)]
pub struct Run {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Fails the test, showing everything, unless the process exited with `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "{self}");
        self
    }

    /// Standard output as JSON lines, each one required to parse.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|error| panic!("not JSON ({error}): {line:?}\n{self}"))
            })
            .collect()
    }

    /// The last line of standard output that is not empty.
    pub fn last_line(&self) -> &str {
        self.stdout
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("")
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A running `cityform` process whose stdout the test reads line by line.
pub struct Running {
    child: Child,
    stdout: BufReader<ChildStdout>,
    stderr: Option<Collector>,
    /// Dropping it calls the watchdog off.
    watchdog: Option<mpsc::Sender<()>>,
    timed_out: Arc<AtomicBool>,
    /// Every stdout line read so far.
    pub lines: Vec<String>,
}

impl Running {
    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads the next stdout line; `None` at the end.
    pub fn next_line(&mut self) -> Option<&str> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line).unwrap() {
            0 => None,
            _ => {
                self.lines.push(line.trim_end_matches('\n').to_owned());
                self.lines.last().map(String::as_str)
            }
        }
    }

    /// Reads lines until one satisfies `found`; false when stdout ended first.
    pub fn read_until(&mut self, found: impl Fn(&str) -> bool) -> bool {
        while let Some(line) = self.next_line() {
            if found(line) {
                return true;
            }
        }
        false
    }

    /// Kills the process at once (SIGKILL) and reaps it.
    pub fn kill(mut self) -> Run {
        let _ = self.child.kill();
        self.finish()
    }

    /// Sends `signal` (e.g. `INT`) without waiting for anything.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }

    /// Waits for the end and collects the rest of its output.
    pub fn finish(mut self) -> Run {
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        self.lines.extend(rest.lines().map(str::to_owned));
        // Called off before the process is reaped, so its pid cannot have been reused.
        self.watchdog = None;
        let status = self.child.wait().unwrap();
        assert!(
            !self.timed_out.load(Ordering::SeqCst),
            "`cityform` was still running after {PROCESS_DEADLINE:?}; output so far:\n{}",
            self.lines.join("\n")
        );
        let mut stdout = self.lines.join("\n");
        if !self.lines.is_empty() {
            stdout.push('\n');
        }
        Run {
            code: status.code(),
            stdout,
            stderr: self
                .stderr
                .take()
                .map(Collector::finish)
                .unwrap_or_default(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.watchdog = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a [`Workspace`] keeps its state.
enum StateBackend {
    /// `.cityform/state.json` in the workspace directory.
    File,
    /// A PostgreSQL workspace of its own in the shared test database.
    Postgres {
        database: Arc<support_postgres::TestDatabase>,
        workspace: String,
    },
}

/// The database every workspace of this test binary shares while any of them lives.
static SHARED_DATABASE: Mutex<Weak<support_postgres::TestDatabase>> = Mutex::new(Weak::new());
/// Makes each PostgreSQL workspace name unique within the binary.
static WORKSPACES: AtomicUsize = AtomicUsize::new(0);

/// Whether `CITYFORM_TEST_BACKEND` asks for PostgreSQL.
pub fn postgres_requested() -> bool {
    std::env::var("CITYFORM_TEST_BACKEND").is_ok_and(|value| value == "postgres")
}

/// Runs `future` to its end on a runtime of its own, on a thread of its own (so that it
/// works from tests that run inside a runtime too).
pub fn block_on<T: Send + 'static>(
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    })
    .join()
    .unwrap()
}

/// The shared test database, made when no workspace holds it; `None` when PostgreSQL is not
/// installed and `CI` is not set (`support_postgres` has said so loudly).
pub fn shared_database() -> Option<Arc<support_postgres::TestDatabase>> {
    let mut shared = SHARED_DATABASE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(database) = shared.upgrade() {
        return Some(database);
    }
    let database = Arc::new(block_on(support_postgres::database())?);
    *shared = Arc::downgrade(&database);
    Some(database)
}

/// A workspace name for the current test: its name made safe, and a counter.
fn workspace_name() -> String {
    let test = std::thread::current()
        .name()
        .unwrap_or("test")
        .rsplit("::")
        .next()
        .unwrap_or("test")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(48)
        .collect::<String>();
    format!("{test}-{}", WORKSPACES.fetch_add(1, Ordering::SeqCst))
}

/// A directory in which `cityform` runs: its manifests, its state (`.cityform/`, or a
/// PostgreSQL workspace), and a home directory without any `~/.aliyun`.
pub struct Workspace {
    directory: TempDir,
    backend: StateBackend,
    /// The endpoint every command is pointed at.
    pub endpoint: String,
}

impl Workspace {
    /// An empty workspace talking to `emulator`, on the backend `CITYFORM_TEST_BACKEND` asks for.
    pub fn new(emulator: &Emulator) -> Self {
        let backend = if postgres_requested() {
            match shared_database() {
                Some(database) => StateBackend::Postgres {
                    database,
                    workspace: workspace_name(),
                },
                None => StateBackend::File,
            }
        } else {
            StateBackend::File
        };
        Self {
            directory: tempfile::tempdir().unwrap(),
            backend,
            endpoint: emulator.endpoint.clone(),
        }
    }

    /// An empty workspace on PostgreSQL whatever `CITYFORM_TEST_BACKEND` says; `None` when
    /// PostgreSQL is not installed and `CI` is not set.
    pub fn on_postgres(emulator: &Emulator) -> Option<Self> {
        let database = shared_database()?;
        Some(Self {
            directory: tempfile::tempdir().unwrap(),
            backend: StateBackend::Postgres {
                database,
                workspace: workspace_name(),
            },
            endpoint: emulator.endpoint.clone(),
        })
    }

    /// Whether the state is in PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, StateBackend::Postgres { .. })
    }

    /// True (after saying so on stderr) when the state is in PostgreSQL and the test looks at
    /// something only the file backend has: the caller returns early.
    pub fn skip_on_postgres(&self, reason: &str) -> bool {
        if self.is_postgres() {
            support_postgres::skip(&format!("on PostgreSQL: {reason}"));
        }
        self.is_postgres()
    }

    /// The PostgreSQL connection string (no password) and workspace; `None` on the file.
    pub fn postgres(&self) -> Option<(String, String)> {
        match &self.backend {
            StateBackend::Postgres {
                database,
                workspace,
            } => Some((database.url.clone(), workspace.clone())),
            StateBackend::File => None,
        }
    }

    /// Runs `operation` on this workspace's PostgreSQL state, waiting for its lock (a run
    /// just killed may hold it until the server notices).
    fn with_postgres<T: Send + 'static, F>(
        &self,
        operation: impl FnOnce(Arc<PostgresBackend>) -> F + Send + 'static,
    ) -> T
    where
        F: std::future::Future<Output = T> + Send,
    {
        let (url, workspace) = self.postgres().unwrap();
        block_on(async move {
            let options =
                LockOptions::new("cli test harness").with_timeout(Duration::from_secs(30));
            let backend = Arc::new(
                PostgresBackend::open(&url, &workspace, &options)
                    .await
                    .unwrap(),
            );
            let result = operation(Arc::clone(&backend)).await;
            // Released now, not when the server notices the closed connection: the next
            // command may not wait for the lock.
            let Ok(backend) = Arc::try_unwrap(backend) else {
                panic!("the operation kept the backend");
            };
            backend.close().await.unwrap();
            result
        })
    }

    /// A workspace with a copy of the bundled `manifests/` directory.
    pub fn with_bundled_manifests(emulator: &Emulator) -> Self {
        let workspace = Self::new(emulator);
        let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
        for entry in std::fs::read_dir(bundled).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            workspace.write(
                &format!("manifests/{}", name.to_string_lossy()),
                &std::fs::read_to_string(entry.path()).unwrap(),
            );
        }
        workspace
    }

    /// A workspace whose `manifests/` declares `names` (see [`job_groups`]).
    pub fn with_groups(emulator: &Emulator, names: &[String]) -> Self {
        let workspace = Self::new(emulator);
        workspace.write("manifests/groups.yaml", &job_groups(names));
        workspace
    }

    pub fn path(&self) -> &Path {
        self.directory.path()
    }

    /// Writes `contents` to `relative` inside the workspace, creating directories.
    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// The state file of the file backend.
    pub fn state_path(&self) -> PathBuf {
        self.path().join(".cityform/state.json")
    }

    /// The state: the file as the last compaction wrote it, or the PostgreSQL workspace's
    /// state as a load returns it (after a finished run, both are the compacted state).
    pub fn state(&self) -> Option<State> {
        match self.backend {
            StateBackend::File => read_state_file(&self.state_path()).unwrap(),
            StateBackend::Postgres { .. } => {
                self.with_postgres(|backend| async move { backend.load().await.unwrap().state })
            }
        }
    }

    /// Makes the state `state`: the file written as is, or the PostgreSQL workspace created
    /// with it or brought to its groups by recorded changes (its serial then moves on).
    pub fn replace_state(&self, state: State) {
        match self.backend {
            StateBackend::File => {
                std::fs::create_dir_all(self.state_path().parent().unwrap()).unwrap();
                write_state_file(&self.state_path(), state).unwrap();
            }
            StateBackend::Postgres { .. } => self.with_postgres(|backend| async move {
                let Some(existing) = backend.load().await.unwrap().state else {
                    backend.create(state).await.unwrap();
                    return;
                };
                assert_eq!(
                    existing.lineage, state.lineage,
                    "replace_state keeps the lineage"
                );
                backend
                    .append(&group_changes(&existing, &state))
                    .await
                    .unwrap();
                backend.compact().await.unwrap();
            }),
        }
    }

    /// The id the state records for every group, by name.
    pub fn state_ids(&self) -> BTreeMap<String, String> {
        let Some(state) = self.state() else {
            return BTreeMap::new();
        };
        state
            .job_groups
            .iter()
            .map(|(address, entry)| {
                assert_eq!(
                    (address.region_id.as_str(), address.instance_id.as_str()),
                    (REGION, INSTANCE)
                );
                (address.name.clone(), entry.job_group_id.clone())
            })
            .collect()
    }

    /// `cityform ARGS` in this workspace with the emulator's credentials, fast retries and
    /// nothing inherited that could point it elsewhere. Standard input is not a terminal.
    pub fn command(&self, arguments: &[&str]) -> Command {
        let mut command = self.bare_command(arguments);
        command
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET);
        command
    }

    /// [`Self::command`] without any credentials at all.
    pub fn bare_command(&self, arguments: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        command
            .args(arguments)
            .current_dir(self.path())
            .env("HOME", self.path())
            // Never ask a real metadata service (100.100.100.200) from a test.
            .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
            .env("CITYFORM_RETRY_BASE_MS", "1")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in INHERITED_SETTINGS {
            command.env_remove(name);
        }
        // Never ask the public STS from a test: a test that means STS points this at an
        // emulator; anything else finds nobody listening.
        command.env("ALIBABA_CLOUD_STS_ENDPOINT", "http://127.0.0.1:9/");
        if let Some((url, workspace)) = self.postgres() {
            command
                .env("CITYFORM_BACKEND", url)
                .env("CITYFORM_WORKSPACE", workspace);
        }
        command
    }

    /// `cityform apply --endpoint … --auto-approve EXTRA`, run to its end.
    pub fn apply(&self, extra: &[&str]) -> Run {
        self.spawn_apply(extra).finish()
    }

    /// `cityform apply --endpoint … --auto-approve EXTRA`, started.
    pub fn spawn_apply(&self, extra: &[&str]) -> Running {
        let mut arguments = vec!["apply", "--endpoint", &self.endpoint, "--auto-approve"];
        arguments.extend_from_slice(extra);
        spawn(self.command(&arguments))
    }

    /// Runs `cityform ARGS` to its end.
    pub fn run(&self, arguments: &[&str]) -> Run {
        spawn(self.command(arguments)).finish()
    }
}

/// Starts `command`, collecting its stderr on a thread; stdout is read by the caller. A
/// process still running after [`PROCESS_DEADLINE`] is killed, so that a hang fails the test
/// instead of blocking it.
pub fn spawn(mut command: Command) -> Running {
    let mut child = command.spawn().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let stderr = child.stderr.take().map(Collector::start);
    let (watchdog, called_off) = mpsc::channel::<()>();
    let timed_out = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&timed_out);
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        if called_off.recv_timeout(PROCESS_DEADLINE) == Err(mpsc::RecvTimeoutError::Timeout) {
            flag.store(true, Ordering::SeqCst);
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    });
    Running {
        child,
        stdout,
        stderr,
        watchdog: Some(watchdog),
        timed_out,
        lines: Vec::new(),
    }
}

/// `count` names that sort in creation order: `group-000`, `group-001`, …
pub fn names(prefix: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|index| format!("{prefix}-{index:03}"))
        .collect()
}

/// A manifest file declaring one valid job group per name, in the usual instance.
pub fn job_groups(names: &[String]) -> String {
    let mut text = String::new();
    for (index, name) in names.iter().enumerate() {
        text.push_str(&job_group(name, "3", index % 7 + 1));
    }
    text
}

/// One `JobGroup` document.
pub fn job_group(name: &str, algo_lib_id: &str, planed_job_count: usize) -> String {
    let mut text = String::new();
    write!(
        text,
        "---\napiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: {name}\nspec:\n  \
         regionId: {REGION}\n  instanceId: {INSTANCE}\n  algoLibId: \"{algo_lib_id}\"\n  \
         resourceProfileId: \"6\"\n  planedJobCount: {planed_job_count}\n  streamPerJob: 4\n  \
         params:\n    ES_ENABLE: true\n"
    )
    .unwrap();
    text
}

/// Asserts the end state every scenario must reach: the emulator holds each of `names`
/// exactly once and nothing else, and the state records each with the emulator's id.
pub fn assert_converged(emulator: &Emulator, workspace: &Workspace, names: &[String]) {
    let emulated = emulator.ids();
    let expected: Vec<&String> = names.iter().collect();
    assert_eq!(
        emulated.keys().collect::<Vec<_>>(),
        {
            let mut sorted = expected.clone();
            sorted.sort();
            sorted
        },
        "the emulator holds other groups than declared"
    );
    assert_eq!(
        workspace.state_ids(),
        emulated,
        "the state does not record exactly the emulator's ids"
    );
}
