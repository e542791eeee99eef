//! The git edge: the few read-only `git` commands provenance runs, and the parsing of their
//! output.
//!
//! Every failure (no `git` binary, not a repository, no commit yet, no `origin`) is an
//! absent answer, never an error: provenance is recorded as far as it is known. The commands
//! never write: `git status` runs with optional locks off, so that it neither refreshes the
//! index nor competes with an editor or another git for `index.lock`, and the file-system
//! monitor hook is disabled, so that reading a repository runs no program it configures.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A `git` program to run.
#[derive(Debug, Clone)]
pub(crate) struct Git {
    program: OsString,
}

impl Default for Git {
    fn default() -> Self {
        Self::new("git")
    }
}

impl Git {
    /// `program`, found on `PATH` unless it is a path.
    pub(crate) fn new(program: impl Into<OsString>) -> Self {
        Self {
            program: program.into(),
        }
    }

    /// Standard output of `git -C directory arguments…`, or `None` when git cannot be run or
    /// exits unsuccessfully.
    fn run<I, S>(&self, directory: &Path, arguments: I) -> Option<Vec<u8>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let output = Command::new(&self.program)
            .arg("-c")
            .arg("core.fsmonitor=false")
            .arg("-C")
            .arg(directory)
            .args(arguments)
            .env("GIT_OPTIONAL_LOCKS", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output();
        match output {
            Ok(output) if output.status.success() => Some(output.stdout),
            Ok(output) => {
                // Standard error only: standard output may hold a remote URL with credentials.
                tracing::debug!(
                    directory = %directory.display(),
                    status = %output.status,
                    stderr = %String::from_utf8_lossy(&output.stderr).trim(),
                    "git gave no answer"
                );
                None
            }
            Err(error) => {
                tracing::debug!(%error, "git could not be run");
                None
            }
        }
    }

    /// One line of output, without its newline; `None` when empty.
    fn line<I, S>(&self, directory: &Path, arguments: I) -> Option<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let output = self.run(directory, arguments)?;
        let text = String::from_utf8(output).ok()?;
        let line = text.lines().next()?.trim();
        (!line.is_empty()).then(|| line.to_owned())
    }

    /// The root of the working tree `directory` is in; `None` outside one (or in a bare
    /// repository).
    pub(crate) fn toplevel(&self, directory: &Path) -> Option<PathBuf> {
        let output = self.run(directory, ["rev-parse", "--show-toplevel"])?;
        let text = path_from_bytes(output.strip_suffix(b"\n").unwrap_or(&output));
        (!text.as_os_str().is_empty()).then_some(text)
    }

    /// The full id of the commit `revision` names (`HEAD`, or a possibly abbreviated hex
    /// id); `None` when there is no such commit (for `HEAD`: no commit yet) or `revision` is
    /// anything else.
    pub(crate) fn commit_id(&self, directory: &Path, revision: &str) -> Option<String> {
        // Only `HEAD` and hex ids are asked about, so a revision is never read as an option.
        if revision != "HEAD" && !revision.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        let revision = format!("{revision}^{{commit}}");
        let id = self.line(directory, ["rev-parse", "--verify", "--quiet", &revision])?;
        id.bytes()
            .all(|byte| byte.is_ascii_hexdigit())
            .then(|| id.to_ascii_lowercase())
    }

    /// The URL of the remote `origin`, exactly as configured (it may hold credentials: it
    /// must only ever be converted, never stored or shown as it is).
    pub(crate) fn origin(&self, directory: &Path) -> Option<String> {
        self.line(directory, ["remote", "get-url", "origin"])
    }

    /// Paths below `toplevel` (relative to it) that `git status` reports for `pathspecs`:
    /// modified, staged, deleted, untracked and ignored files. `None` when git fails.
    pub(crate) fn changed_paths(
        &self,
        toplevel: &Path,
        pathspecs: &[OsString],
    ) -> Option<Vec<PathBuf>> {
        let mut arguments: Vec<OsString> = [
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            // Ignored files count too: cityform reads a `*.yaml` whether git ignores it or not.
            "--ignored=traditional",
            "--no-renames",
            "--ignore-submodules=all",
            "--",
        ]
        .into_iter()
        .map(OsString::from)
        .collect();
        arguments.extend(pathspecs.iter().cloned());
        let output = self.run(toplevel, arguments)?;
        Some(parse_porcelain(&output))
    }
}

/// The paths of `git status --porcelain=v1 -z` output: records `XY path`, each ended by a
/// NUL; a rename or copy record is followed by its original path, which is reported too (a
/// file that moved away changed where it was).
pub(crate) fn parse_porcelain(output: &[u8]) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let mut records = output.split(|byte| *byte == 0);
    while let Some(record) = records.next() {
        if record.len() < 4 || record[2] != b' ' {
            continue;
        }
        paths.push(path_from_bytes(&record[3..]));
        if matches!(record[0], b'R' | b'C')
            && let Some(original) = records.next()
            && !original.is_empty()
        {
            paths.push(path_from_bytes(original));
        }
    }
    paths
}

/// A path from git's bytes, which are the file system's bytes on Unix.
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(OsStr::from_bytes(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_records_give_their_paths() {
        let output = b" M manifests/a.yaml\0D  manifests/gone.yaml\0?? manifests/new file.yaml\0!! manifests/ignored.yaml\0";
        assert_eq!(
            parse_porcelain(output),
            [
                "manifests/a.yaml",
                "manifests/gone.yaml",
                "manifests/new file.yaml",
                "manifests/ignored.yaml"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn renames_report_both_paths() {
        let output = b"R  manifests/new.yaml\0manifests/old.yaml\0 M b.yaml\0";
        assert_eq!(
            parse_porcelain(output),
            ["manifests/new.yaml", "manifests/old.yaml", "b.yaml"].map(PathBuf::from)
        );
    }

    #[test]
    fn nothing_and_noise_give_no_paths() {
        assert!(parse_porcelain(b"").is_empty());
        assert!(parse_porcelain(b"\0\0xx\0").is_empty());
    }

    #[test]
    fn a_missing_git_is_no_answer() {
        let git = Git::new("cityform-test-no-such-git");
        let directory = std::env::temp_dir();
        assert_eq!(git.toplevel(&directory), None);
        assert_eq!(git.commit_id(&directory, "HEAD"), None);
        assert_eq!(git.origin(&directory), None);
        assert_eq!(git.changed_paths(&directory, &[]), None);
    }

    #[test]
    fn outside_a_repository_there_is_no_answer() {
        let directory = tempfile::tempdir().unwrap();
        let git = Git::default();
        assert_eq!(git.toplevel(directory.path()), None);
        assert_eq!(git.commit_id(directory.path(), "HEAD"), None);
        assert_eq!(git.origin(directory.path()), None);
    }
}
