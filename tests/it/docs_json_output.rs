//! The JSON Schemas of `docs/json-output.md`: `docs/schema/plan-v2.json` and
//! `docs/schema/apply-events-v1.json` accept what the binary really prints (plans with each
//! kind of action, refreshed or not, targeted, with unmanaged groups; apply runs that
//! create, update, start, protect, delete, recover, fail, throttle, dry-run and leave
//! orphans alone), every field and action the plan schema describes and every kind of event
//! is seen at least once, and `cityform schema plan` and `cityform schema apply-events`
//! print the committed files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_support;
use crate::emulator_process;
use crate::generated_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cityform::apply::{ActionFailure, ApplyEvent, ChangeKind, FailureReason, RecoveryReason};
use cityform::cloud::ErrorClass;
use cityform::manifest::{self, Input};
use cityform::model::{Address, JobGroupSpec, Status};
use cityform::state::journal::Operation;
use cityform::state::{State, StateEntry};
use cli_support::{Cityform, example_manifests};
use emulator_process::{ACCESS_KEY_ID, ACCESS_KEY_SECRET, EmulatorProcess};
use generated_support::repository;
use serde_json::Value;

fn validator(relative: &str) -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(repository().join(relative)).unwrap())
            .unwrap();
    assert!(jsonschema::draft7::meta::is_valid(&schema), "{relative}");
    jsonschema::draft7::new(&schema).unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, document: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|error| format!("{error} at `{}`", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{document:#}");
}

/// A state against which the example manifests plan a create, an update and an orphan, and
/// the history the update and the orphan quote.
fn state_with_every_kind_of_difference() -> (State, cityform::state::History) {
    state_last_applied_by(cityform::state::HistoryAction::Create)
}

/// [`state_with_every_kind_of_difference`], with `action` as what last applied the update's
/// and the orphan's spec.
fn state_last_applied_by(
    action: cityform::state::HistoryAction,
) -> (State, cityform::state::History) {
    let desired = manifest::load(&[Input::Path(example_manifests())]).unwrap();
    let mut state = State::new(uuid::Uuid::new_v4().to_string());
    for (address, group) in &desired.groups {
        state.job_groups.insert(
            address.clone(),
            StateEntry::new(
                format!("jg-{}", address.name),
                group.spec.clone(),
                "R",
                "2026-11-20T08:00:00Z",
            ),
        );
    }
    state
        .job_groups
        .remove(&Address::example("safety-stations"));
    let west = state
        .job_groups
        .get_mut(&Address::example("traffic-west"))
        .unwrap();
    west.spec.planed_job_count = 6;
    west.spec.params.remove("OUT_MQ_ENABLE");
    let orphan = state.job_groups[&Address::example("traffic-east")].clone();
    state
        .job_groups
        .insert(Address::example("parking-north"), orphan);
    // The update and the orphan quote the commit that last applied them (`last_applied`).
    let mut history = cityform::state::History::default();
    for name in ["traffic-west", "parking-north"] {
        history.push(cityform::state::HistoryEntry {
            address: Address::example(name),
            action,
            job_group_id: format!("jg-{name}"),
            provenance: cityform::provenance::RunContext::without_git(
                Some("3f2a9c1e5b7d9f0a1c3e5b7d9f0a1c3e5b7d9f0a"),
                &BTreeMap::new(),
                "ci",
            )
            .for_group(None, Some("R")),
            moved: None,
        });
    }
    (state, history)
}

/// The lifecycle scenario: live groups in the emulator (seeded, ids 1 to 7 in this order),
/// manifests, and a state recording some of them.
const LIFECYCLE_SEED: &str = "\
jobGroups:
  - {instanceId: cityvisual-Instance, name: drifted, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 9, streamPerJob: 2}
  - {instanceId: cityvisual-Instance, name: old-name, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 2}
  - {instanceId: cityvisual-Instance, name: started, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 2}
  - {instanceId: cityvisual-Instance, name: guarded, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 2}
  - {instanceId: cityvisual-Instance, name: pruned, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 2}
  - {instanceId: cityvisual-Instance, name: kept, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 2}
  - {instanceId: cityvisual-Instance, name: by-hand, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 2}
";

/// One job group document of the lifecycle scenario, with `extra` lines at its end.
fn lifecycle_document(name: &str, extra: &str) -> String {
    format!(
        "---\napiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: {name}\nspec:\n  regionId: cn-shanghai\n  instanceId: cityvisual-Instance\n  algoLibId: \"3\"\n  resourceProfileId: \"6\"\n  planedJobCount: 2\n  streamPerJob: 2\n{extra}"
    )
}

/// The lifecycle manifests: `drifted` was changed behind cityform's back and is protected,
/// `renamed` lives as `old-name`, `started` is to run, `guarded` to be protected,
/// `recreated` was deleted behind cityform's back and is to run and be protected.
fn lifecycle_manifests() -> String {
    [
        lifecycle_document("drifted", "lifecycle:\n  preventDestroy: true\n"),
        lifecycle_document("renamed", ""),
        lifecycle_document("started", "  status: Running\n"),
        lifecycle_document("guarded", "lifecycle:\n  preventDestroy: true\n"),
        lifecycle_document(
            "recreated",
            "  status: Running\nlifecycle:\n  preventDestroy: true\n",
        ),
    ]
    .concat()
}

/// The spec every lifecycle document declares.
fn lifecycle_spec() -> JobGroupSpec {
    JobGroupSpec {
        algo_lib_id: "3".into(),
        resource_profile_id: "6".into(),
        planed_job_count: 2,
        stream_per_job: 2,
        job_count: None,
        params: Default::default(),
    }
}

/// The state of the lifecycle scenario: `pruned` and `kept` are in no manifest, and `kept`
/// is protected when `protect_kept`.
fn lifecycle_state(protect_kept: bool) -> State {
    let mut state = State::new(uuid::Uuid::new_v4().to_string());
    let spec = lifecycle_spec();
    for (name, id) in [
        ("drifted", "1"),
        ("renamed", "2"),
        ("started", "3"),
        ("guarded", "4"),
        ("pruned", "5"),
        ("kept", "6"),
        ("recreated", "99"),
    ] {
        let mut entry = StateEntry::new(id, spec.clone(), "R", "2026-11-20T08:00:00Z");
        entry.status = Some(Status::Stopped);
        entry.prevent_destroy = name == "kept" && protect_kept;
        state.job_groups.insert(Address::example(name), entry);
    }
    state
}

/// A workspace with the lifecycle manifests and state, pointed at a fresh emulator seeded
/// with the lifecycle groups (returned too: it stops when dropped).
fn lifecycle_workspace(protect_kept: bool) -> (Cityform, EmulatorProcess) {
    let seeded = Cityform::new().file("seed.yaml", LIFECYCLE_SEED);
    let emulator = EmulatorProcess::start(&["--seed", seeded.join("seed.yaml").to_str().unwrap()]);
    let workspace = Cityform::new()
        .file("manifests/groups.yaml", lifecycle_manifests())
        .state(&lifecycle_state(protect_kept))
        .env("CITYFORM_ENDPOINT", &emulator.endpoint)
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET)
        .env("CITYFORM_RETRY_BASE_MS", "1");
    (workspace, emulator)
}

/// A workspace whose `Moved`, `Import` and `Removed` documents plan a move (and the rename
/// that follows), an import and a removal, pointed at a fresh emulator (returned too).
fn declared_workspace() -> (Cityform, EmulatorProcess) {
    let seeded = Cityform::new().file(
        "seed.yaml",
        "jobGroups:\n  - {instanceId: cityvisual-Instance, name: old-name, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 2}\n  - {instanceId: cityvisual-Instance, name: adopted, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 2, status: Running}\n  - {instanceId: cityvisual-Instance, name: handed-over, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 2}\n",
    );
    let emulator = EmulatorProcess::start(&["--seed", seeded.join("seed.yaml").to_str().unwrap()]);
    let mut state = State::new(uuid::Uuid::new_v4().to_string());
    for (name, id) in [("old-name", "1"), ("handed-over", "3")] {
        state.job_groups.insert(
            Address::example(name),
            StateEntry::new(id, lifecycle_spec(), "R", "2026-11-20T08:00:00Z"),
        );
    }
    let changes = "\
apiVersion: cityform/v1
kind: Moved
spec:
  from: cn-shanghai/cityvisual-Instance/old-name
  to: cn-shanghai/cityvisual-Instance/new-name
---
apiVersion: cityform/v1
kind: Import
spec:
  address: cn-shanghai/cityvisual-Instance/adopted
---
apiVersion: cityform/v1
kind: Removed
spec:
  address: cn-shanghai/cityvisual-Instance/handed-over
";
    let workspace = Cityform::new()
        .file(
            "manifests/groups.yaml",
            [
                lifecycle_document("new-name", ""),
                lifecycle_document("adopted", ""),
            ]
            .concat(),
        )
        .file("manifests/changes.yaml", changes)
        .state(&state)
        .env("CITYFORM_ENDPOINT", &emulator.endpoint)
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET)
        .env("CITYFORM_RETRY_BASE_MS", "1");
    (workspace, emulator)
}

/// A refreshed plan to start `started` while the service still reports it `stopping`: a
/// first workspace stops it (without waiting) on an emulator whose transitions last ten
/// minutes, a second one, whose manifests want it running, plans.
fn plan_of_a_group_still_stopping() -> cli_support::Run {
    let seeded = Cityform::new().file(
        "seed.yaml",
        "jobGroups:\n  - {instanceId: cityvisual-Instance, name: started, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 2, status: Running}\n",
    );
    let emulator = EmulatorProcess::start(&[
        "--seed",
        seeded.join("seed.yaml").to_str().unwrap(),
        "--transition-ms",
        "600000",
    ]);
    let mut state = State::new(uuid::Uuid::new_v4().to_string());
    let spec = lifecycle_spec();
    let mut entry = StateEntry::new("1", spec, "R", "2026-11-20T08:00:00Z");
    entry.status = Some(Status::Running);
    state.job_groups.insert(Address::example("started"), entry);
    let workspace = |status: &str| {
        Cityform::new()
            .file(
                "manifests/groups.yaml",
                lifecycle_document("started", &format!("  status: {status}\n")),
            )
            .state(&state)
            .env("CITYFORM_ENDPOINT", &emulator.endpoint)
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET)
    };
    workspace("Stopped")
        .args(["apply", "--auto-approve", "--no-wait"])
        .run()
        .success();
    let plan = workspace("Running")
        .args(["plan", "--format", "json"])
        .run();
    plan.success();
    assert!(
        plan.stdout.contains(r#""observed": "stopping""#),
        "{}",
        plan.stdout
    );
    plan
}

/// A refreshed plan that cannot be applied: `by-hand` exists live and no state records it (a
/// conflict), and `night-market`, recorded, is in no manifest while `night-bazaar`, new, has
/// exactly its spec (an orphan pointed at its probable new name).
fn plan_with_a_conflict_and_a_rename() -> cli_support::Run {
    let seeded = Cityform::new().file(
        "seed.yaml",
        "jobGroups:\n  - {instanceId: cityvisual-Instance, name: by-hand, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 2}\n  - {instanceId: cityvisual-Instance, name: night-market, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 2}\n",
    );
    let emulator = EmulatorProcess::start(&["--seed", seeded.join("seed.yaml").to_str().unwrap()]);
    let mut state = State::new(uuid::Uuid::new_v4().to_string());
    state.job_groups.insert(
        Address::example("night-market"),
        StateEntry::new("2", lifecycle_spec(), "R", "2026-11-20T08:00:00Z"),
    );
    let plan = Cityform::new()
        .file(
            "manifests/groups.yaml",
            [
                lifecycle_document("by-hand", ""),
                lifecycle_document("night-bazaar", ""),
            ]
            .concat(),
        )
        .state(&state)
        .env("CITYFORM_ENDPOINT", &emulator.endpoint)
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET)
        .args(["plan", "--format", "json"])
        .run();
    plan.failure();
    assert!(
        plan.stdout.contains(r#""live_job_group_id": "1""#),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains(r#""renamed_to""#), "{}", plan.stdout);
    plan
}

/// The names of the properties a schema object (or a definition of it) describes.
fn described_properties(schema: &Value) -> BTreeSet<String> {
    schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn real_plans_validate_against_the_plan_schema() {
    let validator = validator("docs/schema/plan-v2.json");
    let mut runs = Vec::new();
    // No state: nothing recorded to look up, so the refresh is skipped and says why.
    let without_state = Cityform::new()
        .manifests()
        .args(["plan", "--format", "json"])
        .run();
    without_state.success();
    runs.push(without_state);
    // Compared with the state alone: a create, an update and an orphan.
    let (state, history) = state_with_every_kind_of_difference();
    let with_state = Cityform::new()
        .manifests()
        .state_with_history(&state, history)
        .args(["plan", "--format", "json", "--refresh=false"])
        .run();
    with_state.success();
    runs.push(with_state);
    // The same, with the update and the orphan as an import left them.
    let (state, history) = state_last_applied_by(cityform::state::HistoryAction::Import);
    let imported = Cityform::new()
        .manifests()
        .state_with_history(&state, history)
        .args(["plan", "--format", "json", "--refresh=false"])
        .run();
    imported.success();
    runs.push(imported);
    // Refreshed: drift, a rename, a group deleted outside cityform, starts, protections,
    // orphans and a group nobody manages; with --prune, a delete and a refused one (which
    // fails the plan after printing it); a targeted plan and one that excludes a group.
    let (workspace, _emulator) = lifecycle_workspace(true);
    let refreshed = workspace
        .then()
        .args(["plan", "--format", "json", "--show-unmanaged"])
        .run();
    refreshed.success();
    runs.push(refreshed);
    let pruned = workspace
        .then()
        .args(["plan", "--format", "json", "--prune"])
        .run();
    pruned.failure();
    runs.push(pruned);
    let targeted = workspace
        .then()
        .args(["plan", "--format", "json", "--target"])
        .arg(Address::example("drifted").to_string())
        .run();
    targeted.success();
    runs.push(targeted);
    let excluding = workspace
        .then()
        .args(["plan", "--format", "json", "--exclude"])
        .arg(Address::example("drifted").to_string())
        .run();
    excluding.success();
    runs.push(excluding);
    runs.push(plan_of_a_group_still_stopping());
    runs.push(plan_with_a_conflict_and_a_rename());
    // Moved, Import and Removed documents: a move, an import and a removal.
    let (declared, _declared_emulator) = declared_workspace();
    let declared = declared.then().args(["plan", "--format", "json"]).run();
    declared.success();
    runs.push(declared);

    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repository().join("docs/schema/plan-v2.json")).unwrap(),
    )
    .unwrap();
    let mut fields = BTreeSet::new();
    let mut action_fields: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for run in &runs {
        let plan: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|error| panic!("{}: {error}\n{}", run.command_line, run.report()));
        assert_valid(&validator, &plan, &run.command_line);
        fields.extend(plan.as_object().unwrap().keys().cloned());
        for action in plan["actions"].as_array().unwrap() {
            action_fields
                .entry(action["action"].as_str().unwrap().to_owned())
                .or_default()
                .extend(action.as_object().unwrap().keys().cloned());
        }
    }
    // Every field and every action the schema describes was printed by a real plan.
    assert_eq!(fields, described_properties(&schema));
    let described_actions: BTreeSet<String> = schema["properties"]["actions"]["items"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reference| {
            reference["$ref"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        action_fields.keys().cloned().collect::<BTreeSet<_>>(),
        described_actions
    );
    for (action, seen) in &action_fields {
        assert_eq!(
            seen,
            &described_properties(&schema["definitions"][action]),
            "the fields of `{action}`"
        );
    }
}

#[test]
fn the_plan_schema_refuses_what_the_format_does_not_allow() {
    let validator = validator("docs/schema/plan-v2.json");
    let run = Cityform::new()
        .manifests()
        .args(["plan", "--format", "json"])
        .run();
    let plan: Value = serde_json::from_str(&run.stdout).unwrap();
    let mut wrong_version = plan.clone();
    wrong_version["format_version"] = 1.into();
    let mut unknown_action = plan.clone();
    unknown_action["actions"][0]["action"] = "destroy".into();
    let mut count_as_text = plan.clone();
    count_as_text["actions"][0]["spec"]["planedJobCount"] = "10".into();
    let mut lowercase_param = plan.clone();
    lowercase_param["actions"][0]["spec"]["params"]["ES_ENABLE"] = "true".into();
    let mut not_protected = plan.clone();
    not_protected["actions"][0]["prevent_destroy"] = false.into();
    let mut no_refreshed = plan.clone();
    no_refreshed.as_object_mut().unwrap().remove("refreshed");
    let mut summary_without_deletes = plan.clone();
    summary_without_deletes["summary"]
        .as_object_mut()
        .unwrap()
        .remove("delete");
    let mut unknown_status = plan;
    unknown_status["actions"][0] = serde_json::json!({
        "action": "set_status", "address": "a/b/c", "job_group_id": "4", "to": "Paused"
    });
    for (what, document) in [
        ("format_version 1", wrong_version),
        ("an unknown action", unknown_action),
        ("a count as text", count_as_text),
        ("a param value not in canonical form", lowercase_param),
        ("`prevent_destroy: false` on a create", not_protected),
        (
            "a plan that does not say whether it refreshed",
            no_refreshed,
        ),
        (
            "a summary without its delete count",
            summary_without_deletes,
        ),
        ("a status that is not one", unknown_status),
    ] {
        assert!(!validator.is_valid(&document), "accepted {what}");
    }
}

/// Every line of a `--format json` apply, parsed.
fn events(run: &cli_support::Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect()
}

/// A workspace with the example manifests, pointed at `emulator` with the development key.
fn workspace(emulator: &EmulatorProcess) -> Cityform {
    Cityform::new()
        .manifests()
        .env("CITYFORM_ENDPOINT", &emulator.endpoint)
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET)
        .env("CITYFORM_RETRY_BASE_MS", "1")
}

const APPLY: [&str; 4] = ["apply", "--auto-approve", "--format", "json"];

/// The events of real apply runs, each with the command that printed it.
fn real_apply_events() -> Vec<(String, Value)> {
    let mut collected = Vec::new();
    let mut collect = |run: &cli_support::Run| {
        let events = events(run);
        assert_eq!(
            events.last().map(|event| event["event"].clone()),
            Some(Value::from("summary")),
            "{}: the last line is not the summary",
            run.command_line
        );
        collected.extend(
            events
                .into_iter()
                .map(|event| (run.command_line.clone(), event)),
        );
    };

    // Creates everything, then a second run with nothing to create prints nothing.
    let emulator = EmulatorProcess::start(&[]);
    let first = workspace(&emulator).args(APPLY).run();
    first.success();
    collect(&first);

    // A dry run, where nothing exists yet (where the groups exist and no state records
    // them, the plan refuses to create them again).
    let fresh = EmulatorProcess::start(&[]);
    let dry_run = workspace(&fresh)
        .args(["apply", "--dry-run", "--format", "json"])
        .run();
    dry_run.success();
    collect(&dry_run);

    // A group made by hand under a declared name: a conflict, with code, request id, hint.
    let seed = "jobGroups:\n  - {instanceId: cityvisual-Instance, name: traffic-east, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 1, streamPerJob: 1}\n";
    let seeded = Cityform::new().file("seed.yaml", seed);
    let seed_path = seeded.join("seed.yaml");
    let emulator = EmulatorProcess::start(&["--seed", seed_path.to_str().unwrap()]);
    // Without a refresh, which would refuse the plan before any call.
    let conflict = workspace(&emulator)
        .args(APPLY)
        .arg("--refresh=false")
        .run();
    conflict.failure();
    collect(&conflict);

    // The answer to the first create is lost: the group is recovered by name.
    let emulator = EmulatorProcess::start(&["--drop-after-commit", "1"]);
    let recovered = workspace(&emulator)
        .args(APPLY)
        .args(["--parallelism", "1"])
        .run();
    recovered.success();
    collect(&recovered);

    // Throttling: the run paces itself.
    let emulator = EmulatorProcess::start(&["--throttle-rate", "0.5", "--fault-seed", "7"]);
    let throttled = workspace(&emulator).args(APPLY).run();
    collect(&throttled);

    // Recorded groups the refresh finds gone are created again; an orphan is left alone.
    let emulator = EmulatorProcess::start(&[]);
    let (state, history) = state_with_every_kind_of_difference();
    let not_applied = workspace(&emulator)
        .state_with_history(&state, history)
        .args(APPLY)
        .run();
    not_applied.success();
    collect(&not_applied);

    // The lifecycle: a dry run, then updates (drift, a rename), a create of a group deleted
    // outside cityform, starts, protections and, with --prune, deletes.
    let (lifecycle, _emulator) = lifecycle_workspace(false);
    let dry_run = lifecycle
        .then()
        .args(["apply", "--dry-run", "--prune", "--format", "json"])
        .run();
    dry_run.success();
    collect(&dry_run);
    let applied = lifecycle.then().args(APPLY).arg("--prune").run();
    applied.success();
    collect(&applied);

    // Moved, Import and Removed documents carried out in the state.
    let (declared, _emulator) = declared_workspace();
    let applied = declared.then().args(APPLY).run();
    applied.success();
    collect(&applied);
    collected
}

/// One of each event the executor can send, including those no simple run shows
/// (`resolving` and `settled` need a crashed earlier run, `stopping` a signal).
fn constructed_events() -> Vec<Value> {
    let group = Address::example("traffic-east");
    [
        ApplyEvent::Resolving {
            count: 2,
            instances: 1,
        },
        ApplyEvent::Settled {
            address: group.clone(),
            operation: Operation::Delete,
        },
        ApplyEvent::Recovered {
            address: group.clone(),
            job_group_id: "4".into(),
            reason: RecoveryReason::Unfinished,
        },
        ApplyEvent::Failed {
            failure: ActionFailure {
                address: group.clone(),
                action: ChangeKind::Create,
                reason: FailureReason::OutcomeUnknown,
                class: ErrorClass::Ambiguous,
                code: None,
                message: "CreateJobGroup traffic-east: timed out".into(),
                request_id: None,
                hint: None,
            },
        },
        ApplyEvent::Failed {
            failure: ActionFailure {
                address: group.clone(),
                action: ChangeKind::Update,
                reason: FailureReason::Gone,
                class: ErrorClass::Terminal,
                code: Some("InvalidJobGroupId.NotFound".into()),
                message: "ModifyJobGroup traffic-east: InvalidJobGroupId.NotFound (404)".into(),
                request_id: Some("R-7".into()),
                hint: None,
            },
        },
        ApplyEvent::Failed {
            failure: ActionFailure {
                address: group.clone(),
                action: ChangeKind::Protect,
                reason: FailureReason::Stale,
                class: ErrorClass::Terminal,
                code: None,
                message: "the state no longer records the group the plan saw".into(),
                request_id: None,
                hint: Some("run plan again".into()),
            },
        },
        ApplyEvent::Throttled {
            delay: Duration::from_millis(250),
        },
        ApplyEvent::Stopping { in_flight: 3 },
    ]
    .iter()
    .map(|event| serde_json::to_value(event).unwrap())
    .collect()
}

#[test]
fn real_apply_events_validate_against_the_event_schema() {
    let validator = validator("docs/schema/apply-events-v1.json");
    let mut seen = BTreeSet::new();
    for (command_line, event) in real_apply_events() {
        assert_valid(&validator, &event, &command_line);
        seen.insert(event["event"].as_str().unwrap().to_owned());
    }
    for expected in [
        "starting",
        "created",
        "updated",
        "status_changed",
        "protected",
        "deleted",
        "recovered",
        "recorded",
        "failed",
        "not_applied",
        "would_create",
        "would_change",
        "summary",
    ] {
        assert!(seen.contains(expected), "no `{expected}` event in {seen:?}");
    }
    for event in constructed_events() {
        assert_valid(&validator, &event, "a constructed event");
        seen.insert(event["event"].as_str().unwrap().to_owned());
    }
    // Every event the schema describes has been validated at least once.
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repository().join("docs/schema/apply-events-v1.json")).unwrap(),
    )
    .unwrap();
    let described: BTreeSet<String> = schema["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reference| {
            reference["$ref"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(seen, described);
}

#[test]
fn the_event_schema_refuses_what_the_format_does_not_allow() {
    let validator = validator("docs/schema/apply-events-v1.json");
    for (what, event) in [
        (
            "an unknown event",
            serde_json::json!({"event": "destroyed", "address": "a/b/c"}),
        ),
        (
            "a deleted event without its id",
            serde_json::json!({"event": "deleted", "address": "a/b/c", "request_id": "R", "already_gone": false}),
        ),
        (
            "a starting event without its action",
            serde_json::json!({"event": "starting", "address": "a/b/c"}),
        ),
        (
            "a protection announced as a call",
            serde_json::json!({"event": "starting", "address": "a/b/c", "action": "protect"}),
        ),
        (
            "an update that sent nothing",
            serde_json::json!({"event": "updated", "address": "a/b/c", "job_group_id": "4", "attributes": [], "elapsed_ms": 1, "request_id": "R"}),
        ),
        (
            "a failure without its action",
            serde_json::json!({"event": "failed", "address": "a/b/c", "reason": "gone", "class": "terminal", "code": null, "message": "m", "request_id": null, "hint": null}),
        ),
        (
            "an unknown status",
            serde_json::json!({"event": "status_changed", "address": "a/b/c", "job_group_id": "4", "status": "Paused", "request_id": "R"}),
        ),
        (
            "a created event without its id",
            serde_json::json!({"event": "created", "address": "a/b/c", "elapsed_ms": 1, "request_id": "R"}),
        ),
        (
            "an unknown failure class",
            serde_json::json!({"event": "failed", "address": "a/b/c", "reason": "refused", "class": "fatal", "code": null, "message": "m", "request_id": null, "hint": null}),
        ),
        (
            "an address that is not one",
            serde_json::json!({"event": "starting", "address": "traffic-east"}),
        ),
    ] {
        assert!(!validator.is_valid(&event), "accepted {what}");
    }
}

#[test]
fn cityform_schema_prints_the_committed_output_schemas() {
    for (kind, relative) in [
        ("plan", "docs/schema/plan-v2.json"),
        ("apply-events", "docs/schema/apply-events-v1.json"),
    ] {
        let run = Cityform::new().args(["schema", kind]).run();
        run.success();
        let committed = std::fs::read_to_string(repository().join(relative)).unwrap();
        assert_eq!(run.stdout, committed, "{kind}");
    }
}
