//! `cityform apply` end to end: the real binary against a real `cityform emulator` process,
//! in a throw-away workspace. Crashes (SIGKILL at varying moments), lost answers, injected
//! faults, two applies at once, saved plans, refusals, failures, conflicts and Ctrl-C must
//! all end with every declared group existing exactly once and recorded with its id.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_apply_support;

use std::time::{Duration, Instant};

use cli_apply_support::proxy::Proxy;
use cli_apply_support::{Emulator, Run, Workspace, assert_converged, job_group, names, spawn};

const BUNDLED: [&str; 5] = [
    "safety-people-square",
    "safety-stations",
    "traffic-east",
    "traffic-tunnels",
    "traffic-west",
];

fn bundled_names() -> Vec<String> {
    BUNDLED.iter().map(|name| (*name).to_owned()).collect()
}

fn count_lines(text: &str, needle: &str) -> usize {
    text.lines().filter(|line| line.contains(needle)).count()
}

fn creates_sent(emulator: &Emulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|line| line.contains(" CreateJobGroup "))
        .count()
}

/// Applies until a run says there is nothing to do, at most `runs` times.
fn apply_until_no_changes(workspace: &Workspace, runs: usize) -> Vec<Run> {
    let mut history = Vec::new();
    for _ in 0..runs {
        let run = workspace.apply(&[]);
        let done = run.code == Some(0) && run.stdout.starts_with("No changes.");
        history.push(run);
        if done {
            return history;
        }
    }
    panic!(
        "still not converged after {runs} runs; the last:\n{}",
        history.last().unwrap()
    );
}

#[test]
fn bundled_manifests_are_created_recorded_and_then_unchanged() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_bundled_manifests(&emulator);

    // One call at a time. The next call may start while the last result is being
    // recorded, so the snapshot takes the progress lines sorted.
    let first = workspace.apply(&["--parallelism", "1"]);
    first.expect_code(0);
    assert_eq!(
        first.last_line(),
        "Apply complete: 5 created, 0 recovered, 0 failed.",
        "{first}"
    );
    assert_converged(&emulator, &workspace, &bundled_names());
    for (name, id) in emulator.ids() {
        assert!(
            first.stdout.contains(&format!("/{name}: created after ")),
            "{name} not reported as created:\n{first}"
        );
        assert_eq!(
            count_lines(&first.stdout, &format!("[id={id}]")),
            1,
            "{first}"
        );
    }
    insta::with_settings!({filters => vec![
        (r"\[id=\d+\]", "[id=ID]"),
        (r"created after \d+\.\d\ds", "created after [ELAPSED]"),
    ]}, {
        insta::assert_snapshot!(
            "first_apply_of_the_bundled_manifests",
            progress_lines_sorted(&first.stdout)
        );
    });
    let ids = emulator.ids();
    assert_eq!(creates_sent(&emulator), 5);

    let second = workspace.apply(&[]);
    second.expect_code(0);
    assert!(second.stdout.starts_with("No changes."), "{second}");
    assert_eq!(creates_sent(&emulator), 5, "the second apply sent a create");
    assert_eq!(emulator.ids(), ids);
    assert_eq!(workspace.state_ids(), ids);
}

#[test]
fn json_output_is_one_event_per_line_ending_with_the_summary() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_bundled_manifests(&emulator);

    let run = workspace.apply(&["--format", "json"]);
    run.expect_code(0);
    let events = run.events();
    for event in &events {
        assert!(event["event"].is_string(), "no `event` in {event}");
    }
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary", "{run}");
    assert_eq!(summary["created"].as_array().unwrap().len(), 5, "{summary}");
    assert_eq!(summary["failed"].as_array().unwrap().len(), 0, "{summary}");
    let ids = emulator.ids();
    let created: Vec<_> = events
        .iter()
        .filter(|event| event["event"] == "created")
        .collect();
    assert_eq!(created.len(), 5, "{run}");
    for event in created {
        let address = event["address"].as_str().unwrap();
        let name = address.rsplit('/').next().unwrap();
        assert_eq!(event["job_group_id"].as_str(), Some(ids[name].as_str()));
    }
    assert_eq!(workspace.state_ids(), ids);

    let again = workspace.apply(&["--format", "json"]);
    again.expect_code(0);
    let events = again.events();
    let summary = events
        .last()
        .unwrap_or_else(|| panic!("no output\n{again}"));
    assert_eq!(summary["event"], "summary", "{again}");
    assert_eq!(summary["created"].as_array().unwrap().len(), 0, "{again}");
    assert_eq!(summary["not_applied"], serde_json::json!([]), "{again}");

    // Groups no manifest declares any more are orphans: reported, left alone.
    std::fs::remove_file(workspace.path().join("manifests/safety.yaml")).unwrap();
    let orphans = workspace.apply(&["--format", "json"]);
    orphans.expect_code(0);
    let events = orphans.events();
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary", "{orphans}");
    let not_applied: Vec<(&str, &str, &str)> = summary["not_applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["address"].as_str().unwrap(),
                entry["job_group_id"].as_str().unwrap(),
                entry["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        not_applied,
        [
            (
                "cn-shanghai/cityvisual-Instance/safety-people-square",
                ids["safety-people-square"].as_str(),
                "orphan"
            ),
            (
                "cn-shanghai/cityvisual-Instance/safety-stations",
                ids["safety-stations"].as_str(),
                "orphan"
            ),
        ],
        "{orphans}"
    );
    assert_eq!(creates_sent(&emulator), 5);
    assert_eq!(emulator.ids(), ids);
    assert_eq!(workspace.state_ids(), ids);
}

/// SIGKILL lands at 24 different moments spread over the whole run: a third of them early
/// (starting up, resolving what the last kill left, intents written), the others after a
/// number of groups that grows towards 200, with creates in flight. Then apply runs until
/// it has nothing left.
#[test]
fn killed_at_varying_moments_then_rerun_creates_each_group_exactly_once() {
    let started = Instant::now();
    // About half a second of creates per run, so that a kill finds the run still going.
    let emulator = Emulator::start(&["--latency-ms", "10", "--quiet"]);
    let declared = names("crash", 200);
    let workspace = Workspace::with_groups(&emulator, &declared);

    let mut mid_run = 0;
    let mut before_any_create = 0;
    let mut resolving_runs = 0;
    let mut recovered_groups = 0;
    let mut finished_unkilled = 0;
    for round in 0..24_u64 {
        let before = emulator.groups().len();
        let mut running = workspace.spawn_apply(&["--parallelism", "4", "--format", "json"]);
        if round % 3 == 2 {
            // After 0..=22 lines of any kind: while resolving what the last kill left, or
            // between intents and results.
            for _ in 0..(round * 7) % 23 {
                if running.next_line().is_none() {
                    break;
                }
            }
        } else {
            // Once the groups created reach a target that moves from 7 to 190 over the
            // rounds, and this run created at least one; then 0..9 ms later.
            let target = usize::try_from((round + 1) * 190 / 24).unwrap();
            let mut results = 0;
            while results == 0 || before + results < target {
                if !running.read_until(|line| line.contains(r#""event":"created""#)) {
                    break;
                }
                results += 1;
            }
            std::thread::sleep(Duration::from_millis((round * 7) % 10));
        }
        let run = running.kill();
        if run.code.is_some() {
            finished_unkilled += 1;
        }
        resolving_runs += usize::from(run.stdout.contains(r#""event":"resolving""#));
        recovered_groups += count_lines(&run.stdout, r#""event":"recovered""#);
        let after = emulator.groups().len();
        assert!(after >= before, "groups disappeared");
        if after == before {
            before_any_create += 1;
        } else if after < declared.len() {
            mid_run += 1;
        }
    }
    let kills = 24 - finished_unkilled;

    let history = apply_until_no_changes(&workspace, 5);
    for run in &history {
        resolving_runs += usize::from(run.stdout.contains("Resolving "));
        recovered_groups += count_lines(&run.stdout, ": recovered [id=");
    }
    assert_converged(&emulator, &workspace, &declared);
    assert_eq!(emulator.groups().len(), 200);

    eprintln!(
        "{kills} kills: {mid_run} mid-run, {before_any_create} before any create; \
         {resolving_runs} runs resolved unfinished creates, {recovered_groups} groups recovered; \
         {:?}",
        started.elapsed()
    );
    assert!(
        kills >= 20,
        "only {kills} runs were still running when killed"
    );
    assert!(
        mid_run >= 14,
        "only {mid_run} kills landed after a create and before the last"
    );
    assert!(
        resolving_runs >= 1,
        "no kill left an unfinished create for the next run to resolve"
    );
    assert!(
        recovered_groups >= 1,
        "no kill landed between a group's creation and its record"
    );
}

#[test]
fn a_lost_answer_is_recovered_by_name_not_created_again() {
    let emulator = Emulator::start(&["--drop-after-commit", "3"]);
    let workspace = Workspace::with_bundled_manifests(&emulator);

    let run = workspace.apply(&["--parallelism", "1"]);
    run.expect_code(0);
    assert_eq!(count_lines(&run.stdout, ": recovered [id="), 1, "{run}");
    assert!(
        run.stdout.contains("(the answer was lost; found by name)"),
        "{run}"
    );
    assert_eq!(
        run.last_line(),
        "Apply complete: 4 created, 1 recovered, 0 failed.",
        "{run}"
    );
    assert_converged(&emulator, &workspace, &bundled_names());
    assert_eq!(creates_sent(&emulator), 5, "a create was sent twice");
}

#[test]
fn throttling_and_errors_converge_without_duplicates() {
    let emulator = Emulator::start(&[
        "--throttle-rate",
        "0.3",
        "--error-rate",
        "0.1",
        "--fault-seed",
        "11",
        "--quiet",
    ]);
    let declared = names("faulty", 50);
    let workspace = Workspace::with_groups(&emulator, &declared);

    let mut throttled = 0;
    let mut runs = Vec::new();
    for _ in 0..5 {
        let run = workspace.apply(&["--format", "json"]);
        let events = run.events();
        let summary = events.last().unwrap_or_else(|| panic!("no output\n{run}"));
        assert_eq!(summary["event"], "summary", "{run}");
        throttled += summary["throttled"].as_u64().unwrap();
        let success = run.code == Some(0);
        runs.push(run);
        if success {
            break;
        }
    }
    assert_eq!(
        runs.last().unwrap().code,
        Some(0),
        "no success in 5 runs:\n{}",
        runs.last().unwrap()
    );
    eprintln!("{} run(s), {throttled} throttled answers", runs.len());
    assert!(throttled > 0, "the faults never throttled anything");
    assert_converged(&emulator, &workspace, &declared);
    let again = workspace.apply(&[]);
    again.expect_code(0);
    assert!(again.stdout.starts_with("No changes."), "{again}");
}

#[test]
fn two_applies_at_once_one_holds_the_lock_the_other_is_refused() {
    let emulator = Emulator::start(&["--latency-ms", "50"]);
    let declared = names("locked", 20);
    let workspace = Workspace::with_groups(&emulator, &declared);

    let first = workspace.spawn_apply(&["--parallelism", "2"]);
    let second = workspace.spawn_apply(&["--parallelism", "2"]);
    let runs = [first.finish(), second.finish()];

    let winners: Vec<&Run> = runs.iter().filter(|run| run.code == Some(0)).collect();
    let losers: Vec<&Run> = runs.iter().filter(|run| run.code == Some(1)).collect();
    assert_eq!(
        (winners.len(), losers.len()),
        (1, 1),
        "{}\n{}",
        runs[0],
        runs[1]
    );
    // The holder is named on both backends, even for a run that lost the race by a moment.
    assert!(
        losers[0].stderr.contains("is locked by pid"),
        "{}",
        losers[0]
    );
    assert_eq!(
        winners[0].last_line(),
        "Apply complete: 20 created, 0 recovered, 0 failed."
    );
    assert_converged(&emulator, &workspace, &declared);
    assert_eq!(creates_sent(&emulator), 20);
}

#[test]
fn a_saved_plan_is_applied_once_without_manifests_and_refused_when_stale_or_edited() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_bundled_manifests(&emulator);

    let endpoint = workspace.endpoint.clone();
    workspace
        .run(&["plan", "--endpoint", &endpoint, "--out", "p.json"])
        .expect_code(0);
    std::fs::remove_dir_all(workspace.path().join("manifests")).unwrap();
    // Neither `--auto-approve` nor a terminal: a saved plan was approved when it was saved.
    let applied = workspace.run(&["apply", "--endpoint", &endpoint, "p.json"]);
    applied.expect_code(0);
    assert_eq!(
        applied.last_line(),
        "Apply complete: 5 created, 0 recovered, 0 failed.",
        "{applied}"
    );
    assert_converged(&emulator, &workspace, &bundled_names());
    let requests = emulator.requests().len();
    let state = workspace.state();

    let again = workspace.run(&["apply", "--endpoint", &endpoint, "p.json"]);
    again.expect_code(1);
    assert!(again.stderr.contains("saved plan is stale"), "{again}");
    assert_eq!(workspace.state(), state, "a stale plan changed the state");
    assert_eq!(
        emulator.requests().len(),
        requests,
        "a stale plan sent requests"
    );

    // A plan made, then the state moved on by another apply. The five recorded groups are
    // in neither file, so both plans also list them as orphans, which apply leaves alone.
    workspace.write("more/a.yaml", &job_group("planned-a", "3", 2));
    workspace.write("more/b.yaml", &job_group("planned-b", "3", 2));
    workspace
        .run(&[
            "plan",
            "--endpoint",
            &endpoint,
            "-f",
            "more/a.yaml",
            "--out",
            "p2.json",
        ])
        .expect_code(0);
    workspace.apply(&["-f", "more/b.yaml"]).expect_code(0);
    assert!(emulator.ids().contains_key("planned-b"));
    let requests = emulator.requests().len();
    let stale = workspace.run(&["apply", "--endpoint", &endpoint, "p2.json"]);
    stale.expect_code(1);
    assert!(stale.stderr.contains("saved plan is stale"), "{stale}");
    let serials = stale_serials(&stale.stderr);
    assert!(
        serials.is_some_and(|(found, expected)| found > expected),
        "no `serial N, plan expects M` with N > M in:\n{stale}"
    );
    assert_eq!(
        emulator.requests().len(),
        requests,
        "a stale plan sent requests"
    );
    assert!(!emulator.ids().contains_key("planned-a"));

    // A saved plan edited by hand.
    workspace
        .run(&[
            "plan",
            "--endpoint",
            &endpoint,
            "-f",
            "more/a.yaml",
            "--out",
            "p3.json",
        ])
        .expect_code(0);
    let requests = emulator.requests().len();
    let saved = std::fs::read_to_string(workspace.path().join("p3.json")).unwrap();
    assert!(saved.contains("planned-a"));
    std::fs::write(
        workspace.path().join("p3.json"),
        saved.replace("planned-a", "planned-x"),
    )
    .unwrap();
    let tampered = workspace.run(&["apply", "--endpoint", &endpoint, "p3.json"]);
    tampered.expect_code(1);
    assert!(tampered.stderr.contains("checksum"), "{tampered}");
    assert_eq!(
        emulator.requests().len(),
        requests,
        "an edited plan sent requests"
    );
    let names = emulator.ids();
    assert!(!names.contains_key("planned-a") && !names.contains_key("planned-x"));
}

/// `(N, M)` from `serial N, plan expects M`.
fn stale_serials(text: &str) -> Option<(u64, u64)> {
    let rest = &text[text.find("(serial ")? + "(serial ".len()..];
    let (found, rest) = rest.split_once(", plan expects ")?;
    let expected: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((found.parse().ok()?, expected.parse().ok()?))
}

#[test]
fn without_a_terminal_or_auto_approve_nothing_happens() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_bundled_manifests(&emulator);

    let endpoint = workspace.endpoint.clone();
    let run = workspace.run(&["apply", "--endpoint", &endpoint]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("refusing to apply without confirmation: standard input is not a terminal"),
        "{run}"
    );
    assert!(run.stderr.contains("--auto-approve"), "{run}");
    assert!(emulator.groups().is_empty());
    assert!(emulator.requests().is_empty(), "requests were sent");
    assert!(workspace.state().is_none(), "a state was written");
}

#[test]
fn a_dry_run_sends_nothing_writes_nothing_and_needs_no_credentials() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_bundled_manifests(&emulator);

    let endpoint = workspace.endpoint.clone();
    let run =
        spawn(workspace.bare_command(&["apply", "--dry-run", "--endpoint", &endpoint])).finish();
    run.expect_code(0);
    assert!(run.stderr.contains("DRY RUN"), "{run}");
    assert!(run.stdout.contains("DRY RUN"), "{run}");
    assert_eq!(
        count_lines(&run.stdout, ": would be created (dry run)"),
        5,
        "{run}"
    );
    assert!(
        run.stdout
            .contains("Dry run complete: 5 would be created. Nothing was sent"),
        "{run}"
    );
    assert!(emulator.groups().is_empty());
    assert!(emulator.requests().is_empty(), "requests were sent");
    assert!(workspace.state().is_none(), "a state was written");
}

#[test]
fn a_refused_create_is_reported_the_others_are_recorded_and_a_fix_finishes() {
    let emulator = Emulator::start(&[]);
    let good = names("good", 3);
    let workspace = Workspace::with_groups(&emulator, &good);
    workspace.write("manifests/bad.yaml", &job_group("bad-algo", "99", 1));

    let run = workspace.apply(&[]);
    run.expect_code(1);
    assert_eq!(
        run.last_line(),
        "Apply complete: 3 created, 0 recovered, 1 failed.",
        "{run}"
    );
    let failures = &run.stdout[run
        .stdout
        .find("\nFailures:\n")
        .expect("no Failures section")..];
    let failure = failures
        .lines()
        .find(|line| line.contains("/bad-algo: failed: "))
        .unwrap_or_else(|| panic!("bad-algo not listed as failed:\n{run}"));
    assert!(failure.contains("InvalidAlgoLibId.NotFound"), "{failure}");
    let request_id = failure
        .split("[RequestId ")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| panic!("no RequestId in {failure}"));
    uuid::Uuid::parse_str(request_id).unwrap();
    assert!(run.stderr.contains("1 failed action(s)"), "{run}");
    assert_converged(&emulator, &workspace, &good);

    workspace.write("manifests/bad.yaml", &job_group("bad-algo", "3", 1));
    let fixed = workspace.apply(&[]);
    fixed.expect_code(0);
    assert_eq!(
        fixed.last_line(),
        "Apply complete: 1 created, 0 recovered, 0 failed.",
        "{fixed}"
    );
    let mut all = good.clone();
    all.push("bad-algo".to_owned());
    assert_converged(&emulator, &workspace, &all);

    let third = workspace.apply(&[]);
    third.expect_code(0);
    assert!(third.stdout.starts_with("No changes."), "{third}");
}

/// A group the manifests declare that already exists, made by hand: the plan reports the
/// conflict at the document with the `Import` document to add, and apply refuses the whole
/// plan before any call. Never adopted silently.
#[test]
fn a_group_made_elsewhere_is_a_conflict_refused_before_any_call() {
    let seed_directory = tempfile::tempdir().unwrap();
    let seed = seed_directory.path().join("seed.yaml");
    std::fs::write(
        &seed,
        "jobGroups:\n  - instanceId: cityvisual-Instance\n    name: traffic-east\n    \
         algoLibId: \"3\"\n    resourceProfileId: \"6\"\n    planedJobCount: 1\n    \
         streamPerJob: 1\n",
    )
    .unwrap();
    let emulator = Emulator::start(&["--seed", seed.to_str().unwrap()]);
    assert_eq!(emulator.ids()["traffic-east"], "1");
    let workspace = Workspace::with_bundled_manifests(&emulator);

    let plan = workspace.run(&["plan", "--endpoint", &workspace.endpoint]);
    plan.expect_code(1);
    let import_hint = "    #   kind: Import\n    #   spec:\n    #     address: cn-shanghai/cityvisual-Instance/traffic-east\n    #     id: \"1\"\n";
    assert!(
        plan.stdout.contains(
            "# cn-shanghai/cityvisual-Instance/traffic-east cannot be created: job group 1 already has this name in the service"
        ) && plan.stdout.contains("(manifests/traffic.yaml:3:1)")
            && plan.stdout.contains(import_hint),
        "{plan}"
    );
    assert!(
        plan.stdout.contains(
            "Plan: 4 to create, 0 to update, 0 to start, 0 to stop, 0 to delete. 0 orphans left alone. Refused: 1 create (the name exists)."
        ),
        "{plan}"
    );
    assert!(
        !plan
            .stdout
            .contains("will be created (manifests/traffic.yaml:3:1)"),
        "{plan}"
    );

    for _ in 0..2 {
        let run = workspace.apply(&[]);
        run.expect_code(1);
        assert!(run.stdout.contains(import_hint), "{run}");
        assert!(
            run.stderr.contains(
                "error: 1 job group(s) to create already exist in the service: `cn-shanghai/cityvisual-Instance/traffic-east` (manifests/traffic.yaml:3:1) is job group 1; nothing was changed."
            ),
            "{run}"
        );
        assert_eq!(creates_sent(&emulator), 0, "a call was sent");
        assert!(workspace.state_ids().is_empty());
        assert_eq!(emulator.ids().len(), 1);
    }

    // Without a refresh nothing can be checked: the plan says so once, and the service
    // refuses the create, which apply reports with the same advice.
    let blind = workspace.run(&["plan", "--endpoint", &workspace.endpoint, "--refresh=false"]);
    blind.expect_code(0);
    assert_eq!(
        blind
            .stdout
            .matches("cannot tell whether the job groups it creates already exist")
            .count(),
        1,
        "{blind}"
    );
    let run = workspace.apply(&["--refresh=false"]);
    run.expect_code(1);
    let failure = run
        .stdout
        .lines()
        .skip_while(|line| *line != "Failures:")
        .find(|line| line.contains("/traffic-east: failed: "))
        .unwrap_or_else(|| panic!("traffic-east not listed as failed:\n{run}"));
    assert!(failure.contains("InvalidName.Duplicate"), "{failure}");
    let recorded = workspace.state_ids();
    assert!(
        !recorded.contains_key("traffic-east"),
        "adopted: {recorded:?}"
    );
    assert_eq!(recorded.len(), 4);
    let emulated = emulator.ids();
    assert_eq!(emulated["traffic-east"], "1");
    assert_eq!(emulated.len(), 5);
}

#[test]
fn ctrl_c_while_waiting_for_the_lock_exits_130_and_leaves_the_holder_alone() {
    // 40 creates of 100 ms one at a time: the holder keeps the lock for about 4 s.
    let emulator = Emulator::start(&["--latency-ms", "100"]);
    let declared = names("waiting", 40);
    let workspace = Workspace::with_groups(&emulator, &declared);

    let mut holder = workspace.spawn_apply(&["--parallelism", "1"]);
    assert!(
        holder.read_until(|line| line.contains(": creating...")),
        "the first apply never started:\n{}",
        holder.lines.join("\n")
    );
    let waiting = workspace.spawn_apply(&["--lock-timeout", "60s"]);
    // Long enough for the second run to be inside its wait for the lock.
    std::thread::sleep(Duration::from_millis(1500));
    waiting.signal("INT");
    let interrupted = waiting.finish();
    interrupted.expect_code(130);
    assert!(
        interrupted
            .stderr
            .contains("Interrupted before any action started"),
        "{interrupted}"
    );

    let finished = holder.finish();
    finished.expect_code(0);
    assert_converged(&emulator, &workspace, &declared);
    assert_eq!(creates_sent(&emulator), declared.len());
}

#[test]
fn force_unlock_stops_the_named_holder_and_a_rerun_finishes() {
    let emulator = Emulator::start(&["--latency-ms", "100"]);
    let declared = names("held", 40);
    let workspace = Workspace::with_groups(&emulator, &declared);

    let free = workspace.run(&["force-unlock", "4242"]);
    if workspace.is_postgres() {
        free.expect_code(1);
        assert!(free.stderr.contains("needs no force-unlock"), "{free}");
        return;
    }
    free.expect_code(0);
    assert!(
        free.stdout.contains("is not locked: nothing to do"),
        "{free}"
    );

    let mut holder = workspace.spawn_apply(&["--parallelism", "1"]);
    assert!(holder.read_until(|line| line.contains(": created after ")));
    let pid = holder.pid().to_string();
    let wrong = workspace.run(&["force-unlock", &(holder.pid() + 1).to_string()]);
    wrong.expect_code(1);
    assert!(
        wrong.stderr.contains(&format!("is locked by pid {pid}")),
        "{wrong}"
    );

    let unlocked = workspace.run(&["force-unlock", &pid]);
    unlocked.expect_code(0);
    assert!(
        unlocked
            .stdout
            .contains(&format!("unlocked: pid {pid} stopped")),
        "{unlocked}"
    );
    let stopped = holder.finish();
    stopped.expect_code(130);
    let recorded = workspace.state_ids();
    assert!(
        !recorded.is_empty() && recorded.len() < declared.len(),
        "{stopped}"
    );
    assert_eq!(recorded, emulator.ids(), "a created group is not recorded");

    // A holder that has not stopped when the wait is over is killed with `--kill`.
    let mut holder = workspace.spawn_apply(&["--parallelism", "1"]);
    assert!(holder.read_until(|line| line.contains(": created after ")));
    let pid = holder.pid().to_string();
    let killed = workspace.run(&["force-unlock", &pid, "--wait", "0s", "--kill"]);
    killed.expect_code(0);
    assert!(
        killed
            .stdout
            .contains(&format!("unlocked: pid {pid} killed")),
        "{killed}"
    );
    assert_eq!(holder.finish().code, None, "killed by a signal");

    // Every group exactly once, in the service and in the state.
    workspace.apply(&[]).expect_code(0);
    assert_converged(&emulator, &workspace, &declared);
}

#[test]
fn ctrl_c_stops_starting_records_what_was_created_and_a_rerun_finishes() {
    let emulator = Emulator::start(&["--latency-ms", "200"]);
    let declared = names("interrupted", 12);
    let workspace = Workspace::with_groups(&emulator, &declared);

    let mut running = workspace.spawn_apply(&["--parallelism", "2"]);
    assert!(
        running.read_until(|line| line.contains(": created after ")),
        "nothing was created:\n{}",
        running.lines.join("\n")
    );
    running.signal("INT");
    let run = running.finish();
    run.expect_code(130);
    assert!(
        run.stderr.contains("Interrupted: no new actions start"),
        "{run}"
    );
    assert!(run.stdout.contains("Apply interrupted: "), "{run}");
    let emulated = emulator.ids();
    assert!(
        !emulated.is_empty() && emulated.len() < declared.len(),
        "not interrupted mid-run: {} created",
        emulated.len()
    );
    assert_eq!(
        workspace.state_ids(),
        emulated,
        "a created group is not recorded"
    );

    let rerun = workspace.apply(&[]);
    rerun.expect_code(0);
    assert_converged(&emulator, &workspace, &declared);
    apply_until_no_changes(&workspace, 1);
}

/// A run killed after its results were durable but before it folded them into the state
/// file leaves them in the journal; the next apply, even with nothing to do, ends with them
/// in `state.json`, as every apply ends compacted.
#[test]
fn an_apply_with_nothing_to_do_folds_an_earlier_runs_journal_into_the_state_file() {
    use cityform::state::journal::{JournalRecord, Put};
    use cityform::state::{Backend as _, LocalBackend, LockOptions};

    let emulator = Emulator::start(&[]);
    let declared = names("fold", 1);
    let workspace = Workspace::with_groups(&emulator, &declared);
    if workspace.skip_on_postgres("it writes and inspects the file backend's journal") {
        return;
    }
    workspace.apply(&[]).expect_code(0);
    let (address, mut entry) = workspace
        .state()
        .unwrap()
        .job_groups
        .into_iter()
        .next()
        .unwrap();
    entry.request_id = "only-in-the-journal".to_owned();
    let backend =
        LocalBackend::open(workspace.state_path(), &LockOptions::new("cityform apply")).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(backend.append(&[JournalRecord::Put(Put {
            address: address.clone(),
            entry,
            intent: None,
        })]))
        .unwrap();
    let journal = backend.paths().journal.clone();
    drop(backend);
    assert!(journal.exists());

    let run = workspace.apply(&[]);
    run.expect_code(0);
    assert!(run.stdout.starts_with("No changes."), "{run}");
    assert_eq!(
        workspace.state().unwrap().job_groups[&address].request_id,
        "only-in-the-journal"
    );
    assert!(
        !journal.exists(),
        "the journal was folded into the state file"
    );
    assert_converged(&emulator, &workspace, &declared);

    // A dry run writes nothing, not even a compaction.
    let backend =
        LocalBackend::open(workspace.state_path(), &LockOptions::new("cityform apply")).unwrap();
    let mut entry = workspace.state().unwrap().job_groups[&address].clone();
    entry.request_id = "still-in-the-journal".to_owned();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(backend.append(&[JournalRecord::Put(Put {
            address: address.clone(),
            entry,
            intent: None,
        })]))
        .unwrap();
    drop(backend);
    workspace.apply(&["--dry-run"]).expect_code(0);
    assert!(journal.exists());
}

/// `stdout` with each run of progress lines (`…: creating...`, `…: created after …`) sorted.
fn progress_lines_sorted(stdout: &str) -> String {
    let is_progress =
        |line: &str| line.ends_with(": creating...") || line.contains(": created after ");
    let mut lines: Vec<&str> = stdout.lines().collect();
    let mut start = 0;
    while start < lines.len() {
        if !is_progress(lines[start]) {
            start += 1;
            continue;
        }
        let end = (start..lines.len())
            .find(|&index| !is_progress(lines[index]))
            .unwrap_or(lines.len());
        lines[start..end].sort_unstable();
        start = end;
    }
    let mut sorted = lines.join("\n");
    if stdout.ends_with('\n') {
        sorted.push('\n');
    }
    sorted
}

/// The lines under `Failures:` in a text report.
fn failures_listed(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .skip_while(|line| *line != "Failures:")
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        // Each failure's hint is indented further.
        .filter(|line| !line.starts_with("    "))
        .collect()
}

fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.starts_with("error:"))
        .collect()
}

/// `cityform apply --endpoint PROXY --auto-approve EXTRA` with the default retry backoff, as a
/// real run has it, started.
fn spawn_apply_with_real_backoff(
    workspace: &Workspace,
    base_ms: &str,
    extra: &[&str],
) -> cli_apply_support::Running {
    let mut arguments = vec!["apply", "--endpoint", &workspace.endpoint, "--auto-approve"];
    arguments.extend_from_slice(extra);
    let mut command = workspace.command(&arguments);
    command.env("CITYFORM_RETRY_BASE_MS", base_ms);
    spawn(command)
}

/// With the endpoint gone mid-apply, every remaining create was retried
/// six times and the run took minutes to fail with one error per create. The circuit breaker
/// stops starting actions after a run of failed connections and ends the run with one error
/// naming the endpoint; what was in flight is recorded, and the next apply finishes.
#[test]
fn a_dead_endpoint_halts_the_run_with_one_error_and_a_rerun_finishes() {
    let emulator = Emulator::start(&["--latency-ms", "20"]);
    let declared = names("dead", 240);
    let mut workspace = Workspace::with_groups(&emulator, &declared);
    let mut proxy = Proxy::start(&emulator.endpoint);
    workspace.endpoint = proxy.endpoint();

    let mut running = spawn_apply_with_real_backoff(&workspace, "200", &["--parallelism", "4"]);
    let mut created = 0;
    while created < 8 {
        assert!(
            running.read_until(|line| line.contains(": created after ")),
            "the run ended early:\n{}",
            running.lines.join("\n")
        );
        created += 1;
    }
    proxy.kill();
    let killed = Instant::now();
    let run = running.finish();
    let took = killed.elapsed();
    run.expect_code(1);
    assert!(
        took < Duration::from_secs(30),
        "the run took {took:?} to end after the endpoint died\n{run}"
    );
    let errors = error_lines(&run.stderr);
    assert_eq!(errors.len(), 1, "{run}");
    assert!(
        errors[0].starts_with(&format!(
            "error: cannot reach `{}`",
            proxy.endpoint().trim_end_matches('/')
        )),
        "{run}"
    );
    // Only the creates in flight when the endpoint died may fail (their outcome is unknown);
    // the rest were not started.
    let failures = failures_listed(&run.stdout);
    assert!(failures.len() <= 4, "one failure per create:\n{run}");
    for failure in failures {
        assert!(
            failure.contains("the request may have reached the service"),
            "a failure other than a create in flight:\n{run}"
        );
    }
    assert!(run.stdout.contains(" not started"), "{run}");

    proxy.revive();
    let rerun = workspace.apply(&[]);
    rerun.expect_code(0);
    assert_converged(&emulator, &workspace, &declared);
    assert_eq!(
        creates_sent(&emulator),
        declared.len(),
        "a create was sent twice"
    );
}

/// After Ctrl-C, the creates in flight kept retrying for over a minute.
/// A retry wait ends when the stop arrives; the creates whose answer was lost stay recorded
/// as unknown, and the next apply finds them by name instead of creating them again.
#[test]
fn ctrl_c_abandons_retries_and_the_next_apply_resolves_the_creates_in_flight() {
    let emulator = Emulator::start(&["--latency-ms", "300"]);
    let declared = names("retrying", 12);
    let mut workspace = Workspace::with_groups(&emulator, &declared);
    let mut proxy = Proxy::start(&emulator.endpoint);
    workspace.endpoint = proxy.endpoint();

    // Long retry waits (a 5 s base): without abandoning them the run would last a minute.
    let mut running = spawn_apply_with_real_backoff(&workspace, "5000", &["--parallelism", "4"]);
    assert!(
        running.read_until(|line| line.contains(": created after ")),
        "nothing was created:\n{}",
        running.lines.join("\n")
    );
    // The next creates are in flight (300 ms each): their answers are lost, and their
    // look-ups by name fail and wait to be retried.
    proxy.kill();
    std::thread::sleep(Duration::from_millis(500));
    running.signal("INT");
    let interrupted = Instant::now();
    let run = running.finish();
    let took = interrupted.elapsed();
    run.expect_code(130);
    assert!(
        took < Duration::from_secs(15),
        "the run took {took:?} to end after Ctrl-C\n{run}"
    );
    assert!(run.stdout.contains("Apply interrupted: "), "{run}");
    let failures = failures_listed(&run.stdout);
    assert!(
        !failures.is_empty()
            && failures
                .iter()
                .all(|failure| failure.contains("the request may have reached the service")),
        "the creates in flight were not left unknown, or others failed:\n{run}"
    );

    proxy.revive();
    let rerun = workspace.apply(&[]);
    rerun.expect_code(0);
    assert!(
        rerun.stdout.contains("left unfinished") && rerun.stdout.contains("recovered"),
        "the creates in flight were not resolved by name:\n{rerun}"
    );
    assert_converged(&emulator, &workspace, &declared);
    assert_eq!(
        creates_sent(&emulator),
        declared.len(),
        "a create was sent twice"
    );
}

/// With the local clock off, every call failed with
/// `InvalidTimeStamp.Expired`, once per action, and nothing said by how much the clock was
/// off. The run now halts after a few refusals with one error saying so.
#[test]
fn a_clock_that_is_off_halts_the_run_with_one_error_saying_by_how_much() {
    let emulator = Emulator::start(&[]);
    let declared = names("clock", 30);
    let workspace = Workspace::with_groups(&emulator, &declared);

    // Without a refresh, whose listing would find the clock off first: this is about the
    // creates.
    let mut command = workspace.command(&[
        "apply",
        "--endpoint",
        &workspace.endpoint,
        "--auto-approve",
        "--refresh=false",
    ]);
    command.env("CITYFORM_TEST_CLOCK_OFFSET_SECONDS", "-3600");
    let run = spawn(command).finish();
    run.expect_code(1);
    let errors = error_lines(&run.stderr);
    assert_eq!(errors.len(), 1, "{run}");
    let skew = regex_lite_find(errors[0]);
    assert!(
        errors[0].contains("InvalidTimeStamp.Expired") && skew,
        "the error does not say by how much the clock is off:\n{run}"
    );
    assert!(
        !run.stdout.contains("Failures:"),
        "one failure per create:\n{run}"
    );
    assert!(run.stdout.contains("30 not started"), "{run}");
    assert!(emulator.ids().is_empty());

    // With the clock right, the same workspace finishes.
    workspace.apply(&[]).expect_code(0);
    assert_converged(&emulator, &workspace, &declared);
}

/// Whether `text` says the clock is about an hour behind (the second may round either way).
fn regex_lite_find(text: &str) -> bool {
    [
        "1h 0m 0s behind",
        "1h 0m 1s behind",
        "59m 59s behind",
        "59m 58s behind",
        "1h 0m 2s behind",
    ]
    .iter()
    .any(|skew| text.contains(skew))
}
