//! Provenance collected from real git repositories: commits, dirtiness limited to manifest
//! files, the precedence of `--commit` and the CI variables, CI job links, remotes with
//! credentials, and directories outside any repository. Each test builds its own repository
//! in a temporary directory with the `git` on `PATH`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cityform::manifest::{Input, SourceLocation};
use cityform::provenance::{Actor, CommitSource, Forge, RequireCleanError, RunContext};
use tempfile::TempDir;

const MANIFEST: &str = "apiVersion: cityform/v1\nkind: JobGroup\n";

/// A repository in a temporary directory: manifests in `deploy/manifests/`, a `README.md`
/// beside them.
struct Repository {
    directory: TempDir,
}

impl Repository {
    fn new() -> Self {
        let repository = Repository {
            directory: tempfile::tempdir().unwrap(),
        };
        repository.git(&["init", "--quiet", "--initial-branch=main"]);
        repository.git(&["config", "user.name", "Alice Example"]);
        repository.git(&["config", "user.email", "alice@example.com"]);
        repository.git(&["config", "commit.gpgsign", "false"]);
        repository
    }

    /// A repository with one commit of a manifest, a non-manifest file and a `.gitignore`.
    fn committed() -> Self {
        let repository = Self::new();
        repository.write("deploy/manifests/traffic.yaml", MANIFEST);
        repository.write("deploy/manifests/notes.txt", "notes\n");
        repository.write("README.md", "# city\n");
        repository.write(".gitignore", "*.local.yaml\n");
        repository.commit("first");
        repository
    }

    fn root(&self) -> &Path {
        self.directory.path()
    }

    fn manifests(&self) -> PathBuf {
        self.root().join("deploy/manifests")
    }

    fn git(&self, arguments: &[&str]) -> String {
        let output = Command::new("git")
            .arg("-C")
            .arg(self.root())
            .args(arguments)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "git {arguments:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.root().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn commit(&self, message: &str) -> String {
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn collect(&self, environment: &BTreeMap<String, String>) -> RunContext {
        RunContext::collect(&self.manifests(), None, environment)
    }
}

fn environment(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn none() -> BTreeMap<String, String> {
    environment(&[("USER", "alice")])
}

#[test]
fn each_commit_is_collected_with_its_full_id() {
    let repository = Repository::committed();
    let first = repository.git(&["rev-parse", "HEAD"]);
    let context = repository.collect(&none());
    assert_eq!(context.commit(), Some(first.as_str()));
    assert_eq!(context.commit_source(), Some(CommitSource::Git));
    assert_eq!(context.dirty(), Some(false));
    assert_eq!(context.require_clean(), Ok(()));

    repository.write(
        "deploy/manifests/traffic.yaml",
        &format!("{MANIFEST}# scaled\n"),
    );
    let second = repository.commit("second");
    assert_ne!(first, second);
    assert_eq!(second.len(), 40);
    let context = repository.collect(&none());
    assert_eq!(context.commit(), Some(second.as_str()));
    assert_eq!(context.dirty(), Some(false));
}

#[test]
fn a_changed_manifest_makes_the_tree_dirty() {
    let repository = Repository::committed();
    repository.write(
        "deploy/manifests/traffic.yaml",
        &format!("{MANIFEST}# edited\n"),
    );
    let context = repository.collect(&none());
    assert_eq!(context.dirty(), Some(true));
    let named = repository.manifests().join("traffic.yaml");
    assert_eq!(context.changed_manifest_files(), vec![named.clone()]);
    let Err(RequireCleanError::Dirty(dirty)) = context.require_clean() else {
        panic!("a dirty manifest must refuse --require-clean");
    };
    assert_eq!(dirty.files, vec![named.clone()]);
    let message = dirty.to_string();
    assert!(
        message.contains(&format!("`{}`", named.display())),
        "{message}"
    );
    assert!(message.contains("commit or stash"), "{message}");
}

#[test]
fn staged_new_deleted_and_ignored_manifests_count() {
    let repository = Repository::committed();
    repository.write("deploy/manifests/parks/north.yml", MANIFEST);
    repository.write("deploy/manifests/staged.yaml", MANIFEST);
    repository.git(&["add", "deploy/manifests/staged.yaml"]);
    repository.write("deploy/manifests/secret.local.yaml", MANIFEST);
    std::fs::remove_file(repository.manifests().join("traffic.yaml")).unwrap();
    let context = repository.collect(&none());
    assert_eq!(context.dirty(), Some(true));
    let manifests = repository.manifests();
    assert_eq!(
        context.changed_manifest_files(),
        vec![
            manifests.join("parks/north.yml"),
            manifests.join("secret.local.yaml"),
            manifests.join("staged.yaml"),
            manifests.join("traffic.yaml"),
        ]
    );
}

#[test]
fn changes_to_other_files_do_not_count() {
    let repository = Repository::committed();
    repository.write("README.md", "# city, edited\n");
    repository.write("deploy/manifests/notes.txt", "more notes\n");
    repository.write("deploy/manifests/.drafts/next.yaml", MANIFEST);
    repository.write("deploy/other/elsewhere.yaml", MANIFEST);
    repository.write("deploy/manifests-old/traffic.yaml", MANIFEST);
    let context = repository.collect(&none());
    assert_eq!(context.dirty(), Some(false));
    assert!(context.changed_manifest_files().is_empty());
    assert_eq!(context.require_clean(), Ok(()));
}

#[test]
fn a_manifest_file_input_counts_alone() {
    let repository = Repository::committed();
    repository.write("deploy/manifests/notes.txt", "more notes\n");
    let notes = repository.manifests().join("notes.txt");
    let traffic = repository.manifests().join("traffic.yaml");
    let context = RunContext::collect(&traffic, None, &none());
    assert_eq!(context.dirty(), Some(false), "only the named file counts");
    let context = RunContext::collect(&notes, None, &none());
    assert_eq!(
        context.dirty(),
        Some(true),
        "a named file counts whatever its name"
    );
    assert_eq!(context.changed_manifest_files(), vec![notes]);
}

#[test]
fn manifest_locations_become_relative_to_the_repository() {
    let repository = Repository::committed();
    let context = repository.collect(&none());
    let source = SourceLocation {
        file: repository
            .manifests()
            .join("traffic.yaml")
            .to_string_lossy()
            .into_owned(),
        line: 3,
        column: 1,
    };
    let provenance = context.for_group(Some(&source), Some("REQ-1"));
    assert_eq!(
        provenance.source,
        Some(SourceLocation {
            file: "deploy/manifests/traffic.yaml".to_owned(),
            line: 3,
            column: 1
        })
    );
    assert_eq!(provenance.commit.as_deref(), context.commit());
    assert_eq!(provenance.request_id.as_deref(), Some("REQ-1"));
}

#[test]
fn ci_commits_come_before_git_and_the_flag_before_both() {
    let repository = Repository::committed();
    let head = repository.git(&["rev-parse", "HEAD"]);
    let github = "2222222222222222222222222222222222222222";
    let gitlab = "3333333333333333333333333333333333333333";

    let context = repository.collect(&environment(&[
        ("GITHUB_SHA", github),
        ("CI_COMMIT_SHA", gitlab),
    ]));
    assert_eq!(context.commit(), Some(github));
    assert_eq!(context.commit_source(), Some(CommitSource::GithubSha));

    let context = repository.collect(&environment(&[("CI_COMMIT_SHA", gitlab)]));
    assert_eq!(context.commit(), Some(gitlab));
    assert_eq!(context.commit_source(), Some(CommitSource::GitlabCommitSha));

    let flagged = RunContext::collect(
        &repository.manifests(),
        Some("4444444"),
        &environment(&[("GITHUB_SHA", github), ("CI_COMMIT_SHA", gitlab)]),
    );
    assert_eq!(
        flagged.commit(),
        Some("4444444"),
        "kept as given when git does not know it"
    );
    assert_eq!(flagged.commit_source(), Some(CommitSource::Flag));

    let expanded = RunContext::collect(&repository.manifests(), Some(&head[..9]), &none());
    assert_eq!(
        expanded.commit(),
        Some(head.as_str()),
        "expanded to the full id"
    );
    assert_eq!(expanded.commit_source(), Some(CommitSource::Flag));
}

#[test]
fn ci_jobs_are_the_actor_and_name_the_repository() {
    let repository = Repository::committed();
    let context = repository.collect(&environment(&[
        ("USER", "runner"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "acme/city"),
        ("GITHUB_RUN_ID", "8812"),
    ]));
    assert_eq!(
        context.actor(),
        &Actor::Ci {
            url: "https://github.com/acme/city/actions/runs/8812".to_owned(),
            system: Forge::Github,
        }
    );
    assert_eq!(
        context.repository_url(),
        Some("https://github.com/acme/city")
    );
    let provenance = context.for_group(None, None);
    assert!(
        provenance.short().ends_with(" by ci/run 8812"),
        "{}",
        provenance.short()
    );

    let context = repository.collect(&environment(&[
        (
            "CI_JOB_URL",
            "https://gitlab.example.com/acme/city/-/jobs/4711",
        ),
        ("CI_PROJECT_URL", "https://gitlab.example.com/acme/city"),
    ]));
    assert_eq!(
        context.actor(),
        &Actor::Ci {
            url: "https://gitlab.example.com/acme/city/-/jobs/4711".to_owned(),
            system: Forge::Gitlab,
        }
    );
    assert_eq!(context.forge(), Some(Forge::Gitlab));
    assert_eq!(
        context.repository_url(),
        Some("https://gitlab.example.com/acme/city")
    );
}

#[test]
fn a_remote_with_credentials_never_leaks() {
    let repository = Repository::committed();
    repository.git(&[
        "remote",
        "add",
        "origin",
        "https://x-access-token:ghs_s3cr3tt0ken@github.com/acme/city.git",
    ]);
    let context = repository.collect(&none());
    assert_eq!(
        context.repository_url(),
        Some("https://github.com/acme/city")
    );
    assert_eq!(context.forge(), Some(Forge::Github));
    let provenance = context.for_group(None, Some("REQ-1"));
    let everything = format!(
        "{context:?}\n{provenance:?}\n{}\n{}",
        serde_json::to_string(&provenance).unwrap(),
        provenance.commit_url().unwrap(),
    );
    assert!(!everything.contains("s3cr3t"), "{everything}");
    assert!(!everything.contains("x-access-token"), "{everything}");
}

#[test]
fn an_scp_like_remote_becomes_a_web_page() {
    let repository = Repository::committed();
    repository.git(&[
        "remote",
        "add",
        "origin",
        "git@gitlab.com:acme/platform/city.git",
    ]);
    let context = repository.collect(&none());
    assert_eq!(
        context.repository_url(),
        Some("https://gitlab.com/acme/platform/city")
    );
    assert_eq!(context.forge(), Some(Forge::Gitlab));
}

#[test]
fn outside_a_repository_git_fields_are_unknown() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(directory.path().join("traffic.yaml"), MANIFEST).unwrap();
    let context = RunContext::collect(directory.path(), None, &none());
    assert_eq!(context.commit(), None);
    assert_eq!(context.commit_source(), None);
    assert_eq!(context.dirty(), None);
    assert_eq!(context.repository_url(), None);
    assert!(context.changed_manifest_files().is_empty());
    assert!(matches!(
        context.require_clean(),
        Err(RequireCleanError::Unknown(_))
    ));
    let provenance = context.for_group(None, None);
    assert_eq!(
        provenance.short(),
        "unknown commit by alice@".to_owned() + host(&provenance)
    );
}

fn host(provenance: &cityform::provenance::Provenance) -> &str {
    match &provenance.actor {
        Actor::User { host, .. } => host,
        Actor::Ci { .. } => panic!("not a CI job"),
    }
}

#[test]
fn a_missing_manifest_directory_is_no_error() {
    let directory = tempfile::tempdir().unwrap();
    let context = RunContext::collect(&directory.path().join("nowhere"), None, &none());
    assert_eq!(context.commit(), None);
    assert_eq!(context.dirty(), None);
}

#[test]
fn a_repository_without_commits_has_no_commit_yet() {
    let repository = Repository::new();
    repository.write("deploy/manifests/traffic.yaml", MANIFEST);
    let context = repository.collect(&none());
    assert_eq!(context.commit(), None);
    assert_eq!(context.dirty(), Some(true), "the manifest is not committed");
}

#[test]
fn standard_input_cannot_be_clean() {
    let repository = Repository::committed();
    let context = RunContext::collect_inputs(
        &[Input::Path(repository.manifests()), Input::Stdin],
        None,
        &none(),
    );
    assert!(context.commit().is_some());
    assert_eq!(context.dirty(), None);
    let error = context.require_clean().unwrap_err();
    assert!(error.to_string().contains("standard input"), "{error}");
}

#[test]
fn inputs_in_another_place_leave_dirtiness_unknown() {
    let repository = Repository::committed();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("other.yaml"), MANIFEST).unwrap();
    let context = RunContext::collect_inputs(
        &[
            Input::Path(repository.manifests()),
            Input::Path(elsewhere.path().join("other.yaml")),
        ],
        None,
        &none(),
    );
    assert_eq!(context.dirty(), None);
    let error = context.require_clean().unwrap_err().to_string();
    assert!(
        error.contains("is not inside the git working tree"),
        "{error}"
    );
}
