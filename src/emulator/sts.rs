//! STS on the emulator's endpoint (API version `2015-04-01`): `AssumeRole` (signed),
//! `AssumeRoleWithOIDC` (unsigned; only `--oidc-token` when one is set) and
//! `GetCallerIdentity`. Issued keys last `--sts-duration` and are accepted by every signed
//! call, CityVisual's included, with their own token: an expired one is answered
//! `InvalidSecurityToken.Expired`, a token of another key
//! `InvalidSecurityToken.MismatchWithAccessKey`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::StatusCode;
use time::OffsetDateTime;

use super::actions::Answered;
use super::api_error::ApiError;
use super::auth;
use super::config::Credentials;
use super::document::Value;
use super::parameters::Parameters;
use super::server::{Shared, lock};
use crate::cloud::request::format_timestamp;
use crate::cloud::secret::Secret;

/// STS's API version.
pub(crate) const STS_VERSION: &str = "2015-04-01";
/// The account every role and user of the emulator belongs to.
pub const EMULATOR_ACCOUNT_ID: &str = "1234567890123456";
/// Issued keys are remembered this long after they expire, so that late calls hear
/// `InvalidSecurityToken.Expired` rather than an unknown key.
const REMEMBERED_AFTER_EXPIRY: time::Duration = time::Duration::hours(1);
/// The most issued keys remembered at once.
const MOST_REMEMBERED: usize = 100_000;

/// Temporary credentials as the emulator issued them.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCredentials {
    /// `AccessKeyId`, starting `STS.`.
    pub access_key_id: String,
    /// `AccessKeySecret`.
    pub access_key_secret: Secret,
    /// `SecurityToken`.
    pub security_token: Secret,
    /// When they stop working.
    pub expiration: OffsetDateTime,
    /// `acs:ram::<account>:assumed-role/<role>/<session>`.
    pub arn: String,
}

impl std::fmt::Debug for IssuedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .field("arn", &self.arn)
            .finish_non_exhaustive()
    }
}

/// The keys STS has handed out.
#[derive(Debug)]
pub(crate) struct Issuer {
    duration: Duration,
    oidc_token: Option<Secret>,
    issued: Mutex<HashMap<String, IssuedCredentials>>,
}

impl Issuer {
    pub fn new(duration: Duration, oidc_token: Option<Secret>) -> Self {
        Self {
            duration,
            oidc_token,
            issued: Mutex::new(HashMap::new()),
        }
    }

    /// New credentials for `role_name`'s session `session_name`.
    pub fn issue(
        &self,
        role_name: &str,
        session_name: &str,
        now: OffsetDateTime,
    ) -> IssuedCredentials {
        let random = || uuid::Uuid::new_v4().simple().to_string();
        let lifetime = time::Duration::try_from(self.duration).unwrap_or(time::Duration::hours(1));
        let credentials = IssuedCredentials {
            access_key_id: format!("STS.{}", random()),
            access_key_secret: Secret::new(random()),
            security_token: Secret::new(format!("CAIS{}{}", random(), random())),
            // Whole seconds, as the answer says it.
            expiration: (now + lifetime)
                .replace_nanosecond(0)
                .unwrap_or(now + lifetime),
            arn: format!("acs:ram::{EMULATOR_ACCOUNT_ID}:assumed-role/{role_name}/{session_name}"),
        };
        let mut issued = lock(&self.issued);
        if issued.len() >= MOST_REMEMBERED {
            issued.retain(|_, key| key.expiration + REMEMBERED_AFTER_EXPIRY > now);
        }
        if issued.len() < MOST_REMEMBERED {
            issued.insert(credentials.access_key_id.clone(), credentials.clone());
        }
        credentials
    }

    fn find(&self, access_key_id: &str) -> Option<IssuedCredentials> {
        lock(&self.issued).get(access_key_id).cloned()
    }
}

/// The key a signed request must be signed with: the emulator's own, or one STS issued
/// whose token came with it and has not expired.
pub(crate) fn signing_key(
    shared: &Shared,
    parameters: &Parameters,
    now: OffsetDateTime,
) -> Result<Credentials, ApiError> {
    let access_key_id = parameters.get("AccessKeyId").unwrap_or_default();
    if access_key_id == shared.credentials.access_key_id {
        return Ok(shared.credentials.clone());
    }
    let Some(issued) = shared.sts.find(access_key_id) else {
        return Err(ApiError::unknown_access_key_id());
    };
    if parameters.get("SecurityToken") != Some(issued.security_token.expose()) {
        return Err(ApiError::other(
            StatusCode::BAD_REQUEST,
            "InvalidSecurityToken.MismatchWithAccessKey",
            "The security token you provided does not match the access key id.",
        ));
    }
    if issued.expiration <= now {
        return Err(ApiError::other(
            StatusCode::BAD_REQUEST,
            "InvalidSecurityToken.Expired",
            format!(
                "The security token you provided has expired at {}.",
                format_timestamp(issued.expiration)
            ),
        ));
    }
    Ok(Credentials::new(
        issued.access_key_id,
        issued.access_key_secret.expose(),
    ))
}

/// Answers an STS request.
pub(crate) fn respond(
    shared: &Shared,
    method: &str,
    parameters: &Parameters,
    now: OffsetDateTime,
) -> Result<Answered, ApiError> {
    let action = parameters.required_common("Action")?;
    let members = match action {
        "AssumeRoleWithOIDC" => assume_role_with_oidc(shared, parameters, now)?,
        "AssumeRole" | "GetCallerIdentity" => {
            auth::check_required_common(parameters)?;
            let key = signing_key(shared, parameters, now)?;
            auth::authenticate(parameters, method, &key, &mut lock(&shared.nonces), now)?;
            if action == "AssumeRole" {
                let (role_name, session_name) = role(parameters)?;
                assumed(&shared.sts.issue(role_name, session_name, now))
            } else {
                caller_identity(shared, &key)
            }
        }
        other => return Err(ApiError::unknown_action(other)),
    };
    Ok(Answered {
        members,
        created: false,
    })
}

fn assume_role_with_oidc(
    shared: &Shared,
    parameters: &Parameters,
    now: OffsetDateTime,
) -> Result<Vec<(&'static str, Value)>, ApiError> {
    let (role_name, session_name) = role(parameters)?;
    let provider = parameters.required("OIDCProviderArn")?;
    let prefix = format!("acs:ram::{EMULATOR_ACCOUNT_ID}:oidc-provider/");
    if provider.strip_prefix(&prefix).is_none_or(str::is_empty) {
        return Err(ApiError::other(
            StatusCode::NOT_FOUND,
            "EntityNotExist.OIDCProvider",
            format!("The OIDC provider does not exist: {provider}."),
        ));
    }
    let token = parameters.required("OIDCToken")?;
    let accepted = match &shared.sts.oidc_token {
        Some(expected) => token == expected.expose(),
        None => !token.trim().is_empty(),
    };
    if !accepted {
        // The token is never quoted back.
        return Err(ApiError::other(
            StatusCode::BAD_REQUEST,
            "AuthenticationFail.OIDCToken.Invalid",
            "The OIDC token is not valid for this provider.",
        ));
    }
    Ok(assumed(&shared.sts.issue(role_name, session_name, now)))
}

/// The role's name and the session's, checking the ARN names a role of the emulator's
/// account.
fn role(parameters: &Parameters) -> Result<(&str, &str), ApiError> {
    let arn = parameters.required("RoleArn")?;
    let session_name = parameters.optional("RoleSessionName").unwrap_or("session");
    if let Some(seconds) = parameters.optional_integer("DurationSeconds")?
        && !(900..=43200).contains(&seconds)
    {
        return Err(ApiError::invalid_parameter(format!(
            "The DurationSeconds \"{seconds}\" is out of range: 900 to 43200."
        )));
    }
    let prefix = format!("acs:ram::{EMULATOR_ACCOUNT_ID}:role/");
    match arn.strip_prefix(&prefix).filter(|name| !name.is_empty()) {
        Some(name) => Ok((name, session_name)),
        None => Err(ApiError::other(
            StatusCode::NOT_FOUND,
            "EntityNotExist.Role",
            format!("The role not exists: {arn}."),
        )),
    }
}

fn assumed(issued: &IssuedCredentials) -> Vec<(&'static str, Value)> {
    let role_id = issued
        .access_key_id
        .trim_start_matches("STS.")
        .chars()
        .take(16)
        .collect::<String>();
    vec![
        (
            "AssumedRoleUser",
            Value::Object(vec![
                ("AssumedRoleId", Value::text(role_id)),
                ("Arn", Value::text(&issued.arn)),
            ]),
        ),
        (
            "Credentials",
            Value::Object(vec![
                ("SecurityToken", Value::text(issued.security_token.expose())),
                ("AccessKeyId", Value::text(&issued.access_key_id)),
                (
                    "AccessKeySecret",
                    Value::text(issued.access_key_secret.expose()),
                ),
                (
                    "Expiration",
                    Value::text(format_timestamp(issued.expiration)),
                ),
            ]),
        ),
    ]
}

fn caller_identity(shared: &Shared, key: &Credentials) -> Vec<(&'static str, Value)> {
    let account = ("AccountId", Value::text(EMULATOR_ACCOUNT_ID));
    match shared.sts.find(&key.access_key_id) {
        Some(issued) => vec![
            account,
            ("Arn", Value::text(&issued.arn)),
            ("IdentityType", Value::text("AssumedRoleUser")),
            ("PrincipalId", Value::text(&issued.access_key_id)),
        ],
        None => vec![
            account,
            (
                "Arn",
                Value::text(format!(
                    "acs:ram::{EMULATOR_ACCOUNT_ID}:user/{}",
                    key.access_key_id
                )),
            ),
            ("IdentityType", Value::text("RAMUser")),
            ("PrincipalId", Value::text(&key.access_key_id)),
        ],
    }
}
