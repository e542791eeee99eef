//! What every command says when something goes wrong, and what it logs when asked: errors
//! in one voice (`error:`, `caused by:`, `hint:`, exit 1) for every command, `-v`/`-vv` and
//! `CITYFORM_LOG` logs on standard error without a secret, and the GitHub job summary that
//! `plan` and `apply` append to when `GITHUB_STEP_SUMMARY` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_support;
use crate::emulator_process;

use cli_support::{Cityform, Run};
use emulator_process::{ACCESS_KEY_ID, ACCESS_KEY_SECRET, EmulatorProcess};

/// Asserts that `run` failed with exit 1 and that standard error is in the one voice: an
/// `error: ` line first, then only `caused by:`/`hint:` lines or clap's usage text.
fn assert_error_style(run: &Run) {
    run.failure();
    let mut lines = run.stderr.lines();
    let first = lines.next().unwrap_or_default();
    assert!(
        first.starts_with("error: "),
        "{}: stderr does not start with `error: `:\n{}",
        run.command_line,
        run.stderr
    );
    let rest: Vec<&str> = lines.collect();
    // clap words usage errors itself: `error:`, then a `tip:` or the usage, then a pointer
    // to `--help`.
    let usage_error = run
        .stderr
        .ends_with("For more information, try '--help'.\n");
    if !usage_error {
        for line in rest {
            assert!(
                line.starts_with("  caused by: ") || line.starts_with("  hint: "),
                "{}: unexpected line `{line}` in\n{}",
                run.command_line,
                run.stderr
            );
        }
    }
    assert!(
        !run.stderr.contains("panicked"),
        "{}: {}",
        run.command_line,
        run.stderr
    );
}

#[test]
fn every_command_reports_errors_in_one_voice() {
    let cases = [
        // Usage errors, for each command (clap's wording, exit 1 like every error).
        Cityform::new().arg("frobnicate"),
        Cityform::new().args(["validate", "--no-such-flag"]),
        Cityform::new().args(["plan", "--format", "yaml"]),
        Cityform::new().args(["apply", "--parallelism", "many"]),
        Cityform::new().args(["emulator", "--listen", "nowhere"]),
        Cityform::new().args(["schema", "state"]),
        Cityform::new().args(["completions", "tcsh"]),
        // Errors of the commands themselves.
        Cityform::new().args(["plan", "--lock-timeout", "soon"]),
        Cityform::new()
            .manifests()
            .file(".cityform/state.json", "")
            .arg("plan"),
        Cityform::new().manifests().arg("apply"),
        Cityform::new().manifests().args([
            "apply",
            "--auto-approve",
            "--endpoint",
            "http://127.0.0.1:9/",
        ]),
        Cityform::new()
            .manifests()
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "only-the-id")
            .args(["apply", "--auto-approve"]),
        Cityform::new()
            .manifests()
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET)
            .args([
                "apply",
                "--auto-approve",
                "--endpoint",
                "http://example.com/",
            ]),
        Cityform::new()
            .manifests()
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET)
            .env("CITYFORM_RETRY_BASE_MS", "1")
            .args([
                "apply",
                "--auto-approve",
                "--endpoint",
                "http://127.0.0.1:9/",
            ]),
        Cityform::new()
            .file("plan.bin", "{}")
            .args(["apply", "plan.bin"]),
        Cityform::new()
            .manifests()
            .args(["apply", "--format", "markdown"]),
        Cityform::new().args(["emulator", "--access-key-id", "only-the-id"]),
        Cityform::new()
            .manifests()
            .env("CITYFORM_LOG", "cityform=loud")
            .arg("validate"),
    ];
    for case in cases {
        assert_error_style(&case.run());
    }
}

#[test]
fn manifest_problems_are_located_and_counted() {
    let run = Cityform::new()
        .file(
            "manifests/bad.yaml",
            "apiVersion: cityform/v1\nkind: JobGroup\nmetadata: {name: 1st}\n",
        )
        .arg("validate")
        .run();
    run.failure();
    let first = run.stderr.lines().next().unwrap();
    assert!(
        first.starts_with("manifests/bad.yaml:1:1: "),
        "{}",
        run.stderr
    );
    assert!(first.contains(": error: "), "{}", run.stderr);
    assert!(
        run.stderr.ends_with("problems found in the manifests\n"),
        "{}",
        run.stderr
    );
}

fn workspace(emulator: &EmulatorProcess) -> Cityform {
    Cityform::new()
        .manifests()
        .env("CITYFORM_ENDPOINT", &emulator.endpoint)
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET)
        // A security token is sent with every request: it must not be logged either.
        .env("ALIBABA_CLOUD_SECURITY_TOKEN", "TOKEN-5d1c0a7e")
}

/// Standard output and error of `run` contain neither secret, raw or percent-encoded.
fn assert_no_secret(run: &Run) {
    for secret in [ACCESS_KEY_SECRET, "TOKEN-5d1c0a7e", "TOKEN%2D5d1c0a7e"] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{}: `{secret}` in the output",
            run.command_line
        );
    }
}

#[test]
fn logs_are_off_by_default_and_on_stderr_when_asked() {
    let emulator = EmulatorProcess::start(&[]);
    let quiet = workspace(&emulator)
        .args(["apply", "--auto-approve", "--dry-run"])
        .run();
    quiet.success();
    assert!(!quiet.stderr.contains(" INFO "), "{}", quiet.stderr);
    assert!(!quiet.stderr.contains(" DEBUG "), "{}", quiet.stderr);

    let info = Cityform::new().manifests().args(["-v", "validate"]).run();
    info.success();
    assert!(info.stderr.contains(" INFO cityform"), "{}", info.stderr);
    assert!(!info.stderr.contains(" DEBUG "), "{}", info.stderr);
    assert_eq!(info.stdout, "The manifests are valid: 5 job groups.\n");

    let debug = workspace(&emulator)
        .args(["apply", "--auto-approve", "-vv"])
        .run();
    debug.success();
    assert!(
        debug
            .stderr
            .contains(" DEBUG cityform::cloud::client: sending action=\"CreateJobGroup\""),
        "{}",
        debug.stderr
    );
    assert!(
        !debug.stdout.contains(" DEBUG "),
        "logs on stdout:\n{}",
        debug.stdout
    );
    assert_no_secret(&debug);
}

#[test]
fn the_log_filter_comes_from_cityform_log_and_keeps_other_crates_quiet() {
    let emulator = EmulatorProcess::start(&[]);
    let trace = workspace(&emulator)
        .env("CITYFORM_LOG", "trace")
        .env("RUST_LOG", "trace")
        .args(["apply", "--auto-approve"])
        .run();
    trace.success();
    assert!(
        trace.stderr.contains(" DEBUG cityform::cloud::client: "),
        "{}",
        trace.stderr
    );
    for line in trace.stderr.lines() {
        for level in [" TRACE ", " DEBUG ", " INFO "] {
            if let Some((_, rest)) = line.split_once(level) {
                assert!(
                    rest.starts_with("cityform"),
                    "a library's detailed log line: {line}"
                );
            }
        }
    }
    assert_no_secret(&trace);
}

#[test]
fn plan_and_apply_append_to_the_github_job_summary() {
    let emulator = EmulatorProcess::start(&[]);
    let workspace = workspace(&emulator).env("GITHUB_STEP_SUMMARY", "summary.md");
    workspace
        .then()
        .args(["plan", "--format", "json"])
        .run()
        .success();
    let summary = std::fs::read_to_string(workspace.join("summary.md")).unwrap();
    assert!(summary.starts_with("### cityform plan\n"), "{summary}");
    assert!(
        summary.contains("**Plan: 5 to create, 0 to update, 0 to start, 0 to stop, 0 to delete. 0 orphans left alone.**"),
        "{summary}"
    );

    workspace
        .then()
        .args(["apply", "--auto-approve"])
        .run()
        .success();
    let summary = std::fs::read_to_string(workspace.join("summary.md")).unwrap();
    let apply = &summary[summary.find("### cityform apply").unwrap()..];
    assert!(
        apply.starts_with(
            "### cityform apply\n\n**Apply complete:** 5 created, 0 recovered, 0 failed.\n"
        ),
        "{apply}"
    );
    assert_eq!(
        apply
            .matches("| `+` | `cn-shanghai/cityvisual-Instance/")
            .count(),
        5
    );

    // Nothing left to create: apply appends the plan it showed.
    workspace
        .then()
        .args(["apply", "--auto-approve"])
        .run()
        .success();
    let summary = std::fs::read_to_string(workspace.join("summary.md")).unwrap();
    assert!(
        summary.ends_with("**No changes.** The job groups match the manifests (5 unchanged).\n\n"),
        "{summary}"
    );

    // Updates alone: the headline counts them, as the table lists them.
    let manifest = workspace.join("manifests/traffic.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("streamPerJob: 5", "streamPerJob: 6"),
    )
    .unwrap();
    std::fs::write(workspace.join("summary.md"), "").unwrap();
    workspace
        .then()
        .args(["apply", "--auto-approve"])
        .run()
        .success();
    let summary = std::fs::read_to_string(workspace.join("summary.md")).unwrap();
    let updated = summary.matches("| `~` |").count();
    assert!(updated >= 2, "{summary}");
    assert!(
        summary.starts_with(&format!(
            "### cityform apply\n\n**Apply complete:** 0 created, {updated} updated, 0 recovered, 0 failed.\n"
        )),
        "{summary}"
    );
}

#[test]
fn a_summary_that_cannot_be_written_is_a_warning() {
    let run = Cityform::new()
        .manifests()
        .env("GITHUB_STEP_SUMMARY", "no/such/directory/summary.md")
        .arg("plan")
        .run();
    run.success();
    assert!(
        run.stderr.starts_with("warning: could not append the summary to `no/such/directory/summary.md` (`GITHUB_STEP_SUMMARY`): "),
        "{}",
        run.stderr
    );
    let unset = Cityform::new().manifests().arg("plan").run();
    assert_eq!(unset.stderr, "");
}

/// The example manifests with a misspelt field in `traffic.yaml` and a group name the
/// service may refuse (a warning).
fn validation_workspace() -> Cityform {
    let cityform = Cityform::new().manifests();
    let path = cityform.join("manifests/traffic.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replacen("planedJobCount: 10", "planedJobCont: 10", 1)
        .replacen("name: traffic-west", "name: traffic:west", 1);
    std::fs::write(path, text).unwrap();
    cityform
}

#[test]
fn validate_annotates_github_pull_requests() {
    let run = validation_workspace()
        .args(["validate", "--format", "github"])
        .run();
    run.failure();
    assert!(
        run.stdout.lines().all(|line| line
            .starts_with("::error file=manifests/traffic.yaml,line=")
            || line.starts_with("::warning file=manifests/traffic.yaml,line=")),
        "{}",
        run.stdout
    );
    // People still read the problems in the log.
    assert!(
        run.stderr.ends_with("found in the manifests\n"),
        "{}",
        run.stderr
    );
    assert_run_snapshot!(run);
}

#[test]
fn validate_writes_a_gitlab_code_quality_report() {
    let run = validation_workspace()
        .args(["validate", "--format", "gitlab"])
        .run();
    run.failure();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let issues = report.as_array().unwrap();
    assert_eq!(issues.len(), 2, "{report:#}");
    for issue in issues {
        for field in ["description", "check_name", "fingerprint", "severity"] {
            assert!(issue[field].is_string(), "{field}: {issue:#}");
        }
        assert_eq!(issue["location"]["path"], "manifests/traffic.yaml");
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() > 1);
    }
    assert_run_snapshot!(run);
}

#[test]
fn validate_as_json_lists_every_problem_and_keeps_its_exit_codes() {
    let run = validation_workspace()
        .args(["validate", "--format", "json"])
        .run();
    run.failure();
    let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(document["valid"], false);
    assert_eq!(document["errors"], 1);
    assert_eq!(document["warnings"], 1);
    assert_run_snapshot!(run);

    // Valid manifests: exit 0, and the document alone on standard output.
    for format in ["json", "github", "gitlab"] {
        let valid = Cityform::new()
            .manifests()
            .args(["validate", "--format", format])
            .run();
        valid.success();
        assert_eq!(
            valid.stderr, "The manifests are valid: 5 job groups.\n",
            "{format}"
        );
        match format {
            "json" => {
                let document: serde_json::Value = serde_json::from_str(&valid.stdout).unwrap();
                assert_eq!(document["valid"], true);
                assert_eq!(document["job_groups"], 5);
            }
            "gitlab" => assert_eq!(valid.stdout, "[]\n"),
            _ => assert_eq!(valid.stdout, ""),
        }
    }
}
