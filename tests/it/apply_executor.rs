//! The apply executor against the real in-process emulator and a local state in a
//! temporary directory: every create exactly once, recorded with the id the emulator
//! assigned, through lost answers, injected faults, crashes, conflicts, parallel runs and
//! interruptions.
//!
//! "Exactly once" is checked on the emulator's side (each name exists once, request counts)
//! and on the state's (a fresh load records the emulator's ids, nothing unresolved).

use crate::apply_support;

use std::collections::BTreeSet;

use apply_support::*;
use cityform::apply::{
    ApplyEvent, ApplyOptions, DUPLICATE_NAME_CODE, FailureReason, NotAppliedKind, RecoveryReason,
    execute, resolve_unresolved,
};
use cityform::cloud::ErrorClass;
use cityform::emulator::Faults;
use cityform::plan::compute;
use cityform::state::journal::{JournalRecord, parse_journal};
use cityform::state::{Backend, read_state_file};
use tokio::sync::{mpsc, oneshot};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_every_group_and_records_the_ids_the_emulator_assigned() {
    within(async {
        let harness = Harness::new().await;
        let names = names(20);
        let desired = desired(&names);

        let (plan, report, events) = plan_and_apply(&harness, &desired, &options(4)).await;

        assert_eq!(plan.summary().create, 20);
        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(report.created.len(), 20);
        assert!(report.failed.is_empty() && report.recovered.is_empty());
        let emulator = harness.emulator_ids();
        assert_eq!(emulator.keys().cloned().collect::<Vec<_>>(), names);
        assert_eq!(harness.creates_sent(), 20);
        for created in &report.created {
            assert_eq!(emulator[&created.address.name], created.job_group_id);
            assert!(!created.request_id.is_empty());
        }
        let counts = event_counts(&events);
        assert_eq!((counts["starting"], counts["created"]), (20, 20));

        let (state, unresolved) = load_state(&harness).await;
        assert_eq!(recorded_ids(&state), emulator);
        assert_eq!(unresolved, 0);
        for entry in state.job_groups.values() {
            assert_eq!(entry.spec, spec());
            assert!(entry.applied_at.ends_with('Z'), "{}", entry.applied_at);
        }
        assert!(
            !harness.backend().paths().journal.exists(),
            "the run ends compacted"
        );

        // Applying the same manifests again changes nothing.
        let (plan, report, _) = plan_and_apply(&harness, &desired, &options(4)).await;
        assert!(plan.is_empty(), "{plan:#?}");
        assert!(report.created.is_empty());
        assert_eq!(harness.creates_sent(), 20);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_recovered_by_name_and_never_sent_again() {
    within(async {
        let harness = Harness::with_faults(Faults {
            drop_after_commit: Some(3),
            ..Faults::default()
        })
        .await;
        let names = names(8);

        let (_, report, events) = plan_and_apply(&harness, &desired(&names), &options(2)).await;

        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(report.created.len(), 7);
        let [recovered] = &report.recovered[..] else {
            panic!("expected one recovered group: {report:#?}");
        };
        assert_eq!(recovered.reason, RecoveryReason::LostAnswer);
        let emulator = harness.emulator_ids();
        assert_eq!(emulator.len(), 8);
        assert_eq!(emulator[&recovered.address.name], recovered.job_group_id);
        assert_eq!(harness.creates_sent(), 8, "the lost create was not resent");
        assert!(harness.emulator.request_count("DescribeJobGroups") >= 1);
        assert!(events.contains(&ApplyEvent::Recovered {
            address: recovered.address.clone(),
            job_group_id: recovered.job_group_id.clone(),
            reason: RecoveryReason::LostAnswer,
        }));
        let (state, unresolved) = load_state(&harness).await;
        assert_eq!(recorded_ids(&state), emulator);
        assert_eq!(unresolved, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_under_throttling_and_service_errors_without_duplicates() {
    within(async {
        let mut harness = Harness::with_faults(Faults {
            throttle_rate: 0.3,
            error_rate: 0.3,
            seed: 7,
            ..Faults::default()
        })
        .await;
        // Two attempts per call, so that some creates run out of retries (throttled attempts
        // are the pacer's and do not count: the service errors do) and the run must be
        // repeated to converge.
        harness.client = client_for(&harness.emulator.endpoint(), &harness.emulator, 2);
        let names = names(100);
        let desired = desired(&names);

        let (_, first, events) = plan_and_apply(&harness, &desired, &options(10)).await;
        assert!(first.throttled > 0, "the pacer heard the throttling");
        assert!(event_counts(&events).contains_key("throttled"));
        assert!(!first.failed.is_empty(), "some creates ran out of attempts");
        assert_eq!(first.created.len() + first.failed.len(), 100);
        for failure in &first.failed {
            assert_eq!(failure.reason, FailureReason::GaveUp, "{failure:#?}");
            assert_eq!(failure.class, ErrorClass::Retryable);
            assert!(failure.hint.is_some());
        }

        let mut runs = 1;
        loop {
            let (state, unresolved) = load_state(&harness).await;
            assert_eq!(unresolved, 0);
            assert_eq!(recorded_ids(&state), harness.emulator_ids());
            if state.job_groups.len() == 100 {
                break;
            }
            assert!(runs < 10, "not converged after {runs} runs");
            plan_and_apply(&harness, &desired, &options(10)).await;
            runs += 1;
        }
        assert_eq!(
            harness.emulator_ids().keys().cloned().collect::<Vec<_>>(),
            names
        );
        let (plan, _, _) = plan_and_apply(&harness, &desired, &options(10)).await;
        assert!(plan.is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_is_resolved_before_anything_is_sent() {
    within(async {
        let harness = Harness::new().await;
        crash_after_intents(&harness, &["landed", "lost"]).await;
        // The crashed run's first create reached the service; the second never left.
        let landed = harness
            .client
            .create_job_group(REGION, INSTANCE, "landed", &spec())
            .await
            .unwrap();

        let backend = harness.backend();
        let recovered = backend.load().await.unwrap();
        assert_eq!(recovered.unresolved.len(), 2);
        // A plan saved before the crash was resolved: it creates both.
        let plan = compute(&desired(&["landed", "lost"]), recovered.state.as_ref());
        assert_eq!(plan.summary().create, 2);
        let (sender, receiver) = mpsc::channel(16);
        let collector = tokio::spawn(collect(receiver));

        let state = resolve_unresolved(&backend, &harness.client, recovered, &sender, None)
            .await
            .unwrap()
            .unwrap();

        assert_eq!(
            recorded_ids(&state),
            [("landed".to_owned(), landed.job_group_id.clone())].into()
        );
        assert_eq!(harness.emulator.request_count("DescribeJobGroups"), 1);
        // Already in the state file, not only in the journal: a run with nothing else to
        // do ends here.
        let file = read_state_file(&backend.paths().state).unwrap().unwrap();
        assert_eq!(recorded_ids(&file), recorded_ids(&state));
        let report = execute(
            &backend,
            &harness.client,
            &plan,
            &options(4),
            sender,
            std::future::pending(),
        )
        .await
        .unwrap();
        let events = collector.await.unwrap();

        // The create not found stays open (it may still land): resolution says nothing about
        // it, and apply looks it up once more before sending anything.
        assert_eq!(
            events[..3],
            [
                ApplyEvent::Resolving {
                    count: 2,
                    instances: 1
                },
                ApplyEvent::Recovered {
                    address: address("landed"),
                    job_group_id: landed.job_group_id.clone(),
                    reason: RecoveryReason::Unfinished,
                },
                ApplyEvent::Resolving {
                    count: 1,
                    instances: 1
                },
            ]
        );
        assert!(
            !events
                .iter()
                .any(|event| matches!(event, ApplyEvent::Settled { .. })),
            "{events:#?}"
        );
        let [recovered] = &report.recovered[..] else {
            panic!("{report:#?}");
        };
        assert_eq!(
            (&recovered.address, recovered.reason),
            (&address("landed"), RecoveryReason::AlreadyRecorded)
        );
        assert_eq!(report.created.len(), 1);
        assert_eq!(report.created[0].address, address("lost"));
        assert_eq!(harness.creates_sent(), 2, "one before the crash, one now");
        drop(backend);
        let (state, unresolved) = load_state(&harness).await;
        assert_eq!(unresolved, 0);
        assert_eq!(recorded_ids(&state), harness.emulator_ids());
        assert_eq!(state.lineage, "lineage-crashed");
    })
    .await;
}

/// The race a kill leaves behind: a create sent just before the kill reaches the service
/// only after the next run has listed the instance and found nothing. That run must not
/// settle the intent away: once the group exists, it is recovered, in the same run (which
/// goes on to create the group it planned) and in any later one, and never reported as a
/// conflict, since cityform itself created it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_runs_create_landing_after_the_next_run_resolved_it_is_recovered_not_a_conflict() {
    within(async {
        for same_run in [true, false] {
            let harness = Harness::new().await;
            crash_after_intents(&harness, &["late"]).await;
            let backend = harness.backend();
            let (sender, receiver) = mpsc::channel(64);
            let collector = tokio::spawn(collect(receiver));
            // The next run resolves while the killed run's create is still on its way.
            let recovered = backend.load().await.unwrap();
            let state = resolve_unresolved(&backend, &harness.client, recovered, &sender, None)
                .await
                .unwrap();
            assert!(state.as_ref().unwrap().job_groups.is_empty());
            assert_eq!(
                backend.load().await.unwrap().unresolved.len(),
                1,
                "a create not found stays open"
            );
            // Now it lands.
            let landed = harness
                .client
                .create_job_group(REGION, INSTANCE, "late", &spec())
                .await
                .unwrap();

            let (report, events) = if same_run {
                // The run goes on with the plan it made from the resolved state.
                let plan = compute(&desired(&["late"]), state.as_ref());
                assert_eq!(plan.summary().create, 1);
                let report = execute(
                    &backend,
                    &harness.client,
                    &plan,
                    &options(4),
                    sender,
                    std::future::pending(),
                )
                .await
                .unwrap();
                drop(backend);
                (report, collector.await.unwrap())
            } else {
                // That run ends before creating anything; the next one starts afresh.
                drop(sender);
                drop(backend);
                collector.await.unwrap();
                let (plan, report, events) =
                    plan_and_apply(&harness, &desired(&["late"]), &options(4)).await;
                assert!(plan.is_empty(), "{plan:#?}");
                (report, events)
            };

            assert!(report.failed.is_empty(), "same run {same_run}: {report:#?}");
            let recoveries: Vec<&ApplyEvent> = events
                .iter()
                .filter(|event| matches!(event, ApplyEvent::Recovered { .. }))
                .collect();
            assert_eq!(
                recoveries,
                [&ApplyEvent::Recovered {
                    address: address("late"),
                    job_group_id: landed.job_group_id.clone(),
                    reason: RecoveryReason::Unfinished,
                }],
                "same run {same_run}"
            );
            assert!(
                !events
                    .iter()
                    .any(|event| matches!(event, ApplyEvent::Failed { .. })),
                "{events:#?}"
            );
            assert_eq!(harness.creates_sent(), 1, "only the one that landed");
            let (state, unresolved) = load_state(&harness).await;
            assert_eq!(unresolved, 0);
            assert_eq!(recorded_ids(&state), harness.emulator_ids());
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_resolves_what_the_caller_left_unresolved() {
    within(async {
        let harness = Harness::new().await;
        crash_after_intents(&harness, &["landed", "lost"]).await;
        harness
            .client
            .create_job_group(REGION, INSTANCE, "landed", &spec())
            .await
            .unwrap();
        let backend = harness.backend();
        let recovered = backend.load().await.unwrap();
        let plan = compute(&desired(&["landed", "lost"]), recovered.state.as_ref());

        let (report, events) =
            execute_collecting(&backend, &harness.client, &plan, &options(4)).await;

        let [recovered] = &report.recovered[..] else {
            panic!("recovered once, not twice: {report:#?}");
        };
        assert_eq!(recovered.reason, RecoveryReason::Unfinished);
        assert_eq!(event_counts(&events)["recovered"], 1);
        assert_eq!(report.created.len(), 1);
        assert_eq!(harness.creates_sent(), 2);
        drop(backend);
        let (state, unresolved) = load_state(&harness).await;
        assert_eq!(unresolved, 0);
        assert_eq!(recorded_ids(&state), harness.emulator_ids());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_taken_outside_the_state_is_a_conflict_and_is_not_adopted() {
    within(async {
        let harness = Harness::new().await;
        let taken = harness
            .client
            .create_job_group(REGION, INSTANCE, "taken", &spec())
            .await
            .unwrap();

        let (_, report, events) =
            plan_and_apply(&harness, &desired(&["free", "taken"]), &options(4)).await;

        let [failure] = &report.failed[..] else {
            panic!("{report:#?}");
        };
        assert_eq!(failure.address, address("taken"));
        assert_eq!(failure.reason, FailureReason::Conflict);
        assert_eq!(failure.class, ErrorClass::Terminal);
        assert_eq!(failure.code.as_deref(), Some(DUPLICATE_NAME_CODE));
        assert!(failure.request_id.is_some());
        let hint = failure.hint.as_deref().unwrap();
        assert!(
            hint.contains("`cityform import cn-shanghai/cityvisual-Instance/taken`"),
            "{hint}"
        );
        assert!(events.contains(&ApplyEvent::Failed {
            failure: failure.clone()
        }));
        assert_eq!(
            report.created.len(),
            1,
            "the failure did not stop the others"
        );
        assert!(report.recovered.is_empty());

        let (state, unresolved) = load_state(&harness).await;
        assert_eq!(unresolved, 0, "the refused create is settled");
        assert!(!state.job_groups.contains_key(&address("taken")));
        let emulator = harness.emulator_ids();
        assert_eq!(emulator["taken"], taken.job_group_id);
        assert_eq!(emulator.len(), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_run_in_parallel_and_share_journal_flushes() {
    within(async {
        let harness = Harness::with_faults(Faults {
            latency: std::time::Duration::from_millis(50),
            ..Faults::default()
        })
        .await;
        let proxy = CountingProxy::start(&harness.emulator.endpoint()).await;
        let client = client_for(&proxy.endpoint, &harness.emulator, 6);
        let backend = harness.backend();
        let plan = compute(&desired(&names(64)), None);

        let (report, _) = execute_collecting(&backend, &client, &plan, &options(16)).await;

        assert_eq!(report.created.len(), 64);
        let max_in_flight = proxy.max_in_flight();
        assert!(
            (8..=16).contains(&max_in_flight),
            "{max_in_flight} requests in hand at once, at parallelism 16"
        );
        // 64 intents and 64 results.
        let flushes = backend.journal_flushes().await;
        assert!(
            flushes > 0 && flushes < 128,
            "{flushes} flushes for 128 records"
        );
        drop(backend);
        let (state, _) = load_state(&harness).await;
        assert_eq!(recorded_ids(&state), harness.emulator_ids());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_lets_creates_in_flight_finish_and_starts_nothing_new() {
    within(async {
        let harness = Harness::with_faults(Faults {
            latency: std::time::Duration::from_millis(50),
            ..Faults::default()
        })
        .await;
        let backend = harness.backend();
        let plan = compute(&desired(&names(40)), None);
        let (sender, mut receiver) = mpsc::channel(16);
        let (stop, stopped) = oneshot::channel::<()>();
        let watcher = tokio::spawn(async move {
            let mut stop = Some(stop);
            let mut events = Vec::new();
            let mut created = 0;
            while let Some(event) = receiver.recv().await {
                if matches!(event, ApplyEvent::Created { .. }) {
                    created += 1;
                    if created == 5 {
                        stop.take().unwrap().send(()).unwrap();
                    }
                }
                events.push(event);
            }
            events
        });

        let report = execute(
            &backend,
            &harness.client,
            &plan,
            &options(4),
            sender,
            async {
                let _ = stopped.await;
            },
        )
        .await
        .unwrap();
        let events = watcher.await.unwrap();

        assert!(report.interrupted);
        assert!(!report.is_complete());
        let stopping = events
            .iter()
            .position(|event| matches!(event, ApplyEvent::Stopping { .. }))
            .expect("a stopping event");
        assert!(
            !events[stopping..]
                .iter()
                .any(|event| matches!(event, ApplyEvent::Starting { .. })),
            "nothing starts after the stop"
        );
        let started: BTreeSet<_> = events
            .iter()
            .filter_map(|event| match event {
                ApplyEvent::Starting { address, .. } => Some(address.clone()),
                _ => None,
            })
            .collect();
        let created: BTreeSet<_> = report
            .created
            .iter()
            .map(|created| created.address.clone())
            .collect();
        assert!(created.len() >= 5);
        assert_eq!(created, started, "every create in flight finished");
        assert!(started.len() < 40);
        assert_eq!(report.not_started.len(), 40 - started.len());
        assert_eq!(harness.creates_sent(), started.len() as u64);

        drop(backend);
        let (state, unresolved) = load_state(&harness).await;
        assert_eq!(unresolved, 0);
        assert_eq!(
            state.job_groups.keys().cloned().collect::<BTreeSet<_>>(),
            created
        );
        assert_eq!(recorded_ids(&state), harness.emulator_ids());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_sends_nothing_and_writes_nothing() {
    within(async {
        let harness = Harness::new().await;
        let backend = harness.backend();
        let plan = compute(&desired(&["a1", "b1", "c1"]), None);
        let options = ApplyOptions {
            dry_run: true,
            ..options(4)
        };

        let (report, events) = execute_collecting(&backend, &harness.client, &plan, &options).await;

        assert!(report.dry_run);
        assert_eq!(
            report.would_create,
            [address("a1"), address("b1"), address("c1")]
        );
        assert_eq!(
            events,
            ["a1", "b1", "c1"]
                .map(|name| ApplyEvent::WouldCreate {
                    address: address(name)
                })
                .to_vec()
        );
        assert!(harness.emulator.request_counts().is_empty());
        assert!(!backend.paths().state.exists());
        assert!(!backend.paths().journal.exists());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_run_beside_creates_and_orphans_are_left_alone() {
    within(async {
        let harness = Harness::new().await;
        plan_and_apply(&harness, &desired(&["changed", "dropped"]), &options(4)).await;
        let before = harness.emulator.state();
        let mut changed = spec();
        changed.planed_job_count = 9;

        let (plan, report, events) = plan_and_apply(
            &harness,
            &desired_with([("changed", changed), ("new", spec())]),
            &options(4),
        )
        .await;

        let summary = plan.summary();
        assert_eq!((summary.create, summary.update, summary.orphan), (1, 1, 1));
        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(report.created.len(), 1);
        assert_eq!(report.created[0].address, address("new"));
        assert_eq!(report.updated.len(), 1);
        assert_eq!(report.updated[0].address, address("changed"));
        assert_eq!(report.updated[0].attributes, ["planedJobCount"]);
        let not_applied: Vec<_> = report
            .not_applied
            .iter()
            .map(|item| (item.address.name.as_str(), item.kind))
            .collect();
        assert_eq!(not_applied, [("dropped", NotAppliedKind::Orphan)]);
        assert_eq!(event_counts(&events)["not_applied"], 1);
        let after = harness.emulator.state();
        assert_eq!(
            after
                .job_group_named(INSTANCE, "changed")
                .map(|group| group.planed_job_count),
            Some(9)
        );
        assert_eq!(
            after.job_group_named(INSTANCE, "dropped"),
            before.job_group_named(INSTANCE, "dropped")
        );
        assert_eq!(harness.emulator.request_count("ModifyJobGroup"), 1);
        assert_eq!(harness.emulator.request_count("DeleteJobGroup"), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_is_durable_before_its_create_leaves_and_a_result_before_it_is_reported() {
    within(async {
        let harness = Harness::new().await;
        let backend = IntentWatcher {
            inner: harness.backend(),
            emulator: &harness.emulator,
            early: Default::default(),
            checked: Default::default(),
        };
        let journal = backend.inner.paths().journal.clone();
        let state_file = backend.inner.paths().state.clone();
        let plan = compute(&desired(&names(12)), None);
        let (sender, mut receiver) = mpsc::channel(16);
        // On every `created` event, the journal on disk already holds the group's result.
        let reader = tokio::spawn(async move {
            let mut checked = 0;
            while let Some(event) = receiver.recv().await {
                if let ApplyEvent::Created {
                    address,
                    job_group_id,
                    ..
                } = event
                {
                    // The journal first: compaction writes the state file before it
                    // rewrites the journal, so a result missing from the journal read here
                    // is in the state file read after.
                    let in_journal = std::fs::read(&journal).is_ok_and(|bytes| {
                        parse_journal(&bytes).unwrap().records.iter().any(|record| {
                            matches!(record, JournalRecord::Put(put)
                                if put.address == address && put.entry.job_group_id == job_group_id)
                        })
                    });
                    let recorded = in_journal
                        || read_state_file(&state_file).unwrap().is_some_and(|state| {
                            state
                                .job_groups
                                .get(&address)
                                .map(|entry| &entry.job_group_id)
                                == Some(&job_group_id)
                        });
                    assert!(recorded, "`{address}` reported before it was recorded");
                    checked += 1;
                }
            }
            checked
        });

        let report = execute(
            &backend,
            &harness.client,
            &plan,
            &options(4),
            sender,
            std::future::pending(),
        )
        .await
        .unwrap();

        assert_eq!(report.created.len(), 12);
        assert_eq!(reader.await.unwrap(), 12);
        assert_eq!(
            backend.checked.load(std::sync::atomic::Ordering::SeqCst),
            12
        );
        assert!(
            backend.early.lock().unwrap().is_empty(),
            "creates reached the service before their intent was durable: {:?}",
            backend.early.lock().unwrap()
        );
    })
    .await;
}
