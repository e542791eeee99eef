//! `cityform emulator` as a separate process on a free port, for tests that run the binary
//! against it the way a user or a CI job does.
//!
//! `CITYFORM_TEST_EMULATOR_ARGS` holds extra arguments, separated by whitespace, given to
//! every emulator started here, after `--quiet` and before the test's own arguments: for
//! example `--dialect reference --transition-ms 200` to run a suite against the reference
//! page's answer shapes with visible start and stop transitions.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The public development key pair the emulator accepts by default.
pub const ACCESS_KEY_ID: &str = "cityform-dev";
/// Its secret.
pub const ACCESS_KEY_SECRET: &str = "cityform-dev-secret";

/// A running `cityform emulator`; killed when dropped.
#[derive(Debug)]
pub struct EmulatorProcess {
    child: Child,
    /// `http://127.0.0.1:PORT/`.
    pub endpoint: String,
}

impl EmulatorProcess {
    /// Starts `cityform emulator --listen 127.0.0.1:0 --quiet` with the arguments of
    /// `CITYFORM_TEST_EMULATOR_ARGS` and `arguments` added, and waits for the line that names
    /// its address.
    pub fn start(arguments: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cityform"))
            .args(["emulator", "--listen", "127.0.0.1:0", "--quiet"])
            .args(extra_emulator_arguments())
            .args(arguments)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = sender.send(line);
            }
            // Keep reading so that the emulator never blocks on a full pipe.
            for _ in lines {}
        });
        let Ok(line) = receiver.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            panic!("the emulator did not print its address within 30 s");
        };
        let endpoint = line
            .strip_prefix("cityform emulator listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        Self { child, endpoint }
    }

    /// Every job group the emulator holds, from `GET /_emulator/state`.
    pub fn job_groups(&self) -> Vec<serde_json::Value> {
        let url = format!("{}_emulator/state", self.endpoint);
        let body = http_get(&url);
        let state: serde_json::Value = serde_json::from_str(&body).unwrap();
        state["jobGroups"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The arguments in `CITYFORM_TEST_EMULATOR_ARGS`, split at whitespace; none when unset.
pub fn extra_emulator_arguments() -> Vec<String> {
    std::env::var("CITYFORM_TEST_EMULATOR_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// A plain HTTP/1.1 GET on loopback, without a client library.
fn http_get(url: &str) -> String {
    use std::io::{Read as _, Write as _};
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return dechunk(body);
    }
    body.to_owned()
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let Some((size, rest)) = body.split_once("\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
}

/// Sets `planedJobCount` of the group `job_group_id` to `count` through the emulator's API at
/// `endpoint`, as someone working behind cityform's back would.
pub fn set_planed_job_count(
    endpoint: &str,
    region_id: &str,
    instance_id: &str,
    job_group_id: &str,
    count: u32,
) {
    use cityform::cloud::{
        ClientOptions, CloudClient, Credentials, Endpoints, ModifyJobGroupRequest,
    };
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let client = CloudClient::new(
        Credentials::new(ACCESS_KEY_ID, ACCESS_KEY_SECRET),
        Endpoints::with_override(endpoint).unwrap(),
        ClientOptions::default(),
    )
    .unwrap();
    let mut change = ModifyJobGroupRequest::new(region_id, instance_id, job_group_id);
    change.planed_job_count = Some(count);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(client.modify_job_group(&change))
        .unwrap();
}
