//! Where the access key comes from: environment variables, then the aliyun CLI's profile file.
//!
//! Resolution is a function of an injected environment map, home directory and optional
//! profile name, so tests never touch the real environment. The order, first that is set wins:
//!
//! 1. `ALIBABA_CLOUD_ACCESS_KEY_ID` + `ALIBABA_CLOUD_ACCESS_KEY_SECRET`
//!    (+ `ALIBABA_CLOUD_SECURITY_TOKEN`), the names every Alibaba Cloud SDK reads;
//! 2. `ALICLOUD_ACCESS_KEY` + `ALICLOUD_SECRET_KEY` (+ `ALICLOUD_SECURITY_TOKEN`), the names
//!    the Terraform provider reads;
//! 3. `~/.aliyun/config.json`, the aliyun CLI's file: the profile named by the caller, else
//!    `ALIBABA_CLOUD_PROFILE`, else the file's `current`, else `default`.
//!
//! A profile named explicitly by the caller skips the environment: whoever names a profile
//! expects that account, and quietly using another would be the worst possible outcome.
//! Credentials are never taken from a command-line flag (flags end up in shell history and
//! process listings), and a half-set pair is an error rather than a reason to look further.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

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
/// Selects a profile of the aliyun CLI's file when the caller names none.
pub const ALIBABA_CLOUD_PROFILE: &str = "ALIBABA_CLOUD_PROFILE";

/// The aliyun CLI's profile file, relative to the home directory.
pub const CLI_CONFIG_RELATIVE_PATH: &str = ".aliyun/config.json";

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

/// Where resolved credentials were found, for messages such as `using credentials from ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// An environment variable pair; the field names the access key id variable.
    Environment {
        /// The variable that held the access key id.
        access_key_id_variable: &'static str,
    },
    /// A profile of the aliyun CLI's file.
    CliProfile {
        /// The file.
        path: PathBuf,
        /// The profile's `name`.
        profile: String,
    },
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Environment {
                access_key_id_variable,
            } => write!(f, "environment variable `{access_key_id_variable}`"),
            CredentialSource::CliProfile { path, profile } => {
                write!(f, "profile `{profile}` of `{}`", path.display())
            }
        }
    }
}

/// Credentials together with where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedCredentials {
    /// The key.
    pub credentials: Credentials,
    /// Where it was found.
    pub source: CredentialSource,
    /// The profile's `region_id`, when the key came from a profile that sets one.
    pub region_id: Option<String>,
}

/// Why no credentials could be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// No source held credentials.
    #[error(
        "no Alibaba Cloud credentials found: looked at {}; set `{ALIBABA_CLOUD_ACCESS_KEY_ID}` and `{ALIBABA_CLOUD_ACCESS_KEY_SECRET}`, or run `aliyun configure`",
        .looked_at.join(", ")
    )]
    NotFound {
        /// Every place that was consulted, in order.
        looked_at: Vec<String>,
    },
    /// One variable of a pair is set and another is not.
    #[error("`{set}` is set but `{missing}` is not: set both, or unset `{set}`")]
    HalfSetEnvironment {
        /// The variable that is set.
        set: &'static str,
        /// The variable that is missing.
        missing: &'static str,
    },
    /// The profile file exists but cannot be read.
    #[error("cannot read `{}`: {detail}", .path.display())]
    ConfigUnreadable {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        detail: String,
    },
    /// The profile file is not what the aliyun CLI writes.
    #[error("`{}` is not an aliyun CLI configuration: {detail}", .path.display())]
    ConfigMalformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, without any field's value.
        detail: String,
    },
    /// The selected profile is not in the file.
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
    /// The selected profile uses a mode this tool does not implement.
    #[error(
        "profile `{profile}` of `{}` uses mode `{mode}`: only `AK` and `StsToken` are supported; export the key in `{ALIBABA_CLOUD_ACCESS_KEY_ID}` and `{ALIBABA_CLOUD_ACCESS_KEY_SECRET}` instead",
        .path.display()
    )]
    UnsupportedMode {
        /// The profile.
        profile: String,
        /// The file.
        path: PathBuf,
        /// The profile's `mode`.
        mode: String,
    },
    /// The selected profile lacks a field its mode needs.
    #[error(
        "profile `{profile}` of `{}` has no `{field}`: run `aliyun configure --profile {profile}`",
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
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "no profiles".to_owned()
    } else {
        let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
        format!("profiles {}", quoted.join(", "))
    }
}

/// Resolves credentials from `environment`, then `home/.aliyun/config.json`.
///
/// `profile` is the profile the user named explicitly (a `--profile` flag); naming one reads
/// the file only.
pub fn resolve_credentials(
    environment: &BTreeMap<String, String>,
    home: Option<&Path>,
    profile: Option<&str>,
) -> Result<ResolvedCredentials, CredentialError> {
    let config_path = home.map(|home| home.join(CLI_CONFIG_RELATIVE_PATH));
    let config = match &config_path {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => ConfigFile::Present {
                path: path.clone(),
                text,
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                ConfigFile::Absent { path: path.clone() }
            }
            Err(error) => {
                return Err(CredentialError::ConfigUnreadable {
                    path: path.clone(),
                    detail: error.to_string(),
                });
            }
        },
        None => ConfigFile::NoHome,
    };
    resolve_from(environment, &config, profile)
}

/// The aliyun CLI's file as the resolver sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigFile {
    /// No home directory is known.
    NoHome,
    /// The file does not exist.
    Absent {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The file's text.
    Present {
        /// Where it was read from.
        path: PathBuf,
        /// Its contents.
        text: String,
    },
}

/// The pure part of [`resolve_credentials`]: the file has already been read (or not).
pub fn resolve_from(
    environment: &BTreeMap<String, String>,
    config: &ConfigFile,
    profile: Option<&str>,
) -> Result<ResolvedCredentials, CredentialError> {
    let mut looked_at = Vec::new();
    if profile.is_none() {
        for names in [ALIBABA_CLOUD_NAMES, ALICLOUD_NAMES] {
            if let Some(credentials) = from_environment(environment, names)? {
                return Ok(ResolvedCredentials {
                    credentials,
                    source: CredentialSource::Environment {
                        access_key_id_variable: names.access_key_id,
                    },
                    region_id: None,
                });
            }
            looked_at.push(format!(
                "`{}` and `{}`",
                names.access_key_id, names.access_key_secret
            ));
        }
    }
    let selected = profile
        .map(str::to_owned)
        .or_else(|| set_variable(environment, ALIBABA_CLOUD_PROFILE).map(str::to_owned));
    match config {
        ConfigFile::Present { path, text } => from_config(path, text, selected.as_deref()),
        ConfigFile::Absent { path } => {
            looked_at.push(format!("`{}` (no such file)", path.display()));
            Err(CredentialError::NotFound { looked_at })
        }
        ConfigFile::NoHome => {
            looked_at.push(format!(
                "`~/{CLI_CONFIG_RELATIVE_PATH}` (no home directory is known)"
            ));
            Err(CredentialError::NotFound { looked_at })
        }
    }
}

/// The three variable names of one naming convention.
#[derive(Clone, Copy)]
struct VariableNames {
    access_key_id: &'static str,
    access_key_secret: &'static str,
    security_token: &'static str,
}

const ALIBABA_CLOUD_NAMES: VariableNames = VariableNames {
    access_key_id: ALIBABA_CLOUD_ACCESS_KEY_ID,
    access_key_secret: ALIBABA_CLOUD_ACCESS_KEY_SECRET,
    security_token: ALIBABA_CLOUD_SECURITY_TOKEN,
};

const ALICLOUD_NAMES: VariableNames = VariableNames {
    access_key_id: ALICLOUD_ACCESS_KEY,
    access_key_secret: ALICLOUD_SECRET_KEY,
    security_token: ALICLOUD_SECURITY_TOKEN,
};

/// A variable counts as set when it is present and not empty.
fn set_variable<'a>(environment: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    environment
        .get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
}

fn from_environment(
    environment: &BTreeMap<String, String>,
    names: VariableNames,
) -> Result<Option<Credentials>, CredentialError> {
    let access_key_id = set_variable(environment, names.access_key_id);
    let access_key_secret = set_variable(environment, names.access_key_secret);
    let security_token = set_variable(environment, names.security_token);
    match (access_key_id, access_key_secret) {
        (Some(id), Some(secret)) => {
            let mut credentials = Credentials::new(id, secret);
            credentials.security_token = security_token.map(Secret::from);
            Ok(Some(credentials))
        }
        (Some(_), None) => Err(CredentialError::HalfSetEnvironment {
            set: names.access_key_id,
            missing: names.access_key_secret,
        }),
        (None, Some(_)) => Err(CredentialError::HalfSetEnvironment {
            set: names.access_key_secret,
            missing: names.access_key_id,
        }),
        (None, None) if security_token.is_some() => Err(CredentialError::HalfSetEnvironment {
            set: names.security_token,
            missing: names.access_key_id,
        }),
        (None, None) => Ok(None),
    }
}

fn from_config(
    path: &Path,
    text: &str,
    selected: Option<&str>,
) -> Result<ResolvedCredentials, CredentialError> {
    let malformed = |detail: String| CredentialError::ConfigMalformed {
        path: path.to_owned(),
        detail,
    };
    // Parsed as an untyped value first: serde_json's syntax errors carry a position and no
    // content, whereas a typed parse could quote a secret in an "invalid type" message.
    let document: Value =
        serde_json::from_str(text).map_err(|error| malformed(error.to_string()))?;
    let profiles = document
        .get("profiles")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("there is no `profiles` list".to_owned()))?;
    let current = document
        .get("current")
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty());
    let wanted = selected.or(current).unwrap_or("default");
    let names: Vec<String> = profiles
        .iter()
        .filter_map(|profile| profile.get("name").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    let profile = profiles
        .iter()
        .find(|profile| profile.get("name").and_then(Value::as_str) == Some(wanted))
        .ok_or_else(|| CredentialError::ProfileNotFound {
            profile: wanted.to_owned(),
            path: path.to_owned(),
            available: names,
        })?;
    let field = |name: &str| {
        profile
            .get(name)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
    };
    let incomplete = |field: &'static str| CredentialError::IncompleteProfile {
        profile: wanted.to_owned(),
        path: path.to_owned(),
        field,
    };
    // An empty mode is what very old CLI versions wrote for an access key profile.
    let mode = field("mode").unwrap_or("AK");
    let wants_token = match mode {
        "AK" => false,
        "StsToken" => true,
        other => {
            return Err(CredentialError::UnsupportedMode {
                profile: wanted.to_owned(),
                path: path.to_owned(),
                mode: other.to_owned(),
            });
        }
    };
    let access_key_id = field("access_key_id").ok_or_else(|| incomplete("access_key_id"))?;
    let access_key_secret =
        field("access_key_secret").ok_or_else(|| incomplete("access_key_secret"))?;
    let mut credentials = Credentials::new(access_key_id, access_key_secret);
    if wants_token {
        let token = field("sts_token").ok_or_else(|| incomplete("sts_token"))?;
        credentials.security_token = Some(Secret::from(token));
    }
    Ok(ResolvedCredentials {
        credentials,
        source: CredentialSource::CliProfile {
            path: path.to_owned(),
            profile: wanted.to_owned(),
        },
        region_id: field("region_id").map(str::to_owned),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::test_support::environment;

    fn config(text: &str) -> ConfigFile {
        ConfigFile::Present {
            path: PathBuf::from("/home/u/.aliyun/config.json"),
            text: text.to_owned(),
        }
    }

    fn absent() -> ConfigFile {
        ConfigFile::Absent {
            path: PathBuf::from("/home/u/.aliyun/config.json"),
        }
    }

    const CLI_FILE: &str = r#"{
        "current": "work",
        "profiles": [
            {"name": "default", "mode": "AK", "access_key_id": "LTAIdefault",
             "access_key_secret": "default-secret", "region_id": "cn-hangzhou"},
            {"name": "work", "mode": "StsToken", "access_key_id": "STS.work",
             "access_key_secret": "work-secret", "sts_token": "work-token",
             "region_id": "cn-shanghai"},
            {"name": "role", "mode": "RamRoleArn", "access_key_id": "LTAIrole",
             "access_key_secret": "role-secret"},
            {"name": "broken", "mode": "AK", "access_key_id": "LTAIbroken"}
        ],
        "meta_path": ""
    }"#;

    #[test]
    fn sdk_variables_win_over_everything_else() {
        let env = environment(&[
            (ALIBABA_CLOUD_ACCESS_KEY_ID, "LTAIsdk"),
            (ALIBABA_CLOUD_ACCESS_KEY_SECRET, "sdk-secret"),
            (ALIBABA_CLOUD_SECURITY_TOKEN, "sdk-token"),
            (ALICLOUD_ACCESS_KEY, "LTAItf"),
            (ALICLOUD_SECRET_KEY, "tf-secret"),
        ]);
        let resolved = resolve_from(&env, &config(CLI_FILE), None).unwrap();
        assert_eq!(
            resolved.credentials,
            Credentials::new("LTAIsdk", "sdk-secret").with_security_token("sdk-token")
        );
        assert_eq!(
            resolved.source,
            CredentialSource::Environment {
                access_key_id_variable: ALIBABA_CLOUD_ACCESS_KEY_ID
            }
        );
    }

    #[test]
    fn terraform_variables_come_second() {
        let env = environment(&[
            (ALICLOUD_ACCESS_KEY, "LTAItf"),
            (ALICLOUD_SECRET_KEY, "tf-secret"),
        ]);
        let resolved = resolve_from(&env, &config(CLI_FILE), None).unwrap();
        assert_eq!(
            resolved.credentials,
            Credentials::new("LTAItf", "tf-secret")
        );
        assert_eq!(resolved.region_id, None);
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let env = environment(&[
            (ALIBABA_CLOUD_ACCESS_KEY_ID, ""),
            (ALIBABA_CLOUD_ACCESS_KEY_SECRET, ""),
            (ALICLOUD_ACCESS_KEY, "LTAItf"),
            (ALICLOUD_SECRET_KEY, "tf-secret"),
        ]);
        let resolved = resolve_from(&env, &absent(), None).unwrap();
        assert_eq!(resolved.credentials.access_key_id, "LTAItf");
    }

    #[test]
    fn half_set_pairs_are_errors_not_fallthroughs() {
        let cases = [
            (
                environment(&[(ALIBABA_CLOUD_ACCESS_KEY_ID, "LTAI")]),
                ALIBABA_CLOUD_ACCESS_KEY_ID,
                ALIBABA_CLOUD_ACCESS_KEY_SECRET,
            ),
            (
                environment(&[(ALIBABA_CLOUD_ACCESS_KEY_SECRET, "s")]),
                ALIBABA_CLOUD_ACCESS_KEY_SECRET,
                ALIBABA_CLOUD_ACCESS_KEY_ID,
            ),
            (
                environment(&[(ALIBABA_CLOUD_SECURITY_TOKEN, "t")]),
                ALIBABA_CLOUD_SECURITY_TOKEN,
                ALIBABA_CLOUD_ACCESS_KEY_ID,
            ),
            (
                environment(&[(ALICLOUD_SECRET_KEY, "s")]),
                ALICLOUD_SECRET_KEY,
                ALICLOUD_ACCESS_KEY,
            ),
        ];
        for (env, set, missing) in cases {
            assert_eq!(
                resolve_from(&env, &config(CLI_FILE), None),
                Err(CredentialError::HalfSetEnvironment { set, missing })
            );
        }
    }

    #[test]
    fn the_file_current_profile_is_the_default_choice() {
        let resolved = resolve_from(&environment(&[]), &config(CLI_FILE), None).unwrap();
        assert_eq!(
            resolved.credentials,
            Credentials::new("STS.work", "work-secret").with_security_token("work-token")
        );
        assert_eq!(resolved.region_id.as_deref(), Some("cn-shanghai"));
        assert_eq!(
            resolved.source.to_string(),
            "profile `work` of `/home/u/.aliyun/config.json`"
        );
    }

    #[test]
    fn profile_variable_beats_current_and_explicit_profile_beats_both() {
        let env = environment(&[(ALIBABA_CLOUD_PROFILE, "default")]);
        let resolved = resolve_from(&env, &config(CLI_FILE), None).unwrap();
        assert_eq!(resolved.credentials.access_key_id, "LTAIdefault");
        assert_eq!(resolved.credentials.security_token, None);

        let env = environment(&[
            (ALIBABA_CLOUD_PROFILE, "default"),
            (ALIBABA_CLOUD_ACCESS_KEY_ID, "LTAIsdk"),
            (ALIBABA_CLOUD_ACCESS_KEY_SECRET, "sdk-secret"),
        ]);
        let resolved = resolve_from(&env, &config(CLI_FILE), Some("work")).unwrap();
        assert_eq!(resolved.credentials.access_key_id, "STS.work");
    }

    #[test]
    fn a_file_without_current_uses_the_default_profile() {
        let text = r#"{"profiles": [{"name": "default", "mode": "AK",
            "access_key_id": "LTAId", "access_key_secret": "d"}]}"#;
        let resolved = resolve_from(&environment(&[]), &config(text), None).unwrap();
        assert_eq!(resolved.credentials.access_key_id, "LTAId");
    }

    #[test]
    fn a_missing_profile_lists_the_ones_that_exist() {
        let error = resolve_from(&environment(&[]), &config(CLI_FILE), Some("prod")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "profile `prod` is not in `/home/u/.aliyun/config.json`: it has profiles `default`, `work`, `role`, `broken`"
        );
    }

    #[test]
    fn unsupported_modes_and_incomplete_profiles_are_named() {
        let error = resolve_from(&environment(&[]), &config(CLI_FILE), Some("role")).unwrap_err();
        assert!(matches!(
            &error,
            CredentialError::UnsupportedMode { mode, .. } if mode == "RamRoleArn"
        ));
        let error = resolve_from(&environment(&[]), &config(CLI_FILE), Some("broken")).unwrap_err();
        assert_eq!(
            error,
            CredentialError::IncompleteProfile {
                profile: "broken".into(),
                path: PathBuf::from("/home/u/.aliyun/config.json"),
                field: "access_key_secret",
            }
        );
    }

    #[test]
    fn nothing_found_lists_every_place_consulted() {
        let error = resolve_from(&environment(&[]), &absent(), None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no Alibaba Cloud credentials found: looked at `ALIBABA_CLOUD_ACCESS_KEY_ID` and \
             `ALIBABA_CLOUD_ACCESS_KEY_SECRET`, `ALICLOUD_ACCESS_KEY` and `ALICLOUD_SECRET_KEY`, \
             `/home/u/.aliyun/config.json` (no such file); set `ALIBABA_CLOUD_ACCESS_KEY_ID` and \
             `ALIBABA_CLOUD_ACCESS_KEY_SECRET`, or run `aliyun configure`"
        );
        let error = resolve_from(&environment(&[]), &ConfigFile::NoHome, None).unwrap_err();
        assert!(error.to_string().contains("no home directory"), "{error}");
    }

    #[test]
    fn a_named_profile_without_a_file_is_not_found() {
        let error = resolve_from(&environment(&[]), &absent(), Some("prod")).unwrap_err();
        assert_eq!(
            error,
            CredentialError::NotFound {
                looked_at: vec!["`/home/u/.aliyun/config.json` (no such file)".into()]
            }
        );
    }

    #[test]
    fn a_malformed_file_is_reported_without_its_contents() {
        let text = r#"{"profiles": [{"name": "default", "access_key_secret": "leaky-secret" "#;
        let error = resolve_from(&environment(&[]), &config(text), None).unwrap_err();
        assert!(matches!(error, CredentialError::ConfigMalformed { .. }));
        assert!(!error.to_string().contains("leaky-secret"), "{error}");
        let error =
            resolve_from(&environment(&[]), &config(r#"{"profiles": 3}"#), None).unwrap_err();
        assert!(error.to_string().contains("no `profiles` list"), "{error}");
    }

    #[test]
    fn reads_the_file_under_the_injected_home() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".aliyun")).unwrap();
        std::fs::write(home.path().join(CLI_CONFIG_RELATIVE_PATH), CLI_FILE).unwrap();
        let resolved =
            resolve_credentials(&environment(&[]), Some(home.path()), Some("default")).unwrap();
        assert_eq!(resolved.credentials.access_key_id, "LTAIdefault");

        let empty_home = tempfile::tempdir().unwrap();
        let error =
            resolve_credentials(&environment(&[]), Some(empty_home.path()), None).unwrap_err();
        assert!(matches!(error, CredentialError::NotFound { .. }));
    }

    #[test]
    fn debug_never_shows_the_secret_or_token() {
        let credentials =
            Credentials::new("LTAIid", "s3cr3t-value").with_security_token("t0ken-value");
        let text = format!("{credentials:?}");
        assert!(text.contains("LTAIid"));
        assert!(!text.contains("s3cr3t-value") && !text.contains("t0ken-value"));
    }
}
