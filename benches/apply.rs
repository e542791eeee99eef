//! Apply throughput: creates against the emulator, timed at the library level and end to end
//! through the binary. Method, results and targets are in `docs/performance.md` ("Apply").
//!
//! ```sh
//! cargo bench --bench apply                      # measure (7 rounds) and print the table
//! cargo bench --bench apply -- --check           # also exit 1 when a target is missed
//! cargo bench --bench apply -- --iterations 9 --only bulk   # names starting so
//! ```
//!
//! Library level: `cityform::apply::execute` with a `CloudClient` against an in-process
//! emulator, a fresh emulator and a fresh state for every iteration, one Tokio runtime with a
//! worker per core for both. The time is that of `execute` alone: preparing the state, every
//! create (intent durable → request → result durable), and the final compaction.
//!
//! Configurations, run interleaved (one iteration of each, then the next round) so that a
//! slow spell of the shared machine hits all of them alike:
//! - `latency`: 2,000 creates, 20 ms emulator latency, parallelism 32; target: median within
//!   1.25 × the ideal 2,000 × 20 ms / 32;
//! - `bulk`: 10,000 creates, no latency, parallelism 32; target: what recording the state
//!   costs (the local journal against a backend that keeps nothing) under 10 % of the run;
//! - `…/client`: the same creates sent by 32 tasks calling the client directly, no apply at
//!   all: the floor this machine allows at that moment, for telling apply's own cost from
//!   the machine's;
//! - `binary`: 10,000 creates through `cityform apply` against a `cityform emulator`
//!   process, for context (no target).
//!
//! Paced configurations, run after the others, each round in turn, without a warm-up (they
//! wait on the service's limit, not on the CPU), default parallelism, nothing recorded
//! (the in-memory backend), each run's 1-minute load average printed beside it:
//! - `flow-limit`: 600 creates against an emulator limited to 100 requests a second
//!   (`--qps 100`, a bucket of 100); targets: median within 1.10 × the ideal
//!   (600 − 100) / 100 = 5 s, and at most 3 % of the requests sent throttled;
//! - `random-throttling`: 300 creates, 30 % of requests throttled and 30 % of the rest
//!   answered 503 at random (`--throttle-rate 0.3 --error-rate 0.3`), stopped after
//!   [`RANDOM_DEADLINE`]; target: the run ends before it, every create done or given up
//!   by the client's retries (6 attempts; `docs/apply.md`, "Retries of throttled answers").

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use cityform::apply::{ApplyOptions, ApplyReport, execute};
use cityform::cloud::{ClientOptions, CloudClient, Credentials, Endpoints};
use cityform::emulator::{BUILT_IN_INSTANCE_ID, EmulatorConfig, EmulatorHandle, Faults};
use cityform::manifest::{Desired, DesiredGroup, SourceLocation};
use cityform::model::{Address, JobGroupSpec};
use cityform::plan::{Plan, compute};
use cityform::provenance::RunContext;
use cityform::state::journal::JournalRecord;
use cityform::state::{
    Backend, LocalBackend, LockOptions, Recovered, State, StateError, read_state_file,
};
use nix::sys::resource::{UsageWho, getrusage};
use tokio::sync::mpsc;

/// The binary's allocator, so that the library is measured as `cityform apply` runs it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const REGION: &str = "cn-shanghai";
const PARALLELISM: usize = 32;

/// Target 1: 2,000 creates at 20 ms within this factor of 2,000 × 20 ms / 32.
const LATENCY_CREATES: usize = 2_000;
const LATENCY: Duration = Duration::from_millis(20);
const LATENCY_TARGET_FACTOR: f64 = 1.25;

/// Target 2: with 10,000 creates and no latency, recording stays under this share of the run.
const BULK_CREATES: usize = 10_000;
const RECORDING_TARGET_SHARE: f64 = 0.10;

/// Target 3: 600 creates against a limit of 100 requests a second (burst 100) within this
/// factor of the ideal (600 − 100) / 100 s, with at most this share of requests throttled.
const FLOW_LIMIT_CREATES: usize = 600;
const FLOW_LIMIT_QPS: u32 = 100;
const FLOW_LIMIT_TARGET_FACTOR: f64 = 1.10;
const FLOW_LIMIT_TARGET_THROTTLED: f64 = 0.03;

/// Target 4: 300 creates under random throttling and errors, the run over before this.
const RANDOM_CREATES: usize = 300;
const RANDOM_DEADLINE: Duration = Duration::from_secs(90);

/// Every configuration's name, for `--only`.
const CONFIGURATIONS: [&str; 9] = [
    "latency/journal",
    "latency/memory",
    "latency/client",
    "bulk/journal",
    "bulk/memory",
    "bulk/client",
    "binary",
    "flow-limit",
    "random-throttling",
];

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("apply bench failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Command-line settings.
struct Settings {
    check: bool,
    iterations: usize,
    /// Run only the configurations whose name starts with this.
    only: Option<String>,
}

impl Settings {
    fn wants(&self, name: &str) -> bool {
        self.only
            .as_deref()
            .is_none_or(|prefix| name.starts_with(prefix))
    }
}

impl Settings {
    fn parse() -> anyhow::Result<Self> {
        let mut settings = Self {
            check: false,
            iterations: 7,
            only: None,
        };
        let mut arguments = std::env::args().skip(1);
        while let Some(argument) = arguments.next() {
            match argument.as_str() {
                "--check" => settings.check = true,
                "--only" => {
                    let prefix = arguments.next().context("`--only` needs a name")?;
                    ensure!(
                        CONFIGURATIONS.iter().any(|name| name.starts_with(&prefix)),
                        "`--only {prefix}`: expected the start of one of {}",
                        CONFIGURATIONS.join(", ")
                    );
                    settings.only = Some(prefix);
                }
                "--iterations" => {
                    let value = arguments.next().context("`--iterations` needs a number")?;
                    settings.iterations = value
                        .parse()
                        .ok()
                        .filter(|count| *count > 0)
                        .with_context(|| {
                            format!("`--iterations {value}`: expected a whole number above 0")
                        })?;
                }
                // Cargo passes `--bench` to every benchmark binary.
                "--bench" => {}
                other => bail!(
                    "unknown argument `{other}`; expected `--check`, `--iterations N` or `--only NAME`"
                ),
            }
        }
        Ok(settings)
    }
}

fn run() -> anyhow::Result<bool> {
    let settings = Settings::parse()?;
    let scratch = Scratch::choose()?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "apply bench: {} iteration(s) per configuration (after one warm-up), {cores} core(s), states under `{}` ({}), load average {}",
        settings.iterations,
        scratch.directory.display(),
        scratch.filesystem,
        load_average()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the Tokio runtime")?;

    let configurations = [
        ("latency/journal", Mode::Journal),
        ("latency/memory", Mode::Memory),
        ("latency/client", Mode::Client),
        ("bulk/journal", Mode::Journal),
        ("bulk/memory", Mode::Memory),
        ("bulk/client", Mode::Client),
    ]
    .map(|(name, mode)| {
        let (creates, latency) = if name.starts_with("latency") {
            (LATENCY_CREATES, LATENCY)
        } else {
            (BULK_CREATES, Duration::ZERO)
        };
        Library {
            name,
            creates,
            latency,
            mode,
        }
    });
    let mut samples: BTreeMap<&str, Vec<Sample>> = BTreeMap::new();
    let mut binary_walls = Vec::new();
    let binary = settings
        .wants("binary")
        .then(|| BinaryRun::prepare(&scratch, BULK_CREATES))
        .transpose()?;
    // Round 0 warms caches, allocator and connections' code paths; it is not counted.
    for round in 0..=settings.iterations {
        for configuration in configurations
            .iter()
            .filter(|configuration| settings.wants(configuration.name))
        {
            let sample = runtime
                .block_on(configuration.run(&scratch))
                .with_context(|| format!("`{}` round {round}", configuration.name))?;
            if round > 0 {
                samples.entry(configuration.name).or_default().push(sample);
            }
        }
        if let Some(binary) = &binary {
            let wall = binary
                .run()
                .with_context(|| format!("`binary` round {round}"))?;
            if round > 0 {
                binary_walls.push(wall);
            }
        }
    }

    let paced = [Paced::flow_limit(), Paced::random_throttling()];
    let mut paced_samples: Vec<(&Paced, Vec<PacedSample>)> = Vec::new();
    for configuration in paced.iter().filter(|paced| settings.wants(paced.name)) {
        paced_samples.push((configuration, Vec::new()));
    }
    for round in 1..=settings.iterations {
        for (configuration, samples) in &mut paced_samples {
            let sample = runtime
                .block_on(configuration.run(round as u64))
                .with_context(|| format!("`{}` round {round}", configuration.name))?;
            println!("{}: round {round}: {sample}", configuration.name);
            samples.push(sample);
        }
    }

    let summary = Summary::new(&samples, &binary_walls);
    print!("{summary}");
    let mut missed = summary.missed_targets();
    for (configuration, samples) in &paced_samples {
        missed.extend(configuration.summarize(samples));
    }
    for target in &missed {
        println!("MISSED: {target}");
    }
    if settings.check && !missed.is_empty() {
        return Ok(false);
    }
    Ok(true)
}

/// A run whose speed the service's limits set: creates from an `execute` at default
/// parallelism with nothing recorded.
struct Paced {
    name: &'static str,
    creates: usize,
    qps: Option<u32>,
    throttle_rate: f64,
    error_rate: f64,
    /// The run is stopped (as by Ctrl-C) after this long.
    deadline: Duration,
}

/// What one paced run measured.
struct PacedSample {
    wall: Duration,
    created: usize,
    failed: usize,
    /// Throttled answers as the run counted them (`Throttling.*` and `ServiceUnavailable`).
    throttled: u64,
    /// Every request the emulator received.
    requests: u64,
    interrupted: bool,
    /// The 1-minute load average after the run.
    load: String,
}

impl fmt::Display for PacedSample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} for {} created, {} failed{}; {} of {} requests throttled ({:.1} %); load average {}",
            seconds(self.wall),
            self.created,
            self.failed,
            if self.interrupted {
                ", stopped at the deadline"
            } else {
                ""
            },
            self.throttled,
            self.requests,
            self.throttled_share() * 100.0,
            self.load
        )
    }
}

impl PacedSample {
    fn throttled_share(&self) -> f64 {
        self.throttled as f64 / (self.requests.max(1)) as f64
    }
}

impl Paced {
    fn flow_limit() -> Self {
        Self {
            name: "flow-limit",
            creates: FLOW_LIMIT_CREATES,
            qps: Some(FLOW_LIMIT_QPS),
            throttle_rate: 0.0,
            error_rate: 0.0,
            deadline: Duration::from_secs(120),
        }
    }

    fn random_throttling() -> Self {
        Self {
            name: "random-throttling",
            creates: RANDOM_CREATES,
            qps: None,
            throttle_rate: 0.3,
            error_rate: 0.3,
            deadline: RANDOM_DEADLINE,
        }
    }

    /// The ideal time: the creates beyond the first bucket at the limit's rate.
    fn ideal(&self) -> Option<Duration> {
        let qps = self.qps?;
        let beyond_burst = self.creates.saturating_sub(qps as usize);
        Some(Duration::from_secs_f64(
            beyond_burst as f64 / f64::from(qps),
        ))
    }

    /// One run; `round` seeds the emulator's faults, so that builds meet the same ones.
    async fn run(&self, round: u64) -> anyhow::Result<PacedSample> {
        let emulator = cityform::emulator::start(EmulatorConfig {
            faults: Faults {
                throttle_rate: self.throttle_rate,
                error_rate: self.error_rate,
                seed: round,
                ..Faults::default()
            },
            qps: self.qps,
            log_requests: false,
            ..EmulatorConfig::default()
        })
        .await
        .context("cannot start the emulator")?;
        let client = client_for(&emulator)?;
        let plan = compute(&desired(self.creates), None);
        let backend = MemoryBackend::default();
        let (sender, mut receiver) = mpsc::channel(1024);
        let drain = tokio::spawn(async move { while receiver.recv().await.is_some() {} });
        let started = Instant::now();
        let report = execute(
            &backend,
            &client,
            &plan,
            &ApplyOptions::default(),
            sender,
            tokio::time::sleep(self.deadline),
        )
        .await?;
        let wall = started.elapsed();
        drain.await.context("the event drain panicked")?;
        let requests = emulator.request_counts().values().sum();
        drop(client);
        emulator.shutdown().await;
        Ok(PacedSample {
            wall,
            created: report.created.len() + report.recovered.len(),
            failed: report.failed.len(),
            throttled: report.throttled,
            requests,
            interrupted: report.interrupted,
            load: load_average(),
        })
    }

    /// Prints the medians; returns the targets missed.
    fn summarize(&self, samples: &[PacedSample]) -> Vec<String> {
        if samples.is_empty() {
            return Vec::new();
        }
        let walls: Vec<Duration> = samples.iter().map(|sample| sample.wall).collect();
        let wall = median(&walls);
        let mut shares: Vec<f64> = samples.iter().map(PacedSample::throttled_share).collect();
        shares.sort_by(f64::total_cmp);
        let share = shares[shares.len() / 2];
        let created = median_u64(samples.iter().map(|sample| sample.created as u64));
        let complete = samples
            .iter()
            .filter(|sample| sample.created == self.creates)
            .count();
        let finished = samples
            .iter()
            .filter(|sample| !sample.interrupted && sample.created + sample.failed == self.creates)
            .count();
        let every: Vec<String> = walls
            .iter()
            .map(|wall| format!("{:.3}", wall.as_secs_f64()))
            .collect();
        println!(
            "{}: median {} (every run: {}), median {created} of {} created ({complete} of {} runs complete), median {:.1} % of requests throttled",
            self.name,
            seconds(wall),
            every.join(" "),
            self.creates,
            samples.len(),
            share * 100.0
        );
        let mut missed = Vec::new();
        if let Some(ideal) = self.ideal() {
            let ratio = latency_ratio(wall, ideal);
            println!(
                "{}: {} / ideal {} = {ratio:.3} (target ≤ {FLOW_LIMIT_TARGET_FACTOR}); throttled {:.1} % (target ≤ {:.0} %)",
                self.name,
                seconds(wall),
                seconds(ideal),
                share * 100.0,
                FLOW_LIMIT_TARGET_THROTTLED * 100.0
            );
            if ratio > FLOW_LIMIT_TARGET_FACTOR || share > FLOW_LIMIT_TARGET_THROTTLED {
                missed.push(format!(
                    "{} creates at {} requests a second took {ratio:.3} × the ideal with {:.1} % throttled; the targets are ≤ {FLOW_LIMIT_TARGET_FACTOR} × and ≤ {:.0} %",
                    self.creates,
                    self.qps.unwrap_or_default(),
                    share * 100.0,
                    FLOW_LIMIT_TARGET_THROTTLED * 100.0
                ));
            }
        }
        if finished < samples.len() {
            missed.push(format!(
                "`{}`: {} of {} runs did not try all {} creates within {}",
                self.name,
                samples.len() - finished,
                samples.len(),
                self.creates,
                seconds(self.deadline)
            ));
        }
        missed
    }
}

/// The 1-minute load average: how many other processes wanted the cores meanwhile.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Where the states are written: a temporary directory on a real disk.
struct Scratch {
    directory: PathBuf,
    filesystem: String,
}

impl Scratch {
    /// The system's temporary directory unless it is in memory (tmpfs), in which case
    /// `target/tmp`: an fsync there costs nothing and would flatter the journal.
    fn choose() -> anyhow::Result<Self> {
        let system = std::env::temp_dir();
        let filesystem = filesystem_of(&system)?;
        if !matches!(filesystem.as_str(), "tmpfs" | "ramfs") {
            return Ok(Self {
                directory: system,
                filesystem,
            });
        }
        let directory = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(&directory)
            .with_context(|| format!("cannot create `{}`", directory.display()))?;
        let filesystem = filesystem_of(&directory)?;
        ensure!(
            !matches!(filesystem.as_str(), "tmpfs" | "ramfs"),
            "both `{}` and `{}` are in memory: the journal's fsync cannot be measured",
            system.display(),
            directory.display()
        );
        Ok(Self {
            directory,
            filesystem,
        })
    }

    fn tempdir(&self) -> anyhow::Result<tempfile::TempDir> {
        tempfile::Builder::new()
            .prefix("cityform-bench-apply-")
            .tempdir_in(&self.directory)
            .with_context(|| {
                format!(
                    "cannot create a directory in `{}`",
                    self.directory.display()
                )
            })
    }
}

/// The type of the file system holding `path`: the longest mount point above it in
/// `/proc/mounts`.
fn filesystem_of(path: &Path) -> anyhow::Result<String> {
    let path = path
        .canonicalize()
        .with_context(|| format!("cannot resolve `{}`", path.display()))?;
    let mounts = std::fs::read_to_string("/proc/mounts").context("cannot read `/proc/mounts`")?;
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _device = fields.next()?;
            let mount_point = fields.next()?;
            let filesystem = fields.next()?;
            Some((PathBuf::from(mount_point), filesystem.to_owned()))
        })
        .filter(|(mount_point, _)| path.starts_with(mount_point))
        .max_by_key(|(mount_point, _)| mount_point.as_os_str().len())
        .map(|(_, filesystem)| filesystem)
        .context("no mount point found in `/proc/mounts`")
}

/// What a library-level run sends the creates through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `execute` with the real `LocalBackend`: journal, group commit, fsync, compaction.
    Journal,
    /// `execute` with [`MemoryBackend`]: accepts appends and keeps nothing.
    Memory,
    /// No apply: tasks calling `CloudClient::create_job_group` directly.
    Client,
}

/// One library-level configuration.
struct Library {
    name: &'static str,
    creates: usize,
    latency: Duration,
    mode: Mode,
}

/// What one library-level iteration measured.
#[derive(Debug, Clone)]
struct Sample {
    wall: Duration,
    /// What the whole process (apply, client, emulator and journal writer alike) used while
    /// the run was timed.
    usage: Usage,
    /// Per create: from its start (intent durable) to its result durable; for `Client`,
    /// the call.
    create_p50: Duration,
    create_p99: Duration,
    /// Journal batches written and synced (journal runs only).
    flushes: Option<u64>,
    /// Time `execute` spent in the backend's whole-state operations (load, create and
    /// compact): work done while no create runs (apply runs only).
    whole_state: Option<Duration>,
    /// How long an append took to be durable: p50, p99 (journal runs only).
    append_p50_p99: Option<(Duration, Duration)>,
    /// Connections to the emulator open after the run, and recently closed ones.
    connections: Connections,
}

impl Library {
    async fn run(&self, scratch: &Scratch) -> anyhow::Result<Sample> {
        let emulator = cityform::emulator::start(EmulatorConfig {
            faults: Faults {
                latency: self.latency,
                ..Faults::default()
            },
            log_requests: false,
            ..EmulatorConfig::default()
        })
        .await
        .context("cannot start the emulator")?;
        let client = client_for(&emulator)?;
        let plan = compute(&desired(self.creates), None);
        // As `cityform apply` runs: every result recorded with its provenance.
        let provenance = RunContext::without_git(
            Some("3f2a9c1e0b7d4a5f6c8e9d0a1b2c3d4e5f6a7b8c"),
            &BTreeMap::from([("USER".to_owned(), "bench".to_owned())]),
            "bench-host",
        );
        let options = ApplyOptions {
            parallelism: PARALLELISM,
            provenance: Some(provenance),
            ..ApplyOptions::default()
        };
        let directory = scratch.tempdir()?;
        let ((wall, usage), mut elapsed, flushes, whole_state, append_p50_p99) = match self.mode {
            Mode::Journal => {
                let backend = Timed::new(LocalBackend::open(
                    directory.path().join(".cityform/state.json"),
                    &LockOptions::new("cityform bench"),
                )?);
                let (report, timed) = timed_execute(&backend, &client, &plan, &options).await?;
                let flushes = backend.inner.journal_flushes().await;
                let whole_state = backend.whole_state();
                let appends = backend.append_times();
                let append_p50_p99 = (percentile(&appends, 0.50), percentile(&appends, 0.99));
                drop(backend);
                check_report(&report, self.creates)?;
                check_recorded(directory.path(), self.creates)?;
                (
                    timed,
                    create_times(&report),
                    Some(flushes),
                    Some(whole_state),
                    Some(append_p50_p99),
                )
            }
            Mode::Memory => {
                let backend = Timed::new(MemoryBackend::default());
                let (report, timed) = timed_execute(&backend, &client, &plan, &options).await?;
                let whole_state = backend.whole_state();
                let backend = backend.inner;
                let appends = backend.appends.load(Ordering::Relaxed);
                // An intent and a result per create.
                ensure!(
                    appends == 2 * self.creates as u64,
                    "{appends} appends for {} creates",
                    self.creates
                );
                check_report(&report, self.creates)?;
                (timed, create_times(&report), None, Some(whole_state), None)
            }
            Mode::Client => {
                let (timed, elapsed) = timed_client(&client, self.creates).await?;
                (timed, elapsed, None, None, None)
            }
        };
        check_emulator(&emulator, self.creates)?;
        let connections = Connections::to(emulator.address().port());
        drop(client);
        emulator.shutdown().await;

        elapsed.sort_unstable();
        Ok(Sample {
            wall,
            usage,
            create_p50: percentile(&elapsed, 0.50),
            create_p99: percentile(&elapsed, 0.99),
            flushes,
            whole_state,
            append_p50_p99,
            connections,
        })
    }
}

fn create_times(report: &ApplyReport) -> Vec<Duration> {
    report
        .created
        .iter()
        .map(|created| created.elapsed)
        .collect()
}

/// Sends `creates` creates from [`PARALLELISM`] tasks calling the client directly; returns
/// the wall time and the process's usage, and each call's time.
async fn timed_client(
    client: &CloudClient,
    creates: usize,
) -> anyhow::Result<((Duration, Usage), Vec<Duration>)> {
    let next = Arc::new(AtomicUsize::new(0));
    let usage = Usage::now()?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..PARALLELISM {
        let client = client.clone();
        let next = Arc::clone(&next);
        tasks.spawn(async move {
            let spec = spec();
            let mut elapsed = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= creates {
                    return Ok::<_, anyhow::Error>(elapsed);
                }
                let call = Instant::now();
                client
                    .create_job_group(REGION, BUILT_IN_INSTANCE_ID, &group_name(index), &spec)
                    .await?;
                elapsed.push(call.elapsed());
            }
        });
    }
    let mut elapsed = Vec::with_capacity(creates);
    while let Some(joined) = tasks.join_next().await {
        elapsed.extend(joined.context("a client task panicked")??);
    }
    let wall = started.elapsed();
    Ok(((wall, Usage::now()?.since(usage)), elapsed))
}

/// What this process has used so far, every thread together.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    /// User and system CPU time.
    cpu: Duration,
    /// Context switches, voluntary (a thread waited) and involuntary (it was preempted).
    switches: u64,
}

impl Usage {
    fn now() -> anyhow::Result<Self> {
        let usage = getrusage(UsageWho::RUSAGE_SELF).context("getrusage failed")?;
        let duration = |time: nix::sys::time::TimeVal| {
            Duration::new(
                u64::try_from(time.tv_sec()).unwrap_or(0),
                u32::try_from(time.tv_usec()).unwrap_or(0) * 1_000,
            )
        };
        let count = |count: i64| u64::try_from(count).unwrap_or(0);
        Ok(Self {
            cpu: duration(usage.user_time()) + duration(usage.system_time()),
            switches: count(usage.voluntary_context_switches())
                + count(usage.involuntary_context_switches()),
        })
    }

    fn since(self, earlier: Self) -> Self {
        Self {
            cpu: self.cpu.saturating_sub(earlier.cpu),
            switches: self.switches.saturating_sub(earlier.switches),
        }
    }
}

/// Runs `execute`, draining its events, and times it.
async fn timed_execute<B: Backend>(
    backend: &B,
    client: &CloudClient,
    plan: &Plan,
    options: &ApplyOptions,
) -> anyhow::Result<(ApplyReport, (Duration, Usage))> {
    let (sender, mut receiver) = mpsc::channel(1024);
    let drain = tokio::spawn(async move {
        let mut events = 0_u64;
        while receiver.recv().await.is_some() {
            events += 1;
        }
        events
    });
    let usage = Usage::now()?;
    let started = Instant::now();
    let report = execute(
        backend,
        client,
        plan,
        options,
        sender,
        std::future::pending(),
    )
    .await?;
    let wall = started.elapsed();
    let usage = Usage::now()?.since(usage);
    drain.await.context("the event drain panicked")?;
    Ok((report, (wall, usage)))
}

/// Every create succeeded once, unthrottled.
fn check_report(report: &ApplyReport, creates: usize) -> anyhow::Result<()> {
    ensure!(
        report.is_complete() && report.recovered.is_empty(),
        "the run did not simply create everything: {} created, {} recovered, {} failed (first: {:?})",
        report.created.len(),
        report.recovered.len(),
        report.failed.len(),
        report.failed.first().map(|failure| failure.to_string())
    );
    ensure!(
        report.created.len() == creates,
        "{} created of {creates}",
        report.created.len()
    );
    ensure!(
        report.throttled == 0,
        "{} throttled answers without throttling faults",
        report.throttled
    );
    Ok(())
}

/// The emulator received each create once and holds exactly those groups.
fn check_emulator(emulator: &EmulatorHandle, creates: usize) -> anyhow::Result<()> {
    let sent = emulator.request_count("CreateJobGroup");
    let held = emulator.state().job_groups.len();
    ensure!(
        sent == creates as u64 && held == creates,
        "the emulator received {sent} creates and holds {held} groups; expected {creates}"
    );
    Ok(())
}

/// The state left behind records every group (read after the lock is released).
fn check_recorded(directory: &Path, creates: usize) -> anyhow::Result<()> {
    let state = read_state_file(&directory.join(".cityform/state.json"))?
        .context("no state file after the run")?;
    ensure!(
        state.job_groups.len() == creates,
        "the state records {} groups; expected {creates}",
        state.job_groups.len()
    );
    Ok(())
}

fn client_for(emulator: &EmulatorHandle) -> anyhow::Result<CloudClient> {
    let accepted = emulator.credentials();
    Ok(CloudClient::new(
        Credentials::new(accepted.access_key_id.clone(), accepted.access_key_secret()),
        Endpoints::with_override(&emulator.endpoint())?,
        ClientOptions::default(),
    )?)
}

fn group_name(index: usize) -> String {
    format!("bench-{index:05}")
}

fn spec() -> JobGroupSpec {
    JobGroupSpec {
        algo_lib_id: "3".into(),
        resource_profile_id: "6".into(),
        planed_job_count: 2,
        stream_per_job: 1,
        job_count: None,
        params: Default::default(),
    }
}

/// `creates` groups in the emulator's built-in instance.
fn desired(creates: usize) -> Desired {
    Desired {
        groups: (0..creates)
            .map(|index| {
                (
                    Address::new(REGION, BUILT_IN_INSTANCE_ID, group_name(index)),
                    DesiredGroup::new(
                        spec(),
                        SourceLocation {
                            file: "bench.yaml".into(),
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

/// A backend that accepts appends and keeps nothing durable: the baseline that shows what
/// recording the state costs.
#[derive(Debug, Default)]
struct MemoryBackend {
    state: Mutex<Option<State>>,
    appends: AtomicU64,
}

impl MemoryBackend {
    fn recovered(&self) -> Recovered {
        Recovered {
            state: self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
            unresolved: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

impl Backend for MemoryBackend {
    fn location(&self) -> String {
        "memory".to_owned()
    }

    async fn load(&self) -> Result<Recovered, StateError> {
        Ok(self.recovered())
    }

    async fn create(&self, mut state: State) -> Result<State, StateError> {
        state.serial += 1;
        *self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(state.clone());
        Ok(state)
    }

    async fn append(&self, records: &[JournalRecord]) -> Result<(), StateError> {
        if !records.is_empty() {
            self.appends.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn compact(&self) -> Result<Recovered, StateError> {
        Ok(self.recovered())
    }
}

/// A backend that counts the time spent in its whole-state operations, and how long each
/// append took to be durable.
struct Timed<B> {
    inner: B,
    /// Nanoseconds.
    whole_state: AtomicU64,
    appends: Mutex<Vec<Duration>>,
}

impl<B> Timed<B> {
    fn new(inner: B) -> Self {
        Self {
            inner,
            whole_state: AtomicU64::new(0),
            appends: Mutex::new(Vec::new()),
        }
    }

    /// Every append's time, sorted.
    fn append_times(&self) -> Vec<Duration> {
        let mut times = self
            .appends
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        times.sort_unstable();
        times
    }

    fn whole_state(&self) -> Duration {
        Duration::from_nanos(self.whole_state.load(Ordering::Relaxed))
    }

    async fn timing<T>(&self, operation: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let result = operation.await;
        let nanoseconds = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.whole_state.fetch_add(nanoseconds, Ordering::Relaxed);
        result
    }
}

impl<B: Backend> Backend for Timed<B> {
    fn location(&self) -> String {
        self.inner.location()
    }

    async fn load(&self) -> Result<Recovered, StateError> {
        self.timing(self.inner.load()).await
    }

    async fn create(&self, state: State) -> Result<State, StateError> {
        self.timing(self.inner.create(state)).await
    }

    async fn append(&self, records: &[JournalRecord]) -> Result<(), StateError> {
        let started = Instant::now();
        let result = self.inner.append(records).await;
        let elapsed = started.elapsed();
        self.appends
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(elapsed);
        result
    }

    async fn compact(&self) -> Result<Recovered, StateError> {
        self.timing(self.inner.compact()).await
    }
}

/// TCP connections to one local port, from `/proc/net/tcp{,6}`.
#[derive(Debug, Clone, Copy, Default)]
struct Connections {
    /// Accepted by the server and still open (the client's pool keeps them).
    established: usize,
    /// Closed recently, on either side: a pool that does not keep connections leaves these.
    time_wait: usize,
}

impl Connections {
    fn to(port: u16) -> Self {
        let mut connections = Self::default();
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let Ok(text) = std::fs::read_to_string(table) else {
                continue;
            };
            for line in text.lines().skip(1) {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let (Some(local), Some(remote), Some(state)) =
                    (fields.get(1), fields.get(2), fields.get(3))
                else {
                    continue;
                };
                let port_of = |address: &str| {
                    address
                        .rsplit(':')
                        .next()
                        .and_then(|hex| u16::from_str_radix(hex, 16).ok())
                };
                let local_port = port_of(local);
                match *state {
                    "01" if local_port == Some(port) => connections.established += 1,
                    "06" if local_port == Some(port) || port_of(remote) == Some(port) => {
                        connections.time_wait += 1;
                    }
                    _ => {}
                }
            }
        }
        connections
    }
}

/// `cityform apply` against a `cityform emulator` process, both the release binary.
struct BinaryRun {
    directory: tempfile::TempDir,
    creates: usize,
}

impl BinaryRun {
    /// Writes one manifest file declaring `creates` groups.
    fn prepare(scratch: &Scratch, creates: usize) -> anyhow::Result<Self> {
        let directory = scratch.tempdir()?;
        let mut text = String::new();
        for index in 0..creates {
            text.push_str(&format!(
                "---\napiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: {}\nspec:\n  regionId: {REGION}\n  instanceId: {BUILT_IN_INSTANCE_ID}\n  algoLibId: \"3\"\n  resourceProfileId: \"6\"\n  planedJobCount: 2\n  streamPerJob: 1\n",
                group_name(index)
            ));
        }
        std::fs::write(directory.path().join("groups.yaml"), text)?;
        Ok(Self { directory, creates })
    }

    /// One apply from an empty state against a fresh emulator; the wall time of the apply
    /// process, from spawn to exit.
    fn run(&self) -> anyhow::Result<Duration> {
        let emulator = EmulatorProcess::start()?;
        let state = self.directory.path().join("state").join("state.json");
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_cityform"))
            .args(["apply", "--auto-approve", "--parallelism"])
            .arg(PARALLELISM.to_string())
            .arg("--endpoint")
            .arg(&emulator.endpoint)
            .arg("--state")
            .arg(&state)
            .arg("-f")
            .arg(self.directory.path().join("groups.yaml"))
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "cityform-dev")
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "cityform-dev-secret")
            .env("HOME", self.directory.path())
            .env_remove("ALIBABA_CLOUD_PROFILE")
            .env_remove("CITYFORM_STATE")
            .env_remove("CITYFORM_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .context("cannot run `cityform apply`")?;
        let wall = started.elapsed();
        ensure!(
            output.status.success(),
            "`cityform apply` exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let recorded = read_state_file(&state)?
            .context("no state file after `cityform apply`")?
            .job_groups
            .len();
        ensure!(
            recorded == self.creates,
            "`cityform apply` recorded {recorded} groups; expected {}",
            self.creates
        );
        std::fs::remove_dir_all(self.directory.path().join("state"))?;
        Ok(wall)
    }
}

/// A `cityform emulator` child process, stopped when dropped.
struct EmulatorProcess {
    child: Child,
    endpoint: String,
}

impl EmulatorProcess {
    fn start() -> anyhow::Result<Self> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cityform"))
            .args(["emulator", "--listen", "127.0.0.1:0", "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start `cityform emulator`")?;
        let stdout = child.stdout.take().context("no stdout from the emulator")?;
        let mut first = String::new();
        let read = BufReader::new(stdout).read_line(&mut first);
        let endpoint = first
            .trim()
            .strip_prefix("cityform emulator listening on ")
            .map(str::to_owned);
        let emulator = Self {
            child,
            endpoint: endpoint.unwrap_or_default(),
        };
        read.context("cannot read the emulator's first line")?;
        ensure!(
            !emulator.endpoint.is_empty(),
            "unexpected first line from the emulator: `{}`",
            first.trim()
        );
        Ok(emulator)
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value at `share` of sorted `values` (nearest rank).
fn percentile(values: &[Duration], share: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((values.len() as f64 * share).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => Duration::ZERO,
        length if length % 2 == 1 => sorted[length / 2],
        length => (sorted[length / 2 - 1] + sorted[length / 2]) / 2,
    }
}

fn median_u64(values: impl Iterator<Item = u64>) -> u64 {
    let mut sorted: Vec<u64> = values.collect();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

/// The medians of one configuration.
struct Row {
    name: String,
    creates: usize,
    walls: Vec<Duration>,
    wall: Duration,
    /// Median CPU time and context switches of the process while timed (library-level runs
    /// only).
    usage: Option<Usage>,
    create_p50: Option<Duration>,
    create_p99: Option<Duration>,
    flushes: Option<u64>,
    whole_state: Option<Duration>,
    append_p50_p99: Option<(Duration, Duration)>,
    connections: Option<Connections>,
}

impl Row {
    fn library(name: &str, creates: usize, samples: &[Sample]) -> Self {
        let walls: Vec<Duration> = samples.iter().map(|sample| sample.wall).collect();
        let cpus: Vec<Duration> = samples.iter().map(|sample| sample.usage.cpu).collect();
        let p50: Vec<Duration> = samples.iter().map(|sample| sample.create_p50).collect();
        let p99: Vec<Duration> = samples.iter().map(|sample| sample.create_p99).collect();
        let flushes = samples
            .iter()
            .all(|sample| sample.flushes.is_some())
            .then(|| median_u64(samples.iter().filter_map(|sample| sample.flushes)));
        let whole_state: Vec<Duration> = samples
            .iter()
            .filter_map(|sample| sample.whole_state)
            .collect();
        let whole_state = (whole_state.len() == samples.len()).then(|| median(&whole_state));
        let appends: Vec<(Duration, Duration)> = samples
            .iter()
            .filter_map(|sample| sample.append_p50_p99)
            .collect();
        let append_p50_p99 = (appends.len() == samples.len()).then(|| {
            let p50: Vec<Duration> = appends.iter().map(|(p50, _)| *p50).collect();
            let p99: Vec<Duration> = appends.iter().map(|(_, p99)| *p99).collect();
            (median(&p50), median(&p99))
        });
        // The last iteration's count: every iteration has its own emulator and port.
        let connections = samples.last().map(|sample| sample.connections);
        Self {
            name: name.to_owned(),
            creates,
            wall: median(&walls),
            walls,
            usage: Some(Usage {
                cpu: median(&cpus),
                switches: median_u64(samples.iter().map(|sample| sample.usage.switches)),
            }),
            create_p50: Some(median(&p50)),
            create_p99: Some(median(&p99)),
            flushes,
            whole_state,
            append_p50_p99,
            connections,
        }
    }

    fn creates_per_second(&self) -> f64 {
        self.creates as f64 / self.wall.as_secs_f64()
    }
}

/// The table and the targets' figures (each `None` when its configurations did not run).
struct Summary {
    rows: Vec<Row>,
    /// Median wall with the journal, and the ideal.
    latency: Option<(Duration, Duration)>,
    /// Median walls with the journal and without.
    bulk: Option<(Duration, Duration)>,
    /// Median CPU times and context switches with the journal and without.
    bulk_usage: Option<(Usage, Usage)>,
    /// Median walls of apply with the journal and of the bare client, per workload.
    against_client: Vec<(&'static str, Duration, Duration)>,
    /// The median of the rounds' own journal / memory ratios: each round runs both one
    /// after the other, so a slow spell of the machine weighs on both sides of a ratio.
    bulk_paired: Option<f64>,
}

impl Summary {
    fn new(samples: &BTreeMap<&str, Vec<Sample>>, binary: &[Duration]) -> Self {
        let mut rows = Vec::new();
        for (name, creates) in [
            ("latency/journal", LATENCY_CREATES),
            ("latency/memory", LATENCY_CREATES),
            ("latency/client", LATENCY_CREATES),
            ("bulk/journal", BULK_CREATES),
            ("bulk/memory", BULK_CREATES),
            ("bulk/client", BULK_CREATES),
        ] {
            if let Some(samples) = samples.get(name).filter(|samples| !samples.is_empty()) {
                rows.push(Row::library(name, creates, samples));
            }
        }
        if !binary.is_empty() {
            rows.push(Row {
                name: "binary".to_owned(),
                creates: BULK_CREATES,
                walls: binary.to_vec(),
                wall: median(binary),
                usage: None,
                create_p50: None,
                create_p99: None,
                flushes: None,
                whole_state: None,
                append_p50_p99: None,
                connections: None,
            });
        }
        let row_of = |name: &str| rows.iter().find(|row| row.name == name);
        let wall_of = |name: &str| row_of(name).map(|row| row.wall);
        let usage_of = |name: &str| row_of(name).and_then(|row| row.usage);
        let ideal = LATENCY * LATENCY_CREATES as u32 / PARALLELISM as u32;
        let against_client = ["latency", "bulk"]
            .into_iter()
            .filter_map(|workload| {
                let journal = wall_of(&format!("{workload}/journal"))?;
                let client = wall_of(&format!("{workload}/client"))?;
                Some((workload, journal, client))
            })
            .collect();
        let bulk_paired = samples
            .get("bulk/journal")
            .zip(samples.get("bulk/memory"))
            .and_then(|(journal, memory)| {
                let mut ratios: Vec<f64> = journal
                    .iter()
                    .zip(memory)
                    .map(|(journal, memory)| journal.wall.as_secs_f64() / memory.wall.as_secs_f64())
                    .collect();
                ratios.sort_by(f64::total_cmp);
                ratios.get(ratios.len() / 2).copied()
            });
        Self {
            bulk_paired,
            latency: wall_of("latency/journal").map(|wall| (wall, ideal)),
            bulk: wall_of("bulk/journal").zip(wall_of("bulk/memory")),
            bulk_usage: usage_of("bulk/journal").zip(usage_of("bulk/memory")),
            against_client,
            rows,
        }
    }

    fn missed_targets(&self) -> Vec<String> {
        let mut missed = Vec::new();
        if let Some((wall, ideal)) = self.latency
            && latency_ratio(wall, ideal) > LATENCY_TARGET_FACTOR
        {
            let mut message = format!(
                "{LATENCY_CREATES} creates at {} ms took {} = {:.3} × the ideal {}; the target is ≤ {LATENCY_TARGET_FACTOR} ×",
                LATENCY.as_millis(),
                seconds(wall),
                latency_ratio(wall, ideal),
                seconds(ideal)
            );
            if let Some((_, _, client)) = self
                .against_client
                .iter()
                .find(|(workload, _, _)| *workload == "latency")
                && latency_ratio(*client, ideal) > LATENCY_TARGET_FACTOR
            {
                message.push_str(&format!(
                    " (the bare client alone took {} = {:.3} ×: the machine is too busy for this run to judge apply)",
                    seconds(*client),
                    latency_ratio(*client, ideal)
                ));
            }
            missed.push(message);
        }
        if let Some((journal, memory)) = self.bulk
            && recording_share(journal, memory) >= RECORDING_TARGET_SHARE
        {
            missed.push(format!(
                "recording the state took {:.1} % of {BULK_CREATES} creates ({} with the journal, {} without); the target is < {:.0} %",
                recording_share(journal, memory) * 100.0,
                seconds(journal),
                seconds(memory),
                RECORDING_TARGET_SHARE * 100.0
            ));
        }
        missed
    }
}

fn latency_ratio(wall: Duration, ideal: Duration) -> f64 {
    wall.as_secs_f64() / ideal.as_secs_f64()
}

/// The share of the journal run that recording the state costs.
fn recording_share(journal: Duration, memory: Duration) -> f64 {
    let journal = journal.as_secs_f64();
    (journal - memory.as_secs_f64()) / journal
}

fn seconds(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rows.is_empty() {
            return Ok(());
        }
        writeln!(
            f,
            "\n| configuration | creates | median wall | creates/s | CPU (cores) | context switches | per create p50 / p99 | fsyncs | append p50 / p99 | load + create + compact | connections open / TIME_WAIT | every wall |"
        )?;
        writeln!(
            f,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
        )?;
        for row in &self.rows {
            let per_create = match (row.create_p50, row.create_p99) {
                (Some(p50), Some(p99)) => format!("{} / {}", millis(p50), millis(p99)),
                _ => "–".to_owned(),
            };
            let flushes = row
                .flushes
                .map_or_else(|| "–".to_owned(), |flushes| flushes.to_string());
            let appends = row.append_p50_p99.map_or_else(
                || "–".to_owned(),
                |(p50, p99)| format!("{} / {}", millis(p50), millis(p99)),
            );
            let whole_state = row.whole_state.map_or_else(|| "–".to_owned(), millis);
            let (cpu, switches) = row.usage.map_or_else(
                || ("–".to_owned(), "–".to_owned()),
                |usage| {
                    let cores = usage.cpu.as_secs_f64() / row.wall.as_secs_f64();
                    (
                        format!("{} ({cores:.2})", seconds(usage.cpu)),
                        usage.switches.to_string(),
                    )
                },
            );
            let connections = row.connections.map_or_else(
                || "–".to_owned(),
                |connections| format!("{} / {}", connections.established, connections.time_wait),
            );
            let walls: Vec<String> = row
                .walls
                .iter()
                .map(|wall| format!("{:.3}", wall.as_secs_f64()))
                .collect();
            writeln!(
                f,
                "| {} | {} | {} | {:.0} | {cpu} | {switches} | {per_create} | {flushes} | {appends} | {whole_state} | {connections} | {} |",
                row.name,
                row.creates,
                seconds(row.wall),
                row.creates_per_second(),
                walls.join(" ")
            )?;
        }
        writeln!(f)?;
        if let Some((wall, ideal)) = self.latency {
            writeln!(
                f,
                "latency target: {} / ideal {} = {:.3} (target ≤ {LATENCY_TARGET_FACTOR})",
                seconds(wall),
                seconds(ideal),
                latency_ratio(wall, ideal)
            )?;
        }
        if let Some((journal, memory)) = self.bulk {
            writeln!(
                f,
                "recording share: ({} − {}) / {} = {:.1} % (target < {:.0} %); journal / memory = {:.3}",
                seconds(journal),
                seconds(memory),
                seconds(journal),
                recording_share(journal, memory) * 100.0,
                RECORDING_TARGET_SHARE * 100.0,
                journal.as_secs_f64() / memory.as_secs_f64()
            )?;
        }
        if let Some((journal, memory)) = self.bulk_usage {
            let (journal_switches, memory_switches) = (journal.switches, memory.switches);
            let (journal, memory) = (journal.cpu, memory.cpu);
            writeln!(
                f,
                "recording CPU: {} − {} = {} for {BULK_CREATES} creates ({:.1} µs each)",
                seconds(journal),
                seconds(memory),
                seconds(journal.saturating_sub(memory)),
                journal.saturating_sub(memory).as_secs_f64() * 1e6 / BULK_CREATES as f64
            )?;
            writeln!(
                f,
                "context switches: {journal_switches} with the journal, {memory_switches} without ({:.2} more per create)",
                (journal_switches as f64 - memory_switches as f64) / BULK_CREATES as f64
            )?;
        }
        if let Some(ratio) = self.bulk_paired {
            writeln!(
                f,
                "recording share, paired (median of the rounds' journal / memory = {ratio:.3}): {:.1} %",
                (1.0 - 1.0 / ratio) * 100.0
            )?;
        }
        for (workload, journal, client) in &self.against_client {
            writeln!(
                f,
                "{workload}: apply with the journal / the bare client = {} / {} = {:.3}",
                seconds(*journal),
                seconds(*client),
                journal.as_secs_f64() / client.as_secs_f64()
            )?;
        }
        Ok(())
    }
}
