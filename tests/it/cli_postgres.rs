//! The `cityform` binary on a PostgreSQL state: eight `apply` processes contending for one
//! workspace, an `apply` killed with SIGKILL and run again, the lock holder a blocked command
//! names, choosing the backend (`--backend`, `CITYFORM_BACKEND`, `cityform.yaml`), and
//! `state migrate` between the file and PostgreSQL.
//!
//! These always use PostgreSQL (a cluster `tests/support_postgres` starts); without it they
//! print `SKIP` and pass, unless `CI` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_apply_support;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use cli_apply_support::{Emulator, Run, Workspace, assert_converged, job_groups, names};

fn creates_sent(emulator: &Emulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|line| line.contains(" CreateJobGroup "))
        .count()
}

/// When a run printed its first and its last line, as seen by the reader.
#[derive(Debug, Clone, Copy)]
struct Interval {
    first: Instant,
    last: Instant,
}

/// Eight processes, each with manifests overlapping its neighbours' (run n declares groups
/// 5n..5n+10), all started at once with `--lock-timeout 60s`. Locking is what keeps two
/// runs from planning against the same state: without it, overlapping groups would be
/// created twice. Each run prints JSON events only while it holds the lock, so the spans
/// from its first to its last line must not overlap.
#[test]
fn eight_concurrent_applies_take_turns_and_create_each_group_once() {
    let emulator = Emulator::start(&["--latency-ms", "20"]);
    let Some(workspace) = Workspace::on_postgres(&emulator) else {
        return;
    };
    let mut all = Vec::new();
    for run in 0..8 {
        let declared = names("contended", 5 * run + 10)[5 * run..].to_vec();
        workspace.write(&format!("run-{run}/groups.yaml"), &job_groups(&declared));
        all.extend(declared);
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 45);

    let intervals = Arc::new(Mutex::new(Vec::<Interval>::new()));
    let mut threads = Vec::new();
    for run in 0..8 {
        let manifests = format!("run-{run}");
        let mut running = workspace.spawn_apply(&[
            "-f",
            &manifests,
            "--lock-timeout",
            "60s",
            "--parallelism",
            "2",
            "--format",
            "json",
        ]);
        let intervals = Arc::clone(&intervals);
        threads.push(std::thread::spawn(move || {
            let mut first = None;
            let mut last = None;
            while running.next_line().is_some() {
                let now = Instant::now();
                first.get_or_insert(now);
                last = Some(now);
            }
            if let (Some(first), Some(last)) = (first, last) {
                intervals.lock().unwrap().push(Interval { first, last });
            }
            running.finish()
        }));
    }
    let runs: Vec<Run> = threads
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .collect();
    for run in &runs {
        run.expect_code(0);
        assert!(run.last_line().contains(r#""event":"summary""#), "{run}");
    }

    let emulated = emulator.ids();
    assert_eq!(
        emulated.keys().cloned().collect::<Vec<_>>(),
        all,
        "the emulator holds other groups than the runs declared"
    );
    assert_eq!(creates_sent(&emulator), 45, "a group was created twice");
    assert_eq!(
        workspace.state_ids(),
        emulated,
        "the state does not record each group once with the emulator's id"
    );

    let mut intervals = intervals.lock().unwrap().clone();
    assert_eq!(intervals.len(), 8, "every run prints at least its summary");
    intervals.sort_by_key(|interval| interval.first);
    for pair in intervals.windows(2) {
        assert!(
            pair[0].last < pair[1].first,
            "two runs printed events at the same time, so both held the lock: {pair:?}"
        );
    }
}

/// A run killed in the middle leaves its lock to the server, which releases it as the
/// connection dies: the next run needs no `force-unlock`, resolves what the killed one left
/// unfinished, and creates nothing twice.
#[test]
fn a_killed_apply_leaves_no_lock_and_a_rerun_creates_each_group_once() {
    let emulator = Emulator::start(&["--latency-ms", "5"]);
    let Some(workspace) = Workspace::on_postgres(&emulator) else {
        return;
    };
    let declared = names("killed", 120);
    workspace.write("manifests/groups.yaml", &job_groups(&declared));

    for round in 0..3 {
        let mut running = workspace.spawn_apply(&["--parallelism", "8", "--format", "json"]);
        let mut created = 0;
        while created < 5 + round * 5 {
            if !running.read_until(|line| line.contains(r#""event":"created""#)) {
                break;
            }
            created += 1;
        }
        let killed = running.kill();
        assert_eq!(
            killed.code, None,
            "the run ended before it was killed: {killed}"
        );
        let held = emulator.groups().len();
        assert!(held > 0 && held < declared.len(), "{held} groups");
    }

    // At once, without waiting for a lock: the server released it.
    let again = workspace.apply(&["--lock-timeout", "0"]);
    again.expect_code(0);
    // Each name exactly once in the emulator (a second create would add a second group of
    // that name, which `assert_converged` refuses), each recorded with its id. (The
    // emulator's request log misses calls whose client was killed, so it is not counted.)
    assert_converged(&emulator, &workspace, &declared);
    assert_eq!(emulator.groups().len(), declared.len());
    let last = workspace.apply(&[]);
    last.expect_code(0);
    assert!(last.stdout.starts_with("No changes."), "{last}");
}

/// A command blocked by a running apply names who holds the lock, as for a file.
#[test]
fn a_blocked_command_names_the_holder_and_waits_with_a_lock_timeout() {
    let emulator = Emulator::start(&["--latency-ms", "200", "--quiet"]);
    let Some(workspace) = Workspace::on_postgres(&emulator) else {
        return;
    };
    let declared = names("held", 6);
    workspace.write("manifests/groups.yaml", &job_groups(&declared));
    let mut running = workspace.spawn_apply(&["--parallelism", "1", "--format", "json"]);
    assert!(running.read_until(|line| line.contains(r#""event":"#)));

    let blocked = workspace.run(&["state", "list"]);
    blocked.expect_code(1);
    let (_, name) = workspace.postgres().unwrap();
    let holder = regex_like_holder(&blocked.stderr, &name);
    assert!(holder, "{blocked}");

    let waited = workspace.run(&["state", "list", "--lock-timeout", "60s"]);
    waited.expect_code(0);
    running.finish().expect_code(0);
    assert_eq!(waited.stdout.lines().count(), declared.len(), "{waited}");
}

/// `error: state `postgres://…#NAME` is locked by pid N on host `H` since T (`cityform apply`)`.
fn regex_like_holder(stderr: &str, workspace: &str) -> bool {
    stderr.lines().any(|line| {
        let Some(rest) = line.split_once(&format!("#{workspace}` is locked by pid ")) else {
            return false;
        };
        let (pid, rest) = rest.1.split_once(' ').unwrap_or_default();
        pid.parse::<u32>().is_ok()
            && rest.starts_with("on host `")
            && rest.contains("` since ")
            && rest.ends_with("(`cityform apply`)")
    })
}

/// Flag beats environment beats `cityform.yaml`; a bad file is named with its position.
#[test]
fn the_backend_comes_from_the_flag_the_environment_or_cityform_yaml() {
    let emulator = Emulator::start(&[]);
    let Some(workspace) = Workspace::on_postgres(&emulator) else {
        return;
    };
    let (url, name) = workspace.postgres().unwrap();
    let declared = names("chosen", 2);
    workspace.write("manifests/groups.yaml", &job_groups(&declared));

    // From the file only: the harness's environment is removed.
    workspace.write(
        "cityform.yaml",
        &format!("backend: {url}\nworkspace: {name}\n"),
    );
    let mut command =
        workspace.command(&["apply", "--endpoint", &workspace.endpoint, "--auto-approve"]);
    command
        .env_remove("CITYFORM_BACKEND")
        .env_remove("CITYFORM_WORKSPACE");
    let applied = cli_apply_support::spawn(command).finish();
    applied.expect_code(0);
    assert!(
        !workspace.state_path().exists(),
        "the file backend was used"
    );
    assert_converged(&emulator, &workspace, &declared);

    // The flag wins over the file: `local` has no state yet, so every group is new to it,
    // and (compared without a refresh) to create.
    let planned = workspace.run(&[
        "plan",
        "--backend",
        "local",
        "--endpoint",
        &workspace.endpoint,
        "--refresh=false",
    ]);
    planned.expect_code(0);
    assert!(planned.stdout.contains("2 to create"), "{planned}");

    // A bad file stops every command, naming the place.
    workspace.write("cityform.yaml", "backend: local\nworkspaces: staging\n");
    let refused = workspace.run(&["state", "list", "--backend", "local"]);
    refused.expect_code(1);
    assert!(
        refused
            .stderr
            .contains("`cityform.yaml:2:1`: unknown field `workspaces`"),
        "{refused}"
    );
}

/// File → PostgreSQL → file keeps every group byte for byte; a destination of another
/// lineage is refused and left as it was.
#[test]
fn state_migrate_round_trips_and_refuses_another_lineage() {
    let emulator = Emulator::start(&[]);
    let Some(workspace) = Workspace::on_postgres(&emulator) else {
        return;
    };
    let (url, name) = workspace.postgres().unwrap();
    let declared = names("moved", 7);
    workspace.write("manifests/groups.yaml", &job_groups(&declared));
    let local = |arguments: &[&str]| {
        let mut command = workspace.command(arguments);
        command
            .env_remove("CITYFORM_BACKEND")
            .env_remove("CITYFORM_WORKSPACE");
        cli_apply_support::spawn(command).finish()
    };
    local(&["apply", "--endpoint", &workspace.endpoint, "--auto-approve"]).expect_code(0);
    let original = cityform::state::read_state_file(&workspace.state_path())
        .unwrap()
        .unwrap();
    assert_eq!(original.job_groups.len(), 7);

    let to_postgres = local(&["state", "migrate", "--to", &url, "--to-workspace", &name]);
    to_postgres.expect_code(0);
    assert_eq!(
        to_postgres.stdout,
        format!(
            "Copied state lineage `{}` (7 job group(s)) from `.cityform/state.json` to `{}`, where it is at serial {}.\n",
            original.lineage,
            postgres_location(&url, &name),
            workspace.state().unwrap().serial
        )
    );
    let in_postgres = workspace.state().unwrap();
    assert_eq!(in_postgres.lineage, original.lineage);
    assert_eq!(in_postgres.job_groups, original.job_groups);

    let back = workspace.run(&[
        "state",
        "migrate",
        "--to",
        "local",
        "--to-state",
        "back.json",
    ]);
    back.expect_code(0);
    let returned = cityform::state::read_state_file(&workspace.path().join("back.json"))
        .unwrap()
        .unwrap();
    assert_eq!(returned.lineage, original.lineage);
    assert_eq!(
        serde_json::to_string(&returned.job_groups).unwrap(),
        serde_json::to_string(&original.job_groups).unwrap(),
        "the groups changed on the way"
    );
    // The copy on PostgreSQL is what plans against now: nothing to do.
    let planned = workspace.run(&["plan", "--endpoint", &workspace.endpoint]);
    assert!(planned.stdout.starts_with("No changes."), "{planned}");

    // Another state (its own lineage) is never overwritten.
    let other = Workspace::new(&emulator);
    other.write("manifests/groups.yaml", &job_groups(&names("other", 1)));
    let mut command = other.command(&["apply", "--endpoint", &other.endpoint, "--auto-approve"]);
    command
        .env_remove("CITYFORM_BACKEND")
        .env_remove("CITYFORM_WORKSPACE");
    cli_apply_support::spawn(command).finish().expect_code(0);
    let other_state = std::fs::read(other.state_path()).unwrap();
    let before = workspace.state().unwrap();
    let refused = workspace.run(&[
        "state",
        "migrate",
        "--to",
        "local",
        "--to-state",
        other.state_path().to_str().unwrap(),
    ]);
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("it holds another state (lineage"),
        "{refused}"
    );
    assert_eq!(std::fs::read(other.state_path()).unwrap(), other_state);
    assert_eq!(workspace.state().unwrap(), before);
    assert!(!refused.stderr.contains("password"), "{refused}");
}

/// How the library shows a test database's workspace: the URL without its query, the
/// socket directory and port as parameters.
fn postgres_location(url: &str, workspace: &str) -> String {
    // `postgres://USER@/DB?host=DIR&port=PORT` is shown as it is.
    format!("{url}#{workspace}")
}
