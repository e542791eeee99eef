//! Broken local states (`tests/bad-input/state/`): each must give its expected message
//! from every backend operation, and leave every file exactly as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::bad_state_corpus as state_corpus;

use cityform::state::journal::{IntentId, JournalRecord, Settle};
use cityform::state::{Backend, LocalBackend, LockOptions, State, StateError};
use state_corpus::Case;

/// The message and hint as a person reads them.
fn render(error: &StateError) -> String {
    match error.hint() {
        Some(hint) => format!("{error}\nhint: {hint}"),
        None => error.to_string(),
    }
}

/// Runs every operation that reads the state on one case; returns what went wrong.
fn check(case: &Case, runtime: &tokio::runtime::Runtime) -> Vec<String> {
    let scratch = tempfile::tempdir().unwrap();
    let installed = case.install(scratch.path());
    let directory = scratch.path().display().to_string();
    if std::env::var_os("CITYFORM_BLESS").is_some() {
        let backend = LocalBackend::open(&installed.state_path, &LockOptions::new("test")).unwrap();
        let error = runtime.block_on(backend.load()).unwrap_err();
        let text = render(&error).replace(&directory, "[DIR]") + "\n";
        std::fs::write(case.directory.join(state_corpus::EXPECTED), text).unwrap();
        return Vec::new();
    }
    let expected = case.expected(&directory);
    let mut problems = Vec::new();
    let backend = match LocalBackend::open(&installed.state_path, &LockOptions::new("test")) {
        Ok(backend) => backend,
        Err(error) => return vec![format!("cannot even lock: {error}")],
    };
    let settle = [JournalRecord::Settle(Settle {
        id: IntentId("1b9f0e52-8c4a-4d7e-9f11-2a3b4c5d6e7f".into()),
    })];
    let outcomes = [
        ("load", runtime.block_on(backend.load()).map(drop)),
        ("compact", runtime.block_on(backend.compact()).map(drop)),
        (
            "create",
            runtime
                .block_on(backend.create(State::new("5d0c9a4e-1f2b-4c3d-9e8f-7a6b5c4d3e2f")))
                .map(drop),
        ),
        ("append", runtime.block_on(backend.append(&settle))),
    ];
    for (operation, outcome) in outcomes {
        match outcome {
            Ok(()) => problems.push(format!("{operation} succeeded")),
            Err(error) => {
                let rendered = render(&error);
                if rendered != expected {
                    problems.push(format!(
                        "{operation} said:\n{rendered}\nexpected:\n{expected}"
                    ));
                }
            }
        }
    }
    drop(backend);
    problems.extend(installed.changes());
    problems
}

#[test]
fn every_broken_state_is_refused_with_its_message_and_left_untouched() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let cases = Case::all();
    assert!(cases.len() >= 8, "only {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .flat_map(|case| {
            check(case, &runtime)
                .into_iter()
                .map(move |problem| format!("case `{}`: {problem}", case.name))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn the_harness_notices_a_changed_file() {
    let case = Case::all()
        .into_iter()
        .find(|case| case.name == "truncated-json")
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let installed = case.install(scratch.path());
    assert!(installed.changes().is_empty());
    std::fs::write(&installed.state_path, b"{}").unwrap();
    std::fs::write(scratch.path().join("state.json.backup"), b"{}").unwrap();
    std::fs::write(scratch.path().join("state.json.lock"), b"ignored").unwrap();
    assert_eq!(
        installed.changes(),
        [
            "`state.json` was changed",
            "`state.json.backup` was created"
        ]
    );
}
