//! The `External` profile mode: a command (`process_command`) that prints credentials as
//! JSON, in the aliyun CLI's shape (`mode`, `access_key_id`, `access_key_secret`,
//! `sts_token`) or the SDK's (`AccessKeyId`, `AccessKeySecret`, `SecurityToken`,
//! `Expiration`). The command is split on white space and run without a shell.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::provider::Issued;
use super::{CredentialError, Credentials};

/// Runs `command` and reads the credentials it prints.
pub(crate) async fn obtain(command: &str, source: &str) -> Result<Issued, CredentialError> {
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
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&program)
            .args(&arguments)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
    })
    .await
    .map_err(|error| failed(format!("cannot run `{shown}`: {error}")))?
    .map_err(|error| failed(format!("cannot run `{shown}`: {error}")))?;
    if !output.status.success() {
        return Err(failed(format!("`{shown}` failed: {}", output.status)));
    }
    // Parsed as an untyped value: a syntax error carries a position, never the content.
    let document: Value = serde_json::from_slice(&output.stdout)
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
