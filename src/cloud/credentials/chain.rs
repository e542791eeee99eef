//! [`Chain`]: which source the credentials come from, in the official libraries' order,
//! and the provider that obtains them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::ecs::{DEFAULT_METADATA_ENDPOINT, EcsSettings};
use super::environment::{NAMING_CONVENTIONS, access_key, is_true, set_variable};
use super::provider::{CredentialsProvider, Fetcher, RoleRequest, Supplier};
use super::sts::StsEndpoint;
use super::{
    ALIBABA_CLOUD_CLI_PROFILE_DISABLED, ALIBABA_CLOUD_CONFIG_FILE, ALIBABA_CLOUD_CREDENTIALS_FILE,
    ALIBABA_CLOUD_CREDENTIALS_URI, ALIBABA_CLOUD_ECS_METADATA, ALIBABA_CLOUD_ECS_METADATA_DISABLED,
    ALIBABA_CLOUD_IMDSV1_DISABLED, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE,
    ALIBABA_CLOUD_PROFILE, ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_ROLE_SESSION_NAME,
    CITYFORM_ECS_METADATA_ENDPOINT, CLI_CONFIG_RELATIVE_PATH, CredentialError, CredentialSource,
    DEFAULT_DURATION_SECONDS, DEFAULT_ROLE_SESSION_NAME, SHARED_CREDENTIALS_RELATIVE_PATH,
    cli_profile, shared_file,
};

/// A configured source: where, how to obtain its credentials, and the profile's region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub source: CredentialSource,
    pub supplier: Supplier,
    pub region_id: Option<String>,
}

/// What the chain chose without using the network.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Choice {
    Found(Box<Found>),
    /// Nothing is configured before the ECS step: ask the metadata service, then the URI.
    Probe {
        ecs: EcsSettings,
        then_uri: Option<String>,
        looked_at: Vec<String>,
    },
}

/// The credential chain over an environment, a home directory and the `--profile` flag.
#[derive(Debug, Clone)]
pub struct Chain {
    environment: BTreeMap<String, String>,
    home: Option<PathBuf>,
    profile: Option<String>,
}

/// The provider the chain settled on, and the profile's `region_id`.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Obtains and renews the credentials.
    pub provider: Arc<CredentialsProvider>,
    /// The profile's `region_id`, when the source is a profile that sets one.
    pub region_id: Option<String>,
}

impl Chain {
    /// The chain over `environment`, `home` and `profile`, the profile named by `--profile`
    /// (naming one reads the files only).
    pub fn new(
        environment: BTreeMap<String, String>,
        home: Option<PathBuf>,
        profile: Option<String>,
    ) -> Self {
        Self {
            environment,
            home,
            profile,
        }
    }

    /// The `region_id` of the profile the chain uses, when it uses one that sets it.
    pub fn region_id(&self) -> Option<String> {
        match self.choose() {
            Ok(Choice::Found(found)) => found.region_id,
            _ => None,
        }
    }

    /// The STS endpoint the chosen source uses: a role's (a `RamRoleArn` profile's
    /// `sts_region` counts), else the one the environment names. For `whoami`, which asks
    /// STS who the credentials belong to. Reads files only, never the network.
    pub fn sts_endpoint(&self) -> Result<StsEndpoint, CredentialError> {
        if let Choice::Found(found) = self.choose()?
            && let Some(endpoint) = found.supplier.sts_endpoint()
        {
            return Ok(endpoint.clone());
        }
        StsEndpoint::from_environment(&self.environment, None)
    }

    /// The source's name, as `-v` and `whoami` print it, without obtaining anything.
    pub fn source(&self) -> Result<Option<CredentialSource>, CredentialError> {
        Ok(match self.choose()? {
            Choice::Found(found) => Some(found.source),
            Choice::Probe { .. } => None,
        })
    }

    /// Settles on a source and obtains its first credentials, so that a source that does not
    /// work fails here, before anything is sent.
    pub async fn resolve(&self) -> Result<Resolved, CredentialError> {
        let fetcher = Fetcher {
            http: crate::cloud::client::http_client(
                Duration::from_secs(5),
                Duration::from_secs(15),
            )
            .map_err(|error| CredentialError::Failed {
                source_name: "the credential chain".to_owned(),
                problem: error.to_string(),
                fix: "check the TLS set-up of this machine".to_owned(),
            })?,
        };
        let found = match self.choose()? {
            Choice::Found(found) => *found,
            Choice::Probe {
                ecs,
                then_uri,
                mut looked_at,
            } => {
                let provider = CredentialsProvider::new(
                    CredentialSource::EcsRamRole,
                    Supplier::EcsRole(ecs.clone()),
                    fetcher.clone(),
                );
                match provider.current().await {
                    Ok(_) => {
                        return Ok(Resolved {
                            provider: Arc::new(provider),
                            region_id: None,
                        });
                    }
                    Err(error) => {
                        tracing::debug!("not using the ECS instance RAM role: {error}");
                        looked_at.push(format!(
                            "the ECS instance RAM role (metadata service `{}` did not answer)",
                            ecs.endpoint
                        ));
                    }
                }
                match then_uri {
                    Some(url) => Found {
                        source: CredentialSource::CredentialsUri,
                        supplier: Supplier::Uri(url),
                        region_id: None,
                    },
                    None => {
                        looked_at.push(format!("`{ALIBABA_CLOUD_CREDENTIALS_URI}`"));
                        return Err(CredentialError::NotFound { looked_at });
                    }
                }
            }
        };
        let provider = CredentialsProvider::new(found.source, found.supplier, fetcher);
        provider.current().await?;
        Ok(Resolved {
            provider: Arc::new(provider),
            region_id: found.region_id,
        })
    }

    fn choose(&self) -> Result<Choice, CredentialError> {
        let environment = &self.environment;
        let mut looked_at = Vec::new();
        if self.profile.is_none() {
            for names in NAMING_CONVENTIONS {
                if let Some(credentials) = access_key(environment, names)? {
                    return Ok(Choice::Found(Box::new(Found {
                        source: CredentialSource::Environment {
                            access_key_id_variable: names.access_key_id,
                        },
                        supplier: Supplier::Fixed(credentials),
                        region_id: None,
                    })));
                }
                looked_at.push(format!(
                    "`{}` and `{}`",
                    names.access_key_id, names.access_key_secret
                ));
            }
            if let Some(found) = oidc_from_environment(environment)? {
                return Ok(Choice::Found(Box::new(found)));
            }
            looked_at.push(format!("OIDC (`{ALIBABA_CLOUD_ROLE_ARN}`...)"));
        }
        let selected = self
            .profile
            .clone()
            .or_else(|| set_variable(environment, ALIBABA_CLOUD_PROFILE).map(str::to_owned));
        if !is_true(environment, ALIBABA_CLOUD_CLI_PROFILE_DISABLED) {
            let path = self.file(ALIBABA_CLOUD_CONFIG_FILE, CLI_CONFIG_RELATIVE_PATH);
            match read_optional(path.as_deref(), ALIBABA_CLOUD_CONFIG_FILE, environment)? {
                Some((path, text)) => {
                    return cli_profile::choose(&path, &text, selected.as_deref(), environment)
                        .map(|found| Choice::Found(Box::new(found)));
                }
                None => looked_at.push(describe_absent(path.as_deref(), CLI_CONFIG_RELATIVE_PATH)),
            }
        }
        let path = self.file(
            ALIBABA_CLOUD_CREDENTIALS_FILE,
            SHARED_CREDENTIALS_RELATIVE_PATH,
        );
        match read_optional(path.as_deref(), ALIBABA_CLOUD_CREDENTIALS_FILE, environment)? {
            Some((path, text)) => {
                if let Some(found) =
                    shared_file::choose(&path, &text, selected.as_deref(), environment)?
                {
                    return Ok(Choice::Found(Box::new(found)));
                }
                looked_at.push(format!("`{}` (no section `default`)", path.display()));
            }
            None => looked_at.push(describe_absent(
                path.as_deref(),
                SHARED_CREDENTIALS_RELATIVE_PATH,
            )),
        }
        if self.profile.is_some() {
            return Err(CredentialError::NotFound { looked_at });
        }
        let uri = set_variable(environment, ALIBABA_CLOUD_CREDENTIALS_URI).map(str::to_owned);
        if is_true(environment, ALIBABA_CLOUD_ECS_METADATA_DISABLED) {
            looked_at.push(format!(
                "the ECS instance RAM role (`{ALIBABA_CLOUD_ECS_METADATA_DISABLED}` is `true`)"
            ));
        } else {
            let ecs = ecs_settings(environment, None);
            if ecs.role_name.is_some() {
                return Ok(Choice::Found(Box::new(Found {
                    source: CredentialSource::EcsRamRole,
                    supplier: Supplier::EcsRole(ecs),
                    region_id: None,
                })));
            }
            return Ok(Choice::Probe {
                ecs,
                then_uri: uri,
                looked_at,
            });
        }
        match uri {
            Some(url) => Ok(Choice::Found(Box::new(Found {
                source: CredentialSource::CredentialsUri,
                supplier: Supplier::Uri(url),
                region_id: None,
            }))),
            None => {
                looked_at.push(format!("`{ALIBABA_CLOUD_CREDENTIALS_URI}`"));
                Err(CredentialError::NotFound { looked_at })
            }
        }
    }

    /// The file a variable names, else the one under the home directory.
    fn file(&self, variable: &str, relative: &str) -> Option<PathBuf> {
        match set_variable(&self.environment, variable) {
            Some(path) => Some(PathBuf::from(path)),
            None => self.home.as_ref().map(|home| home.join(relative)),
        }
    }
}

fn describe_absent(path: Option<&Path>, relative: &str) -> String {
    match path {
        Some(path) => format!("`{}` (no such file)", path.display()),
        None => format!("`~/{relative}` (no home directory is known)"),
    }
}

/// The file's text; `None` when it does not exist, unless `variable` named it (then its
/// absence is an error: whoever set the variable expects that file).
fn read_optional(
    path: Option<&Path>,
    variable: &'static str,
    environment: &BTreeMap<String, String>,
) -> Result<Option<(PathBuf, String)>, CredentialError> {
    let Some(path) = path else {
        return Ok(None);
    };
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some((path.to_owned(), text))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            if set_variable(environment, variable).is_some() {
                Err(CredentialError::InvalidVariable {
                    variable,
                    value: path.display().to_string(),
                    fix: "there is no such file: point it at an existing file, or unset it"
                        .to_owned(),
                })
            } else {
                Ok(None)
            }
        }
        Err(error) => Err(CredentialError::ConfigUnreadable {
            path: path.to_owned(),
            detail: error.to_string(),
        }),
    }
}

/// The session name: `ALIBABA_CLOUD_ROLE_SESSION_NAME`, else `configured`, else `cityform`.
pub(super) fn session_name(
    environment: &BTreeMap<String, String>,
    configured: Option<&str>,
) -> String {
    configured
        .or_else(|| set_variable(environment, ALIBABA_CLOUD_ROLE_SESSION_NAME))
        .unwrap_or(DEFAULT_ROLE_SESSION_NAME)
        .to_owned()
}

/// The metadata service settings, with `role_name` from a profile or the environment.
pub(super) fn ecs_settings(
    environment: &BTreeMap<String, String>,
    role_name: Option<&str>,
) -> EcsSettings {
    EcsSettings {
        endpoint: set_variable(environment, CITYFORM_ECS_METADATA_ENDPOINT)
            .unwrap_or(DEFAULT_METADATA_ENDPOINT)
            .to_owned(),
        role_name: role_name
            .or_else(|| set_variable(environment, ALIBABA_CLOUD_ECS_METADATA))
            .map(str::to_owned),
        imdsv1_disabled: is_true(environment, ALIBABA_CLOUD_IMDSV1_DISABLED),
    }
}

fn oidc_from_environment(
    environment: &BTreeMap<String, String>,
) -> Result<Option<Found>, CredentialError> {
    let names = [
        ALIBABA_CLOUD_ROLE_ARN,
        ALIBABA_CLOUD_OIDC_PROVIDER_ARN,
        ALIBABA_CLOUD_OIDC_TOKEN_FILE,
    ];
    let values: Vec<Option<&str>> = names
        .iter()
        .map(|name| set_variable(environment, name))
        .collect();
    if values.iter().all(Option::is_none) {
        return Ok(None);
    }
    if values.iter().any(Option::is_none) {
        let named = |present: bool| {
            names
                .iter()
                .zip(&values)
                .filter(|(_, value)| value.is_some() == present)
                .map(|(name, _)| *name)
                .collect()
        };
        return Err(CredentialError::HalfSetEnvironment {
            set: named(true),
            missing: named(false),
        });
    }
    let value = |index: usize| values[index].unwrap_or_default().to_owned();
    Ok(Some(Found {
        source: CredentialSource::Oidc,
        supplier: Supplier::Oidc {
            role: RoleRequest {
                role_arn: value(0),
                session_name: session_name(environment, None),
                duration_seconds: DEFAULT_DURATION_SECONDS,
                policy: None,
                external_id: None,
                sts: StsEndpoint::from_environment(environment, None)?,
            },
            provider_arn: value(1),
            token_file: PathBuf::from(value(2)),
        },
        region_id: None,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::super::{
        ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALICLOUD_ACCESS_KEY,
        ALICLOUD_SECRET_KEY, Credentials,
    };
    use super::*;
    use crate::test_support::environment;

    fn chain(pairs: &[(&str, &str)], home: Option<&Path>) -> Chain {
        let mut env = environment(pairs);
        env.insert(ALIBABA_CLOUD_ECS_METADATA_DISABLED.into(), "true".into());
        Chain::new(env, home.map(Path::to_owned), None)
    }

    fn found(chain: &Chain) -> Found {
        match chain.choose().unwrap() {
            Choice::Found(found) => *found,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_environment_key_comes_first_then_terraform_names() {
        let both = chain(
            &[
                (ALIBABA_CLOUD_ACCESS_KEY_ID, "LTAIsdk"),
                (ALIBABA_CLOUD_ACCESS_KEY_SECRET, "sdk-secret"),
                (ALICLOUD_ACCESS_KEY, "LTAItf"),
                (ALICLOUD_SECRET_KEY, "tf-secret"),
                (ALIBABA_CLOUD_ROLE_ARN, "acs:ram::1:role/r"),
            ],
            None,
        );
        assert_eq!(
            found(&both).supplier,
            Supplier::Fixed(Credentials::new("LTAIsdk", "sdk-secret"))
        );
        let terraform = chain(
            &[
                (ALICLOUD_ACCESS_KEY, "LTAItf"),
                (ALICLOUD_SECRET_KEY, "tf-secret"),
            ],
            None,
        );
        assert_eq!(
            found(&terraform).source,
            CredentialSource::Environment {
                access_key_id_variable: ALICLOUD_ACCESS_KEY
            }
        );
    }

    #[test]
    fn oidc_needs_all_three_variables() {
        let partial = chain(&[(ALIBABA_CLOUD_ROLE_ARN, "acs:ram::1:role/r")], None);
        assert_eq!(
            partial.choose().unwrap_err(),
            CredentialError::HalfSetEnvironment {
                set: vec![ALIBABA_CLOUD_ROLE_ARN],
                missing: vec![
                    ALIBABA_CLOUD_OIDC_PROVIDER_ARN,
                    ALIBABA_CLOUD_OIDC_TOKEN_FILE
                ]
            }
        );
        let whole = chain(
            &[
                (ALIBABA_CLOUD_ROLE_ARN, "acs:ram::1:role/r"),
                (
                    ALIBABA_CLOUD_OIDC_PROVIDER_ARN,
                    "acs:ram::1:oidc-provider/p",
                ),
                (ALIBABA_CLOUD_OIDC_TOKEN_FILE, "/t"),
                (ALIBABA_CLOUD_ROLE_SESSION_NAME, "ci-42"),
            ],
            None,
        );
        let Supplier::Oidc { role, .. } = found(&whole).supplier else {
            panic!("not OIDC")
        };
        assert_eq!(role.session_name, "ci-42");
        assert_eq!(role.duration_seconds, 3600);
        assert_eq!(role.sts.url().as_str(), "https://sts.aliyuncs.com/");
    }

    #[test]
    fn nothing_found_lists_every_place_consulted() {
        let error = chain(&[], None).choose().unwrap_err().to_string();
        assert_eq!(
            error,
            "no Alibaba Cloud credentials found: looked at `ALIBABA_CLOUD_ACCESS_KEY_ID` and \
             `ALIBABA_CLOUD_ACCESS_KEY_SECRET`, `ALICLOUD_ACCESS_KEY` and `ALICLOUD_SECRET_KEY`, \
             OIDC (`ALIBABA_CLOUD_ROLE_ARN`...), `~/.aliyun/config.json` (no home directory is \
             known), `~/.alibabacloud/credentials` (no home directory is known), the ECS instance \
             RAM role (`ALIBABA_CLOUD_ECS_METADATA_DISABLED` is `true`), \
             `ALIBABA_CLOUD_CREDENTIALS_URI`; set `ALIBABA_CLOUD_ACCESS_KEY_ID` and \
             `ALIBABA_CLOUD_ACCESS_KEY_SECRET`, configure OIDC or a profile, or run `aliyun \
             configure` (see docs/credentials.md)"
        );
    }

    #[test]
    fn without_anything_configured_the_metadata_service_is_asked_then_the_uri() {
        let env = environment(&[
            (ALIBABA_CLOUD_CREDENTIALS_URI, "http://127.0.0.1:1/c"),
            (CITYFORM_ECS_METADATA_ENDPOINT, "http://127.0.0.1:2"),
        ]);
        let Choice::Probe { ecs, then_uri, .. } = Chain::new(env, None, None).choose().unwrap()
        else {
            panic!("no probe")
        };
        assert_eq!(ecs.endpoint, "http://127.0.0.1:2");
        assert_eq!(then_uri.as_deref(), Some("http://127.0.0.1:1/c"));
        let uri = chain(
            &[(ALIBABA_CLOUD_CREDENTIALS_URI, "http://127.0.0.1:1/c")],
            None,
        );
        assert_eq!(found(&uri).source, CredentialSource::CredentialsUri);
    }

    #[test]
    fn the_sts_endpoint_of_a_role_profile_follows_its_sts_region() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".aliyun")).unwrap();
        std::fs::write(
            home.path().join(CLI_CONFIG_RELATIVE_PATH),
            r#"{"current": "role", "profiles": [
                {"name": "role", "mode": "RamRoleArn", "access_key_id": "LTAI", "access_key_secret": "s",
                 "ram_role_arn": "acs:ram::1:role/r", "sts_region": "cn-beijing"},
                {"name": "plain", "mode": "AK", "access_key_id": "LTAI", "access_key_secret": "s"}]}"#,
        )
        .unwrap();
        let role = chain(&[], Some(home.path()));
        assert_eq!(
            role.sts_endpoint().unwrap().url().as_str(),
            "https://sts.cn-beijing.aliyuncs.com/"
        );
        let plain = chain(
            &[
                (ALIBABA_CLOUD_PROFILE, "plain"),
                (super::super::ALIBABA_CLOUD_STS_REGION, "cn-shenzhen"),
            ],
            Some(home.path()),
        );
        assert_eq!(
            plain.sts_endpoint().unwrap().url().as_str(),
            "https://sts.cn-shenzhen.aliyuncs.com/"
        );
        let overridden = chain(
            &[(
                super::super::ALIBABA_CLOUD_STS_ENDPOINT,
                "http://127.0.0.1:9",
            )],
            Some(home.path()),
        );
        assert_eq!(
            overridden.sts_endpoint().unwrap().url().as_str(),
            "http://127.0.0.1:9/"
        );
    }

    #[test]
    fn a_named_file_that_does_not_exist_is_an_error() {
        let home = tempfile::tempdir().unwrap();
        let missing = home.path().join("nope.json");
        let error = chain(
            &[(ALIBABA_CLOUD_CONFIG_FILE, missing.to_str().unwrap())],
            Some(home.path()),
        )
        .choose()
        .unwrap_err();
        assert!(
            matches!(error, CredentialError::InvalidVariable { variable, .. } if variable == ALIBABA_CLOUD_CONFIG_FILE)
        );
    }
}
