//! `cityform watch`: the real binary against an emulator process, in detect and apply mode,
//! one round or running until stopped.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use crate::cli_apply_support::{ACCESS_KEY_SECRET, Emulator, Running, Workspace, names, spawn};

/// `cityform watch --endpoint … ARGS`.
fn watch(workspace: &Workspace, extra: &[&str]) -> Running {
    let mut arguments = vec!["watch", "--endpoint", &workspace.endpoint];
    arguments.extend_from_slice(extra);
    spawn(workspace.command(&arguments))
}

/// The event names of `lines`, in order.
fn event_names(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("not JSON ({error}): {line:?}"));
            event["event"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Reads events until one named `name`; fails when stdout ends first.
fn read_event(running: &mut Running, name: &str) -> serde_json::Value {
    let quoted = format!("\"event\":\"{name}\"");
    assert!(
        running.read_until(|line| line.contains(&quoted)),
        "no `{name}` event: {:?}",
        running.lines
    );
    serde_json::from_str(running.lines.last().unwrap()).unwrap()
}

/// Sets `planedJobCount` of `name` to 99 through the API, as someone else would.
fn change_behind_cityforms_back(emulator: &Emulator, name: &str) {
    let group = emulator
        .groups()
        .into_iter()
        .find(|group| group.name == name)
        .unwrap();
    crate::emulator_process::set_planed_job_count(
        &emulator.endpoint,
        &group.region_id,
        &group.instance_id,
        &group.job_group_id,
        99,
    );
}

/// `planedJobCount` of `name` as the emulator holds it.
fn planed_job_count(emulator: &Emulator, name: &str) -> u64 {
    emulator.dump()["jobGroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|group| group["name"] == name)
        .unwrap()["planedJobCount"]
        .as_u64()
        .unwrap()
}

#[test]
fn once_in_detect_mode_exits_2_on_fresh_manifests_and_changes_nothing() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_groups(&emulator, &names("watched", 2));
    let run = watch(&workspace, &["--interval", "1s", "--once"]).finish();
    run.expect_code(2);
    assert_eq!(
        event_names(&run.stdout.lines().map(str::to_owned).collect::<Vec<_>>()),
        ["round_started", "round_finished", "drift_detected"],
        "{run}"
    );
    let events = run.events();
    assert_eq!(events[1]["mode"], "detect", "{run}");
    assert_eq!(events[1]["summary"]["create"], 2, "{run}");
    assert_eq!(
        events[2]["groups"],
        serde_json::json!([
            "cn-shanghai/cityvisual-Instance/watched-000",
            "cn-shanghai/cityvisual-Instance/watched-001"
        ]),
        "{run}"
    );
    assert!(emulator.groups().is_empty(), "detect created groups");
    assert!(workspace.state_ids().is_empty(), "detect wrote a state");
}

#[test]
fn once_in_apply_mode_creates_the_groups_and_a_second_round_exits_0() {
    let emulator = Emulator::start(&[]);
    let names = names("applied", 2);
    let workspace = Workspace::with_groups(&emulator, &names);
    let run = watch(
        &workspace,
        &["--interval", "1s", "--once", "--mode", "apply"],
    )
    .finish();
    run.expect_code(0);
    let events = run.events();
    assert_eq!(
        event_names(&run.stdout.lines().map(str::to_owned).collect::<Vec<_>>()),
        [
            "round_started",
            "round_finished",
            "drift_detected",
            "drift_cleared"
        ],
        "{run}"
    );
    assert_eq!(events[1]["summary"]["create"], 2, "{run}");
    crate::cli_apply_support::assert_converged(&emulator, &workspace, &names);

    let again = watch(
        &workspace,
        &["--interval", "1s", "--once", "--mode", "apply"],
    )
    .finish();
    again.expect_code(0);
    assert_eq!(again.events()[1]["summary"]["unchanged"], 2, "{again}");
    let detect = watch(&workspace, &["--interval", "1s", "--once"]).finish();
    detect.expect_code(0);
}

#[test]
fn a_running_watch_detects_drift_and_in_apply_mode_restores_it() {
    let emulator = Emulator::start(&[]);
    let names = names("drifting", 1);
    let workspace = Workspace::with_groups(&emulator, &names);
    workspace.apply(&[]).expect_code(0);
    let declared = planed_job_count(&emulator, &names[0]);

    let mut detecting = watch(&workspace, &["--interval", "1s"]);
    read_event(&mut detecting, "round_finished");
    change_behind_cityforms_back(&emulator, &names[0]);
    let detected = read_event(&mut detecting, "drift_detected");
    assert_eq!(
        detected["groups"],
        serde_json::json!([format!("cn-shanghai/cityvisual-Instance/{}", names[0])])
    );
    assert_eq!(
        planed_job_count(&emulator, &names[0]),
        99,
        "detect changed it"
    );
    detecting.signal("TERM");
    detecting.finish().expect_code(0);

    let mut applying = watch(&workspace, &["--interval", "1s", "--mode", "apply"]);
    read_event(&mut applying, "drift_detected");
    read_event(&mut applying, "drift_cleared");
    assert_eq!(planed_job_count(&emulator, &names[0]), declared);
    change_behind_cityforms_back(&emulator, &names[0]);
    read_event(&mut applying, "drift_detected");
    read_event(&mut applying, "drift_cleared");
    assert_eq!(planed_job_count(&emulator, &names[0]), declared);
    applying.signal("TERM");
    applying.finish().expect_code(0);
}

#[test]
fn with_the_emulator_stopped_rounds_fail_and_the_watch_keeps_running() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_groups(&emulator, &names("unreachable", 1));
    workspace.apply(&[]).expect_code(0);
    drop(emulator);

    let mut watching = watch(&workspace, &["--interval", "1s"]);
    let first = read_event(&mut watching, "round_failed");
    assert_eq!(first["round"], 1, "{first}");
    assert!(!first["error"].as_str().unwrap().is_empty(), "{first}");
    let second = read_event(&mut watching, "round_failed");
    assert_eq!(second["round"], 2, "{second}");
    watching.signal("TERM");
    let run = watching.finish();
    run.expect_code(0);
    assert!(
        !run.stdout.contains(ACCESS_KEY_SECRET) && !run.stderr.contains(ACCESS_KEY_SECRET),
        "{run}"
    );
}

#[test]
fn once_fails_with_1_when_the_round_fails() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_groups(&emulator, &names("down", 1));
    workspace.apply(&[]).expect_code(0);
    drop(emulator);
    let run = watch(&workspace, &["--interval", "1s", "--once"]).finish();
    run.expect_code(1);
    assert_eq!(
        event_names(&run.stdout.lines().map(str::to_owned).collect::<Vec<_>>()),
        ["round_started", "round_failed"],
        "{run}"
    );
}

/// A plan apply would refuse fails the round, as `plan` exits 1 on it: here a name a group
/// made by hand already has.
#[test]
fn once_in_detect_mode_fails_with_1_on_a_plan_apply_would_refuse() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_groups(&emulator, &names("taken", 1));
    // Made by another state: this one does not record it.
    let elsewhere = Workspace::with_groups(&emulator, &names("taken", 1));
    elsewhere.apply(&[]).expect_code(0);
    let run = watch(&workspace, &["--interval", "1s", "--once"]).finish();
    run.expect_code(1);
    assert_eq!(
        event_names(&run.stdout.lines().map(str::to_owned).collect::<Vec<_>>()),
        ["round_started", "round_failed"],
        "{run}"
    );
    assert!(run.stdout.contains("already exist in the service"), "{run}");
}

#[test]
fn sigterm_between_rounds_exits_0_at_once() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_groups(&emulator, &names("stopped", 1));
    let mut watching = watch(&workspace, &["--interval", "1h"]);
    read_event(&mut watching, "round_finished");
    let asked = std::time::Instant::now();
    watching.signal("TERM");
    let run = watching.finish();
    run.expect_code(0);
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(10),
        "{run}"
    );
}

/// A port nobody listens on at the moment.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET url`: the status and the body.
fn get(url: &str) -> (u16, String) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let response = reqwest::get(url).await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        })
}

#[test]
fn metrics_health_and_readiness_are_served() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_groups(&emulator, &names("measured", 3));
    workspace.apply(&[]).expect_code(0);
    let port = free_port().to_string();
    let address = format!("127.0.0.1:{port}");
    let mut watching = watch(
        &workspace,
        &["--interval", "1h", "--metrics-listen", &address],
    );
    read_event(&mut watching, "round_finished");
    let base = format!("http://{address}");
    let (status, metrics) = get(&format!("{base}/metrics"));
    assert_eq!(status, 200, "{metrics}");
    for line in [
        "cityform_watch_rounds_total 1\n",
        "cityform_watch_round_failures_total 0\n",
        "cityform_watch_groups_managed 3\n",
        "cityform_watch_pending_changes 0\n",
        "cityform_watch_round_duration_seconds_count 1\n",
    ] {
        assert!(metrics.contains(line), "no `{line}` in:\n{metrics}");
    }
    assert!(
        !metrics.contains("cityform_watch_last_success_timestamp_seconds 0\n"),
        "{metrics}"
    );
    assert_eq!(get(&format!("{base}/healthz")).0, 200);
    assert_eq!(get(&format!("{base}/readyz")).0, 200);
    watching.signal("TERM");
    watching.finish().expect_code(0);

    drop(emulator);
    let mut failing = watch(
        &workspace,
        &["--interval", "1h", "--metrics-listen", &address],
    );
    read_event(&mut failing, "round_failed");
    assert_eq!(get(&format!("{base}/healthz")).0, 200);
    assert_eq!(get(&format!("{base}/readyz")).0, 503);
    let (_, metrics) = get(&format!("{base}/metrics"));
    assert!(
        metrics.contains("cityform_watch_round_failures_total 1\n"),
        "{metrics}"
    );
    failing.signal("TERM");
    failing.finish().expect_code(0);
}

#[test]
fn a_metrics_address_that_cannot_be_bound_fails_at_once() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_groups(&emulator, &names("bound", 1));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let run = watch(
        &workspace,
        &["--interval", "1s", "--metrics-listen", &address],
    )
    .finish();
    run.expect_code(1);
    assert!(run.stdout.is_empty(), "{run}");
    assert!(
        run.stderr.contains(&format!(
            "could not listen on `{address}` (`--metrics-listen`)"
        )),
        "{run}"
    );
}

#[test]
fn a_round_that_finds_the_lock_held_fails_and_the_next_one_runs() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_groups(&emulator, &names("locked", 1));
    if workspace.skip_on_postgres("holds the local state file's lock") {
        return;
    }
    workspace.apply(&[]).expect_code(0);
    let held = cityform::state::LocalBackend::open(
        workspace.state_path(),
        &cityform::state::LockOptions::new("another apply"),
    )
    .unwrap();
    let mut watching = watch(&workspace, &["--interval", "1s"]);
    let failed = read_event(&mut watching, "round_failed");
    assert!(
        failed["error"].as_str().unwrap().contains("lock"),
        "{failed}"
    );
    drop(held);
    let finished = read_event(&mut watching, "round_finished");
    assert_eq!(finished["summary"]["unchanged"], 1, "{finished}");
    watching.signal("TERM");
    watching.finish().expect_code(0);
}

#[test]
fn sigterm_during_an_apply_round_stops_starting_actions_and_a_second_exits_130() {
    let emulator = Emulator::start(&["--latency-ms", "200"]);
    let names = names("slow", 40);
    let workspace = Workspace::with_groups(&emulator, &names);
    let mut applying = watch(&workspace, &["--interval", "1h", "--mode", "apply"]);
    read_event(&mut applying, "round_started");
    std::thread::sleep(std::time::Duration::from_millis(700));
    applying.signal("TERM");
    let run = applying.finish();
    run.expect_code(0);
    let created = emulator.ids();
    assert!(created.len() < names.len(), "nothing was stopped: {run}");
    assert_eq!(workspace.state_ids(), created, "{run}");

    // A second workspace, so that this round has as much to do as the first.
    let fresh = Workspace::with_groups(&emulator, &crate::cli_apply_support::names("later", 40));
    let mut again = watch(&fresh, &["--interval", "1h", "--mode", "apply"]);
    read_event(&mut again, "round_started");
    std::thread::sleep(std::time::Duration::from_millis(700));
    again.signal("TERM");
    std::thread::sleep(std::time::Duration::from_millis(50));
    again.signal("TERM");
    again.finish().expect_code(130);
}
