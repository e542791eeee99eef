//! The shared credentials file of the official libraries (`~/.alibabacloud/credentials`,
//! INI): the section `ALIBABA_CLOUD_PROFILE` (or `--profile`) names, else `default`, in the
//! `type`s `access_key`, `sts`, `ram_role_arn`, `ecs_ram_role`, `oidc_role_arn` and
//! `credentials_uri`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ini::Ini;

use super::chain::{Found, ecs_settings, session_name};
use super::provider::{RoleRequest, Supplier};
use super::sts::StsEndpoint;
use super::{CredentialError, CredentialSource, Credentials, DEFAULT_DURATION_SECONDS};

/// The section `selected` (else `default`) of the file at `path`. `None` when no section
/// was selected and there is no `default`: the chain looks further.
pub(super) fn choose(
    path: &Path,
    text: &str,
    selected: Option<&str>,
    environment: &BTreeMap<String, String>,
) -> Result<Option<Found>, CredentialError> {
    // The parser's message may quote the line; only its position is shown.
    let document = Ini::load_from_str(text).map_err(|error| CredentialError::ConfigMalformed {
        path: path.to_owned(),
        detail: format!(
            "not an INI file (line {}, column {})",
            error.line, error.col
        ),
    })?;
    let wanted = selected.unwrap_or("default");
    let Some(section) = document.section(Some(wanted)) else {
        if selected.is_none() {
            return Ok(None);
        }
        return Err(CredentialError::ProfileNotFound {
            profile: wanted.to_owned(),
            path: path.to_owned(),
            available: document.sections().flatten().map(str::to_owned).collect(),
        });
    };
    let field = |name: &str| {
        section
            .get(name)
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
    let required = |name: &'static str| {
        field(name).ok_or_else(|| CredentialError::IncompleteProfile {
            profile: wanted.to_owned(),
            path: path.to_owned(),
            field: name,
        })
    };
    let access_key = || -> Result<Credentials, CredentialError> {
        Ok(Credentials::new(
            required("access_key_id")?,
            required("access_key_secret")?,
        ))
    };
    let role = || -> Result<RoleRequest, CredentialError> {
        Ok(RoleRequest {
            role_arn: required("role_arn")?.to_owned(),
            session_name: session_name(environment, field("role_session_name")),
            duration_seconds: field("durationSeconds")
                .or_else(|| field("duration_seconds"))
                .and_then(|text| text.parse().ok())
                .unwrap_or(DEFAULT_DURATION_SECONDS),
            policy: field("policy").map(str::to_owned),
            external_id: field("external_id").map(str::to_owned),
            sts: StsEndpoint::from_environment(environment, field("sts_region"))?,
        })
    };
    let kind = field("type").unwrap_or("access_key");
    let supplier = match kind {
        "access_key" => Supplier::Fixed(access_key()?),
        "sts" => Supplier::Fixed(access_key()?.with_security_token(required("security_token")?)),
        "ram_role_arn" => Supplier::AssumeRole {
            signer: Box::new(Supplier::Fixed(access_key()?)),
            role: role()?,
        },
        "ecs_ram_role" => Supplier::EcsRole(ecs_settings(environment, field("role_name"))),
        "oidc_role_arn" => Supplier::Oidc {
            role: role()?,
            provider_arn: required("oidc_provider_arn")?.to_owned(),
            token_file: PathBuf::from(required("oidc_token_file_path")?),
        },
        "credentials_uri" => Supplier::Uri(required("credentials_uri")?.to_owned()),
        other => {
            return Err(CredentialError::UnsupportedMode {
                profile: wanted.to_owned(),
                path: path.to_owned(),
                mode: other.to_owned(),
                fix: "use one of the types `access_key`, `sts`, `ram_role_arn`, `ecs_ram_role`, `oidc_role_arn`, `credentials_uri`".to_owned(),
            });
        }
    };
    Ok(Some(Found {
        source: CredentialSource::SharedFile {
            path: path.to_owned(),
            section: wanted.to_owned(),
            kind: kind.to_owned(),
        },
        supplier,
        region_id: field("region_id").map(str::to_owned),
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::test_support::environment;

    const FILE: &str = "\
[default]
type = access_key
access_key_id = LTAIshared
access_key_secret = shared-secret

[sts]
type = sts
access_key_id = STS.x
access_key_secret = s
security_token = t

[role]
type = ram_role_arn
access_key_id = LTAIr
access_key_secret = r
role_arn = acs:ram::1:role/deploy
role_session_name = nightly

[ecs]
type = ecs_ram_role
role_name = builder

[oidc]
type = oidc_role_arn
role_arn = acs:ram::1:role/ci
oidc_provider_arn = acs:ram::1:oidc-provider/gh
oidc_token_file_path = /var/run/token

[uri]
type = credentials_uri
credentials_uri = http://127.0.0.1:1/

[bearer]
type = bearer
";

    fn section(name: Option<&str>) -> Result<Option<Found>, CredentialError> {
        choose(Path::new("/h/credentials"), FILE, name, &environment(&[]))
    }

    #[test]
    fn each_type_maps_to_its_supplier() {
        assert_eq!(
            section(None).unwrap().unwrap().supplier,
            Supplier::Fixed(Credentials::new("LTAIshared", "shared-secret"))
        );
        assert_eq!(
            section(Some("sts")).unwrap().unwrap().supplier,
            Supplier::Fixed(Credentials::new("STS.x", "s").with_security_token("t"))
        );
        let Supplier::AssumeRole { role, .. } = section(Some("role")).unwrap().unwrap().supplier
        else {
            panic!("not AssumeRole")
        };
        assert_eq!(role.session_name, "nightly");
        assert!(matches!(
            section(Some("ecs")).unwrap().unwrap().supplier,
            Supplier::EcsRole(settings) if settings.role_name.as_deref() == Some("builder")
        ));
        assert!(matches!(
            section(Some("oidc")).unwrap().unwrap().supplier,
            Supplier::Oidc { token_file, .. } if token_file == Path::new("/var/run/token")
        ));
        assert_eq!(
            section(Some("uri")).unwrap().unwrap().source.label(),
            "credentials-file uri (credentials_uri)"
        );
    }

    #[test]
    fn unknown_types_and_sections_are_named() {
        assert!(matches!(
            section(Some("bearer")).unwrap_err(),
            CredentialError::UnsupportedMode { mode, .. } if mode == "bearer"
        ));
        assert!(matches!(
            section(Some("nope")).unwrap_err(),
            CredentialError::ProfileNotFound { .. }
        ));
        let without_default = "[other]\ntype = access_key\n";
        assert_eq!(
            choose(Path::new("/c"), without_default, None, &environment(&[])).unwrap(),
            None
        );
    }
}
