//! The `External` profile mode: a command (`process_command`) that prints credentials as
//! JSON, in the aliyun CLI's shape (`mode`, `access_key_id`, `access_key_secret`,
//! `sts_token`) or the SDK's (`AccessKeyId`, `AccessKeySecret`, `SecurityToken`,
//! `Expiration`). The command is split on white space and run without a shell, and is
//! given [`PROCESS_TIMEOUT`] to finish: a command waiting for a sign-in nobody can give in
//! CI must not hang the run.

use std::io::Read as _;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::provider::Issued;
use super::{CredentialError, Credentials};

/// How long `process_command` may run before it is stopped and the source fails.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `command` and reads the credentials it prints.
pub(crate) async fn obtain(command: &str, source: &str) -> Result<Issued, CredentialError> {
    obtain_within(command, source, PROCESS_TIMEOUT).await
}

/// Why the command gave no output to read.
enum RunFailure {
    Io(std::io::Error),
    TimedOut,
}

/// Runs `program` to its end, or kills it after `limit`; its standard output, and how it
/// exited.
fn run_within(
    program: &str,
    arguments: &[String],
    limit: Duration,
) -> Result<(ExitStatus, Vec<u8>), RunFailure> {
    let mut child = Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(RunFailure::Io)?;
    // Read while it runs, so that a large output cannot block it on a full pipe.
    let reader = child.stdout.take().map(|mut stdout| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            bytes
        })
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait().map_err(RunFailure::Io)? {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                // The reader is left behind: a grandchild may still hold the pipe open.
                return Err(RunFailure::TimedOut);
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let stdout = reader
        .map(|reader| reader.join().unwrap_or_default())
        .unwrap_or_default();
    Ok((status, stdout))
}

/// [`obtain`], giving the command `limit` to finish.
async fn obtain_within(
    command: &str,
    source: &str,
    limit: Duration,
) -> Result<Issued, CredentialError> {
    let failed = |problem: String| CredentialError::Failed {
        source_name: source.to_owned(),
        problem,
        fix: "make `process_command` print the credentials as JSON and exit with status 0"
            .to_owned(),
    };
    let mut words = command.split_whitespace();
    let program = words
        .next()
        .ok_or_else(|| failed("`process_command` is empty".to_owned()))?
        .to_owned();
    let arguments: Vec<String> = words.map(str::to_owned).collect();
    let shown = program.clone();
    let (status, stdout) =
        tokio::task::spawn_blocking(move || run_within(&program, &arguments, limit))
            .await
            .map_err(|error| failed(format!("cannot run `{shown}`: {error}")))?
            .map_err(|failure| match failure {
                RunFailure::Io(error) => failed(format!("cannot run `{shown}`: {error}")),
                RunFailure::TimedOut => failed(format!(
                    "`{shown}` did not finish within {} s and was stopped",
                    limit.as_secs_f64()
                )),
            })?;
    if !status.success() {
        return Err(failed(format!("`{shown}` failed: {status}")));
    }
    // Parsed as an untyped value: a syntax error carries a position, never the content.
    let document: Value = serde_json::from_slice(&stdout)
        .map_err(|error| failed(format!("`{shown}` did not print JSON ({error})")))?;
    let text = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| document.get(*name).and_then(Value::as_str))
            .filter(|value| !value.is_empty())
    };
    let access_key_id = text(&["access_key_id", "AccessKeyId"])
        .ok_or_else(|| failed(format!("`{shown}` printed no `access_key_id`")))?;
    let access_key_secret = text(&["access_key_secret", "AccessKeySecret"])
        .ok_or_else(|| failed(format!("`{shown}` printed no `access_key_secret`")))?;
    let mut credentials = Credentials::new(access_key_id, access_key_secret);
    if let Some(token) = text(&["sts_token", "SecurityToken"]) {
        credentials = credentials.with_security_token(token);
    }
    let expiration = match text(&["expiration", "Expiration"]) {
        Some(moment) => Some(OffsetDateTime::parse(moment, &Rfc3339).map_err(|_| {
            failed(format!(
                "`{shown}` printed an `Expiration` that is not a time"
            ))
        })?),
        None => None,
    };
    Ok(Issued::new(credentials, expiration))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_command_that_does_not_finish_in_time_is_stopped() {
        let started = Instant::now();
        let error = obtain_within("sleep 30", "profile `x`", Duration::from_millis(300))
            .await
            .unwrap_err()
            .to_string();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            error.contains("`sleep` did not finish within 0.3 s and was stopped"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_command_printing_a_key_in_time_gives_it() {
        let issued = obtain_within(
            "echo {\"AccessKeyId\":\"LTAIx\",\"AccessKeySecret\":\"s\"}",
            "profile `x`",
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(issued.credentials.access_key_id, "LTAIx");
        assert_eq!(issued.expiration, None);
    }
}
