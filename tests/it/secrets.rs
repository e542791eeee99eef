//! Secrets never leave the credential provider: the real `cityform` binary runs every command
//! (`validate`, `plan` in each format and with `--out`, `apply` succeeding, failing and dry,
//! in text and JSON, `emulator`) with a recognisable access key secret and security token in
//! the environment, or in an aliyun `config.json` of a fake home, and with every log level
//! turned up (`CITYFORM_LOG=trace`, and `-vv`, which logs every API call). Neither value, raw
//! or percent-encoded once or twice, may appear in any output, state file, backup, journal or
//! saved plan; nor may a signature or a signed query.
//!
//! The files cityform writes are checked here too: readable by their owner only (0600, in a
//! 0700 directory), with no temporary file left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use cityform::cloud::signer::percent_encode;
use cityform::emulator::{Credentials, EmulatorConfig, EmulatorHandle};

const ACCESS_KEY_ID: &str = "LTAIsecretstest";
/// Recognisable, and with characters that percent-encoding changes.
const SECRET: &str = "SECRET-8e1f4d2c/9b7a+5e=";
const TOKEN: &str = "TOKEN-3f9a/7c+2e=d1 CAIS";
/// An OIDC identity token, as a CI system writes it to a file.
const OIDC_TOKEN: &str = "OIDC-eyJhbGciOi/Jz+9=.payload";
/// The file it is written to; the only file besides the aliyun profile allowed to hold it.
const OIDC_TOKEN_FILE: &str = "oidc-token";
const MANIFESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/manifests");

/// Every form in which a secret could leak: raw, percent-encoded once (as in a query) and
/// twice (as in a string-to-sign), and with `+` for spaces (as in a form).
fn needles() -> Vec<String> {
    let mut needles = Vec::new();
    for secret in [SECRET, TOKEN, OIDC_TOKEN] {
        let once = percent_encode(secret);
        let twice = percent_encode(&once);
        needles.extend([secret.to_owned(), once, twice, secret.replace(' ', "+")]);
    }
    needles
}

fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for needle in needles() {
        assert!(!text.contains(&needle), "`{needle}` in {what}:\n{text}");
    }
}

/// A fake home and a working directory for one scenario.
struct Scene {
    directory: tempfile::TempDir,
}

impl Scene {
    fn new() -> Self {
        let scene = Self {
            directory: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(scene.home()).unwrap();
        scene
    }

    fn home(&self) -> PathBuf {
        self.directory.path().join("home")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.directory.path().join(name)
    }

    /// `cityform ARGUMENTS` with nothing of this process's environment but `PATH`, the fake
    /// home, every log level at `trace`, and `environment`.
    fn command(&self, arguments: &[&str], environment: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cityform"));
        command
            .args(arguments)
            .current_dir(self.directory.path())
            .env_clear()
            // Never ask a real metadata service (100.100.100.200) from a test.
            .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
            // Nor the public STS: a scene that means STS points this at an emulator.
            .env("ALIBABA_CLOUD_STS_ENDPOINT", "http://127.0.0.1:9/")
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("CITYFORM_LOG", "trace")
            .env("RUST_LOG", "trace")
            .env("RUST_BACKTRACE", "1")
            .env("NO_COLOR", "1")
            .env("CITYFORM_RETRY_BASE_MS", "1")
            .stdin(Stdio::null());
        for (name, value) in environment {
            command.env(name, value);
        }
        command
    }

    /// Runs `cityform ARGUMENTS` to the end (on a blocking thread, so that an in-process
    /// emulator keeps serving) and checks its output.
    async fn run(&self, arguments: &[&str], environment: &[(&str, &str)]) -> Output {
        let mut command = self.command(arguments, environment);
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        let what = format!("cityform {}", arguments.join(" "));
        assert_clean(&format!("the stdout of `{what}`"), &output.stdout);
        assert_clean(&format!("the stderr of `{what}`"), &output.stderr);
        output
    }

    /// Every file under the scene but the manifests and the aliyun profile must be clean;
    /// the state's own files must be private.
    fn assert_files_clean(&self) {
        let mut checked = 0;
        for path in files_under(self.directory.path()) {
            if path.ends_with(".aliyun/config.json") || path.ends_with(OIDC_TOKEN_FILE) {
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                !name.ends_with(".tmp"),
                "a temporary file was left: {path:?}"
            );
            assert_clean(
                &format!("`{}`", path.display()),
                &std::fs::read(&path).unwrap(),
            );
            checked += 1;
        }
        assert!(checked > 0, "no file was written");
    }
}

fn files_under(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn env_credentials() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET),
        ("ALIBABA_CLOUD_SECURITY_TOKEN", TOKEN),
    ]
}

async fn emulator(secret: &str) -> EmulatorHandle {
    cityform::emulator::start(EmulatorConfig {
        credentials: Credentials::new(ACCESS_KEY_ID, secret),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_and_plan_print_and_save_no_secret() {
    let scene = Scene::new();
    let environment = env_credentials();
    let output = scene
        .run(&["validate", "-f", MANIFESTS], &environment)
        .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    std::fs::write(scene.path("broken.yaml"), "kind: Nope\n").unwrap();
    let output = scene
        .run(&["validate", "-f", "broken.yaml"], &environment)
        .await;
    assert_eq!(output.status.code(), Some(1));

    for (format, out) in [
        ("text", "plans/text.json"),
        ("json", "plans/json.json"),
        ("markdown", "plans/markdown.json"),
    ] {
        let output = scene
            .run(
                &[
                    "plan",
                    "-f",
                    MANIFESTS,
                    "--state",
                    "state/state.json",
                    "--format",
                    format,
                    "--out",
                    out,
                    "--detailed-exitcode",
                    "--refresh=false",
                ],
                &environment,
            )
            .await;
        assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
        assert!(text(&output.stdout).contains("traffic-east"));
        #[cfg(unix)]
        {
            assert_eq!(mode(&scene.path(out)), 0o600, "{out}");
            assert_eq!(mode(&scene.path("plans")), 0o700);
        }
    }
    // A saved plan that cannot be put in place (a directory is in the way: refused before
    // the plan is computed) leaves no temporary file behind.
    std::fs::create_dir_all(scene.path("taken/plan.json/inside")).unwrap();
    let output = scene
        .run(
            &[
                "plan",
                "-f",
                MANIFESTS,
                "--state",
                "state/state.json",
                "--out",
                "taken/plan.json",
            ],
            &environment,
        )
        .await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    assert!(
        text(&output.stderr).contains(
            "cannot write the saved plan to `taken/plan.json`: `taken/plan.json` is a directory"
        ),
        "{}",
        text(&output.stderr)
    );
    assert!(!scene.path("taken/plan.json.tmp").exists());
    assert!(scene.path("taken/plan.json/inside").is_dir());
    scene.assert_files_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_against_the_emulator_prints_and_records_no_secret() {
    // One emulator per state: each state creates the same groups.
    let emulators = [
        emulator(SECRET).await,
        emulator(SECRET).await,
        emulator(SECRET).await,
    ];
    let endpoints: Vec<String> = emulators.iter().map(EmulatorHandle::endpoint).collect();
    let scene = Scene::new();
    let environment = env_credentials();
    let apply = |endpoint: &'static str, state: &'static str, format: &'static str| {
        vec![
            "apply",
            "-f",
            MANIFESTS,
            "--state",
            state,
            "--endpoint",
            endpoint,
            "--auto-approve",
            "--format",
            format,
        ]
    };
    let [text_endpoint, json_endpoint, saved_endpoint] = [0, 1, 2].map(|index| {
        let endpoint: &'static str = endpoints[index].clone().leak();
        endpoint
    });

    let output = scene
        .run(
            &apply(text_endpoint, "text/state.json", "text"),
            &environment,
        )
        .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        !emulators[0].state().job_groups.is_empty(),
        "nothing was created"
    );

    // Again, so that the state has a backup and a journal was written and compacted.
    let output = scene
        .run(
            &apply(text_endpoint, "text/state.json", "text"),
            &environment,
        )
        .await;
    assert!(output.status.success(), "{}", text(&output.stderr));

    // JSON events; dry runs in both formats; a saved plan applied as saved.
    for arguments in [
        apply(json_endpoint, "json/state.json", "json"),
        [
            apply(saved_endpoint, "dry/state.json", "text"),
            vec!["--dry-run"],
        ]
        .concat(),
        [
            apply(saved_endpoint, "dry/state.json", "json"),
            vec!["--dry-run"],
        ]
        .concat(),
    ] {
        let output = scene.run(&arguments, &environment).await;
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let output = scene
        .run(
            &[
                "plan",
                "-f",
                MANIFESTS,
                "--state",
                "saved/state.json",
                "--out",
                "saved/plan.json",
                "--refresh=false",
            ],
            &environment,
        )
        .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = scene
        .run(
            &[
                "apply",
                "saved/plan.json",
                "--state",
                "saved/state.json",
                "--endpoint",
                saved_endpoint,
            ],
            &environment,
        )
        .await;
    assert!(output.status.success(), "{}", text(&output.stderr));

    for directory in ["text", "json", "saved"] {
        let state = scene.path(directory).join("state.json");
        let recorded = std::fs::read_to_string(&state).unwrap();
        assert!(recorded.contains("traffic-east"), "{recorded}");
        #[cfg(unix)]
        {
            for suffix in ["", ".lock"] {
                let path = PathBuf::from(format!("{}{suffix}", state.display()));
                assert_eq!(mode(&path), 0o600, "{}", path.display());
            }
            assert_eq!(mode(&scene.path(directory)), 0o700);
        }
    }
    let backup = scene.path("text/state.json.backup");
    assert!(backup.exists(), "no backup was kept");
    #[cfg(unix)]
    assert_eq!(mode(&backup), 0o600);
    assert!(
        !scene.path("dry/state.json").exists(),
        "a dry run wrote a state"
    );
    scene.assert_files_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_applies_print_and_record_no_secret() {
    // The emulator expects another secret: every request is answered SignatureDoesNotMatch,
    // whose message quotes the server's string-to-sign with the security token in it.
    let emulator = emulator("another-secret").await;
    let wrong = emulator.endpoint();
    let unreachable = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", listener.local_addr().unwrap())
    };
    let scene = Scene::new();
    let environment = env_credentials();
    for (endpoint, expected) in [
        (wrong.as_str(), "SignatureDoesNotMatch"),
        (unreachable.as_str(), "cannot connect"),
    ] {
        for format in ["text", "json"] {
            let output = scene
                .run(
                    &[
                        "apply",
                        "-f",
                        MANIFESTS,
                        "--state",
                        "state/state.json",
                        "--endpoint",
                        endpoint,
                        "--auto-approve",
                        "--format",
                        format,
                    ],
                    &environment,
                )
                .await;
            assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
            let shown = text(&output.stdout) + &text(&output.stderr);
            assert!(shown.contains(expected), "{expected} in {shown}");
        }
    }
    assert_eq!(emulator.state().job_groups.len(), 0);
    scene.assert_files_clean();
}

/// What a request carries besides the secrets themselves, which no log line may show either:
/// its signature (in a query, or percent-encoded in a string-to-sign), the security token
/// parameter of a signed query, an `Authorization` header. (The service's refusal quotes
/// its string-to-sign, nonce included, with the token masked; the signature is not in it.)
const REQUEST_PARTS: [&str; 5] = [
    "Signature=",
    "Signature%3D",
    "SecurityToken=",
    "AccessKeySecret",
    "authorization",
];

/// `-vv` (every API call logged), over the static key with a security token and over OIDC
/// through STS, for `apply`, `plan`, `whoami` and a refused call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn very_verbose_logs_of_every_api_call_hold_no_secret() {
    let scene = Scene::new();
    let emulator = cityform::emulator::start(EmulatorConfig {
        credentials: Credentials::new(ACCESS_KEY_ID, SECRET),
        oidc_token: Some(OIDC_TOKEN.into()),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let endpoint = emulator.endpoint();
    let token_file = scene.path(OIDC_TOKEN_FILE);
    std::fs::write(&token_file, OIDC_TOKEN).unwrap();
    let token_path = token_file.to_str().unwrap().to_owned();
    let oidc = [
        (
            "ALIBABA_CLOUD_ROLE_ARN",
            "acs:ram::1234567890123456:role/deploy",
        ),
        (
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            "acs:ram::1234567890123456:oidc-provider/ci",
        ),
        ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", token_path.as_str()),
        ("ALIBABA_CLOUD_STS_ENDPOINT", endpoint.as_str()),
    ];
    let mut with_key = env_credentials();
    with_key.push(("ALIBABA_CLOUD_STS_ENDPOINT", endpoint.as_str()));
    let command = |verb: &'static str, state: &'static str| -> Vec<&str> {
        vec![
            verb,
            "-vv",
            "-f",
            MANIFESTS,
            "--state",
            state,
            "--endpoint",
            &endpoint,
        ]
    };
    let mut runs = Vec::new();
    // One state: the second apply finds the groups the first created.
    let state = "state/state.json";
    for environment in [&with_key[..], &oidc[..]] {
        let apply = [command("apply", state), vec!["--auto-approve"]].concat();
        runs.push((scene.run(&apply, environment).await, 0, true));
        runs.push((
            scene.run(&command("plan", state), environment).await,
            0,
            true,
        ));
        runs.push((scene.run(&["whoami", "-vv"], environment).await, 0, false));
    }
    let mut wrong_key = with_key.clone();
    wrong_key[1].1 = "not-the-secret";
    runs.push((
        scene.run(&command("plan", state), &wrong_key).await,
        1,
        true,
    ));
    for (output, code, calls) in &runs {
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(*code), "{stderr}");
        let shown = text(&output.stdout) + &stderr;
        assert!(
            !calls || (shown.contains(" DEBUG ") && shown.contains("answered")),
            "the API calls were not logged:\n{shown}"
        );
        for part in REQUEST_PARTS {
            assert!(
                !shown.to_lowercase().contains(&part.to_lowercase()),
                "`{part}` in:\n{shown}"
            );
        }
    }
    scene.assert_files_clean();
}

/// A running `cityform emulator` process, killed when dropped.
struct EmulatorProcess {
    child: Child,
    endpoint: String,
    banner: String,
}

impl EmulatorProcess {
    fn spawn(scene: &Scene, arguments: &[&str], environment: &[(&str, &str)]) -> Self {
        let mut command = scene.command(
            &[&["emulator", "--listen", "127.0.0.1:0"], arguments].concat(),
            environment,
        );
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        for _ in 0..3 {
            stdout.read_line(&mut banner).unwrap();
        }
        let endpoint = banner
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("cityform emulator listening on "))
            .unwrap_or_else(|| panic!("unexpected banner: {banner}"))
            .to_owned();
        // Whatever it prints later is read when it stops.
        child.stdout = Some(stdout.into_inner());
        Self {
            child,
            endpoint,
            banner,
        }
    }

    /// Stops it; returns everything it printed.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut printed = self.banner.clone();
        if let Some(mut stdout) = self.child.stdout.take() {
            stdout.read_to_string(&mut printed).unwrap();
        }
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut printed).unwrap();
        }
        printed
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_process_prints_no_secret() {
    let scene = Scene::new();
    let environment = env_credentials();
    // The secret from its environment variable; every request logged.
    let mut emulator_environment = environment.clone();
    emulator_environment.push(("CITYFORM_EMULATOR_ACCESS_KEY_SECRET", SECRET));
    let process = EmulatorProcess::spawn(
        &scene,
        &["--access-key-id", ACCESS_KEY_ID],
        &emulator_environment,
    );
    assert!(
        process
            .banner
            .contains("access key secret: as given (not shown)"),
        "{}",
        process.banner
    );
    let output = scene
        .run(
            &[
                "apply",
                "-f",
                MANIFESTS,
                "--state",
                "state/state.json",
                "--endpoint",
                &process.endpoint,
                "--auto-approve",
            ],
            &environment,
        )
        .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let printed = process.stop();
    assert!(printed.contains("CreateJobGroup -> 200 OK"), "{printed}");
    assert_clean("the output of `cityform emulator`", printed.as_bytes());

    // The secret as a flag.
    let process = EmulatorProcess::spawn(
        &scene,
        &[
            "--access-key-id",
            ACCESS_KEY_ID,
            "--access-key-secret",
            SECRET,
        ],
        &environment,
    );
    let printed = process.stop();
    assert!(printed.contains("not shown"), "{printed}");
    assert_clean("the output of `cityform emulator`", printed.as_bytes());

    // Its help, with the secret in the environment it documents.
    let output = scene
        .run(&["emulator", "--help"], &emulator_environment)
        .await;
    assert!(output.status.success());
    assert!(text(&output.stdout).contains("CITYFORM_EMULATOR_ACCESS_KEY_SECRET"));
    scene.assert_files_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_from_an_aliyun_profile_print_and_record_no_secret() {
    let scene = Scene::new();
    let profile_directory = scene.home().join(".aliyun");
    std::fs::create_dir_all(&profile_directory).unwrap();
    let config = serde_json::json!({
        "current": "city",
        "profiles": [
            {"name": "default", "mode": "AK", "access_key_id": "LTAIother", "access_key_secret": "not-this-one"},
            {"name": "city", "mode": "StsToken", "access_key_id": ACCESS_KEY_ID,
             "access_key_secret": SECRET, "sts_token": TOKEN, "region_id": "cn-shanghai"}
        ]
    });
    let config_path = profile_directory.join("config.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();

    let good = emulator(SECRET).await;
    let bad = emulator("another-secret").await;
    let apply = |endpoint: &str, state: &str| -> Vec<String> {
        [
            "apply",
            "-f",
            MANIFESTS,
            "--state",
            state,
            "--endpoint",
            endpoint,
            "--auto-approve",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let arguments = apply(&good.endpoint(), "good/state.json");
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    let output = scene.run(&arguments, &[]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(!good.state().job_groups.is_empty());

    let arguments = apply(&bad.endpoint(), "bad/state.json");
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    let output = scene.run(&arguments, &[]).await;
    assert_eq!(output.status.code(), Some(1));
    let shown = text(&output.stdout) + &text(&output.stderr);
    assert!(shown.contains("SignatureDoesNotMatch"), "{shown}");

    // A profile that does not exist is named with the others, never with their contents.
    let output = scene
        .run(&[&arguments[..], &["--profile", "missing"]].concat(), &[])
        .await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("`city`"),
        "{}",
        text(&output.stderr)
    );

    // A damaged profile file is reported without quoting it.
    let damaged = serde_json::to_string(&config)
        .unwrap()
        .replace("\"city\"}]", "");
    std::fs::write(&config_path, damaged).unwrap();
    let output = scene.run(&arguments, &[]).await;
    assert_eq!(output.status.code(), Some(1));
    scene.assert_files_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_left_by_a_killed_apply_holds_no_secret() {
    // Every answer takes a while, so the apply is killed with its intents on disk.
    let emulator = cityform::emulator::start(EmulatorConfig {
        credentials: Credentials::new(ACCESS_KEY_ID, SECRET),
        faults: cityform::emulator::Faults {
            latency: std::time::Duration::from_secs(2),
            ..cityform::emulator::Faults::default()
        },
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let endpoint = emulator.endpoint();
    let scene = Scene::new();
    let environment = env_credentials();
    let arguments = [
        "apply",
        "-f",
        MANIFESTS,
        "--state",
        "state/state.json",
        "--endpoint",
        &endpoint,
        "--auto-approve",
    ];
    let mut child = scene
        .command(&arguments, &environment)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let journal = scene.path("state/state.json.journal");
    let started = std::time::Instant::now();
    while !std::fs::read_to_string(&journal).is_ok_and(|text| text.contains("\"intent\"")) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "no intent was journaled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_clean("the stdout of the killed apply", &output.stdout);
    assert_clean("the stderr of the killed apply", &output.stderr);
    assert!(journal.exists());
    #[cfg(unix)]
    assert_eq!(mode(&journal), 0o600);
    scene.assert_files_clean();

    // The next apply resolves what was in flight, and prints nothing secret either.
    let output = scene.run(&arguments, &environment).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    scene.assert_files_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oidc_token_and_temporary_credentials_print_and_record_no_secret() {
    let scene = Scene::new();
    let with_oidc = cityform::emulator::start(EmulatorConfig {
        credentials: Credentials::new(ACCESS_KEY_ID, SECRET),
        oidc_token: Some(OIDC_TOKEN.into()),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let endpoint = with_oidc.endpoint();
    let token_file = scene.path(OIDC_TOKEN_FILE);
    std::fs::write(&token_file, OIDC_TOKEN).unwrap();
    let token_path = token_file.to_str().unwrap().to_owned();
    let oidc = |role: &'static str| {
        vec![
            ("ALIBABA_CLOUD_ROLE_ARN", role),
            (
                "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
                "acs:ram::1234567890123456:oidc-provider/ci",
            ),
            ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", token_path.as_str()),
            ("ALIBABA_CLOUD_STS_ENDPOINT", endpoint.as_str()),
        ]
    };
    let good = oidc("acs:ram::1234567890123456:role/deploy");
    let apply = [
        "apply",
        "-f",
        MANIFESTS,
        "--state",
        "oidc/state.json",
        "--endpoint",
        &endpoint,
        "--auto-approve",
    ];
    let output = scene.run(&apply, &good).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    for format in ["text", "json"] {
        let output = scene.run(&["whoami", "--format", format], &good).await;
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let plan = [
        "plan",
        "-f",
        MANIFESTS,
        "--state",
        "oidc/state.json",
        "--endpoint",
        &endpoint,
        "--out",
        "oidc/plan.bin",
    ];
    let output = scene.run(&plan, &good).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = scene
        .run(&["history", "--state", "oidc/state.json"], &good)
        .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    // Refusals by STS quote neither the token nor a key.
    let output = scene.run(&apply, &oidc("acs:ram::1:role/not-here")).await;
    assert_eq!(output.status.code(), Some(1));
    std::fs::write(&token_file, format!("{OIDC_TOKEN}-but-wrong")).unwrap();
    let output = scene.run(&apply, &good).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("AuthenticationFail.OIDCToken.Invalid"));

    // Temporary credentials handed out by a credentials URI: the secret and token are the
    // recognisable ones.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}/credentials", listener.local_addr().unwrap());
    let body = serde_json::json!({
        "AccessKeyId": ACCESS_KEY_ID, "AccessKeySecret": SECRET, "SecurityToken": TOKEN,
        "Expiration": "2099-01-01T00:00:00Z",
    })
    .to_string();
    let router = axum::Router::new().route(
        "/credentials",
        axum::routing::get(move || async move { body }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let second = emulator(SECRET).await;
    let endpoint = second.endpoint();
    let from_uri = [
        ("ALIBABA_CLOUD_CREDENTIALS_URI", uri.as_str()),
        ("ALIBABA_CLOUD_STS_ENDPOINT", endpoint.as_str()),
    ];
    let apply = [
        "apply",
        "-f",
        MANIFESTS,
        "--state",
        "uri/state.json",
        "--endpoint",
        &endpoint,
        "--auto-approve",
        "--format",
        "json",
    ];
    let output = scene.run(&apply, &from_uri).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = scene.run(&["whoami"], &from_uri).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    scene.assert_files_clean();
}

/// The core file size limits of a running process, `(soft, hard)` as `/proc/PID/limits`
/// writes them.
#[cfg(target_os = "linux")]
fn core_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max core file size"))
        .unwrap_or_else(|| panic!("no core limit in:\n{limits}"));
    let mut fields = line["Max core file size".len()..].split_whitespace();
    (
        fields.next().unwrap().to_owned(),
        fields.next().unwrap().to_owned(),
    )
}

/// `cityform emulator` started from a shell that allows core dumps of any size, with
/// `environment`; returns the child once it listens.
#[cfg(target_os = "linux")]
fn emulator_allowing_core_dumps(environment: &[(&str, &str)]) -> Child {
    let mut command = Command::new("sh");
    command
        .args([
            "-c",
            r#"ulimit -c unlimited && exec "$0" emulator --listen 127.0.0.1:0 --quiet"#,
            env!("CARGO_BIN_EXE_cityform"),
        ])
        .env_remove("CITYFORM_ALLOW_CORE_DUMPS")
        .envs(environment.iter().copied())
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(
        first.starts_with("cityform emulator listening on "),
        "{first:?}"
    );
    child
}

/// A core dump of cityform held the access key secret. Every command
/// turns core dumps off as it starts (no core file of any size, not dumpable), unless
/// `CITYFORM_ALLOW_CORE_DUMPS=1`.
#[cfg(target_os = "linux")]
#[test]
fn core_dumps_are_off_unless_allowed() {
    let mut child = emulator_allowing_core_dumps(&[]);
    let pid = child.id();
    let limits = core_limits(pid);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let owner = std::os::unix::fs::MetadataExt::uid(
        &std::fs::metadata(format!("/proc/{pid}/status")).unwrap(),
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(limits, ("0".to_owned(), "0".to_owned()), "core file size");
    assert!(status.contains("State:"), "{status}");
    // A process that is not dumpable has its /proc files owned by root; this shows only when
    // the test does not run as root itself.
    let test_uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap());
    if test_uid != 0 {
        assert_eq!(owner, 0, "/proc/{pid}/status is not root's: still dumpable");
    }

    let mut child = emulator_allowing_core_dumps(&[("CITYFORM_ALLOW_CORE_DUMPS", "1")]);
    let limits = core_limits(child.id());
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        limits,
        ("unlimited".to_owned(), "unlimited".to_owned()),
        "allowed, the limit is left as it was"
    );
}
