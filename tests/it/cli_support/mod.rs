//! A small fluent harness around the real `cityform` binary, for any test file that runs it.
//!
//! ```ignore
//! let run = Cityform::new().manifests().arg("plan").run();
//! run.success();
//! assert_run_snapshot!(run);
//! ```
//!
//! Each [`Cityform`] owns a temporary workspace that is the child's working directory and
//! home. The child gets an empty environment apart from `HOME` and what the test sets, so
//! real credentials, `NO_COLOR`, `CITYFORM_STATE` and the like never leak in from the
//! developer's shell. [`Run::report`] under [`Run::settings`] is what snapshots compare:
//! the exit code, standard output and standard error, with the workspace path, lineages
//! (any UUID), durations, ports, pids, hosts and timestamps replaced by placeholders.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod bad_manifests;
pub mod tree;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use cityform::state::{State, write_state_file};
use tempfile::TempDir;

/// Where the binary keeps its state when no `--state` is given, relative to the workspace.
pub const STATE_PATH: &str = ".cityform/state.json";

/// A run that takes longer than this is killed and fails the test.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The repository's example manifests.
pub fn example_manifests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests")
}

/// One `cityform` command line, in a workspace of its own (or shared with [`Cityform::then`]).
#[derive(Debug)]
pub struct Cityform {
    workspace: Rc<TempDir>,
    arguments: Vec<OsString>,
    environment: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
    /// The child's working directory, relative to the workspace; the workspace itself
    /// when `None`.
    directory: Option<PathBuf>,
}

impl Default for Cityform {
    fn default() -> Self {
        Self::new()
    }
}

impl Cityform {
    /// An empty workspace and no arguments.
    pub fn new() -> Self {
        Self {
            workspace: Rc::new(tempfile::tempdir().unwrap()),
            arguments: Vec::new(),
            environment: Vec::new(),
            stdin: None,
            directory: None,
        }
    }

    /// Another command in the same workspace: no arguments, no input, the same environment.
    pub fn then(&self) -> Self {
        Self {
            workspace: Rc::clone(&self.workspace),
            arguments: Vec::new(),
            environment: self.environment.clone(),
            stdin: None,
            directory: None,
        }
    }

    /// The workspace directory.
    pub fn path(&self) -> &Path {
        self.workspace.path()
    }

    /// `relative` inside the workspace.
    pub fn join(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.path().join(relative)
    }

    /// Copies the repository's example manifests to `manifests/`, where the binary looks
    /// by default.
    pub fn manifests(self) -> Self {
        self.copy(example_manifests(), "manifests")
    }

    /// Copies a file or a directory (recursively) to `target` inside the workspace.
    pub fn copy(self, source: impl AsRef<Path>, target: impl AsRef<Path>) -> Self {
        copy_recursively(source.as_ref(), &self.join(target));
        self
    }

    /// Writes `contents` to `target` inside the workspace, creating directories.
    pub fn file(self, target: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Self {
        let path = self.join(target);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, contents).unwrap();
        self
    }

    /// Writes `state` where the binary reads it by default, as cityform writes it (the
    /// serial goes up by one; no backup, since there was no file before).
    pub fn state(self, state: &State) -> Self {
        write_state_file(&self.join(STATE_PATH), state.clone()).unwrap();
        self
    }

    /// Writes `state` as [`Self::state`] does, and `history` beside it as cityform keeps it
    /// (`state.json.history`).
    pub fn state_with_history(self, state: &State, history: cityform::state::History) -> Self {
        let path = self.join(STATE_PATH);
        write_state_file(&path, state.clone()).unwrap();
        let mut history_path = path.into_os_string();
        history_path.push(".history");
        cityform::state::history::file::write_whole(
            std::path::Path::new(&history_path),
            &state.lineage,
            history,
        )
        .unwrap();
        self
    }

    /// Appends one argument.
    pub fn arg(mut self, argument: impl Into<OsString>) -> Self {
        self.arguments.push(argument.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, A>(mut self, arguments: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<OsString>,
    {
        self.arguments.extend(arguments.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.environment.push((name.into(), value.into()));
        self
    }

    /// Runs the child in `relative`, a directory inside the workspace (which stays its
    /// home).
    pub fn in_directory(mut self, relative: impl Into<PathBuf>) -> Self {
        self.directory = Some(relative.into());
        self
    }

    /// The child's working directory.
    fn working_directory(&self) -> PathBuf {
        match &self.directory {
            Some(relative) => self.join(relative),
            None => self.path().to_path_buf(),
        }
    }

    /// What the child reads on standard input (otherwise it reads nothing: `/dev/null`).
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// The command line as a person would type it, for messages and snapshot descriptions.
    pub fn command_line(&self) -> String {
        let mut line = String::from("cityform");
        for argument in &self.arguments {
            let argument = argument.to_string_lossy();
            if argument.is_empty() || argument.contains([' ', '"', '\'']) {
                let _ = write!(line, " {argument:?}");
            } else {
                let _ = write!(line, " {argument}");
            }
        }
        line
    }

    /// The configured process, for tests that need to drive it themselves (standard input
    /// and output are left for the caller to set).
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cityform"));
        command
            .args(&self.arguments)
            .current_dir(self.working_directory())
            .env_clear()
            // Never ask a real metadata service (100.100.100.200) from a test.
            .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
            .env("HOME", self.path());
        for (name, value) in &self.environment {
            command.env(name, value);
        }
        command
    }

    /// Runs the command to completion and collects what it printed.
    pub fn run(&self) -> Run {
        let mut command = self.command();
        command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = command.spawn().unwrap();
        let writer = child.stdin.take().map(|mut pipe| {
            let input = self.stdin.clone().unwrap_or_default();
            // A child that exits without reading everything closes the pipe: not our error.
            thread::spawn(move || {
                let _ = pipe.write_all(&input);
            })
        });
        let stdout = drain(child.stdout.take().unwrap());
        let stderr = drain(child.stderr.take().unwrap());
        let status = wait_or_kill(&mut child, &self.command_line());
        if let Some(writer) = writer {
            writer.join().unwrap();
        }
        Run {
            command_line: self.command_line(),
            workspace: self.path().to_path_buf(),
            status,
            stdout: String::from_utf8(stdout.join().unwrap()).unwrap(),
            stderr: String::from_utf8(stderr.join().unwrap()).unwrap(),
            elapsed: started.elapsed(),
        }
    }

    /// Runs the command with a standard output whose reader has already gone away, as
    /// `cityform plan | true` often does: every write to it fails with a broken pipe.
    pub fn run_into_closed_pipe(&self) -> Run {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut command = self.command();
        command
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = command.spawn().unwrap();
        // The parent's copy of the writer went into `command`; drop it so only the child
        // holds the pipe.
        drop(command);
        let stderr = drain(child.stderr.take().unwrap());
        let status = wait_or_kill(&mut child, &self.command_line());
        Run {
            command_line: format!("{} | (closed)", self.command_line()),
            workspace: self.path().to_path_buf(),
            status,
            stdout: String::new(),
            stderr: String::from_utf8(stderr.join().unwrap()).unwrap(),
            elapsed: started.elapsed(),
        }
    }

    /// Runs the command on a pseudo-terminal (through util-linux `script`), so that it sees
    /// a terminal on standard input, output and error. Both streams arrive together in
    /// [`Run::stdout`], with the terminal's `\r\n` line ends.
    #[cfg(target_os = "linux")]
    pub fn run_on_terminal(&self) -> Run {
        let mut line = shell_quote(env!("CARGO_BIN_EXE_cityform"));
        for argument in &self.arguments {
            line.push(' ');
            line.push_str(&shell_quote(&argument.to_string_lossy()));
        }
        let mut command = Command::new("script");
        command
            .args(["--quiet", "--return", "--command"])
            .arg(&line)
            .arg("/dev/null")
            .current_dir(self.working_directory())
            .env_clear()
            // Never ask a real metadata service (100.100.100.200) from a test.
            .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
            .env("HOME", self.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in &self.environment {
            command.env(name, value);
        }
        let started = Instant::now();
        let mut child = command.spawn().unwrap_or_else(|error| {
            panic!("running on a terminal needs util-linux `script`: {error}")
        });
        let stdout = drain(child.stdout.take().unwrap());
        let stderr = drain(child.stderr.take().unwrap());
        let status = wait_or_kill(&mut child, &self.command_line());
        Run {
            command_line: format!("{} (on a terminal)", self.command_line()),
            workspace: self.path().to_path_buf(),
            status,
            stdout: String::from_utf8(stdout.join().unwrap()).unwrap(),
            stderr: String::from_utf8(stderr.join().unwrap()).unwrap(),
            elapsed: started.elapsed(),
        }
    }
}

/// `text` as one word for `sh`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        pipe.read_to_end(&mut bytes).unwrap();
        bytes
    })
}

/// Waits for `child`, killing it (and failing the test) after [`TIMEOUT`].
pub fn wait_or_kill(child: &mut std::process::Child, command_line: &str) -> ExitStatus {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{command_line}` did not finish within {TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(5));
    }
}

fn copy_recursively(source: &Path, target: &Path) {
    if source.is_dir() {
        std::fs::create_dir_all(target).unwrap();
        for entry in std::fs::read_dir(source).unwrap() {
            let path = entry.unwrap().path();
            copy_recursively(&path, &target.join(path.file_name().unwrap()));
        }
    } else {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::copy(source, target).unwrap();
    }
}

/// What one run of the binary did.
#[derive(Debug, Clone)]
pub struct Run {
    /// The command line, as [`Cityform::command_line`] shows it.
    pub command_line: String,
    /// The workspace it ran in.
    pub workspace: PathBuf,
    /// How it ended.
    pub status: ExitStatus,
    /// Everything on standard output.
    pub stdout: String,
    /// Everything on standard error.
    pub stderr: String,
    /// From spawn to exit.
    pub elapsed: Duration,
}

impl Run {
    /// The exit code; `None` when a signal ended the process.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Asserts the exit code, showing everything the run printed when it differs.
    pub fn expect_code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code(),
            Some(expected),
            "`{}` exited with {:?}, expected {expected}\n{}",
            self.command_line,
            self.code(),
            self.raw_report()
        );
        self
    }

    /// Asserts exit code 0.
    pub fn success(&self) -> &Self {
        self.expect_code(0)
    }

    /// Asserts exit code 1, the code of every error.
    pub fn failure(&self) -> &Self {
        self.expect_code(1)
    }

    /// Standard output and error with their exit code, unfiltered: for assertion messages.
    fn raw_report(&self) -> String {
        format!(
            "----- stdout -----\n{}\n----- stderr -----\n{}",
            self.stdout, self.stderr
        )
    }

    /// The exit code, standard output and standard error in one text, the way snapshots
    /// show a run. Bind [`Run::settings`] to have the placeholders filled in.
    pub fn report(&self) -> String {
        let code = self
            .code()
            .map_or_else(|| "signal".to_owned(), |code| code.to_string());
        format!(
            "exit_code: {code}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            self.stdout, self.stderr
        )
    }

    /// insta settings with this run's filters and its command line as the description.
    pub fn settings(&self) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        // Filters apply to the snapshot, not to its description.
        let workspace = self.workspace.display().to_string();
        settings.set_description(self.command_line.replace(&workspace, "[TEMP]"));
        settings.set_omit_expression(true);
        for (pattern, replacement) in filters(&self.workspace) {
            settings.add_filter(&pattern, replacement);
        }
        settings
    }
}

/// Compares a [`Run`]'s report with the snapshot named after the calling test, through
/// the run's filters.
#[macro_export]
macro_rules! assert_run_snapshot {
    ($run:expr) => {{
        let run = &$run;
        run.settings()
            .bind(|| insta::assert_snapshot!(run.report()));
    }};
    ($name:expr, $run:expr) => {{
        let run = &$run;
        run.settings()
            .bind(|| insta::assert_snapshot!($name, run.report()));
    }};
}

/// The regular expressions (and replacements) that make a run's output stable.
pub fn filters(workspace: &Path) -> Vec<(String, &'static str)> {
    let mut filters = Vec::new();
    // The canonical form first: it is the longer one where `/tmp` is a link.
    if let Ok(canonical) = workspace.canonicalize()
        && canonical != workspace
    {
        filters.push((escape(&canonical.display().to_string()), "[TEMP]"));
    }
    filters.push((escape(&workspace.display().to_string()), "[TEMP]"));
    filters.extend([
        (
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b".to_owned(),
            "[LINEAGE]",
        ),
        (
            r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})".to_owned(),
            "[TIMESTAMP]",
        ),
        (r"\bpid \d+".to_owned(), "pid [PID]"),
        (r"\bon host `[^`]*`".to_owned(), "on host `[HOST]`"),
        (r"\b(127\.0\.0\.1|localhost):\d+".to_owned(), "$1:[PORT]"),
        // Measured durations come with a fraction or in milliseconds; whole seconds
        // (`--lock-timeout 60s`) are fixed text in hints and stay.
        (r"\b\d+(\.\d+m?s|ms)\b".to_owned(), "[DURATION]"),
    ]);
    filters
}

/// `text` as a regular expression that matches exactly it.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(character) {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}
