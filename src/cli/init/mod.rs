//! `cityform init [DIR] [--ci github|gitlab]`: the files a new project starts from, a
//! commented example manifest, a `.gitignore` for the state's lock, temporary and backup
//! files and, when asked, a CI recipe (the ones in `docs/ci/`, as they are).
//!
//! Nothing is ever overwritten: when any file it would create exists, `init` creates
//! nothing and names them. [`files`] decides what to write (pure); [`run`] checks and writes,
//! each file created only if it still does not exist, and removes what it created when a
//! later write fails.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::{Outcome, output};

/// The example manifest: one `Defaults` and one `JobGroup`, valid as they stand.
const EXAMPLE_MANIFEST: &str = include_str!("example.yaml");
/// The `.gitignore`: the state is committed, its lock, temporary and backup files are not.
const GITIGNORE: &str = include_str!("gitignore");
/// What the GitLab recipe adds to the `.gitignore`: where its jobs keep cityform.
const GITIGNORE_GITLAB: &str =
    "\n# Where the GitLab CI/CD jobs keep cityform (.gitlab-ci.yml).\n.cache/\n";
const GITHUB_RECIPE: &str = include_str!("../../../docs/ci/github-actions.yml");
const GITLAB_RECIPE: &str = include_str!("../../../docs/ci/gitlab-ci.yml");

/// Arguments of `cityform init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The project directory, created if it does not exist.
    #[arg(value_name = "DIR", default_value = ".")]
    directory: PathBuf,
    /// Also write the CI recipe for this system: `.github/workflows/cityform.yml` or
    /// `.gitlab-ci.yml` (`docs/ci.md`).
    #[arg(long, value_enum, value_name = "SYSTEM")]
    ci: Option<CiSystem>,
}

/// The CI systems a recipe exists for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CiSystem {
    /// GitHub Actions.
    Github,
    /// GitLab CI/CD.
    Gitlab,
}

/// One file `init` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// Relative to the project directory.
    pub path: PathBuf,
    /// Its content.
    pub contents: String,
    /// What it is, for the report.
    pub what: &'static str,
}

/// Why `init` created nothing (or removed what it had created).
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// Files it would create are there already.
    #[error(
        "cannot initialise `{}`: {} {} already, and init overwrites nothing; nothing was created: move {} aside, or choose another directory",
        directory.display(),
        quoted(paths),
        if paths.len() == 1 { "exists" } else { "exist" },
        if paths.len() == 1 { "it" } else { "them" }
    )]
    Exists {
        /// The project directory, as given.
        directory: PathBuf,
        /// The files in the way, as given (under `directory`).
        paths: Vec<PathBuf>,
    },
    /// The project directory could not be created, or is not a directory.
    #[error("cannot initialise `{}`: {source}; nothing was created", directory.display())]
    Directory {
        /// The project directory, as given.
        directory: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A file could not be written.
    #[error("cannot write `{}`: {source}; nothing was created", path.display())]
    Write {
        /// The file, as given (under the project directory).
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
}

fn quoted(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| format!("`{}`", path.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The files a project starts from, with `ci`'s recipe when one is asked for.
pub fn files(ci: Option<CiSystem>) -> Vec<NewFile> {
    let mut gitignore = GITIGNORE.to_owned();
    if ci == Some(CiSystem::Gitlab) {
        gitignore.push_str(GITIGNORE_GITLAB);
    }
    let mut files = vec![
        NewFile {
            path: PathBuf::from("manifests/example.yaml"),
            contents: EXAMPLE_MANIFEST.to_owned(),
            what: "a Defaults and a JobGroup document, commented",
        },
        NewFile {
            path: PathBuf::from(".gitignore"),
            contents: gitignore,
            what: "keeps the state's lock, temporary and backup files out of git",
        },
    ];
    if let Some(system) = ci {
        let (contents, what) = match system {
            CiSystem::Github => (
                GITHUB_RECIPE,
                "plan on pull requests, apply on merge, nightly drift check",
            ),
            CiSystem::Gitlab => (
                GITLAB_RECIPE,
                "plan on merge requests, apply on the default branch, drift check",
            ),
        };
        files.push(NewFile {
            path: PathBuf::from(system.recipe_path()),
            contents: contents.to_owned(),
            what,
        });
    }
    files
}

impl CiSystem {
    /// Where the system reads its recipe from, in the project.
    fn recipe_path(self) -> &'static str {
        match self {
            Self::Github => ".github/workflows/cityform.yml",
            Self::Gitlab => ".gitlab-ci.yml",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Github => "GitHub Actions",
            Self::Gitlab => "GitLab CI/CD",
        }
    }
}

/// The paths under `directory` that are in the way of `files`: the files themselves, and
/// `manifests/`, whose files would otherwise join the example in one set.
fn in_the_way(directory: &Path, files: &[NewFile]) -> Vec<PathBuf> {
    let mut candidates = vec![PathBuf::from("manifests")];
    candidates.extend(
        files
            .iter()
            .map(|file| file.path.clone())
            .filter(|path| !path.starts_with("manifests")),
    );
    candidates
        .into_iter()
        .map(|path| directory.join(path))
        // A dangling link is in the way too: writing through it would create its target.
        .filter(|path| fs::symlink_metadata(path).is_ok())
        .collect()
}

pub(super) fn run(args: &InitArgs) -> anyhow::Result<Outcome> {
    let directory = &args.directory;
    let files = files(args.ci);
    let existing = in_the_way(directory, &files);
    if !existing.is_empty() {
        return Err(InitError::Exists {
            directory: directory.clone(),
            paths: existing,
        }
        .into());
    }
    write_all(directory, &files)?;
    output::print(&report(directory, &files, args.ci))?;
    Ok(Outcome::Success)
}

/// Writes every file, each only if nothing is at its path; on a failure, removes what it
/// wrote (and the directories it made), so that nothing is left half done.
fn write_all(directory: &Path, files: &[NewFile]) -> Result<(), InitError> {
    let mut made = Vec::new();
    let result = (|| {
        create_directories(directory, &mut made).map_err(|source| InitError::Directory {
            directory: directory.to_path_buf(),
            source,
        })?;
        for file in files {
            let path = directory.join(&file.path);
            let write = |made: &mut Vec<Made>| -> io::Result<()> {
                if let Some(parent) = path.parent() {
                    create_directories(parent, made)?;
                }
                let mut created = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)?;
                made.push(Made::File(path.clone()));
                created.write_all(file.contents.as_bytes())?;
                created.sync_all()
            };
            write(&mut made).map_err(|source| InitError::Write {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    })();
    if result.is_err() {
        for made in made.iter().rev() {
            // Best effort: the error already says what failed.
            let _ = match made {
                Made::File(path) => fs::remove_file(path),
                Made::Directory(path) => fs::remove_dir(path),
            };
        }
    }
    result
}

/// What [`write_all`] created, to be removed if it fails.
enum Made {
    File(PathBuf),
    Directory(PathBuf),
}

/// Creates `directory` and its missing parents, noting each one it made.
fn create_directories(directory: &Path, made: &mut Vec<Made>) -> io::Result<()> {
    if directory.as_os_str().is_empty() || directory.is_dir() {
        return Ok(());
    }
    if let Some(parent) = directory.parent() {
        create_directories(parent, made)?;
    }
    match fs::create_dir(directory) {
        Ok(()) => {
            made.push(Made::Directory(directory.to_path_buf()));
            Ok(())
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists && directory.is_dir() => Ok(()),
        Err(error) => Err(error),
    }
}

/// What was created, and the commands to run next.
fn report(directory: &Path, files: &[NewFile], ci: Option<CiSystem>) -> String {
    let mut text = format!("Created in `{}`:\n", directory.display());
    let width = files
        .iter()
        .map(|file| file.path.display().to_string().len())
        .max()
        .unwrap_or(0);
    for file in files {
        let path = file.path.display().to_string();
        let _ = writeln!(text, "  {path:<width$}  {}", file.what);
    }
    text.push_str("\nNext:\n");
    if directory != Path::new(".") {
        let _ = writeln!(text, "  cd {}", directory.display());
    }
    text.push_str(
        "  cityform validate                         check the manifests\n\
         \x20 cityform plan                             see what apply would create\n\
         \x20 cityform apply --emulator --auto-approve  try it against a local emulator\n",
    );
    match ci {
        Some(system) => {
            let _ = write!(
                text,
                "\nBefore the first {} run, do the set-up the comment at the top of\n\
                 `{}` describes (RAM roles, OIDC provider, variables) and set\n\
                 CITYFORM_RELEASES and CITYFORM_VERSION in it.\n",
                system.name(),
                system.recipe_path()
            );
        }
        None => text.push_str(
            "\nCI recipes (plan on pull requests, apply on merge, drift checks) are what\n\
             `--ci github` and `--ci gitlab` write; docs/ci.md describes them.\n",
        ),
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::manifest::{self, Source};

    #[test]
    fn the_example_manifest_is_valid_and_declares_one_group() {
        let desired = manifest::load_sources(vec![Source {
            name: "manifests/example.yaml".into(),
            bytes: EXAMPLE_MANIFEST.as_bytes().to_vec(),
        }])
        .unwrap();
        assert_eq!(desired.groups.len(), 1);
        assert!(desired.warnings.is_empty(), "{:?}", desired.warnings);
    }

    #[test]
    fn the_gitignore_keeps_the_state_but_not_its_lock_temporary_and_backup_files() {
        let patterns: Vec<&str> = GITIGNORE
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .collect();
        assert_eq!(
            patterns,
            [".cityform/*.lock", ".cityform/*.tmp", ".cityform/*.backup"]
        );
        let gitlab = files(Some(CiSystem::Gitlab));
        assert!(gitlab[1].contents.ends_with("\n.cache/\n"));
        assert!(!files(None)[1].contents.contains(".cache/"));
    }

    #[test]
    fn a_recipe_is_written_only_when_asked_for() {
        let paths = |ci| {
            files(ci)
                .into_iter()
                .map(|file| file.path.display().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(paths(None), ["manifests/example.yaml", ".gitignore"]);
        assert_eq!(
            paths(Some(CiSystem::Github))[2],
            ".github/workflows/cityform.yml"
        );
        assert_eq!(paths(Some(CiSystem::Gitlab))[2], ".gitlab-ci.yml");
    }

    #[test]
    fn a_failed_write_removes_what_was_written() {
        let directory = tempfile::tempdir().unwrap();
        let project = directory.path().join("project");
        let mut files = files(None);
        // A path under a file cannot be created: the second write fails.
        files.push(NewFile {
            path: PathBuf::from(".gitignore/inside"),
            contents: String::new(),
            what: "",
        });
        let error = write_all(&project, &files).unwrap_err();
        assert!(matches!(error, InitError::Write { .. }), "{error}");
        assert!(!project.exists(), "{:?}", fs::read_dir(directory.path()));
    }
}
