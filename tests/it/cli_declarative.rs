//! `Moved`, `Import` and `Removed` documents, end to end: the real binary against a real
//! `cityform emulator` process. The plan shows each as its own action with its document's
//! location (text, JSON, Markdown); apply renames in place keeping the id, adopts groups by
//! id and by name without creating them, forgets a group that keeps running, and records
//! each in the history; the documents left in place then plan nothing. Declarations that
//! cannot be carried out are refused with the locations of the documents involved.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_support;
use crate::emulator_process;

use std::collections::BTreeMap;

use cityform::model::{Address, JobGroupSpec};
use cityform::state::{State, StateEntry, read_state_file};
use cli_support::{Cityform, STATE_PATH};
use emulator_process::{ACCESS_KEY_ID, ACCESS_KEY_SECRET, EmulatorProcess};

/// The live groups, ids 1 to 4 in this order.
const SEED: &str = "\
jobGroups:
  - {instanceId: cityvisual-Instance, name: night-market, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 2}
  - {instanceId: cityvisual-Instance, name: legacy-cams, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 5, streamPerJob: 2}
  - {instanceId: cityvisual-Instance, name: gate-cams, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 2}
  - {instanceId: cityvisual-Instance, name: retired-group, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 2}
";

/// One `JobGroup` document, planning `planed` jobs.
fn group(name: &str, planed: u32) -> String {
    format!(
        "---\napiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: {name}\nspec:\n  regionId: cn-shanghai\n  instanceId: cityvisual-Instance\n  algoLibId: \"3\"\n  resourceProfileId: \"6\"\n  planedJobCount: {planed}\n  streamPerJob: 2\n"
    )
}

fn moved(from: &str, to: &str) -> String {
    format!(
        "---\napiVersion: cityform/v1\nkind: Moved\nspec:\n  from: cn-shanghai/cityvisual-Instance/{from}\n  to: cn-shanghai/cityvisual-Instance/{to}\n"
    )
}

fn import(name: &str, id: Option<&str>) -> String {
    let id = id.map_or_else(String::new, |id| format!("  id: \"{id}\"\n"));
    format!(
        "---\napiVersion: cityform/v1\nkind: Import\nspec:\n  address: cn-shanghai/cityvisual-Instance/{name}\n{id}"
    )
}

fn removed(name: &str) -> String {
    format!(
        "---\napiVersion: cityform/v1\nkind: Removed\nspec:\n  address: cn-shanghai/cityvisual-Instance/{name}\n"
    )
}

fn spec() -> JobGroupSpec {
    JobGroupSpec {
        algo_lib_id: "3".into(),
        resource_profile_id: "6".into(),
        planed_job_count: 2,
        stream_per_job: 2,
        job_count: None,
        params: Default::default(),
    }
}

/// A state recording `groups` (name, id) with the seeded spec.
fn state(groups: &[(&str, &str)]) -> State {
    let mut state = State::new("5a0c7e1b-9f42-4d6f-8c4d-0e5b7a4f3e9a");
    for (name, id) in groups {
        state.job_groups.insert(
            Address::example(*name),
            StateEntry::new(*id, spec(), "R", "2026-11-20T08:00:00Z"),
        );
    }
    state
}

/// A workspace with `groups.yaml` and `changes.yaml` and the state, pointed at `emulator`.
fn workspace(emulator: &EmulatorProcess, groups: &str, changes: &str, state: &State) -> Cityform {
    Cityform::new()
        .file("manifests/groups.yaml", groups)
        .file("manifests/changes.yaml", changes)
        .state(state)
        .env("CITYFORM_ENDPOINT", &emulator.endpoint)
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET)
        .env("CITYFORM_RETRY_BASE_MS", "1")
}

fn seeded() -> (Cityform, EmulatorProcess) {
    let seed = Cityform::new().file("seed.yaml", SEED);
    let emulator = EmulatorProcess::start(&["--seed", seed.join("seed.yaml").to_str().unwrap()]);
    (seed, emulator)
}

/// The live groups by id: (name, planedJobCount).
fn live(emulator: &EmulatorProcess) -> BTreeMap<String, (String, u64)> {
    emulator
        .job_groups()
        .iter()
        .map(|group| {
            (
                group["jobGroupId"].as_str().unwrap().to_owned(),
                (
                    group["name"].as_str().unwrap().to_owned(),
                    group["planedJobCount"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

/// The state's ids by name.
fn recorded(workspace: &Cityform) -> BTreeMap<String, String> {
    read_state_file(&workspace.join(STATE_PATH))
        .unwrap()
        .unwrap()
        .job_groups
        .into_iter()
        .map(|(address, entry)| (address.name, entry.job_group_id))
        .collect()
}

/// The manifests of the main scenario: `night-market` renamed `night-bazaar` (planning 3
/// jobs now), `legacy-cams` imported by id (live with 5 jobs, declared with 2),
/// `gate-cams` imported by name, `retired-group` removed.
fn scenario(emulator: &EmulatorProcess) -> Cityform {
    let groups = group("night-bazaar", 3) + &group("legacy-cams", 2) + &group("gate-cams", 2);
    let changes = moved("night-market", "night-bazaar")
        + &import("legacy-cams", Some("2"))
        + &import("gate-cams", None)
        + &removed("retired-group");
    workspace(
        emulator,
        &groups,
        &changes,
        &state(&[("night-market", "1"), ("retired-group", "4")]),
    )
}

#[test]
fn the_plan_shows_each_declaration_at_its_document() {
    let (_seed, emulator) = seeded();
    let workspace = scenario(&emulator);
    let text = workspace.then().args(["plan", "--no-color"]).run();
    text.success();
    assert_run_snapshot!("plan_text", text);
    let json = workspace.then().args(["plan", "--format", "json"]).run();
    json.success();
    assert_run_snapshot!("plan_json", json);
    let markdown = workspace
        .then()
        .args(["plan", "--format", "markdown"])
        .run();
    markdown.success();
    assert_run_snapshot!("plan_markdown", markdown);
    // Planning changed nothing.
    assert_eq!(
        recorded(&workspace),
        BTreeMap::from([
            ("night-market".to_owned(), "1".to_owned()),
            ("retired-group".to_owned(), "4".to_owned()),
        ])
    );
}

#[test]
fn apply_renames_imports_and_forgets_and_the_documents_then_plan_nothing() {
    let (_seed, emulator) = seeded();
    let workspace = scenario(&emulator);
    let before = live(&emulator);
    let applied = workspace
        .then()
        .args(["apply", "--auto-approve", "--no-color"])
        .run();
    applied.success();
    assert!(
        applied
            .stdout
            .contains("Apply complete: 0 created, 2 updated, 1 moved, 2 imported, 1 forgotten"),
        "{}",
        applied.report()
    );

    // The rename kept the id and carried the spec change; the imports created nothing; the
    // removed group still runs, untouched.
    let after = live(&emulator);
    assert_eq!(after.len(), before.len(), "{after:?}");
    assert_eq!(after["1"], ("night-bazaar".to_owned(), 3));
    assert_eq!(after["2"], ("legacy-cams".to_owned(), 2));
    assert_eq!(after["3"], before["3"]);
    assert_eq!(after["4"], before["4"]);
    assert_eq!(
        recorded(&workspace),
        BTreeMap::from([
            ("gate-cams".to_owned(), "3".to_owned()),
            ("legacy-cams".to_owned(), "2".to_owned()),
            ("night-bazaar".to_owned(), "1".to_owned()),
        ])
    );

    // Recorded in the history, each naming its document.
    let history = workspace.then().args(["history", "--format", "json"]).run();
    history.success();
    let history: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    let mut declared: Vec<(String, String, u64)> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| matches!(entry["action"].as_str(), Some("move" | "import" | "forget")))
        .map(|entry| {
            (
                entry["action"].as_str().unwrap().to_owned(),
                entry["address"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned(),
                entry["provenance"]["source"]["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    declared.sort();
    assert_eq!(
        declared,
        [
            ("forget".to_owned(), "retired-group".to_owned(), 19),
            ("import".to_owned(), "gate-cams".to_owned(), 14),
            ("import".to_owned(), "legacy-cams".to_owned(), 8),
            ("move".to_owned(), "night-bazaar".to_owned(), 2),
            ("move".to_owned(), "night-market".to_owned(), 2),
        ],
        "{history:#}"
    );

    // The documents stay; the plan is clean, refreshed or not.
    for extra in [&[][..], &["--refresh=false"][..]] {
        let again = workspace
            .then()
            .args(["plan", "--detailed-exitcode", "--no-color"])
            .args(extra)
            .run();
        again.expect_code(0);
        assert!(
            again.stdout.starts_with("No changes."),
            "{}",
            again.report()
        );
    }
    let again = workspace
        .then()
        .args(["apply", "--auto-approve", "--no-color"])
        .run();
    again.success();
    assert_eq!(live(&emulator), after);
}

#[test]
fn a_move_chain_lands_at_its_end_and_a_move_already_made_is_a_no_op() {
    let (_seed, emulator) = seeded();
    let changes = moved("night-market", "night-bazaar") + &moved("night-bazaar", "night-fair");
    let workspace = workspace(
        &emulator,
        &group("night-fair", 2),
        &changes,
        &state(&[("night-market", "1")]),
    );
    workspace
        .then()
        .args(["apply", "--auto-approve"])
        .run()
        .success();
    assert_eq!(live(&emulator)["1"], ("night-fair".to_owned(), 2));
    assert_eq!(
        recorded(&workspace),
        BTreeMap::from([("night-fair".to_owned(), "1".to_owned())])
    );
    workspace
        .then()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .expect_code(0);
}

#[test]
fn imports_that_find_no_group_are_refused_at_their_documents() {
    let (_seed, emulator) = seeded();
    // The service keeps names unique within an instance, so a name found twice is left to
    // the planner's own tests.
    let groups = group("legacy-cams", 2) + &group("nowhere", 2);
    let changes = import("legacy-cams", Some("99")) + &import("nowhere", None);
    let workspace = workspace(&emulator, &groups, &changes, &state(&[]));
    let refused = workspace.then().args(["plan"]).run();
    refused.expect_code(1);
    assert_run_snapshot!(refused);
    // Nothing was written: there is still no group in the state.
    assert!(recorded(&workspace).is_empty());
}

#[test]
fn a_move_onto_a_recorded_address_is_refused_at_its_document() {
    let (_seed, emulator) = seeded();
    let workspace = workspace(
        &emulator,
        &group("legacy-cams", 2),
        &moved("night-market", "legacy-cams"),
        &state(&[("night-market", "1"), ("legacy-cams", "2")]),
    );
    let refused = workspace.then().args(["apply", "--auto-approve"]).run();
    refused.expect_code(1);
    assert_run_snapshot!(refused);
    assert_eq!(live(&emulator)["1"].0, "night-market");
}

#[test]
fn declarations_that_contradict_each_other_are_refused_at_both_documents() {
    let (_seed, emulator) = seeded();
    let groups = group("retired-group", 2) + &group("harbour", 2);
    let changes = moved("night-market", "night-bazaar")
        + &moved("night-bazaar", "night-market")
        + &moved("day-market", "harbour")
        + &moved("port", "harbour")
        + "---\napiVersion: cityform/v1\nkind: Moved\nspec:\n  from: cn-shanghai/cityvisual-Instance/station\n  to: cn-beijing/cityvisual-Instance/station\n"
        + &removed("retired-group");
    let workspace = workspace(&emulator, &groups, &changes, &state(&[]));
    let refused = workspace.then().args(["plan"]).run();
    refused.expect_code(1);
    assert_run_snapshot!(refused);
}
