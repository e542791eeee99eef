//! `cityform validate` and `cityform plan` as a user runs them: the real binary in a
//! temporary workspace, its output, exit codes and files. What belongs here: anything about
//! these two commands that shows only from outside the process (formats, flags, exit codes,
//! locking, bad input through the binary, broken pipes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_support;

use crate::bad_state_corpus as state_corpus;

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use cityform::manifest::{self, Desired, Input};
use cityform::model::Address;
use cityform::plan::{Action, Plan, saved};
use cityform::state::{LocalBackend, LockOptions, State, StateEntry};
use cli_support::tree::Tree;
use cli_support::{Cityform, STATE_PATH, bad_manifests, example_manifests};
use serde_json::Value;

/// The lock file beside the default state: the only file a refused command may leave.
const LOCK_PATH: &str = ".cityform/state.json.lock";

/// The example manifests, loaded by the library.
fn example_desired() -> Desired {
    manifest::load(&[Input::Path(example_manifests())]).unwrap()
}

/// A state in which every group of `desired` was applied exactly as declared.
fn state_matching(desired: &Desired) -> State {
    let mut state = State::new(uuid::Uuid::new_v4().to_string());
    for (address, group) in &desired.groups {
        state
            .job_groups
            .insert(address.clone(), entry(address, group.spec.clone()));
    }
    state
}

fn entry(address: &Address, spec: cityform::model::JobGroupSpec) -> StateEntry {
    StateEntry::new(
        format!("jg-{}", address.name),
        spec,
        format!("request-{}", address.name),
        "2026-11-20T08:00:00Z",
    )
}

/// A state against which the example manifests plan every kind of action: the two safety
/// groups are new (create), `traffic-west` was applied with 6 planned jobs (update),
/// `traffic-east` and `traffic-tunnels` match (unchanged), and `parking-north` is in no
/// manifest (orphan).
fn state_with_every_kind_of_difference() -> State {
    let mut state = state_matching(&example_desired());
    state
        .job_groups
        .remove(&Address::example("safety-people-square"));
    state
        .job_groups
        .remove(&Address::example("safety-stations"));
    let west = state
        .job_groups
        .get_mut(&Address::example("traffic-west"))
        .unwrap();
    west.spec.planed_job_count = 6;
    west.spec.params.remove("OUT_MQ_ENABLE");
    let parking = Address::example("parking-north");
    let spec = state.job_groups[&Address::example("traffic-east")]
        .spec
        .clone();
    state
        .job_groups
        .insert(parking.clone(), entry(&parking, spec));
    state
}

/// The JSON plan printed by `run`.
fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|error| panic!("{error}:\n{stdout}"))
}

/// The `(action, name)` pairs of a JSON plan, in order.
fn json_actions(plan: &Value) -> Vec<(String, String)> {
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|action| {
            let address = action["address"].as_str().unwrap();
            (
                action["action"].as_str().unwrap().to_owned(),
                address.rsplit('/').next().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(action, name)| ((*action).to_owned(), (*name).to_owned()))
        .collect()
}

const ESCAPE: char = '\u{1b}';

// ---------------------------------------------------------------------------------------
// validate and plan on the example manifests

#[test]
fn validate_accepts_the_example_manifests() {
    let run = Cityform::new().manifests().arg("validate").run();
    run.success();
    assert_eq!(run.stdout, "The manifests are valid: 5 job groups.\n");
    assert_run_snapshot!(run);
}

#[test]
fn plan_without_a_state_creates_every_group() {
    let run = Cityform::new().manifests().arg("plan").run();
    run.success();
    assert_eq!(run.stdout.matches(" will be created ").count(), 5);
    assert!(
        run.stdout
            .ends_with("Plan: 5 to create, 0 to update, 0 to start, 0 to stop, 0 to delete. 0 orphans left alone. 0 unchanged.\n")
    );
    assert_run_snapshot!(run);
}

#[test]
fn plan_as_json_is_versioned_and_counts_the_actions() {
    let run = Cityform::new()
        .manifests()
        .args(["plan", "--format", "json"])
        .run();
    run.success();
    let plan = json(&run.stdout);
    assert_eq!(plan["format_version"], 2);
    assert_eq!(plan["kind"], "plan");
    assert_eq!(plan["state"], Value::Null);
    assert_eq!(
        plan["summary"],
        serde_json::json!({"create": 5, "update": 0, "delete": 0, "status": 0, "protect": 0, "blocked": 0, "orphan": 0, "move": 0, "import": 0, "forget": 0, "unchanged": 0, "conflict": 0})
    );
    assert_eq!(
        json_actions(&plan),
        pairs(&[
            ("create", "safety-people-square"),
            ("create", "safety-stations"),
            ("create", "traffic-east"),
            ("create", "traffic-tunnels"),
            ("create", "traffic-west"),
        ])
    );
    assert_run_snapshot!(run);
}

#[test]
fn plan_as_markdown() {
    let run = Cityform::new()
        .manifests()
        .args(["plan", "--format", "markdown"])
        .run();
    run.success();
    assert!(
        run.stdout.starts_with("### cityform plan\n"),
        "{}",
        run.stdout
    );
    assert_run_snapshot!(run);
}

#[test]
fn plan_shows_every_kind_of_action_and_changes_nothing() {
    let cityform = Cityform::new()
        .manifests()
        .state(&state_with_every_kind_of_difference());
    let before = Tree::read(cityform.path());

    let run = cityform.then().args(["plan", "--refresh=false"]).run();

    run.success();
    assert!(
        run.stdout
            .ends_with("Plan: 2 to create, 1 to update, 0 to start, 0 to stop, 0 to delete. 1 orphan left alone. 2 unchanged.\n")
    );
    assert_run_snapshot!(run);
    let changes = before.changes(&Tree::read(cityform.path()), &[LOCK_PATH]);
    assert!(changes.is_empty(), "plan changed files: {changes:?}");

    let run = cityform
        .then()
        .args(["plan", "--refresh=false", "--format", "json"])
        .run();
    run.success();
    let plan = json(&run.stdout);
    assert_eq!(
        json_actions(&plan),
        pairs(&[
            ("orphan", "parking-north"),
            ("create", "safety-people-square"),
            ("create", "safety-stations"),
            ("update", "traffic-west"),
        ])
    );
    assert_eq!(
        plan["summary"],
        serde_json::json!({"create": 2, "update": 1, "delete": 0, "status": 0, "protect": 0, "blocked": 0, "orphan": 1, "move": 0, "import": 0, "forget": 0, "unchanged": 2, "conflict": 0})
    );
    // The state as written: `write_state_file` counts the write in the serial.
    assert_eq!(plan["state"]["serial"], 1);
    assert_run_snapshot!("plan_shows_every_kind_of_action_as_json", run);
}

#[test]
fn detailed_exitcode_is_2_with_changes_and_0_without() {
    let changes = Cityform::new().manifests();
    changes
        .then()
        .args(["plan", "--refresh=false", "--detailed-exitcode"])
        .run()
        .expect_code(2);
    // Without the flag, changes are a success like any other.
    changes
        .then()
        .args(["plan", "--refresh=false"])
        .run()
        .success();
    // A plan with nothing but an orphan left alone changes nothing: apply would send nothing
    // and write nothing. With `--prune`, the same orphan is a delete.
    let mut orphan_only = state_matching(&example_desired());
    let parking = Address::example("parking-north");
    let spec = orphan_only.job_groups[&Address::example("traffic-east")]
        .spec
        .clone();
    orphan_only
        .job_groups
        .insert(parking.clone(), entry(&parking, spec));
    Cityform::new()
        .manifests()
        .state(&orphan_only)
        .args(["plan", "--refresh=false", "--detailed-exitcode"])
        .run()
        .expect_code(0);
    Cityform::new()
        .manifests()
        .state(&orphan_only)
        .args(["plan", "--refresh=false", "--detailed-exitcode", "--prune"])
        .run()
        .expect_code(2);

    let run = Cityform::new()
        .manifests()
        .state(&state_matching(&example_desired()))
        .args(["plan", "--refresh=false", "--detailed-exitcode"])
        .run();
    run.success();
    assert!(
        run.stdout
            .starts_with("No changes. The job groups match the manifests (5 unchanged).\n"),
        "{}",
        run.stdout
    );
}

// ---------------------------------------------------------------------------------------
// Colour

#[test]
fn output_to_a_pipe_has_no_escape_codes_with_or_without_no_color() {
    let cityform = Cityform::new()
        .manifests()
        .state(&state_with_every_kind_of_difference());
    let runs = [
        cityform.then().args(["plan", "--refresh=false"]).run(),
        cityform
            .then()
            .args(["plan", "--refresh=false", "--no-color"])
            .run(),
        cityform
            .then()
            .args(["plan", "--refresh=false"])
            .env("NO_COLOR", "1")
            .run(),
    ];
    for run in &runs {
        run.success();
        assert!(
            run.stdout.contains("will be updated in place"),
            "{}",
            run.stdout
        );
        assert!(
            !run.stdout.contains(ESCAPE) && !run.stderr.contains(ESCAPE),
            "`{}` printed escape codes:\n{:?}",
            run.command_line,
            run.stdout
        );
    }
}

/// An apply whose question is not answered `yes` (here: standard input ends) is cancelled:
/// exit 1, as Terraform, saying nothing was changed, and no state is written.
#[cfg(target_os = "linux")]
#[test]
fn an_apply_not_approved_exits_1_and_changes_nothing() {
    let cityform = Cityform::new().manifests();
    let run = cityform
        .then()
        .args(["apply", "--refresh=false"])
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "an-id")
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "a-secret")
        .run_on_terminal();
    run.expect_code(1);
    assert!(
        run.stdout.contains("Do you want to perform these actions?"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("error: apply cancelled: nothing was changed"),
        "{}",
        run.stdout
    );
    assert!(!cityform.path().join(".cityform/state.json").exists());
}

#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_colour_is_on_unless_no_color_or_the_flag_turns_it_off() {
    let cityform = Cityform::new()
        .manifests()
        .state(&state_with_every_kind_of_difference());

    let coloured = cityform
        .then()
        .args(["plan", "--refresh=false"])
        .run_on_terminal();
    coloured.success();
    assert!(
        coloured.stdout.contains(ESCAPE),
        "no colour on a terminal:\n{}",
        coloured.stdout
    );
    // An empty NO_COLOR does not count (https://no-color.org).
    let empty = cityform
        .then()
        .args(["plan", "--refresh=false"])
        .env("NO_COLOR", "")
        .run_on_terminal();
    empty.success();
    assert!(empty.stdout.contains(ESCAPE), "{}", empty.stdout);

    for run in [
        cityform
            .then()
            .args(["plan", "--refresh=false", "--no-color"])
            .run_on_terminal(),
        cityform
            .then()
            .args(["plan", "--refresh=false"])
            .env("NO_COLOR", "1")
            .run_on_terminal(),
    ] {
        run.success();
        assert!(
            run.stdout.contains("will be updated in place"),
            "{}",
            run.stdout
        );
        assert!(
            !run.stdout.contains(ESCAPE),
            "`{}` printed escape codes:\n{:?}",
            run.command_line,
            run.stdout
        );
        // The same text as through a pipe, apart from the terminal's line ends.
        let piped = cityform.then().args(["plan", "--refresh=false"]).run();
        assert_eq!(run.stdout.replace("\r\n", "\n"), piped.stdout);
    }
}

// ---------------------------------------------------------------------------------------
// Saved plans

#[cfg(unix)]
#[test]
fn plan_out_writes_a_private_saved_plan_with_the_printed_actions() {
    use std::os::unix::fs::PermissionsExt as _;

    let state = state_with_every_kind_of_difference();
    let cityform = Cityform::new().manifests().state(&state);
    let run = cityform
        .then()
        .args([
            "plan",
            "--refresh=false",
            "--format",
            "json",
            "--out",
            "saved/plan.json",
        ])
        .run();
    run.success();
    let printed = json(&run.stdout);

    let path = cityform.join("saved/plan.json");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    let saved: Plan = saved::from_bytes("plan.json", &std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        serde_json::to_value(&saved.actions).unwrap(),
        printed["actions"]
    );
    assert_eq!(saved.actions.len(), 4);
    let binding = saved.state.as_ref().unwrap();
    assert_eq!(binding.lineage, state.lineage);
    assert_eq!(binding.serial, state.serial + 1);
    assert_eq!(saved.unchanged, 2);
    assert!(
        matches!(&saved.actions[0], Action::Orphan { address, .. } if address.name == "parking-north")
    );

    // In text, the plan says where it went and how to apply it.
    let run = cityform
        .then()
        .args(["plan", "--refresh=false", "--out", "text-plan.json"])
        .run();
    run.success();
    assert!(
        run.stdout.ends_with(
            "\nSaved the plan to `text-plan.json`. Apply exactly this plan with: cityform apply text-plan.json\n"
        ),
        "{}",
        run.stdout
    );
    let again = saved::from_bytes(
        "text-plan.json",
        &std::fs::read(cityform.join("text-plan.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(again, saved);
}

#[test]
fn a_saved_plan_that_cannot_be_written_is_an_error_that_says_where() {
    let run = Cityform::new()
        .manifests()
        .file("taken", "a file, not a directory")
        .args(["plan", "--out", "taken/plan.json"])
        .run();
    run.failure();
    assert!(
        run.stderr
            .starts_with("error: could not write the saved plan `taken/plan.json`\n  caused by: "),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
}

/// `plan --out .cityform/state.json` replaced the state with the plan, and the journal and
/// the lock could be overwritten the same way. Every path that is one of
/// the state's files, however it is spelled or linked, is refused before anything is written.
#[cfg(unix)]
#[test]
fn plan_out_refuses_every_file_of_the_state_and_changes_nothing() {
    let state = state_with_every_kind_of_difference();
    let cityform = Cityform::new()
        .manifests()
        .state(&state)
        .file(".cityform/state.json.journal", "")
        .file(".cityform/state.json.backup", "{}");
    std::os::unix::fs::symlink(".cityform/state.json", cityform.join("link.json")).unwrap();
    std::os::unix::fs::symlink(".cityform", cityform.join("linked-directory")).unwrap();
    std::fs::hard_link(
        cityform.join(".cityform/state.json"),
        cityform.join("hard-link.json"),
    )
    .unwrap();
    let absolute = cityform.join(".cityform/state.json").display().to_string();
    let before = Tree::read(cityform.path());

    for out in [
        ".cityform/state.json",
        "./.cityform/state.json",
        ".cityform/../.cityform/state.json",
        absolute.as_str(),
        ".cityform/state.json.journal",
        ".cityform/state.json.lock",
        ".cityform/state.json.backup",
        ".cityform/state.json.tmp",
        "link.json",
        "linked-directory/state.json",
        "hard-link.json",
    ] {
        let run = cityform
            .then()
            .args(["plan", "--refresh=false", "--out", out])
            .run();
        run.failure();
        assert!(
            run.stderr.starts_with(&format!(
                "error: cannot write the saved plan to `{out}`: it is "
            )),
            "{out}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("of the state"), "{out}: {}", run.stderr);
        // The lock appears twice: the tree is read through the linked directory too.
        let allowed = [LOCK_PATH, "linked-directory/state.json.lock"];
        let changes = before.changes(&Tree::read(cityform.path()), &allowed);
        assert!(changes.is_empty(), "{out}: {changes:?}");
    }
}

/// A saved plan is written beside its target under a name of its own, then renamed: a file
/// the user keeps next to it (`plan.json.tmp`) is never removed, and a file in the way that
/// is not a regular file is refused rather than replaced.
#[cfg(unix)]
#[test]
fn plan_out_replaces_only_its_own_file() {
    let cityform = Cityform::new()
        .manifests()
        .file("plan.json", "the previous plan")
        .file("plan.json.tmp", "the user's notes");
    std::fs::create_dir(cityform.join("directory.json")).unwrap();

    let run = cityform
        .then()
        .args(["plan", "--refresh=false", "--out", "plan.json"])
        .run();
    run.success();
    assert!(
        std::fs::read(cityform.join("plan.json"))
            .unwrap()
            .starts_with(b"{")
    );
    assert_eq!(
        std::fs::read_to_string(cityform.join("plan.json.tmp")).unwrap(),
        "the user's notes"
    );
    let mut names: Vec<String> = std::fs::read_dir(cityform.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".cityform",
            "directory.json",
            "manifests",
            "plan.json",
            "plan.json.tmp"
        ]
    );

    let run = cityform
        .then()
        .args(["plan", "--refresh=false", "--out", "directory.json"])
        .run();
    run.failure();
    assert!(
        run.stderr
            .contains("`directory.json` is a directory, not a regular file"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_state_path_comes_from_the_flag_or_cityform_state_and_is_named_as_given() {
    let cityform = Cityform::new().manifests().file("elsewhere/state.json", "");
    let absolute = cityform.join("elsewhere/state.json");

    let by_flag = cityform
        .then()
        .arg("plan")
        .arg("--state")
        .arg(&absolute)
        .run();
    let by_environment = cityform
        .then()
        .arg("plan")
        .env("CITYFORM_STATE", &absolute)
        .run();

    by_flag.failure();
    assert_eq!(by_environment.report(), by_flag.report());
    assert_run_snapshot!(by_flag);
}

#[test]
fn an_error_that_already_names_its_cause_says_it_once() {
    let run = Cityform::new()
        .manifests()
        .file("taken", "a file, not a directory")
        .args(["plan", "--state", "taken/state.json"])
        .run();
    run.failure();
    assert!(
        run.stderr
            .starts_with("error: cannot create the state directory `taken`: "),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------
// Which manifests: -f

/// Creates planned by a JSON plan, by name.
fn created(run: &cli_support::Run) -> Vec<String> {
    json_actions(&json(&run.stdout))
        .into_iter()
        .map(|(action, name)| {
            assert_eq!(action, "create");
            name
        })
        .collect()
}

/// The `source.file` of each action of a JSON plan.
fn sources(run: &cli_support::Run) -> Vec<String> {
    json(&run.stdout)["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|action| {
            let source = &action["source"];
            format!("{}:{}", source["file"].as_str().unwrap(), source["line"])
        })
        .collect()
}

#[test]
fn f_reads_one_file() {
    let run = Cityform::new()
        .file(
            "city.yaml",
            "apiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: harbour\nspec:\n  regionId: cn-shanghai\n  instanceId: cityvisual-Instance\n  algoLibId: \"3\"\n  resourceProfileId: \"6\"\n  planedJobCount: 2\n  streamPerJob: 4\n",
        )
        .args(["plan", "--format", "json", "-f", "city.yaml"])
        .run();
    run.success();
    assert_eq!(created(&run), ["harbour"]);
    assert_eq!(sources(&run), ["city.yaml:1"]);
}

#[test]
fn f_reads_every_manifest_below_a_directory() {
    let run = Cityform::new()
        .copy(example_manifests(), "deploy/shanghai")
        .file("deploy/shanghai/README.md", "not a manifest")
        .args(["plan", "--format", "json", "-f", "deploy/shanghai"])
        .run();
    run.success();
    assert_eq!(
        created(&run),
        [
            "safety-people-square",
            "safety-stations",
            "traffic-east",
            "traffic-tunnels",
            "traffic-west"
        ]
    );
    assert!(
        sources(&run)
            .iter()
            .all(|source| source.starts_with("deploy/shanghai/")),
        "{:?}",
        sources(&run)
    );
}

#[test]
fn f_can_be_repeated_and_dash_reads_standard_input() {
    let traffic = std::fs::read(example_manifests().join("traffic.yaml")).unwrap();
    let run = Cityform::new()
        .manifests()
        .args(["plan", "--format", "json"])
        .args(["-f", "manifests/00-defaults.yaml", "-f", "-"])
        .stdin(traffic)
        .run();
    run.success();
    assert_eq!(
        created(&run),
        ["traffic-east", "traffic-tunnels", "traffic-west"]
    );
    assert_eq!(sources(&run), ["-:3", "-:32", "-:19"]);

    let run = Cityform::new()
        .manifests()
        .args(["plan", "--format", "json"])
        .args([
            "-f",
            "manifests/00-defaults.yaml",
            "-f",
            "manifests/safety.yaml",
        ])
        .run();
    run.success();
    assert_eq!(created(&run), ["safety-people-square", "safety-stations"]);
    // The defaults reached the second file: ES_ENABLE comes from 00-defaults.yaml.
    let plan = json(&run.stdout);
    assert_eq!(plan["actions"][0]["spec"]["params"]["ES_ENABLE"], "True");
}

#[test]
fn a_mistake_on_standard_input_is_located_as_dash() {
    let run = Cityform::new()
        .manifests()
        .args(["validate", "-f", "manifests/00-defaults.yaml", "-f", "-"])
        .stdin("apiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: harbour\nspec:\n  algoLibId: \"3\"\n  planedJobCount: 0\n  streamPerJob: 4\n")
        .run();
    run.failure();
    assert_eq!(
        run.stderr,
        "-:7:19: error: `spec.planedJobCount` must be at least 1, not `0`\n1 problem found in the manifests\n"
    );
    assert_eq!(run.stdout, "");
}

/// `:` (the reference page's rule only) and `.` (the SDK model's rule only) are warnings:
/// shown where they are written, on standard error, and the command succeeds.
#[test]
fn a_name_only_one_documented_rule_allows_is_a_warning_not_an_error() {
    let manifest = "apiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: cam:east-01\nspec:\n  algoLibId: \"3\"\n  planedJobCount: 2\n  streamPerJob: 4\n";
    let warning = "-:4:9: warning: job group name `cam:east-01` contains `:`, which the ModifyJobGroup reference page allows but the SDK model's rule does not\n  hint: the service may refuse the name with `InvalidName.Malformed`; ASCII letters, digits, CJK characters, `_` and `-` are allowed by both rules\n";
    let validate = Cityform::new()
        .manifests()
        .args(["validate", "-f", "manifests/00-defaults.yaml", "-f", "-"])
        .stdin(manifest)
        .run();
    validate.success();
    assert_eq!(validate.stderr, warning);
    assert_eq!(validate.stdout, "The manifests are valid: 1 job group.\n");
    let plan = Cityform::new()
        .manifests()
        .args([
            "plan",
            "--format",
            "json",
            "-f",
            "manifests/00-defaults.yaml",
            "-f",
            "-",
        ])
        .stdin(manifest)
        .run();
    plan.success();
    assert_eq!(plan.stderr, warning);
    assert_eq!(created(&plan), ["cam:east-01"]);
    let dry_run = Cityform::new()
        .manifests()
        .args([
            "apply",
            "--dry-run",
            "-f",
            "manifests/00-defaults.yaml",
            "-f",
            "-",
        ])
        .stdin(manifest)
        .run();
    dry_run.success();
    assert!(dry_run.stderr.starts_with(warning), "{}", dry_run.stderr);
}

#[test]
fn a_name_that_starts_like_a_url_is_refused() {
    let run = Cityform::new()
        .manifests()
        .args(["validate", "-f", "manifests/00-defaults.yaml", "-f", "-"])
        .stdin("apiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: http://x\nspec:\n  algoLibId: \"3\"\n  planedJobCount: 2\n  streamPerJob: 4\n")
        .run();
    run.failure();
    assert_eq!(
        run.stderr,
        "-:4:9: error: invalid job group name `http://x`: must not start with `http://`\n  hint: a job group name has 2 to 128 characters: ASCII letters (`a`-`z`, `A`-`Z`), digits, CJK characters, `:`, `.`, `_` and `-`, starts with an ASCII letter or a CJK character, and does not start with `http://` or `https://`\n1 problem found in the manifests\n"
    );
    assert_eq!(run.stdout, "");
}

// ---------------------------------------------------------------------------------------
// Bad input through the binary

#[test]
fn every_broken_manifest_is_refused_by_plan_and_validate_and_the_state_is_left_alone() {
    let cases = bad_manifests::cases();
    assert_eq!(
        cases.len(),
        bad_manifests::input_count(),
        "every input in the corpus has its `.expected`"
    );
    assert!(cases.len() >= 25, "only {} cases", cases.len());
    let state = state_matching(&example_desired());
    let mut failures = Vec::new();
    for case in &cases {
        let cityform = Cityform::new()
            .state(&state)
            .copy(bad_manifests::directory().join(&case.input), &case.input);
        assert!(!cityform.join(".cityform/state.json.backup").exists());
        let before = Tree::read(cityform.path());
        for command in ["plan", "validate"] {
            let run = cityform
                .then()
                .arg(command)
                .arg("-f")
                .arg(&case.input)
                .run();
            let mut problems = Vec::new();
            if run.code() != Some(1) {
                problems.push(format!("exit code {:?}", run.code()));
            }
            if run.stderr != case.expected {
                problems.push(format!(
                    "standard error differs:\n{}",
                    similar::TextDiff::from_lines(&case.expected, &run.stderr)
                        .unified_diff()
                        .header("expected", "printed")
                ));
            }
            if !run.stdout.is_empty() {
                problems.push(format!("printed on standard output:\n{}", run.stdout));
            }
            problems.extend(before.changes(&Tree::read(cityform.path()), &[LOCK_PATH]));
            if !problems.is_empty() {
                failures.push(format!(
                    "{} (`{}`):\n{}",
                    case.name,
                    run.command_line,
                    problems.join("\n")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn every_broken_state_is_refused_by_plan_and_left_alone() {
    let cases = state_corpus::Case::all();
    assert!(cases.len() >= 8, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let cityform = Cityform::new().manifests();
        std::fs::create_dir_all(cityform.join(".cityform")).unwrap();
        case.install(&cityform.join(".cityform"));
        let before = Tree::read(cityform.path());

        let run = cityform.then().arg("plan").run();

        // The corpus writes the message, then `hint: ...`; the binary prefixes `error: ` and
        // indents the hint.
        let expected = format!(
            "error: {}\n",
            case.expected(".cityform")
                .replacen("\nhint: ", "\n  hint: ", 1)
        );
        let mut problems = Vec::new();
        if run.code() != Some(1) {
            problems.push(format!("exit code {:?}", run.code()));
        }
        if run.stderr != expected {
            problems.push(format!(
                "standard error differs:\n{}",
                similar::TextDiff::from_lines(&expected, &run.stderr)
                    .unified_diff()
                    .header("expected", "printed")
            ));
        }
        if !run.stdout.is_empty() {
            problems.push(format!("printed on standard output:\n{}", run.stdout));
        }
        problems.extend(before.changes(&Tree::read(cityform.path()), &[LOCK_PATH]));
        if !problems.is_empty() {
            failures.push(format!("{}:\n{}", case.name, problems.join("\n")));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn an_error_starts_with_error_and_ends_with_its_hint() {
    let case = state_corpus::Case::all()
        .into_iter()
        .find(|case| case.name == "truncated-json")
        .unwrap();
    let cityform = Cityform::new().manifests();
    std::fs::create_dir_all(cityform.join(".cityform")).unwrap();
    case.install(&cityform.join(".cityform"));

    let run = cityform.then().arg("plan").run();

    run.failure();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(lines[0].starts_with("error: "), "{}", run.stderr);
    assert!(
        lines.last().unwrap().starts_with("  hint: "),
        "{}",
        run.stderr
    );
    assert_run_snapshot!(run);
}

#[test]
fn the_tree_comparison_notices_every_kind_of_change() {
    let cityform = Cityform::new()
        .file(".cityform/state.json", "{}")
        .file(".cityform/state.json.journal", "")
        .file("manifests/a.yaml", "---\n");
    let before = Tree::read(cityform.path());
    assert!(before.changes(&before, &[]).is_empty());

    std::fs::write(cityform.join(".cityform/state.json"), "{ }").unwrap();
    std::fs::remove_file(cityform.join(".cityform/state.json.journal")).unwrap();
    std::fs::write(cityform.join(".cityform/state.json.backup"), "{}").unwrap();
    std::fs::write(cityform.join(LOCK_PATH), "").unwrap();

    assert_eq!(
        before.changes(&Tree::read(cityform.path()), &[LOCK_PATH]),
        [
            "`.cityform/state.json` was changed",
            "`.cityform/state.json.journal` was removed",
            "`.cityform/state.json.backup` was created",
        ]
    );
}

// ---------------------------------------------------------------------------------------
// The state lock

/// Holds the lock of the workspace's state, as another cityform would.
fn hold_lock(cityform: &Cityform) -> LocalBackend {
    LocalBackend::open(
        cityform.join(STATE_PATH),
        &LockOptions::new("cityform apply"),
    )
    .unwrap()
}

#[test]
fn a_held_lock_is_refused_at_once_naming_pid_host_and_since() {
    let cityform = Cityform::new()
        .manifests()
        .state(&state_matching(&example_desired()));
    let lock = hold_lock(&cityform);

    let run = cityform.then().arg("plan").run();

    run.failure();
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let holder = format!(
        "error: state `.cityform/state.json` is locked by pid {} on host `{host}` since ",
        std::process::id()
    );
    assert!(run.stderr.starts_with(&holder), "{}", run.stderr);
    assert!(
        run.stderr.contains("(`cityform apply`)\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("\n  hint: "), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_run_snapshot!(run);
    drop(lock);
}

#[test]
fn lock_timeout_waits_for_the_holder_to_let_go() {
    let cityform = Cityform::new()
        .manifests()
        .state(&state_matching(&example_desired()));
    let lock = hold_lock(&cityform);
    let started = Instant::now();
    let release = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        drop(lock);
    });

    let run = cityform
        .then()
        .args(["plan", "--refresh=false", "--lock-timeout", "2s"])
        .run();
    let finished = started.elapsed();

    release.join().unwrap();
    run.success();
    assert!(run.stdout.starts_with("No changes."), "{}", run.stdout);
    // Had it not waited for the lock, it would have finished long before the release.
    assert!(finished >= Duration::from_millis(300), "{finished:?}");
}

#[test]
fn lock_timeout_gives_up_and_says_how_long_it_waited() {
    let cityform = Cityform::new()
        .manifests()
        .state(&state_matching(&example_desired()));
    let lock = hold_lock(&cityform);

    let run = cityform
        .then()
        .args(["plan", "--lock-timeout", "300ms"])
        .run();

    run.failure();
    assert!(
        run.elapsed >= Duration::from_millis(300),
        "{:?}",
        run.elapsed
    );
    assert!(
        run.stderr.contains("\n  hint: waited 0.3s; "),
        "{}",
        run.stderr
    );
    drop(lock);
}

// ---------------------------------------------------------------------------------------
// Broken pipes

#[test]
fn a_closed_standard_output_is_not_an_error() {
    let cityform = Cityform::new()
        .manifests()
        .state(&state_with_every_kind_of_difference());
    let runs = [
        cityform.then().arg("validate").run_into_closed_pipe(),
        cityform
            .then()
            .args(["plan", "--refresh=false"])
            .run_into_closed_pipe(),
        cityform
            .then()
            .args(["plan", "--refresh=false", "--format", "json"])
            .run_into_closed_pipe(),
        cityform
            .then()
            .args(["plan", "--refresh=false", "--format", "markdown"])
            .run_into_closed_pipe(),
        cityform
            .then()
            .args(["plan", "--refresh=false", "--out", "plan.json"])
            .run_into_closed_pipe(),
    ];
    for run in &runs {
        assert_eq!(
            (run.code(), run.stderr.as_str()),
            (Some(0), ""),
            "`{}`",
            run.command_line
        );
    }
    // The saved plan is written even though nobody read the printed one.
    assert!(cityform.join("plan.json").is_file());
    // The exit code still reports changes.
    let run = cityform
        .then()
        .args(["plan", "--refresh=false", "--detailed-exitcode"])
        .run_into_closed_pipe();
    assert_eq!((run.code(), run.stderr.as_str()), (Some(2), ""));
}

#[test]
fn plan_into_head_dash_1_ends_quietly() {
    // Far more than a pipe buffers, so the plan is still writing when the reader leaves.
    let mut manifests = String::from(
        "apiVersion: cityform/v1\nkind: Defaults\nspec:\n  regionId: cn-shanghai\n  instanceId: cityvisual-Instance\n  algoLibId: \"3\"\n  resourceProfileId: \"6\"\n  planedJobCount: 4\n  streamPerJob: 4\n",
    );
    for index in 0..1000 {
        manifests.push_str(&format!(
            "---\napiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: camera-{index:04}\n"
        ));
    }
    let cityform = Cityform::new()
        .file("manifests/cameras.yaml", manifests)
        .arg("plan");
    let mut child = cityform
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    // The reader is gone now, as `head -1` would be.
    let status = cli_support::wait_or_kill(&mut child, "cityform plan | head -1");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();

    assert_eq!(first_line, "cityform will perform the following actions:\n");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr, "");
    assert_eq!(status.code(), Some(0));
}

/// Nesting cost the YAML parser time quadratic in the depth (100,000 `[`
/// took 95 s to validate, 50,000 `{a: ` 60 s). The depth is now counted before parsing, in
/// linear time; the harness's deadline bounds these runs, and `docs/performance.md` has the
/// figures.
#[test]
fn deeply_nested_manifests_are_refused_within_the_deadline() {
    for (name, nesting, column) in [
        ("brackets.yaml", "[".repeat(100_000), 11 + 30),
        ("mappings.yaml", "{a: ".repeat(50_000), 11 + 4 * 30),
    ] {
        let manifest = format!(
            "apiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: deep\nspec:\n  algoLibId: \"3\"\n  planedJobCount: 2\n  streamPerJob: 4\n  params: {nesting}\n"
        );
        let run = Cityform::new()
            .file(name, manifest)
            .args(["validate", "-f", name])
            .run();
        run.failure();
        assert_eq!(
            run.stderr,
            format!(
                "{name}:9:{column}: error: mappings and sequences are nested more than 32 levels deep here; cityform reads at most 32\n  hint: a job group needs three levels; this file is not read further, because the YAML parser's time grows with the square of the depth\n1 problem found in the manifests\n"
            )
        );
    }
}

/// `algoLibId: 03` became the id `03` without a word.
#[test]
fn an_id_with_a_leading_zero_is_a_warning_shown_by_validate() {
    let manifest = "apiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: harbour\nspec:\n  algoLibId: 03\n  planedJobCount: 2\n  streamPerJob: 4\n";
    let run = Cityform::new()
        .manifests()
        .args(["validate", "-f", "manifests/00-defaults.yaml", "-f", "-"])
        .stdin(manifest)
        .run();
    run.success();
    assert_eq!(
        run.stderr,
        "-:6:14: warning: `spec.algoLibId` is the unquoted number `03`: cityform sends the id `03` as written, but YAML 1.2 reads `3`\n  hint: quote it if the id is `03`: `algoLibId: \"03\"`; write `algoLibId: 3` if it is `3`\n"
    );
}
