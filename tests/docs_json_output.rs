//! The JSON Schemas of `docs/json-output.md`: `docs/schema/plan-v1.json` and
//! `docs/schema/apply-events-v1.json` accept what the binary really prints (plans with each
//! kind of action; apply runs that create, recover, fail, throttle, dry-run and leave
//! actions alone), every kind of event is seen at least once, and `cityform schema plan`
//! and `cityform schema apply-events` print the committed files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_support;
mod emulator_process;
mod generated_support;

use std::collections::BTreeSet;
use std::time::Duration;

use cityform::apply::{ActionFailure, ApplyEvent, ChangeKind, FailureReason, RecoveryReason};
use cityform::cloud::ErrorClass;
use cityform::manifest::{self, Input};
use cityform::model::Address;
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

fn address(name: &str) -> Address {
    Address::new("cn-shanghai", "cityvisual-Instance", name)
}

/// A state against which the example manifests plan a create, an update and an orphan.
fn state_with_every_kind_of_difference() -> State {
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
    state.job_groups.remove(&address("safety-stations"));
    let west = state.job_groups.get_mut(&address("traffic-west")).unwrap();
    west.spec.planed_job_count = 6;
    west.spec.params.remove("OUT_MQ_ENABLE");
    let orphan = state.job_groups[&address("traffic-east")].clone();
    state.job_groups.insert(address("parking-north"), orphan);
    state
}

#[test]
fn real_plans_validate_against_the_plan_schema() {
    let validator = validator("docs/schema/plan-v1.json");
    let without_state = Cityform::new()
        .manifests()
        .args(["plan", "--format", "json"])
        .run();
    without_state.success();
    let with_state = Cityform::new()
        .manifests()
        .state(&state_with_every_kind_of_difference())
        .args(["plan", "--format", "json"])
        .run();
    with_state.success();
    let mut kinds = BTreeSet::new();
    for run in [&without_state, &with_state] {
        let plan: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_valid(&validator, &plan, &run.command_line);
        for action in plan["actions"].as_array().unwrap() {
            kinds.insert(action["action"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        kinds,
        BTreeSet::from(["create".into(), "orphan".into(), "update".into()])
    );
}

#[test]
fn the_plan_schema_refuses_what_the_format_does_not_allow() {
    let validator = validator("docs/schema/plan-v1.json");
    let run = Cityform::new()
        .manifests()
        .args(["plan", "--format", "json"])
        .run();
    let plan: Value = serde_json::from_str(&run.stdout).unwrap();
    let mut wrong_version = plan.clone();
    wrong_version["format_version"] = 2.into();
    let mut unknown_action = plan.clone();
    unknown_action["actions"][0]["action"] = "destroy".into();
    let mut count_as_text = plan.clone();
    count_as_text["actions"][0]["spec"]["planedJobCount"] = "10".into();
    let mut lowercase_param = plan;
    lowercase_param["actions"][0]["spec"]["params"]["ES_ENABLE"] = "true".into();
    for (what, document) in [
        ("format_version 2", wrong_version),
        ("an unknown action", unknown_action),
        ("a count as text", count_as_text),
        ("a param value not in canonical form", lowercase_param),
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

    // A dry run.
    let dry_run = workspace(&emulator)
        .args(["apply", "--dry-run", "--format", "json"])
        .run();
    dry_run.success();
    collect(&dry_run);

    // A group made by hand under a declared name: a conflict, with code, request id, hint.
    let seed = "jobGroups:\n  - {instanceId: cityvisual-Instance, name: traffic-east, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 1, streamPerJob: 1}\n";
    let seeded = Cityform::new().file("seed.yaml", seed);
    let seed_path = seeded.join("seed.yaml");
    let emulator = EmulatorProcess::start(&["--seed", seed_path.to_str().unwrap()]);
    let conflict = workspace(&emulator).args(APPLY).run();
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

    // Updates and orphans are reported as not applied.
    let emulator = EmulatorProcess::start(&[]);
    let not_applied = workspace(&emulator)
        .state(&state_with_every_kind_of_difference())
        .args(APPLY)
        .run();
    not_applied.success();
    collect(&not_applied);
    collected
}

/// One of each event the executor can send, including those no simple run shows
/// (`resolving` and `settled` need a crashed earlier run, `stopping` a signal).
fn constructed_events() -> Vec<Value> {
    let group = address("traffic-east");
    [
        ApplyEvent::Resolving {
            count: 2,
            instances: 1,
        },
        ApplyEvent::Settled {
            address: group.clone(),
            operation: Operation::Create,
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
        "recovered",
        "failed",
        "not_applied",
        "would_create",
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
            serde_json::json!({"event": "deleted", "address": "a/b/c"}),
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
        ("plan", "docs/schema/plan-v1.json"),
        ("apply-events", "docs/schema/apply-events-v1.json"),
    ] {
        let run = Cityform::new().args(["schema", kind]).run();
        run.success();
        let committed = std::fs::read_to_string(repository().join(relative)).unwrap();
        assert_eq!(run.stdout, committed, "{kind}");
    }
}
