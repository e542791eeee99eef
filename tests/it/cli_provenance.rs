//! Provenance end to end: the real binary in a temporary git repository against a real
//! `cityform emulator` process. Each apply records the commit, the manifest line, who ran
//! it and the `RequestId`; `history` lists them newest first; `--require-clean` refuses a
//! dirty tree before anything is sent or written; the CI variables name the commit and the
//! job; plans say which commit last applied each update and orphan.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_apply_support;

use std::path::Path;
use std::process::Command;

use cli_apply_support::{Emulator, INSTANCE, REGION, Run, Workspace, job_group, spawn};

/// The variables provenance reads, none of which a test may inherit from its own CI.
const PROVENANCE_VARIABLES: [&str; 9] = [
    "GITHUB_SHA",
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "CI_COMMIT_SHA",
    "CI_JOB_URL",
    "CI_PROJECT_URL",
    "USER",
    "LOGNAME",
];

const MANIFEST: &str = "manifests/groups.yaml";

fn address(name: &str) -> String {
    format!("{REGION}/{INSTANCE}/{name}")
}

/// Runs `git ARGS` in `directory`, failing the test when it fails; returns its stdout.
fn git(directory: &Path, arguments: &[&str]) -> String {
    let output = Command::new("git")
        .args(arguments)
        .current_dir(directory)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", directory)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {arguments:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A workspace that is a git repository with its own identity, `.cityform/` ignored.
struct Repository {
    workspace: Workspace,
}

impl Repository {
    fn new(emulator: &Emulator) -> Self {
        let workspace = Workspace::new(emulator);
        let directory = workspace.path();
        git(directory, &["init", "-q", "-b", "main"]);
        git(directory, &["config", "user.name", "Test Author"]);
        git(directory, &["config", "user.email", "author@example.com"]);
        git(directory, &["config", "commit.gpgsign", "false"]);
        workspace.write(".gitignore", ".cityform/\n");
        Self { workspace }
    }

    /// Writes the manifest and commits it; returns the commit id.
    fn commit(&self, manifest: &str, message: &str) -> String {
        self.workspace.write(MANIFEST, manifest);
        git(self.workspace.path(), &["add", "-A"]);
        git(self.workspace.path(), &["commit", "-q", "-m", message]);
        git(self.workspace.path(), &["rev-parse", "HEAD"])
    }

    /// `cityform ARGS` as a person named `tester` would run it, outside any CI, plus `env`.
    fn run(&self, arguments: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.workspace.command(arguments);
        for name in PROVENANCE_VARIABLES {
            command.env_remove(name);
        }
        command.env("USER", "tester");
        for (name, value) in env {
            command.env(name, value);
        }
        spawn(command).finish()
    }

    fn apply(&self, extra: &[&str], env: &[(&str, &str)]) -> Run {
        let mut arguments = vec![
            "apply",
            "--endpoint",
            &self.workspace.endpoint,
            "--auto-approve",
            // One call at a time: the emulator's ids then follow address order.
            "--parallelism",
            "1",
        ];
        arguments.extend_from_slice(extra);
        self.run(&arguments, env)
    }

    fn history_json(&self, extra: &[&str]) -> serde_json::Value {
        let mut arguments = vec!["history", "--format", "json"];
        arguments.extend_from_slice(extra);
        let run = self.run(&arguments, &[]);
        run.expect_code(0);
        serde_json::from_str(&run.stdout).unwrap()
    }
}

/// The manifest: `alpha`, then `traffic-east` with `planed_job_count`, after `padding`
/// comment lines.
fn manifest(padding: usize, planed_job_count: usize) -> String {
    let mut text = "# a comment\n".repeat(padding);
    text.push_str(&job_group("alpha", "3", 1));
    text.push_str(&job_group("traffic-east", "3", planed_job_count));
    text
}

/// The line of `text` where the document that names `name` starts (its first key).
fn declaring_line(text: &str, name: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let named = lines
        .iter()
        .position(|line| line.trim() == format!("name: {name}"))
        .unwrap();
    let start = lines[..named]
        .iter()
        .rposition(|line| *line == "---")
        .unwrap();
    start + 2
}

/// Filters for what changes between runs: commit ids, times, request ids, the host name.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\b[0-9a-f]{40}\b", "[commit]"),
        (r"\b[0-9a-f]{7}\b", "[short]"),
        (
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z",
            "YYYY-MM-DDTHH:MM:SSZ",
        ),
        // In a sentence, the host name ends at a comma.
        (r"tester@[^\s,]+,", "tester@[host],"),
        // The host name's length decides the width of the `BY` column.
        (r"tester@[^\s,]+ +", "tester@[host]  "),
        (r"BY +SOURCE", "BY             SOURCE"),
        (r#""host": "[^"]*""#, r#""host": "[host]""#),
        (
            r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}",
            "[request-id]",
        ),
        (r"(?m)[ \t]+$", ""),
    ]
}

#[test]
fn history_names_each_commit_file_and_line_newest_first() {
    let emulator = Emulator::start(&[]);
    let repository = Repository::new(&emulator);
    let first_manifest = manifest(0, 2);
    let first = repository.commit(&first_manifest, "traffic-east with 2 jobs");
    repository.apply(&[], &[]).expect_code(0);
    let second_manifest = manifest(3, 5);
    let second = repository.commit(&second_manifest, "traffic-east with 5 jobs");
    repository.apply(&[], &[]).expect_code(0);
    assert_ne!(first, second);

    let json = repository.history_json(&[&address("traffic-east")]);
    let entries = json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{json:#}");
    let (newest, oldest) = (&entries[0], &entries[1]);
    assert_eq!(newest["action"], "update");
    assert_eq!(oldest["action"], "create");
    assert_eq!(newest["job_group_id"], oldest["job_group_id"]);
    assert_eq!(newest["provenance"]["commit"], second.as_str());
    assert_eq!(oldest["provenance"]["commit"], first.as_str());
    for (entry, text) in [(newest, &second_manifest), (oldest, &first_manifest)] {
        let provenance = &entry["provenance"];
        assert_eq!(provenance["source"]["file"], MANIFEST, "{entry:#}");
        assert_eq!(
            provenance["source"]["line"],
            declaring_line(text, "traffic-east"),
            "{entry:#}"
        );
        assert_eq!(provenance["dirty"], false);
        assert_eq!(provenance["actor"]["kind"], "user");
        assert_eq!(provenance["actor"]["user"], "tester");
        let request_id = provenance["request_id"].as_str().unwrap();
        assert!(!request_id.is_empty());
    }
    assert_ne!(
        newest["provenance"]["source"]["line"],
        oldest["provenance"]["source"]["line"]
    );
    // The update's RequestId is the one the state records for the group.
    let state = repository.workspace.state().unwrap();
    let recorded = state
        .job_groups
        .iter()
        .find(|(address, _)| address.name == "traffic-east")
        .unwrap()
        .1;
    assert_eq!(
        newest["provenance"]["request_id"],
        recorded.request_id.as_str()
    );

    // Every group: alpha's create is there too, and the newest action comes first.
    let all = repository.history_json(&[]);
    let actions: Vec<(&str, &str)> = all["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let address = entry["address"].as_str().unwrap();
            (
                entry["action"].as_str().unwrap(),
                address.rsplit('/').next().unwrap(),
            )
        })
        .collect();
    assert_eq!(actions[0], ("update", "traffic-east"), "{actions:?}");
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert!(actions.contains(&("create", "alpha")), "{actions:?}");
    assert_eq!(
        repository.history_json(&["--limit", "1"])["entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let text = repository.run(&["history", &address("traffic-east")], &[]);
    text.expect_code(0);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert!(lines[1].contains(&second[..7]), "{}", text.stdout);
    assert!(lines[1].contains(" update "), "{}", text.stdout);
    assert!(lines[2].contains(&first[..7]), "{}", text.stdout);
    assert!(
        lines[2].contains(&format!(
            "{MANIFEST}:{}",
            declaring_line(&first_manifest, "traffic-east")
        )),
        "{}",
        text.stdout
    );
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("history_text", text.stdout);
        insta::assert_snapshot!(
            "history_json",
            serde_json::to_string_pretty(&json).unwrap()
        );
    });

    // `state show` names the last change's commit and line.
    let shown = repository.run(&["state", "show", &address("traffic-east")], &[]);
    shown.expect_code(0);
    assert!(
        shown.stdout.contains(&format!("\"{second}\"")),
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains(&format!(
            "{MANIFEST}:{}",
            declaring_line(&second_manifest, "traffic-east")
        )),
        "{}",
        shown.stdout
    );
}

#[test]
fn history_names_the_manifest_line_of_starts_stops_and_deletes_too() {
    let emulator = Emulator::start(&[]);
    let repository = Repository::new(&emulator);
    let with_status = |status: &str| {
        format!(
            "{}  status: {status}\n{}",
            job_group("alpha", "3", 1),
            job_group("traffic-east", "3", 2)
        )
    };
    let running = with_status("Running");
    repository.commit(&running, "alpha running");
    repository.apply(&[], &[]).expect_code(0);
    // Alpha moves down a line, so that the stop's line is not the create's.
    let stopped = format!("# stopped\n{}", with_status("Stopped"));
    repository.commit(&stopped, "alpha stopped");
    repository.apply(&[], &[]).expect_code(0);
    let removed = format!(
        "# stopped\n{}  status: Stopped\n",
        job_group("alpha", "3", 1)
    );
    repository.commit(&removed, "traffic-east removed");
    repository.apply(&["--prune"], &[]).expect_code(0);

    let json = repository.history_json(&[]);
    let sources: Vec<(String, String)> = json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let source = &entry["provenance"]["source"];
            (
                format!(
                    "{} {}",
                    entry["action"].as_str().unwrap(),
                    entry["address"]
                        .as_str()
                        .unwrap()
                        .rsplit('/')
                        .next()
                        .unwrap()
                ),
                format!("{}:{}", source["file"], source["line"]),
            )
        })
        .collect();
    let line = |text: &str, name: &str| format!("\"{MANIFEST}\":{}", declaring_line(text, name));
    assert_eq!(
        sources,
        [
            (
                "delete traffic-east".to_owned(),
                line(&running, "traffic-east")
            ),
            ("stop alpha".to_owned(), line(&stopped, "alpha")),
            ("start alpha".to_owned(), line(&running, "alpha")),
            (
                "create traffic-east".to_owned(),
                line(&running, "traffic-east")
            ),
            ("create alpha".to_owned(), line(&running, "alpha")),
        ],
        "{json:#}"
    );
    let text = repository.run(&["history"], &[]);
    text.expect_code(0);
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("history_of_starts_stops_and_deletes", text.stdout);
    });
}

#[test]
fn without_user_or_logname_the_account_of_the_process_is_recorded() {
    let account = Command::new("id").arg("-un").output().unwrap();
    assert!(account.status.success());
    let account = String::from_utf8(account.stdout).unwrap().trim().to_owned();
    let emulator = Emulator::start(&[]);
    let repository = Repository::new(&emulator);
    repository.commit(&manifest(0, 2), "first");
    let mut arguments = vec!["apply", "--endpoint", &repository.workspace.endpoint];
    arguments.push("--auto-approve");
    let mut command = repository.workspace.command(&arguments);
    for name in PROVENANCE_VARIABLES {
        command.env_remove(name);
    }
    command.env_remove("USERNAME");
    spawn(command).finish().expect_code(0);
    let json = repository.history_json(&[]);
    for entry in json["entries"].as_array().unwrap() {
        assert_eq!(
            entry["provenance"]["actor"]["user"],
            account.as_str(),
            "{json:#}"
        );
    }
}

#[test]
fn a_dirty_tree_is_recorded_and_require_clean_refuses_it() {
    let emulator = Emulator::start(&[]);
    let repository = Repository::new(&emulator);
    repository.commit(&manifest(0, 2), "first");
    repository.workspace.write(MANIFEST, &manifest(0, 4));

    let refused = repository.apply(&["--require-clean"], &[]);
    refused.expect_code(1);
    assert!(refused.stderr.contains(MANIFEST), "{refused}");
    assert!(emulator.groups().is_empty(), "nothing may be sent");
    assert!(emulator.requests().is_empty(), "nothing may be sent");
    assert!(
        !repository.workspace.state_path().exists(),
        "nothing may be written"
    );
    assert!(!repository.workspace.path().join(".cityform").exists());

    repository.apply(&[], &[]).expect_code(0);
    let json = repository.history_json(&[&address("traffic-east")]);
    assert_eq!(json["entries"][0]["provenance"]["dirty"], true, "{json:#}");

    // Committed, the same flag lets the run through.
    git(
        repository.workspace.path(),
        &["commit", "-q", "-am", "four jobs"],
    );
    repository.workspace.write(MANIFEST, &manifest(0, 6));
    git(
        repository.workspace.path(),
        &["commit", "-q", "-am", "six jobs"],
    );
    repository.apply(&["--require-clean"], &[]).expect_code(0);
    let json = repository.history_json(&[&address("traffic-east")]);
    assert_eq!(json["entries"][0]["provenance"]["dirty"], false, "{json:#}");
}

#[test]
fn ci_variables_name_the_commit_and_the_job_and_plans_quote_them() {
    let emulator = Emulator::start(&[]);
    let repository = Repository::new(&emulator);
    let head = repository.commit(&manifest(0, 2), "first");
    let ci_commit = "3f2a9c1e5b7d9f0a1c3e5b7d9f0a1c3e5b7d9f0a";
    let ci = [
        ("GITHUB_SHA", ci_commit),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "acme/city"),
        ("GITHUB_RUN_ID", "8812"),
    ];
    repository.apply(&[], &ci).expect_code(0);
    let json = repository.history_json(&[&address("traffic-east")]);
    let provenance = &json["entries"][0]["provenance"];
    assert_eq!(provenance["commit"], ci_commit, "{json:#}");
    assert_ne!(provenance["commit"], head.as_str());
    assert_eq!(
        provenance["actor"],
        serde_json::json!({
            "kind": "ci",
            "url": "https://github.com/acme/city/actions/runs/8812",
            "system": "github",
        })
    );
    assert_eq!(provenance["repository_url"], "https://github.com/acme/city");

    // The next plan: traffic-east updated, alpha orphaned; both quote the CI run.
    repository
        .workspace
        .write(MANIFEST, &job_group("traffic-east", "3", 7));
    let endpoint = repository.workspace.endpoint.clone();
    let text = repository.run(&["plan", "--endpoint", &endpoint], &[]);
    text.expect_code(0);
    assert_eq!(
        text.stdout
            .matches("# last applied from 3f2a9c1 by ci/run 8812")
            .count(),
        2,
        "{text}"
    );
    let markdown = repository.run(
        &["plan", "--endpoint", &endpoint, "--format", "markdown"],
        &[],
    );
    markdown.expect_code(0);
    assert!(
        markdown.stdout.contains(&format!(
            "last applied from [`3f2a9c1`](https://github.com/acme/city/commit/{ci_commit}) by [ci/run 8812](https://github.com/acme/city/actions/runs/8812)"
        )),
        "{markdown}"
    );
    let json_plan = repository.run(&["plan", "--endpoint", &endpoint, "--format", "json"], &[]);
    json_plan.expect_code(0);
    let plan: serde_json::Value = serde_json::from_str(&json_plan.stdout).unwrap();
    let quoted: Vec<&serde_json::Value> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|action| action.get("last_applied"))
        .collect();
    assert_eq!(quoted.len(), 2, "{plan:#}");
    assert!(quoted.iter().all(|last| last["commit"] == ci_commit));
    // The committed schema accepts the plan with its `last_applied` objects.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema/plan-v2.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&plan)
        .map(|error| format!("{error} at `{}`", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let mut broken = plan.clone();
    broken["actions"][0]["last_applied"]["actor"]["kind"] = "robot".into();
    assert!(
        !validator.is_valid(&broken),
        "the schema checks `last_applied`"
    );
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("plan_text_last_applied", text.stdout);
        insta::assert_snapshot!("plan_markdown_last_applied", markdown.stdout);
    });
}

/// `show PLANFILE` prints a saved plan exactly as `plan --out` printed it, in each format,
/// "last applied from" notes included (they are saved with the plan), and refuses an edit.
#[test]
fn show_prints_a_saved_plan_as_plan_printed_it() {
    let emulator = Emulator::start(&[]);
    let repository = Repository::new(&emulator);
    repository.commit(&manifest(0, 2), "first");
    let ci = [
        ("GITHUB_SHA", "3f2a9c1e5b7d9f0a1c3e5b7d9f0a1c3e5b7d9f0a"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "acme/city"),
        ("GITHUB_RUN_ID", "8812"),
    ];
    repository.apply(&[], &ci).expect_code(0);
    repository
        .workspace
        .write(MANIFEST, &job_group("traffic-east", "3", 7));
    let endpoint = repository.workspace.endpoint.clone();
    let mut shown_text = String::new();
    for format in ["text", "json", "markdown"] {
        let file = format!("plan-{format}.bin");
        let planned = repository.run(
            &[
                "plan",
                "--endpoint",
                &endpoint,
                "--format",
                format,
                "--out",
                &file,
            ],
            &[],
        );
        planned.expect_code(0);
        let shown = repository.run(&["show", &file, "--format", format], &[]);
        shown.expect_code(0);
        assert!(
            shown.stdout.contains("3f2a9c1"),
            "the notes were not saved with the plan:\n{shown}"
        );
        let printed = if format == "text" {
            // `plan --out` adds where it saved the plan after the plan.
            let saved = format!(
                "\nSaved the plan to `{file}`. Apply exactly this plan with: cityform apply {file}\n"
            );
            planned
                .stdout
                .strip_suffix(&saved)
                .unwrap_or(&planned.stdout)
                .to_owned()
        } else {
            planned.stdout.clone()
        };
        assert_eq!(shown.stdout, printed, "`show` of the {format} plan");
        if format == "text" {
            shown_text = shown.stdout.clone();
        }
    }
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("show_text_last_applied", shown_text);
    });

    let saved = repository.workspace.path().join("plan-text.bin");
    let original = std::fs::read_to_string(&saved).unwrap();
    let edited = original.replace("actions/runs/8812", "actions/runs/9999");
    assert_ne!(edited, original, "the edit must hit the saved notes");
    std::fs::write(&saved, edited).unwrap();
    let refused = repository.run(&["show", "plan-text.bin"], &[]);
    refused.expect_code(1);
    assert!(
        refused
            .stderr
            .contains("has been modified since it was saved"),
        "{refused}"
    );
}

#[test]
fn the_commit_flag_wins_and_since_filters_by_time() {
    let emulator = Emulator::start(&[]);
    let repository = Repository::new(&emulator);
    let head = repository.commit(&manifest(0, 2), "first");
    repository
        .apply(
            &["--commit", &head[..10]],
            &[("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")],
        )
        .expect_code(0);
    let json = repository.history_json(&[]);
    assert_eq!(
        json["entries"][0]["provenance"]["commit"],
        head.as_str(),
        "{json:#}"
    );

    let bad = repository.apply(&["--commit", "not-a-sha"], &[]);
    bad.expect_code(1);
    assert!(bad.stderr.contains("is not a commit id"), "{bad}");

    assert_eq!(
        repository.history_json(&["--since", "1h"])["entries"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        repository.history_json(&["--since", "2999-01-01"])["entries"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let nothing = repository.run(&["history", "--since", "2999-01-01"], &[]);
    nothing.expect_code(0);
    assert_eq!(nothing.stdout, "No recorded actions.\n");
    let wrong = repository.run(&["history", "--since", "yesterday"], &[]);
    wrong.expect_code(1);
    assert!(
        wrong.stderr.contains("`yesterday` is not a time"),
        "{wrong}"
    );
}

#[test]
fn forget_and_import_are_recorded_with_their_provenance() {
    let emulator = Emulator::start(&[]);
    let repository = Repository::new(&emulator);
    let text = manifest(0, 2);
    let head = repository.commit(&text, "first");
    repository.apply(&[], &[]).expect_code(0);
    repository
        .run(&["state", "rm", &address("alpha")], &[])
        .expect_code(0);
    // Forgetting is recorded too: by whom, at which commit; no manifest line, no call.
    let forgotten = repository.history_json(&[&address("alpha")]);
    let newest = &forgotten["entries"][0];
    assert_eq!(newest["action"], "forget", "{forgotten:#}");
    assert_eq!(newest["provenance"]["commit"], head.as_str());
    assert_eq!(newest["provenance"]["actor"]["user"], "tester");
    assert_eq!(newest["provenance"]["source"], serde_json::Value::Null);
    assert_eq!(newest["provenance"]["request_id"], serde_json::Value::Null);
    let endpoint = repository.workspace.endpoint.clone();
    repository
        .run(&["import", &address("alpha"), "--endpoint", &endpoint], &[])
        .expect_code(0);
    let json = repository.history_json(&[&address("alpha")]);
    let newest = &json["entries"][0];
    assert_eq!(newest["action"], "import", "{json:#}");
    assert_eq!(newest["provenance"]["commit"], head.as_str());
    assert_eq!(
        newest["provenance"]["source"]["line"],
        declaring_line(&text, "alpha")
    );

    // A plan that changes the imported group says it was imported, not applied from a
    // commit: no manifest was applied to it.
    let changed = format!(
        "{}{}",
        job_group("alpha", "3", 4),
        job_group("traffic-east", "3", 2)
    );
    repository.commit(&changed, "alpha with 4 jobs");
    let plan = |format: &str| {
        let run = repository.run(&["plan", "--endpoint", &endpoint, "--format", format], &[]);
        run.expect_code(0);
        run.stdout
    };
    let short = &head[..7];
    let text = plan("text");
    assert!(
        text.contains(&format!("# imported at {short} by tester@"))
            && text.contains(", not applied from the manifests since\n"),
        "{text}"
    );
    assert!(!text.contains("last applied from"), "{text}");
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("plan_text_imported", text);
    });
    let markdown = plan("markdown");
    assert!(
        markdown.contains(&format!("imported at `{short}` by tester@")),
        "{markdown}"
    );
    let json: serde_json::Value = serde_json::from_str(&plan("json")).unwrap();
    let update = &json["actions"][0];
    assert_eq!(update["action"], "update", "{json:#}");
    assert_eq!(update["last_applied_by_import"], true, "{json:#}");
    assert_eq!(update["last_applied"]["commit"], head.as_str());
    // Once applied, the group is quoted as applied again.
    repository.apply(&[], &[]).expect_code(0);
    let again = format!(
        "{}{}",
        job_group("alpha", "3", 5),
        job_group("traffic-east", "3", 2)
    );
    repository.commit(&again, "alpha with 5 jobs");
    let text = plan("text");
    assert!(text.contains("# last applied from "), "{text}");
    let json: serde_json::Value = serde_json::from_str(&plan("json")).unwrap();
    assert_eq!(
        json["actions"][0]["last_applied_by_import"],
        serde_json::Value::Null,
        "{json:#}"
    );
}

#[test]
fn a_saved_plan_is_recorded_with_the_commit_checked_out_where_it_is_applied() {
    let emulator = Emulator::start(&[]);
    let repository = Repository::new(&emulator);
    let first = repository.commit(&manifest(0, 2), "first");
    repository.apply(&[], &[]).expect_code(0);
    let text = manifest(2, 3);
    let second = repository.commit(&text, "three jobs");
    let endpoint = repository.workspace.endpoint.clone();
    repository
        .run(
            &["plan", "--endpoint", &endpoint, "--out", "reviewed.plan"],
            &[],
        )
        .expect_code(0);
    repository
        .run(&["apply", "--endpoint", &endpoint, "reviewed.plan"], &[])
        .expect_code(0);

    let json = repository.history_json(&[&address("traffic-east")]);
    let newest = &json["entries"][0];
    assert_eq!(newest["action"], "update", "{json:#}");
    assert_eq!(newest["provenance"]["commit"], second.as_str());
    assert_ne!(newest["provenance"]["commit"], first.as_str());
    assert_eq!(
        newest["provenance"]["source"]["file"], MANIFEST,
        "the plan's manifest line, relative to the repository"
    );
    assert_eq!(
        newest["provenance"]["source"]["line"],
        declaring_line(&text, "traffic-east")
    );
    // The plan file is not a manifest: the tree stays clean.
    assert_eq!(newest["provenance"]["dirty"], false, "{json:#}");
}

/// The binary and a library-level reconcile run one sequence: two copies of one repository,
/// each against an emulator of its own, one applied by `cityform apply` and one by
/// `reconcile::run`, record the same history (provenance, manifest lines, actions) and the
/// same ids. A command line that sequenced the run itself (another load, no provenance for
/// what it resolves or creates) would record something else.
#[test]
fn the_binary_and_a_library_reconcile_record_the_same_history() {
    let text = manifest(2, 3);
    let binary_emulator = Emulator::start(&[]);
    let by_binary = Repository::new(&binary_emulator);
    by_binary.commit(&text, "groups");
    by_binary.apply(&[], &[]).expect_code(0);

    let library_emulator = Emulator::start(&[]);
    let by_library = Repository::new(&library_emulator);
    by_library.commit(&text, "groups");
    let directory = by_library.workspace.path().to_owned();
    let endpoint = by_library.workspace.endpoint.clone();
    let report = cli_apply_support::block_on(library_apply(directory.clone(), endpoint));
    assert_eq!(report.created.len(), 2, "{report:?}");

    let shown = |repository: &Repository| {
        let mut history = repository.history_json(&[]);
        let prefix = format!("{}/", repository.workspace.path().display());
        scrub(&mut history, &prefix);
        serde_json::to_string_pretty(&history).unwrap()
    };
    let binary_history = shown(&by_binary);
    assert!(
        binary_history.contains("manifests/groups.yaml"),
        "{binary_history}"
    );
    assert_eq!(shown(&by_library), binary_history);
    assert_eq!(
        by_library.workspace.state_ids(),
        by_binary.workspace.state_ids()
    );
}

/// `reconcile::run` as a program embedding cityform would call it, in `directory` (a
/// repository), against `endpoint`, as the user `tester`.
async fn library_apply(
    directory: std::path::PathBuf,
    endpoint: String,
) -> cityform::apply::ApplyReport {
    use cityform::apply::ApplyOptions;
    use cityform::cloud::Connection;
    use cityform::manifest::{self, Input, LoadOptions};
    use cityform::provenance::RunContext;
    use cityform::reconcile::{self, PlanRequest, Reconciled, Request, Source, Unattended};
    use cityform::state::{LocalBackend, LockOptions};

    let environment: std::collections::BTreeMap<String, String> = [
        ("USER", "tester"),
        ("HOME", &*directory.to_string_lossy()),
        (
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            cli_apply_support::ACCESS_KEY_ID,
        ),
        (
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            cli_apply_support::ACCESS_KEY_SECRET,
        ),
        ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    let inputs = [Input::Path(directory.join("manifests"))];
    let desired = manifest::load_with(&inputs, &LoadOptions::default()).unwrap();
    let provenance = RunContext::collect_inputs(&inputs, None, &environment);
    let backend = LocalBackend::open(
        directory.join(".cityform/state.json"),
        &LockOptions::new("cityform apply"),
    )
    .unwrap();
    let connection = Connection::open(Some(&endpoint), None, &environment).unwrap();
    let (events, mut receiver) = tokio::sync::mpsc::channel(16);
    let drained = tokio::spawn(async move { while receiver.recv().await.is_some() {} });
    let request = Request {
        backend: &backend,
        connection: &connection,
        source: Source::Manifests {
            desired,
            planning: PlanRequest {
                refresh: true,
                options: Default::default(),
            },
        },
        options: ApplyOptions {
            parallelism: 1,
            provenance: Some(provenance),
            ..ApplyOptions::default()
        },
        auto_approve: true,
        events,
        stop: Box::pin(std::future::pending()),
    };
    let reconciled = reconcile::run(request, &mut Unattended).await.unwrap();
    drained.await.unwrap();
    drop(backend);
    match reconciled {
        Reconciled::Applied { report, .. } => report,
        other => panic!("nothing applied: {other:?}"),
    }
}

/// `value` without what differs between two repositories and two runs (times, commits,
/// request ids, the host) and with file names relative to the repository (`prefix`).
fn scrub(value: &mut serde_json::Value, prefix: &str) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match key.as_str() {
                    "at" | "commit" | "request_id" | "host" => *value = serde_json::Value::Null,
                    "file" => {
                        if let Some(file) = value.as_str() {
                            *value = file.trim_start_matches(prefix).into();
                        }
                    }
                    _ => scrub(value, prefix),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|item| scrub(item, prefix)),
        _ => {}
    }
}

/// A state written before the history had a file of its own, its history inside it.
const EMBEDDED_HISTORY_STATE: &str = include_str!("../data/embedded-history-state.json");

/// A state of the earlier layout is read as it is (`history`, `plan`, `state show`: nothing
/// written), and its history moves to `state.json.history` at its first write, which keeps
/// every entry. Then a plan reads the history file only when it has an update or an orphan
/// to quote: a history file that cannot be read does not stop a plan that needs none of it.
#[test]
fn a_state_with_its_history_inside_is_read_then_moved_out_at_the_first_write() {
    let emulator = Emulator::start(&[]);
    let repository = Repository::new(&emulator);
    repository.commit(&manifest(0, 3), "the groups as recorded");
    let state_path = repository.workspace.state_path();
    let history_path = state_path.with_extension("json.history");
    repository
        .workspace
        .write(".cityform/state.json", EMBEDDED_HISTORY_STATE);

    let before = repository.history_json(&[]);
    let entries = before["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["action"], "update");
    let text_before = repository.run(&["history"], &[]);
    text_before.expect_code(0);
    // An update of traffic-east quotes the commit of its last update.
    repository.workspace.write(MANIFEST, &manifest(0, 5));
    let plan = repository.run(&["plan", "--refresh=false"], &[]);
    plan.expect_code(0);
    assert!(
        plan.stdout
            .contains("# last applied from 9c0ffee by ci/run 8812"),
        "{}",
        plan.stdout
    );
    let show = repository.run(&["state", "show", &address("traffic-east")], &[]);
    show.expect_code(0);
    assert!(show.stdout.contains("9c0ffee"), "{}", show.stdout);
    assert_eq!(
        std::fs::read_to_string(&state_path).unwrap(),
        EMBEDDED_HISTORY_STATE,
        "reading writes nothing"
    );
    assert!(!history_path.exists());

    // The first write: `state rm` forgets alpha, recorded as `forget`.
    repository
        .run(&["state", "rm", &address("alpha")], &[])
        .expect_code(0);
    let written = std::fs::read_to_string(&state_path).unwrap();
    assert!(!written.contains("\"history\""), "{written}");
    assert!(history_path.exists());
    let after = repository.history_json(&[]);
    let entries = after["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0]["action"], "forget");
    assert_eq!(&entries[1..], &before["entries"].as_array().unwrap()[..]);
    let plan_after = repository.run(&["plan", "--refresh=false"], &[]);
    plan_after.expect_code(0);
    assert!(
        plan_after
            .stdout
            .contains("# last applied from 9c0ffee by ci/run 8812"),
        "{}",
        plan_after.stdout
    );

    // A history file that cannot be read: a plan that quotes nothing does not read it.
    std::fs::write(&history_path, "not a history file\n").unwrap();
    repository.workspace.write(MANIFEST, &manifest(0, 3));
    let unchanged = repository.run(&["plan", "--refresh=false"], &[]);
    unchanged.expect_code(0);
    let updated = {
        repository.workspace.write(MANIFEST, &manifest(0, 5));
        repository.run(&["plan", "--refresh=false"], &[])
    };
    updated.expect_code(1);
    assert!(
        updated.stderr.contains("history file"),
        "{}",
        updated.stderr
    );
}
