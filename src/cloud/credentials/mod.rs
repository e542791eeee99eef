//! Where credentials come from: the chain of the official Alibaba Cloud credential libraries,
//! in their order and with their variable names, and the provider that keeps temporary
//! credentials fresh during a run.
//!
//! The first source that is configured wins ([`Chain`]):
//!
//! 1. an access key in the environment ([`environment`]);
//! 2. OIDC: `ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN` and
//!    `ALIBABA_CLOUD_OIDC_TOKEN_FILE`, exchanged at STS ([`sts`]);
//! 3. a profile of the aliyun CLI's file ([`cli_profile`]);
//! 4. a section of the shared credentials file ([`shared_file`]);
//! 5. the ECS instance RAM role ([`ecs`]);
//! 6. `ALIBABA_CLOUD_CREDENTIALS_URI` ([`uri`]).
//!
//! Choosing a source reads files and variables only; the network is used when credentials
//! are obtained ([`CredentialsProvider`]), and to find out whether this machine is an ECS
//! instance when nothing else is configured. A half-configured source is an error rather than
//! a reason to look further: quietly using another account would be the worst outcome.
//! Credentials are never taken from a command-line flag.

mod chain;
mod cli_profile;
mod ecs;
mod environment;
mod process;
mod provider;
mod shared_file;
pub mod sts;
mod uri;

use std::fmt;
use std::path::PathBuf;

pub use chain::{Chain, Resolved};
pub use provider::{CredentialsProvider, Issued};
pub use sts::{CallerIdentity, StsEndpoint};

use super::secret::Secret;

/// Access key id, Alibaba Cloud SDK name.
pub const ALIBABA_CLOUD_ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
/// Access key secret, Alibaba Cloud SDK name.
pub const ALIBABA_CLOUD_ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
/// STS security token, Alibaba Cloud SDK name.
pub const ALIBABA_CLOUD_SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";
/// Access key id, Terraform provider name.
pub const ALICLOUD_ACCESS_KEY: &str = "ALICLOUD_ACCESS_KEY";
/// Access key secret, Terraform provider name.
pub const ALICLOUD_SECRET_KEY: &str = "ALICLOUD_SECRET_KEY";
/// STS security token, Terraform provider name.
pub const ALICLOUD_SECURITY_TOKEN: &str = "ALICLOUD_SECURITY_TOKEN";
/// Selects a profile of the aliyun CLI's file, or a section of the shared credentials file.
pub const ALIBABA_CLOUD_PROFILE: &str = "ALIBABA_CLOUD_PROFILE";
/// The aliyun CLI's file, instead of `~/.aliyun/config.json`.
pub const ALIBABA_CLOUD_CONFIG_FILE: &str = "ALIBABA_CLOUD_CONFIG_FILE";
/// `true` skips the aliyun CLI's file.
pub const ALIBABA_CLOUD_CLI_PROFILE_DISABLED: &str = "ALIBABA_CLOUD_CLI_PROFILE_DISABLED";
/// The shared credentials file, instead of `~/.alibabacloud/credentials`.
pub const ALIBABA_CLOUD_CREDENTIALS_FILE: &str = "ALIBABA_CLOUD_CREDENTIALS_FILE";
/// The RAM role to assume with an OIDC token.
pub const ALIBABA_CLOUD_ROLE_ARN: &str = "ALIBABA_CLOUD_ROLE_ARN";
/// The RAM OIDC identity provider that vouches for the token.
pub const ALIBABA_CLOUD_OIDC_PROVIDER_ARN: &str = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN";
/// The file holding the OIDC token, read again at every refresh.
pub const ALIBABA_CLOUD_OIDC_TOKEN_FILE: &str = "ALIBABA_CLOUD_OIDC_TOKEN_FILE";
/// The role session's name.
pub const ALIBABA_CLOUD_ROLE_SESSION_NAME: &str = "ALIBABA_CLOUD_ROLE_SESSION_NAME";
/// The STS endpoint: a host, or a URL.
pub const ALIBABA_CLOUD_STS_ENDPOINT: &str = "ALIBABA_CLOUD_STS_ENDPOINT";
/// The STS region, for `sts.<region>.aliyuncs.com`.
pub const ALIBABA_CLOUD_STS_REGION: &str = "ALIBABA_CLOUD_STS_REGION";
/// `true` uses `sts-vpc.<region>.aliyuncs.com`.
pub const ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED: &str = "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED";
/// `true` never asks the ECS metadata service.
pub const ALIBABA_CLOUD_ECS_METADATA_DISABLED: &str = "ALIBABA_CLOUD_ECS_METADATA_DISABLED";
/// `true` refuses the metadata service's token-less (IMDSv1) mode.
pub const ALIBABA_CLOUD_IMDSV1_DISABLED: &str = "ALIBABA_CLOUD_IMDSV1_DISABLED";
/// The instance RAM role's name, instead of asking the metadata service.
pub const ALIBABA_CLOUD_ECS_METADATA: &str = "ALIBABA_CLOUD_ECS_METADATA";
/// A URL that answers credentials as JSON.
pub const ALIBABA_CLOUD_CREDENTIALS_URI: &str = "ALIBABA_CLOUD_CREDENTIALS_URI";
/// Where the ECS metadata service is, for tests: `http://100.100.100.200` otherwise.
pub const CITYFORM_ECS_METADATA_ENDPOINT: &str = "CITYFORM_ECS_METADATA_ENDPOINT";

/// The aliyun CLI's profile file, relative to the home directory.
pub const CLI_CONFIG_RELATIVE_PATH: &str = ".aliyun/config.json";
/// The shared credentials file, relative to the home directory.
pub const SHARED_CREDENTIALS_RELATIVE_PATH: &str = ".alibabacloud/credentials";
/// The role session name when none is configured.
pub const DEFAULT_ROLE_SESSION_NAME: &str = "cityform";
/// How long assumed-role credentials are asked for when nothing says otherwise.
pub const DEFAULT_DURATION_SECONDS: u32 = 3600;

/// An access key, with a security token when it is temporary (STS).
///
/// `Debug` shows the access key id, which identifies the key but grants nothing, and `***`
/// for the secret and the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AccessKeyId`, sent with every request.
    pub access_key_id: String,
    /// The secret that signs requests; never sent.
    pub access_key_secret: Secret,
    /// `SecurityToken`, sent with every request when present.
    pub security_token: Option<Secret>,
}

impl Credentials {
    /// A long-term access key.
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<Secret>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            security_token: None,
        }
    }

    /// The same key with an STS security token.
    pub fn with_security_token(mut self, token: impl Into<Secret>) -> Self {
        self.security_token = Some(token.into());
        self
    }
}

/// Where credentials were found, for `whoami`, `-v` and error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// An environment variable pair; the field names the access key id variable.
    Environment {
        /// The variable that held the access key id.
        access_key_id_variable: &'static str,
    },
    /// An OIDC token exchanged at STS, configured by the `ALIBABA_CLOUD_*` variables.
    Oidc,
    /// A profile of the aliyun CLI's file.
    CliProfile {
        /// The file.
        path: PathBuf,
        /// The profile's `name`.
        profile: String,
        /// The profile's `mode`.
        mode: String,
    },
    /// A section of the shared credentials file.
    SharedFile {
        /// The file.
        path: PathBuf,
        /// The section.
        section: String,
        /// Its `type`.
        kind: String,
    },
    /// The ECS instance RAM role, from the metadata service.
    EcsRamRole,
    /// `ALIBABA_CLOUD_CREDENTIALS_URI`.
    CredentialsUri,
    /// Credentials handed to the client by the program itself.
    Given,
}

impl CredentialSource {
    /// The short name `whoami` prints: `environment`, `oidc`, `profile deploy (RamRoleArn)`,
    /// `credentials-file default (ram_role_arn)`, `ecs-ram-role`, `credentials-uri`.
    pub fn label(&self) -> String {
        match self {
            CredentialSource::Environment { .. } => "environment".to_owned(),
            CredentialSource::Oidc => "oidc".to_owned(),
            CredentialSource::CliProfile { profile, mode, .. } => {
                format!("profile {profile} ({mode})")
            }
            CredentialSource::SharedFile { section, kind, .. } => {
                format!("credentials-file {section} ({kind})")
            }
            CredentialSource::EcsRamRole => "ecs-ram-role".to_owned(),
            CredentialSource::CredentialsUri => "credentials-uri".to_owned(),
            CredentialSource::Given => "given".to_owned(),
        }
    }
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Environment {
                access_key_id_variable,
            } => write!(f, "environment variable `{access_key_id_variable}`"),
            CredentialSource::Oidc => write!(
                f,
                "OIDC (`{ALIBABA_CLOUD_ROLE_ARN}`, `{ALIBABA_CLOUD_OIDC_PROVIDER_ARN}`, `{ALIBABA_CLOUD_OIDC_TOKEN_FILE}`)"
            ),
            CredentialSource::CliProfile {
                path,
                profile,
                mode,
            } => write!(f, "profile `{profile}` ({mode}) of `{}`", path.display()),
            CredentialSource::SharedFile {
                path,
                section,
                kind,
            } => write!(f, "section `{section}` ({kind}) of `{}`", path.display()),
            CredentialSource::EcsRamRole => f.write_str("the ECS instance RAM role"),
            CredentialSource::CredentialsUri => write!(f, "`{ALIBABA_CLOUD_CREDENTIALS_URI}`"),
            CredentialSource::Given => f.write_str("credentials given by the program"),
        }
    }
}

/// `` `A` ``, `` `A` and `B` ``, `` `A`, `B` and `C` ``.
fn names(variables: &[&str]) -> String {
    let quoted: Vec<String> = variables.iter().map(|name| format!("`{name}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, init)) => format!("{} and {last}", init.join(", ")),
    }
}

/// [`names`] followed by `is` or `are`.
fn names_are(variables: &[&str]) -> String {
    let verb = if variables.len() == 1 { "is" } else { "are" };
    format!("{} {verb}", names(variables))
}

/// Why no credentials could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// No source held credentials.
    #[error(
        "no Alibaba Cloud credentials found: looked at {}; set `{ALIBABA_CLOUD_ACCESS_KEY_ID}` and `{ALIBABA_CLOUD_ACCESS_KEY_SECRET}`, configure OIDC or a profile, or run `aliyun configure` (see docs/credentials.md)",
        .looked_at.join(", ")
    )]
    NotFound {
        /// Every place that was consulted, in order.
        looked_at: Vec<String>,
    },
    /// Some variables of a group are set and others it needs are not. Only names are
    /// shown, never a value.
    #[error(
        "{} set but {} not: set {} too, or unset {}",
        names_are(set),
        names_are(missing),
        if missing.len() == 1 { "it" } else { "them" },
        names(set)
    )]
    HalfSetEnvironment {
        /// The variables of the group that are set.
        set: Vec<&'static str>,
        /// Those it needs that are not.
        missing: Vec<&'static str>,
    },
    /// A variable has a value cityform cannot use.
    #[error("`{variable}` is `{value}`: {fix}")]
    InvalidVariable {
        /// The variable.
        variable: &'static str,
        /// Its value (never a secret's).
        value: String,
        /// What to do.
        fix: String,
    },
    /// A configuration file exists but cannot be read.
    #[error("cannot read `{}`: {detail}", .path.display())]
    ConfigUnreadable {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        detail: String,
    },
    /// The aliyun CLI's file or the shared credentials file is not what it should be.
    #[error("`{}` is not a valid credentials file: {detail}", .path.display())]
    ConfigMalformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, without any field's value.
        detail: String,
    },
    /// The selected profile or section is not in the file.
    #[error(
        "profile `{profile}` is not in `{}`: it has {}",
        .path.display(),
        list_or_none(.available)
    )]
    ProfileNotFound {
        /// The profile that was asked for.
        profile: String,
        /// The file.
        path: PathBuf,
        /// The profiles the file has.
        available: Vec<String>,
    },
    /// The selected profile uses a mode (or type) this tool does not implement.
    #[error(
        "profile `{profile}` of `{}` uses mode `{mode}`, which cityform does not support: {fix}",
        .path.display()
    )]
    UnsupportedMode {
        /// The profile.
        profile: String,
        /// The file.
        path: PathBuf,
        /// The profile's `mode` or `type`.
        mode: String,
        /// What to do instead.
        fix: String,
    },
    /// The selected profile lacks a field its mode needs.
    #[error(
        "profile `{profile}` of `{}` has no `{field}`, which its mode needs: add it, or run `aliyun configure --profile {profile}`",
        .path.display()
    )]
    IncompleteProfile {
        /// The profile.
        profile: String,
        /// The file.
        path: PathBuf,
        /// The missing field.
        field: &'static str,
    },
    /// `ChainableRamRoleArn` profiles name each other in a circle.
    #[error(
        "the `source_profile` of profile `{}` leads back to itself ({}) in `{}`: point the last one at a profile with a key (`AK`, `StsToken`, `EcsRamRole`...)",
        .chain.first().map_or("", String::as_str),
        .chain.join(" → "),
        .path.display()
    )]
    SourceProfileLoop {
        /// The profiles followed, the repeated one last.
        chain: Vec<String>,
        /// The file.
        path: PathBuf,
    },
    /// A configured source did not give credentials.
    #[error("cannot get credentials from {source_name}: {problem}; {fix}")]
    Failed {
        /// Where the credentials were to come from, as [`CredentialSource`] prints it.
        source_name: String,
        /// What happened, without any secret.
        problem: String,
        /// What to do.
        fix: String,
    },
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "no profiles".to_owned()
    } else {
        let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
        format!("profiles {}", quoted.join(", "))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret_or_token() {
        let credentials =
            Credentials::new("LTAIid", "s3cr3t-value").with_security_token("t0ken-value");
        let text = format!("{credentials:?}");
        assert!(text.contains("LTAIid"));
        assert!(!text.contains("s3cr3t-value") && !text.contains("t0ken-value"));
    }

    #[test]
    fn sources_have_short_labels() {
        let profile = CredentialSource::CliProfile {
            path: PathBuf::from("/h/.aliyun/config.json"),
            profile: "deploy".into(),
            mode: "RamRoleArn".into(),
        };
        assert_eq!(profile.label(), "profile deploy (RamRoleArn)");
        assert_eq!(
            profile.to_string(),
            "profile `deploy` (RamRoleArn) of `/h/.aliyun/config.json`"
        );
        assert_eq!(CredentialSource::Oidc.label(), "oidc");
        assert_eq!(CredentialSource::EcsRamRole.label(), "ecs-ram-role");
    }

    #[test]
    fn a_loop_names_every_profile_on_it() {
        let error = CredentialError::SourceProfileLoop {
            chain: vec!["a".into(), "b".into(), "a".into()],
            path: PathBuf::from("/c.json"),
        };
        assert_eq!(
            error.to_string(),
            "the `source_profile` of profile `a` leads back to itself (a → b → a) in `/c.json`: point the last one at a profile with a key (`AK`, `StsToken`, `EcsRamRole`...)"
        );
    }
}
