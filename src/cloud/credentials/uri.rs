//! `ALIBABA_CLOUD_CREDENTIALS_URI` and the `CredentialsURI` profile mode: a GET that
//! answers `AccessKeyId`, `AccessKeySecret`, `SecurityToken` and `Expiration` as JSON.

use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;
use time::OffsetDateTime;

use super::CredentialError;
use super::provider::Issued;
use super::sts::AnswerCredentials;
use crate::cloud::endpoint::is_loopback;

/// How long the credentials server may take.
const URI_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UriAnswer {
    #[serde(default)]
    code: Option<String>,
    #[serde(flatten)]
    credentials: Option<AnswerCredentials>,
}

/// Fetches credentials from `url`; errors show the URL's origin only (a query may hold a
/// secret).
pub(crate) async fn obtain(
    http: &reqwest::Client,
    url: &str,
    source: &str,
) -> Result<Issued, CredentialError> {
    let failed = |problem: String, fix: &str| CredentialError::Failed {
        source_name: source.to_owned(),
        problem,
        fix: fix.to_owned(),
    };
    let parsed = Url::parse(url).map_err(|error| {
        failed(
            format!("the credentials URI is not a URL: {error}"),
            "give a URL such as `http://127.0.0.1:8080/credentials`",
        )
    })?;
    let origin = parsed.origin().ascii_serialization();
    let plain_remote = parsed.scheme() == "http" && !parsed.host_str().is_some_and(is_loopback);
    if plain_remote || !matches!(parsed.scheme(), "http" | "https") {
        return Err(failed(
            format!("the credentials URI `{origin}` is not `https://`"),
            "use `https://`; plain `http://` is accepted only for a server on this machine",
        ));
    }
    let server_fix = "check that the credentials server is running and answers `AccessKeyId`, `AccessKeySecret`, `SecurityToken` and `Expiration`";
    let response = http
        .get(parsed)
        .timeout(URI_TIMEOUT)
        .send()
        .await
        .map_err(|error| {
            failed(
                format!(
                    "`{origin}` did not answer: {}",
                    crate::cloud::client::error_chain(&error.without_url())
                ),
                server_fix,
            )
        })?;
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    if !status.is_success() {
        return Err(failed(
            format!("`{origin}` answered HTTP {}", status.as_u16()),
            server_fix,
        ));
    }
    let answer: UriAnswer = serde_json::from_slice(&body).map_err(|_| {
        failed(
            format!("`{origin}` did not answer credentials as JSON"),
            server_fix,
        )
    })?;
    if let Some(code) = answer.code.as_deref().filter(|code| *code != "Success") {
        return Err(failed(
            format!("`{origin}` answered `Code` `{code}`"),
            server_fix,
        ));
    }
    let issued = answer
        .credentials
        .ok_or_else(|| {
            failed(
                format!("`{origin}` answered without a credential field"),
                server_fix,
            )
        })?
        .into_issued()
        .map_err(|problem| failed(problem, server_fix))?;
    if let Some(expiration) = issued.expiration
        && expiration <= OffsetDateTime::now_utc()
    {
        return Err(failed(
            format!("the credentials `{origin}` answered expired at {expiration}"),
            "the credentials server hands out stale credentials: make it renew them",
        ));
    }
    Ok(issued)
}
