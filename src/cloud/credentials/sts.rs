//! STS, the service that hands out temporary credentials (API version `2015-04-01`):
//! `AssumeRole` signed with a key, `AssumeRoleWithOIDC` unsigned with an OIDC token, and
//! `GetCallerIdentity` for `whoami`. Requests are built by [`crate::cloud::request`] like
//! CityVisual's, and answers' errors are read by [`crate::cloud::error`].

use std::collections::BTreeMap;
use std::path::Path;

use reqwest::Url;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::environment::{is_true, set_variable};
use super::provider::{Issued, RoleRequest};
use super::{
    ALIBABA_CLOUD_STS_ENDPOINT, ALIBABA_CLOUD_STS_REGION, ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED,
    CredentialError, Credentials,
};
use crate::cloud::endpoint::{self, Endpoints};
use crate::cloud::error::error_from_answer;
use crate::cloud::redact::Redactor;
use crate::cloud::request::{self, FORM_CONTENT_TYPE, RpcRequest};
use crate::cloud::secret::Secret;

/// STS's API version.
pub const STS_VERSION: &str = "2015-04-01";
/// `AssumeRole`.
pub const ASSUME_ROLE: &str = "AssumeRole";
/// `AssumeRoleWithOIDC`.
pub const ASSUME_ROLE_WITH_OIDC: &str = "AssumeRoleWithOIDC";
/// `GetCallerIdentity`.
pub const GET_CALLER_IDENTITY: &str = "GetCallerIdentity";

/// Where STS requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsEndpoint {
    url: Url,
}

impl Default for StsEndpoint {
    #[allow(clippy::unwrap_used)] // a constant URL, checked by the tests
    fn default() -> Self {
        Self {
            url: Url::parse("https://sts.aliyuncs.com/").unwrap(),
        }
    }
}

impl StsEndpoint {
    /// `ALIBABA_CLOUD_STS_ENDPOINT` (a host, or a URL; plain `http://` only for loopback),
    /// else `sts.<region>.aliyuncs.com` for `region` or `ALIBABA_CLOUD_STS_REGION`
    /// (`sts-vpc.` with `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true`), else `sts.aliyuncs.com`.
    pub fn from_environment(
        environment: &BTreeMap<String, String>,
        region: Option<&str>,
    ) -> Result<Self, CredentialError> {
        if let Some(value) = set_variable(environment, ALIBABA_CLOUD_STS_ENDPOINT) {
            let url = if value.contains("://") {
                value.to_owned()
            } else {
                format!("https://{value}/")
            };
            return Self::parse(&url).map_err(|error| CredentialError::InvalidVariable {
                variable: ALIBABA_CLOUD_STS_ENDPOINT,
                value: value.to_owned(),
                fix: format!("{error}; give a host such as `sts.cn-hangzhou.aliyuncs.com`"),
            });
        }
        let region = region.or_else(|| set_variable(environment, ALIBABA_CLOUD_STS_REGION));
        let Some(region) = region else {
            return Ok(Self::default());
        };
        if endpoint::validate_region(region).is_err() {
            return Err(CredentialError::InvalidVariable {
                variable: ALIBABA_CLOUD_STS_REGION,
                value: region.to_owned(),
                fix: "give a region id such as `cn-hangzhou`".to_owned(),
            });
        }
        let prefix = if is_true(environment, ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED) {
            "sts-vpc"
        } else {
            "sts"
        };
        Self::parse(&format!("https://{prefix}.{region}.aliyuncs.com/")).map_err(|error| {
            CredentialError::InvalidVariable {
                variable: ALIBABA_CLOUD_STS_REGION,
                value: region.to_owned(),
                fix: error.to_string(),
            }
        })
    }

    fn parse(url: &str) -> Result<Self, endpoint::EndpointError> {
        let endpoints = Endpoints::with_override(url)?;
        match endpoints.override_url() {
            Some(url) => Ok(Self { url: url.clone() }),
            None => Err(endpoint::EndpointError::NotAUrl {
                input: url.to_owned(),
                detail: "no URL".to_owned(),
            }),
        }
    }

    /// The URL, for messages.
    pub fn url(&self) -> &Url {
        &self.url
    }
}

/// Who the credentials belong to, as `GetCallerIdentity` says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallerIdentity {
    /// The account.
    pub account_id: String,
    /// The caller's ARN.
    pub arn: String,
    /// `Account`, `RAMUser` or `AssumedRoleUser`.
    #[serde(default)]
    pub identity_type: String,
}

/// How an STS call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StsFailure {
    /// STS answered with an error.
    Refused {
        action: &'static str,
        detail: String,
    },
    /// No answer.
    Unreachable { endpoint: String, detail: String },
    /// An answer that is not what STS sends.
    Malformed {
        action: &'static str,
        detail: String,
    },
}

impl StsFailure {
    /// The error, naming `source` and what to do.
    pub(crate) fn into_error(self, source: &str) -> CredentialError {
        let (problem, fix) = match self {
            StsFailure::Refused { action, detail } => {
                let fix = match action {
                    ASSUME_ROLE_WITH_OIDC => {
                        "check the role ARN and the OIDC provider ARN, and that the role's trust policy trusts that provider for this token's issuer, audience and subject (docs/credentials.md)"
                    }
                    ASSUME_ROLE => {
                        "check the role ARN, that the signing key may call `sts:AssumeRole` on it, and that the role's trust policy trusts the key's account"
                    }
                    _ => "the credentials were refused: obtain new ones",
                };
                (format!("STS refused `{action}`: {detail}"), fix.to_owned())
            }
            StsFailure::Unreachable { endpoint, detail } => (
                format!("STS at `{endpoint}` did not answer: {detail}"),
                format!(
                    "check the network, or set `{ALIBABA_CLOUD_STS_ENDPOINT}` or `{ALIBABA_CLOUD_STS_REGION}`"
                ),
            ),
            StsFailure::Malformed { action, detail } => (
                format!("STS's answer to `{action}` cannot be read: {detail}"),
                format!("check that `{ALIBABA_CLOUD_STS_ENDPOINT}` points at STS"),
            ),
        };
        CredentialError::Failed {
            source_name: source.to_owned(),
            problem,
            fix,
        }
    }
}

/// Reads an OIDC token file: its content, trimmed. `source` names the source in errors.
pub(crate) fn read_token_file(path: &Path, source: &str) -> Result<Secret, CredentialError> {
    let failed = |problem: String, fix: &str| CredentialError::Failed {
        source_name: source.to_owned(),
        problem,
        fix: fix.to_owned(),
    };
    let text = std::fs::read_to_string(path).map_err(|error| {
        let fix = if error.kind() == std::io::ErrorKind::NotFound {
            "write the identity token there before running cityform (in GitHub Actions, grant `permissions: id-token: write` and fetch the token; see docs/credentials.md), or point the token file setting at the file that holds it"
        } else {
            "make the file readable by the user running cityform"
        };
        failed(
            format!("cannot read the OIDC token file `{}`: {error}", path.display()),
            fix,
        )
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(failed(
            format!("the OIDC token file `{}` is empty", path.display()),
            "write the identity token into it before running cityform",
        ));
    }
    Ok(Secret::new(token))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumedAnswer {
    credentials: AnswerCredentials,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AnswerCredentials {
    pub access_key_id: String,
    pub access_key_secret: String,
    pub security_token: String,
    pub expiration: String,
}

impl AnswerCredentials {
    pub(crate) fn into_issued(self) -> Result<Issued, String> {
        let expiration = OffsetDateTime::parse(&self.expiration, &Rfc3339)
            .map_err(|_| format!("`Expiration` is not a time: `{}`", self.expiration))?;
        Ok(Issued::new(
            Credentials::new(self.access_key_id, self.access_key_secret)
                .with_security_token(self.security_token),
            Some(expiration),
        ))
    }
}

fn role_parameters(role: &RoleRequest) -> Vec<(String, String)> {
    let mut parameters = vec![
        ("RoleArn".to_owned(), role.role_arn.clone()),
        ("RoleSessionName".to_owned(), role.session_name.clone()),
        (
            "DurationSeconds".to_owned(),
            role.duration_seconds.to_string(),
        ),
    ];
    if let Some(policy) = &role.policy {
        parameters.push(("Policy".to_owned(), policy.clone()));
    }
    parameters
}

/// `AssumeRole`, signed with `signer`.
pub(crate) async fn assume_role(
    http: &reqwest::Client,
    signer: &Credentials,
    role: &RoleRequest,
) -> Result<Issued, StsFailure> {
    let mut parameters = role_parameters(role);
    if let Some(external_id) = &role.external_id {
        parameters.push(("ExternalId".to_owned(), external_id.clone()));
    }
    let rpc = RpcRequest {
        action: ASSUME_ROLE,
        region_id: String::new(),
        parameters,
    };
    let body = send(http, &role.sts, &rpc, Some(signer), Redactor::new(signer)).await?;
    assumed(ASSUME_ROLE, &body)
}

/// `AssumeRoleWithOIDC`, unsigned, with `token`.
pub(crate) async fn assume_role_with_oidc(
    http: &reqwest::Client,
    role: &RoleRequest,
    provider_arn: &str,
    token: &Secret,
) -> Result<Issued, StsFailure> {
    let mut parameters = role_parameters(role);
    parameters.push(("OIDCProviderArn".to_owned(), provider_arn.to_owned()));
    parameters.push(("OIDCToken".to_owned(), token.expose().to_owned()));
    let rpc = RpcRequest {
        action: ASSUME_ROLE_WITH_OIDC,
        region_id: String::new(),
        parameters,
    };
    let redactor = Redactor::new(&Credentials::new("", token.clone()));
    let body = send(http, &role.sts, &rpc, None, redactor).await?;
    assumed(ASSUME_ROLE_WITH_OIDC, &body)
}

/// `GetCallerIdentity`, signed with `credentials`.
pub async fn get_caller_identity(
    http: &reqwest::Client,
    endpoint: &StsEndpoint,
    credentials: &Credentials,
) -> Result<CallerIdentity, CredentialError> {
    let rpc = RpcRequest {
        action: GET_CALLER_IDENTITY,
        region_id: String::new(),
        parameters: Vec::new(),
    };
    let body = send(
        http,
        endpoint,
        &rpc,
        Some(credentials),
        Redactor::new(credentials),
    )
    .await
    .map_err(|failure| failure.into_error("STS `GetCallerIdentity`"))?;
    serde_json::from_slice(&body).map_err(|error| {
        StsFailure::Malformed {
            action: GET_CALLER_IDENTITY,
            detail: error.to_string(),
        }
        .into_error("STS `GetCallerIdentity`")
    })
}

fn assumed(action: &'static str, body: &[u8]) -> Result<Issued, StsFailure> {
    let malformed = |detail: String| StsFailure::Malformed { action, detail };
    // Parsed without quoting the body: it holds the new secret.
    let answer: AssumedAnswer = serde_json::from_slice(body).map_err(|error| {
        malformed(format!(
            "not the expected JSON at column {}",
            error.column()
        ))
    })?;
    answer.credentials.into_issued().map_err(malformed)
}

async fn send(
    http: &reqwest::Client,
    endpoint: &StsEndpoint,
    rpc: &RpcRequest,
    signer: Option<&Credentials>,
    redactor: Redactor,
) -> Result<Vec<u8>, StsFailure> {
    let timestamp = request::format_timestamp(OffsetDateTime::now_utc());
    let nonce = request::fresh_nonce();
    let mut rpc = rpc.clone();
    rpc.region_id = "cn-hangzhou".to_owned();
    let prepared = match signer {
        Some(credentials) => {
            request::sign_versioned_request(&rpc, STS_VERSION, credentials, &nonce, &timestamp)
        }
        None => request::unsigned_request(&rpc, STS_VERSION, &nonce, &timestamp),
    };
    let mut url = endpoint.url.clone();
    url.set_query(Some(&prepared.query_string()));
    let origin = endpoint.url.origin().ascii_serialization();
    let unreachable = |error: reqwest::Error| StsFailure::Unreachable {
        endpoint: origin.clone(),
        detail: redactor.redact(&crate::cloud::client::error_chain(&error.without_url())),
    };
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, FORM_CONTENT_TYPE)
        .body(prepared.body)
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let body = response.bytes().await.map_err(unreachable)?;
    if status.is_success() {
        Ok(body.to_vec())
    } else {
        let (kind, _) = error_from_answer(status.as_u16(), &body[..], &redactor);
        Err(StsFailure::Refused {
            action: rpc.action,
            detail: kind.to_string(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::test_support::environment;

    #[test]
    fn the_endpoint_follows_the_official_rules() {
        let url = |pairs: &[(&str, &str)]| {
            StsEndpoint::from_environment(&environment(pairs), None)
                .map(|endpoint| endpoint.url().to_string())
        };
        assert_eq!(url(&[]).unwrap(), "https://sts.aliyuncs.com/");
        assert_eq!(
            url(&[(ALIBABA_CLOUD_STS_REGION, "cn-beijing")]).unwrap(),
            "https://sts.cn-beijing.aliyuncs.com/"
        );
        assert_eq!(
            url(&[
                (ALIBABA_CLOUD_STS_REGION, "cn-beijing"),
                (ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED, "true")
            ])
            .unwrap(),
            "https://sts-vpc.cn-beijing.aliyuncs.com/"
        );
        assert_eq!(
            url(&[(ALIBABA_CLOUD_STS_ENDPOINT, "sts.example.com")]).unwrap(),
            "https://sts.example.com/"
        );
        assert_eq!(
            url(&[(ALIBABA_CLOUD_STS_ENDPOINT, "http://127.0.0.1:9/")]).unwrap(),
            "http://127.0.0.1:9/"
        );
        let error = url(&[(ALIBABA_CLOUD_STS_ENDPOINT, "http://sts.example.com/")]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`ALIBABA_CLOUD_STS_ENDPOINT` is `http://sts.example.com/`"),
            "{error}"
        );
        assert!(url(&[(ALIBABA_CLOUD_STS_REGION, "Not A Region")]).is_err());
    }

    #[test]
    fn token_files_missing_or_empty_are_named_with_the_fix() {
        let directory = tempfile::tempdir().unwrap();
        let missing = directory.path().join("token");
        let error = read_token_file(&missing, "OIDC").unwrap_err().to_string();
        assert!(
            error.starts_with("cannot get credentials from OIDC: cannot read the OIDC token file"),
            "{error}"
        );
        assert!(error.contains("id-token: write"), "{error}");
        std::fs::write(&missing, "  \n").unwrap();
        let error = read_token_file(&missing, "OIDC").unwrap_err().to_string();
        assert!(error.contains("is empty"), "{error}");
        std::fs::write(&missing, "eyJtoken\n").unwrap();
        assert_eq!(
            read_token_file(&missing, "OIDC").unwrap().expose(),
            "eyJtoken"
        );
    }
}
