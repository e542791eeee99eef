//! Whether a run may go on under `--require-clean`, and the errors that stop it: changed
//! manifest files, or no way to tell.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How many changed files a [`DirtyTree`] message names before it says how many more.
const LISTED_FILES: usize = 20;

/// Why cityform cannot tell whether the manifests have uncommitted changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case", deny_unknown_fields)]
pub enum CleanlinessUnknown {
    /// git found no working tree (or is not installed).
    #[error(
        "`{}` is not in a git working tree (or `git` is not installed)",
        directory.display()
    )]
    NoRepository {
        /// The directory git was asked about.
        directory: PathBuf,
    },
    /// Manifests read from standard input are in no repository.
    #[error("manifests read from standard input are in no git repository")]
    StandardInput,
    /// A manifest input is outside the working tree of the others, or does not exist.
    #[error("`{}` is not inside the git working tree `{}`", path.display(), toplevel.display())]
    OutsideRepository {
        /// The input as named.
        path: PathBuf,
        /// The root of the working tree.
        toplevel: PathBuf,
    },
    /// `git status` failed.
    #[error("`git status` failed in `{}`", toplevel.display())]
    StatusFailed {
        /// The root of the working tree.
        toplevel: PathBuf,
    },
}

/// The manifests have uncommitted changes and the run asked for a clean working tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", dirty_message(files))]
pub struct DirtyTree {
    /// The changed manifest files, as the manifest inputs name them, in path order.
    pub files: Vec<PathBuf>,
}

fn dirty_message(files: &[PathBuf]) -> String {
    let noun = if files.len() == 1 {
        "file has"
    } else {
        "files have"
    };
    let mut listed: Vec<String> = files
        .iter()
        .take(LISTED_FILES)
        .map(|file| format!("`{}`", file.display()))
        .collect();
    if files.len() > LISTED_FILES {
        listed.push(format!("and {} more", files.len() - LISTED_FILES));
    }
    format!(
        "{} manifest {noun} uncommitted changes, and `--require-clean` refuses to apply them: {}; \
         commit or stash the changes, then run again",
        files.len(),
        listed.join(", ")
    )
}

/// `--require-clean` cannot let the run go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequireCleanError {
    /// Manifest files have uncommitted changes.
    #[error(transparent)]
    Dirty(#[from] DirtyTree),
    /// Whether they have cannot be told.
    #[error(
        "`--require-clean` cannot tell whether the manifests are committed: {0}; \
         run from a git working tree, or without `--require-clean`"
    )]
    Unknown(CleanlinessUnknown),
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn paths(paths: &[&str]) -> Vec<PathBuf> {
        paths.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn the_dirty_tree_message_lists_the_files_and_says_what_to_do() {
        let one = DirtyTree {
            files: paths(&["manifests/a.yaml"]),
        };
        assert_eq!(
            one.to_string(),
            "1 manifest file has uncommitted changes, and `--require-clean` refuses to apply them: \
             `manifests/a.yaml`; commit or stash the changes, then run again"
        );
        let many = DirtyTree {
            files: (0..25)
                .map(|index| PathBuf::from(format!("m/{index:02}.yaml")))
                .collect(),
        };
        let message = many.to_string();
        assert!(message.starts_with("25 manifest files have"), "{message}");
        assert!(message.contains("`m/19.yaml`, and 5 more;"), "{message}");
        assert!(!message.contains("m/20.yaml"), "{message}");
    }
}
