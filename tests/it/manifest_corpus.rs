//! The broken-manifest corpus: every case under `tests/bad-input/manifests/` must be refused
//! with exactly the diagnostics in the `.expected` file beside it.
//!
//! A case is a file `NN-short-name.yaml` or a directory `NN-short-name/` (for problems
//! across files); its expectation is `NN-short-name.expected`, the rendered diagnostics with
//! paths relative to the corpus directory (what `cityform` prints when run there).
//! `UPDATE_EXPECTED=1 cargo test --test it manifest_corpus::` rewrites the expectations; review
//! the diff before committing it.
//!
//! Other tests can walk the same corpus with `#[path = "manifest_corpus.rs"] mod
//! manifest_corpus;` and [`corpus::cases`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use cityform::manifest::{Input, load};

/// The corpus, for this test and for any other that runs the same cases.
#[allow(dead_code)]
pub mod corpus {
    use std::fs;
    use std::path::{Path, PathBuf};

    use cityform::manifest::Diagnostics;

    /// Fewer cases than this means cases went missing.
    pub const MINIMUM_CASES: usize = 25;

    /// One broken manifest case.
    #[derive(Debug, Clone)]
    pub struct Case {
        /// `NN-short-name`.
        pub name: String,
        /// The case's file or directory: what to load.
        pub input: PathBuf,
        /// Its `.expected` file.
        pub expected: PathBuf,
    }

    impl Case {
        /// The input relative to the corpus directory, as a command run there names it.
        pub fn relative_input(&self) -> PathBuf {
            self.input
                .strip_prefix(directory())
                .map(Path::to_path_buf)
                .unwrap_or_else(|_| self.input.clone())
        }

        /// The expected rendering, `None` when the file does not exist yet.
        pub fn expected_text(&self) -> Option<String> {
            fs::read_to_string(&self.expected).ok()
        }
    }

    /// `tests/bad-input/manifests/`.
    pub fn directory() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-input/manifests")
    }

    /// Every case, in name order.
    pub fn cases() -> Vec<Case> {
        let directory = directory();
        let mut cases: Vec<Case> = fs::read_dir(&directory)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter_map(|path| {
                let file_name = path.file_name()?.to_str()?.to_owned();
                let name = if path.is_dir() {
                    file_name
                } else {
                    file_name.strip_suffix(".yaml")?.to_owned()
                };
                Some(Case {
                    expected: directory.join(format!("{name}.expected")),
                    name,
                    input: path,
                })
            })
            .collect();
        cases.sort_by(|left, right| left.name.cmp(&right.name));
        cases
    }

    /// Diagnostics as a command run in the corpus directory prints them, with a final
    /// newline: absolute corpus paths become relative ones.
    pub fn render(diagnostics: &Diagnostics) -> String {
        let prefix = format!("{}/", directory().display());
        format!("{diagnostics}\n").replace(&prefix, "")
    }
}

/// A readable line diff of what was expected and what came.
fn diff(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .header("expected", "actual")
        .to_string()
}

#[test]
fn every_case_is_refused_with_the_expected_diagnostics() {
    let update = std::env::var_os("UPDATE_EXPECTED").is_some_and(|value| value == "1");
    let mut failures = Vec::new();
    for case in corpus::cases() {
        let actual = match load(&[Input::Path(case.input.clone())]) {
            Ok(desired) => {
                failures.push(format!(
                    "{}: loaded without problems ({} job groups)",
                    case.name,
                    desired.groups.len()
                ));
                continue;
            }
            Err(diagnostics) => corpus::render(&diagnostics),
        };
        match case.expected_text() {
            Some(expected) if expected == actual => {}
            _ if update => fs::write(&case.expected, &actual).unwrap(),
            Some(expected) => {
                failures.push(format!("{}:\n{}", case.name, diff(&expected, &actual)));
            }
            None => failures.push(format!(
                "{}: no `{}`; this run produced:\n{actual}",
                case.name,
                case.expected.display()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ (UPDATE_EXPECTED=1 rewrites the expectations):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_corpus_keeps_at_least_the_minimum_number_of_cases() {
    let cases = corpus::cases();
    assert!(
        cases.len() >= corpus::MINIMUM_CASES,
        "only {} cases in {}",
        cases.len(),
        corpus::directory().display()
    );
}

#[test]
fn every_expectation_belongs_to_a_case() {
    let cases = corpus::cases();
    for entry in fs::read_dir(corpus::directory()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .extension()
            .is_some_and(|extension| extension == "expected")
        {
            assert!(
                cases.iter().any(|case| case.expected == path),
                "{} has no case beside it",
                path.display()
            );
        }
    }
}

/// A header and about 10 MB of valid job groups, with `tail` as the last document.
fn large_manifest(tail: &str) -> String {
    let mut text = String::with_capacity(10_500_000);
    let mut index = 0;
    while text.len() < 10_000_000 {
        text.push_str(&format!(
            "---\napiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: group-{index}\nspec:\n  regionId: cn-shanghai\n  instanceId: cityvisual-Instance\n  algoLibId: \"3\"\n  resourceProfileId: \"6\"\n  planedJobCount: 10\n  streamPerJob: 5\n  params:\n    ES_ENABLE: true\n"
        ));
        index += 1;
    }
    text.push_str(tail);
    text
}

#[test]
fn a_10_mb_file_with_an_error_near_its_end_is_reported_exactly() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("large.yaml");
    let text = large_manifest(
        "---\napiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: last\nspec:\n  regionId: cn-shanghai\n  instanceId: cityvisual-Instance\n  algoLibId: \"3\"\n  resourceProfileId: \"6\"\n  planedJobCount: -1\n  streamPerJob: 5\n",
    );
    let error_line = text.lines().count() - 1;
    fs::write(&path, &text).unwrap();
    let diagnostics = load(&[Input::Path(path.clone())]).unwrap_err();
    let rendered = diagnostics
        .to_string()
        .replace(&directory.path().display().to_string(), "<DIR>");
    assert_eq!(
        rendered,
        format!(
            "<DIR>/large.yaml:{error_line}:19: error: `spec.planedJobCount` must be at least 1, not `-1`\n1 problem found in the manifests"
        )
    );
}

#[test]
fn a_valid_10_mb_file_loads() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("large.yaml");
    let text = large_manifest("");
    let documents = text.matches("---\n").count();
    fs::write(&path, &text).unwrap();
    let desired = load(&[Input::Path(path)]).unwrap();
    assert_eq!(desired.groups.len(), documents);
    let last = desired
        .groups
        .values()
        .max_by_key(|group| group.source.line)
        .unwrap();
    assert_eq!(last.source.line, text.lines().count() - 12);
    assert_eq!(last.spec.params.get("ES_ENABLE").unwrap(), "True");
}

/// The corpus must stay small: it is committed. Only the generated cases are large.
#[test]
fn committed_cases_are_small() {
    for case in corpus::cases() {
        let size = if case.input.is_dir() {
            fs::read_dir(&case.input)
                .unwrap()
                .map(|entry| entry.unwrap().metadata().unwrap().len())
                .sum()
        } else {
            fs::metadata(&case.input).unwrap().len()
        };
        assert!(
            size < 64 * 1024,
            "{} is {size} bytes",
            Path::new(&case.name).display()
        );
    }
}

/// Runs `load` on `inputs` in a thread: `None` when it has not returned within a minute
/// (reading a FIFO blocks until a writer comes, which never happens here).
#[cfg(unix)]
fn load_within_seconds(inputs: Vec<Input>) -> Option<Result<cityform::manifest::Desired, String>> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(load(&inputs).map_err(|diagnostics| diagnostics.to_string()));
    });
    receiver
        // A hang is forever; a minute tells it apart from a busy machine running the
        // corpus's 10 MB cases beside this one.
        .recv_timeout(std::time::Duration::from_secs(60))
        .ok()
}

#[cfg(unix)]
fn make_fifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A FIFO named `*.yaml` in the manifests directory hung `plan` forever:
/// anything but a regular file is refused, in a directory and when named, without opening it.
#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_as_a_manifest_is_refused_without_waiting() {
    let directory = tempfile::tempdir().unwrap();
    fs::write(
        directory.path().join("a.yaml"),
        "apiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: a\nspec:\n  regionId: cn-shanghai\n  instanceId: cityvisual-Instance\n  algoLibId: \"3\"\n  resourceProfileId: \"6\"\n  planedJobCount: 1\n  streamPerJob: 5\n",
    )
    .unwrap();
    let fifo = directory.path().join("b.yaml");
    make_fifo(&fifo);

    let in_directory = load_within_seconds(vec![Input::Path(directory.path().to_path_buf())])
        .expect("loading a directory holding a FIFO hung");
    let message = in_directory.unwrap_err();
    assert!(
        message.contains("b.yaml` is a FIFO, not a regular file"),
        "{message}"
    );

    let named = load_within_seconds(vec![Input::Path(fifo)]).expect("loading a FIFO hung");
    let message = named.unwrap_err();
    assert!(
        message.contains("b.yaml` is a FIFO, not a regular file"),
        "{message}"
    );

    let device =
        load_within_seconds(vec![Input::Path("/dev/zero".into())]).expect("loading /dev/zero hung");
    let message = device.unwrap_err();
    assert!(
        message.contains("`/dev/zero` is a character device, not a regular file"),
        "{message}"
    );
}
