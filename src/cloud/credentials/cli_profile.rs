//! The aliyun CLI's file (`~/.aliyun/config.json`): the profile named by `--profile`,
//! `ALIBABA_CLOUD_PROFILE`, the file's `current`, or `default`, in each of the CLI's modes
//! cityform can follow. `ChainableRamRoleArn` profiles are followed through their
//! `source_profile`, and a circle is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::chain::{Found, ecs_settings, session_name};
use super::provider::{RoleRequest, Supplier};
use super::sts::StsEndpoint;
use super::{CredentialError, CredentialSource, Credentials, DEFAULT_DURATION_SECONDS};

/// The profile `selected` (else `current`, else `default`) of the file at `path`.
pub(super) fn choose(
    path: &Path,
    text: &str,
    selected: Option<&str>,
    environment: &BTreeMap<String, String>,
) -> Result<Found, CredentialError> {
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
    let file = ProfileFile {
        path,
        profiles,
        environment,
    };
    let profile = file.profile(wanted)?;
    let mode = profile.mode();
    let supplier = file.supplier(wanted, &mut Vec::new())?;
    Ok(Found {
        source: CredentialSource::CliProfile {
            path: path.to_owned(),
            profile: wanted.to_owned(),
            mode: mode.to_owned(),
        },
        supplier,
        region_id: profile.field("region_id").map(str::to_owned),
    })
}

struct ProfileFile<'a> {
    path: &'a Path,
    profiles: &'a [Value],
    environment: &'a BTreeMap<String, String>,
}

struct Profile<'a> {
    name: &'a str,
    path: &'a Path,
    value: &'a Value,
}

impl Profile<'_> {
    fn field(&self, name: &str) -> Option<&str> {
        self.value
            .get(name)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
    }

    fn required(&self, field: &'static str) -> Result<&str, CredentialError> {
        self.field(field)
            .ok_or_else(|| CredentialError::IncompleteProfile {
                profile: self.name.to_owned(),
                path: self.path.to_owned(),
                field,
            })
    }

    /// An empty mode is what very old CLI versions wrote for an access key profile.
    fn mode(&self) -> &str {
        self.field("mode").unwrap_or("AK")
    }

    fn access_key(&self) -> Result<Credentials, CredentialError> {
        Ok(Credentials::new(
            self.required("access_key_id")?,
            self.required("access_key_secret")?,
        ))
    }

    fn duration_seconds(&self) -> u32 {
        match self.value.get("expired_seconds") {
            Some(Value::Number(number)) => number
                .as_u64()
                .and_then(|seconds| u32::try_from(seconds).ok())
                .filter(|seconds| *seconds > 0)
                .unwrap_or(DEFAULT_DURATION_SECONDS),
            Some(Value::String(text)) => text.parse().unwrap_or(DEFAULT_DURATION_SECONDS),
            _ => DEFAULT_DURATION_SECONDS,
        }
    }

    fn role(&self, environment: &BTreeMap<String, String>) -> Result<RoleRequest, CredentialError> {
        Ok(RoleRequest {
            role_arn: self.required("ram_role_arn")?.to_owned(),
            session_name: session_name(environment, self.field("ram_session_name")),
            duration_seconds: self.duration_seconds(),
            policy: self.field("policy").map(str::to_owned),
            external_id: self.field("external_id").map(str::to_owned),
            sts: StsEndpoint::from_environment(environment, self.field("sts_region"))?,
        })
    }
}

impl<'a> ProfileFile<'a> {
    fn profile(&self, name: &'a str) -> Result<Profile<'a>, CredentialError> {
        let value = self
            .profiles
            .iter()
            .find(|profile| profile.get("name").and_then(Value::as_str) == Some(name))
            .ok_or_else(|| CredentialError::ProfileNotFound {
                profile: name.to_owned(),
                path: self.path.to_owned(),
                available: self
                    .profiles
                    .iter()
                    .filter_map(|profile| profile.get("name").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect(),
            })?;
        Ok(Profile {
            name,
            path: self.path,
            value,
        })
    }

    /// How profile `name` obtains credentials; `followed` holds the profiles that led here.
    fn supplier(
        &self,
        name: &str,
        followed: &mut Vec<String>,
    ) -> Result<Supplier, CredentialError> {
        if followed.iter().any(|seen| seen == name) {
            followed.push(name.to_owned());
            return Err(CredentialError::SourceProfileLoop {
                chain: followed.clone(),
                path: self.path.to_owned(),
            });
        }
        followed.push(name.to_owned());
        let name_owned = name.to_owned();
        let profile = self.profile(self.name_in_file(&name_owned))?;
        let environment = self.environment;
        match profile.mode() {
            "AK" => Ok(Supplier::Fixed(profile.access_key()?)),
            "StsToken" => Ok(Supplier::Fixed(
                profile
                    .access_key()?
                    .with_security_token(profile.required("sts_token")?),
            )),
            "RamRoleArn" => Ok(Supplier::AssumeRole {
                signer: Box::new(Supplier::Fixed(profile.access_key()?)),
                role: profile.role(environment)?,
            }),
            "ChainableRamRoleArn" => {
                let source = profile.required("source_profile")?.to_owned();
                let signer = self.supplier(&source, followed)?;
                Ok(Supplier::AssumeRole {
                    signer: Box::new(signer),
                    role: profile.role(environment)?,
                })
            }
            "EcsRamRole" => Ok(Supplier::EcsRole(ecs_settings(
                environment,
                profile.field("ram_role_name"),
            ))),
            "OIDC" => Ok(Supplier::Oidc {
                role: profile.role(environment)?,
                provider_arn: profile.required("oidc_provider_arn")?.to_owned(),
                token_file: PathBuf::from(profile.required("oidc_token_file")?),
            }),
            "CredentialsURI" => Ok(Supplier::Uri(
                profile.required("credentials_uri")?.to_owned(),
            )),
            "External" => Ok(Supplier::Process(
                profile.required("process_command")?.to_owned(),
            )),
            other => {
                let fix = match other {
                    "CloudSSO" | "OAuth" => format!(
                        "its sign-in happens in a browser, which cityform cannot do; run `aliyun configure --profile {name} --mode {other}` there, then use a profile in `External` mode whose `process_command` prints the key, or another mode"
                    ),
                    _ => "use one of `AK`, `StsToken`, `RamRoleArn`, `ChainableRamRoleArn`, `EcsRamRole`, `OIDC`, `CredentialsURI`, `External`".to_owned(),
                };
                Err(CredentialError::UnsupportedMode {
                    profile: name.to_owned(),
                    path: self.path.to_owned(),
                    mode: other.to_owned(),
                    fix,
                })
            }
        }
    }

    /// The profile's name as the file spells it, so the borrow lives as long as the file.
    fn name_in_file(&self, name: &str) -> &'a str {
        self.profiles
            .iter()
            .filter_map(|profile| profile.get("name").and_then(Value::as_str))
            .find(|candidate| *candidate == name)
            .unwrap_or("")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::test_support::environment;

    const PATH: &str = "/home/u/.aliyun/config.json";

    const CLI_FILE: &str = r#"{
        "current": "work",
        "profiles": [
            {"name": "default", "mode": "AK", "access_key_id": "LTAIdefault",
             "access_key_secret": "default-secret", "region_id": "cn-hangzhou"},
            {"name": "work", "mode": "StsToken", "access_key_id": "STS.work",
             "access_key_secret": "work-secret", "sts_token": "work-token",
             "region_id": "cn-shanghai"},
            {"name": "role", "mode": "RamRoleArn", "access_key_id": "LTAIrole",
             "access_key_secret": "role-secret", "ram_role_arn": "acs:ram::1:role/deploy",
             "ram_session_name": "laptop", "expired_seconds": 900, "sts_region": "cn-beijing"},
            {"name": "chained", "mode": "ChainableRamRoleArn", "source_profile": "role",
             "ram_role_arn": "acs:ram::1:role/next"},
            {"name": "loop-a", "mode": "ChainableRamRoleArn", "source_profile": "loop-b",
             "ram_role_arn": "acs:ram::1:role/a"},
            {"name": "loop-b", "mode": "ChainableRamRoleArn", "source_profile": "loop-a",
             "ram_role_arn": "acs:ram::1:role/b"},
            {"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "builder"},
            {"name": "oidc", "mode": "OIDC", "ram_role_arn": "acs:ram::1:role/ci",
             "oidc_provider_arn": "acs:ram::1:oidc-provider/gh", "oidc_token_file": "/t"},
            {"name": "uri", "mode": "CredentialsURI", "credentials_uri": "http://127.0.0.1:1/"},
            {"name": "external", "mode": "External", "process_command": "print-key --json"},
            {"name": "sso", "mode": "CloudSSO"},
            {"name": "broken", "mode": "AK", "access_key_id": "LTAIbroken"}
        ],
        "meta_path": ""
    }"#;

    fn choose_profile(selected: Option<&str>) -> Result<Found, CredentialError> {
        choose(Path::new(PATH), CLI_FILE, selected, &environment(&[]))
    }

    #[test]
    fn the_current_profile_is_the_default_choice_and_keeps_its_region() {
        let found = choose_profile(None).unwrap();
        assert_eq!(
            found.supplier,
            Supplier::Fixed(
                Credentials::new("STS.work", "work-secret").with_security_token("work-token")
            )
        );
        assert_eq!(found.region_id.as_deref(), Some("cn-shanghai"));
        assert_eq!(found.source.label(), "profile work (StsToken)");
    }

    #[test]
    fn ram_role_profiles_assume_their_role_with_their_key() {
        let found = choose_profile(Some("role")).unwrap();
        let Supplier::AssumeRole { signer, role } = found.supplier else {
            panic!("not AssumeRole")
        };
        assert_eq!(
            *signer,
            Supplier::Fixed(Credentials::new("LTAIrole", "role-secret"))
        );
        assert_eq!(role.role_arn, "acs:ram::1:role/deploy");
        assert_eq!(role.session_name, "laptop");
        assert_eq!(role.duration_seconds, 900);
        assert_eq!(
            role.sts.url().as_str(),
            "https://sts.cn-beijing.aliyuncs.com/"
        );
    }

    #[test]
    fn chainable_profiles_follow_their_source_and_refuse_a_circle() {
        let found = choose_profile(Some("chained")).unwrap();
        let Supplier::AssumeRole { signer, role } = found.supplier else {
            panic!("not AssumeRole")
        };
        assert_eq!(role.role_arn, "acs:ram::1:role/next");
        assert!(matches!(*signer, Supplier::AssumeRole { .. }));
        let error = choose_profile(Some("loop-a")).unwrap_err();
        assert_eq!(
            error,
            CredentialError::SourceProfileLoop {
                chain: vec!["loop-a".into(), "loop-b".into(), "loop-a".into()],
                path: PathBuf::from(PATH),
            }
        );
    }

    #[test]
    fn every_other_mode_maps_to_its_supplier() {
        assert!(matches!(
            choose_profile(Some("ecs")).unwrap().supplier,
            Supplier::EcsRole(settings) if settings.role_name.as_deref() == Some("builder")
        ));
        assert!(matches!(
            choose_profile(Some("oidc")).unwrap().supplier,
            Supplier::Oidc { provider_arn, .. } if provider_arn == "acs:ram::1:oidc-provider/gh"
        ));
        assert_eq!(
            choose_profile(Some("uri")).unwrap().supplier,
            Supplier::Uri("http://127.0.0.1:1/".into())
        );
        assert_eq!(
            choose_profile(Some("external")).unwrap().supplier,
            Supplier::Process("print-key --json".into())
        );
    }

    #[test]
    fn sign_in_modes_and_incomplete_profiles_are_refused_by_name() {
        let error = choose_profile(Some("sso")).unwrap_err().to_string();
        assert!(
            error.starts_with("profile `sso` of `/home/u/.aliyun/config.json` uses mode `CloudSSO`, which cityform does not support"),
            "{error}"
        );
        assert_eq!(
            choose_profile(Some("broken")).unwrap_err(),
            CredentialError::IncompleteProfile {
                profile: "broken".into(),
                path: PathBuf::from(PATH),
                field: "access_key_secret",
            }
        );
    }

    #[test]
    fn a_missing_profile_lists_the_ones_that_exist() {
        let error = choose(
            Path::new(PATH),
            r#"{"profiles": [{"name": "a"}, {"name": "b"}]}"#,
            Some("prod"),
            &environment(&[]),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "profile `prod` is not in `/home/u/.aliyun/config.json`: it has profiles `a`, `b`"
        );
    }

    #[test]
    fn a_malformed_file_is_reported_without_its_contents() {
        let text = r#"{"profiles": [{"name": "default", "access_key_secret": "leaky-secret" "#;
        let error = choose(Path::new(PATH), text, None, &environment(&[])).unwrap_err();
        assert!(matches!(error, CredentialError::ConfigMalformed { .. }));
        assert!(!error.to_string().contains("leaky-secret"), "{error}");
    }
}
