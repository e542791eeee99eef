//! `cityform force-unlock PID`: frees a local state held by a cityform that does not finish,
//! by stopping it as Ctrl-C would, and with `--kill` by killing it.
//!
//! A local state's lock is an operating-system lock, released whenever its process ends, so
//! no lock is ever left behind to delete. What can hold a state too long is a process that
//! still runs: suspended with Ctrl-Z, or waiting on something that does not come. This
//! command finds it from the lock's holder description, and only when the user names the
//! same pid (as Terraform asks for the lock id): it sends SIGTERM, on which cityform stops
//! starting actions, records those in flight and exits; then it waits for the lock. With
//! `--kill`, a holder that has not let go in time gets SIGKILL, which is safe: every call is
//! recorded as an intent before it is sent, and the next run resolves what was in flight.
//!
//! A PostgreSQL lock is released by the server when its holder's connection ends: there is
//! nothing to force, and the command says so.

use std::time::Duration;

use anyhow::bail;
use clap::Args;

use super::Outcome;
use super::backend::{BackendChoice, choose};
use super::settings::{StateArgs, process_environment};
use crate::cloud::error::human_duration;
use crate::state::{LocalFileError, LockHolder, LockOptions, StateError, StateLock, StatePaths};

/// How long a killed holder has to be gone before the command gives up.
const AFTER_KILL: Duration = Duration::from_secs(10);

/// Arguments of `cityform force-unlock`.
#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The pid the lock message names as the holder: the process to stop.
    #[arg(value_name = "PID")]
    pid: u32,
    /// How long the holder has to stop after SIGTERM, e.g. `30s`, `2m`.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::duration::parse_duration)]
    wait: Duration,
    /// Send SIGKILL when the holder has not stopped within `--wait`.
    #[arg(long)]
    kill: bool,
    #[command(flatten)]
    state: StateArgs,
}

pub(super) async fn run(args: ForceUnlockArgs) -> anyhow::Result<Outcome> {
    let path = match choose(&args.state, &process_environment())? {
        BackendChoice::Local { path } => path,
        BackendChoice::Postgres { .. } => bail!(
            "a PostgreSQL state needs no force-unlock: the server releases its lock as soon as \
             the holder's connection ends; the lock message names the holder's pid and host"
        ),
    };
    let paths = StatePaths::new(&path)?;
    let holder = match try_lock(&paths, Duration::ZERO).await? {
        None => {
            println!(
                "State `{}` is not locked: nothing to do.",
                paths.state.display()
            );
            return Ok(Outcome::Success);
        }
        Some(holder) => holder,
    };
    let Some(holder) = holder else {
        bail!(
            "state `{}` is locked by a process that left no description in `{}`; find it with \
             `fuser {}` and stop it",
            paths.state.display(),
            paths.lock.display(),
            paths.lock.display()
        );
    };
    check_holder(&holder, args.pid)?;

    signal(holder.pid, Signal::Terminate)?;
    // A holder suspended with Ctrl-Z only hears the SIGTERM once it runs again.
    signal(holder.pid, Signal::Continue)?;
    eprintln!(
        "Asked pid {} to stop (SIGTERM); waiting up to {} for it to record what it has in flight…",
        holder.pid,
        human_duration(args.wait)
    );
    if try_lock(&paths, args.wait).await?.is_none() {
        println!(
            "State `{}` unlocked: pid {} stopped.",
            paths.state.display(),
            holder.pid
        );
        return Ok(Outcome::Success);
    }
    if !args.kill {
        bail!(
            "pid {} still holds `{}` after {}; run again with `--kill` to kill it (safe: what it \
             had in flight is resolved by the next run)",
            holder.pid,
            paths.state.display(),
            human_duration(args.wait)
        );
    }
    signal(holder.pid, Signal::Kill)?;
    if try_lock(&paths, AFTER_KILL).await?.is_some() {
        bail!(
            "pid {} was killed but `{}` is still locked; another process may hold it now",
            holder.pid,
            paths.state.display()
        );
    }
    println!(
        "State `{}` unlocked: pid {} killed. The next command resolves what it had in flight.",
        paths.state.display(),
        holder.pid
    );
    Ok(Outcome::Success)
}

/// Takes and at once releases the lock, waiting up to `timeout`: `None` when it was free,
/// else the holder's description (`Some(None)` when it left none).
async fn try_lock(
    paths: &StatePaths,
    timeout: Duration,
) -> anyhow::Result<Option<Option<LockHolder>>> {
    let paths = paths.clone();
    let options = LockOptions::new("cityform force-unlock").with_timeout(timeout);
    let taken = tokio::task::spawn_blocking(move || StateLock::acquire(&paths, &options)).await?;
    match taken {
        Ok(_released_when_dropped) => Ok(None),
        Err(StateError::LocalFile(LocalFileError::Locked { holder, .. })) => {
            Ok(Some(holder.map(|holder| *holder)))
        }
        Err(error) => Err(error.into()),
    }
}

/// Refuses a holder that is not the named pid, or that runs on another host.
fn check_holder(holder: &LockHolder, named: u32) -> anyhow::Result<()> {
    if holder.pid != named {
        bail!("the state is locked by {holder}, not by pid {named}: nothing was done");
    }
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    if holder.host != host {
        bail!(
            "the state is locked by {holder}, on another host than this one (`{host}`): stop it \
             there; nothing was done"
        );
    }
    if holder.pid == std::process::id() {
        bail!("the lock holder is this very process: nothing was done");
    }
    Ok(())
}

enum Signal {
    Terminate,
    Continue,
    Kill,
}

#[cfg(unix)]
fn signal(pid: u32, signal: Signal) -> anyhow::Result<()> {
    use nix::sys::signal::{Signal as Unix, kill};
    use nix::unistd::Pid;
    let Ok(raw) = i32::try_from(pid) else {
        bail!("pid {pid} is not a process id");
    };
    let unix = match signal {
        Signal::Terminate => Unix::SIGTERM,
        Signal::Continue => Unix::SIGCONT,
        Signal::Kill => Unix::SIGKILL,
    };
    kill(Pid::from_raw(raw), unix)
        .map_err(|errno| anyhow::anyhow!("could not signal pid {pid}: {errno}"))
}

#[cfg(not(unix))]
fn signal(pid: u32, _signal: Signal) -> anyhow::Result<()> {
    bail!("stopping pid {pid} is only supported on Unix; stop it with the task manager")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn holder(pid: u32, host: &str) -> LockHolder {
        LockHolder {
            pid,
            host: host.to_owned(),
            since: "2026-11-27T08:00:00Z".to_owned(),
            command: "cityform apply".to_owned(),
        }
    }

    fn this_host() -> String {
        gethostname::gethostname().to_string_lossy().into_owned()
    }

    #[test]
    fn only_the_named_holder_on_this_host_is_stopped() {
        assert!(check_holder(&holder(4242, &this_host()), 4242).is_ok());
        let other_pid = check_holder(&holder(4242, &this_host()), 4243).unwrap_err();
        assert!(
            other_pid.to_string().contains("not by pid 4243"),
            "{other_pid}"
        );
        let other_host = check_holder(&holder(4242, "elsewhere"), 4242).unwrap_err();
        assert!(
            other_host.to_string().contains("on another host"),
            "{other_host}"
        );
        let itself = check_holder(
            &holder(std::process::id(), &this_host()),
            std::process::id(),
        )
        .unwrap_err();
        assert!(itself.to_string().contains("this very process"), "{itself}");
    }
}
