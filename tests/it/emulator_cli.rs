//! `cityform emulator` as a process: the start-up lines, the port read from them, a seed
//! file, credentials from the environment, one log line per request, and refused flags.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use cityform::cloud::signer;

/// A running `cityform emulator` that is killed when dropped.
struct Process {
    child: Child,
    endpoint: String,
    banner: Vec<String>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(arguments: &[&str], environment: &[(&str, &str)]) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cityform"));
    command
        .arg("emulator")
        .arg("--listen=127.0.0.1:0")
        .args(arguments)
        .env_remove("CITYFORM_EMULATOR_ACCESS_KEY_ID")
        .env_remove("CITYFORM_EMULATOR_ACCESS_KEY_SECRET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in environment {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        banner.push(line.trim_end().to_owned());
    }
    let endpoint = banner[0]
        .strip_prefix("cityform emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {:?}", banner[0]))
        .to_owned();
    Process {
        child,
        endpoint,
        banner,
    }
}

/// A signed GET of `DescribeJobGroups` on the built-in instance, answered in JSON.
fn describe(process: &Process, access_key_id: &str, secret: &str) -> (u16, serde_json::Value) {
    let timestamp = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let nonce = uuid::Uuid::new_v4().to_string();
    let mut pairs = vec![
        ("Action", "DescribeJobGroups"),
        ("Version", "2018-10-30"),
        ("Format", "JSON"),
        ("AccessKeyId", access_key_id),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", &nonce),
        ("Timestamp", &timestamp),
        ("InstanceId", "cityvisual-Instance"),
    ];
    let signature = signer::sign(secret, &signer::string_to_sign("GET", pairs.clone()));
    pairs.push(("Signature", &signature));
    let query: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", signer::percent_encode(value)))
        .collect();
    let answer = get(&format!("{}?{}", process.endpoint, query.join("&")));
    (answer.0, serde_json::from_str(&answer.1).unwrap())
}

fn get(url: &str) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let response = reqwest::get(url).await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

#[test]
fn prints_the_address_first_and_the_development_pair() {
    let process = spawn(&[], &[]);
    assert!(
        process.endpoint.starts_with("http://127.0.0.1:") && process.endpoint.ends_with('/'),
        "{}",
        process.endpoint
    );
    let port: u16 = process.endpoint["http://127.0.0.1:".len()..]
        .trim_end_matches('/')
        .parse()
        .unwrap();
    assert_ne!(port, 0);
    assert_eq!(process.banner[1], "access key id: cityform-dev");
    assert_eq!(
        process.banner[2],
        "access key secret: cityform-dev-secret (public development pair)"
    );
    let (status, body) = describe(&process, "cityform-dev", "cityform-dev-secret");
    assert_eq!((status, body["TotalCount"].clone()), (200, 0.into()));
}

#[test]
fn credentials_from_the_environment_are_used_and_the_secret_is_never_printed() {
    let mut process = spawn(
        &[],
        &[
            ("CITYFORM_EMULATOR_ACCESS_KEY_ID", "ci-key"),
            ("CITYFORM_EMULATOR_ACCESS_KEY_SECRET", "ci-secret-value"),
        ],
    );
    assert_eq!(process.banner[1], "access key id: ci-key");
    assert_eq!(process.banner[2], "access key secret: as given (not shown)");
    assert_eq!(describe(&process, "ci-key", "ci-secret-value").0, 200);
    let (status, body) = describe(&process, "cityform-dev", "cityform-dev-secret");
    assert_eq!(
        (status, body["Code"].clone()),
        (404, "InvalidAccessKeyId.NotFound".into())
    );
    let (status, body) = describe(&process, "ci-key", "wrong");
    assert_eq!(
        (status, body["Code"].clone()),
        (400, "SignatureDoesNotMatch".into())
    );

    process.child.kill().unwrap();
    process.child.wait().unwrap();
    let mut stderr = String::new();
    process
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].starts_with("cityform emulator: GET DescribeJobGroups -> 200 OK in "),
        "{stderr}"
    );
    assert!(
        lines[1].contains("-> 404 InvalidAccessKeyId.NotFound"),
        "{stderr}"
    );
    assert!(
        lines[2].contains("-> 400 SignatureDoesNotMatch"),
        "{stderr}"
    );
    assert!(!stderr.contains("ci-secret-value"));
}

#[test]
fn a_seed_file_adds_groups_that_the_state_endpoint_shows() {
    let directory = tempfile::tempdir().unwrap();
    let seed = directory.path().join("seed.yaml");
    std::fs::write(
        &seed,
        "instances: [second-Instance]\n\
         jobGroups:\n  \
           - instanceId: cityvisual-Instance\n    name: by-hand\n    algoLibId: \"3\"\n    \
             resourceProfileId: \"6\"\n    planedJobCount: 4\n    streamPerJob: 2\n    status: Running\n",
    )
    .unwrap();
    let process = spawn(&["--seed", seed.to_str().unwrap(), "--quiet"], &[]);
    let (status, dump) = get(&format!("{}_emulator/state", process.endpoint));
    assert_eq!(status, 200);
    let dump: serde_json::Value = serde_json::from_str(&dump).unwrap();
    assert_eq!(
        dump["instances"],
        serde_json::json!(["cityvisual-Instance", "second-Instance"])
    );
    assert_eq!(dump["jobGroups"][0]["name"], "by-hand");
    assert_eq!(dump["jobGroups"][0]["status"], "Running");
    let (_, described) = describe(&process, "cityform-dev", "cityform-dev-secret");
    assert_eq!(described["JobGroups"]["JobGroup"][0]["PlanedJobCount"], 4);
}

#[test]
fn bad_flags_and_bad_seeds_stop_start_up_with_a_message() {
    let run = |arguments: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cityform"))
            .arg("emulator")
            .arg("--listen=127.0.0.1:0")
            .args(arguments)
            .env_remove("CITYFORM_EMULATOR_ACCESS_KEY_ID")
            .env_remove("CITYFORM_EMULATOR_ACCESS_KEY_SECRET")
            .output()
            .unwrap()
    };
    let directory = tempfile::tempdir().unwrap();
    let seed = directory.path().join("seed.yaml");
    std::fs::write(
        &seed,
        "jobGroups:\n  - instanceId: nowhere\n    name: g1\n    algoLibId: \"3\"\n    \
         resourceProfileId: \"6\"\n    planedJobCount: 1\n    streamPerJob: 1\n",
    )
    .unwrap();
    for (arguments, expected) in [
        (
            vec!["--throttle-rate=1.5"],
            "`--throttle-rate` must be a number from 0 to 1",
        ),
        (vec!["--access-key-id=only-half"], "must be given together"),
        (
            vec!["--seed=/nonexistent/seed.yaml"],
            "cannot read seed file `/nonexistent/seed.yaml`",
        ),
        (
            vec!["--seed", seed.to_str().unwrap()],
            "seed job group `g1` is refused with `InvalidInstanceId.NotFound`",
        ),
    ] {
        let output = run(&arguments);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{arguments:?}: {stderr}");
        assert!(stderr.contains(expected), "{arguments:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{arguments:?}");
    }
}

#[cfg(unix)]
#[test]
fn sigterm_stops_it_cleanly() {
    let mut process = spawn(&["--quiet"], &[]);
    let pid = process.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = process.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
}
