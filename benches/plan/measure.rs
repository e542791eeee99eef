//! Running one `cityform plan` and measuring it: wall time and the peak resident set.
//!
//! The peak RSS of a child is only reported by the kernel to its parent, summed up as the
//! largest of all the children it has waited for (`getrusage(RUSAGE_CHILDREN)`). So each
//! measured run goes through a fresh copy of this bench program (`MEASURE_FLAG`) whose only
//! child is the measured `cityform`: its children's peak is exactly that run's peak.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::time::TimeVal;

/// The first argument that makes this program measure the command after it and exit.
pub const MEASURE_FLAG: &str = "--measure-one-run";

/// What one run cost.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub wall: Duration,
    /// User and system CPU time of all its threads: unlike wall time, hardly affected by
    /// other processes competing for the cores.
    pub cpu: Duration,
    /// Peak resident set size in bytes.
    pub peak_rss: u64,
}

/// Runs `program arguments…` with standard output to `/dev/null`, through a measuring copy
/// of this program, and returns what it cost. A run that fails is an error with its stderr.
pub fn measure(program: &Path, arguments: &[OsString]) -> anyhow::Result<Sample> {
    measure_with(program, arguments, &[])
}

/// [`measure`] with `environment` set for the command (and the measuring copy).
pub fn measure_with(
    program: &Path,
    arguments: &[OsString],
    environment: &[(&str, &str)],
) -> anyhow::Result<Sample> {
    let this = std::env::current_exe().context("could not locate the bench program")?;
    let output = Command::new(this)
        .arg(MEASURE_FLAG)
        .arg(program)
        .args(arguments)
        .envs(environment.iter().copied())
        .stdin(Stdio::null())
        .output()
        .context("could not start the measuring process")?;
    if !output.status.success() {
        bail!(
            "the measured run failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let report = String::from_utf8_lossy(&output.stdout);
    let mut fields = report.split_whitespace().map(str::parse::<u64>);
    match (fields.next(), fields.next(), fields.next()) {
        (Some(Ok(wall)), Some(Ok(cpu)), Some(Ok(peak_rss))) => Ok(Sample {
            wall: Duration::from_nanos(wall),
            cpu: Duration::from_nanos(cpu),
            peak_rss,
        }),
        _ => bail!("the measuring process reported `{report}`, expected three numbers"),
    }
}

/// The measuring copy: runs the command in `arguments`, then prints its wall time and CPU
/// time in nanoseconds and its peak RSS in bytes. The command's stderr passes through.
pub fn measure_one_run(arguments: &[OsString]) -> anyhow::Result<()> {
    let Some((program, rest)) = arguments.split_first() else {
        bail!("{MEASURE_FLAG} needs a command to run");
    };
    let started = Instant::now();
    let status = Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("could not start `{}`", Path::new(program).display()))?;
    let wall = started.elapsed();
    if !status.success() {
        bail!("`{}` ended with {status}", Path::new(program).display());
    }
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).context("getrusage failed")?;
    let cpu = duration_of(usage.user_time()) + duration_of(usage.system_time());
    // Linux reports ru_maxrss in KiB.
    let peak_rss = u64::try_from(usage.max_rss()).unwrap_or(0) * 1024;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{} {} {peak_rss}", wall.as_nanos(), cpu.as_nanos())?;
    Ok(())
}

fn duration_of(time: TimeVal) -> Duration {
    Duration::from_secs(u64::try_from(time.tv_sec()).unwrap_or(0))
        + Duration::from_micros(u64::try_from(time.tv_usec()).unwrap_or(0))
}
