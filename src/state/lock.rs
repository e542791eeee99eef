//! The state lock: an OS file lock on `state.json.lock`, plus who holds it.
//!
//! The lock is `File::try_lock` (`flock` on Unix), so the operating system releases it when
//! the holding process exits, however it exits; nobody ever has to delete a lock file. The
//! holder writes its pid, host, start time and command line into the file so that a blocked
//! run can say who it is waiting for. That text is information only: a file that holds it
//! but is not locked (left by a process that was killed) blocks nothing.

use std::fmt;
use std::fs::{File, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::StateError;
use super::atomic::{create_private_directory, private_options};
use super::paths::{StatePaths, directory_of};
use crate::state::LocalFileError;

/// How often a waiting run retries the lock.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// How to take the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockOptions {
    /// How long to keep trying while another process holds the lock; zero fails at once.
    pub timeout: Duration,
    /// The command line to record as the holder's, as the caller wants it shown.
    pub command: String,
}

impl LockOptions {
    /// Fail at once when locked, recording `command` as the holder's command line.
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            timeout: Duration::ZERO,
            command: command.into(),
        }
    }

    /// The same options, waiting up to `timeout` for the lock.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Who holds a lock, as written into the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockHolder {
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// When the lock was taken, RFC 3339 UTC.
    pub since: String,
    /// The command line, as the holder chose to show it.
    pub command: String,
}

impl LockHolder {
    /// This process, now, running `command`.
    pub(crate) fn current(command: &str) -> Self {
        let now = OffsetDateTime::now_utc();
        let now = now.replace_nanosecond(0).unwrap_or(now);
        Self {
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            since: now.format(&Rfc3339).unwrap_or_default(),
            command: command.to_owned(),
        }
    }
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} on host `{}` since {} (`{}`)",
            self.pid, self.host, self.since, self.command
        )
    }
}

/// A held state lock; dropping it releases the lock.
#[derive(Debug)]
pub struct StateLock {
    file: File,
}

impl StateLock {
    /// Takes the lock of the state at `paths`, creating the state's directory (0700) and the
    /// lock file (0600) when missing, and waiting up to `options.timeout` for another holder.
    pub fn acquire(paths: &StatePaths, options: &LockOptions) -> Result<Self, StateError> {
        let lock_error = |source| LocalFileError::Lock {
            path: paths.state.clone(),
            source,
        };
        create_private_directory(directory_of(&paths.lock)).map_err(|source| {
            LocalFileError::CreateDirectory {
                path: directory_of(&paths.lock).to_path_buf(),
                source,
            }
        })?;
        // Never truncate on open: the file may describe the current holder.
        let mut file = private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&paths.lock)
            .map_err(lock_error)?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let waited = started.elapsed();
                    if waited >= options.timeout {
                        let holder = read_settled_holder(&mut file);
                        return Err(LocalFileError::Locked {
                            path: paths.state.clone(),
                            stopped: holder.as_ref().is_some_and(is_stopped),
                            holder: holder.map(Box::new),
                            waited: options.timeout,
                        }
                        .into());
                    }
                    std::thread::sleep(POLL_INTERVAL.min(options.timeout - waited));
                }
                Err(TryLockError::Error(source)) => return Err(lock_error(source).into()),
            }
        }
        write_holder(&mut file, &LockHolder::current(&options.command)).map_err(lock_error)?;
        Ok(Self { file })
    }

    /// Reads who holds the lock at `lock_path`, if anyone wrote it (for diagnostics).
    pub fn holder_at(lock_path: &Path) -> Option<LockHolder> {
        let mut file = File::open(lock_path).ok()?;
        read_holder(&mut file)
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Clear the holder text while still holding the lock, so that only a crash leaves
        // stale text behind. Closing the file releases the lock.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn write_holder(file: &mut File, holder: &LockHolder) -> io::Result<()> {
    let text = serde_json::to_string(holder).map_err(io::Error::other)?;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")
}

/// The holder's description, read again for a short while when it is missing: a holder
/// writes it just after taking the lock, so a run that lost the race by a moment could
/// otherwise find the file still empty.
fn read_settled_holder(file: &mut File) -> Option<LockHolder> {
    for _ in 0..HOLDER_READS {
        if let Some(holder) = read_holder(file) {
            return Some(holder);
        }
        std::thread::sleep(HOLDER_READ_INTERVAL);
    }
    read_holder(file)
}

/// How often, and how far apart, a missing holder description is read again (by both
/// backends: each writes its holder just after taking its lock).
pub(crate) const HOLDER_READS: u32 = 20;
pub(crate) const HOLDER_READ_INTERVAL: Duration = Duration::from_millis(25);

/// Whether `holder` runs on this host and is stopped: suspended (`T`, Ctrl-Z or SIGSTOP)
/// or stopped by a debugger (`t`), as `/proc/PID/stat` says on Linux. Such a holder keeps
/// the lock without making progress. `false` wherever it cannot be told.
fn is_stopped(holder: &LockHolder) -> bool {
    if holder.host != gethostname::gethostname().to_string_lossy() {
        return false;
    }
    process_state(holder.pid).is_some_and(|state| state == "T" || state == "t")
}

/// The state letter of process `pid` (`R`, `S`, `T`, ...), from `/proc/PID/stat`.
#[cfg(target_os = "linux")]
fn process_state(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The second field, the command name in parentheses, may itself hold spaces and `)`:
    // the state is the first field after the last `)`.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().next().map(str::to_owned)
}

#[cfg(not(target_os = "linux"))]
fn process_state(_pid: u32) -> Option<String> {
    None
}

fn read_holder(file: &mut File) -> Option<LockHolder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn paths_in(directory: &tempfile::TempDir) -> StatePaths {
        StatePaths::new(directory.path().join(".cityform/state.json")).unwrap()
    }

    #[test]
    fn a_second_holder_is_refused_with_the_first_holders_details() {
        let directory = tempfile::tempdir().unwrap();
        let paths = paths_in(&directory);
        let _held = StateLock::acquire(&paths, &LockOptions::new("cityform apply")).unwrap();

        let error = StateLock::acquire(&paths, &LockOptions::new("cityform plan")).unwrap_err();

        let StateError::LocalFile(LocalFileError::Locked { holder, .. }) = &error else {
            panic!("expected a lock conflict, got {error:?}");
        };
        let holder = holder.as_ref().expect("the holder wrote its details");
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.command, "cityform apply");
        let expected = format!(
            "state `{}` is locked by pid {} on host `{}` since {} (`cityform apply`)",
            paths.state.display(),
            holder.pid,
            gethostname::gethostname().to_string_lossy(),
            holder.since
        );
        assert_eq!(error.to_string(), expected);
        let since = OffsetDateTime::parse(&holder.since, &Rfc3339).unwrap();
        assert!((OffsetDateTime::now_utc() - since).whole_seconds() < 60);
        assert!(holder.since.ends_with('Z'), "{}", holder.since);
        assert!(error.hint().unwrap().contains("--lock-timeout 60s"));
    }

    #[test]
    fn the_message_matches_the_documented_form() {
        let error = LocalFileError::Locked {
            path: PathBuf::from(".cityform/state.json"),
            holder: Some(Box::new(LockHolder {
                pid: 4242,
                host: "ci-7".into(),
                since: "2026-11-27T08:00:00Z".into(),
                command: "cityform apply".into(),
            })),
            waited: Duration::ZERO,
            stopped: false,
        };
        assert_eq!(
            error.to_string(),
            "state `.cityform/state.json` is locked by pid 4242 on host `ci-7` since 2026-11-27T08:00:00Z (`cityform apply`)"
        );
    }

    #[test]
    fn dropping_the_lock_releases_it_and_clears_the_holder() {
        let directory = tempfile::tempdir().unwrap();
        let paths = paths_in(&directory);
        let held = StateLock::acquire(&paths, &LockOptions::new("first")).unwrap();
        assert_eq!(StateLock::holder_at(&paths.lock).unwrap().command, "first");
        drop(held);

        assert_eq!(StateLock::holder_at(&paths.lock), None);
        let second = StateLock::acquire(&paths, &LockOptions::new("second")).unwrap();
        assert_eq!(StateLock::holder_at(&paths.lock).unwrap().command, "second");
        drop(second);
    }

    #[test]
    fn a_timeout_waits_until_the_holder_lets_go() {
        let directory = tempfile::tempdir().unwrap();
        let paths = paths_in(&directory);
        let held = StateLock::acquire(&paths, &LockOptions::new("first")).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(held);
        });
        let started = Instant::now();

        let lock = StateLock::acquire(
            &paths,
            &LockOptions::new("second").with_timeout(Duration::from_secs(10)),
        );

        assert!(lock.is_ok(), "{lock:?}");
        assert!(started.elapsed() >= Duration::from_millis(250));
        releaser.join().unwrap();
    }

    #[test]
    fn a_timeout_gives_up_at_the_deadline() {
        let directory = tempfile::tempdir().unwrap();
        let paths = paths_in(&directory);
        let _held = StateLock::acquire(&paths, &LockOptions::new("first")).unwrap();
        let started = Instant::now();

        let error = StateLock::acquire(
            &paths,
            &LockOptions::new("second").with_timeout(Duration::from_millis(200)),
        )
        .unwrap_err();

        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
        assert!(
            matches!(error, StateError::LocalFile(LocalFileError::Locked { .. })),
            "{error:?}"
        );
        assert!(error.hint().unwrap().contains("raise `--lock-timeout`"));
    }

    /// The lock error never mentioned `force-unlock`, even for a holder stopped with Ctrl-Z:
    /// a holder that is not making progress is named as such, with the command that frees
    /// the state.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_stopped_holder_is_named_with_the_way_to_free_the_state() {
        let directory = tempfile::tempdir().unwrap();
        let paths = paths_in(&directory);
        let _held = StateLock::acquire(&paths, &LockOptions::new("cityform apply")).unwrap();
        let mut stopped = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let pid = stopped.id();
        let status = std::process::Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        // Wait for the kernel to show it stopped.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap()
            .contains(") T ")
        {
            assert!(Instant::now() < deadline, "the child never stopped");
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut holder = LockHolder::current("cityform apply");
        holder.pid = pid;
        let mut file = File::options().write(true).open(&paths.lock).unwrap();
        write_holder(&mut file, &holder).unwrap();

        let error = StateLock::acquire(&paths, &LockOptions::new("cityform plan")).unwrap_err();
        let _ = stopped.kill();
        let _ = stopped.wait();

        assert!(
            error
                .to_string()
                .ends_with("(`cityform apply`), which is stopped"),
            "{error}"
        );
        let hint = error.hint().unwrap();
        assert!(
            hint.contains(&format!(
                "cityform force-unlock {pid} --state {}",
                paths.state.display()
            )),
            "{hint}"
        );

        // A holder that runs is waited for, as before: no force-unlock.
        let mut holder = LockHolder::current("cityform apply");
        holder.pid = std::process::id();
        write_holder(&mut file, &holder).unwrap();
        let error = StateLock::acquire(&paths, &LockOptions::new("cityform plan")).unwrap_err();
        assert!(!error.to_string().contains("stopped"), "{error}");
        assert!(!error.hint().unwrap().contains("force-unlock"));
    }

    #[test]
    fn stale_holder_text_blocks_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let paths = paths_in(&directory);
        std::fs::create_dir_all(paths.directory()).unwrap();
        std::fs::write(
            &paths.lock,
            r#"{"pid":4242,"host":"ci-7","since":"2026-11-27T08:00:00Z","command":"cityform apply"}"#,
        )
        .unwrap();

        let lock = StateLock::acquire(&paths, &LockOptions::new("cityform plan")).unwrap();

        let holder = StateLock::holder_at(&paths.lock).unwrap();
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.command, "cityform plan");
        drop(lock);
    }

    #[cfg(unix)]
    #[test]
    fn the_lock_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().unwrap();
        let paths = paths_in(&directory);
        let _lock = StateLock::acquire(&paths, &LockOptions::new("cityform plan")).unwrap();
        let mode = std::fs::metadata(&paths.lock).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = std::fs::metadata(paths.directory())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
