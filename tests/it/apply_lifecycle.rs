//! The lifecycle after creation, through the library against the in-process emulator and a
//! local state: refresh and drift, groups deleted or renamed behind cityform's back, updates
//! in place, start and stop, protection, prune, import, targets, and what a refresh costs.
//!
//! Every scenario checks both sides: what the emulator holds afterwards, and what a fresh
//! load of the state records.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a failed unwrap is a failed test

use crate::apply_support;

use std::collections::BTreeSet;

use apply_support::*;
use cityform::apply::import::{ImportError, import};
use cityform::apply::refresh::{Finding, Instance, observe, refresh_state};
use cityform::apply::{ApplyError, ApplyEvent, ApplyReport, ChangeKind, FailureReason, execute};
use cityform::cloud::Connection;
use cityform::emulator::{EmulatorConfig, EmulatorHandle, Seed, SeedJobGroup, Status as Live};
use cityform::manifest::Desired;
use cityform::model::Status;
use cityform::plan::{Action, Observed, Plan, PlanOptions, compute_with};
use cityform::reconcile::{self, PlanRequest, Unattended};
use cityform::state::{Backend, State};
use tokio::sync::mpsc;

/// Plans `desired` after a refresh of the instances the plan needs, through the library's
/// reconcile as `cityform plan` does, with `options`.
async fn refreshed_plan(harness: &Harness, desired: &Desired, options: &PlanOptions) -> Plan {
    let connection = Connection::with_client(harness.client.clone());
    let request = PlanRequest {
        refresh: true,
        options: options.clone(),
    };
    reconcile::plan(
        &harness.backend(),
        &connection,
        desired.clone(),
        &request,
        &mut Unattended,
    )
    .await
    .unwrap()
    .plan
}

/// Executes `plan` on a freshly opened backend, collecting the events.
async fn apply(
    harness: &Harness,
    plan: &Plan,
) -> Result<(ApplyReport, Vec<ApplyEvent>), ApplyError> {
    let backend = harness.backend();
    let (sender, receiver) = mpsc::channel(16);
    let collector = tokio::spawn(collect(receiver));
    let report = execute(
        &backend,
        &harness.client,
        plan,
        &options(4),
        sender,
        std::future::pending(),
    )
    .await;
    let events = collector.await.unwrap();
    report.map(|report| (report, events))
}

/// Refreshes, plans and applies `desired`; the report must be complete.
async fn converge(
    harness: &Harness,
    desired: &Desired,
    options: &PlanOptions,
) -> (Plan, ApplyReport) {
    let plan = refreshed_plan(harness, desired, options).await;
    let (report, _) = apply(harness, &plan).await.unwrap();
    assert!(report.is_complete(), "{report:#?}");
    (plan, report)
}

fn kinds(plan: &Plan) -> Vec<(String, &'static str)> {
    plan.actions
        .iter()
        .map(|action| {
            let kind = match action {
                Action::Create { .. } => "create",
                Action::Update { .. } => "update",
                Action::SetStatus { .. } => "status",
                Action::Protect { .. } => "protect",
                Action::Delete { .. } => "delete",
                Action::BlockedDelete { .. } => "blocked",
                Action::Orphan { .. } => "orphan",
                Action::Move { .. } => "move",
                Action::Import { .. } => "import",
                Action::Forget { .. } => "forget",
            };
            (action.address().name.clone(), kind)
        })
        .collect()
}

fn pairs(expected: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    expected
        .iter()
        .map(|(name, kind)| ((*name).to_owned(), *kind))
        .collect()
}

fn no_options() -> PlanOptions {
    PlanOptions::default()
}

fn prune() -> PlanOptions {
    PlanOptions {
        prune: true,
        ..PlanOptions::default()
    }
}

async fn state(harness: &Harness) -> State {
    let (state, unresolved) = load_state(harness).await;
    assert_eq!(unresolved, 0, "an intent was left unresolved");
    state
}

fn live_group<'a>(
    emulator: &'a cityform::emulator::EmulatorState,
    name: &str,
) -> &'a cityform::emulator::JobGroup {
    emulator
        .job_group_named(INSTANCE, name)
        .unwrap_or_else(|| panic!("`{name}` is not in the emulator"))
}

/// Asserts that two plans in a row after a refresh have nothing to do.
async fn assert_no_changes(harness: &Harness, desired: &Desired) {
    for round in 0..2 {
        let plan = refreshed_plan(harness, desired, &no_options()).await;
        assert!(plan.refreshed, "round {round}: the plan was not refreshed");
        assert!(plan.is_empty(), "round {round}: {plan:#?}");
    }
}

// ---------------------------------------------------------------------------------------
// Drift, and groups deleted behind cityform's back

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_made_behind_cityforms_back_is_planned_and_applied_back() {
    within(async {
        let harness = Harness::new().await;
        let desired = desired(&["east", "west"]);
        converge(&harness, &desired, &no_options()).await;
        assert_no_changes(&harness, &desired).await;
        let ids = harness.emulator_ids();

        assert!(harness.emulator.update_job_group(&ids["east"], |group| {
            group.planed_job_count = 99;
        }));

        // Without a refresh, the state alone says nothing changed.
        let state = state(&harness).await;
        let blind = compute_with(&desired, Some(&state), None, &no_options());
        assert!(blind.is_empty() && !blind.refreshed, "{blind:#?}");

        let plan = refreshed_plan(&harness, &desired, &no_options()).await;
        let [Action::Update { changes, drift, .. }] = plan.actions.as_slice() else {
            panic!("expected one update: {plan:#?}");
        };
        assert_eq!(
            (changes[0].before.as_deref(), changes[0].after.as_deref()),
            (Some("99"), Some("2"))
        );
        assert_eq!(drift[0].attribute, "planedJobCount");
        assert_eq!(plan.unchanged, 1);

        let (report, events) = apply(&harness, &plan).await.unwrap();
        assert_eq!(report.updated.len(), 1, "{report:#?}");
        assert_eq!(report.updated[0].attributes, ["planedJobCount"]);
        assert!(events.iter().any(|event| matches!(
            event,
            ApplyEvent::Starting {
                action: ChangeKind::Update,
                ..
            }
        )));
        assert_eq!(
            live_group(&harness.emulator.state(), "east").planed_job_count,
            2
        );
        assert_eq!(harness.emulator.request_count("ModifyJobGroup"), 1);
        assert_eq!(harness.emulator_ids(), ids, "an update keeps the id");
        assert_no_changes(&harness, &desired).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_deleted_behind_cityforms_back_is_created_again_and_recorded_anew() {
    within(async {
        let harness = Harness::new().await;
        let desired = desired(&["east", "west"]);
        converge(&harness, &desired, &no_options()).await;
        let old = harness.emulator_ids();
        assert!(harness.emulator.delete_job_group(&old["east"]));

        let plan = refreshed_plan(&harness, &desired, &no_options()).await;
        assert!(
            matches!(
                plan.actions.as_slice(),
                [Action::Create { replaces_id: Some(id), .. }] if *id == old["east"]
            ),
            "{plan:#?}"
        );
        let (report, _) = apply(&harness, &plan).await.unwrap();
        assert_eq!(
            report.created.len(),
            1,
            "really created, not already recorded: {report:#?}"
        );
        assert!(report.recovered.is_empty());

        let new = harness.emulator_ids();
        assert_ne!(new["east"], old["east"]);
        assert_eq!(recorded_ids(&state(&harness).await), new);
        assert_no_changes(&harness, &desired).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_behind_cityforms_back_is_renamed_back_keeping_the_id() {
    within(async {
        let harness = Harness::new().await;
        let desired = desired(&["east"]);
        converge(&harness, &desired, &no_options()).await;
        let ids = harness.emulator_ids();
        harness
            .emulator
            .update_job_group(&ids["east"], |group| group.name = "by-hand".into());

        let (plan, report) = converge(&harness, &desired, &no_options()).await;
        assert_eq!(kinds(&plan), pairs(&[("east", "update")]));
        assert_eq!(report.updated[0].attributes, ["name"]);
        assert_eq!(harness.emulator_ids(), ids);
        assert_no_changes(&harness, &desired).await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Updates in place

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_sends_only_what_changed_and_keeps_params_the_manifests_leave_out() {
    within(async {
        let harness = Harness::new().await;
        let mut first = spec();
        first.params.insert("ES_ENABLE".into(), "False".into());
        converge(&harness, &desired_with([("east", first)]), &no_options()).await;
        let id = harness.emulator_ids()["east"].clone();
        // Someone turns on a param the manifests do not manage.
        harness.emulator.update_job_group(&id, |group| {
            group.params.insert("RDS_ENABLE".into(), "True".into());
        });

        let mut second = spec();
        second.params.insert("ES_ENABLE".into(), "True".into());
        second.stream_per_job = 3;
        let desired = desired_with([("east", second)]);
        let (plan, report) = converge(&harness, &desired, &no_options()).await;

        assert_eq!(kinds(&plan), pairs(&[("east", "update")]));
        assert_eq!(
            report.updated[0].attributes,
            ["streamPerJob", "params.ES_ENABLE"]
        );
        let live = harness.emulator.state();
        let group = live_group(&live, "east");
        assert_eq!(group.stream_per_job, 3);
        assert_eq!(
            group.params,
            [
                ("ES_ENABLE".to_owned(), "True".to_owned()),
                ("RDS_ENABLE".to_owned(), "True".to_owned()),
            ]
            .into_iter()
            .collect::<cityform::model::JobGroupParams>(),
            "the param set by hand was kept"
        );
        let recorded = state(&harness).await.job_groups[&address("east")].clone();
        assert_eq!(recorded.job_group_id, id);
        assert_eq!(recorded.spec.stream_per_job, 3);
        assert_eq!(
            recorded.spec.params.get("RDS_ENABLE").map(String::as_str),
            Some("True")
        );
        assert!(!recorded.request_id.is_empty());
        assert_no_changes(&harness, &desired).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_of_a_group_gone_since_the_plan_fails_as_gone_and_is_created_by_the_next() {
    within(async {
        let harness = Harness::new().await;
        converge(&harness, &desired(&["east"]), &no_options()).await;
        let mut changed = spec();
        changed.planed_job_count = 7;
        let desired = desired_with([("east", changed)]);
        let plan = refreshed_plan(&harness, &desired, &no_options()).await;
        harness
            .emulator
            .delete_job_group(&harness.emulator_ids()["east"]);

        let (report, _) = apply(&harness, &plan).await.unwrap();
        assert_eq!(report.failed.len(), 1, "{report:#?}");
        assert_eq!(report.failed[0].reason, FailureReason::Gone);
        assert_eq!(report.failed[0].action, ChangeKind::Update);

        let (plan, _) = converge(&harness, &desired, &no_options()).await;
        assert_eq!(kinds(&plan), pairs(&[("east", "create")]));
        assert_eq!(
            live_group(&harness.emulator.state(), "east").planed_job_count,
            7
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Start and stop

fn with_status(mut desired: Desired, name: &str, status: Status) -> Desired {
    desired.groups.get_mut(&address(name)).unwrap().status = Some(status);
    desired
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_started_after_its_create_and_stopped_on_request() {
    within(async {
        let harness = Harness::new().await;
        let desired = with_status(desired(&["east", "west"]), "east", Status::Running);

        let (plan, report) = converge(&harness, &desired, &no_options()).await;
        assert_eq!(
            kinds(&plan),
            pairs(&[("east", "create"), ("east", "status"), ("west", "create")])
        );
        assert_eq!(report.status_changed.len(), 1);
        assert_eq!(report.status_changed[0].status, Status::Running);
        let live = harness.emulator.state();
        assert_eq!(live_group(&live, "east").status, Live::Running);
        assert_eq!(live_group(&live, "west").status, Live::Stopped);
        let recorded = state(&harness).await;
        assert_eq!(
            recorded.job_groups[&address("east")].status,
            Some(Status::Running)
        );
        assert_eq!(
            recorded.job_groups[&address("west")].status,
            Some(Status::Stopped)
        );
        assert_eq!(harness.emulator.request_count("StartJobGroup"), 1);
        assert_no_changes(&harness, &desired).await;

        // Stopped by hand: the refresh sees it and the plan starts it again.
        harness
            .emulator
            .update_job_group(&harness.emulator_ids()["east"], |group| {
                group.status = Live::Stopped;
            });
        let (plan, _) = converge(&harness, &desired, &no_options()).await;
        assert!(
            matches!(
                plan.actions.as_slice(),
                [Action::SetStatus {
                    from: Some(Status::Stopped),
                    to: Status::Running,
                    ..
                }]
            ),
            "{plan:#?}"
        );
        assert_eq!(
            live_group(&harness.emulator.state(), "east").status,
            Live::Running
        );

        let stopped = with_status(desired, "east", Status::Stopped);
        converge(&harness, &stopped, &no_options()).await;
        assert_eq!(
            live_group(&harness.emulator.state(), "east").status,
            Live::Stopped
        );
        assert_eq!(harness.emulator.request_count("StopJobGroup"), 1);
        assert_no_changes(&harness, &stopped).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_and_a_start_of_one_group_both_land_in_the_state() {
    within(async {
        let harness = Harness::new().await;
        converge(&harness, &desired(&["east"]), &no_options()).await;
        let mut changed = spec();
        changed.planed_job_count = 5;
        let desired = with_status(desired_with([("east", changed)]), "east", Status::Running);

        let (plan, _) = converge(&harness, &desired, &no_options()).await;
        assert_eq!(
            kinds(&plan),
            pairs(&[("east", "update"), ("east", "status")])
        );
        let recorded = state(&harness).await.job_groups[&address("east")].clone();
        // The start, recorded after the update, kept the update's spec.
        assert_eq!(recorded.spec.planed_job_count, 5);
        assert_eq!(recorded.status, Some(Status::Running));
        let live = harness.emulator.state();
        assert_eq!(live_group(&live, "east").planed_job_count, 5);
        assert_eq!(live_group(&live, "east").status, Live::Running);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_whose_create_failed_is_not_started() {
    within(async {
        let harness = Harness::new().await;
        let mut broken = spec();
        broken.algo_lib_id = "404".into();
        let desired = with_status(desired_with([("east", broken)]), "east", Status::Running);
        let plan = refreshed_plan(&harness, &desired, &no_options()).await;

        let (report, _) = apply(&harness, &plan).await.unwrap();
        assert_eq!(report.failed.len(), 1, "{report:#?}");
        assert_eq!(report.not_started, [address("east")]);
        assert!(!report.is_complete());
        assert_eq!(harness.emulator.request_count("StartJobGroup"), 0);
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Protection and prune

fn protected(mut desired: Desired, name: &str, prevent_destroy: bool) -> Desired {
    desired
        .groups
        .get_mut(&address(name))
        .unwrap()
        .lifecycle
        .prevent_destroy = Some(prevent_destroy);
    desired
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_orphans_but_never_protected_ones_until_the_protection_is_lifted() {
    within(async {
        let harness = Harness::new().await;
        let all = protected(desired(&["free", "kept", "stays"]), "kept", true);
        converge(&harness, &all, &no_options()).await;
        assert!(state(&harness).await.job_groups[&address("kept")].prevent_destroy);
        let only_stays = desired(&["stays"]);

        // Without --prune, orphans are left alone.
        let (plan, report) = converge(&harness, &only_stays, &no_options()).await;
        assert_eq!(
            kinds(&plan),
            pairs(&[("free", "orphan"), ("kept", "orphan")])
        );
        assert_eq!(report.not_applied.len(), 2);
        assert_eq!(harness.emulator_ids().len(), 3);

        // With --prune, a protected group blocks the whole plan: nothing is deleted.
        let plan = refreshed_plan(&harness, &only_stays, &prune()).await;
        assert_eq!(
            kinds(&plan),
            pairs(&[("free", "delete"), ("kept", "blocked")])
        );
        let error = apply(&harness, &plan).await.unwrap_err();
        assert!(
            matches!(&error, ApplyError::Blocked { addresses } if *addresses == [address("kept")])
        );
        assert!(
            error
                .to_string()
                .contains("`cn-shanghai/cityvisual-Instance/kept`"),
            "{error}"
        );
        assert_eq!(harness.emulator_ids().len(), 3);
        assert_eq!(harness.emulator.request_count("DeleteJobGroup"), 0);

        // Lifting the protection is recorded without any call...
        let lifted = protected(desired(&["kept", "stays"]), "kept", false);
        let requests_before = harness.emulator.request_counts();
        let (plan, report) = converge(&harness, &lifted, &no_options()).await;
        assert_eq!(
            kinds(&plan),
            pairs(&[("free", "orphan"), ("kept", "protect")])
        );
        assert_eq!(report.protected.len(), 1);
        assert!(!state(&harness).await.job_groups[&address("kept")].prevent_destroy);
        let mut requests_after = harness.emulator.request_counts();
        requests_after.remove("DescribeJobGroups");
        let mut requests_before = requests_before;
        requests_before.remove("DescribeJobGroups");
        assert_eq!(requests_after, requests_before, "protecting sent something");

        // ...and then prune deletes both orphans.
        let (plan, report) = converge(&harness, &only_stays, &prune()).await;
        assert_eq!(
            kinds(&plan),
            pairs(&[("free", "delete"), ("kept", "delete")])
        );
        assert_eq!(report.deleted.len(), 2);
        assert!(report.deleted.iter().all(|deleted| !deleted.already_gone));
        assert_eq!(harness.emulator_ids().keys().collect::<Vec<_>>(), ["stays"]);
        assert_eq!(
            state(&harness)
                .await
                .job_groups
                .keys()
                .cloned()
                .collect::<Vec<_>>(),
            [address("stays")]
        );
        assert_no_changes(&harness, &only_stays).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_a_group_already_deleted_outside_only_forgets_it() {
    within(async {
        let harness = Harness::new().await;
        converge(&harness, &desired(&["gone", "stays"]), &no_options()).await;
        harness
            .emulator
            .delete_job_group(&harness.emulator_ids()["gone"]);
        let state_now = state(&harness).await;
        // Planned from the state alone, the delete is sent and answered `NotFound`.
        let plan = compute_with(&desired(&["stays"]), Some(&state_now), None, &prune());
        let (report, events) = apply(&harness, &plan).await.unwrap();
        assert_eq!(report.deleted.len(), 1, "{report:#?}");
        assert!(report.deleted[0].already_gone);
        assert!(events.iter().any(|event| matches!(
            event,
            ApplyEvent::Deleted {
                already_gone: true,
                ..
            }
        )));
        assert!(
            !state(&harness)
                .await
                .job_groups
                .contains_key(&address("gone"))
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Targets

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_limit_what_is_planned_refreshed_and_applied() {
    within(async {
        let harness = Harness::new().await;
        converge(&harness, &desired(&["alpha", "beta"]), &no_options()).await;
        let mut changed = spec();
        changed.planed_job_count = 8;
        let desired = desired_with([
            ("alpha", changed.clone()),
            ("beta", changed),
            ("gamma", spec()),
        ]);
        let options = PlanOptions {
            targets: BTreeSet::from([address("beta")]),
            ..PlanOptions::default()
        };
        let (plan, _) = converge(&harness, &desired, &options).await;
        assert_eq!(kinds(&plan), pairs(&[("beta", "update")]));
        assert_eq!(plan.targets, [address("beta")]);
        let live = harness.emulator.state();
        assert_eq!(live_group(&live, "alpha").planed_job_count, 2);
        assert_eq!(live_group(&live, "beta").planed_job_count, 8);
        assert!(live.job_group_named(INSTANCE, "gamma").is_none());
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Import

fn seeded(name: &str, planed_job_count: u32) -> SeedJobGroup {
    SeedJobGroup {
        region_id: None,
        instance_id: INSTANCE.into(),
        name: name.into(),
        algo_lib_id: "3".into(),
        resource_profile_id: "6".into(),
        planed_job_count,
        stream_per_job: 1,
        job_count: Some(4),
        status: Some(Live::Running),
        params: Default::default(),
    }
}

/// A harness whose emulator already holds `groups`, created by hand.
async fn harness_with(groups: Vec<SeedJobGroup>, instances: Vec<String>) -> Harness {
    let emulator = cityform::emulator::start(EmulatorConfig {
        seed: Seed {
            instances,
            job_groups: groups,
            ..Seed::default()
        },
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    harness_around(emulator)
}

fn harness_around(emulator: EmulatorHandle) -> Harness {
    let client = client_for(&emulator.endpoint(), &emulator, 6);
    Harness {
        emulator,
        client,
        directory: tempfile::tempdir().unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_by_name_records_the_live_group_and_the_next_plan_shows_the_difference() {
    within(async {
        let harness = harness_with(vec![seeded("legacy", 9)], Vec::new()).await;
        let desired = desired(&["legacy"]);
        let backend = harness.backend();

        let imported = import(
            &backend,
            &harness.client,
            &desired,
            &address("legacy"),
            None,
            None,
        )
        .await
        .unwrap();
        assert_eq!(imported.job_group_id, "1");
        assert_eq!(imported.spec.planed_job_count, 9);
        assert_eq!(imported.status, Some(Status::Running));
        let again = import(
            &backend,
            &harness.client,
            &desired,
            &address("legacy"),
            None,
            None,
        )
        .await;
        assert!(
            matches!(again, Err(ImportError::AlreadyRecorded { .. })),
            "{again:?}"
        );
        drop(backend);

        let recorded = state(&harness).await.job_groups[&address("legacy")].clone();
        assert_eq!(recorded.job_group_id, "1");
        assert_eq!(recorded.spec.job_count, Some(4));

        let (plan, _) = converge(&harness, &desired, &no_options()).await;
        assert_eq!(kinds(&plan), pairs(&[("legacy", "update")]));
        assert_eq!(harness.emulator.request_count("CreateJobGroup"), 0);
        assert_eq!(
            live_group(&harness.emulator.state(), "legacy").planed_job_count,
            2
        );
        assert_no_changes(&harness, &desired).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_by_id_adopts_a_group_of_another_name_which_the_next_apply_renames() {
    within(async {
        let harness =
            harness_with(vec![seeded("other", 2), seeded("old-name", 2)], Vec::new()).await;
        let desired = desired(&["new-name"]);
        let backend = harness.backend();
        let imported = import(
            &backend,
            &harness.client,
            &desired,
            &address("new-name"),
            Some("2"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(imported.live_name, "old-name");
        // By id, one describe with the filter, not a listing.
        assert_eq!(harness.emulator.request_count("DescribeJobGroups"), 1);
        let missing = import(
            &backend,
            &harness.client,
            &apply_support::desired(&["x"]),
            &address("x"),
            Some("77"),
            None,
        )
        .await;
        assert!(
            matches!(missing, Err(ImportError::NoSuchId { .. })),
            "{missing:?}"
        );
        drop(backend);

        let (plan, report) = converge(&harness, &desired, &no_options()).await;
        assert_eq!(kinds(&plan), pairs(&[("new-name", "update")]));
        assert_eq!(report.updated[0].attributes, ["name"]);
        let live = harness.emulator.state();
        assert_eq!(live_group(&live, "new-name").job_group_id, 2);
        assert!(live.job_group_named(INSTANCE, "old-name").is_none());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_refuses_undeclared_addresses_unknown_names_and_groups_already_managed() {
    within(async {
        let harness = harness_with(vec![seeded("legacy", 2)], Vec::new()).await;
        let backend = harness.backend();
        let undeclared = import(
            &backend,
            &harness.client,
            &Desired::default(),
            &address("legacy"),
            None,
            None,
        )
        .await;
        assert!(
            matches!(undeclared, Err(ImportError::NotDeclared { .. })),
            "{undeclared:?}"
        );
        let unknown = import(
            &backend,
            &harness.client,
            &desired(&["nobody"]),
            &address("nobody"),
            None,
            None,
        )
        .await;
        assert!(
            matches!(unknown, Err(ImportError::NoSuchName { .. })),
            "{unknown:?}"
        );
        assert!(
            backend.load().await.unwrap().state.is_none(),
            "a refused import wrote a state"
        );

        let both = desired(&["legacy", "twice"]);
        import(
            &backend,
            &harness.client,
            &both,
            &address("legacy"),
            None,
            None,
        )
        .await
        .unwrap();
        let twice = import(
            &backend,
            &harness.client,
            &both,
            &address("twice"),
            Some("1"),
            None,
        )
        .await;
        let Err(error @ ImportError::IdAlreadyRecorded { .. }) = twice else {
            panic!("{twice:?}");
        };
        assert!(error.to_string().contains("state mv"), "{error}");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Refresh: the state brought up to date, and what it costs

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshing_the_state_records_live_values_and_forgets_groups_gone() {
    within(async {
        let harness = Harness::new().await;
        let desired = desired(&["changed", "gone", "same"]);
        converge(&harness, &desired, &no_options()).await;
        let ids = harness.emulator_ids();
        harness.emulator.update_job_group(&ids["changed"], |group| {
            group.planed_job_count = 40;
            group.status = Live::Running;
        });
        harness.emulator.delete_job_group(&ids["gone"]);

        let backend = harness.backend();
        let before = backend.load().await.unwrap().state.unwrap();
        let instances = BTreeSet::from([Instance {
            region_id: REGION.into(),
            instance_id: INSTANCE.into(),
        }]);
        let observed: Observed = observe(&harness.client, &instances, Some(&before))
            .await
            .unwrap();
        let refresh = refresh_state(&before, &observed);
        assert_eq!(refresh.unchanged, 1);
        assert!(
            matches!(refresh.findings[1], Finding::Gone { .. }),
            "{:?}",
            refresh.findings
        );
        backend.append(&refresh.records).await.unwrap();
        backend.compact().await.unwrap();
        drop(backend);

        let after = state(&harness).await;
        let changed = &after.job_groups[&address("changed")];
        assert_eq!(changed.spec.planed_job_count, 40);
        assert_eq!(changed.status, Some(Status::Running));
        assert!(!after.job_groups.contains_key(&address("gone")));
        assert_eq!(
            after.job_groups[&address("same")],
            before.job_groups[&address("same")]
        );

        // Nothing changed since: a second refresh finds nothing and writes nothing.
        let observed = observe(&harness.client, &instances, Some(&after))
            .await
            .unwrap();
        let again = refresh_state(&after, &observed);
        assert!(
            again.records.is_empty() && again.findings.is_empty(),
            "{again:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refreshed_plan_over_500_groups_in_2_instances_costs_the_paging_minimum() {
    within(async {
        const PER_INSTANCE: usize = 250;
        const PAGE_SIZE: usize = 100;
        let second = "cityvisual-Second";
        let mut seed = Vec::new();
        for instance in [INSTANCE, second] {
            for index in 0..PER_INSTANCE {
                seed.push(SeedJobGroup {
                    status: None,
                    job_count: None,
                    ..seeded(&format!("group-{index:03}"), 2)
                });
                if let Some(group) = seed.last_mut() {
                    group.instance_id = instance.into();
                }
            }
        }
        let harness = harness_with(seed, vec![second.into()]).await;
        // The state records every group by the id the seed gave it (1, 2, ... in order).
        let mut desired = Desired::default();
        let mut recorded = State::new("lineage-500");
        let template = desired_with([("x", spec())])
            .groups
            .into_values()
            .next()
            .unwrap();
        for group in harness.emulator.state().job_groups {
            let address = cityform::model::Address::new(
                REGION,
                group.scope.instance_id.clone(),
                group.name.clone(),
            );
            desired.groups.insert(address.clone(), template.clone());
            recorded.job_groups.insert(
                address,
                cityform::state::StateEntry::new(
                    group.job_group_id.to_string(),
                    spec(),
                    "seeded",
                    "2026-11-27T08:00:00Z",
                ),
            );
        }
        assert_eq!(recorded.job_groups.len(), 2 * PER_INSTANCE);
        harness.backend().create(recorded).await.unwrap();

        for round in 1..=2 {
            let plan = refreshed_plan(&harness, &desired, &no_options()).await;
            assert!(plan.refreshed);
            assert!(plan.is_empty(), "round {round}: {:?}", plan.summary());
            assert_eq!(plan.unchanged, 2 * PER_INSTANCE);
            let pages_per_instance = PER_INSTANCE.div_ceil(PAGE_SIZE) as u64;
            assert_eq!(
                harness.emulator.request_count("DescribeJobGroups"),
                round * 2 * pages_per_instance,
                "round {round}: one paged listing per instance, not one call per group"
            );
        }
        assert_eq!(
            harness.emulator.request_counts().len(),
            1,
            "only listings were sent"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_plan_lists_the_manifests_instance_once_to_check_the_names() {
    within(async {
        let harness = Harness::new().await;
        let plan = refreshed_plan(&harness, &desired(&["a", "b"]), &no_options()).await;
        assert!(plan.refreshed);
        assert_eq!(plan.summary().create, 2);
        assert!(plan.conflicts.is_empty());
        assert_eq!(harness.emulator.request_count("DescribeJobGroups"), 1);
        assert_eq!(harness.emulator.request_counts().len(), 1, "only a listing");
    })
    .await;
}
