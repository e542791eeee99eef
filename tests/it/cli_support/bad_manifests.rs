//! The broken-manifest corpus (`tests/bad-input/manifests/`) as cases to run the binary on.
//!
//! The layout is the one `tests/manifest_corpus.rs` documents and checks: a case is a file
//! `NN-short-name.yaml` or a directory `NN-short-name/`, and `NN-short-name.expected` holds
//! the diagnostics a command run in the corpus directory prints. Its `corpus` module is not
//! reused through `#[path]` because that file's own tests (two of them load 10 MB each)
//! would then run again in every binary that includes it.

use std::fs;
use std::path::{Path, PathBuf};

/// One broken manifest set.
#[derive(Debug, Clone)]
pub struct Case {
    /// `NN-short-name`.
    pub name: String,
    /// Its file or directory name inside the corpus: what to pass to `-f`.
    pub input: PathBuf,
    /// The diagnostics, exactly as the binary prints them from the corpus directory.
    pub expected: String,
}

/// `tests/bad-input/manifests/`.
pub fn directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-input/manifests")
}

/// Every case, in name order: one per `.expected` file.
pub fn cases() -> Vec<Case> {
    let directory = directory();
    let mut cases: Vec<Case> = fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "expected")
        })
        .map(|expected| {
            let name = expected.file_stem().unwrap().to_string_lossy().into_owned();
            let file = PathBuf::from(format!("{name}.yaml"));
            let input = if directory.join(&file).is_file() {
                file
            } else {
                PathBuf::from(&name)
            };
            assert!(
                directory.join(&input).exists(),
                "`{}` has no case beside it",
                expected.display()
            );
            Case {
                expected: fs::read_to_string(&expected).unwrap(),
                name,
                input,
            }
        })
        .collect();
    cases.sort_by(|left, right| left.name.cmp(&right.name));
    cases
}

/// How many inputs (files and directories, apart from `.expected` files) the corpus holds,
/// to check that every input has its case.
pub fn input_count() -> usize {
    fs::read_dir(directory())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_none_or(|extension| extension != "expected")
        })
        .count()
}
