//! What `-v` and `-vv` log, with the real binary against a `cityform emulator` process:
//! `-v` names the manifests, the state, the endpoint and the credential source a command
//! uses, and each phase with its duration; `-vv` adds every API call with its action, HTTP
//! status, `RequestId` and duration. (That no log line holds a secret is `secrets`' job.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_apply_support::{ACCESS_KEY_ID, ACCESS_KEY_SECRET, Emulator};
use crate::cli_support::Cityform;

/// A workspace with the bundled manifests, pointed at `emulator` with its development key.
fn cityform(emulator: &Emulator) -> Cityform {
    Cityform::new()
        .manifests()
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET)
        .env("CITYFORM_ENDPOINT", &emulator.endpoint)
        .env("NO_COLOR", "1")
}

/// The log lines of `stderr` whose message starts with `message`.
fn lines_with<'a>(stderr: &'a str, message: &str) -> Vec<&'a str> {
    stderr
        .lines()
        .filter(|line| {
            line.split_once(": ")
                .is_some_and(|(_, rest)| rest.starts_with(message))
        })
        .collect()
}

/// The value of `name=` in a log line.
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!(" {name}="))? + name.len() + 2;
    line[start..].split(' ').next()
}

/// Whether the line's `request_id` is one the emulator hands out: a UUID in capitals.
fn has_request_id(line: &str) -> bool {
    field(line, "request_id").is_some_and(|id| {
        id.len() == 36
            && id.split('-').map(str::len).eq([8, 4, 4, 4, 12])
            && id
                .chars()
                .all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_uppercase())
    })
}

#[test]
fn verbose_names_what_a_plan_uses_and_times_each_phase() {
    let emulator = Emulator::start(&[]);
    let workspace = cityform(&emulator);
    workspace
        .then()
        .args(["apply", "--auto-approve"])
        .run()
        .success();

    let run = workspace.then().args(["plan", "-v"]).run();
    run.success();
    let mut settings = run.settings();
    settings.add_filter(r#"version="[^"]*""#, r#"version="[VERSION]""#);
    settings.bind(|| insta::assert_snapshot!(run.report()));
    // Only `info`: no API call is logged.
    assert!(!run.stderr.contains("DEBUG"), "{}", run.stderr);
}

#[test]
fn verbose_logs_the_phases_of_an_apply_and_the_postgres_workspace_by_name() {
    let emulator = Emulator::start(&[]);
    let run = cityform(&emulator)
        .args(["apply", "--auto-approve", "-v"])
        .run();
    run.success();
    for phase in [
        "load manifests",
        "load state",
        "refresh",
        "plan",
        "apply",
        "compact",
    ] {
        assert!(
            lines_with(&run.stderr, &format!("{phase}: done in "))
                .iter()
                .any(|line| line.contains(" INFO ")),
            "no `{phase}` phase in:\n{}",
            run.stderr
        );
    }
    assert!(
        run.stderr
            .contains("using credentials from environment variable `ALIBABA_CLOUD_ACCESS_KEY_ID`"),
        "{}",
        run.stderr
    );

    // A PostgreSQL state is named without its password, with its workspace; opening it
    // fails here (nothing listens), after the log line.
    let run = Cityform::new()
        .manifests()
        .args([
            "plan",
            "-v",
            "--backend",
            "postgres://deploy:hunter2@127.0.0.1:9/city",
            "--workspace",
            "staging",
            "--refresh=false",
        ])
        .run();
    run.failure();
    let named = lines_with(&run.stderr, "using the PostgreSQL state ");
    assert_eq!(named.len(), 1, "{}", run.stderr);
    assert!(named[0].contains("workspace `staging`"), "{}", named[0]);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
}

#[test]
fn very_verbose_logs_every_api_call_with_status_request_id_and_duration() {
    let emulator = Emulator::start(&[]);
    let workspace = cityform(&emulator);
    let run = workspace
        .then()
        .args(["apply", "--auto-approve", "-vv"])
        .run();
    run.success();
    let answered = lines_with(&run.stderr, "answered ");
    let creates: Vec<&&str> = answered
        .iter()
        .filter(|line| line.contains("action=\"CreateJobGroup\""))
        .collect();
    assert_eq!(creates.len(), 5, "{}", run.stderr);
    for line in &answered {
        assert!(line.contains(" DEBUG "), "{line}");
        assert!(line.contains("status=200"), "{line}");
        assert!(has_request_id(line), "{line}");
        let elapsed = field(line, "elapsed").unwrap_or_default();
        let milliseconds = elapsed.strip_suffix("ms").unwrap_or_default();
        assert!(milliseconds.parse::<f64>().is_ok(), "{line}");
    }
    assert_eq!(
        answered.len(),
        lines_with(&run.stderr, "sending ").len(),
        "every call sent is answered:\n{}",
        run.stderr
    );

    // An error answer is logged with its status and RequestId too.
    let run = workspace
        .then()
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-the-secret")
        .args(["plan", "-vv"])
        .run();
    run.failure();
    let refused = lines_with(&run.stderr, "answered ");
    assert!(!refused.is_empty(), "{}", run.stderr);
    for line in refused {
        assert!(!line.contains("status=200"), "{line}");
        assert!(has_request_id(line), "{line}");
    }
}
