//! What `cityform apply` shows on a terminal, run on a pseudo-terminal against a real
//! `cityform emulator` process: one line per finished action (with its id, and how often it
//! was throttled) stays above the progress bar, the bar names the groups in flight and shows
//! a whole rate, and the bar is gone at the end while the lines and the summary stay. The
//! same run without a terminal says the same about throttling.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_apply_support;

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli_apply_support::{Emulator, Workspace, names};
use nix::pty::{Winsize, openpty};

/// The terminal's width.
const COLUMNS: u16 = 120;

/// How long a run on the terminal may take before the test gives up on it.
const DEADLINE: Duration = Duration::from_secs(120);

/// Runs `command` with its standard input, output and error on one pseudo-terminal of
/// [`COLUMNS`] columns; returns its exit code and everything the terminal received.
fn run_on_terminal(mut command: Command) -> (Option<i32>, String) {
    let size = Winsize {
        ws_row: 40,
        ws_col: COLUMNS,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(&size, None).unwrap();
    command
        .env("TERM", "xterm")
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave));
    let mut child = command.spawn().unwrap();
    // The terminal's other end closes when the child exits only if no copy is left here.
    drop(command);
    let mut master = std::fs::File::from(pty.master);
    let reader = std::thread::spawn(move || {
        let mut received = Vec::new();
        let mut buffer = [0_u8; 4096];
        // Linux answers EIO once the last holder of the other end has closed it.
        while let Ok(read) = master.read(&mut buffer) {
            if read == 0 {
                break;
            }
            received.extend_from_slice(&buffer[..read]);
        }
        received
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("apply on a terminal did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let received = reader.join().unwrap();
    (
        status.code(),
        String::from_utf8_lossy(&received).into_owned(),
    )
}

/// The text without ANSI escape sequences (CSI and OSC), split at them, at line feeds and at
/// carriage returns: every state of every line the terminal showed.
fn screen_lines(raw: &str) -> Vec<String> {
    let mut text = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            text.push(c);
            continue;
        }
        match chars.next() {
            // The bar is redrawn by moving the cursor and clearing lines: each such sequence
            // ends what was drawn before it. Nothing here is coloured (`NO_COLOR`).
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
                text.push('\n');
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    // A line printed above the bar is padded to the terminal's width, and the terminal
    // wraps it there.
    let mut lines = Vec::new();
    for line in text.split(['\n', '\r']) {
        let chars: Vec<char> = line.chars().collect();
        for row in chars.chunks(usize::from(COLUMNS)) {
            let row: String = row.iter().collect::<String>().trim_end().to_owned();
            if !row.is_empty() {
                lines.push(row);
            }
        }
    }
    lines
}

/// The bar's lines: the ones that show the count `N/TOTAL done`.
fn bar_lines(lines: &[String], total: usize) -> Vec<&String> {
    lines
        .iter()
        .filter(|line| line.contains(&format!("/{total} done (")))
        .collect()
}

#[test]
fn results_stay_above_the_bar_with_ids_and_throttling() {
    // Slow answers keep several calls in flight long enough for the bar to show them; a
    // throttled share makes some calls go through only at a later attempt.
    let emulator = Emulator::start(&[
        "--latency-ms",
        "150",
        "--throttle-rate",
        "0.5",
        "--fault-seed",
        "5",
        "--quiet",
    ]);
    let declared = names("cam", 12);
    let workspace = Workspace::with_groups(&emulator, &declared);
    let command = workspace.command(&[
        "apply",
        "--endpoint",
        &emulator.endpoint,
        "--auto-approve",
        "--parallelism",
        "4",
    ]);
    let (code, raw) = run_on_terminal(command);
    let lines = screen_lines(&raw);
    let shown = lines.join("\n");
    assert_eq!(code, Some(0), "{shown}");

    // One line per created group, with its id, as without a terminal.
    for (name, id) in emulator.ids() {
        let created: Vec<&String> = lines
            .iter()
            .filter(|line| line.contains(&format!("/{name}: created after ")))
            .collect();
        assert_eq!(created.len(), 1, "{name}:\n{shown}");
        assert!(created[0].ends_with(&format!("[id={id}]")), "{shown}");
    }
    assert!(
        lines
            .iter()
            .any(|line| line.contains(": created after ") && line.contains("(throttled ")),
        "no result says it was throttled:\n{shown}"
    );
    // Actions under way are the bar's business, not lines of their own.
    assert!(
        !lines.iter().any(|line| line.ends_with(": creating...")),
        "{shown}"
    );

    let bar = bar_lines(&lines, declared.len());
    assert!(!bar.is_empty(), "the bar was never drawn:\n{shown}");
    assert!(
        bar.iter().any(|line| line.contains("creating cam-")),
        "the bar never named a group in flight:\n{shown}"
    );
    for line in &bar {
        let rate = line
            .split_once(" done (")
            .and_then(|(_, rest)| rest.split_once("/s)"))
            .map(|(rate, _)| rate.trim())
            .unwrap_or_else(|| panic!("no rate in {line:?}"));
        assert!(
            rate.parse::<u64>().is_ok(),
            "the rate is not a whole number: {line:?}"
        );
        // The bar itself keeps its width: it starts and ends at the same columns.
        let (before, _) = line.split_once(" done (").unwrap();
        assert!(
            before.ends_with(&format!("/{}", declared.len())),
            "{line:?}"
        );
    }
    let widths: std::collections::BTreeSet<usize> = bar
        .iter()
        .map(|line| line.split_once(" done (").unwrap().0.chars().count())
        .collect();
    assert_eq!(widths.len(), 1, "the bar moved: {bar:#?}");

    // The bar is cleared at the end: the summary is the last thing on the screen.
    assert_eq!(
        lines.last().map(String::as_str),
        Some("Apply complete: 12 created, 0 recovered, 0 failed."),
        "{shown}"
    );
}

#[test]
fn without_a_terminal_throttled_results_say_so_too() {
    let emulator = Emulator::start(&["--throttle-rate", "0.5", "--fault-seed", "5", "--quiet"]);
    let declared = names("cam", 12);
    let workspace = Workspace::with_groups(&emulator, &declared);
    let run = workspace.apply(&["--parallelism", "4"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .lines()
            .any(|line| line.contains(": created after ") && line.contains("(throttled ")),
        "{run}"
    );
    assert!(
        run.stdout
            .lines()
            .any(|line| line.ends_with(": creating...")),
        "{run}"
    );
}
