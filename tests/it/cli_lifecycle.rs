//! The lifecycle after creation, end to end: the real binary against a real `cityform
//! emulator` process. Refresh before plan and apply (and what it costs), drift and
//! deletions made behind cityform's back, updates in place, renames after `state mv`,
//! `--prune` with and without protection, `import` by name and by id, `--target`, the
//! `state` and `refresh` commands, and dry runs without credentials.
//!
//! Changes "behind cityform's back" are made with the library's own client, as any other
//! program would make them.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_apply_support;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use cityform::cloud::{ClientOptions, CloudClient, Credentials, Endpoints, ModifyJobGroupRequest};
use cli_apply_support::{
    ACCESS_KEY_ID, ACCESS_KEY_SECRET, Emulator, INSTANCE, REGION, Run, Workspace, job_group,
    job_groups, names, spawn,
};

/// A second instance, for seeds that span two.
const SECOND: &str = "cityvisual-Second";

fn address(name: &str) -> String {
    format!("{REGION}/{INSTANCE}/{name}")
}

/// How many requests named `action` the emulator logged.
fn sent(emulator: &Emulator, action: &str) -> usize {
    let needle = format!(" {action} ");
    emulator
        .requests()
        .iter()
        .filter(|line| line.contains(&needle))
        .count()
}

/// Runs `change` with a client of the emulator, as a program other than cityform would.
fn behind_the_back<F, T>(emulator: &Emulator, change: impl FnOnce(CloudClient) -> F) -> T
where
    F: std::future::Future<Output = T>,
{
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let client = CloudClient::new(
        Credentials::new(ACCESS_KEY_ID, ACCESS_KEY_SECRET),
        Endpoints::with_override(&emulator.endpoint).unwrap(),
        ClientOptions::default(),
    )
    .unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(change(client))
}

/// The group called `name` in the usual instance, as `/_emulator/state` shows it.
fn live(emulator: &Emulator, name: &str) -> serde_json::Value {
    emulator.dump()["jobGroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|group| group["name"] == name && group["instanceId"] == INSTANCE)
        .cloned()
        .unwrap_or_else(|| panic!("`{name}` is not in the emulator"))
}

fn plan(workspace: &Workspace, extra: &[&str]) -> Run {
    let mut arguments = vec!["plan", "--endpoint", &workspace.endpoint];
    arguments.extend_from_slice(extra);
    workspace.run(&arguments)
}

/// `plan` twice: both must say `No changes.` after a refresh.
fn assert_no_changes_twice(workspace: &Workspace) {
    for round in 1..=2 {
        let run = plan(workspace, &[]);
        run.expect_code(0);
        assert!(
            run.stdout.starts_with("No changes."),
            "round {round}:\n{run}"
        );
    }
}

fn with_groups(emulator: &Emulator, names: &[&str]) -> Workspace {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    Workspace::with_groups(emulator, &names)
}

// ---------------------------------------------------------------------------------------
// Refresh

#[test]
fn a_plan_over_500_groups_in_2_instances_lists_each_instance_in_pages_and_says_no_changes() {
    const PER_INSTANCE: usize = 250;
    const PAGE_SIZE: usize = 100;
    let seed_directory = tempfile::tempdir().unwrap();
    let mut seed = format!("instances: [{SECOND}]\njobGroups:\n");
    let mut manifests = String::new();
    let mut state = cityform::state::State::new("lineage-500");
    let mut id = 0;
    for instance in [INSTANCE, SECOND] {
        for name in names("camera", PER_INSTANCE) {
            id += 1;
            writeln!(
                seed,
                "  - {{instanceId: {instance}, name: {name}, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 2, streamPerJob: 4}}"
            )
            .unwrap();
            write!(
                manifests,
                "---\napiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: {name}\nspec:\n  regionId: {REGION}\n  instanceId: {instance}\n  algoLibId: \"3\"\n  resourceProfileId: \"6\"\n  planedJobCount: 2\n  streamPerJob: 4\n"
            )
            .unwrap();
            let spec = cityform::model::JobGroupSpec {
                algo_lib_id: "3".into(),
                resource_profile_id: "6".into(),
                planed_job_count: 2,
                stream_per_job: 4,
                job_count: None,
                params: Default::default(),
            };
            state.job_groups.insert(
                cityform::model::Address::new(REGION, instance, name),
                cityform::state::StateEntry::new(
                    id.to_string(),
                    spec,
                    "seeded",
                    "2026-11-27T08:00:00Z",
                ),
            );
        }
    }
    let seed_path = seed_directory.path().join("seed.yaml");
    std::fs::write(&seed_path, seed).unwrap();
    let emulator = Emulator::start(&["--seed", seed_path.to_str().unwrap()]);
    let workspace = Workspace::new(&emulator);
    workspace.write("manifests/cameras.yaml", &manifests);
    workspace.replace_state(state);

    let pages = 2 * PER_INSTANCE.div_ceil(PAGE_SIZE);
    for round in 1..=2 {
        let run = plan(&workspace, &[]);
        run.expect_code(0);
        assert!(
            run.stdout.starts_with("No changes."),
            "round {round}:\n{run}"
        );
        assert!(run.stdout.contains("(500 unchanged)"), "{run}");
        assert_eq!(
            sent(&emulator, "DescribeJobGroups"),
            round * pages,
            "round {round}: one paged listing per instance, not one call per group"
        );
    }
    assert_eq!(
        emulator.requests().len(),
        2 * pages,
        "only listings were sent"
    );
}

#[test]
fn a_first_plan_needs_no_credentials_but_a_plan_of_recorded_groups_does() {
    let emulator = Emulator::start(&[]);
    let workspace = with_groups(&emulator, &["east-gate"]);
    let first = spawn(workspace.bare_command(&["plan"])).finish();
    first.expect_code(0);
    assert!(first.stdout.contains("will be created"), "{first}");
    // Its names could not be checked against the live groups, and it says so once.
    assert_eq!(
        first
            .stdout
            .matches("there are no credentials, so this plan cannot tell whether the job groups it creates already exist")
            .count(),
        1,
        "{first}"
    );
    // Credentials set up wrong are an error to fix, not a reason to plan without them.
    let mut half_set = workspace.bare_command(&["plan"]);
    half_set.env("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIhalfsettest");
    let half_set = spawn(half_set).finish();
    half_set.expect_code(1);
    assert!(
        half_set.stderr.contains(
            "`ALIBABA_CLOUD_ACCESS_KEY_ID` is set but `ALIBABA_CLOUD_ACCESS_KEY_SECRET` is not"
        ),
        "{half_set}"
    );
    workspace.apply(&[]).expect_code(0);

    let blind = spawn(workspace.bare_command(&["plan"])).finish();
    blind.expect_code(1);
    assert!(blind.stderr.contains("pass `--refresh=false`"), "{blind}");
    let offline = spawn(workspace.bare_command(&["plan", "--refresh=false"])).finish();
    offline.expect_code(0);
    assert!(offline.stdout.starts_with("No changes."), "{offline}");

    // A dry run without credentials plans from the state and says so.
    let dry = spawn(workspace.bare_command(&["apply", "--dry-run"])).finish();
    dry.expect_code(0);
    assert!(dry.stderr.contains("note: not refreshing"), "{dry}");
    assert_eq!(
        emulator.requests().len(),
        2,
        "only the first apply's listing and create were sent"
    );
}

#[test]
fn a_refresh_skipped_by_cityform_says_why_instead_of_blaming_refresh_false() {
    let emulator = Emulator::start(&[]);
    let workspace = with_groups(&emulator, &["east-gate"]);
    workspace.apply(&[]).expect_code(0);
    let listings = sent(&emulator, "DescribeJobGroups");

    // The state records only a group no manifest declares, and the manifests declare a new
    // one: without credentials its name cannot be checked, which the plan says instead of
    // failing, and without blaming `--refresh=false`.
    workspace.write("manifests/groups.yaml", &job_group("north-gate", "3", 1));
    let unchecked = "Note: the live job groups were not read: there are no credentials, so this plan cannot tell whether the job groups it creates already exist in the service.";
    let orphaned = spawn(workspace.bare_command(&["plan"])).finish();
    orphaned.expect_code(0);
    assert_eq!(orphaned.stdout.matches(unchecked).count(), 1, "{orphaned}");
    assert!(!orphaned.stdout.contains("--refresh=false"), "{orphaned}");
    // Only the orphan targeted: nothing the manifests declare is in the plan, so there is
    // nothing to list, and nothing the live groups could change; JSON says why.
    let targeted = spawn(workspace.bare_command(&[
        "plan",
        "--target",
        &address("east-gate"),
        "--format",
        "json",
    ]))
    .finish();
    targeted.expect_code(0);
    let document: serde_json::Value = serde_json::from_str(&targeted.stdout).unwrap();
    assert!(
        document["refresh_skipped_reason"]
            .as_str()
            .unwrap()
            .contains("the manifests declare none of the targeted job groups in this plan"),
        "{targeted}"
    );
    let targeted =
        spawn(workspace.bare_command(&["plan", "--target", &address("east-gate")])).finish();
    targeted.expect_code(0);
    assert!(!targeted.stdout.contains("Note:"), "{targeted}");
    let json = spawn(workspace.bare_command(&["plan", "--format", "json"])).finish();
    json.expect_code(0);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["refreshed"], false, "{json}");
    assert_eq!(document["refresh_skipped_reason"], unchecked, "{json}");
    // Turned off on purpose, the plan says that instead, and JSON has no reason.
    let turned_off = spawn(workspace.bare_command(&["plan", "--refresh=false"])).finish();
    turned_off.expect_code(0);
    assert!(
        turned_off.stdout.contains("(--refresh=false)"),
        "{turned_off}"
    );
    let json =
        spawn(workspace.bare_command(&["plan", "--refresh=false", "--format", "json"])).finish();
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["refreshed"], false, "{json}");
    assert!(document.get("refresh_skipped_reason").is_none(), "{json}");

    // A dry run without credentials of a recorded group says that it had none.
    workspace.write("manifests/groups.yaml", &job_group("east-gate", "3", 5));
    let dry = spawn(workspace.bare_command(&["apply", "--dry-run"])).finish();
    dry.expect_code(0);
    assert!(
        dry.stdout
            .contains("Note: the live job groups were not read: there are no credentials"),
        "{dry}"
    );
    assert!(!dry.stdout.contains("--refresh=false"), "{dry}");
    assert_eq!(
        sent(&emulator, "DescribeJobGroups"),
        listings,
        "none of these plans listed anything"
    );
}

// ---------------------------------------------------------------------------------------
// Drift, deletions and updates

#[test]
fn drift_and_a_deletion_behind_cityforms_back_are_planned_and_put_right() {
    let emulator = Emulator::start(&[]);
    let workspace = with_groups(&emulator, &["east-gate", "west-gate"]);
    workspace.apply(&[]).expect_code(0);
    assert_no_changes_twice(&workspace);
    let ids = emulator.ids();
    let behind = ids.clone();
    behind_the_back(&emulator, |client| async move {
        let ids = behind;
        let mut drift = ModifyJobGroupRequest::new(REGION, INSTANCE, &ids["east-gate"]);
        drift.planed_job_count = Some(42);
        client.modify_job_group(&drift).await.unwrap();
        client
            .delete_job_group(REGION, INSTANCE, &ids["west-gate"])
            .await
            .unwrap();
    });

    let planned = plan(&workspace, &["--detailed-exitcode"]);
    planned.expect_code(2);
    assert!(planned.stdout.contains("has drifted"), "{planned}");
    assert!(
        planned.stdout.contains("planedJobCount = 42 -> 1"),
        "{planned}"
    );
    let recreated = format!(
        "west-gate was deleted outside cityform (id {} no longer exists) and will be created again",
        ids["west-gate"]
    );
    assert!(planned.stdout.contains(&recreated), "{planned}");

    let applied = workspace.apply(&[]);
    applied.expect_code(0);
    assert_eq!(
        applied.last_line(),
        "Apply complete: 1 created, 1 updated, 0 recovered, 0 failed.",
        "{applied}"
    );
    assert_eq!(live(&emulator, "east-gate")["planedJobCount"], 1);
    let after = emulator.ids();
    assert_eq!(after["east-gate"], ids["east-gate"]);
    assert_ne!(after["west-gate"], ids["west-gate"]);
    assert_eq!(workspace.state_ids(), after);
    assert_no_changes_twice(&workspace);
}

#[test]
fn a_changed_manifest_is_applied_in_place_with_modify_job_group() {
    let emulator = Emulator::start(&[]);
    let workspace = with_groups(&emulator, &["east-gate"]);
    workspace.apply(&[]).expect_code(0);
    let ids = emulator.ids();
    workspace.write("manifests/groups.yaml", &job_group("east-gate", "3", 6));

    let applied = workspace.apply(&[]);
    applied.expect_code(0);
    assert!(
        applied
            .stdout
            .contains("/east-gate: updated planedJobCount after "),
        "{applied}"
    );
    assert_eq!(sent(&emulator, "ModifyJobGroup"), 1);
    assert_eq!(sent(&emulator, "CreateJobGroup"), 1);
    assert_eq!(live(&emulator, "east-gate")["planedJobCount"], 6);
    assert_eq!(emulator.ids(), ids);
    assert_eq!(
        workspace.state().unwrap().job_groups[&address("east-gate").parse().unwrap()]
            .spec
            .planed_job_count,
        6
    );
    assert_no_changes_twice(&workspace);
}

/// The newest entry `cityform history` lists for the group `name`.
fn newest_history_entry(workspace: &Workspace, name: &str) -> serde_json::Value {
    let run = workspace.run(&["history", &address(name), "--format", "json"]);
    run.expect_code(0);
    let mut json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    json["entries"][0].take()
}

#[test]
fn state_mv_then_apply_renames_the_group_in_place() {
    let emulator = Emulator::start(&[]);
    let workspace = with_groups(&emulator, &["old-name", "neighbour"]);
    workspace.apply(&[]).expect_code(0);
    let ids = emulator.ids();
    let mut manifests = job_group("new-name", "3", 1);
    manifests.push_str(&job_group("neighbour", "3", 2));
    workspace.write("manifests/groups.yaml", &manifests);

    // Refused: onto a recorded address, into another instance, to an invalid name.
    for (destination, expected) in [
        (address("neighbour"), "already records"),
        (
            format!("{REGION}/elsewhere/new-name"),
            "cannot change region or instance",
        ),
        (address("9-invalid"), "cannot move to"),
    ] {
        let refused = workspace.run(&["state", "mv", &address("old-name"), &destination]);
        refused.expect_code(1);
        assert!(refused.stderr.contains(expected), "{refused}");
    }
    let moved = workspace.run(&["state", "mv", &address("old-name"), &address("new-name")]);
    moved.expect_code(0);
    assert!(
        moved.stdout.contains("the next apply renames it"),
        "{moved}"
    );
    // The file backend keeps the state before the change; PostgreSQL keeps no copies.
    assert!(
        workspace.is_postgres()
            || workspace
                .path()
                .join(".cityform/state.json.backup")
                .exists()
    );
    assert_eq!(workspace.state_ids()["new-name"], ids["old-name"]);
    // Recorded under both addresses, each entry naming both.
    for (name, shown) in [
        ("old-name", "move to new-name"),
        ("new-name", "move from old-name"),
    ] {
        let newest = newest_history_entry(&workspace, name);
        assert_eq!(newest["action"], "move", "{newest:#}");
        assert_eq!(newest["job_group_id"], ids["old-name"].as_str());
        assert_eq!(newest["moved"]["from"], address("old-name"));
        assert_eq!(newest["moved"]["to"], address("new-name"));
        assert_eq!(newest["provenance"]["request_id"], serde_json::Value::Null);
        let text = workspace.run(&["history", &address(name)]);
        text.expect_code(0);
        assert!(text.stdout.contains(shown), "{text}");
    }

    let planned = plan(&workspace, &[]);
    assert!(planned.stdout.contains("name"), "{planned}");
    let applied = workspace.apply(&[]);
    applied.expect_code(0);
    assert_eq!(sent(&emulator, "ModifyJobGroup"), 1);
    assert_eq!(
        sent(&emulator, "CreateJobGroup"),
        2,
        "no create for the rename"
    );
    let after = emulator.ids();
    assert_eq!(
        after["new-name"], ids["old-name"],
        "the emulator kept the id"
    );
    assert!(!after.contains_key("old-name"));
    assert_no_changes_twice(&workspace);
}

// ---------------------------------------------------------------------------------------
// Prune and protection

fn set_protection(workspace: &Workspace, name: &str, prevent_destroy: bool) {
    let mut state = workspace.state().unwrap();
    state
        .job_groups
        .get_mut(&address(name).parse().unwrap())
        .unwrap()
        .prevent_destroy = prevent_destroy;
    workspace.replace_state(state);
}

#[test]
fn prune_deletes_orphans_and_refuses_to_while_one_is_protected() {
    let emulator = Emulator::start(&[]);
    let workspace = with_groups(&emulator, &["keep-me", "drop-me", "guarded"]);
    workspace.apply(&[]).expect_code(0);
    // `lifecycle: {preventDestroy: true}` recorded for `guarded`.
    set_protection(&workspace, "guarded", true);
    workspace.write("manifests/groups.yaml", &job_group("keep-me", "3", 1));

    // Without --prune, orphans are left alone.
    let left = workspace.apply(&[]);
    left.expect_code(0);
    assert!(left.stdout.contains("Nothing to apply"), "{left}");

    // With --prune, a protected orphan refuses the whole plan, in plan and in apply.
    for run in [
        plan(&workspace, &["--prune"]),
        workspace.apply(&["--prune"]),
    ] {
        run.expect_code(1);
        assert!(run.stderr.contains("`preventDestroy`"), "{run}");
        assert!(
            run.stderr.contains(&format!("`{}`", address("guarded"))),
            "{run}"
        );
    }
    assert_eq!(sent(&emulator, "DeleteJobGroup"), 0);
    assert_eq!(emulator.ids().len(), 3);

    set_protection(&workspace, "guarded", false);
    let pruned = workspace.apply(&["--prune"]);
    pruned.expect_code(0);
    assert!(pruned.last_line().contains("2 deleted"), "{pruned}");
    assert_eq!(sent(&emulator, "DeleteJobGroup"), 2);
    assert_eq!(emulator.ids().keys().collect::<Vec<_>>(), ["keep-me"]);
    assert_eq!(
        workspace.state_ids().keys().collect::<Vec<_>>(),
        ["keep-me"]
    );
    assert_no_changes_twice(&workspace);
}

/// A damaged (here: hand-edited) address made `apply --prune` delete, by the id recorded
/// under it, a live group the manifests still declare.
#[test]
fn prune_refuses_to_delete_a_live_group_whose_name_is_not_the_recorded_one() {
    let emulator = Emulator::start(&[]);
    let workspace = with_groups(&emulator, &["east-gate", "west-gate"]);
    workspace.apply(&[]).expect_code(0);
    let ids = emulator.ids();
    let mut state = workspace.state().unwrap();
    let entry = state
        .job_groups
        .remove(&address("east-gate").parse().unwrap())
        .unwrap();
    state
        .job_groups
        .insert(address("east-gatf").parse().unwrap(), entry);
    workspace.replace_state(state);

    let pruned = workspace.apply(&["--prune", "--target", &address("east-gatf")]);
    pruned.expect_code(1);
    assert!(
        pruned.stdout.contains(&format!(
            "the live group with id {} in `{REGION}/{INSTANCE}` is named `east-gate`, not `east-gatf` as the state records; nothing was deleted",
            ids["east-gate"]
        )),
        "{pruned}"
    );
    assert_eq!(sent(&emulator, "DeleteJobGroup"), 0);
    assert_eq!(emulator.ids(), ids);
    assert!(
        workspace.state_ids().contains_key("east-gatf"),
        "the refused delete kept the record"
    );
}

/// After a journal lost its last records (a truncated file), a group that this state did
/// create was reported with the hint "this state never created it":
/// the hint says only what the state knows.
#[test]
fn a_name_taken_by_a_group_the_state_lost_is_not_said_to_be_someone_elses() {
    let emulator = Emulator::start(&[]);
    let workspace = with_groups(&emulator, &["east-gate"]);
    workspace.apply(&[]).expect_code(0);
    let mut state = workspace.state().unwrap();
    // The record of the create is gone, as it is after a journal cut short before it.
    state.job_groups.clear();
    workspace.replace_state(state);

    // Without a refresh, which would find the name taken before any call: this is about
    // the service's refusal.
    let applied = workspace.apply(&["--refresh=false"]);
    applied.expect_code(1);
    let output = format!("{}{}", applied.stdout, applied.stderr);
    assert!(output.contains("already exists in instance"), "{applied}");
    assert!(!output.contains("never created"), "{applied}");
    assert!(
        output.contains("this state has no record of it"),
        "{applied}"
    );
    assert!(
        output.contains(&format!("cityform import {}", address("east-gate"))),
        "{applied}"
    );
}

// ---------------------------------------------------------------------------------------
// Import

#[test]
fn import_adopts_a_group_by_name_or_by_id_and_the_next_apply_converges_it() {
    let seed_directory = tempfile::tempdir().unwrap();
    let seed_path = seed_directory.path().join("seed.yaml");
    std::fs::write(
        &seed_path,
        format!(
            "jobGroups:\n  - {{instanceId: {INSTANCE}, name: legacy-cam, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 9, streamPerJob: 4, params: {{ES_ENABLE: \"True\"}}}}\n  - {{instanceId: {INSTANCE}, name: old-name, algoLibId: \"3\", resourceProfileId: \"6\", planedJobCount: 1, streamPerJob: 4, params: {{ES_ENABLE: \"True\"}}}}\n"
        ),
    )
    .unwrap();
    let emulator = Emulator::start(&["--seed", seed_path.to_str().unwrap()]);
    let workspace = with_groups(&emulator, &["legacy-cam", "new-name"]);
    let endpoint = workspace.endpoint.clone();
    let import = |arguments: &[&str]| {
        let mut all = vec!["import", "--endpoint", &endpoint];
        all.extend_from_slice(arguments);
        workspace.run(&all)
    };

    let undeclared = import(&[&address("someone-else")]);
    undeclared.expect_code(1);
    assert!(
        undeclared.stderr.contains("no manifest declares"),
        "{undeclared}"
    );

    let by_name = import(&[&address("legacy-cam")]);
    by_name.expect_code(0);
    assert!(by_name.stdout.contains("Imported"), "{by_name}");
    let by_id = import(&[&address("new-name"), "--id", "2"]);
    by_id.expect_code(0);
    assert!(by_id.stdout.contains("named `old-name`"), "{by_id}");
    let again = import(&[&address("legacy-cam")]);
    again.expect_code(1);
    assert!(again.stderr.contains("already in the state"), "{again}");
    assert_eq!(
        workspace.state_ids(),
        BTreeMap::from([
            ("legacy-cam".to_owned(), "1".to_owned()),
            ("new-name".to_owned(), "2".to_owned())
        ])
    );

    let planned = plan(&workspace, &[]);
    assert!(
        planned.stdout.contains("Plan: 0 to create, 2 to update"),
        "{planned}"
    );
    workspace.apply(&[]).expect_code(0);
    assert_eq!(sent(&emulator, "CreateJobGroup"), 0);
    assert_eq!(
        emulator.ids(),
        BTreeMap::from([
            ("legacy-cam".to_owned(), "1".to_owned()),
            ("new-name".to_owned(), "2".to_owned())
        ])
    );
    assert_eq!(live(&emulator, "legacy-cam")["planedJobCount"], 1);
    assert_no_changes_twice(&workspace);
}

// ---------------------------------------------------------------------------------------
// Targets

#[test]
fn target_limits_plan_and_apply_to_the_groups_named() {
    let emulator = Emulator::start(&[]);
    let workspace = with_groups(&emulator, &["alpha-cam", "beta-cam"]);
    let planned = plan(&workspace, &["--target", &address("beta-cam")]);
    planned.expect_code(0);
    assert!(planned.stdout.contains("Plan: 1 to create"), "{planned}");
    assert!(!planned.stdout.contains("alpha-cam"), "{planned}");

    workspace
        .apply(&["--target", &address("beta-cam")])
        .expect_code(0);
    assert_eq!(emulator.ids().keys().collect::<Vec<_>>(), ["beta-cam"]);

    let typo = plan(&workspace, &["--target", &address("gamma-cam")]);
    typo.expect_code(1);
    assert!(typo.stderr.contains("names no job group"), "{typo}");
}

/// `--exclude`, the opposite of `--target`: the group is neither planned nor changed, the
/// plan names it, and it can be combined with `--prune` without deleting it.
#[test]
fn exclude_leaves_the_groups_named_out_of_plan_and_apply() {
    let emulator = Emulator::start(&[]);
    let workspace = with_groups(&emulator, &["alpha-cam", "beta-cam", "gamma-cam"]);
    let planned = plan(&workspace, &["--exclude", &address("beta-cam")]);
    planned.expect_code(0);
    assert!(planned.stdout.contains("Plan: 2 to create"), "{planned}");
    assert!(
        planned.stdout.contains(&format!(
            "Excluded from the plan (1 group): `{}`; they were not compared.",
            address("beta-cam")
        )),
        "{planned}"
    );
    assert!(!planned.stdout.contains("beta-cam\" {"), "{planned}");
    let json = plan(
        &workspace,
        &["--exclude", &address("beta-cam"), "--format", "json"],
    );
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        document["excludes"],
        serde_json::json!([address("beta-cam")])
    );

    workspace
        .apply(&["--exclude", &address("beta-cam")])
        .expect_code(0);
    assert_eq!(
        emulator.ids().keys().collect::<Vec<_>>(),
        ["alpha-cam", "gamma-cam"]
    );

    // Declared no more and excluded: `--prune` leaves it alone.
    workspace.write(
        "manifests/groups.yaml",
        &job_groups(&["beta-cam".to_owned()]),
    );
    workspace.apply(&[]).expect_code(0);
    workspace.write(
        "manifests/groups.yaml",
        &job_groups(&["gamma-cam".to_owned()]),
    );
    workspace
        .apply(&["--prune", "--exclude", &address("alpha-cam")])
        .expect_code(0);
    assert_eq!(
        emulator.ids().keys().collect::<Vec<_>>(),
        ["alpha-cam", "gamma-cam"]
    );

    let typo = plan(&workspace, &["--exclude", &address("delta-cam")]);
    typo.expect_code(1);
    assert!(
        typo.stderr.contains(&format!(
            "`--exclude {}` names no job group",
            address("delta-cam")
        )),
        "{typo}"
    );
}

/// `--detailed-exitcode` says 2 exactly when apply would change something: orphans left
/// alone do not count, the same orphans with `--prune` do.
#[test]
fn orphans_left_alone_are_not_changes_for_the_detailed_exit_code() {
    let emulator = Emulator::start(&[]);
    let workspace = with_groups(&emulator, &["alpha-cam", "beta-cam"]);
    plan(&workspace, &["--detailed-exitcode"]).expect_code(2);
    workspace.apply(&[]).expect_code(0);
    plan(&workspace, &["--detailed-exitcode"]).expect_code(0);
    workspace.write(
        "manifests/groups.yaml",
        &job_groups(&["alpha-cam".to_owned()]),
    );
    let orphaned = plan(&workspace, &["--detailed-exitcode"]);
    orphaned.expect_code(0);
    assert!(orphaned.stdout.contains("beta-cam"), "{orphaned}");
    plan(&workspace, &["--detailed-exitcode", "--prune"]).expect_code(2);
}

// ---------------------------------------------------------------------------------------
// State commands, and refresh

#[test]
fn state_list_show_and_rm() {
    let emulator = Emulator::start(&[]);
    let workspace = with_groups(&emulator, &["east-gate", "west-gate"]);
    let empty = workspace.run(&["state", "list"]);
    empty.expect_code(0);
    assert_eq!(empty.stdout, "");
    workspace.apply(&[]).expect_code(0);
    let ids = emulator.ids();

    let listed = workspace.run(&["state", "list"]);
    listed.expect_code(0);
    assert_eq!(
        listed.stdout,
        format!(
            "{}  {}\n{}  {}\n",
            address("east-gate"),
            ids["east-gate"],
            address("west-gate"),
            ids["west-gate"]
        )
    );
    let json: serde_json::Value =
        serde_json::from_str(&workspace.run(&["state", "list", "--format", "json"]).stdout)
            .unwrap();
    assert_eq!(
        json["job_groups"][1]["job_group_id"],
        ids["west-gate"].as_str()
    );

    let shown = workspace.run(&["state", "show", &address("east-gate")]);
    shown.expect_code(0);
    assert!(
        shown
            .stdout
            .contains(&format!("{:<17} = \"{}\"", "id", ids["east-gate"])),
        "{shown}"
    );
    assert!(
        shown
            .stdout
            .contains(&format!("{:<17} = \"Stopped\"", "status")),
        "{shown}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &workspace
            .run(&["state", "show", &address("east-gate"), "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(json["spec"]["streamPerJob"], 4);
    let unknown = workspace.run(&["state", "show", &address("nowhere")]);
    unknown.expect_code(1);
    assert!(unknown.stderr.contains("does not record"), "{unknown}");

    let removed = workspace.run(&["state", "rm", &address("west-gate")]);
    removed.expect_code(0);
    assert!(removed.stdout.contains("was not deleted"), "{removed}");
    assert_eq!(
        workspace.state_ids().keys().collect::<Vec<_>>(),
        ["east-gate"]
    );
    assert_eq!(emulator.ids(), ids, "`state rm` deleted a group");
    let newest = newest_history_entry(&workspace, "west-gate");
    assert_eq!(newest["action"], "forget", "{newest:#}");
    assert_eq!(newest["job_group_id"], ids["west-gate"].as_str());
    assert!(newest.get("moved").is_none(), "{newest:#}");
    // The file backend keeps the state before the change; PostgreSQL keeps no copies.
    assert!(
        workspace.is_postgres()
            || workspace
                .path()
                .join(".cityform/state.json.backup")
                .exists()
    );
    // The manifest still declares it, and it still runs: the plan does not promise a
    // create the service would refuse, and says how to adopt it again, on purpose.
    let replanned = plan(&workspace, &[]);
    replanned.expect_code(1);
    assert!(
        replanned
            .stdout
            .contains("west-gate cannot be created: job group")
            && replanned.stdout.contains("#   kind: Import"),
        "{replanned}"
    );
}

#[test]
fn refresh_records_drift_and_forgets_deleted_groups() {
    let emulator = Emulator::start(&[]);
    let workspace = with_groups(&emulator, &["east-gate", "west-gate"]);
    workspace.apply(&[]).expect_code(0);
    let ids = emulator.ids();
    behind_the_back(&emulator, |client| async move {
        let mut drift = ModifyJobGroupRequest::new(REGION, INSTANCE, &ids["east-gate"]);
        drift.stream_per_job = Some(9);
        client.modify_job_group(&drift).await.unwrap();
        client
            .start_job_group(REGION, INSTANCE, &ids["east-gate"])
            .await
            .unwrap();
        client
            .delete_job_group(REGION, INSTANCE, &ids["west-gate"])
            .await
            .unwrap();
    });
    let serial = workspace.state().unwrap().serial;

    let refreshed = workspace.run(&["refresh", "--endpoint", &workspace.endpoint]);
    refreshed.expect_code(0);
    assert!(
        refreshed.stdout.contains("streamPerJob = 4 -> 9"),
        "{refreshed}"
    );
    assert!(
        refreshed.stdout.contains("status = Stopped -> Running"),
        "{refreshed}"
    );
    assert!(
        refreshed.stdout.contains("removed from the state"),
        "{refreshed}"
    );
    let state = workspace.state().unwrap();
    assert!(state.serial > serial);
    let east = &state.job_groups[&address("east-gate").parse().unwrap()];
    assert_eq!(east.spec.stream_per_job, 9);
    assert_eq!(east.status, Some(cityform::model::Status::Running));
    assert_eq!(
        workspace.state_ids().keys().collect::<Vec<_>>(),
        ["east-gate"]
    );
    assert_eq!(
        sent(&emulator, "ModifyJobGroup"),
        1,
        "refresh changed the service"
    );

    let again = workspace.run(&[
        "refresh",
        "--endpoint",
        &workspace.endpoint,
        "--format",
        "json",
    ]);
    again.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(json["findings"], serde_json::json!([]));
    assert_eq!(json["unchanged"], 1);
    assert_eq!(
        workspace.state().unwrap().serial,
        state.serial,
        "a no-op refresh wrote"
    );
}

#[test]
fn apply_with_an_emulator_of_its_own_still_works() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_bundled_manifests(&emulator);
    let run = spawn(workspace.bare_command(&["apply", "--emulator", "--auto-approve"])).finish();
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("Apply complete: 5 created, 0 recovered, 0 failed."),
        "{run}"
    );
    assert!(
        emulator.requests().is_empty(),
        "the demo used the shared emulator"
    );
}

// ---------------------------------------------------------------------------------------
// Transitional states: a start or stop is done when the service says so

/// A manifest of groups that are to be running.
fn running_groups(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("{}  status: Running\n", job_group(name, "3", 2)))
        .collect()
}

#[test]
fn a_group_stopped_behind_cityforms_back_is_started_again_and_waited_for() {
    // The reference pages' dialect: lower-case statuses, `starting` while a group starts.
    let emulator = Emulator::start(&["--dialect", "reference", "--transition-ms", "1500"]);
    let workspace = Workspace::new(&emulator);
    workspace.write("manifests/groups.yaml", &running_groups(&["east-gate"]));
    let first = workspace.apply(&["--format", "json"]);
    first.expect_code(0);
    let ready: Vec<_> = first
        .events()
        .into_iter()
        .filter(|event| event["event"] == "ready")
        .collect();
    assert_eq!(ready.len(), 1, "{first}");
    assert_eq!(ready[0]["status"], "Running");
    assert_eq!(live(&emulator, "east-gate")["status"], "Running");
    assert_no_changes_twice(&workspace);

    let ids = emulator.ids();
    behind_the_back(&emulator, |client| async move {
        client
            .stop_job_group(REGION, INSTANCE, &ids["east-gate"])
            .await
            .unwrap();
    });
    // While it stops, and once it has stopped (`stopped`, lower case), it is to be started.
    let stopping = plan(&workspace, &["--detailed-exitcode"]);
    stopping.expect_code(2);
    assert!(
        stopping
            .stdout
            .contains(r#"status = "stopping" -> "Running""#),
        "{stopping}"
    );
    std::thread::sleep(std::time::Duration::from_millis(1600));
    let stopped = plan(&workspace, &["--detailed-exitcode"]);
    stopped.expect_code(2);
    assert!(
        stopped
            .stdout
            .contains(r#"status = "Stopped" -> "Running""#),
        "{stopped}"
    );

    let applied = workspace.apply(&[]);
    applied.expect_code(0);
    assert!(
        applied.stdout.contains("east-gate: waiting until running"),
        "{applied}"
    );
    assert!(
        applied.stdout.contains("east-gate: running after"),
        "{applied}"
    );
    assert_eq!(live(&emulator, "east-gate")["status"], "Running");
    assert_no_changes_twice(&workspace);
}

#[test]
fn a_group_still_starting_is_not_drift_and_a_wait_that_times_out_fails_keeping_the_state() {
    let emulator = Emulator::start(&["--dialect", "reference", "--transition-ms", "4000"]);
    let workspace = Workspace::new(&emulator);
    workspace.write(
        "manifests/groups.yaml",
        &running_groups(&["east-gate", "west-gate"]),
    );
    let timed_out = workspace.apply(&["--wait-timeout", "1s"]);
    timed_out.expect_code(1);
    for name in ["east-gate", "west-gate"] {
        let failure = format!(
            "{name}: start failed: started [id={}], but did not become `Running` within 1s; last seen `starting`",
            emulator.ids()[name]
        );
        assert!(timed_out.stdout.contains(&failure), "{timed_out}");
    }
    assert!(timed_out.stdout.contains("--wait-timeout"), "{timed_out}");
    // Nothing is lost: both groups are recorded with their ids and the status asked for.
    assert_eq!(workspace.state_ids(), emulator.ids());
    for entry in workspace.state().unwrap().job_groups.values() {
        assert_eq!(entry.status, Some(cityform::model::Status::Running));
    }
    // Still starting: on their way, so no change.
    let starting = plan(&workspace, &["--detailed-exitcode"]);
    starting.expect_code(0);
    assert!(starting.stdout.starts_with("No changes."), "{starting}");

    // `--no-wait` returns once the calls are answered.
    let ids = emulator.ids();
    behind_the_back(&emulator, |client| async move {
        client
            .stop_job_group(REGION, INSTANCE, &ids["west-gate"])
            .await
            .unwrap();
    });
    let unwaited = workspace.apply(&["--no-wait", "--format", "json"]);
    unwaited.expect_code(0);
    let events = unwaited.events();
    assert!(
        events
            .iter()
            .any(|event| event["event"] == "status_changed"),
        "{unwaited}"
    );
    assert!(
        !events
            .iter()
            .any(|event| event["event"] == "waiting" || event["event"] == "ready"),
        "{unwaited}"
    );
}
