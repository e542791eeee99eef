//! `cityform generate`, end to end: the real binary against the emulator. An instance of 250
//! groups (three pages of `DescribeJobGroups`) becomes manifests that `validate` accepts and
//! whose apply adopts every group by id, creating nothing, after which the plan is clean;
//! groups the state already manages are left out; no file is ever replaced.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_apply_support;

use std::collections::BTreeMap;

use cli_apply_support::{Emulator, Workspace};

const INSTANCE: &str = "cn-shanghai/cityvisual-Instance";

/// A seed of `count` groups named `cams-000`…, half of them running, every fifth with a param.
fn seed(count: usize) -> String {
    let mut seed = String::from("jobGroups:\n");
    for index in 0..count {
        let status = if index % 2 == 0 { "Running" } else { "Stopped" };
        let params = if index % 5 == 0 {
            ", params: {ES_ENABLE: \"True\", SCHEDULE_FLOW_START_TIME: Oldest}"
        } else {
            ""
        };
        seed.push_str(&format!(
            "  - {{instanceId: cityvisual-Instance, name: cams-{index:03}, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: {}, streamPerJob: 2, status: {status}{params}}}\n",
            1 + index % 7
        ));
    }
    seed
}

fn seeded_emulator(count: usize) -> (Emulator, tempfile::TempDir) {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("seed.yaml");
    std::fs::write(&path, seed(count)).unwrap();
    (
        Emulator::start(&["--seed", path.to_str().unwrap()]),
        directory,
    )
}

fn generate(workspace: &Workspace, extra: &[&str]) -> cli_apply_support::Run {
    let mut arguments = vec![
        "generate",
        "--endpoint",
        &workspace.endpoint,
        "--instance",
        INSTANCE,
    ];
    arguments.extend_from_slice(extra);
    workspace.run(&arguments)
}

#[test]
fn an_instance_of_250_groups_is_adopted_in_one_apply_keeping_every_id() {
    let (emulator, _seed) = seeded_emulator(250);
    let ids_before: BTreeMap<String, String> = emulator.ids();
    assert_eq!(ids_before.len(), 250);
    let workspace = Workspace::new(&emulator);

    let generated = generate(&workspace, &["--out", "manifests"]);
    generated.expect_code(0);
    assert_eq!(
        emulator
            .requests()
            .iter()
            .filter(|line| line.contains(" DescribeJobGroups "))
            .count(),
        3,
        "three pages"
    );
    assert!(
        generated.stdout.starts_with(
            "Wrote 250 job group(s) of `cn-shanghai/cityvisual-Instance` that this state does not manage (0 it manages were left out) to `manifests`"
        ),
        "{generated}"
    );
    let files = std::fs::read_dir(workspace.path().join("manifests"))
        .unwrap()
        .count();
    assert_eq!(files, 251, "a file per group and imports.yaml");

    workspace
        .run(&["validate", "-f", "manifests"])
        .expect_code(0);
    // What cityform writes is already in the form `fmt` writes.
    workspace
        .run(&["fmt", "--check", "-f", "manifests"])
        .expect_code(0);
    let plan = workspace.run(&["plan", "--endpoint", &workspace.endpoint]);
    plan.expect_code(0);
    assert!(
        plan.stdout
            .contains("Plan: 0 to create, 0 to update, 0 to start, 0 to stop, 0 to delete. 0 orphans left alone. In the state only: 250 to import."),
        "{plan}"
    );

    workspace.apply(&[]).expect_code(0);
    assert_eq!(emulator.ids(), ids_before, "every id kept, nothing created");
    assert!(
        !emulator
            .requests()
            .iter()
            .any(|line| line.contains(" CreateJobGroup ")
                || line.contains(" ModifyJobGroup ")
                || line.contains(" StartJobGroup ")
                || line.contains(" StopJobGroup ")),
        "the adopted groups were changed"
    );
    let recorded = workspace.state_ids();
    assert_eq!(recorded, ids_before);

    let clean = workspace.run(&[
        "plan",
        "--endpoint",
        &workspace.endpoint,
        "--detailed-exitcode",
    ]);
    clean.expect_code(0);
    assert!(clean.stdout.starts_with("No changes."), "{clean}");

    // Everything is managed now: nothing to generate, and no file is touched.
    let again = generate(&workspace, &["--out", "manifests"]);
    again.expect_code(0);
    assert_eq!(
        again.stdout,
        "Nothing to generate: instance `cn-shanghai/cityvisual-Instance` has 250 job group(s), 250 managed by this state.\n"
    );
}

#[test]
fn generated_documents_are_printed_when_no_directory_is_given() {
    let (emulator, _seed) = seeded_emulator(2);
    let workspace = Workspace::new(&emulator);
    let printed = generate(&workspace, &[]);
    printed.expect_code(0);
    insta::assert_snapshot!(printed.stdout);
    assert!(
        printed.stderr.contains(
            "Printed 2 job group(s) of `cn-shanghai/cityvisual-Instance` that this state does not manage"
        ),
        "{printed}"
    );
}

#[test]
fn managed_groups_are_left_out_and_no_file_is_ever_replaced() {
    let (emulator, _seed) = seeded_emulator(3);
    let workspace = Workspace::new(&emulator);
    // The state manages cams-000 already.
    workspace.write(
        "manifests/groups.yaml",
        &cli_apply_support::job_group("cams-000", "3", 1),
    );
    workspace
        .run(&[
            "import",
            "--endpoint",
            &workspace.endpoint,
            &format!("{INSTANCE}/cams-000"),
        ])
        .expect_code(0);

    workspace.write("adopted/cams-002.yaml", "# mine\n");
    let refused = generate(&workspace, &["--out", "adopted"]);
    refused.expect_code(1);
    assert!(
        refused
            .stderr
            .contains("not replacing 1 file(s) that already exist: `adopted/cams-002.yaml`; nothing was written"),
        "{refused}"
    );
    let names: Vec<String> = std::fs::read_dir(workspace.path().join("adopted"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["cams-002.yaml"]);
    assert_eq!(
        std::fs::read_to_string(workspace.path().join("adopted/cams-002.yaml")).unwrap(),
        "# mine\n"
    );

    let generated = generate(&workspace, &["--out", "fresh"]);
    generated.expect_code(0);
    assert!(
        generated.stdout.contains("(1 it manages were left out)"),
        "{generated}"
    );
    let mut names: Vec<String> = std::fs::read_dir(workspace.path().join("fresh"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["cams-001.yaml", "cams-002.yaml", "imports.yaml"]);

    let not_an_instance = workspace.run(&["generate", "--instance", "cn-shanghai"]);
    not_an_instance.expect_code(1);
    assert!(
        not_an_instance
            .stderr
            .contains("`cn-shanghai` is not `regionId/instanceId`"),
        "{not_an_instance}"
    );
}
