//! `cityform init` with the real binary: it writes a project that `validate` and `plan`
//! accept, a `.gitignore` that keeps the state's lock, temporary and backup files out of git
//! but not the state, the CI recipes of `docs/ci/` as they are, and never overwrites
//! anything: with a file in the way it writes nothing at all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use crate::cli_support::Cityform;

fn repository_file(relative: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)).unwrap()
}

/// Every file under `directory`, relative to it, sorted.
fn files_under(directory: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(directory).unwrap();
                files.push(relative.display().to_string());
            }
        }
    }
    files.sort();
    files
}

#[test]
fn init_writes_a_project_that_validates_and_plans() {
    let workspace = Cityform::new();
    let run = workspace.then().args(["init", "city"]).run();
    run.success();
    assert_run_snapshot!(run);
    assert_eq!(
        files_under(&workspace.join("city")),
        [".gitignore", "manifests/example.yaml"]
    );

    let run = workspace
        .then()
        .args(["validate", "-f", "city/manifests"])
        .run();
    run.success();
    assert_eq!(run.stdout, "The manifests are valid: 1 job group.\n");
    // The example is in the form `fmt` writes.
    workspace
        .then()
        .args(["fmt", "--check", "-f", "city/manifests"])
        .run()
        .success();
    let run = workspace
        .then()
        .args(["plan", "-f", "city/manifests", "--detailed-exitcode"])
        .run();
    run.expect_code(2);
    assert!(
        run.stdout
            .contains("cn-shanghai/cityvisual-Instance/example will be created"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_gitignore_keeps_the_state_and_ignores_its_lock_temporary_and_backup_files() {
    let workspace = Cityform::new();
    workspace.then().args(["init"]).run().success();
    let git = |arguments: &[&str]| {
        Command::new("git")
            .args(arguments)
            .current_dir(workspace.path())
            .env("HOME", workspace.path())
            .output()
            .unwrap()
    };
    assert!(git(&["init", "--quiet"]).status.success());
    for (file, ignored) in [
        (".cityform/state.json", false),
        (".cityform/state.json.journal", false),
        (".cityform/state.json.history", false),
        (".cityform/state.json.lock", true),
        (".cityform/state.json.tmp", true),
        (".cityform/state.json.journal.tmp", true),
        (".cityform/state.json.backup", true),
        ("manifests/example.yaml", false),
    ] {
        // `check-ignore` exits 0 for an ignored path, 1 for one that is not.
        let output = git(&["check-ignore", "--quiet", "--no-index", file]);
        assert_eq!(output.status.code(), Some(i32::from(!ignored)), "{file}");
    }
}

#[test]
fn ci_writes_the_documented_recipe_as_it_is() {
    let workspace = Cityform::new();
    let run = workspace
        .then()
        .args(["init", "github", "--ci", "github"])
        .run();
    run.success();
    assert_run_snapshot!(run);
    assert_eq!(
        std::fs::read_to_string(workspace.join("github/.github/workflows/cityform.yml")).unwrap(),
        repository_file("docs/ci/github-actions.yml")
    );
    let gitignore = std::fs::read_to_string(workspace.join("github/.gitignore")).unwrap();
    assert!(!gitignore.contains(".cache/"), "{gitignore}");

    workspace
        .then()
        .args(["init", "gitlab", "--ci", "gitlab"])
        .run()
        .success();
    assert_eq!(
        files_under(&workspace.join("gitlab")),
        [".gitignore", ".gitlab-ci.yml", "manifests/example.yaml"]
    );
    assert_eq!(
        std::fs::read_to_string(workspace.join("gitlab/.gitlab-ci.yml")).unwrap(),
        repository_file("docs/ci/gitlab-ci.yml")
    );
    // Where the recipe's jobs keep cityform, as the recipe asks.
    let gitignore = std::fs::read_to_string(workspace.join("gitlab/.gitignore")).unwrap();
    assert!(
        gitignore.lines().any(|line| line == ".cache/"),
        "{gitignore}"
    );
}

#[test]
fn a_file_in_the_way_is_named_and_nothing_is_written() {
    let workspace = Cityform::new()
        .file("city/.gitignore", "mine\n")
        .file("city/.gitlab-ci.yml", "mine too\n");
    let run = workspace
        .then()
        .args(["init", "city", "--ci", "gitlab"])
        .run();
    run.failure();
    assert_run_snapshot!(run);
    assert_eq!(
        files_under(&workspace.join("city")),
        [".gitignore", ".gitlab-ci.yml"]
    );
    assert_eq!(
        std::fs::read_to_string(workspace.join("city/.gitignore")).unwrap(),
        "mine\n"
    );

    // A manifests directory is in the way too: the example would join its set.
    let workspace = Cityform::new().manifests();
    let run = workspace.then().arg("init").run();
    run.failure();
    assert!(
        run.stderr.starts_with(
            "error: cannot initialise `.`: `./manifests` exists already, and init overwrites nothing; nothing was created"
        ),
        "{}",
        run.stderr
    );
    assert!(!workspace.join(".gitignore").exists());
    assert!(!workspace.join("manifests/example.yaml").exists());
}
