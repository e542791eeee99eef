//! `cargo bench --bench plan`: how long `cityform plan` takes, and how much memory, over
//! 1,000, 10,000 and 100,000 job groups, and whether that meets the targets.
//!
//! For each size, the inputs are generated into a temporary directory (`generate.rs`), one
//! run checks that the plan says exactly what the inputs imply, then the release binary runs
//! `cityform plan --state … -f … --format json > /dev/null` `--runs` times per size, the
//! sizes interleaved so that the machine's noise falls on all of them alike. The table gives
//! the median wall time and the peak RSS of each size, and the 100k/10k ratio of medians.
//!
//! With `--check`, the program exits with status 1 when a target is missed:
//! 100,000 groups in under 2 s (median) and under 300 MB (largest peak RSS of any run), and
//! a 100k/10k ratio of at most 12. Method and results: `docs/performance.md`.
//!
//! Run without `--bench` (as `cargo test --benches` does), it makes one quick run over a
//! small set, to prove that the harness works.

mod generate;
mod measure;

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;

use generate::{Expected, Inputs, generate};
use measure::{MEASURE_FLAG, Sample, measure, measure_one_run};

/// The size the absolute targets are about.
const TARGET_SIZE: usize = 100_000;
/// The size the target size's median is compared with.
const RATIO_BASE_SIZE: usize = 10_000;
/// Median wall time at the target size.
const MAX_WALL: Duration = Duration::from_secs(2);
/// Peak RSS at the target size, in bytes (300 MB).
const MAX_PEAK_RSS: u64 = 300_000_000;
/// Median at the target size over median at the base size: tenfold the work, at most
/// twelvefold the time.
const MAX_RATIO: f64 = 12.0;

/// Benchmark `cityform plan` over generated manifests and state.
#[derive(Debug, Parser)]
struct Arguments {
    /// Exit with status 1 when a target is missed (for CI).
    #[arg(long)]
    check: bool,
    /// Measured runs per size.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The numbers of job groups to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000, 10_000, TARGET_SIZE])]
    sizes: Vec<usize>,
    /// Measure this cityform binary instead of the one cargo built for the bench (to
    /// compare with another build).
    #[arg(long, value_name = "PATH")]
    binary: Option<std::path::PathBuf>,
    /// Generate the inputs below DIR and keep them (to profile a run by hand), instead of
    /// in a temporary directory that is removed at the end.
    #[arg(long, value_name = "DIR")]
    keep_inputs: Option<std::path::PathBuf>,
    /// Passed by `cargo bench`; without it, one quick run over a small set.
    #[arg(long, hide = true)]
    bench: bool,
    /// A benchmark name filter passed through `cargo bench NAME`; there is only one benchmark.
    #[arg(hide = true)]
    filter: Option<String>,
}

/// One size's inputs and samples.
struct Measured {
    inputs: Inputs,
    samples: Vec<Sample>,
}

impl Measured {
    fn median_wall(&self) -> Duration {
        median(self.samples.iter().map(|sample| sample.wall).collect())
    }

    fn median_cpu(&self) -> Duration {
        median(self.samples.iter().map(|sample| sample.cpu).collect())
    }

    fn wall_range(&self) -> (Duration, Duration) {
        let walls = self.samples.iter().map(|sample| sample.wall);
        (
            walls.clone().min().unwrap_or_default(),
            walls.max().unwrap_or_default(),
        )
    }

    fn peak_rss(&self) -> u64 {
        self.samples
            .iter()
            .map(|sample| sample.peak_rss)
            .max()
            .unwrap_or(0)
    }
}

fn median(mut durations: Vec<Duration>) -> Duration {
    durations.sort();
    let middle = durations.len() / 2;
    match durations.len() {
        0 => Duration::ZERO,
        length if length.is_multiple_of(2) => (durations[middle - 1] + durations[middle]) / 2,
        _ => durations[middle],
    }
}

fn main() -> ExitCode {
    let arguments: Vec<OsString> = std::env::args_os().collect();
    if arguments.get(1).is_some_and(|first| first == MEASURE_FLAG) {
        return exit_code(measure_one_run(&arguments[2..]).map(|()| true));
    }
    let mut arguments = Arguments::parse();
    if !arguments.bench {
        arguments.sizes = vec![200];
        arguments.runs = 1;
    }
    exit_code(run(&arguments))
}

fn exit_code(result: anyhow::Result<bool>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Measures every size; `Ok(false)` when `--check` was asked for and a target is missed.
fn run(arguments: &Arguments) -> anyhow::Result<bool> {
    if arguments.runs == 0 {
        bail!("`--runs` must be at least 1");
    }
    let program = arguments
        .binary
        .as_deref()
        .unwrap_or_else(|| Path::new(env!("CARGO_BIN_EXE_cityform")));
    let temporary = tempfile::tempdir().context("could not create a temporary directory")?;
    let directory = arguments
        .keep_inputs
        .as_deref()
        .unwrap_or_else(|| temporary.path());

    println!("{}", machine_description());
    println!("binary: {}", program.display());
    let mut measured = Vec::new();
    for &size in &arguments.sizes {
        let started = Instant::now();
        let inputs = generate(&directory.join(size.to_string()), size)
            .with_context(|| format!("could not generate the inputs for {size} groups"))?;
        println!(
            "generated {size} groups ({:.1} MB of manifests, {:.1} MB of state) in {:.2} s",
            megabytes(inputs.manifest_bytes),
            megabytes(inputs.state_bytes),
            started.elapsed().as_secs_f64()
        );
        verify(program, &inputs, directory)?;
        measured.push(Measured {
            inputs,
            samples: Vec::new(),
        });
    }
    println!("{}", load_average("before the runs"));
    println!(
        "measuring {} runs per size, sizes interleaved…",
        arguments.runs
    );
    for _ in 0..arguments.runs {
        for entry in &mut measured {
            let sample = measure(program, &plan_arguments(&entry.inputs))
                .with_context(|| format!("plan over {} groups", entry.inputs.size))?;
            entry.samples.push(sample);
        }
    }

    println!("{}", load_average("after the runs"));
    println!();
    print_table(&measured);
    let wall_ratio = ratio(&measured, Measured::median_wall);
    let cpu_ratio = ratio(&measured, Measured::median_cpu);
    if let (Some(wall), Some(cpu)) = (wall_ratio, cpu_ratio) {
        println!(
            "\n{} / {} groups, ratio of median wall times: {wall:.2}, of median CPU times: {cpu:.2} (linear would be {:.0})",
            group_count(TARGET_SIZE),
            group_count(RATIO_BASE_SIZE),
            TARGET_SIZE as f64 / RATIO_BASE_SIZE as f64
        );
    }
    if !arguments.check {
        return Ok(true);
    }
    let misses = misses(&measured, wall_ratio);
    println!();
    if misses.is_empty() {
        println!(
            "check: every target met ({} groups under {:.1} s and {:.0} MB, ratio at most {MAX_RATIO})",
            group_count(TARGET_SIZE),
            MAX_WALL.as_secs_f64(),
            megabytes(MAX_PEAK_RSS)
        );
        return Ok(true);
    }
    for miss in &misses {
        println!("check: MISSED: {miss}");
    }
    Ok(false)
}

/// `cityform plan` over `inputs`, as JSON.
fn plan_arguments(inputs: &Inputs) -> Vec<OsString> {
    vec![
        "plan".into(),
        "--state".into(),
        inputs.state.clone().into_os_string(),
        "-f".into(),
        inputs.manifests.clone().into_os_string(),
        "--format".into(),
        "json".into(),
        // The target is the offline plan: manifests against the state. A refresh reads the
        // service, whose cost is measured by the refresh tests in requests, not here.
        "--refresh=false".into(),
    ]
}

/// Runs the plan once, keeping its output, and checks that it says what the inputs imply:
/// a fast plan that is wrong would be no result at all.
fn verify(program: &Path, inputs: &Inputs, directory: &Path) -> anyhow::Result<()> {
    let output_path = directory.join(format!("plan-{}.json", inputs.size));
    let output_file = std::fs::File::create(&output_path)
        .with_context(|| format!("could not create `{}`", output_path.display()))?;
    let status = Command::new(program)
        .args(plan_arguments(inputs))
        .stdin(Stdio::null())
        .stdout(output_file)
        .status()
        .context("could not run cityform")?;
    if !status.success() {
        bail!(
            "`cityform plan` over {} groups ended with {status}",
            inputs.size
        );
    }
    let text = std::fs::read(&output_path)
        .with_context(|| format!("could not read `{}`", output_path.display()))?;
    let plan: serde_json::Value = serde_json::from_slice(&text)
        .with_context(|| format!("the plan over {} groups is not JSON", inputs.size))?;
    let count = |field: &str| plan["summary"][field].as_u64();
    let found = (
        count("create"),
        count("update"),
        count("orphan"),
        count("unchanged"),
    );
    let Expected {
        create,
        update,
        unchanged,
    } = inputs.expected;
    let wanted = (
        Some(create as u64),
        Some(update as u64),
        Some(0),
        Some(unchanged as u64),
    );
    if found != wanted {
        bail!(
            "the plan over {} groups counts (create, update, orphan, unchanged) = {found:?}, expected {wanted:?}",
            inputs.size
        );
    }
    let actions = plan["actions"].as_array().map_or(0, Vec::len);
    if actions != create + update {
        bail!(
            "the plan over {} groups lists {actions} actions, expected {}",
            inputs.size,
            create + update
        );
    }
    Ok(())
}

fn print_table(measured: &[Measured]) {
    println!(
        "| job groups | creates | updates | unchanged | manifests | state | median wall | min–max wall | median CPU | peak RSS |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for entry in measured {
        let inputs = &entry.inputs;
        let (fastest, slowest) = entry.wall_range();
        println!(
            "| {} | {} | {} | {} | {:.1} MB | {:.1} MB | {} | {}–{} | {} | {:.0} MB |",
            group_count(inputs.size),
            group_count(inputs.expected.create),
            group_count(inputs.expected.update),
            group_count(inputs.expected.unchanged),
            megabytes(inputs.manifest_bytes),
            megabytes(inputs.state_bytes),
            duration(entry.median_wall()),
            duration(fastest),
            duration(slowest),
            duration(entry.median_cpu()),
            megabytes(entry.peak_rss()),
        );
    }
}

fn find(measured: &[Measured], size: usize) -> Option<&Measured> {
    measured.iter().find(|entry| entry.inputs.size == size)
}

/// The target size's median over the base size's, of wall or CPU time.
fn ratio(measured: &[Measured], median: fn(&Measured) -> Duration) -> Option<f64> {
    let target = find(measured, TARGET_SIZE)?;
    let base = find(measured, RATIO_BASE_SIZE)?;
    Some(median(target).as_secs_f64() / median(base).as_secs_f64())
}

/// The targets missed, in words; a target whose sizes were not measured is missed too.
fn misses(measured: &[Measured], ratio: Option<f64>) -> Vec<String> {
    let mut misses = Vec::new();
    match find(measured, TARGET_SIZE) {
        Some(target) => {
            if target.median_wall() >= MAX_WALL {
                misses.push(format!(
                    "median wall over {} groups is {}, the target is under {}",
                    group_count(TARGET_SIZE),
                    duration(target.median_wall()),
                    duration(MAX_WALL)
                ));
            }
            if target.peak_rss() >= MAX_PEAK_RSS {
                misses.push(format!(
                    "peak RSS over {} groups is {:.0} MB, the target is under {:.0} MB",
                    group_count(TARGET_SIZE),
                    megabytes(target.peak_rss()),
                    megabytes(MAX_PEAK_RSS)
                ));
            }
        }
        None => misses.push(format!(
            "{TARGET_SIZE} groups were not measured (see `--sizes`)"
        )),
    }
    match ratio {
        Some(ratio) if ratio > MAX_RATIO => misses.push(format!(
            "the {} / {} ratio of median wall times is {ratio:.2}, the target is at most {MAX_RATIO}",
            group_count(TARGET_SIZE),
            group_count(RATIO_BASE_SIZE)
        )),
        Some(_) => {}
        None => misses.push(format!(
            "the ratio needs both {RATIO_BASE_SIZE} and {TARGET_SIZE} groups measured (see `--sizes`)"
        )),
    }
    misses
}

/// The machine, for the record: CPU model, cores the process may use, memory, kernel.
fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown CPU", |(_, model)| model.trim())
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or_else(
            || "unknown memory".to_owned(),
            |kib| format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0),
        );
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".to_owned(), |text| text.trim().to_owned());
    format!("machine: {model}, {cores} cores, {memory}, Linux {kernel}")
}

/// The 1-minute load average: how many other processes wanted the cores meanwhile. On a
/// machine that builds other things at the same time, wall times only mean something
/// beside it.
fn load_average(when: &str) -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let one_minute = text.split_whitespace().next().unwrap_or("unknown");
    format!("load average {when}: {one_minute}")
}

fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

fn duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds >= 1.0 {
        format!("{seconds:.2} s")
    } else {
        format!("{:.1} ms", seconds * 1000.0)
    }
}

/// `100000` as `100,000`.
fn group_count(count: usize) -> String {
    let digits = count.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
