//! The ECS instance RAM role, from the instance metadata service: IMDSv2 (a session token
//! from `PUT /latest/api/token`, sent with every read), else IMDSv1 unless it is disabled.
//! Every request waits one second at most, so a machine that is not an ECS instance learns
//! it within about a second.

use std::time::Duration;

use serde::Deserialize;

use super::provider::Issued;
use super::sts::AnswerCredentials;
use super::{ALIBABA_CLOUD_ECS_METADATA_DISABLED, ALIBABA_CLOUD_IMDSV1_DISABLED, CredentialError};
use crate::cloud::redact::excerpt;

/// The metadata service's address on every ECS instance.
pub const DEFAULT_METADATA_ENDPOINT: &str = "http://100.100.100.200";
/// How long each metadata request may take.
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(1);
const TOKEN_PATH: &str = "/latest/api/token";
const ROLE_PATH: &str = "/latest/meta-data/ram/security-credentials/";
const TOKEN_TTL_HEADER: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "X-aliyun-ecs-metadata-token";
const TOKEN_TTL_SECONDS: &str = "21600";

/// Where the metadata service is and how to ask it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EcsSettings {
    /// `http://100.100.100.200`, or `CITYFORM_ECS_METADATA_ENDPOINT`.
    pub endpoint: String,
    /// The role, when `ALIBABA_CLOUD_ECS_METADATA` or a profile names it.
    pub role_name: Option<String>,
    /// Whether a token-less read is refused.
    pub imdsv1_disabled: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetadataAnswer {
    #[serde(default)]
    code: Option<String>,
    #[serde(flatten)]
    credentials: Option<AnswerCredentials>,
}

fn failed(source: &str, problem: String, fix: &str) -> CredentialError {
    CredentialError::Failed {
        source_name: source.to_owned(),
        problem,
        fix: fix.to_owned(),
    }
}

const NOT_ON_ECS_FIX: &str = "run on an ECS instance with a RAM role attached, or configure another source; set `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true` to skip the metadata service";

/// Asks the metadata service for the instance role's credentials.
pub(crate) async fn obtain(
    http: &reqwest::Client,
    settings: &EcsSettings,
    source: &str,
) -> Result<Issued, CredentialError> {
    let base = settings.endpoint.trim_end_matches('/');
    let unreachable = |error: reqwest::Error| {
        let what = if error.is_timeout() {
            format!("did not answer within {} s", METADATA_TIMEOUT.as_secs())
        } else {
            "cannot be reached".to_owned()
        };
        failed(
            source,
            format!("the metadata service at `{base}` {what}"),
            NOT_ON_ECS_FIX,
        )
    };
    let token = match http
        .put(format!("{base}{TOKEN_PATH}"))
        .header(TOKEN_TTL_HEADER, TOKEN_TTL_SECONDS)
        .timeout(METADATA_TIMEOUT)
        .send()
        .await
    {
        Ok(response) if response.status().is_success() => {
            Some(response.text().await.map_err(unreachable)?)
        }
        // An answer without a token: the service is there and speaks IMDSv1 only.
        Ok(response) if !settings.imdsv1_disabled => {
            tracing::debug!(
                status = response.status().as_u16(),
                "no IMDSv2 token: falling back to IMDSv1"
            );
            None
        }
        Ok(response) => {
            return Err(failed(
                source,
                format!(
                    "the metadata service at `{base}` gave no session token (HTTP {})",
                    response.status().as_u16()
                ),
                &format!(
                    "unset `{ALIBABA_CLOUD_IMDSV1_DISABLED}` to allow IMDSv1 reads, or enable IMDSv2 on the instance"
                ),
            ));
        }
        // Nobody answered: a second try without a token would wait as long for nothing.
        Err(error) => return Err(unreachable(error)),
    };
    let get = |path: String| {
        let mut request = http.get(format!("{base}{path}")).timeout(METADATA_TIMEOUT);
        if let Some(token) = &token {
            request = request.header(TOKEN_HEADER, token.as_str());
        }
        request
    };
    let role_name = match &settings.role_name {
        Some(role) => role.clone(),
        None => {
            let response = get(ROLE_PATH.to_owned())
                .send()
                .await
                .map_err(unreachable)?;
            let status = response.status();
            let text = response.text().await.map_err(unreachable)?;
            let role = text.lines().next().unwrap_or_default().trim().to_owned();
            if !status.is_success() || role.is_empty() {
                return Err(failed(
                    source,
                    format!("this instance has no RAM role (HTTP {})", status.as_u16()),
                    &format!(
                        "attach a RAM role to the instance, or set `{ALIBABA_CLOUD_ECS_METADATA_DISABLED}=true` and configure another source"
                    ),
                ));
            }
            role
        }
    };
    let response = get(format!("{ROLE_PATH}{role_name}"))
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let body = response.bytes().await.map_err(unreachable)?;
    let role_fix = format!("check that RAM role `{role_name}` is attached to this instance");
    if !status.is_success() {
        return Err(failed(
            source,
            format!(
                "the metadata service has no credentials for role `{role_name}` (HTTP {}: {})",
                status.as_u16(),
                excerpt(&body)
            ),
            &role_fix,
        ));
    }
    let answer: MetadataAnswer = serde_json::from_slice(&body).map_err(|_| {
        failed(
            source,
            format!("the metadata service's answer for role `{role_name}` is not credentials"),
            &role_fix,
        )
    })?;
    if answer.code.as_deref().is_some_and(|code| code != "Success") {
        return Err(failed(
            source,
            format!(
                "the metadata service answered `Code` `{}` for role `{role_name}`",
                answer.code.unwrap_or_default()
            ),
            &role_fix,
        ));
    }
    let credentials = answer.credentials.ok_or_else(|| {
        failed(
            source,
            format!(
                "the metadata service's answer for role `{role_name}` lacks a credential field"
            ),
            &role_fix,
        )
    })?;
    credentials
        .into_issued()
        .map_err(|problem| failed(source, problem, &role_fix))
}
