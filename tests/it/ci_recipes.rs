//! The CI recipes in `docs/ci/` do what they say: this test reads the workflow files and
//! runs their jobs' own `run:`/`script:` lines, in order, against a `cityform emulator`
//! process, the way a runner would: a pull request plans against the state alone, without
//! a key (exit 2: changes) and posts the plan; the merge refreshes, saves the plan, applies
//! exactly it (exit 0) and commits the state back to the repository; the nightly drift
//! check refreshes for real: it passes (exit 0) while nothing changed and fails once a group
//! is changed behind cityform's back or the manifests and the state differ.
//!
//! No key is stored: the jobs that read or change job groups get an OIDC token (GitHub's
//! `id-token: write` and token request, GitLab's `id_tokens:`) that cityform exchanges at
//! the emulator's STS, started with `--oidc-token` so that only that token is accepted.
//!
//! cityform is installed as the recipes install it: their own install step runs the
//! release's `install.sh` against a release served from a loopback port
//! (`release_support`), whose archive holds the binary under test behind a shim that logs
//! each command line and its exit code (not `--version`, the install's own check). Nothing
//! else puts `cityform` on `PATH`, so a broken install step or `PATH` fails the jobs; the
//! release's files are fetched by the first job only, the others find cityform in the cache.
//!
//! The runner is simulated just enough: every job gets a fresh home and temporary
//! directory; a bare git repository is `origin`; checkout is a clone, artefacts and caches
//! are copies; `$GITHUB_ENV` and `$GITHUB_PATH` apply to the job's later steps; `gh` and
//! `curl` are stand-ins that record what they were asked to post (and `curl` answers
//! GitHub's OIDC token request, as GitHub's token service would, only with the request token
//! of a job that has `id-token: write`, and passes requests for the release to the real
//! `curl`). An expression the recipe uses and this test does not know, or one GitHub does
//! not allow where it stands, fails the test, so the two stay in sync.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::credentials_support::{self, Served};
use crate::emulator_process;
use crate::forge_support::{self, Shared};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use emulator_process::EmulatorProcess;

use crate::release_support::{ReleaseServer, VERSION, archive_name};

/// The OIDC token the CI systems hand out, and the only one the emulator's STS accepts.
const CI_OIDC_TOKEN: &str = "ci-oidc-token-for-tests";
/// The audience the RAM OIDC provider's client ID is, which the recipes must ask for.
const OIDC_AUDIENCE: &str = "sts.aliyuncs.com";
/// Where the simulated GitHub hands out OIDC tokens, and the request token it wants.
const GITHUB_TOKEN_URL: &str = "https://token.actions.example/idtoken?api-version=2.0";
const GITHUB_REQUEST_TOKEN: &str = "id-token-request-token";
const OIDC_PROVIDER_ARN: &str = "acs:ram::1234567890123456:oidc-provider/ci";
const READ_ROLE_ARN: &str = "acs:ram::1234567890123456:role/cityform-read";
const APPLY_ROLE_ARN: &str = "acs:ram::1234567890123456:role/cityform-apply";
use serde_yaml::Value;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_recipe(relative: &str) -> Value {
    let text = std::fs::read_to_string(repository().join(relative)).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// A string field of a YAML mapping.
fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// A YAML mapping's string entries (an `env:` or `variables:` block).
fn string_map(value: Option<&Value>) -> Vec<(String, String)> {
    value
        .and_then(Value::as_mapping)
        .map(|mapping| {
            mapping
                .iter()
                .map(|(key, value)| {
                    let value = match value {
                        Value::String(text) => text.clone(),
                        other => serde_yaml::to_string(other).unwrap().trim().to_owned(),
                    };
                    (key.as_str().unwrap().to_owned(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Everything a simulated pipeline needs: an `origin` repository holding the example
/// manifests, stand-ins on `PATH`, and an emulator.
struct Lab {
    root: tempfile::TempDir,
    emulator: EmulatorProcess,
    /// The release the recipes install, with the logging shim as its `cityform`.
    release: ReleaseServer,
    /// GitHub's pull request 7 and GitLab's merge request 3, as their comment APIs keep
    /// them.
    github_thread: Shared,
    gitlab_thread: Shared,
    github: Served,
    gitlab: Served,
    runs: std::cell::Cell<usize>,
    homes: std::cell::Cell<usize>,
}

impl Lab {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let shim = root.path().join("cityform-shim");
        std::fs::write(&shim, logging_shim(&root.path().join("cityform-calls.log"))).unwrap();
        make_executable(&shim);
        let github_thread = Shared::default();
        let gitlab_thread = Shared::default();
        let lab = Self {
            root,
            emulator: EmulatorProcess::start(&["--oidc-token", CI_OIDC_TOKEN]),
            release: ReleaseServer::new(&shim),
            github: credentials_support::serve(forge_support::github(github_thread.clone())),
            gitlab: credentials_support::serve(forge_support::gitlab(gitlab_thread.clone())),
            github_thread,
            gitlab_thread,
            runs: std::cell::Cell::new(0),
            homes: std::cell::Cell::new(0),
        };
        for directory in [
            "bin",
            "home",
            "homes",
            "artifacts",
            "caches",
            "jobs",
            "seed",
            "runner-temp",
        ] {
            std::fs::create_dir_all(lab.path(directory)).unwrap();
        }
        lab.install_stand_ins();
        let seed = lab.path("seed");
        copy_directory(&repository().join("manifests"), &seed.join("manifests"));
        std::fs::write(
            seed.join(".gitignore"),
            ".cityform/*.lock\n.cityform/*.tmp\n.cache/\n",
        )
        .unwrap();
        lab.git(&seed, &["init", "--quiet", "--initial-branch=main"]);
        lab.git(&seed, &["add", "--all"]);
        lab.git(&seed, &["commit", "--quiet", "-m", "manifests"]);
        let origin = lab.path("origin.git");
        lab.git(
            &lab.path(""),
            &[
                "clone",
                "--quiet",
                "--bare",
                seed.to_str().unwrap(),
                origin.to_str().unwrap(),
            ],
        );
        lab
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    /// `curl`: GitHub's token service, and the release fetched for real; any other call
    /// fails, so that a recipe cannot post anything by hand. No `gh`: the recipes comment
    /// with `cityform comment`, against the fake comment APIs.
    fn install_stand_ins(&self) {
        // GitHub's token service: the token for the audience asked, to the request token.
        let token_service = format!(
            "#!/bin/sh\ncase \"$*\" in\n  *'{GITHUB_TOKEN_URL}'*)\n    printf '%s\\n' \"$*\" >> {log}\n    case \"$*\" in\n      *'Authorization: bearer {GITHUB_REQUEST_TOKEN}'*'&audience={OIDC_AUDIENCE}'*) printf '{{\"count\":1,\"value\":\"%s\"}}' '{CI_OIDC_TOKEN}'; exit 0 ;;\n      *) echo 'curl: (22) The requested URL returned error: 401' >&2; exit 22 ;;\n    esac ;;\nesac\n",
            log = quote(&self.path("oidc-requests.log")),
        );
        let release = format!(
            "case \"$*\" in\n  *'{}/'*) exec {} \"$@\" ;;\nesac\n",
            self.release.base_url,
            quote(&real_program("curl")),
        );
        let unexpected = "echo \"curl: not expected in a recipe: $*\" >&2\nexit 2\n";
        let path = self.path("bin").join("curl");
        std::fs::write(&path, token_service + &release + unexpected).unwrap();
        make_executable(&path);
    }

    /// Runs git with an identity of its own and no user or system configuration.
    fn git(&self, directory: &Path, arguments: &[&str]) -> String {
        let output = Command::new("git")
            .args(arguments)
            .current_dir(directory)
            .env("HOME", self.path("home"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Reviewer")
            .env("GIT_AUTHOR_EMAIL", "reviewer@example.com")
            .env("GIT_COMMITTER_NAME", "Reviewer")
            .env("GIT_COMMITTER_EMAIL", "reviewer@example.com")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "git {arguments:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// A fresh clone of `origin` for one job, as a checkout step makes it.
    fn checkout(&self, name: &str) -> PathBuf {
        let run = self.runs.get() + 1;
        self.runs.set(run);
        let directory = self.path("jobs").join(format!("{run:02}-{name}"));
        let origin = self.path("origin.git");
        self.git(
            &self.path(""),
            &[
                "clone",
                "--quiet",
                origin.to_str().unwrap(),
                directory.to_str().unwrap(),
            ],
        );
        directory
    }

    /// Commits `contents` to `relative` on origin's main, as a merged change would.
    fn push_change(&self, relative: &str, contents: &str) {
        let directory = self.checkout("change");
        std::fs::write(directory.join(relative), contents).unwrap();
        self.git(&directory, &["add", "--all"]);
        self.git(&directory, &["commit", "--quiet", "-m", "change"]);
        self.git(&directory, &["push", "--quiet", "origin", "HEAD:main"]);
    }

    /// The file at `relative` on origin's main, if it exists.
    fn origin_file(&self, relative: &str) -> Option<String> {
        let output = Command::new("git")
            .args(["show", &format!("main:{relative}")])
            .current_dir(self.path("origin.git"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        output
            .status
            .success()
            .then(|| String::from_utf8(output.stdout).unwrap())
    }

    /// Every `cityform` call so far: its arguments and exit code; the log is emptied.
    fn take_calls(&self) -> Vec<(String, i32)> {
        let path = self.path("cityform-calls.log");
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        log.lines()
            .map(|line| {
                let (arguments, code) = line.rsplit_once('\t').unwrap();
                (arguments.to_owned(), code.parse().unwrap())
            })
            .collect()
    }

    /// The bodies of the comments on the pull (merge) request, oldest first.
    fn comments(&self, thread: &Shared) -> Vec<String> {
        thread
            .lock()
            .unwrap()
            .comments
            .iter()
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// A fresh home directory for a job, as a new runner machine or container has.
    fn fresh_home(&self, job: &str) -> PathBuf {
        let number = self.homes.get() + 1;
        self.homes.set(number);
        let home = self.path("homes").join(format!("{number:02}-{job}"));
        std::fs::create_dir_all(&home).unwrap();
        home
    }

    /// The environment every step gets, before the recipe's own variables: the stand-ins
    /// first on `PATH`, then the machine's `PATH` without any directory that has a
    /// `cityform` (only the recipe's install may bring one).
    fn base_environment(&self, home: &Path) -> Vec<(String, String)> {
        let machine = std::env::var_os("PATH").unwrap_or_default();
        let directories = std::iter::once(self.path("bin")).chain(
            std::env::split_paths(&machine)
                .filter(|directory| !directory.join("cityform").exists()),
        );
        let path = std::env::join_paths(directories).unwrap();
        vec![
            ("PATH".into(), path.to_string_lossy().into_owned()),
            ("HOME".into(), home.display().to_string()),
            ("CI".into(), "true".into()),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            // The runner's network leads to the emulator instead of the cloud, STS included.
            ("CITYFORM_ENDPOINT".into(), self.emulator.endpoint.clone()),
            (
                "ALIBABA_CLOUD_STS_ENDPOINT".into(),
                self.emulator.endpoint.clone(),
            ),
        ]
    }

    /// Runs `script` with `shell` in `directory`.
    fn shell(
        &self,
        shell: &[&str],
        script: &str,
        directory: &Path,
        environment: &[(String, String)],
    ) -> Output {
        let file = self.path("step.sh");
        std::fs::write(&file, script).unwrap();
        Command::new(shell[0])
            .args(&shell[1..])
            .arg(&file)
            .current_dir(directory)
            .env_clear()
            // Never ask a real metadata service (100.100.100.200) from a test.
            .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
            // Nor the public STS: the OIDC steps point this at the emulator.
            .env("ALIBABA_CLOUD_STS_ENDPOINT", "http://127.0.0.1:9/")
            .envs(environment.iter().map(|(name, value)| (name, value)))
            .output()
            .unwrap()
    }
}

/// The logging shim: runs the binary under test and appends its arguments and exit code to
/// `log`; `--version` (the install's check that the binary runs) is not logged.
fn logging_shim(log: &Path) -> String {
    format!(
        "#!/bin/sh\nif [ \"$*\" = --version ]; then exec {binary} --version; fi\n{binary} \"$@\"\nstatus=$?\nprintf '%s\\t%s\\n' \"$*\" \"$status\" >> {log}\nexit $status\n",
        binary = quote(Path::new(env!("CARGO_BIN_EXE_cityform"))),
        log = quote(log)
    )
}

/// The machine's own `name`, found on `PATH`.
fn real_program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|directory| directory.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("the CI recipes need `{name}`, as the runners have it"))
}

/// What one install from the release fetches.
fn one_install() -> Vec<String> {
    ["install.sh", "SHA256SUMS", &archive_name()]
        .iter()
        .map(|file| format!("/download/v{VERSION}/{file}"))
        .collect()
}

/// Copies `source`'s contents into `target`, as a cache restore or save does.
fn copy_into(source: &Path, target: &Path) {
    if source.is_dir() {
        copy_directory(source, target);
    }
}

fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn copy_directory(source: &Path, target: &Path) {
    std::fs::create_dir_all(target).unwrap();
    for entry in std::fs::read_dir(source).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let destination = target.join(entry.file_name());
        if path.is_dir() {
            copy_directory(&path, &destination);
        } else {
            std::fs::copy(&path, &destination).unwrap();
        }
    }
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum JobResult {
    /// Its condition was false, or a job it needs did not succeed.
    Skipped,
    /// Every step succeeded; its outputs.
    Succeeded(BTreeMap<String, String>),
    /// The named step failed with this exit code.
    Failed { step: String, code: i32 },
}

/// The group the tests change behind cityform's back.
const DRIFTING: &str = "traffic-east";

/// Sets `planedJobCount` of the example group [`DRIFTING`] to 99 with the library's own
/// client, as someone in the console would.
fn change_behind_cityforms_back(lab: &Lab) {
    let group = lab
        .emulator
        .job_groups()
        .into_iter()
        .find(|group| group["name"] == DRIFTING)
        .unwrap();
    emulator_process::set_planed_job_count(
        &lab.emulator.endpoint,
        group["regionId"].as_str().unwrap(),
        group["instanceId"].as_str().unwrap(),
        group["jobGroupId"].as_str().unwrap(),
        99,
    );
}

/// `planedJobCount` of [`DRIFTING`] as the emulator holds it.
fn drifting_count(lab: &Lab) -> u64 {
    lab.emulator
        .job_groups()
        .into_iter()
        .find(|group| group["name"] == DRIFTING)
        .unwrap()["planedJobCount"]
        .as_u64()
        .unwrap()
}

/// A new manifest file that declares one more job group.
const PARKING: &str = "apiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: parking-north\nspec:\n  algoLibId: \"3\"\n  planedJobCount: 2\n  streamPerJob: 2\n";

// ---------------------------------------------------------------- GitHub Actions

const GITHUB_RECIPE: &str = "docs/ci/github-actions.yml";

/// The values of `${{ ... }}` expressions while one workflow run is simulated.
struct GitHubContext {
    event: String,
    /// `runner.temp` of the job that runs; `None` where GitHub has no `runner` context (a
    /// workflow's or a job's `env:`).
    runner_temp: Option<String>,
    /// The workflow's and the job's `env:`.
    env: BTreeMap<String, String>,
    steps: BTreeMap<String, BTreeMap<String, String>>,
    needs: BTreeMap<String, BTreeMap<String, String>>,
}

impl GitHubContext {
    fn resolve(&self, expression: &str) -> String {
        let expression = expression.trim();
        let parts: Vec<&str> = expression.split('.').collect();
        let runner = || {
            self.runner_temp.as_ref().unwrap_or_else(|| {
                panic!("{GITHUB_RECIPE} uses `{expression}` where GitHub has no `runner` context")
            })
        };
        match parts.as_slice() {
            ["github", "event_name"] => self.event.clone(),
            ["github", "token"] => forge_support::TOKEN.into(),
            ["github", "run_id"] => "4242".into(),
            ["runner", "temp"] => runner().clone(),
            ["runner", "os"] => {
                runner();
                "Linux".into()
            }
            ["runner", "arch"] => {
                runner();
                "X64".into()
            }
            ["env", name] => self
                .env
                .get(*name)
                .cloned()
                .unwrap_or_else(|| panic!("{GITHUB_RECIPE}: `env.{name}` is not set")),
            ["vars", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN"] => OIDC_PROVIDER_ARN.into(),
            ["vars", "CITYFORM_READ_ROLE_ARN"] => READ_ROLE_ARN.into(),
            ["vars", "CITYFORM_APPLY_ROLE_ARN"] => APPLY_ROLE_ARN.into(),
            ["github", "event", "pull_request", "number"] => "7".into(),
            ["steps", step, "outputs", name] => self
                .steps
                .get(*step)
                .and_then(|outputs| outputs.get(*name))
                .cloned()
                .unwrap_or_default(),
            ["needs", job, "outputs", name] => self
                .needs
                .get(*job)
                .and_then(|outputs| outputs.get(*name))
                .cloned()
                .unwrap_or_default(),
            _ => panic!(
                "{GITHUB_RECIPE} uses `${{{{ {expression} }}}}`, which this test does not know"
            ),
        }
    }

    /// `${{ ... }}` replaced by values.
    fn substitute(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").unwrap() + start;
            out.push_str(&self.resolve(&rest[start + 3..end]));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// An `if:` of the forms the recipe uses: `a == 'b'` joined by `||`, or `always()`.
    fn condition(&self, condition: &str) -> bool {
        condition.split("||").any(|part| {
            let part = part.trim();
            if part == "always()" {
                return true;
            }
            let (left, right) = part
                .split_once("==")
                .unwrap_or_else(|| panic!("condition `{part}` is not understood by this test"));
            self.resolve(left) == right.trim().trim_matches('\'')
        })
    }
}

/// Runs every job of the workflow for `event`, in file order (which is `needs` order).
fn run_github(lab: &Lab, event: &str) -> BTreeMap<String, JobResult> {
    let workflow = read_recipe(GITHUB_RECIPE);
    let mut context = GitHubContext {
        event: event.to_owned(),
        runner_temp: None,
        env: BTreeMap::new(),
        steps: BTreeMap::new(),
        needs: BTreeMap::new(),
    };
    let mut workflow_environment: Vec<(String, String)> = string_map(workflow.get("env"))
        .into_iter()
        .map(|(name, value)| (name, context.substitute(&value)))
        .collect();
    // The runner's network leads to the lab's release instead of GitHub's.
    let releases = workflow_environment
        .iter_mut()
        .find(|(name, _)| name == "CITYFORM_RELEASES")
        .unwrap_or_else(|| panic!("{GITHUB_RECIPE} sets no CITYFORM_RELEASES"));
    releases.1.clone_from(&lab.release.base_url);
    let mut results = BTreeMap::new();
    for (name, job) in workflow["jobs"].as_mapping().unwrap() {
        let name = name.as_str().unwrap().to_owned();
        let needs: Vec<String> = match job.get("needs") {
            Some(Value::String(one)) => vec![one.clone()],
            Some(Value::Sequence(many)) => many
                .iter()
                .map(|need| need.as_str().unwrap().to_owned())
                .collect(),
            _ => Vec::new(),
        };
        let needs_met = needs
            .iter()
            .all(|need| matches!(results.get(need), Some(JobResult::Succeeded(_))));
        let wanted = text(job, "if").is_none_or(|condition| context.condition(condition));
        if !needs_met || !wanted {
            results.insert(name, JobResult::Skipped);
            continue;
        }
        context.steps.clear();
        let result = run_github_job(lab, &name, job, &workflow_environment, &mut context);
        if let JobResult::Succeeded(outputs) = &result {
            context.needs.insert(name.clone(), outputs.clone());
        }
        results.insert(name, result);
    }
    results
}

fn run_github_job(
    lab: &Lab,
    name: &str,
    job: &Value,
    workflow_environment: &[(String, String)],
    context: &mut GitHubContext,
) -> JobResult {
    let mut directory = None;
    let mut failure: Option<(String, i32)> = None;
    context.runner_temp = None;
    let mut job_environment: Vec<(String, String)> = string_map(job.get("env"))
        .into_iter()
        .map(|(name, value)| (name, context.substitute(&value)))
        .collect();
    context.env = workflow_environment
        .iter()
        .chain(&job_environment)
        .cloned()
        .collect();
    // A new machine for every job: its own home and temporary directory.
    let home = lab.fresh_home(name);
    let runner_temp = lab.path("runner-temp").join(home.file_name().unwrap());
    std::fs::create_dir_all(&runner_temp).unwrap();
    context.runner_temp = Some(runner_temp.display().to_string());
    let expand_home = |path: &str| match path.strip_prefix("~/") {
        Some(relative) => home.join(relative),
        None => PathBuf::from(path),
    };
    // `$GITHUB_PATH` and `$GITHUB_ENV`: what a step adds there applies to the later steps.
    let github_path = runner_temp.join("github-path");
    let github_env = runner_temp.join("github-env");
    let mut added_paths: Vec<String> = Vec::new();
    // `actions/cache` saves what it did not find when the job succeeds.
    let mut caches_to_save: Vec<(PathBuf, PathBuf)> = Vec::new();
    // GitHub hands a job the means to request an OIDC token only with `id-token: write`.
    let id_token = job
        .get("permissions")
        .and_then(|permissions| text(permissions, "id-token"))
        == Some("write");
    for (index, step) in job["steps"].as_sequence().unwrap().iter().enumerate() {
        let step_name = text(step, "name")
            .or_else(|| text(step, "uses"))
            .unwrap_or("step")
            .to_owned();
        let condition = text(step, "if");
        let runs = match condition {
            Some(condition) => context.condition(condition),
            None => failure.is_none(),
        };
        if !runs {
            continue;
        }
        if let Some(action) = text(step, "uses") {
            let with = step.get("with");
            let workspace: &Path = directory.get_or_insert_with(|| lab.checkout(name));
            if action.starts_with("actions/checkout@") {
                // The clone above is the checkout.
            } else if action.starts_with("actions/cache@") {
                let with = with.unwrap();
                let path = expand_home(text(with, "path").unwrap());
                let key = context.substitute(text(with, "key").unwrap());
                let stored = lab.path("caches").join(format!("github-{key}"));
                let hit = stored.is_dir();
                if hit {
                    copy_into(&stored, &path);
                } else {
                    caches_to_save.push((path, stored));
                }
                if let Some(id) = text(step, "id") {
                    context.steps.insert(
                        id.to_owned(),
                        BTreeMap::from([("cache-hit".to_owned(), hit.to_string())]),
                    );
                }
            } else if action.starts_with("actions/upload-artifact@") {
                let artifact = lab
                    .path("artifacts")
                    .join(text(with.unwrap(), "name").unwrap());
                let file = text(with.unwrap(), "path").unwrap();
                std::fs::create_dir_all(&artifact).unwrap();
                std::fs::copy(workspace.join(file), artifact.join(file)).unwrap_or_else(|_| {
                    panic!("{name}: upload-artifact found no `{file}`");
                });
            } else if action.starts_with("actions/download-artifact@") {
                let artifact = lab
                    .path("artifacts")
                    .join(text(with.unwrap(), "name").unwrap());
                copy_directory(&artifact, workspace);
            } else {
                panic!(
                    "{GITHUB_RECIPE}: job `{name}` uses `{action}`, which this test does not simulate"
                );
            }
            continue;
        }
        let workspace = directory.get_or_insert_with(|| lab.checkout(name)).clone();
        let script = context.substitute(text(step, "run").unwrap());
        let outputs_file = lab.path(&format!("outputs-{name}-{index}"));
        std::fs::write(&outputs_file, "").unwrap();
        std::fs::write(&github_path, "").unwrap();
        std::fs::write(&github_env, "").unwrap();
        let mut environment = lab.base_environment(&home);
        if !added_paths.is_empty() {
            let (_, path) = environment
                .iter_mut()
                .find(|(variable, _)| variable == "PATH")
                .unwrap();
            *path = format!("{}:{path}", added_paths.join(":"));
        }
        environment.extend(workflow_environment.iter().cloned());
        environment.extend(job_environment.iter().cloned());
        for (variable, value) in string_map(step.get("env")) {
            environment.push((variable, context.substitute(&value)));
        }
        if id_token {
            environment.extend([
                (
                    "ACTIONS_ID_TOKEN_REQUEST_URL".into(),
                    GITHUB_TOKEN_URL.to_owned(),
                ),
                (
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(),
                    GITHUB_REQUEST_TOKEN.to_owned(),
                ),
            ]);
        }
        environment.extend([
            ("GITHUB_ACTIONS".into(), "true".into()),
            ("GITHUB_EVENT_NAME".into(), context.event.clone()),
            ("GITHUB_REF_NAME".into(), "main".into()),
            ("GITHUB_API_URL".into(), lab.github.base.clone()),
            ("GITHUB_REPOSITORY".into(), "city/cams".into()),
            (
                "GITHUB_REF".into(),
                if context.event == "pull_request" {
                    "refs/pull/7/merge".into()
                } else {
                    "refs/heads/main".into()
                },
            ),
            ("GITHUB_OUTPUT".into(), outputs_file.display().to_string()),
            ("GITHUB_PATH".into(), github_path.display().to_string()),
            ("GITHUB_ENV".into(), github_env.display().to_string()),
            ("RUNNER_TEMP".into(), runner_temp.display().to_string()),
            (
                "GITHUB_STEP_SUMMARY".into(),
                lab.path("step-summary.md").display().to_string(),
            ),
        ]);
        // A `run:` without `shell:` runs as `bash -e {0}` on Linux runners.
        let output = lab.shell(&["bash", "-e"], &script, &workspace, &environment);
        let outputs: BTreeMap<String, String> = std::fs::read_to_string(&outputs_file)
            .unwrap()
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
        if let Some(id) = text(step, "id") {
            context.steps.insert(id.to_owned(), outputs);
        }
        // Each new directory goes before the ones added earlier.
        for line in std::fs::read_to_string(&github_path).unwrap().lines().rev() {
            added_paths.insert(0, line.to_owned());
        }
        for line in std::fs::read_to_string(&github_env).unwrap().lines() {
            let (variable, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("{name}: `{line}` in $GITHUB_ENV is not NAME=value"));
            job_environment.push((variable.to_owned(), value.to_owned()));
        }
        if !output.status.success() && failure.is_none() {
            eprintln!(
                "{name} / {step_name} failed:\n{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            failure = Some((step_name, output.status.code().unwrap_or(-1)));
        }
    }
    if let Some((step, code)) = failure {
        return JobResult::Failed { step, code };
    }
    for (path, stored) in caches_to_save {
        copy_into(&path, &stored);
    }
    let outputs = string_map(job.get("outputs"))
        .into_iter()
        .map(|(key, value)| (key, context.substitute(&value)))
        .collect();
    JobResult::Succeeded(outputs)
}

fn succeeded(results: &BTreeMap<String, JobResult>, job: &str) -> BTreeMap<String, String> {
    match &results[job] {
        JobResult::Succeeded(outputs) => outputs.clone(),
        other => panic!("job `{job}`: {other:?}"),
    }
}

fn skipped_except(results: &BTreeMap<String, JobResult>, ran: &[&str]) {
    for (job, result) in results {
        if !ran.contains(&job.as_str()) {
            assert_eq!(result, &JobResult::Skipped, "job `{job}` ran");
        }
    }
}

/// The jobs of the workflow that may request an OIDC token (`id-token: write`).
fn github_jobs_with_id_tokens() -> Vec<String> {
    let workflow = read_recipe(GITHUB_RECIPE);
    workflow["jobs"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, job)| {
            job["permissions"].get("id-token").and_then(Value::as_str) == Some("write")
        })
        .map(|(name, _)| name.as_str().unwrap().to_owned())
        .collect()
}

/// The OIDC token requests made so far; the log is emptied.
fn take_token_requests(lab: &Lab) -> Vec<String> {
    let path = lab.path("oidc-requests.log");
    let log = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    log.lines().map(str::to_owned).collect()
}

/// Validation on a pull request, as annotations on its lines.
const GITHUB_VALIDATE: &str = "validate --format github";
/// Validation on a merge request, as a code-quality report.
const GITLAB_VALIDATE: &str = "validate --format gitlab";

/// The comment steps: one plan comment (note), edited in place on every push.
const GITHUB_COMMENT: &str = "comment github plan.bin";
const GITLAB_COMMENT: &str = "comment gitlab plan.bin";

/// The pull-request plan: no key, so no refresh.
const PULL_REQUEST_PLAN: &str =
    "plan --refresh=false --detailed-exitcode --out plan.bin --format markdown";

#[test]
fn github_actions_recipe_plans_applies_the_saved_plan_and_checks_drift() {
    let lab = Lab::new();
    // No stored key anywhere; pull requests run code nobody reviewed yet: they get no token.
    let recipe = std::fs::read_to_string(repository().join(GITHUB_RECIPE)).unwrap();
    assert!(
        !recipe.contains("secrets."),
        "{GITHUB_RECIPE} uses a stored secret"
    );
    assert_eq!(
        github_jobs_with_id_tokens(),
        ["plan-merge", "apply", "drift"]
    );

    // A pull request: the plan has changes (exit 2), which is a successful plan step, and
    // its Markdown is posted on the pull request and in the job summary.
    let results = run_github(&lab, "pull_request");
    skipped_except(&results, &["plan-pull-request"]);
    succeeded(&results, "plan-pull-request");
    let calls = lab.take_calls();
    assert_eq!(
        calls,
        [
            (GITHUB_VALIDATE.to_owned(), 0),
            (PULL_REQUEST_PLAN.to_owned(), 2),
            (GITHUB_COMMENT.to_owned(), 0),
        ]
    );
    // The job installed the release, checked; every later job finds it in the cache.
    assert_eq!(lab.release.take_requests(), one_install());
    let comments = lab.comments(&lab.github_thread);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].starts_with("<!-- cityform-plan key=default part=1/1 -->\n### cityform plan"),
        "{comments:?}"
    );
    assert!(comments[0].contains("5 to create"), "{comments:?}");
    let summary = std::fs::read_to_string(lab.path("step-summary.md")).unwrap();
    assert!(summary.contains("### cityform plan"), "{summary}");
    assert!(
        lab.emulator.job_groups().is_empty(),
        "a plan created something"
    );

    // The merge: plan (exit 2), then apply exactly the saved artefact (exit 0), and the
    // state is committed back to the repository.
    let results = run_github(&lab, "push");
    skipped_except(&results, &["plan-merge", "apply"]);
    assert_eq!(succeeded(&results, "plan-merge")["exitcode"], "2");
    succeeded(&results, "apply");
    assert_eq!(
        lab.take_calls(),
        [
            ("plan --detailed-exitcode --out plan.bin".to_owned(), 2),
            ("apply plan.bin".to_owned(), 0),
        ]
    );
    assert_eq!(lab.emulator.job_groups().len(), 5);
    // Each job asked for its own token, for the provider's audience, and the plan and
    // apply signed with what STS gave for it: no key was in their environment.
    let requests = take_token_requests(&lab);
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|request| request.contains(&format!("&audience={OIDC_AUDIENCE}"))),
        "{requests:?}"
    );
    let state: serde_json::Value =
        serde_json::from_str(&lab.origin_file(".cityform/state.json").unwrap()).unwrap();
    assert_eq!(state["job_groups"].as_object().unwrap().len(), 5);
    assert_eq!(lab.origin_file(".cityform/state.json.lock"), None);
    let summary = std::fs::read_to_string(lab.path("step-summary.md")).unwrap();
    assert!(
        summary.contains("**Apply complete:** 5 created, 0 recovered, 0 failed."),
        "{summary}"
    );

    // Nightly, nothing changed: the drift check passes.
    let results = run_github(&lab, "schedule");
    skipped_except(&results, &["drift"]);
    succeeded(&results, "drift");
    assert_eq!(
        lab.take_calls(),
        [("plan --detailed-exitcode".to_owned(), 0)]
    );

    // A merge that changes nothing: the apply job does not run.
    let results = run_github(&lab, "push");
    assert_eq!(succeeded(&results, "plan-merge")["exitcode"], "0");
    assert_eq!(results["apply"], JobResult::Skipped);
    lab.take_calls();

    // A pull request once groups are recorded: still no key, and the comment says the live
    // groups were not read.
    let results = run_github(&lab, "pull_request");
    succeeded(&results, "plan-pull-request");
    assert_eq!(
        lab.take_calls(),
        [
            (GITHUB_VALIDATE.to_owned(), 0),
            (PULL_REQUEST_PLAN.to_owned(), 0),
            (GITHUB_COMMENT.to_owned(), 0),
        ]
    );
    // The same comment, edited: a pull request keeps one plan comment.
    let comments = lab.comments(&lab.github_thread);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].contains("No changes."), "{comments:?}");
    assert!(comments[0].contains("(--refresh=false)"), "{comments:?}");

    // Someone changes a group in the console: only a real refresh sees it, and the nightly
    // check fails on it.
    change_behind_cityforms_back(&lab);
    let results = run_github(&lab, "schedule");
    assert_eq!(
        results["drift"],
        JobResult::Failed {
            step: "Check for drift".to_owned(),
            code: 2
        }
    );
    assert_eq!(
        lab.take_calls(),
        [("plan --detailed-exitcode".to_owned(), 2)]
    );
    // The next merge's plan refreshes too, and its apply puts the group back.
    let results = run_github(&lab, "push");
    assert_eq!(succeeded(&results, "plan-merge")["exitcode"], "2");
    succeeded(&results, "apply");
    assert_eq!(
        lab.take_calls(),
        [
            ("plan --detailed-exitcode --out plan.bin".to_owned(), 2),
            ("apply plan.bin".to_owned(), 0),
        ]
    );
    assert_ne!(drifting_count(&lab), 99);
    let results = run_github(&lab, "schedule");
    succeeded(&results, "drift");
    lab.take_calls();

    // The manifests change without an apply: the nightly check fails on the drift.
    lab.push_change("manifests/parking.yaml", PARKING);
    let results = run_github(&lab, "schedule");
    assert_eq!(
        results["drift"],
        JobResult::Failed {
            step: "Check for drift".to_owned(),
            code: 2
        }
    );
    assert_eq!(
        lab.take_calls(),
        [("plan --detailed-exitcode".to_owned(), 2)]
    );
    assert_eq!(lab.emulator.job_groups().len(), 5);
    assert_eq!(lab.release.take_requests(), Vec::<String>::new());
}

// ---------------------------------------------------------------- GitLab CI/CD

const GITLAB_RECIPE: &str = "docs/ci/gitlab-ci.yml";

/// Top-level keys of a `.gitlab-ci.yml` that are not jobs.
const GITLAB_KEYWORDS: &[&str] = &["stages", "variables", "default", "include", "workflow"];

/// The predefined variables of a pipeline started by `source` on the default branch.
fn gitlab_predefined(lab: &Lab, source: &str) -> Vec<(String, String)> {
    let api = format!("{}/api/v4", lab.gitlab.base);
    [
        ("GITLAB_CI", "true"),
        ("CI_PIPELINE_SOURCE", source),
        ("CI_COMMIT_BRANCH", "main"),
        ("CI_DEFAULT_BRANCH", "main"),
        ("CI_SERVER_HOST", "gitlab.example.com"),
        ("CI_API_V4_URL", api.as_str()),
        ("CI_PROJECT_ID", "42"),
        ("CI_PROJECT_PATH", "city/job-groups"),
        ("CI_MERGE_REQUEST_IID", "3"),
        ("CI_JOB_ID", "99"),
        // The project's CI/CD variables: no key among them.
        ("CITYFORM_GITLAB_TOKEN", forge_support::TOKEN),
        ("CITYFORM_OIDC_PROVIDER_ARN", OIDC_PROVIDER_ARN),
        ("CITYFORM_READ_ROLE_ARN", READ_ROLE_ARN),
        ("CITYFORM_APPLY_ROLE_ARN", APPLY_ROLE_ARN),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

/// A `rules: if:` of the forms the recipe uses: `$A == "b"` and `$A == $B` joined by `&&`.
fn gitlab_condition(condition: &str, variables: &[(String, String)]) -> bool {
    let value = |operand: &str| -> String {
        let operand = operand.trim();
        if let Some(name) = operand.strip_prefix('$') {
            variables
                .iter()
                .rev()
                .find(|(variable, _)| variable == name)
                .map(|(_, value)| value.clone())
                .unwrap_or_default()
        } else {
            operand.trim_matches('"').to_owned()
        }
    };
    condition.split("&&").all(|part| {
        let (left, right) = part
            .split_once("==")
            .unwrap_or_else(|| panic!("rule `{part}` is not understood by this test"));
        value(left) == value(right)
    })
}

/// `value` with `$NAME` and `${NAME}` replaced by the variables' values, as GitLab expands
/// `cache:key`.
fn gitlab_expand(value: &str, variables: &[(String, String)]) -> String {
    let lookup = |name: &str| {
        variables
            .iter()
            .rev()
            .find(|(variable, _)| variable == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').unwrap();
            (&braced[..end], &braced[end + 1..])
        } else {
            let end = after
                .find(|character: char| !(character.is_ascii_alphanumeric() || character == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.push_str(&lookup(name));
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// Runs the pipeline a `source` event starts; manual jobs are started at once, as a
/// reviewer would. Jobs run by stage, then in file order.
fn run_gitlab(lab: &Lab, source: &str) -> BTreeMap<String, JobResult> {
    let pipeline = read_recipe(GITLAB_RECIPE);
    let predefined = gitlab_predefined(lab, source);
    let mut variables = string_map(pipeline.get("variables"));
    // The state goes back to the lab's origin instead of the GitLab server.
    variables.retain(|(name, _)| name != "CITYFORM_STATE_REMOTE");
    variables.push((
        "CITYFORM_STATE_REMOTE".into(),
        lab.path("origin.git").display().to_string(),
    ));
    // The runner's network leads to the lab's release instead of GitHub's.
    let releases = variables
        .iter_mut()
        .find(|(name, _)| name == "CITYFORM_RELEASES")
        .unwrap_or_else(|| panic!("{GITLAB_RECIPE} sets no CITYFORM_RELEASES"));
    releases.1.clone_from(&lab.release.base_url);
    // `default:`'s `before_script` runs before each job's `script`, in the same shell.
    let before_script: Vec<&str> = pipeline["default"]["before_script"]
        .as_sequence()
        .map(|lines| lines.iter().map(|line| line.as_str().unwrap()).collect())
        .unwrap_or_default();
    let cache = &pipeline["default"]["cache"];
    let stages: Vec<String> = pipeline["stages"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|stage| stage.as_str().unwrap().to_owned())
        .collect();
    let jobs: Vec<(String, &Value)> = pipeline
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(name, job)| (name.as_str().unwrap().to_owned(), job))
        .filter(|(name, _)| !GITLAB_KEYWORDS.contains(&name.as_str()))
        .collect();
    let mut results = BTreeMap::new();
    let mut dotenv: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for stage in &stages {
        for (name, job) in jobs
            .iter()
            .filter(|(_, job)| text(job, "stage") == Some(stage))
        {
            let mut environment = predefined.clone();
            environment.extend(variables.iter().cloned());
            let selected = job["rules"].as_sequence().unwrap().iter().any(|rule| {
                text(rule, "if").is_some_and(|condition| gitlab_condition(condition, &environment))
            });
            let needs: Vec<String> = job
                .get("needs")
                .and_then(Value::as_sequence)
                .map(|needs| {
                    needs
                        .iter()
                        .map(|need| need.as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            let needs_met = needs
                .iter()
                .all(|need| matches!(results.get(need), Some(JobResult::Succeeded(_))));
            if !selected || !needs_met {
                results.insert(name.clone(), JobResult::Skipped);
                continue;
            }
            let workspace = lab.checkout(name);
            // GitLab checks out the commit, not the branch.
            lab.git(&workspace, &["checkout", "--quiet", "--detach"]);
            for need in &needs {
                let artifacts = lab.path("artifacts").join(format!("gitlab-{need}"));
                if artifacts.is_dir() {
                    copy_directory(&artifacts, &workspace);
                }
                environment.extend(dotenv.get(need).cloned().unwrap_or_default());
            }
            // `id_tokens:`: GitLab signs a token for the audience asked; only one for the
            // provider's audience is one its STS accepts.
            if let Some(tokens) = job.get("id_tokens").and_then(Value::as_mapping) {
                for (variable, token) in tokens {
                    let value = if text(token, "aud") == Some(OIDC_AUDIENCE) {
                        CI_OIDC_TOKEN
                    } else {
                        "a-token-for-another-audience"
                    };
                    environment.push((variable.as_str().unwrap().to_owned(), value.to_owned()));
                }
            }
            // The cache is restored into the workspace before the job, and saved after it
            // succeeds.
            let cache_key = text(cache, "key").map(|key| gitlab_expand(key, &environment));
            let cache_paths: Vec<&str> = cache
                .get("paths")
                .and_then(Value::as_sequence)
                .map(|paths| paths.iter().map(|path| path.as_str().unwrap()).collect())
                .unwrap_or_default();
            let stored = cache_key.map(|key| lab.path("caches").join(format!("gitlab-{key}")));
            if let Some(stored) = &stored {
                copy_into(stored, &workspace);
            }
            let mut base = lab.base_environment(&lab.fresh_home(name));
            base.extend(environment);
            let script: Vec<&str> = before_script
                .iter()
                .copied()
                .chain(
                    job["script"]
                        .as_sequence()
                        .unwrap()
                        .iter()
                        .map(|line| line.as_str().unwrap()),
                )
                .collect();
            let output = lab.shell(
                &["bash", "-e", "-o", "pipefail"],
                &script.join("\n"),
                &workspace,
                &base,
            );
            if !output.status.success() {
                eprintln!(
                    "{name} failed:\n{}\n{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
                results.insert(
                    name.clone(),
                    JobResult::Failed {
                        step: "script".into(),
                        code: output.status.code().unwrap_or(-1),
                    },
                );
                continue;
            }
            if let Some(stored) = &stored {
                for path in &cache_paths {
                    let path = path.trim_end_matches('/');
                    copy_into(&workspace.join(path), &stored.join(path));
                }
            }
            let artifacts = &job["artifacts"];
            if let Some(paths) = artifacts.get("paths").and_then(Value::as_sequence) {
                let target = lab.path("artifacts").join(format!("gitlab-{name}"));
                std::fs::create_dir_all(&target).unwrap();
                for path in paths {
                    let path = path.as_str().unwrap();
                    std::fs::copy(workspace.join(path), target.join(path)).unwrap();
                }
            }
            if let Some(report) = artifacts["reports"].get("dotenv").and_then(Value::as_str) {
                let text = std::fs::read_to_string(workspace.join(report)).unwrap();
                dotenv.insert(
                    name.clone(),
                    text.lines()
                        .filter_map(|line| line.split_once('='))
                        .map(|(key, value)| (key.to_owned(), value.to_owned()))
                        .collect(),
                );
            }
            results.insert(name.clone(), JobResult::Succeeded(BTreeMap::new()));
        }
    }
    results
}

#[test]
fn gitlab_recipe_plans_applies_the_saved_plan_and_checks_drift() {
    let lab = Lab::new();
    // The validation's code-quality report reaches the merge request, also when it fails.
    let recipe = read_recipe(GITLAB_RECIPE);
    let artifacts = &recipe["plan-merge-request"]["artifacts"];
    assert_eq!(text(artifacts, "when"), Some("always"));
    assert_eq!(
        text(&artifacts["reports"], "codequality"),
        Some("gl-code-quality-report.json")
    );

    let results = run_gitlab(&lab, "merge_request_event");
    skipped_except(&results, &["plan-merge-request"]);
    succeeded(&results, "plan-merge-request");
    assert_eq!(
        lab.take_calls(),
        [
            (GITLAB_VALIDATE.to_owned(), 0),
            (PULL_REQUEST_PLAN.to_owned(), 2),
            (GITLAB_COMMENT.to_owned(), 0),
        ]
    );
    // The job installed the release, checked; every later job finds it in the cache.
    assert_eq!(lab.release.take_requests(), one_install());
    let notes = lab.comments(&lab.gitlab_thread);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("<!-- cityform-plan key=default part=1/1 -->\n### cityform plan"),
        "{notes:?}"
    );
    assert!(
        lab.emulator.job_groups().is_empty(),
        "a plan created something"
    );

    let results = run_gitlab(&lab, "push");
    skipped_except(&results, &["plan", "apply"]);
    succeeded(&results, "plan");
    succeeded(&results, "apply");
    assert_eq!(
        lab.take_calls(),
        [
            ("plan --detailed-exitcode --out plan.bin".to_owned(), 2),
            ("apply plan.bin".to_owned(), 0),
        ]
    );
    assert_eq!(lab.emulator.job_groups().len(), 5);
    let state: serde_json::Value =
        serde_json::from_str(&lab.origin_file(".cityform/state.json").unwrap()).unwrap();
    assert_eq!(state["job_groups"].as_object().unwrap().len(), 5);

    let results = run_gitlab(&lab, "schedule");
    skipped_except(&results, &["drift"]);
    succeeded(&results, "drift");
    assert_eq!(
        lab.take_calls(),
        [("plan --detailed-exitcode".to_owned(), 0)]
    );

    // A push whose plan has no changes: apply runs and says so, calling nothing.
    let results = run_gitlab(&lab, "push");
    succeeded(&results, "apply");
    assert_eq!(
        lab.take_calls(),
        [("plan --detailed-exitcode --out plan.bin".to_owned(), 0)]
    );

    // A merge request once groups are recorded: without the protected key, it plans from
    // the state and says so.
    let results = run_gitlab(&lab, "merge_request_event");
    succeeded(&results, "plan-merge-request");
    assert_eq!(
        lab.take_calls(),
        [
            (GITLAB_VALIDATE.to_owned(), 0),
            (PULL_REQUEST_PLAN.to_owned(), 0),
            (GITLAB_COMMENT.to_owned(), 0),
        ]
    );
    // The same note, edited: a merge request keeps one plan note.
    let notes = lab.comments(&lab.gitlab_thread);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("(--refresh=false)"), "{notes:?}");

    // A change in the console fails the scheduled check; the next push's plan and apply put
    // the group back.
    change_behind_cityforms_back(&lab);
    let results = run_gitlab(&lab, "schedule");
    assert_eq!(
        results["drift"],
        JobResult::Failed {
            step: "script".to_owned(),
            code: 2
        }
    );
    assert_eq!(
        lab.take_calls(),
        [("plan --detailed-exitcode".to_owned(), 2)]
    );
    let results = run_gitlab(&lab, "push");
    succeeded(&results, "apply");
    assert_eq!(
        lab.take_calls(),
        [
            ("plan --detailed-exitcode --out plan.bin".to_owned(), 2),
            ("apply plan.bin".to_owned(), 0),
        ]
    );
    assert_ne!(drifting_count(&lab), 99);

    lab.push_change("manifests/parking.yaml", PARKING);
    let results = run_gitlab(&lab, "schedule");
    assert_eq!(
        results["drift"],
        JobResult::Failed {
            step: "script".to_owned(),
            code: 2
        }
    );
    assert_eq!(
        lab.take_calls(),
        [("plan --detailed-exitcode".to_owned(), 2)]
    );
    assert_eq!(lab.release.take_requests(), Vec::<String>::new());
}
