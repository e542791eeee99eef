//! What cityform says to a command line written from another tool's habits (`kubectl apply
//! x.yaml`, `--flag value` for a flag that takes `=value`), from a place it did not expect
//! (inside the manifests directory), or with settings nobody typed (a flag's environment
//! variable, half an access key): each message names what was given and what to write
//! instead, and never a secret's value.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_support::Cityform;

#[test]
fn apply_given_a_manifest_file_says_to_use_dash_f() {
    let run = Cityform::new()
        .manifests()
        .args(["apply", "manifests/traffic.yaml"])
        .run();
    run.failure();
    assert!(
        run.stderr
            .contains("hint: name manifests with `-f`: `cityform apply -f manifests/traffic.yaml`"),
        "{}",
        run.stderr
    );
    assert_run_snapshot!(run);
}

#[test]
fn apply_given_a_manifest_by_its_content_or_a_directory_says_to_use_dash_f() {
    let cityform = Cityform::new()
        .manifests()
        .file("groups.txt", "apiVersion: cityform/v1\nkind: JobGroup\n");
    let by_content = cityform.then().args(["apply", "groups.txt"]).run();
    by_content.failure();
    assert!(
        by_content
            .stderr
            .starts_with("error: `groups.txt` is a manifest, not a saved plan\n"),
        "{}",
        by_content.stderr
    );
    let directory = cityform.then().args(["apply", "manifests"]).run();
    directory.failure();
    assert_run_snapshot!(directory);
    // Anything else that is not a plan is still called what it is.
    let other = cityform
        .then()
        .file("notes.txt", "not json")
        .args(["apply", "notes.txt"])
        .run();
    other.failure();
    assert!(
        other
            .stderr
            .starts_with("error: `notes.txt` is not a cityform saved plan: "),
        "{}",
        other.stderr
    );
}

#[test]
fn one_file_without_the_defaults_beside_it_names_the_defaults_file() {
    let run = Cityform::new()
        .manifests()
        .args(["plan", "--refresh=false", "-f", "manifests/safety.yaml"])
        .run();
    run.failure();
    assert!(
        run.stderr.contains(
            "`manifests/00-defaults.yaml` beside it holds a `Defaults` document, which applies \
             only when it is read too: name the directory, `-f manifests`, or add \
             `-f manifests/00-defaults.yaml`"
        ),
        "{}",
        run.stderr
    );
    assert_run_snapshot!(run);
    // With the defaults named too, the same file plans.
    Cityform::new()
        .manifests()
        .args([
            "plan",
            "--refresh=false",
            "-f",
            "manifests/safety.yaml",
            "-f",
            "manifests/00-defaults.yaml",
        ])
        .run()
        .success();
}

#[test]
fn run_inside_the_manifests_directory_says_where_it_looked() {
    let cityform = Cityform::new().manifests();
    let run = cityform
        .then()
        .in_directory("manifests")
        .args(["plan", "--refresh=false"])
        .run();
    run.failure();
    let looked = cityform.join("manifests/manifests");
    assert!(
        run.stderr.contains(&format!(
            "looked for the manifests in `{}`",
            looked.display()
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("(`-f .` reads the current directory)"));
    assert_run_snapshot!(run);
}

#[test]
fn a_conflict_with_a_flag_set_by_its_variable_names_the_variable() {
    let run = Cityform::new()
        .manifests()
        .env("CITYFORM_ENDPOINT", "http://127.0.0.1:9/")
        .args(["apply", "--emulator", "--auto-approve"])
        .run();
    run.failure();
    assert_run_snapshot!(run);
    let run = Cityform::new()
        .manifests()
        .env("CITYFORM_STATE", "elsewhere.json")
        .args(["apply", "--emulator", "--auto-approve"])
        .run();
    run.failure();
    assert!(
        run.stderr.starts_with(
            "error: `--emulator` cannot be used with `CITYFORM_STATE` (set in the environment, \
             it stands for `--state`)\n  hint: unset `CITYFORM_STATE` for this run \
             (`env -u CITYFORM_STATE cityform ...`), or leave out `--emulator`\n"
        ),
        "{}",
        run.stderr
    );
    // A flag typed on the command line is still named as typed.
    let run = Cityform::new()
        .manifests()
        .args(["apply", "--emulator", "--state", "elsewhere.json"])
        .run();
    run.failure();
    assert!(
        run.stderr
            .contains("the argument '--emulator' cannot be used with '--state <PATH>'"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_invalid_value_from_a_variable_names_the_variable() {
    let run = Cityform::new()
        .manifests()
        .env("CITYFORM_HISTORY_RETENTION", "many")
        .args(["apply", "--auto-approve"])
        .run();
    run.failure();
    assert_run_snapshot!(run);
}

#[test]
fn a_value_after_a_space_where_equals_is_needed_is_explained() {
    let run = Cityform::new()
        .manifests()
        .args(["plan", "--refresh", "false"])
        .run();
    run.failure();
    assert_run_snapshot!(run);
    // `apply` would take `false` for a saved plan's name: the same explanation.
    let run = Cityform::new()
        .manifests()
        .args(["apply", "--refresh", "false", "--auto-approve"])
        .run();
    run.failure();
    assert!(
        run.stderr.contains("write `--refresh=false`"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_endpoint_without_a_scheme_is_given_one() {
    let run = Cityform::new()
        .manifests()
        .args(["plan", "--endpoint", "localhost:8790"])
        .run();
    run.failure();
    assert_run_snapshot!(run);
}

#[test]
fn half_an_access_key_names_what_is_set_and_what_is_missing_never_a_value() {
    let run = Cityform::new()
        .manifests()
        .env("ALIBABA_CLOUD_SECURITY_TOKEN", "token-value-never-shown")
        .env(
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "secret-value-never-shown",
        )
        .arg("whoami")
        .run();
    run.failure();
    assert!(!run.stderr.contains("never-shown"), "{}", run.stderr);
    assert_run_snapshot!(run);
}

#[test]
fn each_command_offers_only_the_formats_it_prints() {
    let help = |command: &str| {
        let run = Cityform::new().args([command, "--help"]).run();
        run.success();
        run.stdout
    };
    assert!(!help("apply").contains("markdown"), "{}", help("apply"));
    assert!(help("plan").contains("- markdown:"), "{}", help("plan"));
    assert!(help("show").contains("- markdown:"), "{}", help("show"));
    let run = Cityform::new()
        .manifests()
        .args(["apply", "--format", "markdown", "--auto-approve"])
        .run();
    run.failure();
    assert!(
        run.stderr.contains("[possible values: text, json]"),
        "{}",
        run.stderr
    );
}
