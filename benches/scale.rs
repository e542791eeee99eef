//! `cargo bench --bench scale`: a very large apply through the binary, and the plans over the
//! state it leaves. Method, results and targets are in `docs/performance.md` ("At 100,000
//! creates" under apply, and "After a large apply" under plan).
//!
//! ```sh
//! cargo bench --bench scale                         # 100,000 groups, 5 plans
//! cargo bench --bench scale -- --check              # also exit 1 when a target is missed
//! cargo bench --bench scale -- --binary OLD/cityform   # the same inputs, another build
//! ```
//!
//! 1. The manifests of `--size` groups (100,000) in ten files, as the plan bench writes
//!    them (`plan/generate.rs`), and an empty state.
//! 2. `cityform apply --auto-approve --parallelism 32` against a `cityform emulator --quiet`
//!    process on loopback with no latency (the emulator is always this build's, so that two
//!    builds meet the same service), run as a CI job would (the GitHub variables name the
//!    commit, the repository and the run, so each recorded action has the provenance a real
//!    one has). Measured like the plan bench's runs (`plan/measure.rs`): wall time, CPU time
//!    and peak RSS through `getrusage(RUSAGE_CHILDREN)` of a measuring copy of this program.
//!    Then the sizes of the state file and of the history file beside it.
//! 3. One group in ten changed in the manifests (`planedJobCount` one higher), then
//!    `cityform plan --refresh=false --format json > /dev/null` `--runs` times: median and
//!    range of wall time, median CPU, largest peak RSS. One plan first writes its JSON to a
//!    file, which must count exactly those updates.
//!
//! Targets (`--check`): apply peak RSS at most 250 MB, state file at most 30 MB, plan median
//! at most 0.6 s and peak RSS at most 150 MB. Run without `--bench` (as `cargo test
//! --benches` does), it makes one quick round over 2,000 groups, to prove the harness works.

// Shared with the plan bench, which uses parts this one does not.
#[allow(dead_code)]
#[path = "plan/generate.rs"]
mod generate;
#[allow(dead_code)]
#[path = "plan/measure.rs"]
mod measure;

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use clap::Parser;

use measure::{MEASURE_FLAG, Sample, measure_one_run, measure_with};

/// The size the targets are about.
const TARGET_SIZE: usize = 100_000;
/// One group in this many is changed before the plans.
const CHANGE_EVERY: usize = 10;
const MAX_APPLY_RSS: u64 = 250_000_000;
const MAX_STATE_BYTES: u64 = 30_000_000;
const MAX_PLAN_WALL: Duration = Duration::from_millis(600);
const MAX_PLAN_RSS: u64 = 150_000_000;

/// Benchmark a large `cityform apply` and the plans after it.
#[derive(Debug, Parser)]
struct Arguments {
    /// Exit with status 1 when a target is missed.
    #[arg(long)]
    check: bool,
    /// Job groups to create.
    #[arg(long, default_value_t = TARGET_SIZE)]
    size: usize,
    /// Measured plans.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Measure this cityform binary instead of the one cargo built for the bench.
    #[arg(long, value_name = "PATH")]
    binary: Option<PathBuf>,
    /// Keep the inputs and the state below DIR instead of a temporary directory.
    #[arg(long, value_name = "DIR")]
    keep_inputs: Option<PathBuf>,
    /// Passed by `cargo bench`; without it, one quick round over a small set.
    #[arg(long, hide = true)]
    bench: bool,
    /// A benchmark name filter passed through `cargo bench NAME`; there is only one.
    #[arg(hide = true)]
    filter: Option<String>,
}

/// What the generated manifests use beyond the emulator's built-in instance, library and
/// profile.
const EMULATOR_SEED: &str = "\
instances: [cityvisual-north]
algoLibs: [\"12\"]
resourceProfiles: [\"1\", \"2\", \"3\", \"4\", \"5\", \"7\", \"8\"]
";

/// What every measured `cityform` gets in its environment: credentials for the emulator,
/// a home of its own, and the variables of a GitHub Actions run.
const ENVIRONMENT: [(&str, &str); 6] = [
    ("ALIBABA_CLOUD_ACCESS_KEY_ID", "cityform-dev"),
    ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "cityform-dev-secret"),
    ("GITHUB_SHA", "3f2a9c1e0b7d4a5f6c8e9d0a1b2c3d4e5f6a7b8c"),
    ("GITHUB_SERVER_URL", "https://github.com"),
    ("GITHUB_REPOSITORY", "city/traffic-deployments"),
    ("GITHUB_RUN_ID", "8812"),
];

fn main() -> ExitCode {
    let arguments: Vec<OsString> = std::env::args_os().collect();
    if arguments.get(1).is_some_and(|first| first == MEASURE_FLAG) {
        return match measure_one_run(&arguments[2..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    let mut arguments = Arguments::parse();
    if !arguments.bench {
        arguments.size = 2_000;
        arguments.runs = 1;
    }
    match run(&arguments) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(arguments: &Arguments) -> anyhow::Result<bool> {
    ensure!(arguments.runs > 0, "`--runs` must be at least 1");
    let this_build = Path::new(env!("CARGO_BIN_EXE_cityform"));
    let program = arguments.binary.as_deref().unwrap_or(this_build);
    let temporary = tempfile::tempdir().context("could not create a temporary directory")?;
    let directory = arguments
        .keep_inputs
        .as_deref()
        .unwrap_or_else(|| temporary.path());
    let manifests = directory.join("manifests");
    let state = directory.join("state").join("state.json");
    if state.parent().is_some_and(Path::exists) {
        std::fs::remove_dir_all(directory.join("state"))?;
    }
    std::fs::create_dir_all(&manifests)?;
    let size = arguments.size;
    let manifest_bytes = generate::write_manifests(&manifests, size, &|_| false)?;
    println!("machine: {}", machine());
    println!("binary: {}", program.display());
    println!(
        "{} groups in ten manifest files, {:.1} MB",
        count(size),
        megabytes(manifest_bytes)
    );
    let environment: Vec<(&str, &str)> = ENVIRONMENT
        .iter()
        .copied()
        .chain([("HOME", directory.to_str().unwrap_or("/nonexistent"))])
        .collect();

    let seed = directory.join("emulator-seed.yaml");
    std::fs::write(&seed, EMULATOR_SEED)?;
    println!("{}", load_average("before the apply"));
    let emulator = EmulatorProcess::start(this_build, &seed)?;
    let apply = measure_with(
        program,
        &[
            "apply",
            "--auto-approve",
            "--parallelism",
            "32",
            "--endpoint",
            &emulator.endpoint,
        ]
        .map(OsString::from)
        .into_iter()
        .chain(["--state".into(), state.clone().into_os_string()])
        .chain(["-f".into(), manifests.clone().into_os_string()])
        .collect::<Vec<_>>(),
        &environment,
    )
    .context("the apply")?;
    drop(emulator);
    println!("{}", load_average("after the apply"));
    let recorded = cityform::state::read_state_file(&state)?
        .context("no state after the apply")?
        .job_groups
        .len();
    ensure!(
        recorded == size,
        "the apply recorded {recorded} groups, not {size}"
    );
    let state_bytes = std::fs::metadata(&state)?.len();
    let history_bytes = std::fs::metadata(state.with_extension("json.history"))
        .map_or(0, |metadata| metadata.len());

    let changed = |index: usize| index.is_multiple_of(CHANGE_EVERY);
    let changes = (0..size).filter(|index| changed(*index)).count();
    generate::write_manifests(&manifests, size, &changed)?;
    let plan_arguments: Vec<OsString> = [
        "plan".into(),
        "--state".into(),
        state.clone().into_os_string(),
        "-f".into(),
        manifests.clone().into_os_string(),
        "--format".into(),
        "json".into(),
        "--refresh=false".into(),
    ]
    .into();
    verify_plan(
        program,
        &plan_arguments,
        &environment,
        directory,
        size,
        changes,
    )?;
    println!("{}", load_average("before the plans"));
    let mut plans = Vec::new();
    for _ in 0..arguments.runs {
        plans.push(measure_with(program, &plan_arguments, &environment).context("a plan")?);
    }
    println!("{}", load_average("after the plans"));

    println!();
    println!("| run | wall | CPU | peak RSS |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| apply, {} creates | {} | {} | {:.0} MB |",
        count(size),
        seconds(apply.wall),
        seconds(apply.cpu),
        megabytes(apply.peak_rss)
    );
    let plan_median = median(plans.iter().map(|sample| sample.wall).collect());
    let plan_cpu = median(plans.iter().map(|sample| sample.cpu).collect());
    let plan_rss = plans
        .iter()
        .map(|sample| sample.peak_rss)
        .max()
        .unwrap_or(0);
    let (fastest, slowest) = range(&plans);
    println!(
        "| plan, {} updates, median of {} (range {}–{}) | {} | {} | {:.0} MB |",
        count(changes),
        plans.len(),
        seconds(fastest),
        seconds(slowest),
        seconds(plan_median),
        seconds(plan_cpu),
        megabytes(plan_rss)
    );
    println!();
    println!(
        "state file {:.1} MB, history file {:.1} MB",
        megabytes(state_bytes),
        megabytes(history_bytes)
    );
    if !arguments.check {
        return Ok(true);
    }
    let mut misses = Vec::new();
    if size != TARGET_SIZE {
        misses.push(format!(
            "the targets are about {} groups",
            count(TARGET_SIZE)
        ));
    }
    if apply.peak_rss > MAX_APPLY_RSS {
        misses.push(format!(
            "apply peak RSS {:.0} MB",
            megabytes(apply.peak_rss)
        ));
    }
    if state_bytes > MAX_STATE_BYTES {
        misses.push(format!("state file {:.1} MB", megabytes(state_bytes)));
    }
    if plan_median > MAX_PLAN_WALL {
        misses.push(format!("plan median {}", seconds(plan_median)));
    }
    if plan_rss > MAX_PLAN_RSS {
        misses.push(format!("plan peak RSS {:.0} MB", megabytes(plan_rss)));
    }
    for miss in &misses {
        println!("check: MISSED: {miss}");
    }
    if misses.is_empty() {
        println!("check: every target met");
    }
    Ok(misses.is_empty())
}

/// Runs the plan once into a file and checks that it updates exactly the changed groups.
fn verify_plan(
    program: &Path,
    arguments: &[OsString],
    environment: &[(&str, &str)],
    directory: &Path,
    size: usize,
    changes: usize,
) -> anyhow::Result<()> {
    let output_path = directory.join("plan.json");
    let status = Command::new(program)
        .args(arguments)
        .envs(environment.iter().copied())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&output_path)?)
        .status()
        .context("could not run cityform plan")?;
    ensure!(status.success(), "`cityform plan` ended with {status}");
    let plan: serde_json::Value = serde_json::from_slice(&std::fs::read(&output_path)?)?;
    let count = |field: &str| plan["summary"][field].as_u64();
    let found = (count("create"), count("update"), count("unchanged"));
    let wanted = (Some(0), Some(changes as u64), Some((size - changes) as u64));
    if found != wanted {
        bail!("the plan counts (create, update, unchanged) = {found:?}, expected {wanted:?}");
    }
    let quoted = plan["actions"].as_array().map_or(0, |actions| {
        actions
            .iter()
            .filter(|action| action.get("last_applied").is_some())
            .count()
    });
    ensure!(
        quoted == changes,
        "{quoted} updates say where they were last applied from, expected {changes}"
    );
    Ok(())
}

/// A `cityform emulator --quiet` child process on loopback, stopped when dropped.
struct EmulatorProcess {
    child: Child,
    endpoint: String,
}

impl EmulatorProcess {
    fn start(program: &Path, seed: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new(program)
            .args(["emulator", "--listen", "127.0.0.1:0", "--quiet", "--seed"])
            .arg(seed)
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
            .map(str::to_owned)
            .unwrap_or_default();
        let emulator = Self { child, endpoint };
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

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    match values.len() {
        0 => Duration::ZERO,
        length if length.is_multiple_of(2) => (values[length / 2 - 1] + values[length / 2]) / 2,
        length => values[length / 2],
    }
}

fn range(samples: &[Sample]) -> (Duration, Duration) {
    let walls = samples.iter().map(|sample| sample.wall);
    (
        walls.clone().min().unwrap_or_default(),
        walls.max().unwrap_or_default(),
    )
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown CPU", |(_, model)| model.trim())
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{model}, {cores} cores")
}

/// The 1-minute load average: how many other processes wanted the cores meanwhile.
fn load_average(when: &str) -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let one_minute = text.split_whitespace().next().unwrap_or("unknown");
    format!("load average {when}: {one_minute}")
}

fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

/// `100000` as `100,000`.
fn count(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
