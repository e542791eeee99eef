//! A run's provenance, collected once at the start of a command: the commit of the
//! manifests, whether they have uncommitted changes, who runs cityform and where the
//! repository lives on the web. Each recorded action then takes a [`Provenance`] from it
//! with [`RunContext::for_group`].
//!
//! [`RunContext::collect`] is the I/O edge (it runs `git` and reads the host name); the
//! rules that combine git, `--commit` and the CI variables are a pure function underneath,
//! tested on its own.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

use super::clean::{CleanlinessUnknown, DirtyTree, RequireCleanError};
use super::environment::{self, CommitSource};
use super::git::Git;
use super::record::{Actor, Forge, Provenance};
use super::web::repository_web_url;
use crate::manifest::{Input, SourceLocation};

/// What is known about a run's origin, collected once per run.
///
/// It serializes (without credentials, like everything here), so that a saved plan can
/// carry the context of the run that made it to the run that applies it, which then
/// records its own actor with [`RunContext::with_actor`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunContext {
    commit: Option<String>,
    commit_source: Option<CommitSource>,
    dirty: Option<bool>,
    changed_manifest_files: Vec<PathBuf>,
    unknown: Option<CleanlinessUnknown>,
    actor: Actor,
    repository_url: Option<String>,
    forge: Option<Forge>,
    scopes: Vec<Scope>,
}

/// One manifest input inside the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scope {
    /// The path as the user named it, which is how manifest locations name its files.
    named: PathBuf,
    /// Whether it is a directory (all `*.yaml` and `*.yml` below it) or one file.
    directory: bool,
    /// Where it is, relative to the root of the working tree (empty for the root itself).
    in_repository: PathBuf,
}

/// What git said about the repository the manifests are in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RepositoryFacts {
    /// `HEAD`'s commit id; `None` before the first commit.
    head: Option<String>,
    /// The URL of `origin`, as configured.
    origin: Option<String>,
    /// The manifest inputs inside the working tree.
    scopes: Vec<Scope>,
    /// What `git status` reported for them, relative to the root; `None` when it failed.
    changed: Option<Vec<PathBuf>>,
    /// Why some manifest input could not be checked, if one could not.
    unknown: Option<CleanlinessUnknown>,
}

/// A `--commit` value that is not a commit id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a commit id: expected 7 to 64 hex digits, such as `git rev-parse HEAD` prints"
)]
pub struct InvalidCommit(pub String);

/// Checks a `--commit` value: 7 to 64 hex digits, returned in lower case.
pub fn parse_commit(text: &str) -> Result<String, InvalidCommit> {
    let trimmed = text.trim();
    if (7..=64).contains(&trimmed.len()) && trimmed.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        Ok(trimmed.to_ascii_lowercase())
    } else {
        Err(InvalidCommit(text.to_owned()))
    }
}

impl RunContext {
    /// Collects the context of a run whose manifests are `manifest_path` (a directory of
    /// `*.yaml` / `*.yml` files, or one file). See [`RunContext::collect_inputs`].
    pub fn collect(
        manifest_path: &Path,
        commit_override: Option<&str>,
        environment: &BTreeMap<String, String>,
    ) -> RunContext {
        Self::collect_inputs(
            &[Input::Path(manifest_path.to_path_buf())],
            commit_override,
            environment,
        )
    }

    /// Collects the context of a run that reads the manifests `inputs` name.
    ///
    /// git runs in the directory of the first path input (the current directory when there
    /// is none): `rev-parse HEAD`, `status` limited to the manifest inputs, and `remote
    /// get-url origin`. Only manifest files count for dirtiness: below a directory input,
    /// the `*.yaml` and `*.yml` files cityform reads (modified, staged, deleted, untracked
    /// or ignored); a file input, whatever its name. No git, or no repository, leaves the
    /// git fields `None`; it is not an error.
    ///
    /// The commit is `commit_override` (`--commit`, expanded to the full id when git knows
    /// it), else `GITHUB_SHA`, else `CI_COMMIT_SHA`, else `HEAD`. Of `environment`, only
    /// [`environment::VARIABLES`] are read.
    pub fn collect_inputs(
        inputs: &[Input],
        commit_override: Option<&str>,
        environment: &BTreeMap<String, String>,
    ) -> RunContext {
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        Self::collect_with(&Git::default(), inputs, commit_override, environment, &host)
            .with_account_fallback(environment, account_name)
    }

    /// The same context with `account()` (asked only when needed) as the person running
    /// cityform when neither a CI job nor `USER`/`LOGNAME` names one: a container, a
    /// service or `env -i` still records who ran it, not `unknown`.
    fn with_account_fallback(
        mut self,
        environment: &BTreeMap<String, String>,
        account: impl FnOnce() -> Option<String>,
    ) -> Self {
        if environment::user_name(environment).is_none()
            && let Actor::User { user, .. } = &mut self.actor
            && let Some(account) = account()
        {
            *user = name_or_unknown(&account);
        }
        self
    }

    /// [`RunContext::collect_inputs`] with a given `git` and host name.
    pub(crate) fn collect_with(
        git: &Git,
        inputs: &[Input],
        commit_override: Option<&str>,
        environment: &BTreeMap<String, String>,
        host: &str,
    ) -> RunContext {
        let directory = git_directory(inputs);
        let repository = git.toplevel(&directory).map(|toplevel| {
            inspect_repository(git, &directory, &toplevel, inputs, commit_override)
        });
        let commit_override = commit_override.map(|commit| {
            repository
                .as_ref()
                .and_then(|(_, expanded)| expanded.clone())
                .unwrap_or_else(|| commit.trim().to_ascii_lowercase())
        });
        match repository {
            Some((facts, _)) => assemble(Some(facts), commit_override, environment, host),
            None => {
                let mut context = assemble(None, commit_override, environment, host);
                context.unknown = Some(CleanlinessUnknown::NoRepository { directory });
                context
            }
        }
    }

    /// A context from `--commit` and the environment alone, as outside any git repository:
    /// for runs whose manifests do not come from files, and for tests.
    pub fn without_git(
        commit_override: Option<&str>,
        environment: &BTreeMap<String, String>,
        host: &str,
    ) -> RunContext {
        let mut context = assemble(
            None,
            commit_override.map(|commit| commit.trim().to_ascii_lowercase()),
            environment,
            host,
        );
        context.unknown = Some(CleanlinessUnknown::NoRepository {
            directory: PathBuf::from("."),
        });
        context
    }

    /// The same context with another actor: the one who applies a plan that another run
    /// made and saved.
    pub fn with_actor(self, actor: Actor) -> RunContext {
        RunContext { actor, ..self }
    }

    /// The provenance of an action on the group declared at `source` (`None` for actions no
    /// manifest asks for, such as deleting an orphan), carried out by the call that returned
    /// `request_id`, recorded now.
    pub fn for_group(
        &self,
        source: Option<&SourceLocation>,
        request_id: Option<&str>,
    ) -> Provenance {
        let now = OffsetDateTime::now_utc();
        // Milliseconds are precise enough to order what people read, and keep records short.
        let at = now
            .replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
            .unwrap_or(now);
        self.for_group_at(source, request_id, at)
    }

    /// [`RunContext::for_group`] recorded at `at`.
    pub fn for_group_at(
        &self,
        source: Option<&SourceLocation>,
        request_id: Option<&str>,
        at: OffsetDateTime,
    ) -> Provenance {
        Provenance {
            commit: self.commit.clone(),
            dirty: self.dirty,
            source: source.map(|source| self.repository_source(source)),
            actor: self.actor.clone(),
            at: at.to_offset(UtcOffset::UTC),
            request_id: request_id.map(str::to_owned),
            repository_url: self.repository_url.clone(),
            forge: self.forge,
        }
    }

    /// The manifest files with uncommitted changes, as the manifest inputs name them, in
    /// path order; empty when there are none or git could not tell.
    pub fn changed_manifest_files(&self) -> Vec<PathBuf> {
        self.changed_manifest_files.clone()
    }

    /// `Ok` when the manifests are known to be committed (`--require-clean`); otherwise
    /// the error to stop the run with, naming the changed files or why it cannot be told.
    pub fn require_clean(&self) -> Result<(), RequireCleanError> {
        if !self.changed_manifest_files.is_empty() {
            return Err(RequireCleanError::Dirty(DirtyTree {
                files: self.changed_manifest_files.clone(),
            }));
        }
        match &self.unknown {
            Some(unknown) => Err(RequireCleanError::Unknown(unknown.clone())),
            None => Ok(()),
        }
    }

    /// The commit of the manifests, if known.
    pub fn commit(&self) -> Option<&str> {
        self.commit.as_deref()
    }

    /// Where [`RunContext::commit`] came from.
    pub fn commit_source(&self) -> Option<CommitSource> {
        self.commit_source
    }

    /// Whether manifest files have uncommitted changes; `None` when git could not tell.
    pub fn dirty(&self) -> Option<bool> {
        self.dirty
    }

    /// Who runs cityform.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The repository's web page, if known.
    pub fn repository_url(&self) -> Option<&str> {
        self.repository_url.as_deref()
    }

    /// The forge of [`RunContext::repository_url`].
    pub fn forge(&self) -> Option<Forge> {
        self.forge
    }

    /// `source` with its file relative to the repository root, when it is one of the
    /// manifest inputs' files; as it is otherwise.
    fn repository_source(&self, source: &SourceLocation) -> SourceLocation {
        let file = Path::new(&source.file);
        let in_repository = self.scopes.iter().find_map(|scope| {
            if scope.directory {
                let below = file.strip_prefix(&scope.named).ok()?;
                Some(scope.in_repository.join(below))
            } else {
                (file == scope.named).then(|| scope.in_repository.clone())
            }
        });
        match in_repository {
            Some(path) if !path.as_os_str().is_empty() => SourceLocation {
                file: slash_path(&path),
                ..source.clone()
            },
            _ => source.clone(),
        }
    }
}

/// The directory git runs in: the first path input's (itself when it is a directory, its
/// parent otherwise), or the current directory.
fn git_directory(inputs: &[Input]) -> PathBuf {
    let first = inputs.iter().find_map(Input::path);
    match first {
        Some(path) if path.is_dir() => path.to_path_buf(),
        Some(path) => match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        },
        None => PathBuf::from("."),
    }
}

/// Asks git about the repository at `toplevel`. Also returns `commit_override` expanded to
/// a full id, when git knows the commit.
fn inspect_repository(
    git: &Git,
    directory: &Path,
    toplevel: &Path,
    inputs: &[Input],
    commit_override: Option<&str>,
) -> (RepositoryFacts, Option<String>) {
    let expanded = commit_override.and_then(|commit| git.commit_id(directory, commit.trim()));
    let canonical_toplevel = toplevel
        .canonicalize()
        .unwrap_or_else(|_| toplevel.to_path_buf());
    let mut facts = RepositoryFacts {
        head: git.commit_id(directory, "HEAD"),
        origin: git.origin(directory),
        ..RepositoryFacts::default()
    };
    for input in inputs {
        let Some(path) = input.path() else {
            facts
                .unknown
                .get_or_insert(CleanlinessUnknown::StandardInput);
            continue;
        };
        let inside = path.canonicalize().ok().and_then(|canonical| {
            let relative = canonical.strip_prefix(&canonical_toplevel).ok()?;
            Some((relative.to_path_buf(), canonical.is_dir()))
        });
        match inside {
            Some((in_repository, directory)) => facts.scopes.push(Scope {
                named: path.to_path_buf(),
                directory,
                in_repository,
            }),
            None => {
                facts
                    .unknown
                    .get_or_insert_with(|| CleanlinessUnknown::OutsideRepository {
                        path: path.to_path_buf(),
                        toplevel: toplevel.to_path_buf(),
                    });
            }
        }
    }
    facts.changed = if facts.scopes.is_empty() {
        Some(Vec::new())
    } else {
        let pathspecs: Vec<OsString> = facts.scopes.iter().map(pathspec).collect();
        git.changed_paths(&canonical_toplevel, &pathspecs)
    };
    if facts.changed.is_none() {
        facts.unknown = Some(CleanlinessUnknown::StatusFailed {
            toplevel: toplevel.to_path_buf(),
        });
    }
    (facts, expanded)
}

/// A pathspec that matches `scope` literally (no glob characters), from the root.
fn pathspec(scope: &Scope) -> OsString {
    if scope.in_repository.as_os_str().is_empty() {
        return OsString::from(".");
    }
    let mut pathspec = OsString::from(":(literal)");
    pathspec.push(scope.in_repository.as_os_str());
    pathspec
}

/// Combines what git said with `--commit` and the CI variables: the pure rules of a run's
/// context.
fn assemble(
    repository: Option<RepositoryFacts>,
    commit_override: Option<String>,
    environment: &BTreeMap<String, String>,
    host: &str,
) -> RunContext {
    let repository = repository.unwrap_or_default();
    let (commit, commit_source) = match commit_override {
        Some(commit) => (Some(commit), Some(CommitSource::Flag)),
        None => match environment::ci_commit(environment) {
            Some((commit, source)) => (Some(commit), Some(source)),
            None => match repository.head {
                Some(head) => (Some(head), Some(CommitSource::Git)),
                None => (None, None),
            },
        },
    };
    let changed_manifest_files = repository
        .changed
        .as_deref()
        .map(|changed| manifest_files(&repository.scopes, changed))
        .unwrap_or_default();
    let dirty = if !changed_manifest_files.is_empty() {
        Some(true)
    } else if repository.unknown.is_some() || repository.changed.is_none() {
        None
    } else {
        Some(false)
    };
    let actor = environment::ci_actor(environment).unwrap_or_else(|| Actor::User {
        user: name_or_unknown(environment::user_name(environment).unwrap_or_default()),
        host: name_or_unknown(host),
    });
    let (repository_url, forge) = environment::ci_repository(environment)
        .or_else(|| repository.origin.as_deref().and_then(repository_web_url))
        .map_or((None, None), |(url, forge)| (Some(url), Some(forge)));
    RunContext {
        commit,
        commit_source,
        dirty,
        changed_manifest_files,
        unknown: repository.unknown,
        actor,
        repository_url,
        forge,
        scopes: repository.scopes,
    }
}

/// The name of the account the process runs as, from the password database.
fn account_name() -> Option<String> {
    #[cfg(unix)]
    {
        nix::unistd::User::from_uid(nix::unistd::Uid::current())
            .ok()
            .flatten()
            .map(|user| user.name)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// A user or host name as recorded: without control characters (which could reach a
/// terminal from a record), `unknown` when nothing is left.
fn name_or_unknown(name: &str) -> String {
    let name: String = name
        .chars()
        .filter(|character| !character.is_control())
        .collect();
    let name = name.trim();
    if name.is_empty() {
        "unknown".to_owned()
    } else {
        name.to_owned()
    }
}

/// The changed paths (relative to the root) that are manifest files of `scopes`, named as
/// the scopes name them.
fn manifest_files(scopes: &[Scope], changed: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = BTreeSet::new();
    for path in changed {
        for scope in scopes {
            if scope.directory {
                if let Ok(below) = path.strip_prefix(&scope.in_repository)
                    && is_manifest_below_directory(below)
                {
                    files.insert(scope.named.join(below));
                }
            } else if *path == scope.in_repository {
                files.insert(scope.named.clone());
            }
        }
    }
    files.into_iter().collect()
}

/// Whether a path below a manifest directory is a file cityform reads there: a `*.yaml` or
/// `*.yml` file, with no name on the way starting with `.` (the rule of `docs/manifest.md`).
fn is_manifest_below_directory(below: &Path) -> bool {
    let named_yaml = matches!(
        below.extension().and_then(|extension| extension.to_str()),
        Some("yaml" | "yml")
    );
    let hidden = below
        .components()
        .any(|component| component.as_os_str().as_encoded_bytes().starts_with(b"."));
    named_yaml && !hidden
}

/// A relative path with `/` between its parts, as records store it on every system.
fn slash_path(path: &Path) -> String {
    path.components()
        .map(|component| component.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::test_support::environment;

    const HEAD: &str = "1111111111111111111111111111111111111111";
    const GITHUB: &str = "2222222222222222222222222222222222222222";
    const GITLAB: &str = "3333333333333333333333333333333333333333";

    fn directory_scope(named: &str, in_repository: &str) -> Scope {
        Scope {
            named: PathBuf::from(named),
            directory: true,
            in_repository: PathBuf::from(in_repository),
        }
    }

    fn facts(changed: &[&str]) -> RepositoryFacts {
        RepositoryFacts {
            head: Some(HEAD.to_owned()),
            origin: Some("git@github.com:acme/city.git".to_owned()),
            scopes: vec![directory_scope("manifests", "deploy/manifests")],
            changed: Some(changed.iter().map(PathBuf::from).collect()),
            unknown: None,
        }
    }

    fn paths(paths: &[&str]) -> Vec<PathBuf> {
        paths.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn a_clean_repository_gives_head_and_its_web_page() {
        let context = assemble(
            Some(facts(&[])),
            None,
            &environment(&[("USER", "alice")]),
            "laptop",
        );
        assert_eq!(context.commit(), Some(HEAD));
        assert_eq!(context.commit_source(), Some(CommitSource::Git));
        assert_eq!(context.dirty(), Some(false));
        assert_eq!(
            context.actor(),
            &Actor::User {
                user: "alice".to_owned(),
                host: "laptop".to_owned()
            }
        );
        assert_eq!(
            context.repository_url(),
            Some("https://github.com/acme/city")
        );
        assert_eq!(context.forge(), Some(Forge::Github));
        assert_eq!(context.require_clean(), Ok(()));
    }

    #[test]
    fn the_flag_beats_ci_which_beats_git() {
        let all = environment(&[("GITHUB_SHA", GITHUB), ("CI_COMMIT_SHA", GITLAB)]);
        let flagged = assemble(Some(facts(&[])), Some("abcdef0".to_owned()), &all, "h");
        assert_eq!(flagged.commit(), Some("abcdef0"));
        assert_eq!(flagged.commit_source(), Some(CommitSource::Flag));
        let github = assemble(Some(facts(&[])), None, &all, "h");
        assert_eq!(github.commit(), Some(GITHUB));
        assert_eq!(github.commit_source(), Some(CommitSource::GithubSha));
        let gitlab = environment(&[("CI_COMMIT_SHA", GITLAB)]);
        let gitlab = assemble(Some(facts(&[])), None, &gitlab, "h");
        assert_eq!(gitlab.commit(), Some(GITLAB));
        assert_eq!(gitlab.commit_source(), Some(CommitSource::GitlabCommitSha));
        let outside = assemble(None, None, &environment(&[("CI_COMMIT_SHA", GITLAB)]), "h");
        assert_eq!(outside.commit(), Some(GITLAB), "CI needs no git");
    }

    #[test]
    fn only_manifest_files_make_the_tree_dirty() {
        let context = assemble(
            Some(facts(&[
                "README.md",
                "deploy/manifests/notes.txt",
                "deploy/manifests/.hidden.yaml",
                "deploy/manifests/.drafts/next.yaml",
                "deploy/other/elsewhere.yaml",
                "deploy/manifestsextra/x.yaml",
            ])),
            None,
            &environment(&[]),
            "h",
        );
        assert_eq!(context.dirty(), Some(false));
        assert!(context.changed_manifest_files().is_empty());

        let context = assemble(
            Some(facts(&[
                "README.md",
                "deploy/manifests/traffic.yaml",
                "deploy/manifests/parks/north.yml",
            ])),
            None,
            &environment(&[]),
            "h",
        );
        assert_eq!(context.dirty(), Some(true));
        assert_eq!(
            context.changed_manifest_files(),
            paths(&["manifests/parks/north.yml", "manifests/traffic.yaml"])
        );
    }

    #[test]
    fn a_file_input_counts_whatever_its_name() {
        let mut facts = facts(&["deploy/one.conf", "deploy/two.yaml"]);
        facts.scopes = vec![Scope {
            named: PathBuf::from("../deploy/one.conf"),
            directory: false,
            in_repository: PathBuf::from("deploy/one.conf"),
        }];
        let context = assemble(Some(facts), None, &environment(&[]), "h");
        assert_eq!(
            context.changed_manifest_files(),
            paths(&["../deploy/one.conf"])
        );
    }

    #[test]
    fn the_repository_root_as_manifest_directory() {
        let mut facts = facts(&["a.yaml", "sub/b.yml", "target/x.json"]);
        facts.scopes = vec![directory_scope(".", "")];
        let context = assemble(Some(facts), None, &environment(&[]), "h");
        assert_eq!(
            context.changed_manifest_files(),
            paths(&["./a.yaml", "./sub/b.yml"])
        );
    }

    #[test]
    fn what_cannot_be_checked_leaves_dirtiness_unknown() {
        let mut partly = facts(&[]);
        partly.unknown = Some(CleanlinessUnknown::StandardInput);
        let context = assemble(Some(partly), None, &environment(&[]), "h");
        assert_eq!(context.dirty(), None);
        assert_eq!(
            context.require_clean(),
            Err(RequireCleanError::Unknown(
                CleanlinessUnknown::StandardInput
            ))
        );

        let mut failed = facts(&[]);
        failed.changed = None;
        assert_eq!(
            assemble(Some(failed), None, &environment(&[]), "h").dirty(),
            None
        );

        let mut changed_and_partly = facts(&["deploy/manifests/a.yaml"]);
        changed_and_partly.unknown = Some(CleanlinessUnknown::StandardInput);
        let context = assemble(Some(changed_and_partly), None, &environment(&[]), "h");
        assert_eq!(context.dirty(), Some(true), "a known change is a change");
        assert!(matches!(
            context.require_clean(),
            Err(RequireCleanError::Dirty(_))
        ));
    }

    #[test]
    fn without_git_nothing_from_git_is_claimed() {
        let context = RunContext::without_git(None, &environment(&[("LOGNAME", "bob")]), "");
        assert_eq!(context.commit(), None);
        assert_eq!(context.dirty(), None);
        assert_eq!(context.repository_url(), None);
        assert_eq!(
            context.actor(),
            &Actor::User {
                user: "bob".to_owned(),
                host: "unknown".to_owned()
            }
        );
        let error = context.require_clean().unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`--require-clean` cannot tell whether the manifests are committed: `.` is not in a git working tree"),
            "{error}"
        );
    }

    #[test]
    fn ci_names_the_actor_and_the_repository_over_git() {
        let github = environment(&[
            ("USER", "runner"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/city-mirror"),
            ("GITHUB_RUN_ID", "8812"),
        ]);
        let context = assemble(Some(facts(&[])), None, &github, "runner-host");
        assert_eq!(
            context.actor(),
            &Actor::Ci {
                url: "https://github.com/acme/city-mirror/actions/runs/8812".to_owned(),
                system: Forge::Github
            }
        );
        assert_eq!(
            context.repository_url(),
            Some("https://github.com/acme/city-mirror")
        );
    }

    #[test]
    fn an_origin_with_credentials_leaves_no_trace() {
        let mut facts = facts(&[]);
        facts.origin = Some("https://oauth2:glpat-s3cr3t@gitlab.com/acme/city.git".to_owned());
        let context = assemble(Some(facts), None, &environment(&[]), "h");
        assert_eq!(
            context.repository_url(),
            Some("https://gitlab.com/acme/city")
        );
        assert_eq!(context.forge(), Some(Forge::Gitlab));
        let provenance = context.for_group_at(None, None, datetime!(2026-11-27 08:00 UTC));
        let everything = format!(
            "{context:?}{provenance:?}{}",
            serde_json::to_string(&provenance).unwrap()
        );
        assert!(!everything.contains("s3cr3t"), "{everything}");
    }

    #[test]
    fn provenance_takes_the_context_and_the_action() {
        let context = assemble(
            Some(facts(&["deploy/manifests/traffic.yaml"])),
            None,
            &environment(&[("USER", "alice")]),
            "laptop",
        );
        let source = SourceLocation {
            file: "manifests/traffic.yaml".to_owned(),
            line: 12,
            column: 1,
        };
        let at = datetime!(2026-11-27 09:00 +1);
        let provenance = context.for_group_at(Some(&source), Some("REQ-1"), at);
        assert_eq!(provenance.commit.as_deref(), Some(HEAD));
        assert_eq!(provenance.dirty, Some(true));
        assert_eq!(
            provenance.source,
            Some(SourceLocation {
                file: "deploy/manifests/traffic.yaml".to_owned(),
                line: 12,
                column: 1,
            }),
            "relative to the repository root"
        );
        assert_eq!(provenance.at, datetime!(2026-11-27 08:00 UTC));
        assert_eq!(provenance.at.offset(), UtcOffset::UTC);
        assert_eq!(provenance.request_id.as_deref(), Some("REQ-1"));
        assert_eq!(provenance.short(), "1111111 (dirty) by alice@laptop");

        let elsewhere = SourceLocation {
            file: "-".to_owned(),
            line: 3,
            column: 1,
        };
        let provenance = context.for_group_at(Some(&elsewhere), None, at);
        assert_eq!(provenance.source, Some(elsewhere), "kept as it is");
        assert_eq!(context.for_group_at(None, None, at).source, None);
    }

    #[test]
    fn a_context_travels_in_a_saved_plan_and_takes_the_applier() {
        let context = assemble(
            Some(facts(&["deploy/manifests/traffic.yaml"])),
            None,
            &environment(&[("USER", "alice")]),
            "laptop",
        );
        let text = serde_json::to_string(&context).unwrap();
        let read: RunContext = serde_json::from_str(&text).unwrap();
        assert_eq!(read, context);
        let ci = Actor::Ci {
            url: "https://github.com/acme/city/actions/runs/8812".to_owned(),
            system: Forge::Github,
        };
        let applied = read.with_actor(ci.clone());
        assert_eq!(applied.actor(), &ci);
        assert_eq!(applied.commit(), context.commit());
        assert_eq!(
            applied.changed_manifest_files(),
            context.changed_manifest_files()
        );
        let source = SourceLocation {
            file: "manifests/traffic.yaml".to_owned(),
            line: 2,
            column: 1,
        };
        let at = datetime!(2026-11-27 08:00 UTC);
        assert_eq!(
            applied
                .for_group_at(Some(&source), None, at)
                .source
                .unwrap()
                .file,
            "deploy/manifests/traffic.yaml"
        );
    }

    #[test]
    fn for_group_records_the_time_in_utc_milliseconds() {
        let context = RunContext::without_git(None, &environment(&[]), "h");
        let before = OffsetDateTime::now_utc();
        let provenance = context.for_group(None, None);
        assert_eq!(provenance.at.offset(), UtcOffset::UTC);
        assert_eq!(provenance.at.nanosecond() % 1_000_000, 0);
        assert!((provenance.at - before).whole_seconds().abs() < 60);
    }

    #[test]
    fn names_lose_control_characters() {
        let context = assemble(
            None,
            None,
            &environment(&[("USER", "eve\u{1b}[2J\n")]),
            " \u{7}laptop\t",
        );
        assert_eq!(
            context.actor(),
            &Actor::User {
                user: "eve[2J".to_owned(),
                host: "laptop".to_owned()
            }
        );
        let blank = assemble(None, None, &environment(&[("USER", "\u{1b}")]), "\n");
        assert_eq!(blank.actor().short(), "unknown@unknown");
    }

    #[test]
    fn nothing_but_the_named_variables_is_read() {
        let named = environment(&[
            ("USER", "alice"),
            ("GITHUB_SHA", GITHUB),
            ("CI_JOB_URL", "https://gitlab.com/a/b/-/jobs/1"),
        ]);
        let mut noisy = named.clone();
        for (name, value) in [
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s3cr3t"),
            ("GITHUB_TOKEN", "s3cr3t"),
            ("CI_JOB_TOKEN", "s3cr3t"),
            ("HOME", "/home/s3cr3t"),
            ("HOSTNAME", "s3cr3t"),
        ] {
            noisy.insert(name.to_owned(), value.to_owned());
        }
        assert_eq!(
            assemble(Some(facts(&[])), None, &named, "h"),
            assemble(Some(facts(&[])), None, &noisy, "h")
        );
    }

    #[test]
    fn commit_flags_are_hex() {
        assert_eq!(parse_commit(" 3F2A9C1 "), Ok("3f2a9c1".to_owned()));
        assert_eq!(parse_commit(HEAD), Ok(HEAD.to_owned()));
        for bad in ["", "3f2a9c", "main", "--help", &"a".repeat(65), "3f2a9c1~1"] {
            let error = parse_commit(bad).unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("`{bad}` is not a commit id")),
                "{error}"
            );
        }
    }

    #[test]
    fn git_runs_where_the_first_manifest_path_is() {
        let temporary = tempfile::tempdir().unwrap();
        let file = temporary.path().join("one.yaml");
        std::fs::write(&file, "").unwrap();
        assert_eq!(
            git_directory(&[Input::Stdin, Input::Path(file.clone())]),
            temporary.path()
        );
        assert_eq!(
            git_directory(&[Input::Path(temporary.path().to_path_buf())]),
            temporary.path()
        );
        assert_eq!(
            git_directory(&[Input::Path(PathBuf::from("one.yaml"))]),
            PathBuf::from(".")
        );
        assert_eq!(git_directory(&[Input::Stdin]), PathBuf::from("."));
    }

    #[test]
    fn the_account_names_the_person_only_when_the_environment_names_nobody() {
        let nobody = environment(&[]);
        let account = || Some("svc-deploy".to_owned());
        let user_of = |context: RunContext| match context.actor {
            Actor::User { user, .. } => user,
            Actor::Ci { url, .. } => url,
        };
        let fallback = RunContext::without_git(None, &nobody, "h");
        assert_eq!(
            user_of(fallback.with_account_fallback(&nobody, account)),
            "svc-deploy"
        );
        let named = environment(&[("USER", "alice")]);
        let context = RunContext::without_git(None, &named, "h");
        assert_eq!(
            user_of(context.with_account_fallback(&named, || panic!("not asked"))),
            "alice"
        );
        let ci = environment(&[
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/city"),
            ("GITHUB_RUN_ID", "8812"),
        ]);
        let context = RunContext::without_git(None, &ci, "h");
        assert!(matches!(
            context.with_account_fallback(&ci, account).actor,
            Actor::Ci { .. }
        ));
        let none = RunContext::without_git(None, &nobody, "h");
        assert_eq!(
            user_of(none.with_account_fallback(&nobody, || None)),
            "unknown"
        );
    }

    #[test]
    fn without_a_git_binary_the_run_goes_on() {
        let temporary = tempfile::tempdir().unwrap();
        let context = RunContext::collect_with(
            &Git::new("cityform-test-no-such-git"),
            &[Input::Path(temporary.path().to_path_buf())],
            None,
            &environment(&[("USER", "alice")]),
            "laptop",
        );
        assert_eq!(context.commit(), None);
        assert_eq!(context.dirty(), None);
        assert!(matches!(
            context.require_clean(),
            Err(RequireCleanError::Unknown(
                CleanlinessUnknown::NoRepository { .. }
            ))
        ));
    }
}
