//! Core dumps off: a dump of cityform's memory would hold the access key secret.
//!
//! At start-up, before any credential is read, the process makes itself non-dumpable
//! (`prctl(PR_SET_DUMPABLE, 0)`: no core file, and `/proc/PID/mem` and `ptrace` closed to
//! other processes of the same user) and sets its core file size limit (`RLIMIT_CORE`) to
//! zero, soft and hard, so that no child it starts can dump either. `CITYFORM_ALLOW_CORE_DUMPS=1`
//! leaves both as they are, for debugging a crash on a machine that holds no real key.

/// Leaves core dumps as the system has them when set to `1`.
pub const ALLOW_CORE_DUMPS_VARIABLE: &str = "CITYFORM_ALLOW_CORE_DUMPS";

/// Why core dumps could not be turned off.
#[derive(Debug, thiserror::Error)]
pub enum CoreDumpError {
    /// A system call failed.
    #[error("cannot turn core dumps off ({call}): {source}")]
    System {
        /// Which call.
        call: &'static str,
        /// The error it returned.
        source: std::io::Error,
    },
}

/// Turns core dumps off unless `allow` (the value of `CITYFORM_ALLOW_CORE_DUMPS`) is `1`.
/// Returns whether they are off now.
pub fn forbid_unless_allowed(allow: Option<&str>) -> Result<bool, CoreDumpError> {
    if allow.map(str::trim) == Some("1") {
        return Ok(false);
    }
    forbid()?;
    Ok(true)
}

#[cfg(target_os = "linux")]
fn forbid() -> Result<(), CoreDumpError> {
    use nix::sys::resource::{Resource, setrlimit};
    let system = |call: &'static str| {
        move |error: nix::Error| CoreDumpError::System {
            call,
            source: std::io::Error::from(error),
        }
    };
    setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(system("setrlimit(RLIMIT_CORE, 0)"))?;
    nix::sys::prctl::set_dumpable(false).map_err(system("prctl(PR_SET_DUMPABLE, 0)"))?;
    Ok(())
}

#[cfg(all(unix, not(target_os = "linux")))]
fn forbid() -> Result<(), CoreDumpError> {
    use nix::sys::resource::{Resource, setrlimit};
    setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(|error| CoreDumpError::System {
        call: "setrlimit(RLIMIT_CORE, 0)",
        source: std::io::Error::from(error),
    })
}

#[cfg(not(unix))]
fn forbid() -> Result<(), CoreDumpError> {
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use nix::sys::resource::{Resource, getrlimit};

    use super::*;

    // One test, because the settings belong to the whole test process: allowed first
    // (nothing changes), then forbidden.
    #[test]
    fn allowed_leaves_everything_forbidden_turns_both_off() {
        let limits = getrlimit(Resource::RLIMIT_CORE).unwrap();
        let dumpable = nix::sys::prctl::get_dumpable().unwrap();
        assert!(!forbid_unless_allowed(Some("1")).unwrap());
        assert_eq!(getrlimit(Resource::RLIMIT_CORE).unwrap(), limits);
        assert_eq!(nix::sys::prctl::get_dumpable().unwrap(), dumpable);

        assert!(forbid_unless_allowed(Some("yes")).unwrap());
        assert_eq!(getrlimit(Resource::RLIMIT_CORE).unwrap(), (0, 0));
        assert!(!nix::sys::prctl::get_dumpable().unwrap());
    }
}
